//! A real Linux VM for the 32-bit (AArch32) clients.
//!
//! qemu-arm (user mode) cannot read the Arm generic timer from AArch32
//! (`CNTVCT`/`CNTFRQ` are SIGILL there), so 32-bit clients run under
//! Debian's own arm64 Linux ([`crate::linux_vdso::vmlinuz`]: 6.1, with
//! `CONFIG_COMPAT` and syscall tracepoints) in `qemu-system-aarch64`, where
//! AArch32 EL0 reads the counter as on hardware. The initramfs, written here
//! in the `newc` format ([`newc`]), holds `/init` (`tests/programs/vm-init`, a static
//! aarch64 program), the programs to run and the file `/vm-argv` with what
//! to run, NUL-separated (the kernel command line cannot carry a second
//! `--`); `/init` runs it with its system calls traced
//! (`raw_syscalls:sys_enter`, the only event that shows compat system calls
//! on arm64, with their AArch32 numbers) and reports on the console:
//! exit status, stdout, stderr and the trace, between `@@vdso-vm@@` header
//! lines (see `tests/programs/vm-init/src/main.rs`), then powers off.
//!
//! [`run_arm`] runs a static 32-bit program through the 32-bit exec harness
//! (`/vdso-exec [--fake-epoch SECS] -- /client ARGS`), so it gets our compat
//! vDSO; [`boot`] runs any programs as given, and [`boot_on`] on another
//! kernel (Debian's Linux 6.12, [`linux_vdso::vmlinuz_6_12`], for the
//! getrandom work). A boot takes about a second.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use xshell::Shell;

use crate::abi::Abi;
use crate::kernel::Exit;
use crate::{linux_vdso, prereq};

/// Where the initramfs images are written.
pub const WORK_DIR: &str = "target/linux-vm";
/// The emulator.
pub const QEMU: &str = "qemu-system-aarch64";
/// A plain ARMv8.0 core with AArch32 at EL0.
pub const CPU: &str = "cortex-a72";
/// A boot that takes longer has hung (one takes about a second).
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The AArch32 system call numbers the trace is read for (Linux
/// `arch/arm/tools/syscall.tbl`), from their one home in `vdso_linux_sys`.
pub use vdso_linux_sys::arm::{
    NR_CLOCK_GETRES, NR_CLOCK_GETRES_TIME64, NR_CLOCK_GETTIME, NR_CLOCK_GETTIME64, NR_FACCESSAT,
    NR_GETTIMEOFDAY,
};

/// The 32-bit clock system calls, as `(number, name)`.
pub const CLOCK_SYSCALLS: [(u32, &str); 5] = [
    (NR_GETTIMEOFDAY, "gettimeofday"),
    (NR_CLOCK_GETTIME, "clock_gettime"),
    (NR_CLOCK_GETRES, "clock_getres"),
    (NR_CLOCK_GETTIME64, "clock_gettime64"),
    (NR_CLOCK_GETRES_TIME64, "clock_getres_time64"),
];

/// The 64-bit clock system calls (asm-generic), as `(number, name)`.
pub const CLOCK_SYSCALLS_64: [(u32, &str); 3] = [
    (vdso_linux_sys::aarch64::NR_GETTIMEOFDAY, "gettimeofday"),
    (vdso_linux_sys::aarch64::NR_CLOCK_GETTIME, "clock_gettime"),
    (vdso_linux_sys::aarch64::NR_CLOCK_GETRES, "clock_getres"),
];

/// `AT_FDCWD` as a 32-bit register holds it.
pub const AT_FDCWD: u64 = 0xffff_ff9c;
/// The `mode` of the harness's marker `faccessat`.
pub const MARKER_MODE: u64 = vdso_linux_sys::MARKER_MODE as u64;

/// What the console header lines start with (`tests/programs/vm-init`).
const MARK: &[u8] = b"@@vdso-vm@@ ";

/// One traced system call entry (`raw_syscalls:sys_enter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall {
    /// The thread that made it.
    pub pid: u32,
    /// Its number: AArch32 numbers for a 32-bit process.
    pub nr: u32,
    /// x0..x5 (r0..r5 for a 32-bit process).
    pub args: [u64; 6],
}

