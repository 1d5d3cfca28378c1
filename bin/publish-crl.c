/*
 * publish-crl - write each CA's CRLs that are due into pub/crl/.
 *
 * Per CA it decides what to publish (a complete CRL, a delta CRL, one
 * CRL per shard; see doc/publish-crl.1 for when each is due), starts
 * `sign --ca NAME --crl -` as a child, which loads the key meanwhile,
 * takes the CRL numbers from the CA's sequence (table crls) and writes
 * their specs to sign's stdin; sign signs the CRLs and writes their
 * DER one after the other to its stdout, a pipe. Each CRL is
 * cut from that stream by its DER header as it arrives: its bytes go
 * to its temporary file and its PEM beside it while sign is still
 * signing, so the copying and base64 run on the other core, and the
 * files' writeback is started every megabyte so the closing fsyncs
 * wait for little. When sign succeeded and the stream held exactly the
 * CRLs asked for, both files of each are fsynced, renamed over the
 * published names, then the directory is fsynced; the crls rows and one
 * audit event per CRL are committed after that.
 *
 * Trust: reads the database and writes pub/; it never opens a CA key
 * (sign does) and holds a passphrase only to hand it to sign on a pipe
 * when it was given one on --passphrase-fd. It gives sign nothing to
 * sign but the specs: sign reads the rows, encodes and digests the CRL
 * itself and writes the bytes it signed; this process only moves them
 * (a changed byte would fail the signature) and derives the PEM.
 * Memory does not grow with the number of revoked certificates: the
 * stream is read a chunk at a time.
 */
#ifdef __linux__
#define _GNU_SOURCE	/* sync_file_range */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <popt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "audit.h"
#include "clock.h"
#include "conf.h"
#include "crl.h"
#include "db.h"
#include "diag.h"
#include "fs.h"
#include "keys.h"
#include "pem.h"

extern char **environ;

#define NOTHING_DUE 1		/* exit status of --due with nothing due */
#define MAX_SHARDS 256
#define CHUNK (256 * 1024)	/* of sign's output read at a time */
#define EARLY (1024 * 1024)	/* written before its writeback starts */
#define PEM_IN 49152		/* bytes base64-encoded per write */

struct ctx {
	struct conf conf;
	struct db *db;
	char *actor, *bindir, *crldir;
	const char *passfile;
	struct secret pass;	/* from --passphrase-fd only */
	int due, delta, rebuild, verbose;
	time_t now;
};

struct ca_row {
	int64_t id, realm_id;
	char *name, *realm;
};

/* The last published CRL of a kind. */
struct last {
	int have;
	int64_t number, upto;
	time_t next;
};

/* One CRL being written: temporary and final names, DER and PEM, and
 * where it is in sign's output. */
struct out {
	struct buf tmp[2], path[2];
	int fd[2];
	size_t len;		/* its DER length, once its header is read */
	size_t got;		/* of its bytes written */
	off_t written[2], synced[2];	/* per file: see early() */
	unsigned char carry[48];	/* PEM input short of a line */
	size_t nc;
};

/* A running sign: its pid, the pipe its specs go down (its stdin) and
 * the one its CRLs come up (its stdout). */
struct signer {
	pid_t pid;
	int in, out;
};

/* sign's stream being cut into the CRLs o[0..n-1]. */
struct cut {
	struct out *o;
	size_t n, cur;		/* the CRL the next byte belongs to */
	unsigned char h[6];	/* its DER header so far */
	size_t nh;
};

static int
open_instance(struct ctx *x, const char *home, struct err *e)
{
	char *h = conf_home(home), *path = NULL;
	int64_t v = 0;
	int rc;

	if ((rc = conf_load(h, &x->conf, e)) != 0)
		goto out;
	path = conf_path(&x->conf, "certpipe.db");
	if ((rc = db_open(path, DB_OPEN_EXISTING, &x->db, e)) != 0 ||
	    (rc = db_int64(x->db, &v, e, "PRAGMA user_version", "")) != 0)
		goto out;
	if (v != db_schema_latest())
		rc = err_set(e, EX_CONFIG, "%s: database schema %d, this build "
		    "wants %d", path, (int)v, db_schema_latest());
	x->crldir = conf_path(&x->conf, "pub/crl");
out:
	free(h);
	free(path);
	return rc;
}

static void
cas_free(struct ca_row *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].realm);
	}
	free(c);
}

