/*
 * http_conn - the connection under http_serve: buffered reads and
 * complete writes on two fds, plain or TLS, each bounded by a deadline.
 * Internal to lib/http*.c; front ends use http.h.
 *
 * Contract: conn_open returns 0 or a sysexits code with e filled when
 * the connection cannot be served at all (TLS setup: files, key mode,
 * passphrase); a failed TLS handshake is the peer's problem and leaves
 * c->dead set. conn_fill returns CONN_OK (bytes appended to c->rb),
 * CONN_EOF, CONN_TIMEOUT or CONN_ERR (reset, broken pipe, TLS error).
 * conn_write sends everything or fails. Deadlines are CLOCK_MONOTONIC
 * milliseconds (conn_now).
 */
#ifndef CERTPIPE_HTTP_CONN_H
#define CERTPIPE_HTTP_CONN_H
#include <stddef.h>
#include <openssl/ssl.h>
#include "http.h"

enum { CONN_OK = 1, CONN_EOF = 0, CONN_TIMEOUT = -1, CONN_ERR = -2 };

struct http_conn {
	int in, out;
	int fl_in, fl_out;		/* fd flags to restore at the end */
	SSL_CTX *ctx;
	SSL *ssl;
	int dead;			/* no further I/O: peer gone or TLS failed */
	struct buf rb;			/* bytes read; consumed up to off */
	size_t off;
	char peer[80];
};

long long conn_now(void);
int conn_open(struct http_conn *c, int in, int out,
    const struct http_opts *o, struct err *e);
int conn_fill(struct http_conn *c, long long deadline);
int conn_write(struct http_conn *c, const void *a, size_t alen,
    const void *b, size_t blen, long long deadline);
void conn_close(struct http_conn *c);

#endif
