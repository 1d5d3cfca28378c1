/* t_order - orders keyed by job id: open, transitions, facts, the one
 * certificate per order rule, alerts; and the statement cache under it. */
#include <stdlib.h>
#include <string.h>
#include "order.h"
#include "tap.h"

static struct rec *
job(const char *cn, const char *san)
{
	struct rec *r = rec_new();
	struct err e = {0};

	rec_add(r, "Type", "csr", &e);
	rec_add(r, "CN", cn, &e);
	if (san)
		rec_add(r, "SAN", san, &e);
	rec_add_pem(r, "CERTIFICATE REQUEST", "\x30\x03\x02\x01\x01", 5, &e);
	err_free(&e);
	return r;
}

static void
facts(const struct rec *r, char out[65])
{
	struct buf b = {0};

	order_facts(r, &b);
	snprintf(out, 65, "%s", buf_str(&b));
	buf_free(&b);
}

/* What changes the facts digest, and what does not. */
static void
t_facts(void)
{
	static const struct { const char *name, *value; int changes; } t[] = {
		{ "CN", "other.example.com", 1 },
		{ "SAN", "DNS:b.example.com", 1 },
		{ "Days", "30", 1 },
		{ "Template", "web", 1 },
		{ "CA", "issuing", 1 },
		{ "Realm", "other", 1 },
		{ "O", "Acme", 1 },
		{ "Digest", "sha512", 1 },
		{ "Renewal-Of", "0a1b2c", 1 },
		{ "Warning", "something", 0 },
		{ "Stage", "check-policy", 0 },
		{ "Status", "processing", 0 },
		{ "Verdict", "pass", 0 },
	};
	char base[65], got[65];
	struct err e = {0};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct rec *r = job("a.example.com", "DNS:a.example.com");

		facts(r, base);
		is_int(strlen(base), 64, "facts are 64 hex digits");
		rec_set(r, t[i].name, t[i].value, &e);
		facts(r, got);
		is_int(strcmp(base, got) != 0, t[i].changes, "setting %s %s "
		    "the facts", t[i].name, t[i].changes ? "changes" :
		    "does not change");
		rec_free(r);
	}
	/* "a" + "bc" and "ab" + "c" must not collide: fields are
	 * length-prefixed */
	{
		struct rec *a = job("a", "DNS:bc"), *b = job("ab", "DNS:c");
		char fa[65], fb[65];

		facts(a, fa);
		facts(b, fb);
		ok(strcmp(fa, fb) != 0, "length-prefixed fields do not run "
		    "together");
		rec_free(a);
		rec_free(b);
	}
	err_free(&e);
}

