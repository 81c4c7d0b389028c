//! `cargo xtask test`: everything CI runs, in order, ending with one summary
//! line (`summary: N passed, M failed`).
//!
//! 1. prerequisites (installed when root);
//! 2. gates: `cargo fmt --check`, `cargo clippy -D warnings` (on the host,
//!    and Debian's clippy over the aarch64-only code), `build-vdso --check`;
//! 3. `cargo test --workspace`: algorithm, loader, conformance (both
//!    images, `tests/image/`; the repository's own rules, `tests/tidy.rs`),
//!    and the end-to-end tests (programs under `qemu-aarch64` through the exec
//!    harness, `tests/e2e.rs`; the example kernel under
//!    `qemu-system-aarch64`, `tests/kernel.rs`; our image and Linux's own
//!    side by side on pages our loader wrote, `tests/dropin.rs`; the 32-bit
//!    compat image's clients in Debian's arm64 Linux under
//!    `qemu-system-aarch64`, `tests/vm.rs` and `tests/e2e_arm.rs`);
//! 4. the aarch64 probe under `qemu-aarch64`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::build_vdso;
use xtask::prereq;

/// Passed and failed counts from one runner.
#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Self) {
        self.passed += other.passed;
        self.failed += other.failed;
    }
}

/// Runs `test`.
pub fn run(sh: &Shell) -> Result<()> {
    prereq::ensure(sh, prereq::TEST)?;

    step("cargo fmt --check");
    cmd!(sh, "cargo fmt --all -- --check")
        .run()
        .context("formatting differs: run `cargo fmt --all`")?;
    step("cargo clippy");
    cmd!(
        sh,
        "cargo clippy --workspace --all-targets --quiet -- -D warnings"
    )
    .run()?;
    step(
        "cargo clippy (aarch64: kernel, exec harness, probe, drop-in test, benchmark, Rust client)",
    );
    xtask::cross::clippy(sh)?;
    step("cargo xtask build-vdso --check");
    build_vdso::run(sh, true)?;

    let mut total = Tally::default();
    step("cargo test --workspace");
    let (ok, output) = tee(Command::new("cargo").args(["test", "--workspace", "--no-fail-fast"]))?;
    let host = cargo_test_tally(&output);
    if host.passed == 0 {
        bail!("cargo test ran no test");
    }
    total += host;
    if !ok && host.failed == 0 {
        bail!("cargo test failed before running its tests");
    }

    step("aarch64 probe under qemu-aarch64");
    total += probe(sh)?;

    println!("summary: {} passed, {} failed", total.passed, total.failed);
    if total.failed != 0 {
        bail!("{} tests failed", total.failed);
    }
    Ok(())
}

/// Builds `vdso-probe` for aarch64 and runs it under `qemu-aarch64`: it
/// maps the committed image like a kernel would and compares every export
/// with the syscall.
fn probe(sh: &Shell) -> Result<Tally> {
    let binary = xtask::cross::build_aarch64_bin(sh, "vdso-probe")?;
    // One run under `-strace`: qemu writes the trace to stderr, which we keep
    // in a file to count the time syscalls the fast path made.
    let trace_path = binary.with_extension("strace");
    let trace_path = trace_path.display().to_string();
    let trace_file = std::fs::File::create(&trace_path)?;
    let (ok, output) = tee(Command::new("qemu-aarch64")
        .arg("-strace")
        .arg(&binary)
        .stderr(trace_file))?;
    let mut tally =
        plain_tally(&output).context("the probe printed no `N passed, M failed` line")?;
    if !ok && tally.failed == 0 {
        bail!("the probe failed without reporting a failed check (trace: {trace_path})");
    }
    let trace = std::fs::read_to_string(&trace_path)?;
    for window in &PROBE_WINDOWS {
        let verdict = window_syscalls(&trace, window);
        let (what, names, want) = (window.what, window.names.join("/"), window.expected);
        match verdict {
            Ok(n) if n == want => {
                println!("ok {what}: {n} {names} syscalls in the window ({trace_path})");
                tally.passed += 1;
            }
            Ok(n) => {
                println!(
                    "FAIL {what}: {n} {names} syscalls in the window, not {want} ({trace_path})"
                );
                tally.failed += 1;
            }
            Err(e) => {
                println!("FAIL {what}: {e} ({trace_path})");
                tally.failed += 1;
            }
        }
    }
    Ok(tally)
}

/// One of the probe's strace windows: the syscalls counted between its
/// markers, and how many the probe's design says there are.
struct Window {
    what: &'static str,
    marker: &'static str,
    names: &'static [&'static str],
    expected: usize,
}

/// The probe's windows (`tests/programs/probe`): the time fast path makes
/// no syscall; getrandom before "ready" makes one per call (10), after it
/// two in 200 calls: the first key and one reseed.
const PROBE_WINDOWS: [Window; 3] = [
    Window {
        what: "no time syscall on the fast path",
        marker: "/vdso-probe-window",
        names: &["clock_gettime", "clock_getres", "gettimeofday"],
        expected: 0,
    },
    Window {
        what: "getrandom before the RNG is ready: one syscall per call",
        marker: "/vdso-probe-rng-unready",
        names: &["getrandom"],
        expected: 10,
    },
    Window {
        what: "getrandom after ready: the first key and one reseed in 200 calls",
        marker: "/vdso-probe-rng",
        names: &["getrandom"],
        expected: 2,
    },
];

