/*
 * cert - `certpipe cert`: the certificate inventory of a realm: record
 * certificates found elsewhere (import), list and filter, show one,
 * export one with its chain (or, for a key generated here, as PKCS#12),
 * revoke, suspend and unsuspend. Certificates issued here are recorded
 * by the signer; this file reads them, and changes only their status.
 *
 * Trust: run by an administrator. It opens a private key only for
 * `export --pfx`, and only a certificate's own server-side key (never a
 * CA key). The PKCS#12 password is printed once and kept nowhere.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <openssl/x509v3.h>
#include "ca.h"
#include "cert.h"
#include "cli.h"
#include "clock.h"
#include "diag.h"
#include "fs.h"
#include "json.h"
#include "keys.h"
#include "num.h"
#include "pkcs12.h"
#include "rec.h"
#include "revoke.h"
#include "x509.h"

#define CERT_FILE_MAX (1024 * 1024)
#define COLS "c.id, c.serial, c.cn, c.subject, c.issuer, c.not_before, " \
	"c.not_after, c.status, c.source, c.fingerprint, c.pem, " \
	"coalesce(a.name, ''), coalesce(t.name, ''), coalesce(c.ca_id, 0), " \
	"c.key_ref, c.revoked_at, c.revoke_reason"
#define FROM " FROM certificates c LEFT JOIN cas a ON a.id = c.ca_id " \
	"LEFT JOIN templates t ON t.id = c.template_id "
/* the columns of COLS */
enum { C_ID, C_SERIAL, C_CN, C_SUBJECT, C_ISSUER, C_NB, C_NA, C_STATUS,
	C_SOURCE, C_FP, C_PEM, C_CA, C_TMPL, C_CAID, C_KEYREF, C_REVAT,
	C_REASON };

/* a column that may be NULL or '', as text for people */
static const char *
col(struct db_stmt *st, int i)
{
	const char *s = db_text(st, i);

	return s && *s ? s : "-";
}

/* What users see as the status: revocation first, then expiry. */
static const char *
shown_status(const char *stored, const char *not_after, const char *now)
{
	if (strcmp(stored, "active") == 0 && strcmp(not_after, now) <= 0)
		return "expired";
	return stored;
}

/* certpipe's name of a key ("ec-256"), or what it is when certpipe
 * would refuse it ("rsa-1024"), so reports and what-ifs name it. */
static void
key_name(const EVP_PKEY *k, struct buf *out)
{
	const struct key_alg *alg = keys_alg_of(k);

	if (alg)
		buf_adds(out, alg->name);
	else if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		buf_printf(out, "rsa-%d", EVP_PKEY_get_bits(k));
	else if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC)
		buf_printf(out, "ec-%d", EVP_PKEY_get_bits(k));
	else
		buf_adds(out, EVP_PKEY_get0_type_name(k) ?
		    EVP_PKEY_get0_type_name(k) : "unknown");
}

/* Append one name as "TYPE:value"; bytes that are not printable ASCII
 * (a NUL hidden in a hostile name) show as '?', never cut the name. */
static void
san_add(struct buf *b, const char *type, const ASN1_STRING *s)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int i, n = ASN1_STRING_length(s);

	buf_adds(b, type);
	for (i = 0; i < n; i++)
		buf_addc(b, p[i] > 0x20 && p[i] < 0x7f ? (char)p[i] : '?');
}

/* The DNS, IP, email and URI names of x, one malloc'd string each
 * ("DNS:a.example"), in the certificate's order; returns the count. */
static size_t
sans_get(X509 *x, char ***out)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name,
	    NULL, NULL);
	struct buf b = {0};
	char ip[INET6_ADDRSTRLEN];
	size_t n = 0;
	int i, len;

	*out = NULL;
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		buf_reset(&b);
		if (g->type == GEN_DNS)
			san_add(&b, "DNS:", g->d.dNSName);
		else if (g->type == GEN_EMAIL)
			san_add(&b, "email:", g->d.rfc822Name);
		else if (g->type == GEN_URI)
			san_add(&b, "URI:", g->d.uniformResourceIdentifier);
		else if (g->type == GEN_IPADD) {
			len = ASN1_STRING_length(g->d.iPAddress);
			if ((len != 4 && len != 16) || inet_ntop(len == 4 ?
			    AF_INET : AF_INET6, ASN1_STRING_get0_data(
			    g->d.iPAddress), ip, sizeof ip) == NULL)
				buf_adds(&b, "IP:?");
			else
				buf_printf(&b, "IP:%s", ip);
		} else
			continue;
		*out = xrealloc(*out, sizeof **out * (n + 1));
		(*out)[n++] = buf_steal(&b);
	}
	GENERAL_NAMES_free(gens);
	buf_free(&b);
	return n;
}

