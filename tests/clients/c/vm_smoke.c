/* vm_smoke: the 32-bit client that proves the Linux VM runner itself works
 * (tests/tests/vm.rs). Static armv7 musl:
 *
 *   arm-linux-gnueabihf-gcc -O2 -static \
 *       -specs /usr/lib/arm-linux-musleabihf/musl-gcc.specs vm_smoke.c
 *
 * It writes bytes a terminal would rewrite (a CR LF, a tab, no final
 * newline) and then its arguments, each after a space, to stdout, one line
 * to stderr, makes the exec harness's
 * marker system call (faccessat(AT_FDCWD, path, 0x7664)) and then
 * getpid() twice as raw system calls, and exits with status 7. The runner
 * must return the output byte for byte, the status, and a trace in which
 * exactly the two getpid calls and exit_group follow the marker. */
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void put(int fd, const char *s, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			_exit(99);
		s += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv) {
	static const char out[] = "vm-smoke: hello from AArch32\n\tcr\r\nend";
	static const char err[] = "vm-smoke: to stderr\n";
	put(1, out, sizeof out - 1);
	for (int i = 1; i < argc; i++) {
		put(1, " ", 1);
		put(1, argv[i], __builtin_strlen(argv[i]));
	}
	put(2, err, sizeof err - 1);
	syscall(SYS_faccessat, AT_FDCWD, "/vm-smoke-marker", 0x7664);
	syscall(SYS_getpid);
	syscall(SYS_getpid);
	_exit(7);
}
