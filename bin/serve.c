/*
 * serve - answer HTTP for every certpipe service on one connection.
 *
 * Runs under inetd, tcpserver, systemd (Accept=yes) or socat: the
 * connection is fds 0 and 1, the access log goes to stderr. Now it
 * serves the instance's public files: CA certificates (pub/ca/NAME.crt,
 * the caIssuers URL of templates) and CRLs (pub/crl/NAME.crl, the CRL
 * distribution point), with validators so caches can ask cheaply.
 *
 * Trust: faces the network. It holds no CA key and opens no database;
 * the only secret it may hold is its own TLS key. It must never serve a
 * file outside pub/ca and pub/crl, nor follow a symlink.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <popt.h>
#include "conf.h"
#include "diag.h"
#include "http.h"
#include "keys.h"
#include "num.h"

struct opts {
	char *home, *passfile, *timeout, *tls_cert, *tls_key;
	int passfd;
};

/* The TLS key's passphrase, when any source of one is there: the key
 * may well be unencrypted, and then nobody has to configure one. */
static int
tls_pass(const struct opts *op, const struct conf *c, struct secret *s,
    struct err *e)
{
	struct secret_src src = { op->passfile, op->passfd };

	if (op->tls_key == NULL || (op->passfd < 0 && op->passfile == NULL &&
	    getenv("CERTPIPE_PASSPHRASE") == NULL && c->passphrase_file == NULL))
		return 0;
	return secret_get(&src, c, s, e);
}

static int
check(const struct opts *op, struct http_opts *ho, struct err *e)
{
	uint64_t t = 10;

	if (op->timeout && num_u64("--timeout", op->timeout, 1, 3600, &t,
	    e) != 0)
		return e->code = EX_USAGE;
	ho->timeout_ms = (int)t * 1000;
	if ((op->tls_cert == NULL) != (op->tls_key == NULL))
		return err_set(e, EX_USAGE, "--tls-cert and --tls-key go "
		    "together");
	ho->tls_cert = op->tls_cert;
	ho->tls_key = op->tls_key;
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts op = { .passfd = -1 };
	struct poptOption table[] = {
		{ "home", '\0', POPT_ARG_STRING, &op.home, 0,
		  "the instance (default: $CERTPIPE_HOME, the checkout's "
		  "spool/)", "DIR" },
		{ "passphrase-fd", '\0', POPT_ARG_INT, &op.passfd, 0,
		  "read the TLS key passphrase from file descriptor FD", "FD" },
		{ "passphrase-file", '\0', POPT_ARG_STRING, &op.passfile, 0,
		  "read the TLS key passphrase from FILE", "FILE" },
		{ "timeout", '\0', POPT_ARG_STRING, &op.timeout, 0,
		  "idle and per-request time limit (1..3600, default 10)",
		  "SECONDS" },
		{ "tls-cert", '\0', POPT_ARG_STRING, &op.tls_cert, 0,
		  "speak TLS with this PEM certificate (and chain)", "FILE" },
		{ "tls-key", '\0', POPT_ARG_STRING, &op.tls_key, 0,
		  "the TLS certificate's PEM key (mode 0600)", "FILE" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct http_opts ho = { .name = "serve" };
	struct http_files ca = { NULL, 3600 }, crl = { NULL, 300 };
	struct http_route routes[] = {
		{ "/ca/", HTTP_GET, 0, http_files, &ca },
		{ "/crl/", HTTP_GET, 0, http_files, &crl },
		/*
		 * Further services join here, each a handler in lib/:
		 * { "/ocsp", HTTP_GET | HTTP_POST, 0, ocsp_http, &ocsp },
		 * { "/tsa", HTTP_POST, 0, tsa_http, &tsa },
		 */
	};
	struct conf c = {0};
	struct secret pass = {0};
	struct err e = {0};
	poptContext pc;
	char *home = NULL;
	int rc;

	diag_init(argv[0]);
	pc = poptGetContext("serve", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[OPTION...]");
	if ((rc = poptGetNextOpt(pc)) < -1 || poptPeekArg(pc) != NULL) {
		diag("%s: %s", rc < -1 ? poptBadOption(pc, 0) : poptPeekArg(pc),
		    rc < -1 ? poptStrerror(rc) : "unexpected argument");
		rc = EX_USAGE;
		goto out;
	}
	home = conf_home(op.home);
	if ((rc = check(&op, &ho, &e)) != 0 ||
	    (rc = conf_load(home, &c, &e)) != 0 ||
	    (rc = tls_pass(&op, &c, &pass, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	ca.dir = conf_path(&c, "pub/ca");
	crl.dir = conf_path(&c, "pub/crl");
	ho.tls_pass = pass.b.len > 0 ? pass.b.p : NULL;
	if ((rc = http_serve(0, 1, routes, sizeof routes / sizeof routes[0],
	    &ho, &e)) != 0)
		diag_err(&e);
out:
	secret_free(&pass);
	free((char *)ca.dir);
	free((char *)crl.dir);
	conf_free(&c);
	free(home);
	free(op.home);
	free(op.passfile);
	free(op.timeout);
	free(op.tls_cert);
	free(op.tls_key);
	err_free(&e);
	poptFreeContext(pc);
	return rc;
}
