/* t_signer - what issue_cert adds for the signer starters (with every
 * kind of issuer key, since the responder certificate is signed twice),
 * and signer_starter. signer_find and signer_key run in 72-signer.sh. */
#include <string.h>
#include <openssl/x509v3.h>
#include "issue.h"
#include "keys.h"
#include "signer.h"
#include "tap.h"
#include "x509.h"

static int
critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static int
has_ocsp_url(X509 *x)
{
	STACK_OF(OPENSSL_STRING) *u = X509_get1_ocsp(x);
	int n = u ? sk_OPENSSL_STRING_num(u) : 0;

	X509_email_free(u);
	return n > 0;
}

/* A self-signed CA with a key of type alg. */
static X509 *
make_ca(const char *alg, EVP_PKEY **key)
{
	struct x509_subject s = { .cn = "Root" };
	struct x509_issue ci = {0};
	struct err e = {0};
	X509_NAME *n = NULL;
	X509 *ca = NULL;

	keys_generate(keys_alg(alg), key, &e);
	x509_name_build(&s, &n, &e);
	ci.subject = n;
	ci.pubkey = *key;
	ci.issuer_key = *key;
	ci.digest = "sha256";
	ci.not_before = time(NULL) - 60;
	ci.not_after = time(NULL) + 86400 * 100;
	ci.ca = 1;
	ci.path_len = 0;
	ci.ku = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
	x509_issue(&ci, &ca, NULL, &e);
	X509_NAME_free(n);
	err_free(&e);
	return ca;
}

static void
one(const char *starter, const char *caalg, X509 *ca, EVP_PKEY *cak,
    EVP_PKEY *pub)
{
	int ocsp = strcmp(starter, "ocsp-signing") == 0;
	int tsa = strcmp(starter, "timestamping") == 0;
	struct x509_subject s = { .cn = "root OCSP Responder" };
	struct issue_req r;
	struct tmpl t = {0};
	struct err e = {0};
	X509_NAME *n = NULL;
	X509 *x = NULL;

	tmpl_starter(starter, &t, &e);
	t.name = strdup("t");
	x509_name_build(&s, &n, &e);
	memset(&r, 0, sizeof r);
	r.tmpl = &t;
	r.ca_name = "root";
	r.ca_cert = ca;
	r.ca_key = cak;
	r.base_url = "http://pki.test";
	r.pub = pub;
	r.subject = n;
	r.cn = s.cn;
	r.now = time(NULL);
	if (!is_int(issue_cert(&r, &x, NULL, &e), 0, "%s, %s issuer: issued",
	    starter, caalg)) {
		printf("#   %s\n", err_str(&e));
		goto out;
	}
	is_int(X509_verify(x, X509_get0_pubkey(ca)), 1, "%s, %s issuer: the "
	    "signature verifies", starter, caalg);
	is_int(critical(x, NID_id_pkix_OCSP_noCheck), ocsp ? 0 : -1,
	    "%s, %s issuer: id-pkix-ocsp-nocheck %s", starter, caalg,
	    ocsp ? "present" : "absent");
	is_int(has_ocsp_url(x), !ocsp, "%s, %s issuer: OCSP URL %s", starter,
	    caalg, ocsp ? "absent" : "present");
	is_int(critical(x, NID_ext_key_usage), tsa, "%s, %s issuer: EKU %s",
	    starter, caalg, tsa ? "critical" : "not critical");
	is_int(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), -1,
	    "%s, %s issuer: no SAN for a CN that is no host name", starter,
	    caalg);
	is_int(X509_check_purpose(x, X509_PURPOSE_TIMESTAMP_SIGN, 0), tsa,
	    "%s, %s issuer: timestamp signing purpose %s", starter, caalg,
	    tsa ? "passes" : "fails");
out:
	X509_free(x);
	X509_NAME_free(n);
	tmpl_free(&t);
	err_free(&e);
}

int
main(void)
{
	static const char *const starters[] = {
		"web-server", "ocsp-signing", "timestamping"
	};
	static const char *const algs[] = { "ec-256", "rsa-2048", "ed25519" };
	struct err e = {0};
	EVP_PKEY *cak = NULL, *pub = NULL;
	X509 *ca;
	size_t i, j;

	keys_generate(keys_alg("ec-256"), &pub, &e);
	for (j = 0; j < sizeof algs / sizeof algs[0]; j++) {
		cak = NULL;
		ca = make_ca(algs[j], &cak);
		for (i = 0; i < sizeof starters / sizeof starters[0]; i++)
			one(starters[i], algs[j], ca, cak, pub);
		X509_free(ca);
		EVP_PKEY_free(cak);
	}
	EVP_PKEY_free(pub);
	is_str(signer_starter("ocsp"), "ocsp-signing", "ocsp: its starter");
	is_str(signer_starter("tsa"), "timestamping", "tsa: its starter");
	is_str(signer_starter("crl"), NULL, "crl: no signer kind");
	is_str(signer_starter(NULL), NULL, "NULL: no signer kind");
	err_free(&e);
	return tap_done();
}
