/* t_acme_ari - the ARI CertID parser (RFC 9773 4.1) and the renewal
 * window: inside the template rule's window, a quarter of it long,
 * the same for one serial, spread over serials. */
#include <stdlib.h>
#include <string.h>
#include "acme_int.h"
#include "tap.h"

static void
test_certid(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *aki_hex, *serial;
	} t[] = {
		/* RFC 9773 appendix A: keyIdentifier 69:88:5B:6B:87:46:40:41:
		 * E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4, serial 00:87:65:43:21 */
		{ "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", 0,
		  "69885b6b87464041e1b37b847ba0ae2cde01c8d4", "87654321" },
		{ "AQ.AQ", 0, "01", "01" },
		{ "AQ.fw", 0, "01", "7f" },
		{ "AQ.AIA", 0, "01", "80" },
		{ "AQ.AQID", 0, "01", "010203" },
		{ "AQ.gA", EX_DATAERR, NULL, NULL },	/* negative */
		{ "AQ.AH8", EX_DATAERR, NULL, NULL },	/* not minimal */
		{ "AQ.AA", EX_DATAERR, NULL, NULL },	/* zero */
		{ "AQ", EX_DATAERR, NULL, NULL },
		{ ".AQ", EX_DATAERR, NULL, NULL },
		{ "AQ.", EX_DATAERR, NULL, NULL },
		{ "AQ.AQ.AQ", EX_DATAERR, NULL, NULL },
		{ "AQ=.AQ", EX_DATAERR, NULL, NULL },	/* padding */
		{ "A+.AQ", EX_DATAERR, NULL, NULL },	/* not base64url */
		{ "AR.AQ", EX_DATAERR, NULL, NULL },	/* stray bits: not canonical */
		{ "AQ.AR", EX_DATAERR, NULL, NULL },
		{ "AQ.AQ%3D", EX_DATAERR, NULL, NULL },
		{ "", EX_DATAERR, NULL, NULL },
		/* 22 serial octets: more than 20 and a sign octet */
		{ "AQ.AQIDBAUGBwgJCgsMDQ4PEBESExQVFg", EX_DATAERR, NULL, NULL },
		{ NULL, EX_DATAERR, NULL, NULL },
	};
	struct buf aki = {0}, sn = {0}, hex = {0};
	struct err e = {0};
	size_t i, j;
	int rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		rc = acme_ari_certid(t[i].in, &aki, &sn, &e);
		is_int(rc, t[i].rc, "certid '%s'", t[i].in ? t[i].in : "(null)");
		if (rc == 0 && t[i].rc == 0) {
			buf_reset(&hex);
			for (j = 0; j < aki.len; j++)
				buf_printf(&hex, "%02x", (unsigned char)aki.p[j]);
			is_str(buf_str(&hex), t[i].aki_hex, "certid '%s' aki",
			    t[i].in);
			is_str(buf_str(&sn), t[i].serial, "certid '%s' serial",
			    t[i].in);
		}
		err_free(&e);
	}
	buf_free(&aki);
	buf_free(&sn);
	buf_free(&hex);
}

static void
test_window(void)
{
	const time_t nb = 1800000000, na = nb + 90 * 86400;
	time_t s, en, s2, en2, first = 0;
	struct err e = {0};
	char serial[32];
	int i, differ = 0, inside = 1;

	/* 30d: due 30 days before notAfter, window [na-30d, na-15d] */
	is_int(acme_ari_window("30d", nb, na, "0a1b", &s, &en, &e), 0, "30d");
	is_int(en - s, 30 * 86400 / 4, "30d: a quarter of 30 days long");
	acme_ari_window("30d", nb, na, "0a1b", &s2, &en2, &e);
	ok(s == s2 && en == en2, "the same serial, the same window");
	for (i = 0; i < 200; i++) {
		snprintf(serial, sizeof serial, "%04x", i);
		acme_ari_window(NULL, nb, na, serial, &s, &en, &e);
		/* default: a third of 90 days, 30 days */
		if (s < na - 30 * 86400 || en > na - 15 * 86400 || en <= s)
			inside = 0;
		if (i == 0)
			first = s;
		else if (s != first)
			differ = 1;
	}
	ok(inside, "default rule: 200 serials, all inside [na-30d, na-15d]");
	ok(differ, "... and not all at the same time");
	is_int(acme_ari_window("50%", nb, na, "01", &s, &en, &e), 0, "50%%");
	ok(s >= na - 45 * 86400 && en <= na - 45 * 86400 / 2,
	    "50%%: inside [na-45d, na-22.5d]");
	is_int(acme_ari_window("400d", nb, na, "01", &s, &en, &e), 0,
	    "400d: capped at the lifetime");
	ok(s >= nb && en <= nb + 45 * 86400, "... inside [nb, nb+45d]");
	is_int(acme_ari_window("0%", nb, na, "01", &s, &en, &e), EX_DATAERR,
	    "0%% refused");
	err_free(&e);
	is_int(acme_ari_window("30", nb, na, "01", &s, &en, &e), EX_DATAERR,
	    "a number without a unit refused");
	err_free(&e);
	is_int(acme_ari_window("3x0d", nb, na, "01", &s, &en, &e), EX_DATAERR,
	    "garbage refused");
	err_free(&e);
}

int
main(void)
{
	test_certid();
	test_window();
	return tap_done();
}