/* The active CAs with a certificate, or those called name. */
static int
ca_rows(struct ctx *x, const char *name, struct ca_row **out, size_t *n,
    struct err *e)
{
	struct db_stmt *st = NULL;
	struct ca_row *c;
	int rc;

	if ((rc = db_prep(x->db, &st, e, "SELECT c.id, c.realm_id, c.name, "
	    "r.name FROM cas c JOIN realms r ON r.id = c.realm_id WHERE "
	    "c.status = 'active' AND c.cert_pem IS NOT NULL AND (? IS NULL "
	    "OR c.name = ?) ORDER BY c.id", "tt", name, name)) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1) {
		*out = xrealloc(*out, (*n + 1) * sizeof **out);
		c = &(*out)[(*n)++];
		c->id = db_int(st, 0);
		c->realm_id = db_int(st, 1);
		c->name = xstrdup(db_text(st, 2));
		c->realm = xstrdup(db_text(st, 3));
	}
	db_finish(st);
	if (rc < 0)
		return e->code;
	if (*n == 0 && name)
		return err_set(e, EX_NOINPUT, "CA '%s': no active CA of that "
		    "name", name);
	return 0;
}

static int
last_crl(struct ctx *x, int64_t ca, const char *kind, struct last *l,
    struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	memset(l, 0, sizeof *l);
	if ((rc = db_prep(x->db, &st, e, "SELECT number, upto, next_update "
	    "FROM crls WHERE ca_id = ? AND kind = ? AND status = 'published' "
	    "ORDER BY number DESC LIMIT 1", "it", ca, kind)) != 0)
		return rc;
	if ((rc = db_step(st, e)) == 1) {
		l->have = 1;
		l->number = db_int(st, 0);
		l->upto = db_int(st, 1);
		rc = clock_parse("next_update", db_text(st, 2), &l->next, e);
	}
	db_finish(st);
	return rc < 0 ? e->code : rc;
}

/* Due by time: nextUpdate is less than a quarter of the period away. */
static int
stale(const struct ctx *x, const struct last *l, time_t period)
{
	return !l->have || x->now >= l->next - period / 4;
}

static void
job_add(struct crl_job **j, size_t *n, int kind, int64_t shard,
    time_t period)
{
	struct crl_job *p;

	*j = xrealloc(*j, (*n + 1) * sizeof **j);
	p = &(*j)[(*n)++];
	memset(p, 0, sizeof *p);
	p->kind = kind;
	p->shard = shard;
	p->this_update = 0;
	p->next_update = period;	/* made absolute by numbering */
}

/* What is due for CA c (everything without --due). */
static int
plan(struct ctx *x, const struct ca_row *c, const struct crl_settings *s,
    struct crl_job **j, size_t *n, struct err *e)
{
	struct last full, delta, shard;
	int64_t seq = 0, nshard = 0, i;
	time_t fp = (time_t)s->days * 86400, dp = (time_t)s->delta_hours * 3600;
	int rc, dofull, doshard;

	if ((rc = last_crl(x, c->id, "full", &full, e)) != 0 ||
	    (rc = last_crl(x, c->id, "delta", &delta, e)) != 0 ||
	    (rc = last_crl(x, c->id, "shard", &shard, e)) != 0 ||
	    (rc = db_int64(x->db, &seq, e, "SELECT coalesce(max(seq), 0) FROM "
	    "crl_changes WHERE ca_id = ?", "i", c->id)) != 0 ||
	    (rc = db_int64(x->db, &nshard, e, "SELECT coalesce(max(crl_shard) "
	    "+ 1, 0) FROM certificates WHERE ca_id = ? AND realm_id = ? AND "
	    "crl_shard IS NOT NULL", "ii",
	    c->id, c->realm_id)) != 0)
		return rc;
	if (nshard < s->shards)
		nshard = s->shards;
	if (x->delta) {
		if (s->delta_hours == 0 || !full.have)
			return 0;
		if (!x->due || stale(x, &delta, dp) || seq > delta.upto)
			job_add(j, n, CRL_DELTA, 0, dp);
		return 0;
	}
	/* with deltas a revocation is published in the delta */
	dofull = !x->due || stale(x, &full, fp) ||
	    (s->delta_hours == 0 && seq > full.upto);
	doshard = nshard > 0 && (dofull || stale(x, &shard, fp) ||
	    seq > shard.upto);
	if (dofull)
		job_add(j, n, CRL_FULL, 0, fp);
	for (i = 0; doshard && i < nshard; i++)
		job_add(j, n, CRL_SHARD, i, fp);
	if (s->delta_hours > 0 && (dofull || stale(x, &delta, dp) ||
	    seq > delta.upto))
		job_add(j, n, CRL_DELTA, 0, dp);
	return 0;
}

