/* http_util - response headers, %XX decoding and HTTP dates (http.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "diag.h"
#include "http.h"

static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
    "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void
http_resp_header(struct http_resp *rs, const char *name, const char *fmt, ...)
{
	struct buf v = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&v, fmt, ap);
	va_end(ap);
	/* a CR or LF would let a value smuggle a header or a body */
	if (strpbrk(buf_str(&v), "\r\n") != NULL || strpbrk(name, "\r\n: "))
		diag("response header %s: CR, LF or bad name: dropped", name);
	else
		buf_printf(&rs->headers, "%s: %s\r\n", name, buf_str(&v));
	buf_free(&v);
}

void
http_resp_free(struct http_resp *rs)
{
	if (rs == NULL)
		return;
	buf_free(&rs->body);
	buf_free(&rs->headers);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
http_unescape(const char *s, size_t n, int form, struct buf *out)
{
	size_t i, j;
	int hi, lo;

	for (i = 0; i < n; i = j + 1) {
		/* a run without escapes in one piece */
		for (j = i; j < n && s[j] != '%' && (s[j] != '+' || !form); j++)
			;
		if (j > i)
			buf_add(out, s + i, j - i);
		if (j == n)
			break;
		if (s[j] == '%' && j + 2 < n && (hi = hexval(s[j + 1])) >= 0 &&
		    (lo = hexval(s[j + 2])) >= 0) {
			buf_addc(out, (char)(hi << 4 | lo));
			j += 2;
		} else if (s[j] == '+' && form)
			buf_addc(out, ' ');
		else
			buf_addc(out, s[j]);
	}
}

void
http_date(long long t, struct buf *out)
{
	time_t tt = (time_t)t;
	struct tm tm;

	char d[29];
	int y;

	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	/* "Sun, 06 Nov 1994 08:49:37 GMT", written out: this is in every
	 * response, and printf would be most of its cost */
	y = (tm.tm_year + 1900) % 10000;
	if (y < 0)
		y = 0;
	memcpy(d, days[tm.tm_wday % 7], 3);
	memcpy(d + 3, ", 00 ", 5);
	d[5] = (char)('0' + tm.tm_mday / 10 % 10);
	d[6] = (char)('0' + tm.tm_mday % 10);
	memcpy(d + 8, months[tm.tm_mon % 12], 3);
	d[11] = ' ';
	d[12] = (char)('0' + y / 1000);
	d[13] = (char)('0' + y / 100 % 10);
	d[14] = (char)('0' + y / 10 % 10);
	d[15] = (char)('0' + y % 10);
	memcpy(d + 16, " 00:00:00 GMT", 13);
	d[17] = (char)('0' + tm.tm_hour / 10 % 10);
	d[18] = (char)('0' + tm.tm_hour % 10);
	d[20] = (char)('0' + tm.tm_min / 10 % 10);
	d[21] = (char)('0' + tm.tm_min % 10);
	d[23] = (char)('0' + tm.tm_sec / 10 % 10);
	d[24] = (char)('0' + tm.tm_sec % 10);
	buf_add(out, d, sizeof d);
}

/* n decimal digits at s within [lo, hi], or -1. */
static int
digits(const char *s, int n, int lo, int hi)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT": exactly 29 bytes. */
int
http_parse_date(const char *s, long long *t)
{
	struct tm tm;
	int i, mon = -1;

	if (s == NULL || strlen(s) != 29 || s[3] != ',' || s[4] != ' ' ||
	    s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
	    s[22] != ':' || strcmp(s + 25, " GMT") != 0)
		return -1;
	for (i = 0; i < 12; i++)
		if (memcmp(s + 8, months[i], 3) == 0)
			mon = i;
	memset(&tm, 0, sizeof tm);
	tm.tm_mon = mon;
	if (mon < 0 || (tm.tm_mday = digits(s + 5, 2, 1, 31)) < 0 ||
	    (tm.tm_year = digits(s + 12, 4, 1970, 9999)) < 0 ||
	    (tm.tm_hour = digits(s + 17, 2, 0, 23)) < 0 ||
	    (tm.tm_min = digits(s + 20, 2, 0, 59)) < 0 ||
	    (tm.tm_sec = digits(s + 23, 2, 0, 60)) < 0)
		return -1;
	tm.tm_year -= 1900;
	*t = (long long)timegm(&tm);
	return 0;
}
