/* t_tmpl - starters, settings, cross checks, URLs and storage of templates. */
#include <stdlib.h>
#include <unistd.h>
#include "tmpl.h"
#include "tap.h"

#define ALL "rsa-2048,rsa-3072,rsa-4096,ec-256,ec-384,ec-521,ed25519"

static void
test_starters(void)
{
	static const struct {
		const char *name;
		int64_t days, max;
		const char *algs, *ku, *eku;
		int ca;
		int64_t path_len;
	} t[] = {
		{ "web-server", 397, 397, ALL, "digitalSignature,keyEncipherment",
		  "serverAuth,clientAuth", 0, -1 },
		{ "client", 365, 825, ALL, "digitalSignature,keyEncipherment",
		  "clientAuth", 0, -1 },
		{ "code-signing", 365, 1095,
		  "rsa-2048,rsa-3072,rsa-4096,ec-256,ec-384,ec-521",
		  "digitalSignature", "codeSigning", 0, -1 },
		{ "email", 365, 825, ALL,
		  "digitalSignature,keyEncipherment,nonRepudiation",
		  "emailProtection", 0, -1 },
		{ "sub-ca", 1825, 3650, ALL, "keyCertSign,cRLSign", NULL, 1, 0 },
		{ "ocsp-signing", 30, 90, ALL, "digitalSignature", "OCSPSigning",
		  0, -1 },
		{ "timestamping", 365, 1095, ALL,
		  "digitalSignature,nonRepudiation", "timeStamping", 0, -1 },
	};
	struct err e = {0};
	int responder;
	struct tmpl tm;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&tm, 0, sizeof tm);
		is_int(tmpl_starter(t[i].name, &tm, &e), 0, "%s: starter",
		    t[i].name);
		is_str(tm.starter, t[i].name, "%s: starter name", t[i].name);
		is_int(tm.days, t[i].days, "%s: days", t[i].name);
		is_int(tm.max_days, t[i].max, "%s: max-days", t[i].name);
		is_str(tm.key_algs, t[i].algs, "%s: key-algs", t[i].name);
		is_str(tm.key_usage, t[i].ku, "%s: key-usage", t[i].name);
		is_str(tm.eku, t[i].eku, "%s: eku", t[i].name);
		is_int(tm.ca, t[i].ca, "%s: ca", t[i].name);
		is_int(tm.path_len, t[i].path_len, "%s: path-len", t[i].name);
		is_str(tm.digest, "sha256", "%s: digest", t[i].name);
		is_str(tm.subject_mode, "request", "%s: subject-mode",
		    t[i].name);
		is_int(tm.enabled, 1, "%s: enabled", t[i].name);
		/* an OCSP responder's certificate names no OCSP URL */
		responder = strcmp(t[i].name, "ocsp-signing") == 0;
		ok(tm.aia && tm.ocsp == !responder && tm.cdp && !tm.policy &&
		    !tm.allow_ip, "%s: aia/cdp on, ocsp %s, policy and allow-ip "
		    "off", t[i].name, responder ? "off" : "on");
		ok(!tm.aia_url && !tm.ocsp_url && !tm.crl_url && !tm.subject &&
		    !tm.policy_oid && !tm.cps_url, "%s: no URLs or subject",
		    t[i].name);
		is_int(tmpl_check(&tm, &e), 0, "%s: passes tmpl_check",
		    t[i].name);
		tmpl_free(&tm);
	}
	/* RFC 3161 2.3: a TSA has timeStamping as its only EKU */
	memset(&tm, 0, sizeof tm);
	tmpl_starter("timestamping", &tm, &e);
	tmpl_set(&tm, "eku", "timeStamping,serverAuth", &e);
	is_int(tmpl_check(&tm, &e), EX_DATAERR, "timestamping: a second EKU");
	tmpl_set(&tm, "eku", "", &e);
	is_int(tmpl_check(&tm, &e), EX_DATAERR, "timestamping: no EKU");
	tmpl_set(&tm, "eku", "timeStamping", &e);
	is_int(tmpl_check(&tm, &e), 0, "timestamping: timeStamping only");
	tmpl_free(&tm);
	memset(&tm, 0, sizeof tm);
	is_int(tmpl_starter("server", &tm, &e), EX_DATAERR, "unknown starter");
	tmpl_free(&tm);
	tmpl_free(NULL);
	err_free(&e);
}