static const char *
kind_name(int kind)
{
	return kind == CRL_FULL ? "full" : kind == CRL_DELTA ? "delta" :
	    "shard";
}

/* Numbers from the CA's sequence, rows in status signing. */
static int
number(struct ctx *x, const struct ca_row *c, int freshest,
    struct crl_job *j, size_t n, struct err *e)
{
	struct buf this = {0}, next = {0}, detail = {0};
	struct audit_ev ev = { "crl.numbered", x->actor, c->realm, NULL,
	    "success", NULL };
	int64_t last = 0, seq = 0, base = 0, since = 0;
	struct buf obj = {0};
	size_t i;
	int rc;

	if ((rc = db_begin(x->db, e)) != 0)
		return rc;
	if ((rc = db_int64(x->db, &last, e, "SELECT coalesce(max(number), 0) "
	    "FROM crls WHERE ca_id = ?", "i", c->id)) != 0 ||
	    (rc = db_int64(x->db, &seq, e, "SELECT coalesce(max(seq), 0) FROM "
	    "crl_changes WHERE ca_id = ?", "i", c->id)) != 0 ||
	    (rc = db_int64(x->db, &base, e, "SELECT coalesce(max(number), 0) "
	    "FROM crls WHERE ca_id = ? AND kind = 'full' AND status = "
	    "'published'", "i", c->id)) != 0 ||
	    (rc = db_int64(x->db, &since, e, "SELECT coalesce(max(upto), 0) "
	    "FROM crls WHERE ca_id = ? AND number = ?", "ii", c->id, base))
	    != 0)
		goto out;
	clock_fmt(&this, x->now);
	for (i = 0; i < n && rc == 0; i++) {
		j[i].ca_id = c->id;
		j[i].number = ++last;
		j[i].this_update = x->now;
		j[i].next_update += x->now;
		/* the last one of its kind, whose file it may reuse */
		if (j[i].kind != CRL_DELTA && !x->rebuild && (rc = db_int64(
		    x->db, &j[i].prev, e, "SELECT coalesce(max(number), 0) "
		    "FROM crls WHERE ca_id = ? AND kind = ? AND status = "
		    "'published' AND coalesce(shard, 0) = ?", "iti", c->id,
		    kind_name(j[i].kind), j[i].shard)) != 0)
			break;
		if (j[i].kind == CRL_FULL) {
			/* the delta of this run has it for its base */
			base = j[i].number;
			since = seq;
			j[i].freshest = freshest;
		}
		j[i].base = base;
		j[i].since = since;
		buf_reset(&next);
		clock_fmt(&next, j[i].next_update);
		buf_printf(&detail, "%s%s %lld", i ? ", " : "",
		    kind_name(j[i].kind), (long long)j[i].number);
		rc = db_exec(x->db, e, "INSERT INTO crls (ca_id, number, kind, "
		    "shard, base, upto, status, this_update, next_update, "
		    "created_at) VALUES (?, ?, ?, nullif(?, -1), nullif(?, -1), "
		    "?, 'signing', ?, ?, ?)", "iitiiittt", c->id, j[i].number,
		    kind_name(j[i].kind), j[i].kind == CRL_SHARD ? j[i].shard :
		    -1, j[i].kind == CRL_DELTA ? j[i].base : -1, seq, this.p,
		    next.p, this.p);
	}
	buf_printf(&obj, "ca:%s", c->name);
	ev.object = obj.p;
	ev.detail = detail.p;
	if (rc == 0 && (rc = audit_log(x->db, &ev, e)) == 0)
		rc = db_commit(x->db, e);
out:
	if (rc != 0)
		db_rollback(x->db);
	buf_free(&this);
	buf_free(&next);
	buf_free(&detail);
	buf_free(&obj);
	return rc;
}

/* The outcome of the signing rows: published or failed, with an audit
 * event per CRL. */
