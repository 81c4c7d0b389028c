//! ELF structures as a client reads them out of memory, with the `elf.h` constants the
//! clients use.
//!
//! The layouts are the gABI ones of either class ([`Class`]): `Elf64_Ehdr`, `Elf64_Phdr`,
//! `Elf64_Dyn`, `Elf64_Sym` (the `read` functions, for the aarch64 image) or their `Elf32_*`
//! counterparts (the `read_as` functions with [`Class::Elf32`], for the compat image), and
//! `Elf{32,64}_Verdef`/`Verdaux`, which are the same in both classes. Each is read field by
//! field in little-endian through a [`Mapping`], so a structure that runs off the end of the
//! image is a [`crate::Error::Fault`] and never a panic; the structures hold every field
//! widened to 64 bits. Constants are plain integers with the `elf.h` names because the client
//! code compares them with raw fields exactly as the C and Go code does.

use crate::mapping::{Mapping, Result};

/// `e_ident[EI_CLASS]`.
pub const EI_CLASS: usize = 4;
/// `e_ident[EI_DATA]`.
pub const EI_DATA: usize = 5;
/// `e_ident[EI_VERSION]`.
pub const EI_VERSION: usize = 6;
/// `e_ident[EI_OSABI]`.
pub const EI_OSABI: usize = 7;
/// `e_ident[EI_ABIVERSION]`.
pub const EI_ABIVERSION: usize = 8;
/// 32-bit objects.
pub const ELFCLASS32: u8 = 1;
/// 64-bit objects.
pub const ELFCLASS64: u8 = 2;
/// Two's complement, little-endian.
pub const ELFDATA2LSB: u8 = 1;
/// Current ELF version.
pub const EV_CURRENT: u8 = 1;
/// UNIX System V ABI.
pub const ELFOSABI_SYSV: u8 = 0;
/// Linux (GNU) ABI.
pub const ELFOSABI_LINUX: u8 = 3;
/// Shared object file.
pub const ET_DYN: u16 = 3;
/// ARM AArch64.
pub const EM_AARCH64: u16 = 183;
/// 32-bit Arm (AArch32).
pub const EM_ARM: u16 = 40;
/// `e_phnum` escape value for more than 0xfffe segments.
pub const PN_XNUM: u16 = 0xffff;

/// Program header types.
pub const PT_NULL: u32 = 0;
/// Loadable segment.
pub const PT_LOAD: u32 = 1;
/// Dynamic linking information.
pub const PT_DYNAMIC: u32 = 2;
/// Program interpreter.
pub const PT_INTERP: u32 = 3;
/// Auxiliary information.
pub const PT_NOTE: u32 = 4;
/// Thread-local storage.
pub const PT_TLS: u32 = 7;
/// GCC `.eh_frame_hdr`.
pub const PT_GNU_EH_FRAME: u32 = 0x6474_e550;
/// Stack executability.
pub const PT_GNU_STACK: u32 = 0x6474_e551;
/// Read-only after relocation.
pub const PT_GNU_RELRO: u32 = 0x6474_e552;
/// `.note.gnu.property`.
pub const PT_GNU_PROPERTY: u32 = 0x6474_e553;
/// Segment is executable.
pub const PF_X: u32 = 1;
/// Segment is writable.
pub const PF_W: u32 = 2;
/// Segment is readable.
pub const PF_R: u32 = 4;

