/* t_tsa - RFC 3161 replies and Authenticode countersignatures, checked
 * with OpenSSL's own TS and PKCS#7 verifiers against a CA made here. */
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include "http.h"
#include "keys.h"
#include "tap.h"
#include "tsa.h"
#include "x509.h"

#define POLICY "1.3.6.1.4.1.99999.7.1"

static EVP_PKEY *ca_key, *tsa_key;
static X509 *ca_cert, *tsa_cert, *web_cert;
static STACK_OF(X509) *chain;

static X509 *
mkcert(const char *cn, EVP_PKEY *key, int ca, unsigned ku, const char *eku)
{
	struct x509_subject s = { cn, "certpipe test", NULL, NULL, NULL,
	    NULL };
	struct x509_issue in;
	X509_NAME *name = NULL;
	X509 *x = NULL;
	struct err e = {0};

	memset(&in, 0, sizeof in);
	if (x509_name_build(&s, &name, &e) != 0)
		return NULL;
	in.subject = name;
	in.pubkey = key;
	in.issuer = ca ? NULL : ca_cert;
	in.issuer_key = ca_key;
	in.digest = "sha256";
	in.not_before = time(NULL) - 60;
	in.not_after = time(NULL) + 86400;
	in.ca = ca;
	in.path_len = -1;
	in.ku = ku;
	in.eku = eku;
	if (x509_issue(&in, &x, NULL, &e) != 0)
		printf("# %s: %s\n", cn, err_str(&e));
	X509_NAME_free(name);
	err_free(&e);
	return x;
}

static int
setup(void)
{
	struct err e = {0};
	EVP_PKEY *web = NULL;

	if (keys_generate(keys_alg("ec-256"), &ca_key, &e) != 0 ||
	    keys_generate(keys_alg("ec-256"), &tsa_key, &e) != 0 ||
	    keys_generate(keys_alg("ec-256"), &web, &e) != 0)
		return 0;
	ca_cert = mkcert("Test Root", ca_key, 1, KU_KEY_CERT_SIGN | KU_CRL_SIGN,
	    NULL);
	tsa_cert = mkcert("Test TSA", tsa_key, 0, KU_DIGITAL_SIGNATURE,
	    "critical,timeStamping");
	web_cert = mkcert("www.test", web, 0, KU_DIGITAL_SIGNATURE,
	    "serverAuth");
	EVP_PKEY_free(web);
	chain = sk_X509_new_null();
	X509_up_ref(ca_cert);
	sk_X509_push(chain, ca_cert);
	return ca_cert && tsa_cert && web_cert;
}

static struct tsa *
mktsa(int64_t accuracy_ms)
{
	struct tsa_opts o = { tsa_cert, tsa_key, chain, POLICY, accuracy_ms };
	struct tsa *t = NULL;
	struct err e = {0};

	if (tsa_new(&o, &t, &e) != 0)
		printf("# tsa_new: %s\n", err_str(&e));
	err_free(&e);
	return t;
}

/* A TimeStampReq over "hello" with digest md (imprint cut to len when
 * len > 0), nonce, certReq and policy as given. */
static TS_REQ *
mkreq(const EVP_MD *md, int len, long nonce, int cert_req, const char *policy)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	TS_REQ *r = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_INTEGER *n = ASN1_INTEGER_new();
	ASN1_OBJECT *p = policy ? OBJ_txt2obj(policy, 1) : NULL;

	EVP_Digest("hello", 5, h, &hl, md, NULL);
	X509_ALGOR_set_md(alg, md);
	TS_MSG_IMPRINT_set_algo(mi, alg);
	TS_MSG_IMPRINT_set_msg(mi, h, len > 0 ? len : (int)hl);
	TS_REQ_set_version(r, 1);
	TS_REQ_set_msg_imprint(r, mi);
	ASN1_INTEGER_set(n, nonce);
	if (nonce)
		TS_REQ_set_nonce(r, n);
	TS_REQ_set_cert_req(r, cert_req);
	if (p)
		TS_REQ_set_policy_id(r, p);
	ASN1_OBJECT_free(p);
	ASN1_INTEGER_free(n);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	return r;
}

