/* err - failure reports carried up to main (see err.h). */
#include <stdarg.h>
#include <openssl/err.h>
#include "err.h"

int
err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	buf_reset(&e->msg);
	va_start(ap, fmt);
	buf_vprintf(&e->msg, fmt, ap);
	va_end(ap);
	return code;
}

int
err_ssl(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;
	unsigned long l, first = 0;
	const char *reason;

	e->code = code;
	buf_reset(&e->msg);
	va_start(ap, fmt);
	buf_vprintf(&e->msg, fmt, ap);
	va_end(ap);
	/* The earliest queued error is usually the most specific one. */
	while ((l = ERR_get_error()) != 0)
		if (first == 0)
			first = l;
	if (first != 0) {
		reason = ERR_reason_error_string(first);
		buf_printf(&e->msg, ": %s", reason ? reason : "OpenSSL error");
	}
	return code;
}

int
err_prefix(struct err *e, const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_adds(&b, ": ");
	buf_add(&b, buf_str(&e->msg), e->msg.len);
	buf_free(&e->msg);
	e->msg = b;
	return e->code;
}

const char *
err_str(const struct err *e)
{
	return buf_str(&e->msg);
}

void
err_free(struct err *e)
{
	if (e == NULL)
		return;
	buf_free(&e->msg);
	e->code = 0;
}
