/*
 * audit - `certpipe audit`: read the audit log (scoped to the current
 * realm unless asked for all) and verify its hash chain.
 *
 * Read-only: this file never writes to the audit table; the log is
 * append-only and only audit_log() adds to it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "cli.h"
#include "clock.h"
#include "diag.h"
#include "json.h"
#include "num.h"

#define LIMIT_MAX 10000000

static int
audit_list(struct cli *c, int argc, const char **argv)
{
	char *event = NULL, *object = NULL, *since = NULL, *limit = NULL;
	int all = 0;
	struct poptOption opts[] = {
		{ "all-realms", '\0', POPT_ARG_NONE, &all, 0,
		  "events of every realm, not only the current one", NULL },
		{ "event", '\0', POPT_ARG_STRING, &event, 0,
		  "only this event, or events under this prefix "
		  "(e.g. template)", "PREFIX" },
		{ "limit", '\0', POPT_ARG_STRING, &limit, 0,
		  "only the last N matching events", "N" },
		{ "object", '\0', POPT_ARG_STRING, &object, 0,
		  "only events about this object (e.g. ca:root)", "TEXT" },
		{ "since", '\0', POPT_ARG_STRING, &since, 0,
		  "only events at or after TIME (YYYY-MM-DD or "
		  "YYYY-MM-DDTHH:MM:SSZ)", "TIME" },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0}, from = {0};
	int64_t n = -1;	/* -1: no limit, as SQLite's LIMIT reads it */
	time_t t;
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe audit list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0)
		goto out;
	if (limit && (rc = num_i64("--limit", limit, 1, LIMIT_MAX, &n,
	    &e)) != 0)
		goto fail;
	if (since) {
		if ((rc = clock_parse("--since", since, &t, &e)) != 0)
			goto fail;
		clock_fmt(&from, t);
	}
	if ((rc = cli_open(c)) != 0)
		goto out;
	/* One fixed statement: a NULL filter matches everything. The last
	 * N are picked newest first, then shown oldest first. Times are
	 * RFC 3339 UTC, so text order is time order. */
	if ((rc = db_prep(c->db, &st, &e, "SELECT * FROM (SELECT seq, at, "
	    "actor, realm, event, object, outcome, detail FROM audit WHERE "
	    "(? IS NULL OR realm = ?) AND "
	    "(? IS NULL OR event = ? OR substr(event, 1, length(?) + 1) = "
	    "? || '.') AND "
	    "(? IS NULL OR object = ?) AND (? IS NULL OR at >= ?) "
	    "ORDER BY seq DESC LIMIT ?) ORDER BY seq", "tt" "tttt" "tt" "tt" "i",
	    all ? NULL : cli_realm(c), cli_realm(c),
	    event, event, event, event, object, object,
	    from.len ? from.p : NULL, from.len ? from.p : NULL, n)) != 0)
		goto fail;
	jw_init(&w, &out);
	if (c->json)
		jw_arr(&w);
	else
		buf_printf(&out, "%6s %-20s %-12s %-12s %-20s %-28s %-8s %s\n",
		    "SEQ", "AT", "ACTOR", "REALM", "EVENT", "OBJECT", "OUTCOME",
		    "DETAIL");
	while ((rc = db_step(st, &e)) == 1) {
		if (c->json) {
			jw_obj(&w);
			jw_kint(&w, "seq", db_int(st, 0));
			jw_kstr(&w, "at", db_text(st, 1));
			jw_kstr(&w, "actor", db_text(st, 2));
			jw_kstr(&w, "realm", db_text(st, 3));
			jw_kstr(&w, "event", db_text(st, 4));
			jw_kstr(&w, "object", db_text(st, 5));
			jw_kstr(&w, "outcome", db_text(st, 6));
			jw_kstr(&w, "detail", db_text(st, 7));
			jw_end(&w);
		} else
			buf_printf(&out, "%6" PRId64 " %-20s %-12s %-12s %-20s "
			    "%-28s %-8s %s\n", db_int(st, 0), db_text(st, 1),
			    db_text(st, 2), db_text(st, 3), db_text(st, 4),
			    db_text(st, 5), db_text(st, 6),
			    db_isnull(st, 7) ? "-" : db_text(st, 7));
	}
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
	free(event);
	free(object);
	free(since);
	free(limit);
	buf_free(&out);
	buf_free(&from);
	err_free(&e);
	return rc;
}

static int
audit_verify_cmd(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct err e = {0};
	struct buf out = {0};
	int64_t bad = 0, n = 0;
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe audit verify", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	/* The chain spans every realm: one realm's rows cannot be checked
	 * without the others'. */
	rc = audit_verify(c->db, &bad, &n, &e);
	if (rc != 0 && bad == 0) {	/* the database failed, not the chain */
		rc = diag_err(&e);
		goto out;
	}
	if (c->json) {
		jw_init(&w, &out);
		jw_obj(&w);
		jw_kbool(&w, "intact", rc == 0);
		jw_kint(&w, "events", n);
		jw_key(&w, "broken_at");
		if (rc == 0)
			jw_null(&w);
		else
			jw_int(&w, bad);
		jw_kstr(&w, "error", rc == 0 ? NULL : err_str(&e));
		jw_end(&w);
		buf_addc(&out, '\n');
	} else if (rc == 0)
		buf_printf(&out, "audit log intact: %" PRId64 " events\n", n);
	if (rc != 0)
		diag_err(&e);
	if (cli_print(&out) != 0 && rc == 0)
		rc = EX_IOERR;
out:
	buf_free(&out);
	err_free(&e);
	return rc;
}

int
cmd_audit(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list", audit_list, "list audit events, oldest first" },
		{ "verify", audit_verify_cmd, "check the hash chain of the "
		  "whole log" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "audit", subs, argc, argv);
}
