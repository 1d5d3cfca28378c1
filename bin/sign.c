/*
 * sign - issue the certificates that check-policy passed.
 *
 * Input: job records (files named, or stdin). A record with Status
 * processing is signed: its order must exist in its realm, be processing,
 * and hold the facts digest of exactly this record (lib/order.h); the
 * certificate is built by issue_cert from the template, the CA and the
 * request's public key, stored with its order completed and its audit
 * events in the batch's transaction, and the record leaves with the
 * certificate, its chain and Status complete. An order that is already
 * complete is answered with its stored certificate. Every other record
 * passes through unchanged. With --threads N > 1 phase 1 builds each
 * certificate of a batch and hands it to N - 1 threads that sign it
 * while phase 1 builds the next (struct pool); this one signs with them
 * once phase 1 is done. The commit and the output are the same as with
 * one.
 *
 * With --crl SPEC it reads no records: it signs the CRLs the specs
 * describe (lib/crl.h) and writes their DER to stdout. publish-crl runs
 * it with --crl -, the specs on stdin, read once the keys are open.
 *
 * Trust: the only program that opens CA keys. It opens them first,
 * then sandboxes itself (no network, no exec), then reads records. It
 * must never sign what the policy check did not pass: a record without
 * a processing order, or one changed after the check, is refused. It
 * never writes a certificate out before the transaction that records it
 * has committed, and never signs one order twice.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <popt.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include "audit.h"
#include "ca.h"
#include "cert.h"
#include "clock.h"
#include "conf.h"
#include "crl.h"
#include "db.h"
#include "diag.h"
#include "issue.h"
#include "keys.h"
#include "loop.h"
#include "num.h"
#include "order.h"
#include "realm.h"
#include "rec.h"
#include "sandbox.h"
#include "spki.h"
#include "tmpl.h"
#include "x509.h"

#define SERIAL_TRIES 3		/* fresh serials after a collision */
#define THREADS_MAX 256		/* --threads */
#define SPEC_MAX 512		/* bytes of a --crl - line */
#define SPECS_MAX 100000	/* --crl - lines */

/* One CA whose key is open. */
struct signer {
	struct ca ca;
	X509 *cert;
	EVP_PKEY *key;
	STACK_OF(X509) *chain;	/* the CA's certificate, then its issuers */
	struct crl_settings crl;
};

struct ctx {
	struct conf conf;
	struct db *db;
	char *actor;
	struct signer *s;
	size_t ns;
	struct tmpl t;		/* the last template, kept for one batch */
	int64_t active_ca;	/* a CA found active in this batch; the
				   commit checks it again under the lock */
	size_t threads;		/* signing threads (--threads) */
	int later;		/* phase 1 leaves signatures to them */
};

/* What happened to one processing record; applied after the commit. */
struct result {
	int code;		/* 0: a certificate; else the failure's code */
	struct buf why;
	X509 *cert;
	STACK_OF(X509) *chain;
	/* for the transaction (phase 2) */
	int stored;		/* a replay: the certificate is stored */
	int fail;		/* refused: fail the order if processing */
	int64_t realm, order_id, ca_id, tmpl_id, old;
	int sharded;		/* crl_shard to record */
	int64_t shard;
	char *facts, *key_ref;
	struct x509_unsigned *later;	/* built, to be signed (struct pool) */
};

static void
result_free(struct result *res)
{
	buf_free(&res->why);
	X509_free(res->cert);
	sk_X509_pop_free(res->chain, X509_free);
	free(res->facts);
	free(res->key_ref);
	x509_unsigned_free(res->later);
	memset(res, 0, sizeof *res);
}

/* Fail the record with code and a one-line reason; returns 0, since a
 * refused record is a result, not an error of the batch. */
