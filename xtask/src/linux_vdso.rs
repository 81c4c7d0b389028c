//! The anchor: Linux's own arm64 vDSO, carved out of Debian's
//! `linux-image-*-arm64` package, for the drop-in test and the benchmark;
//! and that package's kernel itself, for the VM that runs 32-bit clients.
//!
//! `apt-get download` fetches the package (no install), `dpkg-deb` and `tar`
//! take `/boot/vmlinuz-*` out of it, and the kernel `Image` (gzip-compressed
//! or not) is searched at page-aligned offsets for an ELF shared object for
//! `EM_AARCH64` that exports `__kernel_clock_gettime`: the vDSO the kernel
//! embeds between `vdso_start` and `vdso_end`. Its length is where its
//! section headers end. The vmlinuz (which `crate::linux_vm` boots) and the
//! carved image are cached under [`CACHE_DIR`], the package is deleted;
//! nothing of it is committed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, Sym as _};
use object::LittleEndian as LE;
use xshell::{cmd, Shell};

use crate::prereq;

/// Where the anchor and the downloaded package are kept.
pub const CACHE_DIR: &str = "target/linux-vdso";
/// The meta-package whose dependency names the current kernel package.
const META_PACKAGE: &str = "linux-image-arm64:arm64";
/// The Debian package that depends on the current Linux 6.12 arm64 kernel
/// (bookworm-security): the kernel with Linux's own getrandom vDSO.
const META_PACKAGE_6_12: &str = "linux-image-6.12-arm64:arm64";

/// Linux's vDSO image, carved and cached.
#[derive(Debug, Clone)]
pub struct Anchor {
    /// The image file.
    pub path: PathBuf,
    /// The Debian package it came from, e.g. `linux-image-6.1.0-56-arm64`.
    pub package: String,
    /// Its size in bytes.
    pub size: usize,
}

/// Returns Linux's arm64 vDSO, downloading and carving it on first use.
pub fn fetch(sh: &Shell) -> Result<Anchor> {
    prereq::ensure(sh, prereq::TEST)?;
    let dir = cache_dir()?;
    let package = current_package(sh, META_PACKAGE)?;
    let path = dir.join(format!("{package}.vdso.so"));
    if let Ok(bytes) = std::fs::read(&path) {
        if check(&bytes).is_ok() {
            return Ok(Anchor {
                path,
                package,
                size: bytes.len(),
            });
        }
    }
    let kernel = vmlinuz_of(sh, &package)?;
    let image = kernel_image(sh, &kernel.path)?;
    let vdso = carve(&image).with_context(|| format!("in {}", kernel.path.display()))?;
    std::fs::write(&path, vdso).with_context(|| format!("writing {}", path.display()))?;
    Ok(Anchor {
        path,
        package,
        size: vdso.len(),
    })
}

/// Debian's arm64 kernel, as `/boot/vmlinuz-*` of its package.
#[derive(Debug, Clone)]
pub struct Vmlinuz {
    /// The compressed kernel (`qemu-system-aarch64 -kernel` boots it).
    pub path: PathBuf,
    /// The Debian package it came from, e.g. `linux-image-6.1.0-56-arm64`.
    pub package: String,
}

/// Returns the current Debian arm64 kernel (`/boot/vmlinuz-*` of
/// `linux-image-*-arm64`), downloading it on first use and keeping it as
/// `CACHE_DIR/PACKAGE.vmlinuz`.
pub fn vmlinuz(sh: &Shell) -> Result<Vmlinuz> {
    prereq::ensure(sh, prereq::TEST)?;
    let package = current_package(sh, META_PACKAGE)?;
    vmlinuz_of(sh, &package)
}

/// [`vmlinuz`] for Debian's current Linux 6.12 arm64 kernel
/// (`linux-image-6.12-arm64`'s dependency), cached the same way.
pub fn vmlinuz_6_12(sh: &Shell) -> Result<Vmlinuz> {
    prereq::ensure(sh, prereq::TEST)?;
    let package = current_package(sh, META_PACKAGE_6_12)?;
    vmlinuz_of(sh, &package)
}

