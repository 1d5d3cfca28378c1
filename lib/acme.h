/*
 * acme - the ACME server (RFC 8555) as http.h handlers: the directory,
 * nonces, JWS request checking, problem documents, accounts with
 * required external account binding, account update, deactivation and
 * key rollover; orders, authorizations, challenges, finalize and the
 * certificate (lib/acme_order.c); revokeCert (lib/acme_revoke.c);
 * renewalInfo (RFC 9773, lib/acme_ari.c); newOrder rate limits
 * (lib/acme_rate.c).
 *
 * URLs (base is struct acme.base, without a trailing slash):
 *     base/directory              GET
 *     base/acme/new-nonce         HEAD, GET
 *     base/acme/new-account       POST
 *     base/acme/acct/NAME         POST (POST-as-GET, update, deactivate)
 *     base/acme/acct/NAME/orders  POST-as-GET: the account's orders
 *     base/acme/key-change        POST
 *     base/acme/new-order         POST
 *     base/acme/order/NAME        POST-as-GET
 *     base/acme/order/NAME/finalize  POST
 *     base/acme/authz/NAME        POST (POST-as-GET, deactivate)
 *     base/acme/chall/NAME        POST (respond {}, POST-as-GET)
 *     base/acme/cert/NAME         POST-as-GET: the chain (PEM)
 *     base/acme/revoke-cert       POST (jwk of the certificate, or kid)
 *     base/acme/renewal-info/ID   GET, ID a CertID (RFC 9773 4.1)
 *
 * Every response carries a fresh Replay-Nonce. Nonces are rows of
 * acme_nonces (valid ACME_NONCE_TTL seconds), deleted when used, so a
 * nonce is good exactly once whichever process handed it out.
 *
 * Contract: acme_directory and acme_http are http_handler functions
 * (arg: struct acme) returning an HTTP status; failures become problem
 * documents and are never printed to the fds by anything else. The
 * struct acme and its db belong to the caller.
 */
#ifndef CERTPIPE_ACME_H
#define CERTPIPE_ACME_H
#include "db.h"
#include "http.h"

#define ACME_NONCE_TTL 3600		/* seconds */
#define ACME_MAX_BODY  (64 * 1024)

struct acme {
	struct db *db;
	const char *base;		/* "http://127.0.0.1:4711" */
	const char *tos;		/* meta.termsOfService, or NULL */
	const char *website;		/* meta.website, or NULL */
	const char *caa;		/* meta.caaIdentities[0], or NULL */
	const char *home;		/* the instance: spool, trigger */
	int finalize_wait_ms;		/* finalize waits this long for sign */
	/* the account key the last request was verified with, for the
	 * connection's next one: its stored JWK text and the key (owned;
	 * acme_close frees them) */
	char *key_jwk;
	struct evp_pkey_st *key;
};

#define ACME_FINALIZE_WAIT_MS 1500

int acme_directory(const struct http_req *r, struct http_resp *rs, void *arg);
int acme_http(const struct http_req *r, struct http_resp *rs, void *arg);
/* Free what a's requests kept (not its db). */
void acme_close(struct acme *a);

/* Make a fresh nonce, store it, return it in out (base64url). */
int acme_nonce_new(struct db *db, struct buf *out, struct err *e);
/* Use nonce: 0 when it was issued, unused and unexpired (and is now
 * gone), EX_NOPERM when not, another code on a database failure. */
int acme_nonce_use(struct db *db, const char *nonce, struct err *e);

/* EAB HMAC keys are ACME_EAB_KEY_BYTES random bytes; KIDs are
 * "eab-" and ACME_EAB_KID_BYTES random bytes in base64url. */
#define ACME_EAB_KEY_BYTES 32
#define ACME_EAB_KID_BYTES 12

#endif