static int
refuse(struct result *res, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
refuse(struct result *res, int code, const char *fmt, ...)
{
	va_list ap;

	res->code = code;
	buf_reset(&res->why);
	va_start(ap, fmt);
	buf_vprintf(&res->why, fmt, ap);
	va_end(ap);
	return 0;
}

/* A database failure ends the batch; anything else is the record's. */
static int
db_trouble(int rc)
{
	return rc == EX_TEMPFAIL || rc == EX_IOERR || rc == EX_SOFTWARE ||
	    rc == EX_NOPERM || rc == EX_OSERR;
}

static int
audit(struct ctx *x, const char *realm, const char *event,
    const char *object, const char *outcome, const char *detail,
    struct err *e)
{
	struct audit_ev ev = { event, x->actor, realm, object, outcome,
	    detail };

	return audit_log(x->db, &ev, e);
}

static int
chain_read(const char *cert_pem, const char *chain_pem, STACK_OF(X509) **out,
    struct err *e)
{
	STACK_OF(X509) *rest = NULL;
	X509 *c;
	int rc;

	if ((rc = x509_certs_read(cert_pem, strlen(cert_pem), out, e)) != 0)
		return rc;
	if (chain_pem == NULL || *chain_pem == '\0')
		return 0;
	if ((rc = x509_certs_read(chain_pem, strlen(chain_pem), &rest, e)) != 0)
		return rc;
	while ((c = sk_X509_shift(rest)) != NULL)
		sk_X509_push(*out, c);
	sk_X509_free(rest);
	return 0;
}

static STACK_OF(X509) *
chain_ref(STACK_OF(X509) *chain)
{
	STACK_OF(X509) *c = X509_chain_up_ref(chain);

	if (c == NULL)
		diag_nomem();
	return c;
}

/* An order that is already complete: its stored certificate and chain. */
static int
replay(struct ctx *x, int64_t realm, const struct order *o,
    struct result *res, struct err *e)
{
	struct db_stmt *st = NULL;
	struct ca ca = {0};
	int64_t ca_id = 0;
	int rc;

	if ((rc = db_prep(x->db, &st, e, "SELECT pem, ca_id FROM certificates "
	    "WHERE id = ? AND realm_id = ?", "ii", o->cert_id, realm)) != 0)
		return rc;
	if ((rc = db_step(st, e)) == 1) {
		rc = x509_cert_read(db_text(st, 0), strlen(db_text(st, 0)),
		    &res->cert, e);
		ca_id = db_int(st, 1);
	}
	db_finish(st);
	if (rc < 0)
		return e->code;
	if (rc != 0 || ca_id == 0)
		return refuse(res, EX_SOFTWARE, "order %s is complete but its "
		    "certificate is not in the inventory", o->job);
	if ((rc = ca_load_id(x->db, ca_id, &ca, e)) == 0 && ca.cert_pem)
		rc = chain_read(ca.cert_pem, ca.chain_pem, &res->chain, e);
	ca_free(&ca);
	if (rc != 0 && !db_trouble(rc))
		rc = refuse(res, rc, "%s", err_str(e));
	return rc;
}

/* The signer for the record's CA in realm, or NULL. */
static const struct signer *
signer(const struct ctx *x, int64_t realm, const char *name)
{
	size_t i;

	for (i = 0; name && i < x->ns; i++)
		if (x->s[i].ca.realm_id == realm &&
		    strcmp(x->s[i].ca.name, name) == 0)
			return &x->s[i];
	return NULL;
}

/* The template the record names, checked against its order and CA. */
static int
template(struct ctx *x, int64_t realm, const struct rec *r,
    const struct order *o, const struct signer **sg, struct result *res,
    struct err *e)
{
	const char *name = rec_get(r, "Template"), *ca = rec_get(r, "CA");
	int64_t active = 0;
	int rc;

	if (name == NULL || ca == NULL)
		return refuse(res, EX_NOPERM, "no Template or CA header");
	if (x->t.name == NULL || x->t.realm_id != realm ||
	    strcmp(x->t.name, name) != 0) {
		tmpl_free(&x->t);
		if ((rc = tmpl_load(x->db, realm, name, &x->t, e)) != 0)
			return db_trouble(rc) ? rc :
			    refuse(res, EX_NOPERM, "%s", err_str(e));
	}
	if (x->t.id != o->template_id)
		return refuse(res, EX_NOPERM, "template %s is not the one the "
		    "order was judged under", name);
	if ((*sg = signer(x, realm, ca)) == NULL)
		return refuse(res, EX_NOPERM, "CA %s: its key is not open in "
		    "this signer", ca);
	if ((*sg)->ca.id != x->t.ca_id)
		return refuse(res, EX_NOPERM, "CA %s is not the CA of template "
		    "%s", ca, name);
	if (!x->t.enabled)
		return refuse(res, EX_NOPERM, "template %s is disabled", name);
	/* the key was opened at start; the CA may have been disabled since */
	if (x->active_ca == (*sg)->ca.id)
		return 0;
	if ((rc = db_int64(x->db, &active, e, "SELECT count(*) FROM cas "
	    "WHERE id = ? AND status = 'active'", "i", (*sg)->ca.id)) != 0)
		return rc;
	if (!active)
		return refuse(res, EX_NOPERM, "CA %s is no longer active", ca);
	x->active_ca = (*sg)->ca.id;
	return 0;
}

/* The public key of the record's request (parse-csr verified its
 * signature), checked again. */
static int
request(const struct rec *r, X509_PUBKEY **spki, EVP_PKEY **pub,
    struct result *res)
{
	const unsigned char *der;
	struct err e = {0};
	size_t len;

	if (!rec_find_pem(r, "CERTIFICATE REQUEST", &der, &len))
		return refuse(res, EX_DATAERR, "no CERTIFICATE REQUEST block");
	if (spki_from_req(der, len, spki, pub, &e) != 0) {
		refuse(res, EX_DATAERR, "%s", err_str(&e));
		err_free(&e);
		return 0;
	}
	if (keys_alg_of(*pub) == NULL)
		return refuse(res, EX_DATAERR, "the request's key is not one "
		    "certpipe accepts");
	return 0;
}

/* The subject from the record's headers; the first SAN's value stands
 * in for a missing CN. x509_issue checks and builds it. */
static void
subject(const struct rec *r, struct x509_subject *s)
{
	const char *san = rec_get(r, "SAN"), *colon;

	*s = (struct x509_subject){ rec_get(r, "CN"), rec_get(r, "O"),
	    rec_get(r, "OU"), rec_get(r, "C"), rec_get(r, "ST"),
	    rec_get(r, "L") };
	if (s->cn == NULL && san && (colon = strchr(san, ':')) != NULL)
		s->cn = colon + 1;
}

/* Did the job ask for Renewal-Of serial when its order was opened?
 * Renewal-Of is not among the facts (lib/order.h), so the order's copy
 * of the original request is the witness. */
static int
asked_renewal(const struct order *o, const char *serial)
{
	struct rec *orig = NULL;
	struct err e = {0};
	const char *v;
	int yes;

	yes = o->request && rec_parse(o->request, strlen(o->request), &orig,
	    &e) == 0 && (v = rec_get(orig, "Renewal-Of")) != NULL &&
	    strcmp(v, serial) == 0;
	rec_free(orig);
	err_free(&e);
	return yes;
}

/* Refuse the renewal of a certificate that is no longer active. */
static int
still_active(struct ctx *x, const char *serial, struct result *res,
    struct err *e)
{
	struct db_stmt *st = NULL;
	int rc;

	if ((rc = db_prep(x->db, &st, e, "SELECT status FROM certificates "
	    "WHERE id = ?", "i", res->old)) != 0)
		return rc;
	if ((rc = db_step(st, e)) == 1) {
		rc = 0;
		if (strcmp(db_text(st, 0), "active") != 0)
			refuse(res, EX_NOPERM, "Renewal-Of %s: the certificate "
			    "is %s, not renewed", serial, db_text(st, 0));
	} else
		rc = rc < 0 ? e->code : 0;
	db_finish(st);
	return rc;
}

/* The certificate the job renews: same realm and CA; 0 when none. */
static int
renewed(struct ctx *x, const struct rec *r, const struct order *o,
    int64_t ca_id, struct result *res, struct err *e)
{
	const char *serial = rec_get(r, "Renewal-Of");
	int rc;

	res->old = 0;
	if (serial == NULL)
		return 0;
	/* only a renewal order supersedes a certificate, the one it was
	 * opened for (certpipe renew), and only while that is active: a
	 * revoked certificate stays revoked and is not renewed */
	if (strcmp(o->type, "renewal") != 0)
		return refuse(res, EX_NOPERM, "Renewal-Of %s on a %s order: "
		    "only a renewal order supersedes a certificate", serial,
		    o->type);
	if (!asked_renewal(o, serial))
		return refuse(res, EX_NOPERM, "Renewal-Of %s is not what the "
		    "job asked for", serial);
	rc = db_int64(x->db, &res->old, e, "SELECT coalesce(max(id), 0) FROM "
	    "certificates WHERE realm_id = ? AND ca_id = ? AND serial = ?",
	    "iit", res->realm, ca_id, serial);
	if (rc == 0 && (res->old == 0 || (o->renewal_of != 0 &&
	    o->renewal_of != res->old)))
		return refuse(res, EX_DATAERR, "Renewal-Of %s: no such "
		    "certificate of this CA%s", serial, res->old == 0 ? "" :
		    " for this order");
	if (rc == 0)
		rc = still_active(x, serial, res, e);
	return rc;
}

/* The database side of an issued certificate (row id): order complete,
 * the renewed certificate superseded, audit events. */
static int
record_issue(struct ctx *x, const struct rec *r, const struct result *res,
    int64_t id, struct err *e)
{
	const char *rname = rec_get(r, "Realm"), *old = rec_get(r, "Renewal-Of");
	struct buf obj = {0}, detail = {0}, serial = {0};
	int rc;

	x509_serial_hex(res->cert, &serial);
	if ((rc = order_complete(x->db, res->order_id, e)) != 0 ||
	    (res->sharded && (rc = db_exec(x->db, e, "UPDATE certificates SET "
	    "crl_shard = ? WHERE id = ?", "ii", res->shard, id)) != 0))
		goto out;
	if (res->old != 0) {
		buf_printf(&obj, "cert:%s", old);
		buf_printf(&detail, "by %s (order %s)", serial.p, rec_id(r));
		/* revoked meanwhile: the batch fails for now, and its
		 * retry refuses the renewal in phase 1 */
		if ((rc = db_exec(x->db, e, "UPDATE certificates SET status = "
		    "'superseded', superseded_by = ? WHERE id = ? AND status "
		    "= 'active'", "ii", id, res->old)) == 0 &&
		    db_changes(x->db) != 1)
			rc = err_set(e, EX_TEMPFAIL, "Renewal-Of %s: the "
			    "certificate changed status while it was renewed",
			    old);
		if (rc != 0 || (rc = audit(x, rname ? rname :
		    REALM_DEFAULT, "certificate.superseded", obj.p, "success",
		    detail.p, e)) != 0)
			goto out;
	}
	buf_reset(&obj);
	buf_reset(&detail);
	buf_printf(&obj, "cert:%s", serial.p);
	buf_printf(&detail, "order %s", rec_id(r));
	rc = audit(x, rname ? rname : REALM_DEFAULT, "certificate.issued",
	    obj.p, "success", detail.p, e);
out:
	buf_free(&obj);
	buf_free(&detail);
	buf_free(&serial);
	return rc;
}

/* The CRL the certificate will be on: a random shard of a sharded CA
 * (recorded with the certificate), freshestCRL when deltas are on. */
static int
crl_choose(const struct signer *sg, struct issue_req *in, struct result *res,
    struct err *e)
{
	uint32_t r;

	in->delta = sg->crl.delta_hours > 0;
	if (sg->crl.shards <= 0)
		return 0;
	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		return err_ssl(e, EX_SOFTWARE, "CRL shard");
	in->sharded = res->sharded = 1;
	in->shard = res->shard = (int64_t)(r % (uint32_t)sg->crl.shards);
	return 0;
}

/* Sign the certificate of a processing order whose facts matched. */
static int
issue(struct ctx *x, const struct rec *r, const struct order *o,
    struct result *res, struct err *e)
{
	const struct signer *sg = NULL;
	struct issue_req in;
	struct x509_subject subj;
	X509_PUBKEY *spki = NULL;
	EVP_PKEY *pub = NULL;
	const char **san = NULL, *days = rec_get(r, "Days");
	const unsigned char *der;
	size_t i, nsan = rec_count(r, "SAN"), len;
	int64_t ndays = 0;
	int rc;

	if (rec_find_pem(r, "CERTIFICATE", &der, &len))
		return refuse(res, EX_DATAERR, "the record already carries a "
		    "certificate");
	if ((rc = template(x, res->realm, r, o, &sg, res, e)) != 0 ||
	    res->code || (rc = request(r, &spki, &pub, res)) != 0 || res->code)
		goto out;
	subject(r, &subj);
	if (days && num_i64("Days", days, 0, 36500, &ndays, e) != 0) {
		rc = refuse(res, EX_DATAERR, "%s", err_str(e));
		goto out;
	}
	if ((rc = renewed(x, r, o, sg->ca.id, res, e)) != 0 || res->code)
		goto out;
	san = xcalloc(nsan + 1, sizeof *san);
	for (i = 0; i < nsan; i++)
		san[i] = rec_get_n(r, "SAN", i);
	in = (struct issue_req){ &x->t, sg->ca.name, sg->cert, sg->key,
	    x->conf.base_url, pub, NULL, &subj, subj.cn, san, nsan, ndays,
	    clock_now(), spki, 0, 0, 0, x->later ? &res->later : NULL };
	if ((rc = crl_choose(sg, &in, res, e)) != 0 ||
	    (rc = issue_cert(&in, &res->cert, NULL, e)) != 0) {
		rc = refuse(res, rc, "%s", err_str(e));
		goto out;
	}
	res->ca_id = sg->ca.id;
	res->tmpl_id = x->t.id;
	res->chain = chain_ref(sg->chain);
out:
	free(san);
	X509_PUBKEY_free(spki);
	EVP_PKEY_free(pub);
	return rc;
}

/*
 * Phase 1, outside the write transaction: every check, and the
 * signature, which needs no lock. Returns 0 with res saying what became
 * of the record (a certificate to store, a stored one, a refusal), or a
 * database failure that ends the batch.
 */
static int
prepare(struct ctx *x, const struct rec *r, struct result *res,
    struct err *e)
{
	const char *rname = rec_get(r, "Realm");
	struct order o = {0};
	struct buf facts = {0};
	int rc;

	if ((rc = realm_id(x->db, rname ? rname : REALM_DEFAULT, &res->realm,
	    e)) != 0)
		return db_trouble(rc) ? rc : refuse(res, EX_NOPERM, "%s",
		    err_str(e));
	if ((rc = order_load(x->db, rec_id(r), &o, e)) != 0)
		return rc != EX_NOINPUT ? rc : refuse(res, EX_NOPERM, "no "
		    "order: the job has not passed check-policy");
	if (o.realm_id != res->realm) {
		rc = refuse(res, EX_NOPERM, "its order belongs to another "
		    "realm");
		goto out;
	}
	res->order_id = o.id;
	res->key_ref = o.key_ref ? xstrdup(o.key_ref) : NULL;
	res->facts = o.facts ? xstrdup(o.facts) : NULL;
	if (strcmp(o.status, "complete") == 0) {
		res->stored = 1;
		rc = replay(x, res->realm, &o, res, e);
		goto out;
	}
	if (strcmp(o.status, "processing") != 0) {
		rc = refuse(res, EX_NOPERM, "order is %s, not processing",
		    o.status);
		goto out;
	}
	order_facts(r, &facts);
	if (o.facts == NULL || strcmp(o.facts, facts.p) != 0)
		rc = refuse(res, EX_NOPERM, "the record is not what "
		    "check-policy passed (its facts differ)");
	else
		rc = issue(x, r, &o, res, e);
	res->fail = res->code != 0;
out:
	order_free(&o);
	buf_free(&facts);
	return rc;
}

/* A refused order is failed, with its alert and audit event, when it is
 * still processing: a record must not undo another state (held,
 * failed) or reach into another tenant. */
static int
fail_order(struct ctx *x, const struct rec *r, const struct result *res,
    struct err *e)
{
	const char *rname = rec_get(r, "Realm");
	struct buf obj = {0};
	int64_t n = 0;
	int rc;

	if ((rc = db_int64(x->db, &n, e, "SELECT count(*) FROM orders WHERE "
	    "id = ? AND status = 'processing'", "i", res->order_id)) != 0 ||
	    n == 0)
		return rc;
	if ((rc = order_fail(x->db, res->order_id, res->code, res->why.p, e))
	    != 0)
		return rc;
	buf_printf(&obj, "order:%s", rec_id(r));
	rc = audit(x, rname ? rname : REALM_DEFAULT, "order.failed", obj.p,
	    "refused", res->why.p, e);
	buf_free(&obj);
	return rc;
}

/*
 * Phase 2, inside the batch's transaction: store what phase 1 signed.
 * When the order moved on in between (another signer) or the serial
 * collided with one in the inventory, phase 1 runs again, now under the
 * lock, so what is stored is judged on what is committed.
 */
static int
commit_one(struct ctx *x, const struct rec *r, struct result *res,
    struct err *e)
{
	struct cert_row row;
	int64_t same = 0, id = 0;
	int i, rc, taken = 0;

	for (i = 0; i <= SERIAL_TRIES; i++) {
		if (res->code)
			return res->fail ? fail_order(x, r, res, e) : 0;
		if (res->stored)
			return 0;
		if ((rc = db_int64(x->db, &same, e, "SELECT count(*) FROM "
		    "orders o, cas c WHERE o.id = ? AND o.status = "
		    "'processing' AND o.facts = ? AND c.id = ? AND c.status = "
		    "'active'", "iti", res->order_id, res->facts, res->ca_id))
		    != 0)
			return rc;
		if (same) {
			row = (struct cert_row){ res->realm, res->ca_id,
			    res->tmpl_id, res->order_id, "managed",
			    res->key_ref };
			if ((rc = cert_store_row(x->db, &row, res->cert, &id,
			    e)) == 0)
				return record_issue(x, r, res, id, e);
			if (rc != EX_DATAERR || (rc = cert_serial_taken(x->db,
			    res->cert, &taken, e)) != 0)
				return rc;
			if (!taken)	/* the order's certificate exists */
				return refuse(res, EX_SOFTWARE, "order "
				    "certificate cannot be stored: %s",
				    err_str(e));
		}
		result_free(res);
		if ((rc = prepare(x, r, res, e)) != 0)
			return rc;
	}
	return refuse(res, EX_SOFTWARE, "serial collided %d times", i);
}

static int
is_processing(const struct rec *r)
{
	const char *st = rec_get(r, "Status");

	return st && strcmp(st, "processing") == 0;
}

/* Write the result into the record; its code for the exit status. */
static int
finish(struct rec *r, struct result *res)
{
	struct buf b = {0}, code = {0};
	struct err e = {0};
	int i, rc = 0;

	for (i = -1; res->code == 0 && i < sk_X509_num(res->chain); i++) {
		buf_reset(&b);
		x509_der(i < 0 ? res->cert : sk_X509_value(res->chain, i), &b);
		if (b.len == 0)
			diag_nomem();
		if ((rc = rec_add_pem(r, "CERTIFICATE", b.p, b.len, &e)) != 0)
			refuse(res, rc, "%s", err_str(&e));
	}
	buf_reset(&b);
	if (res->code == 0) {
		x509_serial_hex(res->cert, &b);
		rc = rec_set(r, "Serial", b.p, &e);
		buf_reset(&b);
		x509_fingerprint(res->cert, &b);
		rc = rc ? rc : rec_set(r, "Fingerprint", b.p, &e);
		buf_reset(&b);
		clock_fmt(&b, x509_not_before(res->cert));
		rc = rc ? rc : rec_set(r, "Not-Before", b.p, &e);
		buf_reset(&b);
		clock_fmt(&b, x509_not_after(res->cert));
		rc = rc ? rc : rec_set(r, "Not-After", b.p, &e);
		rc = rc ? rc : rec_set(r, "Status", "complete", &e);
	} else {
		diag("%s: %s", rec_id(r), res->why.p);
		buf_printf(&code, "%d", res->code);
		rec_set(r, "Status", "failed", &e);
		rec_set(r, "Error", res->why.p, &e);
		rec_set(r, "Error-Code", code.p, &e);
	}
	rec_set(r, "Stage", "sign", &e);
	buf_free(&b);
	buf_free(&code);
	err_free(&e);
	return res->code;
}

/* Phase 2 for the batch, in one transaction. */
static int
transact(struct ctx *x, struct rec **r, struct result *res, size_t n,
    struct err *e)
{
	size_t i;
	int rc;

	if ((rc = db_begin(x->db, e)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		if (is_processing(r[i]))
			rc = commit_one(x, r[i], &res[i], e);
	if (rc == 0)
		rc = db_commit(x->db, e);
	if (rc != 0)
		db_rollback(x->db);
	return rc;
}

/*
 * The certificates phase 1 builds, signed by a pool of threads as they
 * are built: a worker starts with the first certificate left to sign,
 * takes each one phase 1 hands over, and sleeps while there is none;
 * this thread joins in when phase 1 is done. x509_sign_later may run
 * while phase 1 runs x509_issue (lib/x509.h). The results stay in
 * record order.
 */
struct pool {
	struct result *res;
	size_t *todo;		/* indexes into res, as they were built */
	size_t n, next;		/* handed over; taken */
	int closed;		/* phase 1 is done */
	int stop;		/* its batch failed: sign nothing more */
	size_t want;		/* workers to start (x->threads - 1), then
				   those that started: tried once */
	size_t nt;		/* started */
	pthread_t *tid;
	pthread_mutex_t mu;
	pthread_cond_t more;
};

/* A sleeping worker is woken once this many certificates wait: about a
 * millisecond of P-256 signatures. Woken every 4, it preempted the
 * stages before sign so often (two cores, three processes) that a pipe
 * of 100 000 records ran 9% slower on average; with 64 it runs as fast
 * as when the pool started after phase 1, and 10 000 records 3% faster. */
#define POOL_WAKE 64

/* Sign res's certificate; a failure refuses the record. */
static void
sign_one(struct result *res)
{
	struct err e = {0};
	int rc;

	if ((rc = x509_sign_later(res->later, &res->cert, &e)) != 0) {
		refuse(res, rc, "%s", err_str(&e));
		res->fail = 1;
	}
	x509_unsigned_free(res->later);
	res->later = NULL;
	err_free(&e);
}

/* The next certificate to sign, in *k; 0 when there is none left. */
static int
pool_take(struct pool *p, size_t *k)
{
	int got;

	pthread_mutex_lock(&p->mu);
	while (!p->stop && !p->closed && p->next == p->n)
		pthread_cond_wait(&p->more, &p->mu);
	if ((got = !p->stop && p->next < p->n) != 0)
		*k = p->todo[p->next++];
	pthread_mutex_unlock(&p->mu);
	return got;
}

static void *
signing(void *arg)
{
	struct pool *p = arg;
	size_t k;

	while (pool_take(p, &k))
		sign_one(&p->res[k]);
	return NULL;
}

static void
pool_init(struct pool *p, struct ctx *x, struct result *res, size_t n)
{
	memset(p, 0, sizeof *p);
	p->res = res;
	p->todo = xcalloc(n + 1, sizeof *p->todo);
	p->want = x->threads - 1;
	p->tid = xcalloc(p->want + 1, sizeof *p->tid);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->more, NULL);
}

/* Hand res[i]'s certificate over; the workers start with the first. A
 * worker that cannot be started leaves its share to the others. */
static void
pool_add(struct pool *p, size_t i)
{
	pthread_mutex_lock(&p->mu);
	p->todo[p->n++] = i;
	if (p->n - p->next >= POOL_WAKE)
		pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->mu);
	while (p->nt < p->want && pthread_create(&p->tid[p->nt], NULL,
	    signing, p) == 0)
		p->nt++;
	p->want = p->nt;
}

/* Phase 1 is done: sign what is left here too (nothing when failed),
 * and wait for the workers. */
static void
pool_finish(struct pool *p, int failed)
{
	size_t i;

	pthread_mutex_lock(&p->mu);
	p->closed = 1;
	p->stop = failed;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->mu);
	signing(p);
	for (i = 0; i < p->nt; i++)
		pthread_join(p->tid[i], NULL);
	pthread_cond_destroy(&p->more);
	pthread_mutex_destroy(&p->mu);
	free(p->tid);
	free(p->todo);
}

