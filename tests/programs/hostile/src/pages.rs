//! Part 2, hostile data pages: whatever the page holds, every answer of our
//! image is the correct time for that page or the syscall's answer; it
//! never crashes and never hangs.
//!
//! # How a page is built
//!
//! Each case starts from the same well-formed page: a fresh writer
//! publishes the host's clocks **1000 s ahead**, a timezone (`-90`, `1`)
//! and resolutions (3 ns, 2 000 003 ns) that are not the host's. So an
//! answer taken from the page can never be mistaken for the syscall's, and
//! vice versa. Then the case rewrites fields of both `vdso_data` structs
//! (a hostile kernel writes both) with plain atomic stores, outside any
//! seqlock: nothing else runs.
//!
//! # What counts as correct
//!
//! [`page_time`] computes, independently of the image and of the `vdso`
//! crate, the time the page stands for at a counter value, following
//! the data page (ARCHITECTURE.md) in plain `u128` arithmetic:
//! `ns = (((counter - cycle_last) & mask) * mult + nsec) >> shift`, added
//! to `sec`; coarse clocks are their base as stored. It answers `None`
//! (the page cannot be served: only the syscall may answer) for a
//! `clock_mode` other than 1 and 2, an odd `seq`, `mult` 0, `mask` 0,
//! `shift` ≥ 64, a masked delta above half the mask (the counter is behind
//! `cycle_last`) and a result of 2^64 ns or more. The counter is read just
//! before and just after the call, so a page answer must lie between the
//! page's times at those two values; a syscall answer must lie between two
//! raw syscalls taken around the call, with no tolerance at all (it *is*
//! the syscall). Anything else fails.
//!
//! # Not run here: `CLOCKMODE_CNTPCT`
//!
//! A page with our CNTPCT mode is the kernel's promise that EL0 may read
//! `CNTPCT_EL0`. Under qemu-user that promise is false (reading it is
//! SIGILL), so our image is never run on such a page here, and the random
//! pages are kept off that one value. The portable algorithm's handling of
//! it is covered by the host property tests
//! (`vdso/src/tests/random_pages.rs`), and the
//! real CNTPCT path by the example kernel (`tests/tests/kernel.rs`,
//! `--counter cntpct`), where EL1 opens CNTPCT to EL0.

use std::fmt::Write as _;
use std::ptr::null_mut;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use loader::{
    clock, Config, DataPage, Timespec, Timeval, Timezone, VdsoData, CLOCKMODE_ARCHTIMER,
    CLOCKMODE_ARCHTIMER_NOCOMPAT, CLOCKMODE_CNTPCT, CLOCKMODE_NONE, CLOCKMODE_TIMENS,
    CS_HRES_COARSE, CS_RAW, NSEC_PER_SEC,
};
use vdso_probe::report::{clock_name, ensure, Report};
use vdso_probe::sys;

use crate::differential::ret_name;
use crate::host::{key, sys_res, sys_time, sys_timeofday, Host};

/// The default seed of the random pages.
pub const DEFAULT_SEED: u64 = 0x7e57_0bad_da7a_9a9e;

/// How far ahead of the host the base page is published, in seconds.
const AHEAD_SECS: i64 = 1000;
/// The base page's timezone (the host's is almost always 0, 0).
const PAGE_TZ: Timezone = Timezone {
    tz_minuteswest: -90,
    tz_dsttime: 1,
};
/// The base page's resolutions (the host's are 1 ns and a tick).
const PAGE_HRTIMER_RES: u32 = 3;
const PAGE_COARSE_RES: u32 = 2_000_003;

/// A call that takes longer than this has not ended in a bounded spin.
const SPIN_BOUND: Duration = Duration::from_secs(1);

