/* requeue - put back jobs lost between an order's commit and the spool
 * (see requeue.h). */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include "audit.h"
#include "buf.h"
#include "clock.h"
#include "requeue.h"

struct lost {
	char *job, *request, *realm;
};

int
requeue_in_spool(struct spool *sp, const char *id)
{
	const char *const *q;
	struct buf b = {0};
	struct err e = {0};
	int found = 0;

	for (q = spool_queues(); *q && !found; q++) {
		if (spool_read(sp, *q, id, &b, &e) != EX_NOINPUT)
			found = 1;
		buf_reset(&b);
		err_free(&e);
	}
	buf_free(&b);
	return found;
}

/* The candidates: pending since before the cutoff. Read whole first, so
 * no statement is open across the spool writes and audit commits. */
static int
candidates(struct db *db, int64_t realm, const char *type,
    const char *cutoff, struct lost **out, size_t *n, struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	if ((rc = db_prep(db, &st, e, "SELECT o.job, o.request, r.name "
	    "FROM realms r JOIN orders o ON o.realm_id = r.id "
	    "WHERE (? = 0 OR r.id = ?) AND o.status = 'pending' "
	    "AND (? = '' OR o.type = ?) AND o.updated_at < ? "
	    "ORDER BY o.id", "iittt", realm, realm, type ? type : "",
	    type ? type : "", cutoff)) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1) {
		*out = xrealloc(*out, sizeof **out * (*n + 1));
		(*out)[*n].job = xstrdup(db_text(st, 0));
		(*out)[*n].request = xstrdup(db_text(st, 1));
		(*out)[(*n)++].realm = xstrdup(db_text(st, 2));
	}
	db_finish(st);
	return rc < 0 ? e->code : 0;
}

/* One lost job back into incoming, then its audit event. A crash
 * between the two leaves the job queued without the event: harmless. */
static int
put_back(struct db *db, struct spool *sp, const struct lost *l,
    const char *actor, struct err *e)
{
	struct buf obj = {0};
	struct audit_ev ev;
	int rc;

	if ((rc = spool_put(sp, "incoming", l->job, l->request,
	    strlen(l->request), e)) != 0 && rc != EX_CANTCREAT)
		return rc;
	buf_printf(&obj, "order:%s", l->job);
	ev = (struct audit_ev){ "order.requeued", actor, l->realm, obj.p,
	    "success", "job re-queued from its order: it was in no queue" };
	if ((rc = db_begin(db, e)) == 0 &&
	    (rc = audit_log(db, &ev, e)) == 0)
		rc = db_commit(db, e);
	if (rc != 0)
		db_rollback(db);
	buf_free(&obj);
	return rc;
}

int
requeue_lost(struct db *db, struct spool *sp, int64_t realm,
    const char *type, int64_t age, const char *actor, size_t *n,
    struct err *e)
{
	struct lost *l = NULL;
	struct buf cutoff = {0};
	size_t i, count = 0, done = 0;
	int rc;

	clock_fmt(&cutoff, clock_now() - (time_t)age);
	rc = candidates(db, realm, type, cutoff.p, &l, &count, e);
	for (i = 0; i < count && rc == 0; i++)
		if (l[i].request != NULL && !requeue_in_spool(sp, l[i].job) &&
		    (rc = put_back(db, sp, &l[i], actor, e)) == 0)
			done++;
	for (i = 0; i < count; i++) {
		free(l[i].job);
		free(l[i].request);
		free(l[i].realm);
	}
	free(l);
	buf_free(&cutoff);
	if (n)
		*n = done;
	return rc;
}
