/*
 * putfiles - bench helper: what publishing some files costs on this
 * machine's disk, with nothing else in the way. Reads each FILE into
 * memory (not timed), then N times writes each to DIR/NAME.tmp,
 * fsyncs it, renames it over DIR/NAME, and fsyncs DIR: the tmp + fsync
 * + rename that publish-crl(1) does for a CRL's DER and PEM. Prints the
 * median wall time of a round, in seconds to the microsecond. The
 * files in DIR should already exist at the same size, as the last CRL
 * does when the next one replaces it. Not installed.
 *
 * usage: putfiles [-n N] DIR FILE...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#define MAXRUNS 99
#define MAXFILES 8

struct file {
	const char *name;	/* the base name */
	char *p;
	size_t n;
};

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
fail(const char *what, const char *path)
{
	fprintf(stderr, "putfiles: %s: %s: %s\n", path, what,
	    strerror(errno));
	return 74;
}

static int
load(const char *path, struct file *f)
{
	struct stat st;
	ssize_t r;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) != 0)
		return fail("open", path);
	f->n = (size_t)st.st_size;
	if ((f->p = malloc(f->n ? f->n : 1)) == NULL)
		return fail("malloc", path);
	while (got < f->n) {
		if ((r = read(fd, f->p + got, f->n - got)) <= 0) {
			close(fd);
			return fail("read", path);
		}
		got += (size_t)r;
	}
	close(fd);
	f->name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	return 0;
}

static int
put(const char *dir, const struct file *f)
{
	char tmp[4096], fin[4096];
	size_t off = 0;
	ssize_t w;
	int fd;

	if (snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, f->name) >=
	    (int)sizeof tmp ||
	    snprintf(fin, sizeof fin, "%s/%s", dir, f->name) >=
	    (int)sizeof fin) {
		errno = ENAMETOOLONG;
		return fail("path", dir);
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return fail("open", tmp);
	while (off < f->n) {
		if ((w = write(fd, f->p + off, f->n - off)) < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return fail("write", tmp);
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		return fail("fsync", tmp);
	if (rename(tmp, fin) != 0)
		return fail("rename", tmp);
	return 0;
}

int
main(int argc, char **argv)
{
	struct file f[MAXFILES];
	double wall[MAXRUNS];
	struct timespec t0, t1;
	const char *dir;
	int c, n = 3, nf, i, k, fd, rc;

	while ((c = getopt(argc, argv, "n:")) != -1)
		switch (c) {
		case 'n':
			n = atoi(optarg);
			break;
		default:
			goto usage;
		}
	if (argc - optind < 2 || argc - optind - 1 > MAXFILES || n < 1 ||
	    n > MAXRUNS)
		goto usage;
	dir = argv[optind];
	nf = argc - optind - 1;
	for (k = 0; k < nf; k++)
		if ((rc = load(argv[optind + 1 + k], &f[k])) != 0)
			return rc;
	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (k = 0; k < nf; k++)
			if ((rc = put(dir, &f[k])) != 0)
				return rc;
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0 ||
		    fsync(fd) != 0)
			return fail("fsync", dir);
		close(fd);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		wall[i] = (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	}
	qsort(wall, (size_t)n, sizeof *wall, cmp);
	printf("%.6f\n", n % 2 ? wall[n / 2] :
	    (wall[n / 2 - 1] + wall[n / 2]) / 2);
	for (k = 0; k < nf; k++)
		free(f[k].p);
	return 0;
usage:
	fprintf(stderr, "usage: putfiles [-n N] DIR FILE...\n");
	return 64;
}
