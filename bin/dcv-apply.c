/*
 * dcv-apply - record what dcv found: each ACME challenge result on the
 * records from dcv becomes the challenge's, its authorization's and its
 * orders' new status in the database (lib/acme_order.h).
 *
 * The scheduler runs "dcv | dcv-apply" over queue/dcv. A record dcv
 * decided (Challenge-Result valid or invalid) is applied and leaves as
 * Status complete. A record dcv could not decide (Status failed, Error-
 * Code 75) passes unchanged, so the scheduler defers it and tries again,
 * until it has been tried --max-attempts times or its authorization
 * expires: then the challenge is invalid ("gave up") and the record
 * complete. Records without a challenge pass unchanged.
 *
 * Trust: its input comes from dcv, which read hostile hosts; only the
 * Challenge-Result verdict and the challenge's type, token and realm are
 * taken from it (the error text is kept as a problem's detail). It opens
 * the database, holds no key and connects nowhere. It must never mark a
 * challenge valid that dcv did not call valid.
 */
#include <stdlib.h>
#include <string.h>
#include <popt.h>
#include <jansson.h>
#include "acme_order.h"
#include "audit.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "diag.h"
#include "loop.h"
#include "num.h"
#include "rec.h"

#define ACME_ERR "urn:ietf:params:acme:error:"

struct ctx {
	struct db *db;
	char *actor;
	uint64_t max_attempts;
};

/* The problem document for a result: NULL for valid. */
static char *
problem(const struct rec *r, int gave_up)
{
	const char *type = rec_get(r, "Challenge-Type");
	const char *why = gave_up ? rec_get(r, "Error") :
	    rec_get(r, "Challenge-Error");
	struct buf d = {0};
	json_t *o;
	char *s;

	if (gave_up)
		buf_printf(&d, "gave up after %s attempts: %s",
		    rec_get(r, "Attempt") ? rec_get(r, "Attempt") : "0",
		    why ? why : "no answer");
	else
		buf_adds(&d, why ? why : "the challenge was not satisfied");
	o = json_pack("{s:s,s:s}", "type", strcmp(type, "http-01") == 0 ?
	    (gave_up ? ACME_ERR "connection" : ACME_ERR "incorrectResponse") :
	    (gave_up ? ACME_ERR "dns" : ACME_ERR "unauthorized"), "detail",
	    d.p);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	buf_free(&d);
	return s;
}

/* Is it time to give up on a record dcv could not decide? */
static int
give_up(struct ctx *x, const struct rec *r, struct err *e)
{
	uint64_t attempt = 0;
	int64_t open = 0;
	struct buf now = {0};
	struct err e2 = {0};

	if (rec_get(r, "Attempt") && num_u64("Attempt", rec_get(r, "Attempt"),
	    0, 1000000, &attempt, &e2) != 0)
		attempt = 0;
	err_free(&e2);
	if (attempt + 1 >= x->max_attempts)
		return 1;
	/* no retry after the authorization is gone */
	clock_fmt(&now, clock_now());
	if (db_int64(x->db, &open, e, "SELECT count(*) FROM acme_challenges "
	    "c JOIN acme_authz a ON a.id = c.authz_id WHERE c.token = ? AND "
	    "c.type = ? AND a.status = 'pending' AND a.expires_at > ?", "ttt",
	    rec_get(r, "Challenge-Token"), rec_get(r, "Challenge-Type"),
	    now.p) != 0)
		open = 1;	/* the database will tell again next time */
	buf_free(&now);
	return open == 0;
}

static int
apply(struct ctx *x, const struct rec *r, const char *prob, int *applied,
    struct err *e)
{
	int rc;

	if ((rc = db_begin(x->db, e)) != 0)
		return rc;
	rc = acme_chall_apply(x->db, rec_get(r, "Realm"),
	    rec_get(r, "Challenge-Type"), rec_get(r, "Challenge-Token"), prob,
	    x->actor, applied, e);
	if (rc == 0)
		rc = db_commit(x->db, e);
	if (rc != 0)
		db_rollback(x->db);
	return rc;
}

