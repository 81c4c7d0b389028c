/*
 * race: reads every clock through musl many times while the example
 * kernel's timer ticks and rewrites the vDSO data page (tests/templates/kernel,
 * tests/tests/kernel.rs). Built static against musl, embedded in the kernel.
 *
 *   race ROUNDS
 *
 * Every line goes out with one write(2) of its own, so the kernel's
 * `stamp` line printed at that write (its own clocks, read at the system
 * call) brackets the times on the line: a time printed here was read after
 * the previous write and before this one.
 *
 *   race clock=ID reads=N backwards=B changes=C sec=S nsec=N
 *       ROUNDS reads of clock ID through clock_gettime; B reads were below
 *       the one before (must be 0), C differed from it (the coarse clocks
 *       change only at ticks); then one more read, printed.
 *   gettimeofday sec=S usec=U
 *   time sec=S
 *   cputime ret=R errno=E sec=S nsec=N    CLOCK_PROCESS_CPUTIME_ID
 *   invalid ret=R errno=E                 clock id 12345
 *   getres clock=ID ret=R sec=S nsec=N    (musl asks the kernel)
 *   done
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const clockid_t served[] = {
	CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
	CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI,
};
#define N_SERVED (sizeof served / sizeof served[0])

/* One line, one write(2). */
static void line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void line(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		abort();
	if (write(1, buf, n) != n)
		abort();
}

static int64_t ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 100000;
	struct timespec t;

	for (size_t c = 0; c < N_SERVED; c++) {
		clockid_t id = served[c];
		long backwards = 0, changes = 0;
		struct timespec prev;
		if (clock_gettime(id, &prev))
			abort();
		for (long i = 0; i < rounds; i++) {
			if (clock_gettime(id, &t))
				abort();
			if (ns(t) < ns(prev))
				backwards++;
			if (ns(t) != ns(prev))
				changes++;
			prev = t;
		}
		if (clock_gettime(id, &t))
			abort();
		line("race clock=%d reads=%ld backwards=%ld changes=%ld sec=%lld nsec=%ld\n", (int)id,
		     rounds, backwards, changes, (long long)t.tv_sec, t.tv_nsec);
	}

	struct timeval tv;
	if (gettimeofday(&tv, NULL))
		abort();
	line("gettimeofday sec=%lld usec=%ld\n", (long long)tv.tv_sec, (long)tv.tv_usec);
	time_t now = time(NULL);
	line("time sec=%lld\n", (long long)now);

	errno = 0;
	int ret = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	line("cputime ret=%d errno=%d sec=%lld nsec=%ld\n", ret, ret ? errno : 0,
	     (long long)(ret ? 0 : t.tv_sec), ret ? 0 : t.tv_nsec);
	errno = 0;
	ret = clock_gettime(12345, &t);
	line("invalid ret=%d errno=%d\n", ret, ret ? errno : 0);

	for (size_t c = 0; c < N_SERVED; c++) {
		ret = clock_getres(served[c], &t);
		line("getres clock=%d ret=%d sec=%lld nsec=%ld\n", (int)served[c], ret,
		     (long long)(ret ? 0 : t.tv_sec), ret ? 0 : t.tv_nsec);
	}
	line("done\n");
	return 0;
}