/* The reply to r as a TS_RESP (and the status tsa_reply reported). */
static TS_RESP *
ask(struct tsa *t, TS_REQ *r, int *status)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	struct buf out = {0};
	struct err e = {0};
	TS_RESP *resp = NULL;
	int n = i2d_TS_REQ(r, &der);

	*status = -1;
	if (tsa_reply(t, der, (size_t)n, &out, status, &e) != 0)
		printf("# tsa_reply: %s\n", err_str(&e));
	p = (const unsigned char *)out.p;
	if (out.len)
		resp = d2i_TS_RESP(NULL, &p, (long)out.len);
	OPENSSL_free(der);
	buf_free(&out);
	err_free(&e);
	return resp;
}

static int
failinfo(TS_RESP *r)
{
	const ASN1_BIT_STRING *fi;
	int i;

	fi = TS_STATUS_INFO_get0_failure_info(TS_RESP_get_status_info(r));
	for (i = 0; fi && i < 32; i++)
		if (ASN1_BIT_STRING_get_bit(fi, i))
			return i;
	return -1;
}

static void
test_rejections(struct tsa *t)
{
	static const struct {
		const char *what;
		const char *md;
		int len;
		const char *policy;
		int want;		/* failInfo bit, -1: granted */
	} v[] = {
		{ "sha256", "sha256", 0, NULL, -1 },
		{ "sha384", "sha384", 0, NULL, -1 },
		{ "sha512", "sha512", 0, NULL, -1 },
		{ "sha256, the TSA's policy asked", "sha256", 0, POLICY, -1 },
		{ "sha1", "sha1", 0, NULL, TS_INFO_BAD_ALG },
		{ "md5", "md5", 0, NULL, TS_INFO_BAD_ALG },
		{ "sha224", "sha224", 0, NULL, TS_INFO_BAD_ALG },
		{ "sha256 imprint of 20 bytes", "sha256", 20, NULL,
		  TS_INFO_BAD_DATA_FORMAT },
		{ "another policy", "sha256", 0, "1.2.3.4",
		  TS_INFO_UNACCEPTED_POLICY },
	};
	TS_REQ *r;
	TS_RESP *resp;
	size_t i;
	int st;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		r = mkreq(EVP_get_digestbyname(v[i].md), v[i].len, 42, 1,
		    v[i].policy);
		resp = ask(t, r, &st);
		ok(resp != NULL, "%s: a TimeStampResp", v[i].what);
		is_int(st, v[i].want < 0 ? TSA_GRANTED : TSA_REJECTION,
		    "%s: status", v[i].what);
		if (resp)
			is_int(failinfo(resp), v[i].want, "%s: failInfo",
			    v[i].what);
		TS_RESP_free(resp);
		TS_REQ_free(r);
	}
}

static void
test_garbage(struct tsa *t)
{
	static const struct {
		const char *what;
		const char *data;
		size_t len;
	} v[] = {
		{ "empty", "", 0 },
		{ "text", "hello, world", 12 },
		{ "a truncated SEQUENCE", "\x30\x82\x01\x00\x02\x01", 6 },
		{ "a SEQUENCE of nothing", "\x30\x00", 2 },
	};
	const unsigned char *p;
	struct buf out = {0};
	struct err e = {0};
	TS_RESP *resp;
	size_t i;
	int st, rc;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		buf_reset(&out);
		rc = tsa_reply(t, (const unsigned char *)v[i].data, v[i].len,
		    &out, &st, &e);
		is_int(rc, 0, "%s: answered", v[i].what);
		p = (const unsigned char *)out.p;
		resp = out.len ? d2i_TS_RESP(NULL, &p, (long)out.len) : NULL;
		is_int(st, TSA_REJECTION, "%s: rejection", v[i].what);
		is_int(resp ? failinfo(resp) : -2, TS_INFO_BAD_DATA_FORMAT,
		    "%s: badDataFormat", v[i].what);
		TS_RESP_free(resp);
	}
	buf_reset(&out);
	tsa_reply_text((const unsigned char *)"xx", 2, &out);
	is_str(out.p, "rejected", "status text of no reply");
	buf_free(&out);
	err_free(&e);
}