impl Syscall {
    /// Whether this is the exec harness's marker, `faccessat(AT_FDCWD,
    /// path, MARKER_MODE)`, made right before it jumps to the client, by a
    /// program of `abi` (the numbers and `AT_FDCWD`'s width differ).
    pub fn is_marker(&self, abi: Abi) -> bool {
        let faccessat = match abi {
            Abi::Compat => NR_FACCESSAT,
            Abi::Aarch64 => vdso_linux_sys::aarch64::NR_FACCESSAT,
        };
        self.nr == faccessat
            && self.args[0] & 0xffff_ffff == AT_FDCWD
            && self.args[2] & 0xffff_ffff == MARKER_MODE
    }

    /// The name of a clock system call of a program of `abi`, if it is one.
    pub fn clock_name(&self, abi: Abi) -> Option<&'static str> {
        let table: &[(u32, &str)] = match abi {
            Abi::Compat => &CLOCK_SYSCALLS,
            Abi::Aarch64 => &CLOCK_SYSCALLS_64,
        };
        table
            .iter()
            .find(|(nr, _)| *nr == self.nr)
            .map(|(_, name)| *name)
    }
}

/// What a VM run reported.
#[derive(Clone, Debug)]
pub struct VmRun {
    /// The ABI of the program, whose numbers the trace holds.
    pub abi: Abi,
    /// How the program ended.
    pub exit: Exit,
    /// Its standard output, byte for byte (lossily UTF-8).
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// Every system call entry of the program's process (and its threads
    /// and children), in order, from the `execve` that started it on. That
    /// first entry is made by `/init`'s child, an aarch64 process: its
    /// number is aarch64's `execve`
    /// ([`vdso_linux_sys::aarch64::NR_EXECVE`]); all later ones of a 32-bit
    /// program are AArch32 numbers.
    pub syscalls: Vec<Syscall>,
    /// Events the trace ring buffer lost (0 unless the program made
    /// hundreds of thousands of system calls).
    pub overrun: u64,
    /// The whole console, for diagnostics.
    pub console: String,
    /// Wall time of the boot, qemu start to exit.
    pub elapsed: Duration,
}

impl VmRun {
    /// The system calls after the exec harness's first marker (those of
    /// the client), or `None` without a marker.
    pub fn after_marker(&self) -> Option<&[Syscall]> {
        let i = self.syscalls.iter().position(|c| c.is_marker(self.abi))?;
        Some(&self.syscalls[i + 1..])
    }

    /// The status a shell would report (128 + N for signal N).
    pub fn code(&self) -> i32 {
        self.exit.code()
    }
}

/// Runs the static 32-bit `program` with `args` in the VM through the
/// 32-bit exec harness, which maps our compat vDSO:
/// `/vdso-exec HARNESS_ARGS -- /client ARGS`.
pub fn run_arm(sh: &Shell, harness_args: &[&str], program: &Path, args: &[&str]) -> Result<VmRun> {
    let harness = build_harness(sh)?;
    run_arm_with(sh, &harness, harness_args, program, args)
}

/// [`run_arm`] with a given harness binary.
pub fn run_arm_with(
    sh: &Shell,
    harness: &Path,
    harness_args: &[&str],
    program: &Path,
    args: &[&str],
) -> Result<VmRun> {
    let mut argv = vec!["/vdso-exec"];
    argv.extend_from_slice(harness_args);
    argv.extend(["--", "/client"]);
    argv.extend_from_slice(args);
    boot(sh, &[("vdso-exec", harness), ("client", program)], &argv)
}

