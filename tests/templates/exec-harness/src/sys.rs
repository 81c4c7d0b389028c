//! The harness's system calls and its only `asm!`: raw `svc #0` wrappers
//! over `vdso_linux_sys::syscall` (the host's clocks must come from the
//! kernel, not from a libc that might use a vDSO; the ticker must not touch
//! libc at all), starting the ticker thread, and the jump into the client.
//! The syscall numbers, cache maintenance for copied code and the strace
//! marker come from `vdso-linux-sys`.
//!
//! The wrappers are the same for aarch64 and 32-bit Arm; what differs is
//! the syscall numbers (the `nr` modules pick them), the time syscalls with a 64-bit
//! `time_t` on Arm (`clock_gettime64`, `clock_getres_time64`), the `*32`
//! id calls and `mmap2` there, and the two `asm!` blocks, one per arch.
//!
//! # Safety
//!
//! Each wrapper is the bare syscall: the kernel validates its arguments and
//! reports bad pointers as `-EFAULT`, so the safe wrappers are those whose
//! every pointer argument is a reference. The `unsafe fn`s say what the
//! caller must guarantee for the call to be sound for *this* process
//! (mapping changes, a new thread, leaving Rust for good).

use core::arch::asm;
use core::ffi::CStr;

use loader::{Timespec, Timeval, Timezone};
use vdso_linux_sys::syscall;
pub use vdso_linux_sys::{strace_marker, sync_icache};

use nr::*;

/// The aarch64 numbers of the calls the harness makes.
#[cfg(target_arch = "aarch64")]
mod nr {
    pub use vdso_linux_sys::aarch64::{
        NR_CLOCK_GETRES, NR_CLOCK_GETTIME, NR_CLONE, NR_CLOSE, NR_FTRUNCATE, NR_GETEGID,
        NR_GETEUID, NR_GETGID, NR_GETRANDOM, NR_GETTIMEOFDAY, NR_GETUID, NR_MEMFD_CREATE, NR_MMAP,
        NR_MPROTECT, NR_MUNMAP, NR_NANOSLEEP, NR_RT_SIGPROCMASK,
    };
}

/// The 32-bit Arm EABI numbers of the same calls; where Arm has several
/// generations of a call, the one the wrappers are written for, under the
/// aarch64 name.
#[cfg(target_arch = "arm")]
mod nr {
    /// `clock_getres_time64`.
    pub use vdso_linux_sys::arm::NR_CLOCK_GETRES_TIME64 as NR_CLOCK_GETRES;
    /// `clock_gettime64`: a 64-bit `struct __kernel_timespec`, as
    /// [`Timespec`](loader::Timespec).
    pub use vdso_linux_sys::arm::NR_CLOCK_GETTIME64 as NR_CLOCK_GETTIME;
    /// `ftruncate` with a 32-bit length (the data page's 4096 fits).
    pub use vdso_linux_sys::arm::NR_FTRUNCATE;
    /// `mmap2`: the offset in pages; the harness's are always 0.
    pub use vdso_linux_sys::arm::NR_MMAP2 as NR_MMAP;
    /// `nanosleep` with a 32-bit `struct timespec` (see `nanosleep`).
    pub use vdso_linux_sys::arm::NR_NANOSLEEP;
    pub use vdso_linux_sys::arm::{
        NR_CLONE, NR_CLOSE, NR_GETRANDOM, NR_GETTIMEOFDAY, NR_MEMFD_CREATE, NR_MPROTECT, NR_MUNMAP,
        NR_RT_SIGPROCMASK,
    };
    /// `getuid32` and friends: the 32-bit ids (plain `getuid` is 16-bit).
    pub use vdso_linux_sys::arm::{
        NR_GETEGID32 as NR_GETEGID, NR_GETEUID32 as NR_GETEUID, NR_GETGID32 as NR_GETGID,
        NR_GETUID32 as NR_GETUID,
    };
}

