//! The straight path (`clock_gettime_once`, `gettimeofday_once`): the image's inlined first
//! attempt. It must answer exactly as the full read wherever it answers, answer the common
//! read of a ticking page with Linux's `ARCHTIMER` mode (the counter past `cycle_last`, less
//! than a second on), and leave everything else to the full read, which serves it.

use super::*;
use crate::time::{clock_gettime_from, clock_gettime_once, gettimeofday_once, Counted, Once};

/// Sets `clock_mode` of both structs, as Linux's writer does.
fn set_clock_mode(page: &DataPage, mode: i32) {
    kernel_write(page, |p| {
        p.data
            .iter()
            .for_each(|vd| vd.clock_mode.store(mode, Relaxed))
    });
}

#[test]
fn the_straight_path_serves_every_clock_of_a_ticking_page_exactly() {
    let tk = timekeeper();
    let page = page_with(&tk);
    for now in [CYCLE_LAST + 1, CYCLE_LAST + FREQ_62_5_MHZ / 250] {
        for clock in SERVED {
            assert_eq!(
                clock_gettime_once(&page, clock, &SimCounter::new(now)),
                Once::Done(expected(&tk, clock, now)),
                "clock {clock} at {now}"
            );
        }
        let Once::Done(tv) = gettimeofday_once(&page, &SimCounter::new(now)) else {
            panic!("gettimeofday at {now}: not on the straight path");
        };
        let want = expected(&tk, REALTIME, now);
        assert_eq!((tv.tv_sec, tv.tv_usec), (want.tv_sec, want.tv_nsec / 1000));
    }
}

#[test]
fn the_straight_path_leaves_other_modes_to_the_full_read() {
    let tk = timekeeper();
    let page = page_with(&tk);
    let now = CYCLE_LAST + 1000;
    for mode in [CLOCKMODE_ARCHTIMER_NOCOMPAT, CLOCKMODE_CNTPCT] {
        set_clock_mode(&page, mode);
        for clock in SERVED {
            let counter = SimCounter::new(now);
            assert_eq!(
                clock_gettime_once(&page, clock, &counter),
                Once::Skipped,
                "mode {mode}"
            );
            assert_eq!(counter.last_source(), None, "mode {mode}: no counter read");
            assert_eq!(
                clock_gettime(&page, clock, &SimCounter::new(now)),
                Some(expected(&tk, clock, now)),
                "mode {mode}, clock {clock}: the full read serves it"
            );
        }
        assert_eq!(
            gettimeofday_once(&page, &SimCounter::new(now)),
            Once::Skipped
        );
    }
}

#[test]
fn the_full_read_finishes_the_rare_reads_exactly_without_reading_the_counter_again() {
    // What the straight path's one test does not take, each for a reason it
    // names: the counter still at `cycle_last` (a product of 0 looks like
    // `mult` 0), a second or more since the last update (a second to carry),
    // and a page published once ten years ago (the product needs 128 bits:
    // the promise to kernels without ticks). The round it read goes to the
    // full read, which answers it exactly with the counter value it read.
    let tk = timekeeper();
    let page = page_with(&tk);
    let at_cycle_last = CYCLE_LAST;
    let two_seconds_on = CYCLE_LAST + 2 * FREQ_62_5_MHZ;
    let ten_years_on = CYCLE_LAST + TEN_YEARS_SEC * FREQ_62_5_MHZ;
    for now in [at_cycle_last, two_seconds_on, ten_years_on] {
        for clock in HRES_CLOCKS {
            let Once::Counted(round) = clock_gettime_once(&page, clock, &SimCounter::new(now))
            else {
                panic!("clock {clock} at {now}: not a counted round");
            };
            let later = SimCounter::new(now + FREQ_62_5_MHZ);
            assert_eq!(
                clock_gettime_from(&page, clock, &later, round),
                Some(expected(&tk, clock, now)),
                "clock {clock} at {now}: the full read finishes it"
            );
            assert_eq!(later.reads(), 0, "clock {clock} at {now}: one counter read");
        }
        assert!(matches!(
            gettimeofday_once(&page, &SimCounter::new(now)),
            Once::Counted(Counted { cycles, .. }) if cycles == now
        ));
    }
}

#[test]
fn a_round_a_writer_came_into_is_read_again_in_full() {
    // The straight path read the counter, then the kernel published: the
    // full read discards that round and reads the new page.
    let tk = timekeeper();
    let page = page_with(&tk);
    let now = CYCLE_LAST + TEN_YEARS_SEC * FREQ_62_5_MHZ;
    let Once::Counted(round) = clock_gettime_once(&page, REALTIME, &SimCounter::new(now)) else {
        panic!("not a counted round");
    };
    let later = now + 1000;
    let mut tk = tk;
    tk.tkr_mono.cycle_last = later - 10;
    publish(&page, &tk);
    let counter = SimCounter::new(later);
    assert_eq!(
        clock_gettime_from(&page, REALTIME, &counter, round),
        Some(expected(&tk, REALTIME, later))
    );
    assert_eq!(
        counter.reads(),
        1,
        "the counter is read again, in a round of its own"
    );
}

#[test]
fn the_straight_path_tries_one_seqlock_round_only() {
    let page = page_with(&timekeeper());
    write_begin(&page);
    let counter = SimCounter::new(CYCLE_LAST + 1);
    assert_eq!(clock_gettime_once(&page, REALTIME, &counter), Once::Skipped);
    assert_eq!(counter.reads(), 0, "an odd seq: no counter read");
    write_end(&page);
    // A writer that starts during the read: the one round fails, nothing is retried.
    let page = page_with(&timekeeper());
    let counter = SimCounter::with_on_read(CYCLE_LAST + 1, |_, _| write_begin(&page));
    assert!(matches!(
        clock_gettime_once(&page, REALTIME, &counter),
        Once::Counted(_)
    ));
    assert_eq!(counter.reads(), 1);
}
