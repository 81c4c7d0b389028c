//! The 32-bit compat image (`loader/vdso32.so`), read the way its clients read it.
//!
//! AArch32 processes find this image at `AT_SYSINFO_EHDR`. Two clients matter, and each is
//! run here as it is built for 32-bit Arm: musl 1.2.3's `__vdsosym` with `Elf32_*` types
//! (`src/internal/vdso.c`; `arch/arm/syscall_arch.h` asks for `__vdso_clock_gettime64`, then
//! `__vdso_clock_gettime`, both `@LINUX_2.6`) and Go's linux/arm runtime (`vdso_linux.go` with
//! the ELF32 structures of `vdso_elf32.go` and the key of `vdso_linux_arm.go`). Besides every
//! shared rule (with ELF32/`EM_ARM` and the compat export set), this module holds what only
//! this image has: the loader's copy and offsets, A32 entries, and those two clients' lookups.

use std::collections::BTreeMap;

use object::elf as oelf;
use vdso_tests::clients::{go, musl};
use vdso_tests::elf::*;
use vdso_tests::image::{
    self, BASES32, COMPAT_EXPORTS, LINUX_2_6, LINUX_2_6_39, PAGE_SIZE, SONAME,
};
use vdso_tests::{Error, Mapping};

use crate::rules::{self, symbols, the_load, u32_at, Image};

/// Go 1.19 `vdso_linux_arm.go`: `vdsoLinuxVersion = vdsoVersionKey{"LINUX_2.6", 0x3ae75f6}`.
const GO_ARM_VERSION_HASH: u32 = 0x3ae_75f6;
/// Go 1.19 `vdso_linux_arm.go`: the ELF hash in `{"__vdso_clock_gettime", 0xd35ec75, ...}`.
const GO_ARM_CLOCK_GETTIME_HASH: u32 = 0xd35_ec75;
/// musl `arch/arm/syscall_arch.h`: `VDSO_CGT_SYM`, `VDSO_CGT_VER`.
const MUSL_ARM_CGT: (&str, &str) = ("__vdso_clock_gettime64", "LINUX_2.6");
/// musl `arch/arm/syscall_arch.h`: `VDSO_CGT32_SYM`, `VDSO_CGT32_VER`.
const MUSL_ARM_CGT32: (&str, &str) = ("__vdso_clock_gettime", "LINUX_2.6");

/// The compat image and what its rules expect.
static COMPAT: Image = Image {
    load: image::load_compat,
    class: Class::Elf32,
    machine: EM_ARM,
    header_sizes: (52, 32),
    sym_size: 16,
    segments: &[PT_LOAD, PT_DYNAMIC, PT_NOTE, PT_GNU_EH_FRAME],
    exports: &COMPAT_EXPORTS,
    versions: &[SONAME, LINUX_2_6],
    client_version_hash: (LINUX_2_6, GO_ARM_VERSION_HASH, "Go linux/arm"),
    go_key: (go::VDSO_SYMBOL_KEYS_ARM[0], "__vdso_clock_gettime"),
    pages: 1,
};

rules::every_rule!(COMPAT);

fn load() -> Vec<u8> {
    (COMPAT.load)()
}

