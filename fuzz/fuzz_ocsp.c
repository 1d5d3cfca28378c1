/*
 * fuzz_ocsp - libFuzzer target for what the ocsp front end does with a
 * hostile request: ocsp_query_parse, then ocsp_answer against a store
 * that knows one issuer (no live signer). What parse accepts must be a
 * request OpenSSL can encode again, with 1..16 CertIDs and a store key
 * that cannot leave the store (hex and one '/' only), and "signed and
 * verified" only for a signed request; what it refuses has a one-line
 * reason; every answer (signed requests required for odd lengths) must
 * be an OCSPResponse whose status matches a->status.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include "fs.h"
#include "ocsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static struct ocsp_front front;
static int ready;

/* A store with one issuer directory (the SHA-1 of nothing twice) and no
 * responses: known issuer, unknown issuer and tryLater are reachable. */
static void
setup(void)
{
	char root[] = "/tmp/fuzz_ocsp.XXXXXX";
	struct ocsp_store st;
	struct buf d = {0};
	struct err e = {0};

	if (mkdtemp(root) == NULL)
		abort();
	buf_printf(&d, "%s/sha1/da39a3ee5e6b4b0d3255bfef95601890afd80709-"
	    "da39a3ee5e6b4b0d3255bfef95601890afd80709", root);
	if (fs_mkdirs(d.p, 0755, &e) != 0 || ocsp_store_open(root, &st,
	    &e) != 0)
		abort();
	ocsp_front_init(&front, st.fd, NULL);
	buf_free(&d);
	ready = 1;
}

static int
safe_key(const struct ocsp_key *k)
{
	const char *p;
	int slash = 0;

	for (p = k->dir; *p; p++)
		if (*p == '/')
			slash++;
		else if (!strchr("0123456789abcdefsha-", *p))
			return 0;
	for (p = k->serial; *p; p++)
		if (!strchr("0123456789abcdef", *p))
			return 0;
	return slash == 1 && k->dir[0] == 's';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ocsp_query q;
	struct ocsp_answer a;
	struct err e = {0};
	unsigned char *der = NULL;
	int n;

	if (!ready)
		setup();
	if (ocsp_query_parse(data, len, &q, &e) == 0) {
		if (q.req == NULL || q.n < 1 || q.n > OCSP_MAX_IDS ||
		    !safe_key(&q.key) || (q.sig &&
		    !OCSP_request_is_signed(q.req)))
			__builtin_trap();
		if ((n = i2d_OCSP_REQUEST(q.req, &der)) <= 0)
			__builtin_trap();
		OPENSSL_free(der);
		ocsp_query_free(&q);
	} else if (q.req != NULL || strchr(err_str(&e), '\n') != NULL)
		__builtin_trap();
	err_free(&e);
	front.require_signed = (int)(len & 1);
	ocsp_answer(&front, data, len, 1700000000, &a);
	if (a.der.len == 0 || ocsp_status_of(a.der.p, a.der.len) != a.status)
		__builtin_trap();
	ocsp_answer_free(&a);
	ERR_clear_error();
	return 0;
}