/// Runs the static 64-bit `program` with `args` on Debian's Linux 6.12
/// ([`linux_vdso::vmlinuz_6_12`]) through the aarch64 exec harness, which
/// maps our image: `/vdso-exec HARNESS_ARGS -- /client ARGS`.
pub fn run_aarch64(
    sh: &Shell,
    harness_args: &[&str],
    program: &Path,
    args: &[&str],
) -> Result<VmRun> {
    prereq::ensure(sh, prereq::TEST)?;
    let kernel = linux_vdso::vmlinuz_6_12(sh)?;
    let harness = crate::build_aarch64_bin(sh, "vdso-exec")?;
    let mut argv = vec!["/vdso-exec"];
    argv.extend_from_slice(harness_args);
    argv.extend(["--", "/client"]);
    argv.extend_from_slice(args);
    let files = [("vdso-exec", harness.as_path()), ("client", program)];
    boot_on(sh, &kernel, Abi::Aarch64, &files, &argv)
}

/// The 32-bit exec harness.
fn build_harness(sh: &Shell) -> Result<PathBuf> {
    crate::build_armv7_bin(sh, "vdso-exec")
}

/// Boots the VM with `files` (each `(name, host path)`, put at `/name`,
/// mode 0755) in its initramfs and runs `argv` (`argv[0]` is the program's
/// path in the VM, e.g. `/client`). Fails if the VM did not report (it
/// hung, crashed or could not start the program).
pub fn boot(sh: &Shell, files: &[(&str, &Path)], argv: &[&str]) -> Result<VmRun> {
    prereq::ensure(sh, prereq::TEST)?;
    let kernel = linux_vdso::vmlinuz(sh)?;
    boot_on(sh, &kernel, Abi::Compat, files, argv)
}

/// [`boot`] on `kernel` (e.g. [`linux_vdso::vmlinuz_6_12`]), for a program
/// of `abi`, whose numbers the trace will hold.
pub fn boot_on(
    sh: &Shell,
    kernel: &linux_vdso::Vmlinuz,
    abi: Abi,
    files: &[(&str, &Path)],
    argv: &[&str],
) -> Result<VmRun> {
    ensure!(!argv.is_empty(), "nothing to run");
    let init = crate::build_aarch64_bin(sh, "vdso-vm-init")?;
    let init = std::fs::read(&init).with_context(|| format!("reading {}", init.display()))?;
    let mut entries = vec![("init", init), (ARGV_FILE, argv_file(argv)?)];
    for (name, path) in files {
        ensure!(
            !name.is_empty() && !name.contains('/') && !["init", ARGV_FILE].contains(name),
            "file name {name:?}: one path component, not `init` or `{ARGV_FILE}`"
        );
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        entries.push((name, bytes));
    }
    let entries: Vec<(&str, &[u8])> = entries.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let dir = crate::project_root().join(WORK_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // One file per boot: tests boot several VMs at once.
    static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let initrd = dir.join(format!("initrd-{}-{serial}.cpio", std::process::id()));
    std::fs::write(&initrd, newc(&entries))
        .with_context(|| format!("writing {}", initrd.display()))?;
    let result = boot_initrd(&kernel.path, &initrd, CMDLINE);
    let _ = std::fs::remove_file(&initrd);
    result.map(|run| VmRun { abi, ..run })
}

/// The kernel command line: quiet (only emergencies reach the console),
/// no reboot loop on a panic. `/init` reads what to run from
/// [`ARGV_FILE`]: the command line ends init's arguments at a second `--`.
pub const CMDLINE: &str = "console=ttyAMA0 panic=-1 quiet loglevel=1";
/// The initramfs file with `/init`'s program and arguments.
pub const ARGV_FILE: &str = "vm-argv";

/// `argv` as [`ARGV_FILE`] holds it: each word ended by a NUL byte.
fn argv_file(argv: &[&str]) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for arg in argv {
        ensure!(!arg.contains('\0'), "argument {arg:?} contains a NUL byte");
        bytes.extend_from_slice(arg.as_bytes());
        bytes.push(0);
    }
    Ok(bytes)
}

