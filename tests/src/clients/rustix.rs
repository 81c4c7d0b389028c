//! rustix's vDSO parser (`linux_raw` backend), with the checks rustix adds to Linux's.
//!
//! Provenance: transliterated from bytecodealliance/rustix
//! - `src/backend/linux_raw/vdso.rs` (commit 05e7835525d2061363387a1b6f6785d719149bb0):
//!   `elf_hash`, `gnu_hash`, `init_from_sysinfo_ehdr`, `Vdso::match_version`,
//!   `Vdso::check_sym`, `Vdso::sym`, `base_plus`, `addr_from_elf`; rustix's own note says it
//!   is transliterated from Linux 6.12's `parse_vdso.c` plus the `DT_GNU_HASH` patch;
//! - `src/backend/linux_raw/param/auxv.rs` `check_elf_base` (the header checks applied to
//!   `AT_SYSINFO_EHDR` before the parser ever runs);
//! - `src/utils.rs` `check_raw_pointer` (non-null, aligned, no wrap-around).
//!
//! rustix's checks beyond `parse_vdso.c`: the header must be ELF64 little-endian, `ET_DYN`,
//! `EM_AARCH64`, OS ABI SYSV or Linux, ABI version 0, `e_ehsize`/`e_phentsize` the native
//! sizes, `e_phoff` at least 64; the first `PT_LOAD` must be readable *and executable*
//! (`p_flags & (PF_R | PF_X) == PF_R | PF_X`, so a writable R+W+X load still passes); any
//! `PT_INTERP` or `PT_GNU_RELRO` rejects the image; `PT_DYNAMIC` must not start inside the ELF
//! header and its entries are bounded by `p_memsz`; `DT_SYMENT` must be 24; every pointer is
//! checked with `check_raw_pointer`; `vd_version` must be `VER_DEF_CURRENT`; `STT_NOTYPE` is
//! accepted besides `STT_FUNC`; and the address found must lie inside the `PT_LOAD`.
//!
//! Changes: reads go through [`Mapping`] (whole structures at a time). rustix's `unwrap` and
//! `assert!` on the found address, and `%` by a zero `nbucket`, are panics and come back as
//! [`Error::Crash`]. Unchecked `u32` arithmetic wraps (rustix's release profile). The SysV
//! chain walk gets a bound.

use crate::elf::*;
use crate::hash::{elf_hash, gnu_hash};
use crate::mapping::{chain_fuel, Error, Mapping, Result};

/// `check_raw_pointer::<T>` with `size_of::<T>()` and `align_of::<T>()`: `None` for null,
/// misaligned or wrapping pointers.
fn check_raw_pointer(addr: u64, size: u64, align: u64) -> Option<u64> {
    if addr.checked_add(size).is_none() || !addr.is_multiple_of(align) || addr == 0 {
        return None;
    }
    Some(addr)
}

/// `check_elf_base(base)` for an aarch64 build of rustix.
fn check_elf_base(m: &Mapping<'_>) -> Result<Ehdr> {
    let base = check_raw_pointer(m.base(), Ehdr::SIZE, 8)
        .ok_or(Error::Rejected("AT_SYSINFO_EHDR is null or misaligned"))?;
    let hdr = Ehdr::read(m, base)?;
    let reject = Err;
    if hdr.e_ident[..4] != *b"\x7fELF" {
        return reject(Error::Rejected("wrong ELF magic"));
    }
    if !matches!(hdr.e_ident[EI_OSABI], ELFOSABI_SYSV | ELFOSABI_LINUX) {
        return reject(Error::Rejected("unrecognized ELF OS ABI"));
    }
    if hdr.e_ident[EI_ABIVERSION] != 0 {
        return reject(Error::Rejected("unrecognized ELF ABI version"));
    }
    if hdr.e_type != ET_DYN {
        return reject(Error::Rejected("wrong ELF type"));
    }
    if hdr.e_ident[EI_VERSION] != EV_CURRENT
        || u64::from(hdr.e_ehsize) != Ehdr::SIZE
        || u64::from(hdr.e_phentsize) != Phdr::SIZE
    {
        return reject(Error::Rejected("extended or unusual ELF header"));
    }
    if hdr.e_phnum == PN_XNUM {
        return reject(Error::Rejected("too many segments"));
    }
    if hdr.e_phoff < Ehdr::SIZE {
        return reject(Error::Rejected("e_phoff inside the ELF header"));
    }
    if hdr.e_ident[EI_CLASS] != ELFCLASS64 {
        return reject(Error::Rejected("wrong ELF class"));
    }
    if hdr.e_ident[EI_DATA] != ELFDATA2LSB {
        return reject(Error::Rejected("wrong ELF data encoding"));
    }
    if hdr.e_machine != EM_AARCH64 {
        return reject(Error::Rejected("wrong machine type"));
    }
    Ok(hdr)
}

