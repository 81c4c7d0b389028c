//! `gettimeofday` and the time zone.

use super::*;

#[test]
fn gettimeofday_truncates_nanoseconds_to_microseconds() {
    for (nsec, usec) in [
        (0, 0),
        (999, 0),
        (1_000, 1),
        (1_999, 1),
        (123_456_789, 123_456),
        (999_999_999, 999_999),
    ] {
        let mut tk = timekeeper();
        tk.tkr_mono.xtime_nsec = (nsec << SHIFT_62_5_MHZ) | ((1 << SHIFT_62_5_MHZ) - 1);
        let page = page_with(&tk);
        let counter = SimCounter::new(CYCLE_LAST);
        assert_eq!(
            gettimeofday(&page, &counter),
            Some(Timeval {
                tv_sec: 1_700_000_000,
                tv_usec: usec
            }),
            "nsec {nsec}"
        );
        assert_eq!(counter.last_source(), Some(CounterSource::Virtual));
    }
}

#[test]
fn gettimeofday_reads_realtime_including_elapsed_time() {
    let tk = timekeeper();
    let page = page_with(&tk);
    // 123_456_789 ns + 2.5 s + 16 ns.
    let now = CYCLE_LAST + 156_250_001;
    assert_eq!(
        gettimeofday(&page, &SimCounter::new(now)),
        Some(Timeval {
            tv_sec: 1_700_000_002,
            tv_usec: 623_456
        })
    );
}

#[test]
fn timezone_comes_from_the_first_struct() {
    for (tz_minuteswest, tz_dsttime) in [(-60, 1), (0, 0), (300, 0), (-720, 3)] {
        let mut tk = timekeeper();
        tk.tz_minuteswest = tz_minuteswest;
        tk.tz_dsttime = tz_dsttime;
        let page = page_with(&tk);
        page.data[CS_RAW].tz_minuteswest.store(1, Relaxed);
        page.data[CS_RAW].tz_dsttime.store(1, Relaxed);
        assert_eq!(
            timezone(&page, &Native),
            Some(Timezone {
                tz_minuteswest,
                tz_dsttime
            })
        );
    }
}
