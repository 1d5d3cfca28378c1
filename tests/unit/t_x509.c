/* t_x509 - names, usages, URLs and certificate issuance. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "keys.h"
#include "tap.h"
#include "x509.h"

/* The second a serial (32 hex digits) says it was made in: its first
 * five octets less the two top bits. */
static unsigned long long
serial_second(const char *hex)
{
	unsigned long long t = 0;
	int i;

	for (i = 0; i < 10; i++)
		t = t << 4 | (unsigned long long)(isdigit((unsigned char)hex[i]) ?
		    hex[i] - '0' : tolower((unsigned char)hex[i]) - 'a' + 10);
	return t & 0x3fffffffffULL;
}

static void
test_ku(void)
{
	static const struct {
		const char *in;
		int rc;
		unsigned want;
	} t[] = {
		{ "digitalSignature", 0, KU_DIGITAL_SIGNATURE },
		{ "keyCertSign,cRLSign", 0, KU_KEY_CERT_SIGN | KU_CRL_SIGN },
		{ "digitalSignature, keyEncipherment", 0,
		  KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT },
		{ "keyCertsign", EX_DATAERR, 0 },
		{ "digitalSignature,,cRLSign", EX_DATAERR, 0 },
		{ "critical", EX_DATAERR, 0 },
	};
	struct err e = {0};
	unsigned bits;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		bits = 0;
		is_int(x509_ku_parse(t[i].in, &bits, &e), t[i].rc,
		    "ku '%s' status", t[i].in);
		if (t[i].rc == 0)
			is_int(bits, t[i].want, "ku '%s' bits", t[i].in);
	}
	err_free(&e);
}

static void
test_checks(void)
{
	static const struct {
		int kind;	/* 0 eku, 1 url, 2 oid */
		const char *in;
		int rc;
	} t[] = {
		{ 0, "serverAuth,clientAuth", 0 },
		{ 0, "1.3.6.1.4.1.99999.1", 0 },
		{ 0, "serverAuth,1.3.6.1.5.5.7.3.9", 0 },
		{ 0, "webServer", EX_DATAERR },
		{ 0, "1.3.6..1", EX_DATAERR },
		{ 0, "serverAuth,", EX_DATAERR },
		{ 1, "http://pki.example.com/ca.crt", 0 },
		{ 1, "https://pki.example.com/ocsp", 0 },
		{ 1, "ftp://pki.example.com/x", EX_DATAERR },
		{ 1, "http://", EX_DATAERR },
		{ 1, "http://a,b", EX_DATAERR },
		{ 1, "http://a b", EX_DATAERR },
		{ 1, "http://a\nb", EX_DATAERR },
		{ 2, "1.2.3.4", 0 },
		{ 2, "2.23.140.1.2.1", 0 },
		{ 2, "1", EX_DATAERR },
		{ 2, "1.2.x", EX_DATAERR },
		{ 2, ".1.2", EX_DATAERR },
	};
	struct err e = {0};
	size_t i;
	int rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (t[i].kind == 0)
			rc = x509_eku_check(t[i].in, &e);
		else if (t[i].kind == 1)
			rc = x509_url_check("url", t[i].in, &e);
		else
			rc = x509_oid_check("oid", t[i].in, &e);
		is_int(rc, t[i].rc, "check row %zu (kind %d)", i, t[i].kind);
	}
	err_free(&e);
}

static void
test_subject(void)
{
	static const struct {
		const char *in;
		int rc;
	} t[] = {
		{ "O=Acme,C=DE", 0 },
		{ "CN=x,O=Acme, OU=Ops,ST=Bavaria,L=Munich", 0 },
		{ "O=Acme,C=Germany", EX_DATAERR },
		{ "O=Acme,C=de", EX_DATAERR },
		{ "X=1", EX_DATAERR },
		{ "O", EX_DATAERR },
		{ "O=a,O=b", EX_DATAERR },
		{ "O=", EX_DATAERR },
	};
	struct x509_subject s;
	struct err e = {0};
	char *store = NULL;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		is_int(x509_subject_parse(t[i].in, &s, &store, &e), t[i].rc,
		    "subject '%s'", t[i].in);
		free(store);
		store = NULL;
	}
	x509_subject_parse("O=Acme,C=DE", &s, &store, &e);
	is_str(s.o, "Acme", "subject O");
	is_str(s.c, "DE", "subject C");
	free(store);
	{
		struct x509_subject none = {0};
		X509_NAME *n = NULL;
		is_int(x509_name_build(&none, &n, &e), EX_DATAERR,
		    "name without CN refused");
	}
	err_free(&e);
}

