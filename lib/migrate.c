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

	/* 2: policies and their rules (lib/policy.h). A policy without a
	 * template applies to every template of its realm; deleting a
	 * template deletes the policies made for it alone. */
	"CREATE TABLE policies ("
	"  id INTEGER PRIMARY KEY,"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  name TEXT NOT NULL,"
	"  template_id INTEGER REFERENCES templates(id) ON DELETE CASCADE,"
	"  approval TEXT NOT NULL DEFAULT 'automatic'"
	"    CHECK (approval IN ('automatic', 'manual', 'four-eyes')),"
	"  enforce TEXT,"			/* "O=Acme,C=DE"; NULL: none */
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  UNIQUE (realm_id, name));"
	"CREATE INDEX policies_tmpl ON policies (template_id);"

	"CREATE TABLE policy_rules ("
	"  id INTEGER PRIMARY KEY,"
	"  policy_id INTEGER NOT NULL REFERENCES policies(id) ON DELETE CASCADE,"
	"  rule TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  mode TEXT NOT NULL CHECK (mode IN ('hard', 'soft')),"
	"  UNIQUE (policy_id, rule));",

	/* 3: orders (lib/order.h), their approvals and alerts; the
	 * certificate columns the pipeline and revocation need. An order's
	 * key is its job's Id; a certificate names the order that issued it,
	 * and the unique index makes a second certificate for one order
	 * impossible, whatever a crash replays. */
	"CREATE TABLE orders ("
	"  id INTEGER PRIMARY KEY,"
	"  job TEXT NOT NULL UNIQUE,"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  type TEXT NOT NULL CHECK (type IN ('csr', 'automated', 'renewal',"
	"    'spool', 'acme', 'scep')),"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'processing',"
	"    'held', 'complete', 'failed')),"
	"  requested_by TEXT NOT NULL,"
	"  template_id INTEGER REFERENCES templates(id) ON DELETE SET NULL,"
	"  cn TEXT,"
	"  approval TEXT NOT NULL DEFAULT 'automatic'"
	"    CHECK (approval IN ('automatic', 'manual', 'four-eyes')),"
	"  facts TEXT,"				/* what check-policy passed */
	"  key_ref TEXT,"			/* server-side key */
	"  renewal_of INTEGER REFERENCES certificates(id) ON DELETE SET NULL,"
	"  error TEXT,"
	"  error_code INTEGER,"
	"  request TEXT NOT NULL,"		/* the job as first seen */
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  completed_at TEXT,"
	"  duration_ms INTEGER);"
	"CREATE INDEX orders_status ON orders (realm_id, status, created_at);"

	"CREATE TABLE approvals ("
	"  id INTEGER PRIMARY KEY,"
	"  order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,"
	"  approver TEXT NOT NULL,"
	"  decision TEXT NOT NULL CHECK (decision IN ('approve', 'decline')),"
	"  reason TEXT,"
	"  at TEXT NOT NULL,"
	"  UNIQUE (order_id, approver));"

	"CREATE TABLE alerts ("
	"  id INTEGER PRIMARY KEY,"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  order_id INTEGER REFERENCES orders(id) ON DELETE SET NULL,"
	"  kind TEXT NOT NULL,"
	"  message TEXT NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  acked_by TEXT,"
	"  acked_at TEXT);"
	"CREATE INDEX alerts_open ON alerts (realm_id, acked_at);"

	"ALTER TABLE certificates ADD COLUMN order_id INTEGER"
	"  REFERENCES orders(id) ON DELETE SET NULL;"
	"CREATE UNIQUE INDEX certificates_order ON certificates (order_id)"
	"  WHERE order_id IS NOT NULL;"
	"ALTER TABLE certificates ADD COLUMN key_ref TEXT;"
	"ALTER TABLE certificates ADD COLUMN revoked_at TEXT;"
	"ALTER TABLE certificates ADD COLUMN revoke_reason TEXT;"
	"ALTER TABLE certificates ADD COLUMN superseded_by INTEGER"
	"  REFERENCES certificates(id) ON DELETE SET NULL;"
	"CREATE INDEX certificates_expiry ON certificates"
	"  (realm_id, status, not_after);",

	/* 4: the invalidity date of a revocation (RFC 5280 5.3.2), for
	 * the CRL entry extension; NULL when none was given. */
	"ALTER TABLE certificates ADD COLUMN invalidity_date TEXT;",

	/* 5: CRLs (lib/crl.h). Per CA: how long a complete CRL is valid,
	 * delta CRLs (0: off) and shards (0: off); the shard a certificate
	 * was given at issuance; every CRL made, whose numbers are the CA's
	 * sequence (shared by complete, delta and shard CRLs); and a log of
	 * status changes on and off the CRL, written by a trigger so that
	 * no writer of certificates.status can forget it, which delta CRLs
	 * and publish-crl --due read. */
	"ALTER TABLE cas ADD COLUMN crl_days INTEGER NOT NULL DEFAULT 7;"
	"ALTER TABLE cas ADD COLUMN crl_delta_hours INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE cas ADD COLUMN crl_shards INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE certificates ADD COLUMN crl_shard INTEGER;"

	"CREATE TABLE crls ("
	"  id INTEGER PRIMARY KEY,"
	"  ca_id INTEGER NOT NULL REFERENCES cas(id) ON DELETE CASCADE,"
	"  number INTEGER NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('full', 'delta', 'shard')),"
	"  shard INTEGER,"			/* kind shard */
	"  base INTEGER,"			/* kind delta: base number */
	"  upto INTEGER NOT NULL,"		/* last crl_changes.seq seen */
	"  status TEXT NOT NULL"
	"    CHECK (status IN ('signing', 'published', 'failed')),"
	"  this_update TEXT NOT NULL,"
	"  next_update TEXT NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  UNIQUE (ca_id, number));"

	"CREATE TABLE crl_changes ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  ca_id INTEGER NOT NULL,"
	"  cert_id INTEGER NOT NULL,"
	"  status TEXT NOT NULL,"
	"  at TEXT NOT NULL);"
	"CREATE INDEX crl_changes_ca ON crl_changes (ca_id, seq);"
	/* what a CRL reads, for the revoked rows only: a CRL of a million
	 * entries is a scan of this index, not a million table lookups */
	"CREATE INDEX certificates_crl ON certificates (ca_id, realm_id,"
	"  not_after, crl_shard, serial, revoked_at, revoke_reason,"
	"  invalidity_date, status)"
	"  WHERE status IN ('revoked', 'suspended');"
	"CREATE INDEX certificates_shard ON certificates (ca_id, realm_id,"
	"  crl_shard) WHERE crl_shard IS NOT NULL;"
	"CREATE TRIGGER crl_change AFTER UPDATE OF status ON certificates"
	"  WHEN new.ca_id IS NOT NULL AND old.status IS NOT new.status AND"
	"    (old.status IN ('revoked', 'suspended') OR"
	"     new.status IN ('revoked', 'suspended'))"
	"  BEGIN INSERT INTO crl_changes (ca_id, cert_id, status, at)"
	"    VALUES (new.ca_id, new.id, new.status,"
	"      strftime('%Y-%m-%dT%H:%M:%SZ', 'now')); END;",

	/* 6: ACME (RFC 8555): policies, external account binding keys,
	 * accounts, and the nonces handed out (single use across the
	 * per-connection processes). */
	"CREATE TABLE acme_policies ("
	"  id INTEGER PRIMARY KEY,"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  name TEXT NOT NULL,"
	"  template_id INTEGER NOT NULL REFERENCES templates(id),"
	"  created_at TEXT NOT NULL,"
	"  UNIQUE (realm_id, name));"

	"CREATE TABLE acme_policy_domains ("
	"  policy_id INTEGER NOT NULL REFERENCES acme_policies(id)"
	"    ON DELETE CASCADE,"
	"  domain TEXT NOT NULL,"		/* "example.com", "*.example.com" */
	"  UNIQUE (policy_id, domain));"

	"CREATE TABLE acme_eab ("
	"  id INTEGER PRIMARY KEY,"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  policy_id INTEGER NOT NULL REFERENCES acme_policies(id),"
	"  kid TEXT NOT NULL UNIQUE,"
	"  hmac_key BLOB NOT NULL,"		/* see certpipe-acme(1) */
	"  max_uses INTEGER NOT NULL CHECK (max_uses > 0),"
	"  uses INTEGER NOT NULL DEFAULT 0,"
	"  expires_at TEXT NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  created_at TEXT NOT NULL);"

	"CREATE TABLE acme_accounts ("
	"  id INTEGER PRIMARY KEY,"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  policy_id INTEGER NOT NULL REFERENCES acme_policies(id),"
	"  eab_id INTEGER NOT NULL REFERENCES acme_eab(id),"
	"  name TEXT NOT NULL UNIQUE,"		/* the account URL's last part */
	"  thumbprint TEXT NOT NULL UNIQUE,"	/* RFC 7638, of jwk */
	"  jwk TEXT NOT NULL,"
	"  status TEXT NOT NULL"
	"    CHECK (status IN ('valid', 'deactivated', 'revoked')),"
	"  contact TEXT NOT NULL DEFAULT '[]',"	/* JSON array of mailto: */
	"  tos_agreed INTEGER NOT NULL DEFAULT 0,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL);"
	"CREATE INDEX acme_accounts_realm ON acme_accounts (realm_id, status);"

	"CREATE TABLE acme_nonces ("
	"  nonce TEXT PRIMARY KEY,"
	"  expires_at TEXT NOT NULL) WITHOUT ROWID;",

	/* 7: ACME orders, authorizations and challenges (RFC 8555 7.1.3,
	 * 7.1.4, 8). name is the last part of the object's URL (random
	 * hex). An order is issued by the pipeline: finalize opens the
	 * pipeline order (orders.id, type 'acme'), and the certificate is
	 * the one whose order_id that is. Authorizations belong to an
	 * account and may serve several of its orders. error columns hold a
	 * problem document (JSON). */
	"CREATE TABLE acme_orders ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  account_id INTEGER NOT NULL REFERENCES acme_accounts(id),"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'ready',"
	"    'processing', 'valid', 'invalid')),"
	"  identifiers TEXT NOT NULL,"		/* JSON array, as requested */
	"  not_before TEXT,"
	"  not_after TEXT,"
	"  expires_at TEXT NOT NULL,"
	"  error TEXT,"
	"  order_id INTEGER UNIQUE REFERENCES orders(id),"
	"  cert_id INTEGER REFERENCES certificates(id),"
	"  replaces TEXT,"			/* ARI CertID (RFC 9773) */
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL);"
	"CREATE INDEX acme_orders_account ON acme_orders (account_id,"
	"  status, created_at);"
	"CREATE INDEX acme_orders_cert ON acme_orders (cert_id)"
	"  WHERE cert_id IS NOT NULL;"

	"CREATE TABLE acme_authz ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  account_id INTEGER NOT NULL REFERENCES acme_accounts(id),"
	"  realm_id INTEGER NOT NULL REFERENCES realms(id),"
	"  identifier TEXT NOT NULL,"		/* DNS name, without "*." */
	"  wildcard INTEGER NOT NULL DEFAULT 0,"
	"  preapproved INTEGER NOT NULL DEFAULT 0,"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'valid',"
	"    'invalid', 'deactivated', 'expired', 'revoked')),"
	"  expires_at TEXT NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL);"
	"CREATE INDEX acme_authz_account ON acme_authz (account_id,"
	"  identifier, wildcard, status);"

	"CREATE TABLE acme_order_authz ("
	"  order_id INTEGER NOT NULL REFERENCES acme_orders(id)"
	"    ON DELETE CASCADE,"
	"  authz_id INTEGER NOT NULL REFERENCES acme_authz(id),"
	"  PRIMARY KEY (order_id, authz_id)) WITHOUT ROWID;"
	"CREATE INDEX acme_order_authz_authz ON acme_order_authz (authz_id);"

	"CREATE TABLE acme_challenges ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  authz_id INTEGER NOT NULL REFERENCES acme_authz(id)"
	"    ON DELETE CASCADE,"
	"  type TEXT NOT NULL CHECK (type IN ('http-01', 'dns-01',"
	"    'tls-alpn-01')),"
	"  token TEXT NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'processing',"
	"    'valid', 'invalid')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  validated_at TEXT,"
	"  error TEXT,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  UNIQUE (authz_id, type));",

	/* 8: the same CHECKs on orders and certificates, written as
	 * comparisons. SQLite evaluates "x IN (3 or more constants)" in a
	 * CHECK by building, filling and dropping a temporary b-tree for
	 * every row written: a third of what check-policy spent per job.
	 * "x = 'a' OR x = 'b' ..." allows exactly the same values (NULL
	 * passes both), so every stored row still satisfies it and the
	 * stored CREATE TABLE text may be edited in place: the documented
	 * way to change a CHECK without rebuilding a table (sqlite.org
	 * lang_altertable.html, "other kinds of table schema changes"); a
	 * rebuild would also drop columns other migrations add. The last
	 * two statements change the schema cookie, so every connection
	 * reads the new text. */
	"PRAGMA writable_schema=ON;"
	"UPDATE sqlite_master SET sql = replace(replace(replace(sql,"
	"  'CHECK (type IN (''csr'', ''automated'', ''renewal'',"
	"    ''spool'', ''acme'', ''scep''))',"
	"  'CHECK (type = ''csr'' OR type = ''automated'' OR"
	"    type = ''renewal'' OR type = ''spool'' OR type = ''acme'' OR"
	"    type = ''scep'')'),"
	"  'CHECK (status IN (''pending'', ''processing'',"
	"    ''held'', ''complete'', ''failed''))',"
	"  'CHECK (status = ''pending'' OR status = ''processing'' OR"
	"    status = ''held'' OR status = ''complete'' OR"
	"    status = ''failed'')'),"
	"  'CHECK (approval IN (''automatic'', ''manual'', ''four-eyes''))',"
	"  'CHECK (approval = ''automatic'' OR approval = ''manual'' OR"
	"    approval = ''four-eyes'')')"
	"  WHERE type = 'table' AND name = 'orders';"
	"UPDATE sqlite_master SET sql = replace(sql,"
	"  'CHECK (status IN (''active'', ''revoked'', ''suspended'', "
	"''superseded''))',"
	"  'CHECK (status = ''active'' OR status = ''revoked'' OR"
	"    status = ''suspended'' OR status = ''superseded'')')"
	"  WHERE type = 'table' AND name = 'certificates';"
	"PRAGMA writable_schema=OFF;"
	"CREATE TABLE migration_8_reload (x);"
	"DROP TABLE migration_8_reload;",

	/* 9: the renewal rule of a template (ARI, RFC 9773): "N%" of the
	 * lifetime or "Nd" before expiry, NULL a third of the lifetime;
	 * ACME rate limits of a policy (orders per account and per
	 * registered domain in a sliding window of rate_window seconds,
	 * 0: no limit); the indexes renewalInfo and the limits read. */
	"ALTER TABLE templates ADD COLUMN renew_before TEXT;"
	"ALTER TABLE acme_policies ADD COLUMN rate_window INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE acme_policies ADD COLUMN rate_account INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE acme_policies ADD COLUMN rate_domain INTEGER NOT NULL"
	"  DEFAULT 0;"
	"CREATE INDEX certificates_serial ON certificates (serial);"
	"CREATE INDEX acme_orders_realm ON acme_orders (realm_id,"
	"  created_at);",

	/* 10: every change to what a CRL lists is in crl_changes, not only
	 * a change of status: a certificate inserted already revoked, a
	 * revoked one whose entry (date, reason, invalidity date, expiry,
	 * shard, realm) changes, one deleted. Delta CRLs and the reuse of
	 * the last complete CRL (lib/crl.h) read from it. */
	"CREATE TRIGGER crl_insert AFTER INSERT ON certificates"
	"  WHEN new.ca_id IS NOT NULL AND"
	"    (new.status = 'revoked' OR new.status = 'suspended')"
	"  BEGIN INSERT INTO crl_changes (ca_id, cert_id, status, at)"
	"    VALUES (new.ca_id, new.id, new.status,"
	"      strftime('%Y-%m-%dT%H:%M:%SZ', 'now')); END;"
	"CREATE TRIGGER crl_entry AFTER UPDATE OF revoked_at, revoke_reason,"
	"  invalidity_date, not_after, crl_shard, realm_id, serial ON"
	"  certificates"
	"  WHEN new.ca_id IS NOT NULL AND old.status IS new.status AND"
	"    (new.status = 'revoked' OR new.status = 'suspended') AND"
	"    (old.revoked_at IS NOT new.revoked_at OR"
	"     old.revoke_reason IS NOT new.revoke_reason OR"
	"     old.invalidity_date IS NOT new.invalidity_date OR"
	"     old.not_after IS NOT new.not_after OR"
	"     old.crl_shard IS NOT new.crl_shard OR"
	"     old.realm_id IS NOT new.realm_id OR old.serial IS NOT new.serial)"
	"  BEGIN INSERT INTO crl_changes (ca_id, cert_id, status, at)"
	"    VALUES (new.ca_id, new.id, new.status,"
	"      strftime('%Y-%m-%dT%H:%M:%SZ', 'now')); END;"
	"CREATE TRIGGER crl_delete AFTER DELETE ON certificates"
	"  WHEN old.ca_id IS NOT NULL AND"
	"    (old.status = 'revoked' OR old.status = 'suspended')"
	"  BEGIN INSERT INTO crl_changes (ca_id, cert_id, status, at)"
	"    VALUES (old.ca_id, old.id, 'deleted',"
	"      strftime('%Y-%m-%dT%H:%M:%SZ', 'now')); END;",
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
