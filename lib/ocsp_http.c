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
	struct buf u = {0};
	size_t i, k, pad = 0;
	int n, rc = -1;

	while (*rest == '/')
		rest++;
	http_unescape(rest, strlen(rest), 0, &u);
	/* whitespace dropped in place: the base64 is never longer */
	for (i = k = 0; i < u.len; i++)
		if (u.p[i] != '\r' && u.p[i] != '\n' && u.p[i] != ' ')
			u.p[k++] = u.p[i];
	if (k == 0 || k % 4 != 0 || k > (OCSP_MAX_REQUEST + 2) / 3 * 4)
		goto out;
	while (pad < 2 && u.p[k - 1 - pad] == '=')
		pad++;
	if ((n = EVP_DecodeBlock(raw, (unsigned char *)u.p, (int)k)) < 0 ||
	    (size_t)n < pad)
		goto out;
	buf_reset(der);
	buf_add(der, raw, (size_t)n - pad);
	rc = 0;
out:
	buf_free(&u);
	return rc;
}

/* Strong ETag: the first 16 bytes of the response's SHA-256, in hex,
 * quoted, into tag[35]. */
static void
etag(const struct buf *der, char tag[35])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	memset(md, 0, sizeof md);
	EVP_Digest(der->p, der->len, md, &n, EVP_sha256(), NULL);
	tag[0] = '"';
	for (i = 0; i < 16; i++) {
		tag[1 + 2 * i] = hex[md[i] >> 4];
		tag[2 + 2 * i] = hex[md[i] & 15];
	}
	tag[33] = '"';
	tag[34] = '\0';
}

/* RFC 5019 section 6: a pre-signed answer to GET may be cached until
 * its nextUpdate. 1 when If-None-Match names it (answer 304). */
static int
cache_headers(const struct http_req *r, struct http_resp *rs,
    struct ocsp_front *f, const struct ocsp_answer *a, time_t now)
{
	const char *inm = http_header(r, "If-None-Match");
	long long age = (long long)(a->next_update - now);
	struct buf *h = &rs->headers;

	/* the answer is the front end's last stored response (ocsp.h):
	 * its ETag is made once */
	if (f->etag[0] == '\0')
		etag(&a->der, f->etag);
	buf_adds(h, "ETag: ");
	buf_adds(h, f->etag);
	buf_adds(h, "\r\nLast-Modified: ");
	http_date(a->this_update, h);
	buf_adds(h, "\r\n");
	if (a->next_update != 0) {
		buf_adds(h, "Expires: ");
		http_date(a->next_update, h);
		buf_printf(h, "\r\nCache-Control: max-age=%lld, public, "
		    "no-transform, must-revalidate\r\n", age > 0 ? age : 0);
	}
	return inm && (strcmp(inm, "*") == 0 || strstr(inm, f->etag) != NULL);
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
	if (get && a.stored && cache_headers(r, rs, f, &a, now))
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
