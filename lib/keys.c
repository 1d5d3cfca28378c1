/* keys - key generation, passphrases and the key store (see keys.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <uuid/uuid.h>
#include "fs.h"
#include "keys.h"

#define PASS_MIN 8
#define PASS_MAX 1024
#define KEYFILE_MAX (64 * 1024)

static const struct key_alg algs[] = {
	{ "rsa-2048", EVP_PKEY_RSA, 2048, NULL, "sha256" },
	{ "rsa-3072", EVP_PKEY_RSA, 3072, NULL, "sha256" },
	{ "rsa-4096", EVP_PKEY_RSA, 4096, NULL, "sha256" },
	{ "ec-256", EVP_PKEY_EC, 256, "P-256", "sha256" },
	{ "ec-384", EVP_PKEY_EC, 384, "P-384", "sha384" },
	{ "ec-521", EVP_PKEY_EC, 521, "P-521", "sha512" },
	{ "ed25519", EVP_PKEY_ED25519, 0, NULL, NULL },
	{ "ed448", EVP_PKEY_ED448, 0, NULL, NULL },
};
#define NALGS (sizeof algs / sizeof algs[0])

const struct key_alg *
keys_alg(const char *name)
{
	size_t i;

	for (i = 0; name && i < NALGS; i++)
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
	return NULL;
}

const char *
keys_alg_list(void)
{
	return "rsa-2048, rsa-3072, rsa-4096, ec-256, ec-384, ec-521, "
	    "ed25519, ed448";
}

const struct key_alg *
keys_alg_of(const EVP_PKEY *k)
{
	char group[64];
	size_t i, glen = 0;
	int type = EVP_PKEY_get_base_id(k), bits = EVP_PKEY_get_bits(k);
	const char *want = NULL;

	if (type == EVP_PKEY_EC) {
		if (!EVP_PKEY_get_utf8_string_param(k,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen))
			return NULL;
		/* OpenSSL names them prime256v1 / secp384r1 / secp521r1 */
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0)
			want = "ec-256";
		else if (strcmp(group, "secp384r1") == 0 ||
		    strcmp(group, "P-384") == 0)
			want = "ec-384";
		else if (strcmp(group, "secp521r1") == 0 ||
		    strcmp(group, "P-521") == 0)
			want = "ec-521";
		return keys_alg(want);
	}
	for (i = 0; i < NALGS; i++)
		if (algs[i].type == type && algs[i].type != EVP_PKEY_EC &&
		    (algs[i].bits == 0 || algs[i].bits == bits))
			return &algs[i];
	return NULL;
}

int
keys_is_eddsa(const EVP_PKEY *k)
{
	int t = EVP_PKEY_get_base_id(k);

	return t == EVP_PKEY_ED25519 || t == EVP_PKEY_ED448;
}

int
keys_generate(const struct key_alg *alg, EVP_PKEY **out, struct err *e)
{
	EVP_PKEY *k = NULL;

	*out = NULL;
	switch (alg->type) {
	case EVP_PKEY_RSA:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)alg->bits);
		break;
	case EVP_PKEY_EC:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", alg->group);
		break;
	case EVP_PKEY_ED25519:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case EVP_PKEY_ED448:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
		break;
	}
	if (k == NULL)
		return err_ssl(e, EX_SOFTWARE, "key generation (%s)", alg->name);
	*out = k;
	return 0;
}

/* The first line of what was read is the passphrase. */
static int
first_line(struct buf *raw, struct secret *out, const char *src,
    struct err *e)
{
	size_t n = 0;

	while (n < raw->len && raw->p[n] != '\n' && raw->p[n] != '\r')
		n++;
	if (n < PASS_MIN)
		return err_set(e, EX_DATAERR, "passphrase from %s: shorter than "
		    "%d characters", src, PASS_MIN);
	if (memchr(raw->p, '\0', n) != NULL)
		return err_set(e, EX_DATAERR, "passphrase from %s: contains a "
		    "NUL byte", src);
	buf_add(&out->b, raw->p, n);
	return 0;
}

int
secret_get(const struct secret_src *src, const struct conf *c,
    struct secret *out, struct err *e)
{
	struct buf raw = {0};
	const char *env = getenv("CERTPIPE_PASSPHRASE");
	int rc;

