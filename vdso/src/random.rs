//! The portable getrandom algorithm: Linux 6.12's `lib/vdso/getrandom.c` in
//! Rust, which the 64-bit image exports as `__kernel_getrandom`.
//!
//! A "fast key erasure" RNG over ChaCha20, as the kernel's own getrandom:
//! each thread's state (memory the libc mapped with the flags the params
//! call gives) holds a key and a batch of output; the key is reseeded through
//! the real syscall whenever the kernel's RNG generation (`vdso_rng_data`,
//! [`VdsoRngData`]) moved, and replaced after every batch, so bytes already
//! handed out can never be recomputed from the state. Everything this cannot
//! do goes to the syscall with the caller's own arguments.
//!
//! Nothing here knows about aarch64: the ChaCha20 block function and the
//! syscall come in through [`Random`], so the host tests run this exact code
//! against a portable ChaCha20 ([`chacha20_blocks`]) and a simulated
//! kernel. In the image the block function is the arch's, which keeps the
//! key out of the stack.
//!
//! Differences from Linux, each on purpose:
//! - `GRND_RANDOM | GRND_INSECURE` goes to the syscall, which answers
//!   `-EINVAL`; Linux's image serves it from the state.
//! - A NULL or misaligned state (not 8-byte aligned; libcs hand out
//!   8-aligned slices of their mapping) or a NULL buffer goes to the
//!   syscall, where Linux's image would fault or read the state unaligned;
//!   a NULL params pointer gets `-EFAULT`.
//! - A `pos` beyond the batch (a corrupted state) reads as an empty batch,
//!   where Linux's would copy from beyond it.
//! - A page that says "ready" with generation 0 (no kernel writes that: its
//!   generations start at 1) sends every call to the syscall: a fresh,
//!   zeroed state has generation 0 too, and would otherwise be used with an
//!   all-zero key.

use core::mem::{align_of, offset_of, size_of};
use core::sync::atomic::{
    compiler_fence, fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering,
};

use crate::data::{VdsoRngData, PAGE_SIZE};

/// Bytes in one ChaCha20 block.
pub const CHACHA_BLOCK_SIZE: usize = 64;
/// Bytes in a ChaCha20 key.
pub const CHACHA_KEY_SIZE: usize = 32;
/// Bytes of buffered output in a [`State`]: one and a half blocks.
pub const BATCH_SIZE: usize = CHACHA_BLOCK_SIZE * 3 / 2;

/// `GRND_NONBLOCK` (`include/uapi/linux/random.h`).
pub const GRND_NONBLOCK: u32 = 0x1;
/// `GRND_RANDOM`.
pub const GRND_RANDOM: u32 = 0x2;
/// `GRND_INSECURE`.
pub const GRND_INSECURE: u32 = 0x4;
/// `PROT_READ | PROT_WRITE`: how the libc maps the states.
pub const STATE_PROT: u32 = 0x1 | 0x2;
/// `MAP_DROPPABLE | MAP_ANONYMOUS` (0x08 | 0x20): wiped under memory
/// pressure and on fork, never in a core dump.
pub const STATE_MAP_FLAGS: u32 = 0x08 | 0x20;
/// `EFAULT`.
pub const EFAULT: isize = 14;
/// `ENOSYS`: the params call's answer on a page whose kernel offers no
/// getrandom ([`Extension::no_getrandom`](crate::data::Extension)).
pub const ENOSYS: isize = 38;
/// Linux's `MAX_RW_COUNT` (`INT_MAX & PAGE_MASK`): the most one call hands
/// out. Like the page-straddle check, it uses the image's 4 KiB
/// [`PAGE_SIZE`]; an image for 16 or 64 KiB pages must use its own.
pub const MAX_RW_COUNT: usize = i32::MAX as usize & !(PAGE_SIZE - 1);

/// `struct vgetrandom_state` (`include/vdso/getrandom.h`): one thread's
/// state, 144 bytes, in memory the libc mapped. The kernel may zero it at
/// any moment (`MAP_DROPPABLE`); a zero `generation` then forces a reseed.
#[repr(C)]
#[derive(Debug)]
pub struct State {
    /// `batch` (the first [`BATCH_SIZE`] bytes: output not yet handed out,
    /// from `pos` on) and `key` (the last [`CHACHA_KEY_SIZE`]), filled
    /// together by one two-block call of the block function.
    pub batch_key: [AtomicU8; BATCH_SIZE + CHACHA_KEY_SIZE],
    /// The kernel RNG's generation when `key` was seeded.
    pub generation: AtomicU64,
    /// Offset into `batch` of the next byte to hand out.
    pub pos: AtomicU8,
    /// Set while a call works on this state (a signal handler that calls
    /// in again goes to the syscall).
    pub in_use: AtomicBool,
    /// Padding to the struct's 8-byte alignment.
    pub padding: [AtomicU8; 6],
}

