//! `cargo xtask build-vdso`: build, link, strip, patch and check both images,
//! then write `loader/vdso.so` + `loader/src/offsets.rs` (the 64-bit image)
//! and `loader/vdso32.so` + `loader/src/compat_offsets.rs` (the 32-bit
//! compat image), or, with `--check`, prove the committed ones equal a fresh
//! build.
//!
//! The pipeline, after Linux's `arch/arm64/kernel/vdso/Makefile` (and
//! `vdso32/Makefile`), the same for both [`Flavor`]s:
//! 1. `cargo rustc` builds the `vdso` crate as a `staticlib` (fat LTO,
//!    panic=abort) with Debian's rustc: for aarch64 with `-Zfixed-x18` and
//!    BTI; for `armv7-unknown-linux-gnueabihf` with `core` built from
//!    `rust-web-src` (`-Zbuild-std=core`, see [`prereq::ARMV7_TARGET`]).
//! 2. `ld` links the crate's own object (never the archive's
//!    `compiler_builtins`, so `--no-undefined` catches any call into it,
//!    such as a 64-bit division on arm) with the flavor's linker script
//!    and a version script generated from its exports: for aarch64
//!    `LINUX_2.6.39` with the `__kernel_*` entry points and `LINUX_2.6` with
//!    the `__vdso_*` aliases; for the compat image `LINUX_2.6` only.
//! 3. `objcopy` strips it; we then patch the aliases' `st_size` (ld gives an
//!    alias its target's type but not its size).
//! 4. [`check_image_as`] (and for aarch64 the x18 scan) must pass, or
//!    nothing is written.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, SectionHeader as _, Sym as _};
use object::LittleEndian as LE;
use xshell::{cmd, Shell};

use crate::check::{self, check_image_as, Report, Spec};

use crate::prereq;

/// What differs between building the 64-bit image and the compat one.
#[derive(Debug, Clone, Copy)]
pub struct Flavor {
    /// Short name, for directories and messages.
    pub name: &'static str,
    /// The Rust target.
    pub target: &'static str,
    /// Prefix of the binutils that link and strip it.
    pub tools: &'static str,
    /// Its linker script.
    pub lds: &'static str,
    /// The rules it is checked against.
    pub spec: &'static Spec,
    /// The committed image.
    pub image_path: &'static str,
    /// The committed, generated symbol offsets.
    pub offsets_path: &'static str,
    /// rustc flags besides the common ones.
    pub rustflags: &'static [&'static str],
    /// Whether `core` is built from source (`-Zbuild-std=core`).
    pub build_std: bool,
}

/// The 64-bit image.
pub const AARCH64: Flavor = Flavor {
    name: "aarch64",
    target: prereq::TARGET,
    tools: "aarch64-linux-gnu-",
    lds: "vdso/vdso.lds",
    spec: &check::AARCH64,
    image_path: "loader/vdso.so",
    offsets_path: "loader/src/offsets.rs",
    rustflags: &[
        // Every function an indirect call can reach starts with `bti c`,
        // and the object carries GNU_PROPERTY_AARCH64_FEATURE_1_BTI: a
        // kernel may map the image as guarded pages (SECURITY.md).
        "-Zbranch-protection=bti",
        // The image must never touch x18, the platform register (Android
        // keeps its shadow call stack there). `+reserve-x18` is going
        // away; `-Zfixed-x18` is what Rust-for-Linux uses. The core
        // functions we inline are compiled into our LTO module with it;
        // the disassembly check below proves no x18 use survived.
        "-Zfixed-x18",
        // Debian's prebuilt `core` has neither flag; everything of it the
        // image uses is inlined into our LTO module and compiled with them
        // (the x18 scan and the BTI check below prove it).
        "-Cunsafe-allow-abi-mismatch=fixed-x18,branch-protection",
    ],
    build_std: false,
};

/// The 32-bit compat image, for AArch32 processes.
pub const COMPAT: Flavor = Flavor {
    name: "compat",
    target: prereq::ARMV7_TARGET,
    tools: "arm-linux-gnueabihf-",
    lds: "vdso/vdso32.lds",
    spec: &check::COMPAT,
    image_path: "loader/vdso32.so",
    offsets_path: "loader/src/compat_offsets.rs",
    rustflags: &[],
    build_std: true,
};

