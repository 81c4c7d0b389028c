//! The process: exec of a static program with the vDSO mapped, and the
//! state the system calls keep (break, mmap area, signals).
//!
//! The vDSO part is all `loader`: [`Layout`] says where the data page and
//! the image go, the image's own frames ([`loader::IMAGE_PADDED`], or
//! [`loader::cntpct::IMAGE_PADDED`] with `image=cntpct`) are mapped read +
//! execute (the kernel is mapped one to one, so their addresses are their
//! frames), the kernel's one data page is mapped read-only, and
//! `layout.at_sysinfo_ehdr()` goes into the auxiliary vector. The ELF checks
//! and Linux's initial stack come from `vdso-exec-core`, shared with the
//! exec harness.

use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::CStr;

use loader::{Layout, IMAGE_PAGES, PAGE_SIZE};
use vdso_exec_core::{elf, stack};

use crate::mm::{self, Perm, PAGE};
use crate::signal::Signals;
use crate::trap::TrapFrame;

/// Where a static-PIE program goes.
const PIE_BASE: u64 = 0x10_0000_0000;
/// Start of the area anonymous `mmap`s are placed in, growing up.
pub const MMAP_BASE: usize = 0x20_0000_0000;
/// The vDSO: data page, time-namespace hole, image (`Layout::new`).
const VDSO_BASE: usize = 0x7f_0000_0000;
/// Top of the stack (one page below the end of user space would do; this
/// leaves a hole above it).
const STACK_TOP: usize = 0x7f_8000_0000;
/// The stack, mapped up front (there is no demand paging).
const STACK_SIZE: usize = 1 << 20;
/// `AT_HWCAP`: `HWCAP_FP | HWCAP_ASIMD`, what every ARMv8-A CPU has.
const HWCAP: u64 = 0b11;
/// The process id every process here has.
pub const PID: u64 = 1;

/// The one process.
#[derive(Debug)]
pub struct Process {
    /// Where the vDSO is mapped.
    pub layout: Layout,
    /// The initial break: the page after the program's last segment.
    pub brk_start: usize,
    /// The current break.
    pub brk: usize,
    /// Where the next `mmap` without `MAP_FIXED` goes.
    pub mmap_next: usize,
    /// The counter when the process started: its CPU time starts there.
    pub start_counter: u64,
    /// Signal dispositions, mask and pending set.
    pub signals: Signals,
}

impl Process {
    /// Whether `[va, va + len)` touches the vDSO mapping, which `mprotect`
    /// may not change (its frames are the kernel's).
    pub fn in_vdso(&self, va: usize, len: usize) -> bool {
        let start = self.layout.data_page;
        let end = start + Layout::SIZE;
        va < end && va.saturating_add(len) > start
    }
}

/// Loads `file` (a static aarch64 ELF) into the empty address space with
/// `argv`, the vDSO at [`VDSO_BASE`] reading `data_page`, its image in
/// guarded pages if `bti`. Returns the process and the state it starts in.
pub fn exec(
    name: &str,
    file: &[u8],
    argv: &[&str],
    data_page: usize,
    image: &'static [u8],
    counter: u64,
    bti: bool,
) -> Result<(Process, TrapFrame), String> {
    let program = elf::parse(file).map_err(|e| format!("{name}: {e}"))?;
    let bias = program.load_bias(PIE_BASE);
    let regions = program
        .regions(bias)
        .ok_or_else(|| format!("{name}: a segment leaves user space"))?;
    let mut end = 0;
    for r in &regions {
        let (start, len) = (r.start as usize, (r.end - r.start) as usize);
        mm::map_zeroed(start, len, Perm::from_prot(r.prot))
            .map_err(|_| format!("{name}: cannot map {start:#x}..{:#x}", start + len))?;
        end = end.max(start + len);
    }
    for s in &program.segments {
        let va = s.vaddr.wrapping_add(bias) as usize;
        // `parse` checked that the file holds every segment's bytes.
        let bytes = &file[s.offset as usize..(s.offset + s.filesz) as usize];
        mm::poke_user(va, bytes).map_err(|_| format!("{name}: segment at {va:#x}"))?;
        if s.flags & elf::PF_X != 0 {
            mm::sync_icache(va, bytes.len()).map_err(|_| format!("{name}: text at {va:#x}"))?;
        }
    }

    let layout = Layout::new(VDSO_BASE).expect("VDSO_BASE is page-aligned");
    let vdso_err = |_| format!("{name}: cannot map the vDSO");
    mm::map_user(layout.data_page, data_page, Perm::RO).map_err(vdso_err)?;
    let image_perm = if bti { Perm::RX_GUARDED } else { Perm::RX };
    for page in 0..IMAGE_PAGES {
        let frame = image.as_ptr() as usize + page * PAGE_SIZE;
        mm::map_user(layout.image + page * PAGE_SIZE, frame, image_perm).map_err(vdso_err)?;
    }

    mm::map_zeroed(STACK_TOP - STACK_SIZE, STACK_SIZE, Perm::RW)
        .map_err(|_| format!("{name}: cannot map the stack"))?;
    let args: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(*a).map_err(|_| format!("{name}: NUL in an argument")))
        .collect::<Result<_, _>>()?;
    let args: Vec<&CStr> = args.iter().map(|a| a.as_c_str()).collect();
    let env = [c"PATH=/", c"TZ=UTC"];
    let execfn =
        CString::new(format!("/{name}")).map_err(|_| format!("{name}: NUL in the name"))?;
    let strings = stack::Strings::new(
        STACK_TOP as u64,
        &args,
        &env,
        &execfn,
        c"aarch64",
        random_bytes(counter),
    );
    let facts = stack::AuxFacts {
        sysinfo_ehdr: layout.at_sysinfo_ehdr(),
        minsigstksz: Some(crate::signal::FRAME_SIZE as u64),
        hwcap: HWCAP,
        hwcap2: 0,
        phdr: program.phdr.wrapping_add(bias),
        phnum: u64::from(program.phnum),
        entry: program.entry.wrapping_add(bias),
        ..Default::default()
    };
    let auxv = stack::aux_vector(&facts, &strings);
    let initial = strings
        .finish(&auxv, STACK_SIZE as u64 / 4)
        .map_err(|e| format!("{name}: {e}"))?;
    mm::poke_user(initial.sp as usize, &initial.bytes).map_err(|_| format!("{name}: stack"))?;

    let brk = end.next_multiple_of(PAGE);
    let process = Process {
        layout,
        brk_start: brk,
        brk,
        mmap_next: MMAP_BASE,
        start_counter: counter,
        signals: Signals::default(),
    };
    Ok((process, TrapFrame::new_user(facts.entry, initial.sp)))
}

/// `AT_RANDOM`'s 16 bytes: not secret here, only different per boot
/// (splitmix64 of the counter).
fn random_bytes(seed: u64) -> [u8; 16] {
    let mut x = seed;
    let mut next = || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut out = [0; 16];
    out[..8].copy_from_slice(&next().to_le_bytes());
    out[8..].copy_from_slice(&next().to_le_bytes());
    out
}
