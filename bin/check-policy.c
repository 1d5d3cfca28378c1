/*
 * check-policy - judge job records against the realm's template,
 * registered domains and policies, and say what happens to each: it is
 * signed (Status processing), waits for approval (held) or fails.
 *
 * Input: job records from parse-csr (files named, or stdin). Output: the
 * same records with the effective CA, template, validity and digest, the
 * subject values a template or policy fills in, the Verdict and the
 * Status; the job's order is opened (or found) and updated in the same
 * transaction as its audit events. --explain judges without changing
 * anything and prints a table per record instead ("what-if").
 *
 * Trust: reads records that came from hostile requests (parse-csr kept
 * only verified names). It holds no keys. It must never pass a job that
 * violates a hard rule, and it records what it passed (the facts digest,
 * lib/order.h) so sign can refuse a record changed after this stage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <popt.h>
#include "audit.h"
#include "ca.h"
#include "conf.h"
#include "db.h"
#include "diag.h"
#include "loop.h"
#include "num.h"
#include "order.h"
#include "policy.h"
#include "realm.h"
#include "rec.h"
#include "tmpl.h"
#include "x509.h"

struct ctx {
	struct db *db;
	const char *template;		/* --template: for records without */
	int explain;
	char *actor;
	/* the last template used: most streams name one */
	struct tmpl t;
	char *ca_name;
	/* --explain's tally, and the first reason a record was not judged */
	size_t outcomes[4], unjudged;
	int explain_rc;
};

static const char *const subject_fields[] = { "O", "OU", "C", "ST", "L" };

/* Mark r failed at this stage. */
static void
refuse(struct rec *r, int code, const char *why)
{
	struct err e = {0};
	struct buf c = {0};

	buf_printf(&c, "%d", code);
	rec_set(r, "Status", "failed", &e);
	rec_set(r, "Error", why, &e);
	rec_set(r, "Error-Code", c.p, &e);
	rec_set(r, "Stage", "check-policy", &e);
	buf_free(&c);
	err_free(&e);
}

static int
audit(struct ctx *x, const char *realm, const char *event,
    const struct rec *r, const char *outcome, const char *detail,
    struct err *e)
{
	struct buf obj = {0};
	struct audit_ev ev;
	int rc;

	buf_printf(&obj, "order:%s", rec_id(r));
	ev = (struct audit_ev){ event, x->actor, realm, obj.p, outcome,
	    detail };
	rc = audit_log(x->db, &ev, e);
	buf_free(&obj);
	return rc;
}

/* The template named by the record (or --template), cached. */
static int
template(struct ctx *x, int64_t realm, const struct rec *r, struct err *e)
{
	const char *name = rec_get(r, "Template");
	struct ca ca = {0};
	int rc;

	if (name == NULL)
		name = x->template;
	if (name == NULL)
		return err_set(e, EX_DATAERR, "no template: the record names "
		    "none and --template was not given");
	if (x->t.name && x->t.realm_id == realm && strcmp(x->t.name, name) == 0)
		return 0;
	tmpl_free(&x->t);
	free(x->ca_name);
	x->ca_name = NULL;
	if ((rc = tmpl_load(x->db, realm, name, &x->t, e)) != 0)
		return rc;
	if ((rc = ca_load_id(x->db, x->t.ca_id, &ca, e)) == 0)
		x->ca_name = xstrdup(ca.name);
	ca_free(&ca);
	if (rc != 0)
		tmpl_free(&x->t);
	return rc;
}

/* The template's subject values: "default" fills what the request left
 * out, "enforce" replaces what it asked for (with a warning). */