	buf_wipe(&out->b);
	if (src && src->fd >= 0) {
		rc = fs_read_fd(src->fd, PASS_MAX, &raw, e);
		close(src->fd);
		if (rc == 0)
			rc = first_line(&raw, out, "--passphrase-fd", e);
		else
			err_prefix(e, "passphrase fd %d", src->fd);
	} else if (src && src->file) {
		rc = fs_read(src->file, PASS_MAX, &raw, e);
		if (rc == 0)
			rc = first_line(&raw, out, src->file, e);
	} else if (env != NULL) {
		buf_adds(&raw, env);
		rc = first_line(&raw, out, "$CERTPIPE_PASSPHRASE", e);
	} else if (c && c->passphrase_file) {
		rc = fs_read(c->passphrase_file, PASS_MAX, &raw, e);
		if (rc == 0)
			rc = first_line(&raw, out, c->passphrase_file, e);
	} else
		rc = err_set(e, EX_CONFIG, "no passphrase: give --passphrase-fd, "
		    "--passphrase-file or $CERTPIPE_PASSPHRASE, or set "
		    "passphrase_file in certpipe.conf");
	buf_wipe(&raw);
	if (rc != 0)
		buf_wipe(&out->b);
	return rc;
}

void
secret_free(struct secret *s)
{
	if (s != NULL)
		buf_wipe(&s->b);
}

/* "file:keys/<name>" -> absolute path; refuses anything else. */
static int
ref_path(const struct conf *c, const char *ref, char **path, struct err *e)
{
	const char *rel;

	*path = NULL;
	if (strncmp(ref, "file:", 5) != 0)
		return err_set(e, EX_CONFIG, "key reference '%s': unknown key "
		    "store", ref);
	rel = ref + 5;
	if (strncmp(rel, "keys/", 5) != 0 || strstr(rel, "..") != NULL ||
	    strchr(rel + 5, '/') != NULL)
		return err_set(e, EX_CONFIG, "key reference '%s': outside keys/",
		    ref);
	*path = conf_path(c, rel);
	return 0;
}

const char *
keys_ref_kind(const char *ref)
{
	if (ref && strncmp(ref, "file:", 5) == 0)
		return "file (PKCS#8, AES-256-CBC, PBKDF2)";
	return "unknown";
}

int
keys_store(const struct conf *c, EVP_PKEY *k, const struct secret *pass,
    char **ref, struct err *e)
{
	struct buf r = {0}, pem = {0};
	char *path = NULL, id[37];
	BIO *b = NULL;
	uuid_t u;
	char *p;
	long len;
	int rc;

	*ref = NULL;
	if (pass->b.len < PASS_MIN)
		return err_set(e, EX_DATAERR, "passphrase: shorter than %d "
		    "characters", PASS_MIN);
	uuid_generate_random(u);
	uuid_unparse_lower(u, id);
	buf_printf(&r, "file:keys/%s.key", id);
	if ((rc = ref_path(c, r.p, &path, e)) != 0)
		goto out;
	b = BIO_new(BIO_s_secmem());
	if (b == NULL || !PEM_write_bio_PKCS8PrivateKey(b, k,
	    EVP_aes_256_cbc(), pass->b.p, (int)pass->b.len, NULL, NULL)) {
		rc = err_ssl(e, EX_SOFTWARE, "key encryption");
		goto out;
	}
	len = BIO_get_mem_data(b, &p);
	buf_add(&pem, p, (size_t)len);
	if ((rc = fs_write_atomic(path, pem.p, pem.len, 0600, e)) != 0)
		goto out;
	*ref = buf_steal(&r);
	rc = 0;
out:
	BIO_free(b);
	buf_wipe(&pem);
	buf_free(&r);
	free(path);
	return rc;
}

int
keys_load(const struct conf *c, const char *ref, const struct secret *pass,
    EVP_PKEY **out, struct err *e)
{
	struct buf pem = {0};
	char *path = NULL;
	EVP_PKEY *k = NULL;
	BIO *b = NULL;
	int rc;

	*out = NULL;
	if ((rc = ref_path(c, ref, &path, e)) != 0)
		goto out;
	if ((rc = fs_read(path, KEYFILE_MAX, &pem, e)) != 0)
		goto out;
	b = BIO_new_mem_buf(pem.p, (int)pem.len);
	/* u = the passphrase with no callback: OpenSSL uses it as is and
	 * never prompts on a terminal. */
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)buf_str(&pass->b));
	if (k == NULL) {
		rc = err_ssl(e, EX_NOPERM, "%s: cannot decrypt the private key "
		    "(wrong passphrase?)", path);
		goto out;
	}
	*out = k;
	rc = 0;
out:
	BIO_free(b);
	buf_wipe(&pem);
	free(path);
	return rc;
}

int
keys_remove(const struct conf *c, const char *ref, struct err *e)
{
	char *path = NULL;
	int rc;

	if ((rc = ref_path(c, ref, &path, e)) == 0)
		rc = fs_unlink_secret(path, e);
	free(path);
	return rc;
}

int
keys_spki(const EVP_PKEY *k, struct buf *out, struct err *e)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);

	if (n <= 0)
		return err_ssl(e, EX_SOFTWARE, "public key encoding");
	buf_add(out, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}
