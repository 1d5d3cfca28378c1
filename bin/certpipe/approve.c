/*
 * approve - `certpipe approve ORDER` and `certpipe decline ORDER --reason
 * TEXT`: one person's decision on an order check-policy held for
 * approval (the rules: lib/approval.h).
 *
 * Approving enough moves the job from queue/held back to queue/incoming,
 * where the scheduler runs it through check-policy again; check-policy
 * counts the approvals itself, so this command never lets a job past the
 * policy on its own say-so. Declining fails the order and moves the job
 * to queue/failed with the reason. Neither holds a key or signs.
 *
 * Order of writes. Approve: the decision commits first, then the job
 * moves; after a crash between the two, the next `approve` of the order
 * finds its approvals complete and moves the job. Decline: the failed
 * record is written into queue/failed inside the transaction, the
 * transaction commits, then the held copy is removed; a crash leaves the
 * job in both queues with one outcome, never in neither.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "approval.h"
#include "cli.h"
#include "diag.h"
#include "order.h"
#include "rec.h"
#include "spool.h"

#define REASON_MAX 1000

/* "certpipe help approve" arrives as "approve help": make it --help
 * (h has room for 3) */
static const char **
help_argv(int argc, const char **argv, const char **h)
{
	if (argc == 2 && strcmp(argv[1], "help") == 0) {
		h[0] = argv[0];
		h[1] = "--help";
		h[2] = NULL;
		return h;
	}
	return argv;
}

/* Record a refusal (outcome refused) and say why: exit 77. Runs in the
 * open transaction, which it commits: a refusal changes nothing else. */
static int
refuse(struct cli *c, const struct order *o, const char *what,
    enum approval_verdict v, struct err *e)
{
	struct buf obj = {0}, why = {0};
	int rc;

	buf_printf(&obj, "order:%s", o->job);
	buf_printf(&why, "cannot %s: %s", what, approval_why(v));
	if (v == APPROVAL_NOT_HELD)
		buf_printf(&why, " (status %s)", o->status);
	if ((rc = cli_audit(c, "certificate.approval.refused", obj.p,
	    "refused", why.p, e)) == 0 && (rc = db_commit(c->db, e)) == 0)
		rc = err_set(e, EX_NOPERM, "order %s: %s", o->job, why.p);
	buf_free(&obj);
	buf_free(&why);
	return rc;
}

/* Move the job from queue/held to queue/incoming and wake the scheduler.
 * EX_NOINPUT: the job is not in queue/held. */
static int
release(struct cli *c, const char *job, struct err *e)
{
	struct spool *sp = NULL;
	int rc;

	if ((rc = spool_open(c->conf.home, &sp, e)) == 0 &&
	    (rc = spool_move(sp, "held", "incoming", job, e)) == 0)
		spool_trigger_pull(sp);
	spool_close(sp);
	return rc;
}

/* After a decision that completes the approvals: release the job. */
static int
released(struct cli *c, const struct order *o, struct buf *out, struct err *e)
{
	int rc;

	if ((rc = release(c, o->job, e)) == 0)
		buf_adds(out, "job queued for signing\n");
	else if (rc == EX_NOINPUT) {
		err_free(e);
		buf_adds(out, "the job is not in queue/held: resubmit its "
		    "record through check-policy\n");
		rc = 0;
	} else
		err_prefix(e, "order %s: approval recorded, job not moved",
		    o->job);
	return rc;
}

