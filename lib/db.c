/* db - the sqlite3 wrapper (see db.h). */
#include <stdarg.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "db.h"
#include "migrate.h"

/* Prepared statements are kept and reused: a stage that handles
 * thousands of records runs the same few statements for each, and
 * preparing them anew cost more than running them. */
#define CACHE 64

struct db_stmt {
	struct db *db;
	sqlite3_stmt *st;
	char *sql;		/* NULL: not cached, finalized by db_finish */
	const char *text;	/* the caller's pointer it was last found by */
	unsigned long hash;
	int busy;		/* handed out, not yet finished */
};

struct db {
	sqlite3 *h;
	struct timespec busy_since;	/* the first try of this wait */
	struct db_stmt cache[CACHE];
	size_t ncache;
};

static unsigned long
hash(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static int
map(int src)
{
	switch (src & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EX_TEMPFAIL;
	case SQLITE_CONSTRAINT:
		return EX_DATAERR;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY:
		return EX_NOPERM;
	case SQLITE_IOERR:
	case SQLITE_FULL:
		return EX_IOERR;
	default:
		return EX_SOFTWARE;
	}
}

static int
fail(struct db *db, int src, struct err *e, const char *what)
{
	return err_set(e, map(src), "database: %s: %s", what,
	    db && db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(src));
}

/*
 * SQLite builds a small table for every "x IN (...)" CHECK it evaluates
 * (the schema has several on orders and certificates) and frees it
 * again, at the top of the heap: glibc gave that memory back to the
 * kernel and took it again, a brk pair several times a record and most
 * of the system time of a stage that writes orders. Freed memory below
 * 16 MiB now stays with the process; the heap does not grow from it.
 */
static void
trim_less(void)
{
#ifdef __GLIBC__
	static int done;

	if (!done)
		mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
	done = 1;
#endif
}

/*
 * SQLite counts every allocation for sqlite3_status() under a global
 * mutex by default: a lock and an unlock per malloc and free, which cost
 * sign about 4% of its user time. Nothing here reads those counts. The
 * setting must come before SQLite initialises, so at the first open; a
 * later call is refused (SQLITE_MISUSE) and changes nothing.
 */
static void
no_memstatus(void)
{
	static int done;

	if (!done)
		(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	done = 1;
}

/*
 * Waiting for another writer's lock: try again every quarter
 * millisecond, for up to BUSY_MS. SQLite's own busy timeout sleeps 1, 2,
 * 5, then 10 to 100 ms between tries; check-policy and sign in one pipe
 * each hold the write lock for a batch of a few milliseconds, so its
 * naps left the waiting stage idle for longer than the lock was held.
 */
#define BUSY_MS 10000

static int
busy(void *arg, int tries)
{
	struct db *db = arg;
	struct timespec now, nap = { 0, 250 * 1000 };
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (tries == 0)
		db->busy_since = now;
	ms = (long long)(now.tv_sec - db->busy_since.tv_sec) * 1000 +
	    (now.tv_nsec - db->busy_since.tv_nsec) / 1000000;
	if (ms >= BUSY_MS)
		return 0;
	nanosleep(&nap, NULL);
	return 1;
}

int
db_open(const char *path, int flags, struct db **out, struct err *e)
{
	struct db *db = NULL;
	int rc, oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	*out = NULL;
	if (flags == DB_OPEN_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	else if (access(path, F_OK) != 0)
		return err_set(e, EX_CONFIG, "%s: no instance database "
		    "(run 'certpipe init' first)", path);
	trim_less();
	no_memstatus();
	db = xcalloc(1, sizeof *db);
	if ((rc = sqlite3_open_v2(path, &db->h, oflags, NULL)) != SQLITE_OK) {
		rc = fail(db, rc, e, path);
		goto out;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_handler(db->h, busy, db);
	/* WAL: readers never block the writer. synchronous=FULL: every
	 * commit is on disk before we go on (an issued certificate or a
	 * key reference must survive a power loss). temp_store=MEMORY:
	 * the statement journals of a batch's INSERTs and UPDATEs (tables
	 * with triggers and foreign keys) would otherwise spill into a
	 * file in /var/tmp, some fifteen page writes per certificate in
	 * sign; they hold the pages one statement changed, and go at its
	 * end. */
	if ((rc = db_exec(db, e, "PRAGMA journal_mode=WAL", "")) != 0 ||
	    (rc = db_exec(db, e, "PRAGMA synchronous=FULL", "")) != 0 ||
	    (rc = db_exec(db, e, "PRAGMA foreign_keys=ON", "")) != 0 ||
	    (rc = db_exec(db, e, "PRAGMA temp_store=MEMORY", "")) != 0)
		goto out;
	rc = 0;
	*out = db;
	db = NULL;
out:
	db_close(db);
	return rc;
}

void
db_close(struct db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->ncache; i++) {
		sqlite3_finalize(db->cache[i].st);
		free(db->cache[i].sql);
	}
	sqlite3_close_v2(db->h);
	free(db);
}

/*
 * bound is SQLITE_STATIC when the statement is stepped and finished
 * (reset, bindings cleared) before the caller's arguments can go away:
 * db_exec and the others that run it to the end within the call. SQLite
 * then reads the text and blobs where they are instead of copying each
 * (a record's request text is kilobytes). db_prep's caller steps later,
 * so its values are copied (SQLITE_TRANSIENT).
 */
static int
vprep(struct db *db, struct db_stmt **out, struct err *e, const char *sql,
    sqlite3_destructor_type bound, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = NULL;
	const char *s;
	const void *p;
	size_t n;
	int rc, i;

	struct db_stmt *c = NULL;
	unsigned long h;
	size_t k;

	*out = NULL;
	/* SQL is mostly a literal, the same pointer each time: compare
	 * that first (the text still decides), and hash only on a miss */
	for (k = 0; k < db->ncache; k++)
		if (db->cache[k].text == sql && !db->cache[k].busy &&
		    strcmp(db->cache[k].sql, sql) == 0) {
			c = &db->cache[k];
			break;
		}
	for (k = 0, h = c ? 0 : hash(sql); c == NULL && k < db->ncache; k++)
		if (db->cache[k].hash == h && !db->cache[k].busy &&
		    strcmp(db->cache[k].sql, sql) == 0) {
			c = &db->cache[k];
			c->text = sql;
		}
	if (c != NULL)
		st = c->st;
	else {
		if ((rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL)) !=
		    SQLITE_OK)
			return fail(db, rc, e, "prepare");
		if (db->ncache < CACHE) {
			c = &db->cache[db->ncache++];
			c->db = db;
			c->st = st;
			c->sql = xstrdup(sql);
			c->text = sql;
			c->hash = h;
		}
	}
	for (i = 1; fmt[i - 1] != '\0'; i++) {
		switch (fmt[i - 1]) {
		case 't':
			s = va_arg(ap, const char *);
			rc = s ? sqlite3_bind_text(st, i, s, -1, bound) :
			    sqlite3_bind_null(st, i);
			break;
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'b':
			p = va_arg(ap, const void *);
			n = va_arg(ap, size_t);
			rc = sqlite3_bind_blob64(st, i, p, n, bound);
			break;
		default:
			rc = SQLITE_MISUSE;
		}
		if (rc != SQLITE_OK) {
			rc = fail(db, rc, e, "bind");
			if (c)
				sqlite3_clear_bindings(st);
			else
				sqlite3_finalize(st);
			return rc;
		}
	}
	if (c) {
		c->busy = 1;
		*out = c;
		return 0;
	}
	*out = xcalloc(1, sizeof **out);
	(*out)->db = db;
	(*out)->st = st;
	return 0;
}

int
db_prep(struct db *db, struct db_stmt **st, struct err *e, const char *sql,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vprep(db, st, e, sql, SQLITE_TRANSIENT, fmt, ap);
	va_end(ap);
	return rc;
}

int
db_step(struct db_stmt *st, struct err *e)
{
	int rc = sqlite3_step(st->st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	fail(st->db, rc, e, "step");
	return -1;
}

void
db_finish(struct db_stmt *st)
{
	if (st == NULL)
		return;
	if (st->sql) {
		sqlite3_reset(st->st);
		sqlite3_clear_bindings(st->st);
		st->busy = 0;
		return;
	}
	sqlite3_finalize(st->st);
	free(st);
}

int
db_exec(struct db *db, struct err *e, const char *sql, const char *fmt, ...)
{
	struct db_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vprep(db, &st, e, sql, SQLITE_STATIC, fmt, ap);
	va_end(ap);
	if (rc != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1)
		;
	db_finish(st);
	return rc < 0 ? e->code : 0;
}

int
db_int64(struct db *db, int64_t *out, struct err *e, const char *sql,
    const char *fmt, ...)
{
	struct db_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vprep(db, &st, e, sql, SQLITE_STATIC, fmt, ap);
	va_end(ap);
	if (rc != 0)
		return rc;
	rc = db_step(st, e);
	if (rc == 1)
		*out = db_int(st, 0);
	else if (rc == 0)
		rc = err_set(e, EX_SOFTWARE, "database: query returned no row");
	db_finish(st);
	return rc == 1 ? 0 : (rc < 0 ? e->code : rc);
}

const char *
db_text(struct db_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st->st, col);
}

int64_t
db_int(struct db_stmt *st, int col)
{
	return sqlite3_column_int64(st->st, col);
}

int
db_isnull(struct db_stmt *st, int col)
{
	return sqlite3_column_type(st->st, col) == SQLITE_NULL;
}

const void *
db_blob(struct db_stmt *st, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(st->st, col);

	*len = (size_t)sqlite3_column_bytes(st->st, col);
	return p;
}

int64_t
db_last_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->h);
}

