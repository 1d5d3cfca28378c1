/*
 * realm - `certpipe realm`: create and list realms (tenants).
 *
 * A realm is only a name: every other object carries its realm id and
 * every query is scoped by it (lib/realm.h). Realms are never deleted,
 * so audit events that name one always make sense.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "cli.h"
#include "diag.h"
#include "json.h"
#include "realm.h"

static int
realm_create_cmd(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct err e = {0};
	struct buf obj = {0};
	struct audit_ev ev;
	const char *name;
	int rc, intx = 0;

	if ((rc = cli_parse(c, "certpipe realm create", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0)
		goto out;
	name = c->args[0];
	if ((rc = realm_name_check(name, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	buf_printf(&obj, "realm:%s", name);
	/* the event belongs to the new realm, whatever --realm said */
	ev = (struct audit_ev){ "realm.created", c->actor, name, obj.p,
	    "success", NULL };
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = realm_create(c->db, name, NULL, &e)) != 0 ||
	    (rc = audit_log(c->db, &ev, &e)) != 0 ||
	    (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("created realm %s\n", name);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	buf_free(&obj);
	err_free(&e);
	return rc;
}

static void
realm_row(const struct cli *c, struct db_stmt *st, struct jw *w,
    struct buf *out)
{
	if (!c->json) {
		buf_printf(out, "%-24s %-20s %5lld %9lld %7lld\n",
		    db_text(st, 0), db_text(st, 1), (long long)db_int(st, 2),
		    (long long)db_int(st, 3), (long long)db_int(st, 4));
		return;
	}
	jw_obj(w);
	jw_kstr(w, "name", db_text(st, 0));
	jw_kstr(w, "created_at", db_text(st, 1));
	jw_kint(w, "cas", db_int(st, 2));
	jw_kint(w, "templates", db_int(st, 3));
	jw_kint(w, "domains", db_int(st, 4));
	jw_end(w);
}

static int
realm_list(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0};
	int rc;

	if ((rc = cli_parse(c, "certpipe realm list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0 || (rc = cli_open(c)) != 0)
		return rc;
	if ((rc = db_prep(c->db, &st, &e, "SELECT r.name, r.created_at, "
	    "(SELECT count(*) FROM cas WHERE realm_id = r.id), "
	    "(SELECT count(*) FROM templates WHERE realm_id = r.id), "
	    "(SELECT count(*) FROM domains WHERE realm_id = r.id) "
	    "FROM realms r ORDER BY r.name", "")) != 0) {
		rc = diag_err(&e);
		err_free(&e);
		return rc;
	}
	if (!c->json)
		buf_printf(&out, "%-24s %-20s %5s %9s %7s\n", "NAME", "CREATED",
		    "CAS", "TEMPLATES", "DOMAINS");
	return cli_list(c, st, &out, realm_row);
}

int
cmd_realm(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", realm_create_cmd, "create a realm" },
		{ "list", realm_list, "list every realm" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "realm", subs, argc, argv);
}
