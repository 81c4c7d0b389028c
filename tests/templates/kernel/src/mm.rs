//! Memory: page frames, the kernel heap, one translation table for
//! everything, and checked access to user memory.
//!
//! One address space (`TTBR0_EL1`, 4 KiB pages, 39-bit addresses, starting
//! at level 1) holds both the kernel and the one process:
//!
//! ```text
//! 0x0000_0000_0000 ..             user: program, brk, mmap area, vDSO, stack
//! 0x0000_0800_0000 .. 0x0a00_0000 devices (GIC, PL011, PL031): kernel only
//! 0x0000_4000_0000 .. 0x8000_0000 RAM, mapped one to one: kernel only
//! ```
//!
//! Kernel mappings are EL1-only blocks (`AP = 00`); user pages are level-3
//! entries with `AP = 01` (read/write) or `11` (read-only) and never
//! executable at EL1 (`PXN`). The kernel reaches a user page through its
//! frame's one-to-one address, after checking the user's permissions in the
//! table ([`copy_to_user`], [`copy_from_user`]): a bad pointer from a
//! process is `EFAULT`, never a kernel fault.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::asm;
use core::sync::atomic::{AtomicUsize, Ordering};

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Readable, Writeable, ID_AA64PFR1_EL1, SCTLR_EL1};

/// Page size.
pub const PAGE: usize = 4096;
/// Start of RAM on qemu's `virt` machine.
const RAM_START: usize = 0x4000_0000;
/// End of RAM with qemu's default `-m 128M`.
const RAM_END: usize = RAM_START + (128 << 20);
/// Bytes of frames set aside for the kernel heap.
const HEAP_SIZE: usize = 8 << 20;
/// First address past user space: 2^39 (`T0SZ = 25`).
pub const USER_END: usize = 1 << 39;
/// The addresses no user mapping may take: devices and RAM.
const KERNEL_RANGES: [(usize, usize); 2] = [(0x0800_0000, 0x0a00_0000), (RAM_START, 0x8000_0000)];

/// Descriptor bits (Arm ARM D8.3).
mod desc {
    pub const VALID: u64 = 1 << 0;
    /// Table (levels 1-2) or page (level 3); clear for a block.
    pub const TABLE_OR_PAGE: u64 = 1 << 1;
    /// `AttrIndx` 0: normal write-back memory (MAIR attribute 0).
    pub const NORMAL: u64 = 0 << 2;
    /// `AttrIndx` 1: device nGnRnE (MAIR attribute 1).
    pub const DEVICE: u64 = 1 << 2;
    /// `AP[1]`: EL0 may access.
    pub const AP_USER: u64 = 1 << 6;
    /// `AP[2]`: read-only.
    pub const AP_RO: u64 = 1 << 7;
    /// Inner shareable.
    pub const SH_INNER: u64 = 3 << 8;
    /// Access flag (set, or the first access faults).
    pub const AF: u64 = 1 << 10;
    /// Guarded page (FEAT_BTI): with `SCTLR_EL1.BT0`, an indirect branch
    /// from EL0 into this page must land on a BTI instruction.
    pub const GP: u64 = 1 << 50;
    /// Not executable at EL1.
    pub const PXN: u64 = 1 << 53;
    /// Not executable at EL0.
    pub const UXN: u64 = 1 << 54;
    /// The output address bits.
    pub const ADDR: u64 = 0x0000_ffff_ffff_f000;
}

/// What a process may do with a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perm {
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
    /// Guarded (BTI): indirect branches must land on a landing pad.
    pub guarded: bool,
}

impl Perm {
    /// Read/write data.
    pub const RW: Perm = Perm {
        write: true,
        exec: false,
        guarded: false,
    };
    /// Read-only data.
    pub const RO: Perm = Perm {
        write: false,
        exec: false,
        guarded: false,
    };
    /// Read + execute.
    pub const RX: Perm = Perm {
        write: false,
        exec: true,
        guarded: false,
    };
    /// Read + execute, guarded: for code built with BTI landing pads, such
    /// as the vDSO image.
    pub const RX_GUARDED: Perm = Perm {
        guarded: true,
        ..Perm::RX
    };

    /// From `PROT_*` bits (read is implied: EL0 cannot have write or execute
    /// without read with these descriptors).
    pub fn from_prot(prot: u32) -> Perm {
        Perm {
            write: prot & 2 != 0,
            exec: prot & 4 != 0,
            guarded: false,
        }
    }

    fn bits(self) -> u64 {
        let mut bits = desc::VALID
            | desc::TABLE_OR_PAGE
            | desc::NORMAL
            | desc::AP_USER
            | desc::SH_INNER
            | desc::AF
            | desc::PXN;
        if !self.write {
            bits |= desc::AP_RO;
        }
        if !self.exec {
            bits |= desc::UXN;
        }
        if self.guarded {
            bits |= desc::GP;
        }
        bits
    }
}

