/*
 * scheduler - move jobs through the spool queues, running the issuance
 * stages over them in batches.
 *
 * A batch is up to --batch jobs from queue/incoming written into ONE
 * pipeline "parse-csr | check-policy | sign" (the binaries next to this
 * one); each record that comes back is committed to done, held,
 * deferred or failed by its Status before its incoming copy is removed.
 * States and crash windows: certpipe-spool(5).
 * After incoming, queue/dcv the same way: ACME challenge validation
 * jobs through "dcv | dcv-apply" (the checks, then their results into
 * the database); undecided ones are deferred with a shorter backoff and
 * come back to queue/dcv.
 *
 * Trust: runs as the instance's owner. It holds no key; a passphrase
 * given on --passphrase-fd is kept in memory and relayed to each sign on
 * a pipe, never put in an argv or a log. It opens the database only for
 * bookkeeping the stages cannot do: failing the order of a job it gives
 * up on, and putting back jobs a crash lost (lib/requeue.h).
 * Drop-ins are hostile; only lib/spool.c reads them, and only to wrap
 * them. It must never lose a job nor run one through two pipelines at
 * once: it holds the spool lock for life, and so do its stages.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <popt.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include "audit.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "diag.h"
#include "fs.h"
#include "keys.h"
#include "num.h"
#include "order.h"
#include "realm.h"
#include "rec.h"
#include "requeue.h"
#include "spool.h"

/* parse-csr reads its whole input first, up to 4 MiB: stay well under */
#define BATCH_BYTES (2 * 1024 * 1024)
#define BACKOFF_FIRST 30
#define DCV_BACKOFF_FIRST 5	/* DNS propagation, a server starting */
#define BACKOFF_MAX 3600
#define NSTAGES 3
#define SWEEP_EVERY 60	/* seconds between looks for lost jobs (daemon) */
#define PUBLISH_EVERY 10	/* seconds between publish runs (daemon) */

static const char *const stages[NSTAGES] = {
	"parse-csr", "check-policy", "sign"
};
static const char *const dcv_stages[] = { "dcv", "dcv-apply" };

/* A line: the queue its batches come from, the programs they run
 * through, and the first retry delay of a deferred job. */
struct line {
	const char *queue;
	const char *const *stages;
	int nstages;
	time_t backoff_first;
};
static const struct line lines[] = {
	{ "incoming", stages, NSTAGES, BACKOFF_FIRST },
	{ "dcv", dcv_stages, 2, DCV_BACKOFF_FIRST },
};
#define NLINES (sizeof lines / sizeof lines[0])

#ifndef CERTPIPE_BINDIR
#define CERTPIPE_BINDIR "/usr/local/bin"
#endif

/* After the queues, the status services: each publisher decides itself
 * what is due (exit 1: nothing) and takes its own lock. The first
 * NRENEWERS renew the delegated OCSP and TSA signers before they expire:
 * they only queue jobs, which a pass issues (ocsp-sign --due then
 * re-signs with the new OCSP signer), so with --once a renewal makes one
 * more pass. */
#define NRENEWERS 2
static const char *const publishers[][5] = {
	{ "certpipe", "ocsp", "rotate", "--due", NULL },
	{ "certpipe", "tsa", "rotate", "--due", NULL },
	{ "publish-crl", "--due", NULL },
	{ "ocsp-sign", "--due", NULL },
};
#define NPUBLISHERS (sizeof publishers / sizeof publishers[0])

/* What a retried job must not carry into the stages again: they pass a
 * failed record on untouched and add their findings anew. */
static const char *const retry_strip[] = {
	"Status", "Error", "Error-Code", "Stage", "Retry-At", "Warning",
	"Verdict", NULL
};

/* Set by SIGTERM/SIGINT; the handler also writes to wake_fd (a pipe
 * the daemon polls) so a signal during its sleep ends it at once. */
static volatile sig_atomic_t stopping;
static int wake_fd = -1;

struct opts {
	char *home;
	char *template;		/* for check-policy: jobs that name none */
	char *passfile;		/* for sign, as it is */
	int passfd;		/* read once, relayed to each sign */
	int once;
	uint64_t batch, interval, max_attempts;
};

struct run {
	struct spool *sp;
	const struct opts *o;
	char *bindir;		/* where the stage programs are */
	size_t handled;		/* jobs that reached done/held/failed/deferred */
	int first;		/* the first failure's code (--once) */
	time_t next_retry;	/* earliest Retry-At in deferred, 0: none */
	struct secret pass;	/* from --passphrase-fd, else empty */
	int single;		/* a pipeline died this pass: one job a
				   batch, so only the job that kills a
				   stage pays an attempt for it */
	const char *home;
	struct db *db;		/* opened on first need */
	char *actor;		/* for audit events */
	time_t next_sweep;	/* when to look for lost jobs again */
	time_t next_publish;	/* when to run the publishers again */
	int publish_pending;	/* a pass came too soon after a publish */
};

struct batch {
	const struct line *ln;
	char **ids;		/* sorted, for bsearch */
	unsigned char *seen;
	size_t n;
	struct buf in, out;	/* records to the pipeline, bytes back */
	size_t inoff, outoff;
	pid_t pid[NSTAGES];
	size_t done, held, failed, deferred, lost;
	int rc;			/* a spool error that ends the run */
	int full;		/* load stopped at --batch or the byte cap */
};

/* The daemon's issuance line: one pipeline that outlives the passes.
 * b holds the jobs in flight (written, not yet returned) and the bytes
 * not yet written. */
struct live {
	struct batch b;
	int wfd, rfd;		/* -1: not running */
	int retire;		/* write what is pending, then end its input */
	time_t started;
	char *stamp;		/* what its stages cached at start */
};

static void
on_signal(int sig)
{
	int saved = errno;

	stopping = 1;
	if (wake_fd >= 0 && write(wake_fd, "", 1) < 0) {
		/* full: a wake-up is pending anyway */
	}
	errno = saved;
}

static void
note(struct run *rn, int code)
{
	if (rn->first == 0)
		rn->first = code;
}

/* Commit the new version r of job id to q, then drop it from `from`:
 * write before remove; a copy already in q is the same job. */
static int
settle(struct run *rn, const char *from, const char *q, struct rec *r,
    struct err *e)
{
	struct buf b = {0};
	int rc;

	rec_write(r, &b);
	rc = spool_put(rn->sp, q, rec_id(r), b.p, b.len, e);
	buf_free(&b);
	if (rc != 0 && rc != EX_CANTCREAT)
		return rc;
	rc = spool_remove(rn->sp, from, rec_id(r), e);
	return rc == EX_NOINPUT ? 0 : rc;
}

static int
error_code(const struct rec *r)
{
	struct err e = {0};
	int64_t v = 0;

	if (rec_get(r, "Error-Code") == NULL ||
	    num_i64("Error-Code", rec_get(r, "Error-Code"), EX__BASE,
	    EX__MAX, &v, &e) != 0)
		v = 0;
	err_free(&e);
	return (int)v;
}

