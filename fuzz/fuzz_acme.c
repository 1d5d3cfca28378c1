/*
 * fuzz_acme - libFuzzer target for the ACME request router (acme_http)
 * over an in-memory instance database: the input is "PATH\nBODY" (or
 * only a body to new-account), sent as a POST of application/jose+json,
 * and as a GET. An input "!PATH\nPAYLOAD" is signed here (ES256, with a
 * fresh nonce and the right url) by the key of a fixture account, so the
 * payload reaches the handlers behind the JWS checks: newOrder, orders,
 * authorizations, challenges, finalize, certificates. The fixtures (a
 * realm with a CA, template, domain example.test, an ACME policy
 * pre-approving *.pre.example.test, the account, a ready order
 * 00..0a for a.example.test, a pending order 00..0b with authz 00..0c
 * and challenges 00..0d http-01, 00..0e dns-01) are made again before
 * each signed input. Every answer must be a status in 200..599 with a
 * JSON body that jansson reads back (PEM for a certificate) and, for
 * errors, a problem document; no crash, no leak.
 * An input "revoke\nPAYLOAD" goes past the JWS layer straight to the
 * revokeCert handler as the payload of a request signed with the jwk of
 * a stored certificate's key, and again with the kid of the account
 * that ordered it (a fixture too); GETs reach renewal-info's CertID
 * parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include "acme_int.h"
#include "cert.h"
#include "jws.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static struct acme a = { NULL, "http://fuzz.test", NULL, NULL, NULL, NULL,
    0, NULL, NULL };
static EVP_PKEY *acct_key;
static char home[] = "/tmp/fuzz_acme.XXXXXX";

#define ACCT "0123456789abcdef01234567"
/* made again before each signed input (one statement each) */
static const char *const fixtures[] = {
	"DELETE FROM acme_order_authz", "DELETE FROM acme_challenges",
	"DELETE FROM acme_authz", "DELETE FROM acme_orders",
	"DELETE FROM alerts", "DELETE FROM orders",
	"INSERT INTO acme_orders (id, name, account_id, realm_id, status,"
	" identifiers, expires_at, created_at, updated_at) VALUES"
	" (1, '00000000000000000000000a', 1, 1, 'ready',"
	"  '[{\"type\":\"dns\",\"value\":\"a.example.test\"}]',"
	"  '2099-01-01T00:00:00Z', 'x', 'x'),"
	" (2, '00000000000000000000000b', 1, 1, 'pending',"
	"  '[{\"type\":\"dns\",\"value\":\"b.example.test\"}]',"
	"  '2099-01-01T00:00:00Z', 'x', 'x')",
	"INSERT INTO acme_authz (id, name, account_id, realm_id, identifier,"
	" status, expires_at, created_at, updated_at) VALUES"
	" (1, '00000000000000000000000c', 1, 1, 'b.example.test', 'pending',"
	"  '2099-01-01T00:00:00Z', 'x', 'x')",
	"INSERT INTO acme_order_authz VALUES (2, 1)",
	"INSERT INTO acme_challenges (name, authz_id, type, token, status,"
	" created_at, updated_at) VALUES"
	" ('00000000000000000000000d', 1, 'http-01', 'tok1', 'pending', 'x',"
	"  'x'),"
	" ('00000000000000000000000e', 1, 'dns-01', 'tok2', 'pending', 'x',"
	"  'x')",
	/* CERT, ordered by the account */
	"INSERT INTO acme_orders (name, account_id, realm_id, status,"
	" identifiers, expires_at, cert_id, created_at, updated_at)"
	" SELECT '00000000000000000000000f', 1, 1, 'valid', '[]',"
	"  '2099-01-01T00:00:00Z', id, 'x', 'x' FROM certificates",
	"UPDATE certificates SET status = 'active'",
};


/* A certificate "this CA issued", ordered by account 1: revokeCert and
 * renewal-info find it (CertID Xrm5FXx_2ShcyMFKab6gLN2-R2Y.
 * aA0pwj5EhtoM1LiLhgnOaeVmfFw). */
