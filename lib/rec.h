/*
 * rec - the job record ("envelope"): the one reader and the one writer.
 * Format: doc/certpipe-envelope.5.
 *
 *     CERTPIPE-RECORD 1
 *     Id: 0b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e11
 *     Type: csr
 *     SAN: DNS:www.example.com
 *                                   <- blank line ends the headers
 *     -----BEGIN CERTIFICATE REQUEST-----
 *     ...base64...
 *     -----END CERTIFICATE REQUEST-----
 *     END-RECORD 0b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e11
 *
 * Header names are allow-listed (rec.c), values are 1..REC_MAX_VALUE
 * bytes of anything but NUL, CR and LF, and leading/trailing blanks are
 * rejected rather than trimmed. Id is required, is a lower-case UUID, and
 * comes first. PEM labels are allow-listed; bodies are kept decoded (DER)
 * and re-encoded on write. A record is accepted only when its END-RECORD
 * line names its own Id, so a truncated or spliced record is never
 * taken for a whole one.
 *
 * Contract: functions returning int give 0 or a sysexits code with e
 * filled (EX_DATAERR for bad input). Getters return pointers owned by
 * the record, valid until it is changed or freed. rec_free(NULL) is fine.
 */
#ifndef CERTPIPE_REC_H
#define CERTPIPE_REC_H
#include <stddef.h>
#include <stdio.h>
#include "buf.h"
#include "err.h"

#define REC_MAX_VALUE   4096		/* bytes in one header value */
#define REC_MAX_HEADERS 512		/* header lines in one record */
#define REC_MAX_PEM     (256 * 1024)	/* decoded bytes of all PEM blocks */
#define REC_MAX_LINE    8192		/* bytes in one line */
#define REC_ID_LEN      36

struct rec;

/* A new record with a fresh random Id (rec_newid). */
struct rec *rec_new(void);
/* A fresh random (version 4) UUID, lower case, for a record's Id; may
 * run on any thread. */
void rec_newid(char out[37]);
void rec_free(struct rec *r);
const char *rec_id(const struct rec *r);

/* Is id a lower-case UUID, the shape of every job id? (1/0) The spool
 * names job files by it, so this is also what keeps paths inside it. */
int rec_id_ok(const char *id);
/* Is name an allowed header name? (1/0) */
int rec_name_ok(const char *name);

int rec_add(struct rec *r, const char *name, const char *value,
    struct err *e);
/* Replace every value of name by one value. */
int rec_set(struct rec *r, const char *name, const char *value,
    struct err *e);
void rec_del(struct rec *r, const char *name);
/* First value of name, or NULL. */
const char *rec_get(const struct rec *r, const char *name);
size_t rec_count(const struct rec *r, const char *name);
/* i-th value of name (0-based), or NULL. */
const char *rec_get_n(const struct rec *r, const char *name, size_t i);
/* Iterate every header in order. */
size_t rec_nheaders(const struct rec *r);
void rec_header(const struct rec *r, size_t i, const char **name,
    const char **value);

int rec_add_pem(struct rec *r, const char *label, const void *der,
    size_t len, struct err *e);
size_t rec_npem(const struct rec *r);
void rec_pem(const struct rec *r, size_t i, const char **label,
    const unsigned char **der, size_t *len);
/* First block with label: 1 found (der/len set), 0 none. */
int rec_find_pem(const struct rec *r, const char *label,
    const unsigned char **der, size_t *len);

/* The exit status a record stands for: 0 unless its Status is failed,
 * then its Error-Code (1..255; 65 when missing or malformed). Every
 * stage exits with the first such code among the records it wrote, so
 * a pipe's status (its last stage's) is the first failure's. */
int rec_status_code(const struct rec *r);

/* Append the canonical text of r to out. */
void rec_write(const struct rec *r, struct buf *out);
/* rec_write to a stdio stream; EX_IOERR on a write error. */
int rec_fwrite(const struct rec *r, FILE *f, struct err *e);

/* Exactly one record in data (nothing but blank lines after it). */
int rec_parse(const void *data, size_t len, struct rec **out, struct err *e);

/* A stream of records. rec_read returns 1 with *out set, 0 at a clean end
 * of input, or a sysexits code (e filled) for a bad record; after a bad
 * record the reader skips to the next "CERTPIPE-RECORD" line so the rest
 * of the stream is still read. The error names the source and line. */
struct rec_reader;
struct rec_reader *rec_reader_new(FILE *f, const char *source);
int rec_read(struct rec_reader *rd, struct rec **out, struct err *e);
/* The caller already read the stream's first line, and it was
 * "CERTPIPE-RECORD 1" (a program that sniffs its input, as parse-csr
 * does, cannot put a line back). */
void rec_reader_magic_read(struct rec_reader *rd);
void rec_reader_free(struct rec_reader *rd);
/* Can more input be read without blocking, now or within wait_ms
 * milliseconds? 1 when the stream's buffer holds unread bytes or its fd
 * polls readable (end of input counts: the next rec_read returns at
 * once), 0 otherwise. A reader of a pipe uses it to finish a batch when
 * the writer pauses rather than wait for a full one. A "1" may still
 * mean a record is only partly written. */
int rec_reader_ready(const struct rec_reader *rd, int wait_ms);

#endif
