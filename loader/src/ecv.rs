//! The image for cores with FEAT_ECV (Armv8.6): every counter read patched
//! from `isb; mrs xN, cntvct_el0` to `nop; mrs xN, cntvctss_el0`, the
//! self-synchronised view of the same counter, which needs no `isb` (Linux
//! patches its image the same way at boot, the `ARM64_HAS_ECV` alternative).
//!
//! The patch is made at compile time from [`offsets::CNTVCT_READS`], which
//! `cargo xtask build-vdso` generates and checks (every `CNTVCT_EL0` read of
//! the image is in it, right after its `isb`): a kernel picks
//! [`IMAGE_PADDED`] here instead of [`crate::IMAGE_PADDED`] when
//! `loader::arch::has_ecv()` (on aarch64) says so, and maps it the same way, with the
//! same [`crate::Layout`], data page and entry points ([`crate::offsets`]).
//! On a core without FEAT_ECV `CNTVCTSS_EL0` is undefined at EL0: a process
//! given this image there dies of SIGILL at its first clock read.
//!
//! ```
//! // The same length and entry points; only the counter reads differ.
//! assert_eq!(loader::ecv::IMAGE.len(), loader::IMAGE.len());
//! let differ = loader::IMAGE.iter().zip(loader::ecv::IMAGE).filter(|(a, b)| a != b).count();
//! assert!(differ > 0 && differ <= 8 * loader::offsets::CNTVCT_READS.len());
//! ```

use crate::offsets;
use crate::patch::{cntvct_read_after_isb, plain, put, PageAligned, Pages};

/// `nop`.
const NOP: u32 = 0xd503_201f;
/// `mrs x0, cntvctss_el0`: `op2` 6 where `CNTVCT_EL0` has 2 (bit 7).
const MRS_CNTVCTSS: u32 = 0xd53b_e0c0;

/// [`crate::IMAGE_PADDED`] with every counter read patched. Fails the build
/// if a listed site is not `isb; mrs xN, cntvct_el0` (a stale offsets file).
const fn patched() -> Pages {
    let mut pages = plain();
    let mut k = 0;
    while k < offsets::CNTVCT_READS.len() {
        let at = offsets::CNTVCT_READS[k];
        let mrs = cntvct_read_after_isb(&pages, at);
        put(&mut pages, at, NOP);
        put(&mut pages, at + 4, MRS_CNTVCTSS | (mrs & 0x1f));
        k += 1;
    }
    pages
}

static PADDED: PageAligned = PageAligned(patched());

/// The FEAT_ECV image: [`crate::IMAGE`] with its counter reads patched.
pub static IMAGE: &[u8] = PADDED.0.split_at(crate::IMAGE_LEN).0;

/// [`IMAGE`] padded with zeros to [`crate::IMAGE_PAGES`] whole pages,
/// starting on a page boundary, to be mapped as [`crate::IMAGE_PADDED`] is.
pub static IMAGE_PADDED: &[u8] = &PADDED.0;
