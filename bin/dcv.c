/*
 * dcv - decide whether a domain control challenge is satisfied.
 *
 * One check from the command line (dcv http-01 NAME TOKEN KEYAUTH, dcv
 * dns-01 NAME VALUE...), exit 0 satisfied, 1 not, 75 not known now; or
 * a filter over job records carrying Challenge-* headers, which gets
 * each one's Challenge-Result, so the scheduler can run it over a
 * batch.
 *
 * Trust: talks to hosts named by whoever asked for a certificate and
 * reads what they answer (an HTTP body, a DNS reply) as hostile input.
 * It holds no keys, opens no database and writes nothing but stdout. It
 * must never call a challenge satisfied on a body or TXT value it did
 * not compare in full, and never follow a redirect it did not check.
 */
#include <stdlib.h>
#include <string.h>
#include <popt.h>
#include "dcv.h"
#include "diag.h"
#include "loop.h"
#include "num.h"
#include "rec.h"

struct opts {
	struct dcv_conf c;
	const char **resolve;	/* from --resolve, NULL-ended */
	char **env_resolve;	/* from $CERTPIPE_DCV_RESOLVE */
};

/* Settings the environment may give (for a scheduler-run filter or a
 * test), before the options override them. */
static int
from_env(struct opts *o, struct err *e)
{
	const char *s;
	char *copy, *tok, *save = NULL;
	uint64_t port;
	size_t n = 0;

	if ((s = getenv("CERTPIPE_DCV_RESOLVER")) != NULL && *s)
		o->c.resolver = s;
	if ((s = getenv("CERTPIPE_DCV_HTTP_PORT")) != NULL && *s) {
		if (num_u64("CERTPIPE_DCV_HTTP_PORT", s, 1, 65535, &port, e))
			return EX_USAGE;
		o->c.http_port = (unsigned)port;
	}
	if ((s = getenv("CERTPIPE_DCV_RESOLVE")) == NULL || *s == '\0')
		return 0;
	copy = xstrdup(s);
	for (tok = strtok_r(copy, " \t", &save); tok;
	    tok = strtok_r(NULL, " \t", &save)) {
		o->env_resolve = xrealloc(o->env_resolve,
		    (n + 2) * sizeof *o->env_resolve);
		o->env_resolve[n++] = xstrdup(tok);
		o->env_resolve[n] = NULL;
	}
	free(copy);
	o->c.resolve = (const char *const *)o->env_resolve;
	return 0;
}

static void
opts_free(struct opts *o)
{
	size_t i;

	for (i = 0; o->env_resolve && o->env_resolve[i]; i++)
		free(o->env_resolve[i]);
	free(o->env_resolve);
}

/* The check a record asks for: 0, DCV_INVALID, or a sysexits code. */
static int
check(const struct dcv_conf *c, const struct rec *r, struct err *e)
{
	const char *type = rec_get(r, "Challenge-Type");
	const char *name = rec_get(r, "Challenge-Name");
	const char *token = rec_get(r, "Challenge-Token");
	const char **expect;
	size_t i, n = rec_count(r, "Challenge-Expect");
	int rc;

	if (name == NULL || n == 0)
		return err_set(e, EX_DATAERR, "%s: no Challenge-Name or "
		    "Challenge-Expect", type);
	if (strcmp(type, "http-01") == 0) {
		if (token == NULL || n != 1)
			return err_set(e, EX_DATAERR, "http-01 %s: needs one "
			    "Challenge-Token and one Challenge-Expect", name);
		return dcv_http01(c, name, token, rec_get(r,
		    "Challenge-Expect"), e);
	}
	if (strcmp(type, "dns-01") != 0)
		return err_set(e, EX_DATAERR, "Challenge-Type '%s': not "
		    "http-01 or dns-01", type);
	expect = xcalloc(n, sizeof *expect);
	for (i = 0; i < n; i++)
		expect[i] = rec_get_n(r, "Challenge-Expect", i);
	rc = dcv_dns01(c, name, expect, n, e);
	free(expect);
	return rc;
}

/* A record with a challenge gets its result: Challenge-Result valid or
 * invalid (with Challenge-Error), or, when the answer is not known now,
 * Status failed with Error-Code 75 so the scheduler defers it. Records
 * without a challenge, or finished by another stage, pass unchanged. */