/// Dynamic tags.
pub const DT_NULL: i64 = 0;
/// Name of a needed library.
pub const DT_NEEDED: i64 = 1;
/// Size of the PLT relocations.
pub const DT_PLTRELSZ: i64 = 2;
/// SysV symbol hash table.
pub const DT_HASH: i64 = 4;
/// String table.
pub const DT_STRTAB: i64 = 5;
/// Symbol table.
pub const DT_SYMTAB: i64 = 6;
/// `Rela` relocations.
pub const DT_RELA: i64 = 7;
/// Size of the `Rela` relocations.
pub const DT_RELASZ: i64 = 8;
/// Size of one `Rela` entry.
pub const DT_RELAENT: i64 = 9;
/// Size of the string table.
pub const DT_STRSZ: i64 = 10;
/// Size of one symbol table entry.
pub const DT_SYMENT: i64 = 11;
/// Shared object name.
pub const DT_SONAME: i64 = 14;
/// Symbolic binding.
pub const DT_SYMBOLIC: i64 = 16;
/// `Rel` relocations.
pub const DT_REL: i64 = 17;
/// Size of the `Rel` relocations.
pub const DT_RELSZ: i64 = 18;
/// Size of one `Rel` entry.
pub const DT_RELENT: i64 = 19;
/// Type of the PLT relocations.
pub const DT_PLTREL: i64 = 20;
/// Relocations may write to text.
pub const DT_TEXTREL: i64 = 22;
/// PLT relocations.
pub const DT_JMPREL: i64 = 23;
/// Flags.
pub const DT_FLAGS: i64 = 30;
/// Size of the `Relr` relocations.
pub const DT_RELRSZ: i64 = 35;
/// `Relr` relocations.
pub const DT_RELR: i64 = 36;
/// Size of one `Relr` entry.
pub const DT_RELRENT: i64 = 37;
/// GNU-style symbol hash table.
pub const DT_GNU_HASH: i64 = 0x6fff_fef5;
/// Symbol version table.
pub const DT_VERSYM: i64 = 0x6fff_fff0;
/// Count of `Rela` relocations.
pub const DT_RELACOUNT: i64 = 0x6fff_fff9;
/// Count of `Rel` relocations.
pub const DT_RELCOUNT: i64 = 0x6fff_fffa;
/// More flags.
pub const DT_FLAGS_1: i64 = 0x6fff_fffb;
/// Version definitions.
pub const DT_VERDEF: i64 = 0x6fff_fffc;
/// Number of version definitions.
pub const DT_VERDEFNUM: i64 = 0x6fff_fffd;
/// Version needs.
pub const DT_VERNEED: i64 = 0x6fff_fffe;

/// Undefined section index.
pub const SHN_UNDEF: u16 = 0;
/// Absolute symbol.
pub const SHN_ABS: u16 = 0xfff1;
/// Symbol type is not specified.
pub const STT_NOTYPE: u8 = 0;
/// Data object.
pub const STT_OBJECT: u8 = 1;
/// Code object.
pub const STT_FUNC: u8 = 2;
/// Common data object.
pub const STT_COMMON: u8 = 5;
/// Thread-local data object.
pub const STT_TLS: u8 = 6;
/// Indirect function.
pub const STT_GNU_IFUNC: u8 = 10;
/// Local symbol.
pub const STB_LOCAL: u8 = 0;
/// Global symbol.
pub const STB_GLOBAL: u8 = 1;
/// Weak symbol.
pub const STB_WEAK: u8 = 2;
/// Unique symbol.
pub const STB_GNU_UNIQUE: u8 = 10;
/// Internal visibility.
pub const STV_INTERNAL: u8 = 1;
/// Hidden visibility.
pub const STV_HIDDEN: u8 = 2;
/// Version definition of the file itself.
pub const VER_FLG_BASE: u16 = 1;
/// Current version of the `Verdef` structure.
pub const VER_DEF_CURRENT: u16 = 1;

/// `ELF64_ST_BIND`.
pub fn st_bind(info: u8) -> u8 {
    info >> 4
}

/// `ELF64_ST_TYPE`.
pub fn st_type(info: u8) -> u8 {
    info & 0xf
}

/// The ELF class a structure is read as, and the width of the client's pointers.
///
/// A client built for a 32-bit target (musl arm, Go linux/arm) reads `Elf32_*` structures and
/// does its pointer arithmetic in 32 bits, wrapping at 2^32; [`Class::wrap`] models that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `ELFCLASS32`, 32-bit pointers (`size_t`, `uintptr` are `u32`).
    Elf32,
    /// `ELFCLASS64`, 64-bit pointers.
    Elf64,
}

