//! Property tests over random data pages (issue 7, part 3): whatever the
//! page holds, the reader never panics (host tests have overflow checks
//! on, so an overflowing operation would panic) and answers exactly the
//! time an independent reference computes from the page, or `None` (use
//! the syscall) exactly when that reference says the page cannot be
//! served.
//!
//! The reference ([`reference_time`]) is the data page's rules
//! (ARCHITECTURE.md) and `time.rs`'s documented rules in plain `u128`
//! arithmetic, written without looking at how `scale` splits the product:
//! a page is served only with `clock_mode` 1, 2 or CNTPCT and an even
//! `seq`; a counter clock also needs `mult`, `mask` nonzero, `shift` below
//! 64, a masked delta at most half the mask (else the counter is behind
//! `cycle_last`) and a result below 2^64 ns.

use proptest::prelude::*;

use super::*;
use crate::data::clock::{COUNTER_CLOCKS, MAX_CLOCKS};
use crate::data::VDSO_BASES;
use crate::time::Once;

/// The fields of one `vdso_data`, as a hostile kernel may write them.
#[derive(Clone, Debug)]
struct RawData {
    seq: u32,
    clock_mode: i32,
    cycle_last: u64,
    mask: u64,
    mult: u32,
    shift: u32,
    basetime: [(u64, u64); VDSO_BASES],
    tz: (i32, i32),
    hrtimer_res: u32,
}

/// A mix of the modes that matter and arbitrary ones.
fn clock_mode() -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => Just(CLOCKMODE_ARCHTIMER),
        2 => Just(CLOCKMODE_ARCHTIMER_NOCOMPAT),
        2 => Just(CLOCKMODE_CNTPCT),
        1 => Just(CLOCKMODE_NONE),
        1 => Just(CLOCKMODE_TIMENS),
        2 => any::<i32>(),
    ]
}

/// `seq`: even (a finished update) or odd (a writer at work).
fn seq() -> impl Strategy<Value = u32> {
    prop_oneof![4 => any::<u32>().prop_map(|s| s & !1), 1 => any::<u32>().prop_map(|s| s | 1)]
}

/// Counter widths, 0, and arbitrary bit patterns.
fn mask() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0),
        Just(u64::MAX),
        Just(MASK_56),
        (1u32..64).prop_map(|bits| (1u64 << bits) - 1),
        any::<u64>(),
    ]
}

/// Real scales, 0, the extremes, anything.
fn mult() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(u32::MAX),
        Just(MULT_62_5_MHZ),
        Just(MULT_24_MHZ),
        any::<u32>(),
    ]
}

/// Mostly usable shifts; 64 and above too.
fn shift() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 0u32..64,
        1 => Just(0),
        1 => Just(63),
        1 => Just(64),
        1 => 65u32..=255,
        1 => any::<u32>(),
    ]
}

/// Nanoseconds: plain, shifted-looking, or anything.
fn nsec() -> impl Strategy<Value = u64> {
    prop_oneof![0..NSEC_PER_SEC, 0..(NSEC_PER_SEC << 34), any::<u64>()]
}

/// Brings an arbitrary `nsec` into the range `kind` picks (as
/// [`nsec`] does), so one plain array strategy serves all twelve
/// slots: a deeper strategy tree overflows the test thread's stack in
/// debug builds.
fn nsec_of_kind(nsec: u64, kind: u8) -> u64 {
    match kind % 3 {
        0 => nsec % NSEC_PER_SEC,
        1 => nsec % (NSEC_PER_SEC << 34),
        _ => nsec,
    }
}

fn raw_data() -> impl Strategy<Value = RawData> {
    (
        (seq(), clock_mode(), any::<u64>(), mask(), mult(), shift()),
        any::<([(u64, u64); VDSO_BASES], u8)>(),
        any::<(i32, i32)>(),
        prop_oneof![Just(0u32), Just(1), any::<u32>()],
    )
        .prop_map(
            |((seq, clock_mode, cycle_last, mask, mult, shift), (bases, kind), tz, res)| RawData {
                seq,
                clock_mode,
                cycle_last,
                mask,
                mult,
                shift,
                basetime: bases.map(|(sec, nsec)| (sec, nsec_of_kind(nsec, kind))),
                tz,
                hrtimer_res: res,
            },
        )
}

/// Both structs and our extension's coarse resolution.
fn raw_page() -> impl Strategy<Value = ([RawData; 2], u32)> {
    (
        [raw_data(), raw_data()],
        prop_oneof![Just(0u32), Just(4_000_000), any::<u32>()],
    )
}