/* A batch: check and sign without the write lock, then store it all in
 * one short transaction; on a database failure nothing of the batch is
 * issued and each processing record fails as temporary. */
static void
batch(struct rec **r, int *codes, size_t n, void *arg)
{
	struct ctx *x = arg;
	struct result *res = xcalloc(n, sizeof *res);
	struct err e = {0};
	struct pool p;
	size_t i, todo = 0;
	int rc = 0;

	/* phase 1 reads one snapshot: the locks once a batch; with more
	 * than one thread it builds each certificate and hands its
	 * signature to the pool, which makes it while phase 1 goes on */
	x->later = x->threads > 1;
	pool_init(&p, x, res, n);
	rc = db_begin_read(x->db, &e);
	for (i = 0; i < n && rc == 0; i++)
		if (is_processing(r[i])) {
			todo++;
			if ((rc = prepare(x, r[i], &res[i], &e)) == 0 &&
			    res[i].later != NULL)
				pool_add(&p, i);
		}
	x->later = 0;
	pool_finish(&p, rc != 0);
	if (rc == 0)
		rc = db_commit(x->db, &e);
	else
		db_rollback(x->db);
	if (rc == 0 && todo > 0)
		rc = transact(x, r, res, n, &e);
	tmpl_free(&x->t);
	x->active_ca = 0;
	if (rc != 0) {
		diag("batch of %zu: %s", todo, err_str(&e));
		for (i = 0; i < n; i++) {
			result_free(&res[i]);
			refuse(&res[i], EX_TEMPFAIL, "not signed, try again: %s",
			    err_str(&e));
		}
	}
	for (i = 0; i < n; i++) {
		/* a failed record passed through still counts: the last
		 * stage's status is the pipe's */
		codes[i] = is_processing(r[i]) ? finish(r[i], &res[i]) :
		    rec_status_code(r[i]);
		result_free(&res[i]);
	}
	free(res);
	err_free(&e);
}

