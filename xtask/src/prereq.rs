//! Prerequisites: the Debian packages each command needs, checked before
//! use and installed when we run as root (as CI does), otherwise named in an
//! error with the exact command to run.

use std::path::Path;

use anyhow::{bail, Result};
use xshell::{cmd, Shell};

/// One thing a command needs from the machine.
pub struct Prereq {
    /// What it is, for messages.
    pub what: &'static str,
    /// A file whose presence proves it is installed.
    pub probe: &'static str,
    /// The Debian package that provides it.
    pub package: &'static str,
}

/// Debian's rustc, which has an aarch64 core/std (rustup here has x86_64 only).
pub const RUSTC: &str = "/usr/bin/rustc";
/// Debian's clippy, for the aarch64 builds.
pub const CLIPPY_DRIVER: &str = "/usr/bin/clippy-driver";
/// The aarch64 target triple of the image and the test programs.
pub const TARGET: &str = "aarch64-unknown-linux-gnu";

const DEBIAN_RUSTC: Prereq = Prereq {
    what: "Debian rustc (has an aarch64 std)",
    probe: RUSTC,
    package: "rustc-web",
};
const AARCH64_STD: Prereq = Prereq {
    what: "aarch64 core/std for Debian's rustc",
    probe: "/usr/lib/rustlib/aarch64-unknown-linux-gnu/lib",
    package: "libstd-rust-web-dev:arm64",
};
const BINUTILS: Prereq = Prereq {
    what: "aarch64 ld/objcopy/objdump",
    probe: "/usr/bin/aarch64-linux-gnu-ld",
    package: "binutils-aarch64-linux-gnu",
};
const GCC: Prereq = Prereq {
    what: "aarch64 gcc (links the test programs)",
    probe: "/usr/bin/aarch64-linux-gnu-gcc",
    package: "gcc-aarch64-linux-gnu",
};
const GLIBC: Prereq = Prereq {
    what: "aarch64 static glibc",
    probe: "/usr/aarch64-linux-gnu/lib/libc.a",
    package: "libc6-dev-arm64-cross",
};
const MUSL: Prereq = Prereq {
    what: "aarch64 musl (static C clients)",
    probe: "/usr/lib/aarch64-linux-musl/musl-gcc.specs",
    package: "musl-dev:arm64",
};
const GO: Prereq = Prereq {
    what: "Go (the Go client, GOARCH=arm64)",
    probe: "/usr/bin/go",
    package: "golang-go",
};
const QEMU_USER: Prereq = Prereq {
    what: "qemu-aarch64 (user mode)",
    probe: "/usr/bin/qemu-aarch64",
    package: "qemu-user",
};

const CLIPPY: Prereq = Prereq {
    what: "Debian clippy (lints the aarch64-only code)",
    probe: CLIPPY_DRIVER,
    package: "rust-web-clippy",
};
const QEMU_SYSTEM: Prereq = Prereq {
    what: "qemu-system-aarch64 (boots the example kernel)",
    probe: "/usr/bin/qemu-system-aarch64",
    package: "qemu-system-arm",
};

/// What `cargo xtask build-vdso` needs.
pub const IMAGE: &[Prereq] = &[DEBIAN_RUSTC, AARCH64_STD, BINUTILS];
/// What `cargo xtask test` needs.
pub const TEST: &[Prereq] = &[
    DEBIAN_RUSTC,
    AARCH64_STD,
    CLIPPY,
    BINUTILS,
    GCC,
    GLIBC,
    MUSL,
    GO,
    QEMU_USER,
    QEMU_SYSTEM,
];

/// Makes sure every prerequisite is there: installs the missing ones with
/// apt when running as root, fails naming the command otherwise.
pub fn ensure(sh: &Shell, needed: &[Prereq]) -> Result<()> {
    let missing: Vec<&Prereq> = needed
        .iter()
        .filter(|p| !Path::new(p.probe).exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|p| p.package).collect();
    let what: Vec<&str> = missing.iter().map(|p| p.what).collect();
    let command = format!(
        "dpkg --add-architecture arm64 && apt-get update && apt-get install -y {}",
        packages.join(" ")
    );
    let uid = cmd!(sh, "id -u").read().unwrap_or_default();
    if uid.trim() != "0" {
        bail!(
            "missing: {}.\nInstall as root with:\n  {command}",
            what.join(", ")
        );
    }
    eprintln!("$ {command}");
    let foreign = cmd!(sh, "dpkg --print-foreign-architectures").read()?;
    if !foreign.lines().any(|a| a.trim() == "arm64") {
        cmd!(sh, "dpkg --add-architecture arm64").run()?;
    }
    cmd!(sh, "apt-get update -q").run()?;
    let install = &packages;
    cmd!(sh, "apt-get install -y -q {install...}")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()?;
    let still: Vec<&str> = missing
        .iter()
        .filter(|p| !Path::new(p.probe).exists())
        .map(|p| p.probe)
        .collect();
    if !still.is_empty() {
        bail!("apt-get installed {packages:?} but these are still missing: {still:?}");
    }
    Ok(())
}

/// A `cargo` command that builds for aarch64 with Debian's rustc.
///
/// Inherited flags meant for the host build are dropped: they would be
/// wrong for another target and would change the image's bytes.
pub fn aarch64_cargo<'a>(sh: &'a Shell, args: &[&str]) -> xshell::Cmd<'a> {
    let linker_var = "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER";
    cmd!(sh, "cargo {args...}")
        .env("RUSTC", RUSTC)
        .env(linker_var, "aarch64-linux-gnu-gcc")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
}
