/* pem - fast PEM bodies (see pem.h). */
#include <stdint.h>
#include <string.h>
#include "pem.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    "0123456789+/";

/* Two characters for each 12-bit group. */
static char pairs[4096][2];

static void
pairs_make(void)
{
	int i;

	for (i = 0; i < 4096; i++) {
		pairs[i][0] = b64[i >> 6];
		pairs[i][1] = b64[i & 63];
	}
}

/* Eight bytes at p, big-endian (compilers make this one load). */
static uint64_t
be64(const unsigned char *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 |
	    (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
	    (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	    (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

size_t
pem_lines(char *out, const unsigned char *in, size_t n)
{
	char *o = out;
	unsigned long v;
	uint64_t w;
	size_t k;

	if (pairs[1][1] != 'B')		/* once: pairs[1] is "AB" */
		pairs_make();
	/* whole lines, six bytes (four pairs) a load, while the load's two
	 * bytes past the line are still input */
	for (; n >= 50; n -= 48, in += 48) {
		for (k = 0; k < 48; k += 6) {
			w = be64(in + k) >> 16;
			memcpy(o, pairs[w >> 36], 2);
			memcpy(o + 2, pairs[w >> 24 & 0xfff], 2);
			memcpy(o + 4, pairs[w >> 12 & 0xfff], 2);
			memcpy(o + 6, pairs[w & 0xfff], 2);
			o += 8;
		}
		*o++ = '\n';
	}
	/* the rest of the whole lines: 16 groups of three bytes each */
	for (; n >= 48; n -= 48, in += 48) {
		for (k = 0; k < 48; k += 3) {
			v = (unsigned long)in[k] << 16 |
			    (unsigned long)in[k + 1] << 8 | in[k + 2];
			memcpy(o, pairs[v >> 12], 2);
			memcpy(o + 2, pairs[v & 0xfff], 2);
			o += 4;
		}
		*o++ = '\n';
	}
	if (n == 0)
		return (size_t)(o - out);
	/* the last, short line */
	for (; n >= 3; n -= 3, in += 3) {
		v = (unsigned long)in[0] << 16 | (unsigned long)in[1] << 8 |
		    in[2];
		memcpy(o, pairs[v >> 12], 2);
		memcpy(o + 2, pairs[v & 0xfff], 2);
		o += 4;
	}
	if (n > 0) {
		v = (unsigned long)in[0] << 16 |
		    (n > 1 ? (unsigned long)in[1] << 8 : 0);
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = n > 1 ? b64[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o++ = '\n';
	return (size_t)(o - out);
}
