//! The image checker: every image rule (ARCHITECTURE.md) that can be read
//! from the bytes, checked with the `object` crate.
//!
//! `cargo xtask build-vdso` runs [`check_image`] on every image it builds and
//! refuses to write one that fails; the conformance tests run it on images
//! broken on purpose. Each [`Violation`] names the [`Requirement`] it breaks,
//! so the message says what to fix.
//!
//! The image is parsed once, stage by stage, into a typed view (`view`);
//! each group of requirements is one function over that view (`layout`:
//! header, size and segments; `dynamic`: relocations and hash tables;
//! `symbols`: soname, versions and exports), and the rules only one
//! architecture has live in its own module ([`aarch64`]), which the
//! [`Spec`] selects.

use std::fmt;

use object::elf::{self, FileHeader32, FileHeader64};
use object::LittleEndian as LE;

pub mod aarch64;
mod dynamic;
mod layout;
mod stack;
mod symbols;
mod view;

pub use aarch64::{
    is_archtimer_mode_test, is_cntvct_read, is_indirect_branch, BTI_C, BTI_JC, ISB, LANDING_PADS,
    NOP, SIGRETURN_CODE,
};

use crate::abi::Abi;
use view::{Class, File};

/// The image's SONAME, which is also the name of its base version.
pub const SONAME: &str = "linux-vdso.so.1";
/// Version of the arm64 entry points (musl, glibc, Go and rustix look here).
pub const VERSION_ARM64: &str = "LINUX_2.6.39";
/// Version of the `__vdso_*` aliases (32-bit musl and Go linux/arm names).
pub const VERSION_ALIASES: &str = "LINUX_2.6";
/// Size of Linux 6.12's own arm64 vDSO (Debian's 6.12.118, the first with
/// `__kernel_getrandom`): the image a kernel would map instead of ours.
pub const LINUX_6_12_IMAGE_SIZE: usize = 4696;
/// Largest 64-bit image: smaller than Linux 6.12's (so two 4 KiB pages).
pub const MAX_IMAGE_SIZE: usize = LINUX_6_12_IMAGE_SIZE - 1;
/// Largest compat image: one 4 KiB page, as Linux's `vdso32`.
pub const MAX_COMPAT_IMAGE_SIZE: usize = 4096;
/// Go 1.19's arm64 `vdsoSymbolKeys` carry this SysV hash for
/// `__kernel_clock_gettime`; it is really the hash of `__vdso_clock_gettime`.
/// Go walks the chain of bucket `GO_ARM64_CLOCK_GETTIME_HASH % nbucket` and
/// compares names, so `__kernel_clock_gettime` must be on that chain.
pub const GO_ARM64_CLOCK_GETTIME_HASH: u32 = 0x0d35_ec75;

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
pub const EXPORTS: [Export; 9] = [
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
        name: "__kernel_getrandom",
        version: VERSION_ARM64,
        alias_of: None,
        offset_const: "KERNEL_GETRANDOM",
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
/// SysV hash only, soname, version hashes) is the same rule.
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
    /// The image these rules are for; its architecture's own rules are
    /// checked besides the common ones.
    pub abi: Abi,
    /// The most bytes the file and its load may span (image rule 8).
    pub max_size: usize,
}

impl Spec {
    /// The rules of `abi`'s image.
    pub fn of(abi: Abi) -> &'static Spec {
        match abi {
            Abi::Aarch64 => &AARCH64,
            Abi::Compat => &COMPAT,
        }
    }
}

/// The 64-bit image (the image rules, ARCHITECTURE.md).
pub const AARCH64: Spec = Spec {
    what: "ELF64 little-endian ET_DYN EM_AARCH64",
    class32: false,
    machine: elf::EM_AARCH64,
    exports: &EXPORTS,
    versions: &[VERSION_ARM64, VERSION_ALIASES],
    go_lookup: "__kernel_clock_gettime",
    abi: Abi::Aarch64,
    max_size: MAX_IMAGE_SIZE,
};

/// The 32-bit compat image: for AArch32 processes (musl arm, Go linux/arm).
pub const COMPAT: Spec = Spec {
    what: "ELF32 little-endian ET_DYN EM_ARM",
    class32: true,
    machine: elf::EM_ARM,
    exports: &COMPAT_EXPORTS,
    versions: &[VERSION_ALIASES],
    go_lookup: "__vdso_clock_gettime",
    abi: Abi::Compat,
    max_size: MAX_COMPAT_IMAGE_SIZE,
};

