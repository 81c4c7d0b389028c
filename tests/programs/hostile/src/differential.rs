//! Part 1, the differential bad-argument test: with the host's real clocks
//! published, our image returns exactly what the syscall returns.
//!
//! - `clock_gettime(id, &ts)` for every id in `-64..=64`, `i32::MIN` and
//!   `i32::MAX`: the return value equals that of two raw syscalls taken
//!   just before and just after. On success the time lies between the two
//!   syscalls' times: exactly for the ids the page does not serve (their
//!   answer *is* a syscall; CPU-time clocks of this process and of others
//!   are among the negative ids), and widened by the measured publication
//!   error for the served ones (see `host.rs`). A coarse clock is the
//!   high-resolution clock sampled at a tick: ours at the publication just
//!   before the check, the host's at its last timer tick, up to one coarse
//!   resolution ago or more when the host's tick runs late; the lag
//!   measured next to each syscall (high-resolution minus coarse) bounds
//!   that, so a coarse clock may differ by the larger of resolution and
//!   lag, plus the publication error.
//! - `clock_gettime(id, NULL)`: the syscall's return (`-EFAULT` for valid
//!   ids, `-EINVAL` for invalid ones).
//! - `clock_getres(id, &res)` and `clock_getres(id, NULL)`: the syscall's
//!   return and, on success, its resolution (the page carries the host's
//!   resolutions, as a kernel that answers both must).
//! - `gettimeofday` with both pointers, NULL tz, NULL tv and NULL/NULL: the
//!   syscall's return, the time in its bracket, the host's timezone.

use std::ptr::null_mut;

use loader::{clock, Timeval};
use vdso_probe::report::{clock_name, ensure, ns, Report, NS};
use vdso_probe::sys;

use crate::host::{key, sys_ns, sys_res, sys_time, sys_timeofday, Host};

/// `EFAULT`.
pub const EFAULT: i32 = 14;
/// `EINVAL`.
pub const EINVAL: i32 = 22;

/// Every clock id the test tries.
pub fn ids() -> impl Iterator<Item = i32> {
    (-64..=64).chain([i32::MIN, i32::MAX])
}

/// A return value with its errno's name, for the check names.
pub fn ret_name(ret: i32) -> String {
    let name = match -ret {
        0 => return "0".to_string(),
        1 => "EPERM",
        3 => "ESRCH",
        EFAULT => "EFAULT",
        EINVAL => "EINVAL",
        95 => "EOPNOTSUPP",
        _ => return ret.to_string(),
    };
    format!("-{name}")
}

/// The served high-resolution clock a coarse clock samples, or the clock
/// itself.
fn reference(id: i32) -> i32 {
    match id {
        clock::REALTIME_COARSE => clock::REALTIME,
        clock::MONOTONIC_COARSE => clock::MONOTONIC,
        _ => id,
    }
}

/// Runs part 1.
pub fn run(host: &mut Host, report: &mut Report) {
    // Publish once, so even the first unserved id meets a live page.
    host.publish_for(clock::REALTIME);
    let (mut widest_hres, mut widest_coarse) = (0, 0);
    for id in ids() {
        let tolerance = check_gettime(host, report, id);
        if matches!(id, clock::REALTIME_COARSE | clock::MONOTONIC_COARSE) {
            widest_coarse = tolerance.max(widest_coarse);
        } else {
            widest_hres = tolerance.max(widest_hres);
        }
        check_gettime_null(host, report, id);
        check_getres(host, report, id);
    }
    report.note(&format!(
        "differential: widest tolerance {widest_hres} ns for a high-resolution clock, \
         {widest_coarse} ns for a coarse one"
    ));
    check_gettimeofday(host, report);
}

/// `clock_gettime(id, &ts)`; returns the tolerance it used.
fn check_gettime(host: &mut Host, report: &mut Report, id: i32) -> i128 {
    let served = clock::SERVED.contains(&id);
    let coarse = matches!(id, clock::REALTIME_COARSE | clock::MONOTONIC_COARSE);
    let publication = if served {
        host.publish_for(reference(id))
    } else {
        0
    };
    let before = sys_time(id);
    let lag_before = sys_ns(reference(id)) - ns(before.1);
    let (ret, got) = host.vdso.clock_gettime(id);
    let after = sys_time(id);
    let lag_after = sys_ns(reference(id)) - ns(after.1);
    let tolerance = if !served {
        0
    } else if coarse {
        i128::from(host.config.coarse_res)
            .max(lag_before)
            .max(lag_after)
            + publication
            + 1
    } else {
        publication + host.quantum_ns + 1
    };
    let name = clock_name(id);
    let verdict = ensure(ret == before.0 && ret == after.0, || {
        format!(
            "returned {}, the syscall {} before and {} after",
            ret_name(ret),
            ret_name(before.0),
            ret_name(after.0)
        )
    })
    .and_then(|()| {
        let v = ns(got);
        let (lo, hi) = (ns(before.1), ns(after.1));
        let inside = if served {
            lo - tolerance <= v && v <= hi + tolerance
        } else {
            key(before.1) <= key(got) && key(got) <= key(after.1)
        };
        ensure(ret != 0 || inside, || {
            format!(
                "{got:?} not in [{:?}, {:?}] ± {tolerance} ns (off by {} ns)",
                before.1,
                after.1,
                if v < lo { v - lo } else { v - hi }
            )
        })
    });
    let what = match (before.0, served) {
        (0, true) => format!("0, time within the syscall bracket ± {tolerance} ns"),
        (0, false) => "0, time within the syscall bracket".to_string(),
        (err, _) => ret_name(err),
    };
    report.check(
        &format!("clock_gettime({name}, &ts) -> {what}, as the syscall"),
        verdict,
    );
    if served {
        tolerance
    } else {
        0
    }
}

