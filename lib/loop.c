/* loop - the one input loop of the record filters (see loop.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "diag.h"
#include "loop.h"

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