static void
test_reply_text(struct tsa *t)
{
	struct buf out = {0}, text = {0};
	struct err e = {0};

	tsa_reply(t, (const unsigned char *)"junk", 4, &out, NULL, &e);
	tsa_reply_text((unsigned char *)out.p, out.len, &text);
	is_str(text.p, "Bad request format or system error.", "status text");
	buf_free(&out);
	buf_free(&text);
	err_free(&e);
}

/* OpenSSL's verifier over a granted reply: signature, chain, imprint,
 * nonce, version. */
static int
verified(TS_REQ *r, TS_RESP *resp, int attach)
{
	TS_VERIFY_CTX *v = TS_REQ_to_TS_VERIFY_CTX(r, NULL);
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *certs = NULL;
	int ok;

	X509_STORE_add_cert(store, ca_cert);
	TS_VERIFY_CTX_set_store(v, store);
	if (attach) {
		certs = sk_X509_new_null();
		X509_up_ref(tsa_cert);
		sk_X509_push(certs, tsa_cert);
		TS_VERIFY_CTX_set_certs(v, certs);
	}
	TS_VERIFY_CTX_add_flags(v, TS_VFY_SIGNATURE);
	ok = TS_RESP_verify_response(v, resp) == 1;
	if (!ok)
		ERR_print_errors_fp(stdout);
	TS_VERIFY_CTX_free(v);
	return ok;
}

static int
has_ess_v2(PKCS7 *token)
{
	PKCS7_SIGNER_INFO *si;

	si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(token), 0);
	return si && PKCS7_get_signed_attribute(si,
	    NID_id_smime_aa_signingCertificateV2) != NULL &&
	    PKCS7_get_signed_attribute(si,
	    NID_id_smime_aa_signingCertificate) == NULL;
}

static void
test_token(struct tsa *t)
{
	TS_REQ *r = mkreq(EVP_sha256(), 0, 0x1234567, 1, NULL);
	TS_RESP *resp = ask(t, r, &(int){0}), *resp2;
	TS_TST_INFO *tst = resp ? TS_RESP_get_tst_info(resp) : NULL;
	const TS_ACCURACY *acc;
	char oid[64];
	BIGNUM *s1, *s2;

	if (!ok(tst != NULL, "granted token")) {
		TS_RESP_free(resp);
		TS_REQ_free(r);
		return;
	}
	ok(verified(r, resp, 0), "openssl verifies it (certReq: the "
	    "certificates are in the token)");
	is_int(ASN1_INTEGER_get(TS_TST_INFO_get_nonce(tst)), 0x1234567,
	    "nonce echoed");
	OBJ_obj2txt(oid, sizeof oid, TS_TST_INFO_get_policy_id(tst), 1);
	is_str(oid, POLICY, "the TSA's policy");
	is_int(TS_TST_INFO_get_ordering(tst), 0, "ordering false");
	acc = TS_TST_INFO_get_accuracy(tst);
	is_int(acc ? ASN1_INTEGER_get(TS_ACCURACY_get_millis(acc)) : -1, 250,
	    "accuracy 250 ms");
	is_int(acc && TS_ACCURACY_get_seconds(acc) ?
	    ASN1_INTEGER_get(TS_ACCURACY_get_seconds(acc)) : 0, 0,
	    "accuracy: no seconds");
	ok(has_ess_v2(TS_RESP_get_token(resp)), "ESSCertIDv2, not v1");
	is_int(sk_X509_num(TS_RESP_get_token(resp)->d.sign->cert), 2,
	    "certReq: TSA certificate and CA in the token");
	s1 = ASN1_INTEGER_to_BN(TS_TST_INFO_get_serial(tst), NULL);
	ok(BN_num_bits(s1) >= 64, "serial has %d bits", BN_num_bits(s1));
	resp2 = ask(t, r, &(int){0});
	s2 = resp2 && TS_RESP_get_tst_info(resp2) ? ASN1_INTEGER_to_BN(
	    TS_TST_INFO_get_serial(TS_RESP_get_tst_info(resp2)), NULL) : NULL;
	ok(s2 && BN_cmp(s1, s2) != 0, "a second token has another serial");
	BN_free(s1);
	BN_free(s2);
	TS_RESP_free(resp2);
	TS_RESP_free(resp);
	TS_REQ_free(r);

	r = mkreq(EVP_sha512(), 0, 0, 0, NULL);
	resp = ask(t, r, &(int){0});
	ok(resp && TS_RESP_get_token(resp) &&
	    TS_RESP_get_token(resp)->d.sign->cert == NULL,
	    "no certReq: no certificates in the token");
	ok(resp && TS_RESP_get_tst_info(resp) &&
	    TS_TST_INFO_get_nonce(TS_RESP_get_tst_info(resp)) == NULL,
	    "no nonce asked, none given");
	ok(resp && verified(r, resp, 1), "verifies with the certificate "
	    "given apart");
	TS_RESP_free(resp);
	TS_REQ_free(r);
}