static void
sans_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
cert_import(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	STACK_OF(X509) *sk = NULL;
	struct err e = {0};
	struct buf data = {0}, obj = {0};
	int64_t ca_id, id;
	int rc, i, k, intx = 0, n = 0;

	if ((rc = cli_parse(c, "certpipe cert import", argc, argv, opts,
	    "[OPTION...] FILE...", 1, -1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	/* all files or none: one transaction */
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	for (i = 0; i < c->nargs; i++) {
		buf_reset(&data);
		if ((rc = fs_read(c->args[i], CERT_FILE_MAX, &data, &e)) != 0 ||
		    (rc = x509_certs_read(data.p, data.len, &sk, &e)) != 0) {
			if (rc == EX_DATAERR && data.len)
				err_prefix(&e, "%s", c->args[i]);
			goto fail;
		}
		for (k = 0; k < sk_X509_num(sk); k++) {
			X509 *x = sk_X509_value(sk, k);
			buf_reset(&obj);
			if ((rc = cert_issuer(c->db, c->realm_id, x, &ca_id,
			    &e)) != 0 || (rc = cert_store(c->db, c->realm_id,
			    ca_id, 0, x, "discovered", &id, &e)) != 0) {
				err_prefix(&e, "%s", c->args[i]);
				goto fail;
			}
			buf_printf(&obj, "certificate:%lld", (long long)id);
			if ((rc = cli_audit(c, "certificate.imported", obj.p,
			    "success", c->args[i], &e)) != 0)
				goto fail;
			n++;
		}
		sk_X509_pop_free(sk, X509_free);
		sk = NULL;
	}
	if ((rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("imported %d certificate%s as discovered\n", n, n == 1 ? "" : "s");
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	sk_X509_pop_free(sk, X509_free);
	buf_free(&data);
	buf_free(&obj);
	err_free(&e);
	return rc;
}

/* The fields list and show share; the caller closes the object. */
static void
row_json(struct jw *w, struct db_stmt *st, const char *status)
{
	jw_obj(w);
	jw_kint(w, "id", db_int(st, C_ID));
	jw_kstr(w, "serial", db_text(st, C_SERIAL));
	jw_kstr(w, "cn", db_text(st, C_CN));
	jw_kstr(w, "subject", db_text(st, C_SUBJECT));
	jw_kstr(w, "issuer", db_text(st, C_ISSUER));
	jw_kstr(w, "not_before", db_text(st, C_NB));
	jw_kstr(w, "not_after", db_text(st, C_NA));
	jw_kstr(w, "status", status);
	jw_kstr(w, "revoked_at", db_text(st, C_REVAT));
	jw_kstr(w, "revoke_reason", db_text(st, C_REASON));
	jw_kstr(w, "source", db_text(st, C_SOURCE));
	jw_kstr(w, "fingerprint_sha256", db_text(st, C_FP));
	jw_kstr(w, "ca", *db_text(st, C_CA) ? db_text(st, C_CA) : NULL);
	jw_kstr(w, "template", *db_text(st, C_TMPL) ? db_text(st, C_TMPL) :
	    NULL);
	jw_kbool(w, "server_side_key", !db_isnull(st, C_KEYREF));
}

struct filter {
	char *status, *source, *ca, *cn, *expiring;
	int records;
};

/* Check the filters before anything is opened; *days -1: none. */
static int
filter_check(const struct cli *c, const struct filter *f, int64_t *days,
    struct err *e)
{
	static const char *const statuses[] = { "active", "expired",
	    "revoked", "suspended", "superseded", NULL };
	int i;

	*days = -1;
	for (i = 0; f->status && statuses[i]; i++)
		if (strcmp(f->status, statuses[i]) == 0)
			break;
	if (f->status && statuses[i] == NULL)
		return err_set(e, EX_USAGE, "--status: '%s' is not active, "
		    "expired, revoked, suspended or superseded", f->status);
	if (f->source && strcmp(f->source, "managed") &&
	    strcmp(f->source, "discovered"))
		return err_set(e, EX_USAGE, "--source: '%s' is not managed or "
		    "discovered", f->source);
	if (f->expiring && num_i64("--expiring", f->expiring, 0, 36500, days,
	    e) != 0)
		return err_set(e, EX_USAGE, "--expiring: '%s' is not a number "
		    "of days (0-36500)", f->expiring);
	if (f->records && c->json)
		return err_set(e, EX_USAGE, "--records and --json: choose one");
	return 0;
}

/* Prepare the realm's query with the checked filters. */
static int
list_query(struct cli *c, const struct filter *f, int64_t days,
    const char *now, struct db_stmt **st, struct err *e)
{
	struct buf until = {0}, like = {0};
	const char *p;
	int64_t ca_id = 0;
	int rc;

	if (f->ca && (rc = ca_find(c->db, c->realm_id, f->ca, &ca_id, e)) != 0)
		return rc;
	clock_fmt(&until, clock_now() + (days < 0 ? 0 : days) * 86400);
	/* "contains TEXT": LIKE's own wildcards in TEXT are escaped */
	for (p = f->cn; p && *p; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			buf_addc(&like, '\\');
		buf_addc(&like, *p);
	}
	/* every filter is a bound parameter; an absent one matches all */
	rc = db_prep(c->db, st, e, "SELECT " COLS FROM
	    "WHERE c.realm_id = ? "
	    "AND (? IS NULL OR c.source = ?) "
	    "AND (? = 0 OR c.ca_id = ?) "
	    "AND (? IS NULL OR c.cn LIKE '%' || ? || '%' ESCAPE '\\') "
	    "AND (? < 0 OR (c.status = 'active' AND c.not_after > ? AND "
	    "     c.not_after <= ?)) "
	    "AND (? IS NULL "
	    "  OR (? = 'expired' AND c.status = 'active' AND c.not_after <= ?) "
	    "  OR (? = 'active' AND c.status = 'active' AND c.not_after > ?) "
	    "  OR (? NOT IN ('active', 'expired') AND c.status = ?)) "
	    "ORDER BY c.not_after, c.id",
	    "ittiittittttttttt", c->realm_id, f->source, f->source, ca_id,
	    ca_id, f->cn ? buf_str(&like) : NULL, f->cn ? buf_str(&like) : NULL,
	    days,
	    now, until.p, f->status, f->status, now, f->status, now,
	    f->status, f->status);
	buf_free(&until);
	buf_free(&like);
	return rc;
}

/* The first value of nid in name, as UTF-8 (malloc'd), or NULL. */
static char *
name_get(const X509_NAME *n, int nid)
{
	int i = X509_NAME_get_index_by_NID(n, nid, -1);
	unsigned char *u = NULL;
	char *s;

	if (i < 0 || ASN1_STRING_to_UTF8(&u,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i))) < 0)
		return NULL;
	s = xstrdup((char *)u);
	OPENSSL_free(u);
	return s;
}

/*
 * One certificate as the renewal job that would replace it, for
 * `check-policy --explain` ("what if this policy applied to what we
 * have?"): the names and key it has, its validity as Days, and the
 * certificate itself in place of a request.
 */
static int
cert_record(struct cli *c, struct db_stmt *st, X509 *x, struct rec *r,
    struct err *e)
{
	static const struct { const char *h; int nid; } subj[] = {
		{ "CN", NID_commonName }, { "O", NID_organizationName },
		{ "OU", NID_organizationalUnitName }, { "C", NID_countryName },
		{ "ST", NID_stateOrProvinceName }, { "L", NID_localityName },
	};
	struct buf v = {0}, der = {0};
	char **sans = NULL, *s;
	size_t i, nsans = sans_get(x, &sans);
	double secs;
	int rc, nid = NID_undef;

	if ((rc = rec_add(r, "Type", "renew", e)) == 0)
		rc = rec_add(r, "Realm", cli_realm(c), e);
	if (rc == 0 && *db_text(st, C_TMPL))
		rc = rec_add(r, "Template", db_text(st, C_TMPL), e);
	if (rc == 0)
		rc = rec_add(r, "Renewal-Of", db_text(st, C_FP), e);
	for (i = 0; rc == 0 && i < sizeof subj / sizeof subj[0]; i++) {
		if ((s = name_get(X509_get_subject_name(x), subj[i].nid)))
			rc = rec_add(r, subj[i].h, s, e);
		free(s);
	}
	for (i = 0; rc == 0 && i < nsans; i++)
		rc = rec_add(r, "SAN", sans[i], e);
	key_name(X509_get0_pubkey(x), &v);
	if (rc == 0)
		rc = rec_add(r, "Key-Alg", v.p, e);
	buf_reset(&v);
	buf_printf(&v, "%d", EVP_PKEY_get_bits(X509_get0_pubkey(x)));
	if (rc == 0)
		rc = rec_add(r, "Key-Bits", v.p, e);
	/* whole days, rounded: issuers backdate notBefore by minutes */
	secs = difftime(x509_not_after(x), x509_not_before(x));
	buf_reset(&v);
	buf_printf(&v, "%lld", (long long)((secs + 43200) / 86400));
	if (rc == 0)
		rc = rec_add(r, "Days", v.p, e);
	/* the digest it is signed with; none for pure EdDSA */
	if (rc == 0 && X509_get_signature_info(x, &nid, NULL, NULL, NULL) &&
	    nid != NID_undef)
		rc = rec_add(r, "Digest", OBJ_nid2ln(nid), e);
	x509_der(x, &der);
	if (rc == 0)
		rc = rec_add_pem(r, "CERTIFICATE", der.p, der.len, e);
	sans_free(sans, nsans);
	buf_free(&v);
	buf_free(&der);
	return rc;
}

/* Write the row's certificate as a record on stdout; a certificate that
 * cannot be one (a name a record cannot carry) is reported, skipped. */
static int
list_record(struct cli *c, struct db_stmt *st)
{
	struct err e = {0};
	struct rec *r = rec_new();
	X509 *x = NULL;
	const char *pem = db_text(st, C_PEM);
	int rc;

	if ((rc = x509_cert_read(pem, strlen(pem), &x, &e)) == 0 &&
	    (rc = cert_record(c, st, x, r, &e)) == 0)
		rc = rec_fwrite(r, stdout, &e);
	if (rc != 0) {
		err_prefix(&e, "certificate %lld", (long long)db_int(st, C_ID));
		diag_err(&e);
	}
	X509_free(x);
	rec_free(r);
	err_free(&e);
	return rc;
}

static int
cert_list(struct cli *c, int argc, const char **argv)
{
	struct filter f = {0};
	struct poptOption opts[] = {
		{ "ca", '\0', POPT_ARG_STRING, &f.ca, 0,
		  "only certificates issued by this local CA", "CA" },
		{ "cn", '\0', POPT_ARG_STRING, &f.cn, 0,
		  "only certificates whose CN contains TEXT", "TEXT" },
		{ "expiring", '\0', POPT_ARG_STRING, &f.expiring, 0,
		  "only active certificates that expire within N days", "N" },
		{ "records", '\0', POPT_ARG_NONE, &f.records, 0,
		  "print each as a renewal job record (for check-policy "
		  "--explain)", NULL },
		{ "source", '\0', POPT_ARG_STRING, &f.source, 0,
		  "managed or discovered", "SRC" },
		{ "status", '\0', POPT_ARG_STRING, &f.status, 0,
		  "active, expired, revoked, suspended or superseded", "S" },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0}, now = {0};
	const char *shown;
	struct jw w;
	int64_t days;
	int rc, bad = 0;

	if ((rc = cli_parse(c, "certpipe cert list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0)
		goto out;
	if ((rc = filter_check(c, &f, &days, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	clock_fmt(&now, clock_now());
	if ((rc = list_query(c, &f, days, now.p, &st, &e)) != 0)
		goto fail;
	jw_init(&w, &out);
	if (c->json)
		jw_arr(&w);
	else if (!f.records)
		buf_printf(&out, "%-5s %-40s %-10s %-10s %-20s %s\n", "ID",
		    "SERIAL", "STATUS", "SOURCE", "NOT-AFTER", "CN");
	while ((rc = db_step(st, &e)) == 1) {
		shown = shown_status(db_text(st, C_STATUS), db_text(st, C_NA),
		    now.p);
		if (f.records) {
			if ((rc = list_record(c, st)) != 0 && bad == 0)
				bad = rc;
		} else if (c->json) {
			row_json(&w, st, shown);
			jw_end(&w);
		} else
			buf_printf(&out, "%-5lld %-40s %-10s %-10s %-20s %s\n",
			    (long long)db_int(st, C_ID), db_text(st, C_SERIAL),
			    shown, db_text(st, C_SOURCE), db_text(st, C_NA),
			    col(st, C_CN));
	}
	if (rc < 0)
		goto fail;
	if (c->json) {
		jw_end(&w);
		buf_addc(&out, '\n');
	}
	if ((rc = cli_print(&out)) == 0)
		rc = bad;
	goto out;
fail:
	rc = diag_err(&e);
out:
	db_finish(st);
	buf_free(&out); buf_free(&now);
	free(f.status); free(f.source); free(f.ca); free(f.cn);
	free(f.expiring);
	err_free(&e);
	return rc;
}

/* Find one certificate of the realm by id, serial or SHA-256
 * fingerprint (with or without colons, any case). */
static int
find(struct cli *c, const char *key, struct db_stmt **st, struct err *e)
{
	struct buf fp = {0};
	const char *p;
	int64_t id = -1, n = 0;
	int rc;

	for (p = key; *p; p++)
		if (*p != ':')
			buf_addc(&fp, (char)(*p >= 'a' && *p <= 'f' ? *p - 32 :
			    *p));
	if (num_i64("id", key, 1, INT64_MAX, &id, e) != 0)
		id = -1;
	rc = db_int64(c->db, &n, e, "SELECT count(*) FROM certificates c "
	    "WHERE c.realm_id = ? AND (c.id = ? OR lower(c.serial) = lower(?) "
	    "OR replace(c.fingerprint, ':', '') = ?)", "iitt", c->realm_id, id,
	    key, buf_str(&fp));
	if (rc == 0 && n == 0)
		rc = err_set(e, EX_NOINPUT, "certificate '%s': not in this "
		    "realm's inventory", key);
	else if (rc == 0 && n > 1)
		rc = err_set(e, EX_DATAERR, "certificate '%s': ambiguous, give "
		    "the id or the fingerprint", key);
	if (rc == 0 && (rc = db_prep(c->db, st, e, "SELECT " COLS FROM
	    "WHERE c.realm_id = ? AND (c.id = ? OR lower(c.serial) = lower(?) "
	    "OR replace(c.fingerprint, ':', '') = ?)", "iitt", c->realm_id, id,
	    key, buf_str(&fp))) == 0 && db_step(*st, e) != 1)
		rc = e->code ? e->code : EX_SOFTWARE;
	buf_free(&fp);
	return rc;
}

/* A read (view, download) leaves its own audit event. */
static int
audit_read(struct cli *c, const char *event, int64_t id, const char *detail,
    struct err *e)
{
	struct buf obj = {0};
	int rc;

	buf_printf(&obj, "certificate:%lld", (long long)id);
	if ((rc = db_begin(c->db, e)) == 0 &&
	    (rc = cli_audit(c, event, obj.p, "success", detail, e)) == 0)
		rc = db_commit(c->db, e);
	if (rc != 0)
		db_rollback(c->db);
	buf_free(&obj);
	return rc;
}

static void
show_text(struct db_stmt *st, X509 *x, const char *shown, const char *sans,
    const char *key, const char *dig, int64_t left, struct buf *out)
{
	buf_printf(out, "id           %lld\ncn           %s\nsans         %s\n"
	    "subject      %s\nissuer       %s\nca           %s\n"
	    "template     %s\nkey          %s, %d bits\ndigest       %s\n"
	    "serial       %s\nnot before   %s\nnot after    %s\n"
	    "days left    %lld\nstatus       %s\n",
	    (long long)db_int(st, C_ID), col(st, C_CN), *sans ? sans : "-",
	    db_text(st, C_SUBJECT), db_text(st, C_ISSUER), col(st, C_CA),
	    col(st, C_TMPL), key, EVP_PKEY_get_bits(X509_get0_pubkey(x)), dig,
	    db_text(st, C_SERIAL), db_text(st, C_NB), db_text(st, C_NA),
	    (long long)left, shown);
	if (!db_isnull(st, C_REASON))
		buf_printf(out, "revocation   %s at %s\n",
		    db_text(st, C_REASON), col(st, C_REVAT));
	buf_printf(out, "source       %s\nprivate key  %s\nsha256       %s\n",
	    db_text(st, C_SOURCE), db_isnull(st, C_KEYREF) ? "held by its "
	    "owner" : "generated here (export --pfx)", db_text(st, C_FP));
}

static int
cert_show(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0}, now = {0}, sans = {0}, key = {0};
	char **san = NULL;
	size_t i, nsan = 0;
	X509 *x = NULL;
	const char *shown, *pem, *dig;
	int64_t left;
	int rc, nid = NID_undef;
	struct jw w;

	if ((rc = cli_parse(c, "certpipe cert show", argc, argv, opts,
	    "[OPTION...] ID|SERIAL|FINGERPRINT", 1, 1)) != 0 ||
	    (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = find(c, c->args[0], &st, &e)) != 0)
		goto fail;
	pem = db_text(st, C_PEM);
	if ((rc = x509_cert_read(pem, strlen(pem), &x, &e)) != 0)
		goto fail;
	clock_fmt(&now, clock_now());
	shown = shown_status(db_text(st, C_STATUS), db_text(st, C_NA), now.p);
	left = (int64_t)(x509_not_after(x) - clock_now()) / 86400;
	key_name(X509_get0_pubkey(x), &key);
	X509_get_signature_info(x, &nid, NULL, NULL, NULL);
	/* "sha256", as the rest of certpipe spells digests */
	dig = nid == NID_undef ? "none (pure)" : OBJ_nid2ln(nid);
	nsan = sans_get(x, &san);
	for (i = 0; i < nsan; i++)
		buf_printf(&sans, "%s%s", i ? ", " : "", san[i]);
	jw_init(&w, &out);
	if (c->json) {
		row_json(&w, st, shown);
		jw_kstr(&w, "sans", buf_str(&sans));
		jw_kstr(&w, "key_alg", key.p);
		jw_kint(&w, "key_bits", EVP_PKEY_get_bits(X509_get0_pubkey(x)));
		jw_kstr(&w, "digest", dig);
		jw_kint(&w, "days_left", left);
		jw_end(&w);
		buf_addc(&out, '\n');
	} else
		show_text(st, x, shown, buf_str(&sans), key.p, dig, left, &out);
	if ((rc = audit_read(c, "certificate.view.accessed", db_int(st, C_ID),
	    NULL, &e)) != 0)
		goto fail;
	rc = cli_print(&out);
	goto out;
fail:
	rc = diag_err(&e);
out:
	sans_free(san, nsan);
	X509_free(x);
	db_finish(st);
	buf_free(&out); buf_free(&now); buf_free(&sans); buf_free(&key);
	err_free(&e);
	return rc;
}

/* The issuing CA's certificate and its issuers (PEM), when a CA of the
 * realm issued x: the only chain certpipe knows. */
static int
chain_of(struct cli *c, X509 *x, struct buf *chain, struct err *e)
{
	struct ca ca = {0};
	int64_t ca_id = 0;
	int rc;

	if ((rc = cert_issuer(c->db, c->realm_id, x, &ca_id, e)) != 0)
		return rc;
	if (ca_id == 0)
		return err_set(e, EX_DATAERR, "certificate %s: not issued by a "
		    "CA of this realm, its chain is unknown", c->args[0]);
	if ((rc = ca_load_id(c->db, ca_id, &ca, e)) == 0) {
		buf_adds(chain, ca.cert_pem);
		buf_adds(chain, ca.chain_pem);
	}
	ca_free(&ca);
	return rc;
}

/*
 * The certificate with its server-side key and chain as PKCS#12 under a
 * fresh random password. The password is printed once, on stderr, after
 * the file is out and the download audited; it is kept nowhere.
 */
static int
export_pfx(struct cli *c, struct db_stmt *st, X509 *x, const char *outfile,
    struct err *e)
{
	STACK_OF(X509) *sk = NULL;
	struct secret pass = {0};
	struct buf chain = {0}, der = {0}, pw = {0};
	EVP_PKEY *key = NULL;
	int rc;

	if (db_isnull(st, C_KEYREF)) {
		rc = err_set(e, EX_DATAERR, "certificate %s: no server-side "
		    "key: the private key never left its owner", c->args[0]);
		goto out;
	}
	if ((rc = chain_of(c, x, &chain, e)) != 0 ||
	    (rc = x509_certs_read(chain.p, chain.len, &sk, e)) != 0 ||
	    (rc = cli_secret(c, &pass, e)) != 0 ||
	    (rc = keys_load(&c->conf, db_text(st, C_KEYREF), &pass, &key,
	    e)) != 0 || (rc = p12_password(&pw, e)) != 0 ||
	    (rc = p12_build(key, x, sk, db_text(st, C_CN), pw.p, &der,
	    e)) != 0)
		goto out;
	if (outfile)
		rc = fs_write_atomic(outfile, der.p, der.len, 0600, e);
	else if (fwrite(der.p, 1, der.len, stdout) != der.len ||
	    fflush(stdout) != 0)
		rc = err_set(e, EX_IOERR, "stdout: write failed");
	if (rc == 0 && (rc = audit_read(c, "certificate.download_pfx.success",
	    db_int(st, C_ID), "PKCS#12: key, certificate, chain", e)) == 0)
		fprintf(stderr, "pfx password: %s\n", pw.p);
out:
	sk_X509_pop_free(sk, X509_free);
	EVP_PKEY_free(key);
	secret_free(&pass);
	buf_wipe(&pw);
	buf_free(&chain);
	buf_free(&der);
	return rc;
}

static int
cert_export(struct cli *c, int argc, const char **argv)
{
	char *part = NULL, *format = NULL, *outfile = NULL;
	int pfx = 0;
	struct poptOption opts[] = {
		{ "format", '\0', POPT_ARG_STRING, &format, 0,
		  "pem (default) or der (the certificate only)", "FMT" },
		{ "out", '\0', POPT_ARG_STRING, &outfile, 0,
		  "write to FILE instead of standard output", "FILE" },
		{ "part", '\0', POPT_ARG_STRING, &part, 0,
		  "cert (default), chain (its issuers) or fullchain", "PART" },
		{ "pfx", '\0', POPT_ARG_NONE, &pfx, 0,
		  "PKCS#12 with the server-side key and the chain", NULL },
		CLI_PASSPHRASE(c),
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0}, chain = {0};
	X509 *x = NULL;
	const char *pt, *pem;
	int rc, der;

	if ((rc = cli_parse(c, "certpipe cert export", argc, argv, opts,
	    "[OPTION...] ID|SERIAL|FINGERPRINT", 1, 1)) != 0)
		goto out;
	pt = part ? part : "cert";
	der = format && strcmp(format, "der") == 0;
	if ((format && !der && strcmp(format, "pem") != 0) ||
	    (strcmp(pt, "cert") && strcmp(pt, "chain") &&
	    strcmp(pt, "fullchain")) || (der && strcmp(pt, "cert")) ||
	    (pfx && (part || format))) {
		rc = err_set(&e, EX_USAGE, "--part cert|chain|fullchain with "
		    "--format pem, --part cert with --format der, or --pfx "
		    "alone");
		goto fail;
	}
	if (pfx && outfile == NULL && isatty(STDOUT_FILENO)) {
		rc = err_set(&e, EX_USAGE, "--pfx: not writing a binary file "
		    "to a terminal (give --out FILE or redirect)");
		goto fail;
	}
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = find(c, c->args[0], &st, &e)) != 0)
		goto fail;
	pem = db_text(st, C_PEM);
	if ((rc = x509_cert_read(pem, strlen(pem), &x, &e)) != 0)
		goto fail;
	if (pfx) {
		if ((rc = export_pfx(c, st, x, outfile, &e)) != 0)
			goto fail;
		goto out;
	}
	if (strcmp(pt, "cert") != 0 && (rc = chain_of(c, x, &chain, &e)) != 0)
		goto fail;
	if (der)
		x509_der(x, &out);
	else {
		if (strcmp(pt, "chain") != 0)
			buf_adds(&out, pem);
		buf_add(&out, chain.p, chain.len);
	}
	if ((rc = audit_read(c, "certificate.download.success",
	    db_int(st, C_ID), pt, &e)) != 0)
		goto fail;
	rc = cli_output(&out, outfile);
	goto out;
fail:
	rc = diag_err(&e);
out:
	X509_free(x);
	db_finish(st);
	buf_free(&out);
	buf_free(&chain);
	free(part); free(format); free(outfile);
	err_free(&e);
	return rc;
}

/*
 * Ask question on the terminal: stdin when it is one, else /dev/tty.
 * 0 for "y" or "yes"; EX_USAGE for any other answer and when there is
 * no terminal to ask on, so nothing is ever revoked without a yes.
 */
static int
confirm(const char *question, struct err *e)
{
	char ans[16];
	ssize_t n;
	int in = STDIN_FILENO, say = STDERR_FILENO, rc = EX_USAGE;

	if (!isatty(in)) {
		if ((in = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
			return err_set(e, EX_USAGE, "no terminal to ask for "
			    "confirmation: give --yes to go ahead unasked");
		say = in;
	}
	if (write(say, question, strlen(question)) >= 0 &&
	    (n = read(in, ans, sizeof ans - 1)) > 0) {
		ans[n] = '\0';
		ans[strcspn(ans, "\r\n")] = '\0';
		if (strcasecmp(ans, "y") == 0 || strcasecmp(ans, "yes") == 0)
			rc = 0;
	}
	if (in != STDIN_FILENO)
		close(in);
	if (rc != 0)
		err_set(e, EX_USAGE, "not confirmed: nothing changed");
	return rc;
}

/* Check --reason and --invalidity-date; the audit detail says both. */
static int
revoke_args(const char *reason, const char *invalid,
    const struct revoke_reason **why, struct buf *since, struct buf *detail,
    struct err *e)
{
	time_t t;

	if (reason == NULL)
		return err_set(e, EX_USAGE, "--reason is required: one of %s",
		    revoke_reason_list());
	if ((*why = revoke_reason(reason)) == NULL)
		return err_set(e, EX_USAGE, "--reason: '%s' is not one of %s",
		    reason, revoke_reason_list());
	buf_printf(detail, "reason %s (%d)", (*why)->name, (*why)->code);
	if (invalid == NULL)
		return 0;
	if (clock_parse("--invalidity-date", invalid, &t, e) != 0)
		return e->code = EX_USAGE;
	if (t > clock_now())
		return err_set(e, EX_USAGE, "--invalidity-date: %s is in the "
		    "future", invalid);
	clock_fmt(since, t);
	buf_printf(detail, ", invalid since %s", since->p);
	return 0;
}

/*
 * Move the certificate of row st to status next: revoke_cert does it in
 * one transaction with its audit events (requested may be NULL) and
 * pokes the scheduler to republish.
 */
static int
status_change(struct cli *c, struct db_stmt *st, const char *next,
    const char *reason, const char *since, const char *requested,
    const char *done, const char *detail, struct err *e)
{
	struct revoke_change rc = { db_int(st, C_ID), c->realm_id,
	    db_text(st, C_STATUS), next, reason, since, c->actor,
	    cli_realm(c), requested, done, detail, c->conf.home };

	if (revoke_cert(c->db, &rc, e) != 0) {
		err_prefix(e, "certificate %s", db_text(st, C_SERIAL));
		return e->code;
	}
	return 0;
}

static int
cert_revoke(struct cli *c, int argc, const char **argv)
{
	char *reason = NULL, *invalid = NULL;
	int yes = 0;
	struct poptOption opts[] = {
		{ "invalidity-date", '\0', POPT_ARG_STRING, &invalid, 0,
		  "since when the key is known or suspected to be "
		  "compromised", "DATE" },
		{ "reason", '\0', POPT_ARG_STRING, &reason, 0,
		  "RFC 5280 reason (certificateHold suspends)", "REASON" },
		{ "yes", '\0', POPT_ARG_NONE, &yes, 0,
		  "do not ask for confirmation", NULL },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	const struct revoke_reason *why = NULL;
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf detail = {0}, q = {0}, since = {0};
	const char *next = NULL;
	int rc;

	if ((rc = cli_parse(c, "certpipe cert revoke", argc, argv, opts,
	    "[OPTION...] --reason REASON ID|SERIAL|FINGERPRINT", 1, 1)) != 0)
		goto out;
	if ((rc = revoke_args(reason, invalid, &why, &since, &detail, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = find(c, c->args[0], &st, &e)) != 0)
		goto fail;
	/* only a CA of the realm can put it on a CRL */
	if (db_int(st, C_CAID) == 0)
		rc = err_set(&e, EX_DATAERR, "not issued by a CA of this "
		    "realm: certpipe cannot revoke it");
	else
		rc = revoke_next(db_text(st, C_STATUS), why, &next, &e);
	if (rc != 0) {
		err_prefix(&e, "certificate %s (%s)", db_text(st, C_SERIAL),
		    col(st, C_CN));
		goto fail;
	}
	buf_printf(&q, "revoke %s (%s) for %s? [y/N] ", db_text(st, C_SERIAL),
	    col(st, C_CN), why->name);
	if (!yes && (rc = confirm(q.p, &e)) != 0) {
		err_prefix(&e, "certificate %s (%s)", db_text(st, C_SERIAL),
		    col(st, C_CN));
		goto fail;
	}
	if ((rc = status_change(c, st, next, why->name, since.len ? since.p :
	    NULL, "certificate.revoke.requested", "certificate.revoke.success",
	    detail.p, &e)) != 0)
		goto fail;
	printf("%s %s (%s): %s\n", strcmp(next, "suspended") == 0 ?
	    "suspended" : "revoked", db_text(st, C_SERIAL), col(st, C_CN),
	    why->name);
	goto out;
fail:
	rc = diag_err(&e);
out:
	db_finish(st);
	buf_free(&detail);
	buf_free(&q);
	buf_free(&since);
	free(reason); free(invalid);
	err_free(&e);
	return rc;
}

static int
cert_unsuspend(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct err e = {0};
	const char *next = NULL;
	int rc;

	if ((rc = cli_parse(c, "certpipe cert unsuspend", argc, argv, opts,
	    "[OPTION...] ID|SERIAL|FINGERPRINT", 1, 1)) != 0 ||
	    (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = find(c, c->args[0], &st, &e)) != 0)
		goto fail;
	if ((rc = revoke_next(db_text(st, C_STATUS), NULL, &next, &e)) != 0) {
		err_prefix(&e, "certificate %s (%s)", db_text(st, C_SERIAL),
		    col(st, C_CN));
		goto fail;
	}
	if ((rc = status_change(c, st, next, NULL, NULL, NULL,
	    "certificate.unsuspend.success", "hold lifted", &e)) != 0)
		goto fail;
	printf("unsuspended %s (%s): %s again\n", db_text(st, C_SERIAL),
	    col(st, C_CN), next);
	goto out;
fail:
	rc = diag_err(&e);
out:
	db_finish(st);
	err_free(&e);
	return rc;
}

int
cmd_cert(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "export", cert_export, "print a certificate, its chain, or "
		  "a PKCS#12 with its server-side key" },
		{ "import", cert_import, "record certificates found elsewhere "
		  "as discovered" },
		{ "list", cert_list, "list and filter the inventory" },
		{ "revoke", cert_revoke, "revoke a certificate, or suspend it "
		  "(certificateHold)" },
		{ "show", cert_show, "show one certificate" },
		{ "unsuspend", cert_unsuspend, "lift a certificateHold" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "cert", subs, argc, argv);
}
