//! The aarch64 image (`loader/vdso.so`): every shared rule, and the rules only A64 code has
//! (the `__kernel_rt_sigreturn` trampoline, image rule 7; no x18, image rule 9).

use std::collections::BTreeMap;
use std::process::Command;

use object::elf as oelf;
use vdso_tests::a64;
use vdso_tests::clients::go;
use vdso_tests::elf::*;
use vdso_tests::image::{self, EXPORTS, LINUX_2_6, LINUX_2_6_39, NOP, SONAME};

use crate::rules::{self, symbols, u32_at, Image};

/// The aarch64 image and what its rules expect.
static AARCH64: Image = Image {
    load: image::load,
    class: Class::Elf64,
    machine: EM_AARCH64,
    header_sizes: (64, 56),
    sym_size: 24,
    // PT_GNU_PROPERTY carries the BTI note of image rule 9.
    segments: &[
        PT_LOAD,
        PT_DYNAMIC,
        PT_NOTE,
        PT_GNU_EH_FRAME,
        PT_GNU_PROPERTY,
    ],
    exports: &EXPORTS,
    versions: &[SONAME, LINUX_2_6_39, LINUX_2_6],
    client_version_hash: (LINUX_2_6_39, 0x75f_cb89, "glibc (VDSO_HASH) and Go arm64"),
    go_key: (go::VDSO_SYMBOL_KEYS_ARM64[0], "__kernel_clock_gettime"),
    pages: 2,
};

rules::every_rule!(AARCH64);

// Image rule 7 -------------------------------------------------------------------------------

#[test]
fn rt_sigreturn_is_mov_x8_139_svc_0_after_a_nop_outside_the_symbol() {
    // libgcc's and glibc's unwinders recognise a signal frame by these exact words at the
    // return address, and look one instruction back.
    let img = (AARCH64.load)();
    let syms = symbols(&img);
    let s = syms
        .iter()
        .find(|s| s.name == "__kernel_rt_sigreturn")
        .expect("__kernel_rt_sigreturn");
    assert_eq!(s.size, 8, "the trampoline is exactly two instructions");
    let at = image::file_offset(&img, s.value).expect("inside the PT_LOAD");
    assert_eq!(
        [u32_at(&img, at), u32_at(&img, at + 4)],
        image::SIGRETURN_WORDS,
        "expected mov x8, #139; svc #0"
    );
    assert!(at >= 4, "no room for the nop");
    assert_eq!(u32_at(&img, at - 4), NOP, "the word before the trampoline");
    let nop = s.value - 4;
    for other in syms.iter().filter(|o| o.is_exported()) {
        assert!(
            !(other.value <= nop && nop < other.value + other.size),
            "the nop at {nop:#x} lies inside {}",
            other.name
        );
    }
}

// Image rule 9: x18 --------------------------------------------------------------------------

/// `(address, word)` of every instruction in the code sections: allocated, executable,
/// non-writable `PROGBITS` sections.
fn code_words(img: &[u8]) -> Vec<(u64, u32)> {
    let mut out = Vec::new();
    let code = image::sections(img).unwrap().into_iter().filter(|s| {
        s.kind == oelf::SHT_PROGBITS.0
            && s.flags & (oelf::SHF_ALLOC.0 | oelf::SHF_EXECINSTR.0)
                == oelf::SHF_ALLOC.0 | oelf::SHF_EXECINSTR.0
            && s.flags & oelf::SHF_WRITE.0 == 0
    });
    for s in code {
        for i in 0..s.size / 4 {
            out.push((s.addr + 4 * i, u32_at(img, s.offset + 4 * i)));
        }
    }
    assert!(!out.is_empty(), "no code section found");
    out
}

