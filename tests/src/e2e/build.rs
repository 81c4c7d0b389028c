//! Building the C clients (`tests/clients/c/`) for the end-to-end tests: static aarch64
//! programs against musl or glibc, with the cross toolchain `xtask::prereq` installs.
//!
//! The C compiler for each client's target triple is the one the `cc` crate finds, as a
//! Rust project's build finds it: `CC_<target>` (e.g. `CC_aarch64_unknown_linux_gnu`),
//! `TARGET_CC` or `CC` if set, else the cross gcc named after the triple
//! (`aarch64-linux-gnu-gcc`, `arm-linux-gnueabihf-gcc`), with `cc`'s flags for the target
//! (and `CFLAGS`). `cc` builds libraries; the clients are static executables, so only the
//! compiler comes from it and the link flags are ours.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::elf::{ELFCLASS32, ELFCLASS64, EM_AARCH64, EM_ARM, ET_DYN, PT_INTERP};
use crate::image;

/// The aarch64 clients' target triple.
const AARCH64_TARGET: &str = "aarch64-unknown-linux-gnu";
/// The 32-bit Arm clients' target triple: Debian's armhf (ARMv7, VFPv3-D16, hard float).
const ARMV7_TARGET: &str = "armv7-unknown-linux-gnueabihf";
const MUSL_SPECS: &str = "/usr/lib/aarch64-linux-musl/musl-gcc.specs";

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace root")
        .to_path_buf()
}

/// Where the end-to-end tests build and keep their programs and runs: `target/e2e`.
pub fn e2e_dir() -> PathBuf {
    root().join("target/e2e")
}

/// The C library a client is linked against.
#[derive(Clone, Copy, Debug)]
pub enum Libc {
    Musl,
    Glibc,
}

/// Builds `tests/clients/c/<source>` into `target/e2e/c/<output>`, static (or static-PIE),
/// and checks the result is what was asked for: `ET_EXEC` or `ET_DYN`, and no interpreter.
/// The toolchains must be installed (`xtask::prereq::TEST`).
pub fn c_client(source: &str, output: &str, libc: Libc, pie: bool) -> Result<PathBuf, String> {
    let dir = e2e_dir().join("c");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let src = root().join("tests/clients/c").join(source);
    let out = dir.join(output);
    let tmp = dir.join(format!("{output}.tmp"));
    let mut gcc = c_compiler(AARCH64_TARGET)?;
    if let Libc::Musl = libc {
        gcc.args(["-specs", MUSL_SPECS]);
        if pie {
            // musl's specs know no -static-pie (they link Scrt1.o and a dynamic linker);
            // this second specs file links rcrt1.o, which relocates the program itself.
            gcc.arg("-specs")
                .arg(root().join("tests/clients/c/musl-static-pie.specs"));
        }
    }
    gcc.arg(if pie { "-static-pie" } else { "-static" })
        .arg("-o")
        .arg(&tmp)
        .arg(&src);
    run_tool(&mut gcc, "Debian package gcc-aarch64-linux-gnu")?;
    check_static(&tmp, pie)?;
    std::fs::rename(&tmp, &out).map_err(|e| format!("renaming to {}: {e}", out.display()))?;
    Ok(out)
}

/// A command that runs the C compiler `cc` finds for `target` with `cc`'s flags for it,
/// `-O2`, `-Wall -Wextra` and no debug information; the caller adds what to compile and
/// how to link. No code model flag is added: the compiler's default (position-independent
/// on Debian) serves both `-static` and `-static-pie`.
fn c_compiler(target: &str) -> Result<Command, String> {
    let tool = cc::Build::new()
        .target(target)
        .host(&host_triple())
        .opt_level(2)
        .debug(false)
        .pic(false)
        .warnings(true)
        .extra_warnings(true)
        .inherit_rustflags(false)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_get_compiler()
        .map_err(|e| format!("no C compiler for {target}: {e}"))?;
    Ok(tool.to_command())
}

/// The triple of the machine the tests run on: `cc` compiles natively for it and
/// cross-compiles for any other.
fn host_triple() -> String {
    let env = if cfg!(target_env = "musl") {
        "musl"
    } else {
        "gnu"
    };
    format!("{}-unknown-linux-{env}", std::env::consts::ARCH)
}

