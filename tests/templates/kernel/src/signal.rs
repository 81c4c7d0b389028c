//! Signals, Linux arm64's way: dispositions (`rt_sigaction`), the mask,
//! and delivery through a `struct rt_sigframe` on the user stack whose
//! handler returns through the vDSO's `__kernel_rt_sigreturn`.
//!
//! Delivery happens on the way back to EL0 (after a system call or an
//! interrupt). The frame is Linux's (`arch/arm64/kernel/signal.c`,
//! `uapi/asm/sigcontext.h`, `ucontext.h`), so a handler can read
//! `uc_mcontext` as on Linux:
//!
//! ```text
//! frame -> siginfo_t                        128 bytes
//!          ucontext: uc_flags, uc_link, uc_stack, uc_sigmask, padding
//!          uc_mcontext (16-aligned): fault_address, regs[31], sp, pc,
//!                                    pstate, __reserved[4096]:
//!                                      fpsimd_context (FPSIMD_MAGIC),
//!                                      terminator {0, 0}
//!          frame record {x29, x30}          (x29 points here)
//! ```
//!
//! The handler starts with x0 = signal, x1 = &info, x2 = &uc (with
//! `SA_SIGINFO`), sp = frame, and x30 = the return address: the
//! `SA_RESTORER` function if the process gave one (musl always does), else
//! `layout.image + loader::offsets::KERNEL_RT_SIGRETURN` (glibc on arm64
//! gives none). Its `ret` then lands on `mov x8, #139; svc #0`, and
//! [`sigreturn`] restores everything from the frame.

use crate::console::kprintln;
use crate::kernel::{Exit, Kernel};
use crate::mm;
use crate::trap::TrapFrame;

/// Size of `struct rt_sigframe` (siginfo 128 + ucontext 4560).
pub const FRAME_SIZE: usize = 4688;
/// `struct rt_sigframe` offsets.
const UC: usize = 128;
const UC_STACK: usize = UC + 16;
const UC_SIGMASK: usize = UC + 40;
const MCONTEXT: usize = UC + 176;
const REGS: usize = MCONTEXT + 8;
const SP: usize = MCONTEXT + 256;
const PC: usize = MCONTEXT + 264;
const PSTATE: usize = MCONTEXT + 272;
const RESERVED: usize = MCONTEXT + 288;
/// `fpsimd_context`: magic, size, fpsr, fpcr, vregs.
const FPSIMD_MAGIC: u32 = 0x4650_8001;
const FPSIMD_SIZE: usize = 528;

/// `SA_SIGINFO`.
const SA_SIGINFO: u64 = 0x4;
/// `SA_RESTORER`.
pub const SA_RESTORER: u64 = 0x0400_0000;
/// `SA_NODEFER`.
const SA_NODEFER: u64 = 0x4000_0000;
/// `SA_RESETHAND`.
const SA_RESETHAND: u64 = 0x8000_0000;
/// `SIG_DFL`, `SIG_IGN`.
const SIG_DFL: u64 = 0;
const SIG_IGN: u64 = 1;
/// `SS_DISABLE`: no alternate stack.
const SS_DISABLE: u32 = 2;
/// Signal numbers used here.
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGBUS: u32 = 7;
pub const SIGKILL: u32 = 9;
pub const SIGSEGV: u32 = 11;
pub const SIGSTOP: u32 = 19;
/// Signals whose default action is to do nothing: SIGCHLD, SIGCONT,
/// SIGURG, SIGWINCH.
const IGNORED_BY_DEFAULT: u64 = bit(17) | bit(18) | bit(23) | bit(28);
/// `si_code` for `kill` and `tkill`.
pub const SI_USER: i32 = 0;
pub const SI_TKILL: i32 = -6;
/// Number of signals.
pub const NSIG: u32 = 64;

/// The mask bit of signal `sig` (1 to 64).
pub const fn bit(sig: u32) -> u64 {
    1 << (sig - 1)
}

/// A `struct sigaction` as the arm64 system call takes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Action {
    /// `sa_handler`: `SIG_DFL`, `SIG_IGN` or a function.
    pub handler: u64,
    /// `sa_flags`.
    pub flags: u64,
    /// `sa_restorer` (with `SA_RESTORER`).
    pub restorer: u64,
    /// `sa_mask`.
    pub mask: u64,
}

