/* t_audit - the hash chain: append, verify, detect edits and gaps. */
#include <stdlib.h>
#include <unistd.h>
#include "audit.h"
#include "tap.h"

int
main(void)
{
	char dir[] = "/tmp/t_audit.XXXXXX";
	struct buf path = {0};
	struct err e = {0};
	struct db *db = NULL;
	struct audit_ev ev = { "ca.created", "alice", "default", "ca:root",
	    "success", NULL };
	int64_t bad = 0, n = 0;
	int i;

	if (mkdtemp(dir) == NULL)
		return 1;
	buf_printf(&path, "%s/a.db", dir);
	is_int(db_open(path.p, DB_OPEN_CREATE, &db, &e), 0, "open");
	is_int(db_migrate(db, NULL, NULL, &e), 0, "migrate");
	for (i = 0; i < 5; i++) {
		ev.detail = i % 2 ? "detail\nwith newline" : NULL;
		is_int(audit_log(db, &ev, &e), 0, "append %d", i + 1);
	}
	is_int(audit_verify(db, &bad, &n, &e), 0, "intact chain verifies");
	is_int(n, 5, "five events");
	is_int(db_exec(db, &e, "UPDATE audit SET actor = 'x' WHERE seq = 1",
	    ""), EX_DATAERR, "UPDATE refused by trigger");
	is_int(db_exec(db, &e, "DELETE FROM audit WHERE seq = 1", ""),
	    EX_DATAERR, "DELETE refused by trigger");
	db_exec(db, &e, "DROP TRIGGER audit_no_update", "");
	db_exec(db, &e, "DROP TRIGGER audit_no_delete", "");
	db_exec(db, &e, "UPDATE audit SET detail = 'forged' WHERE seq = 3", "");
	is_int(audit_verify(db, &bad, &n, &e), EX_DATAERR, "edit detected");
	is_int(bad, 3, "first broken event is 3");
	db_exec(db, &e, "UPDATE audit SET detail = NULL WHERE seq = 3", "");
	is_int(audit_verify(db, &bad, &n, &e), 0, "restored row verifies");
	db_exec(db, &e, "DELETE FROM audit WHERE seq = 2", "");
	is_int(audit_verify(db, &bad, &n, &e), EX_DATAERR, "gap detected");
	is_int(bad, 2, "missing event 2 named");
	db_close(db);
	buf_reset(&path);
	buf_printf(&path, "rm -rf %s", dir);
	if (system(path.p) != 0)
		ok(0, "cleanup");
	buf_free(&path);
	err_free(&e);
	return tap_done();
}