static int
fail(struct run *rn, struct batch *b, struct rec *r, struct err *e)
{
	int code = error_code(r);
	const char *why = rec_get(r, "Error");

	b->failed++;
	note(rn, code && code != EX_TEMPFAIL ? code : EX_DATAERR);
	diag("%s: failed: %s", rec_id(r), why ? why : "no reason given");
	return settle(rn, b->ln->queue, "failed", r, e);
}

static time_t
backoff(time_t first, uint64_t attempt)
{
	if (attempt > 7)
		return BACKOFF_MAX;
	return first << (attempt - 1) > BACKOFF_MAX ? BACKOFF_MAX :
	    first << (attempt - 1);
}

/* The database, opened on first need, at the schema this build knows. */
static int
database(struct run *rn, struct db **out, struct err *e)
{
	struct conf c = {0};
	char *path = NULL;
	int64_t v = 0;
	int rc = 0;

	if (rn->db == NULL) {
		if ((rc = conf_load(rn->home, &c, e)) != 0)
			goto out;
		path = conf_path(&c, "certpipe.db");
		if ((rc = db_open(path, DB_OPEN_EXISTING, &rn->db, e)) != 0 ||
		    (rc = db_int64(rn->db, &v, e, "PRAGMA user_version",
		    "")) != 0)
			goto out;
		if (v != db_schema_latest())
			rc = err_set(e, EX_CONFIG, "%s: database schema %d, "
			    "this build wants %d", path, (int)v,
			    db_schema_latest());
	}
out:
	if (rc != 0) {
		db_close(rn->db);
		rn->db = NULL;
	}
	*out = rn->db;
	conf_free(&c);
	free(path);
	return rc;
}

/* The job's order, failed with why (order_fail raises the alert) and
 * audited, in one transaction. A job no stage opened an order for yet
 * (it never reached check-policy) gets one now, in the realm it names,
 * so every given-up job has a failed order with its request. An order
 * that is finished already is left as it is. */
static int
fail_order(struct run *rn, const struct rec *r, const char *why,
    struct err *e)
{
	const char *rname = rec_get(r, "Realm") ? rec_get(r, "Realm") :
	    "default", *by = rec_get(r, "Requested-By");
	struct order o = {0};
	struct buf obj = {0};
	struct audit_ev ev;
	struct db *db;
	int64_t realm;
	int rc;

	if ((rc = database(rn, &db, e)) != 0)
		return rc;
	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = realm_id(db, rname, &realm, e)) != 0 ||
	    (rc = order_open(db, realm, r, order_type_of(r), by ? by :
	    rn->actor, &o, NULL, e)) != 0) {
		/* no such realm, or the order is another realm's: the
		 * job has no order of its own to fail */
		if (rc == EX_NOINPUT || rc == EX_NOPERM) {
			err_free(e);
			rc = 0;
		}
		goto out;
	}
	if (strcmp(o.status, "complete") == 0 ||
	    strcmp(o.status, "failed") == 0)
		goto out;
	buf_printf(&obj, "order:%s", rec_id(r));
	ev = (struct audit_ev){ "order.failed", rn->actor, rname, obj.p,
	    "failure", why };
	if ((rc = order_fail(db, o.id, EX_TEMPFAIL, why, e)) == 0)
		rc = audit_log(db, &ev, e);
out:
	if (rc == 0)
		rc = db_commit(db, e);
	if (rc != 0)
		db_rollback(db);
	order_free(&o);
	buf_free(&obj);
	return rc;
}

/* A temporary failure: to deferred with Attempt+1 and Retry-At, or to
 * failed after --max-attempts, its order failed first. A job whose order
 * cannot be marked (the database is what fails) stays deferred and is
 * given up on again at its next attempt. why (may be NULL) replaces the
 * Error. */
