//! Host unit tests of the portable time algorithm.
//!
//! The tests play the kernel. [`publish`] fills a [`DataPage`] the way Linux
//! 6.12's `update_vsyscall` (`kernel/time/vsyscall.c`) does, inside the
//! seqlock of `include/vdso/helpers.h` (`vdso_write_begin`/`vdso_write_end`),
//! from a [`Timekeeper`] that holds the inputs Linux reads from its
//! `struct timekeeper`. [`SimCounter`] stands in for `CNTVCT_EL0`/`CNTPCT_EL0`;
//! it records which counter it was asked for and can run a closure on every
//! read, which is how a test makes "the kernel" update the page in the middle
//! of a read.
//!
//! Expected times are computed here from the timekeeper's inputs, either
//! written out as literals or with plain `u128`/`i128` arithmetic in
//! [`expected`]; never by calling the code under test.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{fence, AtomicBool, Ordering::Relaxed, Ordering::Release};
use std::time::{Duration, Instant};

use crate::data::clock::{
    BOOTTIME, BOOTTIME_ALARM, MONOTONIC, MONOTONIC_COARSE, MONOTONIC_RAW, PROCESS_CPUTIME_ID,
    REALTIME, REALTIME_ALARM, REALTIME_COARSE, SERVED, TAI, THREAD_CPUTIME_ID,
};
use crate::data::{
    DataPage, VdsoData, CLOCKMODE_ARCHTIMER, CLOCKMODE_ARCHTIMER_NOCOMPAT, CLOCKMODE_CNTPCT,
    CLOCKMODE_NONE, CLOCKMODE_TIMENS, CS_HRES_COARSE, CS_RAW,
};
use crate::time::{
    clock_getres, clock_gettime, counter_source, div_rem_nsec, gettimeofday, long_div_rem_nsec,
    scale, source_for, timezone, Counter, CounterSource, Timespec, Timeval, Timezone, NSEC_PER_SEC,
    SPIN_LIMIT,
};

// ---------------------------------------------------------------------------
// The simulated kernel: a timekeeper and Linux's `update_vsyscall`.
// ---------------------------------------------------------------------------

/// A 56-bit counter, the architected minimum width of the arm generic timer
/// (Linux registers it as `CLOCKSOURCE_MASK(56)`).
const MASK_56: u64 = (1 << 56) - 1;

/// 62.5 MHz (qemu's `CNTFRQ_EL0`). Linux's `clocks_calc_mult_shift(.., 600)`
/// picks shift 23, and one cycle is exactly 16 ns, so `mult = 16 << 23`.
const FREQ_62_5_MHZ: u64 = 62_500_000;
const SHIFT_62_5_MHZ: u32 = 23;
const MULT_62_5_MHZ: u32 = 16 << SHIFT_62_5_MHZ;

/// 24 MHz (many Cortex-A boards). Linux's `clocks_calc_mult_shift(.., 600)`
/// picks shift 24 and `mult = round(10^9 * 2^24 / 24 MHz) = 699_050_667`:
/// one cycle is 41.666... ns, so the conversion is inexact by design.
const FREQ_24_MHZ: u64 = 24_000_000;
const SHIFT_24_MHZ: u32 = 24;
const MULT_24_MHZ: u32 = 699_050_667;

/// `cycle_last` of the standard [`timekeeper`].
const CYCLE_LAST: u64 = 1_000_000;

/// Ten years of 365 days, in seconds.
const TEN_YEARS_SEC: u64 = 10 * 365 * 86_400;

/// The high-resolution clocks: base time plus counter progress.
const HRES_CLOCKS: [i32; 5] = [REALTIME, MONOTONIC, BOOTTIME, TAI, MONOTONIC_RAW];
/// The clocks served from `vdso_data[CS_HRES_COARSE]` with its counter
/// parameters (all high-resolution clocks except `CLOCK_MONOTONIC_RAW`).
const MONO_CLOCKS: [i32; 4] = [REALTIME, MONOTONIC, BOOTTIME, TAI];
/// The coarse clocks: base time only.
const COARSE_CLOCKS: [i32; 2] = [REALTIME_COARSE, MONOTONIC_COARSE];

/// Every `clock_mode` that must make the reader use the syscall.
const FALLBACK_MODES: [i32; 7] = [
    CLOCKMODE_NONE,
    CLOCKMODE_TIMENS,
    3,
    -1,
    42,
    i32::MIN,
    CLOCKMODE_CNTPCT + 1,
];

