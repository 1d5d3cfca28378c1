/*
 * spool-writer - load for the crash test (tests/11-spool-crash.sh): commits
 * jobs into queue "incoming" as fast as it can, logging each committed id
 * (fsynced) to LOG; every third job is rewritten into "policy" the way a
 * stage does it (write the new version, then remove the old one), every
 * fifth is moved to "done" with spool_move. It is meant to be killed.
 *
 *     spool-writer HOME LOG [N]      write N jobs (default: until killed;
 *                                    0: only create the spool)
 *     spool-writer --recover HOME    lock, empty every tmp/, print the count
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "diag.h"
#include "num.h"
#include "rec.h"
#include "spool.h"

static int
recover(const char *home)
{
	struct spool *sp = NULL;
	struct err e = {0};
	size_t n = 0;
	int rc;

	if ((rc = spool_open(home, &sp, &e)) != 0 ||
	    (rc = spool_lock(sp, &e)) != 0 ||
	    (rc = spool_recover(sp, &n, &e)) != 0)
		diag_err(&e);
	else
		printf("%zu\n", n);
	spool_close(sp);
	err_free(&e);
	return rc;
}

/* The record as it leaves a stage: its bytes into out. */
static int
job(struct rec *r, unsigned long i, const char *stage, struct buf *out,
    struct err *e)
{
	unsigned char der[4096];
	struct buf b = {0};
	size_t n = 1 + (i * 37) % sizeof der;
	int rc;

	memset(der, (int)(i & 0xff), n);
	buf_printf(&b, "%lu", i);
	if ((rc = rec_set(r, "Attempt", b.p, e)) != 0 ||
	    (rc = rec_set(r, "Stage", stage, e)) != 0)
		goto out;
	if (rec_npem(r) == 0 &&
	    (rc = rec_add_pem(r, "CERTIFICATE REQUEST", der, n, e)) != 0)
		goto out;
	buf_reset(out);
	rec_write(r, out);
out:
	buf_free(&b);
	return rc;
}

static int
run(const char *home, const char *log, uint64_t max)
{
	struct spool *sp = NULL;
	struct rec *r = NULL;
	struct buf data = {0};
	struct err e = {0};
	char line[REC_ID_LEN + 1];
	unsigned long i;
	int fd = -1, rc;

	if ((rc = spool_init(home, &e)) != 0 ||
	    (rc = spool_open(home, &sp, &e)) != 0)
		goto out;
	if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) < 0) {
		rc = err_set(&e, EX_CANTCREAT, "%s: cannot open", log);
		goto out;
	}
	for (i = 0; i < max; i++) {
		r = rec_new();
		if ((rc = job(r, i, "incoming", &data, &e)) != 0 ||
		    (rc = spool_put(sp, "incoming", rec_id(r), data.p,
		    data.len, &e)) != 0)
			goto out;
		/* committed: only now may it be logged */
		memcpy(line, rec_id(r), REC_ID_LEN);
		line[REC_ID_LEN] = '\n';
		if (write(fd, line, sizeof line) != (ssize_t)sizeof line ||
		    fsync(fd) < 0) {
			rc = err_set(&e, EX_IOERR, "%s: write failed", log);
			goto out;
		}
		if (i % 3 == 0) {
			if ((rc = job(r, i, "policy", &data, &e)) != 0 ||
			    (rc = spool_put(sp, "policy", rec_id(r), data.p,
			    data.len, &e)) != 0 ||
			    (rc = spool_remove(sp, "incoming", rec_id(r),
			    &e)) != 0)
				goto out;
		} else if (i % 5 == 0 &&
		    (rc = spool_move(sp, "incoming", "done", rec_id(r),
		    &e)) != 0)
			goto out;
		spool_trigger_pull(sp);
		rec_free(r);
		r = NULL;
	}
	rc = 0;
out:
	if (rc)
		diag_err(&e);
	if (fd >= 0)
		close(fd);
	rec_free(r);
	spool_close(sp);
	buf_free(&data);
	err_free(&e);
	return rc;
}

int
main(int argc, char **argv)
{
	struct err e = {0};
	uint64_t max = UINT64_MAX;

	diag_init(argv[0]);
	if (argc == 3 && strcmp(argv[1], "--recover") == 0)
		return recover(argv[2]);
	if (argc == 4 && num_u64("N", argv[3], 0, UINT64_MAX, &max, &e) != 0)
		return diag_err(&e);
	if (argc != 3 && argc != 4) {
		diag("usage: spool-writer HOME LOG [N] | --recover HOME");
		return EX_USAGE;
	}
	return run(argv[1], argv[2], max);
}
