/*
 * spki - the public key of a certificate request, for the signer.
 *
 * OpenSSL 3.0 turns every SubjectPublicKeyInfo it parses into a key
 * through its provider decoders, building a decoder context over every
 * provider each time; for a request that costs several times the
 * signature of the certificate made from it. A signer needs the key's
 * bytes as the request carried them (to copy into the certificate) and
 * the key itself (to check its type), so this reads the request with a
 * template that keeps the SubjectPublicKeyInfo as it is and builds the
 * key straight from its parameters: EC on a named curve, RSA, Ed25519,
 * Ed448. Any other key takes OpenSSL's own (slow) path.
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

#endif
