/*
 * signals: signal delivery on the example kernel (tests/templates/kernel,
 * tests/tests/kernel.rs), in particular the return through the vDSO's
 * __kernel_rt_sigreturn. Built static against musl, embedded in the kernel.
 *
 *   signals            run the checks below; exit 0 if all pass
 *   signals cntvct     read CNTVCT_EL0 directly and print it (the kernel
 *                      lets EL0 read only the counter the vDSO is told to
 *                      read: with counter=cntpct this dies of SIGILL)
 *
 * Checks, one line each, `check NAME ok=0|1 ...`:
 *   vdso-return   a handler installed with the raw rt_sigaction system call
 *                 and no SA_RESTORER (what glibc does on arm64) returns to
 *                 the vDSO: its return address lies in the image at
 *                 AT_SYSINFO_EHDR and holds `mov x8, #139; svc #0`.
 *   siginfo       that handler got SIGUSR1, SI_USER and our pid.
 *   registers     the general-purpose registers x1-x27 (but x18) and all
 *                 SIMD registers the interrupted code had, and x0 = 0 (the
 *                 kill result), are back after the handler, which clobbered
 *                 the ones a C function may change.
 *   musl-return   a handler installed with musl's sigaction (which sets
 *                 SA_RESTORER to musl's own __restore_rt) does not return to
 *                 the vDSO: the kernel honours SA_RESTORER.
 *   mask          a signal raised while blocked is delivered when unblocked.
 *   ignored       a signal set to SIG_IGN is dropped.
 *   clock-in-handler  clock_gettime works inside a handler.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The arm64 kernel's struct sigaction (no sa_restorer without SA_RESTORER). */
