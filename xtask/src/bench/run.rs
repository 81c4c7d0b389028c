//! Running the benchmark program under qemu, and the time run: the
//! ns/call samples per (call, variant) and their statistics.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};

use super::VARIANTS;

/// The parts of the qemu command line both runs share.
pub(super) struct Qemu<'a> {
    /// The `qemu-aarch64` binary: the machine's, or Debian 13's for `--ecv`.
    pub binary: &'a Path,
    /// Whether `ours` is the FEAT_ECV image (`loader::ecv`).
    pub ecv: bool,
    /// Its flag for one guest instruction per translation block:
    /// `-singlestep` in qemu 7.2, `-one-insn-per-tb` from qemu 8 on.
    pub one_insn_per_tb: &'static str,
    /// The CPU model qemu emulates (`-cpu`).
    pub cpu: &'a str,
    /// The aarch64 `vdso-bench` executable.
    pub program: &'a Path,
    /// Linux's image, the program's anchor.
    pub anchor: &'a Path,
}

impl Qemu<'_> {
    /// `qemu-aarch64 -cpu CPU QEMU_ARGS PROGRAM MODE ANCHOR`; the caller adds
    /// the mode's own arguments.
    pub(super) fn command(&self, qemu_args: &[&std::ffi::OsStr], mode: &str) -> Command {
        let mut command = Command::new(self.binary);
        if self.ecv {
            command.env("VDSO_BENCH_OURS", "ecv");
        }
        command
            .args(["-cpu", self.cpu])
            .args(qemu_args)
            .arg(self.program)
            .arg(mode)
            .arg(self.anchor);
        command
    }
}

/// The first line of `BINARY --version`, for the report.
pub(super) fn qemu_version(binary: &Path) -> Result<String> {
    let qemu = Command::new(binary).arg("--version").output()?;
    let qemu = String::from_utf8_lossy(&qemu.stdout);
    Ok(qemu.lines().next().unwrap_or("qemu-aarch64").to_owned())
}

/// The time run: `REPEATS` samples of `CALLS` back-to-back calls for every
/// call and variant, with a progress line per repeat.
pub(super) fn time(qemu: &Qemu, repeats: u32, calls: u32, progress: &Progress) -> Result<Timing> {
    progress.show("bench: timing");
    let mut time = qemu.command(&[], "time");
    time.arg(repeats.to_string()).arg(calls.to_string());
    let out = run_program(&mut time, |done| {
        progress.show(&format!("bench: timing, repeat {done}"));
    })?;
    Timing::parse(&out)
}

/// The progress line of the qemu runs, on stderr: rewritten in place on a
/// terminal; elsewhere one line per phase.
pub(super) struct Progress {
    terminal: bool,
}

impl Progress {
    pub(super) fn new() -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Shows `text`; off a terminal, only the start of each phase (the
    /// text up to a comma).
    pub(super) fn show(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[K{text}");
            let _ = err.flush();
        } else if !text.contains(',') {
            let _ = writeln!(err, "{text}");
        }
    }

    /// Erases the line on a terminal, so that the table starts clean.
    pub(super) fn clear(&self) {
        if self.terminal {
            eprint!("\r\x1b[K");
        }
    }
}

/// Runs the program under qemu: returns its stdout, passes its
/// `progress R/N` lines to `on_progress`, and fails with the rest of its
/// stderr if it fails.
pub(super) fn run_program(
    command: &mut Command,
    mut on_progress: impl FnMut(&str),
) -> Result<String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let mut stdout = child.stdout.take().context("no stdout")?;
    // stdout is read on its own thread so that neither pipe fills up while
    // the other one is read.
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).map(|_| out)
    });
    let mut errors = String::new();
    for line in BufReader::new(child.stderr.take().context("no stderr")?).lines() {
        let line = line?;
        match line.strip_prefix("progress ") {
            Some(done) => on_progress(done),
            None => {
                errors.push_str(&line);
                errors.push('\n');
            }
        }
    }
    let status = child.wait()?;
    let out = reader.join().expect("the stdout reader panicked")?;
    if !status.success() {
        bail!("{command:?} failed ({status}):\n{errors}");
    }
    Ok(out)
}

/// The time run's output: ns/call samples per (call, variant).
#[derive(Debug)]
pub(super) struct Timing {
    pub calls: u64,
    pub repeats: u64,
    /// The calls, in the program's order.
    pub rows: Vec<String>,
    /// ns/call of every sample, per (call, variant).
    samples: BTreeMap<(String, String), Vec<f64>>,
    /// The program's `wrong IMAGE ROW WHAT` lines: an image that answered a
    /// call wrongly (only Linux's, on the page published an hour ago).
    pub wrong: Vec<String>,
}

/// A `sample REPEAT ROW VARIANT NS` line: the total ns of one sample.
struct Sample {
    row: String,
    variant: String,
    ns: u64,
}

