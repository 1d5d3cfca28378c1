/*
 * ocsp - answer OCSP requests from the pre-signed store.
 *
 * On a socket (inetd, tcpserver, systemd Accept=yes) or with --http it
 * speaks HTTP on fds 0 and 1 through http_serve: POST
 * application/ocsp-request, and GET PREFIX/<base64 request> (RFC 5019)
 * with caching headers. Otherwise it is a filter: one DER request on
 * stdin, one DER response on stdout. A request the store answers is
 * answered by lookup; one with a nonce, several CertIDs or a serial the
 * store does not hold goes to `ocsp-sign --live`, started on first need
 * and kept for the connection.
 *
 * Trust: faces the network. It holds no key and opens no database; it
 * reads the store and starts the key holder, nothing else. It must
 * never answer for an issuer the store does not know, nor serve a
 * response past its nextUpdate.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <popt.h>
#include "conf.h"
#include "diag.h"
#include "fs.h"
#include "http.h"
#include "num.h"
#include "ocsp.h"

struct opts {
	char *home, *store, *prefix, *timeout;
	int http, no_live, non_issued_revoked, require_signed;
};

/* Filter mode: one request in, one response out; the exit status says
 * what the response is. */
static int
filter(struct ocsp_front *f, struct err *e)
{
	static const int code[] = { 0, EX_DATAERR, EX_SOFTWARE, EX_TEMPFAIL,
	    EX_SOFTWARE, EX_NOPERM, EX_NOPERM };
	struct ocsp_answer a;
	struct buf in = {0};
	int rc;

	memset(&a, 0, sizeof a);
	if ((rc = fs_read_fd(0, OCSP_MAX_REQUEST + 1, &in, e)) != 0 &&
	    rc != EX_DATAERR)
		goto out;
	ocsp_answer(f, in.p, in.len, time(NULL), &a);
	if (fwrite(a.der.p, 1, a.der.len, stdout) != a.der.len ||
	    fflush(stdout) != 0) {
		rc = err_set(e, EX_IOERR, "stdout: %s", strerror(errno));
		goto out;
	}
	rc = a.status >= 0 && a.status <= 6 ? code[a.status] : EX_SOFTWARE;
	if (rc != 0)
		err_set(e, rc, "request: answered %s",
		    OCSP_response_status_str(a.status));
out:
	ocsp_answer_free(&a);
	buf_free(&in);
	return rc;
}

static int
check(const struct opts *op, struct http_opts *ho, struct err *e)
{
	uint64_t t = 10;

	if (op->timeout && num_u64("--timeout", op->timeout, 1, 3600, &t,
	    e) != 0)
		return EX_USAGE;
	ho->timeout_ms = (int)t * 1000;
	if (op->prefix && (op->prefix[0] != '/' || strchr(op->prefix, '?')))
		return err_set(e, EX_USAGE, "--prefix: a path starting with "
		    "'/'");
	return 0;
}

/* HTTP when fd 0 is a socket (or --http), else a filter. */
static int
is_http(const struct opts *op)
{
	struct stat sb;

	return op->http || (fstat(0, &sb) == 0 && S_ISSOCK(sb.st_mode));
}

int
main(int argc, char **argv)
{
	struct opts op = {0};
	struct poptOption table[] = {
		{ "home", '\0', POPT_ARG_STRING, &op.home, 0,
		  "the instance (default: $CERTPIPE_HOME, the checkout's "
		  "spool/)", "DIR" },
		{ "http", '\0', POPT_ARG_NONE, &op.http, 0,
		  "speak HTTP on fds 0/1 even when they are not a socket",
		  NULL },
		{ "no-live", '\0', POPT_ARG_NONE, &op.no_live, 0,
		  "answer only from the store (tryLater for the rest)", NULL },
		{ "non-issued-revoked", '\0', POPT_ARG_NONE,
		  &op.non_issued_revoked, 0, "answer revoked, not unknown, for "
		  "serials not in the store (RFC 6960 4.4.8)", NULL },
		{ "prefix", '\0', POPT_ARG_STRING, &op.prefix, 0,
		  "the URL path OCSP is served under (default /)", "PATH" },
		{ "require-signed", '\0', POPT_ARG_NONE, &op.require_signed, 0,
		  "answer sigRequired to unsigned requests", NULL },
		{ "store", '\0', POPT_ARG_STRING, &op.store, 0,
		  "the pre-signed store (default: <home>/pub/ocsp)", "DIR" },
		{ "timeout", '\0', POPT_ARG_STRING, &op.timeout, 0,
		  "idle and per-request time limit (1..3600, default 10)",
		  "SECONDS" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	/* answers are lookups: a connection may live long, its process
	 * start is the expensive part */
	struct http_opts ho = { .name = "ocsp", .max_requests = 100000 };
	struct http_route route = { "/", HTTP_GET | HTTP_POST,
	    OCSP_MAX_REQUEST, ocsp_http, NULL };
	char *helper[] = { NULL, "--live", "--home", NULL, "--store", NULL,
	    NULL, NULL };
	struct ocsp_front f;
	struct ocsp_store st = { -1 };
	struct conf c = {0};
	struct err e = {0};
	poptContext pc;
	char *home = NULL, *root = NULL;
	int rc;

	diag_init(argv[0]);
	pc = poptGetContext("ocsp", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[OPTION...]");
	if ((rc = poptGetNextOpt(pc)) < -1 || poptPeekArg(pc) != NULL) {
		diag("%s: %s", rc < -1 ? poptBadOption(pc, 0) : poptPeekArg(pc),
		    rc < -1 ? poptStrerror(rc) : "unexpected argument");
		rc = EX_USAGE;
		goto out;
	}
	home = conf_home(op.home);
	if ((rc = check(&op, &ho, &e)) != 0 ||
	    (rc = conf_load(home, &c, &e)) != 0)
		goto fail;
	root = op.store ? xstrdup(op.store) : conf_path(&c, "pub/ocsp");
	if ((rc = ocsp_store_open(root, &st, &e)) != 0)
		goto fail;
	helper[0] = fs_prog("ocsp-sign");
	helper[3] = c.home;
	helper[5] = root;
	if (op.non_issued_revoked)
		helper[6] = "--non-issued-revoked";
	ocsp_front_init(&f, st.fd, op.no_live ? NULL : helper);
	f.require_signed = op.require_signed;
	route.arg = &f;
	if (op.prefix)
		route.prefix = op.prefix;
	if (is_http(&op))
		rc = http_serve(0, 1, &route, 1, &ho, &e);
	else
		rc = filter(&f, &e);
	ocsp_front_close(&f);
	if (rc == 0)
		goto out;
fail:
	rc = diag_err(&e);
out:
	ocsp_store_close(&st);
	free(helper[0]);
	free(root);
	conf_free(&c);
	free(home);
	free(op.home);
	free(op.store);
	free(op.prefix);
	free(op.timeout);
	err_free(&e);
	poptFreeContext(pc);
	return rc;
}
