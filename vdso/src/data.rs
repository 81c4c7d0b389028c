//! The data page ("vvar"): Linux 6.12's `struct vdso_data` layout, shared by
//! the image (reader) and the `loader` crate (writer).
//!
//! The layout mirrors Linux 6.12 `include/vdso/datapage.h` for arm64 field by
//! field, so our image reads a page the Linux kernel writes and Linux's own
//! image reads a page our loader writes. The page holds two [`VdsoData`]:
//! index [`CS_HRES_COARSE`] serves the high-resolution and coarse clocks,
//! index [`CS_RAW`] serves `CLOCK_MONOTONIC_RAW`. Linux ≥ 6.11 writes its
//! [`VdsoRngData`] right after them. Our own fields ([`Extension`]) sit at
//! [`EXTENSION_OFFSET`], past every byte Linux 6.1–6.14 writes in the page;
//! each reads as "unknown, use the syscall" while it is zero, so a kernel
//! that only fills Linux's fields still gets correct answers.
//!
//! Every field is an atomic: the kernel writes the page while processes read
//! it, and a reader that races a writer must be a defined (if discarded) read.
//! Atomic loads and stores of these sizes compile to plain `ldr`/`str` on
//! aarch64, so this costs nothing over Linux's `READ_ONCE`.

use core::mem::{offset_of, size_of};
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicU8};

/// Size of a page, and of the data page.
pub const PAGE_SIZE: usize = 4096;

/// Distance in bytes from the data page up to the image's load address.
///
/// Linux 6.12 arm64 maps two "vvar" pages right below the image: the data page
/// and, above it, the time-namespace page (`_vdso_data = . - 2 * PAGE_SIZE` in
/// `arch/arm64/kernel/vdso/vdso.lds.S`). The image's linker script uses the
/// same distance, so `image_address - DATA_PAGE_OFFSET` is the data page.
pub const DATA_PAGE_OFFSET: usize = 2 * PAGE_SIZE;

/// Index of the `vdso_data` that serves the high-resolution and coarse clocks.
pub const CS_HRES_COARSE: usize = 0;
/// Index of the `vdso_data` that serves `CLOCK_MONOTONIC_RAW`.
pub const CS_RAW: usize = 1;
/// Number of `vdso_data` structs at the start of the page.
pub const CS_BASES: usize = 2;
/// Number of `basetime` slots: one per clock id below this (`VDSO_BASES`).
pub const VDSO_BASES: usize = 12;

/// `clock_mode`: the clock source cannot be read from user space; every
/// reader must use the syscall (`VDSO_CLOCKMODE_NONE`).
pub const CLOCKMODE_NONE: i32 = 0;
/// `clock_mode`: read the virtual counter `CNTVCT_EL0`
/// (Linux's `VDSO_CLOCKMODE_ARCHTIMER`).
pub const CLOCKMODE_ARCHTIMER: i32 = 1;
/// `clock_mode`: read `CNTVCT_EL0`; Linux's value for "not for 32-bit
/// processes" (`VDSO_CLOCKMODE_ARCHTIMER_NOCOMPAT`). The 64-bit image treats
/// it like [`CLOCKMODE_ARCHTIMER`].
pub const CLOCKMODE_ARCHTIMER_NOCOMPAT: i32 = 2;
/// `clock_mode`: read the physical counter `CNTPCT_EL0`.
///
/// This value is ours, far outside Linux's range, for kernels that give EL0
/// access to the physical counter (`CNTKCTL_EL1.EL0PCTEN`) but not to a
/// virtual one. Only our image knows it: Linux's own image (6.1, checked by
/// `tests/tests/dropin.rs`) tests `clock_mode` only for NONE and
/// `VDSO_CLOCKMODE_TIMENS` and would read `CNTVCT_EL0` here, so a kernel
/// that publishes this mode must map our image, not Linux's.
///
/// The value is one run of ones shifted (`0x7fff_0000`), so that the
/// straight path of the CNTPCT image (`loader::cntpct`) tests for it with
/// one `eor` immediate, as the plain image tests for `ARCHTIMER`.
pub const CLOCKMODE_CNTPCT: i32 = 0x7fff_0000;
/// `clock_mode`: the process is in a time namespace (`VDSO_CLOCKMODE_TIMENS`).
/// Our image answers every call with the syscall then.
pub const CLOCKMODE_TIMENS: i32 = i32::MAX;

