/*
 * acme_revoke - revokeCert (RFC 8555 7.6): a certificate this CA issued
 * is revoked when the request is signed by the certificate's own key
 * (jwk) or by an account (kid) of its realm that either had it issued
 * (an ACME order of the account names it) or holds valid, unexpired
 * authorizations for every name in it.
 *
 * The status change itself is revoke_cert (lib/revoke.h), the one code
 * path `certpipe cert revoke` takes too: the rules of revoke_next, the
 * audit events, and the trigger poke after which the scheduler
 * republishes the CRL and the OCSP responses.
 *
 * Reasons (RFC 5280 5.3.1) a subscriber may give: unspecified (0, also
 * when none is given), keyCompromise (1), affiliationChanged (3),
 * superseded (4), cessationOfOperation (5). cACompromise (2) is the
 * CA's to declare, certificateHold (6) is not revocation (ACME has no
 * way to lift it), 7 is unassigned, 8-10 are not for end-entity
 * certificates: all badRevocationReason.
 */
#include <string.h>
#include <openssl/x509v3.h>
#include "acme_int.h"
#include "clock.h"
#include "revoke.h"
#include "x509.h"

#define CERT_DER_MAX (32 * 1024)

struct row {
	int64_t id, realm_id, ca_id, order_id;
	char *status, *fp, *realm, *serial;
};

static void
row_free(struct row *r)
{
	free(r->status);
	free(r->fp);
	free(r->realm);
	free(r->serial);
}

/* The payload's certificate: base64url DER, one certificate. */
static int
payload_cert(struct acme_ctx *x, X509 **out)
{
	const char *s = json_string_value(json_object_get(x->payload,
	    "certificate"));
	struct buf der = {0};
	struct err e = {0};
	int st = 0;

	if (s == NULL)
		st = acme_problem(x, 400, ACME_ERR "malformed", "revokeCert "
		    "needs a certificate (base64url DER)");
	else if (strlen(s) > CERT_DER_MAX * 4 / 3 + 4 ||
	    b64u_decode(s, strlen(s), &der, &e) != 0 || der.len == 0 ||
	    (unsigned char)der.p[0] != 0x30 ||
	    x509_cert_read(der.p, der.len, out, &e) != 0)
		st = acme_problem(x, 400, ACME_ERR "malformed", "certificate: "
		    "not a base64url DER certificate");
	buf_free(&der);
	err_free(&e);
	return st;
}

/* The reason code, checked; *why NULL never when 0 is returned. */
static int
payload_reason(struct acme_ctx *x, const struct revoke_reason **why)
{
	json_t *r = json_object_get(x->payload, "reason");
	json_int_t code = 0;

	if (r != NULL && !json_is_integer(r))
		return acme_problem(x, 400, ACME_ERR "badRevocationReason",
		    "reason must be an integer (RFC 5280 CRLReason)");
	if (r != NULL)
		code = json_integer_value(r);
	if (code == 2 || code == REVOKE_HOLD)
		return acme_problem(x, 400, ACME_ERR "badRevocationReason",
		    "reason %lld: %s", (long long)code, code == 2 ?
		    "cACompromise is the CA's to declare" : "certificateHold "
		    "is not offered: an ACME revocation is for good");
	if (code < 0 || code > 10 || (*why = revoke_reason_code((int)code))
	    == NULL)
		return acme_problem(x, 400, ACME_ERR "badRevocationReason",
		    "reason %lld is not allowed: use 0, 1, 3, 4 or 5",
		    (long long)code);
	return 0;
}

/* The inventory row of c, when this CA issued exactly c; 0 with r
 * filled, EX_NOINPUT when not, another code on a database error. */
static int
lookup(struct db *db, X509 *c, struct row *r, struct err *e)
{
	struct buf issuer = {0}, serial = {0}, fp = {0};
	struct db_stmt *st = NULL;
	int rc;

	x509_name_str(X509_get_issuer_name(c), &issuer);
	x509_serial_hex(c, &serial);
	x509_fingerprint(c, &fp);
	if ((rc = db_prep(db, &st, e, "SELECT c.id, c.realm_id, "
	    "coalesce(c.ca_id, 0), coalesce(c.order_id, 0), c.status, "
	    "c.fingerprint, r.name, c.serial FROM certificates c JOIN realms r "
	    "ON r.id = c.realm_id WHERE c.issuer = ? AND c.serial = ?", "tt",
	    buf_str(&issuer), buf_str(&serial))) != 0)
		goto out;
	if ((rc = db_step(st, e)) < 0) {
		rc = e->code;
		goto out;
	}
	/* the same issuer name and serial on another certificate is not
	 * ours; neither is one no CA of the realm signed */
	if (rc == 0 || db_int(st, 2) == 0 ||
	    strcmp(db_text(st, 5), buf_str(&fp)) != 0) {
		rc = err_set(e, EX_NOINPUT, "not issued by this CA");
		goto out;
	}
	r->id = db_int(st, 0);
	r->realm_id = db_int(st, 1);
	r->ca_id = db_int(st, 2);
	r->order_id = db_int(st, 3);
	r->status = xstrdup(db_text(st, 4));
	r->fp = xstrdup(db_text(st, 5));
	r->realm = xstrdup(db_text(st, 6));
	r->serial = xstrdup(db_text(st, 7));
	rc = 0;
out:
	db_finish(st);
	buf_free(&issuer);
	buf_free(&serial);
	buf_free(&fp);
	return rc;
}

