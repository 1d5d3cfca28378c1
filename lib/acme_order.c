/*
 * acme_order - orders, authorizations, challenges, finalize and the
 * certificate (RFC 8555 7.1.3-7.1.6, 7.4, 7.5, 8), and the state
 * machine of acme_order.h.
 *
 * Invariants: an account gets names only its policy's realm has (an
 * enabled registered domain covers every identifier, and the policy's
 * template passes it through the policy engine); every object is read
 * and changed only through its account; a challenge is validated only by
 * the scheduler's dcv run (this file queues the job and never connects
 * anywhere); a certificate is issued only by the pipeline (finalize
 * queues a job for parse-csr | check-policy | sign). Every state change
 * writes its audit event in the same transaction.
 */
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>
#include "acme_int.h"
#include "acme_order.h"
#include "audit.h"
#include "clock.h"
#include "csr.h"
#include "domain.h"
#include "order.h"
#include "policy.h"
#include "rec.h"
#include "spool.h"
#include "tmpl.h"

#define MAX_IDENTS      100		/* CSR_MAX_SANS */
#define POLL_NS         2000000L	/* finalize: 2 ms naps */
#define TOKEN_BYTES     32

/* One identifier of a new order: value as in the order ("*.x" or "x"),
 * base without the "*.". */
struct ident {
	char *value;
	const char *base;
	int wild;
	int64_t authz;			/* its authorization's row */
};

static void
rand_hex(struct buf *out, size_t n)
{
	unsigned char r[16];
	size_t i;

	if (n > sizeof r || RAND_bytes(r, (int)n) != 1)
		abort();	/* no randomness: nothing safe to go on with */
	buf_reset(out);
	for (i = 0; i < n; i++)
		buf_printf(out, "%02x", r[i]);
}

static void
url_of(const struct acme *a, const char *kind, const char *name,
    struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s/acme/%s/%s", a->base, kind, name);
}

/* A problem document as JSON text (the caller frees it). */
static char *
problem_text(const char *type, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *
problem_text(const char *type, const char *fmt, ...)
{
	struct buf d = {0};
	va_list ap;
	json_t *o;
	char *s;

	va_start(ap, fmt);
	buf_vprintf(&d, fmt, ap);
	va_end(ap);
	o = json_pack("{s:s,s:s}", "type", type, "detail", buf_str(&d));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	buf_free(&d);
	return s;
}

/* ------------------------------------------------------------------ */
/* the state machine (acme_order.h)                                    */

static int
set_order(struct db *db, int64_t id, const char *status, const char *error,
    const char *now, struct err *e)
{
	return db_exec(db, e, "UPDATE acme_orders SET status = ?, error = "
	    "coalesce(?, error), updated_at = ? WHERE id = ?", "ttti", status,
	    error, now, id);
}

/* A pending order whose authorizations are all valid is ready; one with
 * an authorization gone bad is invalid, with that authz's challenge
 * error as its subproblem. */
static int
from_authz(struct db *db, int64_t id, const char *now, struct err *e)
{
	struct db_stmt *st = NULL;
	int64_t total = 0, valid = 0;
	json_t *sub = NULL;
	char *err = NULL;
	int rc, row;

	if ((rc = db_exec(db, e, "UPDATE acme_authz SET status = 'expired', "
	    "updated_at = ? WHERE status IN ('pending', 'valid') AND "
	    "expires_at < ? AND id IN (SELECT authz_id FROM acme_order_authz "
	    "WHERE order_id = ?)", "tti", now, now, id)) != 0)
		return rc;
	if ((rc = db_prep(db, &st, e, "SELECT a.status, a.identifier, "
	    "a.wildcard, (SELECT c.error FROM acme_challenges c WHERE "
	    "c.authz_id = a.id AND c.status = 'invalid' LIMIT 1) FROM "
	    "acme_authz a JOIN acme_order_authz oa ON oa.authz_id = a.id "
	    "WHERE oa.order_id = ? ORDER BY a.identifier", "i", id)) != 0)
		return rc;
	while ((row = db_step(st, e)) == 1) {
		const char *s = db_text(st, 0);
		json_t *p;

		total++;
		if (strcmp(s, "valid") == 0) {
			valid++;
			continue;
		}
		if (strcmp(s, "pending") == 0 || sub != NULL)
			continue;
		p = db_text(st, 3) ? json_loads(db_text(st, 3), 0, NULL) : NULL;
		if (!json_is_object(p)) {
			json_decref(p);
			p = json_pack("{s:s}", "type", ACME_ERR "unauthorized");
		}
		json_object_set_new(p, "detail", json_sprintf("authorization "
		    "for %s%s is %s%s%s", db_int(st, 2) ? "*." : "",
		    db_text(st, 1), s, json_string_value(json_object_get(p,
		    "detail")) ? ": " : "", json_string_value(
		    json_object_get(p, "detail")) ? json_string_value(
		    json_object_get(p, "detail")) : ""));
		json_object_set_new(p, "identifier", json_pack("{s:s,s:s%}",
		    "type", "dns", "value", db_text(st, 1),
		    strlen(db_text(st, 1))));
		sub = p;
	}
	db_finish(st);
	if (row < 0) {
		json_decref(sub);
		return e->code;
	}
	if (sub != NULL) {
		json_t *o = json_pack("{s:s,s:s,s:[O]}", "type", ACME_ERR
		    "unauthorized", "detail", "an authorization of the order "
		    "failed", "subproblems", sub);

		err = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		json_decref(sub);
		rc = set_order(db, id, "invalid", err, now, e);
	} else if (total > 0 && valid == total)
		rc = set_order(db, id, "ready", NULL, now, e);
	free(err);
	return rc;
}

/* A processing order follows its pipeline order. */
static int
from_pipeline(struct db *db, int64_t id, int64_t pid, const char *now,
    struct err *e)
{
	struct db_stmt *st = NULL;
	char *err = NULL;
	int rc, row;

	if ((rc = db_prep(db, &st, e, "SELECT o.status, o.error, (SELECT "
	    "c.id FROM certificates c WHERE c.order_id = o.id) FROM orders o "
	    "WHERE o.id = ?", "i", pid)) != 0)
		return rc;
	if ((row = db_step(st, e)) < 0)
		rc = e->code;
	else if (row == 0)
		rc = err_set(e, EX_SOFTWARE, "acme order %lld: its pipeline "
		    "order is gone", (long long)id);
	else if (strcmp(db_text(st, 0), "complete") == 0 && db_int(st, 2))
		rc = db_exec(db, e, "UPDATE acme_orders SET status = 'valid', "
		    "cert_id = ?, updated_at = ? WHERE id = ?", "iti",
		    db_int(st, 2), now, id);
	else if (strcmp(db_text(st, 0), "failed") == 0) {
		err = problem_text(ACME_ERR "unauthorized", "the request was "
		    "refused: %s", db_text(st, 1) ? db_text(st, 1) : "failed");
		rc = set_order(db, id, "invalid", err, now, e);
	}
	db_finish(st);
	free(err);
	return rc;
}

int
acme_order_refresh(struct db *db, int64_t id, struct err *e)
{
	struct db_stmt *st = NULL;
	struct buf now = {0};
	char *status = NULL, *err = NULL;
	int64_t pid = 0;
	int rc, row, expired = 0;

	clock_fmt(&now, clock_now());
	if ((rc = db_prep(db, &st, e, "SELECT status, expires_at < ?, "
	    "order_id FROM acme_orders WHERE id = ?", "ti", now.p, id)) != 0)
		goto out;
	if ((row = db_step(st, e)) == 1) {
		status = xstrdup(db_text(st, 0));
		expired = (int)db_int(st, 1);
		pid = db_int(st, 2);
	}
	db_finish(st);
	if (row <= 0) {
		rc = row < 0 ? e->code : err_set(e, EX_NOINPUT, "no such order");
		goto out;
	}
	if ((strcmp(status, "pending") == 0 || strcmp(status, "ready") == 0)
	    && expired) {
		err = problem_text(ACME_ERR "unauthorized", "the order "
		    "expired before it was finalized");
		rc = set_order(db, id, "invalid", err, now.p, e);
	} else if (strcmp(status, "pending") == 0 ||
	    strcmp(status, "ready") == 0)
		/* a ready order whose authz was deactivated or expired
		 * goes invalid too */
		rc = from_authz(db, id, now.p, e);
	else if (strcmp(status, "processing") == 0 && pid != 0)
		rc = from_pipeline(db, id, pid, now.p, e);
out:
	free(status);
	free(err);
	buf_free(&now);
	return rc;
}

/* Every pending or ready order of authz: refreshed. */
static int
refresh_orders_of(struct db *db, int64_t authz, struct err *e)
{
	struct db_stmt *st = NULL;
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc, row;

	if ((rc = db_prep(db, &st, e, "SELECT o.id FROM acme_orders o JOIN "
	    "acme_order_authz oa ON oa.order_id = o.id WHERE oa.authz_id = ? "
	    "AND o.status IN ('pending', 'ready')", "i", authz)) != 0)
		return rc;
	while ((row = db_step(st, e)) == 1) {
		ids = xrealloc(ids, (n + 1) * sizeof *ids);
		ids[n++] = db_int(st, 0);
	}
	db_finish(st);
	rc = row < 0 ? e->code : 0;
	for (i = 0; i < n && rc == 0; i++)
		rc = acme_order_refresh(db, ids[i], e);
	free(ids);
	return rc;
}

int
acme_chall_apply(struct db *db, const char *realm, const char *type,
    const char *token, const char *problem, const char *actor,
    int *applied, struct err *e)
{
	struct db_stmt *st = NULL;
	struct buf now = {0}, exp = {0}, obj = {0}, det = {0};
	struct audit_ev ev;
	int64_t cid = 0, aid = 0;
	char *astatus = NULL;
	json_t *pj = NULL;
	int rc, row, waiting = 0;

	if (applied)
		*applied = 0;
	clock_fmt(&now, clock_now());
	clock_fmt(&exp, clock_now() + ACME_AUTHZ_TTL);
	if ((rc = db_prep(db, &st, e, "SELECT c.id, c.status, c.name, a.id, "
	    "a.status, a.identifier, a.wildcard FROM acme_challenges c JOIN "
	    "acme_authz a ON a.id = c.authz_id JOIN realms r ON r.id = "
	    "a.realm_id WHERE c.token = ? AND c.type = ? AND r.name = ?",
	    "ttt", token, type, realm)) != 0)
		goto out;
	if ((row = db_step(st, e)) == 1) {
		cid = db_int(st, 0);
		waiting = strcmp(db_text(st, 1), "pending") == 0 ||
		    strcmp(db_text(st, 1), "processing") == 0;
		buf_printf(&obj, "acme-challenge:%s", db_text(st, 2));
		aid = db_int(st, 3);
		astatus = xstrdup(db_text(st, 4));
		pj = problem ? json_loads(problem, 0, NULL) : NULL;
		buf_printf(&det, "%s %s%s: %s", type, db_int(st, 6) ? "*." : "",
		    db_text(st, 5), problem == NULL ? "valid" :
		    json_string_value(json_object_get(pj, "detail")) ?
		    json_string_value(json_object_get(pj, "detail")) :
		    "invalid");
	}
	db_finish(st);
	if (row <= 0) {
		rc = row < 0 ? e->code : err_set(e, EX_NOINPUT, "%s challenge "
		    "with token %.64s: no such challenge in realm %s", type,
		    token, realm);
		goto out;
	}
	if (!waiting)
		goto out;
	if ((rc = db_exec(db, e, "UPDATE acme_challenges SET status = ?, "
	    "validated_at = ?, error = ?, updated_at = ? WHERE id = ?",
	    "tttti", problem ? "invalid" : "valid", problem ? NULL : now.p,
	    problem, now.p, cid)) != 0)
		goto out;
	if (strcmp(astatus, "pending") == 0 && (rc = db_exec(db, e,
	    "UPDATE acme_authz SET status = ?, expires_at = CASE WHEN ? = "
	    "'valid' THEN ? ELSE expires_at END, updated_at = ? WHERE id = ?",
	    "tttti", problem ? "invalid" : "valid",
	    problem ? "invalid" : "valid", exp.p, now.p, aid)) != 0)
		goto out;
	if ((rc = refresh_orders_of(db, aid, e)) != 0)
		goto out;
	ev = (struct audit_ev){ problem ? "acme.challenge.invalid" :
	    "acme.challenge.valid", actor, realm, obj.p, problem ?
	    "failure" : "success", det.p };
	if ((rc = audit_log(db, &ev, e)) == 0 && applied)
		*applied = 1;
out:
	json_decref(pj);
	free(astatus);
	buf_free(&now);
	buf_free(&exp);
	buf_free(&obj);
	buf_free(&det);
	return rc;
}

/* ------------------------------------------------------------------ */
/* reading objects                                                     */

/* Run refresh for an order in its own transaction. */
static int
refresh_tx(struct db *db, int64_t id, struct err *e)
{
	int rc;

	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = acme_order_refresh(db, id, e)) == 0)
		rc = db_commit(db, e);
	if (rc != 0)
		db_rollback(db);
	return rc;
}

