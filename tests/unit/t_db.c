/* t_db - db_each: every row reaches the callback, NULL stays NULL, a
 * callback's failure stops the scan with its code, and the connection
 * works on afterwards. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "db.h"
#include "tap.h"

struct seen {
	int rows, nulls, stop_at;
	struct buf text;
};

static int
collect(void *arg, const struct db_row *r, struct err *e)
{
	struct seen *s = arg;
	const char *p;
	size_t n;

	if (++s->rows == s->stop_at)
		return err_set(e, EX_DATAERR, "row %d: stop", s->rows);
	if ((p = db_row_blob(r, 0, &n)) == NULL)
		s->nulls++;
	else
		buf_add(&s->text, p, n);
	p = db_row_blob(r, 1, &n);
	buf_add(&s->text, "|", 1);
	buf_add(&s->text, p, n);
	buf_add(&s->text, ";", 1);
	return 0;
}

int
main(void)
{
	char dir[] = "/tmp/t_db.XXXXXX";
	struct seen s;
	struct buf path = {0};
	struct err e = {0};
	struct db *db = NULL;
	size_t n = 99;

	if (mkdtemp(dir) == NULL)
		return 1;
	buf_printf(&path, "%s/t.db", dir);
	is_int(db_open(path.p, DB_OPEN_CREATE, &db, &e), 0, "open");
	is_int(db_exec(db, &e, "CREATE TABLE t (k INTEGER, a TEXT, b BLOB)",
	    ""), 0, "a table");
	is_int(db_exec(db, &e, "INSERT INTO t VALUES (1, 'one', x'0031'), "
	    "(2, NULL, x''), (3, '', x'33'), (4, 'four', NULL)", ""), 0,
	    "four rows");

	memset(&s, 0, sizeof s);
	is_int(db_each(db, &e, collect, &s, "a, b", "FROM t WHERE k > ? "
	    "ORDER BY k", "i", (int64_t)0), 0, "db_each: all rows");
	is_int(s.rows, 4, "  each row once");
	is_int(s.nulls, 1, "  SQL NULL is NULL, '' is not");
	ok(s.text.len == 18 && memcmp(s.text.p, "one|\0" "1;|;|3;four|;", 18)
	    == 0, "  the bytes and lengths, a NUL inside a blob kept");
	buf_free(&s.text);

	memset(&s, 0, sizeof s);
	s.stop_at = 2;
	is_int(db_each(db, &e, collect, &s, "a, b", "FROM t ORDER BY k", ""),
	    EX_DATAERR, "db_each: the callback's failure is the result");
	is_str(err_str(&e), "row 2: stop", "  with its message");
	is_int(s.rows, 2, "  and the scan stops there");
	buf_free(&s.text);
	err_free(&e);

	memset(&s, 0, sizeof s);
	is_int(db_each(db, &e, collect, &s, "a, b", "FROM t WHERE k = ?",
	    "i", (int64_t)3), 0, "db_each again after a failure");
	is_int(s.rows, 1, "  one row");
	buf_free(&s.text);
	is_int(db_each(db, &e, collect, &s, "a, b", "FROM nosuch", ""),
	    EX_SOFTWARE, "db_each: an SQL error is the database's");
	err_free(&e);
	is_int(db_exec(db, &e, "SELECT certpipe_each(1)", ""), EX_SOFTWARE,
	    "the row function is gone between calls");
	err_free(&e);
	is_int(db_int64(db, (int64_t *)&n, &e, "SELECT count(*) FROM t", ""),
	    0, "the connection works on");

	db_close(db);
	unlink(path.p);
	buf_reset(&path);
	buf_printf(&path, "%s/t.db-wal", dir);
	unlink(path.p);
	buf_reset(&path);
	buf_printf(&path, "%s/t.db-shm", dir);
	unlink(path.p);
	rmdir(dir);
	buf_free(&path);
	return tap_done();
}
