//! The committed image: what it must export, a reference reading of it with `object`, and a
//! file-offset layout used to break it on purpose.
//!
//! The image is read from disk at test time ([`load`]) because `cargo xtask build-vdso`
//! regenerates it; nothing here hard-codes an offset or an address of the current image.
//!
//! The readers serve both images: the aarch64 one (ELF64, [`load`]) and the 32-bit compat one
//! (ELF32, [`load_compat`]); each reads the class from `e_ident[EI_CLASS]` and parses with the
//! matching `object` types.

use object::read::elf::{
    Dyn as _, ElfFile, ElfFile64, FileHeader, ProgramHeader, SectionHeader, Sym as _,
};
use object::{elf as oelf, LittleEndian};

use crate::elf::*;

/// Where the committed image lives.
pub const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../loader/vdso.so");

/// The page size the image must fit in.
pub const PAGE_SIZE: u64 = 4096;

/// `DT_SONAME`, and the name of the base version definition.
pub const SONAME: &str = "linux-vdso.so.1";

/// The arm64 version node: musl, glibc and Go look up `__kernel_*` here.
pub const LINUX_2_6_39: &str = "LINUX_2.6.39";

/// The version node of the `__vdso_*` aliases.
pub const LINUX_2_6: &str = "LINUX_2.6";

/// The `__kernel_rt_sigreturn` trampoline: `mov x8, #139` (`__NR_rt_sigreturn`), `svc #0`.
pub const SIGRETURN_WORDS: [u32; 2] = [0xd280_1168, 0xd400_0001];

/// The A64 `nop`, which must sit just before the trampoline, outside the symbol.
pub const NOP: u32 = 0xd503_201f;

/// One symbol the image must export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Export {
    /// Symbol name.
    pub name: &'static str,
    /// Version node it is defined in.
    pub version: &'static str,
    /// For an alias, the `__kernel_*` symbol it must equal (address and size).
    pub alias_of: Option<&'static str>,
}

/// Size in bytes of Linux 6.12's own arm64 vDSO (Debian's `linux-image-6.12.118+deb12-arm64`,
/// the first Linux with `__kernel_getrandom`): ours must be smaller (image rule 8).
/// `linux612.rs` carves that image out of the kernel and checks this number.
pub const LINUX_6_12_IMAGE_SIZE: usize = 4696;

/// Exactly the symbols the image exports (image rule 6, ARCHITECTURE.md).
pub const EXPORTS: [Export; 9] = [
    Export {
        name: "__kernel_clock_gettime",
        version: LINUX_2_6_39,
        alias_of: None,
    },
    Export {
        name: "__kernel_gettimeofday",
        version: LINUX_2_6_39,
        alias_of: None,
    },
    Export {
        name: "__kernel_clock_getres",
        version: LINUX_2_6_39,
        alias_of: None,
    },
    Export {
        name: "__kernel_getrandom",
        version: LINUX_2_6_39,
        alias_of: None,
    },
    Export {
        name: "__kernel_rt_sigreturn",
        version: LINUX_2_6_39,
        alias_of: None,
    },
    Export {
        name: "__vdso_clock_gettime64",
        version: LINUX_2_6,
        alias_of: Some("__kernel_clock_gettime"),
    },
    Export {
        name: "__vdso_clock_gettime",
        version: LINUX_2_6,
        alias_of: Some("__kernel_clock_gettime"),
    },
    Export {
        name: "__vdso_gettimeofday",
        version: LINUX_2_6,
        alias_of: Some("__kernel_gettimeofday"),
    },
    Export {
        name: "__vdso_clock_getres",
        version: LINUX_2_6,
        alias_of: Some("__kernel_clock_getres"),
    },
];

/// The image the tests read: [`PATH`], or the file named by `VDSO_TESTS_IMAGE` (to run the
/// same tests on another image, such as a candidate build or Linux's own vDSO).
pub fn path() -> String {
    std::env::var("VDSO_TESTS_IMAGE").unwrap_or_else(|_| PATH.to_string())
}

/// Reads the image (see [`path`]).
///
/// # Panics
///
/// If the file cannot be read: every test needs it, and the message says where it looked.
pub fn load() -> Vec<u8> {
    let path = path();
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read the vDSO image {path}: {e}"))
}

/// Where the committed 32-bit compat image lives.
pub const COMPAT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../loader/vdso32.so");

