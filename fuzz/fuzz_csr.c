/*
 * fuzz_csr - libFuzzer target for csr_parse, the reader of untrusted
 * PKCS#10 requests (PEM and DER).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "csr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct csr c;
	struct err e = {0};
	size_t i;

	if (csr_parse(data, len, &c, &e) == 0) {
		/* what is kept must be safe for one-line records */
		for (i = 0; i < c.nsan; i++)
			if (strchr(c.san[i], '\n') || strchr(c.san[i], '\r'))
				__builtin_trap();
		if (c.cn && (strchr(c.cn, '\n') || strchr(c.cn, '\r')))
			__builtin_trap();
		csr_free(&c);
	} else if (strchr(err_str(&e), '\n'))
		__builtin_trap();	/* errors are one line */
	err_free(&e);
	return 0;
}
