/*
 * ocsp - `certpipe ocsp`: a CA's delegated OCSP responder certificate
 * (lib/signer.h): create, rotate, show, list. The work is in signers.c,
 * shared with `certpipe tsa`.
 */
#include "cli.h"
#include "signers.h"

static int
ocsp_create(struct cli *c, int argc, const char **argv)
{
	return sgn_create(c, "ocsp", argc, argv);
}

static int
ocsp_rotate(struct cli *c, int argc, const char **argv)
{
	return sgn_rotate(c, "ocsp", argc, argv);
}

static int
ocsp_show(struct cli *c, int argc, const char **argv)
{
	return sgn_show(c, "ocsp", argc, argv);
}

static int
ocsp_list(struct cli *c, int argc, const char **argv)
{
	return sgn_list(c, "ocsp", argc, argv);
}

int
cmd_ocsp(struct cli *c, int argc, const char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", ocsp_create, "issue the CA's OCSP responder "
		  "certificate and key" },
		{ "list", ocsp_list, "list OCSP responder certificates" },
		{ "rotate", ocsp_rotate, "replace the active one by a new "
		  "certificate with a new key" },
		{ "show", ocsp_show, "show the active one, or --pem it" },
		{ NULL, NULL, NULL }
	};

	return cli_dispatch(c, "ocsp", subs, argc, argv);
}
