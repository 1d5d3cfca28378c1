/* t_domain - name normalization and coverage, per realm. */
#include <stdlib.h>
#include <unistd.h>
#include "domain.h"
#include "tap.h"

static void
test_normalize(void)
{
	static const char l63[] =
	    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc";
	static const struct {
		const char *in;
		int wildcard, rc;
		const char *want;
	} t[] = {
		{ "example.com", 0, 0, "example.com" },
		{ "Example.COM", 0, 0, "example.com" },
		{ "example.com.", 0, 0, "example.com" },
		{ "corp", 0, 0, "corp" },
		{ "a-b.c-d.example", 0, 0, "a-b.c-d.example" },
		{ "xn--bcher-kva.example", 0, 0, "xn--bcher-kva.example" },
		{ "123.example.com", 0, 0, "123.example.com" },
		{ "*.example.com", 1, 0, "*.example.com" },
		{ "*.Example.com.", 1, 0, "*.example.com" },
		{ "*.example.com", 0, EX_DATAERR, NULL },
		{ "*", 1, EX_DATAERR, NULL },
		{ "*.", 1, EX_DATAERR, NULL },
		{ "a.*.example.com", 1, EX_DATAERR, NULL },
		{ "*a.example.com", 1, EX_DATAERR, NULL },
		{ "**.example.com", 1, EX_DATAERR, NULL },
		{ "", 0, EX_DATAERR, NULL },
		{ ".", 0, EX_DATAERR, NULL },
		{ ".example.com", 0, EX_DATAERR, NULL },
		{ "example..com", 0, EX_DATAERR, NULL },
		{ "example.com..", 0, EX_DATAERR, NULL },
		{ "-a.example.com", 0, EX_DATAERR, NULL },
		{ "a-.example.com", 0, EX_DATAERR, NULL },
		{ "a_b.example.com", 0, EX_DATAERR, NULL },
		{ "a b.example.com", 0, EX_DATAERR, NULL },
		{ "exämple.com", 0, EX_DATAERR, NULL },
		{ "example.com/x", 0, EX_DATAERR, NULL },
		{ "10.0.0.1", 0, EX_DATAERR, NULL },
		{ "1", 0, EX_DATAERR, NULL },
	};
	struct err e = {0};
	struct buf b = {0};
	char *s;
	size_t i;
	int rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		s = strdup(t[i].in);
		rc = domain_normalize(s, t[i].wildcard, &e);
		is_int(rc, t[i].rc, "normalize '%s'%s", t[i].in,
		    t[i].wildcard ? " (wildcard ok)" : "");
		if (rc == 0)
			is_str(s, t[i].want, "normalize '%s' result", t[i].in);
		else
			ok(strchr(err_str(&e), '\n') == NULL &&
			    strncmp(err_str(&e), "domain '", 8) == 0,
			    "one-line message: %s", err_str(&e));
		free(s);
	}

	/* lengths: 63 per label, 253 in all */
	buf_printf(&b, "%s.example", l63);
	s = strdup(b.p);
	is_int(domain_normalize(s, 0, &e), 0, "63-octet label");
	free(s);
	buf_reset(&b);
	buf_printf(&b, "%sd.example", l63);
	s = strdup(b.p);
	is_int(domain_normalize(s, 0, &e), EX_DATAERR, "64-octet label");
	free(s);
	buf_reset(&b);
	/* 3 x 64 + 61 = 253 */
	buf_printf(&b, "%s.%s.%s.%.61s", l63, l63, l63, l63);
	is_int((long long)b.len, 253, "253-octet name built");
	s = strdup(b.p);
	is_int(domain_normalize(s, 0, &e), 0, "253 octets accepted");
	free(s);
	buf_addc(&b, '.');
	s = strdup(b.p);
	is_int(domain_normalize(s, 0, &e), 0, "253 octets plus the root dot");
	free(s);
	buf_reset(&b);
	buf_printf(&b, "%s.%s.%s.%.62s", l63, l63, l63, l63);
	s = strdup(b.p);
	is_int(domain_normalize(s, 0, &e), EX_DATAERR, "254 octets refused");
	free(s);
	buf_free(&b);
	err_free(&e);
}

