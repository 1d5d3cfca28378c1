/*
 * request - `certpipe request` and `certpipe submit`: the command-line
 * ways into the issuance pipeline (doc/architecture.md). request makes
 * the key pair here, stores it encrypted and asks for a certificate with
 * a CSR it signs itself; submit sends a CSR made elsewhere. Both open the
 * job's order with an audit event in one transaction, commit the job
 * record to queue/incoming and poke the trigger; --wait then follows the
 * order until the pipeline is done with it.
 *
 * Trust: run by the administrator. The new private key goes straight
 * into the key store (encrypted, 0600) and is never printed; records
 * cannot carry a private key at all. The CSR given to submit is hostile
 * input and is parsed only by lib/csr before anything is written.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "csr.h"
#include "diag.h"
#include "fs.h"
#include "job.h"
#include "json.h"
#include "num.h"
#include "order.h"
#include "rec.h"
#include "spool.h"
#include "tmpl.h"
#include "x509.h"


/* What request and submit share once their input is checked. */
struct job {
	struct rec *r;
	const char *otype;	/* order type: automated | csr */
	const char *event;	/* audit event of the submission */
	const char *key_ref;	/* server-side key, or NULL */
	int64_t wait;		/* seconds, 0: do not wait */
	int committed;		/* the order is in the database */
};

/* The template named, or the realm's only enabled one. */
static int
pick_template(struct cli *c, const char *name, struct tmpl *t, struct err *e)
{
	struct db_stmt *st = NULL;
	int64_t n = 0;
	int rc;

	if (name == NULL) {
		if ((rc = db_int64(c->db, &n, e, "SELECT count(*) FROM "
		    "templates WHERE realm_id = ? AND enabled = 1", "i",
		    c->realm_id)) != 0)
			return rc;
		if (n != 1)
			return err_set(e, EX_USAGE, "--template: required (realm "
			    "'%s' has %lld enabled templates)", cli_realm(c),
			    (long long)n);
		if ((rc = db_prep(c->db, &st, e, "SELECT name FROM templates "
		    "WHERE realm_id = ? AND enabled = 1", "i", c->realm_id)) != 0)
			return rc;
		if ((rc = db_step(st, e)) == 1)
			rc = tmpl_load(c->db, c->realm_id, db_text(st, 0), t, e);
		else if (rc == 0)
			rc = err_set(e, EX_TEMPFAIL, "template: removed meanwhile");
		else
			rc = e->code;
		db_finish(st);
		return rc;
	}
	if ((rc = tmpl_load(c->db, c->realm_id, name, t, e)) != 0)
		return rc;
	if (!t->enabled)
		return err_set(e, EX_NOPERM, "template '%s': disabled", name);
	return 0;
}

/* The headers every command-line job starts with. */
static int
base_rec(struct cli *c, struct rec *r, const char *type,
    const struct tmpl *t, const char *days, struct err *e)
{
	int rc;

	if ((rc = rec_add(r, "Type", type, e)) != 0 ||
	    (rc = rec_add(r, "Source", "cli", e)) != 0 ||
	    (rc = rec_add(r, "Requested-By", c->actor, e)) != 0 ||
	    (rc = rec_add(r, "Realm", cli_realm(c), e)) != 0 ||
	    (rc = rec_add(r, "Template", t->name, e)) != 0)
		return rc;
	if (days && (rc = rec_add(r, "Days", days, e)) != 0)
		return rc;
	return 0;
}

/* The names and the request, as lib/csr read them from the CSR. */
static int
add_request(struct rec *r, const struct csr *cs, struct err *e)
{
	const struct { const char *name, *value; } f[] = {
		{ "CN", cs->cn }, { "O", cs->o }, { "OU", cs->ou },
		{ "C", cs->c }, { "ST", cs->st }, { "L", cs->l },
	};
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof f / sizeof f[0] && rc == 0; i++)
		if (f[i].value)
			rc = rec_add(r, f[i].name, f[i].value, e);
	for (i = 0; i < cs->nsan && rc == 0; i++)
		rc = rec_add(r, "SAN", cs->san[i], e);
	if (rc != 0)
		return rc;
	return rec_add_pem(r, "CERTIFICATE REQUEST", cs->der, cs->derlen, e);
}

