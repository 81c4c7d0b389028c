//! `vdso-rust-client`: reads the clocks the way Rust programs do, built as a
//! static aarch64 binary by `tests/tests/e2e.rs` and run under `qemu-aarch64`,
//! through our exec harness (`vdso-exec`, which gives it our vDSO) or
//! directly (no vDSO: every call is a syscall).
//!
//! Two vDSO users live in this one binary:
//! - rustix's `linux_raw` backend, which parses the image at
//!   `AT_SYSINFO_EHDR` itself and calls `__kernel_clock_gettime` for
//!   `rustix::time::clock_gettime{,_dynamic}` (its `clock_getres` is always a
//!   syscall, so it is not used here). rustix does not read the aux vector
//!   from the initial stack but from `prctl(PR_GET_AUXV)` (which qemu 7.2
//!   refuses with EINVAL) and then `/proc/self/auxv` (which qemu serves from
//!   the guest memory where it put the *harness's* vector): an exec harness
//!   must make that memory say what the client's stack says, as an exec
//!   does;
//! - `std::time::{SystemTime, Instant}`, which call the static glibc's
//!   `clock_gettime`, which calls the vDSO glibc found; the invalid ids and
//!   `clock_getres` go through that same glibc (declared below).
//!
//! ```text
//! vdso-rust-client show      every call once, one line each
//! vdso-rust-client compare   every vDSO-served call between two raw
//!                            syscalls; exit 1 on a failure
//! ```
//!
//! Output: the records of `tests/clients/c/clocks.c` (parsed by
//! `tests/src/e2e/mod.rs`) with `api=rustix`, `rustix-dynamic`, `libc`,
//! `std-systemtime`, plus
//! `monotonic api=std-instant threads=T calls=N backwards=B`.
//!
//! It builds and runs on an x86_64 host too (rustix's `linux_raw` backend and
//! glibc exist there), which keeps it in `cargo build --workspace`.
//!
//! # Safety
//!
//! The only unsafe code calls glibc's `clock_gettime`, `clock_getres` and
//! `syscall` with pointers to local, correctly laid out `Timespec`s.

use std::ffi::{c_int, c_long};
use std::io;
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rustix::time::{clock_gettime, clock_gettime_dynamic, ClockId, DynamicClockId};

/// `struct timespec` of a 64-bit Linux target (`long` is 64 bits).
#[repr(C)]
#[derive(Clone, Copy)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// Never a kernel answer: shows a field the call did not write.
const POISON: Timespec = Timespec {
    tv_sec: -1,
    tv_nsec: -1,
};

/// glibc (static): the first two call the vDSO glibc found at start-up,
/// `syscall` never does.
mod glibc {
    use super::Timespec;
    use std::ffi::{c_int, c_long};

    extern "C" {
        pub fn clock_gettime(id: c_int, tp: *mut Timespec) -> c_int;
        pub fn clock_getres(id: c_int, tp: *mut Timespec) -> c_int;
        pub fn syscall(number: c_long, ...) -> c_long;
    }
}

#[cfg(target_arch = "aarch64")]
mod nr {
    pub const CLOCK_GETTIME: std::ffi::c_long = 113;
    pub const CLOCK_GETRES: std::ffi::c_long = 114;
}
#[cfg(target_arch = "x86_64")]
mod nr {
    pub const CLOCK_GETTIME: std::ffi::c_long = 228;
    pub const CLOCK_GETRES: std::ffi::c_long = 229;
}

const REALTIME: c_int = 0;
const MONOTONIC: c_int = 1;
const PROCESS_CPUTIME: c_int = 2;
const MONOTONIC_RAW: c_int = 4;
const REALTIME_COARSE: c_int = 5;
const MONOTONIC_COARSE: c_int = 6;

