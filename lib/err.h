/*
 * err - how library functions report failure.
 *
 * Contract: a function that can fail returns 0 on success or a sysexits.h
 * code (EX_DATAERR, EX_NOINPUT, EX_NOPERM, ...) and fills *e with that
 * code and a one-line message (no trailing newline, no secrets). The
 * caller prints it with diag_err() or adds context with err_prefix().
 * A zeroed struct err means "no error"; err_free() releases the message.
 */
#ifndef CERTPIPE_ERR_H
#define CERTPIPE_ERR_H
#include <sysexits.h>
#include "buf.h"

struct err {
	int code;
	struct buf msg;
};

/* Set code and message (replacing any previous one); returns code. */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like err_set, then append ": <reason>" from OpenSSL's error queue
 * (which it clears). */
int err_ssl(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepend "<prefix>: " to the message; returns e->code. */
int err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *err_str(const struct err *e);
void err_free(struct err *e);

#endif
