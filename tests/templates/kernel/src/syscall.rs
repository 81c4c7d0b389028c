//! The system calls: enough of Linux's arm64 ABI for static musl programs
//! (number in x8, arguments in x0-x5, result or `-errno` in x0).
//!
//! The time calls answer from the kernel's own clock, the loader's
//! [`Writer::clock_gettime`](loader::Writer::clock_gettime) over the
//! counter (the vDSO computes the same values from the data page), and are
//! counted per clock id: the proof that served clocks never get here.
//! Unknown calls return `-ENOSYS` and are logged.

use loader::{clock, Timespec, NSEC_PER_SEC};
use vdso_linux_sys::aarch64::{
    NR_BRK, NR_CLOCK_GETRES, NR_CLOCK_GETTIME, NR_EXIT, NR_EXIT_GROUP, NR_GETEGID, NR_GETPID,
    NR_GETPPID, NR_GETTID, NR_GETTIMEOFDAY, NR_GETUID, NR_IOCTL, NR_KILL, NR_MADVISE, NR_MMAP,
    NR_MPROTECT, NR_MUNMAP, NR_READ, NR_RT_SIGACTION, NR_RT_SIGPROCMASK, NR_RT_SIGRETURN,
    NR_SCHED_YIELD, NR_SET_TID_ADDRESS, NR_TGKILL, NR_TKILL, NR_WRITE, NR_WRITEV,
};

use crate::console::{self, kprintln};
use crate::kernel::{Exit, Kernel};
use crate::mm::{self, Perm, PAGE};
use crate::process::{MMAP_BASE, PID};
use crate::signal::{self, Action, NSIG, SIGKILL, SIGSTOP, SI_TKILL, SI_USER};
use crate::trap::TrapFrame;

/// errno values.
const EPERM: i64 = 1;
const ESRCH: i64 = 3;
const EBADF: i64 = 9;
const ENOMEM: i64 = 12;
const EACCES: i64 = 13;
const EFAULT: i64 = 14;
const EINVAL: i64 = 22;
const ENOTTY: i64 = 25;
const ENOSYS: i64 = 38;

/// Handles the `svc` in `frame`.
pub fn dispatch(k: &mut Kernel, frame: &mut TrapFrame) {
    let [a0, a1, a2, a3, a4, _] = [0, 1, 2, 3, 4, 5].map(|i| frame.x[i]);
    k.stats.syscalls += 1;
    // Every number is below 2^32; a larger x8 matches none of them.
    let nr = u32::try_from(frame.x[8]).unwrap_or(u32::MAX);
    let ret: i64 = match nr {
        NR_CLOCK_GETTIME => clock_gettime(k, a0 as i32, a1),
        NR_CLOCK_GETRES => clock_getres(k, a0 as i32, a1),
        NR_GETTIMEOFDAY => gettimeofday(k, a0, a1),
        NR_WRITE => write(k, a0, &[(a1, a2)]),
        NR_WRITEV => writev(k, a0, a1, a2),
        NR_READ => match a0 {
            0 => 0, // stdin is empty
            _ => -EBADF,
        },
        NR_IOCTL => match a0 {
            0..=2 => -ENOTTY, // the console is no terminal
            _ => -EBADF,
        },
        NR_EXIT | NR_EXIT_GROUP => k.exit(Exit::Status(a0 as u8)),
        NR_SET_TID_ADDRESS | NR_GETPID | NR_GETTID => PID as i64,
        NR_GETPPID => 0,
        NR_GETUID..=NR_GETEGID => 0,
        NR_SCHED_YIELD | NR_MADVISE => 0,
        NR_BRK => brk(k, a0 as usize),
        NR_MMAP => mmap(k, a0 as usize, a1 as usize, a2 as u32, a3 as u32, a4 as i64),
        NR_MUNMAP => munmap(a0 as usize, a1 as usize),
        NR_MPROTECT => mprotect(k, a0 as usize, a1 as usize, a2 as u32),
        NR_RT_SIGACTION => rt_sigaction(k, a0 as u32, a1, a2, a3),
        NR_RT_SIGPROCMASK => rt_sigprocmask(k, a0, a1, a2, a3),
        NR_KILL => kill(k, a0 as i64, a1 as u32, SI_USER, a0 as i64 <= 0),
        NR_TKILL => kill(k, a0 as i64, a1 as u32, SI_TKILL, false),
        NR_TGKILL if a0 == PID => kill(k, a1 as i64, a2 as u32, SI_TKILL, false),
        NR_TGKILL => -ESRCH,
        NR_RT_SIGRETURN => {
            // Restores every register, x0 included.
            signal::sigreturn(k, frame);
            return;
        }
        _ => {
            let other = frame.x[8];
            kprintln!("unknown syscall {other} (x0={a0:#x} x1={a1:#x} x2={a2:#x}) -> -ENOSYS");
            -ENOSYS
        }
    };
    frame.x[0] = ret as u64;
}

