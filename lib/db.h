/*
 * db - the one wrapper around sqlite3: the instance's system of record.
 *
 * db_open sets WAL mode, foreign keys, a busy timeout and migrates the
 * schema forward through the numbered migrations in migrate.c (the only
 * place schema changes). Writers use db_begin (BEGIN IMMEDIATE) ...
 * db_commit, or db_rollback on any failure.
 *
 * Binding: fmt has one letter per '?': 't' const char * (NULL binds NULL),
 * 'i' int64_t, 'b' const void *, size_t (blob).
 *
 * Contract: functions return 0 or a sysexits code with e filled, except
 * db_step: 1 = a row is ready, 0 = done, -1 = error (e filled).
 * SQLITE_BUSY maps to EX_TEMPFAIL, a constraint violation to EX_DATAERR,
 * anything else to EX_SOFTWARE. db_finish(NULL), db_close(NULL) are fine.
 * Column getters return NULL / 0 for SQL NULL; their strings live until
 * the next db_step or db_finish.
 */
#ifndef CERTPIPE_DB_H
#define CERTPIPE_DB_H
#include <stdint.h>
#include <stddef.h>
#include "err.h"

struct db;
struct db_stmt;

#define DB_OPEN_EXISTING 0	/* EX_CONFIG if the file does not exist */
#define DB_OPEN_CREATE   1

int db_open(const char *path, int flags, struct db **out, struct err *e);
void db_close(struct db *db);
/* Apply pending migrations; from and to may be NULL. */
int db_migrate(struct db *db, int *from, int *to, struct err *e);
/* Latest schema version this build knows. */
int db_schema_latest(void);

int db_begin(struct db *db, struct err *e);
/* A read transaction (db_commit ends it): the reads in it see one
 * snapshot and take the file's locks once, not once a statement. */
int db_begin_read(struct db *db, struct err *e);
int db_commit(struct db *db, struct err *e);
void db_rollback(struct db *db);

int db_prep(struct db *db, struct db_stmt **st, struct err *e,
    const char *sql, const char *fmt, ...);
int db_step(struct db_stmt *st, struct err *e);
void db_finish(struct db_stmt *st);
/* Prepare, bind, step to completion, finish. */
int db_exec(struct db *db, struct err *e, const char *sql, const char *fmt, ...);
/* Run a query expected to yield one integer (e.g. count(*)). */
int db_int64(struct db *db, int64_t *out, struct err *e, const char *sql,
    const char *fmt, ...);

const char *db_text(struct db_stmt *st, int col);
int64_t db_int(struct db_stmt *st, int col);
int db_isnull(struct db_stmt *st, int col);
const void *db_blob(struct db_stmt *st, int col, size_t *len);

/*
 * Run "SELECT cols from" (binding fmt's values as db_prep does) and call
 * fn once per row, from inside the statement: a big scan pays neither a
 * sqlite3_step return nor a column getter call per value. cols must be a
 * comma-separated list of expressions; fn returns 0 to go on, or a
 * sysexits code (e filled) that stops the scan and is db_each's result.
 * db_row_blob gives a column's bytes (text or blob) and length, NULL for
 * SQL NULL; they live until fn returns.
 */
struct db_row;
typedef int (*db_row_fn)(void *arg, const struct db_row *r, struct err *e);
int db_each(struct db *db, struct err *e, db_row_fn fn, void *arg,
    const char *cols, const char *from, const char *fmt, ...);
const void *db_row_blob(const struct db_row *r, int col, size_t *len);
int64_t db_last_id(struct db *db);
int db_changes(struct db *db);

#endif
