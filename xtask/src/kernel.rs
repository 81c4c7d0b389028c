//! The example kernel (`tests/templates/kernel`, package `vdso-kernel`): its build,
//! with user programs embedded, and its boot under `qemu-system-aarch64`.
//! Used by `cargo xtask run --kernel` and by `tests/tests/kernel.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use xshell::Shell;

use crate::abi::Abi;
use crate::cross;

/// Where the kernel is built (its flags differ from the other aarch64
/// programs', so it has a target directory of its own).
pub const TARGET_DIR: &str = "target/kernel";
/// The emulator.
pub const QEMU: &str = "qemu-system-aarch64";

/// Builds the kernel with `programs` embedded, each as `(name, file)`: the
/// command line's `-- NAME` picks one. Returns the kernel's path.
pub fn build(sh: &Shell, programs: &[(&str, &Path)]) -> Result<PathBuf> {
    let mut list = Vec::new();
    for (name, file) in programs {
        if name.is_empty() || name.contains([',', '=']) || name.contains(char::is_whitespace) {
            bail!("program name {name:?}: use letters, digits, `-`, `_`, `.`");
        }
        let file = std::fs::canonicalize(file)
            .with_context(|| format!("program {name}: {}", file.display()))?;
        let file = file.to_str().context("non-UTF-8 path")?.to_owned();
        if file.contains(',') {
            bail!("program {name}: a path with `,` cannot be embedded: {file}");
        }
        list.push(format!("{name}={file}"));
    }
    let list = list.join(",");
    // A static, non-PIE executable linked where qemu loads it
    // (`kernel.ld`), with no unwinding.
    cross::build(
        sh,
        Abi::Aarch64,
        "vdso-kernel",
        cross::KERNEL,
        TARGET_DIR,
        &[("VDSO_KERNEL_PROGRAMS", &list)],
    )
}

/// The CPU the kernel boots on: a plain ARMv8.0 core, like most hardware
/// a small kernel meets.
pub const CPU: &str = "cortex-a72";
/// The CPU for `bti` boots: qemu's `max` implements FEAT_BTI.
pub const BTI_CPU: &str = "max";

/// The command that boots `kernel` on [`CPU`] with `cmdline` (qemu's
/// `-append`, read by the kernel: `[counter=cntvct|cntpct]
/// [image=plain|cntpct] [hz=N] [epoch=SECS] [stamp] [bti] -- NAME [ARGS...]`).
pub fn qemu(kernel: &Path, cmdline: &str) -> Command {
    qemu_on(kernel, CPU, cmdline)
}

/// [`qemu`] on another CPU model: the `virt` machine with `cpu` and
/// 128 MiB, the serial console on stdout, no display, no reboot.
pub fn qemu_on(kernel: &Path, cpu: &str, cmdline: &str) -> Command {
    let mut qemu = Command::new(QEMU);
    qemu.args(["-M", "virt", "-cpu", cpu, "-m", "128M"])
        .args(["-nographic", "-no-reboot", "-monitor", "none"])
        .arg("-kernel")
        .arg(kernel)
        .arg("-append")
        .arg(cmdline);
    qemu
}

/// How the kernel said its process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `kernel: exit status=N`.
    Status(u8),
    /// `kernel: exit signal=N`.
    Signal(u32),
}

impl Exit {
    /// The status a shell would report (128 + N for signal N).
    pub fn code(self) -> i32 {
        match self {
            Exit::Status(s) => i32::from(s),
            Exit::Signal(n) => 128 + n as i32,
        }
    }
}

/// The process's end as one console line says it, if it is that line.
pub fn exit_line(line: &str) -> Option<Exit> {
    let rest = line.trim_end().strip_prefix("kernel: exit ")?;
    if let Some(n) = rest.strip_prefix("status=") {
        return n.parse().ok().map(Exit::Status);
    }
    rest.strip_prefix("signal=")?.parse().ok().map(Exit::Signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_lines_are_recognised_and_nothing_else() {
        assert_eq!(exit_line("kernel: exit status=3"), Some(Exit::Status(3)));
        assert_eq!(
            exit_line("kernel: exit signal=11\r"),
            Some(Exit::Signal(11))
        );
        assert_eq!(Exit::Signal(11).code(), 139);
        assert_eq!(exit_line("exit status=3"), None);
        assert_eq!(exit_line("kernel: exit status=300"), None);
        assert_eq!(exit_line("kernel: exit later"), None);
    }
}
