/*
 * t_http - the HTTP front-end skeleton: requests fed to http_serve
 * through a memory file (pipelined, malformed, oversize) and a
 * socketpair (deadlines); the unescape and date helpers.
 */
#define _GNU_SOURCE		/* memfd_create */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "http.h"
#include "tap.h"

static int
echo(const struct http_req *r, struct http_resp *rs, void *arg)
{
	const char *x = http_header(r, "x-test");

	buf_printf(&rs->body, "%s %s rest=%s q=%s ct=%s x=%s body=", r->method,
	    r->path, r->rest, r->query ? r->query : "-",
	    r->content_type ? r->content_type : "-", x ? x : "-");
	buf_add(&rs->body, r->body, r->body_len);
	rs->content_type = "text/plain";
	return 200;
}

static int
broken(const struct http_req *r, struct http_resp *rs, void *arg)
{
	buf_adds(&rs->body, "secret internals");
	return 42;
}

static int
smuggle(const struct http_req *r, struct http_resp *rs, void *arg)
{
	http_resp_header(rs, "X-Evil", "a\r\nSet-Cookie: b");
	http_resp_header(rs, "X-Good", "%d", 7);
	return 204;
}

static const struct http_route routes[] = {
	{ "/echo", HTTP_GET | HTTP_POST, 0, echo, NULL },
	{ "/get", HTTP_GET, 0, echo, NULL },
	{ "/small", HTTP_POST, 10, echo, NULL },
	{ "/broken", HTTP_GET, 0, broken, NULL },
	{ "/smuggle", HTTP_GET, 0, smuggle, NULL },
	{ "/dir/", HTTP_GET, 0, echo, NULL },
};

static int
memfile(const void *p, size_t n)
{
	int fd = memfd_create("t_http", 0);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n) ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

/* Serve in (len bytes) with max_requests maxreq; out gets the answers. */
static void
serve(const char *in, size_t len, int maxreq, struct buf *out)
{
	struct http_opts o = { .name = "t_http", .timeout_ms = 2000,
	    .max_requests = maxreq };
	struct err e = {0};
	char chunk[4096];
	ssize_t n;
	int fi = memfile(in, len), fo = memfile("", 0);

	o.log = fopen("/dev/null", "w");
	if (http_serve(fi, fo, routes, sizeof routes / sizeof routes[0], &o,
	    &e) != 0)
		printf("# http_serve: %s\n", err_str(&e));
	fclose(o.log);
	lseek(fo, 0, SEEK_SET);
	buf_reset(out);
	while ((n = read(fo, chunk, sizeof chunk)) > 0)
		buf_add(out, chunk, (size_t)n);
	close(fi);
	close(fo);
	err_free(&e);
}

/* The status codes of the answers in out: "200,404" (bodies skipped
 * by their Content-Length). */
static void
codes(const struct buf *out, struct buf *c)
{
	const char *p = buf_str(out), *end, *cl;
	size_t len;

	buf_reset(c);
	while (strncmp(p, "HTTP/1.1 ", 9) == 0 &&
	    (end = strstr(p, "\r\n\r\n")) != NULL) {
		buf_printf(c, "%s%.3s", c->len ? "," : "", p + 9);
		cl = strstr(p, "\r\nContent-Length: ");
		len = cl && cl < end ? strtoul(cl + 18, NULL, 10) : 0;
		p = end + 4 + len;
		if (p > out->p + out->len)
			break;
	}
	if (*p != '\0')
		buf_adds(c, ",junk");
}

#define H "Host: x\r\n"

