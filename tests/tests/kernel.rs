//! The example kernel (`tests/templates/kernel`) boots under `qemu-system-aarch64` with two static musl
//! programs embedded, and its serial console proves what a kernel author relies on:
//!
//! - **race** (`tests/clients/c/race.c`) reads every served clock 100 000 times through musl
//!   while the kernel's timer ticks and rewrites the data page (1000 Hz; 250 Hz and 400 000
//!   reads for the CNTPCT run). The kernel boots with `stamp`: each console write of the process is preceded
//!   by a `kernel: stamp` line with the kernel's own clocks read at that system call, so every
//!   time the client prints must lie between the stamp of its previous write and the stamp of
//!   its own, exactly (the kernel's clock is `Writer::clock_gettime`; the vDSO's is the image's
//!   code over the data page). At exit the kernel reports its ticks and the clock system calls
//!   per clock id: none for a served clock, while the CPU-time clock and an invalid id did
//!   reach it.
//! - **signals** (`tests/clients/c/signals.c`) installs a handler without `SA_RESTORER`, and
//!   the kernel's `rt_sigreturn` sees it come back from `__kernel_rt_sigreturn` at the image
//!   address `loader::offsets` gives; musl's own restorer is honoured too; registers, masks and
//!   `SIG_IGN` work.
//!
//! - **bti** (`tests/clients/c/bti.c`), on `-cpu max` with `bti` on the command line: the
//!   kernel maps the image as guarded pages and sets `SCTLR_EL1.BT0`; every call lands on the
//!   image's `bti c`, a call past it is a Branch Target exception, and the same call with the
//!   image unguarded runs (the control).
//!
//! Both race and signals run in both counter modes: `counter=cntvct` (EL0 may read only CNTVCT_EL0) and
//! `counter=cntpct` (only CNTPCT_EL0, as the rel4-linux-kit seed sets it up), and in the second
//! mode also with `image=cntpct` (`loader::cntpct`, whose straight paths read CNTPCT_EL0). A
//! program that reads CNTVCT_EL0 itself dies of SIGILL in the CNTPCT mode, which shows the vDSO
//! really read the counter it was told to.
//!
//! Console logs stay in `target/e2e/runs/kernel-*.stdout`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use vdso_tests::e2e::build::{self, Libc, Run};
use vdso_tests::e2e::is_served;

/// A boot that takes longer has hung (one takes well under a second).
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);
/// The served clocks, as the client prints them.
const SERVED: [i64; 7] = [0, 1, 4, 5, 6, 7, 11];
const REALTIME: i64 = 0;
const REALTIME_COARSE: i64 = 5;
const MONOTONIC_COARSE: i64 = 6;
/// The fake epoch the race runs boot with: only the kernel could have said it.
const EPOCH: i64 = 2_000_000_000;

type Built = Result<PathBuf, String>;

fn shell() -> Result<xshell::Shell, String> {
    xshell::Shell::new().map_err(|e| format!("cannot create a shell: {e}"))
}

static PREREQS: LazyLock<Result<(), String>> = LazyLock::new(|| {
    xtask::prereq::ensure(&shell()?, xtask::prereq::TEST).map_err(|e| format!("{e:#}"))
});

static RACE: LazyLock<Built> = LazyLock::new(|| {
    PREREQS.clone()?;
    build::c_client("race.c", "race-musl", Libc::Musl, false)
});
static SIGNALS: LazyLock<Built> = LazyLock::new(|| {
    PREREQS.clone()?;
    build::c_client("signals.c", "signals-musl", Libc::Musl, false)
});
static BTI: LazyLock<Built> = LazyLock::new(|| {
    PREREQS.clone()?;
    build::c_client("bti.c", "bti-musl", Libc::Musl, false)
});
static KERNEL: LazyLock<Built> = LazyLock::new(|| {
    let race = RACE.clone()?;
    let signals = SIGNALS.clone()?;
    let bti = BTI.clone()?;
    xtask::kernel::build(
        &shell()?,
        &[("race", &race), ("signals", &signals), ("bti", &bti)],
    )
    .map_err(|e| format!("building the kernel: {e:#}"))
});

