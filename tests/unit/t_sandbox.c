/* t_sandbox - after sandbox_enter the network and exec are refused with
 * EPERM, while files, stdio and sqlite still work. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "db.h"
#include "sandbox.h"
#include "tap.h"

int
main(void)
{
	char dir[] = "/tmp/t_sandbox.XXXXXX", path[64];
	char *const argv[] = { "/bin/true", NULL };
	struct db *db = NULL;
	struct err e = {0};
	int64_t n = 0;
	FILE *f;
	int fd, sv[2];

	if (mkdtemp(dir) == NULL)
		return 1;
	if (sandbox_enter(&e) != 0) {
		printf("1..0 # SKIP %s\n", err_str(&e));
		return 0;
	}
	is_int(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1, "no_new_privs set");
	errno = 0;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ok(fd < 0 && errno == EPERM, "socket(AF_INET) fails with EPERM");
	errno = 0;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ok(fd < 0 && errno == EPERM, "socket(AF_UNIX) fails with EPERM");
	errno = 0;
	ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 && errno == EPERM,
	    "socketpair fails with EPERM");
	errno = 0;
	ok(execv(argv[0], argv) < 0 && errno == EPERM,
	    "execve fails with EPERM");
	snprintf(path, sizeof path, "%s/f", dir);
	ok((f = fopen(path, "w")) != NULL && fputs("x\n", f) >= 0 &&
	    fclose(f) == 0, "a file can still be written");
	snprintf(path, sizeof path, "%s/t.db", dir);
	is_int(db_open(path, DB_OPEN_CREATE, &db, &e), 0, "sqlite opens a "
	    "database in WAL mode");
	is_int(db_exec(db, &e, "CREATE TABLE t (x)", ""), 0, "and writes");
	is_int(db_int64(db, &n, &e, "SELECT count(*) FROM t", ""), 0,
	    "and reads");
	db_close(db);
	for (fd = 0; fd < 4; fd++) {
		snprintf(path, sizeof path, "%s/%s", dir,
		    (const char *[]){ "f", "t.db", "t.db-wal", "t.db-shm" }[fd]);
		unlink(path);
	}
	rmdir(dir);
	err_free(&e);
	return tap_done();
}
