//! The getrandom algorithm (`random.rs`) against RFC 8439's ChaCha20 vectors and a simulated
//! kernel: its RNG data, its syscall (which records every call and fills buffers with a
//! pattern), and the state memory a libc would map.
//!
//! Expected output is computed here from the algorithm's description (Linux's
//! `lib/vdso/getrandom.c`): the reseeded key, then ChaCha20 blocks with nonce 0 and a block
//! counter from 0, whole blocks straight to the buffer, the rest from a two-block batch whose
//! last 32 bytes become the next key. The ChaCha20 itself is checked first, against the RFC.

use std::cell::{Cell, RefCell};

use crate::data::{VdsoRngData, PAGE_SIZE};
use crate::random::{
    chacha20_block, chacha20_blocks, getrandom, OpaqueParams, Random, RngPage, State, BATCH_SIZE,
    CHACHA_BLOCK_SIZE, EFAULT, GRND_INSECURE, GRND_NONBLOCK, GRND_RANDOM, MAX_RW_COUNT,
};
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;

/// `Extension::no_getrandom` of a page that offers getrandom (Linux's, or
/// ours after `Writer::set_rng_ready`).
static OFFERED: AtomicU32 = AtomicU32::new(0);

/// `rng` on a page that offers getrandom.
fn offered(rng: &VdsoRngData) -> RngPage<'_> {
    RngPage {
        rng,
        no_getrandom: &OFFERED,
    }
}

/// The key the simulated kernel hands out on the first reseed.
const KEY0: [u8; 32] = [0x5a; 32];

/// A simulated kernel: its syscall and the block function.
#[derive(Default)]
struct Kernel {
    /// Every getrandom syscall: (len, flags).
    calls: RefCell<Vec<(usize, u32)>>,
    /// What every syscall returns instead of filling its buffer (`None`: it fills it).
    syscall_returns: Cell<Option<isize>>,
    /// Run on every syscall (a test makes "the kernel" reseed meanwhile).
    on_syscall: RefCell<Option<Box<dyn Fn()>>>,
    /// Skip writing user buffers (for a call longer than any buffer).
    discard: Cell<bool>,
}

/// The byte the syscall writes at offset `i` of a non-key buffer.
fn syscall_byte(i: usize) -> u8 {
    (i as u8).wrapping_mul(7).wrapping_add(1)
}

impl Random for Kernel {
    unsafe fn chacha20_blocks(
        &self,
        dst: *mut u8,
        key: *const u32,
        counter: &mut [u32; 2],
        n: usize,
    ) {
        if self.discard.get() && n != 2 {
            // Blocks for the user's buffer, not written: only the counter moves.
            let next = (u64::from(counter[1]) << 32 | u64::from(counter[0])) + n as u64;
            *counter = [next as u32, (next >> 32) as u32];
            return;
        }
        // SAFETY: the trait's contract; the key is copied before `dst` is written.
        let key: [u32; 8] = unsafe { key.cast::<[u32; 8]>().read_unaligned() };
        let mut out = vec![0; n * CHACHA_BLOCK_SIZE];
        chacha20_blocks(&mut out, &key, counter);
        // SAFETY: the trait's contract.
        unsafe { std::ptr::copy_nonoverlapping(out.as_ptr(), dst, out.len()) };
    }

    unsafe fn getrandom_syscall(&self, buffer: *mut u8, len: usize, flags: u32) -> isize {
        self.calls.borrow_mut().push((len, flags));
        if let Some(f) = &*self.on_syscall.borrow() {
            f();
        }
        if let Some(ret) = self.syscall_returns.get() {
            return ret;
        }
        if buffer.is_null() && len > 0 {
            return -EFAULT;
        }
        // A 32-byte call with no flags is the reseed: the key; else a pattern.
        let bytes: Vec<u8> = if len == 32 {
            KEY0.to_vec()
        } else {
            (0..len).map(syscall_byte).collect()
        };
        // SAFETY: the syscall's buffer, `len` bytes (the tests pass real ones).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buffer, len) };
        len as isize
    }
}