int
main(void)
{
	char dir[] = "/tmp/t_order.XXXXXX";
	struct buf path = {0};
	struct err e = {0};
	struct db *db = NULL;
	struct order o = {0}, o2 = {0};
	struct rec *r = job("a.example.com", NULL);
	int64_t n = 0, other = 0;
	int created = 0;

	if (mkdtemp(dir) == NULL)
		return 1;
	buf_printf(&path, "%s/o.db", dir);
	is_int(db_open(path.p, DB_OPEN_CREATE, &db, &e), 0, "open");
	is_int(db_migrate(db, NULL, NULL, &e), 0, "migrate");

	/* migration 8: the value checks are comparisons (no temporary
	 * table per row), and still refuse what they refused */
	is_int(db_int64(db, &n, &e, "SELECT count(*) FROM sqlite_master "
	    "WHERE name IN ('orders', 'certificates') AND sql LIKE "
	    "'%CHECK (%status = ''%'", ""), 0, "read the schema");
	is_int(n, 2, "orders and certificates check status by comparison");
	is_int(db_int64(db, &n, &e, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'orders' AND sql LIKE '% IN (%'", ""), 0,
	    "read the schema");
	is_int(n, 0, "no IN list left in the orders table's checks");
	is_int(db_exec(db, &e, "INSERT INTO orders (job, realm_id, type, "
	    "status, requested_by, request, created_at, updated_at) VALUES "
	    "('j', 1, 'csr', 'done', 'a', 'r', 'x', 'x')", ""), EX_DATAERR,
	    "an unknown order status is still refused");
	is_int(db_exec(db, &e, "INSERT INTO orders (job, realm_id, type, "
	    "status, requested_by, request, created_at, updated_at) VALUES "
	    "('j', 1, 'mail', 'pending', 'a', 'r', 'x', 'x')", ""),
	    EX_DATAERR, "an unknown order type is still refused");
	is_int(db_exec(db, &e, "INSERT INTO orders (job, realm_id, type, "
	    "status, requested_by, approval, request, created_at, updated_at)"
	    " VALUES ('j', 1, 'csr', 'pending', 'a', 'two', 'r', 'x', 'x')",
	    ""), EX_DATAERR, "an unknown approval mode is still refused");
	is_int(db_exec(db, &e, "INSERT INTO certificates (realm_id, serial, "
	    "issuer, subject, not_before, not_after, status, source, "
	    "fingerprint, pem, created_at) VALUES (1, '01', 'CN=ca', 'CN=a', "
	    "'x', 'x', 'lost', 'managed', 'f', 'p', 'x')", ""), EX_DATAERR,
	    "an unknown certificate status is still refused");

	is_int(order_type_ok("csr") + order_type_ok("automated") +
	    order_type_ok("renewal") + order_type_ok("spool") +
	    order_type_ok("acme") + order_type_ok("scep"), 6, "order types");
	is_int(order_type_ok("local") + order_type_ok(NULL), 0,
	    "unknown types refused");
	is_int(order_open(db, 1, r, "bogus", "alice", &o, &created, &e),
	    EX_DATAERR, "open with a bad type");

	is_int(order_open(db, 1, r, "csr", "alice", &o, &created, &e), 0,
	    "open a new order");
	is_int(created, 1, "it was created");
	is_str(o.status, "pending", "new orders are pending");
	is_str(o.job, rec_id(r), "keyed by the job id");
	is_str(o.cn, "a.example.com", "CN kept");
	ok(strstr(o.request, "END-RECORD") != NULL, "the request is the "
	    "whole record");
	is_int(o.duration_ms, -1, "no duration yet");
	/* what order_open made up without reading back is the row */
	is_int(order_load(db, rec_id(r), &o2, &e), 0, "read it back");
	ok(o2.id == o.id && o2.realm_id == o.realm_id && o2.template_id ==
	    o.template_id && o2.renewal_of == o.renewal_of && o2.cert_id ==
	    o.cert_id && o2.error_code == o.error_code && o2.duration_ms ==
	    o.duration_ms, "the new order's numbers are the row's");
	is_str(o.type, o2.type, "type");
	is_str(o.status, o2.status, "status");
	is_str(o.requested_by, o2.requested_by, "requested_by");
	is_str(o.approval, o2.approval, "approval");
	is_str(o.request, o2.request, "request");
	is_str(o.created_at, o2.created_at, "created_at");
	is_str(o.updated_at, o2.updated_at, "updated_at");
	ok(o.facts == NULL && o2.facts == NULL && o.key_ref == NULL &&
	    o2.key_ref == NULL && o.error == NULL && o2.error == NULL &&
	    o.completed_at == NULL && o2.completed_at == NULL, "and the rest "
	    "is NULL in both");
	order_free(&o2);
	order_free(&o);

	is_int(order_open(db, 1, r, "csr", "bob", &o, &created, &e), 0,
	    "open the same job again");
	is_int(created, 0, "found, not created");
	is_str(o.requested_by, "alice", "the first requester stays");
	order_free(&o);

	db_exec(db, &e, "INSERT INTO realms (name, created_at) VALUES "
	    "('other', 'x')", "");
	other = db_last_id(db);
	is_int(order_open(db, other, r, "csr", "eve", &o, &created, &e),
	    EX_NOPERM, "another realm cannot open the job");

	is_int(order_load(db, rec_id(r), &o, &e), 0, "load by job");
	is_int(order_hold(db, o.id, 0, "four-eyes", &e), EX_DATAERR,
	    "template 0 is no template (foreign key)");
	is_int(order_set_status(db, o.id, "bogus", &e), EX_SOFTWARE,
	    "unknown status refused");
	is_int(order_pass(db, o.id, 0, "automatic", "f00d", &e) != 0, 1,
	    "pass needs a real template");
	db_exec(db, &e, "INSERT INTO cas (realm_id, name, status, key_alg, "
	    "key_ref, spki, subject, days, created_at, updated_at) VALUES "
	    "(1, 'ca', 'active', 'ec-256', 'file:x', x'00', 'CN=ca', 1, 'x', "
	    "'x')", "");
	db_exec(db, &e, "INSERT INTO templates (realm_id, ca_id, name, starter,"
	    " days, max_days, digest, key_algs, key_usage, subject_mode, aia,"
	    " ocsp, cdp, policy, created_at, updated_at) VALUES (1, 1, 't', "
	    "'web-server', 1, 1, 'sha256', 'ec-256', 'digitalSignature', "
	    "'request', 0, 0, 0, 0, 'x', 'x')", "");
	is_int(order_pass(db, o.id, 1, "automatic", "f00d", &e), 0, "pass");
	is_int(order_load_id(db, o.id, &o2, &e), 0, "load by id");
	is_str(o2.status, "processing", "passed orders are processing");
	is_str(o2.facts, "f00d", "facts stored");
	is_int(o2.template_id, 1, "template stored");
	order_free(&o2);

	/* prepared, then written once judged: the row order_open and
	 * order_pass would leave */
	{
		struct rec *r2 = job("b.example.com", NULL);
		struct order o3 = {0};

		is_int(order_prepare(db, 1, r2, "csr", "carol", &o2, &created,
		    &e), 0, "prepare a new job's order");
		ok(created == 1 && o2.id == 0, "made up, not written (id 0)");
		is_int(db_int64(db, &n, &e, "SELECT count(*) FROM orders WHERE "
		    "job = ?", "t", rec_id(r2)), 0, "count");
		is_int(n, 0, "no row yet");
		is_int(order_create_passed(db, &o2, 1, "automatic", "beef", &e),
		    0, "written passed");
		ok(o2.id > 0, "it has an id");
		order_free(&o2);
		is_int(order_prepare(db, 1, r2, "csr", "dave", &o2, &created,
		    &e), 0, "prepare it again");
		ok(created == 0 && o2.id > 0, "found the row this time");
		is_str(o2.status, "processing", "processing");
		is_str(o2.facts, "beef", "its facts");
		is_int(o2.template_id, 1, "its template");
		is_str(o2.approval, "automatic", "its approval mode");
		is_str(o2.requested_by, "carol", "the first requester");
		is_str(o2.cn, "b.example.com", "its CN");
		ok(o2.request && strstr(o2.request, rec_id(r2)) != NULL,
		    "the request is the record");
		order_free(&o2);
		rec_free(r2);
		r2 = job("c.example.com", NULL);
		is_int(order_prepare(db, 1, r2, "csr", "carol", &o2, &created,
		    &e), 0, "prepare another");
		is_int(order_create(db, &o2, &e), 0, "written pending");
		is_int(order_load(db, rec_id(r2), &o3, &e), 0, "read it back");
		ok(o3.id == o2.id && strcmp(o3.status, "pending") == 0 &&
		    strcmp(o3.request, o2.request) == 0, "the pending row");
		order_free(&o3);
		order_free(&o2);
		rec_free(r2);
	}

	is_int(order_complete(db, o.id, &e), 0, "complete");
	is_int(order_load_id(db, o.id, &o2, &e), 0, "reload");
	is_str(o2.status, "complete", "complete");
	ok(o2.duration_ms >= 0 && o2.completed_at != NULL, "duration and "
	    "completion time set");
	order_free(&o2);

	/* one certificate per order, whatever a replay does */
	is_int(db_exec(db, &e, "INSERT INTO certificates (realm_id, serial, "
	    "issuer, subject, not_before, not_after, source, fingerprint, pem,"
	    " created_at, order_id) VALUES (1, '01', 'CN=ca', 'CN=a', 'x', "
	    "'x', 'managed', 'f', 'p', 'x', ?)", "i", o.id), 0, "a "
	    "certificate for the order");
	is_int(db_exec(db, &e, "INSERT INTO certificates (realm_id, serial, "
	    "issuer, subject, not_before, not_after, source, fingerprint, pem,"
	    " created_at, order_id) VALUES (1, '02', 'CN=ca', 'CN=a', 'x', "
	    "'x', 'managed', 'f', 'p', 'x', ?)", "i", o.id), EX_DATAERR,
	    "a second certificate for the same order is refused");
	is_int(order_load_id(db, o.id, &o2, &e), 0, "reload");
	is_int(o2.cert_id, 1, "the order names its certificate");
	order_free(&o2);

	is_int(order_fail(db, o.id, 77, "declined", &e), 0, "fail");
	is_int(db_int64(db, &n, &e, "SELECT count(*) FROM alerts WHERE "
	    "order_id = ? AND kind = 'order.failed' AND message = 'declined'",
	    "i", o.id), 0, "count alerts");
	is_int(n, 1, "a failed order raises an alert");
	is_int(order_set_status(db, 999, "failed", &e), EX_NOINPUT,
	    "an unknown order is named");
	is_int(order_load(db, "00000000-0000-4000-8000-000000000000", &o2,
	    &e), EX_NOINPUT, "an unknown job");

	/* the statement cache: the same SQL many times, nested use */
	{
		struct db_stmt *a = NULL, *b = NULL;
		int i, good = 1;

		for (i = 0; i < 1000 && good; i++)
			good = db_int64(db, &n, &e, "SELECT ? + 1", "i",
			    (int64_t)i) == 0 && n == i + 1;
		ok(good, "a cached statement rebinds correctly 1000 times");
		is_int(db_prep(db, &a, &e, "SELECT 1", ""), 0, "outer");
		is_int(db_prep(db, &b, &e, "SELECT 1", ""), 0, "the same SQL "
		    "while the first is in use");
		ok(a != b, "gets a statement of its own");
		is_int(db_step(a, &e) + db_step(b, &e), 2, "both step");
		db_finish(b);
		db_finish(a);
	}

	order_free(&o);
	rec_free(r);
	db_close(db);
	buf_reset(&path);
	buf_printf(&path, "rm -rf %s", dir);
	if (system(path.p) != 0)
		ok(0, "cleanup");
	buf_free(&path);
	err_free(&e);
	t_facts();
	return tap_done();
}
