//! Library side of `cargo xtask`, shared with the tests: the image checker
//! (fed images broken on purpose by the conformance tests), the image build
//! (the seqlock stress test builds a test-only variant with it), the
//! prerequisites, the aarch64 builds of the test programs (which the
//! end-to-end tests build themselves), and the example kernel's build and
//! boot.

use std::path::{Path, PathBuf};

pub mod build_vdso;
pub mod check;
pub mod kernel;
pub mod linux_vdso;
pub mod linux_vm;
pub mod prereq;
pub mod stress;

/// The workspace root: the parent of this crate.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// Target directory of the aarch64 programs built with Debian's rustc (kept
/// apart from the host's `target/debug`, which rustup's rustc builds).
pub const AARCH64_TARGET_DIR: &str = "target/aarch64";

/// Builds a workspace package's binary as a static aarch64 executable
/// (release profile) with Debian's rustc and returns its path.
///
/// Callable from several test threads at once: cargo serialises builds of
/// one target directory itself.
pub fn build_aarch64_bin(sh: &xshell::Shell, package: &str) -> anyhow::Result<PathBuf> {
    build_aarch64(
        sh,
        package,
        "-C target-feature=+crt-static",
        AARCH64_TARGET_DIR,
        &[],
    )
}

/// Target directory of the armv7 (32-bit Arm) programs built with Debian's
/// rustc and a std built from source.
pub const ARMV7_TARGET_DIR: &str = "target/armv7";

/// Builds a workspace package's binary as a static 32-bit Arm executable
/// (`armv7-unknown-linux-gnueabihf`, static glibc, release profile) with
/// Debian's rustc, its std built from `rust-web-src` (`-Zbuild-std`), and
/// returns its path. The first build compiles std (about 40 s).
pub fn build_armv7_bin(sh: &xshell::Shell, package: &str) -> anyhow::Result<PathBuf> {
    prereq::check_rust_src_version(sh)?;
    build_cross(
        sh,
        prereq::ARMV7_TARGET,
        package,
        "-C target-feature=+crt-static",
        ARMV7_TARGET_DIR,
        &[],
    )
}

/// Builds `package` for aarch64 (release) with `rustflags` into
/// `target_dir` (relative to the root), with `env` set for its build
/// scripts; returns the binary's path.
fn build_aarch64(
    sh: &xshell::Shell,
    package: &str,
    rustflags: &str,
    target_dir: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<PathBuf> {
    build_cross(sh, prereq::TARGET, package, rustflags, target_dir, env)
}

/// Builds `package` for `target` (aarch64, or armv7 with std built from
/// source) as [`build_aarch64`] does.
fn build_cross(
    sh: &xshell::Shell,
    target: &str,
    package: &str,
    rustflags: &str,
    target_dir: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    prereq::ensure(sh, prereq::TEST)?;
    let root = project_root();
    let target_dir = root.join(target_dir);
    let target_str = target_dir.to_str().context("non-UTF-8 path")?;
    let manifest = root.join("Cargo.toml");
    let manifest = manifest.to_str().context("non-UTF-8 path")?;
    let mut cargo = prereq::aarch64_cargo(
        sh,
        &[
            "build",
            "--quiet",
            "--release",
            "--manifest-path",
            manifest,
            "--package",
            package,
            "--target",
            target,
            "--target-dir",
            target_str,
        ],
    )
    .env("RUSTFLAGS", rustflags);
    if target == prereq::ARMV7_TARGET {
        // No prebuilt armv7 std for Debian's rustc: build it (nightly flag).
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
/// Debian's clippy and `-D warnings`: the aarch64 programs (the kernel, the
/// exec harness, the probe, the drop-in test, the benchmark, the seqlock
/// stress test, the VM's init, the Rust client) and both images' own code.
pub fn clippy_aarch64(sh: &xshell::Shell) -> anyhow::Result<()> {
    use anyhow::Context;
    prereq::ensure(sh, prereq::TEST)?;
    let root = project_root();
    let manifest = root.join("Cargo.toml");
    let manifest = manifest.to_str().context("non-UTF-8 path")?;
    let runs: [(&[&str], &str, &str); 2] = [
        (
            &[
                "vdso-exec",
                "vdso-probe",
                "vdso-dropin",
                "vdso-hostile",
                "vdso-bench",
                "vdso-stress",
                "vdso-rust-client",
                "vdso-vm-init",
            ],
            "-C target-feature=+crt-static -D warnings",
            "target/clippy-aarch64",
        ),
        (
            &["vdso-kernel"],
            &format!("{} -D warnings", kernel::RUSTFLAGS),
            "target/clippy-kernel",
        ),
    ];
    for (packages, rustflags, target_dir) in runs {
        let target_dir = root.join(target_dir);
        let mut args = vec!["check", "--quiet", "--manifest-path", manifest];
        for p in packages {
            args.extend(["--package", p]);
        }
        args.extend(["--target", prereq::TARGET, "--target-dir"]);
        args.push(target_dir.to_str().context("non-UTF-8 path")?);
        prereq::aarch64_cargo(sh, &args)
            .env("RUSTFLAGS", rustflags)
            .env("RUSTC_WORKSPACE_WRAPPER", prereq::CLIPPY_DRIVER)
            .env("VDSO_KERNEL_PROGRAMS", "")
            .run()
            .with_context(|| format!("clippy found problems in {packages:?} (aarch64)"))?;
    }
    // The images' own code (`vdso` with `image`: the arch modules and the
    // exports), for both targets; the compat one with `core` from source.
    for flavor in build_vdso::FLAVORS {
        let target_dir = root.join("target/clippy-image").join(flavor.name);
        let target_dir = target_dir.to_str().context("non-UTF-8 path")?;
        let mut args = vec!["check", "--quiet", "--manifest-path", manifest];
        args.extend(["--package", "vdso", "--features", "image"]);
        args.extend(["--target", flavor.target, "--target-dir", target_dir]);
        if flavor.build_std {
            args.push("-Zbuild-std=core");
        }
        prereq::aarch64_cargo(sh, &args)
            .env("RUSTFLAGS", "-D warnings")
            .env("RUSTC_BOOTSTRAP", "1")
            .env("RUSTC_WORKSPACE_WRAPPER", prereq::CLIPPY_DRIVER)
            .run()
            .with_context(|| format!("clippy found problems in the {} image", flavor.name))?;
    }
    Ok(())
}