/// One clocksource's conversion state, as Linux's `struct tk_read_base`.
#[derive(Clone, Copy, Debug)]
struct ReadBase {
    /// Counter value at the last accumulation.
    cycle_last: u64,
    /// Width mask of the counter.
    mask: u64,
    /// Counter-to-shifted-nanoseconds multiplier.
    mult: u32,
    /// Shift of `mult` and `xtime_nsec`.
    shift: u32,
    /// Nanoseconds past the second, shifted left by `shift` (it keeps the
    /// sub-nanosecond fraction that `mult` accumulates).
    xtime_nsec: u64,
}

/// The part of Linux's `struct timekeeper` that `update_vsyscall` reads,
/// plus the values Linux writes from elsewhere (time zone, resolutions).
#[derive(Clone, Copy, Debug)]
struct Timekeeper {
    /// `tk->tkr_mono.clock->vdso_clock_mode`.
    clock_mode: i32,
    /// `tk->tkr_mono`: serves REALTIME, MONOTONIC, BOOTTIME, TAI and coarse.
    tkr_mono: ReadBase,
    /// `tk->tkr_raw`: serves MONOTONIC_RAW.
    tkr_raw: ReadBase,
    /// `tk->xtime_sec`: CLOCK_REALTIME seconds.
    xtime_sec: u64,
    /// `tk->raw_sec`: CLOCK_MONOTONIC_RAW seconds.
    raw_sec: u64,
    /// `tk->wall_to_monotonic` (`tv_sec`, `tv_nsec`): negative seconds, as in
    /// Linux, with `tv_nsec` in `0..NSEC_PER_SEC`.
    wall_to_monotonic: (i64, u64),
    /// `tk->monotonic_to_boot` (`tv_sec`, `tv_nsec`).
    monotonic_to_boot: (u64, u64),
    /// `tk->tai_offset`.
    tai_offset: i64,
    /// `sys_tz.tz_minuteswest` (written by `update_vsyscall_tz`).
    tz_minuteswest: i32,
    /// `sys_tz.tz_dsttime`.
    tz_dsttime: i32,
    /// `hrtimer_resolution`.
    hrtimer_res: u32,
    /// Our extension: the coarse clocks' resolution (`TICK_NSEC`).
    coarse_res: u32,
}

/// A booted 62.5 MHz machine at 2023-11-14, with a sub-nanosecond fraction
/// in both shifted nanosecond fields and a `wall_to_monotonic.tv_nsec` that
/// makes MONOTONIC's nanoseconds carry into a second.
fn timekeeper() -> Timekeeper {
    Timekeeper {
        clock_mode: CLOCKMODE_ARCHTIMER,
        tkr_mono: ReadBase {
            cycle_last: CYCLE_LAST,
            mask: MASK_56,
            mult: MULT_62_5_MHZ,
            shift: SHIFT_62_5_MHZ,
            xtime_nsec: (123_456_789 << SHIFT_62_5_MHZ) | 0x2a_5a5a,
        },
        // The raw clock is not NTP-adjusted, so its mult differs slightly.
        tkr_raw: ReadBase {
            cycle_last: CYCLE_LAST,
            mask: MASK_56,
            mult: MULT_62_5_MHZ + 12_345,
            shift: SHIFT_62_5_MHZ,
            xtime_nsec: (987_654_321 << SHIFT_62_5_MHZ) + 77,
        },
        xtime_sec: 1_700_000_000,
        raw_sec: 4_321,
        // Monotonic = 5000 s + 123_456_789 ns + 876_543_211 ns = 5001 s.
        wall_to_monotonic: (-1_699_995_000, 876_543_211),
        monotonic_to_boot: (60, 500_000_000),
        tai_offset: 37,
        tz_minuteswest: -60,
        tz_dsttime: 1,
        hrtimer_res: 1,
        coarse_res: 4_000_000,
    }
}

/// Linux's `vdso_write_begin`: both `seq` go odd, then a write barrier
/// (`smp_wmb`) so no data store is visible before them.
fn write_begin(page: &DataPage) {
    for vd in &page.data {
        vd.seq.store(vd.seq.load(Relaxed).wrapping_add(1), Relaxed);
    }
    fence(Release);
}

