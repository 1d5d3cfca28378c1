/* pkcs12 - PKCS#12 files through OpenSSL (see pkcs12.h). */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include "pkcs12.h"

int
p12_password(struct buf *out, struct err *e)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[P12_PASSWORD_BYTES];
	unsigned v;
	size_t i;

	if (RAND_bytes(r, sizeof r) != 1)
		return err_ssl(e, EX_SOFTWARE, "random password: RAND_bytes "
		    "failed");
	/* 3 bytes -> 4 characters; 18 bytes divide evenly: no padding */
	for (i = 0; i < sizeof r; i += 3) {
		v = (unsigned)r[i] << 16 | (unsigned)r[i + 1] << 8 | r[i + 2];
		buf_addc(out, b64url[v >> 18 & 63]);
		buf_addc(out, b64url[v >> 12 & 63]);
		buf_addc(out, b64url[v >> 6 & 63]);
		buf_addc(out, b64url[v & 63]);
	}
	OPENSSL_cleanse(r, sizeof r);
	return 0;
}

int
p12_build(EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain,
    const char *name, const char *pass, struct buf *out, struct err *e)
{
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	int len, rc;

	if (X509_check_private_key(cert, key) != 1) {
		rc = err_ssl(e, EX_DATAERR, "the key does not belong to the "
		    "certificate");
		goto out;
	}
	/* mac_iter -1: no MAC here, so the SHA-256 one below is the only
	 * one (PKCS12_create would use SHA-1) */
	p12 = PKCS12_create(pass, name, key, cert, chain, NID_aes_256_cbc,
	    NID_aes_256_cbc, PKCS12_DEFAULT_ITER, -1, 0);
	if (p12 == NULL) {
		rc = err_ssl(e, EX_SOFTWARE, "PKCS#12: cannot build");
		goto out;
	}
	if (PKCS12_set_mac(p12, pass, -1, NULL, 0, PKCS12_DEFAULT_ITER,
	    EVP_sha256()) != 1) {
		rc = err_ssl(e, EX_SOFTWARE, "PKCS#12: cannot add the MAC");
		goto out;
	}
	if ((len = i2d_PKCS12(p12, &der)) <= 0) {
		rc = err_ssl(e, EX_SOFTWARE, "PKCS#12: cannot encode");
		goto out;
	}
	buf_add(out, der, (size_t)len);
	rc = 0;
out:
	OPENSSL_free(der);
	PKCS12_free(p12);
	return rc;
}
