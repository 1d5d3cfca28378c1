/*
 * issue-leaf - test helper: issue one end-entity certificate from a CA of
 * an instance with the library calls `sign` uses (ca_open_signer,
 * tmpl_load, issue_cert), for tests that need an issued certificate
 * before the issuance pipeline exists. Not installed.
 *
 * usage: issue-leaf HOME REALM CA TEMPLATE CSRFILE DNSNAME [--record]
 * The passphrase comes from the instance (passphrase_file) or
 * $CERTPIPE_PASSPHRASE. The certificate (PEM) goes to stdout; with
 * --record it is also stored in the certificates table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include "ca.h"
#include "cert.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "diag.h"
#include "fs.h"
#include "issue.h"
#include "keys.h"
#include "realm.h"
#include "tmpl.h"
#include "x509.h"

int
main(int argc, char **argv)
{
	struct conf c = {0};
	struct db *db = NULL;
	struct ca ca = {0};
	struct tmpl t = {0};
	struct secret pass = {0};
	struct err e = {0};
	struct buf csr = {0}, pem = {0}, san = {0};
	struct issue_req in;
	X509 *cacert = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL, *pub = NULL;
	X509_REQ *req = NULL;
	BIO *b = NULL;
	int64_t realm;
	char *dbpath = NULL;
	const char *sans[1];
	int rc;

	diag_init(argv[0]);
	if (argc < 7)
		die(EX_USAGE, "usage: issue-leaf HOME REALM CA TEMPLATE CSRFILE "
		    "DNSNAME [--record]");
	if ((rc = conf_load(argv[1], &c, &e)) != 0)
		goto fail;
	dbpath = conf_path(&c, "certpipe.db");
	if ((rc = db_open(dbpath, DB_OPEN_EXISTING, &db, &e)) != 0 ||
	    (rc = realm_id(db, argv[2], &realm, &e)) != 0 ||
	    (rc = ca_load(db, realm, argv[3], &ca, &e)) != 0 ||
	    (rc = tmpl_load(db, realm, argv[4], &t, &e)) != 0 ||
	    (rc = secret_get(NULL, &c, &pass, &e)) != 0 ||
	    (rc = ca_open_signer(&c, &ca, &pass, &cacert, &cakey, &e)) != 0 ||
	    (rc = fs_read(argv[5], 65536, &csr, &e)) != 0)
		goto fail;
	b = BIO_new_mem_buf(csr.p, (int)csr.len);
	if ((req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL)) == NULL ||
	    (pub = X509_REQ_get_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pub) != 1) {
		rc = err_ssl(&e, EX_DATAERR, "%s: bad CSR", argv[5]);
		goto fail;
	}
	buf_printf(&san, "DNS:%s", argv[6]);
	sans[0] = san.p;
	memset(&in, 0, sizeof in);
	in.tmpl = &t;
	in.ca_name = ca.name;
	in.ca_cert = cacert;
	in.ca_key = cakey;
	in.base_url = c.base_url;
	in.pub = pub;
	in.subject = X509_REQ_get_subject_name(req);
	in.san = sans;
	in.nsan = 1;
	in.now = clock_now();
	if ((rc = issue_cert(&in, &x, NULL, &e)) != 0)
		goto fail;
	x509_pem(x, &pem);
	fwrite(pem.p, 1, pem.len, stdout);
	if (argc > 7 && strcmp(argv[7], "--record") == 0 &&
	    (rc = cert_store(db, realm, ca.id, t.id, x, "managed", NULL,
	    &e)) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	rc = diag_err(&e);
out:
	BIO_free(b);
	X509_REQ_free(req);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(cakey);
	X509_free(cacert);
	X509_free(x);
	secret_free(&pass);
	ca_free(&ca);
	tmpl_free(&t);
	db_close(db);
	conf_free(&c);
	free(dbpath);
	buf_free(&csr); buf_free(&pem); buf_free(&san);
	err_free(&e);
	return rc;
}
