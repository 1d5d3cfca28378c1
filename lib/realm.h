/*
 * realm - tenants. Every object belongs to exactly one realm and every
 * query is scoped by the realm id this module resolves.
 *
 * Contract: 0 or a sysexits code with e filled; an unknown realm is
 * EX_NOINPUT, a bad or duplicate name EX_DATAERR.
 */
#ifndef CERTPIPE_REALM_H
#define CERTPIPE_REALM_H
#include <stdint.h>
#include "db.h"

#define REALM_DEFAULT "default"

/* Names: 1-63 of [a-z0-9-], starting with a letter or digit. */
int realm_name_check(const char *name, struct err *e);
int realm_id(struct db *db, const char *name, int64_t *id, struct err *e);
/* Create (inside the caller's transaction); EX_DATAERR if it exists. */
int realm_create(struct db *db, const char *name, int64_t *id, struct err *e);

#endif
