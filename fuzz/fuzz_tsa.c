/*
 * fuzz_tsa - libFuzzer target for what the timestamp authority reads
 * from the network: RFC 3161 queries (tsa_reply, which must answer
 * anything with a TimeStampResp) and Authenticode requests
 * (tsa_authenticode_decode), and the status text reader over what it
 * is given. The first byte picks which.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <openssl/ts.h>
#include "keys.h"
#include "tsa.h"
#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* A self-signed TSA certificate, made once per process. */
static struct tsa *
tsa_once(void)
{
	static struct tsa *t;
	static EVP_PKEY *key;
	static X509 *cert;
	struct x509_subject s = { "fuzz TSA", NULL, NULL, NULL, NULL, NULL };
	struct x509_issue in;
	struct tsa_opts o;
	X509_NAME *name = NULL;
	struct err e = {0};

	if (t != NULL)
		return t;
	memset(&in, 0, sizeof in);
	if (keys_generate(keys_alg("ec-256"), &key, &e) != 0 ||
	    x509_name_build(&s, &name, &e) != 0)
		__builtin_trap();
	in.subject = name;
	in.pubkey = key;
	in.issuer_key = key;
	in.digest = "sha256";
	in.not_before = time(NULL) - 60;
	in.not_after = time(NULL) + 86400;
	in.path_len = -1;
	in.ku = KU_DIGITAL_SIGNATURE;
	in.eku = "critical,timeStamping";
	if (x509_issue(&in, &cert, NULL, &e) != 0)
		__builtin_trap();
	o = (struct tsa_opts){ cert, key, NULL, "1.3.6.1.4.1.99999.7.1", 250 };
	if (tsa_new(&o, &t, &e) != 0)
		__builtin_trap();
	X509_NAME_free(name);
	return t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct tsa *t = tsa_once();
	struct buf out = {0};
	struct err e = {0};
	const unsigned char *p;
	TS_RESP *r;
	int status = -1;

	if (len == 0)
		return 0;
	if (data[0] & 2) {
		tsa_reply_text(data + 1, len - 1, &out);
		if (out.len == 0 || strchr(out.p, '\n'))
			__builtin_trap();	/* one line, never empty */
	} else if (data[0] & 1) {
		if (tsa_authenticode_decode(data + 1, len - 1, &out, &e) != 0 &&
		    (e.code != EX_DATAERR || strchr(err_str(&e), '\n')))
			__builtin_trap();	/* bad input is EX_DATAERR */
	} else {
		if (tsa_reply(t, data + 1, len - 1, &out, &status, &e) != 0 &&
		    out.len == 0)
			__builtin_trap();	/* every query gets a reply */
		p = (const unsigned char *)out.p;
		if ((r = d2i_TS_RESP(NULL, &p, (long)out.len)) == NULL)
			__builtin_trap();
		TS_RESP_free(r);
	}
	buf_free(&out);
	err_free(&e);
	return 0;
}
