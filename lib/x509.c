/* x509 - the one wrapper around OpenSSL's X.509 (see x509.h). */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include "clock.h"
#include "diag.h"
#include "x509.h"

#define CERT_MAX_DER (64 * 1024)

static const struct {
	const char *name;
	unsigned bit;
} ku_names[] = {
	{ "digitalSignature", KU_DIGITAL_SIGNATURE },
	{ "nonRepudiation", KU_NON_REPUDIATION },
	{ "keyEncipherment", KU_KEY_ENCIPHERMENT },
	{ "dataEncipherment", KU_DATA_ENCIPHERMENT },
	{ "keyAgreement", KU_KEY_AGREEMENT },
	{ "keyCertSign", KU_KEY_CERT_SIGN },
	{ "cRLSign", KU_CRL_SIGN },
	{ "encipherOnly", KU_ENCIPHER_ONLY },
	{ "decipherOnly", KU_DECIPHER_ONLY },
};

static const char *const eku_names[] = {
	"serverAuth", "clientAuth", "codeSigning", "emailProtection",
	"timeStamping", "OCSPSigning", "ipsecIKE", "msCodeInd", "msCodeCom",
	"msSGC", "msEFS", "nsSGC",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void keep(X509 *x, const unsigned char *der, size_t len);
static int kept_index(void);

/* Walk a comma list; fn gets each item with blanks around it dropped.
 * An empty item ("a,,b", "a,") is an error, not something to skip. */
static int
each_item(const char *list, const char *what, int (*fn)(const char *item,
    void *ctx, struct err *e), void *ctx, struct err *e)
{
	struct buf b = {0};
	char *item, *end, *comma;
	int rc = 0;

	buf_adds(&b, list);
	for (item = b.p; item != NULL; item = comma ? comma + 1 : NULL) {
		if ((comma = strchr(item, ',')) != NULL)
			*comma = '\0';
		while (*item == ' ')
			item++;
		end = item + strlen(item);
		while (end > item && end[-1] == ' ')
			*--end = '\0';
		if (*item == '\0') {
			rc = err_set(e, EX_DATAERR, "%s: empty item in '%s'",
			    what, list);
			break;
		}
		if ((rc = fn(item, ctx, e)) != 0)
			break;
	}
	buf_free(&b);
	return rc;
}

static int
ku_one(const char *item, void *ctx, struct err *e)
{
	unsigned *bits = ctx;
	size_t i;

	for (i = 0; i < NELEM(ku_names); i++)
		if (strcmp(item, ku_names[i].name) == 0) {
			*bits |= ku_names[i].bit;
			return 0;
		}
	return err_set(e, EX_DATAERR, "key usage: unknown '%s'", item);
}

int
x509_ku_parse(const char *list, unsigned *bits, struct err *e)
{
	*bits = 0;
	return each_item(list, "key usage", ku_one, bits, e);
}

int
x509_oid_check(const char *what, const char *oid, struct err *e)
{
	ASN1_OBJECT *o;
	const char *p;
	int dots = 0;

	for (p = oid; *p; p++) {
		if (*p == '.') {
			if (p == oid || p[1] == '.' || p[1] == '\0')
				goto bad;
			dots++;
		} else if (!isdigit((unsigned char)*p))
			goto bad;
	}
	if (dots < 1 || strlen(oid) > 128)
		goto bad;
	if ((o = OBJ_txt2obj(oid, 1)) == NULL)
		goto bad;
	ASN1_OBJECT_free(o);
	return 0;
bad:
	return err_set(e, EX_DATAERR, "%s: not a dotted OID: '%s'", what, oid);
}

static int
eku_one(const char *item, void *ctx, struct err *e)
{
	size_t i;

	for (i = 0; i < NELEM(eku_names); i++)
		if (strcmp(item, eku_names[i]) == 0)
			return 0;
	if (isdigit((unsigned char)item[0]))
		return x509_oid_check("extended key usage", item, e);
	return err_set(e, EX_DATAERR, "extended key usage: unknown '%s' "
	    "(a name like serverAuth or a dotted OID)", item);
}

int
x509_eku_check(const char *list, struct err *e)
{
	return each_item(list, "extended key usage", eku_one, NULL, e);
}

int
x509_url_check(const char *what, const char *url, struct err *e)
{
	const unsigned char *p;
	size_t n = strlen(url);

	if (n > 1024 || !(strncmp(url, "http://", 7) == 0 ||
	    strncmp(url, "https://", 8) == 0))
		goto bad;
	if (url[strncmp(url, "http://", 7) == 0 ? 7 : 8] == '\0')
		goto bad;
	/* OpenSSL's extension config syntax splits on ',' and the URL ends
	 * up in certificates verbatim: no blanks, commas or controls. */
	for (p = (const unsigned char *)url; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ',' || *p == '"' ||
		    *p == '\\')
			goto bad;
	return 0;
bad:
	return err_set(e, EX_DATAERR, "%s: not an http(s) URL without blanks "
	    "or commas: '%s'", what, url);
}

struct name_field {
	const char *key;	/* as in "O=..." */
	int nid;
	size_t max;		/* RFC 5280 upper bounds */
};

static const struct name_field name_fields[] = {
	{ "C", NID_countryName, 2 },
	{ "ST", NID_stateOrProvinceName, 128 },
	{ "L", NID_localityName, 128 },
	{ "O", NID_organizationName, 64 },
	{ "OU", NID_organizationalUnitName, 64 },
	{ "CN", NID_commonName, 64 },
};

static int
add_field(X509_NAME *n, const struct name_field *f, const char *v,
    struct err *e)
{
	const unsigned char *p;
	size_t len = strlen(v);

	if (len == 0 || len > f->max)
		return err_set(e, EX_DATAERR, "subject %s: must be 1..%zu "
		    "characters", f->key, f->max);
	for (p = (const unsigned char *)v; *p; p++)
		if (*p < ' ' || *p == 0x7f)
			return err_set(e, EX_DATAERR, "subject %s: control "
			    "character not allowed", f->key);
	if (f->nid == NID_countryName && !(isupper((unsigned char)v[0]) &&
	    isupper((unsigned char)v[1])))
		return err_set(e, EX_DATAERR, "subject C: two upper-case "
		    "letters (ISO 3166), not '%s'", v);
	if (!X509_NAME_add_entry_by_NID(n, f->nid, MBSTRING_UTF8,
	    (const unsigned char *)v, -1, -1, 0))
		return err_ssl(e, EX_DATAERR, "subject %s: invalid", f->key);
	return 0;
}

/* s's fields appended to n, checked as x509_name_build says. */
static int
name_fill(X509_NAME *n, const struct x509_subject *s, struct err *e)
{
	const char *vals[6] = { s->c, s->st, s->l, s->o, s->ou, s->cn };
	size_t i;
	int rc;

	if (s->cn == NULL || *s->cn == '\0')
		return err_set(e, EX_DATAERR, "subject: a common name (CN) "
		    "is required");
	for (i = 0; i < NELEM(name_fields); i++)
		if (vals[i] && (rc = add_field(n, &name_fields[i], vals[i],
		    e)) != 0)
			return rc;
	return 0;
}

int
x509_name_build(const struct x509_subject *s, X509_NAME **out, struct err *e)
{
	X509_NAME *n = X509_NAME_new();
	int rc;

	*out = NULL;
	if (n == NULL)
		diag_nomem();
	if ((rc = name_fill(n, s, e)) != 0) {
		X509_NAME_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

int
x509_subject_parse(const char *text, struct x509_subject *s, char **store,
    struct err *e)
{
	char *copy, *item, *save = NULL, *p, *eq;
	const char **slot;
	int rc = 0;

	memset(s, 0, sizeof *s);
	copy = xstrdup(text);
	for (p = copy; (item = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		while (*item == ' ')
			item++;
		if ((eq = strchr(item, '=')) == NULL) {
			rc = err_set(e, EX_DATAERR, "subject: expected KEY=VALUE, "
			    "not '%s'", item);
			goto out;
		}
		*eq = '\0';
		if (strcmp(item, "CN") == 0) slot = &s->cn;
		else if (strcmp(item, "O") == 0) slot = &s->o;
		else if (strcmp(item, "OU") == 0) slot = &s->ou;
		else if (strcmp(item, "C") == 0) slot = &s->c;
		else if (strcmp(item, "ST") == 0) slot = &s->st;
		else if (strcmp(item, "L") == 0) slot = &s->l;
		else {
			rc = err_set(e, EX_DATAERR, "subject: unknown field '%s' "
			    "(CN, O, OU, C, ST, L)", item);
			goto out;
		}
		if (*slot != NULL) {
			rc = err_set(e, EX_DATAERR, "subject: %s given twice", item);
			goto out;
		}
		*slot = eq + 1;
	}
	{
		/* validate every value with the same rules as x509_name_build */
		struct x509_subject chk = *s;
		X509_NAME *n = NULL;
		if (chk.cn == NULL)
			chk.cn = "x";
		rc = x509_name_build(&chk, &n, e);
		X509_NAME_free(n);
	}
out:
	if (rc != 0) {
		free(copy);
		memset(s, 0, sizeof *s);
		copy = NULL;
	}
	*store = copy;
	return rc;
}

/*
 * The last two names printed, by their DER: a signer prints its
 * issuer's name for every certificate, between subjects that differ.
 */
static struct {
	struct buf der, str;
	unsigned long used;
} name_memo[2];
static unsigned long name_clock;

void
x509_name_str(const X509_NAME *n, struct buf *out)
{
	const unsigned char *der = NULL;
	size_t derlen = 0, i, k;
	BIO *b;
	char *p;
	long len;

	if (X509_NAME_get0_der((X509_NAME *)n, &der, &derlen) == 1)
		for (i = 0; i < NELEM(name_memo); i++)
			if (name_memo[i].der.len == derlen && derlen > 0 &&
			    memcmp(name_memo[i].der.p, der, derlen) == 0) {
				name_memo[i].used = ++name_clock;
				buf_add(out, name_memo[i].str.p,
				    name_memo[i].str.len);
				return;
			}
	b = BIO_new(BIO_s_mem());
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	len = BIO_get_mem_data(b, &p);
	if (len > 0)
		buf_add(out, p, (size_t)len);
	if (der != NULL && derlen > 0 && len >= 0) {
		k = name_memo[0].used <= name_memo[1].used ? 0 : 1;
		buf_reset(&name_memo[k].der);
		buf_reset(&name_memo[k].str);
		buf_add(&name_memo[k].der, der, derlen);
		buf_add(&name_memo[k].str, p, (size_t)len);
		name_memo[k].used = ++name_clock;
	}
	BIO_free(b);
}

/*
 * Extensions that read nothing of the certificate being made (all but
 * its key identifier and names), made once per issuer and text: making
 * one from its text costs more than copying it. Each is kept with a
 * reference to its issuer, so an issuer pointer that matches is that
 * issuer still; a self-signed certificate (its own issuer) is not kept.
 */
#define EXT_KEPT 64

static struct {
	int nid;
	char *value;
	X509 *issuer;
	X509_EXTENSION *ext;
	unsigned char *der;	/* its encoding, for sign_direct */
	int derlen;
} ext_kept[EXT_KEPT];
/* Entries below it are complete and never change: x509_issue (one
 * thread at a time) fills the next one and then moves it on (release),
 * while x509_sign_later's threads read up to it (acquire). */
static _Atomic size_t next_kept;

static int
ext_constant(int nid)
{
	return nid == NID_basic_constraints || nid == NID_key_usage ||
	    nid == NID_ext_key_usage || nid == NID_authority_key_identifier ||
	    nid == NID_info_access || nid == NID_crl_distribution_points;
}

/* The extension: a kept one (*fresh 0), or one made now (*fresh 1). */
static X509_EXTENSION *
ext_make(X509 *x, X509V3_CTX *ctx, int nid, const char *value, int *fresh)
{
	X509 *issuer = ctx->issuer_cert;
	X509_EXTENSION *ext;
	size_t i, nk = atomic_load_explicit(&next_kept,
	    memory_order_relaxed);

	*fresh = 1;
	if (!ext_constant(nid) || issuer == NULL || issuer == x)
		return X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	for (i = 0; i < nk; i++)
		if (ext_kept[i].nid == nid && ext_kept[i].issuer == issuer &&
		    strcmp(ext_kept[i].value, value) == 0) {
			*fresh = 0;
			return ext_kept[i].ext;
		}
	if ((ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value)) == NULL ||
	    nk == EXT_KEPT || !X509_up_ref(issuer))
		return ext;
	ext_kept[nk].nid = nid;
	ext_kept[nk].value = xstrdup(value);
	ext_kept[nk].issuer = issuer;
	ext_kept[nk].der = NULL;
	ext_kept[nk].derlen = i2d_X509_EXTENSION(ext, &ext_kept[nk].der);
	ext_kept[nk].ext = ext;
	atomic_store_explicit(&next_kept, nk + 1, memory_order_release);
	*fresh = 0;
	return ext;
}

/* The DER of ext when a kept extension has the same type, criticality
 * and value (its encoding is then the same bytes), else NULL. */
static const unsigned char *
ext_der_kept(X509_EXTENSION *ext, int *len)
{
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext), *kv;
	int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
	int crit = X509_EXTENSION_get_critical(ext);
	size_t i, nk = atomic_load_explicit(&next_kept, memory_order_acquire);

	for (i = 0; i < nk; i++) {
		if (ext_kept[i].nid != nid || ext_kept[i].derlen <= 0)
			continue;
		kv = X509_EXTENSION_get_data(ext_kept[i].ext);
		if (X509_EXTENSION_get_critical(ext_kept[i].ext) == crit &&
		    ASN1_STRING_cmp(kv, v) == 0) {
			*len = ext_kept[i].derlen;
			return ext_kept[i].der;
		}
	}
	return NULL;
}

/*
 * ext appended to x's extensions, taken over when fresh (else copied).
 * X509_add_ext copies through the template encoder and decoder, an
 * i2d and a d2i for each extension of each certificate; once x has its
 * list, the extension goes in as it is, or as a field-by-field copy
 * (type, criticality, value bytes). x is being built: its encoding is
 * already marked modified, so nothing cached goes stale.
 */
static int
ext_append(X509 *x, X509_EXTENSION *ext, int fresh)
{
	STACK_OF(X509_EXTENSION) *sk;
	X509_EXTENSION *c;
	int ok;

	/* x509_issue owns x and its list: the cast only drops a const */
	sk = (STACK_OF(X509_EXTENSION) *)X509_get0_extensions(x);
	if (sk == NULL) {
		ok = X509_add_ext(x, ext, -1);
		if (fresh)
			X509_EXTENSION_free(ext);
		return ok;
	}
	c = fresh ? ext : X509_EXTENSION_create_by_OBJ(NULL,
	    X509_EXTENSION_get_object(ext), X509_EXTENSION_get_critical(ext),
	    X509_EXTENSION_get_data(ext));
	if (c == NULL || !sk_X509_EXTENSION_push(sk, c)) {
		X509_EXTENSION_free(c);
		return 0;
	}
	return 1;
}

/* Add one extension from OpenSSL's config syntax; values were validated
 * by the callers (names from fixed tables, URLs by x509_url_check). */
static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value, struct err *e)
{
	X509_EXTENSION *ext;
	int fresh;

	ext = ext_make(x, ctx, nid, value, &fresh);
	if (ext == NULL)
		return err_ssl(e, EX_DATAERR, "extension %s = %s", OBJ_nid2sn(nid),
		    value);
	if (!ext_append(x, ext, fresh))
		return err_ssl(e, EX_SOFTWARE, "extension %s", OBJ_nid2sn(nid));
	return 0;
}

static void
ku_text(unsigned bits, struct buf *b)
{
	size_t i;

	buf_adds(b, "critical");
	for (i = 0; i < NELEM(ku_names); i++)
		if (bits & ku_names[i].bit)
			buf_printf(b, ",%s", ku_names[i].name);
}

static int
add_policies(X509 *x, const char *oid, const char *cps, struct err *e)
{
	CERTIFICATEPOLICIES *pols = NULL;
	POLICYINFO *pi = NULL;
	POLICYQUALINFO *q = NULL;
	int rc = EX_SOFTWARE;

	pols = sk_POLICYINFO_new_null();
	pi = POLICYINFO_new();
	if (pols == NULL || pi == NULL)
		goto ssl;
	if ((pi->policyid = OBJ_txt2obj(oid, 1)) == NULL) {
		rc = err_ssl(e, EX_DATAERR, "policy OID %s", oid);
		goto out;
	}
	if (cps != NULL) {
		if ((pi->qualifiers = sk_POLICYQUALINFO_new_null()) == NULL ||
		    (q = POLICYQUALINFO_new()) == NULL ||
		    (q->d.cpsuri = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(q->d.cpsuri, cps, (int)strlen(cps)))
			goto ssl;
		q->pqualid = OBJ_nid2obj(NID_id_qt_cps);
		if (!sk_POLICYQUALINFO_push(pi->qualifiers, q))
			goto ssl;
		q = NULL;
	}
	if (!sk_POLICYINFO_push(pols, pi))
		goto ssl;
	pi = NULL;
	if (!X509_add1_ext_i2d(x, NID_certificate_policies, pols, 0, 0))
		goto ssl;
	rc = 0;
	goto out;
ssl:
	rc = err_ssl(e, EX_SOFTWARE, "certificatePolicies");
out:
	POLICYQUALINFO_free(q);
	POLICYINFO_free(pi);
	sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
	return rc;
}

static int
add_san(X509 *x, X509V3_CTX *ctx, const char *const *san, size_t n,
    struct err *e)
{
	struct buf b = {0};
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (strchr(san[i], ',') != NULL) {
			buf_free(&b);
			return err_set(e, EX_DATAERR, "subjectAltName: ',' not "
			    "allowed in '%s'", san[i]);
		}
		buf_printf(&b, "%s%s", i ? "," : "", san[i]);
	}
	rc = add_ext(x, ctx, NID_subject_alt_name, b.p, e);
	buf_free(&b);
	return rc;
}

/*
 * CSPRNG bytes for serials, 16 at a time from a pool that one RAND_bytes
 * call fills for 64 serials: a call (its DRBG locking and fork check)
 * cost as much as the rest of making a serial. The pool belongs to the
 * process that filled it: a forked child starts with an empty one
 * (pthread_atfork; asking getpid for every serial was a system call per
 * certificate, which costs a microsecond or more in a virtual machine).
 * Bytes handed out are wiped from it. Should the handler not register,
 * each serial makes its own call.
 */
static unsigned char serial_pool[16 * 64];
static size_t serial_left;
static int serial_pooled;		/* the fork handler is in place */
static pthread_once_t serial_once = PTHREAD_ONCE_INIT;

static void
serial_forked(void)
{
	OPENSSL_cleanse(serial_pool, sizeof serial_pool);
	serial_left = 0;
}

static void
serial_init(void)
{
	serial_pooled = pthread_atfork(NULL, NULL, serial_forked) == 0;
}

static int
serial_bytes(unsigned char r[16])
{
	if (pthread_once(&serial_once, serial_init) != 0 || !serial_pooled)
		return RAND_bytes(r, 16) == 1;
	if (serial_left == 0) {
		if (RAND_bytes(serial_pool, sizeof serial_pool) != 1)
			return 0;
		serial_left = sizeof serial_pool;
	}
	serial_left -= 16;
	memcpy(r, serial_pool + serial_left, 16);
	OPENSSL_cleanse(serial_pool + serial_left, 16);
	return 1;
}

/*
 * A serial: 16 content octets. The first five hold the second it was
 * made in (0x40 | the top 6 of 38 bits, then 32 bits), so serials made
 * later sort later and the database's serial indexes grow at their end
 * instead of taking each new serial on a random leaf page: at 60 000
 * certificates that halved sign's page writes and cut its page reads
 * fivefold. The other eleven octets come from the CSPRNG: 88 random
 * bits, more than the 64 CA/B asks for. With 0x40 set and the top bit
 * clear the octets are the INTEGER's content as they are: positive and
 * minimal.
 */
static int
rand_serial(X509 *x, struct err *e)
{
	unsigned char r[16];
	uint64_t t = (uint64_t)clock_now();

	if (!serial_bytes(r))
		return err_ssl(e, EX_SOFTWARE, "serial: no randomness");
	r[0] = (unsigned char)(0x40 | ((t >> 32) & 0x3f));
	r[1] = (unsigned char)(t >> 24);
	r[2] = (unsigned char)(t >> 16);
	r[3] = (unsigned char)(t >> 8);
	r[4] = (unsigned char)t;
	if (!ASN1_STRING_set(X509_get_serialNumber(x), r, sizeof r))
		return err_ssl(e, EX_SOFTWARE, "serial");
	return 0;
}

/*
 * The subject key into x. X509_set_pubkey runs OpenSSL 3.0's encoder and
 * then its decoder (each builds a context over every provider), which
 * costs several times the signature itself; a key that arrives as the
 * SubjectPublicKeyInfo of a request is copied field by field instead.
 * Parameters other than a curve OID, NULL or none take the slow path.
 */
static int
set_pubkey(X509 *x, const struct x509_issue *in)
{
	X509_PUBKEY *dst = X509_get_X509_PUBKEY(x);
	const ASN1_OBJECT *obj;
	const unsigned char *pk;
	const void *pval;
	X509_ALGOR *alg;
	ASN1_OBJECT *o = NULL;
	void *p = NULL;
	unsigned char *enc = NULL;
	int ptype, len;

	if (in->spki == NULL || dst == NULL || !X509_PUBKEY_get0_param(NULL,
	    &pk, &len, &alg, in->spki) || len <= 0)
		return X509_set_pubkey(x, in->pubkey);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (ptype == V_ASN1_OBJECT)
		p = OBJ_dup(pval);
	else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
		return X509_set_pubkey(x, in->pubkey);
	if ((o = OBJ_dup(obj)) == NULL || (ptype == V_ASN1_OBJECT && p == NULL) ||
	    (enc = OPENSSL_memdup(pk, (size_t)len)) == NULL ||
	    !X509_PUBKEY_set0_param(dst, o, ptype, p, enc, len)) {
		ASN1_OBJECT_free(o);
		ASN1_OBJECT_free(p);
		OPENSSL_free(enc);
		return 0;
	}
	return 1;
}

/* id-pkix-ocsp-nocheck: an extension whose value is NULL. */
static int
add_nocheck(X509 *x, struct err *e)
{
	ASN1_NULL *null = ASN1_NULL_new();
	int ok;

	ok = null != NULL && X509_add1_ext_i2d(x, NID_id_pkix_OCSP_noCheck,
	    null, 0, X509V3_ADD_APPEND) == 1;
	ASN1_NULL_free(null);
	return ok ? 0 : err_ssl(e, EX_SOFTWARE, "certificate: "
	    "id-pkix-ocsp-nocheck");
}

/*
 * The signature AlgorithmIdentifier X509_sign wrote with an issuer key
 * and digest, learnt from the first certificate that key signed here
 * and kept with a reference to the key, so a matching pointer is that
 * key still. sign_direct writes it as it is: no guess at its parameters
 * (NULL, absent, PSS) can differ from OpenSSL's.
 */
#define ALG_KEPT 16

static struct {
	EVP_PKEY *key;
	const EVP_MD *md;
	X509_ALGOR *alg;
	EVP_MD_CTX *ctx;	/* signing set up for key and md, copied for
				   each signature; NULL: set up each time */
} alg_kept[ALG_KEPT];
static _Atomic size_t next_alg;		/* as next_kept */

static const X509_ALGOR *
alg_of(EVP_PKEY *key, const EVP_MD *md)
{
	size_t i, na = atomic_load_explicit(&next_alg, memory_order_acquire);

	for (i = 0; i < na; i++)
		if (alg_kept[i].key == key && alg_kept[i].md == md)
			return alg_kept[i].alg;
	return NULL;
}

static void
alg_learn(EVP_PKEY *key, const EVP_MD *md, const X509 *x)
{
	const X509_ALGOR *alg = NULL;
	X509_ALGOR *copy;
	size_t na = atomic_load_explicit(&next_alg, memory_order_relaxed);

	X509_get0_signature(NULL, &alg, x);
	if (alg == NULL || na == ALG_KEPT || alg_of(key, md) != NULL ||
	    (copy = X509_ALGOR_dup(alg)) == NULL)
		return;
	if (!EVP_PKEY_up_ref(key)) {
		X509_ALGOR_free(copy);
		return;
	}
	alg_kept[na].key = key;
	alg_kept[na].md = md;
	alg_kept[na].ctx = EVP_MD_CTX_new();
	if (alg_kept[na].ctx != NULL && EVP_DigestSignInit(alg_kept[na].ctx,
	    NULL, md, NULL, key) != 1) {
		EVP_MD_CTX_free(alg_kept[na].ctx);
		alg_kept[na].ctx = NULL;
	}
	ERR_clear_error();
	alg_kept[na].alg = copy;
	atomic_store_explicit(&next_alg, na + 1, memory_order_release);
}

/* What x509_sign_later needs: the certificate and how to sign it
 * (alg is alg_kept's, kept for the life of the process). */
struct x509_unsigned {
	X509 *x;
	EVP_PKEY *key;
	const EVP_MD *md;
	const X509_ALGOR *alg;
};

/* DER: tag, definite length, contents. */
static void
der_tlv(struct buf *out, unsigned char tag, const void *p, size_t n)
{
	unsigned char h[6];
	size_t k = 0;

	h[k++] = tag;
	if (n < 0x80)
		h[k++] = (unsigned char)n;
	else if (n < 0x100) {
		h[k++] = 0x81;
		h[k++] = (unsigned char)n;
	} else if (n < 0x10000) {
		h[k++] = 0x82;
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	} else {
		h[k++] = 0x83;
		h[k++] = (unsigned char)(n >> 16);
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	}
	buf_add(out, h, k);
	buf_add(out, p, n);
}

/* An i2d result (n, *der) appended to out, *der freed; 0 when it
 * failed. der by reference: i2d sets it while the arguments are made. */
static int
der_put(struct buf *out, int n, unsigned char **der)
{
	if (n > 0)
		buf_add(out, *der, (size_t)n);
	OPENSSL_free(*der);
	*der = NULL;
	return n > 0;
}

/*
 * X509_sign(x, key, md) with alg as its AlgorithmIdentifier, and x's DER
 * kept, from one encoding. X509_sign encodes the TBSCertificate with
 * OpenSSL's template encoder, which sizes every nested part by encoding
 * it, once per level it sits under (the extensions four levels down),
 * and x509_keep_der encodes it all again: together more than the P-256
 * signature itself. Here each part is encoded once, at the top, and
 * the certificate is put together around them. t_x509 checks that the
 * result is the DER OpenSSL writes for x.
 */
static int
sign_direct(X509 *x, EVP_PKEY *key, const EVP_MD *md, const X509_ALGOR *alg,
    struct err *e)
{
	struct buf body = {0}, part = {0}, tbs = {0}, cert = {0};
	const ASN1_BIT_STRING *csig;
	const X509_ALGOR *calg;
	ASN1_BIT_STRING *sig;
	unsigned char *der = NULL, *s = NULL;
	const unsigned char *kder;
	EVP_MD_CTX *c = NULL;
	size_t slen = 0;
	int i, n = X509_get_ext_count(x), rc = 0, klen, na;

	buf_add(&body, "\xa0\x03\x02\x01\x02", 5);	/* [0] v3 */
	if (X509_get_version(x) != 2 || !der_put(&body, i2d_ASN1_INTEGER(
	    X509_get0_serialNumber(x), &der), &der) ||
	    !der_put(&body, i2d_X509_ALGOR(alg, &der), &der) ||
	    !der_put(&body, i2d_X509_NAME(X509_get_issuer_name(x), &der),
	    &der) ||
	    !der_put(&part, i2d_ASN1_TIME(X509_get0_notBefore(x), &der),
	    &der) ||
	    !der_put(&part, i2d_ASN1_TIME(X509_get0_notAfter(x), &der), &der))
		goto ssl;
	der_tlv(&body, 0x30, part.p, part.len);
	buf_reset(&part);
	if (!der_put(&body, i2d_X509_NAME(X509_get_subject_name(x), &der),
	    &der) || !der_put(&body, i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x),
	    &der), &der))
		goto ssl;
	for (i = 0; i < n; i++) {
		/* the issuer's constant extensions were encoded once */
		if ((kder = ext_der_kept(X509_get_ext(x, i), &klen)) != NULL)
			buf_add(&part, kder, (size_t)klen);
		else if (!der_put(&part, i2d_X509_EXTENSION(X509_get_ext(x,
		    i), &der), &der))
			goto ssl;
	}
	if (n > 0) {
		der_tlv(&tbs, 0x30, part.p, part.len);
		der_tlv(&body, 0xa3, tbs.p, tbs.len);
		buf_reset(&tbs);
	}
	der_tlv(&tbs, 0x30, body.p, body.len);

	/* a copy of the signing set up once for the key: setting it up
	 * (provider fetch, key export) cost a tenth of the signature */
	na = (int)atomic_load_explicit(&next_alg, memory_order_acquire);
	for (i = 0; i < na && (alg_kept[i].key != key ||
	    alg_kept[i].md != md); i++)
		;
	if ((c = EVP_MD_CTX_new()) == NULL)
		goto ssl;
	if (i == na || alg_kept[i].ctx == NULL ||
	    EVP_MD_CTX_copy_ex(c, alg_kept[i].ctx) != 1) {
		ERR_clear_error();
		EVP_MD_CTX_reset(c);
		if (EVP_DigestSignInit(c, NULL, md, NULL, key) != 1)
			goto ssl;
	}
	if (EVP_DigestSign(c, NULL, &slen, (unsigned char *)tbs.p, tbs.len)
	    != 1)
		goto ssl;
	s = xmalloc(slen + 1);
	s[0] = 0;				/* BIT STRING: no unused bits */
	if (EVP_DigestSign(c, s + 1, &slen, (unsigned char *)tbs.p, tbs.len)
	    != 1)
		goto ssl;
	/* the same into x, as ASN1_item_sign_ctx sets them: x has no
	 * setters for its signature, its getters point into it */
	X509_get0_signature(&csig, &calg, x);
	sig = (ASN1_BIT_STRING *)csig;
	if (!X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(x), alg) ||
	    !X509_ALGOR_copy((X509_ALGOR *)calg, alg) ||
	    !ASN1_BIT_STRING_set(sig, s + 1, (int)slen))
		goto ssl;
	sig->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	sig->flags |= ASN1_STRING_FLAG_BITS_LEFT;

	buf_reset(&body);
	buf_add(&body, tbs.p, tbs.len);
	if (!der_put(&body, i2d_X509_ALGOR(alg, &der), &der))
		goto ssl;
	der_tlv(&body, 0x03, s, slen + 1);
	der_tlv(&cert, 0x30, body.p, body.len);
	keep(x, (const unsigned char *)cert.p, cert.len);
	goto out;