/* Open the job's order (with its key) and audit it: one transaction. */
static int
open_order(struct cli *c, struct job *j, struct err *e)
{
	struct order o = {0};
	struct buf obj = {0}, detail = {0};
	int rc, created = 0;

	if ((rc = db_begin(c->db, e)) != 0)
		return rc;
	if ((rc = order_open(c->db, c->realm_id, j->r, j->otype, c->actor, &o,
	    &created, e)) != 0)
		goto out;
	if (!created) {
		rc = err_set(e, EX_SOFTWARE, "job %s: order exists already",
		    rec_id(j->r));
		goto out;
	}
	if (j->key_ref && (rc = order_set_key(c->db, o.id, j->key_ref, e)) != 0)
		goto out;
	buf_printf(&obj, "order:%s", rec_id(j->r));
	buf_printf(&detail, "template %s, CN %s", rec_get(j->r, "Template"),
	    rec_get(j->r, "CN") ? rec_get(j->r, "CN") : "-");
	if ((rc = cli_audit(c, j->event, obj.p, "success", detail.p, e)) != 0)
		goto out;
	if ((rc = db_commit(c->db, e)) == 0)
		j->committed = 1;
out:
	if (rc != 0)
		db_rollback(c->db);
	order_free(&o);
	buf_free(&obj);
	buf_free(&detail);
	return rc;
}

/* Commit the job: order first (the request is in the database), then
 * the spool; print its id, and wait when asked. */
static int
run_job(struct cli *c, struct job *j, struct err *e)
{
	int rc;

	if ((rc = open_order(c, j, e)) != 0)
		return rc;
	return job_send(c, j->r, j->event, j->wait, e);
}

/* "DNS:x", "IP:x", "email:x", "URI:x" as given; a bare name becomes IP:
 * when it is an address, DNS: otherwise. lib/csr checks the values. */
static void
san_norm(const char *in, struct buf *out)
{
	static const char *const kinds[] = { "DNS:", "IP:", "email:", "URI:" };
	unsigned char addr[16];
	size_t i;

	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strncmp(in, kinds[i], strlen(kinds[i])) == 0) {
			buf_adds(out, in);
			return;
		}
	if (inet_pton(AF_INET, in, addr) == 1 ||
	    inet_pton(AF_INET6, in, addr) == 1)
		buf_printf(out, "IP:%s", in);
	else
		buf_printf(out, "DNS:%s", in);
}

struct request_opts {
	char *alg, *cn, *o, *ou, *c, *st, *l, *days, *tmpl, *wait;
	char **san;
};

static void
request_opts_free(struct request_opts *o)
{
	char **p;

	free(o->alg); free(o->cn); free(o->o); free(o->ou); free(o->c);
	free(o->st); free(o->l); free(o->days); free(o->tmpl); free(o->wait);
	for (p = o->san; p && *p; p++)
		free(*p);
	free(o->san);
}

/* The algorithm asked for, or the template's first; it must be one
 * the template allows. */
static int
pick_alg(const char *name, const struct tmpl *t, const struct key_alg **alg,
    struct err *e)
{
	struct buf list = {0};
	char *p, *item, *save = NULL;
	int rc, allowed = 0;

