//! `cargo xtask build-vdso`: build, link, strip, patch and check both images,
//! then write `loader/vdso.so` + `loader/src/offsets.rs` (the 64-bit image)
//! and `loader/vdso32.so` + `loader/src/compat_offsets.rs` (the 32-bit
//! compat image), or, with `--check`, prove the committed ones equal a fresh
//! build.
//!
//! The pipeline, after Linux's `arch/arm64/kernel/vdso/Makefile` (and
//! `vdso32/Makefile`), the same for every [`Abi`]:
//! 1. `cargo rustc` builds the `vdso` crate as a `staticlib` (fat LTO,
//!    panic=abort) with Debian's rustc: for aarch64 with `-Zfixed-x18` and
//!    BTI; for `armv7-unknown-linux-gnueabihf` with `core` built from
//!    `rust-web-src` (`-Zbuild-std=core`, see [`Abi::build_std`]).
//! 2. `ld` links the crate's own object (never the archive's
//!    `compiler_builtins`, so `--no-undefined` catches any call into it,
//!    such as a 64-bit division on arm) with the ABI's linker script
//!    and a version script generated from its exports: for aarch64
//!    `LINUX_2.6.39` with the `__kernel_*` entry points and `LINUX_2.6` with
//!    the `__vdso_*` aliases; for the compat image `LINUX_2.6` only.
//! 3. `objcopy` strips it; we then patch the aliases' `st_size` (ld gives an
//!    alias its target's type but not its size).
//! 4. [`check_image_as`] with the ABI's [`Spec`] (the image rules of
//!    ARCHITECTURE.md; for aarch64 also the x18 scan) must pass, or nothing
//!    is written.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, SectionHeader as _, Sym as _};
use object::LittleEndian as LE;
use xshell::{cmd, Shell};

use crate::abi::Abi;
use crate::check::{check_image_as, Report, Spec};
use crate::{cross, prereq};

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
    for abi in Abi::ALL {
        let (image, report) = build_image(sh, abi, &work.join(abi.name()), &[])?;
        let offsets = offsets_source(abi, &image, &report)?;
        let (image_path, offsets_path) = (abi.image_path(), abi.offsets_path());
        if check {
            compare_with_committed(sh, abi, &image, &offsets)?;
        } else {
            sh.write_file(image_path, &image)?;
            sh.write_file(offsets_path, &offsets)?;
        }
        print_summary(abi, &report);
        if check {
            println!("build-vdso --check: {image_path} and {offsets_path} equal a fresh build");
        } else {
            println!("wrote {image_path} and {offsets_path}");
        }
    }
    Ok(())
}

/// Fails, naming the stale files, unless the committed image and offsets
/// of `abi` are `image` and `offsets`.
fn compare_with_committed(sh: &Shell, abi: Abi, image: &[u8], offsets: &str) -> Result<()> {
    let (image_path, offsets_path) = (abi.image_path(), abi.offsets_path());
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
    Ok(())
}

/// Builds and checks the 64-bit image in `work`; returns its bytes and
/// report.
pub fn build(sh: &Shell, work: &Path) -> Result<(Vec<u8>, Report)> {
    build_image(sh, Abi::Aarch64, work, &[])
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
    build_image(sh, Abi::Aarch64, &work, &[feature])
        .with_context(|| format!("building the image variant with feature {feature}"))?;
    Ok(work.join("vdso.so"))
}

/// Builds and checks `abi`'s image in `work` with the `vdso` crate's
/// `extra` features on besides `image`; returns its bytes and report.
pub fn build_image(sh: &Shell, abi: Abi, work: &Path, extra: &[&str]) -> Result<(Vec<u8>, Report)> {
    let spec = Spec::of(abi);
    let object = compile(sh, abi, work, extra)?;
    let (linked, stripped) = link(sh, abi, &object, work)?;
    let mut image = sh.read_binary_file(&stripped)?;
    if !spec.class32 {
        patch_alias_sizes(&mut image, spec)?;
    }
    let report = match check_image_as(&image, spec) {
        Ok(report) => report,
        Err(violations) => {
            let list: Vec<String> = violations.iter().map(|v| format!("  - {v}")).collect();
            bail!(
                "the linked image breaks the image rules of ARCHITECTURE.md ({}):\n{}",
                linked.display(),
                list.join("\n")
            );
        }
    };
    sh.write_file(&stripped, &image)?;
    match abi {
        Abi::Aarch64 => check_no_x18(sh, &stripped)?,
        Abi::Compat => {}
    }
    Ok((image, report))
}

