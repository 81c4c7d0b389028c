//! `cargo xtask stress`: the seqlock stress test under `qemu-aarch64`, and
//! its negative control (issue 7).
//!
//! Builds `vdso-stress` (`tests/programs/stress`) for aarch64 and runs it three
//! times, each with one writer thread rewriting the data page as fast as it
//! can and [`Stress::readers`] threads calling the vDSO (qemu-user runs
//! guest threads on host threads, in parallel):
//!
//! 1. `torn` against our image: the writer alternates two timelines far
//!    apart in every field; every answer must lie on one of them;
//! 2. `monotonic` against our image: realistic ticks with a changing
//!    `mult`; MONOTONIC, BOOTTIME and REALTIME must never decrease;
//! 3. `torn` against the negative control: the image built with the `vdso`
//!    feature [`NEGATIVE_CONTROL`] (the reader skips the re-check of `seq`),
//!    through the same build as the shipped image
//!    ([`crate::build_vdso::build_variant`]). It must be caught tearing,
//!    or the test proves nothing.
//!
//! It prints a table (mode, image, reads, overlapped calls, fallbacks,
//! violations) and fails if our image has a violation or no overlapped
//! call, or if the negative control has no violation. The programs' output
//! stays in `target/stress/<run>.stdout`. `tests/tests/stress.rs` runs the
//! same three with fewer reads in `cargo xtask test`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use xshell::Shell;

use crate::prereq;

/// The `vdso` feature of the negative-control image: the reader skips the
/// re-check of `seq` after loading the snapshot.
pub const NEGATIVE_CONTROL: &str = "negative-control-no-seqlock-retry";

/// Where the programs' output is kept (relative to the root).
const OUT_DIR: &str = "target/stress";

/// `cargo xtask stress`'s command line.
#[derive(clap::Args)]
pub struct Stress {
    /// Calls into the image per run, all readers together (each of the
    /// three runs makes this many).
    #[arg(long, default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(2..))]
    pub reads: u64,
    /// Reader threads (at least 2); there is always one writer.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(2..))]
    pub readers: u64,
}

/// One run's summary line: `stress: mode=… image=… reads=… …`.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Every `key=value` of the line.
    pub fields: BTreeMap<String, String>,
}

impl Summary {
    /// Finds and parses the `stress:` line of `stdout`.
    pub fn parse(stdout: &str) -> Result<Summary, String> {
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("stress: "))
            .ok_or("no `stress:` summary line")?;
        let fields = line
            .split_whitespace()
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(|| format!("`{kv}` in the summary line is not key=value"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Summary { fields })
    }

    /// A counter of the line (`reads`, `overlapped`, `fallbacks`,
    /// `violations`, `writes`).
    pub fn count(&self, key: &str) -> Result<u64, String> {
        let value = self
            .fields
            .get(key)
            .ok_or_else(|| format!("the summary line has no `{key}`"))?;
        value
            .parse()
            .map_err(|_| format!("`{key}={value}` is not a count"))
    }

    /// A text field of the line (`mode`, `image`, `seconds`).
    pub fn text(&self, key: &str) -> &str {
        self.fields.get(key).map_or("?", String::as_str)
    }
}

/// Builds `vdso-stress` and the negative-control image; returns their
/// paths.
pub fn build(sh: &Shell) -> Result<(PathBuf, PathBuf)> {
    prereq::ensure(sh, prereq::TEST)?;
    let program = crate::cross::build_aarch64_bin(sh, "vdso-stress")?;
    let control = crate::build_vdso::build_variant(sh, NEGATIVE_CONTROL)?;
    Ok((program, control))
}

/// The arguments of one run: mode, image (`--ours` or a path), calls per
/// reader, readers.
pub fn args(mode: &str, image: &str, reads: u64, readers: u64) -> Vec<String> {
    vec![
        mode.to_string(),
        image.to_string(),
        reads.div_ceil(readers).to_string(),
        readers.to_string(),
    ]
}

