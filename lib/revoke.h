/*
 * revoke - the revocation rules: the RFC 5280 CRLReason names certpipe
 * accepts with their codes, and which status changes revoking and
 * unsuspending may make, and the one code path that makes them
 * (revoke_cert). Callers (`certpipe cert revoke`, ACME revokeCert) ask
 * here and never decide for themselves.
 *
 * A certificate's status (table certificates) is active, suspended (on
 * hold: revoked with reason certificateHold, which can be lifted),
 * revoked (for good) or superseded (renewed, still valid until it
 * expires). Expiry is the clock's business, not a status.
 *
 *     from \ to     revoke(hold)   revoke(other)  unsuspend
 *     active        suspended      revoked        -
 *     suspended     -              revoked        active
 *     superseded    -              revoked        -
 *     revoked       -              -              -
 *
 * A superseded certificate is not put on hold: lifting the hold would
 * have to bring back "superseded", and a renewed certificate that is
 * in doubt should simply be revoked.
 *
 * Contract: revoke_next returns 0 with *next set (a static string), or
 * EX_DATAERR with e saying in a few words why the change is refused
 * ("already revoked"), or EX_SOFTWARE for a status it does not know.
 * The reason lookups return NULL for a name or code not in the table.
 * revoke_cert returns 0 or a sysexits code with e filled.
 */
#ifndef CERTPIPE_REVOKE_H
#define CERTPIPE_REVOKE_H
#include <stdint.h>
#include "db.h"
#include "err.h"

#define REVOKE_HOLD 6		/* certificateHold */

struct revoke_reason {
	const char *name;	/* "keyCompromise", as RFC 5280 spells it */
	int code;		/* CRLReason ENUMERATED value */
};

/* By name, compared without regard to case. */
const struct revoke_reason *revoke_reason(const char *name);
const struct revoke_reason *revoke_reason_code(int code);
/* "unspecified, keyCompromise, ..." for messages and help. */
const char *revoke_reason_list(void);

/* The status after revoking for reason (NULL: unsuspending) a
 * certificate whose status is status. */
int revoke_next(const char *status, const struct revoke_reason *reason,
    const char **next, struct err *e);

/*
 * Change the status of certificate id (in realm, seen as status) to
 * next in one transaction with its audit events, then poke the trigger
 * of the instance at home (NULL: none) so the scheduler republishes
 * CRLs and OCSP responses at once; a lost poke only delays that to the
 * scheduler's next pass. The update names the status it saw, so of two
 * concurrent changes only the first takes effect (EX_TEMPFAIL for the
 * other). reason NULL: unsuspend (revoked_at and reason cleared).
 * requested may be NULL (no "requested" event).
 */
struct revoke_change {
	int64_t id, realm_id;
	const char *status, *next;	/* as seen, and the new one */
	const char *reason;		/* reason name, or NULL */
	const char *since;		/* invalidity date (RFC 3339) or NULL */
	const char *actor, *realm;	/* for the audit events */
	const char *requested, *done;	/* audit event names */
	const char *detail;
	const char *home;		/* trigger to poke, or NULL */
};
int revoke_cert(struct db *db, const struct revoke_change *c, struct err *e);

#endif
