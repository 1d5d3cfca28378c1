/* csr - parse an untrusted PKCS#10 request (see csr.h). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "csr.h"
#include "diag.h"
#include "domain.h"
#include "spki.h"

__attribute__((format(printf, 2, 3))) static void
warn(struct csr *c, const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	c->warn = xrealloc(c->warn, sizeof *c->warn * (c->nwarn + 1));
	c->warn[c->nwarn++] = buf_steal(&b);
}

/* UTF-8 text of an ASN.1 string, refusing control characters (they
 * would break one-line records and logs). */
static int
text(const ASN1_STRING *s, const char *what, char **out, struct err *e)
{
	unsigned char *u = NULL;
	int n, i;

	*out = NULL;
	if ((n = ASN1_STRING_to_UTF8(&u, s)) < 0)
		return err_ssl(e, EX_DATAERR, "CSR %s: not a valid string", what);
	for (i = 0; i < n; i++)
		if (u[i] < 0x20 || u[i] == 0x7f) {
			OPENSSL_free(u);
			return err_set(e, EX_DATAERR, "CSR %s: contains a control "
			    "character", what);
		}
	if (n == 0) {
		OPENSSL_free(u);
		return err_set(e, EX_DATAERR, "CSR %s: empty", what);
	}
	*out = xstrdup((char *)u);
	OPENSSL_free(u);
	return 0;
}

static int
subject(struct csr *c, const X509_NAME *n, struct err *e)
{
	static const struct {
		int nid;
		const char *name;
		size_t off;
	} f[] = {
		{ NID_commonName, "CN", offsetof(struct csr, cn) },
		{ NID_organizationName, "O", offsetof(struct csr, o) },
		{ NID_organizationalUnitName, "OU", offsetof(struct csr, ou) },
		{ NID_countryName, "C", offsetof(struct csr, c) },
		{ NID_stateOrProvinceName, "ST", offsetof(struct csr, st) },
		{ NID_localityName, "L", offsetof(struct csr, l) },
	};
	int i, nid, rc;
	size_t k;

	for (i = 0; i < X509_NAME_entry_count(n); i++) {
		X509_NAME_ENTRY *ent = X509_NAME_get_entry(n, i);
		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ent));
		for (k = 0; k < sizeof f / sizeof f[0]; k++)
			if (f[k].nid == nid)
				break;
		if (k == sizeof f / sizeof f[0]) {
			warn(c, "subject field %s dropped", nid == NID_undef ?
			    "(unknown OID)" : OBJ_nid2sn(nid));
			continue;
		}
		char **slot = (char **)((char *)c + f[k].off);
		if (*slot != NULL)
			return err_set(e, EX_DATAERR, "CSR subject: %s given "
			    "twice", f[k].name);
		if ((rc = text(X509_NAME_ENTRY_get_data(ent), f[k].name, slot,
		    e)) != 0)
			return rc;
	}
	return 0;
}

static void
add_san(struct csr *c, const char *kind, const char *v)
{
	struct buf b = {0};
	size_t i;

	buf_printf(&b, "%s:%s", kind, v);
	for (i = 0; i < c->nsan; i++)
		if (strcmp(c->san[i], b.p) == 0) {
			buf_free(&b);
			return;
		}
	c->san = xrealloc(c->san, sizeof *c->san * (c->nsan + 1));
	c->san[c->nsan++] = buf_steal(&b);
}

static int
san_one(struct csr *c, const GENERAL_NAME *g, struct err *e)
{
	char *v = NULL, ip[INET6_ADDRSTRLEN];
	const unsigned char *p;
	int rc = 0, len;

	switch (g->type) {
	case GEN_DNS:
		if ((rc = text(g->d.dNSName, "SAN DNS name", &v, e)) != 0)
			return rc;
		if ((rc = domain_normalize(v, 1, e)) != 0) {
			err_prefix(e, "CSR SAN DNS '%s'", v);
			break;
		}
		add_san(c, "DNS", v);
		break;
	case GEN_IPADD:
		p = ASN1_STRING_get0_data(g->d.iPAddress);
		len = ASN1_STRING_length(g->d.iPAddress);
		if ((len != 4 && len != 16) || inet_ntop(len == 4 ? AF_INET :
		    AF_INET6, p, ip, sizeof ip) == NULL)
			return err_set(e, EX_DATAERR, "CSR SAN IP: not an IPv4 "
			    "or IPv6 address");
		add_san(c, "IP", ip);
		break;
	case GEN_EMAIL:
		if ((rc = text(g->d.rfc822Name, "SAN email", &v, e)) != 0)
			return rc;
		if (strchr(v, '@') == NULL || strchr(v, ' ') != NULL) {
			rc = err_set(e, EX_DATAERR, "CSR SAN email '%s': not an "
			    "address", v);
			break;
		}
		add_san(c, "email", v);
		break;
	case GEN_URI:
		if ((rc = text(g->d.uniformResourceIdentifier, "SAN URI", &v,
		    e)) != 0)
			return rc;
		if (strchr(v, ':') == NULL || strchr(v, ' ') != NULL) {
			rc = err_set(e, EX_DATAERR, "CSR SAN URI '%s': not a URI",
			    v);
			break;
		}
		add_san(c, "URI", v);
		break;
	default:
		warn(c, "%s", "subjectAltName entry of an unsupported type "
		    "dropped");
	}
	free(v);
	return rc;
}

