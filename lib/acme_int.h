/*
 * acme_int - what acme.c (router, nonces, JWS checks, problems),
 * acme_acct.c (accounts, EAB, key rollover), acme_revoke.c (revokeCert),
 * acme_ari.c (renewalInfo, RFC 9773) and acme_rate.c (rate limits)
 * share; not for other files.
 *
 * Handlers return the HTTP status; acme_problem fills a problem document
 * and returns its status. Strings in struct acme_acct are malloc'd and
 * released by acme_acct_free.
 */
#ifndef CERTPIPE_ACME_INT_H
#define CERTPIPE_ACME_INT_H
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include "acme.h"
#include "jws.h"
#include "x509.h"

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

/* revokeCert (RFC 8555 7.6); signed with a jwk or a kid. */
int acme_revoke_cert(struct acme_ctx *x);

/* renewalInfo: rest is what follows "renewal-info" in the URL. */
int acme_renewal_info(struct acme_ctx *x, const char *rest);
/* Parse a CertID (RFC 9773 4.1): aki gets the keyIdentifier octets,
 * serial the serial in lower-case hex as certificates.serial has it.
 * 0 or EX_DATAERR (e says what is wrong). */
int acme_ari_certid(const char *certid, struct buf *aki, struct buf *serial,
    struct err *e);
/* The CertID of x (which must have an AKI keyIdentifier) into out. */
int acme_ari_certid_of(X509 *x, struct buf *out, struct err *e);
/* The suggested renewal window of a certificate valid nb..na under the
 * template renewal rule (tmpl_renew_before), with the jitter of serial
 * (hex): inside [na - B, na - B/2], B/4 long. 0 or EX_DATAERR. */
int acme_ari_window(const char *rule, time_t nb, time_t na,
    const char *serial, time_t *start, time_t *end, struct err *e);
/* newOrder's "replaces" (RFC 9773 5): certid must name a certificate
 * ordered by account_id that shares an identifier with identifiers and
 * that no processing or valid order already replaces. 0 with *cert_id
 * set, or the status of the problem answered (malformed, unauthorized,
 * alreadyReplaced 409). */
int acme_ari_replaces(struct acme_ctx *x, const char *certid,
    int64_t account_id, json_t *identifiers, int64_t *cert_id);

/* Rate limits of newOrder for x->acct ordering identifiers (the
 * request's array of {type, value}): 0 when within the account's
 * policy's limits, else the status of the problem answered (429
 * rateLimited with Retry-After, or a database failure). */
int acme_rate_order(struct acme_ctx *x, json_t *identifiers);

#endif
