//! The two stress designs: a writer thread that rewrites the data page
//! through [`loader::Writer`] as fast as it can, reader threads that call
//! the image's `__kernel_clock_gettime` and judge every answer, and the
//! summary line.
//!
//! # Torn mode: a torn read lies on neither timeline
//!
//! Two writers own the page in turn (never at the same time: the one writer
//! thread alternates them) and republish two fixed timelines, A and B, as
//! fast as they can; each publish is one complete seqlock write of the whole
//! page. Neither timeline ever ticks, so each is a fixed line: REALTIME at
//! counter `c` is `sec·10⁹ + ((nsec + ((c - cycle_last) & mask)·mult) >> shift)`,
//! with every field far apart between A and B ([`timelines`]):
//!
//! | field | A | B |
//! | --- | --- | --- |
//! | `sec` | 1 000 000 000 (2001) | 3 000 000 000 (2065) |
//! | `nsec` | 0.05 s `<< 27` | 0.95 s `<< 26` |
//! | `cycle_last` | start − 2³⁶ | start − 2⁴⁰ |
//! | `mult`, `shift` | 2³¹, 27 (16 ns per tick, a 62.5 MHz scale) | 2 796 202 667, 26 (41.67 ns per tick, a 24 MHz scale) |
//!
//! Why a mix lies on neither line: `sec` decides which line's neighbourhood
//! a result is in (the two are 2·10⁹ s apart; every other term adds at most
//! 5·10⁴ s). Near A's line, a result with A's `sec` must reproduce A's
//! nanosecond term `0.05 s + 16 ns·(2³⁶ + e)` (`e` = ticks since the start).
//! A mix with another rate (`mult`/`shift` of B or mixed: 20.8, 32 or
//! 41.7 ns per tick) is off by at least 4.8 ns·2³⁶ ≈ 330 s; one with B's
//! `cycle_last` adds 16 ns·(2⁴⁰ − 2³⁶) ≈ 4.6 h; one with only B's `nsec`
//! (`0.95 s << 26 >> 27` = 0.475 s) is off by 0.425 s. Near B's line alike:
//! other rates are off by at least 9.7 ns·2⁴⁰ ≈ 3 h, A's `cycle_last` by
//! 41.7 ns·(2⁴⁰ − 2³⁶) ≈ 12 h, A's `nsec` alone (`0.05 s << 27 >> 26` =
//! 0.1 s) by 0.85 s. Every difference grows or stays as `e` grows. `mask` is
//! the one field whose mix changes nothing: every delta of the run is far
//! below both masks, so either mask gives the exact answer. The coarse
//! clock (`REALTIME_COARSE`: `sec`, plain `nsec`) mixes to 1·10⁹ s + 0.95 s
//! or 3·10⁹ s + 0.05 s, 0.9 s from either value.
//!
//! That argument is also checked by the program before the run
//! ([`check_separation`]): every mix of the fields, computed at the start
//! and at the latest counter value the run may reach, lies at least
//! [`MARGIN`] from both lines and far from the kernel's clock. A correct
//! answer lies within the line's values at the reader's own counter reads
//! just before and after the call (`CNTVCT_EL0`, the counter the page
//! describes): so a bracket narrower than [`MARGIN`] (timeline B runs 2.6 times
//! as fast as real time: a call not preempted for 38 ms) holds every
//! correct answer and no mix. (A wider bracket can only hide a mix, never
//! fail a correct answer.) The expectations
//! are computed here, in `u128`, from the fields as the page held them
//! after each publish ([`Line`]); nothing of the code under test (image,
//! `vdso::time`, the writer's `clock_gettime`) computes them.
//!
//! # Monotonic mode: a realistic writer
//!
//! The writer ticks as a kernel's timekeeper does, only much more often:
//! each tick moves `cycle_last` to the counter now and every base to its
//! clock's time there, and changes `mult` (an NTP-like frequency correction
//! of ±1 Hz, 0.016 ppm, in a random walk over [`POOL`] values). The writer
//! cannot set `mult` itself, so the tick switches among [`POOL`] writers
//! whose configured frequencies differ by 1 Hz: the new one publishes the
//! old one's clocks at the tick's counter. A publish takes whole
//! nanoseconds, so it rounds each clock up to the next nanosecond (Linux
//! keeps the fraction instead): the true clocks, the piecewise-linear
//! functions of the counter the ticks define, are continuous up to that
//! nanosecond forward and never go backwards. Each reader calls MONOTONIC,
//! BOOTTIME and REALTIME in turn and checks that each never decreases
//! within the thread. (A reader may see the old parameters at a counter
//! past the tick's, as with Linux; with ±0.016 ppm steps the two lines
//! drift apart by 1 ns only after 60 ms, and the next read of the same
//! clock comes microseconds later.)
//!
//! # What is counted
//!
//! See `main.rs`: reads, overlapped calls (the page's `seq` odd or changed
//! across the call), fallbacks (answers equal to the kernel's clock, read
//! with the syscall right after, and far from the page's: the image gave up
//! waiting for the writer, which is correct), violations. qemu-user
//! derives `CNTVCT_EL0` from the host's wall clock, so a step of the host's
//! clock in the middle of a run would show as violations, with the counter
//! values in their details.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use loader::{clock, Clocks, Config, CounterSource, DataPage, Timespec, Writer, CS_HRES_COARSE};
use vdso_dropin::pair::Vdso;
use vdso_probe::report::{clock_name, from_ns, ns, NS};
use vdso_probe::{sys, ClockGettime};

