/*
 * domain - registered domains: an enabled apex covers itself and every
 * name below it; a disabled one covers nothing.
 *
 * Contract: 0 or a sysexits code with e filled. domain_covers returns 1
 * (covered), 0 (not covered) or -1 (database error, e filled).
 */
#ifndef CERTPIPE_DOMAIN_H
#define CERTPIPE_DOMAIN_H
#include <stdint.h>
#include "db.h"

/* Lower-case and validate a DNS name in place (LDH labels, 1-63 octets
 * each, <= 253 total, no trailing dot kept). wildcard: accept "*." as the
 * whole leftmost label. EX_DATAERR when invalid. */
int domain_normalize(char *name, int wildcard, struct err *e);
/* Is name (already normalized; may be "*.x") covered in realm? */
int domain_covers(struct db *db, int64_t realm, const char *name,
    struct err *e);
/* Like domain_covers; when covered, *apex (if apex is not NULL) gets the
 * most specific enabled domain that covers name (malloc'd). */
int domain_apex(struct db *db, int64_t realm, const char *name, char **apex,
    struct err *e);

#endif