/// `clock_gettime(id, NULL)`.
fn check_gettime_null(host: &Host, report: &mut Report, id: i32) {
    let want = sys::clock_gettime(id, null_mut());
    let got = host.gettime_null(id);
    let served = clock::SERVED.contains(&id);
    report.check(
        &format!(
            "clock_gettime({}, NULL) -> {}, as the syscall",
            clock_name(id),
            ret_name(want)
        ),
        ensure(got == want, || {
            format!("returned {}, the syscall {}", ret_name(got), ret_name(want))
        })
        .and_then(|()| {
            // The reference itself: a served id is valid, so only the
            // pointer is wrong.
            ensure(!served || want == -EFAULT, || {
                format!("the syscall said {} for a served id", ret_name(want))
            })
        }),
    );
}

/// `clock_getres(id, &res)` and `clock_getres(id, NULL)`.
fn check_getres(host: &Host, report: &mut Report, id: i32) {
    let name = clock_name(id);
    let want = sys_res(id);
    let got = host.vdso.clock_getres(id);
    // On failure neither writes `res`, so the resolution is compared only
    // on success.
    let same = got.0 == want.0 && (got.0 != 0 || got.1 == want.1);
    let what = match want {
        (0, res) => format!("0, {} ns", ns(res)),
        (err, _) => ret_name(err),
    };
    report.check(
        &format!("clock_getres({name}, &res) -> {what}, as the syscall"),
        ensure(same, || format!("got {got:?}, the syscall {want:?}")),
    );
    let want = sys::clock_getres(id, null_mut());
    let got = host.vdso.clock_getres_null(id);
    report.check(
        &format!(
            "clock_getres({name}, NULL) -> {}, as the syscall",
            ret_name(want)
        ),
        ensure(got == want, || {
            format!("returned {}, the syscall {}", ret_name(got), ret_name(want))
        }),
    );
}

/// A timeval in ns.
pub fn us_ns(t: Timeval) -> i128 {
    i128::from(t.tv_sec) * NS + i128::from(t.tv_usec) * 1000
}

/// `gettimeofday` with every combination of NULL pointers.
fn check_gettimeofday(host: &mut Host, report: &mut Report) {
    for (want_tv, want_tz) in [(true, true), (false, true), (true, false), (false, false)] {
        let publication = host.publish_for(clock::REALTIME);
        let tolerance = publication + host.quantum_ns + 1;
        let mut sys_tv = Timeval::default();
        let mut sys_tz = loader::Timezone::default();
        let want = sys::gettimeofday(
            if want_tv { &mut sys_tv } else { null_mut() },
            if want_tz { &mut sys_tz } else { null_mut() },
        );
        let (_, tv0, _) = sys_timeofday();
        let (ret, tv, tz) = host.timeofday(want_tv, want_tz);
        let (_, tv1, _) = sys_timeofday();
        // A timeval truncates to the microsecond: the exact times lie in
        // [us, us + 999] ns.
        let (lo, hi, v) = (us_ns(tv0), us_ns(tv1) + 999, us_ns(tv));
        let verdict = ensure(ret == want, || {
            format!("returned {}, the syscall {}", ret_name(ret), ret_name(want))
        })
        .and_then(|()| {
            ensure(
                !want_tv || (v + 999 >= lo - tolerance && v <= hi + tolerance),
                || format!("{tv:?} not in [{tv0:?}, {tv1:?}] ± {tolerance} ns"),
            )
        })
        .and_then(|()| {
            ensure(!want_tv || (0..1_000_000).contains(&tv.tv_usec), || {
                format!("tv_usec {}", tv.tv_usec)
            })
        })
        .and_then(|()| {
            ensure(!want_tz || tz == sys_tz, || {
                format!("tz {tz:?}, the syscall's {sys_tz:?}")
            })
        });
        let arg = |want: bool, name: &str| {
            if want {
                name.to_string()
            } else {
                "NULL".into()
            }
        };
        report.check(
            &format!(
                "gettimeofday({}, {}) -> {}, as the syscall{}{}",
                arg(want_tv, "&tv"),
                arg(want_tz, "&tz"),
                ret_name(want),
                if want_tv {
                    format!(", time within its bracket ± {tolerance} ns")
                } else {
                    String::new()
                },
                if want_tz { ", the syscall's tz" } else { "" },
            ),
            verdict,
        );
    }
}
