//! The image rules both images share, each written once over [`Image`] (what the two differ
//! in) and instantiated for each by [`every_rule!`].
//!
//! The images are read from disk at test time (`cargo xtask build-vdso` regenerates them) and
//! read with `object`, which is the reference reader here; the client parsers have their own
//! tests in `clients.rs`. Nothing below hard-codes an offset or an address of a current image.
//! The constants compared against come from the clients' sources or from `elf.h`, never from
//! the code under test.

use std::collections::{BTreeMap, BTreeSet};

use object::elf as oelf;
use vdso_tests::clients::go;
use vdso_tests::elf::*;
use vdso_tests::hash::elf_hash;
use vdso_tests::image::{self, Export, Symbol, PAGE_SIZE, SONAME};
use vdso_tests::Mapping;

/// One image under test: how to read it, and every value in which its rules differ.
pub struct Image {
    /// How to read the file (each honours its `VDSO_TESTS_*IMAGE` override).
    pub load: fn() -> Vec<u8>,
    /// `e_ident[EI_CLASS]`.
    pub class: Class,
    /// `e_machine` (`elf.h`: `EM_AARCH64` 183, `EM_ARM` 40).
    pub machine: u16,
    /// `sizeof(Elf*_Ehdr)` and `sizeof(Elf*_Phdr)` from `elf.h`, as a client reads them.
    pub header_sizes: (u16, u16),
    /// `sizeof(Elf*_Sym)` from `elf.h`: `DT_SYMENT` must say it (rustix rejects anything else).
    pub sym_size: u64,
    /// The segment types the image may have.
    pub segments: &'static [u32],
    /// Exactly the symbols it exports.
    pub exports: &'static [Export],
    /// Exactly its version definitions, the base first.
    pub versions: &'static [&'static str],
    /// A version's `vd_hash` as a client hard-codes it: `(version, hash, which client)`.
    pub client_version_hash: (&'static str, u32, &'static str),
    /// The key Go 1.19 looks its clock up with, and the symbol name it must carry.
    pub go_key: (go::SymbolKey<'static>, &'static str),
    /// How many pages the kernel maps for it: the 64-bit image two, as Linux 6.12's (its
    /// size bound against Linux's own image is `linux612.rs`'s), the compat image one.
    pub pages: u64,
}

/// Writes one `#[test]` per shared rule, each calling the rule of the same name in this
/// module on `$image`.
macro_rules! every_rule {
    ($image:expr) => {
        $crate::rules::tests_for!(
            $image;
            image_is_a_little_endian_shared_object_of_its_class_and_machine,
            image_is_linked_at_address_zero_and_every_export_lies_in_the_load_segment,
            image_has_exactly_one_load_segment_read_execute_at_offset_and_address_zero,
            dynamic_segment_lies_inside_the_load_segment,
            image_has_a_note_segment,
            image_has_no_interp_tls_or_relro_segment,
            segments_are_only_load_dynamic_note_and_eh_frame,
            no_segment_is_writable,
            writable_sections_hold_nothing_but_the_linkers_reserved_got,
            image_has_no_data_bss_or_eh_frame_section,
            image_has_no_dynamic_relocations,
            image_has_no_undefined_symbols_and_needs_no_library,
            image_has_a_sysv_hash_table_and_no_gnu_hash_table,
            sysv_hash_table_reaches_every_dynamic_symbol_from_its_bucket,
            go_1_19_hash_bucket_reaches_the_clock_gettime_it_looks_up,
            section_headers_describe_the_tables_the_dynamic_segment_points_at,
            soname_is_linux_vdso_so_1,
            version_definitions_are_the_images_nodes_with_their_elf_hashes,
            exports_are_exactly_the_images_versioned_functions,
            every_export_has_a_nonzero_size,
            aliases_have_the_address_and_size_of_their_targets,
            image_fits_in_its_pages,
            note_segment_holds_the_gnu_build_id,
        );
    };
}
pub(crate) use every_rule;

/// `#[test] fn rule() { rules::rule(&$image) }` for each rule named.
macro_rules! tests_for {
    ($image:expr; $($rule:ident),* $(,)?) => {
        $(
            #[test]
            fn $rule() {
                $crate::rules::$rule(&$image);
            }
        )*
    };
}
pub(crate) use tests_for;

// Readings the rules share -------------------------------------------------------------------

