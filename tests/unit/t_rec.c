/* t_rec - the job record: round trips, every rejection rule, streams. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "rec.h"
#include "tap.h"

#define ID   "0b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e11"
#define ID2  "1b6f8a52-3c1e-4f57-9a0e-2f0a5c1d7e11"
#define HEAD "CERTPIPE-RECORD 1\nId: " ID "\n"
#define TAIL "END-RECORD " ID "\n"
#define PEM  "-----BEGIN CERTIFICATE REQUEST-----\naGVsbG8=\n" \
	     "-----END CERTIFICATE REQUEST-----\n"
#define GOOD HEAD "Type: csr\nSAN: DNS:a.example\n\n" PEM TAIL

static char *
long_value(size_t n)
{
	struct buf b = {0};

	buf_adds(&b, "Type: ");
	while (n-- > 0)
		buf_addc(&b, 'a');
	buf_addc(&b, '\n');
	return buf_steal(&b);
}

static char *
many_headers(size_t n)
{
	struct buf b = {0};

	while (n-- > 0)
		buf_adds(&b, "SAN: DNS:a.example\n");
	return buf_steal(&b);
}

/* The base64 lines of n zero bytes, 64 columns. */
static char *
zeros_b64(size_t n)
{
	struct buf b = {0};
	size_t i;

	for (; n >= 48; n -= 48)
		buf_adds(&b, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
	for (i = 0; i < n / 3; i++)
		buf_adds(&b, "AAAA");
	buf_adds(&b, n % 3 == 1 ? "AA==" : n % 3 == 2 ? "AAA=" : "");
	if (n > 0)
		buf_addc(&b, '\n');
	return buf_steal(&b);
}

static void
test_bad(void)
{
	static const struct {
		const char *what, *in;
		size_t len;		/* 0: strlen(in) */
		const char *want;	/* in the message, after "record:N: " */
		unsigned long line;
	} t[] = {
		{ "CR", HEAD "Type: csr\r\n\n" TAIL, 0, "CR in record", 3 },
		{ "CR at the end", GOOD "\r\n", 0, "CR in record", 10 },
		{ "NUL", HEAD "Type: c\0sr\n\n" TAIL,
		  sizeof(HEAD "Type: c\0sr\n\n" TAIL) - 1, "NUL byte", 3 },
		{ "unknown header", HEAD "Foo: bar\n\n" TAIL, 0,
		  "header 'Foo' is not allowed", 3 },
		{ "names are case-sensitive", HEAD "type: csr\n\n" TAIL, 0,
		  "header 'type' is not allowed", 3 },
		{ "bad name", HEAD "Ty pe: csr\n\n" TAIL, 0,
		  "malformed header name", 3 },
		{ "control character in name", HEAD "T\033[0m: x\n\n" TAIL, 0,
		  "malformed header name", 3 },
		{ "no colon", HEAD "Type csr\n\n" TAIL, 0,
		  "expected 'Name: value'", 3 },
		{ "no space after colon", HEAD "Type:csr\n\n" TAIL, 0,
		  "expected 'Name: value'", 3 },
		{ "empty name", HEAD ": csr\n\n" TAIL, 0,
		  "expected 'Name: value'", 3 },
		{ "empty value", HEAD "Type: \n\n" TAIL, 0, "header 'Type': empty value", 3 },
		{ "trailing space", HEAD "Type: csr \n\n" TAIL, 0,
		  "header 'Type': leading or trailing blank", 3 },
		{ "trailing tab", HEAD "Type: csr\t\n\n" TAIL, 0,
		  "header 'Type': leading or trailing blank", 3 },
		{ "two spaces", HEAD "Type:  csr\n\n" TAIL, 0,
		  "header 'Type': leading or trailing blank", 3 },
		{ "missing Id", "CERTPIPE-RECORD 1\nType: csr\n\n" TAIL, 0,
		  "the first header must be Id", 2 },
		{ "no headers", "CERTPIPE-RECORD 1\n\n" TAIL, 0,
		  "record without an Id", 2 },
		{ "Id not first", "CERTPIPE-RECORD 1\nType: csr\nId: " ID
		  "\n\n" TAIL, 0, "the first header must be Id", 2 },
		{ "second Id", HEAD "Id: " ID "\n\n" TAIL, 0, "header 'Id' is set once, first", 3 },
		{ "upper-case Id", "CERTPIPE-RECORD 1\nId: "
		  "0B6F8A52-3C1E-4F57-9A0E-2F0A5C1D7E11\n\nEND-RECORD "
		  "0B6F8A52-3C1E-4F57-9A0E-2F0A5C1D7E11\n", 0,
		  "header 'Id': not a lower-case UUID", 2 },
		{ "short Id", "CERTPIPE-RECORD 1\nId: 0b6f8a52\n\n"
		  "END-RECORD 0b6f8a52\n", 0, "header 'Id': not a lower-case UUID", 2 },
		{ "END-RECORD mismatch", HEAD "\nEND-RECORD " ID2 "\n", 0,
		  "END-RECORD does not name this record's Id", 4 },
		{ "END-RECORD without id", HEAD "\nEND-RECORD\n", 0,
		  "expected a PEM block or END-RECORD", 4 },
		{ "truncated in headers", HEAD "Type: csr\n", 0,
		  "truncated record", 3 },
		{ "truncated in PEM", HEAD "\n-----BEGIN CERTIFICATE-----\n"
		  "aGVsbG8=\n", 0, "truncated record", 5 },
		{ "truncated before END-RECORD", HEAD "\n" PEM, 0,
		  "truncated record", 6 },
		{ "no newline after END-RECORD", GOOD,
		  sizeof(GOOD) - 2, "truncated record", 9 },
		{ "spliced: a record starts inside one", HEAD "Type: csr\n"
		  GOOD, 0, "truncated record (a new record starts", 4 },
		{ "unknown version", "CERTPIPE-RECORD 2\nId: " ID "\n\n"
		  TAIL, 0, "expected 'CERTPIPE-RECORD 1'", 1 },
		{ "not a record", "hello\n", 0,
		  "expected 'CERTPIPE-RECORD 1'", 1 },
		{ "stray line in body", HEAD "\nhello\n" TAIL, 0,
		  "expected a PEM block or END-RECORD", 4 },
		{ "bad base64", HEAD "\n-----BEGIN CERTIFICATE-----\n"
		  "aGVs!G8=\n-----END CERTIFICATE-----\n" TAIL, 0,
		  "bad base64", 5 },
		{ "base64 after padding", HEAD "\n-----BEGIN CERTIFICATE-----\n"
		  "QQ==\nQQ==\n-----END CERTIFICATE-----\n" TAIL, 0,
		  "bad base64", 6 },
		{ "padding inside a line", HEAD "\n-----BEGIN CERTIFICATE-----\n"
		  "QQ==QQ==\n-----END CERTIFICATE-----\n" TAIL, 0,
		  "bad base64", 5 },
		{ "base64 not a multiple of 4", HEAD "\n-----BEGIN CERTIFICATE"
		  "-----\naGVsbG8\n-----END CERTIFICATE-----\n" TAIL, 0,
		  "bad base64", 6 },
		{ "base64 line over 76", HEAD "\n-----BEGIN CERTIFICATE-----\n"
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		  "AAAAAAAAAAAAAAAAAAAA\n-----END CERTIFICATE-----\n" TAIL, 0,
		  "bad base64", 5 },
		{ "blank line in PEM", HEAD "\n-----BEGIN CERTIFICATE-----\n"
		  "aGVs\n\nbG8=\n-----END CERTIFICATE-----\n" TAIL, 0,
		  "bad base64", 6 },
		{ "END label differs", HEAD "\n-----BEGIN CERTIFICATE-----\n"
		  "aGVsbG8=\n-----END X509 CRL-----\n" TAIL, 0, "bad base64",
		  6 },
		{ "unknown PEM label", HEAD "\n-----BEGIN RSA PRIVATE KEY-----\n"
		  "aGVsbG8=\n-----END RSA PRIVATE KEY-----\n" TAIL, 0,
		  "PEM label not allowed", 4 },
		{ "empty PEM block", HEAD "\n-----BEGIN CERTIFICATE-----\n"
		  "-----END CERTIFICATE-----\n" TAIL, 0, "PEM 'CERTIFICATE': empty", 5 },
		{ "data after the record", GOOD "x\n", 0,
		  "expected 'CERTPIPE-RECORD 1'", 10 },
		{ "two records", GOOD GOOD, 0, "more than one record", 0 },
		{ "nothing", "", 0, "empty input", 0 },
		{ "only blank lines", "\n\n", 0, "no record", 0 },
	};
	struct rec *r;
	struct err e = {0};
	struct buf want = {0};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		r = NULL;
		is_int(rec_parse(t[i].in, t[i].len ? t[i].len : strlen(t[i].in),
		    &r, &e), EX_DATAERR, "bad: %s: rejected", t[i].what);
		ok(r == NULL, "bad: %s: no record", t[i].what);
		buf_reset(&want);
		if (t[i].line)
			buf_printf(&want, "record:%lu: %s", t[i].line,
			    t[i].want);
		else
			buf_adds(&want, t[i].want);
		if (!ok(strstr(err_str(&e), want.p) != NULL,
		    "bad: %s: message", t[i].what))
			printf("#   got '%s', want '%s'\n", err_str(&e), want.p);
		ok(strchr(err_str(&e), '\n') == NULL, "bad: %s: one line",
		    t[i].what);
		rec_free(r);
	}
	buf_free(&want);
	err_free(&e);
}

