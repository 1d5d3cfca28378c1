/* init, status - create/upgrade an instance, and summarise it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "cli.h"
#include "audit.h"
#include "clock.h"
#include "diag.h"
#include "fs.h"
#include "json.h"
#include "spool.h"
#include "x509.h"

/* A fresh random passphrase file (32 random bytes, base64), 0600. */
static int
make_passfile(const char *path, struct err *e)
{
	unsigned char raw[32];
	unsigned char text[64];
	int n;

	if (access(path, F_OK) == 0)
		return 0;
	if (RAND_bytes(raw, sizeof raw) != 1)
		return err_set(e, EX_SOFTWARE, "no randomness for the passphrase");
	n = EVP_EncodeBlock(text, raw, sizeof raw);
	text[n++] = '\n';
	OPENSSL_cleanse(raw, sizeof raw);
	n = fs_write_atomic(path, text, (size_t)n, 0600, e);
	OPENSSL_cleanse(text, sizeof text);
	return n;
}

static int
mkdir_mode(const char *home, const char *rel, mode_t mode, struct err *e)
{
	struct buf b = {0};
	int rc;

	buf_printf(&b, "%s/%s", home, rel);
	rc = fs_mkdirs(b.p, mode, e);
	/* an existing keys/ made by someone else's umask is tightened */
	if (rc == 0 && chmod(b.p, mode) < 0)
		rc = err_set(e, EX_NOPERM, "%s: chmod: %s", b.p, strerror(errno));
	buf_free(&b);
	return rc;
}

