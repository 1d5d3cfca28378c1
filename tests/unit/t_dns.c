/* t_dns - the DNS query builder and the reply parser, on built bytes. */
#include <stdlib.h>
#include <string.h>
#include "dns.h"
#include "tap.h"

#define ID 0x1234
#define Q  "_acme-challenge.x.test"

/* A reply to Q (TXT) with flags f, rcode rc and an answer count; the
 * question is taken from the query builder so both sides agree. */
static void
reply(struct buf *b, unsigned flags, unsigned rc, unsigned an)
{
	struct err e = {0};

	dns_query(Q, DNS_T_TXT, ID, b, &e);
	b->p[2] = (char)(0x80 | flags);		/* QR */
	b->p[3] = (char)(0x80 | rc);		/* RA */
	b->p[7] = (char)an;
	err_free(&e);
}

/* An answer record: owner as a pointer to the question (offset 12),
 * then type, class IN, ttl, rdata. */
static void
rr(struct buf *b, const void *owner, size_t olen, unsigned type,
    const void *rdata, size_t rdlen)
{
	unsigned char h[10] = { 0, (unsigned char)type, 0, 1, 0, 0, 0, 60,
	    (unsigned char)(rdlen >> 8), (unsigned char)rdlen };

	buf_add(b, owner, olen);
	buf_add(b, h, sizeof h);
	buf_add(b, rdata, rdlen);
}

static const unsigned char at_q[] = { 0xc0, 12 };

static int
parse(const struct buf *b, struct dns_msg *m, struct err *e)
{
	return dns_parse(b->p, b->len, ID, Q, DNS_T_TXT, m, e);
}

static void
t_query(void)
{
	struct buf b = {0};
	struct err e = {0};
	static const unsigned char want[] = {
		0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		1, 'a', 2, 'b', 'c', 0, 0, 16, 0, 1,
	};

	is_int(dns_query("a.bc", DNS_T_TXT, ID, &b, &e), 0, "query built");
	ok(b.len == sizeof want && memcmp(b.p, want, b.len) == 0,
	    "query bytes: id, RD, one question, TXT IN");
	is_int(dns_query("a.bc.", DNS_T_TXT, ID, &b, &e), 0, "final dot");
	ok(b.len == sizeof want, "final dot: same bytes");
	is_int(dns_query("a..b", DNS_T_TXT, ID, &b, &e), EX_USAGE,
	    "empty label refused");
	is_int(dns_query("a b", DNS_T_TXT, ID, &b, &e), EX_USAGE,
	    "space refused");
	is_int(dns_query("", DNS_T_TXT, ID, &b, &e), EX_USAGE,
	    "empty name refused");
	buf_free(&b);
	err_free(&e);
}

static void
t_txt(void)
{
	static const unsigned char multi[] = { 3, 'a', 'b', 'c', 0, 2, 'd',
	    'e' };
	struct dns_msg m;
	struct buf b = {0};
	struct err e = {0};

	reply(&b, 0, 0, 2);
	rr(&b, at_q, 2, DNS_T_TXT, multi, sizeof multi);
	rr(&b, at_q, 2, 1, "\x7f\0\0\1", 4);	/* an A record: skipped */
	is_int(parse(&b, &m, &e), 0, "reply parsed");
	is_int((long long)m.nrr, 1, "one TXT kept, the A skipped");
	is_str(m.rr[0].owner, Q, "owner via compression pointer");
	is_str(m.rr[0].data.p, "abcde", "strings concatenated (empty too)");
	dns_msg_free(&m);

	buf_reset(&b);
	reply(&b, 0, 0, 1);
	rr(&b, at_q, 2, DNS_T_TXT, "\5ab", 3);
	is_int(parse(&b, &m, &e), EX_DATAERR, "TXT string past its record");
	buf_reset(&b);
	reply(&b, 0, 0, 1);
	rr(&b, at_q, 2, DNS_T_TXT, "\1a", 2);
	b.len--;		/* rdata cut short */
	is_int(parse(&b, &m, &e), EX_DATAERR, "rdata past the end");
	buf_free(&b);
	err_free(&e);
}

