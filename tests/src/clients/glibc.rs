//! glibc's vDSO lookup: `setup_vdso`, then `dl_vdso_vsym` through `_dl_lookup_symbol_x`.
//!
//! Provenance: transliterated from glibc 2.36 (Debian 12's `libc6`), pieced together from
//! - `elf/setup-vdso.h` `setup_vdso` (as in glibc 2.35+, which records `l_ld_readonly` from
//!   `PT_DYNAMIC`'s `PF_W` and asserts there is no `PT_TLS`),
//! - `elf/get-dynamic-info.h` `elf_get_dynamic_info` (2.35+: relocates `.dynamic` in place
//!   only when `dl_relocate_ld`, i.e. when `PT_DYNAMIC` is writable; asserts `DT_PLTREL` and
//!   `DT_RELAENT` when `DT_RELA` is present),
//! - `elf/dl-lookup.c` `_dl_setup_hash`, `do_lookup_x`, `check_match`, `dl_new_hash`,
//! - `elf/dl-version.c` `_dl_check_map_versions` (builds `l_versions[]` from `DT_VERDEF`),
//! - `sysdeps/unix/sysv/linux/dl-vdso.h` `dl_vdso_vsym` and
//!   `sysdeps/unix/sysv/linux/aarch64/sysdep.h` (`VDSO_NAME "LINUX_2.6.39"`,
//!   `VDSO_HASH 123718537`, `HAVE_CLOCK_GETTIME64_VSYSCALL "__kernel_clock_gettime"`,
//!   `HAVE_GETTIMEOFDAY_VSYSCALL "__kernel_gettimeofday"`,
//!   `HAVE_CLOCK_GETRES64_VSYSCALL "__kernel_clock_getres"`),
//!
//! read from stored copies: `bminor/glibc` (dl-lookup.c, dl-version.c, the 2.29 setup-vdso.h),
//! `amwtke/glibc2.35` (setup-vdso.h with `l_ld_readonly`) and `kraj/glibc` at 319756f2c27e
//! (get-dynamic-info.h with `dl_relocate_ld`, 2.35 development); the aarch64 constants from
//! sysdep.h. Debian's arm64 glibc is 2.36, which has all of these. glibc never relocates the vDSO (`l_relocated = 1`),
//! prefers `DT_GNU_HASH` over `DT_HASH`, and `check_match` rejects symbols whose `st_value` is 0,
//! types other than NOTYPE/OBJECT/FUNC/COMMON/TLS/IFUNC, hidden or internal visibility and
//! local binding; the requested version must equal `l_versions[versym & 0x7fff]` by hash *and*
//! name (`dl_vdso_vsym` asks with `hidden = 1`, so no fallback to an unversioned match).
//!
//! Changes: reads go through [`Mapping`] (whole structures at a time); `assert` failures and
//! NULL dereferences are [`Error::Crash`]; so is the in-place store into `.dynamic` that glibc
//! makes when `PT_DYNAMIC` carries `PF_W` (the kernel maps the vDSO read-only, so that store
//! faults). Reading `l_versions[]` past its end is [`Error::Crash`]. `l_gnu_shift` is used
//! modulo 64, as AArch64's `lsr` does. The SysV chain walk gets a bound.

use std::collections::HashMap;

use crate::elf::*;
use crate::hash::{elf_hash, gnu_hash};
use crate::mapping::{chain_fuel, Error, Mapping, Result};

/// glibc's aarch64 `VDSO_NAME`.
pub const VDSO_NAME: &str = "LINUX_2.6.39";
/// glibc's aarch64 `VDSO_HASH`.
pub const VDSO_HASH: u32 = 123_718_537;

/// `sizeof (ElfW(Rela))`.
const RELA_SIZE: u64 = 24;

#[derive(Debug, Clone, Copy)]
enum HashTable {
    /// `l_nbuckets == 0`: no table, every lookup misses.
    None,
    Sysv {
        nbuckets: u32,
        buckets: u64,
        chain: u64,
    },
    Gnu {
        nbuckets: u32,
        bitmask: u64,
        bitmask_idxbits: u32,
        shift: u32,
        buckets: u64,
        chain_zero: u64,
    },
}

/// One `l_versions[]` entry: a zeroed entry (index 0, the base version, gaps) is `None`.
#[derive(Debug, Clone, Copy)]
struct Version {
    hash: u32,
    name: u64,
}

/// The parts of `struct link_map` the vDSO lookup uses.
#[derive(Debug, Clone)]
pub struct LinkMap {
    l_addr: u64,
    symtab: u64,
    strtab: u64,
    versyms: u64,
    versions: Vec<Option<Version>>,
    hash: HashTable,
}

