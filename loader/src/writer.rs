//! The data-page writer: the kernel's half of the seqlock, Linux's
//! `kernel/time/vsyscall.c` (`update_vsyscall`) and `include/vdso/helpers.h`
//! (`vdso_write_begin`/`vdso_write_end`) for the 6.12 arm64 layout.
//!
//! A [`Writer`] owns the authoritative time state (the counter value of the
//! last update and each clock's base time at that value, in nanoseconds
//! shifted left by `shift`, fraction included) and copies it into the page
//! under the seqlock on every change. Because a [`Writer::tick`] advances the
//! bases by exactly the product the reader computes (as Linux's timekeeper
//! does), nothing jumps at a tick: the instant before and the instant after
//! give the same nanosecond. [`Writer::clock_gettime`] runs the reader's own
//! arithmetic on that state, so a kernel that answers its `clock_gettime`
//! syscall with it agrees with the vDSO to the nanosecond.
//!
//! No `unsafe` here: every page field is an atomic.

use core::fmt;
use core::sync::atomic::{fence, Ordering};

use vdso::data::{
    clock, DataPage, VdsoData, VdsoTimestamp, CLOCKMODE_ARCHTIMER, CLOCKMODE_CNTPCT,
    CLOCKMODE_NONE, CS_HRES_COARSE, CS_RAW,
};
use vdso::time::{scale, CounterSource, Timespec, Timezone, NSEC_PER_SEC};

/// Largest `shift` [`Scale::from_frequency`] chooses: `NSEC_PER_SEC << 34`
/// (≈ 1.7 × 10¹⁹) still fits in a `u64`, `<< 35` does not, and a base time's
/// shifted nanoseconds are kept below `NSEC_PER_SEC << shift`.
pub const MAX_SHIFT: u32 = 34;

/// Roll-over time the architecture guarantees for the system counter, in
/// seconds: at least 40 years (Arm ARM D11.1.2; Linux's `MIN_ROLLOVER_SECS`).
pub const MIN_ROLLOVER_SECS: u64 = 40 * 365 * 24 * 3600;

/// Counter-to-nanoseconds conversion: `ns = (cycles * mult) >> shift`.
///
/// # How it is chosen, and its drift
///
/// The reader multiplies in 128 bits, so there is no overflow to trade
/// precision against (Linux's `clocks_calc_mult_shift` shrinks `shift` so a
/// 64-bit product survives ten minutes; we need not). [`Scale::from_frequency`]
/// therefore takes the **largest** `shift ≤ 34` for which
/// `mult = round(NSEC_PER_SEC · 2^shift / hz)` fits in a `u32`; `34` keeps a
/// base's shifted nanoseconds (`< NSEC_PER_SEC << shift`) inside the `u64`
/// the page stores them in.
///
/// Then `mult ≥ 2^31` for every frequency up to 4 GHz, and rounding to
/// nearest makes the relative error of `mult / 2^shift` at most
/// `1 / (2 · mult) ≤ 2^-32 ≈ 2.3 × 10⁻¹⁰`: time read from the page runs off
/// the counter by at most 0.23 ns per second, 7.4 ms per year. Frequencies
/// whose period is a whole multiple of `2^-shift` ns have no error at all:
/// 62.5 MHz (16 ns, `mult = 2^31, shift = 27`), 1 GHz, 100 MHz, 50 MHz,
/// 25 MHz, 1 MHz. 24 MHz drifts 1.2 × 10⁻¹⁰ (3.8 ms per year), 19.2 MHz
/// 9.5 × 10⁻¹¹. For scale: the counter's crystal itself is typically
/// specified to ±20 ppm (2 × 10⁻⁵), five orders of magnitude more.
///
/// The kernel's own clock ([`Writer::clock_gettime`]) uses the same `mult`,
/// so kernel and vDSO drift together and always agree.
///
/// # Linux's own image
///
/// Linux 6.12's arm64 reader multiplies in 64 bits. It reads our page
/// correctly while `(counter - cycle_last) · mult + nsec < 2^64`, i.e. while
/// the kernel calls [`Writer::tick`] at least every `≈ 2^64 / (mult · hz)`
/// seconds: 136 s at 62.5 MHz, 273 s at 24 MHz, 7.6 s at 1 GHz. Our image has
/// no such limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Multiplier (`vdso_data.mult`).
    pub mult: u32,
    /// Shift (`vdso_data.shift`).
    pub shift: u32,
}

