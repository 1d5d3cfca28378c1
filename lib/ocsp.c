/* ocsp - requests, responses and the pre-signed store (see ocsp.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include "fs.h"
#include "keys.h"
#include "ocsp.h"

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Lower-case hex of a positive serial, like x509_serial_hex; "" for
 * zero and negative numbers, which no certificate here carries. */
static int
serial_hex(const ASN1_INTEGER *a, char *out, size_t cap, struct err *e)
{
	BIGNUM *bn = NULL;
	char *h = NULL, *p;
	int rc = 0;

	out[0] = '\0';
	if (ASN1_STRING_length(a) > (int)(cap - 1) / 2)
		return err_set(e, EX_DATAERR, "serial number too long");
	if (ASN1_STRING_type(a) == V_ASN1_NEG_INTEGER)
		return 0;
	if ((bn = ASN1_INTEGER_to_BN(a, NULL)) == NULL ||
	    (h = BN_bn2hex(bn)) == NULL) {
		rc = err_ssl(e, EX_DATAERR, "serial number");
		goto out;
	}
	if (BN_is_zero(bn) || strlen(h) >= cap)
		goto out;
	for (p = h; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	memcpy(out, h, strlen(h) + 1);
out:
	OPENSSL_free(h);
	BN_free(bn);
	return rc;
}

int
ocsp_key_of(OCSP_CERTID *id, struct ocsp_key *k, struct err *e)
{
	ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
	ASN1_OBJECT *md = NULL;
	ASN1_INTEGER *serial = NULL;
	const char *alg;
	int nid, want;

	memset(k, 0, sizeof *k);
	if (!OCSP_id_get0_info(&nh, &md, &kh, &serial, id))
		return err_set(e, EX_DATAERR, "CertID: cannot read it");
	nid = OBJ_obj2nid(md);
	if (nid == NID_sha1) {
		alg = "sha1";
		want = 20;
	} else if (nid == NID_sha256) {
		alg = "sha256";
		want = 32;
	} else
		return err_set(e, EX_DATAERR, "CertID: hash algorithm not "
		    "supported (SHA-1 and SHA-256 are)");
	if (ASN1_STRING_length(nh) != want || ASN1_STRING_length(kh) != want)
		return err_set(e, EX_DATAERR, "CertID: issuer hashes are not "
		    "%d octets", want);
	memcpy(k->dir, alg, strlen(alg));
	k->dir[strlen(alg)] = '/';
	hex(ASN1_STRING_get0_data(nh), (size_t)want, k->dir + strlen(alg) + 1);
	k->dir[strlen(alg) + 1 + 2 * want] = '-';
	hex(ASN1_STRING_get0_data(kh), (size_t)want,
	    k->dir + strlen(alg) + 2 + 2 * want);
	return serial_hex(serial, k->serial, sizeof k->serial, e);
}

/* RFC 8954: the nonce extension's value is an OCTET STRING of 1 to 32
 * octets, wrapped in the extension's own OCTET STRING. */
static int
nonce_check(OCSP_REQUEST *req, int *has, struct err *e)
{
	ASN1_OCTET_STRING *inner = NULL;
	const ASN1_OCTET_STRING *v;
	const unsigned char *p;
	X509_EXTENSION *x;
	int i, n, rc = 0;

	*has = 0;
	if ((i = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce,
	    -1)) < 0)
		return 0;
	if (OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, i) >= 0)
		return err_set(e, EX_DATAERR, "nonce: given twice");
	x = OCSP_REQUEST_get_ext(req, i);
	v = X509_EXTENSION_get_data(x);
	p = ASN1_STRING_get0_data(v);
	n = ASN1_STRING_length(v);
	if ((inner = d2i_ASN1_OCTET_STRING(NULL, &p, n)) == NULL ||
	    p != ASN1_STRING_get0_data(v) + n)
		rc = err_set(e, EX_DATAERR, "nonce: not an OCTET STRING");
	else if (ASN1_STRING_length(inner) < 1 ||
	    ASN1_STRING_length(inner) > OCSP_MAX_NONCE)
		rc = err_set(e, EX_DATAERR, "nonce: %d octets (1 to %d "
		    "allowed)", ASN1_STRING_length(inner), OCSP_MAX_NONCE);
	else
		*has = 1;
	ASN1_OCTET_STRING_free(inner);
	return rc;
}

