/*
 * ca - `certpipe ca`: create root and intermediate CAs (optionally
 * CSR-only, for signing by an outside CA), import their certificates,
 * list, show, export, enable, disable and delete them, and set how
 * their CRLs are published (lib/crl.h).
 *
 * Keys are generated here and go straight into the key store,
 * encrypted; this file never writes key material anywhere else and
 * never prints it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include "ca.h"
#include "cli.h"
#include "clock.h"
#include "crl.h"
#include "diag.h"
#include "fs.h"
#include "json.h"
#include "num.h"
#include "tmpl.h"
#include "x509.h"

#define CA_DAYS_MAX 18250	/* 50 years */
#define CERT_FILE_MAX (256 * 1024)

struct create_opts {
	char *alg, *cn, *o, *ou, *c, *st, *l, *days, *digest, *path_len;
	char *parent;
	int csr_only;
};

static void
create_opts_free(struct create_opts *o)
{
	free(o->alg); free(o->cn); free(o->o); free(o->ou); free(o->c);
	free(o->st); free(o->l); free(o->days); free(o->digest);
	free(o->path_len); free(o->parent);
}

/* What the options ask for, checked before anything is opened. */
struct create_plan {
	const struct key_alg *alg;
	int64_t days, path_len;
	const char *digest;	/* NULL: pure EdDSA */
	X509_NAME *subject;
};

static int
plan_create(const struct create_opts *o, struct create_plan *p,
    struct err *e)
{
	struct x509_subject s = { o->cn, o->o, o->ou, o->c, o->st, o->l };
	int sub = o->parent != NULL || o->csr_only;
	int rc;

	memset(p, 0, sizeof *p);
	p->alg = keys_alg(o->alg ? o->alg : sub ? "ec-256" : "ec-384");
	if (p->alg == NULL)
		return err_set(e, EX_DATAERR, "--alg: unknown key type '%s' "
		    "(%s)", o->alg, keys_alg_list());
	p->days = sub ? 1825 : 3650;
	if (o->days && (rc = num_i64("--days", o->days, 1, CA_DAYS_MAX,
	    &p->days, e)) != 0)
		return rc;
	p->path_len = sub ? 0 : 1;
	if (o->path_len) {
		if (strcmp(o->path_len, "none") == 0)
			p->path_len = -1;
		else if ((rc = num_i64("--path-len", o->path_len, 0, 16,
		    &p->path_len, e)) != 0)
			return rc;
	}
	p->digest = p->alg->digest;
	if (o->digest) {
		if (p->alg->digest == NULL)
			return err_set(e, EX_DATAERR, "--digest: %s keys sign "
			    "without a separate digest", p->alg->name);
		if (strcmp(o->digest, "sha256") != 0 &&
		    strcmp(o->digest, "sha384") != 0 &&
		    strcmp(o->digest, "sha512") != 0)
			return err_set(e, EX_DATAERR, "--digest: '%s' is not "
			    "sha256, sha384 or sha512", o->digest);
		p->digest = o->digest;
	}
	if (o->parent && o->csr_only)
		return err_set(e, EX_USAGE, "--parent and --csr-only exclude "
		    "each other");
	return x509_name_build(&s, &p->subject, e);
}

/* Everything a new CA row needs; filled by create() before the insert. */
struct newca {
	const char *status;
	char *key_ref;
	struct buf spki, subject, csr, cert, chain, serial, nb, na, fp;
};

static void
newca_free(struct newca *n)
{
	free(n->key_ref);
	buf_free(&n->spki); buf_free(&n->subject); buf_free(&n->csr);
	buf_free(&n->cert); buf_free(&n->chain); buf_free(&n->serial);
	buf_free(&n->nb); buf_free(&n->na); buf_free(&n->fp);
}

/* Sign the new CA's certificate: by itself (root) or by parent. */
static int
sign_ca(struct cli *c, const struct create_plan *p, const struct ca *parent,
    const struct secret *pass, EVP_PKEY *key, struct newca *n, struct err *e)
{
	struct x509_issue in;
	X509 *pcert = NULL, *x = NULL;
	EVP_PKEY *pkey = NULL;
	char *aia = NULL, *crl = NULL;
	time_t now = clock_now();
	int rc, capped = 0;

	memset(&in, 0, sizeof in);
	if (parent) {
		if ((rc = ca_open_signer(&c->conf, parent, pass, &pcert, &pkey,
		    e)) != 0)
			goto out;
		aia = tmpl_url(&(struct tmpl){ .aia = 1 }, "aia",
		    c->conf.base_url, parent->name);
		crl = tmpl_url(&(struct tmpl){ .cdp = 1 }, "crl",
		    c->conf.base_url, parent->name);
	}
	in.subject = NULL;
	in.pubkey = key;
	in.issuer = pcert;
	in.issuer_key = parent ? pkey : key;
	in.digest = parent ? (parent->digest ? parent->digest : p->digest) :
	    p->digest;
	in.not_before = now - 60;	/* tolerate small clock skew */
	in.not_after = now + (time_t)p->days * 86400;
	in.ca = 1;
	in.path_len = (int)p->path_len;
	in.ku = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
	in.aia_issuer_url = aia;
	in.crl_url = crl;
	in.subject = p->subject;
	if ((rc = x509_issue(&in, &x, &capped, e)) != 0)
		goto out;
	if (capped)
		diag("validity capped at the parent CA's notAfter");
	x509_pem(x, &n->cert);
	x509_serial_hex(x, &n->serial);
	x509_fingerprint(x, &n->fp);
	clock_fmt(&n->nb, x509_not_before(x));
	clock_fmt(&n->na, x509_not_after(x));
	if (parent) {
		buf_adds(&n->chain, parent->cert_pem);
		buf_adds(&n->chain, parent->chain_pem);
	}
	rc = 0;
out:
	X509_free(pcert);
	X509_free(x);
	EVP_PKEY_free(pkey);
	free(aia);
	free(crl);
	return rc;
}

