/*
 * tsa - the timestamp authority front end: answer RFC 3161 and
 * Authenticode timestamp requests on one connection.
 *
 * Input: one HTTP/1.1 connection on fds 0 and 1 (tcpserver, inetd, a
 * systemd socket with Accept=yes), or with --filter one DER
 * TimeStampReq on stdin, answered with a DER TimeStampResp on stdout.
 *
 * Trust: faces the network, and holds one key: the CA's delegated TSA
 * key (never a CA key). It finds the CA's active TSA signer, opens its
 * key (passphrase from a file, an fd or the environment), closes the
 * database, then sandboxes itself (no network endpoints of its own, no
 * exec) before it reads a byte of the request. It must never sign with
 * a certificate that is not the CA's active TSA certificate, nor sign
 * anything but a timestamp token or an Authenticode countersignature.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <popt.h>
#include "conf.h"
#include "db.h"
#include "diag.h"
#include "fs.h"
#include "http.h"
#include "keys.h"
#include "realm.h"
#include "sandbox.h"
#include "signer.h"
#include "tsa.h"

struct opts {
	char *accuracy, *ca, *home, *passfile, *realm;
	int filter, passfd;
};

/* The CA's active TSA signer and its key; the database is closed again
 * before any request is read. */
static int
open_signer(const struct opts *o, struct signer *s, EVP_PKEY **key,
    struct err *e)
{
	struct conf c = {0};
	struct secret pass = {0};
	struct secret_src src = { o->passfile, o->passfd };
	struct db *db = NULL;
	char *home = conf_home(o->home), *path = NULL;
	int64_t realm = 0, v = 0;
	int rc;

	if ((rc = conf_load(home, &c, e)) != 0)
		goto out;
	path = conf_path(&c, "certpipe.db");
	if ((rc = db_open(path, DB_OPEN_EXISTING, &db, e)) != 0 ||
	    (rc = db_int64(db, &v, e, "PRAGMA user_version", "")) != 0)
		goto out;
	if (v != db_schema_latest()) {
		rc = err_set(e, EX_CONFIG, "%s: database schema %d, this build "
		    "wants %d", path, (int)v, db_schema_latest());
		goto out;
	}
	if ((rc = realm_id(db, o->realm ? o->realm : REALM_DEFAULT, &realm,
	    e)) != 0 ||
	    (rc = signer_find(db, realm, o->ca, "tsa", s, e)) != 0)
		goto out;
	if (s->policy_oid == NULL) {
		rc = err_set(e, EX_CONFIG, "CA %s: its TSA signer has no "
		    "policy OID", o->ca);
		goto out;
	}
	if ((rc = secret_get(&src, &c, &pass, e)) == 0)
		rc = signer_key(&c, s, &pass, key, e);
out:
	secret_free(&pass);
	db_close(db);
	conf_free(&c);
	free(home);
	free(path);
	return rc;
}

/* --filter: one query on stdin, its reply on stdout. 0 granted,
 * EX_DATAERR rejected (the reply still written), EX_SOFTWARE failed. */
