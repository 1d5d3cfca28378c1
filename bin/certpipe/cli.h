/*
 * cli - what every `certpipe` subcommand shares: the common options
 * (--home, --realm, --json), one option parser, opening the instance,
 * writing audit events and output.
 *
 * A subcommand is int cmd_X(struct cli *c, int argc, const char **argv)
 * with argv[0] its own name; it returns 0 or a sysexits code and prints
 * its own one-line diagnostics (diag_err). Options are parsed with
 * cli_parse, which puts positional arguments in c->args.
 */
#ifndef CERTPIPE_CLI_H
#define CERTPIPE_CLI_H
#include <stdint.h>
#include <popt.h>
#include "conf.h"
#include "db.h"
#include "json.h"
#include "keys.h"

struct cli {
	/* common options (popt-owned strings, freed by cli_free) */
	char *home_opt;
	char *realm;			/* NULL: "default" */
	int json;
	/* passphrase options, for commands that open keys */
	char *passfile;
	int passfd;			/* -1: not given */
	struct poptOption common[4];
	struct poptOption passopts[3];
	/* positional arguments of the last cli_parse */
	char **args;
	int nargs;
	/* filled by cli_open */
	struct conf conf;
	struct db *db;
	int64_t realm_id;
	char *actor;
};

#define CLI_COMMON(c) \
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, (c)->common, 0, \
	  "Common options:", NULL }
#define CLI_PASSPHRASE(c) \
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, (c)->passopts, 0, \
	  "Passphrase (never on the command line):", NULL }

void cli_init(struct cli *c);
void cli_free(struct cli *c);
/* Parse argv with opts; "usage" is the text after the command name in
 * the usage line (e.g. "[OPTION...] NAME"). Exactly min..max positional
 * arguments are accepted (max -1: any). --help prints help and exits 0.
 * Returns 0 or EX_USAGE (diagnostic printed). */
int cli_parse(struct cli *c, const char *name, int argc, const char **argv,
    struct poptOption *opts, const char *usage, int min, int max);
/* Open the instance, its database and the realm. Returns 0 or a code
 * (diagnostic printed). */
int cli_open(struct cli *c);
const char *cli_realm(const struct cli *c);
/* The passphrase from the options / environment / instance. */
int cli_secret(struct cli *c, struct secret *s, struct err *e);
/* Write an audit event in the current transaction. */
int cli_audit(struct cli *c, const char *event, const char *object,
    const char *outcome, const char *detail, struct err *e);
/* Write b to stdout; EX_IOERR (diagnostic printed) on failure. */
int cli_print(const struct buf *b);
/* One row of a list: with --json an object into w, else a line onto out. */
typedef void cli_row_fn(const struct cli *c, struct db_stmt *st,
    struct jw *w, struct buf *out);
/* Print every row of st (prepared; finished here) with row: with --json
 * one JSON array, else after what out already holds (the header line).
 * Releases out. Returns 0 or a sysexits code (diagnostic printed). */
int cli_list(struct cli *c, struct db_stmt *st, struct buf *out,
    cli_row_fn *row);
/* Write b atomically to outfile (mode 0644), or to stdout when outfile is
 * NULL; diagnostic printed on failure. */
int cli_output(const struct buf *b, const char *outfile);
/* Repeatable options kept in the order given (--rule, --san, template
 * settings): a POPT_ARG_CALLBACK entry with cli_seen_cb and the struct
 * as its descrip collects every option of its table. */
struct cli_seen {
	size_t n;
	char **key, **val;		/* long option name, its value */
};
void cli_seen_cb(poptContext pc, enum poptCallbackReason why,
    const struct poptOption *opt, const char *arg, const void *data);
void cli_seen_free(struct cli_seen *s);

/* Run a sub-subcommand from a table; prints the table on "help". */
struct cli_sub {
	const char *name;
	int (*fn)(struct cli *c, int argc, const char **argv);
	const char *summary;
};
int cli_dispatch(struct cli *c, const char *group, const struct cli_sub *t,
    int argc, const char **argv);

/* The command groups. */
int cmd_acme(struct cli *c, int argc, const char **argv);
int cmd_alert(struct cli *c, int argc, const char **argv);
int cmd_approve(struct cli *c, int argc, const char **argv);
int cmd_audit(struct cli *c, int argc, const char **argv);
int cmd_ca(struct cli *c, int argc, const char **argv);
int cmd_cert(struct cli *c, int argc, const char **argv);
int cmd_decline(struct cli *c, int argc, const char **argv);
int cmd_domain(struct cli *c, int argc, const char **argv);
int cmd_init(struct cli *c, int argc, const char **argv);
int cmd_ocsp(struct cli *c, int argc, const char **argv);
int cmd_order(struct cli *c, int argc, const char **argv);
int cmd_policy(struct cli *c, int argc, const char **argv);
int cmd_realm(struct cli *c, int argc, const char **argv);
int cmd_renew(struct cli *c, int argc, const char **argv);
int cmd_request(struct cli *c, int argc, const char **argv);
int cmd_status(struct cli *c, int argc, const char **argv);
int cmd_submit(struct cli *c, int argc, const char **argv);
int cmd_template(struct cli *c, int argc, const char **argv);
int cmd_tsa(struct cli *c, int argc, const char **argv);

#endif
