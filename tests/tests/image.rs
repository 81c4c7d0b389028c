//! One test per requirement of DESIGN §1, checked on the committed image.
//!
//! The image is read from disk at test time (`cargo xtask build-vdso` regenerates it) and read
//! with `object`, which is the reference reader here; the client parsers have their own tests
//! in `clients.rs`. Nothing below hard-codes an offset or an address of the current image.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use vdso_tests::a64;
use vdso_tests::clients::go;
use vdso_tests::elf::*;
use vdso_tests::hash::{elf_hash, gnu_hash};
use vdso_tests::image::{self, Symbol, EXPORTS, LINUX_2_6, LINUX_2_6_39, NOP, PAGE_SIZE, SONAME};

const SHT_PROGBITS: u32 = 1;
const SHT_RELA: u32 = 4;
const SHT_HASH: u32 = 5;
const SHT_REL: u32 = 9;
const SHT_DYNSYM: u32 = 11;
const SHT_RELR: u32 = 19;
const SHT_GNU_HASH: u32 = 0x6fff_fff6;
const SHT_GNU_VERDEF: u32 = 0x6fff_fffd;
const SHT_GNU_VERSYM: u32 = 0x6fff_ffff;
const SHT_ANDROID_REL: u32 = 0x6000_0001;
const SHT_ANDROID_RELA: u32 = 0x6000_0002;
const SHT_ANDROID_RELR: u32 = 0x6fff_ff00;
const SHF_WRITE: u64 = 1;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;
const NT_GNU_BUILD_ID: u32 = 3;

