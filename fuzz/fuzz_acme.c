/*
 * fuzz_acme - libFuzzer target for the ACME request router (acme_http)
 * over an in-memory instance database: the input is "PATH\nBODY" (or
 * only a body to new-account), sent as a POST of application/jose+json,
 * and as a GET. Every answer must be a status in 200..599 with a JSON
 * body that jansson reads back and, for errors, a problem document; no
 * crash, no leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/err.h>
#include "acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static struct acme a = { NULL, "http://fuzz.test", NULL, NULL, NULL };

static void
check(int st, struct http_resp *rs)
{
	json_t *j;

	if (st < 200 || st > 599)
		__builtin_trap();
	if (rs->body.len == 0)
		return;		/* new-nonce */
	if ((j = json_loadb(rs->body.p, rs->body.len, 0, NULL)) == NULL)
		__builtin_trap();
	if (st >= 400 && (rs->content_type == NULL ||
	    strcmp(rs->content_type, "application/problem+json") != 0 ||
	    !json_is_string(json_object_get(j, "type"))))
		__builtin_trap();
	json_decref(j);
}

static void
one(const char *method, const char *rest, const uint8_t *body, size_t len)
{
	struct http_req r = {0};
	struct http_resp rs = {0};
	struct buf path = {0};

	buf_printf(&path, "/acme/%s", rest);
	r.method = method;
	r.target = r.path = path.p;
	r.route = "/acme/";
	r.rest = path.p + 6;
	r.content_type = "application/jose+json";
	r.peer = "-";
	r.body = body;
	r.body_len = len;
	check(acme_http(&r, &rs, &a), &rs);
	http_resp_free(&rs);
	buf_free(&path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const uint8_t *nl = memchr(data, '\n', len);
	struct buf rest = {0};
	struct err e = {0};

	if (a.db == NULL && (db_open(":memory:", DB_OPEN_CREATE, &a.db,
	    &e) != 0 || db_migrate(a.db, NULL, NULL, &e) != 0))
		abort();
	if (nl != NULL && memchr(data, '\0', (size_t)(nl - data)) == NULL) {
		buf_add(&rest, data, (size_t)(nl - data));
		buf_adds(&rest, "");
		one("POST", rest.p, nl + 1, len - (size_t)(nl - data) - 1);
		one("GET", rest.p, NULL, 0);
	} else
		one("POST", "new-account", data, len);
	buf_free(&rest);
	err_free(&e);
	ERR_clear_error();
	return 0;
}
