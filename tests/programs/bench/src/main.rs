//! `vdso-bench`: the benchmark's aarch64 side.
//!
//! ```text
//! vdso-bench time LINUX_VDSO REPEATS CALLS
//! vdso-bench count LINUX_VDSO
//! ```
//!
//! One static aarch64 process, run under `qemu-aarch64`, maps our image
//! ([`loader::IMAGE_PADDED`]) and Linux's own arm64 vDSO (`LINUX_VDSO`, from
//! `xtask::linux_vdso::fetch`) side by side, each on its own data page with
//! its own [`loader::Writer`] (`vdso_dropin::pair`, the drop-in test's
//! setup), checks that both answer every benchmarked call from the page,
//! and then:
//!
//! - `time`: times `CALLS` back-to-back calls (a *sample*) of each function
//!   through our image, Linux's image and the raw `svc` syscall,
//!   interleaved, `REPEATS` times;
//! - `count`: calls each function once through each image, after a
//!   warm-up pass, for `qemu-aarch64 -singlestep -d exec,nochain` to trace:
//!   the instructions executed inside an image's mapping are the call's.
//!
//! The output is for `cargo xtask bench` (`xtask/src/bench/`), which
//! runs both modes and turns it into the table, `bench.json` and
//! `bench.svg`: one fact per line on stdout, progress on stderr; see its
//! `run.rs` (time) and `trace.rs` (count). Exit status 0, 1 if the setup
//! failed, 2 for a bad command line.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(target_arch = "aarch64")]
mod bench;

fn main() {
    #[cfg(target_arch = "aarch64")]
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let usage = || -> ! {
            eprintln!(
                "usage: vdso-bench time LINUX_VDSO REPEATS CALLS\n       vdso-bench count LINUX_VDSO"
            );
            std::process::exit(2)
        };
        let number = |i: usize| match args[i].parse() {
            Ok(n) if n > 0 => n,
            _ => usage(),
        };
        let status = match (args.first().map(String::as_str), args.get(1)) {
            (Some("time"), Some(linux)) if args.len() == 4 => {
                bench::time(std::path::Path::new(linux), number(2), number(3))
            }
            (Some("count"), Some(linux)) if args.len() == 2 => {
                bench::count(std::path::Path::new(linux))
            }
            _ => usage(),
        };
        std::process::exit(status);
    }

    #[cfg(not(target_arch = "aarch64"))]
    {
        eprintln!("vdso-bench runs only on aarch64 (e.g. under qemu-aarch64); nothing to do here");
        std::process::exit(2);
    }
}
