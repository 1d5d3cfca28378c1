/*
 * policy - the policy engine: judges one certificate request (its facts)
 * against the built-in checks and the realm's policies, and says what
 * happens to it: pass, soft-fail (issue with warnings), hold (issue after
 * approval) or fail. It also stores policies (tables policies and
 * policy_rules, migration 2).
 *
 * A policy belongs to one realm and applies to one template of it, or to
 * every template when it names none. It has an approval mode, subject
 * values it enforces, and rules, each hard (a violation fails the
 * request) or soft (a violation is a warning). Rules and values:
 *     max-days N        validity cap, 1..3650
 *     key-algs LIST     locked key types (keys_alg names)
 *     digest D          locked digest: sha256 | sha384 | sha512
 *     max-sans N        subjectAltName entries, the copied CN included
 *     wildcards on|off  "*." DNS names
 *     ip-sans on|off    IP address SANs (on never overrides the
 *     email-sans on|off template's allow-ip: rules only restrict)
 *     cn-required on|off
 * on|off also accept yes/no, true/false, 1/0 and are stored as on|off.
 *
 * The built-in checks (policy "builtin", always hard):
 *     template    the template is enabled and of the request's realm
 *     domain      every DNS SAN, and a CN that looks like a DNS name
 *                 (it has a dot), is covered by an enabled domain of the
 *                 realm; "*.x" is covered when x is; one line per name
 *     allow-ip    IP SANs (and an IP address CN) only with allow-ip on
 *     san         every SAN is DNS:, IP:, email: or URI: and well formed
 *     key-algs    the key type is one of the template's
 *     digest      an explicitly requested digest is the template's
 *     max-days    an explicit request above the template's max-days is a
 *                 violation; the default (days 0) never is
 *
 * Effective values: days 0 means the template's default validity; a NULL
 * key_alg means the template's first key-alg (what the automated path
 * generates); a NULL digest means the template's digest. A policy's
 * max-days is checked like the template's: an explicit request above it
 * violates the rule; a default above it is not a violation but is capped
 * (verdict.days), so the signer issues what the policy allows.
 *
 * Enforced subject values ("O=Acme,C=DE"; CN cannot be enforced): on the
 * automated path the values go to verdict.fill for the signer to set
 * (they replace what the request asked for); on the CSR path a missing
 * or different value is a hard violation. Two policies enforcing
 * different values for one field is a hard violation on both paths.
 *
 * Approval: the strictest mode of the applying policies (automatic <
 * manual < four-eyes); "automatic" when none applies.
 *
 * Outcome: any hard violation: FAIL; else approval needed: HOLD (soft
 * violations stay in the lines as warnings); else soft violations:
 * SOFT_FAIL; else PASS.
 *
 * Contract: 0 or a sysexits code with e filled. policy_check returns
 * non-zero only when it cannot judge (database error, facts that are not
 * facts: no template, negative days, unknown path); violations are
 * verdicts, not errors. The verdict owns its strings;
 * policy_verdict_free and policy_free take NULL and zeroed structs.
 * policy_load returns EX_NOINPUT for an unknown name.
 */
#ifndef CERTPIPE_POLICY_H
#define CERTPIPE_POLICY_H
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "db.h"
#include "tmpl.h"

/* What a request asks for. Strings are borrowed. */
struct policy_facts {
	const char *path;		/* "csr" | "automated" */
	const char *cn;			/* NULL: none */
	const char *const *san;		/* "DNS:x","IP:x","email:x","URI:x" */
	size_t nsan;
	const char *o, *ou, *c, *st, *l;	/* NULL: absent */
	const char *key_alg;		/* keys_alg name; NULL: see above */
	const char *digest;		/* NULL: the template's */
	int64_t days;			/* requested, 0 = default */
	const struct tmpl *tmpl;
	int64_t realm_id;
	int brief;			/* lines only for broken rules: for a
					   caller that prints no table */
};

#define POLICY_PASS		0
#define POLICY_SOFT_FAIL	1
#define POLICY_HOLD		2
#define POLICY_FAIL		3

/* One rule's result: what check-policy --explain prints. */
struct policy_line {
	char *policy;		/* policy name, or "builtin" */
	char *rule;		/* "max-days", "domain", "enforce", ... */
	char *mode;		/* "hard" | "soft" */
	int ok;
	char *why;		/* one line */
};

struct policy_verdict {
	int outcome;		/* POLICY_* */
	const char *approval;	/* "automatic" | "manual" | "four-eyes"
				   (static) */
	char **fill;		/* "O=Acme": subject values the signer sets
				   (automated path only) */
	size_t nfill;
	int64_t days;		/* validity the signer uses: the request's,
				   or the default capped by policies;
				   0 = the template's default */
	struct policy_line *lines;	/* with facts.brief, only those
					   not ok */
	size_t nlines;
	int brief;			/* facts.brief */
};

int policy_check(struct db *db, const struct policy_facts *f,
    struct policy_verdict *v, struct err *e);
void policy_verdict_free(struct policy_verdict *v);
/* The verdict as the table `policy check` and `check-policy --explain`
 * print: one line per rule, then fill, days, approval and outcome. */
void policy_verdict_text(const struct policy_verdict *v, struct buf *out);
/* "pass", "soft-fail", "hold", "fail". */
const char *policy_outcome_name(int outcome);

/* A stored policy. */
struct policy_rule {
	char *rule, *value, *mode;
};

struct policy {
	int64_t id, realm_id;
	char *name;
	int64_t template_id;		/* 0: every template of the realm */
	char *template_name;		/* filled by policy_load; NULL: every */
	char *approval;
	char *enforce;			/* NULL: none */
	char *created_at, *updated_at;	/* filled by policy_load */
	struct policy_rule *rules;	/* sorted by rule name */
	size_t nrules;
};

/* "max-days, key-algs, ..." for messages and help. */
const char *policy_rule_list(void);
/* Policy names: 1..64 of A-Z a-z 0-9 . _ -, see ident.h. */
int policy_name_check(const char *name, struct err *e);
/* Validate rule=value and store its canonical value in *out (malloc'd;
 * out may be NULL to validate only). EX_DATAERR when bad. */
int policy_rule_norm(const char *rule, const char *value, char **out,
    struct err *e);
/* Setters validate. value "" removes the rule; mode "hard" | "soft". */
int policy_set_rule(struct policy *p, const char *rule, const char *value,
    const char *mode, struct err *e);
int policy_set_approval(struct policy *p, const char *mode, struct err *e);
/* "" clears. */
int policy_set_enforce(struct policy *p, const char *subject, struct err *e);

int policy_insert(struct db *db, struct policy *p, struct err *e); /* id */
/* Rewrites the row and all its rules. */
int policy_update(struct db *db, const struct policy *p, struct err *e);
int policy_delete(struct db *db, int64_t id, struct err *e);
int policy_load(struct db *db, int64_t realm, const char *name,
    struct policy *p, struct err *e);
void policy_free(struct policy *p);

#endif
