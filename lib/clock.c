/* clock - UTC time in RFC 3339 (see clock.h). */
#include <stdio.h>
#include <string.h>
#include "clock.h"

time_t
clock_now(void)
{
	return time(NULL);
}

void
clock_fmt(struct buf *b, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		buf_adds(b, "invalid-time");
		return;
	}
	buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
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