/// `VDSO_HOSTILE_SEED`: decimal or `0x` hexadecimal.
pub fn parse_seed(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// splitmix64: small, seeded, good enough to scatter bits over a page.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A `clock_mode` that is neither 1, 2 nor CNTPCT.
    fn unknown_mode(&mut self) -> i32 {
        loop {
            let mode = self.next() as i32;
            if ![
                CLOCKMODE_ARCHTIMER,
                CLOCKMODE_ARCHTIMER_NOCOMPAT,
                CLOCKMODE_CNTPCT,
            ]
            .contains(&mode)
            {
                return mode;
            }
        }
    }
}

/// What a case does to the base page.
type Mutate = Box<dyn Fn(&Host, &DataPage)>;

/// One hostile page.
struct Case {
    name: String,
    mutate: Mutate,
}

fn case(name: impl Into<String>, mutate: impl Fn(&Host, &DataPage) + 'static) -> Case {
    Case {
        name: name.into(),
        mutate: Box::new(mutate),
    }
}

/// Runs `f` on both `vdso_data` structs.
fn both(page: &DataPage, f: impl Fn(&VdsoData)) {
    page.data.iter().for_each(f);
}

/// Stores `next()` (truncated to each field's width) into every field the
/// image can read: both structs and our extension.
fn fill_fields(page: &DataPage, mut next: impl FnMut() -> u64) {
    for vd in &page.data {
        vd.seq.store(next() as u32, Relaxed);
        vd.clock_mode.store(next() as i32, Relaxed);
        vd.cycle_last.store(next(), Relaxed);
        vd.mask.store(next(), Relaxed);
        vd.mult.store(next() as u32, Relaxed);
        vd.shift.store(next() as u32, Relaxed);
        for ts in &vd.basetime {
            ts.sec.store(next(), Relaxed);
            ts.nsec.store(next(), Relaxed);
        }
        vd.tz_minuteswest.store(next() as i32, Relaxed);
        vd.tz_dsttime.store(next() as i32, Relaxed);
        vd.hrtimer_res.store(next() as u32, Relaxed);
        vd.unused.store(next() as u32, Relaxed);
    }
    page.rng.generation.store(next(), Relaxed);
    page.rng.is_ready.store(next() as u8, Relaxed);
    page.ext.coarse_res.store(next() as u32, Relaxed);
    page.ext.no_getrandom.store(next() as u32, Relaxed);
}

/// Keeps a page off `CLOCKMODE_CNTPCT` (see the module docs).
fn avoid_cntpct(page: &DataPage) {
    both(page, |vd| {
        if vd.clock_mode.load(Relaxed) == CLOCKMODE_CNTPCT {
            vd.clock_mode.store(CLOCKMODE_CNTPCT + 1, Relaxed);
        }
    });
}