/// The dynamic symbols with their versions, as `object` reads them.
pub fn symbols(img: &[u8]) -> Vec<Symbol> {
    image::dynamic_symbols(img).expect("object reads .dynsym and its versions")
}

/// The one `PT_LOAD`.
pub fn the_load(img: &[u8]) -> Phdr {
    let loads = segments_of_type(img, PT_LOAD);
    assert_eq!(loads.len(), 1, "expected exactly one PT_LOAD: {loads:#x?}");
    loads[0]
}

fn segments_of_type(img: &[u8], kind: u32) -> Vec<Phdr> {
    image::segments(img)
        .expect("object reads the program headers")
        .into_iter()
        .filter(|p| p.p_type == kind)
        .collect()
}

fn dynamic(img: &[u8]) -> Vec<(i64, u64)> {
    image::dynamic_entries(img).expect("object reads PT_DYNAMIC")
}

/// The little-endian word at file offset `offset`.
pub fn u32_at(img: &[u8], offset: u64) -> u32 {
    image::word_at(img, offset).unwrap_or_else(|| panic!("no word at file offset {offset:#x}"))
}

/// The `.dynsym` entry called `name`.
pub fn symbol<'a>(syms: &'a [Symbol], name: &str) -> &'a Symbol {
    syms.iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no symbol {name} in .dynsym"))
}

/// `(nbucket, nchain, buckets, chains)` of the image's `DT_HASH` table, read from the file.
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