/// At most this many violations are shown in detail (per reader).
pub const MAX_SHOWN: usize = 5;

/// The least distance between any mix of A's and B's fields and either
/// line (torn mode), checked before the run.
const MARGIN: i128 = NS / 10;

/// One day, in ns: how far a mix must stay from the kernel's clock.
const DAY: i128 = 86_400 * NS;

/// An answer within this much before the kernel's clock read just after
/// it may be the kernel's (a fallback), if the page could not have given it.
const FALLBACK_WINDOW: i128 = 10 * NS;

/// Ticks of the counter the torn-mode separation is checked for: 2³⁶, 18
/// minutes at 62.5 MHz. A longer run is refused at its end.
const RUN_TICKS: u64 = 1 << 36;

/// How far A's and B's `cycle_last` lie before the start, in ticks.
const BEHIND_A: u64 = 1 << 36;
const BEHIND_B: u64 = 1 << 40;

/// Writers (distinct `mult` values) the monotonic mode's ticks walk among.
const POOL: usize = 9;

/// Which design runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Two timelines alternate; every answer must lie on one of them.
    Torn,
    /// Realistic ticks with changing `mult`; clocks must never decrease.
    Monotonic,
}

/// The image under test.
pub struct Image {
    /// `ours` or its path, for the summary.
    pub label: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The page and the function the readers call.
#[derive(Clone, Copy)]
struct Target {
    page: &'static DataPage,
    gettime: ClockGettime,
}

impl Target {
    /// The page's `seq` (both structs' are written together).
    fn seq(self) -> u32 {
        self.page.data[CS_HRES_COARSE].seq.load(Ordering::Acquire)
    }

