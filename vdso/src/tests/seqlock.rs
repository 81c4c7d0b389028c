//! The seqlock reader: retries, bounded spins, no torn read, monotonic across concurrent updates.

use super::*;

#[test]
fn reader_retries_after_a_concurrent_update_and_returns_the_new_time() {
    let old = timekeeper();
    // The new update changes every input a mix could be made of: counter
    // parameters, both seconds and nanoseconds, and the scale itself.
    let mut new = old;
    new.tkr_mono = ReadBase {
        cycle_last: CYCLE_LAST + 500,
        mask: MASK_56,
        mult: 16 << 20,
        shift: 20,
        xtime_nsec: 777_000_000 << 20,
    };
    new.tkr_raw = ReadBase {
        cycle_last: CYCLE_LAST + 400,
        mask: MASK_56,
        mult: (16 << 20) + 3,
        shift: 20,
        xtime_nsec: 5 << 20,
    };
    new.xtime_sec = 1_800_000_000;
    new.raw_sec = 9_999;
    let (first_read, second_read) = (CYCLE_LAST + 600, CYCLE_LAST + 700);

    for clock in HRES_CLOCKS {
        let page = page_with(&old);
        let counter = SimCounter::with_on_read(first_read, |n, value| {
            if n == 1 {
                // The kernel updates the page while the reader is between
                // its two `seq` loads; time moves on before the retry.
                publish(&page, &new);
            } else {
                value.set(second_read);
            }
        });
        let got = clock_gettime(&page, clock, &counter);
        assert_eq!(
            got,
            Some(expected(&new, clock, second_read)),
            "clock {clock}"
        );
        assert_ne!(
            got,
            Some(expected(&old, clock, first_read)),
            "clock {clock}"
        );
        assert_eq!(counter.reads(), 2, "clock {clock} retried once");
    }

    // gettimeofday takes the same path.
    let page = page_with(&old);
    let counter = SimCounter::with_on_read(first_read, |n, value| {
        if n == 1 {
            publish(&page, &new);
        } else {
            value.set(second_read);
        }
    });
    let want = expected(&new, REALTIME, second_read);
    assert_eq!(
        gettimeofday(&page, &counter),
        Some(Timeval {
            tv_sec: want.tv_sec,
            tv_usec: want.tv_nsec / 1_000
        })
    );
    assert_eq!(counter.reads(), 2);
}

#[test]
fn reader_gives_up_when_seq_stays_odd() {
    let page = page_with(&timekeeper());
    // A writer that died mid-update: `seq` odd, fields half written.
    write_begin(&page);
    page.data[CS_HRES_COARSE].mult.store(0xdead, Relaxed);
    page.data[CS_RAW].cycle_last.store(0xbeef, Relaxed);
    let start = Instant::now();
    for clock in SERVED {
        let counter = SimCounter::new(CYCLE_LAST + 1_000);
        assert_eq!(clock_gettime(&page, clock, &counter), None, "clock {clock}");
        assert_eq!(counter.reads(), 0, "clock {clock} read while seq was odd");
    }
    let counter = SimCounter::new(CYCLE_LAST + 1_000);
    assert_eq!(gettimeofday(&page, &counter), None);
    assert_eq!(counter.reads(), 0);
    // Bounded: eight calls of SPIN_LIMIT rounds each, far below a hang.
    assert!(start.elapsed() < Duration::from_secs(10));

    // Once the writer finishes, the reader answers again.
    write_end(&page);
    assert!(clock_gettime(&page, REALTIME, &SimCounter::new(CYCLE_LAST)).is_some());
}

#[test]
fn reader_gives_up_when_seq_changes_on_every_read() {
    for clock in HRES_CLOCKS {
        let page = page_with(&timekeeper());
        // A writer that completes an update during every single read.
        let counter = SimCounter::with_on_read(CYCLE_LAST + 1_000, |_, value| {
            kernel_write(&page, |_| {});
            value.set(value.get() + 1);
        });
        assert_eq!(clock_gettime(&page, clock, &counter), None, "clock {clock}");
        // It did retry, and it stopped after a bounded number of rounds.
        assert!(counter.reads() > 1);
        assert!(counter.reads() <= SPIN_LIMIT, "{} rounds", counter.reads());
    }
}

#[test]
fn reader_gives_up_when_a_writer_starts_during_the_read_and_never_ends() {
    for clock in HRES_CLOCKS {
        let page = page_with(&timekeeper());
        let counter = SimCounter::with_on_read(CYCLE_LAST + 1_000, |n, _| {
            if n == 1 {
                write_begin(&page);
                page.data[CS_HRES_COARSE].shift.store(1, Relaxed);
                page.data[CS_RAW].shift.store(1, Relaxed);
            }
        });
        assert_eq!(clock_gettime(&page, clock, &counter), None, "clock {clock}");
        assert_eq!(counter.reads(), 1, "clock {clock} read while seq was odd");
    }
}

