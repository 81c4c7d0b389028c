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
//! The same source is built for 32-bit targets with `Elf32_*` types (`ULONG_MAX ==
//! 0xffffffff`); [`lookup32`] is that build, as musl arm runs it against the compat image.
//!
//! Changes: reads go through [`Mapping`]; pointer arithmetic wraps as it does in C, at the
//! target's pointer width; musl's `base == (size_t)-1` sentinel is kept as is. The version
//! walk gets a bound (a 32-bit wrap of `vd_next` could otherwise loop).

use crate::elf::*;
use crate::mapping::{Error, Mapping, Result};

/// `OK_TYPES`.
const OK_TYPES: u32 = 1 << STT_NOTYPE | 1 << STT_OBJECT | 1 << STT_FUNC | 1 << STT_COMMON;
/// `OK_BINDS`.
const OK_BINDS: u32 = 1 << STB_GLOBAL | 1 << STB_WEAK | 1 << STB_GNU_UNIQUE;

/// `__vdsosym(vername, name)` with `AT_SYSINFO_EHDR` = `m.base()`, as built for a 64-bit
/// target (aarch64: `Elf64_*` types, 64-bit `size_t`).
pub fn lookup(m: &Mapping<'_>, vername: &str, name: &str) -> Result<u64> {
    lookup_as(m, Class::Elf64, vername, name)
}

/// `__vdsosym(vername, name)` as built for a 32-bit target (`ULONG_MAX == 0xffffffff`, e.g.
/// musl arm): `Elf32_*` types, the dynamic array read as pairs of 32-bit `size_t`, and every
/// pointer sum wrapping at 2^32. On arm musl asks for `__vdso_clock_gettime64@LINUX_2.6`
/// (`VDSO_CGT_SYM`, `VDSO_CGT_VER`) and then `__vdso_clock_gettime@LINUX_2.6`
/// (`VDSO_CGT32_SYM`, `VDSO_CGT32_VER`), from `arch/arm/syscall_arch.h`.
pub fn lookup32(m: &Mapping<'_>, vername: &str, name: &str) -> Result<u64> {
    lookup_as(m, Class::Elf32, vername, name)
}

/// `__vdsosym(vername, name)` built for `class`.
pub fn lookup_as(m: &Mapping<'_>, class: Class, vername: &str, name: &str) -> Result<u64> {
    let w = |a: u64| class.wrap(a);
    let none = w(u64::MAX); // `(size_t)-1`
    let eh = m.base();
    let ehdr = Ehdr::read_as(m, eh, class)?;
    let mut ph = w(eh.wrapping_add(ehdr.e_phoff));
    let mut dynv: u64 = 0;
    let mut base: u64 = none;
    for _ in 0..ehdr.e_phnum {
        let p = Phdr::read_as(m, ph, class)?;
        if p.p_type == PT_LOAD {
            base = w(eh.wrapping_add(p.p_offset).wrapping_sub(p.p_vaddr));
        } else if p.p_type == PT_DYNAMIC {
            dynv = w(eh.wrapping_add(p.p_offset));
        }
        ph = w(ph.wrapping_add(u64::from(ehdr.e_phentsize)));
    }
    if dynv == 0 || base == none {
        return Err(Error::Rejected("no PT_LOAD or no PT_DYNAMIC"));
    }

    let mut strings: u64 = 0;
    let mut syms: u64 = 0;
    let mut hashtab: u64 = 0;
    let mut versym: u64 = 0;
    let mut verdef: u64 = 0;
    // `for (i=0; dynv[i]; i+=2)`: the dynamic array is read as pairs of `size_t`.
    let word = class.word_size();
    let mut entry = dynv;
    loop {
        let tag = class.word(m, entry, "the dynamic array")?;
        if tag == 0 {
            break;
        }
        let val = class.word(m, w(entry.wrapping_add(word)), "the dynamic array")?;
        let p = w(base.wrapping_add(val));
        // `switch(dynv[i])` compares a `size_t` with the (positive) `DT_*` constants.
        match tag {
            t if t == DT_STRTAB as u64 => strings = p,
            t if t == DT_SYMTAB as u64 => syms = p,
            t if t == DT_HASH as u64 => hashtab = p,
            t if t == DT_VERSYM as u64 => versym = p,
            t if t == DT_VERDEF as u64 => verdef = p,
            _ => {}
        }
        entry = w(entry.wrapping_add(2 * word));
    }
    if strings == 0 || syms == 0 || hashtab == 0 {
        return Err(Error::Rejected("no DT_STRTAB, DT_SYMTAB or DT_HASH"));
    }
    if verdef == 0 {
        versym = 0;
    }

    // `hashtab[1]` is `nchain`, which equals the number of symbols (`Elf_Symndx` is 32-bit).
    let nchain = m.u32(w(hashtab.wrapping_add(4)), "the hash table header")?;
    for i in 0..u64::from(nchain) {
        let sym = Sym::read_index_as(m, syms, i, class)?;
        if (1u32 << st_type(sym.st_info)) & OK_TYPES == 0 {
            continue;
        }
        if (1u32 << st_bind(sym.st_info)) & OK_BINDS == 0 {
            continue;
        }
        if sym.st_shndx == 0 {
            continue;
        }
        let sym_name = w(strings.wrapping_add(u64::from(sym.st_name)));
        if !m.strcmp_eq(sym_name, name, "a symbol name")? {
            continue;
        }
        if versym != 0 {
            let v = m.u16(w(versym.wrapping_add(2 * i)), "the version symbol table")?;
            if !checkver(m, class, verdef, v, vername, strings)? {
                continue;
            }
        }
        return Ok(w(base.wrapping_add(sym.st_value)));
    }
    Err(Error::NotFound)
}

/// `checkver(def, vsym, vername, strings)`: walks the definitions to the non-base one with
/// index `vsym` and compares its name. The walk ends because `vd_next` only moves forward and
/// a read past the image faults (in 32 bits a wrap could loop, so the walk is bounded).
fn checkver(
    m: &Mapping<'_>,
    class: Class,
    mut def: u64,
    vsym: u16,
    vername: &str,
    strings: u64,
) -> Result<bool> {
    let vsym = vsym & 0x7fff;
    // Every step moves at least one byte forward unless it wraps, so this bound is only ever
    // reached by a walk that wrapped around.
    let mut fuel = m.size() + 2;
    let found = loop {
        let d = Verdef::read(m, def)?;
        if d.vd_flags & VER_FLG_BASE == 0 && d.vd_ndx & 0x7fff == vsym {
            break d;
        }
        if d.vd_next == 0 {
            return Ok(false);
        }
        def = class.wrap(def.wrapping_add(u64::from(d.vd_next)));
        fuel = fuel
            .checked_sub(1)
            .ok_or(Error::Endless("the version definitions loop"))?;
    };
    let aux = Verdaux::read(m, class.wrap(def.wrapping_add(u64::from(found.vd_aux))))?;
    m.strcmp_eq(
        class.wrap(strings.wrapping_add(u64::from(aux.vda_name))),
        vername,
        "a version name",
    )
}