static int
template_subject(const struct tmpl *t, struct rec *r, struct err *e)
{
	struct x509_subject s = {0};
	const char *v[5], *have;
	char *store = NULL;
	struct buf w = {0};
	size_t i;
	int rc;

	if (t->subject == NULL || strcmp(t->subject_mode, "request") == 0)
		return 0;
	if ((rc = x509_subject_parse(t->subject, &s, &store, e)) != 0)
		return err_prefix(e, "template %s subject", t->name);
	v[0] = s.o; v[1] = s.ou; v[2] = s.c; v[3] = s.st; v[4] = s.l;
	for (i = 0; i < 5 && rc == 0; i++) {
		if (v[i] == NULL)
			continue;
		have = rec_get(r, subject_fields[i]);
		if (have && strcmp(t->subject_mode, "default") == 0)
			continue;
		if (have && strcmp(have, v[i]) != 0) {
			buf_reset(&w);
			buf_printf(&w, "template %s sets %s=%s (requested %s)",
			    t->name, subject_fields[i], v[i], have);
			rc = rec_add(r, "Warning", w.p, e);
		}
		if (rc == 0)
			rc = rec_set(r, subject_fields[i], v[i], e);
	}
	free(store);
	buf_free(&w);
	return rc;
}

/* Judge r: fill f from its headers and run the policy engine. */
static int
judge(struct ctx *x, int64_t realm, const struct rec *r, const char *path,
    struct policy_verdict *v, struct err *e)
{
	struct policy_facts f;
	const char **san = NULL, *days = rec_get(r, "Days");
	size_t i, n = rec_count(r, "SAN");
	int rc;

	memset(&f, 0, sizeof f);
	/* a validity over the template's cap is the engine's max-days
	 * verdict, not a malformed record: parse up to a century */
	if (days && (rc = num_i64("Days", days, 1, 36500, &f.days, e)) != 0)
		return rc;
	san = xcalloc(n + 1, sizeof *san);
	for (i = 0; i < n; i++)
		san[i] = rec_get_n(r, "SAN", i);
	f.path = path;
	f.cn = rec_get(r, "CN");
	f.san = san;
	f.nsan = n;
	f.o = rec_get(r, "O");
	f.ou = rec_get(r, "OU");
	f.c = rec_get(r, "C");
	f.st = rec_get(r, "ST");
	f.l = rec_get(r, "L");
	f.key_alg = rec_get(r, "Key-Alg");
	f.digest = rec_get(r, "Digest");
	f.tmpl = &x->t;
	f.realm_id = realm;
	f.brief = !x->explain;	/* the record carries only what broke */
	rc = policy_check(x->db, &f, v, e);
	free(san);
	return rc;
}

/* Soft violations become warnings; the first hard one is the error. */
static int
verdict_lines(const struct policy_verdict *v, struct rec *r,
    struct buf *hard, struct err *e)
{
	const struct policy_line *l;
	struct buf w = {0};
	size_t i;
	int rc = 0;

	for (i = 0; i < v->nlines && rc == 0; i++) {
		l = &v->lines[i];
		if (l->ok)
			continue;
		buf_reset(&w);
		buf_printf(&w, "policy %s rule %s: %s", l->policy, l->rule,
		    l->why);
		if (strcmp(l->mode, "soft") == 0)
			rc = rec_add(r, "Warning", w.p, e);
		else if (hard->len == 0)
			buf_adds(hard, w.p);
	}
	buf_free(&w);
	return rc;
}

/* The effective values sign will use, as headers (they are facts). */
static int
effective(struct ctx *x, const char *realm, const struct policy_verdict *v,
    struct rec *r, struct err *e)
{
	struct buf days = {0};
	const char *eq;
	size_t i;
	int rc;

	buf_printf(&days, "%lld", (long long)(v->days ? v->days : x->t.days));
	rc = rec_set(r, "Realm", realm, e);
	if (rc == 0)
		rc = rec_set(r, "Template", x->t.name, e);
	if (rc == 0)
		rc = rec_set(r, "CA", x->ca_name, e);
	if (rc == 0)
		rc = rec_set(r, "Days", days.p, e);
	if (rc == 0 && rec_get(r, "Digest") == NULL)
		rc = rec_set(r, "Digest", x->t.digest, e);
	for (i = 0; i < v->nfill && rc == 0; i++) {
		eq = strchr(v->fill[i], '=');
		days.len = 0;
		buf_add(&days, v->fill[i], (size_t)(eq - v->fill[i]));
		rc = rec_set(r, days.p, eq + 1, e);
	}
	buf_free(&days);
	return rc;
}