#[test]
fn monotonic_clocks_never_go_backwards_across_concurrent_ticks_and_frequency_adjustments() {
    let page = Box::<DataPage>::default();
    let tk = RefCell::new(timekeeper());
    publish(&page, &tk.borrow());
    let ticks = Cell::new(0u32);
    let counter = SimCounter::with_on_read(CYCLE_LAST, |n, value| {
        // The counter moves an irregular distance between reads.
        value.set(value.get() + 1 + u64::from(n.wrapping_mul(7_919) % 1_013));
        if n % 5 == 0 {
            // The kernel ticks during this read, at this counter value, and
            // NTP nudges the frequency up or down.
            let adjust = [-40, 25, -3, 60, -70][(n / 5 % 5) as usize];
            let mut tk = tk.borrow_mut();
            tick(&mut tk, value.get(), adjust);
            publish(&page, &tk);
            ticks.set(ticks.get() + 1);
        }
    });
    let clocks = [
        REALTIME,
        MONOTONIC,
        MONOTONIC_RAW,
        REALTIME_COARSE,
        MONOTONIC_COARSE,
        BOOTTIME,
        TAI,
    ];
    let mut last = [(i64::MIN, 0); 7];
    for _ in 0..5_000 {
        for (i, clock) in clocks.into_iter().enumerate() {
            let now = key(clock_gettime(&page, clock, &counter).unwrap());
            assert!(
                now >= last[i],
                "clock {clock} went from {:?} to {now:?}",
                last[i]
            );
            last[i] = now;
        }
        // A coarse clock never runs ahead of its high-resolution clock.
        let coarse = key(clock_gettime(&page, REALTIME_COARSE, &counter).unwrap());
        let fine = key(clock_gettime(&page, REALTIME, &counter).unwrap());
        assert!(
            coarse <= fine,
            "REALTIME_COARSE {coarse:?} > REALTIME {fine:?}"
        );
    }
    assert!(ticks.get() > 1_000, "only {} ticks", ticks.get());
}

/// A generation `k` of the writer thread in
/// [`reader_never_returns_a_torn_time_while_a_writer_thread_updates`].
///
/// Every generation describes the same line, `time(c) = EPOCH + 16 ns * c`,
/// through different `cycle_last`, base and `mult`/`shift` pairs, so every
/// consistent snapshot gives exactly that time and any mix of two
/// generations gives something else. The coarse clock holds `(3k + 7, k)`.
fn publish_generation(page: &DataPage, k: u64) {
    const EPOCH_NS: u64 = 1_700_000_000 * NSEC_PER_SEC + 123_456_789;
    let shift = if k.is_multiple_of(2) { 23 } else { 19 };
    let at_cycle_last = EPOCH_NS + 16 * k;
    kernel_write(page, |p| {
        let vd = &p.data[CS_HRES_COARSE];
        vd.clock_mode.store(CLOCKMODE_ARCHTIMER, Relaxed);
        vd.cycle_last.store(k, Relaxed);
        vd.mask.store(MASK_56, Relaxed);
        vd.mult.store(16 << shift, Relaxed);
        vd.shift.store(shift, Relaxed);
        store_ts(
            vd,
            REALTIME,
            at_cycle_last / NSEC_PER_SEC,
            (at_cycle_last % NSEC_PER_SEC) << shift,
        );
        store_ts(vd, REALTIME_COARSE, 3 * k + 7, k);
    });
}

#[test]
fn reader_never_returns_a_torn_time_while_a_writer_thread_updates() {
    const EPOCH_NS: i128 = 1_700_000_000 * 1_000_000_000 + 123_456_789;
    let page = Box::<DataPage>::default();
    publish_generation(&page, 0);
    let stop = AtomicBool::new(false);
    let mut torn = Vec::new();
    let (mut answered, mut generations) = (0u32, std::collections::BTreeSet::new());
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut k = 0;
            while !stop.load(Relaxed) {
                k += 1;
                publish_generation(&page, k);
            }
        });
        // The reader's counter is always ahead of every `cycle_last`.
        let counter = SimCounter::with_on_read(1 << 40, |_, value| value.set(value.get() + 1));
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut reads = 0u32;
        // Keep reading until the writer has demonstrably run alongside for a
        // while (many generations seen), not merely before or after.
        while (reads < 20_000 || generations.len() < 1_000) && Instant::now() < deadline {
            reads += 1;
            if let Some(got) = clock_gettime(&page, REALTIME, &counter) {
                answered += 1;
                let c = i128::from(counter.value.get());
                let want = EPOCH_NS + 16 * c;
                let got_ns = i128::from(got.tv_sec) * 1_000_000_000 + i128::from(got.tv_nsec);
                if got_ns != want {
                    torn.push((REALTIME, got, c));
                }
            }
            if let Some(got) = clock_gettime(&page, REALTIME_COARSE, &counter) {
                answered += 1;
                generations.insert(got.tv_nsec);
                if got.tv_sec != 3 * got.tv_nsec + 7 {
                    torn.push((REALTIME_COARSE, got, 0));
                }
            }
        }
        // Collect before asserting, so a failure cannot leave the writer
        // spinning and the scope unjoinable.
        stop.store(true, Relaxed);
    });
    assert!(
        torn.is_empty(),
        "torn reads: {:?}",
        &torn[..torn.len().min(5)]
    );
    assert!(answered > 0, "the reader never got an answer");
    assert!(
        generations.len() >= 2,
        "the writer never ran during the reads"
    );
}
