/*
 * ca - certificate authorities as rows of table cas: lookup, loading and
 * the questions other objects ask about a CA. Creating and importing a
 * CA (which needs keys) lives in the `certpipe ca` command.
 *
 * Statuses: pending (CSR-only, waiting for `ca import`), active,
 * disabled. A CA's chain_pem holds its issuers up to the root (empty
 * for a root), so export never has to walk anything.
 *
 * Contract: 0 or a sysexits code with e filled; EX_NOINPUT when the CA
 * does not exist in the realm. ca_free on a zeroed struct is fine.
 */
#ifndef CERTPIPE_CA_H
#define CERTPIPE_CA_H
#include <stdint.h>
#include <openssl/x509.h>
#include "conf.h"
#include "db.h"
#include "keys.h"

struct ca {
	int64_t id, realm_id, parent_id;	/* parent_id 0: none */
	char *name, *status, *key_alg, *key_ref, *subject, *digest;
	int64_t path_len;			/* -1: none */
	int64_t days;
	int external;
	char *csr_pem, *cert_pem, *chain_pem;
	char *serial, *not_before, *not_after, *fingerprint;
	char *created_at, *updated_at;
	unsigned char *spki;
	size_t spki_len;
};

/* Names: 1-64 of [A-Za-z0-9._-], starting with a letter or digit. */
int ca_name_check(const char *name, struct err *e);
int ca_find(struct db *db, int64_t realm, const char *name, int64_t *id,
    struct err *e);
int ca_load(struct db *db, int64_t realm, const char *name, struct ca *ca,
    struct err *e);
int ca_load_id(struct db *db, int64_t id, struct ca *ca, struct err *e);
void ca_free(struct ca *ca);
/* Open an active CA for signing: its certificate and its private key
 * (through the key store), checked to belong together. EX_NOPERM when
 * the CA is not active or the passphrase is wrong. */
int ca_open_signer(const struct conf *c, const struct ca *ca,
    const struct secret *pass, X509 **cert, EVP_PKEY **key, struct err *e);

/* Unexpired certificates issued by the CA that are not revoked
 * (leaves and child CAs). */
int ca_live_certs(struct db *db, int64_t id, int64_t *n, struct err *e);

#endif
