//! `cargo xtask bench`: our image against Linux's own arm64 vDSO and the
//! raw syscall, under `qemu-aarch64`.
//!
//! Builds `vdso-bench` (`tests/bench`) for aarch64, fetches Linux's image
//! ([`xtask::linux_vdso::fetch`]) and runs the program twice:
//!
//! 1. **Time**: `qemu-aarch64 -cpu CPU vdso-bench time LINUX REPEATS CALLS`.
//!    In one process, for each of nine calls (`clock_gettime` of the seven
//!    served clocks, `gettimeofday`, `clock_getres`) and each way of making
//!    it (our image, Linux's, the raw `svc`), interleaved and repeated, it
//!    times `CALLS` back-to-back calls with the host's clock (the raw
//!    `clock_gettime` syscall; its docs say why not `CNTVCT_EL0`). Each
//!    sample gives one ns/call; the table shows the median over the
//!    repeats, with min and max.
//! 2. **Count**: `qemu-aarch64 -cpu CPU -singlestep -d exec,nochain -D LOG
//!    vdso-bench count LINUX`. With one instruction per translation block
//!    and no chaining, qemu logs every executed guest instruction
//!    (`Trace 0: 0x… [cs_base/PC/flags/cflags] symbol`). The program prints
//!    where each image is mapped and every call it makes into them, in
//!    order; a maximal run of consecutive instructions inside one image is
//!    one call (the functions call nothing outside themselves on the fast
//!    path, and a syscall fallback's `svc` does not leave the run), so the
//!    runs and the calls must match one for one ([`instructions_per_call`]).
//!    The trace stays in `target/bench/exec.log` (some 30 MB).
//!
//! The CPU is `cortex-a72` unless `--cpu` says otherwise: a real core
//! (the one the example kernel boots on) without pointer authentication.
//! Linux's image starts and ends every function with `paciasp`/`autiasp`:
//! hints that such a core executes as `nop`s and a core with PAuth in a
//! cycle or so, but that qemu's default `max` CPU emulates with the QARMA
//! cipher in software, which makes Linux's image look 20 times slower than
//! it is. `--cpu max` shows that.
//!
//! Output: the Markdown table on stdout, [`JSON`] and [`SVG`], and one
//! progress line on stderr while it runs. Times under TCG emulation are
//! emulation times: they rank the variants on this machine, not on a real
//! core; the instruction counts are exact and machine-independent.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::ops::Range;
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use xshell::Shell;
use xtask::prereq;

/// Where the results go (relative to the root).
const OUT_DIR: &str = "target/bench";
/// The JSON results.
pub const JSON: &str = "target/bench/bench.json";
/// The bar chart.
pub const SVG: &str = "target/bench/bench.svg";
/// qemu's instruction trace of the count run.
const TRACE: &str = "target/bench/exec.log";

/// The three ways to make a call, as the program names them, and as the
/// table names them.
const VARIANTS: [(&str, &str); 3] = [("ours", "ours"), ("linux", "Linux"), ("syscall", "syscall")];
/// The images, as the program names them.
const IMAGES: [&str; 2] = ["ours", "linux"];

/// `cargo xtask bench`'s command line.
#[derive(clap::Args)]
pub struct Bench {
    /// Samples per call and variant (the median is taken over them).
    #[arg(long, default_value_t = 501, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeats: u32,
    /// Back-to-back calls per sample.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    pub calls: u32,
    /// The CPU model qemu-aarch64 emulates (`-cpu`). The default has no
    /// pointer authentication, so Linux's `paciasp`/`autiasp` are `nop`s as
    /// on such a core; `max` emulates them in software, slowly.
    #[arg(long, default_value = "cortex-a72")]
    pub cpu: String,
}

