//! The Go runtime's vDSO lookup, as of Go 1.19 (Debian's `golang-1.19`).
//!
//! Provenance: transliterated from Go 1.19.8 `src/runtime/vdso_linux.go`
//! (`vdsoInitFromSysinfoEhdr`, `vdsoFindVersion`, `vdsoParseSymbols`, `vdsoauxv`) and
//! `src/runtime/vdso_linux_arm64.go` (`vdsoLinuxVersion`, `vdsoSymbolKeys`), read from Debian's
//! `golang-1.19-src` (`/usr/lib/go-1.19/src/runtime/`). Go's own comment says the code "was
//! originally based on" Linux's `parse_vdso.c`.
//!
//! The arm64 key table is the point of this module. Go 1.19 looks up `__kernel_clock_gettime`
//! at `LINUX_2.6.39` but carries the hashes of `__vdso_clock_gettime` for it:
//! [`VDSO_SYMBOL_KEYS_ARM64`] has ELF hash 0xd35ec75 and GNU hash 0x6e43a318, where the right
//! values are 0xb0cd725 and 0xdfa941fd. (Later Go releases fixed the numbers.) So:
//! - with `DT_GNU_HASH`, Go compares chain hashes with 0x6e43a318, never matches, and silently
//!   uses the system call for every `time.Now()`;
//! - with only `DT_HASH`, Go walks bucket `0xd35ec75 % nbucket` and compares *names*, so it
//!   finds `__kernel_clock_gettime` exactly when that symbol sits on that bucket's chain.
//!
//! Go-specific behaviour kept here: `STT_NOTYPE` is accepted besides `STT_FUNC` (for ppc64);
//! the version check compares the symbol's version *index* with the index `vdsoFindVersion`
//! found by hash and name, and a missing version (-1) makes every symbol fail it; the
//! program headers are stepped by `sizeof(elfPhdr)`, ignoring `e_phentsize`; only the first
//! `PT_LOAD` sets the load offset; no segment flags are checked.
//!
//! The linux/arm build ([`clock_gettime_sym_arm`], [`VDSO_SYMBOL_KEYS_ARM`], from
//! `vdso_linux_arm.go` and the ELF32 structures of `vdso_elf32.go`) runs the same code with a
//! 32-bit `uintptr` and `vdsoArrayMax = 1<<31 - 1`; its key is right: `__vdso_clock_gettime`
//! at `LINUX_2.6` (0x3ae75f6) with that name's own hashes.
//!
//! Changes: reads go through [`Mapping`], whole structures at a time (so on a truncated image
//! the fault may come a few bytes earlier than in Go). Go's slice bounds checks are kept and
//! their panics become [`Error::Crash`], as do the nil dereference of `info.verdef` in
//! `vdsoFindVersion` (an image without `DT_VERDEF` crashes Go 1.19 at start-up) and an integer
//! division by zero. `uint32` arithmetic wraps as in Go. The SysV chain walk gets a bound.

use crate::elf::*;
use crate::hash::{elf_hash, gnu_hash};
use crate::mapping::{chain_fuel, Error, Mapping, Result};

/// `vdsoVersionKey`.
#[derive(Debug, Clone, Copy)]
pub struct VersionKey<'a> {
    /// The version name.
    pub version: &'a str,
    /// Its ELF hash, as Go hard-codes it.
    pub ver_hash: u32,
}

/// `vdsoSymbolKey`, without the output pointer (the result is returned instead).
#[derive(Debug, Clone, Copy)]
pub struct SymbolKey<'a> {
    /// The symbol name.
    pub name: &'a str,
    /// The ELF hash Go uses for the `DT_HASH` walk.
    pub sym_hash: u32,
    /// The GNU hash Go uses for the `DT_GNU_HASH` walk.
    pub gnu_hash: u32,
}

/// Go 1.19 `vdso_linux_arm64.go`: `vdsoLinuxVersion = vdsoVersionKey{"LINUX_2.6.39", 0x75fcb89}`.
pub const VDSO_LINUX_VERSION_ARM64: VersionKey<'static> = VersionKey {
    version: "LINUX_2.6.39",
    ver_hash: 0x75f_cb89,
};

