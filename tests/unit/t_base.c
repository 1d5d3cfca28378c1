/* t_base - buf, num, clock, json, fs: table-driven unit tests. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "clock.h"
#include "fs.h"
#include "json.h"
#include "num.h"
#include "tap.h"

static void
test_num(void)
{
	static const struct {
		const char *s;
		uint64_t min, max;
		int rc;
		uint64_t want;
	} t[] = {
		{ "1", 1, 10, 0, 1 },
		{ "10", 1, 10, 0, 10 },
		{ "0", 1, 10, EX_DATAERR, 0 },
		{ "11", 1, 10, EX_DATAERR, 0 },
		{ "", 1, 10, EX_DATAERR, 0 },
		{ "-1", 0, 10, EX_DATAERR, 0 },
		{ "+1", 0, 10, EX_DATAERR, 0 },
		{ " 1", 0, 10, EX_DATAERR, 0 },
		{ "1 ", 0, 10, EX_DATAERR, 0 },
		{ "10d", 0, 100, EX_DATAERR, 0 },
		{ "99999999999999999999999", 0, UINT64_MAX, EX_DATAERR, 0 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
	};
	struct err e = {0};
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		v = 0;
		is_int(num_u64("n", t[i].s, t[i].min, t[i].max, &v, &e),
		    t[i].rc, "num_u64('%s') status", t[i].s);
		if (t[i].rc == 0)
			is_int((long long)v, (long long)t[i].want,
			    "num_u64('%s') value", t[i].s);
	}
	{
		int64_t s = 0;
		is_int(num_i64("n", "-1", -1, 16, &s, &e), 0, "num_i64 -1");
		is_int(s, -1, "num_i64 -1 value");
		is_int(num_i64("n", "-2", -1, 16, &s, &e), EX_DATAERR,
		    "num_i64 -2 below range");
		is_str(err_str(&e), "n: -2 is out of range -1..16",
		    "range message names the value and range");
	}
	err_free(&e);
}

static void
test_clock(void)
{
	struct buf b = {0};
	struct err e = {0};
	time_t t = 0;

	clock_fmt(&b, 0);
	is_str(b.p, "1970-01-01T00:00:00Z", "clock_fmt epoch");
	buf_reset(&b);
	is_int(clock_parse("t", "2026-11-22T10:11:12Z", &t, &e), 0,
	    "clock_parse full");
	clock_fmt(&b, t);
	is_str(b.p, "2026-11-22T10:11:12Z", "clock round trip");
	buf_reset(&b);
	clock_fmt(&b, 951868799);
	is_str(b.p, "2000-02-29T23:59:59Z", "clock_fmt leap day");
	buf_reset(&b);
	clock_fmt(&b, 253402300799);
	is_str(b.p, "9999-12-31T23:59:59Z", "clock_fmt last 4-digit second");
	buf_reset(&b);
	clock_fmt(&b, 253402300800);
	is_str(b.p, "10000-01-01T00:00:00Z", "clock_fmt year 10000");
	buf_reset(&b);
	is_int(clock_parse("t", "2026-11-22", &t, &e), 0, "clock_parse date");
	is_int(clock_parse("t", "2026-11-22T10:11", &t, &e), EX_DATAERR,
	    "clock_parse rejects a partial time");
	is_int(clock_parse("t", "yesterday", &t, &e), EX_DATAERR,
	    "clock_parse rejects words");
	buf_free(&b);
	err_free(&e);
}

static void
test_json(void)
{
	struct buf b = {0};
	struct jw w;

	jw_init(&w, &b);
	jw_obj(&w);
	jw_kstr(&w, "a", "x\"y\\z\n\t\001");
	jw_kint(&w, "n", -5);
	jw_key(&w, "l");
	jw_arr(&w);
	jw_bool(&w, 1);
	jw_null(&w);
	jw_str(&w, NULL);
	jw_obj(&w);
	jw_end(&w);
	jw_end(&w);
	jw_end(&w);
	is_str(b.p, "{\"a\":\"x\\\"y\\\\z\\n\\t\\u0001\",\"n\":-5,"
	    "\"l\":[true,null,null,{}]}", "json writer escapes and nests");
	buf_free(&b);
}

/* fs_write_all: more than a pipe holds, read back whole by a child;
 * a closed pipe is -1 with EPIPE (SIGPIPE ignored, as publish-crl does). */