static int
defer(struct run *rn, struct batch *b, struct rec *r, const char *why,
    int quiet, struct err *e)
{
	struct buf v = {0}, at = {0};
	struct err e2 = {0};
	uint64_t attempt = 0;
	time_t when;
	int rc;

	if (rec_get(r, "Attempt") == NULL || num_u64("Attempt",
	    rec_get(r, "Attempt"), 0, 1000000, &attempt, &e2) != 0)
		attempt = 0;
	buf_printf(&v, "%llu", (unsigned long long)++attempt);
	rec_set(r, "Attempt", v.p, &e2);
	if (why)
		rec_set(r, "Error", why, &e2);
	if (rec_get(r, "Error") == NULL)
		rec_set(r, "Error", "temporary failure", &e2);
	rec_set(r, "Error-Code", "75", &e2);
	if (attempt >= rn->o->max_attempts) {
		buf_reset(&v);
		buf_printf(&v, "gave up after %llu attempts: %s",
		    (unsigned long long)attempt, rec_get(r, "Error"));
		/* a validation job has no pipeline order: dcv-apply
		 * gave up on its challenge already */
		if (b->ln != &lines[0] || fail_order(rn, r, v.p, &e2) == 0) {
			rec_set(r, "Error", v.p, &e2);
			rec_set(r, "Status", "failed", &e2);
			buf_free(&v);
			err_free(&e2);
			return fail(rn, b, r, e);
		}
		diag("%s: kept deferred: cannot fail its order: %s",
		    rec_id(r), err_str(&e2));
		err_free(&e2);
	}
	when = clock_now() + backoff(b->ln->backoff_first, attempt);
	clock_fmt(&at, when);
	rec_set(r, "Retry-At", at.p, &e2);
	if (rn->next_retry == 0 || when < rn->next_retry)
		rn->next_retry = when;
	b->deferred++;
	note(rn, EX_TEMPFAIL);
	if (!quiet)
		diag("%s: deferred until %s (attempt %llu): %s", rec_id(r),
		    at.p, (unsigned long long)attempt, rec_get(r, "Error"));
	rc = settle(rn, b->ln->queue, "deferred", r, e);
	buf_free(&v);
	buf_free(&at);
	err_free(&e2);
	return rc;
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One record back from the pipeline: to the queue its Status names. */
static int
dispatch(struct run *rn, struct batch *b, struct rec *r, struct err *e)
{
	const char *id = rec_id(r), *st = rec_get(r, "Status");
	char **hit;
	struct buf why = {0};
	int rc;

	hit = bsearch(&id, b->ids, b->n, sizeof *b->ids, id_cmp);
	if (hit == NULL || b->seen[hit - b->ids]) {
		diag("%s: the pipeline returned a job it was not given, or "
		    "twice; ignored", id);
		return 0;
	}
	b->seen[hit - b->ids] = 1;
	rn->handled++;
	if (st && strcmp(st, "complete") == 0) {
		b->done++;
		return settle(rn, b->ln->queue, "done", r, e);
	}
	if (st && strcmp(st, "held") == 0) {
		b->held++;
		return settle(rn, b->ln->queue, "held", r, e);
	}
	if (st && strcmp(st, "failed") == 0)
		return error_code(r) == EX_TEMPFAIL ?
		    defer(rn, b, r, NULL, 0, e) : fail(rn, b, r, e);
	/* processing (sign did not finish it), or no verdict at all */
	buf_printf(&why, "the pipeline returned the job unfinished "
	    "(Status %s)", st ? st : "none");
	rc = defer(rn, b, r, why.p, 0, e);
	buf_free(&why);
	return rc;
}

/* Length of the first whole record in p[0..len), through its
 * END-RECORD line (a line no header or PEM line can start like); 0 when
 * none is complete yet. */
static size_t
record_end(const char *p, size_t len)
{
	const char *nl;
	size_t i = 0, eol;

	while (i < len && (nl = memchr(p + i, '\n', len - i)) != NULL) {
		eol = (size_t)(nl - p) + 1;
		if (eol - i > 11 && memcmp(p + i, "END-RECORD ", 11) == 0)
			return eol;
		i = eol;
	}
	return 0;
}

/* Dispatch every whole record received so far. */
static void
frame(struct run *rn, struct batch *b)
{
	struct rec *r;
	struct err e = {0};
	size_t n;

	while (b->rc == 0 && (n = record_end(b->out.p + b->outoff,
	    b->out.len - b->outoff)) > 0) {
		if (rec_parse(b->out.p + b->outoff, n, &r, &e) != 0)
			diag("pipeline output: %s", err_str(&e));
		else {
			if ((b->rc = dispatch(rn, b, r, &e)) != 0)
				diag("%s", err_str(&e));
			rec_free(r);
		}
		b->outoff += n;
	}
	if (b->outoff == b->out.len) {
		buf_reset(&b->out);
		b->outoff = 0;
	}
	err_free(&e);
}

/* In the child: stdin/stdout from the pipes, the spool lock kept (so no
 * second scheduler starts while a stage of this one lives), killed with
 * its parent (a dead scheduler's stage must not race the next one's). */
static _Noreturn void
stage_exec(const struct run *rn, pid_t parent, const char *prog, int in,
    int out, int passfd)
{
	struct buf p = {0}, num = {0}, max = {0};
	const char *av[6];
	int n = 0, lockfd = spool_lock_fd(rn->sp);

#ifdef __linux__
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(EX_OSERR);
#endif
	(void)parent;
	signal(SIGPIPE, SIG_DFL);
	/* not in the terminal's process group: a ^C stops the scheduler
	 * between batches, not its stages in the middle of one */
	setpgid(0, 0);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
	    (lockfd >= 0 && fcntl(lockfd, F_SETFD, 0) < 0))
		_exit(EX_OSERR);
	av[n++] = prog;
	if (strcmp(prog, "check-policy") == 0 && rn->o->template) {
		av[n++] = "--template";
		av[n++] = rn->o->template;
	}
	/* the passphrase itself never: a pipe's number, or a file name */
	if (strcmp(prog, "sign") == 0 && passfd >= 0) {
		if (fcntl(passfd, F_SETFD, 0) < 0)
			_exit(EX_OSERR);
		buf_printf(&num, "%d", passfd);
		av[n++] = "--passphrase-fd";
		av[n++] = num.p;
	} else if (strcmp(prog, "sign") == 0 && rn->o->passfile) {
		av[n++] = "--passphrase-file";
		av[n++] = rn->o->passfile;
	}
	/* it gives up on a challenge when the scheduler would */
	if (strcmp(prog, "dcv-apply") == 0) {
		buf_printf(&max, "%llu",
		    (unsigned long long)rn->o->max_attempts);
		av[n++] = "--max-attempts";
		av[n++] = max.p;
	}
	av[n] = NULL;
	buf_printf(&p, "%s/%s", rn->bindir, prog);
	execv(p.p, (char *const *)av);
	diag("%s: cannot run: %s", p.p, strerror(errno));
	_exit(EX_UNAVAILABLE);
}

/* *fd: a pipe holding the passphrase for this batch's sign (a
 * descriptor can be read once, and each batch runs a new sign); -1
 * without one. */
static int
pass_pipe(const struct run *rn, int *fd, struct err *e)
{
	int pp[2];
	ssize_t k;

	*fd = -1;
	if (rn->pass.b.len == 0)
		return 0;
	if (pipe(pp) < 0)
		return err_set(e, EX_OSERR, "pipe: %s", strerror(errno));
	fcntl(pp[0], F_SETFD, FD_CLOEXEC);
	fcntl(pp[1], F_SETFD, FD_CLOEXEC);
	/* a line is far smaller than a pipe's buffer: this cannot block */
	k = write(pp[1], rn->pass.b.p, rn->pass.b.len);
	if (k == (ssize_t)rn->pass.b.len)
		k = write(pp[1], "\n", 1);
	close(pp[1]);
	if (k != 1) {
		close(pp[0]);
		return err_set(e, EX_OSERR, "passphrase pipe: %s",
		    strerror(errno));
	}
	*fd = pp[0];
	return 0;
}

/* Start the pipeline; *wfd feeds its first stage, *rfd reads its last. */
static int
spawn(const struct run *rn, struct batch *b, int *wfd, int *rfd,
    struct err *e)
{
	int p[NSTAGES + 1][2], i, n, rc, passfd, ns = b->ln->nstages;
	pid_t self = getpid();

	*wfd = *rfd = -1;
	if ((rc = pass_pipe(rn, &passfd, e)) != 0)
		return rc;

	for (n = 0; n <= ns; n++) {
		if (pipe(p[n]) < 0) {
			rc = err_set(e, EX_OSERR, "pipe: %s", strerror(errno));
			break;
		}
		/* single-threaded: nothing forks between pipe() and here */
		fcntl(p[n][0], F_SETFD, FD_CLOEXEC);
		fcntl(p[n][1], F_SETFD, FD_CLOEXEC);
	}
	for (i = 0; rc == 0 && i < ns; i++) {
		fflush(stderr);
		if ((b->pid[i] = fork()) < 0)
			rc = err_set(e, EX_OSERR, "fork: %s", strerror(errno));
		else if (b->pid[i] == 0)
			stage_exec(rn, self, b->ln->stages[i], p[i][0],
			    p[i + 1][1], passfd);
	}
	if (passfd >= 0)
		close(passfd);
	while (n-- > 0) {
		if (rc == 0 && n == 0)
			*wfd = p[0][1];
		else
			close(p[n][1]);
		if (rc == 0 && n == ns)
			*rfd = p[ns][0];
		else
			close(p[n][0]);
	}
	return rc;
}

/* Feed the input and read the output at once, so neither side waits on
 * a full pipe; dispatch records as they arrive. */