/* The DER x509_issue keeps with a certificate is what OpenSSL encodes,
 * and PEM and fingerprint made from it are OpenSSL's. */
static void
test_kept(X509 *x)
{
	struct buf der = {0}, pem = {0}, fp = {0};
	unsigned char *want = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	BIO *b = BIO_new(BIO_s_mem());
	char *p, hex[3 * EVP_MAX_MD_SIZE + 1] = "";
	long plen;
	int len = i2d_X509(x, &want);

	x509_der(x, &der);
	ok(len > 0 && der.len == (size_t)len && memcmp(der.p, want,
	    (size_t)len) == 0, "kept DER is i2d_X509's");
	x509_pem(x, &pem);
	PEM_write_bio_X509(b, x);
	plen = BIO_get_mem_data(b, &p);
	ok(plen > 0 && pem.len == (size_t)plen && memcmp(pem.p, p,
	    (size_t)plen) == 0, "PEM from kept DER is PEM_write_bio_X509's");
	x509_fingerprint(x, &fp);
	X509_digest(x, EVP_sha256(), md, &mdlen);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 3 * i, 4, "%02X%s", md[i], i + 1 < mdlen ? ":" :
		    "");
	is_str(fp.p, hex, "fingerprint from kept DER is X509_digest's");
	BIO_free(b);
	OPENSSL_free(want);
	buf_free(&der);
	buf_free(&pem);
	buf_free(&fp);
}