ssl:
	rc = err_ssl(e, EX_SOFTWARE, "certificate");
out:
	EVP_MD_CTX_free(c);
	free(s);
	buf_free(&body);
	buf_free(&part);
	buf_free(&tbs);
	buf_free(&cert);
	return rc;
}

int
x509_issue(const struct x509_issue *in, X509 **out, int *capped,
    struct err *e)
{
	X509 *x = NULL;
	X509V3_CTX ctx;
	struct buf b = {0};
	const EVP_MD *md = NULL;
	const X509_ALGOR *alg;
	time_t nb = in->not_before, na = in->not_after, issuer_na;
	int rc;

	*out = NULL;
	if (in->later != NULL)
		*in->later = NULL;
	if (capped)
		*capped = 0;
	if (in->issuer != NULL) {
		issuer_na = x509_not_after(in->issuer);
		if (na > issuer_na) {
			na = issuer_na;
			if (capped)
				*capped = 1;
		}
	}
	if (na <= nb)
		return err_set(e, EX_DATAERR, "validity: notAfter is not after "
		    "notBefore (issuer expires too soon?)");
	if (EVP_PKEY_get_id(in->issuer_key) != EVP_PKEY_ED25519 &&
	    EVP_PKEY_get_id(in->issuer_key) != EVP_PKEY_ED448) {
		md = EVP_get_digestbyname(in->digest ? in->digest : "sha256");
		if (md == NULL)
			return err_set(e, EX_DATAERR, "digest: unknown '%s'",
			    in->digest);
	}
	x = X509_new();
	if (x == NULL || !X509_set_version(x, 2))
		goto ssl;
	if ((rc = rand_serial(x, e)) != 0)
		goto out;
	/* a name built in place is not copied (X509_set_subject_name
	 * encodes and decodes it) */
	if (in->subject_fields != NULL &&
	    (rc = name_fill(X509_get_subject_name(x), in->subject_fields,
	    e)) != 0)
		goto out;
	if ((in->subject_fields == NULL &&
	    !X509_set_subject_name(x, in->subject)) ||
	    !X509_set_issuer_name(x, in->issuer ?
	    X509_get_subject_name(in->issuer) : X509_get_subject_name(x)) ||
	    !set_pubkey(x, in) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na) == NULL)
		goto ssl;

	X509V3_set_ctx(&ctx, in->issuer ? in->issuer : x, x, NULL, NULL, 0);
	buf_printf(&b, "critical,CA:%s", in->ca ? "TRUE" : "FALSE");
	if (in->ca && in->path_len >= 0)
		buf_printf(&b, ",pathlen:%d", in->path_len);
	if ((rc = add_ext(x, &ctx, NID_basic_constraints, b.p, e)) != 0)
		goto out;
	if (in->ku) {
		buf_reset(&b);
		ku_text(in->ku, &b);
		if ((rc = add_ext(x, &ctx, NID_key_usage, b.p, e)) != 0)
			goto out;
	}
	if (in->eku && *in->eku &&
	    (rc = add_ext(x, &ctx, NID_ext_key_usage, in->eku, e)) != 0)
		goto out;
	if ((rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash", e)) != 0)
		goto out;
	if ((rc = add_ext(x, &ctx, NID_authority_key_identifier,
	    "keyid:always", e)) != 0)
		goto out;
	if (in->nsan > 0 && (rc = add_san(x, &ctx, in->san, in->nsan, e)) != 0)
		goto out;
	if (in->aia_issuer_url || in->ocsp_url) {
		buf_reset(&b);
		if (in->ocsp_url)
			buf_printf(&b, "OCSP;URI:%s", in->ocsp_url);
		if (in->aia_issuer_url)
			buf_printf(&b, "%scaIssuers;URI:%s", b.len ? "," : "",
			    in->aia_issuer_url);
		if ((rc = add_ext(x, &ctx, NID_info_access, b.p, e)) != 0)
			goto out;
	}
	if (in->crl_url) {
		buf_reset(&b);
		buf_printf(&b, "URI:%s", in->crl_url);
		if ((rc = add_ext(x, &ctx, NID_crl_distribution_points, b.p,
		    e)) != 0)
			goto out;
	}
	if (in->freshest_url) {
		buf_reset(&b);
		buf_printf(&b, "URI:%s", in->freshest_url);
		if ((rc = add_ext(x, &ctx, NID_freshest_crl, b.p, e)) != 0)
			goto out;
	}
	if (in->policy_oid &&
	    (rc = add_policies(x, in->policy_oid, in->cps_url, e)) != 0)
		goto out;
	if (in->ocsp_nocheck && (rc = add_nocheck(x, e)) != 0)
		goto out;
	if (in->issuer != NULL && (alg = alg_of(in->issuer_key, md)) != NULL) {
		if (in->later != NULL) {
			/* its index made here, not in x509_sign_later's
			 * threads */
			(void)kept_index();
			*in->later = xmalloc(sizeof **in->later);
			**in->later = (struct x509_unsigned){ x,
			    in->issuer_key, md, alg };
			x = NULL;
			rc = 0;
			goto out;
		}
		if ((rc = sign_direct(x, in->issuer_key, md, alg, e)) != 0)
			goto out;
	} else {
		if (X509_sign(x, in->issuer_key, md) <= 0)
			goto ssl;
		x509_keep_der(x);
		if (in->issuer != NULL)
			alg_learn(in->issuer_key, md, x);
	}
	*out = x;
	x = NULL;
	rc = 0;
	goto out;
ssl:
	rc = err_ssl(e, EX_SOFTWARE, "certificate");
out:
	X509_free(x);
	buf_free(&b);
	return rc;
}

int
x509_sign_later(struct x509_unsigned *u, X509 **out, struct err *e)
{
	int rc;

	*out = NULL;
	if ((rc = sign_direct(u->x, u->key, u->md, u->alg, e)) != 0)
		return rc;
	*out = u->x;
	u->x = NULL;
	return 0;
}

void
x509_unsigned_free(struct x509_unsigned *u)
{
	if (u == NULL)
		return;
	X509_free(u->x);
	free(u);
}

int
x509_csr_make(EVP_PKEY *key, const X509_NAME *subject, const char *digest,
    X509_REQ **out, struct err *e)
{
	X509_REQ *r = NULL;
	const EVP_MD *md = NULL;

	*out = NULL;
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 &&
	    EVP_PKEY_get_id(key) != EVP_PKEY_ED448)
		md = EVP_get_digestbyname(digest ? digest : "sha256");
	if ((r = X509_REQ_new()) == NULL || !X509_REQ_set_version(r, 0) ||
	    !X509_REQ_set_subject_name(r, subject) ||
	    !X509_REQ_set_pubkey(r, key) || X509_REQ_sign(r, key, md) <= 0) {
		X509_REQ_free(r);
		return err_ssl(e, EX_SOFTWARE, "certificate request");
	}
	*out = r;
	return 0;
}