/// How far the counter is past the first struct's `cycle_last`:
/// a little, a lot, a little behind, or anything.
fn counter_delta() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..(1 << 32),
        (1u64 << 32)..(1 << 60),
        (0u64..(1 << 20)).prop_map(|d| d.wrapping_neg()),
        any::<u64>(),
    ]
}

fn store(page: &DataPage, raw: &[RawData; 2], coarse_res: u32) {
    for (vd, raw) in page.data.iter().zip(raw) {
        vd.seq.store(raw.seq, Relaxed);
        vd.clock_mode.store(raw.clock_mode, Relaxed);
        vd.cycle_last.store(raw.cycle_last, Relaxed);
        vd.mask.store(raw.mask, Relaxed);
        vd.mult.store(raw.mult, Relaxed);
        vd.shift.store(raw.shift, Relaxed);
        for (ts, &(sec, nsec)) in vd.basetime.iter().zip(&raw.basetime) {
            ts.sec.store(sec, Relaxed);
            ts.nsec.store(nsec, Relaxed);
        }
        vd.tz_minuteswest.store(raw.tz.0, Relaxed);
        vd.tz_dsttime.store(raw.tz.1, Relaxed);
        vd.hrtimer_res.store(raw.hrtimer_res, Relaxed);
    }
    page.ext.coarse_res.store(coarse_res, Relaxed);
}

/// The counter a served `clock_mode` names, or `None`.
fn reference_source(clock_mode: i32) -> Option<CounterSource> {
    match clock_mode {
        1 | 2 => Some(CounterSource::Virtual),
        0x7fff_0000 => Some(CounterSource::Physical),
        _ => None,
    }
}

/// `clock` from `raw` at `counter`, or `None` (module docs).
fn reference_time(raw: &[RawData; 2], clock: i32, counter: u64) -> Option<Timespec> {
    const COARSE: [i32; 2] = [REALTIME_COARSE, MONOTONIC_COARSE];
    if !COUNTER_CLOCKS.contains(&clock) && !COARSE.contains(&clock) {
        return None;
    }
    let vd = &raw[if clock == MONOTONIC_RAW {
        CS_RAW
    } else {
        CS_HRES_COARSE
    }];
    reference_source(vd.clock_mode)?;
    if vd.seq % 2 == 1 {
        return None;
    }
    let (sec, nsec) = vd.basetime[clock as usize];
    if COARSE.contains(&clock) {
        return Some(ts(sec as i64, nsec as i64));
    }
    if vd.mult == 0 || vd.mask == 0 || vd.shift >= 64 {
        return None;
    }
    let delta = counter.wrapping_sub(vd.cycle_last) & vd.mask;
    if delta > vd.mask / 2 {
        return None;
    }
    let ns = (u128::from(delta) * u128::from(vd.mult) + u128::from(nsec)) >> vd.shift;
    let ns = u64::try_from(ns).ok()?;
    // The page's seconds are two's complement; they wrap like the
    // kernel's `u64` arithmetic.
    Some(ts(
        sec.wrapping_add(ns / NSEC_PER_SEC) as i64,
        (ns % NSEC_PER_SEC) as i64,
    ))
}

/// The resolution the page gives `clock`: the first struct's mode must
/// be served and the field nonzero; `seq` does not matter (the reader
/// does not wait for the seqlock here, as Linux).
fn reference_res(raw: &[RawData; 2], coarse_res: u32, clock: i32) -> Option<Timespec> {
    reference_source(raw[CS_HRES_COARSE].clock_mode)?;
    let ns = match clock {
        REALTIME | MONOTONIC | MONOTONIC_RAW | BOOTTIME | TAI => raw[CS_HRES_COARSE].hrtimer_res,
        REALTIME_COARSE | MONOTONIC_COARSE => coarse_res,
        _ => return None,
    };
    (ns != 0).then(|| ts(0, i64::from(ns)))
}

/// Which of the two structs serves `clock`.
fn struct_of(clock: i32) -> usize {
    if clock == MONOTONIC_RAW {
        CS_RAW
    } else {
        CS_HRES_COARSE
    }
}

/// The page `raw` describes, and the counter `delta` cycles past the
/// `cycle_last` of the struct that serves `clock`.
fn page_and_counter(
    raw: &[RawData; 2],
    coarse_res: u32,
    clock: i32,
    delta: u64,
) -> (Box<DataPage>, u64) {
    let page = Box::<DataPage>::default();
    store(&page, raw, coarse_res);
    (page, raw[struct_of(clock)].cycle_last.wrapping_add(delta))
}

