/* dns - a small TXT stub resolver against one server (see dns.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>
#include "dns.h"
#include "num.h"

#define HDR      12
#define WIRE_MAX 255		/* bytes of a name on the wire */
#define UDP_MAX  4096		/* no EDNS asks for 512; take a bit more */
#define TCP_MAX  65535
#define RESEND_MS 1000		/* UDP retransmit interval */

struct server {
	struct sockaddr_storage sa;
	socklen_t len;
	char text[80];		/* for messages */
};

static int
label_char(int c)
{
	return isalnum(c) || c == '-' || c == '_';
}

int
dns_query(const char *name, int type, uint16_t id, struct buf *out,
    struct err *e)
{
	static const unsigned char hdr[10] = { 1, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	const char *p = name, *dot;
	size_t n, total = 1;
	unsigned char c;

	buf_reset(out);
	c = id >> 8;
	buf_add(out, &c, 1);
	c = id & 0xff;
	buf_add(out, &c, 1);
	buf_add(out, hdr, sizeof hdr);	/* RD, one question */
	while (*p) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n > 63 || (total += n + 1) > WIRE_MAX)
			return err_set(e, EX_USAGE, "%s: not a DNS name", name);
		for (size_t i = 0; i < n; i++)
			if (!label_char((unsigned char)p[i]))
				return err_set(e, EX_USAGE,
				    "%s: not a DNS name", name);
		c = (unsigned char)n;
		buf_add(out, &c, 1);
		buf_add(out, p, n);
		p += n + (dot != NULL);
		if (dot && *p == '\0')
			break;		/* one final dot is allowed */
	}
	if (total == 1)
		return err_set(e, EX_USAGE, "empty DNS name");
	c = 0;
	buf_add(out, &c, 1);
	c = (unsigned char)(type >> 8);
	buf_add(out, &c, 1);
	c = (unsigned char)type;
	buf_add(out, &c, 1);
	buf_add(out, "\0\1", 2);	/* class IN */
	return 0;
}

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/*
 * The name at *off into out (lower case, dotted, no final dot; "." for
 * the root); *off moves past it. Compression pointers must point before
 * the label that holds them, so they cannot loop.
 */
static int
get_name(const unsigned char *m, size_t len, size_t *off, struct buf *out,
    struct err *e)
{
	size_t at = *off, wire = 0, end = 0;
	unsigned n, i, c;
	int jumped = 0;

	buf_reset(out);
	for (;;) {
		if (at >= len)
			return err_set(e, EX_DATAERR, "name runs past the end");
		n = m[at];
		if ((n & 0xc0) == 0xc0) {
			if (at + 1 >= len)
				return err_set(e, EX_DATAERR,
				    "pointer runs past the end");
			if (!jumped)
				end = at + 2;
			jumped = 1;
			if ((size_t)(get16(m + at) & 0x3fff) >= at)
				return err_set(e, EX_DATAERR,
				    "compression pointer does not point back");
			at = get16(m + at) & 0x3fff;
			continue;
		}
		if (n & 0xc0)
			return err_set(e, EX_DATAERR, "bad label type");
		if ((wire += n + 1) > WIRE_MAX)
			return err_set(e, EX_DATAERR, "name too long");
		if (n == 0)
			break;
		if (at + 1 + n > len)
			return err_set(e, EX_DATAERR, "label runs past the end");
		if (out->len > 0)
			buf_addc(out, '.');
		for (i = 0; i < n; i++) {
			c = m[at + 1 + i];
			if (label_char((int)c) || c == '*')
				buf_addc(out, (char)tolower((int)c));
			else
				buf_printf(out, "\\%03u", c);
		}
		at += 1 + n;
	}
	*off = jumped ? end : at + 1;
	if (out->len == 0)
		buf_adds(out, ".");
	return 0;
}

/* One answer record at *off into m (kept when it is TXT or CNAME). */
static int
get_rr(const unsigned char *p, size_t len, size_t *off, struct dns_msg *m,
    struct err *e)
{
	struct buf owner = {0}, target = {0};
	struct dns_rr *rr;
	size_t at, rdlen, end, k;
	unsigned type;
	int rc;

