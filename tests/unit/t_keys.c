/* t_keys - key types, passphrases and the file key store. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "keys.h"
#include "tap.h"

static void
test_algs(void)
{
	static const char *const names[] = { "rsa-2048", "rsa-3072", "rsa-4096",
	    "ec-256", "ec-384", "ec-521", "ed25519", "ed448" };
	static const char *const bad[] = { "rsa-1024", "ec-224", "dsa", "",
	    "RSA-2048", "ed25519 " };
	struct err e = {0};
	EVP_PKEY *k = NULL;
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct key_alg *a = keys_alg(names[i]);
		ok(a != NULL, "alg %s known", names[i]);
		/* RSA-4096 generation is slow; the others are checked */
		if (a == NULL || strcmp(names[i], "rsa-4096") == 0)
			continue;
		is_int(keys_generate(a, &k, &e), 0, "generate %s", names[i]);
		ok(keys_alg_of(k) == a, "keys_alg_of(%s) round trip", names[i]);
		EVP_PKEY_free(k);
		k = NULL;
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(keys_alg(bad[i]) == NULL, "alg '%s' unknown", bad[i]);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	ok(keys_alg_of(k) == NULL, "an RSA-1024 key is not accepted");
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	ok(keys_alg_of(k) == NULL, "a secp256k1 key is not accepted");
	EVP_PKEY_free(k);
	err_free(&e);
}

static void
test_store(void)
{
	char dir[] = "/tmp/t_keys.XXXXXX";
	struct conf c = {0};
	struct secret pass = {0}, wrong = {0}, got = {0};
	struct secret_src src = { NULL, -1 };
	struct err e = {0};
	struct buf path = {0}, kd = {0};
	EVP_PKEY *k = NULL, *back = NULL;
	char *ref = NULL;
	struct stat st;
	int fds[2];

	if (mkdtemp(dir) == NULL)
		return;
	c.home = dir;
	buf_printf(&kd, "%s/keys", dir);
	mkdir(kd.p, 0700);
	buf_adds(&pass.b, "correct horse battery");
	buf_adds(&wrong.b, "incorrect horse");
	keys_generate(keys_alg("ec-256"), &k, &e);
	is_int(keys_store(&c, k, &pass, &ref, &e), 0, "store");
	ok(ref && strncmp(ref, "file:keys/", 10) == 0, "ref names keys/");
	buf_printf(&path, "%s/%s", dir, ref + 5);
	stat(path.p, &st);
	is_int(st.st_mode & 0777, 0600, "key file 0600");
	is_int(keys_load(&c, ref, &pass, &back, &e), 0, "load");
	ok(back && EVP_PKEY_eq(k, back) == 1, "loaded key equals stored key");
	EVP_PKEY_free(back);
	back = NULL;
	is_int(keys_load(&c, ref, &wrong, &back, &e), EX_NOPERM,
	    "wrong passphrase refused");
	ok(strstr(err_str(&e), "incorrect") == NULL,
	    "error does not echo the passphrase");
	is_int(keys_load(&c, "file:keys/../../etc/passwd", &pass, &back, &e),
	    EX_CONFIG, "ref outside keys/ refused");
	is_int(keys_load(&c, "pkcs11:x", &pass, &back, &e), EX_CONFIG,
	    "unknown store refused");
	is_int(keys_remove(&c, ref, &e), 0, "remove");
	is_int(access(path.p, F_OK), -1, "file gone");

	/* passphrase sources */
	if (pipe(fds) == 0) {
		if (write(fds[1], "from-a-pipe-123\nignored\n", 24) != 24)
			ok(0, "write");
		close(fds[1]);
		src.fd = fds[0];
		is_int(secret_get(&src, NULL, &got, &e), 0, "passphrase from fd");
		is_str(buf_str(&got.b), "from-a-pipe-123", "first line only");
		src.fd = -1;
	}
	setenv("CERTPIPE_PASSPHRASE", "short", 1);
	is_int(secret_get(&src, NULL, &got, &e), EX_DATAERR,
	    "short passphrase refused");
	unsetenv("CERTPIPE_PASSPHRASE");
	is_int(secret_get(&src, NULL, &got, &e), EX_CONFIG,
	    "no source is a config error");
	secret_free(&pass);
	secret_free(&wrong);
	secret_free(&got);
	EVP_PKEY_free(k);
	free(ref);
	buf_reset(&path);
	buf_printf(&path, "rm -rf %s", dir);
	if (system(path.p) != 0)
		ok(0, "cleanup");
	buf_free(&path);
	buf_free(&kd);
	err_free(&e);
}

int
main(void)
{
	test_algs();
	test_store();
	return tap_done();
}
