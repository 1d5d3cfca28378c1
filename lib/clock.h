/*
 * clock - UTC time, formatted one way: RFC 3339 "YYYY-MM-DDTHH:MM:SSZ".
 *
 * Tests move the clock with faketime(1); there is no in-process override
 * (a clock knob in production would let anyone backdate certificates).
 */
#ifndef CERTPIPE_CLOCK_H
#define CERTPIPE_CLOCK_H
#include <time.h>
#include "buf.h"
#include "err.h"

time_t clock_now(void);
/* Append t as RFC 3339 UTC to b. */
void clock_fmt(struct buf *b, time_t t);
/* Parse RFC 3339 UTC ("...Z") or a plain date YYYY-MM-DD (midnight UTC). */
int clock_parse(const char *what, const char *s, time_t *out, struct err *e);

#endif
