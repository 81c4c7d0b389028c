//! Host tests of the loader: the scale choice, the seqlock protocol, and the
//! writer against the image's own reader (`vdso::time`) with a simulated
//! counter. Expected times are computed here from the inputs, by plain
//! arithmetic in nanoseconds, never by the code under test.

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::boxed::Box;
use std::vec::Vec;

use vdso::time::{self, Counter};

use crate::*;

/// A counter that reads whatever the test set, and records which counter
/// the reader asked for.
struct SimCounter {
    value: AtomicU64,
    asked: Cell<Option<CounterSource>>,
}

impl SimCounter {
    fn at(value: u64) -> SimCounter {
        SimCounter {
            value: AtomicU64::new(value),
            asked: Cell::new(None),
        }
    }
}

impl Counter for SimCounter {
    fn read(&self, source: CounterSource) -> u64 {
        self.asked.set(Some(source));
        self.value.load(Ordering::Relaxed)
    }
}

const NS: i128 = 1_000_000_000;
const SERVED: [i32; 7] = clock::SERVED;
const HRES: [i32; 5] = clock::COUNTER_CLOCKS;
const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;

fn ts(sec: i64, nsec: i64) -> Timespec {
    Timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    }
}

fn ns(t: Timespec) -> i128 {
    i128::from(t.tv_sec) * NS + i128::from(t.tv_nsec)
}

fn from_ns(total: i128) -> Timespec {
    ts(total.div_euclid(NS) as i64, total.rem_euclid(NS) as i64)
}

fn page() -> Box<DataPage> {
    Box::new(zeroed_data_page())
}

/// Bases chosen to exercise carries (a MONOTONIC 1 ns before a second
/// boundary) and distinct values for every clock.
fn clocks_at(counter: u64) -> Clocks {
    Clocks {
        counter,
        realtime: ts(1_700_000_000, 123_456_789),
        monotonic: ts(12_345, 999_999_999),
        monotonic_raw: ts(12_340, 5),
        boottime: ts(12_400, 500_000_000),
        tai: ts(1_700_000_037, 123_456_789),
    }
}

/// The base of `id` in `clocks` (coarse clocks: their high-res source).
fn base_of(clocks: &Clocks, id: i32) -> Timespec {
    match id {
        clock::REALTIME | clock::REALTIME_COARSE => clocks.realtime,
        clock::MONOTONIC | clock::MONOTONIC_COARSE => clocks.monotonic,
        clock::MONOTONIC_RAW => clocks.monotonic_raw,
        clock::BOOTTIME => clocks.boottime,
        clock::TAI => clocks.tai,
        _ => unreachable!("not a served clock: {id}"),
    }
}

fn is_coarse(id: i32) -> bool {
    id == clock::REALTIME_COARSE || id == clock::MONOTONIC_COARSE
}

fn read(page: &DataPage, id: i32, counter: u64) -> Option<Timespec> {
    time::clock_gettime(page, id, &SimCounter::at(counter))
}

fn config(hz: u64) -> Config {
    Config {
        coarse_res: 4_000_000,
        ..Config::new(CounterSource::Virtual, hz)
    }
}

#[test]
fn scale_is_the_most_precise_for_common_frequencies() {
    // (hz, shift, mult): the largest shift whose rounded
    // mult = 1e9 * 2^shift / hz still fits in a u32, worked out by hand.
    let table = [
        (1_000_000, 22, 4_194_304_000),        // 1000 * 2^22
        (19_200_000, 26, 3_495_253_333),       // 52.0833.. * 2^26 = ..333.33
        (24_000_000, 26, 2_796_202_667),       // 41.6666.. * 2^26 = ..666.67
        (62_500_000, 27, 2_147_483_648),       // 16 * 2^27
        (100_000_000, 28, 2_684_354_560),      // 10 * 2^28
        (1_000_000_000, 31, 2_147_483_648u32), // 1 * 2^31
    ];
    for (hz, shift, mult) in table {
        let scale = Scale::from_frequency(hz).unwrap();
        assert_eq!(scale, Scale { mult, shift }, "{hz} Hz");
        // Maximal: one more bit of shift would overflow a u32.
        let next =
            ((u128::from(NSEC_PER_SEC) << (shift + 1)) + u128::from(hz) / 2) / u128::from(hz);
        assert!(
            next > u128::from(u32::MAX),
            "{hz} Hz: shift {shift} is not maximal"
        );
        // Rounded to nearest: |mult * hz - 1e9 * 2^shift| <= hz / 2.
        let exact = i128::from(NSEC_PER_SEC) << shift;
        let err = (i128::from(mult) * i128::from(hz) - exact).abs();
        assert!(
            err <= i128::from(hz) / 2,
            "{hz} Hz: mult not rounded to nearest"
        );
        // The documented drift bound: relative error at most 2^-32.
        assert!(err * (1 << 32) <= exact, "{hz} Hz drifts more than 2^-32");
    }
}

