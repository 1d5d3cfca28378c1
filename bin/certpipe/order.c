/*
 * order - `certpipe order`: what became of the realm's requests: list
 * and filter its orders, show one with its error, its approvals, its
 * certificate and the record it came in as. Read-only: orders are moved
 * by the pipeline stages and by approve/decline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "approval.h"
#include "cli.h"
#include "diag.h"
#include "json.h"
#include "num.h"
#include "order.h"

#define LIST_COLS "o.job, o.status, o.type, o.cn, o.requested_by, " \
	"o.created_at, o.duration_ms, o.approval, o.error"

static const char *
dash(const char *s)
{
	return s && *s ? s : "-";
}

/* "1.234s", or "-" when not complete */
static void
duration(struct buf *b, int isnull, int64_t ms)
{
	if (isnull)
		buf_adds(b, "-");
	else
		buf_printf(b, "%lld.%03llds", (long long)(ms / 1000),
		    (long long)(ms % 1000));
}

static void
list_row(struct cli *c, struct jw *w, struct buf *out, struct db_stmt *st)
{
	struct buf d = {0};

	if (c->json) {
		jw_obj(w);
		jw_kstr(w, "job", db_text(st, 0));
		jw_kstr(w, "status", db_text(st, 1));
		jw_kstr(w, "type", db_text(st, 2));
		jw_kstr(w, "cn", db_text(st, 3));
		jw_kstr(w, "requested_by", db_text(st, 4));
		jw_kstr(w, "created_at", db_text(st, 5));
		if (db_isnull(st, 6))
			jw_kstr(w, "duration_ms", NULL);
		else
			jw_kint(w, "duration_ms", db_int(st, 6));
		jw_kstr(w, "approval", db_text(st, 7));
		jw_kstr(w, "error", db_text(st, 8));
		jw_end(w);
		return;
	}
	duration(&d, db_isnull(st, 6), db_int(st, 6));
	buf_printf(out, "%-36s %-10s %-9s %-20s %-9s %-12s %s\n",
	    db_text(st, 0), db_text(st, 1), db_text(st, 2), db_text(st, 5),
	    d.p, dash(db_text(st, 4)), dash(db_text(st, 3)));
	buf_free(&d);
}

static int
list_check(char *status, char *type, int held, const char *limit,
    int64_t *n, struct err *e)
{
	if (status && !order_status_ok(status))
		return err_set(e, EX_USAGE, "--status: '%s' is not pending, "
		    "processing, held, complete or failed", status);
	if (held && status && strcmp(status, "held") != 0)
		return err_set(e, EX_USAGE, "--held contradicts --status %s",
		    status);
	if (type && !order_type_ok(type))
		return err_set(e, EX_USAGE, "--type: '%s' is not csr, "
		    "automated, renewal, spool, acme or scep", type);
	*n = -1;
	return limit ? num_i64("--limit", limit, 1, INT64_MAX, n, e) : 0;
}

