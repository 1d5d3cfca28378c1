/*
 * jobid - the Id of a new job: a UUID of version 7 (RFC 9562 5.7), the
 * millisecond it was made in, then 74 random bits.
 *
 * Ids made later sort later, so the orders table's unique index on the
 * job takes each new one at its end instead of on a random leaf page
 * (which at 100 000 orders meant a page read and a page write per job),
 * and a spool directory lists in arrival order. The random bits keep
 * Ids that are made in the same millisecond, or on other machines,
 * apart; nothing depends on an Id being unguessable.
 */
#ifndef CERTPIPE_JOBID_H
#define CERTPIPE_JOBID_H

#define JOBID_LEN 36

/* A new Id, lower-case hex and dashes, into out (NUL-terminated). */
void jobid_new(char out[JOBID_LEN + 1]);

#endif
