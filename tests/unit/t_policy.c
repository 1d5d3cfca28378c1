/* t_policy - rule values, storage and the engine's verdicts: each rule
 * passing and violated, hard and soft; domain coverage; enforced values
 * on both paths; approval strictest-wins; outcome precedence. */
#include <stdlib.h>
#include <unistd.h>
#include "policy.h"
#include "tap.h"

static struct db *db;
static int64_t realm_b;
static struct tmpl web, web_b, other, off;	/* templates */

/* ------------------------------------------------------------------ */

static void
test_values(void)
{
	static const struct {
		const char *rule, *value;
		int rc;
		const char *want;
	} t[] = {
		{ "max-days", "1", 0, "1" },
		{ "max-days", "3650", 0, "3650" },
		{ "max-days", "90", 0, "90" },
		{ "max-days", "0", EX_DATAERR, NULL },
		{ "max-days", "3651", EX_DATAERR, NULL },
		{ "max-days", "-1", EX_DATAERR, NULL },
		{ "max-days", "90d", EX_DATAERR, NULL },
		{ "max-days", "", EX_DATAERR, NULL },
		{ "key-algs", "ec-256", 0, "ec-256" },
		{ "key-algs", "ec-256, ec-384", 0, "ec-256,ec-384" },
		{ "key-algs", "rsa-1024", EX_DATAERR, NULL },
		{ "key-algs", "ec-256,,ec-384", EX_DATAERR, NULL },
		{ "key-algs", ",ec-256", EX_DATAERR, NULL },
		{ "key-algs", "ec-256,", EX_DATAERR, NULL },
		{ "key-algs", " ", EX_DATAERR, NULL },
		{ "digest", "sha384", 0, "sha384" },
		{ "digest", "md5", EX_DATAERR, NULL },
		{ "digest", "SHA256", EX_DATAERR, NULL },
		{ "max-sans", "1", 0, "1" },
		{ "max-sans", "100", 0, "100" },
		{ "max-sans", "0", EX_DATAERR, NULL },
		{ "max-sans", "101", EX_DATAERR, NULL },
		{ "wildcards", "off", 0, "off" },
		{ "wildcards", "yes", 0, "on" },
		{ "ip-sans", "0", 0, "off" },
		{ "email-sans", "true", 0, "on" },
		{ "cn-required", "on", 0, "on" },
		{ "cn-required", "maybe", EX_DATAERR, NULL },
		{ "wildcards", "", EX_DATAERR, NULL },
		{ "max-day", "90", EX_DATAERR, NULL },
		{ "", "90", EX_DATAERR, NULL },
	};
	struct err e = {0};
	char *out;
	size_t i;
	int rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		out = NULL;
		rc = policy_rule_norm(t[i].rule, t[i].value, &out, &e);
		is_int(rc, t[i].rc, "rule %s=%s: %s", t[i].rule, t[i].value,
		    t[i].rc ? "refused" : "accepted");
		is_str(out, t[i].want, "rule %s=%s: stored value", t[i].rule,
		    t[i].value);
		if (rc)
			ok(strchr(err_str(&e), '\n') == NULL && *err_str(&e),
			    "one-line reason: %s", err_str(&e));
		free(out);
	}
	err_free(&e);
}

