/* t_csr - what csr_parse keeps, drops and refuses. */
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "csr.h"
#include "tap.h"

/* Build a request: key of type/param, subject CN, SAN text (OpenSSL
 * config syntax) and extra extension; corrupt flips a signature bit. */
static void
make(struct buf *out, int der, const char *kt, const char *param,
    const char *cn, const char *san, int extra_ext, int challenge,
    int corrupt)
{
	EVP_PKEY *k;
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	unsigned char *d = NULL;
	int len;

	if (strcmp(kt, "RSA") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(param));
	else if (strcmp(kt, "EC") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, kt);
	if (cn)
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
		    (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "emailAddress", MBSTRING_UTF8,
	    (const unsigned char *)"a@b.c", -1, -1, 0);
	X509_REQ_set_subject_name(r, n);
	X509_REQ_set_pubkey(r, k);
	if (san)
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL,
		    NID_subject_alt_name, san));
	if (extra_ext)
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL,
		    NID_basic_constraints, "critical,CA:TRUE"));
	if (sk_X509_EXTENSION_num(exts) > 0)
		X509_REQ_add_extensions(r, exts);
	if (challenge)
		X509_REQ_add1_attr_by_NID(r, NID_pkcs9_challengePassword,
		    MBSTRING_ASC, (const unsigned char *)"s3cret-value", -1);
	X509_REQ_sign(r, k, EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ?
	    NULL : EVP_sha256());
	if (corrupt) {
		const ASN1_BIT_STRING *sig;
		X509_REQ_get0_signature(r, &sig, NULL);
		((ASN1_BIT_STRING *)sig)->data[4] ^= 1;
	}
	if (der) {
		len = i2d_X509_REQ(r, &d);
		buf_add(out, d, (size_t)len);
		OPENSSL_free(d);
	} else {
		BIO *b = BIO_new(BIO_s_mem());
		char *p;
		PEM_write_bio_X509_REQ(b, r);
		len = (int)BIO_get_mem_data(b, &p);
		buf_add(out, p, (size_t)len);
		BIO_free(b);
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
}

int
main(void)
{
	static const struct {
		const char *desc, *kt, *param, *cn, *san;
		int der, extra, challenge, corrupt, rc;
		const char *want_alg;
		size_t nsan;
	} t[] = {
		{ "EC P-256 PEM with SANs", "EC", "P-256", "app.example.com",
		  "DNS:App.Example.com,DNS:www.example.com,IP:192.0.2.1,"
		  "email:ops@example.com,URI:https://example.com/x",
		  0, 0, 0, 0, 0, "ec-256", 5 },
		{ "DER input", "EC", "P-384", "x.example.com", NULL,
		  1, 0, 0, 0, 0, "ec-384", 0 },
		{ "RSA 2048", "RSA", "2048", "r.example.com", NULL,
		  0, 0, 0, 0, 0, "rsa-2048", 0 },
		{ "Ed25519", "ED25519", NULL, "e.example.com", NULL,
		  0, 0, 0, 0, 0, "ed25519", 0 },
		{ "IPv6 SAN", "EC", "P-256", NULL, "IP:2001:db8::1",
		  0, 0, 0, 0, 0, "ec-256", 1 },
		{ "wildcard SAN", "EC", "P-256", NULL, "DNS:*.example.com",
		  0, 0, 0, 0, 0, "ec-256", 1 },
		{ "duplicate SANs folded", "EC", "P-256", NULL,
		  "DNS:a.example.com,DNS:A.example.com", 0, 0, 0, 0, 0,
		  "ec-256", 1 },
		{ "broken signature", "EC", "P-256", "a.example.com", NULL,
		  0, 0, 0, 1, EX_DATAERR, NULL, 0 },
		{ "RSA 1024 too weak", "RSA", "1024", "a.example.com", NULL,
		  0, 0, 0, 0, EX_DATAERR, NULL, 0 },
		{ "unknown curve", "EC", "secp256k1", "a.example.com", NULL,
		  0, 0, 0, 0, EX_DATAERR, NULL, 0 },
		{ "bad DNS SAN", "EC", "P-256", NULL, "DNS:bad_name.example",
		  0, 0, 0, 0, EX_DATAERR, NULL, 0 },
		{ "no names at all", "EC", "P-256", NULL, NULL,
		  0, 0, 0, 0, EX_DATAERR, NULL, 0 },
	};
	struct err e = {0};
	struct csr c;
	struct buf b = {0};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		buf_reset(&b);
		make(&b, t[i].der, t[i].kt, t[i].param, t[i].cn, t[i].san,
		    t[i].extra, t[i].challenge, t[i].corrupt);
		is_int(csr_parse(b.p, b.len, &c, &e), t[i].rc, "%s", t[i].desc);
		if (t[i].rc != 0) {
			ok(strchr(err_str(&e), '\n') == NULL && e.msg.len > 0,
			    "%s: one-line reason (%s)", t[i].desc, err_str(&e));
			continue;
		}
		is_str(c.alg->name, t[i].want_alg, "%s: key type", t[i].desc);
		is_int((long long)c.nsan, (long long)t[i].nsan, "%s: SAN count",
		    t[i].desc);
		csr_free(&c);
	}

	buf_reset(&b);
	make(&b, 0, "EC", "P-256", "App.example.com",
	    "DNS:App.Example.com,IP:192.0.2.1", 1, 1, 0);
	is_int(csr_parse(b.p, b.len, &c, &e), 0, "CSR with extras parses");
	is_str(c.cn, "App.example.com", "CN kept as given");
	is_str(c.san[0], "DNS:app.example.com", "DNS SAN lower-cased");
	is_str(c.san[1], "IP:192.0.2.1", "IP SAN");
	is_int((long long)c.nwarn, 3, "three things dropped");
	is_str(c.warn[0], "subject field emailAddress dropped", "warning 1");
	is_str(c.warn[1], "requested extension basicConstraints dropped",
	    "warning 2: a CA:TRUE request is never honoured");
	is_str(c.warn[2], "attribute challengePassword dropped", "warning 3");
	ok(strstr(c.warn[2], "s3cret") == NULL, "secret never echoed");
	csr_free(&c);

	is_int(csr_parse("", 0, &c, &e), EX_DATAERR, "empty input");
	is_int(csr_parse("garbage", 7, &c, &e), EX_DATAERR, "garbage");
	{
		struct buf big = {0};
		size_t k;
		for (k = 0; k < 70000; k++)
			buf_addc(&big, 'A');
		is_int(csr_parse(big.p, big.len, &c, &e), EX_DATAERR,
		    "oversize input");
		buf_free(&big);
	}
	buf_reset(&b);
	make(&b, 1, "EC", "P-256", "a.example.com", NULL, 0, 0, 0);
	buf_addc(&b, 0);
	is_int(csr_parse(b.p, b.len, &c, &e), EX_DATAERR,
	    "trailing byte after DER");
	csr_free(&c);
	csr_free(NULL);
	buf_free(&b);
	err_free(&e);
	return tap_done();
}