/// Exactly the symbols the compat image exports: Linux arm64's `vdso32` set, all
/// `@LINUX_2.6`, none an alias of another export.
pub const COMPAT_EXPORTS: [Export; 4] = [
    Export {
        name: "__vdso_clock_gettime",
        version: LINUX_2_6,
        alias_of: None,
    },
    Export {
        name: "__vdso_clock_gettime64",
        version: LINUX_2_6,
        alias_of: None,
    },
    Export {
        name: "__vdso_gettimeofday",
        version: LINUX_2_6,
        alias_of: None,
    },
    Export {
        name: "__vdso_clock_getres",
        version: LINUX_2_6,
        alias_of: None,
    },
];

/// The compat image the tests read: [`COMPAT_PATH`], or the file named by
/// `VDSO_TESTS_COMPAT_IMAGE`.
pub fn compat_path() -> String {
    std::env::var("VDSO_TESTS_COMPAT_IMAGE").unwrap_or_else(|_| COMPAT_PATH.to_string())
}

/// Reads the compat image (see [`compat_path`]).
///
/// # Panics
///
/// If the file cannot be read.
pub fn load_compat() -> Vec<u8> {
    let path = compat_path();
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read the compat vDSO image {path}: {e}"))
}

/// Page-aligned bases to map a 32-bit image at: a typical compat vDSO address, a low one, and
/// the last page below 4 GiB (where every 32-bit pointer sum is one carry from wrapping).
pub const BASES32: [u64; 3] = [0xffff_0000 - 0x10_0000, 0x0001_0000, 0xffff_f000];

/// Page-aligned bases to map the image at: a typical arm64 vDSO address, a low one, and one
/// near the top of a 48-bit address space.
pub const BASES: [u64; 3] = [0x0000_ffff_b7ff_e000, 0x0001_0000, 0x0000_ffff_ffff_0000];

// ---------------------------------------------------------------------------------------------
// Reference reading with `object`.
// ---------------------------------------------------------------------------------------------

/// A `.dynsym` entry as `object` reads it, with its version from `.gnu.version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Index in the dynamic symbol table.
    pub index: usize,
    /// Name.
    pub name: String,
    /// `st_value`.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// `ELF64_ST_TYPE(st_info)`.
    pub kind: u8,
    /// `ELF64_ST_BIND(st_info)`.
    pub bind: u8,
    /// `ELF64_ST_VISIBILITY(st_other)`.
    pub visibility: u8,
    /// `st_shndx`.
    pub shndx: u16,
    /// The name of the version definition its `.gnu.version` entry points at.
    pub version: Option<String>,
    /// Whether the `.gnu.version` entry has the hidden bit.
    pub hidden: bool,
}

impl Symbol {
    /// Whether this is one of the `ABS OBJECT` zero-size symbols that binutils emits for each
    /// version definition (Linux's own vDSO has them too): `name` equals its own version.
    pub fn is_version_definition_symbol(&self) -> bool {
        self.shndx == SHN_ABS
            && self.kind == STT_OBJECT
            && self.value == 0
            && self.size == 0
            && self.version.as_deref() == Some(self.name.as_str())
    }

    /// Whether another object could bind to it: defined, global, weak or unique, not hidden.
    pub fn is_exported(&self) -> bool {
        self.index != 0
            && self.shndx != SHN_UNDEF
            && matches!(self.bind, STB_GLOBAL | STB_WEAK | STB_GNU_UNIQUE)
            && !matches!(self.visibility, STV_HIDDEN | STV_INTERNAL)
            && !self.is_version_definition_symbol()
    }
}

/// The parsed file, for tests that want `object` directly.
pub type File<'a> = ElfFile64<'a, LittleEndian>;

/// The parsed 32-bit file.
pub type File32<'a> = object::read::elf::ElfFile32<'a, LittleEndian>;

/// Parses the (64-bit) image with `object`.
pub fn parse(image: &[u8]) -> object::Result<File<'_>> {
    File::parse(image)
}

/// Parses a 32-bit image with `object`.
pub fn parse32(image: &[u8]) -> object::Result<File32<'_>> {
    File32::parse(image)
}

/// `object`'s header type for each class, little-endian.
type H32 = oelf::FileHeader32<LittleEndian>;
type H64 = oelf::FileHeader64<LittleEndian>;