/// Go 1.19 `vdso_linux_arm64.go`: `{"__kernel_clock_gettime", 0xd35ec75, 0x6e43a318,
/// &vdsoClockgettimeSym}`. The two hashes are those of `__vdso_clock_gettime`.
pub const VDSO_SYMBOL_KEYS_ARM64: [SymbolKey<'static>; 1] = [SymbolKey {
    name: "__kernel_clock_gettime",
    sym_hash: 0xd35_ec75,
    gnu_hash: 0x6e43_a318,
}];

/// Go 1.19 `vdso_linux_arm.go`: `vdsoLinuxVersion = vdsoVersionKey{"LINUX_2.6", 0x3ae75f6}`.
pub const VDSO_LINUX_VERSION_ARM: VersionKey<'static> = VersionKey {
    version: "LINUX_2.6",
    ver_hash: 0x3ae_75f6,
};

/// Go 1.19 `vdso_linux_arm.go`: `{"__vdso_clock_gettime", 0xd35ec75, 0x6e43a318,
/// &vdsoClockgettimeSym}`. Here the hashes are those of the name itself.
pub const VDSO_SYMBOL_KEYS_ARM: [SymbolKey<'static>; 1] = [SymbolKey {
    name: "__vdso_clock_gettime",
    sym_hash: 0xd35_ec75,
    gnu_hash: 0x6e43_a318,
}];

/// A Go slice into the image: start address and length in `uint32` elements.
#[derive(Debug, Clone, Copy, Default)]
struct Slice {
    addr: u64,
    len: u64,
}

impl Slice {
    /// `s[i]`, with Go's bounds check.
    fn get(&self, m: &Mapping<'_>, i: u32, what: &'static str) -> Result<u32> {
        if u64::from(i) >= self.len {
            return Err(Error::Crash("Go panics: index out of range"));
        }
        m.u32(self.addr.wrapping_add(4 * u64::from(i)), what)
    }
}

/// `vdsoInfo`. Addresses of zero are Go's nil pointers.
#[derive(Debug, Clone)]
pub struct VdsoInfo {
    /// The target the runtime was built for: `elfSym` and friends come from `vdso_elf64.go`
    /// or `vdso_elf32.go`, and `uintptr` is 64 or 32 bits wide.
    class: Class,
    valid: bool,
    load_offset: u64,
    symtab: u64,
    symstrings: u64,
    chain: Slice,
    bucket: Slice,
    sym_off: u32,
    is_gnu_hash: bool,
    versym: u64,
    verdef: u64,
}

/// `vdsoArrayMax`: 1<<50 - 1 on arm64 (`vdso_linux_arm64.go`), 1<<31 - 1 on arm
/// (`vdso_linux_arm.go`). Go's array types for the image are sized from it, and indexing one
/// past its length panics.
fn vdso_array_max(class: Class) -> u64 {
    match class {
        Class::Elf32 => (1 << 31) - 1,
        Class::Elf64 => (1 << 50) - 1,
    }
}

/// `x[index]` on a `*[len]T` array: Go's bounds check.
fn index_check(index: u64, len: u64) -> Result<()> {
    if index >= len {
        return Err(Error::Crash("Go panics: index out of range"));
    }
    Ok(())
}

/// `gnuhash[lo:]` or `hash[lo:hi]` on a `*[vdsoHashSize]uint32`, with Go's slice bounds check.
fn slice(class: Class, base: u64, lo: u32, hi: Option<u32>) -> Result<Slice> {
    let hi = hi.map_or(vdso_array_max(class) / 4, u64::from);
    if u64::from(lo) > hi {
        return Err(Error::Crash("Go panics: slice bounds out of range"));
    }
    Ok(Slice {
        addr: class.wrap(base.wrapping_add(4 * u64::from(lo))),
        len: hi - u64::from(lo),
    })
}

/// `vdsoInitFromSysinfoEhdr(info, hdr)` as built for linux/arm64. Go signals failure by
/// leaving `valid` false; that comes back as `Ok` with an invalid info, and only faults and
/// crashes are errors.
pub fn init_from_sysinfo_ehdr(m: &Mapping<'_>) -> Result<VdsoInfo> {
    init_from_sysinfo_ehdr_as(m, Class::Elf64)
}

