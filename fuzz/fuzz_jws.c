/*
 * fuzz_jws - libFuzzer target for the JWS/JSON reader every ACME request
 * passes: jws_parse on the bytes, then the JWK in its header as a key and
 * a thumbprint, a signature check and an HMAC check. Nothing may crash
 * or leak; what jwk_key accepts must be a key certpipe accepts; errors
 * are one line.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <openssl/err.h>
#include "jws.h"
#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
one_line(const struct err *e)
{
	if (strchr(err_str(e), '\n') != NULL)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const unsigned char mac[32] = "fuzz";
	struct jws j;
	struct err e = {0};
	struct buf tp = {0};
	EVP_PKEY *k = NULL;

	if (jws_parse(data, len, &j, &e) != 0)
		one_line(&e);
	else {
		if (j.alg == NULL)
			__builtin_trap();	/* parse insists on alg */
		if (j.jwk != NULL) {
			if (jwk_thumbprint(j.jwk, &tp, &e) != 0)
				one_line(&e);
			if (jwk_key(j.jwk, &k, &e) == 0) {
				if (k == NULL || keys_alg_of(k) == NULL)
					__builtin_trap();
				if (jws_verify(&j, k, &e) != 0)
					one_line(&e);
			} else if (k != NULL)
				__builtin_trap();
		}
		if (jws_hmac_verify(&j, mac, sizeof mac, &e) == 0)
			__builtin_trap();	/* nobody knows this key */
		one_line(&e);
	}
	EVP_PKEY_free(k);
	jws_free(&j);
	buf_free(&tp);
	err_free(&e);
	ERR_clear_error();
	return 0;
}
