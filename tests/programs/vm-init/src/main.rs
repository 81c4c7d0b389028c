//! `vdso-vm-init`: PID 1 of the Linux VM in which the 32-bit clients run.
//!
//! qemu-arm (user mode) cannot read the Arm generic timer from AArch32, so
//! `xtask::linux_vm` boots Debian's real arm64 Linux (with `CONFIG_COMPAT`)
//! in `qemu-system-aarch64` with an initramfs whose `/init` is this static
//! aarch64 program. The program to run and its arguments (usually
//! `/vdso-exec [--fake-epoch SECS] -- /client ARGS`) are in the file
//! `/vm-argv`, each ended by a NUL byte; without that file they are
//! `argv[1..]`, the words after `--` on the kernel command line (which ends
//! them at a second `--`, so it cannot carry the harness's).
//!
//! It mounts proc, sysfs, devtmpfs and tracefs, prepares the
//! `raw_syscalls:sys_enter` event (compat tasks do not show up in
//! `syscalls:sys_enter_*` on arm64; `raw_syscalls` shows them with their
//! AArch32 numbers), then starts the program with stdout and stderr going to
//! files. Between fork and exec the child writes its own pid to
//! `set_event_pid` (with `options/event-fork`, its threads and children
//! follow) and turns tracing on, so the trace holds that process only, from
//! its own `execve` on. After the program ends tracing goes off and the
//! console gets the report, with output post-processing (`OPOST`, which
//! turns `\n` into `\r\n`) switched off so every byte arrives as it is:
//!
//! ```text
//! @@vdso-vm@@ exit status=N          (or: exit signal=N)
//! @@vdso-vm@@ stdout LEN             then LEN bytes and a newline
//! @@vdso-vm@@ stderr LEN             likewise
//! @@vdso-vm@@ trace LEN              likewise: the trace's event lines
//! @@vdso-vm@@ overrun N              events the ring buffer lost
//! @@vdso-vm@@ end
//! ```
//!
//! or `@@vdso-vm@@ error MESSAGE` when something failed, and then powers the
//! machine off. Every header starts a line of its own (a newline precedes
//! the first).

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::process::ExitCode;

#[cfg(target_arch = "aarch64")]
mod init;
#[cfg(target_arch = "aarch64")]
mod sys;

fn main() -> ExitCode {
    #[cfg(target_arch = "aarch64")]
    init::run();

    #[cfg(not(target_arch = "aarch64"))]
    {
        eprintln!("vdso-vm-init is the aarch64 VM's /init; nothing to do here");
        ExitCode::from(2)
    }
}
