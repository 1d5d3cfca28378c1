/* dcv - http-01 and dns-01 checks (see dcv.h). */
#include <ctype.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include "dcv.h"
#include "dns.h"

#define TOKEN_MAX   256
#define KEYAUTH_MAX 1024
#define CONNECT_MS  5000	/* for one connection, within the timeout */

/* One hop's response body, refused (not truncated) past the cap. */
struct body {
	struct buf b;
	int over;
};

int
dcv_init(struct err *e)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, EX_SOFTWARE, "libcurl: cannot initialise");
	return 0;
}

void
dcv_fini(void)
{
	curl_global_cleanup();
}

int
dcv_name_ok(const char *name)
{
	const char *p = name;
	size_t n;

	if (strlen(name) == 0 || strlen(name) > 253)
		return 0;
	for (;;) {
		n = strcspn(p, ".");
		if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
			return 0;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-')
				return 0;
		if (p[n] == '\0')
			return 1;
		p += n + 1;
	}
}

static int
b64url_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n > 0 && n <= max &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == n;
}

/* A key authorization is token "." thumbprint: base64url both sides. */
static int
keyauth_ok(const char *s)
{
	const char *dot = strchr(s, '.');
	struct buf t = {0};
	int ok;

	if (dot == NULL || strlen(s) > KEYAUTH_MAX)
		return 0;
	buf_add(&t, s, (size_t)(dot - s));
	ok = b64url_ok(buf_str(&t), TOKEN_MAX) && b64url_ok(dot + 1,
	    KEYAUTH_MAX);
	buf_free(&t);
	return ok;
}

void
dcv_dns01_value(const char *v, struct buf *out)
{
	unsigned char md[32], b64[48];
	unsigned int mdlen = 0;
	int n, i;

	buf_reset(out);
	if (strchr(v, '.') == NULL) {
		buf_adds(out, v);
		return;
	}
	EVP_Digest(v, strlen(v), md, &mdlen, EVP_sha256(), NULL);
	n = EVP_EncodeBlock(b64, md, (int)mdlen);
	for (i = 0; i < n && b64[i] != '='; i++)	/* base64url, unpadded */
		buf_addc(out, b64[i] == '+' ? '-' : b64[i] == '/' ? '_' :
		    (char)b64[i]);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;

	if (b->b.len + size * n > DCV_BODY_MAX) {
		b->over = 1;
		return 0;		/* libcurl stops: CURLE_WRITE_ERROR */
	}
	buf_add(&b->b, p, size * n);
	return size * n;
}

/*
 * The --resolve entries "NAME:ADDR" as libcurl wants them, for the
 * ports the connection really goes to, and the port mapping of 80 and
 * 443 when the configuration moves them (CURLOPT_CONNECT_TO keeps the
 * URL, and so the Host header and the redirect checks, on port 80).
 */
static int
host_lists(const struct dcv_conf *c, struct curl_slist **res,
    struct curl_slist **to, struct err *e)
{
	struct buf s = {0}, name = {0};
	const char *colon;
	size_t i;
	int rc = 0;

	for (i = 0; c->resolve && c->resolve[i] && rc == 0; i++) {
		colon = strchr(c->resolve[i], ':');
		buf_reset(&name);
		if (colon)
			buf_add(&name, c->resolve[i],
			    (size_t)(colon - c->resolve[i]));
		if (colon == NULL || !dcv_name_ok(buf_str(&name)) ||
		    colon[1] == '\0') {
			rc = err_set(e, EX_USAGE,
			    "resolve '%.300s': not NAME:ADDR", c->resolve[i]);
			break;
		}
		buf_reset(&s);
		buf_printf(&s, "%s:%u:%s", name.p, c->http_port, colon + 1);
		*res = curl_slist_append(*res, s.p);
		buf_reset(&s);
		buf_printf(&s, "%s:%u:%s", name.p, c->https_port, colon + 1);
		*res = curl_slist_append(*res, s.p);
	}
	buf_reset(&s);
	buf_printf(&s, ":80::%u", c->http_port);
	*to = curl_slist_append(*to, s.p);
	buf_reset(&s);
	buf_printf(&s, ":443::%u", c->https_port);
	*to = curl_slist_append(*to, s.p);
	buf_free(&s);
	buf_free(&name);
	return rc;
}

