/*
 * keys - key generation, passphrases, and the key store.
 *
 * The key store is the ONE interface to private keys at rest. A key is
 * named by a reference string stored in the database:
 *     file:keys/<uuid>.key   PKCS#8, AES-256-CBC, PBKDF2 (PKCS#5 v2),
 *                            mode 0600 inside keys/ (0700)
 * Further backends (a YubiKey PIV slot via libykpiv: "ykpiv:9c") slot in
 * behind keys_store/keys_load without touching callers.
 *
 * Passphrases never come from argv: in order, an fd (--passphrase-fd),
 * a file (--passphrase-file), $CERTPIPE_PASSPHRASE, the instance's
 * passphrase_file setting. The first line of the source is used.
 *
 * Contract: 0 or a sysexits code with e filled. A wrong passphrase is
 * EX_NOPERM. Returned EVP_PKEY and ref strings belong to the caller
 * (EVP_PKEY_free, free). secret_free wipes and may take a zeroed struct.
 */
#ifndef CERTPIPE_KEYS_H
#define CERTPIPE_KEYS_H
#include <openssl/evp.h>
#include "conf.h"
#include "err.h"

struct key_alg {
	const char *name;	/* "rsa-2048", "ec-256", "ed25519", ... */
	int type;		/* EVP_PKEY_RSA, EVP_PKEY_EC, EVP_PKEY_ED25519, ... */
	int bits;		/* RSA modulus / EC field size / 0 */
	const char *group;	/* EC group name or NULL */
	const char *digest;	/* natural digest; NULL for pure EdDSA */
};

/* NULL for an unknown name. */
const struct key_alg *keys_alg(const char *name);
/* The algorithm of an existing (public) key, or NULL when it is not one
 * certpipe accepts (RSA < 2048, unknown curve, ...). */
const struct key_alg *keys_alg_of(const EVP_PKEY *k);
/* "rsa-2048, rsa-3072, ..." for messages and help. */
const char *keys_alg_list(void);
/* EdDSA keys sign "pure": no separate digest. */
int keys_is_eddsa(const EVP_PKEY *k);

int keys_generate(const struct key_alg *alg, EVP_PKEY **out, struct err *e);

struct secret {
	struct buf b;
};
struct secret_src {
	const char *file;	/* NULL: not given */
	int fd;			/* -1: not given */
};
int secret_get(const struct secret_src *src, const struct conf *c,
    struct secret *out, struct err *e);
void secret_free(struct secret *s);

int keys_store(const struct conf *c, EVP_PKEY *k, const struct secret *pass,
    char **ref, struct err *e);
int keys_load(const struct conf *c, const char *ref,
    const struct secret *pass, EVP_PKEY **out, struct err *e);
int keys_remove(const struct conf *c, const char *ref, struct err *e);
/* A description of ref safe to show users: "file (AES-256, PKCS#8)". */
const char *keys_ref_kind(const char *ref);

/* SubjectPublicKeyInfo DER of k, for storing and comparing public keys. */
int keys_spki(const EVP_PKEY *k, struct buf *out, struct err *e);

#endif