/// A page-aligned page holding a state, as a libc's `mmap` would.
#[repr(C, align(4096))]
struct Page([u8; PAGE_SIZE]);

fn page() -> Box<Page> {
    Box::new(Page([0; PAGE_SIZE]))
}

/// RNG data as a Linux ≥ 6.11 kernel writes it once ready: generation 1.
fn ready() -> VdsoRngData {
    let rng = VdsoRngData::default();
    rng.generation.store(1, Relaxed);
    rng.is_ready.store(1, Relaxed);
    rng
}

/// `getrandom` into `buf` with the state at the start of `page`.
fn call(rng: &VdsoRngData, k: &Kernel, page: &mut Page, buf: &mut [u8], flags: u32) -> isize {
    let state = page.0.as_mut_ptr();
    // SAFETY: `buf` and the state are ours; 144 is the state's size.
    unsafe {
        getrandom(
            offered(rng),
            k,
            buf.as_mut_ptr(),
            buf.len(),
            flags,
            state,
            144,
        )
    }
}

/// The state at the start of `page`.
fn state(page: &Page) -> &State {
    // SAFETY: page-aligned, 144 bytes of atomics.
    unsafe { &*page.0.as_ptr().cast::<State>() }
}

/// The keystream of `key` from block `from`, `len` bytes.
fn keystream(key: &[u8; 32], from: u64, len: usize) -> Vec<u8> {
    let key: [u32; 8] =
        std::array::from_fn(|i| u32::from_le_bytes(key[4 * i..][..4].try_into().unwrap()));
    let mut counter = [from as u32, (from >> 32) as u32];
    let mut out = vec![0; len.div_ceil(64) * 64];
    chacha20_blocks(&mut out, &key, &mut counter);
    out.truncate(len);
    out
}

/// What the first call of `len` bytes on a fresh state returns, and the key it leaves: the
/// whole blocks of `KEY0`'s stream from 0, then the two-block batch after them, whose first
/// `len % 64` bytes are handed out and whose last 32 are the next key.
fn first_call(len: usize) -> (Vec<u8>, [u8; 32]) {
    let blocks = len / 64;
    let mut out = keystream(&KEY0, 0, blocks * 64);
    let batch = keystream(&KEY0, blocks as u64, 128);
    out.extend_from_slice(&batch[..len % 64]);
    (out, batch[96..].try_into().unwrap())
}