fn symbols(img: &[u8]) -> Vec<Symbol> {
    image::dynamic_symbols(img).expect("object reads .dynsym and its versions")
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

fn dynamic(img: &[u8]) -> Vec<(i64, u64)> {
    image::dynamic_entries(img).expect("object reads PT_DYNAMIC")
}

fn u32_at(img: &[u8], offset: u64) -> u32 {
    image::word_at(img, offset).unwrap_or_else(|| panic!("no word at file offset {offset:#x}"))
}

// §1.1 -----------------------------------------------------------------------------------------

#[test]
fn image_is_elf64_little_endian_aarch64_shared_object() {
    let img = image::load();
    let (machine, kind, ident) = image::header(&img).expect("object parses the ELF header");
    assert_eq!(&ident[..4], b"\x7fELF");
    assert_eq!(ident[EI_CLASS], ELFCLASS64, "EI_CLASS");
    assert_eq!(ident[EI_DATA], ELFDATA2LSB, "EI_DATA");
    assert_eq!(ident[EI_VERSION], EV_CURRENT, "EI_VERSION");
    assert_eq!(kind, ET_DYN, "e_type");
    assert_eq!(machine, EM_AARCH64, "e_machine");
}

#[test]
fn image_is_linked_at_address_zero_and_every_export_lies_in_the_load_segment() {
    // Linked at 0, every symbol value is an offset from the image start: the loader's
    // generated offsets and the clients' `base + st_value` both rely on it.
    let img = image::load();
    let load = the_load(&img);
    assert_eq!(load.p_vaddr, 0, "the image is not linked at address 0");
    for s in symbols(&img).iter().filter(|s| s.is_exported()) {
        assert!(
            s.value
                .checked_add(s.size)
                .is_some_and(|end| end <= load.p_memsz),
            "{} at {:#x}+{:#x} is outside the load segment (size {:#x})",
            s.name,
            s.value,
            s.size,
            load.p_memsz
        );
    }
}

// §1.2 -----------------------------------------------------------------------------------------

#[test]
fn image_has_exactly_one_load_segment_read_execute_at_offset_and_address_zero() {
    let img = image::load();
    let load = the_load(&img);
    assert_eq!(
        load.p_flags,
        PF_R | PF_X,
        "PT_LOAD flags must be exactly R+X"
    );
    assert_eq!(load.p_offset, 0, "PT_LOAD p_offset");
    assert_eq!(load.p_vaddr, 0, "PT_LOAD p_vaddr");
}

#[test]
fn dynamic_segment_lies_inside_the_load_segment() {
    let img = image::load();
    let load = the_load(&img);
    let dynamics: Vec<Phdr> = image::segments(&img)
        .unwrap()
        .into_iter()
        .filter(|p| p.p_type == PT_DYNAMIC)
        .collect();
    assert_eq!(dynamics.len(), 1, "expected exactly one PT_DYNAMIC");
    let d = dynamics[0];
    let inside = |start: u64, len: u64, lo: u64, size: u64| {
        start >= lo && start.checked_add(len).is_some_and(|end| end <= lo + size)
    };
    assert!(
        inside(d.p_offset, d.p_filesz, load.p_offset, load.p_filesz),
        "PT_DYNAMIC's bytes {:#x}+{:#x} are not inside the PT_LOAD's file range",
        d.p_offset,
        d.p_filesz
    );
    assert!(
        inside(d.p_vaddr, d.p_memsz, load.p_vaddr, load.p_memsz),
        "PT_DYNAMIC's addresses {:#x}+{:#x} are not inside the PT_LOAD",
        d.p_vaddr,
        d.p_memsz
    );
    // Clients find the dynamic table at base + p_offset but its contents at base + p_vaddr.
    assert_eq!(d.p_offset - load.p_offset, d.p_vaddr - load.p_vaddr);
}

#[test]
fn image_has_a_note_segment() {
    let img = image::load();
    let notes = image::segments(&img)
        .unwrap()
        .into_iter()
        .filter(|p| p.p_type == PT_NOTE)
        .count();
    assert!(notes >= 1, "no PT_NOTE segment");
}

#[test]
fn image_has_no_interp_tls_or_relro_segment() {
    let img = image::load();
    for p in image::segments(&img).unwrap() {
        assert!(
            ![PT_INTERP, PT_TLS, PT_GNU_RELRO].contains(&p.p_type),
            "forbidden segment type {:#x} (rustix rejects PT_INTERP/PT_GNU_RELRO, glibc \
             asserts there is no PT_TLS)",
            p.p_type
        );
    }
}

#[test]
fn segments_are_only_load_dynamic_note_and_eh_frame() {
    // DESIGN §1.2 lists these; PT_GNU_PROPERTY is allowed for the BTI note of §1.9.
    let allowed = [
        PT_LOAD,
        PT_DYNAMIC,
        PT_NOTE,
        PT_GNU_EH_FRAME,
        PT_GNU_PROPERTY,
    ];
    let img = image::load();
    for p in image::segments(&img).unwrap() {
        assert!(
            allowed.contains(&p.p_type),
            "unexpected segment type {:#x}",
            p.p_type
        );
    }
}

#[test]
fn no_segment_is_writable() {
    let img = image::load();
    for p in image::segments(&img).unwrap() {
        assert_eq!(
            p.p_flags & PF_W,
            0,
            "segment type {:#x} is writable (glibc writes into a writable PT_DYNAMIC, and the \
             vDSO is mapped read-only)",
            p.p_type
        );
    }
}

#[test]
fn writable_sections_hold_nothing_but_the_linkers_reserved_got() {
    // The kernel maps the whole image read-only and shares it, so no variable may live in
    // it. The linker always marks .dynamic "WA", and the linker script (like Linux's) folds
    // the GOT into .rodata, which makes that section "WAX"; what may be there is the reserved
    // GOT header only: GOT[0] = the address of _DYNAMIC, then zeros (.got 8 bytes, .got.plt
    // 24). Anything else would be data, or a GOT entry that no relocation ever fixes up.
    let img = image::load();
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
            s.size <= 32,
            "writable section {} is {} bytes: more than the reserved GOT",
            s.name,
            s.size
        );
        let bytes = &img[s.offset as usize..(s.offset + s.size) as usize];
        for (i, chunk) in bytes.chunks(8).enumerate() {
            let word = chunk.iter().rev().fold(0u64, |w, &b| w << 8 | u64::from(b));
            let allowed = word == 0 || (i == 0 && Some(word) == dynamic);
            assert!(
                allowed,
                "writable section {} holds {word:#x} at +{:#x}: data in a read-only image",
                s.name,
                8 * i
            );
        }
    }
}

