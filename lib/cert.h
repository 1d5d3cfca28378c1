/*
 * cert - the certificate inventory (table certificates): recording a
 * certificate and finding the local CA that issued one.
 *
 * Contract: 0 or a sysexits code with e filled. Recording a certificate
 * whose issuer and serial are already in the inventory is EX_DATAERR
 * (a serial is never issued or recorded twice).
 */
#ifndef CERTPIPE_CERT_H
#define CERTPIPE_CERT_H
#include <stdint.h>
#include <openssl/x509.h>
#include "db.h"

/* Insert x. ca_id / template_id 0: none. source: "managed" (issued
 * here) or "discovered" (found elsewhere). *id may be NULL. */
int cert_store(struct db *db, int64_t realm, int64_t ca_id,
    int64_t template_id, X509 *x, const char *source, int64_t *id,
    struct err *e);
/* Where a certificate row comes from, for cert_store_row. Ids 0 and
 * NULL strings: none. */
struct cert_row {
	int64_t realm, ca_id, template_id;
	int64_t order_id;		/* the order that issued it */
	const char *source;		/* "managed" | "discovered" */
	const char *key_ref;		/* server-side key of the order */
};
/* Insert x as row says, without cert_store's duplicate check: the
 * UNIQUE (issuer, serial) and certificates_order constraints refuse a
 * second row (EX_DATAERR), and cert_serial_taken tells which. */
int cert_store_row(struct db *db, const struct cert_row *row, X509 *x,
    int64_t *id, struct err *e);
/* Is x's issuer and serial already in the inventory? (*taken 1/0) */
int cert_serial_taken(struct db *db, X509 *x, int *taken, struct err *e);
/* The realm's CA (active or disabled) whose key signed x, or 0. */
int cert_issuer(struct db *db, int64_t realm, X509 *x, int64_t *ca_id,
    struct err *e);

#endif
