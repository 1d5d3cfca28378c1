/* policy - the policy engine and policy storage (see policy.h). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "clock.h"
#include "csr.h"
#include "domain.h"
#include "ident.h"
#include "keys.h"
#include "num.h"
#include "policy.h"
#include "x509.h"

#define DAYS_MAX	3650		/* as tmpl.c: leaf certificates */
#define NAME_MAX_LEN	64

/* ------------------------------------------------------------------ */
/* Rules and their values                                              */

enum kind { K_DAYS, K_SANS, K_ALGS, K_DIGEST, K_SWITCH };

static const struct rule_def {
	const char *name;
	enum kind kind;
} rule_defs[] = {
	{ "max-days", K_DAYS },
	{ "key-algs", K_ALGS },
	{ "digest", K_DIGEST },
	{ "max-sans", K_SANS },
	{ "wildcards", K_SWITCH },
	{ "ip-sans", K_SWITCH },
	{ "email-sans", K_SWITCH },
	{ "cn-required", K_SWITCH },
};
#define NRULES (sizeof rule_defs / sizeof rule_defs[0])

const char *
policy_rule_list(void)
{
	return "max-days, key-algs, digest, max-sans, wildcards, ip-sans, "
	    "email-sans, cn-required";
}

static const struct rule_def *
rule_def(const char *name)
{
	size_t i;

	for (i = 0; i < NRULES; i++)
		if (strcmp(rule_defs[i].name, name) == 0)
			return &rule_defs[i];
	return NULL;
}

int
policy_name_check(const char *name, struct err *e)
{
	return ident_check("policy", name, NAME_MAX_LEN, e);
}

static int
digest_ok(const char *d)
{
	return strcmp(d, "sha256") == 0 || strcmp(d, "sha384") == 0 ||
	    strcmp(d, "sha512") == 0;
}

