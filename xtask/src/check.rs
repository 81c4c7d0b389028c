//! The image checker: every requirement of DESIGN §1 that can be read from
//! the bytes, checked with the `object` crate.
//!
//! `cargo xtask build-vdso` runs [`check_image`] on every image it builds and
//! refuses to write one that fails; the conformance tests run it on images
//! broken on purpose. Each [`Violation`] names the [`Requirement`] it breaks,
//! so the message says what to fix.

use std::collections::BTreeMap;
use std::fmt;

use object::elf::{self, FileHeader32, FileHeader64};
use object::read::elf::{Dyn as _, FileHeader, ProgramHeader, SectionHeader as _, Sym as _};
use object::LittleEndian as LE;

/// The image's SONAME, which is also the name of its base version.
pub const SONAME: &str = "linux-vdso.so.1";
/// Version of the arm64 entry points (musl, glibc, Go and rustix look here).
pub const VERSION_ARM64: &str = "LINUX_2.6.39";
/// Version of the `__vdso_*` aliases (32-bit musl and Go linux/arm names).
pub const VERSION_ALIASES: &str = "LINUX_2.6";
/// Largest image the kernel maps: one page.
pub const MAX_IMAGE_SIZE: usize = 4096;
/// Go 1.19's arm64 `vdsoSymbolKeys` carry this SysV hash for
/// `__kernel_clock_gettime`; it is really the hash of `__vdso_clock_gettime`.
/// Go walks the chain of bucket `GO_ARM64_CLOCK_GETTIME_HASH % nbucket` and
/// compares names, so `__kernel_clock_gettime` must be on that chain.
pub const GO_ARM64_CLOCK_GETTIME_HASH: u32 = 0x0d35_ec75;

/// `__kernel_rt_sigreturn`: `mov x8, #139` (`__NR_rt_sigreturn`), `svc #0`.
pub const SIGRETURN_CODE: [u32; 2] = [0xd280_1168, 0xd400_0001];
/// The `nop` that must precede `__kernel_rt_sigreturn`, outside the symbol.
pub const NOP: u32 = 0xd503_201f;
/// `bti c`: the landing pad for `blr` (and `br x16`/`x17`).
pub const BTI_C: u32 = 0xd503_245f;
/// `bti jc`: a landing pad for every indirect branch.
pub const BTI_JC: u32 = 0xd503_24df;
/// The exports an indirect call reaches, which must start with a landing
/// pad. `__kernel_rt_sigreturn` is not one: the handler's `ret` reaches it,
/// BTI does not check `ret`, and the unwinders match its first two
/// instructions.
pub const LANDING_PADS: [&str; 3] = [
    "__kernel_clock_gettime",
    "__kernel_gettimeofday",
    "__kernel_clock_getres",
];

/// Whether `word` is a register-indirect branch other than `ret`: `br`,
/// `blr` and their pointer-authenticating forms (`braa`, `blraaz`, ...).
/// Those need a landing pad at their target in guarded pages.
pub fn is_indirect_branch(word: u32) -> bool {
    // "Unconditional branch (register)": bits 31..25 are 1101011, and
    // opc (bits 24..21) is 0000 BR, 0001 BLR, 1000 BRAA/BRAB, 1001 BLRAA/BLRAB
    // (0010 is RET, 0100 ERET, 0101 DRPS).
    word >> 25 == 0b110_1011 && matches!((word >> 21) & 0xf, 0b0000 | 0b0001 | 0b1000 | 0b1001)
}

/// One exported symbol.
#[derive(Debug, Clone, Copy)]
pub struct Export {
    /// Symbol name.
    pub name: &'static str,
    /// Version node it is defined in.
    pub version: &'static str,
    /// For an alias, the `__kernel_*` symbol it shares its address with.
    pub alias_of: Option<&'static str>,
    /// Name of the constant in the generated `loader/src/offsets.rs`.
    pub offset_const: &'static str,
}