/// Linux's `vdso_write_end`: both `seq` go even with release ordering, so
/// every data store is visible before them.
fn write_end(page: &DataPage) {
    for vd in &page.data {
        vd.seq.store(vd.seq.load(Relaxed).wrapping_add(1), Release);
    }
}

/// Runs `body` as one seqlock-protected kernel update of `page`.
fn kernel_write(page: &DataPage, body: impl FnOnce(&DataPage)) {
    write_begin(page);
    body(page);
    write_end(page);
}

/// Stores one `vdso_timestamp`.
fn store_ts(vd: &VdsoData, clock: i32, sec: u64, nsec: u64) {
    let ts = &vd.basetime[clock as usize];
    ts.sec.store(sec, Relaxed);
    ts.nsec.store(nsec, Relaxed);
}

/// Linux 6.12 `update_vsyscall` without the seqlock (see [`publish`]).
fn update_vsyscall(page: &DataPage, tk: &Timekeeper) {
    let [hres, raw] = &page.data;
    let mono = tk.tkr_mono;
    hres.clock_mode.store(tk.clock_mode, Relaxed);
    raw.clock_mode.store(tk.clock_mode, Relaxed);

    // CLOCK_REALTIME: shifted nanoseconds.
    store_ts(hres, REALTIME, tk.xtime_sec, mono.xtime_nsec);
    // CLOCK_REALTIME_COARSE: plain nanoseconds.
    store_ts(
        hres,
        REALTIME_COARSE,
        tk.xtime_sec,
        mono.xtime_nsec >> mono.shift,
    );
    // CLOCK_MONOTONIC_COARSE: plain nanoseconds, normalised.
    let nsec = (mono.xtime_nsec >> mono.shift) + tk.wall_to_monotonic.1;
    let sec = tk.xtime_sec.wrapping_add_signed(tk.wall_to_monotonic.0) + nsec / NSEC_PER_SEC;
    store_ts(hres, MONOTONIC_COARSE, sec, nsec % NSEC_PER_SEC);

    hres.hrtimer_res.store(tk.hrtimer_res, Relaxed);
    page.ext.coarse_res.store(tk.coarse_res, Relaxed);
    hres.tz_minuteswest.store(tk.tz_minuteswest, Relaxed);
    hres.tz_dsttime.store(tk.tz_dsttime, Relaxed);

    // Linux spares the high-resolution part for a clocksource user space
    // cannot read.
    if tk.clock_mode != CLOCKMODE_NONE {
        update_vdso_data(page, tk);
    }
}

/// Linux 6.12 `update_vdso_data`: counter parameters and the shifted bases.
fn update_vdso_data(page: &DataPage, tk: &Timekeeper) {
    let [hres, raw] = &page.data;
    for (vd, tkr) in [(hres, tk.tkr_mono), (raw, tk.tkr_raw)] {
        vd.cycle_last.store(tkr.cycle_last, Relaxed);
        vd.mask.store(tkr.mask, Relaxed);
        vd.mult.store(tkr.mult, Relaxed);
        vd.shift.store(tkr.shift, Relaxed);
    }
    let mono = tk.tkr_mono;
    let one_sec = NSEC_PER_SEC << mono.shift;

    // CLOCK_MONOTONIC.
    let mut sec = tk.xtime_sec.wrapping_add_signed(tk.wall_to_monotonic.0);
    let mut nsec = mono.xtime_nsec + (tk.wall_to_monotonic.1 << mono.shift);
    while nsec >= one_sec {
        nsec -= one_sec;
        sec += 1;
    }
    store_ts(hres, MONOTONIC, sec, nsec);

    // CLOCK_BOOTTIME: MONOTONIC plus the boot offset.
    sec += tk.monotonic_to_boot.0;
    nsec += tk.monotonic_to_boot.1 << mono.shift;
    while nsec >= one_sec {
        nsec -= one_sec;
        sec += 1;
    }
    store_ts(hres, BOOTTIME, sec, nsec);

    // CLOCK_MONOTONIC_RAW lives in the second struct.
    store_ts(raw, MONOTONIC_RAW, tk.raw_sec, tk.tkr_raw.xtime_nsec);

    // CLOCK_TAI.
    let tai = tk.xtime_sec.wrapping_add_signed(tk.tai_offset);
    store_ts(hres, TAI, tai, mono.xtime_nsec);
}