/// Every hostile page, in order.
fn cases(rng: &mut Rng) -> Vec<Case> {
    let mode =
        |m: i32| move |_: &Host, page: &DataPage| both(page, |vd| vd.clock_mode.store(m, Relaxed));
    let mut cases = vec![
        case("clock_mode 0 (NONE)", mode(CLOCKMODE_NONE)),
        case("clock_mode 1 (ARCHTIMER)", mode(CLOCKMODE_ARCHTIMER)),
        case(
            "clock_mode 2 (ARCHTIMER_NOCOMPAT)",
            mode(CLOCKMODE_ARCHTIMER_NOCOMPAT),
        ),
        case("clock_mode 2147483647 (TIMENS)", mode(CLOCKMODE_TIMENS)),
        case("clock_mode 3", mode(3)),
        case("clock_mode -1", mode(-1)),
        case("clock_mode -2147483648", mode(i32::MIN)),
        case(
            "clock_mode 0x7fff0001 (CNTPCT + 1)",
            mode(CLOCKMODE_CNTPCT + 1),
        ),
    ];
    for i in 1..=3 {
        let m = rng.unknown_mode();
        cases.push(case(format!("clock_mode random #{i} ({m:#x})"), mode(m)));
    }
    cases.push(case("mult 0", |_, page| {
        both(page, |vd| vd.mult.store(0, Relaxed))
    }));
    cases.push(case(
        "shift 0, mult and nsec rescaled (well-formed)",
        |host, page| {
            // mult = ns per cycle, rounded (exact at 62.5 MHz: 16 ns); the
            // shifted nanoseconds become plain ones.
            let hz = host.frequency;
            let mult = ((NSEC_PER_SEC + hz / 2) / hz) as u32;
            both(page, |vd| {
                let shift = vd.shift.load(Relaxed);
                for id in clock::COUNTER_CLOCKS {
                    let ts = &vd.basetime[id as usize];
                    ts.nsec.store(ts.nsec.load(Relaxed) >> shift, Relaxed);
                }
                vd.mult.store(mult.max(1), Relaxed);
                vd.shift.store(0, Relaxed);
            });
        },
    ));
    cases.push(case("shift 0, mult and shifted nsec kept", |_, page| {
        both(page, |vd| vd.shift.store(0, Relaxed))
    }));
    for shift in [64, 65, 255, u32::MAX] {
        cases.push(case(format!("shift {shift}"), move |_, page| {
            both(page, |vd| vd.shift.store(shift, Relaxed))
        }));
    }
    cases.push(case("mask 0", |_, page| {
        both(page, |vd| vd.mask.store(0, Relaxed))
    }));
    cases.push(case("cycle_last 1 s ahead of the counter", |host, page| {
        let ahead = host.counter() + host.frequency;
        both(page, |vd| vd.cycle_last.store(ahead, Relaxed));
    }));
    cases.push(case("product >= 2^64 ns", |host, page| {
        // 16 ms of cycles times u32::MAX plus u64::MAX nanoseconds.
        let behind = host.counter() - host.frequency / 64;
        both(page, |vd| {
            vd.cycle_last.store(behind, Relaxed);
            vd.mult.store(u32::MAX, Relaxed);
            vd.shift.store(0, Relaxed);
            for ts in &vd.basetime {
                ts.nsec.store(u64::MAX, Relaxed);
            }
        });
    }));
    cases.push(case(LINUX_6_12_PAGE, |_, page| {
        // Linux >= 6.11 writes its getrandom state right after the two
        // structs and never writes our extension.
        page.rng.generation.store(0x0123_4567_89ab_cdef, Relaxed);
        page.rng.is_ready.store(1, Relaxed);
        page.ext.coarse_res.store(0, Relaxed);
        page.ext.no_getrandom.store(0, Relaxed);
    }));
    cases.push(case(SEQ_STUCK_ODD, |_, page| {
        both(page, |vd| vd.seq.store(vd.seq.load(Relaxed) | 1, Relaxed))
    }));
    cases.push(case("all-zero page", |_, page| fill_fields(page, || 0)));
    cases.push(case("all-ones page", |_, page| {
        fill_fields(page, || u64::MAX)
    }));
    for i in 1..=6 {
        let seed = rng.next();
        cases.push(case(format!("random bytes #{i}"), move |_, page| {
            let mut rng = Rng(seed);
            fill_fields(page, || rng.next());
            avoid_cntpct(page);
        }));
    }
    for i in 1..=6 {
        let seed = rng.next();
        let name = format!("random fields, clock_mode 1/2 #{i}");
        cases.push(case(name, move |host, page| {
            random_fields(host, page, seed)
        }));
    }
    cases
}

/// The name of the `seq` case (the host test looks for its verdict).
const SEQ_STUCK_ODD: &str = "seq stuck odd";

/// The name of the case of a page as Linux 6.12 writes it (the host test
/// looks for its verdict).
const LINUX_6_12_PAGE: &str = "a page as Linux 6.12 writes it (rng data at 480, no extension)";