#[test]
fn scale_handles_extreme_frequencies() {
    assert_eq!(Scale::from_frequency(0), None);
    // The slowest integer frequency: 1e9 * 2^2 = 4e9 < 2^32 < 8e9.
    assert_eq!(
        Scale::from_frequency(1).unwrap(),
        Scale {
            mult: 4_000_000_000,
            shift: 2
        }
    );
    // Above 4.29 GHz the u64 limit of the shifted base caps the shift.
    let top = Scale::from_frequency(u64::MAX).unwrap();
    assert_eq!(top.shift, MAX_SHIFT);
    assert_eq!(top.mult, 1); // 1e9 * 2^34 / 1.8e19 = 0.93, rounded
    assert_eq!(
        Scale::from_frequency(10_000_000_000).unwrap().shift,
        MAX_SHIFT
    );
}

#[test]
fn counter_width_follows_linux() {
    // ceil(log2(40 years * hz)) clamped to 56..=64, worked out by hand:
    // 40 y = 1_261_440_000 s.
    let table = [
        (1_000_000, 56),     // 1.26e15 -> 51 bits -> 56
        (24_000_000, 56),    // 3.03e16 -> 55 bits -> 56
        (62_500_000, 57),    // 7.88e16 -> 57 bits (2^56 = 7.21e16)
        (100_000_000, 57),   // 1.26e17 -> 57 bits (2^57 = 1.44e17)
        (1_000_000_000, 61), // 1.26e18 -> 61 bits (2^60 = 1.15e18)
        (u64::MAX, 64),
    ];
    for (hz, bits) in table {
        assert_eq!(
            Config::new(CounterSource::Virtual, hz).counter_bits,
            bits,
            "{hz} Hz"
        );
    }
}

#[test]
fn writer_rejects_unusable_configs() {
    let page = page();
    let zero = Config::new(CounterSource::Virtual, 0);
    assert_eq!(Writer::new(&page, zero).unwrap_err(), Error::Frequency);
    for bits in [0, 65] {
        let bad = Config {
            counter_bits: bits,
            ..config(62_500_000)
        };
        assert_eq!(Writer::new(&page, bad).unwrap_err(), Error::CounterBits);
    }
}

#[test]
fn new_page_sends_everything_to_the_syscall_until_published() {
    let page = page();
    // Garbage a previous user left in the page must not survive.
    page.data[0].basetime[0].sec.store(99, Ordering::Relaxed);
    page.data[1]
        .clock_mode
        .store(CLOCKMODE_ARCHTIMER, Ordering::Relaxed);
    let _writer = Writer::new(&page, config(62_500_000)).unwrap();
    for vd in &page.data {
        assert_eq!(vd.clock_mode.load(Ordering::Relaxed), CLOCKMODE_NONE);
        assert_eq!(vd.seq.load(Ordering::Relaxed) % 2, 0);
    }
    assert_eq!(page.data[0].basetime[0].sec.load(Ordering::Relaxed), 0);
    for id in SERVED {
        assert_eq!(read(&page, id, 1000), None, "clock {id}");
        assert_eq!(
            time::clock_getres(&page, id, &SimCounter::at(0)),
            None,
            "clock {id}"
        );
    }
    assert_eq!(time::timezone(&page, &SimCounter::at(0)), None);
    assert_eq!(time::gettimeofday(&page, &SimCounter::at(1000)), None);
}

#[test]
fn every_update_leaves_both_sequence_counts_even_and_new() {
    let page = page();
    let mut writer = Writer::new(&page, config(62_500_000)).unwrap();
    let seqs = || {
        page.data
            .each_ref()
            .map(|vd| vd.seq.load(Ordering::Relaxed))
    };
    let mut before = seqs();
    let tz = Timezone {
        tz_minuteswest: -60,
        tz_dsttime: 1,
    };
    for step in 0..5 {
        match step {
            0 => writer.publish(clocks_at(1000)),
            1 => writer.tick(2000),
            2 => writer.set_timezone(tz),
            3 => writer.set_enabled(false),
            _ => writer.set_enabled(true),
        }
        let after = seqs();
        for (b, a) in before.iter().zip(after) {
            assert_eq!(a % 2, 0, "seq left odd");
            assert_eq!(a, b + 2, "seq did not advance by one write");
        }
        before = after;
    }
}

#[test]
fn both_sequence_counts_are_odd_during_a_write() {
    let page = page();
    // A writer that died half-way left CS_RAW's seq odd.
    page.data[1].seq.store(7, Ordering::Relaxed);
    let writer = Writer::new(&page, config(62_500_000)).unwrap();
    let before = page
        .data
        .each_ref()
        .map(|vd| vd.seq.load(Ordering::Relaxed));
    assert!(before.iter().all(|s| s % 2 == 0));
    let seen = AtomicBool::new(false);
    writer.write(|p| {
        for (vd, b) in p.data.iter().zip(before) {
            let seq = vd.seq.load(Ordering::Relaxed);
            assert_eq!(seq % 2, 1, "seq even inside a write");
            assert_eq!(seq, b + 1);
        }
        // A reader racing this write gives up to the syscall.
        assert_eq!(
            time::clock_gettime(p, clock::MONOTONIC, &SimCounter::at(0)),
            None
        );
        seen.store(true, Ordering::Relaxed);
    });
    assert!(seen.load(Ordering::Relaxed));
    for (vd, b) in page.data.iter().zip(before) {
        assert_eq!(vd.seq.load(Ordering::Relaxed), b + 2);
    }
}