/* RFC 6960 4.1.2: a signed request names its requestor and is signed
 * with the key of a certificate it carries. Checked against that
 * certificate only (no chain: see ocsp(1) BUGS). EX_DATAERR without a
 * requestorName (malformedRequest), EX_NOPERM when the signature does
 * not verify or no certificate carries the name (unauthorized). */
static int
signature_check(OCSP_REQUEST *req, int *sig, struct err *e)
{
	unsigned long why;

	*sig = 0;
	if (!OCSP_request_is_signed(req))
		return 0;
	if (OCSP_request_verify(req, NULL, NULL, OCSP_NOVERIFY) == 1) {
		*sig = 1;
		return 0;
	}
	why = ERR_peek_last_error();
	if (ERR_GET_LIB(why) == ERR_LIB_OCSP && ERR_GET_REASON(why) ==
	    OCSP_R_UNSUPPORTED_REQUESTORNAME_TYPE)
		return err_ssl(e, EX_DATAERR, "request: signed, but no "
		    "requestorName directory name");
	return err_ssl(e, EX_NOPERM, "request: its signature does not "
	    "verify");
}

int
ocsp_query_parse(const void *der, size_t len, struct ocsp_query *q,
    struct err *e)
{
	const unsigned char *p = der;
	struct ocsp_key k;
	int i, rc = 0;

	memset(q, 0, sizeof *q);
	if (len == 0 || len > OCSP_MAX_REQUEST)
		return err_set(e, EX_DATAERR, "request: %zu bytes (1 to %d "
		    "allowed)", len, OCSP_MAX_REQUEST);
	if ((q->req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL) {
		rc = err_ssl(e, EX_DATAERR, "request: not an OCSPRequest");
		goto out;
	}
	if (p != (const unsigned char *)der + len) {
		rc = err_set(e, EX_DATAERR, "request: bytes after the "
		    "OCSPRequest");
		goto out;
	}
	q->n = OCSP_request_onereq_count(q->req);
	if (q->n < 1 || q->n > OCSP_MAX_IDS) {
		rc = err_set(e, EX_DATAERR, "request: %d CertIDs (1 to %d "
		    "allowed)", q->n, OCSP_MAX_IDS);
		goto out;
	}
	for (i = 0; i < q->n && rc == 0; i++)
		rc = ocsp_key_of(OCSP_onereq_get0_id(OCSP_request_onereq_get0(
		    q->req, i)), i == 0 ? &q->key : &k, e);
	if (rc == 0)
		rc = nonce_check(q->req, &q->nonce, e);
	if (rc == 0)
		rc = signature_check(q->req, &q->sig, e);
out:
	if (rc != 0) {
		ocsp_query_free(q);
		ERR_clear_error();
	}
	return rc;
}

void
ocsp_query_free(struct ocsp_query *q)
{
	OCSP_REQUEST_free(q->req);
	memset(q, 0, sizeof *q);
}

void
ocsp_signer_free(struct ocsp_signer *s)
{
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	X509_free(s->issuer);
	memset(s, 0, sizeof *s);
}

int
ocsp_certid(X509 *issuer, const EVP_MD *md, const char *serial,
    OCSP_CERTID **out, struct err *e)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	int rc = 0;

	*out = NULL;
	if (BN_hex2bn(&bn, serial) != (int)strlen(serial) ||
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		rc = err_ssl(e, EX_DATAERR, "serial %s: not hex", serial);
	else if ((*out = OCSP_cert_id_new(md, X509_get_subject_name(issuer),
	    X509_get0_pubkey_bitstr(issuer), ai)) == NULL)
		rc = err_ssl(e, EX_SOFTWARE, "serial %s: CertID", serial);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return rc;
}

/* One SingleResponse into bs. */
static int
add_single(OCSP_BASICRESP *bs, OCSP_CERTID *id, const struct ocsp_status *st,
    ASN1_TIME *thisupd, ASN1_TIME *nextupd, struct err *e)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *inv = NULL;
	OCSP_SINGLERESP *one;
	int rc = 0, reason = -1;