static int
record(struct ctx *x, const struct ca_row *c, const struct crl_job *j,
    size_t n, const char *why, struct err *e)
{
	struct buf obj = {0}, detail = {0}, name = {0};
	struct audit_ev ev = { why ? "crl.failed" : "crl.published", x->actor,
	    c->realm, NULL, why ? "failure" : "success", NULL };
	size_t i;
	int rc;

	if ((rc = db_begin(x->db, e)) != 0)
		return rc;
	buf_printf(&obj, "ca:%s", c->name);
	ev.object = obj.p;
	for (i = 0; i < n && rc == 0; i++) {
		buf_reset(&detail);
		buf_reset(&name);
		crl_file(c->name, j[i].kind, j[i].shard, &name);
		buf_printf(&detail, "%s CRL %lld, pub/crl/%s", kind_name(
		    j[i].kind), (long long)j[i].number, name.p);
		if (why)
			buf_printf(&detail, ": %s", why);
		ev.detail = detail.p;
		if ((rc = db_exec(x->db, e, "UPDATE crls SET status = ? WHERE "
		    "ca_id = ? AND number = ? AND status = 'signing'", "tii",
		    why ? "failed" : "published", c->id, j[i].number)) == 0)
			rc = audit_log(x->db, &ev, e);
	}
	if (rc == 0)
		rc = db_commit(x->db, e);
	if (rc != 0)
		db_rollback(x->db);
	buf_free(&obj);
	buf_free(&detail);
	buf_free(&name);
	return rc;
}

/* Start `sign --home H --ca NAME [--passphrase-...] --crl -`, its
 * stdin and stdout on pipes: it execs, loads its key and reads the
 * specs while this process takes their CRL numbers. */
static int
start_sign(struct ctx *x, const struct ca_row *c, struct signer *sg,
    struct err *e)
{
	struct buf path = {0}, num = {0};
	const char *av[12];
	posix_spawn_file_actions_t fa;
	int pp[2] = { -1, -1 }, in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int rc = 0, sk, i;
	size_t k = 0;

	sg->pid = -1;
	sg->in = sg->out = -1;
	if (posix_spawn_file_actions_init(&fa) != 0)
		diag_nomem();
	if ((x->pass.b.len && pipe(pp) < 0) || pipe(in) < 0 ||
	    pipe(out) < 0) {
		rc = err_set(e, EX_OSERR, "pipe: %s", strerror(errno));
		goto out;
	}
	/* a passphrase line is far smaller than a pipe's buffer */
	if (pp[1] >= 0 && (write(pp[1], x->pass.b.p, x->pass.b.len) !=
	    (ssize_t)x->pass.b.len || write(pp[1], "\n", 1) != 1)) {
		rc = err_set(e, EX_OSERR, "passphrase pipe: %s",
		    strerror(errno));
		goto out;
	}
	(void)fcntl(in[1], F_SETFD, FD_CLOEXEC);
	(void)fcntl(out[0], F_SETFD, FD_CLOEXEC);
#ifdef F_SETPIPE_SZ
	/* room for a megabyte: sign does not wait on each 64 KiB */
	(void)fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
#endif
	buf_printf(&path, "%s/sign", x->bindir);
	av[k++] = "sign";
	av[k++] = "--home";
	av[k++] = x->conf.home;
	av[k++] = "--ca";
	av[k++] = c->name;
	if (pp[0] >= 0) {
		buf_printf(&num, "%d", pp[0]);
		av[k++] = "--passphrase-fd";
		av[k++] = num.p;
	} else if (x->passfile) {
		av[k++] = "--passphrase-file";
		av[k++] = x->passfile;
	}
	if (x->verbose)
		av[k++] = "--verbose";
	av[k++] = "--crl";
	av[k++] = "-";
	av[k] = NULL;
	/* posix_spawn: no copy of this process's page tables to fault on */
	if ((sk = posix_spawn_file_actions_adddup2(&fa, in[0], 0)) != 0 ||
	    (sk = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) != 0 ||
	    (pp[1] >= 0 && (sk = posix_spawn_file_actions_addclose(&fa,
	    pp[1])) != 0)) {
		rc = err_set(e, EX_OSERR, "spawn: %s", strerror(sk));
		goto out;
	}
	if ((sk = posix_spawn(&sg->pid, path.p, &fa, NULL, (char *const *)av,
	    environ)) != 0) {
		sg->pid = -1;
		rc = err_set(e, EX_SOFTWARE, "%s: cannot run: %s", path.p,
		    strerror(sk));
		goto out;
	}
	sg->in = in[1];
	sg->out = out[0];
	in[1] = out[0] = -1;
out:
	posix_spawn_file_actions_destroy(&fa);
	for (i = 0; i < 2; i++) {
		if (pp[i] >= 0)
			close(pp[i]);
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	buf_free(&path);
	buf_free(&num);
	return rc;
}

/* The specs of j[0..n-1] down sign's stdin, which is then closed. */
static int
send_specs(struct signer *sg, const struct crl_job *j, size_t n,
    struct err *e)
{
	struct buf all = {0}, one = {0};
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		buf_reset(&one);
		crl_job_fmt(&j[i], &one);
		buf_printf(&all, "%s\n", one.p);
	}
	/* sign reads them all before it writes: this cannot block on it */
	if (fs_write_all(sg->in, all.p, all.len) < 0)
		rc = err_set(e, EX_SOFTWARE, "sign's input: write: %s",
		    strerror(errno));
	close(sg->in);
	sg->in = -1;
	buf_free(&all);
	buf_free(&one);
	return rc;
}

