/* tsa - RFC 3161 replies and Authenticode countersignatures (see tsa.h). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include "keys.h"
#include "num.h"
#include "tsa.h"

#define SERIAL_BYTES	16		/* 126 random bits, see serial() */
#define AC_MAX_SIG	(8 * 1024)	/* RSA-16384 signs in 2 KiB */
#define AC_REQ_OID	"1.3.6.1.4.1.311.3.2.1"

struct tsa {
	TS_RESP_CTX *ctx;
	X509 *cert;
	EVP_PKEY *key;
	STACK_OF(X509) *chain;
	const EVP_MD *md;		/* the signature's digest */
};

/*
 * Authenticode's TimeStampRequest (Microsoft, "Time Stamping
 * Authenticode Signatures"), declared with OpenSSL's ASN.1 templates:
 *
 *   TimeStampRequest ::= SEQUENCE {
 *       countersignatureType OBJECT IDENTIFIER,
 *       attributes Attributes OPTIONAL,
 *       content ContentInfo }   -- id-data, [0] EXPLICIT OCTET STRING
 */
typedef struct {
	ASN1_OBJECT *type;
	ASN1_OCTET_STRING *data;
} AC_CONTENT;

typedef struct {
	ASN1_OBJECT *type;
	STACK_OF(X509_ATTRIBUTE) *attrs;
	AC_CONTENT *content;
} AC_REQ;

ASN1_SEQUENCE(AC_CONTENT) = {
	ASN1_SIMPLE(AC_CONTENT, type, ASN1_OBJECT),
	ASN1_EXP(AC_CONTENT, data, ASN1_OCTET_STRING, 0)
} static_ASN1_SEQUENCE_END(AC_CONTENT)

ASN1_SEQUENCE(AC_REQ) = {
	ASN1_SIMPLE(AC_REQ, type, ASN1_OBJECT),
	ASN1_SET_OF_OPT(AC_REQ, attrs, X509_ATTRIBUTE),
	ASN1_SIMPLE(AC_REQ, content, AC_CONTENT)
} static_ASN1_SEQUENCE_END(AC_REQ)

/*
 * A token's serial: SERIAL_BYTES from the CSPRNG, the top bit clear
 * (positive) and the next one set (always the same length). Random, not
 * counted: nothing to persist, so a restart, a second process or a
 * restored backup cannot repeat one (2^-63 for two tokens among 2^32).
 */
static ASN1_INTEGER *
serial(TS_RESP_CTX *ctx, void *arg)
{
	unsigned char b[SERIAL_BYTES];
	ASN1_INTEGER *s = NULL;
	BIGNUM *bn = NULL;

	if (RAND_bytes(b, sizeof b) == 1) {
		b[0] = (b[0] & 0x7f) | 0x40;
		if ((bn = BN_bin2bn(b, sizeof b, NULL)) != NULL)
			s = BN_to_ASN1_INTEGER(bn, NULL);
	}
	BN_free(bn);
	OPENSSL_cleanse(b, sizeof b);
	if (s == NULL) {
		TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION,
		    "Error during serial number generation.");
		TS_RESP_CTX_add_failure_info(ctx, TS_INFO_ADD_INFO_NOT_AVAILABLE);
	}
	return s;
}

/* The digest the TSA signs with: the key's natural one, else SHA-256. */
static const EVP_MD *
sign_md(EVP_PKEY *key)
{
	const struct key_alg *a = keys_alg_of(key);
	const EVP_MD *md = NULL;

	if (a && a->digest)
		md = EVP_get_digestbyname(a->digest);
	return md ? md : EVP_sha256();
}

static int
check(const struct tsa_opts *o, struct err *e)
{
	if (o->cert == NULL || o->key == NULL || o->policy == NULL)
		return err_set(e, EX_SOFTWARE, "TSA: no certificate, key or "
		    "policy");
	if (keys_is_eddsa(o->key))
		return err_set(e, EX_CONFIG, "TSA: an EdDSA key cannot sign "
		    "timestamps (PKCS#7 needs a digest)");
	if (X509_check_private_key(o->cert, o->key) != 1)
		return err_ssl(e, EX_CONFIG, "TSA: the key does not match the "
		    "certificate");
	if (o->accuracy_ms < 0 || o->accuracy_ms > 3600 * 1000)
		return err_set(e, EX_CONFIG, "TSA: accuracy out of range");
	return 0;
}

