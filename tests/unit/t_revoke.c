/* t_revoke - the revocation rules: reason names and codes, transitions. */
#include <stdlib.h>
#include "revoke.h"
#include "tap.h"

static void
test_reasons(void)
{
	static const struct {
		const char *name;
		int code;		/* -1: not accepted */
		const char *canon;
	} t[] = {
		{ "unspecified", 0, "unspecified" },
		{ "keyCompromise", 1, "keyCompromise" },
		{ "cACompromise", 2, "cACompromise" },
		{ "affiliationChanged", 3, "affiliationChanged" },
		{ "superseded", 4, "superseded" },
		{ "cessationOfOperation", 5, "cessationOfOperation" },
		{ "certificateHold", 6, "certificateHold" },
		{ "KEYCOMPROMISE", 1, "keyCompromise" },
		{ "cacompromise", 2, "cACompromise" },
		{ "removeFromCRL", -1, NULL },
		{ "privilegeWithdrawn", -1, NULL },
		{ "aACompromise", -1, NULL },
		{ "keyCompromise ", -1, NULL },
		{ "key", -1, NULL },
		{ "1", -1, NULL },
		{ "", -1, NULL },
		{ NULL, -1, NULL },
	};
	const struct revoke_reason *r;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		r = revoke_reason(t[i].name);
		is_int(r ? r->code : -1, t[i].code, "reason '%s' code",
		    t[i].name ? t[i].name : "(null)");
		if (r)
			is_str(r->name, t[i].canon, "reason '%s' name",
			    t[i].name);
	}
	/* codes map back to the same entries; 7 is unused in RFC 5280 */
	for (i = 0; i <= 6; i++) {
		r = revoke_reason_code((int)i);
		is_int(r ? r->code : -1, (long long)i, "code %zu known", i);
		ok(r && revoke_reason(r->name) == r, "code %zu round trip", i);
	}
	ok(revoke_reason_code(7) == NULL, "code 7 unused");
	ok(revoke_reason_code(8) == NULL, "code 8 not offered");
	ok(revoke_reason_code(-1) == NULL, "code -1");
	is_int(REVOKE_HOLD, revoke_reason("certificateHold")->code,
	    "REVOKE_HOLD is certificateHold");
}

static void
test_transitions(void)
{
	static const struct {
		const char *status, *reason;	/* reason NULL: unsuspend */
		int rc;
		const char *next;		/* or the refusal */
	} t[] = {
		{ "active", "keyCompromise", 0, "revoked" },
		{ "active", "unspecified", 0, "revoked" },
		{ "active", "superseded", 0, "revoked" },
		{ "active", "certificateHold", 0, "suspended" },
		{ "active", NULL, EX_DATAERR, "not suspended" },
		{ "suspended", "keyCompromise", 0, "revoked" },
		{ "suspended", "cessationOfOperation", 0, "revoked" },
		{ "suspended", "certificateHold", EX_DATAERR,
		  "already suspended" },
		{ "suspended", NULL, 0, "active" },
		{ "superseded", "affiliationChanged", 0, "revoked" },
		{ "superseded", "certificateHold", EX_DATAERR, NULL },
		{ "superseded", NULL, EX_DATAERR, "not suspended" },
		{ "revoked", "keyCompromise", EX_DATAERR, "already revoked" },
		{ "revoked", "certificateHold", EX_DATAERR, "already revoked" },
		{ "revoked", NULL, EX_DATAERR,
		  "revoked for good, it cannot be unsuspended" },
		{ "expired", "keyCompromise", EX_SOFTWARE,
		  "unknown certificate status 'expired'" },
		{ "", NULL, EX_SOFTWARE, "unknown certificate status ''" },
	};
	struct err e = {0};
	const char *next;
	size_t i;
	int rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		next = NULL;
		err_free(&e);
		rc = revoke_next(t[i].status, t[i].reason ?
		    revoke_reason(t[i].reason) : NULL, &next, &e);
		is_int(rc, t[i].rc, "%s + %s: status", t[i].status,
		    t[i].reason ? t[i].reason : "unsuspend");
		if (rc == 0)
			is_str(next, t[i].next, "%s + %s: next", t[i].status,
			    t[i].reason ? t[i].reason : "unsuspend");
		else if (t[i].next)
			is_str(err_str(&e), t[i].next, "%s + %s: why",
			    t[i].status, t[i].reason ? t[i].reason :
			    "unsuspend");
		else
			ok(next == NULL && e.msg.len > 0, "%s + %s: refused "
			    "with a reason", t[i].status, t[i].reason);
	}
	err_free(&e);
}

int
main(void)
{
	test_reasons();
	test_transitions();
	return tap_done();
}