/* Approvals recorded for a held order: 1 satisfied (Approved-By added),
 * 0 not yet, -1 declined (decline set to the reason). */
static int
approvals(struct ctx *x, const struct order *o, const char *mode,
    struct rec *r, struct buf *decline, struct err *e)
{
	struct db_stmt *st = NULL;
	size_t need = strcmp(mode, "four-eyes") == 0 ? 2 : 1, got = 0;
	const char *who, *what;
	int rc, declined = 0;

	if ((rc = db_prep(x->db, &st, e, "SELECT approver, decision, "
	    "coalesce(reason, '') FROM approvals WHERE order_id = ? "
	    "ORDER BY id", "i", o->id)) != 0)
		return -2;
	rec_del(r, "Approved-By");
	while ((rc = db_step(st, e)) == 1) {
		who = db_text(st, 0);
		what = db_text(st, 1);
		if (strcmp(what, "decline") == 0) {
			declined = 1;
			buf_printf(decline, "declined by %s", who);
			if (*db_text(st, 2))
				buf_printf(decline, ": %s", db_text(st, 2));
			break;
		}
		/* the requester never counts; UNIQUE(order_id, approver)
		 * already makes every row a distinct person */
		if (strcmp(who, o->requested_by) == 0)
			continue;
		got++;
		rec_add(r, "Approved-By", who, e);
	}
	db_finish(st);
	if (rc < 0)
		return -2;
	if (declined)
		return -1;
	if (got < need)
		rec_del(r, "Approved-By");
	return got >= need;
}

static int
record_failed(struct ctx *x, int64_t realm, const char *rname,
    struct rec *r, struct err *e)
{
	const char *why = rec_get(r, "Error"), *code = rec_get(r, "Error-Code");
	const char *by = rec_get(r, "Requested-By");
	struct order o = {0};
	int64_t n = EX_DATAERR;
	int rc;

	if (why == NULL)
		why = "failed before the policy check";
	if (code)
		num_i64("Error-Code", code, 1, 255, &n, e);
	err_free(e);
	if ((rc = order_open(x->db, realm, r, order_type_of(r), by ? by :
	    x->actor, &o, NULL, e)) == 0 && strcmp(o.status, "failed") != 0 &&
	    (rc = order_fail(x->db, o.id, (int)n, why, e)) == 0)
		rc = audit(x, rname, "order.failed", r, "failure", why, e);
	order_free(&o);
	return rc;
}

/* Any violation left in a verdict that is not a failure is soft. */
static int
has_soft(const struct policy_verdict *v)
{
	size_t i;

	for (i = 0; i < v->nlines; i++)
		if (!v->lines[i].ok)
			return 1;
	return 0;
}

/* Held: 0 with r held or passed on by its approvals, else a code. */
static int
hold(struct ctx *x, const char *rname, struct order *o,
    const struct policy_verdict *v, struct rec *r, int *approved,
    struct err *e)
{
	struct buf dec = {0};
	int ok, rc = 0;

	*approved = 0;
	if ((ok = approvals(x, o, v->approval, r, &dec, e)) == -2)
		rc = e->code;
	else if (ok == -1) {
		if ((rc = order_fail(x->db, o->id, EX_NOPERM, dec.p, e)) == 0)
			refuse(r, EX_NOPERM, dec.p);
	} else if (ok == 1)
		*approved = 1;
	else {
		if (strcmp(o->status, "held") != 0 &&
		    ((rc = order_hold(x->db, o->id, x->t.id, v->approval, e))
		    != 0 || (rc = audit(x, rname,
		    "certificate.approval.requested", r, "success",
		    v->approval, e)) != 0))
			goto out;
		rc = rec_set(r, "Status", "held", e);
	}
out:
	buf_free(&dec);
	return rc;
}