/* The order of this account named name: its row id; 0 when none. */
static int
order_find(struct acme_ctx *x, const char *name, int64_t *id,
    struct err *e)
{
	int rc;

	*id = 0;
	rc = db_int64(x->a->db, id, e, "SELECT coalesce((SELECT id FROM "
	    "acme_orders WHERE name = ? AND account_id = ?), 0)", "ti", name,
	    x->acct.id);
	return rc;
}

/* The order object (7.1.3). */
static int
order_obj(struct acme_ctx *x, int64_t id, json_t **out, char **status,
    struct err *e)
{
	struct db_stmt *st = NULL;
	struct buf u = {0};
	json_t *o = NULL, *az;
	int rc, row;

	*out = NULL;
	if ((rc = db_prep(x->a->db, &st, e, "SELECT name, status, "
	    "expires_at, identifiers, not_before, not_after, error, cert_id "
	    "FROM acme_orders WHERE id = ?", "i", id)) != 0)
		return rc;
	if ((row = db_step(st, e)) != 1) {
		db_finish(st);
		return row < 0 ? e->code : err_set(e, EX_NOINPUT, "no order");
	}
	o = json_pack("{s:s,s:s,s:o}", "status", db_text(st, 1), "expires",
	    db_text(st, 2), "identifiers", json_loads(db_text(st, 3), 0, NULL));
	if (status)
		*status = xstrdup(db_text(st, 1));
	if (db_text(st, 4))
		json_object_set_new(o, "notBefore", json_string(db_text(st, 4)));
	if (db_text(st, 5))
		json_object_set_new(o, "notAfter", json_string(db_text(st, 5)));
	if (db_text(st, 6))
		json_object_set_new(o, "error", json_loads(db_text(st, 6), 0,
		    NULL));
	url_of(x->a, "order", db_text(st, 0), &u);
	buf_adds(&u, "/finalize");
	json_object_set_new(o, "finalize", json_string(u.p));
	if (strcmp(db_text(st, 1), "valid") == 0 && db_int(st, 7)) {
		url_of(x->a, "cert", db_text(st, 0), &u);
		json_object_set_new(o, "certificate", json_string(u.p));
	}
	db_finish(st);
	az = json_array();
	json_object_set_new(o, "authorizations", az);
	if ((rc = db_prep(x->a->db, &st, e, "SELECT a.name FROM acme_authz a "
	    "JOIN acme_order_authz oa ON oa.authz_id = a.id WHERE "
	    "oa.order_id = ? ORDER BY a.id", "i", id)) == 0) {
		while ((row = db_step(st, e)) == 1) {
			url_of(x->a, "authz", db_text(st, 0), &u);
			json_array_append_new(az, json_string(u.p));
		}
		rc = row < 0 ? e->code : 0;
	}
	db_finish(st);
	buf_free(&u);
	if (rc != 0)
		json_decref(o);
	else
		*out = o;
	return rc;
}