static void
test_setters(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *want;
	} enf[] = {
		{ "O=Acme,C=DE", 0, "O=Acme,C=DE" },
		{ "C=DE, O=Acme", 0, "O=Acme,C=DE" },
		{ "L=Berlin,ST=Berlin,OU=Ops,O=Acme", 0,
		  "O=Acme,OU=Ops,ST=Berlin,L=Berlin" },
		{ "CN=x,O=Acme", EX_DATAERR, NULL },
		{ "C=Germany", EX_DATAERR, NULL },
		{ "X=1", EX_DATAERR, NULL },
		{ "O=Acme,O=Beta", EX_DATAERR, NULL },
		{ "Acme", EX_DATAERR, NULL },
	};
	struct policy p = {0};
	struct err e = {0};
	size_t i;

	p.name = strdup("p");
	for (i = 0; i < sizeof enf / sizeof enf[0]; i++) {
		free(p.enforce);
		p.enforce = NULL;
		is_int(policy_set_enforce(&p, enf[i].in, &e), enf[i].rc,
		    "enforce '%s'", enf[i].in);
		is_str(p.enforce, enf[i].want, "enforce '%s' stored as",
		    enf[i].in);
	}
	is_int(policy_set_enforce(&p, "O=Acme", &e), 0, "enforce O=Acme");
	is_int(policy_set_enforce(&p, "", &e), 0, "'' clears");
	ok(p.enforce == NULL, "enforce cleared");

	is_int(policy_set_approval(&p, "four-eyes", &e), 0, "four-eyes");
	is_int(policy_set_approval(&p, "manual", &e), 0, "manual");
	is_int(policy_set_approval(&p, "Manual", &e), EX_DATAERR, "Manual");
	is_int(policy_set_approval(&p, "", &e), EX_DATAERR, "empty approval");
	is_str(p.approval, "manual", "a refused approval changes nothing");
	ok(strncmp(err_str(&e), "policy 'p': ", 12) == 0,
	    "messages name the policy: %s", err_str(&e));

	is_int(policy_set_rule(&p, "wildcards", "off", "soft", &e), 0, "add");
	is_int(policy_set_rule(&p, "max-days", "90", "hard", &e), 0, "add 2");
	is_int(policy_set_rule(&p, "digest", "sha384", "hard", &e), 0, "add 3");
	is_int((long long)p.nrules, 3, "three rules");
	is_str(p.rules[0].rule, "digest", "sorted: digest first");
	is_str(p.rules[2].rule, "wildcards", "sorted: wildcards last");
	is_int(policy_set_rule(&p, "max-days", "30", "soft", &e), 0, "replace");
	is_int((long long)p.nrules, 3, "still three rules");
	is_str(p.rules[1].value, "30", "replaced value");
	is_str(p.rules[1].mode, "soft", "replaced mode");
	is_int(policy_set_rule(&p, "max-days", "x", "hard", &e), EX_DATAERR,
	    "bad value");
	is_str(p.rules[1].value, "30", "a bad value changes nothing");
	is_int(policy_set_rule(&p, "max-days", "30", "medium", &e), EX_DATAERR,
	    "bad mode");
	is_int(policy_set_rule(&p, "digest", "", "hard", &e), 0, "remove");
	is_int((long long)p.nrules, 2, "two rules");
	is_int(policy_set_rule(&p, "digest", "", "hard", &e), EX_DATAERR,
	    "remove what is not set");
	is_int(policy_set_rule(&p, "bogus", "", "hard", &e), EX_DATAERR,
	    "remove an unknown rule");
	is_int(policy_name_check("ok-name_1.x", &e), 0, "name ok");
	is_int(policy_name_check("../x", &e), EX_DATAERR, "name with /");
	is_int(policy_name_check("", &e), EX_DATAERR, "empty name");
	policy_free(&p);
	policy_free(&p);
	policy_free(NULL);
	err_free(&e);
}

/* ------------------------------------------------------------------ */

static void
add_domain(int64_t realm, const char *name, int enabled)
{
	struct err e = {0};

	if (db_exec(db, &e, "INSERT INTO domains (realm_id, name, enabled, "
	    "created_at, updated_at) VALUES (?, ?, ?, 'now', 'now')", "iti",
	    realm, name, (int64_t)enabled) != 0)
		ok(0, "insert domain %s: %s", name, err_str(&e));
	err_free(&e);
}

static void
add_template(struct tmpl *t, int64_t realm, int64_t ca, const char *name,
    int allow_ip, int enabled)
{
	struct err e = {0};

	memset(t, 0, sizeof *t);
	tmpl_starter("web-server", t, &e);
	t->name = strdup(name);
	t->realm_id = realm;
	t->ca_id = ca;
	t->allow_ip = allow_ip;
	t->enabled = enabled;
	if (tmpl_insert(db, t, &e) != 0)
		ok(0, "insert template %s: %s", name, err_str(&e));
	err_free(&e);
}

/* Store a policy: rules as "name=value" (hard) or "~name=value" (soft). */
static void
add_policy(int64_t realm, const char *name, const struct tmpl *t,
    const char *approval, const char *enforce, const char *const *rules)
{
	struct policy p = {0};
	struct err e = {0};
	char *r, *eq;
	int rc = 0;

	p.name = strdup(name);
	p.realm_id = realm;
	p.template_id = t ? t->id : 0;
	p.approval = strdup(approval ? approval : "automatic");
	if (enforce)
		rc = policy_set_enforce(&p, enforce, &e);
	for (; rc == 0 && rules && *rules; rules++) {
		r = strdup(**rules == '~' ? *rules + 1 : *rules);
		eq = strchr(r, '=');
		*eq = '\0';
		rc = policy_set_rule(&p, r, eq + 1, **rules == '~' ? "soft" :
		    "hard", &e);
		free(r);
	}
	if (rc == 0)
		rc = policy_insert(db, &p, &e);
	if (rc != 0)
		ok(0, "store policy %s: %s", name, err_str(&e));
	policy_free(&p);
	err_free(&e);
}

