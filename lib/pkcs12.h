/*
 * pkcs12 - PKCS#12 (PFX) files that hand a server-side generated key to
 * its owner, through OpenSSL's PKCS12_create: nothing home-made.
 *
 * A file holds the key, its certificate and the chain, each bag
 * encrypted with AES-256-CBC under PBES2/PBKDF2 (HMAC-SHA-256), and the
 * whole protected by an HMAC-SHA-256 MAC, all under one password.
 * p12_password makes that password: 144 bits from RAND_bytes written as
 * 24 base64url characters, so it can be typed and pasted.
 *
 * Contract: 0 or a sysexits code with e filled. Output is appended to
 * out; the caller owns it and should buf_wipe the password when done.
 */
#ifndef CERTPIPE_PKCS12_H
#define CERTPIPE_PKCS12_H
#include <openssl/x509.h>
#include "buf.h"
#include "err.h"

#define P12_PASSWORD_BYTES 18	/* 144 bits, 24 base64url characters */

int p12_password(struct buf *out, struct err *e);
/* The DER of a PKCS#12 holding key, cert (which must be key's) and
 * chain (may be NULL), cert and key labelled name (may be NULL). */
int p12_build(EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain,
    const char *name, const char *pass, struct buf *out, struct err *e);

#endif