/*
 * What check-policy does to one job, inside the caller's transaction.
 * Returns 0 when the job was judged (passed, held or refused: the
 * record says which), or a code when it could not be judged.
 */
static int
handle(struct ctx *x, int64_t realm, const char *rname, struct rec *r,
    struct err *e)
{
	struct policy_verdict v = {0};
	struct order o = {0};
	struct buf hard = {0}, facts = {0};
	const char *by = rec_get(r, "Requested-By");
	int rc, created = 0, approved = 0;

	/* a new job's order is written once it is judged (o.id 0 until
	 * then): passed, in one insert */
	if ((rc = order_prepare(x->db, realm, r, order_type_of(r), by ? by :
	    x->actor, &o, &created, e)) != 0)
		goto out;
	if (created && (rc = audit(x, rname, strcmp(o.type, "automated") == 0 ?
	    "certificate.request_automated.submitted" :
	    "certificate.request_csr.submitted", r, "success", NULL, e)) != 0)
		goto out;
	if (strcmp(o.status, "complete") == 0) {
		/* sign answers with the stored certificate */
		rc = rec_set(r, "Status", "processing", e);
		goto out;
	}
	if (strcmp(o.status, "failed") == 0) {
		refuse(r, o.error_code ? (int)o.error_code : EX_NOPERM,
		    o.error ? o.error : "the order failed");
		goto out;
	}
	if ((rc = template(x, realm, r, e)) != 0 ||
	    (rc = template_subject(&x->t, r, e)) != 0 ||
	    (rc = judge(x, realm, r, o.key_ref ? "automated" : "csr", &v, e))
	    != 0 || (rc = verdict_lines(&v, r, &hard, e)) != 0 ||
	    (rc = effective(x, rname, &v, r, e)) != 0)
		goto out;
	rec_set(r, "Verdict", policy_outcome_name(v.outcome), e);
	rec_set(r, "Approval", v.approval, e);
	rec_set(r, "Stage", "check-policy", e);
	if (o.id == 0 && v.outcome != POLICY_PASS &&
	    v.outcome != POLICY_SOFT_FAIL && (rc = order_create(x->db, &o, e))
	    != 0)
		goto out;
	if (v.outcome == POLICY_FAIL) {
		if ((rc = order_fail(x->db, o.id, EX_NOPERM, hard.p, e)) == 0 &&
		    (rc = audit(x, rname, "certificate.policy_hard_fail", r,
		    "refused", hard.p, e)) == 0)
			refuse(r, EX_NOPERM, hard.p);
		goto out;
	}
	if (v.outcome == POLICY_HOLD &&
	    ((rc = hold(x, rname, &o, &v, r, &approved, e)) != 0 || !approved))
		goto out;
	rec_set(r, "Verdict", has_soft(&v) ? "soft-fail" : "pass", e);
	order_facts(r, &facts);
	if (o.id == 0)
		rc = order_create_passed(x->db, &o, x->t.id, v.approval, facts.p,
		    e);
	else
		rc = order_pass(x->db, o.id, x->t.id, v.approval, facts.p, e);
	if (rc == 0 && has_soft(&v))
		rc = audit(x, rname, "certificate.policy_soft_fail", r,
		    "success", NULL, e);
	if (rc == 0)
		rc = rec_set(r, "Status", "processing", e);
out:
	policy_verdict_free(&v);
	order_free(&o);
	buf_free(&hard);
	buf_free(&facts);
	return rc;
}

