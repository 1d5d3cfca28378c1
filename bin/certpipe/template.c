/*
 * template - `certpipe template`: create certificate templates from a
 * starter, edit their settings, enable, disable, delete, list and show
 * them, in the current realm.
 *
 * Templates hold no secrets. Settings are validated by lib/tmpl.c before
 * anything is opened, and every change commits with its audit event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ca.h"
#include "cli.h"
#include "ident.h"
#include "clock.h"
#include "diag.h"
#include "json.h"
#include "tmpl.h"

/* One option per tmpl setting, named like the setting (tmpl.h), kept
 * in the order given: a later one overrides an earlier one, and
 * "--eku '' --eku X" means what it says. */
static const struct poptOption settings_opts[] = {
	/* descrip of the callback entry is the callback's data: set by
	 * settings_table to the struct cli_seen to fill */
	{ NULL, '\0', POPT_ARG_CALLBACK, (void *)cli_seen_cb, 0, NULL, NULL },
	{ "aia", '\0', POPT_ARG_STRING, NULL, 0,
	  "include the caIssuers URL", "on|off" },
	{ "aia-url", '\0', POPT_ARG_STRING, NULL, 0,
	  "caIssuers URL ('' derives it from base_url)", "URL" },
	{ "allow-ip", '\0', POPT_ARG_STRING, NULL, 0,
	  "allow IP address SANs", "on|off" },
	{ "cdp", '\0', POPT_ARG_STRING, NULL, 0,
	  "include the CRL distribution point", "on|off" },
	{ "cps-url", '\0', POPT_ARG_STRING, NULL, 0,
	  "CPS URL qualifier of the policy ('' for none)", "URL" },
	{ "crl-url", '\0', POPT_ARG_STRING, NULL, 0,
	  "CRL URL ('' derives it from base_url)", "URL" },
	{ "days", '\0', POPT_ARG_STRING, NULL, 0,
	  "default validity in days", "N" },
	{ "digest", '\0', POPT_ARG_STRING, NULL, 0,
	  "sha256, sha384 or sha512", "D" },
	{ "eku", '\0', POPT_ARG_STRING, NULL, 0,
	  "extended key usages: names or dotted OIDs ('' for none)",
	  "LIST" },
	{ "key-algs", '\0', POPT_ARG_STRING, NULL, 0,
	  "key types a request may use", "LIST" },
	{ "key-usage", '\0', POPT_ARG_STRING, NULL, 0,
	  "key usages, e.g. digitalSignature,keyEncipherment", "LIST" },
	{ "max-days", '\0', POPT_ARG_STRING, NULL, 0,
	  "longest validity a request may ask for", "N" },
	{ "ocsp", '\0', POPT_ARG_STRING, NULL, 0,
	  "include the OCSP responder URL", "on|off" },
	{ "ocsp-url", '\0', POPT_ARG_STRING, NULL, 0,
	  "OCSP URL ('' derives it from base_url)", "URL" },
	{ "path-len", '\0', POPT_ARG_STRING, NULL, 0,
	  "pathLenConstraint of a CA template, -1 for none", "N" },
	{ "policy", '\0', POPT_ARG_STRING, NULL, 0,
	  "include certificatePolicies (needs --policy-oid)", "on|off" },
	{ "policy-oid", '\0', POPT_ARG_STRING, NULL, 0,
	  "certificate policy OID ('' for none)", "OID" },
	{ "renew-before", '\0', POPT_ARG_STRING, NULL, 0,
	  "renewal window: N% of the lifetime or Nd days before expiry "
	  "('' for a third of the lifetime)", "RULE" },
	{ "subject", '\0', POPT_ARG_STRING, NULL, 0,
	  "subject fields to default or enforce, e.g. O=Acme,C=DE",
	  "TEXT" },
	{ "subject-mode", '\0', POPT_ARG_STRING, NULL, 0,
	  "request, default or enforce", "MODE" },
	POPT_TABLEEND
};
#define NSETTINGS (sizeof settings_opts / sizeof settings_opts[0])