/* Answer with order id (status given), its URL as Location. */
static int
order_answer(struct acme_ctx *x, int status, int64_t id, const char *name)
{
	struct buf u = {0};
	struct err e = {0};
	json_t *o;
	char *s = NULL;
	int st;

	if (order_obj(x, id, &o, &s, &e) != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	url_of(x->a, "order", name, &u);
	http_resp_header(x->rs, "Location", "%s", u.p);
	if (strcmp(s, "processing") == 0)
		http_resp_header(x->rs, "Retry-After", "1");
	st = acme_json(x, status, o);
out:
	free(s);
	buf_free(&u);
	err_free(&e);
	return st;
}

/* ------------------------------------------------------------------ */
/* newOrder (7.4)                                                      */

static void
idents_free(struct ident *ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i].value);
	free(ids);
}

static int
ident_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ident *)a)->value,
	    ((const struct ident *)b)->value);
}

/* The identifiers of a newOrder payload: DNS names, "*." only as the
 * whole leftmost label, normalized, sorted, duplicates dropped. 0 with
 * *out, or the status of the problem answered. */
static int
idents_parse(struct acme_ctx *x, struct ident **out, size_t *nout)
{
	json_t *arr = json_object_get(x->payload, "identifiers"), *v;
	struct ident *ids = NULL;
	struct err e = {0};
	size_t i, n = 0, k;
	const char *type, *val;
	int st = 0;

	*out = NULL;
	*nout = 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > MAX_IDENTS)
		return acme_problem(x, 400, ACME_ERR "malformed", "identifiers "
		    "must be an array of 1 to %d identifiers", MAX_IDENTS);
	ids = xcalloc(json_array_size(arr), sizeof *ids);
	json_array_foreach(arr, i, v) {
		type = json_string_value(json_object_get(v, "type"));
		val = json_string_value(json_object_get(v, "value"));
		if (type == NULL || val == NULL) {
			st = acme_problem(x, 400, ACME_ERR "malformed",
			    "identifier %zu: needs a type and a value", i);
			break;
		}
		if (strcmp(type, "dns") != 0) {
			st = acme_problem(x, 400, ACME_ERR
			    "unsupportedIdentifier", "identifier %zu: only dns "
			    "identifiers are supported", i);
			break;
		}
		ids[n].value = xstrdup(val);
		if (strlen(val) > 255 || domain_normalize(ids[n].value, 1,
		    &e) != 0) {
			st = acme_problem(x, 400, ACME_ERR "rejectedIdentifier",
			    "identifier %zu: %s", i, e.code ? err_str(&e) :
			    "too long");
			n++;
			break;
		}
		ids[n].wild = strncmp(ids[n].value, "*.", 2) == 0;
		ids[n].base = ids[n].value + (ids[n].wild ? 2 : 0);
		n++;
	}
	err_free(&e);
	if (st != 0) {
		idents_free(ids, n);
		return st;
	}
	qsort(ids, n, sizeof *ids, ident_cmp);
	for (i = k = 0; i < n; i++) {
		if (k > 0 && strcmp(ids[k - 1].value, ids[i].value) == 0) {
			free(ids[i].value);
			continue;
		}
		ids[k++] = ids[i];
	}
	*out = ids;
	*nout = k;
	return 0;
}

static json_t *
subproblem(const char *value, const char *detail)
{
	return json_pack("{s:s,s:s,s:{s:s,s:s}}", "type", ACME_ERR
	    "rejectedIdentifier", "detail", detail, "identifier", "type",
	    "dns", "value", value);
}

/* Does this account's policy allow every identifier: an enabled
 * registered domain of its realm covers it, and the policy engine passes
 * it under the policy's template? 0, or the status of the problem
 * answered (rejectedIdentifier with one subproblem per refused name). */
static int
idents_allowed(struct acme_ctx *x, const struct ident *ids, size_t n,
    const struct tmpl *t)
{
	struct policy_verdict v;
	struct policy_facts f;
	struct buf san = {0}, d = {0}, alg = {0};
	struct err e = {0};
	const char *sans[1];
	json_t *subs = json_array(), *o;
	size_t i, j;
	int st = 0, cov;

	/* the names are judged here, the key at finalize: any key type
	 * the template allows */
	buf_add(&alg, t->key_algs, strcspn(t->key_algs, ","));
	for (i = 0; i < n && st == 0; i++) {
		if ((cov = domain_covers(x->a->db, x->acct.realm_id,
		    ids[i].value, &e)) < 0) {
			st = acme_internal(x, &e);
			break;
		}
		if (!cov) {
			buf_reset(&d);
			buf_printf(&d, "%s is not a registered domain of this "
			    "account's realm", ids[i].value);
			json_array_append_new(subs, subproblem(ids[i].value,
			    d.p));
			continue;
		}
		buf_reset(&san);
		buf_printf(&san, "DNS:%s", ids[i].value);
		sans[0] = san.p;
		memset(&f, 0, sizeof f);
		memset(&v, 0, sizeof v);
		f.path = "csr";
		f.san = sans;
		f.nsan = 1;
		f.tmpl = t;
		f.key_alg = alg.p;
		f.realm_id = x->acct.realm_id;
		f.brief = 1;	/* only the hard failures are reported */
		if (policy_check(x->a->db, &f, &v, &e) != 0) {
			st = acme_internal(x, &e);
			break;
		}
		if (v.outcome == POLICY_FAIL) {
			buf_reset(&d);
			buf_printf(&d, "%s: refused by the policy", ids[i].value);
			for (j = 0; j < v.nlines; j++)
				if (!v.lines[j].ok &&
				    strcmp(v.lines[j].mode, "hard") == 0) {
					buf_reset(&d);
					buf_printf(&d, "%s: %s %s: %s",
					    ids[i].value, v.lines[j].policy,
					    v.lines[j].rule, v.lines[j].why);
					break;
				}
			json_array_append_new(subs, subproblem(ids[i].value,
			    d.p));
		}
		policy_verdict_free(&v);
	}
	if (st == 0 && json_array_size(subs) > 0) {
		o = json_pack("{s:s,s:s,s:i,s:O}", "type", ACME_ERR
		    "rejectedIdentifier", "detail", json_array_size(subs) == 1 ?
		    json_string_value(json_object_get(json_array_get(subs, 0),
		    "detail")) : "identifiers this account may not have a "
		    "certificate for", "status", 403, "subproblems", subs);
		st = acme_json(x, 403, o);
		x->rs->content_type = "application/problem+json";
	}
	json_decref(subs);
	buf_free(&san);
	buf_free(&alg);
	buf_free(&d);
	err_free(&e);
	return st;
}

/* notBefore/notAfter (7.4): RFC 3339, notAfter in the future and after
 * notBefore. 0, or the status of the problem answered. */
