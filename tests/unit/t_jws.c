/*
 * t_jws - base64url, JWK keys and thumbprints (RFC 7638's own example),
 * flattened JWS parsing, signatures made here with OpenSSL directly
 * (ES256, EdDSA), and the EAB MAC against a published HMAC vector.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include "jws.h"
#include "keys.h"
#include "tap.h"

static void
test_b64u(void)
{
	static const struct {
		const char *raw, *enc;
	} t[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "\xfb\xff", "-_8" },
	};
	static const char *const bad[] = { "Zm9v=", "Zm9v+", "Z", "Zh",
	    "Zm 9v", "Zm9v\n" };
	struct buf b = {0};
	struct err e = {0};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		buf_reset(&b);
		b64u_encode(t[i].raw, strlen(t[i].raw), &b);
		is_str(buf_str(&b), t[i].enc, "b64u encode '%s'", t[i].enc);
		is_int(b64u_decode(t[i].enc, strlen(t[i].enc), &b, &e), 0,
		    "b64u decode '%s'", t[i].enc);
		ok(b.len == strlen(t[i].raw) && memcmp(b.p, t[i].raw,
		    b.len) == 0, "b64u round trip '%s'", t[i].enc);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(b64u_decode(bad[i], strlen(bad[i]), &b, &e), EX_DATAERR,
		    "b64u refuses bad[%zu]", i);
	buf_free(&b);
	err_free(&e);
}

/* RFC 7638 3.1: the example key and its thumbprint. */
static void
test_thumbprint(void)
{
	static const char key[] = "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"alg\":"
	    "\"RS256\",\"kid\":\"2011-04-29\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9"
	    "nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJE"
	    "CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6"
	    "Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu"
	    "6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2Nc"
	    "Rwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\"}";
	json_t *j = json_loads(key, 0, NULL);
	struct buf tp = {0};
	struct err e = {0};
	EVP_PKEY *k = NULL;

	is_int(jwk_thumbprint(j, &tp, &e), 0, "thumbprint of RFC 7638's key");
	is_str(tp.p, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
	    "RFC 7638 thumbprint");
	is_int(jwk_key(j, &k, &e), 0, "RFC 7638's key is an RSA-2048 key");
	ok(k != NULL && EVP_PKEY_get_bits(k) == 2048, "2048 bits");
	EVP_PKEY_free(k);
	json_decref(j);
	buf_free(&tp);
	err_free(&e);
}

static void
test_bad_jwk(void)
{
	static const char *const bad[] = {
		"{\"kty\":\"oct\",\"k\":\"AAAA\"}",
		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",
		"{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AA\",\"y\":\"AA\"}",
		"{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AAAA\"}",
		"{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}",
		"{\"kty\":\"RSA\",\"e\":\"AQAB\"}",
		"{\"n\":\"AQAB\",\"e\":\"AQAB\"}",
		"[]",
	};
	struct err e = {0};
	EVP_PKEY *k;
	json_t *j;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		j = json_loads(bad[i], 0, NULL);
		k = NULL;
		is_int(jwk_key(j, &k, &e), EX_DATAERR, "jwk refused: %s",
		    bad[i]);
		ok(k == NULL, "no key returned for %s", bad[i]);
		json_decref(j);
	}
	err_free(&e);
}

static void
test_parse(void)
{
	/* {"alg":"ES256"} and {"alg":"ES256","crit":["b64"]}, {"a":1,"a":2} */
	static const struct {
		const char *in;
		int rc;
	} t[] = {
		{ "{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":\"\","
		  "\"signature\":\"AAAA\"}", 0 },
		{ "not json", EX_DATAERR },
		{ "[1]", EX_DATAERR },
		{ "{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":\"\"}",
		  EX_DATAERR },
		{ "{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":\"\","
		  "\"signature\":\"AAAA\",\"header\":{}}", EX_DATAERR },
		{ "{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":\"\","
		  "\"signature\":\"AAAA\",\"signature\":\"AAAA\"}", EX_DATAERR },
		{ "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\"}",
		  EX_DATAERR },
		{ "{\"protected\":\"!!\",\"payload\":\"\",\"signature\":\"\"}",
		  EX_DATAERR },
		{ "{\"protected\":\"eyJhbGciOiJFUzI1NiIsImNyaXQiOlsiYjY0Il19\","
		  "\"payload\":\"\",\"signature\":\"\"}", EX_DATAERR },
		{ "{\"protected\":\"eyJhIjoxLCJhIjoyfQ\",\"payload\":\"\","
		  "\"signature\":\"\"}", EX_DATAERR },
		{ "{\"protected\":1,\"payload\":\"\",\"signature\":\"\"}",
		  EX_DATAERR },
	};
	struct jws j;
	struct err e = {0};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		is_int(jws_parse(t[i].in, strlen(t[i].in), &j, &e), t[i].rc,
		    "parse %s", t[i].in);
		jws_free(&j);
	}
	err_free(&e);
}