impl Scale {
    /// The most precise scale for a counter running at `hz`, or `None` for
    /// `hz == 0`. (Every other frequency has one: even 1 Hz gets
    /// `mult = 4 × 10⁹, shift = 2`.)
    pub const fn from_frequency(hz: u64) -> Option<Scale> {
        if hz == 0 {
            return None;
        }
        let hz = hz as u128;
        let mut shift = MAX_SHIFT;
        loop {
            // Round to nearest, as Linux's `clocks_calc_mult_shift` does.
            let mult = ((NSEC_PER_SEC as u128) << shift).saturating_add(hz / 2) / hz;
            if mult != 0 && mult <= u32::MAX as u128 {
                return Some(Scale {
                    mult: mult as u32,
                    shift,
                });
            }
            if mult == 0 || shift == 0 {
                return None;
            }
            shift -= 1;
        }
    }
}

/// How the page is to be read. Build it with [`Config::new`] and adjust the
/// public fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The counter user space reads: [`CounterSource::Virtual`]
    /// (`CNTVCT_EL0`, Linux's `VDSO_CLOCKMODE_ARCHTIMER`) or
    /// [`CounterSource::Physical`] (`CNTPCT_EL0`, our `CLOCKMODE_CNTPCT`;
    /// only if the kernel set `CNTKCTL_EL1.EL0PCTEN`).
    pub source: CounterSource,
    /// Counter frequency in Hz (`CNTFRQ_EL0`).
    pub frequency: u64,
    /// Width of the counter in bits, 1 to 64: `counter - cycle_last` is taken
    /// modulo `2^counter_bits` (`vdso_data.mask`). [`Config::new`] derives it
    /// from the frequency as Linux does (`arch_counter_get_width`): enough
    /// bits for the architecture's 40-year roll-over, at least 56. One
    /// publish stays good without a tick for half the counter's range (the
    /// reader takes a delta in the upper half for a counter behind
    /// `cycle_last` and asks the syscall): at least 20 years.
    pub counter_bits: u32,
    /// What `clock_getres` reports for the high-resolution clocks (REALTIME,
    /// MONOTONIC, MONOTONIC_RAW, BOOTTIME, TAI), in ns; Linux with high
    /// resolution timers reports 1. Zero sends `clock_getres` to the syscall.
    pub hrtimer_res: u32,
    /// What `clock_getres` reports for the coarse clocks, in ns: the tick
    /// period (Linux: `TICK_NSEC`). Zero (the default) sends `clock_getres`
    /// for them to the syscall.
    pub coarse_res: u32,
}

impl Config {
    /// A configuration for `source` at `frequency` Hz, with Linux's counter
    /// width for that frequency, `hrtimer_res = 1` and `coarse_res = 0`.
    ///
    /// Set both resolutions to what the kernel's `clock_getres` syscall
    /// returns, so the two agree.
    pub const fn new(source: CounterSource, frequency: u64) -> Config {
        // ceil(log2(40 years of cycles)), clamped to 56..=64, as Linux's
        // `arch_counter_get_width`.
        let cycles = MIN_ROLLOVER_SECS as u128 * frequency as u128;
        let bits = if cycles <= 1 {
            0
        } else {
            128 - (cycles - 1).leading_zeros()
        };
        let counter_bits = if bits < 56 {
            56
        } else if bits > 64 {
            64
        } else {
            bits
        };
        Config {
            source,
            frequency,
            counter_bits,
            hrtimer_res: 1,
            coarse_res: 0,
        }
    }
}

/// Why [`Writer::new`] refused a [`Config`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `frequency` is zero ([`Scale::from_frequency`]).
    Frequency,
    /// `counter_bits` is not in `1..=64`.
    CounterBits,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Frequency => "counter frequency is zero",
            Error::CounterBits => "counter width is not between 1 and 64 bits",
        })
    }
}

/// The value of every counter-driven clock at one counter reading: what a
/// kernel publishes with [`Writer::publish`].
///
/// `tv_nsec` outside `0..NSEC_PER_SEC` is normalised; negative seconds (before
/// the epoch) are stored as the page stores them, two's complement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clocks {
    /// The counter value at which the clocks below hold.
    pub counter: u64,
    /// `CLOCK_REALTIME`: wall-clock time since the Unix epoch.
    pub realtime: Timespec,
    /// `CLOCK_MONOTONIC`: never set, never jumps.
    pub monotonic: Timespec,
    /// `CLOCK_MONOTONIC_RAW`: like MONOTONIC without frequency correction. The
    /// writer never corrects the frequency, so it advances exactly like
    /// MONOTONIC; its base may differ.
    pub monotonic_raw: Timespec,
    /// `CLOCK_BOOTTIME`: MONOTONIC plus time spent suspended.
    pub boottime: Timespec,
    /// `CLOCK_TAI`: REALTIME plus the TAI offset (Linux keeps that offset at 0
    /// until `adjtimex` sets it, 37 s today).
    pub tai: Timespec,
}

