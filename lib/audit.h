/*
 * audit - the append-only, hash-chained audit log (table audit).
 *
 * Every state change calls audit_log inside the same transaction as the
 * change, so a change and its event commit together or not at all.
 * Each row stores hash = SHA-256(prev_hash || canonical fields), making
 * any edit, insertion or removal inside the chain detectable by
 * audit_verify. SQL triggers refuse UPDATE and DELETE on the table.
 *
 * Event names are what users read: "ca.created", "template.updated",
 * "domain.disabled", ... (doc/certpipe.7 lists them).
 *
 * Contract: 0 or a sysexits code with e filled. audit_verify returns 0
 * when the chain is intact, EX_DATAERR with *bad set to the first broken
 * row's sequence number otherwise; *count is the number of rows checked.
 */
#ifndef CERTPIPE_AUDIT_H
#define CERTPIPE_AUDIT_H
#include <stdint.h>
#include "db.h"

struct audit_ev {
	const char *event;	/* "ca.created" */
	const char *actor;	/* who: see audit_actor() */
	const char *realm;	/* realm name */
	const char *object;	/* "ca:issuing-1", "domain:example.com" */
	const char *outcome;	/* "success", "refused", "failure" */
	const char *detail;	/* free text, never secrets; may be NULL */
};

int audit_log(struct db *db, const struct audit_ev *ev, struct err *e);
int audit_verify(struct db *db, int64_t *bad, int64_t *count, struct err *e);
/* $CERTPIPE_ACTOR if set, else the login name of the real uid (malloc'd). */
char *audit_actor(void);

#endif
