/*
 * fuzz_csr - libFuzzer target for csr_parse, the reader of untrusted
 * PKCS#10 requests (PEM and DER). csr_parse reads most requests without
 * OpenSSL's X509_REQ reader (lib/spki.h); whatever it decides must be
 * what that reader decides (csr_parse_openssl): the same verdict, the
 * same error (OpenSSL's path may name OpenSSL's reason after it), the
 * same names, key and request bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <openssl/err.h>
#include "csr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static int
same(const struct csr *a, const struct csr *b)
{
	size_t i;

	if (a->derlen != b->derlen || memcmp(a->der, b->der, a->derlen) != 0 ||
	    EVP_PKEY_eq(a->pub, b->pub) != 1 || a->alg != b->alg ||
	    !same_str(a->cn, b->cn) || !same_str(a->o, b->o) ||
	    !same_str(a->ou, b->ou) || !same_str(a->c, b->c) ||
	    !same_str(a->st, b->st) || !same_str(a->l, b->l) ||
	    a->nsan != b->nsan || a->nwarn != b->nwarn)
		return 0;
	for (i = 0; i < a->nsan; i++)
		if (strcmp(a->san[i], b->san[i]) != 0)
			return 0;
	for (i = 0; i < a->nwarn; i++)
		if (strcmp(a->warn[i], b->warn[i]) != 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct csr c, ref;
	struct err e = {0}, eref = {0};
	size_t i;
	int rc, rcref;

	rc = csr_parse(data, len, &c, &e);
	rcref = csr_parse_openssl(data, len, &ref, &eref);
	if (rc != rcref)
		__builtin_trap();	/* another verdict than OpenSSL's */
	if (rc == 0) {
		if (!same(&c, &ref))
			__builtin_trap();	/* another reading */
		/* what is kept must be safe for one-line records */
		for (i = 0; i < c.nsan; i++)
			if (strchr(c.san[i], '\n') || strchr(c.san[i], '\r'))
				__builtin_trap();
		if (c.cn && (strchr(c.cn, '\n') || strchr(c.cn, '\r')))
			__builtin_trap();
		csr_free(&c);
		csr_free(&ref);
	} else if (strchr(err_str(&e), '\n'))
		__builtin_trap();	/* errors are one line */
	else if (strncmp(err_str(&e), err_str(&eref), strlen(err_str(&e)))
	    != 0)
		__builtin_trap();	/* another reason than OpenSSL's path
					   (which may add OpenSSL's own) */
	err_free(&e);
	err_free(&eref);
	ERR_clear_error();
	return 0;
}
