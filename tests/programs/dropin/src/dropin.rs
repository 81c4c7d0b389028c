//! The checks: two vDSOs, one kernel's time, the same answers.
//!
//! Both images are mapped side by side, each on its own data page, by
//! [`vdso_dropin::pair`] (its docs: the layout, how the functions are found,
//! the clocks published, and why calling into the images is sound).
//!
//! # What "the same" means
//!
//! - **High-resolution clocks** (REALTIME, MONOTONIC, MONOTONIC_RAW,
//!   BOOTTIME, TAI): both images read `CNTVCT_EL0` and compute
//!   `(nsec + delta · mult) >> shift` from the same fields, so reading them
//!   in turn must give non-decreasing times: ours ≤ Linux's ≤ ours, and in
//!   the other rounds Linux's ≤ ours ≤ Linux's. All three lie between the
//!   writer's own time ([`Writer::clock_gettime`], the reader's arithmetic)
//!   at a counter read just before and just after. No tolerance. (Linux
//!   multiplies in 64 bits, which overflows 136 s after a publish at
//!   62.5 MHz; the writers tick every ten rounds.)
//! - **Coarse clocks**: the value of the last tick, equal in both and equal
//!   to the writer's, exactly.
//! - **gettimeofday**: REALTIME truncated to microseconds, ordered and
//!   bracketed the same way; the timezone is the published one.
//! - **clock_getres**: see [`check_getres`] and
//!   [`check_getres_reads_the_page`]. For the high-resolution clocks both
//!   images return `hrtimer_res` from the page: equal, exactly. For the
//!   coarse clocks Linux's image returns a constant compiled into it,
//!   `LOW_RES_NSEC` = `TICK_NSEC` of its kernel configuration (4 ms:
//!   Debian's arm64 kernels have `CONFIG_HZ=250`), while ours returns the
//!   page's `coarse_res`. So the main phase publishes `coarse_res` = 4 ms,
//!   what a kernel with Linux's HZ publishes, and requires both to say 4 ms;
//!   a last phase publishes other resolutions and requires both to follow
//!   `hrtimer_res`, ours to follow `coarse_res`, and Linux's to stay at its
//!   constant.
//! - **Ids neither image serves** (CPU-time clocks, alarm clocks, invalid
//!   ids): both make the syscall; same return value (errno) as the raw
//!   syscall, and for a successful call a time between two raw syscalls.
//! - **A disabled page** (`clock_mode = NONE`): both ask the syscall for
//!   the high-resolution clocks. For the coarse clocks Linux 6.1 does not
//!   look at `clock_mode` (its `do_coarse` only reads `seq` and the base
//!   time) and keeps serving the page; ours asks the syscall. Both are
//!   checked as such.

use std::path::Path;

use loader::{clock, offsets, Config, CounterSource, Timespec, Timeval, Writer};
use vdso_dropin::pair::{Pair, FUNCTIONS, TIMEZONE, TZ_POISON};
use vdso_probe::report::{clock_name, ensure, ns, Report, NS};
use vdso_probe::sys;

/// Linux's `clock_getres` for the coarse clocks: `LOW_RES_NSEC`, compiled in
/// as `TICK_NSEC` = 4 ms for Debian's `CONFIG_HZ=250` (in Linux 6.1's image:
/// `mov x0, #0x900; movk x0, #0x3d, lsl #16` in `__kernel_clock_getres`).
const LINUX_LOW_RES_NSEC: u32 = 4_000_000;

/// The resolutions of the main phase: a Linux kernel's with high-resolution
/// timers and `HZ=250`, so both images answer alike.
const HRTIMER_RES: u32 = 1;
const COARSE_RES: u32 = LINUX_LOW_RES_NSEC;

/// The resolutions of the last phase: what each image reads from the page.
const OTHER_HRTIMER_RES: u32 = 1_000;
const OTHER_COARSE_RES: u32 = 10_000_000;

/// Interleaved reads per clock; the writers tick every [`TICK_EVERY`].
const ROUNDS: usize = 1000;
const TICK_EVERY: usize = 10;

