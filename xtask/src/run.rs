//! `cargo xtask run`: run any static aarch64 program with our vDSO.
//!
//! Builds the exec harness (`tests/exec-harness`, binary `vdso-exec`) for
//! aarch64 and runs
//!
//! ```text
//! qemu-aarch64 [-strace] vdso-exec [--fake-epoch SECS] -- PROGRAM [ARGS...]
//! ```
//!
//! in the caller's working directory (so relative program paths mean what
//! they say), with stdin, stdout and stderr inherited, and exits with the
//! program's exit status (128 + N if signal N killed it, as a shell says).
//! The harness itself rejects what it cannot run (a missing file, a script,
//! another architecture, a dynamically linked program) with one line on
//! stderr and status 126 or 127.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};

use anyhow::{Context, Result};
use xshell::Shell;
use xtask::prereq;

/// What `cargo xtask run` was asked to do (its command line).
#[derive(clap::Args)]
pub struct Run {
    /// Publish this REALTIME, in seconds since the epoch, instead of the
    /// host's (TAI keeps the host's offset; the other clocks are the host's).
    /// 2000000000 is 2033-05-18T03:33:20Z: a program that prints that date
    /// got it from the data page, not from a syscall.
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub fake_epoch: Option<i64>,
    /// Run under `qemu-aarch64 -strace`: every syscall on stderr. The
    /// harness's last one is `faccessat(AT_FDCWD,"/vdso-exec/client-start",...)`;
    /// after it, a program using the vDSO shows no clock_gettime or
    /// gettimeofday for the served clocks.
    #[arg(long)]
    pub strace: bool,
    /// The program: a static aarch64 ELF executable (glibc, musl or Go;
    /// static or static-pie).
    #[arg(value_name = "PROGRAM")]
    pub program: OsString,
    /// Its arguments, passed on as they are.
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<OsString>,
}

impl Run {
    /// Builds the harness, runs the program, and exits with its status.
    pub fn run(self, sh: &Shell) -> Result<()> {
        prereq::ensure(sh, prereq::TEST)?;
        let harness = xtask::build_aarch64_bin(sh, "vdso-exec")?;
        let mut qemu = Command::new("qemu-aarch64");
        if self.strace {
            qemu.arg("-strace");
        }
        qemu.arg(&harness);
        if let Some(secs) = self.fake_epoch {
            qemu.arg("--fake-epoch").arg(secs.to_string());
        }
        qemu.arg("--").arg(&self.program).args(&self.args);
        eprintln!("$ {qemu:?}");
        let status = qemu
            .status()
            .with_context(|| format!("cannot start {qemu:?}"))?;
        std::process::exit(exit_code(status));
    }
}

/// The status a shell would report: the exit code, or 128 + N for a
/// program killed by signal N (qemu-user re-raises the guest's fatal signal
/// on itself).
fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_passes_through_and_a_signal_becomes_128_plus_n() {
        // Raw wait statuses: exit code in bits 8..16, terminating signal in 0..7.
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(11)), 139);
    }
}
