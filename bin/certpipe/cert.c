/*
 * cert - `certpipe cert`: the certificate inventory of a realm: record
 * certificates found elsewhere (import), list and filter, show one,
 * export one with its chain. Certificates issued here are recorded by
 * the signer; this file only reads them (and audits who looked).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "x509.h"

#define CERT_FILE_MAX (1024 * 1024)
#define COLS "c.id, c.serial, c.cn, c.subject, c.issuer, c.not_before, " \
	"c.not_after, c.status, c.source, c.fingerprint, c.pem, " \
	"coalesce(a.name, ''), coalesce(t.name, '')"
#define FROM " FROM certificates c LEFT JOIN cas a ON a.id = c.ca_id " \
	"LEFT JOIN templates t ON t.id = c.template_id "

/* What users see as the status: revocation first, then expiry. */
static const char *
shown_status(const char *stored, const char *not_after, const char *now)
{
	if (strcmp(stored, "active") == 0 && strcmp(not_after, now) <= 0)
		return "expired";
	return stored;
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

static void
row_json(struct jw *w, struct db_stmt *st, const char *status)
{
	jw_obj(w);
	jw_kint(w, "id", db_int(st, 0));
	jw_kstr(w, "serial", db_text(st, 1));
	jw_kstr(w, "cn", db_text(st, 2));
	jw_kstr(w, "subject", db_text(st, 3));
	jw_kstr(w, "issuer", db_text(st, 4));
	jw_kstr(w, "not_before", db_text(st, 5));
	jw_kstr(w, "not_after", db_text(st, 6));
	jw_kstr(w, "status", status);
	jw_kstr(w, "source", db_text(st, 8));
	jw_kstr(w, "fingerprint_sha256", db_text(st, 9));
	jw_kstr(w, "ca", *db_text(st, 11) ? db_text(st, 11) : NULL);
	jw_kstr(w, "template", *db_text(st, 12) ? db_text(st, 12) : NULL);
}

static int
cert_list(struct cli *c, int argc, const char **argv)
{
	char *status = NULL, *source = NULL, *ca = NULL, *cn = NULL,
	    *expiring = NULL;
	struct poptOption opts[] = {
		{ "ca", '\0', POPT_ARG_STRING, &ca, 0,
		  "only certificates issued by this local CA", "CA" },
		{ "cn", '\0', POPT_ARG_STRING, &cn, 0,
		  "only certificates whose CN contains TEXT", "TEXT" },
		{ "expiring", '\0', POPT_ARG_STRING, &expiring, 0,
		  "only unexpired certificates that expire within N days",
		  "N" },
		{ "source", '\0', POPT_ARG_STRING, &source, 0,
		  "managed or discovered", "SRC" },
		{ "status", '\0', POPT_ARG_STRING, &status, 0,
		  "active, expired, revoked, suspended or superseded", "S" },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0}, now = {0}, until = {0}, like = {0};
	int64_t days = -1, ca_id = 0;
	const char *shown;
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe cert list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0)
		goto out;
	if (status && strcmp(status, "active") && strcmp(status, "expired") &&
	    strcmp(status, "revoked") && strcmp(status, "suspended") &&
	    strcmp(status, "superseded")) {
		rc = err_set(&e, EX_USAGE, "--status: '%s' is not active, "
		    "expired, revoked, suspended or superseded", status);
		goto fail;
	}
	if (source && strcmp(source, "managed") &&
	    strcmp(source, "discovered")) {
		rc = err_set(&e, EX_USAGE, "--source: '%s' is not managed or "
		    "discovered", source);
		goto fail;
	}
	if (expiring && (rc = num_i64("--expiring", expiring, 0, 36500, &days,
	    &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if (ca && (rc = ca_find(c->db, c->realm_id, ca, &ca_id, &e)) != 0)
		goto fail;
	clock_fmt(&now, clock_now());
	clock_fmt(&until, clock_now() + (days < 0 ? 0 : days) * 86400);
	if (cn)
		buf_printf(&like, "%%%s%%", cn);
	/* every filter is a bound parameter; an absent one matches all */
	if ((rc = db_prep(c->db, &st, &e, "SELECT " COLS FROM
	    "WHERE c.realm_id = ? "
	    "AND (? IS NULL OR c.source = ?) "
	    "AND (? = 0 OR c.ca_id = ?) "
	    "AND (? IS NULL OR c.cn LIKE ?) "
	    "AND (? < 0 OR (c.status <> 'revoked' AND c.not_after > ? AND "
	    "     c.not_after <= ?)) "
	    "AND (? IS NULL "
	    "  OR (? = 'expired' AND c.status = 'active' AND c.not_after <= ?) "
	    "  OR (? = 'active' AND c.status = 'active' AND c.not_after > ?) "
	    "  OR (? NOT IN ('active', 'expired') AND c.status = ?)) "
	    "ORDER BY c.not_after, c.id",
	    "ittiittittttttttt", c->realm_id, source, source, ca_id, ca_id,
	    cn ? like.p : NULL, cn ? like.p : NULL, days, now.p, until.p,
	    status, status, now.p, status, now.p, status, status)) != 0)
		goto fail;
	jw_init(&w, &out);
	if (c->json)
		jw_arr(&w);
	else
		buf_printf(&out, "%-5s %-40s %-10s %-10s %-20s %s\n", "ID",
		    "SERIAL", "STATUS", "SOURCE", "NOT-AFTER", "CN");
	while ((rc = db_step(st, &e)) == 1) {
		shown = shown_status(db_text(st, 7), db_text(st, 6), now.p);
		if (c->json) {
			row_json(&w, st, shown);
			jw_end(&w);
		} else
			buf_printf(&out, "%-5lld %-40s %-10s %-10s %-20s %s\n",
			    (long long)db_int(st, 0), db_text(st, 1), shown,
			    db_text(st, 8), db_text(st, 6),
			    db_text(st, 2) ? db_text(st, 2) : "-");
	}
	if (rc < 0)
		goto fail;
	if (c->json) {
		jw_end(&w);
		buf_addc(&out, '\n');
	}
	rc = cli_print(&out);
	goto out;
fail:
	rc = diag_err(&e);
out:
	db_finish(st);
	buf_free(&out); buf_free(&now); buf_free(&until); buf_free(&like);
	free(status); free(source); free(ca); free(cn); free(expiring);
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
	    key, fp.p);
	if (rc == 0 && n == 0)
		rc = err_set(e, EX_NOINPUT, "certificate '%s': not in this "
		    "realm's inventory", key);
	else if (rc == 0 && n > 1)
		rc = err_set(e, EX_DATAERR, "certificate '%s': ambiguous, give "
		    "the id or the fingerprint", key);
	if (rc == 0 && (rc = db_prep(c->db, st, e, "SELECT " COLS FROM
	    "WHERE c.realm_id = ? AND (c.id = ? OR lower(c.serial) = lower(?) "
	    "OR replace(c.fingerprint, ':', '') = ?)", "iitt", c->realm_id, id,
	    key, fp.p)) == 0 && db_step(*st, e) != 1)
		rc = e->code ? e->code : EX_SOFTWARE;
	buf_free(&fp);
	return rc;
}

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

static int
cert_show(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0}, now = {0}, sans = {0};
	const struct key_alg *alg;
	GENERAL_NAMES *gens = NULL;
	X509 *x = NULL;
	const char *shown, *pem, *dig;
	int64_t left;
	int rc, i, nid = NID_undef;
	struct jw w;

	if ((rc = cli_parse(c, "certpipe cert show", argc, argv, opts,
	    "[OPTION...] ID|SERIAL|FINGERPRINT", 1, 1)) != 0 ||
	    (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = find(c, c->args[0], &st, &e)) != 0)
		goto fail;
	pem = db_text(st, 10);
	if ((rc = x509_cert_read(pem, strlen(pem), &x, &e)) != 0)
		goto fail;
	clock_fmt(&now, clock_now());
	shown = shown_status(db_text(st, 7), db_text(st, 6), now.p);
	left = (int64_t)(x509_not_after(x) - clock_now()) / 86400;
	alg = keys_alg_of(X509_get0_pubkey(x));
	X509_get_signature_info(x, &nid, NULL, NULL, NULL);
	/* "sha256", as the rest of certpipe spells digests */
	dig = nid == NID_undef ? "none (pure)" : OBJ_nid2ln(nid);
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS)
			buf_printf(&sans, "%sDNS:%s", sans.len ? ", " : "",
			    ASN1_STRING_get0_data(g->d.dNSName));
		else if (g->type == GEN_IPADD) {
			char ip[INET6_ADDRSTRLEN] = "?";
			int len = ASN1_STRING_length(g->d.iPAddress);
			if (len == 4 || len == 16)
				inet_ntop(len == 4 ? AF_INET : AF_INET6,
				    ASN1_STRING_get0_data(g->d.iPAddress), ip,
				    sizeof ip);
			buf_printf(&sans, "%sIP:%s", sans.len ? ", " : "", ip);
		}
		else if (g->type == GEN_EMAIL)
			buf_printf(&sans, "%semail:%s", sans.len ? ", " : "",
			    ASN1_STRING_get0_data(g->d.rfc822Name));
	}
	jw_init(&w, &out);
	if (c->json) {
		row_json(&w, st, shown);
		jw_kstr(&w, "sans", sans.p);
		jw_kstr(&w, "key_alg", alg ? alg->name : "other");
		jw_kint(&w, "key_bits", EVP_PKEY_get_bits(X509_get0_pubkey(x)));
		jw_kstr(&w, "digest", dig);
		jw_kint(&w, "days_left", left);
		jw_end(&w);
		buf_addc(&out, '\n');
	} else
		buf_printf(&out, "id           %lld\ncn           %s\nsans         "
		    "%s\nsubject      %s\nissuer       %s\nca           %s\n"
		    "template     %s\nkey          %s, %d bits\ndigest       %s\n"
		    "serial       %s\nnot before   %s\nnot after    %s\n"
		    "days left    %lld\nstatus       %s\nsource       %s\n"
		    "sha256       %s\n", (long long)db_int(st, 0),
		    db_text(st, 2) ? db_text(st, 2) : "-",
		    sans.len ? sans.p : "-", db_text(st, 3), db_text(st, 4),
		    *db_text(st, 11) ? db_text(st, 11) : "-",
		    *db_text(st, 12) ? db_text(st, 12) : "-",
		    alg ? alg->name : "other",
		    EVP_PKEY_get_bits(X509_get0_pubkey(x)), dig, db_text(st, 1),
		    db_text(st, 5), db_text(st, 6), (long long)left, shown,
		    db_text(st, 8), db_text(st, 9));
	if ((rc = audit_read(c, "certificate.view.accessed", db_int(st, 0),
	    NULL, &e)) != 0)
		goto fail;
	rc = cli_print(&out);
	goto out;
