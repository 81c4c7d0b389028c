//! Every served clock reads its own base plus the elapsed time; nanoseconds roll over into seconds; a counter that wrapped past its mask.

use super::*;

#[test]
fn every_served_clock_reads_its_own_base_plus_elapsed_time() {
    let tk = timekeeper();
    let page = page_with(&tk);
    // One second at 62.5 MHz.
    let now = CYCLE_LAST + FREQ_62_5_MHZ;
    // Worked by hand from `timekeeper()`; the raw clock's mult is 12_345
    // above 16 ns/cycle, which adds 91_977 ns over this second.
    let by_hand = [
        (REALTIME, ts(1_700_000_001, 123_456_789)),
        (MONOTONIC, ts(5_002, 0)),
        (MONOTONIC_RAW, ts(4_322, 987_746_298)),
        (REALTIME_COARSE, ts(1_700_000_000, 123_456_789)),
        (MONOTONIC_COARSE, ts(5_001, 0)),
        (BOOTTIME, ts(5_062, 500_000_000)),
        (TAI, ts(1_700_000_038, 123_456_789)),
    ];
    assert_eq!(by_hand.map(|(c, _)| c), SERVED);
    for (clock, want) in by_hand {
        assert_eq!(
            expected(&tk, clock, now),
            want,
            "reference for clock {clock}"
        );
        let counter = SimCounter::new(now);
        assert_eq!(
            clock_gettime(&page, clock, &counter),
            Some(want),
            "clock {clock}"
        );
    }
}

#[test]
fn high_res_clocks_follow_the_counter_read_by_read() {
    let tk = timekeeper();
    let page = page_with(&tk);
    // From `cycle_last` itself (zero delta) up to a little over an hour.
    for delta in [0, 1, 2, 63, 62_499_999, 62_500_000, 225_000_000_017] {
        let now = CYCLE_LAST + delta;
        for clock in HRES_CLOCKS {
            let counter = SimCounter::new(now);
            let got = clock_gettime(&page, clock, &counter);
            assert_eq!(
                got,
                Some(expected(&tk, clock, now)),
                "clock {clock} delta {delta}"
            );
            assert_eq!(counter.reads(), 1, "clock {clock} reads the counter once");
        }
    }
}

#[test]
fn coarse_clocks_ignore_the_counter() {
    let tk = timekeeper();
    let page = page_with(&tk);
    for clock in COARSE_CLOCKS {
        let want = expected(&tk, clock, 0);
        for now in [0, CYCLE_LAST, CYCLE_LAST + FREQ_62_5_MHZ, u64::MAX] {
            let counter = SimCounter::new(now);
            assert_eq!(clock_gettime(&page, clock, &counter), Some(want));
            assert_eq!(counter.reads(), 0, "coarse clock {clock} read the counter");
        }
    }
}

#[test]
fn monotonic_raw_is_served_from_the_raw_struct_only() {
    let tk = timekeeper();
    let page = page_with(&tk);
    let now = CYCLE_LAST + 12_345_678;
    let want = expected(&tk, MONOTONIC_RAW, now);

    // Garbage in the first struct's raw slot and counter parameters does not
    // reach CLOCK_MONOTONIC_RAW.
    kernel_write(&page, |p| {
        let hres = &p.data[CS_HRES_COARSE];
        store_ts(hres, MONOTONIC_RAW, 999, 999);
        hres.cycle_last.store(now, Relaxed);
        hres.mult.store(1, Relaxed);
        hres.shift.store(0, Relaxed);
    });
    assert_eq!(
        clock_gettime(&page, MONOTONIC_RAW, &SimCounter::new(now)),
        Some(want)
    );

    // The raw struct's own clock_mode decides for the raw clock.
    let page = page_with(&tk);
    kernel_write(&page, |p| {
        p.data[CS_RAW].clock_mode.store(CLOCKMODE_NONE, Relaxed);
    });
    assert_eq!(
        clock_gettime(&page, MONOTONIC_RAW, &SimCounter::new(now)),
        None
    );
    assert_eq!(
        clock_gettime(&page, REALTIME, &SimCounter::new(now)),
        Some(expected(&tk, REALTIME, now))
    );
}

