/* domain - registered domains and the coverage question (see domain.h). */
#include <stdlib.h>
#include <string.h>
#include "domain.h"

#define NAME_MAX_LEN	253	/* RFC 1035 2.3.4, without the final dot */
#define LABEL_MAX_LEN	63

static int
is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

int
domain_normalize(char *name, int wildcard, struct err *e)
{
	const char *p, *label, *why = NULL;
	size_t n = strlen(name), len;
	int digits;
	char *q;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0) {
		why = "empty name";
		goto bad;
	}
	if (n > NAME_MAX_LEN) {
		why = "longer than 253 characters";
		goto bad;
	}
	p = name;
	if (p[0] == '*') {
		if (!wildcard) {
			why = "wildcards are not allowed here";
			goto bad;
		}
		if (n < 3 || p[1] != '.') {
			why = "a wildcard is '*.' followed by a name";
			goto bad;
		}
		p += 2;
	}
	/* walk the labels of p[0 .. name+n) */
	for (;;) {
		label = p;
		digits = 1;
		while (p < name + n && *p != '.') {
			if (*p == '*') {
				why = "'*' is only allowed as the whole leftmost "
				    "label";
				goto bad;
			}
			if (!is_ldh(*p)) {
				why = "only letters, digits, '-' and '.' are "
				    "allowed";
				goto bad;
			}
			if (*p < '0' || *p > '9')
				digits = 0;
			p++;
		}
		len = (size_t)(p - label);
		if (len == 0) {
			why = "empty label";
			goto bad;
		}
		if (len > LABEL_MAX_LEN) {
			why = "label longer than 63 characters";
			goto bad;
		}
		if (label[0] == '-' || label[len - 1] == '-') {
			why = "label starts or ends with '-'";
			goto bad;
		}
		if (p == name + n)
			break;
		p++;	/* the dot */
	}
	/* No top-level label is all digits: this keeps IPv4 addresses out
	 * of the DNS name space (they are IP SANs, not domains). */
	if (digits) {
		why = "the last label is all digits (an IP address?)";
		goto bad;
	}
	name[n] = '\0';
	for (q = name; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	return 0;
bad:
	return err_set(e, EX_DATAERR, "domain '%s': %s", name, why);
}

int
domain_apex(struct db *db, int64_t realm, const char *name, char **apex,
    struct err *e)
{
	const char *p = name;
	int64_t n;

	if (apex)
		*apex = NULL;
	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	/* The name itself, then each parent at a label boundary: the most
	 * specific registration wins. Exact lookups use the (realm, name)
	 * index and need no LIKE escaping. */
	while (*p) {
		if (db_int64(db, &n, e, "SELECT count(*) FROM domains WHERE "
		    "realm_id = ? AND name = ? AND enabled = 1", "it", realm,
		    p) != 0)
			return -1;
		if (n > 0) {
			if (apex)
				*apex = xstrdup(p);
			return 1;
		}
		if ((p = strchr(p, '.')) == NULL)
			break;
		p++;
	}
	return 0;
}

int
domain_covers(struct db *db, int64_t realm, const char *name, struct err *e)
{
	return domain_apex(db, realm, name, NULL, e);
}
