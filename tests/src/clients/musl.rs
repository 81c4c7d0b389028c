//! musl's vDSO lookup, `__vdsosym`.
//!
//! Provenance: transliterated from musl `src/internal/vdso.c` (`checkver`, `__vdsosym`),
//! identical in musl 1.2.3 (Debian's `musl-dev:arm64`) and current master (checked against
//! <https://git.musl-libc.org/cgit/musl/tree/src/internal/vdso.c>, mirror `bminor/musl` commit
//! b418ea1b66d0). On aarch64 musl calls it once, as `__vdsosym("LINUX_2.6.39",
//! "__kernel_clock_gettime")` (`arch/aarch64/syscall_arch.h`: `VDSO_CGT_SYM`, `VDSO_CGT_VER`).
//!
//! What musl does, and does not, check:
//! - It takes the load bias from the *last* `PT_LOAD` (the loop overwrites `base`), steps
//!   through the program headers by `e_phentsize`, and checks no segment flags or types.
//! - It needs `DT_HASH`: it never walks the hash table, but uses its `nchain` word as the number
//!   of symbols and scans them linearly. Without `DT_HASH` musl gives up.
//! - It accepts `STT_NOTYPE`, `STT_OBJECT`, `STT_FUNC`, `STT_COMMON` and global, weak or unique
//!   binding, skipping only `SHN_UNDEF` symbols.
//! - `checkver` compares only the version *name*; `vd_hash` is never read.
//!
//! Changes: reads go through [`Mapping`]; pointer arithmetic wraps as it does in C; musl's
//! `base == (size_t)-1` sentinel is kept as is.

use crate::elf::*;
use crate::mapping::{Error, Mapping, Result};

/// `OK_TYPES`.
const OK_TYPES: u32 = 1 << STT_NOTYPE | 1 << STT_OBJECT | 1 << STT_FUNC | 1 << STT_COMMON;
/// `OK_BINDS`.
const OK_BINDS: u32 = 1 << STB_GLOBAL | 1 << STB_WEAK | 1 << STB_GNU_UNIQUE;

/// `__vdsosym(vername, name)` with `AT_SYSINFO_EHDR` = `m.base()`.
pub fn lookup(m: &Mapping<'_>, vername: &str, name: &str) -> Result<u64> {
    let eh = m.base();
    let ehdr = Ehdr::read(m, eh)?;
    let mut ph = eh.wrapping_add(ehdr.e_phoff);
    let mut dynv: u64 = 0;
    let mut base: u64 = u64::MAX;
    for _ in 0..ehdr.e_phnum {
        let p = Phdr::read(m, ph)?;
        if p.p_type == PT_LOAD {
            base = eh.wrapping_add(p.p_offset).wrapping_sub(p.p_vaddr);
        } else if p.p_type == PT_DYNAMIC {
            dynv = eh.wrapping_add(p.p_offset);
        }
        ph = ph.wrapping_add(u64::from(ehdr.e_phentsize));
    }
    if dynv == 0 || base == u64::MAX {
        return Err(Error::Rejected("no PT_LOAD or no PT_DYNAMIC"));
    }

    let mut strings: u64 = 0;
    let mut syms: u64 = 0;
    let mut hashtab: u64 = 0;
    let mut versym: u64 = 0;
    let mut verdef: u64 = 0;
    // `for (i=0; dynv[i]; i+=2)`: the dynamic array is read as pairs of `size_t`.
    let mut entry = dynv;
    loop {
        let tag = m.u64(entry, "the dynamic array")?;
        if tag == 0 {
            break;
        }
        let val = m.u64(entry.wrapping_add(8), "the dynamic array")?;
        let p = base.wrapping_add(val);
        match tag as i64 {
            DT_STRTAB => strings = p,
            DT_SYMTAB => syms = p,
            DT_HASH => hashtab = p,
            DT_VERSYM => versym = p,
            DT_VERDEF => verdef = p,
            _ => {}
        }
        entry = entry.wrapping_add(16);
    }
    if strings == 0 || syms == 0 || hashtab == 0 {
        return Err(Error::Rejected("no DT_STRTAB, DT_SYMTAB or DT_HASH"));
    }
    if verdef == 0 {
        versym = 0;
    }

    // `hashtab[1]` is `nchain`, which equals the number of symbols.
    let nchain = m.u32(hashtab.wrapping_add(4), "the hash table header")?;
    for i in 0..u64::from(nchain) {
        let sym = Sym::read_index(m, syms, i)?;
        if (1u32 << st_type(sym.st_info)) & OK_TYPES == 0 {
            continue;
        }
        if (1u32 << st_bind(sym.st_info)) & OK_BINDS == 0 {
            continue;
        }
        if sym.st_shndx == 0 {
            continue;
        }
        let sym_name = strings.wrapping_add(u64::from(sym.st_name));
        if !m.strcmp_eq(sym_name, name, "a symbol name")? {
            continue;
        }
        if versym != 0 {
            let v = m.u16(versym.wrapping_add(2 * i), "the version symbol table")?;
            if !checkver(m, verdef, v, vername, strings)? {
                continue;
            }
        }
        return Ok(base.wrapping_add(sym.st_value));
    }
    Err(Error::NotFound)
}

/// `checkver(def, vsym, vername, strings)`: walks the definitions to the non-base one with
/// index `vsym` and compares its name. The walk ends because `vd_next` only moves forward and
/// a read past the image faults.
fn checkver(m: &Mapping<'_>, mut def: u64, vsym: u16, vername: &str, strings: u64) -> Result<bool> {
    let vsym = vsym & 0x7fff;
    let found = loop {
        let d = Verdef::read(m, def)?;
        if d.vd_flags & VER_FLG_BASE == 0 && d.vd_ndx & 0x7fff == vsym {
            break d;
        }
        if d.vd_next == 0 {
            return Ok(false);
        }
        def = def.wrapping_add(u64::from(d.vd_next));
    };
    let aux = Verdaux::read(m, def.wrapping_add(u64::from(found.vd_aux)))?;
    m.strcmp_eq(
        strings.wrapping_add(u64::from(aux.vda_name)),
        vername,
        "a version name",
    )
}