/// Whether the image says it is ELF32 (`e_ident[EI_CLASS] == ELFCLASS32`); anything else is
/// read as ELF64, and `object` rejects what is neither.
fn is_elf32(image: &[u8]) -> bool {
    image.get(EI_CLASS) == Some(&ELFCLASS32)
}

/// Parses `$image` with `object`'s types for its class and calls the generic `$f` on the file.
macro_rules! by_class {
    ($f:ident($image:expr)) => {
        if is_elf32($image) {
            $f(&ElfFile::<H32>::parse($image)?)
        } else {
            $f(&ElfFile::<H64>::parse($image)?)
        }
    };
}

/// A file of either class as `object` parses it, little-endian.
type Parsed<'a, Elf> = ElfFile<'a, Elf, &'a [u8]>;

/// `object`'s little-endian header type of either class.
trait Header: FileHeader<Endian = LittleEndian> {}
impl<H: FileHeader<Endian = LittleEndian>> Header for H {}

/// The dynamic symbols, read through the section headers (`.dynsym`, `.dynstr`,
/// `.gnu.version`, `.gnu.version_d`).
pub fn dynamic_symbols(image: &[u8]) -> object::Result<Vec<Symbol>> {
    by_class!(dynamic_symbols_of(image))
}

fn dynamic_symbols_of<Elf: Header>(file: &Parsed<'_, Elf>) -> object::Result<Vec<Symbol>> {
    let (endian, image) = (file.endian(), file.data());
    let sections = file.elf_section_table();
    let symbols = sections.symbols(endian, image, oelf::SHT_DYNSYM)?;
    let versions = sections.versions(endian, image)?;
    let mut out = Vec::new();
    for (index, sym) in symbols.enumerate() {
        let name = String::from_utf8_lossy(symbols.symbol_name(endian, sym)?).into_owned();
        let (version, hidden) = match &versions {
            Some(v) => {
                let versym = v.version_index(endian, index);
                let version = v
                    .version(versym.index())?
                    .map(|ver| String::from_utf8_lossy(ver.name()).into_owned());
                (version, versym.is_hidden())
            }
            None => (None, false),
        };
        out.push(Symbol {
            index: index.0,
            name,
            value: sym.st_value(endian).into(),
            size: sym.st_size(endian).into(),
            kind: sym.st_type().0,
            bind: sym.st_bind().0,
            visibility: sym.st_visibility().0,
            shndx: sym.st_shndx(endian).0,
            version,
            hidden,
        });
    }
    Ok(out)
}

/// The entries of the `PT_DYNAMIC` segment, up to and including the first `DT_NULL`.
pub fn dynamic_entries(image: &[u8]) -> object::Result<Vec<(i64, u64)>> {
    by_class!(dynamic_entries_of(image))
}

fn dynamic_entries_of<Elf: Header>(file: &Parsed<'_, Elf>) -> object::Result<Vec<(i64, u64)>> {
    let (endian, image) = (file.endian(), file.data());
    let mut out = Vec::new();
    for ph in file.elf_program_headers() {
        if let Some(dyns) = ph.dynamic(endian, image)? {
            for d in dyns {
                // `Elf32_Dyn`'s tag is an `Elf32_Sword`: `object` sign-extends it.
                let tag = d.d_tag(endian).0;
                out.push((tag, d.d_val(endian).into()));
                if tag == DT_NULL {
                    break;
                }
            }
            return Ok(out);
        }
    }
    Ok(out)
}

/// The value of the first dynamic entry with `tag`.
pub fn dynamic_value(entries: &[(i64, u64)], tag: i64) -> Option<u64> {
    entries.iter().find(|e| e.0 == tag).map(|e| e.1)
}