/* Is item one of the comma list's entries? */
static int
in_list(const char *list, const char *item)
{
	size_t n = strlen(item);
	const char *p = list;

	while (p && *p) {
		if (strncmp(p, item, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	return 0;
}

/* A key-algs list: known names, no empty items; blanks dropped. */
static int
algs_norm(const char *v, char **out, struct err *e)
{
	struct buf b = {0}, item = {0};
	const char *p;
	int rc = 0;

	for (p = v; *p; p++)
		if (*p != ' ' && *p != '\t')
			buf_addc(&b, *p);
	if (b.len == 0) {
		rc = err_set(e, EX_DATAERR, "key-algs: at least one key type "
		    "(%s)", keys_alg_list());
		goto out;
	}
	for (p = b.p;; p++) {
		if (*p != ',' && *p != '\0') {
			buf_addc(&item, *p);
			continue;
		}
		if (item.len == 0) {
			rc = err_set(e, EX_DATAERR, "key-algs: empty item in "
			    "'%s'", v);
			goto out;
		}
		if (keys_alg(item.p) == NULL) {
			rc = err_set(e, EX_DATAERR, "key-algs: unknown key type "
			    "'%s' (%s)", item.p, keys_alg_list());
			goto out;
		}
		buf_reset(&item);
		if (*p == '\0')
			break;
	}
	if (out)
		*out = buf_steal(&b);
out:
	buf_free(&b);
	buf_free(&item);
	return rc;
}

/* on|off and the usual spellings, as template switches. */
static int
switch_norm(const char *rule, const char *v, char **out, struct err *e)
{
	static const char *const on[] = { "on", "yes", "true", "1" };
	static const char *const off[] = { "off", "no", "false", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcmp(v, on[i]) == 0 || strcmp(v, off[i]) == 0) {
			if (out)
				*out = xstrdup(strcmp(v, on[i]) == 0 ? "on" :
				    "off");
			return 0;
		}
	}
	return err_set(e, EX_DATAERR, "%s: '%s' is not on or off", rule, v);
}

int
policy_rule_norm(const char *rule, const char *value, char **out,
    struct err *e)
{
	const struct rule_def *d = rule_def(rule);
	struct buf b = {0};
	int64_t n;
	int rc;

	if (out)
		*out = NULL;
	if (d == NULL)
		return err_set(e, EX_DATAERR, "rule '%s': unknown (%s)", rule,
		    policy_rule_list());
	switch (d->kind) {
	case K_DAYS:
	case K_SANS:
		if ((rc = num_i64(rule, value, 1, d->kind == K_DAYS ? DAYS_MAX :
		    CSR_MAX_SANS, &n, e)) != 0)
			return rc;
		if (out) {
			buf_printf(&b, "%lld", (long long)n);
			*out = buf_steal(&b);
		}
		return 0;
	case K_ALGS:
		return algs_norm(value, out, e);
	case K_DIGEST:
		if (!digest_ok(value))
			return err_set(e, EX_DATAERR, "digest: '%s' is not "
			    "sha256, sha384 or sha512", value);
		if (out)
			*out = xstrdup(value);
		return 0;
	case K_SWITCH:
		return switch_norm(rule, value, out, e);
	}
	return err_set(e, EX_SOFTWARE, "rule '%s': no kind", rule);
}

/* ------------------------------------------------------------------ */
/* The stored policy                                                   */

static int
prefix(const struct policy *p, struct err *e)
{
	if (p->name)
		return err_prefix(e, "policy '%s'", p->name);
	return err_prefix(e, "policy");
}

int
policy_set_rule(struct policy *p, const char *rule, const char *value,
    const char *mode, struct err *e)
{
	char *norm = NULL;
	size_t i, j;
	int rc;

	if (strcmp(mode, "hard") != 0 && strcmp(mode, "soft") != 0) {
		err_set(e, EX_DATAERR, "rule mode '%s' is not hard or soft",
		    mode);
		return prefix(p, e);
	}
	for (i = 0; i < p->nrules; i++)
		if (strcmp(p->rules[i].rule, rule) == 0)
			break;
	if (*value == '\0') {
		/* an empty value removes the rule */
		if (rule_def(rule) == NULL)
			err_set(e, EX_DATAERR, "rule '%s': unknown (%s)", rule,
			    policy_rule_list());
		else if (i == p->nrules)
			err_set(e, EX_DATAERR, "rule '%s': not set, nothing to "
			    "remove", rule);
		else {
			free(p->rules[i].rule);
			free(p->rules[i].value);
			free(p->rules[i].mode);
			memmove(&p->rules[i], &p->rules[i + 1],
			    sizeof *p->rules * (p->nrules - i - 1));
			p->nrules--;
			return 0;
		}
		return prefix(p, e);
	}
	if ((rc = policy_rule_norm(rule, value, &norm, e)) != 0)
		return prefix(p, e);
	if (i < p->nrules) {
		free(p->rules[i].value);
		free(p->rules[i].mode);
	} else {
		/* keep the rules sorted by name: stable output, and the
		 * order the engine reports them in */
		p->rules = xrealloc(p->rules, sizeof *p->rules *
		    (p->nrules + 1));
		for (i = 0; i < p->nrules; i++)
			if (strcmp(p->rules[i].rule, rule) > 0)
				break;
		for (j = p->nrules; j > i; j--)
			p->rules[j] = p->rules[j - 1];
		p->nrules++;
		p->rules[i].rule = xstrdup(rule);
	}
	p->rules[i].value = norm;
	p->rules[i].mode = xstrdup(mode);
	return 0;
}

int
policy_set_approval(struct policy *p, const char *mode, struct err *e)
{
	if (strcmp(mode, "automatic") != 0 && strcmp(mode, "manual") != 0 &&
	    strcmp(mode, "four-eyes") != 0) {
		err_set(e, EX_DATAERR, "approval: '%s' is not automatic, manual "
		    "or four-eyes", mode);
		return prefix(p, e);
	}
	free(p->approval);
	p->approval = xstrdup(mode);
	return 0;
}

/* The enforceable fields, in the order canonical text lists them. */
#define NFIELDS 5
static const char *const field_names[NFIELDS] = { "O", "OU", "C", "ST", "L" };

static void
subject_fields(const struct x509_subject *s, const char *out[NFIELDS])
{
	out[0] = s->o;
	out[1] = s->ou;
	out[2] = s->c;
	out[3] = s->st;
	out[4] = s->l;
}

int
policy_set_enforce(struct policy *p, const char *subject, struct err *e)
{
	struct x509_subject s;
	const char *v[NFIELDS];
	struct buf b = {0};
	char *store = NULL;
	size_t i;
	int rc = 0;

	if (*subject == '\0') {
		free(p->enforce);
		p->enforce = NULL;
		return 0;
	}
	if ((rc = x509_subject_parse(subject, &s, &store, e)) != 0) {
		err_prefix(e, "enforce");
		goto out;
	}
	if (s.cn != NULL) {
		rc = err_set(e, EX_DATAERR, "enforce: CN cannot be enforced "
		    "(the request names it); O, OU, C, ST, L can");
		goto out;
	}
	subject_fields(&s, v);
	for (i = 0; i < NFIELDS; i++)
		if (v[i])
			buf_printf(&b, "%s%s=%s", b.len ? "," : "",
			    field_names[i], v[i]);
	free(p->enforce);
	p->enforce = buf_steal(&b);
out:
	free(store);
	buf_free(&b);
	if (rc != 0)
		prefix(p, e);
	return rc;
}

static int
put_rules(struct db *db, const struct policy *p, struct err *e)
{
	size_t i;
	int rc;

	for (i = 0; i < p->nrules; i++)
		if ((rc = db_exec(db, e, "INSERT INTO policy_rules (policy_id, "
		    "rule, value, mode) VALUES (?, ?, ?, ?)", "ittt", p->id,
		    p->rules[i].rule, p->rules[i].value, p->rules[i].mode)) != 0)
			return rc;
	return 0;
}

int
policy_insert(struct db *db, struct policy *p, struct err *e)
{
	struct buf now = {0};
	int rc;

	clock_fmt(&now, clock_now());
	/* NULLIF: template_id 0 is stored as NULL, "every template" */
	rc = db_exec(db, e, "INSERT INTO policies (realm_id, name, "
	    "template_id, approval, enforce, created_at, updated_at) VALUES "
	    "(?, ?, NULLIF(?, 0), ?, ?, ?, ?)", "ititttt", p->realm_id,
	    p->name, p->template_id, p->approval ? p->approval : "automatic",
	    p->enforce, now.p, now.p);
	buf_free(&now);
	if (rc != 0)
		return rc;
	p->id = db_last_id(db);
	return put_rules(db, p, e);
}

int
policy_update(struct db *db, const struct policy *p, struct err *e)
{
	struct buf now = {0};
	int rc;

	clock_fmt(&now, clock_now());
	rc = db_exec(db, e, "UPDATE policies SET template_id = NULLIF(?, 0), "
	    "approval = ?, enforce = ?, updated_at = ? WHERE id = ?", "ittti",
	    p->template_id, p->approval, p->enforce, now.p, p->id);
	buf_free(&now);
	if (rc != 0 || (rc = db_exec(db, e, "DELETE FROM policy_rules WHERE "
	    "policy_id = ?", "i", p->id)) != 0)
		return rc;
	return put_rules(db, p, e);
}

int
policy_delete(struct db *db, int64_t id, struct err *e)
{
	int rc;

	/* explicit, not only ON DELETE CASCADE: correct even on a
	 * connection without foreign keys */
	if ((rc = db_exec(db, e, "DELETE FROM policy_rules WHERE policy_id = "
	    "?", "i", id)) != 0)
		return rc;
	return db_exec(db, e, "DELETE FROM policies WHERE id = ?", "i", id);
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int
load_rules(struct db *db, struct policy *p, struct err *e)
{
	struct db_stmt *st = NULL;
	struct policy_rule *r;
	int rc;

	if ((rc = db_prep(db, &st, e, "SELECT rule, value, mode FROM "
	    "policy_rules WHERE policy_id = ? ORDER BY rule", "i", p->id)) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1) {
		p->rules = xrealloc(p->rules, sizeof *p->rules *
		    (p->nrules + 1));
		r = &p->rules[p->nrules++];
		r->rule = xstrdup(db_text(st, 0));
		r->value = xstrdup(db_text(st, 1));
		r->mode = xstrdup(db_text(st, 2));
	}
	db_finish(st);
	return rc < 0 ? e->code : 0;
}

#define POLICY_COLS "p.id, p.realm_id, p.name, p.template_id, t.name, " \
	"p.approval, p.enforce, p.created_at, p.updated_at FROM policies p " \
	"LEFT JOIN templates t ON t.id = p.template_id"

static void
fill_row(struct db_stmt *st, struct policy *p)
{
	p->id = db_int(st, 0);
	p->realm_id = db_int(st, 1);
	p->name = xstrdup(db_text(st, 2));
	p->template_id = db_isnull(st, 3) ? 0 : db_int(st, 3);
	p->template_name = dup_or_null(db_text(st, 4));
	p->approval = xstrdup(db_text(st, 5));
	p->enforce = dup_or_null(db_text(st, 6));
	p->created_at = xstrdup(db_text(st, 7));
	p->updated_at = xstrdup(db_text(st, 8));
}

int
policy_load(struct db *db, int64_t realm, const char *name,
    struct policy *p, struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	memset(p, 0, sizeof *p);
	if ((rc = db_prep(db, &st, e, "SELECT " POLICY_COLS " WHERE "
	    "p.realm_id = ? AND p.name = ?", "it", realm, name)) != 0)
		return rc;
	rc = db_step(st, e);
	if (rc == 1)
		fill_row(st, p);
	db_finish(st);
	if (rc < 0)
		return e->code;
	if (rc == 0)
		return err_set(e, EX_NOINPUT, "policy '%s': no such policy in "
		    "the realm", name);
	return load_rules(db, p, e);
}

/* The policies that apply to a template, sorted by name. */
static int
load_applicable(struct db *db, int64_t realm, int64_t tmpl_id,
    struct policy **out, size_t *n, struct err *e)
{
	struct db_stmt *st = NULL;
	struct policy *ps = NULL;
	size_t i, k = 0;
	int rc;

	if ((rc = db_prep(db, &st, e, "SELECT " POLICY_COLS " WHERE "
	    "p.realm_id = ? AND (p.template_id IS NULL OR p.template_id = ?) "
	    "ORDER BY p.name", "ii", realm, tmpl_id)) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1) {
		ps = xrealloc(ps, sizeof *ps * (k + 1));
		memset(&ps[k], 0, sizeof *ps);
		fill_row(st, &ps[k++]);
	}
	db_finish(st);
	rc = rc < 0 ? e->code : 0;
	for (i = 0; rc == 0 && i < k; i++)
		rc = load_rules(db, &ps[i], e);
	*out = ps;
	*n = k;
	return rc;
}

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++) {
		free(p->rules[i].rule);
		free(p->rules[i].value);
		free(p->rules[i].mode);
	}
	free(p->rules);
	free(p->name);
	free(p->template_name);
	free(p->approval);
	free(p->enforce);
	free(p->created_at);
	free(p->updated_at);
	memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------ */
/* The engine                                                          */

const char *
policy_outcome_name(int outcome)
{
	switch (outcome) {
	case POLICY_PASS:
		return "pass";
	case POLICY_SOFT_FAIL:
		return "soft-fail";
	case POLICY_HOLD:
		return "hold";
	case POLICY_FAIL:
		return "fail";
	}
	return "?";
}

static const char *const approvals[] = { "automatic", "manual", "four-eyes" };

static int
approval_rank(const char *a)
{
	int i;

	for (i = 2; i > 0; i--)
		if (strcmp(a, approvals[i]) == 0)
			return i;
	return 0;
}

__attribute__((format(printf, 6, 7)))
static void
line(struct policy_verdict *v, const char *policy, const char *rule,
    const char *mode, int ok, const char *fmt, ...)
{
	struct policy_line *l;
	struct buf b = {0};
	size_t np, nr, nm;
	char *p;
	va_list ap;

	/* a rule kept is only news to --explain and `policy check`: its
	 * line, formatted and allocated, was some 7% of check-policy's
	 * instructions per certificate */
	if (ok && v->brief)
		return;
	np = strlen(policy) + 1;
	nr = strlen(rule) + 1;
	nm = strlen(mode) + 1;
	/* the four strings of a line in one block, after its why (which
	 * policy_verdict_free frees); the array grows by doubling */
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (v->nlines == 0 || (v->nlines >= 8 &&
	    (v->nlines & (v->nlines - 1)) == 0))
		v->lines = xrealloc(v->lines, sizeof *v->lines *
		    (v->nlines ? 2 * v->nlines : 8));
	l = &v->lines[v->nlines++];
	buf_addc(&b, '\0');
	buf_add(&b, policy, np);
	buf_add(&b, rule, nr);
	buf_add(&b, mode, nm);
	p = buf_steal(&b);
	l->why = p;
	l->policy = p + strlen(p) + 1;
	l->rule = l->policy + np;
	l->mode = l->rule + nr;
	l->ok = ok;
}

#define BUILTIN "builtin"
#define HARD "hard"

/* The names the certificate will carry, sorted by kind. */
struct names {
	char **dns;		/* normalized, distinct, CN included */
	size_t ndns;
	size_t nip, nemail, nwild;
	size_t total;		/* SAN entries, a copied-in CN included */
	int cn_ip;		/* the CN is an IP address */
};

static void
names_free(struct names *n)
{
	size_t i;

	for (i = 0; i < n->ndns; i++)
		free(n->dns[i]);
	free(n->dns);
}

static void
add_dns(struct names *n, char *name)
{
	size_t i;

	for (i = 0; i < n->ndns; i++)
		if (strcmp(n->dns[i], name) == 0) {
			free(name);
			return;
		}
	if (strncmp(name, "*.", 2) == 0)
		n->nwild++;
	n->dns = xrealloc(n->dns, sizeof *n->dns * (n->ndns + 1));
	n->dns[n->ndns++] = name;
}

static int
is_ip(const char *s)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, s, addr) == 1 ||
	    inet_pton(AF_INET6, s, addr) == 1;
}

