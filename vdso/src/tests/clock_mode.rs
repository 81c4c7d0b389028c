//! `clock_mode`: which counter each mode selects, the compat reader's policy, and the modes that go to the syscall.

use super::*;

/// Sets `clock_mode` of both structs, as Linux's writer does.
fn set_clock_mode(page: &DataPage, mode: i32) {
    kernel_write(page, |p| {
        for vd in &p.data {
            vd.clock_mode.store(mode, Relaxed);
        }
    });
}

#[test]
fn counter_source_maps_each_clock_mode() {
    assert_eq!(
        counter_source(CLOCKMODE_ARCHTIMER),
        Some(CounterSource::Virtual)
    );
    assert_eq!(
        counter_source(CLOCKMODE_ARCHTIMER_NOCOMPAT),
        Some(CounterSource::Virtual)
    );
    assert_eq!(
        counter_source(CLOCKMODE_CNTPCT),
        Some(CounterSource::Physical)
    );
    assert_eq!((CLOCKMODE_ARCHTIMER, CLOCKMODE_ARCHTIMER_NOCOMPAT), (1, 2));
    for mode in FALLBACK_MODES {
        assert_eq!(counter_source(mode), None, "clock_mode {mode}");
    }
}

#[test]
fn compat_reader_refuses_nocompat_and_serves_the_other_counter_modes() {
    assert_eq!(source_for::<Compat>(CLOCKMODE_ARCHTIMER_NOCOMPAT), None);
    assert_eq!(
        source_for::<Native>(CLOCKMODE_ARCHTIMER_NOCOMPAT),
        Some(CounterSource::Virtual)
    );
    let tk = timekeeper();
    let page = page_with(&tk);
    let now = CYCLE_LAST + 4_242;
    set_clock_mode(&page, CLOCKMODE_ARCHTIMER_NOCOMPAT);
    let compat = Compat(SimCounter::new(now));
    for clock in SERVED {
        assert_eq!(clock_gettime(&page, clock, &compat), None, "clock {clock}");
        assert_eq!(clock_getres(&page, clock, &compat), None, "clock {clock}");
    }
    assert_eq!(gettimeofday(&page, &compat), None);
    assert_eq!(timezone(&page, &compat), None);
    assert_eq!(compat.0.reads(), 0, "counter read in NOCOMPAT mode");

    for (mode, source) in [
        (CLOCKMODE_ARCHTIMER, CounterSource::Virtual),
        (CLOCKMODE_CNTPCT, CounterSource::Physical),
    ] {
        set_clock_mode(&page, mode);
        for clock in SERVED {
            let compat = Compat(SimCounter::new(now));
            assert_eq!(
                clock_gettime(&page, clock, &compat),
                Some(expected(&tk, clock, now)),
                "mode {mode} clock {clock}"
            );
            assert!(clock_getres(&page, clock, &compat).is_some());
            if HRES_CLOCKS.contains(&clock) {
                assert_eq!(compat.0.last_source(), Some(source), "mode {mode}");
            }
        }
        assert!(timezone(&page, &Compat(SimCounter::new(now))).is_some());
    }
}

#[test]
fn long_division_by_a_second_equals_div_and_rem_at_the_edges() {
    let n = NSEC_PER_SEC;
    for ns in [
        0,
        1,
        n - 1,
        n,
        n + 1,
        2 * n - 1,
        n << 34,
        (n << 34) - 1,
        (n << 34) + n - 1,
        u64::MAX - 1,
        u64::MAX,
        // Ten years after a page published once at boot.
        315_576_000 * n + 999_999_999,
    ] {
        assert_eq!(long_div_rem_nsec(ns), (ns / n, ns % n), "ns {ns}");
        assert_eq!(div_rem_nsec(ns), (ns / n, ns % n), "ns {ns}");
    }
}

#[test]
fn clock_mode_selects_the_virtual_or_physical_counter() {
    let tk = timekeeper();
    let page = page_with(&tk);
    let now = CYCLE_LAST + 4_242;
    for (mode, source) in [
        (1, CounterSource::Virtual),
        (2, CounterSource::Virtual),
        (CLOCKMODE_CNTPCT, CounterSource::Physical),
    ] {
        set_clock_mode(&page, mode);
        for clock in HRES_CLOCKS {
            let counter = SimCounter::new(now);
            assert_eq!(
                clock_gettime(&page, clock, &counter),
                Some(expected(&tk, clock, now)),
                "mode {mode} clock {clock}"
            );
            assert_eq!(
                counter.last_source(),
                Some(source),
                "mode {mode} clock {clock}"
            );
        }
        for clock in COARSE_CLOCKS {
            let counter = SimCounter::new(now);
            assert_eq!(
                clock_gettime(&page, clock, &counter),
                Some(expected(&tk, clock, now))
            );
            assert_eq!(counter.last_source(), None);
        }
        let counter = SimCounter::new(now);
        assert!(gettimeofday(&page, &counter).is_some());
        assert_eq!(
            counter.last_source(),
            Some(source),
            "gettimeofday mode {mode}"
        );
        assert!(
            clock_getres(&page, REALTIME, &Native).is_some(),
            "mode {mode}"
        );
        assert!(timezone(&page, &Native).is_some(), "mode {mode}");
    }
}

#[test]
fn clock_mode_none_timens_and_unknown_values_fall_back_to_the_syscall() {
    for mode in FALLBACK_MODES {
        // A page Linux's writer produces for this mode (for NONE it leaves
        // the high-resolution part unwritten).
        let mut tk = timekeeper();
        tk.clock_mode = mode;
        assert_all_fall_back(&page_with(&tk), &format!("clock_mode {mode}"));
        // A complete page switched to this mode afterwards.
        let page = page_with(&timekeeper());
        set_clock_mode(&page, mode);
        assert_all_fall_back(&page, &format!("clock_mode {mode} after a good page"));
    }
}
