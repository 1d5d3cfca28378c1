/*
 * serve - answer HTTP for every certpipe service on one connection.
 *
 * Runs under inetd, tcpserver, systemd (Accept=yes) or socat: the
 * connection is fds 0 and 1, the access log goes to stderr. It serves
 * the instance's public files: CA certificates (pub/ca/NAME.crt, the
 * caIssuers URL of templates) and CRLs (pub/crl/NAME.crl, the CRL
 * distribution point), with validators so caches can ask cheaply; with
 * --ocsp, OCSP under /ocsp (the pre-signed store, and `ocsp-sign --live`
 * for what needs a signature made now); with --tsa, timestamps under
 * /tsa, signed here with the CA's delegated TSA key.
 *
 * Trust: faces the network. It holds no CA key; without --tsa it opens
 * no database and its only secret may be its own TLS key. --tsa opens
 * the database once to find the TSA signer and its key, then closes it;
 * --ocsp forks the process that will run ocsp-sign before sandboxing
 * (exec is refused afterwards). It must never serve a file outside
 * pub/ca and pub/crl, nor follow a symlink.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <popt.h>
#include "conf.h"
#include "diag.h"
#include "fs.h"
#include "http.h"
#include "keys.h"
#include "num.h"
#include "ocsp.h"
#include "sandbox.h"
#include "signer.h"
#include "tsa.h"

struct opts {
	char *home, *passfile, *timeout, *tls_cert, *tls_key, *tsa_ca,
	    *tsa_realm;
	int passfd, ocsp, ocsp_require_signed, tsa;
};

/* The passphrase, when anything here needs one and a source of one is
 * there: the TLS key may well be unencrypted, and ocsp-sign may find
 * its own (the environment, the instance's passphrase_file). --tsa
 * reads it with the signer's key instead. */
static int
get_pass(const struct opts *op, const struct conf *c, struct secret *s,
    struct err *e)
{
	struct secret_src src = { op->passfile, op->passfd };

	if ((op->tls_key == NULL && !op->ocsp) || (op->passfd < 0 &&
	    op->passfile == NULL && getenv("CERTPIPE_PASSPHRASE") == NULL &&
	    c->passphrase_file == NULL))
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
	if (!op->ocsp && op->ocsp_require_signed)
		return err_set(e, EX_USAGE, "--ocsp-require-signed goes with "
		    "--ocsp");
	if (!op->tsa && (op->tsa_ca || op->tsa_realm))
		return err_set(e, EX_USAGE, "--tsa-ca and --tsa-realm go with "
		    "--tsa");
	ho->tls_cert = op->tls_cert;
	ho->tls_key = op->tls_key;
	return 0;
}

/* The standby child: stdin is the pipe live requests will come on.
 * Wait until the first one is there, then become ocsp-sign (which reads
 * it); exit when serve closed the pipe without one. */
static void
standby_run(char *const *argv)
{
	struct pollfd pf = { 0, POLLIN, 0 };
	int n = 0;

	while (poll(&pf, 1, -1) < 0)
		if (errno != EINTR)
			_exit(EX_OSERR);
	if (ioctl(0, FIONREAD, &n) != 0 || n <= 0)
		_exit(0);
	execv(argv[0], argv);
	diag("%s: %s", argv[0], strerror(errno));
	_exit(EX_UNAVAILABLE);
}

/* The live signer for the OCSP route. Once sandboxed serve cannot exec,
 * so the process that will run `ocsp-sign --live` is forked now and
 * waits (standby_run): a connection that never needs a live answer
 * costs a fork, not a key load. It gets the passphrase, when serve has
 * one, through a pipe of its own (argv[6..7]: --passphrase-fd N). The
 * front end f then finds its helper running on the pipe pair. */