static void
pump(struct run *rn, struct batch *b, int wfd, int rfd)
{
	struct pollfd pf[2];
	char chunk[65536];
	ssize_t k;
	int n;

	fcntl(wfd, F_SETFL, O_NONBLOCK);
	fcntl(rfd, F_SETFL, O_NONBLOCK);
	while (rfd >= 0) {
		n = 0;
		if (wfd >= 0)
			pf[n++] = (struct pollfd){ wfd, POLLOUT, 0 };
		pf[n++] = (struct pollfd){ rfd, POLLIN, 0 };
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			diag("poll: %s", strerror(errno));
			break;
		}
		if (wfd >= 0 && pf[0].revents) {
			k = write(wfd, b->in.p + b->inoff, b->in.len - b->inoff);
			if (k > 0)
				b->inoff += (size_t)k;
			/* EPIPE: the first stage is gone; its output tells */
			if (b->inoff == b->in.len || (k < 0 &&
			    errno != EAGAIN && errno != EINTR)) {
				close(wfd);
				wfd = -1;
			}
		}
		if (pf[n - 1].revents == 0)
			continue;
		if ((k = read(rfd, chunk, sizeof chunk)) > 0) {
			buf_add(&b->out, chunk, (size_t)k);
			frame(rn, b);
		} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(rfd);
			rfd = -1;
		}
	}
	if (wfd >= 0)
		close(wfd);
	if (rfd >= 0)
		close(rfd);
}

/* Wait for the stages; why gets how any of them ended badly. */
static void
reap(struct batch *b, struct buf *why)
{
	int i, st;

	for (i = 0; i < b->ln->nstages; i++) {
		if (b->pid[i] <= 0)
			continue;
		while (waitpid(b->pid[i], &st, 0) < 0 && errno == EINTR)
			;
		b->pid[i] = 0;
		if (WIFSIGNALED(st))
			buf_printf(why, "%s%s killed by signal %d",
			    why->len ? ", " : "", b->ln->stages[i],
			    WTERMSIG(st));
		else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
			buf_printf(why, "%s%s exited %d", why->len ? ", " : "",
			    b->ln->stages[i], WEXITSTATUS(st));
	}
}

/* Jobs the pipeline never returned: still in incoming; defer them, or
 * a stage that dies on them would make the scheduler loop. */
static void
orphans(struct run *rn, struct batch *b, const char *how)
{
	struct buf data = {0}, why = {0};
	struct rec *r;
	struct err e = {0};
	size_t i;

	buf_printf(&why, "pipeline died: %s", *how ? how : "no output");
	if (b->n > 1) {
		/* which job killed it? Each runs alone from now on; the
		 * others are still in incoming, unharmed */
		for (i = 0; i < b->n; i++)
			b->lost += !b->seen[i];
		if (b->lost) {
			diag("batch: %zu of %zu jobs not returned (%s): running "
			    "them one at a time", b->lost, b->n, why.p);
			rn->single = 1;
		}
		b->lost = 0;
		buf_free(&why);
		return;
	}
	for (i = 0; i < b->n && b->rc == 0; i++) {
		if (b->seen[i])
			continue;
		buf_reset(&data);
		if (spool_read(rn->sp, b->ln->queue, b->ids[i], &data, &e) != 0 ||
		    rec_parse(data.p, data.len, &r, &e) != 0)
			continue;	/* gone; load() deals with bad ones */
		b->lost++;
		rn->handled++;
		if ((b->rc = defer(rn, b, r, why.p, 1, &e)) != 0)
			diag("%s", err_str(&e));
		rec_free(r);
	}
	if (b->lost)
		diag("batch: %zu of %zu jobs not returned, deferred: %s",
		    b->lost, b->n, why.p);
	buf_free(&data);
	buf_free(&why);
	err_free(&e);
}

/* The order of job id, when one was opened for it and is not finished:
 * failed with why, so a front end waiting on it (an ACME order) learns
 * the job will not come back. No order: nothing to do. */
static int
fail_order_of(struct run *rn, const char *id, const char *why,
    struct err *e)
{
	struct order o = {0};
	struct buf obj = {0};
	struct audit_ev ev;
	struct db_stmt *st = NULL;
	struct db *db;
	char *realm = NULL;
	int rc;

	if ((rc = database(rn, &db, e)) != 0 || (rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = order_load(db, id, &o, e)) == EX_NOINPUT) {
		err_free(e);
		rc = 0;
		goto out;
	}
	if (rc != 0 || strcmp(o.status, "complete") == 0 ||
	    strcmp(o.status, "failed") == 0)
		goto out;
	if ((rc = db_prep(db, &st, e, "SELECT name FROM realms WHERE id = ?",
	    "i", o.realm_id)) != 0 || (rc = db_step(st, e)) < 0)
		goto out;
	realm = xstrdup(rc == 1 ? db_text(st, 0) : "-");
	rc = 0;
	buf_printf(&obj, "order:%s", id);
	ev = (struct audit_ev){ "order.failed", rn->actor, realm, obj.p,
	    "failure", why };
	if ((rc = order_fail(db, o.id, EX_DATAERR, why, e)) == 0)
		rc = audit_log(db, &ev, e);
out:
	db_finish(st);
	if (rc == 0)
		rc = db_commit(db, e);
	if (rc != 0)
		db_rollback(db);
	order_free(&o);
	buf_free(&obj);
	free(realm);
	return rc;
}

/* A file in q that is not a whole record named by its Id: keep its
 * bytes in failed, where a person will look, and fail the job's order
 * if it has one. */
static int
unreadable(struct run *rn, const char *q, const char *id,
    const struct err *why, struct err *e)
{
	struct buf msg = {0};
	int rc;

	diag("%s: not a job record, moved from %s to failed: %s", id, q,
	    err_str(why));
	note(rn, EX_DATAERR);
	rn->handled++;
	buf_printf(&msg, "not a job record: %s", err_str(why));
	if (fail_order_of(rn, id, msg.p, e) != 0) {
		/* the file is kept all the same; its order stays open, and
		 * a person looking at failed/ finds the job */
		diag_err(e);
		err_free(e);
		*e = (struct err){0};
	}
	buf_free(&msg);
	rc = spool_move(rn->sp, q, "failed", id, e);
	if (rc == EX_CANTCREAT)
		rc = spool_remove(rn->sp, q, id, e);
	return rc == EX_NOINPUT ? 0 : rc;
}

/* Take the oldest jobs of incoming into b, up to --batch in all: those
 * b holds already (the live pipeline's jobs in flight, sorted, none
 * seen) are skipped. */
