//! The count run: the program single-stepped under qemu with every
//! executed instruction logged, and the log cut into calls.
//!
//! The program prints where each image is mapped (`image NAME 0xBASE LEN`)
//! and every call it makes into them (`call PASS IMAGE ROW`), in order; a
//! maximal run of consecutive trace lines inside one image is one call, so
//! the runs and the calls must match one for one
//! ([`instructions_per_call`]).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::ops::Range;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};

use super::run::{run_program, Progress, Qemu};
use super::IMAGES;

/// Instructions per call, per (call, image).
pub(super) type Instructions = BTreeMap<(String, String), u64>;

/// The count run: runs the program with qemu's instruction trace going to
/// `trace`, and returns the images it mapped and the instructions each
/// call of the `count` pass executed.
pub(super) fn count(
    qemu: &Qemu,
    trace: &Path,
    progress: &Progress,
) -> Result<(Vec<Image>, Instructions)> {
    progress.show("bench: counting instructions (qemu-aarch64, one instruction per block)");
    // One instruction per translation block and no chaining: qemu logs
    // every executed guest instruction to `trace`.
    let log_every_instruction = [
        OsStr::new(qemu.one_insn_per_tb),
        OsStr::new("-d"),
        OsStr::new("exec,nochain"),
        OsStr::new("-D"),
        trace.as_os_str(),
    ];
    let mut count = qemu.command(&log_every_instruction, "count");
    let listing = run_program(&mut count, |_| {})?;
    let (images, calls) = parse_count_output(&listing)?;
    let log = std::fs::File::open(trace)
        .with_context(|| format!("qemu wrote no trace at {}", trace.display()))?;
    let ranges: Vec<Range<u64>> = images.iter().map(|i| i.range.clone()).collect();
    let runs = trace_runs(BufReader::new(log), &ranges)?;
    let instructions = instructions_per_call(&calls, &runs, &images)?;
    Ok((images, instructions))
}

/// An image as the program mapped it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Image {
    /// `ours` or `linux`.
    pub name: String,
    /// Its bytes in memory: base .. base + file size.
    pub range: Range<u64>,
}

impl Image {
    /// The file's size in bytes.
    pub(super) fn size(&self) -> u64 {
        self.range.end - self.range.start
    }
}

/// An `image NAME 0xBASE LEN` line.
fn parse_image(line: &str) -> Result<Option<Image>> {
    let Some(rest) = line.strip_prefix("image ") else {
        return Ok(None);
    };
    let parse = || -> Option<Image> {
        let mut words = rest.split_whitespace();
        let name = words.next()?.to_owned();
        let base = u64::from_str_radix(words.next()?.strip_prefix("0x")?, 16).ok()?;
        let len: u64 = words.next()?.parse().ok()?;
        Some(Image {
            name,
            range: base..base + len,
        })
    };
    parse()
        .map(Some)
        .with_context(|| format!("bad line {line:?}"))
}

/// A `call PASS IMAGE ROW` line of the count run: one call into an image.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    pass: String,
    image: String,
    row: String,
}

/// The count run's output: the images and the calls into them, in order.
fn parse_count_output(out: &str) -> Result<(Vec<Image>, Vec<Call>)> {
    let mut images = Vec::new();
    let mut calls = Vec::new();
    for line in out.lines() {
        if let Some(image) = parse_image(line)? {
            images.push(image);
        } else if let Some(rest) = line.strip_prefix("call ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let [pass, image, row] = words[..] else {
                bail!("bad line {line:?}");
            };
            calls.push(Call {
                pass: pass.to_owned(),
                image: image.to_owned(),
                row: row.to_owned(),
            });
        }
    }
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    ensure!(
        names == IMAGES,
        "the program named images {names:?}, not {IMAGES:?}:\n{out}"
    );
    Ok((images, calls))
}

/// The guest PC of a `qemu -d exec` line,
/// `Trace 0: 0x7f862ce00100 [0000000001009331/00000000004005c0/00000001/00000201] _start`
/// (the second field in the brackets); `None` for other lines.
fn trace_pc(line: &str) -> Result<Option<u64>> {
    if !line.starts_with("Trace ") {
        return Ok(None);
    }
    let pc = line
        .split_once('[')
        .and_then(|(_, rest)| rest.split('/').nth(1))
        .and_then(|pc| u64::from_str_radix(pc, 16).ok());
    pc.map(Some)
        .with_context(|| format!("bad trace line {line:?}"))
}

/// The runs of consecutive trace lines whose PC lies in one of `images`, in
/// order: (index of the image, instructions). A line outside every image
/// ends a run, and so does a line in another image.
fn trace_runs(trace: impl BufRead, images: &[Range<u64>]) -> Result<Vec<(usize, u64)>> {
    let mut runs: Vec<(usize, u64)> = Vec::new();
    let mut current = None;
    for line in trace.lines() {
        let Some(pc) = trace_pc(&line?)? else {
            continue;
        };
        let image = images.iter().position(|range| range.contains(&pc));
        match (image, current) {
            (Some(i), Some(c)) if i == c => runs.last_mut().expect("a run is open").1 += 1,
            (Some(i), _) => runs.push((i, 1)),
            (None, _) => {}
        }
        current = image;
    }
    Ok(runs)
}

