//! The checks (module docs of `main.rs`).

use core::arch::global_asm;

use vdso::random::chacha20_blocks;

// `raw`: the braces of `ld1 {...}` are the assembler's, not placeholders.
global_asm!(
    include_str!("../../../../vdso/src/arch/aarch64/chacha20.S"),
    options(raw)
);

extern "C" {
    fn __vdso_chacha20_blocks(dst: *mut u8, key: *const u32, counter: *mut u32, nblocks: usize);
}

/// Blocks per trial.
const BLOCKS: usize = 32;
/// Keys tried.
const TRIALS: u64 = 40;
/// Bytes after the blocks that must stay as they were.
const CANARY: usize = 64;

/// The asm function on `dst` (whole blocks).
fn asm_blocks(dst: &mut [u8], key: &[u32; 8], counter: &mut [u32; 2]) {
    assert!(!dst.is_empty() && dst.len().is_multiple_of(64));
    // SAFETY: `dst` holds the blocks, `key` 8 words, `counter` 2 words.
    unsafe {
        __vdso_chacha20_blocks(
            dst.as_mut_ptr(),
            key.as_ptr(),
            counter.as_mut_ptr(),
            dst.len() / 64,
        )
    }
}

/// xorshift64*: the trial keys (deterministic, so a failure is repeatable).
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed >> 12;
    *seed ^= *seed << 25;
    *seed ^= *seed >> 27;
    seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    fn check(&mut self, what: &str, ok: bool) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            println!("FAIL {what}");
        }
    }
}

/// Split calls at every block, for one key.
fn splits(r: &mut Report, key: &[u32; 8], trial: u64) {
    let mut want = vec![0; BLOCKS * 64];
    let mut want_counter = [0; 2];
    chacha20_blocks(&mut want, key, &mut want_counter);
    for split in 0..BLOCKS {
        let mut got = vec![b'X'; BLOCKS * 64 + CANARY];
        let mut counter = [0; 2];
        if split > 0 {
            asm_blocks(&mut got[..split * 64], key, &mut counter);
        }
        asm_blocks(&mut got[split * 64..BLOCKS * 64], key, &mut counter);
        let what = format!("trial {trial} split {split}");
        r.check(&format!("{what}: blocks"), got[..BLOCKS * 64] == want[..]);
        r.check(&format!("{what}: counter"), counter == want_counter);
        r.check(
            &format!("{what}: canary"),
            got[BLOCKS * 64..].iter().all(|&b| b == b'X'),
        );
    }
}

/// Counters across the carry into the high word and across 2^64.
fn carries(r: &mut Report, key: &[u32; 8]) {
    for start in [
        [u32::MAX - 1, 0],
        [u32::MAX - 1, 7],
        [u32::MAX - 1, u32::MAX],
    ] {
        let (mut want, mut got) = (vec![0; 4 * 64], vec![0; 4 * 64]);
        let (mut want_counter, mut counter) = (start, start);
        chacha20_blocks(&mut want, key, &mut want_counter);
        asm_blocks(&mut got, key, &mut counter);
        r.check(&format!("from {start:x?}: blocks"), got == want);
        r.check(
            &format!("from {start:x?}: counter {counter:x?}"),
            counter == want_counter,
        );
    }
}

/// RFC 8439 appendix A.1, test vectors 1 and 2: key 0, nonce 0, counters 0 and 1.
fn rfc_8439(r: &mut Report) {
    let want = "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7\
                da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586\
                9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed\
                29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f";
    let mut got = [0; 128];
    let mut counter = [0; 2];
    asm_blocks(&mut got, &[0; 8], &mut counter);
    let got: String = got.iter().map(|b| format!("{b:02x}")).collect();
    r.check("RFC 8439 A.1 vectors 1 and 2", got == want);
}

/// The state's batch refill: two blocks written over a buffer whose last 32 bytes are the key.
fn in_place(r: &mut Report, key: &[u32; 8]) {
    let mut batch_key = [0u32; 32];
    batch_key[24..].copy_from_slice(key);
    let mut counter = [3, 0];
    let (dst, key_at) = (
        batch_key.as_mut_ptr().cast::<u8>(),
        batch_key[24..].as_ptr(),
    );
    // SAFETY: two blocks at `dst`; the key is the last 8 of those 32 words, which the
    // function reads before it writes.
    unsafe { __vdso_chacha20_blocks(dst, key_at, counter.as_mut_ptr(), 2) };
    let mut want = [0u8; 128];
    let mut want_counter = [3, 0];
    chacha20_blocks(&mut want, key, &mut want_counter);
    let got: Vec<u8> = batch_key.iter().flat_map(|w| w.to_le_bytes()).collect();
    r.check(
        "in place over its own key",
        got == want && counter == want_counter,
    );
}

/// Runs every check; returns the exit status.
pub fn run() -> i32 {
    let mut r = Report {
        passed: 0,
        failed: 0,
    };
    let mut seed = 0x0123_4567_89ab_cdef;
    rfc_8439(&mut r);
    for trial in 0..TRIALS {
        let key: [u32; 8] = std::array::from_fn(|_| next(&mut seed) as u32);
        splits(&mut r, &key, trial);
        if trial == 0 {
            carries(&mut r, &key);
            in_place(&mut r, &key);
        }
    }
    println!("chacha: {} passed, {} failed", r.passed, r.failed);
    i32::from(r.failed > 0)
}