/// Publishes `tk` into `page` as one complete seqlock-protected update.
fn publish(page: &DataPage, tk: &Timekeeper) {
    kernel_write(page, |page| update_vsyscall(page, tk));
}

/// A fresh page with `tk` published into it.
fn page_with(tk: &Timekeeper) -> Box<DataPage> {
    let page = Box::<DataPage>::default();
    publish(&page, tk);
    page
}

/// A kernel tick at counter value `now`, as Linux's `timekeeping_advance`
/// accumulates: every cycle since `cycle_last` goes into the shifted
/// nanoseconds (keeping the fraction), whole seconds move out. Then an NTP
/// frequency correction `mult_adjust` is applied to the mono clock, from this
/// point on (so no offset correction is needed).
fn tick(tk: &mut Timekeeper, now: u64, mult_adjust: i32) {
    for (tkr, sec) in [
        (&mut tk.tkr_mono, &mut tk.xtime_sec),
        (&mut tk.tkr_raw, &mut tk.raw_sec),
    ] {
        let delta = now.wrapping_sub(tkr.cycle_last) & tkr.mask;
        tkr.xtime_nsec += delta * u64::from(tkr.mult);
        tkr.cycle_last = now;
        while tkr.xtime_nsec >= NSEC_PER_SEC << tkr.shift {
            tkr.xtime_nsec -= NSEC_PER_SEC << tkr.shift;
            *sec += 1;
        }
    }
    tk.tkr_mono.mult = tk.tkr_mono.mult.checked_add_signed(mult_adjust).unwrap();
}

/// The time `clock` must read when the counter shows `counter`, computed
/// from the timekeeper's inputs in exact `i128`/`u128` arithmetic, without
/// the normalisation steps the writer performs.
fn expected(tk: &Timekeeper, clock: i32, counter: u64) -> Timespec {
    const NS: i128 = NSEC_PER_SEC as i128;
    let real = i128::from(tk.xtime_sec);
    let (w2m_sec, w2m_ns) = (
        i128::from(tk.wall_to_monotonic.0),
        i128::from(tk.wall_to_monotonic.1),
    );
    let (boot_sec, boot_ns) = (
        i128::from(tk.monotonic_to_boot.0),
        i128::from(tk.monotonic_to_boot.1),
    );
    // (whole seconds, whole nanoseconds, the clocksource if high-resolution)
    let (sec, ns, tkr) = match clock {
        REALTIME => (real, 0, Some(tk.tkr_mono)),
        MONOTONIC => (real + w2m_sec, w2m_ns, Some(tk.tkr_mono)),
        BOOTTIME => (
            real + w2m_sec + boot_sec,
            w2m_ns + boot_ns,
            Some(tk.tkr_mono),
        ),
        TAI => (real + i128::from(tk.tai_offset), 0, Some(tk.tkr_mono)),
        MONOTONIC_RAW => (i128::from(tk.raw_sec), 0, Some(tk.tkr_raw)),
        REALTIME_COARSE => (real, 0, None),
        MONOTONIC_COARSE => (real + w2m_sec, w2m_ns, None),
        _ => panic!("clock {clock} is not served"),
    };
    let since_second = match tkr {
        Some(tkr) => {
            let delta = counter.wrapping_sub(tkr.cycle_last) & tkr.mask;
            let shifted = u128::from(tkr.xtime_nsec) + u128::from(delta) * u128::from(tkr.mult);
            i128::try_from(shifted >> tkr.shift).unwrap()
        }
        // Coarse clocks: the last tick's time, truncated to whole ns.
        None => i128::from(tk.tkr_mono.xtime_nsec >> tk.tkr_mono.shift),
    };
    let total = sec * NS + ns + since_second;
    Timespec {
        tv_sec: i64::try_from(total.div_euclid(NS)).unwrap(),
        tv_nsec: i64::try_from(total.rem_euclid(NS)).unwrap(),
    }
}

/// `Timespec` literal.
fn ts(tv_sec: i64, tv_nsec: i64) -> Timespec {
    Timespec { tv_sec, tv_nsec }
}

/// Orders timespecs (`Timespec` has no `Ord` of its own).
fn key(t: Timespec) -> (i64, i64) {
    (t.tv_sec, t.tv_nsec)
}

// ---------------------------------------------------------------------------
// The simulated counter.
// ---------------------------------------------------------------------------

