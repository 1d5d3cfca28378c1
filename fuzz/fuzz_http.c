/*
 * fuzz_http - libFuzzer target for the HTTP front-end skeleton: the
 * bytes are one connection's input to http_serve (through a memory
 * file, so no read ever waits), with an echo route and a static-file
 * route over a scratch directory; then the unescape and date helpers
 * on the same bytes. Whatever comes in, the output must be nothing or
 * answers that start with a status line.
 */
#define _GNU_SOURCE		/* memfd_create */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static int
echo(const struct http_req *r, struct http_resp *rs, void *arg)
{
	const char *h = http_header(r, "X-Test");

	buf_printf(&rs->body, "%s %s %s %s %s\n", r->method, r->path,
	    r->rest, r->query ? r->query : "-", h ? h : "-");
	buf_add(&rs->body, r->body, r->body_len);
	if (h != NULL)
		http_resp_header(rs, "X-Echo", "%s", h);
	return 200;
}

static struct http_files files = { NULL, 60 };
static const struct http_route routes[] = {
	{ "/echo", HTTP_GET | HTTP_POST, 128, echo, NULL },
	{ "/ca/", HTTP_GET, 0, http_files, &files },
};
static int in_fd = -1, out_fd = -1;
static FILE *devnull;

static void
setup(void)
{
	static char dir[] = "/tmp/fuzz_http.XXXXXX";
	struct buf p = {0};
	FILE *f;

	if (mkdtemp(dir) == NULL)
		abort();
	buf_printf(&p, "%s/a.crt", dir);
	if ((f = fopen(p.p, "w")) == NULL)
		abort();
	fputs("certificate\n", f);
	fclose(f);
	buf_free(&p);
	files.dir = dir;
	in_fd = memfd_create("in", 0);
	out_fd = memfd_create("out", 0);
	devnull = fopen("/dev/null", "w");
	if (in_fd < 0 || out_fd < 0 || devnull == NULL)
		abort();
}

static void
serve(const uint8_t *data, size_t len)
{
	struct http_opts o = { .name = "fuzz", .timeout_ms = 1000,
	    .max_requests = 50, .log = devnull };
	struct err e = {0};
	char head[9];
	ssize_t n;

	if (ftruncate(in_fd, 0) != 0 || ftruncate(out_fd, 0) != 0 ||
	    pwrite(in_fd, data, len, 0) != (ssize_t)len ||
	    lseek(in_fd, 0, SEEK_SET) != 0 || lseek(out_fd, 0, SEEK_SET) != 0)
		abort();
	if (http_serve(in_fd, out_fd, routes, 2, &o, &e) != 0)
		__builtin_trap();	/* no TLS: nothing can fail to start */
	n = pread(out_fd, head, sizeof head, 0);
	if (n != 0 && (n != (ssize_t)sizeof head ||
	    memcmp(head, "HTTP/1.1 ", 9) != 0))
		__builtin_trap();	/* every answer has a status line */
	err_free(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct buf b = {0}, s = {0};
	long long t, t2;

	if (in_fd < 0)
		setup();
	serve(data, len);

	http_unescape((const char *)data, len, len > 0 && data[0] & 1, &b);
	if (b.len > len)
		__builtin_trap();	/* decoding never grows */
	buf_add(&s, data, len < 64 ? len : 64);
	if (http_parse_date(buf_str(&s), &t) == 0) {
		buf_reset(&b);
		http_date(t, &b);
		if (http_parse_date(b.p, &t2) != 0 || t2 != t)
			__builtin_trap();	/* dates round-trip */
	}
	buf_free(&b);
	buf_free(&s);
	return 0;
}