/* Sign r (subject and key set) with its extensions exts (may be NULL). */
static int
csr_finish(X509_REQ *r, EVP_PKEY *key, const char *digest,
    STACK_OF(X509_EXTENSION) *exts, struct err *e)
{
	const EVP_MD *md = NULL;

	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 &&
	    EVP_PKEY_get_id(key) != EVP_PKEY_ED448)
		md = EVP_get_digestbyname(digest ? digest : "sha256");
	if (!X509_REQ_set_version(r, 0) || !X509_REQ_set_pubkey(r, key) ||
	    (exts && !X509_REQ_add_extensions(r, exts)) ||
	    X509_REQ_sign(r, key, md) <= 0)
		return err_ssl(e, EX_SOFTWARE, "certificate request");
	return 0;
}

int
x509_csr_make_san(EVP_PKEY *key, const X509_NAME *subject,
    const char *digest, const char *const *san, size_t nsan,
    X509_REQ **out, struct err *e)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	X509_REQ *r = NULL;
	struct buf b = {0};
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < nsan; i++) {
		if (strchr(san[i], ',') != NULL) {
			rc = err_set(e, EX_DATAERR, "subjectAltName: ',' not "
			    "allowed in '%s'", san[i]);
			goto out;
		}
		buf_printf(&b, "%s%s", i ? "," : "", san[i]);
	}
	if (nsan > 0 && ((ext = X509V3_EXT_nconf_nid(NULL, NULL,
	    NID_subject_alt_name, b.p)) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    !sk_X509_EXTENSION_push(exts, ext))) {
		rc = err_ssl(e, EX_DATAERR, "subjectAltName %s", b.p);
		goto out;
	}
	if (exts)
		ext = NULL;	/* owned by exts now */
	if ((r = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_subject_name(r, subject)) {
		rc = err_ssl(e, EX_SOFTWARE, "certificate request");
		goto out;
	}
	if ((rc = csr_finish(r, key, digest, exts, e)) != 0)
		goto out;
	*out = r;
	r = NULL;
out:
	X509_REQ_free(r);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	buf_free(&b);
	return rc;
}