    /// `clock_gettime(id)` through the image.
    fn gettime(self, id: i32) -> (i32, Timespec) {
        let mut ts = Timespec {
            tv_sec: -77,
            tv_nsec: -77,
        };
        // SAFETY: `gettime` is the mapped image's `__kernel_clock_gettime`,
        // found by `Vdso::map` (see `vdso_dropin::pair`'s Safety section);
        // it writes only `ts`, which is ours. The image and its data page
        // stay mapped for the rest of the process.
        let ret = unsafe { (self.gettime)(id, &mut ts) };
        (ret, ts)
    }
}

/// `CNTVCT_EL0`, read as the image reads it (`isb; mrs`).
fn counter() -> u64 {
    loader::arch::counter(CounterSource::Virtual)
}

/// The kernel's clock `id` now, in ns (the raw syscall).
fn kernel_now(id: i32) -> i128 {
    let mut ts = Timespec::default();
    sys::clock_gettime(id, &mut ts);
    ns(ts)
}

/// Whether `t` (an answer of clock `id`) is the kernel's: at most
/// [`FALLBACK_WINDOW`] before the kernel's clock read now.
fn is_kernels(id: i32, t: i128) -> bool {
    let now = kernel_now(id);
    now - FALLBACK_WINDOW <= t && t <= now
}

/// One reader's counts.
#[derive(Default)]
struct Tally {
    reads: u64,
    overlapped: u64,
    fallbacks: u64,
    violations: u64,
    shown: Vec<String>,
}

impl Tally {
    /// Counts a call during which `seq` went from `s0` to `s1`.
    fn call(&mut self, s0: u32, s1: u32) {
        self.reads += 1;
        if s0 & 1 == 1 || s0 != s1 {
            self.overlapped += 1;
        }
    }

    fn violation(&mut self, detail: impl FnOnce() -> String) {
        self.violations += 1;
        if self.shown.len() < MAX_SHOWN {
            self.shown.push(detail());
        }
    }