impl Clocks {
    /// The five clocks, in [`clock::COUNTER_CLOCKS`] order, to change them
    /// all alike (shift them by an offset, round them).
    pub fn times_mut(&mut self) -> [&mut Timespec; 5] {
        [
            &mut self.realtime,
            &mut self.monotonic,
            &mut self.monotonic_raw,
            &mut self.boottime,
            &mut self.tai,
        ]
    }
}

/// The counter-driven clocks, in the order of `Writer::bases`.
const HRES: [i32; 5] = clock::COUNTER_CLOCKS;
/// Index of REALTIME in [`HRES`] and `Writer::bases`.
const REALTIME: usize = 0;
/// Index of MONOTONIC in [`HRES`] and `Writer::bases`.
const MONOTONIC: usize = 1;
/// Index of MONOTONIC_RAW in [`HRES`] and `Writer::bases`.
const MONOTONIC_RAW: usize = 2;

/// One clock's time at `cycle_last`, as the page stores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Base {
    /// Seconds (two's complement for times before the epoch).
    sec: u64,
    /// Nanoseconds shifted left by `shift`, fraction included; always below
    /// `NSEC_PER_SEC << shift`.
    nsec: u64,
}

/// The single writer of one data page.
///
/// Every method that changes time writes the whole page inside one seqlock
/// write, so a reader sees either the old or the new state, never a mix.
/// `&mut self` makes the writer exclusive; create only one `Writer` per page
/// (two would interleave their seqlock writes).
///
/// Until the first [`publish`](Writer::publish) the page says
/// `clock_mode = NONE` and every vDSO call uses the syscall.
#[derive(Debug)]
pub struct Writer<'a> {
    page: &'a DataPage,
    config: Config,
    scale: Scale,
    mask: u64,
    enabled: bool,
    published: bool,
    cycle_last: u64,
    bases: [Base; 5],
    timezone: Timezone,
    /// The RNG generation last published (0: none yet).
    rng_generation: u64,
}

