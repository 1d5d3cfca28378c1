/* buf - growable buffer; allocation failure is fatal (see buf.h). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "buf.h"
#include "pem.h"
#include "diag.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		diag_nomem();
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		diag_nomem();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		diag_nomem();
	return q;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		diag_nomem();
	return p;
}

static void
grow(struct buf *b, size_t need)
{
	size_t cap;

	if (need < b->len || need + 1 < need)
		diag_nomem();
	if (need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1) {
		if (cap > SIZE_MAX / 2)
			diag_nomem();
		cap *= 2;
	}
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *data, size_t n)
{
	grow(b, b->len + n);
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_base64_lines(struct buf *b, const void *data, size_t n)
{
	if (n > (SIZE_MAX - 64) / 2)
		diag_nomem();
	grow(b, b->len + PEM_LINES_MAX(n));
	b->len += pem_lines(b->p + b->len, data, n);
	b->p[b->len] = '\0';
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	size_t room;
	int n;

	/* one pass when it fits in what is already allocated */
	grow(b, b->len + 63);
	room = b->cap - b->len;
	va_copy(cp, ap);
	n = vsnprintf(b->p + b->len, room, fmt, cp);
	va_end(cp);
	if (n < 0)
		diag_nomem();
	if ((size_t)n >= room) {
		grow(b, b->len + (size_t)n);
		vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_wipe(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->p)
		OPENSSL_cleanse(b->p, b->cap);
	buf_free(b);
}

char *
buf_steal(struct buf *b)
{
	char *p = b->p ? b->p : xstrdup("");

	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *
buf_str(const struct buf *b)
{
	return b->p ? b->p : "";
}