/// The qemu command that boots `kernel` with `initrd` and `cmdline`.
pub fn qemu(kernel: &Path, initrd: &Path, cmdline: &str) -> Command {
    let mut qemu = Command::new(QEMU);
    qemu.args(["-M", "virt", "-cpu", CPU, "-m", "512M"])
        .args(["-nographic", "-no-reboot", "-monitor", "none"])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(cmdline);
    qemu
}

fn boot_initrd(kernel: &Path, initrd: &Path, cmdline: &str) -> Result<VmRun> {
    let mut qemu = qemu(kernel, initrd, cmdline);
    let start = Instant::now();
    let mut child = qemu
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {qemu:?}"))?;
    let mut stdout = child.stdout.take().context("qemu's stdout")?;
    let mut stderr = child.stderr.take().context("qemu's stderr")?;
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    let console = out.join().unwrap_or_default();
    let qemu_err = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    let context = || {
        format!(
            "{qemu:?}\n--- console ---\n{}\n--- qemu's stderr ---\n{qemu_err}",
            String::from_utf8_lossy(&console)
        )
    };
    let Some(status) = status else {
        bail!("the VM did not power off within {TIMEOUT:?}\n{}", context());
    };
    let mut run = parse_console(&console).with_context(context)?;
    if !status.success() {
        bail!("qemu failed: {status}\n{}", context());
    }
    run.elapsed = elapsed;
    Ok(run)
}