static void
clear_policies(void)
{
	struct err e = {0};

	db_exec(db, &e, "DELETE FROM policy_rules", "");
	db_exec(db, &e, "DELETE FROM policies", "");
	err_free(&e);
}

/* The first line of policy/rule, or NULL. */
static const struct policy_line *
find_line(const struct policy_verdict *v, const char *policy,
    const char *rule)
{
	size_t i;

	for (i = 0; i < v->nlines; i++)
		if (strcmp(v->lines[i].policy, policy) == 0 &&
		    strcmp(v->lines[i].rule, rule) == 0)
			return &v->lines[i];
	return NULL;
}

static int
nfailed(const struct policy_verdict *v)
{
	size_t i;
	int n = 0;

	for (i = 0; i < v->nlines; i++)
		n += !v->lines[i].ok;
	return n;
}

/* A request the built-in checks pass for template web in realm 1. */
static void
base_facts(struct policy_facts *f)
{
	static const char *const san[] = { "DNS:www.example.com" };

	memset(f, 0, sizeof *f);
	f->path = "csr";
	f->cn = "www.example.com";
	f->san = san;
	f->nsan = 1;
	f->key_alg = "ec-256";
	f->tmpl = &web;
	f->realm_id = 1;
}

#define MAXSAN 4
struct req {
	const char *cn;		/* "-": no CN */
	const char *san[MAXSAN];
	const char *alg, *digest;
	int64_t days;
};

static void
req_facts(const struct req *r, struct policy_facts *f)
{
	size_t n = 0;

	base_facts(f);
	if (r->cn)
		f->cn = strcmp(r->cn, "-") == 0 ? NULL : r->cn;
	if (r->san[0]) {
		while (n < MAXSAN && r->san[n])
			n++;
		f->san = r->san;
		f->nsan = n;
	}
	if (r->alg)
		f->key_alg = r->alg;
	f->digest = r->digest;
	f->days = r->days;
}