	if (st->status == V_OCSP_CERTSTATUS_REVOKED) {
		rev = ASN1_GENERALIZEDTIME_set(NULL, st->revoked_at);
		reason = st->reason;
	}
	one = OCSP_basic_add1_status(bs, id, st->status, reason, rev, thisupd,
	    nextupd);
	if (one == NULL)
		rc = err_ssl(e, EX_SOFTWARE, "response: add a status");
	else if (rev && st->invalid_since != 0 &&
	    ((inv = ASN1_GENERALIZEDTIME_set(NULL, st->invalid_since)) ==
	    NULL || !OCSP_SINGLERESP_add1_ext_i2d(one, NID_invalidity_date,
	    inv, 0, 0)))
		rc = err_ssl(e, EX_SOFTWARE, "response: invalidityDate");
	ASN1_GENERALIZEDTIME_free(rev);
	ASN1_GENERALIZEDTIME_free(inv);
	return rc;
}

/* id-pkix-ocsp-extended-revoke (RFC 6960 4.4.8): NULL, not critical */
static int
extended_revoke(OCSP_BASICRESP *bs)
{
	static const unsigned char null[] = { 0x05, 0x00 };
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.48.1.9", 1);
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	X509_EXTENSION *x = NULL;
	int ok = oid && v && ASN1_OCTET_STRING_set(v, null, sizeof null) &&
	    (x = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, v)) != NULL &&
	    OCSP_BASICRESP_add_ext(bs, x, -1);

	X509_EXTENSION_free(x);
	ASN1_OCTET_STRING_free(v);
	ASN1_OBJECT_free(oid);
	return ok;
}

int
ocsp_sign(const struct ocsp_signer *s, OCSP_CERTID *const *ids,
    const struct ocsp_status *st, size_t n, time_t now, time_t next,
    OCSP_REQUEST *req, unsigned flags, struct buf *der, struct err *e)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *thisupd = NULL, *nextupd = NULL;
	unsigned char *out = NULL;
	const EVP_MD *md;
	size_t i;
	int rc = 0, len;

	thisupd = ASN1_GENERALIZEDTIME_set(NULL, now);
	if (next != 0)
		nextupd = ASN1_GENERALIZEDTIME_set(NULL, next);
	if (bs == NULL || thisupd == NULL || (next != 0 && nextupd == NULL)) {
		rc = err_ssl(e, EX_SOFTWARE, "response: allocate");
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = add_single(bs, ids[i], &st[i], thisupd, nextupd, e);
	if (rc != 0)
		goto out;
	if (req && OCSP_copy_nonce(bs, req) == 0) {
		rc = err_ssl(e, EX_SOFTWARE, "response: copy the nonce");
		goto out;
	}
	if ((flags & OCSP_EXTENDED_REVOKE) && !extended_revoke(bs)) {
		rc = err_ssl(e, EX_SOFTWARE, "response: extended revoke");
		goto out;
	}
	/* EdDSA signs the message itself: no separate digest */
	md = keys_is_eddsa(s->key) ? NULL : EVP_sha256();
	if (!OCSP_basic_sign(bs, s->cert, s->key, md, NULL, OCSP_RESPID_KEY) ||
	    (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    bs)) == NULL || (len = i2d_OCSP_RESPONSE(resp, &out)) <= 0) {
		rc = err_ssl(e, EX_SOFTWARE, "response: sign");
		goto out;
	}
	buf_reset(der);
	buf_add(der, out, (size_t)len);
out:
	OPENSSL_free(out);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	return rc;
}

void
ocsp_error(int status, struct buf *der)
{
	OCSP_RESPONSE *r = OCSP_response_create(status, NULL);
	unsigned char *out = NULL;
	int len;

	buf_reset(der);
	if (r == NULL || (len = i2d_OCSP_RESPONSE(r, &out)) <= 0) {
		/* SEQUENCE { ENUMERATED status }: what i2d makes */
		unsigned char fixed[] = { 0x30, 0x03, 0x0a, 0x01, 0 };

		fixed[4] = (unsigned char)status;
		buf_add(der, fixed, sizeof fixed);
	} else
		buf_add(der, out, (size_t)len);
	OPENSSL_free(out);
	OCSP_RESPONSE_free(r);
}

int
ocsp_status_of(const void *der, size_t len)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	int st = r ? OCSP_response_status(r) :
	    OCSP_RESPONSE_STATUS_INTERNALERROR;

	OCSP_RESPONSE_free(r);
	ERR_clear_error();
	return st;
}

static time_t
gentime(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return timegm(&tm);
}