impl Bench {
    /// Runs the benchmark: prints the table, writes [`JSON`] and [`SVG`].
    pub fn run(&self, sh: &Shell) -> Result<()> {
        prereq::ensure(sh, prereq::TEST)?;
        let progress = Progress::new();
        eprintln!("bench: fetching Linux's arm64 vDSO, building vdso-bench (aarch64)");
        let anchor = xtask::linux_vdso::fetch(sh)?;
        let program = xtask::build_aarch64_bin(sh, "vdso-bench")?;
        let root = xtask::project_root();
        std::fs::create_dir_all(root.join(OUT_DIR))?;

        progress.show("bench: timing");
        let mut time = Command::new("qemu-aarch64");
        time.args(["-cpu", &self.cpu])
            .arg(&program)
            .arg("time")
            .arg(&anchor.path)
            .arg(self.repeats.to_string())
            .arg(self.calls.to_string());
        let timing = run_program(&mut time, |done| {
            progress.show(&format!("bench: timing, repeat {done}"));
        })?;
        let timing = Timing::parse(&timing)?;

        progress.show("bench: counting instructions (qemu-aarch64 -singlestep)");
        let trace = root.join(TRACE);
        let mut count = Command::new("qemu-aarch64");
        count
            .args(["-cpu", &self.cpu, "-singlestep", "-d", "exec,nochain", "-D"])
            .arg(&trace)
            .arg(&program)
            .arg("count")
            .arg(&anchor.path);
        let listing = run_program(&mut count, |_| {})?;
        let (images, calls) = parse_count_output(&listing)?;
        let log = std::fs::File::open(&trace)
            .with_context(|| format!("qemu wrote no trace at {}", trace.display()))?;
        let ranges: Vec<Range<u64>> = images.iter().map(|i| i.range.clone()).collect();
        let runs = trace_runs(BufReader::new(log), &ranges)?;
        let instructions = instructions_per_call(&calls, &runs, &images)?;
        progress.clear();

        let qemu = Command::new("qemu-aarch64").arg("--version").output()?;
        let qemu = String::from_utf8_lossy(&qemu.stdout);
        let results = Results {
            qemu: qemu.lines().next().unwrap_or("qemu-aarch64").to_owned(),
            cpu: self.cpu.clone(),
            linux_package: anchor.package,
            timing,
            images,
            instructions,
        };
        print!("{}", results.markdown());
        let json = root.join(JSON);
        std::fs::write(&json, results.json())?;
        let svg = root.join(SVG);
        std::fs::write(&svg, results.svg())?;
        println!("\nWritten: {JSON}, {SVG}");
        Ok(())
    }
}