static const char CERT[] =
	    "-----BEGIN CERTIFICATE-----\n"
	    "MIIBwjCCAWigAwIBAgIUaA0pwj5EhtoM1LiLhgnOaeVmfFwwCgYIKoZIzj0EAwIw\n"
	    "HDEaMBgGA1UEAwwRZnV6ei5leGFtcGxlLnRlc3QwHhcNMjYxMjAxMjAyODAyWhcN\n"
	    "MzYxMTI4MjAyODAyWjAcMRowGAYDVQQDDBFmdXp6LmV4YW1wbGUudGVzdDBZMBMG\n"
	    "ByqGSM49AgEGCCqGSM49AwEHA0IABNcxIrO1GiPlrshL3i5niiiWMJCq6Y7W1lls\n"
	    "KkFk+TAqnrzMNaL7+RiYgIxXssMdvZjwOyav2aCrERKin3eHZH+jgYcwgYQwHQYD\n"
	    "VR0OBBYEFF65uRV8f9koXMjBSmm+oCzdvkdmMB8GA1UdIwQYMBaAFF65uRV8f9ko\n"
	    "XMjBSmm+oCzdvkdmMA8GA1UdEwEB/wQFMAMBAf8wMQYDVR0RBCowKIIRZnV6ei5l\n"
	    "eGFtcGxlLnRlc3SCEyouZnV6ei5leGFtcGxlLnRlc3QwCgYIKoZIzj0EAwIDSAAw\n"
	    "RQIgLPbmcYrJwcXSDkEkrkRWj1tEQbxiLEfRJaxh7S01mGUCIQDm+5N0PYL70Q9n\n"
	    "+AHc8Y8u/HuSEzTBtetD4NCyuR9zLA==\n"
	    "-----END CERTIFICATE-----\n";

/* The order fixtures, again. */
static void
fixtures_load(void)
{
	struct err e = {0};
	size_t i;

	for (i = 0; i < sizeof fixtures / sizeof *fixtures; i++)
		if (db_exec(a.db, &e, fixtures[i], "") != 0) {
			fprintf(stderr, "fuzz_acme: fixtures: %s\n",
			    err_str(&e));
			abort();
		}
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	remove(path);	/* what cannot go stays; the run is over */
	return 0;
}