static void
test_parse(void)
{
	static const struct {
		const char *in;
		const char *want;
		int maxreq;
	} t[] = {
		{ "GET /echo HTTP/1.1\r\n" H "\r\n", "200", 0 },
		{ "GET /echo HTTP/1.1\r\n" H "\r\nGET /echo HTTP/1.1\r\n" H
		  "\r\n", "200,200", 0 },
		{ "\r\n\r\nGET /echo HTTP/1.1\r\n" H "\r\n", "200", 0 },
		{ "GET /echo HTTP/1.1\nHost: x\n\n", "200", 0 },
		{ "GET /echo HTTP/1.1\r\nHost: x\ry\r\n\r\n", "400", 0 },
		{ "GET /echo HTTP/1.1\r\n" H H "\r\n", "400", 0 },
		{ "GET /echo HTTP/1.1\r\n\r\n", "400", 0 },
		{ "GET /echo HTTP/1.0\r\n\r\n", "200", 0 },
		{ "GET  /echo HTTP/1.1\r\n" H "\r\n", "400", 0 },
		{ "GET /echo HTTP/1.1 x\r\n" H "\r\n", "400", 0 },
		{ "GET echo HTTP/1.1\r\n" H "\r\n", "400", 0 },
		{ "GET /echo\r\n" H "\r\n", "400", 0 },
		{ "GET /echo HTTP/1.10\r\n" H "\r\n", "400", 0 },
		{ "GET /echo HTTP/3.0\r\n" H "\r\n", "505", 0 },
		{ "G(T /echo HTTP/1.1\r\n" H "\r\n", "400", 0 },
		{ "BREW /echo HTTP/1.1\r\n" H "\r\n", "501", 0 },
		{ "GET /e\177ho HTTP/1.1\r\n" H "\r\n", "400", 0 },
		{ "GET http://x/echo?a HTTP/1.1\r\n" H "\r\n", "200", 0 },
		{ "GET http://x HTTP/1.1\r\n" H "\r\n", "400", 0 },
		{ "GET /echo HTTP/1.1\r\n" H "Bad Name: v\r\n\r\n", "400", 0 },
		{ "GET /echo HTTP/1.1\r\n" H "Name : v\r\n\r\n", "400", 0 },
		{ "GET /echo HTTP/1.1\r\n" H "NoColon\r\n\r\n", "400", 0 },
		{ "GET /echo HTTP/1.1\r\n" H "X: a\r\n  folded\r\n\r\n", "400",
		  0 },
		{ "GET /echo HTTP/1.1\r\n" H "X: a\001b\r\n\r\n", "400", 0 },
		{ "GET /echo HTTP/1.1\r\n" H ": v\r\n\r\n", "400", 0 },
		{ "POST /echo HTTP/1.1\r\n" H "\r\n", "411", 0 },
		{ "POST /echo HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n", "400",
		  0 },
		{ "POST /echo HTTP/1.1\r\n" H "Content-Length: 1,1\r\n\r\nx",
		  "400", 0 },
		{ "POST /echo HTTP/1.1\r\n" H "Content-Length: 0x1\r\n\r\nx",
		  "400", 0 },
		{ "POST /echo HTTP/1.1\r\n" H "Content-Length: "
		  "99999999999999999999\r\n\r\n", "400", 0 },
		{ "POST /echo HTTP/1.1\r\n" H "Content-Length: 1\r\n"
		  "Content-Length: 1\r\n\r\nx", "200", 0 },
		{ "POST /echo HTTP/1.1\r\n" H "Content-Length: 65537\r\n\r\n",
		  "413", 0 },
		{ "POST /small HTTP/1.1\r\n" H "Content-Length: 11\r\n\r\n"
		  "01234567890", "413", 0 },
		{ "POST /small HTTP/1.1\r\n" H "Content-Length: 10\r\n\r\n"
		  "0123456789GET /echo HTTP/1.1\r\n" H "\r\n", "200,200", 0 },
		{ "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
		  "1\r\nx\r\n0\r\n\r\nGET /echo HTTP/1.1\r\n" H "\r\n", "501", 0 },
		{ "POST /get HTTP/1.1\r\n" H "Content-Length: 1\r\n\r\nx"
		  "GET /get HTTP/1.1\r\n" H "\r\n", "405,200", 0 },
		{ "DELETE /echo HTTP/1.1\r\n" H "\r\n", "405", 0 },
		{ "GET /nope HTTP/1.1\r\n" H "\r\nGET /echo HTTP/1.1\r\n" H
		  "\r\n", "404,200", 0 },
		{ "GET /echoes HTTP/1.1\r\n" H "\r\n", "404", 0 },
		{ "GET /dir HTTP/1.1\r\n" H "\r\n", "404", 0 },
		{ "GET /echo HTTP/1.1\r\n" H "Connection: close\r\n\r\n"
		  "GET /echo HTTP/1.1\r\n" H "\r\n", "200", 0 },
		{ "GET /echo HTTP/1.1\r\n" H "Connection: x, Close\r\n\r\n"
		  "GET /echo HTTP/1.1\r\n" H "\r\n", "200", 0 },
		{ "GET /echo HTTP/1.0\r\n\r\nGET /echo HTTP/1.0\r\n\r\n", "200",
		  0 },
		{ "GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
		  "GET /echo HTTP/1.0\r\n\r\n", "200,200", 0 },
		{ "GET /broken HTTP/1.1\r\n" H "\r\n", "500", 0 },
		{ "GET /echo HTTP/1.1\r\n" H "\r\nGET /echo HTTP/1.1\r\n" H
		  "\r\nGET /echo HTTP/1.1\r\n" H "\r\n", "200,200", 2 },
		{ "GET /echo HTTP/1.1\r\n" H, "", 0 },
		{ "POST /echo HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nab", "",
		  0 },
		{ "", "", 0 },
		{ "\r\n\r\n", "", 0 },
	};
	struct buf out = {0}, c = {0};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		serve(t[i].in, strlen(t[i].in), t[i].maxreq, &out);
		codes(&out, &c);
		is_str(buf_str(&c), t[i].want, "request %zu: %.*s", i,
		    (int)strcspn(t[i].in, "\r\n"), t[i].in);
	}
	buf_free(&out);
	buf_free(&c);
}

