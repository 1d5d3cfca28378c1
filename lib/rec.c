/* rec - the job record: one reader, one writer (see rec.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "diag.h"
#include "num.h"
#include "rec.h"

#define MAGIC "CERTPIPE-RECORD 1"
#define END   "END-RECORD "

/* The one "Id" a record's headers point to (see intern). */
static const char ID[] = "Id";

/* Allowed header names, sorted (bsearch). Each is described in
 * certpipe-envelope(5). */
static const char *const names[] = {
	"Approval", "Approved-By", "Attempt", "C", "CA", "CN",
	"Challenge-Error", "Challenge-Expect", "Challenge-Name",
	"Challenge-Result", "Challenge-Token", "Challenge-Type", "Created",
	"Days", "Digest", "Error", "Error-Code", "Fingerprint", ID,
	"Key-Alg", "Key-Bits", "L", "Not-After", "Not-Before", "O", "OU",
	"Order", "Profile", "Realm", "Rekey", "Renewal-Of", "Requested-By",
	"Retry-At", "Revoke-Reason", "SAN", "ST", "Serial", "Source", "Stage",
	"Status", "Target", "Template", "Type", "Updated", "Verdict",
	"Warning",
};

static const char *const labels[] = {
	"CERTIFICATE", "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST",
	"PKCS7", "X509 CRL",
};

struct hdr {
	const char *name;	/* an entry of names[]: compared by pointer */
	char *value;
};

struct pem {
	const char *label;	/* an entry of labels[] */
	unsigned char *der;
	size_t len;
};

struct rec {
	struct hdr *h;
	size_t nh, ch;		/* headers, room for */
	struct pem *p;
	size_t np;
	size_t pem_bytes;
};

/* names[]'s entry for name, or NULL: a record keeps that pointer, so
 * finding a header compares pointers, not strings. */