	if ((rc = get_name(p, len, off, &owner, e)) != 0)
		goto out;
	at = *off;
	if (at + 10 > len) {
		rc = err_set(e, EX_DATAERR, "record runs past the end");
		goto out;
	}
	type = get16(p + at);
	rdlen = get16(p + at + 8);
	at += 10;
	if ((end = at + rdlen) > len) {
		rc = err_set(e, EX_DATAERR, "record data runs past the end");
		goto out;
	}
	*off = end;
	if (get16(p + at - 8) != 1 || (type != DNS_T_TXT &&
	    type != DNS_T_CNAME) || m->nrr >= DNS_MAX_RR)
		goto out;		/* not IN, another type: skipped */
	if (type == DNS_T_CNAME) {
		k = at;
		if ((rc = get_name(p, end, &k, &target, e)) != 0)
			goto out;
		if (k != end) {
			rc = err_set(e, EX_DATAERR, "CNAME data has extra bytes");
			goto out;
		}
	} else {
		for (k = at; k < end; k += 1 + p[k]) {
			if (k + 1 + p[k] > end) {
				rc = err_set(e, EX_DATAERR,
				    "TXT string runs past its record");
				goto out;
			}
			buf_add(&target, p + k + 1, p[k]);
		}
		if (target.p == NULL)
			buf_add(&target, "", 0);
	}
	m->rr = xrealloc(m->rr, (m->nrr + 1) * sizeof *m->rr);
	rr = &m->rr[m->nrr++];
	rr->type = (int)type;
	rr->owner = buf_steal(&owner);
	rr->data = target;
	target = (struct buf){0};
out:
	buf_free(&owner);
	buf_free(&target);
	return rc;
}

/* Does the question at *off ask (name, type) class IN? */
static int
same_question(const unsigned char *p, size_t len, size_t *off,
    const char *name, int type, struct err *e)
{
	struct buf q = {0};
	size_t n = strlen(name);
	int rc;

	if (n > 1 && name[n - 1] == '.')
		n--;
	if ((rc = get_name(p, len, off, &q, e)) != 0)
		goto out;
	if (*off + 4 > len)
		rc = err_set(e, EX_DATAERR, "question runs past the end");
	else if (q.len != n || strncasecmp(q.p, name, n) != 0 ||
	    get16(p + *off) != (unsigned)type || get16(p + *off + 2) != 1)
		rc = err_set(e, EX_DATAERR, "reply to another question");
	*off += 4;
out:
	buf_free(&q);
	return rc;
}

int
dns_parse(const void *data, size_t len, uint16_t id, const char *name,
    int type, struct dns_msg *m, struct err *e)
{
	const unsigned char *p = data;
	size_t off = HDR, i, an;
	int rc;

	memset(m, 0, sizeof *m);
	if (len < HDR)
		return err_set(e, EX_DATAERR, "reply shorter than a header");
	m->id = (uint16_t)get16(p);
	if (m->id != id)
		return err_set(e, EX_DATAERR, "reply with another id");
	if (!(p[2] & 0x80) || (p[2] & 0x78) != 0)
		return err_set(e, EX_DATAERR, "not a reply to a query");
	m->tc = (p[2] & 0x02) != 0;
	m->rcode = p[3] & 0x0f;
	if (get16(p + 4) != 1)
		return err_set(e, EX_DATAERR, "reply without one question");
	if ((rc = same_question(p, len, &off, name, type, e)) != 0)
		return rc;
	an = get16(p + 6);
	for (i = 0; i < an && !m->tc; i++)
		if ((rc = get_rr(p, len, &off, m, e)) != 0) {
			dns_msg_free(m);
			return rc;
		}
	return 0;
}

void
dns_msg_free(struct dns_msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nrr; i++) {
		free(m->rr[i].owner);
		buf_free(&m->rr[i].data);
	}
	free(m->rr);
	memset(m, 0, sizeof *m);
}