static int
load(struct run *rn, struct batch *b, struct err *e)
{
	struct buf data = {0};
	struct rec *r = NULL;
	struct err why = {0};
	char **ids = NULL;
	size_t i, n = 0, n0 = b->n;
	int rc;

	if ((rc = spool_list(rn->sp, b->ln->queue, &ids, &n, e)) != 0)
		return rc;
	b->ids = xrealloc(b->ids, (n0 + n + 1) * sizeof *b->ids);
	b->full = 0;
	for (i = 0; i < n && rc == 0; i++) {
		if (b->n >= (rn->single ? 1 : rn->o->batch)) {
			b->full = 1;
			break;
		}
		if (n0 && bsearch(&ids[i], b->ids, n0, sizeof *b->ids,
		    id_cmp) != NULL)
			continue;	/* in flight */
		buf_reset(&data);
		if ((rc = spool_read(rn->sp, b->ln->queue, ids[i], &data,
		    &why)) == EX_NOINPUT) {
			rc = 0;
			err_free(&why);
			why = (struct err){0};
			continue;	/* taken by someone else */
		}
		if (rc != 0 && rc != EX_DATAERR) {
			/* the disk's trouble, not the job's: it stays */
			rc = err_set(e, rc, "%s", err_str(&why));
			break;
		}
		/* parse-csr reads at most 4 MiB: a batch stays under half
		 * of that unless one record alone is larger */
		if (b->n > n0 && b->in.len - b->inoff + data.len >
		    BATCH_BYTES) {
			b->full = 1;
			break;
		}
		if (rc == 0 && rec_parse(data.p, data.len, &r, &why) == 0 &&
		    strcmp(rec_id(r), ids[i]) != 0)
			err_set(&why, EX_DATAERR, "its Id is %s", rec_id(r));
		if (why.code != 0)
			rc = unreadable(rn, b->ln->queue, ids[i], &why, e);
		else {
			rec_write(r, &b->in);
			b->ids[b->n++] = ids[i];
			ids[i] = NULL;
		}
		rec_free(r);
		r = NULL;
		err_free(&why);
		why = (struct err){0};
	}
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	buf_free(&data);
	qsort(b->ids, b->n, sizeof *b->ids, id_cmp);
	free(b->seen);
	b->seen = xcalloc(b->n + 1, 1);
	return rc;
}

static void
batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->ids[i]);
	free(b->ids);
	free(b->seen);
	buf_free(&b->in);
	buf_free(&b->out);
}

/* One batch of line ln. *more says its queue held jobs (so another
 * batch may be due). */