/// Publishes `clocks_at(c0)` at `hz` and checks every served clock, read by
/// the image's reader and by the kernel's `clock_gettime`, at `c0 + k` for
/// each `k`, against `expected(base, k)`.
fn check_publish(hz: u64, c0: u64, ks: &[u64], close: impl Fn(i128, i128, u64) -> bool) {
    let page = page();
    let mut writer = Writer::new(&page, config(hz)).unwrap();
    let clocks = clocks_at(c0);
    writer.publish(clocks);
    for &k in ks {
        let counter = c0.wrapping_add(k);
        for id in SERVED {
            let base = ns(base_of(&clocks, id));
            let got = read(&page, id, counter).unwrap_or_else(|| panic!("clock {id} fell back"));
            let kernel = writer.clock_gettime(id, counter).unwrap();
            assert_eq!(
                got, kernel,
                "{hz} Hz, clock {id}, k {k}: kernel and vDSO differ"
            );
            assert!((0..NS).contains(&i128::from(got.tv_nsec)));
            if is_coarse(id) {
                // Coarse clocks are the time of the last update.
                assert_eq!(ns(got), base, "{hz} Hz, coarse clock {id}, k {k}");
            } else {
                assert!(
                    close(ns(got), base, k),
                    "{hz} Hz, clock {id}, k {k}: got {got:?}"
                );
            }
        }
    }
}

#[test]
fn writer_and_reader_agree_to_the_nanosecond_for_exact_frequencies() {
    // Frequencies whose period is whole nanoseconds: time = base + k * period,
    // exactly, at publish time and 1 s, 1 h and 10 years later.
    for hz in [
        62_500_000,
        1_000_000_000,
        100_000_000,
        25_000_000,
        1_000_000,
    ] {
        let period = i128::from(1_000_000_000 / hz);
        let ks = [
            0,
            1,
            7,
            hz - 1,
            hz,
            3600 * hz,
            3600 * hz + 12_345,
            TEN_YEARS * hz,
        ];
        check_publish(hz, 0x00ab_cdef_0123, &ks, |got, base, k| {
            got == base + i128::from(k) * period
        });
    }
}

#[test]
fn inexact_frequencies_drift_at_most_two_to_the_minus_32() {
    // The documented bound: |error| <= elapsed * 2^-32 + 1 ns (truncation).
    for hz in [24_000_000, 19_200_000, 54_000_000, 1_953_125] {
        let ks = [0, 1, hz, 3600 * hz + 1, TEN_YEARS * hz];
        check_publish(hz, 0x0012_3456_789a, &ks, |got, base, k| {
            let elapsed = i128::from(k) * NS / i128::from(hz); // exact, floored
            let err = (got - base - elapsed).abs();
            err <= (elapsed >> 32) + 1
        });
    }
}

#[test]
fn counter_wrap_within_its_width_is_harmless() {
    // A 56-bit counter published 100 cycles before it wraps, read after the
    // wrap (where it shows small values again) and 1 s later.
    let page = page();
    let cfg = Config {
        counter_bits: 56,
        ..config(62_500_000)
    };
    let mut writer = Writer::new(&page, cfg).unwrap();
    let c0 = (1 << 56) - 100;
    let clocks = clocks_at(c0);
    writer.publish(clocks);
    for (counter, cycles) in [(0u64, 100i128), (62_500_000, 62_500_100)] {
        let want = from_ns(ns(clocks.monotonic) + cycles * 16);
        assert_eq!(read(&page, clock::MONOTONIC, counter), Some(want));
        assert_eq!(writer.clock_gettime(clock::MONOTONIC, counter), Some(want));
    }
}

#[test]
fn monotonic_raw_lives_in_cs_raw_and_linux_reads_the_page_too() {
    let page = page();
    let mut writer = Writer::new(&page, config(62_500_000)).unwrap();
    let clocks = clocks_at(5_000);
    writer.publish(clocks);
    let (hres, raw) = (&page.data[CS_HRES_COARSE], &page.data[CS_RAW]);
    let load = |v: &AtomicU64| v.load(Ordering::Relaxed);
    assert_eq!(load(&raw.basetime[4].sec), 12_340);
    assert_eq!(load(&raw.basetime[4].nsec), 5 << 27);
    assert_eq!(
        load(&hres.basetime[4].sec),
        0,
        "RAW base leaked into CS_HRES_COARSE"
    );
    assert_eq!(raw.clock_mode.load(Ordering::Relaxed), CLOCKMODE_ARCHTIMER);
    assert_eq!(load(&raw.mask), load(&hres.mask));
    assert_eq!(load(&hres.mask), (1 << 57) - 1);
    // Linux 6.12's reader, spelled out: 64-bit product, then shift
    // (`vdso_calc_ns`, `do_hres`), for the same page 1 s later.
    let counter = 5_000 + 62_500_000u64;
    for id in HRES {
        let vd = if id == clock::MONOTONIC_RAW {
            raw
        } else {
            hres
        };
        let ts = &vd.basetime[id as usize];
        let delta = counter.wrapping_sub(load(&vd.cycle_last)) & load(&vd.mask);
        let shifted = delta
            .wrapping_mul(u64::from(vd.mult.load(Ordering::Relaxed)))
            .wrapping_add(load(&ts.nsec));
        let linux_ns = shifted >> vd.shift.load(Ordering::Relaxed);
        let linux = i128::from(load(&ts.sec)) * NS + i128::from(linux_ns);
        assert_eq!(linux, ns(base_of(&clocks, id)) + NS, "clock {id}");
    }
    // Coarse clocks: plain nanoseconds.
    assert_eq!(load(&hres.basetime[5].nsec), 123_456_789);
    assert_eq!(load(&hres.basetime[6].nsec), 999_999_999);
}

