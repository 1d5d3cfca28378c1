/* t_approval - who may decide a held order; finding orders by prefix. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "approval.h"
#include "tap.h"

/* "alice:approve,bob:decline" -> a list (strings owned by the list) */
static void
mklist(const char *spec, struct approval_list *l)
{
	char *s = strdup(spec), *p, *save = NULL, *colon;

	memset(l, 0, sizeof *l);
	for (p = strtok_r(s, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		colon = strchr(p, ':');
		*colon = '\0';
		l->v = realloc(l->v, sizeof *l->v * (l->n + 1));
		memset(&l->v[l->n], 0, sizeof l->v[l->n]);
		l->v[l->n].approver = strdup(p);
		l->v[l->n].decision = strdup(colon + 1);
		l->v[l->n].at = strdup("2026-12-01T00:00:00Z");
		l->n++;
	}
	free(s);
}

static void
test_rules(void)
{
	static const struct {
		const char *status, *mode, *requester, *list, *actor;
		int decline;
		enum approval_verdict want;
	} t[] = {
		/* manual: one approver, never the requester */
		{ "held", "manual", "req", "", "alice", 0, APPROVAL_OK },
		{ "held", "manual", "req", "", "req", 0, APPROVAL_REQUESTER },
		{ "held", "manual", "req", "alice:approve", "bob", 0,
		  APPROVAL_SATISFIED },
		{ "held", "manual", "req", "alice:approve", "alice", 0,
		  APPROVAL_TWICE },
		/* four-eyes: two distinct approvers, neither the requester */
		{ "held", "four-eyes", "req", "", "alice", 0, APPROVAL_OK },
		{ "held", "four-eyes", "req", "", "req", 0, APPROVAL_REQUESTER },
		{ "held", "four-eyes", "req", "alice:approve", "alice", 0,
		  APPROVAL_TWICE },
		{ "held", "four-eyes", "req", "alice:approve", "bob", 0,
		  APPROVAL_OK },
		{ "held", "four-eyes", "req", "alice:approve,bob:approve",
		  "carol", 0, APPROVAL_SATISFIED },
		/* a requester's row (written by hand) never counts */
		{ "held", "four-eyes", "req", "req:approve,alice:approve",
		  "bob", 0, APPROVAL_OK },
		/* only held orders; automatic needs no one */
		{ "processing", "four-eyes", "req", "", "alice", 0,
		  APPROVAL_NOT_HELD },
		{ "complete", "manual", "req", "", "alice", 1,
		  APPROVAL_NOT_HELD },
		{ "failed", "manual", "req", "", "alice", 0, APPROVAL_NOT_HELD },
		{ "held", "automatic", "req", "", "alice", 0,
		  APPROVAL_NOT_NEEDED },
		{ "held", "four-eyes", "req", "alice:decline", "bob", 0,
		  APPROVAL_NOT_HELD },
		/* decline: anyone who has not decided, the requester too */
		{ "held", "four-eyes", "req", "", "req", 1, APPROVAL_OK },
		{ "held", "four-eyes", "req", "alice:approve", "alice", 1,
		  APPROVAL_TWICE },
		{ "held", "four-eyes", "req", "alice:approve,bob:approve",
		  "carol", 1, APPROVAL_OK },
	};
	struct approval_list l;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		mklist(t[i].list, &l);
		is_int(approval_judge(t[i].status, t[i].mode, t[i].requester,
		    &l, t[i].actor, t[i].decline), t[i].want,
		    "%s %s [%s]: %s %s", t[i].status, t[i].mode, t[i].list,
		    t[i].actor, t[i].decline ? "declines" : "approves");
		approval_list_free(&l);
	}
}

static void
test_count(void)
{
	static const struct {
		const char *list, *requester;
		size_t want;
	} t[] = {
		{ "", "req", 0 },
		{ "alice:approve", "req", 1 },
		{ "alice:approve,alice:approve", "req", 1 },
		{ "alice:approve,bob:approve", "req", 2 },
		{ "req:approve,alice:approve", "req", 1 },
		{ "alice:decline,bob:approve", "req", 1 },
	};
	struct approval_list l;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		mklist(t[i].list, &l);
		is_int((long long)approval_count(&l, t[i].requester),
		    (long long)t[i].want, "count [%s]", t[i].list);
		approval_list_free(&l);
	}
	is_int(approval_needed("manual"), 1, "manual needs 1");
	is_int(approval_needed("four-eyes"), 2, "four-eyes needs 2");
	is_int(approval_needed("automatic"), 0, "automatic needs 0");
	is_int(approval_needed(NULL), 0, "no mode needs 0");
}