static int
batch(struct run *rn, const struct line *ln, int *more, struct err *e)
{
	struct batch b;
	struct buf how = {0};
	struct timespec t0, t1;
	int wfd, rfd, rc;

	memset(&b, 0, sizeof b);
	b.ln = ln;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*more = 0;
	if ((rc = load(rn, &b, e)) != 0 || b.n == 0)
		goto out;
	*more = 1;
	if ((rc = spawn(rn, &b, &wfd, &rfd, e)) != 0) {
		reap(&b, &how);
		goto out;
	}
	pump(rn, &b, wfd, rfd);
	reap(&b, &how);
	if (b.rc == 0)
		orphans(rn, &b, buf_str(&how));
	if ((rc = b.rc) != 0)
		err_set(e, rc, "batch stopped: the spool refused a write");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* "batch: N jobs" for incoming, "batch: dcv: N jobs" for dcv */
	diag_info("batch: %s%s%zu jobs: %zu done, %zu held, %zu failed, "
	    "%zu deferred (%zu not returned) in %.2f s", ln == lines ? "" :
	    ln->queue, ln == lines ? "" : ": ", b.n, b.done, b.held,
	    b.failed, b.deferred, b.lost, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
out:
	batch_free(&b);
	buf_free(&how);
	return rc;
}

/*
 * The daemon's live pipeline. It runs the issuance stages once for many
 * passes: each pass writes the jobs that arrived into it, and each
 * record that comes back is committed as it returns (dispatch), as a
 * batch's would be. A job stays in incoming while it is in flight, so
 * the crash windows are a batch's (certpipe-spool(5)). When the pipeline
 * ends (a stage died, or it was retired) the jobs it did not return are
 * handled as a dead batch's are (orphans), and the next pass starts a
 * new one. It is retired, its input ended once every job is written,
 * when the CAs or templates its stages loaded at start change
 * (live_stamp), when it has been idle past LIVE_MAX_AGE, and on SIGTERM.
 */
#define LIVE_MAX_AGE 600

static void
live_init(struct live *lv)
{
	memset(lv, 0, sizeof *lv);
	lv->b.ln = &lines[0];
	lv->wfd = lv->rfd = -1;
}

/* What sign and check-policy keep from start-up for their whole run:
 * the CAs (keys, certificates, CRL settings) and the templates. A change
 * of either means the stages must be started anew. */
static int
live_stamp(struct run *rn, char **out, struct err *e)
{
	struct db_stmt *st = NULL;
	struct db *db;
	int rc;

	*out = NULL;
	if ((rc = database(rn, &db, e)) != 0 ||
	    (rc = db_prep(db, &st, e, "SELECT coalesce((SELECT "
	    "group_concat(x, ',') FROM (SELECT id || '/' || status || '/' || "
	    "key_ref || '/' || coalesce(length(cert_pem), 0) || '/' || "
	    "coalesce(substr(cert_pem, -48), '') || '/' || "
	    "length(chain_pem) || '/' || crl_days || '/' || crl_delta_hours "
	    "|| '/' || crl_shards AS x FROM cas ORDER BY id)), '') || '|' || "
	    "coalesce((SELECT group_concat(x, ',') FROM (SELECT id || '/' || "
	    "ca_id || '/' || enabled || '/' || updated_at AS x FROM templates "
	    "ORDER BY id)), '')", "")) != 0 || (rc = db_step(st, e)) < 0)
		goto out;
	*out = xstrdup(rc == 1 && db_text(st, 0) ? db_text(st, 0) : "");
	rc = 0;
out:
	db_finish(st);
	return rc;
}

/* Drop the jobs already returned from the set in flight. */
static void
live_compact(struct batch *b)
{
	size_t i, k = 0;

	for (i = 0; i < b->n; i++) {
		if (b->seen[i])
			free(b->ids[i]);
		else
			b->ids[k++] = b->ids[i];
	}
	b->n = k;
	memset(b->seen, 0, b->n + 1);
}

/* Write what is pending, read what came back and dispatch it. 1 when
 * the pipeline's output has ended. */
static int
live_io(struct run *rn, struct live *lv, int can_write, int can_read)
{
	struct batch *b = &lv->b;
	char chunk[65536];
	ssize_t k;

	if (can_write && lv->wfd >= 0 && b->inoff < b->in.len) {
		k = write(lv->wfd, b->in.p + b->inoff, b->in.len - b->inoff);
		if (k > 0)
			b->inoff += (size_t)k;
		else if (k < 0 && errno != EAGAIN && errno != EINTR) {
			/* EPIPE: the first stage is gone; its end tells */
			close(lv->wfd);
			lv->wfd = -1;
		}
		if (b->inoff == b->in.len) {
			buf_reset(&b->in);
			b->inoff = 0;
		}
	}
	if (lv->retire && lv->wfd >= 0 && b->inoff == b->in.len) {
		close(lv->wfd);
		lv->wfd = -1;
	}
	if (!can_read || lv->rfd < 0)
		return 0;
	while ((k = read(lv->rfd, chunk, sizeof chunk)) > 0) {
		buf_add(&b->out, chunk, (size_t)k);
		frame(rn, b);
		if (b->rc != 0)
			lv->retire = 1;
	}
	return k == 0 || (errno != EAGAIN && errno != EINTR);
}

/* Its output ended: reap the stages, handle the jobs it did not return,
 * and make ready for a new one. A single job lost is deferred; several
 * run one a pipeline right away (as after a dead batch), so only the one
 * that kills a stage pays an attempt for it. */
static void
live_end(struct run *rn, struct live *lv)
{
	struct batch *b = &lv->b;
	struct buf how = {0};
	struct err e = {0};
	int more;

	if (lv->wfd >= 0)
		close(lv->wfd);
	close(lv->rfd);
	reap(b, &how);
	if (b->out.len > b->outoff)
		diag("pipeline: its output ended inside a record");
	live_compact(b);
	if (b->rc != 0)
		diag("pipeline stopped: the spool refused a write; %zu jobs "
		    "stay in incoming", b->n);
	else if (b->n > 0)
		orphans(rn, b, buf_str(&how));
	else if (!lv->retire)
		diag("pipeline ended with no job in flight: %s; the next job "
		    "starts a new one", how.len ? buf_str(&how) : "no output");
	diag_info("pipeline: %zu done, %zu held, %zu failed, %zu deferred "
	    "(%zu not returned) in %lld s", b->done, b->held, b->failed,
	    b->deferred, b->lost, (long long)(clock_now() - lv->started));
	batch_free(b);
	free(lv->stamp);
	live_init(lv);
	for (more = rn->single; more && !stopping; )
		if (batch(rn, &lines[0], &more, &e) != 0) {
			diag_err(&e);
			err_free(&e);
			break;
		}
	rn->single = 0;
	buf_free(&how);
}

/* Incoming into the live pipeline (started first if need be): every job
 * not in flight yet, up to --batch in flight. */
static int
live_feed(struct run *rn, struct live *lv, struct err *e)
{
	struct buf how = {0};
	struct err e2 = {0};
	char *stamp = NULL;
	int rc, changed;

	if (lv->retire)
		return 0;
	if (lv->b.seen)
		live_compact(&lv->b);
	if (live_stamp(rn, &stamp, &e2) != 0) {
		/* the stages will meet the same trouble and say so */
		diag("pipeline: %s", err_str(&e2));
		err_free(&e2);
	}
	changed = stamp && lv->stamp && strcmp(stamp, lv->stamp) != 0;
	if (lv->rfd >= 0 && (changed || (lv->b.n == 0 &&
	    clock_now() - lv->started > LIVE_MAX_AGE))) {
		diag_info("pipeline: %s: ending it", changed ?
		    "the CAs or templates changed" : "idle too long");
		lv->retire = 1;
		live_io(rn, lv, 0, 0);
		free(stamp);
		return 0;
	}
	/* no pipeline is started before there is a job for it */
	if ((rc = load(rn, &lv->b, e)) != 0 || lv->b.n == 0 ||
	    lv->rfd >= 0)
		goto out;
	if ((rc = spawn(rn, &lv->b, &lv->wfd, &lv->rfd, e)) != 0) {
		/* the jobs stay in flight, to be written into the next */
		reap(&lv->b, &how);
		goto out;
	}
	fcntl(lv->wfd, F_SETFL, O_NONBLOCK);
	fcntl(lv->rfd, F_SETFL, O_NONBLOCK);
	lv->started = clock_now();
	lv->stamp = stamp;
	stamp = NULL;
out:
	if (lv->wfd >= 0)
		live_io(rn, lv, 1, 0);
	buf_free(&how);
	free(stamp);
	return rc;
}

/* Deferred jobs whose Retry-At has passed go back to incoming, without
 * the results of their last try. */
static int
promote(struct run *rn, struct err *e)
{
	const char *const *s;
	struct buf data = {0};
	struct rec *r = NULL;
	struct err why = {0};
	char **ids = NULL;
	size_t i, n = 0;
	time_t now = clock_now(), at;
	int rc;

	rn->next_retry = 0;
	if ((rc = spool_list(rn->sp, "deferred", &ids, &n, e)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		buf_reset(&data);
		if ((rc = spool_read(rn->sp, "deferred", ids[i], &data,
		    &why)) == 0 && rec_parse(data.p, data.len, &r, &why) == 0 &&
		    strcmp(rec_id(r), ids[i]) != 0)
			err_set(&why, EX_DATAERR, "its Id is %s", rec_id(r));
		if (why.code != 0) {
			/* a read error is the disk's, not the job's: it
			 * stays and the pass stops */
			rc = rc == EX_NOINPUT ? 0 : rc != 0 && rc != EX_DATAERR ?
			    err_set(e, rc, "%s", err_str(&why)) :
			    unreadable(rn, "deferred", ids[i], &why, e);
			rec_free(r);
			r = NULL;
			err_free(&why);
			why = (struct err){0};
			continue;
		}
		at = 0;
		if (rec_get(r, "Retry-At") && clock_parse("Retry-At",
		    rec_get(r, "Retry-At"), &at, &why) != 0)
			at = 0;
		if (at > now) {
			if (rn->next_retry == 0 || at < rn->next_retry)
				rn->next_retry = at;
		} else {
			for (s = retry_strip; *s; s++)
				rec_del(r, *s);
			/* a validation job goes back to its own line */
			rc = settle(rn, "deferred", rec_get(r,
			    "Challenge-Type") ? "dcv" : "incoming", r, e);
		}
		rec_free(r);
		r = NULL;
	}
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	buf_free(&data);
	err_free(&why);
	return rc;
}

/* A drop-in became a job; one that cannot run went straight to failed
 * and is reported like any failed job. */
static void
adopted(const char *name, const char *id, const char *q, void *ctx)
{
	struct run *rn = ctx;
	struct buf data = {0};
	struct rec *r = NULL;
	struct err e = {0};

	if (name == NULL)
		name = "(staged before a crash)";
	if (strcmp(q, "failed") != 0) {
		diag_info("%s: adopted drop-in %s", id, name);
		return;
	}
	rn->handled++;
	note(rn, EX_DATAERR);
	if (spool_read(rn->sp, q, id, &data, &e) == 0 &&
	    rec_parse(data.p, data.len, &r, &e) == 0)
		diag("%s: failed: %s: %s", id, name, rec_get(r, "Error") ?
		    rec_get(r, "Error") : "no reason given");
	else
		diag("%s: failed: %s: %s", id, name, err_str(&e));
	rec_free(r);
	buf_free(&data);
	err_free(&e);
}

/* Jobs a crash lost between an order's commit and the spool write (a
 * front door killed at the wrong moment) go back into incoming: once a
 * pass with --once, at most every SWEEP_EVERY seconds as a daemon. */
static int
sweep(struct run *rn, struct err *e)
{
	struct db *db;
	size_t n = 0;
	int rc;

	if (clock_now() < rn->next_sweep)
		return 0;
	rn->next_sweep = clock_now() + SWEEP_EVERY;
	if ((rc = database(rn, &db, e)) != 0 ||
	    (rc = requeue_lost(db, rn->sp, 0, NULL, REQUEUE_AFTER, rn->actor,
	    &n, e)) != 0)
		return rc;
	if (n > 0)
		diag_info("re-queued %zu lost job%s from their orders", n,
		    n == 1 ? "" : "s");
	return 0;
}

/* Everything due: lost jobs, drop-ins, deferred jobs whose time has
 * come, then incoming: into the live pipeline lv (the daemon), or batch
 * after batch until it is empty or a signal asks to stop (lv NULL:
 * --once); then queue/dcv batch after batch. */
static int
pass(struct run *rn, struct live *lv)
{
	struct err e = {0};
	size_t i;
	int rc, more;

	rn->single = 0;
	if (sweep(rn, &e) != 0) {
		/* reported; the queues are still worth a pass */
		note(rn, diag_err(&e));
		err_free(&e);
	}
	if ((rc = spool_adopt(rn->sp, adopted, rn, NULL, &e)) == 0)
		rc = promote(rn, &e);
	if (rc == 0 && lv != NULL && !stopping)
		rc = live_feed(rn, lv, &e);
	for (i = lv != NULL; i < NLINES && rc == 0; i++)
		for (more = 1; rc == 0 && more && !stopping; )
			rc = batch(rn, &lines[i], &more, &e);
	if (rc != 0)
		diag_err(&e);
	err_free(&e);
	return rc;
}

/* One publisher, in its own process group, its output on our stderr
 * with -v, else discarded; the passphrase relayed like sign's. Its exit
 * status, or EX_SOFTWARE when it died of a signal. */
static int
publisher(struct run *rn, const char *const *argv)
{
	struct buf path = {0}, num = {0};
	struct err e = {0};
	const char *av[8];
	int n = 0, status = 0, passfd = -1, nul;
	pid_t pid, parent = getpid();

	if (pass_pipe(rn, &passfd, &e) != 0) {
		n = diag_err(&e);
		err_free(&e);
		return n;
	}
	buf_printf(&path, "%s/%s", rn->bindir, argv[0]);
	/* installed, certpipe is in bin, not next to the stages */
	if (strcmp(argv[0], "certpipe") == 0 && access(path.p, X_OK) != 0) {
		buf_reset(&path);
		buf_printf(&path, "%s/certpipe", CERTPIPE_BINDIR);
	}
	for (; argv[n] != NULL; n++)
		av[n] = argv[n];
	if (passfd >= 0) {
		buf_printf(&num, "%d", passfd);
		av[n++] = "--passphrase-fd";
		av[n++] = num.p;
	} else if (rn->o->passfile) {
		av[n++] = "--passphrase-file";
		av[n++] = rn->o->passfile;
	}
	av[n] = NULL;
	if ((pid = fork()) == 0) {
#ifdef __linux__
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
		    getppid() != parent)
			_exit(EX_OSERR);
#endif
		(void)parent;
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(nul, 0) < 0 ||
		    dup2(diag_verbose ? 2 : nul, 1) < 0 ||
		    (passfd >= 0 && fcntl(passfd, F_SETFD, 0) < 0))
			_exit(EX_OSERR);
		execv(path.p, (char *const *)av);
		diag("%s: cannot run: %s", path.p, strerror(errno));
		_exit(EX_UNAVAILABLE);
	}
	if (passfd >= 0)
		close(passfd);
	if (pid < 0) {
		diag("fork: %s", strerror(errno));
		status = EX_OSERR;
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		status = WIFEXITED(status) ? WEXITSTATUS(status) :
		    EX_SOFTWARE;
	}
	buf_free(&path);
	buf_free(&num);
	return status;
}

