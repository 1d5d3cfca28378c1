/*
 * fuzz_cert - libFuzzer target for the certificate reader behind
 * `certpipe ca import`: PEM bundles and DER, then the CA checks.
 */
#include <stddef.h>
#include <stdint.h>
#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	STACK_OF(X509) *sk = NULL;
	struct err e = {0};
	struct buf b = {0};
	int i;

	if (x509_certs_read(data, len, &sk, &e) == 0) {
		for (i = 0; i < sk_X509_num(sk); i++) {
			X509 *x = sk_X509_value(sk, i);
			x509_check_ca(x, &e);
			x509_fingerprint(x, &b);
			x509_serial_hex(x, &b);
			x509_name_str(X509_get_subject_name(x), &b);
			(void)x509_not_after(x);
			buf_reset(&b);
		}
		sk_X509_pop_free(sk, X509_free);
	}
	buf_free(&b);
	err_free(&e);
	return 0;
}