/*
 * A stored response is read on every lookup, for its times. OCSP's own
 * d2i decodes the certificates in it, and OpenSSL 3.0 decodes their
 * public keys through its decoders at ~0.7 ms each; these templates
 * (RFC 6960 section 4.2.1) leave the certificates as one undecoded
 * ANY, the way lib/spki.c reads requests.
 */
typedef struct {
	ASN1_OBJECT *type;
	ASN1_OCTET_STRING *response;
} RAW_BYTES;

typedef struct {
	ASN1_ENUMERATED *status;
	RAW_BYTES *bytes;
} RAW_RESP;

typedef struct {
	ASN1_INTEGER *version;
	OCSP_RESPID *rid;
	ASN1_GENERALIZEDTIME *produced;
	STACK_OF(OCSP_SINGLERESP) *responses;
	STACK_OF(X509_EXTENSION) *exts;
} RAW_DATA;

typedef struct {
	RAW_DATA *tbs;
	X509_ALGOR *alg;
	ASN1_BIT_STRING *sig;
	ASN1_TYPE *certs;
} RAW_BASIC;

ASN1_SEQUENCE(RAW_BYTES) = {
	ASN1_SIMPLE(RAW_BYTES, type, ASN1_OBJECT),
	ASN1_SIMPLE(RAW_BYTES, response, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(RAW_BYTES)

ASN1_SEQUENCE(RAW_RESP) = {
	ASN1_SIMPLE(RAW_RESP, status, ASN1_ENUMERATED),
	ASN1_EXP_OPT(RAW_RESP, bytes, RAW_BYTES, 0),
} static_ASN1_SEQUENCE_END(RAW_RESP)

ASN1_SEQUENCE(RAW_DATA) = {
	ASN1_EXP_OPT(RAW_DATA, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(RAW_DATA, rid, OCSP_RESPID),
	ASN1_SIMPLE(RAW_DATA, produced, ASN1_GENERALIZEDTIME),
	ASN1_SEQUENCE_OF(RAW_DATA, responses, OCSP_SINGLERESP),
	ASN1_EXP_SEQUENCE_OF_OPT(RAW_DATA, exts, X509_EXTENSION, 1),
} static_ASN1_SEQUENCE_END(RAW_DATA)

ASN1_SEQUENCE(RAW_BASIC) = {
	ASN1_SIMPLE(RAW_BASIC, tbs, RAW_DATA),
	ASN1_SIMPLE(RAW_BASIC, alg, X509_ALGOR),
	ASN1_SIMPLE(RAW_BASIC, sig, ASN1_BIT_STRING),
	ASN1_EXP_OPT(RAW_BASIC, certs, ASN1_ANY, 0),
} static_ASN1_SEQUENCE_END(RAW_BASIC)

/* The first SingleResponse of a successful basic response (owned by
 * *bs, which the caller frees). */
static OCSP_SINGLERESP *
first_single(const void *der, size_t len, RAW_BASIC **bs)
{
	const unsigned char *p = der, *q;
	RAW_RESP *r;
	OCSP_SINGLERESP *one = NULL;
	long n;

	*bs = NULL;
	r = (RAW_RESP *)ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(RAW_RESP));
	if (r == NULL || p != (const unsigned char *)der + len ||
	    ASN1_ENUMERATED_get(r->status) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    r->bytes == NULL ||
	    OBJ_obj2nid(r->bytes->type) != NID_id_pkix_OCSP_basic)
		goto out;
	q = ASN1_STRING_get0_data(r->bytes->response);
	n = ASN1_STRING_length(r->bytes->response);
	*bs = (RAW_BASIC *)ASN1_item_d2i(NULL, &q, n,
	    ASN1_ITEM_rptr(RAW_BASIC));
	if (*bs && q == ASN1_STRING_get0_data(r->bytes->response) + n)
		one = sk_OCSP_SINGLERESP_value((*bs)->tbs->responses, 0);
out:
	ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(RAW_RESP));
	return one;
}

int
ocsp_stored_read(const void *der, size_t len, struct ocsp_stored *out,
    struct err *e)
{
	RAW_BASIC *bs = NULL;
	OCSP_SINGLERESP *one;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	ASN1_GENERALIZEDTIME *inv = NULL;
	int rc = 0, reason = -1;

	memset(out, 0, sizeof *out);
	if ((one = first_single(der, len, &bs)) == NULL) {
		rc = err_set(e, EX_DATAERR, "not a successful OCSP response");
		goto out;
	}
	out->st.status = OCSP_single_get0_status(one, &reason, &rev, &thisupd,
	    &nextupd);
	out->st.reason = reason >= 0 ? reason : -1;
	out->st.revoked_at = gentime(rev);
	out->this_update = gentime(thisupd);
	out->next_update = gentime(nextupd);
	if ((inv = OCSP_SINGLERESP_get1_ext_d2i(one, NID_invalidity_date, NULL,
	    NULL)) != NULL)
		out->st.invalid_since = gentime(inv);
out:
	ASN1_GENERALIZEDTIME_free(inv);
	ASN1_item_free((ASN1_VALUE *)bs, ASN1_ITEM_rptr(RAW_BASIC));
	ERR_clear_error();
	return rc;
}

int
ocsp_stored_by(const void *der, size_t len, X509 *signer)
{
	RAW_BASIC *bs = NULL;
	int yes = first_single(der, len, &bs) != NULL &&
	    OCSP_RESPID_match(bs->tbs->rid, signer) == 1;

	ASN1_item_free((ASN1_VALUE *)bs, ASN1_ITEM_rptr(RAW_BASIC));
	ERR_clear_error();
	return yes;
}

int
ocsp_store_open(const char *root, struct ocsp_store *s, struct err *e)
{
	s->fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->fd < 0)
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "%s: %s", root, strerror(errno));
	return 0;
}

