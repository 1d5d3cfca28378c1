/*
 * tsa - `certpipe tsa`: a CA's timestamping authority certificate
 * (lib/signer.h): create, rotate, show, list. The work is in signers.c,
 * shared with `certpipe ocsp`.
 */
#include "cli.h"
#include "signers.h"

static int
tsa_create(struct cli *c, int argc, const char **argv)
{
	return sgn_create(c, "tsa", argc, argv);
}

static int
tsa_rotate(struct cli *c, int argc, const char **argv)
{
	return sgn_rotate(c, "tsa", argc, argv);
}

static int
tsa_show(struct cli *c, int argc, const char **argv)
{
	return sgn_show(c, "tsa", argc, argv);
}

static int
tsa_list(struct cli *c, int argc, const char **argv)
{
	return sgn_list(c, "tsa", argc, argv);
}

int
cmd_tsa(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", tsa_create, "issue the CA's timestamping "
		  "certificate and key" },
		{ "list", tsa_list, "list timestamping certificates" },
		{ "rotate", tsa_rotate, "replace the active one by a new "
		  "certificate with a new key" },
		{ "show", tsa_show, "show the active one, or --pem it" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "tsa", subs, argc, argv);
}
