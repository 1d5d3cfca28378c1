/*
 * spki - the public key of a certificate request, for the signer.
 *
 * OpenSSL 3.0 turns every SubjectPublicKeyInfo it parses into a key
 * through its provider decoders, building a decoder context over every
 * provider each time; for a request that costs several times the
 * signature of the certificate made from it. A signer needs the key's
 * bytes as the request carried them (to copy into the certificate) and
 * the key itself (to check its type), so spki_from_req walks the DER
 * headers to the request's SubjectPublicKeyInfo (the subject and the
 * attributes are not decoded), reads it with a template that keeps it as
 * it is, and builds the key straight from its parameters: EC on a named
 * curve, RSA, Ed25519, Ed448. Any other key takes OpenSSL's own (slow)
 * path, which decodes the whole request.
 *
 * The request's signature is NOT checked here: parse-csr did that, and
 * the order's facts digest pins the request's bytes.
 *
 * Contract: 0 or EX_DATAERR with e filled. *spki and *pub belong to the
 * caller (X509_PUBKEY_free, EVP_PKEY_free) and describe the same key.
 * i2d_X509_PUBKEY(*spki) is the request's SubjectPublicKeyInfo, byte
 * for byte. *spki may carry no decoded key (X509_PUBKEY_get0 on it fails:
 * decoding is what this avoids); the key is *pub.
 */
#ifndef CERTPIPE_SPKI_H
#define CERTPIPE_SPKI_H
#include <stddef.h>
#include <openssl/x509.h>
#include "err.h"

int spki_from_req(const void *der, size_t len, X509_PUBKEY **spki,
    EVP_PKEY **pub, struct err *e);

/*
 * The same reading for parse-csr, which also checks the request's
 * signature. spki_req_read returns 1 with r filled when the request is
 * plain enough for it: DER with definite lengths and nothing after it,
 * a key the fast path above knows. It returns 0 otherwise, with nothing
 * to free: OpenSSL's own X509_REQ reader must decide. Everything r
 * points to belongs to r (spki_req_free; a zeroed r is fine).
 *
 * spki_req_verify checks the request's signature over its
 * CertificationRequestInfo as received, as X509_REQ_verify does: 1 it
 * verifies, 0 it does not, -1 an algorithm it leaves to X509_REQ_verify
 * (anything but ECDSA or RSA PKCS#1 v1.5 with SHA-2, a key of another
 * type than the algorithm's, unusual parameters).
 */
struct spki_req {
	void *raw;				/* the parse */
	const X509_NAME *subject;
	const STACK_OF(X509_ATTRIBUTE) *attrs;	/* NULL: none */
	const unsigned char *tbs;		/* into the caller's der */
	size_t tbslen;
	const X509_ALGOR *sig_alg;
	const ASN1_BIT_STRING *sig;
	EVP_PKEY *pub;
};

int spki_req_read(const void *der, size_t len, struct spki_req *r);
int spki_req_verify(const struct spki_req *r);
void spki_req_free(struct spki_req *r);

#endif