void
ocsp_store_close(struct ocsp_store *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int
ocsp_store_issuer(const struct ocsp_store *s, const struct ocsp_key *k)
{
	struct stat sb;

	return fstatat(s->fd, k->dir, &sb, 0) == 0 && S_ISDIR(sb.st_mode);
}

int
ocsp_store_get(const struct ocsp_store *s, const struct ocsp_key *k,
    struct buf *out, struct err *e)
{
	char path[sizeof k->dir + 1 + sizeof k->serial + 4];
	size_t d = strlen(k->dir), n = strlen(k->serial);
	int fd, rc;

	if (n == 0)
		return ocsp_store_issuer(s, k) ? OCSP_NOSERIAL : OCSP_NOISSUER;
	memcpy(path, k->dir, d);
	path[d] = '/';
	memcpy(path + d + 1, k->serial, n);
	memcpy(path + d + 1 + n, ".der", 5);
	if ((fd = openat(s->fd, path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return ocsp_store_issuer(s, k) ? OCSP_NOSERIAL :
			    OCSP_NOISSUER;
		err_set(e, EX_IOERR, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf_reset(out);
	rc = fs_read_fd(fd, OCSP_MAX_RESPONSE, out, e);
	close(fd);
	if (rc != 0) {
		err_prefix(e, "%s", path);
		return -1;
	}
	return OCSP_HIT;
}

static int
io_all(int fd, void *p, size_t len, int wr)
{
	unsigned char *c = p;
	ssize_t n;

	while (len > 0) {
		n = wr ? write(fd, c, len) : read(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 1 : -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ocsp_frame_write(int fd, const void *p, size_t len, struct err *e)
{
	unsigned char h[4];

	h[0] = (unsigned char)(len >> 24);
	h[1] = (unsigned char)(len >> 16);
	h[2] = (unsigned char)(len >> 8);
	h[3] = (unsigned char)len;
	if (io_all(fd, h, 4, 1) != 0 || io_all(fd, (void *)(uintptr_t)p, len,
	    1) != 0)
		return err_set(e, EX_IOERR, "frame: write: %s",
		    strerror(errno));
	return 0;
}

int
ocsp_frame_read(int fd, size_t max, struct buf *out, struct err *e)
{
	unsigned char h[4];
	size_t len;
	int r;

	buf_reset(out);
	if ((r = io_all(fd, h, 4, 0)) != 0)
		return r > 0 ? 1 : err_set(e, EX_IOERR, "frame: read: %s",
		    strerror(errno));
	len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 |
	    h[3];
	if (len > max)
		return err_set(e, EX_DATAERR, "frame: %zu bytes (at most %zu)",
		    len, max);
	while (len > 0) {
		unsigned char chunk[8192];
		size_t n = len < sizeof chunk ? len : sizeof chunk;

		if ((r = io_all(fd, chunk, n, 0)) != 0)
			return err_set(e, EX_IOERR, "frame: read: %s", r > 0 ?
			    "truncated" : strerror(errno));
		buf_add(out, chunk, n);
		len -= n;
	}
	return 0;
}
