/*
 * rec-cat - check job records and print them in canonical form.
 *
 * Trust: reads untrusted records from files or stdin; holds no keys and
 * opens nothing but its inputs. It must never pass on a record that did
 * not parse whole: a bad record is reported and skipped, never repaired.
 */
#include <stdio.h>
#include <stdlib.h>
#include <popt.h>
#include "diag.h"
#include "loop.h"

struct opts {
	int check;
	char *field;
};

static int
handle(struct rec *r, void *ctx)
{
	const struct opts *o = ctx;
	const char *v;
	size_t i;

	if (o->check)
		return LOOP_DROP;
	if (o->field == NULL)
		return 0;
	for (i = 0; (v = rec_get_n(r, o->field, i)) != NULL; i++)
		printf("%s\n", v);
	return LOOP_DROP;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0, NULL };
	struct poptOption table[] = {
		{ "check", '\0', POPT_ARG_NONE, &o.check, 0,
		  "only check the records; print nothing", NULL },
		{ "field", '\0', POPT_ARG_STRING, &o.field, 0,
		  "print the values of header NAME, one per line", "NAME" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc;
	const char **files;
	int rc, n = 0;

	diag_init(argv[0]);
	pc = poptGetContext("rec-cat", argc, (const char **)argv, table, 0);
	poptSetOtherOptionHelp(pc, "[--check] [--field NAME] [FILE...]");
	if ((rc = poptGetNextOpt(pc)) < -1) {
		diag("%s: %s", poptBadOption(pc, 0), poptStrerror(rc));
		rc = EX_USAGE;
		goto out;
	}
	if (o.field && !rec_name_ok(o.field)) {
		diag("--field: '%s' is not a record header", o.field);
		rc = EX_USAGE;
		goto out;
	}
	files = poptGetArgs(pc);
	while (files && files[n])
		n++;
	rc = loop_records(n, files, handle, &o, stdout);
out:
	poptFreeContext(pc);
	free(o.field);
	return rc;
}
