/* t_acme_rate - newOrder rate limits: per account and per registered
 * domain, counted from acme_orders rows in a sliding window, answered
 * with 429 rateLimited and a Retry-After that says when the count
 * drops below the limit; off when the policy's window is 0. */
#include <stdlib.h>
#include <string.h>
#include "acme_int.h"
#include "clock.h"
#include "tap.h"

static struct db *db;
static int norder;

static void
exec(const char *sql)
{
	struct err e = {0};

	if (db_exec(db, &e, sql, "") != 0)
		ok(0, "%s: %s", sql, err_str(&e));
	err_free(&e);
}

/* An order of account acct for the names, made secs_ago seconds ago. */
static void
order(int64_t acct, const char *idents, int secs_ago)
{
	struct buf at = {0}, name = {0};
	struct err e = {0};

	clock_fmt(&at, clock_now() - secs_ago);
	buf_printf(&name, "o%d", ++norder);
	if (db_exec(db, &e, "INSERT INTO acme_orders (name, account_id, "
	    "realm_id, status, identifiers, expires_at, created_at, "
	    "updated_at) VALUES (?, ?, 1, 'pending', ?, ?, ?, ?)", "titttt",
	    name.p, acct, idents, at.p, at.p, at.p) != 0)
		ok(0, "insert order: %s", err_str(&e));
	buf_free(&at);
	buf_free(&name);
	err_free(&e);
}

/* acme_rate_order for account acct (policy 1) ordering idents: the
 * status, the problem type (or ""), the Retry-After (or -1). */
static int
rate(int64_t acct, const char *idents, char *type, size_t tn,
    long *retry)
{
	struct acme a = { .db = db, .base = "http://t.test" };
	struct http_resp rs = {0};
	struct acme_ctx x = { .a = &a, .rs = &rs };
	json_t *ids = json_loads(idents, 0, NULL), *p;
	const char *ra;
	int st;

	x.acct.id = acct;
	x.acct.realm_id = 1;
	x.acct.policy_id = 1;
	st = acme_rate_order(&x, ids);
	*type = '\0';
	*retry = -1;
	if (st != 0 && (p = json_loadb(rs.body.p, rs.body.len, 0, NULL))) {
		snprintf(type, tn, "%s", json_string_value(json_object_get(p,
		    "type")));
		json_decref(p);
	}
	if ((ra = strstr(buf_str(&rs.headers), "Retry-After: ")) != NULL)
		*retry = strtol(ra + 13, NULL, 10);
	json_decref(ids);
	http_resp_free(&rs);
	return st;
}

#define IDS(n) "[{\"type\":\"dns\",\"value\":\"" n "\"}]"

