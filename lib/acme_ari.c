/*
 * acme_ari - ACME Renewal Information (RFC 9773): the CertID parser,
 * renewalInfo (GET base/acme/renewal-info/<CertID>, unauthenticated)
 * and the check of a newOrder's "replaces".
 *
 * A CertID is base64url(keyIdentifier of the certificate's Authority
 * Key Identifier) "." base64url(the DER content octets of its serial).
 * It names the certificate by serial (indexed) and is confirmed by the
 * AKI of the stored certificate, so two CAs' equal serials never mix.
 * The parser takes only the canonical form (no padding, no stray bits,
 * a minimal serial), so one certificate has one CertID string and
 * acme_orders.replaces can be compared as text.
 *
 * The window follows the template's renewal rule (tmpl_renew_before):
 * renewal is due B before notAfter; the rule's window is
 * [notAfter - B, notAfter - B/2] (half of B left for retries), and
 * each certificate is given the quarter-B slice of it that a hash of
 * its serial picks, so certificates issued together do not all come
 * back at once, and one certificate always gets the same answer.
 * A revoked or suspended certificate gets a window in the past: renew
 * now.
 */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include "acme_int.h"
#include "clock.h"
#include "tmpl.h"
#include "x509.h"

#define CERTID_MAX  256		/* characters */
#define AKI_MAX     64		/* keyIdentifier octets */
#define SERIAL_MAX  21		/* 20 octets and a sign octet */
#define ARI_RETRY   "21600"	/* seconds: poll every 6 hours */

int
acme_ari_certid(const char *s, struct buf *aki, struct buf *serial,
    struct err *e)
{
	const char *dot = s ? strchr(s, '.') : NULL;
	const unsigned char *p;
	struct buf sn = {0};
	BIGNUM *bn = NULL;
	char *hex = NULL;
	int rc = EX_DATAERR;

	buf_reset(aki);
	buf_reset(serial);
	if (s == NULL || strlen(s) > CERTID_MAX || dot == NULL || dot == s ||
	    dot[1] == '\0' || strchr(dot + 1, '.') != NULL) {
		err_set(e, rc, "CertID: want base64url(AKI).base64url(serial)");
		goto out;
	}
	if (b64u_decode(s, (size_t)(dot - s), aki, e) != 0 || aki->len == 0 ||
	    aki->len > AKI_MAX) {
		err_free(e);
		err_set(e, rc, "CertID: bad key identifier");
		goto out;
	}
	if (b64u_decode(dot + 1, strlen(dot + 1), &sn, e) != 0 ||
	    sn.len == 0 || sn.len > SERIAL_MAX) {
		err_free(e);
		err_set(e, rc, "CertID: bad serial");
		goto out;
	}
	/* DER INTEGER content: positive, minimal */
	p = (const unsigned char *)sn.p;
	if ((p[0] & 0x80) || (sn.len > 1 && p[0] == 0 && !(p[1] & 0x80))) {
		err_set(e, rc, "CertID: the serial is not a minimal positive "
		    "DER integer");
		goto out;
	}
	if ((bn = BN_bin2bn(p, (int)sn.len, NULL)) == NULL || BN_is_zero(bn) ||
	    (hex = BN_bn2hex(bn)) == NULL) {
		err_set(e, rc, "CertID: bad serial");
		goto out;
	}
	for (char *q = hex; *q; q++)
		if (*q >= 'A' && *q <= 'F')
			*q = (char)(*q - 'A' + 'a');
	buf_adds(serial, hex);
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	buf_free(&sn);
	return rc;
}

int
acme_ari_certid_of(X509 *x, struct buf *out, struct err *e)
{
	const ASN1_OCTET_STRING *kid = X509_get0_authority_key_id(x);
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	struct buf der = {0};
	const unsigned char *d = ASN1_STRING_get0_data(sn);
	int n = ASN1_STRING_length(sn);

	buf_reset(out);
	if (kid == NULL || ASN1_STRING_length(kid) <= 0)
		return err_set(e, EX_DATAERR, "no authority key identifier");
	if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER || n <= 0)
		return err_set(e, EX_DATAERR, "serial not positive");
	if (d[0] & 0x80)
		buf_add(&der, "", 1);
	buf_add(&der, d, (size_t)n);
	b64u_encode(ASN1_STRING_get0_data(kid),
	    (size_t)ASN1_STRING_length(kid), out);
	buf_adds(out, ".");
	b64u_encode(der.p, der.len, out);
	buf_free(&der);
	return 0;
}