impl Class {
    /// The class named by `e_ident[EI_CLASS]`.
    pub fn from_ident(class: u8) -> Option<Class> {
        match class {
            ELFCLASS32 => Some(Class::Elf32),
            ELFCLASS64 => Some(Class::Elf64),
            _ => None,
        }
    }

    /// `e_ident[EI_CLASS]`.
    pub fn ident(self) -> u8 {
        match self {
            Class::Elf32 => ELFCLASS32,
            Class::Elf64 => ELFCLASS64,
        }
    }

    /// `sizeof(size_t)` (and of an address-sized ELF field) in bytes.
    pub fn word_size(self) -> u64 {
        match self {
            Class::Elf32 => 4,
            Class::Elf64 => 8,
        }
    }

    /// `addr` as a pointer of this width: truncated to 32 bits for [`Class::Elf32`].
    pub fn wrap(self, addr: u64) -> u64 {
        match self {
            Class::Elf32 => addr & 0xffff_ffff,
            Class::Elf64 => addr,
        }
    }

    /// The address-sized little-endian word (`size_t`, `Elf_Addr`, `Elf_Off`) at `addr`,
    /// zero-extended.
    pub fn word(self, m: &Mapping<'_>, addr: u64, what: &'static str) -> Result<u64> {
        match self {
            Class::Elf32 => Ok(u64::from(m.u32(addr, what)?)),
            Class::Elf64 => m.u64(addr, what),
        }
    }
}

/// `Elf64_Ehdr` (or `Elf32_Ehdr`, widened).
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub struct Ehdr {
    pub e_ident: [u8; 16],
    pub e_type: u16,
    pub e_machine: u16,
    pub e_version: u32,
    pub e_entry: u64,
    pub e_phoff: u64,
    pub e_shoff: u64,
    pub e_flags: u32,
    pub e_ehsize: u16,
    pub e_phentsize: u16,
    pub e_phnum: u16,
    pub e_shentsize: u16,
    pub e_shnum: u16,
    pub e_shstrndx: u16,
}

impl Ehdr {
    /// `sizeof(Elf64_Ehdr)`.
    pub const SIZE: u64 = 64;

    /// `sizeof(Elf{32,64}_Ehdr)`.
    pub fn size(class: Class) -> u64 {
        match class {
            Class::Elf32 => 52,
            Class::Elf64 => Self::SIZE,
        }
    }

    /// Reads the `Elf64_Ehdr` at `addr`.
    pub fn read(m: &Mapping<'_>, addr: u64) -> Result<Self> {
        Self::read_as(m, addr, Class::Elf64)
    }

    /// Reads the header of `class` at `addr`.
    pub fn read_as(m: &Mapping<'_>, addr: u64, class: Class) -> Result<Self> {
        const W: &str = "the ELF header";
        let at = |off: u64| addr.wrapping_add(off);
        if class == Class::Elf32 {
            return Ok(Ehdr {
                e_ident: m.read(addr, W)?,
                e_type: m.u16(at(16), W)?,
                e_machine: m.u16(at(18), W)?,
                e_version: m.u32(at(20), W)?,
                e_entry: u64::from(m.u32(at(24), W)?),
                e_phoff: u64::from(m.u32(at(28), W)?),
                e_shoff: u64::from(m.u32(at(32), W)?),
                e_flags: m.u32(at(36), W)?,
                e_ehsize: m.u16(at(40), W)?,
                e_phentsize: m.u16(at(42), W)?,
                e_phnum: m.u16(at(44), W)?,
                e_shentsize: m.u16(at(46), W)?,
                e_shnum: m.u16(at(48), W)?,
                e_shstrndx: m.u16(at(50), W)?,
            });
        }
        Ok(Ehdr {
            e_ident: m.read(addr, W)?,
            e_type: m.u16(at(16), W)?,
            e_machine: m.u16(at(18), W)?,
            e_version: m.u32(at(20), W)?,
            e_entry: m.u64(at(24), W)?,
            e_phoff: m.u64(at(32), W)?,
            e_shoff: m.u64(at(40), W)?,
            e_flags: m.u32(at(48), W)?,
            e_ehsize: m.u16(at(52), W)?,
            e_phentsize: m.u16(at(54), W)?,
            e_phnum: m.u16(at(56), W)?,
            e_shentsize: m.u16(at(58), W)?,
            e_shnum: m.u16(at(60), W)?,
            e_shstrndx: m.u16(at(62), W)?,
        })
    }
}