/* Does the account hold a valid authorization for every name of c?
 * 1 yes, 0 no, -1 database error. A wildcard name needs the
 * authorization of its base name. */
static int
authz_cover(struct acme_ctx *x, X509 *c, struct err *e)
{
	GENERAL_NAMES *gn = X509_get_ext_d2i(c, NID_subject_alt_name, NULL,
	    NULL);
	struct buf now = {0}, name = {0};
	int i, n = gn ? sk_GENERAL_NAME_num(gn) : 0, ok = n > 0;
	int64_t have;

	clock_fmt(&now, clock_now());
	for (i = 0; ok == 1 && i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gn, i);
		const unsigned char *d;
		int len;

		if (g->type != GEN_DNS) {
			ok = 0;		/* only dns identifiers are authorized */
			break;
		}
		d = ASN1_STRING_get0_data(g->d.dNSName);
		len = ASN1_STRING_length(g->d.dNSName);
		if (memchr(d, '\0', (size_t)len) != NULL) {
			ok = 0;
			break;
		}
		buf_reset(&name);
		if (len > 2 && d[0] == '*' && d[1] == '.')
			buf_add(&name, d + 2, (size_t)len - 2);
		else
			buf_add(&name, d, (size_t)len);
		if (db_int64(x->a->db, &have, e, "SELECT count(*) FROM "
		    "acme_authz WHERE account_id = ? AND identifier = "
		    "lower(?) AND status = 'valid' AND expires_at > ?", "itt",
		    x->acct.id, buf_str(&name), now.p) != 0)
			ok = -1;
		else
			ok = have > 0;
	}
	GENERAL_NAMES_free(gn);
	buf_free(&now);
	buf_free(&name);
	return ok;
}

/* May the kid's account revoke r (certificate c)? 1, 0, -1 (error). */
static int
account_may(struct acme_ctx *x, const struct row *r, X509 *c,
    struct err *e)
{
	int64_t n;

	if (x->acct.realm_id != r->realm_id)
		return 0;
	if (db_int64(x->a->db, &n, e, "SELECT count(*) FROM acme_orders "
	    "WHERE account_id = ? AND (cert_id = ? OR (order_id IS NOT NULL "
	    "AND order_id = ?))", "iii", x->acct.id, r->id, r->order_id) != 0)
		return -1;
	return n > 0 ? 1 : authz_cover(x, c, e);
}

/* Signed with the certificate's key? 1, 0. */
static int
cert_key_signed(struct acme_ctx *x, X509 *c)
{
	EVP_PKEY *k = NULL;
	struct err e = {0};
	int ok;

	ok = jwk_key(x->jws.jwk, &k, &e) == 0 &&
	    EVP_PKEY_eq(X509_get0_pubkey(c), k) == 1;
	EVP_PKEY_free(k);
	err_free(&e);
	return ok;
}

int
acme_revoke_cert(struct acme_ctx *x)
{
	const struct revoke_reason *why = NULL;
	struct revoke_change ch = {0};
	struct row r = {0};
	struct buf actor = {0}, detail = {0};
	struct err e = {0};
	X509 *c = NULL;
	const char *next = NULL;
	int st, rc, may;

	if (x->payload == NULL) {
		st = acme_problem(x, 400, ACME_ERR "malformed",
		    "revokeCert needs a payload");
		goto out;
	}
	if ((st = payload_cert(x, &c)) != 0 ||
	    (st = payload_reason(x, &why)) != 0)
		goto out;
	if ((rc = lookup(x->a->db, c, &r, &e)) == EX_NOINPUT) {
		st = acme_problem(x, 404, ACME_ERR "malformed", "this CA did "
		    "not issue the certificate");
		goto out;
	}
	if (rc != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	if (x->jws.jwk != NULL) {
		may = cert_key_signed(x, c);
		buf_adds(&actor, "acme:certificate-key");
	} else {
		may = account_may(x, &r, c, &e);
		buf_printf(&actor, "acme:account:%s", x->acct.name);
	}
	if (may < 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	if (may == 0) {
		st = acme_problem(x, 403, ACME_ERR "unauthorized", "%s",
		    x->jws.jwk ? "the request is not signed by the "
		    "certificate's key" : "the account neither ordered the "
		    "certificate nor holds valid authorizations for all its "
		    "names");
		goto out;
	}
	if ((rc = revoke_next(r.status, why, &next, &e)) != 0) {
		st = strcmp(r.status, "revoked") == 0 ?
		    acme_problem(x, 400, ACME_ERR "alreadyRevoked",
		    "the certificate is already revoked") :
		    acme_problem(x, 400, ACME_ERR "malformed", "%s",
		    err_str(&e));
		goto out;
	}
	buf_printf(&detail, "reason %s (%d), by ACME revokeCert", why->name,
	    why->code);
	ch = (struct revoke_change){ r.id, r.realm_id, r.status, next,
	    why->name, NULL, actor.p, r.realm, "certificate.revoke.requested",
	    "certificate.revoke.success", detail.p, x->a->home };
	if (revoke_cert(x->a->db, &ch, &e) != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	buf_reset(&x->rs->body);
	st = 200;
out:
	X509_free(c);
	row_free(&r);
	buf_free(&actor);
	buf_free(&detail);
	err_free(&e);
	return st;
}
