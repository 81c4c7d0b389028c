//! Everything a kernel needs to give its processes our aarch64 vDSO: the
//! image, where to map it, its entry points, and a safe writer for the data
//! page it reads time from.
//!
//! # What a kernel does
//!
//! 1. **Once, at boot:** take one page for the data page ("vvar"), zeroed
//!    ([`init_data_page`] for a page frame, or a `static` made with
//!    [`zeroed_data_page`]), create the single [`Writer`] for it and publish
//!    time ([`Writer::publish_boot`] from the counter and a wall-clock base,
//!    or [`Writer::publish`] with every clock).
//! 2. **Per process, at exec:** reserve [`Layout::SIZE`] bytes of user address
//!    space at a page-aligned `base` and map, as [`Layout::new`] lays it out:
//!    - at `data_page`, the data page's frame, **read-only**, not executable
//!      (user space must never write it: it is shared by every process);
//!    - at `timens_page`, **nothing** (see [`Layout::timens_page`]);
//!    - at `image`, [`IMAGE_PAGES`] pages **read + execute** holding the image:
//!      copy [`IMAGE`] into zeroed frames, or map the frames of
//!      [`IMAGE_PADDED`] itself (page-aligned, zero-padded, never written).
//!
//!    Then put `(AT_SYSINFO_EHDR, layout.at_sysinfo_ehdr())` into the
//!    auxiliary vector ([`AT_SYSINFO_EHDR`]). musl, glibc, Go and rustix find
//!    the image there and stop making time syscalls.
//!
//!    A 32-bit (AArch32) process gets the compat image instead, at the same
//!    place: map [`compat::IMAGE_PADDED`] (or pick by ELF class with
//!    [`Abi::image_padded`]); the data page and the layout are the same, and
//!    its `AT_SYSINFO_EHDR` (a 32-bit aux-vector word) is the same address.
//!    Its entry points are in [`compat::offsets`].
//! 3. **Signals:** when a handler was installed without `SA_RESTORER`, set
//!    the frame's return address (`x30`) to
//!    `layout.image + offsets::KERNEL_RT_SIGRETURN`, as Linux does with
//!    `VDSO_SYMBOL(sigtramp)`: the handler's `ret` lands on
//!    `mov x8, #139; svc #0` (`rt_sigreturn`), and unwinders recognise it.
//! 4. **Per timer tick (optional):** [`Writer::tick`]. Without ticks the
//!    high-resolution clocks stay exact (the reader multiplies in 128 bits);
//!    only the coarse clocks stand still.
//! 5. **Own syscalls:** answer `clock_gettime` for the served clocks with
//!    [`Writer::clock_gettime`] and `clock_getres` with the resolutions in
//!    [`Config`]: then the vDSO and the syscall agree to the nanosecond.
//!
//! ```
//! use loader::{
//!     offsets, zeroed_data_page, Config, CounterSource, DataPage, Layout, Timespec, Writer,
//!     AT_SYSINFO_EHDR, IMAGE, IMAGE_PAGES,
//! };
//!
//! // The one data page, page-aligned and zeroed.
//! static VVAR: DataPage = zeroed_data_page();
//!
//! // Boot. On aarch64: `loader::arch::frequency()` and `writer.read_counter()`.
//! let frequency = 62_500_000;
//! let config = Config {
//!     coarse_res: 4_000_000, // a 250 Hz tick
//!     ..Config::new(CounterSource::Virtual, frequency)
//! };
//! let mut writer = Writer::new(&VVAR, config).expect("a usable counter frequency");
//! let rtc = Timespec { tv_sec: 1_700_000_000, tv_nsec: 0 };
//! writer.publish_boot(625_000_000, rtc); // the counter read 10 s after reset
//!
//! // Exec: where things go in the new address space.
//! let layout = Layout::new(0x7fff_8000_0000).expect("a page-aligned base");
//! assert_eq!(layout.image - layout.data_page, loader::DATA_PAGE_OFFSET);
//! let aux = [(AT_SYSINFO_EHDR, layout.at_sysinfo_ehdr())];
//! assert_eq!(aux[0].1, 0x7fff_8000_2000);
//! assert!(IMAGE.len() <= IMAGE_PAGES * loader::PAGE_SIZE);
//! let _sigreturn = layout.image + offsets::KERNEL_RT_SIGRETURN;
//!
//! // A tick, 4 ms later; the kernel's clock_gettime agrees with the vDSO.
//! writer.tick(625_250_000);
//! let now = writer.clock_gettime(loader::clock::REALTIME, 625_250_000);
//! assert_eq!(now, Some(Timespec { tv_sec: 1_700_000_000, tv_nsec: 4_000_000 }));
//! ```
//!
//! # The parts
//!
//! - [`IMAGE`], [`IMAGE_PADDED`], [`IMAGE_LEN`], [`IMAGE_PAGES`]: the committed
//!   image, `loader/vdso.so`, built by `cargo xtask build-vdso`;
//! - [`offsets`]: its symbol offsets, generated with it (Linux's
//!   `vdso-offsets.h`);
//! - [`Layout`], [`DATA_PAGE_OFFSET`], [`AT_SYSINFO_EHDR`],
//!   [`at_sysinfo_ehdr`]: the mapping;
//! - [`Writer`], [`Config`], [`Clocks`], [`Scale`]: the data-page writer;
//! - [`data`] (re-exported from the `vdso` crate): the page layout itself,
//!   one `#[repr(C)]` definition shared by the image and this crate;
//! - [`compat`], [`Abi`]: the 32-bit compat image, for AArch32 processes
//!   (musl arm, Go linux/arm), on the same data page;
//! - `arch` (aarch64 and 32-bit Arm only): the counter frequency and the
//!   counter reads.
//!
//! `no_std`, no allocation, no panics on any input.