/* Accuracy and the genTime precision that goes with it. */
static int
accuracy(TS_RESP_CTX *ctx, int64_t ms)
{
	int secs = (int)(ms / 1000), millis = (int)(ms % 1000);

	if (ms == 0)
		return 1;
	if (!TS_RESP_CTX_set_accuracy(ctx, secs, millis, 0))
		return 0;
	return millis == 0 || TS_RESP_CTX_set_clock_precision_digits(ctx, 3);
}

static int
setup(struct tsa *t, const struct tsa_opts *o, struct err *e)
{
	TS_RESP_CTX *ctx = t->ctx;
	ASN1_OBJECT *policy = NULL;
	int rc = 0;

	if ((policy = OBJ_txt2obj(o->policy, 1)) == NULL)
		return err_set(e, EX_CONFIG, "TSA: policy '%s' is not an OID",
		    o->policy);
	if (!TS_RESP_CTX_set_signer_cert(ctx, o->cert))
		rc = err_ssl(e, EX_CONFIG, "TSA: the certificate is not a TSA "
		    "certificate (critical EKU timeStamping only)");
	else if (!TS_RESP_CTX_set_signer_key(ctx, o->key) ||
	    !TS_RESP_CTX_set_signer_digest(ctx, t->md) ||
	    (o->chain && !TS_RESP_CTX_set_certs(ctx, o->chain)) ||
	    !TS_RESP_CTX_set_def_policy(ctx, policy) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha384()) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha512()) ||
	    !TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256()) ||
	    !accuracy(ctx, o->accuracy_ms))
		rc = err_ssl(e, EX_SOFTWARE, "TSA: setup");
	TS_RESP_CTX_set_serial_cb(ctx, serial, NULL);
	ASN1_OBJECT_free(policy);
	return rc;
}

