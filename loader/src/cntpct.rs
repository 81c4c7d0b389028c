//! The image for kernels that give EL0 the physical counter only
//! (`CNTKCTL_EL1.EL0PCTEN` set, `EL0VCTEN` clear) and publish
//! [`crate::CLOCKMODE_CNTPCT`] (`Config::new(CounterSource::Physical, ..)`):
//! [`crate::IMAGE`] with its straight paths patched at compile time to take
//! that mode and read `CNTPCT_EL0` (`isb; mrs xN, cntpct_el0`), so such a
//! kernel's calls take the straight path, as an `ARCHTIMER` kernel's do with
//! the plain image. The counter is chosen once, when the kernel picks the
//! image, not on every call.
//!
//! Only the straight paths change ([`offsets::STRAIGHT_READS`],
//! [`offsets::STRAIGHT_MODE_TESTS`], generated and checked by
//! `cargo xtask build-vdso`): the full read still picks the counter by
//! `clock_mode`. So either image serves any page correctly; this one is
//! fast on a `CLOCKMODE_CNTPCT` page and sends an `ARCHTIMER` page through
//! the full read (which reads `CNTVCT_EL0` for it), the plain image the
//! other way round. Map it as [`crate::IMAGE_PADDED`] is, with the same
//! [`crate::Layout`], data page and entry points ([`crate::offsets`]).
//!
//! ```
//! // The same length and entry points; only the straight paths differ.
//! assert_eq!(loader::cntpct::IMAGE.len(), loader::IMAGE.len());
//! let differ = loader::IMAGE.iter().zip(loader::cntpct::IMAGE).filter(|(a, b)| a != b).count();
//! let sites = loader::offsets::STRAIGHT_READS.len() + loader::offsets::STRAIGHT_MODE_TESTS.len();
//! assert!(differ > 0 && differ <= 4 * sites);
//! ```

use vdso::time::EVEN_ARCHTIMER;

use crate::patch::{cntvct_read_after_isb, plain, put, word, PageAligned, Pages};
use crate::{offsets, CLOCKMODE_CNTPCT};

/// `mrs x0, cntpct_el0`: `op2` 1 where `CNTVCT_EL0` has 2.
const MRS_CNTPCT: u32 = 0xd53b_e020;

/// `eor x0, x0, #imm` for an `imm` that is one run of ones, neither 0 nor
/// all ones: the A64 logical immediate with `N` = 1 (a 64-bit element),
/// `immr` = the right rotation that brings the run to bit 0, `imms` = its
/// length - 1.
const fn eor_run(imm: u64) -> u32 {
    let start = imm.trailing_zeros();
    let len = (imm >> start).trailing_ones();
    assert!(
        len < 64 && (imm >> start) >> len == 0,
        "not one run of ones"
    );
    0xd240_0000 | ((64 - start) % 64) << 16 | (len - 1) << 10
}

/// The straight paths' mode test as built: `eor` with `ARCHTIMER << 32`.
const EOR_ARCHTIMER: u32 = eor_run(EVEN_ARCHTIMER);
/// The same test for `CLOCKMODE_CNTPCT`, whose value is a run of ones so
/// that this is one instruction too.
const EOR_CNTPCT: u32 = eor_run((CLOCKMODE_CNTPCT as u32 as u64) << 32);

/// [`crate::IMAGE_PADDED`] with its straight paths patched. Fails the build
/// if a listed site is not what the build found there (a stale offsets
/// file).
const fn patched() -> Pages {
    let mut pages = plain();
    let mut k = 0;
    while k < offsets::STRAIGHT_READS.len() {
        let at = offsets::STRAIGHT_READS[k];
        let mrs = cntvct_read_after_isb(&pages, at);
        put(&mut pages, at + 4, MRS_CNTPCT | (mrs & 0x1f));
        k += 1;
    }
    let mut k = 0;
    while k < offsets::STRAIGHT_MODE_TESTS.len() {
        let at = offsets::STRAIGHT_MODE_TESTS[k];
        let eor = word(&pages, at);
        assert!(
            eor & !0x3ff == EOR_ARCHTIMER,
            "a mode-test site is no eor with ARCHTIMER << 32"
        );
        put(&mut pages, at, EOR_CNTPCT | (eor & 0x3ff));
        k += 1;
    }
    pages
}

static PADDED: PageAligned = PageAligned(patched());

/// The CNTPCT image: [`crate::IMAGE`] with its straight paths patched.
pub static IMAGE: &[u8] = PADDED.0.split_at(crate::IMAGE_LEN).0;

/// [`IMAGE`] padded with zeros to [`crate::IMAGE_PAGES`] whole pages,
/// starting on a page boundary, to be mapped as [`crate::IMAGE_PADDED`] is.
pub static IMAGE_PADDED: &[u8] = &PADDED.0;