/// Clock ids worth trying: every served one, the neighbours, anything.
fn clock_id() -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => proptest::sample::select(SERVED.to_vec()),
        1 => -2..=MAX_CLOCKS + 2,
        1 => any::<i32>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn long_division_by_a_second_equals_div_and_rem(ns in any::<u64>()) {
        prop_assert_eq!(
            crate::time::long_div_rem_nsec(ns),
            (ns / NSEC_PER_SEC, ns % NSEC_PER_SEC)
        );
    }

    #[test]
    fn clock_gettime_is_the_pages_time_or_the_syscall(
        (raw, coarse_res) in raw_page(),
        delta in counter_delta(),
        clock in clock_id(),
    ) {
        let (page, now) = page_and_counter(&raw, coarse_res, clock, delta);
        let counter = SimCounter::new(now);
        let got = clock_gettime(&page, clock, &counter);
        prop_assert_eq!(got, reference_time(&raw, clock, now));
        // A counter clock served from the page read the counter its
        // `clock_mode` names.
        if got.is_some() && COUNTER_CLOCKS.contains(&clock) {
            let mode = raw[struct_of(clock)].clock_mode;
            prop_assert_eq!(counter.last_source(), reference_source(mode));
        }
    }

    #[test]
    fn the_straight_path_is_the_pages_time_or_a_round_the_full_read_finishes(
        (raw, coarse_res) in raw_page(),
        delta in counter_delta(),
        clock in clock_id(),
    ) {
        let (page, now) = page_and_counter(&raw, coarse_res, clock, delta);
        let want = reference_time(&raw, clock, now);
        match crate::time::clock_gettime_once(&page, clock, &SimCounter::new(now)) {
            Once::Done(t) => prop_assert_eq!(Some(t), want),
            Once::Counted(round) => {
                // The full read takes the round as its first: the page's
                // time at the counter value the round read, read once.
                prop_assert_eq!(round.cycles, now);
                let counter = SimCounter::new(now + 1);
                let t = crate::time::clock_gettime_from(&page, clock, &counter, round);
                prop_assert_eq!(t, want);
                prop_assert_eq!(counter.reads(), 0, "the counter is not read again");
            }
            Once::Skipped => {}
        }
        let want = reference_time(&raw, REALTIME, now).map(|t| Timeval {
            tv_sec: t.tv_sec,
            tv_usec: t.tv_nsec / 1000,
        });
        match crate::time::gettimeofday_once(&page, &SimCounter::new(now)) {
            Once::Done(tv) => prop_assert_eq!(Some(tv), want),
            Once::Counted(round) => prop_assert_eq!(round.cycles, now),
            Once::Skipped => {}
        }
    }

    #[test]
    fn gettimeofday_is_the_pages_realtime_or_the_syscall(
        (raw, coarse_res) in raw_page(),
        delta in counter_delta(),
    ) {
        let page = Box::<DataPage>::default();
        store(&page, &raw, coarse_res);
        let now = raw[CS_HRES_COARSE].cycle_last.wrapping_add(delta);
        let want = reference_time(&raw, REALTIME, now).map(|t| Timeval {
            tv_sec: t.tv_sec,
            tv_usec: t.tv_nsec / 1000,
        });
        prop_assert_eq!(gettimeofday(&page, &SimCounter::new(now)), want);
        let vd = &raw[CS_HRES_COARSE];
        let zone = reference_source(vd.clock_mode).map(|_| Timezone {
            tz_minuteswest: vd.tz.0,
            tz_dsttime: vd.tz.1,
        });
        prop_assert_eq!(timezone(&page, &Native), zone);
    }

    #[test]
    fn clock_getres_is_the_pages_resolution_or_the_syscall(
        (raw, coarse_res) in raw_page(),
        clock in clock_id(),
    ) {
        let page = Box::<DataPage>::default();
        store(&page, &raw, coarse_res);
        prop_assert_eq!(clock_getres(&page, clock, &Native), reference_res(&raw, coarse_res, clock));
    }

    #[test]
    fn scale_is_the_u128_reference_or_none(
        cycles in any::<u64>(),
        last in any::<u64>(),
        mask in mask(),
        mult in prop_oneof![Just(0u64), any::<u32>().prop_map(u64::from), any::<u64>()],
        shift in prop_oneof![0u64..64, 64u64..=128, any::<u64>()],
        nsec in nsec(),
    ) {
        let delta = cycles.wrapping_sub(last) & mask;
        let want = if mult == 0 || mask == 0 || shift >= 64 || delta > mask / 2 {
            None
        } else {
            u64::try_from((u128::from(delta) * u128::from(mult) + u128::from(nsec)) >> shift).ok()
        };
        prop_assert_eq!(scale(cycles, last, mask, mult, shift, nsec), want);
    }
}
