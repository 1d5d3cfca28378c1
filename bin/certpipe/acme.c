/*
 * acme - `certpipe acme`: ACME policies, external account binding (EAB)
 * keys and ACME accounts, for the acme(1) front end.
 *
 * A policy ties ACME accounts to a realm and a template (and lists
 * pre-approved domains, used by orders later). An EAB key lets one
 * client register up to --uses accounts before --expires; each account
 * is bound for life to the EAB key's policy. The HMAC key is printed
 * once, at creation: nothing here ever prints it again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "acme.h"
#include "audit.h"
#include "cli.h"
#include "clock.h"
#include "diag.h"
#include "domain.h"
#include "jws.h"
#include "json.h"
#include "num.h"
#include "policy.h"

/* Finish the open transaction with the change's audit event: commit,
 * or roll back on any failure. */
static int
audit_tx(struct cli *c, const char *event, const char *object,
    const char *detail, struct err *e)
{
	int rc = cli_audit(c, event, object, "success", detail, e);

	if (rc == 0)
		rc = db_commit(c->db, e);
	if (rc != 0)
		db_rollback(c->db);
	return rc;
}

static int
policy_id(struct cli *c, const char *name, int64_t *id, struct err *e)
{
	int rc = db_int64(c->db, id, e, "SELECT coalesce((SELECT id FROM "
	    "acme_policies WHERE realm_id = ? AND name = ?), 0)", "it",
	    c->realm_id, name);

	if (rc == 0 && *id == 0)
		return err_set(e, EX_NOINPUT, "acme policy %s: no such policy "
		    "in realm %s", name, cli_realm(c));
	return rc;
}

static int
add_domains(struct cli *c, int64_t pid, char **doms, struct err *e)
{
	char *d;
	int rc = 0;

	for (; rc == 0 && doms != NULL && *doms != NULL; doms++) {
		d = xstrdup(*doms);
		if ((rc = domain_normalize(d, 1, e)) == 0)
			rc = db_exec(c->db, e, "INSERT OR IGNORE INTO "
			    "acme_policy_domains (policy_id, domain) VALUES "
			    "(?, ?)", "it", pid, d);
		else
			err_prefix(e, "--domain %s", *doms);
		free(d);
	}
	return rc;
}