/// `setup_vdso` with `GLRO(dl_sysinfo_dso)` = `m.base()`, followed by the version setup of
/// `_dl_check_map_versions`.
pub fn setup_vdso(m: &Mapping<'_>) -> Result<LinkMap> {
    let (l_addr, l_ld, l_ld_readonly) = map_program_headers(m)?;
    let info = elf_get_dynamic_info(m, l_addr, l_ld, l_ld_readonly)?;
    // D_PTR: the dynamic section is read-only, so every pointer gets l_addr added on use.
    let d_ptr = |tag: i64| info.get(&tag).map(|&v| v.wrapping_add(l_addr));
    let hash = dl_setup_hash(m, d_ptr(DT_GNU_HASH), d_ptr(DT_HASH))?;
    let strtab = d_ptr(DT_STRTAB).unwrap_or(0);
    let symtab = d_ptr(DT_SYMTAB).unwrap_or(0);
    let (versyms, versions) = dl_check_map_versions(m, d_ptr(DT_VERDEF), d_ptr(DT_VERSYM), strtab)?;
    Ok(LinkMap {
        l_addr,
        symtab,
        strtab,
        versyms,
        versions,
        hash,
    })
}

/// `setup_vdso`'s walk of the program headers: `(l_addr, l_ld, l_ld_readonly)`, with
/// `l_addr` the load bias (the mapping's base less the first `PT_LOAD`'s `p_vaddr`) and
/// `l_ld` the address of the dynamic section.
fn map_program_headers(m: &Mapping<'_>) -> Result<(u64, u64, bool)> {
    let ehdr = Ehdr::read(m, m.base())?;
    let phdr = m.base().wrapping_add(ehdr.e_phoff);
    let mut l_addr: u64 = 0;
    let mut l_ld: u64 = 0;
    let mut l_ld_readonly = false;
    for i in 0..u64::from(ehdr.e_phnum) {
        let ph = Phdr::read(m, phdr.wrapping_add(i * Phdr::SIZE))?;
        if ph.p_type == PT_DYNAMIC {
            l_ld = ph.p_vaddr;
            l_ld_readonly = ph.p_flags & PF_W == 0;
        } else if ph.p_type == PT_LOAD {
            if l_addr == 0 {
                l_addr = ph.p_vaddr;
            }
        } else if ph.p_type == PT_TLS {
            return Err(Error::Crash("assert (ph->p_type != PT_TLS) in setup_vdso"));
        }
    }
    let l_map_start = m.base();
    let l_addr = l_map_start.wrapping_sub(l_addr);
    Ok((l_addr, l_ld.wrapping_add(l_addr), l_ld_readonly))
}

/// `elf_get_dynamic_info`: every dynamic entry by tag (the last entry of each tag wins), and
/// its assertions on the relocation entries.
fn elf_get_dynamic_info(
    m: &Mapping<'_>,
    l_addr: u64,
    l_ld: u64,
    l_ld_readonly: bool,
) -> Result<HashMap<i64, u64>> {
    let mut info: HashMap<i64, u64> = HashMap::new();
    let mut dyn_ = l_ld;
    loop {
        let d = Dyn::read(m, dyn_)?;
        if d.d_tag == DT_NULL {
            break;
        }
        info.insert(d.d_tag, d.d_val);
        dyn_ = dyn_.wrapping_add(Dyn::SIZE);
    }
    if l_addr != 0 && !l_ld_readonly {
        return Err(Error::Crash(
            "PT_DYNAMIC has PF_W, so glibc adds l_addr to .dynamic in place, and the \
             read-only vDSO page faults",
        ));
    }
    if let Some(&pltrel) = info.get(&DT_PLTREL) {
        // AArch64 has ELF_MACHINE_NO_REL.
        if pltrel != DT_RELA as u64 {
            return Err(Error::Crash(
                "assert (info[DT_PLTREL]->d_un.d_val == DT_RELA)",
            ));
        }
    }
    if info.contains_key(&DT_RELA) {
        match info.get(&DT_RELAENT) {
            None => return Err(Error::Crash("DT_RELA without DT_RELAENT: NULL dereference")),
            Some(&RELA_SIZE) => {}
            Some(_) => {
                return Err(Error::Crash(
                    "assert (info[DT_RELAENT]->d_un.d_val == sizeof (ElfW(Rela)))",
                ))
            }
        }
    }
    Ok(info)
}