/// Everything the image exports, and nothing else.
pub const EXPORTS: [Export; 8] = [
    Export {
        name: "__kernel_clock_gettime",
        version: VERSION_ARM64,
        alias_of: None,
        offset_const: "KERNEL_CLOCK_GETTIME",
    },
    Export {
        name: "__kernel_gettimeofday",
        version: VERSION_ARM64,
        alias_of: None,
        offset_const: "KERNEL_GETTIMEOFDAY",
    },
    Export {
        name: "__kernel_clock_getres",
        version: VERSION_ARM64,
        alias_of: None,
        offset_const: "KERNEL_CLOCK_GETRES",
    },
    Export {
        name: "__kernel_rt_sigreturn",
        version: VERSION_ARM64,
        alias_of: None,
        offset_const: "KERNEL_RT_SIGRETURN",
    },
    Export {
        name: "__vdso_clock_gettime",
        version: VERSION_ALIASES,
        alias_of: Some("__kernel_clock_gettime"),
        offset_const: "VDSO_CLOCK_GETTIME",
    },
    Export {
        name: "__vdso_clock_gettime64",
        version: VERSION_ALIASES,
        alias_of: Some("__kernel_clock_gettime"),
        offset_const: "VDSO_CLOCK_GETTIME64",
    },
    Export {
        name: "__vdso_gettimeofday",
        version: VERSION_ALIASES,
        alias_of: Some("__kernel_gettimeofday"),
        offset_const: "VDSO_GETTIMEOFDAY",
    },
    Export {
        name: "__vdso_clock_getres",
        version: VERSION_ALIASES,
        alias_of: Some("__kernel_clock_getres"),
        offset_const: "VDSO_CLOCK_GETRES",
    },
];

/// Everything the 32-bit compat image exports, and nothing else: Linux
/// arm64's `vdso32` set, all `@LINUX_2.6`.
pub const COMPAT_EXPORTS: [Export; 4] = [
    Export {
        name: "__vdso_clock_gettime",
        version: VERSION_ALIASES,
        alias_of: None,
        offset_const: "VDSO_CLOCK_GETTIME",
    },
    Export {
        name: "__vdso_clock_gettime64",
        version: VERSION_ALIASES,
        alias_of: None,
        offset_const: "VDSO_CLOCK_GETTIME64",
    },
    Export {
        name: "__vdso_gettimeofday",
        version: VERSION_ALIASES,
        alias_of: None,
        offset_const: "VDSO_GETTIMEOFDAY",
    },
    Export {
        name: "__vdso_clock_getres",
        version: VERSION_ALIASES,
        alias_of: None,
        offset_const: "VDSO_CLOCK_GETRES",
    },
];

/// Which image a check is for: what differs between the 64-bit image and
/// the 32-bit compat one. Everything else (one R+X load, no relocations,
/// SysV hash only, soname, version hashes, one page) is the same rule.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// What the image is, for messages.
    pub what: &'static str,
    /// ELFCLASS32 rather than ELFCLASS64.
    pub class32: bool,
    /// `e_machine`.
    pub machine: elf::Machine,
    /// The exports, all of them.
    pub exports: &'static [Export],
    /// The version definitions besides the base one.
    pub versions: &'static [&'static str],
    /// The symbol Go's runtime looks up with the SysV hash of
    /// `__vdso_clock_gettime` ([`GO_ARM64_CLOCK_GETTIME_HASH`]): on arm64
    /// (Go 1.19's wrong key) `__kernel_clock_gettime`, on arm the right one.
    pub go_lookup: &'static str,
    /// The aarch64-only rules: `__kernel_rt_sigreturn`'s bytes and BTI.
    pub aarch64_rules: bool,
}

/// The 64-bit image (DESIGN §1).
pub const AARCH64: Spec = Spec {
    what: "ELF64 little-endian ET_DYN EM_AARCH64",
    class32: false,
    machine: elf::EM_AARCH64,
    exports: &EXPORTS,
    versions: &[VERSION_ARM64, VERSION_ALIASES],
    go_lookup: "__kernel_clock_gettime",
    aarch64_rules: true,
};

/// The 32-bit compat image: for AArch32 processes (musl arm, Go linux/arm).
pub const COMPAT: Spec = Spec {
    what: "ELF32 little-endian ET_DYN EM_ARM",
    class32: true,
    machine: elf::EM_ARM,
    exports: &COMPAT_EXPORTS,
    versions: &[VERSION_ALIASES],
    go_lookup: "__vdso_clock_gettime",
    aarch64_rules: false,
};

