/*
 * http_conn - one connection's I/O for http_serve (see http_conn.h).
 *
 * The fds are switched to non-blocking so that no read, write or TLS
 * handshake can outlast its deadline: every wait is a poll() with the
 * time left. The original flags are restored at the end (under inetd
 * and socat the fds may be shared with nobody else, but a terminal
 * would be).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "fs.h"
#include "http_conn.h"

#define KEY_MAX	(64 * 1024)

long long
conn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for ev or the deadline passed: 1 ready, 0 not. */
static int
wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd p;
	long long left;
	int n;

	for (;;) {
		if ((left = deadline - conn_now()) <= 0)
			return 0;
		p.fd = fd;
		p.events = ev;
		p.revents = 0;
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 1;	/* ready, or HUP/ERR: the read says which */
		if (n < 0 && errno != EINTR)
			return 0;
	}
}

/* The peer as tcpserver, socat or xinetd tell it, else getpeername. */
static void
peer_name(struct http_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	const char *ip, *port;
	char a[INET6_ADDRSTRLEN];
	struct buf b = {0};
	unsigned short p = 0;

	if ((ip = getenv("TCPREMOTEIP")) != NULL)
		port = getenv("TCPREMOTEPORT");
	else if ((ip = getenv("SOCAT_PEERADDR")) != NULL)
		port = getenv("SOCAT_PEERPORT");
	else if ((ip = getenv("REMOTE_HOST")) != NULL)
		port = NULL;
	else if (getpeername(c->in, (struct sockaddr *)&ss, &sl) == 0 &&
	    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			ip = inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
			p = ntohs(s4->sin_port);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			ip = inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
			p = ntohs(s6->sin6_port);
		}
		buf_printf(&b, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, p);
		ip = NULL;
		port = NULL;
	} else
		port = NULL;
	if (ip != NULL)
		buf_printf(&b, strchr(ip, ':') && port ? "[%s]:%s" : "%s%s%s",
		    ip, port && !strchr(ip, ':') ? ":" : "", port ? port : "");
	if (b.len == 0 || b.len >= sizeof c->peer)
		memcpy(c->peer, "-", 2);
	else
		memcpy(c->peer, b.p, b.len + 1);
	buf_free(&b);
}

static int
pass_cb(char *out, int size, int rwflag, void *arg)
{
	const char *pass = arg;
	size_t n;

	if (pass == NULL)
		return -1;
	n = strlen(pass);
	if (n > (size_t)size)
		return -1;
	memcpy(out, pass, n);
	return (int)n;
}

/* The TLS key: a regular file nobody but its owner may read. */
static int
load_key(const char *path, const char *pass, EVP_PKEY **k, struct err *e)
{
	struct buf b = {0};
	struct stat st;
	BIO *bio = NULL;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_NOPERM,
		    "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = err_set(e, EX_CONFIG, "%s: not a regular file", path);
	else if (st.st_mode & 077)
		rc = err_set(e, EX_NOPERM, "%s: key file is readable by group "
		    "or others (chmod 600)", path);
	else if ((rc = fs_read_fd(fd, KEY_MAX, &b, e)) != 0)
		err_prefix(e, "%s", path);
	close(fd);
	if (rc == 0) {
		bio = BIO_new_mem_buf(b.p, (int)b.len);
		*k = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, (void *)pass);
		if (*k == NULL)
			rc = err_ssl(e, pass ? EX_NOPERM : EX_CONFIG, "%s: cannot "
			    "read the key%s", path, pass ? " (wrong passphrase?)" :
			    " (encrypted? no passphrase given)");
	}
	BIO_free(bio);
	buf_wipe(&b);
	return rc;
}

