/*
 * order - orders (table orders, migration 3): one per job, keyed by the
 * job record's Id, so every stage that sees a job finds the same row and
 * a replayed job is recognised.
 *
 * Statuses and who moves them:
 *     pending     created (order_open), not judged yet
 *     processing  check-policy passed it; sign may issue it
 *     held        check-policy holds it for approval
 *     complete    sign stored its certificate (one, ever: the unique
 *                 certificates.order_id index)
 *     failed      any stage refused it; error, error_code and the
 *                 original request are kept, and an alert is raised
 *
 * The facts are a digest of what check-policy judged (order_facts): the
 * realm, template, CA, validity, digest, subject, names and the request
 * itself. sign recomputes them from the record it is handed and signs
 * only when they equal the stored ones, so a record edited after the
 * policy check is refused, not signed.
 *
 * Contract: 0 or a sysexits code with e filled; EX_NOINPUT when the
 * order does not exist (in the realm, where one is given). Strings in
 * struct order are malloc'd and owned by it; order_free takes a zeroed
 * struct. Writers run inside the caller's transaction (db_begin).
 */
#ifndef CERTPIPE_ORDER_H
#define CERTPIPE_ORDER_H
#include <stdint.h>
#include "buf.h"
#include "db.h"
#include "rec.h"

struct order {
	int64_t id, realm_id;
	int64_t template_id;		/* 0: none yet */
	int64_t renewal_of;		/* certificate id, 0: none */
	int64_t cert_id;		/* 0: none (filled by order_load) */
	int64_t error_code;		/* 0: none */
	int64_t duration_ms;		/* -1: not complete */
	char *job, *type, *status, *requested_by, *cn, *approval;
	char *facts, *key_ref, *error, *request;
	char *created_at, *updated_at, *completed_at;
};

/* The order type a job record's origin means: Type keygen "automated",
 * renew "renewal", Source spool/acme/scep that source, else "csr". */
const char *order_type_of(const struct rec *r);
/* Is type an order type ("csr", "automated", "renewal", "spool",
 * "acme", "scep")? 1/0 */
int order_type_ok(const char *type);
/* Is status an order status? 1/0 */
int order_status_ok(const char *status);

/* The order of job r (its Id) in realm: created as pending when it does
 * not exist, with type, requested_by, the CN and the record's text as
 * the original request. *created (may be NULL) says which. An existing
 * order of another realm is EX_NOPERM: a job never changes tenant. */
int order_open(struct db *db, int64_t realm, const struct rec *r,
    const char *type, const char *requested_by, struct order *o,
    int *created, struct err *e);
/* order_open without the insert: a new job's *o is the pending row
 * order_open would have inserted, id 0, for order_create or
 * order_create_passed to write once the job is judged (one write instead
 * of an insert and an update). */
int order_prepare(struct db *db, int64_t realm, const struct rec *r,
    const char *type, const char *requested_by, struct order *o,
    int *created, struct err *e);
/* Insert the row order_prepare filled, pending; o->id set. */
int order_create(struct db *db, struct order *o, struct err *e);
/* Insert it as order_create then order_pass would leave it. */
int order_create_passed(struct db *db, struct order *o, int64_t template_id,
    const char *approval, const char *facts, struct err *e);
int order_load(struct db *db, const char *job, struct order *o,
    struct err *e);
int order_load_id(struct db *db, int64_t id, struct order *o,
    struct err *e);
void order_free(struct order *o);

/* Set status (and updated_at). */
int order_set_status(struct db *db, int64_t id, const char *status,
    struct err *e);
/* Status processing with the template, approval mode and facts that
 * check-policy judged. */
int order_pass(struct db *db, int64_t id, int64_t template_id,
    const char *approval, const char *facts, struct err *e);
/* Status held, waiting for approval mode approval. */
int order_hold(struct db *db, int64_t id, int64_t template_id,
    const char *approval, struct err *e);
/* Status failed with the error and its code, and an open alert of kind
 * "order.failed" carrying the message. */
int order_fail(struct db *db, int64_t id, int code, const char *error,
    struct err *e);
/* Status complete, completed_at and duration_ms set. The certificate
 * row names the order (certificates.order_id), stored by the caller. */
int order_complete(struct db *db, int64_t id, struct err *e);
/* Server-side key and renewal links, set by who created the job. */
int order_set_key(struct db *db, int64_t id, const char *key_ref,
    struct err *e);
int order_set_renewal(struct db *db, int64_t id, int64_t cert_id,
    struct err *e);

/* Raise an alert (order_id 0: none). */
int order_alert(struct db *db, int64_t realm, int64_t order_id,
    const char *kind, const char *message, struct err *e);

/* The facts digest of r as lower-case hex SHA-256 into out (appended):
 * Realm, Template, CA, Days, Digest, Type, Renewal-Of, CN, O, OU, C, ST,
 * L, every
 * SAN in order, and the CERTIFICATE REQUEST block, each length-prefixed.
 * Headers a stage adds for information (Warning, Stage, Status, ...)
 * are not facts. */
void order_facts(const struct rec *r, struct buf *out);

#endif