/* A normalized copy of a DNS name, or NULL (why in e) when it is none. */
static char *
dns_norm(const char *s, struct err *e)
{
	char *copy = xstrdup(s);

	if (domain_normalize(copy, 1, e) != 0) {
		free(copy);
		return NULL;
	}
	return copy;
}

/* Sort the SANs and the CN into names; malformed SANs are violations. */
static void
collect(const struct policy_facts *f, struct policy_verdict *v,
    struct names *n)
{
	struct err e = {0};
	const char *s, *at;
	char *d;
	size_t i;
	int found;

	for (i = 0; i < f->nsan; i++) {
		s = f->san[i];
		if (strncmp(s, "DNS:", 4) == 0) {
			if ((d = dns_norm(s + 4, &e)) == NULL)
				line(v, BUILTIN, "san", HARD, 0, "%s: %s", s,
				    err_str(&e));
			else
				add_dns(n, d);
		} else if (strncmp(s, "IP:", 3) == 0) {
			if (!is_ip(s + 3))
				line(v, BUILTIN, "san", HARD, 0, "%s: not an "
				    "IPv4 or IPv6 address", s);
			n->nip++;
		} else if (strncmp(s, "email:", 6) == 0) {
			at = strchr(s + 6, '@');
			if (at == NULL || at == s + 6 || at[1] == '\0')
				line(v, BUILTIN, "san", HARD, 0, "%s: not an "
				    "address local@domain", s);
			n->nemail++;
		} else if (strncmp(s, "URI:", 4) == 0) {
			if (s[4] == '\0')
				line(v, BUILTIN, "san", HARD, 0, "%s: empty URI",
				    s);
		} else
			line(v, BUILTIN, "san", HARD, 0, "%s: not DNS:, IP:, "
			    "email: or URI:", s);
		n->total++;
	}
	if (f->cn == NULL || *f->cn == '\0')
		goto out;
	/* the CN is copied into the SAN when it is a host name or an
	 * address (issue.c): judge it like one */
	if (is_ip(f->cn)) {
		n->cn_ip = 1;
		for (found = 0, i = 0; i < f->nsan; i++)
			if (strncmp(f->san[i], "IP:", 3) == 0 &&
			    strcmp(f->san[i] + 3, f->cn) == 0)
				found = 1;
		if (!found) {
			n->nip++;
			n->total++;
		}
	} else if (strchr(f->cn, '.') && (d = dns_norm(f->cn, &e)) != NULL) {
		for (found = 0, i = 0; i < f->nsan; i++)
			if (strncmp(f->san[i], "DNS:", 4) == 0 &&
			    strcasecmp(f->san[i] + 4, d) == 0)
				found = 1;
		if (!found)
			n->total++;
		add_dns(n, d);
	}
out:
	err_free(&e);
}