/// Whether an `objdump` operand string names x18 or w18 (not `#0x18`, not `x180`).
fn mentions_x18(operands: &str) -> bool {
    let b = operands.as_bytes();
    (0..b.len().saturating_sub(2)).any(|i| {
        (b[i] == b'x' || b[i] == b'w')
            && &b[i + 1..i + 3] == b"18"
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            && b.get(i + 3).is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

/// `address -> (word, operands)` from `aarch64-linux-gnu-objdump -d` of the image file.
fn objdump() -> BTreeMap<u64, (u32, String)> {
    let tool = std::env::var("VDSO_TESTS_OBJDUMP")
        .unwrap_or_else(|_| "aarch64-linux-gnu-objdump".to_string());
    let out = Command::new(&tool)
        .args(["-d", "-w"])
        .arg(image::path())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {tool}: {e}. Install the Debian package binutils-aarch64-linux-gnu \
                 (apt-get install binutils-aarch64-linux-gnu), or point VDSO_TESTS_OBJDUMP at \
                 an aarch64 objdump"
            )
        });
    assert!(
        out.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.splitn(3, '\t');
        let (Some(addr), Some(word), Some(text)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Some(addr) = addr.trim().strip_suffix(':') else {
            continue;
        };
        let (Ok(addr), Ok(word)) = (
            u64::from_str_radix(addr, 16),
            u32::from_str_radix(word.trim(), 16),
        ) else {
            continue;
        };
        // Drop comments and symbolic targets, which may contain anything.
        let text = text.split("//").next().unwrap_or_default();
        let text = text.split('<').next().unwrap_or_default();
        lines.insert(addr, (word, text.to_string()));
    }
    lines
}

#[test]
fn objdump_finds_no_use_of_x18() {
    // Every line objdump disassembles counts, whatever the section.
    let img = (AARCH64.load)();
    let listing = objdump();
    // A listing that misses an instruction would make this test pass vacuously.
    for (addr, word) in code_words(&img) {
        let (dumped, _) = listing
            .get(&addr)
            .unwrap_or_else(|| panic!("objdump shows no instruction at {addr:#x}"));
        assert_eq!(*dumped, word, "objdump's word at {addr:#x}");
    }
    let uses: Vec<String> = listing
        .iter()
        .filter(|(_, (_, text))| mentions_x18(text))
        .map(|(addr, (_, text))| format!("{addr:#x}: {}", text.trim()))
        .collect();
    assert!(
        uses.is_empty(),
        "x18 is the platform register and must never be touched:\n{}",
        uses.join("\n")
    );
}

#[test]
fn raw_encoding_scan_finds_no_use_of_x18() {
    // The tool-free second check: decode each word's general-purpose register fields.
    let img = (AARCH64.load)();
    let mut uses = Vec::new();
    let mut unknown = Vec::new();
    for (addr, word) in code_words(&img) {
        match a64::uses_x18(word) {
            Some(true) => uses.push(format!("{addr:#x}: {word:#010x}")),
            Some(false) => {}
            None => unknown.push(format!("{addr:#x}: {word:#010x}")),
        }
    }
    assert!(uses.is_empty(), "instructions naming x18/w18: {uses:?}");
    assert!(
        unknown.is_empty(),
        "the decoder in src/a64.rs does not model these words, so it cannot vouch for them \
         (extend it): {unknown:?}"
    );
}

#[test]
fn raw_encoding_scan_agrees_with_objdump_on_every_instruction() {
    let img = (AARCH64.load)();
    let listing = objdump();
    let mut disagreements = Vec::new();
    for (addr, word) in code_words(&img) {
        let Some((dumped, text)) = listing.get(&addr) else {
            disagreements.push(format!("{addr:#x}: objdump shows nothing"));
            continue;
        };
        assert_eq!(*dumped, word, "objdump's word at {addr:#x}");
        if let Some(ours) = a64::uses_x18(word) {
            if ours != mentions_x18(text) {
                disagreements.push(format!(
                    "{addr:#x}: {word:#010x} `{}`: decoder says {ours}",
                    text.trim()
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn objdump_operand_matcher_sees_registers_not_immediates() {
    assert!(mentions_x18("ldr\tx18, [x8, #8]"));
    assert!(mentions_x18("cbz\tw18, 7fc"));
    assert!(mentions_x18("sub\tx8, x14, x18"));
    assert!(!mentions_x18("add\tx0, x1, #0x18"));
    assert!(!mentions_x18("mov\tw8, #0x18"));
    assert!(!mentions_x18("ldr\tx8, [x18x]"));
}
