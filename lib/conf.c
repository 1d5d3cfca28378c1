/* conf - instance home and certpipe.conf (see conf.h, certpipe.conf(5)). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "conf.h"
#include "fs.h"
#include "num.h"

#define CONF_MAX (64 * 1024)

static char *
abspath(const char *p)
{
	char cwd[PATH_MAX];
	struct buf b = {0};
	char *r;

	if ((r = realpath(p, NULL)) != NULL)
		return r;
	if (p[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
		return xstrdup(p);
	buf_printf(&b, "%s/%s", cwd, p);
	return buf_steal(&b);
}

/* The checkout's spool/, when this program runs from <tree>/build.../bin/. */
static char *
tree_home(void)
{
	char exe[PATH_MAX];
	struct buf b = {0};
	ssize_t n;
	char *s;
	int i;

	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	/* strip "/<prog>", "/bin", "/build..." */
	for (i = 0; i < 3; i++) {
		if ((s = strrchr(exe, '/')) == NULL)
			return NULL;
		if (i == 1 && strcmp(s, "/bin") != 0)
			return NULL;
		if (i == 2 && strncmp(s, "/build", 6) != 0)
			return NULL;
		*s = '\0';
	}
	buf_printf(&b, "%s/spool/.certpipe-tree", exe);
	if (access(b.p, F_OK) != 0) {
		buf_free(&b);
		return NULL;
	}
	buf_reset(&b);
	buf_printf(&b, "%s/spool", exe);
	return buf_steal(&b);
}

char *
conf_home(const char *opt_home)
{
	const char *env;
	char *t;

	if (opt_home && *opt_home)
		return abspath(opt_home);
	if ((env = getenv("CERTPIPE_HOME")) != NULL && *env)
		return abspath(env);
	if ((t = tree_home()) != NULL)
		return t;
	return xstrdup(CERTPIPE_STATEDIR);
}

char *
conf_path(const struct conf *c, const char *rel)
{
	struct buf b = {0};

	if (rel[0] == '/')
		return xstrdup(rel);
	buf_printf(&b, "%s/%s", c->home, rel);
	return buf_steal(&b);
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static int
setting(struct conf *c, const char *k, const char *v, struct err *e)
{
	if (strcmp(k, "base_url") == 0) {
		free(c->base_url);
		c->base_url = xstrdup(v);
	} else if (strcmp(k, "passphrase_file") == 0) {
		free(c->passphrase_file);
		c->passphrase_file = *v ? conf_path(c, v) : NULL;
	} else if (strcmp(k, "signer_renew_days") == 0) {
		if (num_i64(k, v, 0, 3650, &c->signer_renew_days, e) != 0)
			return e->code = EX_CONFIG;
	} else
		return err_set(e, EX_CONFIG, "unknown setting '%s'", k);
	return 0;
}

int
conf_load(const char *home, struct conf *c, struct err *e)
{
	struct buf path = {0}, text = {0};
	char *line, *next, *eq;
	int rc, lineno = 0;

	memset(c, 0, sizeof *c);
	c->home = xstrdup(home);
	c->base_url = xstrdup("http://pki.invalid");
	c->signer_renew_days = -1;
	buf_printf(&path, "%s/certpipe.conf", home);
	if ((rc = fs_read(path.p, CONF_MAX, &text, e)) != 0) {
		if (rc == EX_NOINPUT)
			err_set(e, EX_CONFIG, "%s: no such instance "
			    "(run 'certpipe init' first)", home);
		rc = e->code;
		goto out;
	}
	for (line = text.p; line && *line; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			rc = err_set(e, EX_CONFIG, "%s:%d: expected 'key = value'",
			    path.p, lineno);
			goto out;
		}
		*eq = '\0';
		if ((rc = setting(c, trim(line), trim(eq + 1), e)) != 0) {
			err_prefix(e, "%s:%d", path.p, lineno);
			goto out;
		}
	}
	rc = 0;
out:
	buf_free(&path);
	buf_free(&text);
	if (rc != 0)
		conf_free(c);
	return rc;
}

int
conf_write_default(const char *home, const char *base_url, int with_passfile,
    struct err *e)
{
	struct buf path = {0}, text = {0};
	int rc;

	buf_printf(&path, "%s/certpipe.conf", home);
	if (access(path.p, F_OK) == 0) {
		rc = err_set(e, EX_CANTCREAT, "%s: exists", path.p);
		goto out;
	}
	buf_printf(&text,
	    "# certpipe instance settings: see certpipe.conf(5).\n"
	    "\n"
	    "# Base of the URLs written into certificates (AIA, OCSP, CRL DP).\n"
	    "base_url = %s\n"
	    "\n"
	    "# File holding the passphrase that encrypts CA keys at rest\n"
	    "# (first line). Empty: give it per command with --passphrase-fd,\n"
	    "# --passphrase-file or $CERTPIPE_PASSPHRASE.\n"
	    "passphrase_file = %s\n",
	    base_url, with_passfile ? "keys/passphrase" : "");
	rc = fs_write_atomic(path.p, text.p, text.len, 0644, e);
out:
	buf_free(&path);
	buf_free(&text);
	return rc;
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	free(c->home);
	free(c->base_url);
	free(c->passphrase_file);
	memset(c, 0, sizeof *c);
}
