/*
 * fuzz_spki - libFuzzer target for spki_from_req, the signer's reader of
 * a request's public key (DER, through its own ASN.1 templates). What it
 * accepts must be one key: the SubjectPublicKeyInfo it returns, decoded
 * by OpenSSL, must equal the key it built. (spki_from_req's X509_PUBKEY
 * carries no decoded key, so it is read back from its own DER.)
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <openssl/err.h>
#include "spki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	X509_PUBKEY *spki = NULL, *back = NULL;
	EVP_PKEY *pub = NULL, *k;
	struct err e = {0};
	unsigned char *der = NULL;
	const unsigned char *p;
	int n;

	if (spki_from_req(data, len, &spki, &pub, &e) == 0) {
		if (spki == NULL || pub == NULL)
			__builtin_trap();
		/* OpenSSL's own reading of the bytes it carries */
		if ((n = i2d_X509_PUBKEY(spki, &der)) <= 0)
			__builtin_trap();
		p = der;
		if ((back = d2i_X509_PUBKEY(NULL, &p, n)) == NULL ||
		    p != der + n || (k = X509_PUBKEY_get0(back)) == NULL ||
		    EVP_PKEY_eq(k, pub) != 1)
			__builtin_trap();	/* two different keys */
		X509_PUBKEY_free(back);
		OPENSSL_free(der);
		X509_PUBKEY_free(spki);
		EVP_PKEY_free(pub);
	} else if (spki != NULL || pub != NULL)
		__builtin_trap();	/* a failure hands nothing back */
	else if (strchr(err_str(&e), '\n') != NULL)
		__builtin_trap();	/* errors are one line */
	err_free(&e);
	ERR_clear_error();
	return 0;
}
