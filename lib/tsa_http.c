/* tsa_http - the timestamp authority behind the front-end skeleton
 * (see tsa.h and http.h). Holds no state of its own: one request in,
 * one reply out. */
#include <strings.h>
#include "diag.h"
#include "http.h"
#include "tsa.h"

static int
rfc3161(struct tsa *t, const struct http_req *r, struct http_resp *rs)
{
	struct err e = {0};
	int rc;

	/* a reply that is a systemFailure still goes out: it says so */
	if ((rc = tsa_reply(t, r->body, r->body_len, &rs->body, NULL, &e)) !=
	    0)
		diag("%s: %s", r->peer, err_str(&e));
	err_free(&e);
	if (rs->body.len == 0)
		return 500;
	rs->content_type = "application/timestamp-reply";
	return 200;
}

static int
authenticode(struct tsa *t, const struct http_req *r, struct http_resp *rs)
{
	struct err e = {0};
	int rc;

	rc = tsa_authenticode(t, r->body, r->body_len, &rs->body, &e);
	if (rc != 0) {
		if (rc != EX_DATAERR)
			diag("%s: %s", r->peer, err_str(&e));
		buf_reset(&rs->body);
		buf_printf(&rs->body, "%s\n", err_str(&e));
		rs->content_type = "text/plain";
	} else
		rs->content_type = "application/octet-stream";
	err_free(&e);
	return rc == 0 ? 200 : rc == EX_DATAERR ? 400 : 500;
}

int
tsa_http(const struct http_req *r, struct http_resp *rs, void *arg)
{
	const char *ct = r->content_type;

	if (ct && strcasecmp(ct, "application/timestamp-query") == 0)
		return rfc3161(arg, r, rs);
	if (ct && strcasecmp(ct, "application/octet-stream") == 0)
		return authenticode(arg, r, rs);
	buf_adds(&rs->body, "want application/timestamp-query (RFC 3161) or "
	    "application/octet-stream (Authenticode)\n");
	rs->content_type = "text/plain";
	return 415;
}