/// Instructions per call of the `count` pass, per (call, image): the runs
/// matched one for one with the calls the program listed.
fn instructions_per_call(
    calls: &[Call],
    runs: &[(usize, u64)],
    images: &[Image],
) -> Result<Instructions> {
    ensure!(
        runs.len() == calls.len(),
        "the trace shows {} runs of instructions inside the images, the program made {} calls",
        runs.len(),
        calls.len()
    );
    let mut counts = BTreeMap::new();
    for (n, (call, &(image, instructions))) in calls.iter().zip(runs).enumerate() {
        ensure!(
            images[image].name == call.image,
            "call {n} ({} {}) ran in the {} image",
            call.image,
            call.row,
            images[image].name
        );
        if call.pass == "count" {
            counts.insert((call.row.clone(), call.image.clone()), instructions);
        }
    }
    ensure!(!counts.is_empty(), "the program listed no `count` call");
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: u64 = 0x55_0080_9000;
    const LINUX: u64 = 0x55_0080_c000;

    fn line(pc: u64) -> String {
        format!("Trace 0: 0x7fc9f8000100 [0000000000001001/{pc:016x}/00000001/00000201] \n")
    }

    #[test]
    fn the_pc_is_the_second_bracketed_field_of_trace_lines() {
        let l =
            "Trace 0: 0x7f862ce00100 [0000000001009331/00000000004005c0/00000001/00000201] _start";
        assert_eq!(trace_pc(l).unwrap(), Some(0x4005c0));
        assert_eq!(
            trace_pc("Linking TBs 0x1 [0x2] index 0 -> 0x3 [0x4]").unwrap(),
            None
        );
        assert!(trace_pc("Trace 0: 0x7f862ce00100 [garbage]").is_err());
    }

    #[test]
    fn each_maximal_run_inside_one_image_is_one_call() {
        let ranges = [OURS..OURS + 3328, LINUX..LINUX + 3336];
        let mut trace = String::new();
        // Program code, then a call into ours (3 instructions), program code,
        // a call into Linux's (2), one back into ours (2) right after Linux's
        // with no program code between (a different image ends the run), a
        // line qemu prints besides, and the end of the image (excluded).
        for pc in [0x4005c0, OURS + 0x2d0, OURS + 0x2d4, OURS + 0x2d8, 0x4005c4] {
            trace.push_str(&line(pc));
        }
        trace.push_str(&line(LINUX + 0x2d0));
        trace.push_str("cpu_loop: unrelated line\n");
        trace.push_str(&line(LINUX + 0x2d4));
        trace.push_str(&line(OURS + 0x300));
        trace.push_str(&line(OURS + 0xcfc));
        trace.push_str(&line(OURS + 3328));
        trace.push_str(&line(LINUX + 3335));
        let runs = trace_runs(trace.as_bytes(), &ranges).unwrap();
        assert_eq!(runs, [(0, 3), (1, 2), (0, 2), (1, 1)]);
    }

    fn call(pass: &str, image: &str, row: &str) -> Call {
        Call {
            pass: pass.into(),
            image: image.into(),
            row: row.into(),
        }
    }

    #[test]
    fn runs_are_matched_to_the_listed_calls_and_only_the_count_pass_is_kept() {
        let out = "image ours 0x5500809000 3328\nimage linux 0x550080c000 3336\n\
                   call check ours gettimeofday\ncall warmup linux gettimeofday\n\
                   call count ours gettimeofday\ncall count linux gettimeofday\n";
        let (images, calls) = parse_count_output(out).unwrap();
        assert_eq!(images[1].range, LINUX..LINUX + 3336);
        assert_eq!(images[0].size(), 3328);
        assert_eq!(calls[2], call("count", "ours", "gettimeofday"));
        let counts =
            instructions_per_call(&calls, &[(0, 72), (1, 50), (0, 62), (1, 46)], &images).unwrap();
        assert_eq!(counts.len(), 2);
        assert_eq!(counts[&("gettimeofday".into(), "ours".into())], 62);
        assert_eq!(counts[&("gettimeofday".into(), "linux".into())], 46);
        // One run too few, or a run in the wrong image: refused.
        assert!(instructions_per_call(&calls, &[(0, 72), (1, 50), (0, 62)], &images).is_err());
        assert!(
            instructions_per_call(&calls, &[(0, 72), (1, 50), (1, 62), (1, 46)], &images).is_err()
        );
        assert!(parse_count_output("image ours 0x1 2\n").is_err());
        assert!(parse_count_output("image ours zz 2\nimage linux 0x1 2\n").is_err());
    }
}