/* b64u of an EVP_PKEY's parameter. */
static void
param_b64u(EVP_PKEY *k, const char *name, size_t len, struct buf *out)
{
	BIGNUM *bn = NULL;
	unsigned char b[66];

	if (!EVP_PKEY_get_bn_param(k, name, &bn) ||
	    BN_bn2binpad(bn, b, (int)len) < 0)
		abort();
	b64u_encode(b, len, out);
	BN_free(bn);
}

/* A flattened JWS over payload, signed with k by OpenSSL. */
static void
make_jws(EVP_PKEY *k, const char *alg, const char *hdr_alg,
    const char *payload, struct buf *out)
{
	struct buf jwk = {0}, x = {0}, y = {0}, hdr = {0}, input = {0};
	struct buf sig = {0};
	unsigned char s[256], pub[32], *p;
	size_t slen = sizeof s, plen = sizeof pub;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ECDSA_SIG *es;
	const unsigned char *q = s;
	int ec = strcmp(alg, "ES256") == 0;

	if (ec) {
		param_b64u(k, OSSL_PKEY_PARAM_EC_PUB_X, 32, &x);
		param_b64u(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32, &y);
		buf_printf(&jwk, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
		    "\"%s\",\"y\":\"%s\"}", x.p, y.p);
	} else {
		if (!EVP_PKEY_get_raw_public_key(k, pub, &plen))
			abort();
		b64u_encode(pub, plen, &x);
		buf_printf(&jwk, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		    "\"x\":\"%s\"}", x.p);
	}
	buf_printf(&hdr, "{\"alg\":\"%s\",\"jwk\":%s,\"nonce\":\"n\","
	    "\"url\":\"u\"}", hdr_alg, jwk.p);
	b64u_encode(hdr.p, hdr.len, &input);
	buf_addc(&input, '.');
	b64u_encode(payload, strlen(payload), &input);
	if (EVP_DigestSignInit_ex(ctx, NULL, ec ? "SHA256" : NULL, NULL, NULL,
	    k, NULL) <= 0 || EVP_DigestSign(ctx, s, &slen,
	    (unsigned char *)input.p, input.len) <= 0)
		abort();
	if (ec) {		/* DER to raw r||s */
		es = d2i_ECDSA_SIG(NULL, &q, (long)slen);
		p = xcalloc(1, 64);
		BN_bn2binpad(ECDSA_SIG_get0_r(es), p, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), p + 32, 32);
		b64u_encode(p, 64, &sig);
		free(p);
		ECDSA_SIG_free(es);
	} else
		b64u_encode(s, slen, &sig);
	buf_reset(out);
	buf_printf(out, "{\"protected\":\"%.*s\",\"payload\":\"%s\","
	    "\"signature\":\"%s\"}", (int)(strchr(input.p, '.') - input.p),
	    input.p, strchr(input.p, '.') + 1, sig.p);
	EVP_MD_CTX_free(ctx);
	buf_free(&jwk);
	buf_free(&x);
	buf_free(&y);
	buf_free(&hdr);
	buf_free(&input);
	buf_free(&sig);
}