/// Both images, in build order.
pub const FLAVORS: [&Flavor; 2] = [&AARCH64, &COMPAT];

/// The committed 64-bit image.
pub const IMAGE_PATH: &str = AARCH64.image_path;
/// The committed, generated symbol offsets of the 64-bit image.
pub const OFFSETS_PATH: &str = AARCH64.offsets_path;

/// Runs `build-vdso`: both images.
pub fn run(sh: &Shell, check: bool) -> Result<()> {
    prereq::ensure(sh, prereq::IMAGE)?;
    prereq::check_rust_src_version(sh)?;
    let work = sh.current_dir().join(if check {
        "target/build-vdso-check"
    } else {
        "target/build-vdso"
    });
    if check {
        // A fresh directory: the check proves a clean build gives the
        // committed bytes, not that an incremental one does.
        sh.remove_path(&work)?;
    }
    for flavor in FLAVORS {
        let (image, report) = build_flavor(sh, flavor, &work.join(flavor.name), &[])?;
        let offsets = offsets_source(flavor, &report);
        let (image_path, offsets_path) = (flavor.image_path, flavor.offsets_path);
        if check {
            let committed = sh.read_binary_file(image_path).unwrap_or_default();
            let committed_offsets = sh.read_file(offsets_path).unwrap_or_default();
            let mut stale = Vec::new();
            if committed != image {
                stale.push(format!(
                    "{image_path} ({} bytes committed, {} bytes built)",
                    committed.len(),
                    image.len()
                ));
            }
            if committed_offsets != offsets {
                stale.push(offsets_path.to_string());
            }
            if !stale.is_empty() {
                bail!(
                    "the committed image differs from a fresh build: {}.\n\
                     Run `cargo xtask build-vdso` and commit the result with the code that changed it.",
                    stale.join(", ")
                );
            }
            print_summary(flavor, &report);
            println!("build-vdso --check: {image_path} and {offsets_path} equal a fresh build");
        } else {
            sh.write_file(image_path, &image)?;
            sh.write_file(offsets_path, &offsets)?;
            print_summary(flavor, &report);
            println!("wrote {image_path} and {offsets_path}");
        }
    }
    Ok(())
}

/// Builds and checks the 64-bit image in `work`; returns its bytes and
/// report.
pub fn build(sh: &Shell, work: &Path) -> Result<(Vec<u8>, Report)> {
    build_flavor(sh, &AARCH64, work, &[])
}

/// Builds a test-only variant of the image with the `vdso` crate's
/// `feature` on (e.g. `negative-control-no-seqlock-retry`) in
/// `target/build-vdso-variant/<feature>/`, through exactly the pipeline and
/// flags of the shipped image, checks it like the shipped image, and returns
/// the path of its `vdso.so`. Never written to `loader/`.
pub fn build_variant(sh: &Shell, feature: &str) -> Result<PathBuf> {
    prereq::ensure(sh, prereq::IMAGE)?;
    let _root = sh.push_dir(crate::project_root());
    let work = sh
        .current_dir()
        .join("target/build-vdso-variant")
        .join(feature);
    build_flavor(sh, &AARCH64, &work, &[feature])
        .with_context(|| format!("building the image variant with feature {feature}"))?;
    Ok(work.join("vdso.so"))
}