/// Reads `/init`'s report from the console.
pub fn parse_console(console: &[u8]) -> Result<VmRun> {
    let mut exit = None;
    let mut stdout = None;
    let mut stderr = None;
    let mut trace = None;
    let mut overrun = None;
    let mut pos = 0;
    loop {
        let Some(start) = find_mark(console, pos) else {
            bail!("the VM's report ended early (no `end`)");
        };
        let header_start = start + MARK.len();
        let header_end = console[header_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(console.len(), |i| header_start + i);
        let header = String::from_utf8_lossy(&console[header_start..header_end]);
        let header = header.trim_end();
        pos = (header_end + 1).min(console.len());
        let (word, rest) = header.split_once(' ').unwrap_or((header, ""));
        match word {
            "end" => break,
            "error" => bail!("the VM's init failed: {rest}"),
            "exit" => {
                exit = Some(
                    crate::kernel::exit_line(&format!("kernel: exit {rest}"))
                        .with_context(|| format!("bad exit line {header:?}"))?,
                )
            }
            "overrun" => overrun = Some(rest.parse().context("bad overrun count")?),
            "stdout" | "stderr" | "trace" => {
                let len: usize = rest.parse().with_context(|| format!("bad {word} length"))?;
                let bytes = console
                    .get(pos..pos + len)
                    .with_context(|| format!("{word}: fewer than {len} bytes"))?;
                pos += len;
                let text = String::from_utf8_lossy(bytes).into_owned();
                match word {
                    "stdout" => stdout = Some(text),
                    "stderr" => stderr = Some(text),
                    _ => trace = Some(text),
                }
            }
            _ => bail!("unknown report line {header:?}"),
        }
    }
    let trace = trace.context("no trace in the report")?;
    let syscalls = trace
        .lines()
        .filter(|l| l.contains("sys_enter:"))
        .map(parse_trace_line)
        .collect::<Result<_>>()?;
    Ok(VmRun {
        abi: Abi::Compat,
        exit: exit.context("no exit status in the report")?,
        stdout: stdout.context("no stdout in the report")?,
        stderr: stderr.context("no stderr in the report")?,
        syscalls,
        overrun: overrun.context("no overrun count in the report")?,
        console: String::from_utf8_lossy(console).into_owned(),
        elapsed: Duration::ZERO,
    })
}

/// The first header at a line start at or after `pos`.
fn find_mark(console: &[u8], pos: usize) -> Option<usize> {
    let mut i = pos;
    while i + MARK.len() <= console.len() {
        let at = console[i..]
            .windows(MARK.len())
            .position(|w| w == MARK)
            .map(|p| i + p)?;
        if at == 0 || console[at - 1] == b'\n' {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// One `raw_syscalls:sys_enter` line of the `trace` file:
/// `COMM-PID [CPU] FLAGS TIME: sys_enter: NR n (a0, a1, a2, a3, a4, a5)`,
/// numbers in the arguments hexadecimal.
pub fn parse_trace_line(line: &str) -> Result<Syscall> {
    let bad = || format!("bad trace line {line:?}");
    let (head, event) = line.split_once("sys_enter: NR ").with_context(bad)?;
    let cpu = head.rfind(" [").with_context(bad)?;
    let (_comm, pid) = head[..cpu].trim().rsplit_once('-').with_context(bad)?;
    let pid = pid.parse().with_context(bad)?;
    let (nr, args) = event.split_once(" (").with_context(bad)?;
    let nr = nr.parse().with_context(bad)?;
    let args = args.trim_end().strip_suffix(')').with_context(bad)?;
    let mut parsed = [0u64; 6];
    let mut count = 0;
    for (slot, arg) in parsed.iter_mut().zip(args.split(", ")) {
        *slot = u64::from_str_radix(arg.trim(), 16).with_context(bad)?;
        count += 1;
    }
    ensure!(count == 6 && args.split(", ").count() == 6, bad());
    Ok(Syscall {
        pid,
        nr,
        args: parsed,
    })
}

/// An initramfs: the `newc` cpio archive of `files` (each `(name, bytes)`,
/// put at `/name` with mode 0755), plus `/dev/console` (the kernel opens it
/// as init's stdin, stdout and stderr).
pub fn newc(files: &[(&str, &[u8])]) -> Vec<u8> {
    const DIR: u32 = 0o040_755;
    const CHAR_DEVICE: u32 = 0o020_600;
    const FILE: u32 = 0o100_755;
    let mut out = Vec::new();
    let mut entry = |ino: u32, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]| {
        let fields = [
            ino,
            mode,
            0, // uid
            0, // gid
            1, // nlink
            0, // mtime
            data.len() as u32,
            0, // devmajor
            0, // devminor
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0, // check
        ];
        out.extend_from_slice(b"070701");
        for field in fields {
            out.extend_from_slice(format!("{field:08x}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    };
    entry(1, "dev", DIR, (0, 0), &[]);
    entry(2, "dev/console", CHAR_DEVICE, (5, 1), &[]);
    for (i, (name, data)) in files.iter().enumerate() {
        entry(3 + i as u32, name, FILE, (0, 0), data);
    }
    entry(0, "TRAILER!!!", 0, (0, 0), &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_lines_parse_with_pid_number_and_hex_arguments() {
        let line = "vdso-exec-75    [000] .....     1.234567: sys_enter: NR 403 (1, be8ff5c8, 0, 0, 0, ffffff9c)";
        assert_eq!(
            parse_trace_line(line).unwrap(),
            Syscall {
                pid: 75,
                nr: 403,
                args: [1, 0xbe8f_f5c8, 0, 0, 0, 0xffff_ff9c]
            }
        );
        // A command name with a dash in it.
        let line = "my-prog-1234 [001] d..1. 0.5: sys_enter: NR 20 (0, 1, 2, 3, 4, 5)";
        assert_eq!(parse_trace_line(line).unwrap().pid, 1234);
        assert!(parse_trace_line("x-1 [000] ..: sys_enter: NR 20 (0, 1)").is_err());
        assert!(parse_trace_line("x-1 [000] ..: sys_enter: NR 20 (0, 1, 2, 3, 4, zz)").is_err());
    }

    #[test]
    fn the_report_is_read_exactly_around_kernel_noise() {
        let event = "c-9 [000] ..... 1.0: sys_enter: NR 334 (ffffff9c, 1, 7664, 0, 0, 0)\n";
        let console = format!(
            "[    0.1] noise\r\n\n@@vdso-vm@@ exit signal=11\n\
             @@vdso-vm@@ stdout 7\na\r\nb\n@@\n[ 1.0] more noise\n\
             @@vdso-vm@@ stderr 0\n\n\
             @@vdso-vm@@ trace {}\n{event}\n\
             @@vdso-vm@@ overrun 0\n@@vdso-vm@@ end\n[ 2.0] reboot: Power down\n",
            event.len()
        );
        let run = parse_console(console.as_bytes()).unwrap();
        assert_eq!(run.exit, Exit::Signal(11));
        assert_eq!(run.code(), 139);
        assert_eq!(run.stdout, "a\r\nb\n@@");
        assert_eq!(run.stderr, "");
        assert_eq!(run.syscalls.len(), 1);
        assert!(run.syscalls[0].is_marker(Abi::Compat));
        assert_eq!(run.after_marker(), Some(&[][..]));
        assert_eq!(run.overrun, 0);
    }

    #[test]
    fn a_report_without_its_end_or_with_an_error_fails() {
        assert!(parse_console(b"@@vdso-vm@@ exit status=0\n").is_err());
        let err = parse_console(b"\n@@vdso-vm@@ error cannot run /client: ENOENT\n").unwrap_err();
        assert!(format!("{err:#}").contains("cannot run /client"));
        // A header not at a line start is not one.
        assert!(parse_console(b"x@@vdso-vm@@ end\n").is_err());
    }

    #[test]
    fn after_marker_keeps_only_what_follows_the_first_marker() {
        let call = |nr, args| Syscall { pid: 1, nr, args };
        let marker = call(NR_FACCESSAT, [AT_FDCWD, 0x1000, MARKER_MODE, 0, 0, 0]);
        let not_marker = call(NR_FACCESSAT, [AT_FDCWD, 0x1000, 0, 0, 0, 0]);
        let mut run = parse_console(b"@@vdso-vm@@ exit status=0\n@@vdso-vm@@ stdout 0\n\n@@vdso-vm@@ stderr 0\n\n@@vdso-vm@@ trace 0\n\n@@vdso-vm@@ overrun 0\n@@vdso-vm@@ end\n").unwrap();
        run.syscalls = vec![call(11, [0; 6]), not_marker, call(20, [0; 6])];
        assert_eq!(run.after_marker(), None);
        run.syscalls.insert(2, marker);
        run.syscalls.push(marker);
        let after = run.after_marker().unwrap();
        assert_eq!(after.len(), 2);
        assert_eq!(after[0].nr, 20);
    }

    #[test]
    fn newc_entries_are_aligned_and_sized() {
        let archive = newc(&[("client", b"12345")]);
        assert!(archive.starts_with(b"070701"));
        assert_eq!(archive.len() % 4, 0);
        let text = String::from_utf8_lossy(&archive);
        assert!(text.contains("dev/console\0"));
        let at = archive.windows(7).position(|w| w == b"client\0").unwrap();
        // The header before the name: 6 + 13 * 8 bytes; filesize is field 7.
        let header = &archive[at - 110..at];
        assert_eq!(&header[..6], b"070701");
        assert_eq!(&header[6 + 6 * 8..6 + 7 * 8], b"00000005");
        assert_eq!(&header[6 + 8..6 + 2 * 8], b"000081ed");
        // Name (7 bytes) after a 110-byte header: padded to 4, then data.
        let data = (at + 7).next_multiple_of(4);
        assert_eq!(&archive[data..data + 5], b"12345");
        // The trailer's 11-byte name after its 110-byte header, padded.
        assert!(archive.ends_with(b"TRAILER!!!\0\0\0\0"));
    }

    #[test]
    fn argv_is_nul_terminated_words() {
        assert_eq!(
            argv_file(&["/vdso-exec", "--", "/client", "a b", ""]).unwrap(),
            b"/vdso-exec\0--\0/client\0a b\0\0"
        );
        assert!(argv_file(&["a\0b"]).is_err());
    }
}
