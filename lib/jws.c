/*
 * jws - flattened JWS parsing and verification (see jws.h).
 *
 * Trust: everything here comes from the network. JSON goes through
 * jansson (duplicate keys refused); base64url is decoded strictly; keys
 * are built by OpenSSL from their parameters and must be keys certpipe
 * accepts anyway (keys_alg_of), so a 512-bit RSA key or an odd curve
 * never verifies anything.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include "jws.h"
#include "keys.h"

static const char b64u[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
b64u_encode(const void *p, size_t n, struct buf *out)
{
	const unsigned char *s = p;
	size_t i;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		buf_addc(out, b64u[v >> 18 & 63]);
		buf_addc(out, b64u[v >> 12 & 63]);
		buf_addc(out, b64u[v >> 6 & 63]);
		buf_addc(out, b64u[v & 63]);
	}
	if (n - i == 1) {
		v = (unsigned)s[i] << 16;
		buf_addc(out, b64u[v >> 18 & 63]);
		buf_addc(out, b64u[v >> 12 & 63]);
	} else if (n - i == 2) {
		v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
		buf_addc(out, b64u[v >> 18 & 63]);
		buf_addc(out, b64u[v >> 12 & 63]);
		buf_addc(out, b64u[v >> 6 & 63]);
	}
	if (out->p == NULL)
		buf_adds(out, "");
}

static int
b64u_val(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64u, c)) == NULL)
		return -1;
	return (int)(p - b64u);
}

int
b64u_decode(const char *s, size_t n, struct buf *out, struct err *e)
{
	unsigned v = 0;
	size_t i;
	int bits = 0, d;

	buf_reset(out);
	if (n % 4 == 1)
		return err_set(e, EX_DATAERR, "bad base64url length");
	for (i = 0; i < n; i++) {
		if ((d = b64u_val(s[i])) < 0)
			return err_set(e, EX_DATAERR, "bad base64url character");
		v = (v << 6 | (unsigned)d) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			buf_addc(out, (char)(v >> bits & 0xff));
		}
	}
	if ((v & ((1u << bits) - 1)) != 0)
		return err_set(e, EX_DATAERR, "bad base64url padding bits");
	if (out->p == NULL)
		buf_adds(out, "");
	return 0;
}

/* A string member of o, or NULL (and *bad set when present but not a
 * string). */
static const char *
str_member(json_t *o, const char *k, int *bad)
{
	json_t *v = json_object_get(o, k);

	if (v == NULL)
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

static int
header(struct jws *j, const char *p64, struct err *e)
{
	struct buf raw = {0};
	json_error_t je;
	int rc, bad = 0;

	if ((rc = b64u_decode(p64, strlen(p64), &raw, e)) != 0) {
		err_prefix(e, "protected header");
		goto out;
	}
	j->hdr = json_loadb(raw.p, raw.len, JSON_REJECT_DUPLICATES, &je);
	if (j->hdr == NULL || !json_is_object(j->hdr)) {
		rc = err_set(e, EX_DATAERR, "protected header: not a JSON "
		    "object");
		goto out;
	}
	j->alg = str_member(j->hdr, "alg", &bad);
	j->nonce = str_member(j->hdr, "nonce", &bad);
	j->url = str_member(j->hdr, "url", &bad);
	j->kid = str_member(j->hdr, "kid", &bad);
	j->jwk = json_object_get(j->hdr, "jwk");
	if (bad || (j->jwk != NULL && !json_is_object(j->jwk)))
		rc = err_set(e, EX_DATAERR, "protected header: alg, nonce, "
		    "url and kid must be strings, jwk an object");
	else if (j->alg == NULL)
		rc = err_set(e, EX_DATAERR, "protected header: no alg");
	else if (json_object_get(j->hdr, "crit") != NULL)
		rc = err_set(e, EX_DATAERR, "protected header: crit is not "
		    "supported");
out:
	buf_free(&raw);
	return rc;
}

int
jws_parse_json(json_t *o, struct jws *j, struct err *e)
{
	const char *p, *pl, *s;
	int rc, bad = 0;

	if (!json_is_object(o) || json_object_size(o) != 3)
		return err_set(e, EX_DATAERR, "not a flattened JWS (exactly "
		    "protected, payload and signature)");
	p = str_member(o, "protected", &bad);
	pl = str_member(o, "payload", &bad);
	s = str_member(o, "signature", &bad);
	if (bad || p == NULL || pl == NULL || s == NULL)
		return err_set(e, EX_DATAERR, "not a flattened JWS (exactly "
		    "protected, payload and signature)");
	if ((rc = header(j, p, e)) != 0)
		return rc;
	if ((rc = b64u_decode(pl, strlen(pl), &j->payload, e)) != 0)
		return err_prefix(e, "payload");
	if ((rc = b64u_decode(s, strlen(s), &j->sig, e)) != 0)
		return err_prefix(e, "signature");
	buf_printf(&j->input, "%s.%s", p, pl);
	return 0;
}

int
jws_parse(const void *data, size_t len, struct jws *j, struct err *e)
{
	json_error_t je;

	memset(j, 0, sizeof *j);
	j->root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (j->root == NULL)
		return err_set(e, EX_DATAERR, "JSON: %s", je.text);
	return jws_parse_json(j->root, j, e);
}

void
jws_free(struct jws *j)
{
	if (j == NULL)
		return;
	json_decref(j->hdr);
	json_decref(j->root);
	buf_free(&j->payload);
	buf_free(&j->input);
	buf_free(&j->sig);
	memset(j, 0, sizeof *j);
}

/* Decode a base64url JWK member; want: exact length, 0 for any. */
static int
member_bytes(json_t *jwk, const char *k, size_t want, struct buf *out,
    struct err *e)
{
	int bad = 0;
	const char *s = str_member(jwk, k, &bad);

	if (s == NULL)
		return err_set(e, EX_DATAERR, "jwk: no %s", k);
	if (b64u_decode(s, strlen(s), out, e) != 0 || out->len == 0 ||
	    (want && out->len != want))
		return err_set(e, EX_DATAERR, "jwk: bad %s", k);
	return 0;
}

static int
from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out,
    struct err *e)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	int rc = 0;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		rc = err_ssl(e, EX_DATAERR, "jwk: not a %s public key", type);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return rc;
}