/// Counts `window`'s syscalls in a `qemu-aarch64 -strace` log between its
/// `-begin` and `-end` markers. Fails if the markers are missing or if the
/// trace shows none of those syscalls outside the window (then it would not
/// have shown one inside either).
fn window_syscalls(trace: &str, window: &Window) -> Result<usize> {
    let counted = |line: &&&str| {
        window
            .names
            .iter()
            .any(|name| line.contains(&format!("{name}(")))
    };
    let lines: Vec<&str> = trace.lines().collect();
    let marker = |suffix: &str| {
        let marker = format!("{}-{suffix}\"", window.marker);
        lines
            .iter()
            .position(|l| l.contains(&marker))
            .with_context(|| format!("no {marker} marker in the trace"))
    };
    let (begin, end) = (marker("begin")?, marker("end")?);
    if end < begin {
        bail!("the markers are out of order");
    }
    let outside = lines[..begin]
        .iter()
        .chain(&lines[end..])
        .filter(counted)
        .count();
    if outside == 0 {
        bail!("the trace shows no such syscall outside the window: is -strace working?");
    }
    Ok(lines[begin..end].iter().filter(counted).count())
}

fn step(name: &str) {
    println!("==> {name}");
}

/// Runs a command with stdout streamed through and kept; stderr passes
/// through. Returns whether it succeeded, and its stdout.
fn tee(command: &mut Command) -> Result<(bool, String)> {
    eprintln!("$ {command:?}");
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let mut kept = String::new();
    for line in BufReader::new(child.stdout.take().context("no stdout")?).lines() {
        let line = line?;
        println!("{line}");
        kept.push_str(&line);
        kept.push('\n');
    }
    Ok((child.wait()?.success(), kept))
}

/// Adds up cargo test's `test result: ok. N passed; M failed; ...` lines.
fn cargo_test_tally(output: &str) -> Tally {
    let mut tally = Tally::default();
    for line in output.lines() {
        let Some(rest) = line.strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let count: u64 = count.parse().unwrap_or(0);
            match label {
                "passed" => tally.passed += count,
                "failed" => tally.failed += count,
                _ => {}
            }
        }
    }
    tally
}

/// Reads the last `N passed, M failed` line.
fn plain_tally(output: &str) -> Option<Tally> {
    output.lines().rev().find_map(|line| {
        let (passed, failed) = line.trim().split_once(", ")?;
        Some(Tally {
            passed: passed.strip_suffix(" passed")?.parse().ok()?,
            failed: failed.strip_suffix(" failed")?.parse().ok()?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_test_lines_are_added_up() {
        let out = "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out\n\
                   noise\n\
                   test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n";
        let t = cargo_test_tally(out);
        assert_eq!((t.passed, t.failed), (15, 2));
    }

    #[test]
    fn plain_summary_line_is_read() {
        let t = plain_tally("ok a\nFAIL b: x\n7 passed, 1 failed\n").unwrap();
        assert_eq!((t.passed, t.failed), (7, 1));
        assert!(plain_tally("nothing here\n").is_none());
    }

    #[test]
    fn syscalls_are_counted_only_inside_their_strace_window() {
        let time = &PROBE_WINDOWS[0];
        let trace = "1 clock_gettime(1,0x1) = 0\n\
                     1 faccessat(AT_FDCWD,\"/vdso-probe-window-begin\",F_OK,0x0) = -1 errno=2\n\
                     1 write(1,0x2,3) = 3\n\
                     1 faccessat(AT_FDCWD,\"/vdso-probe-window-end\",F_OK,0x0) = -1 errno=2\n\
                     1 clock_getres(1,0x1) = 0\n";
        assert_eq!(window_syscalls(trace, time).unwrap(), 0);
        let leaky = trace.replace("1 write(1,0x2,3) = 3", "1 gettimeofday(0x1,0) = 0");
        assert_eq!(window_syscalls(&leaky, time).unwrap(), 1);
        assert!(window_syscalls("1 clock_gettime(1,0x1) = 0\n", time).is_err());
        let untraced = trace
            .replace("1 clock_gettime(1,0x1) = 0\n", "")
            .replace("1 clock_getres(1,0x1) = 0\n", "");
        assert!(window_syscalls(&untraced, time).is_err());
    }

    #[test]
    fn the_ready_window_is_not_the_unready_one() {
        let [_, unready, ready] = &PROBE_WINDOWS;
        let trace = "1 faccessat(AT_FDCWD,\"/vdso-probe-rng-unready-begin\",F_OK,0x0) = -1\n\
                     1 getrandom(0x1,16,0) = 16\n\
                     1 faccessat(AT_FDCWD,\"/vdso-probe-rng-unready-end\",F_OK,0x0) = -1\n\
                     1 faccessat(AT_FDCWD,\"/vdso-probe-rng-begin\",F_OK,0x0) = -1\n\
                     1 getrandom(0x1,32,0) = 32\n\
                     1 getrandom(0x1,32,0) = 32\n\
                     1 faccessat(AT_FDCWD,\"/vdso-probe-rng-end\",F_OK,0x0) = -1\n";
        assert_eq!(window_syscalls(trace, unready).unwrap(), 1);
        assert_eq!(window_syscalls(trace, ready).unwrap(), 2);
    }
}