static void
test_rules(void)
{
	static const struct {
		const char *rule;	/* name=value */
		struct req r;
		int ok;
	} t[] = {
		{ "max-days=90", { .days = 30 }, 1 },
		{ "max-days=90", { .days = 90 }, 1 },
		{ "max-days=90", { .days = 91 }, 0 },
		{ "max-days=90", { .days = 0 }, 1 },	/* default: capped */
		{ "key-algs=ec-256,ec-384", { .alg = "ec-384" }, 1 },
		{ "key-algs=ec-256,ec-384", { .alg = "rsa-2048" }, 0 },
		{ "key-algs=ec-384", { .alg = "ec-256" }, 0 },
		{ "digest=sha256", { .digest = NULL }, 1 },
		{ "digest=sha256", { .digest = "sha256" }, 1 },
		{ "digest=sha384", { .digest = NULL }, 0 },  /* template's */
		{ "max-sans=2", { .san = { "DNS:a.example.com",
		  "DNS:www.example.com" } }, 1 },
		{ "max-sans=2", { .san = { "DNS:a.example.com",
		  "DNS:b.example.com" } }, 0 },		/* + the CN */
		{ "max-sans=1", { .cn = "Jane Doe", .san = {
		  "DNS:a.example.com" } }, 1 },		/* CN not a name */
		{ "wildcards=off", { .san = { "DNS:www.example.com" } }, 1 },
		{ "wildcards=off", { .san = { "DNS:*.example.com" } }, 0 },
		{ "wildcards=off", { .cn = "*.example.com",
		  .san = { "DNS:www.example.com" } }, 0 },
		{ "wildcards=on", { .san = { "DNS:*.example.com" } }, 1 },
		{ "ip-sans=off", { .san = { "DNS:www.example.com" } }, 1 },
		{ "ip-sans=off", { .san = { "DNS:www.example.com",
		  "IP:192.0.2.1" } }, 0 },
		{ "ip-sans=off", { .cn = "192.0.2.1", .san = {
		  "DNS:www.example.com" } }, 0 },
		{ "ip-sans=on", { .san = { "IP:2001:db8::1" } }, 1 },
		{ "email-sans=off", { .san = { "DNS:www.example.com" } }, 1 },
		{ "email-sans=off", { .san = { "DNS:www.example.com",
		  "email:a@example.com" } }, 0 },
		{ "email-sans=on", { .san = { "DNS:www.example.com",
		  "email:a@example.com" } }, 1 },
		{ "cn-required=on", { .cn = "www.example.com" }, 1 },
		{ "cn-required=on", { .cn = "-" }, 0 },
		{ "cn-required=off", { .cn = "-" }, 1 },
	};
	static const char *const modes[] = { "hard", "soft" };
	struct policy_verdict v = {0};
	struct policy_facts f;
	const struct policy_line *l;
	struct err e = {0};
	const char *rules[2] = { NULL, NULL };
	char buf[64], *eq;
	size_t i, m;
	int want;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		for (m = 0; m < 2; m++) {
			snprintf(buf, sizeof buf, "%s%s", m ? "~" : "",
			    t[i].rule);
			rules[0] = buf;
			clear_policies();
			add_policy(1, "p", NULL, NULL, NULL, rules);
			req_facts(&t[i].r, &f);
			is_int(policy_check(db, &f, &v, &e), 0, "%s %s #%zu: "
			    "check", t[i].rule, modes[m], i);
			want = t[i].ok ? POLICY_PASS : m ? POLICY_SOFT_FAIL :
			    POLICY_FAIL;
			is_str(policy_outcome_name(v.outcome),
			    policy_outcome_name(want), "%s %s #%zu: %s",
			    t[i].rule, modes[m], i, t[i].ok ? "passes" :
			    "violated");
			eq = strchr(buf, '=');
			*eq = '\0';
			l = find_line(&v, "p", buf + (m ? 1 : 0));
			ok(l && l->ok == t[i].ok && strcmp(l->mode, modes[m])
			    == 0, "%s %s #%zu: its line says %s (%s)",
			    t[i].rule, modes[m], i, t[i].ok ? "ok" : "violated",
			    l ? l->why : "no line");
			is_int(nfailed(&v), !t[i].ok, "%s %s #%zu: only that "
			    "line fails", t[i].rule, modes[m], i);
			policy_verdict_free(&v);
			/* brief: the same outcome, only the broken lines */
			f.brief = 1;
			policy_check(db, &f, &v, &e);
			ok(v.outcome == want && v.nlines == (size_t)!t[i].ok &&
			    nfailed(&v) == !t[i].ok, "%s %s #%zu: brief, %zu "
			    "line(s), the same outcome", t[i].rule, modes[m], i,
			    v.nlines);
			policy_verdict_free(&v);
		}

	/* a default validity above a policy cap is capped, not refused */
	clear_policies();
	rules[0] = "max-days=90";
	add_policy(1, "p", NULL, NULL, NULL, rules);
	base_facts(&f);
	policy_check(db, &f, &v, &e);
	is_int(v.days, 90, "default 397 days capped to the policy's 90");
	policy_verdict_free(&v);
	rules[0] = "max-days=30";
	add_policy(1, "q", NULL, NULL, NULL, rules);
	policy_check(db, &f, &v, &e);
	is_int(v.days, 30, "the smallest cap wins");
	policy_verdict_free(&v);
	f.days = 20;
	policy_check(db, &f, &v, &e);
	is_int(v.days, 20, "an explicit request within the caps is kept");
	is_int(v.outcome, POLICY_PASS, "and passes");
	policy_verdict_free(&v);
	clear_policies();
	base_facts(&f);
	policy_check(db, &f, &v, &e);
	is_int(v.days, 0, "no cap: the template's default (0)");
	policy_verdict_free(&v);

	/* a stored rule this build does not know fails closed */
	add_policy(1, "p", NULL, NULL, NULL, NULL);
	db_exec(db, &e, "INSERT INTO policy_rules (policy_id, rule, value, "
	    "mode) SELECT id, 'from-the-future', 'x', 'soft' FROM policies", "");
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_FAIL, "unknown stored rule: fail");
	policy_verdict_free(&v);
	clear_policies();
	err_free(&e);
}