/// Runs `command` to its end; if it cannot start, the error names `package`, which
/// provides it; if it fails, the error holds its stderr.
fn run_tool(command: &mut Command, package: &str) -> Result<(), String> {
    let result = command.output().map_err(|e| {
        let program = command.get_program().to_string_lossy();
        format!("cannot run {program} ({package}): {e}")
    })?;
    if !result.status.success() {
        // The program and its arguments, quoted: `cc`'s commands carry a copy of the whole
        // environment, which their `Debug` would show too.
        let shown: Vec<String> = std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|word| format!("{word:?}"))
            .collect();
        return Err(format!(
            "{} failed ({}):\n{}",
            shown.join(" "),
            result.status,
            String::from_utf8_lossy(&result.stderr)
        ));
    }
    Ok(())
}

/// A static aarch64 executable: ELF64, `EM_AARCH64`, `ET_EXEC` (or `ET_DYN` for
/// static-PIE), without `PT_INTERP`.
pub fn check_static(path: &Path, pie: bool) -> Result<(), String> {
    check_static_for(path, pie, ELFCLASS64, EM_AARCH64)
}

/// A static 32-bit Arm executable: ELF32, `EM_ARM`, `ET_EXEC`, without `PT_INTERP`.
pub fn check_static_arm(path: &Path) -> Result<(), String> {
    check_static_for(path, false, ELFCLASS32, EM_ARM)
}

/// A static executable of `class` for `machine`: `ET_EXEC` (or `ET_DYN` for static-PIE)
/// without `PT_INTERP`.
fn check_static_for(path: &Path, pie: bool, class: u8, machine: u16) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let (e_machine, e_type, ident) =
        image::header(&bytes).map_err(|e| format!("{}: not ELF: {e}", path.display()))?;
    if ident[4] != class || e_machine != machine {
        return Err(format!(
            "{} is ELF class {} for machine {e_machine}, not class {class} for machine {machine}",
            path.display(),
            ident[4]
        ));
    }
    let segments =
        image::segments(&bytes).map_err(|e| format!("{}: no segments: {e}", path.display()))?;
    let et_exec = 2;
    let want = if pie { ET_DYN } else { et_exec };
    if e_type != want || segments.iter().any(|p| p.p_type == PT_INTERP) {
        return Err(format!(
            "{} is not a static{} executable (e_type {e_type}, interpreter: {})",
            path.display(),
            if pie { "-PIE" } else { "" },
            segments.iter().any(|p| p.p_type == PT_INTERP)
        ));
    }
    Ok(())
}

/// A finished run of a program, with its output kept in `target/e2e/runs/`.
pub struct Run {
    /// The command, as `Debug` shows it.
    pub command: String,
    /// Its exit code (`None` if a signal ended it).
    pub status: Option<i32>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
    /// Where the stdout is kept.
    pub stdout_path: PathBuf,
    /// Where the stderr is kept.
    pub stderr_path: PathBuf,
}

impl Run {
    /// What to show when a check fails.
    pub fn context(&self) -> String {
        format!(
            "command: {}\nexit status: {:?}\nstdout ({}):\n{}\nstderr: {}",
            self.command,
            self.status,
            self.stdout_path.display(),
            self.stdout,
            self.stderr_path.display()
        )
    }
}

/// How far the host's CLOCK_REALTIME has moved against its CLOCK_MONOTONIC
/// (which `Instant` reads) since the first call, in ns: zero unless the
/// host steps or slews its wall clock.
fn host_wall_offset() -> i128 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let wall = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128)
    };
    static ORIGIN: std::sync::OnceLock<(Instant, i128)> = std::sync::OnceLock::new();
    let (monotonic, at) = ORIGIN.get_or_init(|| (Instant::now(), wall()));
    wall() - at - monotonic.elapsed().as_nanos() as i128
}

/// How far the host's wall clock may move against CLOCK_MONOTONIC during a
/// run before the run's clock comparisons are void.
const WALL_CLOCK_SLACK_NS: i128 = 10_000;

/// Waits (at most two minutes) until the host's wall clock has held still
/// against CLOCK_MONOTONIC for a second.
fn wait_for_a_steady_wall_clock() {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = host_wall_offset();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
        let now = host_wall_offset();
        if (now - last).abs() < WALL_CLOCK_SLACK_NS {
            return;
        }
        last = now;
    }
}

/// [`run_logged`] for a program under qemu-user that compares the vDSO's
/// clocks with the syscall's. qemu-user's counter (`CNTVCT_EL0`) follows the
/// host's CLOCK_REALTIME (its user-mode `cpu_get_clock`), so a host whose
/// wall clock is being stepped or slewed against CLOCK_MONOTONIC (a time
/// daemon correcting an offset) moves every counter-based clock of the run
/// with it, and a comparison with the MONOTONIC syscall says nothing about
/// the vDSO. Such a run is made again, after the host's wall clock holds
/// still, at most three more times; the last run is returned either way.
pub fn run_with_a_steady_wall_clock(
    command: impl Fn() -> Command,
    label: &str,
    timeout: Duration,
) -> Result<Run, String> {
    let mut tries = 0;
    loop {
        let before = host_wall_offset();
        let run = run_logged(command(), label, timeout)?;
        let moved = host_wall_offset() - before;
        tries += 1;
        if moved.abs() < WALL_CLOCK_SLACK_NS || tries == 4 {
            return Ok(run);
        }
        eprintln!("{label}: the host's wall clock moved {moved} ns against CLOCK_MONOTONIC during the run; running it again");
        wait_for_a_steady_wall_clock();
    }
}

