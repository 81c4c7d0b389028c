/*
 * date: prints the current time in UTC, ISO 8601 and like date(1), e.g.
 *
 *   2033-05-18T03:33:20Z
 *   Wed May 18 03:33:20 UTC 2033
 *
 * Built static against musl by tests/tests/e2e.rs (target/e2e/c/date-musl);
 * the README runs it with a fake epoch:
 *
 *   cargo xtask run --fake-epoch 2000000000 -- target/e2e/c/date-musl
 */
#include <stdio.h>
#include <time.h>

int main(void)
{
	struct timespec now;
	struct tm tm;
	char iso[32], text[64];
	if (clock_gettime(CLOCK_REALTIME, &now) != 0 || !gmtime_r(&now.tv_sec, &tm)) {
		perror("date");
		return 1;
	}
	strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(text, sizeof text, "%a %b %e %H:%M:%S UTC %Y", &tm);
	printf("%s\n%s\n", iso, text);
	return 0;
}
