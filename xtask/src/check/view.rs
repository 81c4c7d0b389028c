//! The image parsed once into a typed view, stage by stage: the ELF header,
//! the program headers, the dynamic table, the section headers, the dynamic
//! symbols and their versions. Each stage needs the ones before it; a stage
//! that cannot be read is one violation and the end of the check (the rules
//! after it would only repeat that finding).

use std::collections::BTreeMap;

use object::elf;
use object::read::elf::{
    Dyn as _, FileHeader, HashTable, Note, ProgramHeader, SectionTable, SymbolTable, VersionTable,
};
use object::read::ReadRef as _;
use object::LittleEndian as LE;

use super::{Checker, Requirement, Segment, Spec};

/// An ELF class (`FileHeader32` or `FileHeader64`), little-endian as every
/// image is.
pub(super) trait Class: FileHeader<Endian = LE> {}

impl<T: FileHeader<Endian = LE>> Class for T {}

/// The file and its ELF header.
pub(super) struct File<'a, Elf: Class> {
    /// The whole file.
    pub data: &'a [u8],
    /// Its byte order (little-endian, or the header would not parse).
    pub endian: LE,
    /// The ELF header.
    pub header: &'a Elf,
}

/// The program headers, sorted by what the rules ask of them.
pub(super) struct Segments<'a, Elf: Class> {
    /// Every program header, in file order.
    pub all: &'a [Elf::ProgramHeader],
    /// The `PT_LOAD`s.
    pub loads: Vec<&'a Elf::ProgramHeader>,
    /// The last `PT_DYNAMIC`.
    pub dynamic: Option<&'a Elf::ProgramHeader>,
    /// The `PT_NOTE`s.
    pub notes: Vec<&'a Elf::ProgramHeader>,
    /// The `PT_GNU_PROPERTY`s.
    pub properties: Vec<&'a Elf::ProgramHeader>,
}

/// The dynamic table's entries before `DT_NULL`, by tag (a repeated tag:
/// its last value).
pub(super) struct Tags(BTreeMap<elf::DynamicTag, u64>);

impl Tags {
    /// The value of `tag`, if the table has it.
    pub fn get(&self, tag: elf::DynamicTag) -> Option<u64> {
        self.0.get(&tag).copied()
    }

    /// Whether the table has `tag`.
    pub fn has(&self, tag: elf::DynamicTag) -> bool {
        self.0.contains_key(&tag)
    }
}

impl<'a, Elf: Class> File<'a, Elf> {
    /// Parses the ELF header as `spec`'s class.
    pub fn parse(data: &'a [u8], spec: &Spec, c: &mut Checker) -> Option<Self> {
        let header = match Elf::parse(data) {
            Ok(h) => h,
            Err(e) => {
                c.fail(
                    Requirement::ElfHeader,
                    format!("not a {} file: {e}", spec.what),
                );
                return None;
            }
        };
        let endian = match header.endian() {
            Ok(e) => e,
            Err(e) => {
                c.fail(Requirement::ElfHeader, format!("{e}"));
                return None;
            }
        };
        Some(File {
            data,
            endian,
            header,
        })
    }

    /// The little-endian word at file offset `at` (offsets equal addresses:
    /// the one `PT_LOAD` starts at 0).
    pub fn word(&self, at: u64) -> Option<u32> {
        let at = usize::try_from(at).ok()?;
        Some(u32::from_le_bytes(
            self.data.get(at..at.checked_add(4)?)?.try_into().ok()?,
        ))
    }

