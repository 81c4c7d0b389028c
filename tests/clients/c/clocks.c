/*
 * clocks: a C program that reads every clock through its libc, built static
 * against musl and glibc (also as static-PIE) by tests/tests/e2e.rs and run
 * under qemu-aarch64, either through our exec harness (`vdso-exec`, which
 * gives it our vDSO) or directly (no vDSO: every call is a syscall). The
 * same source, static 32-bit Arm musl, runs in a Linux VM through the 32-bit
 * harness (tests/tests/e2e_arm.rs).
 *
 *   clocks show      every libc time call once, one line each
 *   clocks compare   every libc call for a served clock between two raw
 *                    syscalls; one verdict line per call, exit 1 on a failure
 *
 * Output: one record per line, `<record> key=value ...`, values without
 * spaces (the grammar is parsed by tests/src/e2e/mod.rs):
 *
 *   gettime api=libc clock=ID ret=R errno=E [sec=S nsec=N]
 *   getres api=libc clock=ID ret=R errno=E [sec=S nsec=N]
 *   gettimeofday api=libc tz=0|1 ret=R errno=E sec=S usec=U
 *       [minuteswest=M dsttime=D | minuteswest=unset dsttime=unset]
 *   time api=libc sec=S
 *   wall api=libc iso=YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ sec=S nsec=N
 *   compare call=NAME clock=ID rounds=N failures=F [details] ok=0|1
 *   done mode=MODE failures=F
 *
 * `ret` is the libc return value (0 or -1) and `errno` the errno after it
 * (0 on success); failing calls print no time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The clocks the vDSO serves from its data page (the semantics, ARCHITECTURE.md). */
static const clockid_t served[] = {
	CLOCK_REALTIME,        /* 0 */
	CLOCK_MONOTONIC,       /* 1 */
	CLOCK_MONOTONIC_RAW,   /* 4 */
	CLOCK_REALTIME_COARSE, /* 5 */
	CLOCK_MONOTONIC_COARSE,/* 6 */
	CLOCK_BOOTTIME,        /* 7 */
	CLOCK_TAI,             /* 11 */
};
#define N_SERVED (sizeof served / sizeof served[0])

/* Ids the vDSO must hand to the kernel: a CPU-time clock and two invalid ids. */
static const clockid_t unserved[] = { CLOCK_PROCESS_CPUTIME_ID, 12345, -1 };
#define N_UNSERVED (sizeof unserved / sizeof unserved[0])

#define NSEC_PER_SEC 1000000000LL

static int64_t ns(struct timespec t)
{
	return (int64_t)t.tv_sec * NSEC_PER_SEC + t.tv_nsec;
}

static int is_coarse(clockid_t id)
{
	return id == CLOCK_REALTIME_COARSE || id == CLOCK_MONOTONIC_COARSE;
}

/*
 * The raw system calls, for this program's struct timespec. A 32-bit target
 * with a 64-bit time_t (musl >= 1.2 on arm, built by tests/tests/e2e_arm.rs)
 * has the time64 calls; musl names the old ones *_time32 there, for 32-bit
 * structs. Raw gettimeofday is only made for its timezone (the kernel writes
 * the old, smaller timeval there, which fits in ours).
 */
#ifdef SYS_clock_gettime64
_Static_assert(sizeof(time_t) == 8, "the time64 system calls need a 64-bit time_t");
#define NR_CLOCK_GETTIME SYS_clock_gettime64
#define NR_CLOCK_GETRES SYS_clock_getres_time64
#else
#define NR_CLOCK_GETTIME SYS_clock_gettime
#define NR_CLOCK_GETRES SYS_clock_getres
#endif
#ifdef SYS_gettimeofday
#define NR_GETTIMEOFDAY SYS_gettimeofday
#else
#define NR_GETTIMEOFDAY SYS_gettimeofday_time32
#endif

/* The kernel's answer, bypassing libc (and so the vDSO). */
static int raw_gettime(clockid_t id, struct timespec *t)
{
	return syscall(NR_CLOCK_GETTIME, id, t);
}

static int raw_getres(clockid_t id, struct timespec *t)
{
	return syscall(NR_CLOCK_GETRES, id, t);
}

static void print_timespec_call(const char *record, clockid_t id, int ret, int err,
				struct timespec t)
{
	printf("%s api=libc clock=%d ret=%d errno=%d", record, (int)id, ret, ret ? err : 0);
	if (ret == 0)
		printf(" sec=%lld nsec=%ld", (long long)t.tv_sec, (long)t.tv_nsec);
	printf("\n");
}