/* The spool the challenge and finalize handlers wrote to goes at exit. */
static void
cleanup(void)
{
	nftw(home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The realm, CA, template, domain, policy and account, once. */
static void
setup(void)
{
	struct buf jwk = {0}, x = {0}, y = {0}, tp = {0};
	unsigned char bx[32], by[32];
	struct err e = {0};
	BIGNUM *bn = NULL;
	X509 *cx = NULL;
	int64_t cid;
	json_t *j;

	if (mkdtemp(home) == NULL || spool_init(home, &e) != 0)
		abort();
	atexit(cleanup);
	a.home = home;
	if ((acct_key = EVP_EC_gen("P-256")) == NULL ||
	    !EVP_PKEY_get_bn_param(acct_key, OSSL_PKEY_PARAM_EC_PUB_X, &bn) ||
	    BN_bn2binpad(bn, bx, 32) != 32)
		abort();
	BN_free(bn);
	bn = NULL;
	if (!EVP_PKEY_get_bn_param(acct_key, OSSL_PKEY_PARAM_EC_PUB_Y, &bn) ||
	    BN_bn2binpad(bn, by, 32) != 32)
		abort();
	BN_free(bn);
	b64u_encode(bx, 32, &x);
	b64u_encode(by, 32, &y);
	buf_printf(&jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\","
	    "\"y\":\"%s\"}", x.p, y.p);
	if ((j = json_loads(jwk.p, 0, NULL)) == NULL ||
	    jwk_thumbprint(j, &tp, &e) != 0)
		abort();
	json_decref(j);
	if (db_exec(a.db, &e, "INSERT OR IGNORE INTO realms VALUES (1, 'default', 'x')",
	    "") != 0 ||
	    db_exec(a.db, &e, "INSERT INTO cas (id, realm_id, name, status, "
	    "key_alg, key_ref, spki, subject, days, created_at, updated_at) "
	    "VALUES (1, 1, 'root', 'active', 'ec-p256', 'k', x'00', 'CN=r', "
	    "365, 'x', 'x')", "") != 0 ||
	    db_exec(a.db, &e, "INSERT INTO templates (id, realm_id, ca_id, "
	    "name, starter, days, max_days, digest, key_algs, key_usage, "
	    "subject_mode, aia, ocsp, cdp, policy, created_at, updated_at) "
	    "VALUES (1, 1, 1, 'web', 'web-server', 90, 397, 'sha256', "
	    "'ec-p256,rsa-2048', 'digitalSignature', 'request', 1, 1, 1, 0, "
	    "'x', 'x')", "") != 0 ||
	    db_exec(a.db, &e, "INSERT INTO domains (realm_id, name, "
	    "created_at, updated_at) VALUES (1, 'example.test', 'x', 'x')",
	    "") != 0 ||
	    db_exec(a.db, &e, "INSERT INTO acme_policies (id, realm_id, name, "
	    "template_id, created_at) VALUES (1, 1, 'p', 1, 'x')", "") != 0 ||
	    db_exec(a.db, &e, "INSERT INTO acme_policy_domains VALUES (1, "
	    "'*.pre.example.test')", "") != 0 ||
	    db_exec(a.db, &e, "INSERT INTO acme_eab (id, realm_id, policy_id, "
	    "kid, hmac_key, max_uses, expires_at, created_by, created_at) "
	    "VALUES (1, 1, 1, 'eab-x', x'00', 1, '2099-01-01T00:00:00Z', 'x', "
	    "'x')", "") != 0 ||
	    db_exec(a.db, &e, "INSERT INTO acme_accounts (id, realm_id, "
	    "policy_id, eab_id, name, thumbprint, jwk, status, created_at, "
	    "updated_at) VALUES (1, 1, 1, 1, '" ACCT "', ?, ?, 'valid', 'x', "
	    "'x')", "tt", tp.p, jwk.p) != 0) {
		fprintf(stderr, "fuzz_acme: setup: %s\n", err_str(&e));
		abort();
	}
	if (x509_cert_read(CERT, strlen(CERT), &cx, &e) != 0 ||
	    cert_store(a.db, 1, 1, 1, cx, "managed", &cid, &e) != 0) {
		fprintf(stderr, "fuzz_acme: setup: %s\n", err_str(&e));
		abort();
	}
	X509_free(cx);
	buf_free(&jwk);
	buf_free(&x);
	buf_free(&y);
	buf_free(&tp);
}

/* A flattened ES256 JWS of payload by the fixture account for url. */
static void
sign(const char *url, const uint8_t *payload, size_t len, struct buf *out)
{
	struct buf prot = {0}, hdr = {0}, pl = {0}, in = {0}, sig = {0};
	unsigned char der[80], raw[64];
	const unsigned char *p = der;
	size_t dlen = sizeof der;
	struct err e = {0};
	struct buf nonce = {0};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *es = NULL;

	if (acme_nonce_new(a.db, &nonce, &e) != 0)
		abort();
	buf_printf(&hdr, "{\"alg\":\"ES256\",\"kid\":\"%s/acme/acct/" ACCT
	    "\",\"nonce\":\"%s\",\"url\":\"%s\"}", a.base, nonce.p, url);
	b64u_encode(hdr.p, hdr.len, &prot);
	b64u_encode(payload, len, &pl);
	buf_printf(&in, "%s.%s", prot.p, buf_str(&pl));
	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
	    acct_key) != 1 || EVP_DigestSign(md, der, &dlen,
	    (const unsigned char *)in.p, in.len) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) == NULL ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32) != 32)
		abort();
	b64u_encode(raw, 64, &sig);
	buf_reset(out);
	buf_printf(out, "{\"protected\":\"%s\",\"payload\":\"%s\","
	    "\"signature\":\"%s\"}", prot.p, buf_str(&pl), sig.p);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	buf_free(&prot);
	buf_free(&hdr);
	buf_free(&pl);
	buf_free(&in);
	buf_free(&sig);
	buf_free(&nonce);
	err_free(&e);
}