/// A section header as `object` reads it, with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Name from `.shstrtab`.
    pub name: String,
    /// `sh_type`.
    pub kind: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_addr`.
    pub addr: u64,
    /// `sh_offset`.
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
}

/// The section headers.
pub fn sections(image: &[u8]) -> object::Result<Vec<Section>> {
    by_class!(sections_of(image))
}

fn sections_of<Elf: Header>(file: &Parsed<'_, Elf>) -> object::Result<Vec<Section>> {
    let endian = file.endian();
    let table = file.elf_section_table();
    table
        .iter()
        .map(|s| {
            Ok(Section {
                name: String::from_utf8_lossy(table.section_name(endian, s)?).into_owned(),
                kind: s.sh_type(endian).0,
                flags: s.sh_flags(endian).0,
                addr: s.sh_addr(endian).into(),
                offset: s.sh_offset(endian).into(),
                size: s.sh_size(endian).into(),
            })
        })
        .collect()
}

/// The program headers.
pub fn segments(image: &[u8]) -> object::Result<Vec<Phdr>> {
    by_class!(segments_of(image))
}

fn segments_of<Elf: Header>(file: &Parsed<'_, Elf>) -> object::Result<Vec<Phdr>> {
    let endian = file.endian();
    Ok(file
        .elf_program_headers()
        .iter()
        .map(|p| Phdr {
            p_type: p.p_type(endian).0,
            p_flags: p.p_flags(endian).0,
            p_offset: p.p_offset(endian).into(),
            p_vaddr: p.p_vaddr(endian).into(),
            p_paddr: p.p_paddr(endian).into(),
            p_filesz: p.p_filesz(endian).into(),
            p_memsz: p.p_memsz(endian).into(),
            p_align: p.p_align(endian).into(),
        })
        .collect())
}

/// The `e_machine`, `e_type` and `e_ident` of the header, as `object` reads them.
pub fn header(image: &[u8]) -> object::Result<(u16, u16, [u8; 16])> {
    by_class!(header_of(image))
}

fn header_of<Elf: Header>(file: &Parsed<'_, Elf>) -> object::Result<(u16, u16, [u8; 16])> {
    let endian = file.endian();
    let h = file.elf_header();
    let ident = h.e_ident();
    let mut raw = [0u8; 16];
    raw[..4].copy_from_slice(&ident.magic);
    raw[4] = ident.class.0;
    raw[5] = ident.data.0;
    raw[6] = ident.version.0;
    raw[7] = ident.os_abi.0;
    raw[8] = ident.abi_version;
    Ok((h.e_machine(endian).0, h.e_type(endian).0, raw))
}

/// One ELF note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// `n_name`, without its NUL.
    pub name: Vec<u8>,
    /// `n_type`.
    pub kind: u32,
    /// The descriptor.
    pub desc: Vec<u8>,
}

/// The notes in every `PT_NOTE` segment.
pub fn notes(image: &[u8]) -> object::Result<Vec<Note>> {
    by_class!(notes_of(image))
}

fn notes_of<Elf: Header>(file: &Parsed<'_, Elf>) -> object::Result<Vec<Note>> {
    let (endian, image) = (file.endian(), file.data());
    let mut out = Vec::new();
    for ph in file.elf_program_headers() {
        if let Some(mut it) = ph.notes(endian, image)? {
            while let Some(note) = it.next()? {
                out.push(Note {
                    name: note.name().to_vec(),
                    kind: note.n_type(endian).0,
                    desc: note.desc().to_vec(),
                });
            }
        }
    }
    Ok(out)
}

/// For each `.symtab` entry, whether it is undefined (none if the image has no `.symtab`, as
/// a stripped image has not).
pub fn symtab_undefined(image: &[u8]) -> object::Result<Vec<bool>> {
    by_class!(symtab_undefined_of(image))
}

fn symtab_undefined_of<Elf: Header>(file: &Parsed<'_, Elf>) -> object::Result<Vec<bool>> {
    let (endian, image) = (file.endian(), file.data());
    let symtab = file
        .elf_section_table()
        .symbols(endian, image, oelf::SHT_SYMTAB)?;
    Ok(symtab.iter().map(|sym| sym.is_undefined(endian)).collect())
}

/// The 32-bit little-endian word at file offset `offset`.
pub fn word_at(image: &[u8], offset: u64) -> Option<u32> {
    let start = usize::try_from(offset).ok()?;
    let bytes = image.get(start..start.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// The file offset of the virtual address `vaddr`, through the `PT_LOAD` that maps it.
pub fn file_offset(image: &[u8], vaddr: u64) -> Option<u64> {
    segments(image).ok()?.iter().find_map(|p| {
        let inside = p.p_type == PT_LOAD
            && vaddr >= p.p_vaddr
            && vaddr < p.p_vaddr.checked_add(p.p_filesz)?;
        inside.then(|| vaddr - p.p_vaddr + p.p_offset)
    })
}

pub mod broken;