static void
test_issue(void)
{
	struct x509_subject s = { .cn = "Unit Root", .o = "Test" };
	struct x509_issue in = {0};
	X509_NAME *n = NULL;
	EVP_PKEY *k = NULL, *lk = NULL;
	X509 *root = NULL, *leaf = NULL;
	struct err e = {0};
	struct buf b = {0};
	const char *san[] = { "DNS:a.example.com", "IP:192.0.2.1" };
	int capped = 0;

	keys_generate(keys_alg("ec-256"), &k, &e);
	keys_generate(keys_alg("ed25519"), &lk, &e);
	x509_name_build(&s, &n, &e);
	in.subject = n;
	in.pubkey = k;
	in.issuer_key = k;
	in.digest = "sha256";
	in.not_before = 1700000000;
	in.not_after = 1700000000 + 86400 * 10;
	in.ca = 1;
	in.path_len = 0;
	in.ku = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
	is_int(x509_issue(&in, &root, &capped, &e), 0, "self-signed root");
	is_int(X509_check_ca(root), 1, "root is a CA");
	is_int(X509_get_pathlen(root), 0, "path length 0");
	is_int(x509_check_ca(root, &e), 0, "x509_check_ca accepts it");
	x509_serial_hex(root, &b);
	ok(b.len == 32 && b.p[0] >= '4' && b.p[0] <= '7',
	    "serial: 16 octets, positive and minimal (%s)", b.p);
	in.pubkey = lk;
	in.issuer = root;
	in.ca = 0;
	in.ku = KU_DIGITAL_SIGNATURE;
	in.eku = "serverAuth,1.3.6.1.4.1.99999.1";
	in.san = san;
	in.nsan = 2;
	in.not_after = 1700000000 + 86400 * 20;
	in.crl_url = "http://pki.test/crl/x.crl";
	in.ocsp_url = "http://pki.test/ocsp";
	in.policy_oid = "1.3.6.1.4.1.99999.2";
	in.cps_url = "http://pki.test/cps";
	is_int(x509_issue(&in, &leaf, &capped, &e), 0, "leaf");
	is_int(capped, 1, "leaf validity capped at the issuer's");
	is_int((long long)x509_not_after(leaf), (long long)x509_not_after(root),
	    "capped notAfter equals the issuer's");
	{
		STACK_OF(X509) *tr = sk_X509_new_null(), *chain = NULL;
		sk_X509_push(tr, root);
		/* verify at a time inside the validity */
		ok(x509_verify(leaf, tr, NULL, &chain, &e) != 0,
		    "an expired-in-2023 chain does not verify today");
		sk_X509_free(tr);
	}
	ok(x509_check_ca(leaf, &e) == EX_DATAERR, "leaf is not a CA");
	{
		/* serials come from a pool of 64: across three fills each
		 * is new, 16 content octets, 0x40..0x7f first; the first
		 * five say the second it was made in (so they never go
		 * down), the other eleven differ */
		char seen[200][33];
		X509 *y = NULL;
		time_t t0 = time(NULL), t1;
		unsigned long long at, last = 0;
		int j, m, fine = 1;

		for (j = 0; j < 200 && fine; j++) {
			fine = x509_issue(&in, &y, NULL, &e) == 0;
			t1 = time(NULL);
			buf_reset(&b);
			if (fine)
				x509_serial_hex(y, &b);
			fine = fine && b.len == 32 && b.p[0] >= '4' &&
			    b.p[0] <= '7';
			if (fine) {
				at = serial_second(b.p);
				fine = at >= (unsigned long long)t0 &&
				    at <= (unsigned long long)t1 && at >= last;
				last = at;
			}
			for (m = 0; fine && m < j; m++)
				fine = strcmp(seen[m] + 10, b.p + 10) != 0;
			if (fine)
				memcpy(seen[j], b.p, 33);
			X509_free(y);
		}
		ok(fine, "200 serials: the second they were made in, then 88 "
		    "bits that differ (stopped at %d)", j);
	}
	{
		/* a forked child does not hand out the serials its parent
		 * has left in its pool: the child's serial and the parent's
		 * next one differ in their 88 random bits */
		X509 *y = NULL;
		char child[33] = "";
		int p[2], st = 0, got;
		pid_t pid;

		if (pipe(p) != 0)
			abort();
		if ((pid = fork()) == 0) {
			if (x509_issue(&in, &y, NULL, &e) == 0) {
				buf_reset(&b);
				x509_serial_hex(y, &b);
			}
			_exit(b.len == 32 && write(p[1], b.p, 32) == 32 ? 0 : 1);
		}
		close(p[1]);
		got = pid > 0 && read(p[0], child, 32) == 32 &&
		    waitpid(pid, &st, 0) == pid && st == 0;
		close(p[0]);
		buf_reset(&b);
		if (x509_issue(&in, &y, NULL, &e) == 0)
			x509_serial_hex(y, &b);
		ok(got && b.len == 32 && strcmp(child + 10, b.p + 10) != 0,
		    "a forked child's serial is not its parent's next (%s, %s)",
		    child, b.p);
		X509_free(y);
	}
	{
		/* a subject built in place equals x509_name_build's, and is
		 * checked the same way */
		struct x509_subject f = { .cn = "leaf.example.com", .o = "Acme",
		    .c = "DE" };
		X509_NAME *want = NULL;
		X509 *y = NULL;

		x509_name_build(&f, &want, &e);
		in.subject_fields = &f;
		is_int(x509_issue(&in, &y, NULL, &e), 0, "subject in place");
		is_int(y && X509_NAME_cmp(X509_get_subject_name(y), want) == 0,
		    1, "subject in place: the name x509_name_build makes");
		if (y)
			test_kept(y);
		X509_free(y);
		y = NULL;
		f.c = "de";
		is_int(x509_issue(&in, &y, NULL, &e), EX_DATAERR,
		    "subject in place: C checked");
		ok(y == NULL, "subject in place: nothing on failure");
		in.subject_fields = NULL;
		X509_NAME_free(want);
	}
	test_kept(leaf);
	test_kept(root);
	{
		struct buf spki = {0};
		keys_spki(lk, &spki, &e);
		ok(x509_key_matches(leaf, spki.p, spki.len), "key matches");
		ok(!x509_key_matches(root, spki.p, spki.len),
		    "other key does not match");
		buf_free(&spki);
	}
	X509_NAME_free(n);
	X509_free(root);
	X509_free(leaf);
	EVP_PKEY_free(k);
	EVP_PKEY_free(lk);
	buf_free(&b);
	err_free(&e);
}

