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
/* The realm's CA (active or disabled) whose key signed x, or 0. */
int cert_issuer(struct db *db, int64_t realm, X509 *x, int64_t *ca_id,
    struct err *e);

#endif
