/*
 * requeue - put back the jobs a crash lost between an order's commit
 * and its spool write.
 *
 * Every front door (certpipe request, submit, renew) commits the order,
 * with the job's record as orders.request, BEFORE it writes the job into
 * queue/incoming, so a crash in between leaves an order pending with no
 * job anywhere. requeue_lost finds orders that have been pending for at
 * least `age` seconds and whose job is in no queue, writes the stored
 * record back into queue/incoming, and audits "order.requeued" in the
 * order's realm. A job that any queue holds - or one the spool cannot
 * answer for - is left alone: a job is never queued twice on a guess,
 * and a replay would be harmless anyway (sign answers a complete order
 * with its stored certificate).
 *
 * realm 0 means every realm; type NULL every order type.
 *
 * Contract: 0 or a sysexits code with e filled; *n (may be NULL) gets
 * the number of jobs put back. The caller pulls the trigger.
 */
#ifndef CERTPIPE_REQUEUE_H
#define CERTPIPE_REQUEUE_H
#include <stddef.h>
#include <stdint.h>
#include "db.h"
#include "err.h"
#include "spool.h"

#define REQUEUE_AFTER	300	/* seconds a pending job may be out of sight */

/* Is job id in any queue? Anything but a clear "not there" is yes. */
int requeue_in_spool(struct spool *sp, const char *id);
int requeue_lost(struct db *db, struct spool *sp, int64_t realm,
    const char *type, int64_t age, const char *actor, size_t *n,
    struct err *e);

#endif