/* The rows that are too big to write out: at each cap and over it. */
static void
test_caps(void)
{
	static const struct {
		const char *what;
		int kind;	/* 0 value bytes, 1 headers, 2 PEM, 3 line */
		size_t n;
		int rc;
		const char *want;
	} t[] = {
		{ "value at the cap", 0, REC_MAX_VALUE, 0, NULL },
		{ "value over the cap", 0, REC_MAX_VALUE + 1, EX_DATAERR,
		  "record:3: header 'Type': value longer than 4096 bytes" },
		{ "headers at the cap", 1, REC_MAX_HEADERS - 1, 0, NULL },
		{ "too many headers", 1, REC_MAX_HEADERS, EX_DATAERR,
		  "record:514: more than 512 headers" },
		{ "PEM at the cap", 2, REC_MAX_PEM, 0, NULL },
		{ "PEM over the cap", 2, REC_MAX_PEM + 48, EX_DATAERR,
		  "PEM block too large" },
		{ "line over the cap", 3, REC_MAX_LINE + 1, EX_DATAERR,
		  "record:3: line too long" },
	};
	struct rec *r;
	struct err e = {0};
	struct buf in = {0};
	char *part = NULL;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		buf_reset(&in);
		if (t[i].kind == 0 || t[i].kind == 3) {
			/* "Type: " makes the line 6 bytes longer */
			part = long_value(t[i].kind == 0 ? t[i].n : t[i].n - 6);
			buf_printf(&in, HEAD "%s\n" TAIL, part);
		} else if (t[i].kind == 1) {
			part = many_headers(t[i].n);
			buf_printf(&in, HEAD "%s\n" TAIL, part);
		} else {
			part = zeros_b64(t[i].n);
			buf_printf(&in, HEAD "\n-----BEGIN CERTIFICATE-----\n"
			    "%s-----END CERTIFICATE-----\n" TAIL, part);
		}
		free(part);
		r = NULL;
		is_int(rec_parse(in.p, in.len, &r, &e), t[i].rc, "cap: %s",
		    t[i].what);
		if (t[i].want && !ok(strstr(err_str(&e), t[i].want) != NULL,
		    "cap: %s: message", t[i].what))
			printf("#   got '%s', want '%s'\n", err_str(&e),
			    t[i].want);
		if (t[i].rc == 0 && t[i].kind == 2) {
			const unsigned char *d;
			size_t len = 0;
			ok(r && rec_find_pem(r, "CERTIFICATE", &d, &len) &&
			    len == t[i].n, "cap: %s: all bytes kept", t[i].what);
		}
		rec_free(r);
	}
	buf_free(&in);
	err_free(&e);
}