static int
filter(struct tsa *t)
{
	struct buf in = {0}, out = {0};
	struct err e = {0};
	int rc, status = -1;

	if ((rc = fs_read_fd(0, TSA_MAX_QUERY, &in, &e)) != 0) {
		err_prefix(&e, "stdin");
		goto out;
	}
	if ((rc = tsa_reply(t, (unsigned char *)in.p, in.len, &out, &status,
	    &e)) != 0 && out.len == 0)
		goto out;
	if (fwrite(out.p, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0) {
		rc = err_set(&e, EX_IOERR, "stdout: %s", strerror(errno));
		goto out;
	}
	if (rc == 0 && status != TSA_GRANTED)
		rc = err_set(&e, EX_DATAERR, "stdin: request rejected (PKIStatus "
		    "%d)", status);
out:
	if (rc != 0)
		diag_err(&e);
	buf_free(&in);
	buf_free(&out);
	err_free(&e);
	return rc;
}

static int
serve(struct tsa *t)
{
	const struct http_route routes[] = {
		{ "/", HTTP_POST, TSA_MAX_QUERY, tsa_http, t },
	};
	const struct http_opts ho = { .name = "tsa" };
	struct err e = {0};
	int rc;

	if ((rc = http_serve(0, 1, routes, 1, &ho, &e)) != 0)
		diag_err(&e);
	err_free(&e);
	return rc;
}

static int
options(int argc, char **argv, struct opts *o, int64_t *acc)
{
	struct poptOption table[] = {
		{ "accuracy", '\0', POPT_ARG_STRING, &o->accuracy, 0,
		  "accuracy stated in tokens, e.g. 250ms or 1s (default: the "
		  "signer's; 0: none)", "TIME" },
		{ "ca", '\0', POPT_ARG_STRING, &o->ca, 0,
		  "the CA whose active TSA signer signs (required)", "NAME" },
		{ "filter", '\0', POPT_ARG_NONE, &o->filter, 0,
		  "answer one DER query on stdin with a DER reply on stdout",
		  NULL },
		{ "home", '\0', POPT_ARG_STRING, &o->home, 0,
		  "the instance (default: $CERTPIPE_HOME, the checkout's "
		  "spool/)", "DIR" },
		{ "passphrase-fd", '\0', POPT_ARG_INT, &o->passfd, 0,
		  "read the key passphrase from file descriptor FD", "FD" },
		{ "passphrase-file", '\0', POPT_ARG_STRING, &o->passfile, 0,
		  "read the key passphrase from FILE", "FILE" },
		{ "realm", '\0', POPT_ARG_STRING, &o->realm, 0,
		  "the CA's realm (default: default)", "NAME" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc;
	struct err e = {0};
	int rc;

	pc = poptGetContext("tsa", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "--ca NAME [OPTION...]");
	if ((rc = poptGetNextOpt(pc)) < -1) {
		diag("%s: %s", poptBadOption(pc, 0), poptStrerror(rc));
		rc = EX_USAGE;
	} else if (poptPeekArg(pc) != NULL) {
		diag("%s: no arguments expected", poptPeekArg(pc));
		rc = EX_USAGE;
	} else if (o->ca == NULL) {
		diag("--ca: required");
		rc = EX_USAGE;
	} else if (o->accuracy && tsa_accuracy_parse("--accuracy",
	    o->accuracy, acc, &e) != 0) {
		diag_err(&e);
		rc = EX_USAGE;
	} else
		rc = 0;
	poptFreeContext(pc);
	err_free(&e);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o = { .passfd = -1 };
	struct signer s = {0};
	struct tsa_opts to = {0};
	struct tsa *t = NULL;
	struct err e = {0};
	EVP_PKEY *key = NULL;
	int64_t acc = -1;
	int rc;

	diag_init(argv[0]);
	if ((rc = options(argc, argv, &o, &acc)) != 0)
		goto out;
	if ((rc = open_signer(&o, &s, &key, &e)) != 0) {
		err_prefix(&e, "CA %s", o.ca);
		rc = diag_err(&e);
		goto out;
	}
	to = (struct tsa_opts){ s.cert, key, s.chain, s.policy_oid,
	    acc >= 0 ? acc : s.accuracy_ms };
	if ((rc = tsa_new(&to, &t, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	/* the key is open and the database closed: nothing more to reach */
	if (sandbox_enter(&e) != 0) {
		diag("warning: %s; serving without it", err_str(&e));
		err_free(&e);
	}
	rc = o.filter ? filter(t) : serve(t);
out:
	tsa_free(t);
	EVP_PKEY_free(key);
	signer_free(&s);
	free(o.accuracy);
	free(o.ca);
	free(o.home);
	free(o.passfile);
	free(o.realm);
	err_free(&e);
	return rc;
}