/* The requested extensions (exts, freed here; NULL: none readable, as
 * X509_REQ_get_extensions answers for a malformed request). */
static int
extensions(struct csr *c, STACK_OF(X509_EXTENSION) *exts, struct err *e)
{
	GENERAL_NAMES *gens = NULL;
	int i, j, nid, rc = 0;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *x = sk_X509_EXTENSION_value(exts, i);
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(x));
		if (nid != NID_subject_alt_name) {
			warn(c, "requested extension %s dropped", nid == NID_undef ?
			    "(unknown OID)" : OBJ_nid2sn(nid));
			continue;
		}
		if ((gens = X509V3_EXT_d2i(x)) == NULL) {
			rc = err_ssl(e, EX_DATAERR, "CSR subjectAltName: "
			    "malformed");
			goto out;
		}
		if (sk_GENERAL_NAME_num(gens) > CSR_MAX_SANS) {
			rc = err_set(e, EX_DATAERR, "CSR subjectAltName: more "
			    "than %d names", CSR_MAX_SANS);
			goto out;
		}
		for (j = 0; j < sk_GENERAL_NAME_num(gens); j++)
			if ((rc = san_one(c, sk_GENERAL_NAME_value(gens, j),
			    e)) != 0)
				goto out;
		GENERAL_NAMES_free(gens);
		gens = NULL;
	}
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

static void
attributes(struct csr *c, const STACK_OF(X509_ATTRIBUTE) *attrs)
{
	int i, nid;

	for (i = 0; i < X509at_get_attr_count(attrs); i++) {
		nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(
		    X509at_get_attr(attrs, i)));
		/* extensionRequest was read above; never echo a value
		 * (a challengePassword is a secret) */
		if (nid != NID_ext_req && nid != NID_ms_ext_req)
			warn(c, "attribute %s dropped", nid == NID_undef ?
			    "(unknown OID)" : OBJ_nid2sn(nid));
	}
}

/* X509_REQ_get_extensions over a request's attributes: the first
 * extensionRequest (or Microsoft's), when it holds a SEQUENCE. */
static STACK_OF(X509_EXTENSION) *
requested(const STACK_OF(X509_ATTRIBUTE) *attrs)
{
	static const int nids[] = { NID_ext_req, NID_ms_ext_req };
	ASN1_TYPE *t = NULL;
	const unsigned char *p;
	size_t i;
	int idx;

	for (i = 0; i < sizeof nids / sizeof nids[0]; i++)
		if ((idx = X509at_get_attr_by_NID(attrs, nids[i], -1)) >= 0) {
			t = X509_ATTRIBUTE_get0_type(X509at_get_attr(attrs,
			    idx), 0);
			break;
		}
	if (t == NULL || t->type != V_ASN1_SEQUENCE)
		return NULL;
	p = t->value.sequence->data;
	return (STACK_OF(X509_EXTENSION) *)ASN1_item_d2i(NULL, &p,
	    t->value.sequence->length, ASN1_ITEM_rptr(X509_EXTENSIONS));
}

/* The request's DER: data itself, or the first request PEM block in
 * it (decoded into *pem, the caller's), read as PEM_read_bio_X509_REQ
 * reads it. */