/// A process's signal state.
#[derive(Debug)]
pub struct Signals {
    /// Dispositions, index `sig - 1`.
    pub actions: [Action; NSIG as usize],
    /// Blocked signals.
    pub blocked: u64,
    /// Pending signals, with the `si_code` each was sent with.
    pub pending: u64,
    codes: [i32; NSIG as usize],
}

impl Default for Signals {
    fn default() -> Signals {
        Signals {
            actions: [Action::default(); NSIG as usize],
            blocked: 0,
            pending: 0,
            codes: [0; NSIG as usize],
        }
    }
}

impl Signals {
    /// Marks `sig` pending (sent with `code`), unless it is ignored.
    pub fn send(&mut self, sig: u32, code: i32) {
        let action = self.actions[sig as usize - 1];
        if action.handler == SIG_IGN
            || (action.handler == SIG_DFL && IGNORED_BY_DEFAULT & bit(sig) != 0)
        {
            return;
        }
        self.pending |= bit(sig);
        self.codes[sig as usize - 1] = code;
    }
}

/// A frame being built: the bytes at `sp`.
struct Frame([u8; FRAME_SIZE]);

impl Frame {
    fn put(&mut self, at: usize, bytes: &[u8]) {
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
    }
    fn put64(&mut self, at: usize, v: u64) {
        self.put(at, &v.to_le_bytes());
    }
    fn get64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.0[at..at + 8].try_into().expect("8 bytes"))
    }
    fn get32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.0[at..at + 4].try_into().expect("4 bytes"))
    }
}

/// Delivers one deliverable pending signal, if any, before `frame` goes
/// back to EL0: runs its default action or sets up its handler.
pub fn deliver(k: &mut Kernel, frame: &mut TrapFrame) {
    let signals = &mut k.process.signals;
    let ready = signals.pending & !signals.blocked;
    if ready == 0 {
        return;
    }
    let sig = ready.trailing_zeros() + 1;
    signals.pending &= !bit(sig);
    let code = signals.codes[sig as usize - 1];
    let action = signals.actions[sig as usize - 1];
    match action.handler {
        SIG_IGN => {}
        SIG_DFL if IGNORED_BY_DEFAULT & bit(sig) != 0 => {}
        SIG_DFL => k.exit(Exit::Signal(sig)),
        handler => {
            let return_to = if action.flags & SA_RESTORER != 0 {
                action.restorer
            } else {
                (k.process.layout.image + loader::offsets::KERNEL_RT_SIGRETURN) as u64
            };
            let via = if action.flags & SA_RESTORER != 0 {
                "SA_RESTORER"
            } else {
                "vdso"
            };
            kprintln!(
                "signal {sig} to handler {handler:#x}, returning via {via} at {return_to:#x}"
            );
            let old_mask = k.process.signals.blocked;
            if setup_frame(frame, sig, code, handler, return_to, action.flags, old_mask).is_err() {
                kprintln!(
                    "signal {sig}: cannot write its frame below sp {:#x}",
                    frame.sp
                );
                k.exit(Exit::Signal(SIGSEGV));
            }
            let signals = &mut k.process.signals;
            signals.blocked |= action.mask & !(bit(SIGKILL) | bit(SIGSTOP));
            if action.flags & SA_NODEFER == 0 {
                signals.blocked |= bit(sig);
            }
            if action.flags & SA_RESETHAND != 0 {
                signals.actions[sig as usize - 1] = Action::default();
            }
        }
    }
}

/// Sends a fault's signal that cannot wait: delivered now if it has a
/// handler and is not blocked, otherwise the process dies of it.
pub fn force(k: &mut Kernel, frame: &mut TrapFrame, sig: u32) {
    let signals = &mut k.process.signals;
    let action = signals.actions[sig as usize - 1];
    if action.handler == SIG_DFL || action.handler == SIG_IGN || signals.blocked & bit(sig) != 0 {
        k.exit(Exit::Signal(sig));
    }
    signals.pending |= bit(sig);
    signals.codes[sig as usize - 1] = SI_USER;
    deliver(k, frame);
}