static int
validity(struct acme_ctx *x, const char **nb, const char **na)
{
	json_t *b = json_object_get(x->payload, "notBefore");
	json_t *a = json_object_get(x->payload, "notAfter");
	struct err e = {0};
	time_t tb = 0, ta = 0;
	int st = 0;

	*nb = json_string_value(b);
	*na = json_string_value(a);
	if ((b && *nb == NULL) || (a && *na == NULL) ||
	    (*nb && clock_parse("notBefore", *nb, &tb, &e) != 0) ||
	    (*na && clock_parse("notAfter", *na, &ta, &e) != 0))
		st = acme_problem(x, 400, ACME_ERR "malformed", "%s",
		    e.code ? err_str(&e) : "notBefore/notAfter: not strings");
	else if (*na && ta <= clock_now())
		st = acme_problem(x, 400, ACME_ERR "malformed",
		    "notAfter is in the past");
	else if (*nb && *na && ta <= tb)
		st = acme_problem(x, 400, ACME_ERR "malformed",
		    "notAfter is not after notBefore");
	else if (*nb && tb > clock_now() + 86400)
		st = acme_problem(x, 400, ACME_ERR "malformed",
		    "notBefore more than a day ahead is not supported");
	err_free(&e);
	return st;
}

/* Is name (as in the order) pre-approved by one of the policy's domains:
 * the same name, or "*.D" when name is below D? */
static int
preapproved(const char *name, char *const *dom, size_t n)
{
	size_t i, ln = strlen(name), ld;

	for (i = 0; i < n; i++) {
		if (strcmp(dom[i], name) == 0)
			return 1;
		ld = strlen(dom[i]);
		if (strncmp(dom[i], "*.", 2) == 0 && ln > ld - 1 &&
		    strcmp(name + ln - (ld - 1), dom[i] + 1) == 0)
			return 1;
	}
	return 0;
}

static int
policy_domains(struct db *db, int64_t policy, char ***out, size_t *n,
    struct err *e)
{
	struct db_stmt *st = NULL;
	int rc, row;

	*out = NULL;
	*n = 0;
	if ((rc = db_prep(db, &st, e, "SELECT domain FROM acme_policy_domains "
	    "WHERE policy_id = ?", "i", policy)) != 0)
		return rc;
	while ((row = db_step(st, e)) == 1) {
		*out = xrealloc(*out, (*n + 1) * sizeof **out);
		(*out)[(*n)++] = xstrdup(db_text(st, 0));
	}
	db_finish(st);
	return row < 0 ? e->code : 0;
}

/* A new pending authz with its challenges (dns-01 only for a wildcard),
 * or a valid one when pre-approved. */
static int
authz_new(struct acme_ctx *x, struct ident *id, int pre, const char *now,
    struct err *e)
{
	static const char *const types[] = { "http-01", "dns-01" };
	unsigned char r[TOKEN_BYTES];
	struct buf name = {0}, exp = {0}, tok = {0};
	size_t i;
	int rc;

	rand_hex(&name, 12);
	clock_fmt(&exp, clock_now() + (pre ? ACME_AUTHZ_TTL : ACME_ORDER_TTL));
	if ((rc = db_exec(x->a->db, e, "INSERT INTO acme_authz (name, "
	    "account_id, realm_id, identifier, wildcard, preapproved, status, "
	    "expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?)", "tiitiitttt", name.p, x->acct.id, x->acct.realm_id,
	    id->base, (int64_t)id->wild, (int64_t)pre, pre ? "valid" :
	    "pending", exp.p, now, now)) != 0)
		goto out;
	id->authz = db_last_id(x->a->db);
	for (i = id->wild ? 1 : 0; !pre && i < 2 && rc == 0; i++) {
		if (RAND_bytes(r, sizeof r) != 1) {
			rc = err_ssl(e, EX_SOFTWARE, "challenge token");
			break;
		}
		buf_reset(&tok);
		b64u_encode(r, sizeof r, &tok);
		rand_hex(&name, 12);
		rc = db_exec(x->a->db, e, "INSERT INTO acme_challenges (name, "
		    "authz_id, type, token, status, created_at, updated_at) "
		    "VALUES (?, ?, ?, ?, 'pending', ?, ?)", "titttt", name.p,
		    id->authz, types[i], tok.p, now, now);
	}
out:
	buf_free(&name);
	buf_free(&exp);
	buf_free(&tok);
	return rc;
}

/* The order, its authorizations (reused while valid, else new) and the
 * audit event, in the caller's transaction. */
static int
order_insert(struct acme_ctx *x, struct ident *ids, size_t n,
    const char *nb, const char *na, const char *replaces, struct buf *oname,
    int64_t *oid, struct err *e)
{
	struct buf now = {0}, exp = {0}, obj = {0}, det = {0};
	struct audit_ev ev;
	char **dom = NULL;
	json_t *idj = json_array();
	char *idtext = NULL;
	size_t i, ndom = 0, nvalid = 0, npre = 0, nreuse = 0;
	int rc, pre;

	clock_fmt(&now, clock_now());
	clock_fmt(&exp, clock_now() + ACME_ORDER_TTL);
	if ((rc = policy_domains(x->a->db, x->acct.policy_id, &dom, &ndom,
	    e)) != 0)
		goto out;
	for (i = 0; i < n && rc == 0; i++) {
		json_array_append_new(idj, json_pack("{s:s,s:s}", "type", "dns",
		    "value", ids[i].value));
		/* an authz the account proved still holds this name */
		if ((rc = db_int64(x->a->db, &ids[i].authz, e, "SELECT "
		    "coalesce((SELECT id FROM acme_authz WHERE account_id = ? "
		    "AND identifier = ? AND wildcard = ? AND status = 'valid' "
		    "AND expires_at > ? ORDER BY expires_at DESC LIMIT 1), 0)",
		    "itit", x->acct.id, ids[i].base, (int64_t)ids[i].wild,
		    exp.p)) != 0)
			break;
		if (ids[i].authz) {
			nvalid++;
			nreuse++;
			continue;
		}
		pre = preapproved(ids[i].value, dom, ndom);
		nvalid += pre;
		npre += pre;
		rc = authz_new(x, &ids[i], pre, now.p, e);
	}
	if (rc != 0)
		goto out;
	idtext = json_dumps(idj, JSON_COMPACT);
	rand_hex(oname, 12);
	if ((rc = db_exec(x->a->db, e, "INSERT INTO acme_orders (name, "
	    "account_id, realm_id, status, identifiers, not_before, "
	    "not_after, expires_at, replaces, created_at, updated_at) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "tiitttttttt", oname->p,
	    x->acct.id, x->acct.realm_id, nvalid == n ? "ready" : "pending",
	    idtext, nb, na, exp.p, replaces, now.p, now.p)) != 0)
		goto out;
	*oid = db_last_id(x->a->db);
	for (i = 0; i < n && rc == 0; i++)
		rc = db_exec(x->a->db, e, "INSERT OR IGNORE INTO "
		    "acme_order_authz (order_id, authz_id) VALUES (?, ?)", "ii",
		    *oid, ids[i].authz);
	if (rc != 0)
		goto out;
	buf_printf(&obj, "acme-order:%s", oname->p);
	buf_printf(&det, "account %s: %s (%zu pre-approved, %zu reused)",
	    x->acct.name, idtext, npre, nreuse);
	ev = (struct audit_ev){ "acme.order.created", "acme", x->acct.realm,
	    obj.p, "success", det.p };
	rc = audit_log(x->a->db, &ev, e);
out:
	for (i = 0; i < ndom; i++)
		free(dom[i]);
	free(dom);
	json_decref(idj);
	free(idtext);
	buf_free(&now);
	buf_free(&exp);
	buf_free(&obj);
	buf_free(&det);
	return rc;
}

