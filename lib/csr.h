/*
 * csr - read a PKCS#10 request from outside and keep only what may be
 * trusted: the public key (after the request's own signature proves its
 * possession) and the requested names. Everything else a request carries
 * (other extensions, attributes, a challenge password) is dropped and
 * reported as a warning, never used.
 *
 * Contract: csr_parse returns 0 or EX_DATAERR with e naming what is
 * wrong in one line. The struct owns everything it points to;
 * csr_free(NULL) and csr_free on a zeroed struct are fine.
 */
#ifndef CERTPIPE_CSR_H
#define CERTPIPE_CSR_H
#include <stddef.h>
#include <openssl/x509.h>
#include "err.h"
#include "keys.h"

#define CSR_MAX_BYTES (64 * 1024)	/* PEM or DER */
#define CSR_MAX_SANS  100

struct csr {
	unsigned char *der;		/* the request, as i2d_X509_REQ writes
					   it (OPENSSL_free) */
	size_t derlen;
	EVP_PKEY *pub;
	const struct key_alg *alg;	/* NULL never: weak keys are refused */
	char *cn, *o, *ou, *c, *st, *l;	/* NULL when absent */
	char **san;			/* "DNS:x", "IP:1.2.3.4", "email:x",
					   "URI:x"; lower-cased DNS names */
	size_t nsan;
	char **warn;			/* one line each: what was dropped */
	size_t nwarn;
};

/* Parse PEM ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST") or DER. */
int csr_parse(const void *data, size_t len, struct csr *out, struct err *e);
/* The same through OpenSSL's X509_REQ reader only: what csr_parse falls
 * back to for requests its own reader (lib/spki.h) leaves to OpenSSL,
 * and the reference fuzz_csr holds it to. */
int csr_parse_openssl(const void *data, size_t len, struct csr *out,
    struct err *e);
void csr_free(struct csr *c);

#endif