int
cmd_init(struct cli *c, int argc, const char **argv)
{
	char *base_url = NULL;
	int no_passfile = 0;
	struct poptOption opts[] = {
		{ "base-url", '\0', POPT_ARG_STRING, &base_url, 0,
		  "base of the AIA, OCSP and CRL URLs in certificates "
		  "(new instances; default http://pki.invalid)", "URL" },
		{ "no-passphrase-file", '\0', POPT_ARG_NONE, &no_passfile, 0,
		  "do not generate keys/passphrase; give the passphrase per "
		  "command instead", NULL },
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	struct err e = {0};
	struct db *db = NULL;
	char *home = NULL, *dbpath = NULL;
	struct buf path = {0};
	int rc, from = 0, to = 0, fresh;
	char *actor = NULL;

	if ((rc = cli_parse(c, "certpipe init", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0)
		goto out;
	if (base_url && (rc = x509_url_check("--base-url", base_url, &e)) != 0)
		goto out;
	home = conf_home(c->home_opt);
	if ((rc = fs_mkdirs(home, 0755, &e)) != 0 ||
	    (rc = mkdir_mode(home, "keys", 0700, &e)) != 0 ||
	    (rc = mkdir_mode(home, "pub", 0755, &e)) != 0)
		goto out;
	buf_printf(&path, "%s/certpipe.conf", home);
	fresh = access(path.p, F_OK) != 0;
	if (fresh && (rc = conf_write_default(home,
	    base_url ? base_url : "http://pki.invalid", !no_passfile, &e)) != 0)
		goto out;
	if (!fresh && base_url)
		diag("%s exists: base_url unchanged (edit the file)", path.p);
	if ((rc = conf_load(home, &c->conf, &e)) != 0)
		goto out;
	if (c->conf.passphrase_file &&
	    (rc = make_passfile(c->conf.passphrase_file, &e)) != 0)
		goto out;
	if ((rc = spool_init(home, &e)) != 0)
		goto out;
	dbpath = conf_path(&c->conf, "certpipe.db");
	if ((rc = db_open(dbpath, DB_OPEN_CREATE, &db, &e)) != 0 ||
	    (rc = db_migrate(db, &from, &to, &e)) != 0)
		goto out;
	if (chmod(dbpath, 0600) < 0) {
		rc = err_set(&e, EX_NOPERM, "%s: chmod: %s", dbpath,
		    strerror(errno));
		goto out;
	}
	if (from != to) {
		struct audit_ev ev = { from == 0 ? "instance.created" :
		    "instance.upgraded", NULL, "default", "instance", "success",
		    NULL };
		struct buf d = {0};
		actor = audit_actor();
		ev.actor = actor;
		buf_printf(&d, "schema %d -> %d", from, to);
		ev.detail = d.p;
		if ((rc = db_begin(db, &e)) == 0 &&
		    (rc = audit_log(db, &ev, &e)) == 0)
			rc = db_commit(db, &e);
		if (rc != 0)
			db_rollback(db);
		buf_free(&d);
		if (rc != 0)
			goto out;
	}
	printf("%s: instance %s (schema %d%s)\n", from == 0 ? "created" :
	    from != to ? "upgraded" : "ready", home, to,
	    from != 0 && from != to ? ", upgraded" : "");
	rc = 0;
out:
	if (rc != 0 && e.code)
		diag_err(&e);
	db_close(db);
	free(home);
	free(dbpath);
	free(base_url);
	free(actor);
	buf_free(&path);
	err_free(&e);
	return rc;
}

static int
count(struct cli *c, const char *sql, int64_t *n, struct err *e)
{
	return db_int64(c->db, n, e, sql, "i", c->realm_id);
}

int
cmd_status(struct cli *c, int argc, const char **argv)
{
	struct poptOption opts[] = {
		CLI_COMMON(c),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	static const struct {
		const char *label, *sql;
	} counts[] = {
		{ "templates", "SELECT count(*) FROM templates WHERE realm_id = ?" },
		{ "domains", "SELECT count(*) FROM domains WHERE realm_id = ?" },
		{ "certificates", "SELECT count(*) FROM certificates "
		  "WHERE realm_id = ?" },
	};
	struct err e = {0};
	struct spool *sp = NULL;
	struct db_stmt *st = NULL;
	struct buf out = {0};
	struct jw w;
	const char *const *q;
	size_t i, depth;
	int64_t n;
	int rc;

	if ((rc = cli_parse(c, "certpipe status", argc, argv, opts,
	    "[OPTION...]", 0, 0)) != 0 || (rc = cli_open(c)) != 0)
		goto out;
	if ((rc = spool_open(c->conf.home, &sp, &e)) != 0)
		goto fail;
	jw_init(&w, &out);
	if (c->json) {
		jw_obj(&w);
		jw_kstr(&w, "home", c->conf.home);
		jw_kstr(&w, "realm", cli_realm(c));
		jw_kint(&w, "schema", db_schema_latest());
		jw_kstr(&w, "base_url", c->conf.base_url);
		jw_key(&w, "cas");
		jw_arr(&w);
	} else
		buf_printf(&out, "instance  %s\nrealm     %s\nschema    %d\n"
		    "base_url  %s\n\nCAs:\n", c->conf.home, cli_realm(c),
		    db_schema_latest(), c->conf.base_url);
	if ((rc = db_prep(c->db, &st, &e, "SELECT name, status, key_alg, "
	    "not_after FROM cas WHERE realm_id = ? ORDER BY name", "i",
	    c->realm_id)) != 0)
		goto fail;
	while ((rc = db_step(st, &e)) == 1) {
		if (c->json) {
			jw_obj(&w);
			jw_kstr(&w, "name", db_text(st, 0));
			jw_kstr(&w, "status", db_text(st, 1));
			jw_kstr(&w, "key_alg", db_text(st, 2));
			jw_kstr(&w, "not_after", db_text(st, 3));
			jw_end(&w);
		} else
			buf_printf(&out, "  %-24s %-8s %-8s %s\n", db_text(st, 0),
			    db_text(st, 1), db_text(st, 2),
			    db_text(st, 3) ? db_text(st, 3) : "-");
	}
	if (rc < 0)
		goto fail;
	if (c->json)
		jw_end(&w);
	else
		buf_adds(&out, "\ncounts:\n");
	for (i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		if ((rc = count(c, counts[i].sql, &n, &e)) != 0)
			goto fail;
		if (c->json)
			jw_kint(&w, counts[i].label, n);
		else
			buf_printf(&out, "  %-13s %lld\n", counts[i].label,
			    (long long)n);
	}
	if (c->json) {
		jw_key(&w, "queues");
		jw_obj(&w);
	} else
		buf_adds(&out, "\nqueues:\n");
	for (q = spool_queues(); *q; q++) {
		if ((rc = spool_count(sp, *q, &depth, &e)) != 0)
			goto fail;
		if (c->json)
			jw_kint(&w, *q, (int64_t)depth);
		else
			buf_printf(&out, "  %-13s %zu\n", *q, depth);
	}
	if (c->json) {
		jw_end(&w);
		jw_end(&w);
		buf_addc(&out, '\n');
	}
	rc = cli_print(&out);
	goto out;
fail:
	rc = diag_err(&e);
out:
	db_finish(st);
	spool_close(sp);
	buf_free(&out);
	err_free(&e);
	return rc;
}