int
tsa_new(const struct tsa_opts *o, struct tsa **out, struct err *e)
{
	struct tsa *t = NULL;
	int rc;

	*out = NULL;
	if ((rc = check(o, e)) != 0)
		return rc;
	t = xcalloc(1, sizeof *t);
	t->md = sign_md(o->key);
	t->cert = o->cert;
	t->key = o->key;
	t->chain = o->chain;
	if ((t->ctx = TS_RESP_CTX_new()) == NULL)
		rc = err_ssl(e, EX_SOFTWARE, "TSA: context");
	else
		rc = setup(t, o, e);
	if (rc != 0) {
		tsa_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void
tsa_free(struct tsa *t)
{
	if (t == NULL)
		return;
	TS_RESP_CTX_free(t->ctx);
	free(t);
}

/* Was the reply a failure of ours rather than of the request? */
static int
system_failure(TS_RESP *r)
{
	const ASN1_BIT_STRING *fi;

	fi = TS_STATUS_INFO_get0_failure_info(TS_RESP_get_status_info(r));
	return fi && ASN1_BIT_STRING_get_bit(fi, TS_INFO_SYSTEM_FAILURE);
}

int
tsa_reply(struct tsa *t, const unsigned char *req, size_t len,
    struct buf *out, int *status, struct err *e)
{
	unsigned char *der = NULL;
	TS_RESP *r = NULL;
	BIO *in;
	int n, rc = 0;

	if (len > INT_MAX)
		len = 0;		/* undecodable either way */
	if ((in = BIO_new_mem_buf(len ? req : (const void *)"", (int)len)) ==
	    NULL || (r = TS_RESP_create_response(t->ctx, in)) == NULL) {
		rc = err_ssl(e, EX_SOFTWARE, "TSA: no reply");
		goto out;
	}
	if ((n = i2d_TS_RESP(r, &der)) <= 0) {
		rc = err_ssl(e, EX_SOFTWARE, "TSA: reply: cannot encode");
		goto out;
	}
	buf_add(out, der, (size_t)n);
	if (status)
		*status = (int)ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(
		    TS_RESP_get_status_info(r)));
	if (system_failure(r))
		rc = err_ssl(e, EX_SOFTWARE, "TSA: token not signed");
out:
	ERR_clear_error();
	OPENSSL_free(der);
	TS_RESP_free(r);
	BIO_free(in);
	return rc;
}

void
tsa_reply_text(const unsigned char *resp, size_t len, struct buf *out)
{
	const unsigned char *p = resp;
	const STACK_OF(ASN1_UTF8STRING) *text;
	const ASN1_UTF8STRING *s;
	TS_RESP *r = NULL;
	size_t before = out->len;
	int i, c;

	if (len <= LONG_MAX && (r = d2i_TS_RESP(NULL, &p, (long)len)) != NULL &&
	    (text = TS_STATUS_INFO_get0_text(TS_RESP_get_status_info(r))))
		for (i = 0; i < sk_ASN1_UTF8STRING_num(text); i++) {
			s = sk_ASN1_UTF8STRING_value(text, i);
			buf_adds(out, i ? " " : "");
			for (c = 0; c < ASN1_STRING_length(s); c++)	/* one line */
				buf_addc(out, (char)(ASN1_STRING_get0_data(s)[c]
				    < 0x20 ? '?' : ASN1_STRING_get0_data(s)[c]));
		}
	if (out->len == before)
		buf_adds(out, "rejected");
	TS_RESP_free(r);
	ERR_clear_error();
}

/* Base64 (lines, blanks and all) into out; EX_DATAERR when it is not. */
static int
unbase64(const unsigned char *s, size_t len, struct buf *out, struct err *e)
{
	EVP_ENCODE_CTX *c = EVP_ENCODE_CTX_new();
	unsigned char *p = NULL;
	int n = 0, m = 0, rc = 0;

	if (c == NULL)
		return err_ssl(e, EX_SOFTWARE, "base64");
	if (len > INT_MAX / 2) {
		rc = err_set(e, EX_DATAERR, "request too large");
		goto out;
	}
	p = xmalloc(len / 4 * 3 + 4);
	EVP_DecodeInit(c);
	if (EVP_DecodeUpdate(c, p, &n, s, (int)len) < 0 ||
	    EVP_DecodeFinal(c, p + n, &m) != 1)
		rc = err_set(e, EX_DATAERR, "request is not base64");
	else
		buf_add(out, p, (size_t)(n + m));
out:
	free(p);
	EVP_ENCODE_CTX_free(c);
	return rc;
}

int
tsa_authenticode_decode(const unsigned char *body, size_t len,
    struct buf *sig, struct err *e)
{
	struct buf der = {0};
	const unsigned char *p;
	AC_REQ *r = NULL;
	ASN1_OBJECT *want = OBJ_txt2obj(AC_REQ_OID, 1);
	int rc;

	if ((rc = unbase64(body, len, &der, e)) != 0)
		goto out;
	p = (const unsigned char *)der.p;
	if (der.len == 0 || der.len > LONG_MAX || (r = (AC_REQ *)
	    ASN1_item_d2i(NULL, &p, (long)der.len, ASN1_ITEM_rptr(AC_REQ))) ==
	    NULL || p != (const unsigned char *)der.p + der.len)
		rc = err_set(e, EX_DATAERR, "request is not an Authenticode "
		    "TimeStampRequest");
	else if (want == NULL || OBJ_cmp(r->type, want) != 0)
		rc = err_set(e, EX_DATAERR, "request: countersignature type "
		    "is not " AC_REQ_OID);
	else if (OBJ_obj2nid(r->content->type) != NID_pkcs7_data)
		rc = err_set(e, EX_DATAERR, "request: content is not id-data");
	else if (r->content->data->length <= 0 ||
	    r->content->data->length > AC_MAX_SIG)
		rc = err_set(e, EX_DATAERR, "request: the signature to "
		    "countersign is empty or too long");
	else
		buf_add(sig, r->content->data->data,
		    (size_t)r->content->data->length);
out:
	ERR_clear_error();
	ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(AC_REQ));
	ASN1_OBJECT_free(want);
	buf_free(&der);
	return rc;
}