int
dcv_conf_check(const struct dcv_conf *c, struct err *e)
{
	struct curl_slist *res = NULL, *to = NULL;
	int rc;

	if (c->resolver && (rc = dns_server_check(c->resolver, e)) != 0)
		return rc;
	rc = host_lists(c, &res, &to, e);
	curl_slist_free_all(res);
	curl_slist_free_all(to);
	return rc;
}

/*
 * A handle that fetches one URL at a time, never following a redirect
 * itself (the caller checks each target), never through a proxy from
 * the environment. TLS certificates are not checked on a redirect to
 * https: what proves control is the key authorization in the body
 * (RFC 8555 section 8.3 leaves it open; Let's Encrypt does the same).
 */
static CURL *
handle(const struct curl_slist *res, const struct curl_slist *to,
    struct body *b, char *errbuf)
{
	CURL *h;

	if ((h = curl_easy_init()) == NULL)
		return NULL;
	if (curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(h, CURLOPT_PROXY, "") ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE, (long)DCV_BODY_MAX) ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, b) ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "certpipe-dcv") ||
	    curl_easy_setopt(h, CURLOPT_RESOLVE, res) ||
	    curl_easy_setopt(h, CURLOPT_CONNECT_TO, to)) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

/* May a challenge be redirected to url? http or https, default port. */
static int
redirect_ok(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *port = NULL;
	int ok = 0;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
		switch (curl_url_get(u, CURLUPART_PORT, &port, 0)) {
		case CURLUE_NO_PORT:
			ok = strcmp(scheme, "http") == 0 ||
			    strcmp(scheme, "https") == 0;
			break;
		case CURLUE_OK:
			ok = (strcmp(scheme, "http") == 0 &&
			    strcmp(port, "80") == 0) ||
			    (strcmp(scheme, "https") == 0 &&
			    strcmp(port, "443") == 0);
			break;
		default:
			break;
		}
	}
	curl_free(scheme);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

/* The body against the key authorization: equal once trailing
 * whitespace is dropped (RFC 8555 section 8.3), no NUL inside. */
static int
body_matches(const struct buf *b, const char *keyauth)
{
	size_t n = b->len;

	while (n > 0 && strchr(" \t\r\n", b->p[n - 1]) != NULL)
		n--;
	return n == strlen(keyauth) && memcmp(b->p, keyauth, n) == 0;
}

/* One response: 0 done (rc set), 1 follow *next. */
static int
judge(CURL *h, CURLcode cc, const struct body *b, const char *errbuf,
    int hop, const char *name, const char *keyauth, char **next, int *rc,
    struct err *e)
{
	long status = 0;
	char *loc = NULL;