static int
check_parent(const struct ca *parent, const struct create_plan *p,
    struct err *e)
{
	if (strcmp(parent->status, "active") != 0)
		return err_set(e, EX_NOPERM, "parent CA '%s' is %s, not active",
		    parent->name, parent->status);
	if (parent->path_len == 0)
		return err_set(e, EX_NOPERM, "parent CA '%s' has path length 0: "
		    "it may not sign CAs", parent->name);
	if (parent->path_len > 0 &&
	    (p->path_len < 0 || p->path_len >= parent->path_len))
		return err_set(e, EX_DATAERR, "--path-len must be below the "
		    "parent's (%lld)", (long long)parent->path_len);
	return 0;
}

static int
insert_ca(struct cli *c, const char *name, const struct create_plan *p,
    const struct ca *parent, const struct newca *n, int64_t *id,
    struct err *e)
{
	struct buf now = {0};
	int rc;

	clock_fmt(&now, clock_now());
	/* NULLIF: parent 0 and path length -1 are stored as NULL */
	rc = db_exec(c->db, e, "INSERT INTO cas (realm_id, name, parent_id, "
	    "status, key_alg, key_ref, spki, subject, digest, path_len, days, "
	    "csr_pem, cert_pem, chain_pem, serial, not_before, not_after, "
	    "fingerprint, created_at, updated_at) VALUES (?, ?, NULLIF(?, 0), "
	    "?, ?, ?, ?, ?, ?, NULLIF(?, -1), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "ititttbttiittttttttt",
	    c->realm_id, name, parent ? parent->id : (int64_t)0, n->status,
	    p->alg->name, n->key_ref, n->spki.p, n->spki.len, n->subject.p,
	    p->digest, p->path_len, (int64_t)p->days,
	    n->csr.len ? n->csr.p : NULL, n->cert.len ? n->cert.p : NULL,
	    buf_str(&n->chain), n->serial.len ? n->serial.p : NULL,
	    n->nb.len ? n->nb.p : NULL, n->na.len ? n->na.p : NULL,
	    n->fp.len ? n->fp.p : NULL, now.p, now.p);
	if (rc == 0)
		*id = db_last_id(c->db);
	buf_free(&now);
	return rc;
}