/* Close what this process holds of sg's pipes. */
static void
stop_sign(struct signer *sg)
{
	if (sg->in >= 0)
		close(sg->in);
	if (sg->out >= 0)
		close(sg->out);
	sg->in = sg->out = -1;
}

static int
wait_sign(struct signer *sg, struct err *e)
{
	int st;

	if (sg->pid < 0)
		return 0;
	while (waitpid(sg->pid, &st, 0) < 0)
		if (errno != EINTR) {
			sg->pid = -1;
			return err_set(e, EX_OSERR, "wait: %s", strerror(errno));
		}
	sg->pid = -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return err_set(e, WEXITSTATUS(st) == EX_NOPERM ? EX_NOPERM :
		    WEXITSTATUS(st) == EX_TEMPFAIL ? EX_TEMPFAIL : EX_SOFTWARE,
		    "sign failed (exit %d)", WEXITSTATUS(st));
	return err_set(e, EX_SOFTWARE, "sign died (signal %d)", WTERMSIG(st));
}

static void
out_close(struct out *o, int keep)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (o->fd[i] >= 0)
			close(o->fd[i]);
		o->fd[i] = -1;
		if (!keep && o->tmp[i].p)
			unlink(o->tmp[i].p);
	}
}

static void
out_free(struct out *o)
{
	int i;

	out_close(o, 0);
	for (i = 0; i < 2; i++) {
		buf_free(&o->tmp[i]);
		buf_free(&o->path[i]);
	}
}

/* The temporary DER and PEM files. */
static int
out_open(struct ctx *x, const struct ca_row *c, const struct crl_job *j,
    struct out *o, struct err *e)
{
	int i;

	for (i = 0; i < 2; i++) {
		buf_printf(&o->path[i], "%s/", x->crldir);
		crl_file(c->name, j->kind, j->shard, &o->path[i]);
		if (i == 1)	/* <name>.crl -> <name>.pem */
			memcpy(o->path[i].p + o->path[i].len - 3, "pem", 3);
		buf_printf(&o->tmp[i], "%s.tmp.%ld", o->path[i].p,
		    (long)getpid());
		o->fd[i] = open(o->tmp[i].p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (o->fd[i] < 0)
			return err_set(e, EX_CANTCREAT, "%s: create: %s",
			    o->tmp[i].p, strerror(errno));
	}
	return 0;
}

/* Start the writeback of what o's file i has been given beyond the last
 * EARLY bytes: the pages go to disk while the stream is still being
 * read, and the fsync at the end finds them written. */
static void
early(struct out *o, int i)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (o->written[i] - o->synced[i] < EARLY)
		return;
	/* a hint: a failure here is the fsync's to report */
	(void)sync_file_range(o->fd[i], o->synced[i], o->written[i] -
	    o->synced[i], SYNC_FILE_RANGE_WRITE);
	o->synced[i] = o->written[i];
#else
	(void)o;
	(void)i;
#endif
}

static int
out_put(struct out *o, int i, const void *p, size_t n, struct err *e)
{
	if (fs_write_all(o->fd[i], p, n) < 0)
		return err_set(e, EX_IOERR, "%s: write: %s", o->tmp[i].p,
		    strerror(errno));
	o->written[i] += (off_t)n;
	early(o, i);
	return 0;
}

/* The PEM of in (n bytes) to o's PEM file, through a small buffer
 * that stays in cache; o->carry holds the bytes short of a whole line
 * (48) between calls, and the last call (last set) writes them. */
