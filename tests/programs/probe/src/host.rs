//! The host's clocks as the raw system calls give them, and publishing them
//! to a data page: shared by the probe (`probe.rs`) and `vdso-hostile`.
//!
//! Each published base time is the midpoint of the tightest of eight pairs
//! of syscalls around one counter read; the half-width of that pair bounds
//! how far the published clock can be from the host's.

use loader::{clock, Clocks, Timespec, Timeval, Timezone, Writer};

use crate::report::{from_ns, ns, NS};
use crate::sys;

/// The clocks computed from the counter, in the order of [`Clocks`]' fields.
pub const HRES: [i32; 5] = clock::COUNTER_CLOCKS;

/// One base time: the midpoint of two syscalls around a counter read.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// The clock at `counter`, in ns, to within `half`.
    pub mid: i128,
    /// Half the distance of the two syscalls (rounded up), in ns.
    pub half: i128,
    /// The counter value read between the two syscalls.
    pub counter: u64,
}

/// `clock_gettime(id, &ts)` as the raw syscall: (return value, time).
pub fn sys_time(id: i32) -> (i32, Timespec) {
    let mut ts = Timespec::default();
    let ret = sys::clock_gettime(id, &mut ts);
    (ret, ts)
}

/// `clock_gettime(id)` as the raw syscall, in ns (0 on error).
pub fn sys_ns(id: i32) -> i128 {
    ns(sys_time(id).1)
}

/// `clock_getres(id, &res)` as the raw syscall.
pub fn sys_res(id: i32) -> (i32, Timespec) {
    let mut ts = Timespec::default();
    let ret = sys::clock_getres(id, &mut ts);
    (ret, ts)
}

/// `gettimeofday(&tv, &tz)` as the raw syscall.
pub fn sys_timeofday() -> (i32, Timeval, Timezone) {
    let mut tv = Timeval::default();
    let mut tz = Timezone::default();
    let ret = sys::gettimeofday(&mut tv, &mut tz);
    (ret, tv, tz)
}

/// The best of eight brackets of `id` around `counter()`.
pub fn sample(id: i32, mut counter: impl FnMut() -> u64) -> Sample {
    let mut best: Option<Sample> = None;
    for _ in 0..8 {
        let before = sys_ns(id);
        let counter = counter();
        let after = sys_ns(id);
        let sample = Sample {
            mid: before + (after - before) / 2,
            half: (after - before + 1) / 2,
            counter,
        };
        if best.is_none_or(|b| sample.half < b.half) {
            best = Some(sample);
        }
    }
    best.expect("eight samples were taken")
}

/// Publishes every counter-driven clock as the host has it now through
/// `writer` (counter at `frequency` Hz), with `reference`'s own bracket
/// defining the counter value; returns that bracket's half-width in ns.
pub fn publish_host_clocks(writer: &mut Writer<'_>, frequency: u64, reference: i32) -> i128 {
    let samples = HRES.map(|id| (id, sample(id, || writer.read_counter())));
    let reference = samples
        .iter()
        .find(|(id, _)| *id == reference)
        .map(|(_, s)| *s)
        .expect("reference is a counter-driven clock");
    let counter = reference.counter;
    let at = |i: usize| {
        let s = samples[i].1;
        let cycles = i128::from(counter) - i128::from(s.counter);
        from_ns(s.mid + cycles * NS / i128::from(frequency))
    };
    writer.publish(Clocks {
        counter,
        realtime: at(0),
        monotonic: at(1),
        monotonic_raw: at(2),
        boottime: at(3),
        tai: at(4),
    });
    reference.half
}