#[test]
fn ticks_move_coarse_clocks_and_never_move_high_resolution_ones() {
    for hz in [62_500_000u64, 24_000_000, 19_200_000] {
        let page = page();
        let mut writer = Writer::new(&page, config(hz)).unwrap();
        let c0 = 777_777;
        let clocks = clocks_at(c0);
        writer.publish(clocks);
        let mut counter = c0;
        for i in 0..2000u64 {
            // Irregular tick intervals around 4 ms, plus one long pause.
            let step = hz / 250 + i * 7919 % 1000 + if i == 1000 { 3600 * hz } else { 0 };
            let probe = counter + step + 3;
            let before: Vec<_> = HRES.iter().map(|&id| read(&page, id, probe)).collect();
            counter += step;
            writer.tick(counter);
            let after: Vec<_> = HRES.iter().map(|&id| read(&page, id, probe)).collect();
            assert_eq!(
                before, after,
                "{hz} Hz: a tick moved a high-resolution clock"
            );
            for id in [clock::REALTIME_COARSE, clock::MONOTONIC_COARSE] {
                // The coarse clock is the high-resolution one at the tick.
                let hres_id = if id == clock::REALTIME_COARSE { 0 } else { 1 };
                assert_eq!(read(&page, id, probe), read(&page, hres_id, counter));
            }
            if hz == 62_500_000 {
                let elapsed = i128::from(counter - c0) * 16;
                for id in SERVED {
                    let want = from_ns(ns(base_of(&clocks, id)) + elapsed);
                    assert_eq!(
                        read(&page, id, counter),
                        Some(want),
                        "clock {id} after tick {i}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_stale_tick_is_ignored() {
    let page = page();
    let mut writer = Writer::new(&page, config(62_500_000)).unwrap();
    writer.publish(clocks_at(1_000_000));
    let seq = page.data[0].seq.load(Ordering::Relaxed);
    writer.tick(999_000); // another CPU already ticked past this reading
    assert_eq!(
        page.data[0].seq.load(Ordering::Relaxed),
        seq,
        "stale tick wrote the page"
    );
    let want = from_ns(ns(clocks_at(0).monotonic) + 1000 * 16);
    assert_eq!(read(&page, clock::MONOTONIC, 1_001_000), Some(want));
}

#[test]
fn stepping_realtime_keeps_monotonic_to_the_sub_nanosecond() {
    // 24 MHz: bases carry fractions of a nanosecond after a tick.
    let page = page();
    let mut writer = Writer::new(&page, config(24_000_000)).unwrap();
    writer.publish(clocks_at(10));
    writer.tick(10 + 96_001);
    let later = 10 + 96_001 + 24_000_000 * 5 + 17;
    let mono_before: Vec<_> = (0..300).map(|i| read(&page, 1, later + i)).collect();
    // 96_005 cycles after the publish: 96_005 * 41.666.. ns leaves a third
    // of a nanosecond, which re-publishing must not lose.
    let step_at = 10 + 96_001 + 4;
    let mut clocks = writer.clocks(step_at);
    clocks.realtime = ts(2_000_000_000, 1);
    clocks.tai = ts(2_000_000_037, 1);
    writer.publish(clocks);
    let mono_after: Vec<_> = (0..300).map(|i| read(&page, 1, later + i)).collect();
    assert_eq!(mono_before, mono_after);
    assert_eq!(
        read(&page, clock::REALTIME, step_at),
        Some(ts(2_000_000_000, 1))
    );
    assert_eq!(
        read(&page, clock::REALTIME_COARSE, later),
        Some(ts(2_000_000_000, 1))
    );
}

#[test]
fn publish_boot_counts_from_counter_reset() {
    let page = page();
    let mut writer = Writer::new(&page, config(24_000_000)).unwrap();
    let rtc = ts(1_700_000_000, 0);
    // 1.5 s after reset.
    writer.publish_boot(36_000_000, rtc);
    for id in [
        clock::MONOTONIC,
        clock::MONOTONIC_RAW,
        clock::BOOTTIME,
        clock::MONOTONIC_COARSE,
    ] {
        assert_eq!(
            read(&page, id, 36_000_000),
            Some(ts(1, 500_000_000)),
            "clock {id}"
        );
    }
    for id in [clock::REALTIME, clock::TAI, clock::REALTIME_COARSE] {
        assert_eq!(read(&page, id, 36_000_000), Some(rtc), "clock {id}");
    }
    // 24 cycles = exactly 1 us later, within the 2^-32 drift (0 ns here).
    assert_eq!(
        read(&page, clock::REALTIME, 36_000_024),
        Some(ts(1_700_000_000, 1000))
    );
}

#[test]
fn times_before_the_epoch_and_unnormalised_nanoseconds_round_trip() {
    let page = page();
    let mut writer = Writer::new(&page, config(62_500_000)).unwrap();
    let mut clocks = clocks_at(0);
    clocks.realtime = ts(-5, 250); // 1969
    clocks.monotonic = ts(3, 2_500_000_000); // = 5.5 s
    clocks.boottime = ts(3, -1); // = 2.999999999 s
    writer.publish(clocks);
    assert_eq!(read(&page, clock::REALTIME, 1), Some(ts(-5, 266)));
    assert_eq!(read(&page, clock::REALTIME, 62_500_000), Some(ts(-4, 250)));
    assert_eq!(read(&page, clock::MONOTONIC, 0), Some(ts(5, 500_000_000)));
    assert_eq!(read(&page, clock::BOOTTIME, 1), Some(ts(3, 15)));
}

#[test]
fn resolutions_and_timezone_come_from_the_page() {
    let page = page();
    let cfg = Config {
        hrtimer_res: 1,
        coarse_res: 10_000_000,
        ..Config::new(CounterSource::Virtual, 62_500_000)
    };
    let mut writer = Writer::new(&page, cfg).unwrap();
    writer.publish(clocks_at(0));
    for id in HRES {
        assert_eq!(
            time::clock_getres(&page, id, &SimCounter::at(0)),
            Some(ts(0, 1)),
            "clock {id}"
        );
    }
    for id in [clock::REALTIME_COARSE, clock::MONOTONIC_COARSE] {
        assert_eq!(
            time::clock_getres(&page, id, &SimCounter::at(0)),
            Some(ts(0, 10_000_000)),
            "clock {id}"
        );
    }
    for id in [2, 3, 8, 9, 10, 12, 15, 16, -1, -6, i32::MIN, i32::MAX] {
        assert_eq!(
            time::clock_getres(&page, id, &SimCounter::at(0)),
            None,
            "clock {id}"
        );
        assert_eq!(read(&page, id, 0), None, "clock {id}");
        assert_eq!(writer.clock_gettime(id, 0), None, "clock {id}");
    }
    assert_eq!(
        time::timezone(&page, &SimCounter::at(0)),
        Some(Timezone::default())
    );
    let tz = Timezone {
        tz_minuteswest: -120,
        tz_dsttime: 1,
    };
    writer.set_timezone(tz);
    assert_eq!(time::timezone(&page, &SimCounter::at(0)), Some(tz));
    let tv = time::gettimeofday(&page, &SimCounter::at(62_500_000 + 62_500)).unwrap();
    assert_eq!((tv.tv_sec, tv.tv_usec), (1_700_000_001, 124_456));

    // Unknown resolutions send clock_getres to the syscall.
    let page = self::page();
    let mut writer = Writer::new(&page, Config::new(CounterSource::Virtual, 62_500_000)).unwrap();
    writer.publish(clocks_at(0));
    assert_eq!(
        time::clock_getres(&page, clock::MONOTONIC_COARSE, &SimCounter::at(0)),
        None
    );
    assert_eq!(
        time::clock_getres(&page, clock::MONOTONIC, &SimCounter::at(0)),
        Some(ts(0, 1))
    );
}

#[test]
fn a_disabled_page_sends_everything_to_the_syscall() {
    let page = page();
    let mut writer = Writer::new(&page, config(62_500_000)).unwrap();
    writer.publish(clocks_at(0));
    writer.set_enabled(false);
    for vd in &page.data {
        assert_eq!(vd.clock_mode.load(Ordering::Relaxed), CLOCKMODE_NONE);
    }
    writer.tick(62_500_000);
    for id in SERVED {
        assert_eq!(read(&page, id, 62_500_000), None, "clock {id}");
        assert_eq!(
            time::clock_getres(&page, id, &SimCounter::at(0)),
            None,
            "clock {id}"
        );
    }
    assert_eq!(time::timezone(&page, &SimCounter::at(0)), None);
    // The kernel's own clock keeps running while disabled.
    let want = from_ns(ns(clocks_at(0).monotonic) + NS);
    assert_eq!(
        writer.clock_gettime(clock::MONOTONIC, 62_500_000),
        Some(want)
    );
    writer.set_enabled(true);
    assert_eq!(read(&page, clock::MONOTONIC, 62_500_000), Some(want));
}

#[test]
fn physical_counter_mode_asks_for_cntpct() {
    let page = page();
    let cfg = Config::new(CounterSource::Physical, 62_500_000);
    let mut writer = Writer::new(&page, cfg).unwrap();
    writer.publish(clocks_at(0));
    assert_eq!(
        page.data[0].clock_mode.load(Ordering::Relaxed),
        CLOCKMODE_CNTPCT
    );
    assert_eq!(
        page.data[1].clock_mode.load(Ordering::Relaxed),
        CLOCKMODE_CNTPCT
    );
    for id in [clock::REALTIME, clock::MONOTONIC_RAW] {
        let counter = SimCounter::at(16);
        assert!(time::clock_gettime(&page, id, &counter).is_some());
        assert_eq!(counter.asked.get(), Some(CounterSource::Physical));
    }
}

#[test]
fn concurrent_ticks_never_tear_a_read() {
    // One thread ticks as fast as it can while another reads: every value
    // the reader accepts is exactly the time at the counter it read, and
    // MONOTONIC never goes backwards.
    struct Shared<'a>(&'a AtomicU64);
    impl Counter for Shared<'_> {
        fn read(&self, _: CounterSource) -> u64 {
            self.0.load(Ordering::Relaxed)
        }
    }
    let page = page();
    let hz = 62_500_000;
    let mut writer = Writer::new(&page, config(hz)).unwrap();
    let c0 = 1_000;
    writer.publish(clocks_at(c0));
    let counter = AtomicU64::new(c0);
    let done = AtomicBool::new(false);
    let base = ns(clocks_at(c0).monotonic);
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..200_000 {
                let now = counter.fetch_add(12_345, Ordering::Relaxed) + 12_345;
                writer.tick(now);
            }
            done.store(true, Ordering::Relaxed);
        });
        s.spawn(|| {
            let mut last = 0;
            let mut served = 0u32;
            while !done.load(Ordering::Relaxed) {
                // The counter is read inside the reader; the value it used
                // is at least `lo` and at most `hi`.
                let lo = counter.load(Ordering::Relaxed);
                let got = time::clock_gettime(&page, clock::MONOTONIC, &Shared(&counter));
                let hi = counter.load(Ordering::Relaxed);
                let Some(got) = got else { continue };
                served += 1;
                let got = ns(got);
                assert!(got >= last, "MONOTONIC went backwards");
                assert!(
                    got >= base + i128::from(lo - c0) * 16,
                    "torn read: too early"
                );
                assert!(
                    got <= base + i128::from(hi - c0) * 16,
                    "torn read: too late"
                );
                assert_eq!((got - base) % 16, 0, "torn read: not on a counter tick");
                last = got;
            }
            assert!(served > 0);
        });
    });
}

