/* approval - deciding held orders (see approval.h). */
#include <stdlib.h>
#include <string.h>
#include "approval.h"
#include "clock.h"
#include "rec.h"

int
approval_needed(const char *mode)
{
	if (mode && strcmp(mode, "manual") == 0)
		return 1;
	if (mode && strcmp(mode, "four-eyes") == 0)
		return 2;
	return 0;
}

static int
is_approve(const struct approval *a)
{
	return strcmp(a->decision, "approve") == 0;
}

size_t
approval_count(const struct approval_list *l, const char *requester)
{
	size_t i, k, n = 0;

	for (i = 0; i < l->n; i++) {
		if (!is_approve(&l->v[i]) ||
		    (requester && strcmp(l->v[i].approver, requester) == 0))
			continue;
		/* the table allows one row per approver; count people anyway */
		for (k = 0; k < i; k++)
			if (is_approve(&l->v[k]) &&
			    strcmp(l->v[k].approver, l->v[i].approver) == 0)
				break;
		if (k == i)
			n++;
	}
	return n;
}

int
approval_declined(const struct approval_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!is_approve(&l->v[i]))
			return 1;
	return 0;
}

enum approval_verdict
approval_judge(const char *status, const char *mode, const char *requester,
    const struct approval_list *l, const char *actor, int decline)
{
	size_t i;
	int need = approval_needed(mode);

	if (status == NULL || strcmp(status, "held") != 0 ||
	    approval_declined(l))
		return APPROVAL_NOT_HELD;
	if (need == 0)
		return APPROVAL_NOT_NEEDED;
	if (!decline && requester && strcmp(actor, requester) == 0)
		return APPROVAL_REQUESTER;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].approver, actor) == 0)
			return APPROVAL_TWICE;
	if (!decline && approval_count(l, requester) >= (size_t)need)
		return APPROVAL_SATISFIED;
	return APPROVAL_OK;
}

const char *
approval_why(enum approval_verdict v)
{
	switch (v) {
	case APPROVAL_OK:
		return "may be decided";
	case APPROVAL_NOT_HELD:
		return "not held for approval";
	case APPROVAL_NOT_NEEDED:
		return "its approval mode needs no approver";
	case APPROVAL_REQUESTER:
		return "the requester cannot approve his own request";
	case APPROVAL_TWICE:
		return "this approver has decided on it already";
	case APPROVAL_SATISFIED:
		return "it has all the approvals it needs";
	}
	return "unknown verdict";
}

/* Job ids are lower-case UUIDs: a key is a run of their characters. */
static int
key_ok(const char *key)
{
	const char *p;

	for (p = key; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		    *p == '-'))
			return 0;
	return p - key >= APPROVAL_PREFIX_MIN && p - key <= REC_ID_LEN;
}

int
approval_find(struct db *db, int64_t realm, const char *key, struct order *o,
    struct err *e)
{
	struct db_stmt *st = NULL;
	char *job = NULL;
	int64_t n = 0;
	int rc;

	memset(o, 0, sizeof *o);
	if (!key_ok(key))
		return err_set(e, EX_DATAERR, "order '%s': not a job id, nor "
		    "at least %d of its first or last characters", key,
		    APPROVAL_PREFIX_MIN);
	/* substr, not LIKE: no character of the key is a wildcard */
	if ((rc = db_prep(db, &st, e, "SELECT job FROM orders WHERE "
	    "realm_id = ? AND (substr(job, 1, length(?)) = ? OR "
	    "substr(job, -length(?)) = ?) ORDER BY job LIMIT 2", "itttt",
	    realm, key, key, key, key)) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1)
		if (n++ == 0)
			job = xstrdup(db_text(st, 0));
	db_finish(st);
	if (rc < 0)
		rc = e->code;
	else if (n == 0)
		rc = err_set(e, EX_NOINPUT, "order '%s': no such order in this "
		    "realm", key);
	else if (n > 1)
		rc = err_set(e, EX_DATAERR, "order '%s': ambiguous, give more "
		    "of the job id (its last characters are random)", key);
	else if ((rc = order_load(db, job, o, e)) == 0 && o->realm_id != realm)
		rc = err_set(e, EX_SOFTWARE, "order %s: realm changed", job);
	free(job);
	if (rc != 0)
		order_free(o);
	return rc;
}

int
approval_load(struct db *db, int64_t order_id, struct approval_list *l,
    struct err *e)
{
	struct db_stmt *st = NULL;
	struct approval *a;
	int rc;

	memset(l, 0, sizeof *l);
	if ((rc = db_prep(db, &st, e, "SELECT approver, decision, reason, at "
	    "FROM approvals WHERE order_id = ? ORDER BY at, id", "i",
	    order_id)) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1) {
		l->v = xrealloc(l->v, sizeof *l->v * (l->n + 1));
		a = &l->v[l->n++];
		a->approver = xstrdup(db_text(st, 0));
		a->decision = xstrdup(db_text(st, 1));
		a->reason = db_text(st, 2) ? xstrdup(db_text(st, 2)) : NULL;
		a->at = xstrdup(db_text(st, 3));
	}
	db_finish(st);
	if (rc < 0) {
		approval_list_free(l);
		return e->code;
	}
	return 0;
}

void
approval_list_free(struct approval_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].approver);
		free(l->v[i].decision);
		free(l->v[i].reason);
		free(l->v[i].at);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

int
approval_add(struct db *db, int64_t order_id, const char *approver,
    const char *decision, const char *reason, struct err *e)
{
	struct buf now = {0};
	int rc;

	clock_fmt(&now, clock_now());
	rc = db_exec(db, e, "INSERT INTO approvals (order_id, approver, "
	    "decision, reason, at) VALUES (?, ?, ?, ?, ?)", "itttt",
	    order_id, approver, decision, reason, now.p);
	buf_free(&now);
	return rc;
}
