/*
 * ocsp-sign - sign OCSP responses with the CAs' delegated OCSP signer
 * keys: ahead of time into the pre-signed store (--presign, --due), or
 * one request at a time for the ocsp front end (--live).
 *
 * --presign writes, for every unexpired certificate of the realm's CAs
 * (or of --ca), a response with its status as the database has it now
 * (good; revoked with time, reason and invalidity date; certificateHold
 * while suspended), thisUpdate now and nextUpdate --days later, under a
 * SHA-1 and a SHA-256 CertID (ocsp.h gives the store layout). --due
 * re-signs only responses whose status changed or whose nextUpdate is
 * within --margin, and removes those of certificates that expired once
 * their nextUpdate has passed. --live reads framed requests from the front end on
 * stdin and answers each on stdout from the store's status, with the
 * request's nonce; a serial the store does not hold is "unknown".
 *
 * Trust: a key holder. It opens the database and the signer keys first
 * (never a CA key), then sandboxes itself (no network, no exec), then
 * works. --live never opens the database after startup and believes
 * nothing in a request beyond its CertIDs and nonce, which the front
 * end already checked and which are checked again here.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <popt.h>
#include <openssl/err.h>
#include "ca.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "diag.h"
#include "fs.h"
#include "keys.h"
#include "num.h"
#include "ocsp.h"
#include "realm.h"
#include "revoke.h"
#include "sandbox.h"
#include "signer.h"
#include "x509.h"

/* One CA this run signs for. */
struct cas {
	char *name;
	int64_t realm, id;
	struct ocsp_signer s;
	time_t signer_until;		/* its certificate's notAfter */
	struct ocsp_key k[2];		/* store directories: SHA-1, -256 */
};

struct ctx {
	struct conf conf;
	struct db *db;
	char *root;			/* the store */
	struct ocsp_store store;
	struct cas *ca;
	size_t nca;
	uint64_t days, margin_h;
	int due;
	int non_issued_revoked;		/* RFC 6960 4.4.8 */
};

static const EVP_MD *
md_of(int i)
{
	return i == 0 ? EVP_sha1() : EVP_sha256();
}

/* The instance, at the schema this build knows. */
static int
open_instance(struct ctx *x, const char *home, const char *store,
    struct err *e)
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
	x->root = store ? xstrdup(store) : conf_path(&x->conf, "pub/ocsp");
out:
	free(h);
	free(path);
	return rc;
}

/* Open the OCSP signer of CA name in realm; *none when it has none. */
static int
open_ca(struct ctx *x, int64_t realm, const char *name,
    const struct secret *pass, int *none, struct err *e)
{
	struct signer sg;
	struct ca ca;
	struct cas *c;
	OCSP_CERTID *id = NULL;
	int rc, i;

	memset(&sg, 0, sizeof sg);
	memset(&ca, 0, sizeof ca);
	*none = 0;
	if ((rc = signer_find(x->db, realm, name, "ocsp", &sg, e)) != 0) {
		*none = rc == EX_NOINPUT;
		goto out;
	}
	x->ca = xrealloc(x->ca, (x->nca + 1) * sizeof *x->ca);
	c = &x->ca[x->nca++];
	memset(c, 0, sizeof *c);
	c->name = xstrdup(name);
	c->realm = realm;
	c->id = sg.ca_id;
	c->signer_until = x509_not_after(sg.cert);
	X509_up_ref(sg.cert);
	c->s.cert = sg.cert;
	if ((rc = ca_load_id(x->db, sg.ca_id, &ca, e)) != 0 ||
	    (rc = x509_cert_read(ca.cert_pem, strlen(ca.cert_pem),
	    &c->s.issuer, e)) != 0 ||
	    (rc = signer_key(&x->conf, &sg, pass, &c->s.key, e)) != 0)
		goto out;
	for (i = 0; i < 2 && rc == 0; i++) {
		if ((rc = ocsp_certid(c->s.issuer, md_of(i), "1", &id, e)) == 0)
			rc = ocsp_key_of(id, &c->k[i], e);
		OCSP_CERTID_free(id);
		id = NULL;
	}
out:
	if (rc != 0 && !*none)
		err_prefix(e, "%s", name);
	signer_free(&sg);
	ca_free(&ca);
	return rc;
}