static const char *
intern(const char *name)
{
	size_t lo = 0, hi = sizeof names / sizeof names[0], mid;
	int c;

	if (name == NULL)
		return NULL;
	/* bsearch, with the first bytes compared here: most steps end
	 * there, without a call */
	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = (unsigned char)name[0] - (unsigned char)names[mid][0];
		if (c == 0)
			c = strcmp(name, names[mid]);
		if (c == 0)
			return names[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int
rec_name_ok(const char *name)
{
	return intern(name) != NULL;
}

/* The length of the header name at the start of s: A-Z a-z 0-9 '-'
 * (strspn would build its table of them on every call). */
static size_t
name_span(const char *s)
{
	size_t i;
	unsigned char c;

	for (i = 0; (c = (unsigned char)s[i]) != '\0'; i++)
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			break;
	return i;
}

/* labels[]' entry for l (what a record keeps), or NULL. */
static const char *
label_of(const char *l)
{
	size_t i;

	for (i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if (strcmp(labels[i], l) == 0)
			return labels[i];
	return NULL;
}

/* A lower-case UUID: 8-4-4-4-12 hex digits. */
int
rec_id_ok(const char *id)
{
	size_t i;

	if (id == NULL || strlen(id) != REC_ID_LEN)
		return 0;
	for (i = 0; i < REC_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (id[i] != '-')
				return 0;
		} else if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	}
	return 1;
}

static int
value_ok(const char *name, const char *v, struct err *e)
{
	size_t n = strlen(v);

	if (n == 0)
		return err_set(e, EX_DATAERR, "header '%s': empty value", name);
	if (n > REC_MAX_VALUE)
		return err_set(e, EX_DATAERR, "header '%s': value longer than "
		    "%d bytes", name, REC_MAX_VALUE);
	if (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t')
		return err_set(e, EX_DATAERR, "header '%s': leading or trailing "
		    "blank", name);
	if (strcspn(v, "\r\n") != n)
		return err_set(e, EX_DATAERR, "header '%s': CR or LF in "
		    "value", name);
	if (name == ID && !rec_id_ok(v))
		return err_set(e, EX_DATAERR, "header 'Id': not a lower-case "
		    "UUID");
	return 0;
}

static struct rec *
rec_empty(void)
{
	return xcalloc(1, sizeof(struct rec));
}

/* name is an entry of names[]. */
static void
push(struct rec *r, const char *name, const char *value)
{
	if (r->nh == r->ch) {
		r->ch = r->ch ? 2 * r->ch : 16;
		r->h = xrealloc(r->h, sizeof *r->h * r->ch);
	}
	r->h[r->nh].name = name;
	r->h[r->nh].value = xstrdup(value);
	r->nh++;
}

/*
 * Time-ordered (version 7, RFC 9562) UUIDs: the first 48 bits are the
 * Unix time in milliseconds, the next 12 (after the version) the
 * fraction of that millisecond in 4096ths (RFC 9562 6.2, method 3), the
 * last 62 (after the variant) random. Ids made later sort later, so the
 * index keyed by them (orders.job) grows at its end: with random ids
 * every order check-policy wrote, and every order sign read, went to a
 * random leaf page of it. A thread's ids also sort in the order it made
 * them: one that would not is its predecessor's time plus one 4096th
 * (id_last).
 *
 * The random bits come from OpenSSL's CSPRNG, 64 ids to a call:
 * libuuid asks the kernel for each id, which cost parse-csr about a
 * tenth of its time. Each thread has its pool; a forked child starts
 * with an empty one (pthread_atfork), so it never hands out its
 * parent's bits. Bytes handed out are wiped from the pool. Should the
 * CSPRNG fail, libuuid's random bytes are used.
 */
static _Thread_local unsigned char id_pool[16 * 64];
static _Thread_local size_t id_left;
static _Thread_local uint64_t id_last;	/* ms << 12 | 4096ths */
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void
id_forked(void)
{
	OPENSSL_cleanse(id_pool, sizeof id_pool);
	id_left = 0;
}

static void
id_init(void)
{
	if (pthread_atfork(NULL, NULL, id_forked) != 0)
		diag_nomem();
}

void
rec_newid(char out[37])
{
	struct timespec ts;
	uint64_t t;
	uuid_t u;

	if (pthread_once(&id_once, id_init) != 0)
		diag_nomem();
	if (id_left == 0 && RAND_bytes(id_pool, sizeof id_pool) == 1)
		id_left = sizeof id_pool;
	if (id_left == 0)
		uuid_generate_random(u);
	else {
		id_left -= 16;
		memcpy(u, id_pool + id_left, 16);
		OPENSSL_cleanse(id_pool + id_left, 16);
	}
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		ts.tv_sec = ts.tv_nsec = 0;
	t = ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) <<
	    12 | (uint64_t)(ts.tv_nsec % 1000000) * 4096 / 1000000;
	if (t <= id_last)
		t = id_last + 1;
	id_last = t;
	u[0] = (unsigned char)(t >> 52);
	u[1] = (unsigned char)(t >> 44);
	u[2] = (unsigned char)(t >> 36);
	u[3] = (unsigned char)(t >> 28);
	u[4] = (unsigned char)(t >> 20);
	u[5] = (unsigned char)(t >> 12);
	u[6] = (unsigned char)(0x70 | ((t >> 8) & 0x0f));	/* version 7 */
	u[7] = (unsigned char)t;
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);	/* RFC 9562 variant */
	uuid_unparse_lower(u, out);
}

struct rec *
rec_new(void)
{
	struct rec *r = rec_empty();
	char id[37];

	rec_newid(id);
	push(r, ID, id);
	return r;
}

void
rec_free(struct rec *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nh; i++)
		free(r->h[i].value);
	for (i = 0; i < r->np; i++)
		free(r->p[i].der);
	free(r->h);
	free(r->p);
	free(r);
}

const char *
rec_id(const struct rec *r)
{
	return r->nh > 0 ? r->h[0].value : "";
}

