/* tmpl - certificate templates: starters, settings, storage (see tmpl.h). */
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "keys.h"
#include "num.h"
#include "tmpl.h"
#include "x509.h"

#define DAYS_MAX	3650	/* leaf certificates: ten years at most */
#define CA_DAYS_MAX	18250	/* CA certificates: fifty years */
#define PATH_LEN_MAX	16

#define ALL_ALGS "rsa-2048,rsa-3072,rsa-4096,ec-256,ec-384,ec-521,ed25519"

static const struct starter {
	const char *name;
	int64_t days, max_days;
	const char *key_algs, *key_usage, *eku;
	int ca;
	int64_t path_len;
} starters[] = {
	{ "web-server", 397, 397, ALL_ALGS,
	  "digitalSignature,keyEncipherment", "serverAuth,clientAuth", 0, -1 },
	{ "client", 365, 825, ALL_ALGS,
	  "digitalSignature,keyEncipherment", "clientAuth", 0, -1 },
	/* code signing verifiers rarely accept Ed25519 yet */
	{ "code-signing", 365, 1095,
	  "rsa-2048,rsa-3072,rsa-4096,ec-256,ec-384,ec-521",
	  "digitalSignature", "codeSigning", 0, -1 },
	{ "email", 365, 825, ALL_ALGS,
	  "digitalSignature,keyEncipherment,nonRepudiation",
	  "emailProtection", 0, -1 },
	{ "sub-ca", 1825, 3650, ALL_ALGS, "keyCertSign,cRLSign", NULL, 1, 0 },
	/* delegated signers (lib/signer.h): short-lived, one usage each */
	{ "ocsp-signing", 30, 90, ALL_ALGS, "digitalSignature", "OCSPSigning",
	  0, -1 },
	{ "timestamping", 365, 1095, ALL_ALGS,
	  "digitalSignature,nonRepudiation", "timeStamping", 0, -1 },
};
#define NSTARTERS (sizeof starters / sizeof starters[0])

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

const char *
tmpl_starter_list(void)
{
	return "web-server, client, code-signing, email, sub-ca, ocsp-signing, "
	    "timestamping";
}

int
tmpl_starter(const char *starter, struct tmpl *t, struct err *e)
{
	const struct starter *s = NULL;
	size_t i;

	for (i = 0; i < NSTARTERS; i++)
		if (strcmp(starters[i].name, starter) == 0)
			s = &starters[i];
	if (s == NULL)
		return err_set(e, EX_DATAERR, "template starter '%s': unknown "
		    "(%s)", starter, tmpl_starter_list());
	t->starter = xstrdup(s->name);
	t->enabled = 1;
	t->days = s->days;
	t->max_days = s->max_days;
	t->digest = xstrdup("sha256");
	t->key_algs = xstrdup(s->key_algs);
	t->key_usage = xstrdup(s->key_usage);
	t->eku = dup_or_null(s->eku);
	t->ca = s->ca;
	t->path_len = s->path_len;
	t->subject_mode = xstrdup("request");
	t->allow_ip = 0;
	t->aia = t->ocsp = t->cdp = 1;
	/* an OCSP responder's own status is not asked of itself
	 * (id-pkix-ocsp-nocheck instead, RFC 6960 4.2.2.2.1) */
	if (strcmp(s->name, "ocsp-signing") == 0)
		t->ocsp = 0;
	t->policy = 0;
	return 0;
}

/* "on"/"off" and the usual spellings; anything else is an error, so a
 * typo never silently means "off". */
