// ChaCha20 blocks for the getrandom export (issue 16): the aarch64
// `Random::chacha20_blocks`, what Linux calls `__arch_chacha20_blocks_nostack`.
//
//   void __vdso_chacha20_blocks(u8 *dst, const u32 key[8], u32 counter[2], size_t nblocks)
//
// Writes nblocks (at least 1) 64-byte blocks of ChaCha20 with `key`, nonce 0
// and the 64-bit block counter `counter` (low word first) to `dst`, and
// stores the advanced counter back. One block at a time in NEON: the state's
// four rows in v0-v3, a column round on all four columns at once, the
// diagonal round after rotating rows 1-3 with `ext`.
//
// It touches no stack and no memory but its arguments, and uses only
// registers a call may clobber (x0-x6, v0-v4, v16-v20: never x18, never the
// callee-saved v8-v15). Before it returns it zeroes every vector register
// that held key material or keystream, so none is left behind for a later
// spill to the stack. The key is read before `dst` is written, so `dst` may
// be the buffer the key lies at the end of (the state's batch_key).
// `tests/programs/chacha` checks it against the portable
// `vdso::random::chacha20_blocks` under qemu-aarch64.

// Four quarter rounds at once, one per column of v0-v3 (rows a, b, c, d),
// with v4 as scratch: a += b; d ^= a; d <<<= 16; c += d; b ^= c; b <<<= 12;
// a += b; d ^= a; d <<<= 8; c += d; b ^= c; b <<<= 7.
.macro __vdso_chacha20_quarter_rounds
    add v0.4s, v0.4s, v1.4s
    eor v3.16b, v3.16b, v0.16b
    rev32 v3.8h, v3.8h
    add v2.4s, v2.4s, v3.4s
    eor v4.16b, v1.16b, v2.16b
    shl v1.4s, v4.4s, #12
    sri v1.4s, v4.4s, #20
    add v0.4s, v0.4s, v1.4s
    eor v4.16b, v3.16b, v0.16b
    shl v3.4s, v4.4s, #8
    sri v3.4s, v4.4s, #24
    add v2.4s, v2.4s, v3.4s
    eor v4.16b, v1.16b, v2.16b
    shl v1.4s, v4.4s, #7
    sri v1.4s, v4.4s, #25
.endm

    .pushsection .text.__vdso_chacha20_blocks, "ax", %progbits
    .balign 16
    .globl __vdso_chacha20_blocks
    .hidden __vdso_chacha20_blocks
    .type __vdso_chacha20_blocks, %function
__vdso_chacha20_blocks:
    // v16: "expand 32-byte k"; v17, v18: the key; v19: counter, nonce 0.
    movz w4, #0x7865
    movk w4, #0x6170, lsl #16
    mov v16.s[0], w4
    movz w4, #0x646e
    movk w4, #0x3320, lsl #16
    mov v16.s[1], w4
    movz w4, #0x2d32
    movk w4, #0x7962, lsl #16
    mov v16.s[2], w4
    movz w4, #0x6574
    movk w4, #0x6b20, lsl #16
    mov v16.s[3], w4
    ld1 {v17.4s, v18.4s}, [x1]
    ldr d19, [x2]
    // v20.d[0] = 1: the 64-bit counter's increment.
    mov x5, #1
    fmov d20, x5
1:
    mov v0.16b, v16.16b
    mov v1.16b, v17.16b
    mov v2.16b, v18.16b
    mov v3.16b, v19.16b
    mov w6, #10
2:
    // Column round: quarter rounds on (0,4,8,12) .. (3,7,11,15).
    __vdso_chacha20_quarter_rounds
    // Diagonals into columns: row i rotated left by i words.
    ext v1.16b, v1.16b, v1.16b, #4
    ext v2.16b, v2.16b, v2.16b, #8
    ext v3.16b, v3.16b, v3.16b, #12
    // Diagonal round: quarter rounds on (0,5,10,15) .. (3,4,9,14).
    __vdso_chacha20_quarter_rounds
    // And back.
    ext v1.16b, v1.16b, v1.16b, #12
    ext v2.16b, v2.16b, v2.16b, #8
    ext v3.16b, v3.16b, v3.16b, #4
    subs w6, w6, #1
    b.ne 2b
    // Add the input, store the block (little-endian words), next counter.
    add v0.4s, v0.4s, v16.4s
    add v1.4s, v1.4s, v17.4s
    add v2.4s, v2.4s, v18.4s
    add v3.4s, v3.4s, v19.4s
    st1 {v0.16b, v1.16b, v2.16b, v3.16b}, [x0], #64
    add v19.2d, v19.2d, v20.2d
    subs x3, x3, #1
    b.ne 1b
    str d19, [x2]
    // No key or keystream left in a register.
    movi v0.16b, #0
    movi v1.16b, #0
    movi v2.16b, #0
    movi v3.16b, #0
    movi v4.16b, #0
    movi v17.16b, #0
    movi v18.16b, #0
    ret
    .size __vdso_chacha20_blocks, . - __vdso_chacha20_blocks
    .popsection