/// The clocks the vDSO serves, as rustix names them, with their ids.
const SERVED: [(ClockId, c_int); 7] = [
    (ClockId::Realtime, REALTIME),
    (ClockId::Monotonic, MONOTONIC),
    (ClockId::MonotonicRaw, MONOTONIC_RAW),
    (ClockId::RealtimeCoarse, REALTIME_COARSE),
    (ClockId::MonotonicCoarse, MONOTONIC_COARSE),
    (ClockId::Boottime, 7),
    (ClockId::Tai, 11),
];

/// Ids the vDSO must hand to the kernel, through glibc.
const UNSERVED: [c_int; 3] = [PROCESS_CPUTIME, 12345, -1];

/// `(ret, errno, time)` of a libc-style call: `ret` 0 or -1.
type Answer = (c_int, i32, Timespec);

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn answer(ret: c_int, t: Timespec) -> Answer {
    (ret, if ret == 0 { 0 } else { errno() }, t)
}

fn libc_gettime(id: c_int) -> Answer {
    let mut t = POISON;
    // SAFETY: `t` is a valid, writable `struct timespec`.
    let ret = unsafe { glibc::clock_gettime(id, &mut t) };
    answer(ret, t)
}

fn libc_getres(id: c_int) -> Answer {
    let mut t = POISON;
    // SAFETY: `t` is a valid, writable `struct timespec`.
    let ret = unsafe { glibc::clock_getres(id, &mut t) };
    answer(ret, t)
}

fn raw(number: c_long, id: c_int) -> Answer {
    let mut t = POISON;
    // SAFETY: both syscalls take a clock id and a pointer to a writable
    // `struct timespec`, which `t` is.
    let ret = unsafe { glibc::syscall(number, c_long::from(id), &mut t as *mut Timespec) };
    answer(if ret == 0 { 0 } else { -1 }, t)
}

fn raw_ns(id: c_int) -> i64 {
    let (ret, err, t) = raw(nr::CLOCK_GETTIME, id);
    assert_eq!(ret, 0, "clock_gettime({id}) syscall failed: errno {err}");
    ns(t)
}

fn ns(t: Timespec) -> i64 {
    t.tv_sec * 1_000_000_000 + t.tv_nsec
}

fn rustix_ns(id: ClockId) -> i64 {
    let t = clock_gettime(id);
    t.tv_sec * 1_000_000_000 + t.tv_nsec
}

fn print_answer(record: &str, api: &str, id: c_int, (ret, err, t): Answer) {
    print!("{record} api={api} clock={id} ret={ret} errno={err}");
    if ret == 0 {
        print!(" sec={} nsec={}", t.tv_sec, t.tv_nsec);
    }
    println!();
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time (proleptic Gregorian, UTC).
fn iso(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// `Instant::now()` on several threads at once: counts readings that went
/// backwards against the thread's own previous one or against the largest
/// reading any thread had published before this one started.
fn monotonic() {
    const THREADS: u64 = 4;
    const CALLS: u64 = 5000;
    let start = Instant::now();
    let latest = AtomicU64::new(0);
    let backwards = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                let mut own = 0;
                for _ in 0..CALLS {
                    let published = latest.load(Ordering::SeqCst);
                    let now = Instant::now().duration_since(start).as_nanos() as u64;
                    if now < own || now < published {
                        backwards.fetch_add(1, Ordering::Relaxed);
                    }
                    own = now;
                    latest.fetch_max(now, Ordering::SeqCst);
                }
            });
        }
    });
    println!(
        "monotonic api=std-instant threads={THREADS} calls={} backwards={}",
        THREADS * CALLS,
        backwards.load(Ordering::Relaxed)
    );
}

/// A clock id glibc and the kernel reject, built the way rustix builds a
/// dynamic (fd) clock id: from stdin, which is no clock device.
fn dynamic_id_of_stdin() -> c_int {
    (!0 << 3) | 3
}