/* Extensions kept across certificates stay their issuer's: leaves of
 * two issuers, made alternately with the same texts, each name their own
 * issuer's key. */
static void
test_kept_ext(void)
{
	struct x509_subject s = { .cn = "Kept" };
	struct x509_issue in = {0};
	X509_NAME *n = NULL;
	EVP_PKEY *k[2] = { NULL, NULL };
	X509 *ca[2] = { NULL, NULL }, *leaf = NULL;
	struct err e = {0};
	const ASN1_OCTET_STRING *aki, *skid;
	int i, j;

	x509_name_build(&s, &n, &e);
	for (i = 0; i < 2; i++) {
		keys_generate(keys_alg("ec-256"), &k[i], &e);
		in = (struct x509_issue){ .subject = n, .pubkey = k[i],
		    .issuer_key = k[i], .digest = "sha256",
		    .not_before = 1700000000, .not_after = 1900000000,
		    .ca = 1, .path_len = -1,
		    .ku = KU_KEY_CERT_SIGN | KU_CRL_SIGN };
		is_int(x509_issue(&in, &ca[i], NULL, &e), 0, "issuer %d", i);
	}
	for (j = 0; j < 4; j++) {
		i = j % 2;
		in = (struct x509_issue){ .subject = n, .pubkey = k[1 - i],
		    .issuer = ca[i], .issuer_key = k[i], .digest = "sha256",
		    .not_before = 1700000000, .not_after = 1800000000,
		    .path_len = -1, .ku = KU_DIGITAL_SIGNATURE,
		    .eku = "serverAuth", .crl_url = "http://pki.test/x.crl" };
		is_int(x509_issue(&in, &leaf, NULL, &e), 0, "leaf %d", j);
		aki = X509_get0_authority_key_id(leaf);
		skid = X509_get0_subject_key_id(ca[i]);
		ok(aki && skid && ASN1_OCTET_STRING_cmp(aki, skid) == 0,
		    "leaf %d names its own issuer's key", j);
		ok(X509_verify(leaf, k[i]) == 1, "leaf %d signed by it", j);
		X509_free(leaf);
		leaf = NULL;
	}
	for (i = 0; i < 2; i++) {
		X509_free(ca[i]);
		EVP_PKEY_free(k[i]);
	}
	X509_NAME_free(n);
	err_free(&e);
}

/* The second certificate an issuer key signs takes x509_issue's direct
 * path (the first teaches it the signature algorithm): the same
 * certificate as OpenSSL's path, for EC, RSA and Ed25519 issuers. */
