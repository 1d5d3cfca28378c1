/* t_spki - a request's key read without OpenSSL's decoders equals the
 * key OpenSSL's own parser finds, byte for byte. */
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>
#include "keys.h"
#include "spki.h"
#include "tap.h"
#include "x509.h"

static void
one(const char *alg)
{
	struct x509_subject s = { "t.example.com", NULL, NULL, NULL, NULL,
	    NULL };
	const struct key_alg *a = keys_alg(alg);
	struct err e = {0};
	EVP_PKEY *k = NULL, *pub = NULL;
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	X509_PUBKEY *spki = NULL;
	unsigned char *der = NULL, *got = NULL, *want = NULL, *longer;
	int len, glen, wlen;

	if (keys_generate(a, &k, &e) != 0 || x509_name_build(&s, &name,
	    &e) != 0 || x509_csr_make(k, name, a->digest, &req, &e) != 0 ||
	    (len = i2d_X509_REQ(req, &der)) <= 0) {
		ok(0, "%s: make a request: %s", alg, err_str(&e));
		goto out;
	}
	is_int(spki_from_req(der, (size_t)len, &spki, &pub, &e), 0,
	    "%s: read", alg);
	glen = i2d_X509_PUBKEY(spki, &got);
	wlen = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &want);
	ok(glen > 0 && glen == wlen && memcmp(got, want, (size_t)glen) == 0,
	    "%s: the SubjectPublicKeyInfo as the request carries it", alg);
	is_int(EVP_PKEY_eq(pub, k), 1, "%s: the same key", alg);
	is_str(keys_alg_of(pub) ? keys_alg_of(pub)->name : NULL, alg,
	    "%s: its algorithm", alg);
	EVP_PKEY_free(pub);
	X509_PUBKEY_free(spki);
	pub = NULL;
	spki = NULL;
	longer = malloc((size_t)len + 1);
	memcpy(longer, der, (size_t)len);
	longer[len] = 0;
	is_int(spki_from_req(longer, (size_t)len + 1, &spki, &pub, &e),
	    EX_DATAERR, "%s: trailing bytes refused", alg);
	is_int(spki_from_req(der, (size_t)len - 1, &spki, &pub, &e),
	    EX_DATAERR, "%s: a truncated request refused", alg);
	ok(spki == NULL && pub == NULL, "%s: nothing returned", alg);
	free(longer);
out:
	OPENSSL_free(der);
	OPENSSL_free(got);
	OPENSSL_free(want);
	EVP_PKEY_free(k);
	EVP_PKEY_free(pub);
	X509_PUBKEY_free(spki);
	X509_NAME_free(name);
	X509_REQ_free(req);
	err_free(&e);
}

/*
 * A key the fast path leaves to OpenSSL (X25519) whose last octet is 0:
 * the SubjectPublicKeyInfo handed back must keep it (X509_PUBKEY_dup's
 * copy wrote the key out one octet short). Found by fuzz/fuzz_spki.
 */
