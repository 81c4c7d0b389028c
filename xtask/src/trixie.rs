//! Debian 13 (trixie) packages, fetched without touching the system: a
//! private apt configuration under `target/trixie/` whose sources are the
//! machine's own Debian sources with the suite set to trixie, verified with
//! the machine's keyring (its `Signed-By`), then `apt-get download` and
//! `dpkg-deb -x`. Nothing is installed and the system's apt state is not
//! changed. The mirror is whatever the machine's configuration names.
//!
//! Used for `qemu-user` 10.0 (static binaries, run on Debian 12 unpacked):
//! its `-cpu max` has FEAT_ECV, which Debian 12's qemu 7.2 lacks; and for
//! the clients only Debian 13 has (glibc 2.41, Go 1.24, musl 1.2.5 armhf).
//! The private configuration knows the host's architecture and `arm64` and
//! `armhf`, so `package(sh, "musl-dev:armhf")` works.
//!
//! One fetch at a time: every process holds `target/trixie/lock` while it
//! updates, downloads and unpacks, so tests running side by side never
//! share apt's lists half-written or unpack over each other.

use std::fs::File;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::project_root;

/// Where the private apt state and the unpacked packages live.
const DIR: &str = "target/trixie";

/// The machine's Debian sources (deb822), which name its mirror and keyring.
const SOURCES: &str = "/etc/apt/sources.list.d/debian.sources";

/// Debian 13's `qemu-aarch64` (qemu 10), fetched and unpacked on first use.
pub fn qemu_aarch64(sh: &Shell) -> Result<PathBuf> {
    let binary = package(sh, "qemu-user")?.join("usr/bin/qemu-aarch64");
    if !binary.exists() {
        bail!("Debian 13's qemu-user has no usr/bin/qemu-aarch64");
    }
    Ok(binary)
}

/// Debian 13's Go 1.24 (`golang-1.24-go` and its `golang-1.24-src`,
/// unpacked into one tree so that the toolchain's relative links to its
/// sources resolve); returns its GOROOT.
pub fn go_1_24(sh: &Shell) -> Result<PathBuf> {
    let tree = package_into(sh, "golang-1.24-go", "go-1.24")?;
    package_into(sh, "golang-1.24-src", "go-1.24")?;
    let goroot = tree.join("usr/lib/go-1.24");
    if !goroot.join("bin/go").exists() || !goroot.join("src/runtime").exists() {
        bail!(
            "Debian 13's Go 1.24 has no bin/go or src/runtime under {}",
            goroot.display()
        );
    }
    Ok(goroot)
}

/// Debian 13's glibc 2.41 for arm64 as a cross sysroot: `libc6-dev-arm64-cross`,
/// `libc6-arm64-cross` (`libc.so.6`, `ld-linux-aarch64.so.1`) and
/// `linux-libc-dev-arm64-cross`, unpacked into one tree (the linker script `libc.so` names
/// the libraries by absolute paths, which `--sysroot` of that tree resolves); returns it.
pub fn glibc_2_41_arm64(sh: &Shell) -> Result<PathBuf> {
    let tree = "glibc-2.41-arm64";
    for package in [
        "libc6-dev-arm64-cross",
        "libc6-arm64-cross",
        "linux-libc-dev-arm64-cross",
    ] {
        package_into(sh, package, tree)?;
    }
    Ok(project_root().join(DIR).join(tree))
}

/// Debian 13's `package` (`name` or `name:arch`), downloaded and unpacked
/// on first use; returns the directory it was unpacked into
/// (`target/trixie/<name>[-<arch>]`), which holds its `usr/...` tree.
pub fn package(sh: &Shell, package: &str) -> Result<PathBuf> {
    package_into(sh, package, &package.replace(':', "-"))
}