const _: () = {
    assert!(cfg!(target_endian = "little"), "write_params assumes it");
    assert!(size_of::<State>() == 144);
    assert!(offset_of!(State, generation) == 128);
    assert!(offset_of!(State, pos) == 136);
    assert!(offset_of!(State, in_use) == 137);
    assert!(size_of::<OpaqueParams>() == 64);
};

/// `struct vgetrandom_opaque_params` (`include/uapi/linux/random.h`): what
/// the params call tells the libc about the states to allocate.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpaqueParams {
    /// `sizeof(struct vgetrandom_state)`.
    pub size_of_opaque_state: u32,
    /// `prot` for `mmap(2)`.
    pub mmap_prot: u32,
    /// `flags` for `mmap(2)`.
    pub mmap_flags: u32,
    /// Zero.
    pub reserved: [u32; 13],
}

/// What getrandom reads of the data page: Linux's rng data, and our
/// [`Extension::no_getrandom`](crate::data::Extension).
#[derive(Clone, Copy, Debug)]
pub struct RngPage<'a> {
    /// `vdso_rng_data`: the kernel RNG's generation and readiness.
    pub rng: &'a VdsoRngData,
    /// Non-zero: the params call answers `-ENOSYS`.
    pub no_getrandom: &'a AtomicU32,
}

impl<'a> RngPage<'a> {
    /// The getrandom part of `page`.
    pub fn of(page: &'a crate::data::DataPage) -> RngPage<'a> {
        RngPage {
            rng: &page.rng,
            no_getrandom: &page.ext.no_getrandom,
        }
    }
}

/// The arch's part: the ChaCha20 block function and the syscall.
pub trait Random {
    /// Linux's `__arch_chacha20_blocks_nostack`: `nblocks` (at least 1)
    /// blocks of ChaCha20 with `key`, nonce 0 and the 64-bit block counter
    /// `counter` (low word first), written to `dst`; `counter` is advanced
    /// by `nblocks`. The image's version touches no stack and no memory
    /// but its arguments.
    ///
    /// # Safety
    ///
    /// `dst` is valid for `nblocks * 64` bytes of writes and `key` for 8
    /// words of reads; they may overlap only as `dst` = the state's
    /// `batch_key` and `key` = its key (the key is read before it is
    /// overwritten).
    unsafe fn chacha20_blocks(
        &self,
        dst: *mut u8,
        key: *const u32,
        counter: &mut [u32; 2],
        nblocks: usize,
    );