/* rec_add with name interned (an entry of names[], not Id). */
static int
add(struct rec *r, const char *name, const char *value, struct err *e)
{
	int rc;

	if ((rc = value_ok(name, value, e)) != 0)
		return rc;
	if (r->nh >= REC_MAX_HEADERS)
		return err_set(e, EX_DATAERR, "more than %d headers",
		    REC_MAX_HEADERS);
	push(r, name, value);
	return 0;
}

int
rec_add(struct rec *r, const char *name, const char *value, struct err *e)
{
	const char *in = intern(name);

	if (in == NULL)
		return err_set(e, EX_DATAERR, "header '%s' is not allowed", name);
	if (in == ID)
		return err_set(e, EX_DATAERR, "header 'Id' is set once, first");
	return add(r, in, value, e);
}

/* Remove every header named in (interned, not Id). */
static void
del(struct rec *r, const char *in)
{
	size_t i, j;

	for (i = j = 0; i < r->nh; i++) {
		if (r->h[i].name == in) {
			free(r->h[i].value);
			continue;
		}
		r->h[j++] = r->h[i];
	}
	r->nh = j;
}

void
rec_del(struct rec *r, const char *name)
{
	const char *in = intern(name);

	if (in != NULL && in != ID)
		del(r, in);
}

int
rec_set(struct rec *r, const char *name, const char *value, struct err *e)
{
	const char *in = intern(name);
	int rc;

	if (in == NULL || in == ID)
		return err_set(e, EX_DATAERR, "header '%s' cannot be set", name);
	if ((rc = value_ok(in, value, e)) != 0)
		return rc;
	del(r, in);
	return add(r, in, value, e);
}

const char *
rec_get_n(const struct rec *r, const char *name, size_t n)
{
	const char *in = intern(name);
	size_t i;

	if (in == NULL)
		return NULL;
	for (i = 0; i < r->nh; i++)
		if (r->h[i].name == in && n-- == 0)
			return r->h[i].value;
	return NULL;
}

const char *
rec_get(const struct rec *r, const char *name)
{
	return rec_get_n(r, name, 0);
}

size_t
rec_count(const struct rec *r, const char *name)
{
	const char *in = intern(name);
	size_t i, n = 0;

	for (i = 0; i < r->nh && in != NULL; i++)
		if (r->h[i].name == in)
			n++;
	return n;
}

size_t
rec_nheaders(const struct rec *r)
{
	return r->nh;
}

void
rec_header(const struct rec *r, size_t i, const char **name,
    const char **value)
{
	*name = r->h[i].name;
	*value = r->h[i].value;
}

int
rec_add_pem(struct rec *r, const char *label, const void *der, size_t len,
    struct err *e)
{
	const char *in = label_of(label);

	if (in == NULL)
		return err_set(e, EX_DATAERR, "PEM label '%s' is not allowed",
		    label);
	if (len == 0)
		return err_set(e, EX_DATAERR, "PEM '%s': empty", label);
	if (r->pem_bytes + len > REC_MAX_PEM)
		return err_set(e, EX_DATAERR, "PEM blocks larger than %d bytes",
		    REC_MAX_PEM);
	r->p = xrealloc(r->p, sizeof *r->p * (r->np + 1));
	r->p[r->np].label = in;
	r->p[r->np].der = xmalloc(len);
	memcpy(r->p[r->np].der, der, len);
	r->p[r->np].len = len;
	r->np++;
	r->pem_bytes += len;
	return 0;
}

size_t
rec_npem(const struct rec *r)
{
	return r->np;
}

void
rec_pem(const struct rec *r, size_t i, const char **label,
    const unsigned char **der, size_t *len)
{
	*label = r->p[i].label;
	*der = r->p[i].der;
	*len = r->p[i].len;
}

int
rec_find_pem(const struct rec *r, const char *label,
    const unsigned char **der, size_t *len)
{
	size_t i;

	for (i = 0; i < r->np; i++)
		if (strcmp(r->p[i].label, label) == 0) {
			*der = r->p[i].der;
			*len = r->p[i].len;
			return 1;
		}
	return 0;
}

