/*
 * fuzz_acme - libFuzzer target for the ACME request router (acme_http)
 * over an in-memory instance database: the input is "PATH\nBODY" (or
 * only a body to new-account), sent as a POST of application/jose+json,
 * and as a GET (so renewal-info/<CertID> reaches the CertID parser).
 * An input "revoke\nPAYLOAD" goes past the JWS layer, which a fuzzer
 * cannot sign its way through, straight to the revokeCert handler as
 * the payload of a request signed with a jwk, and again with the kid of
 * an account. Every answer must be a status in 200..599 with a JSON
 * body that jansson reads back and, for errors, a problem document; no
 * crash, no leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/err.h>
#include "acme_int.h"
#include "cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static struct acme a = { NULL, "http://fuzz.test", NULL, NULL, NULL, NULL };

static void
check(int st, struct http_resp *rs)
{
	json_t *j;

	if (st < 200 || st > 599)
		__builtin_trap();
	if (rs->body.len == 0)
		return;		/* new-nonce */
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

static void
setup(void)
{
	struct err e = {0};
	X509 *x = NULL;
	int64_t id;

	if (db_open(":memory:", DB_OPEN_CREATE, &a.db, &e) != 0 ||
	    db_migrate(a.db, NULL, NULL, &e) != 0 ||
	    db_exec(a.db, &e, "PRAGMA foreign_keys = OFF", "") != 0 ||
	    x509_cert_read(CERT, strlen(CERT), &x, &e) != 0 ||
	    cert_store(a.db, 1, 1, 0, x, "managed", &id, &e) != 0 ||
	    db_exec(a.db, &e, "INSERT INTO acme_orders (name, account_id, "
	    "realm_id, status, identifiers, expires_at, cert_id, created_at, "
	    "updated_at) VALUES ('o', 1, 1, 'valid', '[]', 'x', ?, 'x', 'x')",
	    "i", id) != 0)
		abort();
	X509_free(x);
	err_free(&e);
}

/* revokeCert's own checks on payload, signed with a jwk and a kid. */
static void
revoke(const uint8_t *body, size_t len)
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
	/* each request starts from an unrevoked certificate */
	if (db_exec(a.db, &e, "UPDATE certificates SET status = 'active'",
	    "") != 0)
		abort();
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

	if (a.db == NULL)
		setup();
	if (nl != NULL && nl - data == 6 && memcmp(data, "revoke", 6) == 0)
		revoke(nl + 1, len - 7);
	else if (nl != NULL && memchr(data, '\0', (size_t)(nl - data)) == NULL) {
		buf_add(&rest, data, (size_t)(nl - data));
		buf_adds(&rest, "");
		one("POST", rest.p, nl + 1, len - (size_t)(nl - data) - 1);
		one("GET", rest.p, NULL, 0);
	} else
		one("POST", "new-account", data, len);
	buf_free(&rest);
	err_free(&e);
	ERR_clear_error();
	return 0;
}