/* The template of the account's policy; 0, or the problem's status. */
static int
policy_tmpl(struct acme_ctx *x, struct tmpl *t)
{
	struct err e = {0};
	int64_t tid = 0;
	int st = 0;

	if (db_int64(x->a->db, &tid, &e, "SELECT coalesce((SELECT "
	    "template_id FROM acme_policies WHERE id = ?), 0)", "i",
	    x->acct.policy_id) != 0 || (tid != 0 && tmpl_load_id(x->a->db,
	    tid, t, &e) != 0))
		st = acme_internal(x, &e);
	else if (tid == 0 || !t->enabled)
		st = acme_problem(x, 403, ACME_ERR "unauthorized", "the "
		    "account's ACME policy has no usable template");
	err_free(&e);
	return st;
}

static int
new_order(struct acme_ctx *x)
{
	struct ident *ids = NULL;
	struct tmpl t = {0};
	struct buf name = {0};
	struct err e = {0};
	const char *nb, *na, *replaces = NULL;
	json_t *rj, *idj;
	size_t n = 0;
	int64_t oid = 0, replaced = 0;
	int st, intx = 0;

	if (x->payload == NULL) {
		st = acme_problem(x, 400, ACME_ERR "malformed", "newOrder "
		    "needs a payload");
		goto out;
	}
	/* every identifier is checked here, before anything is stored:
	 * syntax, then what the account's policy allows */
	if ((st = idents_parse(x, &ids, &n)) != 0 ||
	    (st = validity(x, &nb, &na)) != 0 ||
	    (st = policy_tmpl(x, &t)) != 0 ||
	    (st = idents_allowed(x, ids, n, &t)) != 0)
		goto out;
	rj = json_object_get(x->payload, "replaces");
	if (rj != NULL && (!json_is_string(rj) ||
	    (replaces = json_string_value(rj))[0] == '\0')) {
		st = acme_problem(x, 400, ACME_ERR "malformed", "replaces: "
		    "want a CertID string");
		goto out;
	}
	if (db_begin(x->a->db, &e) != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	intx = 1;
	/* counted and checked in the transaction that adds the order, so
	 * two requests at once cannot both pass (lib/acme_rate.c,
	 * lib/acme_ari.c: RFC 9773 section 5) */
	idj = json_object_get(x->payload, "identifiers");
	if ((st = acme_rate_order(x, idj)) != 0 || (replaces != NULL &&
	    (st = acme_ari_replaces(x, replaces, x->acct.id, idj,
	    &replaced)) != 0))
		goto out;
	if (order_insert(x, ids, n, nb, na, replaces, &name, &oid, &e) != 0 ||
	    db_commit(x->a->db, &e) != 0) {
		st = acme_internal(x, &e);
		goto out;
	}
	intx = 0;
	st = order_answer(x, 201, oid, name.p);
out:
	if (intx)
		db_rollback(x->a->db);
	idents_free(ids, n);
	tmpl_free(&t);
	buf_free(&name);
	err_free(&e);
	return st;
}

/* ------------------------------------------------------------------ */
/* orders, authorizations, challenges                                   */

static int
get_order(struct acme_ctx *x, const char *name)
{
	struct err e = {0};
	int64_t id;
	int st;

	if (order_find(x, name, &id, &e) != 0 || (id && refresh_tx(x->a->db,
	    id, &e) != 0))
		st = acme_internal(x, &e);
	else if (id == 0)
		st = acme_problem(x, 404, ACME_ERR "malformed", "no such order");
	else
		st = order_answer(x, 200, id, name);
	err_free(&e);
	return st;
}

int
acme_orders_list(struct acme_ctx *x)
{
	struct db_stmt *st = NULL;
	struct buf u = {0};
	struct err e = {0};
	json_t *a = json_array();
	int row;

	if (db_prep(x->a->db, &st, &e, "SELECT name FROM acme_orders WHERE "
	    "account_id = ? ORDER BY id DESC LIMIT 1000", "i",
	    x->acct.id) != 0) {
		json_decref(a);
		row = acme_internal(x, &e);
		goto out;
	}
	while ((row = db_step(st, &e)) == 1) {
		url_of(x->a, "order", db_text(st, 0), &u);
		json_array_append_new(a, json_string(u.p));
	}
	if (row < 0) {
		json_decref(a);
		row = acme_internal(x, &e);
		goto out;
	}
	row = acme_json(x, 200, json_pack("{s:o}", "orders", a));
out:
	db_finish(st);
	buf_free(&u);
	err_free(&e);
	return row;
}

/* The challenge object (8). */
static json_t *
chall_obj(const struct acme *a, struct db_stmt *st, int c0)
{
	struct buf u = {0};
	json_t *o;

	url_of(a, "chall", db_text(st, c0), &u);
	o = json_pack("{s:s,s:s,s:s,s:s}", "type", db_text(st, c0 + 1), "url",
	    u.p, "token", db_text(st, c0 + 2), "status", db_text(st, c0 + 3));
	if (db_text(st, c0 + 4))
		json_object_set_new(o, "validated", json_string(db_text(st,
		    c0 + 4)));
	if (db_text(st, c0 + 5))
		json_object_set_new(o, "error", json_loads(db_text(st, c0 + 5),
		    0, NULL));
	buf_free(&u);
	return o;
}

#define CHALL_COLS "c.name, c.type, c.token, c.status, c.validated_at, c.error"

/* The authz object (7.1.4) of row id. */
static int
authz_obj(struct acme_ctx *x, int64_t id, json_t **out, struct err *e)
{
	struct db_stmt *st = NULL;
	json_t *o, *ch;
	int rc, row;

	*out = NULL;
	if ((rc = db_prep(x->a->db, &st, e, "SELECT identifier, status, "
	    "expires_at, wildcard FROM acme_authz WHERE id = ?", "i", id)) != 0)
		return rc;
	if ((row = db_step(st, e)) != 1) {
		db_finish(st);
		return row < 0 ? e->code : err_set(e, EX_NOINPUT, "no authz");
	}
	o = json_pack("{s:{s:s,s:s},s:s,s:s}", "identifier", "type", "dns",
	    "value", db_text(st, 0), "status", db_text(st, 1), "expires",
	    db_text(st, 2));
	if (db_int(st, 3))
		json_object_set_new(o, "wildcard", json_true());
	db_finish(st);
	ch = json_array();
	json_object_set_new(o, "challenges", ch);
	if ((rc = db_prep(x->a->db, &st, e, "SELECT " CHALL_COLS " FROM "
	    "acme_challenges c WHERE c.authz_id = ? ORDER BY c.id", "i",
	    id)) == 0) {
		while ((row = db_step(st, e)) == 1)
			json_array_append_new(ch, chall_obj(x->a, st, 0));
		rc = row < 0 ? e->code : 0;
	}
	db_finish(st);
	if (rc != 0)
		json_decref(o);
	else
		*out = o;
	return rc;
}

/* Expire authz id if its time has passed; in a transaction of its own. */
static int
authz_expire(struct db *db, int64_t id, struct err *e)
{
	struct buf now = {0};
	int rc;

	clock_fmt(&now, clock_now());
	if ((rc = db_begin(db, e)) != 0)
		goto out;
	if ((rc = db_exec(db, e, "UPDATE acme_authz SET status = 'expired', "
	    "updated_at = ? WHERE id = ? AND status IN ('pending', 'valid') "
	    "AND expires_at < ?", "tit", now.p, id, now.p)) == 0 &&
	    db_changes(db) == 1)
		rc = refresh_orders_of(db, id, e);
	if (rc == 0)
		rc = db_commit(db, e);
	if (rc != 0)
		db_rollback(db);
out:
	buf_free(&now);
	return rc;
}

/* The client deactivates authz id (7.5.2): pending or valid only. */
static int
authz_deactivate(struct acme_ctx *x, int64_t id, const char *name)
{
	struct buf now = {0}, obj = {0};
	struct err e = {0};
	struct audit_ev ev;
	int st = 0, rc;

	clock_fmt(&now, clock_now());
	buf_printf(&obj, "acme-authz:%s", name);
	ev = (struct audit_ev){ "acme.authz.deactivated", "acme", x->acct.realm,
	    obj.p, "success", NULL };
	if ((rc = db_begin(x->a->db, &e)) != 0)
		goto out;
	if ((rc = db_exec(x->a->db, &e, "UPDATE acme_authz SET status = "
	    "'deactivated', updated_at = ? WHERE id = ? AND status IN "
	    "('pending', 'valid')", "ti", now.p, id)) == 0 &&
	    db_changes(x->a->db) != 1) {
		db_rollback(x->a->db);
		st = acme_problem(x, 403, ACME_ERR "unauthorized", "only a "
		    "pending or valid authorization can be deactivated");
		goto out;
	}
	if (rc == 0)
		rc = refresh_orders_of(x->a->db, id, &e);
	if (rc == 0)
		rc = audit_log(x->a->db, &ev, &e);
	if (rc == 0)
		rc = db_commit(x->a->db, &e);
	if (rc != 0)
		db_rollback(x->a->db);
out:
	if (rc != 0)
		st = acme_internal(x, &e);
	buf_free(&now);
	buf_free(&obj);
	err_free(&e);
	return st;
}

static int
authz(struct acme_ctx *x, const char *name)
{
	struct err e = {0};
	json_t *o = NULL, *s;
	int64_t id = 0;
	int st;

	if (db_int64(x->a->db, &id, &e, "SELECT coalesce((SELECT id FROM "
	    "acme_authz WHERE name = ? AND account_id = ?), 0)", "ti", name,
	    x->acct.id) != 0 || (id && authz_expire(x->a->db, id, &e) != 0)) {
		st = acme_internal(x, &e);
		goto out;
	}
	if (id == 0) {
		st = acme_problem(x, 404, ACME_ERR "malformed",
		    "no such authorization");
		goto out;
	}
	if (x->payload != NULL) {
		s = json_object_get(x->payload, "status");
		if (!json_is_string(s) || strcmp(json_string_value(s),
		    "deactivated") != 0) {
			st = acme_problem(x, 400, ACME_ERR "malformed", "a "
			    "client may only set status to \"deactivated\"");
			goto out;
		}
		if ((st = authz_deactivate(x, id, name)) != 0)
			goto out;
	}
	if (authz_obj(x, id, &o, &e) != 0)
		st = acme_internal(x, &e);
	else
		st = acme_json(x, 200, o);
out:
	err_free(&e);
	return st;
}

/* Queue the validation job of a challenge: the record dcv's filter mode
 * reads (Challenge-* headers), in queue/dcv, and poke the scheduler. */
static int
chall_queue(struct acme_ctx *x, const char *type, const char *ident,
    const char *token, struct err *e)
{
	struct spool *sp = NULL;
	struct buf ka = {0}, text = {0}, by = {0};
	struct rec *r = rec_new();
	int rc;

	buf_printf(&ka, "%s.%s", token, x->acct.thumb);
	buf_printf(&by, "acme:%s", x->acct.name);
	if ((rc = rec_add(r, "Type", "dcv", e)) != 0 ||
	    (rc = rec_add(r, "Source", "acme", e)) != 0 ||
	    (rc = rec_add(r, "Requested-By", by.p, e)) != 0 ||
	    (rc = rec_add(r, "Realm", x->acct.realm, e)) != 0 ||
	    (rc = rec_add(r, "Challenge-Type", type, e)) != 0 ||
	    (rc = rec_add(r, "Challenge-Name", ident, e)) != 0 ||
	    (rc = rec_add(r, "Challenge-Token", token, e)) != 0 ||
	    (rc = rec_add(r, "Challenge-Expect", ka.p, e)) != 0)
		goto out;
	rec_write(r, &text);
	if ((rc = spool_open(x->a->home, &sp, e)) == 0 &&
	    (rc = spool_put(sp, "dcv", rec_id(r), text.p, text.len, e)) == 0)
		spool_trigger_pull(sp);
out:
	spool_close(sp);
	rec_free(r);
	buf_free(&ka);
	buf_free(&text);
	buf_free(&by);
	return rc;
}

/* The client's response to a challenge (7.5.1): the job is queued first,
 * then the challenge marked processing, so a crash in between leaves a
 * job that dcv-apply still applies (it takes pending challenges too). */
static int
chall_respond(struct acme_ctx *x, int64_t cid, const char *name,
    const char *type, const char *ident, const char *token)
{
	struct buf now = {0}, obj = {0};
	struct err e = {0};
	struct audit_ev ev;
	int rc;

	clock_fmt(&now, clock_now());
	buf_printf(&obj, "acme-challenge:%s", name);
	ev = (struct audit_ev){ "acme.challenge.started", "acme",
	    x->acct.realm, obj.p, "success", ident };
	if ((rc = chall_queue(x, type, ident, token, &e)) != 0 ||
	    (rc = db_begin(x->a->db, &e)) != 0)
		goto out;
	if ((rc = db_exec(x->a->db, &e, "UPDATE acme_challenges SET status = "
	    "'processing', attempts = attempts + 1, updated_at = ? WHERE "
	    "id = ? AND status = 'pending'", "ti", now.p, cid)) == 0 &&
	    db_changes(x->a->db) == 1)
		rc = audit_log(x->a->db, &ev, &e);
	if (rc == 0)
		rc = db_commit(x->a->db, &e);
	if (rc != 0)
		db_rollback(x->a->db);
out:
	rc = rc ? acme_internal(x, &e) : 0;
	buf_free(&now);
	buf_free(&obj);
	err_free(&e);
	return rc;
}

static int
chall(struct acme_ctx *x, const char *name)
{
	struct db_stmt *st = NULL;
	struct buf u = {0};
	struct err e = {0};
	char *type = NULL, *ident = NULL, *token = NULL, *aname = NULL;
	int64_t cid = 0, aid = 0, apending = 0;
	int s = 0, row, start = 0;

	if (db_prep(x->a->db, &st, &e, "SELECT c.id, c.type, c.token, "
	    "c.status, a.id, a.identifier, a.status, a.name FROM "
	    "acme_challenges c JOIN acme_authz a ON a.id = c.authz_id WHERE "
	    "c.name = ? AND a.account_id = ?", "ti", name, x->acct.id) != 0 ||
	    (row = db_step(st, &e)) < 0) {
		s = acme_internal(x, &e);
		goto out;
	}
	if (row == 0) {
		s = acme_problem(x, 404, ACME_ERR "malformed",
		    "no such challenge");
		goto out;
	}
	cid = db_int(st, 0);
	aid = db_int(st, 4);
	type = xstrdup(db_text(st, 1));
	token = xstrdup(db_text(st, 2));
	ident = xstrdup(db_text(st, 5));
	aname = xstrdup(db_text(st, 7));
	start = x->payload != NULL && strcmp(db_text(st, 3), "pending") == 0;
	db_finish(st);
	st = NULL;
	/* only a pending, unexpired authz is validated */
	if (authz_expire(x->a->db, aid, &e) != 0 || db_int64(x->a->db,
	    &apending, &e, "SELECT status = 'pending' FROM acme_authz WHERE "
	    "id = ?", "i", aid) != 0) {
		s = acme_internal(x, &e);
		goto out;
	}
	start = start && apending;
	if (start && (s = chall_respond(x, cid, name, type, ident,
	    token)) != 0)
		goto out;
	if (db_prep(x->a->db, &st, &e, "SELECT " CHALL_COLS " FROM "
	    "acme_challenges c WHERE c.id = ?", "i", cid) != 0 ||
	    db_step(st, &e) != 1) {
		s = acme_internal(x, &e);
		goto out;
	}
	url_of(x->a, "authz", aname, &u);
	http_resp_header(x->rs, "Link", "<%s>;rel=\"up\"", u.p);
	s = acme_json(x, 200, chall_obj(x->a, st, 0));
out:
	db_finish(st);
	free(type);
	free(ident);
	free(token);
	free(aname);
	buf_free(&u);
	err_free(&e);
	return s;
}

/* ------------------------------------------------------------------ */
/* finalize (7.4) and the certificate (7.4.2)                          */

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Do the request's names (DNS SANs, and a CN) equal the order's
 * identifiers exactly? 0, or the status of the badCSR answered. */
static int
csr_names(struct acme_ctx *x, const struct csr *c, const char *idtext)
{
	json_t *ids = json_loads(idtext, 0, NULL), *v;
	char **want = NULL, **got = NULL;
	size_t nw = 0, ng = 0, i, k;
	int st = 0, cn_in = c->cn == NULL;

	json_array_foreach(ids, i, v) {
		want = xrealloc(want, (nw + 1) * sizeof *want);
		want[nw++] = xstrdup(json_string_value(json_object_get(v,
		    "value")));
	}
	for (i = 0; i < c->nsan; i++) {
		if (strncmp(c->san[i], "DNS:", 4) != 0) {
			st = acme_problem(x, 400, ACME_ERR "badCSR", "the CSR "
			    "asks for %.80s: only DNS names of the order",
			    c->san[i]);
			goto out;
		}
		got = xrealloc(got, (ng + 1) * sizeof *got);
		got[ng++] = xstrdup(c->san[i] + 4);
		if (c->cn && strcasecmp(c->cn, c->san[i] + 4) == 0)
			cn_in = 1;
	}
	if (!cn_in) {
		got = xrealloc(got, (ng + 1) * sizeof *got);
		got[ng] = xstrdup(c->cn);
		for (k = 0; got[ng][k]; k++)
			if (got[ng][k] >= 'A' && got[ng][k] <= 'Z')
				got[ng][k] += 'a' - 'A';
		ng++;
	}
	qsort(want, nw, sizeof *want, str_cmp);
	qsort(got, ng, sizeof *got, str_cmp);
	for (i = k = 0; i < ng; i++)	/* a name twice is one name */
		if (k == 0 || strcmp(got[k - 1], got[i]) != 0)
			got[k++] = got[i];
		else
			free(got[i]);
	ng = k;
	for (i = 0; i < ng && i < nw && strcmp(got[i], want[i]) == 0; i++)
		;
	if (i != ng || ng != nw)
		st = acme_problem(x, 400, ACME_ERR "badCSR", "the CSR's names "
		    "are not exactly the order's identifiers (first "
		    "difference: %.80s)", i < ng ? got[i] : i < nw ? want[i] :
		    "-");
out:
	for (i = 0; i < nw; i++)
		free(want[i]);
	for (i = 0; i < ng; i++)
		free(got[i]);
	free(want);
	free(got);
	json_decref(ids);
	return st;
}

/* The pipeline's job for the request c of an order. */
static int
job_record(struct acme_ctx *x, const struct csr *c, const char *tmpl,
    const char *not_after, struct rec **out, struct err *e)
{
	const struct { const char *name, *value; } f[] = {
		{ "CN", c->cn }, { "O", c->o }, { "OU", c->ou },
		{ "C", c->c }, { "ST", c->st }, { "L", c->l },
	};
	struct buf by = {0}, days = {0};
	struct rec *r = rec_new();
	time_t na;
	size_t i;
	int rc;

	buf_printf(&by, "acme:%s", x->acct.name);
	if ((rc = rec_add(r, "Type", "csr", e)) != 0 ||
	    (rc = rec_add(r, "Source", "acme", e)) != 0 ||
	    (rc = rec_add(r, "Requested-By", by.p, e)) != 0 ||
	    (rc = rec_add(r, "Realm", x->acct.realm, e)) != 0 ||
	    (rc = rec_add(r, "Template", tmpl, e)) != 0)
		goto out;
	/* notAfter asks for at most that long: whole days, rounded up */
	if (not_after && clock_parse("notAfter", not_after, &na, e) == 0 &&
	    na > clock_now()) {
		buf_printf(&days, "%lld", (long long)((na - clock_now() +
		    86399) / 86400));
		if ((rc = rec_add(r, "Days", days.p, e)) != 0)
			goto out;
	}
	err_free(e);
	for (i = 0; i < sizeof f / sizeof f[0] && rc == 0; i++)
		if (f[i].value)
			rc = rec_add(r, f[i].name, f[i].value, e);
	for (i = 0; i < c->nsan && rc == 0; i++)
		rc = rec_add(r, "SAN", c->san[i], e);
	if (rc == 0)
		rc = rec_add_pem(r, "CERTIFICATE REQUEST", c->der, c->derlen, e);
out:
	if (rc != 0) {
		rec_free(r);
		r = NULL;
	}
	*out = r;
	buf_free(&by);
	buf_free(&days);
	return rc;
}

/* Open the pipeline order for job r and move the ACME order to
 * processing: one transaction. */
static int
finalize_commit(struct acme_ctx *x, int64_t id, const char *oname,
    const struct rec *r, struct err *e)
{
	struct order o = {0};
	struct buf now = {0}, obj = {0}, det = {0};
	struct audit_ev ev;
	int rc, created = 0;

	clock_fmt(&now, clock_now());
	buf_printf(&obj, "acme-order:%s", oname);
	buf_printf(&det, "job %s", rec_id(r));
	ev = (struct audit_ev){ "acme.order.finalized", "acme", x->acct.realm,
	    obj.p, "success", det.p };
	if ((rc = db_begin(x->a->db, e)) != 0)
		goto out;
	if ((rc = order_open(x->a->db, x->acct.realm_id, r, "acme",
	    rec_get(r, "Requested-By"), &o, &created, e)) == 0 && !created)
		rc = err_set(e, EX_SOFTWARE, "job %s: order exists already",
		    rec_id(r));
	if (rc == 0 && (rc = db_exec(x->a->db, e, "UPDATE acme_orders SET "
	    "status = 'processing', order_id = ?, updated_at = ? WHERE id = ? "
	    "AND status = 'ready'", "iti", o.id, now.p, id)) == 0 &&
	    db_changes(x->a->db) != 1)
		rc = err_set(e, EX_TEMPFAIL, "the order changed meanwhile");
	if (rc == 0)
		rc = audit_log(x->a->db, &ev, e);
	if (rc == 0)
		rc = db_commit(x->a->db, e);
	if (rc != 0)
		db_rollback(x->a->db);
out:
	order_free(&o);
	buf_free(&now);
	buf_free(&obj);
	buf_free(&det);
	return rc;
}

/* Queue the job for the pipeline; when the spool refuses it, the
 * pipeline order fails with the reason (the request is kept there). */
static int
finalize_queue(struct acme_ctx *x, const struct rec *r, struct err *e)
{
	struct spool *sp = NULL;
	struct buf text = {0};
	struct order o = {0};
	struct err e2 = {0};
	int rc;

	rec_write(r, &text);
	if ((rc = spool_open(x->a->home, &sp, e)) == 0 &&
	    (rc = spool_put(sp, "incoming", rec_id(r), text.p, text.len,
	    e)) == 0)
		spool_trigger_pull(sp);
	spool_close(sp);
	if (rc != 0 && (db_begin(x->a->db, &e2) != 0 ||
	    order_load(x->a->db, rec_id(r), &o, &e2) != 0 ||
	    order_fail(x->a->db, o.id, rc, err_str(e), &e2) != 0 ||
	    db_commit(x->a->db, &e2) != 0))
		db_rollback(x->a->db);
	order_free(&o);
	err_free(&e2);
	buf_free(&text);
	return rc;
}

/* Wait up to finalize_wait_ms for the pipeline to finish the order.
 * Each nap ends with a look at the database's data_version, which
 * changes only when another connection commits and costs no I/O (the
 * WAL index is shared memory); only then is the pipeline's order read,
 * without a write lock (sign must not wait on the waiters), and once it
 * is finished the ACME order is brought up to date. */
static int
finalize_wait(struct acme_ctx *x, int64_t id, struct err *e)
{
	struct timespec nap = { 0, POLL_NS }, t0, t;
	int64_t finished = 0, seen = -1, v = 0;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!finished) {
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) /
		    1000000 >= x->a->finalize_wait_ms)
			break;
		if ((rc = db_int64(x->a->db, &v, e, "PRAGMA data_version",
		    "")) != 0)
			break;
		if (v == seen)
			continue;
		seen = v;
		if ((rc = db_int64(x->a->db, &finished, e, "SELECT coalesce(("
		    "SELECT o.status IN ('complete', 'failed') FROM "
		    "acme_orders a JOIN orders o ON o.id = a.order_id WHERE "
		    "a.id = ?), 1)", "i", id)) != 0)
			break;
	}
	if (rc == 0 && finished && (rc = refresh_tx(x->a->db, id, e)) ==
	    EX_TEMPFAIL) {
		/* busy: the order says processing, and the client polls */
		err_free(e);
		rc = 0;
	}
	return rc;
}