/// `struct Vdso`. The hash-table pointers and `nbucket` are set once parsing succeeds.
#[derive(Debug, Clone)]
pub struct Vdso {
    load_addr: u64,
    load_end: u64,
    pv_offset: u64,
    symtab: u64,
    symstrings: u64,
    gnu_hash: u64,
    bucket: u64,
    chain: u64,
    nbucket: u32,
    versym: u64,
    verdef: u64,
}

impl Vdso {
    /// `base_plus(offset)`: `load_addr + offset`, `None` on overflow.
    fn base_plus(&self, offset: u64) -> Option<u64> {
        self.load_addr.checked_add(offset)
    }

    /// `addr_from_elf(elf_addr)`.
    fn addr_from_elf(&self, elf_addr: u64) -> Option<u64> {
        self.base_plus(elf_addr.wrapping_add(self.pv_offset))
    }

    /// `Vdso::new()`: `check_elf_base` and `init_from_sysinfo_ehdr`.
    pub fn new(m: &Mapping<'_>) -> Result<Self> {
        const BAD: Error = Error::Rejected("a pointer overflows, is null or is misaligned");
        let hdr = check_elf_base(m)?;
        let mut vdso = Vdso {
            load_addr: m.base(),
            load_end: m.base(),
            pv_offset: 0,
            symtab: 0,
            symstrings: 0,
            gnu_hash: 0,
            bucket: 0,
            chain: 0,
            nbucket: 0,
            versym: 0,
            verdef: 0,
        };
        let pt = vdso.base_plus(hdr.e_phoff).ok_or(BAD)?;
        let pt = check_raw_pointer(pt, Phdr::SIZE, 8).ok_or(BAD)?;
        let mut dyn_: u64 = 0;
        let mut num_dyn: u64 = 0;
        let mut found_vaddr = false;
        for i in 0..u64::from(hdr.e_phnum) {
            let phdr = Phdr::read(m, pt.wrapping_add(i * Phdr::SIZE))?;
            if phdr.p_type == PT_LOAD && !found_vaddr {
                // The segment holds the symbol table and the code: it must be R and X.
                if phdr.p_flags & (PF_R | PF_X) != PF_R | PF_X {
                    return Err(Error::Rejected(
                        "the PT_LOAD segment is not readable and executable",
                    ));
                }
                found_vaddr = true;
                let end = phdr.p_offset.checked_add(phdr.p_memsz).ok_or(BAD)?;
                vdso.load_end = vdso.base_plus(end).ok_or(BAD)?;
                vdso.pv_offset = phdr.p_offset.wrapping_sub(phdr.p_vaddr);
            } else if phdr.p_type == PT_DYNAMIC {
                // A zero p_offset is more likely zeroed memory than a real dynamic table.
                if phdr.p_offset < Ehdr::SIZE {
                    return Err(Error::Rejected("PT_DYNAMIC starts inside the ELF header"));
                }
                let d = vdso.base_plus(phdr.p_offset).ok_or(BAD)?;
                dyn_ = check_raw_pointer(d, Dyn::SIZE, 8).ok_or(BAD)?;
                num_dyn = phdr.p_memsz / Dyn::SIZE;
            } else if phdr.p_type == PT_INTERP || phdr.p_type == PT_GNU_RELRO {
                // Probably a user ELF image rather than the kernel's vDSO.
                return Err(Error::Rejected("PT_INTERP or PT_GNU_RELRO present"));
            }
        }
        if !found_vaddr || dyn_ == 0 {
            return Err(Error::Rejected("no PT_LOAD or no PT_DYNAMIC"));
        }

        let mut hash: u64 = 0;
        let mut i: u64 = 0;
        loop {
            if i == num_dyn {
                return Err(Error::Rejected("no DT_NULL within PT_DYNAMIC's p_memsz"));
            }
            let d = Dyn::read(m, dyn_.wrapping_add(i * Dyn::SIZE))?;
            let ptr = |size: u64, align: u64| {
                vdso.addr_from_elf(d.d_val)
                    .and_then(|a| check_raw_pointer(a, size, align))
                    .ok_or(BAD)
            };
            match d.d_tag {
                DT_STRTAB => vdso.symstrings = ptr(1, 1)?,
                DT_SYMTAB => vdso.symtab = ptr(Sym::SIZE, 8)?,
                DT_HASH => hash = ptr(4, 4)?,
                DT_GNU_HASH => vdso.gnu_hash = ptr(4, 4)?,
                DT_VERSYM => vdso.versym = ptr(2, 2)?,
                DT_VERDEF => vdso.verdef = ptr(Verdef::SIZE, 4)?,
                DT_SYMENT if d.d_val != Sym::SIZE => {
                    return Err(Error::Rejected("DT_SYMENT is not sizeof(Elf_Sym)"));
                }
                DT_NULL => break,
                _ => {}
            }
            i = i.checked_add(1).ok_or(BAD)?;
        }
        if vdso.symstrings == 0 || vdso.symtab == 0 || (hash == 0 && vdso.gnu_hash == 0) {
            return Err(Error::Rejected("no DT_STRTAB, DT_SYMTAB or hash table"));
        }
        if vdso.verdef == 0 {
            vdso.versym = 0;
        }

        const HDR: &str = "the hash table header";
        if vdso.gnu_hash != 0 {
            vdso.nbucket = m.u32(vdso.gnu_hash, HDR)?;
            let bloom = m.u32(vdso.gnu_hash.wrapping_add(8), HDR)?;
            vdso.bucket = vdso
                .gnu_hash
                .wrapping_add(16)
                .wrapping_add(8 * u64::from(bloom));
        } else {
            vdso.nbucket = m.u32(hash, HDR)?;
            vdso.bucket = hash.wrapping_add(8);
            vdso.chain = hash.wrapping_add(4 * (u64::from(vdso.nbucket) + 2));
        }
        Ok(vdso)
    }

