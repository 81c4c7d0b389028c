//! Clock ids the page does not serve, and zero or out-of-range fields: the syscall answers; `clock_getres`.

use super::*;

#[test]
fn unserved_clock_ids_fall_back_to_the_syscall() {
    let page = page_with(&timekeeper());
    let mut ids = vec![
        PROCESS_CPUTIME_ID,
        THREAD_CPUTIME_ID,
        REALTIME_ALARM,
        BOOTTIME_ALARM,
        10,
        16,
        31,
        32,
        33,
        63,
        64,
        -1,
        -2,
        // A CPU-time clock of a process, as glibc encodes it.
        -6,
        i32::MIN,
        i32::MAX,
    ];
    ids.extend(12..=15);
    for clock in ids {
        let counter = SimCounter::new(CYCLE_LAST + 1);
        assert_eq!(clock_gettime(&page, clock, &counter), None, "clock {clock}");
        assert_eq!(clock_getres(&page, clock, &Native), None, "clock {clock}");
        assert_eq!(counter.reads(), 0, "clock {clock} read the counter");
    }
    // The same page does serve the served ids.
    for clock in SERVED {
        assert!(clock_gettime(&page, clock, &SimCounter::new(CYCLE_LAST)).is_some());
        assert!(clock_getres(&page, clock, &Native).is_some());
    }
}

#[test]
fn all_zero_page_never_yields_time_zero() {
    assert_all_fall_back(&DataPage::default(), "the page is all zero");
}

#[test]
fn unscalable_counter_parameters_fall_back_to_the_syscall() {
    let tk = timekeeper();
    let now = CYCLE_LAST + 1_000;
    type Spoil = fn(&VdsoData);
    let spoilers: [(&str, Spoil); 5] = [
        ("mult 0", |vd| vd.mult.store(0, Relaxed)),
        ("mask 0", |vd| vd.mask.store(0, Relaxed)),
        ("shift 64", |vd| vd.shift.store(64, Relaxed)),
        ("shift 65", |vd| vd.shift.store(65, Relaxed)),
        ("shift u32::MAX", |vd| vd.shift.store(u32::MAX, Relaxed)),
    ];
    for (what, spoil) in spoilers {
        // Spoiled in the first struct: the mono clocks fall back; the raw
        // clock and the coarse clocks (which need no scaling) still answer.
        let page = page_with(&tk);
        kernel_write(&page, |p| spoil(&p.data[CS_HRES_COARSE]));
        for clock in MONO_CLOCKS {
            let counter = SimCounter::new(now);
            assert_eq!(
                clock_gettime(&page, clock, &counter),
                None,
                "{what}: {clock}"
            );
        }
        assert_eq!(gettimeofday(&page, &SimCounter::new(now)), None, "{what}");
        for clock in [MONOTONIC_RAW, REALTIME_COARSE, MONOTONIC_COARSE] {
            assert_eq!(
                clock_gettime(&page, clock, &SimCounter::new(now)),
                Some(expected(&tk, clock, now)),
                "{what}: {clock}"
            );
        }

        // Spoiled in the raw struct: only the raw clock falls back.
        let page = page_with(&tk);
        kernel_write(&page, |p| spoil(&p.data[CS_RAW]));
        assert_eq!(
            clock_gettime(&page, MONOTONIC_RAW, &SimCounter::new(now)),
            None,
            "{what}: raw"
        );
        for clock in [MONO_CLOCKS.as_slice(), COARSE_CLOCKS.as_slice()].concat() {
            assert_eq!(
                clock_gettime(&page, clock, &SimCounter::new(now)),
                Some(expected(&tk, clock, now)),
                "{what}: {clock}"
            );
        }
    }
}

#[test]
fn clock_getres_reports_the_published_resolutions() {
    for (hrtimer_res, coarse_res) in [(1, 4_000_000), (4_000_000, 4_000_000), (1, 10_000_000)] {
        let mut tk = timekeeper();
        tk.hrtimer_res = hrtimer_res;
        tk.coarse_res = coarse_res;
        let page = page_with(&tk);
        // Linux reads the resolution of every clock from the first struct,
        // the raw clock's too; the raw struct's field is not used.
        page.data[CS_RAW].hrtimer_res.store(999, Relaxed);
        for clock in HRES_CLOCKS {
            assert_eq!(
                clock_getres(&page, clock, &Native),
                Some(ts(0, i64::from(hrtimer_res))),
                "clock {clock}"
            );
        }
        for clock in COARSE_CLOCKS {
            assert_eq!(
                clock_getres(&page, clock, &Native),
                Some(ts(0, i64::from(coarse_res))),
                "clock {clock}"
            );
        }
    }
}

#[test]
fn clock_getres_falls_back_while_a_resolution_is_zero() {
    let mut tk = timekeeper();
    tk.hrtimer_res = 0;
    let page = page_with(&tk);
    for clock in HRES_CLOCKS {
        assert_eq!(clock_getres(&page, clock, &Native), None, "clock {clock}");
    }
    for clock in COARSE_CLOCKS {
        assert_eq!(clock_getres(&page, clock, &Native), Some(ts(0, 4_000_000)));
    }

    let mut tk = timekeeper();
    tk.coarse_res = 0;
    let page = page_with(&tk);
    for clock in COARSE_CLOCKS {
        assert_eq!(clock_getres(&page, clock, &Native), None, "clock {clock}");
    }
    for clock in HRES_CLOCKS {
        assert_eq!(clock_getres(&page, clock, &Native), Some(ts(0, 1)));
    }
}

#[test]
fn clock_getres_does_not_wait_for_the_seqlock() {
    // Linux reads `hrtimer_res` outside the seqlock; so do we, so a stuck
    // writer does not slow `clock_getres` down.
    let page = page_with(&timekeeper());
    write_begin(&page);
    assert_eq!(clock_getres(&page, MONOTONIC, &Native), Some(ts(0, 1)));
    assert_eq!(
        clock_getres(&page, MONOTONIC_COARSE, &Native),
        Some(ts(0, 4_000_000))
    );
}

#[test]
fn a_page_linux_6_12_wrote_is_read_without_its_rng_data() {
    // Linux ≥ 6.11 writes `struct vdso_rng_data` at byte 480 of the page
    // and never writes our extension. Our coarse resolution once sat at
    // 480, so on such a page `clock_getres` returned the rng generation.
    let tk = timekeeper();
    let page = page_with(&tk);
    page.ext.coarse_res.store(0, Relaxed);
    page.rng.generation.store(0x0123_4567_89ab_cdef, Relaxed);
    page.rng.is_ready.store(1, Relaxed);
    let bytes = (&*page as *const DataPage).cast::<u8>();
    // SAFETY: the page is 4096 initialised bytes; reading byte 480 (the
    // generation's low byte, little-endian) reads nothing out of bounds.
    let byte_480 = unsafe { bytes.add(480).read() };
    assert_eq!(byte_480, 0xef, "rng data at byte 480");
    for clock in COARSE_CLOCKS {
        assert_eq!(clock_getres(&page, clock, &Native), None, "clock {clock}");
    }
    for clock in HRES_CLOCKS {
        assert_eq!(clock_getres(&page, clock, &Native), Some(ts(0, 1)));
    }
    let now = CYCLE_LAST + 12_345;
    for clock in SERVED {
        assert_eq!(
            clock_gettime(&page, clock, &SimCounter::new(now)),
            Some(expected(&tk, clock, now)),
            "clock {clock}"
        );
    }
}
