/*
 * http - the front-end skeleton: one HTTP/1.1 connection on two fds
 * (see http.h for the contract, certpipe-http(7) for the behaviour).
 *
 * Trust: everything read here is hostile. The head of a request is
 * copied, split in place and checked byte by byte before any handler
 * sees it; a handler gets only a request whose syntax, size and method
 * the server already accepted. No request can hold the process longer
 * than the idle timeout plus one request deadline.
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "http_conn.h"
#include "num.h"

#define HTTP_MAX_TARGET	8192	/* longer request targets: 414 */
#define HTTP_MAX_FIELDS	100	/* more header fields: 431 */

struct hdr {
	const char *name, *value;
};

/* One request while it is answered. */
struct reqst {
	struct http_req r;
	struct hdr h[HTTP_MAX_FIELDS];
	size_t nh;
	struct buf head;	/* the head, split into NUL-terminated parts */
	struct buf parts;	/* path, query and content type */
	const char *method;	/* as sent, for the log ("-": none) */
	const char *target;	/* as sent, for the log */
	int minor;		/* HTTP/1.minor */
	int keep;		/* keep the connection after the answer */
	int head_only;		/* HEAD: headers without the body */
	int bad;		/* the head did not parse */
	int has_len;
	uint64_t len;		/* Content-Length */
	size_t head_len;	/* bytes of the head in the input */
	long long t0;		/* first byte seen, ms */
};

static const char *
reason(int st)
{
	static const struct { int st; const char *s; } t[] = {
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 204, "No Content" }, { 206, "Partial Content" },
		{ 301, "Moved Permanently" }, { 302, "Found" },
		{ 304, "Not Modified" }, { 400, "Bad Request" },
		{ 401, "Unauthorized" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 408, "Request Timeout" }, { 409, "Conflict" },
		{ 411, "Length Required" }, { 413, "Content Too Large" },
		{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
		{ 417, "Expectation Failed" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].st == st)
			return t[i].s;
	return st < 400 ? "OK" : st < 500 ? "Bad Request" : "Server Error";
}

/* RFC 9110 tchar */
static int
tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int
token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!tchar((unsigned char)*s))
			return 0;
	return 1;
}

const char *
http_header(const struct http_req *r, const char *name)
{
	const struct reqst *q = r->hdrs;
	size_t i;

	for (i = 0; q != NULL && i < q->nh; i++)
		if (strcasecmp(q->h[i].name, name) == 0)
			return q->h[i].value;
	return NULL;
}

/* Where the head ends in p[0..n): 1 with *len set (through the empty
 * line), or 0 with *scan set to where to look again after more input. */
static int
head_end(const char *p, size_t n, size_t *scan, size_t *len)
{
	const char *lf;
	size_t i = *scan;

	for (;;) {
		if (i >= n || (lf = memchr(p + i, '\n', n - i)) == NULL) {
			*scan = n;
			return 0;
		}
		i = (size_t)(lf - p);
		if (i + 1 == n || (p[i + 1] == '\r' && i + 2 == n)) {
			*scan = i;
			return 0;
		}
		if (p[i + 1] == '\n' || (p[i + 1] == '\r' && p[i + 2] == '\n')) {
			*len = i + (p[i + 1] == '\n' ? 2 : 3);
			return 1;
		}
		i++;
	}
}

/*
 * Wait for a whole head at c->off: 0 with q->head_len set; -1 when the
 * connection ended before a request began (EOF, idle timeout, reset);
 * or the status to answer before closing (408, 414, 431). Empty lines
 * before a request are skipped (RFC 9112 2.2).
 */
static int
read_head(struct http_conn *c, int timeout, struct reqst *q)
{
	long long deadline = conn_now() + timeout;
	size_t avail, scan = 0;
	const char *p;
	int started = 0, r;

	for (;;) {
		while (!started && c->off < c->rb.len &&
		    (c->rb.p[c->off] == '\r' || c->rb.p[c->off] == '\n'))
			c->off++;
		p = c->rb.len > 0 ? c->rb.p + c->off : "";
		avail = c->rb.len - c->off;
		if (avail > 0 && !started) {
			started = 1;
			q->t0 = conn_now();
			deadline = q->t0 + timeout;	/* the whole head+body */
		}
		if (avail > 0 && head_end(p, avail, &scan, &q->head_len))
			return q->head_len > HTTP_MAX_HEADER ? 431 : 0;
		if (avail > HTTP_MAX_TARGET + 64 && memchr(p, '\n', avail) == NULL)
			return 414;
		if (avail > HTTP_MAX_HEADER)
			return 431;
		if ((r = conn_fill(c, deadline)) != CONN_OK)
			return started && r == CONN_TIMEOUT ? 408 : -1;
	}
}

