/* t_dcv - the checks' pure parts: names, the dns-01 value, arguments
 * refused before any network traffic. */
#include <string.h>
#include "dcv.h"
#include "tap.h"

static void
t_names(void)
{
	static const struct { const char *name; int ok; } t[] = {
		{ "x.test", 1 }, { "a-b.c", 1 }, { "localhost", 1 },
		{ "A.Example.COM", 1 }, { "", 0 }, { "x..test", 0 },
		{ ".x.test", 0 }, { "x.test.", 0 }, { "*.x.test", 0 },
		{ "-a.test", 0 }, { "a-.test", 0 }, { "a_b.test", 0 },
		{ "x.test/evil", 0 }, { "x.test:80", 0 }, { "x test", 0 },
	};
	char label[70];
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		is_int(dcv_name_ok(t[i].name), t[i].ok, "name '%s'",
		    t[i].name);
	memset(label, 'a', 64);
	memcpy(label + 64, ".test", 6);
	is_int(dcv_name_ok(label), 0, "64-byte label");
	is_int(dcv_name_ok(label + 1), 1, "63-byte label");
}

static void
t_value(void)
{
	struct buf b = {0};

	/* RFC 8555 section 8.1's token and a thumbprint; digest from
	 * Python's hashlib, independently */
	dcv_dns01_value("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."
	    "nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ", &b);
	is_str(b.p, "NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0",
	    "key authorization: base64url SHA-256, unpadded");
	dcv_dns01_value("NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0", &b);
	is_str(b.p, "NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0",
	    "a digest stays as it is");
	buf_free(&b);
}

static void
t_args(void)
{
	struct dcv_conf c = DCV_CONF_INIT;
	struct err e = {0};
	const char *bad[] = { "not base64!" };
	const char *res[] = { "x.test", NULL };

	c.resolver = "127.0.0.1:9";	/* never reached */
	is_int(dcv_http01(&c, "x..test", "t", "t.k", &e), EX_USAGE,
	    "http-01: bad name");
	is_str(err_str(&e), "http-01 x..test: not a DNS name", "says so");
	is_int(dcv_http01(&c, "x.test", "../t", "t.k", &e), EX_USAGE,
	    "http-01: token outside base64url");
	is_int(dcv_http01(&c, "x.test", "t", "tk", &e), EX_USAGE,
	    "http-01: key authorization without a dot");
	is_int(dcv_http01(&c, "x.test", "t", "t.k\n", &e), EX_USAGE,
	    "http-01: key authorization with a newline");
	c.resolve = res;
	is_int(dcv_http01(&c, "x.test", "t", "t.k", &e), EX_USAGE,
	    "http-01: resolve entry without an address");
	is_int(dcv_dns01(&c, "*.x.test", bad, 0, &e), EX_USAGE,
	    "dns-01: wildcard name (the base name is checked)");
	is_int(dcv_dns01(&c, "x.test", bad, 1, &e), EX_USAGE,
	    "dns-01: expected value neither form");
	c.resolver = "nowhere:53";
	bad[0] = "abc";
	is_int(dcv_dns01(&c, "x.test", bad, 1, &e), EX_USAGE,
	    "dns-01: resolver not an address");
	ok(strstr(err_str(&e), "dns-01 x.test: resolver") == err_str(&e),
	    "named: %s", err_str(&e));
	err_free(&e);
}

int
main(void)
{
	struct err e = {0};

	dcv_init(&e);
	t_names();
	t_value();
	t_args();
	dcv_fini();
	return tap_done();
}
