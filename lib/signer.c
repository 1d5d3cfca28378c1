/* signer - delegated OCSP and TSA signers (see signer.h). */
#include <stdlib.h>
#include <string.h>
#include <openssl/x509v3.h>
#include "ca.h"
#include "clock.h"
#include "realm.h"
#include "signer.h"
#include "x509.h"

static const struct {
	const char *kind, *starter;
} kinds[] = {
	{ "ocsp", "ocsp-signing" },
	{ "tsa", "timestamping" },
};

const char *
signer_starter(const char *kind)
{
	size_t i;

	for (i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return kinds[i].starter;
	return NULL;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* The CA's certificate and its issuers up to the root. */
static int
load_chain(const struct ca *ca, STACK_OF(X509) **out, struct err *e)
{
	STACK_OF(X509) *up = NULL;
	X509 *x = NULL;
	int rc;

	*out = NULL;
	if (ca->cert_pem == NULL)
		return err_set(e, EX_NOINPUT, "CA '%s': no certificate yet",
		    ca->name);
	if ((rc = x509_cert_read(ca->cert_pem, strlen(ca->cert_pem), &x,
	    e)) != 0)
		return rc;
	if (ca->chain_pem && *ca->chain_pem && (rc = x509_certs_read(
	    ca->chain_pem, strlen(ca->chain_pem), &up, e)) != 0) {
		X509_free(x);
		return rc;
	}
	if (up == NULL)
		up = sk_X509_new_null();
	if (up == NULL || !sk_X509_insert(up, x, 0)) {
		X509_free(x);
		sk_X509_pop_free(up, X509_free);
		return err_ssl(e, EX_OSERR, "CA '%s': chain", ca->name);
	}
	*out = up;
	return 0;
}

/* The newest usable certificate of the starter issued by the CA: active,
 * valid now, with a server-side key. 0, or EX_NOINPUT when none. */
static int
newest(struct db *db, const struct ca *ca, const char *starter,
    struct signer *s, struct err *e)
{
	struct db_stmt *st = NULL;
	struct buf now = {0};
	int rc;

	clock_fmt(&now, clock_now());
	if ((rc = db_prep(db, &st, e, "SELECT c.id, c.key_ref, c.not_after, "
	    "c.pem, t.policy_oid FROM certificates c JOIN templates t ON "
	    "t.id = c.template_id AND t.realm_id = c.realm_id "
	    "WHERE c.realm_id = ? AND c.ca_id = ? AND t.starter = ? AND "
	    "c.status = 'active' AND c.key_ref IS NOT NULL AND "
	    "c.not_before <= ? AND c.not_after > ? "
	    "ORDER BY c.not_before DESC, c.id DESC LIMIT 1", "iittt",
	    ca->realm_id, ca->id, starter, now.p, now.p)) != 0)
		goto out;
	if ((rc = db_step(st, e)) < 0) {
		rc = e->code;
		goto out;
	}
	if (rc == 0) {
		rc = err_set(e, EX_NOINPUT, "CA '%s': no active %s signer",
		    ca->name, s->kind);
		goto out;
	}
	s->id = s->cert_id = db_int(st, 0);
	s->key_ref = dup_or_null(db_text(st, 1));
	s->not_after = dup_or_null(db_text(st, 2));
	if (strcmp(s->kind, "tsa") == 0)
		s->policy_oid = dup_or_null(db_text(st, 4));
	rc = x509_cert_read(db_text(st, 3), strlen(db_text(st, 3)), &s->cert,
	    e);
out:
	db_finish(st);
	buf_free(&now);
	return rc;
}

int
signer_find(struct db *db, int64_t realm, const char *ca_name,
    const char *kind, struct signer *out, struct err *e)
{
	const char *starter = signer_starter(kind);
	struct ca ca = {0};
	int rc;

	memset(out, 0, sizeof *out);
	if (starter == NULL)
		return err_set(e, EX_USAGE, "signer kind '%s': not ocsp or tsa",
		    kind ? kind : "");
	out->kind = xstrdup(kind);
	out->realm_id = realm;
	if ((rc = ca_load(db, realm, ca_name, &ca, e)) != 0 ||
	    (rc = newest(db, &ca, starter, out, e)) != 0 ||
	    (rc = load_chain(&ca, &out->chain, e)) != 0)
		goto out;
	out->ca_id = ca.id;
	/* the row says so; the signature must agree */
	if (X509_check_issued(sk_X509_value(out->chain, 0), out->cert) !=
	    X509_V_OK)
		rc = err_set(e, EX_SOFTWARE, "CA '%s': %s signer certificate "
		    "%lld was not issued by it", ca.name, kind,
		    (long long)out->cert_id);
out:
	if (rc != 0)
		signer_free(out);
	ca_free(&ca);
	return rc;
}

int
signer_key(const struct conf *c, const struct signer *s,
    const struct secret *pass, EVP_PKEY **key, struct err *e)
{
	EVP_PKEY *k = NULL;
	int rc;

	*key = NULL;
	if (s->key_ref == NULL || s->cert == NULL)
		return err_set(e, EX_SOFTWARE, "signer: not found");
	if ((rc = keys_load(c, s->key_ref, pass, &k, e)) != 0) {
		err_prefix(e, "%s signer certificate %lld", s->kind,
		    (long long)s->cert_id);
		return rc;
	}
	if (X509_check_private_key(s->cert, k) != 1) {
		EVP_PKEY_free(k);
		return err_ssl(e, EX_SOFTWARE, "%s signer certificate %lld: "
		    "key does not match", s->kind, (long long)s->cert_id);
	}
	*key = k;
	return 0;
}

/* Without a CA name: the one active CA of the realm that has an active
 * TSA signer (EX_NOINPUT: none, EX_USAGE: several). */
static int
only_ca(struct db *db, int64_t realm, const char *rname, struct signer *s,
    struct err *e)
{
	struct db_stmt *st = NULL;
	struct signer t;
	struct buf names = {0};
	size_t found = 0;
	int rc;

	if ((rc = db_prep(db, &st, e, "SELECT name FROM cas WHERE realm_id = ? "
	    "AND status = 'active' ORDER BY name", "i", realm)) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1) {
		if ((rc = signer_find(db, realm, db_text(st, 0), "tsa", &t,
		    e)) != 0) {
			signer_free(&t);
			if (rc == EX_NOINPUT)
				continue;
			break;
		}
		buf_printf(&names, "%s%s", found ? ", " : "", db_text(st, 0));
		if (found++ == 0)
			*s = t;
		else
			signer_free(&t);
	}
	db_finish(st);
	if (rc < 0)
		rc = e->code;
	else if (rc == 0 && found == 0)
		rc = err_set(e, EX_NOINPUT, "realm %s: no CA has an active TSA "
		    "signer", rname);
	else if (rc == 0 && found > 1)
		rc = err_set(e, EX_USAGE, "realm %s: CAs %s have a TSA signer: "
		    "name the CA", rname, names.p);
	buf_free(&names);
	return rc;
}

int
signer_open_tsa(const struct conf *c, const char *rname, const char *ca,
    const struct secret_src *src, struct signer *s, EVP_PKEY **key,
    struct secret *pass, struct err *e)
{
	struct db *db = NULL;
	char *path = conf_path(c, "certpipe.db");
	int64_t realm = 0, v = 0;
	int rc;

	*key = NULL;
	if (rname == NULL)
		rname = REALM_DEFAULT;
	if ((rc = db_open(path, DB_OPEN_EXISTING, &db, e)) != 0 ||
	    (rc = db_int64(db, &v, e, "PRAGMA user_version", "")) != 0)
		goto out;
	if (v != db_schema_latest()) {
		rc = err_set(e, EX_CONFIG, "%s: database schema %d, this build "
		    "wants %d", path, (int)v, db_schema_latest());
		goto out;
	}
	if ((rc = realm_id(db, rname, &realm, e)) != 0)
		goto out;
	if (ca)
		rc = signer_find(db, realm, ca, "tsa", s, e);
	else
		rc = only_ca(db, realm, rname, s, e);
	if (rc != 0)
		goto out;
	if (s->policy_oid == NULL) {
		rc = err_set(e, EX_CONFIG, "TSA signer %lld: no policy OID",
		    (long long)s->cert_id);
		goto out;
	}
	if ((rc = secret_get(src, c, pass, e)) == 0)
		rc = signer_key(c, s, pass, key, e);
out:
	db_close(db);
	free(path);
	return rc;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	free(s->kind);
	free(s->key_ref);
	free(s->not_after);
	free(s->policy_oid);
	X509_free(s->cert);
	sk_X509_pop_free(s->chain, X509_free);
	memset(s, 0, sizeof *s);
}