static void
test_direct(void)
{
	static const char *const algs[] = { "ec-256", "rsa-2048", "ed25519" };
	const char *san[] = { "DNS:a.example.com", "IP:192.0.2.1",
	    "email:a@example.com" };
	struct x509_subject s = { .cn = "Direct", .o = "Test", .c = "DE" };
	struct x509_issue in;
	const X509_ALGOR *a[2], *t[2];
	const ASN1_BIT_STRING *sig;
	X509_NAME *n = NULL;
	EVP_PKEY *k = NULL, *lk = NULL;
	X509 *ca = NULL, *leaf[2] = { NULL, NULL };
	struct err e = {0};
	unsigned char *d0 = NULL, *d1 = NULL;
	size_t i;
	int j, x, same, l0, l1;

	x509_name_build(&s, &n, &e);
	keys_generate(keys_alg("ec-384"), &lk, &e);
	for (i = 0; i < sizeof algs / sizeof algs[0]; i++) {
		keys_generate(keys_alg(algs[i]), &k, &e);
		in = (struct x509_issue){ .subject = n, .pubkey = k,
		    .issuer_key = k, .digest = "sha384",
		    .not_before = 1700000000, .not_after = 1900000000,
		    .ca = 1, .path_len = -1,
		    .ku = KU_KEY_CERT_SIGN | KU_CRL_SIGN };
		is_int(x509_issue(&in, &ca, NULL, &e), 0, "%s issuer",
		    algs[i]);
		for (j = 0; j < 2; j++) {
			in = (struct x509_issue){ .subject = n, .pubkey = lk,
			    .issuer = ca, .issuer_key = k, .digest = "sha384",
			    .not_before = 1700000000,
			    .not_after = 1800000000, .path_len = -1,
			    .ku = KU_DIGITAL_SIGNATURE, .eku = "clientAuth",
			    .san = san, .nsan = 3,
			    .aia_issuer_url = "http://pki.test/ca.crt",
			    .ocsp_url = "http://pki.test/ocsp",
			    .crl_url = "http://pki.test/x.crl",
			    .freshest_url = "http://pki.test/d.crl",
			    .policy_oid = "1.3.6.1.4.1.99999.2",
			    .cps_url = "http://pki.test/cps",
			    .ocsp_nocheck = 1 };
			is_int(x509_issue(&in, &leaf[j], NULL, &e), 0,
			    "%s: leaf %d", algs[i], j);
			ok(X509_verify(leaf[j], k) == 1, "%s: leaf %d "
			    "verifies", algs[i], j);
			X509_get0_signature(&sig, &a[j], leaf[j]);
			t[j] = X509_get0_tbs_sigalg(leaf[j]);
			test_kept(leaf[j]);
		}
		is_int(X509_ALGOR_cmp(a[0], a[1]), 0, "%s: the same "
		    "signature algorithm", algs[i]);
		is_int(X509_ALGOR_cmp(t[1], a[1]), 0, "%s: in the TBS too",
		    algs[i]);
		same = X509_get_ext_count(leaf[0]) == 11 &&
		    X509_get_ext_count(leaf[1]) == 11;
		for (x = 0; same && x < 11; x++) {
			l0 = i2d_X509_EXTENSION(X509_get_ext(leaf[0], x), &d0);
			l1 = i2d_X509_EXTENSION(X509_get_ext(leaf[1], x), &d1);
			same = l0 > 0 && l0 == l1 && memcmp(d0, d1, l0) == 0;
			OPENSSL_free(d0);
			OPENSSL_free(d1);
			d0 = d1 = NULL;
		}
		ok(same, "%s: the same eleven extensions", algs[i]);
		ok(X509_NAME_cmp(X509_get_subject_name(leaf[0]),
		    X509_get_subject_name(leaf[1])) == 0 &&
		    X509_NAME_cmp(X509_get_issuer_name(leaf[1]),
		    X509_get_subject_name(ca)) == 0 &&
		    ASN1_TIME_compare(X509_get0_notAfter(leaf[0]),
		    X509_get0_notAfter(leaf[1])) == 0, "%s: the same names "
		    "and validity", algs[i]);
		ok(ASN1_INTEGER_cmp(X509_get0_serialNumber(leaf[0]),
		    X509_get0_serialNumber(leaf[1])) != 0, "%s: new serial",
		    algs[i]);
		for (j = 0; j < 2; j++) {
			X509_free(leaf[j]);
			leaf[j] = NULL;
		}
		X509_free(ca);
		ca = NULL;
		EVP_PKEY_free(k);
		k = NULL;
	}
	EVP_PKEY_free(lk);
	X509_NAME_free(n);
	err_free(&e);
}

static void
test_read(void)
{
	struct err e = {0};
	X509 *x = NULL;
	STACK_OF(X509) *sk = NULL;

	is_int(x509_cert_read("garbage", 7, &x, &e), EX_DATAERR,
	    "garbage is not a certificate");
	is_int(x509_cert_read("", 0, &x, &e), EX_DATAERR, "empty input");
	is_int(x509_certs_read("-----BEGIN X-----\n", 18, &sk, &e), EX_DATAERR,
	    "PEM without certificates");
	err_free(&e);
}

/* x509_name_str remembers two names: what it prints is still each
 * name's own text, in any order of asking. */