/* n bytes of ch */
static void
fill(struct buf *b, char ch, size_t n)
{
	while (n-- > 0)
		buf_addc(b, ch);
}

static void
test_caps(void)
{
	struct buf in = {0}, out = {0}, c = {0};
	int i;

	buf_adds(&in, "GET /echo/");
	fill(&in, 'a', 8200);
	buf_adds(&in, " HTTP/1.1\r\n" H "\r\n");
	serve(in.p, in.len, 0, &out);
	codes(&out, &c);
	is_str(buf_str(&c), "414", "a target over 8192 bytes");

	buf_reset(&in);
	fill(&in, 'a', 9000);
	serve(in.p, in.len, 0, &out);
	codes(&out, &c);
	is_str(buf_str(&c), "414", "9000 bytes without a line end");

	buf_reset(&in);
	buf_adds(&in, "GET /echo HTTP/1.1\r\n" H "X-Big: ");
	fill(&in, 'b', HTTP_MAX_HEADER);
	buf_adds(&in, "\r\n\r\n");
	serve(in.p, in.len, 0, &out);
	codes(&out, &c);
	is_str(buf_str(&c), "431", "a head over HTTP_MAX_HEADER");

	buf_reset(&in);
	buf_adds(&in, "GET /echo HTTP/1.1\r\n" H);
	for (i = 0; i < 99; i++)
		buf_printf(&in, "X-%d: v\r\n", i);
	buf_adds(&in, "\r\n");
	serve(in.p, in.len, 0, &out);
	codes(&out, &c);
	is_str(buf_str(&c), "200", "100 header fields");
	buf_reset(&in);
	buf_adds(&in, "GET /echo HTTP/1.1\r\n" H);
	for (i = 0; i < 100; i++)
		buf_printf(&in, "X-%d: v\r\n", i);
	buf_adds(&in, "\r\n");
	serve(in.p, in.len, 0, &out);
	codes(&out, &c);
	is_str(buf_str(&c), "431", "101 header fields");

	buf_reset(&in);
	buf_adds(&in, "GET /echo HTTP/1.1\r\n" H "X: a");
	buf_addc(&in, '\0');
	buf_adds(&in, "b\r\n\r\n");
	serve(in.p, in.len, 0, &out);
	codes(&out, &c);
	is_str(buf_str(&c), "400", "a NUL in the head");
	buf_free(&in);
	buf_free(&out);
	buf_free(&c);
}

/* The text after the head of the only answer in out. */
static const char *
body_of(const struct buf *out)
{
	const char *p = strstr(buf_str(out), "\r\n\r\n");

	return p ? p + 4 : "";
}

static void
test_answers(void)
{
	struct buf out = {0};
	const char *s;

	s = "POST /echo/a%20b?x=1 HTTP/1.1\r\n" H "X-Test:  yes \r\n"
	    "Content-Type: application/ocsp-request; q=1\r\n"
	    "Content-Length: 3\r\n\r\nabc";
	serve(s, strlen(s), 0, &out);
	is_str(body_of(&out), "POST /echo/a%20b rest=/a%20b q=x=1 "
	    "ct=application/ocsp-request x=yes body=abc", "what a handler sees");
	ok(strstr(out.p, "\r\nContent-Length: 77\r\n") != NULL,
	    "Content-Length of the body");
	ok(strstr(out.p, "\r\nDate: ") != NULL, "a Date");
	ok(strstr(out.p, "\r\nContent-Type: text/plain\r\n") != NULL,
	    "the handler's Content-Type");

	s = "HEAD /echo HTTP/1.1\r\n" H "Connection: close\r\n\r\n";
	serve(s, strlen(s), 0, &out);
	is_str(body_of(&out), "", "HEAD: no body");
	ok(strstr(out.p, "\r\nContent-Length: 34\r\n") != NULL,
	    "HEAD: the GET's Content-Length (handler saw GET)");
	ok(strstr(out.p, "\r\nConnection: close\r\n") != NULL,
	    "Connection: close answered");

	s = "PUT /get HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n";
	serve(s, strlen(s), 0, &out);
	ok(strstr(out.p, "\r\nAllow: GET, HEAD\r\n") != NULL, "405 Allow");
	s = "PUT /echo HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n";
	serve(s, strlen(s), 0, &out);
	ok(strstr(out.p, "\r\nAllow: GET, HEAD, POST\r\n") != NULL,
	    "405 Allow with POST");

	s = "GET /broken HTTP/1.1\r\n" H "\r\n";
	serve(s, strlen(s), 0, &out);
	ok(strstr(out.p, "secret") == NULL, "a broken handler's body is "
	    "not sent");

	s = "GET /smuggle HTTP/1.1\r\n" H "\r\n";
	serve(s, strlen(s), 0, &out);
	ok(strstr(out.p, "Set-Cookie") == NULL, "a header value with CR LF "
	    "is dropped");
	ok(strstr(out.p, "\r\nX-Good: 7\r\n") != NULL, "others are kept");
	ok(strstr(out.p, "Content-Length") == NULL, "204: no Content-Length");

	s = "GET /echo HTTP/1.1\r\n" H "\r\nGET /echo HTTP/1.1\r\n" H "\r\n";
	serve(s, strlen(s), 1, &out);
	ok(strstr(out.p, "\r\nConnection: close\r\n") != NULL,
	    "the last of max_requests says close");
	buf_free(&out);
}

