/* loop - the one input loop of the record filters (see loop.h). */
#ifdef __linux__
#define _GNU_SOURCE	/* F_SETPIPE_SZ */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "diag.h"
#include "loop.h"

#define PIPE_ROOM (1 << 20)	/* bytes a pipe into a batching stage holds */
#define OUT_ROOM (1 << 18)	/* bytes of output buffered until a write */

/* The output buffer of loop_batches' stream, which uses it until exit:
 * a batch leaves in a few writes instead of one per 4 KiB (stdio's
 * default, a record or two). sign wrote some 7 500 times for 10 000
 * certificates, and a system call costs a microsecond or more in a
 * virtual machine. glibc ignores setvbuf's size unless it is given the
 * buffer. Output is still flushed after every batch. */
static char out_room[OUT_ROOM];
static FILE *out_owner;

/* A pipe into a stage that commits in batches holds some fifty records
 * by default (64 KiB): while this stage waits on its commit's fsync,
 * the stage before it would soon wait too. A megabyte (Linux's limit
 * for an unprivileged pipe) lets it go on with the next batches. */
static void
widen(FILE *in)
{
#ifdef F_SETPIPE_SZ
	struct stat st;
	int fd = fileno(in);

	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, PIPE_ROOM);	/* a hint */
#else
	(void)in;
#endif
}

static int
one_stream(FILE *in, const char *name, loop_fn fn, void *ctx, FILE *out,
    int *first)
{
	struct rec_reader *rd = rec_reader_new(in, name);
	struct rec *r = NULL;
	struct err e = {0};
	int got, rc;

	while ((got = rec_read(rd, &r, &e)) != 0) {
		if (got != 1) {
			diag("%s", err_str(&e));
			if (*first == 0)
				*first = got;
			continue;
		}
		rc = fn(r, ctx);
		if (rc != LOOP_DROP && rec_fwrite(r, out, &e) != 0) {
			rec_free(r);
			diag("%s", err_str(&e));
			*first = EX_IOERR;
			break;
		}
		if (rc != 0 && rc != LOOP_DROP && *first == 0)
			*first = rc;
		rec_free(r);
		r = NULL;
	}
	rec_reader_free(rd);
	err_free(&e);
	return *first == EX_IOERR ? EX_IOERR : 0;
}

int
loop_records(int nfiles, const char *const *files, loop_fn fn, void *ctx,
    FILE *out)
{
	int i, fd, first = 0;
	FILE *f;

	if (nfiles == 0)
		one_stream(stdin, "stdin", fn, ctx, out, &first);
	for (i = 0; i < nfiles && first != EX_IOERR; i++) {
		if (strcmp(files[i], "-") == 0) {
			one_stream(stdin, "stdin", fn, ctx, out, &first);
			continue;
		}
		if ((fd = open(files[i], O_RDONLY | O_CLOEXEC)) < 0 ||
		    (f = fdopen(fd, "r")) == NULL) {
			diag("%s: %s", files[i], strerror(errno));
			if (fd >= 0)
				close(fd);
			if (first == 0)
				first = EX_NOINPUT;
			continue;
		}
		one_stream(f, files[i], fn, ctx, out, &first);
		fclose(f);
	}
	if (fflush(out) != 0 && first == 0) {
		diag("output: %s", strerror(errno));
		first = EX_IOERR;
	}
	return first;
}

struct batch {
	loop_batch_fn fn;
	void *ctx;
	FILE *out;
	struct rec **r;
	int *codes;
	size_t n, max;
	int *first;
};

/* Hand the batch to fn, write its records in order, flush. */
static int
run_batch(struct batch *b)
{
	struct err e = {0};
	size_t i;
	int rc = 0;

	if (b->n == 0)
		return 0;
	for (i = 0; i < b->n; i++)
		b->codes[i] = 0;
	b->fn(b->r, b->codes, b->n, b->ctx);
	for (i = 0; i < b->n; i++) {
		if (rc == 0 && b->codes[i] != LOOP_DROP &&
		    rec_fwrite(b->r[i], b->out, &e) != 0) {
			diag("%s", err_str(&e));
			rc = EX_IOERR;
		}
		if (b->codes[i] != 0 && b->codes[i] != LOOP_DROP &&
		    *b->first == 0)
			*b->first = b->codes[i];
		rec_free(b->r[i]);
		b->r[i] = NULL;
	}
	b->n = 0;
	if (rc == 0 && fflush(b->out) != 0) {
		diag("output: %s", strerror(errno));
		rc = EX_IOERR;
	}
	err_free(&e);
	if (rc != 0)
		*b->first = rc;
	return rc;
}

static int
batch_stream(FILE *in, const char *name, struct batch *b)
{
	struct rec_reader *rd;
	struct err e = {0};
	int got, rc = 0;

	widen(in);
	rd = rec_reader_new(in, name);
	while (rc == 0 && (got = rec_read(rd, &b->r[b->n], &e)) != 0) {
		if (got != 1) {
			diag("%s", err_str(&e));
			if (*b->first == 0)
				*b->first = got;
		} else
			b->n++;
		if (b->n == b->max || (b->n > 0 && !rec_reader_ready(rd,
		    b->n > 1 ? LOOP_LINGER_MS : 0)))
			rc = run_batch(b);
	}
	if (rc == 0)
		rc = run_batch(b);
	rec_reader_free(rd);
	err_free(&e);
	return rc;
}

int
loop_batches(int nfiles, const char *const *files, size_t max,
    loop_batch_fn fn, void *ctx, FILE *out)
{
	struct batch b = { fn, ctx, out, NULL, NULL, 0, max, NULL };
	int i, fd, first = 0;
	FILE *f;

	if (out_owner == NULL && setvbuf(out, out_room, _IOFBF,
	    sizeof out_room) == 0)
		out_owner = out;
	b.first = &first;
	b.r = xcalloc(max, sizeof *b.r);
	b.codes = xcalloc(max, sizeof *b.codes);
	if (nfiles == 0)
		batch_stream(stdin, "stdin", &b);
	for (i = 0; i < nfiles && first != EX_IOERR; i++) {
		if (strcmp(files[i], "-") == 0) {
			batch_stream(stdin, "stdin", &b);
			continue;
		}
		if ((fd = open(files[i], O_RDONLY | O_CLOEXEC)) < 0 ||
		    (f = fdopen(fd, "r")) == NULL) {
			diag("%s: %s", files[i], strerror(errno));
			if (fd >= 0)
				close(fd);
			if (first == 0)
				first = EX_NOINPUT;
			continue;
		}
		batch_stream(f, files[i], &b);
		fclose(f);
	}
	free(b.r);
	free(b.codes);
	return first;
}
