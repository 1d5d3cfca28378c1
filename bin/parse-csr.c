/*
 * parse-csr - turn certificate requests into job records.
 *
 * Input: PKCS#10 requests (PEM, several may follow each other, or one
 * DER) from the files named or stdin, or job records that carry a
 * request in a CERTIFICATE REQUEST block. Output: one record per
 * request with what may be trusted: the key type and the requested names
 * and subject, after the request's own signature proved possession of
 * the key. Everything else the request asked for becomes a Warning.
 *
 * Trust: the first program to touch hostile input. It holds no keys,
 * opens no database and writes nothing but stdout. It must never pass
 * on a name it did not read from a request whose signature verified.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <popt.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "csr.h"
#include "diag.h"
#include "rec.h"


/* Fill r from c: subject fields, SANs, key, warnings, the request. */
static int
describe(struct rec *r, const struct csr *c, struct err *e)
{
	const struct { const char *name, *value; } f[] = {
		{ "CN", c->cn }, { "O", c->o }, { "OU", c->ou }, { "C", c->c },
		{ "ST", c->st }, { "L", c->l },
	};
	struct buf bits = {0};
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof f / sizeof f[0] && rc == 0; i++) {
		rec_del(r, f[i].name);
		if (f[i].value)
			rc = rec_add(r, f[i].name, f[i].value, e);
	}
	rec_del(r, "SAN");
	for (i = 0; i < c->nsan && rc == 0; i++)
		rc = rec_add(r, "SAN", c->san[i], e);
	buf_printf(&bits, "%d", EVP_PKEY_get_bits(c->pub));
	if (rc == 0 && (rc = rec_set(r, "Key-Alg", c->alg->name, e)) == 0)
		rc = rec_set(r, "Key-Bits", bits.p, e);
	for (i = 0; i < c->nwarn && rc == 0; i++)
		rc = rec_add(r, "Warning", c->warn[i], e);
	if (rc == 0 && rec_npem(r) == 0)
		rc = rec_add_pem(r, "CERTIFICATE REQUEST", c->der, c->derlen, e);
	if (rc == 0)
		rc = rec_set(r, "Stage", "parse-csr", e);
	buf_free(&bits);
	return rc;
}

/* Keep the original request in a failed record when its bytes can be
 * carried at all (a PEM request block that decodes, or DER), so the
 * failed job holds what was asked for. */
static void
keep_original(struct rec *r, const void *data, size_t len)
{
	struct err e = {0};
	char *name = NULL, *hdr = NULL;
	unsigned char *der = NULL;
	long dlen = 0;
	BIO *b;

	if (rec_npem(r) > 0 || len == 0)
		return;
	if (len > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
		b = BIO_new_mem_buf(data, (int)len);
		if (PEM_read_bio(b, &name, &hdr, &der, &dlen) == 1 &&
		    dlen > 0 && (strcmp(name, "CERTIFICATE REQUEST") == 0 ||
		    strcmp(name, "NEW CERTIFICATE REQUEST") == 0))
			rec_add_pem(r, "CERTIFICATE REQUEST", der, (size_t)dlen,
			    &e);
		BIO_free(b);
		OPENSSL_free(name);
		OPENSSL_free(hdr);
		OPENSSL_free(der);
		ERR_clear_error();
	} else if (((const unsigned char *)data)[0] == 0x30)	/* DER SEQUENCE */
		rec_add_pem(r, "CERTIFICATE REQUEST", data, len, &e);
	err_free(&e);
}

/* One request (PEM block or DER) into a record on stdout. A request
 * that fails is written as a record with Status failed and its Error,
 * so the stage after (or the scheduler) keeps the reason. */
static int
one(struct rec *r, const void *data, size_t len, const char *source)
{
	struct csr c;
	struct err e = {0};
	int rc;

	if ((rc = csr_parse(data, len, &c, &e)) == 0) {
		rc = describe(r, &c, &e);
		csr_free(&c);
	}
	if (rc != 0) {
		struct err e2 = {0};
		diag("%s: %s", source, err_str(&e));
		rec_set(r, "Status", "failed", &e2);
		rec_set(r, "Error", err_str(&e), &e2);
		rec_set(r, "Error-Code", rc == EX_DATAERR ? "65" : "70", &e2);
		rec_set(r, "Stage", "parse-csr", &e2);
		keep_original(r, data, len);
		err_free(&e2);
	}
	if (rec_fwrite(r, stdout, &e) != 0) {
		diag("%s", err_str(&e));
		rc = EX_IOERR;
	}
	err_free(&e);
	return rc;
}

/* A new record for a raw request, naming where it came from. */
static struct rec *
fresh(const char *source)
{
	struct rec *r = rec_new();
	struct err e = {0};
	struct buf s = {0};

	buf_printf(&s, "%s", source);
	rec_add(r, "Type", "csr", &e);
	if (rec_add(r, "Source", s.p, &e) != 0)	/* odd file names */
		rec_add(r, "Source", "file", &e);
	buf_free(&s);
	err_free(&e);
	return r;
}