static int
check_domains(struct db *db, const struct policy_facts *f,
    struct policy_verdict *v, const struct names *n, struct err *e)
{
	char *apex = NULL;
	size_t i;
	int r;

	for (i = 0; i < n->ndns; i++) {
		if ((r = domain_apex(db, f->realm_id, n->dns[i], &apex, e)) < 0)
			return e->code;
		if (r == 1)
			line(v, BUILTIN, "domain", HARD, 1, "%s: covered by %s",
			    n->dns[i], apex);
		else
			line(v, BUILTIN, "domain", HARD, 0, "%s: not covered by "
			    "an enabled domain of the realm", n->dns[i]);
		free(apex);
		apex = NULL;
	}
	return 0;
}

/* The key type judged: the request's, or the template's first. */
static void
eff_alg(const struct policy_facts *f, struct buf *out)
{
	const char *p;

	buf_reset(out);
	if (f->key_alg) {
		buf_adds(out, f->key_alg);
		return;
	}
	for (p = f->tmpl->key_algs; p && *p && *p != ','; p++)
		buf_addc(out, *p);
}

static void
check_builtin(const struct policy_facts *f, struct policy_verdict *v,
    const struct names *n, const char *alg)
{
	const struct tmpl *t = f->tmpl;

	if (t->realm_id != f->realm_id)
		line(v, BUILTIN, "template", HARD, 0, "template %s belongs to "
		    "another realm", t->name);
	else
		line(v, BUILTIN, "template", HARD, t->enabled, "template %s is "
		    "%s", t->name, t->enabled ? "enabled" : "disabled");
	if (n->nip == 0)
		line(v, BUILTIN, "allow-ip", HARD, 1, "no IP addresses");
	else
		line(v, BUILTIN, "allow-ip", HARD, t->allow_ip, "%zu IP "
		    "address%s, template %s allow-ip %s", n->nip,
		    n->nip == 1 ? "" : "es", t->name, t->allow_ip ? "on" :
		    "off");
	if (f->key_alg == NULL && strcmp(f->path, "csr") == 0)
		line(v, BUILTIN, "key-algs", HARD, 0, "the request names no "
		    "key type");
	else
		line(v, BUILTIN, "key-algs", HARD, in_list(t->key_algs, alg),
		    "%s%s %s template %s's %s", alg, f->key_alg ? "" :
		    " (default)", in_list(t->key_algs, alg) ? "is one of" :
		    "is not one of", t->name, t->key_algs);
	if (f->digest == NULL)
		line(v, BUILTIN, "digest", HARD, 1, "template %s's %s",
		    t->name, t->digest);
	else
		line(v, BUILTIN, "digest", HARD, strcmp(f->digest, t->digest)
		    == 0, "requested %s, template %s signs with %s", f->digest,
		    t->name, t->digest);
	if (f->days == 0)
		line(v, BUILTIN, "max-days", HARD, 1, "default %lld days, "
		    "template %s max-days %lld", (long long)t->days, t->name,
		    (long long)t->max_days);
	else
		line(v, BUILTIN, "max-days", HARD, f->days <= t->max_days,
		    "requested %lld days, template %s max-days %lld",
		    (long long)f->days, t->name, (long long)t->max_days);
}