int
db_changes(struct db *db)
{
	return sqlite3_changes(db->h);
}

int
db_begin(struct db *db, struct err *e)
{
	return db_exec(db, e, "BEGIN IMMEDIATE", "");
}

int
db_begin_read(struct db *db, struct err *e)
{
	return db_exec(db, e, "BEGIN DEFERRED", "");
}

int
db_commit(struct db *db, struct err *e)
{
	return db_exec(db, e, "COMMIT", "");
}

void
db_rollback(struct db *db)
{
	if (db && !sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

int
db_migrate(struct db *db, int *from, int *to, struct err *e)
{
	int64_t v;
	int rc, i, n = migrate_count();

	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = db_int64(db, &v, e, "PRAGMA user_version", "")) != 0)
		goto out;
	if (from)
		*from = (int)v;
	if (v > n) {
		rc = err_set(e, EX_CONFIG, "database schema version %d is newer "
		    "than this build knows (%d)", (int)v, n);
		goto out;
	}
	for (i = (int)v; i < n; i++) {
		if (sqlite3_exec(db->h, migrate_sql(i), NULL, NULL, NULL)
		    != SQLITE_OK) {
			rc = err_set(e, EX_SOFTWARE, "database: migration %d: %s",
			    i + 1, sqlite3_errmsg(db->h));
			goto out;
		}
	}
	/* PRAGMA takes no bound parameters; n is our own integer. */
	{
		struct buf b = {0};
		buf_printf(&b, "PRAGMA user_version=%d", n);
		rc = db_exec(db, e, b.p, "");
		buf_free(&b);
		if (rc != 0)
			goto out;
	}
	if (to)
		*to = n;
	rc = db_commit(db, e);
out:
	if (rc != 0)
		db_rollback(db);
	return rc;
}