void
dns_txt_free(struct dns_txt *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		buf_free(&t->v[i]);
	free(t->v);
	free(t->name);
	memset(t, 0, sizeof *t);
}

/* The first nameserver line of /etc/resolv.conf, or 127.0.0.1. */
static char *
system_server(void)
{
	struct buf b = {0};
	char *line = NULL, *s;
	size_t cap = 0;
	FILE *f;

	if ((f = fopen("/etc/resolv.conf", "re")) != NULL) {
		while (b.len == 0 && getline(&line, &cap, f) > 0) {
			if (strncmp(line, "nameserver", 10) != 0 ||
			    !isspace((unsigned char)line[10]) ||
			    (s = strtok(line + 10, " \t\r\n")) == NULL)
				continue;
			if (strchr(s, ':'))	/* IPv6: bracket it */
				buf_printf(&b, "[%s]", s);
			else
				buf_adds(&b, s);
		}
		free(line);
		fclose(f);
	}
	if (b.len == 0)
		buf_adds(&b, "127.0.0.1");
	return buf_steal(&b);
}

static int
server_parse(const char *spec, struct server *s, struct err *e)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&s->sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&s->sa;
	char host[64];
	const char *port = NULL, *end;
	uint64_t pn = 53;
	size_t n;

	memset(s, 0, sizeof *s);
	if (spec[0] == '[') {
		if ((end = strchr(spec, ']')) == NULL ||
		    (end[1] != '\0' && end[1] != ':'))
			goto bad;
		n = (size_t)(end - spec - 1);
		memcpy(host, spec + 1, n < sizeof host ? n : 0);
		port = end[1] == ':' ? end + 2 : NULL;
	} else {
		end = strchr(spec, ':');
		n = end ? (size_t)(end - spec) : strlen(spec);
		memcpy(host, spec, n < sizeof host ? n : 0);
		port = end ? end + 1 : NULL;
	}
	if (n == 0 || n >= sizeof host)
		goto bad;
	host[n] = '\0';
	if (port && num_u64("resolver port", port, 1, 65535, &pn, e) != 0)
		return e->code = EX_USAGE;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)pn);
		s->len = sizeof *v4;
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)pn);
		s->len = sizeof *v6;
	} else
		goto bad;
	snprintf(s->text, sizeof s->text, "%s%s%s:%u",
	    s->len == sizeof *v6 ? "[" : "", host,
	    s->len == sizeof *v6 ? "]" : "", (unsigned)pn);
	return 0;
bad:
	return err_set(e, EX_USAGE, "resolver '%.80s': not ADDR[:PORT]", spec);
}

int
dns_server_check(const char *spec, struct err *e)
{
	struct server s;

	return server_parse(spec, &s, e);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline: 1 ready, 0 not. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int n;

	while ((left = deadline - now_ms()) > 0) {
		n = poll(&pfd, 1, left > RESEND_MS ? RESEND_MS : (int)left);
		if (n > 0)
			return 1;
		if (n == 0 && events == POLLIN)
			return 0;	/* the caller resends */
		if (n < 0 && errno != EINTR)
			return 0;
	}
	return 0;
}

static int
sock_err(const struct server *s, const char *what, int err, struct err *e)
{
	if (err == 0 || err == EAGAIN || err == EINPROGRESS)
		return err_set(e, EX_TEMPFAIL, "resolver %s: %s: timed out",
		    s->text, what);
	return err_set(e, EX_TEMPFAIL, "resolver %s: %s: %s", s->text, what,
	    strerror(err));
}

/* The query q over UDP: a reply with its id and question, in m. */
static int
udp_ask(const struct server *s, const struct buf *q, uint16_t id,
    const char *name, int type, long long deadline, struct dns_msg *m,
    struct err *e)
{
	unsigned char r[UDP_MAX + 1];
	struct err ignored = {0};
	ssize_t n;
	int fd, rc = 0, err = 0;

