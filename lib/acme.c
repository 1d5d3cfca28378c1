/*
 * acme - directory, nonces, the request router and the JWS checks every
 * POST passes before a handler sees it (see acme.h).
 *
 * Trust: every byte of a request is hostile. The order of checks is
 * RFC 8555 6.2-6.5: a flattened JWS with an allowed alg, exactly one of
 * jwk/kid (the one the resource wants), url equal to the request URL,
 * a signature that verifies with the key (or the kid's account key, of
 * a valid account), and only then the nonce is used up: a request
 * nobody signed cannot burn nonces.
 */
#include <stdarg.h>
#include <string.h>
#include <openssl/rand.h>
#include "acme_int.h"
#include "clock.h"

void
acme_url(const struct acme *a, const char *rest, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s/acme/%s", a->base, rest);
}

void
acme_acct_url(const struct acme *a, const char *name, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s/acme/acct/%s", a->base, name);
}

int
acme_json(struct acme_ctx *x, int status, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	buf_reset(&x->rs->body);
	if (s == NULL) {
		buf_adds(&x->rs->body, "{}");
		x->rs->content_type = "application/json";
		return 500;
	}
	buf_adds(&x->rs->body, s);
	free(s);
	x->rs->content_type = "application/json";
	return status;
}

int
acme_problem(struct acme_ctx *x, int status, const char *type,
    const char *fmt, ...)
{
	struct buf d = {0};
	va_list ap;
	json_t *o;
	int st;

	va_start(ap, fmt);
	buf_vprintf(&d, fmt, ap);
	va_end(ap);
	o = json_pack("{s:s,s:s,s:i}", "type", type, "detail", buf_str(&d),
	    "status", status);
	if (o != NULL && strcmp(type, ACME_ERR "badSignatureAlgorithm") == 0)
		json_object_set_new(o, "algorithms", json_pack("[s,s,s,s,s]",
		    "RS256", "ES256", "ES384", "ES512", "EdDSA"));
	st = acme_json(x, status, o);
	x->rs->content_type = "application/problem+json";
	buf_free(&d);
	return st;
}

int
acme_internal(struct acme_ctx *x, const struct err *e)
{
	if (e->code == EX_TEMPFAIL) {
		http_resp_header(x->rs, "Retry-After", "1");
		return acme_problem(x, 503, ACME_ERR "serverInternal",
		    "the database is busy, try again");
	}
	return acme_problem(x, 500, ACME_ERR "serverInternal", "%s",
	    err_str(e));
}

/*
 * A nonce's commit is not synced by itself (synchronous=NORMAL around
 * it, FULL again after): the WAL is one file written in order, so the
 * next commit that changes anything, synced as every other is, makes the
 * nonce's durable with it. A power failure can at worst lose a fresh
 * nonce (the client gets badNonce and retries) or bring back a used one
 * whose request changed nothing (a replay of a read).
 */
static int
nonce_sync(struct db *db, int full, struct err *e)
{
	return db_exec(db, e, full ? "PRAGMA synchronous=FULL" :
	    "PRAGMA synchronous=NORMAL", "");
}

int
acme_nonce_new(struct db *db, struct buf *out, struct err *e)
{
	unsigned char r[16];
	struct buf exp = {0}, now = {0};
	time_t t = clock_now();
	int rc;

	if (RAND_bytes(r, sizeof r) != 1)
		return err_ssl(e, EX_SOFTWARE, "nonce");
	buf_reset(out);
	b64u_encode(r, sizeof r, out);
	clock_fmt(&exp, t + ACME_NONCE_TTL);
	clock_fmt(&now, t);
	/* expired nonces go with the insert: no cron job needed */
	if ((rc = nonce_sync(db, 0, e)) == 0 &&
	    (rc = db_exec(db, e, "DELETE FROM acme_nonces WHERE expires_at "
	    "< ?", "t", now.p)) == 0)
		rc = db_exec(db, e, "INSERT INTO acme_nonces (nonce, "
		    "expires_at) VALUES (?, ?)", "tt", out->p, exp.p);
	if (nonce_sync(db, 1, e) != 0 && rc == 0)
		rc = e->code;
	buf_free(&exp);
	buf_free(&now);
	return rc;
}

