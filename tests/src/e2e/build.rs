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
/// Where an armhf musl package puts its libraries, crt files and specs, and its headers.
const ARM_MUSL_LIB: &str = "/usr/lib/arm-linux-musleabihf";
const ARM_MUSL_INCLUDE: &str = "/usr/include/arm-linux-musleabihf";

/// The C library of a 32-bit Arm C client.
#[derive(Clone, Copy, Debug)]
pub enum ArmLibc<'a> {
    /// armhf musl 1.2.3 (Debian 12's `musl-dev:armhf`): a 64-bit `time_t`, and no vDSO use
    /// at all (musl removed vDSO `clock_gettime` on arm in 1.2.1, commit 4486c579cbf0, and
    /// brought it back in 1.2.4, commit bf14ef193b42; Debian's `libc.a` has no `__vdsosym`
    /// caller).
    Musl,
    /// armhf musl 1.2.5 (Debian 13's `musl-dev:armhf`), unpacked, not installed, into the
    /// directory given (`xtask::trixie::package(sh, "musl-dev:armhf")`): a 64-bit `time_t`;
    /// `clock_gettime` calls `__vdso_clock_gettime64`@LINUX_2.6 (only when
    /// `__vdso_clock_gettime` is there too), `clock_getres` is always the syscall. Linked by
    /// Debian 12's gcc with that package's own `musl-gcc.specs`, its paths moved into the
    /// unpacked tree.
    Musl125(&'a Path),
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
    let packages = match libc {
        ArmLibc::Musl => {
            gcc.args(["-specs", ARM_MUSL_SPECS]);
            "Debian packages gcc-arm-linux-gnueabihf and musl-dev:armhf"
        }
        ArmLibc::Musl125(tree) => {
            let specs = unpacked_musl_specs(tree, &dir.join(format!("{output}.specs")))?;
            gcc.arg("-specs").arg(specs);
            "Debian 12's gcc-arm-linux-gnueabihf; Debian 13's musl-dev:armhf, which \
             xtask::trixie unpacks"
        }
        ArmLibc::Glibc => {
            gcc.args(["-D_TIME_BITS=64", "-D_FILE_OFFSET_BITS=64"]);
            "Debian packages gcc-arm-linux-gnueabihf and libc6-dev-armhf-cross"
        }
    };
    gcc.args(["-static", "-o"])
        .arg(&tmp)
        .arg(root().join("tests/clients/c").join(source));
    run_tool(&mut gcc, packages)?;
    check_static_arm(&tmp)?;
    std::fs::rename(&tmp, &out).map_err(|e| format!("renaming to {}: {e}", out.display()))?;
    Ok(out)
}