static void
test_builtin(void)
{
	static const struct {
		const char *what;
		struct req r;
		int outcome;
		const char *rule;	/* the failing builtin rule */
	} t[] = {
		{ "base request", { .cn = NULL }, POLICY_PASS, NULL },
		{ "apex", { .cn = "example.com", .san = { "DNS:example.com" } },
		  POLICY_PASS, NULL },
		{ "deep name", { .san = { "DNS:a.b.c.example.com" } },
		  POLICY_PASS, NULL },
		{ "upper case, trailing dot", { .san = { "DNS:WWW.Example.COM." } },
		  POLICY_PASS, NULL },
		{ "wildcard covered by its base", { .san = {
		  "DNS:*.example.com" } }, POLICY_PASS, NULL },
		{ "wildcard below a sub-domain", { .san = {
		  "DNS:*.x.example.com" } }, POLICY_PASS, NULL },
		{ "unregistered SAN", { .san = { "DNS:www.example.com",
		  "DNS:www.evil.test" } }, POLICY_FAIL, "domain" },
		{ "look-alike suffix", { .san = { "DNS:notexample.com" } },
		  POLICY_FAIL, "domain" },
		{ "wildcard of an uncovered base", { .san = { "DNS:*.com" } },
		  POLICY_FAIL, "domain" },
		{ "disabled domain", { .san = { "DNS:www.old.test" } },
		  POLICY_FAIL, "domain" },
		{ "other realm's domain", { .san = { "DNS:www.other.test" } },
		  POLICY_FAIL, "domain" },
		{ "DNS-like CN not covered", { .cn = "www.evil.test" },
		  POLICY_FAIL, "domain" },
		{ "CN that is no host name", { .cn = "Jane Doe" }, POLICY_PASS,
		  NULL },
		{ "single-label CN is not judged", { .cn = "server1" },
		  POLICY_PASS, NULL },
		{ "bad DNS SAN", { .san = { "DNS:a..example.com" } },
		  POLICY_FAIL, "san" },
		{ "unknown SAN type", { .san = { "RID:1.2.3" } }, POLICY_FAIL,
		  "san" },
		{ "bad IP SAN", { .san = { "IP:300.1.1.1" } }, POLICY_FAIL,
		  "san" },
		{ "bad email SAN", { .san = { "DNS:www.example.com",
		  "email:nobody" } }, POLICY_FAIL, "san" },
		{ "URI SAN", { .san = { "DNS:www.example.com",
		  "URI:https://www.example.com/" } }, POLICY_PASS, NULL },
		{ "IP SAN, template allows", { .san = { "DNS:www.example.com",
		  "IP:192.0.2.1" } }, POLICY_PASS, NULL },
		{ "key type not in the template", { .alg = "rsa-1024" },
		  POLICY_FAIL, "key-algs" },
		{ "requested digest is the template's", { .digest = "sha256" },
		  POLICY_PASS, NULL },
		{ "requested digest is not the template's",
		  { .digest = "sha512" }, POLICY_FAIL, "digest" },
		{ "days at the template cap", { .days = 397 }, POLICY_PASS,
		  NULL },
		{ "explicit days above the cap", { .days = 398 }, POLICY_FAIL,
		  "max-days" },
		{ "default days", { .days = 0 }, POLICY_PASS, NULL },
	};
	static const char *const ipsan[] = { "DNS:www.example.com",
	    "IP:192.0.2.1" };
	struct policy_verdict v = {0};
	struct policy_facts f;
	const struct policy_line *l;
	struct err e = {0};
	size_t i, j;

	clear_policies();
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		req_facts(&t[i].r, &f);
		is_int(policy_check(db, &f, &v, &e), 0, "%s: check", t[i].what);
		is_str(policy_outcome_name(v.outcome),
		    policy_outcome_name(t[i].outcome), "%s: outcome", t[i].what);
		if (t[i].rule) {
			/* the first failing line is the builtin rule's */
			for (l = NULL, j = 0; j < v.nlines; j++)
				if (!v.lines[j].ok) {
					l = &v.lines[j];
					break;
				}
			ok(l && strcmp(l->policy, "builtin") == 0 &&
			    strcmp(l->rule, t[i].rule) == 0 &&
			    strcmp(l->mode, "hard") == 0, "%s: builtin %s "
			    "fails (%s)", t[i].what, t[i].rule,
			    l ? l->why : "none");
		} else
			is_int(nfailed(&v), 0, "%s: no line fails", t[i].what);
		policy_verdict_free(&v);
	}

	/* the request's realm decides, not the domain's */
	base_facts(&f);
	f.tmpl = &web_b;
	f.realm_id = realm_b;
	policy_check(db, &f, &v, &e);
	l = find_line(&v, "builtin", "domain");
	ok(v.outcome == POLICY_FAIL && l && !l->ok,
	    "realm B: example.com (realm A's) covers nothing");
	policy_verdict_free(&v);
	{
		static const char *const sb[] = { "DNS:www.other.test" };
		f.cn = "www.other.test";
		f.san = sb;
		policy_check(db, &f, &v, &e);
		is_int(v.outcome, POLICY_PASS, "realm B: its own domain");
		policy_verdict_free(&v);
	}
	/* template of another realm */
	base_facts(&f);
	f.tmpl = &web_b;
	policy_check(db, &f, &v, &e);
	l = find_line(&v, "builtin", "template");
	ok(v.outcome == POLICY_FAIL && l && !l->ok,
	    "another realm's template fails");
	policy_verdict_free(&v);
	/* disabled template */
	base_facts(&f);
	f.tmpl = &off;
	policy_check(db, &f, &v, &e);
	l = find_line(&v, "builtin", "template");
	ok(v.outcome == POLICY_FAIL && l && !l->ok, "disabled template fails");
	policy_verdict_free(&v);
	/* IP SANs and an IP CN without allow-ip */
	base_facts(&f);
	f.tmpl = &other;
	f.san = ipsan;
	f.nsan = 2;
	policy_check(db, &f, &v, &e);
	l = find_line(&v, "builtin", "allow-ip");
	ok(v.outcome == POLICY_FAIL && l && !l->ok, "IP SAN, allow-ip off");
	policy_verdict_free(&v);
	base_facts(&f);
	f.tmpl = &other;
	f.cn = "192.0.2.7";
	policy_check(db, &f, &v, &e);
	l = find_line(&v, "builtin", "allow-ip");
	ok(v.outcome == POLICY_FAIL && l && !l->ok, "IP CN, allow-ip off");
	policy_verdict_free(&v);
	/* no key type: CSR path fails, automated takes the template's first */
	base_facts(&f);
	f.key_alg = NULL;
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_FAIL, "CSR path without a key type fails");
	policy_verdict_free(&v);
	f.path = "automated";
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_PASS, "automated path: the template's first "
	    "key type");
	policy_verdict_free(&v);
	/* facts that are not facts are errors, not verdicts */
	base_facts(&f);
	f.path = "ftp";
	is_int(policy_check(db, &f, &v, &e), EX_DATAERR, "unknown path");
	base_facts(&f);
	f.days = -1;
	is_int(policy_check(db, &f, &v, &e), EX_DATAERR, "negative days");
	base_facts(&f);
	f.tmpl = NULL;
	is_int(policy_check(db, &f, &v, &e), EX_SOFTWARE, "no template");
	policy_verdict_free(&v);
	err_free(&e);
}

