//! The rules on names: the soname and the version definitions (image rule
//! 5, ARCHITECTURE.md), no undefined symbol (image rule 3), and exactly the
//! spec's exports (image rule 6).

use std::collections::BTreeMap;

use object::elf;
use object::read::elf::{SectionTable, Sym as _, SymbolTable, VersionTable};
use object::SymbolIndex;

use super::layout::Load;
use super::view::{Class, File, Tags};
use super::{elf_hash, Checker, Export, FoundSymbol, Requirement, Spec, SONAME};

/// A version definition's name, and whether it is the base one.
pub(super) type VersionName = (String, bool);

/// Image rule 5: `DT_SONAME` is [`SONAME`].
pub(super) fn soname<Elf: Class>(file: &File<'_, Elf>, tags: &Tags, c: &mut Checker) {
    let soname = tags
        .get(elf::DT_SONAME)
        .and_then(|offset| file.dynstr(tags, offset));
    c.expect(
        soname == Some(SONAME.as_bytes()),
        Requirement::Soname,
        || {
            format!(
                "DT_SONAME is {:?}, not {SONAME}",
                soname.map(String::from_utf8_lossy)
            )
        },
    );
}

/// Image rule 5: the base version (the soname) and each of `spec.versions`
/// is defined, each with the ELF hash of its name. Returns the definitions
/// found.
pub(super) fn version_definitions<Elf: Class>(
    file: &File<'_, Elf>,
    sections: &SectionTable<'_, Elf>,
    spec: &Spec,
    c: &mut Checker,
) -> Vec<VersionName> {
    let (endian, data) = (file.endian, file.data);
    let mut names = Vec::new();
    if let Ok(Some((mut verdefs, link))) = sections.gnu_verdef(endian, data) {
        let strings = sections.strings(endian, data, link).unwrap_or_default();
        while let Ok(Some((def, mut auxs))) = verdefs.next() {
            let Ok(Some(aux)) = auxs.next() else { break };
            let Ok(name) = aux.name(endian, strings) else {
                break;
            };
            let name = String::from_utf8_lossy(name).into_owned();
            let (hash, want) = (def.vd_hash.get(endian), elf_hash(name.as_bytes()));
            c.expect(hash == want, Requirement::VersionDefinitions, || {
                format!("vd_hash of {name} is {hash:#x}, ELF hash is {want:#x}")
            });
            let base = def.vd_flags.get(endian).0 & elf::VER_FLG_BASE.0 != 0;
            names.push((name, base));
        }
    }
    let wanted = std::iter::once((SONAME, true)).chain(spec.versions.iter().map(|v| (*v, false)));
    for (want, base) in wanted {
        c.expect(
            names.iter().any(|(n, b)| n == want && *b == base),
            Requirement::VersionDefinitions,
            || format!("no version definition {want} (found {names:?})"),
        );
    }
    names
}

/// The dynamic symbols as the exports rules see them.
pub(super) struct Dynsym<'v, 'a, Elf: Class> {
    /// The symbol table.
    pub symbols: &'v SymbolTable<'a, Elf>,
    /// Their versions, if readable.
    pub versions: Option<&'v VersionTable<'a, Elf>>,
    /// The version definitions (whose `ABS` symbols are not exports).
    pub version_names: &'v [VersionName],
}

