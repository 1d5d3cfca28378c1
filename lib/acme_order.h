/*
 * acme_order - the ACME order state machine (RFC 8555 7.1.6) as the
 * programs outside the front end need it: dcv-apply applies a challenge
 * result, and anyone who reads an order brings it up to date.
 *
 * Statuses and who moves them:
 *     challenge  pending -> processing (the challenge POST queued a
 *                validation job) -> valid | invalid (dcv-apply)
 *     authz      pending -> valid | invalid (its challenge's result),
 *                deactivated (the client), expired (read after
 *                expires_at); preapproved ones are valid at once
 *     order      pending -> ready (every authz valid) -> processing
 *                (finalize opened the pipeline order) -> valid (the
 *                pipeline order completed) ; invalid from pending (an
 *                authz went bad, or the order expired) or processing
 *                (the pipeline order failed)
 *
 * Contract: 0 or a sysexits code with e filled; writers run inside the
 * caller's transaction (db_begin). Stored errors are problem documents
 * (JSON text).
 */
#ifndef CERTPIPE_ACME_ORDER_H
#define CERTPIPE_ACME_ORDER_H
#include <stdint.h>
#include "db.h"

#define ACME_ORDER_TTL  (7 * 86400)	/* a new order, and a pending authz */
#define ACME_AUTHZ_TTL  (30 * 86400)	/* a valid authz, reusable */

/* Bring order id up to date: expiry, its authorizations, the pipeline
 * order behind it. */
int acme_order_refresh(struct db *db, int64_t id, struct err *e);

/* The result of validating challenge (type, token) of realm: problem
 * NULL when satisfied, else the problem document (JSON text) it failed
 * with. The challenge, its authz and the authz's pending orders move,
 * with an audit event by actor. *applied (may be NULL) is 0 when the
 * challenge was not waiting for a result (a replayed job): nothing
 * changes then. EX_NOINPUT when no such challenge exists. */
int acme_chall_apply(struct db *db, const char *realm, const char *type,
    const char *token, const char *problem, const char *actor,
    int *applied, struct err *e);

#endif
