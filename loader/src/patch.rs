//! Compile-time patching of the committed 64-bit image, what the variants
//! for other counters ([`crate::ecv`], [`crate::cntpct`]) share: a
//! page-aligned copy of the image and instruction words read and written
//! in it. Each variant patches only sites that `cargo xtask build-vdso`
//! lists in [`crate::offsets`] and asserts what it finds there, so a stale
//! offsets file fails the build instead of patching the wrong word.

use crate::{IMAGE_LEN, IMAGE_PAGES, PAGE_SIZE};

/// The committed image, as [`crate::IMAGE`] embeds it.
const RAW: &[u8] = include_bytes!("../vdso.so");

/// The image's pages, as [`crate::IMAGE_PADDED`] holds them.
pub(crate) type Pages = [u8; IMAGE_PAGES * PAGE_SIZE];

/// Page-aligned storage for a patched image.
#[repr(C, align(4096))]
pub(crate) struct PageAligned(pub(crate) Pages);

/// `isb`.
pub(crate) const ISB: u32 = 0xd503_3fdf;
/// `mrs x0, cntvct_el0`; `Rt` is bits 4:0.
pub(crate) const MRS_CNTVCT: u32 = 0xd53b_e040;

/// The committed image followed by zeros up to the end of its last page.
pub(crate) const fn plain() -> Pages {
    let mut pages = [0; IMAGE_PAGES * PAGE_SIZE];
    let mut i = 0;
    while i < IMAGE_LEN {
        pages[i] = RAW[i];
        i += 1;
    }
    pages
}

/// The little-endian instruction word at byte `at`.
pub(crate) const fn word(image: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([image[at], image[at + 1], image[at + 2], image[at + 3]])
}

/// Writes `word` at byte `at`.
pub(crate) const fn put(image: &mut [u8], at: usize, word: u32) {
    let bytes = word.to_le_bytes();
    let mut i = 0;
    while i < 4 {
        image[at + i] = bytes[i];
        i += 1;
    }
}

/// The `mrs xN, cntvct_el0` right after the `isb` at `at`, or a build
/// failure if the site is not an `isb; mrs xN, cntvct_el0` pair.
pub(crate) const fn cntvct_read_after_isb(image: &[u8], at: usize) -> u32 {
    assert!(word(image, at) == ISB, "a counter-read site has no isb");
    let mrs = word(image, at + 4);
    assert!(
        mrs & !0x1f == MRS_CNTVCT,
        "a counter-read site reads no CNTVCT_EL0"
    );
    mrs
}