impl Timing {
    /// Parses the time run's `calls N`, `repeats N` and `sample …` lines,
    /// and checks that every call has `repeats` samples through every
    /// variant.
    pub(super) fn parse(out: &str) -> Result<Timing> {
        let mut numbers = BTreeMap::new();
        let mut rows: Vec<String> = Vec::new();
        let mut totals: Vec<Sample> = Vec::new();
        let mut wrong = Vec::new();
        for line in out.lines() {
            if let Some(what) = line.strip_prefix("wrong ") {
                wrong.push(what.to_owned());
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[..] {
                [key @ ("calls" | "repeats"), n] => {
                    numbers.insert(key, n.parse::<u64>().with_context(|| line.to_owned())?);
                }
                ["sample", _repeat, row, variant, n] => {
                    if !rows.iter().any(|r| r == row) {
                        rows.push(row.to_owned());
                    }
                    let ns = n.parse().with_context(|| line.to_owned())?;
                    let (row, variant) = (row.to_owned(), variant.to_owned());
                    totals.push(Sample { row, variant, ns });
                }
                _ => {}
            }
        }
        let number = |key| match numbers.get(key) {
            Some(&n) if n > 0 => Ok(n),
            _ => bail!("the program printed no `{key} N` line:\n{out}"),
        };
        let (calls, repeats) = (number("calls")?, number("repeats")?);
        let mut samples: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
        for Sample { row, variant, ns } in totals {
            let per_call = ns as f64 / calls as f64;
            samples.entry((row, variant)).or_default().push(per_call);
        }
        let timing = Timing {
            calls,
            repeats,
            rows,
            samples,
            wrong,
        };
        timing.check_complete(out)?;
        Ok(timing)
    }

    /// Every call has `repeats` samples through every variant, and there is
    /// at least one call.
    fn check_complete(&self, out: &str) -> Result<()> {
        for row in &self.rows {
            for (variant, _) in VARIANTS {
                let got = self
                    .samples
                    .get(&(row.clone(), variant.to_owned()))
                    .map_or(0, Vec::len);
                ensure!(
                    got as u64 == self.repeats,
                    "{row} through {variant}: {got} samples, not {}",
                    self.repeats
                );
            }
        }
        ensure!(
            !self.rows.is_empty(),
            "the program printed no samples:\n{out}"
        );
        Ok(())
    }

    /// The statistics of one call through one variant.
    pub(super) fn stats(&self, row: &str, variant: &str) -> Stats {
        Stats::of(&self.samples[&(row.to_owned(), variant.to_owned())])
    }
}

/// Median, min and max of some samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    /// The statistics of `values` (not empty); the median of an even
    /// number of values is the mean of the middle two.
    pub(super) fn of(values: &[f64]) -> Stats {
        assert!(!values.is_empty(), "no samples");
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Stats {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    #[test]
    fn median_min_and_max() {
        let s = Stats::of(&[5.0, 1.0, 3.0]);
        assert_eq!(
            s,
            Stats {
                median: 3.0,
                min: 1.0,
                max: 5.0
            }
        );
        assert_eq!(Stats::of(&[4.0, 1.0, 2.0, 100.0]).median, 3.0);
        assert_eq!(Stats::of(&[7.0]).median, 7.0);
    }

    #[test]
    fn samples_become_ns_per_call() {
        let mut out = String::from("image ours 0x1000 10\ncalls 2000\nrepeats 2\n");
        for (repeat, ns) in [(0, 100_000), (1, 120_000)] {
            for variant in ["ours", "linux", "syscall"] {
                let _ = writeln!(out, "sample {repeat} gettimeofday {variant} {ns}");
            }
        }
        let t = Timing::parse(&out).unwrap();
        assert_eq!(t.rows, ["gettimeofday"]);
        // 100 µs for 2000 calls = 50 ns per call.
        let s = t.stats("gettimeofday", "linux");
        assert_eq!((s.min, s.max, s.median), (50.0, 60.0, 55.0));
        let missing = out.replace("sample 1 gettimeofday syscall 120000\n", "");
        assert!(Timing::parse(&missing).is_err());
        assert!(Timing::parse("sample 0 x ours 1\n").is_err());
    }

    #[test]
    fn a_wrong_answer_is_kept_for_the_report() {
        let mut out = String::from("calls 1\nrepeats 1\nwrong linux f(x) returned 7, not 8\n");
        for variant in ["ours", "linux", "syscall"] {
            let _ = writeln!(out, "sample 0 f(x) {variant} 5");
        }
        let t = Timing::parse(&out).unwrap();
        assert_eq!(t.wrong, ["linux f(x) returned 7, not 8"]);
        assert_eq!(t.rows, ["f(x)"]);
    }
}