/// A requirement of DESIGN §1 that an image can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// ELF64, little-endian, `ET_DYN`, `EM_AARCH64` (the compat image:
    /// ELF32, `EM_ARM`).
    ElfHeader,
    /// Exactly one `PT_LOAD`, R+X, `p_offset == p_vaddr == 0`.
    OneLoadSegment,
    /// No segment is writable.
    NoWritableSegment,
    /// No `PT_INTERP`, `PT_TLS` or `PT_GNU_RELRO`.
    ForbiddenSegment,
    /// A `PT_DYNAMIC` inside the loaded segment.
    DynamicInsideLoad,
    /// A `PT_NOTE` with the GNU build-id.
    NoteSegment,
    /// Zero dynamic relocations.
    NoRelocations,
    /// Zero undefined dynamic symbols.
    NoUndefinedSymbols,
    /// A SysV `DT_HASH` table.
    SysvHash,
    /// No `DT_GNU_HASH` (Go 1.19 would miss `__kernel_clock_gettime`).
    NoGnuHash,
    /// Go 1.19's bucket for `__kernel_clock_gettime` leads to it.
    GoHashChain,
    /// `DT_SONAME` is `linux-vdso.so.1`.
    Soname,
    /// `DT_VERSYM`/`DT_VERDEF` with the base version, `LINUX_2.6.39` and
    /// `LINUX_2.6`, each with the right `vd_hash`.
    VersionDefinitions,
    /// Exactly the expected functions, with sizes and versions.
    Exports,
    /// `__kernel_rt_sigreturn` is the exact trampoline, after a `nop`.
    Sigreturn,
    /// The image fits in one page.
    Size,
    /// A `PT_GNU_PROPERTY` note with `GNU_PROPERTY_AARCH64_FEATURE_1_BTI`,
    /// `bti c` at each time function's entry, no indirect branch inside.
    Bti,
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::ElfHeader => "§1.1 ELF header (class, little-endian, ET_DYN, machine)",
            Self::OneLoadSegment => "§1.2 exactly one PT_LOAD, R+X, at offset and address 0",
            Self::NoWritableSegment => "§1.2 no writable segment",
            Self::ForbiddenSegment => "§1.2 no PT_INTERP, PT_TLS or PT_GNU_RELRO",
            Self::DynamicInsideLoad => "§1.2 PT_DYNAMIC inside the load segment",
            Self::NoteSegment => "§1.2 PT_NOTE with a GNU build-id",
            Self::NoRelocations => "§1.3 zero dynamic relocations",
            Self::NoUndefinedSymbols => "§1.3 zero undefined symbols",
            Self::SysvHash => "§1.4 DT_HASH present",
            Self::NoGnuHash => "§1.4 no DT_GNU_HASH",
            Self::GoHashChain => "§1.4 Go's hash bucket reaches its clock_gettime",
            Self::Soname => "§1.5 DT_SONAME linux-vdso.so.1",
            Self::VersionDefinitions => "§1.5 version definitions",
            Self::Exports => "§1.6 exported symbols",
            Self::Sigreturn => "§1.7 __kernel_rt_sigreturn bytes",
            Self::Size => "§1.8 fits in one 4 KiB page",
            Self::Bti => "BTI: property note, landing pads, no indirect branches (SECURITY.md)",
        };
        f.write_str(text)
    }
}

/// One broken requirement, with what was found.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The requirement that is broken.
    pub requirement: Requirement,
    /// What the checker found.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.requirement, self.detail)
    }
}

/// A segment of a checked image.
#[derive(Debug, Clone)]
pub struct Segment {
    /// `PT_*` name.
    pub kind: String,
    /// `R`, `W`, `X` flags as text.
    pub flags: String,
    /// File offset.
    pub offset: u64,
    /// Virtual address.
    pub vaddr: u64,
    /// Size in the file.
    pub filesz: u64,
}

/// A symbol found in a checked image.
#[derive(Debug, Clone)]
pub struct FoundSymbol {
    /// Symbol name.
    pub name: String,
    /// Version name.
    pub version: String,
    /// Offset from the image start.
    pub value: u64,
    /// Size in bytes.
    pub size: u64,
}

/// What a passing image looks like, for the build summary.
#[derive(Debug, Clone)]
pub struct Report {
    /// File size in bytes.
    pub size: usize,
    /// Program headers.
    pub segments: Vec<Segment>,
    /// Exported functions, in [`Spec::exports`] order.
    pub exports: Vec<FoundSymbol>,
    /// SysV hash bucket count.
    pub nbucket: u32,
}

/// The SysV ELF hash (`elf_hash` of the System V ABI), as stored in `vd_hash`
/// and used for `DT_HASH` buckets.
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

struct Checker {
    violations: Vec<Violation>,
}

impl Checker {
    fn fail(&mut self, requirement: Requirement, detail: impl Into<String>) {
        self.violations.push(Violation {
            requirement,
            detail: detail.into(),
        });
    }