/* The CAs of one realm with an OCSP signer (only the one named, if a
 * name is given: then it must have one). */
static int
open_realm(struct ctx *x, int64_t realm, const char *only,
    const struct secret *pass, struct err *e)
{
	struct db_stmt *st = NULL;
	char **names = NULL;
	size_t n = 0, i;
	int rc, none;

	if ((rc = db_prep(x->db, &st, e, "SELECT name FROM cas WHERE "
	    "realm_id = ? AND status = 'active' AND cert_pem IS NOT NULL "
	    "AND (? IS NULL OR name = ?) ORDER BY name", "itt", realm, only,
	    only)) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1) {
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(db_text(st, 0));
	}
	db_finish(st);
	if (rc == 0 && only && n == 0)
		rc = err_set(e, EX_NOINPUT, "%s: no such active CA", only);
	for (i = 0; i < n && rc == 0; i++)
		if ((rc = open_ca(x, realm, names[i], pass, &none, e)) != 0 &&
		    none && only == NULL) {
			err_free(e);	/* no signer: nothing to sign */
			rc = 0;
		}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* Every realm's signers (--live: one responder answers for all). */
static int
open_all(struct ctx *x, const struct secret *pass, struct err *e)
{
	struct db_stmt *st = NULL;
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = db_prep(x->db, &st, e, "SELECT id FROM realms ORDER BY id",
	    "")) != 0)
		return rc;
	while ((rc = db_step(st, e)) == 1) {
		ids = xrealloc(ids, (n + 1) * sizeof *ids);
		ids[n++] = db_int(st, 0);
	}
	db_finish(st);
	for (i = 0; i < n && rc == 0; i++)
		rc = open_realm(x, ids[i], NULL, pass, e);
	free(ids);
	return rc;
}

/* A certificate row's status as OCSP states it. */
static int
row_status(struct db_stmt *st, struct ocsp_status *s, struct err *e)
{
	const char *status = db_text(st, 1), *why = db_text(st, 3);
	const struct revoke_reason *r;
	int rc = 0;

	memset(s, 0, sizeof *s);
	s->status = V_OCSP_CERTSTATUS_GOOD;
	s->reason = -1;
	if (strcmp(status, "revoked") != 0 && strcmp(status, "suspended") != 0)
		return 0;
	s->status = V_OCSP_CERTSTATUS_REVOKED;
	if ((rc = clock_parse("revoked_at", db_text(st, 2) ? db_text(st, 2) :
	    "", &s->revoked_at, e)) != 0)
		return rc;
	if (strcmp(status, "suspended") == 0)
		s->reason = REVOKE_HOLD;
	else if (why && (r = revoke_reason(why)) != NULL && r->code != 0)
		s->reason = r->code;	/* unspecified: left out */
	if (!db_isnull(st, 4))
		rc = clock_parse("invalidity_date", db_text(st, 4),
		    &s->invalid_since, e);
	return rc;
}

/* --due: is the stored response at path current for s, and signed by
 * c's active signer? */
static int
current(const struct ctx *x, const struct cas *c, const char *path,
    const struct ocsp_status *s, time_t now)
{
	struct ocsp_stored old;
	struct buf b = {0};
	struct err e = {0};
	int yes = 0;

	if (fs_read(path, OCSP_MAX_RESPONSE, &b, &e) == 0 &&
	    ocsp_stored_read(b.p, b.len, &old, &e) == 0)
		yes = old.st.status == s->status &&
		    old.st.revoked_at == s->revoked_at &&
		    old.st.reason == s->reason &&
		    old.st.invalid_since == s->invalid_since &&
		    old.next_update > now + (time_t)x->margin_h * 3600 &&
		    ocsp_stored_by(b.p, b.len, c->s.cert);
	buf_free(&b);
	err_free(&e);
	return yes;
}

