/* t_issue - the hygiene rules of issue_cert. */
#include <string.h>
#include <openssl/x509v3.h>
#include "issue.h"
#include "keys.h"
#include "tap.h"
#include "x509.h"

static int
has_san(X509 *x, int type, const char *want)
{
	GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i, found = 0;

	for (i = 0; g && i < sk_GENERAL_NAME_num(g); i++) {
		GENERAL_NAME *n = sk_GENERAL_NAME_value(g, i);
		if (n->type == type && type == GEN_DNS &&
		    strcmp((const char *)ASN1_STRING_get0_data(n->d.dNSName),
		    want) == 0)
			found = 1;
		if (n->type == type && type == GEN_IPADD)
			found = 1;
	}
	GENERAL_NAMES_free(g);
	return found;
}

static int
nsan(X509 *x)
{
	GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int n = g ? sk_GENERAL_NAME_num(g) : 0;

	GENERAL_NAMES_free(g);
	return n;
}

int
main(void)
{
	struct tmpl t = {0};
	struct err e = {0};
	struct issue_req r;
	struct x509_issue ci = {0};
	struct x509_subject cs = { .cn = "Root" }, ls = { .cn = "app.example.com" };
	X509_NAME *cn = NULL, *ln = NULL;
	EVP_PKEY *cak = NULL, *ec = NULL, *rsa = NULL;
	X509 *ca = NULL, *x = NULL;
	const char *san[] = { "DNS:www.example.com" };
	time_t now = time(NULL);
	int capped = 0;

	tmpl_starter("web-server", &t, &e);
	keys_generate(keys_alg("ec-256"), &cak, &e);
	keys_generate(keys_alg("ec-256"), &ec, &e);
	keys_generate(keys_alg("rsa-2048"), &rsa, &e);
	x509_name_build(&cs, &cn, &e);
	x509_name_build(&ls, &ln, &e);
	ci.subject = cn;
	ci.pubkey = cak;
	ci.issuer_key = cak;
	ci.digest = "sha256";
	ci.not_before = now - 60;
	ci.not_after = now + 86400 * 1000;
	ci.ca = 1;
	ci.path_len = 0;
	ci.ku = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
	x509_issue(&ci, &ca, NULL, &e);

	memset(&r, 0, sizeof r);
	r.tmpl = &t;
	r.ca_name = "root";
	r.ca_cert = ca;
	r.ca_key = cak;
	r.base_url = "http://pki.test";
	r.pub = ec;
	r.subject = ln;
	r.cn = "app.example.com";
	r.san = san;
	r.nsan = 1;
	r.now = now;
	is_int(issue_cert(&r, &x, &capped, &e), 0, "EC leaf");
	ok(has_san(x, GEN_DNS, "app.example.com"), "CN copied into the SAN");
	ok(has_san(x, GEN_DNS, "www.example.com"), "requested SAN kept");
	is_int(nsan(x), 2, "two SANs");
	ok(!(X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT),
	    "no keyEncipherment for an EC key");
	ok(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE, "digitalSignature");
	ok(X509_get_extended_key_usage(x) & XKU_SSL_SERVER, "serverAuth");
	is_int((long long)(x509_not_after(x) - now) / 86400, 397,
	    "default validity from the template");
	is_int(capped, 0, "not capped");
	X509_free(x);

	r.pub = rsa;
	r.days = 5000;
	r.cn = "John Doe";
	is_int(issue_cert(&r, &x, &capped, &e), 0, "RSA leaf");
	ok(X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT,
	    "keyEncipherment for an RSA key");
	is_int(nsan(x), 1, "a CN that is not a host name is not copied");
	is_int(capped, 1, "5000 days capped");
	is_int((long long)(x509_not_after(x) - now) / 86400, 397,
	    "capped at the template's max-days");
	X509_free(x);

	r.days = 0;
	r.cn = "192.0.2.7";
	r.nsan = 0;
	is_int(issue_cert(&r, &x, &capped, &e), 0, "IP CN");
	ok(has_san(x, GEN_IPADD, NULL), "an IP CN becomes an IP SAN");
	X509_free(x);

	r.days = -1;
	is_int(issue_cert(&r, &x, &capped, &e), EX_DATAERR, "negative days");

	tmpl_free(&t);
	X509_NAME_free(cn);
	X509_NAME_free(ln);
	X509_free(ca);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
	err_free(&e);
	return tap_done();
}
