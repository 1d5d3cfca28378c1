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
	is_int(spki_from_req("garbage", 7, &spki, &pub, &e), EX_DATAERR,
	    "garbage refused");
	err_free(&e);
	return tap_done();
}