/* An order of realm with job id: the columns order_open fills. */
static int64_t
mkorder(struct db *db, int64_t realm, const char *id)
{
	struct err e = {0};
	int64_t oid = 0;

	if (db_exec(db, &e, "INSERT INTO orders (job, realm_id, type, status, "
	    "requested_by, cn, request, created_at, updated_at) VALUES "
	    "(?, ?, 'csr', 'held', 'req', 'x.example', 'r', "
	    "'2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')", "ti", id,
	    realm) == 0)
		oid = db_last_id(db);
	else
		printf("# %s\n", err_str(&e));
	err_free(&e);
	return oid;
}

static void
test_db(void)
{
	char dir[] = "/tmp/t_approval.XXXXXX";
	static const char a[] = "0b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e11",
	    b[] = "0b6f8a52-ffff-4f57-9a0e-2f0a5c1d7e11",
	    c[] = "7c000000-0000-4000-8000-000000000001";
	struct approval_list l = {0};
	struct buf path = {0};
	struct err e = {0};
	struct db *db = NULL;
	struct order o = {0};
	int64_t r1 = 0, r2 = 0, oa;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	buf_printf(&path, "%s/a.db", dir);
	is_int(db_open(path.p, DB_OPEN_CREATE, &db, &e), 0, "open");
	is_int(db_migrate(db, NULL, NULL, &e), 0, "migrate");
	db_exec(db, &e, "INSERT INTO realms (name, created_at) VALUES "
	    "('one', 'now'), ('two', 'now')", "");
	db_int64(db, &r1, &e, "SELECT id FROM realms WHERE name = 'one'", "");
	db_int64(db, &r2, &e, "SELECT id FROM realms WHERE name = 'two'", "");
	ok((oa = mkorder(db, r1, a)) > 0, "order a");
	ok(mkorder(db, r1, b) > 0, "order b, same 8-character prefix");
	ok(mkorder(db, r2, c) > 0, "order c in realm two");

	is_int(approval_find(db, r1, a, &o, &e), 0, "whole id");
	is_str(o.job, a, "whole id finds it");
	order_free(&o);
	is_int(approval_find(db, r1, "0b6f8a52-3c", &o, &e), 0,
	    "unique prefix");
	is_str(o.job, a, "unique prefix finds it");
	order_free(&o);
	is_int(approval_find(db, r1, "0b6f8a52", &o, &e), EX_DATAERR,
	    "prefix of two is ambiguous");
	is_int(approval_find(db, r1, "0b6f8a5", &o, &e), EX_DATAERR,
	    "7 characters are too few");
	is_int(approval_find(db, r1, "0b6f8a52%", &o, &e), EX_DATAERR,
	    "a wildcard is not a job id character");
	is_int(approval_find(db, r1, "0B6F8A52-3C", &o, &e), EX_DATAERR,
	    "upper case is not a job id");
	is_int(approval_find(db, r1, c, &o, &e), EX_NOINPUT,
	    "another realm's order is not found");
	is_int(approval_find(db, r2, "7c000000", &o, &e), 0,
	    "its own realm finds it");
	order_free(&o);

	is_int(approval_add(db, oa, "alice", "approve", NULL, &e), 0,
	    "alice approves");
	is_int(approval_add(db, oa, "alice", "approve", NULL, &e), EX_DATAERR,
	    "alice twice is refused by the table");
	is_int(approval_add(db, oa, "bob", "decline", "no", &e), 0,
	    "bob declines");
	is_int(approval_load(db, oa, &l, &e), 0, "load");
	is_int((long long)l.n, 2, "two decisions");
	if (l.n == 2) {
		is_str(l.v[0].approver, "alice", "oldest first");
		is_str(l.v[1].reason, "no", "the reason is kept");
	}
	is_int((long long)approval_count(&l, "req"), 1, "one approval counts");
	is_int(approval_declined(&l), 1, "declined");
	approval_list_free(&l);

	db_close(db);
	buf_reset(&path);
	buf_printf(&path, "rm -rf %s", dir);
	if (system(path.p) != 0)
		ok(0, "cleanup");
	buf_free(&path);
	err_free(&e);
}

int
main(void)
{
	test_rules();
	test_count();
	test_db();
	return tap_done();
}
