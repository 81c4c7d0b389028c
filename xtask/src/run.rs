//! `cargo xtask run`: run any static aarch64 program with our vDSO.
//!
//! Builds the exec harness (`tests/templates/exec-harness`, binary `vdso-exec`) for
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
//!
//! With `--arch arm`, the program is a static 32-bit Arm (AArch32) one and
//! runs under Debian's real arm64 Linux in `qemu-system-aarch64`
//! (`xtask::linux_vm`: qemu-arm cannot read the Arm counter from AArch32),
//! as `/vdso-exec [--fake-epoch SECS] -- /client [ARGS...]` with the 32-bit
//! exec harness, which maps our compat image. Its stdout and stderr are
//! printed after the VM powers off (about two seconds), and `--strace`
//! prints the system calls the kernel traced (`raw_syscalls:sys_enter`) and
//! the clock system calls after the harness's marker.
//!
//! With `--kernel`, the program runs on the example kernel instead
//! (`tests/templates/kernel`): built with the program embedded and booted with
//!
//! ```text
//! qemu-system-aarch64 -M virt -cpu cortex-a72 ... -kernel vdso-kernel \
//!     -append "counter=cntvct|cntpct image=plain|cntpct [epoch=SECS] [bti] -- NAME [ARGS...]"
//! ```
//!
//! The console shows the program's output and the kernel's `kernel: ` lines,
//! ending with its report: exit status, timer ticks, and the clock system
//! calls per clock id. `cargo xtask run` exits with the status the kernel
//! reports.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{bail, Context, Result};
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
    /// The program's architecture: `aarch64` (under qemu-aarch64) or `arm`
    /// (a static 32-bit program, run in a Linux VM under
    /// qemu-system-aarch64 with the 32-bit harness and our compat image).
    #[arg(long, value_name = "ARCH", default_value = "aarch64", value_parser = ["aarch64", "arm"])]
    pub arch: String,
    /// Run under `qemu-aarch64 -strace`: every syscall on stderr. The
    /// harness's last one is `faccessat(AT_FDCWD,"/vdso-exec/client-start",...)`;
    /// after it, a program using the vDSO shows no clock_gettime or
    /// gettimeofday for the served clocks. With `--arch arm`: the system
    /// calls the VM's kernel traced, and the clock ones after the marker.
    #[arg(long, conflicts_with = "kernel")]
    pub strace: bool,
    /// Run the program on the example kernel (`tests/templates/kernel`) under
    /// qemu-system-aarch64 instead of qemu-aarch64: a static musl (or other
    /// static, Linux-syscall-only) program, whose clock syscalls the kernel
    /// counts per clock id.
    #[arg(long, conflicts_with = "arch")]
    pub kernel: bool,
    /// Run the static aarch64 program in a Linux VM on Debian's Linux 6.12
    /// arm64 kernel (the first with a getrandom vDSO) under
    /// qemu-system-aarch64, through the aarch64 exec harness and our image.
    /// With `--strace`: the system calls the VM's kernel traced.
    #[arg(long, conflicts_with_all = ["arch", "kernel"])]
    pub linux: bool,
    /// With `--kernel`: the counter the vDSO reads, `cntvct` (Linux's
    /// choice) or `cntpct` (the kernel then lets EL0 read only CNTPCT_EL0).
    #[arg(long, value_name = "COUNTER", requires = "kernel", value_parser = ["cntvct", "cntpct"])]
    pub counter: Option<String>,
    /// With `--kernel`: the image processes get, `plain` (`loader::IMAGE`) or
    /// `cntpct` (`loader::cntpct::IMAGE`, whose straight paths read
    /// CNTPCT_EL0: the fast one for `--counter cntpct`).
    #[arg(long, value_name = "IMAGE", requires = "kernel", value_parser = ["plain", "cntpct"])]
    pub image: Option<String>,
    /// With `--kernel`: map the vDSO image as guarded pages and enforce BTI
    /// at EL0 (boots `-cpu max`, which has FEAT_BTI): a call into the image
    /// that misses a `bti c` landing pad dies of SIGILL.
    #[arg(long, requires = "kernel")]
    pub bti: bool,
    /// The program: a static aarch64 ELF executable (glibc, musl or Go;
    /// static or static-pie); with `--arch arm`, a static 32-bit Arm one.
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
        if self.kernel {
            return self.run_on_kernel(sh);
        }
        if self.arch == "arm" || self.linux {
            return self.run_in_vm(sh);
        }
        let harness = xtask::cross::build_aarch64_bin(sh, "vdso-exec")?;
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

