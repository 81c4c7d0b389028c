//! `cargo xtask bench`: our image against Linux's own arm64 vDSO and the
//! raw syscall, under `qemu-aarch64`.
//!
//! Builds `vdso-bench` (`tests/programs/bench`) for aarch64, fetches Linux's image
//! ([`xtask::linux_vdso::fetch`]) and runs the program twice:
//!
//! 1. **Time** ([`run`]): `qemu-aarch64 -cpu CPU vdso-bench time LINUX
//!    REPEATS CALLS`. In one process, for each of nine calls
//!    (`clock_gettime` of the seven served clocks, `gettimeofday`,
//!    `clock_getres`) and each way of making it (our image, Linux's, the raw
//!    `svc`), interleaved and repeated, it times `CALLS` back-to-back calls
//!    with the host's clock (the raw `clock_gettime` syscall; its docs say
//!    why not `CNTVCT_EL0`). Each sample gives one ns/call; the table shows
//!    the median over the repeats, with min and max.
//! 2. **Count** ([`trace`]): `qemu-aarch64 -cpu CPU -singlestep -d
//!    exec,nochain -D LOG vdso-bench count LINUX`. With one instruction per
//!    translation block and no chaining, qemu logs every executed guest
//!    instruction (`Trace 0: 0x… [cs_base/PC/flags/cflags] symbol`). The
//!    program prints where each image is mapped and every call it makes into
//!    them, in order; a maximal run of consecutive instructions inside one
//!    image is one call (the functions call nothing outside themselves on the
//!    fast path, and a syscall fallback's `svc` does not leave the run), so
//!    the runs and the calls must match one for one. The trace stays in
//!    `target/bench/exec.log` (some 30 MB).
//!
//! The CPU is `cortex-a72` unless `--cpu` says otherwise: a real core
//! (the one the example kernel boots on) without pointer authentication.
//! Linux's image starts and ends every function with `paciasp`/`autiasp`:
//! hints that such a core executes as `nop`s and a core with PAuth in a
//! cycle or so, but that qemu's default `max` CPU emulates with the QARMA
//! cipher in software, which makes Linux's image look 20 times slower than
//! it is. `--cpu max` shows that.
//!
//! 3. **getrandom in Linux 6.12** ([`vm`]): getrandom of 32 and 4096 bytes
//!    through Linux 6.12's own vDSO, ours in its place and the syscall,
//!    timed inside the Linux VM, where alone Linux's image serves it.
//!
//! Output ([`report`], [`chart`]): the Markdown table on stdout, [`JSON`]
//! and [`SVG`], and one progress line on stderr while it runs. Times under
//! TCG emulation are emulation times: they rank the variants on this
//! machine, not on a real core; the instruction counts are exact and
//! machine-independent.

mod chart;
mod report;
mod run;
mod trace;
mod vm;

use anyhow::Result;
use xshell::Shell;
use xtask::prereq;

use report::Results;
use run::{Progress, Qemu};

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
    /// Benchmark our FEAT_ECV image (`loader::ecv`: counter reads from
    /// `CNTVCTSS_EL0`, no `isb`) as `ours`, under Debian 13's qemu-aarch64
    /// (fetched into `target/trixie/`), whose `-cpu max` has FEAT_ECV.
    /// Needs `--cpu max`.
    #[arg(long)]
    pub ecv: bool,
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

        if self.ecv && self.cpu != "max" {
            anyhow::bail!("--ecv needs --cpu max: only that model has FEAT_ECV");
        }
        let binary = if self.ecv {
            xtask::trixie::qemu_aarch64(sh)?
        } else {
            "qemu-aarch64".into()
        };
        let qemu = Qemu {
            binary: &binary,
            ecv: self.ecv,
            one_insn_per_tb: if self.ecv {
                "-one-insn-per-tb"
            } else {
                "-singlestep"
            },
            cpu: &self.cpu,
            program: &program,
            anchor: &anchor.path,
        };
        let timing = run::time(&qemu, self.repeats, self.calls, &progress)?;
        let (images, instructions) = trace::count(&qemu, &root.join(TRACE), &progress)?;
        progress.clear();
        eprintln!("bench: getrandom inside Debian's Linux 6.12 (qemu-system-aarch64)");
        let vm = Some(vm::time(sh)?);

        let results = Results {
            qemu: run::qemu_version(&binary)?,
            cpu: if self.ecv {
                format!("{} (ours: the FEAT_ECV image)", self.cpu)
            } else {
                self.cpu.clone()
            },
            linux_package: anchor.package,
            timing,
            images,
            instructions,
            vm,
        };
        print!("{}", results.markdown());
        std::fs::write(root.join(JSON), results.json()?)?;
        std::fs::write(root.join(SVG), chart::svg(&results)?)?;
        println!("\nWritten: {JSON}, {SVG}");
        Ok(())
    }
}
