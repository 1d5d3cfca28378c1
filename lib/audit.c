/* audit - the hash-chained, append-only audit log (see audit.h). */
#include <inttypes.h>
#include <stdio.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "audit.h"
#include "clock.h"
#include "diag.h"

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* Canonical bytes: every field as "<len>:<bytes>\n" so no two different
 * rows can hash the same text; NULL detail is "-1:\n". */
/* SHA-256 fetched once: with EVP_sha256() OpenSSL 3.0 looks it up
 * again for every digest. */
static EVP_MD *
sha256(void)
{
	static EVP_MD *md;

	if (md == NULL && (md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		diag_nomem();
	return md;
}

/* The decimal digits of v onto b (what "%zu" and "%" PRId64 print for
 * v >= 0), without printf: several times an event. */
static void
decimal(struct buf *b, uint64_t v)
{
	char d[24];
	size_t k = sizeof d;

	do
		d[--k] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	buf_add(b, d + k, sizeof d - k);
}

static void
field(struct buf *b, const char *s)
{
	size_t n;

	if (s == NULL) {
		buf_adds(b, "-1:\n");
		return;
	}
	n = strlen(s);
	decimal(b, n);
	buf_addc(b, ':');
	buf_add(b, s, n);
	buf_addc(b, '\n');
}

static void
row_hash(const char *prev, int64_t seq, const char *at, const char *actor,
    const char *realm, const char *event, const char *object,
    const char *outcome, const char *detail, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	struct buf b = {0};
	int i;

	field(&b, prev);
	if (seq >= 0)
		decimal(&b, (uint64_t)seq);
	else
		buf_printf(&b, "%" PRId64, seq);
	buf_addc(&b, '\n');
	field(&b, at);
	field(&b, actor);
	field(&b, realm);
	field(&b, event);
	field(&b, object);
	field(&b, outcome);
	field(&b, detail);
	EVP_Digest(b.p, b.len, md, &mdlen, sha256(), NULL);
	for (i = 0; i < 32; i++) {
		static const char hex[] = "0123456789abcdef";
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	buf_free(&b);
}

int
audit_log(struct db *db, const struct audit_ev *ev, struct err *e)
{
	struct db_stmt *st = NULL;
	struct buf at = {0};
	char prev[65], hash[65];
	int64_t seq = 1;
	int rc;

	if ((rc = db_prep(db, &st, e,
	    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", "")) != 0)
		goto out;
	rc = db_step(st, e);
	if (rc < 0) {
		rc = e->code;
		goto out;
	}
	if (rc == 1) {
		seq = db_int(st, 0) + 1;
		snprintf(prev, sizeof prev, "%s", db_text(st, 1));
	} else
		snprintf(prev, sizeof prev, "%s", GENESIS);
	clock_fmt(&at, clock_now());
	row_hash(prev, seq, at.p, ev->actor, ev->realm, ev->event, ev->object,
	    ev->outcome, ev->detail, hash);
	rc = db_exec(db, e, "INSERT INTO audit (seq, at, actor, realm, event, "
	    "object, outcome, detail, prev_hash, hash) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "ittttttttt", seq, at.p,
	    ev->actor, ev->realm, ev->event, ev->object, ev->outcome,
	    ev->detail, prev, hash);
out:
	db_finish(st);
	buf_free(&at);
	return rc;
}

int
audit_verify(struct db *db, int64_t *bad, int64_t *count, struct err *e)
{
	struct db_stmt *st = NULL;
	char prev[65], hash[65];
	int64_t seq, expect = 1;
	int rc;

	*bad = 0;
	*count = 0;
	snprintf(prev, sizeof prev, "%s", GENESIS);
	if ((rc = db_prep(db, &st, e, "SELECT seq, at, actor, realm, event, "
	    "object, outcome, detail, prev_hash, hash FROM audit ORDER BY seq",
	    "")) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1) {
		seq = db_int(st, 0);
		(*count)++;
		if (seq != expect) {
			*bad = expect;
			rc = err_set(e, EX_DATAERR, "audit log broken at event "
			    "%" PRId64 ": event missing", expect);
			goto out;
		}
		if (strcmp(db_text(st, 8), prev) != 0) {
			*bad = seq;
			rc = err_set(e, EX_DATAERR, "audit log broken at event "
			    "%" PRId64 ": previous hash does not match", seq);
			goto out;
		}
		row_hash(prev, seq, db_text(st, 1), db_text(st, 2),
		    db_text(st, 3), db_text(st, 4), db_text(st, 5),
		    db_text(st, 6), db_text(st, 7), hash);
		if (strcmp(hash, db_text(st, 9)) != 0) {
			*bad = seq;
			rc = err_set(e, EX_DATAERR, "audit log broken at event "
			    "%" PRId64 ": contents do not match its hash", seq);
			goto out;
		}
		snprintf(prev, sizeof prev, "%s", hash);
		expect++;
	}
	rc = rc < 0 ? e->code : 0;
out:
	db_finish(st);
	return rc;
}

char *
audit_actor(void)
{
	const char *env = getenv("CERTPIPE_ACTOR");
	struct passwd *pw;
	struct buf b = {0};

	if (env && *env)
		return xstrdup(env);
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_name)
		return xstrdup(pw->pw_name);
	buf_printf(&b, "uid:%ld", (long)getuid());
	return buf_steal(&b);
}
