//! Real getrandom clients built from source with Debian 13's toolchains (issue 16), each run
//! through our exec harness under `qemu-aarch64` and inside Debian's Linux 6.12 in the VM
//! (`xtask::linux_vm::run_aarch64`):
//!
//! - `tests/clients/go-getrandom`, Go 1.24 (`xtask::trixie::go_1_24`), static: its runtime
//!   reads `crypto/rand` through `__kernel_getrandom` (`runtime/vgetrandom_linux.go`), one
//!   state per M, mapped with the flags the params call gives.
//!   - In Linux 6.12 (which has `MAP_DROPPABLE`): the state mapping (flags `0x28`) succeeds,
//!     and 400-odd reads make at most one getrandom syscall per thread state (the first key;
//!     measured: 1); outputs never repeat. With the harness's `--rng-reseed-ms 1` the same
//!     program makes more: each new generation reaches the next read as one reseed.
//!   - Under qemu-user 7.2, which refuses `MAP_DROPPABLE` (`EINVAL`): Go falls back to the
//!     syscall for every read, and the program runs correctly.
//! - `tests/clients/c/getrandom.c` dynamic against glibc 2.41 (Debian 13's cross packages as
//!   a sysroot), run in Linux 6.12 as `ld-linux-aarch64.so.1 --library-path / /client`
//!   through our harness (the dynamic linker is a static-PIE to it) and, as the control, the
//!   same command with Linux 6.12's own vDSO: both map a `MAP_DROPPABLE` state, read 118
//!   times with exactly the same getrandom syscalls (one 32-byte key for the parent, one for
//!   the forked child, whose state the kernel wiped, and glibc's malloc's own 8 bytes), and
//!   never repeat an output.
//! - `tests/clients/c/getrandom.c` static against glibc 2.41 (`libc6-dev-arm64-cross` from
//!   Debian 13, linked by gcc-12). Measured: a *static* glibc 2.41 never uses the vDSO's
//!   getrandom, not even Linux 6.12's own (run without our harness): `__getrandom_early_init`
//!   (glibc's `sysdeps/unix/sysv/linux/getrandom.c`) makes the params call only if
//!   `GLRO(dl_vdso_getrandom)` is set by then, and in a static program it is not. So its
//!   test proves what holds and fails the day it changes: every read is a syscall on both
//!   images, the output never repeats, and the forked child's bytes differ from the parent's.
//!
//! The programs, runs and traces stay in `target/e2e/trixie/` and the failure messages.

use std::path::{Path, PathBuf};
use std::process::Command;

use vdso_linux_sys::aarch64::{NR_GETRANDOM, NR_MMAP};
use vdso_tests::e2e::build::{check_static, e2e_dir};