int
cmd_approve(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct approval_list l = {0};
	struct order o = {0};
	struct err e = {0};
	struct buf obj = {0}, out = {0};
	enum approval_verdict v;
	const char *h[3];
	size_t have, need;
	int rc, intx = 0;

	if ((rc = cli_parse(c, "certpipe approve", argc, help_argv(argc, argv,
	    h), opts, "[OPTION...] ORDER", 1, 1)) != 0 ||
	    (rc = cli_open(c)) != 0)
		goto out;
	/* judge and decide in one transaction: two approvers never both
	 * count as "the first" */
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = approval_find(c->db, c->realm_id, c->args[0], &o, &e)) != 0 ||
	    (rc = approval_load(c->db, o.id, &l, &e)) != 0)
		goto fail;
	v = approval_judge(o.status, o.approval, o.requested_by, &l, c->actor,
	    0);
	/* complete approvals and the job still held: a crash came between
	 * the last approval and the move; finish the move, record nothing */
	if (v == APPROVAL_SATISFIED && release(c, o.job, &e) == 0) {
		db_rollback(c->db);
		intx = 0;
		buf_printf(&out, "order %s: approvals were complete; job queued "
		    "for signing\n", o.job);
		rc = cli_print(&out);
		goto out;
	}
	err_free(&e);
	if (v != APPROVAL_OK) {
		intx = 0;
		if ((rc = refuse(c, &o, "approve", v, &e)) != EX_NOPERM)
			db_rollback(c->db);
		goto fail;
	}
	need = (size_t)approval_needed(o.approval);
	have = approval_count(&l, o.requested_by) + 1;
	buf_printf(&obj, "order:%s", o.job);
	buf_printf(&out, "%zu of %zu", have, need);
	if ((rc = approval_add(c->db, o.id, c->actor, "approve", NULL,
	    &e)) != 0 || (rc = cli_audit(c, "certificate.approval.approved",
	    obj.p, "success", out.p, &e)) != 0 ||
	    (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	buf_reset(&out);
	buf_printf(&out, "order %s: approved", o.job);
	if (have < need)
		buf_printf(&out, " (%zu of %zu); waiting for a%s approver\n",
		    have, need, have + 1 == 2 ? " second" : "nother");
	else {
		buf_adds(&out, "; ");
		if ((rc = released(c, &o, &out, &e)) != 0)
			goto fail;
	}
	rc = cli_print(&out);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	approval_list_free(&l);
	order_free(&o);
	buf_free(&obj);
	buf_free(&out);
	err_free(&e);
	return rc;
}

/* One printable line: it becomes the job's Error header and an alert. */
static int
reason_check(const char *reason, struct err *e)
{
	const unsigned char *p;

	if (reason == NULL || *reason == '\0')
		return err_set(e, EX_USAGE, "decline: --reason TEXT is required");
	for (p = (const unsigned char *)reason; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return err_set(e, EX_USAGE, "decline: --reason: control "
			    "characters are not allowed");
	if (strlen(reason) > REASON_MAX)
		return err_set(e, EX_USAGE, "decline: --reason: longer than %d "
		    "bytes", REASON_MAX);
	return 0;
}

/* Write the held job, marked failed with error, into queue/failed.
 * *written: 1 when the failed copy exists now (ours or an interrupted
 * earlier decline's), 0 when the job is not in queue/held. */
static int
fail_job(struct spool *sp, const char *job, const char *error, int *written,
    struct err *e)
{
	struct rec *r = NULL;
	struct buf text = {0};
	int rc;

	*written = 0;
	if ((rc = spool_read(sp, "held", job, &text, e)) == EX_NOINPUT) {
		err_free(e);
		return 0;
	}
	if (rc != 0 || (rc = rec_parse(text.p, text.len, &r, e)) != 0)
		goto out;
	if ((rc = rec_set(r, "Status", "failed", e)) != 0 ||
	    (rc = rec_set(r, "Error", error, e)) != 0 ||
	    (rc = rec_set(r, "Error-Code", "77", e)) != 0 ||
	    (rc = rec_set(r, "Stage", "decline", e)) != 0)
		goto out;
	buf_reset(&text);
	rec_write(r, &text);
	rc = spool_put(sp, "failed", job, text.p, text.len, e);
	if (rc == EX_CANTCREAT) {
		/* a decline interrupted after its write: the failed copy is
		 * there, nothing was committed; keep it */
		err_free(e);
		rc = 0;
	}
	*written = rc == 0;
out:
	if (rc != 0)
		err_prefix(e, "job %s", job);
	rec_free(r);
	buf_free(&text);
	return rc;
}

int
cmd_decline(struct cli *c, int argc, const char **argv)
{
	char *reason = NULL;
	struct poptOption opts[] = {
		{ "reason", '\0', POPT_ARG_STRING, &reason, 0,
		  "why the request is declined (required; one line)", "TEXT" },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct approval_list l = {0};
	struct spool *sp = NULL;
	struct order o = {0};
	struct err e = {0}, e2 = {0};
	struct buf obj = {0}, msg = {0}, out = {0};
	enum approval_verdict v;
	const char *h[3];
	int rc, intx = 0, written = 0;

	if ((rc = cli_parse(c, "certpipe decline", argc, help_argv(argc, argv,
	    h), opts, "[OPTION...] --reason TEXT ORDER", 1, 1)) != 0)
		goto out;
	if ((rc = reason_check(reason, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = spool_open(c->conf.home, &sp, &e)) != 0 ||
	    (rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = approval_find(c->db, c->realm_id, c->args[0], &o, &e)) != 0 ||
	    (rc = approval_load(c->db, o.id, &l, &e)) != 0)
		goto fail;
	v = approval_judge(o.status, o.approval, o.requested_by, &l, c->actor,
	    1);
	if (v != APPROVAL_OK && strcmp(o.status, "failed") == 0) {
		/* an earlier decline committed, then stopped before its
		 * job left queue/held: finish the move */
		if ((rc = fail_job(sp, o.job, o.error ? o.error : "declined",
		    &written, &e)) != 0)
			goto fail;
		if (written) {
			db_rollback(c->db);
			intx = 0;
			buf_printf(&out, "order %s: already failed; ", o.job);
			goto move;
		}
	}
	if (v != APPROVAL_OK) {
		intx = 0;
		if ((rc = refuse(c, &o, "decline", v, &e)) != EX_NOPERM)
			db_rollback(c->db);
		goto fail;
	}
	buf_printf(&obj, "order:%s", o.job);
	buf_printf(&msg, "declined by %s: %s", c->actor, reason);
	/* the decision is committed first: a crash after it leaves the job
	 * in queue/held with its order failed, which the next decline (and
	 * check-policy, were it run again) finishes; the other order would
	 * let the spool recovery keep a failed copy of a job nobody
	 * declined */
	if ((rc = approval_add(c->db, o.id, c->actor, "decline", reason,
	    &e)) != 0 || (rc = order_fail(c->db, o.id, EX_NOPERM, msg.p,
	    &e)) != 0 || (rc = cli_audit(c, "certificate.approval.declined",
	    obj.p, "success", reason, &e)) != 0 ||
	    (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	if ((rc = fail_job(sp, o.job, msg.p, &written, &e)) != 0) {
		err_prefix(&e, "order %s: declined, job still in queue/held "
		    "(decline it again to move it)", o.job);
		goto fail;
	}
	buf_printf(&out, "order %s: declined; ", o.job);
move:
	if (written && (rc = spool_remove(sp, "held", o.job, &e)) != 0 &&
	    rc != EX_NOINPUT) {
		err_prefix(&e, "order %s: declined, job also still in "
		    "queue/held", o.job);
		goto fail;
	}
	buf_adds(&out, written ? "job moved to queue/failed\n" :
	    "the job was not in queue/held\n");
	rc = cli_print(&out);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	approval_list_free(&l);
	order_free(&o);
	spool_close(sp);
	buf_free(&obj); buf_free(&msg); buf_free(&out);
	free(reason);
	err_free(&e);
	err_free(&e2);
	return rc;
}
