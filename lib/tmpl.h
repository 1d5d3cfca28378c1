/*
 * tmpl - certificate templates (profiles). A template belongs to one CA
 * in one realm and says what a certificate issued under it contains.
 *
 * Settings are named exactly like the `certpipe template` options
 * (without "--"), so the CLI, the database and --json share one
 * vocabulary; tmpl_set validates one setting, tmpl_check the whole.
 *
 * URLs left NULL are derived from the instance's base_url at issuance
 * (tmpl_url): caIssuers <base>/ca/<ca>.crt, OCSP <base>/ocsp,
 * CRL <base>/crl/<ca>.crl.
 *
 * Contract: 0 or a sysexits code with e filled; EX_NOINPUT when a named
 * template does not exist. tmpl_free(NULL) and on a zeroed struct are fine.
 */
#ifndef CERTPIPE_TMPL_H
#define CERTPIPE_TMPL_H
#include <stdint.h>
#include <time.h>
#include "db.h"
#include "buf.h"

struct tmpl {
	int64_t id, realm_id, ca_id;
	char *name;
	char *starter;		/* web-server, client, code-signing, email,
				   sub-ca, ocsp-signing, timestamping */
	int enabled;
	int64_t days;		/* default validity */
	int64_t max_days;	/* cap */
	char *digest;		/* sha256 | sha384 | sha512 */
	char *key_algs;		/* comma list of keys_alg names */
	char *key_usage;	/* comma list, x509_ku_parse names */
	char *eku;		/* comma list of names / dotted OIDs, or NULL */
	int ca;			/* basicConstraints CA:TRUE */
	int64_t path_len;	/* -1: none */
	char *subject_mode;	/* request | default | enforce */
	char *subject;		/* "O=Acme,C=DE": defaults or enforced values */
	int allow_ip;		/* IP SANs allowed */
	char *aia_url, *ocsp_url, *crl_url;	/* NULL: derive from base_url */
	char *policy_oid, *cps_url;		/* NULL: none */
	int aia, ocsp, cdp, policy;		/* include (1) or omit (0) */
	char *renew_before;	/* "N%" | "Nd", NULL: a third of lifetime */
};

/* Names of the starters, for help text: "web-server, client, ...". */
const char *tmpl_starter_list(void);
/* Fill t with a starter's defaults (frees nothing; t must be zeroed). */
int tmpl_starter(const char *starter, struct tmpl *t, struct err *e);
/* Set one setting by option name: "days", "max-days", "digest",
 * "key-algs", "key-usage", "eku", "path-len", "subject-mode", "subject",
 * "allow-ip", "aia-url", "ocsp-url", "crl-url", "policy-oid", "cps-url",
 * "aia", "ocsp", "cdp", "policy" (on|off), "renew-before". The value ""
 * clears optional text settings. */
int tmpl_set(struct tmpl *t, const char *key, const char *value,
    struct err *e);
/* The renewal rule: renewal is due secs before notAfter, by rule "N%"
 * (1..99) of the lifetime or "Nd" (1..3650) days, NULL or "" a third
 * of the lifetime; never more than the lifetime. EX_DATAERR for a rule
 * of another form. */
int tmpl_renew_before(const char *rule, time_t not_before, time_t not_after,
    int64_t *secs, struct err *e);
/* Cross-field checks: days <= max_days <= 3650 (CA: 18250), etc. */
int tmpl_check(const struct tmpl *t, struct err *e);

int tmpl_insert(struct db *db, struct tmpl *t, struct err *e);	/* sets id */
int tmpl_update(struct db *db, const struct tmpl *t, struct err *e);
int tmpl_load(struct db *db, int64_t realm, const char *name,
    struct tmpl *t, struct err *e);
int tmpl_load_id(struct db *db, int64_t id, struct tmpl *t, struct err *e);
void tmpl_free(struct tmpl *t);

/* Insert the default "<ca_name>-web-server" template for a new CA (the
 * caller audits it); out may be NULL, else it receives the template. */
int tmpl_create_default(struct db *db, int64_t realm, int64_t ca_id,
    const char *ca_name, struct tmpl *out, struct err *e);

/* The URL a certificate gets for kind "aia" | "ocsp" | "crl", or NULL
 * when omitted. ca_name names the issuing CA. malloc'd. */
char *tmpl_url(const struct tmpl *t, const char *kind, const char *base_url,
    const char *ca_name);

#endif