static int
rsa_key(json_t *jwk, EVP_PKEY **out, struct err *e)
{
	struct buf n = {0}, x = {0};
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int rc;

	if ((rc = member_bytes(jwk, "n", 0, &n, e)) != 0 ||
	    (rc = member_bytes(jwk, "e", 0, &x, e)) != 0)
		goto out;
	bn = BN_bin2bn((unsigned char *)n.p, (int)n.len, NULL);
	be = BN_bin2bn((unsigned char *)x.p, (int)x.len, NULL);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL || bn == NULL || be == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
		rc = err_ssl(e, EX_SOFTWARE, "jwk: RSA parameters");
		goto out;
	}
	rc = from_params("RSA", bld, out, e);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	buf_free(&n);
	buf_free(&x);
	return rc;
}

struct curve {
	const char *crv, *group;
	size_t len;
};
static const struct curve curves[] = {
	{ "P-256", "prime256v1", 32 },
	{ "P-384", "secp384r1", 48 },
	{ "P-521", "secp521r1", 66 },
};

static int
ec_key(json_t *jwk, const char *crv, EVP_PKEY **out, struct err *e)
{
	struct buf x = {0}, y = {0}, pt = {0};
	OSSL_PARAM_BLD *bld = NULL;
	const struct curve *c = NULL;
	size_t i;
	int rc;

	for (i = 0; i < sizeof curves / sizeof curves[0]; i++)
		if (crv != NULL && strcmp(crv, curves[i].crv) == 0)
			c = &curves[i];
	if (c == NULL)
		return err_set(e, EX_DATAERR, "jwk: unsupported EC curve");
	if ((rc = member_bytes(jwk, "x", c->len, &x, e)) != 0 ||
	    (rc = member_bytes(jwk, "y", c->len, &y, e)) != 0)
		goto out;
	buf_addc(&pt, 4);
	buf_add(&pt, x.p, x.len);
	buf_add(&pt, y.p, y.len);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    c->group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pt.p, pt.len)) {
		rc = err_ssl(e, EX_SOFTWARE, "jwk: EC parameters");
		goto out;
	}
	rc = from_params("EC", bld, out, e);
out:
	OSSL_PARAM_BLD_free(bld);
	buf_free(&x);
	buf_free(&y);
	buf_free(&pt);
	return rc;
}

