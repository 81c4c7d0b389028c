//! `vdso-hostile`: bad arguments and hostile data pages (issue 7, parts 2
//! and 3).
//!
//! ```text
//! [VDSO_HOSTILE_SEED=N] vdso-hostile
//! ```
//!
//! One static aarch64 process, run under `qemu-aarch64`, maps our image
//! ([`loader::IMAGE_PADDED`]) as Linux arm64 maps a vDSO, with its own data
//! page (`vdso_dropin::pair::Vdso`), and then:
//!
//! 1. **Differential** (`differential.rs`): with the host's real clocks
//!    published, every clock id in `-64..=64` plus `i32::MIN` and `i32::MAX`
//!    through `clock_gettime` (with a buffer and with NULL) and
//!    `clock_getres` (with a buffer and with NULL), and `gettimeofday` with
//!    every combination of NULL pointers: the return value equals the raw
//!    syscall's, resolutions and timezones are equal, times lie between two
//!    syscall reads of the same clock (widened only by the measured
//!    publication error).
//! 2. **Hostile pages** (`pages.rs`): the page is rewritten field by field
//!    into each listed hostile shape (unknown `clock_mode`s, zero `mult`
//!    and `mask`, `shift` 0 and ≥ 64, `seq` stuck odd, all-zero and
//!    all-ones pages, random pages, ...). Every answer must be the correct
//!    time for that page (computed here from the page's fields in `u128`)
//!    or the syscall's answer; the program must not crash (which would lose
//!    the summary line) or hang (the host test has a timeout; `seq` stuck
//!    odd is timed). One `case ...` line per page says where each call's
//!    answer came from.
//!
//! Output (as `vdso-probe`): one `ok <name>` or `FAIL <name>: <detail>` line
//! per check and one `case <page> | ...` line per hostile page on stdout,
//! notes on stderr, and last `N passed, M failed`; exit status 0 only if
//! nothing failed. The random pages come from `VDSO_HOSTILE_SEED` (a
//! decimal or `0x` number; a fixed default otherwise), printed first, so a
//! failing page can be replayed.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(target_arch = "aarch64")]
mod differential;
#[cfg(target_arch = "aarch64")]
mod host;
#[cfg(target_arch = "aarch64")]
mod pages;

fn main() {
    #[cfg(target_arch = "aarch64")]
    {
        let seed = match std::env::var("VDSO_HOSTILE_SEED") {
            Err(_) => pages::DEFAULT_SEED,
            Ok(text) => match pages::parse_seed(&text) {
                Some(seed) => seed,
                None => {
                    eprintln!("vdso-hostile: VDSO_HOSTILE_SEED={text:?} is not a number");
                    std::process::exit(2);
                }
            },
        };
        std::process::exit(run(seed));
    }

    #[cfg(not(target_arch = "aarch64"))]
    {
        eprintln!(
            "vdso-hostile runs only on aarch64 (e.g. under qemu-aarch64); nothing to do here"
        );
        std::process::exit(2);
    }
}

/// Maps the image and runs both parts; returns the exit status.
#[cfg(target_arch = "aarch64")]
fn run(seed: u64) -> i32 {
    use vdso_probe::report::Report;

    let started = std::time::Instant::now();
    let mut report = Report::default();
    println!("seed {seed:#x}");
    let mut host = match host::Host::map() {
        Ok(host) => host,
        Err(e) => {
            report.check("map our image", Err(e));
            return report.finish();
        }
    };
    report.check("map our image", Ok(()));
    host.describe(&report);
    differential::run(&mut host, &mut report);
    pages::run(&mut host, &mut report, seed);
    report.note(&format!(
        "wall time inside the program: {} ms",
        started.elapsed().as_millis()
    ));
    report.finish()
}
