/*
 * num - the one checked number parser (no atoi anywhere).
 *
 * Contract: returns 0 and stores the value when s is a complete decimal
 * number within [min, max]; otherwise returns EX_DATAERR (or EX_USAGE
 * when what is an option name, see num_opt) and fills e naming what.
 */
#ifndef CERTPIPE_NUM_H
#define CERTPIPE_NUM_H
#include <stdint.h>
#include "err.h"

int num_u64(const char *what, const char *s, uint64_t min, uint64_t max,
    uint64_t *out, struct err *e);
int num_i64(const char *what, const char *s, int64_t min, int64_t max,
    int64_t *out, struct err *e);

#endif
