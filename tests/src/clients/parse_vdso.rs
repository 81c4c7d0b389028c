//! Linux's reference vDSO parser, `tools/testing/selftests/vDSO/parse_vdso.c`.
//!
//! Provenance: transliterated from `tools/testing/selftests/vDSO/parse_vdso.c` in
//! torvalds/linux (the copy at commit 032e871686483ec1bac27ce73e7094692fc76268, which has the
//! `DT_GNU_HASH` support added by kselftest commit 01587d80b04f; Linux 6.12's copy has only the
//! `DT_HASH` path, which is the same code). Functions: `elf_hash`, `gnu_hash`,
//! `vdso_init_from_sysinfo_ehdr`, `vdso_match_version`, `check_sym`, `vdso_sym`.
//!
//! This file is also the stand-in for glibc's and Go's ancestry: Go's runtime says its parser
//! was based on it, rustix transliterated it, and glibc's `dl_vdso_vsym` has the same
//! semantics (SysV bucket/chain walk, version checked by `vd_hash` *and* name; see
//! [`super::glibc`] for glibc's own code).
//!
//! What it checks: `EI_CLASS` is `ELFCLASS64`; the first `PT_LOAD` gives the load offset; it
//! needs `DT_STRTAB`, `DT_SYMTAB` and `DT_HASH` or `DT_GNU_HASH`; a symbol must be `STT_FUNC`
//! with global or weak binding; its version definition must match by `vd_hash` and name. (The
//! copy read here accepts only `STT_FUNC`; the later Linux commit 0161bd38c243, which rustix
//! cites, also accepts `STT_NOTYPE` for ppc64. This image's exports are `STT_FUNC`.)
//!
//! Changes: reads go through [`Mapping`] (whole structures at a time); C's pointer and
//! `Elf64_Word` arithmetic wraps as it does in C; `x % 0`, undefined behaviour in C, is
//! [`Error::Crash`]; the SysV chain walk gets a bound. `elf_hash`/`gnu_hash` are the ones in
//! [`crate::hash`].

use crate::elf::*;
use crate::hash::{elf_hash, gnu_hash};
use crate::mapping::{chain_fuel, Error, Mapping, Result};

/// `struct vdso_info` after a successful `vdso_init_from_sysinfo_ehdr` (`valid == true`).
#[derive(Debug, Clone)]
pub struct VdsoInfo {
    load_offset: u64,
    symtab: u64,
    symstrings: u64,
    gnu_hash: u64,
    bucket: u64,
    chain: u64,
    nbucket: u32,
    versym: u64,
    verdef: u64,
}

/// `vdso_init_from_sysinfo_ehdr(base)`; `Err(Rejected)` where C leaves `valid` false.
pub fn init_from_sysinfo_ehdr(m: &Mapping<'_>) -> Result<VdsoInfo> {
    let base = m.base();
    let hdr = Ehdr::read(m, base)?;
    if hdr.e_ident[EI_CLASS] != ELFCLASS64 {
        return Err(Error::Rejected("wrong ELF class"));
    }
    let pt = base.wrapping_add(hdr.e_phoff);
    let mut load_offset = None;
    let mut dyn_: u64 = 0;
    for i in 0..u64::from(hdr.e_phnum) {
        let p = Phdr::read(m, pt.wrapping_add(i * Phdr::SIZE))?;
        if p.p_type == PT_LOAD && load_offset.is_none() {
            load_offset = Some(base.wrapping_add(p.p_offset).wrapping_sub(p.p_vaddr));
        } else if p.p_type == PT_DYNAMIC {
            dyn_ = base.wrapping_add(p.p_offset);
        }
    }
    let (Some(load_offset), true) = (load_offset, dyn_ != 0) else {
        return Err(Error::Rejected("no PT_LOAD or no PT_DYNAMIC"));
    };

    let mut hash: u64 = 0;
    let mut info = VdsoInfo {
        load_offset,
        symtab: 0,
        symstrings: 0,
        gnu_hash: 0,
        bucket: 0,
        chain: 0,
        nbucket: 0,
        versym: 0,
        verdef: 0,
    };
    let mut i: u64 = 0;
    loop {
        let d = Dyn::read(m, dyn_.wrapping_add(i.wrapping_mul(Dyn::SIZE)))?;
        if d.d_tag == DT_NULL {
            break;
        }
        let p = d.d_val.wrapping_add(load_offset);
        match d.d_tag {
            DT_STRTAB => info.symstrings = p,
            DT_SYMTAB => info.symtab = p,
            DT_HASH => hash = p,
            DT_GNU_HASH => info.gnu_hash = p,
            DT_VERSYM => info.versym = p,
            DT_VERDEF => info.verdef = p,
            _ => {}
        }
        i += 1;
    }
    if info.symstrings == 0 || info.symtab == 0 || (hash == 0 && info.gnu_hash == 0) {
        return Err(Error::Rejected("no DT_STRTAB, DT_SYMTAB or hash table"));
    }
    if info.verdef == 0 {
        info.versym = 0;
    }

    const HDR: &str = "the hash table header";
    if info.gnu_hash != 0 {
        info.nbucket = m.u32(info.gnu_hash, HDR)?;
        // The buckets follow the 4-word header and the Bloom filter (`gnu_hash[2]` words of
        // `size_t`, that is 2 * gnu_hash[2] `Elf64_Word`s).
        let bloom = m.u32(info.gnu_hash.wrapping_add(8), HDR)?;
        info.bucket = info
            .gnu_hash
            .wrapping_add(16)
            .wrapping_add(8 * u64::from(bloom));
    } else {
        info.nbucket = m.u32(hash, HDR)?;
        info.bucket = hash.wrapping_add(8);
        // `&hash[vdso_info.nbucket + 2]`: the sum is an `Elf64_Word` and wraps.
        info.chain = hash.wrapping_add(4 * u64::from(info.nbucket.wrapping_add(2)));
    }
    Ok(info)
}