/* "GET /x HTTP/1.1" into q; 0 or the status to answer. */
static int
request_line(struct reqst *q, char *line)
{
	char *sp1, *sp2, *s;

	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' '))
		return 400;
	*sp1 = *sp2 = '\0';
	if (!token(line) || sp1 - line > 32)
		return 400;
	q->method = line;
	q->target = sp1 + 1;
	for (s = sp1 + 1; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 400;
	if (s == sp1 + 1)
		return 400;
	if (s - (sp1 + 1) > HTTP_MAX_TARGET)
		return 414;
	s = sp2 + 1;
	if (strncmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9' ||
	    s[6] != '.' || s[7] < '0' || s[7] > '9' || s[8] != '\0')
		return 400;
	if (s[5] != '1')
		return 505;
	q->minor = s[7] - '0';
	q->keep = q->minor >= 1;
	return 0;
}

/* Path and query from the target (origin or absolute form). */
static int
split_target(struct reqst *q)
{
	const char *t = q->target, *qm;
	size_t plen;

	if (strncasecmp(t, "http://", 7) == 0 ||
	    strncasecmp(t, "https://", 8) == 0) {
		t = strchr(t, ':') + 3;
		t += strcspn(t, "/?");
		if (*t != '/')
			return 400;
	} else if (*t != '/')
		return 400;
	qm = strchr(t, '?');
	plen = qm ? (size_t)(qm - t) : strlen(t);
	buf_reset(&q->parts);
	buf_add(&q->parts, t, plen);
	buf_addc(&q->parts, '\0');
	if (qm != NULL)
		buf_adds(&q->parts, qm + 1);
	buf_addc(&q->parts, '\0');
	q->r.path = q->parts.p;
	q->r.query = qm ? q->parts.p + plen + 1 : NULL;
	return 0;
}

/* One "Name: value" line into q->h; 0 or the status to answer. */
static int
field(struct reqst *q, char *line)
{
	char *colon, *v, *end;

	if (*line == ' ' || *line == '\t')
		return 400;	/* obsolete line folding */
	if ((colon = strchr(line, ':')) == NULL)
		return 400;
	*colon = '\0';
	if (!token(line))
		return 400;
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = v; *end; end++)
		if (((unsigned char)*end < 0x20 && *end != '\t') ||
		    *end == 0x7f)
			return 400;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (q->nh == HTTP_MAX_FIELDS)
		return 431;
	q->h[q->nh].name = line;
	q->h[q->nh++].value = v;
	return 0;
}