    /// The real `getrandom(2)` syscall: bytes written, or a negative errno.
    ///
    /// # Safety
    ///
    /// None beyond the syscall's own: the kernel checks `buffer`.
    unsafe fn getrandom_syscall(&self, buffer: *mut u8, len: usize, flags: u32) -> isize;
}

/// Linux's `__cvdso_getrandom_data`: fills `buffer` with `len` random bytes
/// (at most [`MAX_RW_COUNT`]) from the state at `opaque_state`, or answers
/// as the syscall. With `buffer` NULL, `len` and `flags` 0 and `opaque_len`
/// `usize::MAX`, it writes [`OpaqueParams`] to `opaque_state` and returns 0
/// instead, or `-ENOSYS` if the page's `no_getrandom` is non-zero: the
/// kernel offers no state memory, and the libcs then never call with a
/// state.
///
/// # Safety
///
/// As Linux's: `buffer` is valid for `len` bytes of writes (or the syscall
/// answers for it), and `opaque_state`, when not NULL, points to
/// `opaque_len` bytes this thread owns (a [`State`], or 64 bytes for the
/// params call).
#[cfg_attr(feature = "image", optimize(size))]
pub unsafe fn getrandom<R: Random + ?Sized>(
    page: RngPage<'_>,
    arch: &R,
    buffer: *mut u8,
    len: usize,
    flags: u32,
    opaque_state: *mut u8,
    opaque_len: usize,
) -> isize {
    if opaque_len == usize::MAX && buffer.is_null() && len == 0 && flags == 0 {
        if page.no_getrandom.load(Ordering::Relaxed) != 0 {
            return -ENOSYS;
        }
        if opaque_state.is_null() {
            return -EFAULT;
        }
        // SAFETY: the caller's contract: `opaque_state` is 64 writable bytes
        // (not NULL: checked above), in any alignment.
        unsafe { write_params(opaque_state) };
        return 0;
    }
    // The state must not straddle a page: pages can be zeroed at any time.
    if (opaque_state as usize & (PAGE_SIZE - 1)) + size_of::<State>() > PAGE_SIZE {
        return -EFAULT;
    }
    // SAFETY: the caller's contract, passed on.
    match unsafe { serve(page.rng, arch, buffer, len, flags, opaque_state, opaque_len) } {
        Some(done) => done,
        // SAFETY: the syscall checks its arguments.
        None => unsafe { arch.getrandom_syscall(buffer, len, flags) },
    }
}

/// Writes [`OpaqueParams`] to `out` as eight 64-bit words, each built in a
/// register: as one struct the compiler would load it from a constant in
/// the image, and the image keeps no data. Each word holds two `u32`
/// fields, the first in its low half: the layout on a little-endian arch,
/// which every arch we build for is.
///
/// # Safety
///
/// `out` is valid for 64 bytes of writes, in any alignment.
unsafe fn write_params(out: *mut u8) {
    let first = u64::from(size_of::<State>() as u32) | u64::from(STATE_PROT) << 32;
    let words = [first, u64::from(STATE_MAP_FLAGS), 0, 0, 0, 0, 0, 0];
    for (i, word) in words.into_iter().enumerate() {
        // SAFETY: word `i` of the caller's 64 bytes.
        unsafe { out.cast::<u64>().add(i).write_unaligned(word) };
        compiler_fence(Ordering::SeqCst);
    }
}

/// [`getrandom`] from the state, or `None` where the syscall must answer
/// with the caller's own arguments: flags it would refuse, a NULL buffer, a state of another size
/// (CRIU) or place, the kernel's RNG not ready yet (every call must reach it
/// then, the flags decide whether it blocks, even with `len` 0), a state in
/// use (a signal handler's call on this thread: the syscall fills the buffer
/// without touching the state), or a reseed that failed.
///
/// # Safety
///
/// As [`getrandom`].
#[cfg_attr(feature = "image", optimize(size))]
unsafe fn serve<R: Random + ?Sized>(
    rng: &VdsoRngData,
    arch: &R,
    buffer: *mut u8,
    len: usize,
    flags: u32,
    opaque_state: *mut u8,
    opaque_len: usize,
) -> Option<isize> {
    // Unknown flags, and `GRND_RANDOM | GRND_INSECURE`, which the syscall
    // refuses with `-EINVAL` (Linux's image would serve it); a NULL buffer:
    // the syscall's `-EFAULT` (or its 0 for `len` 0), where Linux's image
    // would fault.
    let insecure_random = GRND_RANDOM | GRND_INSECURE;
    if flags & !(GRND_NONBLOCK | insecure_random) != 0
        || flags & insecure_random == insecure_random
        || buffer.is_null()
    {
        return None;
    }
    // SAFETY: the caller's contract, checked for size, alignment and NULL.
    let state = unsafe { usable_state(opaque_state, opaque_len) }?;
    if rng.is_ready.load(Ordering::Relaxed) == 0 {
        return None;
    }
    if len == 0 {
        return Some(0);
    }
    if state.in_use.load(Ordering::Relaxed) {
        return None;
    }
    state.in_use.store(true, Ordering::Relaxed);
    // SAFETY: the caller's contract on `buffer`, passed on.
    let done = unsafe { fill(rng, arch, state, buffer, len.min(MAX_RW_COUNT)) }?;
    Some(done as isize)
}

/// `opaque_state` as a [`State`], or `None` if it is not one this can use:
/// NULL, misaligned, or `opaque_len` another size.
///
/// # Safety
///
/// `opaque_state`, when not NULL, points to `opaque_len` bytes this thread
/// owns.
unsafe fn usable_state<'a>(opaque_state: *mut u8, opaque_len: usize) -> Option<&'a State> {
    let usable = !opaque_state.is_null()
        && (opaque_state as usize).is_multiple_of(align_of::<State>())
        && opaque_len == size_of::<State>();
    // SAFETY: non-null, aligned, and the caller's `opaque_len` bytes; every
    // field of `State` is an atomic, so any bytes are a valid `State`.
    usable.then(|| unsafe { &*opaque_state.cast::<State>() })
}

/// Fills `buffer` with `len` bytes from `state` (in use), reseeding it
/// first if the kernel's RNG moved on; `None` if the syscall must answer
/// instead (the reseed failed, or the generation moved again during the
/// call, twice). Clears `in_use` either way.
///
/// # Safety
///
/// `buffer` is valid for `len` bytes of writes.
#[cfg_attr(feature = "image", optimize(size))]
unsafe fn fill<R: Random + ?Sized>(
    rng: &VdsoRngData,
    arch: &R,
    state: &State,
    buffer: *mut u8,
    len: usize,
) -> Option<usize> {
    let mut counter = [0u32; 2];
    // Once more from the start with a new key if the generation moved, then
    // the syscall: a bound against low memory or a user force-reseeding the
    // RNG. Hidden from the optimiser, so that it does not unroll the loop:
    // the image has room for one copy of the round, not two.
    let mut attempts = core::hint::black_box(2u32);
    let current = loop {
        // SAFETY: the caller's contract.
        if !unsafe { round(rng, arch, state, buffer, len, &mut counter) } {
            return None;
        }
        // The state was written last; now learn whether the kernel's RNG
        // reseeded meanwhile, or the state was zeroed or forked (its
        // `generation` never equals the kernel's then, which is never 0).
        compiler_fence(Ordering::SeqCst);
        attempts -= 1;
        let current =
            state.generation.load(Ordering::Relaxed) == rng.generation.load(Ordering::Relaxed);
        if current || attempts == 0 {
            break current;
        }
    };
    state.in_use.store(false, Ordering::Relaxed);
    current.then_some(len)
}

/// One attempt of [`fill`]: [`reseed_if_moved`], then [`stream`]; `false`
/// if the reseed failed. Out of line: [`fill`] makes at most two, and one
/// copy of this is less image than two.
///
/// # Safety
///
/// As [`stream`].
#[inline(always)]
#[cfg_attr(feature = "image", optimize(size))]
unsafe fn round<R: Random + ?Sized>(
    rng: &VdsoRngData,
    arch: &R,
    state: &State,
    buffer: *mut u8,
    len: usize,
    counter: &mut [u32; 2],
) -> bool {
    // SAFETY: the caller's contract.
    unsafe {
        reseed_if_moved(rng, arch, state) && {
            stream(arch, state, buffer, len, counter);
            true
        }
    }
}

/// Reseeds `state`'s key through the syscall if its generation is not the
/// kernel's; `false` (`in_use` cleared, the state invalidated if it was
/// touched) if that failed or the kernel's generation is 0.
///
/// # Safety
///
/// `state` is in use by this call.
#[cfg_attr(feature = "image", optimize(size))]
unsafe fn reseed_if_moved<R: Random + ?Sized>(rng: &VdsoRngData, arch: &R, state: &State) -> bool {
    let current = rng.generation.load(Ordering::Relaxed);
    if current == 0 {
        // Not a generation any kernel publishes (module docs).
        state.in_use.store(false, Ordering::Relaxed);
        return false;
    }
    if state.generation.load(Ordering::Relaxed) == current {
        return true;
    }
    // The generation first: a fork after this line gives parent and child
    // different syscall bytes; one before the syscall could give both the
    // same bytes and the same generation.
    state.generation.store(current, Ordering::Relaxed);
    // The syscall is not performed before the generation load (pairs with
    // the kernel's release store of it).
    fence(Ordering::Acquire);
    let key = state.batch_key[BATCH_SIZE..]
        .as_ptr()
        .cast::<u8>()
        .cast_mut();
    // SAFETY: `key` is the state's 32 key bytes, ours while `in_use`.
    if unsafe { arch.getrandom_syscall(key, CHACHA_KEY_SIZE, 0) } != CHACHA_KEY_SIZE as isize {
        state.generation.store(0, Ordering::Relaxed);
        // Cleared only after the last write to the state.
        state.in_use.store(false, Ordering::Relaxed);
        return false;
    }
    // An empty batch: the next bytes come from the new key.
    state.pos.store(BATCH_SIZE as u8, Ordering::Relaxed);
    true
}

/// Writes `len` bytes of `state`'s stream to `buffer`: what is left of the
/// batch, whole blocks straight into the buffer, then the rest from a new
/// batch, whose refill also replaces the key (fast key erasure).
///
/// # Safety
///
/// `buffer` is valid for `len` bytes of writes; `state` is in use by this
/// call.
#[cfg_attr(feature = "image", optimize(size))]
unsafe fn stream<R: Random + ?Sized>(
    arch: &R,
    state: &State,
    mut buffer: *mut u8,
    mut len: usize,
    counter: &mut [u32; 2],
) {
    let batch_key = state.batch_key.as_ptr().cast::<u8>().cast_mut();
    // SAFETY: inside `batch_key`.
    let key = unsafe { batch_key.add(BATCH_SIZE) }
        .cast::<u32>()
        .cast_const();
    loop {
        let pos = usize::from(state.pos.load(Ordering::Relaxed)).min(BATCH_SIZE);
        let take = (BATCH_SIZE - pos).min(len);
        // SAFETY: `take` bytes from `pos` lie inside the batch and inside
        // the caller's buffer.
        unsafe { copy_and_zero_source(buffer, batch_key.add(pos), take) };
        state.pos.store((pos + take) as u8, Ordering::Relaxed);
        // At most `len` bytes on (wrapping: never dereferenced past it).
        buffer = buffer.wrapping_add(take);
        len -= take;
        if len == 0 {
            return;
        }
        let nblocks = len / CHACHA_BLOCK_SIZE;
        if nblocks > 0 {
            // SAFETY: `nblocks` whole blocks fit in the `len` bytes left.
            unsafe { arch.chacha20_blocks(buffer, key, counter, nblocks) };
            buffer = buffer.wrapping_add(nblocks * CHACHA_BLOCK_SIZE);
            len -= nblocks * CHACHA_BLOCK_SIZE;
        }
        // SAFETY: `batch_key` is two blocks; the key is read before the
        // block function overwrites it.
        unsafe { arch.chacha20_blocks(batch_key, key, counter, 2) };
        state.pos.store(0, Ordering::Relaxed);
    }
}

/// Copies `len` bytes from `src` to `dst` and zeroes them at `src` as it
/// goes (Linux's `memcpy_and_zero_src`): output, once handed out, is gone
/// from the state. Eight bytes at a time (unaligned loads and stores are
/// cheap on the arches we build for), then byte by byte, as Linux does.
/// Each step ends with a compiler fence, so the loops stay loops: the
/// compiler can neither turn them into `memcpy`/`memset` calls (the image
/// has none) nor move bytes through the stack. The zeroing cannot be
/// dropped either: the state outlives the call.
///
/// # Safety
///
/// `dst` is valid for `len` bytes of writes, `src` for reads and writes;
/// they do not overlap.
unsafe fn copy_and_zero_source(dst: *mut u8, src: *mut u8, len: usize) {
    let mut i = 0;
    while len - i >= 8 {
        // SAFETY: `i + 8 <= len`: inside both, per the contract; the
        // accesses are unaligned ones.
        unsafe {
            let (d, s) = (dst.add(i).cast::<u64>(), src.add(i).cast::<u64>());
            d.write_unaligned(s.read_unaligned());
            s.write_unaligned(0);
        }
        compiler_fence(Ordering::SeqCst);
        i += 8;
    }
    while i < len {
        // SAFETY: `i < len`: inside both, per the contract.
        unsafe {
            dst.add(i).write(src.add(i).read());
            src.add(i).write(0);
        }
        compiler_fence(Ordering::SeqCst);
        i += 1;
    }
}

/// `"expand 32-byte k"`, ChaCha's constant words.
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// One ChaCha20 block (RFC 8439 §2.3) of the 16-word input `state`.
pub fn chacha20_block(state: &[u32; 16]) -> [u8; CHACHA_BLOCK_SIZE] {
    let mut x = *state;
    for _ in 0..10 {
        for [a, b, c, d] in [
            [0, 4, 8, 12],
            [1, 5, 9, 13],
            [2, 6, 10, 14],
            [3, 7, 11, 15],
            [0, 5, 10, 15],
            [1, 6, 11, 12],
            [2, 7, 8, 13],
            [3, 4, 9, 14],
        ] {
            quarter_round(&mut x, a, b, c, d);
        }
    }
    let mut out = [0; CHACHA_BLOCK_SIZE];
    for (i, word) in x
        .iter()
        .zip(state)
        .map(|(x, s)| x.wrapping_add(*s))
        .enumerate()
    {
        out[4 * i..4 * i + 4].copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// ChaCha's quarter round on words `a`, `b`, `c`, `d` of `x`.
fn quarter_round(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

/// The portable [`Random::chacha20_blocks`]: `dst.len() / 64` blocks with
/// `key`, nonce 0 and the 64-bit counter `counter` (low word first, the
/// carry going into the high word), which is advanced. The host tests'
/// block function and the reference for the arch's.
pub fn chacha20_blocks(dst: &mut [u8], key: &[u32; 8], counter: &mut [u32; 2]) {
    for block in dst.chunks_exact_mut(CHACHA_BLOCK_SIZE) {
        let mut input = [0u32; 16];
        input[..4].copy_from_slice(&SIGMA);
        input[4..12].copy_from_slice(key);
        input[12] = counter[0];
        input[13] = counter[1];
        block.copy_from_slice(&chacha20_block(&input));
        let next = (u64::from(counter[1]) << 32 | u64::from(counter[0])).wrapping_add(1);
        *counter = [next as u32, (next >> 32) as u32];
    }
}
