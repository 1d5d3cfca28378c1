/* ident - names users type (see ident.h). */
#include <string.h>
#include "ident.h"

int
ident_check(const char *kind, const char *name, size_t max, struct err *e)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > max)
		goto bad;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    (i > 0 && (c == '-' || c == '_' || c == '.'))))
			goto bad;
	}
	return 0;
bad:
	return err_set(e, EX_DATAERR, "%s name '%s': 1-%zu of A-Z a-z 0-9 . _ -, "
	    "starting with a letter or digit", kind, name, max);
}