fn cache_dir() -> Result<PathBuf> {
    let dir = crate::project_root().join(CACHE_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// The kernel package `meta` currently depends on.
fn current_package(sh: &Shell, meta: &str) -> Result<String> {
    let depends = match cmd!(sh, "apt-cache depends {meta}").quiet().read() {
        Ok(out) => out,
        // No package lists for arm64 (a machine whose lists were cleaned):
        // fetch them once when root, as the prerequisites do (and, like
        // them, go on when one index of the mirror fails).
        Err(_) if cmd!(sh, "id -u").read().unwrap_or_default().trim() == "0" => {
            if cmd!(sh, "apt-get update -q").run().is_err() {
                eprintln!("apt-get update reported a failed index; going on with the rest");
            }
            cmd!(sh, "apt-cache depends {meta}").read()?
        }
        Err(e) => return Err(e).context(
            "apt-cache cannot tell which kernel package is current (run `apt-get update` as root)",
        ),
    };
    Ok(depends
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-"))
        .with_context(|| format!("{meta} depends on no linux-image package:\n{depends}"))?
        .trim_end_matches(":arm64")
        .to_owned())
}

/// `package`'s vmlinuz, cached; downloads and unpacks the package when
/// missing, and keeps only the vmlinuz (the package is ~60 MB, unpacked
/// more).
fn vmlinuz_of(sh: &Shell, package: &str) -> Result<Vmlinuz> {
    // One download and unpack at a time: the tests of one process ask for
    // a kernel from several threads, and the scratch files are shared.
    static FETCHING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = FETCHING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = cache_dir()?;
    let path = dir.join(format!("{package}.vmlinuz"));
    if path.exists() {
        return Ok(Vmlinuz {
            path,
            package: package.to_owned(),
        });
    }
    let _cwd = sh.push_dir(&dir);
    let deb_glob = format!("{package}_");
    let have_deb = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with(&deb_glob));
    if !have_deb {
        let arch_package = format!("{package}:arm64");
        cmd!(sh, "apt-get download -q {arch_package}")
            .run()
            .with_context(|| format!("downloading {arch_package} (needs `dpkg --add-architecture arm64 && apt-get update`)"))?;
    }
    let deb = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with(&deb_glob) && n.ends_with(".deb")
            })
        })
        .context("apt-get download left no .deb")?;
    let unpacked = dir.join(format!("{package}.unpacked"));
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked)?;
    let tarball = cmd!(sh, "dpkg-deb --fsys-tarfile {deb}").output()?.stdout;
    let tar_path = dir.join(format!("{package}.data.tar"));
    std::fs::write(&tar_path, tarball)?;
    cmd!(
        sh,
        "tar -x -f {tar_path} -C {unpacked} --wildcards ./boot/vmlinuz-*"
    )
    .run()
    .context("the package has no /boot/vmlinuz-*")?;
    let vmlinuz = std::fs::read_dir(unpacked.join("boot"))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .context("no vmlinuz in the package")?;
    // Copy then rename: a concurrent reader sees the whole file or none.
    let partial = dir.join(format!("{package}.vmlinuz.partial"));
    std::fs::copy(&vmlinuz, &partial)
        .and_then(|_| std::fs::rename(&partial, &path))
        .with_context(|| format!("writing {}", path.display()))?;
    let _ = std::fs::remove_dir_all(&unpacked);
    let _ = std::fs::remove_file(&tar_path);
    let _ = std::fs::remove_file(&deb);
    Ok(Vmlinuz {
        path,
        package: package.to_owned(),
    })
}

/// The vDSO of `kernel` (e.g. [`vmlinuz_6_12`]'s), carved out of it as
/// [`fetch`] carves the benchmark's anchor.
pub fn vdso_of(sh: &Shell, kernel: &Vmlinuz) -> Result<Vec<u8>> {
    let image = kernel_image(sh, &kernel.path)?;
    let vdso = carve(&image).with_context(|| format!("in {}", kernel.path.display()))?;
    Ok(vdso.to_vec())
}

/// The kernel `Image`: the file itself, or its gzip-decompressed contents.
fn kernel_image(sh: &Shell, vmlinuz: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(vmlinuz)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(cmd!(sh, "gzip -dc {vmlinuz}").output()?.stdout);
    }
    Ok(bytes)
}

/// The vDSO inside a kernel `Image`: the first page-aligned ELF that
/// [`check`] accepts, cut where its section headers end.
pub fn carve(image: &[u8]) -> Result<&[u8]> {
    for start in (0..image.len()).step_by(4096) {
        if !image[start..].starts_with(&elf::ELFMAG) {
            continue;
        }
        let rest = &image[start..];
        let Ok(header) = FileHeader64::<LE>::parse(rest) else {
            continue;
        };
        let end = header.e_shoff(LE) as usize
            + usize::from(header.e_shnum(LE)) * usize::from(header.e_shentsize(LE));
        let Some(candidate) = rest.get(..end) else {
            continue;
        };
        if check(candidate).is_ok() {
            return Ok(candidate);
        }
    }
    bail!("no embedded ELF exporting __kernel_clock_gettime")
}

/// Whether `bytes` is an aarch64 shared object exporting
/// `__kernel_clock_gettime`.
pub fn check(bytes: &[u8]) -> Result<()> {
    let header = FileHeader64::<LE>::parse(bytes)?;
    if header.e_type(LE) != elf::ET_DYN || header.e_machine(LE) != elf::EM_AARCH64 {
        bail!("not an aarch64 shared object");
    }
    let sections = header.sections(LE, bytes)?;
    let symbols = sections.symbols(LE, bytes, elf::SHT_DYNSYM)?;
    let exported = symbols.iter().any(|sym| {
        sym.st_shndx(LE) != elf::SHN_UNDEF
            && symbols.symbol_name(LE, sym) == Ok(b"__kernel_clock_gettime".as_slice())
    });
    if !exported {
        bail!("no __kernel_clock_gettime");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our own image inside a fake kernel `Image`, after a page that only
    /// starts like an ELF file and before trailing data.
    #[test]
    fn carve_finds_the_vdso_at_a_page_boundary_and_cuts_it_exactly() {
        let vdso = std::fs::read(crate::project_root().join("loader/vdso.so")).unwrap();
        let mut image = vec![0x55u8; 8192];
        image[4096..4100].copy_from_slice(&elf::ELFMAG);
        image.extend_from_slice(&vdso);
        image.extend_from_slice(&[0xaa; 5000]);
        assert_eq!(carve(&image).unwrap(), vdso.as_slice());
    }

    #[test]
    fn an_image_without_a_vdso_is_an_error() {
        assert!(carve(&[0u8; 16384]).is_err());
        assert!(check(b"\x7fELF not really").is_err());
    }
}