int
acme_ari_window(const char *rule, time_t nb, time_t na, const char *serial,
    time_t *start, time_t *end, struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	uint64_t h = 0;
	int64_t b, slice;
	int rc, i;

	if ((rc = tmpl_renew_before(rule, nb, na, &b, e)) != 0)
		return rc;
	slice = b / 4;
	if (!EVP_Digest(serial, strlen(serial), md, &n, EVP_sha256(), NULL))
		return err_set(e, EX_SOFTWARE, "ARI jitter: no SHA-256");
	for (i = 0; i < 8; i++)
		h = h << 8 | md[i];
	*start = na - (time_t)b + (time_t)(h % (uint64_t)(slice + 1));
	*end = *start + (time_t)(slice > 0 ? slice : 1);
	return 0;
}

struct found {
	int64_t id, realm_id, order_id;
	char *status, *rule, *serial;
	X509 *x;
};

static void
found_free(struct found *f)
{
	free(f->status);
	free(f->rule);
	free(f->serial);
	X509_free(f->x);
	memset(f, 0, sizeof *f);
}

/* The certificate of a CA here with this serial whose AKI is aki:
 * 0 with f filled, EX_NOINPUT, or a database error. */
static int
find(struct db *db, const struct buf *aki, const char *serial,
    struct found *f, struct err *e)
{
	struct db_stmt *st = NULL;
	const ASN1_OCTET_STRING *kid;
	struct err pe = {0};
	X509 *x;
	const char *pem;
	int rc;

	if ((rc = db_prep(db, &st, e, "SELECT c.id, c.realm_id, "
	    "coalesce(c.order_id, 0), c.status, t.renew_before, c.pem, "
	    "c.serial FROM certificates c LEFT JOIN templates t ON "
	    "t.id = c.template_id WHERE c.serial = ? AND c.ca_id IS NOT NULL",
	    "t", serial)) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1) {
		x = NULL;
		pem = db_text(st, 5);
		if (x509_cert_read(pem, strlen(pem), &x, &pe) != 0) {
			err_free(&pe);
			continue;
		}
		kid = X509_get0_authority_key_id(x);
		if (kid == NULL || (size_t)ASN1_STRING_length(kid) != aki->len ||
		    memcmp(ASN1_STRING_get0_data(kid), aki->p, aki->len) != 0) {
			X509_free(x);
			continue;
		}
		f->id = db_int(st, 0);
		f->realm_id = db_int(st, 1);
		f->order_id = db_int(st, 2);
		f->status = xstrdup(db_text(st, 3));
		f->rule = db_text(st, 4) ? xstrdup(db_text(st, 4)) : NULL;
		f->serial = xstrdup(db_text(st, 6));
		f->x = x;
		break;
	}
	db_finish(st);
	if (rc < 0)
		return e->code;
	return rc == 1 ? 0 : err_set(e, EX_NOINPUT, "no such certificate");
}

