/* ca - CA rows: lookup and load (see ca.h). */
#include <stdlib.h>
#include <string.h>
#include "ca.h"
#include "clock.h"
#include "ident.h"
#include "x509.h"

#define CA_COLS "id, realm_id, parent_id, name, status, key_alg, key_ref, " \
	"subject, digest, path_len, days, external, csr_pem, cert_pem, " \
	"chain_pem, serial, not_before, not_after, fingerprint, created_at, " \
	"updated_at, spki"

int
ca_name_check(const char *name, struct err *e)
{
	return ident_check("CA", name, 64, e);
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void
fill(struct db_stmt *st, struct ca *ca)
{
	const void *spki;
	size_t n;

	memset(ca, 0, sizeof *ca);
	ca->id = db_int(st, 0);
	ca->realm_id = db_int(st, 1);
	ca->parent_id = db_isnull(st, 2) ? 0 : db_int(st, 2);
	ca->name = dup_or_null(db_text(st, 3));
	ca->status = dup_or_null(db_text(st, 4));
	ca->key_alg = dup_or_null(db_text(st, 5));
	ca->key_ref = dup_or_null(db_text(st, 6));
	ca->subject = dup_or_null(db_text(st, 7));
	ca->digest = dup_or_null(db_text(st, 8));
	ca->path_len = db_isnull(st, 9) ? -1 : db_int(st, 9);
	ca->days = db_int(st, 10);
	ca->external = (int)db_int(st, 11);
	ca->csr_pem = dup_or_null(db_text(st, 12));
	ca->cert_pem = dup_or_null(db_text(st, 13));
	ca->chain_pem = dup_or_null(db_text(st, 14));
	ca->serial = dup_or_null(db_text(st, 15));
	ca->not_before = dup_or_null(db_text(st, 16));
	ca->not_after = dup_or_null(db_text(st, 17));
	ca->fingerprint = dup_or_null(db_text(st, 18));
	ca->created_at = dup_or_null(db_text(st, 19));
	ca->updated_at = dup_or_null(db_text(st, 20));
	spki = db_blob(st, 21, &n);
	ca->spki = xmalloc(n);
	if (n)
		memcpy(ca->spki, spki, n);
	ca->spki_len = n;
}

static int
load(struct db *db, struct ca *ca, struct err *e, const char *what,
    const char *sql, const char *fmt, int64_t a, const char *b)
{
	struct db_stmt *st = NULL;
	int rc;

	if (fmt[1] == 't')
		rc = db_prep(db, &st, e, sql, fmt, a, b);
	else
		rc = db_prep(db, &st, e, sql, fmt, a);
	if (rc != 0)
		return rc;
	rc = db_step(st, e);
	if (rc == 1)
		fill(st, ca);
	db_finish(st);
	if (rc == 0)
		return err_set(e, EX_NOINPUT, "CA '%s': no such CA in this realm",
		    what);
	return rc < 0 ? e->code : 0;
}

int
ca_load(struct db *db, int64_t realm, const char *name, struct ca *ca,
    struct err *e)
{
	return load(db, ca, e, name, "SELECT " CA_COLS " FROM cas "
	    "WHERE realm_id = ? AND name = ?", "it", realm, name);
}

int
ca_load_id(struct db *db, int64_t id, struct ca *ca, struct err *e)
{
	return load(db, ca, e, "#id", "SELECT " CA_COLS " FROM cas "
	    "WHERE id = ?", "i", id, NULL);
}

int
ca_find(struct db *db, int64_t realm, const char *name, int64_t *id,
    struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	if ((rc = db_prep(db, &st, e, "SELECT id FROM cas WHERE realm_id = ? "
	    "AND name = ?", "it", realm, name)) != 0)
		return rc;
	rc = db_step(st, e);
	if (rc == 1)
		*id = db_int(st, 0);
	db_finish(st);
	if (rc == 0)
		return err_set(e, EX_NOINPUT, "CA '%s': no such CA in this realm",
		    name);
	return rc < 0 ? e->code : 0;
}

void
ca_free(struct ca *ca)
{
	if (ca == NULL)
		return;
	free(ca->name);
	free(ca->status);
	free(ca->key_alg);
	free(ca->key_ref);
	free(ca->subject);
	free(ca->digest);
	free(ca->csr_pem);
	free(ca->cert_pem);
	free(ca->chain_pem);
	free(ca->serial);
	free(ca->not_before);
	free(ca->not_after);
	free(ca->fingerprint);
	free(ca->created_at);
	free(ca->updated_at);
	free(ca->spki);
	memset(ca, 0, sizeof *ca);
}

int
ca_live_certs(struct db *db, int64_t id, int64_t *n, struct err *e)
{
	struct buf now = {0};
	int64_t leaves = 0, subs = 0;
	int rc;

	clock_fmt(&now, clock_now());
	/* RFC 3339 UTC strings of one fixed width compare as times. */
	if ((rc = db_int64(db, &leaves, e, "SELECT count(*) FROM certificates "
	    "WHERE ca_id = ? AND status <> 'revoked' AND not_after > ?", "it",
	    id, now.p)) != 0)
		goto out;
	rc = db_int64(db, &subs, e, "SELECT count(*) FROM cas WHERE "
	    "parent_id = ? AND id <> ? AND cert_pem IS NOT NULL AND "
	    "not_after > ?", "iit", id, id, now.p);
	*n = leaves + subs;
out:
	buf_free(&now);
	return rc;
}

int
ca_open_signer(const struct conf *c, const struct ca *ca,
    const struct secret *pass, X509 **cert, EVP_PKEY **key, struct err *e)
{
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int rc;

	*cert = NULL;
	*key = NULL;
	if (strcmp(ca->status, "active") != 0)
		return err_set(e, EX_NOPERM, "CA '%s' is %s, not active",
		    ca->name, ca->status);
	if ((rc = x509_cert_read(ca->cert_pem, strlen(ca->cert_pem), &x,
	    e)) != 0) {
		err_prefix(e, "CA '%s'", ca->name);
		goto out;
	}
	if ((rc = keys_load(c, ca->key_ref, pass, &k, e)) != 0) {
		err_prefix(e, "CA '%s'", ca->name);
		goto out;
	}
	if (X509_check_private_key(x, k) != 1) {
		rc = err_ssl(e, EX_SOFTWARE, "CA '%s': key does not match its "
		    "certificate", ca->name);
		goto out;
	}
	*cert = x;
	*key = k;
	x = NULL;
	k = NULL;
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}