static void
check(int st, struct http_resp *rs)
{
	json_t *j;

	if (st < 200 || st > 599)
		__builtin_trap();
	if (rs->body.len == 0)
		return;		/* new-nonce */
	if (st == 200 && rs->content_type && strcmp(rs->content_type,
	    "application/pem-certificate-chain") == 0)
		return;
	if ((j = json_loadb(rs->body.p, rs->body.len, 0, NULL)) == NULL)
		__builtin_trap();
	if (st >= 400 && (rs->content_type == NULL ||
	    strcmp(rs->content_type, "application/problem+json") != 0 ||
	    !json_is_string(json_object_get(j, "type"))))
		__builtin_trap();
	json_decref(j);
}

static void
one(const char *method, const char *rest, const uint8_t *body, size_t len)
{
	struct http_req r = {0};
	struct http_resp rs = {0};
	struct buf path = {0};

	buf_printf(&path, "/acme/%s", rest);
	r.method = method;
	r.target = r.path = path.p;
	r.route = "/acme/";
	r.rest = path.p + 6;
	r.content_type = "application/jose+json";
	r.peer = "-";
	r.body = body;
	r.body_len = len;
	check(acme_http(&r, &rs, &a), &rs);
	http_resp_free(&rs);
	buf_free(&path);
}

/* revokeCert's own checks on payload, signed with a jwk and a kid. */
static void
revoke_req(const uint8_t *body, size_t len)
{
	/* the key of CERT */
	static const char jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"1zEis7UaI-WuyEveLmeKKJYwkKrpjtbWWWwqQWT5MCo\","
	    "\"y\":\"nrzMNaL7-RiYgIxXssMdvZjwOyav2aCrERKin3eHZH8\"}";
	struct http_req r = { .method = "POST" };
	struct http_resp rs = {0};
	struct acme_ctx x = { .a = &a, .r = &r, .rs = &rs };
	json_t *p = json_loadb((const char *)body, len, 0, NULL);
	struct err e = {0};

	if (!json_is_object(p)) {
		json_decref(p);
		return;
	}
	x.payload = p;
	x.jws.jwk = json_loads(jwk, 0, NULL);
	check(acme_revoke_cert(&x), &rs);
	json_decref(x.jws.jwk);
	x.jws.jwk = NULL;
	http_resp_free(&rs);
	memset(&rs, 0, sizeof rs);
	fixtures_load();	/* each request from an unrevoked certificate */
	x.acct.id = 1;
	x.acct.realm_id = 1;
	x.acct.name = "fuzz";
	check(acme_revoke_cert(&x), &rs);
	http_resp_free(&rs);
	json_decref(p);
	if (db_exec(a.db, &e, "UPDATE certificates SET status = 'active'",
	    "") != 0)
		abort();
	err_free(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const uint8_t *nl = memchr(data, '\n', len);
	struct buf rest = {0};
	struct err e = {0};

	struct buf url = {0}, body = {0};

	if (a.db == NULL) {
		if (db_open(":memory:", DB_OPEN_CREATE, &a.db, &e) != 0 ||
		    db_migrate(a.db, NULL, NULL, &e) != 0)
			abort();
		setup();
		fixtures_load();
	}
	if (nl != NULL && nl - data == 6 && memcmp(data, "revoke", 6) == 0) {
		revoke_req(nl + 1, len - 7);
		fixtures_load();
	} else if (len > 0 && data[0] == '!' && nl != NULL &&
	    memchr(data, '\0', (size_t)(nl - data)) == NULL) {
		buf_add(&rest, data + 1, (size_t)(nl - data) - 1);
		buf_adds(&rest, "");
		buf_printf(&url, "%s/acme/%s", a.base, rest.p);
		fixtures_load();
		sign(url.p, nl + 1, len - (size_t)(nl - data) - 1, &body);
		one("POST", rest.p, (const uint8_t *)body.p, body.len);
	} else if (nl != NULL && memchr(data, '\0', (size_t)(nl - data)) == NULL) {
		buf_add(&rest, data, (size_t)(nl - data));
		buf_adds(&rest, "");
		one("POST", rest.p, nl + 1, len - (size_t)(nl - data) - 1);
		one("GET", rest.p, NULL, 0);
	} else
		one("POST", "new-account", data, len);
	buf_free(&rest);
	buf_free(&url);
	buf_free(&body);
	err_free(&e);
	ERR_clear_error();
	return 0;
}
