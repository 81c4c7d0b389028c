//! `cargo xtask build-vdso`: build, link, strip, patch and check the image,
//! then write `loader/vdso.so` and `loader/src/offsets.rs` (or, with
//! `--check`, prove the committed ones equal a fresh build).
//!
//! The pipeline, after Linux's `arch/arm64/kernel/vdso/Makefile`:
//! 1. `cargo rustc` builds the `vdso` crate for aarch64 as a `staticlib`
//!    (fat LTO, panic=abort, `-Zfixed-x18`) with Debian's rustc.
//! 2. `aarch64-linux-gnu-ld` links it with `vdso/vdso.lds` and a version
//!    script generated from [`EXPORTS`]: `LINUX_2.6.39` for the
//!    `__kernel_*` entry points and the `LINUX_2.6` node with the `__vdso_*`
//!    aliases.
//! 3. `objcopy` strips it; we then patch the aliases' `st_size` (ld gives an
//!    alias its target's type but not its size).
//! 4. [`check_image`] and the x18 scan must pass, or nothing is written.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, SectionHeader as _, Sym as _};
use object::LittleEndian as LE;
use xshell::{cmd, Shell};

use crate::check::{check_image, Report, EXPORTS, VERSION_ALIASES, VERSION_ARM64};

use crate::prereq::{self, TARGET};

/// The committed image.
pub const IMAGE_PATH: &str = "loader/vdso.so";
/// The committed, generated symbol offsets.
pub const OFFSETS_PATH: &str = "loader/src/offsets.rs";

/// Runs `build-vdso`.
pub fn run(sh: &Shell, check: bool) -> Result<()> {
    prereq::ensure(sh, prereq::IMAGE)?;
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
    let (image, report) = build(sh, &work)?;
    let offsets = offsets_source(&report);

    if check {
        let committed = sh.read_binary_file(IMAGE_PATH).unwrap_or_default();
        let committed_offsets = sh.read_file(OFFSETS_PATH).unwrap_or_default();
        let mut stale = Vec::new();
        if committed != image {
            stale.push(format!(
                "{IMAGE_PATH} ({} bytes committed, {} bytes built)",
                committed.len(),
                image.len()
            ));
        }
        if committed_offsets != offsets {
            stale.push(OFFSETS_PATH.to_string());
        }
        if !stale.is_empty() {
            bail!(
                "the committed image differs from a fresh build: {}.\n\
                 Run `cargo xtask build-vdso` and commit the result with the code that changed it.",
                stale.join(", ")
            );
        }
        print_summary(&report);
        println!("build-vdso --check: {IMAGE_PATH} and {OFFSETS_PATH} equal a fresh build");
    } else {
        sh.write_file(IMAGE_PATH, &image)?;
        sh.write_file(OFFSETS_PATH, &offsets)?;
        print_summary(&report);
        println!("wrote {IMAGE_PATH} and {OFFSETS_PATH}");
    }
    Ok(())
}

/// Builds and checks the image in `work`; returns its bytes and report.
pub fn build(sh: &Shell, work: &Path) -> Result<(Vec<u8>, Report)> {
    build_with_features(sh, work, &[])
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
    build_with_features(sh, &work, &[feature])
        .with_context(|| format!("building the image variant with feature {feature}"))?;
    Ok(work.join("vdso.so"))
}

