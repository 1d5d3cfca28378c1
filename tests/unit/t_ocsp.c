/* t_ocsp - OCSP requests, responses, the store and the front end's
 * answers, against OpenSSL's own reading of what is built. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/ocsp.h>
#include "fs.h"
#include "keys.h"
#include "ocsp.h"
#include "tap.h"
#include "x509.h"

static X509 *ca, *resp;
static EVP_PKEY *ca_key, *resp_key;

static X509 *
mk(const char *cn, EVP_PKEY *k, X509 *issuer, EVP_PKEY *ik, int isca,
    const char *eku)
{
	struct x509_subject s = { .cn = cn };
	struct x509_issue in = {0};
	struct err e = {0};
	X509_NAME *n = NULL;
	X509 *x = NULL;

	x509_name_build(&s, &n, &e);
	in.subject = n;
	in.pubkey = k;
	in.issuer = issuer;
	in.issuer_key = ik;
	in.digest = "sha256";
	in.not_before = time(NULL) - 3600;
	in.not_after = time(NULL) + 86400 * 30;
	in.ca = isca;
	in.path_len = -1;
	in.ku = isca ? KU_KEY_CERT_SIGN | KU_CRL_SIGN : KU_DIGITAL_SIGNATURE;
	in.eku = eku;
	if (x509_issue(&in, &x, NULL, &e) != 0)
		printf("# issue %s: %s\n", cn, err_str(&e));
	X509_NAME_free(n);
	err_free(&e);
	return x;
}

/* A DER request for serial under ca with md, and a nonce of nlen
 * octets (0: none). */
static void
mkreq(const EVP_MD *md, const char *serial, int nlen, struct buf *out)
{
	OCSP_REQUEST *r = OCSP_REQUEST_new();
	OCSP_CERTID *id = NULL;
	struct err e = {0};
	unsigned char *der = NULL, nonce[64];
	int len;

	memset(nonce, 7, sizeof nonce);
	ocsp_certid(ca, md, serial, &id, &e);
	OCSP_request_add0_id(r, id);
	if (nlen > 0)
		OCSP_request_add1_nonce(r, nonce, nlen);
	len = i2d_OCSP_REQUEST(r, &der);
	buf_reset(out);
	buf_add(out, der, (size_t)len);
	OPENSSL_free(der);
	OCSP_REQUEST_free(r);
	err_free(&e);
}

static void
test_parse(void)
{
	static const struct {
		const char *what;
		int sha256, nonce, cut;
		int want;
	} t[] = {
		{ "SHA-1 CertID, no nonce", 0, 0, 0, 0 },
		{ "SHA-256 CertID, 16-octet nonce", 1, 16, 0, 0 },
		{ "nonce of 1 octet", 0, 1, 0, 0 },
		{ "nonce of 32 octets", 0, 32, 0, 0 },
		{ "nonce of 33 octets", 0, 33, 0, EX_DATAERR },
		{ "truncated by one byte", 0, 0, 1, EX_DATAERR },
		{ "truncated by half", 0, 16, 40, EX_DATAERR },
	};
	struct ocsp_query q;
	struct err e = {0};
	struct buf b = {0};
	size_t i;
	int rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		mkreq(t[i].sha256 ? EVP_sha256() : EVP_sha1(), "1a2b",
		    t[i].nonce, &b);
		rc = ocsp_query_parse(b.p, b.len - (size_t)t[i].cut, &q, &e);
		is_int(rc, t[i].want, "parse: %s", t[i].what);
		if (rc == 0) {
			is_int(q.nonce, t[i].nonce > 0, "  nonce seen");
			is_str(q.key.serial, "1a2b", "  serial");
			ok(strncmp(q.key.dir, t[i].sha256 ? "sha256/" : "sha1/",
			    t[i].sha256 ? 7 : 5) == 0 &&
			    strlen(q.key.dir) == (t[i].sha256 ? 7 + 129u :
			    5 + 81u), "  store directory %s", q.key.dir);
		} else
			ok(strchr(err_str(&e), '\n') == NULL &&
			    err_str(&e)[0] != '\0', "  one-line error: %s",
			    err_str(&e));
		ocsp_query_free(&q);
		err_free(&e);
	}
	mkreq(EVP_sha384(), "1a2b", 0, &b);
	is_int(ocsp_query_parse(b.p, b.len, &q, &e), EX_DATAERR,
	    "parse: a SHA-384 CertID is not stored");
	err_free(&e);
	mkreq(EVP_sha1(), "1a2b", 0, &b);
	buf_addc(&b, 0);
	is_int(ocsp_query_parse(b.p, b.len, &q, &e), EX_DATAERR,
	    "parse: a byte after the request");
	err_free(&e);
	is_int(ocsp_query_parse("", 0, &q, &e), EX_DATAERR, "parse: empty");
	err_free(&e);
	buf_free(&b);
}