static void
test_set(void)
{
	static const struct {
		const char *starter, *key, *val;
		int rc;
	} t[] = {
		{ "web-server", "days", "1", 0 },
		{ "web-server", "days", "3650", 0 },
		{ "web-server", "days", "0", EX_DATAERR },
		{ "web-server", "days", "3651", EX_DATAERR },
		{ "web-server", "days", "-5", EX_DATAERR },
		{ "web-server", "days", "90d", EX_DATAERR },
		{ "web-server", "days", "", EX_DATAERR },
		{ "sub-ca", "days", "18250", 0 },
		{ "sub-ca", "days", "18251", EX_DATAERR },
		{ "web-server", "max-days", "825", 0 },
		{ "web-server", "max-days", "4000", EX_DATAERR },
		{ "sub-ca", "max-days", "7300", 0 },
		{ "sub-ca", "path-len", "-1", 0 },
		{ "sub-ca", "path-len", "16", 0 },
		{ "sub-ca", "path-len", "17", EX_DATAERR },
		{ "sub-ca", "path-len", "-2", EX_DATAERR },
		{ "web-server", "digest", "sha384", 0 },
		{ "web-server", "digest", "sha512", 0 },
		{ "web-server", "digest", "md5", EX_DATAERR },
		{ "web-server", "digest", "SHA256", EX_DATAERR },
		{ "web-server", "key-algs", "ec-256", 0 },
		{ "web-server", "key-algs", "ec-256, rsa-3072,ed448", 0 },
		{ "web-server", "key-algs", "rsa-1024", EX_DATAERR },
		{ "web-server", "key-algs", "ec-256,,rsa-2048", EX_DATAERR },
		{ "web-server", "key-algs", "", EX_DATAERR },
		{ "web-server", "key-usage", "digitalSignature", 0 },
		{ "web-server", "key-usage", "digitalSignature,keyAgreement", 0 },
		{ "web-server", "key-usage", "digitalsignature", EX_DATAERR },
		{ "web-server", "key-usage", "", EX_DATAERR },
		{ "web-server", "eku", "serverAuth", 0 },
		{ "web-server", "eku", "serverAuth,1.3.6.1.4.1.99999.1", 0 },
		{ "web-server", "eku", "", 0 },
		{ "web-server", "eku", "webAuth", EX_DATAERR },
		{ "web-server", "eku", "1..2", EX_DATAERR },
		{ "web-server", "subject-mode", "request", 0 },
		{ "web-server", "subject-mode", "default", 0 },
		{ "web-server", "subject-mode", "enforce", 0 },
		{ "web-server", "subject-mode", "strict", EX_DATAERR },
		{ "web-server", "subject", "O=Acme,C=DE", 0 },
		{ "web-server", "subject", "O=Acme, OU=Ops, L=Berlin", 0 },
		{ "web-server", "subject", "", 0 },
		{ "web-server", "subject", "C=Germany", EX_DATAERR },
		{ "web-server", "subject", "X=1", EX_DATAERR },
		{ "web-server", "subject", "Acme", EX_DATAERR },
		{ "web-server", "allow-ip", "on", 0 },
		{ "web-server", "allow-ip", "off", 0 },
		{ "web-server", "allow-ip", "yes", 0 },
		{ "web-server", "allow-ip", "false", 0 },
		{ "web-server", "allow-ip", "1", 0 },
		{ "web-server", "allow-ip", "maybe", EX_DATAERR },
		{ "web-server", "aia", "0", 0 },
		{ "web-server", "aia", "", EX_DATAERR },
		{ "web-server", "ocsp", "no", 0 },
		{ "web-server", "ocsp", "ON", EX_DATAERR },
		{ "web-server", "cdp", "true", 0 },
		{ "web-server", "cdp", "2", EX_DATAERR },
		{ "web-server", "policy", "on", 0 },
		{ "web-server", "policy", "x", EX_DATAERR },
		{ "web-server", "aia-url", "http://pki.test/ca.crt", 0 },
		{ "web-server", "aia-url", "", 0 },
		{ "web-server", "aia-url", "ftp://pki.test/ca.crt", EX_DATAERR },
		{ "web-server", "ocsp-url", "https://ocsp.test", 0 },
		{ "web-server", "ocsp-url", "https://ocsp.test/a b", EX_DATAERR },
		{ "web-server", "crl-url", "http://pki.test/x.crl", 0 },
		{ "web-server", "crl-url", "http://a,b", EX_DATAERR },
		{ "web-server", "cps-url", "https://pki.test/cps", 0 },
		{ "web-server", "cps-url", "cps", EX_DATAERR },
		{ "web-server", "policy-oid", "1.3.6.1.4.1.99999.2", 0 },
		{ "web-server", "policy-oid", "", 0 },
		{ "web-server", "policy-oid", "1.3.x", EX_DATAERR },
		{ "web-server", "policy-oid", "1", EX_DATAERR },
		{ "web-server", "colour", "blue", EX_USAGE },
	};
	struct err e = {0};
	struct tmpl tm;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&tm, 0, sizeof tm);
		tmpl_starter(t[i].starter, &tm, &e);
		is_int(tmpl_set(&tm, t[i].key, t[i].val, &e), t[i].rc,
		    "%s: %s '%s'", t[i].starter, t[i].key, t[i].val);
		if (t[i].rc != 0)
			ok(strncmp(err_str(&e), "template: ", 10) == 0 &&
			    strchr(err_str(&e), '\n') == NULL,
			    "%s '%s': one-line message naming the template: %s",
			    t[i].key, t[i].val, err_str(&e));
		tmpl_free(&tm);
	}

	/* the values land where they belong */
	memset(&tm, 0, sizeof tm);
	tmpl_starter("web-server", &tm, &e);
	tm.name = strdup("w");
	tmpl_set(&tm, "key-algs", "ec-256, ed25519", &e);
	is_str(tm.key_algs, "ec-256,ed25519", "lists are stored without blanks");
	tmpl_set(&tm, "eku", "", &e);
	is_str(tm.eku, NULL, "'' clears eku");
	tmpl_set(&tm, "subject", "O=Acme,C=DE", &e);
	is_str(tm.subject, "O=Acme,C=DE", "subject text stored as given");
	tmpl_set(&tm, "ocsp", "off", &e);
	is_int(tm.ocsp, 0, "ocsp off");
	tmpl_set(&tm, "days", "200", &e);
	is_int(tm.days, 200, "days set");
	is_int(tmpl_set(&tm, "days", "0", &e), EX_DATAERR, "named template");
	is_str(err_str(&e), "template 'w': days: 0 is out of range 1..3650",
	    "message names the template, the setting and the range");
	tmpl_free(&tm);
	err_free(&e);
}

