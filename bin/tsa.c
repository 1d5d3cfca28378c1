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
#include "diag.h"
#include "fs.h"
#include "http.h"
#include "keys.h"
#include "num.h"
#include "sandbox.h"
#include "signer.h"
#include "tsa.h"

struct opts {
	char *accuracy, *ca, *home, *passfile, *realm, *timeout, *tls_cert,
	    *tls_key;
	int filter, passfd;
	int64_t accuracy_ms;		/* -1: the signer's */
	struct http_opts http;
};

/* The CA's active TSA signer and its key; the database is closed again
 * before any request is read. */
static int
open_signer(const struct opts *o, struct signer *s, EVP_PKEY **key,
    struct secret *pass, struct err *e)
{
	struct conf c = {0};
	struct secret_src src = { o->passfile, o->passfd };
	char *home = conf_home(o->home);
	int rc;

	if ((rc = conf_load(home, &c, e)) == 0)
		rc = signer_open_tsa(&c, o->realm, o->ca, &src, s, key, pass,
		    e);
	conf_free(&c);
	free(home);
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
	if (rc == 0 && status != TSA_GRANTED) {
		buf_reset(&in);
		tsa_reply_text((unsigned char *)out.p, out.len, &in);
		rc = err_set(&e, EX_DATAERR, "stdin: %s", in.p);
	}
out:
	if (rc != 0)
		diag_err(&e);
	buf_free(&in);
	buf_free(&out);
	err_free(&e);
	return rc;
}

/* One connection; every path is the TSA's (clients are configured
 * with a URL, and some post to "/"). */
static int
serve(struct tsa *t, const struct http_opts *ho)
{
	const struct http_route routes[] = {
		{ "/", HTTP_POST, TSA_MAX_QUERY, tsa_http, t },
	};
	struct err e = {0};
	int rc;

	if ((rc = http_serve(0, 1, routes, 1, ho, &e)) != 0)
		diag_err(&e);
	err_free(&e);
	return rc;
}

/* Check what popt cannot: 0 or EX_USAGE with e filled. */
static int
check(struct opts *o, struct err *e)
{
	uint64_t t = 10;

	if (o->accuracy && tsa_accuracy_parse("--accuracy", o->accuracy,
	    &o->accuracy_ms, e) != 0)
		return EX_USAGE;
	if (o->timeout && num_u64("--timeout", o->timeout, 1, 3600, &t, e) !=
	    0)
		return EX_USAGE;
	if ((o->tls_cert == NULL) != (o->tls_key == NULL))
		return err_set(e, EX_USAGE, "--tls-cert and --tls-key go "
		    "together");
	if (o->filter && o->tls_cert)
		return err_set(e, EX_USAGE, "--filter speaks no HTTP, no TLS");
	o->http.name = "tsa";
	o->http.timeout_ms = (int)t * 1000;
	o->http.tls_cert = o->tls_cert;
	o->http.tls_key = o->tls_key;
	return 0;
}

static int
options(int argc, char **argv, struct opts *o)
{
	struct poptOption table[] = {
		{ "accuracy", '\0', POPT_ARG_STRING, &o->accuracy, 0,
		  "accuracy stated in tokens, e.g. 250ms or 1s (default: the "
		  "signer's; 0: none)", "TIME" },
		{ "ca", '\0', POPT_ARG_STRING, &o->ca, 0,
		  "the CA whose active TSA signer signs (default: the one CA "
		  "of the realm that has one)", "NAME" },
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
		{ "timeout", '\0', POPT_ARG_STRING, &o->timeout, 0,
		  "idle and per-request time limit (1..3600, default 10)",
		  "SECONDS" },
		{ "tls-cert", '\0', POPT_ARG_STRING, &o->tls_cert, 0,
		  "speak TLS with this PEM certificate (and chain)", "FILE" },
		{ "tls-key", '\0', POPT_ARG_STRING, &o->tls_key, 0,
		  "the TLS certificate's PEM key (mode 0600)", "FILE" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc;
	struct err e = {0};
	int rc;

	pc = poptGetContext("tsa", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[OPTION...]");
	if ((rc = poptGetNextOpt(pc)) < -1) {
		diag("%s: %s", poptBadOption(pc, 0), poptStrerror(rc));
		rc = EX_USAGE;
	} else if (poptPeekArg(pc) != NULL) {
		diag("%s: no arguments expected", poptPeekArg(pc));
		rc = EX_USAGE;
	} else if ((rc = check(o, &e)) != 0)
		diag_err(&e);
	poptFreeContext(pc);
	err_free(&e);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o = { .passfd = -1, .accuracy_ms = -1 };
	struct signer s = {0};
	struct secret pass = {0};
	struct tsa_opts to = {0};
	struct tsa *t = NULL;
	struct err e = {0};
	EVP_PKEY *key = NULL;
	int rc;

	diag_init(argv[0]);
	if ((rc = options(argc, argv, &o)) != 0)
		goto out;
	if ((rc = open_signer(&o, &s, &key, &pass, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	/* one passphrase opens every key: the TLS key's too, which
	 * http_serve loads; otherwise it is wiped now */
	if (o.tls_key)
		o.http.tls_pass = buf_str(&pass.b);
	else
		secret_free(&pass);
	to = (struct tsa_opts){ s.cert, key, s.chain, s.policy_oid,
	    o.accuracy_ms >= 0 ? o.accuracy_ms : s.accuracy_ms };
	if ((rc = tsa_new(&to, &t, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	/* the key is open and the database closed: nothing more to reach */
	if (sandbox_enter(&e) != 0) {
		diag("warning: %s; serving without it", err_str(&e));
		err_free(&e);
	}
	rc = o.filter ? filter(t) : serve(t, &o.http);
out:
	secret_free(&pass);
	tsa_free(t);
	EVP_PKEY_free(key);
	signer_free(&s);
	free(o.accuracy);
	free(o.ca);
	free(o.home);
	free(o.passfile);
	free(o.realm);
	free(o.timeout);
	free(o.tls_cert);
	free(o.tls_key);
	err_free(&e);
	return rc;
}
