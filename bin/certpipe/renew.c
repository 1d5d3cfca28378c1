/*
 * renew - `certpipe renew`: queue a renewal job for every managed
 * certificate of the realm that expires within a given time and has no
 * renewal under way. A renewal asks for the same names under the same
 * template, with a CSR signed by the certificate's server-side key (or,
 * with --rekey, by a new key of the same type); sign then supersedes
 * the old certificate.
 *
 * Scale: one command for 100 000 certificates. The due certificates are
 * read a page at a time (keyset order on not_after, id: nothing is held
 * open across a commit), each page becomes one transaction of orders and
 * audit events, then its jobs are committed to the spool and the
 * trigger is pulled once. The passphrase is read once.
 *
 * Trust: run by the administrator (or cron). It opens certificate keys
 * (not CA keys) to sign renewal requests and never prints them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "clock.h"
#include "csr.h"
#include "diag.h"
#include "json.h"
#include "num.h"
#include "order.h"
#include "rec.h"
#include "requeue.h"
#include "spool.h"
#include "x509.h"

#define PAGE		500	/* certificates per query page and commit */
#define WITHIN_MAX	(3650LL * 86400)

struct due {
	int64_t id;
	char *serial, *cn, *pem, *key_ref, *tmpl, *not_after;
};

struct job {
	struct rec *r;
	int64_t cert_id;
	char *key_ref;		/* the order's key */
	int new_key;		/* key_ref was made by this run */
	int raced;		/* another run queued its renewal first */
};

struct run {
	struct cli *c;
	struct spool *sp;
	struct secret pass;
	int have_pass, pass_failed, rekey, dry;
	int64_t limit;			/* 0: none */
	int64_t queued, nokey, notmpl, failed, requeued, raced;
	int first_rc;			/* first per-certificate failure */
	struct job jobs[PAGE];
	size_t njobs;
};