static int
pem_put(struct out *o, const unsigned char *in, size_t n, int last,
    struct err *e)
{
	char pem[PEM_LINES_MAX(PEM_IN)];
	size_t take, q;
	int rc;

	if (o->nc > 0) {
		take = 48 - o->nc < n ? 48 - o->nc : n;
		memcpy(o->carry + o->nc, in, take);
		o->nc += take;
		in += take;
		n -= take;
		if (o->nc == 48 || (last && n == 0)) {
			q = pem_lines(pem, o->carry, o->nc);
			o->nc = 0;
			if ((rc = out_put(o, 1, pem, q, e)) != 0)
				return rc;
		}
	}
	while (n >= 48 || (last && n > 0)) {
		take = n < PEM_IN ? n : PEM_IN;
		if (!last || take < n)
			take -= take % 48;
		q = pem_lines(pem, in, take);
		if ((rc = out_put(o, 1, pem, q, e)) != 0)
			return rc;
		in += take;
		n -= take;
	}
	memcpy(o->carry + o->nc, in, n);
	o->nc += n;
	return 0;
}

/* Bytes of o's CRL: to its DER file and, base64, its PEM file; the PEM
 * is closed with its last byte. */
static int
out_bytes(struct out *o, const unsigned char *p, size_t n, struct err *e)
{
	static const char pem_end[] = "-----END X509 CRL-----\n";
	int rc;

	o->got += n;
	if ((rc = out_put(o, 0, p, n, e)) != 0 ||
	    (rc = pem_put(o, p, n, o->got == o->len, e)) != 0)
		return rc;
	if (o->got == o->len)
		return out_put(o, 1, pem_end, sizeof pem_end - 1, e);
	return 0;
}

/* The DER header of the CRL that starts the rest of the stream, from
 * the bytes gathered in c->h: 1 when it is whole (and its CRL's length
 * known), 0 when more bytes are needed, -1 when it is no CRL's. */
static int
header(struct cut *c, struct err *e)
{
	static const char pem_begin[] = "-----BEGIN X509 CRL-----\n";
	struct out *o = &c->o[c->cur];
	size_t hl = 2, len = 0, k;

	if (c->nh < 2)
		return 0;
	if (c->h[0] != 0x30 || c->h[1] == 0x80 || c->h[1] > 0x84) {
		err_set(e, EX_SOFTWARE, "sign's output is not a CRL");
		return -1;
	}
	if (c->h[1] < 0x80)
		len = c->h[1];
	else {
		hl += c->h[1] & 0x7f;
		if (c->nh < hl)
			return 0;
		for (k = 2; k < hl; k++)
			len = len << 8 | c->h[k];
	}
	o->len = hl + len;
	if (out_put(o, 1, pem_begin, sizeof pem_begin - 1, e) != 0 ||
	    out_bytes(o, c->h, hl, e) != 0)
		return -1;
	c->nh = 0;
	return 1;
}

/* n bytes of sign's stream to the CRLs they belong to. */
static int
feed(struct cut *c, const unsigned char *p, size_t n, struct err *e)
{
	struct out *o;
	size_t take;
	int h;

	while (n > 0) {
		if (c->cur == c->n)
			return err_set(e, EX_SOFTWARE, "sign wrote more than "
			    "%zu CRLs", c->n);
		o = &c->o[c->cur];
		if (o->len == 0) {	/* its header, a byte at a time */
			c->h[c->nh++] = *p++;
			n--;
			if ((h = header(c, e)) < 0)
				return e->code;
			if (h == 0)
				continue;
		}
		take = o->len - o->got < n ? o->len - o->got : n;
		if (take > 0 && out_bytes(o, p, take, e) != 0)
			return e->code;
		p += take;
		n -= take;
		if (o->got == o->len)
			c->cur++;
	}
	return 0;
}

/* Read sign's stream from fd to its end, into the CRLs' files. */
static int
cut_stream(int fd, struct out *o, size_t n, struct err *e)
{
	struct cut c = { o, n, 0, {0}, 0 };
	unsigned char *b = xmalloc(CHUNK);
	ssize_t k;
	int rc = 0;

	for (;;) {
		if ((k = read(fd, b, CHUNK)) < 0) {
			if (errno == EINTR)
				continue;
			rc = err_set(e, EX_IOERR, "sign's output: read: %s",
			    strerror(errno));
			break;
		}
		if (k == 0)
			break;
		if ((rc = feed(&c, b, (size_t)k, e)) != 0)
			break;
	}
	free(b);
	if (rc == 0 && c.cur < n)
		rc = err_set(e, EX_SOFTWARE, "sign's output ended within CRL "
		    "%zu of %zu", c.cur + 1, n);
	return rc;
}