static int
ca_create(struct cli *c, int argc, const char **argv)
{
	struct create_opts o = {0};
	struct poptOption opts[] = {
		{ "alg", '\0', POPT_ARG_STRING, &o.alg, 0,
		  "key type (root default ec-384, others ec-256)", "TYPE" },
		{ "c", '\0', POPT_ARG_STRING, &o.c, 0, "subject country", "CC" },
		{ "cn", '\0', POPT_ARG_STRING, &o.cn, 0,
		  "subject common name (required)", "NAME" },
		{ "csr-only", '\0', POPT_ARG_NONE, &o.csr_only, 0,
		  "make the key and print a CSR for an outside CA; "
		  "activate with 'ca import'", NULL },
		{ "days", '\0', POPT_ARG_STRING, &o.days, 0,
		  "validity (root default 3650, others 1825; max 18250)", "N" },
		{ "digest", '\0', POPT_ARG_STRING, &o.digest, 0,
		  "sha256, sha384 or sha512 (default: by key type)", "D" },
		{ "l", '\0', POPT_ARG_STRING, &o.l, 0, "subject locality", "L" },
		{ "o", '\0', POPT_ARG_STRING, &o.o, 0, "subject organisation",
		  "O" },
		{ "ou", '\0', POPT_ARG_STRING, &o.ou, 0, "subject unit", "OU" },
		{ "parent", '\0', POPT_ARG_STRING, &o.parent, 0,
		  "the local CA that signs this one (default: a root)", "CA" },
		{ "path-len", '\0', POPT_ARG_STRING, &o.path_len, 0,
		  "pathLenConstraint 0-16 or none (root default 1, others 0)",
		  "N" },
		{ "st", '\0', POPT_ARG_STRING, &o.st, 0, "subject state", "ST" },
		CLI_PASSPHRASE(c),
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct create_plan p = {0};
	struct newca n = {0};
	struct ca parent = {0};
	struct secret pass = {0};
	struct err e = {0};
	struct buf detail = {0}, obj = {0};
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	struct tmpl t = {0};
	int64_t id = 0, exists = 0;
	int rc, intx = 0;
	const char *name;

	if ((rc = cli_parse(c, "certpipe ca create", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0)
		goto out;
	name = c->args[0];
	if ((rc = ca_name_check(name, &e)) != 0 ||
	    (rc = plan_create(&o, &p, &e)) != 0)
		goto fail;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = db_int64(c->db, &exists, &e, "SELECT count(*) FROM cas "
	    "WHERE realm_id = ? AND name = ?", "it", c->realm_id, name)) != 0)
		goto fail;
	if (exists) {
		rc = err_set(&e, EX_DATAERR, "CA '%s': exists in realm '%s'",
		    name, cli_realm(c));
		goto fail;
	}
	if (o.parent && ((rc = ca_load(c->db, c->realm_id, o.parent, &parent,
	    &e)) != 0 || (rc = check_parent(&parent, &p, &e)) != 0))
		goto fail;
	if ((rc = cli_secret(c, &pass, &e)) != 0)
		goto fail;
	if ((rc = keys_generate(p.alg, &key, &e)) != 0 ||
	    (rc = keys_spki(key, &n.spki, &e)) != 0)
		goto fail;
	x509_name_str(p.subject, &n.subject);
	if (o.csr_only) {
		n.status = "pending";
		if ((rc = x509_csr_make(key, p.subject, p.digest, &req, &e)) != 0)
			goto fail;
		x509_req_pem(req, &n.csr);
	} else {
		n.status = "active";
		if ((rc = sign_ca(c, &p, o.parent ? &parent : NULL, &pass, key,
		    &n, &e)) != 0)
			goto fail;
	}
	/* The key file is written before the row that names it: a crash
	 * in between leaves an unreferenced encrypted file, never a CA
	 * row without its key. */
	if ((rc = keys_store(&c->conf, key, &pass, &n.key_ref, &e)) != 0)
		goto fail;
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = insert_ca(c, name, &p, o.parent ? &parent : NULL, &n, &id,
	    &e)) != 0 ||
	    (rc = tmpl_create_default(c->db, c->realm_id, id, name, &t, &e))
	    != 0)
		goto fail;
	buf_printf(&detail, "%s, %s, %lld days", p.alg->name,
	    o.csr_only ? "csr-only" : o.parent ? "intermediate" : "root",
	    (long long)p.days);
	if (o.parent)
		buf_printf(&detail, ", parent %s", o.parent);
	buf_printf(&obj, "ca:%s", name);
	if ((rc = cli_audit(c, "ca.created", obj.p, "success", detail.p,
	    &e)) != 0)
		goto fail;
	buf_reset(&obj);
	buf_printf(&obj, "template:%s", t.name);
	if ((rc = cli_audit(c, "template.created", obj.p, "success",
	    "default web-server template", &e)) != 0 ||
	    (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	if (o.csr_only)
		rc = cli_print(&n.csr);
	else {
		struct buf line = {0};
		buf_printf(&line, "created CA %s (%s, serial %s, valid until %s)\n",
		    name, p.alg->name, n.serial.p, n.na.p);
		rc = cli_print(&line);
		buf_free(&line);
	}
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	if (n.key_ref) {
		struct err e2 = {0};
		keys_remove(&c->conf, n.key_ref, &e2);
		err_free(&e2);
	}
	rc = diag_err(&e);
out:
	create_opts_free(&o);
	X509_NAME_free(p.subject);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	secret_free(&pass);
	ca_free(&parent);
	tmpl_free(&t);
	newca_free(&n);
	buf_free(&detail);
	buf_free(&obj);
	err_free(&e);
	return rc;
}

static int
read_certs(const char *path, STACK_OF(X509) **out, struct err *e)
{
	struct buf b = {0};
	int rc;

	if ((rc = fs_read(path, CERT_FILE_MAX, &b, e)) == 0 &&
	    (rc = x509_certs_read(b.p, b.len, out, e)) != 0)
		err_prefix(e, "%s", path);
	buf_free(&b);
	return rc;
}

/* Push every certificate of a PEM bundle (a CA's cert or chain). */
static void
push_pem(STACK_OF(X509) *sk, const char *pem)
{
	STACK_OF(X509) *tmp = NULL;
	struct err e = {0};

	if (pem && *pem && x509_certs_read(pem, strlen(pem), &tmp, &e) == 0) {
		while (sk_X509_num(tmp) > 0)
			sk_X509_push(sk, sk_X509_shift(tmp));
		sk_X509_free(tmp);
	}
	err_free(&e);
}

/* Local CAs of the realm as trust anchors (roots) and intermediates. */
static int
local_trust(struct cli *c, STACK_OF(X509) *trusted,
    STACK_OF(X509) *untrusted, struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	if ((rc = db_prep(c->db, &st, e, "SELECT cert_pem, parent_id IS NULL "
	    "AND external = 0 FROM cas WHERE realm_id = ? AND status <> "
	    "'pending'", "i", c->realm_id)) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1)
		push_pem(db_int(st, 1) ? trusted : untrusted, db_text(st, 0));
	db_finish(st);
	return rc < 0 ? e->code : 0;
}

static int
ca_import(struct cli *c, int argc, const char **argv)
{
	char *chainfile = NULL, *rootfile = NULL;
	struct poptOption opts[] = {
		{ "chain", '\0', POPT_ARG_STRING, &chainfile, 0,
		  "intermediate certificates between it and the root", "FILE" },
		{ "root", '\0', POPT_ARG_STRING, &rootfile, 0,
		  "the outside root CA certificate to trust", "FILE" },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	STACK_OF(X509) *got = NULL, *trusted = sk_X509_new_null(),
	    *untrusted = sk_X509_new_null(), *path = NULL;
	struct ca ca = {0};
	struct err e = {0};
	struct buf pem = {0}, chain = {0}, subj = {0}, serial = {0}, nb = {0},
	    na = {0}, fp = {0}, now = {0}, obj = {0};
	X509 *x;
	int64_t parent = 0;
	int rc, i, external, intx = 0;

	if ((rc = cli_parse(c, "certpipe ca import", argc, argv, opts,
	    "[OPTION...] NAME CERTFILE", 2, 2)) != 0)
		goto out;
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = ca_load(c->db, c->realm_id, c->args[0], &ca, &e)) != 0)
		goto fail;
	if (strcmp(ca.status, "pending") != 0) {
		rc = err_set(&e, EX_DATAERR, "CA '%s' is %s: only a CSR-only CA "
		    "waits for a certificate", ca.name, ca.status);
		goto fail;
	}
	if ((rc = read_certs(c->args[1], &got, &e)) != 0)
		goto fail;
	/* the first certificate is the CA's; any more are its chain */
	x = sk_X509_shift(got);
	while (sk_X509_num(got) > 0)
		sk_X509_push(untrusted, sk_X509_shift(got));
	sk_X509_push(got, x);
	if (!x509_key_matches(x, ca.spki, ca.spki_len)) {
		rc = err_set(&e, EX_DATAERR, "%s: certificate does not match the "
		    "pending key of CA '%s'", c->args[1], ca.name);
		goto fail;
	}
	if ((rc = x509_check_ca(x, &e)) != 0) {
		err_prefix(&e, "%s", c->args[1]);
		goto fail;
	}
	if (x509_not_after(x) <= clock_now()) {
		rc = err_set(&e, EX_DATAERR, "%s: certificate has expired",
		    c->args[1]);
		goto fail;
	}
	if (chainfile) {
		STACK_OF(X509) *sk = NULL;
		if ((rc = read_certs(chainfile, &sk, &e)) != 0)
			goto fail;
		while (sk_X509_num(sk) > 0)
			sk_X509_push(untrusted, sk_X509_shift(sk));
		sk_X509_free(sk);
	}
	if (rootfile) {
		STACK_OF(X509) *sk = NULL;
		if ((rc = read_certs(rootfile, &sk, &e)) != 0)
			goto fail;
		while (sk_X509_num(sk) > 0)
			sk_X509_push(trusted, sk_X509_shift(sk));
		sk_X509_free(sk);
	}
	if ((rc = local_trust(c, trusted, untrusted, &e)) != 0)
		goto fail;
	if ((rc = x509_verify(x, trusted, untrusted, &path, &e)) != 0) {
		err_prefix(&e, "%s", c->args[1]);
		goto fail;
	}
	/* chain_pem: the verified issuers, root last */
	for (i = 1; i < sk_X509_num(path); i++)
		x509_pem(sk_X509_value(path, i), &chain);
	/* a local CA as the direct issuer becomes the parent */
	if (sk_X509_num(path) > 1) {
		struct buf ifp = {0};
		x509_fingerprint(sk_X509_value(path, 1), &ifp);
		if (db_int64(c->db, &parent, &e, "SELECT coalesce(max(id), 0) "
		    "FROM cas WHERE realm_id = ? AND fingerprint = ?", "it",
		    c->realm_id, ifp.p) != 0)
			parent = 0;
		buf_free(&ifp);
	}
	external = parent == 0;
	x509_pem(x, &pem);
	x509_name_str(X509_get_subject_name(x), &subj);
	x509_serial_hex(x, &serial);
	x509_fingerprint(x, &fp);
	clock_fmt(&nb, x509_not_before(x));
	clock_fmt(&na, x509_not_after(x));
	clock_fmt(&now, clock_now());
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	buf_printf(&obj, "ca:%s", ca.name);
	if ((rc = db_exec(c->db, &e, "UPDATE cas SET status = 'active', "
	    "cert_pem = ?, chain_pem = ?, subject = ?, serial = ?, "
	    "not_before = ?, not_after = ?, fingerprint = ?, external = ?, "
	    "parent_id = NULLIF(?, 0), path_len = NULLIF(?, -1), "
	    "updated_at = ? WHERE id = ?", "tttttttiiiti", pem.p,
	    buf_str(&chain), subj.p, serial.p, nb.p, na.p, fp.p,
	    (int64_t)external, parent, (int64_t)X509_get_pathlen(x), now.p,
	    ca.id)) != 0 ||
	    (rc = cli_audit(c, "ca.imported", obj.p, "success", external ?
	    "signed by an outside CA" : "signed by a local CA", &e)) != 0 ||
	    (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("imported certificate for CA %s (serial %s, valid until %s)\n",
	    ca.name, serial.p, na.p);
	rc = 0;
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	sk_X509_pop_free(got, X509_free);
	sk_X509_pop_free(trusted, X509_free);
	sk_X509_pop_free(untrusted, X509_free);
	sk_X509_pop_free(path, X509_free);
	ca_free(&ca);
	buf_free(&pem); buf_free(&chain); buf_free(&subj); buf_free(&serial);
	buf_free(&nb); buf_free(&na); buf_free(&fp); buf_free(&now);
	buf_free(&obj);
	free(chainfile);
	free(rootfile);
	err_free(&e);
	return rc;
}

static void
ca_json(struct jw *w, const struct ca *ca, const char *parent)
{
	jw_obj(w);
	jw_kstr(w, "name", ca->name);
	jw_kstr(w, "status", ca->status);
	jw_kstr(w, "parent", parent);
	jw_kbool(w, "external", ca->external);
	jw_kstr(w, "subject", ca->subject);
	jw_kstr(w, "key_alg", ca->key_alg);
	jw_kstr(w, "key_store", keys_ref_kind(ca->key_ref));
	jw_kstr(w, "digest", ca->digest);
	jw_key(w, "path_len");
	if (ca->path_len < 0)
		jw_null(w);
	else
		jw_int(w, ca->path_len);
	jw_kint(w, "days", ca->days);
	jw_kstr(w, "serial", ca->serial);
	jw_kstr(w, "not_before", ca->not_before);
	jw_kstr(w, "not_after", ca->not_after);
	jw_kstr(w, "fingerprint_sha256", ca->fingerprint);
	jw_kstr(w, "created_at", ca->created_at);
	jw_kstr(w, "updated_at", ca->updated_at);
	jw_kstr(w, "csr", ca->csr_pem);
	jw_kstr(w, "certificate", ca->cert_pem);
	jw_end(w);
}

static int
parent_name(struct cli *c, const struct ca *ca, struct buf *out)
{
	struct ca p = {0};
	struct err e = {0};

	buf_reset(out);
	if (ca->parent_id && ca_load_id(c->db, ca->parent_id, &p, &e) == 0)
		buf_adds(out, p.name);
	ca_free(&p);
	err_free(&e);
	return out->len > 0;
}

static int
ca_list(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct db_stmt *st = NULL;
	struct err e = {0};
	struct buf out = {0}, pn = {0};
	struct ca ca;
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe ca list", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = db_prep(c->db, &st, &e, "SELECT id FROM cas WHERE realm_id = ? "
	    "ORDER BY name", "i", c->realm_id)) != 0)
		goto fail;
	jw_init(&w, &out);
	if (c->json)
		jw_arr(&w);
	else
		buf_printf(&out, "%-20s %-8s %-8s %-20s %-20s %s\n", "NAME",
		    "STATUS", "ALG", "PARENT", "NOT-AFTER", "SUBJECT");
	while ((rc = db_step(st, &e)) == 1) {
		if ((rc = ca_load_id(c->db, db_int(st, 0), &ca, &e)) != 0)
			goto fail;
		if (!parent_name(c, &ca, &pn))
			buf_adds(&pn, ca.external ? "(outside)" : "-");
		if (c->json)
			ca_json(&w, &ca, ca.parent_id ? pn.p : NULL);
		else
			buf_printf(&out, "%-20s %-8s %-8s %-20s %-20s %s\n",
			    ca.name, ca.status, ca.key_alg, pn.p,
			    ca.not_after ? ca.not_after : "-", ca.subject);
		ca_free(&ca);
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
	buf_free(&out);
	buf_free(&pn);
	err_free(&e);
	return rc;
}