fn setup_frame(
    frame: &mut TrapFrame,
    sig: u32,
    code: i32,
    handler: u64,
    return_to: u64,
    flags: u64,
    old_mask: u64,
) -> Result<(), mm::Fault> {
    // `get_sigframe`: the frame record 16-aligned below sp, the frame
    // 16-aligned below it.
    let record = (frame.sp.checked_sub(16).ok_or(mm::Fault)?) & !15;
    let sp = record.checked_sub(FRAME_SIZE as u64).ok_or(mm::Fault)? & !15;

    let mut f = Frame([0; FRAME_SIZE]);
    // siginfo: si_signo, si_errno, si_code, then si_pid, si_uid.
    f.put(0, &(sig as i32).to_le_bytes());
    f.put(8, &code.to_le_bytes());
    f.put(16, &(crate::process::PID as i32).to_le_bytes());
    // ucontext: no alternate stack; the mask to restore.
    f.put(UC_STACK + 8, &SS_DISABLE.to_le_bytes());
    f.put64(UC_SIGMASK, old_mask);
    for (i, x) in frame.x.iter().enumerate() {
        f.put64(REGS + 8 * i, *x);
    }
    f.put64(SP, frame.sp);
    f.put64(PC, frame.pc);
    f.put64(PSTATE, frame.pstate);
    f.put(RESERVED, &FPSIMD_MAGIC.to_le_bytes());
    f.put(RESERVED + 4, &(FPSIMD_SIZE as u32).to_le_bytes());
    f.put(RESERVED + 8, &(frame.fpsr as u32).to_le_bytes());
    f.put(RESERVED + 12, &(frame.fpcr as u32).to_le_bytes());
    for (i, v) in frame.v.iter().enumerate() {
        f.put(RESERVED + 16 + 16 * i, &v.to_le_bytes());
    }
    // The terminator after it is already zero.

    let mut rec = [0u8; 16];
    rec[..8].copy_from_slice(&frame.x[29].to_le_bytes());
    rec[8..].copy_from_slice(&frame.x[30].to_le_bytes());
    mm::copy_to_user(record as usize, &rec)?;
    mm::copy_to_user(sp as usize, &f.0)?;

    frame.x[0] = u64::from(sig);
    if flags & SA_SIGINFO != 0 {
        frame.x[1] = sp;
        frame.x[2] = sp + UC as u64;
    }
    frame.x[29] = record;
    frame.x[30] = return_to;
    frame.sp = sp;
    frame.pc = handler;
    Ok(())
}

/// `rt_sigreturn`: restores the state saved in the frame at sp. Says which
/// return path the handler took: the vDSO's `__kernel_rt_sigreturn` or
/// another one (an `SA_RESTORER`).
pub fn sigreturn(k: &mut Kernel, frame: &mut TrapFrame) {
    // After `svc`, ELR is the instruction after it: `__kernel_rt_sigreturn`
    // is `mov x8, #139` then `svc #0`.
    let vdso_return = (k.process.layout.image + loader::offsets::KERNEL_RT_SIGRETURN + 8) as u64;
    let via = if frame.pc == vdso_return {
        "vdso"
    } else {
        "other"
    };
    kprintln!("rt_sigreturn via={via} pc={:#x}", frame.pc - 4);
    if restore(k, frame).is_err() {
        kprintln!("rt_sigreturn: bad frame at sp {:#x}", frame.sp);
        k.exit(Exit::Signal(SIGSEGV));
    }
}

fn restore(k: &mut Kernel, frame: &mut TrapFrame) -> Result<(), mm::Fault> {
    if !frame.sp.is_multiple_of(16) {
        return Err(mm::Fault);
    }
    let mut f = Frame([0; FRAME_SIZE]);
    mm::copy_from_user(frame.sp as usize, &mut f.0)?;
    if f.get32(RESERVED) != FPSIMD_MAGIC || f.get32(RESERVED + 4) as usize != FPSIMD_SIZE {
        return Err(mm::Fault);
    }
    for i in 0..31 {
        frame.x[i] = f.get64(REGS + 8 * i);
    }
    frame.sp = f.get64(SP);
    frame.pc = f.get64(PC);
    // Only the condition flags come from user memory: EL0t, interrupts on.
    frame.pstate = f.get64(PSTATE) & 0xf000_0000;
    frame.fpsr = u64::from(f.get32(RESERVED + 8));
    frame.fpcr = u64::from(f.get32(RESERVED + 12));
    for i in 0..32 {
        let at = RESERVED + 16 + 16 * i;
        frame.v[i] = u128::from_le_bytes(f.0[at..at + 16].try_into().expect("16 bytes"));
    }
    k.process.signals.blocked = f.get64(UC_SIGMASK) & !(bit(SIGKILL) | bit(SIGSTOP));
    Ok(())
}
