/* migrate - schema migrations (see migrate.h and doc/certpipe-db.5). */
#include "migrate.h"

static const char *const migrations[] = {
	/* 1: realms, CAs, templates, domains, certificates, audit log */
	"CREATE TABLE realms ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created_at TEXT NOT NULL);"

	"CREATE TABLE cas ("
	"  id INTEGER PRIMARY KEY,"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  name TEXT NOT NULL,"
	"  parent_id INTEGER REFERENCES cas(id) ON DELETE SET NULL,"
	"  status TEXT NOT NULL"
	"    CHECK (status IN ('pending', 'active', 'disabled')),"
	"  key_alg TEXT NOT NULL,"
	"  key_ref TEXT NOT NULL,"
	"  spki BLOB NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  digest TEXT,"			/* NULL: pure EdDSA */
	"  path_len INTEGER,"			/* NULL: no constraint */
	"  days INTEGER NOT NULL,"
	"  csr_pem TEXT,"			/* CSR-only CAs */
	"  cert_pem TEXT,"			/* NULL while pending */
	"  chain_pem TEXT NOT NULL DEFAULT '',"	/* issuers up to the root */
	"  external INTEGER NOT NULL DEFAULT 0,"	/* signed outside */
	"  serial TEXT,"
	"  not_before TEXT,"
	"  not_after TEXT,"
	"  fingerprint TEXT,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  UNIQUE (realm_id, name));"

	"CREATE TABLE templates ("
	"  id INTEGER PRIMARY KEY,"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  ca_id INTEGER NOT NULL REFERENCES cas(id),"
	"  name TEXT NOT NULL,"
	"  starter TEXT NOT NULL,"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  days INTEGER NOT NULL,"
	"  max_days INTEGER NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  key_algs TEXT NOT NULL,"
	"  key_usage TEXT NOT NULL,"
	"  eku TEXT,"
	"  ca INTEGER NOT NULL DEFAULT 0,"
	"  path_len INTEGER NOT NULL DEFAULT -1,"
	"  subject_mode TEXT NOT NULL"
	"    CHECK (subject_mode IN ('request', 'default', 'enforce')),"
	"  subject TEXT,"
	"  allow_ip INTEGER NOT NULL DEFAULT 0,"
	"  aia_url TEXT, ocsp_url TEXT, crl_url TEXT,"
	"  policy_oid TEXT, cps_url TEXT,"
	"  aia INTEGER NOT NULL, ocsp INTEGER NOT NULL,"
	"  cdp INTEGER NOT NULL, policy INTEGER NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  UNIQUE (realm_id, name));"

	"CREATE TABLE domains ("
	"  id INTEGER PRIMARY KEY,"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  name TEXT NOT NULL,"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  UNIQUE (realm_id, name));"

	"CREATE TABLE certificates ("
	"  id INTEGER PRIMARY KEY,"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  ca_id INTEGER REFERENCES cas(id) ON DELETE SET NULL,"
	"  template_id INTEGER REFERENCES templates(id) ON DELETE SET NULL,"
	"  serial TEXT NOT NULL,"
	"  issuer TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  cn TEXT,"
	"  not_before TEXT NOT NULL,"
	"  not_after TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'active'"
	"    CHECK (status IN ('active', 'revoked', 'suspended', 'superseded')),"
	"  source TEXT NOT NULL CHECK (source IN ('managed', 'discovered')),"
	"  fingerprint TEXT NOT NULL,"
	"  pem TEXT NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  UNIQUE (issuer, serial));"
	"CREATE INDEX certificates_ca ON certificates (ca_id, status, not_after);"
	"CREATE INDEX certificates_tmpl ON certificates (template_id, status);"

	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY,"
	"  at TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  realm TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  object TEXT NOT NULL,"
	"  outcome TEXT NOT NULL,"
	"  detail TEXT,"
	"  prev_hash TEXT NOT NULL,"
	"  hash TEXT NOT NULL);"
	"CREATE INDEX audit_event ON audit (event);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"

	"INSERT INTO realms (name, created_at)"
	"  VALUES ('default', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));",
};

int
migrate_count(void)
{
	return (int)(sizeof migrations / sizeof migrations[0]);
}

const char *
migrate_sql(int i)
{
	return migrations[i];
}
