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

/// Linux's 64-bit `vdso_calc_ns` on the same inputs: `None` where its
/// `delta * mult + base` overflows.
fn linux_64_bit_product(delta: u64, mult: u32, nsec: u64) -> Option<u64> {
    delta.checked_mul(u64::from(mult))?.checked_add(nsec)
}

mod clock_mode;
mod clocks;
mod fallbacks;
mod getrandom;
mod product;
mod random_pages;
mod scale;
mod seqlock;
mod straight;
mod timeofday;