/// Builds and checks `flavor` in `work` with the `vdso` crate's `extra`
/// features on besides `image`; returns its bytes and report.
pub fn build_flavor(
    sh: &Shell,
    flavor: &Flavor,
    work: &Path,
    extra: &[&str],
) -> Result<(Vec<u8>, Report)> {
    let root = sh.current_dir();
    let features = [&["image"], extra].concat().join(",");
    let cargo_dir = work.join("cargo");
    let cargo_dir_arg = cargo_dir.to_str().context("non-UTF-8 path")?;
    let remap = format!("--remap-path-prefix={}=.", root.display());
    let remap_src = format!(
        "--remap-path-prefix={}=/rust/library",
        prereq::RUST_SRC_LIBRARY
    );
    let mut args = vec![
        "rustc",
        "--quiet",
        "--package",
        "vdso",
        "--profile",
        "vdso",
        "--target",
        flavor.target,
        "--features",
        &features,
        "--crate-type",
        "staticlib",
        "--target-dir",
        cargo_dir_arg,
    ];
    if flavor.build_std {
        args.push("-Zbuild-std=core");
    }
    args.extend(["--", "-Cforce-unwind-tables=no", &remap, &remap_src]);
    args.extend(flavor.rustflags);
    prereq::aarch64_cargo(sh, &args)
        .env("RUSTC_BOOTSTRAP", "1")
        .run()
        .with_context(|| format!("building the vdso crate for {} failed", flavor.target))?;
    let object = crate_object(
        sh,
        &cargo_dir.join(flavor.target).join("vdso/libvdso.a"),
        work,
    )?;

    let version_script = work.join("exports.ver");
    let aliases = work.join("aliases.ld");
    sh.write_file(&version_script, version_script_source(flavor.spec))?;
    sh.write_file(&aliases, alias_script_source(flavor.spec))?;
    let linked = work.join("vdso.so.dbg");
    let stripped = work.join("vdso.so");
    let lds = root.join(flavor.lds);
    let required: Vec<String> = flavor
        .spec
        .exports
        .iter()
        .filter(|e| e.alias_of.is_none())
        .map(|e| format!("--require-defined={}", e.name))
        .collect();
    let ld = format!("{}ld", flavor.tools);
    let objcopy = format!("{}objcopy", flavor.tools);
    cmd!(
        sh,
        "{ld} -shared -n -T {lds} --version-script {version_script}
         --hash-style=sysv -Bsymbolic -soname=linux-vdso.so.1 --build-id=sha1
         --no-undefined --gc-sections -z norelro -z noexecstack -z max-page-size=4096
         {required...} -o {linked} {object} {aliases}"
    )
    .run()
    .context("linking the image failed (an undefined symbol means the code calls memcpy, a panic path, a compiler_builtins helper such as __aeabi_uldivmod, or another runtime function)")?;
    cmd!(
        sh,
        "{objcopy} --strip-all --remove-section=.comment {linked} {stripped}"
    )
    .run()?;

    let mut image = sh.read_binary_file(&stripped)?;
    if !flavor.spec.class32 {
        patch_alias_sizes(&mut image, flavor.spec)?;
    }
    let report = match check_image_as(&image, flavor.spec) {
        Ok(report) => report,
        Err(violations) => {
            let list: Vec<String> = violations.iter().map(|v| format!("  - {v}")).collect();
            bail!(
                "the linked image breaks DESIGN §1 ({}):\n{}",
                linked.display(),
                list.join("\n")
            );
        }
    };
    sh.write_file(&stripped, &image)?;
    if flavor.spec.arch == check::Arch::Aarch64 {
        check_no_x18(sh, &stripped)?;
    }
    Ok((image, report))
}

/// The `vdso` crate's own object in the staticlib `archive`, extracted into
/// `work`. With fat LTO it is one object; the rest of the archive is
/// `compiler_builtins`, which the image must not need.
fn crate_object(sh: &Shell, archive: &Path, work: &Path) -> Result<PathBuf> {
    let members = cmd!(sh, "ar t {archive}").read()?;
    let ours: Vec<&str> = members
        .lines()
        .filter(|m| m.starts_with("vdso-") && m.ends_with(".o"))
        .collect();
    let [member] = ours[..] else {
        bail!(
            "expected one vdso object in {}, found {ours:?}",
            archive.display()
        );
    };
    let objects = work.join("objects");
    sh.create_dir(&objects)?;
    let _dir = sh.push_dir(&objects);
    cmd!(sh, "ar x {archive} {member}").run()?;
    Ok(objects.join(member))
}

/// The version script: one node per version of `spec`, the last (in
/// version-script order: the first one listed in `spec.versions`) with
/// everything else local.
fn version_script_source(spec: &Spec) -> String {
    let node = |version: &str, local: bool| {
        let mut s = format!("{version} {{\nglobal:\n");
        for e in spec.exports.iter().filter(|e| e.version == version) {
            s += &format!("\t{};\n", e.name);
        }
        if local {
            s += "local: *;\n";
        }
        s + "};\n"
    };
    // Listed oldest first: `LINUX_2.6` before `LINUX_2.6.39`, as before.
    let mut nodes: Vec<&str> = spec.versions.to_vec();
    nodes.reverse();
    let last = nodes.len() - 1;
    nodes
        .iter()
        .enumerate()
        .map(|(i, v)| node(v, i == last))
        .collect()
}