int
acme_nonce_use(struct db *db, const char *nonce, struct err *e)
{
	struct buf now = {0};
	int rc;

	clock_fmt(&now, clock_now());
	if ((rc = nonce_sync(db, 0, e)) == 0 &&
	    (rc = db_exec(db, e, "DELETE FROM acme_nonces WHERE nonce = ? "
	    "AND expires_at >= ?", "tt", nonce, now.p)) == 0 &&
	    db_changes(db) != 1)
		rc = err_set(e, EX_NOPERM, "nonce unknown, used or expired");
	if (nonce_sync(db, 1, e) != 0 && rc == 0)
		rc = e->code;
	buf_free(&now);
	return rc;
}

/* The headers every answer carries: a fresh nonce, the directory link. */
static void
common_headers(struct acme *a, struct http_resp *rs)
{
	struct buf n = {0};
	struct err e = {0};

	if (acme_nonce_new(a->db, &n, &e) == 0)
		http_resp_header(rs, "Replay-Nonce", "%s", n.p);
	http_resp_header(rs, "Link", "<%s/directory>;rel=\"index\"", a->base);
	buf_free(&n);
	err_free(&e);
}

int
acme_directory(const struct http_req *r, struct http_resp *rs, void *arg)
{
	struct acme *a = arg;
	struct acme_ctx x = { .a = a, .r = r, .rs = rs };
	struct buf u = {0};
	json_t *o, *meta;

	common_headers(a, rs);
	if (strcmp(r->rest, "") != 0)
		return acme_problem(&x, 404, ACME_ERR "malformed",
		    "no such resource");
	o = json_object();
	acme_url(a, "new-nonce", &u);
	json_object_set_new(o, "newNonce", json_string(u.p));
	acme_url(a, "new-account", &u);
	json_object_set_new(o, "newAccount", json_string(u.p));
	acme_url(a, "new-order", &u);
	json_object_set_new(o, "newOrder", json_string(u.p));
	acme_url(a, "key-change", &u);
	json_object_set_new(o, "keyChange", json_string(u.p));
	acme_url(a, "revoke-cert", &u);
	json_object_set_new(o, "revokeCert", json_string(u.p));
	acme_url(a, "renewal-info", &u);
	json_object_set_new(o, "renewalInfo", json_string(u.p));
	meta = json_pack("{s:b}", "externalAccountRequired", 1);
	if (a->tos != NULL)
		json_object_set_new(meta, "termsOfService",
		    json_string(a->tos));
	if (a->website != NULL)
		json_object_set_new(meta, "website", json_string(a->website));
	if (a->caa != NULL)
		json_object_set_new(meta, "caaIdentities",
		    json_pack("[s]", a->caa));
	json_object_set_new(o, "meta", meta);
	buf_free(&u);
	return acme_json(&x, 200, o);
}

void
acme_close(struct acme *a)
{
	EVP_PKEY_free(a->key);
	free(a->key_jwk);
	a->key = NULL;
	a->key_jwk = NULL;
}

int
acme_key_of(const char *text, EVP_PKEY **out, struct err *e)
{
	json_t *j = json_loads(text, 0, NULL);
	int rc;

	if (j == NULL)
		return err_set(e, EX_SOFTWARE, "stored account key unreadable");
	rc = jwk_key(j, out, e);
	json_decref(j);
	return rc;
}

/* The key a request is signed with: its jwk, or the account of its kid
 * (x->acct filled). want_jwk: 1 a jwk, 0 a kid, -1 either (revokeCert).
 * Answers the problem itself; 0 when the key is there. */
