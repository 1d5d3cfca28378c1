/*
 * ocsp - OCSP (RFC 6960, RFC 5019) for the responder: reading a request,
 * building a signed response, and the pre-signed store the responses
 * live in.
 *
 * The store (pub/ocsp/, see ocsp-sign(1)) holds one DER OCSPResponse per
 * certificate and CertID hash algorithm:
 *
 *     <root>/<alg>/<issuerNameHash hex>-<issuerKeyHash hex>/<serial hex>.der
 *
 * alg is "sha1" or "sha256"; hashes and serial are lower-case hex, the
 * serial without leading zeros (as x509_serial_hex writes it). The path
 * is a pure function of a request's CertID, so a lookup is one open(2),
 * and any static web server can serve the same tree. An issuer
 * directory that exists makes its issuer "known" (a missing serial is
 * then "unknown", not "unauthorized").
 *
 * The front end (lib/ocsp_http.c) answers by lookup and never holds a
 * key; requests that need a signature made now (a nonce, a serial not in
 * the store, several CertIDs) go to the key holder `ocsp-sign --live`
 * over a pipe pair in frames (ocsp_frame_*).
 *
 * Contract: 0 or a sysexits code with e filled; EX_DATAERR means the
 * request is malformed (answer malformedRequest), EX_NOPERM that it is
 * signed and the signature does not verify (answer unauthorized). Objects returned
 * through out-pointers belong to the caller; ocsp_query_free and
 * ocsp_signer_free take zeroed structs.
 */
#ifndef CERTPIPE_OCSP_H
#define CERTPIPE_OCSP_H
#include <stddef.h>
#include <time.h>
#include <openssl/ocsp.h>
#include "buf.h"
#include "err.h"

#define OCSP_MAX_REQUEST 8192	/* bytes of DER (RFC 5019 ones are ~100) */
#define OCSP_MAX_IDS     16	/* CertIDs in one request */
#define OCSP_MAX_NONCE   32	/* RFC 8954 */
#define OCSP_MAX_RESPONSE (64 * 1024)

/* Where one CertID's response lives in the store. */
struct ocsp_key {
	char dir[8 + 2 * 64 + 1 + 2 * 64 + 1];	/* "sha256/<nh>-<kh>" */
	char serial[2 * 64 + 1];		/* hex, "" when not positive */
};

struct ocsp_query {
	OCSP_REQUEST *req;
	int n;			/* CertIDs */
	int nonce;		/* 1: carries a (valid) nonce */
	int sig;		/* 1: signed, and the signature verified */
	struct ocsp_key key;	/* of the first CertID */
};

/* Decode and check a DER OCSPRequest: one to OCSP_MAX_IDS CertIDs with
 * SHA-1 or SHA-256 hashes of the right length, a nonce (if any) of 1 to
 * 32 octets, EX_DATAERR otherwise; and when it is signed (RFC 6960
 * 4.1.2), a requestorName (EX_DATAERR) and a signature that verifies
 * with the request's certificate of that name (EX_NOPERM). */
int ocsp_query_parse(const void *der, size_t len, struct ocsp_query *q,
    struct err *e);
void ocsp_query_free(struct ocsp_query *q);
/* The store key of one CertID (EX_DATAERR: an algorithm not stored). */
int ocsp_key_of(OCSP_CERTID *id, struct ocsp_key *k, struct err *e);

/* The status to state for one certificate. */
struct ocsp_status {
	int status;		/* V_OCSP_CERTSTATUS_GOOD, _REVOKED, ... */
	time_t revoked_at;	/* revoked */
	int reason;		/* CRLReason, -1: none stated */
	time_t invalid_since;	/* 0: no invalidityDate */
};

/* A delegated responder: its certificate and key, and the CA it
 * answers for. */
struct ocsp_signer {
	X509 *cert;
	EVP_PKEY *key;
	X509 *issuer;
};
void ocsp_signer_free(struct ocsp_signer *s);

/* The CertID of serial (hex) under issuer with md (EVP_sha1() or
 * EVP_sha256()). */
int ocsp_certid(X509 *issuer, const EVP_MD *md, const char *serial,
    OCSP_CERTID **out, struct err *e);
/* A successful response for n CertIDs with their statuses, responder ID
 * by key hash, thisUpdate now, nextUpdate next (0: omitted), the
 * signer's certificate included, the nonce of req echoed (req may be
 * NULL). OCSP_EXTENDED_REVOKE adds the RFC 6960 section 4.4.8
 * extension (revoked also means "never issued"). */