/// `Elf64_Phdr` (or `Elf32_Phdr`, widened).
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub struct Phdr {
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_paddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
    pub p_align: u64,
}

impl Phdr {
    /// `sizeof(Elf64_Phdr)`.
    pub const SIZE: u64 = 56;

    /// `sizeof(Elf{32,64}_Phdr)`.
    pub fn size(class: Class) -> u64 {
        match class {
            Class::Elf32 => 32,
            Class::Elf64 => Self::SIZE,
        }
    }

    /// Reads the `Elf64_Phdr` at `addr`.
    pub fn read(m: &Mapping<'_>, addr: u64) -> Result<Self> {
        Self::read_as(m, addr, Class::Elf64)
    }

    /// Reads the program header of `class` at `addr`. `Elf32_Phdr` has `p_flags` after
    /// `p_memsz`, not after `p_type`.
    pub fn read_as(m: &Mapping<'_>, addr: u64, class: Class) -> Result<Self> {
        const W: &str = "a program header";
        let at = |off: u64| addr.wrapping_add(off);
        if class == Class::Elf32 {
            let w = |off: u64| m.u32(at(off), W).map(u64::from);
            return Ok(Phdr {
                p_type: m.u32(addr, W)?,
                p_offset: w(4)?,
                p_vaddr: w(8)?,
                p_paddr: w(12)?,
                p_filesz: w(16)?,
                p_memsz: w(20)?,
                p_flags: m.u32(at(24), W)?,
                p_align: w(28)?,
            });
        }
        Ok(Phdr {
            p_type: m.u32(addr, W)?,
            p_flags: m.u32(at(4), W)?,
            p_offset: m.u64(at(8), W)?,
            p_vaddr: m.u64(at(16), W)?,
            p_paddr: m.u64(at(24), W)?,
            p_filesz: m.u64(at(32), W)?,
            p_memsz: m.u64(at(40), W)?,
            p_align: m.u64(at(48), W)?,
        })
    }
}

/// `Elf64_Dyn` (or `Elf32_Dyn`, with `d_tag` sign-extended from its `Elf32_Sword`).
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub struct Dyn {
    pub d_tag: i64,
    pub d_val: u64,
}

impl Dyn {
    /// `sizeof(Elf64_Dyn)`.
    pub const SIZE: u64 = 16;

    /// `sizeof(Elf{32,64}_Dyn)`.
    pub fn size(class: Class) -> u64 {
        match class {
            Class::Elf32 => 8,
            Class::Elf64 => Self::SIZE,
        }
    }

    /// Reads the `Elf64_Dyn` at `addr`.
    pub fn read(m: &Mapping<'_>, addr: u64) -> Result<Self> {
        Self::read_as(m, addr, Class::Elf64)
    }

    /// Reads the dynamic entry of `class` at `addr`.
    pub fn read_as(m: &Mapping<'_>, addr: u64, class: Class) -> Result<Self> {
        const W: &str = "a dynamic entry";
        if class == Class::Elf32 {
            return Ok(Dyn {
                d_tag: i64::from(m.u32(addr, W)? as i32),
                d_val: u64::from(m.u32(addr.wrapping_add(4), W)?),
            });
        }
        Ok(Dyn {
            d_tag: m.i64(addr, W)?,
            d_val: m.u64(addr.wrapping_add(8), W)?,
        })
    }
}

/// `Elf64_Sym` (or `Elf32_Sym`, widened).
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub struct Sym {
    pub st_name: u32,
    pub st_info: u8,
    pub st_other: u8,
    pub st_shndx: u16,
    pub st_value: u64,
    pub st_size: u64,
}

