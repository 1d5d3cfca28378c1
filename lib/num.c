/* num - the checked number parser (see num.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include "num.h"

int
num_u64(const char *what, const char *s, uint64_t min, uint64_t max,
    uint64_t *out, struct err *e)
{
	uintmax_t v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		goto bad;
	errno = 0;
	v = strtoumax(s, &end, 10);
	if (errno != 0 || *end != '\0')
		goto bad;
	if (v < min || v > max)
		return err_set(e, EX_DATAERR, "%s: %s is out of range %" PRIu64
		    "..%" PRIu64, what, s, min, max);
	*out = (uint64_t)v;
	return 0;
bad:
	return err_set(e, EX_DATAERR, "%s: not a number: '%s'", what,
	    s ? s : "");
}

int
num_i64(const char *what, const char *s, int64_t min, int64_t max,
    int64_t *out, struct err *e)
{
	intmax_t v;
	char *end;

	if (s == NULL || (*s != '-' && (*s < '0' || *s > '9')))
		goto bad;
	errno = 0;
	v = strtoimax(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s)
		goto bad;
	if (v < min || v > max)
		return err_set(e, EX_DATAERR, "%s: %s is out of range %" PRId64
		    "..%" PRId64, what, s, min, max);
	*out = (int64_t)v;
	return 0;
bad:
	return err_set(e, EX_DATAERR, "%s: not a number: '%s'", what,
	    s ? s : "");
}