static int
policy_create(struct cli *c, int argc, const char **argv)
{
	char *tmpl = NULL, **doms = NULL;
	struct poptOption opts[] = {
		{ "domain", '\0', POPT_ARG_ARGV, &doms, 0,
		  "pre-approve DOMAIN (*.DOMAIN: every name below it); "
		  "repeatable", "DOMAIN" },
		{ "template", '\0', POPT_ARG_STRING, &tmpl, 0,
		  "certificates of this policy's accounts use TEMPLATE",
		  "TEMPLATE" },
		CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND
	};
	struct err e = {0};
	struct buf obj = {0}, now = {0};
	int64_t tid = 0;
	int rc, intx = 0;
	size_t i;

	if ((rc = cli_parse(c, "certpipe acme policy create", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0)
		goto out;
	if (tmpl == NULL) {
		rc = err_set(&e, EX_USAGE, "--template is required");
		goto fail;
	}
	if ((rc = policy_name_check(c->args[0], &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = db_int64(c->db, &tid, &e, "SELECT coalesce((SELECT id FROM "
	    "templates WHERE realm_id = ? AND name = ?), 0)", "it",
	    c->realm_id, tmpl)) != 0)
		goto fail;
	if (tid == 0) {
		rc = err_set(&e, EX_NOINPUT, "template %s: no such template "
		    "in realm %s", tmpl, cli_realm(c));
		goto fail;
	}
	clock_fmt(&now, clock_now());
	buf_printf(&obj, "acme-policy:%s", c->args[0]);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = db_exec(c->db, &e, "INSERT INTO acme_policies (realm_id, "
	    "name, template_id, created_at) VALUES (?, ?, ?, ?)", "itit",
	    c->realm_id, c->args[0], tid, now.p)) != 0) {
		if (rc == EX_DATAERR)
			err_set(&e, EX_DATAERR, "acme policy %s: exists",
			    c->args[0]);
		goto fail;
	}
	if ((rc = add_domains(c, db_last_id(c->db), doms, &e)) != 0)
		goto fail;
	intx = 0;
	if ((rc = audit_tx(c, "acme.policy.created", obj.p, tmpl, &e)) != 0)
		goto fail;
	printf("created acme policy %s (template %s)\n", c->args[0], tmpl);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	free(tmpl);
	for (i = 0; doms != NULL && doms[i] != NULL; i++)
		free(doms[i]);	/* POPT_ARG_ARGV: the caller frees all */
	free(doms);
	buf_free(&obj);
	buf_free(&now);
	err_free(&e);
	return rc;
}

/* Prepare a list query of the realm (its one parameter); 0, or the
 * exit status with the diagnostic printed. */
static int
list_prep(struct cli *c, struct db_stmt **st, const char *sql)
{
	struct err e = {0};
	int rc;

	if ((rc = db_prep(c->db, st, &e, sql, "i", c->realm_id)) != 0)
		rc = diag_err(&e);
	err_free(&e);
	return rc;
}

static void
policy_row(const struct cli *c, struct db_stmt *st, struct jw *w,
    struct buf *out)
{
	if (!c->json) {
		buf_printf(out, "%-20s %-20s %7lld %8lld %s\n", db_text(st, 0),
		    db_text(st, 1), (long long)db_int(st, 2),
		    (long long)db_int(st, 3), db_text(st, 4));
		return;
	}
	jw_obj(w);
	jw_kstr(w, "name", db_text(st, 0));
	jw_kstr(w, "template", db_text(st, 1));
	jw_kint(w, "domains", db_int(st, 2));
	jw_kint(w, "accounts", db_int(st, 3));
	jw_kstr(w, "created_at", db_text(st, 4));
	jw_end(w);
}

static int
policy_list(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct buf out = {0};
	int rc;

	if ((rc = cli_parse(c, "certpipe acme policy list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0 || (rc = cli_open(c)) != 0 ||
	    (rc = list_prep(c, &st, "SELECT p.name, t.name, "
	    "(SELECT count(*) FROM acme_policy_domains WHERE policy_id = p.id), "
	    "(SELECT count(*) FROM acme_accounts WHERE policy_id = p.id), "
	    "p.created_at FROM acme_policies p JOIN templates t ON "
	    "t.id = p.template_id WHERE p.realm_id = ? ORDER BY p.name")) != 0)
		return rc;
	if (!c->json)
		buf_printf(&out, "%-20s %-20s %7s %8s %s\n", "NAME", "TEMPLATE",
		    "DOMAINS", "ACCOUNTS", "CREATED");
	return cli_list(c, st, &out, policy_row);
}

static int
policy_show(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0};
	struct jw w;
	int64_t pid;
	int rc;

	if ((rc = cli_parse(c, "certpipe acme policy show", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = policy_id(c, c->args[0], &pid, &e)) != 0 ||
	    (rc = db_prep(c->db, &st, &e, "SELECT t.name, p.created_at, "
	    "(SELECT count(*) FROM acme_accounts WHERE policy_id = p.id), "
	    "(SELECT count(*) FROM acme_eab WHERE policy_id = p.id), "
	    "p.rate_window, p.rate_account, p.rate_domain "
	    "FROM acme_policies p JOIN templates t ON t.id = p.template_id "
	    "WHERE p.id = ? AND p.realm_id = ?", "ii", pid,
	    c->realm_id)) != 0 || (rc = db_step(st, &e)) != 1)
		goto fail;
	jw_init(&w, &out);
	if (c->json) {
		jw_obj(&w);
		jw_kstr(&w, "name", c->args[0]);
		jw_kstr(&w, "realm", cli_realm(c));
		jw_kstr(&w, "template", db_text(st, 0));
		jw_kstr(&w, "created_at", db_text(st, 1));
		jw_kint(&w, "accounts", db_int(st, 2));
		jw_kint(&w, "eab_keys", db_int(st, 3));
		jw_kint(&w, "rate_window", db_int(st, 4));
		jw_kint(&w, "rate_account", db_int(st, 5));
		jw_kint(&w, "rate_domain", db_int(st, 6));
		jw_key(&w, "domains");
		jw_arr(&w);
	} else
		buf_printf(&out, "name:      %s\nrealm:     %s\ntemplate:  %s\n"
		    "created:   %s\naccounts:  %lld\neab keys:  %lld\n"
		    "rate:      window %llds, account %lld, domain %lld\n",
		    c->args[0], cli_realm(c), db_text(st, 0), db_text(st, 1),
		    (long long)db_int(st, 2), (long long)db_int(st, 3),
		    (long long)db_int(st, 4), (long long)db_int(st, 5),
		    (long long)db_int(st, 6));
	db_finish(st);
	if ((rc = db_prep(c->db, &st, &e, "SELECT domain FROM "
	    "acme_policy_domains WHERE policy_id = ? ORDER BY domain", "i",
	    pid)) != 0)
		goto fail;
	while ((rc = db_step(st, &e)) == 1)
		if (c->json)
			jw_str(&w, db_text(st, 0));
		else
			buf_printf(&out, "domain:    %s\n", db_text(st, 0));
	if (rc < 0)
		goto fail;
	if (c->json) {
		jw_end(&w);
		jw_end(&w);
		buf_addc(&out, '\n');
	}
	rc = cli_print(&out);
	goto out;
fail:
	rc = rc == 0 ? err_set(&e, EX_SOFTWARE, "policy vanished") : rc;
	rc = diag_err(&e);
out:
	db_finish(st);
	buf_free(&out);
	err_free(&e);
	return rc;
}

static int
policy_delete_cmd(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct err e = {0};
	struct buf obj = {0};
	int64_t pid, used = 0;
	int rc;

	if ((rc = cli_parse(c, "certpipe acme policy delete", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	buf_printf(&obj, "acme-policy:%s", c->args[0]);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	if ((rc = policy_id(c, c->args[0], &pid, &e)) != 0 ||
	    (rc = db_int64(c->db, &used, &e, "SELECT (SELECT count(*) FROM "
	    "acme_accounts WHERE policy_id = ?) + (SELECT count(*) FROM "
	    "acme_eab WHERE policy_id = ?)", "ii", pid, pid)) != 0)
		goto rollback;
	if (used > 0) {
		rc = err_set(&e, EX_DATAERR, "acme policy %s: %lld accounts and "
		    "EAB keys are bound to it", c->args[0], (long long)used);
		goto rollback;
	}
	if ((rc = db_exec(c->db, &e, "DELETE FROM acme_policies WHERE id = ? "
	    "AND realm_id = ?", "ii", pid, c->realm_id)) != 0)
		goto rollback;
	if ((rc = audit_tx(c, "acme.policy.deleted", obj.p, NULL, &e)) != 0)
		goto fail;
	printf("deleted acme policy %s\n", c->args[0]);
	goto out;
rollback:
	db_rollback(c->db);
fail:
	rc = diag_err(&e);
out:
	buf_free(&obj);
	err_free(&e);
	return rc;
}

/* "90s", "30m", "3h", "7d" (at most 366 days) into seconds. */
static int
rate_window(const char *s, int64_t *secs, struct err *e)
{
	static const struct { char unit; int64_t mul; } u[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	size_t n = strlen(s), i;
	struct buf num = {0};
	int64_t v;
	int rc = EX_USAGE;

	for (i = 0; n > 1 && i < sizeof u / sizeof u[0]; i++) {
		if (s[n - 1] != u[i].unit)
			continue;
		buf_add(&num, s, n - 1);
		buf_adds(&num, "");
		if (num_i64("--window", num.p, 1, 366 * 86400 / u[i].mul, &v,
		    e) == 0) {
			*secs = v * u[i].mul;
			rc = 0;
		}
		break;
	}
	buf_free(&num);
	if (rc != 0) {
		err_free(e);
		err_set(e, EX_USAGE, "--window: '%s' is not a duration like "
		    "90s, 30m, 3h or 7d (at most 366d)", s);
	}
	return rc;
}

static int
policy_rate(struct cli *c, int argc, const char **argv)
{
	char *window = NULL, *account = NULL, *domain = NULL;
	int off = 0;
	struct poptOption opts[] = {
		{ "account", '\0', POPT_ARG_STRING, &account, 0,
		  "at most N new orders per account in the window (0: no "
		  "limit)", "N" },
		{ "domain", '\0', POPT_ARG_STRING, &domain, 0,
		  "at most N new orders per registered domain in the window "
		  "(0: no limit)", "N" },
		{ "off", '\0', POPT_ARG_NONE, &off, 0,
		  "no rate limits (the default)", NULL },
		{ "window", '\0', POPT_ARG_STRING, &window, 0,
		  "the sliding window: 90s, 30m, 3h, 7d", "DURATION" },
		CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND
	};
	struct err e = {0};
	struct buf obj = {0}, det = {0};
	int64_t pid, w = 0, na = 0, nd = 0;
	int rc;

	if ((rc = cli_parse(c, "certpipe acme policy rate", argc, argv, opts,
	    "[OPTION...] --off | --window DURATION [--account N] "
	    "[--domain N] NAME", 1, 1)) != 0)
		goto out;
	if (off && (window || account || domain))
		rc = err_set(&e, EX_USAGE, "--off takes no other option");
	else if (!off && (window == NULL || (account == NULL &&
	    domain == NULL)))
		rc = err_set(&e, EX_USAGE, "give --window and --account or "
		    "--domain, or --off");
	else if (!off && ((rc = rate_window(window, &w, &e)) != 0 ||
	    (account && (rc = num_i64("--account", account, 0, 1000000, &na,
	    &e)) != 0) || (domain && (rc = num_i64("--domain", domain, 0,
	    1000000, &nd, &e)) != 0)))
		rc = e.code = EX_USAGE;
	if (rc != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	buf_printf(&obj, "acme-policy:%s", c->args[0]);
	buf_printf(&det, "rate window %llds, account %lld, domain %lld",
	    (long long)w, (long long)na, (long long)nd);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	if ((rc = policy_id(c, c->args[0], &pid, &e)) != 0 ||
	    (rc = db_exec(c->db, &e, "UPDATE acme_policies SET rate_window = "
	    "?, rate_account = ?, rate_domain = ? WHERE id = ?", "iiii", w, na,
	    nd, pid)) != 0) {
		db_rollback(c->db);
		goto fail;
	}
	if ((rc = audit_tx(c, "acme.policy.updated", obj.p, det.p, &e)) != 0)
		goto fail;
	printf("acme policy %s: %s\n", c->args[0], off ? "no rate limits" :
	    det.p);
	goto out;
fail:
	rc = diag_err(&e);
out:
	free(window); free(account); free(domain);
	buf_free(&obj);
	buf_free(&det);
	err_free(&e);
	return rc;
}

/* KID and HMAC key, fresh from RAND_bytes. */
static int
eab_make(struct buf *kid, unsigned char *key, struct err *e)
{
	unsigned char r[ACME_EAB_KID_BYTES];

	if (RAND_bytes(r, sizeof r) != 1 ||
	    RAND_bytes(key, ACME_EAB_KEY_BYTES) != 1)
		return err_ssl(e, EX_SOFTWARE, "random");
	buf_adds(kid, "eab-");
	b64u_encode(r, sizeof r, kid);
	return 0;
}

static int
eab_check_opts(const char *uses, const char *expires, uint64_t *n,
    struct buf *exp, struct err *e)
{
	time_t t;

	if (uses == NULL || expires == NULL)
		return err_set(e, EX_USAGE, "--uses and --expires are required");
	if (num_u64("--uses", uses, 1, 1000000, n, e) != 0 ||
	    clock_parse("--expires", expires, &t, e) != 0)
		return e->code = EX_USAGE;
	if (t <= clock_now())
		return err_set(e, EX_USAGE, "--expires: %s is in the past",
		    expires);
	clock_fmt(exp, t);
	return 0;
}

static int
eab_create(struct cli *c, int argc, const char **argv)
{
	char *uses = NULL, *expires = NULL;
	struct poptOption opts[] = {
		{ "expires", '\0', POPT_ARG_STRING, &expires, 0,
		  "refuse the key from DATE on (YYYY-MM-DD or RFC 3339 UTC)",
		  "DATE" },
		{ "uses", '\0', POPT_ARG_STRING, &uses, 0,
		  "at most N accounts may register with the key", "N" },
		CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND
	};
	unsigned char key[ACME_EAB_KEY_BYTES];
	struct buf kid = {0}, exp = {0}, now = {0}, obj = {0}, det = {0};
	struct buf k64 = {0};
	struct err e = {0};
	int64_t pid;
	uint64_t n = 0;
	int rc, intx = 0;

	if ((rc = cli_parse(c, "certpipe acme eab create", argc, argv, opts,
	    "[OPTION...] POLICY", 1, 1)) != 0)
		goto out;
	if ((rc = eab_check_opts(uses, expires, &n, &exp, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = eab_make(&kid, key, &e)) != 0)
		goto fail;
	clock_fmt(&now, clock_now());
	buf_printf(&obj, "acme-eab:%s", kid.p);
	buf_printf(&det, "policy %s, %llu uses, expires %s", c->args[0],
	    (unsigned long long)n, exp.p);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = policy_id(c, c->args[0], &pid, &e)) != 0 ||
	    (rc = db_exec(c->db, &e, "INSERT INTO acme_eab (realm_id, "
	    "policy_id, kid, hmac_key, max_uses, expires_at, created_by, "
	    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "iitbittt",
	    c->realm_id, pid, kid.p, key, sizeof key, (int64_t)n, exp.p,
	    c->actor, now.p)) != 0)
		goto fail;
	intx = 0;
	if ((rc = audit_tx(c, "acme.eab.created", obj.p, det.p, &e)) != 0)
		goto fail;
	b64u_encode(key, sizeof key, &k64);
	/* the only time the key is shown */
	printf("kid: %s\nhmac-key: %s\n", kid.p, k64.p);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	OPENSSL_cleanse(key, sizeof key);
	buf_wipe(&k64);
	free(uses);
	free(expires);
	buf_free(&kid);
	buf_free(&exp);
	buf_free(&now);
	buf_free(&obj);
	buf_free(&det);
	err_free(&e);
	return rc;
}

static void
eab_row(const struct cli *c, struct db_stmt *st, struct jw *w,
    struct buf *out)
{
	if (!c->json) {
		buf_printf(out, "%-22s %-16s %5lld/%-5lld %-20s (hidden)\n",
		    db_text(st, 0), db_text(st, 1), (long long)db_int(st, 2),
		    (long long)db_int(st, 3), db_text(st, 4));
		return;
	}
	jw_obj(w);
	jw_kstr(w, "kid", db_text(st, 0));
	jw_kstr(w, "policy", db_text(st, 1));
	jw_kint(w, "uses", db_int(st, 2));
	jw_kint(w, "max_uses", db_int(st, 3));
	jw_kstr(w, "expires_at", db_text(st, 4));
	jw_kstr(w, "created_by", db_text(st, 5));
	jw_kstr(w, "hmac_key", "(hidden)");
	jw_end(w);
}

static int
eab_list(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct buf out = {0};
	int rc;

	if ((rc = cli_parse(c, "certpipe acme eab list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0 || (rc = cli_open(c)) != 0 ||
	    (rc = list_prep(c, &st, "SELECT k.kid, p.name, k.uses, "
	    "k.max_uses, k.expires_at, k.created_by FROM acme_eab k JOIN "
	    "acme_policies p ON p.id = k.policy_id WHERE k.realm_id = ? "
	    "ORDER BY k.created_at, k.kid")) != 0)
		return rc;
	if (!c->json)
		buf_printf(&out, "%-22s %-16s %11s %-20s %s\n", "KID", "POLICY",
		    "USES", "EXPIRES", "HMAC KEY");
	return cli_list(c, st, &out, eab_row);
}

#define ACCT_COLS "a.name, a.status, p.name, k.kid, a.contact, a.tos_agreed, " \
	"a.thumbprint, a.created_at, a.updated_at FROM acme_accounts a " \
	"JOIN acme_policies p ON p.id = a.policy_id " \
	"JOIN acme_eab k ON k.id = a.eab_id WHERE a.realm_id = ?"

static void
acct_row(const struct cli *c, struct db_stmt *st, struct jw *w, struct buf *out,
    int full)
{
	if (c->json) {
		jw_obj(w);
		jw_kstr(w, "name", db_text(st, 0));
		jw_kstr(w, "status", db_text(st, 1));
		jw_kstr(w, "policy", db_text(st, 2));
		jw_kstr(w, "eab_kid", db_text(st, 3));
		jw_kstr(w, "contact", db_text(st, 4));
		jw_kbool(w, "tos_agreed", (int)db_int(st, 5));
		jw_kstr(w, "thumbprint", db_text(st, 6));
		jw_kstr(w, "created_at", db_text(st, 7));
		jw_kstr(w, "updated_at", db_text(st, 8));
		jw_end(w);
	} else if (full)
		buf_printf(out, "name:        %s\nstatus:      %s\n"
		    "policy:      %s\neab kid:     %s\ncontact:     %s\n"
		    "tos agreed:  %s\nthumbprint:  %s\ncreated:     %s\n"
		    "updated:     %s\n", db_text(st, 0), db_text(st, 1),
		    db_text(st, 2), db_text(st, 3), db_text(st, 4),
		    db_int(st, 5) ? "yes" : "no", db_text(st, 6),
		    db_text(st, 7), db_text(st, 8));
	else
		buf_printf(out, "%-18s %-11s %-16s %-22s %s\n", db_text(st, 0),
		    db_text(st, 1), db_text(st, 2), db_text(st, 3),
		    db_text(st, 4));
}

static void
acct_list_row(const struct cli *c, struct db_stmt *st, struct jw *w,
    struct buf *out)
{
	acct_row(c, st, w, out, 0);
}

static int
acct_list(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct buf out = {0};
	int rc;

	if ((rc = cli_parse(c, "certpipe acme account list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0 || (rc = cli_open(c)) != 0 ||
	    (rc = list_prep(c, &st, "SELECT " ACCT_COLS
	    " ORDER BY a.created_at, a.name")) != 0)
		return rc;
	if (!c->json)
		buf_printf(&out, "%-18s %-11s %-16s %-22s %s\n", "NAME",
		    "STATUS", "POLICY", "EAB KID", "CONTACT");
	return cli_list(c, st, &out, acct_list_row);
}

static int
acct_show(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0};
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe acme account show", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = db_prep(c->db, &st, &e, "SELECT " ACCT_COLS
	    " AND a.name = ?", "it", c->realm_id, c->args[0])) != 0 ||
	    (rc = db_step(st, &e)) < 0)
		goto fail;
	if (rc == 0) {
		rc = err_set(&e, EX_NOINPUT, "acme account %s: no such account "
		    "in realm %s", c->args[0], cli_realm(c));
		goto fail;
	}
	jw_init(&w, &out);
	acct_row(c, st, &w, &out, 1);
	if (c->json)
		buf_addc(&out, '\n');
	rc = cli_print(&out);
	goto out;
fail:
	rc = diag_err(&e);
out:
	db_finish(st);
	buf_free(&out);
	err_free(&e);
	return rc;
}

static int
acct_deactivate(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct err e = {0};
	struct buf obj = {0}, now = {0};
	int rc;

	if ((rc = cli_parse(c, "certpipe acme account deactivate", argc, argv,
	    opts, "[OPTION...] NAME", 1, 1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	buf_printf(&obj, "acme-account:%s", c->args[0]);
	clock_fmt(&now, clock_now());
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	if ((rc = db_exec(c->db, &e, "UPDATE acme_accounts SET status = "
	    "'deactivated', updated_at = ? WHERE realm_id = ? AND name = ? "
	    "AND status = 'valid'", "tit", now.p, c->realm_id,
	    c->args[0])) != 0)
		goto rollback;
	if (db_changes(c->db) != 1) {
		rc = err_set(&e, EX_NOINPUT, "acme account %s: no such valid "
		    "account in realm %s", c->args[0], cli_realm(c));
		goto rollback;
	}
	if ((rc = audit_tx(c, "acme.account.deactivated", obj.p,
	    "by the administrator", &e)) != 0)
		goto fail;
	printf("deactivated acme account %s\n", c->args[0]);
	goto out;
rollback:
	db_rollback(c->db);
fail:
	rc = diag_err(&e);
out:
	buf_free(&obj);
	buf_free(&now);
	err_free(&e);
	return rc;
}

static int
acme_policy(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", policy_create, "create an ACME policy" },
		{ "delete", policy_delete_cmd, "delete an unused ACME policy" },
		{ "list", policy_list, "list the realm's ACME policies" },
		{ "rate", policy_rate, "set or clear the rate limits of new "
		  "orders" },
		{ "show", policy_show, "show one ACME policy" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "acme policy", subs, argc, argv);
}

static int
acme_eab(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", eab_create, "make an EAB key (printed once)" },
		{ "list", eab_list, "list EAB keys (never the HMAC key)" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "acme eab", subs, argc, argv);
}

static int
acme_account_cmd(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "deactivate", acct_deactivate, "deactivate an account" },
		{ "list", acct_list, "list the realm's ACME accounts" },
		{ "show", acct_show, "show one ACME account" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "acme account", subs, argc, argv);
}

int
cmd_acme(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "account", acme_account_cmd, "ACME accounts" },
		{ "eab", acme_eab, "external account binding keys" },
		{ "policy", acme_policy, "ACME policies" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "acme", subs, argc, argv);
}
