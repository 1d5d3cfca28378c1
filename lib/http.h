/*
 * http - the front-end skeleton: one HTTP/1.1 connection on two fds.
 *
 * Every network front end (ocsp, tsa, serve, later acme and scep) is a
 * short main that fills a route table and calls http_serve() on fds 0
 * and 1, the way inetd, tcpserver, a systemd socket with Accept=yes or
 * socat hand it one connection. http_serve owns the connection: it reads
 * requests (keep-alive, pipelining in order), enforces the caps and the
 * timeouts, answers what no handler should see (400 bad syntax, 411 no
 * Content-Length on a body, 413 too large, 414 URI too long, 501
 * Transfer-Encoding or an unknown method, 404 no route, 405 method not
 * allowed by the route (with Allow), 408 timeout, 417 an Expect other
 * than 100-continue, 431 head too large, 505 not HTTP/1.x), calls the
 * handler of the first route whose prefix matches the path, writes its
 * response, and logs one access line per request to o->log (stderr). With o->tls_cert set it first does a TLS
 * handshake on the same fds. o->timeout_ms bounds both the idle time
 * before a request and the time one request's head and body may take.
 * SIGPIPE is set to SIG_IGN for the process. certpipe-http(7) has the
 * details.
 *
 * A handler sees a parsed request and fills a response. It returns the
 * HTTP status (200, 304, 400, ...); the body it sets is sent with that
 * status (a status outside 200..599 becomes a 500 without the handler's
 * body). A handler never writes to the fds itself. A HEAD request
 * reaches the handler as method "GET" with head set (for the rare
 * resource whose HEAD and GET differ); the server sends the headers of
 * its answer (Content-Length included) without the body. A 304 is sent
 * without body and without Content-Length.
 *
 * Contract: http_serve returns 0 when the peer closed or the connection
 * ended by a Connection: close or a timeout, or a sysexits code with e
 * filled when it could not run at all (TLS setup). Strings in a request
 * are NUL terminated, owned by the server and valid only during the
 * handler call. Response fields are owned by the response and freed by
 * the server (http_resp_free).
 */
#ifndef CERTPIPE_HTTP_H
#define CERTPIPE_HTTP_H
#include <stddef.h>
#include <stdio.h>
#include "buf.h"
#include "err.h"

#define HTTP_MAX_HEADER  (16 * 1024)	/* request line + all headers */
#define HTTP_MAX_BODY    (64 * 1024)	/* default body cap */

struct http_req {
	const char *method;		/* "GET", "POST", "HEAD", ... */
	const char *target;		/* as sent: "/ocsp/MEU...%3D?x" */
	const char *path;		/* target without the query, not decoded */
	const char *query;		/* after '?', or NULL */
	const char *route;		/* the matched route's prefix */
	const char *rest;		/* path after the prefix ("" if none) */
	const char *content_type;	/* without parameters, or NULL */
	const char *peer;		/* "127.0.0.1:4711" or "-" */
	int tls;			/* 1 on a TLS connection */
	int head;			/* 1: sent as HEAD (method is "GET") */
	const unsigned char *body;
	size_t body_len;
	void *hdrs;			/* for http_header() */
};

/* The value of request header name (case-insensitive), or NULL. */
const char *http_header(const struct http_req *r, const char *name);

struct http_resp {
	const char *content_type;	/* static string, or NULL */
	struct buf body;
	struct buf headers;		/* extra "Name: value\r\n" lines */
};

/* Add one response header; the value must not contain CR or LF. */
void http_resp_header(struct http_resp *rs, const char *name,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void http_resp_free(struct http_resp *rs);

typedef int (*http_handler)(const struct http_req *r, struct http_resp *rs,
    void *arg);

#define HTTP_GET  0x01		/* GET, and HEAD answered from it */
#define HTTP_POST 0x02

struct http_route {
	const char *prefix;		/* "/ocsp" matches "/ocsp", "/ocsp/..." */
	int methods;			/* HTTP_GET | HTTP_POST */
	size_t max_body;		/* 0: HTTP_MAX_BODY */
	http_handler fn;
	void *arg;
};

struct http_opts {
	const char *name;		/* program name for log lines */
	int timeout_ms;			/* idle/read timeout; 0: 10 s */
	int max_requests;		/* per connection; 0: 1000 */
	const char *tls_cert;		/* PEM certificate (+chain) file, or NULL */
	const char *tls_key;		/* PEM key file (0600) */
	const char *tls_pass;		/* passphrase of an encrypted tls_key */
	FILE *log;			/* access log; NULL: stderr */
};

int http_serve(int in, int out, const struct http_route *routes,
    size_t nroutes, const struct http_opts *o, struct err *e);

/* Decode %XX in s (and '+' as space when form is set) into out, leniently:
 * a '%' not followed by two hex digits is kept as is (RFC 5019 GET paths). */
void http_unescape(const char *s, size_t n, int form, struct buf *out);
/* An RFC 7231 IMF-fixdate for t ("Tue, 01 Dec 2026 16:00:00 GMT"). */
void http_date(long long t, struct buf *out);
/* Parse an IMF-fixdate into *t; 0, or -1 when s is not one. */
int http_parse_date(const char *s, long long *t);

/*
 * Static files: a handler serving regular files from one directory
 * (arg: struct http_files). The path after the route prefix must be one
 * file name of [A-Za-z0-9._-], not starting with '.'; symlinks are not
 * followed. Answers with Content-Type by extension, Last-Modified, ETag,
 * Cache-Control, and 304 on If-None-Match / If-Modified-Since.
 */
struct http_files {
	const char *dir;		/* absolute directory */
	int max_age;			/* Cache-Control max-age, seconds */
};
int http_files(const struct http_req *r, struct http_resp *rs, void *arg);

#endif