/// `PROT_NONE`.
pub const PROT_NONE: u32 = 0;
/// `PROT_READ`.
pub const PROT_READ: u32 = 1;
/// `PROT_READ | PROT_WRITE`.
pub const PROT_RW: u32 = 3;
/// `PROT_READ | PROT_EXEC`.
pub const PROT_RX: u32 = 5;
const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
/// Map exactly at the address, but fail (`-EEXIST`) rather than replace an
/// existing mapping. Kernels before 4.17, and qemu-user 7.2, treat it as a
/// mere hint and may map elsewhere: callers must compare the result.
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
/// `MFD_CLOEXEC`.
const MFD_CLOEXEC: u64 = 1;
const SIG_SETMASK: u64 = 2;
/// The flags glibc's `pthread_create` uses, minus TLS and tid bookkeeping:
/// a thread of this process sharing memory, files, cwd, signal handlers and
/// SysV semaphore undo lists (qemu-user accepts exactly this set for a
/// thread).
const CLONE_THREAD_FLAGS: u64 = 0x100 /* CLONE_VM */
    | 0x200 /* CLONE_FS */
    | 0x400 /* CLONE_FILES */
    | 0x800 /* CLONE_SIGHAND */
    | 0x1_0000 /* CLONE_THREAD */
    | 0x4_0000 /* CLONE_SYSVSEM */;
/// `CLONE_SETTLS`: on Arm the thread register `TPIDRURO` is read-only in
/// user mode, so the new thread's is cleared by `clone` itself (tls = 0).
#[cfg(target_arch = "arm")]
const CLONE_SETTLS: u64 = 0x8_0000;

/// A negative errno from a failed syscall.
pub type Errno = i64;

fn result(ret: i64) -> Result<u64, Errno> {
    if (-4095..0).contains(&ret) {
        Err(ret)
    } else {
        Ok(ret as u64)
    }
}

/// The text of a negative errno, e.g. "No such file or directory (os error 2)".
pub fn describe(errno: Errno) -> String {
    std::io::Error::from_raw_os_error((-errno) as i32).to_string()
}

/// The host's `clock_gettime(id)`.
pub fn clock_gettime(id: i32) -> Result<Timespec, Errno> {
    let mut ts = Timespec::default();
    // SAFETY: the kernel writes one timespec into `ts`, which we own.
    let ret = unsafe {
        syscall(
            NR_CLOCK_GETTIME,
            [id as u64, &raw mut ts as u64, 0, 0, 0, 0],
        )
    };
    result(ret).map(|_| ts)
}

/// The host's `clock_getres(id)`.
pub fn clock_getres(id: i32) -> Result<Timespec, Errno> {
    let mut ts = Timespec::default();
    // SAFETY: as for `clock_gettime`.
    let ret = unsafe { syscall(NR_CLOCK_GETRES, [id as u64, &raw mut ts as u64, 0, 0, 0, 0]) };
    result(ret).map(|_| ts)
}

/// The host's `gettimeofday`, for its timezone. (On Arm the kernel writes
/// a 32-bit `struct timeval` into the first half of the returned
/// [`Timeval`]; only the timezone, two `int`s on both, is meant for use.)
pub fn gettimeofday() -> Result<(Timeval, Timezone), Errno> {
    let mut tv = Timeval::default();
    let mut tz = Timezone::default();
    // SAFETY: the kernel writes one timeval and one timezone, both ours.
    let ret = unsafe {
        syscall(
            NR_GETTIMEOFDAY,
            [&raw mut tv as u64, &raw mut tz as u64, 0, 0, 0, 0],
        )
    };
    result(ret).map(|_| (tv, tz))
}

/// Sleeps for `ns` nanoseconds with the plain `nanosleep` syscall (glibc's
/// `nanosleep` and Rust's `thread::sleep` are `clock_nanosleep`, which a
/// trace would count as a clock syscall). Wakes early on a signal.
///
/// The request is the kernel's `struct timespec` of `long`s: 64-bit on
/// aarch64 (as [`Timespec`]), 32-bit on Arm (where `nanosleep` has no
/// 64-bit-time variant; a period fits).
pub fn nanosleep(ns: u64) {
    use core::ffi::c_long;
    let request: [c_long; 2] = [
        (ns / 1_000_000_000) as c_long,
        (ns % 1_000_000_000) as c_long,
    ];
    // SAFETY: the kernel reads one timespec from `request`; no remainder is
    // asked for.
    unsafe { syscall(NR_NANOSLEEP, [&raw const request as u64, 0, 0, 0, 0, 0]) };
}