	if ((fd = socket(s->sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0 ||
	    connect(fd, (const struct sockaddr *)&s->sa, s->len) != 0) {
		rc = sock_err(s, "udp", errno, e);
		goto out;
	}
	for (;;) {
		if (send(fd, q->p, q->len, 0) < 0) {
			err = errno;
			break;
		}
		while (wait_fd(fd, POLLIN, deadline)) {
			if ((n = recv(fd, r, sizeof r, 0)) < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				err = errno;
				goto fail;
			}
			/* a stray or forged datagram is ignored */
			if (dns_parse(r, (size_t)n, id, name, type, m,
			    &ignored) == 0)
				goto out;
		}
		if (now_ms() >= deadline)
			break;
	}
fail:
	rc = sock_err(s, "udp", err, e);
out:
	if (fd >= 0)
		close(fd);
	err_free(&ignored);
	return rc;
}

/* Exactly n bytes to or from fd before the deadline; 0 or an errno. */
static int
tcp_io(int fd, void *p, size_t n, int out, long long deadline)
{
	unsigned char *b = p;
	ssize_t k;

	while (n > 0) {
		if (!wait_fd(fd, out ? POLLOUT : POLLIN, deadline) &&
		    now_ms() >= deadline)
			return ETIMEDOUT;
		k = out ? send(fd, b, n, MSG_NOSIGNAL) : recv(fd, b, n, 0);
		if (k == 0)
			return ECONNRESET;
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return errno;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The query q over TCP (after a truncated UDP reply). */
static int
tcp_ask(const struct server *s, const struct buf *q, uint16_t id,
    const char *name, int type, long long deadline, struct dns_msg *m,
    struct err *e)
{
	unsigned char len[2];
	unsigned char *r = NULL;
	socklen_t sl = sizeof(int);
	int fd, rc = 0, err = 0;

	if ((fd = socket(s->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0) {
		rc = sock_err(s, "tcp", errno, e);
		goto out;
	}
	if (connect(fd, (const struct sockaddr *)&s->sa, s->len) != 0 &&
	    errno != EINPROGRESS) {
		rc = sock_err(s, "tcp", errno, e);
		goto out;
	}
	if (!wait_fd(fd, POLLOUT, deadline) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0 || err != 0) {
		rc = sock_err(s, "tcp", err, e);
		goto out;
	}
	len[0] = (unsigned char)(q->len >> 8);
	len[1] = (unsigned char)q->len;
	if ((err = tcp_io(fd, len, 2, 1, deadline)) != 0 ||
	    (err = tcp_io(fd, q->p, q->len, 1, deadline)) != 0 ||
	    (err = tcp_io(fd, len, 2, 0, deadline)) != 0) {
		rc = sock_err(s, "tcp", err, e);
		goto out;
	}
	r = xmalloc(get16(len) + 1);
	if ((err = tcp_io(fd, r, get16(len), 0, deadline)) != 0)
		rc = sock_err(s, "tcp", err, e);
	else if (dns_parse(r, get16(len), id, name, type, m, e) != 0) {
		err_prefix(e, "resolver %s: tcp", s->text);
		rc = e->code = EX_TEMPFAIL;	/* a bad reply may pass */
	} else if (m->tc)
		rc = err_set(e, EX_TEMPFAIL, "resolver %s: tcp: truncated",
		    s->text);
out:
	if (fd >= 0)
		close(fd);
	free(r);
	return rc;
}

/* One exchange for (name, TXT): UDP, then TCP when truncated. */
static int
ask(const struct server *s, const char *name, long long deadline,
    struct dns_msg *m, struct err *e)
{
	struct buf q = {0};
	uint16_t id;
	int rc;

	if (RAND_bytes((unsigned char *)&id, sizeof id) != 1)
		return err_ssl(e, EX_SOFTWARE, "random query id");
	if ((rc = dns_query(name, DNS_T_TXT, id, &q, e)) != 0)
		goto out;
	rc = udp_ask(s, &q, id, name, DNS_T_TXT, deadline, m, e);
	if (rc == 0 && m->tc) {
		dns_msg_free(m);
		rc = tcp_ask(s, &q, id, name, DNS_T_TXT, deadline, m, e);
	}
	if (rc == 0 && m->rcode != DNS_RCODE_OK &&
	    m->rcode != DNS_RCODE_NXDOMAIN) {
		rc = err_set(e, EX_TEMPFAIL, "resolver %s: %s: rcode %d%s",
		    s->text, name, m->rcode,
		    m->rcode == DNS_RCODE_SERVFAIL ? " (SERVFAIL)" :
		    m->rcode == 5 ? " (REFUSED)" : "");
		dns_msg_free(m);
	}
out:
	buf_free(&q);
	return rc;
}

/*
 * Walk the reply from *cur: take its TXT records when it has some,
 * else follow its CNAME within the reply. 1: TXT found; 0: the chain
 * leaves this reply at *cur (a new query is needed, or there is none).
 */
static int
walk(const struct dns_msg *m, char **cur, int *hops, struct dns_txt *t,
    struct err *e)
{
	size_t i;
	int moved;

	do {
		moved = 0;
		for (i = 0; i < m->nrr; i++) {
			if (m->rr[i].type != DNS_T_TXT ||
			    strcmp(m->rr[i].owner, *cur) != 0)
				continue;
			t->v = xrealloc(t->v, (t->n + 1) * sizeof *t->v);
			t->v[t->n] = (struct buf){0};
			buf_add(&t->v[t->n++], m->rr[i].data.p,
			    m->rr[i].data.len);
		}
		if (t->n > 0)
			return 1;
		for (i = 0; i < m->nrr && !moved; i++) {
			if (m->rr[i].type != DNS_T_CNAME ||
			    strcmp(m->rr[i].owner, *cur) != 0)
				continue;
			if (++*hops > DNS_MAX_CNAME)
				return err_set(e, EX_TEMPFAIL,
				    "%s: more than %d CNAMEs", *cur,
				    DNS_MAX_CNAME), -1;
			free(*cur);
			*cur = xstrdup(m->rr[i].data.p);
			moved = 1;
		}
	} while (moved);
	return 0;
}

/* name in the parser's form: lower case, no final dot. */
static char *
canonical(const char *name)
{
	char *s = xstrdup(name);
	size_t i, n = strlen(s);

	if (n > 1 && s[n - 1] == '.')
		s[n - 1] = '\0';
	for (i = 0; s[i]; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	return s;
}

int
dns_txt(const char *spec, const char *name, int timeout_ms,
    struct dns_txt *t, struct err *e)
{
	struct dns_msg m = {0};
	struct buf probe = {0};
	struct server s;
	char *sys = NULL, *cur = canonical(name), *asked = NULL;
	long long deadline = now_ms() + timeout_ms;
	int rc, hops = 0, found = 0;

	memset(t, 0, sizeof *t);
	if (spec == NULL)
		spec = sys = system_server();
	if ((rc = server_parse(spec, &s, e)) != 0)
		goto out;
	while (!found) {
		free(asked);
		asked = xstrdup(cur);
		/* a CNAME target the server made up may be no name to ask
		 * about: then there is no TXT record to be had */
		if (hops > 0 && dns_query(cur, DNS_T_TXT, 0, &probe, e) != 0) {
			err_free(e);
			break;
		}
		if ((rc = ask(&s, cur, deadline, &m, e)) != 0)
			goto out;
		if ((found = walk(&m, &cur, &hops, t, e)) < 0) {
			rc = e->code;
			goto out;
		}
		if (!found && (strcmp(asked, cur) == 0 ||
		    m.rcode == DNS_RCODE_NXDOMAIN)) {
			/* no TXT here and no CNAME to follow */
			t->nxdomain = m.rcode == DNS_RCODE_NXDOMAIN;
			break;
		}
		dns_msg_free(&m);
	}
	t->name = cur;
	cur = NULL;
out:
	dns_msg_free(&m);
	buf_free(&probe);
	if (rc != 0)
		dns_txt_free(t);
	free(cur);
	free(asked);
	free(sys);
	return rc;
}