static void
t_header(void)
{
	struct dns_msg m;
	struct buf b = {0};
	struct err e = {0};

	reply(&b, 0, 0, 0);
	is_int(dns_parse(b.p, b.len, ID + 1, Q, DNS_T_TXT, &m, &e),
	    EX_DATAERR, "another id refused");
	is_int(dns_parse(b.p, b.len, ID, "y.test", DNS_T_TXT, &m, &e),
	    EX_DATAERR, "another question refused");
	is_int(dns_parse(b.p, b.len, ID, Q, DNS_T_CNAME, &m, &e),
	    EX_DATAERR, "another type refused");
	is_int(dns_parse(b.p, 11, ID, Q, DNS_T_TXT, &m, &e), EX_DATAERR,
	    "short header refused");
	is_int(dns_parse(b.p, b.len, ID, "_ACME-challenge.X.test.",
	    DNS_T_TXT, &m, &e), 0, "question compared without case");
	b.p[2] = 0;
	is_int(parse(&b, &m, &e), EX_DATAERR, "a query is not a reply");
	buf_reset(&b);
	reply(&b, 0, DNS_RCODE_NXDOMAIN, 0);
	is_int(parse(&b, &m, &e), 0, "NXDOMAIN parsed");
	is_int(m.rcode, DNS_RCODE_NXDOMAIN, "rcode kept");
	buf_reset(&b);
	reply(&b, 0x02, 0, 1);		/* TC, answer ignored */
	rr(&b, at_q, 2, DNS_T_TXT, "\1a", 2);
	is_int(parse(&b, &m, &e), 0, "truncated parsed");
	ok(m.tc == 1 && m.nrr == 0, "truncated: flagged, answers ignored");
	buf_free(&b);
	err_free(&e);
}

static void
t_names(void)
{
	/* a CNAME whose target uses a pointer into its own owner name,
	 * and a label with a dot and a NUL byte in it */
	static const unsigned char odd[] = { 3, 'a', '.', 0, 4, 't', 'e', 's',
	    't', 0 };
	unsigned char loop[] = { 0xc0, 0 };
	struct dns_msg m;
	struct buf b = {0};
	struct err e = {0};
	size_t self;

	reply(&b, 0, 0, 2);
	rr(&b, at_q, 2, DNS_T_CNAME, "\1y\xc0\x1c", 4);	/* y.x.test */
	rr(&b, odd, sizeof odd, DNS_T_TXT, "\1v", 2);
	is_int(parse(&b, &m, &e), 0, "CNAME and odd owner parsed");
	is_str(m.rr[0].data.p, "y.x.test", "CNAME target decompressed");
	is_str(m.rr[1].owner, "a\\046\\000.test",
	    "odd bytes escaped, so never a real name");
	dns_msg_free(&m);

	buf_reset(&b);
	reply(&b, 0, 0, 1);
	self = b.len;
	loop[0] = (unsigned char)(0xc0 | self >> 8);
	loop[1] = (unsigned char)self;
	rr(&b, loop, 2, DNS_T_TXT, "\1v", 2);
	is_int(parse(&b, &m, &e), EX_DATAERR, "pointer to itself refused");
	buf_reset(&b);
	reply(&b, 0, 0, 1);
	loop[0] = 0xc0;
	loop[1] = 0xff;
	rr(&b, loop, 2, DNS_T_TXT, "\1v", 2);
	is_int(parse(&b, &m, &e), EX_DATAERR, "forward pointer refused");
	buf_reset(&b);
	reply(&b, 0, 0, 1);
	rr(&b, "\x40", 1, DNS_T_TXT, "\1v", 2);
	is_int(parse(&b, &m, &e), EX_DATAERR, "label type 01 refused");
	buf_free(&b);
	err_free(&e);
}

int
main(void)
{
	t_query();
	t_txt();
	t_header();
	t_names();
	return tap_done();
}