/// The `musl-gcc.specs` of the armhf musl unpacked into `tree`, written to `specs` with every
/// path of the package (its headers, libraries and crt files under `/usr/lib/…` and
/// `/usr/include/arm-linux-musleabihf`) moved into `tree`, so that gcc compiles against that
/// musl's headers and links its `libc.a`, never the system's armhf musl. Fails if the tree
/// holds no such specs or `libc.a`, or if a path of the system's musl is left.
fn unpacked_musl_specs(tree: &Path, specs: &Path) -> Result<PathBuf, String> {
    let fix = "fetch it with `xtask::trixie::package(sh, \"musl-dev:armhf\")` (Debian 13's \
               musl-dev:armhf, unpacked under target/trixie/)";
    let lib = tree.join(ARM_MUSL_LIB.trim_start_matches('/'));
    let original = lib.join("musl-gcc.specs");
    let text = std::fs::read_to_string(&original).map_err(|e| {
        format!(
            "no armhf musl in {} ({}: {e}): {fix}",
            tree.display(),
            original.display()
        )
    })?;
    for file in ["libc.a", "crt1.o", "crti.o", "crtn.o"] {
        if !lib.join(file).exists() {
            return Err(format!("{} has no {file}: {fix}", lib.display()));
        }
    }
    let include = tree.join(ARM_MUSL_INCLUDE.trim_start_matches('/'));
    if !include.join("time.h").exists() {
        return Err(format!("{} has no time.h: {fix}", include.display()));
    }
    let moved = text
        .replace(ARM_MUSL_LIB, &lib.display().to_string())
        .replace(ARM_MUSL_INCLUDE, &include.display().to_string());
    // No path of the system's own (`/usr/…`) may be left: the link would mix in another
    // musl or library. (The dynamic linker's name, under `/lib`, a static link never uses.)
    let moved_usr = format!("{}/usr/", tree.display());
    if let Some(stray) = moved
        .split_whitespace()
        .find(|word| word.replace(&moved_usr, "").contains("/usr/"))
    {
        return Err(format!(
            "{} names {stray}, outside the unpacked musl: cannot build against it alone",
            original.display()
        ));
    }
    std::fs::write(specs, moved).map_err(|e| format!("writing {}: {e}", specs.display()))?;
    Ok(specs.to_path_buf())
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

    /// A fake unpacked armhf musl under the system's temporary directory, whose specs hold
    /// `extra` after Debian's own lines (shortened).
    fn fake_musl_tree(name: &str, extra: &str) -> PathBuf {
        let tree = std::env::temp_dir().join(format!("vdso-tests-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tree);
        let lib = tree.join("usr/lib/arm-linux-musleabihf");
        let include = tree.join("usr/include/arm-linux-musleabihf");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::create_dir_all(&include).unwrap();
        for file in ["libc.a", "crt1.o", "crti.o", "crtn.o"] {
            std::fs::write(lib.join(file), "").unwrap();
        }
        std::fs::write(include.join("time.h"), "").unwrap();
        let specs = "*cc1:\n%(cc1_cpu) -nostdinc -isystem /usr/include/arm-linux-musleabihf \
                     -isystem include%s\n\n*link_libgcc:\n-L/usr/lib/arm-linux-musleabihf -L .%s\n\n\
                     *startfile:\n%{!shared: /usr/lib/arm-linux-musleabihf/Scrt1.o} \
                     /usr/lib/arm-linux-musleabihf/crti.o crtbeginS.o%s\n\n*link:\n\
                     -dynamic-linker /lib/ld-musl-armhf.so.1 -nostdlib\n";
        std::fs::write(lib.join("musl-gcc.specs"), format!("{specs}{extra}")).unwrap();
        tree
    }

    #[test]
    fn an_unpacked_musls_specs_name_only_its_own_tree() {
        let tree = fake_musl_tree("musl-specs", "");
        let specs = unpacked_musl_specs(&tree, &tree.join("out.specs")).unwrap();
        let text = std::fs::read_to_string(specs).unwrap();
        let t = tree.display();
        for want in [
            format!("-isystem {t}/usr/include/arm-linux-musleabihf "),
            format!("-L{t}/usr/lib/arm-linux-musleabihf "),
            format!("{t}/usr/lib/arm-linux-musleabihf/Scrt1.o}}"),
            format!(" {t}/usr/lib/arm-linux-musleabihf/crti.o "),
        ] {
            assert!(text.contains(&want), "{want:?} not in\n{text}");
        }
        assert!(
            !text.contains(" /usr/") && !text.contains("-L/usr"),
            "{text}"
        );

        // A path of the system outside the package is refused, not linked.
        for (name, extra, path) in [
            (
                "stray-file",
                "*endfile:\n/usr/lib/gcc/crtendS.o\n",
                "/usr/lib/gcc/crtendS.o",
            ),
            (
                "stray-dir",
                "*lib:\n-L/usr/lib/arm-linux-gnueabihf -lc\n",
                "-L/usr/lib/arm-linux-gnueabihf",
            ),
        ] {
            let stray = fake_musl_tree(name, extra);
            let e = unpacked_musl_specs(&stray, &stray.join("out.specs")).unwrap_err();
            assert!(e.contains(path), "{e}");
            std::fs::remove_dir_all(stray).unwrap();
        }
        std::fs::remove_dir_all(tree).unwrap();
    }

    #[test]
    fn a_missing_unpacked_musl_names_the_fetch_that_provides_it() {
        let empty = std::env::temp_dir().join(format!("vdso-tests-no-musl-{}", std::process::id()));
        let e = unpacked_musl_specs(&empty, &empty.join("out.specs")).unwrap_err();
        assert!(
            e.contains("musl-dev:armhf") && e.contains("xtask::trixie::package"),
            "{e}"
        );
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