static void show_gettime(clockid_t id)
{
	struct timespec t = { 0, 0 };
	errno = 0;
	int ret = clock_gettime(id, &t);
	print_timespec_call("gettime", id, ret, errno, t);
}

static void show_getres(clockid_t id)
{
	struct timespec t = { 0, 0 };
	errno = 0;
	int ret = clock_getres(id, &t);
	print_timespec_call("getres", id, ret, errno, t);
}

/* A timezone no kernel publishes: shows whether libc wrote the tz argument
 * (musl never does; glibc copies the vDSO's, which is the kernel's). */
#define TZ_UNSET (-77777)

static void show_gettimeofday(int with_tz)
{
	struct timeval tv = { 0, 0 };
	struct timezone tz = { TZ_UNSET, TZ_UNSET };
	errno = 0;
	int ret = gettimeofday(&tv, with_tz ? (void *)&tz : NULL);
	printf("gettimeofday api=libc tz=%d ret=%d errno=%d sec=%lld usec=%ld", with_tz, ret,
	       ret ? errno : 0, (long long)tv.tv_sec, (long)tv.tv_usec);
	if (with_tz) {
		if (tz.tz_minuteswest == TZ_UNSET && tz.tz_dsttime == TZ_UNSET)
			printf(" minuteswest=unset dsttime=unset");
		else
			printf(" minuteswest=%d dsttime=%d", tz.tz_minuteswest, tz.tz_dsttime);
	}
	printf("\n");
}

static void show_wall(void)
{
	struct timespec t = { 0, 0 };
	struct tm tm;
	char buf[64];
	if (clock_gettime(CLOCK_REALTIME, &t) != 0 || !gmtime_r(&t.tv_sec, &tm) ||
	    !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm)) {
		printf("wall api=libc error=%d\n", errno);
		return;
	}
	printf("wall api=libc iso=%s.%09ldZ sec=%lld nsec=%ld\n", buf, (long)t.tv_nsec,
	       (long long)t.tv_sec, (long)t.tv_nsec);
}

static int show(void)
{
	show_wall();
	for (size_t i = 0; i < N_SERVED; i++)
		show_gettime(served[i]);
	for (size_t i = 0; i < N_UNSERVED; i++)
		show_gettime(unserved[i]);
	for (size_t i = 0; i < N_SERVED; i++)
		show_getres(served[i]);
	for (size_t i = 0; i < N_UNSERVED; i++)
		show_getres(unserved[i]);
	show_gettimeofday(1);
	show_gettimeofday(0);
	printf("time api=libc sec=%lld\n", (long long)time(NULL));
	printf("done mode=show failures=0\n");
	return 0;
}

/*
 * Tolerances of `compare`.
 *
 * A high-resolution clock read through the vDSO is extrapolated from the
 * harness's one publication with the counter. qemu-user derives CNTVCT_EL0
 * from the host's gettimeofday, so the counter moves in 1 µs steps (the vDSO
 * may read up to 1 µs behind the syscall), and the harness pairs each base
 * time with a counter read, which it cannot do closer than that step plus the
 * time between its two reads (~1 µs, more when qemu translates code for the
 * first time). HRES_SLACK_NS = 20 µs bounds both with room for a host under
 * load; a wrong base, a lost shift or a wrong clock is off by far more.
 *
 * MONOTONIC_RAW is the exception to "same rate": the counter follows the
 * host's NTP-disciplined clock, the host's MONOTONIC_RAW does not, and the
 * kernel bounds NTP's frequency correction at 500 ppm (MAXFREQ). So its slack
 * also grows by 500 ppm of the time since publication, which is at most the
 * time since this process started plus the harness's own start-up; we allow
 * START_ALLOWANCE_NS for the latter.
 *
 * A coarse clock is the high-resolution clock sampled at a tick: ours at the
 * harness's last tick, the host's at its own last tick, each up to one coarse
 * resolution (clock_getres, the host's tick) ago. So coarse readings are
 * compared with the syscall's coarse clock within two resolutions plus a
 * scheduling allowance, COARSE_SCHED_NS. The harness ticks from a thread,
 * not from an interrupt: on a machine whose cores are all busy that thread
 * may wait tens of milliseconds for a CPU (measured: 44 ms with two busy
 * loops on two cores), and until it runs our coarse clocks stand still. So a
 * reading that lags further is retried after sleeping for two resolutions,
 * which gives the ticker a CPU, at most COARSE_RETRIES times per clock; a
 * coarse clock that does not follow the host's at all, or has a wrong base,
 * still fails, and one ahead of the host's is never excused.
 */