/* A number stored by policy_set_rule; 0 when it is somehow not one. */
static int64_t
stored_num(const char *s, int64_t max)
{
	struct err e = {0};
	int64_t n = 0;

	if (num_i64("rule", s, 1, max, &n, &e) != 0)
		n = 0;
	err_free(&e);
	return n;
}

static void
check_rule(const struct policy_facts *f, struct policy_verdict *v,
    const struct names *n, const char *alg, const char *digest,
    const struct policy *p, const struct policy_rule *r)
{
	const struct rule_def *d = rule_def(r->rule);
	const char *pn = p->name, *rn = r->rule, *m = r->mode;
	int64_t cap = 0, def;
	int on;

	if (d == NULL) {
		/* written by a newer certpipe: fail closed */
		line(v, pn, rn, HARD, 0, "unknown rule (this build knows %s)",
		    policy_rule_list());
		return;
	}
	on = strcmp(r->value, "on") == 0;
	switch (d->kind) {
	case K_DAYS:
		if ((cap = stored_num(r->value, DAYS_MAX)) == 0) {
			line(v, pn, rn, HARD, 0, "bad stored value '%s'",
			    r->value);
			break;
		}
		if (f->days > 0) {
			line(v, pn, rn, m, f->days <= cap, "requested %lld days, "
			    "policy cap %lld", (long long)f->days,
			    (long long)cap);
			break;
		}
		def = v->days ? v->days : f->tmpl->days;
		if (def > cap) {
			v->days = cap;
			line(v, pn, rn, m, 1, "default %lld days capped to %lld",
			    (long long)def, (long long)cap);
		} else
			line(v, pn, rn, m, 1, "default %lld days, policy cap "
			    "%lld", (long long)def, (long long)cap);
		break;
	case K_SANS:
		cap = stored_num(r->value, CSR_MAX_SANS);
		line(v, pn, rn, m, cap > 0 && (int64_t)n->total <= cap,
		    "%zu subject alternative name%s, at most %s", n->total,
		    n->total == 1 ? "" : "s", r->value);
		break;
	case K_ALGS:
		line(v, pn, rn, m, in_list(r->value, alg), "%s %s %s",
		    *alg ? alg : "(none)", in_list(r->value, alg) ?
		    "is one of" : "is not one of", r->value);
		break;
	case K_DIGEST:
		line(v, pn, rn, m, strcmp(digest, r->value) == 0, "digest %s, "
		    "policy locks %s", digest, r->value);
		break;
	case K_SWITCH:
		if (strcmp(rn, "cn-required") == 0)
			line(v, pn, rn, m, !on || (f->cn && *f->cn), "%s",
			    f->cn && *f->cn ? "the request has a CN" :
			    "the request has no CN");
		else if (strcmp(rn, "wildcards") == 0)
			line(v, pn, rn, m, on || n->nwild == 0, "%zu wildcard "
			    "name%s, wildcards %s", n->nwild,
			    n->nwild == 1 ? "" : "s", r->value);
		else if (strcmp(rn, "ip-sans") == 0)
			line(v, pn, rn, m, on || n->nip == 0, "%zu IP "
			    "address%s, ip-sans %s", n->nip,
			    n->nip == 1 ? "" : "es", r->value);
		else
			line(v, pn, rn, m, on || n->nemail == 0, "%zu email "
			    "address%s, email-sans %s", n->nemail,
			    n->nemail == 1 ? "" : "es", r->value);
		break;
	}
}