#[test]
fn layout_places_the_image_two_pages_above_the_data_page() {
    let layout = Layout::new(0x10_0000).unwrap();
    assert_eq!(layout.data_page, 0x10_0000);
    assert_eq!(layout.timens_page, 0x10_1000);
    assert_eq!(layout.image, 0x10_2000);
    assert_eq!(layout.at_sysinfo_ehdr(), 0x10_2000);
    assert_eq!(at_sysinfo_ehdr(0x10_2000), 0x10_2000);
    assert_eq!(Layout::SIZE, (2 + IMAGE_PAGES) * 4096);
    assert_eq!(Layout::new(0x10_0800), None);
    assert_eq!(Layout::new(usize::MAX & !0xfff), None);
    assert_eq!(AT_SYSINFO_EHDR, 33);
    assert_eq!(DATA_PAGE_OFFSET, 8192);
}

#[test]
fn image_is_page_aligned_and_padded_with_zeros() {
    assert_eq!(IMAGE.as_ptr() as usize % 4096, 0);
    assert_eq!(IMAGE.as_ptr(), IMAGE_PADDED.as_ptr());
    assert_eq!(IMAGE.len(), IMAGE_LEN);
    assert_eq!(IMAGE_PADDED.len(), IMAGE_PAGES * 4096);
    assert_eq!(IMAGE_LEN.div_ceil(4096), IMAGE_PAGES);
    assert_eq!(&IMAGE[..4], b"\x7fELF");
    assert_eq!(IMAGE, include_bytes!("../vdso.so"));
    assert!(IMAGE_PADDED[IMAGE_LEN..].iter().all(|&b| b == 0));
}