static void
test_name_str(void)
{
	struct x509_subject s[3] = { { .cn = "Issuer CA", .o = "Acme" },
	    { .cn = "a.example.com" }, { .cn = "b.example.com", .c = "DE" } };
	static const char *const want[3] = { "CN=Issuer CA,O=Acme",
	    "CN=a.example.com", "CN=b.example.com,C=DE" };
	static const int order[] = { 0, 1, 0, 2, 0, 1, 2, 2, 1, 0 };
	X509_NAME *n[3] = { NULL, NULL, NULL };
	struct buf b = {0};
	struct err e = {0};
	size_t i;
	int bad = -1;

	for (i = 0; i < 3; i++)
		x509_name_build(&s[i], &n[i], &e);
	for (i = 0; i < sizeof order / sizeof order[0]; i++) {
		buf_reset(&b);
		x509_name_str(n[order[i]], &b);
		if (bad < 0 && strcmp(buf_str(&b), want[order[i]]) != 0)
			bad = (int)i;
	}
	is_int(bad, -1, "x509_name_str: each name's text, asked in turn "
	    "(the first call that differs)");
	for (i = 0; i < 3; i++)
		X509_NAME_free(n[i]);
	buf_free(&b);
	err_free(&e);
}

/* Certificates left unsigned (x509_issue with later), signed on four
 * threads at once, two each. */
#define LATER 8

struct later_job {
	struct x509_unsigned **u;
	X509 **out;
	int rc[2];
};

static void *
later_sign(void *arg)
{
	struct later_job *j = arg;
	struct err e = {0};
	int i;

	for (i = 0; i < 2; i++)
		j->rc[i] = x509_sign_later(j->u[i], &j->out[i], &e);
	err_free(&e);
	return NULL;
}

static void
test_later(void)
{
	static const char *const algs[] = { "ec-256", "rsa-2048", "ed25519" };
	const char *san[] = { "DNS:later.example.com" };
	struct x509_subject s = { .cn = "Later" };
	struct x509_issue in;
	struct x509_unsigned *u[LATER], *first;
	struct later_job job[LATER / 2];
	pthread_t tid[LATER / 2];
	X509_NAME *n = NULL;
	EVP_PKEY *k = NULL, *lk = NULL;
	X509 *ca = NULL, *leaf[LATER], *x = NULL;
	struct err e = {0};
	size_t i;
	int j, m, good, started;

	x509_name_build(&s, &n, &e);
	keys_generate(keys_alg("ec-256"), &lk, &e);
	for (i = 0; i < sizeof algs / sizeof algs[0]; i++) {
		keys_generate(keys_alg(algs[i]), &k, &e);
		in = (struct x509_issue){ .subject = n, .pubkey = k,
		    .issuer_key = k, .digest = "sha256",
		    .not_before = 1700000000, .not_after = 1900000000,
		    .ca = 1, .path_len = -1,
		    .ku = KU_KEY_CERT_SIGN | KU_CRL_SIGN, .later = &first };
		first = (struct x509_unsigned *)&in;	/* must be cleared */
		is_int(x509_issue(&in, &ca, NULL, &e), 0, "%s: self-signed "
		    "issuer", algs[i]);
		ok(ca != NULL && first == NULL, "%s: signed at once",
		    algs[i]);
		in = (struct x509_issue){ .subject = n, .pubkey = lk,
		    .issuer = ca, .issuer_key = k, .digest = "sha256",
		    .not_before = 1700000000, .not_after = 1800000000,
		    .path_len = -1, .ku = KU_DIGITAL_SIGNATURE,
		    .eku = "serverAuth", .san = san, .nsan = 1,
		    .crl_url = "http://pki.test/later.crl", .later = &first };
		is_int(x509_issue(&in, &x, NULL, &e), 0, "%s: first leaf",
		    algs[i]);
		ok(x != NULL && first == NULL, "%s: the key's first leaf is "
		    "signed at once", algs[i]);
		X509_free(x);
		x = NULL;
		for (j = 0, good = 1; j < LATER; j++) {
			in.later = &u[j];
			good &= x509_issue(&in, &leaf[j], NULL, &e) == 0 &&
			    leaf[j] == NULL && u[j] != NULL;
		}
		ok(good, "%s: %d more left unsigned", algs[i], LATER);
		in.later = &first;
		is_int(x509_issue(&in, &x, NULL, &e), 0, "%s: one more",
		    algs[i]);
		x509_unsigned_free(first);	/* never signed: no leak */
		for (j = 0, started = 0; good && j < LATER / 2; j++) {
			job[j] = (struct later_job){ &u[2 * j], &leaf[2 * j],
			    { -1, -1 } };
			started += pthread_create(&tid[j], NULL, later_sign,
			    &job[j]) == 0;
		}
		is_int(started, good ? LATER / 2 : 0, "%s: %d threads",
		    algs[i], LATER / 2);
		for (j = 0; j < started; j++)
			pthread_join(tid[j], NULL);
		for (j = 0; good && j < LATER; j++) {
			is_int(job[j / 2].rc[j % 2], 0, "%s: leaf %d signed",
			    algs[i], j);
			ok(leaf[j] != NULL && X509_verify(leaf[j], k) == 1,
			    "%s: leaf %d verifies", algs[i], j);
			for (m = 0; m < j; m++)
				if (ASN1_INTEGER_cmp(X509_get0_serialNumber(
				    leaf[m]), X509_get0_serialNumber(leaf[j]))
				    == 0)
					break;
			is_int(m, j, "%s: leaf %d has its own serial",
			    algs[i], j);
			test_kept(leaf[j]);
		}
		for (j = 0; j < LATER; j++) {
			x509_unsigned_free(u[j]);
			X509_free(leaf[j]);
		}
		x509_unsigned_free(NULL);
		X509_free(ca);
		ca = NULL;
		EVP_PKEY_free(k);
		k = NULL;
	}
	EVP_PKEY_free(lk);
	X509_NAME_free(n);
	err_free(&e);
}