impl VdsoInfo {
    /// `vdso_match_version(ver, name, hash)`.
    fn match_version(&self, m: &Mapping<'_>, ver: u16, name: &str, hash: u32) -> Result<bool> {
        let ver = ver & 0x7fff;
        let mut def = self.verdef;
        let d = loop {
            let d = Verdef::read(m, def)?;
            if d.vd_flags & VER_FLG_BASE == 0 && d.vd_ndx & 0x7fff == ver {
                break d;
            }
            if d.vd_next == 0 {
                return Ok(false);
            }
            def = def.wrapping_add(u64::from(d.vd_next));
        };
        let aux = Verdaux::read(m, def.wrapping_add(u64::from(d.vd_aux)))?;
        Ok(d.vd_hash == hash
            && m.strcmp_eq(
                self.symstrings.wrapping_add(u64::from(aux.vda_name)),
                name,
                "a version name",
            )?)
    }

    /// `check_sym(sym, i, name, version, ver_hash)`.
    fn check_sym(
        &self,
        m: &Mapping<'_>,
        sym: &Sym,
        i: u32,
        name: &str,
        version: &str,
        ver_hash: u32,
    ) -> Result<bool> {
        if st_type(sym.st_info) != STT_FUNC {
            return Ok(false);
        }
        if st_bind(sym.st_info) != STB_GLOBAL && st_bind(sym.st_info) != STB_WEAK {
            return Ok(false);
        }
        let sym_name = self.symstrings.wrapping_add(u64::from(sym.st_name));
        if !m.strcmp_eq(sym_name, name, "a symbol name")? {
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

    /// `vdso_sym(version, name)`.
    pub fn sym(&self, m: &Mapping<'_>, version: &str, name: &str) -> Result<u64> {
        let ver_hash = elf_hash(version.as_bytes());
        if self.nbucket == 0 {
            return Err(Error::Crash("division by zero: nbucket is 0"));
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
                let h2 = m.u32(hashval, "a GNU hash chain")?;
                hashval = hashval.wrapping_add(4);
                if h1 == h2 | 1 {
                    // C takes `&symtab[i]` first but reads it only here.
                    let sym = Sym::read_index(m, self.symtab, u64::from(i))?;
                    if self.check_sym(m, &sym, i, name, version, ver_hash)? {
                        return Ok(self.load_offset.wrapping_add(sym.st_value));
                    }
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
                    return Ok(self.load_offset.wrapping_add(sym.st_value));
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

/// `vdso_init_from_sysinfo_ehdr(m.base())` then `vdso_sym(version, name)`.
pub fn lookup(m: &Mapping<'_>, version: &str, name: &str) -> Result<u64> {
    init_from_sysinfo_ehdr(m)?.sym(m, version, name)
}