static int
finalize(struct acme_ctx *x, const char *name)
{
	struct db_stmt *st = NULL;
	struct buf der = {0};
	struct csr c = {0};
	struct rec *r = NULL;
	struct err e = {0};
	char *idtext = NULL, *tmpl = NULL, *na = NULL, *status = NULL;
	const char *csr;
	int64_t id = 0;
	int s = 0, row;

	if (order_find(x, name, &id, &e) != 0 || (id && refresh_tx(x->a->db,
	    id, &e) != 0)) {
		s = acme_internal(x, &e);
		goto out;
	}
	if (id == 0) {
		s = acme_problem(x, 404, ACME_ERR "malformed", "no such order");
		goto out;
	}
	if (db_prep(x->a->db, &st, &e, "SELECT o.status, o.identifiers, "
	    "o.not_after, t.name FROM acme_orders o JOIN acme_accounts a ON "
	    "a.id = o.account_id JOIN acme_policies p ON p.id = a.policy_id "
	    "JOIN templates t ON t.id = p.template_id WHERE o.id = ?", "i",
	    id) != 0 || (row = db_step(st, &e)) != 1) {
		s = acme_internal(x, &e);
		goto out;
	}
	status = xstrdup(db_text(st, 0));
	idtext = xstrdup(db_text(st, 1));
	na = db_text(st, 2) ? xstrdup(db_text(st, 2)) : NULL;
	tmpl = xstrdup(db_text(st, 3));
	db_finish(st);
	st = NULL;
	if (strcmp(status, "ready") != 0) {
		s = acme_problem(x, 403, ACME_ERR "orderNotReady", "the order "
		    "is %s, not ready", status);
		goto out;
	}
	csr = json_string_value(json_object_get(x->payload, "csr"));
	if (csr == NULL) {
		s = acme_problem(x, 400, ACME_ERR "malformed", "finalize needs "
		    "a csr");
		goto out;
	}
	if (strlen(csr) > CSR_MAX_BYTES * 2 || b64u_decode(csr, strlen(csr),
	    &der, &e) != 0 || csr_parse(der.p, der.len, &c, &e) != 0) {
		s = acme_problem(x, 400, ACME_ERR "badCSR", "%s", e.code ?
		    err_str(&e) : "the csr is too large");
		goto out;
	}
	if ((s = csr_names(x, &c, idtext)) != 0)
		goto out;
	if (job_record(x, &c, tmpl, na, &r, &e) != 0 ||
	    finalize_commit(x, id, name, r, &e) != 0 ||
	    finalize_queue(x, r, &e) != 0 ||
	    finalize_wait(x, id, &e) != 0) {
		s = acme_internal(x, &e);
		goto out;
	}
	s = order_answer(x, 200, id, name);
out:
	db_finish(st);
	csr_free(&c);
	rec_free(r);
	buf_free(&der);
	free(idtext);
	free(tmpl);
	free(na);
	free(status);
	err_free(&e);
	return s;
}

