/*
 * alert - `certpipe alert`: what needs a person's attention in the realm
 * (a failed order, raised by lib/order.c): list the open alerts, and
 * acknowledge them, which records who did it and when. An alert is never
 * deleted; an acknowledged one is listed with --all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "clock.h"
#include "diag.h"
#include "json.h"
#include "num.h"

static void
row(const struct cli *c, struct db_stmt *st, struct jw *w, struct buf *out)
{
	if (c->json) {
		jw_obj(w);
		jw_kint(w, "id", db_int(st, 0));
		jw_kstr(w, "created_at", db_text(st, 1));
		jw_kstr(w, "kind", db_text(st, 2));
		jw_kstr(w, "job", db_text(st, 3));
		jw_kstr(w, "message", db_text(st, 4));
		jw_kstr(w, "acked_by", db_text(st, 5));
		jw_kstr(w, "acked_at", db_text(st, 6));
		jw_end(w);
		return;
	}
	buf_printf(out, "%-5lld %-20s %-14s %-36s %-12s %s\n",
	    (long long)db_int(st, 0), db_text(st, 1), db_text(st, 2),
	    db_text(st, 3) ? db_text(st, 3) : "-",
	    db_text(st, 5) ? db_text(st, 5) : "-", db_text(st, 4));
}

static int
alert_list(struct cli *c, int argc, const char **argv)
{
	int all = 0;
	struct poptOption opts[] = {
		{ "all", '\0', POPT_ARG_NONE, &all, 0,
		  "acknowledged alerts too", NULL },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0};
	int rc;

	if ((rc = cli_parse(c, "certpipe alert list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0 || (rc = cli_open(c)) != 0)
		return rc;
	if ((rc = db_prep(c->db, &st, &e, "SELECT a.id, a.created_at, a.kind, "
	    "o.job, a.message, a.acked_by, a.acked_at FROM alerts a "
	    "LEFT JOIN orders o ON o.id = a.order_id "
	    "WHERE a.realm_id = ? AND (? OR a.acked_at IS NULL) "
	    "ORDER BY a.id", "ii", c->realm_id, (int64_t)all)) != 0) {
		rc = diag_err(&e);
		err_free(&e);
		return rc;
	}
	if (!c->json)
		buf_printf(&out, "%-5s %-20s %-14s %-36s %-12s %s\n", "ID",
		    "CREATED", "KIND", "JOB", "ACKED-BY", "MESSAGE");
	return cli_list(c, st, &out, row);
}

/* Acknowledge alert key of the realm, in the open transaction. */
static int
ack_one(struct cli *c, const char *key, const char *now, struct err *e)
{
	struct db_stmt *st = NULL;
	struct buf obj = {0};
	int64_t id;
	int rc;

	if ((rc = num_i64("alert id", key, 1, INT64_MAX, &id, e)) != 0)
		return rc;
	if ((rc = db_prep(c->db, &st, e, "SELECT acked_by, acked_at FROM "
	    "alerts WHERE id = ? AND realm_id = ?", "ii", id,
	    c->realm_id)) != 0)
		return rc;
	if ((rc = db_step(st, e)) == 0)
		rc = err_set(e, EX_NOINPUT, "alert %lld: no such alert in this "
		    "realm", (long long)id);
	else if (rc == 1 && db_text(st, 1))
		rc = err_set(e, EX_NOPERM, "alert %lld: acknowledged already "
		    "by %s at %s", (long long)id, db_text(st, 0),
		    db_text(st, 1));
	else if (rc < 0)
		rc = e->code;
	else
		rc = 0;
	db_finish(st);
	buf_printf(&obj, "alert:%lld", (long long)id);
	if (rc == 0 && (rc = db_exec(c->db, e, "UPDATE alerts SET acked_by = ?, "
	    "acked_at = ? WHERE id = ? AND realm_id = ?", "ttii", c->actor,
	    now, id, c->realm_id)) == 0)
		rc = cli_audit(c, "alert.acked", obj.p, "success", NULL, e);
	buf_free(&obj);
	return rc;
}

static int
alert_ack(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct err e = {0};
	struct buf now = {0};
	int rc, i, intx = 0;

	if ((rc = cli_parse(c, "certpipe alert ack", argc, argv, opts,
	    "[OPTION...] ID...", 1, -1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	clock_fmt(&now, clock_now());
	/* all or none */
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	for (i = 0; i < c->nargs; i++)
		if ((rc = ack_one(c, c->args[i], now.p, &e)) != 0)
			goto fail;
	if ((rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("acknowledged %d alert%s\n", c->nargs, c->nargs == 1 ? "" : "s");
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	buf_free(&now);
	err_free(&e);
	return rc;
}

int
cmd_alert(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "ack", alert_ack, "acknowledge alerts" },
		{ "list", alert_list, "list the open alerts (--all: every one)" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "alert", subs, argc, argv);
}
