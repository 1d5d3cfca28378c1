/*
 * dcv - domain control validation: is an ACME challenge satisfied?
 * (RFC 8555 sections 8.3 and 8.4). The one place that wraps libcurl's
 * fetch of a challenge and the TXT lookup (dns.h); the dcv program, the
 * ACME front end and provisioning call these.
 *
 *     struct dcv_conf c = DCV_CONF_INIT;
 *     rc = dcv_http01(&c, "x.test", token, keyauth, &e);
 *
 * Contract: 0 satisfied; DCV_INVALID (1) not satisfied, for good (wrong
 * content, an HTTP error status, no such record, a refused redirect, a
 * body over DCV_BODY_MAX); EX_TEMPFAIL (75) not known now (timeout,
 * connection refused, name not resolved, SERVFAIL, HTTP 5xx or 429);
 * EX_USAGE for a bad argument (a name that is not a DNS name, a token
 * outside base64url). Every non-zero return fills e with one line
 * naming the check and what was wrong, e.g. "http-01 x.test: got 403".
 */
#ifndef CERTPIPE_DCV_H
#define CERTPIPE_DCV_H
#include <stddef.h>
#include "buf.h"
#include "err.h"

#define DCV_INVALID    1
#define DCV_BODY_MAX   8192	/* bytes of a challenge response body */
#define DCV_REDIRS_MAX 10

struct dcv_conf {
	const char *resolver;	/* dns-01 server "ADDR[:PORT]"; NULL: system */
	unsigned http_port;	/* where port 80 is reached (tests: another) */
	unsigned https_port;	/* where port 443 is reached */
	const char *const *resolve;	/* "NAME:ADDR" entries, NULL-ended */
	int timeout_ms;		/* the whole check, every hop or query */
};
#define DCV_CONF_INIT { NULL, 80, 443, NULL, 10000 }

/* Are the settings usable (the resolver an address, each resolve entry
 * NAME:ADDR)? 0 or EX_USAGE, so a bad setting fails a run at its start
 * rather than each check. */
int dcv_conf_check(const struct dcv_conf *c, struct err *e);

/* GET http://NAME/.well-known/acme-challenge/TOKEN: the body, trailing
 * whitespace aside, must equal keyauth. */
int dcv_http01(const struct dcv_conf *c, const char *name,
    const char *token, const char *keyauth, struct err *e);

/* Some TXT record at _acme-challenge.NAME (CNAMEs followed) must equal
 * one of the n values expect[] (each a key authorization, whose digest
 * is compared, or the digest itself: see dcv_dns01_value). */
int dcv_dns01(const struct dcv_conf *c, const char *name,
    const char *const *expect, size_t n, struct err *e);

/* The TXT value for v into out: base64url(SHA-256(v)) when v is a key
 * authorization (it holds a '.'), else v itself (a digest already). */
void dcv_dns01_value(const char *v, struct buf *out);

/* Is name a DNS name a challenge may be for (LDH labels, no '*')? 1/0 */
int dcv_name_ok(const char *name);

/* Once per process, before any thread: libcurl's global setup. */
int dcv_init(struct err *e);
void dcv_fini(void);

#endif