static int
okp_key(json_t *jwk, const char *crv, EVP_PKEY **out, struct err *e)
{
	struct buf x = {0};
	int type, rc;
	size_t len;

	if (crv != NULL && strcmp(crv, "Ed25519") == 0)
		type = EVP_PKEY_ED25519, len = 32;
	else if (crv != NULL && strcmp(crv, "Ed448") == 0)
		type = EVP_PKEY_ED448, len = 57;
	else
		return err_set(e, EX_DATAERR, "jwk: unsupported OKP curve");
	if ((rc = member_bytes(jwk, "x", len, &x, e)) == 0 &&
	    (*out = EVP_PKEY_new_raw_public_key(type, NULL,
	    (unsigned char *)x.p, x.len)) == NULL)
		rc = err_ssl(e, EX_DATAERR, "jwk: not an %s key", crv);
	buf_free(&x);
	return rc;
}

int
jwk_key(json_t *jwk, EVP_PKEY **out, struct err *e)
{
	const char *kty, *crv;
	int rc, bad = 0;

	*out = NULL;
	if (!json_is_object(jwk))
		return err_set(e, EX_DATAERR, "jwk: not an object");
	kty = str_member(jwk, "kty", &bad);
	crv = str_member(jwk, "crv", &bad);
	if (bad || kty == NULL)
		return err_set(e, EX_DATAERR, "jwk: no kty");
	if (strcmp(kty, "RSA") == 0)
		rc = rsa_key(jwk, out, e);
	else if (strcmp(kty, "EC") == 0)
		rc = ec_key(jwk, crv, out, e);
	else if (strcmp(kty, "OKP") == 0)
		rc = okp_key(jwk, crv, out, e);
	else
		rc = err_set(e, EX_DATAERR, "jwk: unsupported kty");
	if (rc == 0 && keys_alg_of(*out) == NULL)
		rc = err_set(e, EX_DATAERR, "jwk: key not accepted (RSA "
		    "2048/3072/4096, P-256/384/521, Ed25519, Ed448)");
	if (rc != 0) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	return rc;
}

/* Append "k":"v" for a thumbprint; v must be base64url or a curve name
 * so that no escaping is ever needed. */
static int
tp_member(struct buf *b, json_t *jwk, const char *k, int first,
    struct err *e)
{
	int bad = 0;
	const char *v = str_member(jwk, k, &bad);
	size_t i;

	if (v == NULL)
		return err_set(e, EX_DATAERR, "jwk: no %s", k);
	for (i = 0; v[i]; i++)
		if (b64u_val(v[i]) < 0)
			return err_set(e, EX_DATAERR, "jwk: bad %s", k);
	buf_printf(b, "%s\"%s\":\"%s\"", first ? "{" : ",", k, v);
	return 0;
}

int
jwk_thumbprint(json_t *jwk, struct buf *out, struct err *e)
{
	static const char *const rsa[] = { "e", "kty", "n", NULL };
	static const char *const ec[] = { "crv", "kty", "x", "y", NULL };
	static const char *const okp[] = { "crv", "kty", "x", NULL };
	const char *const *m;
	struct buf b = {0};
	unsigned char md[32];
	const char *kty;
	int rc = 0, bad = 0, i;

	kty = str_member(jwk, "kty", &bad);
	if (kty == NULL)
		return err_set(e, EX_DATAERR, "jwk: no kty");
	m = strcmp(kty, "RSA") == 0 ? rsa : strcmp(kty, "EC") == 0 ? ec :
	    strcmp(kty, "OKP") == 0 ? okp : NULL;
	if (m == NULL)
		return err_set(e, EX_DATAERR, "jwk: unsupported kty");
	for (i = 0; m[i] != NULL && rc == 0; i++)
		rc = tp_member(&b, jwk, m[i], i == 0, e);
	if (rc == 0) {
		buf_addc(&b, '}');
		if (!EVP_Digest(b.p, b.len, md, NULL, EVP_sha256(), NULL))
			rc = err_ssl(e, EX_SOFTWARE, "jwk thumbprint");
		else
			b64u_encode(md, sizeof md, out);
	}
	buf_free(&b);
	return rc;
}

struct alg {
	const char *name;
	int type;		/* EVP_PKEY_RSA, EVP_PKEY_EC, 0: EdDSA */
	int bits;		/* EC field size */
	const char *md;		/* NULL: EdDSA */
};
static const struct alg algs[] = {
	{ "RS256", EVP_PKEY_RSA, 0, "SHA256" },
	{ "ES256", EVP_PKEY_EC, 256, "SHA256" },
	{ "ES384", EVP_PKEY_EC, 384, "SHA384" },
	{ "ES512", EVP_PKEY_EC, 521, "SHA512" },
	{ "EdDSA", 0, 0, NULL },
};