int
main(void)
{
	struct err e = {0};
	char type[128];
	long retry;

	is_int(db_open(":memory:", DB_OPEN_CREATE, &db, &e), 0, "open");
	is_int(db_migrate(db, NULL, NULL, &e), 0, "migrate");
	/* the rows the orders hang on; their contents do not matter here */
	exec("PRAGMA foreign_keys = OFF");
	exec("INSERT INTO acme_policies (id, realm_id, name, template_id, "
	    "created_at) VALUES (1, 1, 'p', 1, '2026-01-01T00:00:00Z')");
	exec("INSERT INTO domains (realm_id, name, created_at, updated_at) "
	    "VALUES (1, 'example.com', 'x', 'x'), (1, 'sub.example.com', 'x', "
	    "'x')");

	/* off by default: many orders, no limit */
	for (int i = 0; i < 5; i++)
		order(1, IDS("a.example.com"), 10);
	is_int(rate(1, IDS("a.example.com"), type, sizeof type, &retry), 0,
	    "no limits by default");
	exec("UPDATE acme_policies SET rate_window = 3600, rate_account = 0, "
	    "rate_domain = 0");
	is_int(rate(1, IDS("a.example.com"), type, sizeof type, &retry), 0,
	    "a window with both limits 0: no limit");

	/* per account: 5 in the window, 2 older than it */
	order(1, IDS("b.example.org"), 7200);
	order(1, IDS("b.example.org"), 3601);
	exec("UPDATE acme_policies SET rate_account = 6");
	is_int(rate(1, IDS("x.example.net"), type, sizeof type, &retry), 0,
	    "5 of 6 per account: allowed");
	exec("UPDATE acme_policies SET rate_account = 5");
	is_int(rate(1, IDS("x.example.net"), type, sizeof type, &retry), 429,
	    "5 of 5 per account: 429");
	is_str(type, ACME_ERR "rateLimited", "... rateLimited");
	ok(retry >= 3588 && retry <= 3590, "... Retry-After when the oldest "
	    "leaves the window (got %ld, want ~3590)", retry);
	exec("UPDATE acme_policies SET rate_account = 3");
	rate(1, IDS("x.example.net"), type, sizeof type, &retry);
	ok(retry >= 3588 && retry <= 3590, "5 over a limit of 3: the third "
	    "newest decides, all 10 s old here (got %ld)", retry);
	is_int(rate(2, IDS("x.example.net"), type, sizeof type, &retry), 0,
	    "another account is not counted with it");
	order(4, IDS("d.example.net"), 300);
	order(4, IDS("d.example.net"), 200);
	order(4, IDS("d.example.net"), 100);
	exec("UPDATE acme_policies SET rate_account = 2");
	rate(4, IDS("x.example.net"), type, sizeof type, &retry);
	ok(retry >= 3398 && retry <= 3400, "3 of 300, 200 and 100 s ago over "
	    "a limit of 2: the count falls to 1 when the one of 200 s ago "
	    "leaves (got %ld)", retry);

	/* per registered domain, across accounts */
	exec("UPDATE acme_policies SET rate_account = 0, rate_domain = 6");
	order(2, "[{\"type\":\"dns\",\"value\":\"*.c.example.com\"},"
	    "{\"type\":\"dns\",\"value\":\"c.example.com\"}]", 100);
	is_int(rate(3, IDS("new.example.com"), type, sizeof type, &retry),
	    429, "6 orders under example.com (one with two names): 429");
	is_str(type, ACME_ERR "rateLimited", "... rateLimited");
	ok(retry >= 3498 && retry <= 3500, "... Retry-After: when the one of "
	    "100 s ago leaves (got %ld)", retry);
	is_int(rate(3, IDS("NEW.Example.COM"), type, sizeof type, &retry),
	    429, "names compare without case");
	is_int(rate(3, IDS("*.w.example.com"), type, sizeof type, &retry),
	    429, "a wildcard counts under its base");
	is_int(rate(3, IDS("example.org"), type, sizeof type, &retry), 0,
	    "example.org: 0 in the window (2 are older or at the edge)");
	is_int(rate(3, IDS("x.sub.example.com"), type, sizeof type, &retry),
	    0, "sub.example.com is its own registered domain: no orders");
	is_int(rate(3, IDS("notexample.com"), type, sizeof type, &retry), 0,
	    "a name that only ends in the same letters is not under it");
	is_int(rate(3, "[{\"type\":\"dns\",\"value\":\"fine.example.net\"},"
	    "{\"type\":\"dns\",\"value\":\"z.example.com\"}]", type,
	    sizeof type, &retry), 429, "any identifier over the limit refuses "
	    "the order");
	exec("UPDATE acme_policies SET rate_domain = 7");
	is_int(rate(3, IDS("new.example.com"), type, sizeof type, &retry), 0,
	    "6 of 7: allowed");
	exec("UPDATE acme_policies SET rate_window = 5, rate_domain = 1");
	is_int(rate(3, IDS("new.example.com"), type, sizeof type, &retry), 0,
	    "a shorter window leaves them all out");
	db_close(db);
	err_free(&e);
	return tap_done();
}
