//! Image rule 9's stack bound (aarch64): no call chain from an export uses
//! more than [`MAX_STACK`] bytes of stack. Go calls the vDSO on `g0` and on
//! small goroutine stacks, and Linux's own arm64 image stays within a
//! 128-byte frame.
//!
//! The image is stripped, so its functions are found from the code: every
//! export, every `bl` target, and every unconditional `b` that leaves the
//! function it is in (a tail call). Each function's frame is the sum of its
//! stack-pointer decrements (`sub sp, sp, #imm`, pre-indexed stores to
//! `sp`); its depth is its frame plus its deepest `bl` callee's depth, or a
//! tail callee's depth, whichever is more. A stack adjustment by a register
//! and recursion are violations: their depth is not bounded.

use std::collections::{BTreeMap, BTreeSet};

/// The most stack any export may use, in bytes.
pub const MAX_STACK: u64 = 128;

/// A function's stack use, as far as the code says.
enum Depth {
    Bytes(u64),
    Unbounded(String),
}

/// The code: instruction words by address, and where the symbols say
/// functions start.
pub(super) struct Code {
    words: BTreeMap<u64, u32>,
    symbols: BTreeSet<u64>,
}

impl Code {
    /// `words` by address, with functions known to start at `symbols` (the
    /// exports: each ends where the next function starts).
    pub(super) fn new(words: BTreeMap<u64, u32>, symbols: impl IntoIterator<Item = u64>) -> Code {
        Code {
            words,
            symbols: symbols.into_iter().collect(),
        }
    }

    /// The stack the call chains from `entry` use, or why it is unbounded.
    pub(super) fn depth_of(&self, entry: u64) -> Result<u64, String> {
        let starts = self.function_starts(entry);
        let mut memo = BTreeMap::new();
        match self.depth(entry, &starts, &mut memo, &mut BTreeSet::new()) {
            Depth::Bytes(n) => Ok(n),
            Depth::Unbounded(why) => Err(why),
        }
    }

    /// Every function start reachable from `entry` (fixed point over tail
    /// calls, which are known only once the regions are).
    fn function_starts(&self, entry: u64) -> BTreeSet<u64> {
        let mut starts: BTreeSet<u64> = BTreeSet::from([entry]);
        starts.extend(&self.symbols);
        starts.extend(self.words.iter().filter_map(|(&at, &w)| bl_target(at, w)));
        loop {
            let tails: Vec<u64> = starts
                .iter()
                .flat_map(|&s| self.tail_targets(s, &starts))
                .filter(|t| !starts.contains(t))
                .collect();
            if tails.is_empty() {
                return starts;
            }
            starts.extend(tails);
        }
    }

    /// The words of the function at `start`: up to the next start.
    fn region(&self, start: u64, starts: &BTreeSet<u64>) -> impl Iterator<Item = (u64, u32)> + '_ {
        let end = starts
            .range(start + 1..)
            .next()
            .copied()
            .unwrap_or(u64::MAX);
        self.words.range(start..end).map(|(&a, &w)| (a, w))
    }

    /// Unconditional branches out of the function at `start`.
    fn tail_targets(&self, start: u64, starts: &BTreeSet<u64>) -> Vec<u64> {
        let end = starts
            .range(start + 1..)
            .next()
            .copied()
            .unwrap_or(u64::MAX);
        self.region(start, starts)
            .filter_map(|(at, w)| b_target(at, w))
            .filter(|&t| t < start || t >= end)
            .collect()
    }

    fn depth(
        &self,
        f: u64,
        starts: &BTreeSet<u64>,
        memo: &mut BTreeMap<u64, u64>,
        on_path: &mut BTreeSet<u64>,
    ) -> Depth {
        if let Some(&n) = memo.get(&f) {
            return Depth::Bytes(n);
        }
        if !on_path.insert(f) {
            return Depth::Unbounded(format!("the function at {f:#x} calls itself"));
        }
        let mut frame = 0;
        let (mut calls, mut tails) = (0, 0);
        for (at, w) in self.region(f, starts).collect::<Vec<_>>() {
            match sp_decrement(w) {
                Some(Some(n)) => frame += n,
                Some(None) => {
                    return Depth::Unbounded(format!("{w:#010x} at {at:#x} moves sp by a register"))
                }
                None => {}
            }
            let callee = bl_target(at, w).map(|t| (t, true));
            let tail = b_target(at, w)
                .filter(|t| starts.contains(t) && *t != f)
                .map(|t| (t, false));
            if let Some((target, is_call)) = callee.or(tail) {
                match self.depth(target, starts, memo, on_path) {
                    Depth::Bytes(n) if is_call => calls = calls.max(n),
                    Depth::Bytes(n) => tails = tails.max(n),
                    unbounded => return unbounded,
                }
            }
        }
        on_path.remove(&f);
        let n = (frame + calls).max(tails);
        memo.insert(f, n);
        Depth::Bytes(n)
    }
}