impl<'a> Writer<'a> {
    /// Takes over `page`: clears every field, writes the scale, mask and
    /// resolutions, and leaves `clock_mode = NONE` until the first
    /// [`publish`](Writer::publish).
    pub fn new(page: &'a DataPage, config: Config) -> Result<Writer<'a>, Error> {
        let scale = Scale::from_frequency(config.frequency).ok_or(Error::Frequency)?;
        let mask = match config.counter_bits {
            64 => u64::MAX,
            bits @ 1..=63 => (1 << bits) - 1,
            _ => return Err(Error::CounterBits),
        };
        let writer = Writer {
            page,
            config,
            scale,
            mask,
            enabled: true,
            published: false,
            cycle_last: 0,
            bases: [Base::default(); 5],
            timezone: Timezone::default(),
            rng_generation: 0,
        };
        writer.write(|page| {
            for vd in &page.data {
                clear(vd);
            }
            page.ext.coarse_res.store(0, Ordering::Relaxed);
            // No getrandom until the kernel says it has what it needs.
            page.ext.no_getrandom.store(1, Ordering::Relaxed);
            page.rng.generation.store(0, Ordering::Relaxed);
            page.rng.is_ready.store(0, Ordering::Relaxed);
            writer.fill(page);
        });
        Ok(writer)
    }

    /// The `mult`/`shift` the page carries.
    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// Sets every clock to the given values (a step, as at boot or for
    /// `settimeofday`; the coarse clocks become the same values) and, unless
    /// [`set_enabled(false)`](Writer::set_enabled) is in force, lets the vDSO
    /// serve them.
    ///
    /// `clocks.counter` must be a value the counter has already reached;
    /// a reader that sees a counter below it would compute a time far in the
    /// future. A clock whose new value equals its current value at that
    /// counter (to the nanosecond) keeps its sub-nanosecond fraction, so
    /// re-publishing [`clocks`](Writer::clocks) with only REALTIME and TAI
    /// changed never moves MONOTONIC, not even by a nanosecond.
    pub fn publish(&mut self, clocks: Clocks) {
        let now = self.advanced(clocks.counter);
        let values = [
            clocks.realtime,
            clocks.monotonic,
            clocks.monotonic_raw,
            clocks.boottime,
            clocks.tai,
        ];
        for ((base, current), value) in self.bases.iter_mut().zip(now).zip(values) {
            let (sec, ns) = split(value);
            let unchanged = current.sec == sec && current.nsec >> self.scale.shift == ns;
            *base = if self.published && unchanged {
                current
            } else {
                Base {
                    sec,
                    nsec: ns << self.scale.shift,
                }
            };
        }
        self.cycle_last = clocks.counter;
        self.published = true;
        self.flush();
    }

    /// Publishes the clocks of a kernel that has just booted: MONOTONIC,
    /// MONOTONIC_RAW and BOOTTIME are `counter / frequency` (time since the
    /// counter was zero, i.e. since reset), REALTIME is `realtime` (from the
    /// RTC or the boot loader; zero if unknown), TAI equals REALTIME.
    ///
    /// This alone is a complete "publish once" setup: with no further call the
    /// high-resolution clocks stay right for as long as the counter does not
    /// wrap ([`Config::counter_bits`]). Coarse clocks only move on
    /// [`tick`](Writer::tick).
    pub fn publish_boot(&mut self, counter: u64, realtime: Timespec) {
        let ns = u128::from(counter) * u128::from(NSEC_PER_SEC) / u128::from(self.config.frequency);
        let since_reset = Timespec {
            tv_sec: (ns / u128::from(NSEC_PER_SEC)) as i64,
            tv_nsec: (ns % u128::from(NSEC_PER_SEC)) as i64,
        };
        self.publish(Clocks {
            counter,
            realtime,
            monotonic: since_reset,
            monotonic_raw: since_reset,
            boottime: since_reset,
            tai: realtime,
        });
    }

    /// Moves the page's reference point to `counter` (Linux's
    /// `update_vsyscall` at a timer tick).
    ///
    /// The high-resolution clocks do not change: each base advances by
    /// exactly what the reader would add, fraction kept. The coarse clocks
    /// become the time at `counter`. Call it once per tick if the kernel has
    /// one; a tickless kernel may skip it entirely (its coarse clocks then
    /// stay at the last publish).
    ///
    /// A `counter` more than half the counter range behind the last update
    /// is taken for a stale reading (another CPU ticked first) and ignored,
    /// as Linux's `clocksource_delta` does, instead of leaping decades ahead.
    pub fn tick(&mut self, counter: u64) {
        if counter.wrapping_sub(self.cycle_last) & self.mask > self.mask >> 1 {
            return;
        }
        self.bases = self.advanced(counter);
        self.cycle_last = counter;
        self.flush();
    }

    /// Publishes `struct timezone` for `gettimeofday` (Linux's
    /// `update_vsyscall_tz`).
    pub fn set_timezone(&mut self, timezone: Timezone) {
        self.timezone = timezone;
        self.flush();
    }

    /// Enables or disables the page. Disabled, the page says
    /// `clock_mode = NONE` and every vDSO call makes the syscall, as with a
    /// clock source Linux cannot read from user space. The time state keeps
    /// advancing with [`tick`](Writer::tick) either way.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
        self.flush();
    }

    /// Turns the vDSO's getrandom on: the kernel's random pool is ready
    /// (Linux's `crng_set_ready`). Publishes a first generation if
    /// [`rng_reseeded`](Writer::rng_reseeded) has not, then `is_ready`, and
    /// lets the params call describe the state memory.
    ///
    /// Until this is called, the params call answers `-ENOSYS`, so glibc
    /// (≥ 2.41) and Go (≥ 1.24) map no state and use the getrandom syscall
    /// for every read: what a kernel without the requirements below gets,
    /// cleanly. Call it before the first process starts (a libc asks once,
    /// at startup), and only if the kernel implements
    /// - the getrandom syscall (the vDSO reseeds each thread's key through
    ///   it, and falls back to it), and
    /// - `MAP_DROPPABLE` (`0x08`) for private anonymous mappings: zeroed in
    ///   a forked child, never in a core dump (dropping them under memory
    ///   pressure is allowed, not required). Without the wipe on fork a
    ///   child would repeat its parent's bytes; a kernel that does not have
    ///   it must refuse the flag with `EINVAL`, as Linux before 6.11 does,
    ///   and not call this.
    pub fn set_rng_ready(&mut self) {
        if self.rng_generation == 0 {
            self.rng_reseeded();
        }
        self.page.ext.no_getrandom.store(0, Ordering::Relaxed);
        self.page.rng.is_ready.store(1, Ordering::Relaxed);
    }