/// Each export and the offset `loader::compat::offsets` gives for it.
fn loader_offsets() -> [(&'static str, usize); 4] {
    use loader::compat::offsets as o;
    [
        ("__vdso_clock_gettime", o::VDSO_CLOCK_GETTIME),
        ("__vdso_clock_gettime64", o::VDSO_CLOCK_GETTIME64),
        ("__vdso_gettimeofday", o::VDSO_GETTIMEOFDAY),
        ("__vdso_clock_getres", o::VDSO_CLOCK_GETRES),
    ]
}

/// A client's `lookup(mapping, version, name)`.
type Lookup = fn(&Mapping<'_>, &str, &str) -> Result<u64, Error>;

/// Asserts that `lookup` finds every export `@LINUX_2.6` at its loader offset, at each base.
fn assert_resolves_every_export(lookup: Lookup) {
    let img = load();
    for base in BASES32 {
        let m = Mapping::new(&img, base);
        for (name, offset) in loader_offsets() {
            assert_eq!(
                lookup(&m, LINUX_2_6, name),
                Ok(base + offset as u64),
                "{name}@LINUX_2.6 at base {base:#x}"
            );
        }
    }
}

// The loader's copy -----------------------------------------------------------------------------

#[test]
fn loader_embeds_the_committed_compat_image() {
    let img = load();
    assert_eq!(loader::compat::IMAGE, &img[..], "loader::compat::IMAGE");
    assert_eq!(loader::compat::IMAGE_LEN, img.len());
    assert_eq!(loader::compat::IMAGE_PAGES, 1);
    assert_eq!(loader::compat::IMAGE_PADDED.len(), PAGE_SIZE as usize);
    assert_eq!(&loader::compat::IMAGE_PADDED[..img.len()], &img[..]);
    assert!(loader::compat::IMAGE_PADDED[img.len()..]
        .iter()
        .all(|&b| b == 0));
    assert_eq!(loader::Abi::Compat.image(), loader::compat::IMAGE);
    assert_eq!(loader::Abi::Aarch64.image(), loader::IMAGE);
    assert_ne!(loader::compat::IMAGE, loader::IMAGE);
}

// Image rule 6: A32 entries and the loader's offsets ------------------------------------------

#[test]
fn loader_compat_offsets_equal_the_symbol_table() {
    let img = load();
    let syms = symbols(&img);
    for (name, offset) in loader_offsets() {
        let s = syms
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name} in .dynsym"));
        assert_eq!(
            s.value, offset as u64,
            "loader::compat::offsets for {name} vs its st_value"
        );
    }
}

#[test]
fn every_compat_export_starts_with_an_a32_instruction_in_the_executable_load() {
    // An A32 entry is 4-aligned with bit 0 clear (a Thumb entry would have bit 0 set and
    // callers' `blx` would switch state by it), and lies in the R+X load, in a code section.
    let img = load();
    let load = the_load(&img);
    let code: Vec<image::Section> = image::sections(&img)
        .unwrap()
        .into_iter()
        .filter(|s| {
            s.kind == oelf::SHT_PROGBITS.0
                && s.flags & (oelf::SHF_ALLOC.0 | oelf::SHF_EXECINSTR.0)
                    == oelf::SHF_ALLOC.0 | oelf::SHF_EXECINSTR.0
        })
        .collect();
    for s in symbols(&img).iter().filter(|s| s.is_exported()) {
        assert_eq!(
            s.value % 4,
            0,
            "{} at {:#x} is not an A32 entry",
            s.name,
            s.value
        );
        assert!(
            s.value >= load.p_vaddr && s.value + s.size <= load.p_vaddr + load.p_memsz,
            "{} at {:#x}+{:#x} is outside the PT_LOAD",
            s.name,
            s.value,
            s.size
        );
        assert!(
            code.iter()
                .any(|c| s.value >= c.addr && s.value + s.size <= c.addr + c.size),
            "{} at {:#x} is not inside an executable section",
            s.name,
            s.value
        );
        let word = u32_at(&img, image::file_offset(&img, s.value).unwrap());
        // An unconditional A32 instruction: condition AL (0b1110) or the 0b1111 space.
        assert!(
            word >> 28 >= 0xe,
            "{}'s first word {word:#010x} is not an unconditional A32 instruction",
            s.name
        );
    }
}

// The build's checker ---------------------------------------------------------------------------

#[test]
fn the_build_checker_accepts_the_embedded_compat_image() {
    let report = xtask::check::check_compat_image(loader::compat::IMAGE)
        .unwrap_or_else(|v| panic!("check_compat_image rejects loader::compat::IMAGE: {v:#?}"));
    let found: BTreeMap<&str, u64> = report
        .exports
        .iter()
        .map(|s| (s.name.as_str(), s.value))
        .collect();
    for (name, offset) in loader_offsets() {
        assert_eq!(
            found.get(name),
            Some(&(offset as u64)),
            "{name} in the report"
        );
    }
    let same = xtask::check::check_image_as(loader::compat::IMAGE, &xtask::check::COMPAT);
    assert!(same.is_ok(), "check_image_as(.., &COMPAT) disagrees");
}

// musl 1.2.3, built for arm -------------------------------------------------------------------

#[test]
fn musl_arm_finds_vdso_clock_gettime64_then_vdso_clock_gettime_at_linux_2_6() {
    let img = load();
    use loader::compat::offsets as o;
    for base in BASES32 {
        let m = Mapping::new(&img, base);
        let (name, ver) = MUSL_ARM_CGT;
        assert_eq!(
            musl::lookup32(&m, ver, name),
            Ok(base + o::VDSO_CLOCK_GETTIME64 as u64),
            "musl arm's VDSO_CGT_SYM {name}@{ver} at base {base:#x}"
        );
        let (name, ver) = MUSL_ARM_CGT32;
        assert_eq!(
            musl::lookup32(&m, ver, name),
            Ok(base + o::VDSO_CLOCK_GETTIME as u64),
            "musl arm's VDSO_CGT32_SYM {name}@{ver} at base {base:#x}"
        );
    }
}

#[test]
fn musl_arm_resolves_every_compat_export_to_its_offset() {
    assert_resolves_every_export(musl::lookup32);
}

#[test]
fn musl_arm_finds_nothing_under_another_name_or_version() {
    let img = load();
    let m = Mapping::new(&img, BASES32[0]);
    for (ver, name) in [
        (LINUX_2_6, "__kernel_clock_gettime"),
        (LINUX_2_6_39, "__kernel_clock_gettime"),
        (LINUX_2_6_39, "__vdso_clock_gettime64"),
        (LINUX_2_6_39, "__vdso_clock_gettime"),
        ("LINUX_2.6.3", "__vdso_clock_gettime"),
        (LINUX_2_6, "__vdso_clock_gettime6"),
        (LINUX_2_6, "__vdso_time"),
    ] {
        assert_eq!(
            musl::lookup32(&m, ver, name),
            Err(Error::NotFound),
            "{name}@{ver}"
        );
    }
}

#[test]
fn musl_arm_also_accepts_the_version_definition_symbol() {
    // musl's OK_TYPES include STT_OBJECT and it skips only SHN_UNDEF, so the ABS OBJECT symbol
    // `LINUX_2.6` that binutils emits for the version node resolves (to base + 0), as it does
    // in Linux's own images. Nobody asks for it; this pins the transliteration to musl's rules.
    let img = load();
    let m = Mapping::new(&img, BASES32[0]);
    assert_eq!(musl::lookup32(&m, LINUX_2_6, LINUX_2_6), Ok(BASES32[0]));
}

#[test]
fn musl_built_for_64_bit_cannot_read_the_compat_image() {
    // The class is what the parser is told, not guessed: the 64-bit build misreads ELF32
    // structures, so the tests above would fail if the image were ELF64, and vice versa.
    let img = load();
    let m = Mapping::new(&img, BASES32[0]);
    assert!(musl::lookup(&m, LINUX_2_6, "__vdso_clock_gettime").is_err());
    let img64 = image::load();
    let m64 = Mapping::new(&img64, image::BASES[0]);
    assert!(musl::lookup32(&m64, LINUX_2_6, "__vdso_clock_gettime").is_err());
}

// Go, linux/arm --------------------------------------------------------------------------------

#[test]
fn go_arm_key_is_vdso_clock_gettime_at_linux_2_6() {
    // The key transliterated in src/clients/go.rs against Go 1.19's vdso_linux_arm.go.
    assert_eq!(go::VDSO_LINUX_VERSION_ARM.version, "LINUX_2.6");
    assert_eq!(go::VDSO_LINUX_VERSION_ARM.ver_hash, GO_ARM_VERSION_HASH);
    let [key] = go::VDSO_SYMBOL_KEYS_ARM;
    assert_eq!(key.name, "__vdso_clock_gettime");
    assert_eq!(key.sym_hash, GO_ARM_CLOCK_GETTIME_HASH);
    assert_eq!(key.gnu_hash, 0x6e43_a318);
}

#[test]
fn go_arm_vdso_clock_gettime_sym_is_the_symbols_address() {
    let img = load();
    for base in BASES32 {
        let m = Mapping::new(&img, base);
        assert_eq!(
            go::clock_gettime_sym_arm(&m),
            Ok(base + loader::compat::offsets::VDSO_CLOCK_GETTIME as u64),
            "vdsoClockgettimeSym at base {base:#x}"
        );
    }
}

#[test]
fn go_arm_finds_linux_2_6_by_hash_and_name() {
    let img = load();
    let m = Mapping::new(&img, BASES32[0]);
    let info = go::init_from_sysinfo_ehdr_as(&m, Class::Elf32).expect("Go parses the image");
    let index = go::find_version(&m, &info, &go::VDSO_LINUX_VERSION_ARM).unwrap();
    assert!(
        index > 1,
        "vdsoFindVersion found no LINUX_2.6 node: {index}"
    );
    // A version Go never asks for on arm is not there.
    let arm64 = go::VDSO_LINUX_VERSION_ARM64;
    assert_eq!(go::find_version(&m, &info, &arm64), Ok(-1));
}

#[test]
fn go_arm_algorithm_resolves_every_compat_export() {
    assert_resolves_every_export(go::lookup32);
    let img = load();
    for base in BASES32 {
        let m = Mapping::new(&img, base);
        assert_eq!(
            go::lookup32(&m, LINUX_2_6, "__kernel_clock_gettime"),
            Err(Error::NotFound)
        );
    }
}

// Clients survive broken copies ----------------------------------------------------------------

#[test]
fn musl_and_go_arm_survive_every_broken_compat_image() {
    // The transliterations never panic; this runs them on every broken copy, so a broken copy
    // that the Layout cannot make (a wrong field offset for ELF32) shows up here too.
    let img = load();
    for (name, broken) in image::broken::compat_all(&img) {
        for base in BASES32 {
            let m = Mapping::new(&broken, base);
            let r = std::panic::catch_unwind(|| {
                let _ = musl::lookup32(&m, LINUX_2_6, "__vdso_clock_gettime64");
                let _ = go::clock_gettime_sym_arm(&m);
            });
            assert!(r.is_ok(), "a client panicked on {name}");
        }
    }
}

#[test]
fn broken_copies_that_keep_the_symbol_still_resolve_for_musl_arm() {
    // Breakages the clients do not look at leave musl's answer alone: a check that the
    // broken-image builder changed what it says and nothing else in the tables.
    let img = load();
    let want = Ok(BASES32[0] + loader::compat::offsets::VDSO_CLOCK_GETTIME64 as u64);
    for (name, broken) in [
        ("load_writable", image::broken::load_writable(&img)),
        ("with_gnu_hash", image::broken::with_gnu_hash(&img)),
        (
            "wrong_vd_hash",
            image::broken::wrong_vd_hash(&img, LINUX_2_6),
        ),
        ("rela_relocation", image::broken::rela_relocation(&img)),
        ("machine_x86_64", image::broken::machine_x86_64(&img)),
    ] {
        let m = Mapping::new(&broken, BASES32[0]);
        assert_eq!(
            musl::lookup32(&m, LINUX_2_6, "__vdso_clock_gettime64"),
            want,
            "{name}"
        );
    }
    // And Go, which compares vd_hash, loses LINUX_2.6 when its hash is wrong; with the
    // version lost (-1) every symbol fails the version check.
    let broken = image::broken::wrong_vd_hash(&img, LINUX_2_6);
    let m = Mapping::new(&broken, BASES32[0]);
    assert_eq!(go::clock_gettime_sym_arm(&m), Err(Error::NotFound));
}