static int
tls_setup(struct http_conn *c, const struct http_opts *o, struct err *e)
{
	EVP_PKEY *k = NULL;
	int rc;

	if ((c->ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return err_ssl(e, EX_SOFTWARE, "TLS: context");
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (access(o->tls_cert, R_OK) != 0)
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_NOPERM,
		    "%s: %s", o->tls_cert, strerror(errno));
	if (SSL_CTX_use_certificate_chain_file(c->ctx, o->tls_cert) != 1)
		return err_ssl(e, EX_CONFIG, "%s: cannot use the certificate",
		    o->tls_cert);
	if (o->tls_key == NULL)
		return err_set(e, EX_USAGE, "TLS: a certificate needs a key");
	if ((rc = load_key(o->tls_key, o->tls_pass, &k, e)) != 0)
		return rc;
	if (SSL_CTX_use_PrivateKey(c->ctx, k) != 1 ||
	    SSL_CTX_check_private_key(c->ctx) != 1)
		rc = err_ssl(e, EX_CONFIG, "%s: key does not match %s",
		    o->tls_key, o->tls_cert);
	EVP_PKEY_free(k);
	if (rc == 0 && ((c->ssl = SSL_new(c->ctx)) == NULL ||
	    SSL_set_rfd(c->ssl, c->in) != 1 || SSL_set_wfd(c->ssl, c->out) != 1))
		rc = err_ssl(e, EX_SOFTWARE, "TLS: session");
	return rc;
}

/* Wait for what the TLS layer asked for: 1 to retry, 0 to give up. */
static int
tls_wait(struct http_conn *c, int r, long long deadline)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(c->in, POLLIN, deadline);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(c->out, POLLOUT, deadline);
	default:
		return 0;
	}
}

/* A failed handshake is the peer's: logged, and the connection ends. */
static void
tls_handshake(struct http_conn *c, const struct http_opts *o)
{
	long long deadline = conn_now() + (o->timeout_ms > 0 ?
	    o->timeout_ms : 10000);
	struct err e = {0};
	int r;

	while ((r = SSL_accept(c->ssl)) != 1)
		if (!tls_wait(c, r, deadline)) {
			c->dead = 1;
			err_ssl(&e, EX_PROTOCOL, "%s: %s: TLS handshake failed",
			    o->name ? o->name : "http", c->peer);
			fprintf(o->log ? o->log : stderr, "%s%s\n", err_str(&e),
			    conn_now() >= deadline ? ": timeout" : "");
			fflush(o->log ? o->log : stderr);
			break;
		}
	ERR_clear_error();
	err_free(&e);
}

int
conn_open(struct http_conn *c, int in, int out, const struct http_opts *o,
    struct err *e)
{
	int rc = 0, one = 1;

	memset(c, 0, sizeof *c);
	c->fl_in = c->fl_out = -1;
	c->in = in;
	c->out = out;
	peer_name(c);
	if (o->tls_cert != NULL && (rc = tls_setup(c, o, e)) != 0)
		return rc;
	c->fl_in = fcntl(in, F_GETFL);
	c->fl_out = fcntl(out, F_GETFL);
	if (c->fl_in >= 0)
		fcntl(in, F_SETFL, c->fl_in | O_NONBLOCK);
	if (c->fl_out >= 0 && out != in)
		fcntl(out, F_SETFL, c->fl_out | O_NONBLOCK);
	/* each answer leaves in one write: Nagle would only delay the
	 * next one of a pipeline (fails harmlessly on a pipe) */
	setsockopt(out, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (c->ssl != NULL)
		tls_handshake(c, o);
	return 0;
}

static int
fill_tls(struct http_conn *c, char *p, size_t cap, long long deadline)
{
	size_t n;
	int r;

	while ((r = SSL_read_ex(c->ssl, p, cap, &n)) != 1) {
		if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN)
			return CONN_EOF;
		if (!tls_wait(c, r, deadline)) {
			ERR_clear_error();
			return conn_now() >= deadline ? CONN_TIMEOUT : CONN_ERR;
		}
	}
	buf_add(&c->rb, p, n);
	return CONN_OK;
}