/* Split the head copy into lines: request line, then fields. */
static int
parse_lines(struct reqst *q)
{
	char *p = q->head.p, *end = p + q->head.len, *lf;
	int st, first = 1;

	if (memchr(p, '\0', q->head.len) != NULL)
		return 400;
	while (p < end && (lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		*lf = '\0';
		if (lf > p && lf[-1] == '\r')
			lf[-1] = '\0';
		if (strchr(p, '\r') != NULL)
			return 400;	/* a bare CR */
		if (*p == '\0')
			break;		/* the empty line */
		st = first ? request_line(q, p) : field(q, p);
		if (st != 0)
			return st;
		first = 0;
		p = lf + 1;
	}
	return first ? 400 : 0;
}

/* Connection, Host, Content-Length, Transfer-Encoding. */
static int
semantics(struct reqst *q)
{
	struct err e = {0};
	uint64_t v;
	size_t i, nhost = 0;
	const char *val, *s;
	int rc;

	for (i = 0; i < q->nh; i++) {
		val = q->h[i].value;
		if (strcasecmp(q->h[i].name, "Host") == 0)
			nhost++;
		else if (strcasecmp(q->h[i].name, "Transfer-Encoding") == 0)
			return 501;
		else if (strcasecmp(q->h[i].name, "Connection") == 0) {
			for (s = val; *s; s += strspn(s, ", \t")) {
				size_t n = strcspn(s, ", \t");
				if (n == 5 && strncasecmp(s, "close", 5) == 0)
					q->keep = 0;
				else if (n == 10 && q->minor == 0 &&
				    strncasecmp(s, "keep-alive", 10) == 0)
					q->keep = 1;
				s += n;
			}
		} else if (strcasecmp(q->h[i].name, "Content-Length") == 0) {
			if (strspn(val, "0123456789") != strlen(val) ||
			    strlen(val) > 18)
				return 400;
			rc = num_u64("Content-Length", val, 0, UINT64_MAX, &v,
			    &e);
			err_free(&e);
			if (rc != 0 || (q->has_len && v != q->len))
				return 400;
			q->has_len = 1;
			q->len = v;
		}
	}
	if (nhost > 1 || (q->minor >= 1 && nhost == 0))
		return 400;
	return 0;
}

static void
content_type(struct reqst *q)
{
	const char *ct = http_header(&q->r, "Content-Type");
	size_t n, off;

	if (ct == NULL)
		return;
	n = strcspn(ct, "; \t");
	off = q->parts.len;
	buf_add(&q->parts, ct, n);
	buf_addc(&q->parts, '\0');
	q->r.path = q->parts.p;		/* the buffer may have moved */
	if (q->r.query != NULL)
		q->r.query = q->parts.p + strlen(q->parts.p) + 1;
	q->r.content_type = q->parts.p + off;
}

/* The head at c->off: copy, split, check. 0 or the status to answer. */
static int
parse_head(struct http_conn *c, struct reqst *q)
{
	int st;

	buf_reset(&q->head);
	buf_add(&q->head, c->rb.p + c->off, q->head_len);
	if ((st = parse_lines(q)) != 0 || (st = split_target(q)) != 0 ||
	    (st = semantics(q)) != 0)
		return st;
	q->head_only = strcmp(q->method, "HEAD") == 0;
	q->r.method = q->head_only ? "GET" : q->method;
	q->r.head = q->head_only;
	q->r.target = q->target;
	q->r.peer = c->peer;
	q->r.tls = c->ssl != NULL;
	q->r.hdrs = q;
	content_type(q);
	return 0;
}

static const struct http_route *
route_find(const struct http_route *rt, size_t n, const char *path)
{
	size_t i, pl;

	for (i = 0; i < n; i++) {
		pl = strlen(rt[i].prefix);
		if (strncmp(path, rt[i].prefix, pl) == 0 && (path[pl] == '\0' ||
		    path[pl] == '/' || (pl > 0 && rt[i].prefix[pl - 1] == '/')))
			return &rt[i];
	}
	return NULL;
}

static int
known_method(const char *m)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
	    "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT" };
	size_t i;

	for (i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(m, known[i]) == 0)
			return 1;
	return 0;
}

/* Read the body (q->len bytes after the head) within the deadline:
 * 0, or 408 when it did not come in time, -1 when the peer went away. */
static int
read_body(struct http_conn *c, struct reqst *q, int timeout)
{
	long long deadline = q->t0 + timeout;
	int r;

	while (c->rb.len - c->off < q->head_len + q->len)
		if ((r = conn_fill(c, deadline)) != CONN_OK)
			return r == CONN_TIMEOUT ? 408 : -1;
	q->r.body = (const unsigned char *)c->rb.p + c->off + q->head_len;
	q->r.body_len = (size_t)q->len;
	return 0;
}

/* "Expect: 100-continue" (curl sends it before larger bodies): say
 * go on when the body is wanted and not here yet; 417 for anything
 * else expected. 0, -1 when the peer is gone, or the status. */
static int
expect(struct http_conn *c, struct reqst *q, int timeout)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const char *x = http_header(&q->r, "Expect");

	if (x == NULL)
		return 0;
	if (strcasecmp(x, "100-continue") != 0)
		return 417;
	if (q->minor == 0 || q->len == 0 ||
	    c->rb.len - c->off >= q->head_len + q->len)
		return 0;
	return conn_write(c, cont, sizeof cont - 1, NULL, 0,
	    conn_now() + timeout) == 0 ? 0 : -1;
}

/*
 * Before any handler: method known, body length acceptable, body read,
 * route and method allowed. 0 with *rt set, -1 when the connection is
 * gone, or the status the server answers itself (with Allow in rs for
 * a 405).
 */