/* one starter, then settings, then tmpl_check's verdict */
static void
test_check(void)
{
	static const struct {
		const char *starter;
		const char *kv[6];
		int rc;
	} t[] = {
		{ "web-server", { NULL }, 0 },
		{ "web-server", { "days", "398" }, EX_DATAERR },
		{ "web-server", { "max-days", "825", "days", "825" }, 0 },
		{ "client", { "days", "826" }, EX_DATAERR },
		{ "web-server", { "policy", "on" }, EX_DATAERR },
		{ "web-server", { "policy", "on", "policy-oid", "1.2.3.4" }, 0 },
		{ "web-server", { "cps-url", "https://x.test/cps" }, EX_DATAERR },
		{ "web-server", { "subject-mode", "enforce" }, EX_DATAERR },
		{ "web-server", { "subject-mode", "default" }, EX_DATAERR },
		{ "web-server", { "subject-mode", "enforce", "subject", "O=A" },
		  0 },
		{ "web-server", { "key-usage", "keyCertSign" }, EX_DATAERR },
		{ "web-server", { "path-len", "1" }, EX_DATAERR },
		{ "sub-ca", { "key-usage", "digitalSignature" }, EX_DATAERR },
		{ "sub-ca", { "path-len", "3" }, 0 },
		{ "sub-ca", { "path-len", "-1" }, 0 },
		{ "sub-ca", { "days", "3651" }, EX_DATAERR },
		{ "sub-ca", { "max-days", "18250", "days", "18250" }, 0 },
	};
	struct err e = {0};
	struct tmpl tm;
	size_t i, k;
	int rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&tm, 0, sizeof tm);
		tmpl_starter(t[i].starter, &tm, &e);
		rc = 0;
		for (k = 0; rc == 0 && k < 6 && t[i].kv[k]; k += 2)
			rc = tmpl_set(&tm, t[i].kv[k], t[i].kv[k + 1], &e);
		is_int(rc, 0, "check %zu: settings accepted", i);
		is_int(tmpl_check(&tm, &e), t[i].rc, "check %zu: %s %s %s -> %d",
		    i, t[i].starter, t[i].kv[0] ? t[i].kv[0] : "",
		    t[i].kv[1] ? t[i].kv[1] : "", t[i].rc);
		tmpl_free(&tm);
	}
	err_free(&e);
}

