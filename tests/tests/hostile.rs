//! Bad arguments and hostile data pages (issue 7, parts 2 and 3): `vdso-hostile`
//! (`tests/programs/hostile`), a static aarch64 program under `qemu-aarch64`, maps our image with its
//! own data page and
//!
//! - holds every clock id in `-64..=64`, `i32::MIN` and `i32::MAX` (through `clock_gettime`
//!   with a buffer and with NULL, `clock_getres` with a buffer and with NULL) and `gettimeofday`
//!   with every combination of NULL pointers to the raw syscall's answer;
//! - rewrites the page into each hostile shape (unknown `clock_mode`s, `mult` 0, `shift` 0 and
//!   ≥ 64, `mask` 0, `seq` stuck odd, all-zero, all-ones and random pages, ...) and requires
//!   every answer to be the page's correct time or the syscall's, never a crash or a hang.
//!
//! Its source documents each check; here the run must pass them all, every listed case must
//! have run, and `seq` stuck odd must have ended in the syscall. The CNTPCT mode is not run
//! under qemu-user (CNTPCT_EL0 is SIGILL there): the program says so in its table, the host
//! property tests (`vdso/src/tests.rs`) and `tests/kernel.rs` (`--counter cntpct`) cover it.
//!
//! The run's stdout and stderr stay in `target/e2e/runs/hostile.{stdout,stderr}`; its `case`
//! lines are the per-page outcome table.

use std::process::Command;
use std::sync::LazyLock;
use std::time::Duration;

use vdso_tests::e2e::build::{self, Run};

/// A run that takes longer has hung (it takes well under a second; `seq` stuck odd costs
/// about 200 µs per call under qemu-aarch64).
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// `vdso-hostile` makes 1250 checks today (529 differential, 721 on hostile pages); fewer
/// means some were skipped.
const MIN_CHECKS: usize = 1250;

/// Every hostile page the issue lists, as the program names it.
const CASES: [&str; 28] = [
    "clock_mode 0 (NONE)",
    "clock_mode 1 (ARCHTIMER)",
    "clock_mode 2 (ARCHTIMER_NOCOMPAT)",
    "clock_mode 2147483647 (TIMENS)",
    "clock_mode 3",
    "clock_mode -1",
    "clock_mode -2147483648",
    "clock_mode 0x7fff0001 (CNTPCT + 1)",
    "clock_mode random #1",
    "clock_mode random #2",
    "clock_mode random #3",
    "mult 0",
    "shift 0, mult and nsec rescaled (well-formed)",
    "shift 0, mult and shifted nsec kept",
    "shift 64",
    "shift 65",
    "shift 255",
    "shift 4294967295",
    "mask 0",
    "cycle_last 1 s ahead of the counter",
    "product >= 2^64 ns",
    "seq stuck odd",
    LINUX_6_12_PAGE,
    "all-zero page",
    "all-ones page",
    "random bytes #1",
    "random fields, clock_mode 1/2 #1",
    "clock_mode 0x7fff0000 (our CNTPCT)",
];

/// The case of a page as a Linux 6.12 kernel writes it: its `vdso_rng_data` at byte 480, our
/// extension zero.
const LINUX_6_12_PAGE: &str = "a page as Linux 6.12 writes it (rng data at 480, no extension)";

/// Builds `vdso-hostile` and runs it.
fn hostile_run() -> Result<Run, String> {
    let sh = xshell::Shell::new().map_err(|e| format!("cannot create a shell: {e}"))?;
    let program = xtask::build_aarch64_bin(&sh, "vdso-hostile")
        .map_err(|e| format!("building vdso-hostile: {e:#}"))?;
    let mut command = Command::new("qemu-aarch64");
    command.arg(program);
    build::run_logged(command, "hostile", RUN_TIMEOUT)
}

static RUN: LazyLock<Result<Run, String>> = LazyLock::new(hostile_run);

fn run() -> &'static Run {
    match &*RUN {
        Ok(run) => run,
        Err(e) => panic!("{e}"),
    }
}

/// The `ok` lines of the run.
fn ok_lines(run: &Run) -> Vec<&str> {
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok "))
        .collect()
}

/// The `case` line of the page named `name`.
fn case_line<'a>(run: &'a Run, name: &str) -> Option<&'a str> {
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("case "))
        .find(|l| l.starts_with(name))
}

#[test]
fn every_check_passes_and_none_was_skipped() {
    let run = run();
    let failed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL") || l.ends_with("| FAILED"))
        .collect();
    assert!(
        failed.is_empty(),
        "{} checks failed:\n{}\n{}",
        failed.len(),
        failed.join("\n"),
        run.context()
    );
    assert_eq!(
        run.status,
        Some(0),
        "vdso-hostile failed\n{}",
        run.context()
    );
    let passed = ok_lines(run).len();
    assert!(
        passed >= MIN_CHECKS,
        "only {passed} checks ran, expected at least {MIN_CHECKS}\n{}",
        run.context()
    );
    let summary = format!("{passed} passed, 0 failed");
    assert_eq!(
        run.stdout.lines().last(),
        Some(summary.as_str()),
        "the run did not end with its summary (a crash loses it)\n{}",
        run.context()
    );
}