int
x509_csr_like(EVP_PKEY *key, X509 *x, const char *digest, X509_REQ **out,
    struct err *e)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext;
	X509_REQ *r = NULL;
	int rc, i;

	*out = NULL;
	if ((r = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_subject_name(r, X509_get_subject_name(x))) {
		rc = err_ssl(e, EX_SOFTWARE, "certificate request");
		goto out;
	}
	i = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
	if (i >= 0) {
		ext = X509_EXTENSION_dup(X509_get_ext(x, i));
		if (ext == NULL || (exts = sk_X509_EXTENSION_new_null()) ==
		    NULL || !sk_X509_EXTENSION_push(exts, ext)) {
			X509_EXTENSION_free(ext);
			rc = err_ssl(e, EX_SOFTWARE, "subjectAltName");
			goto out;
		}
	}
	if ((rc = csr_finish(r, key, digest, exts, e)) != 0)
		goto out;
	*out = r;
	r = NULL;
out:
	X509_REQ_free(r);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

static int
looks_pem(const void *data, size_t len)
{
	static const char tag[] = "-----BEGIN ";
	const char *p = data;
	size_t i;

	for (i = 0; i + sizeof tag - 1 <= len; i++)
		if (p[i] == '-' && memcmp(p + i, tag, sizeof tag - 1) == 0)
			return 1;
	return 0;
}

int
x509_cert_read(const void *data, size_t len, X509 **out, struct err *e)
{
	const unsigned char *p = data;
	BIO *b = NULL;
	X509 *x = NULL;

	*out = NULL;
	if (len == 0 || len > CERT_MAX_DER * 2)
		return err_set(e, EX_DATAERR, "certificate: empty or too large");
	if (looks_pem(data, len)) {
		b = BIO_new_mem_buf(data, (int)len);
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		x = d2i_X509(NULL, &p, (long)len);
		if (x != NULL && p != (const unsigned char *)data + len) {
			X509_free(x);
			return err_set(e, EX_DATAERR, "certificate: trailing "
			    "bytes after the DER");
		}
	}
	if (x == NULL)
		return err_ssl(e, EX_DATAERR, "certificate: not a PEM or DER "
		    "X.509 certificate");
	*out = x;
	return 0;
}

int
x509_certs_read(const void *data, size_t len, STACK_OF(X509) **out,
    struct err *e)
{
	STACK_OF(X509) *sk = NULL;
	BIO *b = NULL;
	X509 *x = NULL;
	int rc;

	*out = NULL;
	if (!looks_pem(data, len)) {
		if ((rc = x509_cert_read(data, len, &x, e)) != 0)
			return rc;
		sk = sk_X509_new_null();
		sk_X509_push(sk, x);
		*out = sk;
		return 0;
	}
	sk = sk_X509_new_null();
	b = BIO_new_mem_buf(data, (int)len);
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	ERR_clear_error();	/* the read that ended the loop */
	BIO_free(b);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return err_set(e, EX_DATAERR, "no PEM certificate found");
	}
	*out = sk;
	return 0;
}