/// Clock ids (`include/uapi/linux/time.h`).
pub mod clock {
    /// `CLOCK_REALTIME`.
    pub const REALTIME: i32 = 0;
    /// `CLOCK_MONOTONIC`.
    pub const MONOTONIC: i32 = 1;
    /// `CLOCK_PROCESS_CPUTIME_ID`.
    pub const PROCESS_CPUTIME_ID: i32 = 2;
    /// `CLOCK_THREAD_CPUTIME_ID`.
    pub const THREAD_CPUTIME_ID: i32 = 3;
    /// `CLOCK_MONOTONIC_RAW`.
    pub const MONOTONIC_RAW: i32 = 4;
    /// `CLOCK_REALTIME_COARSE`.
    pub const REALTIME_COARSE: i32 = 5;
    /// `CLOCK_MONOTONIC_COARSE`.
    pub const MONOTONIC_COARSE: i32 = 6;
    /// `CLOCK_BOOTTIME`.
    pub const BOOTTIME: i32 = 7;
    /// `CLOCK_REALTIME_ALARM`.
    pub const REALTIME_ALARM: i32 = 8;
    /// `CLOCK_BOOTTIME_ALARM`.
    pub const BOOTTIME_ALARM: i32 = 9;
    /// `CLOCK_TAI`.
    pub const TAI: i32 = 11;
    /// Clock ids at or above this are never served (`MAX_CLOCKS`).
    pub const MAX_CLOCKS: i32 = 16;

    /// Clocks computed from the counter with `vdso_data[CS_HRES_COARSE]`
    /// (`VDSO_HRES`).
    pub const HRES_MASK: u32 = 1 << REALTIME | 1 << MONOTONIC | 1 << BOOTTIME | 1 << TAI;
    /// Clocks read straight from `vdso_data[CS_HRES_COARSE]` (`VDSO_COARSE`).
    pub const COARSE_MASK: u32 = 1 << REALTIME_COARSE | 1 << MONOTONIC_COARSE;
    /// Clocks computed from the counter with `vdso_data[CS_RAW]` (`VDSO_RAW`).
    pub const RAW_MASK: u32 = 1 << MONOTONIC_RAW;
    /// The served clocks computed from the counter (all but the coarse ones).
    pub const COUNTER_CLOCKS: [i32; 5] = [REALTIME, MONOTONIC, MONOTONIC_RAW, BOOTTIME, TAI];
    /// Every clock the data page serves; all others go to the syscall.
    pub const SERVED: [i32; 7] = [
        REALTIME,
        MONOTONIC,
        MONOTONIC_RAW,
        REALTIME_COARSE,
        MONOTONIC_COARSE,
        BOOTTIME,
        TAI,
    ];
}

/// One `struct vdso_timestamp`: the base time of one clock.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VdsoTimestamp {
    /// Seconds.
    pub sec: AtomicU64,
    /// Nanoseconds; shifted left by `shift` for the high-resolution clocks,
    /// plain nanoseconds for the coarse clocks.
    pub nsec: AtomicU64,
}

/// One `struct vdso_data` (Linux 6.12, arm64: no `max_cycles`, empty
/// `arch_data`).
#[repr(C)]
#[derive(Debug, Default)]
pub struct VdsoData {
    /// Timebase sequence counter: odd while the writer updates the page.
    pub seq: AtomicU32,
    /// How to read the counter: one of the `CLOCKMODE_*` values.
    pub clock_mode: AtomicI32,
    /// Counter value at the last update.
    pub cycle_last: AtomicU64,
    /// Mask applied to `counter - cycle_last`.
    pub mask: AtomicU64,
    /// Counter-to-nanoseconds multiplier.
    pub mult: AtomicU32,
    /// Counter-to-nanoseconds shift.
    pub shift: AtomicU32,
    /// Base time of each clock, indexed by clock id.
    pub basetime: [VdsoTimestamp; VDSO_BASES],
    /// `struct timezone` minutes west of Greenwich.
    pub tz_minuteswest: AtomicI32,
    /// `struct timezone` type of DST correction.
    pub tz_dsttime: AtomicI32,
    /// Resolution of the high-resolution clocks in nanoseconds.
    pub hrtimer_res: AtomicU32,
    /// Padding (`__unused`).
    pub unused: AtomicU32,
}