int
conn_fill(struct http_conn *c, long long deadline)
{
	char chunk[16384];
	ssize_t n;

	if (c->dead)
		return CONN_ERR;
	if (c->off > 0 && c->off == c->rb.len) {
		buf_reset(&c->rb);
		c->off = 0;
	} else if (c->off > sizeof chunk) {
		memmove(c->rb.p, c->rb.p + c->off, c->rb.len - c->off);
		c->rb.len -= c->off;
		c->rb.p[c->rb.len] = '\0';
		c->off = 0;
	}
	if (c->ssl != NULL)
		return fill_tls(c, chunk, sizeof chunk, deadline);
	/* nothing buffered (a keep-alive client reads our answer before it
	 * sends again): wait first, where a read would mostly say EAGAIN,
	 * one system call less per request */
	if (c->off == c->rb.len && !wait_fd(c->in, POLLIN, deadline))
		return CONN_TIMEOUT;
	for (;;) {
		if ((n = read(c->in, chunk, sizeof chunk)) > 0) {
			buf_add(&c->rb, chunk, (size_t)n);
			return CONN_OK;
		}
		if (n == 0)
			return CONN_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return CONN_ERR;	/* ECONNRESET and friends */
		if (!wait_fd(c->in, POLLIN, deadline))
			return CONN_TIMEOUT;
	}
}

static int
write_tls(struct http_conn *c, const char *p, size_t len, long long deadline)
{
	size_t n;
	int r;

	while (len > 0) {
		if ((r = SSL_write_ex(c->ssl, p, len, &n)) == 1) {
			p += n;
			len -= n;
		} else if (!tls_wait(c, r, deadline)) {
			ERR_clear_error();
			return -1;
		}
	}
	return 0;
}

/* One TLS record for a small answer (two would be two segments). */
static int
write_both_tls(struct http_conn *c, const void *a, size_t alen,
    const void *b, size_t blen, long long deadline)
{
	struct buf one = {0};
	int rc;

	if (blen == 0 || alen + blen > 16384)
		rc = write_tls(c, a, alen, deadline) != 0 ||
		    write_tls(c, b, blen, deadline) != 0 ? -1 : 0;
	else {
		buf_add(&one, a, alen);
		buf_add(&one, b, blen);
		rc = write_tls(c, one.p, one.len, deadline);
		buf_free(&one);
	}
	if (rc != 0)
		c->dead = 1;
	return rc;
}

/* Write a then b, completely, before the deadline (SIGPIPE is ignored by
 * http_serve, so a vanished peer is EPIPE here). */
int
conn_write(struct http_conn *c, const void *a, size_t alen, const void *b,
    size_t blen, long long deadline)
{
	struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };
	struct iovec *v = iov;
	int nv = blen > 0 ? 2 : 1;
	ssize_t n;

	if (c->dead)
		return -1;
	if (c->ssl != NULL)
		return write_both_tls(c, a, alen, b, blen, deadline);
	while (nv > 0) {
		if ((n = writev(c->out, v, nv)) < 0) {
			if (errno == EINTR)
				continue;
			if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
			    !wait_fd(c->out, POLLOUT, deadline))
				return c->dead = 1, -1;
			continue;
		}
		while (nv > 0 && (size_t)n >= v->iov_len) {
			n -= (ssize_t)v->iov_len;
			v++;
			nv--;
		}
		if (nv > 0) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= (size_t)n;
		}
	}
	return 0;
}

void
conn_close(struct http_conn *c)
{
	if (c->ssl != NULL && !c->dead)
		SSL_shutdown(c->ssl);	/* close_notify; no wait for the peer's */
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	ERR_clear_error();
	if (c->fl_in >= 0)
		fcntl(c->in, F_SETFL, c->fl_in);
	if (c->fl_out >= 0 && c->out != c->in)
		fcntl(c->out, F_SETFL, c->fl_out);
	buf_free(&c->rb);
	c->ssl = NULL;
	c->ctx = NULL;
}