/// [`build`] with the `vdso` crate's `extra` features on besides `image`.
fn build_with_features(sh: &Shell, work: &Path, extra: &[&str]) -> Result<(Vec<u8>, Report)> {
    let root = sh.current_dir();
    let features = [&["image"], extra].concat().join(",");
    let cargo_dir = work.join("cargo");
    let cargo_dir_arg = cargo_dir.to_str().context("non-UTF-8 path")?;
    let remap = format!("--remap-path-prefix={}=.", root.display());
    prereq::aarch64_cargo(
        sh,
        &[
            "rustc",
            "--quiet",
            "--package",
            "vdso",
            "--profile",
            "vdso",
            "--target",
            TARGET,
            "--features",
            &features,
            "--crate-type",
            "staticlib",
            "--target-dir",
            cargo_dir_arg,
            "--",
            "-Cforce-unwind-tables=no",
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
            &remap,
        ],
    )
    .env("RUSTC_BOOTSTRAP", "1")
    .run()
    .context("building the vdso crate for aarch64 failed")?;
    let archive = cargo_dir.join(TARGET).join("vdso/libvdso.a");

    let version_script = work.join("exports.ver");
    let aliases = work.join("aliases.ld");
    sh.write_file(&version_script, version_script_source())?;
    sh.write_file(&aliases, alias_script_source())?;
    let linked = work.join("vdso.so.dbg");
    let stripped = work.join("vdso.so");
    let lds = root.join("vdso/vdso.lds");
    let required: Vec<String> = EXPORTS
        .iter()
        .filter(|e| e.alias_of.is_none())
        .map(|e| format!("--require-defined={}", e.name))
        .collect();
    cmd!(
        sh,
        "aarch64-linux-gnu-ld -shared -n -T {lds} --version-script {version_script}
         --hash-style=sysv -Bsymbolic -soname=linux-vdso.so.1 --build-id=sha1
         --no-undefined --gc-sections -z norelro -z noexecstack -z max-page-size=4096
         {required...} -o {linked} {archive} {aliases}"
    )
    .run()
    .context("linking the image failed (an undefined symbol means the code calls memcpy, a panic path or another runtime function)")?;
    cmd!(
        sh,
        "aarch64-linux-gnu-objcopy --strip-all --remove-section=.comment {linked} {stripped}"
    )
    .run()?;

    let mut image = sh.read_binary_file(&stripped)?;
    patch_alias_sizes(&mut image)?;
    let report = match check_image(&image) {
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
    check_no_x18(sh, &stripped)?;
    Ok((image, report))
}

/// The version script: `LINUX_2.6` with the aliases, `LINUX_2.6.39` with the
/// entry points, everything else local.
fn version_script_source() -> String {
    let node = |version: &str, local: bool| {
        let mut s = format!("{version} {{\nglobal:\n");
        for e in EXPORTS.iter().filter(|e| e.version == version) {
            s += &format!("\t{};\n", e.name);
        }
        if local {
            s += "local: *;\n";
        }
        s + "};\n"
    };
    node(VERSION_ALIASES, false) + &node(VERSION_ARM64, true)
}

/// Symbol assignments that define the aliases.
fn alias_script_source() -> String {
    EXPORTS
        .iter()
        .filter_map(|e| Some(format!("{} = {};\n", e.name, e.alias_of?)))
        .collect()
}

/// Gives each alias in `.dynsym` the size of its target.
fn patch_alias_sizes(image: &mut [u8]) -> Result<()> {
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
    for e in &EXPORTS {
        let Some(target) = e.alias_of else { continue };
        let (alias_index, _) = by_name[e.name.as_bytes()];
        let (_, size) = by_name[target.as_bytes()];
        // `st_size` is the last field of `Elf64_Sym`, at byte 16.
        let at = base + alias_index * entsize + 16;
        image[at..at + 8].copy_from_slice(&size.to_le_bytes());
    }
    Ok(())
}

/// The generated `loader/src/offsets.rs`.
fn offsets_source(report: &Report) -> String {
    let mut s = String::from(
        "//! Generated by `cargo xtask build-vdso`, do not edit by hand.\n\
         //!\n\
         //! Offsets of the image's exported symbols from its first byte (Linux's\n\
         //! `vdso-offsets.h`).\n",
    );
    for (e, sym) in EXPORTS.iter().zip(&report.exports) {
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

fn print_summary(report: &Report) {
    println!("image: {} bytes (limit 4096)", report.size);
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
        "hash: SysV DT_HASH, {} buckets, no DT_GNU_HASH; Go 1.19's bucket reaches __kernel_clock_gettime",
        report.nbucket
    );
}