static void
test_enforce(void)
{
	struct policy_verdict v = {0};
	struct policy_facts f;
	const struct policy_line *l;
	struct err e = {0};

	clear_policies();
	add_policy(1, "corp", NULL, NULL, "O=Acme,C=DE", NULL);

	base_facts(&f);
	f.path = "automated";
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_PASS, "automated, no O/C: pass");
	is_int((long long)v.nfill, 2, "two values to fill");
	is_str(v.nfill > 0 ? v.fill[0] : NULL, "O=Acme", "fill O=Acme");
	is_str(v.nfill > 1 ? v.fill[1] : NULL, "C=DE", "fill C=DE");
	policy_verdict_free(&v);

	f.o = "Other";
	f.c = "DE";
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_PASS, "automated, O differs: pass");
	is_int((long long)v.nfill, 1, "only O is filled");
	is_str(v.nfill ? v.fill[0] : NULL, "O=Acme", "O replaced by Acme");
	policy_verdict_free(&v);

	f.path = "csr";
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_FAIL, "CSR, O differs: fail");
	is_int((long long)v.nfill, 0, "the CSR path fills nothing");
	l = find_line(&v, "corp", "enforce");
	ok(l && !l->ok && strcmp(l->mode, "hard") == 0, "enforce line fails "
	    "hard: %s", l ? l->why : "none");
	policy_verdict_free(&v);

	f.o = NULL;
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_FAIL, "CSR, O missing: fail");
	policy_verdict_free(&v);

	f.o = "Acme";
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_PASS, "CSR with O=Acme,C=DE: pass");
	is_int(nfailed(&v), 0, "no line fails");
	policy_verdict_free(&v);

	/* an enforcing policy of another template does not apply */
	clear_policies();
	add_policy(1, "corp", &other, NULL, "O=Acme", NULL);
	base_facts(&f);
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_PASS, "another template's policy: ignored");
	policy_verdict_free(&v);

	/* two policies that disagree fail on both paths */
	clear_policies();
	add_policy(1, "a", NULL, NULL, "O=Acme", NULL);
	add_policy(1, "b", &web, NULL, "O=Beta", NULL);
	base_facts(&f);
	f.path = "automated";
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_FAIL, "conflicting enforce, automated: fail");
	policy_verdict_free(&v);
	f.path = "csr";
	f.o = "Acme";
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_FAIL, "conflicting enforce, csr: fail");
	policy_verdict_free(&v);
	/* two policies that agree fill once */
	clear_policies();
	add_policy(1, "a", NULL, NULL, "O=Acme", NULL);
	add_policy(1, "b", &web, NULL, "O=Acme,OU=Ops", NULL);
	base_facts(&f);
	f.path = "automated";
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_PASS, "agreeing enforce: pass");
	is_int((long long)v.nfill, 2, "O and OU filled once each");
	policy_verdict_free(&v);
	clear_policies();
	err_free(&e);
}

