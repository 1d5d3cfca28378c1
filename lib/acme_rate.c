/*
 * acme_rate - rate limits on newOrder: at most rate_account new orders
 * per account, and at most rate_domain orders naming any name under one
 * registered domain (the realm's most specific enabled domain covering
 * the name; the name itself when none does), within a sliding window of
 * rate_window seconds. The limits are the account's ACME policy's
 * (`certpipe acme policy rate`); a window of 0, the default, turns them
 * off. The count is of acme_orders rows, so it holds across the
 * per-connection processes without any state of its own.
 *
 * Over a limit: 429 rateLimited with Retry-After, the seconds until the
 * oldest order that keeps the count at the limit leaves the window.
 */
#include <string.h>
#include "acme_int.h"
#include "clock.h"
#include "domain.h"

struct limits {
	int64_t window, account, domain;
};

static int
load(struct acme_ctx *x, struct limits *l, struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	memset(l, 0, sizeof *l);
	if ((rc = db_prep(x->a->db, &st, e, "SELECT rate_window, "
	    "rate_account, rate_domain FROM acme_policies WHERE id = ?", "i",
	    x->acct.policy_id)) != 0)
		return rc;
	if ((rc = db_step(st, e)) == 1) {
		l->window = db_int(st, 0);
		l->account = db_int(st, 1);
		l->domain = db_int(st, 2);
	}
	db_finish(st);
	return rc < 0 ? e->code : 0;
}

/* Seconds until the order at offset n - limit of those counted (oldest
 * first) leaves the window: after that the count is below the limit. */
static int
retry_after(struct acme_ctx *x, const char *sql, const char *fmt,
    int64_t id, const char *since, const char *name, int64_t n,
    int64_t limit, int64_t window, int64_t *secs, struct err *e)
{
	struct db_stmt *st = NULL;
	time_t t;
	int rc;

	*secs = 1;
	if (name != NULL)
		rc = db_prep(x->a->db, &st, e, sql, fmt, id, since, name,
		    n - limit);
	else
		rc = db_prep(x->a->db, &st, e, sql, fmt, id, since, n - limit);
	if (rc != 0)
		return rc;
	if ((rc = db_step(st, e)) == 1 && clock_parse("created_at",
	    db_text(st, 0), &t, e) == 0 && t + window > clock_now())
		*secs = (int64_t)(t + window - clock_now());
	db_finish(st);
	return rc < 0 ? e->code : 0;
}

static int
limited(struct acme_ctx *x, int64_t secs, const char *what, int64_t n,
    int64_t window)
{
	http_resp_header(x->rs, "Retry-After", "%lld", (long long)secs);
	return acme_problem(x, 429, ACME_ERR "rateLimited", "too many new "
	    "orders %s: %lld in the last %lld seconds; retry after %lld "
	    "seconds", what, (long long)n, (long long)window,
	    (long long)secs);
}

#define DOMAIN_MATCH \
	"FROM acme_orders o, json_each(o.identifiers) j " \
	"WHERE o.realm_id = ?1 AND o.created_at > ?2 AND " \
	"(lower(json_extract(j.value, '$.value')) = ?3 OR " \
	"substr(lower(json_extract(j.value, '$.value')), -length(?3) - 1) " \
	"= '.' || ?3)"

/* The registered domain of one identifier value into out. */
static int
registered(struct acme_ctx *x, const char *value, struct buf *out,
    struct err *e)
{
	char *apex = NULL;
	int cov;

	buf_reset(out);
	if (strncmp(value, "*.", 2) == 0)
		value += 2;
	buf_adds(out, value);
	for (char *p = out->p; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if ((cov = domain_apex(x->a->db, x->acct.realm_id, out->p, &apex,
	    e)) < 0)
		return e->code;
	if (cov == 1 && apex != NULL) {
		buf_reset(out);
		buf_adds(out, apex);
	}
	free(apex);
	return 0;
}

int
acme_rate_order(struct acme_ctx *x, json_t *identifiers)
{
	struct limits l;
	struct buf since = {0}, dom = {0}, what = {0};
	struct err e = {0};
	int64_t n, secs;
	const char *v;
	size_t i;
	json_t *id;
	int st = 0;

	if (load(x, &l, &e) != 0)
		goto fail;
	if (l.window <= 0 || (l.account <= 0 && l.domain <= 0))
		goto out;
	clock_fmt(&since, clock_now() - (time_t)l.window);
	if (l.account > 0) {
		if (db_int64(x->a->db, &n, &e, "SELECT count(*) FROM "
		    "acme_orders WHERE account_id = ? AND created_at > ?", "it",
		    x->acct.id, since.p) != 0)
			goto fail;
		if (n >= l.account) {
			if (retry_after(x, "SELECT created_at FROM acme_orders "
			    "WHERE account_id = ? AND created_at > ? ORDER BY "
			    "created_at LIMIT 1 OFFSET ?", "iti", x->acct.id,
			    since.p, NULL, n, l.account, l.window, &secs,
			    &e) != 0)
				goto fail;
			st = limited(x, secs, "for this account", n, l.window);
			goto out;
		}
	}
	if (l.domain <= 0)
		goto out;
	json_array_foreach(identifiers, i, id) {
		if ((v = json_string_value(json_object_get(id, "value"))) ==
		    NULL)
			continue;	/* the order's own checks refuse it */
		if (registered(x, v, &dom, &e) != 0 ||
		    db_int64(x->a->db, &n, &e, "SELECT count(DISTINCT o.id) "
		    DOMAIN_MATCH, "itt", x->acct.realm_id, since.p, dom.p) != 0)
			goto fail;
		if (n < l.domain)
			continue;
		if (retry_after(x, "SELECT o.created_at " DOMAIN_MATCH
		    " GROUP BY o.id ORDER BY o.created_at LIMIT 1 OFFSET ?4",
		    "itti", x->acct.realm_id, since.p, dom.p, n, l.domain,
		    l.window, &secs, &e) != 0)
			goto fail;
		buf_printf(&what, "for %s", dom.p);
		st = limited(x, secs, what.p, n, l.window);
		goto out;
	}
	goto out;
fail:
	st = acme_internal(x, &e);
out:
	buf_free(&since);
	buf_free(&dom);
	buf_free(&what);
	err_free(&e);
	return st;
}