static void
verify_one(const char *keyname, const char *alg)
{
	struct buf s = {0};
	struct jws j;
	struct err e = {0};
	EVP_PKEY *k = NULL, *pk = NULL;

	if (keys_generate(keys_alg(keyname), &k, &e) != 0)
		abort();
	make_jws(k, alg, alg, "{\"x\":1}", &s);
	is_int(jws_parse(s.p, s.len, &j, &e), 0, "%s: parse", alg);
	is_str(j.nonce, "n", "%s: nonce", alg);
	is_str(j.url, "u", "%s: url", alg);
	is_int(jwk_key(j.jwk, &pk, &e), 0, "%s: jwk to key", alg);
	ok(pk != NULL && EVP_PKEY_eq(pk, k) == 1, "%s: the same key", alg);
	is_int(jws_verify(&j, pk, &e), 0, "%s: verifies", alg);
	is_int(j.payload.len, 7, "%s: payload decoded", alg);
	j.input.p[j.input.len - 1] ^= 1;	/* tamper with the payload */
	is_int(jws_verify(&j, pk, &e), EX_NOPERM, "%s: tampered", alg);
	jws_free(&j);
	/* the same key claiming another alg */
	make_jws(k, alg, strcmp(alg, "EdDSA") ? "EdDSA" : "ES256", "{}", &s);
	is_int(jws_parse(s.p, s.len, &j, &e), 0, "%s: parse wrong alg", alg);
	is_int(jws_verify(&j, pk, &e), EX_DATAERR, "%s: alg not the key's",
	    alg);
	ok(j.bad_alg, "%s: bad_alg set", alg);
	jws_free(&j);
	make_jws(k, alg, "none", "{}", &s);
	jws_parse(s.p, s.len, &j, &e);
	is_int(jws_verify(&j, pk, &e), EX_DATAERR, "%s: alg none", alg);
	ok(j.bad_alg, "%s: none is a bad alg", alg);
	jws_free(&j);
	if (strcmp(alg, "ES256") == 0) {
		make_jws(k, alg, alg, "{}", &s);
		/* drop 4 characters: 3 bytes short of raw r||s */
		memmove(s.p + s.len - 6, s.p + s.len - 2, 3);
		jws_parse(s.p, strlen(s.p), &j, &e);
		is_int(jws_verify(&j, pk, &e), EX_NOPERM,
		    "ES256: short raw signature");
		jws_free(&j);
	}
	EVP_PKEY_free(k);
	EVP_PKEY_free(pk);
	buf_free(&s);
	err_free(&e);
}

/* RFC 4231-style well-known vector: HMAC-SHA256("key", "The quick...") */
static void
test_hmac(void)
{
	static const unsigned char mac[32] = {
		0xf7, 0xbc, 0x83, 0xf4, 0x30, 0x53, 0x84, 0x24, 0xb1, 0x32,
		0x98, 0xe6, 0xaa, 0x6f, 0xb1, 0x43, 0xef, 0x4d, 0x59, 0xa1,
		0x49, 0x46, 0x17, 0x59, 0x97, 0x47, 0x9d, 0xbc, 0x2d, 0x1a,
		0x3c, 0xd8 };
	struct jws j = {0};
	struct err e = {0};

	j.alg = "HS256";
	buf_adds(&j.input, "The quick brown fox jumps over the lazy dog");
	buf_add(&j.sig, mac, sizeof mac);
	is_int(jws_hmac_verify(&j, (const unsigned char *)"key", 3, &e), 0,
	    "HS256 known vector");
	is_int(jws_hmac_verify(&j, (const unsigned char *)"kez", 3, &e),
	    EX_NOPERM, "HS256 wrong key");
	j.sig.len = 31;
	is_int(jws_hmac_verify(&j, (const unsigned char *)"key", 3, &e),
	    EX_NOPERM, "HS256 truncated MAC");
	j.alg = "HS1";
	is_int(jws_hmac_verify(&j, (const unsigned char *)"key", 3, &e),
	    EX_DATAERR, "HS1 refused");
	ok(j.bad_alg, "HS1 is a bad alg");
	buf_free(&j.input);
	buf_free(&j.sig);
	err_free(&e);
}

int
main(void)
{
	test_b64u();
	test_thumbprint();
	test_bad_jwk();
	test_parse();
	verify_one("ec-256", "ES256");
	verify_one("ed25519", "EdDSA");
	test_hmac();
	return tap_done();
}