static void
add_fill(struct policy_verdict *v, const char *field, const char *val)
{
	struct buf b = {0};
	size_t i;

	buf_printf(&b, "%s=%s", field, val);
	for (i = 0; i < v->nfill; i++)
		if (strcmp(v->fill[i], b.p) == 0) {
			buf_free(&b);
			return;
		}
	v->fill = xrealloc(v->fill, sizeof *v->fill * (v->nfill + 1));
	v->fill[v->nfill++] = buf_steal(&b);
}

/* Enforced subject values: fill in (automated) or require (csr). want
 * and who carry what earlier policies enforced, to find conflicts. */
static void
check_enforce(const struct policy_facts *f, struct policy_verdict *v,
    const struct policy *p, char *want[NFIELDS], const char *who[NFIELDS])
{
	const char *have[NFIELDS] = { f->o, f->ou, f->c, f->st, f->l };
	const char *val[NFIELDS];
	struct x509_subject s;
	struct err e = {0};
	char *store = NULL;
	int automated = strcmp(f->path, "automated") == 0;
	size_t i;

	if (x509_subject_parse(p->enforce, &s, &store, &e) != 0) {
		line(v, p->name, "enforce", HARD, 0, "bad stored value: %s",
		    err_str(&e));
		goto out;
	}
	subject_fields(&s, val);
	for (i = 0; i < NFIELDS; i++) {
		if (val[i] == NULL)
			continue;
		if (want[i] && strcmp(want[i], val[i]) != 0) {
			line(v, p->name, "enforce", HARD, 0, "%s=%s conflicts "
			    "with %s=%s of policy %s", field_names[i], val[i],
			    field_names[i], want[i], who[i]);
			continue;
		}
		if (want[i] == NULL) {
			want[i] = xstrdup(val[i]);
			who[i] = p->name;
		}
		if (have[i] && strcmp(have[i], val[i]) == 0)
			line(v, p->name, "enforce", HARD, 1, "%s=%s as "
			    "requested", field_names[i], val[i]);
		else if (automated) {
			add_fill(v, field_names[i], val[i]);
			if (have[i])
				line(v, p->name, "enforce", HARD, 1, "%s=%s "
				    "filled in (the request had %s=%s)",
				    field_names[i], val[i], field_names[i],
				    have[i]);
			else
				line(v, p->name, "enforce", HARD, 1, "%s=%s "
				    "filled in", field_names[i], val[i]);
		} else if (have[i])
			line(v, p->name, "enforce", HARD, 0, "%s=%s required, "
			    "the CSR has %s=%s", field_names[i], val[i],
			    field_names[i], have[i]);
		else
			line(v, p->name, "enforce", HARD, 0, "%s=%s required, "
			    "the CSR has no %s", field_names[i], val[i],
			    field_names[i]);
	}
out:
	free(store);
	err_free(&e);
}

