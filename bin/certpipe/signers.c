/*
 * signers - `certpipe ocsp ...` and `certpipe tsa ...`: a CA's delegated
 * OCSP responder and timestamping certificates (lib/signer.h).
 *
 * create makes the key pair here, stores it encrypted and sends a
 * request through the issuance pipeline under the CA's template of the
 * kind's starter ("<ca>-ocsp-signing", "<ca>-timestamping"), made from
 * the starter on first use; rotate sends a renewal of the active signer
 * under a new key, so sign supersedes the old certificate (which stays
 * valid until it expires) and the new one becomes the active signer.
 * Template, order, key reference and audit events are written in one
 * transaction, after the key file and before the job reaches the spool;
 * --wait then follows the order like `certpipe request --wait`.
 *
 * Trust: run by the administrator or cron. New private keys go straight
 * into the key store and are never printed; the CA key is never opened
 * here (sign does that).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ca.h"
#include "clock.h"
#include "csr.h"
#include "diag.h"
#include "job.h"
#include "json.h"
#include "num.h"
#include "order.h"
#include "realm.h"
#include "rec.h"
#include "signer.h"
#include "signers.h"
#include "spool.h"
#include "tmpl.h"
#include "x509.h"


/* One create or rotate, from its checked options to the queued job. */
struct sjob {
	const char *kind;
	struct ca ca;
	struct tmpl t;
	int tmpl_new, tmpl_changed;	/* insert / update it with the
					   order */
	struct rec *r;
	const char *otype;		/* automated | renewal */
	int64_t renewal_of;		/* rotate: the active signer's row */
	char *key_ref;
	int64_t wait;
	int committed;
};

static void
sjob_free(struct sjob *j)
{
	ca_free(&j->ca);
	tmpl_free(&j->t);
	rec_free(j->r);
	free(j->key_ref);
}

static const char *
label(const char *kind)
{
	return strcmp(kind, "ocsp") == 0 ? "OCSP Responder" :
	    "Time Stamping Authority";
}

/* "certpipe ocsp create" for usage lines and messages. */
static void
cmd_name(const char *kind, const char *sub, struct buf *b)
{
	buf_reset(b);
	buf_printf(b, "certpipe %s %s", kind, sub);
}

/* The CA's template for the kind: loaded, or made from the starter
 * (inserted later, with the order). A --policy for a TSA is set on it. */
static int
pick_template(struct cli *c, struct sjob *j, const char *policy,
    struct err *e)
{
	const char *starter = signer_starter(j->kind);
	struct buf name = {0};
	int rc;

	buf_printf(&name, "%s-%s", j->ca.name, starter);
	rc = tmpl_load(c->db, c->realm_id, name.p, &j->t, e);
	if (rc == EX_NOINPUT) {
		err_free(e);
		tmpl_free(&j->t);
		memset(&j->t, 0, sizeof j->t);
		if ((rc = tmpl_starter(starter, &j->t, e)) != 0)
			goto out;
		j->t.name = buf_steal(&name);
		j->t.realm_id = c->realm_id;
		j->t.ca_id = j->ca.id;
		j->tmpl_new = 1;
	} else if (rc != 0)
		goto out;
	else if (strcmp(j->t.starter, starter) != 0 ||
	    j->t.ca_id != j->ca.id) {
		rc = err_set(e, EX_DATAERR, "template '%s': not the %s "
		    "template of CA '%s' (starter %s)", j->t.name, starter,
		    j->ca.name, j->t.starter);
		goto out;
	} else if (!j->t.enabled) {
		rc = err_set(e, EX_NOPERM, "template '%s': disabled",
		    j->t.name);
		goto out;
	}
	if (policy && (j->t.policy_oid == NULL ||
	    strcmp(j->t.policy_oid, policy) != 0)) {
		if ((rc = tmpl_set(&j->t, "policy-oid", policy, e)) != 0)
			goto out;
		j->tmpl_changed = !j->tmpl_new;
	}
	if (strcmp(j->kind, "tsa") == 0 && j->t.policy_oid == NULL) {
		rc = err_set(e, EX_USAGE, "--policy: required (template '%s' "
		    "has no policy-oid)", j->t.name);
		goto out;
	}
	rc = tmpl_check(&j->t, e);
out:
	buf_free(&name);
	return rc;
}