/// An image rule (ARCHITECTURE.md) that an image can break.
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
    /// The image is smaller than Linux 6.12's (64-bit) or fits one page
    /// (compat).
    Size,
    /// A `PT_GNU_PROPERTY` note with `GNU_PROPERTY_AARCH64_FEATURE_1_BTI`,
    /// `bti c` at each time function's entry, no indirect branch inside.
    Bti,
    /// No call chain from an export uses more than `stack::MAX_STACK`
    /// bytes of stack.
    Stack,
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::ElfHeader => "image rule 1: ELF header (class, little-endian, ET_DYN, machine)",
            Self::OneLoadSegment => {
                "image rule 2: exactly one PT_LOAD, R+X, at offset and address 0"
            }
            Self::NoWritableSegment => "image rule 2: no writable segment",
            Self::ForbiddenSegment => "image rule 2: no PT_INTERP, PT_TLS or PT_GNU_RELRO",
            Self::DynamicInsideLoad => "image rule 2: PT_DYNAMIC inside the load segment",
            Self::NoteSegment => "image rule 2: PT_NOTE with a GNU build-id",
            Self::NoRelocations => "image rule 3: zero dynamic relocations",
            Self::NoUndefinedSymbols => "image rule 3: zero undefined symbols",
            Self::SysvHash => "image rule 4: DT_HASH present",
            Self::NoGnuHash => "image rule 4: no DT_GNU_HASH",
            Self::GoHashChain => "image rule 4: Go's hash bucket reaches its clock_gettime",
            Self::Soname => "image rule 5: DT_SONAME linux-vdso.so.1",
            Self::VersionDefinitions => "image rule 5: version definitions",
            Self::Exports => "image rule 6: exported symbols",
            Self::Sigreturn => "image rule 7: __kernel_rt_sigreturn bytes",
            Self::Size => {
                "image rule 8: smaller than Linux 6.12's image (64-bit), one 4 KiB page (compat)"
            }
            Self::Bti => {
                "image rule 9: BTI property note, landing pads, no indirect branches (SECURITY.md)"
            }
            Self::Stack => "image rule 9: at most 128 bytes of stack on any call chain",
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

/// Checks a 64-bit image against the image rules (ARCHITECTURE.md). Returns the summary of a good
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

/// The checks, in order: each stage of the view is parsed once, then the
/// rules that read it run.
fn check_into<Elf: Class>(data: &[u8], c: &mut Checker, spec: &Spec) -> Option<Report> {
    let file = File::<Elf>::parse(data, spec, c)?;
    layout::header(&file, spec, c);
    let segments = file.segments(c)?;
    layout::segments(&file, &segments, c);
    let load = layout::load(&file, &segments, spec, c)?;
    let dynamic = layout::dynamic(&file, &segments, &load, c)?;
    layout::build_id(&file, &segments, c);
    match spec.abi {
        Abi::Aarch64 => aarch64::property_note(&file, &segments, c),
        Abi::Compat => {}
    }
    let tags = file.tags(dynamic, c)?;
    dynamic::tags(&tags, spec, c);
    let sections = file.sections(c)?;
    dynamic::sections(&file, &sections, c);
    symbols::soname(&file, &tags, c);
    let dynsym = file.dynsym(&sections, c)?;
    let versions = file.versions(&sections, c);
    let version_names = symbols::version_definitions(&file, &sections, spec, c);
    let view = symbols::Dynsym {
        symbols: &dynsym,
        versions: versions.as_ref(),
        version_names: &version_names,
    };
    let found = symbols::exported(&file, &view, &load, spec, c);
    symbols::exports(&found, spec, c);
    let nbucket = dynamic::go_hash_chain(&file, &tags, &dynsym, spec, c);
    match spec.abi {
        Abi::Aarch64 => aarch64::code(&file, &sections, &found, c),
        Abi::Compat => {}
    }
    Some(Report {
        size: data.len(),
        segments: segments.report(file.endian),
        exports: spec
            .exports
            .iter()
            .filter_map(|e| found.get(e.name).cloned())
            .collect(),
        nbucket,
    })
}

#[cfg(test)]
mod tests {
    use super::elf_hash;

    /// The known values the image rules cite (ARCHITECTURE.md): Go's key for `__vdso_clock_gettime`
    /// and the `vd_hash` of `LINUX_2.6.39` in Linux's own vDSO.
    #[test]
    fn elf_hash_matches_known_values() {
        assert_eq!(elf_hash(b"__vdso_clock_gettime"), 0x0d35_ec75);
        assert_eq!(elf_hash(b"LINUX_2.6.39"), 0x075f_cb89);
    }
}