int
policy_check(struct db *db, const struct policy_facts *f,
    struct policy_verdict *v, struct err *e)
{
	struct policy *ps = NULL;
	struct names n = {0};
	struct buf alg = {0};
	char *want[NFIELDS] = {0};
	const char *who[NFIELDS] = {0};
	const char *digest;
	size_t i, j, np = 0;
	int rc, rank = 0, hard = 0, soft = 0;

	memset(v, 0, sizeof *v);
	v->approval = approvals[0];
	v->brief = f->brief;
	if (f->tmpl == NULL)
		return err_set(e, EX_SOFTWARE, "policy check: no template");
	if (f->path == NULL || (strcmp(f->path, "csr") != 0 &&
	    strcmp(f->path, "automated") != 0))
		return err_set(e, EX_DATAERR, "policy check: path '%s' is not "
		    "csr or automated", f->path ? f->path : "");
	if (f->days < 0)
		return err_set(e, EX_DATAERR, "policy check: days %lld is out "
		    "of range", (long long)f->days);
	v->days = f->days;
	eff_alg(f, &alg);
	digest = f->digest ? f->digest : f->tmpl->digest;

	collect(f, v, &n);
	check_builtin(f, v, &n, buf_str(&alg));
	if ((rc = check_domains(db, f, v, &n, e)) != 0 ||
	    (rc = load_applicable(db, f->realm_id, f->tmpl->id, &ps, &np, e))
	    != 0)
		goto out;
	for (i = 0; i < np; i++) {
		if (approval_rank(ps[i].approval) > rank)
			rank = approval_rank(ps[i].approval);
		for (j = 0; j < ps[i].nrules; j++)
			check_rule(f, v, &n, buf_str(&alg), digest, &ps[i],
			    &ps[i].rules[j]);
		if (ps[i].enforce)
			check_enforce(f, v, &ps[i], want, who);
		line(v, ps[i].name, "approval", HARD, 1, "%s", ps[i].approval);
	}
	v->approval = approvals[rank];
	for (i = 0; i < v->nlines; i++)
		if (!v->lines[i].ok) {
			if (strcmp(v->lines[i].mode, "soft") == 0)
				soft++;
			else
				hard++;
		}
	if (hard)
		v->outcome = POLICY_FAIL;
	else if (rank > 0)
		v->outcome = POLICY_HOLD;
	else if (soft)
		v->outcome = POLICY_SOFT_FAIL;
	else
		v->outcome = POLICY_PASS;
	rc = 0;
out:
	for (i = 0; i < np; i++)
		policy_free(&ps[i]);
	free(ps);
	for (i = 0; i < NFIELDS; i++)
		free(want[i]);
	names_free(&n);
	buf_free(&alg);
	if (rc != 0)
		policy_verdict_free(v);
	return rc;
}

