//! Which programs the harness runs, and where their segments go: the checks
//! a kernel's ELF loader makes before it commits to an exec (Linux
//! `fs/binfmt_elf.c`, `load_elf_binary`), as pure functions over the file's
//! bytes, so the host tests can feed them crafted headers.
//!
//! Supported, for one [`Arch`] at a time: ELF64 `EM_AARCH64` ([`parse`],
//! [`Arch::Aarch64`]) or ELF32 `EM_ARM` with an EABI version in `e_flags`
//! ([`parse_for`] with [`Arch::Arm`], what arm64 Linux runs as a compat
//! task); little-endian; and either `ET_EXEC` (a static executable, loaded
//! where it is linked) or `ET_DYN` without `PT_INTERP` (a static-PIE, loaded
//! at a base we choose). That covers static glibc, musl and Go programs.
//! Everything else gets an [`Error`] that says what the file is; nothing
//! here panics on any input.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// `e_machine` of aarch64.
pub const EM_AARCH64: u16 = 183;
/// `e_machine` of 32-bit Arm.
pub const EM_ARM: u16 = 40;
/// `e_flags` of an `EM_ARM` file: the EABI version (0: the old ABI, which
/// arm64 Linux refuses, `compat_elf_check_arch`).
pub const EF_ARM_EABI_MASK: u32 = 0xff00_0000;
/// `e_type`: an executable linked at fixed addresses.
pub const ET_EXEC: u16 = 2;
/// `e_type`: a position-independent object (shared library or PIE).
pub const ET_DYN: u16 = 3;
/// `p_type`: a loadable segment.
pub const PT_LOAD: u32 = 1;
/// `p_type`: the dynamic section.
pub const PT_DYNAMIC: u32 = 2;
/// `p_type`: the path of the program interpreter (the dynamic linker).
pub const PT_INTERP: u32 = 3;
/// `p_type`: the program header table itself.
pub const PT_PHDR: u32 = 6;
/// `p_type`: the stack's permissions (`PF_X`: executable stack).
pub const PT_GNU_STACK: u32 = 0x6474_e551;
/// `p_flags`: executable.
pub const PF_X: u32 = 1;
/// `p_flags`: writable.
pub const PF_W: u32 = 2;
/// `p_flags`: readable.
pub const PF_R: u32 = 4;
/// `d_tag`: a needed shared library.
const DT_NEEDED: u64 = 1;
/// `d_tag`: the end of the dynamic section.
const DT_NULL: u64 = 0;

/// Size of the ELF64 file header.
pub const EHDR_SIZE: usize = 64;
/// Size of one ELF64 program header (`AT_PHENT`).
pub const PHDR_SIZE: usize = 56;
/// Size of the ELF32 file header.
pub const EHDR32_SIZE: usize = 52;
/// Size of one ELF32 program header (`AT_PHENT` of a 32-bit program).
pub const PHDR32_SIZE: usize = 32;
/// The page size segments are mapped with.
pub const PAGE_SIZE: u64 = 4096;
/// Addresses at or above this are not user space on aarch64 Linux (48-bit
/// virtual addresses, `TASK_SIZE_64`).
pub const USER_ADDR_END: u64 = 1 << 48;
/// Addresses at or above this are not user space for a 32-bit task on
/// arm64 Linux (`TASK_SIZE_32`: 4 GiB less the page of the vectors).
pub const USER_ADDR_END_32: u64 = (1 << 32) - PAGE_SIZE;

/// The kind of program a harness or kernel runs: which ELF class and
/// machine it accepts, and what follows from them (word size, program
/// header size, the end of user space).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// ELF64 `EM_AARCH64`.
    Aarch64,
    /// ELF32 `EM_ARM`, EABI (a compat task on arm64 Linux).
    Arm,
}

impl Arch {
    /// The `e_machine` it accepts.
    pub const fn machine(self) -> u16 {
        match self {
            Arch::Aarch64 => EM_AARCH64,
            Arch::Arm => EM_ARM,
        }
    }
    /// Whether it is ELFCLASS64.
    pub const fn is_64bit(self) -> bool {
        matches!(self, Arch::Aarch64)
    }
    /// Bytes in one word of the initial stack (a pointer, `long`).
    pub const fn word(self) -> u64 {
        match self {
            Arch::Aarch64 => 8,
            Arch::Arm => 4,
        }
    }
    /// Size of the ELF file header.
    pub const fn ehdr_size(self) -> usize {
        match self {
            Arch::Aarch64 => EHDR_SIZE,
            Arch::Arm => EHDR32_SIZE,
        }
    }
    /// Size of one program header (`e_phentsize`, `AT_PHENT`).
    pub const fn phdr_size(self) -> usize {
        match self {
            Arch::Aarch64 => PHDR_SIZE,
            Arch::Arm => PHDR32_SIZE,
        }
    }
    /// The first address that is not user space.
    pub const fn user_addr_end(self) -> u64 {
        match self {
            Arch::Aarch64 => USER_ADDR_END,
            Arch::Arm => USER_ADDR_END_32,
        }
    }
    /// Its name in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64",
            Arch::Arm => "32-bit ARM",
        }
    }
    /// Where the fields this module reads lie, in the file header and in
    /// one program header.
    const fn fields(self) -> Fields {
        match self {
            Arch::Aarch64 => Fields {
                e_phoff: 32,
                e_flags: 48,
                e_phentsize: 54,
                e_phnum: 56,
                p_flags: 4,
                p_offset: 8,
                p_vaddr: 16,
                p_filesz: 32,
                p_memsz: 40,
            },
            Arch::Arm => Fields {
                e_phoff: 28,
                e_flags: 36,
                e_phentsize: 42,
                e_phnum: 44,
                p_flags: 24,
                p_offset: 4,
                p_vaddr: 8,
                p_filesz: 16,
                p_memsz: 20,
            },
        }
    }
}