/// Runs `command` with stdin from /dev/null and stdout and stderr in
/// `target/e2e/runs/<label>.{stdout,stderr}`; kills it after `timeout`.
pub fn run_logged(mut command: Command, label: &str, timeout: Duration) -> Result<Run, String> {
    let dir = e2e_dir().join("runs");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let stdout_path = dir.join(format!("{label}.stdout"));
    let stderr_path = dir.join(format!("{label}.stderr"));
    let create = |p: &Path| File::create(p).map_err(|e| format!("creating {}: {e}", p.display()));
    command
        .stdin(Stdio::null())
        .stdout(create(&stdout_path)?)
        .stderr(create(&stderr_path)?);
    let shown = format!("{command:?}");
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{shown} did not finish in {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| {
        std::fs::read(p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| format!("reading {}: {e}", p.display()))
    };
    Ok(Run {
        command: shown,
        status: status.code(),
        stdout: read(&stdout_path)?,
        stderr: read(&stderr_path)?,
        stdout_path,
        stderr_path,
    })
}

/// Where the 32-bit Arm end-to-end tests (`tests/e2e_arm.rs`) build and keep their programs
/// and runs: `target/e2e-arm`.
pub fn e2e_arm_dir() -> PathBuf {
    root().join("target/e2e-arm")
}

/// armhf musl's specs (musl 1.2.3: a 64-bit `time_t`).
const ARM_MUSL_SPECS: &str = "/usr/lib/arm-linux-musleabihf/musl-gcc.specs";

/// The C library of a 32-bit Arm C client.
#[derive(Clone, Copy, Debug)]
pub enum ArmLibc {
    /// armhf musl 1.2.3 (Debian's `musl-dev:armhf`): a 64-bit `time_t`, and no vDSO use at
    /// all (musl disabled vDSO `clock_gettime` on arm in 1.2.0 and re-enabled it only after
    /// 1.2.3, in commit 41603c7706f8; Debian's `libc.a` has no `__vdsosym` caller).
    Musl,
    /// armhf static glibc 2.36 (`libc6-dev-armhf-cross`) with `_TIME_BITS=64`: looks up
    /// `__vdso_clock_gettime64`, `__vdso_clock_gettime` and `__vdso_gettimeofday`@LINUX_2.6.
    Glibc,
}

/// Builds `tests/clients/c/<source>` into `target/e2e-arm/c/<output>`: a static 32-bit Arm
/// (armhf, ARMv7) program with a 64-bit `time_t`, checked to be a static `ET_EXEC` without
/// an interpreter. The toolchain must be installed (`xtask::prereq::TEST`).
pub fn arm_c_client(source: &str, output: &str, libc: ArmLibc) -> Result<PathBuf, String> {
    let dir = e2e_arm_dir().join("c");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let out = dir.join(output);
    let tmp = dir.join(format!("{output}.tmp"));
    let mut gcc = c_compiler(ARMV7_TARGET)?;
    match libc {
        ArmLibc::Musl => gcc.args(["-specs", ARM_MUSL_SPECS]),
        ArmLibc::Glibc => gcc.args(["-D_TIME_BITS=64", "-D_FILE_OFFSET_BITS=64"]),
    };
    gcc.args(["-static", "-o"])
        .arg(&tmp)
        .arg(root().join("tests/clients/c").join(source));
    run_tool(
        &mut gcc,
        "Debian packages gcc-arm-linux-gnueabihf, musl-dev:armhf, libc6-dev-armhf-cross",
    )?;
    check_static_arm(&tmp)?;
    std::fs::rename(&tmp, &out).map_err(|e| format!("renaming to {}: {e}", out.display()))?;
    Ok(out)
}

/// Builds `tests/clients/go/main.go` for linux/arm (`GOARM=7`, static: no cgo), offline,
/// into `target/e2e-arm/go/<output>`, with its build cache there.
///
/// With `vdso: false` the build replaces the runtime's `vdso_linux_arm.go` (with `go build
/// -overlay`) by a copy that looks up `__vdso_clock_gettime_off` instead of
/// `__vdso_clock_gettime`: the same program, whose runtime finds no vDSO function in any
/// image and makes every clock call a syscall.
pub fn arm_go_client(output: &str, vdso: bool) -> Result<PathBuf, String> {
    let dir = e2e_arm_dir().join("go");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let out = dir.join(output);
    let overlay = if vdso {
        None
    } else {
        Some(go_no_vdso_overlay(&dir)?)
    };
    go_build(
        &dir,
        &out,
        &[("GOARCH", "arm"), ("GOARM", "7")],
        overlay.as_deref(),
    )?;
    check_static_arm(&out)?;
    Ok(out)
}

/// `go build`s `tests/clients/go/main.go` into `out` for linux with `arch` (`GOARCH`,
/// `GOARM`), static (no cgo), offline, with its build cache and `GOPATH` under `dir`, and
/// with the `-overlay` file `overlay` if any.
pub fn go_build(
    dir: &Path,
    out: &Path,
    arch: &[(&str, &str)],
    overlay: Option<&Path>,
) -> Result<(), String> {
    let mut go = Command::new("go");
    go.current_dir(root().join("tests/clients/go"))
        .args(["build", "-trimpath"]);
    if let Some(overlay) = overlay {
        go.arg("-overlay").arg(overlay);
    }
    go.arg("-o")
        .arg(out)
        .arg("main.go")
        .envs(arch.iter().copied())
        .env("GOOS", "linux")
        .env("CGO_ENABLED", "0")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOWORK", "off")
        .env("GOCACHE", dir.join("gocache"))
        .env("GOPATH", dir.join("gopath"));
    run_tool(&mut go, "Debian package golang-go")
}

/// The `go build -overlay` file of [`arm_go_client`]'s build without a vDSO, written into
/// `dir`.
fn go_no_vdso_overlay(dir: &Path) -> Result<PathBuf, String> {
    let goroot = Command::new("go")
        .args(["env", "GOROOT"])
        .output()
        .map_err(|e| format!("cannot run go (Debian package golang-go): {e}"))?;
    let goroot = String::from_utf8_lossy(&goroot.stdout).trim().to_string();
    let original = Path::new(&goroot).join("src/runtime/vdso_linux_arm.go");
    let text = std::fs::read_to_string(&original)
        .map_err(|e| format!("reading {}: {e}", original.display()))?;
    let key = "\"__vdso_clock_gettime\"";
    if text.matches(key).count() != 1 {
        return Err(format!(
            "{} does not look up {key} exactly once: cannot build Go without a vDSO",
            original.display()
        ));
    }
    let replaced = dir.join("vdso_linux_arm.go");
    std::fs::write(&replaced, text.replace(key, "\"__vdso_clock_gettime_off\""))
        .map_err(|e| format!("writing {}: {e}", replaced.display()))?;
    let overlay = dir.join("no-vdso-overlay.json");
    let json = format!(
        "{{\"Replace\":{{{:?}:{:?}}}}}",
        original.display().to_string(),
        replaced.display().to_string()
    );
    std::fs::write(&overlay, json).map_err(|e| format!("writing {}: {e}", overlay.display()))?;
    Ok(overlay)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `cc` picks for a target when no `CC_<target>`, `TARGET_CC` or `CC` says
    /// otherwise: on any host but the target itself, the Debian cross gcc named after it.
    fn default_compiler(target: &str) -> Option<String> {
        let overridden = ["CC", "TARGET_CC"]
            .into_iter()
            .map(String::from)
            .chain([
                format!("CC_{target}"),
                format!("CC_{}", target.replace('-', "_")),
            ])
            .any(|var| std::env::var_os(var).is_some());
        if overridden || host_triple() == target {
            return None;
        }
        Some(
            c_compiler(target)
                .unwrap()
                .get_program()
                .to_string_lossy()
                .into_owned(),
        )
    }

    #[test]
    fn each_client_target_gets_its_cross_gcc_with_the_targets_flags() {
        if let Some(gcc) = default_compiler(AARCH64_TARGET) {
            assert_eq!(gcc, "aarch64-linux-gnu-gcc");
        }
        if let Some(gcc) = default_compiler(ARMV7_TARGET) {
            assert_eq!(gcc, "arm-linux-gnueabihf-gcc");
            let arm = c_compiler(ARMV7_TARGET).unwrap();
            let args: Vec<_> = arm.get_args().collect();
            for flag in [
                "-march=armv7-a",
                "-mfloat-abi=hard",
                "-O2",
                "-Wall",
                "-Wextra",
            ] {
                assert!(args.contains(&flag.as_ref()), "{flag} not in {args:?}");
            }
        }
    }
}