/* genTime carries milliseconds with a sub-second accuracy only. */
static void
test_gentime(void)
{
	static const struct {
		int64_t ms;
		int frac;
	} v[] = { { 0, 0 }, { 1000, 0 }, { 1500, 1 }, { 250, 1 } };
	struct tsa *t;
	TS_REQ *r = mkreq(EVP_sha256(), 0, 7, 0, NULL);
	TS_RESP *resp;
	const ASN1_GENERALIZEDTIME *g;
	size_t i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		t = mktsa(v[i].ms);
		resp = t ? ask(t, r, &(int){0}) : NULL;
		g = resp && TS_RESP_get_tst_info(resp) ?
		    TS_TST_INFO_get_time(TS_RESP_get_tst_info(resp)) : NULL;
		ok(g && g->data[g->length - 1] == 'Z', "accuracy %lld ms: "
		    "genTime in UTC", (long long)v[i].ms);
		/* "YYYYMMDDHHMMSSZ" is 15; ".fff" trailing zeros are dropped
		 * (X.690), so a fraction may be shorter than 3 digits, or
		 * absent when the milliseconds were 000: allow that */
		if (!v[i].frac)
			is_int(g ? g->length : 0, 15, "accuracy %lld ms: "
			    "whole seconds", (long long)v[i].ms);
		else
			ok(g && (g->length == 15 || (g->length >= 17 &&
			    g->length <= 19 && g->data[14] == '.')),
			    "accuracy %lld ms: milliseconds (%.*s)",
			    (long long)v[i].ms, g ? g->length : 0,
			    g ? (const char *)g->data : "");
		TS_RESP_free(resp);
		tsa_free(t);
	}
	TS_REQ_free(r);
}

static void
test_config(void)
{
	struct tsa_opts o = { web_cert, tsa_key, NULL, POLICY, 0 };
	struct tsa *t = NULL;
	struct err e = {0};

	is_int(tsa_new(&o, &t, &e), EX_CONFIG, "key of another certificate");
	o.cert = tsa_cert;
	o.policy = "not an oid";
	is_int(tsa_new(&o, &t, &e), EX_CONFIG, "policy not an OID");
	o.policy = POLICY;
	o.accuracy_ms = -1;
	is_int(tsa_new(&o, &t, &e), EX_CONFIG, "negative accuracy");
	ok(t == NULL, "no TSA made");
	err_free(&e);
}

/* Only a certificate with a critical timeStamping EKU signs tokens. */
static void
test_not_tsa(void)
{
	struct tsa_opts o = { NULL, NULL, NULL, POLICY, 0 };
	struct tsa *t = NULL;
	struct err e = {0};
	EVP_PKEY *wk = NULL;
	X509 *w;

	keys_generate(keys_alg("ec-256"), &wk, &e);
	w = mkcert("www2.test", wk, 0, KU_DIGITAL_SIGNATURE, "serverAuth");
	o.cert = w;
	o.key = wk;
	is_int(tsa_new(&o, &t, &e), EX_CONFIG, "serverAuth certificate "
	    "refused");
	X509_free(w);
	w = mkcert("tsa2.test", tsa_key, 0, KU_DIGITAL_SIGNATURE,
	    "timeStamping");
	o.cert = w;
	o.key = tsa_key;
	is_int(tsa_new(&o, &t, &e), EX_CONFIG, "non-critical timeStamping "
	    "refused");
	X509_free(w);
	EVP_PKEY_free(wk);
	err_free(&e);
}