/* The algorithm asked for (else dflt, else the template's first); one
 * the template allows. */
static int
pick_alg(const struct tmpl *t, const char *name, const char *dflt,
    const struct key_alg **alg, struct err *e)
{
	struct buf list = {0};
	char *p, *item, *save = NULL;
	int rc, allowed = 0;

	if (name == NULL)
		name = dflt;
	buf_adds(&list, t->key_algs);
	for (p = list.p; (item = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		if (name == NULL)
			name = item;
		if (strcmp(item, name) == 0)
			allowed = 1;
	}
	if ((*alg = keys_alg(name)) == NULL)
		rc = err_set(e, EX_DATAERR, "--alg: unknown key type '%s' "
		    "(%s)", name ? name : "", keys_alg_list());
	else if (!allowed)
		rc = err_set(e, EX_DATAERR, "--alg: template '%s' allows %s, "
		    "not %s", t->name, t->key_algs, name);
	else
		rc = 0;
	buf_free(&list);	/* name may point into it */
	return rc;
}

/* Headers, names read back from the CSR by lib/csr, and the CSR. */
static int
fill_rec(struct cli *c, struct sjob *j, const char *type, X509_REQ *req,
    const char *alg, const char *days, struct err *e)
{
	struct csr cs = {0};
	unsigned char *der = NULL;
	int rc, len;

	if ((len = i2d_X509_REQ(req, &der)) <= 0)
		return err_ssl(e, EX_SOFTWARE, "CSR: cannot encode");
	if ((rc = csr_parse(der, (size_t)len, &cs, e)) == 0 &&
	    (rc = rec_add(j->r, "Type", type, e)) == 0 &&
	    (rc = rec_add(j->r, "Source", "cli", e)) == 0 &&
	    (rc = rec_add(j->r, "Requested-By", c->actor, e)) == 0 &&
	    (rc = rec_add(j->r, "Realm", cli_realm(c), e)) == 0 &&
	    (rc = rec_add(j->r, "Template", j->t.name, e)) == 0 &&
	    (days == NULL || (rc = rec_add(j->r, "Days", days, e)) == 0) &&
	    (rc = rec_add(j->r, "Key-Alg", alg, e)) == 0 &&
	    (rc = rec_add(j->r, "CN", cs.cn, e)) == 0)
		rc = rec_add_pem(j->r, "CERTIFICATE REQUEST", der,
		    (size_t)len, e);
	OPENSSL_free(der);
	csr_free(&cs);
	return rc;
}

/* Template (when new or changed), order, key, renewal link and audit
 * events: one transaction. */
static int
commit_order(struct cli *c, struct sjob *j, struct err *e)
{
	struct order o = {0};
	struct buf obj = {0}, ev = {0}, detail = {0};
	int rc, created = 0;

	if ((rc = db_begin(c->db, e)) != 0)
		return rc;
	buf_printf(&obj, "template:%s", j->t.name);
	buf_printf(&detail, "%s signer template of CA %s", j->kind, j->ca.name);
	if (j->tmpl_new && ((rc = tmpl_insert(c->db, &j->t, e)) != 0 ||
	    (rc = cli_audit(c, "template.created", obj.p, "success",
	    detail.p, e)) != 0))
		goto out;
	if (j->tmpl_changed && ((rc = tmpl_update(c->db, &j->t, e)) != 0 ||
	    (rc = cli_audit(c, "template.updated", obj.p, "success",
	    j->t.policy_oid, e)) != 0))
		goto out;
	if ((rc = order_open(c->db, c->realm_id, j->r, j->otype, c->actor,
	    &o, &created, e)) != 0)
		goto out;
	if (!created) {
		rc = err_set(e, EX_SOFTWARE, "job %s: order exists already",
		    rec_id(j->r));
		goto out;
	}
	if ((rc = order_set_key(c->db, o.id, j->key_ref, e)) != 0 ||
	    (j->renewal_of && (rc = order_set_renewal(c->db, o.id,
	    j->renewal_of, e)) != 0))
		goto out;
	buf_reset(&obj);
	buf_reset(&detail);
	buf_printf(&obj, "order:%s", rec_id(j->r));
	buf_printf(&ev, "signer.%s.%s", j->kind, j->renewal_of ? "rotate" :
	    "create");
	buf_printf(&detail, "CA %s, template %s", j->ca.name, j->t.name);
	if (j->renewal_of)
		buf_printf(&detail, ", renews certificate %lld, new key",
		    (long long)j->renewal_of);
	if ((rc = cli_audit(c, ev.p, obj.p, "success", detail.p, e)) != 0)
		goto out;
	if ((rc = db_commit(c->db, e)) == 0)
		j->committed = 1;
out:
	if (rc != 0)
		db_rollback(c->db);
	order_free(&o);
	buf_free(&obj);
	buf_free(&ev);
	buf_free(&detail);
	return rc;
}

/* Store the key, commit the order, queue the job; print and wait. A key
 * no committed order names is removed again. */
static int
run(struct cli *c, struct sjob *j, EVP_PKEY *key, struct err *e)
{
	struct secret pass = {0};
	struct buf ev = {0};
	struct err e2 = {0};
	int rc;

	if ((rc = cli_secret(c, &pass, e)) != 0 ||
	    (rc = keys_store(&c->conf, key, &pass, &j->key_ref, e)) != 0)
		goto out;
	if ((rc = commit_order(c, j, e)) != 0) {
		keys_remove(&c->conf, j->key_ref, &e2);
		goto out;
	}
	buf_printf(&ev, "signer.%s.%s", j->kind, j->renewal_of ? "rotate" :
	    "create");
	rc = job_send(c, j->r, ev.p, j->wait, e);
out:
	buf_free(&ev);
	secret_free(&pass);
	err_free(&e2);
	return rc;
}

static int
open_ca(struct cli *c, struct sjob *j, const char *name, struct err *e)
{
	int rc;

	if ((rc = ca_load(c->db, c->realm_id, name, &j->ca, e)) != 0)
		return rc;
	if (strcmp(j->ca.status, "active") != 0)
		return err_set(e, EX_NOPERM, "CA '%s': %s, not active", name,
		    j->ca.status);
	return 0;
}

/* create makes the first signer; a second is rotate's job, which
 * supersedes the first. */
static int
no_signer(struct cli *c, const struct sjob *j, struct err *e)
{
	struct signer s = {0};
	int rc;

	rc = signer_find(c->db, c->realm_id, j->ca.name, j->kind, &s, e);
	if (rc == 0)
		rc = err_set(e, EX_DATAERR, "CA '%s': has an active %s signer "
		    "(certificate %lld): use rotate", j->ca.name, j->kind,
		    (long long)s.cert_id);
	else if (rc == EX_NOINPUT) {
		err_free(e);
		rc = 0;
	}
	signer_free(&s);
	return rc;
}

/* A new key and its CSR for "<ca> OCSP Responder" (no DNS name, so no
 * SAN and no domain to cover). */
static int
new_request(struct cli *c, struct sjob *j, const char *algname,
    const char *days, EVP_PKEY **key, struct err *e)
{
	const struct key_alg *alg;
	struct buf cn = {0};
	struct x509_subject s = {0};
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	int rc;

	buf_printf(&cn, "%s %s", j->ca.name, label(j->kind));
	s.cn = cn.p;
	if ((rc = pick_alg(&j->t, algname, NULL, &alg, e)) == 0 &&
	    (rc = x509_name_build(&s, &name, e)) == 0 &&
	    (rc = keys_generate(alg, key, e)) == 0 &&
	    (rc = x509_csr_make(*key, name, alg->digest, &req, e)) == 0)
		rc = fill_rec(c, j, "keygen", req, alg->name, days, e);
	X509_REQ_free(req);
	X509_NAME_free(name);
	buf_free(&cn);
	return rc;
}

struct sopts {
	char *ca, *alg, *days, *wait, *policy;
	int pem;
};

static void
sopts_free(struct sopts *o)
{
	free(o->ca); free(o->alg); free(o->days); free(o->wait);
	free(o->policy);
}

int
sgn_create(struct cli *c, const char *kind, int argc, const char **argv)
{
	struct sopts o = {0};
	struct poptOption opts[] = {
		{ "alg", '\0', POPT_ARG_STRING, &o.alg, 0,
		  "key type (default: the template's first)", "TYPE" },
		{ "ca", '\0', POPT_ARG_STRING, &o.ca, 0,
		  "the issuing CA (required)", "NAME" },
		{ "days", '\0', POPT_ARG_STRING, &o.days, 0,
		  "validity in days (default: the template's)", "N" },
		{ "policy", '\0', POPT_ARG_STRING, &o.policy, 0,
		  "TSA policy OID tokens carry (required the first time)",
		  "OID" },
		{ "wait", '\0', POPT_ARG_STRING, &o.wait, 0,
		  "wait up to SECONDS for the certificate", "SECONDS" },
		CLI_PASSPHRASE(c),
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct sjob j = {0};
	struct buf name = {0};
	struct err e = {0};
	EVP_PKEY *key = NULL;
	size_t i;
	int rc;

	/* --policy is for the TSA only: drop it from the table otherwise
	 * (the entries before the included tables all have long names) */
	for (i = 0; strcmp(kind, "tsa") != 0 && opts[i].longName; i++)
		if (strcmp(opts[i].longName, "policy") == 0)
			memmove(&opts[i], &opts[i + 1], sizeof opts -
			    (i + 1) * sizeof opts[0]);
	cmd_name(kind, "create", &name);
	j.kind = kind;
	j.otype = "automated";
	if ((rc = cli_parse(c, name.p, argc, argv, opts, "[OPTION...] --ca "
	    "NAME", 0, 0)) != 0)
		goto out;
	if (o.ca == NULL)
		rc = err_set(&e, EX_USAGE, "--ca: required");
	else if (o.policy)
		rc = x509_oid_check("--policy", o.policy, &e);
	if (rc == 0)
		rc = job_check_days_wait(o.days, o.wait, &j.wait, &e);
	if (rc != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	j.r = rec_new();
	if ((rc = open_ca(c, &j, o.ca, &e)) != 0 ||
	    (rc = no_signer(c, &j, &e)) != 0 ||
	    (rc = pick_template(c, &j, o.policy, &e)) != 0 ||
	    (rc = new_request(c, &j, o.alg, o.days, &key, &e)) != 0 ||
	    (rc = run(c, &j, key, &e)) != 0)
		goto fail;
	goto out;
fail:
	if (e.code != 0)
		rc = diag_err(&e);
out:
	sjob_free(&j);
	sopts_free(&o);
	EVP_PKEY_free(key);
	buf_free(&name);
	err_free(&e);
	return rc;
}

/* No second rotation while one is under way: sign would refuse it. */
static int
no_renewal_pending(struct cli *c, int64_t cert_id, struct err *e)
{
	int64_t n = 0;
	int rc;

	if ((rc = db_int64(c->db, &n, e, "SELECT count(*) FROM orders WHERE "
	    "realm_id = ? AND renewal_of = ? AND status IN ('pending', "
	    "'processing', 'held')", "ii", c->realm_id, cert_id)) != 0)
		return rc;
	if (n != 0)
		return err_set(e, EX_TEMPFAIL, "certificate %lld: a renewal is "
		    "under way", (long long)cert_id);
	return 0;
}

/* The renewal job of the active signer s, under a new key. */
static int
rotate_request(struct cli *c, struct sjob *j, const struct signer *s,
    const char *algname, EVP_PKEY **key, struct err *e)
{
	const struct key_alg *alg;
	const struct key_alg *old = keys_alg_of(X509_get0_pubkey(s->cert));
	struct buf serial = {0};
	X509_REQ *req = NULL;
	int rc;

	x509_serial_hex(s->cert, &serial);
	j->renewal_of = s->cert_id;
	if ((rc = no_renewal_pending(c, s->cert_id, e)) == 0 &&
	    (rc = pick_alg(&j->t, algname, old ? old->name : NULL, &alg,
	    e)) == 0 && (rc = keys_generate(alg, key, e)) == 0 &&
	    (rc = x509_csr_like(*key, s->cert, alg->digest, &req, e)) == 0 &&
	    (rc = rec_add(j->r, "Renewal-Of", serial.p, e)) == 0 &&
	    (rc = rec_add(j->r, "Rekey", "yes", e)) == 0)
		rc = fill_rec(c, j, "renew", req, alg->name, NULL, e);
	X509_REQ_free(req);
	buf_free(&serial);
	return rc;
}

/* Rotate the active signer of one CA (the sjob's kind). */
static int
rotate_one(struct cli *c, const char *kind, const char *ca,
    const char *alg, int64_t wait, struct err *e)
{
	struct sjob j = {0};
	struct signer s = {0};
	EVP_PKEY *key = NULL;
	int rc;

	j.kind = kind;
	j.otype = "renewal";
	j.wait = wait;
	j.r = rec_new();
	if ((rc = open_ca(c, &j, ca, e)) != 0 ||
	    (rc = pick_template(c, &j, NULL, e)) != 0)
		goto out;
	if ((rc = signer_find(c->db, c->realm_id, ca, kind, &s, e)) != 0) {
		if (rc == EX_NOINPUT)
			err_prefix(e, "rotate (use create)");
		goto out;
	}
	if ((rc = rotate_request(c, &j, &s, alg, &key, e)) == 0)
		rc = run(c, &j, key, e);
out:
	signer_free(&s);
	sjob_free(&j);
	EVP_PKEY_free(key);
	return rc;
}

/* --due: is the active signer s within its renewal margin (margin
 * seconds, or a third of its lifetime when margin < 0)? A margin not
 * shorter than the lifetime renews it on every run: said once. */
static int
signer_due(const char *ca, const struct signer *s, int64_t margin,
    time_t now)
{
	time_t nb = x509_not_before(s->cert), na = x509_not_after(s->cert);

	if (margin < 0)
		margin = (int64_t)(na - nb) / 3;
	else if (margin >= (int64_t)(na - nb))
		diag("warning: %s: the renewal margin (%lld days) is not "
		    "shorter than the %s signer's lifetime: it is renewed on "
		    "every run", ca, (long long)(margin / 86400), s->kind);
	return (int64_t)(na - now) <= margin;
}

/* --due in the realm c is open on: rotate each active CA's signer that
 * is due and not being renewed already. *rotated counts; a failure is
 * reported and the first one returned, the other CAs still go. */
static int
rotate_due_realm(struct cli *c, const char *kind, const char *only,
    const char *alg, int64_t margin, size_t *rotated)
{
	struct db_stmt *st = NULL;
	struct signer s;
	struct err e = {0};
	char **names = NULL;
	size_t n = 0, i;
	int rc, first = 0;

	if ((rc = db_prep(c->db, &st, &e, "SELECT name FROM cas WHERE "
	    "realm_id = ? AND status = 'active' AND cert_pem IS NOT NULL AND "
	    "(? IS NULL OR name = ?) ORDER BY name", "itt", c->realm_id, only,
	    only)) != 0)
		return diag_err(&e);
	while ((rc = db_step(st, &e)) == 1) {
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(db_text(st, 0));
	}
	db_finish(st);
	if (rc < 0)
		first = diag_err(&e);
	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof s);
		rc = signer_find(c->db, c->realm_id, names[i], kind, &s, &e);
		if (rc == 0 && signer_due(names[i], &s, margin, clock_now()))
			rc = no_renewal_pending(c, s.cert_id, &e);
		else if (rc == 0 || rc == EX_NOINPUT)
			rc = -1;	/* not due, or no signer to renew */
		if (rc == 0) {
			diag_info("%s: %s signer certificate %lld expires %s: "
			    "rotating", names[i], kind, (long long)s.cert_id,
			    s.not_after);
			if ((rc = rotate_one(c, kind, names[i], alg, 0,
			    &e)) == 0)
				(*rotated)++;
		}
		if (rc > 0 && rc != EX_TEMPFAIL && first == 0)
			first = rc;
		if (rc > 0 && rc != EX_TEMPFAIL)	/* a renewal under
							   way is no error */
			diag("%s: %s", names[i], err_str(&e));
		err_free(&e);
		signer_free(&s);
		free(names[i]);
	}
	free(names);
	return first;
}

/* --due: every realm (or the one of --realm), each CA (or --ca). 0 when
 * something was rotated, 1 when nothing was due, else the first failure. */
static int
rotate_due(struct cli *c, const char *kind, const char *ca, const char *alg,
    int64_t margin)
{
	struct db_stmt *st = NULL;
	struct err e = {0};
	char **names = NULL;
	size_t n = 0, i, rotated = 0;
	int rc, first = 0, all = c->realm == NULL;

	if (all && (rc = db_prep(c->db, &st, &e, "SELECT name FROM realms "
	    "ORDER BY id", "")) != 0)
		return diag_err(&e);
	while (all && (rc = db_step(st, &e)) == 1) {
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(db_text(st, 0));
	}
	db_finish(st);
	if (all && rc < 0)
		first = diag_err(&e);
	if (!all)
		first = rotate_due_realm(c, kind, ca, alg, margin, &rotated);
	for (i = 0; i < n; i++) {
		/* the realm every record, event and query of this pass names */
		free(c->realm);
		c->realm = names[i];
		if ((rc = realm_id(c->db, c->realm, &c->realm_id, &e)) != 0)
			diag_err(&e);
		else
			rc = rotate_due_realm(c, kind, ca, alg, margin,
			    &rotated);
		if (rc != 0 && first == 0)
			first = rc;
		err_free(&e);
	}
	free(names);
	return first != 0 ? first : rotated > 0 ? 0 : 1;
}

int
sgn_rotate(struct cli *c, const char *kind, int argc, const char **argv)
{
	struct sopts o = {0};
	int due = 0;
	struct poptOption opts[] = {
		{ "alg", '\0', POPT_ARG_STRING, &o.alg, 0,
		  "key type (default: the current signer's)", "TYPE" },
		{ "ca", '\0', POPT_ARG_STRING, &o.ca, 0,
		  "the issuing CA (required without --due)", "NAME" },
		{ "due", '\0', POPT_ARG_NONE, &due, 0,
		  "rotate every signer within its renewal margin", NULL },
		{ "margin", '\0', POPT_ARG_STRING, &o.days, 0,
		  "--due: renew what expires within DAYS (default: a third "
		  "of its lifetime)", "DAYS" },
		{ "wait", '\0', POPT_ARG_STRING, &o.wait, 0,
		  "wait up to SECONDS for the certificate", "SECONDS" },
		CLI_PASSPHRASE(c),
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct buf name = {0};
	struct err e = {0};
	int64_t wait = 0, margin = -1;
	int rc;

	cmd_name(kind, "rotate", &name);
	if ((rc = cli_parse(c, name.p, argc, argv, opts, "[OPTION...] --ca "
	    "NAME | --due", 0, 0)) != 0)
		goto out;
	if (o.ca == NULL && !due)
		rc = err_set(&e, EX_USAGE, "--ca: required (or --due)");
	else if (o.days && !due)
		rc = err_set(&e, EX_USAGE, "--margin: only with --due");
	else if (due && o.wait)
		rc = err_set(&e, EX_USAGE, "--wait: not with --due");
	else if (o.days)
		rc = num_i64("--margin", o.days, 0, 3650, &margin, &e);
	if (rc == 0)
		rc = job_check_days_wait(NULL, o.wait, &wait, &e);
	if (rc != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if (margin < 0)		/* not given: the instance's, if set */
		margin = c->conf.signer_renew_days;
	if (margin > 0)
		margin *= 86400;
	if (due) {
		rc = rotate_due(c, kind, o.ca, o.alg, margin);
		goto out;
	}
	if ((rc = rotate_one(c, kind, o.ca, o.alg, wait, &e)) == 0)
		goto out;
fail:
	if (e.code != 0)
		rc = diag_err(&e);
out:
	sopts_free(&o);
	buf_free(&name);
	err_free(&e);
	return rc;
}

static void
show_text(const char *ca, const struct signer *s, struct buf *out)
{
	const struct key_alg *alg = keys_alg_of(X509_get0_pubkey(s->cert));
	struct buf serial = {0}, subj = {0}, nb = {0};

	x509_serial_hex(s->cert, &serial);
	x509_name_str(X509_get_subject_name(s->cert), &subj);
	clock_fmt(&nb, x509_not_before(s->cert));
	buf_printf(out, "kind:        %s\nca:          %s\n", s->kind, ca);
	buf_printf(out, "certificate: %lld\nserial:      %s\n",
	    (long long)s->cert_id, serial.p);
	buf_printf(out, "subject:     %s\nnot before:  %s\n", subj.p, nb.p);
	buf_printf(out, "not after:   %s\nkey:         %s, %s\n",
	    s->not_after, alg ? alg->name : "?", keys_ref_kind(s->key_ref));
	if (s->policy_oid)
		buf_printf(out, "policy:      %s\n", s->policy_oid);
	buf_free(&serial);
	buf_free(&subj);
	buf_free(&nb);
}

static void
show_json(const char *ca, const struct signer *s, struct buf *out)
{
	const struct key_alg *alg = keys_alg_of(X509_get0_pubkey(s->cert));
	struct buf serial = {0}, subj = {0}, nb = {0};
	struct jw w;

	x509_serial_hex(s->cert, &serial);
	x509_name_str(X509_get_subject_name(s->cert), &subj);
	clock_fmt(&nb, x509_not_before(s->cert));
	jw_init(&w, out);
	jw_obj(&w);
	jw_kstr(&w, "kind", s->kind);
	jw_kstr(&w, "ca", ca);
	jw_kint(&w, "certificate", s->cert_id);
	jw_kstr(&w, "serial", serial.p);
	jw_kstr(&w, "subject", subj.p);
	jw_kstr(&w, "not_before", nb.p);
	jw_kstr(&w, "not_after", s->not_after);
	jw_kstr(&w, "key_alg", alg ? alg->name : NULL);
	jw_kstr(&w, "key_kind", keys_ref_kind(s->key_ref));
	jw_kstr(&w, "policy_oid", s->policy_oid);
	jw_end(&w);
	buf_addc(out, '\n');
	buf_free(&serial);
	buf_free(&subj);
	buf_free(&nb);
}

int
sgn_show(struct cli *c, const char *kind, int argc, const char **argv)
{
	struct sopts o = {0};
	struct poptOption opts[] = {
		{ "ca", '\0', POPT_ARG_STRING, &o.ca, 0,
		  "the issuing CA (required)", "NAME" },
		{ "pem", '\0', POPT_ARG_NONE, &o.pem, 0,
		  "print the signer's certificate (PEM)", NULL },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct signer s = {0};
	struct buf name = {0}, out = {0};
	struct err e = {0};
	int rc;

	cmd_name(kind, "show", &name);
	if ((rc = cli_parse(c, name.p, argc, argv, opts, "[OPTION...] --ca "
	    "NAME", 0, 0)) != 0)
		goto out;
	if (o.ca == NULL) {
		rc = err_set(&e, EX_USAGE, "--ca: required");
		goto fail;
	}
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = signer_find(c->db, c->realm_id, o.ca, kind, &s, &e)) != 0)
		goto fail;
	if (o.pem)
		x509_pem(s.cert, &out);
	else if (c->json)
		show_json(o.ca, &s, &out);
	else
		show_text(o.ca, &s, &out);
	rc = cli_print(&out) != 0 ? EX_IOERR : 0;
	goto out;
fail:
	rc = diag_err(&e);
out:
	signer_free(&s);
	sopts_free(&o);
	buf_free(&name);
	buf_free(&out);
	err_free(&e);
	return rc;
}

/* The active signer's row of CA ca, 0 when it has none. */
static int
active_id(struct cli *c, const char *kind, const char *ca, int64_t *id,
    struct err *e)
{
	struct signer s = {0};
	int rc;

	*id = 0;
	rc = signer_find(c->db, c->realm_id, ca, kind, &s, e);
	if (rc == 0)
		*id = s.cert_id;
	else if (rc == EX_NOINPUT) {
		err_free(e);
		rc = 0;
	}
	signer_free(&s);
	return rc;
}

enum { L_ID, L_CA, L_SERIAL, L_NB, L_NA, L_STATUS, L_KEY };

static void
list_row(struct cli *c, struct db_stmt *st, int active, struct jw *w,
    struct buf *out)
{
	if (c->json) {
		jw_obj(w);
		jw_kint(w, "certificate", db_int(st, L_ID));
		jw_kstr(w, "ca", db_text(st, L_CA));
		jw_kstr(w, "serial", db_text(st, L_SERIAL));
		jw_kstr(w, "not_before", db_text(st, L_NB));
		jw_kstr(w, "not_after", db_text(st, L_NA));
		jw_kstr(w, "status", db_text(st, L_STATUS));
		jw_kbool(w, "server_side_key", db_int(st, L_KEY) != 0);
		jw_kbool(w, "active_signer", active);
		jw_end(w);
		return;
	}
	buf_printf(out, "%c %-6lld %-16s %-32s %s %s\n", active ? '*' : ' ',
	    (long long)db_int(st, L_ID), db_text(st, L_CA),
	    db_text(st, L_SERIAL), db_text(st, L_NA), db_text(st, L_STATUS));
}

int
sgn_list(struct cli *c, const char *kind, int argc, const char **argv)
{
	struct sopts o = {0};
	struct poptOption opts[] = {
		{ "ca", '\0', POPT_ARG_STRING, &o.ca, 0,
		  "only this CA's signers", "NAME" },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct db_stmt *st = NULL;
	struct buf name = {0}, out = {0}, ca = {0};
	struct err e = {0};
	struct jw w;
	int64_t active = 0;
	int rc;

	cmd_name(kind, "list", &name);
	if ((rc = cli_parse(c, name.p, argc, argv, opts, "[OPTION...]", 0,
	    0)) != 0)
		goto out;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = db_prep(c->db, &st, &e, "SELECT c.id, a.name, c.serial, "
	    "c.not_before, c.not_after, c.status, c.key_ref IS NOT NULL "
	    "FROM certificates c JOIN templates t ON t.id = c.template_id "
	    "AND t.realm_id = c.realm_id JOIN cas a ON a.id = c.ca_id "
	    "WHERE c.realm_id = ? AND t.starter = ? AND (? IS NULL OR "
	    "a.name = ?) ORDER BY a.name, c.id", "ittt", c->realm_id,
	    signer_starter(kind), o.ca, o.ca)) != 0)
		goto fail;
	if (c->json) {
		jw_init(&w, &out);
		jw_arr(&w);
	}
	while ((rc = db_step(st, &e)) == 1) {
		if (strcmp(buf_str(&ca), db_text(st, L_CA)) != 0) {
			buf_reset(&ca);
			buf_adds(&ca, db_text(st, L_CA));
			if ((rc = active_id(c, kind, ca.p, &active, &e)) != 0)
				goto fail;
		}
		list_row(c, st, db_int(st, L_ID) == active, &w, &out);
	}
	if (rc < 0)
		goto fail;
	if (c->json) {
		jw_end(&w);
		buf_addc(&out, '\n');
	}
	rc = cli_print(&out) != 0 ? EX_IOERR : 0;
	goto out;
fail:
	rc = diag_err(&e);
out:
	db_finish(st);
	sopts_free(&o);
	buf_free(&name);
	buf_free(&out);
	buf_free(&ca);
	err_free(&e);
	return rc;
}