static int
handle(struct rec *r, void *ctx)
{
	const struct dcv_conf *c = ctx;
	const char *st = rec_get(r, "Status");
	struct err e = {0}, e2 = {0};
	char code[8];
	int rc;

	if (st && (strcmp(st, "failed") == 0 || strcmp(st, "complete") == 0))
		return rec_status_code(r);
	if (rec_get(r, "Challenge-Type") == NULL)
		return 0;
	rc = check(c, r, &e);
	rec_del(r, "Challenge-Error");
	rec_set(r, "Stage", "dcv", &e2);
	if (rc == 0 || rc == DCV_INVALID) {
		rec_set(r, "Challenge-Result", rc ? "invalid" : "valid", &e2);
		if (rc)
			rec_set(r, "Challenge-Error", err_str(&e), &e2);
		rc = 0;
	} else {
		if (rc != EX_TEMPFAIL)
			rc = EX_DATAERR;	/* a bad request stays bad */
		snprintf(code, sizeof code, "%d", rc);
		rec_set(r, "Status", "failed", &e2);
		rec_set(r, "Error", err_str(&e), &e2);
		rec_set(r, "Error-Code", code, &e2);
	}
	if (e.code)
		diag("%s: %s", rec_id(r), err_str(&e));
	err_free(&e);
	err_free(&e2);
	return rc;
}

/* One check from the command line: args are the method and its
 * arguments. */
static int
command(const struct dcv_conf *c, const char **args, int n)
{
	struct err e = {0};
	int rc;

	if (strcmp(args[0], "http-01") == 0 && n == 4)
		rc = dcv_http01(c, args[1], args[2], args[3], &e);
	else if (strcmp(args[0], "dns-01") == 0 && n >= 3)
		rc = dcv_dns01(c, args[1], args + 2, (size_t)n - 2, &e);
	else
		rc = err_set(&e, EX_USAGE, "%s: wrong number of arguments",
		    args[0]);
	if (rc != 0)
		diag("%s", err_str(&e));
	err_free(&e);
	return rc;
}

/* The numeric options, checked. */
static int
settings(struct opts *o, const char *port, const char *timeout,
    struct err *e)
{
	uint64_t v;

	if (port) {
		if (num_u64("--http-port", port, 1, 65535, &v, e) != 0)
			return e->code = EX_USAGE;
		o->c.http_port = (unsigned)v;
	}
	if (timeout) {
		if (num_u64("--timeout", timeout, 1, 3600, &v, e) != 0)
			return e->code = EX_USAGE;
		o->c.timeout_ms = (int)v * 1000;
	}
	return 0;
}

static int
is_method(const char *s)
{
	return s && (strcmp(s, "http-01") == 0 || strcmp(s, "dns-01") == 0);
}

int
main(int argc, char **argv)
{
	struct opts o = { .c = DCV_CONF_INIT };
	char *resolver = NULL, *port = NULL, *timeout = NULL;
	int rc, n = 0;
	struct poptOption table[] = {
		{ "http-port", 0, POPT_ARG_STRING, &port, 0,
		  "where port 80 of every name is reached", "PORT" },
		{ "resolve", 0, POPT_ARG_ARGV, &o.resolve, 0,
		  "resolve NAME to ADDR (repeatable)", "NAME:ADDR" },
		{ "resolver", 0, POPT_ARG_STRING, &resolver, 0,
		  "DNS server for dns-01 (default: resolv.conf)",
		  "ADDR[:PORT]" },
		{ "timeout", 0, POPT_ARG_STRING, &timeout, 0,
		  "seconds for one check (default 10)", "SECONDS" },
		POPT_AUTOHELP POPT_TABLEEND
	};
	const char **args;
	struct err e = {0};
	poptContext pc;

	diag_init(argv[0]);
	pc = poptGetContext("dcv", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[OPTION...] http-01 NAME TOKEN KEYAUTH | "
	    "dns-01 NAME VALUE... | [FILE...]");
	if ((rc = poptGetNextOpt(pc)) < -1) {
		diag("%s: %s", poptBadOption(pc, 0), poptStrerror(rc));
		rc = EX_USAGE;
		goto out;
	}
	if ((rc = from_env(&o, &e)) != 0 || (rc = settings(&o, port,
	    timeout, &e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	if (resolver)
		o.c.resolver = resolver;
	if (o.resolve)
		o.c.resolve = o.resolve;
	if ((rc = dcv_conf_check(&o.c, &e)) != 0 ||
	    (rc = dcv_init(&e)) != 0) {
		rc = diag_err(&e);
		goto out;
	}
	args = poptGetArgs(pc);
	while (args && args[n])
		n++;
	if (n > 0 && is_method(args[0]))
		rc = command(&o.c, args, n);
	else
		rc = loop_records(n, args, handle, &o.c, stdout);
	dcv_fini();
out:
	free(resolver);
	free(port);
	free(timeout);
	for (n = 0; o.resolve && o.resolve[n]; n++)
		free((char *)o.resolve[n]);
	free(o.resolve);
	opts_free(&o);
	err_free(&e);
	poptFreeContext(pc);
	return rc;
}
