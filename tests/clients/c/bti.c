/*
 * bti: indirect calls into the vDSO image on the example kernel booted with
 * `bti` (tests/templates/kernel, tests/tests/kernel.rs), which maps the image as
 * guarded pages and sets SCTLR_EL1.BT0. Built static against musl.
 *
 *   bti          call every served clock, gettimeofday and clock_getres
 *                through musl (which calls the vDSO through a function
 *                pointer, `blr`), then __kernel_clock_gettime through our
 *                own pointer; print `bti: entry ... first=0x...` and the
 *                results; exit 0 if every call returned 0.
 *   bti skip     call __kernel_clock_gettime at its entry + 4, past its
 *                landing pad. In a guarded page that is a Branch Target
 *                exception: the kernel kills the process with SIGILL. In a
 *                page that is not guarded, `bti c` is a no-op and skipping
 *                it changes nothing: the call returns 0 and the program
 *                prints `bti: skip returned`.
 *
 * The symbol is found the way a libc finds it: AT_SYSINFO_EHDR, the
 * dynamic segment, DT_SYMTAB/DT_STRTAB/DT_HASH.
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static void *vdso_sym(const char *name)
{
	const unsigned char *base = (const void *)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return 0;
	const Elf64_Ehdr *eh = (const void *)base;
	const Elf64_Phdr *ph = (const void *)(base + eh->e_phoff);
	const Elf64_Dyn *dyn = 0;
	uintptr_t bias = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD)
			bias = (uintptr_t)base + ph[i].p_offset - ph[i].p_vaddr;
		else if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const void *)(base + ph[i].p_offset);
	}
	if (!dyn)
		return 0;
	const Elf64_Sym *syms = 0;
	const char *strs = 0;
	const uint32_t *hash = 0;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_SYMTAB)
			syms = (const void *)(bias + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRTAB)
			strs = (const void *)(bias + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_HASH)
			hash = (const void *)(bias + dyn->d_un.d_ptr);
	}
	if (!syms || !strs || !hash)
		return 0;
	for (uint32_t i = 0; i < hash[1]; i++) {
		if (syms[i].st_shndx != SHN_UNDEF && !strcmp(strs + syms[i].st_name, name))
			return (void *)(bias + syms[i].st_value);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int skip = argc > 1 && !strcmp(argv[1], "skip");
	clock_gettime_fn f = (clock_gettime_fn)vdso_sym("__kernel_clock_gettime");
	if (!f) {
		puts("bti: no __kernel_clock_gettime in the vDSO");
		return 2;
	}
	uint32_t first;
	memcpy(&first, (const void *)f, sizeof first);
	printf("bti: entry %p first=%#x\n", (void *)f, first);
	fflush(stdout);

	struct timespec ts;
	if (skip) {
		/* Past the landing pad: only a guard that is off lets this run. */
		f = (clock_gettime_fn)((uintptr_t)f + 4);
		int r = f(CLOCK_MONOTONIC, &ts);
		printf("bti: skip returned %d\n", r);
		return 0;
	}

	int failed = 0;
	static const clockid_t served[] = {
		CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW,
		CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
		CLOCK_TAI,
	};
	for (unsigned i = 0; i < sizeof served / sizeof served[0]; i++) {
		int r = clock_gettime(served[i], &ts);
		printf("bti: clock %d r=%d %lld.%09ld\n", (int)served[i], r,
		       (long long)ts.tv_sec, ts.tv_nsec);
		failed |= r != 0;
	}
	struct timeval tv;
	int r = gettimeofday(&tv, 0);
	printf("bti: gettimeofday r=%d %lld.%06ld\n", r, (long long)tv.tv_sec,
	       (long)tv.tv_usec);
	failed |= r != 0;
	r = clock_getres(CLOCK_MONOTONIC, &ts);
	printf("bti: clock_getres r=%d %ld\n", r, ts.tv_nsec);
	failed |= r != 0;
	/* Our own pointer, at the entry: `blr` lands on the pad. */
	r = f(CLOCK_MONOTONIC, &ts);
	printf("bti: direct r=%d %lld.%09ld\n", r, (long long)ts.tv_sec, ts.tv_nsec);
	failed |= r != 0;
	return failed;
}