/// Image rules 3 and 6, symbol by symbol: none is undefined, and every
/// global one is one of `spec`'s exports, a sized function of the right
/// version inside the loaded segment. Returns the exports found, by name.
pub(super) fn exported<Elf: Class>(
    file: &File<'_, Elf>,
    dynsym: &Dynsym<'_, '_, Elf>,
    load: &Load,
    spec: &Spec,
    c: &mut Checker,
) -> BTreeMap<String, FoundSymbol> {
    let (endian, symbols) = (file.endian, dynsym.symbols);
    let mut found = BTreeMap::new();
    for (index, sym) in symbols.enumerate().skip(1) {
        let name =
            String::from_utf8_lossy(symbols.symbol_name(endian, sym).unwrap_or(b"?")).into_owned();
        if sym.st_shndx(endian) == elf::SHN_UNDEF {
            c.fail(
                Requirement::NoUndefinedSymbols,
                format!("{name} is undefined"),
            );
            continue;
        }
        let version = version_of(endian, dynsym.versions, index);
        if sym.st_bind() == elf::STB_LOCAL || is_version_symbol(file, dynsym, sym, &name) {
            continue;
        }
        let Some(export) = spec.exports.iter().find(|e| e.name == name) else {
            c.fail(
                Requirement::Exports,
                format!("{name} is exported but must not be"),
            );
            continue;
        };
        let found_symbol = FoundSymbol {
            name: name.clone(),
            version,
            value: sym.st_value(endian).into(),
            size: sym.st_size(endian).into(),
        };
        check_export::<Elf>(sym, &found_symbol, export, load, c);
        found.insert(name, found_symbol);
    }
    found
}

/// The name of the version of symbol `index` (empty if it has none).
fn version_of<Elf: Class>(
    endian: object::LittleEndian,
    versions: Option<&VersionTable<'_, Elf>>,
    index: SymbolIndex,
) -> String {
    versions
        .and_then(|v| {
            v.version(v.version_index(endian, index).index())
                .ok()
                .flatten()
        })
        .map(|v| String::from_utf8_lossy(v.name()).into_owned())
        .unwrap_or_default()
}

/// Whether `sym` is one of the `ABS` `OBJECT` symbols binutils adds, one
/// per version definition.
fn is_version_symbol<Elf: Class>(
    file: &File<'_, Elf>,
    dynsym: &Dynsym<'_, '_, Elf>,
    sym: &Elf::Sym,
    name: &str,
) -> bool {
    sym.st_shndx(file.endian) == elf::SHN_ABS
        && sym.st_type() == elf::STT_OBJECT
        && sym.st_size(file.endian).into() == 0
        && dynsym.version_names.iter().any(|(n, _)| *n == name)
}

/// Image rule 6 for one export: a global function with a size, of its
/// version, inside the loaded segment.
fn check_export<Elf: Class>(
    sym: &Elf::Sym,
    found: &FoundSymbol,
    export: &Export,
    load: &Load,
    c: &mut Checker,
) {
    let FoundSymbol {
        name,
        version,
        value,
        size,
    } = found;
    c.expect(
        sym.st_type() == elf::STT_FUNC && sym.st_bind() == elf::STB_GLOBAL,
        Requirement::Exports,
        || format!("{name} is not STT_FUNC STB_GLOBAL"),
    );
    c.expect(*size != 0, Requirement::Exports, || {
        format!("{name} has no size")
    });
    c.expect(*version == export.version, Requirement::Exports, || {
        format!("{name} has version {version:?}, not {}", export.version)
    });
    c.expect(
        load.holds(*value, *size) && *value != 0,
        Requirement::Exports,
        || format!("{name} at {value:#x} lies outside the loaded segment"),
    );
}

/// Image rule 6 for the list: every export is there, and each alias has
/// its target's address and size.
pub(super) fn exports(found: &BTreeMap<String, FoundSymbol>, spec: &Spec, c: &mut Checker) {
    for export in spec.exports {
        let Some(sym) = found.get(export.name) else {
            c.fail(
                Requirement::Exports,
                format!("{}@{} is missing", export.name, export.version),
            );
            continue;
        };
        if let Some(target) = export.alias_of.and_then(|t| found.get(t)) {
            c.expect(
                sym.value == target.value && sym.size == target.size,
                Requirement::Exports,
                || {
                    format!(
                        "{} ({:#x}, {} bytes) is not an alias of {} ({:#x}, {} bytes)",
                        sym.name, sym.value, sym.size, target.name, target.value, target.size
                    )
                },
            );
        }
    }
}