static int
ca_show(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct crl_settings crl;
	struct ca ca = {0};
	struct err e = {0};
	struct buf out = {0}, pn = {0};
	struct jw w;
	int rc;

	if ((rc = cli_parse(c, "certpipe ca show", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = ca_load(c->db, c->realm_id, c->args[0], &ca, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	parent_name(c, &ca, &pn);
	if (c->json) {
		jw_init(&w, &out);
		ca_json(&w, &ca, pn.len ? pn.p : NULL);
		buf_addc(&out, '\n');
	} else {
		buf_printf(&out, "name         %s\nrealm        %s\nstatus       %s\n"
		    "parent       %s\nsubject      %s\nkey          %s, %s\n"
		    "digest       %s\npath length  %s%lld\nserial       %s\n"
		    "not before   %s\nnot after    %s\nsha256       %s\n",
		    ca.name, cli_realm(c), ca.status, pn.len ? pn.p :
		    ca.external ? "(outside CA)" : "-", ca.subject, ca.key_alg,
		    keys_ref_kind(ca.key_ref), ca.digest ? ca.digest : "(pure)",
		    ca.path_len < 0 ? "none" : "", ca.path_len < 0 ? 0LL :
		    (long long)ca.path_len, ca.serial ? ca.serial : "-",
		    ca.not_before ? ca.not_before : "-",
		    ca.not_after ? ca.not_after : "-",
		    ca.fingerprint ? ca.fingerprint : "-");
		if (crl_settings_load(c->db, ca.id, &crl, &e) == 0)
			buf_printf(&out, "crl days     %lld\ndelta hours  "
			    "%lld\ncrl shards   %lld\n", (long long)crl.days,
			    (long long)crl.delta_hours, (long long)crl.shards);
		if (ca.csr_pem && strcmp(ca.status, "pending") == 0)
			buf_printf(&out, "\n%s", ca.csr_pem);
	}
	rc = cli_print(&out);
out:
	ca_free(&ca);
	buf_free(&out);
	buf_free(&pn);
	err_free(&e);
	return rc;
}

static int
ca_export(struct cli *c, int argc, const char **argv)
{
	char *part = NULL, *format = NULL, *outfile = NULL;
	struct poptOption opts[] = {
		{ "format", '\0', POPT_ARG_STRING, &format, 0,
		  "pem (default) or der (one certificate only)", "FMT" },
		{ "out", '\0', POPT_ARG_STRING, &outfile, 0,
		  "write to FILE instead of standard output", "FILE" },
		{ "part", '\0', POPT_ARG_STRING, &part, 0,
		  "cert (default), chain (issuers up to the root) or "
		  "fullchain (cert and chain)", "PART" },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct ca ca = {0};
	struct err e = {0};
	struct buf out = {0};
	X509 *x = NULL;
	const char *pt;
	int rc, der;

	if ((rc = cli_parse(c, "certpipe ca export", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0)
		goto out;
	pt = part ? part : "cert";
	der = format && strcmp(format, "der") == 0;
	if (format && !der && strcmp(format, "pem") != 0) {
		rc = err_set(&e, EX_USAGE, "--format: '%s' is not pem or der",
		    format);
		goto fail;
	}
	if (strcmp(pt, "cert") != 0 && strcmp(pt, "chain") != 0 &&
	    strcmp(pt, "fullchain") != 0) {
		rc = err_set(&e, EX_USAGE, "--part: '%s' is not cert, chain or "
		    "fullchain", pt);
		goto fail;
	}
	if (der && strcmp(pt, "cert") != 0) {
		rc = err_set(&e, EX_USAGE, "--format der holds one certificate: "
		    "use pem for --part %s", pt);
		goto fail;
	}
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = ca_load(c->db, c->realm_id, c->args[0], &ca, &e)) != 0)
		goto fail;
	if (ca.cert_pem == NULL) {
		rc = err_set(&e, EX_DATAERR, "CA '%s' has no certificate yet "
		    "(pending: import it with 'certpipe ca import')", ca.name);
		goto fail;
	}
	if (der) {
		if ((rc = x509_cert_read(ca.cert_pem, strlen(ca.cert_pem), &x,
		    &e)) != 0)
			goto fail;
		x509_der(x, &out);
	} else {
		if (strcmp(pt, "chain") != 0)
			buf_adds(&out, ca.cert_pem);
		if (strcmp(pt, "cert") != 0)
			buf_adds(&out, ca.chain_pem);
	}
	if (out.len == 0) {
		rc = err_set(&e, EX_DATAERR, "CA '%s' is a root: its chain is "
		    "empty", ca.name);
		goto fail;
	}
	rc = cli_output(&out, outfile);
	goto out;
fail:
	rc = diag_err(&e);
out:
	X509_free(x);
	ca_free(&ca);
	buf_free(&out);
	free(part);
	free(format);
	free(outfile);
	err_free(&e);
	return rc;
}

/* enable / disable */
static int
set_status(struct cli *c, int argc, const char **argv, const char *want)
{
	struct poptOption opts[] = { CLI_COMMON(c), POPT_AUTOHELP POPT_TABLEEND };
	struct ca ca = {0};
	struct err e = {0};
	struct buf name = {0}, obj = {0}, ev = {0}, now = {0};
	int rc, intx = 0;

	buf_printf(&name, "certpipe ca %s", argv[0]);
	if ((rc = cli_parse(c, name.p, argc, argv, opts, "[OPTION...] NAME", 1,
	    1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = ca_load(c->db, c->realm_id, c->args[0], &ca, &e)) != 0)
		goto fail;
	if (strcmp(ca.status, "pending") == 0) {
		rc = err_set(&e, EX_DATAERR, "CA '%s' is pending: import its "
		    "certificate first", ca.name);
		goto fail;
	}
	if (strcmp(ca.status, want) == 0) {
		printf("CA %s is already %s\n", ca.name, want);
		goto out;
	}
	clock_fmt(&now, clock_now());
	buf_printf(&obj, "ca:%s", ca.name);
	buf_printf(&ev, "ca.%s", strcmp(want, "active") == 0 ? "enabled" :
	    "disabled");
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = db_exec(c->db, &e, "UPDATE cas SET status = ?, updated_at = ? "
	    "WHERE id = ?", "tti", want, now.p, ca.id)) != 0 ||
	    (rc = cli_audit(c, ev.p, obj.p, "success", NULL, &e)) != 0 ||
	    (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("CA %s %s\n", ca.name, strcmp(want, "active") == 0 ? "enabled" :
	    "disabled");
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	ca_free(&ca);
	buf_free(&name); buf_free(&obj); buf_free(&ev); buf_free(&now);
	err_free(&e);
	return rc;
}

/* set: the CRL settings */
#define CRL_DAYS_MAX 366
#define DELTA_HOURS_MAX 8784
#define CRL_SHARDS_MAX 256

static int
crl_opt(const char *name, const char *v, int64_t min, int64_t max,
    int64_t *out, struct buf *detail, struct err *e)
{
	int64_t old = *out;

	if (v == NULL)
		return 0;
	if (num_i64(name, v, min, max, out, e) != 0)
		return e->code = EX_USAGE;
	buf_printf(detail, "%s%s %lld -> %lld", detail->len ? ", " : "",
	    name + 2, (long long)old, (long long)*out);
	return 0;
}

static int
ca_set(struct cli *c, int argc, const char **argv)
{
	char *days = NULL, *hours = NULL, *shards = NULL;
	struct poptOption opts[] = {
		{ "crl-days", '\0', POPT_ARG_STRING, &days, 0,
		  "nextUpdate of complete CRLs, in days (1..366; default 7)",
		  "N" },
		{ "crl-shards", '\0', POPT_ARG_STRING, &shards, 0,
		  "CRL shards for certificates issued from now on (0..256; "
		  "0: none)", "N" },
		{ "delta-hours", '\0', POPT_ARG_STRING, &hours, 0,
		  "publish delta CRLs valid N hours (0: none)", "N" },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct crl_settings s;
	struct ca ca = {0};
	struct err e = {0};
	struct buf obj = {0}, detail = {0}, now = {0};
	int rc, intx = 0;

	if ((rc = cli_parse(c, "certpipe ca set", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0)
		goto out;
	if (days == NULL && hours == NULL && shards == NULL) {
		rc = err_set(&e, EX_USAGE, "nothing to set: give --crl-days, "
		    "--crl-shards or --delta-hours");
		goto fail;
	}
	if ((rc = cli_open(c)) != 0)
		goto out;
	if ((rc = ca_load(c->db, c->realm_id, c->args[0], &ca, &e)) != 0 ||
	    (rc = crl_settings_load(c->db, ca.id, &s, &e)) != 0)
		goto fail;
	if ((rc = crl_opt("--crl-days", days, 1, CRL_DAYS_MAX, &s.days,
	    &detail, &e)) != 0 || (rc = crl_opt("--crl-shards", shards, 0,
	    CRL_SHARDS_MAX, &s.shards, &detail, &e)) != 0 ||
	    (rc = crl_opt("--delta-hours", hours, 0, DELTA_HOURS_MAX,
	    &s.delta_hours, &detail, &e)) != 0)
		goto fail;
	/* a delta must expire before the complete CRL it amends */
	if (s.delta_hours >= s.days * 24) {
		rc = err_set(&e, EX_USAGE, "--delta-hours %lld: not less than "
		    "the complete CRL's %lld days", (long long)s.delta_hours,
		    (long long)s.days);
		goto fail;
	}
	clock_fmt(&now, clock_now());
	buf_printf(&obj, "ca:%s", ca.name);
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if ((rc = db_exec(c->db, &e, "UPDATE cas SET crl_days = ?, "
	    "crl_delta_hours = ?, crl_shards = ?, updated_at = ? WHERE id = ? "
	    "AND realm_id = ?", "iiitii", s.days, s.delta_hours, s.shards,
	    now.p, ca.id, c->realm_id)) != 0 ||
	    (rc = cli_audit(c, "ca.updated", obj.p, "success", detail.p, &e))
	    != 0 || (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	printf("CA %s: %s\n", ca.name, detail.p);
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	ca_free(&ca);
	buf_free(&obj); buf_free(&detail); buf_free(&now);
	free(days); free(hours); free(shards);
	err_free(&e);
	return rc;
}

static int ca_enable(struct cli *c, int argc, const char **argv)
{ return set_status(c, argc, argv, "active"); }
static int ca_disable(struct cli *c, int argc, const char **argv)
{ return set_status(c, argc, argv, "disabled"); }

static int
ca_delete(struct cli *c, int argc, const char **argv)
{
	int force = 0;
	struct poptOption opts[] = {
		{ "force", '\0', POPT_ARG_NONE, &force, 0,
		  "delete even while it has unexpired, unrevoked certificates",
		  NULL },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct db_stmt *st = NULL;
	struct ca ca = {0};
	struct err e = {0};
	struct buf obj = {0}, detail = {0};
	int64_t live = 0;
	int rc, intx = 0;

	if ((rc = cli_parse(c, "certpipe ca delete", argc, argv, opts,
	    "[OPTION...] NAME", 1, 1)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = ca_load(c->db, c->realm_id, c->args[0], &ca, &e)) != 0 ||
	    (rc = ca_live_certs(c->db, ca.id, &live, &e)) != 0)
		goto fail;
	buf_printf(&obj, "ca:%s", ca.name);
	buf_printf(&detail, "%lld live certificates%s", (long long)live,
	    force ? ", forced" : "");
	if ((rc = db_begin(c->db, &e)) != 0)
		goto fail;
	intx = 1;
	if (live > 0 && !force) {
		/* the refusal itself is worth an audit record */
		if ((rc = cli_audit(c, "ca.deleted", obj.p, "refused", detail.p,
		    &e)) != 0 || (rc = db_commit(c->db, &e)) != 0)
			goto fail;
		intx = 0;
		rc = err_set(&e, EX_NOPERM, "CA '%s' has %lld unexpired, "
		    "unrevoked certificates: not deleted (--force to delete "
		    "anyway)", ca.name, (long long)live);
		goto fail;
	}
	/* templates of the CA go with it, each with its own event */
	if ((rc = db_prep(c->db, &st, &e, "SELECT name FROM templates WHERE "
	    "ca_id = ?", "i", ca.id)) != 0)
		goto fail;
	while ((rc = db_step(st, &e)) == 1) {
		struct buf t = {0};
		buf_printf(&t, "template:%s", db_text(st, 0));
		rc = cli_audit(c, "template.deleted", t.p, "success",
		    "its CA was deleted", &e);
		buf_free(&t);
		if (rc != 0)
			goto fail;
	}
	db_finish(st);
	st = NULL;
	if (rc < 0 ||
	    (rc = db_exec(c->db, &e, "UPDATE certificates SET template_id = "
	    "NULL WHERE template_id IN (SELECT id FROM templates WHERE "
	    "ca_id = ?)", "i", ca.id)) != 0 ||
	    (rc = db_exec(c->db, &e, "DELETE FROM templates WHERE ca_id = ?",
	    "i", ca.id)) != 0 ||
	    (rc = db_exec(c->db, &e, "DELETE FROM cas WHERE id = ?", "i",
	    ca.id)) != 0 ||
	    (rc = cli_audit(c, "ca.deleted", obj.p, "success", detail.p, &e))
	    != 0 || (rc = db_commit(c->db, &e)) != 0)
		goto fail;
	intx = 0;
	/* The key goes after the commit: a crash in between leaves an
	 * orphaned encrypted file, never a CA whose key is gone. */
	if (keys_remove(&c->conf, ca.key_ref, &e) != 0)
		diag("CA %s deleted, but its key file remains: %s", ca.name,
		    err_str(&e));
	printf("deleted CA %s\n", ca.name);
	rc = 0;
	goto out;
fail:
	if (intx)
		db_rollback(c->db);
	rc = diag_err(&e);
out:
	db_finish(st);
	ca_free(&ca);
	buf_free(&obj);
	buf_free(&detail);
	err_free(&e);
	return rc;
}

int
cmd_ca(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", ca_create, "create a root, intermediate or "
		  "CSR-only CA" },
		{ "delete", ca_delete, "delete a CA and its key" },
		{ "disable", ca_disable, "stop a CA from signing" },
		{ "enable", ca_enable, "let a disabled CA sign again" },
		{ "export", ca_export, "print a CA's certificate or chain" },
		{ "import", ca_import, "activate a CSR-only CA with its "
		  "signed certificate" },
		{ "list", ca_list, "list the realm's CAs" },
		{ "set", ca_set, "set how a CA's CRLs are published" },
		{ "show", ca_show, "show one CA" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "ca", subs, argc, argv);
}
