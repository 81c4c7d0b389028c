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

/// Debian's rustc, which has an aarch64 core/std (rustup here has x86_64
/// only); `cross::cargo` builds every other target with it.
pub const RUSTC: &str = "/usr/bin/rustc";
/// Debian's clippy, for the aarch64 builds.
pub const CLIPPY_DRIVER: &str = "/usr/bin/clippy-driver";
/// Where `rust-web-src` puts the library sources `-Zbuild-std` builds.
pub const RUST_SRC_LIBRARY: &str = "/usr/lib/rustlib/src/rust/library";

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

const RUST_SRC: Prereq = Prereq {
    what: "Rust library sources for Debian's rustc (armv7 core/std via -Zbuild-std)",
    probe: "/usr/lib/rustlib/src/rust/library/core/Cargo.toml",
    package: "rust-web-src",
};
const ARM_BINUTILS: Prereq = Prereq {
    what: "arm ld/objcopy/objdump (the compat image)",
    probe: "/usr/bin/arm-linux-gnueabihf-ld",
    package: "binutils-arm-linux-gnueabihf",
};
const ARM_GCC: Prereq = Prereq {
    what: "arm gcc (links the armv7 test programs)",
    probe: "/usr/bin/arm-linux-gnueabihf-gcc",
    package: "gcc-arm-linux-gnueabihf",
};
const ARM_GLIBC: Prereq = Prereq {
    what: "armhf static glibc (the armv7 exec harness's std)",
    probe: "/usr/arm-linux-gnueabihf/lib/libc.a",
    package: "libc6-dev-armhf-cross",
};
const ARM_MUSL: Prereq = Prereq {
    what: "armhf musl (static 32-bit C clients, 64-bit time_t)",
    probe: "/usr/lib/arm-linux-musleabihf/musl-gcc.specs",
    package: "musl-dev:armhf",
};
const QEMU_ARM: Prereq = Prereq {
    what: "qemu-arm (user mode, runs the 32-bit clients)",
    probe: "/usr/bin/qemu-arm",
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
pub const IMAGE: &[Prereq] = &[DEBIAN_RUSTC, AARCH64_STD, BINUTILS, RUST_SRC, ARM_BINUTILS];
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
    RUST_SRC,
    ARM_BINUTILS,
    ARM_GCC,
    ARM_GLIBC,
    ARM_MUSL,
    QEMU_ARM,
];

/// Foreign architectures whose packages we install (`…:arm64`, `…:armhf`).
const FOREIGN_ARCHES: [&str; 2] = ["arm64", "armhf"];

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
        "dpkg --add-architecture arm64 && dpkg --add-architecture armhf && apt-get update; apt-get install -y {}",
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
    for arch in FOREIGN_ARCHES {
        if !foreign.lines().any(|a| a.trim() == arch) {
            cmd!(sh, "dpkg --add-architecture {arch}").run()?;
        }
    }
    // A mirror mid-sync can fail one index (seen here: bookworm-security's
    // armhf list, whose only package we would want, the armhf std, we build
    // from source instead). apt keeps the other indexes; whether what we
    // need got installed is checked below, file by file.
    if cmd!(sh, "apt-get update -q").run().is_err() {
        eprintln!("apt-get update reported a failed index; going on with the rest");
    }
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

/// Fails unless `rust-web-src` (the library sources `-Zbuild-std` builds
/// for armv7) has exactly the version of `rustc-web`: a core from other
/// sources does not load into this compiler, or worse, miscompiles.
pub fn check_rust_src_version(sh: &Shell) -> Result<()> {
    let format = "${Version}\n";
    let versions = cmd!(sh, "dpkg-query -W -f {format} rustc-web rust-web-src").read()?;
    let versions: Vec<&str> = versions.lines().collect();
    if versions.len() != 2 || versions[0] != versions[1] {
        bail!(
            "rustc-web and rust-web-src differ ({versions:?}); install matching ones:\n  \
             apt-get install -y rustc-web rust-web-src"
        );
    }
    Ok(())
}
