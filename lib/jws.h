/*
 * jws - JSON Web Signatures as ACME uses them (RFC 7515, RFC 8555 6.2):
 * the flattened JSON serialization only, read with jansson.
 *
 * jws_parse reads {"protected", "payload", "signature"} (no other member,
 * no unprotected "header"), decodes the protected header and the payload
 * (base64url without padding, strictly), and fills the fields below from
 * the protected header. It checks syntax only; jws_verify checks the
 * signature with a public key, jws_hmac_verify an EAB MAC.
 *
 * Algorithms: RS256 (RSA >= 2048), ES256/ES384/ES512 (P-256/384/521,
 * signature raw r||s of exactly twice the field size), EdDSA (Ed25519,
 * Ed448); HS256/HS384/HS512 only through jws_hmac_verify. "none" and
 * anything else is refused.
 *
 * Contract: 0 or a sysexits code with e filled (EX_DATAERR: malformed,
 * EX_NOPERM: the signature or MAC does not verify). When a function fails
 * because of the algorithm, j->bad_alg is set (ACME answers
 * badSignatureAlgorithm). Everything in struct jws is owned by it and
 * released by jws_free (fine on a zeroed struct). jwk_key returns a new
 * EVP_PKEY owned by the caller.
 */
#ifndef CERTPIPE_JWS_H
#define CERTPIPE_JWS_H
#include <jansson.h>
#include <openssl/evp.h>
#include "buf.h"
#include "err.h"

#define JWS_ALGS "RS256 ES256 ES384 ES512 EdDSA"	/* for messages */

struct jws {
	json_t *root;			/* the whole object */
	json_t *hdr;			/* the decoded protected header */
	const char *alg, *nonce, *url, *kid;	/* NULL when absent */
	json_t *jwk;			/* borrowed from hdr, or NULL */
	struct buf payload;		/* decoded; len 0 for POST-as-GET */
	struct buf input;		/* "protected.payload" as sent */
	struct buf sig;			/* decoded signature */
	int bad_alg;
};

int jws_parse(const void *data, size_t len, struct jws *j, struct err *e);
/* Parse a JWS that is itself a JSON value (the EAB and keyChange inner
 * JWS); the object is not kept. */
int jws_parse_json(json_t *o, struct jws *j, struct err *e);
/* Verify the signature with k; the alg must fit the key. */
int jws_verify(struct jws *j, EVP_PKEY *k, struct err *e);
/* Verify an HS256/HS384/HS512 MAC with key (in constant time). */
int jws_hmac_verify(struct jws *j, const unsigned char *key, size_t klen,
    struct err *e);
void jws_free(struct jws *j);

/* A public key from a JWK (RSA, EC P-256/384/521, OKP Ed25519/Ed448);
 * refused (EX_DATAERR) when certpipe would not accept the key. */
int jwk_key(json_t *jwk, EVP_PKEY **out, struct err *e);
/* The RFC 7638 SHA-256 thumbprint of jwk, base64url, into out. */
int jwk_thumbprint(json_t *jwk, struct buf *out, struct err *e);

/* base64url without padding (RFC 7515 2); decoding refuses padding,
 * whitespace and non-zero trailing bits: EX_DATAERR. */
void b64u_encode(const void *p, size_t n, struct buf *out);
int b64u_decode(const char *s, size_t n, struct buf *out, struct err *e);

#endif
