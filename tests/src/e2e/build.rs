//! Building the C clients (`tests/clients/c/`) for the end-to-end tests: static aarch64
//! programs against musl or glibc, with the cross toolchain `xtask::prereq` installs.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::elf::{ET_DYN, PT_INTERP};
use crate::image;

const GCC: &str = "aarch64-linux-gnu-gcc";
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
    let mut gcc = Command::new(GCC);
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
        .args(["-O2", "-Wall", "-Wextra", "-o"])
        .arg(&tmp)
        .arg(&src);
    let result = gcc
        .output()
        .map_err(|e| format!("cannot run {GCC} (Debian package gcc-aarch64-linux-gnu): {e}"))?;
    if !result.status.success() {
        return Err(format!(
            "{gcc:?} failed ({}):\n{}",
            result.status,
            String::from_utf8_lossy(&result.stderr)
        ));
    }
    check_static(&tmp, pie)?;
    std::fs::rename(&tmp, &out).map_err(|e| format!("renaming to {}: {e}", out.display()))?;
    Ok(out)
}

/// A static executable: `ET_EXEC` (or `ET_DYN` for static-PIE) without `PT_INTERP`.
pub fn check_static(path: &Path, pie: bool) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let (_, e_type, _) =
        image::header(&bytes).map_err(|e| format!("{}: not ELF: {e}", path.display()))?;
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
