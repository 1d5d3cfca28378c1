/*
 * issue - build and sign one end-entity (or sub-CA) certificate from a
 * template, a CA and an already-checked request. Policy decisions are
 * made before this is called (check-policy); what this enforces are the
 * hygiene rules no caller may skip:
 *   - validity: requested days (default the template's) capped by the
 *     template's max-days, never past the issuer's notAfter;
 *   - the CN, when it is a DNS name or IP address, is also in the SAN;
 *   - keyEncipherment only for RSA keys; the digest from the template
 *     (ignored by EdDSA issuers, which sign pure);
 *   - extensions and URLs from the template's include switches; when
 *     the CA is sharded the CDP names the certificate's shard's CRL
 *     (crl_shard_url), and when it publishes delta CRLs an unsharded
 *     certificate carries freshestCRL (lib/crl.h).
 *
 * Contract: 0 or a sysexits code with e filled; *out belongs to the
 * caller. *capped (may be NULL) is set when validity was shortened.
 * With r->later set *out may be NULL and *r->later the certificate,
 * built but unsigned (x509_sign_later).
 *
 * Delegated signers (lib/signer.h): a certificate under the starter
 * ocsp-signing gets id-pkix-ocsp-nocheck and no OCSP URL, one under
 * timestamping a critical extendedKeyUsage.
 */
#ifndef CERTPIPE_ISSUE_H
#define CERTPIPE_ISSUE_H
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>
#include "tmpl.h"

struct issue_req {
	const struct tmpl *tmpl;
	const char *ca_name;		/* for derived URLs */
	X509 *ca_cert;
	EVP_PKEY *ca_key;
	const char *base_url;
	EVP_PKEY *pub;			/* the subject's public key */
	const X509_NAME *subject;
	const struct x509_subject *subject_fields;	/* instead of subject
					   (x509.h) */
	const char *cn;			/* NULL: none */
	const char *const *san;		/* "DNS:x", "IP:x", "email:x", "URI:x" */
	size_t nsan;
	int64_t days;			/* 0: the template's default */
	time_t now;
	const X509_PUBKEY *spki;	/* pub as the request carried it
					   (faster to copy); NULL: none */
	int sharded;			/* the CA's CRLs are sharded: */
	int64_t shard;			/* this certificate's shard */
	int delta;			/* the CA publishes delta CRLs */
	struct x509_unsigned **later;	/* not NULL: the signature may be
					   left to x509_sign_later (x509.h) */
};

int issue_cert(const struct issue_req *r, X509 **out, int *capped,
    struct err *e);

#endif