/// A closure run on every counter read: it gets the 1-based read number and
/// the counter's value cell (which it may advance).
type OnRead<'a> = Box<dyn Fn(u32, &Cell<u64>) + 'a>;

/// A simulated `CNTVCT_EL0`/`CNTPCT_EL0`.
struct SimCounter<'a> {
    value: Cell<u64>,
    reads: Cell<u32>,
    last_source: Cell<Option<CounterSource>>,
    on_read: Option<OnRead<'a>>,
}

impl<'a> SimCounter<'a> {
    /// A counter stuck at `value`.
    fn new(value: u64) -> Self {
        SimCounter {
            value: Cell::new(value),
            reads: Cell::new(0),
            last_source: Cell::new(None),
            on_read: None,
        }
    }

    /// A counter at `value` that runs `on_read` inside every read, before the
    /// value is returned: this is "the kernel running on another CPU while
    /// the reader is between its two `seq` loads".
    fn with_on_read(value: u64, on_read: impl Fn(u32, &Cell<u64>) + 'a) -> Self {
        SimCounter {
            on_read: Some(Box::new(on_read)),
            ..SimCounter::new(value)
        }
    }

    fn reads(&self) -> u32 {
        self.reads.get()
    }

    fn last_source(&self) -> Option<CounterSource> {
        self.last_source.get()
    }
}

impl Counter for SimCounter<'_> {
    fn read(&self, source: CounterSource) -> u64 {
        let n = self.reads.get() + 1;
        self.reads.set(n);
        self.last_source.set(Some(source));
        if let Some(on_read) = &self.on_read {
            on_read(n, &self.value);
        }
        self.value.get()
    }
}

/// The 64-bit image's policy for `clock_getres` and `timezone`, which never
/// read the counter.
struct Native;

impl Counter for Native {
    fn read(&self, _: CounterSource) -> u64 {
        unreachable!("clock_getres and timezone never read the counter")
    }
}

/// The 32-bit compat image's reader: a [`SimCounter`] with
/// [`Counter::COMPAT`].
struct Compat<'a>(SimCounter<'a>);

impl Counter for Compat<'_> {
    const COMPAT: bool = true;

    fn read(&self, source: CounterSource) -> u64 {
        self.0.read(source)
    }
}

/// Asserts that every entry point answers `None` (use the syscall) for every
/// served clock, without reading the counter.
fn assert_all_fall_back(page: &DataPage, why: &str) {
    let counter = SimCounter::new(CYCLE_LAST + 1_000);
    for clock in SERVED {
        assert_eq!(
            clock_gettime(page, clock, &counter),
            None,
            "clock_gettime({clock}): {why}"
        );
        assert_eq!(
            clock_getres(page, clock, &Native),
            None,
            "clock_getres({clock}): {why}"
        );
    }
    assert_eq!(gettimeofday(page, &counter), None, "gettimeofday: {why}");
    assert_eq!(timezone(page, &Native), None, "timezone: {why}");
    assert_eq!(counter.reads(), 0, "counter read although {why}");
}

// ---------------------------------------------------------------------------
// Every served clock reads its base plus the elapsed time.
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Second rollover and counter wrap-around.
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// The 128-bit product: a page published once is right for years.
// ---------------------------------------------------------------------------

/// Linux's 64-bit `vdso_calc_ns` on the same inputs: `None` where its
/// `delta * mult + base` overflows.
fn linux_64_bit_product(delta: u64, mult: u32, nsec: u64) -> Option<u64> {
    delta.checked_mul(u64::from(mult))?.checked_add(nsec)
}

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

// ---------------------------------------------------------------------------
// The seqlock reader.
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// clock_mode.
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Clock ids the page does not serve.
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Zero and out-of-range fields.
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// gettimeofday and the time zone.
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// scale().
// ---------------------------------------------------------------------------

#[test]
fn scale_with_shift_zero_is_a_plain_multiply_add() {
    assert_eq!(scale(1_400, 400, u64::MAX, 3, 0, 7), Some(3_007));
    assert_eq!(scale(400, 400, u64::MAX, 3, 0, 7), Some(7));
    assert_eq!(scale(401, 400, u64::MAX, 1, 0, 0), Some(1));
}