fn show() -> ExitCode {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    let secs = now.as_secs() as i64;
    println!(
        "wall api=std-systemtime iso={}.{:09}Z sec={secs} nsec={}",
        iso(secs),
        now.subsec_nanos(),
        now.subsec_nanos()
    );
    for (clock, id) in SERVED {
        let t = clock_gettime(clock);
        println!(
            "gettime api=rustix clock={id} ret=0 errno=0 sec={} nsec={}",
            t.tv_sec, t.tv_nsec
        );
    }
    let t = clock_gettime(ClockId::ProcessCPUTime);
    println!(
        "gettime api=rustix clock={PROCESS_CPUTIME} ret=0 errno=0 sec={} nsec={}",
        t.tv_sec, t.tv_nsec
    );
    let stdin = io::stdin();
    match clock_gettime_dynamic(DynamicClockId::Dynamic(stdin.as_fd())) {
        Ok(t) => println!(
            "gettime api=rustix-dynamic clock={} ret=0 errno=0 sec={} nsec={}",
            dynamic_id_of_stdin(),
            t.tv_sec,
            t.tv_nsec
        ),
        Err(e) => println!(
            "gettime api=rustix-dynamic clock={} ret=-1 errno={}",
            dynamic_id_of_stdin(),
            e.raw_os_error()
        ),
    }
    for id in UNSERVED {
        print_answer("gettime", "libc", id, libc_gettime(id));
    }
    for (_, id) in SERVED {
        print_answer("getres", "libc", id, libc_getres(id));
    }
    for id in UNSERVED {
        print_answer("getres", "libc", id, libc_getres(id));
    }
    monotonic();
    println!("done mode=show failures=0");
    ExitCode::SUCCESS
}

/// Tolerances of `compare`: those of `tests/clients/c/clocks.c`, which
/// explains them (1 µs counter steps plus the harness's publication for
/// high-resolution clocks; NTP's 500 ppm for MONOTONIC_RAW; two coarse
/// resolutions plus a scheduling allowance for coarse clocks, and retries
/// after a nap when the harness's ticker thread has not had a CPU).
const HRES_SLACK_NS: i64 = 20_000;
const MAXFREQ_PPM: i64 = 500;
const START_ALLOWANCE_NS: i64 = 2_000_000_000;
const COARSE_SCHED_NS: i64 = 20_000_000;
const COARSE_RETRIES: u32 = 50;
const ROUNDS: usize = 300;

struct Compare {
    raw_start: i64,
    failures: usize,
}

impl Compare {
    fn verdict(&mut self, line: String, ok: bool) {
        println!("{line} ok={}", u8::from(ok));
        if !ok {
            self.failures += 1;
        }
    }

    fn slack(&self, id: c_int) -> i64 {
        match id {
            REALTIME_COARSE | MONOTONIC_COARSE => {
                let (_, _, res) = raw(nr::CLOCK_GETRES, id);
                2 * ns(res) + COARSE_SCHED_NS
            }
            MONOTONIC_RAW => {
                let elapsed = raw_ns(MONOTONIC_RAW) - self.raw_start + START_ALLOWANCE_NS;
                HRES_SLACK_NS + elapsed / 1_000_000 * MAXFREQ_PPM
            }
            _ => HRES_SLACK_NS,
        }
    }

    /// `read` (a vDSO clock) between two raw syscalls of `id`.
    fn bracket(&mut self, call: &str, id: c_int, mut read: impl FnMut() -> i64) {
        let (mut bad, mut worst_early, mut worst_late) = (0, i64::MIN, i64::MIN);
        let mut first = String::new();
        let (mut slack, mut retries, mut round) = (0, 0, 0);
        let coarse = matches!(id, REALTIME_COARSE | MONOTONIC_COARSE);
        while round < ROUNDS {
            slack = self.slack(id);
            let b = raw_ns(id);
            let v = read();
            let a = raw_ns(id);
            if coarse && b - v > slack && retries < COARSE_RETRIES {
                // The ticker has not run: let it, then redo the round.
                let (_, _, res) = raw(nr::CLOCK_GETRES, id);
                std::thread::sleep(std::time::Duration::from_nanos(2 * ns(res) as u64));
                retries += 1;
                continue;
            }
            round += 1;
            worst_early = worst_early.max(b - v);
            worst_late = worst_late.max(v - a);
            if b - v > slack || v - a > slack {
                if bad == 0 {
                    first = format!(" first_bad={b}<={v}<={a}");
                }
                bad += 1;
            }
        }
        self.verdict(
            format!(
                "compare call={call} clock={id} rounds={ROUNDS} failures={bad} \
                 max_early_ns={worst_early} max_late_ns={worst_late} slack_ns={slack} \
                 retries={retries}{first}"
            ),
            bad == 0,
        );
    }

