/* t_spool - the queue: commit, list, move, remove, recovery, lock, trigger. */
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "rec.h"
#include "spool.h"
#include "tap.h"

#define A "aaaaaaaa-0000-4000-8000-000000000001"
#define B "bbbbbbbb-0000-4000-8000-000000000002"
#define C "cccccccc-0000-4000-8000-000000000003"

static char home[64];

static char *
at(const char *rel)
{
	struct buf b = {0};

	buf_printf(&b, "%s/%s", home, rel);
	return buf_steal(&b);
}

static int
exists(const char *rel)
{
	char *p = at(rel);
	int r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* Give a committed job a known age, so list order is testable. */
static void
age(const char *q, const char *id, time_t t)
{
	struct buf b = {0};
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	buf_printf(&b, "%s/queue/%s/new/%s", home, q, id);
	if (utimensat(AT_FDCWD, b.p, ts, 0) < 0)
		printf("# utimensat %s: %s\n", b.p, strerror(errno));
	buf_free(&b);
}

/* Only what spool_put wrote is read as a job: not a link someone named
 * like one (which would read what they cannot), not a FIFO (which would
 * block), not a file with a second link. */
static void
test_foreign(void)
{
	static const char *const ids[] = {
		"e1000000-0000-4000-8000-000000000001",
		"e1000000-0000-4000-8000-000000000002",
		"e1000000-0000-4000-8000-000000000003",
	};
	struct spool *sp = NULL;
	struct buf b = {0}, p = {0}, q = {0};
	struct err e = {0};
	size_t i;

	spool_open(home, &sp, &e);
	buf_printf(&p, "%s/queue/incoming/new/%s", home, ids[0]);
	ok(symlink("/etc/passwd", p.p) == 0, "a link named like a job");
	buf_reset(&p);
	buf_printf(&p, "%s/queue/incoming/new/%s", home, ids[1]);
	if (!ok(mkfifo(p.p, 0600) == 0, "a FIFO named like a job"))
		printf("#   mkfifo %s: %s\n", p.p, strerror(errno));
	is_int(spool_put(sp, "incoming", ids[2], "x\n", 2, &e), 0, "a job");
	buf_reset(&p);
	buf_printf(&p, "%s/queue/incoming/new/%s", home, ids[2]);
	buf_printf(&q, "%s/second-link", home);
	ok(link(p.p, q.p) == 0, "with a second link");
	for (i = 0; i < 3; i++) {
		buf_reset(&b);
		is_int(spool_read(sp, "incoming", ids[i], &b, &e), EX_DATAERR,
		    "%s is refused, at once", ids[i]);
		is_int(b.len, 0, "nothing read");
	}
	unlink(q.p);
	buf_reset(&b);
	is_int(spool_read(sp, "incoming", ids[2], &b, &e), 0,
	    "the job alone again reads");
	/* a commit by link() caught before its unlink: the second name is
	 * the job's own tmp/ name, so it is not there yet, not refused */
	buf_reset(&q);
	buf_printf(&q, "%s/queue/incoming/tmp/%s", home, ids[2]);
	ok(link(p.p, q.p) == 0, "a second link as tmp/ID");
	buf_reset(&b);
	is_int(spool_read(sp, "incoming", ids[2], &b, &e), EX_NOINPUT,
	    "a job being committed is not there yet");
	ok(strstr(err_str(&e), "being committed") != NULL, "and says so: %s",
	    err_str(&e));
	unlink(q.p);
	err_free(&e);
	e = (struct err){0};
	for (i = 0; i < 3; i++)
		spool_remove(sp, "incoming", ids[i], &e);
	spool_close(sp);
	buf_free(&b);
	buf_free(&p);
	buf_free(&q);
	err_free(&e);
}

static void
touch(const char *rel)
{
	char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (fd >= 0)
		close(fd);
	free(p);
}

static void
test_init(void)
{
	struct err e = {0};
	struct stat st;
	const char *const *q;
	char *p;
	int n = 0;

	is_int(spool_init(home, &e), 0, "init");
	is_int(spool_init(home, &e), 0, "init again (idempotent)");
	for (q = spool_queues(); *q; q++, n++) {
		struct buf b = {0};
		buf_printf(&b, "queue/%s/tmp", *q);
		ok(exists(b.p), "%s exists", b.p);
		buf_reset(&b);
		buf_printf(&b, "queue/%s/new", *q);
		p = at(b.p);
		ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700,
		    "%s is 0700", b.p);
		free(p);
		buf_free(&b);
	}
	is_int(n, 10, "ten queues");
	is_str(spool_queues()[0], "incoming", "first queue");
	is_str(spool_queues()[9], "deferred", "last queue");
	p = at("trigger");
	ok(stat(p, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    (st.st_mode & 0777) == 0620, "trigger is a 0620 FIFO");
	free(p);
	ok(exists("queue/lock"), "queue/lock exists");
	err_free(&e);
}

static void
test_ids(void)
{
	static const struct {
		const char *id;
		int ok;
	} t[] = {
		{ A, 1 },
		{ "0b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e11", 1 },
		{ "0B6F8A52-3C1E-4F57-9A0E-2F0A5C1D7E11", 0 },
		{ "0b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e1", 0 },
		{ "0b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e111", 0 },
		{ "0b6f8a523c1e-4f57-9a0e-2f0a5c1d7e11-", 0 },
		{ "0b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e1g", 0 },
		{ "../x", 0 },
		{ "../../../../../../../../../../../etc/passwd", 0 },
		{ "", 0 },
		{ ".", 0 },
	};
	struct spool *sp = NULL;
	struct err e = {0};
	struct buf got = {0};
	char id[37];
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		is_int(spool_id_ok(t[i].id), t[i].ok, "id '%s'", t[i].id);
	spool_newid(id);
	ok(spool_id_ok(id), "spool_newid gives a valid id");
	is_int(spool_open(home, &sp, &e), 0, "open");
	is_int(spool_put(sp, "incoming", "../x", "x", 1, &e), EX_DATAERR,
	    "put ../x refused");
	ok(!exists("queue/incoming/x") && !exists("queue/x"),
	    "nothing written outside the queue");
	is_int(spool_read(sp, "incoming", "../../trigger", &got, &e),
	    EX_DATAERR, "read ../../trigger refused");
	is_int(spool_remove(sp, "incoming", "../tmp/x", &e), EX_DATAERR,
	    "remove ../tmp/x refused");
	is_int(spool_move(sp, "incoming", "sign", "..", &e), EX_DATAERR,
	    "move .. refused");
	is_int(spool_put(sp, "../etc", A, "x", 1, &e), EX_SOFTWARE,
	    "unknown queue refused");
	is_int(spool_move(sp, "incoming", "nowhere", A, &e), EX_SOFTWARE,
	    "move to an unknown queue refused");
	spool_close(sp);
	buf_free(&got);
	err_free(&e);
}

static void
test_jobs(void)
{
	struct spool *sp = NULL;
	struct err e = {0};
	struct buf got = {0};
	char **ids = NULL;
	size_t n = 0, i;

	is_int(spool_open(home, &sp, &e), 0, "open");
	is_int(spool_put(sp, "incoming", B, "job b\n", 6, &e), 0, "put B");
	is_int(spool_put(sp, "incoming", A, "job a\n", 6, &e), 0, "put A");
	is_int(spool_put(sp, "incoming", C, "job c\n", 6, &e), 0, "put C");
	ok(!exists("queue/incoming/tmp/" A), "nothing left in tmp/");
	age("incoming", C, 1000);
	age("incoming", A, 2000);
	age("incoming", B, 2000);
	touch("queue/incoming/new/not-a-job");
	touch("queue/incoming/new/.hidden");
	is_int(spool_list(sp, "incoming", &ids, &n, &e), 0, "list");
	is_int((long long)n, 3, "list skips what is not an id");
	if (n == 3) {
		is_str(ids[0], C, "oldest first");
		is_str(ids[1], A, "same age: by name");
		is_str(ids[2], B, "then B");
	}
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	is_int(spool_count(sp, "incoming", &n, &e), 0, "count");
	is_int((long long)n, 3, "count is 3");
	is_int(spool_read(sp, "incoming", A, &got, &e), 0, "read A");
	is_str(got.p, "job a\n", "read A content");
	is_int(spool_put(sp, "incoming", A, "again\n", 6, &e), EX_CANTCREAT,
	    "put of a committed id: EX_CANTCREAT");
	buf_reset(&got);
	spool_read(sp, "incoming", A, &got, &e);
	is_str(got.p, "job a\n", "the committed job is unchanged");
	ok(!exists("queue/incoming/tmp/" A), "refused put leaves no tmp/");

	is_int(spool_move(sp, "incoming", "sign", A, &e), 0, "move A to sign");
	ok(!exists("queue/incoming/new/" A) && exists("queue/sign/new/" A),
	    "A is in sign only");
	is_int(spool_move(sp, "incoming", "sign", A, &e), EX_NOINPUT,
	    "move of a missing job: EX_NOINPUT");
	is_int(spool_put(sp, "incoming", A, "copy\n", 5, &e), 0,
	    "put A in incoming again");
	is_int(spool_move(sp, "incoming", "sign", A, &e), EX_CANTCREAT,
	    "move onto a committed id: EX_CANTCREAT");
	buf_reset(&got);
	spool_read(sp, "sign", A, &got, &e);
	is_str(got.p, "job a\n", "the target is unchanged");
	ok(exists("queue/incoming/new/" A), "the source is kept");

	is_int(spool_remove(sp, "incoming", A, &e), 0, "remove A");
	is_int(spool_remove(sp, "incoming", A, &e), EX_NOINPUT,
	    "remove again: EX_NOINPUT");
	buf_reset(&got);
	is_int(spool_read(sp, "incoming", A, &got, &e), EX_NOINPUT,
	    "read a removed job: EX_NOINPUT");
	spool_close(sp);
	buf_free(&got);
	err_free(&e);
}

static void
test_recover(void)
{
	struct spool *sp = NULL;
	struct err e = {0};
	size_t removed = 99;

	is_int(spool_open(home, &sp, &e), 0, "open");
	touch("queue/sign/tmp/" C);		/* a crashed write */
	touch("queue/done/tmp/junk");
	touch("queue/deferred/tmp/" B);
	is_int(spool_put(sp, "sign", C, "x", 1, &e), EX_TEMPFAIL,
	    "put over a crash leftover: EX_TEMPFAIL");
	ok(exists("queue/sign/tmp/" C), "the leftover is not the writer's "
	    "to remove");
	is_int(spool_lock(sp, &e), 0, "lock");
	is_int(spool_recover(sp, &removed, &e), 0, "recover");
	is_int((long long)removed, 3, "recover removed 3 files");
	ok(!exists("queue/sign/tmp/" C) && !exists("queue/done/tmp/junk") &&
	    !exists("queue/deferred/tmp/" B), "tmp/ is empty");
	ok(exists("queue/sign/new/" A), "committed jobs are kept");
	is_int(spool_put(sp, "sign", C, "x", 1, &e), 0,
	    "put works after recovery");
	is_int(spool_recover(sp, NULL, &e), 0, "recover with NULL count");
	spool_close(sp);
	err_free(&e);
}

/* The child's exit status: the code its spool_lock returned. */
static int
lock_in_child(void)
{
	struct spool *sp = NULL;
	struct err e = {0};
	pid_t pid;
	int st, rc;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		if (spool_open(home, &sp, &e) != 0)
			_exit(100);
		rc = spool_lock(sp, &e);
		if (rc == EX_TEMPFAIL && strcmp(err_str(&e),
		    "spool is locked by another process") != 0)
			rc = 101;
		spool_close(sp);
		err_free(&e);
		_exit(rc);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
test_lock(void)
{
	struct spool *sp = NULL;
	struct err e = {0};

	is_int(spool_open(home, &sp, &e), 0, "open");
	is_int(lock_in_child(), 0, "unlocked: another process may lock");
	is_int(spool_lock(sp, &e), 0, "lock");
	is_int(lock_in_child(), EX_TEMPFAIL,
	    "locked: another process gets EX_TEMPFAIL");
	spool_close(sp);
	is_int(lock_in_child(), 0, "closed: the lock is free again");
	err_free(&e);
}

static int
readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void
test_trigger(void)
{
	struct spool *sp = NULL;
	struct err e = {0};
	struct timespec t0, t1;
	pid_t pid;
	int fd = -1, st;
	long ms;

	is_int(spool_open(home, &sp, &e), 0, "open");
	spool_trigger_pull(sp);
	ok(1, "pull without a reader returns at once");
	is_int(spool_trigger_fd(sp, &fd, &e), 0, "trigger fd");
	ok(!readable(fd, 0), "quiet before a pull");
	spool_trigger_pull(sp);
	spool_trigger_pull(sp);
	ok(readable(fd, 1000), "a pull makes it readable");
	spool_trigger_drain(fd);
	ok(!readable(fd, 0), "drained: quiet again (and no EOF)");

	/* another process pokes while we sleep in poll() */
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) == 0) {
		struct timespec d = { 0, 50 * 1000 * 1000 };
		nanosleep(&d, NULL);
		spool_trigger_pull(sp);
		_exit(0);
	}
	ok(readable(fd, 5000), "a pull from another process wakes poll()");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ok(ms < 2000, "woken in %ld ms, not by the timeout", ms);
	waitpid(pid, &st, 0);
	spool_trigger_drain(fd);
	/* many pulls with nobody draining never block the writer */
	for (st = 0; st < 100000; st++)
		spool_trigger_pull(sp);
	ok(1, "100000 pulls into a full FIFO return");
	spool_trigger_drain(fd);
	ok(!readable(fd, 0), "drained after a full FIFO");
	close(fd);
	spool_close(sp);
	err_free(&e);
}