    fn add(&mut self, other: Tally) {
        self.reads += other.reads;
        self.overlapped += other.overlapped;
        self.fallbacks += other.fallbacks;
        self.violations += other.violations;
        self.shown.extend(other.shown);
    }
}

/// Runs `mode` against `image`; returns the exit status.
pub fn run(mode: Mode, image: &Image, reads: u64, readers: usize) -> i32 {
    let frequency = loader::arch::frequency();
    let config = Config::new(CounterSource::Virtual, frequency);
    let vdso = match Vdso::map("under test", &image.bytes, config) {
        Ok(vdso) => vdso,
        Err(e) => {
            println!("setup failed: {e}");
            return 1;
        }
    };
    let Vdso {
        page,
        writer,
        gettime,
        ..
    } = vdso;
    let target = Target { page, gettime };
    println!(
        "note image {} ({} bytes), counter {frequency} Hz, {readers} readers × {reads} calls",
        image.label,
        image.bytes.len()
    );
    let setup = match mode {
        Mode::Torn => torn_setup(page, target),
        Mode::Monotonic => monotonic_setup(page, writer, frequency, target),
    };
    let (writer_loop, judge) = match setup {
        Ok(setup) => setup,
        Err(e) => {
            println!("setup failed: {e}");
            return 1;
        }
    };

    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(readers + 1));
    let writer_thread = {
        let (stop, writes, start) = (stop.clone(), writes.clone(), start.clone());
        thread::spawn(move || {
            start.wait();
            writer_loop(&stop, &writes);
        })
    };
    let t0 = kernel_now(clock::MONOTONIC);
    let reader_threads: Vec<_> = (0..readers)
        .map(|index| {
            let (start, judge) = (start.clone(), judge.clone());
            thread::spawn(move || {
                let mut tally = Tally::default();
                start.wait();
                judge.read(index, target, reads, &mut tally);
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for thread in reader_threads {
        match thread.join() {
            Ok(tally) => total.add(tally),
            Err(_) => {
                println!("setup failed: a reader panicked");
                return 1;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    if writer_thread.join().is_err() {
        println!("setup failed: the writer panicked");
        return 1;
    }
    let seconds = (kernel_now(clock::MONOTONIC) - t0) as f64 / 1e9;
    if let Err(e) = judge.finish() {
        println!("setup failed: {e}");
        return 1;
    }
    for line in &total.shown {
        println!("violation: {line}");
    }
    let name = match mode {
        Mode::Torn => "torn",
        Mode::Monotonic => "monotonic",
    };
    println!(
        "stress: mode={name} image={} readers={readers} reads={} overlapped={} fallbacks={} \
         violations={} writes={} seconds={seconds:.1}",
        image.label,
        total.reads,
        total.overlapped,
        total.fallbacks,
        total.violations,
        writes.load(Ordering::Relaxed)
    );
    0
}

/// What a writer thread runs: rewrite the page until `stop`, counting the
/// seqlock writes in `writes`.
type WriterLoop = Box<dyn FnOnce(&AtomicBool, &AtomicU64) + Send>;

/// How readers judge answers.
#[derive(Clone)]
enum Judge {
    Torn { a: Line, b: Line, start: u64 },
    Monotonic { first: [i128; 3] },
}

impl Judge {
    /// One reader's calls.
    fn read(&self, index: usize, target: Target, reads: u64, tally: &mut Tally) {
        match self {
            Judge::Torn { a, b, .. } => torn_read(a, b, index, target, reads, tally),
            Judge::Monotonic { first } => monotonic_read(first, index, target, reads, tally),
        }
    }

    /// Checks made after the run.
    fn finish(&self) -> Result<(), String> {
        match self {
            Judge::Torn { start, .. } => {
                let ran = counter().wrapping_sub(*start);
                if ran >= RUN_TICKS {
                    return Err(format!(
                        "the run took {ran} counter ticks, longer than the {RUN_TICKS} the \
                         separation of the timelines was checked for"
                    ));
                }
                Ok(())
            }
            Judge::Monotonic { .. } => Ok(()),
        }
    }
}

/// One timeline as the page holds it (the `CS_HRES_COARSE` struct's fields
/// that REALTIME and REALTIME_COARSE read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Line {
    cycle_last: u64,
    mask: u64,
    mult: u32,
    shift: u32,
    sec: u64,
    nsec: u64,
    coarse_sec: u64,
    coarse_nsec: u64,
}

impl Line {
    /// The fields as `page` holds them now (no writer at work).
    fn read(page: &DataPage) -> Line {
        let vd = &page.data[CS_HRES_COARSE];
        let r = Ordering::Relaxed;
        let base = &vd.basetime[clock::REALTIME as usize];
        let coarse = &vd.basetime[clock::REALTIME_COARSE as usize];
        Line {
            cycle_last: vd.cycle_last.load(r),
            mask: vd.mask.load(r),
            mult: vd.mult.load(r),
            shift: vd.shift.load(r),
            sec: base.sec.load(r),
            nsec: base.nsec.load(r),
            coarse_sec: coarse.sec.load(r),
            coarse_nsec: coarse.nsec.load(r),
        }
    }

    /// REALTIME at counter `c`, in ns: the page's formula, in `u128`.
    fn at(&self, c: u64) -> i128 {
        let delta = u128::from(c.wrapping_sub(self.cycle_last) & self.mask);
        let shifted = u128::from(self.nsec) + delta * u128::from(self.mult);
        // The shift is below 64 and the sum below 2^128 (64 × 32 bits plus
        // 64 bits): the result fits in an i128 with room to spare.
        i128::from(self.sec) * NS + (shifted >> self.shift) as i128
    }

    /// REALTIME_COARSE, in ns.
    fn coarse(&self) -> i128 {
        i128::from(self.coarse_sec) * NS + i128::from(self.coarse_nsec)
    }
}

/// Timelines A and B at counter `start` (see the module docs): the two
/// writers' configurations and clocks.
fn timelines(start: u64) -> [(Config, Clocks); 2] {
    let line = |frequency, behind, sec, nsec| {
        let time = Timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        };
        (
            Config::new(CounterSource::Virtual, frequency),
            Clocks {
                counter: start.wrapping_sub(behind),
                realtime: time,
                monotonic: time,
                monotonic_raw: time,
                boottime: time,
                tai: time,
            },
        )
    };
    [
        line(62_500_000, BEHIND_A, 1_000_000_000, 50_000_000),
        line(24_000_000, BEHIND_B, 3_000_000_000, 950_000_000),
    ]
}

/// Torn mode: two writers on the page; A and B published and read back.
fn torn_setup(page: &'static DataPage, target: Target) -> Result<(WriterLoop, Judge), String> {
    let start = counter();
    let [(config_a, clocks_a), (config_b, clocks_b)] = timelines(start);
    let mut a = Writer::new(page, config_a).map_err(|e| format!("writer A: {e}"))?;
    let mut b = Writer::new(page, config_b).map_err(|e| format!("writer B: {e}"))?;
    a.publish(clocks_a);
    let line_a = Line::read(page);
    calm_check(target, &line_a, "A")?;
    b.publish(clocks_b);
    let line_b = Line::read(page);
    calm_check(target, &line_b, "B")?;
    for (name, line) in [("A", line_a), ("B", line_b)] {
        println!(
            "note timeline {name}: sec {} nsec {:#x} cycle_last {:#x} mask {:#x} mult {} shift {} \
             coarse {}.{:09}",
            line.sec,
            line.nsec,
            line.cycle_last,
            line.mask,
            line.mult,
            line.shift,
            line.coarse_sec,
            line.coarse_nsec
        );
    }
    check_separation(&line_a, &line_b, start, kernel_now(clock::REALTIME))?;
    println!(
        "note every mix of A's and B's fields lies at least {} ms from both lines for {RUN_TICKS} \
         counter ticks",
        MARGIN / 1_000_000
    );
    let writer: WriterLoop = Box::new(move |stop, writes| {
        while !stop.load(Ordering::Relaxed) {
            // Each publish republishes its writer's unchanged state: one
            // complete seqlock write of the whole page.
            a.publish(clocks_a);
            b.publish(clocks_b);
            writes.fetch_add(2, Ordering::Relaxed);
        }
    });
    Ok((
        writer,
        Judge::Torn {
            a: line_a,
            b: line_b,
            start,
        },
    ))
}

/// With no writer at work, the image answers from `line`: REALTIME within
/// the line's bracket, REALTIME_COARSE exactly. An image that answered
/// with the syscall would make every later check vacuous.
fn calm_check(target: Target, line: &Line, name: &str) -> Result<(), String> {
    for _ in 0..100 {
        let c0 = counter();
        let (ret, ts) = target.gettime(clock::REALTIME);
        let c1 = counter();
        let (lo, hi) = (line.at(c0), line.at(c1));
        if ret != 0 || !(lo..=hi).contains(&ns(ts)) {
            return Err(format!(
                "with timeline {name} published and no writer at work, REALTIME returned \
                 {ret}, {ts:?}, not within [{lo}, {hi}] ns: the image does not read the page"
            ));
        }
        let (ret, ts) = target.gettime(clock::REALTIME_COARSE);
        if ret != 0 || ns(ts) != line.coarse() {
            return Err(format!(
                "with timeline {name} published, REALTIME_COARSE returned {ret}, {ts:?}, not {} ns",
                line.coarse()
            ));
        }
    }
    Ok(())
}

/// Proves the module docs' claim for these two lines: every mix of their
/// fields (all but `mask`), at the start and at the last counter value the
/// run may reach, lies at least [`MARGIN`] from both lines, on the same side
/// at both ends (the distance is linear in the counter, so it holds in
/// between), and more than a day from the kernel's REALTIME; the masks
/// exceed every delta, so a mixed mask changes nothing; the coarse mixes
/// alike.
fn check_separation(a: &Line, b: &Line, start: u64, kernel: i128) -> Result<(), String> {
    let end = start.wrapping_add(RUN_TICKS);
    let widest = BEHIND_A.max(BEHIND_B) + RUN_TICKS;
    if widest > a.mask.min(b.mask) >> 1 {
        return Err(format!(
            "masks {:#x}, {:#x} do not exceed every delta",
            a.mask, b.mask
        ));
    }
    let far_from_kernel = |v0: i128, v1: i128| {
        (v0 < kernel - DAY && v1 < kernel - DAY) || (v0 > kernel + DAY && v1 > kernel + DAY)
    };
    for bits in 1..31u32 {
        let pick = |bit: u32, x: u64, y: u64| if bits & 1 << bit == 0 { x } else { y };
        let mix = Line {
            cycle_last: pick(0, a.cycle_last, b.cycle_last),
            mask: a.mask,
            mult: pick(1, a.mult.into(), b.mult.into()) as u32,
            shift: pick(2, a.shift.into(), b.shift.into()) as u32,
            sec: pick(3, a.sec, b.sec),
            nsec: pick(4, a.nsec, b.nsec),
            coarse_sec: 0,
            coarse_nsec: 0,
        };
        for (name, line) in [("A", a), ("B", b)] {
            let d0 = mix.at(start) - line.at(start);
            let d1 = mix.at(end) - line.at(end);
            if d0.signum() != d1.signum() || d0.abs().min(d1.abs()) < MARGIN {
                return Err(format!(
                    "the mix {mix:?} comes within {} ns of line {name}",
                    d0.abs().min(d1.abs())
                ));
            }
        }
        if !far_from_kernel(mix.at(start), mix.at(end)) {
            return Err(format!("the mix {mix:?} comes near the kernel's REALTIME"));
        }
    }
    for (sec, nsec) in [(a.coarse_sec, b.coarse_nsec), (b.coarse_sec, a.coarse_nsec)] {
        let v = i128::from(sec) * NS + i128::from(nsec);
        if (v - a.coarse()).abs() < MARGIN
            || (v - b.coarse()).abs() < MARGIN
            || !far_from_kernel(v, v)
        {
            return Err(format!("the coarse mix {sec}.{nsec:09} is not separated"));
        }
    }
    Ok(())
}

/// Torn mode, one reader: REALTIME three calls in four, REALTIME_COARSE
/// the fourth; each answer on line A or B.
fn torn_read(a: &Line, b: &Line, index: usize, target: Target, reads: u64, tally: &mut Tally) {
    for call in 0..reads {
        let id = if call % 4 == 3 {
            clock::REALTIME_COARSE
        } else {
            clock::REALTIME
        };
        let s0 = target.seq();
        let c0 = counter();
        let (ret, ts) = target.gettime(id);
        let c1 = counter();
        let s1 = target.seq();
        tally.call(s0, s1);
        let t = ns(ts);
        let hres = id == clock::REALTIME;
        let on_line = |line: &Line| {
            if hres {
                line.at(c0) <= t && t <= line.at(c1)
            } else {
                t == line.coarse()
            }
        };
        if ret == 0 && (on_line(a) || on_line(b)) {
            continue;
        }
        if ret == 0 && is_kernels(id, t) {
            tally.fallbacks += 1;
            continue;
        }
        let name = clock_name(id);
        let shown = |line: &Line| {
            if hres {
                format!("[{}, {}]", line.at(c0), line.at(c1))
            } else {
                line.coarse().to_string()
            }
        };
        tally.violation(|| {
            format!(
                "reader {index} call {call} {name}: returned {ret}, {t} ns, on neither line: \
                 A {} ns, B {} ns (counter {c0}..{c1}, seq {s0} -> {s1})",
                shown(a),
                shown(b)
            )
        });
    }
}

/// Monotonic mode: a pool of writers whose `mult` differ by 1 Hz of
/// configured frequency; the first publishes the starting clocks.
fn monotonic_setup(
    page: &'static DataPage,
    first: Writer<'static>,
    frequency: u64,
    target: Target,
) -> Result<(WriterLoop, Judge), String> {
    let mut pool = vec![first];
    for k in 1..POOL as u64 {
        let config = Config::new(CounterSource::Virtual, frequency - k);
        pool.push(Writer::new(page, config).map_err(|e| format!("writer {k}: {e}"))?);
    }
    let mults: Vec<u32> = pool.iter().map(|w| w.scale().mult).collect();
    println!(
        "note mult walks among {mults:?} (shift {})",
        pool[0].scale().shift
    );
    let mut distinct = mults.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != POOL {
        return Err(format!(
            "the pool's mult values are not distinct: {mults:?}"
        ));
    }
    // Far from any kernel's clocks: REALTIME in 2033, MONOTONIC 3.9 years,
    // BOOTTIME an hour more (time suspended), so a fallback is told apart.
    let realtime = from_ns(2_000_000_000 * NS + 250_000_000);
    let monotonic = from_ns(123_456_789 * NS + 500_000_000);
    pool[0].publish(Clocks {
        counter: counter(),
        realtime,
        monotonic,
        monotonic_raw: from_ns(ns(monotonic) - 750_000_000),
        boottime: from_ns(ns(monotonic) + 3600 * NS + 125_000_000),
        tai: from_ns(ns(realtime) + 37 * NS),
    });
    let mut first = [0; 3];
    for (slot, id) in first.iter_mut().zip(MONOTONIC_IDS) {
        let (ret, ts) = target.gettime(id);
        if ret != 0 || is_kernels(id, ns(ts)) {
            return Err(format!(
                "with no writer at work, {} returned {ret}, {ts:?}: the kernel's clock, not the page's",
                clock_name(id)
            ));
        }
        *slot = ns(ts);
    }
    let writer: WriterLoop = Box::new(move |stop, writes| {
        let mut current = 0;
        let mut random = 0x9e37_79b9_7f4a_7c15_u64;
        while !stop.load(Ordering::Relaxed) {
            let now = pool[current].read_counter();
            let mut clocks = pool[current].clocks(now);
            for t in clocks.times_mut() {
                // `clocks` are truncated to the nanosecond: round up.
                *t = from_ns(ns(*t) + 1);
            }
            // xorshift64: a random walk of `mult`, one step a tick.
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let next = match current {
                0 => 1,
                c if c == POOL - 1 => c - 1,
                c if random & 1 == 0 => c - 1,
                c => c + 1,
            };
            pool[next].publish(clocks);
            current = next;
            writes.fetch_add(1, Ordering::Relaxed);
        }
    });
    Ok((writer, Judge::Monotonic { first }))
}

/// The clocks monotonic mode reads, in turn.
const MONOTONIC_IDS: [i32; 3] = [clock::MONOTONIC, clock::BOOTTIME, clock::REALTIME];

/// Monotonic mode, one reader: each clock never decreases. An answer more
/// than a day from the page's time that equals the kernel's clock is a
/// fallback and not compared.
fn monotonic_read(first: &[i128; 3], index: usize, target: Target, reads: u64, tally: &mut Tally) {
    let mut last = *first;
    for call in 0..reads {
        let slot = (call % 3) as usize;
        let id = MONOTONIC_IDS[slot];
        let s0 = target.seq();
        let (ret, ts) = target.gettime(id);
        let s1 = target.seq();
        tally.call(s0, s1);
        let t = ns(ts);
        let near_page = first[slot] - NS <= t && t <= first[slot] + DAY;
        if ret == 0 && !near_page && is_kernels(id, t) {
            tally.fallbacks += 1;
            continue;
        }
        let previous = last[slot];
        if ret != 0 || t < previous {
            let name = clock_name(id);
            tally.violation(|| {
                format!(
                    "reader {index} call {call} {name}: returned {ret}, {t} ns, after {previous} \
                     ns ({} ns back; seq {s0} -> {s1})",
                    previous - t
                )
            });
        }
        last[slot] = t;
    }
}