/* Sign and store the responses of one certificate (both CertIDs). */
static int
presign_one(struct ctx *x, const struct cas *c, const char *serial,
    const struct ocsp_status *s, time_t now, size_t *nsigned, struct err *e)
{
	OCSP_CERTID *id = NULL;
	struct buf path = {0}, der = {0};
	time_t next = now + (time_t)x->days * 86400;
	int i, rc = 0;

	if (next > c->signer_until)	/* not past the signer's */
		next = c->signer_until;
	for (i = 0; i < 2 && rc == 0; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s/%s.der", x->root, c->k[i].dir, serial);
		if (x->due && current(x, c, path.p, s, now))
			continue;
		if ((rc = ocsp_certid(c->s.issuer, md_of(i), serial, &id,
		    e)) == 0 && (rc = ocsp_sign(&c->s, &id, s, 1, now, next,
		    NULL, 0, &der, e)) == 0 && (rc = fs_write_atomic(path.p,
		    der.p, der.len, 0644, e)) == 0)
			(*nsigned)++;
		OCSP_CERTID_free(id);
		id = NULL;
	}
	buf_free(&path);
	buf_free(&der);
	return rc;
}

/* Every unexpired certificate of one CA. */
static int
presign_ca(struct ctx *x, const struct cas *c, time_t now, size_t *nsigned,
    struct err *e)
{
	struct db_stmt *st = NULL;
	struct ocsp_status s;
	struct buf t = {0}, dir = {0};
	size_t ncert = 0, before = *nsigned;
	int rc, i;

	for (i = 0, rc = 0; i < 2 && rc == 0; i++) {
		buf_reset(&dir);
		buf_printf(&dir, "%s/%s", x->root, c->k[i].dir);
		rc = fs_mkdirs(dir.p, 0755, e);
	}
	clock_fmt(&t, now);
	if (rc == 0)
		rc = db_prep(x->db, &st, e, "SELECT serial, status, revoked_at, "
		    "revoke_reason, invalidity_date FROM certificates WHERE "
		    "realm_id = ? AND ca_id = ? AND not_after > ? ORDER BY id",
		    "iit", c->realm, c->id, t.p);
	while (rc == 0 && (rc = db_step(st, e)) == 1) {
		ncert++;
		if ((rc = row_status(st, &s, e)) == 0)
			rc = presign_one(x, c, db_text(st, 0), &s, now, nsigned,
			    e);
		if (rc != 0)
			err_prefix(e, "serial %s", db_text(st, 0));
	}
	db_finish(st);
	if (rc == 0)
		printf("%s: %zu certificates, %zu responses signed\n", c->name,
		    ncert, *nsigned - before);
	else
		err_prefix(e, "%s", c->name);
	buf_free(&t);
	buf_free(&dir);
	return rc < 0 ? EX_SOFTWARE : rc;
}

/* --due looks for responses to prune among the certificates that expired
 * in this window: a response is never valid longer than --days (at most
 * 366) after it was signed, and it was signed before its certificate
 * expired, so one of a certificate that expired earlier is past its
 * nextUpdate, and an earlier run (the scheduler's, every few seconds)
 * has removed it. */
#define PRUNE_WINDOW ((time_t)367 * 86400)

/* Remove one expired certificate's stored response at path once its
 * nextUpdate has passed (a stale one is served by no one: ocsp then
 * answers "unknown"). 1 when removed, 0 when kept or not there. */
static int
prune_one(const char *path, time_t now, struct err *e)
{
	struct ocsp_stored old;
	struct buf b = {0};
	struct err e1 = {0};
	int rc = 0;

	if (fs_read(path, OCSP_MAX_RESPONSE, &b, &e1) != 0)
		goto out;		/* not there (pruned already) */
	/* one that cannot be read as a response is no one's: remove it */
	if (ocsp_stored_read(b.p, b.len, &old, &e1) == 0 &&
	    old.next_update > now)
		goto out;
	if (unlink(path) == 0)
		rc = 1;
	else if (errno != ENOENT)
		rc = -err_set(e, EX_IOERR, "%s: unlink: %s", path,
		    strerror(errno));
out:
	buf_free(&b);
	err_free(&e1);
	return rc;
}

/* --due: the responses of one CA's expired certificates that are past
 * their nextUpdate (see PRUNE_WINDOW), removed; the directories synced. */
static int
prune_ca(struct ctx *x, const struct cas *c, time_t now, size_t *npruned,
    struct err *e)
{
	struct db_stmt *st = NULL;
	struct buf t = {0}, from = {0}, path = {0};
	size_t before = *npruned;
	int rc, i, got;