impl Run {
    /// `--arch arm` (Debian's 6.1, the 32-bit harness) and `--linux`
    /// (Debian's 6.12, the aarch64 harness): boots the Linux VM with the
    /// harness and the program, prints what the program wrote, and exits
    /// with its status.
    fn run_in_vm(&self, sh: &Shell) -> Result<()> {
        use xtask::linux_vm;
        let epoch = self.fake_epoch.map(|secs| secs.to_string());
        let mut harness_args = Vec::new();
        if let Some(epoch) = &epoch {
            harness_args.extend(["--fake-epoch", epoch.as_str()]);
        }
        let args = self
            .args
            .iter()
            .map(|a| a.to_str().context("arguments must be UTF-8"))
            .collect::<Result<Vec<_>>>()?;
        let program = Path::new(&self.program);
        eprintln!(
            "$ {} (Linux VM): /vdso-exec {} -- {} {}",
            linux_vm::QEMU,
            harness_args.join(" "),
            program.display(),
            args.join(" ")
        );
        let run = if self.linux {
            linux_vm::run_aarch64(sh, &harness_args, program, &args)?
        } else {
            linux_vm::run_arm(sh, &harness_args, program, &args)?
        };
        std::io::stdout().write_all(run.stdout.as_bytes())?;
        std::io::stdout().flush()?;
        std::io::stderr().write_all(run.stderr.as_bytes())?;
        if self.strace {
            print_vm_trace(&run);
        }
        if run.overrun > 0 {
            eprintln!("vm: the trace lost {} events", run.overrun);
        }
        let exit = match run.exit {
            xtask::kernel::Exit::Status(n) => format!("exit status {n}"),
            xtask::kernel::Exit::Signal(n) => format!("killed by signal {n}"),
        };
        eprintln!("vm: {exit}; booted and ran in {:.1?}", run.elapsed);
        std::process::exit(run.code());
    }