static int
admit(struct http_conn *c, struct reqst *q, const struct http_route *routes,
    size_t n, int timeout, const struct http_route **rt, struct http_resp *rs)
{
	size_t max;
	int st, get;

	if (!known_method(q->method))
		return 501;
	*rt = route_find(routes, n, q->r.path);
	max = *rt && (*rt)->max_body ? (*rt)->max_body : HTTP_MAX_BODY;
	if (!q->has_len && (strcmp(q->method, "POST") == 0 ||
	    strcmp(q->method, "PUT") == 0 || strcmp(q->method, "PATCH") == 0))
		return 411;
	if (q->len > max)
		return 413;
	if ((st = expect(c, q, timeout)) != 0 ||
	    (st = read_body(c, q, timeout)) != 0)
		return st;
	if (*rt == NULL)
		return 404;
	q->r.route = (*rt)->prefix;
	q->r.rest = q->r.path + strlen((*rt)->prefix);
	get = strcmp(q->r.method, "GET") == 0;
	if ((get && ((*rt)->methods & HTTP_GET)) ||
	    (strcmp(q->method, "POST") == 0 && ((*rt)->methods & HTTP_POST)))
		return 0;
	http_resp_header(rs, "Allow", "%s%s%s",
	    (*rt)->methods & HTTP_GET ? "GET, HEAD" : "",
	    ((*rt)->methods & (HTTP_GET | HTTP_POST)) ==
	    (HTTP_GET | HTTP_POST) ? ", " : "",
	    (*rt)->methods & HTTP_POST ? "POST" : "");
	return 405;
}

/* Statuses after which the input cannot be trusted to be in step. */
static int
closes(int st)
{
	return st == 400 || st == 408 || st == 411 || st == 413 ||
	    st == 414 || st == 417 || st == 431 || st == 501 || st == 505;
}

static void
error_body(struct http_resp *rs, int st)
{
	buf_reset(&rs->body);
	buf_printf(&rs->body, "%d %s\n", st, reason(st));
	rs->content_type = "text/plain; charset=utf-8";
}

/* Append s[0..n) to b for a log line: printable ASCII and spaces, the
 * rest as \xHH, at most max bytes. */
static void
log_mem(struct buf *b, const char *s, size_t n, size_t max)
{
	size_t i, j;

	if (n == 0) {
		buf_addc(b, '-');
		return;
	}
	for (i = 0; i < n && i < max; i = j + 1) {
		/* a run of plain characters in one piece */
		for (j = i; j < n && j < max && s[j] >= 0x20 && s[j] < 0x7f &&
		    s[j] != '"' && s[j] != '\\'; j++)
			;
		if (j > i)
			buf_add(b, s + i, j - i);
		if (j == n || j == max)
			break;
		buf_printf(b, "\\x%02x", (unsigned char)s[j]);
	}
	if (n > max)
		buf_adds(b, "...");
}

/* v in decimal, appended to b. */
static void
add_num(struct buf *b, unsigned long long v)
{
	char d[24];
	size_t n = sizeof d;

	do
		d[--n] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	buf_add(b, d + n, sizeof d - n);
}

/* peer "METHOD target" status bytes ms: one line, one write. A request
 * that did not parse is logged with its first line as it came. */
static void
access_log(const struct http_opts *o, const struct http_conn *c,
    const struct reqst *q, int st, size_t bytes)
{
	const char *raw = c->rb.len > 0 ? c->rb.p + c->off : "";
	struct buf b = {0};

	buf_adds(&b, o->name ? o->name : "http");
	buf_adds(&b, ": ");
	buf_adds(&b, c->peer);
	buf_adds(&b, " \"");
	if (q->bad)
		log_mem(&b, raw, strcspn(raw, "\r\n") < c->rb.len - c->off ?
		    strcspn(raw, "\r\n") : c->rb.len - c->off, 512);
	else {
		log_mem(&b, q->method, strlen(q->method), 32);
		buf_addc(&b, ' ');
		log_mem(&b, q->target, strlen(q->target), 512);
	}
	buf_adds(&b, "\" ");
	add_num(&b, (unsigned long long)st);
	buf_addc(&b, ' ');
	add_num(&b, bytes);
	buf_addc(&b, ' ');
	add_num(&b, (unsigned long long)(conn_now() - q->t0));
	buf_adds(&b, "ms\n");
	fwrite(b.p, 1, b.len, o->log ? o->log : stderr);
	fflush(o->log ? o->log : stderr);
	buf_free(&b);
}