/// A random page that a reader may well serve: a valid `clock_mode`, an
/// even `seq`, `cycle_last` a little behind the counter, and random
/// `mult`, `shift` (mostly below 64), `mask` (mostly a counter width),
/// base times, timezone and resolutions.
fn random_fields(host: &Host, page: &DataPage, seed: u64) {
    let mut rng = Rng(seed);
    fill_fields(page, || rng.next());
    let counter = host.counter();
    for vd in &page.data {
        let pick = rng.next();
        vd.seq.store(rng.next() as u32 & !1, Relaxed);
        let mode = [CLOCKMODE_ARCHTIMER, CLOCKMODE_ARCHTIMER_NOCOMPAT][(pick & 1) as usize];
        vd.clock_mode.store(mode, Relaxed);
        vd.cycle_last
            .store(counter.wrapping_sub(rng.next() % (1 << 24)), Relaxed);
        let mask = match (pick >> 1) % 4 {
            0 => u64::MAX,
            1 => (1 << 56) - 1,
            2 => u64::MAX >> (rng.next() % 64),
            _ => rng.next(),
        };
        vd.mask.store(mask, Relaxed);
        let shift = match (pick >> 3) % 8 {
            0 => 64 + (rng.next() % 192) as u32,
            _ => (rng.next() % 64) as u32,
        };
        vd.shift.store(shift, Relaxed);
    }
}

/// Where an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// The correct time (or timezone, resolution) for the page.
    Page,
    /// The syscall's answer.
    Syscall,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Page => "page",
            Source::Syscall => "syscall",
        }
    }
}

/// `clock_mode` 1 or 2: the only modes run here (module docs).
fn mode_served(vd: &VdsoData) -> bool {
    matches!(
        vd.clock_mode.load(Relaxed),
        CLOCKMODE_ARCHTIMER | CLOCKMODE_ARCHTIMER_NOCOMPAT
    )
}

/// The time the page stands for on clock `id` at `counter`, or `None` if
/// the page cannot be served (module docs). Independent of the code under
/// test: the data page (ARCHITECTURE.md) in plain `u128` arithmetic.
fn page_time(page: &DataPage, id: i32, counter: u64) -> Option<Timespec> {
    // Linux's layout: MONOTONIC_RAW in CS_RAW with its own seq, mode and
    // scale; everything else in CS_HRES_COARSE.
    let vd = &page.data[if id == clock::MONOTONIC_RAW {
        CS_RAW
    } else {
        CS_HRES_COARSE
    }];
    if vd.seq.load(Relaxed) % 2 == 1 || !mode_served(vd) {
        return None;
    }
    let base = &vd.basetime[id as usize];
    let (sec, nsec) = (base.sec.load(Relaxed), base.nsec.load(Relaxed));
    if matches!(id, clock::REALTIME_COARSE | clock::MONOTONIC_COARSE) {
        return Some(Timespec {
            tv_sec: sec as i64,
            tv_nsec: nsec as i64,
        });
    }
    let mult = u128::from(vd.mult.load(Relaxed));
    let shift = vd.shift.load(Relaxed);
    let mask = vd.mask.load(Relaxed);
    if mult == 0 || mask == 0 || shift >= 64 {
        return None;
    }
    let delta = counter.wrapping_sub(vd.cycle_last.load(Relaxed)) & mask;
    if delta > mask / 2 {
        return None;
    }
    let ns = (u128::from(delta) * mult + u128::from(nsec)) >> shift;
    let ns = u64::try_from(ns).ok()?;
    Some(Timespec {
        // The page stores seconds as two's complement (`loader::Clocks`).
        tv_sec: sec.wrapping_add(ns / NSEC_PER_SEC) as i64,
        tv_nsec: (ns % NSEC_PER_SEC) as i64,
    })
}

