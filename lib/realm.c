/* realm - tenants (see realm.h). */
#include <string.h>
#include "clock.h"
#include "realm.h"

int
realm_name_check(const char *name, struct err *e)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > 63)
		goto bad;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c == '-' && i > 0)))
			goto bad;
	}
	return 0;
bad:
	return err_set(e, EX_DATAERR, "realm '%s': names are 1-63 of a-z, 0-9 "
	    "and '-', not starting with '-'", name);
}

int
realm_id(struct db *db, const char *name, int64_t *id, struct err *e)
{
	struct db_stmt *st;
	int rc;

	if ((rc = db_prep(db, &st, e, "SELECT id FROM realms WHERE name = ?",
	    "t", name)) != 0)
		return rc;
	rc = db_step(st, e);
	if (rc == 1)
		*id = db_int(st, 0);
	db_finish(st);
	if (rc == 0)
		return err_set(e, EX_NOINPUT, "realm '%s': no such realm", name);
	return rc < 0 ? e->code : 0;
}

int
realm_create(struct db *db, const char *name, int64_t *id, struct err *e)
{
	struct buf now = {0};
	int64_t n;
	int rc;

	if ((rc = realm_name_check(name, e)) != 0)
		return rc;
	if ((rc = db_int64(db, &n, e, "SELECT count(*) FROM realms WHERE name = ?",
	    "t", name)) != 0)
		return rc;
	if (n > 0)
		return err_set(e, EX_DATAERR, "realm '%s': exists", name);
	clock_fmt(&now, clock_now());
	rc = db_exec(db, e, "INSERT INTO realms (name, created_at) VALUES (?, ?)",
	    "tt", name, now.p);
	if (rc == 0 && id)
		*id = db_last_id(db);
	buf_free(&now);
	return rc;
}