static int
order_list(struct cli *c, int argc, const char **argv)
{
	char *status = NULL, *type = NULL, *cn = NULL, *limit = NULL;
	int held = 0;
	struct poptOption opts[] = {
		{ "cn", '\0', POPT_ARG_STRING, &cn, 0,
		  "only orders whose CN contains TEXT", "TEXT" },
		{ "held", '\0', POPT_ARG_NONE, &held, 0,
		  "only orders waiting for approval (--status held)", NULL },
		{ "limit", '\0', POPT_ARG_STRING, &limit, 0,
		  "at most N orders, the newest", "N" },
		{ "status", '\0', POPT_ARG_STRING, &status, 0,
		  "pending, processing, held, complete or failed", "S" },
		{ "type", '\0', POPT_ARG_STRING, &type, 0,
		  "csr, automated, renewal, spool, acme or scep", "T" },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0};
	const char *want;
	struct jw w;
	int64_t n;
	int rc;

	if ((rc = cli_parse(c, "certpipe order list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0)
		goto out;
	if ((rc = list_check(status, type, held, limit, &n, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	want = held ? "held" : status;
	/* instr, not LIKE: % and _ in the text are plain characters */
	if ((rc = db_prep(c->db, &st, &e, "SELECT " LIST_COLS " FROM orders o "
	    "WHERE o.realm_id = ? AND (? IS NULL OR o.status = ?) "
	    "AND (? IS NULL OR o.type = ?) "
	    "AND (? IS NULL OR instr(lower(o.cn), lower(?)) > 0) "
	    "ORDER BY o.created_at DESC, o.id DESC LIMIT ?", "itttttti",
	    c->realm_id, want, want, type, type, cn, cn, n)) != 0)
		goto fail;
	jw_init(&w, &out);
	if (c->json)
		jw_arr(&w);
	else
		buf_printf(&out, "%-36s %-10s %-9s %-20s %-9s %-12s %s\n", "JOB",
		    "STATUS", "TYPE", "CREATED", "DURATION", "REQUESTED-BY",
		    "CN");
	while ((rc = db_step(st, &e)) == 1)
		list_row(c, &w, &out, st);
	if (rc < 0)
		goto fail;
	if (c->json) {
		jw_end(&w);
		buf_addc(&out, '\n');
	}
	rc = cli_print(&out);
	goto out;
fail:
	rc = diag_err(&e);
out:
	db_finish(st);
	buf_free(&out);
	free(status); free(type); free(cn); free(limit);
	err_free(&e);
	return rc;
}

/* The template's name and the certificate's serial and fingerprint
 * (NULL when there is none), into the statement's row. */
static int
show_links(struct cli *c, const struct order *o, struct db_stmt **st,
    struct err *e)
{
	int rc;

	if ((rc = db_prep(c->db, st, e, "SELECT (SELECT name FROM templates "
	    "WHERE id = ? AND realm_id = ?), c.serial, c.fingerprint, "
	    "c.not_after FROM (SELECT 1) LEFT JOIN certificates c ON "
	    "c.id = ? AND c.realm_id = ?", "iiii", o->template_id, c->realm_id,
	    o->cert_id, c->realm_id)) != 0)
		return rc;
	if ((rc = db_step(*st, e)) != 1)
		return rc < 0 ? e->code : err_set(e, EX_SOFTWARE, "order %s: "
		    "no row", o->job);
	return 0;
}

static void
show_json(struct jw *w, const struct order *o, struct db_stmt *st,
    const struct approval_list *l, int request)
{
	size_t i;

	jw_obj(w);
	jw_kstr(w, "job", o->job);
	jw_kstr(w, "status", o->status);
	jw_kstr(w, "type", o->type);
	jw_kstr(w, "cn", o->cn);
	jw_kstr(w, "requested_by", o->requested_by);
	jw_kstr(w, "template", db_text(st, 0));
	jw_kstr(w, "approval", o->approval);
	jw_kint(w, "approvals_needed", approval_needed(o->approval));
	jw_kint(w, "approvals_counted",
	    (int64_t)approval_count(l, o->requested_by));
	jw_kstr(w, "created_at", o->created_at);
	jw_kstr(w, "updated_at", o->updated_at);
	jw_kstr(w, "completed_at", o->completed_at);
	if (o->duration_ms < 0)
		jw_kstr(w, "duration_ms", NULL);
	else
		jw_kint(w, "duration_ms", o->duration_ms);
	jw_kstr(w, "error", o->error);
	if (o->error_code)
		jw_kint(w, "error_code", o->error_code);
	else
		jw_kstr(w, "error_code", NULL);
	jw_kstr(w, "facts", o->facts);
	jw_kstr(w, "key_ref", o->key_ref);
	if (o->renewal_of)
		jw_kint(w, "renewal_of", o->renewal_of);
	else
		jw_kstr(w, "renewal_of", NULL);
	jw_kstr(w, "serial", db_text(st, 1));
	jw_kstr(w, "fingerprint_sha256", db_text(st, 2));
	jw_kstr(w, "not_after", db_text(st, 3));
	jw_key(w, "approvals");
	jw_arr(w);
	for (i = 0; i < l->n; i++) {
		jw_obj(w);
		jw_kstr(w, "approver", l->v[i].approver);
		jw_kstr(w, "decision", l->v[i].decision);
		jw_kstr(w, "reason", l->v[i].reason);
		jw_kstr(w, "at", l->v[i].at);
		jw_end(w);
	}
	jw_end(w);
	if (request)
		jw_kstr(w, "request", o->request);
	jw_end(w);
}

static void
show_text(struct buf *out, const struct order *o, struct db_stmt *st,
    const struct approval_list *l, int request)
{
	struct buf d = {0};
	size_t i;

	duration(&d, o->duration_ms < 0, o->duration_ms);
	buf_printf(out, "job          %s\nstatus       %s\ntype         %s\n"
	    "cn           %s\nrequested by %s\ntemplate     %s\n"
	    "approval     %s", o->job, o->status, o->type, dash(o->cn),
	    dash(o->requested_by), dash(db_text(st, 0)), o->approval);
	if (approval_needed(o->approval) > 0)
		buf_printf(out, " (%zu of %d approvals)",
		    approval_count(l, o->requested_by),
		    approval_needed(o->approval));
	buf_printf(out, "\ncreated      %s\nupdated      %s\n"
	    "completed    %s\nduration     %s\n", o->created_at, o->updated_at,
	    dash(o->completed_at), d.p);
	if (o->error)
		buf_printf(out, "error        %s (exit %lld)\n", o->error,
		    (long long)o->error_code);
	if (o->facts)
		buf_printf(out, "facts        %s\n", o->facts);
	if (o->key_ref)
		buf_printf(out, "server key   %s\n", o->key_ref);
	if (o->renewal_of)
		buf_printf(out, "renews       certificate %lld\n",
		    (long long)o->renewal_of);
	if (db_text(st, 1))
		buf_printf(out, "serial       %s\nsha256       %s\n"
		    "not after    %s\n", db_text(st, 1), dash(db_text(st, 2)),
		    dash(db_text(st, 3)));
	for (i = 0; i < l->n; i++)
		buf_printf(out, "%-12s %s %s %s%s%s\n", i ? "" : "decisions",
		    l->v[i].at, l->v[i].decision, l->v[i].approver,
		    l->v[i].reason ? ": " : "", l->v[i].reason ?
		    l->v[i].reason : "");
	if (request)
		buf_printf(out, "\n%s", o->request);
	buf_free(&d);
}

static int
order_show(struct cli *c, int argc, const char **argv)
{
	int request = 0;
	struct poptOption opts[] = {
		{ "request", '\0', POPT_ARG_NONE, &request, 0,
		  "also print the job record the order came in as", NULL },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct approval_list l = {0};
	struct db_stmt *st = NULL;
	struct order o = {0};
	struct err e = {0};
	struct buf out = {0};
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe order show", argc, argv, opts,
	    "[OPTION...] ORDER", 1, 1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = approval_find(c->db, c->realm_id, c->args[0], &o, &e)) != 0 ||
	    (rc = approval_load(c->db, o.id, &l, &e)) != 0 ||
	    (rc = show_links(c, &o, &st, &e)) != 0)
		goto fail;
	if (c->json) {
		jw_init(&w, &out);
		show_json(&w, &o, st, &l, request);
		buf_addc(&out, '\n');
	} else
		show_text(&out, &o, st, &l, request);
	rc = cli_print(&out);
	goto out;
fail:
	rc = diag_err(&e);
out:
	db_finish(st);
	approval_list_free(&l);
	order_free(&o);
	buf_free(&out);
	err_free(&e);
	return rc;
}

int
cmd_order(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list", order_list, "list and filter the realm's orders" },
		{ "show", order_show, "show one order, its approvals and "
		  "certificate" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "order", subs, argc, argv);
}