/// Where these clients are built.
fn out_dir() -> Result<PathBuf, String> {
    let dir = e2e_dir().join("trixie");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

fn shell() -> Result<xshell::Shell, String> {
    xshell::Shell::new().map_err(|e| format!("cannot create a shell: {e}"))
}

/// Runs `command`; the error holds its stderr, or names what to install.
fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// `go-getrandom` built by Debian 13's Go 1.24 for linux/arm64, static (`CGO_ENABLED=0`).
fn go_1_24_client() -> Result<PathBuf, String> {
    let goroot = xtask::trixie::go_1_24(&shell()?).map_err(|e| format!("{e:#}"))?;
    let dir = out_dir()?;
    let out = dir.join("go-getrandom");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/go-getrandom");
    let mut go = Command::new(goroot.join("bin/go"));
    go.current_dir(source)
        .args(["build", "-trimpath", "-o"])
        .arg(&out)
        .arg("main.go")
        .env("GOROOT", &goroot)
        .env("GOTOOLCHAIN", "local")
        .env("GOOS", "linux")
        .env("GOARCH", "arm64")
        .env("CGO_ENABLED", "0")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOWORK", "off")
        .env("GOCACHE", dir.join("gocache"))
        .env("GOPATH", dir.join("gopath"));
    run(&mut go, "Debian 13's go 1.24")?;
    check_static(&out, false)?;
    Ok(out)
}

/// `tests/clients/c/getrandom.c` static against Debian 13's glibc 2.41 for arm64.
fn glibc_2_41_client() -> Result<PathBuf, String> {
    let sh = shell()?;
    let fetch = |p: &str| xtask::trixie::package(&sh, p).map_err(|e| format!("{e:#}"));
    let (libc, headers) = (
        fetch("libc6-dev-arm64-cross")?,
        fetch("linux-libc-dev-arm64-cross")?,
    );
    let (lib, include) = (
        libc.join("usr/aarch64-linux-gnu/lib"),
        libc.join("usr/aarch64-linux-gnu/include"),
    );
    let gcc_include = Command::new("aarch64-linux-gnu-gcc")
        .arg("-print-file-name=include")
        .output()
        .map_err(|e| {
            format!("cannot run aarch64-linux-gnu-gcc (Debian package gcc-aarch64-linux-gnu): {e}")
        })?;
    let gcc_include = String::from_utf8_lossy(&gcc_include.stdout)
        .trim()
        .to_owned();
    let out = out_dir()?.join("getrandom-glibc-2.41");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/c/getrandom.c");
    let mut gcc = Command::new("aarch64-linux-gnu-gcc");
    gcc.args([
        "-static",
        "-O2",
        "-nostdinc",
        "-isystem",
        &gcc_include,
        "-isystem",
    ])
    .arg(&include)
    .arg("-isystem")
    .arg(headers.join("usr/aarch64-linux-gnu/include"))
    .arg("-B")
    .arg(&lib)
    .arg("-L")
    .arg(&lib)
    .arg(&source)
    .arg("-o")
    .arg(&out);
    run(&mut gcc, "aarch64-linux-gnu-gcc against glibc 2.41")?;
    check_static(&out, false)?;
    Ok(out)
}

/// `tests/clients/c/getrandom.c` linked dynamically against Debian 13's glibc 2.41
/// (`xtask::trixie::glibc_2_41_arm64`, as a sysroot), with the interpreter
/// `/ld-linux-aarch64.so.1`; returns it and the directory of `ld-linux-aarch64.so.1` and
/// `libc.so.6`.
fn dynamic_glibc_2_41_client() -> Result<(PathBuf, PathBuf), String> {
    let tree = xtask::trixie::glibc_2_41_arm64(&shell()?).map_err(|e| format!("{e:#}"))?;
    let lib = tree.join("usr/aarch64-linux-gnu/lib");
    let gcc_include = Command::new("aarch64-linux-gnu-gcc")
        .arg("-print-file-name=include")
        .output()
        .map_err(|e| {
            format!("cannot run aarch64-linux-gnu-gcc (Debian package gcc-aarch64-linux-gnu): {e}")
        })?;
    let gcc_include = String::from_utf8_lossy(&gcc_include.stdout)
        .trim()
        .to_owned();
    let out = out_dir()?.join("getrandom-glibc-2.41-dynamic");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/c/getrandom.c");
    let mut gcc = Command::new("aarch64-linux-gnu-gcc");
    gcc.arg("-O2")
        .arg(format!("--sysroot={}", tree.display()))
        .args(["-nostdinc", "-isystem", &gcc_include, "-isystem"])
        .arg(tree.join("usr/aarch64-linux-gnu/include"))
        .arg("-B")
        .arg(&lib)
        .arg("-L")
        .arg(&lib)
        .arg("-Wl,--dynamic-linker=/ld-linux-aarch64.so.1")
        .arg(&source)
        .arg("-o")
        .arg(&out);
    run(
        &mut gcc,
        "aarch64-linux-gnu-gcc against glibc 2.41 (dynamic)",
    )?;
    Ok((out, lib))
}

/// The hex of every `tag <hex>` line of a client's output, and whether any two are equal.
fn random_lines<'a>(stdout: &'a str, tags: &[&str]) -> (Vec<&'a str>, bool) {
    let lines: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(tag, _)| tags.contains(tag))
        .map(|(_, hex)| hex)
        .collect();
    let distinct: std::collections::HashSet<_> = lines.iter().collect();
    let repeated = distinct.len() != lines.len();
    (lines, repeated)
}

/// Reads each client makes (the Go client adds a tenth as 4096-byte reads and 4 × (a tenth
/// + 1) from goroutines).
const READS: usize = 300;

fn go_client() -> PathBuf {
    go_1_24_client().unwrap_or_else(|e| panic!("{e}"))
}

fn sh() -> xshell::Shell {
    xshell::Shell::new().expect("a shell")
}

