/* revoke - the revocation rules (see revoke.h). */
#include <string.h>
#include <strings.h>
#include "audit.h"
#include "clock.h"
#include "revoke.h"
#include "spool.h"

/* RFC 5280 section 5.3.1. Not offered: removeFromCRL (8, a delta-CRL
 * artefact, which unsuspend covers), privilegeWithdrawn (9) and
 * aACompromise (10), which concern attribute certificates. */
static const struct revoke_reason reasons[] = {
	{ "unspecified", 0 },
	{ "keyCompromise", 1 },
	{ "cACompromise", 2 },
	{ "affiliationChanged", 3 },
	{ "superseded", 4 },
	{ "cessationOfOperation", 5 },
	{ "certificateHold", REVOKE_HOLD },
};
#define NREASONS (sizeof reasons / sizeof reasons[0])

const struct revoke_reason *
revoke_reason(const char *name)
{
	size_t i;

	for (i = 0; name && i < NREASONS; i++)
		if (strcasecmp(reasons[i].name, name) == 0)
			return &reasons[i];
	return NULL;
}

const struct revoke_reason *
revoke_reason_code(int code)
{
	size_t i;

	for (i = 0; i < NREASONS; i++)
		if (reasons[i].code == code)
			return &reasons[i];
	return NULL;
}

const char *
revoke_reason_list(void)
{
	return "unspecified, keyCompromise, cACompromise, affiliationChanged, "
	    "superseded, cessationOfOperation, certificateHold";
}

/*
 * One row per (status, action): action is "hold", "revoke" (any other
 * reason) or "unsuspend"; next NULL means refused with why.
 */
static const struct {
	const char *status, *action, *next, *why;
} rules[] = {
	{ "active", "hold", "suspended", NULL },
	{ "active", "revoke", "revoked", NULL },
	{ "active", "unsuspend", NULL, "not suspended" },
	{ "suspended", "hold", NULL, "already suspended" },
	{ "suspended", "revoke", "revoked", NULL },
	{ "suspended", "unsuspend", "active", NULL },
	{ "superseded", "hold", NULL, "superseded: revoke it, a hold could "
	  "not be lifted back to superseded" },
	{ "superseded", "revoke", "revoked", NULL },
	{ "superseded", "unsuspend", NULL, "not suspended" },
	{ "revoked", "hold", NULL, "already revoked" },
	{ "revoked", "revoke", NULL, "already revoked" },
	{ "revoked", "unsuspend", NULL, "revoked for good, it cannot be "
	  "unsuspended" },
};

int
revoke_next(const char *status, const struct revoke_reason *reason,
    const char **next, struct err *e)
{
	const char *action;
	size_t i;

	action = reason == NULL ? "unsuspend" :
	    reason->code == REVOKE_HOLD ? "hold" : "revoke";
	for (i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		if (strcmp(rules[i].status, status) != 0 ||
		    strcmp(rules[i].action, action) != 0)
			continue;
		if (rules[i].next == NULL)
			return err_set(e, EX_DATAERR, "%s", rules[i].why);
		*next = rules[i].next;
		return 0;
	}
	return err_set(e, EX_SOFTWARE, "unknown certificate status '%s'",
	    status);
}

/* The scheduler republishes CRLs and OCSP responses when poked. */
static void
poke(const char *home)
{
	struct spool *sp = NULL;
	struct err e = {0};

	if (home != NULL && spool_open(home, &sp, &e) == 0)
		spool_trigger_pull(sp);
	spool_close(sp);
	err_free(&e);
}

int
revoke_cert(struct db *db, const struct revoke_change *c, struct err *e)
{
	struct buf obj = {0}, now = {0};
	struct audit_ev ev = { NULL, c->actor, c->realm, NULL, "success",
	    c->detail };
	int rc;

	buf_printf(&obj, "certificate:%lld", (long long)c->id);
	ev.object = obj.p;
	clock_fmt(&now, clock_now());
	if ((rc = db_begin(db, e)) != 0)
		goto out;
	if (c->requested) {
		ev.event = c->requested;
		rc = audit_log(db, &ev, e);
	}
	if (rc == 0)
		rc = db_exec(db, e, "UPDATE certificates SET status = ?, "
		    "revoked_at = ?, revoke_reason = ?, invalidity_date = ? "
		    "WHERE id = ? AND realm_id = ? AND status = ?", "ttttiit",
		    c->next, c->reason ? now.p : NULL, c->reason, c->since,
		    c->id, c->realm_id, c->status);
	if (rc == 0 && db_changes(db) != 1)
		rc = err_set(e, EX_TEMPFAIL, "its status changed meanwhile, "
		    "try again");
	if (rc == 0) {
		ev.event = c->done;
		rc = audit_log(db, &ev, e);
	}
	if (rc == 0 && (rc = db_commit(db, e)) == 0)
		poke(c->home);
	if (rc != 0)
		db_rollback(db);
out:
	buf_free(&obj);
	buf_free(&now);
	return rc;
}