#[test]
fn rt_sigreturn_offset_points_at_the_trampoline() {
    let at = offsets::KERNEL_RT_SIGRETURN;
    let word = |i: usize| u32::from_le_bytes(IMAGE[i..i + 4].try_into().unwrap());
    assert_eq!(
        word(at - 4),
        0xd503_201f,
        "nop before __kernel_rt_sigreturn"
    );
    assert_eq!(word(at), 0xd280_1168, "mov x8, #139");
    assert_eq!(word(at + 4), 0xd400_0001, "svc #0");
}

#[test]
fn aliases_share_their_kernel_symbols() {
    assert_eq!(offsets::VDSO_CLOCK_GETTIME, offsets::KERNEL_CLOCK_GETTIME);
    assert_eq!(offsets::VDSO_CLOCK_GETTIME64, offsets::KERNEL_CLOCK_GETTIME);
    assert_eq!(offsets::VDSO_GETTIMEOFDAY, offsets::KERNEL_GETTIMEOFDAY);
    assert_eq!(offsets::VDSO_CLOCK_GETRES, offsets::KERNEL_CLOCK_GETRES);
}

#[test]
fn init_data_page_zeroes_the_whole_frame() {
    let mut frame = Box::new([0xa5u8; 4096 * 2]);
    let start = frame.as_mut_ptr();
    let offset = start.align_offset(4096);
    // SAFETY: `start + offset` is page-aligned with at least 4096 bytes of
    // the box after it, which nothing else touches while `page` lives.
    let page = unsafe { init_data_page(start.add(offset).cast::<DataPage>()) };
    assert_eq!(page.data[0].seq.load(Ordering::Relaxed), 0);
    let _ = page;
    assert!(frame[offset..offset + 4096].iter().all(|&b| b == 0));
}