/* What the status services publish (CRLs, pre-signed OCSP responses),
 * when due: once a pass with
 * --once, at most every PUBLISH_EVERY seconds as a daemon. A failure is
 * reported and counted; the next run tries again. The number of signer
 * renewals queued. */
static int
publish(struct run *rn)
{
	size_t i;
	int rc, queued = 0;

	if (clock_now() < rn->next_publish) {
		rn->publish_pending = 1;
		return 0;
	}
	rn->publish_pending = 0;
	rn->next_publish = clock_now() + PUBLISH_EVERY;
	for (i = 0; i < NPUBLISHERS && !stopping; i++) {
		rc = publisher(rn, publishers[i]);
		if (rc == 0 && i < NRENEWERS)
			queued++;
		if (rc == 0)
			diag_info("%s: published", publishers[i][0]);
		else if (rc != 1) {
			diag("%s exited %d", publishers[i][0], rc);
			note(rn, rc);
		}
	}
	return queued;
}

/* The daemon: a pass, then sleep until poked, the interval passes or
 * the next deferred job is due, meanwhile feeding the live pipeline and
 * committing what it returns. A signal ends it once the jobs in flight
 * are back. */
static int
serve(struct run *rn, int sigfd)
{
	struct pollfd pf[4];
	struct live lv;
	struct err e = {0};
	time_t until = 0, now;
	int fd, n, due = 1, iw, ir, ms;

	if (spool_trigger_fd(rn->sp, &fd, &e) != 0) {
		fd = diag_err(&e);
		err_free(&e);
		return fd;
	}
	live_init(&lv);
	while (!stopping || lv.rfd >= 0) {
		if (due && !stopping) {
			due = 0;
			pass(rn, &lv);
			publish(rn);
			until = clock_now() + (time_t)rn->o->interval;
			/* a poke (a revocation) met the rate limit: publish
			 * soon */
			if (rn->publish_pending && rn->next_publish < until)
				until = rn->next_publish;
		}
		if (stopping && !lv.retire) {
			lv.retire = 1;
			live_io(rn, &lv, 0, 0);
		}
		if (rn->next_retry && rn->next_retry < until)
			until = rn->next_retry;
		now = clock_now();
		ms = stopping ? -1 : until > now ? (int)(until - now) * 1000 : 0;
		n = 0;
		pf[n++] = (struct pollfd){ fd, POLLIN, 0 };
		if (!stopping)
			pf[n++] = (struct pollfd){ sigfd, POLLIN, 0 };
		iw = ir = -1;
		if (lv.wfd >= 0 && lv.b.inoff < lv.b.in.len) {
			iw = n;
			pf[n++] = (struct pollfd){ lv.wfd, POLLOUT, 0 };
		}
		if (lv.rfd >= 0) {
			ir = n;
			pf[n++] = (struct pollfd){ lv.rfd, POLLIN, 0 };
		}
		if (poll(pf, (nfds_t)n, ms) < 0) {
			if (errno != EINTR) {
				diag("poll: %s", strerror(errno));
				break;
			}
			continue;
		}
		if (pf[0].revents) {
			spool_trigger_drain(fd);
			due = 1;
		}
		if (ms >= 0 && clock_now() >= until)
			due = 1;
		if ((iw >= 0 && pf[iw].revents) || (ir >= 0 && pf[ir].revents)) {
			n = (int)lv.b.done + (int)lv.b.held + (int)lv.b.failed +
			    (int)lv.b.deferred;
			if (live_io(rn, &lv, iw >= 0 && pf[iw].revents, ir >= 0 &&
			    pf[ir].revents)) {
				live_end(rn, &lv);
				due = 1;
			} else if (lv.b.full && n != (int)(lv.b.done +
			    lv.b.held + lv.b.failed + lv.b.deferred))
				due = 1;	/* room for more in flight */
		}
	}
	if (lv.rfd >= 0) {
		/* poll failed: the stages die with us, the jobs stay */
		close(lv.rfd);
		if (lv.wfd >= 0)
			close(lv.wfd);
	}
	/* also a look into incoming that found nothing to start one for */
	batch_free(&lv.b);
	free(lv.stamp);
	close(fd);
	return 0;
}

