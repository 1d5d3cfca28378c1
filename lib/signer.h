/*
 * signer - delegated signers: the OCSP responder and the timestamp
 * authority certificates a CA issues, and their keys.
 *
 * A signer is an ordinary managed certificate with a server-side key
 * (stored encrypted through the key store, like a CA key), issued by
 * one local CA through the normal pipeline (parse-csr | check-policy |
 * sign; sign is the only holder of CA keys) under a template of the
 * kind's starter, one per CA, made on demand by `certpipe ocsp|tsa
 * create`. No table of its own: serial uniqueness, inventory,
 * revocation, CRLs and renewal apply as to any certificate.
 *
 *     kind "ocsp": starter ocsp-signing: KU digitalSignature, EKU
 *                  OCSPSigning, id-pkix-ocsp-nocheck, no OCSP URL
 *     kind "tsa":  starter timestamping: KU digitalSignature and
 *                  nonRepudiation, critical EKU timeStamping only; the
 *                  template's policy-oid is the TSA policy
 *
 * The active signer of a kind for a CA is the newest certificate issued
 * by that CA under a template of that starter that is active (not
 * revoked, not superseded), valid now and has a key reference. Rotating
 * (`certpipe ocsp|tsa rotate`) renews it with a new key: the new one
 * is active at once, the old is superseded but stays valid until it
 * expires or is revoked. `certpipe renew` renews signers like any
 * certificate (with --rekey under a new key). Key holders (ocsp-sign,
 * the tsa signer) call signer_find + signer_key, then sandbox
 * themselves; front ends never do.
 *
 * Contract: 0 or a sysexits code with e filled; EX_NOINPUT when the CA
 * does not exist or has no active signer of that kind, EX_USAGE for a
 * kind other than "ocsp" or "tsa". Everything in struct signer is owned
 * by it; signer_free on a zeroed struct is fine.
 */
#ifndef CERTPIPE_SIGNER_H
#define CERTPIPE_SIGNER_H
#include <stdint.h>
#include <openssl/x509.h>
#include "conf.h"
#include "db.h"
#include "keys.h"

struct signer {
	int64_t id, realm_id, ca_id, cert_id;	/* id: the certificate row,
						   the same as cert_id */
	char *kind;			/* "ocsp" | "tsa" */
	char *key_ref;
	char *not_after;		/* of the signer certificate */
	char *policy_oid;		/* tsa: the TSA policy; NULL otherwise */
	int64_t accuracy_ms;		/* tsa: 0, not stated (no
					   setting holds one yet) */
	X509 *cert;			/* the signer's certificate */
	STACK_OF(X509) *chain;		/* the issuing CA up to the root */
};

/* The template starter of a signer kind ("ocsp" -> "ocsp-signing",
 * "tsa" -> "timestamping"), or NULL for another kind. */
const char *signer_starter(const char *kind);
/* The active signer of kind for the CA named ca in the realm. */
int signer_find(struct db *db, int64_t realm, const char *ca,
    const char *kind, struct signer *out, struct err *e);
/* The signer's private key (EX_NOPERM: wrong passphrase). */
int signer_key(const struct conf *c, const struct signer *s,
    const struct secret *pass, EVP_PKEY **key, struct err *e);
/* What a TSA front end opens before it sandboxes itself: the active TSA
 * signer of CA ca (NULL: the one active CA of realm rname that has one,
 * EX_USAGE when several do; rname NULL: the default realm) and its key,
 * with the passphrase from src, kept in pass (it may open a TLS key
 * too). The database is closed again on return. EX_CONFIG: a schema
 * other than this build's, or a signer without a policy OID. */
int signer_open_tsa(const struct conf *c, const char *rname, const char *ca,
    const struct secret_src *src, struct signer *s, EVP_PKEY **key,
    struct secret *pass, struct err *e);
void signer_free(struct signer *s);

#endif