static int
standby(struct ocsp_front *f, char **argv, const struct secret *pass,
    struct err *e)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, pp[2] = { -1, -1 };
	struct buf num = {0};
	pid_t pid;
	int rc = 0;

	if (pipe(in) != 0 || pipe(out) != 0 ||
	    (pass->b.len > 0 && pipe(pp) != 0)) {
		rc = err_set(e, EX_OSERR, "live signer: pipe: %s",
		    strerror(errno));
		goto out;
	}
	/* a passphrase is far below a pipe's capacity: no blocking */
	if (pp[1] >= 0 && (write(pp[1], pass->b.p, pass->b.len) !=
	    (ssize_t)pass->b.len || close(pp[1]) != 0)) {
		pp[1] = -1;
		rc = err_set(e, EX_OSERR, "live signer: passphrase pipe: %s",
		    strerror(errno));
		goto out;
	}
	pp[1] = -1;
	if (pp[0] >= 0) {
		buf_printf(&num, "%d", pp[0]);
		argv[6] = "--passphrase-fd";
		argv[7] = num.p;
	}
	if ((pid = fork()) < 0) {
		rc = err_set(e, EX_OSERR, "live signer: fork: %s",
		    strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* our ends closed, or the pipe would never end */
		close(in[1]);
		close(out[0]);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(EX_OSERR);
		if (in[0] > 1)
			close(in[0]);
		if (out[1] > 1)
			close(out[1]);
		standby_run(argv);
	}
	f->pid = pid;
	f->to = in[1];
	f->from = out[0];
	in[1] = out[0] = -1;
out:
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (pp[0] >= 0)
		close(pp[0]);
	if (pp[1] >= 0)
		close(pp[1]);
	argv[6] = argv[7] = NULL;
	buf_free(&num);
	return rc;
}

/* --tsa: the TSA signer, its key and the signing context, which borrows
 * both (freed after it); the database is closed again on return. */
static int
open_tsa(const struct opts *op, const struct conf *c, struct secret *pass,
    struct signer *s, EVP_PKEY **key, struct tsa **t, struct err *e)
{
	struct secret_src src = { op->passfile, op->passfd };
	struct tsa_opts to;
	int rc;