/// The resolution the page gives `id`, or `None` (use the syscall).
/// `clock_getres` does not wait for the seqlock (Linux reads
/// `hrtimer_res` outside it), so `seq` does not matter here.
fn page_res(page: &DataPage, id: i32) -> Option<Timespec> {
    let vd = &page.data[CS_HRES_COARSE];
    if !mode_served(vd) {
        return None;
    }
    let ns = if matches!(id, clock::REALTIME_COARSE | clock::MONOTONIC_COARSE) {
        page.ext.coarse_res.load(Relaxed)
    } else {
        vd.hrtimer_res.load(Relaxed)
    };
    (ns != 0).then_some(Timespec {
        tv_sec: 0,
        tv_nsec: i64::from(ns),
    })
}

/// The timezone the page gives, or `None` (use the syscall).
fn page_tz(page: &DataPage) -> Option<Timezone> {
    let vd = &page.data[CS_HRES_COARSE];
    mode_served(vd).then(|| Timezone {
        tz_minuteswest: vd.tz_minuteswest.load(Relaxed),
        tz_dsttime: vd.tz_dsttime.load(Relaxed),
    })
}

/// The page's times on clock `id` at every counter value in `c0..=c1` at
/// which it can be served (the call read one of those values). The bracket
/// is a few dozen cycles; a page's time, and whether it can be served, are
/// not monotonic in the counter when its `mask` is not a counter width
/// (random pages), so every value is computed rather than the two ends
/// only. A bracket wider
/// than [`MAX_BRACKET`] (the host preempted us) gives `None`: only the
/// syscall's answer is accepted then, which the image may always give.
fn page_times(page: &DataPage, id: i32, c0: u64, c1: u64) -> Option<Vec<Timespec>> {
    let span = c1.wrapping_sub(c0);
    if span > MAX_BRACKET {
        return None;
    }
    Some(
        (0..=span)
            .filter_map(|d| page_time(page, id, c0.wrapping_add(d)))
            .collect(),
    )
}

/// Widest counter bracket [`page_times`] enumerates: 1 ms at 62.5 MHz.
const MAX_BRACKET: u64 = 1 << 16;

/// `t` lies in `[lo, hi]`.
fn within(t: Timespec, lo: Timespec, hi: Timespec) -> bool {
    key(lo) <= key(t) && key(t) <= key(hi)
}

/// A timeval as (sec, usec), for ordering.
fn tv_key(t: Timeval) -> (i64, i64) {
    (t.tv_sec, t.tv_usec)
}

/// A timespec truncated to a timeval, as `gettimeofday` does.
fn to_timeval(t: Timespec) -> Timeval {
    Timeval {
        tv_sec: t.tv_sec,
        tv_usec: t.tv_nsec / 1000,
    }
}

/// What one page gave, for its `case` line.
#[derive(Default)]
struct Tally {
    clocks: Vec<(String, Source)>,
    coarse: Vec<(String, Source)>,
    /// `tv` of `gettimeofday(&tv, &tz)` and `(&tv, NULL)`.
    timeofday: Vec<(String, Source)>,
    /// `tz` of `gettimeofday(&tv, &tz)` and `(NULL, &tz)`.
    tz: Vec<(String, Source)>,
    getres: Vec<(String, Source)>,
    slowest: Duration,
    failed: bool,
}

/// "page", "syscall", or both with the calls (clocks) of each.
fn summary(sources: &[(String, Source)]) -> String {
    let of = |s: Source| -> Vec<&str> {
        sources
            .iter()
            .filter(|(_, x)| *x == s)
            .map(|(call, _)| call.as_str())
            .collect()
    };
    let (page, syscall) = (of(Source::Page), of(Source::Syscall));
    match (page.is_empty(), syscall.is_empty()) {
        (false, true) => "page".into(),
        (true, false) => "syscall".into(),
        (true, true) => "-".into(),
        _ => format!("page: {}; syscall: {}", page.join(" "), syscall.join(" ")),
    }
}