static void
test_approval(void)
{
	static const char *const soft[] = { "~wildcards=off", NULL };
	static const char *const hard[] = { "wildcards=off", NULL };
	static const char *const wild[] = { "DNS:*.example.com" };
	struct policy_verdict v = {0};
	struct policy_facts f;
	struct err e = {0};

	clear_policies();
	base_facts(&f);
	policy_check(db, &f, &v, &e);
	is_str(v.approval, "automatic", "no policy: automatic");
	is_int(v.outcome, POLICY_PASS, "no policy: pass");
	policy_verdict_free(&v);

	add_policy(1, "a", NULL, "automatic", NULL, NULL);
	policy_check(db, &f, &v, &e);
	is_str(v.approval, "automatic", "automatic: automatic");
	is_int(v.outcome, POLICY_PASS, "automatic: pass");
	policy_verdict_free(&v);

	add_policy(1, "m", &web, "manual", NULL, NULL);
	policy_check(db, &f, &v, &e);
	is_str(v.approval, "manual", "automatic + manual: manual");
	is_int(v.outcome, POLICY_HOLD, "manual: hold");
	policy_verdict_free(&v);

	/* four-eyes elsewhere (another template, another realm) */
	add_policy(1, "x", &other, "four-eyes", NULL, NULL);
	add_policy(realm_b, "y", NULL, "four-eyes", NULL, NULL);
	policy_check(db, &f, &v, &e);
	is_str(v.approval, "manual", "four-eyes of another template or "
	    "realm does not apply");
	policy_verdict_free(&v);

	add_policy(1, "z", NULL, "four-eyes", NULL, NULL);
	policy_check(db, &f, &v, &e);
	is_str(v.approval, "four-eyes", "strictest wins: four-eyes");
	is_int(v.outcome, POLICY_HOLD, "four-eyes: hold");
	policy_verdict_free(&v);

	/* precedence: soft + approval -> hold, warnings kept */
	clear_policies();
	add_policy(1, "s", NULL, "manual", NULL, soft);
	base_facts(&f);
	f.san = wild;
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_HOLD, "soft violation + manual: hold");
	is_int(nfailed(&v), 1, "the warning stays in the lines");
	policy_verdict_free(&v);
	/* soft alone -> soft-fail */
	clear_policies();
	add_policy(1, "s", NULL, NULL, NULL, soft);
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_SOFT_FAIL, "soft violation alone: soft-fail");
	policy_verdict_free(&v);
	/* hard beats everything */
	add_policy(1, "h", NULL, "four-eyes", NULL, hard);
	policy_check(db, &f, &v, &e);
	is_int(v.outcome, POLICY_FAIL, "hard + soft + four-eyes: fail");
	is_str(v.approval, "four-eyes", "approval still reported");
	policy_verdict_free(&v);
	clear_policies();

	is_str(policy_outcome_name(POLICY_PASS), "pass", "name pass");
	is_str(policy_outcome_name(POLICY_SOFT_FAIL), "soft-fail", "name "
	    "soft-fail");
	is_str(policy_outcome_name(POLICY_HOLD), "hold", "name hold");
	is_str(policy_outcome_name(POLICY_FAIL), "fail", "name fail");
	policy_verdict_free(NULL);
	err_free(&e);
}

