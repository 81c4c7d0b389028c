//! Cross-building, in one place: the `cargo` command that builds for an
//! [`Abi`]'s target with Debian's rustc, the builds of the test programs
//! (which the end-to-end tests run themselves) and of the example kernel,
//! and Debian's clippy over the code the host's `cargo clippy` sees only as
//! stubs.
//!
//! Every cross build goes through [`cargo`], so the flags meant for the
//! host never reach another target, and `-Zbuild-std` is added exactly for
//! the targets whose std is built from source ([`Abi::build_std`]).

use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::{cmd, Cmd, Shell};

use crate::abi::Abi;
use crate::{prereq, project_root};

/// rustc flags of a static user program (the test programs).
pub const STATIC: &str = "-C target-feature=+crt-static";
/// rustc flags of a freestanding kernel: a static, non-PIE executable
/// linked where qemu loads it (its own linker script), no unwinding.
pub const KERNEL: &str = "-C relocation-model=static -C target-feature=+crt-static -C panic=abort";

/// The aarch64 programs Debian's clippy lints, besides the kernel: the exec
/// harness, the probe, the drop-in test, the hostile-kernel test, the
/// benchmark, the seqlock stress test, the ChaCha20 check, the Rust client and
/// the VM's init.
const LINTED_PROGRAMS: [&str; 9] = [
    "vdso-exec",
    "vdso-probe",
    "vdso-dropin",
    "vdso-hostile",
    "vdso-bench",
    "vdso-stress",
    "vdso-chacha",
    "vdso-rust-client",
    "vdso-vm-init",
];

/// A `cargo` command that builds for any [`Abi`]'s target (`--target` in
/// `args`) with Debian's rustc.
///
/// Inherited flags meant for the host build are dropped: they would be
/// wrong for another target and would change the image's bytes.
pub fn cargo<'a>(sh: &'a Shell, args: &[&str]) -> Cmd<'a> {
    let mut cargo = cmd!(sh, "cargo {args...}").env("RUSTC", prereq::RUSTC);
    for abi in Abi::ALL {
        let linker_var = format!(
            "CARGO_TARGET_{}_LINKER",
            abi.target().to_uppercase().replace('-', "_")
        );
        cargo = cargo.env(linker_var, abi.linker());
    }
    cargo
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
}

/// Builds a workspace package's binary as a static aarch64 executable
/// (release profile) with Debian's rustc and returns its path.
///
/// Callable from several test threads at once: cargo serialises builds of
/// one target directory itself.
pub fn build_aarch64_bin(sh: &Shell, package: &str) -> Result<PathBuf> {
    build_bin(sh, Abi::Aarch64, package)
}

/// Builds a workspace package's binary as a static 32-bit Arm executable
/// (`armv7-unknown-linux-gnueabihf`, static glibc, release profile) with
/// Debian's rustc, its std built from `rust-web-src` (`-Zbuild-std`), and
/// returns its path. The first build compiles std (about 40 s).
pub fn build_armv7_bin(sh: &Shell, package: &str) -> Result<PathBuf> {
    build_bin(sh, Abi::Compat, package)
}

/// Builds a workspace package's binary as a static executable for `abi`'s
/// processes (release profile) into [`Abi::programs_dir`]; returns its path.
pub fn build_bin(sh: &Shell, abi: Abi, package: &str) -> Result<PathBuf> {
    build(sh, abi, package, STATIC, abi.programs_dir(), &[])
}

