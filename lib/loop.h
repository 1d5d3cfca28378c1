/*
 * loop - the one input loop every record filter shares: records from the
 * files named on the command line ("-" is stdin), or from stdin when
 * none are named, each handed to one per-record function; the record is
 * then written to out (stdout) unless the function consumed it.
 *
 * fn returns 0 to pass the record on, LOOP_DROP to pass nothing, or a
 * sysexits code: the record is still written (the stage added its Error
 * header) and the code is remembered. A record that cannot be read is
 * reported on stderr as "prog: source:line: reason" and skipped.
 *
 * Returns 0 when every record succeeded, otherwise the first non-zero
 * code met; EX_NOINPUT for an unreadable file, EX_IOERR if out fails.
 */
#ifndef CERTPIPE_LOOP_H
#define CERTPIPE_LOOP_H
#include <stdio.h>
#include "rec.h"

#define LOOP_DROP (-1)
#define LOOP_LINGER_MS 5	/* how long a batch waits for more input */

typedef int (*loop_fn)(struct rec *r, void *ctx);

int loop_records(int nfiles, const char *const *files, loop_fn fn, void *ctx,
    FILE *out);

/*
 * The same loop for a stage that commits records in groups (one database
 * transaction per batch): fn gets up to max records at once and sets
 * codes[i] (0, LOOP_DROP or a sysexits code, as above) for each; the
 * records are written in input order after fn returns, and out is
 * flushed. A batch ends at max records, at the end of an input, or as
 * soon as no more input is at hand (rec_reader_ready): a batch of one
 * record waits for none, a larger one up to LOOP_LINGER_MS. So one
 * record in an interactive pipe, or in the scheduler's long-lived
 * pipeline, is answered at once, while a stream from a slower stage
 * (records queue up during a commit, and the next batch starts with
 * several) still fills its batches instead of paying a commit for every
 * few records. At most max records are held in memory. A pipe on stdin
 * is widened to a megabyte (Linux) so that the stage before goes on
 * while this one commits. out gets a 256 KiB buffer (setvbuf), so
 * nothing may have been written to it before.
 */
typedef void (*loop_batch_fn)(struct rec **r, int *codes, size_t n,
    void *ctx);

int loop_batches(int nfiles, const char *const *files, size_t max,
    loop_batch_fn fn, void *ctx, FILE *out);

#endif