static void
test_open(void)
{
	struct spool *sp = (struct spool *)1;
	struct err e = {0};
	struct buf b = {0};

	buf_printf(&b, "%s/nothing", home);
	is_int(spool_open(b.p, &sp, &e), EX_CONFIG,
	    "open of a home without a spool");
	ok(sp == NULL, "no spool returned");
	spool_close(NULL);
	buf_free(&b);
	err_free(&e);
}


/* A minimal record with Id id, as a stage writes it. */
static void
rec_text(struct buf *b, const char *id, const char *extra)
{
	buf_reset(b);
	buf_printf(b, "CERTPIPE-RECORD 1\nId: %s\n%s\nEND-RECORD %s\n", id,
	    extra, id);
}

static void
test_dedup(void)
{
	static const struct {
		const char *id, *queues[3], *keep;
	} t[] = {
		{ "d0000000-0000-4000-8000-000000000001",
		  { "incoming", "done", NULL }, "done" },
		{ "d0000000-0000-4000-8000-000000000002",
		  { "incoming", "failed", NULL }, "failed" },
		{ "d0000000-0000-4000-8000-000000000003",
		  { "incoming", "held", NULL }, "held" },
		{ "d0000000-0000-4000-8000-000000000004",
		  { "incoming", "deferred", NULL }, "deferred" },
		{ "d0000000-0000-4000-8000-000000000005",
		  { "deferred", "held", "done" }, "done" },
		{ "d0000000-0000-4000-8000-000000000006",
		  { "failed", "done", NULL }, "done" },
		{ "d0000000-0000-4000-8000-000000000007",
		  { "incoming", NULL, NULL }, "incoming" },
	};
	static const char *const five[] = {
		"incoming", "deferred", "held", "failed", "done"
	};
	struct spool *sp = NULL;
	struct err e = {0};
	struct buf b = {0}, rel = {0};
	size_t i, j, removed = 0;
	int n;

	is_int(spool_open(home, &sp, &e), 0, "open");
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		for (j = 0; j < 3 && t[i].queues[j]; j++) {
			rec_text(&b, t[i].id, "");
			spool_put(sp, t[i].queues[j], t[i].id, b.p, b.len, &e);
		}
	/* a job in a queue the scheduler does not use is left alone */
	rec_text(&b, t[0].id, "");
	is_int(spool_put(sp, "deploy", t[0].id, b.p, b.len, &e), 0,
	    "put a copy into deploy");
	is_int(spool_lock(sp, &e), 0, "lock");
	is_int(spool_dedup(sp, &removed, &e), 0, "dedup");
	is_int((long long)removed, 7, "dedup removed 7 earlier copies");
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (j = 0, n = 0; j < 5; j++) {
			buf_reset(&rel);
			buf_printf(&rel, "queue/%s/new/%s", five[j], t[i].id);
			if (!exists(rel.p))
				continue;
			n++;
			is_str(five[j], t[i].keep, "%s kept in %s", t[i].id,
			    t[i].keep);
		}
		is_int(n, 1, "%s is in one queue", t[i].id);
	}
	ok(exists("queue/deploy/new/d0000000-0000-4000-8000-000000000001"),
	    "other queues are not touched");
	is_int(spool_dedup(sp, NULL, &e), 0, "dedup again (NULL count)");
	spool_close(sp);
	buf_free(&b);
	buf_free(&rel);
	err_free(&e);
}