static void
test_url(void)
{
	struct tmpl tm;
	struct err e = {0};
	char *u;

	memset(&tm, 0, sizeof tm);
	tmpl_starter("web-server", &tm, &e);
#define URL(kind, base, want, what) do { \
	u = tmpl_url(&tm, kind, base, "issuing-1"); \
	is_str(u, want, what); \
	free(u); \
} while (0)
	URL("aia", "http://pki.test", "http://pki.test/ca/issuing-1.crt",
	    "derived caIssuers");
	URL("ocsp", "http://pki.test", "http://pki.test/ocsp", "derived OCSP");
	URL("crl", "http://pki.test", "http://pki.test/crl/issuing-1.crl",
	    "derived CRL");
	URL("crl", "http://pki.test/", "http://pki.test/crl/issuing-1.crl",
	    "trailing slash of base_url ignored");
	URL("aia", NULL, NULL, "no base_url: nothing to derive");
	URL("what", "http://pki.test", NULL, "unknown kind");
	tmpl_set(&tm, "ocsp-url", "https://ocsp.example.test/x", &e);
	URL("ocsp", "http://pki.test", "https://ocsp.example.test/x",
	    "explicit OCSP URL wins");
	tmpl_set(&tm, "ocsp", "off", &e);
	URL("ocsp", "http://pki.test", NULL, "switch off: omitted even when set");
	tmpl_set(&tm, "cdp", "off", &e);
	URL("crl", "http://pki.test", NULL, "cdp off: no CRL URL");
	tmpl_set(&tm, "aia", "off", &e);
	URL("aia", "http://pki.test", NULL, "aia off: no caIssuers URL");
#undef URL
	tmpl_free(&tm);
	err_free(&e);
}