/// The instruction words of `image`.
fn words(image: &[u8]) -> Vec<u32> {
    image
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

#[test]
fn the_ecv_image_reads_cntvctss_without_isb_at_every_counter_read_and_differs_nowhere_else() {
    // Encodings from the Arm ARM: `isb` (SY), `nop`, `mrs xN, cntvct_el0`
    // (S3_3_C14_C0_2), `mrs xN, cntvctss_el0` (S3_3_C14_C0_6).
    const ISB: u32 = 0xd503_3fdf;
    const NOP: u32 = 0xd503_201f;
    let is_cntvct = |w: u32| w & !0x1f == 0xd53b_e040;
    let is_cntvctss = |w: u32| w & !0x1f == 0xd53b_e0c0;
    let (plain, ecv) = (words(IMAGE), words(ecv::IMAGE));
    assert_eq!(plain.len(), ecv.len());
    let sites: Vec<usize> = offsets::CNTVCT_READS.iter().map(|at| at / 4).collect();
    // Every CNTVCT_EL0 read of the plain image is a listed site, after an isb.
    let reads: Vec<usize> = (0..plain.len()).filter(|&i| is_cntvct(plain[i])).collect();
    assert_eq!(reads, sites.iter().map(|i| i + 1).collect::<Vec<_>>());
    assert!(sites.iter().all(|&i| plain[i] == ISB));
    for (i, (&p, &e)) in plain.iter().zip(&ecv).enumerate() {
        if sites.contains(&i) {
            assert_eq!(e, NOP, "word {i}: the isb became a nop");
        } else if i > 0 && sites.contains(&(i - 1)) {
            assert!(is_cntvctss(e), "word {i}: {e:#010x} reads CNTVCTSS_EL0");
            assert_eq!(e & 0x1f, p & 0x1f, "word {i}: into the same register");
        } else {
            assert_eq!(e, p, "word {i} is not a counter read and must not change");
        }
    }
    assert!(
        !ecv.iter().any(|&w| is_cntvct(w)),
        "no CNTVCT_EL0 read is left"
    );
    assert!(!sites.is_empty(), "the image reads the counter somewhere");
    assert_eq!(ecv::IMAGE_PADDED.len() % PAGE_SIZE, 0);
    assert_eq!(ecv::IMAGE_PADDED.as_ptr() as usize % PAGE_SIZE, 0);
}

#[test]
fn the_cntpct_image_reads_cntpct_and_tests_for_its_mode_on_the_straight_paths_only() {
    // Encodings from the Arm ARM (checked with `aarch64-linux-gnu-as`):
    // `isb`, `mrs xN, cntvct_el0` (S3_3_C14_C0_2), `mrs xN, cntpct_el0`
    // (S3_3_C14_C0_1), and `eor xD, xN, #imm` with imm 0x1_0000_0000
    // (ARCHTIMER << 32) and 0x7fff_0000_0000_0000 (CLOCKMODE_CNTPCT << 32).
    const ISB: u32 = 0xd503_3fdf;
    let is_cntvct = |w: u32| w & !0x1f == 0xd53b_e040;
    let is_cntpct = |w: u32| w & !0x1f == 0xd53b_e020;
    let is_eor_archtimer = |w: u32| w & !0x3ff == 0xd260_0000;
    let is_eor_cntpct = |w: u32| w & !0x3ff == 0xd250_3800;
    assert_eq!(CLOCKMODE_CNTPCT, 0x7fff_0000);
    let (plain, cntpct) = (words(IMAGE), words(cntpct::IMAGE));
    assert_eq!(plain.len(), cntpct.len());
    let reads: Vec<usize> = offsets::STRAIGHT_READS
        .iter()
        .map(|at| at / 4 + 1)
        .collect();
    let tests: Vec<usize> = offsets::STRAIGHT_MODE_TESTS
        .iter()
        .map(|at| at / 4)
        .collect();
    // Both straight paths (clock_gettime, gettimeofday) and the coarse one.
    assert_eq!((reads.len(), tests.len()), (2, 3));
    for (i, (&p, &c)) in plain.iter().zip(&cntpct).enumerate() {
        if reads.contains(&i) {
            assert!(is_cntvct(p) && plain[i - 1] == ISB, "word {i}: {p:#010x}");
            assert!(is_cntpct(c), "word {i}: {c:#010x} reads CNTPCT_EL0");
            assert_eq!(c & 0x1f, p & 0x1f, "word {i}: into the same register");
        } else if tests.contains(&i) {
            assert!(is_eor_archtimer(p), "word {i}: {p:#010x}");
            assert!(
                is_eor_cntpct(c),
                "word {i}: {c:#010x} tests CLOCKMODE_CNTPCT"
            );
            assert_eq!(c & 0x3ff, p & 0x3ff, "word {i}: the same registers");
        } else {
            assert_eq!(
                c, p,
                "word {i} is not a straight-path site and must not change"
            );
        }
    }
    // The full read keeps its CNTVCT_EL0 reads, for ARCHTIMER pages.
    let left = cntpct.iter().filter(|&&w| is_cntvct(w)).count();
    assert_eq!(left, offsets::CNTVCT_READS.len() - reads.len());
    assert_eq!(cntpct::IMAGE_PADDED.len() % PAGE_SIZE, 0);
    assert_eq!(cntpct::IMAGE_PADDED.as_ptr() as usize % PAGE_SIZE, 0);
}

/// The getrandom syscall and block function of a kernel, for the vDSO's
/// algorithm run on a page this writer publishes: counts the syscalls.
#[derive(Default)]
struct RngKernel {
    syscalls: Cell<usize>,
}

impl vdso::random::Random for RngKernel {
    unsafe fn chacha20_blocks(
        &self,
        dst: *mut u8,
        key: *const u32,
        counter: &mut [u32; 2],
        n: usize,
    ) {
        // SAFETY: the trait's contract; the key is copied before `dst` is written.
        let key: [u32; 8] = unsafe { key.cast::<[u32; 8]>().read_unaligned() };
        let mut out = std::vec![0; n * 64];
        vdso::random::chacha20_blocks(&mut out, &key, counter);
        // SAFETY: the trait's contract.
        unsafe { core::ptr::copy_nonoverlapping(out.as_ptr(), dst, out.len()) };
    }

    unsafe fn getrandom_syscall(&self, buffer: *mut u8, len: usize, _flags: u32) -> isize {
        self.syscalls.set(self.syscalls.get() + 1);
        // SAFETY: the tests pass real buffers.
        unsafe { core::ptr::write_bytes(buffer, 0x42, len) };
        len as isize
    }
}

/// A page-aligned page for a getrandom state.
#[repr(C, align(4096))]
struct StatePage([u8; PAGE_SIZE]);

/// The vDSO's getrandom of 16 bytes on `page` with the state in `state`.
fn vdso_getrandom(page: &DataPage, k: &RngKernel, state: &mut StatePage) -> isize {
    let mut buf = [0u8; 16];
    // SAFETY: the buffer and the state page are ours; 144 is the state's size.
    unsafe {
        vdso::random::getrandom(
            vdso::random::RngPage::of(page),
            k,
            buf.as_mut_ptr(),
            16,
            0,
            state.0.as_mut_ptr(),
            144,
        )
    }
}

#[test]
fn the_writer_publishes_rng_generations_that_are_never_0_and_ready_last() {
    let page = page();
    page.rng.generation.store(77, Ordering::Relaxed);
    page.rng.is_ready.store(1, Ordering::Relaxed);
    let mut writer = Writer::new(&page, config(1000)).unwrap();
    assert_eq!(
        page.rng.generation.load(Ordering::Relaxed),
        0,
        "Writer::new clears it"
    );
    assert_eq!(page.rng.is_ready.load(Ordering::Relaxed), 0);
    writer.set_rng_ready();
    assert_eq!(page.rng.generation.load(Ordering::Relaxed), 1);
    assert_eq!(page.rng.is_ready.load(Ordering::Relaxed), 1);
    assert_eq!(writer.rng_reseeded(), 2);
    assert_eq!(page.rng.generation.load(Ordering::Relaxed), 2);
    writer.set_rng_ready();
    assert_eq!(
        page.rng.generation.load(Ordering::Relaxed),
        2,
        "ready again changes nothing"
    );
}

#[test]
fn the_vdso_getrandom_reseeds_once_per_generation_the_writer_publishes() {
    let page = page();
    let mut writer = Writer::new(&page, config(1000)).unwrap();
    let (k, mut state) = (RngKernel::default(), Box::new(StatePage([0; PAGE_SIZE])));
    // Not ready: every call is the syscall.
    assert_eq!(vdso_getrandom(&page, &k, &mut state), 16);
    assert_eq!(k.syscalls.get(), 1);
    writer.set_rng_ready();
    for _ in 0..3 {
        assert_eq!(vdso_getrandom(&page, &k, &mut state), 16);
    }
    assert_eq!(
        k.syscalls.get(),
        2,
        "one reseed for generation 1, then none"
    );
    writer.rng_reseeded();
    assert_eq!(vdso_getrandom(&page, &k, &mut state), 16);
    assert_eq!(k.syscalls.get(), 3, "one reseed for generation 2");
}

/// The vDSO's params call on `page`: its return value and the state size it gave.
fn vdso_params(page: &DataPage) -> (isize, u32) {
    let mut params = [0u32; 16];
    // SAFETY: the params call writes 64 bytes at `params`; no syscall is made.
    let ret = unsafe {
        vdso::random::getrandom(
            vdso::random::RngPage::of(page),
            &RngKernel::default(),
            core::ptr::null_mut(),
            0,
            0,
            params.as_mut_ptr().cast(),
            usize::MAX,
        )
    };
    (ret, params[0])
}

#[test]
fn the_vdso_offers_getrandom_state_only_after_set_rng_ready() {
    let page = page();
    let mut writer = Writer::new(&page, config(1000)).unwrap();
    // -ENOSYS (38): glibc and Go then map no state and use the syscall.
    assert_eq!(vdso_params(&page), (-38, 0), "a kernel that never said so");
    writer.set_rng_ready();
    assert_eq!(vdso_params(&page), (0, 144));
}