/// Runs part 2.
pub fn run(host: &mut Host, report: &mut Report, seed: u64) {
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut lines = Vec::new();
    for case in cases(&mut rng) {
        match prepare(host, &case) {
            Ok(()) => {
                let tally = run_case(host, report, &case.name);
                lines.push(case_line(&case.name, &tally));
                if case.name == SEQ_STUCK_ODD {
                    check_stuck_odd(report, &tally);
                }
            }
            Err(e) => report.check(&format!("hostile {}: set up the page", case.name), Err(e)),
        }
    }
    lines.push(format!(
        "case {:<46} | not run under qemu-user: CNTPCT_EL0 is SIGILL there, so the page's \
         promise is false; covered by the host property tests and by tests/tests/kernel.rs \
         (--counter cntpct)",
        format!("clock_mode {CLOCKMODE_CNTPCT:#x} (our CNTPCT)")
    ));
    // Leave a sane page behind.
    let config = host.config;
    if let Err(e) = host.reset(config) {
        report.check("restore the page", Err(e));
    }
    for line in lines {
        println!("{line}");
    }
    report.note(&format!(
        "hostile pages: {} ms",
        started.elapsed().as_millis()
    ));
}

/// Publishes the base page (module docs) and applies the case.
fn prepare(host: &mut Host, case: &Case) -> Result<(), String> {
    host.reset(Config {
        hrtimer_res: PAGE_HRTIMER_RES,
        coarse_res: PAGE_COARSE_RES,
        ..host.config
    })?;
    host.publish_for(clock::REALTIME);
    let counter = host.counter();
    let mut clocks = host.vdso.writer.clocks(counter);
    for t in clocks.times_mut() {
        t.tv_sec += AHEAD_SECS;
    }
    host.vdso.writer.publish(clocks);
    host.vdso.writer.set_timezone(PAGE_TZ);
    (case.mutate)(host, host.vdso.page);
    Ok(())
}

/// Every call on the prepared page.
fn run_case(host: &Host, report: &mut Report, case: &str) -> Tally {
    let mut run = CaseRun {
        host,
        report,
        case,
        tally: Tally::default(),
    };
    for id in clock::SERVED {
        run.clock_gettime(id);
    }
    // A NULL buffer always reaches the syscall.
    let want = sys::clock_gettime(clock::REALTIME, null_mut());
    let got = host.gettime_null(clock::REALTIME);
    run.as_the_syscall("clock_gettime(REALTIME, NULL)", got, want);
    for id in clock::SERVED {
        run.clock_getres(id);
    }
    let want = sys::clock_getres(clock::MONOTONIC, null_mut());
    let got = host.vdso.clock_getres_null(clock::MONOTONIC);
    run.as_the_syscall("clock_getres(MONOTONIC, NULL)", got, want);
    for (want_tv, want_tz) in [(true, true), (false, true), (true, false), (false, false)] {
        run.gettimeofday(want_tv, want_tz);
    }
    run.tally
}

/// The calls on one prepared page: where each verdict goes, and what the page gave.
struct CaseRun<'a> {
    host: &'a Host,
    report: &'a mut Report,
    case: &'a str,
    tally: Tally,
}