/* The instance, at the schema this build knows (orders need it). */
static int
open_instance(struct ctx *x, const char *home, struct err *e)
{
	char *h = conf_home(home), *path = NULL;
	int64_t v = 0;
	int rc;

	if ((rc = conf_load(h, &x->conf, e)) != 0)
		goto out;
	path = conf_path(&x->conf, "certpipe.db");
	if ((rc = db_open(path, DB_OPEN_EXISTING, &x->db, e)) != 0 ||
	    (rc = db_int64(x->db, &v, e, "PRAGMA user_version", "")) != 0)
		goto out;
	if (v != db_schema_latest())
		rc = err_set(e, EX_CONFIG, "%s: database schema %d, this build "
		    "wants %d", path, (int)v, db_schema_latest());
out:
	free(h);
	free(path);
	return rc;
}

/* Ids of the CAs to open: those named, or every active CA with a
 * certificate, in every realm. */
static int
signer_ids(struct ctx *x, char **names, int64_t **ids, size_t *n,
    struct err *e)
{
	struct db_stmt *st = NULL;
	size_t k, before;
	int rc = 0;

	for (k = 0; rc == 0 && (k == 0 || (names && names[k])); k++) {
		before = *n;
		if (names)
			rc = db_prep(x->db, &st, e, "SELECT id FROM cas WHERE "
			    "name = ? ORDER BY id", "t", names[k]);
		else
			rc = db_prep(x->db, &st, e, "SELECT id FROM cas WHERE "
			    "status = 'active' AND cert_pem IS NOT NULL "
			    "ORDER BY id", "");
		while (rc == 0 && (rc = db_step(st, e)) == 1) {
			*ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
			(*ids)[(*n)++] = db_int(st, 0);
			rc = 0;
		}
		db_finish(st);
		rc = rc < 0 ? e->code : 0;
		if (rc == 0 && *n == before)
			rc = names ? err_set(e, EX_NOINPUT, "CA '%s': no such "
			    "CA in any realm", names[k]) : err_set(e,
			    EX_CONFIG, "no active CA in this instance");
		if (names == NULL)
			break;
	}
	return rc;
}