#[test]
fn shifted_nsec_keeps_its_sub_nanosecond_fraction_exactly() {
    // 41.6640625 ns per cycle (mult = 41 * 256 + 170 at shift 8), and a base
    // of 500 ns plus 200/256 ns.
    let mut tk = timekeeper();
    tk.tkr_mono = ReadBase {
        cycle_last: 0,
        mask: u64::MAX,
        mult: 41 * 256 + 170,
        shift: 8,
        xtime_nsec: 500 * 256 + 200,
    };
    tk.xtime_sec = 1_000;
    let page = page_with(&tk);
    let realtime = |now| clock_gettime(&page, REALTIME, &SimCounter::new(now));
    // 500.78 ns: the fraction is truncated, not rounded.
    assert_eq!(realtime(0), Some(ts(1_000, 500)));
    // 500.78 + 41.66 = 542.45: the two fractions carry into a nanosecond
    // (dropping the base's fraction would give 541).
    assert_eq!(realtime(1), Some(ts(1_000, 542)));
    // 500.78 + 3 * 41.66 = 625.77.
    assert_eq!(realtime(3), Some(ts(1_000, 625)));
    for now in [0, 1, 3, 1_000_003] {
        assert_eq!(realtime(now), Some(expected(&tk, REALTIME, now)));
    }
}

#[test]
fn nanoseconds_roll_over_into_the_next_second() {
    let mut tk = timekeeper();
    tk.tkr_mono.xtime_nsec = 999_999_990 << SHIFT_62_5_MHZ;
    let page = page_with(&tk);
    let realtime = |delta| clock_gettime(&page, REALTIME, &SimCounter::new(CYCLE_LAST + delta));
    // 999_999_990 + 16 ns.
    assert_eq!(realtime(1), Some(ts(1_700_000_001, 6)));
    // Exactly on the boundary: the nanoseconds are zero, not 10^9.
    let mut tk = timekeeper();
    tk.tkr_mono.xtime_nsec = 999_999_984 << SHIFT_62_5_MHZ;
    let page = page_with(&tk);
    assert_eq!(
        clock_gettime(&page, REALTIME, &SimCounter::new(CYCLE_LAST + 1)),
        Some(ts(1_700_000_001, 0))
    );
}

#[test]
fn nanoseconds_roll_over_many_seconds_at_once() {
    let mut tk = timekeeper();
    tk.tkr_mono.xtime_nsec = 999_999_999 << SHIFT_62_5_MHZ;
    let page = page_with(&tk);
    // One hour and one cycle: 999_999_999 + 3600 s + 16 ns.
    let now = CYCLE_LAST + 3_600 * FREQ_62_5_MHZ + 1;
    assert_eq!(
        clock_gettime(&page, REALTIME, &SimCounter::new(now)),
        Some(ts(1_700_003_601, 15))
    );
    for clock in HRES_CLOCKS {
        assert_eq!(
            clock_gettime(&page, clock, &SimCounter::new(now)),
            Some(expected(&tk, clock, now)),
            "clock {clock}"
        );
    }
}

#[test]
fn counter_that_wrapped_past_its_mask_gives_the_short_forward_delta() {
    // A 56-bit counter published 10 cycles before it wraps.
    let mut tk = timekeeper();
    tk.tkr_mono.cycle_last = MASK_56 - 9;
    tk.tkr_mono.xtime_nsec = 0;
    let page = page_with(&tk);
    // 5 cycles after the wrap is 15 cycles = 240 ns after `cycle_last`,
    // whether or not the counter register shows bits above the mask.
    for now in [5, (1 << 56) + 5, (0xff << 56) | 5] {
        assert_eq!(
            clock_gettime(&page, REALTIME, &SimCounter::new(now)),
            Some(ts(1_700_000_000, 240)),
            "counter {now:#x}"
        );
    }

    // A full 64-bit counter wrapping past zero.
    tk.tkr_mono.cycle_last = u64::MAX - 9;
    tk.tkr_mono.mask = u64::MAX;
    let page = page_with(&tk);
    assert_eq!(
        clock_gettime(&page, REALTIME, &SimCounter::new(5)),
        Some(ts(1_700_000_000, 240))
    );
}
