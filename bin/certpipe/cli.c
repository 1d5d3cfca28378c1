/* cli - shared plumbing of the certpipe subcommands (see cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "audit.h"
#include "cli.h"
#include "diag.h"
#include "fs.h"
#include "realm.h"

void
cli_init(struct cli *c)
{
	struct poptOption common[] = {
		{ "home", '\0', POPT_ARG_STRING, &c->home_opt, 0,
		  "instance directory (default: $CERTPIPE_HOME, the "
		  "checkout's spool/, " CERTPIPE_STATEDIR ")", "DIR" },
		{ "json", '\0', POPT_ARG_NONE, &c->json, 0,
		  "print JSON instead of text", NULL },
		{ "realm", '\0', POPT_ARG_STRING, &c->realm, 0,
		  "realm to act in (default: default)", "NAME" },
		POPT_TABLEEND
	};
	struct poptOption pass[] = {
		{ "passphrase-fd", '\0', POPT_ARG_INT, &c->passfd, 0,
		  "read the key passphrase from file descriptor FD", "FD" },
		{ "passphrase-file", '\0', POPT_ARG_STRING, &c->passfile, 0,
		  "read the key passphrase from FILE", "FILE" },
		POPT_TABLEEND
	};

	memset(c, 0, sizeof *c);
	c->passfd = -1;
	memcpy(c->common, common, sizeof common);
	memcpy(c->passopts, pass, sizeof pass);
}

static void
free_args(struct cli *c)
{
	int i;

	for (i = 0; i < c->nargs; i++)
		free(c->args[i]);
	free(c->args);
	c->args = NULL;
	c->nargs = 0;
}

void
cli_free(struct cli *c)
{
	free_args(c);
	free(c->home_opt);
	free(c->realm);
	free(c->passfile);
	free(c->actor);
	db_close(c->db);
	conf_free(&c->conf);
	c->home_opt = c->realm = c->passfile = c->actor = NULL;
	c->db = NULL;
}

int
cli_parse(struct cli *c, const char *name, int argc, const char **argv,
    struct poptOption *opts, const char *usage, int min, int max)
{
	poptContext pc;
	const char *a;
	int rc;

	const char **av;

	free_args(c);
	/* popt prints argv[0] in the usage line: make it the full command */
	av = xcalloc((size_t)argc + 1, sizeof *av);
	memcpy(av, argv, sizeof *av * (size_t)argc);
	av[0] = name;
	pc = poptGetContext(name, argc, av, opts, 0);
	poptSetOtherOptionHelp(pc, usage);
	while ((rc = poptGetNextOpt(pc)) > 0)
		;
	if (rc < -1) {
		/* diag already says "certpipe: " */
		diag("%s: %s: %s", strncmp(name, "certpipe ", 9) == 0 ?
		    name + 9 : name, poptBadOption(pc, 0), poptStrerror(rc));
		poptFreeContext(pc);
		free(av);
		return EX_USAGE;
	}
	while ((a = poptGetArg(pc)) != NULL) {
		c->args = xrealloc(c->args, sizeof *c->args * (size_t)(c->nargs + 1));
		c->args[c->nargs++] = xstrdup(a);
	}
	poptFreeContext(pc);
	free(av);
	if (c->nargs < min || (max >= 0 && c->nargs > max)) {
		diag("usage: %s %s", name, usage);	/* the whole command */
		return EX_USAGE;
	}
	return 0;
}

const char *
cli_realm(const struct cli *c)
{
	return c->realm ? c->realm : REALM_DEFAULT;
}