/* --explain: the verdict table for one record; nothing is written. */
static int
explain(struct ctx *x, int64_t realm, struct rec *r)
{
	struct policy_verdict v = {0};
	struct err e = {0};
	struct buf out = {0};
	const char *cn = rec_get(r, "CN");
	int rc;

	buf_printf(&out, "record %s%s%s\n", rec_id(r), cn ? " CN " : "",
	    cn ? cn : "");
	if ((rc = template(x, realm, r, &e)) == 0 &&
	    (rc = template_subject(&x->t, r, &e)) == 0 &&
	    (rc = judge(x, realm, r, strcmp(order_type_of(r), "automated") == 0 ?
	    "automated" : "csr", &v, &e)) == 0) {
		buf_printf(&out, "template: %s\n", x->t.name);
		policy_verdict_text(&v, &out);
		x->outcomes[v.outcome]++;
		buf_addc(&out, '\n');
		if (fwrite(out.p, 1, out.len, stdout) != out.len)
			rc = EX_IOERR;
	} else {
		/* one line, and on to the next record */
		diag("%s: not judged: %s", rec_id(r), err_str(&e));
		x->unjudged++;
		if (x->explain_rc == 0)
			x->explain_rc = rc;
		rc = 0;
	}
	policy_verdict_free(&v);
	buf_free(&out);
	err_free(&e);
	return rc;
}

/* A statement whose failure only the next one would notice. */
static void
quiet(struct db *db, const char *sql)
{
	struct err e = {0};

	db_exec(db, &e, sql, "");
	err_free(&e);
}

/* One record inside the batch's transaction, in a savepoint of its
 * own so a record that cannot be judged undoes only its own changes. */
static int
one(struct ctx *x, struct rec *r)
{
	const char *st = rec_get(r, "Status");
	struct err e = {0};
	int64_t realm = 0;
	char *rname;
	int rc, failed;

	if (st && strcmp(st, "complete") == 0)
		return 0;
	failed = st && strcmp(st, "failed") == 0;
	/* a copy: the record's own value is replaced while judging */
	rname = xstrdup(rec_get(r, "Realm") ? rec_get(r, "Realm") :
	    REALM_DEFAULT);
	if ((rc = realm_id(x->db, rname, &realm, &e)) != 0) {
		if (x->explain) {
			diag("%s: not judged: %s", rec_id(r), err_str(&e));
			x->unjudged++;
			if (x->explain_rc == 0)
				x->explain_rc = rc;
			rc = LOOP_DROP;
			goto out;
		}
		diag("%s: %s", rec_id(r), err_str(&e));
		refuse(r, rc, err_str(&e));
		goto out;
	}
	if (x->explain) {
		rc = explain(x, realm, r) == 0 ? LOOP_DROP : EX_IOERR;
		goto out;
	}
	if ((rc = db_exec(x->db, &e, "SAVEPOINT job", "")) != 0)
		goto fail;
	rc = failed ? record_failed(x, realm, rname, r, &e) :
	    handle(x, realm, rname, r, &e);
	if (rc != 0)
		quiet(x->db, "ROLLBACK TO job");
	quiet(x->db, "RELEASE job");
	if (rc == 0) {
		if (!failed && rec_status_code(r) != 0)
			diag("%s: %s", rec_id(r), rec_get(r, "Error"));
		rc = rec_status_code(r);
		goto out;
	}
fail:
	diag("%s: %s", rec_id(r), err_str(&e));
	if (!failed)
		refuse(r, rc, err_str(&e));
	/* a job that cannot be judged for good is still kept as a failed
	 * order, unless the database itself is the trouble */
	if (rc != EX_TEMPFAIL && rc != EX_SOFTWARE && rc != EX_IOERR &&
	    db_exec(x->db, &e, "SAVEPOINT job", "") == 0) {
		if (record_failed(x, realm, rname, r, &e) != 0)
			quiet(x->db, "ROLLBACK TO job");
		quiet(x->db, "RELEASE job");
	}
out:
	err_free(&e);
	free(rname);
	return rc;
}

