/*
 * diag - one-line diagnostics on stderr: "prog: message".
 *
 * The program name and verbosity are the only process-wide state
 * (STYLE.md). Messages never contain key material or passphrases.
 */
#ifndef CERTPIPE_DIAG_H
#define CERTPIPE_DIAG_H
#include "err.h"

extern const char *diag_prog;
extern int diag_verbose;

void diag_init(const char *argv0);
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print e's message and return e->code (for "return diag_err(&e);"). */
int diag_err(const struct err *e);
_Noreturn void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
_Noreturn void diag_nomem(void);

#endif