/// Builds `package` for `abi`'s target (release) with `rustflags` into
/// `target_dir` (relative to the root), with `env` set for its build
/// scripts; returns the binary's path.
pub fn build(
    sh: &Shell,
    abi: Abi,
    package: &str,
    rustflags: &str,
    target_dir: &str,
    env: &[(&str, &str)],
) -> Result<PathBuf> {
    prereq::ensure(sh, prereq::TEST)?;
    if abi.build_std() {
        prereq::check_rust_src_version(sh)?;
    }
    let root = project_root();
    let target_dir = root.join(target_dir);
    let manifest = root.join("Cargo.toml");
    let target = abi.target();
    let mut cargo = cargo(
        sh,
        &[
            "build",
            "--quiet",
            "--release",
            "--manifest-path",
            utf8(&manifest)?,
            "--package",
            package,
            "--target",
            target,
            "--target-dir",
            utf8(&target_dir)?,
        ],
    )
    .env("RUSTFLAGS", rustflags);
    if abi.build_std() {
        // No prebuilt std for Debian's rustc: build it (a nightly flag).
        cargo = cargo
            .arg("-Zbuild-std=std,panic_abort")
            .env("RUSTC_BOOTSTRAP", "1");
    }
    for (key, value) in env {
        cargo = cargo.env(key, value);
    }
    cargo
        .run()
        .with_context(|| format!("building {package} for {target} failed"))?;
    Ok(target_dir.join(target).join("release").join(package))
}

/// Lints the code the host's `cargo clippy` sees only as stubs, with
/// Debian's clippy and `-D warnings`: the aarch64 programs, the example
/// kernel (with its own flags) and both images' own code.
pub fn clippy(sh: &Shell) -> Result<()> {
    prereq::ensure(sh, prereq::TEST)?;
    let programs = format!("{STATIC} -D warnings");
    clippy_programs(sh, &LINTED_PROGRAMS, &programs, "target/clippy-aarch64")?;
    let kernel = format!("{KERNEL} -D warnings");
    clippy_programs(sh, &["vdso-kernel"], &kernel, "target/clippy-kernel")?;
    for abi in Abi::ALL {
        clippy_image(sh, abi)?;
    }
    Ok(())
}

/// Debian's clippy over aarch64 `packages` built with `rustflags`.
fn clippy_programs(sh: &Shell, packages: &[&str], rustflags: &str, dir: &str) -> Result<()> {
    let root = project_root();
    let (manifest, target_dir) = (root.join("Cargo.toml"), root.join(dir));
    let mut args = vec!["check", "--quiet", "--manifest-path", utf8(&manifest)?];
    for p in packages {
        args.extend(["--package", p]);
    }
    args.extend(["--target", Abi::Aarch64.target(), "--target-dir"]);
    args.push(utf8(&target_dir)?);
    cargo(sh, &args)
        .env("RUSTFLAGS", rustflags)
        .env("RUSTC_WORKSPACE_WRAPPER", prereq::CLIPPY_DRIVER)
        .env("VDSO_KERNEL_PROGRAMS", "")
        .run()
        .with_context(|| format!("clippy found problems in {packages:?} (aarch64)"))
}

/// Debian's clippy over `abi`'s image's own code (`vdso` with `image`: the
/// arch module and the exports), with `core` from source where
/// [`Abi::build_std`] says so.
fn clippy_image(sh: &Shell, abi: Abi) -> Result<()> {
    let root = project_root();
    let manifest = root.join("Cargo.toml");
    let target_dir = root.join("target/clippy-image").join(abi.name());
    let mut args = vec!["check", "--quiet", "--manifest-path", utf8(&manifest)?];
    args.extend(["--package", "vdso", "--features", "image"]);
    args.extend(["--target", abi.target(), "--target-dir", utf8(&target_dir)?]);
    if abi.build_std() {
        args.push("-Zbuild-std=core");
    }
    cargo(sh, &args)
        .env("RUSTFLAGS", "-D warnings")
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTC_WORKSPACE_WRAPPER", prereq::CLIPPY_DRIVER)
        .run()
        .with_context(|| format!("clippy found problems in the {} image", abi.name()))
}

/// `path` as a command-line argument.
fn utf8(path: &std::path::Path) -> Result<&str> {
    path.to_str().context("non-UTF-8 path")
}