/// Maps `len` bytes of fresh, zeroed, private memory with `prot`, where the
/// kernel chooses. A new mapping never overlaps an existing one.
pub fn mmap_anywhere(len: usize, prot: u32) -> Result<usize, Errno> {
    let args = [
        0,
        len as u64,
        prot.into(),
        MAP_PRIVATE | MAP_ANONYMOUS,
        u64::MAX,
        0,
    ];
    // SAFETY: a new anonymous mapping at an address the kernel picks never
    // overlaps memory this process uses.
    let ret = unsafe { syscall(NR_MMAP, args) };
    result(ret).map(|a| a as usize)
}

/// Maps `len` bytes of fresh, zeroed, private read/write memory at `addr`
/// unless something is mapped there already. Returns where the kernel put
/// it: anything but `addr` means the range was taken (qemu-user 7.2 then
/// maps elsewhere instead of failing); unmap it with [`munmap`].
pub fn mmap_fixed_noreplace(addr: usize, len: usize) -> Result<usize, Errno> {
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
    let args = [addr as u64, len as u64, PROT_RW.into(), flags, u64::MAX, 0];
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping: the
    // kernel either maps fresh memory or fails (or, as a hint, picks another
    // free range). None of it touches memory in use.
    let ret = unsafe { syscall(NR_MMAP, args) };
    result(ret).map(|a| a as usize)
}

/// A new memory file of `len` zero bytes (`memfd_create` + `ftruncate`):
/// memory that can be mapped several times, each view seeing the same
/// bytes. Returns its file descriptor; [`close`] it once mapped.
pub fn memfd(name: &CStr, len: usize) -> Result<u64, Errno> {
    // SAFETY: the kernel only reads the NUL-terminated `name`.
    let ret = unsafe {
        syscall(
            NR_MEMFD_CREATE,
            [name.as_ptr() as u64, MFD_CLOEXEC, 0, 0, 0, 0],
        )
    };
    let fd = result(ret)?;
    // SAFETY: sizes the new file; no memory of ours is involved.
    if let Err(e) = result(unsafe { syscall(NR_FTRUNCATE, [fd, len as u64, 0, 0, 0, 0]) }) {
        close(fd);
        return Err(e);
    }
    Ok(fd)
}

/// Closes a file descriptor this program opened (its mappings stay).
pub fn close(fd: u64) {
    // SAFETY: closes a descriptor of ours that nothing else uses.
    unsafe { syscall(NR_CLOSE, [fd, 0, 0, 0, 0, 0]) };
}

/// Maps `len` bytes of the memory file `fd` shared (`MAP_SHARED`: every view
/// of it, and every process that inherits one by `fork`, sees the same
/// bytes), with `prot`: where the kernel chooses if `at` is `None`, else
/// exactly at `at`, replacing what is mapped there.
///
/// # Safety
///
/// With `at`, the range is part of a mapping of ours that nothing uses (its
/// old contents are discarded).
pub unsafe fn mmap_shared(
    at: Option<usize>,
    len: usize,
    prot: u32,
    fd: u64,
) -> Result<usize, Errno> {
    let flags = MAP_SHARED | if at.is_some() { MAP_FIXED } else { 0 };
    let args = [
        at.unwrap_or(0) as u64,
        len as u64,
        prot.into(),
        flags,
        fd,
        0,
    ];
    // SAFETY: without `at`, a new mapping never overlaps memory in use; with
    // it, the caller guarantees the replaced range is unused memory of ours.
    let ret = unsafe { syscall(NR_MMAP, args) };
    result(ret).map(|a| a as usize)
}