int
rec_status_code(const struct rec *r)
{
	const char *s = rec_get(r, "Status"), *c = rec_get(r, "Error-Code");
	struct err e = {0};
	int64_t n = EX_DATAERR;

	if (s == NULL || strcmp(s, "failed") != 0)
		return 0;
	if (c == NULL || num_i64("Error-Code", c, 1, 255, &n, &e) != 0)
		n = EX_DATAERR;
	err_free(&e);
	return (int)n;
}

void
rec_write(const struct rec *r, struct buf *out)
{
	size_t i;

	buf_adds(out, MAGIC "\n");
	for (i = 0; i < r->nh; i++) {
		buf_adds(out, r->h[i].name);
		buf_add(out, ": ", 2);
		buf_adds(out, r->h[i].value);
		buf_addc(out, '\n');
	}
	buf_addc(out, '\n');
	for (i = 0; i < r->np; i++) {
		buf_adds(out, "-----BEGIN ");
		buf_adds(out, r->p[i].label);
		buf_add(out, "-----\n", 6);
		/* 48 bytes -> 64 base64 characters a line, as PEM does */
		buf_base64_lines(out, r->p[i].der, r->p[i].len);
		buf_adds(out, "-----END ");
		buf_adds(out, r->p[i].label);
		buf_add(out, "-----\n", 6);
	}
	buf_adds(out, END);
	buf_adds(out, rec_id(r));
	buf_addc(out, '\n');
}

int
rec_fwrite(const struct rec *r, FILE *f, struct err *e)
{
	struct buf b = {0};
	int rc = 0;

	rec_write(r, &b);
	if (fwrite(b.p, 1, b.len, f) != b.len)
		rc = err_set(e, EX_IOERR, "write: output failed");
	buf_free(&b);
	return rc;
}

struct rec_reader {
	FILE *f;
	char *source;
	unsigned long lineno;
	int have_magic;		/* the next record's first line was read */
	int ioerr;		/* errno of a read error, reported once */
	struct buf line;
	struct buf der;		/* a PEM block being decoded */
};

struct rec_reader *
rec_reader_new(FILE *f, const char *source)
{
	struct rec_reader *rd = xcalloc(1, sizeof *rd);

	rd->f = f;
	rd->source = xstrdup(source);
	/* line.p is never NULL: the readers compare it as a string */
	buf_addc(&rd->line, '\0');
	buf_reset(&rd->line);
	return rd;
}

void
rec_reader_magic_read(struct rec_reader *rd)
{
	rd->have_magic = 1;
	rd->lineno = 1;
}

void
rec_reader_free(struct rec_reader *rd)
{
	if (rd == NULL)
		return;
	buf_free(&rd->line);
	buf_free(&rd->der);
	free(rd->source);
	free(rd);
}

/* Bytes in f's buffer not read yet. glibc's FILE fields are the only
 * portable-enough way to ask; elsewhere say "none" and let poll decide,
 * which at worst ends a batch early. */
static int
buffered(FILE *f)
{
#ifdef __GLIBC__
	return f->_IO_read_ptr < f->_IO_read_end;
#else
	(void)f;
	return 0;
#endif
}

int
rec_reader_ready(const struct rec_reader *rd, int wait_ms)
{
	struct pollfd p;

	if (rd->ioerr || feof(rd->f) || buffered(rd->f))
		return 1;
	p.fd = fileno(rd->f);
	p.events = POLLIN;
	p.revents = 0;
	/* no fd (fmemopen): everything is in memory already */
	if (p.fd < 0)
		return 1;
	return poll(&p, 1, wait_ms) > 0;
}

/* One line into rd->line without its '\n': 1 a line, 0 end of input,
 * -1 a bad line (why set; the rest of the line was consumed). A last
 * line without '\n' is bad: the writer was cut off. At most
 * REC_MAX_LINE bytes are kept, so a hostile stream cannot make the
 * reader grow. A read error is a bad line once, then the end. */