/// A bad user address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault;

/// The page-frame allocator: a bump pointer over the RAM after the kernel
/// and a free list threaded through freed frames.
struct Frames {
    next: AtomicUsize,
    free: AtomicUsize,
}

static FRAMES: Frames = Frames {
    next: AtomicUsize::new(0),
    free: AtomicUsize::new(0),
};

/// The level-1 table (the root): set by [`init`].
static ROOT: AtomicUsize = AtomicUsize::new(0);

extern "C" {
    static __kernel_end: u8;
}

/// A zeroed page frame (its address is also the kernel's address for it),
/// or `None` when RAM is exhausted.
pub fn alloc_frame() -> Option<usize> {
    let free = FRAMES.free.load(Ordering::Relaxed);
    let frame = if free != 0 {
        // SAFETY: `free` heads the free list: a frame that `free_frame`
        // took back, whose first word holds the next free frame.
        let next = unsafe { *(free as *const usize) };
        FRAMES.free.store(next, Ordering::Relaxed);
        free
    } else {
        let next = FRAMES.next.load(Ordering::Relaxed);
        if next + PAGE > RAM_END {
            return None;
        }
        FRAMES.next.store(next + PAGE, Ordering::Relaxed);
        next
    };
    // SAFETY: `frame` is a whole page of RAM that nothing else uses (fresh
    // from the bump range or taken off the free list), mapped one to one.
    unsafe { core::ptr::write_bytes(frame as *mut u8, 0, PAGE) };
    Some(frame)
}

/// Gives a frame back (it must no longer be mapped anywhere).
pub fn free_frame(frame: usize) {
    // SAFETY: the caller gives up `frame`, a page of RAM from
    // `alloc_frame`; its first word now links the free list.
    unsafe { *(frame as *mut usize) = FRAMES.free.load(Ordering::Relaxed) };
    FRAMES.free.store(frame, Ordering::Relaxed);
}

/// The kernel heap (for `alloc`: the ELF checks and the initial stack use
/// `Vec`): a bump allocator over [`HEAP_SIZE`] bytes after the kernel that
/// never reuses memory, enough for one process's exec.
struct Heap {
    next: AtomicUsize,
    end: AtomicUsize,
}

#[global_allocator]
static HEAP: Heap = Heap {
    next: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
};

