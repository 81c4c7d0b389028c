//! Exceptions: the vector table, the saved user state ([`TrapFrame`]) and
//! the way back to EL0.
//!
//! Every exception from EL0 (a system call, a fault, the timer interrupt)
//! saves all general-purpose and FP/SIMD registers on the kernel stack,
//! calls Rust with the frame, and restores the (possibly changed) frame with
//! `eret`. The kernel itself runs with interrupts masked, so a frame is
//! never interrupted by another; an exception taken at EL1 is a kernel bug
//! and ends in a panic.

use core::arch::global_asm;

/// The user state saved at an exception: what `eret` restores.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug)]
pub struct TrapFrame {
    /// x0 to x30.
    pub x: [u64; 31],
    /// The user stack pointer (`SP_EL0`).
    pub sp: u64,
    /// Where user space continues (`ELR_EL1`): after an `svc`, the next
    /// instruction.
    pub pc: u64,
    /// `SPSR_EL1`: the condition flags and EL0's interrupt masks.
    pub pstate: u64,
    /// `FPSR`.
    pub fpsr: u64,
    /// `FPCR`.
    pub fpcr: u64,
    /// v0 to v31.
    pub v: [u128; 32],
}

/// Size of [`TrapFrame`], as the assembly uses it.
const FRAME_SIZE: usize = 800;
const _: () = assert!(core::mem::size_of::<TrapFrame>() == FRAME_SIZE);
const _: () = assert!(core::mem::offset_of!(TrapFrame, sp) == 248);
const _: () = assert!(core::mem::offset_of!(TrapFrame, pstate) == 264);
const _: () = assert!(core::mem::offset_of!(TrapFrame, fpcr) == 280);
const _: () = assert!(core::mem::offset_of!(TrapFrame, v) == 288);

impl TrapFrame {
    /// The state a new program starts in: registers zero, `sp` and `pc`
    /// given, EL0 with interrupts enabled (`SPSR = 0` is EL0t, DAIF clear).
    pub fn new_user(pc: u64, sp: u64) -> TrapFrame {
        TrapFrame {
            x: [0; 31],
            sp,
            pc,
            pstate: 0,
            fpsr: 0,
            fpcr: 0,
            v: [0; 32],
        }
    }
}

global_asm!(
    r#"
// Each vector entry has room for 32 instructions: it saves x0 and x1,
// puts its number in x1 and branches to the common code.
.macro VECTOR kind
    .balign 0x80
    sub     sp, sp, #800
    stp     x0, x1, [sp, #0]
    mov     x1, #\kind
    b       __trap_save
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global __vectors
__vectors:
    // 0-3: from EL1 with SP_EL0; 4-7: from EL1 with SP_EL1 (kernel bugs);
    // 8-11: from EL0 in AArch64; 12-15: from EL0 in AArch32. Each group:
    // synchronous, IRQ, FIQ, SError.
    VECTOR 0
    VECTOR 1
    VECTOR 2
    VECTOR 3
    VECTOR 4
    VECTOR 5
    VECTOR 6
    VECTOR 7
    VECTOR 8
    VECTOR 9
    VECTOR 10
    VECTOR 11
    VECTOR 12
    VECTOR 13
    VECTOR 14
    VECTOR 15

    .text
__trap_save:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x9, sp_el0
    stp     x30, x9, [sp, #240]
    mrs     x10, elr_el1
    mrs     x11, spsr_el1
    stp     x10, x11, [sp, #256]
    mrs     x12, fpsr
    mrs     x13, fpcr
    stp     x12, x13, [sp, #272]
    add     x14, sp, #288
    stp     q0, q1, [x14, #0]
    stp     q2, q3, [x14, #32]
    stp     q4, q5, [x14, #64]
    stp     q6, q7, [x14, #96]
    stp     q8, q9, [x14, #128]
    stp     q10, q11, [x14, #160]
    stp     q12, q13, [x14, #192]
    stp     q14, q15, [x14, #224]
    stp     q16, q17, [x14, #256]
    stp     q18, q19, [x14, #288]
    stp     q20, q21, [x14, #320]
    stp     q22, q23, [x14, #352]
    stp     q24, q25, [x14, #384]
    stp     q26, q27, [x14, #416]
    stp     q28, q29, [x14, #448]
    stp     q30, q31, [x14, #480]
    mov     x0, sp
    bl      trap_entry

    .global __trap_restore
__trap_restore:
    add     x14, sp, #288
    ldp     q0, q1, [x14, #0]
    ldp     q2, q3, [x14, #32]
    ldp     q4, q5, [x14, #64]
    ldp     q6, q7, [x14, #96]
    ldp     q8, q9, [x14, #128]
    ldp     q10, q11, [x14, #160]
    ldp     q12, q13, [x14, #192]
    ldp     q14, q15, [x14, #224]
    ldp     q16, q17, [x14, #256]
    ldp     q18, q19, [x14, #288]
    ldp     q20, q21, [x14, #320]
    ldp     q22, q23, [x14, #352]
    ldp     q24, q25, [x14, #384]
    ldp     q26, q27, [x14, #416]
    ldp     q28, q29, [x14, #448]
    ldp     q30, q31, [x14, #480]
    ldp     x12, x13, [sp, #272]
    msr     fpsr, x12
    msr     fpcr, x13
    ldp     x10, x11, [sp, #256]
    msr     elr_el1, x10
    msr     spsr_el1, x11
    ldp     x30, x9, [sp, #240]
    msr     sp_el0, x9
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    add     sp, sp, #800
    eret
"#
);

extern "C" {
    static __vectors: u8;
    fn __trap_restore() -> !;
}

/// Installs the vector table.
pub fn init() {
    // SAFETY: `__vectors` is the 2 KiB-aligned table above, whose entries
    // save the frame and call the handlers below.
    unsafe {
        let base = core::ptr::addr_of!(__vectors) as u64;
        core::arch::asm!("msr vbar_el1, {0}", "isb", in(reg) base);
    }
}

/// Starts user space in `frame` for the first time: the kernel stack
/// pointer moves to the frame (wherever the boot path has it; what lies
/// above it is abandoned) and the common exception exit restores it. Every
/// later exception then uses the stack below.
pub fn enter_user(frame: &mut TrapFrame) -> ! {
    // SAFETY: `frame` is a 16-aligned `TrapFrame` on the kernel stack, as
    // `__trap_restore` expects at sp; it pops the frame and `eret`s to EL0,
    // never returning here, so nothing on the stack above it is used again.
    unsafe {
        core::arch::asm!(
            "mov sp, {frame}",
            "b {restore}",
            frame = in(reg) frame as *mut TrapFrame,
            restore = sym __trap_restore,
            options(noreturn),
        )
    }
}

/// Where every exception lands, with the saved frame and the vector's
/// number.
#[no_mangle]
extern "C" fn trap_entry(frame: &mut TrapFrame, vector: u64) {
    match vector {
        8 => crate::kernel::user_sync(frame),
        9 => crate::kernel::user_irq(frame),
        _ => unexpected(frame, vector),
    }
}

fn unexpected(frame: &TrapFrame, vector: u64) -> ! {
    let (esr, far): (u64, u64);
    // SAFETY: reading the syndrome and fault address registers.
    unsafe {
        core::arch::asm!("mrs {0}, esr_el1", "mrs {1}, far_el1", out(reg) esr, out(reg) far);
    }
    panic!(
        "unexpected exception (vector {vector}) esr={esr:#x} far={far:#x} elr={:#x}",
        frame.pc
    );
}
