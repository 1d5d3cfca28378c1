/* diag - "prog: message" on stderr, one line each (see diag.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "diag.h"

const char *diag_prog = "certpipe";
int diag_verbose;

void
diag_init(const char *argv0)
{
	const char *s;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	s = strrchr(argv0, '/');
	diag_prog = s ? s + 1 : argv0;
}

__attribute__((format(printf, 1, 0))) static void
vdiag(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", diag_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(fmt, ap);
	va_end(ap);
}

void
diag_info(const char *fmt, ...)
{
	va_list ap;

	if (!diag_verbose)
		return;
	va_start(ap, fmt);
	vdiag(fmt, ap);
	va_end(ap);
}

int
diag_err(const struct err *e)
{
	diag("%s", err_str(e));
	return e->code ? e->code : EX_SOFTWARE;
}

void
die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(fmt, ap);
	va_end(ap);
	exit(code);
}

void
diag_nomem(void)
{
	static const char msg[] = ": out of memory\n";

	/* No allocation on this path. */
	if (write(2, diag_prog, strlen(diag_prog)) < 0 ||
	    write(2, msg, sizeof msg - 1) < 0)
		_exit(EX_OSERR);
	_exit(EX_OSERR);
}
