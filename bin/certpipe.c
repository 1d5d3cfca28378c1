/*
 * certpipe - the administrator's command: manages an instance's CAs,
 * templates, realms, domains and audit log, and runs plumbing tools
 * ("certpipe rec-cat ...") the way git runs its sub-programs.
 *
 * Trust: run by the instance's administrator. Commands that create or
 * use CA keys read the passphrase from an fd, a file or the environment,
 * never from argv. It must never print key material or passphrases.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bin/certpipe/cli.h"
#include "diag.h"
#include "fs.h"

static const struct cli_sub cmds[] = {
	{ "acme", cmd_acme, "ACME policies, EAB keys and accounts" },
	{ "alert", cmd_alert, "list and acknowledge alerts" },
	{ "approve", cmd_approve, "approve an order held for approval" },
	{ "audit", cmd_audit, "list and verify the audit log" },
	{ "ca", cmd_ca, "create, import, export and manage CAs" },
	{ "cert", cmd_cert, "the certificate inventory: list, show, export, "
	  "import" },
	{ "decline", cmd_decline, "decline an order held for approval" },
	{ "domain", cmd_domain, "register the domains certificates may name" },
	{ "init", cmd_init, "create or upgrade an instance" },
	{ "ocsp", cmd_ocsp, "the CAs' delegated OCSP responder certificates" },
	{ "order", cmd_order, "list and show orders" },
	{ "policy", cmd_policy, "issuance policies: rules, approval" },
	{ "realm", cmd_realm, "create and list realms (tenants)" },
	{ "renew", cmd_renew, "queue renewals of certificates due soon" },
	{ "request", cmd_request, "request a certificate with a key made "
	  "here" },
	{ "status", cmd_status, "summarise the instance" },
	{ "submit", cmd_submit, "request a certificate for a CSR" },
	{ "template", cmd_template, "manage certificate templates" },
	{ "tsa", cmd_tsa, "the CAs' timestamping authority certificates" },
	{ NULL, NULL, NULL }
};

static void
usage(FILE *f)
{
	const struct cli_sub *s;

	fprintf(f, "usage: certpipe [--home DIR] [--realm NAME] [--json] "
	    "COMMAND [ARG...]\n       certpipe TOOL [ARG...]\n\ncommands:\n");
	for (s = cmds; s->name; s++)
		fprintf(f, "  %-9s %s\n", s->name, s->summary);
	fprintf(f, "  %-9s %s\n\n'certpipe help COMMAND' shows a command's "
	    "sub-commands and options; see certpipe(1), certpipe(7).\n",
	    "help", "show this list, or help on a command");
}

/* Run a plumbing tool: next to this binary (a build tree), else in
 * the install's libexec directory. Only plain tool names are accepted. */
static int
run_tool(int argc, const char **argv)
{
	const char *p;
	char *path;

	for (p = argv[0]; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-'))
			goto unknown;
	path = fs_prog(argv[0]);
	if (access(path, X_OK) == 0) {
		(void)argc;
		execv(path, (char *const *)argv);
		diag("%s: cannot run: %s", path, strerror(errno));
		free(path);
		return EX_OSERR;
	}
	free(path);
unknown:
	diag("'%s' is not a command or tool (see 'certpipe help')", argv[0]);
	return EX_USAGE;
}

static int
help(struct cli *c, int argc, const char **argv)
{
	const char *sub[4];
	const struct cli_sub *s;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	for (s = cmds; s->name; s++)
		if (strcmp(s->name, argv[1]) == 0)
			break;
	if (s->name == NULL) {
		diag("help: unknown command '%s'", argv[1]);
		return EX_USAGE;
	}
	sub[0] = argv[1];
	sub[1] = argc > 2 ? argv[2] : "help";
	sub[2] = "--help";
	sub[3] = NULL;
	/* init and status take options directly: "certpipe help init" */
	if (strcmp(s->name, "init") == 0 || strcmp(s->name, "status") == 0 ||
	    strcmp(s->name, "renew") == 0 || strcmp(s->name, "request") == 0 ||
	    strcmp(s->name, "submit") == 0)
		return s->fn(c, 2, (const char *[]){ argv[1], "--help", NULL });
	return s->fn(c, argc > 2 ? 3 : 2, sub);
}

int
main(int argc, char **argv)
{
	struct cli c;
	struct poptOption opts[2];
	poptContext pc;
	const char **rest, *only[] = { NULL };
	const struct cli_sub *s;
	int rc, n;

	diag_init("certpipe");
	/* Files made as a side effect (sqlite's -wal and -shm next to the
	 * 0600 database, temporary files) are not for other users; what is
	 * meant to be public is given its mode explicitly. */
	umask(027);
	cli_init(&c);
	/* Common options may come before the command, git-style. */
	memset(opts, 0, sizeof opts);
	opts[0] = (struct poptOption)CLI_COMMON(&c);
	pc = poptGetContext("certpipe", argc, (const char **)argv, opts,
	    POPT_CONTEXT_POSIXMEHARDER);
	if ((rc = poptGetNextOpt(pc)) < -1) {
		diag("%s: %s", poptBadOption(pc, 0), poptStrerror(rc));
		poptFreeContext(pc);
		cli_free(&c);
		return EX_USAGE;
	}
	rest = poptGetArgs(pc);
	if (rest == NULL)
		rest = only;
	for (n = 0; rest[n]; n++)
		;
	if (n == 0) {
		usage(stderr);
		rc = EX_USAGE;
	} else if (strcmp(rest[0], "help") == 0 ||
	    strcmp(rest[0], "--help") == 0)
		rc = help(&c, n, rest);
	else {
		for (s = cmds; s->name; s++)
			if (strcmp(s->name, rest[0]) == 0)
				break;
		rc = s->name ? s->fn(&c, n, rest) : run_tool(n, rest);
	}
	poptFreeContext(pc);
	cli_free(&c);
	return rc;
}