static void
settings_table(struct poptOption *t, struct cli_seen *s)
{
	memcpy(t, settings_opts, sizeof settings_opts);
	t[0].descrip = (const char *)s;
}

#define SETTINGS_INCLUDE(tbl) \
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, (tbl), 0, \
	  "Settings (applied in the order given):", NULL }

/* Up to 80 characters: room for the "<CA name>-web-server" default
 * next to a 64-character CA name. */
static int
name_check(const char *name, struct err *e)
{
	return ident_check("template", name, 80, e);
}

/* Apply the settings to t; detail gets "key=value, ..." for the audit. */
static int
apply(struct tmpl *t, const struct cli_seen *s, struct buf *detail,
    struct err *e)
{
	size_t i;
	int rc;

	for (i = 0; i < s->n; i++) {
		if ((rc = tmpl_set(t, s->key[i], s->val[i], e)) != 0)
			return rc;
		buf_printf(detail, "%s%s=%s", detail->len ? ", " : "",
		    s->key[i], s->val[i]);
	}
	return tmpl_check(t, e);
}

static int
tmpl_create(struct cli *c, int argc, const char **argv)
{
	struct cli_seen s = {0};
	char *ca_name = NULL, *from = NULL;
	struct poptOption set[NSETTINGS];
	struct poptOption opts[] = {
		{ "ca", '\0', POPT_ARG_STRING, &ca_name, 0,
		  "the CA that issues under the template (required)", "CA" },
		{ "from", '\0', POPT_ARG_STRING, &from, 0,
		  "starter: web-server (default), client, code-signing, "
		  "email, sub-ca, ocsp-signing or timestamping", "STARTER" },
		SETTINGS_INCLUDE(set),
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct tmpl t = {0};
	struct err e = {0};
	struct buf detail = {0}, obj = {0};
	int64_t exists = 0;
	int rc, intx = 0;

	settings_table(set, &s);
	if ((rc = cli_parse(c, "certpipe template create", argc, argv, opts,
	    "[OPTION...] --ca CA NAME", 1, 1)) != 0)
		goto out;
	if (ca_name == NULL) {
		diag("certpipe template create: --ca CA is required");
		rc = EX_USAGE;
		goto out;
	}
	if ((rc = name_check(c->args[0], &e)) != 0 ||
	    (rc = tmpl_starter(from ? from : "web-server", &t, &e)) != 0)
		goto fail;
	t.name = xstrdup(c->args[0]);
	buf_printf(&detail, "from %s, CA %s", t.starter, ca_name);
	if ((rc = apply(&t, &s, &detail, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	t.realm_id = c->realm_id;
	if ((rc = ca_find(c->db, c->realm_id, ca_name, &t.ca_id, &e)) != 0)
		goto fail;
	if ((rc = db_int64(c->db, &exists, &e, "SELECT count(*) FROM templates "
	    "WHERE realm_id = ? AND name = ?", "it", c->realm_id, t.name)) != 0)
		goto fail;
	if (exists) {
		rc = err_set(&e, EX_DATAERR, "template '%s': exists in realm "
		    "'%s'", t.name, cli_realm(c));
		goto fail;
	}
	buf_printf(&obj, "template:%s", t.name);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = tmpl_insert(c->db, &t, &e)) != 0 ||
	    (rc = cli_audit(c, "template.created", obj.p, "success", detail.p,
	    &e)) != 0 || (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("created template %s (%s, CA %s)\n", t.name, t.starter, ca_name);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	cli_seen_free(&s);
	tmpl_free(&t);
	free(ca_name);
	free(from);
	buf_free(&detail);
	buf_free(&obj);
	err_free(&e);
	return rc;
}

static int
tmpl_edit(struct cli *c, int argc, const char **argv)
{
	struct cli_seen s = {0};
	struct poptOption set[NSETTINGS];
	struct poptOption opts[] = {
		SETTINGS_INCLUDE(set),
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct tmpl t = {0};
	struct err e = {0};
	struct buf detail = {0}, obj = {0};
	int rc, intx = 0;

	settings_table(set, &s);
	if ((rc = cli_parse(c, "certpipe template edit", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0)
		goto out;
	if (s.n == 0) {
		diag("certpipe template edit: nothing to change (give at least "
		    "one setting)");
		rc = EX_USAGE;
		goto out;
	}
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = tmpl_load(c->db, c->realm_id, c->args[0], &t, &e)) != 0 ||
	    (rc = apply(&t, &s, &detail, &e)) != 0)
		goto fail;
	buf_printf(&obj, "template:%s", t.name);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = tmpl_update(c->db, &t, &e)) != 0 ||
	    (rc = cli_audit(c, "template.updated", obj.p, "success", detail.p,
	    &e)) != 0 || (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("updated template %s: %s\n", t.name, detail.p);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	cli_seen_free(&s);
	tmpl_free(&t);
	buf_free(&detail);
	buf_free(&obj);
	err_free(&e);
	return rc;
}

/* enable / disable */
static int
set_enabled(struct cli *c, int argc, const char **argv, int want)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	const char *word = want ? "enabled" : "disabled";
	struct tmpl t = {0};
	struct err e = {0};
	struct buf name = {0}, obj = {0}, ev = {0};
	int rc, intx = 0;

	buf_printf(&name, "certpipe template %s", argv[0]);
	if ((rc = cli_parse(c, name.p, argc, argv, opts, "[OPTION...] NAME", 1,
	    1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = tmpl_load(c->db, c->realm_id, c->args[0], &t, &e)) != 0)
		goto fail;
	if (t.enabled == want) {
		printf("template %s is already %s\n", t.name, word);
		goto out;
	}
	t.enabled = want;
	buf_printf(&obj, "template:%s", t.name);
	buf_printf(&ev, "template.%s", word);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = tmpl_update(c->db, &t, &e)) != 0 ||
	    (rc = cli_audit(c, ev.p, obj.p, "success", NULL, &e)) != 0 ||
	    (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("template %s %s\n", t.name, word);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	tmpl_free(&t);
	buf_free(&name);
	buf_free(&obj);
	buf_free(&ev);
	err_free(&e);
	return rc;
}

static int tmpl_enable(struct cli *c, int argc, const char **argv)
{ return set_enabled(c, argc, argv, 1); }
static int tmpl_disable(struct cli *c, int argc, const char **argv)
{ return set_enabled(c, argc, argv, 0); }

static int
tmpl_delete(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct tmpl t = {0};
	struct err e = {0};
	struct buf obj = {0}, now = {0}, detail = {0};
	int64_t live = 0;
	int rc, intx = 0;

	if ((rc = cli_parse(c, "certpipe template delete", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = tmpl_load(c->db, c->realm_id, c->args[0], &t, &e)) != 0)
		goto fail;
	clock_fmt(&now, clock_now());
	buf_printf(&obj, "template:%s", t.name);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	/* Counted inside the transaction so no issuance slips in between.
	 * Times are all RFC 3339 UTC, so text order is time order. */
	if ((rc = db_int64(c->db, &live, &e, "SELECT count(*) FROM "
	    "certificates WHERE template_id = ? AND status IN ('active', "
	    "'suspended', 'superseded') AND not_after > ?", "it", t.id,
	    now.p)) != 0)
		goto fail;
	buf_printf(&detail, "%lld live certificates", (long long)live);
	if (live > 0) {
		/* the refusal itself is worth an audit record (as ca delete) */
		if ((rc = cli_audit(c, "template.deleted", obj.p, "refused",
		    detail.p, &e)) != 0 || (rc = db_commit(c->db, &e)) != 0)
			goto fail;
		intx = 0;
		rc = err_set(&e, EX_NOPERM, "template '%s': %lld unexpired "
		    "certificates were issued under it: not deleted (disable "
		    "it instead)", t.name, (long long)live);
		goto fail;
	}
	/* expired and revoked certificates keep their rows, without a
	 * template */
	if ((rc = db_exec(c->db, &e, "UPDATE certificates SET template_id = "
	    "NULL WHERE template_id = ?", "i", t.id)) != 0 ||
	    (rc = db_exec(c->db, &e, "DELETE FROM templates WHERE id = ?", "i",
	    t.id)) != 0 ||
	    (rc = cli_audit(c, "template.deleted", obj.p, "success", NULL, &e))
	    != 0 || (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("deleted template %s\n", t.name);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	tmpl_free(&t);
	buf_free(&obj);
	buf_free(&now);
	buf_free(&detail);
	err_free(&e);
	return rc;
}

static const char *
onoff(int v)
{
	return v ? "on" : "off";
}

static void
tmpl_json(struct jw *w, const struct tmpl *t, const char *ca,
    const char *base_url)
{
	static const char *const kinds[] = { "aia", "ocsp", "crl" };
	char *u;
	size_t i;

	jw_obj(w);
	jw_kstr(w, "name", t->name);
	jw_kstr(w, "ca", ca);
	jw_kstr(w, "starter", t->starter);
	jw_kbool(w, "enabled", t->enabled);
	jw_kint(w, "days", t->days);
	jw_kint(w, "max_days", t->max_days);
	jw_kstr(w, "digest", t->digest);
	jw_kstr(w, "key_algs", t->key_algs);
	jw_kstr(w, "key_usage", t->key_usage);
	jw_kstr(w, "eku", t->eku);
	jw_kbool(w, "ca_cert", t->ca);
	jw_key(w, "path_len");
	if (t->path_len < 0)
		jw_null(w);
	else
		jw_int(w, t->path_len);
	jw_kstr(w, "subject_mode", t->subject_mode);
	jw_kstr(w, "subject", t->subject);
	jw_kbool(w, "allow_ip", t->allow_ip);
	jw_kbool(w, "aia", t->aia);
	jw_kstr(w, "aia_url", t->aia_url);
	jw_kbool(w, "ocsp", t->ocsp);
	jw_kstr(w, "ocsp_url", t->ocsp_url);
	jw_kbool(w, "cdp", t->cdp);
	jw_kstr(w, "crl_url", t->crl_url);
	jw_kbool(w, "policy", t->policy);
	jw_kstr(w, "policy_oid", t->policy_oid);
	jw_kstr(w, "cps_url", t->cps_url);
	jw_kstr(w, "renew_before", t->renew_before);
	jw_key(w, "effective_urls");
	jw_obj(w);
	for (i = 0; i < 3; i++) {
		u = tmpl_url(t, kinds[i], base_url, ca);
		jw_kstr(w, kinds[i], u);
		free(u);
	}
	jw_end(w);
	jw_end(w);
}

static void
tmpl_text(struct buf *b, const struct tmpl *t, const char *ca,
    const char *realm, const char *base_url)
{
	static const char *const kinds[] = { "aia", "ocsp", "crl" };
	static const char *const labels[] = { "caIssuers", "OCSP", "CRL" };
	char *u;
	size_t i;

#define LINE(k, v) buf_printf(b, "%-14s%s\n", (k), (v) ? (v) : "-")
	LINE("name", t->name);
	LINE("realm", realm);
	LINE("ca", ca);
	LINE("starter", t->starter);
	LINE("enabled", t->enabled ? "yes" : "no");
	buf_printf(b, "%-14s%lld\n", "days", (long long)t->days);
	buf_printf(b, "%-14s%lld\n", "max-days", (long long)t->max_days);
	LINE("digest", t->digest);
	LINE("key-algs", t->key_algs);
	LINE("key-usage", t->key_usage);
	LINE("eku", t->eku);
	LINE("ca-cert", t->ca ? "yes (CA:TRUE)" : "no");
	if (t->path_len < 0)
		LINE("path-len", "-1 (none)");
	else
		buf_printf(b, "%-14s%lld\n", "path-len", (long long)t->path_len);
	LINE("subject-mode", t->subject_mode);
	LINE("subject", t->subject);
	LINE("allow-ip", onoff(t->allow_ip));
	LINE("aia", onoff(t->aia));
	LINE("aia-url", t->aia_url);
	LINE("ocsp", onoff(t->ocsp));
	LINE("ocsp-url", t->ocsp_url);
	LINE("cdp", onoff(t->cdp));
	LINE("crl-url", t->crl_url);
	LINE("policy", onoff(t->policy));
	LINE("policy-oid", t->policy_oid);
	LINE("cps-url", t->cps_url);
	LINE("renew-before", t->renew_before ? t->renew_before :
	    "- (a third of the lifetime)");
#undef LINE
	buf_adds(b, "effective URLs:\n");
	for (i = 0; i < 3; i++) {
		u = tmpl_url(t, kinds[i], base_url, ca);
		buf_printf(b, "  %-12s%s\n", labels[i], u ? u : "(omitted)");
		free(u);
	}
}

/* The name of the template's CA, for output. */
static void
ca_name_of(struct cli *c, int64_t id, struct buf *out)
{
	struct ca ca = {0};
	struct err e = {0};

	buf_reset(out);
	if (ca_load_id(c->db, id, &ca, &e) == 0)
		buf_adds(out, ca.name);
	else
		buf_adds(out, "?");
	ca_free(&ca);
	err_free(&e);
}

static int
tmpl_list(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0}, ca = {0}, dm = {0};
	struct tmpl t = {0};
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe template list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = db_prep(c->db, &st, &e, "SELECT id FROM templates WHERE "
	    "realm_id = ? ORDER BY name", "i", c->realm_id)) != 0)
		goto fail;
	jw_init(&w, &out);
	if (c->json)
		jw_arr(&w);
	else
		buf_printf(&out, "%-28s %-20s %-13s %-7s %s\n", "NAME", "CA",
		    "STARTER", "ENABLED", "DAYS/MAX");
	while ((rc = db_step(st, &e)) == 1) {
		if ((rc = tmpl_load_id(c->db, db_int(st, 0), &t, &e)) != 0)
			goto fail;
		ca_name_of(c, t.ca_id, &ca);
		if (c->json)
			tmpl_json(&w, &t, ca.p, c->conf.base_url);
		else {
			buf_reset(&dm);
			buf_printf(&dm, "%lld/%lld", (long long)t.days,
			    (long long)t.max_days);
			buf_printf(&out, "%-28s %-20s %-13s %-7s %s\n", t.name,
			    ca.p, t.starter, t.enabled ? "yes" : "no", dm.p);
		}
		tmpl_free(&t);
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
	tmpl_free(&t);
	buf_free(&out);
	buf_free(&ca);
	buf_free(&dm);
	err_free(&e);
	return rc;
}

static int
tmpl_show(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct tmpl t = {0};
	struct err e = {0};
	struct buf out = {0}, ca = {0};
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe template show", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = tmpl_load(c->db, c->realm_id, c->args[0], &t, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	ca_name_of(c, t.ca_id, &ca);
	if (c->json) {
		jw_init(&w, &out);
		tmpl_json(&w, &t, ca.p, c->conf.base_url);
		buf_addc(&out, '\n');
	} else
		tmpl_text(&out, &t, ca.p, cli_realm(c), c->conf.base_url);
	rc = cli_print(&out);
out:
	tmpl_free(&t);
	buf_free(&out);
	buf_free(&ca);
	err_free(&e);
	return rc;
}

int
cmd_template(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", tmpl_create, "create a template from a starter" },
		{ "edit", tmpl_edit, "change a template's settings" },
		{ "enable", tmpl_enable, "allow issuance under a template" },
		{ "disable", tmpl_disable, "stop issuance under a template" },
		{ "delete", tmpl_delete, "delete a template no live "
		  "certificate uses" },
		{ "list", tmpl_list, "list the realm's templates" },
		{ "show", tmpl_show, "show every setting and the effective "
		  "URLs" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "template", subs, argc, argv);
}