/* Open every CA key this run will use: before any record is read. */
static int
open_signers(struct ctx *x, char **names, const struct secret *pass,
    struct err *e)
{
	struct signer *s;
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc, j;

	if ((rc = signer_ids(x, names, &ids, &n, e)) != 0)
		goto out;
	x->s = xcalloc(n, sizeof *x->s);
	for (i = 0; i < n && rc == 0; i++) {
		s = &x->s[x->ns++];
		if ((rc = ca_load_id(x->db, ids[i], &s->ca, e)) == 0 &&
		    (rc = ca_open_signer(&x->conf, &s->ca, pass, &s->cert,
		    &s->key, e)) == 0 &&
		    (rc = crl_settings_load(x->db, s->ca.id, &s->crl, e)) == 0)
			rc = chain_read(s->ca.cert_pem, s->ca.chain_pem,
			    &s->chain, e);
		/* encoded once, written out with every certificate */
		for (j = 0; rc == 0 && j < sk_X509_num(s->chain); j++)
			x509_keep_der(sk_X509_value(s->chain, j));
	}
out:
	free(ids);
	return rc;
}

/* --crl -: the specs, one a line, from standard input to its end. All
 * are read before any CRL is signed: the writer may not read this
 * process's output until it has written them. */
static int
read_specs(char ***out, struct err *e)
{
	char *line = NULL, **v = NULL;
	size_t cap = 0, n = 0;
	ssize_t k;

	while ((k = getline(&line, &cap, stdin)) > 0) {
		if (line[k - 1] == '\n')
			line[--k] = '\0';
		if (k == 0)
			continue;
		if ((size_t)k > SPEC_MAX || n == SPECS_MAX) {
			free(line);
			for (cap = 0; cap < n; cap++)
				free(v[cap]);
			free(v);
			return n == SPECS_MAX ? err_set(e, EX_DATAERR, "--crl -: "
			    "more than %d specs", SPECS_MAX) : err_set(e,
			    EX_DATAERR, "--crl -: spec %zu: longer than %d "
			    "bytes", n + 1, SPEC_MAX);
		}
		v = xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = xstrdup(line);
		v[n] = NULL;
	}
	free(line);
	if (ferror(stdin)) {
		for (cap = 0; cap < n; cap++)
			free(v[cap]);
		free(v);
		return err_set(e, EX_IOERR, "--crl -: standard input: %s",
		    strerror(errno));
	}
	*out = v ? v : xcalloc(1, sizeof *v);
	return 0;
}