/* Accepted, and written back in this canonical form. */
static void
test_canonical(void)
{
	static const struct {
		const char *what, *in, *want;
	} t[] = {
		{ "canonical stays", GOOD, GOOD },
		{ "blank lines around and between", "\n\n" HEAD "Type: csr\n\n"
		  "\n" PEM "\n" PEM "\n" TAIL "\n\n",
		  HEAD "Type: csr\n\n" PEM PEM TAIL },
		{ "short lines are rewrapped", HEAD "\n-----BEGIN X509 CRL-----\n"
		  "aGVs\nbG8g\nd29y\nbGQ=\n-----END X509 CRL-----\n" TAIL,
		  HEAD "\n-----BEGIN X509 CRL-----\naGVsbG8gd29ybGQ=\n"
		  "-----END X509 CRL-----\n" TAIL },
		/* 63 characters then 76: the decoder holds 63 and decodes
		 * 139 at once (a buffer sized for one line overflows) */
		{ "odd line lengths", HEAD "\n-----BEGIN PKCS7-----\n"
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
		  "AAAAA\n"
		  "-----END PKCS7-----\n" TAIL, NULL },
		{ "no PEM blocks", HEAD "Status: pending\n\n" TAIL,
		  HEAD "Status: pending\n\n" TAIL },
		{ "repeated headers keep their order", HEAD "SAN: DNS:b\n"
		  "CN: b\nSAN: DNS:a\n\n" TAIL, HEAD "SAN: DNS:b\nCN: b\n"
		  "SAN: DNS:a\n\n" TAIL },
		{ "any byte but NUL CR LF in a value", HEAD "O: \xc3\xa9t\xc3\xa9"
		  " \x01 ;\"'\\\n\n" TAIL, HEAD "O: \xc3\xa9t\xc3\xa9 \x01 ;\"'\\"
		  "\n\n" TAIL },
	};
	struct rec *r, *r2;
	struct err e = {0};
	struct buf a = {0}, b = {0};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		r = r2 = NULL;
		buf_reset(&a);
		buf_reset(&b);
		if (!is_int(rec_parse(t[i].in, strlen(t[i].in), &r, &e), 0,
		    "good: %s: accepted", t[i].what)) {
			printf("#   %s\n", err_str(&e));
			continue;
		}
		rec_write(r, &a);
		if (t[i].want)
			is_str(a.p, t[i].want, "good: %s: canonical output",
			    t[i].what);
		is_int(rec_parse(a.p, a.len, &r2, &e), 0,
		    "good: %s: output parses", t[i].what);
		if (r2)
			rec_write(r2, &b);
		is_str(b.p, a.p, "good: %s: output is stable", t[i].what);
		rec_free(r);
		rec_free(r2);
	}
	buf_free(&a);
	buf_free(&b);
	err_free(&e);
}

