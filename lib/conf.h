/*
 * conf - the instance: where it lives and its settings (certpipe.conf).
 *
 * The home is chosen as: explicit --home, else $CERTPIPE_HOME, else the
 * checkout's spool/ when the program runs from <checkout>/build.../bin/
 * (marked by spool/.certpipe-tree), else CERTPIPE_STATEDIR.
 *
 * certpipe.conf is "key = value" lines, '#' comments; unknown keys are an
 * error (a typo must not silently mean a default). See certpipe.conf(5).
 *
 * Contract: conf_load returns 0 or a sysexits code with e filled;
 * conf_free releases everything (conf_free on a zeroed struct is fine).
 */
#ifndef CERTPIPE_CONF_H
#define CERTPIPE_CONF_H
#include <stdint.h>
#include "err.h"

struct conf {
	char *home;		/* absolute path of the instance */
	char *base_url;		/* e.g. http://pki.example.test */
	char *passphrase_file;	/* absolute, or NULL */
	int64_t signer_renew_days;	/* renew OCSP/TSA signers this many
					   days before they expire; -1: a
					   third of their lifetime */
};

/* Resolve the home directory (see above) into a malloc'd absolute path. */
char *conf_home(const char *opt_home);
int conf_load(const char *home, struct conf *c, struct err *e);
/* Write a fresh certpipe.conf (fails if one exists). */
int conf_write_default(const char *home, const char *base_url,
    int with_passfile, struct err *e);
void conf_free(struct conf *c);
/* malloc'd "<home>/<rel>". */
char *conf_path(const struct conf *c, const char *rel);

#endif