/// Step 1: the `vdso` crate as a `staticlib` for `abi` with the `image`
/// feature and `extra` ones; returns the crate's own object, extracted into
/// `work`.
fn compile(sh: &Shell, abi: Abi, work: &Path, extra: &[&str]) -> Result<PathBuf> {
    let root = sh.current_dir();
    let features = [&["image"], extra].concat().join(",");
    let cargo_dir = work.join("cargo");
    let cargo_dir_arg = cargo_dir.to_str().context("non-UTF-8 path")?;
    let remap = format!("--remap-path-prefix={}=.", root.display());
    let remap_src = format!(
        "--remap-path-prefix={}=/rust/library",
        prereq::RUST_SRC_LIBRARY
    );
    let mut args = vec!["rustc", "--quiet", "--package", "vdso", "--profile", "vdso"];
    args.extend(["--target", abi.target(), "--features", &features]);
    args.extend(["--crate-type", "staticlib", "--target-dir", cargo_dir_arg]);
    if abi.build_std() {
        args.push("-Zbuild-std=core");
    }
    args.extend(["--", "-Cforce-unwind-tables=no", &remap, &remap_src]);
    args.extend(abi.image_rustflags());
    cross::cargo(sh, &args)
        .env("RUSTC_BOOTSTRAP", "1")
        .run()
        .with_context(|| format!("building the vdso crate for {} failed", abi.target()))?;
    let archive = cargo_dir.join(abi.target()).join("vdso/libvdso.a");
    crate_object(sh, &archive, work)
}