/// The kernel's time for `id` now: a served clock from the writer, a CPU
/// clock from the process's start (it has the CPU whenever user space
/// runs), or `EINVAL`.
fn now(k: &Kernel, id: i32) -> Result<Timespec, i64> {
    let counter = k.writer.read_counter();
    if let Some(t) = k.writer.clock_gettime(id, counter) {
        return Ok(t);
    }
    match id {
        clock::PROCESS_CPUTIME_ID | clock::THREAD_CPUTIME_ID => {
            let cycles = u128::from(counter.wrapping_sub(k.process.start_counter));
            let ns = cycles * u128::from(NSEC_PER_SEC) / u128::from(k.frequency);
            Ok(Timespec {
                tv_sec: (ns / u128::from(NSEC_PER_SEC)) as i64,
                tv_nsec: (ns % u128::from(NSEC_PER_SEC)) as i64,
            })
        }
        _ => Err(EINVAL),
    }
}

fn put_pair(va: u64, a: i64, b: i64) -> i64 {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    match mm::copy_to_user(va as usize, &bytes) {
        Ok(()) => 0,
        Err(_) => -EFAULT,
    }
}

fn clock_gettime(k: &mut Kernel, id: i32, ts: u64) -> i64 {
    k.stats.gettime.count(id);
    match now(k, id) {
        Ok(t) => put_pair(ts, t.tv_sec, t.tv_nsec),
        Err(e) => -e,
    }
}

fn clock_getres(k: &mut Kernel, id: i32, res: u64) -> i64 {
    k.stats.getres.count(id);
    let ns = match id {
        clock::REALTIME_COARSE | clock::MONOTONIC_COARSE => i64::from(k.tick_ns),
        _ if clock::COUNTER_CLOCKS.contains(&id) => 1,
        clock::PROCESS_CPUTIME_ID | clock::THREAD_CPUTIME_ID => 1,
        _ => return -EINVAL,
    };
    if res == 0 {
        return 0;
    }
    put_pair(res, 0, ns)
}

fn gettimeofday(k: &mut Kernel, tv: u64, tz: u64) -> i64 {
    k.stats.gettimeofday += 1;
    let t = match now(k, clock::REALTIME) {
        Ok(t) => t,
        Err(e) => return -e,
    };
    if tv != 0 && put_pair(tv, t.tv_sec, t.tv_nsec / 1000) != 0 {
        return -EFAULT;
    }
    // `struct timezone`: UTC, no DST (what the data page says too).
    if tz != 0 && mm::copy_to_user(tz as usize, &[0; 8]).is_err() {
        return -EFAULT;
    }
    0
}

fn write(k: &mut Kernel, fd: u64, iov: &[(u64, u64)]) -> i64 {
    if fd != 1 && fd != 2 {
        return -EBADF;
    }
    if k.stamp {
        k.stamp();
    }
    let mut total = 0i64;
    let mut buf = [0u8; 256];
    for &(base, len) in iov {
        let mut done = 0;
        while done < len {
            let n = (len - done).min(buf.len() as u64) as usize;
            if mm::copy_from_user((base + done) as usize, &mut buf[..n]).is_err() {
                return if total > 0 { total } else { -EFAULT };
            }
            console::write_bytes(&buf[..n]);
            done += n as u64;
            total += n as i64;
        }
    }
    total
}

fn writev(k: &mut Kernel, fd: u64, iov: u64, count: u64) -> i64 {
    if count > 1024 {
        return -EINVAL;
    }
    let mut pieces = alloc::vec::Vec::with_capacity(count as usize);
    for i in 0..count {
        let at = (iov + 16 * i) as usize;
        match (mm::read_u64(at), mm::read_u64(at + 8)) {
            (Ok(base), Ok(len)) => pieces.push((base, len)),
            _ => return -EFAULT,
        }
    }
    write(k, fd, &pieces)
}

fn brk(k: &mut Kernel, want: usize) -> i64 {
    let p = &mut k.process;
    if want >= p.brk_start && want < MMAP_BASE {
        let old_end = p.brk.next_multiple_of(PAGE);
        let new_end = want.next_multiple_of(PAGE);
        if new_end > old_end {
            if mm::map_zeroed(old_end, new_end - old_end, Perm::RW).is_ok() {
                p.brk = want;
            }
        } else {
            for page in (new_end..old_end).step_by(PAGE) {
                if let Some(frame) = mm::unmap_user(page) {
                    mm::free_frame(frame);
                }
            }
            p.brk = want;
        }
    }
    // Linux's answer: the break after the call (unchanged on failure).
    p.brk as i64
}