/// `_dl_setup_hash`, given `D_PTR` of `DT_GNU_HASH` and of `DT_HASH`: the GNU table wins.
fn dl_setup_hash(m: &Mapping<'_>, gnu: Option<u64>, sysv: Option<u64>) -> Result<HashTable> {
    const HDR: &str = "the hash table header";
    if let Some(h) = gnu {
        let nbuckets = m.u32(h, HDR)?;
        let symbias = m.u32(h.wrapping_add(4), HDR)?;
        let bitmask_nwords = m.u32(h.wrapping_add(8), HDR)?;
        if bitmask_nwords & bitmask_nwords.wrapping_sub(1) != 0 {
            return Err(Error::Crash(
                "assert ((bitmask_nwords & (bitmask_nwords - 1)) == 0)",
            ));
        }
        let shift = m.u32(h.wrapping_add(12), HDR)?;
        let bitmask = h.wrapping_add(16);
        let buckets = bitmask.wrapping_add(8 * u64::from(bitmask_nwords));
        let chain_zero = buckets
            .wrapping_add(4 * u64::from(nbuckets))
            .wrapping_sub(4 * u64::from(symbias));
        Ok(if nbuckets == 0 {
            HashTable::None
        } else {
            HashTable::Gnu {
                nbuckets,
                bitmask,
                bitmask_idxbits: bitmask_nwords.wrapping_sub(1),
                shift,
                buckets,
                chain_zero,
            }
        })
    } else if let Some(h) = sysv {
        let nbuckets = m.u32(h, HDR)?;
        let buckets = h.wrapping_add(8);
        let chain = buckets.wrapping_add(4 * u64::from(nbuckets));
        Ok(if nbuckets == 0 {
            HashTable::None
        } else {
            HashTable::Sysv {
                nbuckets,
                buckets,
                chain,
            }
        })
    } else {
        Ok(HashTable::None)
    }
}

/// `_dl_check_map_versions`, for a map that defines versions (`D_PTR` of `DT_VERDEF`) and
/// needs none: `(versyms, l_versions)`, each version's hash and name (in `strtab`) at its
/// index.
fn dl_check_map_versions(
    m: &Mapping<'_>,
    verdef: Option<u64>,
    versym: Option<u64>,
    strtab: u64,
) -> Result<(u64, Vec<Option<Version>>)> {
    let Some(def) = verdef else {
        return Ok((0, Vec::new()));
    };
    let mut ndx_high: u16 = 0;
    let mut ent = def;
    loop {
        let d = Verdef::read(m, ent)?;
        ndx_high = ndx_high.max(d.vd_ndx & 0x7fff);
        if d.vd_next == 0 {
            break;
        }
        ent = ent.wrapping_add(u64::from(d.vd_next));
    }
    if ndx_high == 0 {
        return Ok((0, Vec::new()));
    }
    let mut versions = vec![None; usize::from(ndx_high) + 1];
    let versyms = versym.ok_or(Error::Crash(
        "DT_VERDEF without DT_VERSYM: D_PTR dereferences NULL",
    ))?;
    let mut ent = def;
    loop {
        let d = Verdef::read(m, ent)?;
        let aux = Verdaux::read(m, ent.wrapping_add(u64::from(d.vd_aux)))?;
        // The name of the base version is not available for matching. The index is at most
        // `ndx_high`, so the slot always exists.
        let slot = versions.get_mut(usize::from(d.vd_ndx & 0x7fff));
        if let (0, Some(slot)) = (d.vd_flags & VER_FLG_BASE, slot) {
            *slot = Some(Version {
                hash: d.vd_hash,
                name: strtab.wrapping_add(u64::from(aux.vda_name)),
            });
        }
        if d.vd_next == 0 {
            break;
        }
        ent = ent.wrapping_add(u64::from(d.vd_next));
    }
    Ok((versyms, versions))
}

/// What `check_match` decides about one symbol.
enum Match {
    No,
    Yes(Sym),
}

impl LinkMap {
    /// `check_match` for a versioned lookup with `type_class == 0` and `version->hidden == 1`.
    fn check_match(
        &self,
        m: &Mapping<'_>,
        name: &str,
        version: &str,
        ver_hash: u32,
        symidx: u32,
    ) -> Result<Match> {
        let sym = Sym::read_index(m, self.symtab, u64::from(symidx))?;
        let stt = st_type(sym.st_info);
        if sym.st_value == 0 && sym.st_shndx != SHN_ABS && stt != STT_TLS {
            return Ok(Match::No);
        }
        const ALLOWED_STT: u32 = 1 << STT_NOTYPE
            | 1 << STT_OBJECT
            | 1 << STT_FUNC
            | 1 << STT_COMMON
            | 1 << STT_TLS
            | 1 << STT_GNU_IFUNC;
        if (1u32 << stt) & ALLOWED_STT == 0 {
            return Ok(Match::No);
        }
        let sym_name = self.strtab.wrapping_add(u64::from(sym.st_name));
        if !m.strcmp_eq(sym_name, name, "a symbol name")? {
            return Ok(Match::No);
        }
        if self.versyms != 0 {
            let v = m.u16(
                self.versyms.wrapping_add(2 * u64::from(symidx)),
                "the version symbol table",
            )?;
            let ndx = usize::from(v & 0x7fff);
            let entry = self
                .versions
                .get(ndx)
                .ok_or(Error::Crash("versym index past the end of l_versions"))?;
            let matches = match entry {
                None => false,
                Some(e) => e.hash == ver_hash && m.strcmp_eq(e.name, version, "a version name")?,
            };
            // `version->hidden` is 1 for dl_vdso_vsym, so a mismatch always rejects.
            if !matches {
                return Ok(Match::No);
            }
        }
        Ok(Match::Yes(sym))
    }

