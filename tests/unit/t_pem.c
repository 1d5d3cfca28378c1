/* t_pem - lib/pem: PEM bodies against OpenSSL's encoder, whole and
 * streamed in pieces of whole lines. */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "buf.h"
#include "pem.h"
#include "tap.h"

/* OpenSSL's body of in: EVP_EncodeUpdate writes 64-column lines. */
static void
openssl_body(const unsigned char *in, size_t n, struct buf *out)
{
	EVP_ENCODE_CTX *c = EVP_ENCODE_CTX_new();
	unsigned char *o = malloc(PEM_LINES_MAX(n) + 80);
	int a = 0, b = 0;

	EVP_EncodeInit(c);
	EVP_EncodeUpdate(c, o, &a, in, (int)n);
	EVP_EncodeFinal(c, o + a, &b);
	buf_add(out, o, (size_t)(a + b));
	free(o);
	EVP_ENCODE_CTX_free(c);
}

int
main(void)
{
	static const size_t piece[] = { 48, 96, 4800, 49152 };
	size_t big = 300000, n, i, at, k, got, bad = 0, sbad = 0;
	unsigned char *in = malloc(big);
	char *o = malloc(PEM_LINES_MAX(big));
	struct buf want = {0};

	RAND_bytes(in, (int)big);
	for (n = 1; n <= 200; n++) {
		buf_reset(&want);
		openssl_body(in, n, &want);
		got = pem_lines(o, in, n);
		if (got != want.len || memcmp(o, want.p, got) != 0 ||
		    got > PEM_LINES_MAX(n))
			bad++;
	}
	is_int((long long)bad, 0, "1 to 200 bytes: OpenSSL's lines");
	is_int((long long)pem_lines(o, in, 0), 0, "nothing: nothing");
	buf_reset(&want);
	openssl_body(in, big, &want);
	got = pem_lines(o, in, big);
	ok(got == want.len && memcmp(o, want.p, got) == 0,
	    "%zu bytes in one call", big);
	for (i = 0; i < sizeof piece / sizeof piece[0]; i++) {
		for (at = 0, got = 0; at < big; at += k) {
			k = big - at > piece[i] ? piece[i] : big - at;
			got += pem_lines(o + got, in + at, k);
		}
		if (got != want.len || memcmp(o, want.p, got) != 0)
			sbad++;
	}
	is_int((long long)sbad, 0, "streamed in pieces of whole lines");
	buf_free(&want);
	free(in);
	free(o);
	return tap_done();
}
