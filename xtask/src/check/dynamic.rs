//! The rules on the dynamic table and the sections: no relocations (image
//! rule 3, ARCHITECTURE.md), the SysV hash table only, with Go's bucket
//! leading to its `clock_gettime` (image rule 4), and the tables a symbol
//! lookup needs (`DT_SYMENT`, `DT_VERSYM`, `DT_VERDEF`).

use object::elf;
use object::read::elf::{SectionHeader as _, SectionTable, SymbolTable, VersionTable};

use super::view::{Class, File, Tags};
use super::{Checker, Requirement, Spec, GO_ARM64_CLOCK_GETTIME_HASH};

/// The dynamic tags that announce relocations.
const RELOCATION_TABLES: [(elf::DynamicTag, &str); 5] = [
    (elf::DT_REL, "DT_REL"),
    (elf::DT_RELA, "DT_RELA"),
    (elf::DT_RELR, "DT_RELR"),
    (elf::DT_JMPREL, "DT_JMPREL"),
    (elf::DT_TEXTREL, "DT_TEXTREL"),
];

/// The dynamic tags that give a relocation table's size.
const RELOCATION_SIZES: [(elf::DynamicTag, &str); 4] = [
    (elf::DT_RELSZ, "DT_RELSZ"),
    (elf::DT_RELASZ, "DT_RELASZ"),
    (elf::DT_RELRSZ, "DT_RELRSZ"),
    (elf::DT_PLTRELSZ, "DT_PLTRELSZ"),
];

/// The dynamic table: no relocation table (image rule 3), `DT_HASH` and
/// no `DT_GNU_HASH` (image rule 4), symbol entries of the class's size,
/// and the version tables (image rule 5).
pub(super) fn tags(tags: &Tags, spec: &Spec, c: &mut Checker) {
    for (tag, name) in RELOCATION_TABLES {
        c.expect(!tags.has(tag), Requirement::NoRelocations, || {
            format!("the dynamic table has {name}")
        });
    }
    for (tag, name) in RELOCATION_SIZES {
        let size = tags.get(tag).unwrap_or(0);
        c.expect(size == 0, Requirement::NoRelocations, || {
            format!("{name} is {size}")
        });
    }
    c.expect(tags.has(elf::DT_HASH), Requirement::SysvHash, || {
        "no DT_HASH (musl and parse_vdso.c need it)".into()
    });
    c.expect(!tags.has(elf::DT_GNU_HASH), Requirement::NoGnuHash, || {
        "DT_GNU_HASH present: Go 1.19 would look up the wrong hash there".into()
    });
    // rustix refuses an image whose symbol entries are not `Elf*_Sym`.
    let syment = tags.get(elf::DT_SYMENT);
    let sym_size = if spec.class32 { 16 } else { 24 };
    c.expect(syment == Some(sym_size), Requirement::Exports, || {
        format!("DT_SYMENT is {syment:?}, not {sym_size}")
    });
    for (tag, name) in [(elf::DT_VERSYM, "DT_VERSYM"), (elf::DT_VERDEF, "DT_VERDEF")] {
        c.expect(tags.has(tag), Requirement::VersionDefinitions, || {
            format!("no {name}")
        });
    }
}

/// The sections: no non-empty relocation section (image rule 3) and no
/// GNU hash section (image rule 4).
pub(super) fn sections<Elf: Class>(
    file: &File<'_, Elf>,
    sections: &SectionTable<'_, Elf>,
    c: &mut Checker,
) {
    let endian = file.endian;
    for section in sections.iter() {
        let kind = section.sh_type(endian);
        if matches!(kind, elf::SHT_REL | elf::SHT_RELA | elf::SHT_RELR)
            && section.sh_size(endian).into() != 0
        {
            let name = sections.section_name(endian, section).unwrap_or(b"?");
            c.fail(
                Requirement::NoRelocations,
                format!("relocation section {}", String::from_utf8_lossy(name)),
            );
        }
        if kind == elf::SHT_GNU_HASH {
            c.fail(Requirement::NoGnuHash, "a SHT_GNU_HASH section is present");
        }
    }
}

/// Image rule 4: Go 1.19 looks `spec.go_lookup` up with the SysV hash of
/// `__vdso_clock_gettime` ([`GO_ARM64_CLOCK_GETTIME_HASH`]), so that
/// bucket's chain must reach it. Returns the table's bucket count (0 when
/// there is no readable table).
pub(super) fn go_hash_chain<Elf: Class>(
    file: &File<'_, Elf>,
    tags: &Tags,
    symbols: &SymbolTable<'_, Elf>,
    spec: &Spec,
    c: &mut Checker,
) -> u32 {
    let Some(at) = tags.get(elf::DT_HASH) else {
        return 0;
    };
    let Some((nbucket, table)) = file.hash_table(at) else {
        c.fail(Requirement::SysvHash, "DT_HASH table cannot be read");
        return 0;
    };
    // Go walks the chain comparing names only; an empty version table makes
    // `find` do the same.
    let reached = table.find(
        file.endian,
        spec.go_lookup.as_bytes(),
        GO_ARM64_CLOCK_GETTIME_HASH,
        None,
        symbols,
        &VersionTable::default(),
    );
    c.expect(reached.is_some(), Requirement::GoHashChain, || {
        format!(
            "bucket {GO_ARM64_CLOCK_GETTIME_HASH:#x} % {nbucket} does not lead to \
             {}; choose nbucket so that it does",
            spec.go_lookup
        )
    });
    nbucket
}