#[test]
fn image_has_no_data_bss_or_eh_frame_section() {
    let img = image::load();
    for s in image::sections(&img).unwrap() {
        for prefix in [".data", ".bss", ".eh_frame", ".got"] {
            assert!(
                !s.name.starts_with(prefix),
                "the image has a {} section",
                s.name
            );
        }
    }
}

// §1.3 -----------------------------------------------------------------------------------------

#[test]
fn image_has_no_dynamic_relocations() {
    // glibc never relocates the vDSO (`l_relocated = 1`), and the kernel maps it read-only.
    let img = image::load();
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
    ];
    for (tag, val) in dynamic(&img) {
        assert!(
            !relocation_tags.contains(&tag),
            "dynamic entry {tag:#x} = {val:#x} announces relocations"
        );
    }
    for s in image::sections(&img).unwrap() {
        let kinds = [
            SHT_RELA,
            SHT_REL,
            SHT_RELR,
            SHT_ANDROID_REL,
            SHT_ANDROID_RELA,
            SHT_ANDROID_RELR,
        ];
        assert!(
            !kinds.contains(&s.kind) && !s.name.starts_with(".rel"),
            "relocation section {} (type {:#x})",
            s.name,
            s.kind
        );
    }
}

#[test]
fn image_has_no_undefined_symbols_and_needs_no_library() {
    let img = image::load();
    for s in symbols(&img).iter().skip(1) {
        assert_ne!(s.shndx, SHN_UNDEF, "{} is undefined", s.name);
    }
    let file = image::parse(&img).unwrap();
    let symtab = file
        .elf_section_table()
        .symbols(file.endian(), &*img, object::elf::SHT_SYMTAB)
        .unwrap();
    for (i, sym) in symtab.enumerate().skip(1) {
        use object::read::elf::Sym as _;
        assert!(
            !sym.is_undefined(file.endian()),
            ".symtab entry {} is undefined",
            i.0
        );
    }
    for (tag, val) in dynamic(&img) {
        assert_ne!(
            tag, DT_NEEDED,
            "the image needs a library (string {val:#x})"
        );
    }
}

// §1.4 -----------------------------------------------------------------------------------------

#[test]
fn image_has_a_sysv_hash_table_and_no_gnu_hash_table() {
    let img = image::load();
    let dyns = dynamic(&img);
    assert!(
        image::dynamic_value(&dyns, DT_HASH).is_some(),
        "no DT_HASH: musl and parse_vdso.c need it"
    );
    assert!(
        image::dynamic_value(&dyns, DT_GNU_HASH).is_none(),
        "DT_GNU_HASH present: Go 1.19 would miss __kernel_clock_gettime"
    );
    for s in image::sections(&img).unwrap() {
        assert_ne!(
            s.kind, SHT_GNU_HASH,
            "section {} is a GNU hash table",
            s.name
        );
    }
}

/// `(nbucket, nchain, buckets, chains)` of the image's `DT_HASH` table.
fn sysv_table(img: &[u8]) -> (u32, u32, Vec<u32>, Vec<u32>) {
    let addr = image::dynamic_value(&dynamic(img), DT_HASH).expect("DT_HASH");
    let off = image::file_offset(img, addr).expect("DT_HASH inside the PT_LOAD");
    let nbucket = u32_at(img, off);
    let nchain = u32_at(img, off + 4);
    let buckets = (0..u64::from(nbucket))
        .map(|i| u32_at(img, off + 8 + 4 * i))
        .collect();
    let chain_at = off + 8 + 4 * u64::from(nbucket);
    let chains = (0..u64::from(nchain))
        .map(|i| u32_at(img, chain_at + 4 * i))
        .collect();
    (nbucket, nchain, buckets, chains)
}