static int
der_of(const void *data, size_t len, const unsigned char **der,
    size_t *dlen, unsigned char **pem, struct err *e)
{
	char *name = NULL;
	long n = 0;
	BIO *b;
	int ok;

	*pem = NULL;
	if (len == 0)
		return err_set(e, EX_DATAERR, "CSR: empty input");
	if (len > CSR_MAX_BYTES)
		return err_set(e, EX_DATAERR, "CSR: larger than %d bytes",
		    CSR_MAX_BYTES);
	if (len <= 10 || memcmp(data, "-----BEGIN", 10) != 0) {
		*der = data;
		*dlen = len;
		return 0;
	}
	b = BIO_new_mem_buf(data, (int)len);
	ok = b != NULL && PEM_bytes_read_bio(pem, &n, &name,
	    PEM_STRING_X509_REQ, b, NULL, NULL) == 1;
	BIO_free(b);
	OPENSSL_free(name);
	if (!ok)
		return err_ssl(e, EX_DATAERR, "CSR: not a PEM or DER PKCS#10 "
		    "request");
	*der = *pem;
	*dlen = (size_t)n;
	return 0;
}

/* OpenSSL's own reader, for requests the fast one leaves to it: as DER
 * nothing may follow the request, in a PEM block what follows is
 * ignored (as PEM_read_bio_X509_REQ ignores it). */
static int
read_req(const unsigned char *der, size_t len, int pem, X509_REQ **out,
    struct err *e)
{
	const unsigned char *p = der;

	if ((*out = d2i_X509_REQ(NULL, &p, (long)len)) == NULL)
		return err_ssl(e, EX_DATAERR, "CSR: not a PEM or DER PKCS#10 "
		    "request");
	if (!pem && p != der + len) {
		X509_REQ_free(*out);
		*out = NULL;
		return err_set(e, EX_DATAERR, "CSR: trailing bytes after "
		    "the DER");
	}
	return 0;
}

static int
key(struct csr *c, struct err *e)
{
	char group[64] = "";
	size_t glen;
	int type = EVP_PKEY_get_base_id(c->pub);

	if ((c->alg = keys_alg_of(c->pub)) != NULL)
		return 0;
	if (type == EVP_PKEY_RSA)
		return err_set(e, EX_DATAERR, "CSR key: RSA with %d bits is not "
		    "accepted (2048, 3072 or 4096)", EVP_PKEY_get_bits(c->pub));
	if (type == EVP_PKEY_EC) {
		EVP_PKEY_get_utf8_string_param(c->pub, "group", group,
		    sizeof group, &glen);
		return err_set(e, EX_DATAERR, "CSR key: curve %s is not accepted "
		    "(P-256, P-384, P-521)", *group ? group : "(explicit)");
	}
	return err_set(e, EX_DATAERR, "CSR key: type %s is not accepted",
	    OBJ_nid2sn(type));
}

/* The request as i2d_X509_REQ writes what it read: the request info's
 * bytes as received, its algorithm and signature encoded again. */