static void
test_api(void)
{
	static const char *const allowed[] = {
		"Id", "Type", "Realm", "Order", "Source", "Requested-By",
		"Template", "CA", "Profile", "CN", "O", "OU", "C", "ST", "L",
		"SAN", "Key-Alg", "Key-Bits", "Digest", "Days", "Not-Before",
		"Not-After", "Serial", "Fingerprint", "Status", "Stage",
		"Verdict", "Warning", "Error", "Error-Code", "Created",
		"Updated", "Attempt", "Retry-At", "Approval", "Approved-By",
		"Renewal-Of", "Rekey", "Revoke-Reason", "Target",
	};
	static const char *const refused[] = {
		"", "id", "ID", "Foo", "San", "X-Custom", "Id ", "SAN:",
	};
	static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	struct rec *r = rec_new(), *r2 = NULL;
	struct err e = {0};
	struct buf a = {0}, b = {0};
	const unsigned char *d;
	const char *n, *v, *l;
	size_t i, len;

	for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		ok(rec_name_ok(allowed[i]), "name '%s' allowed", allowed[i]);
	for (i = 0; i < sizeof refused / sizeof refused[0]; i++)
		ok(!rec_name_ok(refused[i]), "name '%s' refused", refused[i]);

	is_int((long long)strlen(rec_id(r)), REC_ID_LEN, "rec_new: id length");
	is_int(rec_add(r, "SAN", "DNS:a.example", &e), 0, "add SAN");
	is_int(rec_add(r, "CN", "a.example", &e), 0, "add CN");
	is_int(rec_add(r, "SAN", "DNS:b.example", &e), 0, "add second SAN");
	is_int(rec_add(r, "Id", ID, &e), EX_DATAERR, "add Id refused");
	is_int(rec_add(r, "Foo", "x", &e), EX_DATAERR, "add Foo refused");
	is_int(rec_add(r, "CN", "a\nb", &e), EX_DATAERR, "add LF refused");
	is_int(rec_add(r, "CN", "a\rb", &e), EX_DATAERR, "add CR refused");
	is_int((long long)rec_count(r, "SAN"), 2, "count SAN");
	is_str(rec_get(r, "SAN"), "DNS:a.example", "get first SAN");
	is_str(rec_get_n(r, "SAN", 1), "DNS:b.example", "get second SAN");
	is_str(rec_get_n(r, "SAN", 2), NULL, "no third SAN");
	is_str(rec_get(r, "Status"), NULL, "absent header");
	is_int(rec_set(r, "SAN", "DNS:c.example", &e), 0, "set SAN");
	is_int((long long)rec_count(r, "SAN"), 1, "set leaves one SAN");
	is_str(rec_get(r, "SAN"), "DNS:c.example", "set value");
	is_int(rec_set(r, "Id", ID, &e), EX_DATAERR, "set Id refused");
	rec_del(r, "CN");
	is_str(rec_get(r, "CN"), NULL, "del CN");
	rec_del(r, "Id");
	ok(strlen(rec_id(r)) == REC_ID_LEN, "del Id does nothing");
	is_int((long long)rec_nheaders(r), 2, "two headers left");
	rec_header(r, 0, &n, &v);
	is_str(n, "Id", "header 0 is Id");

	is_int(rec_add_pem(r, "CERTIFICATE", der, sizeof der, &e), 0,
	    "add PEM");
	is_int(rec_add_pem(r, "PRIVATE KEY", der, sizeof der, &e), EX_DATAERR,
	    "private keys are never carried");
	is_int(rec_add_pem(r, "X509 CRL", der, 0, &e), EX_DATAERR,
	    "empty PEM refused");
	is_int((long long)rec_npem(r), 1, "one PEM block");
	ok(rec_find_pem(r, "CERTIFICATE", &d, &len) == 1 && len == sizeof der &&
	    memcmp(d, der, len) == 0, "find PEM");
	ok(rec_find_pem(r, "X509 CRL", &d, &len) == 0, "no CRL");

	rec_write(r, &a);
	is_int(rec_parse(a.p, a.len, &r2, &e), 0, "round trip parses");
	if (r2) {
		is_str(rec_id(r2), rec_id(r), "round trip: Id");
		is_str(rec_get(r2, "SAN"), "DNS:c.example", "round trip: SAN");
		rec_pem(r2, 0, &l, &d, &len);
		ok(strcmp(l, "CERTIFICATE") == 0 && len == sizeof der &&
		    memcmp(d, der, len) == 0, "round trip: PEM");
		rec_write(r2, &b);
		is_str(b.p, a.p, "round trip: same bytes");
	}
	rec_free(r);
	rec_free(r2);
	{
		struct rec *x = rec_new(), *y = rec_new();
		ok(strcmp(rec_id(x), rec_id(y)) != 0, "ids are fresh");
		rec_free(x);
		rec_free(y);
	}
	rec_free(NULL);
	buf_free(&a);
	buf_free(&b);
	err_free(&e);
}