#define OCSP_EXTENDED_REVOKE 0x01
int ocsp_sign(const struct ocsp_signer *s, OCSP_CERTID *const *ids,
    const struct ocsp_status *st, size_t n, time_t now, time_t next,
    OCSP_REQUEST *req, unsigned flags, struct buf *der, struct err *e);
/* The OCSPResponseStatus of a DER response; internalError when it is
 * not one. */
int ocsp_status_of(const void *der, size_t len);
/* An unsuccessful response (OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, ...). */
void ocsp_error(int status, struct buf *der);

/* What a stored response says about its (first) certificate. */
struct ocsp_stored {
	struct ocsp_status st;
	time_t this_update, next_update;	/* next_update 0: none */
};
/* Read a stored successful response (EX_DATAERR: not one). */
int ocsp_stored_read(const void *der, size_t len, struct ocsp_stored *out,
    struct err *e);
/* 1 when the stored response's responder ID names signer (0 otherwise,
 * or when it is not a successful response): a rotated signer makes its
 * responses due. */
int ocsp_stored_by(const void *der, size_t len, X509 *signer);

/* The store: a directory fd on the root. */
struct ocsp_store {
	int fd;
};
int ocsp_store_open(const char *root, struct ocsp_store *s, struct err *e);
void ocsp_store_close(struct ocsp_store *s);

#define OCSP_HIT      0
#define OCSP_NOSERIAL 1		/* known issuer, serial not stored */
#define OCSP_NOISSUER 2		/* issuer not in the store */
/* Look k up: OCSP_HIT with the response in out, OCSP_NOSERIAL,
 * OCSP_NOISSUER, or -1 with e filled (I/O). */
int ocsp_store_get(const struct ocsp_store *s, const struct ocsp_key *k,
    struct buf *out, struct err *e);
/* Is there an issuer directory for k? (1/0) */
int ocsp_store_issuer(const struct ocsp_store *s, const struct ocsp_key *k);

/* Frames on the pipe pair to and from `ocsp-sign --live`: a 4-byte
 * big-endian length, then that many bytes (at most max). Read returns 0
 * with the frame, 1 at a clean end of input, or a sysexits code. */
int ocsp_frame_write(int fd, const void *p, size_t len, struct err *e);
int ocsp_frame_read(int fd, size_t max, struct buf *out, struct err *e);

/*
 * The front end's side (lib/ocsp_http.c): answer a request by lookup,
 * or through the live signer, started on first need and kept for the
 * connection. helper is its argv (`ocsp-sign --live ...`); NULL means
 * there is none and what needs it gets tryLater.
 */
struct ocsp_front {
	struct ocsp_store store;
	char *const *helper;
	int pid, to, from;		/* the helper; pid 0: not running */
	int dead;			/* it failed once: do not retry */
	int require_signed;		/* unsigned requests: sigRequired */
	/* A keep-alive client asks the same again: the last request that
	 * parsed and the last stored response read, with what parsing gave,
	 * so an identical one costs a comparison, not a parse. The store
	 * is still read for every request (a replaced file is seen). */
	struct buf last_req, last_resp;
	struct ocsp_query last_q;	/* without req */
	struct ocsp_stored last_st;
	char etag[35];			/* of last_resp, "" when not made */
};
struct ocsp_answer {
	struct buf der;			/* the OCSPResponse */
	int status;			/* its OCSPResponseStatus */
	int stored;			/* 1: pre-signed, may be cached */
	time_t this_update, next_update; /* stored: for caching headers */
};
void ocsp_front_init(struct ocsp_front *f, int store_fd, char *const *helper);
/* Always fills a with a response; a->status says which. */
void ocsp_answer(struct ocsp_front *f, const void *der, size_t len,
    time_t now, struct ocsp_answer *a);
void ocsp_answer_free(struct ocsp_answer *a);
/* Stop the helper (close its pipes, reap it). */
void ocsp_front_close(struct ocsp_front *f);

struct http_req;
struct http_resp;
/* The HTTP handler (arg: struct ocsp_front *): POST
 * application/ocsp-request, GET <prefix>/<base64 DER> with RFC 5019
 * caching headers and 304 on If-None-Match. */
int ocsp_http(const struct http_req *r, struct http_resp *rs, void *arg);

#endif