/// `bl`'s target.
fn bl_target(at: u64, w: u32) -> Option<u64> {
    (w & 0xfc00_0000 == 0x9400_0000).then(|| branch_target(at, w))
}

/// `b`'s target (unconditional, immediate).
fn b_target(at: u64, w: u32) -> Option<u64> {
    (w & 0xfc00_0000 == 0x1400_0000).then(|| branch_target(at, w))
}

/// `at` plus the signed 26-bit word offset of `w`.
fn branch_target(at: u64, w: u32) -> u64 {
    let words = ((w << 6) as i32 >> 6) as i64;
    at.wrapping_add_signed(words * 4)
}

/// How far `w` moves `sp` down: `Some(Some(n))` for `sub sp, sp, #imm` and
/// the pre-indexed stores to `[sp, #-n]!`, `Some(None)` for `sub sp, sp, xN`
/// (not bounded), `None` for everything else.
fn sp_decrement(w: u32) -> Option<Option<u64>> {
    let rn_is_sp = (w >> 5) & 0x1f == 31;
    // SUB (immediate), 64-bit, Rd = Rn = sp.
    if w & 0xff80_03ff == 0xd100_03ff {
        let imm = u64::from((w >> 10) & 0xfff);
        return Some(Some(if w & (1 << 22) != 0 { imm << 12 } else { imm }));
    }
    // SUB (extended register), 64-bit, Rd = Rn = sp.
    if w & 0xffe0_001f == 0xcb20_001f && rn_is_sp {
        return Some(None);
    }
    // STP/STNP... pre-indexed (bits 29-27 101, 25-23 011, L = 0), Rn = sp.
    if (w >> 27) & 0x7 == 0b101 && (w >> 23) & 0x7 == 0b011 && (w >> 22) & 1 == 0 && rn_is_sp {
        let imm7 = ((w >> 15) & 0x7f) as i64;
        let offset = if imm7 & 0x40 != 0 { imm7 - 0x80 } else { imm7 };
        let (opc, simd) = (w >> 30, (w >> 26) & 1 == 1);
        let scale = if simd {
            4 << opc
        } else if opc == 2 {
            8
        } else {
            4
        };
        return Some(Some((-offset * scale).max(0) as u64));
    }
    // STR (immediate, pre-indexed), any size, Rn = sp.
    if w & 0x3b20_0c00 == 0x3800_0c00 && rn_is_sp {
        let imm9 = ((w >> 12) & 0x1ff) as i64;
        let offset = if imm9 & 0x100 != 0 {
            imm9 - 0x200
        } else {
            imm9
        };
        return Some(Some((-offset).max(0) as u64));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodings checked with `aarch64-linux-gnu-as`.
    #[test]
    fn the_decoders_read_what_the_assembler_writes() {
        assert_eq!(sp_decrement(0xd101_83ff), Some(Some(0x60))); // sub sp, sp, #0x60
        assert_eq!(sp_decrement(0xd14007ff), Some(Some(0x1000))); // sub sp, sp, #1, lsl #12
        assert_eq!(sp_decrement(0xa9bf7bfd), Some(Some(16))); // stp x29, x30, [sp, #-16]!
        assert_eq!(sp_decrement(0xf81f0ffe), Some(Some(16))); // str x30, [sp, #-16]!
        assert_eq!(sp_decrement(0xcb2063ff), Some(None)); // sub sp, sp, x0
        assert_eq!(sp_decrement(0xa9017bfd), None); // stp x29, x30, [sp, #16]
        assert_eq!(sp_decrement(0x910183ff), None); // add sp, sp, #0x60
        assert_eq!(bl_target(0x100, 0x97ff_ffff), Some(0xfc)); // bl .-4
        assert_eq!(b_target(0x100, 0x1400_0002), Some(0x108)); // b .+8
    }

    #[test]
    fn a_chain_adds_frames_and_a_tail_call_does_not() {
        // 0x0: sub sp, #0x20; bl 0x10; b 0x20 | 0x10: sub sp, #0x30; ret | 0x20: sub sp, #0x40; ret
        let words = BTreeMap::from([
            (0x0, 0xd100_83ff),
            (0x4, 0x9400_0003),
            (0x8, 0x1400_0006),
            (0x10, 0xd100_c3ff),
            (0x14, 0xd65f_03c0),
            (0x20, 0xd101_03ff),
            (0x24, 0xd65f_03c0),
        ]);
        assert_eq!(Code::new(words, [0]).depth_of(0), Ok(0x50));
    }
}
