//! Library side of `cargo xtask`, shared with the tests: the image checker
//! (fed images broken on purpose by the conformance tests), the
//! prerequisites, and the aarch64 builds of the test programs (which the
//! end-to-end tests build themselves).

use std::path::{Path, PathBuf};

pub mod check;
pub mod prereq;

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
    use anyhow::Context;
    prereq::ensure(sh, prereq::TEST)?;
    let root = project_root();
    let target_dir = root.join(AARCH64_TARGET_DIR);
    let target_dir = target_dir.to_str().context("non-UTF-8 path")?;
    let manifest = root.join("Cargo.toml");
    let manifest = manifest.to_str().context("non-UTF-8 path")?;
    prereq::aarch64_cargo(
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
            prereq::TARGET,
            "--target-dir",
            target_dir,
        ],
    )
    .env("RUSTFLAGS", "-C target-feature=+crt-static")
    .run()
    .with_context(|| format!("building {package} for aarch64 failed"))?;
    Ok(root
        .join(AARCH64_TARGET_DIR)
        .join(prereq::TARGET)
        .join("release")
        .join(package))
}