    fn expect(&mut self, ok: bool, requirement: Requirement, detail: impl FnOnce() -> String) {
        if !ok {
            self.fail(requirement, detail());
        }
    }
}

/// Checks a 64-bit image against DESIGN §1. Returns the summary of a good
/// image, or every requirement it breaks. Never panics on malformed input.
pub fn check_image(image: &[u8]) -> Result<Report, Vec<Violation>> {
    check_image_as(image, &AARCH64)
}

/// Checks a 32-bit compat image against the same rules ([`COMPAT`]).
pub fn check_compat_image(image: &[u8]) -> Result<Report, Vec<Violation>> {
    check_image_as(image, &COMPAT)
}

/// Checks `image` as `spec` says.
pub fn check_image_as(image: &[u8], spec: &Spec) -> Result<Report, Vec<Violation>> {
    let mut c = Checker {
        violations: Vec::new(),
    };
    let report = if spec.class32 {
        check_into::<FileHeader32<LE>>(image, &mut c, spec)
    } else {
        check_into::<FileHeader64<LE>>(image, &mut c, spec)
    };
    match report {
        Some(report) if c.violations.is_empty() => Ok(report),
        _ => {
            if c.violations.is_empty() {
                c.fail(Requirement::ElfHeader, "the file could not be parsed");
            }
            Err(c.violations)
        }
    }
}

