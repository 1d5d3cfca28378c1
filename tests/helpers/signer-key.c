/*
 * signer-key - what a key holder does with lib/signer (tests/72-signer.sh):
 * signer_find + signer_key for KIND and CA in the instance of
 * $CERTPIPE_HOME (realm "default"), then writes the private key as
 * unencrypted PEM to OUTKEY (0600, for openssl in the test) and prints
 * "<certificate id> <serial hex> <chain length> <policy or ->".
 *
 *     signer-key KIND CA OUTKEY
 *
 * The passphrase comes from $CERTPIPE_PASSPHRASE or the instance's
 * passphrase file. Exit status: signer_find's / signer_key's code.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/pem.h>
#include "conf.h"
#include "db.h"
#include "diag.h"
#include "realm.h"
#include "signer.h"
#include "x509.h"

static int
write_key(const char *path, EVP_PKEY *k, struct err *e)
{
	FILE *f = NULL;
	int fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return err_set(e, EX_CANTCREAT, "%s: cannot create", path);
	}
	ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
	if (fclose(f) != 0 || !ok)
		return err_set(e, EX_IOERR, "%s: cannot write", path);
	return 0;
}

int
main(int argc, char **argv)
{
	struct secret_src src = { NULL, -1 };
	struct conf c = {0};
	struct db *db = NULL;
	struct signer s = {0};
	struct secret pass = {0};
	struct buf serial = {0};
	struct err e = {0};
	EVP_PKEY *key = NULL;
	char *home = NULL, *dbpath = NULL;
	int64_t realm = 0;
	int rc;

	diag_init("signer-key");
	if (argc != 4) {
		diag("usage: signer-key KIND CA OUTKEY");
		return EX_USAGE;
	}
	home = conf_home(NULL);
	if ((rc = conf_load(home, &c, &e)) != 0)
		goto out;
	dbpath = conf_path(&c, "certpipe.db");
	if ((rc = db_open(dbpath, DB_OPEN_EXISTING, &db, &e)) != 0 ||
	    (rc = realm_id(db, "default", &realm, &e)) != 0 ||
	    (rc = signer_find(db, realm, argv[2], argv[1], &s, &e)) != 0 ||
	    (rc = secret_get(&src, &c, &pass, &e)) != 0 ||
	    (rc = signer_key(&c, &s, &pass, &key, &e)) != 0 ||
	    (rc = write_key(argv[3], key, &e)) != 0)
		goto out;
	x509_serial_hex(s.cert, &serial);
	printf("%lld %s %d %s\n", (long long)s.cert_id, serial.p,
	    sk_X509_num(s.chain), s.policy_oid ? s.policy_oid : "-");
out:
	if (rc != 0)
		diag_err(&e);
	EVP_PKEY_free(key);
	signer_free(&s);
	secret_free(&pass);
	buf_free(&serial);
	db_close(db);
	conf_free(&c);
	free(dbpath);
	free(home);
	err_free(&e);
	return rc;
}
