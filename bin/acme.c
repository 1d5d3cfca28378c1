/*
 * acme - answer ACME (RFC 8555) requests on one connection.
 *
 * Runs under inetd, tcpserver, systemd (Accept=yes) or socat: the
 * connection is fds 0 and 1, the access log goes to stderr. It serves
 * the directory, nonces, accounts with required external account
 * binding, revokeCert and renewalInfo (lib/acme.h); the requests
 * themselves are checked there. A revocation pokes the trigger so the
 * scheduler republishes CRLs and OCSP responses.
 *
 * Trust: faces the network. It opens the instance database (nonces,
 * accounts, EAB keys) and holds no CA key, only its own TLS key when
 * given one; it never signs anything and never prints an EAB key or a
 * request body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <popt.h>
#include "acme.h"
#include "conf.h"
#include "diag.h"
#include "http.h"
#include "keys.h"
#include "num.h"

struct opts {
	char *base_url, *caa, *home, *passfile, *terms, *timeout, *tls_cert,
	    *tls_key, *website;
	int passfd;
};

static int
check(const struct opts *op, const struct conf *c, struct acme *a,
    struct http_opts *ho, struct err *e)
{
	uint64_t t = 10;
	size_t n;

	if (op->timeout && num_u64("--timeout", op->timeout, 1, 3600, &t,
	    e) != 0)
		return e->code = EX_USAGE;
	ho->timeout_ms = (int)t * 1000;
	if ((op->tls_cert == NULL) != (op->tls_key == NULL))
		return err_set(e, EX_USAGE, "--tls-cert and --tls-key go "
		    "together");
	ho->tls_cert = op->tls_cert;
	ho->tls_key = op->tls_key;
	a->base = op->base_url ? op->base_url : c->base_url;
	if (a->base == NULL || (strncmp(a->base, "http://", 7) != 0 &&
	    strncmp(a->base, "https://", 8) != 0))
		return err_set(e, EX_CONFIG, "base URL: want http:// or "
		    "https:// (certpipe.conf base_url or --base-url)");
	if ((n = strlen(a->base)) > 0 && a->base[n - 1] == '/')
		return err_set(e, EX_CONFIG, "base URL: no trailing slash");
	a->tos = op->terms;
	a->website = op->website;
	a->caa = op->caa;
	a->home = c->home;
	a->finalize_wait_ms = ACME_FINALIZE_WAIT_MS;
	return 0;
}

/* The TLS key's passphrase, when the key is given and a source of one
 * is there (else the key must be unencrypted). */
static int
get_pass(const struct opts *op, const struct conf *c, struct secret *s,
    struct err *e)
{
	struct secret_src src = { op->passfile, op->passfd };

	if (op->tls_key == NULL || (op->passfd < 0 && op->passfile == NULL &&
	    getenv("CERTPIPE_PASSPHRASE") == NULL &&
	    c->passphrase_file == NULL))
		return 0;
	return secret_get(&src, c, s, e);
}

/* The database, at exactly the schema this build knows. */
static int
open_db(const struct conf *c, struct db **db, struct err *e)
{
	char *path = conf_path(c, "certpipe.db");
	int64_t v;
	int rc;

	if ((rc = db_open(path, DB_OPEN_EXISTING, db, e)) == 0 &&
	    (rc = db_int64(*db, &v, e, "PRAGMA user_version", "")) == 0 &&
	    v != db_schema_latest())
		rc = err_set(e, EX_CONFIG, "%s: database schema %lld, this "
		    "build wants %d (run 'certpipe init')", path, (long long)v,
		    db_schema_latest());
	free(path);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts op = { .passfd = -1 };
	struct poptOption table[] = {
		{ "base-url", '\0', POPT_ARG_STRING, &op.base_url, 0,
		  "URLs start with this (default: certpipe.conf base_url)",
		  "URL" },
		{ "caa-identity", '\0', POPT_ARG_STRING, &op.caa, 0,
		  "directory meta caaIdentities entry", "NAME" },
		{ "home", '\0', POPT_ARG_STRING, &op.home, 0,
		  "the instance (default: $CERTPIPE_HOME, the checkout's "
		  "spool/)", "DIR" },
		{ "passphrase-fd", '\0', POPT_ARG_INT, &op.passfd, 0,
		  "read the TLS key's passphrase from file descriptor FD",
		  "FD" },
		{ "passphrase-file", '\0', POPT_ARG_STRING, &op.passfile, 0,
		  "read the TLS key's passphrase from FILE", "FILE" },
		{ "terms", '\0', POPT_ARG_STRING, &op.terms, 0,
		  "terms of service URL; new accounts must agree", "URL" },
		{ "timeout", '\0', POPT_ARG_STRING, &op.timeout, 0,
		  "idle and per-request time limit (1..3600, default 10)",
		  "SECONDS" },
		{ "tls-cert", '\0', POPT_ARG_STRING, &op.tls_cert, 0,
		  "speak TLS with this PEM certificate (and chain)", "FILE" },
		{ "tls-key", '\0', POPT_ARG_STRING, &op.tls_key, 0,
		  "the TLS certificate's PEM key (mode 0600)", "FILE" },
		{ "website", '\0', POPT_ARG_STRING, &op.website, 0,
		  "directory meta website", "URL" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct http_opts ho = { .name = "acme" };
	struct acme a = {0};
	struct http_route routes[] = {
		{ "/directory", HTTP_GET, 0, acme_directory, &a },
		{ "/acme/", HTTP_GET | HTTP_POST, ACME_MAX_BODY, acme_http,
		  &a },
	};
	struct conf c = {0};
	struct secret pass = {0};
	struct err e = {0};
	poptContext pc;
	char *home = NULL;
	int rc;

	diag_init(argv[0]);
	pc = poptGetContext("acme", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[OPTION...]");
	if ((rc = poptGetNextOpt(pc)) < -1 || poptPeekArg(pc) != NULL) {
		diag("%s: %s", rc < -1 ? poptBadOption(pc, 0) : poptPeekArg(pc),
		    rc < -1 ? poptStrerror(rc) : "unexpected argument");
		rc = EX_USAGE;
		goto out;
	}
	home = conf_home(op.home);
	if ((rc = conf_load(home, &c, &e)) != 0 ||
	    (rc = check(&op, &c, &a, &ho, &e)) != 0 ||
	    (rc = open_db(&c, &a.db, &e)) != 0 ||
	    (rc = get_pass(&op, &c, &pass, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	if (pass.b.len > 0)
		ho.tls_pass = buf_str(&pass.b);
	if ((rc = http_serve(0, 1, routes, sizeof routes / sizeof routes[0],
	    &ho, &e)) != 0)
		diag_err(&e);
out:
	acme_close(&a);
	db_close(a.db);
	conf_free(&c);
	free(home);
	free(op.base_url);
	free(op.caa);
	free(op.home);
	free(op.passfile);
	free(op.terms);
	free(op.timeout);
	free(op.tls_cert);
	free(op.tls_key);
	free(op.website);
	secret_free(&pass);
	err_free(&e);
	poptFreeContext(pc);
	return rc;
}
