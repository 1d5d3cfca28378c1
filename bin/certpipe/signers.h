/*
 * signers - what `certpipe ocsp` and `certpipe tsa` share: creating,
 * rotating, showing and listing a CA's delegated signers (lib/signer.h)
 * of one kind ("ocsp" or "tsa"). Each is a cli_sub function with the
 * kind added; argv[0] is the sub-command's name.
 */
#ifndef CERTPIPE_CLI_SIGNERS_H
#define CERTPIPE_CLI_SIGNERS_H
#include "cli.h"

int sgn_create(struct cli *c, const char *kind, int argc, const char **argv);
int sgn_rotate(struct cli *c, const char *kind, int argc, const char **argv);
int sgn_show(struct cli *c, const char *kind, int argc, const char **argv);
int sgn_list(struct cli *c, const char *kind, int argc, const char **argv);

#endif