/// Unmaps a range this program mapped and never used.
///
/// # Safety
///
/// Nothing refers to memory in `[addr, addr + len)`.
pub unsafe fn munmap(addr: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the range is unused.
    result(unsafe { syscall(NR_MUNMAP, [addr as u64, len as u64, 0, 0, 0, 0]) }).map(|_| ())
}

/// Changes the protection of pages this program mapped.
///
/// # Safety
///
/// Nothing in the process accesses the range in a way the new protection
/// forbids.
pub unsafe fn mprotect(addr: usize, len: usize, prot: u32) -> Result<(), Errno> {
    let args = [addr as u64, len as u64, prot.into(), 0, 0, 0];
    // SAFETY: the caller guarantees the range is ours and the new
    // protection matches how it is used.
    result(unsafe { syscall(NR_MPROTECT, args) }).map(|_| ())
}

/// Blocks every signal in the calling thread; returns the previous mask.
pub fn block_all_signals() -> u64 {
    let all: u64 = !0;
    let mut old: u64 = 0;
    let args = [
        SIG_SETMASK,
        &raw const all as u64,
        &raw mut old as u64,
        8,
        0,
        0,
    ];
    // SAFETY: the kernel reads one sigset from `all` and writes one into
    // `old`; blocking signals (SIGKILL and SIGSTOP cannot be) only delays
    // them.
    unsafe { syscall(NR_RT_SIGPROCMASK, args) };
    old
}

/// Sets the calling thread's signal mask.
pub fn set_signal_mask(mask: u64) {
    let args = [SIG_SETMASK, &raw const mask as u64, 0, 8, 0, 0];
    // SAFETY: the kernel reads one sigset from `mask`. Signals then reach
    // the handlers they reached before `block_all_signals`.
    unsafe { syscall(NR_RT_SIGPROCMASK, args) };
}

/// 16 bytes from the kernel's random pool (for `AT_RANDOM`).
pub fn random16() -> Result<[u8; 16], Errno> {
    let mut bytes = [0u8; 16];
    // SAFETY: the kernel writes at most 16 bytes into `bytes`.
    let ret = unsafe { syscall(NR_GETRANDOM, [&raw mut bytes as u64, 16, 0, 0, 0, 0]) };
    match result(ret)? {
        16 => Ok(bytes),
        _ => Err(-5), // EIO: a short read of the random pool
    }
}

/// The real and effective user and group ids: (uid, euid, gid, egid).
pub fn ids() -> (u64, u64, u64, u64) {
    // SAFETY: these four syscalls take no arguments and touch no memory.
    unsafe {
        (
            syscall(NR_GETUID, [0; 6]) as u64,
            syscall(NR_GETEUID, [0; 6]) as u64,
            syscall(NR_GETGID, [0; 6]) as u64,
            syscall(NR_GETEGID, [0; 6]) as u64,
        )
    }
}

#[cfg(target_arch = "aarch64")]
/// Starts a thread of this process that runs `entry(arg)` on the stack
/// ending at `stack_top`, with the caller's signal mask, `TPIDR_EL0 = 0`
/// (it has no TLS) and no libc thread bookkeeping. Returns its thread id.
///
/// # Safety
///
/// - `stack_top` is 16-byte aligned and the top of writable memory that
///   nothing else uses, for as long as the process lives;
/// - `entry` never returns and uses neither TLS nor libc, and `arg` is what
///   it expects, valid for as long as the process lives.
pub unsafe fn spawn_thread(
    stack_top: usize,
    entry: extern "C" fn(usize) -> !,
    arg: usize,
) -> Result<u64, Errno> {
    let ret: i64;
    // SAFETY: `clone` returns twice. The parent gets the new thread's id
    // (or an error) in x0 and continues after the block like any syscall.
    // The child starts after `svc` with every register copied but x0 = 0
    // and sp = `stack_top`: it clears TPIDR_EL0 (the parent's TLS is not
    // its own), zeroes the frame pointer and link register so unwinders stop
    // there, and calls `entry(arg)` from x9/x10, never coming back into the
    // parent's Rust code. The caller vouches for the stack, `entry` and
    // `arg`.
    unsafe {
        asm!(
            "svc #0",
            "cbnz x0, 2f",
            "msr tpidr_el0, xzr",
            "mov x29, xzr",
            "mov x30, xzr",
            "mov x0, x10",
            "blr x9",
            "brk #0x1",
            "2:",
            inlateout("x0") CLONE_THREAD_FLAGS => ret,
            in("x1") stack_top,
            in("x2") 0u64,
            in("x3") 0u64,
            in("x4") 0u64,
            in("x8") u64::from(NR_CLONE),
            in("x9") entry as usize,
            in("x10") arg,
            options(nostack),
        );
    }
    result(ret)
}