/* Start-up under the lock: unfinished writes and half-done moves. */
static int
recover(struct run *rn)
{
	struct err e = {0};
	size_t tmp = 0, dup = 0;
	int rc;

	if ((rc = spool_lock(rn->sp, &e)) != 0 ||
	    (rc = spool_recover(rn->sp, &tmp, &e)) != 0 ||
	    (rc = spool_dedup(rn->sp, &dup, &e)) != 0)
		rc = diag_err(&e);
	else if (tmp || dup)
		diag_info("recovered: %zu unfinished writes removed, %zu "
		    "duplicate jobs resolved", tmp, dup);
	err_free(&e);
	return rc;
}

/* fds 0-2 open, so no pipe of ours lands on one */
static void
std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static int
numopt(const char *name, const char *s, uint64_t min, uint64_t max,
    uint64_t *out)
{
	struct err e = {0};
	int rc;

	if (s == NULL)
		return 0;
	if ((rc = num_u64(name, s, min, max, out, &e)) != 0) {
		diag("%s", err_str(&e));
		rc = EX_USAGE;
	}
	err_free(&e);
	return rc;
}

static int
check_opts(struct opts *o, const char *batch, const char *interval,
    const char *max)
{
	int rc;

	if ((rc = numopt("--batch", batch, 1, 100000, &o->batch)) != 0 ||
	    (rc = numopt("--interval", interval, 1, 86400,
	    &o->interval)) != 0 ||
	    (rc = numopt("--max-attempts", max, 1, 1000,
	    &o->max_attempts)) != 0)
		return rc;
	if (o->passfd >= 0 && o->passfile) {
		diag("--passphrase-fd and --passphrase-file: give one");
		return EX_USAGE;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char *batch_s = NULL, *interval_s = NULL, *max_s = NULL;
	struct opts o = { NULL, NULL, NULL, -1, 0, 1000, 60, 8 };
	struct poptOption table[] = {
		{ "batch", '\0', POPT_ARG_STRING, &batch_s, 0,
		  "jobs per pipeline run (default 1000)", "N" },
		{ "home", '\0', POPT_ARG_STRING, &o.home, 0,
		  "the instance (default: $CERTPIPE_HOME, the checkout's "
		  "spool/)", "DIR" },
		{ "interval", '\0', POPT_ARG_STRING, &interval_s, 0,
		  "daemon: rescan at least every S seconds (default 60)", "S" },
		{ "max-attempts", '\0', POPT_ARG_STRING, &max_s, 0,
		  "temporary failures before a job fails (default 8)", "N" },
		{ "once", '\0', POPT_ARG_NONE, &o.once, 0,
		  "process what is due, then exit (for cron)", NULL },
		{ "passphrase-fd", '\0', POPT_ARG_INT, &o.passfd, 0,
		  "read the CA key passphrase from FD once, hand it to each "
		  "sign", "FD" },
		{ "passphrase-file", '\0', POPT_ARG_STRING, &o.passfile, 0,
		  "sign reads the CA key passphrase from FILE", "FILE" },
		{ "template", '\0', POPT_ARG_STRING, &o.template, 0,
		  "template for jobs that name none (drop-ins)", "NAME" },
		{ NULL, 'v', POPT_ARG_NONE, &diag_verbose, 0,
		  "one line per batch: counts and seconds", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct run rn;
	struct conf conf = {0};
	struct err e = {0};
	struct sigaction sa;
	poptContext pc;
	char *home = NULL;
	int rc, sp[2] = { -1, -1 };

	diag_init(argv[0]);
	std_fds();
	memset(&rn, 0, sizeof rn);
	pc = poptGetContext("scheduler", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[OPTION...]");
	if ((rc = poptGetNextOpt(pc)) < -1 || poptPeekArg(pc) != NULL) {
		diag("%s: %s", rc < -1 ? poptBadOption(pc, 0) :
		    poptPeekArg(pc), rc < -1 ? poptStrerror(rc) :
		    "no arguments are taken");
		rc = EX_USAGE;
		goto out;
	}
	if ((rc = check_opts(&o, batch_s, interval_s, max_s)) != 0)
		goto out;
	home = conf_home(o.home);
	if ((rc = conf_load(home, &conf, &e)) != 0 ||
	    (o.passfd >= 0 && (rc = secret_get(&(struct secret_src){ NULL,
	    o.passfd }, &conf, &rn.pass, &e)) != 0) ||
	    (rc = spool_open(home, &rn.sp, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	rn.o = &o;
	rn.home = home;
	rn.actor = audit_actor();
	if ((rc = recover(&rn)) != 0)
		goto out;
	/* the stages find the instance, and the passphrase, on their own */
	setenv("CERTPIPE_HOME", home, 1);
	rn.bindir = fs_prog_dir(stages[0]);
	if (pipe(sp) < 0) {
		rc = EX_OSERR;
		diag("pipe: %s", strerror(errno));
		goto out;
	}
	fcntl(sp[0], F_SETFD, FD_CLOEXEC);
	fcntl(sp[1], F_SETFD, FD_CLOEXEC);
	fcntl(sp[1], F_SETFL, O_NONBLOCK);
	wake_fd = sp[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll() wakes */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!o.once)
		rc = serve(&rn, sp[0]);
	else if ((rc = pass(&rn, NULL)) == 0) {
		/* a signer renewal queued: issue it, publish with it */
		if (publish(&rn) > 0 && (rc = pass(&rn, NULL)) == 0) {
			rn.next_publish = 0;
			publish(&rn);
		}
		if (rc == 0)
			rc = rn.first ? rn.first : rn.handled == 0 ? 1 : 0;
	}
out:
	if (sp[0] >= 0) {
		close(sp[0]);
		close(sp[1]);
	}
	spool_close(rn.sp);
	db_close(rn.db);
	free(rn.actor);
	secret_free(&rn.pass);
	conf_free(&conf);
	err_free(&e);
	free(rn.bindir);
	free(home);
	free(o.home);
	free(o.template);
	free(o.passfile);
	free(batch_s);
	free(interval_s);
	free(max_s);
	poptFreeContext(pc);
	return rc;
}