static int
set_switch(int *out, const char *key, const char *v, struct err *e)
{
	static const char *const on[] = { "on", "yes", "true", "1" };
	static const char *const off[] = { "off", "no", "false", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcmp(v, on[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(v, off[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return err_set(e, EX_DATAERR, "%s: '%s' is not on or off", key, v);
}

static void
set_text(char **slot, const char *v)
{
	free(*slot);
	*slot = *v ? xstrdup(v) : NULL;
}

/* Comma lists are stored without blanks so that stored text, --json and
 * what x509 parses are the same string. */
static char *
squeeze(const char *v)
{
	struct buf b = {0};

	for (; *v; v++)
		if (*v != ' ' && *v != '\t')
			buf_addc(&b, *v);
	return b.len ? buf_steal(&b) : xstrdup("");
}

static int
check_algs(const char *list, struct err *e)
{
	struct buf b = {0};
	char *p, *item, *save = NULL;
	int rc = 0;

	if (*list == '\0')
		return err_set(e, EX_DATAERR, "key-algs: at least one key type "
		    "(%s)", keys_alg_list());
	buf_adds(&b, list);
	for (p = b.p; (item = strtok_r(p, ",", &save)) != NULL; p = NULL)
		if (keys_alg(item) == NULL) {
			rc = err_set(e, EX_DATAERR, "key-algs: unknown key type "
			    "'%s' (%s)", item, keys_alg_list());
			break;
		}
	if (rc == 0 && (list[0] == ',' || list[strlen(list) - 1] == ',' ||
	    strstr(list, ",,") != NULL))
		rc = err_set(e, EX_DATAERR, "key-algs: empty item in '%s'", list);
	buf_free(&b);
	return rc;
}

static int
digest_ok(const char *d)
{
	return strcmp(d, "sha256") == 0 || strcmp(d, "sha384") == 0 ||
	    strcmp(d, "sha512") == 0;
}

static char **
url_slot(struct tmpl *t, const char *key)
{
	if (strcmp(key, "aia-url") == 0)
		return &t->aia_url;
	if (strcmp(key, "ocsp-url") == 0)
		return &t->ocsp_url;
	if (strcmp(key, "crl-url") == 0)
		return &t->crl_url;
	if (strcmp(key, "cps-url") == 0)
		return &t->cps_url;
	return NULL;
}

static int
set_one(struct tmpl *t, const char *key, const char *v, struct err *e)
{
	int64_t dmax = t->ca ? CA_DAYS_MAX : DAYS_MAX;
	char *list = NULL, *store = NULL, **url;
	struct x509_subject s;
	unsigned bits;
	int rc = 0;

	if (strcmp(key, "days") == 0)
		return num_i64(key, v, 1, dmax, &t->days, e);
	if (strcmp(key, "max-days") == 0)
		return num_i64(key, v, 1, dmax, &t->max_days, e);
	if (strcmp(key, "path-len") == 0)
		return num_i64(key, v, -1, PATH_LEN_MAX, &t->path_len, e);
	if (strcmp(key, "renew-before") == 0) {
		int64_t secs;

		if ((rc = tmpl_renew_before(v, 0, 86400, &secs, e)) != 0)
			return rc;
		set_text(&t->renew_before, v);
		return 0;
	}
	if (strcmp(key, "digest") == 0) {
		if (!digest_ok(v))
			return err_set(e, EX_DATAERR, "digest: '%s' is not "
			    "sha256, sha384 or sha512", v);
		set_text(&t->digest, v);
		return 0;
	}
	if (strcmp(key, "subject-mode") == 0) {
		if (strcmp(v, "request") != 0 && strcmp(v, "default") != 0 &&
		    strcmp(v, "enforce") != 0)
			return err_set(e, EX_DATAERR, "subject-mode: '%s' is not "
			    "request, default or enforce", v);
		set_text(&t->subject_mode, v);
		return 0;
	}
	if (strcmp(key, "allow-ip") == 0)
		return set_switch(&t->allow_ip, key, v, e);
	if (strcmp(key, "aia") == 0)
		return set_switch(&t->aia, key, v, e);
	if (strcmp(key, "ocsp") == 0)
		return set_switch(&t->ocsp, key, v, e);
	if (strcmp(key, "cdp") == 0)
		return set_switch(&t->cdp, key, v, e);
	if (strcmp(key, "policy") == 0)
		return set_switch(&t->policy, key, v, e);
	if ((url = url_slot(t, key)) != NULL) {
		if (*v && (rc = x509_url_check(key, v, e)) != 0)
			return rc;
		set_text(url, v);
		return 0;
	}
	if (strcmp(key, "policy-oid") == 0) {
		if (*v && (rc = x509_oid_check(key, v, e)) != 0)
			return rc;
		set_text(&t->policy_oid, v);
		return 0;
	}
	if (strcmp(key, "subject") == 0) {
		/* validated only: the text is what gets stored */
		rc = *v ? x509_subject_parse(v, &s, &store, e) : 0;
		free(store);
		if (rc != 0)
			return rc;
		set_text(&t->subject, v);
		return 0;
	}
	list = squeeze(v);
	if (strcmp(key, "key-algs") == 0) {
		if ((rc = check_algs(list, e)) == 0)
			set_text(&t->key_algs, list);
	} else if (strcmp(key, "key-usage") == 0) {
		if (*list == '\0')
			rc = err_set(e, EX_DATAERR, "key-usage: at least one "
			    "usage");
		else if ((rc = x509_ku_parse(list, &bits, e)) == 0)
			set_text(&t->key_usage, list);
	} else if (strcmp(key, "eku") == 0) {
		if (*list == '\0' || (rc = x509_eku_check(list, e)) == 0)
			set_text(&t->eku, list);
	} else
		rc = err_set(e, EX_USAGE, "unknown setting '%s'", key);
	free(list);
	return rc;
}

int
tmpl_renew_before(const char *rule, time_t nb, time_t na, int64_t *secs,
    struct err *e)
{
	int64_t life = na > nb ? (int64_t)(na - nb) : 0, n;
	struct buf num = {0};
	size_t len = rule ? strlen(rule) : 0;
	int rc = 0;

	if (len == 0) {
		*secs = life / 3;
		return 0;
	}
	buf_add(&num, rule, len - 1);
	buf_adds(&num, "");
	if (rule[len - 1] == '%' && num_i64("renew-before", num.p, 1, 99, &n,
	    e) == 0)
		*secs = life * n / 100;
	else if (rule[len - 1] == 'd' && num_i64("renew-before", num.p, 1,
	    3650, &n, e) == 0)
		*secs = n * 86400 < life ? n * 86400 : life;
	else {
		err_free(e);
		rc = err_set(e, EX_DATAERR, "renew-before: '%s' is not N%% "
		    "(1..99) of the lifetime or Nd (1..3650) days", rule);
	}
	buf_free(&num);
	return rc;
}

int
tmpl_set(struct tmpl *t, const char *key, const char *value, struct err *e)
{
	int rc;

	if ((rc = set_one(t, key, value, e)) != 0) {
		if (t->name)
			err_prefix(e, "template '%s'", t->name);
		else
			err_prefix(e, "template");
	}
	return rc;
}

static int
check(const struct tmpl *t, struct err *e)
{
	int64_t dmax = t->ca ? CA_DAYS_MAX : DAYS_MAX;
	unsigned bits = 0;
	int rc;

	if (t->days < 1 || t->days > dmax)
		return err_set(e, EX_DATAERR, "days: %lld is out of range "
		    "1..%lld", (long long)t->days, (long long)dmax);
	if (t->max_days < 1 || t->max_days > dmax)
		return err_set(e, EX_DATAERR, "max-days: %lld is out of range "
		    "1..%lld", (long long)t->max_days, (long long)dmax);
	if (t->days > t->max_days)
		return err_set(e, EX_DATAERR, "days (%lld) exceeds max-days "
		    "(%lld)", (long long)t->days, (long long)t->max_days);
	if (t->key_algs == NULL)
		return err_set(e, EX_DATAERR, "key-algs: missing");
	if ((rc = check_algs(t->key_algs, e)) != 0)
		return rc;
	if (t->key_usage == NULL || *t->key_usage == '\0')
		return err_set(e, EX_DATAERR, "key-usage: missing");
	if ((rc = x509_ku_parse(t->key_usage, &bits, e)) != 0)
		return rc;
	/* a CA template that cannot sign, or a leaf that can, is a
	 * misconfiguration nobody wants to discover at issuance */
	if (t->ca && !(bits & KU_KEY_CERT_SIGN))
		return err_set(e, EX_DATAERR, "key-usage: a CA template needs "
		    "keyCertSign");
	if (!t->ca && (bits & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)))
		return err_set(e, EX_DATAERR, "key-usage: keyCertSign and "
		    "cRLSign are for CA templates (starter sub-ca)");
	if (!t->ca && t->path_len != -1)
		return err_set(e, EX_DATAERR, "path-len: only CA templates have "
		    "a path length (use -1)");
	if (t->path_len < -1 || t->path_len > PATH_LEN_MAX)
		return err_set(e, EX_DATAERR, "path-len: must be -1..%d",
		    PATH_LEN_MAX);
	if (t->digest == NULL || !digest_ok(t->digest))
		return err_set(e, EX_DATAERR, "digest: must be sha256, sha384 "
		    "or sha512");
	if (t->subject_mode == NULL)
		return err_set(e, EX_DATAERR, "subject-mode: missing");
	if (strcmp(t->subject_mode, "request") != 0 && t->subject == NULL)
		return err_set(e, EX_DATAERR, "subject-mode %s needs a subject",
		    t->subject_mode);
	if (t->policy && t->policy_oid == NULL)
		return err_set(e, EX_DATAERR, "policy: on needs a policy-oid");
	if (t->cps_url && t->policy_oid == NULL)
		return err_set(e, EX_DATAERR, "cps-url: needs a policy-oid");
	/* RFC 3161 2.3: the TSA certificate has timeStamping as its only
	 * extended key usage (issue.c marks it critical) */
	if (t->starter && strcmp(t->starter, "timestamping") == 0 &&
	    (t->eku == NULL || strcmp(t->eku, "timeStamping") != 0))
		return err_set(e, EX_DATAERR, "eku: a timestamping template "
		    "has timeStamping only");
	return 0;
}

int
tmpl_check(const struct tmpl *t, struct err *e)
{
	int rc;

	if ((rc = check(t, e)) != 0) {
		if (t->name)
			err_prefix(e, "template '%s'", t->name);
		else
			err_prefix(e, "template");
	}
	return rc;
}

#define TMPL_COLS "id, realm_id, ca_id, name, starter, enabled, days, " \
	"max_days, digest, key_algs, key_usage, eku, ca, path_len, " \
	"subject_mode, subject, allow_ip, aia_url, ocsp_url, crl_url, " \
	"policy_oid, cps_url, aia, ocsp, cdp, policy, renew_before"

int
tmpl_insert(struct db *db, struct tmpl *t, struct err *e)
{
	struct buf now = {0};
	int64_t n;
	int rc;

	if ((rc = tmpl_check(t, e)) != 0)
		return rc;
	/* the CA must live in the template's realm: realms never mix */
	if ((rc = db_int64(db, &n, e, "SELECT count(*) FROM cas WHERE id = ? "
	    "AND realm_id = ?", "ii", t->ca_id, t->realm_id)) != 0)
		return rc;
	if (n == 0)
		return err_set(e, EX_NOINPUT, "template '%s': its CA is not in "
		    "the realm", t->name);
	if ((rc = db_int64(db, &n, e, "SELECT count(*) FROM templates WHERE "
	    "realm_id = ? AND name = ?", "it", t->realm_id, t->name)) != 0)
		return rc;
	if (n > 0)
		return err_set(e, EX_DATAERR, "template '%s': exists", t->name);
	clock_fmt(&now, clock_now());
	rc = db_exec(db, e, "INSERT INTO templates (realm_id, ca_id, name, "
	    "starter, enabled, days, max_days, digest, key_algs, key_usage, "
	    "eku, ca, path_len, subject_mode, subject, allow_ip, aia_url, "
	    "ocsp_url, crl_url, policy_oid, cps_url, aia, ocsp, cdp, policy, "
	    "renew_before, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "iittiiitttti" "itti" "ttttt" "iiii" "ttt",
	    t->realm_id, t->ca_id, t->name, t->starter, (int64_t)t->enabled,
	    t->days, t->max_days, t->digest, t->key_algs, t->key_usage,
	    t->eku, (int64_t)t->ca,
	    t->path_len, t->subject_mode, t->subject, (int64_t)t->allow_ip,
	    t->aia_url, t->ocsp_url, t->crl_url, t->policy_oid, t->cps_url,
	    (int64_t)t->aia, (int64_t)t->ocsp, (int64_t)t->cdp,
	    (int64_t)t->policy, t->renew_before,
	    now.p, now.p);
	if (rc == 0)
		t->id = db_last_id(db);
	buf_free(&now);
	return rc;
}

int
tmpl_update(struct db *db, const struct tmpl *t, struct err *e)
{
	struct buf now = {0};
	int rc;

	if ((rc = tmpl_check(t, e)) != 0)
		return rc;
	clock_fmt(&now, clock_now());
	rc = db_exec(db, e, "UPDATE templates SET enabled = ?, days = ?, "
	    "max_days = ?, digest = ?, key_algs = ?, key_usage = ?, eku = ?, "
	    "path_len = ?, subject_mode = ?, subject = ?, allow_ip = ?, "
	    "aia_url = ?, ocsp_url = ?, crl_url = ?, policy_oid = ?, "
	    "cps_url = ?, aia = ?, ocsp = ?, cdp = ?, policy = ?, "
	    "renew_before = ?, updated_at = ? WHERE id = ?",
	    "iiittttitti" "ttttt" "iiii" "tti",
	    (int64_t)t->enabled, t->days, t->max_days, t->digest, t->key_algs,
	    t->key_usage, t->eku, t->path_len, t->subject_mode, t->subject,
	    (int64_t)t->allow_ip,
	    t->aia_url, t->ocsp_url, t->crl_url, t->policy_oid, t->cps_url,
	    (int64_t)t->aia, (int64_t)t->ocsp, (int64_t)t->cdp,
	    (int64_t)t->policy, t->renew_before,
	    now.p, t->id);
	if (rc == 0 && db_changes(db) == 0)
		rc = err_set(e, EX_NOINPUT, "template '%s': no such template",
		    t->name);
	buf_free(&now);
	return rc;
}

static void
fill(struct db_stmt *st, struct tmpl *t)
{
	memset(t, 0, sizeof *t);
	t->id = db_int(st, 0);
	t->realm_id = db_int(st, 1);
	t->ca_id = db_int(st, 2);
	t->name = dup_or_null(db_text(st, 3));
	t->starter = dup_or_null(db_text(st, 4));
	t->enabled = (int)db_int(st, 5);
	t->days = db_int(st, 6);
	t->max_days = db_int(st, 7);
	t->digest = dup_or_null(db_text(st, 8));
	t->key_algs = dup_or_null(db_text(st, 9));
	t->key_usage = dup_or_null(db_text(st, 10));
	t->eku = dup_or_null(db_text(st, 11));
	t->ca = (int)db_int(st, 12);
	t->path_len = db_int(st, 13);
	t->subject_mode = dup_or_null(db_text(st, 14));
	t->subject = dup_or_null(db_text(st, 15));
	t->allow_ip = (int)db_int(st, 16);
	t->aia_url = dup_or_null(db_text(st, 17));
	t->ocsp_url = dup_or_null(db_text(st, 18));
	t->crl_url = dup_or_null(db_text(st, 19));
	t->policy_oid = dup_or_null(db_text(st, 20));
	t->cps_url = dup_or_null(db_text(st, 21));
	t->aia = (int)db_int(st, 22);
	t->ocsp = (int)db_int(st, 23);
	t->cdp = (int)db_int(st, 24);
	t->policy = (int)db_int(st, 25);
	t->renew_before = dup_or_null(db_text(st, 26));
}

int
tmpl_load(struct db *db, int64_t realm, const char *name, struct tmpl *t,
    struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	memset(t, 0, sizeof *t);
	if ((rc = db_prep(db, &st, e, "SELECT " TMPL_COLS " FROM templates "
	    "WHERE realm_id = ? AND name = ?", "it", realm, name)) != 0)
		return rc;
	if ((rc = db_step(st, e)) == 1)
		fill(st, t);
	db_finish(st);
	if (rc == 0)
		return err_set(e, EX_NOINPUT, "template '%s': no such template",
		    name);
	return rc < 0 ? e->code : 0;
}

int
tmpl_load_id(struct db *db, int64_t id, struct tmpl *t, struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	memset(t, 0, sizeof *t);
	if ((rc = db_prep(db, &st, e, "SELECT " TMPL_COLS " FROM templates "
	    "WHERE id = ?", "i", id)) != 0)
		return rc;
	if ((rc = db_step(st, e)) == 1)
		fill(st, t);
	db_finish(st);
	if (rc == 0)
		return err_set(e, EX_NOINPUT, "template #%lld: no such template",
		    (long long)id);
	return rc < 0 ? e->code : 0;
}

void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->starter);
	free(t->digest);
	free(t->key_algs);
	free(t->key_usage);
	free(t->eku);
	free(t->subject_mode);
	free(t->subject);
	free(t->aia_url);
	free(t->ocsp_url);
	free(t->crl_url);
	free(t->policy_oid);
	free(t->cps_url);
	free(t->renew_before);
	memset(t, 0, sizeof *t);
}

int
tmpl_create_default(struct db *db, int64_t realm, int64_t ca_id,
    const char *ca_name, struct tmpl *out, struct err *e)
{
	struct tmpl t = {0};
	struct buf name = {0};
	int rc;

	if ((rc = tmpl_starter("web-server", &t, e)) != 0)
		goto out;
	buf_printf(&name, "%s-web-server", ca_name);
	t.name = buf_steal(&name);
	t.realm_id = realm;
	t.ca_id = ca_id;
	if ((rc = tmpl_insert(db, &t, e)) != 0)
		goto out;
	if (out) {
		*out = t;
		memset(&t, 0, sizeof t);
	}
	rc = 0;
out:
	tmpl_free(&t);
	return rc;
}

char *
tmpl_url(const struct tmpl *t, const char *kind, const char *base_url,
    const char *ca_name)
{
	struct buf b = {0};
	const char *set;
	size_t n;
	int on;

	if (strcmp(kind, "aia") == 0) {
		on = t->aia;
		set = t->aia_url;
	} else if (strcmp(kind, "ocsp") == 0) {
		on = t->ocsp;
		set = t->ocsp_url;
	} else if (strcmp(kind, "crl") == 0) {
		on = t->cdp;
		set = t->crl_url;
	} else
		return NULL;
	if (!on)
		return NULL;
	if (set)
		return xstrdup(set);
	if (base_url == NULL || *base_url == '\0')
		return NULL;
	/* "http://pki.test/" and "http://pki.test" give the same URLs */
	n = strlen(base_url);
	while (n > 0 && base_url[n - 1] == '/')
		n--;
	buf_add(&b, base_url, n);
	if (strcmp(kind, "aia") == 0)
		buf_printf(&b, "/ca/%s.crt", ca_name);
	else if (strcmp(kind, "ocsp") == 0)
		buf_adds(&b, "/ocsp");
	else
		buf_printf(&b, "/crl/%s.crl", ca_name);
	return buf_steal(&b);
}