/* A stream: good, bad, good comes out as record, error, record. */
static void
test_stream(void)
{
	static const struct {
		const char *what, *bad, *want;
	} t[] = {
		{ "bad header", HEAD "Foo: x\n\n" TAIL,
		  "stdin:12: header 'Foo' is not allowed" },
		{ "truncated", HEAD "Type: csr\n",
		  "stdin:13: truncated record (a new record starts" },
		{ "truncated in PEM", HEAD "\n-----BEGIN CERTIFICATE-----\n",
		  "stdin:14: truncated record (a new record starts" },
		{ "END mismatch", HEAD "\nEND-RECORD " ID2 "\n",
		  "stdin:13: END-RECORD does not name" },
		{ "garbage", "junk\nmore junk\n", "stdin:10: expected" },
	};
	struct rec_reader *rd;
	struct rec *r;
	struct err e = {0};
	struct buf in = {0};
	FILE *f;
	size_t i;
	int rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		buf_reset(&in);
		buf_printf(&in, GOOD "%s" GOOD, t[i].bad);
		f = fmemopen(in.p, in.len, "r");
		rd = rec_reader_new(f, "stdin");
		r = NULL;
		is_int(rec_read(rd, &r, &e), 1, "stream %s: first record",
		    t[i].what);
		rec_free(r);
		r = NULL;
		is_int(rec_read(rd, &r, &e), EX_DATAERR, "stream %s: error",
		    t[i].what);
		if (!ok(strncmp(err_str(&e), t[i].want, strlen(t[i].want)) == 0,
		    "stream %s: message names the line", t[i].what))
			printf("#   got '%s', want '%s...'\n", err_str(&e),
			    t[i].want);
		rec_free(r);
		r = NULL;
		is_int(rec_read(rd, &r, &e), 1, "stream %s: third record",
		    t[i].what);
		rec_free(r);
		r = NULL;
		is_int(rc = rec_read(rd, &r, &e), 0, "stream %s: then the end",
		    t[i].what);
		rec_reader_free(rd);
		fclose(f);
	}
	/* found by fuzz_rec: a bad first line, then blank lines only */
	f = fmemopen("\0x\n\n\n", 5, "r");
	rd = rec_reader_new(f, "stdin");
	r = NULL;
	is_int(rec_read(rd, &r, &e), EX_DATAERR, "NUL line then blanks: error");
	is_str(err_str(&e), "stdin:1: NUL byte in record",
	    "NUL line then blanks: message");
	is_int(rec_read(rd, &r, &e), 0, "NUL line then blanks: then the end");
	rec_reader_free(rd);
	fclose(f);
	buf_free(&in);
	err_free(&e);
}

