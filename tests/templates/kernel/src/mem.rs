//! `memcpy`, `memmove`, `memset`, `memcmp` and `bcmp`, which compiled Rust
//! calls and which a kernel has no libc to take from. Byte loops in
//! assembly (a Rust loop could be compiled back into a call to itself);
//! the kernel copies little.

core::arch::global_asm!(
    r#"
    .text
    .global memcpy
    .global memmove
    .global memset
    .global memcmp
    .global bcmp
memcpy:
    mov     x3, x0
    cbz     x2, 2f
1:  ldrb    w4, [x1], #1
    strb    w4, [x3], #1
    subs    x2, x2, #1
    b.ne    1b
2:  ret

memmove:
    cmp     x0, x1
    b.ls    memcpy          // destination below the source: forwards is safe
    add     x3, x0, x2
    add     x1, x1, x2
    cbz     x2, 2f
1:  ldrb    w4, [x1, #-1]!
    strb    w4, [x3, #-1]!
    subs    x2, x2, #1
    b.ne    1b
2:  ret

memset:
    mov     x3, x0
    cbz     x2, 2f
1:  strb    w1, [x3], #1
    subs    x2, x2, #1
    b.ne    1b
2:  ret

memcmp:
bcmp:
    cbz     x2, 2f
1:  ldrb    w3, [x0], #1
    ldrb    w4, [x1], #1
    subs    w3, w3, w4
    b.ne    3f
    subs    x2, x2, #1
    b.ne    1b
2:  mov     w0, #0
    ret
3:  mov     w0, w3
    ret
"#
);
