//! The 32-bit compat image (`loader/vdso32.so`), read the way its clients read it.
//!
//! AArch32 processes find this image at `AT_SYSINFO_EHDR`. Two clients matter, and each is
//! run here as it is built for 32-bit Arm: musl 1.2.3's `__vdsosym` with `Elf32_*` types
//! (`src/internal/vdso.c`; `arch/arm/syscall_arch.h` asks for `__vdso_clock_gettime64`, then
//! `__vdso_clock_gettime`, both `@LINUX_2.6`) and Go's linux/arm runtime (`vdso_linux.go` with
//! the ELF32 structures of `vdso_elf32.go` and the key of `vdso_linux_arm.go`). The rest are
//! the image's requirements (DESIGN §1, with ELF32/`EM_ARM` and the compat export set), read
//! with `object` as the reference. The constants compared against come from the clients'
//! sources or from `elf.h`, never from the code under test.

use std::collections::{BTreeMap, BTreeSet};

use vdso_tests::clients::{go, musl};
use vdso_tests::elf::*;
use vdso_tests::hash::elf_hash;
use vdso_tests::image::{
    self, Symbol, BASES32, COMPAT_EXPORTS, LINUX_2_6, LINUX_2_6_39, PAGE_SIZE, SONAME,
};
use vdso_tests::{Error, Mapping};

const SHT_PROGBITS: u32 = 1;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;
const NT_GNU_BUILD_ID: u32 = 3;
const SHT_GNU_HASH: u32 = 0x6fff_fff6;

/// Go 1.19 `vdso_linux_arm.go`: `vdsoLinuxVersion = vdsoVersionKey{"LINUX_2.6", 0x3ae75f6}`.
const GO_ARM_VERSION_HASH: u32 = 0x3ae_75f6;
/// Go 1.19 `vdso_linux_arm.go`: the ELF hash in `{"__vdso_clock_gettime", 0xd35ec75, ...}`.
const GO_ARM_CLOCK_GETTIME_HASH: u32 = 0xd35_ec75;
/// musl `arch/arm/syscall_arch.h`: `VDSO_CGT_SYM`, `VDSO_CGT_VER`.
const MUSL_ARM_CGT: (&str, &str) = ("__vdso_clock_gettime64", "LINUX_2.6");
/// musl `arch/arm/syscall_arch.h`: `VDSO_CGT32_SYM`, `VDSO_CGT32_VER`.
const MUSL_ARM_CGT32: (&str, &str) = ("__vdso_clock_gettime", "LINUX_2.6");

fn load() -> Vec<u8> {
    image::load_compat()
}

fn symbols(img: &[u8]) -> Vec<Symbol> {
    image::dynamic_symbols(img).expect("object reads .dynsym and its versions")
}

fn dynamic(img: &[u8]) -> Vec<(i64, u64)> {
    image::dynamic_entries(img).expect("object reads PT_DYNAMIC")
}

fn the_load(img: &[u8]) -> Phdr {
    let loads: Vec<Phdr> = image::segments(img)
        .expect("object reads the program headers")
        .into_iter()
        .filter(|p| p.p_type == PT_LOAD)
        .collect();
    assert_eq!(loads.len(), 1, "expected exactly one PT_LOAD: {loads:#x?}");
    loads[0]
}