/* insert, load, update, the default template, realm checks */
static void
test_db(void)
{
	char dir[] = "/tmp/t_tmpl.XXXXXX";
	struct buf path = {0};
	struct err e = {0};
	struct db *db = NULL;
	struct tmpl tm, got;
	int64_t b = 0;

	memset(&tm, 0, sizeof tm);
	memset(&got, 0, sizeof got);
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	buf_printf(&path, "%s/t.db", dir);
	is_int(db_open(path.p, DB_OPEN_CREATE, &db, &e), 0, "open");
	is_int(db_migrate(db, NULL, NULL, &e), 0, "migrate");
	db_exec(db, &e, "INSERT INTO realms (name, created_at) VALUES "
	    "('b', 'now')", "");
	db_int64(db, &b, &e, "SELECT id FROM realms WHERE name = 'b'", "");
	is_int(db_exec(db, &e, "INSERT INTO cas (realm_id, name, status, "
	    "key_alg, key_ref, spki, subject, days, created_at, updated_at) "
	    "VALUES (1, 'root', 'active', 'ec-256', 'file:x', x'00', 'CN=R', "
	    "10, 'now', 'now')", ""), 0, "a CA row");

	is_int(tmpl_create_default(db, 1, 1, "root", &got, &e), 0,
	    "default template");
	is_str(got.name, "root-web-server", "named <ca>-web-server");
	ok(got.id > 0, "id set");
	tmpl_free(&got);
	is_int(tmpl_create_default(db, 1, 1, "root", NULL, &e), EX_DATAERR,
	    "a second default is a duplicate");
	is_int(tmpl_create_default(db, b, 1, "root", NULL, &e), EX_NOINPUT,
	    "a template cannot use another realm's CA");

	tmpl_starter("sub-ca", &tm, &e);
	tm.name = strdup("sub");
	tm.realm_id = 1;
	tm.ca_id = 1;
	tmpl_set(&tm, "path-len", "2", &e);
	tmpl_set(&tm, "subject", "O=Acme", &e);
	tmpl_set(&tm, "subject-mode", "enforce", &e);
	tmpl_set(&tm, "policy-oid", "1.2.3.4", &e);
	tmpl_set(&tm, "policy", "on", &e);
	tmpl_set(&tm, "crl-url", "http://crl.test/x.crl", &e);
	is_int(tmpl_insert(db, &tm, &e), 0, "insert sub-ca template");
	is_int(tmpl_load(db, 1, "sub", &got, &e), 0, "load by name");
	is_str(got.starter, "sub-ca", "starter stored");
	is_int(got.ca, 1, "ca stored");
	is_int(got.path_len, 2, "path-len stored");
	is_str(got.subject, "O=Acme", "subject stored");
	is_str(got.subject_mode, "enforce", "subject-mode stored");
	is_int(got.policy, 1, "policy stored");
	is_str(got.policy_oid, "1.2.3.4", "policy-oid stored");
	is_str(got.crl_url, "http://crl.test/x.crl", "crl-url stored");
	is_str(got.eku, NULL, "NULL eku stays NULL");
	is_int(got.enabled, 1, "enabled");
	tmpl_free(&got);
	is_int(tmpl_load(db, b, "sub", &got, &e), EX_NOINPUT,
	    "not visible from another realm");
	tmpl_free(&got);

	tm.enabled = 0;
	tmpl_set(&tm, "days", "100", &e);
	is_int(tmpl_update(db, &tm, &e), 0, "update");
	is_int(tmpl_load_id(db, tm.id, &got, &e), 0, "load by id");
	is_int(got.enabled, 0, "disabled stored");
	is_int(got.days, 100, "days updated");
	tmpl_free(&got);
	tm.days = 5000;
	is_int(tmpl_update(db, &tm, &e), EX_DATAERR, "update re-checks");
	is_int(tmpl_load_id(db, 999, &got, &e), EX_NOINPUT, "unknown id");
	tmpl_free(&got);
	tmpl_free(&tm);

	db_close(db);
	buf_reset(&path);
	buf_printf(&path, "rm -rf %s", dir);
	if (system(path.p) != 0)
		ok(0, "cleanup");
	buf_free(&path);
	err_free(&e);
}

int
main(void)
{
	test_starters();
	test_set();
	test_check();
	test_url();
	test_db();
	return tap_done();
}