struct kernel_sigaction {
	void (*handler)(int, siginfo_t *, void *);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static volatile int got_signal, got_code, got_pid, clock_ok;
static void *volatile return_address;

static int failures;

static void check(const char *name, int ok, const char *detail)
{
	char buf[200];
	int n = snprintf(buf, sizeof buf, "check %s ok=%d %s\n", name, ok, detail);
	write(1, buf, n);
	failures += !ok;
}

/* Overwrites every register a C function may change, as a handler that
 * does real work would. */
static void clobber(void)
{
	__asm__ volatile(
		"mov x9, #0xdead\n mov x10, x9\n mov x11, x9\n mov x12, x9\n mov x13, x9\n"
		"mov x14, x9\n mov x15, x9\n mov x16, x9\n mov x17, x9\n"
		"movi v0.16b, #0xee\n movi v1.16b, #0xee\n movi v2.16b, #0xee\n movi v3.16b, #0xee\n"
		"movi v4.16b, #0xee\n movi v5.16b, #0xee\n movi v6.16b, #0xee\n movi v7.16b, #0xee\n"
		"movi v16.16b, #0xee\n movi v17.16b, #0xee\n movi v18.16b, #0xee\n movi v19.16b, #0xee\n"
		"movi v20.16b, #0xee\n movi v21.16b, #0xee\n movi v22.16b, #0xee\n movi v23.16b, #0xee\n"
		"movi v24.16b, #0xee\n movi v25.16b, #0xee\n movi v26.16b, #0xee\n movi v27.16b, #0xee\n"
		"movi v28.16b, #0xee\n movi v29.16b, #0xee\n movi v30.16b, #0xee\n movi v31.16b, #0xee\n"
		::: "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
		"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18", "v19",
		"v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
}

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	return_address = __builtin_return_address(0);
	got_signal = sig;
	got_code = si->si_code;
	got_pid = si->si_pid;
	struct timespec t;
	clock_ok = clock_gettime(CLOCK_MONOTONIC, &t) == 0 && (t.tv_sec > 0 || t.tv_nsec > 0);
	clobber();
}

/*
 * kill(getpid(), SIGUSR1) as a raw svc, with x2-x7 and x9-x28 and v0-v31
 * set to known values; stores them all after the call. The signal is
 * delivered on the way out of this svc, so the handler runs in between.
 */
static int registers_survive(pid_t pid)
{
	/* pid, then x0-x31 as found after the call, then v0-v31. */
	struct {
		uint64_t pid;
		uint64_t x[32];
		uint64_t v[32][2];
	} s = { .pid = (uint64_t)pid };
	__asm__ volatile(
		/* v_i = 0x0101... * (i + 1), x_i = 0x1000 + i */
		".irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
		"movi v\\i\\().16b, #(\\i + 1)\n"
		".endr\n"
		".irp i, 2,3,4,5,6,7,9,10,11,12,13,14,15,16,17,19,20,21,22,23,24,25,26,27\n"
		"mov x\\i, #(0x1000 + \\i)\n"
		".endr\n"
		"ldr x0, [%[s]]\n"
		"mov x1, #10\n"            /* SIGUSR1 */
		"mov x8, #129\n"           /* kill */
		"svc #0\n"
		"stp x0, x1, [%[s], #8]\n"
		"stp x2, x3, [%[s], #24]\n"
		"stp x4, x5, [%[s], #40]\n"
		"stp x6, x7, [%[s], #56]\n"
		"stp x8, x9, [%[s], #72]\n"
		"stp x10, x11, [%[s], #88]\n"
		"stp x12, x13, [%[s], #104]\n"
		"stp x14, x15, [%[s], #120]\n"
		"stp x16, x17, [%[s], #136]\n"
		"stp x18, x19, [%[s], #152]\n"
		"stp x20, x21, [%[s], #168]\n"
		"stp x22, x23, [%[s], #184]\n"
		"stp x24, x25, [%[s], #200]\n"
		"stp x26, x27, [%[s], #216]\n"
		"add x9, %[s], #264\n"
		".irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
		"str q\\i, [x9, #(\\i * 16)]\n"
		".endr\n"
		:
		: [s] "r"(&s)
		: "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
		  "x12", "x13", "x14", "x15", "x16", "x17", "x19", "x20", "x21", "x22", "x23",
		  "x24", "x25", "x26", "x27", "v0", "v1", "v2", "v3", "v4", "v5", "v6",
		  "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17",
		  "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28",
		  "v29", "v30", "v31", "memory", "cc");
	int ok = s.x[0] == 0 && s.x[1] == 10 && s.x[8] == 129;
	for (int i = 2; i <= 27; i++)
		if (i != 8 && i != 18 && s.x[i] != 0x1000u + i)
			ok = 0;
	for (int i = 0; i < 32; i++) {
		uint64_t want = 0x0101010101010101ull * (i + 1);
		if (s.v[i][0] != want || s.v[i][1] != want)
			ok = 0;
	}
	return ok;
}

static volatile int musl_signal;
static void *volatile musl_return;

static void musl_handler(int sig)
{
	musl_return = __builtin_return_address(0);
	musl_signal = sig;
}

static int in_vdso_sigreturn(void *addr)
{
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	uintptr_t a = (uintptr_t)addr;
	if (!base || a < base || a >= base + 65536)
		return 0;
	const uint32_t *insn = addr;
	return insn[0] == 0xd2801168 /* mov x8, #139 */ && insn[1] == 0xd4000001 /* svc #0 */;
}

int main(int argc, char **argv)
{
	char detail[160];
	if (argc > 1 && strcmp(argv[1], "cntvct") == 0) {
		uint64_t v;
		__asm__ volatile("isb\n mrs %0, cntvct_el0" : "=r"(v));
		printf("cntvct %llu\n", (unsigned long long)v);
		return 0;
	}

	/* 1-3: raw rt_sigaction without SA_RESTORER. */
	struct kernel_sigaction ksa = { handler, SA_SIGINFO, 0, 0 };
	if (syscall(SYS_rt_sigaction, SIGUSR1, &ksa, NULL, 8) != 0)
		check("rt_sigaction", 0, "the system call failed");
	int regs_ok = registers_survive(getpid());
	snprintf(detail, sizeof detail, "returns_to_vdso_offset=%#lx",
		 (unsigned long)((uintptr_t)return_address - getauxval(AT_SYSINFO_EHDR)));
	check("vdso-return", got_signal == SIGUSR1 && in_vdso_sigreturn(return_address), detail);
	snprintf(detail, sizeof detail, "signo=%d code=%d pid=%d", got_signal, got_code, got_pid);
	check("siginfo", got_signal == SIGUSR1 && got_code == SI_USER && got_pid == getpid(),
	      detail);
	check("registers", regs_ok, "x0-x27 (but x18) and v0-v31 after the handler");
	check("clock-in-handler", clock_ok, "CLOCK_MONOTONIC");

	/* 4: musl's sigaction: SA_RESTORER. */
	signal(SIGUSR2, musl_handler);
	raise(SIGUSR2);
	check("musl-return", musl_signal == SIGUSR2 && !in_vdso_sigreturn(musl_return),
	      "handler returns to musl's __restore_rt");

	/* 5: blocked, then unblocked. */
	musl_signal = 0;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(getpid(), SIGUSR2);
	int while_blocked = musl_signal;
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	snprintf(detail, sizeof detail, "while_blocked=%d after=%d", while_blocked, musl_signal);
	check("mask", while_blocked == 0 && musl_signal == SIGUSR2, detail);

	/* 6: ignored. */
	signal(SIGUSR2, SIG_IGN);
	musl_signal = 0;
	kill(getpid(), SIGUSR2);
	check("ignored", musl_signal == 0, "SIG_IGN");

	printf("done failures=%d\n", failures);
	return failures != 0;
}