fn mmap(k: &mut Kernel, addr: usize, len: usize, prot: u32, flags: u32, fd: i64) -> i64 {
    const MAP_FIXED: u32 = 0x10;
    const MAP_ANONYMOUS: u32 = 0x20;
    if len == 0 || !addr.is_multiple_of(PAGE) {
        return -EINVAL;
    }
    if flags & MAP_ANONYMOUS == 0 {
        return if fd < 0 { -EBADF } else { -EACCES }; // no files here
    }
    let Some(len) = len.checked_next_multiple_of(PAGE) else {
        return -ENOMEM;
    };
    let p = &mut k.process;
    let at = if flags & MAP_FIXED != 0 {
        if p.in_vdso(addr, len) {
            return -EPERM;
        }
        addr
    } else {
        p.mmap_next
    };
    if !mm::is_user_range(at, len) {
        return if flags & MAP_FIXED != 0 {
            -EINVAL
        } else {
            -ENOMEM
        };
    }
    if mm::map_zeroed(at, len, Perm::from_prot(prot)).is_err() {
        return -ENOMEM;
    }
    if flags & MAP_FIXED == 0 {
        p.mmap_next = at + len + PAGE; // a guard page between mappings
    }
    at as i64
}

fn munmap(addr: usize, len: usize) -> i64 {
    if !addr.is_multiple_of(PAGE) || len == 0 {
        return -EINVAL;
    }
    let Some(len) = len.checked_next_multiple_of(PAGE) else {
        return -EINVAL;
    };
    if !mm::is_user_range(addr, len) {
        return -EINVAL;
    }
    for page in (addr..addr + len).step_by(PAGE) {
        if let Some(frame) = mm::unmap_user(page) {
            mm::free_frame(frame);
        }
    }
    0
}

fn mprotect(k: &mut Kernel, addr: usize, len: usize, prot: u32) -> i64 {
    if !addr.is_multiple_of(PAGE) {
        return -EINVAL;
    }
    let Some(len) = len.checked_next_multiple_of(PAGE) else {
        return -ENOMEM;
    };
    if k.process.in_vdso(addr, len) {
        return -EACCES;
    }
    for page in (addr..addr.saturating_add(len)).step_by(PAGE) {
        if mm::protect_user(page, Perm::from_prot(prot)).is_err() {
            return -ENOMEM;
        }
    }
    0
}

fn valid_signal(sig: u32) -> bool {
    (1..=NSIG).contains(&sig)
}

fn rt_sigaction(k: &mut Kernel, sig: u32, act: u64, old: u64, size: u64) -> i64 {
    if size != 8 || !valid_signal(sig) {
        return -EINVAL;
    }
    let slot = &mut k.process.signals.actions[sig as usize - 1];
    let current = *slot;
    if act != 0 {
        if sig == SIGKILL || sig == SIGSTOP {
            return -EINVAL;
        }
        let read = |i: usize| mm::read_u64(act as usize + 8 * i);
        match (read(0), read(1), read(2), read(3)) {
            (Ok(handler), Ok(flags), Ok(restorer), Ok(mask)) => {
                *slot = Action {
                    handler,
                    flags,
                    restorer,
                    mask,
                };
            }
            _ => return -EFAULT,
        }
    }
    if old != 0 {
        let mut bytes = [0u8; 32];
        for (i, v) in [
            current.handler,
            current.flags,
            current.restorer,
            current.mask,
        ]
        .iter()
        .enumerate()
        {
            bytes[8 * i..8 * i + 8].copy_from_slice(&v.to_le_bytes());
        }
        if mm::copy_to_user(old as usize, &bytes).is_err() {
            return -EFAULT;
        }
    }
    0
}

fn rt_sigprocmask(k: &mut Kernel, how: u64, set: u64, old: u64, size: u64) -> i64 {
    if size != 8 {
        return -EINVAL;
    }
    let signals = &mut k.process.signals;
    let current = signals.blocked;
    if set != 0 {
        let Ok(set) = mm::read_u64(set as usize) else {
            return -EFAULT;
        };
        let set = set & !(signal::bit(SIGKILL) | signal::bit(SIGSTOP));
        signals.blocked = match how {
            0 => current | set,  // SIG_BLOCK
            1 => current & !set, // SIG_UNBLOCK
            2 => set,            // SIG_SETMASK
            _ => return -EINVAL,
        };
    }
    if old != 0 && mm::copy_to_user(old as usize, &current.to_le_bytes()).is_err() {
        return -EFAULT;
    }
    0
}

/// `kill`, `tkill`, `tgkill` to the one process (or, for `kill`, to "every
/// process": pid 0 or -1, which is it).
fn kill(k: &mut Kernel, pid: i64, sig: u32, code: i32, group: bool) -> i64 {
    if pid != PID as i64 && !group {
        return -ESRCH;
    }
    if sig == 0 {
        return 0;
    }
    if !valid_signal(sig) {
        return -EINVAL;
    }
    k.process.signals.send(sig, code);
    0
}