#[test]
fn every_clock_id_from_minus_64_to_64_and_the_extremes_answers_as_the_syscall() {
    let run = run();
    let ok = ok_lines(run);
    for id in (-64..=64).chain([i32::MIN, i32::MAX]) {
        let name = match id {
            0 => "REALTIME".to_string(),
            1 => "MONOTONIC".to_string(),
            2 => "PROCESS_CPUTIME_ID".to_string(),
            3 => "THREAD_CPUTIME_ID".to_string(),
            4 => "MONOTONIC_RAW".to_string(),
            5 => "REALTIME_COARSE".to_string(),
            6 => "MONOTONIC_COARSE".to_string(),
            7 => "BOOTTIME".to_string(),
            8 => "REALTIME_ALARM".to_string(),
            9 => "BOOTTIME_ALARM".to_string(),
            11 => "TAI".to_string(),
            _ => format!("clock {id}"),
        };
        for call in [
            format!("clock_gettime({name}, &ts) -> "),
            format!("clock_gettime({name}, NULL) -> "),
            format!("clock_getres({name}, &res) -> "),
            format!("clock_getres({name}, NULL) -> "),
        ] {
            assert!(
                ok.iter().any(|l| l.starts_with(&call)),
                "no `ok {call}...` line\n{}",
                run.context()
            );
        }
    }
    // The reference itself: invalid ids are EINVAL, a valid id with NULL is EFAULT.
    for line in [
        "clock_gettime(clock -1, &ts) -> -EINVAL, as the syscall",
        "clock_gettime(clock 2147483647, &ts) -> -EINVAL, as the syscall",
        "clock_gettime(clock -2147483648, &ts) -> -EINVAL, as the syscall",
        "clock_gettime(MONOTONIC, NULL) -> -EFAULT, as the syscall",
        "clock_gettime(clock 64, NULL) -> -EINVAL, as the syscall",
    ] {
        assert!(ok.contains(&line), "no `ok {line}` line\n{}", run.context());
    }
}

#[test]
fn gettimeofday_with_every_null_combination_answers_as_the_syscall() {
    let run = run();
    let ok = ok_lines(run);
    for call in [
        "gettimeofday(&tv, &tz) -> 0, as the syscall, time within",
        "gettimeofday(NULL, &tz) -> 0, as the syscall, the syscall's tz",
        "gettimeofday(&tv, NULL) -> 0, as the syscall, time within",
        "gettimeofday(NULL, NULL) -> 0, as the syscall",
    ] {
        assert!(
            ok.iter().any(|l| l.starts_with(call)),
            "no `ok {call}...` line\n{}",
            run.context()
        );
    }
}

#[test]
fn every_listed_hostile_page_was_run() {
    let run = run();
    for name in CASES {
        assert!(
            case_line(run, name).is_some(),
            "no `case {name} ...` line\n{}",
            run.context()
        );
    }
    let cntpct = case_line(run, "clock_mode 0x7fff0000 (our CNTPCT)").unwrap_or_default();
    assert!(
        cntpct.contains("not run under qemu-user"),
        "the CNTPCT case must say why it is not run: {cntpct}"
    );
}

#[test]
fn pages_that_cannot_be_served_go_to_the_syscall() {
    let run = run();
    for name in [
        "clock_mode 0 (NONE)",
        "clock_mode 2147483647 (TIMENS)",
        "clock_mode -1",
        "clock_mode random #1",
        "all-zero page",
        "all-ones page",
    ] {
        let line = case_line(run, name).unwrap_or_default();
        assert!(
            line.contains("| clocks: syscall | coarse: syscall | gettimeofday: syscall | tz: syscall | getres: syscall |"),
            "{name}: {line}\n{}",
            run.context()
        );
    }
    for name in [
        "mult 0",
        "shift 64",
        "shift 4294967295",
        "mask 0",
        "cycle_last 1 s ahead of the counter",
        "product >= 2^64 ns",
    ] {
        let line = case_line(run, name).unwrap_or_default();
        assert!(
            line.contains("| clocks: syscall |") && line.contains("| gettimeofday: syscall |"),
            "{name}: {line}\n{}",
            run.context()
        );
    }
}

#[test]
fn a_page_as_linux_6_12_writes_it_is_served_and_its_rng_data_is_never_read_as_ours() {
    let run = run();
    let line = case_line(run, LINUX_6_12_PAGE).unwrap_or_default();
    let want =
        "| clocks: page | coarse: page | gettimeofday: page | tz: page | getres: page: REALTIME \
                MONOTONIC MONOTONIC_RAW BOOTTIME TAI; syscall: REALTIME_COARSE MONOTONIC_COARSE |";
    assert!(line.contains(want), "{line}\n{}", run.context());
}

#[test]
fn a_seq_stuck_odd_ends_in_the_syscall_after_a_bounded_spin() {
    let run = run();
    let ok = ok_lines(run);
    assert!(
        ok.iter()
            .any(|l| l.starts_with("hostile seq stuck odd: all 9 time calls ended in the syscall")),
        "no `ok hostile seq stuck odd: all 9 time calls ended in the syscall...` line\n{}",
        run.context()
    );
}