#[test]
fn chacha20_block_is_rfc_8439s_test_vector() {
    // RFC 8439 §2.3.2: key 00..1f, counter 1, nonce 00:00:00:09 00:00:00:4a 00:00:00:00.
    let mut input = [0u32; 16];
    input[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    for i in 0..8 {
        input[4 + i] = u32::from_le_bytes([
            4 * i as u8,
            4 * i as u8 + 1,
            4 * i as u8 + 2,
            4 * i as u8 + 3,
        ]);
    }
    input[12] = 1;
    input[13] = 0x0900_0000;
    input[14] = 0x4a00_0000;
    let want = "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e\
                d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e";
    let got: String = chacha20_block(&input)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn the_nonce_0_stream_of_the_zero_key_is_rfc_8439s() {
    // RFC 8439 appendix A.1, test vectors 1 and 2: key 0, nonce 0, block counters 0 and 1.
    let want = "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7\
                da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586\
                9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed\
                29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f";
    let mut out = [0; 128];
    let mut counter = [0; 2];
    chacha20_blocks(&mut out, &[0; 8], &mut counter);
    let got: String = out.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, want);
    assert_eq!(counter, [2, 0]);
}

#[test]
fn the_block_counter_carries_into_its_second_word() {
    // As Linux's vdso_test_chacha: a counter two blocks below 2^32 runs across the carry, and
    // the blocks equal those made from the carried counter directly.
    let key = [0x0102_0304; 8];
    let mut counter = [u32::MAX - 1, 0];
    let mut out = vec![0; 4 * 64];
    chacha20_blocks(&mut out, &key, &mut counter);
    assert_eq!(counter, [2, 1]);
    let mut again = [0, 1];
    let mut after = vec![0; 2 * 64];
    chacha20_blocks(&mut after, &key, &mut again);
    assert_eq!(&out[128..], &after[..]);
    assert_ne!(&out[..64], &out[64..128]);
}

#[test]
fn the_params_call_describes_the_state_and_returns_0() {
    let mut params = [0xffu8; 64];
    // SAFETY: 64 writable bytes.
    let ret = unsafe {
        getrandom(
            offered(&ready()),
            &Kernel::default(),
            std::ptr::null_mut(),
            0,
            0,
            params.as_mut_ptr(),
            usize::MAX,
        )
    };
    assert_eq!(ret, 0);
    // SAFETY: 64 initialised bytes.
    let params: OpaqueParams = unsafe { params.as_ptr().cast::<OpaqueParams>().read_unaligned() };
    assert_eq!(
        params,
        OpaqueParams {
            size_of_opaque_state: 144,
            mmap_prot: 0x3,
            mmap_flags: 0x28,
            reserved: [0; 13],
        }
    );
}

#[test]
fn a_first_call_reseeds_once_and_hands_out_the_keystream_then_erases_the_key() {
    for len in [1, 63, 64, 65, 96, 97, 200, 4096] {
        let (rng, k, mut page) = (ready(), Kernel::default(), page());
        let mut buf = vec![0; len];
        assert_eq!(
            call(&rng, &k, &mut page, &mut buf, 0),
            len as isize,
            "len {len}"
        );
        let (want, next_key) = first_call(len);
        assert_eq!(buf, want, "len {len}");
        assert_eq!(
            *k.calls.borrow(),
            [(32, 0)],
            "len {len}: one reseed, of 32 bytes"
        );
        let s = state(&page);
        assert_eq!(s.generation.load(Relaxed), 1);
        assert_eq!(usize::from(s.pos.load(Relaxed)), len % 64, "len {len}");
        assert!(!s.in_use.load(Relaxed));
        let key: Vec<u8> = s.batch_key[BATCH_SIZE..]
            .iter()
            .map(|b| b.load(Relaxed))
            .collect();
        assert_eq!(
            key, next_key,
            "len {len}: the key is the batch's last 32 bytes"
        );
        let handed_out: Vec<u8> = s.batch_key[..len % 64]
            .iter()
            .map(|b| b.load(Relaxed))
            .collect();
        assert!(
            handed_out.iter().all(|&b| b == 0),
            "len {len}: handed-out bytes are zeroed"
        );
    }
}

#[test]
fn a_second_call_continues_from_the_batch_without_a_syscall() {
    let (rng, k, mut page) = (ready(), Kernel::default(), page());
    let mut first = [0; 10];
    call(&rng, &k, &mut page, &mut first, 0);
    let mut second = [0; 20];
    assert_eq!(call(&rng, &k, &mut page, &mut second, 0), 20);
    let batch = keystream(&KEY0, 0, 128);
    assert_eq!(&first[..], &batch[..10]);
    assert_eq!(&second[..], &batch[10..30]);
    assert_eq!(k.calls.borrow().len(), 1, "only the first call's reseed");
}

#[test]
fn a_kernel_reseed_between_calls_reseeds_the_state() {
    let (rng, k, mut page) = (ready(), Kernel::default(), page());
    call(&rng, &k, &mut page, &mut [0; 10], 0);
    rng.generation.store(2, Relaxed);
    let mut buf = [0; 10];
    call(&rng, &k, &mut page, &mut buf, 0);
    assert_eq!(*k.calls.borrow(), [(32, 0), (32, 0)]);
    assert_eq!(state(&page).generation.load(Relaxed), 2);
    // A fresh key and an empty batch: the stream starts over.
    assert_eq!(&buf[..], &first_call(10).0[..]);
}

#[test]
fn a_reseed_during_the_call_is_retried_once_then_the_syscall_answers() {
    let rng = std::rc::Rc::new(ready());
    let k = Kernel::default();
    let bump = rng.clone();
    // Every reseed moves the kernel's generation again, as a racing reseed would.
    *k.on_syscall.borrow_mut() = Some(Box::new(move || {
        bump.generation.fetch_add(1, Relaxed);
    }));
    let mut page = page();
    let mut buf = [0; 100];
    assert_eq!(call(&rng, &k, &mut page, &mut buf, GRND_NONBLOCK), 100);
    // Two reseeds (the first attempt and its one retry), then the caller's own syscall.
    assert_eq!(*k.calls.borrow(), [(32, 0), (32, 0), (100, GRND_NONBLOCK)]);
    assert!(buf.iter().enumerate().all(|(i, &b)| b == syscall_byte(i)));
    assert!(!state(&page).in_use.load(Relaxed));
}

#[test]
fn a_failed_reseed_invalidates_the_state_and_the_syscall_answers() {
    let (rng, k, mut page) = (ready(), Kernel::default(), page());
    k.syscall_returns.set(Some(-11));
    let mut buf = [0; 8];
    assert_eq!(call(&rng, &k, &mut page, &mut buf, 0), -11);
    assert_eq!(*k.calls.borrow(), [(32, 0), (8, 0)]);
    let s = state(&page);
    assert_eq!(s.generation.load(Relaxed), 0, "the key is not used again");
    assert!(!s.in_use.load(Relaxed));
}

#[test]
fn what_the_state_cannot_serve_goes_to_the_syscall_with_the_callers_arguments() {
    let k = Kernel::default();
    let mut page = page();
    let mut buf = [0; 16];
    // Before the kernel's RNG is ready, even a zero-length call reaches it.
    let not_ready = VdsoRngData::default();
    assert_eq!(call(&not_ready, &k, &mut page, &mut buf, GRND_INSECURE), 16);
    assert_eq!(call(&not_ready, &k, &mut page, &mut [], 0), 0);
    // Flags the vDSO does not know, and a pair the syscall refuses (`-EINVAL`).
    assert_eq!(call(&ready(), &k, &mut page, &mut buf, 0x8), 16);
    let random_insecure = GRND_RANDOM | GRND_INSECURE;
    assert_eq!(call(&ready(), &k, &mut page, &mut buf, random_insecure), 16);
    // The state of a thread already inside (a signal handler's call).
    state(&page).in_use.store(true, Relaxed);
    assert_eq!(call(&ready(), &k, &mut page, &mut buf, GRND_RANDOM), 16);
    assert!(
        state(&page).in_use.load(Relaxed),
        "the outer call still owns it"
    );
    assert_eq!(
        *k.calls.borrow(),
        [
            (16, GRND_INSECURE),
            (0, 0),
            (16, 0x8),
            (16, random_insecure),
            (16, GRND_RANDOM)
        ]
    );
    assert_eq!(
        state(&page).generation.load(Relaxed),
        0,
        "the state was never reseeded"
    );
}

#[test]
fn a_ready_page_with_generation_0_never_serves_a_zero_key() {
    // A fresh state has generation 0; so would this page: no reseed would happen.
    let (k, mut page) = (Kernel::default(), page());
    let rng = VdsoRngData::default();
    rng.is_ready.store(1, Relaxed);
    let mut buf = [0; 16];
    assert_eq!(call(&rng, &k, &mut page, &mut buf, 0), 16);
    assert_eq!(
        *k.calls.borrow(),
        [(16, 0)],
        "the syscall, not a key from zeros"
    );
    assert!(!state(&page).in_use.load(Relaxed));
}

#[test]
fn a_state_of_another_size_or_place_goes_to_the_syscall() {
    let (rng, k) = (ready(), Kernel::default());
    let mut page = page();
    let mut buf = [0; 4];
    let base = page.0.as_mut_ptr();
    // SAFETY: every pointer lies in `page` or is NULL; the buffers are ours.
    unsafe {
        assert_eq!(
            getrandom(offered(&rng), &k, buf.as_mut_ptr(), 4, 0, base, 143),
            4
        );
        assert_eq!(
            getrandom(offered(&rng), &k, buf.as_mut_ptr(), 4, 0, base.add(4), 144),
            4
        );
        assert_eq!(
            getrandom(
                offered(&rng),
                &k,
                buf.as_mut_ptr(),
                4,
                0,
                std::ptr::null_mut(),
                144
            ),
            4
        );
    }
    assert_eq!(k.calls.borrow().len(), 3, "three syscalls, no reseed");
}

#[test]
fn a_state_that_straddles_a_page_is_efault() {
    let (rng, k) = (ready(), Kernel::default());
    let mut pages = Box::new([Page([0; PAGE_SIZE]), Page([0; PAGE_SIZE])]);
    let mut buf = [0; 4];
    let last = PAGE_SIZE - 144;
    let base = pages[0].0.as_mut_ptr();
    // SAFETY: both states lie inside the two pages.
    unsafe {
        assert_eq!(
            getrandom(
                offered(&rng),
                &k,
                buf.as_mut_ptr(),
                4,
                0,
                base.add(last),
                144
            ),
            4
        );
        assert_eq!(
            getrandom(
                offered(&rng),
                &k,
                buf.as_mut_ptr(),
                4,
                0,
                base.add(last + 8),
                144
            ),
            -EFAULT
        );
    }
    assert_eq!(
        *k.calls.borrow(),
        [(32, 0)],
        "only the fitting state's reseed"
    );
    let _ = &mut pages;
}

#[test]
fn a_huge_length_is_cut_to_max_rw_count_as_the_syscall_cuts_it() {
    let (rng, k, mut page) = (ready(), Kernel::default(), page());
    k.discard.set(true);
    let mut buf = [0; 1];
    // The blocks are not written (`discard`): MAX_RW_COUNT is a whole number of blocks,
    // so nothing else lands in the buffer.
    assert_eq!(MAX_RW_COUNT % CHACHA_BLOCK_SIZE, 0);
    // SAFETY: with `discard`, only the state is written.
    let ret = unsafe {
        getrandom(
            offered(&rng),
            &k,
            buf.as_mut_ptr(),
            usize::MAX,
            0,
            page.0.as_mut_ptr(),
            144,
        )
    };
    assert_eq!(ret, 0x7fff_f000);
    assert_eq!(*k.calls.borrow(), [(32, 0)]);
}

#[test]
fn a_null_buffer_goes_to_the_syscall_which_answers_efault() {
    // Linux's image would write through it and fault; the syscall answers instead.
    let (rng, k) = (ready(), Kernel::default());
    let mut page = page();
    let base = page.0.as_mut_ptr();
    // SAFETY: the state lies in `page`; the NULL buffer is handed to the simulated syscall.
    let ret = unsafe { getrandom(offered(&rng), &k, std::ptr::null_mut(), 32, 0, base, 144) };
    assert_eq!(ret, -EFAULT, "the simulated syscall's answer");
    assert_eq!(*k.calls.borrow(), [(32, 0)], "the caller's call, no reseed");
    assert_eq!(
        state(&page).generation.load(Relaxed),
        0,
        "the state untouched"
    );
}

#[test]
fn a_page_that_offers_no_getrandom_answers_the_params_call_with_enosys() {
    // So glibc and Go map no state and use the syscall (`Writer::set_rng_ready`'s docs).
    let absent = AtomicU32::new(1);
    let mut params = [0xffu8; 64];
    // SAFETY: 64 writable bytes.
    let ret = unsafe {
        getrandom(
            RngPage {
                rng: &ready(),
                no_getrandom: &absent,
            },
            &Kernel::default(),
            std::ptr::null_mut(),
            0,
            0,
            params.as_mut_ptr(),
            usize::MAX,
        )
    };
    assert_eq!(ret, -crate::random::ENOSYS);
    assert_eq!(params, [0xff; 64], "nothing written");
}