/* base64 of SEQUENCE { OID 1.3.6.1.4.1.311.3.2.1, SEQUENCE { id-data,
 * [0] { OCTET STRING sig } } } for a sig of 64 bytes, oid byte tweak. */
static void
mkac(const unsigned char *sig, int tweak, struct buf *out)
{
	static const unsigned char head[] = {
		0x30, 0x5d,
		0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x03,
		0x02, 0x01,
		0x30, 0x4f,
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07,
		0x01,
		0xa0, 0x42, 0x04, 0x40,
	};
	unsigned char der[sizeof head + 64], b64[200];
	int n;

	memcpy(der, head, sizeof head);
	memcpy(der + sizeof head, sig, 64);
	der[13] ^= tweak;
	n = EVP_EncodeBlock(b64, der, (int)sizeof der);
	/* split in lines as BIO_f_base64 does */
	buf_add(out, b64, 64);
	buf_addc(out, '\n');
	buf_add(out, b64 + 64, (size_t)n - 64);
	buf_addc(out, '\n');
}

static void
test_authenticode(struct tsa *t)
{
	unsigned char sig[64], *der = NULL;
	struct buf req = {0}, out = {0}, got = {0};
	struct err e = {0};
	EVP_ENCODE_CTX *c = EVP_ENCODE_CTX_new();
	const unsigned char *p;
	PKCS7 *p7 = NULL;
	PKCS7_SIGNER_INFO *si;
	BIO *content = BIO_new(BIO_s_mem());
	char *data = NULL;
	long dlen;
	int n = 0, m = 0;

	memset(sig, 0xa5, sizeof sig);
	mkac(sig, 0, &req);
	is_int(tsa_authenticode_decode((unsigned char *)req.p, req.len, &got,
	    &e), 0, "Authenticode request decoded");
	ok(got.len == 64 && memcmp(got.p, sig, 64) == 0, "the signature to "
	    "countersign");
	is_int(tsa_authenticode(t, (unsigned char *)req.p, req.len, &out, &e),
	    0, "Authenticode answered");
	der = malloc(out.len);
	EVP_DecodeInit(c);
	EVP_DecodeUpdate(c, der, &n, (unsigned char *)out.p, (int)out.len);
	EVP_DecodeFinal(c, der + n, &m);
	p = der;
	p7 = d2i_PKCS7(NULL, &p, n + m);
	ok(p7 && PKCS7_type_is_signed(p7), "base64 PKCS#7 SignedData");
	ok(p7 && PKCS7_verify(p7, NULL, NULL, NULL, content, PKCS7_NOVERIFY)
	    == 1, "signature verifies over the content");
	dlen = BIO_get_mem_data(content, &data);
	ok(dlen == 64 && memcmp(data, sig, 64) == 0, "content is the "
	    "countersigned signature");
	si = p7 ? sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0) :
	    NULL;
	ok(si && PKCS7_get_signed_attribute(si, NID_pkcs9_signingTime),
	    "signingTime");
	ok(si && PKCS7_get_signed_attribute(si, NID_pkcs9_messageDigest),
	    "messageDigest");
	is_int(p7 ? sk_X509_num(p7->d.sign->cert) : 0, 2, "TSA certificate "
	    "and chain attached");
	PKCS7_free(p7);
	free(der);

	buf_reset(&req);
	mkac(sig, 1, &req);
	is_int(tsa_authenticode(t, (unsigned char *)req.p, req.len, &out, &e),
	    EX_DATAERR, "another countersignature type: %s", err_str(&e));
	is_int(tsa_authenticode(t, (unsigned char *)"!!!!", 4, &out, &e),
	    EX_DATAERR, "not base64: %s", err_str(&e));
	is_int(tsa_authenticode(t, (unsigned char *)"MAA=", 4, &out, &e),
	    EX_DATAERR, "empty SEQUENCE: %s", err_str(&e));
	is_int(tsa_authenticode(t, (unsigned char *)"", 0, &out, &e),
	    EX_DATAERR, "empty body: %s", err_str(&e));
	BIO_free(content);
	EVP_ENCODE_CTX_free(c);
	buf_free(&req);
	buf_free(&out);
	buf_free(&got);
	err_free(&e);
}

