/*
 * approval - who may decide a held order, and the decisions so far
 * (table approvals, migration 3).
 *
 * The rules, the same ones check-policy counts by:
 *     - only a held order is decided;
 *     - its mode says how many approvers it needs: manual 1, four-eyes 2
 *       (automatic needs none, so nothing is approved);
 *     - an approver is a person: one decision per person and order (the
 *       same person twice does not count twice);
 *     - the requester (orders.requested_by) never approves his own
 *       request, whatever the mode; he may decline (withdraw) it;
 *     - any decline fails the order.
 * The approvals that count are the distinct approvers with decision
 * approve other than the requester.
 *
 * Contract: 0 or a sysexits code with e filled. approval_find returns
 * EX_NOINPUT when the realm has no such order, EX_DATAERR when a part of an id
 * names more than one. struct approvals owns its strings;
 * approval_list_free takes a zeroed struct. Writers run inside the
 * caller's transaction (db_begin).
 */
#ifndef CERTPIPE_APPROVAL_H
#define CERTPIPE_APPROVAL_H
#include <stddef.h>
#include <stdint.h>
#include "db.h"
#include "order.h"

#define APPROVAL_PREFIX_MIN 8	/* shortest part of a job id accepted */

enum approval_verdict {
	APPROVAL_OK,		/* the actor may decide */
	APPROVAL_NOT_HELD,	/* the order is not waiting for approval */
	APPROVAL_NOT_NEEDED,	/* held, but its mode needs no approver */
	APPROVAL_REQUESTER,	/* the actor requested it (approve only) */
	APPROVAL_TWICE,		/* the actor has decided already */
	APPROVAL_SATISFIED,	/* enough approvers already (approve only) */
};

struct approval {
	char *approver, *decision, *reason, *at;
};

struct approval_list {
	struct approval *v;	/* oldest first */
	size_t n;
};

/* Approvers mode needs: manual 1, four-eyes 2, anything else 0. */
int approval_needed(const char *mode);
/* Distinct approvers with decision approve, requester not counted. */
size_t approval_count(const struct approval_list *l, const char *requester);
/* Has anyone declined? 1/0 */
int approval_declined(const struct approval_list *l);
/* May actor approve (decline 0) or decline (decline 1) the order with
 * status, mode and requester, given the decisions so far? */
enum approval_verdict approval_judge(const char *status, const char *mode,
    const char *requester, const struct approval_list *l, const char *actor,
    int decline);
/* Why a verdict refuses, for "order X: <why>" (static text). */
const char *approval_why(enum approval_verdict v);

/* The order of realm that key names: its whole job id, or at least
 * APPROVAL_PREFIX_MIN of its first or last characters that only one job
 * has. Ids certpipe makes start with their time (rec_newid): orders made
 * together share their first characters, never their last. */
int approval_find(struct db *db, int64_t realm, const char *key,
    struct order *o, struct err *e);
/* The decisions on order id, oldest first. */
int approval_load(struct db *db, int64_t order_id, struct approval_list *l,
    struct err *e);
void approval_list_free(struct approval_list *l);
/* Record a decision ("approve" or "decline"; reason may be NULL) now.
 * A second decision of the same approver is EX_DATAERR (the unique
 * index), never a second row. */
int approval_add(struct db *db, int64_t order_id, const char *approver,
    const char *decision, const char *reason, struct err *e);

#endif