/// The client's getrandom syscalls after the harness's marker in a VM run.
fn vm_getrandom_syscalls(run: &xtask::linux_vm::VmRun) -> usize {
    let after = run
        .after_marker()
        .unwrap_or_else(|| panic!("no marker\n{}", run.console));
    after.iter().filter(|c| c.nr == NR_GETRANDOM).count()
}

/// Whether `calls` mapped a getrandom state: `mmap` with `MAP_DROPPABLE | MAP_ANONYMOUS`.
fn mapped_droppable(calls: &[xtask::linux_vm::Syscall]) -> bool {
    calls.iter().any(|c| c.nr == NR_MMAP && c.args[3] == 0x28)
}

fn assert_outputs_never_repeat(stdout: &str, tags: &[&str], at_least: usize) {
    let (lines, repeated) = random_lines(stdout, tags);
    assert!(
        lines.len() >= at_least,
        "{} outputs, not {at_least}:\n{stdout}",
        lines.len()
    );
    assert!(!repeated, "an output repeated:\n{stdout}");
}

#[test]
fn go_1_24_in_linux_6_12_reads_crypto_rand_through_our_vdso_with_almost_no_syscall() {
    let n = READS.to_string();
    let run = xtask::linux_vm::run_aarch64(&sh(), &[], &go_client(), &[&n])
        .unwrap_or_else(|e| panic!("{e:#}"));
    let context = || format!("{}\n--- console ---\n{}", run.stdout, run.console);
    assert_eq!(run.code(), 0, "{}", context());
    assert!(
        run.stdout.ends_with(&format!("done {READS}\n")),
        "{}",
        context()
    );
    assert_outputs_never_repeat(&run.stdout, &["read", "big", "par"], READS + READS / 10);
    assert!(
        mapped_droppable(run.after_marker().unwrap_or_default()),
        "no MAP_DROPPABLE state mapped\n{}",
        context()
    );
    // One key per state; Go keeps a state per M (a handful of threads at most).
    let syscalls = vm_getrandom_syscalls(&run);
    assert!(
        syscalls <= 4,
        "{syscalls} getrandom syscalls for {} reads",
        READS * 3 / 2
    );
}

#[test]
fn go_1_24_in_linux_6_12_reseeds_when_the_kernel_publishes_a_new_generation() {
    let n = (10 * READS).to_string();
    let run = xtask::linux_vm::run_aarch64(&sh(), &["--rng-reseed-ms", "1"], &go_client(), &[&n])
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(run.code(), 0, "{}", run.console);
    assert_outputs_never_repeat(&run.stdout, &["read", "big", "par"], 10 * READS);
    // A generation every millisecond: every read after one reseeds through the syscall,
    // where without new generations there is one key per state.
    let syscalls = vm_getrandom_syscalls(&run);
    assert!(
        syscalls >= 5,
        "{syscalls} getrandom syscalls: the new generations did not reach the reads"
    );
}

#[test]
fn go_1_24_under_qemu_user_without_map_droppable_falls_back_to_the_syscall() {
    let harness = xtask::build_aarch64_bin(&sh(), "vdso-exec").unwrap_or_else(|e| panic!("{e:#}"));
    let out = Command::new("qemu-aarch64")
        .arg("-strace")
        .arg(&harness)
        .arg("--")
        .arg(go_client())
        .arg(READS.to_string())
        .output()
        .expect("qemu-aarch64 (Debian package qemu-user)");
    let (stdout, trace) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{trace}");
    assert_outputs_never_repeat(&stdout, &["read", "big", "par"], READS + READS / 10);
    let refused = trace
        .lines()
        .any(|l| l.contains("MAP_ANONYMOUS|0x8,") && l.contains("errno=22"));
    assert!(
        refused,
        "qemu-user did not refuse a MAP_DROPPABLE mapping:\n{trace}"
    );
    let syscalls = trace.lines().filter(|l| l.contains(" getrandom(")).count();
    assert!(
        syscalls >= READS,
        "{syscalls} getrandom syscalls for {READS}+ reads: not the syscall"
    );
}

/// `(len, flags)` of every getrandom syscall in `calls`.
fn getrandom_calls(calls: &[xtask::linux_vm::Syscall]) -> Vec<(u64, u64)> {
    calls
        .iter()
        .filter(|c| c.nr == NR_GETRANDOM)
        .map(|c| (c.args[1], c.args[2]))
        .collect()
}