/// The progress line of the qemu runs, on stderr: rewritten in place on a
/// terminal; elsewhere one line per phase.
struct Progress {
    terminal: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Shows `text`; off a terminal, only the start of each phase (the
    /// text up to a comma).
    fn show(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[K{text}");
            let _ = err.flush();
        } else if !text.contains(',') {
            let _ = writeln!(err, "{text}");
        }
    }

    fn clear(&self) {
        if self.terminal {
            eprint!("\r\x1b[K");
        }
    }
}

/// Runs the program under qemu: returns its stdout, passes its
/// `progress R/N` lines to `on_progress`, and fails with the rest of its
/// stderr if it fails.
fn run_program(command: &mut Command, mut on_progress: impl FnMut(&str)) -> Result<String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let mut stdout = child.stdout.take().context("no stdout")?;
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

/// An image as the program mapped it.
#[derive(Debug, Clone, PartialEq)]
struct Image {
    /// `ours` or `linux`.
    name: String,
    /// Its bytes in memory: base .. base + file size.
    range: Range<u64>,
}

impl Image {
    /// The file's size in bytes.
    fn size(&self) -> u64 {
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

/// The time run's output: ns/call samples per (call, variant).
#[derive(Debug)]
struct Timing {
    calls: u64,
    repeats: u64,
    /// The calls, in the program's order.
    rows: Vec<String>,
    /// ns/call of every sample, per (call, variant).
    samples: BTreeMap<(String, String), Vec<f64>>,
}

impl Timing {
    fn parse(out: &str) -> Result<Timing> {
        let mut numbers = BTreeMap::new();
        let mut rows: Vec<String> = Vec::new();
        let mut totals: Vec<(String, String, u64)> = Vec::new();
        for line in out.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[..] {
                [key @ ("calls" | "repeats"), n] => {
                    numbers.insert(key, n.parse::<u64>().with_context(|| line.to_owned())?);
                }
                ["sample", _repeat, row, variant, n] => {
                    if !rows.iter().any(|r| r == row) {
                        rows.push(row.to_owned());
                    }
                    let n = n.parse().with_context(|| line.to_owned())?;
                    totals.push((row.to_owned(), variant.to_owned(), n));
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
        for (row, variant, ns) in totals {
            let per_call = ns as f64 / calls as f64;
            samples.entry((row, variant)).or_default().push(per_call);
        }
        for row in &rows {
            for (variant, _) in VARIANTS {
                let got = samples
                    .get(&(row.clone(), variant.to_owned()))
                    .map_or(0, Vec::len);
                ensure!(
                    got as u64 == repeats,
                    "{row} through {variant}: {got} samples, not {repeats}"
                );
            }
        }
        ensure!(!rows.is_empty(), "the program printed no samples:\n{out}");
        Ok(Timing {
            calls,
            repeats,
            rows,
            samples,
        })
    }

    fn stats(&self, row: &str, variant: &str) -> Stats {
        Stats::of(&self.samples[&(row.to_owned(), variant.to_owned())])
    }
}

/// Median, min and max of some samples.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    /// The statistics of `values` (not empty); the median of an even
    /// number of values is the mean of the middle two.
    fn of(values: &[f64]) -> Stats {
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
) -> Result<BTreeMap<(String, String), u64>> {
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

/// Everything measured.
struct Results {
    qemu: String,
    cpu: String,
    linux_package: String,
    timing: Timing,
    images: Vec<Image>,
    /// Per (call, image).
    instructions: BTreeMap<(String, String), u64>,
}

impl Results {
    fn instructions(&self, row: &str, image: &str) -> Option<u64> {
        self.instructions
            .get(&(row.to_owned(), image.to_owned()))
            .copied()
    }

    fn ratios(&self, row: &str) -> (f64, f64) {
        let [ours, linux, syscall] = VARIANTS.map(|(v, _)| self.timing.stats(row, v).median);
        (ours / linux, syscall / ours)
    }

    fn size(&self, image: &str) -> u64 {
        self.images
            .iter()
            .find(|i| i.name == image)
            .map_or(0, Image::size)
    }

    fn markdown(&self) -> String {
        let t = &self.timing;
        let mut out = String::new();
        out.push_str(
            "| call | ours ns/call | Linux ns/call | syscall ns/call | ours/Linux | syscall/ours \
             | instructions ours | instructions Linux |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for row in &t.rows {
            let [ours, linux, syscall] = VARIANTS.map(|(v, _)| {
                let s = t.stats(row, v);
                format!("{:.1} [{:.1}–{:.1}]", s.median, s.min, s.max)
            });
            let (ours_linux, syscall_ours) = self.ratios(row);
            let [i_ours, i_linux] = IMAGES.map(|image| {
                self.instructions(row, image)
                    .map_or("?".to_owned(), |n| n.to_string())
            });
            let _ = writeln!(
                out,
                "| `{row}` | {ours} | {linux} | {syscall} | {ours_linux:.2} | {syscall_ours:.2} \
                 | {i_ours} | {i_linux} |"
            );
        }
        let _ = write!(
            out,
            "\nImage sizes: ours {} bytes (`loader/vdso.so`), Linux's {} bytes ({}).\n\
             ns/call: median [min–max] over {} samples of {} back-to-back calls, interleaved, \
             timed with the host's clock; {}, `-cpu {}` (TCG emulation: compare the columns, \
             not with hardware). Instructions: executed per call, counted by qemu.\n",
            self.size("ours"),
            self.size("linux"),
            self.linux_package,
            t.repeats,
            t.calls,
            self.qemu,
            self.cpu,
        );
        out
    }

    fn json(&self) -> String {
        let t = &self.timing;
        let mut out = String::new();
        let _ = write!(
            out,
            "{{\n  \"qemu\": {},\n  \"cpu\": {},\n  \
             \"calls_per_sample\": {},\n  \"repeats\": {},\n  \"images\": {{\n    \
             \"ours\": {{\"bytes\": {}, \"source\": \"loader/vdso.so\"}},\n    \
             \"linux\": {{\"bytes\": {}, \"source\": {}}}\n  }},\n  \"rows\": [",
            json_string(&self.qemu),
            json_string(&self.cpu),
            t.calls,
            t.repeats,
            self.size("ours"),
            self.size("linux"),
            json_string(&self.linux_package),
        );
        for (n, row) in t.rows.iter().enumerate() {
            let separator = if n == 0 { "" } else { "," };
            let ns: Vec<String> = VARIANTS
                .iter()
                .map(|(v, _)| {
                    let s = t.stats(row, v);
                    format!(
                        "\"{v}\": {{\"median\": {:.3}, \"min\": {:.3}, \"max\": {:.3}}}",
                        s.median, s.min, s.max
                    )
                })
                .collect();
            let instructions: Vec<String> = IMAGES
                .iter()
                .map(|image| {
                    let n = self
                        .instructions(row, image)
                        .map_or("null".to_owned(), |n| n.to_string());
                    format!("\"{image}\": {n}")
                })
                .collect();
            let (ours_linux, syscall_ours) = self.ratios(row);
            let _ = write!(
                out,
                "{separator}\n    {{\n      \"call\": {},\n      \"ns_per_call\": {{{}}},\n      \
                 \"ratio_ours_linux\": {ours_linux:.4},\n      \
                 \"ratio_syscall_ours\": {syscall_ours:.4},\n      \
                 \"instructions_per_call\": {{{}}}\n    }}",
                json_string(row),
                ns.join(", "),
                instructions.join(", "),
            );
        }
        out.push_str("\n  ]\n}\n");
        out
    }

    fn svg(&self) -> String {
        let t = &self.timing;
        let rows: Vec<Chart> = t
            .rows
            .iter()
            .map(|row| Chart {
                label: row.clone(),
                ns: VARIANTS.map(|(v, _)| t.stats(row, v)),
                instructions: IMAGES.map(|image| self.instructions(row, image)),
            })
            .collect();
        let subtitle = [
            format!("{}, -cpu {}", self.qemu, self.cpu),
            format!(
                "ns: median (whiskers min–max) of {} samples of {} calls; images: ours {} bytes, \
                 Linux's {} bytes ({})",
                t.repeats,
                t.calls,
                self.size("ours"),
                self.size("linux"),
                self.linux_package
            ),
        ];
        svg_chart(&rows, &subtitle)
    }
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One row of the chart.
struct Chart {
    label: String,
    /// ours, Linux's, syscall.
    ns: [Stats; 3],
    /// ours, Linux's.
    instructions: [Option<u64>; 2],
}

/// Text with `&`, `<`, `>` escaped for XML.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A round axis step for values up to `max`: 1, 2 or 5 times a power of
/// ten, giving about five grid lines.
fn axis_step(max: f64) -> f64 {
    let rough = (max / 5.0).max(f64::MIN_POSITIVE);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&step| step >= rough)
        .unwrap_or(10.0 * power)
}

/// The chart: for every call, horizontal bars of ns/call (ours, Linux's,
/// syscall; whiskers from min to max, cut at the axis' end) and, in a second
/// panel, instructions per call (ours, Linux's).
fn svg_chart(rows: &[Chart], subtitle: &[String]) -> String {
    const COLORS: [&str; 3] = ["#1f77b4", "#ff7f0e", "#8c8c8c"];
    const LABEL_W: f64 = 260.0;
    const NS_W: f64 = 440.0;
    const GAP: f64 = 60.0;
    const INSTR_W: f64 = 240.0;
    const TOP: f64 = 104.0;
    const BAR: f64 = 11.0;
    const ROW_H: f64 = 3.0 * BAR + 14.0;
    let width = LABEL_W + NS_W + GAP + INSTR_W + 50.0;
    let height = TOP + ROW_H * rows.len() as f64 + 40.0;
    let ns_left = LABEL_W;
    let instr_left = LABEL_W + NS_W + GAP;

    let max_ns = rows
        .iter()
        .flat_map(|r| r.ns.iter().map(|s| s.median))
        .fold(0.0, f64::max);
    let ns_step = axis_step(max_ns * 1.1);
    let ns_max = (max_ns * 1.1 / ns_step).ceil() * ns_step;
    let max_instr = rows
        .iter()
        .flat_map(|r| r.instructions.iter().flatten())
        .copied()
        .max()
        .unwrap_or(1) as f64;
    let instr_step = axis_step(max_instr * 1.1);
    let instr_max = (max_instr * 1.1 / instr_step).ceil() * instr_step;
    let x_ns = |v: f64| ns_left + (v / ns_max).min(1.0) * NS_W;
    let x_instr = |v: f64| instr_left + (v / instr_max).min(1.0) * INSTR_W;
    let bottom = TOP + ROW_H * rows.len() as f64;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="22" font-size="16" font-weight="bold">vDSO calls under qemu-aarch64: our image, Linux's, the raw syscall</text>"#
    );
    for (n, line) in subtitle.iter().enumerate() {
        let _ = writeln!(
            s,
            r##"<text x="10" y="{}" font-size="11" fill="#444">{}</text>"##,
            40 + 14 * n,
            xml(line)
        );
    }
    for (i, name) in ["ours", "Linux's", "syscall"].iter().enumerate() {
        let x = 10.0 + i as f64 * 90.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="64" width="12" height="12" fill="{}"/><text x="{}" y="74">{name}</text>"#,
            COLORS[i],
            x + 16.0
        );
    }
    for (left, w, title) in [
        (ns_left, NS_W, "ns per call"),
        (instr_left, INSTR_W, "instructions per call"),
    ] {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle" font-weight="bold">{title}</text>"#,
            left + w / 2.0,
            TOP - 12.0
        );
    }
    // Grid lines and their values.
    for (step, max, x) in [
        (ns_step, ns_max, &x_ns as &dyn Fn(f64) -> f64),
        (instr_step, instr_max, &x_instr),
    ] {
        let mut v = 0.0;
        while v <= max + step / 2.0 {
            let xv = x(v);
            let _ = writeln!(
                s,
                r##"<line x1="{xv:.1}" y1="{TOP}" x2="{xv:.1}" y2="{bottom}" stroke="#ddd"/><text x="{xv:.1}" y="{}" text-anchor="middle" font-size="10" fill="#444">{v}</text>"##,
                bottom + 14.0
            );
            v += step;
        }
    }
    for (n, row) in rows.iter().enumerate() {
        let y0 = TOP + n as f64 * ROW_H + 7.0;
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LABEL_W - 8.0,
            y0 + 1.5 * BAR + 4.0,
            xml(&row.label)
        );
        for (i, stats) in row.ns.iter().enumerate() {
            let y = y0 + i as f64 * BAR;
            let x = x_ns(stats.median);
            let _ = writeln!(
                s,
                r#"<rect x="{ns_left}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{:.1} ns (min {:.1}, max {:.1})</title></rect>"#,
                x - ns_left,
                BAR - 1.0,
                COLORS[i],
                stats.median,
                stats.min,
                stats.max
            );
            let ym = y + BAR / 2.0 - 0.5;
            let _ = writeln!(
                s,
                r#"<line x1="{:.1}" y1="{ym:.1}" x2="{:.1}" y2="{ym:.1}" stroke="black" stroke-width="1"/>"#,
                x_ns(stats.min),
                x_ns(stats.max)
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" font-size="9">{:.1}</text>"#,
                x_ns(stats.max).max(x) + 3.0,
                y + BAR - 2.5,
                stats.median
            );
        }
        for (i, count) in row.instructions.iter().enumerate() {
            let Some(count) = count else { continue };
            let y = y0 + i as f64 * BAR;
            let x = x_instr(*count as f64);
            let _ = writeln!(
                s,
                r#"<rect x="{instr_left}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="9">{count}</text>"#,
                x - instr_left,
                BAR - 1.0,
                COLORS[i],
                x + 3.0,
                y + BAR - 2.5
            );
        }
    }
    s.push_str("</svg>\n");
    s
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
    fn axis_steps_are_round() {
        assert_eq!(axis_step(180.0), 50.0);
        assert_eq!(axis_step(70.0), 20.0);
        assert_eq!(axis_step(9.0), 2.0);
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