    /// Tells the page's getrandom state that the kernel's random pool was
    /// reseeded (Linux's `crng_reseed`): every thread's key is reseeded
    /// through the syscall at its next vDSO call. Returns the generation now
    /// published, which is never 0 (the vDSO's "no key yet").
    pub fn rng_reseeded(&mut self) -> u64 {
        self.rng_generation = match self.rng_generation.wrapping_add(1) {
            0 => 1,
            next => next,
        };
        // Release: a reader that sees the new generation and then calls the
        // syscall gets bytes from the reseeded pool (pairs with the vDSO's
        // acquire fence).
        self.page
            .rng
            .generation
            .store(self.rng_generation, Ordering::Release);
        self.rng_generation
    }

    /// The time of `clock` at `counter`, computed exactly as the vDSO computes
    /// it from the page: answer the kernel's own `clock_gettime` with this
    /// and the two agree to the nanosecond.
    ///
    /// `None` for clocks the page does not serve (CPU-time clocks, invalid
    /// ids): the kernel answers those itself. Coarse clocks are the time at
    /// the last update, whatever `counter` is. Before the first publish every
    /// clock counts from zero at counter value zero.
    pub fn clock_gettime(&self, clock: i32, counter: u64) -> Option<Timespec> {
        let Scale { mult, shift } = self.scale;
        let coarse = |base: Base| Timespec {
            tv_sec: base.sec as i64,
            tv_nsec: (base.nsec >> shift) as i64,
        };
        let slot = match clock {
            clock::REALTIME_COARSE => return Some(coarse(self.bases[REALTIME])),
            clock::MONOTONIC_COARSE => return Some(coarse(self.bases[MONOTONIC])),
            _ => HRES.iter().position(|&id| id == clock)?,
        };
        let base = self.bases[slot];
        let ns = scale(
            counter,
            self.cycle_last,
            self.mask,
            mult.into(),
            shift.into(),
            base.nsec,
        )?;
        Some(Timespec {
            tv_sec: base.sec.wrapping_add(ns / NSEC_PER_SEC) as i64,
            tv_nsec: (ns % NSEC_PER_SEC) as i64,
        })
    }

    /// Every counter-driven clock at `counter`, for instance to change
    /// REALTIME and [`publish`](Writer::publish) the result.
    pub fn clocks(&self, counter: u64) -> Clocks {
        let at = |id| self.clock_gettime(id, counter).unwrap_or_default();
        Clocks {
            counter,
            realtime: at(clock::REALTIME),
            monotonic: at(clock::MONOTONIC),
            monotonic_raw: at(clock::MONOTONIC_RAW),
            boottime: at(clock::BOOTTIME),
            tai: at(clock::TAI),
        }
    }

    /// Reads the configured counter now (`isb; mrs`), for
    /// [`tick`](Writer::tick) and [`publish_boot`](Writer::publish_boot).
    #[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
    pub fn read_counter(&self) -> u64 {
        crate::arch::counter(self.config.source)
    }

    /// The bases moved to `counter`: each gains `delta · mult` shifted
    /// nanoseconds, carried into seconds.
    fn advanced(&self, counter: u64) -> [Base; 5] {
        let delta = counter.wrapping_sub(self.cycle_last) & self.mask;
        let gained = u128::from(delta) * u128::from(self.scale.mult);
        let second = u128::from(NSEC_PER_SEC) << self.scale.shift;
        self.bases.map(|base| {
            let total = u128::from(base.nsec) + gained;
            Base {
                sec: base.sec.wrapping_add((total / second) as u64),
                nsec: (total % second) as u64,
            }
        })
    }

    /// The `clock_mode` the page carries now.
    fn clock_mode(&self) -> i32 {
        match (self.enabled && self.published, self.config.source) {
            (false, _) => CLOCKMODE_NONE,
            (true, CounterSource::Virtual) => CLOCKMODE_ARCHTIMER,
            (true, CounterSource::Physical) => CLOCKMODE_CNTPCT,
        }
    }

    /// Copies the whole state into the page inside one seqlock write.
    fn flush(&self) {
        self.write(|page| self.fill(page));
    }

