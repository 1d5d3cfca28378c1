/*
 * fuzz_crlprev - libFuzzer target for the reader of the last published
 * CRL that publish-crl's signer may start from (crl_prev_parse and
 * crl_prev_entry): the file is read before its signature is checked, so
 * any bytes must be refused or walked within their length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "crl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct crl_prev cp;
	const unsigned char *ser;
	unsigned char *copy;
	size_t at, end, sl, el;

	/* an exact-size copy: a read past the end is ASan's to see */
	if ((copy = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(copy, data, len);
	if (crl_prev_parse(copy, len, &cp) == 0) {
		if (cp.tbs_off + cp.tbs_len > len || cp.sig_off + cp.sig_len >
		    len || cp.ent_off + cp.ent_len > len ||
		    cp.issuer_off + cp.issuer_len > len)
			__builtin_trap();
		end = cp.ent_off + cp.ent_len;
		for (at = cp.ent_off; at < end && crl_prev_entry(copy + at,
		    end - at, &ser, &sl, &el) == 1; at += el)
			if (el == 0 || sl == 0 || ser < copy + at ||
			    ser + sl > copy + at + el)
				__builtin_trap();
	}
	free(copy);
	return 0;
}