static void
add_pem(struct buf *b, const char *pem)
{
	size_t n;

	if (pem == NULL || (n = strlen(pem)) == 0)
		return;
	buf_adds(b, pem);
	if (pem[n - 1] != '\n')
		buf_addc(b, '\n');
}

static int
cert(struct acme_ctx *x, const char *name)
{
	struct db_stmt *st = NULL;
	struct err e = {0};
	int64_t id = 0;
	int s, row;

	if (order_find(x, name, &id, &e) != 0 || (id && refresh_tx(x->a->db,
	    id, &e) != 0)) {
		s = acme_internal(x, &e);
		goto out;
	}
	if (db_prep(x->a->db, &st, &e, "SELECT c.pem, ca.cert_pem, "
	    "ca.chain_pem FROM acme_orders o JOIN certificates c ON c.id = "
	    "o.cert_id LEFT JOIN cas ca ON ca.id = c.ca_id WHERE o.id = ? "
	    "AND o.status = 'valid'", "i", id) != 0 ||
	    (row = db_step(st, &e)) < 0) {
		s = acme_internal(x, &e);
		goto out;
	}
	if (row == 0) {
		s = acme_problem(x, 404, ACME_ERR "malformed", "no such "
		    "certificate");
		goto out;
	}
	buf_reset(&x->rs->body);
	add_pem(&x->rs->body, db_text(st, 0));
	add_pem(&x->rs->body, db_text(st, 1));
	add_pem(&x->rs->body, db_text(st, 2));
	x->rs->content_type = "application/pem-certificate-chain";
	s = 200;
out:
	db_finish(st);
	err_free(&e);
	return s;
}

