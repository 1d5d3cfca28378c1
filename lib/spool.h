/*
 * spool - the ONE module that knows queue paths and how a job is
 * committed. States, invariants and crash recovery: doc/certpipe-spool.5.
 *
 * Layout under <home>/queue/:
 *     NAME/tmp/<id>   being written (never read by anyone)
 *     NAME/new/<id>   committed: complete, fsynced, visible
 *     incoming/new/NAME   a drop-in (any other name, not starting '.')
 *     incoming/adopt/<id> a drop-in being adopted (spool_adopt)
 * Commit: open NAME/tmp/<id> O_CREAT|O_EXCL 0600 -> write -> fsync ->
 * rename to NAME/new/<id> -> fsync NAME/new. A move between queues is a
 * rename followed by fsync of both directories. A stage that changes a
 * job writes the new version into the next queue BEFORE removing the old
 * one; the job's UUID makes seeing it twice harmless.
 *
 * The trigger is a FIFO <home>/trigger: writers poke it, the scheduler
 * wakes. It is only a hint: the scheduler also rescans on a timer.
 *
 * Ids are lower-case UUIDs (36 chars); anything else is refused, so no
 * caller can make a path escape the spool.
 *
 * Contract: 0 or a sysexits code with e filled. EX_NOINPUT when a job
 * is not there, EX_CANTCREAT when the id already exists in the target.
 */
#ifndef CERTPIPE_SPOOL_H
#define CERTPIPE_SPOOL_H
#include <stddef.h>
#include "buf.h"
#include "err.h"

struct spool;
struct rec;

/* NULL-terminated list of queue names. */
const char *const *spool_queues(void);
/* Create every queue directory and the trigger FIFO (idempotent). */
int spool_init(const char *home, struct err *e);
int spool_open(const char *home, struct spool **out, struct err *e);
void spool_close(struct spool *sp);

/* Fresh lower-case random UUID (rec_newid) into out[37]. */
void spool_newid(char out[37]);
int spool_id_ok(const char *id);

int spool_put(struct spool *sp, const char *queue, const char *id,
    const void *data, size_t len, struct err *e);
int spool_move(struct spool *sp, const char *from, const char *to,
    const char *id, struct err *e);
int spool_remove(struct spool *sp, const char *queue, const char *id,
    struct err *e);
int spool_read(struct spool *sp, const char *queue, const char *id,
    struct buf *out, struct err *e);
/* Committed ids of a queue, oldest first (mtime, then name). The caller
 * frees each id and the array. */
int spool_list(struct spool *sp, const char *queue, char ***ids, size_t *n,
    struct err *e);
int spool_count(struct spool *sp, const char *queue, size_t *n,
    struct err *e);
/* Remove leftovers in every NAME/tmp/ (incomplete writes by definition);
 * *removed may be NULL. Call only while holding the spool lock. */
int spool_recover(struct spool *sp, size_t *removed, struct err *e);
/* Exclusive lock on the queue (flock on <home>/queue/lock), held until
 * spool_close. EX_TEMPFAIL if another process holds it. */
int spool_lock(struct spool *sp, struct err *e);

/* The lock's fd, -1 when not locked: a child that must keep the queue
 * locked while it lives inherits it. */
int spool_lock_fd(const struct spool *sp);
/* A job committed in more than one of incoming, deferred, held, failed,
 * done (a crash between a stage's write and its remove): keep the copy
 * in the latest state, in that order, and remove the others. *removed
 * may be NULL. Call only while holding the spool lock. */
int spool_dedup(struct spool *sp, size_t *removed, struct err *e);

/*
 * Drop-ins: every entry of incoming/new/ whose name is neither a job id
 * nor starts with '.' (directories are skipped) becomes a new job with a
 * fresh id: staged as incoming/adopt/<id>, wrapped into a record (Type
 * csr, Source spool, Requested-By "spool:<owner>", Realm default; a
 * dropped record keeps only the headers that say what it asks for),
 * committed to incoming (or to failed when there is nothing to run:
 * empty, too large, not a regular file), and only then is the staged
 * file removed. Staged adoptions a crash interrupted are finished first,
 * so one drop-in becomes exactly one job. fn (may be NULL) hears of each
 * job: name is NULL for a resumed one. Call only while holding the lock.
 */
/*
 * The job record spool_adopt makes of a drop-in's bytes (data, len: any
 * bytes at all, untrusted), given the job's id and its owner
 * ("spool:<user>", one line): Type csr, Source spool, Requested-By
 * owner, Realm default, and a CERTIFICATE REQUEST carrying a request
 * (one PEM block, decoded) or the bytes as they are (DER, or anything
 * else, for parse-csr to refuse). A dropped record (one starting
 * "CERTPIPE-RECORD 1") keeps only the headers that say what it asks for
 * and its PEM blocks. *final says nothing in it can run: the record is
 * then already failed (Status, Error, Error-Code 65, Stage spool).
 * Whatever the bytes, *out is a valid record: rec_write's output parses.
 * 0, or EX_DATAERR (id not a job id, owner not one line) with *out NULL.
 */
int spool_wrap(const char *id, const char *owner, const void *data,
    size_t len, struct rec **out, int *final, struct err *e);

typedef void (*spool_adopt_fn)(const char *name, const char *id,
    const char *queue, void *ctx);
int spool_adopt(struct spool *sp, spool_adopt_fn fn, void *ctx,
    size_t *adopted, struct err *e);

/* Poke the trigger; never fails the caller (no reader is fine). */
void spool_trigger_pull(struct spool *sp);
/* A readable fd for poll(2) that becomes readable when poked; drain it
 * with spool_trigger_drain. The caller closes it. */
int spool_trigger_fd(struct spool *sp, int *fd, struct err *e);
void spool_trigger_drain(int fd);

#endif