	clock_fmt(&t, now);
	clock_fmt(&from, now - PRUNE_WINDOW);
	if ((rc = db_prep(x->db, &st, e, "SELECT serial FROM certificates "
	    "WHERE realm_id = ? AND ca_id = ? AND not_after <= ? AND "
	    "not_after > ? ORDER BY id", "iitt", c->realm, c->id, t.p,
	    from.p)) != 0)
		goto out;
	while ((rc = db_step(st, e)) == 1)
		for (i = 0; i < 2; i++) {
			buf_reset(&path);
			buf_printf(&path, "%s/%s/%s.der", x->root, c->k[i].dir,
			    db_text(st, 0));
			if ((got = prune_one(path.p, now, e)) < 0) {
				rc = -got;
				goto out;
			}
			*npruned += (size_t)got;
		}
	if (rc < 0)
		rc = e->code;
	for (i = 0; rc == 0 && *npruned > before && i < 2; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s", x->root, c->k[i].dir);
		rc = fs_fsync_dir(path.p, e);
	}
	if (rc == 0 && *npruned > before)
		printf("%s: %zu responses of expired certificates removed\n",
		    c->name, *npruned - before);
out:
	db_finish(st);
	buf_free(&t);
	buf_free(&from);
	buf_free(&path);
	return rc;
}

/* The signer whose store directory k names, or NULL. */
static const struct cas *
signer_for(const struct ctx *x, const struct ocsp_key *k)
{
	size_t i;

	for (i = 0; i < x->nca; i++)
		if (strcmp(x->ca[i].k[0].dir, k->dir) == 0 ||
		    strcmp(x->ca[i].k[1].dir, k->dir) == 0)
			return &x->ca[i];
	return NULL;
}

/* The status of one CertID from the store; thisUpdate/nextUpdate of
 * what the store says (now and --days for a serial it does not hold). */
static int
stored_status(struct ctx *x, const struct ocsp_key *k, time_t now,
    struct ocsp_status *s, time_t *thisupd, time_t *nextupd, struct err *e)
{
	struct ocsp_stored old;
	struct buf b = {0};
	int got, rc = 0;

	memset(s, 0, sizeof *s);
	s->reason = -1;
	got = ocsp_store_get(&x->store, k, &b, e);
	if (got < 0)
		rc = e->code;
	else if (got == OCSP_HIT && (rc = ocsp_stored_read(b.p, b.len, &old,
	    e)) == 0) {
		*s = old.st;
		*thisupd = old.this_update;
		*nextupd = old.next_update;
	} else if (got != OCSP_HIT) {
		s->status = V_OCSP_CERTSTATUS_UNKNOWN;
		if (x->non_issued_revoked) {	/* 4.4.8: held since 1970 */
			s->status = V_OCSP_CERTSTATUS_REVOKED;
			s->revoked_at = 0;
			s->reason = REVOKE_HOLD;
		}
		*thisupd = now;
		*nextupd = now + (time_t)x->days * 86400;
	}
	buf_free(&b);
	return rc;
}

/* One live request: every CertID must belong to one signer's CA, and
 * the store must be current for each (else tryLater). */