/// The symbol indices on the chain that starts at bucket `hash % nbucket`.
fn chain_of(img: &[u8], hash: u32) -> Vec<u32> {
    let (nbucket, nchain, buckets, chains) = sysv_table(img);
    assert_ne!(nbucket, 0, "nbucket is 0");
    let mut out = Vec::new();
    let mut i = buckets[(hash % nbucket) as usize];
    while i != 0 {
        assert!(i < nchain, "chain index {i} is past nchain {nchain}");
        assert!(!out.contains(&i), "the chain loops at {i}");
        out.push(i);
        i = chains[i as usize];
    }
    out
}

#[test]
fn sysv_hash_table_reaches_every_dynamic_symbol_from_its_bucket() {
    let img = image::load();
    let syms = symbols(&img);
    let (_, nchain, _, _) = sysv_table(&img);
    assert_eq!(
        nchain as usize,
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
fn go_1_19_hash_bucket_for_kernel_clock_gettime_reaches_it() {
    // Go 1.19's arm64 key for `__kernel_clock_gettime` carries 0xd35ec75, the ELF hash of
    // `__vdso_clock_gettime`. Go walks bucket `0xd35ec75 % nbucket` and compares names, so the
    // fast clock works only if `__kernel_clock_gettime` is on that chain. Linux's own image
    // gets this by luck; this image must by design (DESIGN §1.4).
    let key = go::VDSO_SYMBOL_KEYS_ARM64[0];
    assert_eq!(key.name, "__kernel_clock_gettime");
    assert_eq!(key.sym_hash, elf_hash(b"__vdso_clock_gettime"));
    let img = image::load();
    let index = symbols(&img)
        .iter()
        .find(|s| s.name == key.name)
        .expect("__kernel_clock_gettime in .dynsym")
        .index as u32;
    let (nbucket, ..) = sysv_table(&img);
    let chain = chain_of(&img, key.sym_hash);
    assert!(
        chain.contains(&index),
        "bucket {} (0xd35ec75 % {nbucket}) holds symbols {chain:?}, not \
         __kernel_clock_gettime (index {index}): Go 1.19 would use the system call",
        key.sym_hash % nbucket
    );
}

#[test]
fn section_headers_describe_the_tables_the_dynamic_segment_points_at() {
    // The reference reading (object, through section headers) must see the same tables as the
    // clients (through PT_DYNAMIC), or the other tests prove nothing.
    let img = image::load();
    let dyns = dynamic(&img);
    let sections = image::sections(&img).unwrap();
    let by_kind = |kind: u32| {
        sections
            .iter()
            .find(|s| s.kind == kind)
            .unwrap_or_else(|| panic!("no section of type {kind:#x}"))
            .addr
    };
    let pairs = [
        (DT_HASH, SHT_HASH),
        (DT_SYMTAB, SHT_DYNSYM),
        (DT_VERSYM, SHT_GNU_VERSYM),
        (DT_VERDEF, SHT_GNU_VERDEF),
    ];
    for (tag, kind) in pairs {
        assert_eq!(
            image::dynamic_value(&dyns, tag),
            Some(by_kind(kind)),
            "dynamic tag {tag:#x} vs section type {kind:#x}"
        );
    }
    assert_eq!(
        image::dynamic_value(&dyns, DT_SYMENT),
        Some(Sym::SIZE),
        "DT_SYMENT (rustix rejects anything but 24)"
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
fn soname_is_linux_vdso_so_1() {
    let img = image::load();
    let soname = image::dynamic_value(&dynamic(&img), DT_SONAME).expect("no DT_SONAME");
    assert_eq!(dynstr(&img, soname), SONAME);
}

#[test]
fn elf_hash_matches_the_values_clients_hard_code() {
    // The hash function the version test relies on, checked against the clients' constants.
    assert_eq!(elf_hash(b"LINUX_2.6.39"), 0x75f_cb89, "glibc VDSO_HASH, Go");
    assert_eq!(elf_hash(b"LINUX_2.6"), 0x3ae_75f6, "Go linux/arm, x86");
    assert_eq!(elf_hash(b"__vdso_clock_gettime"), 0xd35_ec75, "Go's key");
    assert_eq!(gnu_hash(b"__vdso_clock_gettime"), 0x6e43_a318, "Go's key");
    assert_eq!(elf_hash(b"__kernel_clock_gettime"), 0xb0c_d725);
    assert_eq!(gnu_hash(b"__kernel_clock_gettime"), 0xdfa9_41fd);
}

#[test]
fn version_definitions_are_base_linux_2_6_39_and_linux_2_6_with_their_elf_hashes() {
    let img = image::load();
    let dyns = dynamic(&img);
    assert!(
        image::dynamic_value(&dyns, DT_VERSYM).is_some(),
        "no DT_VERSYM"
    );
    let verdef = image::dynamic_value(&dyns, DT_VERDEF).expect("no DT_VERDEF");
    let count = image::dynamic_value(&dyns, DT_VERDEFNUM).expect("no DT_VERDEFNUM");
    let m = vdso_tests::Mapping::new(&img, 0);
    let mut at = image::file_offset(&img, verdef).expect("DT_VERDEF inside the PT_LOAD");
    let mut defs = Vec::new();
    loop {
        let d = Verdef::read(&m, at).expect("a Verdef");
        let aux = Verdaux::read(&m, at + u64::from(d.vd_aux)).expect("a Verdaux");
        defs.push((d, dynstr(&img, u64::from(aux.vda_name))));
        if d.vd_next == 0 {
            break;
        }
        at += u64::from(d.vd_next);
    }
    assert_eq!(defs.len() as u64, count, "DT_VERDEFNUM");
    let names: Vec<&str> = defs.iter().map(|d| d.1.as_str()).collect();
    assert_eq!(
        names.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([SONAME, LINUX_2_6_39, LINUX_2_6]),
        "version definitions"
    );
    let mut indices = BTreeSet::new();
    for (d, name) in &defs {
        assert_eq!(d.vd_version, VER_DEF_CURRENT, "{name}: vd_version");
        assert_eq!(
            d.vd_hash,
            elf_hash(name.as_bytes()),
            "{name}: vd_hash must be the ELF hash of the name (glibc, Go, rustix and \
             parse_vdso.c compare it)"
        );
        assert_eq!(
            d.vd_flags & VER_FLG_BASE != 0,
            name == SONAME,
            "{name}: only the base version carries VER_FLG_BASE"
        );
        assert!(d.vd_cnt >= 1, "{name}: vd_cnt");
        assert!(
            indices.insert(d.vd_ndx),
            "{name}: duplicate vd_ndx {}",
            d.vd_ndx
        );
    }
}

// §1.6 -----------------------------------------------------------------------------------------

#[test]
fn exports_are_exactly_the_eight_versioned_functions() {
    let img = image::load();
    let syms = symbols(&img);
    let exported: BTreeMap<&str, &Symbol> = syms
        .iter()
        .filter(|s| s.is_exported())
        .map(|s| (s.name.as_str(), s))
        .collect();
    let expected: BTreeSet<&str> = EXPORTS.iter().map(|e| e.name).collect();
    assert_eq!(
        exported.keys().copied().collect::<BTreeSet<_>>(),
        expected,
        "exported symbols"
    );
    for e in EXPORTS {
        let s = exported[e.name];
        assert_eq!(s.kind, STT_FUNC, "{}: type", e.name);
        assert_eq!(s.bind, STB_GLOBAL, "{}: binding", e.name);
        assert_eq!(s.visibility, 0, "{}: visibility", e.name);
        assert_eq!(s.version.as_deref(), Some(e.version), "{}: version", e.name);
    }
    // Everything else in .dynsym is the null symbol or a version-definition symbol.
    for s in syms.iter().skip(1).filter(|s| !s.is_exported()) {
        assert!(
            s.is_version_definition_symbol(),
            "{} is in .dynsym but is neither an export nor a version-definition symbol",
            s.name
        );
    }
}

#[test]
fn every_export_has_a_nonzero_size() {
    let img = image::load();
    for s in symbols(&img).iter().filter(|s| s.is_exported()) {
        assert_ne!(s.size, 0, "{} has st_size 0", s.name);
    }
}

#[test]
fn aliases_have_the_address_and_size_of_their_targets() {
    let img = image::load();
    let syms = symbols(&img);
    let find = |name: &str| {
        syms.iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no symbol {name}"))
    };
    for e in EXPORTS {
        if let Some(target) = e.alias_of {
            let (a, t) = (find(e.name), find(target));
            assert_eq!(a.value, t.value, "{} address vs {target}", e.name);
            assert_eq!(a.size, t.size, "{} size vs {target}", e.name);
        }
    }
}

// §1.7 -----------------------------------------------------------------------------------------

#[test]
fn rt_sigreturn_is_mov_x8_139_svc_0_after_a_nop_outside_the_symbol() {
    // libgcc's and glibc's unwinders recognise a signal frame by these exact words at the
    // return address, and look one instruction back.
    let img = image::load();
    let syms = symbols(&img);
    let s = syms
        .iter()
        .find(|s| s.name == "__kernel_rt_sigreturn")
        .expect("__kernel_rt_sigreturn");
    assert_eq!(s.size, 8, "the trampoline is exactly two instructions");
    let at = image::file_offset(&img, s.value).expect("inside the PT_LOAD");
    assert_eq!(
        [u32_at(&img, at), u32_at(&img, at + 4)],
        image::SIGRETURN_WORDS,
        "expected mov x8, #139; svc #0"
    );
    assert!(at >= 4, "no room for the nop");
    assert_eq!(u32_at(&img, at - 4), NOP, "the word before the trampoline");
    let nop = s.value - 4;
    for other in syms.iter().filter(|o| o.is_exported()) {
        assert!(
            !(other.value <= nop && nop < other.value + other.size),
            "the nop at {nop:#x} lies inside {}",
            other.name
        );
    }
}

// §1.8 -----------------------------------------------------------------------------------------

#[test]
fn image_fits_in_one_page() {
    let img = image::load();
    assert!(
        img.len() as u64 <= PAGE_SIZE,
        "the file is {} bytes",
        img.len()
    );
    let load = the_load(&img);
    assert!(load.p_filesz <= load.p_memsz, "p_filesz > p_memsz");
    assert!(
        load.p_vaddr.is_multiple_of(PAGE_SIZE) && load.p_memsz <= PAGE_SIZE,
        "the loaded segment {:#x}+{:#x} does not fit one page",
        load.p_vaddr,
        load.p_memsz
    );
}

// §1.9 -----------------------------------------------------------------------------------------

/// `(address, word)` of every instruction in the code sections: allocated, executable,
/// non-writable `PROGBITS` sections.
fn code_words(img: &[u8]) -> Vec<(u64, u32)> {
    let mut out = Vec::new();
    let code = image::sections(img).unwrap().into_iter().filter(|s| {
        s.kind == SHT_PROGBITS
            && s.flags & (SHF_ALLOC | SHF_EXECINSTR) == SHF_ALLOC | SHF_EXECINSTR
            && s.flags & SHF_WRITE == 0
    });
    for s in code {
        for i in 0..s.size / 4 {
            out.push((s.addr + 4 * i, u32_at(img, s.offset + 4 * i)));
        }
    }
    assert!(!out.is_empty(), "no code section found");
    out
}

/// Whether an `objdump` operand string names x18 or w18 (not `#0x18`, not `x180`).
fn mentions_x18(operands: &str) -> bool {
    let b = operands.as_bytes();
    (0..b.len().saturating_sub(2)).any(|i| {
        (b[i] == b'x' || b[i] == b'w')
            && &b[i + 1..i + 3] == b"18"
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            && b.get(i + 3).is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

/// `address -> (word, operands)` from `aarch64-linux-gnu-objdump -d` of the image file.
fn objdump() -> BTreeMap<u64, (u32, String)> {
    let tool = std::env::var("VDSO_TESTS_OBJDUMP")
        .unwrap_or_else(|_| "aarch64-linux-gnu-objdump".to_string());
    let out = Command::new(&tool)
        .args(["-d", "-w"])
        .arg(image::path())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {tool}: {e}. Install the Debian package binutils-aarch64-linux-gnu \
                 (apt-get install binutils-aarch64-linux-gnu), or point VDSO_TESTS_OBJDUMP at \
                 an aarch64 objdump"
            )
        });
    assert!(
        out.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.splitn(3, '\t');
        let (Some(addr), Some(word), Some(text)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Some(addr) = addr.trim().strip_suffix(':') else {
            continue;
        };
        let (Ok(addr), Ok(word)) = (
            u64::from_str_radix(addr, 16),
            u32::from_str_radix(word.trim(), 16),
        ) else {
            continue;
        };
        // Drop comments and symbolic targets, which may contain anything.
        let text = text.split("//").next().unwrap_or_default();
        let text = text.split('<').next().unwrap_or_default();
        lines.insert(addr, (word, text.to_string()));
    }
    lines
}

#[test]
fn objdump_finds_no_use_of_x18() {
    // Every line objdump disassembles counts, whatever the section.
    let img = image::load();
    let listing = objdump();
    // A listing that misses an instruction would make this test pass vacuously.
    for (addr, word) in code_words(&img) {
        let (dumped, _) = listing
            .get(&addr)
            .unwrap_or_else(|| panic!("objdump shows no instruction at {addr:#x}"));
        assert_eq!(*dumped, word, "objdump's word at {addr:#x}");
    }
    let uses: Vec<String> = listing
        .iter()
        .filter(|(_, (_, text))| mentions_x18(text))
        .map(|(addr, (_, text))| format!("{addr:#x}: {}", text.trim()))
        .collect();
    assert!(
        uses.is_empty(),
        "x18 is the platform register and must never be touched:\n{}",
        uses.join("\n")
    );
}

#[test]
fn raw_encoding_scan_finds_no_use_of_x18() {
    // The tool-free second check: decode each word's general-purpose register fields.
    let img = image::load();
    let mut uses = Vec::new();
    let mut unknown = Vec::new();
    for (addr, word) in code_words(&img) {
        match a64::uses_x18(word) {
            Some(true) => uses.push(format!("{addr:#x}: {word:#010x}")),
            Some(false) => {}
            None => unknown.push(format!("{addr:#x}: {word:#010x}")),
        }
    }
    assert!(uses.is_empty(), "instructions naming x18/w18: {uses:?}");
    assert!(
        unknown.is_empty(),
        "the decoder in src/a64.rs does not model these words, so it cannot vouch for them \
         (extend it): {unknown:?}"
    );
}

#[test]
fn raw_encoding_scan_agrees_with_objdump_on_every_instruction() {
    let img = image::load();
    let listing = objdump();
    let mut disagreements = Vec::new();
    for (addr, word) in code_words(&img) {
        let Some((dumped, text)) = listing.get(&addr) else {
            disagreements.push(format!("{addr:#x}: objdump shows nothing"));
            continue;
        };
        assert_eq!(*dumped, word, "objdump's word at {addr:#x}");
        if let Some(ours) = a64::uses_x18(word) {
            if ours != mentions_x18(text) {
                disagreements.push(format!(
                    "{addr:#x}: {word:#010x} `{}`: decoder says {ours}",
                    text.trim()
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn objdump_operand_matcher_sees_registers_not_immediates() {
    assert!(mentions_x18("ldr\tx18, [x8, #8]"));
    assert!(mentions_x18("cbz\tw18, 7fc"));
    assert!(mentions_x18("sub\tx8, x14, x18"));
    assert!(!mentions_x18("add\tx0, x1, #0x18"));
    assert!(!mentions_x18("mov\tw8, #0x18"));
    assert!(!mentions_x18("ldr\tx8, [x18x]"));
}

// PT_NOTE -------------------------------------------------------------------------------------

#[test]
fn note_segment_holds_the_gnu_build_id() {
    let img = image::load();
    let notes = image::notes(&img).expect("object reads the notes");
    let id = notes
        .iter()
        .find(|n| n.name == b"GNU" && n.kind == NT_GNU_BUILD_ID)
        .unwrap_or_else(|| panic!("no NT_GNU_BUILD_ID note among {notes:?}"));
    assert_eq!(id.desc.len(), 20, "--build-id=sha1 gives 20 bytes");
    assert!(id.desc.iter().any(|&b| b != 0), "the build id is all zero");
}
