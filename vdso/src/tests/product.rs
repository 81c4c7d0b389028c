//! The 128-bit product: a page published once is right for years.

use super::*;

#[test]
fn page_published_once_is_exact_ten_years_later_at_62_5_mhz() {
    let tk = timekeeper();
    let page = page_with(&tk);
    let delta = TEN_YEARS_SEC * FREQ_62_5_MHZ;
    let now = CYCLE_LAST + delta;
    assert_eq!(
        clock_gettime(&page, REALTIME, &SimCounter::new(now)),
        Some(ts(1_700_000_000 + 315_360_000, 123_456_789))
    );
    assert_eq!(
        clock_gettime(&page, MONOTONIC, &SimCounter::new(now)),
        Some(ts(5_001 + 315_360_000, 0))
    );
    for clock in HRES_CLOCKS {
        assert_eq!(
            clock_gettime(&page, clock, &SimCounter::new(now)),
            Some(expected(&tk, clock, now)),
            "clock {clock}"
        );
    }

    // Why 128 bits: Linux's 64-bit product overflowed here, and already
    // after 2^64 / mult cycles, about 37 minutes without an update.
    assert_eq!(
        linux_64_bit_product(delta, MULT_62_5_MHZ, tk.tkr_mono.xtime_nsec),
        None
    );
    let overflow_after_sec = u64::MAX / u64::from(MULT_62_5_MHZ) / FREQ_62_5_MHZ;
    assert_eq!(overflow_after_sec, 2_199);
}

#[test]
fn page_published_once_matches_u128_reference_ten_years_later_at_24_mhz() {
    let mut tk = timekeeper();
    tk.tkr_mono.mult = MULT_24_MHZ;
    tk.tkr_mono.shift = SHIFT_24_MHZ;
    tk.tkr_mono.xtime_nsec = (123_456_789 << SHIFT_24_MHZ) | 0x5a_5a5a;
    tk.tkr_raw.mult = MULT_24_MHZ;
    tk.tkr_raw.shift = SHIFT_24_MHZ;
    tk.tkr_raw.xtime_nsec = 77;
    let page = page_with(&tk);
    let delta = TEN_YEARS_SEC * FREQ_24_MHZ;
    let now = CYCLE_LAST + delta;
    for clock in HRES_CLOCKS {
        assert_eq!(
            clock_gettime(&page, clock, &SimCounter::new(now)),
            Some(expected(&tk, clock, now)),
            "clock {clock}"
        );
    }
    // The result is ten years on, up to the rounding of `mult` that Linux
    // chose (+1/3 in 699_050_666.67, 0.15 s in ten years), not garbage.
    let got = clock_gettime(&page, REALTIME, &SimCounter::new(now)).unwrap();
    let exact_ns = (1_700_000_000 + i128::from(TEN_YEARS_SEC)) * 1_000_000_000 + 123_456_789;
    let got_ns = i128::from(got.tv_sec) * 1_000_000_000 + i128::from(got.tv_nsec);
    assert!(
        (0..200_000_000).contains(&(got_ns - exact_ns)),
        "drift {} ns",
        got_ns - exact_ns
    );

    // Linux's 64-bit product overflowed here, and already after about 18
    // minutes without an update.
    assert_eq!(
        linux_64_bit_product(delta, MULT_24_MHZ, tk.tkr_mono.xtime_nsec),
        None
    );
    let overflow_after_sec = u64::MAX / u64::from(MULT_24_MHZ) / FREQ_24_MHZ;
    assert_eq!(overflow_after_sec, 1_099);
}