#define HRES_SLACK_NS 20000LL
#define MAXFREQ_PPM 500LL
#define START_ALLOWANCE_NS (2 * NSEC_PER_SEC)
#define COARSE_SCHED_NS 20000000LL
#define COARSE_RETRIES 50
#define ROUNDS 300

static int64_t raw_start_ns;

static int64_t raw_now(void)
{
	struct timespec t;
	raw_gettime(CLOCK_MONOTONIC_RAW, &t);
	return ns(t);
}

static int64_t slack_for(clockid_t id, int64_t res_ns)
{
	if (is_coarse(id))
		return 2 * res_ns + COARSE_SCHED_NS;
	if (id == CLOCK_MONOTONIC_RAW)
		return HRES_SLACK_NS +
		       (raw_now() - raw_start_ns + START_ALLOWANCE_NS) / 1000000 * MAXFREQ_PPM;
	return HRES_SLACK_NS;
}

static int failures;

static void verdict(int ok)
{
	printf(" ok=%d\n", ok);
	if (!ok)
		failures++;
}

/* clock_gettime(id) through libc between two raw syscalls of the same clock. */
static void compare_gettime(clockid_t id)
{
	struct timespec res = { 0, 0 };
	raw_getres(id, &res);
	int64_t worst_early = INT64_MIN, worst_late = INT64_MIN, slack = 0;
	int bad = 0, first_ret = 0, retries = 0;
	char first[160] = "";
	for (int i = 0; i < ROUNDS; i++) {
		struct timespec b, v = { 0, 0 }, a;
		slack = slack_for(id, ns(res));
		raw_gettime(id, &b);
		int ret = clock_gettime(id, &v);
		raw_gettime(id, &a);
		int64_t early = ns(b) - ns(v), late = ns(v) - ns(a);
		if (is_coarse(id) && ret == 0 && early > slack && retries < COARSE_RETRIES) {
			/* The ticker has not run: let it (see above), then redo the round. */
			struct timespec nap = { 0, 2 * res.tv_nsec };
			nanosleep(&nap, NULL);
			retries++;
			i--;
			continue;
		}
		if (early > worst_early)
			worst_early = early;
		if (late > worst_late)
			worst_late = late;
		if (ret != 0 || early > slack || late > slack) {
			if (!bad++) {
				first_ret = ret;
				snprintf(first, sizeof first, " first_bad=%lld<=%lld<=%lld",
					 (long long)ns(b), (long long)ns(v), (long long)ns(a));
			}
		}
	}
	printf("compare call=clock_gettime clock=%d rounds=%d failures=%d ret=%d "
	       "max_early_ns=%lld max_late_ns=%lld slack_ns=%lld retries=%d%s",
	       (int)id, ROUNDS, bad, first_ret, (long long)worst_early, (long long)worst_late,
	       (long long)slack, retries, first);
	verdict(bad == 0);
}

/* clock_getres(id) through libc equals the syscall, also with a NULL result. */
static void compare_getres(clockid_t id)
{
	struct timespec l = { -1, -1 }, s = { -2, -2 };
	errno = 0;
	int lret = clock_getres(id, &l);
	int lerr = lret ? errno : 0;
	errno = 0;
	int sret = raw_getres(id, &s);
	int serr = sret ? errno : 0;
	int null_ret = clock_getres(id, NULL);
	int same = lret == sret && lerr == serr && (lret != 0 || ns(l) == ns(s));
	/* ret/errno/resolution in ns (0 when the call failed) */
	printf("compare call=clock_getres clock=%d rounds=1 failures=%d libc=%d/%d/%lld "
	       "syscall=%d/%d/%lld null_ret=%d",
	       (int)id, !same, lret, lerr, lret ? 0LL : (long long)ns(l), sret, serr,
	       sret ? 0LL : (long long)ns(s), null_ret);
	verdict(same && null_ret == sret);
}

/* An id the vDSO does not serve: libc's answer is the syscall's. */
static void compare_unserved(clockid_t id)
{
	struct timespec b = { 0, 0 }, v = { 0, 0 }, a = { 0, 0 };
	errno = 0;
	int sret = raw_gettime(id, &b);
	int serr = sret ? errno : 0;
	errno = 0;
	int lret = clock_gettime(id, &v);
	int lerr = lret ? errno : 0;
	raw_gettime(id, &a);
	/* A CPU-time clock read by the kernel never leaves the bracket. */
	int ok = lret == sret && lerr == serr && (lret != 0 || (ns(b) <= ns(v) && ns(v) <= ns(a)));
	printf("compare call=clock_gettime clock=%d rounds=1 failures=%d libc=%d/%d syscall=%d/%d",
	       (int)id, !ok, lret, lerr, sret, serr);
	verdict(ok);
}