struct seen {
	char name[64], id[37], queue[16];
	int n;
};

static void
seen_fn(const char *name, const char *id, const char *q, void *ctx)
{
	struct seen *s = ctx;

	snprintf(s->name, sizeof s->name, "%s", name ? name : "(null)");
	snprintf(s->id, sizeof s->id, "%s", id);
	snprintf(s->queue, sizeof s->queue, "%s", q);
	s->n++;
}

/* Write rel with content, then adopt; s says what became of it. */
static struct rec *
adopt_one(const char *rel, const char *content, size_t len, struct seen *s)
{
	struct spool *sp = NULL;
	struct err e = {0};
	struct buf b = {0}, p = {0};
	struct rec *r = NULL;
	size_t n = 99;
	int fd;

	memset(s, 0, sizeof *s);
	buf_printf(&p, "%s/%s", home, rel);
	if ((fd = open(p.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) >= 0) {
		if (write(fd, content, len) < 0)
			printf("# write: %s\n", strerror(errno));
		close(fd);
	}
	spool_open(home, &sp, &e);
	is_int(spool_adopt(sp, seen_fn, s, &n, &e), 0, "adopt %s", rel);
	is_int((long long)n, 1, "one job");
	ok(!exists(rel), "%s is gone", rel);
	if (s->n == 1 && spool_read(sp, s->queue, s->id, &b, &e) == 0 &&
	    rec_parse(b.p, b.len, &r, &e) != 0)
		printf("# %s\n", err_str(&e));
	ok(r != NULL, "%s: a whole record in %s", rel, s->queue);
	spool_close(sp);
	buf_free(&b);
	buf_free(&p);
	err_free(&e);
	return r;
}

static void
test_adopt(void)
{
	static const char pem[] = "-----BEGIN CERTIFICATE REQUEST-----\r\n"
	    "MAMCAQA=\r\n-----END CERTIFICATE REQUEST-----\r\n";
	static const char junk[] = "not a request";
	const unsigned char *der;
	struct spool *sp = NULL;
	struct err e = {0};
	struct buf b = {0};
	struct seen s;
	struct rec *r;
	size_t len, n = 99;
	char *p = at("queue/incoming/new/not-a-job");

	unlink(p);	/* test_jobs' file: not what this test drops */
	free(p);
	r = adopt_one("queue/incoming/new/a.csr", pem, sizeof pem - 1, &s);
	is_str(s.queue, "incoming", "a PEM request goes to incoming");
	is_str(s.name, "a.csr", "fn hears the file name");
	if (r) {
		is_str(rec_id(r), s.id, "the record's Id is the job id");
		is_str(rec_get(r, "Type"), "csr", "Type csr");
		is_str(rec_get(r, "Source"), "spool", "Source spool");
		is_str(rec_get(r, "Requested-By"), getpwuid(geteuid()) ?
		    getpwuid(geteuid())->pw_name : NULL,
		    "Requested-By is the owner's login name");
		is_str(rec_get(r, "Realm"), "default", "Realm default");
		ok(rec_find_pem(r, "CERTIFICATE REQUEST", &der, &len) &&
		    len == 5 && memcmp(der, "\x30\x03\x02\x01\x00", 5) == 0,
		    "the PEM is decoded (CRs dropped)");
		ok(rec_get(r, "Status") == NULL, "no Status: it is to run");
	}
	rec_free(r);

	r = adopt_one("queue/incoming/new/junk", junk, sizeof junk - 1, &s);
	is_str(s.queue, "incoming", "junk goes to incoming, for parse-csr "
	    "to refuse");
	ok(r && rec_find_pem(r, "CERTIFICATE REQUEST", &der, &len) &&
	    len == sizeof junk - 1 && memcmp(der, junk, len) == 0,
	    "junk is carried as it is");
	rec_free(r);

	r = adopt_one("queue/incoming/new/empty", "", 0, &s);
	is_str(s.queue, "failed", "an empty drop-in goes to failed");
	is_str(r ? rec_get(r, "Error") : NULL, "drop-in is empty",
	    "with its reason");
	is_str(r ? rec_get(r, "Status") : NULL, "failed", "Status failed");
	rec_free(r);

	rec_text(&b, "e0000000-0000-4000-8000-000000000001",
	    "Template: web\nStatus: complete\nRequested-By: admin\n"
	    "\n-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n"
	    "-----END CERTIFICATE REQUEST-----");
	r = adopt_one("queue/incoming/new/r.rec", b.p, b.len, &s);
	is_str(s.queue, "incoming", "a record goes to incoming");
	if (r) {
		ok(strcmp(rec_id(r), "e0000000-0000-4000-8000-000000000001"),
		    "under a new id");
		is_str(rec_get(r, "Template"), "web", "Template kept");
		ok(rec_get(r, "Status") == NULL, "Status dropped");
		ok(strcmp(rec_get(r, "Requested-By"), "admin") != 0,
		    "Requested-By is the owner's");
		is_int((long long)rec_count(r, "Requested-By"), 1,
		    "one Requested-By");
	}
	rec_free(r);

	rec_text(&b, "e0000000-0000-4000-8000-000000000002",
	    "\n-----BEGIN NEW CERTIFICATE REQUEST-----\nMAMCAQA=\n"
	    "-----END NEW CERTIFICATE REQUEST-----");
	r = adopt_one("queue/incoming/new/new.rec", b.p, b.len, &s);
	ok(r && rec_find_pem(r, "CERTIFICATE REQUEST", &der, &len) &&
	    len == 5, "a NEW CERTIFICATE REQUEST block is relabelled");
	rec_free(r);

	rec_text(&b, "e0000000-0000-4000-8000-000000000003", "Template: web\n");
	r = adopt_one("queue/incoming/new/norequest.rec", b.p, b.len, &s);
	is_str(s.queue, "failed", "a record without a request: failed");
	is_str(r ? rec_get(r, "Error") : NULL, "drop-in record carries no "
	    "CERTIFICATE REQUEST", "with its reason");
	rec_free(r);

	/* the ids: no drop-in; dotfiles: still being written */
	touch("queue/incoming/new/.partial");
	spool_open(home, &sp, &e);
	is_int(spool_adopt(sp, NULL, NULL, &n, &e), 0, "adopt (no fn)");
	is_int((long long)n, 0, "a dotfile is not adopted");
	ok(exists("queue/incoming/new/.partial"), "and is left alone");

	/* a crash after staging: finished under the staged id */
	touch("queue/incoming/adopt/f0000000-0000-4000-8000-000000000001");
	memset(&s, 0, sizeof s);
	is_int(spool_adopt(sp, seen_fn, &s, &n, &e), 0, "adopt resumes");
	is_str(s.id, "f0000000-0000-4000-8000-000000000001", "same id");
	is_str(s.name, "(null)", "fn hears no name");
	ok(exists("queue/failed/new/f0000000-0000-4000-8000-000000000001") &&
	    !exists("queue/incoming/adopt/f0000000-0000-4000-8000-"
	    "000000000001"), "committed (empty: failed), staged file gone");
	/* a crash after the commit: no second job */
	rec_text(&b, "f0000000-0000-4000-8000-000000000002", "");
	spool_put(sp, "incoming", "f0000000-0000-4000-8000-000000000002", b.p,
	    b.len, &e);
	touch("queue/incoming/adopt/f0000000-0000-4000-8000-000000000002");
	is_int(spool_adopt(sp, NULL, NULL, &n, &e), 0, "adopt resumes");
	buf_reset(&b);
	spool_read(sp, "incoming", "f0000000-0000-4000-8000-000000000002", &b,
	    &e);
	ok(strstr(buf_str(&b), "Id: f0000000-0000-4000-8000-000000000002\n\n")
	    != NULL, "the committed job is kept as it was");
	ok(!exists("queue/incoming/adopt/f0000000-0000-4000-8000-"
	    "000000000002"), "the staged file is gone");
	is_int(spool_lock_fd(sp), -1, "lock_fd: -1 when not locked");
	is_int(spool_lock(sp, &e), 0, "lock");
	ok(spool_lock_fd(sp) >= 0, "lock_fd when locked");
	spool_close(sp);
	buf_free(&b);
	err_free(&e);
}

/* spool_wrap, the bytes half of adoption, on its own. */
static void
test_wrap(void)
{
	static const char two[] = "-----BEGIN CERTIFICATE REQUEST-----\n"
	    "MAMCAQA=\n-----END CERTIFICATE REQUEST-----\n"
	    "-----BEGIN CERTIFICATE REQUEST-----\n"
	    "MAMCAQA=\n-----END CERTIFICATE REQUEST-----\n";
	const unsigned char *der;
	struct rec *r = NULL;
	struct err e = {0};
	size_t len;
	int final = 0;

	is_int(spool_wrap("../x", "t", "x", 1, &r, &final, &e),
	    EX_DATAERR, "wrap: a bad id refused");
	ok(r == NULL && final == 1, "wrap: nothing made");
	is_int(spool_wrap(A, "t\nStatus: done", "x", 1, &r, &final,
	    &e), EX_DATAERR, "wrap: an owner of two lines refused");
	is_int(spool_wrap(A, "t", "\x30\x03\x02\x01\x00", 5, &r,
	    &final, &e), 0, "wrap: DER");
	ok(r && !final && strcmp(rec_id(r), A) == 0 &&
	    rec_find_pem(r, "CERTIFICATE REQUEST", &der, &len) && len == 5,
	    "wrap: DER carried as it is, under the id given, to run");
	is_str(r ? rec_get(r, "Requested-By") : NULL, "t",
	    "wrap: Requested-By the owner given");
	rec_free(r);
	r = NULL;
	is_int(spool_wrap(A, "t", two, sizeof two - 1, &r, &final, &e),
	    0, "wrap: two PEM blocks");
	ok(r && final, "wrap: two PEM blocks cannot run");
	is_str(r ? rec_get(r, "Status") : NULL, "failed", "wrap: failed");
	is_str(r ? rec_get(r, "Error-Code") : NULL, "65", "wrap: 65");
	rec_free(r);
	err_free(&e);
}

int
main(void)
{
	struct buf cmd = {0};

	snprintf(home, sizeof home, "%s", "/tmp/t_spool.XXXXXX");
	if (mkdtemp(home) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_init();
	test_ids();
	test_jobs();
	test_recover();
	test_lock();
	test_trigger();
	test_open();
	test_dedup();
	test_adopt();
	test_foreign();
	test_wrap();
	buf_printf(&cmd, "rm -rf '%s'", home);
	if (system(cmd.p) != 0)
		printf("# could not remove %s\n", home);
	buf_free(&cmd);
	return tap_done();
}