#![no_std]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(test)]
extern crate std;

#[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
pub mod arch;
pub mod cntpct;
pub mod compat_offsets;
pub mod ecv;
pub mod offsets;
mod patch;
mod writer;

#[cfg(test)]
mod tests;

pub use vdso::data::{
    self, clock, DataPage, Extension, VdsoData, VdsoTimestamp, CLOCKMODE_ARCHTIMER,
    CLOCKMODE_ARCHTIMER_NOCOMPAT, CLOCKMODE_CNTPCT, CLOCKMODE_NONE, CLOCKMODE_TIMENS,
    CS_HRES_COARSE, CS_RAW, DATA_PAGE_OFFSET, PAGE_SIZE, VDSO_BASES,
};
pub use vdso::time::{CounterSource, Timespec, Timeval, Timezone, NSEC_PER_SEC};
pub use writer::{Clocks, Config, Error, Scale, Writer, MAX_SHIFT, MIN_ROLLOVER_SECS};

/// Embeds an image file: `IMAGE_LEN`, `IMAGE_PAGES`, `IMAGE` and
/// `IMAGE_PADDED` in the module that invokes it, and a compile-time check
/// that the file is an ELF shared object of `class` (1 = ELF32, 2 = ELF64)
/// for `machine` whose `exports` offsets lie inside it.
macro_rules! embed_image {
    ($file:literal, $what:literal, class $class:literal, machine $machine:literal, max_pages $pages:literal, $exports:expr) => {
        /// The image file as `include_bytes!` gives it (alignment 1).
        const RAW: &[u8] = include_bytes!($file);

        #[doc = concat!("Length of ", $what, " in bytes.")]
        pub const IMAGE_LEN: usize = RAW.len();

        #[doc = concat!("Number of pages ", $what, " occupies when mapped.")]
        pub const IMAGE_PAGES: usize = IMAGE_LEN.div_ceil($crate::PAGE_SIZE);

        /// Page-aligned storage for the image.
        #[repr(C, align(4096))]
        struct PageAligned([u8; IMAGE_PAGES * $crate::PAGE_SIZE]);

        /// The image followed by zeros up to the end of its last page.
        const fn padded() -> [u8; IMAGE_PAGES * $crate::PAGE_SIZE] {
            let mut pages = [0; IMAGE_PAGES * $crate::PAGE_SIZE];
            let mut i = 0;
            while i < IMAGE_LEN {
                pages[i] = RAW[i];
                i += 1;
            }
            pages
        }

        static PADDED: PageAligned = PageAligned(padded());

        #[doc = concat!(
                            $what, " (`loader/", $file, "`'s bytes): an ELF shared object to be \
            mapped at a page-aligned address, read + execute. It starts on a page boundary."
                        )]
        pub static IMAGE: &[u8] = PADDED.0.split_at(IMAGE_LEN).0;

        #[doc = concat!(
                            $what, " padded with zeros to `IMAGE_PAGES` whole pages, starting on a \
            page boundary: its frames can be mapped into processes as they are, with \
            nothing but the image and zeros in them."
                        )]
        pub static IMAGE_PADDED: &[u8] = &PADDED.0;

        // The committed image is what the layout and the offsets assume: an
        // ELF shared object (e_type ET_DYN = 3) of the expected class and
        // machine whose exports all lie inside it, in at most `$pages` pages
        // (`Layout` has room for the 64-bit image's pages; the compat image
        // fits one). A stale or foreign file fails the build
        // here.
        const _: () = {
            assert!(IMAGE_LEN >= 52, "the image is shorter than an ELF header");
            assert!(RAW[0] == 0x7f && RAW[1] == b'E' && RAW[2] == b'L' && RAW[3] == b'F');
            assert!(
                RAW[4] == $class && RAW[5] == 1,
                "the image has the wrong ELF class"
            );
            assert!(RAW[16] == 3 && RAW[17] == 0, "the image is not ET_DYN");
            assert!(
                RAW[18] == $machine && RAW[19] == 0,
                "the image is for another machine"
            );
            assert!(IMAGE_PAGES <= $pages, "the image has more pages than it may");
            let exports = $exports;
            let mut i = 0;
            while i < exports.len() {
                assert!(
                    exports[i] < IMAGE_LEN,
                    "a symbol offset lies outside the image"
                );
                assert!(
                    exports[i] % 4 == 0,
                    "a symbol offset is not instruction-aligned"
                );
                i += 1;
            }
        };
    };
}