    /// `Vdso::match_version(ver, name, hash)`.
    fn match_version(&self, m: &Mapping<'_>, ver: u16, name: &str, hash: u32) -> Result<bool> {
        let ver = ver & 0x7fff;
        let mut def = self.verdef;
        let d = loop {
            let d = Verdef::read(m, def)?;
            if d.vd_version != VER_DEF_CURRENT {
                return Ok(false);
            }
            if d.vd_flags & VER_FLG_BASE == 0 && d.vd_ndx & 0x7fff == ver {
                break d;
            }
            if d.vd_next == 0 {
                return Ok(false);
            }
            def = def.wrapping_add(u64::from(d.vd_next));
        };
        let aux = Verdaux::read(m, def.wrapping_add(u64::from(d.vd_aux)))?;
        if d.vd_hash != hash {
            return Ok(false);
        }
        let s = self.symstrings.wrapping_add(u64::from(aux.vda_name));
        Ok(m.c_str(s, "a version name")? == name.as_bytes())
    }

    /// `Vdso::check_sym(sym, i, name, version, ver_hash)`.
    fn check_sym(
        &self,
        m: &Mapping<'_>,
        sym: &Sym,
        i: u32,
        name: &str,
        version: &str,
        ver_hash: u32,
    ) -> Result<bool> {
        let typ = st_type(sym.st_info);
        if typ != STT_FUNC && typ != STT_NOTYPE {
            return Ok(false);
        }
        let bind = st_bind(sym.st_info);
        if bind != STB_GLOBAL && bind != STB_WEAK {
            return Ok(false);
        }
        let s = self.symstrings.wrapping_add(u64::from(sym.st_name));
        if m.c_str(s, "a symbol name")? != name.as_bytes() {
            return Ok(false);
        }
        if self.versym != 0 {
            let v = m.u16(
                self.versym.wrapping_add(2 * u64::from(i)),
                "the version symbol table",
            )?;
            if !self.match_version(m, v, version, ver_hash)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The end of `Vdso::sym` for a symbol that matched: `addr_from_elf(..).unwrap()` and the
    /// `assert!` that the address lies within the load segment.
    fn found(&self, sym: &Sym) -> Result<u64> {
        let sum = self.addr_from_elf(sym.st_value).ok_or(Error::Crash(
            "rustix panics: addr_from_elf(st_value).unwrap()",
        ))?;
        if sum < self.load_addr || sum > self.load_end {
            return Err(Error::Crash(
                "rustix panics: assert that the symbol lies within the PT_LOAD",
            ));
        }
        Ok(sum)
    }

    /// `Vdso::sym(version, name)`.
    pub fn sym(&self, m: &Mapping<'_>, version: &str, name: &str) -> Result<u64> {
        let ver_hash = elf_hash(version.as_bytes());
        if self.nbucket == 0 {
            return Err(Error::Crash(
                "rustix panics: remainder with a divisor of zero (nbucket is 0)",
            ));
        }
        if self.gnu_hash != 0 {
            let mut h1 = gnu_hash(name.as_bytes());
            let b = u64::from(h1 % self.nbucket);
            let mut i = m.u32(self.bucket.wrapping_add(4 * b), "a GNU hash bucket")?;
            if i == 0 {
                return Err(Error::NotFound);
            }
            h1 |= 1;
            let symoffset = m.u32(self.gnu_hash.wrapping_add(4), "the hash table header")?;
            let mut hashval = self
                .bucket
                .wrapping_add(4 * u64::from(self.nbucket))
                .wrapping_add(4 * u64::from(i.wrapping_sub(symoffset)));
            loop {
                let sym = Sym::read_index(m, self.symtab, u64::from(i))?;
                let h2 = m.u32(hashval, "a GNU hash chain")?;
                hashval = hashval.wrapping_add(4);
                if h1 == h2 | 1 && self.check_sym(m, &sym, i, name, version, ver_hash)? {
                    return self.found(&sym);
                }
                if h2 & 1 != 0 {
                    break;
                }
                i = i.wrapping_add(1);
            }
        } else {
            let b = u64::from(elf_hash(name.as_bytes()) % self.nbucket);
            let mut i = m.u32(self.bucket.wrapping_add(4 * b), "a hash bucket")?;
            let mut fuel = chain_fuel(m);
            while i != 0 {
                let sym = Sym::read_index(m, self.symtab, u64::from(i))?;
                if sym.st_shndx != SHN_UNDEF
                    && self.check_sym(m, &sym, i, name, version, ver_hash)?
                {
                    return self.found(&sym);
                }
                i = m.u32(self.chain.wrapping_add(4 * u64::from(i)), "a hash chain")?;
                fuel = fuel
                    .checked_sub(1)
                    .ok_or(Error::Endless("the hash chain loops"))?;
            }
        }
        Err(Error::NotFound)
    }
}

/// `Vdso::new()` then `vdso.sym(version, name)`.
pub fn lookup(m: &Mapping<'_>, version: &str, name: &str) -> Result<u64> {
    Vdso::new(m)?.sym(m, version, name)
}