fn check_into<Elf: FileHeader<Endian = LE>>(
    image: &[u8],
    c: &mut Checker,
    spec: &Spec,
) -> Option<Report> {
    use Requirement::*;
    let header = match Elf::parse(image) {
        Ok(h) => h,
        Err(e) => {
            c.fail(ElfHeader, format!("not a {} file: {e}", spec.what));
            return None;
        }
    };
    let endian = match header.endian() {
        Ok(e) => e,
        Err(e) => {
            c.fail(ElfHeader, format!("{e}"));
            return None;
        }
    };
    c.expect(header.e_type(endian) == elf::ET_DYN, ElfHeader, || {
        format!("e_type is {}, not ET_DYN", header.e_type(endian))
    });
    c.expect(header.e_machine(endian) == spec.machine, ElfHeader, || {
        format!(
            "e_machine is {}, not {} ({})",
            header.e_machine(endian),
            spec.machine.0,
            spec.what
        )
    });

    c.expect(image.len() <= MAX_IMAGE_SIZE, Size, || {
        format!("file is {} bytes, more than {MAX_IMAGE_SIZE}", image.len())
    });

    // Segments.
    let phdrs = match header.program_headers(endian, image) {
        Ok(p) => p,
        Err(e) => {
            c.fail(OneLoadSegment, format!("bad program headers: {e}"));
            return None;
        }
    };
    let mut segments = Vec::new();
    let mut loads = Vec::new();
    let mut dynamic = None;
    let mut notes = Vec::new();
    let mut properties = Vec::new();
    for ph in phdrs {
        let kind = ph.p_type(endian);
        let flags = ph.p_flags(endian).0;
        let name = segment_name(kind);
        segments.push(Segment {
            kind: name.clone(),
            flags: flag_text(flags),
            offset: ph.p_offset(endian).into(),
            vaddr: ph.p_vaddr(endian).into(),
            filesz: ph.p_filesz(endian).into(),
        });
        c.expect(flags & elf::PF_W.0 == 0, NoWritableSegment, || {
            format!("{name} segment is writable")
        });
        match kind {
            elf::PT_LOAD => loads.push(ph),
            elf::PT_DYNAMIC => dynamic = Some(ph),
            elf::PT_NOTE => notes.push(ph),
            elf::PT_GNU_PROPERTY => properties.push(ph),
            elf::PT_INTERP | elf::PT_TLS | elf::PT_GNU_RELRO => {
                c.fail(ForbiddenSegment, format!("has a {name} segment"))
            }
            _ => {}
        }
    }
    if loads.len() != 1 {
        c.fail(
            OneLoadSegment,
            format!("{} PT_LOAD segments, not one", loads.len()),
        );
    }
    let load = *loads.first()?;
    let load_end = load
        .p_vaddr(endian)
        .into()
        .checked_add(load.p_filesz(endian).into())?;
    c.expect(
        load.p_flags(endian).0 == elf::PF_R.0 | elf::PF_X.0,
        OneLoadSegment,
        || {
            format!(
                "PT_LOAD flags are {}, not R E",
                flag_text(load.p_flags(endian).0)
            )
        },
    );
    c.expect(
        load.p_offset(endian).into() == 0 && load.p_vaddr(endian).into() == 0,
        OneLoadSegment,
        || {
            format!(
                "PT_LOAD at offset {:#x}, address {:#x}; both must be 0",
                load.p_offset(endian).into(),
                load.p_vaddr(endian).into()
            )
        },
    );
    c.expect(
        load.p_memsz(endian).into() <= MAX_IMAGE_SIZE as u64,
        Size,
        || format!("PT_LOAD spans {} bytes", load.p_memsz(endian).into()),
    );
    let inside = |vaddr: u64, size: u64| vaddr.checked_add(size).is_some_and(|end| end <= load_end);

    let Some(dynamic) = dynamic else {
        c.fail(DynamicInsideLoad, "no PT_DYNAMIC segment");
        return None;
    };
    c.expect(
        inside(
            dynamic.p_vaddr(endian).into(),
            dynamic.p_filesz(endian).into(),
        ),
        DynamicInsideLoad,
        || "PT_DYNAMIC lies outside the PT_LOAD segment".into(),
    );
    // Whether segment `ph` holds a GNU note of type `kind` whose descriptor
    // satisfies `desc_ok`.
    let has_gnu_note = |ph: &Elf::ProgramHeader,
                        kind: elf::NoteType,
                        desc_ok: &dyn Fn(&[u8]) -> bool| {
        ph.notes(endian, image)
            .ok()
            .flatten()
            .is_some_and(|mut it| {
                std::iter::from_fn(|| it.next().ok().flatten()).any(|n| {
                    n.name() == elf::ELF_NOTE_GNU && n.n_type(endian) == kind && desc_ok(n.desc())
                })
            })
    };
    let has_build_id = notes
        .iter()
        .any(|ph| has_gnu_note(ph, elf::NT_GNU_BUILD_ID, &|_| true));
    c.expect(has_build_id, NoteSegment, || {
        "no PT_NOTE with a GNU build-id note".into()
    });

    // BTI: the property note, in a PT_NOTE that PT_GNU_PROPERTY also names
    // (ld.so reads the latter; `object` parses notes of the former).
    let bti_flagged = notes.iter().any(|ph| {
        let (offset, size) = (ph.p_offset(endian).into(), ph.p_filesz(endian).into());
        let named = properties
            .iter()
            .any(|p| p.p_offset(endian).into() == offset && p.p_filesz(endian).into() == size);
        named
            && has_gnu_note(ph, elf::NT_GNU_PROPERTY_TYPE_0, &|desc| {
                aarch64_feature_1_and(desc)
                    .is_some_and(|f| f & elf::GNU_PROPERTY_AARCH64_FEATURE_1_BTI != 0)
            })
    });
    c.expect(bti_flagged || !spec.aarch64_rules, Bti, || {
        "no PT_GNU_PROPERTY note with GNU_PROPERTY_AARCH64_FEATURE_1_BTI".into()
    });

    // Dynamic table.
    let dyns: &[Elf::Dyn] = match dynamic.dynamic(endian, image) {
        Ok(Some(d)) => d,
        _ => {
            c.fail(DynamicInsideLoad, "PT_DYNAMIC cannot be read");
            return None;
        }
    };
    let mut tags: BTreeMap<elf::DynamicTag, u64> = BTreeMap::new();
    for d in dyns {
        let tag = d.d_tag(endian);
        if tag == elf::DT_NULL {
            break;
        }
        tags.insert(tag, d.d_val(endian).into());
    }
    for (tag, name) in [
        (elf::DT_REL, "DT_REL"),
        (elf::DT_RELA, "DT_RELA"),
        (elf::DT_RELR, "DT_RELR"),
        (elf::DT_JMPREL, "DT_JMPREL"),
        (elf::DT_TEXTREL, "DT_TEXTREL"),
    ] {
        c.expect(!tags.contains_key(&tag), NoRelocations, || {
            format!("the dynamic table has {name}")
        });
    }
    for (tag, name) in [
        (elf::DT_RELSZ, "DT_RELSZ"),
        (elf::DT_RELASZ, "DT_RELASZ"),
        (elf::DT_RELRSZ, "DT_RELRSZ"),
        (elf::DT_PLTRELSZ, "DT_PLTRELSZ"),
    ] {
        let size = tags.get(&tag).copied().unwrap_or(0);
        c.expect(size == 0, NoRelocations, || format!("{name} is {size}"));
    }
    c.expect(tags.contains_key(&elf::DT_HASH), SysvHash, || {
        "no DT_HASH (musl and parse_vdso.c need it)".into()
    });
    c.expect(!tags.contains_key(&elf::DT_GNU_HASH), NoGnuHash, || {
        "DT_GNU_HASH present: Go 1.19 would look up the wrong hash there".into()
    });
    // rustix refuses an image whose symbol entries are not `Elf*_Sym`.
    let syment = tags.get(&elf::DT_SYMENT).copied();
    let sym_size = if spec.class32 { 16 } else { 24 };
    c.expect(syment == Some(sym_size), Exports, || {
        format!("DT_SYMENT is {syment:?}, not {sym_size}")
    });
    for (tag, name) in [(elf::DT_VERSYM, "DT_VERSYM"), (elf::DT_VERDEF, "DT_VERDEF")] {
        c.expect(tags.contains_key(&tag), VersionDefinitions, || {
            format!("no {name}")
        });
    }

    // Sections: relocation sections, symbols, versions.
    let sections = match header.sections(endian, image) {
        Ok(s) => s,
        Err(e) => {
            c.fail(ElfHeader, format!("bad section headers: {e}"));
            return None;
        }
    };
    for section in sections.iter() {
        let kind = section.sh_type(endian);
        if matches!(kind, elf::SHT_REL | elf::SHT_RELA | elf::SHT_RELR)
            && section.sh_size(endian).into() != 0
        {
            let name = sections.section_name(endian, section).unwrap_or(b"?");
            c.fail(
                NoRelocations,
                format!("relocation section {}", String::from_utf8_lossy(name)),
            );
        }
        if kind == elf::SHT_GNU_HASH {
            c.fail(NoGnuHash, "a SHT_GNU_HASH section is present");
        }
    }
    let dynstr = |offset: u64| -> Option<&[u8]> {
        let strtab = usize::try_from(*tags.get(&elf::DT_STRTAB)?).ok()?;
        let start = strtab.checked_add(usize::try_from(offset).ok()?)?;
        let rest = image.get(start..)?;
        Some(&rest[..rest.iter().position(|&b| b == 0)?])
    };
    let soname = tags.get(&elf::DT_SONAME).and_then(|&o| dynstr(o));
    c.expect(soname == Some(SONAME.as_bytes()), Soname, || {
        format!(
            "DT_SONAME is {:?}, not {SONAME}",
            soname.map(String::from_utf8_lossy)
        )
    });

    let symbols = match sections.symbols(endian, image, elf::SHT_DYNSYM) {
        Ok(s) if !s.is_empty() => s,
        _ => {
            c.fail(Exports, "no readable .dynsym");
            return None;
        }
    };
    let versions = match sections.versions(endian, image) {
        Ok(Some(v)) => Some(v),
        _ => {
            c.fail(VersionDefinitions, "no readable version tables");
            None
        }
    };

    // Version definitions: names and hashes.
    let mut version_names = Vec::new();
    if let Ok(Some((mut verdefs, link))) = sections.gnu_verdef(endian, image) {
        let strings = sections.strings(endian, image, link).unwrap_or_default();
        while let Ok(Some((def, mut auxs))) = verdefs.next() {
            let Ok(Some(aux)) = auxs.next() else { break };
            let Ok(name) = aux.name(endian, strings) else {
                break;
            };
            let name = String::from_utf8_lossy(name).into_owned();
            let hash = def.vd_hash.get(endian);
            c.expect(
                hash == elf_hash(name.as_bytes()),
                VersionDefinitions,
                || {
                    format!(
                        "vd_hash of {name} is {hash:#x}, ELF hash is {:#x}",
                        elf_hash(name.as_bytes())
                    )
                },
            );
            let base = def.vd_flags.get(endian).0 & elf::VER_FLG_BASE.0 != 0;
            version_names.push((name, base));
        }
    }
    let wanted = std::iter::once((SONAME, true)).chain(spec.versions.iter().map(|v| (*v, false)));
    for (want, base) in wanted {
        c.expect(
            version_names.iter().any(|(n, b)| n == want && *b == base),
            VersionDefinitions,
            || format!("no version definition {want} (found {version_names:?})"),
        );
    }

    // Symbols.
    let mut found: BTreeMap<String, FoundSymbol> = BTreeMap::new();
    for (index, sym) in symbols.enumerate() {
        if index.0 == 0 {
            continue;
        }
        let name =
            String::from_utf8_lossy(symbols.symbol_name(endian, sym).unwrap_or(b"?")).into_owned();
        if sym.st_shndx(endian) == elf::SHN_UNDEF {
            c.fail(NoUndefinedSymbols, format!("{name} is undefined"));
            continue;
        }
        let version = versions
            .as_ref()
            .and_then(|v| {
                v.version(v.version_index(endian, index).index())
                    .ok()
                    .flatten()
            })
            .map(|v| String::from_utf8_lossy(v.name()).into_owned())
            .unwrap_or_default();
        let bind = sym.st_bind();
        if bind == elf::STB_LOCAL {
            continue;
        }
        // binutils adds one ABS OBJECT symbol per version definition.
        if sym.st_shndx(endian) == elf::SHN_ABS
            && sym.st_type() == elf::STT_OBJECT
            && sym.st_size(endian).into() == 0
            && version_names.iter().any(|(n, _)| *n == name)
        {
            continue;
        }
        let Some(export) = spec.exports.iter().find(|e| e.name == name) else {
            c.fail(Exports, format!("{name} is exported but must not be"));
            continue;
        };
        c.expect(
            sym.st_type() == elf::STT_FUNC && bind == elf::STB_GLOBAL,
            Exports,
            || format!("{name} is not STT_FUNC STB_GLOBAL"),
        );
        let size: u64 = sym.st_size(endian).into();
        c.expect(size != 0, Exports, || format!("{name} has no size"));
        c.expect(version == export.version, Exports, || {
            format!("{name} has version {version:?}, not {}", export.version)
        });
        let value: u64 = sym.st_value(endian).into();
        c.expect(inside(value, size) && value != 0, Exports, || {
            format!("{name} at {value:#x} lies outside the loaded segment")
        });
        found.insert(
            name.clone(),
            FoundSymbol {
                name,
                version,
                value,
                size,
            },
        );
    }
    for export in spec.exports {
        let Some(sym) = found.get(export.name) else {
            c.fail(
                Exports,
                format!("{}@{} is missing", export.name, export.version),
            );
            continue;
        };
        if let Some(target) = export.alias_of.and_then(|t| found.get(t)) {
            c.expect(
                sym.value == target.value && sym.size == target.size,
                Exports,
                || {
                    format!(
                        "{} ({:#x}, {} bytes) is not an alias of {} ({:#x}, {} bytes)",
                        sym.name, sym.value, sym.size, target.name, target.value, target.size
                    )
                },
            );
        }
    }

    // Hash table, walked the way Go 1.19 walks it.
    let mut nbucket = 0;
    if let Some(&hash) = tags.get(&elf::DT_HASH) {
        match go_chain_reaches(image, hash, &symbols, endian, spec.go_lookup) {
            Some((n, true)) => nbucket = n,
            Some((n, false)) => {
                nbucket = n;
                c.fail(
                    GoHashChain,
                    format!(
                        "bucket {GO_ARM64_CLOCK_GETTIME_HASH:#x} % {n} does not lead to \
                         {}; choose nbucket so that it does",
                        spec.go_lookup
                    ),
                )
            }
            None => c.fail(SysvHash, "DT_HASH table cannot be read"),
        }
    }

    // The instruction at file offset `at` (offsets equal addresses: the one
    // PT_LOAD starts at 0).
    let word = |at: u64| -> Option<u32> {
        let at = usize::try_from(at).ok()?;
        Some(u32::from_le_bytes(image.get(at..at + 4)?.try_into().ok()?))
    };

    // The sigreturn trampoline.
    if let Some(sym) = found
        .get("__kernel_rt_sigreturn")
        .filter(|_| spec.aarch64_rules)
    {
        let code = [word(sym.value), word(sym.value + 4)];
        c.expect(
            code == SIGRETURN_CODE.map(Some) && sym.size == 8,
            Sigreturn,
            || {
                format!(
                    "__kernel_rt_sigreturn is {code:x?} ({} bytes), not mov x8, #139; svc #0",
                    sym.size
                )
            },
        );
        c.expect(
            word(sym.value.wrapping_sub(4)) == Some(NOP),
            Sigreturn,
            || "no nop before __kernel_rt_sigreturn".into(),
        );
    }

    // BTI: landing pads at the entries an indirect call reaches, and no
    // indirect branch in the code (so no other landing pad is needed).
    for name in LANDING_PADS.iter().filter(|_| spec.aarch64_rules) {
        if let Some(sym) = found.get(*name) {
            let first = word(sym.value);
            c.expect(matches!(first, Some(BTI_C | BTI_JC)), Bti, || {
                format!("{name} starts with {first:x?}, not bti c")
            });
        }
    }
    for section in sections.iter().filter(|_| spec.aarch64_rules) {
        if section.sh_flags(endian).0 & elf::SHF_EXECINSTR.0 == 0
            || section.sh_type(endian) != elf::SHT_PROGBITS
        {
            continue;
        }
        // The section's bytes as the file holds them (a corrupt header that
        // points outside the file is a violation, not a long loop).
        let Ok(code) = section.data(endian, image) else {
            c.fail(Bti, "an executable section lies outside the file");
            continue;
        };
        let start: u64 = section.sh_addr(endian).into();
        for (i, w) in code.chunks_exact(4).enumerate() {
            let w = u32::from_le_bytes(w.try_into().expect("4 bytes"));
            if is_indirect_branch(w) {
                let at = start.wrapping_add(4 * i as u64);
                c.fail(
                    Bti,
                    format!(
                        "indirect branch {w:#010x} at {at:#x} needs a landing pad at its target"
                    ),
                );
            }
        }
    }

    let exports = spec
        .exports
        .iter()
        .filter_map(|e| found.get(e.name).cloned())
        .collect();
    Some(Report {
        size: image.len(),
        segments,
        exports,
        nbucket,
    })
}

