/*
 * dns - a small stub resolver for TXT records, against one explicit
 * server (so tests point it at a DNS server on 127.0.0.1).
 *
 *     struct dns_txt t = {0};
 *     rc = dns_txt("127.0.0.1:5353", "_acme-challenge.x.test", 5000,
 *         &t, &e);
 *
 * One question per query (RD set, no EDNS), a random id; a reply counts
 * only when it comes from the server asked, carries that id and repeats
 * the question; anything else is ignored until the deadline. A
 * truncated UDP reply is asked again over TCP. CNAMEs are followed,
 * inside one reply or with new queries, at most DNS_MAX_CNAME hops.
 * The parser (dns_parse) takes hostile bytes: every length and
 * compression pointer is checked, and names keep any byte outside
 * [A-Za-z0-9-_*] as \DDD so that no odd label can equal a real name.
 *
 * Contract: functions return 0 or a sysexits code with e filled:
 * EX_TEMPFAIL for what may pass (timeout, refused, SERVFAIL, REFUSED, a
 * malformed reply), EX_USAGE for a bad server address or name. An
 * answer with no TXT (NXDOMAIN or no data) is 0 with t->n == 0 and
 * t->nxdomain telling which. Returned memory is owned by the struct
 * and released by its _free (which accepts a zeroed struct).
 */
#ifndef CERTPIPE_DNS_H
#define CERTPIPE_DNS_H
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"

#define DNS_NAME_MAX   1025	/* presentation form, escapes included */
#define DNS_MAX_CNAME  8
#define DNS_MAX_RR     256	/* records kept from one reply */
#define DNS_T_CNAME    5
#define DNS_T_TXT      16
#define DNS_RCODE_OK       0
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3

/* One resource record of a reply's answer section: its owner name in
 * lower case without the final dot, and for TXT the character-strings
 * concatenated (may hold any byte), for CNAME the target name. */
struct dns_rr {
	int type;
	char *owner;
	struct buf data;
};

struct dns_msg {
	uint16_t id;
	int rcode, tc;
	size_t nrr;
	struct dns_rr *rr;
};

/* The TXT values found (each record's strings concatenated). */
struct dns_txt {
	size_t n;
	struct buf *v;
	int nxdomain;		/* the final name does not exist */
	char *name;		/* the name the TXT records belong to */
};

/* A query for (name, type) with the given id into out (replaced). */
int dns_query(const char *name, int type, uint16_t id, struct buf *out,
    struct err *e);
/* Parse a reply to the query (id, name, type): EX_DATAERR when it is
 * malformed or answers another question. */
int dns_parse(const void *p, size_t len, uint16_t id, const char *name,
    int type, struct dns_msg *m, struct err *e);
void dns_msg_free(struct dns_msg *m);

/* "ADDR", "ADDR:PORT", "[V6]:PORT" (port 53 by default); NULL means
 * the first nameserver of /etc/resolv.conf (127.0.0.1 if none). */
int dns_txt(const char *server, const char *name, int timeout_ms,
    struct dns_txt *t, struct err *e);
void dns_txt_free(struct dns_txt *t);
/* Is server (as for dns_txt, not NULL) an address? 0 or EX_USAGE. */
int dns_server_check(const char *server, struct err *e);

#endif