int
db_schema_latest(void)
{
	return migrate_count();
}

/* db_each: the rows reach fn through an aggregate function, inside the
 * statement's own loop (see db.h). */
struct db_row {
	sqlite3_value **v;
	int n;
};

struct each {
	db_row_fn fn;
	void *arg;
	struct err e;		/* the callback's, kept from SQLite's report */
	int rc;
};

static void
each_step(sqlite3_context *c, int n, sqlite3_value **v)
{
	struct each *x = sqlite3_user_data(c);
	struct db_row r = { v, n };

	if (x->rc == 0 && (x->rc = x->fn(x->arg, &r, &x->e)) != 0)
		sqlite3_result_error(c, "stopped by its row callback", -1);
}

static void
each_final(sqlite3_context *c)
{
	sqlite3_result_null(c);
}

const void *
db_row_blob(const struct db_row *r, int col, size_t *len)
{
	const void *p;

	*len = 0;
	if (col < 0 || col >= r->n ||
	    sqlite3_value_type(r->v[col]) == SQLITE_NULL)
		return NULL;
	p = sqlite3_value_blob(r->v[col]);
	*len = (size_t)sqlite3_value_bytes(r->v[col]);
	return p ? p : "";
}

int
db_each(struct db *db, struct err *e, db_row_fn fn, void *arg,
    const char *cols, const char *from, const char *fmt, ...)
{
	static const char name[] = "certpipe_each";
	struct each x = { fn, arg, {0}, 0 };
	struct db_stmt *st = NULL;
	struct buf sql = {0};
	va_list ap;
	int rc, src;

	buf_printf(&sql, "SELECT %s(%s) %s", name, cols, from);
	if ((src = sqlite3_create_function_v2(db->h, name, -1, SQLITE_UTF8,
	    &x, NULL, each_step, each_final, NULL)) != SQLITE_OK) {
		rc = fail(db, src, e, "row function");
		goto out;
	}
	va_start(ap, fmt);
	rc = vprep(db, &st, e, sql.p, SQLITE_STATIC, fmt, ap);
	va_end(ap);
	if (rc == 0) {
		while ((rc = db_step(st, e)) == 1)
			;
		rc = rc < 0 ? e->code : 0;
	}
	/* the callback's own failure, not SQLite's report of it */
	if (x.rc != 0)
		rc = err_set(e, x.rc, "%s", err_str(&x.e));
	err_free(&x.e);
	db_finish(st);
	sqlite3_create_function_v2(db->h, name, -1, SQLITE_UTF8, NULL, NULL,
	    NULL, NULL, NULL);
out:
	buf_free(&sql);
	return rc;
}