static const struct alg *
alg_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof algs / sizeof algs[0]; i++)
		if (strcmp(name, algs[i].name) == 0)
			return &algs[i];
	return NULL;
}

/* The raw r||s of an ECDSA JWS as the DER OpenSSL verifies. */
static int
ecdsa_der(const struct buf *raw, int bits, struct buf *der, struct err *e)
{
	size_t n = ((size_t)bits + 7) / 8;
	ECDSA_SIG *s = NULL;
	BIGNUM *r = NULL, *ss = NULL;
	unsigned char *p = NULL;
	int len, rc = 0;

	if (raw->len != 2 * n)
		return err_set(e, EX_NOPERM, "ECDSA signature of %zu bytes, "
		    "want %zu (raw r||s)", raw->len, 2 * n);
	r = BN_bin2bn((unsigned char *)raw->p, (int)n, NULL);
	ss = BN_bin2bn((unsigned char *)raw->p + n, (int)n, NULL);
	if ((s = ECDSA_SIG_new()) == NULL || r == NULL || ss == NULL ||
	    !ECDSA_SIG_set0(s, r, ss)) {
		BN_free(r);
		BN_free(ss);
		rc = err_ssl(e, EX_SOFTWARE, "ECDSA signature");
		goto out;
	}
	if ((len = i2d_ECDSA_SIG(s, &p)) <= 0) {
		rc = err_ssl(e, EX_SOFTWARE, "ECDSA signature");
		goto out;
	}
	buf_add(der, p, (size_t)len);
out:
	OPENSSL_free(p);
	ECDSA_SIG_free(s);
	return rc;
}

int
jws_verify(struct jws *j, EVP_PKEY *k, struct err *e)
{
	const struct alg *a = alg_find(j->alg);
	const struct key_alg *ka = keys_alg_of(k);
	EVP_MD_CTX *ctx = NULL;
	struct buf der = {0};
	const struct buf *sig = &j->sig;
	int rc = 0;

	if (a == NULL) {
		j->bad_alg = 1;
		return err_set(e, EX_DATAERR, "alg %s is not supported (%s)",
		    j->alg ? j->alg : "(none)", JWS_ALGS);
	}
	if (ka == NULL || (a->type == 0 ? !keys_is_eddsa(k) :
	    EVP_PKEY_get_base_id(k) != a->type ||
	    (a->bits != 0 && ka->bits != a->bits))) {
		j->bad_alg = 1;
		return err_set(e, EX_DATAERR, "alg %s does not fit the key",
		    a->name);
	}
	if (a->type == EVP_PKEY_EC) {
		if ((rc = ecdsa_der(&j->sig, a->bits, &der, e)) != 0)
			goto out;
		sig = &der;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(ctx, NULL, a->md, NULL, NULL, k,
	    NULL) <= 0) {
		rc = err_ssl(e, EX_SOFTWARE, "signature check");
		goto out;
	}
	if (EVP_DigestVerify(ctx, (unsigned char *)sig->p, sig->len,
	    (unsigned char *)j->input.p, j->input.len) != 1)
		rc = err_ssl(e, EX_NOPERM, "signature does not verify");
out:
	EVP_MD_CTX_free(ctx);
	buf_free(&der);
	return rc;
}

int
jws_hmac_verify(struct jws *j, const unsigned char *key, size_t klen,
    struct err *e)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	const char *md;
	size_t len = 0;

	if (j->alg != NULL && strcmp(j->alg, "HS256") == 0)
		md = "SHA256";
	else if (j->alg != NULL && strcmp(j->alg, "HS384") == 0)
		md = "SHA384";
	else if (j->alg != NULL && strcmp(j->alg, "HS512") == 0)
		md = "SHA512";
	else {
		j->bad_alg = 1;
		return err_set(e, EX_DATAERR, "MAC alg %s is not supported "
		    "(HS256 HS384 HS512)", j->alg ? j->alg : "(none)");
	}
	if (EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, key, klen,
	    (unsigned char *)j->input.p, j->input.len, mac, sizeof mac,
	    &len) == NULL)
		return err_ssl(e, EX_SOFTWARE, "HMAC");
	if (j->sig.len != len || CRYPTO_memcmp(mac, j->sig.p, len) != 0)
		return err_set(e, EX_NOPERM, "MAC does not verify");
	return 0;
}