#[cfg(target_arch = "aarch64")]
/// Starts the loaded program: sp = `sp`, every other register as Linux's
/// `start_thread` leaves it (zero: x0 = 0 tells glibc's `_start` there is
/// no `rtld_fini`; TPIDR_EL0, flags, FP/SIMD registers and their status
/// cleared), then branches to `entry`. Only x17, the intra-procedure-call
/// scratch register, keeps a value: the entry address, needed for the
/// branch.
///
/// # Safety
///
/// `entry` is the loaded program's entry point and `sp` its initial stack
/// as Linux would lay it out; from here on this thread belongs to that
/// program and no Rust code of ours runs in it again.
pub unsafe fn enter_program(entry: u64, sp: u64) -> ! {
    // SAFETY: the caller vouches for `entry` and `sp`; the block never
    // returns, so nothing it clobbers matters to Rust.
    unsafe {
        asm!(
            "mov sp, {sp}",
            "msr tpidr_el0, xzr",
            "msr nzcv, xzr",
            "msr fpsr, xzr",
            "msr fpcr, xzr",
            "movi v0.2d, #0", "movi v1.2d, #0", "movi v2.2d, #0", "movi v3.2d, #0",
            "movi v4.2d, #0", "movi v5.2d, #0", "movi v6.2d, #0", "movi v7.2d, #0",
            "movi v8.2d, #0", "movi v9.2d, #0", "movi v10.2d, #0", "movi v11.2d, #0",
            "movi v12.2d, #0", "movi v13.2d, #0", "movi v14.2d, #0", "movi v15.2d, #0",
            "movi v16.2d, #0", "movi v17.2d, #0", "movi v18.2d, #0", "movi v19.2d, #0",
            "movi v20.2d, #0", "movi v21.2d, #0", "movi v22.2d, #0", "movi v23.2d, #0",
            "movi v24.2d, #0", "movi v25.2d, #0", "movi v26.2d, #0", "movi v27.2d, #0",
            "movi v28.2d, #0", "movi v29.2d, #0", "movi v30.2d, #0", "movi v31.2d, #0",
            "mov x0, xzr", "mov x1, xzr", "mov x2, xzr", "mov x3, xzr",
            "mov x4, xzr", "mov x5, xzr", "mov x6, xzr", "mov x7, xzr",
            "mov x8, xzr", "mov x9, xzr", "mov x10, xzr", "mov x11, xzr",
            "mov x12, xzr", "mov x13, xzr", "mov x14, xzr", "mov x15, xzr",
            "mov x16, xzr", "mov x18, xzr", "mov x19, xzr",
            "mov x20, xzr", "mov x21, xzr", "mov x22, xzr", "mov x23, xzr",
            "mov x24, xzr", "mov x25, xzr", "mov x26, xzr", "mov x27, xzr",
            "mov x28, xzr", "mov x29, xzr", "mov x30, xzr",
            "br x17",
            sp = in(reg) sp,
            in("x17") entry,
            options(noreturn, nostack),
        )
    }
}