    /// `--kernel`: builds the kernel with the program embedded, boots it,
    /// passes the console through, and exits with the reported status.
    fn run_on_kernel(&self, sh: &Shell) -> Result<()> {
        let program = Path::new(&self.program);
        let name = program
            .file_name()
            .and_then(|n| n.to_str())
            .context("the program needs a UTF-8 file name")?;
        let kernel = xtask::kernel::build(sh, &[(name, program)])?;
        let mut cmdline = format!(
            "counter={} image={}",
            self.counter.as_deref().unwrap_or("cntvct"),
            self.image.as_deref().unwrap_or("plain")
        );
        if let Some(secs) = self.fake_epoch {
            if secs < 0 {
                bail!("--fake-epoch: the kernel takes seconds since 1970, not before");
            }
            cmdline.push_str(&format!(" epoch={secs}"));
        }
        if self.bti {
            cmdline.push_str(" bti");
        }
        cmdline.push_str(" -- ");
        cmdline.push_str(name);
        for arg in &self.args {
            let arg = arg.to_str().context("arguments must be UTF-8")?;
            if arg.is_empty() || arg.contains(char::is_whitespace) {
                bail!("argument {arg:?}: the kernel's command line splits at white space");
            }
            cmdline.push(' ');
            cmdline.push_str(arg);
        }
        let cpu = if self.bti {
            xtask::kernel::BTI_CPU
        } else {
            xtask::kernel::CPU
        };
        let mut qemu = xtask::kernel::qemu_on(&kernel, cpu, &cmdline);
        eprintln!("$ {qemu:?}");
        let mut child = qemu
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {qemu:?}"))?;
        let mut exit = None;
        let out = std::io::stdout();
        for line in BufReader::new(child.stdout.take().context("qemu's stdout")?).split(b'\n') {
            let line = line.context("reading qemu's output")?;
            let mut out = out.lock();
            out.write_all(&line)?;
            out.write_all(b"\n")?;
            exit = exit.or(xtask::kernel::exit_line(&String::from_utf8_lossy(&line)));
        }
        let status = child.wait()?;
        match exit {
            Some(exit) => std::process::exit(exit.code()),
            None => bail!("the kernel reported no exit status (qemu: {status})"),
        }
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

/// Prints the VM's trace of the run: with `--linux --strace`, the
/// program's system calls after the harness's marker, one per line, each
/// starting with its name and `(` as `qemu-aarch64 -strace` prints it;
/// with `--arch arm --strace`, every traced syscall (by number, the clock
/// ones named) and the clock syscalls after the marker.
fn print_vm_trace(run: &xtask::linux_vm::VmRun) {
    if run.abi == xtask::abi::Abi::Aarch64 {
        return print_vm_strace(run);
    }
    for call in &run.syscalls {
        let (name, note) = if call.is_marker(run.abi) {
            ("faccessat", "  <- the harness's marker")
        } else {
            (call.clock_name(run.abi).unwrap_or(""), "")
        };
        let a = call.args;
        eprintln!(
            "vm: [{}] NR {} {name}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}){note}",
            call.pid, call.nr, a[0], a[1], a[2], a[3], a[4], a[5]
        );
    }
    match run.after_marker() {
        None => eprintln!("vm: no harness marker in the trace"),
        Some(after) => {
            let clock: Vec<String> = after
                .iter()
                .filter_map(|c| match c.clock_name(run.abi)? {
                    "gettimeofday" => Some("gettimeofday".to_owned()),
                    // The clock id, as the 32-bit register holds it.
                    name => Some(format!("{name}({})", c.args[0] as u32 as i32)),
                })
                .collect();
            eprintln!(
                "vm: clock syscalls after the marker: {}",
                if clock.is_empty() {
                    "none".to_owned()
                } else {
                    clock.join(" ")
                }
            );
        }
    }
}

/// `--linux --strace`: every system call after the harness's marker as
/// [`strace_line`] writes it.
fn print_vm_strace(run: &xtask::linux_vm::VmRun) {
    match run.after_marker() {
        None => eprintln!("vm: no harness marker in the trace"),
        Some(after) => {
            for call in after {
                eprintln!("{}", strace_line(call));
            }
        }
    }
}

/// One traced 64-bit system call, as `qemu-aarch64 -strace` starts its
/// lines: `name(x0,x1,x2,x3,x4,x5)` in hex, after the thread's id
/// (`syscall_N` for a number without a name).
fn strace_line(call: &xtask::linux_vm::Syscall) -> String {
    let name = vdso_linux_sys::aarch64::name(call.nr)
        .map_or_else(|| format!("syscall_{}", call.nr), str::to_owned);
    let args: Vec<String> = call.args.iter().map(|a| format!("{a:#x}")).collect();
    format!("{} {name}({})", call.pid, args.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traced_64_bit_call_is_printed_by_name_as_qemu_strace_starts_its_lines() {
        let call = |nr| xtask::linux_vm::Syscall {
            pid: 7,
            nr,
            args: [1, 0x20, 0, 0, 0, 0],
        };
        // 278 is getrandom and 113 clock_gettime (asm-generic), 9999 nothing.
        assert_eq!(
            strace_line(&call(278)),
            "7 getrandom(0x1,0x20,0x0,0x0,0x0,0x0)"
        );
        assert!(strace_line(&call(113)).starts_with("7 clock_gettime("));
        assert!(strace_line(&call(9999)).starts_with("7 syscall_9999("));
        // The generated table agrees with the hand-written numbers.
        use vdso_linux_sys::aarch64::{self as a, name};
        for (nr, want) in [
            (a::NR_FACCESSAT, "faccessat"),
            (a::NR_GETTIMEOFDAY, "gettimeofday"),
            (a::NR_CLOCK_GETRES, "clock_getres"),
            (a::NR_EXECVE, "execve"),
            (a::NR_EXIT_GROUP, "exit_group"),
        ] {
            assert_eq!(name(nr), Some(want), "NR {nr}");
        }
    }

    #[test]
    fn exit_status_passes_through_and_a_signal_becomes_128_plus_n() {
        // Raw wait statuses: exit code in bits 8..16, terminating signal in 0..7.
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(11)), 139);
    }
}
