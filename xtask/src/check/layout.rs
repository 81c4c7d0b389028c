//! The rules on the file's layout: the ELF header and the size (image
//! rules 1 and 8, ARCHITECTURE.md) and the segments (image rule 2).

use object::elf;
use object::read::elf::ProgramHeader as _;

use super::view::{flag_text, segment_name, Class, File, Segments};
use super::{Checker, Requirement, Spec};

/// The one `PT_LOAD`'s extent: where the image's addresses end.
pub(super) struct Load {
    end: u64,
}

impl Load {
    /// Whether `size` bytes at `vaddr` lie inside the loaded segment.
    pub fn holds(&self, vaddr: u64, size: u64) -> bool {
        vaddr.checked_add(size).is_some_and(|end| end <= self.end)
    }
}

/// Image rule 1: `ET_DYN` for `spec`'s machine (the class was checked by
/// parsing); image rule 8: the file is no larger than `spec.max_size`.
pub(super) fn header<Elf: Class>(file: &File<'_, Elf>, spec: &Spec, c: &mut Checker) {
    let (header, endian) = (file.header, file.endian);
    c.expect(
        header.e_type(endian) == elf::ET_DYN,
        Requirement::ElfHeader,
        || format!("e_type is {}, not ET_DYN", header.e_type(endian)),
    );
    c.expect(
        header.e_machine(endian) == spec.machine,
        Requirement::ElfHeader,
        || {
            format!(
                "e_machine is {}, not {} ({})",
                header.e_machine(endian),
                spec.machine.0,
                spec.what
            )
        },
    );
    c.expect(file.data.len() <= spec.max_size, Requirement::Size, || {
        format!(
            "file is {} bytes, more than {}",
            file.data.len(),
            spec.max_size
        )
    });
}

/// Image rule 2, for every segment: none is writable, and none is one a
/// vDSO must not have (`PT_INTERP`, `PT_TLS`, `PT_GNU_RELRO`).
pub(super) fn segments<Elf: Class>(
    file: &File<'_, Elf>,
    segments: &Segments<'_, Elf>,
    c: &mut Checker,
) {
    for ph in segments.all {
        let kind = ph.p_type(file.endian);
        let name = segment_name(kind);
        c.expect(
            ph.p_flags(file.endian).0 & elf::PF_W.0 == 0,
            Requirement::NoWritableSegment,
            || format!("{name} segment is writable"),
        );
        if matches!(kind, elf::PT_INTERP | elf::PT_TLS | elf::PT_GNU_RELRO) {
            c.fail(
                Requirement::ForbiddenSegment,
                format!("has a {name} segment"),
            );
        }
    }
}

/// Image rule 2: exactly one `PT_LOAD`, R+X, at offset and address 0, no
/// larger than `spec.max_size` (image rule 8). Returns its extent, if there
/// is one.
pub(super) fn load<Elf: Class>(
    file: &File<'_, Elf>,
    segments: &Segments<'_, Elf>,
    spec: &Spec,
    c: &mut Checker,
) -> Option<Load> {
    let endian = file.endian;
    if segments.loads.len() != 1 {
        c.fail(
            Requirement::OneLoadSegment,
            format!("{} PT_LOAD segments, not one", segments.loads.len()),
        );
    }
    let load = *segments.loads.first()?;
    let (offset, vaddr) = (load.p_offset(endian).into(), load.p_vaddr(endian).into());
    let end = vaddr.checked_add(load.p_filesz(endian).into())?;
    let flags = load.p_flags(endian).0;
    c.expect(
        flags == elf::PF_R.0 | elf::PF_X.0,
        Requirement::OneLoadSegment,
        || format!("PT_LOAD flags are {}, not R E", flag_text(flags)),
    );
    c.expect(
        offset == 0 && vaddr == 0,
        Requirement::OneLoadSegment,
        || format!("PT_LOAD at offset {offset:#x}, address {vaddr:#x}; both must be 0"),
    );
    let memsz: u64 = load.p_memsz(endian).into();
    c.expect(memsz <= spec.max_size as u64, Requirement::Size, || {
        format!("PT_LOAD spans {memsz} bytes")
    });
    Some(Load { end })
}

/// Image rule 2: a `PT_DYNAMIC` inside the loaded segment. Returns it, if
/// there is one.
pub(super) fn dynamic<'a, Elf: Class>(
    file: &File<'a, Elf>,
    segments: &Segments<'a, Elf>,
    load: &Load,
    c: &mut Checker,
) -> Option<&'a Elf::ProgramHeader> {
    let Some(dynamic) = segments.dynamic else {
        c.fail(Requirement::DynamicInsideLoad, "no PT_DYNAMIC segment");
        return None;
    };
    c.expect(
        load.holds(
            dynamic.p_vaddr(file.endian).into(),
            dynamic.p_filesz(file.endian).into(),
        ),
        Requirement::DynamicInsideLoad,
        || "PT_DYNAMIC lies outside the PT_LOAD segment".into(),
    );
    Some(dynamic)
}

/// Image rule 2: a `PT_NOTE` with the GNU build-id.
pub(super) fn build_id<Elf: Class>(
    file: &File<'_, Elf>,
    segments: &Segments<'_, Elf>,
    c: &mut Checker,
) {
    let has_build_id = segments.notes.iter().any(|ph| {
        file.gnu_notes(ph)
            .any(|note| note.n_type(file.endian) == elf::NT_GNU_BUILD_ID)
    });
    c.expect(has_build_id, Requirement::NoteSegment, || {
        "no PT_NOTE with a GNU build-id note".into()
    });
}