/// `vdsoInitFromSysinfoEhdr(info, hdr)` as built for a target of `class`: linux/arm uses
/// the ELF32 structures of `vdso_elf32.go` and a 32-bit `uintptr`.
pub fn init_from_sysinfo_ehdr_as(m: &Mapping<'_>, class: Class) -> Result<VdsoInfo> {
    let w = |a: u64| class.wrap(a);
    let mut info = VdsoInfo {
        class,
        valid: false,
        load_offset: 0,
        symtab: 0,
        symstrings: 0,
        chain: Slice::default(),
        bucket: Slice::default(),
        sym_off: 0,
        is_gnu_hash: false,
        versym: 0,
        verdef: 0,
    };
    let load_addr = m.base();
    let hdr = Ehdr::read_as(m, load_addr, class)?;
    let pt = w(load_addr.wrapping_add(hdr.e_phoff));

    let mut found_vaddr = false;
    let mut dyn_: u64 = 0;
    for i in 0..u64::from(hdr.e_phnum) {
        let p = Phdr::read_as(m, w(pt.wrapping_add(i * Phdr::size(class))), class)?;
        match p.p_type {
            PT_LOAD if !found_vaddr => {
                found_vaddr = true;
                // `uintptr(pt.p_offset-pt.p_vaddr)`: the difference in the fields' own width.
                let delta = w(p.p_offset.wrapping_sub(p.p_vaddr));
                info.load_offset = w(load_addr.wrapping_add(delta));
            }
            PT_DYNAMIC => dyn_ = w(load_addr.wrapping_add(p.p_offset)),
            _ => {}
        }
    }
    if !found_vaddr || dyn_ == 0 {
        return Ok(info);
    }

    let mut hash: u64 = 0;
    let mut gnuhash: u64 = 0;
    let mut i: u64 = 0;
    loop {
        let at = w(dyn_.wrapping_add(i.wrapping_mul(Dyn::size(class))));
        let dt = Dyn::read_as(m, at, class)?;
        if dt.d_tag == DT_NULL {
            break;
        }
        // Go computes `p` for every entry, so it reads `d_val` even for tags it ignores.
        let p = w(info.load_offset.wrapping_add(dt.d_val));
        match dt.d_tag {
            DT_STRTAB => info.symstrings = p,
            DT_SYMTAB => info.symtab = p,
            DT_HASH => hash = p,
            DT_GNU_HASH => gnuhash = p,
            DT_VERSYM => info.versym = p,
            DT_VERDEF => info.verdef = p,
            _ => {}
        }
        i += 1;
    }
    if info.symstrings == 0 || info.symtab == 0 || (hash == 0 && gnuhash == 0) {
        return Ok(info);
    }
    if info.verdef == 0 {
        info.versym = 0;
    }

    const HDR: &str = "the hash table header";
    if gnuhash != 0 {
        let nbucket = m.u32(gnuhash, HDR)?;
        info.sym_off = m.u32(gnuhash.wrapping_add(4), HDR)?;
        let bloom_size = m.u32(gnuhash.wrapping_add(8), HDR)?;
        // `vdsoBloomSizeScale` is `sizeof(uintptr) / 4`: 2 on 64-bit targets, 1 on 32-bit
        // ones; all of this is `uint32` arithmetic.
        let scale = (class.word_size() / 4) as u32;
        let start = 4u32.wrapping_add(bloom_size.wrapping_mul(scale));
        let b = slice(class, gnuhash, start, None)?;
        if u64::from(nbucket) > b.len {
            return Err(Error::Crash("Go panics: slice bounds out of range"));
        }
        info.bucket = Slice {
            addr: b.addr,
            len: u64::from(nbucket),
        };
        info.chain = slice(class, gnuhash, start.wrapping_add(nbucket), None)?;
        info.is_gnu_hash = true;
    } else {
        let nbucket = m.u32(hash, HDR)?;
        let nchain = m.u32(w(hash.wrapping_add(4)), HDR)?;
        let bucket_end = 2u32.wrapping_add(nbucket);
        info.bucket = slice(class, hash, 2, Some(bucket_end))?;
        info.chain = slice(
            class,
            hash,
            bucket_end,
            Some(bucket_end.wrapping_add(nchain)),
        )?;
    }
    info.valid = true;
    Ok(info)
}