static int
handle(struct rec *r, void *arg)
{
	struct ctx *x = arg;
	const char *st = rec_get(r, "Status"), *res;
	struct err e = {0}, e2 = {0};
	char *prob = NULL, code[8];
	int rc = 0, applied = 0, gave = 0;

	if (rec_get(r, "Challenge-Type") == NULL)
		return 0;
	if (rec_get(r, "Challenge-Token") == NULL || rec_get(r,
	    "Realm") == NULL) {
		rc = err_set(&e, EX_DATAERR, "no Challenge-Token or Realm");
		goto fail;
	}
	res = rec_get(r, "Challenge-Result");
	if (st && strcmp(st, "failed") == 0) {
		/* dcv could not decide (75) or could not run the check */
		if (rec_status_code(r) == EX_TEMPFAIL && !give_up(x, r, &e))
			return EX_TEMPFAIL;
		err_free(&e);
		e = (struct err){0};
		gave = 1;
	} else if (res == NULL || (strcmp(res, "valid") != 0 &&
	    strcmp(res, "invalid") != 0)) {
		rc = err_set(&e, EX_DATAERR, "no Challenge-Result from dcv");
		goto fail;
	}
	if (gave || strcmp(res, "valid") != 0)
		prob = problem(r, gave);
	if ((rc = apply(x, r, prob, &applied, &e)) != 0 && rc != EX_NOINPUT)
		goto fail;
	if (rc == EX_NOINPUT)
		diag("%s: %s", rec_id(r), err_str(&e));
	else if (!applied)
		diag_info("%s: the challenge has its result already", rec_id(r));
	rec_del(r, "Error");
	rec_del(r, "Error-Code");
	rec_set(r, "Status", "complete", &e2);
	rec_set(r, "Stage", "dcv-apply", &e2);
	rc = 0;
	goto out;
fail:
	/* the database's trouble is temporary; a bad record stays bad */
	if (rc != EX_TEMPFAIL)
		rc = EX_DATAERR;
	snprintf(code, sizeof code, "%d", rc);
	diag("%s: %s", rec_id(r), err_str(&e));
	rec_set(r, "Status", "failed", &e2);
	rec_set(r, "Stage", "dcv-apply", &e2);
	rec_set(r, "Error", err_str(&e), &e2);
	rec_set(r, "Error-Code", code, &e2);
out:
	free(prob);
	err_free(&e);
	err_free(&e2);
	return rc;
}

int
main(int argc, char **argv)
{
	char *home = NULL, *max = NULL, *h = NULL, *path = NULL;
	struct poptOption table[] = {
		{ "home", '\0', POPT_ARG_STRING, &home, 0,
		  "the instance (default: $CERTPIPE_HOME, the checkout's "
		  "spool/)", "DIR" },
		{ "max-attempts", '\0', POPT_ARG_STRING, &max, 0,
		  "undecided checks before a challenge is invalid (default 8)",
		  "N" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct ctx x = { NULL, NULL, 8 };
	struct conf conf = {0};
	struct err e = {0};
	const char **files;
	poptContext pc;
	int rc, n;

	diag_init(argv[0]);
	pc = poptGetContext("dcv-apply", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[OPTION...] [FILE...]");
	if ((rc = poptGetNextOpt(pc)) < -1) {
		diag("%s: %s", poptBadOption(pc, 0), poptStrerror(rc));
		rc = EX_USAGE;
		goto out;
	}
	if (max && (rc = num_u64("--max-attempts", max, 1, 1000,
	    &x.max_attempts, &e)) != 0) {
		rc = diag_err(&e);
		rc = EX_USAGE;
		goto out;
	}
	files = poptGetArgs(pc);
	for (n = 0; files && files[n]; n++)
		;
	h = conf_home(home);
	if ((rc = conf_load(h, &conf, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	path = conf_path(&conf, "certpipe.db");
	if ((rc = db_open(path, DB_OPEN_EXISTING, &x.db, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	x.actor = audit_actor();
	rc = loop_records(n, files, handle, &x, stdout);
out:
	free(x.actor);
	db_close(x.db);
	conf_free(&conf);
	free(path);
	err_free(&e);
	free(h);
	free(home);
	free(max);
	poptFreeContext(pc);
	return rc;
}