/* The CRL URL of x's first distribution point, or "". */
static void
crl_url_of(X509 *x, char *out, size_t n)
{
	CRL_DIST_POINTS *dps = X509_get_ext_d2i(x, NID_crl_distribution_points,
	    NULL, NULL);
	DIST_POINT *dp;
	GENERAL_NAME *g;
	ASN1_IA5STRING *uri;

	snprintf(out, n, "%s", "");
	if (dps != NULL && sk_DIST_POINT_num(dps) > 0 &&
	    (dp = sk_DIST_POINT_value(dps, 0))->distpoint != NULL &&
	    dp->distpoint->type == 0 &&
	    sk_GENERAL_NAME_num(dp->distpoint->name.fullname) > 0 &&
	    (g = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0))->type
	    == GEN_URI) {
		uri = g->d.uniformResourceIdentifier;
		snprintf(out, n, "%.*s", ASN1_STRING_length(uri),
		    (const char *)ASN1_STRING_get0_data(uri));
	}
	CRL_DIST_POINTS_free(dps);
}

/* x509_sign_later on two threads while this one runs x509_issue for
 * new CRL URLs: the extensions it keeps are appended meanwhile (what
 * sign's phase 1 does while its pool signs). */
#define BUSY 24
#define BUSY_URLS 12

struct busy_job {
	struct x509_unsigned **u;
	X509 **out;
	int bad;
};

static void *
busy_sign(void *arg)
{
	struct busy_job *j = arg;
	struct err e = {0};
	int i;

	for (i = 0; i < BUSY / 2; i++)
		j->bad += x509_sign_later(j->u[i], &j->out[i], &e) != 0;
	err_free(&e);
	return NULL;
}