/* Give the running sign the specs of j[0..n-1], cut its output into
 * the CRLs' DER and PEM files as it comes; when sign succeeded and all
 * of them came whole, fsync and rename them over the published names.
 * sg is waited for, whatever happens. */
static int
produce(struct ctx *x, const struct ca_row *c, const struct crl_job *j,
    size_t n, struct signer *sg, struct err *e)
{
	struct out *o = xcalloc(n, sizeof *o);
	struct err we = {0};
	size_t i;
	int rc = 0, k;

	for (i = 0; i < n; i++)
		o[i].fd[0] = o[i].fd[1] = -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = out_open(x, c, &j[i], &o[i], e);
	if (rc == 0 && (rc = send_specs(sg, j, n, e)) == 0)
		rc = cut_stream(sg->out, o, n, e);
	/* sign gets EOF on its input, SIGPIPE on its output, if this
	 * stopped early */
	stop_sign(sg);
	/* sign's own status counts first, its diagnostic says why; but a
	 * failure to write here is this side's (sign died of SIGPIPE) */
	if ((k = wait_sign(sg, &we)) != 0 && rc != EX_IOERR &&
	    rc != EX_CANTCREAT) {
		rc = k;
		err_set(e, we.code, "%s", err_str(&we));
		goto out;
	}
	if (rc != 0)
		goto out;
	for (i = 0; i < n && rc == 0; i++)
		for (k = 0; k < 2 && rc == 0; k++)
			if (fsync(o[i].fd[k]) < 0)
				rc = err_set(e, EX_IOERR, "%s: fsync: %s",
				    o[i].tmp[k].p, strerror(errno));
	for (i = 0; i < n && rc == 0; i++)
		for (k = 0; k < 2 && rc == 0; k++)
			if (rename(o[i].tmp[k].p, o[i].path[k].p) < 0)
				rc = err_set(e, EX_IOERR, "%s: rename: %s",
				    o[i].path[k].p, strerror(errno));
	if (rc == 0)
		rc = fs_fsync_dir(x->crldir, e);
out:
	for (i = 0; i < n; i++)
		out_free(&o[i]);
	free(o);
	err_free(&we);
	return rc;
}

/* Publish what is due for one CA: 0, NOTHING_DUE or a failure. */
static int
publish_ca(struct ctx *x, const struct ca_row *c, struct err *e)
{
	struct crl_settings s;
	struct crl_job *j = NULL;
	struct signer sg;
	struct err re = {0};
	size_t n = 0;
	int rc;

	if ((rc = crl_settings_load(x->db, c->id, &s, e)) != 0 ||
	    (rc = plan(x, c, &s, &j, &n, e)) != 0)
		goto out;
	if (n == 0) {
		rc = NOTHING_DUE;
		goto out;
	}
	/* sign starts while the numbers are taken */
	if ((rc = start_sign(x, c, &sg, e)) != 0)
		goto out;
	if ((rc = number(x, c, s.delta_hours > 0, j, n, e)) != 0) {
		/* no specs: sign reads its input's end and signs nothing */
		stop_sign(&sg);
		(void)wait_sign(&sg, &re);
		goto out;
	}
	rc = produce(x, c, j, n, &sg, e);
	if (record(x, c, j, n, rc ? err_str(e) : NULL, &re) != 0 && rc == 0)
		rc = err_set(e, re.code, "%s", err_str(&re));
out:
	if (rc != 0 && rc != NOTHING_DUE)
		err_prefix(e, "CA %s", c->name);
	free(j);
	err_free(&re);
	return rc;
}

/* Temporary files a killed run left: under the lock no other run is
 * writing, so every "<name>.tmp.<pid>" here is one. */
static void
sweep(const struct ctx *x)
{
	struct buf p = {0};
	struct dirent *d;
	DIR *dir;

	if ((dir = opendir(x->crldir)) == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.' || strstr(d->d_name, ".tmp.") == NULL)
			continue;
		buf_reset(&p);
		buf_printf(&p, "%s/%s", x->crldir, d->d_name);
		unlink(p.p);
	}
	closedir(dir);
	buf_free(&p);
}

