/* json - a small JSON writer for --json output (see json.h). */
#include <inttypes.h>
#include <stdlib.h>
#include "json.h"

void
jw_init(struct jw *w, struct buf *b)
{
	w->b = b;
	w->depth = 0;
	w->count[0] = 0;
	w->after_key = 0;
}

static void
sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->count[w->depth]++ > 0)
		buf_addc(w->b, ',');
}

static void
open_(struct jw *w, char c, char closer)
{
	sep(w);
	buf_addc(w->b, c);
	if (w->depth + 1 >= JW_MAXDEPTH)
		abort();
	w->depth++;
	w->count[w->depth] = 0;
	w->closer[w->depth] = closer;
}

void jw_obj(struct jw *w) { open_(w, '{', '}'); }
void jw_arr(struct jw *w) { open_(w, '[', ']'); }

void
jw_end(struct jw *w)
{
	if (w->depth == 0)
		abort();
	buf_addc(w->b, w->closer[w->depth]);
	w->depth--;
}

static void
str(struct buf *b, const char *s)
{
	const unsigned char *p;

	buf_addc(b, '"');
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': buf_adds(b, "\\\""); break;
		case '\\': buf_adds(b, "\\\\"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\r': buf_adds(b, "\\r"); break;
		case '\t': buf_adds(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_addc(b, (char)*p);
		}
	}
	buf_addc(b, '"');
}

void
jw_key(struct jw *w, const char *k)
{
	sep(w);
	str(w->b, k);
	buf_addc(w->b, ':');
	w->after_key = 1;
}

void
jw_str(struct jw *w, const char *s)
{
	if (s == NULL) {
		jw_null(w);
		return;
	}
	sep(w);
	str(w->b, s);
}

void
jw_int(struct jw *w, int64_t v)
{
	sep(w);
	buf_printf(w->b, "%" PRId64, v);
}

void
jw_bool(struct jw *w, int v)
{
	sep(w);
	buf_adds(w->b, v ? "true" : "false");
}

void
jw_null(struct jw *w)
{
	sep(w);
	buf_adds(w->b, "null");
}

void jw_kstr(struct jw *w, const char *k, const char *s) { jw_key(w, k); jw_str(w, s); }
void jw_kint(struct jw *w, const char *k, int64_t v) { jw_key(w, k); jw_int(w, v); }
void jw_kbool(struct jw *w, const char *k, int v) { jw_key(w, k); jw_bool(w, v); }