#[test]
fn scale_with_shift_63_keeps_only_multiples_of_two_to_the_63() {
    // 2^63 >> 63 = 1, and one less is 0.
    assert_eq!(scale(1 << 32, 0, u64::MAX, 1 << 31, 63, 0), Some(1));
    assert_eq!(
        scale((1 << 32) - 1, 0, u64::MAX, 1 << 31, 63, (1 << 31) - 1),
        Some(0)
    );
    // (2^63 + 2^64 - 1) >> 63 = 2.
    assert_eq!(scale(1 << 32, 0, u64::MAX, 1 << 31, 63, u64::MAX), Some(2));
    // The largest forward delta (half the mask) with the largest mult.
    let delta = u64::MAX >> 1;
    let want = (u128::from(delta) * u128::from(u32::MAX) + u128::from(u64::MAX)) >> 63;
    assert_eq!(
        scale(delta, 0, u64::MAX, u32::MAX.into(), 63, u64::MAX).map(u128::from),
        Some(want)
    );
}

#[test]
fn scale_with_maximal_inputs_does_not_overflow() {
    // The largest delta served is half the mask (larger means the counter is
    // behind `cycle_last`). (2^63 - 1)(2^32 - 1) + 2^64 - 1 = 2^95 + 2^63 - 2^32,
    // which a 64-bit product cannot hold; shifted by 32 it is 2^63 + 2^31 - 1.
    let delta = u64::MAX >> 1;
    assert_eq!(
        linux_64_bit_product(delta, u32::MAX, u64::MAX),
        None,
        "Linux's product would overflow here"
    );
    assert_eq!(
        scale(delta, 0, u64::MAX, u32::MAX.into(), 32, u64::MAX),
        Some((1 << 63) + (1 << 31) - 1)
    );
    // The same through the wrap-around of `cycles - last`.
    assert_eq!(
        scale(4, (1 << 63) + 5, u64::MAX, u32::MAX.into(), 32, u64::MAX),
        Some((1 << 63) + (1 << 31) - 1)
    );
    // And against a u128 reference over a spread of large inputs.
    for (delta, mult, shift, nsec) in [
        (u64::MAX >> 1, u64::from(u32::MAX), 40, 0),
        (1 << 62, 1 << 31, 33, 12_345),
        (0xdead_beef_cafe, 0x8765_4321, 24, 0x1234_5678_9abc),
    ] {
        let want = (u128::from(delta) * u128::from(mult) + u128::from(nsec)) >> shift;
        assert_eq!(
            scale(delta, 0, u64::MAX, mult, shift, nsec).map(u128::from),
            Some(want)
        );
    }
}

#[test]
fn scale_falls_back_when_the_result_does_not_fit_in_64_bits() {
    // 584 years of nanoseconds or more, from a forward delta a hostile page
    // can produce. A truncated result would be a wrong time; the syscall
    // must answer instead.
    let delta = u64::MAX >> 1;
    assert_eq!(
        scale(delta, 0, u64::MAX, u32::MAX.into(), 30, u64::MAX),
        None
    );
    assert_eq!(scale(delta, 0, u64::MAX, 4, 0, 0), None);
    assert_eq!(scale(delta, 0, u64::MAX, 2, 0, 2), None);
    // The largest result that fits is still served: 2(2^63 - 1) + 1.
    assert_eq!(scale(delta, 0, u64::MAX, 2, 0, 1), Some(u64::MAX));

    // Through clock_gettime: a 64-bit counter one cycle behind `cycle_last`
    // is a delta of 2^64 - 1 cycles, thousands of years.
    let mut tk = timekeeper();
    tk.tkr_mono.mask = u64::MAX;
    let page = page_with(&tk);
    let counter = SimCounter::new(CYCLE_LAST - 1);
    assert_eq!(clock_gettime(&page, REALTIME, &counter), None);
}

#[test]
fn counter_behind_cycle_last_falls_back_instead_of_jumping_decades_ahead() {
    // A counter read a little before the writer's (qemu-user's counter
    // follows the host's wall clock, which can step back) would be a masked
    // delta of almost 2^56 cycles: 36 years at 62.5 MHz. Linux's arm64
    // reader returns that time; ours asks the syscall.
    assert_eq!(scale(999, 1_000, MASK_56, 1, 0, 0), None);
    assert_eq!(scale(0, 1 << 55, MASK_56, 1, 0, 0), None, "delta 2^55");
    assert_eq!(
        scale((1 << 55) - 1, 0, MASK_56, 1, 0, 0),
        Some((1 << 55) - 1),
        "half the mask is the largest forward delta"
    );
    let tk = timekeeper();
    let page = page_with(&tk);
    for clock in [REALTIME, MONOTONIC, MONOTONIC_RAW, BOOTTIME, TAI] {
        let counter = SimCounter::new(CYCLE_LAST - 1);
        assert_eq!(clock_gettime(&page, clock, &counter), None, "clock {clock}");
    }
}

