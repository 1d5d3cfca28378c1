/* clock - UTC time in RFC 3339 (see clock.h). */
#include <stdio.h>
#include <string.h>
#include "clock.h"

time_t
clock_now(void)
{
	return time(NULL);
}

/* sep, then v (0..99) in two digits */
static void
two(char *p, char sep, int v)
{
	p[0] = sep;
	p[1] = (char)('0' + v / 10);
	p[2] = (char)('0' + v % 10);
}

void
clock_fmt(struct buf *b, time_t t)
{
	struct tm tm;
	char s[20];
	int y;

	if (gmtime_r(&t, &tm) == NULL) {
		buf_adds(b, "invalid-time");
		return;
	}
	y = tm.tm_year + 1900;
	if (y < 0 || y > 9999) {
		buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02dZ", y,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		return;
	}
	/* by hand: every stage stamps several rows per record, and
	 * printf's format machinery cost more than the rest of this */
	s[0] = (char)('0' + y / 1000);
	s[1] = (char)('0' + y / 100 % 10);
	s[2] = (char)('0' + y / 10 % 10);
	s[3] = (char)('0' + y % 10);
	two(s + 4, '-', tm.tm_mon + 1);
	two(s + 7, '-', tm.tm_mday);
	two(s + 10, 'T', tm.tm_hour);
	two(s + 13, ':', tm.tm_min);
	two(s + 16, ':', tm.tm_sec);
	s[19] = 'Z';
	buf_add(b, s, sizeof s);
}

int
clock_parse(const char *what, const char *s, time_t *out, struct err *e)
{
	struct tm tm;
	const char *end;
	time_t t;

	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && *end == 'T')
		end = strptime(end + 1, "%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return err_set(e, EX_DATAERR, "%s: not a UTC time "
		    "(YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ): '%s'", what, s);
	t = timegm(&tm);
	if (t == (time_t)-1)
		return err_set(e, EX_DATAERR, "%s: time out of range: '%s'",
		    what, s);
	*out = t;
	return 0;
}