impl CaseRun<'_> {
    /// Reports `what`'s verdict, naming the source it came from; `None` if it failed.
    fn verdict(&mut self, what: String, result: Result<Source, String>) -> Option<Source> {
        let case = self.case;
        match result {
            Ok(source) => {
                let name = format!("hostile {case}: {what}: {}", source.name());
                self.report.check(&name, Ok(()));
                Some(source)
            }
            Err(e) => {
                self.report
                    .check(&format!("hostile {case}: {what}"), Err(e));
                self.tally.failed = true;
                None
            }
        }
    }

    /// Reports that `call` returned `got`, as the syscall did (`want`).
    fn as_the_syscall(&mut self, call: &str, got: i32, want: i32) {
        let name = format!(
            "hostile {}: {call} -> {}, as the syscall",
            self.case,
            ret_name(want)
        );
        self.report.check(
            &name,
            ensure(got == want, || {
                format!("returned {}, the syscall {}", ret_name(got), ret_name(want))
            }),
        );
    }

    /// `clock_gettime(id)` between two syscalls: the page's time at the counter it read, or
    /// the syscall's answer.
    fn clock_gettime(&mut self, id: i32) {
        let host = self.host;
        let before = sys_time(id);
        let c0 = host.counter();
        let start = Instant::now();
        let (ret, got) = host.vdso.clock_gettime(id);
        let took = start.elapsed();
        let c1 = host.counter();
        let after = sys_time(id);
        self.tally.slowest = self.tally.slowest.max(took);
        let page = host.vdso.page;
        let result = if ret != before.0 || ret != after.0 {
            Err(format!(
                "returned {}, the syscall {} and {}",
                ret_name(ret),
                ret_name(before.0),
                ret_name(after.0)
            ))
        } else if ret != 0 {
            Ok(Source::Syscall)
        } else if page_times(page, id, c0, c1).is_some_and(|times| times.contains(&got)) {
            Ok(Source::Page)
        } else if within(got, before.1, after.1) {
            Ok(Source::Syscall)
        } else {
            Err(format!(
                "{got:?} is neither the page's time at counter {c0}..={c1} ({:?}..{:?}) \
                 nor between the syscall's {:?} and {:?}",
                page_time(page, id, c0),
                page_time(page, id, c1),
                before.1,
                after.1
            ))
        };
        let name = clock_name(id);
        if let Some(source) = self.verdict(format!("clock_gettime({name})"), result) {
            if matches!(id, clock::REALTIME_COARSE | clock::MONOTONIC_COARSE) {
                self.tally.coarse.push((name, source));
            } else {
                self.tally.clocks.push((name, source));
            }
        }
    }

    /// `clock_getres(id)`: the page's resolution or the syscall's.
    fn clock_getres(&mut self, id: i32) {
        let page = self.host.vdso.page;
        let want = sys_res(id);
        let got = self.host.vdso.clock_getres(id);
        let result = if got.0 != want.0 {
            Err(format!("got {got:?}, the syscall {want:?}"))
        } else if got.0 == 0 && page_res(page, id) == Some(got.1) {
            Ok(Source::Page)
        } else if got.0 != 0 || got.1 == want.1 {
            Ok(Source::Syscall)
        } else {
            Err(format!(
                "got {got:?}: neither the page's {:?} nor the syscall's {want:?}",
                page_res(page, id)
            ))
        };
        if let Some(source) = self.verdict(format!("clock_getres({})", clock_name(id)), result) {
            self.tally.getres.push((clock_name(id), source));
        }
    }

    /// `gettimeofday` with or without each buffer, between two syscalls: each field asked
    /// for comes from the page or the syscall, and the return value is the syscall's.
    fn gettimeofday(&mut self, want_tv: bool, want_tz: bool) {
        let host = self.host;
        let (sys_ret, tv0, sys_tz) = sys_timeofday();
        let c0 = host.counter();
        let start = Instant::now();
        let (ret, tv, tz) = host.timeofday(want_tv, want_tz);
        let took = start.elapsed();
        let c1 = host.counter();
        let (_, tv1, _) = sys_timeofday();
        self.tally.slowest = self.tally.slowest.max(took);
        let page = host.vdso.page;
        let tv_source = want_tv.then(|| tv_source(page, tv, (tv0, tv1), (c0, c1)));
        let tz_source = want_tz.then(|| tz_source(page, tz, sys_tz));
        let arg = |want: bool, name: &'static str| if want { name } else { "NULL" };
        let call = format!("{},{}", arg(want_tv, "&tv"), arg(want_tz, "&tz"));
        let what = format!("gettimeofday({call})");
        let mut sources = String::new();
        let mut result = ensure(ret == sys_ret, || {
            format!(
                "returned {}, the syscall {}",
                ret_name(ret),
                ret_name(sys_ret)
            )
        });
        for (field, source, list) in [
            ("tv", tv_source, &mut self.tally.timeofday),
            ("tz", tz_source, &mut self.tally.tz),
        ] {
            match source {
                None => {}
                Some(Ok(s)) => {
                    list.push((format!("({call})"), s));
                    let _ = write!(sources, " {field} from the {}", s.name());
                }
                Some(Err(e)) => result = result.and(Err(e)),
            }
        }
        if result.is_err() {
            self.tally.failed = true;
        }
        let case = self.case;
        let name = match &result {
            Ok(()) if sources.is_empty() => format!("hostile {case}: {what} -> {}", ret_name(ret)),
            Ok(()) => format!("hostile {case}: {what}:{sources}"),
            Err(_) => format!("hostile {case}: {what}"),
        };
        self.report.check(&name, result);
    }
}