/* A record another stage already finished (failed or complete) passes
 * through untouched: parsing it again could only lose its reason. */
static int
done(const struct rec *r)
{
	const char *s = rec_get(r, "Status");

	return s && (strcmp(s, "failed") == 0 || strcmp(s, "complete") == 0);
}

/* Records in (their first line already read): each must carry its
 * request in a PEM block, unless another stage already finished it. */
static int
records(FILE *f, const char *source)
{
	struct rec_reader *rd = rec_reader_new(f, source);
	struct rec *r = NULL;
	struct err e = {0};
	const unsigned char *der;
	size_t dlen;
	int got, rc, first = 0;

	rec_reader_magic_read(rd);
	while ((got = rec_read(rd, &r, &e)) != 0) {
		if (got != 1) {
			diag("%s", err_str(&e));
			rc = got;
		} else if (done(r)) {
			rc = rec_fwrite(r, stdout, &e) == 0 ?
			    rec_status_code(r) : EX_IOERR;
		} else if (!rec_find_pem(r, "CERTIFICATE REQUEST", &der,
		    &dlen)) {
			/* kept, failed, so the job is not lost */
			rc = one(r, "", 0, source);
		} else
			rc = one(r, der, dlen, source);
		if (rc != 0 && first == 0)
			first = rc;
		rec_free(r);
		r = NULL;
		/* a long-lived pipeline waits on this record: pass it on
		 * unless more input is at hand already */
		if (!rec_reader_ready(rd, 0) && fflush(stdout) != 0 &&
		    first == 0)
			first = EX_IOERR;
	}
	rec_reader_free(rd);
	err_free(&e);
	return first;
}

/* One request's bytes into a fresh record. */
static int
request(const struct buf *b, const char *source)
{
	struct rec *r = fresh(source);
	int rc = one(r, buf_str(b), b->len, source);

	rec_free(r);
	return rc;
}

/*
 * Requests, streamed: PEM blocks one after another (a block runs from
 * its "-----BEGIN " line to the next one, what comes before the first
 * is not a request), or, when no block begins at all, the whole input
 * as one request (DER; or garbage, refused as one). At most one block
 * is in memory, and of it no more than one byte past what csr_parse
 * accepts, so a block that is too large is refused as such.
 */
static int
requests(FILE *f, const char *source, char *line, size_t cap, ssize_t n)
{
	static const char begin[] = "-----BEGIN ";
	struct buf b = {0};
	size_t room;
	int rc, first = 0, block = 0;

	while (n >= 0) {
		if ((size_t)n >= sizeof begin - 1 &&
		    memcmp(line, begin, sizeof begin - 1) == 0) {
			if (block && (rc = request(&b, source)) != 0 &&
			    first == 0)
				first = rc;
			buf_reset(&b);
			block = 1;
		}
		room = b.len > CSR_MAX_BYTES ? 0 : CSR_MAX_BYTES + 1 - b.len;
		buf_add(&b, line, (size_t)n < room ? (size_t)n : room);
		n = getline(&line, &cap, f);
	}
	if (ferror(f)) {
		diag("%s: read: %s", source, strerror(errno));
		rc = EX_IOERR;
	} else
		rc = request(&b, source);
	if (rc != 0 && first == 0)
		first = rc;
	free(line);
	buf_free(&b);
	return first;
}

static int
input(const char *name)
{
	const char *source = strcmp(name, "-") ? name : "stdin";
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc;

	if (strcmp(name, "-") == 0)
		f = stdin;
	else if ((f = fopen(name, "re")) == NULL) {
		diag("%s: %s", name, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	/* the first line says what the input is */
	if ((n = getline(&line, &cap, f)) > 0 &&
	    strcmp(line, "CERTPIPE-RECORD 1\n") == 0) {
		free(line);
		rc = records(f, source);
	} else
		rc = requests(f, source, line, cap, n);
	if (f != stdin)
		fclose(f);
	return rc;
}

int
main(int argc, char **argv)
{
	struct poptOption table[] = { POPT_AUTOHELP POPT_TABLEEND };
	const char **files;
	poptContext pc;
	int rc, i, first = 0;

	diag_init(argv[0]);
	pc = poptGetContext("parse-csr", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[FILE...]");
	if ((rc = poptGetNextOpt(pc)) < -1) {
		diag("%s: %s", poptBadOption(pc, 0), poptStrerror(rc));
		poptFreeContext(pc);
		return EX_USAGE;
	}
	files = poptGetArgs(pc);
	if (files == NULL)
		first = input("-");
	for (i = 0; files && files[i]; i++)
		if ((rc = input(files[i])) != 0 && first == 0)
			first = rc;
	if (fflush(stdout) != 0) {
		diag("stdout: %s", strerror(errno));
		first = EX_IOERR;
	}
	poptFreeContext(pc);
	return first;
}