/* --crl: each SPEC's CRL, signed with its CA's key, DER to stdout one
 * after the other (each is one self-delimiting SEQUENCE). */
static int
sign_crls(struct ctx *x, char **specs, int verbose)
{
	static const char *const kinds[] = { "complete", "delta", "shard" };
	struct crl_stats st;
	struct crl_signer cs;
	struct buf what = {0};
	struct crl_job j;
	struct err e = {0};
	char *crldir = conf_path(&x->conf, "pub/crl");
	size_t i, k;
	int rc = 0;

	/* megabytes in few writes: a pipe's default buffer is a page, and
	 * glibc ignores setvbuf's size unless it is given the buffer */
	static char room[1 << 16];	/* stdout's until exit */

	setvbuf(stdout, room, _IOFBF, sizeof room);
	for (k = 0; rc == 0 && specs[k]; k++) {
		if ((rc = crl_job_parse(specs[k], &j, &e)) != 0)
			break;
		for (i = 0; i < x->ns && x->s[i].ca.id != j.ca_id; i++)
			;
		if (i == x->ns) {
			rc = err_set(&e, EX_NOPERM, "CRL of CA %lld: its key is "
			    "not open in this signer", (long long)j.ca_id);
			break;
		}
		cs = (struct crl_signer){ x->s[i].ca.realm_id, x->s[i].ca.name,
		    x->s[i].cert, x->s[i].key, x->s[i].ca.digest,
		    x->conf.base_url, x->conf.home, crldir };
		rc = crl_sign(x->db, &cs, &j, stdout, &st, &e);
		if (rc != 0 || !verbose)
			continue;
		buf_reset(&what);
		buf_printf(&what, "CA %s: %s", cs.ca_name, kinds[j.kind]);
		if (j.kind == CRL_SHARD)
			buf_printf(&what, " %lld", (long long)j.shard);
		if (st.from)
			diag("%s CRL %lld: %lld entries, from CRL %lld: %lld "
			    "kept, %lld dropped, %lld added", what.p,
			    (long long)j.number, (long long)st.entries,
			    (long long)st.from, (long long)st.kept,
			    (long long)st.dropped, (long long)st.added);
		else
			diag("%s CRL %lld: %lld entries, from the database",
			    what.p, (long long)j.number, (long long)st.entries);
	}
	if (rc != 0)
		diag_err(&e);
	free(crldir);
	buf_free(&what);
	err_free(&e);
	return rc;
}