static void
add(struct db *db, int64_t realm, const char *name, int enabled)
{
	struct err e = {0};

	if (db_exec(db, &e, "INSERT INTO domains (realm_id, name, enabled, "
	    "created_at, updated_at) VALUES (?, ?, ?, 'now', 'now')", "iti",
	    realm, name, (int64_t)enabled) != 0)
		ok(0, "insert %s: %s", name, err_str(&e));
	err_free(&e);
}

static void
test_covers(void)
{
	char dir[] = "/tmp/t_domain.XXXXXX";
	struct buf path = {0};
	struct err e = {0};
	struct db *db = NULL;
	int64_t a = 1, b = 0;
	char *apex = NULL;
	size_t i;
	static const struct {
		const char *name;
		int in_a, in_b;
		const char *apex_a;
	} t[] = {
		{ "example.com", 1, 0, "example.com" },
		{ "www.example.com", 1, 0, "example.com" },
		{ "a.b.c.example.com", 1, 0, "example.com" },
		{ "*.example.com", 1, 0, "example.com" },
		{ "*.a.example.com", 1, 0, "a.example.com" },
		{ "x.a.example.com", 1, 0, "a.example.com" },
		{ "notexample.com", 0, 0, NULL },
		{ "example.com.evil.test", 0, 0, NULL },
		{ "com", 0, 0, NULL },
		{ "*.com", 0, 0, NULL },
		{ "corp", 1, 0, "corp" },
		{ "host.corp", 1, 0, "corp" },
		{ "other.test", 0, 1, NULL },
		{ "www.other.test", 0, 1, NULL },
		{ "old.test", 0, 0, NULL },
		{ "www.old.test", 0, 0, NULL },
		{ "www.b-only.test", 0, 1, NULL },
	};

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	buf_printf(&path, "%s/d.db", dir);
	is_int(db_open(path.p, DB_OPEN_CREATE, &db, &e), 0, "open");
	is_int(db_migrate(db, NULL, NULL, &e), 0, "migrate");
	db_exec(db, &e, "INSERT INTO realms (name, created_at) VALUES "
	    "('b', 'now')", "");
	db_int64(db, &b, &e, "SELECT id FROM realms WHERE name = 'b'", "");
	ok(b > 0 && b != a, "second realm");
	add(db, a, "example.com", 1);
	add(db, a, "a.example.com", 1);
	add(db, a, "corp", 1);
	add(db, a, "old.test", 0);		/* disabled covers nothing */
	add(db, b, "other.test", 1);		/* realm B only */
	add(db, b, "b-only.test", 1);
	add(db, b, "old.test", 1);		/* enabled in B, not in A */
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		is_int(domain_covers(db, a, t[i].name, &e), t[i].in_a,
		    "realm A: %s %s", t[i].name, t[i].in_a ? "covered" :
		    "not covered");
		if (strcmp(t[i].name, "old.test") == 0 ||
		    strcmp(t[i].name, "www.old.test") == 0)
			is_int(domain_covers(db, b, t[i].name, &e), 1,
			    "realm B: %s covered (enabled there)", t[i].name);
		else
			is_int(domain_covers(db, b, t[i].name, &e), t[i].in_b,
			    "realm B: %s %s", t[i].name, t[i].in_b ?
			    "covered" : "not covered");
		is_int(domain_apex(db, a, t[i].name, &apex, &e), t[i].in_a,
		    "apex in A of %s", t[i].name);
		is_str(apex, t[i].apex_a, "apex in A of %s is the most "
		    "specific domain", t[i].name);
		free(apex);
		apex = NULL;
	}
	is_int(domain_covers(db, 999, "example.com", &e), 0,
	    "unknown realm covers nothing");
	db_close(db);
	buf_reset(&path);
	buf_printf(&path, "rm -rf %s", dir);
	if (system(path.p) != 0)
		ok(0, "cleanup");
	buf_free(&path);
	err_free(&e);
}

int
main(void)
{
	test_normalize();
	test_covers();
	return tap_done();
}
