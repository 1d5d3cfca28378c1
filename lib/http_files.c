/*
 * http_files - static files from one directory for GET and HEAD
 * (http.h). What it serves is public (pub/): certificates and CRLs.
 * It must never leave its directory: the name is one path component
 * from a small alphabet, opened with O_NOFOLLOW and checked to be a
 * regular file on the descriptor itself (no race with a rename).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "diag.h"
#include "fs.h"
#include "http.h"

#define FILE_MAX	(256 * 1024 * 1024)	/* a CRL of ~5 million entries */

static const char *
type_of(const char *name)
{
	static const struct { const char *ext, *type; } t[] = {
		{ ".crt", "application/pkix-cert" },
		{ ".cer", "application/pkix-cert" },
		{ ".der", "application/pkix-cert" },
		{ ".crl", "application/pkix-crl" },
		{ ".pem", "application/x-pem-file" },
		{ ".p7c", "application/pkcs7-mime" },
		{ ".ocsp", "application/ocsp-response" },
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot && i < sizeof t / sizeof t[0]; i++)
		if (strcmp(dot, t[i].ext) == 0)
			return t[i].type;
	return "application/octet-stream";
}

/* One file name: [A-Za-z0-9._-]+, not starting with '.'. */
static int
good_name(const struct buf *n)
{
	return n->len > 0 && n->len < 256 && n->p[0] != '.' &&
	    strspn(n->p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n->len;
}

/* The validator: changes with the file's inode, size and mtime. */
static void
etag(const struct stat *st, struct buf *out)
{
	buf_printf(out, "\"%llx-%llx-%llx.%09ld\"", (unsigned long long)
	    st->st_ino, (unsigned long long)st->st_size,
	    (unsigned long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

/* If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2). */
static int
not_modified(const struct http_req *r, const struct stat *st,
    const char *tag)
{
	const char *inm = http_header(r, "If-None-Match");
	const char *ims = http_header(r, "If-Modified-Since");
	const char *s;
	size_t n = strlen(tag);
	long long t;

	if (inm != NULL) {
		if (strcmp(inm, "*") == 0)
			return 1;
		for (s = inm; (s = strstr(s, tag)) != NULL; s += n)
			if (s == inm || s[-1] == ' ' || s[-1] == ',' ||
			    s[-1] == '/')
				return 1;
		return 0;
	}
	return ims != NULL && http_parse_date(ims, &t) == 0 &&
	    (long long)st->st_mtim.tv_sec <= t;
}

static int
open_file(const struct http_files *f, const char *name, struct stat *st)
{
	struct buf path = {0};
	int fd;

	buf_printf(&path, "%s/%s", f->dir, name);
	fd = open(path.p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	buf_free(&path);
	if (fd >= 0 && (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int
http_files(const struct http_req *r, struct http_resp *rs, void *arg)
{
	const struct http_files *f = arg;
	struct buf name = {0}, tag = {0}, lm = {0};
	struct err e = {0};
	struct stat st;
	const char *rest = r->rest[0] == '/' ? r->rest + 1 : r->rest;
	int fd = -1, st_code;

	http_unescape(rest, strlen(rest), 0, &name);
	if (!good_name(&name) || strlen(buf_str(&name)) != name.len ||
	    (fd = open_file(f, name.p, &st)) < 0) {
		st_code = 404;
		goto out;
	}
	etag(&st, &tag);
	http_date((long long)st.st_mtim.tv_sec, &lm);
	http_resp_header(rs, "ETag", "%s", tag.p);
	http_resp_header(rs, "Last-Modified", "%s", lm.p);
	http_resp_header(rs, "Cache-Control", "public, max-age=%d, "
	    "no-transform", f->max_age);
	if (not_modified(r, &st, tag.p)) {
		st_code = 304;
		goto out;
	}
	if (st.st_size > FILE_MAX ||
	    fs_read_fd(fd, (size_t)st.st_size, &rs->body, &e) != 0) {
		diag("%s: %s", name.p, e.code ? err_str(&e) :
		    "larger than the front end serves");
		st_code = 500;
		goto out;
	}
	rs->content_type = type_of(name.p);
	st_code = 200;
out:
	if (st_code == 404 || st_code == 500) {
		buf_reset(&rs->headers);
		buf_reset(&rs->body);
		buf_printf(&rs->body, "%d %s\n", st_code, st_code == 404 ?
		    "Not Found" : "Internal Server Error");
		rs->content_type = "text/plain; charset=utf-8";
	}
	if (fd >= 0)
		close(fd);
	buf_free(&name);
	buf_free(&tag);
	buf_free(&lm);
	err_free(&e);
	return st_code;
}