impl Sym {
    /// `sizeof(Elf64_Sym)`.
    pub const SIZE: u64 = 24;

    /// `sizeof(Elf{32,64}_Sym)`.
    pub fn size(class: Class) -> u64 {
        match class {
            Class::Elf32 => 16,
            Class::Elf64 => Self::SIZE,
        }
    }

    /// Reads the `Elf64_Sym` at `addr`.
    pub fn read(m: &Mapping<'_>, addr: u64) -> Result<Self> {
        Self::read_as(m, addr, Class::Elf64)
    }

    /// Reads the symbol of `class` at `addr`. `Elf32_Sym` has `st_value` and `st_size` before
    /// `st_info`.
    pub fn read_as(m: &Mapping<'_>, addr: u64, class: Class) -> Result<Self> {
        const W: &str = "a symbol table entry";
        let at = |off: u64| addr.wrapping_add(off);
        if class == Class::Elf32 {
            return Ok(Sym {
                st_name: m.u32(addr, W)?,
                st_value: u64::from(m.u32(at(4), W)?),
                st_size: u64::from(m.u32(at(8), W)?),
                st_info: m.u8(at(12), W)?,
                st_other: m.u8(at(13), W)?,
                st_shndx: m.u16(at(14), W)?,
            });
        }
        Ok(Sym {
            st_name: m.u32(addr, W)?,
            st_info: m.u8(at(4), W)?,
            st_other: m.u8(at(5), W)?,
            st_shndx: m.u16(at(6), W)?,
            st_value: m.u64(at(8), W)?,
            st_size: m.u64(at(16), W)?,
        })
    }

    /// Reads entry `index` of the symbol table at `table`, computing the address the way C
    /// indexes an array (`&symtab[index]`, wrapping).
    pub fn read_index(m: &Mapping<'_>, table: u64, index: u64) -> Result<Self> {
        Self::read_index_as(m, table, index, Class::Elf64)
    }

    /// Reads entry `index` of the `class` symbol table at `table`, the address computed in
    /// that class's pointer width (`&symtab[index]`, wrapping).
    pub fn read_index_as(m: &Mapping<'_>, table: u64, index: u64, class: Class) -> Result<Self> {
        let addr = table.wrapping_add(index.wrapping_mul(Self::size(class)));
        Self::read_as(m, class.wrap(addr), class)
    }
}

/// `Elf64_Verdef` (`Elf32_Verdef` has the same layout).
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub struct Verdef {
    pub vd_version: u16,
    pub vd_flags: u16,
    pub vd_ndx: u16,
    pub vd_cnt: u16,
    pub vd_hash: u32,
    pub vd_aux: u32,
    pub vd_next: u32,
}

impl Verdef {
    /// `sizeof(Elf64_Verdef)`.
    pub const SIZE: u64 = 20;

    /// Reads the version definition at `addr`.
    pub fn read(m: &Mapping<'_>, addr: u64) -> Result<Self> {
        const W: &str = "a version definition";
        let at = |off: u64| addr.wrapping_add(off);
        Ok(Verdef {
            vd_version: m.u16(addr, W)?,
            vd_flags: m.u16(at(2), W)?,
            vd_ndx: m.u16(at(4), W)?,
            vd_cnt: m.u16(at(6), W)?,
            vd_hash: m.u32(at(8), W)?,
            vd_aux: m.u32(at(12), W)?,
            vd_next: m.u32(at(16), W)?,
        })
    }
}

/// `Elf64_Verdaux` (`Elf32_Verdaux` has the same layout).
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub struct Verdaux {
    pub vda_name: u32,
    pub vda_next: u32,
}

impl Verdaux {
    /// Reads the auxiliary version entry at `addr`.
    pub fn read(m: &Mapping<'_>, addr: u64) -> Result<Self> {
        const W: &str = "a version definition's name entry";
        Ok(Verdaux {
            vda_name: m.u32(addr, W)?,
            vda_next: m.u32(addr.wrapping_add(4), W)?,
        })
    }
}