fail:
	rc = diag_err(&e);
out:
	GENERAL_NAMES_free(gens);
	X509_free(x);
	db_finish(st);
	buf_free(&out); buf_free(&now); buf_free(&sans);
	err_free(&e);
	return rc;
}

static int
cert_export(struct cli *c, int argc, const char **argv)
{
	char *part = NULL, *format = NULL, *outfile = NULL;
	struct poptOption opts[] = {
		{ "format", '\0', POPT_ARG_STRING, &format, 0,
		  "pem (default) or der (the certificate only)", "FMT" },
		{ "out", '\0', POPT_ARG_STRING, &outfile, 0,
		  "write to FILE instead of standard output", "FILE" },
		{ "part", '\0', POPT_ARG_STRING, &part, 0,
		  "cert (default), chain (its issuers) or fullchain", "PART" },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct db_stmt *st = NULL;
	struct ca ca = {0};
	struct err e = {0};
	struct buf out = {0}, chain = {0};
	X509 *x = NULL;
	const char *pt, *pem;
	int rc, der;
	int64_t ca_id = 0;

	if ((rc = cli_parse(c, "certpipe cert export", argc, argv, opts,
	    "[OPTION...] ID|SERIAL|FINGERPRINT", 1, 1)) != 0)
		goto out;
	pt = part ? part : "cert";
	der = format && strcmp(format, "der") == 0;
	if ((format && !der && strcmp(format, "pem") != 0) ||
	    (strcmp(pt, "cert") && strcmp(pt, "chain") &&
	    strcmp(pt, "fullchain")) || (der && strcmp(pt, "cert"))) {
		rc = err_set(&e, EX_USAGE, "--part cert|chain|fullchain with "
		    "--format pem, or --part cert with --format der");
		goto fail;
	}
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = find(c, c->args[0], &st, &e)) != 0)
		goto fail;
	pem = db_text(st, 10);
	if ((rc = x509_cert_read(pem, strlen(pem), &x, &e)) != 0)
		goto fail;
	if (strcmp(pt, "cert") != 0) {
		/* the chain is known when a local CA issued it */
		if ((rc = cert_issuer(c->db, c->realm_id, x, &ca_id, &e)) != 0)
			goto fail;
		if (ca_id == 0) {
			rc = err_set(&e, EX_DATAERR, "certificate %s: not issued "
			    "by a CA of this realm, its chain is unknown",
			    c->args[0]);
			goto fail;
		}
		if ((rc = ca_load_id(c->db, ca_id, &ca, &e)) != 0)
			goto fail;
		buf_adds(&chain, ca.cert_pem);
		buf_adds(&chain, ca.chain_pem);
	}
	if (der)
		x509_der(x, &out);
	else {
		if (strcmp(pt, "chain") != 0)
			buf_adds(&out, pem);
		buf_add(&out, chain.p, chain.len);
	}
	if ((rc = audit_read(c, "certificate.download.success", db_int(st, 0),
	    pt, &e)) != 0)
		goto fail;
	rc = cli_output(&out, outfile);
	goto out;
fail:
	rc = diag_err(&e);
out:
	X509_free(x);
	ca_free(&ca);
	db_finish(st);
	buf_free(&out);
	buf_free(&chain);
	free(part); free(format); free(outfile);
	err_free(&e);
	return rc;
}

int
cmd_cert(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "export", cert_export, "print a certificate or its chain" },
		{ "import", cert_import, "record certificates found elsewhere "
		  "as discovered" },
		{ "list", cert_list, "list and filter the inventory" },
		{ "show", cert_show, "show one certificate" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "cert", subs, argc, argv);
}