/// Starts a thread of this process that runs `entry(arg)` on the stack
/// ending at `stack_top`, with the caller's signal mask, `TPIDRURO = 0`
/// (it has no TLS: `CLONE_SETTLS` with 0) and no libc thread bookkeeping.
/// Returns its thread id.
///
/// # Safety
///
/// - `stack_top` is 16-byte aligned and the top of writable memory that
///   nothing else uses, for as long as the process lives;
/// - `entry` never returns and uses neither TLS nor libc, and `arg` is what
///   it expects, valid for as long as the process lives.
#[cfg(target_arch = "arm")]
pub unsafe fn spawn_thread(
    stack_top: usize,
    entry: extern "C" fn(usize) -> !,
    arg: usize,
) -> Result<u64, Errno> {
    let ret: u32;
    // SAFETY: `clone` returns twice. The parent gets the new thread's id
    // (or an error) in r0 and continues after the block like any syscall.
    // The child starts after `svc` with every register copied but r0 = 0,
    // sp = `stack_top` and TPIDRURO = 0 (CLONE_SETTLS, tls r3 = 0): it
    // zeroes the frame pointer and link register so unwinders stop there,
    // and calls `entry(arg)` from r5/r8 (`blx` also enters Thumb code),
    // never coming back into the parent's Rust code. The caller vouches for
    // the stack, `entry` and `arg`.
    unsafe {
        asm!(
            "svc #0",
            "cmp r0, #0",
            "bne 2f",
            "mov r11, #0",
            "mov lr, #0",
            "mov r0, r8",
            "blx r5",
            "udf #1",
            "2:",
            in("r7") NR_CLONE,
            inlateout("r0") (CLONE_THREAD_FLAGS | CLONE_SETTLS) as u32 => ret,
            in("r1") stack_top,
            in("r2") 0u32,
            in("r3") 0u32,
            in("r4") 0u32,
            in("r5") entry as usize,
            in("r8") arg,
            options(nostack),
        );
    }
    result(if ret >= 4095u32.wrapping_neg() {
        i64::from(ret as i32)
    } else {
        i64::from(ret)
    })
}

/// Starts the loaded program: sp = `sp`, every other register as Linux's
/// `start_thread` leaves it (zero: r0 = 0 tells glibc's `_start` there is
/// no `rtld_fini`; the flags, FPSCR and d0-d15 cleared; d16-d31, which a
/// VFPv3-D16 CPU lacks, are left as they are), then `bx` to `entry`, which
/// enters Thumb state if its bit 0 is set, as the kernel does for a Thumb
/// `e_entry`. Only r12 (ip), the intra-procedure-call scratch register,
/// keeps a value: the entry address, needed for the branch. TPIDRURO keeps
/// the harness's value (user mode cannot write it); the client's libc sets
/// its own before any use.
///
/// # Safety
///
/// `entry` is the loaded program's entry point and `sp` its initial stack
/// as Linux would lay it out; from here on this thread belongs to that
/// program and no Rust code of ours runs in it again.
#[cfg(target_arch = "arm")]
pub unsafe fn enter_program(entry: u64, sp: u64) -> ! {
    // SAFETY: the caller vouches for `entry` and `sp`; the block never
    // returns, so nothing it clobbers (r6, r7 and r11 included) matters to
    // Rust.
    unsafe {
        asm!(
            "mov sp, {sp}",
            "mov r0, #0",
            "vmsr fpscr, r0",
            "msr APSR_nzcvq, r0",
            "vmov d0, r0, r0", "vmov d1, r0, r0", "vmov d2, r0, r0", "vmov d3, r0, r0",
            "vmov d4, r0, r0", "vmov d5, r0, r0", "vmov d6, r0, r0", "vmov d7, r0, r0",
            "vmov d8, r0, r0", "vmov d9, r0, r0", "vmov d10, r0, r0", "vmov d11, r0, r0",
            "vmov d12, r0, r0", "vmov d13, r0, r0", "vmov d14, r0, r0", "vmov d15, r0, r0",
            "mov r1, #0", "mov r2, #0", "mov r3, #0", "mov r4, #0",
            "mov r5, #0", "mov r6, #0", "mov r7, #0", "mov r8, #0",
            "mov r9, #0", "mov r10, #0", "mov r11, #0", "mov lr, #0",
            "bx r12",
            sp = in(reg) sp as u32,
            in("r12") entry as u32,
            options(noreturn, nostack),
        )
    }
}