int
cli_open(struct cli *c)
{
	struct err e = {0};
	char *home = NULL, *dbpath = NULL;
	int rc, from = 0, latest = db_schema_latest();
	int64_t v;

	home = conf_home(c->home_opt);
	if ((rc = conf_load(home, &c->conf, &e)) != 0)
		goto out;
	dbpath = conf_path(&c->conf, "certpipe.db");
	if ((rc = db_open(dbpath, DB_OPEN_EXISTING, &c->db, &e)) != 0)
		goto out;
	if ((rc = db_int64(c->db, &v, &e, "PRAGMA user_version", "")) != 0)
		goto out;
	from = (int)v;
	if (from > latest) {
		rc = err_set(&e, EX_CONFIG, "%s: database schema %d is newer "
		    "than this build knows (%d): use a newer certpipe", dbpath,
		    from, latest);
		goto out;
	}
	if (from < latest) {
		rc = err_set(&e, EX_CONFIG, "%s: database schema %d, this build "
		    "wants %d (run 'certpipe init' to upgrade)", dbpath, from,
		    latest);
		goto out;
	}
	if ((rc = realm_id(c->db, cli_realm(c), &c->realm_id, &e)) != 0)
		goto out;
	c->actor = audit_actor();
	rc = 0;
out:
	if (rc != 0)
		diag_err(&e);
	free(home);
	free(dbpath);
	err_free(&e);
	return rc;
}

int
cli_secret(struct cli *c, struct secret *s, struct err *e)
{
	struct secret_src src = { c->passfile, c->passfd };

	return secret_get(&src, &c->conf, s, e);
}

int
cli_audit(struct cli *c, const char *event, const char *object,
    const char *outcome, const char *detail, struct err *e)
{
	struct audit_ev ev = { event, c->actor, cli_realm(c), object, outcome,
	    detail };

	return audit_log(c->db, &ev, e);
}

int
cli_print(const struct buf *b)
{
	if (b->len > 0 && fwrite(b->p, 1, b->len, stdout) != b->len)
		goto bad;
	if (fflush(stdout) != 0)
		goto bad;
	return 0;
bad:
	diag("stdout: write failed");
	return EX_IOERR;
}

int
cli_list(struct cli *c, struct db_stmt *st, struct buf *out, cli_row_fn *row)
{
	struct err e = {0};
	struct jw w;
	int rc;

	jw_init(&w, out);
	if (c->json)
		jw_arr(&w);
	while ((rc = db_step(st, &e)) == 1)
		row(c, st, &w, out);
	if (rc < 0)
		rc = diag_err(&e);
	else {
		if (c->json) {
			jw_end(&w);
			buf_addc(out, '\n');
		}
		rc = cli_print(out);
	}
	db_finish(st);
	buf_free(out);
	err_free(&e);
	return rc;
}

int
cli_output(const struct buf *b, const char *outfile)
{
	struct err e = {0};
	int rc;

	if (outfile == NULL)
		return cli_print(b);
	if ((rc = fs_write_atomic(outfile, buf_str(b), b->len, 0644, &e)) != 0)
		diag_err(&e);
	err_free(&e);
	return rc;
}

int
cli_dispatch(struct cli *c, const char *group, const struct cli_sub *t,
    int argc, const char **argv)
{
	const struct cli_sub *s;

	if (argc < 2 || strcmp(argv[1], "help") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		printf("usage: certpipe %s COMMAND [OPTION...]\n\n", group);
		for (s = t; s->name; s++)
			printf("  %-10s %s\n", s->name, s->summary);
		printf("\n'certpipe help %s COMMAND' shows a command's options.\n",
		    group);
		return argc < 2 ? EX_USAGE : 0;
	}
	for (s = t; s->name; s++)
		if (strcmp(s->name, argv[1]) == 0)
			return s->fn(c, argc - 1, argv + 1);
	diag("%s: unknown command '%s' (try 'certpipe help %s')", group,
	    argv[1], group);
	return EX_USAGE;
}

void
cli_seen_cb(poptContext pc, enum poptCallbackReason why,
    const struct poptOption *opt, const char *arg, const void *data)
{
	struct cli_seen *s = (struct cli_seen *)data;

	if (why != POPT_CALLBACK_REASON_OPTION || opt->longName == NULL)
		return;
	s->key = xrealloc(s->key, sizeof *s->key * (s->n + 1));
	s->val = xrealloc(s->val, sizeof *s->val * (s->n + 1));
	s->key[s->n] = xstrdup(opt->longName);
	s->val[s->n] = xstrdup(arg ? arg : "");
	s->n++;
}

void
cli_seen_free(struct cli_seen *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->key[i]);
		free(s->val[i]);
	}
	free(s->key);
	free(s->val);
	memset(s, 0, sizeof *s);
}
