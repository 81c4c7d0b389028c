//! `vdso-chacha`: the aarch64 ChaCha20 block function (`vdso/src/arch/aarch64/chacha20.S`,
//! assembled into this program as the image will assemble it) against the portable
//! `vdso::random::chacha20_blocks`, as Linux's `vdso_test_chacha` checks its own:
//!
//! - for many keys, 32 blocks from counter 0 made in two calls split at every block, equal to
//!   the reference's in bytes and in the counter left behind;
//! - the counter carrying from its low word into its high word, and wrapping at 2^64;
//! - RFC 8439's zero-key keystream (appendix A.1, vectors 1 and 2);
//! - the state's own use: the two batch blocks written over the key they are made from;
//! - nothing written past the blocks asked for.
//!
//! Prints one `FAIL` line per failed check and ends with `chacha: N passed, M failed`; exits 0
//! if none failed.

#[cfg(target_arch = "aarch64")]
mod checks;

fn main() {
    #[cfg(target_arch = "aarch64")]
    std::process::exit(checks::run());
    #[cfg(not(target_arch = "aarch64"))]
    {
        eprintln!("vdso-chacha runs only on aarch64 (qemu-aarch64)");
        std::process::exit(2);
    }
}
