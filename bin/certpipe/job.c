/* job - queue a committed job, report it, wait for it (see job.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "diag.h"
#include "job.h"
#include "json.h"
#include "num.h"
#include "spool.h"

#define POLL_NS		50000000L	/* 50 ms between looks at the order */

static int
queue(struct cli *c, const struct rec *r, struct err *e)
{
	struct spool *sp = NULL;
	struct buf text = {0};
	int rc;

	rec_write(r, &text);
	if ((rc = spool_open(c->conf.home, &sp, e)) == 0 &&
	    (rc = spool_put(sp, "incoming", rec_id(r), text.p, text.len,
	    e)) == 0)
		spool_trigger_pull(sp);
	spool_close(sp);
	buf_free(&text);
	return rc;
}

/* The job could not be queued: its order fails with the reason, so the
 * request is kept (orders.request) and an alert raised, not lost. */
static void
fail_order(struct cli *c, const struct rec *r, const char *event,
    const struct err *why)
{
	struct order o = {0};
	struct buf obj = {0};
	struct err e = {0};

	buf_printf(&obj, "order:%s", rec_id(r));
	if (db_begin(c->db, &e) != 0 ||
	    order_load(c->db, rec_id(r), &o, &e) != 0 ||
	    order_fail(c->db, o.id, why->code, err_str(why), &e) != 0 ||
	    cli_audit(c, event, obj.p, "failure", err_str(why), &e) != 0 ||
	    db_commit(c->db, &e) != 0) {
		db_rollback(c->db);
		diag_err(&e);
	}
	order_free(&o);
	buf_free(&obj);
	err_free(&e);
}

int
job_report(struct cli *c, const char *job, const struct order *o)
{
	const char *status = o ? o->status : "pending";
	struct buf out = {0};
	struct jw w;
	int rc = 0;

	if (o && strcmp(status, "failed") == 0)
		rc = o->error_code >= EX__BASE && o->error_code <= EX__MAX ?
		    (int)o->error_code : EX_NOPERM;
	else if (o && strcmp(status, "complete") != 0)
		rc = EX_TEMPFAIL;
	if (c->json) {
		jw_init(&w, &out);
		jw_obj(&w);
		jw_kstr(&w, "job", job);
		jw_kstr(&w, "status", status);
		jw_key(&w, "certificate");
		if (o && o->cert_id)
			jw_int(&w, o->cert_id);
		else
			jw_null(&w);
		jw_kstr(&w, "error", o ? o->error : NULL);
		jw_end(&w);
		buf_addc(&out, '\n');
	} else if (o == NULL)
		buf_printf(&out, "%s\n", job);
	else if (strcmp(status, "complete") == 0)
		buf_printf(&out, "complete: certificate %lld\n",
		    (long long)o->cert_id);
	else if (strcmp(status, "failed") == 0)
		buf_printf(&out, "failed: %s\n", o->error ? o->error : "-");
	else if (strcmp(status, "held") == 0)
		buf_printf(&out, "held for approval\n");
	else
		buf_printf(&out, "%s: not done yet; the job is kept\n", status);
	if (cli_print(&out) != 0)
		rc = EX_IOERR;
	buf_free(&out);
	return rc;
}

static double
elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Follow the order until the pipeline is done with it, or secs pass. */
static int
wait_order(struct cli *c, const char *job, int64_t secs, struct err *e)
{
	struct timespec t0, nap = { 0, POLL_NS };
	struct order o = {0};
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		order_free(&o);
		if ((rc = order_load(c->db, job, &o, e)) != 0 &&
		    rc != EX_TEMPFAIL)
			return rc;
		if (rc == 0 && o.realm_id != c->realm_id) {
			order_free(&o);
			return err_set(e, EX_SOFTWARE, "job %s: changed realm",
			    job);
		}
		if (rc == 0 && strcmp(o.status, "pending") != 0 &&
		    strcmp(o.status, "processing") != 0)
			break;
		if (elapsed(&t0) >= (double)secs) {
			if (rc != 0)
				return rc;
			break;
		}
		err_free(e);
		nanosleep(&nap, NULL);
	}
	rc = job_report(c, job, &o);
	order_free(&o);
	return rc;
}

int
job_send(struct cli *c, const struct rec *r, const char *event,
    int64_t wait, struct err *e)
{
	int rc;

	if ((rc = queue(c, r, e)) != 0) {
		fail_order(c, r, event, e);
		return rc;
	}
	/* --json --wait: one document, at the end */
	if (!(c->json && wait > 0) &&
	    (rc = job_report(c, rec_id(r), NULL)) != 0)
		return rc;
	return wait > 0 ? wait_order(c, rec_id(r), wait, e) : 0;
}

int
job_check_days_wait(const char *days, const char *wait, int64_t *secs,
    struct err *e)
{
	int64_t d;
	int rc;

	*secs = 0;
	if (days && (rc = num_i64("--days", days, 1, JOB_DAYS_MAX, &d,
	    e)) != 0)
		return rc;
	if (wait && (rc = num_i64("--wait", wait, 0, JOB_WAIT_MAX, secs,
	    e)) != 0)
		return rc;
	return 0;
}