/// `vdsoFindVersion(info, ver)`: the index of the version named `ver.version` whose `vd_hash`
/// is `ver.ver_hash`, -1 if there is none, 0 if the info is invalid.
pub fn find_version(m: &Mapping<'_>, info: &VdsoInfo, ver: &VersionKey<'_>) -> Result<i32> {
    if !info.valid {
        return Ok(0);
    }
    if info.verdef == 0 {
        return Err(Error::Crash(
            "Go panics: nil pointer dereference of info.verdef (no DT_VERDEF)",
        ));
    }
    let w = |a: u64| info.class.wrap(a);
    let mut def = info.verdef;
    // Every step moves forward unless it wraps (only possible in 32 bits): bound the walk.
    let mut fuel = m.size() + 2;
    loop {
        let d = Verdef::read(m, def)?;
        if d.vd_flags & VER_FLG_BASE == 0 {
            let aux = Verdaux::read(m, w(def.wrapping_add(u64::from(d.vd_aux))))?;
            if d.vd_hash == ver.ver_hash {
                // `&info.symstrings[aux.vda_name]`, on a `*[vdsoArrayMax]byte`.
                index_check(u64::from(aux.vda_name), vdso_array_max(info.class))?;
                let name = w(info.symstrings.wrapping_add(u64::from(aux.vda_name)));
                if m.c_str(name, "a version name")? == ver.version.as_bytes() {
                    return Ok(i32::from(d.vd_ndx & 0x7fff));
                }
            }
        }
        if d.vd_next == 0 {
            break;
        }
        def = w(def.wrapping_add(u64::from(d.vd_next)));
        fuel = fuel
            .checked_sub(1)
            .ok_or(Error::Endless("the version definitions loop"))?;
    }
    Ok(-1)
}

/// `vdsoParseSymbols(info, version)` for `keys`: the address each key resolves to, `None`
/// where Go leaves the pointer at zero (and falls back to the system call).
pub fn parse_symbols(
    m: &Mapping<'_>,
    info: &VdsoInfo,
    version: i32,
    keys: &[SymbolKey<'_>],
) -> Result<Vec<Option<u64>>> {
    let mut out = vec![None; keys.len()];
    if !info.valid {
        return Ok(out);
    }
    let class = info.class;
    let w = |a: u64| class.wrap(a);
    let max = vdso_array_max(class);
    let apply = |sym_index: u32, k: &SymbolKey<'_>| -> Result<Option<u64>> {
        // `&info.symtab[symIndex]`, on a `*[vdsoSymTabSize]elfSym`.
        index_check(u64::from(sym_index), max / Sym::size(class))?;
        let sym = Sym::read_index_as(m, info.symtab, u64::from(sym_index), class)?;
        let typ = st_type(sym.st_info);
        let bind = st_bind(sym.st_info);
        if typ != STT_FUNC && typ != STT_NOTYPE
            || bind != STB_GLOBAL && bind != STB_WEAK
            || sym.st_shndx == SHN_UNDEF
        {
            return Ok(None);
        }
        index_check(u64::from(sym.st_name), max)?;
        let name = w(info.symstrings.wrapping_add(u64::from(sym.st_name)));
        if m.c_str(name, "a symbol name")? != k.name.as_bytes() {
            return Ok(None);
        }
        if info.versym != 0 && version != 0 {
            index_check(u64::from(sym_index), max / 2)?;
            let v = m.u16(
                w(info.versym.wrapping_add(2 * u64::from(sym_index))),
                "the version symbol table",
            )?;
            if i32::from(v & 0x7fff) != version {
                return Ok(None);
            }
        }
        Ok(Some(w(info.load_offset.wrapping_add(sym.st_value))))
    };

    if !info.is_gnu_hash {
        // Old-style DT_HASH table.
        for (k, slot) in keys.iter().zip(out.iter_mut()) {
            if info.bucket.len == 0 {
                continue;
            }
            let b = (u64::from(k.sym_hash) % info.bucket.len) as u32;
            let mut chain = info.bucket.get(m, b, "a hash bucket")?;
            let mut fuel = chain_fuel(m);
            while chain != 0 {
                if let Some(addr) = apply(chain, k)? {
                    *slot = Some(addr);
                    break;
                }
                chain = info.chain.get(m, chain, "a hash chain")?;
                fuel = fuel
                    .checked_sub(1)
                    .ok_or(Error::Endless("the hash chain loops"))?;
            }
        }
        return Ok(out);
    }

    // New-style DT_GNU_HASH table.
    for (k, slot) in keys.iter().zip(out.iter_mut()) {
        if info.bucket.len == 0 {
            return Err(Error::Crash("Go panics: integer divide by zero"));
        }
        let b = (u64::from(k.gnu_hash) % info.bucket.len) as u32;
        let mut sym_index = info.bucket.get(m, b, "a GNU hash bucket")?;
        if sym_index < info.sym_off {
            continue;
        }
        loop {
            let hash =
                info.chain
                    .get(m, sym_index.wrapping_sub(info.sym_off), "a GNU hash chain")?;
            if hash | 1 == k.gnu_hash | 1 {
                if let Some(addr) = apply(sym_index, k)? {
                    *slot = Some(addr);
                    break;
                }
            }
            if hash & 1 != 0 {
                break;
            }
            sym_index = sym_index.wrapping_add(1);
        }
    }
    Ok(out)
}

