/*
 * json - a small JSON *writer* for --json output (reading JSON, where
 * hostile input arrives, uses a library; writing it needs only escaping).
 *
 * Usage: jw_begin_obj(w); jw_key(w, "name"); jw_str(w, s); ... jw_end(w);
 * Commas and nesting are tracked in w. Strings are escaped per RFC 8259;
 * NULL strings are written as null.
 */
#ifndef CERTPIPE_JSON_H
#define CERTPIPE_JSON_H
#include <stdint.h>
#include "buf.h"

#define JW_MAXDEPTH 16	/* deeper nesting is a caller bug: it aborts */

struct jw {
	struct buf *b;
	int depth;
	int count[JW_MAXDEPTH];
	char closer[JW_MAXDEPTH];
	int after_key;
};

void jw_init(struct jw *w, struct buf *b);
void jw_obj(struct jw *w);
void jw_arr(struct jw *w);
void jw_end(struct jw *w);
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
/* key + value shorthands */
void jw_kstr(struct jw *w, const char *k, const char *s);
void jw_kint(struct jw *w, const char *k, int64_t v);
void jw_kbool(struct jw *w, const char *k, int v);

#endif