static int
live_one(struct ctx *x, const struct buf *req, struct buf *out, struct err *e)
{
	OCSP_CERTID *ids[OCSP_MAX_IDS];
	struct ocsp_status st[OCSP_MAX_IDS];
	const struct cas *c = NULL;
	struct ocsp_query q;
	struct ocsp_key k;
	time_t now = clock_now(), thisupd = 0, nextupd = 0, tu = 0, nu = 0;
	unsigned flags = x->non_issued_revoked ? OCSP_EXTENDED_REVOKE : 0;
	int i, rc = 0, answer = OCSP_RESPONSE_STATUS_SUCCESSFUL;

	if ((rc = ocsp_query_parse(req->p, req->len, &q, e)) != 0) {
		ocsp_error(rc == EX_NOPERM ? OCSP_RESPONSE_STATUS_UNAUTHORIZED :
		    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, out);
		err_free(e);
		return 0;
	}
	for (i = 0; i < q.n && answer == 0; i++) {
		ids[i] = OCSP_onereq_get0_id(OCSP_request_onereq_get0(q.req,
		    i));
		if ((rc = ocsp_key_of(ids[i], &k, e)) != 0 ||
		    (c != NULL && signer_for(x, &k) != c) ||
		    (c = signer_for(x, &k)) == NULL)
			answer = rc ? OCSP_RESPONSE_STATUS_INTERNALERROR :
			    OCSP_RESPONSE_STATUS_UNAUTHORIZED;
		else if ((rc = stored_status(x, &k, now, &st[i], &tu, &nu,
		    e)) != 0)
			answer = OCSP_RESPONSE_STATUS_INTERNALERROR;
		else if (nu != 0 && nu <= now)	/* the store is stale */
			answer = OCSP_RESPONSE_STATUS_TRYLATER;
		thisupd = i == 0 || tu < thisupd ? tu : thisupd;
		nextupd = i == 0 || nu < nextupd ? nu : nextupd;
	}
	if (answer == 0 && (rc = ocsp_sign(&c->s, ids, st, (size_t)q.n,
	    thisupd, nextupd, q.req, flags, out, e)) != 0)
		answer = OCSP_RESPONSE_STATUS_INTERNALERROR;
	if (answer != 0)
		ocsp_error(answer, out);
	ocsp_query_free(&q);
	return rc;
}

/* --live: frames in, frames out, until the front end closes. */
static int
live(struct ctx *x, struct err *e)
{
	struct buf req = {0}, resp = {0};
	struct err e1 = {0};
	int rc;

	while ((rc = ocsp_frame_read(0, OCSP_MAX_REQUEST, &req, e)) == 0) {
		if (live_one(x, &req, &resp, &e1) != 0) {
			diag("live: %s", err_str(&e1));	/* internalError */
			err_free(&e1);
		}
		if ((rc = ocsp_frame_write(1, resp.p, resp.len, e)) != 0)
			break;
	}
	buf_free(&req);
	buf_free(&resp);
	return rc == 1 ? 0 : rc;
}

static void
ctx_free(struct ctx *x)
{
	size_t i;

	for (i = 0; i < x->nca; i++) {
		free(x->ca[i].name);
		ocsp_signer_free(&x->ca[i].s);
	}
	free(x->ca);
	free(x->root);
	if (x->store.fd >= 0)
		ocsp_store_close(&x->store);
	db_close(x->db);
	conf_free(&x->conf);
}

/* --presign / --due over every CA opened; 1 when --due signed and
 * removed nothing. */
static int
presign(struct ctx *x, struct err *e)
{
	time_t now = clock_now();
	size_t i, n = 0;
	int rc = 0;

	for (i = 0; i < x->nca && rc == 0; i++)
		if ((rc = presign_ca(x, &x->ca[i], now, &n, e)) == 0 &&
		    x->due && (rc = prune_ca(x, &x->ca[i], now, &n, e)) != 0)
			err_prefix(e, "%s", x->ca[i].name);
	if (rc == 0 && fflush(stdout) != 0)
		rc = err_set(e, EX_IOERR, "stdout: %s", strerror(errno));
	return rc == 0 && x->due && n == 0 ? 1 : rc;
}

/* Check the options; the mode is one of "presign", "due", "live". */
static int
check_opts(int np, int nd, int nl, const char *days, const char *margin,
    struct ctx *x, struct err *e)
{
	int rc = 0;

	x->days = 7;
	x->margin_h = 72;
	x->due = nd;
	if (np + nd + nl != 1)
		return err_set(e, EX_USAGE, "give one of --presign, --due, "
		    "--live");
	if (days)
		rc = num_u64("--days", days, 1, 366, &x->days, e);
	if (rc == 0 && margin)
		rc = num_u64("--margin", margin, 0, 366 * 24, &x->margin_h, e);
	if (rc != 0)
		e->code = EX_USAGE;
	return rc ? EX_USAGE : 0;
}