/// Offsets of the header fields of one ELF class (`e_entry` is at 24 and
/// `p_type` at 0 in both).
struct Fields {
    e_phoff: u64,
    e_flags: u64,
    e_phentsize: u64,
    e_phnum: u64,
    p_flags: u64,
    p_offset: u64,
    p_vaddr: u64,
    p_filesz: u64,
    p_memsz: u64,
}

/// Why a file is not a program the harness runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than an ELF header.
    TooShort,
    /// Starts with `#!`.
    Script,
    /// No ELF magic.
    NotElf,
    /// `EI_CLASS` is not ELFCLASS64 (an ELF32 file where ELF64 is wanted).
    Not64Bit,
    /// `EI_CLASS` is not ELFCLASS32 (an ELF64 file where ELF32 is wanted).
    Not32Bit,
    /// `EI_DATA` is not ELFDATA2LSB.
    BigEndian,
    /// `e_machine` is not the one wanted.
    Machine {
        /// The file's `e_machine`.
        found: u16,
        /// What was wanted.
        wanted: Arch,
    },
    /// An `EM_ARM` file of the old ABI (no EABI version in `e_flags`).
    OldArmAbi(u32),
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN`.
    Type(u16),
    /// Has `PT_INTERP`: dynamically linked.
    Interpreter(String),
    /// `ET_DYN` without an entry point: a shared library.
    SharedLibrary,
    /// `ET_DYN` that needs other shared objects but has no interpreter.
    Needs(String),
    /// A header field is impossible; the text says which.
    Malformed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooShort => f.write_str("not an ELF file (shorter than an ELF header)"),
            Error::Script => f.write_str("a script (#!), not an ELF executable"),
            Error::NotElf => f.write_str("not an ELF file"),
            Error::Not64Bit => f.write_str("a 32-bit ELF file"),
            Error::Not32Bit => f.write_str("a 64-bit ELF file"),
            Error::BigEndian => f.write_str("a big-endian ELF file"),
            Error::Machine { found, wanted } => write!(
                f,
                "an ELF file for {} (e_machine {found}), not {}",
                machine_name(*found),
                wanted.name()
            ),
            Error::OldArmAbi(flags) => write!(
                f,
                "an old-ABI ARM file (e_flags {flags:#x}: no EABI version), not EABI"
            ),
            Error::Type(1) => f.write_str("a relocatable object (ET_REL), not an executable"),
            Error::Type(4) => f.write_str("a core dump (ET_CORE), not an executable"),
            Error::Type(t) => write!(f, "an ELF file of type {t}, not an executable"),
            Error::Interpreter(interp) => {
                write!(f, "dynamically linked (interpreter {interp})")
            }
            Error::SharedLibrary => f.write_str("a shared library (ET_DYN without an entry point)"),
            Error::Needs(what) => write!(
                f,
                "needs shared libraries ({what}) but names no interpreter"
            ),
            Error::Malformed(what) => write!(f, "a malformed ELF file: {what}"),
        }
    }
}

/// A name for the architectures people are likely to try.
fn machine_name(machine: u16) -> &'static str {
    match machine {
        3 => "x86 (i386)",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "PowerPC64",
        22 => "s390",
        40 => "32-bit ARM",
        62 => "x86-64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => "another architecture",
    }
}

/// How the program is placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `ET_EXEC`: at the addresses it is linked at.
    Static,
    /// `ET_DYN` without `PT_INTERP`: anywhere; it relocates itself.
    StaticPie,
}

/// One `PT_LOAD` program header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Where the segment starts in memory (before the load bias).
    pub vaddr: u64,
    /// Bytes in memory; beyond `filesz` they are zero (bss).
    pub memsz: u64,
    /// Where its bytes start in the file.
    pub offset: u64,
    /// Bytes taken from the file.
    pub filesz: u64,
    /// `PF_R | PF_W | PF_X`.
    pub flags: u32,
}

impl Segment {
    /// The end of the segment in memory (before the load bias).
    pub fn end(&self) -> u64 {
        // Cannot overflow: `parse` checked it.
        self.vaddr + self.memsz
    }
}

/// A validated program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// What it runs on (the [`Arch`] it was parsed for).
    pub arch: Arch,
    /// How it is placed.
    pub kind: Kind,
    /// `e_entry` (before the load bias). On [`Arch::Arm`] bit 0 set means
    /// the entry point is Thumb code (enter it with `bx`).
    pub entry: u64,
    /// The address of the program headers in memory (before the load bias):
    /// the `AT_PHDR` value, which libc uses to find `PT_TLS`.
    pub phdr: u64,
    /// `e_phnum` (`AT_PHNUM`).
    pub phnum: u16,
    /// The `PT_LOAD` segments, in ascending address order.
    pub segments: Vec<Segment>,
    /// Whether `PT_GNU_STACK` asks for an executable stack.
    pub exec_stack: bool,
}

/// A little-endian reader of a byte slice that fails instead of panicking.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn array<const N: usize>(&self, at: u64) -> Option<[u8; N]> {
        let at = usize::try_from(at).ok()?;
        self.0.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    fn u16(&self, at: u64) -> Option<u16> {
        self.array(at).map(u16::from_le_bytes)
    }
    fn u32(&self, at: u64) -> Option<u32> {
        self.array(at).map(u32::from_le_bytes)
    }
    fn u64(&self, at: u64) -> Option<u64> {
        self.array(at).map(u64::from_le_bytes)
    }
    /// An address-sized field (`Elf32_Addr`/`Elf32_Off` or the 64-bit ones).
    fn addr(&self, arch: Arch, at: u64) -> Option<u64> {
        if arch.is_64bit() {
            self.u64(at)
        } else {
            self.u32(at).map(u64::from)
        }
    }
    /// The bytes `[offset, offset + len)`, if the file has them.
    fn range(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.0.get(start..end)
    }
}

fn malformed(what: impl Into<String>) -> Error {
    Error::Malformed(what.into())
}

/// Checks that `file` is a program an aarch64 harness or kernel can run
/// and returns what the loader needs from it: [`parse_for`] with
/// [`Arch::Aarch64`].
pub fn parse(file: &[u8]) -> Result<Program, Error> {
    parse_for(Arch::Aarch64, file)
}

/// Checks that `file` is a static program for `arch` and returns what the
/// loader needs from it. The checks run in the order Linux's loader makes
/// them, so a file with several faults gets the first one's error:
/// identification, file header, each program header in table order, then
/// the image as a whole.
pub fn parse_for(arch: Arch, file: &[u8]) -> Result<Program, Error> {
    check_ident(arch, file)?;
    let bytes = Bytes(file);
    let header = file_header(arch, &bytes)?;
    let table = program_headers(arch, &bytes, &header)?;
    let (Some(first), Some(last)) = (table.segments.first(), table.segments.last()) else {
        return Err(malformed("no loadable segment"));
    };
    if header.kind == Kind::StaticPie {
        check_static_pie(arch, &bytes, &header, &table, last.end() - first.vaddr)?;
    }
    check_entry(arch, header.entry, &table.segments)?;
    let phdr = phdr_address(&header, &table)?;
    Ok(Program {
        arch,
        kind: header.kind,
        entry: header.entry,
        phdr,
        phnum: header.phnum,
        segments: table.segments,
        exec_stack: table.exec_stack,
    })
}

/// `e_ident`: not a script, long enough for `arch`'s file header, the ELF
/// magic, `arch`'s class, little-endian.
fn check_ident(arch: Arch, file: &[u8]) -> Result<(), Error> {
    if file.starts_with(b"#!") {
        return Err(Error::Script);
    }
    if file.len() < arch.ehdr_size() {
        return Err(if file.starts_with(b"\x7fELF") || file.len() < 4 {
            Error::TooShort
        } else {
            Error::NotElf
        });
    }
    if !file.starts_with(b"\x7fELF") {
        return Err(Error::NotElf);
    }
    // e_ident[EI_CLASS] (1: ELFCLASS32, 2: ELFCLASS64), e_ident[EI_DATA].
    match (arch.is_64bit(), file[4]) {
        (true, 2) | (false, 1) => {}
        (true, _) => return Err(Error::Not64Bit),
        (false, _) => return Err(Error::Not32Bit),
    }
    if file[5] != 1 {
        return Err(Error::BigEndian);
    }
    Ok(())
}

/// What the file header says, checked.
struct FileHeader {
    kind: Kind,
    /// `e_entry`.
    entry: u64,
    /// `e_phoff`.
    phoff: u64,
    /// `e_phnum`.
    phnum: u16,
    /// Bytes of the program header table, which lies inside the file.
    table_len: u64,
}

/// The file header after `e_ident`: `arch`'s machine (and on Arm an EABI
/// version), an executable or static-PIE type, and a program header table
/// of `arch`'s entry size that is not empty and lies inside the file.
fn file_header(arch: Arch, bytes: &Bytes<'_>) -> Result<FileHeader, Error> {
    let at = arch.fields();
    let phdr_size = arch.phdr_size();
    let word = |at: u64| {
        bytes
            .addr(arch, at)
            .ok_or_else(|| malformed("short header"))
    };
    let e_type = bytes.u16(16).ok_or(Error::TooShort)?;
    let e_machine = bytes.u16(18).ok_or(Error::TooShort)?;
    if e_machine != arch.machine() {
        return Err(Error::Machine {
            found: e_machine,
            wanted: arch,
        });
    }
    if arch == Arch::Arm {
        let flags = bytes.u32(at.e_flags).ok_or(Error::TooShort)?;
        if flags & EF_ARM_EABI_MASK == 0 {
            return Err(Error::OldArmAbi(flags));
        }
    }
    let kind = match e_type {
        ET_EXEC => Kind::Static,
        ET_DYN => Kind::StaticPie,
        other => return Err(Error::Type(other)),
    };
    let entry = word(24)?;
    let phoff = word(at.e_phoff)?;
    let phentsize = bytes.u16(at.e_phentsize).ok_or(Error::TooShort)?;
    let phnum = bytes.u16(at.e_phnum).ok_or(Error::TooShort)?;
    if usize::from(phentsize) != phdr_size {
        return Err(malformed(format!(
            "e_phentsize is {phentsize}, not {phdr_size}"
        )));
    }
    if phnum == 0 {
        return Err(malformed("no program headers"));
    }
    let table_len = u64::from(phnum) * phdr_size as u64;
    if bytes.range(phoff, table_len).is_none() {
        return Err(malformed("the program headers lie outside the file"));
    }
    Ok(FileHeader {
        kind,
        entry,
        phoff,
        phnum,
        table_len,
    })
}

/// One program header's fields, as read.
struct Phdr {
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

/// The program header at `ph`.
fn read_phdr(arch: Arch, bytes: &Bytes<'_>, ph: u64) -> Result<Phdr, Error> {
    let at = arch.fields();
    // Inside the table `file_header` checked, so every read succeeds.
    let short = || malformed("short phdr");
    let field = |at: u64| bytes.addr(arch, ph + at).ok_or_else(short);
    Ok(Phdr {
        p_type: bytes.u32(ph).ok_or_else(short)?,
        flags: bytes.u32(ph + at.p_flags).ok_or_else(short)?,
        offset: field(at.p_offset)?,
        vaddr: field(at.p_vaddr)?,
        filesz: field(at.p_filesz)?,
        memsz: field(at.p_memsz)?,
    })
}

/// What the program header table holds.
struct Table {
    /// The non-empty `PT_LOAD` segments, ascending and apart.
    segments: Vec<Segment>,
    /// `PT_PHDR`'s address, if there is one.
    pt_phdr: Option<u64>,
    /// `PT_DYNAMIC`'s file offset and size, if there is one.
    dynamic: Option<(u64, u64)>,
    /// `PT_GNU_STACK` with `PF_X`.
    exec_stack: bool,
}

/// Reads the program headers in table order; the first `PT_INTERP` or bad
/// `PT_LOAD` ends it with that error.
fn program_headers(arch: Arch, bytes: &Bytes<'_>, header: &FileHeader) -> Result<Table, Error> {
    let mut table = Table {
        segments: Vec::new(),
        pt_phdr: None,
        dynamic: None,
        exec_stack: false,
    };
    for i in 0..u64::from(header.phnum) {
        let ph = read_phdr(arch, bytes, header.phoff + i * arch.phdr_size() as u64)?;
        match ph.p_type {
            PT_INTERP => return Err(interpreter(bytes, &ph)),
            PT_LOAD => {
                if let Some(segment) = load_segment(arch, bytes, &ph, table.segments.last())? {
                    table.segments.push(segment);
                }
            }
            PT_PHDR => table.pt_phdr = Some(ph.vaddr),
            PT_DYNAMIC => table.dynamic = Some((ph.offset, ph.filesz)),
            PT_GNU_STACK => table.exec_stack = ph.flags & PF_X != 0,
            _ => {}
        }
    }
    Ok(table)
}

/// The error for a `PT_INTERP`: the interpreter's path, up to its NUL.
fn interpreter(bytes: &Bytes<'_>, ph: &Phdr) -> Error {
    let path = bytes
        .range(ph.offset, ph.filesz)
        .map(|raw| {
            let raw = raw.split(|&b| b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(raw).into_owned()
        })
        .unwrap_or_else(|| "outside the file".to_string());
    Error::Interpreter(path)
}

/// A `PT_LOAD` checked: no more file bytes than memory bytes, its bytes in
/// the file, its end in user space, and (unless empty, which is skipped:
/// `None`) after the segment `before`.
fn load_segment(
    arch: Arch,
    bytes: &Bytes<'_>,
    ph: &Phdr,
    before: Option<&Segment>,
) -> Result<Option<Segment>, Error> {
    let vaddr = ph.vaddr;
    if ph.filesz > ph.memsz {
        return Err(malformed(format!(
            "segment at {vaddr:#x} has more file bytes than memory bytes"
        )));
    }
    if bytes.range(ph.offset, ph.filesz).is_none() {
        return Err(malformed(format!(
            "segment at {vaddr:#x} lies outside the file"
        )));
    }
    match vaddr.checked_add(ph.memsz) {
        Some(end) if end <= arch.user_addr_end() => {}
        _ => {
            return Err(malformed(format!(
                "segment at {vaddr:#x} ends beyond user space"
            )))
        }
    }
    if ph.memsz == 0 {
        return Ok(None);
    }
    if before.is_some_and(|last| vaddr < last.end()) {
        return Err(malformed(format!(
            "segment at {vaddr:#x} overlaps the one before or is out of order"
        )));
    }
    Ok(Some(Segment {
        vaddr,
        memsz: ph.memsz,
        offset: ph.offset,
        filesz: ph.filesz,
        flags: ph.flags,
    }))
}

/// A static-PIE's own checks: an entry point (else it is a library), no
/// `DT_NEEDED`, and segments spanning at most half the address space
/// (`span` bytes): its image is moved as a whole, so only its size must fit
/// user space once placed.
fn check_static_pie(
    arch: Arch,
    bytes: &Bytes<'_>,
    header: &FileHeader,
    table: &Table,
    span: u64,
) -> Result<(), Error> {
    if header.entry == 0 {
        return Err(Error::SharedLibrary);
    }
    if let Some((offset, len)) = table.dynamic {
        if let Some(needed) = needed_count(bytes, arch, offset, len) {
            return Err(Error::Needs(needed));
        }
    }
    if span > arch.user_addr_end() / 2 {
        return Err(malformed(
            "the segments span more than half the address space",
        ));
    }
    Ok(())
}

/// The entry point lies in an executable segment.
fn check_entry(arch: Arch, entry: u64, segments: &[Segment]) -> Result<(), Error> {
    // On Arm, bit 0 of the entry point selects Thumb; the code is at the
    // even address.
    let code = match arch {
        Arch::Aarch64 => entry,
        Arch::Arm => entry & !1,
    };
    let runs_entry = |s: &Segment| s.flags & PF_X != 0 && s.vaddr <= code && code < s.end();
    if !segments.iter().any(runs_entry) {
        return Err(malformed(format!(
            "the entry point {entry:#x} is not in an executable segment"
        )));
    }
    Ok(())
}

/// `AT_PHDR` as Linux computes it (6.12 `load_elf_binary`): the address at
/// which the load segment holding the header table maps it; else what
/// `PT_PHDR` says.
fn phdr_address(header: &FileHeader, table: &Table) -> Result<u64, Error> {
    let (phoff, end) = (header.phoff, header.phoff + header.table_len);
    table
        .segments
        .iter()
        .find(|s| s.offset <= phoff && end <= s.offset + s.filesz)
        .map(|s| s.vaddr + (phoff - s.offset))
        .or(table.pt_phdr)
        .ok_or_else(|| malformed("the program headers are not in a loadable segment"))
}

/// `Some(description)` if the dynamic section at `offset` names a
/// `DT_NEEDED` library: such a program cannot run without a dynamic linker.
fn needed_count(bytes: &Bytes<'_>, arch: Arch, offset: u64, len: u64) -> Option<String> {
    // One entry: a signed tag and a value, each a word.
    let entry = 2 * arch.word();
    let mut count = 0;
    for i in 0..len / entry {
        let Some(tag) = bytes.addr(arch, offset + i * entry) else {
            break;
        };
        match tag {
            DT_NULL => break,
            DT_NEEDED => count += 1,
            _ => {}
        }
    }
    (count > 0).then(|| format!("{count} DT_NEEDED entries"))
}

/// Protection bits for `mmap`/`mprotect`.
pub mod prot {
    /// `PROT_READ`.
    pub const READ: u32 = 1;
    /// `PROT_WRITE`.
    pub const WRITE: u32 = 2;
    /// `PROT_EXEC`.
    pub const EXEC: u32 = 4;
}

/// The `mprotect` protection for segment flags.
pub fn protection(flags: u32) -> u32 {
    let mut prot = 0;
    if flags & PF_R != 0 {
        prot |= prot::READ;
    }
    if flags & PF_W != 0 {
        prot |= prot::WRITE;
    }
    if flags & PF_X != 0 {
        prot |= prot::EXEC;
    }
    prot
}

/// A page-aligned range of the client's address space and its final
/// protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First byte (page-aligned).
    pub start: u64,
    /// One past the last byte (page-aligned).
    pub end: u64,
    /// `PROT_*` bits.
    pub prot: u32,
}

fn page_down(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

fn page_up(addr: u64) -> Option<u64> {
    Some(addr.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1))
}

impl Program {
    /// The load bias: 0 for a static executable; for a static-PIE, what
    /// moves its first segment's page to `pie_base` (page-aligned). Add it
    /// with `wrapping_add`: it is negative for a PIE linked above the base.
    pub fn load_bias(&self, pie_base: u64) -> u64 {
        match self.kind {
            Kind::Static => 0,
            // `segments` is never empty after `parse`.
            Kind::StaticPie => {
                pie_base.wrapping_sub(page_down(self.segments.first().map_or(0, |s| s.vaddr)))
            }
        }
    }

    /// The pages to map, at `bias`, each with its final protection, in
    /// ascending order and disjoint. Two segments may share a page (the end
    /// of one and the start of the next); that page gets both
    /// protections, as it would with Linux, which maps the segments one
    /// after the other over it. `None` if a region would leave user space.
    pub fn regions(&self, bias: u64) -> Option<Vec<Region>> {
        let mut regions: Vec<Region> = Vec::new();
        for segment in &self.segments {
            // The bias is an offset modulo 2^64 (a static-PIE linked above
            // its new base moves down).
            let start = page_down(segment.vaddr.wrapping_add(bias));
            let end = page_up(segment.end().wrapping_add(bias))?;
            if end <= start || end > self.arch.user_addr_end() {
                return None;
            }
            let prot = protection(segment.flags);
            match regions.last_mut() {
                // Sorted, byte-disjoint segments share at most the page
                // holding the previous segment's end.
                Some(last) if start < last.end => {
                    let shared_end = last.end.min(end);
                    let tail = Region {
                        start: shared_end,
                        end,
                        prot,
                    };
                    let shared = Region {
                        start,
                        end: shared_end,
                        prot: last.prot | prot,
                    };
                    last.end = start;
                    if last.start == last.end {
                        regions.pop();
                    }
                    regions.push(shared);
                    if tail.start < tail.end {
                        regions.push(tail);
                    }
                }
                _ => regions.push(Region { start, end, prot }),
            }
        }
        Some(regions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// A little ELF64 (or, with `class32`, ELF32) file: header, program
    /// headers right after it, then `body` bytes. The field offsets are
    /// written out here from the ELF specification, independently of
    /// [`Arch`]'s table.
    struct Builder {
        class32: bool,
        e_type: u16,
        machine: u16,
        e_flags: u32,
        entry: u64,
        phdrs: Vec<(u32, u32, u64, u64, u64, u64)>, // type, flags, offset, vaddr, filesz, memsz
        size: usize,
    }

    impl Builder {
        /// A static executable like a static musl one: text R+X at 0x400000
        /// covering the headers, data RW with bss after it.
        fn static_exe() -> Builder {
            Builder {
                class32: false,
                e_type: ET_EXEC,
                machine: EM_AARCH64,
                e_flags: 0,
                entry: 0x400100,
                phdrs: vec![
                    (PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1000, 0x1000),
                    (PT_LOAD, PF_R | PF_W, 0x1000, 0x411000, 0x100, 0x2000),
                    (PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0),
                ],
                size: 0x1100,
            }
        }

        /// The same as a static armhf EABI5 executable (ELF32, `EM_ARM`,
        /// linked at 0x10000 as arm-linux-gnueabihf-ld does) with a Thumb
        /// entry point.
        fn static_arm_exe() -> Builder {
            Builder {
                class32: true,
                e_type: ET_EXEC,
                machine: 40,
                e_flags: 0x0500_0400, // EF_ARM_EABI_VER5 | EF_ARM_ABI_FLOAT_HARD
                entry: 0x10101,
                phdrs: vec![
                    (PT_LOAD, PF_R | PF_X, 0, 0x10000, 0x1000, 0x1000),
                    (PT_LOAD, PF_R | PF_W, 0x1000, 0x21000, 0x100, 0x2000),
                    (PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0),
                ],
                size: 0x1100,
            }
        }

        /// The same program as a static-PIE linked at `base` (its text
        /// there, the data as far above it as before) entered at `entry`.
        fn pie_at(mut self, base: u64, entry: u64) -> Builder {
            let text = self.phdrs[0].3;
            self.e_type = ET_DYN;
            self.entry = entry;
            self.phdrs[0].3 = base;
            self.phdrs[1].3 = self.phdrs[1].3 - text + base;
            self
        }

        fn bytes(&self) -> Vec<u8> {
            if self.class32 {
                return self.bytes32();
            }
            let mut file = vec![0u8; self.size.max(64 + 56 * self.phdrs.len())];
            file[..4].copy_from_slice(b"\x7fELF");
            file[4] = 2;
            file[5] = 1;
            file[6] = 1;
            file[16..18].copy_from_slice(&self.e_type.to_le_bytes());
            file[18..20].copy_from_slice(&self.machine.to_le_bytes());
            file[24..32].copy_from_slice(&self.entry.to_le_bytes());
            file[32..40].copy_from_slice(&64u64.to_le_bytes());
            file[48..52].copy_from_slice(&self.e_flags.to_le_bytes());
            file[52..54].copy_from_slice(&64u16.to_le_bytes());
            file[54..56].copy_from_slice(&56u16.to_le_bytes());
            file[56..58].copy_from_slice(&(self.phdrs.len() as u16).to_le_bytes());
            for (i, &(p_type, flags, offset, vaddr, filesz, memsz)) in self.phdrs.iter().enumerate()
            {
                let ph = &mut file[64 + i * 56..][..56];
                ph[0..4].copy_from_slice(&p_type.to_le_bytes());
                ph[4..8].copy_from_slice(&flags.to_le_bytes());
                ph[8..16].copy_from_slice(&offset.to_le_bytes());
                ph[16..24].copy_from_slice(&vaddr.to_le_bytes());
                ph[24..32].copy_from_slice(&vaddr.to_le_bytes());
                ph[32..40].copy_from_slice(&filesz.to_le_bytes());
                ph[40..48].copy_from_slice(&memsz.to_le_bytes());
                ph[48..56].copy_from_slice(&0x1000u64.to_le_bytes());
            }
            file
        }

        /// `Elf32_Ehdr` (52 bytes) and `Elf32_Phdr`s (32 bytes each):
        /// addresses are 4 bytes, and `p_flags` comes after `p_memsz`.
        fn bytes32(&self) -> Vec<u8> {
            let w = |v: u64| u32::try_from(v).unwrap().to_le_bytes();
            let mut file = vec![0u8; self.size.max(52 + 32 * self.phdrs.len())];
            file[..4].copy_from_slice(b"\x7fELF");
            file[4] = 1;
            file[5] = 1;
            file[6] = 1;
            file[16..18].copy_from_slice(&self.e_type.to_le_bytes());
            file[18..20].copy_from_slice(&self.machine.to_le_bytes());
            file[20..24].copy_from_slice(&1u32.to_le_bytes());
            file[24..28].copy_from_slice(&w(self.entry));
            file[28..32].copy_from_slice(&52u32.to_le_bytes());
            file[36..40].copy_from_slice(&self.e_flags.to_le_bytes());
            file[40..42].copy_from_slice(&52u16.to_le_bytes());
            file[42..44].copy_from_slice(&32u16.to_le_bytes());
            file[44..46].copy_from_slice(&(self.phdrs.len() as u16).to_le_bytes());
            for (i, &(p_type, flags, offset, vaddr, filesz, memsz)) in self.phdrs.iter().enumerate()
            {
                let ph = &mut file[52 + i * 32..][..32];
                ph[0..4].copy_from_slice(&p_type.to_le_bytes());
                ph[4..8].copy_from_slice(&w(offset));
                ph[8..12].copy_from_slice(&w(vaddr));
                ph[12..16].copy_from_slice(&w(vaddr));
                ph[16..20].copy_from_slice(&w(filesz));
                ph[20..24].copy_from_slice(&w(memsz));
                ph[24..28].copy_from_slice(&flags.to_le_bytes());
                ph[28..32].copy_from_slice(&0x1000u32.to_le_bytes());
            }
            file
        }
    }

    fn parse_arm(file: &[u8]) -> Result<Program, Error> {
        parse_for(Arch::Arm, file)
    }

    /// Text's protection, as `Region::prot`.
    const RX: u32 = prot::READ | prot::EXEC;
    /// Data's protection.
    const RW: u32 = prot::READ | prot::WRITE;

    fn region(start: u64, end: u64, prot: u32) -> Region {
        Region { start, end, prot }
    }

    /// `b` for `machine` is refused by `arch` as of the wrong machine; the
    /// error's message.
    fn machine_refused(arch: Arch, mut b: Builder, machine: u16) -> String {
        b.machine = machine;
        let err = parse_for(arch, &b.bytes()).unwrap_err();
        let wanted = arch;
        assert_eq!(
            err,
            Error::Machine {
                found: machine,
                wanted
            }
        );
        err.to_string()
    }

    /// `file` cut short anywhere is an error for `arch`, never a panic.
    fn every_truncation_fails(arch: Arch, file: &[u8]) {
        for len in 0..file.len() {
            assert!(parse_for(arch, &file[..len]).is_err(), "truncated to {len}");
        }
    }

    #[test]
    fn static_arm_executable_is_accepted_with_its_segments_phdr_and_thumb_entry() {
        let program = parse_arm(&Builder::static_arm_exe().bytes()).unwrap();
        assert_eq!(program.arch, Arch::Arm);
        assert_eq!(program.kind, Kind::Static);
        assert_eq!(program.entry, 0x10101, "the Thumb bit stays (AT_ENTRY)");
        assert_eq!(
            program.phdr, 0x10034,
            "headers at file offset 52 of the text"
        );
        assert_eq!(program.phnum, 3);
        assert_eq!(
            program.segments,
            vec![
                Segment {
                    vaddr: 0x10000,
                    memsz: 0x1000,
                    offset: 0,
                    filesz: 0x1000,
                    flags: PF_R | PF_X
                },
                Segment {
                    vaddr: 0x21000,
                    memsz: 0x2000,
                    offset: 0x1000,
                    filesz: 0x100,
                    flags: PF_R | PF_W
                },
            ]
        );
        assert_eq!(
            program.regions(0).unwrap(),
            vec![region(0x10000, 0x11000, RX), region(0x21000, 0x23000, RW)]
        );
    }

    #[test]
    fn arm_entry_point_must_be_in_text_with_or_without_the_thumb_bit() {
        let mut b = Builder::static_arm_exe();
        b.entry = 0x10100; // ARM state
        assert_eq!(parse_arm(&b.bytes()).unwrap().entry, 0x10100);
        b.entry = 0x10fff; // Thumb code at 0x10ffe: the last halfword of text
        assert!(parse_arm(&b.bytes()).is_ok());
        b.entry = 0x11001; // Thumb, but past the text
        assert!(matches!(parse_arm(&b.bytes()), Err(Error::Malformed(_))));
        b.entry = 0x21001; // in data
        assert!(matches!(parse_arm(&b.bytes()), Err(Error::Malformed(_))));
    }

    #[test]
    fn each_arch_refuses_the_other_class_and_machine() {
        let arm = Builder::static_arm_exe().bytes();
        let arm64 = Builder::static_exe().bytes();
        assert_eq!(parse(&arm), Err(Error::Not64Bit));
        assert_eq!(parse_arm(&arm64), Err(Error::Not32Bit));
        assert_eq!(
            parse_arm(&arm64).unwrap_err().to_string(),
            "a 64-bit ELF file"
        );
        // An ELF32 file of another machine (i386) names it.
        let err = machine_refused(Arch::Arm, Builder::static_arm_exe(), 3);
        assert!(err.contains("x86 (i386)"), "{err}");
        assert!(err.ends_with("not 32-bit ARM"), "{err}");
    }

    #[test]
    fn old_abi_arm_file_is_refused_as_linux_does() {
        let mut b = Builder::static_arm_exe();
        b.e_flags = 0x400; // hard-float flag, but EABI version 0
        let err = parse_arm(&b.bytes()).unwrap_err();
        assert_eq!(err, Error::OldArmAbi(0x400));
        assert!(err.to_string().contains("old-ABI"), "{err}");
        b.e_flags = 0x0400_0000; // EABI version 4, soft-float: fine
        assert!(parse_arm(&b.bytes()).is_ok());
    }

    #[test]
    fn arm_static_pie_moves_to_the_base_and_dynamic_entries_are_32_bit() {
        let mut b = Builder::static_arm_exe().pie_at(0, 0x101);
        b.phdrs
            .push((PT_DYNAMIC, PF_R | PF_W, 0x1000, 0x11000, 0x18, 0x18));
        let mut file = b.bytes();
        // Elf32_Dyn: (d_tag, d_val), 4 bytes each. DT_DEBUG (21), then
        // DT_NEEDED (1): a 64-bit reader would see one tag 0x15 and miss it.
        file[0x1000..0x1004].copy_from_slice(&21u32.to_le_bytes());
        file[0x1008..0x100c].copy_from_slice(&1u32.to_le_bytes());
        assert!(matches!(parse_arm(&file), Err(Error::Needs(_))));
        file[0x1008..0x100c].copy_from_slice(&0u32.to_le_bytes()); // DT_NULL
        let program = parse_arm(&file).unwrap();
        assert_eq!(program.kind, Kind::StaticPie);
        let bias = program.load_bias(0x1000_0000);
        assert_eq!(program.entry.wrapping_add(bias), 0x1000_0101);
        assert_eq!(program.regions(bias).unwrap()[1].start, 0x1001_1000);
    }

    #[test]
    fn arm_segments_beyond_4_gib_less_a_page_are_malformed() {
        let mut b = Builder::static_arm_exe();
        b.phdrs[1].3 = 0xffff_e000;
        b.phdrs[1].5 = 0x2000; // ends at 0x1_0000_0000
        assert!(matches!(parse_arm(&b.bytes()), Err(Error::Malformed(_))));
        b.phdrs[1].5 = 0x1000; // ends at 0xffff_f000: the last user page
        let program = parse_arm(&b.bytes()).unwrap();
        // A static-PIE moved up past the end does not fit either.
        assert_eq!(program.regions(0x1000), None);
        every_truncation_fails(Arch::Arm, &Builder::static_arm_exe().bytes());
    }

    #[test]
    fn static_executable_is_accepted_with_its_segments_and_phdr_address() {
        let program = parse(&Builder::static_exe().bytes()).unwrap();
        assert_eq!(program.kind, Kind::Static);
        assert_eq!(program.entry, 0x400100);
        assert_eq!(
            program.phdr, 0x400040,
            "headers at file offset 64 of the text"
        );
        assert_eq!(program.phnum, 3);
        assert_eq!(program.segments.len(), 2);
        assert_eq!(program.segments[1].end(), 0x413000);
        assert!(!program.exec_stack);
        assert_eq!(program.load_bias(0x10_0000_0000), 0);
    }

    #[test]
    fn static_pie_is_accepted_and_moved_to_the_chosen_base() {
        let b = Builder::static_exe().pie_at(0, 0x100);
        let program = parse(&b.bytes()).unwrap();
        assert_eq!(program.kind, Kind::StaticPie);
        let bias = program.load_bias(0x10_0000_0000);
        assert_eq!(bias, 0x10_0000_0000);
        let regions = program.regions(bias).unwrap();
        assert_eq!(regions[0].start, 0x10_0000_0000);
        assert_eq!(program.phdr + bias, 0x10_0000_0040);
    }

    #[test]
    fn static_pie_linked_above_the_base_moves_down() {
        let b = Builder::static_exe().pie_at(0x20_0000_0000, 0x20_0000_0100);
        let program = parse(&b.bytes()).unwrap();
        let bias = program.load_bias(0x10_0000_0000);
        assert_eq!(program.entry.wrapping_add(bias), 0x10_0000_0100);
        assert_eq!(program.regions(bias).unwrap()[1].start, 0x10_0001_1000);
    }

    #[test]
    fn a_script_is_rejected_as_a_script() {
        assert_eq!(parse(b"#!/bin/sh\necho hi\n"), Err(Error::Script));
    }

    #[test]
    fn text_and_short_files_are_not_elf() {
        assert_eq!(parse(b""), Err(Error::TooShort));
        assert_eq!(parse(b"\x7fELF\x02\x01"), Err(Error::TooShort));
        assert_eq!(parse(&[b'a'; 100]), Err(Error::NotElf));
    }

    #[test]
    fn x86_64_program_is_rejected_naming_its_architecture() {
        let err = machine_refused(Arch::Aarch64, Builder::static_exe(), 62);
        assert!(err.ends_with("not aarch64"), "{err}");
        assert!(err.contains("x86-64"), "{err}");
    }

    #[test]
    fn thirty_two_bit_and_big_endian_files_are_rejected() {
        let mut file = Builder::static_exe().bytes();
        file[4] = 1;
        assert_eq!(parse(&file), Err(Error::Not64Bit));
        let mut file = Builder::static_exe().bytes();
        file[5] = 2;
        assert_eq!(parse(&file), Err(Error::BigEndian));
    }

    #[test]
    fn dynamically_linked_program_is_rejected_naming_its_interpreter() {
        let interp = b"/lib/ld-linux-aarch64.so.1\0";
        let mut b = Builder::static_exe();
        b.phdrs.insert(
            0,
            (PT_INTERP, PF_R, 0x200, 0x400200, interp.len() as u64, 0),
        );
        let mut file = b.bytes();
        file[0x200..0x200 + interp.len()].copy_from_slice(interp);
        let err = parse(&file).unwrap_err();
        assert_eq!(err, Error::Interpreter("/lib/ld-linux-aarch64.so.1".into()));
        assert!(err.to_string().starts_with("dynamically linked"), "{err}");
    }

    #[test]
    fn relocatable_objects_and_libraries_are_not_executables() {
        let mut b = Builder::static_exe();
        b.e_type = 1;
        assert_eq!(parse(&b.bytes()), Err(Error::Type(1)));
        let mut b = Builder::static_exe();
        b.e_type = ET_DYN;
        b.entry = 0;
        assert_eq!(parse(&b.bytes()), Err(Error::SharedLibrary));
    }

    #[test]
    fn position_independent_program_needing_libraries_is_rejected() {
        let mut b = Builder::static_exe().pie_at(0, 0x100);
        b.phdrs
            .push((PT_DYNAMIC, PF_R | PF_W, 0x1000, 0x11000, 0x30, 0x30));
        let mut file = b.bytes();
        file[0x1000..0x1008].copy_from_slice(&DT_NEEDED.to_le_bytes());
        assert!(matches!(parse(&file), Err(Error::Needs(_))));
        // The same dynamic section without DT_NEEDED is a static-PIE's.
        file[0x1000..0x1008].copy_from_slice(&30u64.to_le_bytes());
        assert_eq!(parse(&file).unwrap().kind, Kind::StaticPie);
    }

    #[test]
    fn impossible_headers_are_malformed_not_a_panic() {
        let cases: [fn(&mut Builder); 6] = [
            |b| b.phdrs[1].4 = 0x3000,              // filesz > memsz
            |b| b.phdrs[1].2 = 0x10_0000,           // bytes beyond the file
            |b| b.phdrs[1].3 = u64::MAX - 0x10,     // wraps around
            |b| b.phdrs[1].3 = 0x400800,            // overlaps the text
            |b| b.entry = 0x411000,                 // entry in data
            |b| b.phdrs.retain(|p| p.0 != PT_LOAD), // nothing to load
        ];
        for (i, break_it) in cases.iter().enumerate() {
            let mut b = Builder::static_exe();
            break_it(&mut b);
            assert!(
                matches!(parse(&b.bytes()), Err(Error::Malformed(_))),
                "case {i}: {:?}",
                parse(&b.bytes())
            );
        }
        every_truncation_fails(Arch::Aarch64, &Builder::static_exe().bytes());
    }

    #[test]
    fn executable_stack_is_noticed() {
        let mut b = Builder::static_exe();
        b.phdrs[2].1 = PF_R | PF_W | PF_X;
        assert!(parse(&b.bytes()).unwrap().exec_stack);
    }

    #[test]
    fn regions_are_page_rounded_with_each_segments_protection() {
        let program = parse(&Builder::static_exe().bytes()).unwrap();
        assert_eq!(
            program.regions(0).unwrap(),
            vec![
                region(0x400000, 0x401000, RX),
                region(0x411000, 0x413000, RW)
            ]
        );
    }

    #[test]
    fn a_page_shared_by_two_segments_gets_both_protections() {
        let mut b = Builder::static_exe();
        // Text ends at 0x401800, data starts in the same page.
        b.phdrs[0].4 = 0x1800;
        b.phdrs[0].5 = 0x1800;
        b.phdrs[1] = (PT_LOAD, PF_R | PF_W, 0x1800, 0x401800, 0x100, 0x2000);
        b.size = 0x1900;
        let program = parse(&b.bytes()).unwrap();
        assert_eq!(
            program.regions(0).unwrap(),
            vec![
                region(0x400000, 0x401000, RX),
                region(0x401000, 0x402000, RX | RW),
                region(0x402000, 0x404000, RW),
            ]
        );
    }
}