/*
 * A certificate's DER, kept with it. OpenSSL 3.0 keeps the encoding of
 * a certificate it read, but encodes one it built again each time it is
 * asked (the whole certificate, extensions and all), which cost more
 * than its signature when the signer wrote it out, stored it and took
 * its fingerprint. The DER hangs on the X509 as ex_data (freed with it,
 * shared by its references, not copied by X509_dup).
 */
struct kept {
	size_t len;
	unsigned int mdlen;		/* 0: fingerprint not taken yet */
	unsigned char md[32];		/* SHA-256 of der: taken once */
	unsigned char der[];
};

static void
kept_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	free(ptr);
}

static int
kept_index(void)
{
	static int idx = -1;

	if (idx < 0 && (idx = X509_get_ex_new_index(0, NULL, NULL, NULL,
	    kept_free)) < 0)
		diag_nomem();
	return idx;
}

/* Keep der (len bytes) as x's encoding. */
static void
keep(X509 *x, const unsigned char *der, size_t len)
{
	struct kept *k = xmalloc(sizeof *k + len);

	k->len = len;
	k->mdlen = 0;
	memcpy(k->der, der, len);
	if (!X509_set_ex_data(x, kept_index(), k))
		diag_nomem();
}

void
x509_keep_der(X509 *x)
{
	unsigned char *der = NULL;
	struct kept *k;
	int len;

	if (X509_get_ex_data(x, kept_index()) != NULL)
		return;
	if ((len = i2d_X509(x, &der)) <= 0)
		diag_nomem();
	k = xmalloc(sizeof *k + (size_t)len);
	k->len = (size_t)len;
	k->mdlen = 0;
	memcpy(k->der, der, (size_t)len);
	OPENSSL_free(der);
	if (!X509_set_ex_data(x, kept_index(), k))
		diag_nomem();
}