/* ------------------------------------------------------------------ */

int
acme_order_resource(const char *rest)
{
	return strcmp(rest, "new-order") == 0 ||
	    strncmp(rest, "order/", 6) == 0 || strncmp(rest, "authz/", 6) == 0 ||
	    strncmp(rest, "chall/", 6) == 0 || strncmp(rest, "cert/", 5) == 0;
}

/* Names are this file's hex: anything else is no such object. */
static int
name_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return n == 24;
}

int
acme_order_route(struct acme_ctx *x, const char *rest)
{
	const char *slash = strchr(rest, '/'), *name = slash ? slash + 1 : "";
	size_t n = strcspn(name, "/");
	char nm[25];

	if (strcmp(rest, "new-order") == 0)
		return new_order(x);
	if (!name_ok(name, n))
		return acme_problem(x, 404, ACME_ERR "malformed",
		    "no such resource");
	memcpy(nm, name, n);
	nm[n] = '\0';
	if (strncmp(rest, "order/", 6) == 0 && name[n] == '\0')
		return get_order(x, nm);
	if (strncmp(rest, "order/", 6) == 0 && strcmp(name + n,
	    "/finalize") == 0)
		return x->payload ? finalize(x, nm) : acme_problem(x, 400,
		    ACME_ERR "malformed", "finalize needs a payload");
	if (name[n] != '\0')
		return acme_problem(x, 404, ACME_ERR "malformed",
		    "no such resource");
	if (strncmp(rest, "authz/", 6) == 0)
		return authz(x, nm);
	if (strncmp(rest, "chall/", 6) == 0)
		return chall(x, nm);
	return x->payload ? acme_problem(x, 405, ACME_ERR "malformed",
	    "the certificate is read with POST-as-GET") : cert(x, nm);
}
