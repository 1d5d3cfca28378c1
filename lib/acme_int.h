/*
 * acme_int - what acme.c (router, nonces, JWS checks, problems) and
 * acme_acct.c (accounts, EAB, key rollover) share; not for other files.
 *
 * Handlers return the HTTP status; acme_problem fills a problem document
 * and returns its status. Strings in struct acme_acct are malloc'd and
 * released by acme_acct_free.
 */
#ifndef CERTPIPE_ACME_INT_H
#define CERTPIPE_ACME_INT_H
#include <stdint.h>
#include <jansson.h>
#include "acme.h"
#include "jws.h"

#define ACME_ERR "urn:ietf:params:acme:error:"

struct acme_acct {
	int64_t id, realm_id, policy_id;
	char *name, *status, *jwk, *thumb, *contact, *realm;
	int tos;
};

struct acme_ctx {
	struct acme *a;
	const struct http_req *r;
	struct http_resp *rs;
	struct buf url;			/* this request's URL */
	struct jws jws;
	json_t *payload;		/* NULL: POST-as-GET */
	struct acme_acct acct;		/* the kid's account */
};

int acme_problem(struct acme_ctx *x, int status, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A problem for a failed library call: serverInternal (or 503 when the
 * database was busy). */
int acme_internal(struct acme_ctx *x, const struct err *e);
/* Answer with o as JSON (o is consumed). */
int acme_json(struct acme_ctx *x, int status, json_t *o);
/* "base/acme/<rest>" into out. */
void acme_url(const struct acme *a, const char *rest, struct buf *out);
/* "base/acme/acct/<name>" into out. */
void acme_acct_url(const struct acme *a, const char *name, struct buf *out);

int acme_acct_load(struct db *db, const char *col, const char *val,
    struct acme_acct *ac, struct err *e);
void acme_acct_free(struct acme_acct *ac);
/* The public key of a stored JWK (JSON text); *out is the caller's. */
int acme_key_of(const char *jwk_text, EVP_PKEY **out, struct err *e);

int acme_new_account(struct acme_ctx *x);
int acme_account(struct acme_ctx *x, const char *name);
int acme_account_orders(struct acme_ctx *x, const char *name);
int acme_key_change(struct acme_ctx *x);

/* acme_order.c: is rest (after "base/acme/") one of its resources
 * (new-order, order/, authz/, chall/, cert/)? 1/0. Its router, for a
 * request whose JWS (with a kid) has passed check_jws. */
int acme_order_resource(const char *rest);
int acme_order_route(struct acme_ctx *x, const char *rest);
/* The kid's account's orders list (7.1.2.1). */
int acme_orders_list(struct acme_ctx *x);

#endif