#ifdef __GLIBC__
/*
 * glibc: the next span of a line in f's buffer, up to its '\n' or the
 * buffer's end, taken at once when it is clean (no NUL, no CR, within
 * REC_MAX_LINE with the len bytes already kept): 1 and *nl set when the
 * line ended there, 0 taken without its end, -1 nothing taken (empty
 * buffer, or a span next_line must look at byte by byte; *slow says
 * how many bytes). A byte at a time cost more than the rest of reading
 * a record.
 */
static int
span(struct rec_reader *rd, size_t len, size_t *slow)
{
	FILE *f = rd->f;
	char *p = f->_IO_read_ptr, *nl;
	size_t k;

	if (p == NULL || p >= f->_IO_read_end)
		return -1;
	nl = memchr(p, '\n', (size_t)(f->_IO_read_end - p));
	k = (size_t)((nl ? nl : f->_IO_read_end) - p);
	if (len + k >= REC_MAX_LINE || memchr(p, '\0', k) != NULL ||
	    memchr(p, '\r', k) != NULL) {
		*slow = k;
		return -1;
	}
	buf_add(&rd->line, p, k);
	f->_IO_read_ptr = p + k + (nl != NULL);
	return nl != NULL;
}
#endif

static int
next_line(struct rec_reader *rd, const char **why)
{
	char chunk[256];	/* into the line a chunk at a time */
	size_t n = 0, slow = 0;
	int c, bad = 0;

	buf_reset(&rd->line);
	if (rd->ioerr)
		return 0;
	for (;;) {
#ifdef __GLIBC__
		if (!bad && slow == 0) {
			if (n > 0) {
				buf_add(&rd->line, chunk, n);
				n = 0;
			}
			if ((c = span(rd, rd->line.len, &slow)) == 1) {
				c = '\n';
				break;
			}
			if (c == 0)
				continue;
		}
		if (slow > 0)
			slow--;
#endif
		if ((c = getc_unlocked(rd->f)) == EOF || c == '\n')
			break;
		if (bad)
			continue;
		if (c == '\0' || c == '\r') {
			*why = c ? "CR in record" : "NUL byte in record";
			bad = 1;
		} else if (rd->line.len + n >= REC_MAX_LINE) {
			*why = "line too long";
			bad = 1;
		} else {
			chunk[n++] = (char)c;
			if (n == sizeof chunk) {
				buf_add(&rd->line, chunk, n);
				n = 0;
			}
		}
	}
	if (n > 0)
		buf_add(&rd->line, chunk, n);
	if (c == EOF && ferror(rd->f)) {
		rd->ioerr = errno ? errno : EIO;
		*why = strerror(rd->ioerr);
		return -1;
	}
	if (c == EOF && rd->line.len == 0 && !bad)
		return 0;
	rd->lineno++;
	if (c == EOF && !bad) {
		*why = "truncated record (no newline at the end)";
		return -1;
	}
	return bad ? -1 : 1;
}

static int
fail(struct rec_reader *rd, struct err *e, const char *why)
{
	if (rd->ioerr)
		return err_set(e, EX_IOERR, "%s: read: %s", rd->source, why);
	return err_set(e, EX_DATAERR, "%s:%lu: %s", rd->source, rd->lineno, why);
}

/*
 * A record's first line inside another record: that one was cut off.
 * Report it, and keep the line so the next record is still read
 * (resyncing past it would lose a good record behind a truncated one).
 */
static int
cut_off(struct rec_reader *rd, struct err *e)
{
	if (strcmp(rd->line.p, MAGIC) != 0)
		return 0;
	rd->have_magic = 1;
	return fail(rd, e, "truncated record (a new record starts before "
	    "END-RECORD)");
}

/* After a bad record: skip to the next record's first line. */
static void
resync(struct rec_reader *rd)
{
	const char *why;
	int n;

	while ((n = next_line(rd, &why)) != 0)
		if (n > 0 && strcmp(rd->line.p, MAGIC) == 0) {
			rd->have_magic = 1;
			return;
		}
}

/* The value of a base64 digit, 64 for any other byte ('=' too). */
static unsigned
b64(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	return c == '/' ? 63 : 64;
}

