/* cert - the certificate inventory (see cert.h). */
#include <stdlib.h>
#include <string.h>
#include <openssl/x509v3.h>
#include "cert.h"
#include "clock.h"
#include "x509.h"

/* The CN of x (first one), or NULL; malloc'd. */
static char *
first_cn(X509 *x)
{
	const X509_NAME *n = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
	unsigned char *u = NULL;
	char *s;

	if (i < 0 || ASN1_STRING_to_UTF8(&u,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i))) < 0)
		return NULL;
	s = xstrdup((char *)u);
	OPENSSL_free(u);
	return s;
}

int
cert_store_row(struct db *db, const struct cert_row *row, X509 *x,
    int64_t *id, struct err *e)
{
	struct buf serial = {0}, issuer = {0}, subject = {0}, nb = {0},
	    na = {0}, fp = {0}, pem = {0}, now = {0};
	char *cn = first_cn(x);
	int rc;

	x509_serial_hex(x, &serial);
	x509_name_str(X509_get_issuer_name(x), &issuer);
	x509_name_str(X509_get_subject_name(x), &subject);
	clock_fmt(&nb, x509_not_before(x));
	clock_fmt(&na, x509_not_after(x));
	x509_fingerprint(x, &fp);
	x509_pem(x, &pem);
	clock_fmt(&now, clock_now());
	rc = db_exec(db, e, "INSERT INTO certificates (realm_id, ca_id, "
	    "template_id, order_id, key_ref, serial, issuer, subject, cn, "
	    "not_before, not_after, source, fingerprint, pem, created_at) "
	    "VALUES (?, NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0), ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?)", "iiiittttttttttt", row->realm, row->ca_id,
	    row->template_id, row->order_id, row->key_ref, serial.p, issuer.p,
	    subject.p, cn, nb.p, na.p, row->source, fp.p, pem.p, now.p);
	if (rc == 0 && id)
		*id = db_last_id(db);
	free(cn);
	buf_free(&serial); buf_free(&issuer); buf_free(&subject);
	buf_free(&nb); buf_free(&na); buf_free(&fp); buf_free(&pem);
	buf_free(&now);
	return rc;
}

int
cert_serial_taken(struct db *db, X509 *x, int *taken, struct err *e)
{
	struct buf serial = {0}, issuer = {0};
	int64_t n = 0;
	int rc;

	x509_serial_hex(x, &serial);
	x509_name_str(X509_get_issuer_name(x), &issuer);
	rc = db_int64(db, &n, e, "SELECT count(*) FROM certificates "
	    "WHERE issuer = ? AND serial = ?", "tt", issuer.p, serial.p);
	*taken = n > 0;
	buf_free(&serial);
	buf_free(&issuer);
	return rc;
}

int
cert_store(struct db *db, int64_t realm, int64_t ca_id, int64_t template_id,
    X509 *x, const char *source, int64_t *id, struct err *e)
{
	struct cert_row row = { realm, ca_id, template_id, 0, source, NULL };
	struct buf serial = {0}, issuer = {0};
	int taken = 0, rc;

	if ((rc = cert_serial_taken(db, x, &taken, e)) != 0)
		return rc;
	if (taken) {
		x509_serial_hex(x, &serial);
		x509_name_str(X509_get_issuer_name(x), &issuer);
		rc = err_set(e, EX_DATAERR, "certificate %s from %s: already in "
		    "the inventory", serial.p, issuer.p);
		buf_free(&serial);
		buf_free(&issuer);
		return rc;
	}
	return cert_store_row(db, &row, x, id, e);
}

int
cert_issuer(struct db *db, int64_t realm, X509 *x, int64_t *ca_id,
    struct err *e)
{
	struct db_stmt *st = NULL;
	struct err e2 = {0};
	X509 *cax = NULL;
	const char *pem;
	int rc;

	*ca_id = 0;
	if ((rc = db_prep(db, &st, e, "SELECT id, cert_pem FROM cas WHERE "
	    "realm_id = ? AND cert_pem IS NOT NULL", "i", realm)) != 0)
		return rc;
	while (*ca_id == 0 && (rc = db_step(st, e)) == 1) {
		pem = db_text(st, 1);
		if (x509_cert_read(pem, strlen(pem), &cax, &e2) != 0)
			continue;
		/* the issuer is the CA whose name matches and whose key
		 * verifies the signature, not just a name match */
		if (X509_check_issued(cax, x) == X509_V_OK &&
		    X509_verify(x, X509_get0_pubkey(cax)) == 1)
			*ca_id = db_int(st, 0);
		X509_free(cax);
		cax = NULL;
	}
	db_finish(st);
	err_free(&e2);
	return rc < 0 ? e->code : 0;
}
