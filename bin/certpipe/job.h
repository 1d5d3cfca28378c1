/*
 * job - what the commands that send one job through the issuance
 * pipeline share (certpipe request, submit, ocsp|tsa create|rotate):
 * after the job's order is committed, put the job into queue/incoming
 * and pull the trigger; when the spool refuses it, fail the order with
 * the reason (the request stays in orders.request, an alert is raised);
 * print the job id, or with --wait follow the order and print what
 * became of it, the exit status saying it too.
 *
 * Contract: 0 or a sysexits code with e filled. event is the audit
 * event a refused queueing is recorded under (outcome "failure").
 */
#ifndef CERTPIPE_CLI_JOB_H
#define CERTPIPE_CLI_JOB_H
#include <stdint.h>
#include "cli.h"
#include "order.h"
#include "rec.h"

#define JOB_WAIT_MAX	86400	/* --wait: one day at most */
#define JOB_DAYS_MAX	3650	/* --days */

/* Check --days (1..JOB_DAYS_MAX) and --wait (0..JOB_WAIT_MAX seconds,
 * into *secs; 0 when not given); either may be NULL. */
int job_check_days_wait(const char *days, const char *wait, int64_t *secs,
    struct err *e);

int job_send(struct cli *c, const struct rec *r, const char *event,
    int64_t wait, struct err *e);
/* Print the job (o NULL: just queued) or its order's outcome: 0
 * complete or queued, the order's code when failed, 75 when not done. */
int job_report(struct cli *c, const char *job, const struct order *o);

#endif
