/*
 * mkcsr - test and bench helper: N certificate requests (PEM) on stdout,
 * CN "host<i>.<domain>", signed by K keys of one algorithm used in turn,
 * so a bench does not pay one openssl process per request. Not
 * installed.
 *
 * usage: mkcsr N ALG DOMAIN [K]     ALG: a keys_alg name (ec-256, rsa-2048,
 *                                   ed25519, ...); K: keys (default 1)
 */
#include <stdio.h>
#include <stdlib.h>
#include "diag.h"
#include "keys.h"
#include "num.h"
#include "x509.h"

int
main(int argc, char **argv)
{
	const struct key_alg *alg;
	struct x509_subject s = {0};
	struct buf cn = {0}, pem = {0};
	struct err e = {0};
	EVP_PKEY **keys = NULL;
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	uint64_t n, k = 1, i;
	int rc = 0;

	diag_init(argv[0]);
	if (argc < 4 || argc > 5)
		die(EX_USAGE, "usage: mkcsr N ALG DOMAIN [KEYS]");
	if (num_u64("N", argv[1], 1, 10000000, &n, &e) != 0 ||
	    (argc == 5 && num_u64("KEYS", argv[4], 1, 100000, &k, &e) != 0))
		return diag_err(&e);
	if ((alg = keys_alg(argv[2])) == NULL)
		die(EX_USAGE, "%s: unknown algorithm (%s)", argv[2],
		    keys_alg_list());
	keys = xcalloc(k, sizeof *keys);
	for (i = 0; i < k && rc == 0; i++)
		rc = keys_generate(alg, &keys[i], &e);
	for (i = 0; i < n && rc == 0; i++) {
		buf_reset(&cn);
		buf_printf(&cn, "host%llu.%s", (unsigned long long)i, argv[3]);
		s.cn = cn.p;
		if ((rc = x509_name_build(&s, &name, &e)) != 0 ||
		    (rc = x509_csr_make(keys[i % k], name, alg->digest, &req,
		    &e)) != 0)
			break;
		buf_reset(&pem);
		x509_req_pem(req, &pem);
		if (fwrite(pem.p, 1, pem.len, stdout) != pem.len)
			die(EX_IOERR, "stdout: write failed");
		X509_NAME_free(name);
		X509_REQ_free(req);
		name = NULL;
		req = NULL;
	}
	if (rc != 0)
		diag_err(&e);
	X509_NAME_free(name);
	X509_REQ_free(req);
	for (i = 0; i < k; i++)
		EVP_PKEY_free(keys[i]);
	free(keys);
	buf_free(&cn);
	buf_free(&pem);
	err_free(&e);
	if (fflush(stdout) != 0)
		die(EX_IOERR, "stdout: write failed");
	return rc;
}