/* gettimeofday between two raw REALTIME reads (µs truncation widens the
 * bottom by 1 µs); its timezone, when libc writes one, is the kernel's. */
static void compare_gettimeofday(void)
{
	int64_t worst_early = INT64_MIN, worst_late = INT64_MIN;
	int bad = 0, tz_written = 0, tz_same = 1;
	for (int i = 0; i < ROUNDS; i++) {
		struct timespec b, a;
		struct timeval tv = { 0, 0 };
		struct timezone tz = { TZ_UNSET, TZ_UNSET }, ktz = { 0, 0 };
		struct timeval ktv;
		raw_gettime(CLOCK_REALTIME, &b);
		int ret = gettimeofday(&tv, &tz);
		raw_gettime(CLOCK_REALTIME, &a);
		int64_t v = (int64_t)tv.tv_sec * NSEC_PER_SEC + (int64_t)tv.tv_usec * 1000;
		int64_t early = ns(b) - 999 - v, late = v - ns(a);
		if (early > worst_early)
			worst_early = early;
		if (late > worst_late)
			worst_late = late;
		if (ret != 0 || early > HRES_SLACK_NS || late > HRES_SLACK_NS)
			bad++;
		if (tz.tz_minuteswest != TZ_UNSET || tz.tz_dsttime != TZ_UNSET) {
			tz_written = 1;
			syscall(NR_GETTIMEOFDAY, &ktv, &ktz);
			if (tz.tz_minuteswest != ktz.tz_minuteswest || tz.tz_dsttime != ktz.tz_dsttime)
				tz_same = 0;
		}
	}
	/* Through a volatile pointer: glibc declares tv nonnull, and the kernel
	 * (and so the vDSO) accepts NULL. Not on 32-bit glibc (2.36): there
	 * gettimeofday is clock_gettime plus an unchecked store to *tv, which
	 * crashes on NULL with or without a vDSO (measured under qemu-arm, which
	 * gives no vDSO), so that call is skipped and says so. */
#if defined(__GLIBC__) && defined(__TIMESIZE) && __TIMESIZE == 32
	const char *null_ret = "skipped";
	int null_ok = 1;
#else
	struct timeval *volatile no_tv = NULL;
	int null_value = gettimeofday(no_tv, NULL);
	char null_ret[16];
	snprintf(null_ret, sizeof null_ret, "%d", null_value);
	int null_ok = null_value == 0;
#endif
	printf("compare call=gettimeofday clock=0 rounds=%d failures=%d max_early_ns=%lld "
	       "max_late_ns=%lld slack_ns=%lld tz=%s null_ret=%s",
	       ROUNDS, bad, (long long)worst_early, (long long)worst_late, HRES_SLACK_NS,
	       tz_written ? (tz_same ? "kernel" : "differs") : "unwritten", null_ret);
	verdict(bad == 0 && tz_same && null_ok);
}

/* time() between two raw REALTIME reads: libcs may use REALTIME_COARSE,
 * which lags by less than a second. */
static void compare_time(void)
{
	int bad = 0;
	for (int i = 0; i < ROUNDS; i++) {
		struct timespec b, a;
		raw_gettime(CLOCK_REALTIME, &b);
		time_t t = time(NULL);
		raw_gettime(CLOCK_REALTIME, &a);
		if (t < b.tv_sec - 1 || t > a.tv_sec)
			bad++;
	}
	printf("compare call=time clock=0 rounds=%d failures=%d", ROUNDS, bad);
	verdict(bad == 0);
}

static int compare(void)
{
	raw_start_ns = raw_now();
	for (size_t i = 0; i < N_SERVED; i++)
		compare_gettime(served[i]);
	for (size_t i = 0; i < N_SERVED; i++)
		compare_getres(served[i]);
	for (size_t i = 0; i < N_UNSERVED; i++)
		compare_unserved(unserved[i]);
	for (size_t i = 0; i < N_UNSERVED; i++)
		compare_getres(unserved[i]);
	compare_gettimeofday();
	compare_time();
	printf("done mode=compare failures=%d\n", failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	/* One write per line even when stdout is a pipe: the lines interleave
	 * correctly with qemu's -strace output if both go to one place. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "show"))
		return show();
	if (argc == 2 && !strcmp(argv[1], "compare"))
		return compare();
	fprintf(stderr, "usage: %s show|compare\n", argv[0]);
	return 2;
}