/// Linux ≥ 6.11's `struct vdso_rng_data` (`include/vdso/datapage.h`), which
/// arm64 puts at `_vdso_data + __VDSO_RND_DATA_OFFSET` (480,
/// `arch/arm64/include/asm/vdso/vsyscall.h`), right after the two
/// `vdso_data`: the kernel's side of getrandom. The loader's writer
/// publishes it (`Writer::set_rng_ready`, `Writer::rng_reseeded`), and
/// `random::getrandom` (the image's `__kernel_getrandom`) reads it.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VdsoRngData {
    /// Generation of the kernel's random pool, bumped on every reseed.
    pub generation: AtomicU64,
    /// Whether the kernel's random pool is initialised.
    pub is_ready: AtomicU8,
    /// Padding to the struct's 8-byte alignment.
    pub padding: [AtomicU8; 7],
}

/// Where our [`Extension`] starts in the page: past Linux's two `vdso_data`
/// (0..480) and its `vdso_rng_data` (480..496), with room to spare.
pub const EXTENSION_OFFSET: usize = 0x200;

/// Our fields, at [`EXTENSION_OFFSET`]. Zero means "unknown: use the syscall".
#[repr(C)]
#[derive(Debug, Default)]
pub struct Extension {
    /// Resolution of the coarse clocks in nanoseconds (Linux's image compiles
    /// in `TICK_NSEC` instead; ours asks the kernel that wrote the page).
    pub coarse_res: AtomicU32,
    /// Non-zero: the kernel that wrote the page offers processes no
    /// getrandom state memory (`MAP_DROPPABLE`) or no getrandom syscall, so
    /// the params call answers `-ENOSYS` (as Linux's image does without
    /// FPSIMD) and every libc uses the syscall and maps nothing. Our writer
    /// sets it until `Writer::set_rng_ready`; Linux never writes it (zero:
    /// offered, as on Linux).
    pub no_getrandom: AtomicU32,
}

/// The whole data page as the image sees it.
#[repr(C, align(4096))]
#[derive(Debug, Default)]
pub struct DataPage {
    /// Linux's `vdso_data[CS_BASES]`.
    pub data: [VdsoData; CS_BASES],
    /// Linux's `vdso_rng_data` (≥ 6.11); never ours to read or write.
    pub rng: VdsoRngData,
    /// Unused, between Linux's data and ours; zero.
    pub gap: [AtomicU64; (EXTENSION_OFFSET - CS_BASES * 0xf0 - 16) / 8],
    /// Our own fields.
    pub ext: Extension,
}

const _: () = {
    assert!(size_of::<VdsoTimestamp>() == 0x10);
    assert!(offset_of!(VdsoData, seq) == 0x00);
    assert!(offset_of!(VdsoData, clock_mode) == 0x04);
    assert!(offset_of!(VdsoData, cycle_last) == 0x08);
    assert!(offset_of!(VdsoData, mask) == 0x10);
    assert!(offset_of!(VdsoData, mult) == 0x18);
    assert!(offset_of!(VdsoData, shift) == 0x1c);
    assert!(offset_of!(VdsoData, basetime) == 0x20);
    assert!(offset_of!(VdsoData, tz_minuteswest) == 0xe0);
    assert!(offset_of!(VdsoData, tz_dsttime) == 0xe4);
    assert!(offset_of!(VdsoData, hrtimer_res) == 0xe8);
    assert!(size_of::<VdsoData>() == 0xf0);
    assert!(offset_of!(DataPage, data) == 0);
    assert!(offset_of!(DataPage, rng) == 480);
    assert!(size_of::<VdsoRngData>() == 16);
    assert!(offset_of!(DataPage, ext) == EXTENSION_OFFSET);
    assert!(size_of::<DataPage>() == PAGE_SIZE);
    assert!(core::mem::align_of::<DataPage>() == PAGE_SIZE);
};