/// Steps 2 and 3: links `object` with `abi`'s linker script and a version
/// script from its exports, then strips it; returns the linked and the
/// stripped image's paths.
fn link(sh: &Shell, abi: Abi, object: &Path, work: &Path) -> Result<(PathBuf, PathBuf)> {
    let spec = Spec::of(abi);
    let version_script = work.join("exports.ver");
    let aliases = work.join("aliases.ld");
    sh.write_file(&version_script, version_script_source(spec))?;
    sh.write_file(&aliases, alias_script_source(spec))?;
    let linked = work.join("vdso.so.dbg");
    let stripped = work.join("vdso.so");
    let lds = sh.current_dir().join(abi.linker_script());
    let required: Vec<String> = spec
        .exports
        .iter()
        .filter(|e| e.alias_of.is_none())
        .map(|e| format!("--require-defined={}", e.name))
        .collect();
    let ld = format!("{}ld", abi.binutils());
    let objcopy = format!("{}objcopy", abi.binutils());
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
    Ok((linked, stripped))
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
/// `loader/src/compat_offsets.rs`): the exports, and for the 64-bit image
/// its counter reads ([`counter_reads`]).
fn offsets_source(abi: Abi, image: &[u8], report: &Report) -> Result<String> {
    let which = if Spec::of(abi).class32 {
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
    for (e, sym) in Spec::of(abi).exports.iter().zip(&report.exports) {
        s += &format!(
            "\n/// Offset of `{}@{}`.\npub const {}: usize = {:#x};\n",
            e.name, e.version, e.offset_const, sym.value
        );
    }
    if abi == Abi::Aarch64 {
        let reads = counter_reads(image)?;
        let straight = straight_sites(image, &reads, report)?;
        s += &offsets_list(
            "CNTVCT_READS",
            "the image's `isb; mrs xN, cntvct_el0` pairs: every read of\n\
             /// `CNTVCT_EL0` in it, which [`crate::ecv`] patches into\n\
             /// `nop; mrs xN, cntvctss_el0` (Linux's `ARM64_HAS_ECV` alternative)",
            &reads,
        );
        s += &offsets_list(
            "STRAIGHT_READS",
            "the [`CNTVCT_READS`] inside the exports: the straight\n\
             /// paths' counter reads, which [`crate::cntpct`] patches into\n\
             /// `isb; mrs xN, cntpct_el0`",
            &straight.reads,
        );
        s += &offsets_list(
            "STRAIGHT_MODE_TESTS",
            "the straight paths' `eor xN, xM, #(CLOCKMODE_ARCHTIMER << 32)`:\n\
             /// their one test of `clock_mode`, which [`crate::cntpct`] patches to\n\
             /// test for `CLOCKMODE_CNTPCT`",
            &straight.mode_tests,
        );
    }
    Ok(s)
}

/// A generated `pub const NAME: [usize; N]` of offsets, documented as
/// "Offsets of WHAT.".
fn offsets_list(name: &str, what: &str, offsets: &[usize]) -> String {
    let list: Vec<String> = offsets.iter().map(|at| format!("{at:#x}")).collect();
    format!(
        "\n/// Offsets of {what}.\npub const {name}: [usize; {}] = [{}];\n",
        offsets.len(),
        list.join(", ")
    )
}

/// What the straight paths (inlined into the time exports) hold of the
/// counter choice.
struct StraightSites {
    /// Their `isb; mrs xN, cntvct_el0` pairs (a subset of the image's).
    reads: Vec<usize>,
    /// Their `eor xN, xM, #(CLOCKMODE_ARCHTIMER << 32)` mode tests.
    mode_tests: Vec<usize>,
}

/// The straight paths' counter reads and mode tests: those inside
/// `__kernel_clock_gettime` and `__kernel_gettimeofday` (the full read is a
/// function of its own, outside them). Fails unless each of the two holds
/// at least one of each, so a change that moved them out of the exports
/// cannot pass unnoticed.
fn straight_sites(image: &[u8], reads: &[usize], report: &Report) -> Result<StraightSites> {
    use crate::check::is_archtimer_mode_test;
    let word = |at: usize| u32::from_le_bytes(image[at..at + 4].try_into().unwrap());
    let mut sites = StraightSites {
        reads: Vec::new(),
        mode_tests: Vec::new(),
    };
    for name in ["__kernel_clock_gettime", "__kernel_gettimeofday"] {
        let export = report
            .exports
            .iter()
            .find(|e| e.name == name)
            .with_context(|| format!("no {name} in the image"))?;
        let range = export.value as usize..(export.value + export.size) as usize;
        let before = (sites.reads.len(), sites.mode_tests.len());
        sites
            .reads
            .extend(reads.iter().filter(|at| range.contains(at)));
        sites.mode_tests.extend(
            range
                .clone()
                .step_by(4)
                .filter(|&at| is_archtimer_mode_test(word(at))),
        );
        if sites.reads.len() == before.0 || sites.mode_tests.len() == before.1 {
            bail!("{name} has no inlined straight path (a counter read and a mode test)");
        }
    }
    Ok(sites)
}

/// The offsets of every `isb` + `mrs xN, cntvct_el0` pair in the image's
/// `.text`. Fails if a `CNTVCT_EL0` read there has no `isb` right before it
/// (the ECV patch would then leave it unpatched) or if there is none.
pub fn counter_reads(image: &[u8]) -> Result<Vec<usize>> {
    use crate::check::{is_cntvct_read, ISB};
    use object::read::elf::ElfFile64;
    use object::{Object, ObjectSection};
    let file = ElfFile64::<LE>::parse(image).context("the image is not an ELF64 file")?;
    let text = file
        .section_by_name(".text")
        .context("the image has no .text section")?;
    let (start, size) = text.file_range().context(".text has no bytes")?;
    let (start, size) = (start as usize, size as usize);
    let word = |at: usize| u32::from_le_bytes(image[at..at + 4].try_into().unwrap());
    let mut reads = Vec::new();
    for at in (start..start + size - 3)
        .step_by(4)
        .filter(|&at| is_cntvct_read(word(at)))
    {
        if at < start + 4 || word(at - 4) != ISB {
            bail!("the CNTVCT_EL0 read at {at:#x} is not right after an isb");
        }
        reads.push(at - 4);
    }
    if reads.is_empty() {
        bail!("the image has no isb + mrs cntvct_el0 pair");
    }
    Ok(reads)
}

/// Image rule 9 (ARCHITECTURE.md): the image never touches x18, the
/// platform register.
pub fn check_no_x18(sh: &Shell, image: &Path) -> Result<()> {
    let objdump = format!("{}objdump", Abi::Aarch64.binutils());
    let listing = cmd!(sh, "{objdump} -d --no-show-raw-insn {image}")
        .read()
        .with_context(|| format!("{objdump} failed (install binutils-aarch64-linux-gnu)"))?;
    let uses: Vec<&str> = listing
        .lines()
        .filter(|line| {
            line.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|word| word == "x18" || word == "w18")
        })
        .collect();
    if !uses.is_empty() {
        bail!(
            "the image uses x18, the platform register (image rule 9, ARCHITECTURE.md):\n{}",
            uses.join("\n")
        );
    }
    Ok(())
}

fn print_summary(abi: Abi, report: &Report) {
    let spec = Spec::of(abi);
    println!(
        "{} image ({}): {} bytes (limit {})",
        abi.name(),
        spec.what,
        report.size,
        spec.max_size
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
        report.nbucket, spec.go_lookup
    );
}