    /// Stores the state into `page`; only inside [`Writer::write`].
    fn fill(&self, page: &DataPage) {
        let relaxed = Ordering::Relaxed;
        let Scale { mult, shift } = self.scale;
        let [hres, raw] = &page.data;
        for vd in [hres, raw] {
            vd.clock_mode.store(self.clock_mode(), relaxed);
            vd.cycle_last.store(self.cycle_last, relaxed);
            vd.mask.store(self.mask, relaxed);
            vd.mult.store(mult, relaxed);
            vd.shift.store(shift, relaxed);
        }
        for (slot, &id) in HRES.iter().enumerate() {
            // MONOTONIC_RAW lives in CS_RAW, the others in CS_HRES_COARSE
            // (Linux's `update_vdso_data`).
            let vd = if slot == MONOTONIC_RAW { raw } else { hres };
            let base = self.bases[slot];
            store(&vd.basetime[id as usize], base.sec, base.nsec);
        }
        // Coarse clocks hold plain nanoseconds: the high-resolution time at
        // `cycle_last`, truncated (Linux's `update_vsyscall`).
        for (id, slot) in [
            (clock::REALTIME_COARSE, REALTIME),
            (clock::MONOTONIC_COARSE, MONOTONIC),
        ] {
            let base = self.bases[slot];
            store(&hres.basetime[id as usize], base.sec, base.nsec >> shift);
        }
        hres.tz_minuteswest
            .store(self.timezone.tz_minuteswest, relaxed);
        hres.tz_dsttime.store(self.timezone.tz_dsttime, relaxed);
        // Like Linux, the resolution lives in CS_HRES_COARSE only; the reader
        // takes it from there for MONOTONIC_RAW too.
        hres.hrtimer_res.store(self.config.hrtimer_res, relaxed);
        page.ext.coarse_res.store(self.config.coarse_res, relaxed);
    }

    /// One seqlock write of both structs (Linux's `vdso_write_begin`,
    /// `update`, `vdso_write_end`).
    pub(crate) fn write(&self, update: impl FnOnce(&DataPage)) {
        let page = self.page;
        // `| 1` makes `seq` odd even if a previous writer died half-way with
        // it odd; the closing `+ 1` then gives a value no reader saw before.
        let odd = [CS_HRES_COARSE, CS_RAW].map(|i| page.data[i].seq.load(Ordering::Relaxed) | 1);
        for (vd, seq) in page.data.iter().zip(odd) {
            vd.seq.store(seq, Ordering::Relaxed);
        }
        // Orders the odd `seq` before every data store below: a reader whose
        // loads see any new field then sees the odd `seq` on its re-check
        // (this release fence pairs with the reader's acquire fence), and
        // retries (Linux's `smp_wmb` in `vdso_write_begin`).
        fence(Ordering::Release);
        update(page);
        // Orders every data store above before the even `seq`: a reader that
        // acquires the new even value sees the complete update (Linux's
        // `smp_wmb` in `vdso_write_end`).
        fence(Ordering::Release);
        for (vd, seq) in page.data.iter().zip(odd) {
            vd.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        }
    }
}

/// Splits a time into the page's seconds and plain nanoseconds.
fn split(time: Timespec) -> (u64, u64) {
    let ns = NSEC_PER_SEC as i64;
    let sec = time.tv_sec.wrapping_add(time.tv_nsec.div_euclid(ns));
    (sec as u64, time.tv_nsec.rem_euclid(ns) as u64)
}

/// Stores one `vdso_timestamp`.
fn store(ts: &VdsoTimestamp, sec: u64, nsec: u64) {
    ts.sec.store(sec, Ordering::Relaxed);
    ts.nsec.store(nsec, Ordering::Relaxed);
}

/// Zeroes every field of `vd` but `seq`.
fn clear(vd: &VdsoData) {
    let relaxed = Ordering::Relaxed;
    vd.clock_mode.store(CLOCKMODE_NONE, relaxed);
    vd.cycle_last.store(0, relaxed);
    vd.mask.store(0, relaxed);
    vd.mult.store(0, relaxed);
    vd.shift.store(0, relaxed);
    for ts in &vd.basetime {
        store(ts, 0, 0);
    }
    vd.tz_minuteswest.store(0, relaxed);
    vd.tz_dsttime.store(0, relaxed);
    vd.hrtimer_res.store(0, relaxed);
    vd.unused.store(0, relaxed);
}