static void
test_later_busy(void)
{
	const char *san[] = { "DNS:busy.example.com" };
	struct x509_subject s = { .cn = "Busy" };
	struct x509_unsigned *u[BUSY] = {0}, *first = NULL;
	struct busy_job job[2];
	struct x509_issue in;
	pthread_t tid[2];
	X509_NAME *n = NULL;
	EVP_PKEY *k = NULL, *lk = NULL;
	X509 *ca = NULL, *leaf[BUSY] = {0}, *now[BUSY_URLS] = {0}, *x = NULL;
	struct err e = {0};
	char url[64], got[64];
	int j, started = 0, good = 1, signedok = 1, urls = 1, kept = 1;

	x509_name_build(&s, &n, &e);
	keys_generate(keys_alg("ec-256"), &k, &e);
	keys_generate(keys_alg("ec-256"), &lk, &e);
	in = (struct x509_issue){ .subject = n, .pubkey = k, .issuer_key = k,
	    .digest = "sha256", .not_before = 1700000000,
	    .not_after = 1900000000, .ca = 1, .path_len = -1,
	    .ku = KU_KEY_CERT_SIGN | KU_CRL_SIGN };
	is_int(x509_issue(&in, &ca, NULL, &e), 0, "busy: issuer");
	in = (struct x509_issue){ .subject = n, .pubkey = lk, .issuer = ca,
	    .issuer_key = k, .digest = "sha256", .not_before = 1700000000,
	    .not_after = 1800000000, .path_len = -1,
	    .ku = KU_DIGITAL_SIGNATURE, .eku = "serverAuth", .san = san,
	    .nsan = 1, .crl_url = "http://pki.test/busy.crl", .later = &first };
	is_int(x509_issue(&in, &x, NULL, &e), 0, "busy: first leaf");
	for (j = 0; j < BUSY; j++) {
		in.later = &u[j];
		good &= x509_issue(&in, &leaf[j], NULL, &e) == 0 &&
		    leaf[j] == NULL && u[j] != NULL;
	}
	ok(good, "busy: %d leaves left unsigned", BUSY);
	for (j = 0; good && j < 2; j++) {
		job[j] = (struct busy_job){ &u[j * BUSY / 2],
		    &leaf[j * BUSY / 2], 0 };
		started += pthread_create(&tid[j], NULL, busy_sign, &job[j])
		    == 0;
	}
	in.later = NULL;
	for (j = 0; j < BUSY_URLS; j++) {
		snprintf(url, sizeof url, "http://pki.test/busy-%d.crl", j);
		in.crl_url = url;
		signedok &= x509_issue(&in, &now[j], NULL, &e) == 0 &&
		    now[j] != NULL && X509_verify(now[j], k) == 1;
		crl_url_of(now[j], got, sizeof got);
		urls &= strcmp(got, url) == 0;
	}
	for (j = 0; j < started; j++)
		pthread_join(tid[j], NULL);
	is_int(started, 2, "busy: two signing threads");
	ok(signedok && urls, "busy: %d leaves for new CRL URLs issued "
	    "meanwhile, each with its URL", BUSY_URLS);
	for (j = 0; started == 2 && j < BUSY; j++) {
		unsigned char *der = NULL;
		struct buf b = {0};
		int len;

		signedok &= leaf[j] != NULL && X509_verify(leaf[j], k) == 1;
		if (leaf[j] == NULL)
			continue;
		crl_url_of(leaf[j], got, sizeof got);
		urls &= strcmp(got, "http://pki.test/busy.crl") == 0;
		len = i2d_X509(leaf[j], &der);
		x509_der(leaf[j], &b);
		kept &= len > 0 && b.len == (size_t)len &&
		    memcmp(b.p, der, (size_t)len) == 0;
		OPENSSL_free(der);
		buf_free(&b);
	}
	is_int(started == 2 ? job[0].bad + job[1].bad : -1, 0,
	    "busy: every later signature made");
	ok(signedok && urls && kept, "busy: the %d verify, keep their CRL "
	    "URL, and their kept DER is i2d_X509's", BUSY);
	for (j = 0; j < BUSY; j++) {
		x509_unsigned_free(u[j]);
		X509_free(leaf[j]);
	}
	for (j = 0; j < BUSY_URLS; j++)
		X509_free(now[j]);
	x509_unsigned_free(first);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(lk);
	X509_NAME_free(n);
	err_free(&e);
}

int
main(void)
{
	test_ku();
	test_direct();
	test_checks();
	test_subject();
	test_issue();
	test_kept_ext();
	test_later();
	test_later_busy();
	test_read();
	test_name_str();
	return tap_done();
}
