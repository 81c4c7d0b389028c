//! The two ELF symbol hash functions, written from their definitions, and builders for the
//! tables that use them.
//!
//! [`elf_hash`] is the SysV gABI function ("Hash Table" in chapter 5 of the System V ABI,
//! <http://www.sco.com/developers/gabi/latest/ch5.dynamic.html#hash>), used by `DT_HASH` and by
//! `vd_hash` in version definitions. [`gnu_hash`] is the DJB hash (`h = h * 33 + c`, seed 5381)
//! that `DT_GNU_HASH` uses (glibc `dl_new_hash`). Both are checked against values the clients
//! hard-code: glibc's `VDSO_HASH` 123718537 (0x75fcb89) for `LINUX_2.6.39`, Go's keys.

/// The SysV ELF hash of `name` (without its NUL).
///
/// ```text
/// h = 0
/// for each byte c: h = (h << 4) + c; g = h & 0xf0000000; if g != 0 { h ^= g >> 24 }; h &= !g
/// ```
pub fn elf_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// The GNU (DJB) hash of `name` (without its NUL).
pub fn gnu_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 5381;
    for &c in name {
        h = h.wrapping_mul(33).wrapping_add(u32::from(c));
    }
    h
}

/// A SysV hash table (`nbucket`, `nchain`, buckets, chains, all `u32`) for a symbol table whose
/// entry `i` is named `names[i]`; entry 0 is the null symbol and is never hashed.
///
/// Returns `None` when `nbucket` is zero or a count does not fit in a `u32`.
pub fn sysv_hash_table(names: &[&[u8]], nbucket: u32) -> Option<Vec<u8>> {
    if nbucket == 0 {
        return None;
    }
    let nchain = u32::try_from(names.len()).ok()?;
    let mut buckets = vec![0u32; usize::try_from(nbucket).ok()?];
    let mut chains = vec![0u32; names.len()];
    // Insert at the head of each bucket, as GNU ld does; the order does not change which
    // symbols a bucket's chain holds.
    for (i, name) in names.iter().enumerate().skip(1) {
        let b = usize::try_from(elf_hash(name) % nbucket).ok()?;
        chains[i] = buckets[b];
        buckets[b] = u32::try_from(i).ok()?;
    }
    let words = [nbucket, nchain].into_iter().chain(buckets).chain(chains);
    Some(words.flat_map(u32::to_le_bytes).collect())
}

/// A valid GNU hash table with a single bucket for a symbol table whose entries from
/// `symoffset` on are named `names` (in symbol-table order).
///
/// One bucket is the only layout that needs no reordering of the symbol table (GNU hash wants
/// the hashed symbols sorted by bucket), and the Bloom filter word is all ones so that every
/// lookup passes it. The result is what a linker could have produced; it is used to show what
/// happens to clients when an image carries `DT_GNU_HASH`. The Bloom word is 64 bits wide, as
/// in an ELF64 file; [`gnu_hash_table_one_bucket_elf32`] is the ELF32 form.
pub fn gnu_hash_table_one_bucket(names: &[&[u8]], symoffset: u32) -> Option<Vec<u8>> {
    gnu_hash_table(names, symoffset, 2)
}

/// [`gnu_hash_table_one_bucket`] for an ELF32 file, whose Bloom words are 32 bits wide.
pub fn gnu_hash_table_one_bucket_elf32(names: &[&[u8]], symoffset: u32) -> Option<Vec<u8>> {
    gnu_hash_table(names, symoffset, 1)
}

/// The one-bucket table with one Bloom word of `bloom_u32s` 32-bit halves (1 or 2).
fn gnu_hash_table(names: &[&[u8]], symoffset: u32, bloom_u32s: usize) -> Option<Vec<u8>> {
    let (last, rest) = names.split_last()?;
    let mut words = vec![1, symoffset, 1, 6];
    words.extend(core::iter::repeat_n(u32::MAX, bloom_u32s));
    words.push(symoffset);
    words.extend(rest.iter().map(|n| gnu_hash(n) & !1));
    words.push(gnu_hash(last) | 1);
    Some(words.into_iter().flat_map(u32::to_le_bytes).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_hash_of_linux_2_6_39_is_glibcs_vdso_hash() {
        // glibc sysdeps/unix/sysv/linux/aarch64/sysdep.h: VDSO_HASH 123718537.
        assert_eq!(elf_hash(b"LINUX_2.6.39"), 123_718_537);
        assert_eq!(elf_hash(b"LINUX_2.6.39"), 0x75f_cb89);
    }

    #[test]
    fn gnu_hash_of_the_empty_string_is_the_seed() {
        assert_eq!(gnu_hash(b""), 5381);
    }

    #[test]
    fn sysv_table_puts_every_symbol_on_its_buckets_chain() {
        let names: [&[u8]; 4] = [b"", b"a", b"bb", b"ccc"];
        let table = sysv_hash_table(&names, 2).unwrap();
        let word = |i: usize| u32::from_le_bytes(table[4 * i..4 * i + 4].try_into().unwrap());
        assert_eq!((word(0), word(1)), (2, 4));
        for (i, name) in names.iter().enumerate().skip(1) {
            let mut at = word(2 + (elf_hash(name) % 2) as usize);
            let mut found = false;
            while at != 0 {
                found |= at as usize == i;
                at = word(4 + at as usize);
            }
            assert!(found, "symbol {i} is not on its chain");
        }
    }
}