/// [`package`], unpacked into `target/trixie/<tree>` (which several
/// packages may share).
fn package_into(sh: &Shell, package: &str, tree: &str) -> Result<PathBuf> {
    let root = project_root().join(DIR);
    let unpacked = root.join(tree);
    let done = unpacked.join(format!(".unpacked-{}", package.replace(':', "-")));
    if done.exists() {
        return Ok(unpacked);
    }
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let lock = File::create(root.join("lock"))?;
    lock.lock()
        .with_context(|| format!("locking {}", root.display()))?;
    if done.exists() {
        return Ok(unpacked);
    }
    let deb = download(sh, package)?;
    cmd!(sh, "dpkg-deb -x {deb} {unpacked}")
        .run()
        .with_context(|| format!("unpacking {}", deb.display()))?;
    std::fs::write(&done, "")?;
    Ok(unpacked)
}

/// The machine's sources with every bookworm suite renamed to trixie's.
fn trixie_sources(text: &str) -> Result<String> {
    let mut renamed = 0;
    let lines: Vec<String> = text
        .lines()
        .map(|line| match line.strip_prefix("Suites:") {
            Some(suites) => {
                renamed += 1;
                format!("Suites:{}", suites.replace("bookworm", "trixie"))
            }
            None => line.to_owned(),
        })
        .collect();
    if renamed == 0 {
        bail!("{SOURCES} has no `Suites:` line to point at trixie");
    }
    Ok(lines.join("\n") + "\n")
}

/// Downloads `package` from trixie with the private apt configuration and
/// returns the `.deb`.
fn download(sh: &Shell, package: &str) -> Result<PathBuf> {
    let root = project_root().join(DIR);
    let (parts, lists, cache) = (root.join("sources"), root.join("lists"), root.join("cache"));
    for dir in [
        &parts,
        &lists.join("partial"),
        &cache.join("archives/partial"),
    ] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let machine = std::fs::read_to_string(SOURCES)
        .with_context(|| format!("reading {SOURCES} (a Debian machine's apt sources)"))?;
    std::fs::write(parts.join("trixie.sources"), trixie_sources(&machine)?)?;
    let options = [
        "-o".to_owned(),
        "Dir::Etc::SourceList=/dev/null".to_owned(),
        "-o".to_owned(),
        format!("Dir::Etc::SourceParts={}", parts.display()),
        "-o".to_owned(),
        format!("Dir::State::Lists={}", lists.display()),
        "-o".to_owned(),
        format!("Dir::Cache={}", cache.display()),
        "-o".to_owned(),
        format!(
            "APT::Architectures::={}",
            std::env::consts::ARCH.replace("x86_64", "amd64")
        ),
        "-o".to_owned(),
        "APT::Architectures::=arm64".to_owned(),
        "-o".to_owned(),
        "APT::Architectures::=armhf".to_owned(),
    ];
    let update = options.clone();
    cmd!(sh, "apt-get -q {update...} update")
        .run()
        .context("fetching Debian 13's package lists with a private apt configuration")?;
    let _cwd = sh.push_dir(&root);
    cmd!(sh, "apt-get -q {options...} download {package}")
        .run()
        .with_context(|| format!("downloading Debian 13's {package}"))?;
    let (name, arch) = package.split_once(':').unwrap_or((package, ""));
    std::fs::read_dir(&root)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with(&format!("{name}_")) && n.ends_with(&format!("{arch}.deb"))
            })
        })
        .with_context(|| format!("apt-get download left no {package} .deb"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bookworm_suite_becomes_trixies_and_nothing_else_changes() {
        let machine = "Types: deb\nURIs: http://mirror.example/debian\n\
                       Suites: bookworm bookworm-updates\nComponents: main\n\n\
                       Types: deb\nSuites: bookworm-security\nSigned-By: /k.gpg\n";
        let want = "Types: deb\nURIs: http://mirror.example/debian\n\
                    Suites: trixie trixie-updates\nComponents: main\n\n\
                    Types: deb\nSuites: trixie-security\nSigned-By: /k.gpg\n";
        assert_eq!(trixie_sources(machine).unwrap(), want);
        assert!(trixie_sources("deb http://x bookworm main\n").is_err());
    }
}