/// Symbol assignments that define the aliases.
fn alias_script_source(spec: &Spec) -> String {
    spec.exports
        .iter()
        .filter_map(|e| Some(format!("{} = {};\n", e.name, e.alias_of?)))
        .collect()
}

/// Gives each alias in `.dynsym` of a 64-bit image the size of its target.
fn patch_alias_sizes(image: &mut [u8], spec: &Spec) -> Result<()> {
    let header = FileHeader64::<LE>::parse(&*image).context("stripped image is not ELF64")?;
    let endian = header.endian()?;
    let sections = header.sections(endian, &*image)?;
    let (index, dynsym) = sections
        .enumerate()
        .find(|(_, s)| s.sh_type(endian) == elf::SHT_DYNSYM)
        .context("no .dynsym")?;
    let symbols = sections.symbol_table_by_index(endian, &*image, index)?;
    let mut by_name = std::collections::HashMap::new();
    for (i, sym) in symbols.enumerate() {
        by_name.insert(
            symbols.symbol_name(endian, sym)?.to_vec(),
            (i.0, sym.st_size(endian)),
        );
    }
    let base = usize::try_from(dynsym.sh_offset(endian))?;
    let entsize = std::mem::size_of::<elf::Sym64<LE>>();
    for e in spec.exports {
        let Some(target) = e.alias_of else { continue };
        let (alias_index, _) = by_name[e.name.as_bytes()];
        let (_, size) = by_name[target.as_bytes()];
        // `st_size` is the last field of `Elf64_Sym`, at byte 16.
        let at = base + alias_index * entsize + 16;
        image[at..at + 8].copy_from_slice(&size.to_le_bytes());
    }
    Ok(())
}

/// The generated offsets file (`loader/src/offsets.rs` or
/// `loader/src/compat_offsets.rs`).
fn offsets_source(flavor: &Flavor, report: &Report) -> String {
    let which = if flavor.spec.class32 {
        "the 32-bit compat image's"
    } else {
        "the image's"
    };
    let mut s = format!(
        "//! Generated by `cargo xtask build-vdso`, do not edit by hand.\n\
         //!\n\
         //! Offsets of {which} exported symbols from its first byte (Linux's\n\
         //! `vdso-offsets.h`).\n",
    );
    for (e, sym) in flavor.spec.exports.iter().zip(&report.exports) {
        s += &format!(
            "\n/// Offset of `{}@{}`.\npub const {}: usize = {:#x};\n",
            e.name, e.version, e.offset_const, sym.value
        );
    }
    s
}

/// DESIGN §1.9: the image never touches x18, the platform register.
pub fn check_no_x18(sh: &Shell, image: &Path) -> Result<()> {
    let listing = cmd!(
        sh,
        "aarch64-linux-gnu-objdump -d --no-show-raw-insn {image}"
    )
    .read()
    .context("aarch64-linux-gnu-objdump failed (install binutils-aarch64-linux-gnu)")?;
    let uses: Vec<&str> = listing
        .lines()
        .filter(|line| {
            line.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|word| word == "x18" || word == "w18")
        })
        .collect();
    if !uses.is_empty() {
        bail!(
            "the image uses x18, the platform register (DESIGN §1.9):\n{}",
            uses.join("\n")
        );
    }
    Ok(())
}

fn print_summary(flavor: &Flavor, report: &Report) {
    println!(
        "{} image ({}): {} bytes (limit 4096)",
        flavor.name, flavor.spec.what, report.size
    );
    println!("segments:");
    for s in &report.segments {
        println!(
            "  {:<12} {} offset {:#06x} vaddr {:#06x} filesz {:#06x}",
            s.kind, s.flags, s.offset, s.vaddr, s.filesz
        );
    }
    println!("exports:");
    for e in &report.exports {
        println!(
            "  {:#06x} {:>4} bytes  {}@{}",
            e.value, e.size, e.name, e.version
        );
    }
    println!(
        "hash: SysV DT_HASH, {} buckets, no DT_GNU_HASH; Go 1.19's bucket reaches {}",
        report.nbucket, flavor.spec.go_lookup
    );
}