    /// The program headers.
    pub fn segments(&self, c: &mut Checker) -> Option<Segments<'a, Elf>> {
        let all = match self.header.program_headers(self.endian, self.data) {
            Ok(p) => p,
            Err(e) => {
                c.fail(
                    Requirement::OneLoadSegment,
                    format!("bad program headers: {e}"),
                );
                return None;
            }
        };
        let of = |kind| -> Vec<&'a Elf::ProgramHeader> {
            all.iter()
                .filter(|ph| ph.p_type(self.endian) == kind)
                .collect()
        };
        Some(Segments {
            all,
            loads: of(elf::PT_LOAD),
            dynamic: of(elf::PT_DYNAMIC).last().copied(),
            notes: of(elf::PT_NOTE),
            properties: of(elf::PT_GNU_PROPERTY),
        })
    }

    /// The GNU notes in segment `ph`, up to the first one that cannot be
    /// read.
    pub fn gnu_notes(&self, ph: &'a Elf::ProgramHeader) -> impl Iterator<Item = Note<'a, Elf>> {
        let mut notes = ph.notes(self.endian, self.data).ok().flatten();
        std::iter::from_fn(move || notes.as_mut()?.next().ok().flatten())
            .filter(|note| note.name() == elf::ELF_NOTE_GNU)
    }

    /// The dynamic table of segment `dynamic`.
    pub fn tags(&self, dynamic: &'a Elf::ProgramHeader, c: &mut Checker) -> Option<Tags> {
        let dyns: &[Elf::Dyn] = match dynamic.dynamic(self.endian, self.data) {
            Ok(Some(d)) => d,
            _ => {
                c.fail(Requirement::DynamicInsideLoad, "PT_DYNAMIC cannot be read");
                return None;
            }
        };
        let entries = dyns
            .iter()
            .map(|d| (d.d_tag(self.endian), d.d_val(self.endian).into()))
            .take_while(|(tag, _)| *tag != elf::DT_NULL);
        Some(Tags(entries.collect()))
    }

    /// The section headers.
    pub fn sections(&self, c: &mut Checker) -> Option<SectionTable<'a, Elf>> {
        match self.header.sections(self.endian, self.data) {
            Ok(s) => Some(s),
            Err(e) => {
                c.fail(Requirement::ElfHeader, format!("bad section headers: {e}"));
                None
            }
        }
    }

    /// The dynamic symbols, which must be there.
    pub fn dynsym(
        &self,
        sections: &SectionTable<'a, Elf>,
        c: &mut Checker,
    ) -> Option<SymbolTable<'a, Elf>> {
        match sections.symbols(self.endian, self.data, elf::SHT_DYNSYM) {
            Ok(s) if !s.is_empty() => Some(s),
            _ => {
                c.fail(Requirement::Exports, "no readable .dynsym");
                None
            }
        }
    }

    /// The symbols' versions (a violation, not the end, when missing).
    pub fn versions(
        &self,
        sections: &SectionTable<'a, Elf>,
        c: &mut Checker,
    ) -> Option<VersionTable<'a, Elf>> {
        match sections.versions(self.endian, self.data) {
            Ok(Some(v)) => Some(v),
            _ => {
                c.fail(
                    Requirement::VersionDefinitions,
                    "no readable version tables",
                );
                None
            }
        }
    }

    /// The NUL-terminated string at `offset` in `DT_STRTAB`.
    pub fn dynstr(&self, tags: &Tags, offset: u64) -> Option<&'a [u8]> {
        let strtab = usize::try_from(tags.get(elf::DT_STRTAB)?).ok()?;
        let start = strtab.checked_add(usize::try_from(offset).ok()?)?;
        let rest = self.data.get(start..)?;
        Some(&rest[..rest.iter().position(|&b| b == 0)?])
    }

    /// The SysV hash table at file offset `at`, and its bucket count; `None`
    /// if it cannot be read or has no bucket.
    pub fn hash_table(&self, at: u64) -> Option<(u32, HashTable<'a, Elf>)> {
        let data = self.data.get(usize::try_from(at).ok()?..)?;
        let header = data.read_at::<elf::HashHeader<LE>>(0).ok()?;
        let nbucket = header.bucket_count.get(self.endian);
        if nbucket == 0 {
            return None;
        }
        Some((nbucket, HashTable::parse(self.endian, data).ok()?))
    }
}

impl<Elf: Class> Segments<'_, Elf> {
    /// The program headers as the build summary shows them.
    pub fn report(&self, endian: LE) -> Vec<Segment> {
        self.all
            .iter()
            .map(|ph| Segment {
                kind: segment_name(ph.p_type(endian)),
                flags: flag_text(ph.p_flags(endian).0),
                offset: ph.p_offset(endian).into(),
                vaddr: ph.p_vaddr(endian).into(),
                filesz: ph.p_filesz(endian).into(),
            })
            .collect()
    }
}

/// The `PT_*` name of `kind`, or its number.
pub(super) fn segment_name(kind: elf::ProgramType) -> String {
    let known = [
        (elf::PT_LOAD, "PT_LOAD"),
        (elf::PT_DYNAMIC, "PT_DYNAMIC"),
        (elf::PT_NOTE, "PT_NOTE"),
        (elf::PT_INTERP, "PT_INTERP"),
        (elf::PT_TLS, "PT_TLS"),
        (elf::PT_GNU_RELRO, "PT_GNU_RELRO"),
        (elf::PT_GNU_EH_FRAME, "PT_GNU_EH_FRAME"),
        (elf::PT_GNU_STACK, "PT_GNU_STACK"),
        (elf::PT_GNU_PROPERTY, "PT_GNU_PROPERTY"),
    ];
    match known.iter().find(|(k, _)| *k == kind) {
        Some((_, name)) => (*name).to_string(),
        None => format!("{:#x}", kind.0),
    }
}

/// `R`, `W`, `E` (or a space for each one missing), as `readelf` shows them.
pub(super) fn flag_text(flags: u32) -> String {
    let mut s = String::new();
    s.push(if flags & elf::PF_R.0 != 0 { 'R' } else { ' ' });
    s.push(if flags & elf::PF_W.0 != 0 { 'W' } else { ' ' });
    s.push(if flags & elf::PF_X.0 != 0 { 'E' } else { ' ' });
    s
}