/// Boots the kernel with `cmdline`; the console is the run's stdout.
fn boot(label: &str, cmdline: &str) -> Result<Run, String> {
    boot_on(label, xtask::kernel::CPU, cmdline)
}

/// [`boot`] on another qemu CPU model.
fn boot_on(label: &str, cpu: &str, cmdline: &str) -> Result<Run, String> {
    let kernel = KERNEL.clone()?;
    let qemu = xtask::kernel::qemu_on(&kernel, cpu, cmdline);
    let run = build::run_logged(qemu, label, BOOT_TIMEOUT)?;
    if run.status != Some(0) {
        return Err(format!("qemu failed\n{}", run.context()));
    }
    Ok(run)
}

fn booted(run: &'static LazyLock<Result<Run, String>>) -> &'static Run {
    match &**run {
        Ok(run) => run,
        Err(e) => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the console

/// What the kernel reported at the end.
#[derive(Debug, Default)]
struct Report {
    exit: Option<xtask::kernel::Exit>,
    ticks: u64,
    gettime: BTreeMap<i64, u64>,
    getres: BTreeMap<i64, u64>,
    gettimeofday: u64,
}

/// `id=count ...` or `none`.
fn per_clock(rest: &str) -> BTreeMap<i64, u64> {
    let mut map = BTreeMap::new();
    for pair in rest.split_whitespace().filter(|p| *p != "none") {
        let (id, n) = pair.split_once('=').expect("id=count");
        map.insert(id.parse().expect("a clock id"), n.parse().expect("a count"));
    }
    map
}

fn report(run: &Run) -> Report {
    let mut r = Report::default();
    let mut seen = 0;
    for line in run.stdout.lines().map(str::trim_end) {
        if let Some(exit) = xtask::kernel::exit_line(line) {
            r.exit = Some(exit);
            seen += 1;
        } else if let Some(rest) = line.strip_prefix("kernel: ticks=") {
            r.ticks = rest.split_whitespace().next().unwrap().parse().unwrap();
            seen += 1;
        } else if let Some(rest) = line.strip_prefix("kernel: clock_gettime syscalls:") {
            r.gettime = per_clock(rest);
            seen += 1;
        } else if let Some(rest) = line.strip_prefix("kernel: clock_getres syscalls:") {
            r.getres = per_clock(rest);
            seen += 1;
        } else if let Some(rest) = line.strip_prefix("kernel: gettimeofday syscalls: ") {
            r.gettimeofday = rest.parse().unwrap();
            seen += 1;
        }
    }
    assert_eq!(
        seen,
        5,
        "the kernel's exit report is incomplete\n{}",
        run.context()
    );
    r
}

/// `key=value` words of a line.
fn fields(line: &str) -> BTreeMap<&str, &str> {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .collect()
}

fn int(fields: &BTreeMap<&str, &str>, key: &str) -> i128 {
    fields
        .get(key)
        .unwrap_or_else(|| panic!("no {key}= in {fields:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("{key}= in {fields:?}: {e}"))
}

/// The kernel's clocks at one console write, in ns per clock id.
type Stamp = BTreeMap<i64, i128>;

fn parse_stamp(rest: &str) -> Stamp {
    rest.split_whitespace()
        .map(|pair| {
            let (id, t) = pair.split_once('=').expect("id=sec.nsec");
            let (sec, nsec) = t.split_once('.').expect("sec.nsec");
            let ns = sec.parse::<i128>().unwrap() * 1_000_000_000 + nsec.parse::<i128>().unwrap();
            (id.parse().unwrap(), ns)
        })
        .collect()
}

/// Each line the process wrote, with the stamps of the write before it and of its own.
struct Stamped<'a> {
    line: &'a str,
    before: Stamp,
    at: Stamp,
}

fn stamped(run: &Run) -> Vec<Stamped<'_>> {
    let mut out = Vec::new();
    let mut before: Option<Stamp> = None;
    let mut at: Option<Stamp> = None;
    for line in run.stdout.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix("kernel: stamp ") {
            before = at.take();
            at = Some(parse_stamp(rest));
        } else if !line.starts_with("kernel: ") {
            if let (Some(b), Some(a)) = (&before, &at) {
                out.push(Stamped {
                    line,
                    before: b.clone(),
                    at: a.clone(),
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// race

/// Checks for one run of `race`.
fn race_times_lie_between_the_kernels_stamps(run: &Run) {
    let lines = stamped(run);
    let mut clocks_seen = Vec::new();
    for s in &lines {
        let f = fields(s.line);
        let (id, t) = if s.line.starts_with("race ") {
            let id = int(&f, "clock") as i64;
            clocks_seen.push(id);
            (id, int(&f, "sec") * 1_000_000_000 + int(&f, "nsec"))
        } else if s.line.starts_with("gettimeofday ") {
            let us = int(&f, "sec") * 1_000_000 + int(&f, "usec");
            // Truncated to µs: compare at µs.
            let (lo, hi) = (s.before[&REALTIME] / 1000, s.at[&REALTIME] / 1000);
            assert!(
                lo <= us && us <= hi,
                "{} not within [{lo}, {hi}] µs",
                s.line
            );
            continue;
        } else if s.line.starts_with("time ") {
            let sec = int(&f, "sec");
            let (lo, hi) = (
                s.before[&REALTIME] / 1_000_000_000,
                s.at[&REALTIME] / 1_000_000_000,
            );
            assert!(
                lo <= sec && sec <= hi,
                "{} not within [{lo}, {hi}] s",
                s.line
            );
            continue;
        } else {
            continue;
        };
        let (lo, hi) = (s.before[&id], s.at[&id]);
        assert!(
            lo <= t && t <= hi,
            "clock {id}: the vDSO said {t} ns, outside the kernel's [{lo}, {hi}] around it\n{}",
            run.context()
        );
    }
    assert_eq!(
        clocks_seen,
        SERVED,
        "a served clock's line is missing\n{}",
        run.context()
    );
    let realtime = lines
        .iter()
        .find(|s| s.line.starts_with("race clock=0 "))
        .map(|s| int(&fields(s.line), "sec"))
        .unwrap();
    assert!(
        (EPOCH..EPOCH + 60).contains(&(realtime as i64)),
        "REALTIME {realtime} s is not the epoch the kernel booted with"
    );
}

fn served_clocks_made_no_syscall_across_ticks(run: &Run, rounds: u64) {
    let report = report(run);
    let race: Vec<BTreeMap<&str, &str>> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("race "))
        .map(fields)
        .collect();
    assert_eq!(race.len(), SERVED.len(), "{}", run.context());
    for f in &race {
        assert_eq!(int(f, "reads"), i128::from(rounds), "{f:?}");
        assert_eq!(int(f, "backwards"), 0, "a clock went backwards: {f:?}");
        let id = int(f, "clock") as i64;
        if id == REALTIME_COARSE || id == MONOTONIC_COARSE {
            // The coarse clocks move only when the kernel ticks: the reads spanned ticks.
            assert!(int(f, "changes") >= 2, "no tick during the reads of {f:?}");
        } else {
            assert!(
                int(f, "changes") > i128::from(rounds) / 2,
                "a frozen clock: {f:?}"
            );
        }
    }
    assert!(
        report.ticks >= 10,
        "only {} ticks\n{}",
        report.ticks,
        run.context()
    );
    let served: Vec<_> = report.gettime.keys().filter(|&&id| is_served(id)).collect();
    assert!(
        served.is_empty(),
        "clock_gettime syscalls for served clocks {served:?}: {:?}\n{}",
        report.gettime,
        run.context()
    );
    assert_eq!(report.gettimeofday, 0, "gettimeofday reached the kernel");
    assert_eq!(
        report.exit,
        Some(xtask::kernel::Exit::Status(0)),
        "{}",
        run.context()
    );
}

fn cpu_time_and_invalid_ids_reach_the_kernel(run: &Run) {
    let report = report(run);
    assert_eq!(
        (report.gettime.get(&2), report.gettime.get(&12345)),
        (Some(&1), Some(&1)),
        "the CPU-time clock and the invalid id should each make one syscall: {:?}",
        report.gettime
    );
    let line = |prefix: &str| {
        fields(
            run.stdout
                .lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| {
                    panic!("no `{prefix}` line\n{}", run.context());
                }),
        )
    };
    let cpu = line("cputime ");
    assert_eq!((int(&cpu, "ret"), int(&cpu, "errno")), (0, 0), "{cpu:?}");
    let cpu_ns = int(&cpu, "sec") * 1_000_000_000 + int(&cpu, "nsec");
    assert!(
        cpu_ns > 0 && cpu_ns < 60_000_000_000,
        "CPU time {cpu_ns} ns"
    );
    let invalid = line("invalid ");
    assert_eq!(
        (int(&invalid, "ret"), int(&invalid, "errno")),
        (-1, 22),
        "EINVAL"
    );
}

fn getres_is_the_kernels_answer(run: &Run, hz: i128) {
    let report = report(run);
    // musl never asks the vDSO for clock_getres: one syscall per clock.
    assert_eq!(report.getres.len(), SERVED.len(), "{:?}", report.getres);
    for line in run.stdout.lines().filter(|l| l.starts_with("getres ")) {
        let f = fields(line);
        let id = int(&f, "clock") as i64;
        let want = if id == REALTIME_COARSE || id == MONOTONIC_COARSE {
            1_000_000_000 / hz
        } else {
            1
        };
        assert_eq!(
            (int(&f, "ret"), int(&f, "sec"), int(&f, "nsec")),
            (0, 0, want),
            "{line}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// signals

/// The image address the kernel mapped the vDSO at, from its `exec` line.
fn vdso_base(run: &Run) -> u64 {
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("kernel: exec "))
        .unwrap_or_else(|| panic!("no exec line\n{}", run.context()));
    let hex = fields(line)["vdso"].trim_start_matches("0x");
    u64::from_str_radix(hex, 16).unwrap()
}

fn handler_returns_through_kernel_rt_sigreturn(run: &Run) {
    let sigreturn = vdso_base(run) + loader::offsets::KERNEL_RT_SIGRETURN as u64;
    let out = &run.stdout;
    assert!(
        out.lines()
            .any(|l| l.starts_with("kernel: signal 10 to handler ")
                && l.ends_with(&format!("returning via vdso at {sigreturn:#x}"))),
        "the kernel did not point the handler's x30 at __kernel_rt_sigreturn ({sigreturn:#x})\n{}",
        run.context()
    );
    // The svc of `mov x8, #139; svc #0`: the handler's return went through the image.
    let svc = sigreturn + 4;
    assert_eq!(
        out.matches(&format!("kernel: rt_sigreturn via=vdso pc={svc:#x}"))
            .count(),
        1,
        "no rt_sigreturn from the vDSO\n{}",
        run.context()
    );
    let check = format!(
        "check vdso-return ok=1 returns_to_vdso_offset={:#x}",
        loader::offsets::KERNEL_RT_SIGRETURN
    );
    assert!(
        out.contains(&check),
        "the client did not see it: {check}\n{}",
        run.context()
    );
}

fn every_signal_check_passes(run: &Run) {
    let checks: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("check "))
        .collect();
    let names: Vec<&str> = checks
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "vdso-return",
            "siginfo",
            "registers",
            "clock-in-handler",
            "musl-return",
            "mask",
            "ignored"
        ],
        "{}",
        run.context()
    );
    for line in &checks {
        assert!(line.contains(" ok=1"), "{line}\n{}", run.context());
    }
    // musl's handlers (SA_RESTORER) return elsewhere, twice (musl-return and mask).
    assert_eq!(
        run.stdout.matches("returning via SA_RESTORER").count(),
        2,
        "{}",
        run.context()
    );
    assert_eq!(
        run.stdout.matches("kernel: rt_sigreturn via=other").count(),
        2
    );
    assert_eq!(
        report(run).exit,
        Some(xtask::kernel::Exit::Status(0)),
        "{}",
        run.context()
    );
}

// ---------------------------------------------------------------------------------------------
// The runs, one module per counter mode

macro_rules! counter_mode {
    ($mode:ident, $args:literal, hz = $hz:expr, rounds = $rounds:expr) => {
        mod $mode {
            use super::*;

            const COUNTER: &str = stringify!($mode);
            /// The kernel's counter and image arguments.
            const ARGS: &str = $args;
            /// Reads of each clock by `race`: enough to span several ticks.
            const ROUNDS: u64 = $rounds;

            static RACE_RUN: LazyLock<Result<Run, String>> = LazyLock::new(|| {
                boot(
                    &format!("kernel-race-{COUNTER}"),
                    &format!("{ARGS} hz={} epoch={EPOCH} stamp -- race {ROUNDS}", $hz),
                )
            });
            static SIGNALS_RUN: LazyLock<Result<Run, String>> = LazyLock::new(|| {
                boot(
                    &format!("kernel-signals-{COUNTER}"),
                    &format!("{ARGS} -- signals"),
                )
            });

            #[test]
            fn the_kernel_booted_with_its_counter_and_image() {
                let run = booted(&RACE_RUN);
                let image = if ARGS.contains("image=") {
                    ""
                } else {
                    " image=plain"
                };
                let line = format!("boot {ARGS}{image} ");
                assert!(run.stdout.contains(&line), "no `{line}`\n{}", run.context());
            }

            #[test]
            fn race_times_lie_between_the_kernels_stamps() {
                super::race_times_lie_between_the_kernels_stamps(booted(&RACE_RUN));
            }

            #[test]
            fn served_clocks_made_no_syscall_across_ticks() {
                super::served_clocks_made_no_syscall_across_ticks(booted(&RACE_RUN), ROUNDS);
            }

            #[test]
            fn cpu_time_and_invalid_ids_reach_the_kernel() {
                super::cpu_time_and_invalid_ids_reach_the_kernel(booted(&RACE_RUN));
            }

            #[test]
            fn getres_is_the_kernels_answer() {
                super::getres_is_the_kernels_answer(booted(&RACE_RUN), $hz);
            }

            #[test]
            fn handler_returns_through_kernel_rt_sigreturn() {
                super::handler_returns_through_kernel_rt_sigreturn(booted(&SIGNALS_RUN));
            }

            #[test]
            fn every_signal_check_passes() {
                super::every_signal_check_passes(booted(&SIGNALS_RUN));
            }
        }
    };
}

counter_mode!(cntvct, "counter=cntvct", hz = 1000, rounds = 100_000);
counter_mode!(cntpct, "counter=cntpct", hz = 250, rounds = 400_000);
// The image whose straight paths read CNTPCT_EL0, on the same CNTPCT-only kernel.
counter_mode!(
    cntpct_image,
    "counter=cntpct image=cntpct",
    hz = 250,
    rounds = 400_000
);

/// EL0 may read only the selected counter: the proof that the CNTPCT runs above read CNTPCT.
#[test]
fn el0_reads_only_the_counter_the_vdso_is_told_to_read() {
    let allowed = boot("kernel-cntvct-allowed", "counter=cntvct -- signals cntvct")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        allowed.stdout.contains("\ncntvct "),
        "{}",
        allowed.context()
    );
    assert_eq!(report(&allowed).exit, Some(xtask::kernel::Exit::Status(0)));
    let trapped = boot("kernel-cntvct-trapped", "counter=cntpct -- signals cntvct")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !trapped.stdout.contains("\ncntvct "),
        "{}",
        trapped.context()
    );
    assert_eq!(
        report(&trapped).exit,
        Some(xtask::kernel::Exit::Signal(4)),
        "reading CNTVCT_EL0 with counter=cntpct must be SIGILL\n{}",
        trapped.context()
    );
}

// ---------------------------------------------------------------------------------------------
// BTI: the image in guarded pages (`bti` on the command line, `-cpu max`)

/// `bti: entry ADDR first=0xWORD`: the first instruction the client found at
/// `__kernel_clock_gettime`.
fn bti_entry_word(run: &Run) -> u32 {
    let line = run
        .stdout
        .lines()
        .find_map(|l| l.trim_end().strip_prefix("bti: entry "))
        .unwrap_or_else(|| panic!("no `bti: entry` line\n{}", run.context()));
    let word = line.split_once("first=0x").expect("first=0x...").1;
    u32::from_str_radix(word, 16).expect("a hex word")
}

/// With the image mapped guarded and BTI enforced at EL0, every served clock, gettimeofday
/// and getres work through musl's function pointers (`blr`) and through the client's own,
/// and none of them made a clock system call: every indirect call landed on `bti c`.
#[test]
fn guarded_image_serves_every_call_through_its_landing_pads() {
    let run = boot_on("kernel-bti", xtask::kernel::BTI_CPU, "bti -- bti")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        run.stdout.contains(" bti=1\n") || run.stdout.contains(" bti=1\r"),
        "the kernel did not enable BTI\n{}",
        run.context()
    );
    assert_eq!(
        bti_entry_word(&run),
        xtask::check::BTI_C,
        "__kernel_clock_gettime must start with bti c"
    );
    let r = report(&run);
    assert_eq!(
        r.exit,
        Some(xtask::kernel::Exit::Status(0)),
        "{}",
        run.context()
    );
    for id in SERVED {
        assert_eq!(
            r.gettime.get(&id),
            None,
            "clock {id} reached the kernel\n{}",
            run.context()
        );
    }
    assert_eq!(r.gettimeofday, 0, "{}", run.context());
    let calls = run.stdout.lines().filter(|l| l.contains(" r=0 ")).count();
    assert_eq!(
        calls,
        SERVED.len() + 3,
        "one `r=0` line per call\n{}",
        run.context()
    );
}

/// The guard is real: a call to `__kernel_clock_gettime + 4`, past the landing pad, is a
/// Branch Target exception (ESR_EL1.EC 0x0d) and SIGILL.
#[test]
fn guarded_image_traps_a_call_past_the_landing_pad() {
    let run = boot_on("kernel-bti-skip", xtask::kernel::BTI_CPU, "bti -- bti skip")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !run.stdout.contains("bti: skip returned"),
        "{}",
        run.context()
    );
    let esr = run
        .stdout
        .lines()
        .find_map(|l| l.trim_end().strip_prefix("kernel: fault: esr=0x"))
        .and_then(|rest| u64::from_str_radix(rest.split_whitespace().next()?, 16).ok())
        .unwrap_or_else(|| panic!("no fault line\n{}", run.context()));
    assert_eq!(
        esr >> 26,
        0x0d,
        "not a Branch Target exception: esr={esr:#x}"
    );
    assert_eq!(
        report(&run).exit,
        Some(xtask::kernel::Exit::Signal(4)),
        "{}",
        run.context()
    );
}

/// The control for the test above: the same call on the same CPU, with the image mapped
/// unguarded, runs (`bti c` is a no-op there), so the trap above came from the guard.
#[test]
fn unguarded_image_lets_a_call_past_the_landing_pad_run() {
    let run = boot_on("kernel-bti-off-skip", xtask::kernel::BTI_CPU, "-- bti skip")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        run.stdout.contains("bti: skip returned 0"),
        "{}",
        run.context()
    );
    assert_eq!(
        report(&run).exit,
        Some(xtask::kernel::Exit::Status(0)),
        "{}",
        run.context()
    );
}