#[test]
fn scale_masks_the_counter_delta() {
    let last = MASK_56 - 9;
    assert_eq!(scale(5, last, MASK_56, 1, 0, 0), Some(15));
    assert_eq!(scale((0xff << 56) | 5, last, MASK_56, 1, 0, 0), Some(15));
    assert_eq!(scale(5, u64::MAX - 9, u64::MAX, 16, 0, 0), Some(240));
    // A 32-bit counter.
    assert_eq!(
        scale(0x1_0000_0002, 0xffff_ffff, 0xffff_ffff, 1, 0, 0),
        Some(3)
    );
}

#[test]
fn scale_rejects_fields_a_kernel_never_writes() {
    assert_eq!(scale(10, 0, u64::MAX, 0, 0, 0), None, "mult 0");
    assert_eq!(scale(10, 0, 0, 1, 0, 0), None, "mask 0");
    for shift in [64, 65, 127, 128, u64::from(u32::MAX), u64::MAX] {
        assert_eq!(scale(10, 0, u64::MAX, 1, shift, 0), None, "shift {shift}");
    }
    assert_eq!(scale(10, 0, u64::MAX, 1, 63, 1 << 63), Some(1), "shift 63");
}

// ---------------------------------------------------------------------------
// Property tests: random, hostile pages.
// ---------------------------------------------------------------------------

/// Property tests over random data pages (issue 7, part 3): whatever the
/// page holds, the reader never panics (host tests have overflow checks
/// on, so an overflowing operation would panic) and answers exactly the
/// time an independent reference computes from the page, or `None` (use
/// the syscall) exactly when that reference says the page cannot be
/// served.
///
/// The reference ([`reference_time`]) is DESIGN §3 and `time.rs`'s
/// documented rules in plain `u128` arithmetic, written without looking at
/// how `scale` splits the product: a page is served only with `clock_mode`
/// 1, 2 or CNTPCT and an even `seq`; a counter clock also needs `mult`,
/// `mask` nonzero, `shift` below 64, a masked delta at most half the mask
/// (else the counter is behind `cycle_last`) and a result below 2^64 ns.
mod random_pages {
    use proptest::prelude::*;

    use super::*;
    use crate::data::clock::{COUNTER_CLOCKS, MAX_CLOCKS};
    use crate::data::VDSO_BASES;

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
                |((seq, clock_mode, cycle_last, mask, mult, shift), (bases, kind), tz, res)| {
                    RawData {
                        seq,
                        clock_mode,
                        cycle_last,
                        mask,
                        mult,
                        shift,
                        basetime: bases.map(|(sec, nsec)| (sec, nsec_of_kind(nsec, kind))),
                        tz,
                        hrtimer_res: res,
                    }
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
            0x5043_4e54 => Some(CounterSource::Physical),
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
            REALTIME | MONOTONIC | MONOTONIC_RAW | BOOTTIME | TAI => {
                raw[CS_HRES_COARSE].hrtimer_res
            }
            REALTIME_COARSE | MONOTONIC_COARSE => coarse_res,
            _ => return None,
        };
        (ns != 0).then(|| ts(0, i64::from(ns)))
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
            let page = Box::<DataPage>::default();
            store(&page, &raw, coarse_res);
            let vd = &raw[if clock == MONOTONIC_RAW { CS_RAW } else { CS_HRES_COARSE }];
            let now = vd.cycle_last.wrapping_add(delta);
            let counter = SimCounter::new(now);
            let got = clock_gettime(&page, clock, &counter);
            prop_assert_eq!(got, reference_time(&raw, clock, now));
            // A counter clock served from the page read the counter its
            // `clock_mode` names.
            if got.is_some() && COUNTER_CLOCKS.contains(&clock) {
                prop_assert_eq!(counter.last_source(), reference_source(vd.clock_mode));
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
}