/* "30d", "12h", "45m", "90s" into seconds. */
static int
parse_within(const char *s, int64_t *secs, struct err *e)
{
	static const struct { char unit; int64_t mult; } u[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	struct buf num = {0};
	size_t i, n = strlen(s);
	int64_t v = 0;
	int rc = EX_USAGE;

	for (i = 0; n > 1 && i < sizeof u / sizeof u[0]; i++)
		if (s[n - 1] == u[i].unit) {
			buf_add(&num, s, n - 1);
			if ((rc = num_i64("--within", num.p, 0,
			    WITHIN_MAX / u[i].mult, &v, e)) == 0)
				*secs = v * u[i].mult;
			else
				rc = EX_USAGE;
			break;
		}
	if (rc != 0)
		err_set(e, EX_USAGE, "--within: '%s' is not a duration like "
		    "30d, 12h, 45m or 90s (at most 3650d)", s);
	buf_free(&num);
	return rc;
}

static void
due_free(struct due *d)
{
	free(d->serial); free(d->cn); free(d->pem); free(d->key_ref);
	free(d->tmpl); free(d->not_after);
}

static char *
dup_col(struct db_stmt *st, int i)
{
	return db_isnull(st, i) ? NULL : xstrdup(db_text(st, i));
}

/* The next page of due certificates after the cursor (not_after, id).
 * Certificates with a renewal order under way are left out. */
static int
next_page(struct run *u, const char *until, const char *after_na,
    int64_t after_id, struct due *d, size_t *n, struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	*n = 0;
	if ((rc = db_prep(u->c->db, &st, e, "SELECT c.id, c.serial, c.cn, "
	    "c.pem, c.key_ref, t.name, c.not_after FROM certificates c "
	    "LEFT JOIN templates t ON t.id = c.template_id AND "
	    "t.realm_id = c.realm_id "
	    "WHERE c.realm_id = ? AND c.source = 'managed' AND "
	    "c.status = 'active' AND c.not_after <= ? AND "
	    "(c.not_after > ? OR (c.not_after = ? AND c.id > ?)) AND "
	    "c.id NOT IN (SELECT renewal_of FROM orders WHERE realm_id = ? "
	    "AND renewal_of IS NOT NULL AND status IN ('pending', "
	    "'processing', 'held')) "
	    "ORDER BY c.not_after, c.id LIMIT ?", "itttiii", u->c->realm_id,
	    until, after_na, after_na, after_id, u->c->realm_id,
	    (int64_t)PAGE)) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1) {
		d[*n].id = db_int(st, 0);
		d[*n].serial = dup_col(st, 1);
		d[*n].cn = dup_col(st, 2);
		d[*n].pem = dup_col(st, 3);
		d[*n].key_ref = dup_col(st, 4);
		d[*n].tmpl = dup_col(st, 5);
		d[*n].not_after = dup_col(st, 6);
		(*n)++;
	}
	db_finish(st);
	return rc < 0 ? e->code : 0;
}

/* The key the renewal request is signed with: the certificate's own,
 * or a new one of the same type stored before any row names it. */
static int
renewal_key(struct run *u, const struct due *d, X509 *x, EVP_PKEY **key,
    struct job *j, struct err *e)
{
	const struct key_alg *alg;
	EVP_PKEY *old = NULL;
	int rc;

	if (!u->have_pass) {
		if ((rc = cli_secret(u->c, &u->pass, e)) != 0) {
			u->pass_failed = 1;
			return rc;
		}
		u->have_pass = 1;
	}
	if ((rc = keys_load(&u->c->conf, d->key_ref, &u->pass, &old, e)) != 0)
		return rc;
	if (!u->rekey) {
		*key = old;
		j->key_ref = xstrdup(d->key_ref);
		return 0;
	}
	EVP_PKEY_free(old);
	if ((alg = keys_alg_of(X509_get0_pubkey(x))) == NULL)
		return err_set(e, EX_DATAERR, "its key type is not one "
		    "certpipe makes");
	if ((rc = keys_generate(alg, key, e)) != 0 ||
	    (rc = keys_store(&u->c->conf, *key, &u->pass, &j->key_ref, e)) != 0)
		return rc;
	j->new_key = 1;
	return 0;
}

/* The names and the request, as lib/csr reads them back. */
static int
add_request(struct rec *r, X509_REQ *req, struct err *e)
{
	struct csr cs = {0};
	unsigned char *der = NULL;
	const struct { const char *name; char **value; } f[] = {
		{ "CN", &cs.cn }, { "O", &cs.o }, { "OU", &cs.ou },
		{ "C", &cs.c }, { "ST", &cs.st }, { "L", &cs.l },
	};
	size_t i;
	int rc, len;

	if ((len = i2d_X509_REQ(req, &der)) <= 0)
		return err_set(e, EX_SOFTWARE, "CSR: cannot encode");
	if ((rc = csr_parse(der, (size_t)len, &cs, e)) != 0)
		goto out;
	for (i = 0; i < sizeof f / sizeof f[0] && rc == 0; i++)
		if (*f[i].value)
			rc = rec_add(r, f[i].name, *f[i].value, e);
	for (i = 0; i < cs.nsan && rc == 0; i++)
		rc = rec_add(r, "SAN", cs.san[i], e);
	if (rc == 0)
		rc = rec_add_pem(r, "CERTIFICATE REQUEST", der, (size_t)len, e);
out:
	OPENSSL_free(der);
	csr_free(&cs);
	return rc;
}

/* The renewal job of one certificate into j. */
static int
make_job(struct run *u, const struct due *d, struct job *j, struct err *e)
{
	X509 *x = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *key = NULL;
	const struct key_alg *alg;
	struct rec *r = rec_new();
	int rc;

	memset(j, 0, sizeof *j);
	j->cert_id = d->id;
	if ((rc = x509_cert_read(d->pem, strlen(d->pem), &x, e)) != 0 ||
	    (rc = renewal_key(u, d, x, &key, j, e)) != 0)
		goto out;
	alg = keys_alg_of(key);
	if ((rc = x509_csr_like(key, x, alg ? alg->digest : "sha256", &req,
	    e)) != 0)
		goto out;
	if ((rc = rec_add(r, "Type", "renew", e)) != 0 ||
	    (rc = rec_add(r, "Source", "renewal", e)) != 0 ||
	    (rc = rec_add(r, "Requested-By", u->c->actor, e)) != 0 ||
	    (rc = rec_add(r, "Realm", cli_realm(u->c), e)) != 0 ||
	    (rc = rec_add(r, "Template", d->tmpl, e)) != 0 ||
	    (rc = rec_add(r, "Renewal-Of", d->serial, e)) != 0 ||
	    (u->rekey && (rc = rec_add(r, "Rekey", "yes", e)) != 0) ||
	    (rc = add_request(r, req, e)) != 0)
		goto out;
	j->r = r;
	r = NULL;
out:
	if (rc != 0 && j->new_key) {
		struct err e2 = {0};
		keys_remove(&u->c->conf, j->key_ref, &e2);
		err_free(&e2);
	}
	if (rc != 0) {
		free(j->key_ref);
		j->key_ref = NULL;
	}
	rec_free(r);
	EVP_PKEY_free(key);
	X509_REQ_free(req);
	X509_free(x);
	return rc;
}

/* The page's orders and audit events: one transaction. */
/* Is a renewal of j's certificate under way already? Asked inside the
 * page's write transaction (BEGIN IMMEDIATE), so of two overlapping runs
 * that both read the certificate as due, only the first to commit queues
 * it; the other skips it. */
static int
under_way(struct run *u, struct job *j, struct err *e)
{
	int64_t n = 0;
	int rc;

	if ((rc = db_int64(u->c->db, &n, e, "SELECT count(*) FROM orders "
	    "WHERE realm_id = ? AND status IN ('pending', 'processing', "
	    "'held') AND renewal_of = ?", "ii", u->c->realm_id, j->cert_id))
	    == 0)
		j->raced = n > 0;
	return rc;
}

static int
commit_orders(struct run *u, struct err *e)
{
	struct order o = {0};
	struct buf obj = {0}, detail = {0};
	size_t i;
	int rc;

	if ((rc = db_begin(u->c->db, e)) != 0)
		return rc;
	for (i = 0; i < u->njobs && rc == 0; i++) {
		struct job *j = &u->jobs[i];
		order_free(&o);
		buf_reset(&obj);
		buf_reset(&detail);
		if ((rc = under_way(u, j, e)) != 0 || j->raced)
			continue;
		buf_printf(&obj, "order:%s", rec_id(j->r));
		buf_printf(&detail, "renews certificate %lld, serial %s%s",
		    (long long)j->cert_id, rec_get(j->r, "Renewal-Of"),
		    j->new_key ? ", new key" : "");
		if ((rc = order_open(u->c->db, u->c->realm_id, j->r, "renewal",
		    u->c->actor, &o, NULL, e)) == 0 &&
		    (rc = order_set_renewal(u->c->db, o.id, j->cert_id, e)) ==
		    0 && (rc = order_set_key(u->c->db, o.id, j->key_ref, e)) ==
		    0)
			rc = cli_audit(u->c, "certificate.renewal.queued", obj.p,
			    "success", detail.p, e);
	}
	if (rc == 0)
		rc = db_commit(u->c->db, e);
	if (rc != 0)
		db_rollback(u->c->db);
	order_free(&o);
	buf_free(&obj);
	buf_free(&detail);
	return rc;
}

/* A job the spool refused: its order fails with the reason (the request
 * stays in orders.request), so the next run may try again. */
static void
fail_order(struct run *u, const struct job *j, const struct err *why)
{
	struct order o = {0};
	struct buf obj = {0};
	struct err e = {0};

	buf_printf(&obj, "order:%s", rec_id(j->r));
	if (db_begin(u->c->db, &e) == 0 &&
	    order_load(u->c->db, rec_id(j->r), &o, &e) == 0 &&
	    order_fail(u->c->db, o.id, why->code, err_str(why), &e) == 0 &&
	    cli_audit(u->c, "certificate.renewal.queued", obj.p, "failure",
	    err_str(why), &e) == 0 && db_commit(u->c->db, &e) == 0)
		goto out;
	db_rollback(u->c->db);
	diag_err(&e);
out:
	buf_free(&obj);
	order_free(&o);
	err_free(&e);
}

static void
jobs_clear(struct run *u, int remove_new_keys)
{
	struct err e = {0};
	size_t i;

	for (i = 0; i < u->njobs; i++) {
		if ((remove_new_keys || u->jobs[i].raced) &&
		    u->jobs[i].new_key)
			keys_remove(&u->c->conf, u->jobs[i].key_ref, &e);
		rec_free(u->jobs[i].r);
		free(u->jobs[i].key_ref);
	}
	u->njobs = 0;
	err_free(&e);
}

/* Orders first (the requests are in the database), then the spool. A
 * job whose certificate another run renewed meanwhile is not queued. */
static int
flush(struct run *u, struct err *e)
{
	struct buf text = {0};
	struct err pe = {0};
	size_t i;
	int rc;

	if (u->njobs == 0)
		return 0;
	if ((rc = commit_orders(u, e)) != 0) {
		jobs_clear(u, 1);
		return rc;
	}
	for (i = 0; i < u->njobs; i++) {
		if (u->jobs[i].raced) {
			u->raced++;
			continue;
		}
		buf_reset(&text);
		rec_write(u->jobs[i].r, &text);
		if ((rc = spool_put(u->sp, "incoming", rec_id(u->jobs[i].r),
		    text.p, text.len, &pe)) != 0) {
			diag("certificate %s: %s", rec_get(u->jobs[i].r,
			    "Renewal-Of"), err_str(&pe));
			fail_order(u, &u->jobs[i], &pe);
			if (u->first_rc == 0)
				u->first_rc = rc;
			u->failed++;
			err_free(&pe);
			continue;
		}
		u->queued++;
	}
	spool_trigger_pull(u->sp);
	jobs_clear(u, 0);
	buf_free(&text);
	return 0;
}

/* One due certificate: skipped, listed (--dry-run) or made a job. A
 * failure of this certificate alone is reported and the run goes on;
 * one that every certificate would meet (no passphrase, a wrong one)
 * ends it. */
static int
one(struct run *u, const struct due *d, struct err *e)
{
	struct err ce = {0};
	int rc;

	if (d->key_ref == NULL) {
		u->nokey++;
		return 0;
	}
	if (d->tmpl == NULL) {
		u->notmpl++;
		return 0;
	}
	if (u->dry) {
		if (!u->c->json)
			printf("%s %s %s\n", d->serial, d->not_after,
			    d->cn ? d->cn : "-");
		u->queued++;
		return 0;
	}
	if ((rc = make_job(u, d, &u->jobs[u->njobs], &ce)) == 0) {
		u->njobs++;
		return 0;
	}
	if (u->pass_failed || rc == EX_NOPERM || rc == EX_CONFIG) {
		err_set(e, rc, "%s", err_str(&ce));
		err_free(&ce);
		return rc;
	}
	diag("certificate %s: %s", d->serial, err_str(&ce));
	err_free(&ce);
	if (u->first_rc == 0)
		u->first_rc = rc;
	u->failed++;
	return 0;
}

/* A crash between a page's commit and its spool writes leaves renewal
 * orders pending with no job, which would count as under way for ever:
 * requeue_lost (lib/requeue.h) puts those jobs back. In normal operation
 * the query finds nothing and no queue is looked at. */
static int
requeue_renewals(struct run *u, struct err *e)
{
	size_t n = 0;
	int rc;

	rc = requeue_lost(u->c->db, u->sp, u->c->realm_id, "renewal",
	    REQUEUE_AFTER, u->c->actor, &n, e);
	u->requeued += (int64_t)n;
	if (n > 0)
		spool_trigger_pull(u->sp);
	return rc;
}

/* Every page of due certificates, until none is left or the limit. */
static int
sweep(struct run *u, const char *until, struct err *e)
{
	struct due *d = xcalloc(PAGE, sizeof *d);
	struct buf na = {0};
	int64_t after_id = 0;
	size_t i, n = 0;
	int rc, done = 0;

	buf_adds(&na, "");
	while (!done && (rc = next_page(u, until, na.p, after_id, d, &n,
	    e)) == 0 && n > 0) {
		for (i = 0; i < n && rc == 0; i++) {
			if (u->limit > 0 && u->queued + (int64_t)u->njobs >=
			    u->limit) {
				done = 1;
				break;
			}
			rc = one(u, &d[i], e);
		}
		buf_reset(&na);
		buf_adds(&na, d[n - 1].not_after);
		after_id = d[n - 1].id;
		for (i = 0; i < n; i++)
			due_free(&d[i]);
		if (rc != 0 || (rc = flush(u, e)) != 0)
			break;
		fflush(stdout);
	}
	jobs_clear(u, 1);
	free(d);
	buf_free(&na);
	return rc;
}

static void
summary_json(const struct run *u, struct buf *b)
{
	struct jw w;

	jw_init(&w, b);
	jw_obj(&w);
	jw_kbool(&w, "dry_run", u->dry);
	jw_kint(&w, "queued", u->queued);
	jw_kint(&w, "skipped_no_key", u->nokey);
	jw_kint(&w, "skipped_no_template", u->notmpl);
	jw_kint(&w, "failed", u->failed);
	jw_kint(&w, "requeued", u->requeued);
	jw_kint(&w, "already_under_way", u->raced);
	jw_end(&w);
	buf_addc(b, '\n');
}

static int
summary(const struct run *u)
{
	struct buf b = {0};
	int rc;

	if (u->c->json) {
		summary_json(u, &b);
		goto print;
	}
	if (u->requeued)
		buf_printf(&b, "re-queued %lld lost renewal job%s\n",
		    (long long)u->requeued, u->requeued == 1 ? "" : "s");
	buf_printf(&b, "%s %lld renewal%s, skipped %lld\n", u->dry ?
	    "would queue" : "queued", (long long)u->queued,
	    u->queued == 1 ? "" : "s",
	    (long long)(u->nokey + u->notmpl + u->raced));
	if (u->raced)
		buf_printf(&b, "%lld certificate%s skipped: renewed by another "
		    "run meanwhile\n", (long long)u->raced,
		    u->raced == 1 ? "" : "s");
	if (u->nokey)
		buf_printf(&b, "%lld certificate%s skipped: no server-side key; "
		    "submit a new CSR\n", (long long)u->nokey,
		    u->nokey == 1 ? "" : "s");
	if (u->notmpl)
		buf_printf(&b, "%lld certificate%s skipped: template deleted\n",
		    (long long)u->notmpl, u->notmpl == 1 ? "" : "s");
	if (u->failed)
		buf_printf(&b, "%lld certificate%s failed (see above)\n",
		    (long long)u->failed, u->failed == 1 ? "" : "s");
print:
	rc = cli_print(&b);
	buf_free(&b);
	return rc;
}

int
cmd_renew(struct cli *c, int argc, const char **argv)
{
	char *within = NULL, *limit = NULL;
	struct run u;
	struct poptOption opts[] = {
		{ "dry-run", '\0', POPT_ARG_NONE, &u.dry, 0,
		  "list what is due, change nothing", NULL },
		{ "limit", '\0', POPT_ARG_STRING, &limit, 0,
		  "queue at most N renewals", "N" },
		{ "rekey", '\0', POPT_ARG_NONE, &u.rekey, 0,
		  "sign each renewal with a new key of the same type", NULL },
		{ "within", '\0', POPT_ARG_STRING, &within, 0,
		  "renew what expires within DURATION: 30d, 12h, 45m "
		  "(required)", "DURATION" },
		CLI_PASSPHRASE(c),
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct err e = {0};
	struct buf until = {0};
	int64_t secs = 0;
	int rc;

	memset(&u, 0, sizeof u);
	u.c = c;
	if ((rc = cli_parse(c, "certpipe renew", argc, argv, opts,
	    "[OPTION...] --within DURATION", 0, 0)) != 0)
		goto out;
	if (within == NULL)
		rc = err_set(&e, EX_USAGE, "--within: required");
	else if ((rc = parse_within(within, &secs, &e)) == 0 && limit)
		rc = num_i64("--limit", limit, 1, INT64_MAX, &u.limit, &e);
	if (rc != 0 || (u.rekey && u.dry && (rc = err_set(&e, EX_USAGE,
	    "--rekey and --dry-run exclude each other")) != 0))
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if (!u.dry && (rc = spool_open(c->conf.home, &u.sp, &e)) != 0)
		goto fail;
	clock_fmt(&until, clock_now() + (time_t)secs);
	if ((!u.dry && (rc = requeue_renewals(&u, &e)) != 0) ||
	    (rc = sweep(&u, until.p, &e)) != 0)
		goto fail;
	if ((rc = summary(&u)) != 0)
		goto out;
	/* 1: nothing was due, cron's "nothing to do" */
	rc = u.first_rc ? u.first_rc : u.queued + u.requeued > 0 ? 0 : 1;
	goto out;
fail:
	rc = diag_err(&e);
	if (u.queued > 0)
		summary(&u);
out:
	spool_close(u.sp);
	secret_free(&u.pass);
	buf_free(&until);
	free(within);
	free(limit);
	err_free(&e);
	return rc;
}