static void
test_write_all(struct err *e)
{
	enum { N = 300000 };
	unsigned char *big = malloc(N);
	struct buf got = {0};
	int pp[2], st = 0;
	size_t i;
	pid_t pid;

	for (i = 0; i < N; i++)
		big[i] = (unsigned char)(i * 7);
	if (pipe(pp) < 0 || (pid = fork()) < 0) {
		ok(0, "pipe and fork");
		free(big);
		return;
	}
	if (pid == 0) {
		close(pp[1]);
		_exit(fs_read_fd(pp[0], 2 * N, &got, e) == 0 && got.len == N &&
		    memcmp(got.p, big, N) == 0 ? 0 : 1);
	}
	close(pp[0]);
	is_int(fs_write_all(pp[1], big, N), 0, "fs_write_all: 300000 bytes");
	close(pp[1]);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fs_write_all: read back "
	    "whole and in order");
	signal(SIGPIPE, SIG_IGN);
	if (pipe(pp) == 0) {
		close(pp[0]);
		is_int(fs_write_all(pp[1], big, 10), -1, "fs_write_all: no "
		    "reader is -1");
		is_int(errno, EPIPE, "with EPIPE");
		close(pp[1]);
	}
	signal(SIGPIPE, SIG_DFL);
	free(big);
}

static void
test_fs(void)
{
	char dir[] = "/tmp/t_base.XXXXXX";
	struct buf p = {0}, got = {0};
	struct err e = {0};
	struct stat st;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	buf_printf(&p, "%s/a/b/c", dir);
	is_int(fs_mkdirs(p.p, 0700, &e), 0, "fs_mkdirs nested");
	buf_reset(&p);
	buf_printf(&p, "%s/a/f", dir);
	is_int(fs_write_atomic(p.p, "one", 3, 0600, &e), 0, "write new");
	is_int(fs_write_atomic(p.p, "two!", 4, 0640, &e), 0, "replace");
	is_int(fs_read(p.p, 100, &got, &e), 0, "read back");
	is_str(got.p, "two!", "contents replaced whole");
	stat(p.p, &st);
	is_int(st.st_mode & 0777, 0640, "mode set");
	buf_reset(&got);
	is_int(fs_read(p.p, 3, &got, &e), EX_DATAERR, "read cap enforced");
	is_int(fs_unlink_secret(p.p, &e), 0, "unlink secret");
	is_int(access(p.p, F_OK), -1, "gone");
	buf_reset(&got);
	is_int(fs_read(p.p, 3, &got, &e), EX_NOINPUT, "missing is EX_NOINPUT");
	test_write_all(&e);
	buf_reset(&p);
	buf_printf(&p, "rm -rf %s", dir);
	if (system(p.p) != 0)
		ok(0, "cleanup");
	buf_free(&p);
	buf_free(&got);
	err_free(&e);
}

static void
test_buf(void)
{
	struct buf b = {0};
	char *s;
	int i;

	is_str(buf_str(&b), "", "empty buf is \"\"");
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	is_int((long long)b.len, 3890, "buf grows");
	err_free(NULL);
	s = buf_steal(&b);
	is_int((long long)b.len, 0, "steal empties");
	free(s);
	buf_free(&b);
}

/* buf_base64_lines against OpenSSL's encoder, 48 bytes a line, for
 * every length up to a few lines and every byte value. */
static void
test_base64(void)
{
	unsigned char data[300], line[80];
	struct buf got = {0}, want = {0};
	size_t n, off, k;
	long long first = -1;
	int bad = 0;

	for (n = 0; n < sizeof data; n++)
		data[n] = (unsigned char)(n * 151 + 7);
	for (n = 0; n <= sizeof data; n++) {
		buf_reset(&got);
		buf_reset(&want);
		buf_adds(&got, "x");
		buf_adds(&want, "x");
		buf_base64_lines(&got, data, n);
		for (off = 0; off < n; off += k) {
			k = n - off > 48 ? 48 : n - off;
			EVP_EncodeBlock(line, data + off, (int)k);
			buf_adds(&want, (char *)line);
			buf_addc(&want, '\n');
		}
		if (got.len != want.len || strcmp(got.p, want.p) != 0) {
			if (!bad)
				first = (long long)n;
			bad++;
		}
	}
	is_int(first, -1, "buf_base64_lines is EVP_EncodeBlock's, 0..300 bytes "
	    "(the first length that differs)");
	buf_free(&got);
	buf_free(&want);
}

int
main(void)
{
	test_num();
	test_clock();
	test_json();
	test_fs();
	test_buf();
	test_base64();
	return tap_done();
}
