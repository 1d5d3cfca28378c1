/*
 * policy - `certpipe policy`: create, edit, delete, list and show the
 * issuance policies of the current realm, and `check`: judge a request
 * described on the command line (a what-if, for scripts) with the same
 * engine check-policy uses.
 *
 * Policies hold no secrets. Every value is validated by lib/policy.c
 * before anything is written, and every change commits with its audit
 * event (policy.created, policy.updated, policy.deleted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "diag.h"
#include "json.h"
#include "num.h"
#include "policy.h"
#include "tmpl.h"

/* check's exit statuses: the verdict, for scripts (sysexits stay for
 * errors, so the two never collide). */
#define EXIT_PASS	0
#define EXIT_FAIL	1
#define EXIT_SOFT_FAIL	2
#define EXIT_HOLD	3

/* What create and edit may change. */
struct change {
	char *tmpl;		/* NULL: not given; "": every template */
	char *approval;
	char *enforce;		/* "": none */
	struct cli_seen rules;
};

static void
change_free(struct change *ch)
{
	free(ch->tmpl);
	free(ch->approval);
	free(ch->enforce);
	cli_seen_free(&ch->rules);
}

#define RULE_OPTS(ch) \
	{ NULL, '\0', POPT_ARG_CALLBACK, (void *)cli_seen_cb, 0, \
	  (const char *)&(ch)->rules, NULL }, \
	{ "rule", '\0', POPT_ARG_STRING, NULL, 0, \
	  "a hard rule: a violation fails the request (repeatable)", \
	  "NAME=VALUE" }, \
	{ "soft-rule", '\0', POPT_ARG_STRING, NULL, 0, \
	  "a soft rule: a violation is a warning (repeatable)", \
	  "NAME=VALUE" }, \
	POPT_TABLEEND

#define CHANGE_OPTS(ch, rules_tbl) \
	{ "approval", '\0', POPT_ARG_STRING, &(ch)->approval, 0, \
	  "automatic, manual or four-eyes", "MODE" }, \
	{ "enforce", '\0', POPT_ARG_STRING, &(ch)->enforce, 0, \
	  "subject values to enforce, e.g. O=Acme,C=DE ('' for none)", \
	  "SUBJECT" }, \
	{ "template", '\0', POPT_ARG_STRING, &(ch)->tmpl, 0, \
	  "the template it applies to ('' or absent: every template)", \
	  "T" }, \
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, (rules_tbl), 0, \
	  "Rules (applied in the order given):", NULL }

/* Apply approval, enforce and rules to p; detail gets what changed. */
static int
apply(struct policy *p, const struct change *ch, int creating,
    struct buf *detail, struct err *e)
{
	const char *arg, *eq;
	struct buf rule = {0};
	size_t i;
	int rc = 0;

	if (ch->approval) {
		if ((rc = policy_set_approval(p, ch->approval, e)) != 0)
			return rc;
		buf_printf(detail, "%sapproval=%s", detail->len ? ", " : "",
		    ch->approval);
	}
	if (ch->enforce) {
		if ((rc = policy_set_enforce(p, ch->enforce, e)) != 0)
			return rc;
		buf_printf(detail, "%senforce=%s", detail->len ? ", " : "",
		    p->enforce ? p->enforce : "");
	}
	for (i = 0; i < ch->rules.n; i++) {
		arg = ch->rules.val[i];
		if ((eq = strchr(arg, '=')) == NULL || eq == arg) {
			rc = err_set(e, EX_DATAERR, "--%s: '%s' is not "
			    "NAME=VALUE", ch->rules.key[i], arg);
			break;
		}
		if (creating && eq[1] == '\0') {
			rc = err_set(e, EX_DATAERR, "--%s: '%s' has no value "
			    "(an empty value removes a rule in edit)",
			    ch->rules.key[i], arg);
			break;
		}
		buf_reset(&rule);
		buf_add(&rule, arg, (size_t)(eq - arg));
		if ((rc = policy_set_rule(p, rule.p, eq + 1,
		    strcmp(ch->rules.key[i], "rule") == 0 ? "hard" : "soft", e))
		    != 0)
			break;
		buf_printf(detail, "%s%s %s", detail->len ? ", " : "",
		    ch->rules.key[i], arg);
	}
	buf_free(&rule);
	return rc;
}