/// The string at `DT_STRTAB + offset`.
fn dynstr(img: &[u8], offset: u64) -> String {
    let strtab = image::dynamic_value(&dynamic(img), DT_STRTAB).expect("DT_STRTAB");
    let at = image::file_offset(img, strtab + offset).expect("string inside the PT_LOAD");
    let bytes = &img[at as usize..];
    let end = bytes.iter().position(|&b| b == 0).expect("NUL-terminated");
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Whether `start + len` lies within `lo + size`.
fn inside(start: u64, len: u64, lo: u64, size: u64) -> bool {
    start >= lo && start.checked_add(len).is_some_and(|end| end <= lo + size)
}

// Image rule 1: the ELF header --------------------------------------------------------------

pub fn image_is_a_little_endian_shared_object_of_its_class_and_machine(image: &Image) {
    let img = (image.load)();
    let (machine, kind, ident) = image::header(&img).expect("object parses the ELF header");
    assert_eq!(&ident[..4], b"\x7fELF");
    assert_eq!(ident[EI_CLASS], image.class.ident(), "EI_CLASS");
    assert_eq!(ident[EI_DATA], ELFDATA2LSB, "EI_DATA");
    assert_eq!(ident[EI_VERSION], EV_CURRENT, "EI_VERSION");
    assert_eq!(kind, ET_DYN, "e_type");
    assert_eq!(machine, image.machine, "e_machine");
    // The raw fields, as a client of this class reads them.
    let h = Ehdr::read_as(&Mapping::new(&img, 0), 0, image.class).unwrap();
    assert_eq!(
        (h.e_ehsize, h.e_phentsize),
        image.header_sizes,
        "e_ehsize, e_phentsize"
    );
}

pub fn image_is_linked_at_address_zero_and_every_export_lies_in_the_load_segment(image: &Image) {
    // Linked at 0, every symbol value is an offset from the image start: the loader's
    // generated offsets and the clients' `base + st_value` both rely on it.
    let img = (image.load)();
    let load = the_load(&img);
    assert_eq!(load.p_vaddr, 0, "the image is not linked at address 0");
    for s in symbols(&img).iter().filter(|s| s.is_exported()) {
        assert!(
            inside(s.value, s.size, 0, load.p_memsz),
            "{} at {:#x}+{:#x} is outside the load segment (size {:#x})",
            s.name,
            s.value,
            s.size,
            load.p_memsz
        );
    }
}

// Image rule 2: the segments -----------------------------------------------------------------

pub fn image_has_exactly_one_load_segment_read_execute_at_offset_and_address_zero(image: &Image) {
    let load = the_load(&(image.load)());
    assert_eq!(
        load.p_flags,
        PF_R | PF_X,
        "PT_LOAD flags must be exactly R+X"
    );
    assert_eq!(load.p_offset, 0, "PT_LOAD p_offset");
    assert_eq!(load.p_vaddr, 0, "PT_LOAD p_vaddr");
}

pub fn dynamic_segment_lies_inside_the_load_segment(image: &Image) {
    let img = (image.load)();
    let load = the_load(&img);
    let dynamics = segments_of_type(&img, PT_DYNAMIC);
    assert_eq!(dynamics.len(), 1, "expected exactly one PT_DYNAMIC");
    let d = dynamics[0];
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

pub fn image_has_a_note_segment(image: &Image) {
    let notes = segments_of_type(&(image.load)(), PT_NOTE).len();
    assert!(notes >= 1, "no PT_NOTE segment");
}

pub fn image_has_no_interp_tls_or_relro_segment(image: &Image) {
    for p in image::segments(&(image.load)()).unwrap() {
        assert!(
            ![PT_INTERP, PT_TLS, PT_GNU_RELRO].contains(&p.p_type),
            "forbidden segment type {:#x} (rustix rejects PT_INTERP/PT_GNU_RELRO, glibc \
             asserts there is no PT_TLS)",
            p.p_type
        );
    }
}

pub fn segments_are_only_load_dynamic_note_and_eh_frame(image: &Image) {
    // Image rule 2 (ARCHITECTURE.md) lists these; the aarch64 image may add PT_GNU_PROPERTY
    // for the BTI note of image rule 9.
    for p in image::segments(&(image.load)()).unwrap() {
        assert!(
            image.segments.contains(&p.p_type),
            "unexpected segment type {:#x}",
            p.p_type
        );
    }
}

pub fn no_segment_is_writable(image: &Image) {
    for p in image::segments(&(image.load)()).unwrap() {
        assert_eq!(
            p.p_flags & PF_W,
            0,
            "segment type {:#x} is writable (glibc writes into a writable PT_DYNAMIC, and the \
             vDSO is mapped read-only)",
            p.p_type
        );
    }
}

pub fn writable_sections_hold_nothing_but_the_linkers_reserved_got(image: &Image) {
    // The kernel maps the whole image read-only and shares it, so no variable may live in
    // it. The linker always marks .dynamic "WA", and the linker script (like Linux's) folds
    // the GOT into .rodata, which makes that section "WAX"; what may be there is the reserved
    // GOT header only: GOT[0] = the address of _DYNAMIC, then zeros (.got one word, .got.plt
    // three). Anything else would be data, or a GOT entry that no relocation ever fixes up.
    let img = (image.load)();
    let word = image.class.word_size();
    let sections = image::sections(&img).expect("object reads the section headers");
    let dynamic = sections
        .iter()
        .find(|s| s.name == ".dynamic")
        .map(|s| s.addr);
    for s in &sections {
        if s.flags & oelf::SHF_ALLOC.0 == 0
            || s.flags & oelf::SHF_WRITE.0 == 0
            || s.name == ".dynamic"
        {
            continue;
        }
        assert!(
            s.size <= 4 * word,
            "writable section {} is {} bytes: more than the reserved GOT",
            s.name,
            s.size
        );
        let bytes = &img[s.offset as usize..(s.offset + s.size) as usize];
        for (i, chunk) in bytes.chunks(word as usize).enumerate() {
            let value = chunk.iter().rev().fold(0u64, |w, &b| w << 8 | u64::from(b));
            let allowed = value == 0 || (i == 0 && Some(value) == dynamic);
            assert!(
                allowed,
                "writable section {} holds {value:#x} at +{:#x}: data in a read-only image",
                s.name,
                word * i as u64
            );
        }
    }
}

pub fn image_has_no_data_bss_or_eh_frame_section(image: &Image) {
    for s in image::sections(&(image.load)()).unwrap() {
        for prefix in [".data", ".bss", ".eh_frame", ".got"] {
            assert!(
                !s.name.starts_with(prefix),
                "the image has a {} section",
                s.name
            );
        }
    }
}

// Image rule 3: no relocations, no undefined symbols -----------------------------------------

pub fn image_has_no_dynamic_relocations(image: &Image) {
    // glibc never relocates the vDSO (`l_relocated = 1`), and the kernel maps it read-only.
    let img = (image.load)();
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
    let kinds = [
        oelf::SHT_RELA,
        oelf::SHT_REL,
        oelf::SHT_RELR,
        oelf::SHT_ANDROID_REL,
        oelf::SHT_ANDROID_RELA,
        oelf::SHT_ANDROID_RELR,
    ]
    .map(|k| k.0);
    for s in image::sections(&img).unwrap() {
        assert!(
            !kinds.contains(&s.kind) && !s.name.starts_with(".rel"),
            "relocation section {} (type {:#x})",
            s.name,
            s.kind
        );
    }
}

pub fn image_has_no_undefined_symbols_and_needs_no_library(image: &Image) {
    let img = (image.load)();
    for s in symbols(&img).iter().skip(1) {
        assert_ne!(s.shndx, SHN_UNDEF, "{} is undefined", s.name);
    }
    for (i, undefined) in image::symtab_undefined(&img)
        .unwrap()
        .iter()
        .enumerate()
        .skip(1)
    {
        assert!(!undefined, ".symtab entry {i} is undefined");
    }
    for (tag, val) in dynamic(&img) {
        assert_ne!(
            tag, DT_NEEDED,
            "the image needs a library (string {val:#x})"
        );
    }
}

// Image rule 4: SysV hash only, and Go's bucket ----------------------------------------------

pub fn image_has_a_sysv_hash_table_and_no_gnu_hash_table(image: &Image) {
    let img = (image.load)();
    let dyns = dynamic(&img);
    assert!(
        image::dynamic_value(&dyns, DT_HASH).is_some(),
        "no DT_HASH: musl and parse_vdso.c need it"
    );
    assert!(
        image::dynamic_value(&dyns, DT_GNU_HASH).is_none(),
        "DT_GNU_HASH present: Go 1.19 would miss its clock_gettime"
    );
    for s in image::sections(&img).unwrap() {
        assert_ne!(
            s.kind,
            oelf::SHT_GNU_HASH.0,
            "section {} is a GNU hash table",
            s.name
        );
    }
}

pub fn sysv_hash_table_reaches_every_dynamic_symbol_from_its_bucket(image: &Image) {
    let img = (image.load)();
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

pub fn go_1_19_hash_bucket_reaches_the_clock_gettime_it_looks_up(image: &Image) {
    // Go 1.19's key for its clock_gettime carries 0xd35ec75, the ELF hash of
    // `__vdso_clock_gettime`, whatever name it looks up (on arm64 `__kernel_clock_gettime`).
    // Go walks bucket `0xd35ec75 % nbucket` and compares names, so the fast clock works only
    // if that name is on that chain. Linux's own arm64 image gets this by luck; these images
    // must by design (image rule 4, ARCHITECTURE.md).
    let (key, name) = image.go_key;
    assert_eq!(key.name, name);
    assert_eq!(key.sym_hash, elf_hash(b"__vdso_clock_gettime"));
    let img = (image.load)();
    let index = symbol(&symbols(&img), key.name).index as u32;
    let (nbucket, ..) = sysv_table(&img);
    let chain = chain_of(&img, key.sym_hash);
    assert!(
        chain.contains(&index),
        "bucket {} (0xd35ec75 % {nbucket}) holds symbols {chain:?}, not {name} (index \
         {index}): Go 1.19 would use the system call",
        key.sym_hash % nbucket
    );
}

pub fn section_headers_describe_the_tables_the_dynamic_segment_points_at(image: &Image) {
    // The reference reading (object, through section headers) must see the same tables as the
    // clients (through PT_DYNAMIC), or the other tests prove nothing.
    let img = (image.load)();
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
        (DT_HASH, oelf::SHT_HASH.0),
        (DT_SYMTAB, oelf::SHT_DYNSYM.0),
        (DT_VERSYM, oelf::SHT_GNU_VERSYM.0),
        (DT_VERDEF, oelf::SHT_GNU_VERDEF.0),
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
        Some(image.sym_size),
        "DT_SYMENT must be sizeof(Elf_Sym) (rustix rejects anything else)"
    );
}

// Image rule 5: soname and version nodes -----------------------------------------------------

pub fn soname_is_linux_vdso_so_1(image: &Image) {
    let img = (image.load)();
    let soname = image::dynamic_value(&dynamic(&img), DT_SONAME).expect("no DT_SONAME");
    assert_eq!(dynstr(&img, soname), SONAME);
}

/// Every version definition, with its name, in `DT_VERDEF`'s order.
fn version_definitions(img: &[u8]) -> Vec<(Verdef, String)> {
    let verdef = image::dynamic_value(&dynamic(img), DT_VERDEF).expect("no DT_VERDEF");
    let m = Mapping::new(img, 0);
    let mut at = image::file_offset(img, verdef).expect("DT_VERDEF inside the PT_LOAD");
    let mut defs = Vec::new();
    loop {
        let d = Verdef::read(&m, at).expect("a Verdef");
        let aux = Verdaux::read(&m, at + u64::from(d.vd_aux)).expect("a Verdaux");
        defs.push((d, dynstr(img, u64::from(aux.vda_name))));
        if d.vd_next == 0 {
            return defs;
        }
        at += u64::from(d.vd_next);
    }
}

pub fn version_definitions_are_the_images_nodes_with_their_elf_hashes(image: &Image) {
    let img = (image.load)();
    let dyns = dynamic(&img);
    let count = image::dynamic_value(&dyns, DT_VERDEFNUM).expect("no DT_VERDEFNUM");
    assert!(
        image::dynamic_value(&dyns, DT_VERSYM).is_some(),
        "no DT_VERSYM"
    );
    let defs = version_definitions(&img);
    assert_eq!(defs.len() as u64, count, "DT_VERDEFNUM");
    assert_eq!(
        defs.iter().map(|d| d.1.as_str()).collect::<BTreeSet<_>>(),
        image.versions.iter().copied().collect::<BTreeSet<_>>(),
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
    let (version, hash, client) = image.client_version_hash;
    let d = defs
        .iter()
        .find(|d| d.1 == version)
        .expect("the client's version");
    assert_eq!(
        d.0.vd_hash, hash,
        "{version}'s vd_hash must be {hash:#x}, the value {client} compares"
    );
}

// Image rule 6: the exports ------------------------------------------------------------------

pub fn exports_are_exactly_the_images_versioned_functions(image: &Image) {
    let img = (image.load)();
    let syms = symbols(&img);
    let exported: BTreeMap<&str, &Symbol> = syms
        .iter()
        .filter(|s| s.is_exported())
        .map(|s| (s.name.as_str(), s))
        .collect();
    let expected: BTreeSet<&str> = image.exports.iter().map(|e| e.name).collect();
    assert_eq!(
        exported.keys().copied().collect::<BTreeSet<_>>(),
        expected,
        "exported symbols"
    );
    for e in image.exports {
        let s = exported[e.name];
        assert_eq!(s.kind, STT_FUNC, "{}: type", e.name);
        assert_eq!(s.bind, STB_GLOBAL, "{}: binding", e.name);
        assert_eq!(s.visibility, 0, "{}: visibility", e.name);
        assert_eq!(s.version.as_deref(), Some(e.version), "{}: version", e.name);
        assert!(!s.hidden, "{}: hidden version", e.name);
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

pub fn every_export_has_a_nonzero_size(image: &Image) {
    for s in symbols(&(image.load)()).iter().filter(|s| s.is_exported()) {
        assert_ne!(s.size, 0, "{} has st_size 0", s.name);
    }
}

pub fn aliases_have_the_address_and_size_of_their_targets(image: &Image) {
    let syms = symbols(&(image.load)());
    for e in image.exports {
        if let Some(target) = e.alias_of {
            let (a, t) = (symbol(&syms, e.name), symbol(&syms, target));
            assert_eq!(a.value, t.value, "{} address vs {target}", e.name);
            assert_eq!(a.size, t.size, "{} size vs {target}", e.name);
        }
    }
}

// Image rule 8: its pages --------------------------------------------------------------------

pub fn image_fits_in_its_pages(image: &Image) {
    let img = (image.load)();
    let room = image.pages * PAGE_SIZE;
    assert!(
        img.len() as u64 <= room,
        "the file is {} bytes, more than {} pages",
        img.len(),
        image.pages
    );
    let load = the_load(&img);
    assert!(load.p_filesz <= load.p_memsz, "p_filesz > p_memsz");
    assert!(
        load.p_vaddr.is_multiple_of(PAGE_SIZE) && load.p_memsz <= room,
        "the loaded segment {:#x}+{:#x} does not fit {} pages",
        load.p_vaddr,
        load.p_memsz,
        image.pages
    );
}

// PT_NOTE ------------------------------------------------------------------------------------

pub fn note_segment_holds_the_gnu_build_id(image: &Image) {
    let notes = image::notes(&(image.load)()).expect("object reads the notes");
    let id = notes
        .iter()
        .find(|n| n.name == b"GNU" && n.kind == oelf::NT_GNU_BUILD_ID.0)
        .unwrap_or_else(|| panic!("no NT_GNU_BUILD_ID note among {notes:?}"));
    assert_eq!(id.desc.len(), 20, "--build-id=sha1 gives 20 bytes");
    assert!(id.desc.iter().any(|&b| b != 0), "the build id is all zero");
}