int
acme_renewal_info(struct acme_ctx *x, const char *rest)
{
	struct buf aki = {0}, serial = {0}, s = {0}, en = {0};
	struct found f = {0};
	struct err e = {0};
	time_t start, end, now = clock_now();
	int st, rc;

	if (*rest != '/' || rest[1] == '\0') {
		st = acme_problem(x, 404, ACME_ERR "malformed", "want "
		    "renewal-info/<CertID>");
		goto out;
	}
	if (strcmp(x->r->method, "GET") != 0) {
		http_resp_header(x->rs, "Allow", "GET");
		st = acme_problem(x, 405, ACME_ERR "malformed",
		    "renewalInfo takes GET");
		goto out;
	}
	if (acme_ari_certid(rest + 1, &aki, &serial, &e) != 0) {
		st = acme_problem(x, 400, ACME_ERR "malformed", "%s",
		    err_str(&e));
		goto out;
	}
	if ((rc = find(x->a->db, &aki, serial.p, &f, &e)) == EX_NOINPUT) {
		st = acme_problem(x, 404, ACME_ERR "malformed", "no "
		    "certificate of this CA has this CertID");
		goto out;
	}
	if (rc != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	if (strcmp(f.status, "revoked") == 0 ||
	    strcmp(f.status, "suspended") == 0) {
		start = now - 86400;
		end = now - 3600;
	} else if (acme_ari_window(f.rule, x509_not_before(f.x),
	    x509_not_after(f.x), f.serial, &start, &end, &e) != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	clock_fmt(&s, start);
	clock_fmt(&en, end);
	http_resp_header(x->rs, "Retry-After", ARI_RETRY);
	st = acme_json(x, 200, json_pack("{s:{s:s,s:s}}", "suggestedWindow",
	    "start", s.p, "end", en.p));
out:
	found_free(&f);
	buf_free(&aki);
	buf_free(&serial);
	buf_free(&s);
	buf_free(&en);
	err_free(&e);
	return st;
}

/* Does certificate x name one of the identifiers ({type, value})? */
static int
shares_name(X509 *x, json_t *identifiers)
{
	GENERAL_NAMES *gn = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	int i, hit = 0;
	size_t j;
	json_t *id;

	for (i = 0; gn && !hit && i < sk_GENERAL_NAME_num(gn); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gn, i);
		const char *v;

		if (g->type != GEN_DNS)
			continue;
		json_array_foreach(identifiers, j, id) {
			v = json_string_value(json_object_get(id, "value"));
			if (v && strlen(v) == (size_t)ASN1_STRING_length(
			    g->d.dNSName) && strncasecmp(v, (const char *)
			    ASN1_STRING_get0_data(g->d.dNSName), strlen(v))
			    == 0) {
				hit = 1;
				break;
			}
		}
	}
	GENERAL_NAMES_free(gn);
	return hit;
}

int
acme_ari_replaces(struct acme_ctx *x, const char *certid, int64_t account_id,
    json_t *identifiers, int64_t *cert_id)
{
	struct buf aki = {0}, serial = {0};
	struct found f = {0};
	struct err e = {0};
	int64_t n;
	int st = 0, rc;

	if (acme_ari_certid(certid, &aki, &serial, &e) != 0) {
		st = acme_problem(x, 400, ACME_ERR "malformed", "replaces: %s",
		    err_str(&e));
		goto out;
	}
	if ((rc = find(x->a->db, &aki, serial.p, &f, &e)) == EX_NOINPUT) {
		st = acme_problem(x, 400, ACME_ERR "malformed", "replaces: no "
		    "certificate of this CA has this CertID");
		goto out;
	}
	if (rc != 0 || db_int64(x->a->db, &n, &e, "SELECT count(*) FROM "
	    "acme_orders WHERE account_id = ? AND (cert_id = ? OR "
	    "(order_id IS NOT NULL AND order_id = ?))", "iii", account_id,
	    f.id, f.order_id) != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	if (n == 0) {
		st = acme_problem(x, 403, ACME_ERR "unauthorized", "replaces: "
		    "the certificate was not issued to this account");
		goto out;
	}
	if (!json_is_array(identifiers) || !shares_name(f.x, identifiers)) {
		st = acme_problem(x, 400, ACME_ERR "malformed", "replaces: "
		    "the order shares no identifier with the certificate");
		goto out;
	}
	/* RFC 9773 5: replaced once, by one finalized order */
	if (db_int64(x->a->db, &n, &e, "SELECT count(*) FROM acme_orders "
	    "WHERE replaces = ? AND status IN ('processing', 'valid')", "t",
	    certid) != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	if (n > 0) {
		st = acme_problem(x, 409, ACME_ERR "alreadyReplaced",
		    "replaces: the certificate was already replaced");
		goto out;
	}
	*cert_id = f.id;
out:
	found_free(&f);
	buf_free(&aki);
	buf_free(&serial);
	err_free(&e);
	return st;
}