/// Ids neither image serves: CPU-time clocks, alarm clocks, CLOCK_SGI_CYCLE
/// (10, long gone), `MAX_CLOCKS`, and ids Linux rejects.
const NOT_SERVED: [i32; 9] = [-1, 12345, 2, 3, 8, 9, 10, 16, i32::MIN];

const EINVAL: i32 = 22;

fn is_coarse(id: i32) -> bool {
    id == clock::REALTIME_COARSE || id == clock::MONOTONIC_COARSE
}

fn sys_time(id: i32) -> (i32, Timespec) {
    let mut ts = Timespec::default();
    let ret = sys::clock_gettime(id, &mut ts);
    (ret, ts)
}

fn sys_res(id: i32) -> (i32, Timespec) {
    let mut ts = Timespec::default();
    let ret = sys::clock_getres(id, &mut ts);
    (ret, ts)
}

/// A timeval in ns.
fn tv_ns(tv: Timeval) -> i128 {
    i128::from(tv.tv_sec) * NS + i128::from(tv.tv_usec) * 1000
}

/// Both images find their data page and functions; ours at the offsets the
/// loader publishes; both pages hold the same bytes.
fn check_setup(report: &mut Report, pair: &Pair) {
    for vdso in pair.both() {
        report.note(&format!(
            "image ({}) at {:#x}, data page at {:#x}: {}",
            vdso.name,
            vdso.layout.image,
            vdso.layout.data_page,
            FUNCTIONS
                .iter()
                .zip(vdso.addresses)
                .map(|(f, a)| format!("{f} +{:#x}", a - vdso.layout.image))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let ours = &pair.ours;
    let want = [
        offsets::KERNEL_CLOCK_GETTIME,
        offsets::KERNEL_GETTIMEOFDAY,
        offsets::KERNEL_CLOCK_GETRES,
    ]
    .map(|offset| ours.layout.image + offset);
    report.check(
        "parse_vdso finds our three functions at loader::offsets",
        ensure(ours.addresses == want, || {
            format!("found {:x?}, offsets say {want:x?}", ours.addresses)
        }),
    );
    let (a, b) = (ours.page_bytes(), pair.linux.page_bytes());
    let modes = pair.both().map(|v| {
        v.page.data[loader::CS_HRES_COARSE]
            .clock_mode
            .load(std::sync::atomic::Ordering::Relaxed)
    });
    report.check(
        "both data pages are byte-identical and say VDSO_CLOCKMODE_ARCHTIMER",
        ensure(a == b, || {
            let first = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
            format!("they first differ at byte {first:#x}")
        })
        .and_then(|()| {
            ensure(modes == [loader::CLOCKMODE_ARCHTIMER; 2], || {
                format!("clock_mode {modes:?}")
            })
        }),
    );
}

/// Every served clock, read through both images in turn, across ticks.
fn check_gettime(report: &mut Report, pair: &mut Pair) {
    for id in clock::SERVED {
        let coarse = is_coarse(id);
        let mut result = Ok(());
        let mut widest = 0;
        for round in 0..ROUNDS {
            if round % TICK_EVERY == 0 {
                pair.tick();
            }
            let (outer, inner) = if round % 2 == 0 {
                (&pair.ours, &pair.linux)
            } else {
                (&pair.linux, &pair.ours)
            };
            let c0 = pair.counter();
            let a = outer.clock_gettime(id);
            let b = inner.clock_gettime(id);
            let c = outer.clock_gettime(id);
            let c1 = pair.counter();
            let reads = [(outer.name, a), (inner.name, b), (outer.name, c)];
            if let Some((name, (ret, _))) = reads.iter().find(|(_, (ret, _))| *ret != 0) {
                result = Err(format!("round {round}: {name} image returned {ret}"));
                break;
            }
            let (lo, hi) = match (pair.expected(id, c0), pair.expected(id, c1)) {
                (Ok(lo), Ok(hi)) => (lo, hi),
                (Err(e), _) | (_, Err(e)) => {
                    result = Err(e);
                    break;
                }
            };
            let [a, b, c] = [a.1, b.1, c.1].map(ns);
            let ok = if coarse {
                a == lo && b == lo && c == lo && hi == lo
            } else {
                lo <= a && a <= b && b <= c && c <= hi
            };
            if !ok {
                let (o, i) = (outer.name, inner.name);
                result = Err(format!(
                    "round {round}: {o} {a}, {i} {b}, {o} {c} ns; \
                     the writer's time at the counter before and after: {lo}, {hi} ns"
                ));
                break;
            }
            widest = widest.max(hi - lo);
        }
        let name = clock_name(id);
        if !coarse {
            report.note(&format!(
                "clock_gettime({name}): widest writer bracket {widest} ns"
            ));
        }
        let claim = if coarse {
            "ours = Linux's = the page's tick value"
        } else {
            "ours <= Linux's <= ours and Linux's <= ours <= Linux's, \
             within the writer's time at the counter around them"
        };
        let ticks = ROUNDS / TICK_EVERY;
        report.check(
            &format!("clock_gettime({name}): {claim} ({ROUNDS} rounds, {ticks} ticks)"),
            result,
        );
    }
}

/// `gettimeofday` through both images in turn: REALTIME in microseconds,
/// the published timezone; and with null pointers.
fn check_gettimeofday(report: &mut Report, pair: &mut Pair) {
    let mut result = Ok(());
    for round in 0..ROUNDS {
        if round % TICK_EVERY == 0 {
            pair.tick();
        }
        let (outer, inner) = if round % 2 == 0 {
            (&pair.ours, &pair.linux)
        } else {
            (&pair.linux, &pair.ours)
        };
        let c0 = pair.counter();
        let a = outer.gettimeofday();
        let b = inner.gettimeofday();
        let c = outer.gettimeofday();
        let c1 = pair.counter();
        let reads = [(outer.name, a), (inner.name, b), (outer.name, c)];
        if let Some((name, (ret, tv, tz))) = reads.iter().find(|(_, (ret, tv, tz))| {
            *ret != 0 || !(0..1_000_000).contains(&tv.tv_usec) || *tz != TIMEZONE
        }) {
            result = Err(format!(
                "round {round}: {name} image returned {ret}, {tv:?}, {tz:?} (published {TIMEZONE:?})"
            ));
            break;
        }
        let (lo, hi) = match (
            pair.expected(clock::REALTIME, c0),
            pair.expected(clock::REALTIME, c1),
        ) {
            (Ok(lo), Ok(hi)) => (lo / 1000 * 1000, hi / 1000 * 1000),
            (Err(e), _) | (_, Err(e)) => {
                result = Err(e);
                break;
            }
        };
        let [a, b, c] = [a.1, b.1, c.1].map(tv_ns);
        if !(lo <= a && a <= b && b <= c && c <= hi) {
            let (o, i) = (outer.name, inner.name);
            result = Err(format!(
                "round {round}: {o} {a}, {i} {b}, {o} {c} ns; \
                 the writer's REALTIME in whole µs before and after: {lo}, {hi} ns"
            ));
            break;
        }
    }
    report.check(
        &format!(
            "gettimeofday(tv, tz): ours <= Linux's <= ours and back, within the writer's \
             REALTIME, the published timezone ({ROUNDS} rounds)"
        ),
        result,
    );
    let nulls = [(false, true), (true, false), (false, false)].map(|(tv, tz)| {
        let [ours, linux] = pair.both().map(|v| {
            let (ret, _, zone) = v.gettimeofday_nulls(tv, tz);
            (ret, zone)
        });
        (tv, tz, ours, linux)
    });
    report.check(
        "gettimeofday(NULL, tz), (tv, NULL), (NULL, NULL): both return 0, tz the published one",
        nulls
            .iter()
            .try_for_each(|&(want_tv, want_tz, ours, linux)| {
                let want_zone = if want_tz { TIMEZONE } else { TZ_POISON };
                ensure(ours == (0, want_zone) && linux == (0, want_zone), || {
                    format!("tv {want_tv}, tz {want_tz}: ours {ours:?}, Linux's {linux:?}")
                })
            }),
    );
}

/// `clock_getres` for every served clock with the resolutions of a Linux
/// kernel with `HZ=250` published: both images say the same, exactly.
fn check_getres(report: &mut Report, pair: &Pair) {
    for id in clock::SERVED {
        let res = if is_coarse(id) {
            COARSE_RES
        } else {
            HRTIMER_RES
        };
        let want = (
            0,
            Timespec {
                tv_sec: 0,
                tv_nsec: i64::from(res),
            },
        );
        let [ours, linux] = pair.both().map(|v| v.clock_getres(id));
        let [ours_null, linux_null] = pair.both().map(|v| v.clock_getres_null(id));
        let source = if is_coarse(id) {
            "ours: the page's coarse_res; Linux's: its LOW_RES_NSEC"
        } else {
            "both: the page's hrtimer_res"
        };
        report.check(
            &format!(
                "clock_getres({}): ours = Linux's = {res} ns ({source}); with NULL both return 0",
                clock_name(id)
            ),
            ensure(ours == want && linux == want, || {
                format!("ours {ours:?}, Linux's {linux:?}, want {want:?}")
            })
            .and_then(|()| {
                ensure(ours_null == 0 && linux_null == 0, || {
                    format!("with NULL: ours {ours_null}, Linux's {linux_null}")
                })
            }),
        );
    }
}

/// Ids neither image serves reach the syscall in both and get its answer.
fn check_not_served(report: &mut Report, pair: &Pair) {
    for id in NOT_SERVED {
        let (want0, t0) = sys_time(id);
        let [(ours, ours_t), (linux, linux_t)] = pair.both().map(|v| v.clock_gettime(id));
        let (want1, t1) = sys_time(id);
        let (want_res, res) = sys_res(id);
        let [ours_res, linux_res] = pair.both().map(|v| v.clock_getres(id));
        let result = ensure(
            [ours, linux, want1] == [want0; 3] && ours_res.0 == want_res && linux_res.0 == want_res,
            || {
                format!(
                    "clock_gettime: ours {ours}, Linux's {linux}, syscall {want0}/{want1}; \
                     clock_getres: ours {}, Linux's {}, syscall {want_res}",
                    ours_res.0, linux_res.0
                )
            },
        )
        .and_then(|()| {
            // A successful call (CPU-time and alarm clocks): a time between
            // the two syscalls, and the syscall's resolution.
            ensure(
                want0 != 0
                    || (ns(t0) <= ns(ours_t) && ns(ours_t) <= ns(linux_t) && ns(linux_t) <= ns(t1)),
                || format!("times {t0:?} <= ours {ours_t:?} <= Linux's {linux_t:?} <= {t1:?}"),
            )
        })
        .and_then(|()| {
            ensure(
                want_res != 0 || (ours_res.1 == res && linux_res.1 == res),
                || format!("resolutions ours {ours_res:?}, Linux's {linux_res:?}, syscall {res:?}"),
            )
        })
        .and_then(|()| {
            ensure(id != -1 || want0 == -EINVAL, || {
                format!("the syscall says {want0} for clock -1, not -EINVAL")
            })
        });
        report.check(
            &format!(
                "{} (not served): clock_gettime and clock_getres return what the syscall does \
                 in both ({want0}, {want_res})",
                clock_name(id)
            ),
            result,
        );
    }
}

/// With `clock_mode = NONE` both images ask the syscall for the
/// high-resolution clocks; for the coarse clocks ours asks the syscall and
/// Linux 6.1's still reads the page.
fn check_disabled(report: &mut Report, pair: &mut Pair) {
    pair.set_enabled(false);
    for id in clock::SERVED {
        let (_, t0) = sys_time(id);
        let [(ours, ours_t), (linux, linux_t)] = pair.both().map(|v| v.clock_gettime(id));
        let (_, t1) = sys_time(id);
        let in_bracket = |t: Timespec| ns(t0) <= ns(t) && ns(t) <= ns(t1);
        let name = clock_name(id);
        let rets = ensure(ours == 0 && linux == 0, || {
            format!("ours returned {ours}, Linux's {linux}")
        });
        if is_coarse(id) {
            let page = pair.expected(id, 0);
            report.check(
                &format!(
                    "disabled: clock_gettime({name}): ours asks the syscall, Linux's still \
                     reads the page (Linux 6.1's do_coarse ignores clock_mode)"
                ),
                rets.and(page).and_then(|page| {
                    ensure(in_bracket(ours_t) && ns(linux_t) == page, || {
                        format!(
                            "ours {ours_t:?} (syscall {t0:?}..{t1:?}), Linux's {linux_t:?} \
                             (page {page} ns)"
                        )
                    })
                }),
            );
        } else {
            report.check(
                &format!("disabled: clock_gettime({name}): both ask the syscall"),
                rets.and_then(|()| {
                    ensure(
                        in_bracket(ours_t) && in_bracket(linux_t) && ns(ours_t) <= ns(linux_t),
                        || format!("ours {ours_t:?}, Linux's {linux_t:?}, syscall {t0:?}..{t1:?}"),
                    )
                }),
            );
        }
    }
    pair.set_enabled(true);
}

/// New writers publish other resolutions: both images take `hrtimer_res`
/// from the page; ours takes `coarse_res` from the page, Linux's keeps its
/// compiled-in `LOW_RES_NSEC`.
fn check_getres_reads_the_page(report: &mut Report, pair: &mut Pair) {
    let config = Config {
        hrtimer_res: OTHER_HRTIMER_RES,
        coarse_res: OTHER_COARSE_RES,
        ..Config::new(CounterSource::Virtual, pair.frequency)
    };
    for vdso in pair.both_mut() {
        match Writer::new(vdso.page, config) {
            Ok(writer) => vdso.writer = writer,
            Err(e) => {
                report.check("new writers with other resolutions", Err(e.to_string()));
                return;
            }
        }
    }
    let clocks = pair.clocks();
    pair.publish(clocks);
    for id in clock::SERVED {
        let [ours, linux] = pair.both().map(|v| v.clock_getres(id));
        let ts = |ns: u32| {
            (
                0,
                Timespec {
                    tv_sec: 0,
                    tv_nsec: i64::from(ns),
                },
            )
        };
        let name = clock_name(id);
        let (claim, want_ours, want_linux) = if is_coarse(id) {
            (
                format!(
                    "ours {OTHER_COARSE_RES} ns (the page's coarse_res), \
                     Linux's {LINUX_LOW_RES_NSEC} ns (its LOW_RES_NSEC)"
                ),
                OTHER_COARSE_RES,
                LINUX_LOW_RES_NSEC,
            )
        } else {
            (
                format!("both {OTHER_HRTIMER_RES} ns (the page's hrtimer_res)"),
                OTHER_HRTIMER_RES,
                OTHER_HRTIMER_RES,
            )
        };
        report.check(
            &format!("clock_getres({name}) with other resolutions published: {claim}"),
            ensure(ours == ts(want_ours) && linux == ts(want_linux), || {
                format!("ours {ours:?}, Linux's {linux:?}")
            }),
        );
    }
}

/// Runs every check against Linux's image at `linux_path`; returns the exit
/// status.
pub fn run(linux_path: &Path) -> i32 {
    let mut report = Report::default();
    let linux_image = match std::fs::read(linux_path) {
        Ok(bytes) => bytes,
        Err(e) => {
            report.check(
                "read Linux's vDSO",
                Err(format!("{}: {e}", linux_path.display())),
            );
            return report.finish();
        }
    };
    let frequency = loader::arch::frequency();
    let config = Config {
        hrtimer_res: HRTIMER_RES,
        coarse_res: COARSE_RES,
        ..Config::new(CounterSource::Virtual, frequency)
    };
    let mut pair = match Pair::map(&linux_image, config) {
        Ok(pair) => pair,
        Err(e) => {
            report.check(
                "map both images, each with its data page, and find their functions",
                Err(e),
            );
            return report.finish();
        }
    };
    report.check(
        &format!(
            "map both images ({} bytes: {}), each with its data page, and find their functions \
             with parse_vdso",
            linux_image.len(),
            linux_path.display()
        ),
        Ok(()),
    );
    let clocks = pair.clocks();
    pair.publish(clocks);
    let scale = pair.writer().scale();
    report.note(&format!(
        "counter {frequency} Hz, mult {} shift {}; published {clocks:?}",
        scale.mult, scale.shift
    ));
    check_setup(&mut report, &pair);
    check_gettime(&mut report, &mut pair);
    check_gettimeofday(&mut report, &mut pair);
    check_getres(&mut report, &pair);
    check_not_served(&mut report, &pair);
    check_disabled(&mut report, &mut pair);
    check_getres_reads_the_page(&mut report, &mut pair);
    report.finish()
}