/// Where `gettimeofday`'s `tv` came from: the page's REALTIME at a counter in `c0..=c1`, or
/// the syscall's, between `tv0` and `tv1`.
fn tv_source(
    page: &DataPage,
    tv: Timeval,
    (tv0, tv1): (Timeval, Timeval),
    (c0, c1): (u64, u64),
) -> Result<Source, String> {
    if page_times(page, clock::REALTIME, c0, c1)
        .is_some_and(|times| times.iter().any(|&t| to_timeval(t) == tv))
    {
        Ok(Source::Page)
    } else if tv_key(tv0) <= tv_key(tv) && tv_key(tv) <= tv_key(tv1) {
        Ok(Source::Syscall)
    } else {
        Err(format!(
            "tv {tv:?} is neither the page's REALTIME at counter {c0}..={c1} \
             ({:?}..{:?}) nor between the syscall's {tv0:?} and {tv1:?}",
            page_time(page, clock::REALTIME, c0),
            page_time(page, clock::REALTIME, c1),
        ))
    }
}

/// Where `gettimeofday`'s `tz` came from: the page's or the syscall's (`sys_tz`).
fn tz_source(page: &DataPage, tz: Timezone, sys_tz: Timezone) -> Result<Source, String> {
    if page_tz(page) == Some(tz) {
        Ok(Source::Page)
    } else if tz == sys_tz {
        Ok(Source::Syscall)
    } else {
        Err(format!(
            "tz {tz:?} is neither the page's {:?} nor the syscall's {sys_tz:?}",
            page_tz(page)
        ))
    }
}

/// The table line of one page.
fn case_line(name: &str, tally: &Tally) -> String {
    format!(
        "case {name:<46} | clocks: {} | coarse: {} | gettimeofday: {} | tz: {} | getres: {} | \
         slowest call {} µs{}",
        summary(&tally.clocks),
        summary(&tally.coarse),
        summary(&tally.timeofday),
        summary(&tally.tz),
        summary(&tally.getres),
        tally.slowest.as_micros(),
        if tally.failed { " | FAILED" } else { "" },
    )
}

/// `seq` stuck odd: every time call ended in the syscall, after a bounded
/// spin (Linux's reader would spin forever).
fn check_stuck_odd(report: &mut Report, tally: &Tally) {
    let all_syscall = tally
        .clocks
        .iter()
        .chain(&tally.coarse)
        .chain(&tally.timeofday)
        .all(|(_, s)| *s == Source::Syscall);
    let calls = tally.clocks.len() + tally.coarse.len() + tally.timeofday.len();
    report.check(
        &format!(
            "hostile {SEQ_STUCK_ODD}: all {calls} time calls ended in the syscall, \
             slowest after {} µs (bound {} ms)",
            tally.slowest.as_micros(),
            SPIN_BOUND.as_millis()
        ),
        ensure(
            all_syscall && calls == 9 && tally.slowest < SPIN_BOUND,
            || {
                format!(
                    "{calls} calls, all from the syscall: {all_syscall}, slowest {:?}",
                    tally.slowest
                )
            },
        ),
    );
}