/* One UUID of version 7 and the RFC 9562 variant, in lower case? */
static int
v7(const char *id)
{
	size_t i;

	if (strlen(id) != 36)
		return 0;
	for (i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (id[i] != '-')
				return 0;
		} else if (strchr("0123456789abcdef", id[i]) == NULL)
			return 0;
	return id[14] == '7' && strchr("89ab", id[19]) != NULL;
}

/* The Unix time in ms of a version 7 id: its first 12 hex digits. */
static long long
v7_ms(const char *id)
{
	char h[13];

	memcpy(h, id, 8);
	memcpy(h + 8, id + 9, 4);
	h[12] = '\0';
	return strtoll(h, NULL, 16);
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* rec_newid: well formed, made now, in the order made, never twice
 * (more ids than one pool holds), and a forked child does not hand out
 * its parent's next ids. */
static void
test_newid(void)
{
	enum { N = 1000 };
	char (*ids)[37] = calloc(N + 2, sizeof *ids), child[37] = "";
	int p[2], st = 0, bad = 0, dup = 0, late = 0, order = 0;
	long long t0 = (long long)time(NULL) * 1000, t1;
	size_t i;
	pid_t pid;

	if (ids == NULL)
		abort();
	for (i = 0; i < N; i++) {
		rec_newid(ids[i]);
		bad += !v7(ids[i]);
		order += i > 0 && strcmp(ids[i - 1], ids[i]) >= 0;
	}
	t1 = ((long long)time(NULL) + 1) * 1000;
	for (i = 0; i < N; i++)
		late += v7_ms(ids[i]) < t0 || v7_ms(ids[i]) > t1;
	is_int(bad, 0, "rec_newid: %d ids, each a version 7 UUID", N);
	is_int(late, 0, "rec_newid: each id's time is now");
	is_int(order, 0, "rec_newid: ids sort in the order they were made");
	if (pipe(p) != 0)
		abort();
	if ((pid = fork()) == 0) {
		rec_newid(child);
		_exit(write(p[1], child, 37) == 37 ? 0 : 1);
	}
	close(p[1]);
	ok(pid > 0 && read(p[0], child, 37) == 37 &&
	    waitpid(pid, &st, 0) == pid && st == 0 && v7(child),
	    "rec_newid in a forked child: %s", child);
	close(p[0]);
	memcpy(ids[N], child, 37);
	rec_newid(ids[N + 1]);		/* the parent's next one */
	qsort(ids, N + 2, sizeof *ids, cmp_id);
	for (i = 1; i < N + 2; i++)
		dup += strcmp(ids[i - 1], ids[i]) == 0;
	is_int(dup, 0, "rec_newid: no id twice, the child's included");
	free(ids);
}

int
main(void)
{
	test_bad();
	test_caps();
	test_canonical();
	test_api();
	test_stream();
	test_newid();
	return tap_done();
}
