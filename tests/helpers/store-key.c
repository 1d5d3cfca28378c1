/*
 * store-key - test helper: put a PEM private key into an instance's key
 * store with keys_store (the instance's passphrase), and print the key
 * reference, as `certpipe request` does for a key it generates. Tests
 * use it to give a certificate a server-side key (certificates.key_ref)
 * before the request command exists. Not installed.
 *
 * usage: store-key HOME KEYFILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <openssl/pem.h>
#include "conf.h"
#include "diag.h"
#include "fs.h"
#include "keys.h"

int
main(int argc, char **argv)
{
	struct conf c = {0};
	struct secret pass = {0};
	struct err e = {0};
	struct buf pem = {0};
	EVP_PKEY *k = NULL;
	BIO *b = NULL;
	char *ref = NULL;
	int rc;

	diag_init(argv[0]);
	if (argc != 3)
		die(EX_USAGE, "usage: store-key HOME KEYFILE");
	if ((rc = conf_load(argv[1], &c, &e)) != 0 ||
	    (rc = secret_get(NULL, &c, &pass, &e)) != 0 ||
	    (rc = fs_read(argv[2], 65536, &pem, &e)) != 0)
		goto fail;
	b = BIO_new_mem_buf(pem.p, (int)pem.len);
	if ((k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL) {
		rc = err_ssl(&e, EX_DATAERR, "%s: not a private key", argv[2]);
		goto fail;
	}
	if ((rc = keys_store(&c, k, &pass, &ref, &e)) != 0)
		goto fail;
	printf("%s\n", ref);
	rc = 0;
	goto out;
fail:
	rc = diag_err(&e);
out:
	BIO_free(b);
	EVP_PKEY_free(k);
	secret_free(&pass);
	buf_wipe(&pem);
	conf_free(&c);
	free(ref);
	err_free(&e);
	return rc;
}