embed_image!(
    "../vdso.so",
    "the vDSO image",
    class 2,
    machine 183, // EM_AARCH64
    max_pages 2,
    [
        offsets::KERNEL_CLOCK_GETTIME,
        offsets::KERNEL_GETTIMEOFDAY,
        offsets::KERNEL_CLOCK_GETRES,
        offsets::KERNEL_GETRANDOM,
        offsets::KERNEL_RT_SIGRETURN,
        offsets::VDSO_CLOCK_GETTIME,
        offsets::VDSO_CLOCK_GETTIME64,
        offsets::VDSO_GETTIMEOFDAY,
        offsets::VDSO_CLOCK_GETRES,
    ]
);

/// The 32-bit compat image, for AArch32 processes on an arm64 kernel (what
/// Linux calls the compat vDSO, `arch/arm64/kernel/vdso32`).
///
/// It reads the same data page as the 64-bit image, at the same distance
/// below itself, so a kernel maps it with the same [`Layout`]
/// and publishes once for both with one [`Writer`]. A kernel
/// picks the image by the ELF class of the program it execs ([`Abi`]).
///
/// It exports Linux's compat set, all `@LINUX_2.6` ([`offsets`]): musl looks
/// up `__vdso_clock_gettime64`, Go's linux/arm runtime `__vdso_clock_gettime`.
/// It serves the same clocks as the 64-bit image, except that it answers
/// with the syscall while `clock_mode` is
/// [`CLOCKMODE_ARCHTIMER_NOCOMPAT`], as
/// Linux's does. It has no `__kernel_rt_sigreturn`: as on Linux, a 32-bit
/// signal frame returns through the kernel's own trampoline.
pub mod compat {
    pub use crate::compat_offsets as offsets;

    embed_image!(
        "../vdso32.so",
        "the 32-bit compat image",
        class 1,
        machine 40, // EM_ARM
        max_pages 1,
        [
            offsets::VDSO_CLOCK_GETTIME,
            offsets::VDSO_CLOCK_GETTIME64,
            offsets::VDSO_GETTIMEOFDAY,
            offsets::VDSO_CLOCK_GETRES,
        ]
    );
}

/// Which image a process gets: by the ELF class of the program a kernel
/// execs (`ELFCLASS64` → [`Abi::Aarch64`], `ELFCLASS32` → [`Abi::Compat`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    /// A 64-bit (AArch64) process: [`IMAGE`].
    Aarch64,
    /// A 32-bit (AArch32) process: [`compat::IMAGE`].
    Compat,
}

impl Abi {
    /// The image for this ABI.
    pub fn image(self) -> &'static [u8] {
        match self {
            Abi::Aarch64 => IMAGE,
            Abi::Compat => compat::IMAGE,
        }
    }

    /// The image for this ABI padded to whole pages (see [`IMAGE_PADDED`]).
    pub fn image_padded(self) -> &'static [u8] {
        match self {
            Abi::Aarch64 => IMAGE_PADDED,
            Abi::Compat => compat::IMAGE_PADDED,
        }
    }
}