void
policy_verdict_text(const struct policy_verdict *v, struct buf *out)
{
	const struct policy_line *l;
	size_t i;

	buf_printf(out, "%-20s %-12s %-4s %-6s %s\n", "POLICY", "RULE", "MODE",
	    "RESULT", "WHY");
	for (i = 0; i < v->nlines; i++) {
		l = &v->lines[i];
		buf_printf(out, "%-20s %-12s %-4s %-6s %s\n", l->policy, l->rule,
		    l->mode, l->ok ? "ok" : strcmp(l->mode, "soft") == 0 ?
		    "warn" : "FAIL", l->why);
	}
	for (i = 0; i < v->nfill; i++)
		buf_printf(out, "fill: %s\n", v->fill[i]);
	if (v->days)
		buf_printf(out, "days: %lld\n", (long long)v->days);
	buf_printf(out, "approval: %s\noutcome: %s\n", v->approval,
	    policy_outcome_name(v->outcome));
}

void
policy_verdict_free(struct policy_verdict *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->nfill; i++)
		free(v->fill[i]);
	free(v->fill);
	/* a line's strings are one block (line) */
	for (i = 0; i < v->nlines; i++)
		free(v->lines[i].why);
	free(v->lines);
	memset(v, 0, sizeof *v);
	v->approval = approvals[0];
}
