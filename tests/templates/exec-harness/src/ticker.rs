//! The ticker: the harness's timer interrupt. A thread that calls
//! [`Writer::tick`] once per coarse-clock period, so `CLOCK_REALTIME_COARSE`
//! and `CLOCK_MONOTONIC_COARSE` advance in steps as on Linux (the
//! high-resolution clocks need no ticks: the vDSO multiplies in 128 bits).
//!
//! It outlives the harness: after the jump it keeps running inside the
//! client's process, beside threads of a libc that knows nothing about it.
//! So it is built to be invisible and untouchable:
//!
//! - everything it uses (its stack, the [`Writer`] stored at the top of
//!   that stack, the data page) lies in mappings the kernel placed, which the
//!   client neither knows nor frees; they are never unmapped;
//! - it is a raw `clone` thread, not a `pthread`: no TLS (`TPIDR_EL0` is 0),
//!   no libc state, nothing the client's libc could reinitialise;
//! - all signals are blocked in it, so process-directed signals (SIGINT,
//!   SIGTERM, SIGCHLD, Go's SIGURG) go to the client's threads;
//! - it sleeps with the plain `nanosleep` syscall and reads only the
//!   counter: a trace shows no clock syscall from it;
//! - it never exits: it dies with the process when the client calls
//!   `exit_group` (every libc's `exit` and Go's). A client that ends its
//!   last thread with the bare `exit` syscall would leave the process
//!   running with the ticker alone; none we know does.
//!
//! # Safety
//!
//! The thread entry receives the address of its [`Ticker`] as an integer;
//! see [`run`] for why turning it back into a `&mut` is sound.

use core::mem::{align_of, size_of};
use core::ptr;

use loader::Writer;

use crate::sys;

/// Bytes of stack for the ticker (it needs a few hundred).
const STACK_SIZE: usize = 64 * 1024;
/// An inaccessible page below the stack, so an overflow faults instead of
/// writing into a neighbour.
const GUARD_SIZE: usize = 4096;

/// What the ticker thread owns, stored at the top of its stack.
struct Ticker {
    writer: Writer<'static>,
    period_ns: u64,
    /// Ticks between two RNG reseeds (`Writer::rng_reseeded`); 0: never.
    reseed_ticks: u64,
}

/// Moves `writer` into a new ticker thread that ticks every `period_ns`
/// nanoseconds and, with `reseed_ns`, publishes a new RNG generation about
/// that often (at least every tick). Returns the thread id and the mapping
/// `(start, len)` holding its stack and state, for diagnostics.
pub fn start(
    writer: Writer<'static>,
    period_ns: u64,
    reseed_ns: Option<u64>,
) -> Result<(u64, usize, usize), String> {
    let reseed_ticks = reseed_ns.map_or(0, |ns| (ns / period_ns).max(1));
    let len = GUARD_SIZE + STACK_SIZE;
    let base = sys::mmap_anywhere(len, sys::PROT_RW)
        .map_err(|e| format!("cannot map the ticker's stack: {}", sys::describe(e)))?;
    // SAFETY: the lowest page of our fresh mapping, which nothing uses.
    unsafe { sys::mprotect(base, GUARD_SIZE, sys::PROT_NONE) }.map_err(|e| {
        format!(
            "cannot protect the ticker's guard page: {}",
            sys::describe(e)
        )
    })?;
    let top = base + len;
    let slot = (top - size_of::<Ticker>()) & !(align_of::<Ticker>().max(16) - 1);
    let ticker = Ticker {
        writer,
        period_ns,
        reseed_ticks,
    };
    // SAFETY: `slot` is aligned for `Ticker` and lies in the writable part
    // of our fresh mapping, above the stack the thread will use; nothing
    // else refers to it. The writer moves there and is used only by the
    // thread from now on.
    unsafe { ptr::write(slot as *mut Ticker, ticker) };
    // The thread inherits the signal mask in force at `clone`: block
    // everything for the call, then restore ours (which the client inherits,
    // as across `execve`).
    let mask = sys::block_all_signals();
    // SAFETY: the stack below `slot` (16-byte aligned) belongs to the new
    // thread alone and is never unmapped; `run` never returns, uses no TLS
    // or libc, and `slot` holds the `Ticker` it expects, which nothing else
    // touches again.
    let tid = unsafe { sys::spawn_thread(slot, run, slot) };
    sys::set_signal_mask(mask);
    let tid = tid.map_err(|e| format!("cannot start the ticker thread: {}", sys::describe(e)))?;
    Ok((tid, base, len))
}

/// The ticker thread: sleep one period, read the counter, tick, reseed when
/// due; forever.
extern "C" fn run(ticker: usize) -> ! {
    // SAFETY: `start` wrote a `Ticker` at this address before creating this
    // thread and never touches it again; the mapping is never unmapped and
    // the client does not know it. So this is the only reference, valid
    // for the life of the process.
    let ticker = unsafe { &mut *(ticker as *mut Ticker) };
    let mut ticks = 0u64;
    loop {
        sys::nanosleep(ticker.period_ns);
        let counter = ticker.writer.read_counter();
        ticker.writer.tick(counter);
        ticks += 1;
        if ticker.reseed_ticks != 0 && ticks.is_multiple_of(ticker.reseed_ticks) {
            ticker.writer.rng_reseeded();
        }
    }
}