/// The auxiliary-vector key whose value is the image's address
/// (`AT_SYSINFO_EHDR` in `include/uapi/linux/auxvec.h`).
pub const AT_SYSINFO_EHDR: u64 = 33;

/// The `AT_SYSINFO_EHDR` value for an image mapped at `image_base`: its
/// address, the ELF header being its first byte.
pub const fn at_sysinfo_ehdr(image_base: usize) -> u64 {
    image_base as u64
}

/// Where the parts of the vDSO sit in a process, Linux 6.12 arm64's order:
/// the data page, the time-namespace page, then the image
/// (`arch/arm64/kernel/vdso.c`, `vdso.lds.S`).
///
/// ```text
/// base = data_page   data page, read-only          ([vvar], 1st page)
///        timens_page reserved, nothing mapped      ([vvar], 2nd page)
///        image       IMAGE_PAGES pages, read+exec  ([vdso])
/// ```
///
/// The image finds the data page PC-relatively, [`DATA_PAGE_OFFSET`] below
/// its own first byte, so these distances are fixed; only `base` varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Address of the data page (the start of the mapping).
    pub data_page: usize,
    /// Address of Linux's time-namespace page.
    ///
    /// Map **nothing** here, but keep the address range reserved so nothing
    /// else is placed in it. Linux maps this page only for a task inside a
    /// time namespace (and then it holds the real data page, while the data
    /// page slot holds a page whose `clock_mode` is `VDSO_CLOCKMODE_TIMENS`);
    /// for every other task an access faults (`SIGBUS`). Our image never
    /// reads it: it serves nothing in time-namespace mode and makes the
    /// syscall instead, and our [`Writer`] never writes that mode. If the
    /// kernel's address-space code cannot leave a hole inside one mapping,
    /// map a shared read-only zero page: all zeros reads as
    /// `clock_mode = NONE` ("use the syscall") to any image. Never map the
    /// data page itself or anything writable or private there.
    pub timens_page: usize,
    /// Address of the image: its ELF header, the `AT_SYSINFO_EHDR` value.
    pub image: usize,
}

impl Layout {
    /// Bytes of address space the whole mapping takes.
    pub const SIZE: usize = DATA_PAGE_OFFSET + IMAGE_PAGES * PAGE_SIZE;

    /// The layout of a mapping that starts at `base`, or `None` if `base` is
    /// not page-aligned or the mapping would pass the end of the address
    /// space.
    pub const fn new(base: usize) -> Option<Layout> {
        if !base.is_multiple_of(PAGE_SIZE) {
            return None;
        }
        match base.checked_add(Layout::SIZE) {
            None => None,
            Some(_) => Some(Layout {
                data_page: base,
                timens_page: base + PAGE_SIZE,
                image: base + DATA_PAGE_OFFSET,
            }),
        }
    }

    /// The `AT_SYSINFO_EHDR` value for this mapping.
    pub const fn at_sysinfo_ehdr(&self) -> u64 {
        at_sysinfo_ehdr(self.image)
    }
}

/// An all-zero data page, for a `static`: all zeros is `clock_mode = NONE`,
/// so the vDSO makes syscalls until a [`Writer`] publishes.
pub const fn zeroed_data_page() -> DataPage {
    // SAFETY: `DataPage` consists of atomic integers only (and padding), for
    // which all-zero bytes are a valid value.
    unsafe { core::mem::zeroed() }
}

/// Zeroes the page frame at `frame` (all `PAGE_SIZE` bytes, padding
/// included, so no stale kernel data reaches user space) and returns it as
/// the data page, ready for [`Writer::new`].
///
/// # Safety
///
/// - `frame` is aligned to `PAGE_SIZE` and valid for reads and writes of
///   `PAGE_SIZE` bytes for `'a`;
/// - nothing else accesses the frame during this call (in particular, it is
///   not mapped into any process yet);
/// - for `'a`, the kernel writes it only through the returned reference
///   (processes may read it through their mappings at any time).
pub unsafe fn init_data_page<'a>(frame: *mut DataPage) -> &'a DataPage {
    // SAFETY: the caller guarantees `frame` is valid for `PAGE_SIZE` bytes of
    // writes and that nobody else touches it during the call.
    unsafe { core::ptr::write_bytes(frame.cast::<u8>(), 0, PAGE_SIZE) };
    // SAFETY: `frame` is aligned and now holds all zeros, a valid `DataPage`;
    // the caller guarantees it stays valid for `'a` and is only written
    // through this shared reference, whose fields are atomics.
    unsafe { &*frame }
}