/*
 * A PEM body, its lines decoded as one base64 text, as OpenSSL's
 * EVP_DecodeUpdate and EVP_DecodeFinal decode such lines: a multiple of
 * 4 digits in all, at most two '=' and only at its very end (each
 * stands for a zero digit and one byte fewer), bits a canonical encoder
 * would have left zero ignored. A line is 1..76 base64 characters.
 */
static int
read_pem(struct rec_reader *rd, struct rec *r, const char *label,
    struct err *e)
{
	struct buf *der = &rd->der;
	unsigned char out[64];	/* a line's 76 digits and 3 carried: 57 */
	const unsigned char *p;
	const char *why = NULL;
	size_t i, k, o, llen = strlen(label);
	unsigned long acc = 0;
	unsigned v;
	int n, rc, ndig = 0, pad = 0;

	buf_reset(der);
	for (;;) {
		if ((n = next_line(rd, &why)) <= 0) {
			rc = fail(rd, e, n == 0 ? "truncated record (PEM block "
			    "not ended)" : why);
			goto out;
		}
		if ((rc = cut_off(rd, e)) != 0)
			goto out;
		/* "-----END <label>-----" */
		if (rd->line.len == llen + 14 &&
		    memcmp(rd->line.p, "-----END ", 9) == 0 &&
		    memcmp(rd->line.p + 9, label, llen) == 0 &&
		    memcmp(rd->line.p + 9 + llen, "-----", 5) == 0)
			break;
		/* '=' only at the end of the last line */
		k = strcspn(rd->line.p, "=");
		if (pad || strspn(rd->line.p + k, "=") != rd->line.len - k ||
		    rd->line.len - k > 2 || rd->line.len == 0 ||
		    rd->line.len > 76) {
			rc = fail(rd, e, "bad base64 in PEM block");
			goto out;
		}
		p = (const unsigned char *)rd->line.p;
		for (i = o = 0; i < rd->line.len; i++) {
			if ((v = i < k ? b64(p[i]) : 0) > 63) {
				rc = fail(rd, e, "bad base64 in PEM block");
				goto out;
			}
			acc = acc << 6 | v;
			if (++ndig == 4) {
				out[o++] = (unsigned char)(acc >> 16);
				out[o++] = (unsigned char)(acc >> 8);
				out[o++] = (unsigned char)acc;
				acc = 0;
				ndig = 0;
			}
		}
		pad = (int)(rd->line.len - k);
		buf_add(der, out, o);
		if (der->len > REC_MAX_PEM + (size_t)pad) {
			rc = fail(rd, e, "PEM block too large");
			goto out;
		}
	}
	/* whole quads only; the padding ends the last one */
	if (ndig != 0 || (size_t)pad > der->len || (pad > 0 && der->len < 3)) {
		rc = fail(rd, e, "bad base64 in PEM block");
		goto out;
	}
	der->len -= (size_t)pad;
	if ((rc = rec_add_pem(r, label, der->p, der->len, e)) != 0)
		err_prefix(e, "%s:%lu", rd->source, rd->lineno);
out:
	return rc;
}

static int
read_header(struct rec_reader *rd, struct rec *r, struct err *e)
{
	char *line = rd->line.p, *colon = strchr(line, ':');
	const char *in;
	int rc;

	if (colon == NULL || colon[1] != ' ' || colon == line)
		return fail(rd, e, "expected 'Name: value'");
	*colon = '\0';
	/* never echo control characters from hostile input */
	if (name_span(line) != (size_t)(colon - line))
		return fail(rd, e, "malformed header name");
	if ((in = intern(line)) == NULL) {
		struct buf m = {0};
		buf_printf(&m, "header '%.64s' is not allowed", line);
		rc = fail(rd, e, m.p);
		buf_free(&m);
		return rc;
	}
	if (r->nh == 0) {
		if (in != ID)
			return fail(rd, e, "the first header must be Id");
		if ((rc = value_ok(ID, colon + 2, e)) != 0)
			return err_prefix(e, "%s:%lu", rd->source, rd->lineno);
		push(r, ID, colon + 2);
		return 0;
	}
	if (in == ID)
		rc = err_set(e, EX_DATAERR, "header 'Id' is set once, first");
	else
		rc = add(r, in, colon + 2, e);
	if (rc != 0)
		err_prefix(e, "%s:%lu", rd->source, rd->lineno);
	return rc;
}