static int
request_key(struct acme_ctx *x, int want_jwk, EVP_PKEY **k)
{
	struct jws *j = &x->jws;
	struct buf prefix = {0};
	struct err e = {0};
	int st = 0, rc;

	if ((j->jwk == NULL) == (j->kid == NULL))
		st = acme_problem(x, 400, ACME_ERR "malformed", "the protected "
		    "header must have exactly one of jwk and kid");
	else if (want_jwk == 1 && j->jwk == NULL)
		st = acme_problem(x, 400, ACME_ERR "malformed", "this resource "
		    "wants a jwk, not a kid");
	else if (want_jwk == 0 && j->kid == NULL)
		st = acme_problem(x, 400, ACME_ERR "malformed", "this resource "
		    "wants the kid of an account, not a jwk");
	else if (j->jwk != NULL) {
		if (jwk_key(j->jwk, k, &e) != 0)
			st = acme_problem(x, 400, ACME_ERR "badPublicKey",
			    "%s", err_str(&e));
		goto out;
	}
	if (st != 0)
		goto out;
	acme_url(x->a, "acct/", &prefix);
	if (strncmp(j->kid, prefix.p, prefix.len) != 0 ||
	    (rc = acme_acct_load(x->a->db, "name", j->kid + prefix.len,
	    &x->acct, &e)) == EX_NOINPUT)
		st = acme_problem(x, 400, ACME_ERR "accountDoesNotExist",
		    "no account has this kid");
	else if (rc != 0)
		st = acme_internal(x, &e);
	else if (strcmp(x->acct.status, "valid") != 0)
		st = acme_problem(x, 403, ACME_ERR "unauthorized",
		    "the account is %s", x->acct.status);
	else if (x->a->key && strcmp(x->a->key_jwk, x->acct.jwk) == 0 &&
	    EVP_PKEY_up_ref(x->a->key) == 1)
		*k = x->a->key;	/* the same account again: no key rebuilt */
	else if (acme_key_of(x->acct.jwk, k, &e) != 0)
		st = acme_internal(x, &e);
	else if (EVP_PKEY_up_ref(*k) == 1) {
		acme_close(x->a);
		x->a->key_jwk = xstrdup(x->acct.jwk);
		x->a->key = *k;
	}
out:
	buf_free(&prefix);
	err_free(&e);
	return st;
}

