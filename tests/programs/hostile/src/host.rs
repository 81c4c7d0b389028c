//! The program's "kernel": our image mapped by `vdso_dropin::pair::Vdso`,
//! its data page published from the host's own clocks, and the raw syscalls
//! every answer is compared with.
//!
//! # Publication error
//!
//! A base time is the midpoint of two syscalls around one counter read (the
//! tightest of eight tries), so it is off by at most half their distance;
//! [`Host::publish_for`] returns that half-width. The counter truncates
//! both the publication instant and the reading instant, which adds one
//! counter quantum: qemu-user derives `CNTVCT_EL0` from the host's
//! `gettimeofday`, so it moves in steps of about 1 µs, measured at start-up
//! ([`Host::quantum_ns`]) rather than assumed. Every served-clock check
//! re-publishes first, like a kernel tick, so the rate difference between
//! the counter and the host's clocks (NTP's correction of MONOTONIC_RAW)
//! has no time to add up. So a high-resolution clock read through the page
//! lies in the syscall bracket widened by publication + quantum + 1 ns (the
//! midpoint's rounding), typically a few µs; nothing else is tolerated.

use std::ptr::null_mut;

use loader::{clock, Config, CounterSource, Timespec, Timeval, Timezone, Writer, IMAGE_PADDED};
use vdso_dropin::pair::Vdso;
use vdso_probe::host::publish_host_clocks;
pub use vdso_probe::host::{sys_ns, sys_res, sys_time, sys_timeofday};
use vdso_probe::report::{Report, NS};

/// Our image, mapped, with what the host says about its clocks.
pub struct Host {
    /// The mapping, its data page and writer, and the image's functions.
    pub vdso: Vdso,
    /// The writer's configuration for the differential part: the host's
    /// resolutions, so `clock_getres` through the page equals the syscall.
    pub config: Config,
    /// Counter frequency (Hz).
    pub frequency: u64,
    /// Bound on the counter's truncation error, in ns (module docs).
    pub quantum_ns: i128,
    /// The counter's regular steps, for the notes.
    steps: Vec<u64>,
    /// The host's `struct timezone`.
    pub timezone: Timezone,
}

impl Host {
    /// Maps our image with a writer configured with the host's
    /// resolutions; publishes nothing yet.
    pub fn map() -> Result<Host, String> {
        let frequency = loader::arch::frequency();
        // A resolution of a second or more does not fit the page; 0 sends
        // getres to the syscall then.
        let res_ns = |id| match sys_res(id) {
            (0, Timespec { tv_sec: 0, tv_nsec }) => u32::try_from(tv_nsec).unwrap_or(0),
            _ => 0,
        };
        let config = Config {
            hrtimer_res: res_ns(clock::MONOTONIC),
            coarse_res: res_ns(clock::MONOTONIC_COARSE),
            ..Config::new(CounterSource::Virtual, frequency)
        };
        let vdso = Vdso::map("ours", IMAGE_PADDED, config)?;
        let (ret, _, timezone) = sys_timeofday();
        if ret != 0 {
            return Err(format!("gettimeofday: {ret}"));
        }
        let mut host = Host {
            vdso,
            config,
            frequency,
            quantum_ns: 0,
            steps: Vec::new(),
            timezone,
        };
        host.measure_quantum();
        Ok(host)
    }

    /// Notes the setup on stderr.
    pub fn describe(&self, report: &Report) {
        let scale = self.vdso.writer.scale();
        report.note(&format!(
            "our image at {:#x}, data page at {:#x}; counter {} Hz, mult {} shift {}; \
             host resolutions {} ns / {} ns; counter steps {:?}: quantum bound {} ns",
            self.vdso.layout.image,
            self.vdso.layout.data_page,
            self.frequency,
            scale.mult,
            scale.shift,
            self.config.hrtimer_res,
            self.config.coarse_res,
            self.steps,
            self.quantum_ns,
        ));
    }

    /// Reads the counter our image reads (`CNTVCT_EL0`).
    pub fn counter(&self) -> u64 {
        self.vdso.writer.read_counter()
    }

    /// Replaces the page's writer with a fresh one for `config`: every field
    /// cleared, `seq` even, `clock_mode` NONE until the next publish.
    pub fn reset(&mut self, config: Config) -> Result<(), String> {
        self.vdso.writer =
            Writer::new(self.vdso.page, config).map_err(|e| format!("Writer::new: {e}"))?;
        Ok(())
    }

    /// Publishes every counter-driven clock as the host has it now, with
    /// `reference`'s own bracket defining the counter value (so its base is
    /// as good as measured; the other clocks are carried to that counter
    /// value), and the host's timezone. Returns `reference`'s publication
    /// error bound in ns.
    pub fn publish_for(&mut self, reference: i32) -> i128 {
        let half = publish_host_clocks(&mut self.vdso.writer, self.frequency, reference);
        self.vdso.writer.set_timezone(self.timezone);
        half
    }

    /// `clock_gettime(id, NULL)` through our image.
    pub fn gettime_null(&self, id: i32) -> i32 {
        // SAFETY: `gettime` is our image's `__kernel_clock_gettime`, mapped
        // by `Vdso::map` with its data page below it (see `pair`'s Safety
        // section); with a null buffer it writes nothing and passes the null
        // pointer to the kernel, which rejects it.
        unsafe { (self.vdso.gettime)(id, null_mut()) }
    }

    /// `gettimeofday(tv, tz)` through our image, with either pointer null
    /// where not asked for: (return value, tv, tz).
    pub fn timeofday(&self, want_tv: bool, want_tz: bool) -> (i32, Timeval, Timezone) {
        self.vdso.gettimeofday_nulls(want_tv, want_tz)
    }

    /// Measures the counter's regular steps and the bound on its truncation
    /// error: one largest regular step plus one tick, in ns. Steps more than
    /// twice the smallest are interruptions, not resolution.
    fn measure_quantum(&mut self) {
        let mut steps = Vec::new();
        let mut last = self.counter();
        while steps.len() < 40 {
            let now = self.counter();
            if now != last {
                steps.push(now.wrapping_sub(last));
                last = now;
            }
        }
        let min = steps.iter().copied().min().unwrap_or(1);
        let mut regular: Vec<u64> = steps.into_iter().filter(|&s| s <= 2 * min).collect();
        regular.sort_unstable();
        regular.dedup();
        let ticks = i128::from(regular.last().copied().unwrap_or(min)) + 1;
        let hz = i128::from(self.frequency);
        self.quantum_ns = (ticks * NS + hz - 1) / hz;
        self.steps = regular;
    }
}

/// Orders timespecs (`Timespec` has no `Ord` of its own).
pub fn key(t: Timespec) -> (i64, i64) {
    (t.tv_sec, t.tv_nsec)
}