static void
slow_trailing_zero(void)
{
	struct x509_subject s = { "t.example.com", NULL, NULL, NULL, NULL,
	    NULL };
	unsigned char raw[32], *der = NULL, *got = NULL, *want = NULL;
	const unsigned char *p;
	struct err e = {0};
	EVP_PKEY *signer = NULL, *x = NULL, *pub = NULL, *back = NULL;
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	X509_PUBKEY *spki = NULL, *bk = NULL;
	int len, glen, wlen;

	memset(raw, 0x5a, sizeof raw);
	raw[sizeof raw - 1] = 0;
	if (keys_generate(keys_alg("ed25519"), &signer, &e) != 0 ||
	    (x = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, raw,
	    sizeof raw)) == NULL ||
	    x509_name_build(&s, &name, &e) != 0 ||
	    x509_csr_make(signer, name, NULL, &req, &e) != 0 ||
	    !X509_REQ_set_pubkey(req, x) ||
	    X509_REQ_sign(req, signer, NULL) <= 0 ||
	    (len = i2d_X509_REQ(req, &der)) <= 0) {
		ok(0, "x25519: make a request: %s", err_str(&e));
		goto out;
	}
	is_int(spki_from_req(der, (size_t)len, &spki, &pub, &e), 0,
	    "x25519, last octet 0: read");
	glen = i2d_X509_PUBKEY(spki, &got);
	wlen = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &want);
	ok(glen > 0 && glen == wlen && memcmp(got, want, (size_t)glen) == 0,
	    "x25519, last octet 0: the SubjectPublicKeyInfo as the request "
	    "carries it");
	p = got;
	ok(glen > 0 && (bk = d2i_X509_PUBKEY(NULL, &p, glen)) != NULL &&
	    (back = X509_PUBKEY_get0(bk)) != NULL &&
	    EVP_PKEY_eq(back, pub) == 1 && EVP_PKEY_eq(pub, x) == 1,
	    "x25519, last octet 0: written out, still the same key");
out:
	OPENSSL_free(der);
	OPENSSL_free(got);
	OPENSSL_free(want);
	EVP_PKEY_free(signer);
	EVP_PKEY_free(x);
	EVP_PKEY_free(pub);
	X509_PUBKEY_free(spki);
	X509_PUBKEY_free(bk);
	X509_NAME_free(name);
	X509_REQ_free(req);
	err_free(&e);
}

/*
 * Requests spki_from_req must refuse while walking to the key: shapes
 * the DER walk sees, and a key that does not parse (an EC point off
 * the curve: the walk finds it, the key import refuses it).
 */
static void
walk(void)
{
	static const unsigned char indefinite[] = {
		0x30, 0x80, 0x30, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00,
	};
	static const unsigned char no_key[] = {
		0x30, 0x07, 0x30, 0x05, 0x02, 0x01, 0x00, 0x30, 0x00,
	};
	static const unsigned char no_version[] = {
		0x30, 0x06, 0x30, 0x04, 0x30, 0x00, 0x30, 0x00,
	};
	static const unsigned char head[] = {
		0x30, 0x62, 0x30, 0x60, 0x02, 0x01, 0x00, 0x30, 0x00,
		0x30, 0x59, 0x30, 0x13,
		0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
		0x03, 0x42, 0x00, 0x04,
	};
	unsigned char off_curve[sizeof head + 64];
	const struct {
		const char *what;
		const unsigned char *der;
		size_t len;
	} t[] = {
		{ "indefinite length", indefinite, sizeof indefinite },
		{ "no SubjectPublicKeyInfo", no_key, sizeof no_key },
		{ "no version", no_version, sizeof no_version },
		{ "EC point off the curve", off_curve, sizeof off_curve },
	};
	struct err e = {0};
	X509_PUBKEY *spki = NULL;
	EVP_PKEY *pub = NULL;
	size_t i;

	memcpy(off_curve, head, sizeof head);
	memset(off_curve + sizeof head, 0, 64);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		is_int(spki_from_req(t[i].der, t[i].len, &spki, &pub, &e),
		    EX_DATAERR, "%s refused", t[i].what);
		ok(spki == NULL && pub == NULL, "%s: nothing returned",
		    t[i].what);
		err_free(&e);
	}
}

int
main(void)
{
	static const char *const algs[] = {
		"ec-256", "ec-384", "ec-521", "rsa-2048", "ed25519", "ed448",
	};
	struct err e = {0};
	X509_PUBKEY *spki = NULL;
	EVP_PKEY *pub = NULL;
	size_t i;

	for (i = 0; i < sizeof algs / sizeof algs[0]; i++)
		one(algs[i]);
	slow_trailing_zero();
	walk();
	is_int(spki_from_req("garbage", 7, &spki, &pub, &e), EX_DATAERR,
	    "garbage refused");
	err_free(&e);
	return tap_done();
}
