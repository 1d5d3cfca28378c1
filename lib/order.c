/* order - orders, keyed by job Id (see order.h). */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "clock.h"
#include "diag.h"
#include "order.h"

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

static const char *const types[] = {
	"csr", "automated", "renewal", "spool", "acme", "scep", NULL
};
static const char *const statuses[] = {
	"pending", "processing", "held", "complete", "failed", NULL
};

static int
in_list(const char *const *l, const char *s)
{
	for (; s && *l; l++)
		if (strcmp(*l, s) == 0)
			return 1;
	return 0;
}

int
order_type_ok(const char *type)
{
	return in_list(types, type);
}

int
order_status_ok(const char *status)
{
	return in_list(statuses, status);
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

#define COLS "o.id, o.realm_id, o.template_id, o.renewal_of, " \
	"(SELECT c.id FROM certificates c WHERE c.order_id = o.id), " \
	"o.error_code, o.duration_ms, o.job, o.type, o.status, " \
	"o.requested_by, o.cn, o.approval, o.facts, o.key_ref, o.error, " \
	"o.request, o.created_at, o.updated_at, o.completed_at"

static void
fill(struct db_stmt *st, struct order *o)
{
	o->id = db_int(st, 0);
	o->realm_id = db_int(st, 1);
	o->template_id = db_int(st, 2);
	o->renewal_of = db_int(st, 3);
	o->cert_id = db_int(st, 4);
	o->error_code = db_int(st, 5);
	o->duration_ms = db_isnull(st, 6) ? -1 : db_int(st, 6);
	o->job = dup_or_null(db_text(st, 7));
	o->type = dup_or_null(db_text(st, 8));
	o->status = dup_or_null(db_text(st, 9));
	o->requested_by = dup_or_null(db_text(st, 10));
	o->cn = dup_or_null(db_text(st, 11));
	o->approval = dup_or_null(db_text(st, 12));
	o->facts = dup_or_null(db_text(st, 13));
	o->key_ref = dup_or_null(db_text(st, 14));
	o->error = dup_or_null(db_text(st, 15));
	o->request = dup_or_null(db_text(st, 16));
	o->created_at = dup_or_null(db_text(st, 17));
	o->updated_at = dup_or_null(db_text(st, 18));
	o->completed_at = dup_or_null(db_text(st, 19));
}

/* sql: SELECT COLS ... WHERE (a literal: its text keys the statement
 * cache, built once); fmt "t" binds s, "i" binds i. */
static int
load(struct db *db, const char *sql, const char *fmt, const char *s,
    int64_t i, struct order *o, struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	memset(o, 0, sizeof *o);
	rc = *fmt == 't' ? db_prep(db, &st, e, sql, fmt, s) :
	    db_prep(db, &st, e, sql, fmt, i);
	if (rc != 0)
		return rc;
	if ((rc = db_step(st, e)) == 1) {
		fill(st, o);
		rc = 0;
	} else if (rc == 0)
		rc = err_set(e, EX_NOINPUT, "order %s: no such order",
		    *fmt == 't' ? s : "(id)");
	else
		rc = e->code;
	db_finish(st);
	return rc;
}

int
order_load(struct db *db, const char *job, struct order *o, struct err *e)
{
	return load(db, "SELECT " COLS " FROM orders o WHERE o.job = ?", "t",
	    job, 0, o, e);
}

int
order_load_id(struct db *db, int64_t id, struct order *o, struct err *e)
{
	return load(db, "SELECT " COLS " FROM orders o WHERE o.id = ?", "i",
	    NULL, id, o, e);
}

void
order_free(struct order *o)
{
	if (o == NULL)
		return;
	free(o->job); free(o->type); free(o->status); free(o->requested_by);
	free(o->cn); free(o->approval); free(o->facts); free(o->key_ref);
	free(o->error); free(o->request); free(o->created_at);
	free(o->updated_at); free(o->completed_at);
	memset(o, 0, sizeof *o);
}

#define INSERT_COLS "INSERT INTO orders (job, realm_id, type, status, " \
	"requested_by, cn, request, created_at, updated_at"

/* Insert o, filled by find_or_fill, as it stands: pending. */
int
order_create(struct db *db, struct order *o, struct err *e)
{
	int rc;

	rc = db_exec(db, e, INSERT_COLS ") VALUES (?, ?, ?, 'pending', ?, ?, "
	    "?, ?, ?)", "titttttt", o->job, o->realm_id, o->type,
	    o->requested_by, o->cn, o->request, o->created_at, o->updated_at);
	if (rc == 0)
		o->id = db_last_id(db);
	return rc;
}

int
order_create_passed(struct db *db, struct order *o, int64_t template_id,
    const char *approval, const char *facts, struct err *e)
{
	int rc;

	/* what order_create and order_pass would leave, in one row
	 * written once (updated_at as order_pass sets it) */
	rc = db_exec(db, e, INSERT_COLS ", template_id, approval, facts) "
	    "VALUES (?, ?, ?, 'processing', ?, ?, ?, ?, "
	    "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?, ?, ?)", "titttttitt",
	    o->job, o->realm_id, o->type, o->requested_by, o->cn, o->request,
	    o->created_at, template_id, approval, facts);
	if (rc == 0)
		o->id = db_last_id(db);
	return rc;
}

/* order_open, or with insert 0 the pending row it would insert, not
 * inserted (id 0). */
static int
find_or_fill(struct db *db, int64_t realm, const struct rec *r,
    const char *type, const char *requested_by, struct order *o,
    int *created, int insert, struct err *e)
{
	struct buf text = {0}, now = {0};
	int rc;

	if (created)
		*created = 0;
	if (!order_type_ok(type))
		return err_set(e, EX_DATAERR, "order type '%s' is not one of "
		    "csr, automated, renewal, spool, acme, scep", type);
	rc = order_load(db, rec_id(r), o, e);
	if (rc == 0) {
		if (o->realm_id != realm) {
			order_free(o);
			return err_set(e, EX_NOPERM, "job %s: its order belongs "
			    "to another realm", rec_id(r));
		}
		return 0;
	}
	if (rc != EX_NOINPUT)
		return rc;
	err_free(e);
	rec_write(r, &text);
	clock_fmt(&now, clock_now());
	/* the row as order_load would read it back: what was inserted,
	 * the schema's defaults, NULL for the rest */
	memset(o, 0, sizeof *o);
	o->realm_id = realm;
	o->duration_ms = -1;
	o->job = xstrdup(rec_id(r));
	o->type = xstrdup(type);
	o->status = xstrdup("pending");
	o->requested_by = xstrdup(requested_by);
	o->cn = dup_or_null(rec_get(r, "CN"));
	o->approval = xstrdup("automatic");
	o->request = buf_steal(&text);
	o->created_at = xstrdup(now.p);
	o->updated_at = buf_steal(&now);
	rc = insert ? order_create(db, o, e) : 0;
	if (rc != 0)
		order_free(o);
	else if (created)
		*created = 1;
	return rc;
}

int
order_open(struct db *db, int64_t realm, const struct rec *r,
    const char *type, const char *requested_by, struct order *o,
    int *created, struct err *e)
{
	return find_or_fill(db, realm, r, type, requested_by, o, created, 1,
	    e);
}

int
order_prepare(struct db *db, int64_t realm, const struct rec *r,
    const char *type, const char *requested_by, struct order *o,
    int *created, struct err *e)
{
	return find_or_fill(db, realm, r, type, requested_by, o, created, 0,
	    e);
}

#define NOW "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

/* The row must exist: an update that changed nothing names the order. */
static int
changed(struct db *db, int64_t id, int rc, struct err *e)
{
	if (rc == 0 && db_changes(db) == 0)
		rc = err_set(e, EX_NOINPUT, "order %lld: no such order",
		    (long long)id);
	return rc;
}

int
order_set_status(struct db *db, int64_t id, const char *status,
    struct err *e)
{
	if (!order_status_ok(status))
		return err_set(e, EX_SOFTWARE, "order status '%s' unknown",
		    status);
	return changed(db, id, db_exec(db, e, "UPDATE orders SET status = ?, "
	    "updated_at = " NOW " WHERE id = ?", "ti", status, id), e);
}

int
order_pass(struct db *db, int64_t id, int64_t template_id,
    const char *approval, const char *facts, struct err *e)
{
	return changed(db, id, db_exec(db, e, "UPDATE orders SET "
	    "status = 'processing', template_id = ?, approval = ?, facts = ?, "
	    "error = NULL, error_code = NULL, updated_at = " NOW
	    " WHERE id = ?", "itti", template_id, approval, facts, id), e);
}

int
order_hold(struct db *db, int64_t id, int64_t template_id,
    const char *approval, struct err *e)
{
	return changed(db, id, db_exec(db, e, "UPDATE orders SET "
	    "status = 'held', template_id = ?, approval = ?, updated_at = "
	    NOW " WHERE id = ?", "iti", template_id, approval, id), e);
}

int
order_fail(struct db *db, int64_t id, int code, const char *error,
    struct err *e)
{
	int64_t realm = 0;
	int rc;

	rc = changed(db, id, db_exec(db, e, "UPDATE orders SET "
	    "status = 'failed', error = ?, error_code = ?, updated_at = " NOW
	    " WHERE id = ?", "tii", error, (int64_t)code, id), e);
	if (rc == 0)
		rc = db_int64(db, &realm, e, "SELECT realm_id FROM orders "
		    "WHERE id = ?", "i", id);
	if (rc == 0)
		rc = order_alert(db, realm, id, "order.failed", error, e);
	return rc;
}

int
order_complete(struct db *db, int64_t id, struct err *e)
{
	/* julianday differences are days; the orders' times are UTC */
	return changed(db, id, db_exec(db, e, "UPDATE orders SET "
	    "status = 'complete', error = NULL, error_code = NULL, "
	    "completed_at = " NOW ", updated_at = " NOW ", duration_ms = "
	    "CAST(round((julianday('now') - julianday(created_at)) * "
	    "86400000) AS INTEGER) WHERE id = ?", "i", id), e);
}

int
order_set_key(struct db *db, int64_t id, const char *key_ref, struct err *e)
{
	return changed(db, id, db_exec(db, e, "UPDATE orders SET key_ref = ?, "
	    "updated_at = " NOW " WHERE id = ?", "ti", key_ref, id), e);
}

int
order_set_renewal(struct db *db, int64_t id, int64_t cert_id, struct err *e)
{
	return changed(db, id, db_exec(db, e, "UPDATE orders SET "
	    "renewal_of = ?, updated_at = " NOW " WHERE id = ?", "ii",
	    cert_id, id), e);
}

int
order_alert(struct db *db, int64_t realm, int64_t order_id, const char *kind,
    const char *message, struct err *e)
{
	struct buf now = {0};
	int rc;

	clock_fmt(&now, clock_now());
	rc = db_exec(db, e, "INSERT INTO alerts (realm_id, order_id, kind, "
	    "message, created_at) VALUES (?, NULLIF(?, 0), ?, ?, ?)", "iittt",
	    realm, order_id, kind, message, now.p);
	buf_free(&now);
	return rc;
}

/* "<n>:" and the n bytes at p, or "-" for none, onto b (what is
 * digested: gathered first, digested once). */
static void
field(struct buf *b, const void *p, size_t n)
{
	char len[24];
	size_t k = sizeof len, v = n;

	if (p == NULL) {
		buf_addc(b, '-');
		return;
	}
	len[--k] = ':';
	do
		len[--k] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	buf_add(b, len + k, sizeof len - k);
	buf_add(b, p, n);
}

void
order_facts(const struct rec *r, struct buf *out)
{
	static const char *const one[] = {
		"Realm", "Template", "CA", "Days", "Digest", "Type",
		"Renewal-Of", "CN", "O", "OU", "C", "ST", "L",
	};
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	const unsigned char *der;
	unsigned int mdlen = 0, k;
	struct buf b = {0};
	const char *v;
	size_t i, n;

	for (i = 0; i < sizeof one / sizeof one[0]; i++) {
		v = rec_get(r, one[i]);
		field(&b, v, v ? strlen(v) : 0);
	}
	n = rec_count(r, "SAN");
	field(&b, &n, sizeof n);
	for (i = 0; i < n; i++) {
		v = rec_get_n(r, "SAN", i);
		field(&b, v, strlen(v));
	}
	if (rec_find_pem(r, "CERTIFICATE REQUEST", &der, &n))
		field(&b, der, n);
	else
		field(&b, NULL, 0);
	if (!EVP_Digest(b.p, b.len, md, &mdlen, sha256(), NULL))
		diag_nomem();
	buf_free(&b);
	for (k = 0; k < mdlen; k++) {
		buf_addc(out, hex[md[k] >> 4]);
		buf_addc(out, hex[md[k] & 15]);
	}
}

const char *
order_type_of(const struct rec *r)
{
	const char *type = rec_get(r, "Type"), *src = rec_get(r, "Source");

	if (type && strcmp(type, "keygen") == 0)
		return "automated";
	if (type && strcmp(type, "renew") == 0)
		return "renewal";
	if (src && (strcmp(src, "spool") == 0 || strcmp(src, "acme") == 0 ||
	    strcmp(src, "scep") == 0))
		return src;
	return "csr";
}
