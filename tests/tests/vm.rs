//! The Linux VM runner (`xtask::linux_vm`) itself: Debian's arm64 Linux boots in
//! `qemu-system-aarch64` with an initramfs whose `/init` (`tests/programs/vm-init`) runs a static
//! 32-bit program with its system calls traced, and the runner returns what it reported.
//!
//! The program is `tests/clients/c/vm_smoke.c` (static armv7 musl), started directly, without
//! the exec harness: the run proves stdout comes back byte for byte (a CR LF, a tab, no final
//! newline: the console's terminal must not rewrite them) and apart from stderr, that the exit
//! status is the program's (7), that its arguments arrive as given (one with a space, a `--`),
//! that the trace holds the program's AArch32 system calls with
//! their arguments (the `execve` that started it first, then its writes), and that `after_marker` keeps exactly what
//! follows the marker `faccessat(AT_FDCWD, path, 0x7664)`: two `getpid` and `exit_group`.
//!
//! The console log stays in `target/e2e/runs/vm-smoke.console`.

use std::path::PathBuf;
use std::sync::LazyLock;

use vdso_linux_sys::aarch64;
use vdso_linux_sys::arm::{NR_EXIT_GROUP, NR_GETPID, NR_WRITE};
use vdso_tests::e2e::build::{self, ArmLibc};
use xtask::abi::Abi;
use xtask::linux_vm::{self, Syscall, VmRun};

/// musl's `_exit` calls `exit_group`; the client's status.
const STATUS: u8 = 7;

fn shell() -> Result<xshell::Shell, String> {
    xshell::Shell::new().map_err(|e| format!("cannot create a shell: {e}"))
}

/// `tests/clients/c/vm_smoke.c`, static armv7 musl, built as the 32-bit end-to-end tests
/// build their C clients (into `target/e2e-arm/c/`).
static SMOKE: LazyLock<Result<PathBuf, String>> = LazyLock::new(|| {
    xtask::prereq::ensure(&shell()?, xtask::prereq::TEST).map_err(|e| format!("{e:#}"))?;
    build::arm_c_client("vm_smoke.c", "vm-smoke", ArmLibc::Musl)
});

/// One boot, shared by the tests: arguments with a space and a `--` (which the kernel
/// command line could not carry).
static RUN: LazyLock<Result<VmRun, String>> = LazyLock::new(|| {
    let smoke = SMOKE.clone()?;
    let run = linux_vm::boot(
        &shell()?,
        &[("client", &smoke)],
        &["/client", "arg 1", "--", "x"],
    )
    .map_err(|e| format!("{e:#}"))?;
    let log = xtask::project_root().join("target/e2e/runs");
    let _ = std::fs::create_dir_all(&log);
    let _ = std::fs::write(log.join("vm-smoke.console"), &run.console);
    Ok(run)
});

fn run() -> &'static VmRun {
    match &*RUN {
        Ok(run) => run,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn stdout_stderr_and_status_come_back_exactly() {
    let run = run();
    assert_eq!(
        run.stdout, "vm-smoke: hello from AArch32\n\tcr\r\nend arg 1 -- x",
        "console:\n{}",
        run.console
    );
    assert_eq!(run.stderr, "vm-smoke: to stderr\n");
    assert_eq!(run.exit, xtask::kernel::Exit::Status(STATUS));
    assert_eq!(run.code(), i32::from(STATUS));
    eprintln!("boot and run: {:?}", run.elapsed);
}

#[test]
fn the_trace_holds_the_programs_aarch32_syscalls_from_execve_on() {
    let run = run();
    assert_eq!(run.overrun, 0);
    let calls = &run.syscalls;
    let first = calls.first().expect("an empty trace");
    // init's child (aarch64) turns tracing on and execs: the one aarch64 number.
    assert_eq!(
        first.nr,
        aarch64::NR_EXECVE,
        "the trace starts with the exec: {calls:#x?}"
    );
    // One process: the program's pid throughout.
    assert!(calls.iter().all(|c| c.pid == first.pid), "{calls:#x?}");
    // write(1, out, 37), a space and each argument, write(2, err, 20).
    let writes: Vec<(u64, u64)> = calls
        .iter()
        .filter(|c| c.nr == NR_WRITE)
        .map(|c| (c.args[0], c.args[2]))
        .collect();
    assert_eq!(
        writes,
        [
            (1, 37),
            (1, 1),
            (1, 5),
            (1, 1),
            (1, 2),
            (1, 1),
            (1, 1),
            (2, 20)
        ],
        "{calls:#x?}"
    );
    let marker: Vec<&Syscall> = calls.iter().filter(|c| c.is_marker(Abi::Compat)).collect();
    assert_eq!(marker.len(), 1, "{calls:#x?}");
    assert!(marker[0].args[1] != 0 && marker[0].args[1] <= 0xffff_ffff);
}

#[test]
fn after_marker_keeps_what_follows_the_marker() {
    let run = run();
    let after: Vec<u32> = run
        .after_marker()
        .expect("the marker is in the trace")
        .iter()
        .map(|c| c.nr)
        .collect();
    assert_eq!(after, [NR_GETPID, NR_GETPID, NR_EXIT_GROUP]);
    let exit = run.after_marker().unwrap().last().unwrap();
    assert_eq!(exit.args[0], u64::from(STATUS));
}