int
main(int argc, char **argv)
{
	char *home = NULL, *passfile = NULL, *realm = NULL, *ca = NULL;
	char *store = NULL, *days = NULL, *margin = NULL;
	int passfd = -1, np = 0, nd = 0, nl = 0;
	struct ctx x;
	struct poptOption table[] = {
		{ "ca", '\0', POPT_ARG_STRING, &ca, 0,
		  "only this CA (default: every CA with an OCSP signer)",
		  "NAME" },
		{ "days", '\0', POPT_ARG_STRING, &days, 0,
		  "nextUpdate this many days after thisUpdate (default 7)",
		  "N" },
		{ "due", '\0', POPT_ARG_NONE, &nd, 0,
		  "re-sign what changed or expires within --margin", NULL },
		{ "home", '\0', POPT_ARG_STRING, &home, 0,
		  "the instance (default: $CERTPIPE_HOME, the checkout's "
		  "spool/)", "DIR" },
		{ "live", '\0', POPT_ARG_NONE, &nl, 0,
		  "answer framed requests from the ocsp front end", NULL },
		{ "margin", '\0', POPT_ARG_STRING, &margin, 0,
		  "--due: re-sign what expires within HOURS (default 72)",
		  "HOURS" },
		{ "non-issued-revoked", '\0', POPT_ARG_NONE,
		  &x.non_issued_revoked, 0, "--live: answer revoked, not "
		  "unknown, for serials not in the store (RFC 6960 4.4.8)",
		  NULL },
		{ "passphrase-fd", '\0', POPT_ARG_INT, &passfd, 0,
		  "read the key passphrase from file descriptor FD", "FD" },
		{ "passphrase-file", '\0', POPT_ARG_STRING, &passfile, 0,
		  "read the key passphrase from FILE", "FILE" },
		{ "presign", '\0', POPT_ARG_NONE, &np, 0,
		  "sign a response for every unexpired certificate", NULL },
		{ "realm", '\0', POPT_ARG_STRING, &realm, 0,
		  "only this realm (default: every realm; with --ca, default)",
		  "NAME" },
		{ "store", '\0', POPT_ARG_STRING, &store, 0,
		  "the pre-signed store (default: <home>/pub/ocsp)", "DIR" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct secret pass = {0};
	struct secret_src src;
	struct err e = {0};
	poptContext pc;
	int64_t rid = 0;
	int rc;

	diag_init(argv[0]);
	memset(&x, 0, sizeof x);
	x.store.fd = -1;
	pc = poptGetContext("ocsp-sign", argc, (const char **)argv, table, 0);
	if ((rc = poptGetNextOpt(pc)) < -1) {
		diag("%s: %s", poptBadOption(pc, 0), poptStrerror(rc));
		rc = EX_USAGE;
		goto out;
	}
	if (poptPeekArg(pc) != NULL) {
		diag("%s: unexpected argument", poptPeekArg(pc));
		rc = EX_USAGE;
		goto out;
	}
	src = (struct secret_src){ passfile, passfd };
	if ((rc = check_opts(np, nd, nl, days, margin, &x, &e)) != 0 ||
	    (rc = open_instance(&x, home, store, &e)) != 0 ||
	    (rc = secret_get(&src, &x.conf, &pass, &e)) != 0)
		goto fail;
	if (nl || (realm == NULL && ca == NULL))
		rc = open_all(&x, &pass, &e);
	else if ((rc = realm_id(x.db, realm ? realm : "default", &rid,
	    &e)) == 0)
		rc = open_realm(&x, rid, ca, &pass, &e);
	if (rc != 0 || (nl && (rc = ocsp_store_open(x.root, &x.store,
	    &e)) != 0))
		goto fail;
	secret_free(&pass);
	if (nl) {	/* live answers come from the store alone */
		db_close(x.db);
		x.db = NULL;
	}
	if (sandbox_enter(&e) != 0) {
		diag("warning: %s; signing without it", err_str(&e));
		err_free(&e);
	}
	if ((rc = nl ? live(&x, &e) : presign(&x, &e)) != 0 && rc != 1)
		goto fail;
	goto out;
fail:
	rc = diag_err(&e);
out:
	secret_free(&pass);
	ctx_free(&x);
	free(home); free(passfile); free(realm); free(ca); free(store);
	free(days); free(margin);
	err_free(&e);
	poptFreeContext(pc);
	return rc;
}