	if (b->over || cc == CURLE_FILESIZE_EXCEEDED) {
		*rc = err_set(e, DCV_INVALID, "http-01 %s: body larger than "
		    "%d bytes", name, DCV_BODY_MAX);
		return 0;
	}
	if (cc != CURLE_OK) {
		*rc = err_set(e, EX_TEMPFAIL, "http-01 %s: %s", name,
		    errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return 0;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
	if (loc != NULL && (status == 301 || status == 302 || status == 303 ||
	    status == 307 || status == 308)) {
		if (hop >= DCV_REDIRS_MAX)
			*rc = err_set(e, DCV_INVALID, "http-01 %s: more than "
			    "%d redirects", name, DCV_REDIRS_MAX);
		else if (!redirect_ok(loc))
			*rc = err_set(e, DCV_INVALID, "http-01 %s: redirect "
			    "to %.200s refused: not http or https on its "
			    "default port", name, loc);
		else {
			*next = xstrdup(loc);
			return 1;
		}
	} else if (status == 429 || status >= 500)
		*rc = err_set(e, EX_TEMPFAIL, "http-01 %s: got %ld", name,
		    status);
	else if (status != 200)
		*rc = err_set(e, DCV_INVALID, "http-01 %s: got %ld", name,
		    status);
	else if (!body_matches(&b->b, keyauth))
		*rc = err_set(e, DCV_INVALID, "http-01 %s: body does not "
		    "match the key authorization", name);
	else
		*rc = 0;
	return 0;
}

int
dcv_http01(const struct dcv_conf *c, const char *name, const char *token,
    const char *keyauth, struct err *e)
{
	struct curl_slist *res = NULL, *to = NULL;
	struct body b = {0};
	struct buf url = {0};
	char errbuf[CURL_ERROR_SIZE], *next = NULL;
	long long deadline = now_ms() + c->timeout_ms, left;
	CURL *h = NULL;
	CURLcode cc;
	int rc = 0, hop;

	if (!dcv_name_ok(name))
		return err_set(e, EX_USAGE, "http-01 %.300s: not a DNS name",
		    name);
	if (!b64url_ok(token, TOKEN_MAX) || !keyauth_ok(keyauth))
		return err_set(e, EX_USAGE, "http-01 %s: token or key "
		    "authorization is not base64url", name);
	if ((rc = host_lists(c, &res, &to, e)) != 0)
		goto out;
	if ((h = handle(res, to, &b, errbuf)) == NULL) {
		rc = err_set(e, EX_SOFTWARE, "http-01 %s: libcurl setup", name);
		goto out;
	}
	buf_printf(&url, "http://%s/.well-known/acme-challenge/%s", name,
	    token);
	for (hop = 0;; hop++) {
		if ((left = deadline - now_ms()) <= 0) {
			rc = err_set(e, EX_TEMPFAIL, "http-01 %s: timed out",
			    name);
			break;
		}
		buf_reset(&b.b);
		errbuf[0] = '\0';
		curl_easy_setopt(h, CURLOPT_URL, url.p);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
		    (long)(left < CONNECT_MS ? left : CONNECT_MS));
		cc = curl_easy_perform(h);
		if (!judge(h, cc, &b, errbuf, hop, name, keyauth, &next, &rc,
		    e))
			break;
		buf_reset(&url);
		buf_adds(&url, next);
		free(next);
		next = NULL;
	}
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(res);
	curl_slist_free_all(to);
	buf_free(&b.b);
	buf_free(&url);
	return rc;
}

/* Does any TXT value equal any expected value? */
static int
any_match(const struct dns_txt *t, const char *const *expect, size_t n)
{
	struct buf want = {0};
	size_t i, j;
	int hit = 0;

	for (i = 0; i < n && !hit; i++) {
		dcv_dns01_value(expect[i], &want);
		for (j = 0; j < t->n && !hit; j++)
			hit = t->v[j].len == want.len &&
			    memcmp(t->v[j].p, want.p, want.len) == 0;
	}
	buf_free(&want);
	return hit;
}

int
dcv_dns01(const struct dcv_conf *c, const char *name,
    const char *const *expect, size_t n, struct err *e)
{
	struct dns_txt t = {0};
	struct buf q = {0};
	size_t i;
	int rc;

	if (!dcv_name_ok(name))
		return err_set(e, EX_USAGE, "dns-01 %.300s: not a DNS name",
		    name);
	for (i = 0; i < n; i++)
		if (!keyauth_ok(expect[i]) && !b64url_ok(expect[i], 255))
			return err_set(e, EX_USAGE, "dns-01 %s: expected value "
			    "is neither a key authorization nor base64url",
			    name);
	buf_printf(&q, "_acme-challenge.%s", name);
	if ((rc = dns_txt(c->resolver, q.p, c->timeout_ms, &t, e)) != 0)
		err_prefix(e, "dns-01 %s", name);
	else if (t.n == 0)
		rc = err_set(e, DCV_INVALID, "dns-01 %s: no TXT record at %s%s",
		    name, t.name, t.nxdomain ? " (NXDOMAIN)" : "");
	else if (!any_match(&t, expect, n))
		rc = err_set(e, DCV_INVALID, "dns-01 %s: no TXT record "
		    "matches (%zu seen)", name, t.n);
	dns_txt_free(&t);
	buf_free(&q);
	return rc;
}