/* pub/crl/ exists and this run alone writes into it. */
static int
lock_dir(struct ctx *x, int *fd, struct err *e)
{
	struct buf p = {0};
	int rc = 0;

	if ((rc = fs_mkdirs(x->crldir, 0755, e)) != 0)
		return rc;
	buf_printf(&p, "%s/.lock", x->crldir);
	if ((*fd = open(p.p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(*fd, LOCK_EX) < 0)
		rc = err_set(e, EX_IOERR, "%s: lock: %s", p.p, strerror(errno));
	else
		sweep(x);
	buf_free(&p);
	return rc;
}

static void
ctx_free(struct ctx *x)
{
	secret_free(&x->pass);
	free(x->actor);
	free(x->bindir);
	free(x->crldir);
	db_close(x->db);
	conf_free(&x->conf);
}

int
main(int argc, char **argv)
{
	char *home = NULL, *passfile = NULL, *ca = NULL;
	int passfd = -1, due = 0, delta = 0, rebuild = 0, verbose = 0;
	struct poptOption table[] = {
		{ "ca", '\0', POPT_ARG_STRING, &ca, 0,
		  "only this CA (default: every active CA)", "NAME" },
		{ "delta", '\0', POPT_ARG_NONE, &delta, 0,
		  "only delta CRLs", NULL },
		{ "due", '\0', POPT_ARG_NONE, &due, 0,
		  "only what is due; exit 1 when nothing is", NULL },
		{ "home", '\0', POPT_ARG_STRING, &home, 0,
		  "the instance (default: $CERTPIPE_HOME, the checkout's "
		  "spool/)", "DIR" },
		{ "passphrase-fd", '\0', POPT_ARG_INT, &passfd, 0,
		  "read the CA key passphrase from file descriptor FD", "FD" },
		{ "passphrase-file", '\0', POPT_ARG_STRING, &passfile, 0,
		  "read the CA key passphrase from FILE", "FILE" },
		{ "rebuild", '\0', POPT_ARG_NONE, &rebuild, 0,
		  "make complete CRLs from the database alone, not from "
		  "the last one published", NULL },
		{ "verbose", 'v', POPT_ARG_NONE, &verbose, 0,
		  "say on stderr how each CRL was made", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct secret_src src = { NULL, -1 };
	struct ca_row *cas = NULL;
	struct ctx x;
	struct err e = {0};
	poptContext pc;
	size_t ncas = 0, i, done = 0;
	int rc, one, lockfd = -1;

	diag_init(argv[0]);
	/* a sign that died before reading its specs is told by its exit
	 * status, not by this process dying on the write */
	signal(SIGPIPE, SIG_IGN);
	/* OpenSSL only hashes and base64-encodes here: no configuration */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	memset(&x, 0, sizeof x);
	pc = poptGetContext("publish-crl", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[OPTION...]");
	if ((rc = poptGetNextOpt(pc)) < -1 || poptPeekArg(pc) != NULL) {
		diag("%s: %s", rc < -1 ? poptBadOption(pc, 0) :
		    poptPeekArg(pc), rc < -1 ? poptStrerror(rc) :
		    "no arguments are taken");
		rc = EX_USAGE;
		goto out;
	}
	x.due = due;
	x.delta = delta;
	x.rebuild = rebuild;
	x.verbose = verbose;
	x.passfile = passfile;
	x.now = clock_now();
	x.bindir = fs_prog_dir("sign");
	src.fd = passfd;
	if ((rc = open_instance(&x, home, &e)) != 0 ||
	    (passfd >= 0 && (rc = secret_get(&src, &x.conf, &x.pass, &e)) != 0) ||
	    (rc = ca_rows(&x, ca, &cas, &ncas, &e)) != 0 ||
	    (rc = lock_dir(&x, &lockfd, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	x.actor = audit_actor();
	rc = 0;
	for (i = 0; i < ncas; i++) {
		if ((one = publish_ca(&x, &cas[i], &e)) == 0)
			done++;
		else if (one != NOTHING_DUE) {
			diag_err(&e);
			rc = rc ? rc : one;
		}
		err_free(&e);
	}
	if (rc == 0 && done == 0 && (due || delta))
		rc = NOTHING_DUE;
out:
	if (lockfd >= 0)
		close(lockfd);
	cas_free(cas, ncas);
	ctx_free(&x);
	free(home);
	free(passfile);
	free(ca);
	err_free(&e);
	poptFreeContext(pc);
	return rc;
}