    /// `Instant` is opaque: its elapsed time must lie within the raw
    /// MONOTONIC elapsed times of an outer and an inner bracket.
    fn instant(&mut self) {
        let outer_start = raw_ns(MONOTONIC);
        let start = Instant::now();
        let inner_start = raw_ns(MONOTONIC);
        let mut bad = 0;
        for _ in 0..ROUNDS {
            let inner_end = raw_ns(MONOTONIC);
            let elapsed = start.elapsed().as_nanos() as i64;
            let outer_end = raw_ns(MONOTONIC);
            let (lo, hi) = (inner_end - inner_start, outer_end - outer_start);
            if elapsed < lo - 2 * HRES_SLACK_NS || elapsed > hi + 2 * HRES_SLACK_NS {
                bad += 1;
            }
        }
        self.verdict(
            format!(
                "compare call=std-instant-elapsed clock={MONOTONIC} rounds={ROUNDS} \
                 failures={bad} slack_ns={}",
                2 * HRES_SLACK_NS
            ),
            bad == 0,
        );
    }

    /// glibc's `clock_getres` (through the vDSO) equals the syscall's.
    fn getres(&mut self, id: c_int) {
        let (lret, lerr, l) = libc_getres(id);
        let (sret, serr, s) = raw(nr::CLOCK_GETRES, id);
        let same = lret == sret && lerr == serr && (lret != 0 || ns(l) == ns(s));
        self.verdict(
            format!(
                "compare call=clock_getres clock={id} rounds=1 failures={} \
                 libc={lret}/{lerr}/{} syscall={sret}/{serr}/{}",
                u8::from(!same),
                ns(l),
                ns(s)
            ),
            same,
        );
    }

    /// An id the vDSO hands on: glibc's answer is the syscall's.
    fn unserved(&mut self, id: c_int) {
        let (sret, serr, b) = raw(nr::CLOCK_GETTIME, id);
        let (lret, lerr, v) = libc_gettime(id);
        let (_, _, a) = raw(nr::CLOCK_GETTIME, id);
        let ok = lret == sret && lerr == serr && (lret != 0 || (ns(b) <= ns(v) && ns(v) <= ns(a)));
        self.verdict(
            format!(
                "compare call=clock_gettime clock={id} rounds=1 failures={} \
                 libc={lret}/{lerr} syscall={sret}/{serr}",
                u8::from(!ok)
            ),
            ok,
        );
    }
}

fn compare() -> ExitCode {
    let mut c = Compare {
        raw_start: raw_ns(MONOTONIC_RAW),
        failures: 0,
    };
    for (clock, id) in SERVED {
        c.bracket("rustix-clock_gettime", id, || rustix_ns(clock));
    }
    c.bracket("rustix-clock_gettime", PROCESS_CPUTIME, || {
        rustix_ns(ClockId::ProcessCPUTime)
    });
    c.bracket("std-systemtime", REALTIME, || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos() as i64
    });
    c.instant();
    for (_, id) in SERVED {
        c.getres(id);
    }
    for id in UNSERVED {
        c.getres(id);
        c.unserved(id);
    }
    println!("done mode=compare failures={}", c.failures);
    if c.failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("show") if args.len() == 2 => show(),
        Some("compare") if args.len() == 2 => compare(),
        _ => {
            eprintln!("usage: {} show|compare", args[0]);
            ExitCode::from(2)
        }
    }
}