/* The handler: content type picks the protocol. */
static void
test_http(struct tsa *t)
{
	static const struct {
		const char *what, *ct, *body;
		int want;
		const char *want_ct;
	} v[] = {
		{ "query", "application/timestamp-query", "Q", 200,
		  "application/timestamp-reply" },
		{ "query, any case", "Application/TimeStamp-Query", "Q", 200,
		  "application/timestamp-reply" },
		{ "garbage query: a rejection", "application/timestamp-query",
		  "garbage", 200, "application/timestamp-reply" },
		{ "Authenticode", "application/octet-stream", "A", 200,
		  "application/octet-stream" },
		{ "garbage Authenticode", "application/octet-stream", "!!",
		  400, "text/plain" },
		{ "another type", "text/plain", "Q", 415, "text/plain" },
		{ "no type", NULL, "Q", 415, "text/plain" },
	};
	TS_REQ *r = mkreq(EVP_sha256(), 0, 99, 1, NULL);
	unsigned char *q = NULL, sig[64];
	struct buf ac = {0};
	struct http_req req;
	struct http_resp rs;
	size_t i;
	int qlen = i2d_TS_REQ(r, &q), code;

	memset(sig, 0x5a, sizeof sig);
	mkac(sig, 0, &ac);
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		memset(&req, 0, sizeof req);
		memset(&rs, 0, sizeof rs);
		req.method = "POST";
		req.path = req.target = req.route = "/";
		req.rest = "";
		req.peer = "127.0.0.1:1";
		req.content_type = v[i].ct;
		if (strcmp(v[i].body, "Q") == 0) {
			req.body = q;
			req.body_len = (size_t)qlen;
		} else if (strcmp(v[i].body, "A") == 0) {
			req.body = (unsigned char *)ac.p;
			req.body_len = ac.len;
		} else {
			req.body = (const unsigned char *)v[i].body;
			req.body_len = strlen(v[i].body);
		}
		code = tsa_http(&req, &rs, t);
		is_int(code, v[i].want, "http %s: status", v[i].what);
		is_str(rs.content_type, v[i].want_ct, "http %s: type",
		    v[i].what);
		ok(rs.body.len > 0, "http %s: a body", v[i].what);
		http_resp_free(&rs);
	}
	OPENSSL_free(q);
	buf_free(&ac);
	TS_REQ_free(r);
}

static void
test_accuracy_parse(void)
{
	static const struct {
		const char *s;
		int rc;
		int64_t ms;
	} v[] = {
		{ "0", 0, 0 }, { "250ms", 0, 250 }, { "1s", 0, 1000 },
		{ "1500ms", 0, 1500 }, { "3600s", 0, 3600000 },
		{ "3601s", EX_DATAERR, 0 }, { "250", EX_DATAERR, 0 },
		{ "ms", EX_DATAERR, 0 }, { "-1s", EX_DATAERR, 0 },
		{ "1.5s", EX_DATAERR, 0 }, { "", EX_DATAERR, 0 },
	};
	struct err e = {0};
	int64_t ms;
	size_t i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		ms = -1;
		is_int(tsa_accuracy_parse("accuracy", v[i].s, &ms, &e),
		    v[i].rc, "accuracy '%s'", v[i].s);
		if (v[i].rc == 0)
			is_int(ms, v[i].ms, "accuracy '%s' in ms", v[i].s);
	}
	err_free(&e);
}

int
main(void)
{
	struct tsa *t;

	if (!ok(setup(), "test CA and TSA certificate"))
		return tap_done();
	t = mktsa(250);
	if (ok(t != NULL, "TSA set up")) {
		test_token(t);
		test_rejections(t);
		test_garbage(t);
		test_reply_text(t);
		test_authenticode(t);
		test_http(t);
	}
	tsa_free(t);
	test_gentime();
	test_config();
	test_not_tsa();
	test_accuracy_parse();
	X509_free(ca_cert);
	X509_free(tsa_cert);
	X509_free(web_cert);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(tsa_key);
	return tap_done();
}