	if ((rc = signer_open_tsa(c, op->tsa_realm, op->tsa_ca, &src, s,
	    key, pass, e)) == 0) {
		to = (struct tsa_opts){ s->cert, *key, s->chain, s->policy_oid,
		    s->accuracy_ms };
		rc = tsa_new(&to, t, e);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts op = { .passfd = -1 };
	struct poptOption table[] = {
		{ "home", '\0', POPT_ARG_STRING, &op.home, 0,
		  "the instance (default: $CERTPIPE_HOME, the checkout's "
		  "spool/)", "DIR" },
		{ "ocsp", '\0', POPT_ARG_NONE, &op.ocsp, 0,
		  "answer OCSP under /ocsp (pre-signed store, live signer)",
		  NULL },
		{ "ocsp-require-signed", '\0', POPT_ARG_NONE,
		  &op.ocsp_require_signed, 0, "--ocsp: answer sigRequired to "
		  "unsigned requests", NULL },
		{ "passphrase-fd", '\0', POPT_ARG_INT, &op.passfd, 0,
		  "read the key passphrase from file descriptor FD", "FD" },
		{ "passphrase-file", '\0', POPT_ARG_STRING, &op.passfile, 0,
		  "read the key passphrase from FILE", "FILE" },
		{ "timeout", '\0', POPT_ARG_STRING, &op.timeout, 0,
		  "idle and per-request time limit (1..3600, default 10)",
		  "SECONDS" },
		{ "tls-cert", '\0', POPT_ARG_STRING, &op.tls_cert, 0,
		  "speak TLS with this PEM certificate (and chain)", "FILE" },
		{ "tls-key", '\0', POPT_ARG_STRING, &op.tls_key, 0,
		  "the TLS certificate's PEM key (mode 0600)", "FILE" },
		{ "tsa", '\0', POPT_ARG_NONE, &op.tsa, 0,
		  "answer timestamp requests under /tsa (holds the TSA key)",
		  NULL },
		{ "tsa-ca", '\0', POPT_ARG_STRING, &op.tsa_ca, 0,
		  "--tsa: the CA whose TSA signer signs (default: the one "
		  "CA of the realm that has one)", "NAME" },
		{ "tsa-realm", '\0', POPT_ARG_STRING, &op.tsa_realm, 0,
		  "--tsa: that CA's realm (default: default)", "NAME" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct http_opts ho = { .name = "serve" };
	struct http_files ca = { NULL, 3600 }, crl = { NULL, 300 };
	struct http_route routes[4] = {
		{ "/ca/", HTTP_GET, 0, http_files, &ca },
		{ "/crl/", HTTP_GET, 0, http_files, &crl },
	};
	char *helper[] = { NULL, "--live", "--home", NULL, "--store", NULL,
	    NULL, NULL, NULL };
	size_t nroutes = 2;
	struct ocsp_front f;
	struct ocsp_store st = { -1 };
	struct tsa *t = NULL;
	struct signer tsa_signer = {0};
	EVP_PKEY *tsa_key = NULL;
	struct conf c = {0};
	struct secret pass = {0};
	struct err e = {0};
	poptContext pc;
	char *home = NULL, *root = NULL;
	int rc;

	diag_init(argv[0]);
	ocsp_front_init(&f, -1, NULL);
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
	    (op.tsa && (rc = open_tsa(&op, &c, &pass, &tsa_signer, &tsa_key,
	    &t, &e)) != 0) ||
	    (!op.tsa && (rc = get_pass(&op, &c, &pass, &e)) != 0))
		goto fail;
	if (op.ocsp) {
		root = conf_path(&c, "pub/ocsp");
		if ((rc = ocsp_store_open(root, &st, &e)) != 0)
			goto fail;
		helper[0] = fs_prog("ocsp-sign");
		helper[3] = c.home;
		helper[5] = root;
		ocsp_front_init(&f, st.fd, helper);
		f.require_signed = op.ocsp_require_signed;
		if ((rc = standby(&f, helper, &pass, &e)) != 0)
			goto fail;
		routes[nroutes++] = (struct http_route){ "/ocsp",
		    HTTP_GET | HTTP_POST, OCSP_MAX_REQUEST, ocsp_http, &f };
	}
	if (t != NULL)
		routes[nroutes++] = (struct http_route){ "/tsa", HTTP_POST,
		    TSA_MAX_QUERY, tsa_http, t };
	/* from here on no socket, no connect, no exec: the connection (and
	 * the standby's pipes) the only way out (see sandbox.h) */
	if (sandbox_enter(&e) != 0) {
		diag("warning: %s; serving without it", err_str(&e));
		err_free(&e);
	}
	ca.dir = conf_path(&c, "pub/ca");
	crl.dir = conf_path(&c, "pub/crl");
	/* one passphrase opens every key: the TLS key's too */
	if (op.tls_key && pass.b.len > 0)
		ho.tls_pass = buf_str(&pass.b);
	else
		secret_free(&pass);
	if ((rc = http_serve(0, 1, routes, nroutes, &ho, &e)) == 0)
		goto out;
fail:
	rc = diag_err(&e);
out:
	ocsp_front_close(&f);
	ocsp_store_close(&st);
	tsa_free(t);
	EVP_PKEY_free(tsa_key);
	signer_free(&tsa_signer);
	secret_free(&pass);
	free(helper[0]);
	free(root);
	free((char *)ca.dir);
	free((char *)crl.dir);
	conf_free(&c);
	free(home);
	free(op.home);
	free(op.passfile);
	free(op.timeout);
	free(op.tls_cert);
	free(op.tls_key);
	free(op.tsa_ca);
	free(op.tsa_realm);
	err_free(&e);
	poptFreeContext(pc);
	return rc;
}
