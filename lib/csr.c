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
#include "domain.h"

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
subject(struct csr *c, struct err *e)
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
	const X509_NAME *n = X509_REQ_get_subject_name(c->req);
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

static int
extensions(struct csr *c, struct err *e)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(c->req);
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
attributes(struct csr *c)
{
	int i, nid;

	for (i = 0; i < X509_REQ_get_attr_count(c->req); i++) {
		nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(
		    X509_REQ_get_attr(c->req, i)));
		/* extensionRequest was read above; never echo a value
		 * (a challengePassword is a secret) */
		if (nid != NID_ext_req && nid != NID_ms_ext_req)
			warn(c, "attribute %s dropped", nid == NID_undef ?
			    "(unknown OID)" : OBJ_nid2sn(nid));
	}
}

static int
read_req(const void *data, size_t len, X509_REQ **out, struct err *e)
{
	const unsigned char *p = data;
	BIO *b;

	*out = NULL;
	if (len == 0)
		return err_set(e, EX_DATAERR, "CSR: empty input");
	if (len > CSR_MAX_BYTES)
		return err_set(e, EX_DATAERR, "CSR: larger than %d bytes",
		    CSR_MAX_BYTES);
	if (len > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
		b = BIO_new_mem_buf(data, (int)len);
		*out = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		*out = d2i_X509_REQ(NULL, &p, (long)len);
		if (*out && p != (const unsigned char *)data + len) {
			X509_REQ_free(*out);
			*out = NULL;
			return err_set(e, EX_DATAERR, "CSR: trailing bytes after "
			    "the DER");
		}
	}
	if (*out == NULL)
		return err_ssl(e, EX_DATAERR, "CSR: not a PEM or DER PKCS#10 "
		    "request");
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

int
csr_parse(const void *data, size_t len, struct csr *c, struct err *e)
{
	int rc;

	memset(c, 0, sizeof *c);
	if ((rc = read_req(data, len, &c->req, e)) != 0)
		goto out;
	if ((c->pub = X509_REQ_get_pubkey(c->req)) == NULL) {
		rc = err_ssl(e, EX_DATAERR, "CSR key: unreadable public key");
		goto out;
	}
	if ((rc = key(c, e)) != 0)
		goto out;
	/* proof of possession: the request is signed by its own key */
	if (X509_REQ_verify(c->req, c->pub) != 1) {
		rc = err_ssl(e, EX_DATAERR, "CSR signature does not verify "
		    "(no proof of possession)");
		goto out;
	}
	if ((rc = subject(c, e)) != 0 || (rc = extensions(c, e)) != 0)
		goto out;
	attributes(c);
	if (c->cn == NULL && c->nsan == 0) {
		rc = err_set(e, EX_DATAERR, "CSR names nothing: no CN and no "
		    "subjectAltName");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	if (rc != 0)
		csr_free(c);
	return rc;
}

void
csr_free(struct csr *c)
{
	size_t i;

	if (c == NULL)
		return;
	X509_REQ_free(c->req);
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