static void
test_sign(void)
{
	struct ocsp_signer s = { resp, resp_key, ca };
	struct ocsp_status st = { V_OCSP_CERTSTATUS_REVOKED, 1700000000, 1,
	    1690000000 };
	struct ocsp_stored got;
	OCSP_CERTID *id = NULL;
	OCSP_RESPONSE *r;
	OCSP_BASICRESP *bs;
	STACK_OF(X509) *trust = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	struct err e = {0};
	struct buf der = {0};
	const unsigned char *p;
	const ASN1_OCTET_STRING *kid = NULL;
	const X509_NAME *byname = NULL;
	unsigned char kh[SHA_DIGEST_LENGTH];
	unsigned int khl = 0;
	time_t now = time(NULL);

	ocsp_certid(ca, EVP_sha1(), "ff01", &id, &e);
	is_int(ocsp_sign(&s, &id, &st, 1, now, now + 7 * 86400, NULL, 0,
	    &der, &e), 0, "sign: a revoked status");
	p = (const unsigned char *)der.p;
	r = d2i_OCSP_RESPONSE(NULL, &p, (long)der.len);
	bs = r ? OCSP_response_get1_basic(r) : NULL;
	X509_STORE_add_cert(store, ca);
	is_int(bs ? OCSP_basic_verify(bs, NULL, store, 0) : -1, 1,
	    "sign: OpenSSL verifies the delegated signature");
	OCSP_resp_get0_id(bs, &kid, &byname);
	X509_pubkey_digest(resp, EVP_sha1(), kh, &khl);
	ok(kid && byname == NULL && ASN1_STRING_length(kid) == (int)khl &&
	    memcmp(ASN1_STRING_get0_data(kid), kh, khl) == 0,
	    "sign: responder ID is the SHA-1 of the key's BIT STRING");
	is_int(ocsp_stored_read(der.p, der.len, &got, &e), 0, "read it back");
	is_int(got.st.status, V_OCSP_CERTSTATUS_REVOKED, "  revoked");
	is_int(got.st.revoked_at, 1700000000, "  revocation time");
	is_int(got.st.reason, 1, "  reason keyCompromise");
	is_int(got.st.invalid_since, 1690000000, "  invalidity date");
	is_int(got.this_update, now, "  thisUpdate");
	is_int(got.next_update, now + 7 * 86400, "  nextUpdate");
	is_int(ocsp_stored_by(der.p, der.len, resp), 1,
	    "stored_by: the signer that made it");
	is_int(ocsp_stored_by(der.p, der.len, ca), 0, "stored_by: not another");
	ocsp_error(OCSP_RESPONSE_STATUS_UNAUTHORIZED, &der);
	is_int(ocsp_status_of(der.p, der.len),
	    OCSP_RESPONSE_STATUS_UNAUTHORIZED,
	    "an unauthorized response reads as such");
	is_int(ocsp_stored_read(der.p, der.len, &got, &e), EX_DATAERR,
	    "and is no stored response");
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(r);
	sk_X509_free(trust);
	X509_STORE_free(store);
	buf_free(&der);
	err_free(&e);
}

