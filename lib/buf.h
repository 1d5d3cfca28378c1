/*
 * buf - the one growable byte/string buffer.
 *
 * Contract: a zeroed struct buf is an empty buffer. p is always NUL
 * terminated once anything was added (len excludes the NUL). Allocation
 * failure is fatal (the program exits EX_OSERR via diag_nomem), so these
 * functions return nothing to check. buf_free(NULL) is allowed.
 * buf_steal() hands the string to the caller (free() it) and empties b.
 */
#ifndef CERTPIPE_BUF_H
#define CERTPIPE_BUF_H
#include <stddef.h>

struct buf {
	char *p;
	size_t len, cap;
};

void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#include <stdarg.h>
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Append the base64 of data, 64 characters a line, each line ending
 * in a newline: the body of a PEM block. n 0 appends nothing. */
void buf_base64_lines(struct buf *b, const void *data, size_t n);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
char *buf_steal(struct buf *b);
const char *buf_str(const struct buf *b);	/* "" when empty */

/* Zero the bytes before freeing: for passphrases and key material. */
void buf_wipe(struct buf *b);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
