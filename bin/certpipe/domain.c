/*
 * domain - `certpipe domain`: register the domains a realm may name in
 * certificates, enable and disable them, and answer "is this name
 * covered?" for scripts.
 *
 * Names are normalized (lower case, no trailing dot) before they are
 * stored or looked up, so "Example.COM." and "example.com" are one
 * domain. Every query is scoped by the current realm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "clock.h"
#include "diag.h"
#include "domain.h"
#include "json.h"

static int
dom_add(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct err e = {0};
	struct buf obj = {0}, now = {0};
	char *name = NULL;
	int64_t exists = 0;
	int rc, intx = 0;

	if ((rc = cli_parse(c, "certpipe domain add", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0)
		goto out;
	name = xstrdup(c->args[0]);
	if ((rc = domain_normalize(name, 0, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	buf_printf(&obj, "domain:%s", name);
	clock_fmt(&now, clock_now());
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = db_int64(c->db, &exists, &e, "SELECT count(*) FROM domains "
	    "WHERE realm_id = ? AND name = ?", "it", c->realm_id, name)) != 0)
		goto fail;
	if (exists) {
		rc = err_set(&e, EX_DATAERR, "domain '%s': exists in realm '%s'",
		    name, cli_realm(c));
		goto fail;
	}
	if ((rc = db_exec(c->db, &e, "INSERT INTO domains (realm_id, name, "
	    "enabled, created_at, updated_at) VALUES (?, ?, 1, ?, ?)", "ittt",
	    c->realm_id, name, now.p, now.p)) != 0 ||
	    (rc = cli_audit(c, "domain.added", obj.p, "success", NULL, &e))
	    != 0 || (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("added domain %s\n", name);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	free(name);
	buf_free(&obj);
	buf_free(&now);
	err_free(&e);
	return rc;
}

/* Look a registered domain up by its (normalized) name. */
static int
find(struct cli *c, const char *name, int64_t *id, int *enabled,
    struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	if ((rc = db_prep(c->db, &st, e, "SELECT id, enabled FROM domains "
	    "WHERE realm_id = ? AND name = ?", "it", c->realm_id, name)) != 0)
		return rc;
	if ((rc = db_step(st, e)) == 1) {
		*id = db_int(st, 0);
		*enabled = (int)db_int(st, 1);
	}
	db_finish(st);
	if (rc == 0)
		return err_set(e, EX_NOINPUT, "domain '%s': not registered in "
		    "realm '%s'", name, cli_realm(c));
	return rc < 0 ? e->code : 0;
}

/* enable, disable, remove: want 1, 0, or -1 for remove */
static int
change(struct cli *c, int argc, const char **argv, int want)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	const char *word = want < 0 ? "removed" : want ? "enabled" : "disabled";
	struct err e = {0};
	struct buf cmd = {0}, obj = {0}, ev = {0}, now = {0};
	char *name = NULL;
	int64_t id = 0;
	int rc, enabled = 0, intx = 0;

	buf_printf(&cmd, "certpipe domain %s", argv[0]);
	if ((rc = cli_parse(c, cmd.p, argc, argv, opts, "[OPTION...] NAME", 1,
	    1)) != 0)
		goto out;
	name = xstrdup(c->args[0]);
	if ((rc = domain_normalize(name, 0, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = find(c, name, &id, &enabled, &e)) != 0)
		goto fail;
	if (want >= 0 && enabled == want) {
		printf("domain %s is already %s\n", name, word);
		goto out;
	}
	buf_printf(&obj, "domain:%s", name);
	buf_printf(&ev, "domain.%s", word);
	clock_fmt(&now, clock_now());
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if (want < 0)
		rc = db_exec(c->db, &e, "DELETE FROM domains WHERE id = ?", "i",
		    id);
	else
		rc = db_exec(c->db, &e, "UPDATE domains SET enabled = ?, "
		    "updated_at = ? WHERE id = ?", "iti", (int64_t)want, now.p,
		    id);
	if (rc != 0 ||
	    (rc = cli_audit(c, ev.p, obj.p, "success", NULL, &e)) != 0 ||
	    (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("domain %s %s\n", name, word);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	free(name);
	buf_free(&cmd);
	buf_free(&obj);
	buf_free(&ev);
	buf_free(&now);
	err_free(&e);
	return rc;
}

static int dom_enable(struct cli *c, int argc, const char **argv)
{ return change(c, argc, argv, 1); }
static int dom_disable(struct cli *c, int argc, const char **argv)
{ return change(c, argc, argv, 0); }
static int dom_remove(struct cli *c, int argc, const char **argv)
{ return change(c, argc, argv, -1); }

static void
dom_row(const struct cli *c, struct db_stmt *st, struct jw *w,
    struct buf *out)
{
	if (!c->json) {
		buf_printf(out, "%-40s %-7s %s\n", db_text(st, 0),
		    db_int(st, 1) ? "yes" : "no", db_text(st, 2));
		return;
	}
	jw_obj(w);
	jw_kstr(w, "name", db_text(st, 0));
	jw_kbool(w, "enabled", (int)db_int(st, 1));
	jw_kstr(w, "created_at", db_text(st, 2));
	jw_kstr(w, "updated_at", db_text(st, 3));
	jw_end(w);
}

static int
dom_list(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0};
	int rc;

	if ((rc = cli_parse(c, "certpipe domain list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0 || (rc = cli_open(c)) != 0)
		return rc;
	if ((rc = db_prep(c->db, &st, &e, "SELECT name, enabled, created_at, "
	    "updated_at FROM domains WHERE realm_id = ? ORDER BY name", "i",
	    c->realm_id)) != 0) {
		rc = diag_err(&e);
		err_free(&e);
		return rc;
	}
	if (!c->json)
		buf_printf(&out, "%-40s %-7s %s\n", "NAME", "ENABLED", "ADDED");
	return cli_list(c, st, &out, dom_row);
}

/* For scripts: the answer is the exit status (0 covered, 1 not). */
static int
dom_check(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct err e = {0};
	struct buf out = {0};
	char *name = NULL, *apex = NULL;
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe domain check", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0)
		goto out;
	name = xstrdup(c->args[0]);
	if ((rc = domain_normalize(name, 1, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = domain_apex(c->db, c->realm_id, name, &apex, &e)) < 0) {
		rc = diag_err(&e);
		goto out;
	}
	if (c->json) {
		jw_init(&w, &out);
		jw_obj(&w);
		jw_kstr(&w, "name", name);
		jw_kbool(&w, "covered", rc == 1);
		jw_kstr(&w, "apex", apex);
		jw_end(&w);
		buf_addc(&out, '\n');
	} else if (rc == 1)
		buf_printf(&out, "covered by %s\n", apex);
	else
		buf_adds(&out, "not covered\n");
	if (cli_print(&out) != 0)
		rc = EX_IOERR;
	else
		rc = rc == 1 ? 0 : 1;
out:
	free(name);
	free(apex);
	buf_free(&out);
	err_free(&e);
	return rc;
}

int
cmd_domain(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "add", dom_add, "register a domain in the realm" },
		{ "enable", dom_enable, "let a domain cover names again" },
		{ "disable", dom_disable, "stop a domain covering names" },
		{ "remove", dom_remove, "unregister a domain" },
		{ "list", dom_list, "list the realm's domains" },
		{ "check", dom_check, "for scripts: exit 0 if a name is "
		  "covered, 1 if not" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "domain", subs, argc, argv);
}