/*
 * A batch of records: judged in one transaction, committed before any
 * of them is written on, so what sign sees is always on disk. When the
 * commit fails, every record of the batch fails for now (75) and the
 * orders stay as they were.
 */
static void
batch(struct rec **r, int *codes, size_t n, void *arg)
{
	struct ctx *x = arg;
	struct err e = {0};
	char *judged = xcalloc(n, 1);
	const char *st;
	size_t i;

	/* what arrived finished is passed on as it came, whatever happens
	 * to the batch's transaction */
	for (i = 0; i < n; i++)
		judged[i] = (st = rec_get(r[i], "Status")) == NULL ||
		    (strcmp(st, "complete") != 0 && strcmp(st, "failed") != 0);
	if (!x->explain && db_begin(x->db, &e) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		codes[i] = one(x, r[i]);
	if (x->explain || db_commit(x->db, &e) == 0)
		goto out;
	db_rollback(x->db);
fail:
	diag("batch of %zu: %s", n, err_str(&e));
	for (i = 0; i < n; i++)
		if (judged[i]) {
			refuse(r[i], EX_TEMPFAIL, err_str(&e));
			codes[i] = EX_TEMPFAIL;
		} else
			codes[i] = rec_status_code(r[i]);
out:
	free(judged);
	err_free(&e);
}

int
main(int argc, char **argv)
{
	char *home = NULL, *tname = NULL, *bopt = NULL;
	int explain = 0;
	int64_t batch_max = 256;
	struct poptOption table[] = {
		{ "batch", '\0', POPT_ARG_STRING, &bopt, 0,
		  "records per database transaction (default 256)", "N" },
		{ "explain", '\0', POPT_ARG_NONE, &explain, 0,
		  "print each record's verdict, rule by rule; change nothing",
		  NULL },
		{ "home", '\0', POPT_ARG_STRING, &home, 0,
		  "the instance (default: $CERTPIPE_HOME, the checkout's "
		  "spool/)", "DIR" },
		{ "template", '\0', POPT_ARG_STRING, &tname, 0,
		  "template for records that name none", "NAME" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct ctx x;
	struct conf conf = {0};
	struct err e = {0};
	const char **files;
	poptContext pc;
	char *h = NULL, *path = NULL;
	int rc, n;

	diag_init(argv[0]);
	memset(&x, 0, sizeof x);
	pc = poptGetContext("check-policy", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[OPTION...] [FILE...]");
	if ((rc = poptGetNextOpt(pc)) < -1) {
		diag("%s: %s", poptBadOption(pc, 0), poptStrerror(rc));
		rc = EX_USAGE;
		goto out;
	}
	if (bopt && (rc = num_i64("--batch", bopt, 1, 10000, &batch_max, &e))
	    != 0) {
		rc = diag_err(&e);
		goto out;
	}
	files = poptGetArgs(pc);
	for (n = 0; files && files[n]; n++)
		;
	h = conf_home(home);
	if ((rc = conf_load(h, &conf, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	path = conf_path(&conf, "certpipe.db");
	if ((rc = db_open(path, DB_OPEN_EXISTING, &x.db, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	x.template = tname;
	x.explain = explain;
	x.actor = audit_actor();
	rc = loop_batches(n, files, (size_t)batch_max, batch, &x, stdout);
	if (explain) {
		diag("%zu pass, %zu soft-fail, %zu hold, %zu fail, %zu not "
		    "judged", x.outcomes[POLICY_PASS],
		    x.outcomes[POLICY_SOFT_FAIL], x.outcomes[POLICY_HOLD],
		    x.outcomes[POLICY_FAIL], x.unjudged);
		if (rc == 0)
			rc = x.explain_rc;
	}
out:
	tmpl_free(&x.t);
	free(x.ca_name);
	free(x.actor);
	db_close(x.db);
	conf_free(&conf);
	free(path);
	err_free(&e);
	free(h);
	free(home);
	free(tname);
	free(bopt);
	poptFreeContext(pc);
	return rc;
}
