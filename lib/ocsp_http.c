/*
 * ocsp_http - the OCSP front end's HTTP handler (see ocsp.h): POST and
 * RFC 5019 GET requests, answered by ocsp_answer, with RFC 5019 caching
 * headers on pre-signed answers.
 *
 * Trust: runs on hostile input; holds no key and no database.
 */
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/evp.h>
#include "http.h"
#include "ocsp.h"

/* RFC 5019 GET: the path's rest is the URL-encoded base64 of the DER
 * request; '%' escapes are decoded leniently, whitespace dropped. */
static int
get_request(const char *rest, struct buf *der)
{
	unsigned char raw[(OCSP_MAX_REQUEST + 2) / 3 * 3];
	struct buf u = {0}, b64 = {0};
	size_t i, pad = 0;
	int n, rc = -1;

	while (*rest == '/')
		rest++;
	http_unescape(rest, strlen(rest), 0, &u);
	for (i = 0; i < u.len; i++)
		if (u.p[i] != '\r' && u.p[i] != '\n' && u.p[i] != ' ')
			buf_addc(&b64, u.p[i]);
	if (b64.len == 0 || b64.len % 4 != 0 ||
	    b64.len > (OCSP_MAX_REQUEST + 2) / 3 * 4)
		goto out;
	while (pad < 2 && b64.p[b64.len - 1 - pad] == '=')
		pad++;
	if ((n = EVP_DecodeBlock(raw, (unsigned char *)b64.p,
	    (int)b64.len)) < 0 || (size_t)n < pad)
		goto out;
	buf_reset(der);
	buf_add(der, raw, (size_t)n - pad);
	rc = 0;
out:
	buf_free(&u);
	buf_free(&b64);
	return rc;
}

/* Strong ETag: the first 16 bytes of the response's SHA-256, in hex. */
static void
etag(const struct buf *der, struct buf *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_Digest(der->p, der->len, md, &n, EVP_sha256(), NULL);
	buf_addc(out, '"');
	for (i = 0; i < 16 && i < n; i++)
		buf_printf(out, "%02x", md[i]);
	buf_addc(out, '"');
}

/* RFC 5019 section 6: a pre-signed answer to GET may be cached until
 * its nextUpdate. 1 when If-None-Match names it (answer 304). */
static int
cache_headers(const struct http_req *r, struct http_resp *rs,
    const struct ocsp_answer *a, time_t now)
{
	struct buf tag = {0}, d = {0};
	const char *inm = http_header(r, "If-None-Match");
	long long age = (long long)(a->next_update - now);
	int match;

	etag(&a->der, &tag);
	http_resp_header(rs, "ETag", "%s", tag.p);
	http_date(a->this_update, &d);
	http_resp_header(rs, "Last-Modified", "%s", d.p);
	if (a->next_update != 0) {
		buf_reset(&d);
		http_date(a->next_update, &d);
		http_resp_header(rs, "Expires", "%s", d.p);
		http_resp_header(rs, "Cache-Control", "max-age=%lld, public, "
		    "no-transform, must-revalidate", age > 0 ? age : 0);
	}
	match = inm && (strcmp(inm, "*") == 0 || strstr(inm, tag.p) != NULL);
	buf_free(&tag);
	buf_free(&d);
	return match;
}

int
ocsp_http(const struct http_req *r, struct http_resp *rs, void *arg)
{
	struct ocsp_front *f = arg;
	struct ocsp_answer a;
	struct buf der = {0};
	time_t now = time(NULL);
	int get = strcmp(r->method, "POST") != 0, code = 200;

	memset(&a, 0, sizeof a);
	if (!get && (r->content_type == NULL ||
	    strcasecmp(r->content_type, "application/ocsp-request") != 0)) {
		rs->content_type = "text/plain";
		buf_adds(&rs->body, "POST needs Content-Type: "
		    "application/ocsp-request\n");
		return 415;
	}
	if (get && get_request(r->rest, &der) != 0)
		ocsp_error(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, &a.der);
	else
		ocsp_answer(f, get ? der.p : (const char *)r->body,
		    get ? der.len : r->body_len, now, &a);
	rs->content_type = "application/ocsp-response";
	if (get && a.stored && cache_headers(r, rs, &a, now))
		code = 304;
	else {
		if (!a.stored)	/* a nonce, or an error: never cached */
			http_resp_header(rs, "Cache-Control", "no-store");
		buf_add(&rs->body, a.der.p, a.der.len);
	}
	ocsp_answer_free(&a);
	buf_free(&der);
	return code;
}