static void
reencode(struct csr *c, const struct spki_req *r)
{
	unsigned char *alg = NULL, *sig = NULL, *p;
	int na = i2d_X509_ALGOR(r->sig_alg, &alg),
	    ns = i2d_ASN1_BIT_STRING(r->sig, &sig), body, n;

	if (na <= 0 || ns <= 0)
		diag_nomem();
	body = (int)r->tbslen + na + ns;
	n = ASN1_object_size(1, body, V_ASN1_SEQUENCE);
	if ((c->der = p = OPENSSL_malloc((size_t)n)) == NULL)
		diag_nomem();
	c->derlen = (size_t)n;
	ASN1_put_object(&p, 1, body, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(p, r->tbs, r->tbslen);
	memcpy(p + r->tbslen, alg, (size_t)na);
	memcpy(p + r->tbslen + na, sig, (size_t)ns);
	OPENSSL_free(alg);
	OPENSSL_free(sig);
}

/* What follows the proof of possession, on either path. */
static int
names(struct csr *c, const X509_NAME *subj,
    STACK_OF(X509_EXTENSION) *exts, const STACK_OF(X509_ATTRIBUTE) *attrs,
    struct err *e)
{
	int rc;

	if ((rc = subject(c, subj, e)) != 0) {
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		return rc;
	}
	if ((rc = extensions(c, exts, e)) != 0)
		return rc;
	attributes(c, attrs);
	if (c->cn == NULL && c->nsan == 0)
		return err_set(e, EX_DATAERR, "CSR names nothing: no CN and no "
		    "subjectAltName");
	return 0;
}

static int
pop_failed(struct err *e)
{
	return err_ssl(e, EX_DATAERR, "CSR signature does not verify (no "
	    "proof of possession)");
}

/*
 * The fast path (lib/spki.h): no provider decoder for the key, the
 * signature checked over the bytes received. 1 when it does not apply
 * (nothing changed in c); else 0 or the error.
 */
static int
fast(struct csr *c, const unsigned char *der, size_t len, struct err *e)
{
	struct spki_req r;
	int rc, v;

	if (!spki_req_read(der, len, &r))
		return 1;
	c->pub = r.pub;
	if ((rc = key(c, e)) != 0)
		goto out;
	if ((v = spki_req_verify(&r)) < 0) {
		c->pub = NULL;
		rc = 1;
		goto out;
	}
	if (v == 0) {
		rc = pop_failed(e);
		goto out;
	}
	reencode(c, &r);
	rc = names(c, r.subject, requested(r.attrs), r.attrs, e);
out:
	if (c->pub != NULL)
		r.pub = NULL;	/* c's now */
	spki_req_free(&r);
	return rc;
}

/* The X509_REQ's attributes, borrowed. */
static STACK_OF(X509_ATTRIBUTE) *
attrs_of(X509_REQ *req)
{
	STACK_OF(X509_ATTRIBUTE) *sk = sk_X509_ATTRIBUTE_new_null();
	int i;

	if (sk == NULL)
		diag_nomem();
	for (i = 0; i < X509_REQ_get_attr_count(req); i++)
		if (!sk_X509_ATTRIBUTE_push(sk, X509_REQ_get_attr(req, i)))
			diag_nomem();
	return sk;
}

/* OpenSSL's path, for any request the fast one does not take. */
static int
slow(struct csr *c, const unsigned char *der, size_t len, int pem,
    struct err *e)
{
	STACK_OF(X509_ATTRIBUTE) *attrs = NULL;
	X509_REQ *req = NULL;
	int rc, n;

	if ((rc = read_req(der, len, pem, &req, e)) != 0)
		return rc;
	if ((c->pub = X509_REQ_get_pubkey(req)) == NULL) {
		rc = err_ssl(e, EX_DATAERR, "CSR key: unreadable public key");
		goto out;
	}
	if ((rc = key(c, e)) != 0)
		goto out;
	/* proof of possession: the request is signed by its own key */
	if (X509_REQ_verify(req, c->pub) != 1) {
		rc = pop_failed(e);
		goto out;
	}
	if ((n = i2d_X509_REQ(req, &c->der)) <= 0) {
		rc = err_ssl(e, EX_SOFTWARE, "CSR: cannot encode");
		goto out;
	}
	c->derlen = (size_t)n;
	attrs = attrs_of(req);
	rc = names(c, X509_REQ_get_subject_name(req),
	    X509_REQ_get_extensions(req), attrs, e);
out:
	sk_X509_ATTRIBUTE_free(attrs);
	X509_REQ_free(req);
	return rc;
}

static int
parse(const void *data, size_t len, struct csr *c, int fastpath,
    struct err *e)
{
	const unsigned char *der = NULL;
	unsigned char *pem = NULL;
	size_t dlen = 0;
	int rc;

	memset(c, 0, sizeof *c);
	if ((rc = der_of(data, len, &der, &dlen, &pem, e)) == 0 &&
	    (!fastpath || (rc = fast(c, der, dlen, e)) == 1))
		rc = slow(c, der, dlen, pem != NULL, e);
	OPENSSL_free(pem);
	ERR_clear_error();
	if (rc != 0)
		csr_free(c);
	return rc;
}

int
csr_parse(const void *data, size_t len, struct csr *c, struct err *e)
{
	return parse(data, len, c, 1, e);
}

int
csr_parse_openssl(const void *data, size_t len, struct csr *c,
    struct err *e)
{
	return parse(data, len, c, 0, e);
}

void
csr_free(struct csr *c)
{
	size_t i;

	if (c == NULL)
		return;
	OPENSSL_free(c->der);
	EVP_PKEY_free(c->pub);
	free(c->cn); free(c->o); free(c->ou); free(c->c); free(c->st);
	free(c->l);
	for (i = 0; i < c->nsan; i++)
		free(c->san[i]);
	free(c->san);
	for (i = 0; i < c->nwarn; i++)
		free(c->warn[i]);
	free(c->warn);
	memset(c, 0, sizeof *c);
}