int
rec_read(struct rec_reader *rd, struct rec **out, struct err *e)
{
	struct rec *r = NULL;
	const char *why = NULL;
	char label[64];
	size_t n;
	int got, rc;

	*out = NULL;
	if (!rd->have_magic) {
		do {
			if ((got = next_line(rd, &why)) == 0)
				return 0;
		} while (got > 0 && rd->line.len == 0);
		if (got < 0 || strcmp(rd->line.p, MAGIC) != 0) {
			rc = fail(rd, e, got < 0 ? why : "expected '" MAGIC "'");
			goto bad;
		}
	}
	rd->have_magic = 0;
	r = rec_empty();
	for (;;) {		/* headers, up to a blank line */
		if ((got = next_line(rd, &why)) <= 0) {
			rc = fail(rd, e, got == 0 ? "truncated record" : why);
			goto bad;
		}
		if (rd->line.len == 0)
			break;
		if ((rc = cut_off(rd, e)) != 0 ||
		    (rc = read_header(rd, r, e)) != 0)
			goto bad;
	}
	if (r->nh == 0) {
		rc = fail(rd, e, "record without an Id");
		goto bad;
	}
	for (;;) {		/* PEM blocks, up to the end line */
		if ((got = next_line(rd, &why)) <= 0) {
			rc = fail(rd, e, got == 0 ? "truncated record" : why);
			goto bad;
		}
		if (rd->line.len == 0)
			continue;
		if ((rc = cut_off(rd, e)) != 0)
			goto bad;
		if (strncmp(rd->line.p, END, sizeof END - 1) == 0) {
			if (strcmp(rd->line.p + sizeof END - 1, rec_id(r)) != 0) {
				rc = fail(rd, e, "END-RECORD does not name this "
				    "record's Id");
				goto bad;
			}
			break;
		}
		n = rd->line.len;
		if (n > 16 && n - 16 < sizeof label &&
		    strncmp(rd->line.p, "-----BEGIN ", 11) == 0 &&
		    strcmp(rd->line.p + n - 5, "-----") == 0) {
			memcpy(label, rd->line.p + 11, n - 16);
			label[n - 16] = '\0';
			if (label_of(label) == NULL) {
				rc = fail(rd, e, "PEM label not allowed");
				goto bad;
			}
			if ((rc = read_pem(rd, r, label, e)) != 0)
				goto bad;
			continue;
		}
		rc = fail(rd, e, "expected a PEM block or END-RECORD");
		goto bad;
	}
	*out = r;
	return 1;
bad:
	rec_free(r);
	if (!rd->have_magic)
		resync(rd);
	return rc;
}

int
rec_parse(const void *data, size_t len, struct rec **out, struct err *e)
{
	struct rec_reader *rd = NULL;
	struct rec *extra = NULL;
	FILE *f;
	int rc;

	*out = NULL;
	if (len == 0)
		return err_set(e, EX_DATAERR, "record: empty input");
	if ((f = fmemopen((void *)data, len, "r")) == NULL)
		return err_set(e, EX_OSERR, "record: fmemopen failed");
	rd = rec_reader_new(f, "record");
	rc = rec_read(rd, out, e);
	if (rc == 0)
		rc = err_set(e, EX_DATAERR, "record: no record in input");
	else if (rc == 1) {
		rc = rec_read(rd, &extra, e);
		if (rc != 0) {
			rec_free(extra);
			rec_free(*out);
			*out = NULL;
			if (rc == 1)
				rc = err_set(e, EX_DATAERR, "record: more than one "
				    "record in input");
		}
	}
	rec_reader_free(rd);
	fclose(f);
	return rc;
}
