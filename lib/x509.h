/*
 * x509 - the one wrapper around OpenSSL's X.509: names, certificates,
 * CSRs, chains. No home-made ASN.1: everything goes through OpenSSL 3.
 *
 * Contract: 0 or a sysexits code with e filled (EX_DATAERR for bad
 * input). Objects returned through out-pointers belong to the caller.
 */
#ifndef CERTPIPE_X509_H
#define CERTPIPE_X509_H
#include <time.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "buf.h"
#include "err.h"

struct x509_subject {
	const char *cn, *o, *ou, *c, *st, *l;
};

/* Key usage bits are OpenSSL's KU_* (openssl/x509v3.h), the same
 * bits X509_get_key_usage() reports. */

/* Parse "digitalSignature,keyEncipherment" into bits; EX_DATAERR on an
 * unknown name. */
int x509_ku_parse(const char *list, unsigned *bits, struct err *e);
/* Check "serverAuth,clientAuth,1.3.6.1.4.1.99999.1": known names or
 * dotted OIDs only. */
int x509_eku_check(const char *list, struct err *e);
/* Accept http(s) URLs without spaces, commas or control characters. */
int x509_url_check(const char *what, const char *url, struct err *e);
int x509_oid_check(const char *what, const char *oid, struct err *e);

/* Build and validate a subject (CN required, C two letters, sizes). */
int x509_name_build(const struct x509_subject *s, X509_NAME **out,
    struct err *e);
/* Parse "O=Acme,OU=Ops,C=DE" into s (pointers into a copy kept in *store). */
int x509_subject_parse(const char *text, struct x509_subject *s,
    char **store, struct err *e);
/* One-line RFC 2253 rendering of a name. */
void x509_name_str(const X509_NAME *n, struct buf *out);

struct x509_issue {
	const X509_NAME *subject;
	const struct x509_subject *subject_fields;	/* instead of subject:
					   checked and built in the
					   certificate, as x509_name_build */
	EVP_PKEY *pubkey;		/* the subject's key */
	X509 *issuer;			/* NULL: self-signed by issuer_key */
	EVP_PKEY *issuer_key;
	const char *digest;		/* "sha256"/"sha384"/"sha512"; ignored
					   for EdDSA issuers */
	time_t not_before, not_after;	/* not_after is capped at issuer's */
	int ca;				/* basicConstraints CA:TRUE */
	int path_len;			/* -1: no pathLenConstraint */
	unsigned ku;			/* KU_* bits, 0: omit */
	const char *eku;		/* comma list or NULL */
	const char *const *san;		/* "DNS:a", "IP:1.2.3.4", "email:", "URI:" */
	size_t nsan;
	const char *aia_issuer_url;	/* NULL: omit */
	const char *ocsp_url;		/* NULL: omit */
	const char *crl_url;		/* NULL: omit */
	const char *freshest_url;	/* delta CRLs; NULL: omit */
	int ocsp_nocheck;		/* id-pkix-ocsp-nocheck (OCSP
					   responders, RFC 6960 4.2.2.2.1) */
	const char *policy_oid;		/* NULL: omit certificatePolicies */
	const char *cps_url;		/* with policy_oid; NULL: none */
	const X509_PUBKEY *spki;	/* pubkey as its request carried it,
					   copied as is; NULL: encode pubkey */
	struct x509_unsigned **later;	/* not NULL: see x509_sign_later */
};

/* Build and sign a certificate with a fresh random positive serial of
 * 127 bits of CSPRNG entropy. *capped is set to 1 when not_after was
 * cut to the issuer's notAfter (may be NULL). */
int x509_issue(const struct x509_issue *in, X509 **out, int *capped,
    struct err *e);
/*
 * A certificate built but not yet signed. With in->later set, x509_issue
 * leaves the signature of a certificate whose issuer's signing it knows
 * already (every one after the first it signed with that key and
 * digest) to x509_sign_later: *out is then NULL and *in->later holds
 * the certificate; otherwise it signs as usual and *in->later is NULL.
 *
 * x509_sign_later encodes and signs u's certificate into *out (its DER
 * kept). It touches nothing shared but the issuer's key and caches that
 * x509_issue only appends to, publishing each entry once it is
 * complete: any number of threads may run it on different u at once,
 * also while one thread runs x509_issue, but never while the issuer's
 * key is freed. u stays the caller's: free it with x509_unsigned_free,
 * also after a success.
 */
struct x509_unsigned;
int x509_sign_later(struct x509_unsigned *u, X509 **out, struct err *e);
void x509_unsigned_free(struct x509_unsigned *u);
/* Make a CSR for key with subject, signed with digest (NULL for EdDSA). */
int x509_csr_make(EVP_PKEY *key, const X509_NAME *subject,
    const char *digest, X509_REQ **out, struct err *e);
/* The same with a subjectAltName extension of san[0..nsan-1] ("DNS:x",
 * "IP:1.2.3.4", "email:x", "URI:x"; no commas); nsan 0: none. */
int x509_csr_make_san(EVP_PKEY *key, const X509_NAME *subject,
    const char *digest, const char *const *san, size_t nsan,
    X509_REQ **out, struct err *e);
/* A CSR for key asking for what x names: its subject and its
 * subjectAltName extension, copied as they are (renewals). */
int x509_csr_like(EVP_PKEY *key, X509 *x, const char *digest,
    X509_REQ **out, struct err *e);

/* Read one certificate, PEM or DER. */
int x509_cert_read(const void *data, size_t len, X509 **out, struct err *e);
/* Read every PEM certificate in data (DER: exactly one). */
int x509_certs_read(const void *data, size_t len, STACK_OF(X509) **out,
    struct err *e);
/* Keep x's DER with it, so that x509_pem, x509_der and x509_fingerprint
 * do not encode it again: a certificate x509_issue returns has it kept.
 * Such a certificate must not be changed afterwards. */
void x509_keep_der(X509 *x);
void x509_pem(X509 *x, struct buf *out);
void x509_der(X509 *x, struct buf *out);
void x509_req_pem(X509_REQ *r, struct buf *out);
/* "AB:CD:..." upper-case hex SHA-256 of the DER (as openssl prints it). */
void x509_fingerprint(X509 *x, struct buf *out);
/* Serial in lower-case hex without separators. */
void x509_serial_hex(X509 *x, struct buf *out);
time_t x509_not_before(X509 *x);
time_t x509_not_after(X509 *x);
/* 1 if x's public key equals the SPKI DER spki. */
int x509_key_matches(X509 *x, const void *spki, size_t len);
/* basicConstraints CA:TRUE and keyCertSign present: 0 or EX_DATAERR. */
int x509_check_ca(X509 *x, struct err *e);
/* Verify leaf up to a self-signed certificate in trusted, with untrusted
 * as intermediates. When chain is not NULL it receives the verified path
 * (leaf first, root last; free with OSSL_STACK_OF_X509_free). */
int x509_verify(X509 *leaf, STACK_OF(X509) *trusted,
    STACK_OF(X509) *untrusted, STACK_OF(X509) **chain, struct err *e);

#endif
