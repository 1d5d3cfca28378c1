/* spki - a request's public key without OpenSSL 3.0's decoders (see
 * spki.h). */
/*
 * The one file of certpipe that uses OpenSSL's deprecated EC_KEY
 * interface, for one reason: speed. EVP_PKEY_fromdata builds a curve's
 * group anew for every key (in 3.0 three quarters of what reading a
 * P-256 request's key costs), and verifying with such a key through EVP
 * builds it again; EC_KEY takes a group built once per process, and
 * ECDSA_verify is what the provider's verification calls in the end.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <limits.h>
#include <string.h>
#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include "spki.h"

/* RFC 2986 section 4, with the key left as its algorithm and bits. */
typedef struct {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *key;
} RAW_SPKI;

typedef struct {
	ASN1_INTEGER *version;
	X509_NAME *subject;
	RAW_SPKI *spki;
	STACK_OF(X509_ATTRIBUTE) *attributes;
} RAW_REQ_INFO;

typedef struct {
	RAW_REQ_INFO *info;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *signature;
} RAW_REQ;

/* RFC 8017 appendix A.1.1 */
typedef struct {
	ASN1_INTEGER *n, *e;
} RAW_RSA;

ASN1_SEQUENCE(RAW_SPKI) = {
	ASN1_SIMPLE(RAW_SPKI, alg, X509_ALGOR),
	ASN1_SIMPLE(RAW_SPKI, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(RAW_SPKI)

ASN1_SEQUENCE(RAW_REQ_INFO) = {
	ASN1_SIMPLE(RAW_REQ_INFO, version, ASN1_INTEGER),
	ASN1_SIMPLE(RAW_REQ_INFO, subject, X509_NAME),
	ASN1_SIMPLE(RAW_REQ_INFO, spki, RAW_SPKI),
	/* optional as in OpenSSL's own X509_REQ_INFO: some requests
	 * omit the (required) empty set */
	ASN1_IMP_SET_OF_OPT(RAW_REQ_INFO, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END(RAW_REQ_INFO)

ASN1_SEQUENCE(RAW_REQ) = {
	ASN1_SIMPLE(RAW_REQ, info, RAW_REQ_INFO),
	ASN1_SIMPLE(RAW_REQ, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(RAW_REQ, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(RAW_REQ)

ASN1_SEQUENCE(RAW_RSA) = {
	ASN1_SIMPLE(RAW_RSA, n, ASN1_INTEGER),
	ASN1_SIMPLE(RAW_RSA, e, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(RAW_RSA)

static EVP_PKEY *
from_params(const char *type, const OSSL_PARAM *params)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *k = NULL;

	if (c == NULL || EVP_PKEY_fromdata_init(c) <= 0 ||
	    EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY,
	    (OSSL_PARAM *)params) <= 0)
		k = NULL;
	EVP_PKEY_CTX_free(c);
	return k;
}

/* The group of one of the curves certpipe accepts, built once; NULL for
 * any other curve. */
static const EC_GROUP *
group_of(int nid)
{
	static struct {
		int nid;
		EC_GROUP *g;
	} cache[] = {
		{ NID_X9_62_prime256v1, NULL }, { NID_secp384r1, NULL },
		{ NID_secp521r1, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof cache / sizeof cache[0]; i++)
		if (cache[i].nid == nid) {
			if (cache[i].g == NULL)
				cache[i].g = EC_GROUP_new_by_curve_name(nid);
			return cache[i].g;
		}
	return NULL;
}

/* An EC key on a curve of group_of: EC_KEY_oct2key is how OpenSSL's own
 * decoder reads the point, and it checks the point is on the curve. */
static EVP_PKEY *
key_ec_cached(const EC_GROUP *g, const ASN1_BIT_STRING *bits)
{
	EC_KEY *ec = EC_KEY_new();
	EVP_PKEY *k = EVP_PKEY_new();

	if (ec == NULL || k == NULL || !EC_KEY_set_group(ec, g) ||
	    !EC_KEY_oct2key(ec, ASN1_STRING_get0_data(bits),
	    (size_t)ASN1_STRING_length(bits), NULL) ||
	    !EVP_PKEY_assign_EC_KEY(k, ec)) {
		EC_KEY_free(ec);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* An EC key on a named curve; the import checks the point is on it. */
static EVP_PKEY *
key_ec(const ASN1_OBJECT *curve, const ASN1_BIT_STRING *bits)
{
	const char *group = OBJ_nid2sn(OBJ_obj2nid(curve));
	const EC_GROUP *g = group_of(OBJ_obj2nid(curve));
	OSSL_PARAM p[3];

	if (g != NULL)
		return key_ec_cached(g, bits);
	if (group == NULL)
		return NULL;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)group, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)ASN1_STRING_get0_data(bits), (size_t)ASN1_STRING_length(bits));
	p[2] = OSSL_PARAM_construct_end();
	return from_params("EC", p);
}

static EVP_PKEY *
key_rsa(const ASN1_BIT_STRING *bits)
{
	const unsigned char *p = ASN1_STRING_get0_data(bits);
	long len = ASN1_STRING_length(bits);
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;
	RAW_RSA *r;
	EVP_PKEY *k = NULL;

	r = (RAW_RSA *)ASN1_item_d2i(NULL, &p, len, ASN1_ITEM_rptr(RAW_RSA));
	if (r == NULL || p != ASN1_STRING_get0_data(bits) + len)
		goto out;
	if ((n = ASN1_INTEGER_to_BN(r->n, NULL)) == NULL ||
	    (e = ASN1_INTEGER_to_BN(r->e, NULL)) == NULL ||
	    BN_is_negative(n) || BN_is_negative(e) ||
	    (b = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (params = OSSL_PARAM_BLD_to_param(b)) == NULL)
		goto out;
	k = from_params("RSA", params);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_free(n);
	BN_free(e);
	ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(RAW_RSA));
	return k;
}

/* The key of s, or NULL (unknown, malformed: the slow path decides). */
static EVP_PKEY *
key_of(const RAW_SPKI *s)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype, nid;

	X509_ALGOR_get0(&obj, &ptype, &pval, s->alg);
	nid = OBJ_obj2nid(obj);
	/* unused bits (the decoder keeps their count in the low three
	 * flag bits) would not survive the copy into a certificate */
	if ((s->key->flags & ASN1_STRING_FLAG_BITS_LEFT) &&
	    (s->key->flags & 0x07) != 0)
		return NULL;
	if (nid == NID_X9_62_id_ecPublicKey && ptype == V_ASN1_OBJECT)
		return key_ec(pval, s->key);
	if (nid == NID_rsaEncryption && ptype == V_ASN1_NULL)
		return key_rsa(s->key);
	if ((nid == NID_ED25519 || nid == NID_ED448) && ptype == V_ASN1_UNDEF)
		return EVP_PKEY_new_raw_public_key(nid, NULL,
		    ASN1_STRING_get0_data(s->key),
		    (size_t)ASN1_STRING_length(s->key));
	return NULL;
}

/* The SubjectPublicKeyInfo of s as an X509_PUBKEY, without decoding. */
static X509_PUBKEY *
pubkey_of(const RAW_SPKI *s)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	ASN1_OBJECT *o = NULL, *param = NULL;
	X509_PUBKEY *pk = X509_PUBKEY_new();
	unsigned char *enc = NULL;
	int ptype, len = ASN1_STRING_length(s->key);

	X509_ALGOR_get0(&obj, &ptype, &pval, s->alg);
	if (pk == NULL || (o = OBJ_dup(obj)) == NULL ||
	    (ptype == V_ASN1_OBJECT && (param = OBJ_dup(pval)) == NULL) ||
	    (enc = OPENSSL_memdup(ASN1_STRING_get0_data(s->key),
	    (size_t)len)) == NULL ||
	    !X509_PUBKEY_set0_param(pk, o, ptype, param, enc, len)) {
		X509_PUBKEY_free(pk);
		ASN1_OBJECT_free(o);
		ASN1_OBJECT_free(param);
		OPENSSL_free(enc);
		return NULL;
	}
	return pk;
}

/*
 * OpenSSL's own path, for keys the fast one does not know. The key is
 * read back from the request's SubjectPublicKeyInfo as written out, not
 * copied with X509_PUBKEY_dup: its copy of the key's BIT STRING forgets
 * how many bits are unused, and writes out without the key's trailing
 * zero octets (another key, or none).
 */
static int
slow(const void *der, size_t len, X509_PUBKEY **spki, EVP_PKEY **pub,
    struct err *e)
{
	const unsigned char *p = der;
	unsigned char *enc = NULL;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
	int n = 0, rc = 0;

	if (req != NULL)
		n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &enc);
	p = enc;
	if (n <= 0 || (*spki = d2i_X509_PUBKEY(NULL, &p, n)) == NULL ||
	    (*pub = X509_PUBKEY_get(*spki)) == NULL) {
		X509_PUBKEY_free(*spki);
		*spki = NULL;
		rc = err_ssl(e, EX_DATAERR, "request: does not parse");
	}
	OPENSSL_free(enc);
	X509_REQ_free(req);
	return rc;
}

/*
 * One DER header at *p (end: the enclosing element's end): its tag must
 * be want (a universal tag number, constructed or not as cons says).
 * Definite lengths only. On success *p is at the contents and *n is
 * their length; 0 when the header is not that or runs past end.
 */
static int
header(const unsigned char **p, const unsigned char *end, int want,
    int cons, long *n)
{
	const unsigned char *q = *p;
	int tag, cls, r;

	r = ASN1_get_object(&q, n, &tag, &cls, (long)(end - *p));
	/* 0x80: an error or a length past end; 0x21: indefinite */
	if ((r & 0x80) || r != (cons ? V_ASN1_CONSTRUCTED : 0) ||
	    tag != want || cls != V_ASN1_UNIVERSAL || *n > end - q)
		return 0;
	*p = q;
	return 1;
}

/*
 * The SubjectPublicKeyInfo in a CertificationRequest's DER, found by
 * walking the headers (RFC 2986 section 4: CertificationRequest ->
 * CertificationRequestInfo -> version, subject, subjectPKInfo) instead
 * of decoding the subject and attributes a signer does not use. The
 * walk checks what it passes: the outer SEQUENCE spans der exactly, the
 * info is a SEQUENCE within it, version an INTEGER, subject a SEQUENCE.
 */
static int
spki_of_req(const unsigned char *der, size_t len, const unsigned char **spki,
    size_t *slen)
{
	const unsigned char *p = der, *end = der + len, *info;
	long n;

	if (len > LONG_MAX || !header(&p, end, V_ASN1_SEQUENCE, 1, &n) ||
	    p + n != end || !header(&p, end, V_ASN1_SEQUENCE, 1, &n))
		return 0;
	info = p + n;
	if (!header(&p, info, V_ASN1_INTEGER, 0, &n))
		return 0;
	p += n;
	if (!header(&p, info, V_ASN1_SEQUENCE, 1, &n))
		return 0;
	p += n;
	*spki = p;
	if (!header(&p, info, V_ASN1_SEQUENCE, 1, &n))
		return 0;
	*slen = (size_t)(p + n - *spki);
	return 1;
}

int
spki_from_req(const void *der, size_t len, X509_PUBKEY **spki,
    EVP_PKEY **pub, struct err *e)
{
	const unsigned char *p, *s = NULL;
	RAW_SPKI *r = NULL;
	size_t slen = 0;
	int rc = 0;

	*spki = NULL;
	*pub = NULL;
	if (!spki_of_req(der, len, &s, &slen)) {
		ERR_clear_error();
		rc = err_set(e, EX_DATAERR, "request: does not parse");
		goto out;
	}
	p = s;
	r = (RAW_SPKI *)ASN1_item_d2i(NULL, &p, (long)slen,
	    ASN1_ITEM_rptr(RAW_SPKI));
	if (r == NULL || p != s + slen) {
		rc = err_ssl(e, EX_DATAERR, "request: does not parse");
		goto out;
	}
	if ((*pub = key_of(r)) == NULL) {
		ERR_clear_error();
		rc = slow(der, len, spki, pub, e);
		goto out;
	}
	if ((*spki = pubkey_of(r)) == NULL) {
		EVP_PKEY_free(*pub);
		*pub = NULL;
		rc = err_ssl(e, EX_DATAERR, "request: public key");
	}
out:
	ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(RAW_SPKI));
	return rc;
}

/* The CertificationRequestInfo's bytes in der (definite lengths only). */
static int
tbs_of(const unsigned char *der, size_t len, const unsigned char **tbs,
    size_t *tlen)
{
	const unsigned char *p = der, *start;
	long n;
	int tag, cls;

	if (ASN1_get_object(&p, &n, &tag, &cls, (long)len) !=
	    V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE ||
	    cls != V_ASN1_UNIVERSAL)
		return 0;
	start = p;
	if (ASN1_get_object(&p, &n, &tag, &cls, (long)len - (p - der)) !=
	    V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE ||
	    cls != V_ASN1_UNIVERSAL)
		return 0;
	*tbs = start;
	*tlen = (size_t)(p - start) + (size_t)n;
	return 1;
}

int
spki_req_read(const void *der, size_t len, struct spki_req *out)
{
	const unsigned char *p = der;
	RAW_REQ *r;

	memset(out, 0, sizeof *out);
	r = (RAW_REQ *)ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(RAW_REQ));
	if (r == NULL || p != (const unsigned char *)der + len ||
	    !tbs_of(der, len, &out->tbs, &out->tbslen) ||
	    (out->pub = key_of(r->info->spki)) == NULL) {
		ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(RAW_REQ));
		ERR_clear_error();
		memset(out, 0, sizeof *out);
		return 0;
	}
	out->raw = r;
	out->subject = r->info->subject;
	out->attrs = r->info->attributes;
	out->sig_alg = r->sig_alg;
	out->sig = r->signature;
	return 1;
}

/* SHA-256, -384 or -512 by NID, fetched once (EVP_get_digestbynid
 * makes OpenSSL 3.0 fetch it for every digest); NULL for others. */
static const EVP_MD *
sha2(int nid)
{
	static struct {
		int nid;
		const char *name;
		EVP_MD *md;
	} mds[] = {
		{ NID_sha256, "SHA256", NULL }, { NID_sha384, "SHA384", NULL },
		{ NID_sha512, "SHA512", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof mds / sizeof mds[0]; i++)
		if (mds[i].nid == nid) {
			if (mds[i].md == NULL)
				mds[i].md = EVP_MD_fetch(NULL, mds[i].name,
				    NULL);
			return mds[i].md;
		}
	return NULL;
}

/* ECDSA over a key from key_ec_cached: what the provider's verification
 * of such a key runs, without exporting the key to it first. */
static int
verify_ec(const struct spki_req *r, const EVP_MD *md)
{
	const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(r->pub);
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (ec == NULL)
		return -1;
	if (!EVP_Digest(r->tbs, r->tbslen, dgst, &n, md, NULL))
		return 0;
	return ECDSA_verify(0, dgst, (int)n, ASN1_STRING_get0_data(r->sig),
	    ASN1_STRING_length(r->sig), (EC_KEY *)ec) == 1;
}

static int
verify_evp(const struct spki_req *r, const EVP_MD *md)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	ok = c != NULL && EVP_DigestVerifyInit(c, NULL, md, NULL, r->pub) ==
	    1 && EVP_DigestVerify(c, ASN1_STRING_get0_data(r->sig),
	    (size_t)ASN1_STRING_length(r->sig), r->tbs, r->tbslen) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

int
spki_req_verify(const struct spki_req *r)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	const EVP_MD *md;
	int ptype, mdnid, pknid, type = EVP_PKEY_get_base_id(r->pub), rc;

	X509_ALGOR_get0(&obj, &ptype, &pval, r->sig_alg);
	if (!OBJ_find_sigid_algs(OBJ_obj2nid(obj), &mdnid, &pknid) ||
	    (md = sha2(mdnid)) == NULL)
		return -1;
	/* a signature with unused bits is OpenSSL's to refuse */
	if ((r->sig->flags & ASN1_STRING_FLAG_BITS_LEFT) &&
	    (r->sig->flags & 0x07) != 0)
		return -1;
	if (pknid == NID_X9_62_id_ecPublicKey && type == EVP_PKEY_EC &&
	    ptype == V_ASN1_UNDEF)
		rc = verify_ec(r, md);
	else if (pknid == NID_rsaEncryption && type == EVP_PKEY_RSA &&
	    (ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF))
		rc = verify_evp(r, md);
	else
		rc = -1;
	ERR_clear_error();
	return rc;
}

void
spki_req_free(struct spki_req *r)
{
	if (r == NULL)
		return;
	ASN1_item_free(r->raw, ASN1_ITEM_rptr(RAW_REQ));
	EVP_PKEY_free(r->pub);
	memset(r, 0, sizeof *r);
}