fn u32_at(img: &[u8], offset: u64) -> u32 {
    image::word_at(img, offset).unwrap_or_else(|| panic!("no word at file offset {offset:#x}"))
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

// §1.1 -----------------------------------------------------------------------------------------

#[test]
fn compat_image_is_elf32_little_endian_arm_shared_object() {
    let img = load();
    let (machine, kind, ident) = image::header(&img).expect("object parses the ELF32 header");
    assert_eq!(&ident[..4], b"\x7fELF");
    assert_eq!(ident[EI_CLASS], ELFCLASS32, "EI_CLASS");
    assert_eq!(ident[EI_DATA], ELFDATA2LSB, "EI_DATA");
    assert_eq!(ident[EI_VERSION], EV_CURRENT, "EI_VERSION");
    assert_eq!(kind, ET_DYN, "e_type");
    assert_eq!(machine, 40, "e_machine must be EM_ARM (40)");
    // The raw fields, as a client reads them: Elf32_Ehdr is 52 bytes, Elf32_Phdr 32.
    let h = Ehdr::read_as(&Mapping::new(&img, 0), 0, Class::Elf32).unwrap();
    assert_eq!(h.e_ehsize, 52, "e_ehsize");
    assert_eq!(h.e_phentsize, 32, "e_phentsize");
}

// §1.2 -----------------------------------------------------------------------------------------

#[test]
fn compat_image_has_one_read_execute_load_at_zero_with_the_dynamic_segment_inside() {
    let img = load();
    let load = the_load(&img);
    assert_eq!(
        load.p_flags,
        PF_R | PF_X,
        "PT_LOAD flags must be exactly R+X"
    );
    assert_eq!((load.p_offset, load.p_vaddr), (0, 0), "PT_LOAD at 0");
    assert!(load.p_memsz <= PAGE_SIZE, "PT_LOAD is larger than a page");
    let dynamics: Vec<Phdr> = image::segments(&img)
        .unwrap()
        .into_iter()
        .filter(|p| p.p_type == PT_DYNAMIC)
        .collect();
    assert_eq!(dynamics.len(), 1, "expected exactly one PT_DYNAMIC");
    let d = dynamics[0];
    assert!(
        d.p_offset + d.p_filesz <= load.p_filesz && d.p_vaddr + d.p_memsz <= load.p_memsz,
        "PT_DYNAMIC {:#x}+{:#x} is not inside the PT_LOAD",
        d.p_vaddr,
        d.p_memsz
    );
    assert_eq!(d.p_offset, d.p_vaddr, "PT_DYNAMIC offset vs address");
}

#[test]
fn compat_segments_are_load_dynamic_and_note_and_none_is_writable() {
    let img = load();
    let allowed = [PT_LOAD, PT_DYNAMIC, PT_NOTE, PT_GNU_EH_FRAME];
    let segments = image::segments(&img).unwrap();
    for p in &segments {
        assert!(
            allowed.contains(&p.p_type),
            "segment type {:#x} (PT_INTERP, PT_TLS, PT_GNU_RELRO are forbidden)",
            p.p_type
        );
        assert_eq!(p.p_flags & PF_W, 0, "segment {:#x} is writable", p.p_type);
    }
    assert!(
        segments.iter().any(|p| p.p_type == PT_NOTE),
        "no PT_NOTE segment"
    );
}

#[test]
fn compat_note_segment_holds_the_gnu_build_id() {
    let img = load();
    let notes = image::notes(&img).expect("object reads the notes");
    let id = notes
        .iter()
        .find(|n| n.name == b"GNU" && n.kind == NT_GNU_BUILD_ID)
        .unwrap_or_else(|| panic!("no NT_GNU_BUILD_ID note among {notes:?}"));
    assert_eq!(id.desc.len(), 20, "--build-id=sha1 gives 20 bytes");
    assert!(id.desc.iter().any(|&b| b != 0), "the build id is all zero");
}

#[test]
fn compat_writable_sections_hold_nothing_but_the_linkers_reserved_got() {
    // As in the 64-bit image: the linker marks .dynamic "WA" and the GOT folded into .rodata
    // "WAX"; all that may be there is the reserved GOT header, GOT[0] = the address of
    // _DYNAMIC, then zeros (4-byte words in ELF32). Anything else would be data in a shared
    // read-only page.
    const SHF_WRITE: u64 = 1;
    let img = load();
    let sections = image::sections(&img).expect("object reads the section headers");
    let dynamic = sections
        .iter()
        .find(|s| s.name == ".dynamic")
        .map(|s| s.addr);
    for s in &sections {
        if s.flags & SHF_ALLOC == 0 || s.flags & SHF_WRITE == 0 || s.name == ".dynamic" {
            continue;
        }
        assert!(
            s.size <= 16,
            "writable section {} is {} bytes",
            s.name,
            s.size
        );
        for i in 0..s.size / 4 {
            let word = u64::from(u32_at(&img, s.offset + 4 * i));
            assert!(
                word == 0 || (i == 0 && Some(word) == dynamic),
                "writable section {} holds {word:#x} at +{:#x}",
                s.name,
                4 * i
            );
        }
    }
}

// §1.3 -----------------------------------------------------------------------------------------

#[test]
fn compat_image_has_no_relocations_no_undefined_symbols_and_needs_nothing() {
    let img = load();
    let relocation_tags = [
        DT_RELA,
        DT_RELASZ,
        DT_RELAENT,
        DT_REL,
        DT_RELSZ,
        DT_RELENT,
        DT_RELR,
        DT_RELRSZ,
        DT_RELRENT,
        DT_JMPREL,
        DT_PLTRELSZ,
        DT_PLTREL,
        DT_TEXTREL,
        DT_RELACOUNT,
        DT_RELCOUNT,
        DT_NEEDED,
    ];
    for (tag, val) in dynamic(&img) {
        assert!(
            !relocation_tags.contains(&tag),
            "dynamic entry {tag:#x} = {val:#x} announces relocations or a needed library"
        );
    }
    for s in image::sections(&img).unwrap() {
        assert!(
            !s.name.starts_with(".rel"),
            "relocation section {} (type {:#x})",
            s.name,
            s.kind
        );
    }
    for s in symbols(&img).iter().skip(1) {
        assert_ne!(s.shndx, SHN_UNDEF, "{} is undefined", s.name);
    }
}

// §1.4 -----------------------------------------------------------------------------------------

/// `(nbucket, buckets, chains)` of the `DT_HASH` table, read from the file.
fn sysv_table(img: &[u8]) -> (u32, Vec<u32>, Vec<u32>) {
    let addr = image::dynamic_value(&dynamic(img), DT_HASH).expect("DT_HASH");
    let off = image::file_offset(img, addr).expect("DT_HASH inside the PT_LOAD");
    let nbucket = u32_at(img, off);
    let nchain = u32_at(img, off + 4);
    let buckets = (0..u64::from(nbucket))
        .map(|i| u32_at(img, off + 8 + 4 * i))
        .collect();
    let chains_at = off + 8 + 4 * u64::from(nbucket);
    let chains = (0..u64::from(nchain))
        .map(|i| u32_at(img, chains_at + 4 * i))
        .collect();
    (nbucket, buckets, chains)
}

/// The symbol indices on the chain of bucket `hash % nbucket`.
fn chain_of(img: &[u8], hash: u32) -> Vec<u32> {
    let (nbucket, buckets, chains) = sysv_table(img);
    assert_ne!(nbucket, 0, "nbucket is 0");
    let mut out = Vec::new();
    let mut i = buckets[(hash % nbucket) as usize];
    while i != 0 {
        assert!(
            (i as usize) < chains.len(),
            "chain index {i} is past nchain"
        );
        assert!(!out.contains(&i), "the chain loops at {i}");
        out.push(i);
        i = chains[i as usize];
    }
    out
}

#[test]
fn compat_image_has_a_sysv_hash_table_and_no_gnu_hash_table() {
    let img = load();
    let dyns = dynamic(&img);
    assert!(
        image::dynamic_value(&dyns, DT_HASH).is_some(),
        "no DT_HASH: musl needs it"
    );
    assert!(
        image::dynamic_value(&dyns, DT_GNU_HASH).is_none(),
        "DT_GNU_HASH present"
    );
    for s in image::sections(&img).unwrap() {
        assert_ne!(s.kind, SHT_GNU_HASH, "{} is a GNU hash table", s.name);
    }
    assert_eq!(
        image::dynamic_value(&dyns, DT_SYMENT),
        Some(16),
        "DT_SYMENT must be sizeof(Elf32_Sym)"
    );
}

#[test]
fn compat_hash_table_reaches_every_symbol_and_nchain_counts_them() {
    let img = load();
    let syms = symbols(&img);
    let (_, _, chains) = sysv_table(&img);
    assert_eq!(
        chains.len(),
        syms.len(),
        "nchain must equal the number of dynamic symbols (musl scans that many)"
    );
    for s in syms.iter().skip(1) {
        assert!(
            chain_of(&img, elf_hash(s.name.as_bytes())).contains(&(s.index as u32)),
            "{} is not on the chain of its bucket",
            s.name
        );
    }
}

#[test]
fn go_arm_bucket_0xd35ec75_reaches_vdso_clock_gettime() {
    let img = load();
    let index = symbols(&img)
        .iter()
        .find(|s| s.name == "__vdso_clock_gettime")
        .expect("__vdso_clock_gettime in .dynsym")
        .index as u32;
    let chain = chain_of(&img, GO_ARM_CLOCK_GETTIME_HASH);
    assert!(
        chain.contains(&index),
        "Go's bucket 0xd35ec75 % nbucket holds {chain:?}, not __vdso_clock_gettime ({index})"
    );
}

// §1.5 -----------------------------------------------------------------------------------------

/// The string at `DT_STRTAB + offset`.
fn dynstr(img: &[u8], offset: u64) -> String {
    let strtab = image::dynamic_value(&dynamic(img), DT_STRTAB).expect("DT_STRTAB");
    let at = image::file_offset(img, strtab + offset).expect("string inside the PT_LOAD");
    let bytes = &img[at as usize..];
    let end = bytes.iter().position(|&b| b == 0).expect("NUL-terminated");
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[test]
fn compat_soname_is_linux_vdso_so_1() {
    let img = load();
    let soname = image::dynamic_value(&dynamic(&img), DT_SONAME).expect("no DT_SONAME");
    assert_eq!(dynstr(&img, soname), "linux-vdso.so.1");
}

#[test]
fn compat_version_definitions_are_the_base_and_linux_2_6_with_gos_hash() {
    let img = load();
    let dyns = dynamic(&img);
    assert!(
        image::dynamic_value(&dyns, DT_VERSYM).is_some(),
        "no DT_VERSYM"
    );
    let verdef = image::dynamic_value(&dyns, DT_VERDEF).expect("no DT_VERDEF");
    let m = Mapping::new(&img, 0);
    let mut at = image::file_offset(&img, verdef).expect("DT_VERDEF inside the PT_LOAD");
    let mut defs = BTreeMap::new();
    loop {
        let d = Verdef::read(&m, at).expect("an Elf32_Verdef");
        let aux = Verdaux::read(&m, at + u64::from(d.vd_aux)).expect("an Elf32_Verdaux");
        defs.insert(dynstr(&img, u64::from(aux.vda_name)), d);
        if d.vd_next == 0 {
            break;
        }
        at += u64::from(d.vd_next);
    }
    assert_eq!(
        defs.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from([SONAME, LINUX_2_6]),
        "version definitions"
    );
    assert_eq!(
        image::dynamic_value(&dyns, DT_VERDEFNUM),
        Some(defs.len() as u64)
    );
    let base = defs[SONAME];
    let v26 = defs[LINUX_2_6];
    assert_ne!(base.vd_flags & VER_FLG_BASE, 0, "the base version's flags");
    assert_eq!(v26.vd_flags & VER_FLG_BASE, 0, "LINUX_2.6's flags");
    assert_eq!(
        v26.vd_hash, GO_ARM_VERSION_HASH,
        "LINUX_2.6's vd_hash must be 0x3ae75f6, the value Go linux/arm compares"
    );
    assert_eq!(base.vd_hash, elf_hash(SONAME.as_bytes()), "base vd_hash");
    assert_ne!(base.vd_ndx, v26.vd_ndx, "duplicate vd_ndx");
}

// §1.6 -----------------------------------------------------------------------------------------

#[test]
fn compat_exports_are_exactly_the_four_vdso_functions_at_linux_2_6() {
    let img = load();
    let syms = symbols(&img);
    let exported: BTreeMap<&str, &Symbol> = syms
        .iter()
        .filter(|s| s.is_exported())
        .map(|s| (s.name.as_str(), s))
        .collect();
    assert_eq!(
        exported.keys().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "__vdso_clock_gettime",
            "__vdso_clock_gettime64",
            "__vdso_gettimeofday",
            "__vdso_clock_getres",
        ]),
        "exported symbols"
    );
    for e in COMPAT_EXPORTS {
        let s = exported[e.name];
        assert_eq!(s.kind, STT_FUNC, "{}: type", e.name);
        assert_eq!(s.bind, STB_GLOBAL, "{}: binding", e.name);
        assert_eq!(s.visibility, 0, "{}: visibility", e.name);
        assert_eq!(s.version.as_deref(), Some(LINUX_2_6), "{}: version", e.name);
        assert!(!s.hidden, "{}: hidden version", e.name);
        assert_ne!(s.size, 0, "{}: st_size 0", e.name);
    }
    for s in syms.iter().skip(1).filter(|s| !s.is_exported()) {
        assert!(
            s.is_version_definition_symbol(),
            "{} is in .dynsym but is neither an export nor a version-definition symbol",
            s.name
        );
    }
}

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
            s.kind == SHT_PROGBITS
                && s.flags & (SHF_ALLOC | SHF_EXECINSTR) == SHF_ALLOC | SHF_EXECINSTR
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

// §1.8 -----------------------------------------------------------------------------------------

#[test]
fn compat_image_fits_in_one_page() {
    let img = load();
    assert!(
        img.len() as u64 <= PAGE_SIZE,
        "the file is {} bytes",
        img.len()
    );
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
    let img = load();
    for base in BASES32 {
        let m = Mapping::new(&img, base);
        for (name, offset) in loader_offsets() {
            assert_eq!(
                musl::lookup32(&m, LINUX_2_6, name),
                Ok(base + offset as u64),
                "{name}@LINUX_2.6 at base {base:#x}"
            );
        }
    }
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
    let img = load();
    for base in BASES32 {
        let m = Mapping::new(&img, base);
        for (name, offset) in loader_offsets() {
            assert_eq!(
                go::lookup32(&m, LINUX_2_6, name),
                Ok(base + offset as u64),
                "{name}@LINUX_2.6 at base {base:#x}"
            );
        }
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
