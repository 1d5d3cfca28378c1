/*
 * ident - the shape of object names users type (CAs, templates, ...):
 * 1..max of A-Z a-z 0-9 . _ -, starting with a letter or digit, so a
 * name is safe in paths, URLs, audit objects and one-line messages.
 *
 * Contract: 0, or EX_DATAERR with e saying "<kind> name '<name>': ...".
 */
#ifndef CERTPIPE_IDENT_H
#define CERTPIPE_IDENT_H
#include <stddef.h>
#include "err.h"

int ident_check(const char *kind, const char *name, size_t max,
    struct err *e);

#endif