    /// `_dl_lookup_symbol_x (name, map, &ref, map->l_local_scope, &rfv, 0, 0, NULL)` where
    /// `rfv = { version, ver_hash, 1, NULL }`: the symbol's address, or `NotFound`.
    pub fn lookup_symbol(
        &self,
        m: &Mapping<'_>,
        name: &str,
        version: &str,
        ver_hash: u32,
    ) -> Result<u64> {
        let new_hash = gnu_hash(name.as_bytes());
        let found = match self.hash {
            HashTable::None => None,
            HashTable::Gnu {
                nbuckets,
                bitmask,
                bitmask_idxbits,
                shift,
                buckets,
                chain_zero,
            } => {
                // __ELF_NATIVE_CLASS is 64: the Bloom filter words are 64-bit.
                let h = u64::from(new_hash);
                let word_index = (h / 64) & u64::from(bitmask_idxbits);
                let word = m.u64(bitmask.wrapping_add(8 * word_index), "the Bloom filter")?;
                let hashbit1 = h & 63;
                let hashbit2 = (h >> (shift % 64)) & 63;
                let mut found = None;
                if (word >> hashbit1) & (word >> hashbit2) & 1 != 0 {
                    let b = u64::from(new_hash % nbuckets);
                    let bucket = m.u32(buckets.wrapping_add(4 * b), "a GNU hash bucket")?;
                    if bucket != 0 {
                        let mut symidx = bucket;
                        loop {
                            let hasharr = chain_zero.wrapping_add(4 * u64::from(symidx));
                            let hv = m.u32(hasharr, "a GNU hash chain")?;
                            if (hv ^ new_hash) >> 1 == 0 {
                                if let Match::Yes(sym) =
                                    self.check_match(m, name, version, ver_hash, symidx)?
                                {
                                    found = Some(sym);
                                    break;
                                }
                            }
                            if hv & 1 != 0 {
                                break;
                            }
                            symidx = symidx.wrapping_add(1);
                        }
                    }
                }
                found
            }
            HashTable::Sysv {
                nbuckets,
                buckets,
                chain,
            } => {
                let old_hash = elf_hash(name.as_bytes());
                let b = u64::from(old_hash % nbuckets);
                let mut symidx = m.u32(buckets.wrapping_add(4 * b), "a hash bucket")?;
                let mut fuel = chain_fuel(m);
                let mut found = None;
                while symidx != 0 {
                    if let Match::Yes(sym) = self.check_match(m, name, version, ver_hash, symidx)? {
                        found = Some(sym);
                        break;
                    }
                    symidx = m.u32(chain.wrapping_add(4 * u64::from(symidx)), "a hash chain")?;
                    fuel = fuel
                        .checked_sub(1)
                        .ok_or(Error::Endless("the hash chain loops"))?;
                }
                found
            }
        };
        let sym = found.ok_or(Error::NotFound)?;
        // found_it: hidden and internal symbols are local; local binding is ignored.
        let vis = sym.st_other & 3;
        if vis == STV_HIDDEN || vis == STV_INTERNAL {
            return Err(Error::NotFound);
        }
        match st_bind(sym.st_info) {
            STB_GLOBAL | STB_WEAK | STB_GNU_UNIQUE => {}
            _ => return Err(Error::NotFound),
        }
        // DL_SYMBOL_ADDRESS: absolute symbols are not biased.
        if sym.st_shndx == SHN_ABS {
            Ok(sym.st_value)
        } else {
            Ok(self.l_addr.wrapping_add(sym.st_value))
        }
    }
}

/// `dl_vdso_vsym (name)` on aarch64: `name` at `LINUX_2.6.39` with glibc's hard-coded hash.
pub fn dl_vdso_vsym(m: &Mapping<'_>, name: &str) -> Result<u64> {
    setup_vdso(m)?.lookup_symbol(m, name, VDSO_NAME, VDSO_HASH)
}

/// glibc's lookup of `name` at `version` (the version's hash computed as glibc computes
/// `VDSO_HASH`, with `_dl_elf_hash`).
pub fn lookup(m: &Mapping<'_>, version: &str, name: &str) -> Result<u64> {
    setup_vdso(m)?.lookup_symbol(m, name, version, elf_hash(version.as_bytes()))
}