/// `vdsoauxv(_AT_SYSINFO_EHDR, base)` with the given keys: everything Go does at start-up.
pub fn vdsoauxv(
    m: &Mapping<'_>,
    version: &VersionKey<'_>,
    keys: &[SymbolKey<'_>],
) -> Result<Vec<Option<u64>>> {
    vdsoauxv_as(m, Class::Elf64, version, keys)
}

/// [`vdsoauxv`] as built for a target of `class`.
pub fn vdsoauxv_as(
    m: &Mapping<'_>,
    class: Class,
    version: &VersionKey<'_>,
    keys: &[SymbolKey<'_>],
) -> Result<Vec<Option<u64>>> {
    let info = init_from_sysinfo_ehdr_as(m, class)?;
    let v = find_version(m, &info, version)?;
    parse_symbols(m, &info, v, keys)
}

/// What Go 1.19 on linux/arm64 stores in `vdsoClockgettimeSym`: the address it will call for
/// `time.Now()`, or [`Error::NotFound`] when it stays zero and Go uses the system call.
pub fn clock_gettime_sym_arm64(m: &Mapping<'_>) -> Result<u64> {
    vdsoauxv(m, &VDSO_LINUX_VERSION_ARM64, &VDSO_SYMBOL_KEYS_ARM64)?[0].ok_or(Error::NotFound)
}

/// What Go 1.19 on linux/arm stores in `vdsoClockgettimeSym`: the address of
/// `__vdso_clock_gettime@LINUX_2.6` it will call, or [`Error::NotFound`] when it stays zero.
pub fn clock_gettime_sym_arm(m: &Mapping<'_>) -> Result<u64> {
    vdsoauxv_as(
        m,
        Class::Elf32,
        &VDSO_LINUX_VERSION_ARM,
        &VDSO_SYMBOL_KEYS_ARM,
    )?[0]
        .ok_or(Error::NotFound)
}

/// Go's algorithm with a *correct* key for `name` at `version` (the hashes computed here),
/// for resolving symbols Go 1.19 itself never asks for. This checks the image against Go's
/// walk and version logic, not against Go's key table.
pub fn lookup(m: &Mapping<'_>, version: &str, name: &str) -> Result<u64> {
    let ver = VersionKey {
        version,
        ver_hash: elf_hash(version.as_bytes()),
    };
    let key = SymbolKey {
        name,
        sym_hash: elf_hash(name.as_bytes()),
        gnu_hash: gnu_hash(name.as_bytes()),
    };
    vdsoauxv(m, &ver, &[key])?[0].ok_or(Error::NotFound)
}

/// [`lookup`] with Go's linux/arm build (ELF32, 32-bit `uintptr`).
pub fn lookup32(m: &Mapping<'_>, version: &str, name: &str) -> Result<u64> {
    let ver = VersionKey {
        version,
        ver_hash: elf_hash(version.as_bytes()),
    };
    let key = SymbolKey {
        name,
        sym_hash: elf_hash(name.as_bytes()),
        gnu_hash: gnu_hash(name.as_bytes()),
    };
    vdsoauxv_as(m, Class::Elf32, &ver, &[key])?[0].ok_or(Error::NotFound)
}
