/*
 * fuzz_dropin - libFuzzer target for spool_wrap, which turns whatever a
 * user drops into queue/incoming/new/ into a job record. Whatever the
 * bytes, the record must be valid (write, parse, write the same bytes),
 * keep its identity (Id, Type, Source, Requested-By are not the
 * dropper's to say), and either carry a request or be failed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "rec.h"
#include "spool.h"

#define ID	"f0000000-0000-4000-8000-00000000f022"
#define OWNER	"fuzz"
#define MAX_DROPIN	(64 * 1024)	/* spool_adopt reads no more */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
roundtrip(const struct rec *r)
{
	struct rec *r2 = NULL;
	struct buf a = {0}, b = {0};
	struct err e = {0};

	rec_write(r, &a);
	if (rec_parse(a.p, a.len, &r2, &e) != 0)
		__builtin_trap();	/* not a valid record */
	rec_write(r2, &b);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		__builtin_trap();	/* not canonical */
	rec_free(r2);
	buf_free(&a);
	buf_free(&b);
	err_free(&e);
}

static int
is(const struct rec *r, const char *name, const char *want)
{
	const char *v = rec_get(r, name);

	return v != NULL && strcmp(v, want) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const unsigned char *der;
	struct rec *r = NULL;
	struct err e = {0};
	size_t dlen;
	int final;

	if (len > MAX_DROPIN)
		return 0;
	if (spool_wrap(ID, OWNER, data, len, &r, &final, &e) != 0 ||
	    r == NULL)
		__builtin_trap();	/* every drop-in becomes a job */
	roundtrip(r);
	if (strcmp(rec_id(r), ID) != 0 || !is(r, "Type", "csr") ||
	    !is(r, "Source", "spool") || !is(r, "Requested-By", OWNER) ||
	    rec_get(r, "Realm") == NULL)
		__builtin_trap();
	if (final ? !is(r, "Status", "failed") :
	    rec_get(r, "Status") != NULL ||
	    !rec_find_pem(r, "CERTIFICATE REQUEST", &der, &dlen))
		__builtin_trap();	/* runnable, or failed with a reason */
	rec_free(r);
	err_free(&e);
	return 0;
}