// SAFETY: `alloc` returns disjoint, suitably aligned blocks inside the heap
// range (or null); one CPU, and the kernel never runs with interrupts
// enabled, so the load/store pairs cannot interleave.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let start = self
            .next
            .load(Ordering::Relaxed)
            .next_multiple_of(layout.align());
        match start.checked_add(layout.size()) {
            Some(end) if end <= self.end.load(Ordering::Relaxed) => {
                self.next.store(end, Ordering::Relaxed);
                start as *mut u8
            }
            _ => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

/// Sets up frames and the heap, builds the kernel's mappings and turns the
/// MMU and caches on.
pub fn init() {
    // Only the symbol's address is taken; the linker script puts it
    // page-aligned after everything the kernel image uses.
    let end = core::ptr::addr_of!(__kernel_end) as usize;
    HEAP.next.store(end, Ordering::Relaxed);
    HEAP.end.store(end + HEAP_SIZE, Ordering::Relaxed);
    FRAMES.next.store(end + HEAP_SIZE, Ordering::Relaxed);

    let root = alloc_frame().expect("a frame for the root table");
    ROOT.store(root, Ordering::Relaxed);
    let low = alloc_frame().expect("a frame for the first level-2 table");
    // The first GiB: a level-2 table, the devices as 2 MiB blocks.
    write_entry(root, 0, low as u64 | desc::VALID | desc::TABLE_OR_PAGE);
    for block in (0x0800_0000..0x0a00_0000).step_by(2 << 20) {
        let bits = desc::VALID | desc::DEVICE | desc::AF | desc::PXN | desc::UXN;
        write_entry(low, block >> 21, block as u64 | bits);
    }
    // The second GiB: RAM as one block, kernel code and data.
    let ram = desc::VALID | desc::NORMAL | desc::SH_INNER | desc::AF | desc::UXN;
    write_entry(root, 1, RAM_START as u64 | ram);

    // MAIR: attribute 0 normal write-back, 1 device nGnRnE.
    let mair: u64 = 0xff;
    // TCR: T0SZ = 25, inner/outer write-back, inner shareable, 4 KiB
    // granule; EPD1: no TTBR1 walks; IPS = 36 bits.
    let tcr: u64 = 25 | 1 << 8 | 1 << 10 | 3 << 12 | 1 << 23 | 1 << 32;
    // SCTLR: RES1 bits, M, C, I; EL0 may use WFI/WFE, DC ZVA and CTR_EL0
    // (nTWI, nTWE, DZE, UCT) as on Linux.
    let sctlr: u64 = (1 << 11 | 1 << 20 | 1 << 22 | 1 << 23 | 1 << 28 | 1 << 29)
        | 1
        | 1 << 2
        | 1 << 12
        | 1 << 16
        | 1 << 18
        | 1 << 14
        | 1 << 15;
    // SAFETY: the tables map the kernel's code, data, stack and the devices
    // at their physical addresses, so execution continues unchanged when
    // the MMU comes on; nothing runs at EL0 yet.
    unsafe {
        asm!(
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {root}",
            "dsb ish",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            "msr sctlr_el1, {sctlr}",
            "isb",
            mair = in(reg) mair,
            tcr = in(reg) tcr,
            root = in(reg) root,
            sctlr = in(reg) sctlr,
        );
    }
}

/// `SCTLR_EL1.BT0`: EL0's indirect branches into guarded pages must land on
/// a BTI instruction (`aarch64-cpu` has no field for it).
const SCTLR_BT0: u64 = 1 << 35;

/// Whether the CPU implements FEAT_BTI (`ID_AA64PFR1_EL1.BT`, bits 3..0).
pub fn cpu_has_bti() -> bool {
    ID_AA64PFR1_EL1.get() & 0xf != 0
}

/// Enforces BTI at EL0 in guarded pages ([`Perm::RX_GUARDED`]), as Linux
/// does for a vDSO built with landing pads: an indirect branch (`blr`,
/// `br`) that lands on anything else raises a Branch Target exception
/// (EC 0x0d), which [`crate::kernel::user_sync`] turns into `SIGILL`.
pub fn enable_el0_bti() {
    SCTLR_EL1.set(SCTLR_EL1.get() | SCTLR_BT0);
    barrier::isb(barrier::SY);
}

fn write_entry(table: usize, index: usize, value: u64) {
    // SAFETY: `table` is a page-table frame (512 entries) and index < 512.
    unsafe { core::ptr::write_volatile((table as *mut u64).add(index), value) };
}

fn read_entry(table: usize, index: usize) -> u64 {
    // SAFETY: as in `write_entry`.
    unsafe { core::ptr::read_volatile((table as *const u64).add(index)) }
}

/// Index of `va` in the table of `level` (1 to 3).
fn index(va: usize, level: u32) -> usize {
    (va >> (12 + 9 * (3 - level))) & 511
}

/// Whether a user page may be placed at `va`.
pub fn is_user_range(va: usize, len: usize) -> bool {
    let Some(end) = va.checked_add(len) else {
        return false;
    };
    end <= USER_END && KERNEL_RANGES.iter().all(|&(s, e)| end <= s || va >= e)
}

/// The level-3 entry slot for `va`, creating tables on the way if `create`.
fn leaf(va: usize, create: bool) -> Option<(usize, usize)> {
    let mut table = ROOT.load(Ordering::Relaxed);
    for level in 1..3 {
        let i = index(va, level);
        let entry = read_entry(table, i);
        table = if entry & desc::VALID == 0 {
            if !create {
                return None;
            }
            let next = alloc_frame()?;
            write_entry(table, i, next as u64 | desc::VALID | desc::TABLE_OR_PAGE);
            next
        } else if entry & desc::TABLE_OR_PAGE == 0 {
            return None; // a kernel block
        } else {
            (entry & desc::ADDR) as usize
        };
    }
    Some((table, index(va, 3)))
}

/// Maps the user page at `va` to `frame` with `perm`, replacing (and
/// freeing) what was there. `Err` if `va` is not user space or no frame is
/// left for a table.
pub fn map_user(va: usize, frame: usize, perm: Perm) -> Result<(), Fault> {
    if !va.is_multiple_of(PAGE) || !is_user_range(va, PAGE) {
        return Err(Fault);
    }
    let (table, i) = leaf(va, true).ok_or(Fault)?;
    let old = read_entry(table, i);
    write_entry(table, i, frame as u64 | perm.bits());
    if old & desc::VALID != 0 {
        flush_tlb();
        free_frame((old & desc::ADDR) as usize);
    }
    Ok(())
}

/// Maps `len` bytes (page multiple) at `va` to fresh zeroed frames.
pub fn map_zeroed(va: usize, len: usize, perm: Perm) -> Result<(), Fault> {
    if !is_user_range(va, len) {
        return Err(Fault);
    }
    for page in (va..va + len).step_by(PAGE) {
        map_user(page, alloc_frame().ok_or(Fault)?, perm)?;
    }
    Ok(())
}

/// Removes the user page at `va`, returning its frame.
pub fn unmap_user(va: usize) -> Option<usize> {
    let (table, i) = leaf(va, false)?;
    let old = read_entry(table, i);
    if old & desc::VALID == 0 {
        return None;
    }
    write_entry(table, i, 0);
    flush_tlb();
    Some((old & desc::ADDR) as usize)
}

/// Changes the permissions of the mapped user page at `va`.
pub fn protect_user(va: usize, perm: Perm) -> Result<(), Fault> {
    let (table, i) = leaf(va, false).ok_or(Fault)?;
    let old = read_entry(table, i);
    if old & desc::VALID == 0 {
        return Err(Fault);
    }
    write_entry(table, i, (old & desc::ADDR) | perm.bits());
    flush_tlb();
    Ok(())
}

/// The frame and permissions of the user page holding `va`.
fn translate(va: usize) -> Option<(usize, Perm)> {
    if !is_user_range(va, 1) {
        return None;
    }
    let (table, i) = leaf(va, false)?;
    let entry = read_entry(table, i);
    if entry & desc::VALID == 0 {
        return None;
    }
    let perm = Perm {
        write: entry & desc::AP_RO == 0,
        exec: entry & desc::UXN == 0,
        guarded: entry & desc::GP != 0,
    };
    Some(((entry & desc::ADDR) as usize, perm))
}

/// Walks `[va, va + len)` page by page: `f(kernel address, offset, n)` for
/// each piece, after checking the page is mapped (and writable if `write`).
fn walk(
    va: usize,
    len: usize,
    write: bool,
    mut f: impl FnMut(usize, usize, usize),
) -> Result<(), Fault> {
    va.checked_add(len).ok_or(Fault)?;
    let mut done = 0;
    while done < len {
        let at = va + done;
        let (frame, perm) = translate(at).ok_or(Fault)?;
        if write && !perm.write {
            return Err(Fault);
        }
        let in_page = at % PAGE;
        let n = (PAGE - in_page).min(len - done);
        f(frame + in_page, done, n);
        done += n;
    }
    Ok(())
}

/// Copies `bytes` to user memory at `va`, which must be mapped writable.
pub fn copy_to_user(va: usize, bytes: &[u8]) -> Result<(), Fault> {
    walk(va, bytes.len(), true, |kva, off, n| {
        // SAFETY: `kva..kva + n` lies in one mapped user frame, reached
        // through the kernel's one-to-one map; `off + n <= bytes.len()`.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr().add(off), kva as *mut u8, n) }
    })
}

/// Writes `bytes` into the process's pages at `va` whatever their
/// permissions (exec: the program's text, the initial stack).
pub fn poke_user(va: usize, bytes: &[u8]) -> Result<(), Fault> {
    walk(va, bytes.len(), false, |kva, off, n| {
        // SAFETY: as in `copy_to_user`.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr().add(off), kva as *mut u8, n) }
    })
}

/// Copies user memory at `va` into `buf`; it must be mapped.
pub fn copy_from_user(va: usize, buf: &mut [u8]) -> Result<(), Fault> {
    let dst = buf.as_mut_ptr();
    walk(va, buf.len(), false, |kva, off, n| {
        // SAFETY: `kva..kva + n` lies in one mapped user frame; `dst + off`
        // has `n` bytes left in `buf`.
        unsafe { core::ptr::copy_nonoverlapping(kva as *const u8, dst.add(off), n) }
    })
}

/// Reads a little-endian `u64` from user memory.
pub fn read_u64(va: usize) -> Result<u64, Fault> {
    let mut b = [0; 8];
    copy_from_user(va, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Makes instruction fetches see what the kernel wrote to user pages (the
/// program's text): clean the data cache to the point of unification over
/// `[va, va + len)`, then invalidate the instruction cache.
pub fn sync_icache(va: usize, len: usize) -> Result<(), Fault> {
    walk(va, len, false, |kva, _, n| {
        for line in (kva & !63..kva + n).step_by(64) {
            // SAFETY: cleaning a cache line of mapped RAM has no effect on
            // its contents.
            unsafe { asm!("dc cvau, {0}", in(reg) line) };
        }
    })?;
    // SAFETY: barriers and a whole instruction-cache invalidation only.
    unsafe { asm!("dsb ish", "ic iallu", "dsb ish", "isb") };
    Ok(())
}

/// Forgets every cached translation after a change to the table.
fn flush_tlb() {
    // SAFETY: invalidating TLB entries only makes the next accesses walk
    // the (already updated) tables.
    unsafe { asm!("dsb ishst", "tlbi vmalle1", "dsb ish", "isb") };
}