static void
ctx_free(struct ctx *x)
{
	size_t i;

	for (i = 0; i < x->ns; i++) {
		ca_free(&x->s[i].ca);
		X509_free(x->s[i].cert);
		EVP_PKEY_free(x->s[i].key);
		sk_X509_pop_free(x->s[i].chain, X509_free);
	}
	free(x->s);
	tmpl_free(&x->t);
	free(x->actor);
	db_close(x->db);
	conf_free(&x->conf);
}

int
main(int argc, char **argv)
{
	char *home = NULL, *passfile = NULL, *nbatch = NULL, **cas = NULL;
	char **crls = NULL, **specs = NULL, *nthreads = NULL;
	int passfd = -1, verbose = 0;
	struct poptOption table[] = {
		{ "batch", '\0', POPT_ARG_STRING, &nbatch, 0,
		  "records per database transaction (1..10000, default 256)",
		  "N" },
		{ "ca", '\0', POPT_ARG_ARGV, &cas, 0,
		  "open only this CA's key (repeatable; default: every active "
		  "CA)", "NAME" },
		{ "crl", '\0', POPT_ARG_ARGV, &crls, 0,
		  "sign the CRL SPEC describes instead of records, DER to "
		  "stdout (repeatable; -: the specs from stdin, one a line, "
		  "as publish-crl runs it)", "SPEC" },
		{ "home", '\0', POPT_ARG_STRING, &home, 0,
		  "the instance (default: $CERTPIPE_HOME, the checkout's "
		  "spool/)", "DIR" },
		{ "passphrase-fd", '\0', POPT_ARG_INT, &passfd, 0,
		  "read the key passphrase from file descriptor FD", "FD" },
		{ "passphrase-file", '\0', POPT_ARG_STRING, &passfile, 0,
		  "read the key passphrase from FILE", "FILE" },
		{ "threads", '\0', POPT_ARG_STRING, &nthreads, 0,
		  "threads that sign a batch's certificates (1..256, default: "
		  "the online CPUs)", "N" },
		{ "verbose", 'v', POPT_ARG_NONE, &verbose, 0,
		  "with --crl: say on stderr how each CRL was made", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct ctx x;
	struct secret pass = {0};
	struct secret_src src;
	struct err e = {0};
	const char **files;
	poptContext pc;
	uint64_t batch_max = 256, threads;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int rc, n, i;

	diag_init(argv[0]);
	memset(&x, 0, sizeof x);
	pc = poptGetContext("sign", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[OPTION...] [FILE...]");
	if ((rc = poptGetNextOpt(pc)) < -1) {
		diag("%s: %s", poptBadOption(pc, 0), poptStrerror(rc));
		rc = EX_USAGE;
		goto out;
	}
	threads = cpus < 1 ? 1 : cpus > THREADS_MAX ? THREADS_MAX :
	    (uint64_t)cpus;
	if ((nbatch && (rc = num_u64("--batch", nbatch, 1, 10000, &batch_max,
	    &e)) != 0) || (nthreads && (rc = num_u64("--threads", nthreads, 1,
	    THREADS_MAX, &threads, &e)) != 0)) {
		diag_err(&e);
		rc = EX_USAGE;
		goto out;
	}
	x.threads = (size_t)threads;
	files = poptGetArgs(pc);
	for (n = 0; files && files[n]; n++)
		;
	src = (struct secret_src){ passfile, passfd };
	if ((rc = open_instance(&x, home, &e)) != 0 ||
	    (rc = secret_get(&src, &x.conf, &pass, &e)) != 0 ||
	    (rc = open_signers(&x, cas, &pass, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	secret_free(&pass);
	x.actor = audit_actor();	/* may ask NSS: before the sandbox */
	if (sandbox_enter(&e) != 0) {
		diag("warning: %s; signing without it", err_str(&e));
		err_free(&e);
	}
	if (crls && strcmp(crls[0], "-") == 0) {
		if (crls[1] != NULL) {
			diag("--crl -: the only --crl when given");
			rc = EX_USAGE;
			goto out;
		}
		if ((rc = read_specs(&specs, &e)) != 0) {
			rc = diag_err(&e);
			goto out;
		}
	}
	rc = specs ? (specs[0] ? sign_crls(&x, specs, verbose) : 0) :
	    crls ? sign_crls(&x, crls, verbose) :
	    loop_batches(n, files, (size_t)batch_max, batch, &x, stdout);
out:
	secret_free(&pass);
	ctx_free(&x);
	for (i = 0; cas && cas[i]; i++)
		free(cas[i]);
	free(cas);
	for (i = 0; crls && crls[i]; i++)
		free(crls[i]);
	free(crls);
	for (i = 0; specs && specs[i]; i++)
		free(specs[i]);
	free(specs);
	free(home);
	free(passfile);
	free(nbatch);
	free(nthreads);
	err_free(&e);
	poptFreeContext(pc);
	return rc;
}
