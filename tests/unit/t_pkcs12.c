/* t_pkcs12 - PKCS#12 files and their one-time passwords. */
#include <stdlib.h>
#include <string.h>
#include <openssl/pkcs12.h>
#include "keys.h"
#include "pkcs12.h"
#include "tap.h"
#include "x509.h"

static void
test_password(void)
{
	struct buf a = {0}, b = {0};
	struct err e = {0};
	size_t i;
	int good = 1;

	is_int(p12_password(&a, &e), 0, "password");
	is_int((long long)a.len, 24, "24 characters (144 bits)");
	for (i = 0; i < a.len; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_", a.p[i]) == NULL)
			good = 0;
	ok(good, "base64url characters only");
	p12_password(&b, &e);
	ok(strcmp(a.p, b.p) != 0, "a new one each time");
	buf_wipe(&a);
	buf_wipe(&b);
	err_free(&e);
}

/* A self-signed certificate for k. */
static X509 *
self_signed(EVP_PKEY *k, const char *cn)
{
	struct x509_subject s = { cn, NULL, NULL, NULL, NULL, NULL };
	struct x509_issue in = {0};
	struct err e = {0};
	X509_NAME *n = NULL;
	X509 *x = NULL;

	x509_name_build(&s, &n, &e);
	in.subject = n;
	in.pubkey = k;
	in.issuer_key = k;
	in.digest = "sha256";
	in.not_before = time(NULL);
	in.not_after = in.not_before + 86400;
	in.ca = 1;
	in.path_len = -1;
	x509_issue(&in, &x, NULL, &e);
	X509_NAME_free(n);
	err_free(&e);
	return x;
}

static void
test_build(void)
{
	struct buf der = {0};
	struct err e = {0};
	EVP_PKEY *k = NULL, *other = NULL, *got = NULL;
	X509 *x, *ca, *gotx = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null(), *gotca = NULL;
	const unsigned char *p;
	PKCS12 *p12;

	keys_generate(keys_alg("ec-256"), &k, &e);
	keys_generate(keys_alg("ec-256"), &other, &e);
	x = self_signed(k, "leaf.example.com");
	ca = self_signed(other, "Some CA");
	sk_X509_push(chain, ca);
	is_int(p12_build(other, x, chain, "leaf", "pw-1234567890", &der, &e),
	    EX_DATAERR, "a key that is not the certificate's is refused");
	is_int((long long)der.len, 0, "and nothing is written");
	is_int(p12_build(k, x, chain, "leaf", "pw-1234567890", &der, &e), 0,
	    "build");
	p = (const unsigned char *)der.p;
	p12 = d2i_PKCS12(NULL, &p, (long)der.len);
	ok(p12 != NULL, "the output is DER PKCS#12");
	ok(PKCS12_mac_present(p12), "it has a MAC");
	ok(PKCS12_verify_mac(p12, "wrong", -1) == 0, "the MAC refuses a wrong "
	    "password");
	ok(PKCS12_verify_mac(p12, "pw-1234567890", -1) == 1, "and takes the "
	    "right one");
	ok(PKCS12_parse(p12, "pw-1234567890", &got, &gotx, &gotca) == 1,
	    "it opens");
	ok(got && EVP_PKEY_eq(got, k) == 1, "the key comes back");
	ok(gotx && X509_cmp(gotx, x) == 0, "the certificate comes back");
	ok(gotca && sk_X509_num(gotca) == 1 &&
	    X509_cmp(sk_X509_value(gotca, 0), ca) == 0, "the chain comes back");
	PKCS12_free(p12);
	EVP_PKEY_free(got);
	X509_free(gotx);
	sk_X509_pop_free(gotca, X509_free);
	sk_X509_pop_free(chain, X509_free);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	buf_free(&der);
	err_free(&e);
}

int
main(void)
{
	test_password();
	test_build();
	return tap_done();
}