static void
test_storage(void)
{
	static const char *const rules[] = { "max-days=90", "~wildcards=off",
	    NULL };
	struct policy p = {0};
	struct err e = {0};
	int64_t n = -1;

	clear_policies();
	add_policy(1, "st", &web, "manual", "C=DE,O=Acme", rules);
	is_int(policy_load(db, 1, "st", &p, &e), 0, "load");
	is_str(p.name, "st", "name");
	is_int(p.template_id, web.id, "template id");
	is_str(p.template_name, "web", "template name");
	is_str(p.approval, "manual", "approval");
	is_str(p.enforce, "O=Acme,C=DE", "enforce, canonical");
	is_int((long long)p.nrules, 2, "two rules");
	if (p.nrules == 2) {
		is_str(p.rules[0].rule, "max-days", "rule 1");
		is_str(p.rules[0].mode, "hard", "rule 1 hard");
		is_str(p.rules[1].value, "off", "rule 2 value");
		is_str(p.rules[1].mode, "soft", "rule 2 soft");
	}
	ok(p.created_at && p.updated_at, "timestamps");
	policy_free(&p);
	is_int(policy_load(db, realm_b, "st", &p, &e), EX_NOINPUT,
	    "not visible in realm B");
	policy_free(&p);
	is_int(policy_load(db, 1, "nosuch", &p, &e), EX_NOINPUT, "unknown");

	policy_load(db, 1, "st", &p, &e);
	p.template_id = 0;
	policy_set_rule(&p, "max-days", "", "hard", &e);
	policy_set_enforce(&p, "", &e);
	is_int(policy_update(db, &p, &e), 0, "update");
	policy_free(&p);
	policy_load(db, 1, "st", &p, &e);
	ok(p.template_id == 0 && p.template_name == NULL, "now every "
	    "template");
	is_int((long long)p.nrules, 1, "one rule left");
	ok(p.enforce == NULL, "enforce cleared");
	is_int(policy_delete(db, p.id, &e), 0, "delete");
	db_int64(db, &n, &e, "SELECT count(*) FROM policy_rules", "");
	is_int(n, 0, "its rules are gone");
	policy_free(&p);

	/* the same name in two realms; a duplicate in one is refused */
	add_policy(1, "dup", NULL, NULL, NULL, NULL);
	add_policy(realm_b, "dup", NULL, NULL, NULL, NULL);
	p.name = strdup("dup");
	p.realm_id = 1;
	is_int(policy_insert(db, &p, &e), EX_DATAERR, "duplicate name");
	policy_free(&p);

	/* a template's own policies go with it */
	add_policy(1, "only-other", &other, NULL, NULL, rules);
	db_exec(db, &e, "DELETE FROM templates WHERE id = ?", "i", other.id);
	db_int64(db, &n, &e, "SELECT count(*) FROM policies WHERE name = "
	    "'only-other'", "");
	is_int(n, 0, "deleting a template deletes its policies");
	db_int64(db, &n, &e, "SELECT count(*) FROM policy_rules", "");
	is_int(n, 0, "and their rules");
	clear_policies();
	err_free(&e);
}

int
main(void)
{
	char dir[] = "/tmp/t_policy.XXXXXX";
	struct buf path = {0};
	struct err e = {0};

	test_values();
	test_setters();

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	buf_printf(&path, "%s/p.db", dir);
	is_int(db_open(path.p, DB_OPEN_CREATE, &db, &e), 0, "open");
	is_int(db_migrate(db, NULL, NULL, &e), 0, "migrate");
	db_exec(db, &e, "INSERT INTO realms (name, created_at) VALUES "
	    "('b', 'now')", "");
	db_int64(db, &realm_b, &e, "SELECT id FROM realms WHERE name = 'b'",
	    "");
	is_int(db_exec(db, &e, "INSERT INTO cas (realm_id, name, status, "
	    "key_alg, key_ref, spki, subject, days, created_at, updated_at) "
	    "VALUES (1, 'root', 'active', 'ec-256', 'file:x', x'00', 'CN=R', "
	    "10, 'now', 'now'), (?, 'root', 'active', 'ec-256', 'file:y', "
	    "x'00', 'CN=R', 10, 'now', 'now')", "i", realm_b), 0, "CA rows");
	add_template(&web, 1, 1, "web", 1, 1);
	add_template(&other, 1, 1, "other", 0, 1);
	add_template(&off, 1, 1, "off", 1, 0);
	add_template(&web_b, realm_b, 2, "web", 1, 1);
	add_domain(1, "example.com", 1);
	add_domain(1, "x.example.com", 1);
	add_domain(1, "old.test", 0);		/* disabled: covers nothing */
	add_domain(realm_b, "other.test", 1);	/* realm B only */

	test_rules();
	test_builtin();
	test_enforce();
	test_approval();
	test_storage();

	tmpl_free(&web);
	tmpl_free(&other);
	tmpl_free(&off);
	tmpl_free(&web_b);
	db_close(db);
	buf_reset(&path);
	buf_printf(&path, "rm -rf %s", dir);
	if (system(path.p) != 0)
		ok(0, "cleanup");
	buf_free(&path);
	err_free(&e);
	return tap_done();
}