/* The store and the front end's answers without a live signer. */
static void
test_store(void)
{
	char root[] = "/tmp/t_ocsp.XXXXXX";
	struct ocsp_signer s = { resp, resp_key, ca };
	struct ocsp_status good = { V_OCSP_CERTSTATUS_GOOD, 0, -1, 0 };
	struct ocsp_front f;
	struct ocsp_answer a;
	struct ocsp_query q;
	struct ocsp_store st;
	OCSP_CERTID *id = NULL;
	struct err e = {0};
	struct buf req = {0}, der = {0}, path = {0};
	time_t now = time(NULL);

	if (mkdtemp(root) == NULL)
		return;
	mkreq(EVP_sha256(), "c0ffee", 0, &req);
	ocsp_query_parse(req.p, req.len, &q, &e);
	ocsp_certid(ca, EVP_sha256(), "c0ffee", &id, &e);
	ocsp_sign(&s, &id, &good, 1, now, now + 3600, NULL, 0, &der, &e);
	buf_printf(&path, "%s/%s", root, q.key.dir);
	fs_mkdirs(path.p, 0755, &e);
	is_int(ocsp_store_open(root, &st, &e), 0, "store: open");
	ocsp_front_init(&f, st.fd, NULL);
	ocsp_answer(&f, req.p, req.len, now, &a);
	is_int(a.status, OCSP_RESPONSE_STATUS_TRYLATER,
	    "answer: known issuer, no response, no live signer: tryLater");
	ocsp_answer_free(&a);
	buf_printf(&path, "/%s.der", q.key.serial);
	fs_write_atomic(path.p, der.p, der.len, 0644, &e);
	ocsp_answer(&f, req.p, req.len, now, &a);
	ok(a.status == 0 && a.stored && a.der.len == der.len &&
	    memcmp(a.der.p, der.p, der.len) == 0,
	    "answer: the stored response, as stored");
	is_int(a.next_update, now + 3600, "  its nextUpdate for caching");
	ocsp_answer_free(&a);
	ocsp_answer(&f, req.p, req.len, now + 3600, &a);
	is_int(a.status, OCSP_RESPONSE_STATUS_TRYLATER,
	    "answer: a stale stored response is not served");
	ocsp_answer_free(&a);
	/* the front end remembers the last response it read: a file
	 * replaced under it must still be what the next answer is */
	buf_reset(&der);
	ocsp_sign(&s, &id, &good, 1, now, now + 7200, NULL, 0, &der, &e);
	fs_write_atomic(path.p, der.p, der.len, 0644, &e);
	ocsp_answer(&f, req.p, req.len, now + 3600, &a);
	ok(a.status == 0 && a.stored && a.der.len == der.len &&
	    memcmp(a.der.p, der.p, der.len) == 0,
	    "answer: a replaced stored response is read again, same request");
	is_int(a.next_update, now + 7200, "  with its own nextUpdate");
	ocsp_answer_free(&a);
	mkreq(EVP_sha1(), "c0ffee", 0, &req);
	ocsp_answer(&f, req.p, req.len, now, &a);
	is_int(a.status, OCSP_RESPONSE_STATUS_UNAUTHORIZED,
	    "answer: an issuer not in the store: unauthorized");
	ocsp_answer_free(&a);
	ocsp_answer(&f, req.p, req.len / 2, now, &a);
	is_int(a.status, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
	    "answer: truncated: malformedRequest");
	ocsp_answer_free(&a);
	ocsp_front_close(&f);
	ocsp_store_close(&st);
	ocsp_query_free(&q);
	OCSP_CERTID_free(id);
	unlink(path.p);
	buf_reset(&path);
	buf_printf(&path, "rm -rf '%s'", root);
	if (system(path.p) != 0)
		printf("# cannot remove %s\n", root);
	buf_free(&req);
	buf_free(&der);
	buf_free(&path);
	err_free(&e);
}

static void
test_frames(void)
{
	struct err e = {0};
	struct buf b = {0};
	int p[2];

	if (pipe(p) != 0)
		return;
	ocsp_frame_write(p[1], "abc", 3, &e);
	ocsp_frame_write(p[1], "", 0, &e);
	is_int(write(p[1], "\0\0\1\0x", 5), 5, "frame: 256 announced, 1 sent");
	close(p[1]);
	is_int(ocsp_frame_read(p[0], 100, &b, &e), 0, "frame: read");
	is_str(b.p, "abc", "  its bytes");
	is_int(ocsp_frame_read(p[0], 100, &b, &e), 0, "frame: empty");
	is_int((long long)b.len, 0, "  no bytes");
	is_int(ocsp_frame_read(p[0], 100, &b, &e), EX_DATAERR,
	    "frame: over the cap");
	close(p[0]);
	if (pipe(p) != 0)
		return;
	is_int(write(p[1], "\0\0\0\5ab", 6), 6, "frame: 5 announced, 2 sent");
	close(p[1]);
	is_int(ocsp_frame_read(p[0], 100, &b, &e), EX_IOERR,
	    "frame: truncated");
	is_int(ocsp_frame_read(p[0], 100, &b, &e), 1, "frame: end of input");
	close(p[0]);
	buf_free(&b);
	err_free(&e);
}

int
main(void)
{
	struct err e = {0};

	keys_generate(keys_alg("ec-256"), &ca_key, &e);
	keys_generate(keys_alg("ec-256"), &resp_key, &e);
	ca = mk("Unit CA", ca_key, NULL, ca_key, 1, NULL);
	resp = mk("Unit OCSP", resp_key, ca, ca_key, 0, "OCSPSigning");
	if (ca == NULL || resp == NULL)
		return 1;
	test_parse();
	test_sign();
	test_store();
	test_frames();
	X509_free(ca);
	X509_free(resp);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(resp_key);
	err_free(&e);
	return tap_done();
}