/* Resolve --template in the realm: 0 for '' (every template). */
static int
template_id(struct cli *c, const char *name, int64_t *id, struct err *e)
{
	struct tmpl t = {0};
	int rc;

	*id = 0;
	if (*name == '\0')
		return 0;
	if ((rc = tmpl_load(c->db, c->realm_id, name, &t, e)) == 0)
		*id = t.id;
	tmpl_free(&t);
	return rc;
}

/* "every template" or "template T", for messages and the audit. */
static void
scope(struct buf *b, const char *tmpl)
{
	if (tmpl && *tmpl)
		buf_printf(b, "template %s", tmpl);
	else
		buf_adds(b, "every template");
}

static void
rules_text(struct buf *b, const struct policy *p, const char *sep)
{
	size_t i;

	for (i = 0; i < p->nrules; i++)
		buf_printf(b, "%s%s=%s (%s)", i ? sep : "", p->rules[i].rule,
		    p->rules[i].value, p->rules[i].mode);
}

static int
pol_create(struct cli *c, int argc, const char **argv)
{
	struct change ch = {0};
	struct poptOption rules[] = { RULE_OPTS(&ch) };
	struct poptOption opts[] = {
		CHANGE_OPTS(&ch, rules),
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct policy p = {0};
	struct err e = {0};
	struct buf detail = {0}, obj = {0}, ignored = {0};
	int64_t exists = 0;
	int rc, intx = 0;

	if ((rc = cli_parse(c, "certpipe policy create", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0)
		goto out;
	if ((rc = policy_name_check(c->args[0], &e)) != 0)
		goto fail;
	p.name = xstrdup(c->args[0]);
	p.approval = xstrdup("automatic");
	if ((rc = apply(&p, &ch, 1, &ignored, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	p.realm_id = c->realm_id;
	if ((rc = template_id(c, ch.tmpl ? ch.tmpl : "", &p.template_id, &e))
	    != 0)
		goto fail;
	if ((rc = db_int64(c->db, &exists, &e, "SELECT count(*) FROM policies "
	    "WHERE realm_id = ? AND name = ?", "it", c->realm_id, p.name)) != 0)
		goto fail;
	if (exists) {
		rc = err_set(&e, EX_DATAERR, "policy '%s': exists in realm '%s'",
		    p.name, cli_realm(c));
		goto fail;
	}
	scope(&detail, ch.tmpl);
	buf_printf(&detail, ", approval %s", p.approval);
	if (p.enforce)
		buf_printf(&detail, ", enforce %s", p.enforce);
	if (p.nrules) {
		buf_adds(&detail, ", rules ");
		rules_text(&detail, &p, ", ");
	}
	buf_printf(&obj, "policy:%s", p.name);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = policy_insert(c->db, &p, &e)) != 0 ||
	    (rc = cli_audit(c, "policy.created", obj.p, "success", detail.p,
	    &e)) != 0 || (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("created policy %s (%s)\n", p.name, detail.p);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	change_free(&ch);
	policy_free(&p);
	buf_free(&detail);
	buf_free(&obj);
	buf_free(&ignored);
	err_free(&e);
	return rc;
}

static int
pol_edit(struct cli *c, int argc, const char **argv)
{
	struct change ch = {0};
	struct poptOption rules[] = { RULE_OPTS(&ch) };
	struct poptOption opts[] = {
		CHANGE_OPTS(&ch, rules),
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct policy p = {0};
	struct err e = {0};
	struct buf detail = {0}, obj = {0};
	int rc, intx = 0;

	if ((rc = cli_parse(c, "certpipe policy edit", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0)
		goto out;
	if (!ch.tmpl && !ch.approval && !ch.enforce && ch.rules.n == 0) {
		diag("policy edit: nothing to change (give at least one "
		    "option)");
		rc = EX_USAGE;
		goto out;
	}
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = policy_load(c->db, c->realm_id, c->args[0], &p, &e)) != 0)
		goto fail;
	if (ch.tmpl) {
		if ((rc = template_id(c, ch.tmpl, &p.template_id, &e)) != 0)
			goto fail;
		buf_adds(&detail, "applies to ");
		scope(&detail, ch.tmpl);
	}
	if ((rc = apply(&p, &ch, 0, &detail, &e)) != 0)
		goto fail;
	buf_printf(&obj, "policy:%s", p.name);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = policy_update(c->db, &p, &e)) != 0 ||
	    (rc = cli_audit(c, "policy.updated", obj.p, "success", detail.p,
	    &e)) != 0 || (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("updated policy %s: %s\n", p.name, detail.p);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	change_free(&ch);
	policy_free(&p);
	buf_free(&detail);
	buf_free(&obj);
	err_free(&e);
	return rc;
}

static int
pol_delete(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct policy p = {0};
	struct err e = {0};
	struct buf obj = {0};
	int rc, intx = 0;

	if ((rc = cli_parse(c, "certpipe policy delete", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = policy_load(c->db, c->realm_id, c->args[0], &p, &e)) != 0)
		goto fail;
	buf_printf(&obj, "policy:%s", p.name);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = policy_delete(c->db, p.id, &e)) != 0 ||
	    (rc = cli_audit(c, "policy.deleted", obj.p, "success", NULL, &e))
	    != 0 || (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("deleted policy %s\n", p.name);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	policy_free(&p);
	buf_free(&obj);
	err_free(&e);
	return rc;
}

static void
pol_json(struct jw *w, const struct policy *p)
{
	size_t i;

	jw_obj(w);
	jw_kstr(w, "name", p->name);
	jw_kstr(w, "template", p->template_name);
	jw_kstr(w, "approval", p->approval);
	jw_kstr(w, "enforce", p->enforce);
	jw_key(w, "rules");
	jw_arr(w);
	for (i = 0; i < p->nrules; i++) {
		jw_obj(w);
		jw_kstr(w, "rule", p->rules[i].rule);
		jw_kstr(w, "value", p->rules[i].value);
		jw_kstr(w, "mode", p->rules[i].mode);
		jw_end(w);
	}
	jw_end(w);
	jw_kstr(w, "created_at", p->created_at);
	jw_kstr(w, "updated_at", p->updated_at);
	jw_end(w);
}

static int
pol_list(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct policy p = {0};
	struct err e = {0};
	struct buf out = {0};
	char **names = NULL;
	size_t i, n = 0;
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe policy list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = db_prep(c->db, &st, &e, "SELECT name FROM policies WHERE "
	    "realm_id = ? ORDER BY name", "i", c->realm_id)) != 0)
		goto fail;
	while ((rc = db_step(st, &e)) == 1) {
		names = xrealloc(names, sizeof *names * (n + 1));
		names[n++] = xstrdup(db_text(st, 0));
	}
	if (rc < 0)
		goto fail;
	jw_init(&w, &out);
	if (c->json)
		jw_arr(&w);
	else
		buf_printf(&out, "%-24s %-24s %-10s %5s %s\n", "NAME",
		    "TEMPLATE", "APPROVAL", "RULES", "ENFORCE");
	for (i = 0; i < n; i++) {
		if ((rc = policy_load(c->db, c->realm_id, names[i], &p, &e))
		    != 0)
			goto fail;
		if (c->json)
			pol_json(&w, &p);
		else
			buf_printf(&out, "%-24s %-24s %-10s %5zu %s\n", p.name,
			    p.template_name ? p.template_name : "*",
			    p.approval, p.nrules, p.enforce ? p.enforce : "-");
		policy_free(&p);
	}
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
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	policy_free(&p);
	buf_free(&out);
	err_free(&e);
	return rc;
}

static int
pol_show(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct policy p = {0};
	struct err e = {0};
	struct buf out = {0};
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe policy show", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = policy_load(c->db, c->realm_id, c->args[0], &p, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	if (c->json) {
		jw_init(&w, &out);
		pol_json(&w, &p);
		buf_addc(&out, '\n');
	} else {
#define LINE(k, v) buf_printf(&out, "%-10s%s\n", (k), (v) ? (v) : "-")
		LINE("name", p.name);
		LINE("realm", cli_realm(c));
		LINE("template", p.template_name ? p.template_name :
		    "* (every template)");
		LINE("approval", p.approval);
		LINE("enforce", p.enforce);
#undef LINE
		buf_printf(&out, "%-10s", "rules");
		if (p.nrules == 0)
			buf_adds(&out, "-");
		rules_text(&out, &p, "\n          ");
		buf_printf(&out, "\n%-10s%s\n%-10s%s\n", "created",
		    p.created_at, "updated", p.updated_at);
	}
	rc = cli_print(&out);
out:
	policy_free(&p);
	buf_free(&out);
	err_free(&e);
	return rc;
}

static int
exit_of(int outcome)
{
	switch (outcome) {
	case POLICY_PASS:
		return EXIT_PASS;
	case POLICY_SOFT_FAIL:
		return EXIT_SOFT_FAIL;
	case POLICY_HOLD:
		return EXIT_HOLD;
	}
	return EXIT_FAIL;
}

static void
verdict_json(struct buf *out, const struct policy_verdict *v,
    const char *tmpl, const char *path)
{
	struct jw w;
	size_t i;

	jw_init(&w, out);
	jw_obj(&w);
	jw_kstr(&w, "template", tmpl);
	jw_kstr(&w, "path", path);
	jw_kstr(&w, "outcome", policy_outcome_name(v->outcome));
	jw_kstr(&w, "approval", v->approval);
	jw_key(&w, "days");
	if (v->days)
		jw_int(&w, v->days);
	else
		jw_null(&w);
	jw_key(&w, "fill");
	jw_arr(&w);
	for (i = 0; i < v->nfill; i++)
		jw_str(&w, v->fill[i]);
	jw_end(&w);
	jw_key(&w, "lines");
	jw_arr(&w);
	for (i = 0; i < v->nlines; i++) {
		jw_obj(&w);
		jw_kstr(&w, "policy", v->lines[i].policy);
		jw_kstr(&w, "rule", v->lines[i].rule);
		jw_kstr(&w, "mode", v->lines[i].mode);
		jw_kbool(&w, "ok", v->lines[i].ok);
		jw_kstr(&w, "why", v->lines[i].why);
		jw_end(&w);
	}
	jw_end(&w);
	jw_end(&w);
	buf_addc(out, '\n');
}

static int
pol_check(struct cli *c, int argc, const char **argv)
{
	struct cli_seen sans = {0};
	char *tname = NULL, *cn = NULL, *alg = NULL, *digest = NULL;
	char *days = NULL, *path = NULL;
	char *o = NULL, *ou = NULL, *cc = NULL, *st = NULL, *l = NULL;
	struct poptOption san_opts[] = {
		{ NULL, '\0', POPT_ARG_CALLBACK, (void *)cli_seen_cb, 0,
		  (const char *)&sans, NULL },
		{ "san", '\0', POPT_ARG_STRING, NULL, 0,
		  "a subject alternative name: DNS:x, IP:x, email:x or URI:x "
		  "(repeatable)", "TYPE:VALUE" },
		POPT_TABLEEND
	};
	struct poptOption opts[] = {
		{ "alg", '\0', POPT_ARG_STRING, &alg, 0,
		  "key type (default: the template's first key-alg)", "ALG" },
		{ "c", '\0', POPT_ARG_STRING, &cc, 0, "country", "C" },
		{ "cn", '\0', POPT_ARG_STRING, &cn, 0, "common name", "CN" },
		{ "days", '\0', POPT_ARG_STRING, &days, 0,
		  "requested validity (default: the template's)", "N" },
		{ "digest", '\0', POPT_ARG_STRING, &digest, 0,
		  "requested digest (default: the template's)", "D" },
		{ "l", '\0', POPT_ARG_STRING, &l, 0, "locality", "L" },
		{ "o", '\0', POPT_ARG_STRING, &o, 0, "organization", "O" },
		{ "ou", '\0', POPT_ARG_STRING, &ou, 0, "organizational unit",
		  "OU" },
		{ "path", '\0', POPT_ARG_STRING, &path, 0,
		  "csr (default) or automated", "PATH" },
		{ "st", '\0', POPT_ARG_STRING, &st, 0, "state or province",
		  "ST" },
		{ "template", '\0', POPT_ARG_STRING, &tname, 0,
		  "the template the request names (required)", "T" },
		{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, san_opts, 0,
		  "Names:", NULL },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct policy_facts f;
	struct policy_verdict v = {0};
	struct tmpl t = {0};
	struct err e = {0};
	struct buf out = {0};
	int64_t ndays = 0;
	int rc;

	if ((rc = cli_parse(c, "certpipe policy check", argc, argv, opts,
	    "[OPTION...] --template T", 0, 0)) != 0)
		goto out;
	if (tname == NULL) {
		diag("policy check: --template T is required");
		rc = EX_USAGE;
		goto out;
	}
	if (path == NULL)
		path = xstrdup("csr");
	if (strcmp(path, "csr") != 0 && strcmp(path, "automated") != 0) {
		rc = err_set(&e, EX_DATAERR, "--path: '%s' is not csr or "
		    "automated", path);
		goto fail;
	}
	if (days && (rc = num_i64("--days", days, 1, 100000, &ndays, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = tmpl_load(c->db, c->realm_id, tname, &t, &e)) != 0)
		goto fail;
	memset(&f, 0, sizeof f);
	f.path = path;
	f.cn = cn;
	f.san = (const char *const *)sans.val;
	f.nsan = sans.n;
	f.o = o;
	f.ou = ou;
	f.c = cc;
	f.st = st;
	f.l = l;
	f.key_alg = alg;
	f.digest = digest;
	f.days = ndays;
	f.tmpl = &t;
	f.realm_id = c->realm_id;
	if ((rc = policy_check(c->db, &f, &v, &e)) != 0)
		goto fail;
	if (c->json)
		verdict_json(&out, &v, t.name, path);
	else
		policy_verdict_text(&v, &out);
	if ((rc = cli_print(&out)) == 0)
		rc = exit_of(v.outcome);
	goto out;
fail:
	rc = diag_err(&e);
out:
	cli_seen_free(&sans);
	free(tname);
	free(cn);
	free(alg);
	free(digest);
	free(days);
	free(path);
	free(o);
	free(ou);
	free(cc);
	free(st);
	free(l);
	policy_verdict_free(&v);
	tmpl_free(&t);
	buf_free(&out);
	err_free(&e);
	return rc;
}

int
cmd_policy(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", pol_create, "create a policy" },
		{ "edit", pol_edit, "change a policy's template, approval, "
		  "enforced values or rules" },
		{ "delete", pol_delete, "delete a policy" },
		{ "list", pol_list, "list the realm's policies" },
		{ "show", pol_show, "show a policy and its rules" },
		{ "check", pol_check, "for scripts: judge a request given on "
		  "the command line (exit 0 pass, 2 soft-fail, 3 hold, 1 "
		  "fail)" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "policy", subs, argc, argv);
}