	buf_adds(&list, t->key_algs);
	for (p = list.p; (item = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		if (name == NULL)
			name = item;	/* the first */
		if (strcmp(item, name) == 0)
			allowed = 1;
	}
	if ((*alg = keys_alg(name)) == NULL)
		rc = err_set(e, EX_DATAERR, "--alg: unknown key type '%s' (%s)",
		    name ? name : "", keys_alg_list());
	else if (!allowed)
		rc = err_set(e, EX_DATAERR, "--alg: template '%s' allows %s, "
		    "not %s", t->name, t->key_algs, name);
	else
		rc = 0;
	buf_free(&list);
	return rc;
}

/* Key, CSR (names checked by reading it back with lib/csr), record. */
static int
make_request(struct cli *c, const struct request_opts *o,
    const struct tmpl *t, EVP_PKEY **key, struct rec *r, struct err *e)
{
	struct x509_subject s = { o->cn, o->o, o->ou, o->c, o->st, o->l };
	const struct key_alg *alg;
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	struct csr cs = {0};
	struct buf der = {0};
	const char **sans = NULL;
	struct buf *norm = NULL;
	unsigned char *p = NULL;
	size_t i, n = 0;
	int rc, len;

	while (o->san && o->san[n])
		n++;
	sans = xcalloc(n + 1, sizeof *sans);
	norm = xcalloc(n + 1, sizeof *norm);
	for (i = 0; i < n; i++) {
		san_norm(o->san[i], &norm[i]);
		sans[i] = norm[i].p;
	}
	if ((rc = pick_alg(o->alg, t, &alg, e)) != 0 ||
	    (rc = x509_name_build(&s, &name, e)) != 0 ||
	    (rc = keys_generate(alg, key, e)) != 0 ||
	    (rc = x509_csr_make_san(*key, name, alg->digest, sans, n, &req,
	    e)) != 0)
		goto out;
	if ((len = i2d_X509_REQ(req, &p)) <= 0) {
		rc = err_ssl(e, EX_SOFTWARE, "CSR: cannot encode");
		goto out;
	}
	buf_add(&der, p, (size_t)len);
	if ((rc = csr_parse(der.p, der.len, &cs, e)) != 0 ||
	    (rc = base_rec(c, r, "keygen", t, o->days, e)) != 0 ||
	    (rc = rec_add(r, "Key-Alg", alg->name, e)) != 0 ||
	    (rc = add_request(r, &cs, e)) != 0)
		goto out;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		buf_free(&norm[i]);
	free(norm);
	free(sans);
	OPENSSL_free(p);
	buf_free(&der);
	csr_free(&cs);
	X509_REQ_free(req);
	X509_NAME_free(name);
	return rc;
}

int
cmd_request(struct cli *c, int argc, const char **argv)
{
	struct request_opts o = {0};
	struct poptOption opts[] = {
		{ "alg", '\0', POPT_ARG_STRING, &o.alg, 0,
		  "key type (default: the template's first)", "TYPE" },
		{ "c", '\0', POPT_ARG_STRING, &o.c, 0, "subject country", "CC" },
		{ "cn", '\0', POPT_ARG_STRING, &o.cn, 0,
		  "subject common name (required)", "NAME" },
		{ "days", '\0', POPT_ARG_STRING, &o.days, 0,
		  "validity in days (default: the template's)", "N" },
		{ "l", '\0', POPT_ARG_STRING, &o.l, 0, "subject locality", "L" },
		{ "o", '\0', POPT_ARG_STRING, &o.o, 0, "subject organisation",
		  "O" },
		{ "ou", '\0', POPT_ARG_STRING, &o.ou, 0, "subject unit", "OU" },
		{ "san", '\0', POPT_ARG_ARGV, &o.san, 0,
		  "subject alternative name: DNS:x, IP:x, email:x, URI:x or a "
		  "bare host name or address (repeatable)", "NAME" },
		{ "st", '\0', POPT_ARG_STRING, &o.st, 0, "subject state", "ST" },
		{ "template", '\0', POPT_ARG_STRING, &o.tmpl, 0,
		  "template (required unless the realm has one enabled)",
		  "NAME" },
		{ "wait", '\0', POPT_ARG_STRING, &o.wait, 0,
		  "wait up to SECONDS for the certificate", "SECONDS" },
		CLI_PASSPHRASE(c),
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct tmpl t = {0};
	struct secret pass = {0};
	struct err e = {0};
	struct job j = { NULL, "automated",
	    "certificate.request_automated.submitted", NULL, 0, 0 };
	EVP_PKEY *key = NULL;
	char *ref = NULL;
	int rc;

	if ((rc = cli_parse(c, "certpipe request", argc, argv, opts,
	    "[OPTION...] --cn NAME", 0, 0)) != 0)
		goto out;
	if (o.cn == NULL) {
		rc = err_set(&e, EX_USAGE, "--cn: required");
		goto fail;
	}
	if ((rc = job_check_days_wait(o.days, o.wait, &j.wait, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	j.r = rec_new();
	if ((rc = pick_template(c, o.tmpl, &t, &e)) != 0 ||
	    (rc = make_request(c, &o, &t, &key, j.r, &e)) != 0 ||
	    (rc = cli_secret(c, &pass, &e)) != 0)
		goto fail;
	/* The key file is written (and synced) before the order that names
	 * it: a crash in between leaves an unreferenced encrypted file,
	 * never an order without its key. */
	if ((rc = keys_store(&c->conf, key, &pass, &ref, &e)) != 0)
		goto fail;
	j.key_ref = ref;
	if ((rc = run_job(c, &j, &e)) != 0 && e.code != 0)
		goto fail;
	goto out;
fail:
	/* once the order names the key, the key stays */
	if (ref && !j.committed) {
		struct err e2 = {0};
		keys_remove(&c->conf, ref, &e2);
		err_free(&e2);
	}
	rc = diag_err(&e);
out:
	request_opts_free(&o);
	tmpl_free(&t);
	secret_free(&pass);
	EVP_PKEY_free(key);
	rec_free(j.r);
	free(ref);
	err_free(&e);
	return rc;
}

/* The CSR file (PEM or DER, "-": standard input), read and checked. */
static int
read_csr(const char *path, struct csr *cs, struct err *e)
{
	struct buf b = {0};
	int rc;

	if (strcmp(path, "-") == 0)
		rc = fs_read_fd(0, CSR_MAX_BYTES, &b, e);
	else
		rc = fs_read(path, CSR_MAX_BYTES, &b, e);
	if (rc == 0 && b.len == 0)
		rc = err_set(e, EX_DATAERR, "empty");
	if (rc == 0)
		rc = csr_parse(b.p, b.len, cs, e);
	if (rc != 0)
		err_prefix(e, "%s", strcmp(path, "-") ? path : "stdin");
	buf_free(&b);
	return rc;
}

int
cmd_submit(struct cli *c, int argc, const char **argv)
{
	char *tname = NULL, *days = NULL, *wait = NULL;
	struct poptOption opts[] = {
		{ "days", '\0', POPT_ARG_STRING, &days, 0,
		  "validity in days (default: the template's)", "N" },
		{ "template", '\0', POPT_ARG_STRING, &tname, 0,
		  "template (required unless the realm has one enabled)",
		  "NAME" },
		{ "wait", '\0', POPT_ARG_STRING, &wait, 0,
		  "wait up to SECONDS for the certificate", "SECONDS" },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct tmpl t = {0};
	struct csr cs = {0};
	struct err e = {0};
	struct job j = { NULL, "csr", "certificate.request_csr.submitted",
	    NULL, 0, 0 };
	int rc;

	if ((rc = cli_parse(c, "certpipe submit", argc, argv, opts,
	    "[OPTION...] FILE", 1, 1)) != 0)
		goto out;
	if ((rc = job_check_days_wait(days, wait, &j.wait, &e)) != 0)
		goto fail;
	/* a bad request is refused here, before any state changes */
	if ((rc = read_csr(c->args[0], &cs, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	j.r = rec_new();
	if ((rc = pick_template(c, tname, &t, &e)) != 0 ||
	    (rc = base_rec(c, j.r, "csr", &t, days, &e)) != 0 ||
	    (rc = add_request(j.r, &cs, &e)) != 0)
		goto fail;
	if ((rc = run_job(c, &j, &e)) != 0 && e.code != 0)
		goto fail;
	goto out;
fail:
	rc = diag_err(&e);
out:
	tmpl_free(&t);
	csr_free(&cs);
	rec_free(j.r);
	free(tname); free(days); free(wait);
	err_free(&e);
	return rc;
}
