//! The rules only the aarch64 image has: `__kernel_rt_sigreturn`'s exact
//! bytes (image rule 7, ARCHITECTURE.md) and BTI (image rule 9, SECURITY.md):
//! the property note, a landing pad at every entry an indirect call reaches,
//! and no indirect branch in the code.
//!
//! [`Spec::abi`](super::Spec::abi) selects them; the 32-bit compat image
//! has neither rule.

use std::collections::BTreeMap;

use object::elf;
use object::read::elf::{ProgramHeader as _, SectionHeader as _, SectionTable};

use super::view::{Class, File, Segments};
use super::{Checker, FoundSymbol, Requirement};

/// `__kernel_rt_sigreturn`: `mov x8, #139` (`__NR_rt_sigreturn`), `svc #0`.
pub const SIGRETURN_CODE: [u32; 2] = [0xd280_1168, 0xd400_0001];
/// The `nop` that must precede `__kernel_rt_sigreturn`, outside the symbol.
pub const NOP: u32 = 0xd503_201f;
/// `isb`: before every counter read, so it is not read speculatively.
pub const ISB: u32 = 0xd503_3fdf;
/// Whether `word` is `mrs xN, cntvct_el0` (op0 3, op1 3, CRn 14, CRm 0,
/// op2 2; any `Rt`).
pub fn is_cntvct_read(word: u32) -> bool {
    word & !0x1f == 0xd53b_e040
}
/// Whether `word` is `eor xN, xM, #0x100000000` (`CLOCKMODE_ARCHTIMER <<
/// 32`, any registers): the straight paths' test of `clock_mode`, in the
/// 64-bit word of `seq` and `clock_mode`.
pub fn is_archtimer_mode_test(word: u32) -> bool {
    word & !0x3ff == 0xd260_0000
}
/// `bti c`: the landing pad for `blr` (and `br x16`/`x17`).
pub const BTI_C: u32 = 0xd503_245f;
/// `bti jc`: a landing pad for every indirect branch.
pub const BTI_JC: u32 = 0xd503_24df;
/// The exports an indirect call reaches, which must start with a landing
/// pad. `__kernel_rt_sigreturn` is not one: the handler's `ret` reaches it,
/// BTI does not check `ret`, and the unwinders match its first two
/// instructions.
pub const LANDING_PADS: [&str; 4] = [
    "__kernel_clock_gettime",
    "__kernel_gettimeofday",
    "__kernel_clock_getres",
    "__kernel_getrandom",
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

/// BTI: the property note, in a `PT_NOTE` that `PT_GNU_PROPERTY` also names
/// (ld.so reads the latter; `object` parses notes of the former).
pub(super) fn property_note<Elf: Class>(
    file: &File<'_, Elf>,
    segments: &Segments<'_, Elf>,
    c: &mut Checker,
) {
    let endian = file.endian;
    let flagged = segments.notes.iter().any(|ph| {
        let (offset, size) = (ph.p_offset(endian).into(), ph.p_filesz(endian).into());
        let named = segments
            .properties
            .iter()
            .any(|p| p.p_offset(endian).into() == offset && p.p_filesz(endian).into() == size);
        named && file.gnu_notes(ph).any(|note| claims_bti(file, &note))
    });
    c.expect(flagged, Requirement::Bti, || {
        "no PT_GNU_PROPERTY note with GNU_PROPERTY_AARCH64_FEATURE_1_BTI".into()
    });
}

/// Whether `note` is an `NT_GNU_PROPERTY_TYPE_0` whose first 4-byte
/// `GNU_PROPERTY_AARCH64_FEATURE_1_AND` property has the BTI bit.
fn claims_bti<Elf: Class>(file: &File<'_, Elf>, note: &object::read::elf::Note<'_, Elf>) -> bool {
    let Some(mut properties) = note.gnu_properties(file.endian) else {
        return false;
    };
    std::iter::from_fn(|| properties.next().ok().flatten())
        .find(|p| p.pr_type() == elf::GNU_PROPERTY_AARCH64_FEATURE_1_AND && p.pr_data().len() == 4)
        .and_then(|p| p.data_u32(file.endian).ok())
        .is_some_and(|features| features & elf::GNU_PROPERTY_AARCH64_FEATURE_1_BTI != 0)
}

/// The rules on the code: the sigreturn trampoline, then BTI's landing pads
/// and the absence of indirect branches.
pub(super) fn code<Elf: Class>(
    file: &File<'_, Elf>,
    sections: &SectionTable<'_, Elf>,
    found: &BTreeMap<String, FoundSymbol>,
    c: &mut Checker,
) {
    if let Some(sym) = found.get("__kernel_rt_sigreturn") {
        sigreturn(file, sym, c);
    }
    for name in LANDING_PADS {
        if let Some(sym) = found.get(name) {
            let first = file.word(sym.value);
            c.expect(
                matches!(first, Some(BTI_C | BTI_JC)),
                Requirement::Bti,
                || format!("{name} starts with {first:x?}, not bti c"),
            );
        }
    }
    no_indirect_branches(file, sections, c);
    small_stack(file, sections, found, c);
}

/// Image rule 9's stack bound ([`super::stack`]) for every time export.
fn small_stack<Elf: Class>(
    file: &File<'_, Elf>,
    sections: &SectionTable<'_, Elf>,
    found: &BTreeMap<String, FoundSymbol>,
    c: &mut Checker,
) {
    let endian = file.endian;
    let mut words = BTreeMap::new();
    for section in sections.iter() {
        if section.sh_flags(endian).0 & elf::SHF_EXECINSTR.0 == 0 {
            continue;
        }
        // A section outside the file is reported by the BTI scan.
        let Ok(code) = section.data(endian, file.data) else {
            continue;
        };
        let start: u64 = section.sh_addr(endian).into();
        for (i, w) in code.chunks_exact(4).enumerate() {
            let w = u32::from_le_bytes(w.try_into().expect("4 bytes"));
            words.insert(start.wrapping_add(4 * i as u64), w);
        }
    }
    let code = super::stack::Code::new(words, found.values().map(|sym| sym.value));
    for name in LANDING_PADS {
        let Some(sym) = found.get(name) else { continue };
        let depth = code.depth_of(sym.value);
        c.expect(
            matches!(depth, Ok(n) if n <= super::stack::MAX_STACK),
            Requirement::Stack,
            || match depth {
                Ok(n) => format!("{name} uses {n} bytes of stack"),
                Err(why) => format!("{name}: unbounded stack: {why}"),
            },
        );
    }
}

/// Image rule 7: `__kernel_rt_sigreturn` is exactly `mov x8, #139; svc #0`,
/// after a `nop` that is outside the symbol (the unwinders look for both).
fn sigreturn<Elf: Class>(file: &File<'_, Elf>, sym: &FoundSymbol, c: &mut Checker) {
    let code = [file.word(sym.value), file.word(sym.value + 4)];
    c.expect(
        code == SIGRETURN_CODE.map(Some) && sym.size == 8,
        Requirement::Sigreturn,
        || {
            format!(
                "__kernel_rt_sigreturn is {code:x?} ({} bytes), not mov x8, #139; svc #0",
                sym.size
            )
        },
    );
    c.expect(
        file.word(sym.value.wrapping_sub(4)) == Some(NOP),
        Requirement::Sigreturn,
        || "no nop before __kernel_rt_sigreturn".into(),
    );
}

/// BTI: no indirect branch in any executable section, so no landing pad is
/// needed besides those at the entries.
fn no_indirect_branches<Elf: Class>(
    file: &File<'_, Elf>,
    sections: &SectionTable<'_, Elf>,
    c: &mut Checker,
) {
    let endian = file.endian;
    for section in sections.iter() {
        if section.sh_flags(endian).0 & elf::SHF_EXECINSTR.0 == 0
            || section.sh_type(endian) != elf::SHT_PROGBITS
        {
            continue;
        }
        // The section's bytes as the file holds them (a corrupt header that
        // points outside the file is a violation, not a long loop).
        let Ok(code) = section.data(endian, file.data) else {
            c.fail(
                Requirement::Bti,
                "an executable section lies outside the file",
            );
            continue;
        };
        let start: u64 = section.sh_addr(endian).into();
        for (i, w) in code.chunks_exact(4).enumerate() {
            let w = u32::from_le_bytes(w.try_into().expect("4 bytes"));
            if is_indirect_branch(w) {
                let at = start.wrapping_add(4 * i as u64);
                c.fail(
                    Requirement::Bti,
                    format!(
                        "indirect branch {w:#010x} at {at:#x} needs a landing pad at its target"
                    ),
                );
            }
        }
    }
}
