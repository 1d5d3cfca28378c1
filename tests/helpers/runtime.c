/*
 * runtime - bench helper: run a command N times and write the median of
 * its wall time, its peak RSS and its user and system CPU time (the
 * command's and its waited-for children's) to FILE, in the order
 * /usr/bin/time -f '%e %M %U %S' writes them, but to the microsecond:
 * the CRL benches time runs of tens of milliseconds, where time(1)'s
 * hundredths of a second are a fifth of the figure. Not installed.
 *
 * usage: runtime -o FILE [-n N] command [arg...]
 * Exits with the first failing run's status (and stops there), 0 when
 * all N runs exited 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define MAXRUNS 99

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	double wall[MAXRUNS], user[MAXRUNS], sys[MAXRUNS], rss[MAXRUNS];
	struct timespec t0, t1;
	struct rusage ru;
	const char *file = NULL;
	FILE *f;
	pid_t pid;
	int c, n = 3, i, st;

	while ((c = getopt(argc, argv, "+o:n:")) != -1)
		switch (c) {
		case 'o':
			file = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		default:
			goto usage;
		}
	if (file == NULL || optind == argc || n < 1 || n > MAXRUNS)
		goto usage;
	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((pid = fork()) < 0) {
			fprintf(stderr, "runtime: fork: %s\n", strerror(errno));
			return 71;
		}
		if (pid == 0) {
			execvp(argv[optind], argv + optind);
			fprintf(stderr, "runtime: %s: %s\n", argv[optind],
			    strerror(errno));
			_exit(127);
		}
		while (wait4(pid, &st, 0, &ru) < 0)
			if (errno != EINTR) {
				fprintf(stderr, "runtime: wait: %s\n",
				    strerror(errno));
				return 71;
			}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 70;
		wall[i] = (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		user[i] = tv(ru.ru_utime);
		sys[i] = tv(ru.ru_stime);
		rss[i] = (double)ru.ru_maxrss;
	}
	if ((f = fopen(file, "w")) == NULL) {
		fprintf(stderr, "runtime: %s: %s\n", file, strerror(errno));
		return 73;
	}
	fprintf(f, "%.4f %.0f %.4f %.4f\n", median(wall, n), median(rss, n),
	    median(user, n), median(sys, n));
	if (fclose(f) != 0) {
		fprintf(stderr, "runtime: %s: %s\n", file, strerror(errno));
		return 74;
	}
	return 0;
usage:
	fprintf(stderr, "usage: runtime -o FILE [-n N] command [arg...]\n");
	return 64;
}