/* Every check of a signed request but the resource's own. */
static int
check_jws(struct acme_ctx *x, int want_jwk)
{
	struct jws *j = &x->jws;
	struct err e = {0};
	EVP_PKEY *k = NULL;
	int st = 0, rc;

	if (jws_parse(x->r->body, x->r->body_len, j, &e) != 0) {
		st = acme_problem(x, 400, ACME_ERR "malformed", "%s",
		    err_str(&e));
		goto out;
	}
	if (strcmp(j->alg, "RS256") != 0 && strcmp(j->alg, "ES256") != 0 &&
	    strcmp(j->alg, "ES384") != 0 && strcmp(j->alg, "ES512") != 0 &&
	    strcmp(j->alg, "EdDSA") != 0) {
		st = acme_problem(x, 400, ACME_ERR "badSignatureAlgorithm",
		    "alg %.32s is not supported", j->alg);
		goto out;
	}
	if ((st = request_key(x, want_jwk, &k)) != 0)
		goto out;
	if (j->url == NULL || strcmp(j->url, x->url.p) != 0) {
		st = acme_problem(x, 403, ACME_ERR "unauthorized", "the url "
		    "header is not this request's URL %s", x->url.p);
		goto out;
	}
	if (jws_verify(j, k, &e) != 0) {
		st = j->bad_alg ? acme_problem(x, 400, ACME_ERR
		    "badSignatureAlgorithm", "%s", err_str(&e)) :
		    acme_problem(x, 403, ACME_ERR "unauthorized", "%s",
		    err_str(&e));
		goto out;
	}
	if (j->nonce == NULL || (rc = acme_nonce_use(x->a->db, j->nonce,
	    &e)) == EX_NOPERM) {
		st = acme_problem(x, 400, ACME_ERR "badNonce", "%s",
		    j->nonce ? err_str(&e) : "no nonce");
		goto out;
	}
	if (rc != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	/* json_is_object evaluates its argument twice: load first */
	if (j->payload.len > 0)
		x->payload = json_loadb(j->payload.p, j->payload.len,
		    JSON_REJECT_DUPLICATES, NULL);
	if (j->payload.len > 0 && !json_is_object(x->payload))
		st = acme_problem(x, 400, ACME_ERR "malformed", "the payload "
		    "is not a JSON object");
out:
	EVP_PKEY_free(k);
	err_free(&e);
	return st;
}

/* Resources after "acct/": "NAME" or "NAME/orders". */
static int
acct_route(struct acme_ctx *x, const char *rest)
{
	const char *slash = strchr(rest, '/');
	struct buf name = {0};
	int st;

	if (slash != NULL && strcmp(slash, "/orders") != 0)
		return acme_problem(x, 404, ACME_ERR "malformed",
		    "no such resource");
	buf_add(&name, rest, slash ? (size_t)(slash - rest) : strlen(rest));
	if ((st = check_jws(x, 0)) == 0)
		st = slash ? acme_account_orders(x, name.p) :
		    acme_account(x, name.p);
	buf_free(&name);
	return st;
}

static int
route(struct acme_ctx *x, const char *rest)
{
	int post = strcmp(x->r->method, "POST") == 0, st;

	if (strcmp(rest, "new-nonce") == 0) {
		http_resp_header(x->rs, "Cache-Control", "no-store");
		if (post)
			return acme_problem(x, 405, ACME_ERR "malformed",
			    "newNonce takes HEAD or GET");
		return x->r->head ? 200 : 204;	/* RFC 8555 7.2 */
	}
	if (strncmp(rest, "renewal-info", 12) == 0)
		return acme_renewal_info(x, rest + 12);
	if (!post) {
		http_resp_header(x->rs, "Allow", "POST");
		return acme_problem(x, 405, ACME_ERR "malformed", "ACME "
		    "resources take POST (POST-as-GET to read)");
	}
	if (x->r->content_type == NULL ||
	    strcmp(x->r->content_type, "application/jose+json") != 0)
		return acme_problem(x, 415, ACME_ERR "malformed",
		    "Content-Type must be application/jose+json");
	if (strcmp(rest, "new-account") == 0)
		return (st = check_jws(x, 1)) ? st : acme_new_account(x);
	if (strcmp(rest, "key-change") == 0)
		return (st = check_jws(x, 0)) ? st : acme_key_change(x);
	if (strcmp(rest, "revoke-cert") == 0)
		return (st = check_jws(x, -1)) ? st : acme_revoke_cert(x);
	if (strncmp(rest, "acct/", 5) == 0)
		return acct_route(x, rest + 5);
	/* orders, authorizations, challenges, certificates: acme_order.c */
	if (acme_order_resource(rest))
		return (st = check_jws(x, 0)) ? st : acme_order_route(x, rest);
	return acme_problem(x, 404, ACME_ERR "malformed", "no such resource");
}

int
acme_http(const struct http_req *r, struct http_resp *rs, void *arg)
{
	struct acme_ctx x = { .a = arg, .r = r, .rs = rs };
	const char *rest = r->rest;
	int st;

	if (*rest == '/')
		rest++;
	buf_printf(&x.url, "%s%s", x.a->base, r->path);
	st = route(&x, rest);
	/* after the handler: a nonce used by this request is gone, the
	 * one handed back is new */
	common_headers(x.a, rs);
	json_decref(x.payload);
	jws_free(&x.jws);
	acme_acct_free(&x.acct);
	buf_free(&x.url);
	return st;
}
