/* t_crl - lib/crl: entries against OpenSSL's own encoder, job specs,
 * URLs and file names. */
#include <stdlib.h>
#include <string.h>
#include <openssl/x509v3.h>
#include "clock.h"
#include "crl.h"
#include "tap.h"

/* The same entry encoded by OpenSSL (i2d_X509_REVOKED). */
static void
openssl_entry(const char *serial, const char *date, int reason,
    const char *invalid, struct buf *out)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t;
	ASN1_ENUMERATED *why;
	ASN1_GENERALIZEDTIME *g;
	BIGNUM *bn = NULL;
	unsigned char *der = NULL;
	struct err e = {0};
	time_t at;
	int n;

	BN_hex2bn(&bn, serial);
	sn = BN_to_ASN1_INTEGER(bn, NULL);
	X509_REVOKED_set_serialNumber(r, sn);
	clock_parse("date", date, &at, &e);
	t = ASN1_TIME_set(NULL, at);
	X509_REVOKED_set_revocationDate(r, t);
	if (reason > 0) {
		why = ASN1_ENUMERATED_new();
		ASN1_ENUMERATED_set(why, reason);
		X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, why, 0, 0);
		ASN1_ENUMERATED_free(why);
	}
	if (invalid) {
		clock_parse("invalid", invalid, &at, &e);
		g = ASN1_GENERALIZEDTIME_set(NULL, at);
		X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, g, 0, 0);
		ASN1_GENERALIZEDTIME_free(g);
	}
	n = i2d_X509_REVOKED(r, &der);
	buf_add(out, der, n > 0 ? (size_t)n : 0);
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	X509_REVOKED_free(r);
	err_free(&e);
}

static void
test_entries(void)
{
	static const struct {
		const char *serial, *date;
		int reason;
		const char *invalid;
	} t[] = {
		{ "46e41309cee23ab868676c7919086d8b", "2026-12-01T17:11:37Z",
		  -1, NULL },
		{ "46e41309cee23ab868676c7919086d8b", "2026-12-01T17:11:37Z",
		  1, "2026-11-01T00:00:00Z" },
		{ "ff", "2026-01-02T03:04:05Z", 6, NULL },	/* 0x00 pad */
		{ "1", "2026-01-02T03:04:05Z", 8, NULL },	/* odd length */
		{ "00000abc", "1999-12-31T23:59:59Z", 4, NULL },/* leading 0 */
		{ "7fffffffffffffffffffffffffffffffffffffff",
		  "2050-01-01T00:00:00Z", 5, "2049-12-31T00:00:00Z" },
		{ "8000000000000000000000000000000000000000",
		  "2049-12-31T23:59:59Z", 2, NULL },
	};
	struct buf got = {0}, want = {0};
	struct err e = {0};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		buf_reset(&got);
		buf_reset(&want);
		is_int(crl_entry(&got, t[i].serial, t[i].date, t[i].reason,
		    t[i].invalid, &e), 0, "entry %s %s encodes", t[i].serial,
		    t[i].date);
		openssl_entry(t[i].serial, t[i].date, t[i].reason,
		    t[i].invalid, &want);
		ok(got.len == want.len && memcmp(got.p, want.p, got.len) == 0,
		    "entry %s reason %d: the DER i2d_X509_REVOKED makes "
		    "(%zu bytes, want %zu)", t[i].serial, t[i].reason, got.len,
		    want.len);
	}
	is_int(crl_entry(&got, "12g4", "2026-01-01T00:00:00Z", -1, NULL, &e),
	    EX_DATAERR, "a serial that is not hex");
	is_int(crl_entry(&got, "", "2026-01-01T00:00:00Z", -1, NULL, &e),
	    EX_DATAERR, "an empty serial");
	is_int(crl_entry(&got, "12", "2026-01-01 00:00:00", -1, NULL, &e),
	    EX_DATAERR, "a date that is not RFC 3339 UTC");
	is_int(crl_entry(&got, "12", NULL, -1, NULL, &e), EX_DATAERR,
	    "no date");
	is_int(crl_entry(&got, "12", "2026-01-01T00:00:00Z", 1, "yesterday",
	    &e), EX_DATAERR, "a bad invalidity date");
	buf_free(&got);
	buf_free(&want);
	err_free(&e);
}

static void
test_jobs(void)
{
	static const char *const bad[] = {
		"",
		"ca=1,number=2,kind=full,this=10",		/* next <= this */
		"ca=1,number=2,kind=weekly,this=1,next=2",
		"ca=1,number=2,kind=full,this=1,next=2,colour=red",
		"ca=1,number=x,kind=full,this=1,next=2",
		"ca=1,number=-2,kind=full,this=1,next=2",
		"ca=1,number=2,kind=delta,this=1,next=2",	/* no base */
		"ca=1,number=2,kind=delta,base=2,this=1,next=2",
		"ca=1,number=2,kind=full,freshest=2,this=1,next=2",
		"ca=1,number=2,kind=full,this=1,next=2,junk",
		"number=2,kind=full,this=1,next=2",		/* no CA */
		"ca=1,number=2,kind=full,this=1,next=2,prev=2",	/* not before */
		"ca=1,number=3,kind=delta,base=2,this=1,next=2,prev=1",
	};
	struct crl_job j = { 3, 17, CRL_DELTA, 0, 16, 42, 0, 1000, 2000, 0 },
	    f = { 3, 18, CRL_SHARD, 5, 0, 0, 0, 1000, 2000, 11 }, k;
	struct buf b = {0}, c = {0};
	struct err e = {0};
	size_t i;

	crl_job_fmt(&j, &b);
	is_int(crl_job_parse(b.p, &k, &e), 0, "a formatted job parses");
	crl_job_fmt(&k, &c);
	is_str(c.p, b.p, "and formats the same");
	is_int(k.kind, CRL_DELTA, "kind");
	is_int(k.base, 16, "base");
	is_int(k.since, 42, "since");
	buf_reset(&b);
	crl_job_fmt(&f, &b);
	is_int(crl_job_parse(b.p, &k, &e), 0, "a shard job with prev parses");
	is_int(k.prev, 11, "prev");
	is_int(k.shard, 5, "shard");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(crl_job_parse(bad[i], &k, &e), EX_USAGE, "refused: '%s'",
		    bad[i]);
	buf_free(&b);
	buf_free(&c);
	err_free(&e);
}

