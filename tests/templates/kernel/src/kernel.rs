//! The kernel's state and its entry points from user space.

use core::cell::UnsafeCell;
use core::fmt::Write as _;

use aarch64_cpu::registers::{Readable, ESR_EL1, FAR_EL1};
use loader::{clock, Writer};

use crate::console::{self, kprintln};
use crate::process::Process;
use crate::signal::{self, SIGBUS, SIGILL, SIGSEGV, SIGTRAP};
use crate::trap::TrapFrame;
use crate::{syscall, timer};

/// Everything the kernel keeps.
#[derive(Debug)]
pub struct Kernel {
    /// The data page's one writer.
    pub writer: Writer<'static>,
    /// Counter frequency, Hz.
    pub frequency: u64,
    /// Counter cycles per tick.
    pub tick_cycles: u64,
    /// Nanoseconds per tick (the coarse clocks' resolution).
    pub tick_ns: u32,
    /// Whether console writes are stamped with the kernel's clocks.
    pub stamp: bool,
    /// The one process.
    pub process: Process,
    /// What happened, for the report at exit.
    pub stats: Stats,
}

/// Counters reported when the process ends.
#[derive(Debug, Default)]
pub struct Stats {
    /// Timer ticks (each one a `Writer::tick`).
    pub ticks: u64,
    /// System calls.
    pub syscalls: u64,
    /// `clock_gettime` calls per clock id.
    pub gettime: PerClock,
    /// `clock_getres` calls per clock id.
    pub getres: PerClock,
    /// `gettimeofday` calls.
    pub gettimeofday: u64,
}

/// Call counts per clock id, for the ids seen (up to 32 different ones).
#[derive(Debug, Default)]
pub struct PerClock {
    seen: [(i32, u64); 32],
    len: usize,
}

impl PerClock {
    /// Counts one call for `id`.
    pub fn count(&mut self, id: i32) {
        if let Some(entry) = self.seen[..self.len].iter_mut().find(|(i, _)| *i == id) {
            entry.1 += 1;
        } else if self.len < self.seen.len() {
            self.seen[self.len] = (id, 1);
            self.len += 1;
        }
    }

    /// `id=count` for every id seen, or `none`.
    fn report(&self, out: &mut impl core::fmt::Write) -> core::fmt::Result {
        if self.len == 0 {
            return write!(out, " none");
        }
        let mut seen = self.seen;
        seen[..self.len].sort_unstable();
        for (id, n) in &seen[..self.len] {
            write!(out, " {id}={n}")?;
        }
        Ok(())
    }
}

/// How the process ended.
#[derive(Clone, Copy, Debug)]
pub enum Exit {
    /// `exit_group(status)`.
    Status(u8),
    /// Killed by a signal.
    Signal(u32),
}

/// The kernel state, reached from the exception handlers.
struct Global(UnsafeCell<Option<Kernel>>);

// SAFETY: one CPU, and the kernel runs with interrupts masked: the state is
// only touched by `install` before user space starts and then by one
// exception handler at a time.
unsafe impl Sync for Global {}

static KERNEL: Global = Global(UnsafeCell::new(None));

/// Hands the state to the exception handlers (once, before user space runs).
pub fn install(kernel: Kernel) {
    // SAFETY: called once at boot, before any exception handler can run.
    unsafe { *KERNEL.0.get() = Some(kernel) };
}

/// The state, for the duration of one exception.
fn kernel() -> &'static mut Kernel {
    // SAFETY: exceptions do not nest (interrupts are masked at EL1 and an
    // exception at EL1 panics), so each handler holds the only reference.
    unsafe {
        (*KERNEL.0.get())
            .as_mut()
            .expect("installed before user space runs")
    }
}

/// A synchronous exception from EL0: a system call or a fault.
pub fn user_sync(frame: &mut TrapFrame) {
    let k = kernel();
    let esr = ESR_EL1.get();
    match esr >> 26 {
        0x15 => syscall::dispatch(k, frame),
        ec => {
            let sig = match ec {
                0x20 | 0x24 => SIGSEGV, // instruction / data abort
                0x22 | 0x26 => SIGBUS,  // PC / SP alignment
                0x0d => SIGILL,         // branch target (BTI), as Linux
                0x3c => SIGTRAP,        // brk
                _ => SIGILL,            // undefined, trapped system register, ...
            };
            kprintln!(
                "fault: esr={esr:#x} far={:#x} pc={:#x} -> signal {sig}",
                FAR_EL1.get(),
                frame.pc
            );
            signal::force(k, frame, sig);
        }
    }
    signal::deliver(k, frame);
}

/// An interrupt while EL0 ran: the timer tick.
pub fn user_irq(frame: &mut TrapFrame) {
    let k = kernel();
    if timer::handle_irq(k.tick_cycles) {
        let counter = k.writer.read_counter();
        k.writer.tick(counter);
        k.stats.ticks += 1;
    }
    signal::deliver(k, frame);
}

impl Kernel {
    /// With `stamp` on the command line, every write to the console is
    /// preceded by the kernel's time on every served clock, read at the
    /// system call: a value a process read before that write lies between the
    /// stamp of its previous write and this one.
    pub fn stamp(&self) {
        let counter = self.writer.read_counter();
        let mut out = console::Console;
        let _ = write!(out, "kernel: stamp");
        for id in clock::SERVED {
            let t = self.writer.clock_gettime(id, counter).unwrap_or_default();
            let _ = write!(out, " {id}={}.{:09}", t.tv_sec, t.tv_nsec);
        }
        let _ = writeln!(out);
    }

    /// Ends the process: reports how, and what the kernel counted, then
    /// powers off.
    pub fn exit(&mut self, how: Exit) -> ! {
        match how {
            Exit::Status(s) => kprintln!("exit status={s}"),
            Exit::Signal(sig) => kprintln!("exit signal={sig}"),
        }
        let s = &self.stats;
        kprintln!("ticks={} syscalls={}", s.ticks, s.syscalls);
        let mut out = console::Console;
        let _ = write!(out, "kernel: clock_gettime syscalls:");
        let _ = s.gettime.report(&mut out);
        let _ = write!(out, "\nkernel: clock_getres syscalls:");
        let _ = s.getres.report(&mut out);
        let _ = writeln!(out, "\nkernel: gettimeofday syscalls: {}", s.gettimeofday);
        crate::boot::power_off()
    }
}

/// Prints the first stamp, before the process runs (see [`Kernel::stamp`]).
pub fn stamp() {
    kernel().stamp();
}