/* Partial input on a socketpair that stays open: the deadline ends it. */
static void
test_deadline(void)
{
	static const char part[] = "GET /echo HTTP/1.1\r\nHost: x\r\nX-a: ";
	struct http_opts o = { .name = "t_http", .timeout_ms = 300 };
	struct err e = {0};
	struct timespec a, b;
	char got[256];
	ssize_t n;
	int sv[2];
	long ms;

	o.log = fopen("/dev/null", "w");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 ||
	    write(sv[1], part, sizeof part - 1) != (ssize_t)sizeof part - 1)
		abort();
	clock_gettime(CLOCK_MONOTONIC, &a);
	is_int(http_serve(sv[0], sv[0], routes, 1, &o, &e), 0,
	    "a stalled request ends the connection");
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ok(ms >= 250 && ms < 1500, "after the deadline (%ld ms)", ms);
	n = read(sv[1], got, sizeof got - 1);
	got[n > 0 ? n : 0] = '\0';
	ok(strncmp(got, "HTTP/1.1 408 ", 13) == 0, "answered 408");
	close(sv[0]);
	close(sv[1]);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	clock_gettime(CLOCK_MONOTONIC, &a);
	http_serve(sv[0], sv[0], routes, 1, &o, &e);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ok(ms >= 250 && ms < 1500, "an idle connection ends after the "
	    "timeout (%ld ms)", ms);
	close(sv[0]);
	n = read(sv[1], got, sizeof got);
	is_int(n, 0, "idle: closed without an answer");
	close(sv[1]);
	fclose(o.log);
	err_free(&e);
}

static void
test_unescape(void)
{
	static const struct {
		const char *in;
		int form;
		const char *want;
	} t[] = {
		{ "%41%4a%4B", 0, "AJK" },
		{ "a+b", 0, "a+b" },
		{ "a+b", 1, "a b" },
		{ "%", 0, "%" },
		{ "%4", 0, "%4" },
		{ "%zz", 0, "%zz" },
		{ "%2", 0, "%2" },
		{ "MEkw%2FRzBF%3D", 0, "MEkw/RzBF=" },
		{ "", 0, "" },
	};
	struct buf b = {0};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		buf_reset(&b);
		http_unescape(t[i].in, strlen(t[i].in), t[i].form, &b);
		is_str(buf_str(&b), t[i].want, "unescape '%s'", t[i].in);
	}
	buf_reset(&b);
	http_unescape("a%00b", 5, 0, &b);
	is_int((long long)b.len, 3, "%%00 decodes to one NUL byte");
	buf_reset(&b);
	http_unescape("%41%42", 3, 0, &b);
	is_str(buf_str(&b), "A", "only n bytes are read");
	buf_free(&b);
}

static void
test_date(void)
{
	static const char *const bad[] = { "", "Tue, 01 Dec 2026 16:00:00",
	    "Tue, 01 Dec 2026 16:00:00 UTC", "Tue, 32 Dec 2026 16:00:00 GMT",
	    "Tue, 01 Foo 2026 16:00:00 GMT", "Tue, 01 Dec 2026 24:00:00 GMT",
	    "Tuesday, 01-Dec-26 16:00:00 GMT", "Tue Dec  1 16:00:00 2026",
	    "Tue, 0x Dec 2026 16:00:00 GMT" };
	struct buf b = {0};
	long long t = 0;
	size_t i;

	http_date(0, &b);
	is_str(buf_str(&b), "Thu, 01 Jan 1970 00:00:00 GMT", "date of 0");
	buf_reset(&b);
	http_date(1796140800, &b);
	is_str(buf_str(&b), "Tue, 01 Dec 2026 16:00:00 GMT", "a date");
	is_int(http_parse_date(b.p, &t), 0, "parses its own output");
	is_int(t, 1796140800, "to the same time");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(http_parse_date(bad[i], &t), -1, "refuses '%s'", bad[i]);
	buf_free(&b);
}

int
main(void)
{
	test_parse();
	test_caps();
	test_answers();
	test_deadline();
	test_unescape();
	test_date();
	return tap_done();
}