static void
test_urls(void)
{
	char *u;
	struct buf b = {0};

	is_str(u = crl_url("http://pki.test/", "sub", CRL_FULL, 0),
	    "http://pki.test/crl/sub.crl", "complete CRL URL");
	free(u);
	is_str(u = crl_url("http://pki.test", "sub", CRL_DELTA, 0),
	    "http://pki.test/crl/sub-delta.crl", "delta URL");
	free(u);
	is_str(u = crl_url("http://pki.test", "sub", CRL_SHARD, 12),
	    "http://pki.test/crl/sub-12.crl", "shard URL");
	free(u);
	ok(crl_url(NULL, "sub", CRL_FULL, 0) == NULL, "no base URL: none");
	ok(crl_url("", "sub", CRL_FULL, 0) == NULL, "empty base URL: none");
	is_str(u = crl_shard_url("http://x/crl/sub.crl", 3),
	    "http://x/crl/sub-3.crl", "shard of a CDP URL");
	free(u);
	is_str(u = crl_shard_url("http://x/revoked", 3), "http://x/revoked-3.crl",
	    "shard of a CDP URL without .crl");
	free(u);
	crl_file("sub", CRL_SHARD, 7, &b);
	is_str(b.p, "sub-7.crl", "shard file");
	buf_reset(&b);
	crl_file("sub", CRL_DELTA, 0, &b);
	is_str(b.p, "sub-delta.crl", "delta file");
	buf_free(&b);
}

/* An OpenSSL CRL of three entries, number 5, parsed for reuse. */
static void
test_prev(void)
{
	static const char *const serials[] = { "01", "7f3c", "00ff00ff00ff" };
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_CRL *crl = X509_CRL_new();
	X509_NAME *nm = X509_NAME_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, 1700000000);
	struct crl_prev cp, cq;
	const unsigned char *ser;
	unsigned char *der = NULL;
	size_t sl, el, at, n;
	int len, i, seen = 0, bad = 0;

	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Prev CA", -1, -1, 0);
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, nm);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_CRL_set1_nextUpdate(crl, t);
	for (i = 0; i < 3; i++) {
		struct buf b = {0};
		const unsigned char *p;
		X509_REVOKED *r;

		openssl_entry(serials[i], "2026-06-01T12:00:00Z", i, NULL, &b);
		p = (const unsigned char *)b.p;
		r = d2i_X509_REVOKED(NULL, &p, (long)b.len);
		X509_CRL_add0_revoked(crl, r);
		buf_free(&b);
	}
	ASN1_INTEGER_set(num, 5);
	X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
	X509_CRL_sign(crl, k, EVP_sha256());
	len = i2d_X509_CRL(crl, &der);
	ok(len > 0, "OpenSSL made a CRL");
	is_int(crl_prev_parse(der, (size_t)len, &cp), 0, "it parses");
	is_int(cp.number, 5, "its crlNumber");
	is_int(cp.delta, 0, "not a delta");
	ok(cp.tbs_off + cp.tbs_len == cp.sigalg_off &&
	    cp.sig_off + cp.sig_len == (size_t)len, "parts in order");
	for (at = cp.ent_off; crl_prev_entry(der + at, cp.ent_off + cp.ent_len -
	    at, &ser, &sl, &el) == 1; at += el)
		seen++;
	is_int(seen, 3, "three entries walked");
	ok(at == cp.ent_off + cp.ent_len, "to the list's end");
	/* every truncation and every single changed length byte: refused
	 * or parsed within the bytes, never read past them (ASan) */
	for (n = 0; n < (size_t)len; n++) {
		unsigned char *cut = malloc(n ? n : 1);

		memcpy(cut, der, n);
		if (crl_prev_parse(cut, n, &cq) == 0)
			bad++;
		free(cut);
	}
	is_int(bad, 0, "no truncation parses");
	for (n = 0; n < (size_t)len; n++) {
		unsigned char *x = malloc((size_t)len);

		memcpy(x, der, (size_t)len);
		x[n] ^= 0x81;
		if (crl_prev_parse(x, (size_t)len, &cq) == 0)
			for (at = cq.ent_off; crl_prev_entry(x + at, cq.ent_off +
			    cq.ent_len - at, &ser, &sl, &el) == 1; at += el)
				;
		free(x);
	}
	ok(1, "flipped bytes: no crash");
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	X509_NAME_free(nm);
	X509_CRL_free(crl);
	EVP_PKEY_free(k);
}

int
main(void)
{
	test_entries();
	test_prev();
	test_jobs();
	test_urls();
	return tap_done();
}
