//! `cargo xtask`: the project's automation, in Rust.
//!
//! `main` only parses the command line and dispatches; each command is its
//! own module.

use anyhow::Result;
use clap::{Parser, Subcommand};
use xshell::Shell;
use xtask::{build_vdso, prereq, stress};

mod bench;
mod run;
mod test;

/// Build, check and test the pure-Rust aarch64 vDSO.
#[derive(Parser)]
#[command(name = "cargo xtask", arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build both images, check them against the image rules
    /// (ARCHITECTURE.md) and write `loader/vdso.so` + `loader/src/offsets.rs`
    /// and `loader/vdso32.so` + `loader/src/compat_offsets.rs`.
    BuildVdso {
        /// Rebuild in a fresh directory and fail if the committed image or
        /// offsets differ by a byte; writes nothing.
        #[arg(long)]
        check: bool,
    },
    /// Run every check: fmt, clippy, host tests, `build-vdso --check`,
    /// conformance tests and the aarch64 run under qemu-aarch64.
    Test,
    /// Install the Debian packages the other commands need (as root).
    Prereqs,
    /// Run a static aarch64 program under qemu-aarch64 with our vDSO: the
    /// exec harness maps the image, publishes the time and starts the
    /// program, which then reads the clocks without system calls.
    ///
    /// With `--arch arm`, a static 32-bit Arm program runs instead in a
    /// Linux VM (Debian's arm64 kernel under qemu-system-aarch64) with the
    /// 32-bit harness and our compat image.
    ///
    /// Exits with the program's exit status. Example:
    /// `cargo xtask run --fake-epoch 2000000000 -- ./date`
    Run(run::Run),
    /// Benchmark our image against Linux's own arm64 vDSO and the raw
    /// syscall under qemu-aarch64: ns/call (median [min–max]) and
    /// instructions per call for every served clock, gettimeofday and
    /// clock_getres, and the image sizes. Prints a Markdown table; writes
    /// target/bench/bench.json and target/bench/bench.svg.
    Bench(bench::Bench),
    /// Download Debian's linux-image-*-arm64 (no install), carve out
    /// Linux's own arm64 vDSO (the benchmark's anchor) into
    /// target/linux-vdso/, and print its path, package and size.
    LinuxVdso,
    /// Seqlock stress under qemu-aarch64: one writer thread rewrites the
    /// data page as fast as it can while reader threads call the vDSO.
    /// Runs `torn` (two timelines far apart: every answer must lie on one)
    /// and `monotonic` (realistic ticks with a changing mult: clocks never
    /// decrease) against our image, then `torn` against the negative
    /// control, an image built without the seqlock re-check, which must be
    /// caught tearing. Prints reads, overlapped calls and violations.
    Stress(stress::Stress),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let sh = Shell::new()?;
    sh.change_dir(xtask::project_root());
    match cli.command {
        Command::BuildVdso { check } => build_vdso::run(&sh, check),
        Command::Test => test::run(&sh),
        Command::Prereqs => prereq::ensure(&sh, prereq::TEST),
        Command::Run(run) => run.run(&sh),
        Command::Bench(bench) => bench.run(&sh),
        Command::Stress(stress) => stress.run(&sh),
        Command::LinuxVdso => {
            let anchor = xtask::linux_vdso::fetch(&sh)?;
            println!(
                "{} ({}, {} bytes)",
                anchor.path.display(),
                anchor.package,
                anchor.size
            );
            Ok(())
        }
    }
}