/* x's DER: the kept copy, or a fresh encoding into *fresh. */
static const unsigned char *
der_of(X509 *x, size_t *len, unsigned char **fresh)
{
	const struct kept *k = X509_get_ex_data(x, kept_index());
	int n;

	*fresh = NULL;
	if (k != NULL) {
		*len = k->len;
		return k->der;
	}
	if ((n = i2d_X509(x, fresh)) <= 0) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)n;
	return *fresh;
}

void
x509_pem(X509 *x, struct buf *out)
{
	unsigned char *fresh;
	size_t n;
	const unsigned char *der = der_of(x, &n, &fresh);

	if (der == NULL)
		return;
	/* as PEM_write_bio_X509 writes it: 64 columns */
	buf_adds(out, "-----BEGIN CERTIFICATE-----\n");
	buf_base64_lines(out, der, n);
	buf_adds(out, "-----END CERTIFICATE-----\n");
	OPENSSL_free(fresh);
}

void
x509_der(X509 *x, struct buf *out)
{
	unsigned char *fresh;
	size_t n;
	const unsigned char *der = der_of(x, &n, &fresh);

	if (der != NULL)
		buf_add(out, der, n);
	OPENSSL_free(fresh);
}

void
x509_req_pem(X509_REQ *r, struct buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;

	PEM_write_bio_X509_REQ(b, r);
	len = BIO_get_mem_data(b, &p);
	if (len > 0)
		buf_add(out, p, (size_t)len);
	BIO_free(b);
}