/// The `pr_data` of the first `GNU_PROPERTY_AARCH64_FEATURE_1_AND` in a
/// `NT_GNU_PROPERTY_TYPE_0` descriptor (ELF64: 8-byte aligned properties).
fn aarch64_feature_1_and(mut desc: &[u8]) -> Option<u32> {
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    while desc.len() >= 8 {
        let (kind, size) = (u32_at(desc, 0)?, usize::try_from(u32_at(desc, 4)?).ok()?);
        if kind == elf::GNU_PROPERTY_AARCH64_FEATURE_1_AND.0 && size == 4 {
            return u32_at(desc, 8);
        }
        desc = desc.get((8 + size).next_multiple_of(8)..)?;
    }
    None
}

/// Walks the SysV hash chain Go 1.19 walks for its `clock_gettime` (`name`,
/// looked up with the hash of `__vdso_clock_gettime`). Returns `nbucket`
/// and whether the chain reaches the symbol.
fn go_chain_reaches<Elf: FileHeader<Endian = LE>>(
    image: &[u8],
    hash_addr: u64,
    symbols: &object::read::elf::SymbolTable<'_, Elf>,
    endian: LE,
    name: &str,
) -> Option<(u32, bool)> {
    let word = |index: u64| -> Option<u32> {
        let at = usize::try_from(hash_addr.checked_add(index.checked_mul(4)?)?).ok()?;
        Some(u32::from_le_bytes(
            image.get(at..at.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    let nbucket = word(0)?;
    let nchain = word(1)?;
    if nbucket == 0 {
        return None;
    }
    let mut index = word(2 + u64::from(GO_ARM64_CLOCK_GETTIME_HASH % nbucket))?;
    // A chain visits each symbol at most once; more steps means a loop.
    for _ in 0..=nchain {
        if index == 0 {
            return Some((nbucket, false));
        }
        let sym = symbols.symbol(object::SymbolIndex(index as usize)).ok()?;
        if symbols.symbol_name(endian, sym).ok()? == name.as_bytes() {
            return Some((nbucket, true));
        }
        index = word(2 + u64::from(nbucket) + u64::from(index))?;
    }
    None
}

fn segment_name(kind: elf::ProgramType) -> String {
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

fn flag_text(flags: u32) -> String {
    let mut s = String::new();
    s.push(if flags & elf::PF_R.0 != 0 { 'R' } else { ' ' });
    s.push(if flags & elf::PF_W.0 != 0 { 'W' } else { ' ' });
    s.push(if flags & elf::PF_X.0 != 0 { 'E' } else { ' ' });
    s
}

#[cfg(test)]
mod tests {
    use super::elf_hash;

    /// The known values from DESIGN §1: Go's key for `__vdso_clock_gettime`
    /// and the `vd_hash` of `LINUX_2.6.39` in Linux's own vDSO.
    #[test]
    fn elf_hash_matches_known_values() {
        assert_eq!(elf_hash(b"__vdso_clock_gettime"), 0x0d35_ec75);
        assert_eq!(elf_hash(b"LINUX_2.6.39"), 0x075f_cb89);
    }
}
