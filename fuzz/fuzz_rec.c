/*
 * fuzz_rec - libFuzzer target for the record reader, the parser of every
 * job that crosses a pipe or the spool: rec_parse on the bytes, and a
 * rec_reader over them as a stream. What is accepted must write out,
 * parse again, and write out the same bytes (the canonical form).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
roundtrip(const struct rec *r)
{
	struct rec *r2 = NULL;
	struct buf a = {0}, b = {0};
	struct err e = {0};

	rec_write(r, &a);
	if (rec_parse(a.p, a.len, &r2, &e) != 0)
		__builtin_trap();	/* our own output must parse */
	rec_write(r2, &b);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		__builtin_trap();	/* and be canonical */
	rec_free(r2);
	buf_free(&a);
	buf_free(&b);
	err_free(&e);
}

static void
one_line(const struct err *e)
{
	if (strchr(err_str(e), '\n') != NULL)
		__builtin_trap();	/* diagnostics are one line */
}

/* Every record and error a reader over data gives, written out; the
 * stream unbuffered when nobuf (the reader then takes no span of
 * glibc's buffer longer than a byte). */
static void
stream(const uint8_t *data, size_t len, int nobuf, struct buf *out)
{
	struct rec_reader *rd;
	struct rec *r = NULL;
	struct err e = {0};
	FILE *f;
	int rc, n = 0;

	if ((f = fmemopen((void *)data, len, "r")) == NULL)
		return;
	if (nobuf)
		setvbuf(f, NULL, _IONBF, 0);
	rd = rec_reader_new(f, "fuzz");
	while ((rc = rec_read(rd, &r, &e)) != 0) {
		if (rc == 1)
			rec_write(r, out);
		else
			buf_printf(out, "error %d %s\n", rc, err_str(&e));
		rec_free(r);
		r = NULL;
		if (++n > 100000)
			__builtin_trap();
	}
	rec_reader_free(rd);
	fclose(f);
	err_free(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct rec_reader *rd;
	struct rec *r = NULL;
	struct err e = {0};
	FILE *f;
	int rc, n = 0;

	if (rec_parse(data, len, &r, &e) == 0)
		roundtrip(r);
	else
		one_line(&e);
	rec_free(r);
	r = NULL;

	/* fmemopen refuses an empty buffer */
	if (len > 0 && (f = fmemopen((void *)data, len, "r")) != NULL) {
		rd = rec_reader_new(f, "fuzz");
		/* every call consumes at least one line: this ends */
		while ((rc = rec_read(rd, &r, &e)) != 0) {
			if (rc == 1)
				roundtrip(r);
			else
				one_line(&e);
			rec_free(r);
			r = NULL;
			if (++n > 100000)
				__builtin_trap();
		}
		rec_reader_free(rd);
		fclose(f);
	}
	if (len > 0) {
		/* byte by byte and a buffer at a time read the same */
		struct buf a = {0}, b = {0};

		stream(data, len, 0, &a);
		stream(data, len, 1, &b);
		if (a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0))
			__builtin_trap();
		buf_free(&a);
		buf_free(&b);
	}
	err_free(&e);
	return 0;
}