/* PKCS#7 SignedData over data: contentType, signingTime, messageDigest
 * signed by the TSA, its certificate and chain attached. */
static int
countersign(struct tsa *t, const struct buf *data, PKCS7 **out,
    struct err *e)
{
	PKCS7_SIGNER_INFO *si;
	PKCS7 *p7 = PKCS7_new();
	BIO *b = NULL;
	int i, ok;

	ok = p7 && PKCS7_set_type(p7, NID_pkcs7_signed) &&
	    (si = PKCS7_add_signature(p7, t->cert, t->key, t->md)) != NULL &&
	    PKCS7_add_signed_attribute(si, NID_pkcs9_contentType,
	    V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data)) &&
	    PKCS7_add0_attrib_signing_time(si, NULL) &&
	    PKCS7_add_certificate(p7, t->cert) &&
	    PKCS7_content_new(p7, NID_pkcs7_data);
	for (i = 0; ok && i < sk_X509_num(t->chain); i++)
		ok = PKCS7_add_certificate(p7, sk_X509_value(t->chain, i));
	ok = ok && (b = PKCS7_dataInit(p7, NULL)) != NULL &&
	    BIO_write(b, data->p, (int)data->len) == (int)data->len &&
	    PKCS7_dataFinal(p7, b);
	BIO_free_all(b);
	if (!ok) {
		PKCS7_free(p7);
		return err_ssl(e, EX_SOFTWARE, "TSA: countersignature");
	}
	*out = p7;
	return 0;
}

int
tsa_authenticode(struct tsa *t, const unsigned char *body, size_t len,
    struct buf *out, struct err *e)
{
	struct buf sig = {0};
	unsigned char *der = NULL, *b64 = NULL;
	PKCS7 *p7 = NULL;
	EVP_ENCODE_CTX *c = NULL;
	int n, m, rc;

	if ((rc = tsa_authenticode_decode(body, len, &sig, e)) != 0 ||
	    (rc = countersign(t, &sig, &p7, e)) != 0)
		goto out;
	if ((n = i2d_PKCS7(p7, &der)) <= 0 ||
	    (c = EVP_ENCODE_CTX_new()) == NULL) {
		rc = err_ssl(e, EX_SOFTWARE, "TSA: countersignature: encode");
		goto out;
	}
	/* 64-column lines, as signtool's servers answer */
	b64 = xmalloc((size_t)n / 48 * 65 + 70);
	EVP_EncodeInit(c);
	if (!EVP_EncodeUpdate(c, b64, &m, der, n)) {
		rc = err_ssl(e, EX_SOFTWARE, "TSA: countersignature: base64");
		goto out;
	}
	buf_add(out, b64, (size_t)m);
	EVP_EncodeFinal(c, b64, &m);
	buf_add(out, b64, (size_t)m);
out:
	ERR_clear_error();
	EVP_ENCODE_CTX_free(c);
	free(b64);
	OPENSSL_free(der);
	PKCS7_free(p7);
	buf_free(&sig);
	return rc;
}

int
tsa_accuracy_parse(const char *what, const char *s, int64_t *ms,
    struct err *e)
{
	size_t n = strlen(s);
	struct buf num = {0};
	uint64_t v = 0, unit = 1000;
	int rc;

	if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
		unit = 1;
		n -= 2;
	} else if (n > 1 && s[n - 1] == 's')
		n--;
	else if (strcmp(s, "0") != 0) {
		return err_set(e, EX_DATAERR, "%s: '%s': want a number with "
		    "'ms' or 's' (250ms, 1s)", what, s);
	}
	buf_add(&num, s, n);
	rc = num_u64(what, buf_str(&num), 0, 3600 * 1000 / unit, &v, e);
	buf_free(&num);
	if (rc == 0)
		*ms = (int64_t)(v * unit);
	return rc;
}