impl Stress {
    /// Runs the three runs and prints the table.
    pub fn run(&self, sh: &Shell) -> Result<()> {
        eprintln!("stress: building vdso-stress (aarch64) and the negative-control image");
        let (program, control) = build(sh)?;
        let out = crate::project_root().join(OUT_DIR);
        std::fs::create_dir_all(&out)?;
        let control = control.to_str().context("non-UTF-8 path")?;
        let runs = [
            ("torn", "--ours", "ours"),
            ("monotonic", "--ours", "ours"),
            ("torn", control, "negative control"),
        ];
        let mut rows = Vec::new();
        let mut failures = Vec::new();
        for (mode, image, label) in runs {
            let args = args(mode, image, self.reads, self.readers);
            let kept = out.join(format!("{mode}-{}.stdout", label.replace(' ', "-")));
            let summary = run_one(&program, &args, &kept, &format!("{mode} ({label})"))?;
            let count = |key| summary.count(key).map_err(anyhow::Error::msg);
            let (reads, overlapped, violations) =
                (count("reads")?, count("overlapped")?, count("violations")?);
            let failure = if label == "ours" {
                ours_failure(mode, overlapped, violations, &kept)
            } else {
                control_failure(reads, violations)
            };
            let verdict = match (&failure, label) {
                (Some(_), _) => "FAIL",
                (None, "ours") => "ok",
                (None, _) => "ok (caught tearing)",
            };
            failures.extend(failure);
            rows.push([
                mode.to_string(),
                label.to_string(),
                reads.to_string(),
                overlapped.to_string(),
                count("fallbacks")?.to_string(),
                violations.to_string(),
                summary.text("seconds").to_string(),
                verdict.to_string(),
            ]);
        }
        println!(
            "| mode | image | reads | overlapped | fallbacks | violations | seconds | verdict |"
        );
        println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
        for row in &rows {
            println!("| {} |", row.join(" | "));
        }
        if !failures.is_empty() {
            bail!("{}", failures.join("\n"));
        }
        Ok(())
    }
}

/// Runs `program` with `args` under `qemu-aarch64`, keeps its output in
/// `kept`, and returns its summary line; fails if it failed (`what` names
/// the run).
fn run_one(program: &Path, args: &[String], kept: &Path, what: &str) -> Result<Summary> {
    eprintln!("$ qemu-aarch64 {} {}", program.display(), args.join(" "));
    let output = Command::new("qemu-aarch64")
        .arg(program)
        .args(args)
        .output()
        .context("cannot run qemu-aarch64 (Debian package qemu-user)")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    std::fs::write(kept, &stdout)?;
    if !output.status.success() {
        bail!(
            "vdso-stress {what} failed ({}); output in {}:\n{stdout}{}",
            output.status,
            kept.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Summary::parse(&stdout).map_err(|e| anyhow::anyhow!("{e}; output in {}", kept.display()))
}

/// Why a run against our image failed, if it did: a violation, or no call
/// that overlapped a write (then nothing was stressed).
fn ours_failure(mode: &str, overlapped: u64, violations: u64, kept: &Path) -> Option<String> {
    if violations != 0 {
        Some(format!(
            "our image: {violations} violations in {mode} mode ({})",
            kept.display()
        ))
    } else if overlapped == 0 {
        Some(format!(
            "{mode} mode: no call overlapped a write, nothing was stressed"
        ))
    } else {
        None
    }
}

/// Why the negative control's run failed, if it did: it must be caught
/// tearing, or the test cannot tell a broken reader from a correct one.
fn control_failure(reads: u64, violations: u64) -> Option<String> {
    (violations == 0).then(|| {
        format!(
            "the negative control (no seqlock re-check) showed no torn read in {reads} \
             reads: the test cannot tell a broken reader from a correct one"
        )
    })
}
