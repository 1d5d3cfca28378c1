/*
 * crl - certificate revocation lists (RFC 5280 section 5), streamed
 * from the database: a complete CRL per CA, delta CRLs against it and,
 * for a sharded CA, one CRL per shard with a critical
 * issuingDistributionPoint equal to the shard's CDP URI.
 *
 * The entries are never held in memory: crl_sign runs its query once
 * (db_each: each row reaches the encoder from inside the statement),
 * encoding each entry in place into a 256 KiB block written to an
 * unlinked temporary file in tmpdir (on disk: page cache, not the
 * process's memory), which gives the DER length of revokedCertificates;
 * then it writes the CRL, mapping the file back a window at a time while
 * the signature digest is updated over exactly the bytes written. (Running the query
 * twice would do without the file, at twice the database's cost: the
 * scan is most of the work.) The signature's length must be known
 * before the first byte is written (it is inside the outer SEQUENCE's
 * length): RSA signatures always have the key's size, and an ECDSA
 * signature is made again until its DER has the maximal length
 * EVP_PKEY_get_size reports (each try has a chance of about 1/4).
 * EdDSA cannot digest a stream: for an EdDSA CA the tbsCertList is
 * kept in memory to be signed in one call.
 *
 * Each revokedCertificates entry is DER written here (three fixed
 * shapes: serial, date, reasonCode, invalidityDate), because OpenSSL's
 * template encoder per entry would cost more than the rest of the job;
 * t_crl checks it byte for byte against i2d_X509_REVOKED. Everything
 * else (names, algorithm identifiers, extensions) is OpenSSL's.
 *
 * Which certificates: a complete CRL (and a shard) lists the CA's
 * unexpired certificates whose status is revoked or suspended
 * (certificateHold); a delta lists every certificate whose status
 * entered or left those since the base's change sequence number
 * (table crl_changes, filled by a trigger), with removeFromCRL for one
 * that is no longer on hold.
 *
 * Contract: 0 or a sysexits code with e filled. URL functions return
 * malloc'd strings (NULL when there is no base URL).
 */
#ifndef CERTPIPE_CRL_H
#define CERTPIPE_CRL_H
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <openssl/x509.h>
#include "buf.h"
#include "db.h"
#include "err.h"

#define CRL_FULL  0
#define CRL_DELTA 1
#define CRL_SHARD 2

/* A CA's CRL settings (table cas; `certpipe ca set`). */
struct crl_settings {
	int64_t days;		/* nextUpdate of complete CRLs, 1..366 */
	int64_t delta_hours;	/* 0: no delta CRLs */
	int64_t shards;		/* 0: not sharded */
};

int crl_settings_load(struct db *db, int64_t ca_id, struct crl_settings *s,
    struct err *e);

/* One CRL to make: what publish-crl decides and sign is told. */
struct crl_job {
	int64_t ca_id, number;
	int kind;		/* CRL_FULL, CRL_DELTA, CRL_SHARD */
	int64_t shard;		/* CRL_SHARD */
	int64_t base;		/* CRL_DELTA: the base CRL's number */
	int64_t since;		/* CRL_DELTA: the base's last change seq */
	int freshest;		/* CRL_FULL: add freshestCRL (deltas on) */
	time_t this_update, next_update;
	int64_t prev;		/* CRL_FULL, CRL_SHARD: the number of the
				 * last one published of the same kind
				 * (and shard), 0: none or do not reuse */
};

/* "ca=1,number=2,kind=full,..." and back; parse checks every field. */
void crl_job_fmt(const struct crl_job *j, struct buf *out);
int crl_job_parse(const char *s, struct crl_job *j, struct err *e);

/* <base>/crl/<ca>.crl, <ca>-delta.crl, <ca>-<shard>.crl. */
char *crl_url(const char *base_url, const char *ca, int kind, int64_t shard);
/* The shard's URL from a certificate's CDP URL: "x.crl" -> "x-3.crl". */
char *crl_shard_url(const char *cdp, int64_t shard);
/* The file name under pub/crl/ for a URL made by crl_url. */
void crl_file(const char *ca, int kind, int64_t shard, struct buf *out);

struct crl_signer {
	int64_t realm_id;
	const char *ca_name;
	X509 *cert;
	EVP_PKEY *key;
	const char *digest;	/* NULL: pure EdDSA */
	const char *base_url;
	const char *tmpdir;	/* where the entries are spilled */
	const char *crldir;	/* pub/crl/: the previous CRLs */
};

/* How a CRL was made. */
struct crl_stats {
	int64_t entries;	/* revokedCertificates entries */
	int64_t from;		/* the CRL reused; 0: from the database */
	int64_t kept, dropped, added;	/* from it, the entries */
};

/* Build and sign job's CRL and write its DER to out; *st (may be NULL)
 * says how. */
int crl_sign(struct db *db, const struct crl_signer *s,
    const struct crl_job *j, FILE *out, struct crl_stats *st,
    struct err *e);

/*
 * The previous complete CRL, reused (crl_sign with job->prev): a new
 * complete CRL (or shard) is the last one's entries, less those of the
 * certificates that changed since (crl_changes) or expired, plus the
 * changed ones' current entries. Its file is read, not trusted: its
 * structure is checked here, then crl_sign verifies its signature with
 * the CA's key and that its crlNumber is job->prev, whose row says what
 * it covered. Anything amiss and the CRL is made from the database.
 *
 * crl_prev_parse: offsets into der of the parts, and the CRL number; -1
 * when it is not a DER CRL v2 with exactly one crlNumber.
 * crl_prev_entry: the revokedCertificates entry at p (left bytes up to
 * the end of the list): 1 with its serial's INTEGER contents and its
 * length, 0 at the end, -1 when malformed.
 */
struct crl_prev {
	size_t tbs_off, tbs_len;	/* tbsCertList, tag to end */
	size_t sigalg_off, sigalg_len;	/* signatureAlgorithm, whole */
	size_t sig_off, sig_len;	/* the signature's bytes */
	size_t issuer_off, issuer_len;	/* issuer Name, whole */
	size_t ent_off, ent_len;	/* revokedCertificates' contents */
	int64_t number;			/* crlNumber */
	int delta;			/* has a deltaCRLIndicator */
};

int crl_prev_parse(const unsigned char *der, size_t len, struct crl_prev *p);
int crl_prev_entry(const unsigned char *p, size_t left,
    const unsigned char **serial, size_t *slen, size_t *elen);

/* One revokedCertificates entry (exposed for t_crl): serial in hex,
 * dates RFC 3339 UTC, reason -1 for none, invalid NULL for none. */
int crl_entry(struct buf *out, const char *serial, const char *date,
    int reason, const char *invalid, struct err *e);

#endif