/* SHA-256 fetched once: with EVP_sha256() OpenSSL 3.0 looks it up
 * again for every digest. */
static EVP_MD *
sha256(void)
{
	static EVP_MD *md;

	if (md == NULL && (md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		diag_nomem();
	return md;
}

void
x509_fingerprint(X509 *x, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	struct kept *k = X509_get_ex_data(x, kept_index());
	unsigned char md[EVP_MAX_MD_SIZE], *fresh = NULL;
	unsigned int n = 0, i;
	char s[3 * EVP_MAX_MD_SIZE];
	size_t len;
	const unsigned char *der;

	if (k != NULL && k->mdlen == sizeof k->md) {
		memcpy(md, k->md, sizeof k->md);
		n = k->mdlen;
	} else {
		/* the SHA-256 of the DER, as X509_digest takes it */
		der = der_of(x, &len, &fresh);
		if (der == NULL || !EVP_Digest(der, len, md, &n, sha256(),
		    NULL))
			n = 0;
		if (k != NULL && n == sizeof k->md) {
			memcpy(k->md, md, n);
			k->mdlen = n;
		}
	}
	OPENSSL_free(fresh);
	for (i = 0; i < n; i++) {
		s[3 * i] = hex[md[i] >> 4];
		s[3 * i + 1] = hex[md[i] & 15];
		s[3 * i + 2] = ':';
	}
	if (n)
		buf_add(out, s, 3 * (size_t)n - 1);
}

void
x509_serial_hex(X509 *x, struct buf *out)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	char *p;

	if (hex) {
		for (p = hex; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		buf_adds(out, hex);
	}
	OPENSSL_free(hex);
	BN_free(bn);
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return timegm(&tm);
}

time_t
x509_not_before(X509 *x)
{
	return asn1_time(X509_get0_notBefore(x));
}

time_t
x509_not_after(X509 *x)
{
	return asn1_time(X509_get0_notAfter(x));
}

int
x509_key_matches(X509 *x, const void *spki, size_t len)
{
	unsigned char *der = NULL;
	int n, same;

	n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
	same = n > 0 && (size_t)n == len && memcmp(der, spki, len) == 0;
	OPENSSL_free(der);
	return same;
}

int
x509_check_ca(X509 *x, struct err *e)
{
	uint32_t ku;

	if (X509_check_ca(x) != 1 ||
	    !(X509_get_extension_flags(x) & EXFLAG_BCONS))
		return err_set(e, EX_DATAERR, "certificate is not a CA "
		    "certificate (basicConstraints CA:TRUE missing)");
	ku = X509_get_key_usage(x);
	if (!(ku & KU_KEY_CERT_SIGN) && ku != UINT32_MAX)
		return err_set(e, EX_DATAERR, "certificate lacks keyCertSign "
		    "in keyUsage");
	return 0;
}

int
x509_verify(X509 *leaf, STACK_OF(X509) *trusted, STACK_OF(X509) *untrusted,
    STACK_OF(X509) **chain, struct err *e)
{
	X509_STORE *st = NULL;
	X509_STORE_CTX *ctx = NULL;
	int i, rc = 0;

	if ((st = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL) {
		rc = err_ssl(e, EX_SOFTWARE, "verify");
		goto out;
	}
	for (i = 0; trusted && i < sk_X509_num(trusted); i++)
		X509_STORE_add_cert(st, sk_X509_value(trusted, i));
	if (!X509_STORE_CTX_init(ctx, st, leaf, untrusted)) {
		rc = err_ssl(e, EX_SOFTWARE, "verify");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1)
		rc = err_set(e, EX_DATAERR, "chain does not verify: %s",
		    X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
	else if (chain != NULL)
		*chain = X509_STORE_CTX_get1_chain(ctx);
	ERR_clear_error();
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return rc;
}