#[test]
fn glibc_2_41_in_linux_6_12_reads_through_our_vdso_making_the_syscalls_linuxs_makes() {
    let (client, lib) = dynamic_glibc_2_41_client().unwrap_or_else(|e| panic!("{e}"));
    let sh = sh();
    let kernel = xtask::linux_vdso::vmlinuz_6_12(&sh).unwrap_or_else(|e| panic!("{e:#}"));
    let harness = xtask::build_aarch64_bin(&sh, "vdso-exec").unwrap_or_else(|e| panic!("{e:#}"));
    let (ld, libc) = (lib.join("ld-linux-aarch64.so.1"), lib.join("libc.so.6"));
    let files: [(&str, &Path); 4] = [
        ("vdso-exec", &harness),
        ("ld-linux-aarch64.so.1", &ld),
        ("libc.so.6", &libc),
        ("client", &client),
    ];
    // The harness runs glibc's dynamic linker as its (static-PIE) program; it loads the
    // client and libc.so.6 from `/` and finds our image through AT_SYSINFO_EHDR.
    let program = [
        "/ld-linux-aarch64.so.1",
        "--library-path",
        "/",
        "/client",
        "100",
    ];
    let ours_argv: Vec<&str> = ["/vdso-exec", "--"].into_iter().chain(program).collect();
    let boot = |argv: &[&str]| {
        xtask::linux_vm::boot_on(&sh, &kernel, xtask::abi::Abi::Aarch64, &files, argv)
            .unwrap_or_else(|e| panic!("{e:#}"))
    };
    let (ours, linux) = (boot(&ours_argv), boot(&program));
    let ours_calls = ours
        .after_marker()
        .unwrap_or_else(|| panic!("no marker\n{}", ours.console));
    for (run, calls, name) in [
        (&ours, ours_calls, "ours"),
        (&linux, &linux.syscalls[..], "Linux's"),
    ] {
        assert_eq!(run.code(), 0, "{name}: {}\n{}", run.stdout, run.console);
        assert_outputs_never_repeat(&run.stdout, &["read", "big", "child", "parent"], 118);
        assert!(mapped_droppable(calls), "{name}: no MAP_DROPPABLE state");
        // One key for the parent, one for the forked child (its state was wiped).
        let keys = getrandom_calls(calls)
            .iter()
            .filter(|c| **c == (32, 0))
            .count();
        assert_eq!(keys, 2, "{name}: {:x?}", getrandom_calls(calls));
    }
    assert_eq!(
        getrandom_calls(ours_calls),
        getrandom_calls(&linux.syscalls),
        "ours and Linux's own vDSO make the same getrandom syscalls"
    );
}

#[test]
fn static_glibc_2_41_reads_through_the_syscall_on_our_vdso_and_on_linuxs_own() {
    let client = glibc_2_41_client().unwrap_or_else(|e| panic!("{e}"));
    let n = READS.to_string();
    let ours = xtask::linux_vm::run_aarch64(&sh(), &[], &client, &[&n])
        .unwrap_or_else(|e| panic!("{e:#}"));
    let kernel = xtask::linux_vdso::vmlinuz_6_12(&sh()).unwrap_or_else(|e| panic!("{e:#}"));
    let files: [(&str, &Path); 1] = [("client", &client)];
    let linux = xtask::linux_vm::boot_on(
        &sh(),
        &kernel,
        xtask::abi::Abi::Aarch64,
        &files,
        &["/client", &n],
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    for (run, syscalls, name) in [
        (&ours, vm_getrandom_syscalls(&ours), "ours"),
        (
            &linux,
            linux
                .syscalls
                .iter()
                .filter(|c| c.nr == NR_GETRANDOM)
                .count(),
            "Linux's",
        ),
    ] {
        assert_eq!(run.code(), 0, "{name}: {}", run.console);
        assert_outputs_never_repeat(&run.stdout, &["read", "big", "child", "parent"], READS);
        // The child's bytes differ from the parent's (checked with the rest above).
        assert!(
            run.stdout.contains("child ") && run.stdout.contains("parent "),
            "{}",
            run.stdout
        );
        assert!(syscalls >= READS, "{name}: {syscalls} getrandom syscalls: static glibc now uses a vDSO getrandom; prove it zero instead");
        assert!(
            !mapped_droppable(&run.syscalls),
            "{name}: a state was mapped"
        );
    }
}