/* Write the answer; 0, or -1 when the peer is gone. */
static int
respond(struct http_conn *c, const struct http_opts *o, struct reqst *q,
    int st, struct http_resp *rs, int timeout)
{
	struct buf h = {0};
	int body = st != 304 && st != 204 && !q->head_only;
	int rc;

	buf_adds(&h, "HTTP/1.1 ");
	add_num(&h, (unsigned long long)st);
	buf_addc(&h, ' ');
	buf_adds(&h, reason(st));
	buf_adds(&h, "\r\nDate: ");
	http_date(time(NULL), &h);
	buf_adds(&h, "\r\n");
	if (st != 304 && st != 204) {
		buf_adds(&h, "Content-Length: ");
		add_num(&h, rs->body.len);
		buf_adds(&h, "\r\n");
	}
	if (rs->content_type != NULL && st != 304 && st != 204) {
		buf_adds(&h, "Content-Type: ");
		buf_adds(&h, rs->content_type);
		buf_adds(&h, "\r\n");
	}
	buf_add(&h, buf_str(&rs->headers), rs->headers.len);
	if (!q->keep)
		buf_adds(&h, "Connection: close\r\n");
	else if (q->minor == 0)
		buf_adds(&h, "Connection: keep-alive\r\n");
	buf_adds(&h, "\r\n");
	rc = conn_write(c, h.p, h.len, body ? rs->body.p : NULL,
	    body ? rs->body.len : 0, conn_now() + timeout);
	access_log(o, c, q, st, rc == 0 && body ? rs->body.len : 0);
	buf_free(&h);
	return rc;
}

/* The handler's answer, or 500 when it returned no HTTP status. */
static int
call(const struct http_route *rt, struct reqst *q, struct http_resp *rs)
{
	int st = rt->fn(&q->r, rs, rt->arg);

	if (st < 200 || st > 599) {
		http_resp_free(rs);
		memset(rs, 0, sizeof *rs);
		error_body(rs, 500);
		return 500;
	}
	return st;
}

/* One request: 1 to go on with the next, 0 when the connection ends. */
static int
one(struct http_conn *c, const struct http_route *routes, size_t n,
    const struct http_opts *o, struct reqst *q, int last)
{
	int timeout = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	const struct http_route *rt = NULL;
	struct http_resp rs = {0};
	int st, go;

	memset(&q->r, 0, sizeof q->r);
	q->nh = 0;
	q->method = q->target = NULL;
	q->keep = q->has_len = q->head_only = q->bad = 0;
	q->len = 0;
	q->head_len = 0;
	q->minor = 1;
	if ((st = read_head(c, timeout, q)) < 0)
		return 0;
	if (st != 0 || (st = parse_head(c, q)) != 0)
		q->bad = 1;
	else
		st = admit(c, q, routes, n, timeout, &rt, &rs);
	if (st < 0)
		return 0;
	if (st == 0)
		st = call(rt, q, &rs);
	else {
		error_body(&rs, st);
		if (closes(st))
			q->keep = 0;
	}
	if (last)
		q->keep = 0;
	go = respond(c, o, q, st, &rs, timeout) == 0 && q->keep;
	if (go)
		c->off += q->head_len + (size_t)q->len;
	http_resp_free(&rs);
	return go;
}

int
http_serve(int in, int out, const struct http_route *routes, size_t nroutes,
    const struct http_opts *o, struct err *e)
{
	struct http_conn c;
	struct reqst q;
	int max = o->max_requests > 0 ? o->max_requests : 1000;
	int i, rc;

	signal(SIGPIPE, SIG_IGN);	/* a vanished peer is EPIPE, not death */
	memset(&q, 0, sizeof q);
	if ((rc = conn_open(&c, in, out, o, e)) == 0)
		for (i = 0; i < max && !c.dead; i++)
			if (!one(&c, routes, nroutes, o, &q, i + 1 == max))
				break;
	conn_close(&c);
	buf_free(&q.head);
	buf_free(&q.parts);
	return rc;
}
