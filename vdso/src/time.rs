//! The portable time algorithm: Linux's `lib/vdso/gettimeofday.c` in Rust.
//!
//! Nothing here knows about aarch64. The counter comes in through [`Counter`]
//! and every function returns `None` when the data page cannot answer; the
//! caller then makes the real syscall. That split lets the host unit tests run
//! this exact code against a simulated counter and page.
//!
//! Differences from Linux, each on purpose:
//! - `(counter - cycle_last) * mult + nsec` is computed in 128 bits, so a
//!   kernel that publishes once and never again still gets the right time
//!   years later (Linux's 64-bit product overflows after minutes without an
//!   update).
//! - The seqlock reader gives up after [`SPIN_LIMIT`] rounds and lets the
//!   caller use the syscall: a writer that died with `seq` odd costs a
//!   fallback, never a hang.
//! - A page we cannot vouch for (unknown `clock_mode`, zero `mult` or `mask`,
//!   `shift` of 64 or more, zero resolution) is never used: the syscall
//!   answers instead. Linux serves the coarse clocks even when `clock_mode` is
//!   `NONE`; we do not, so an all-zero page never yields time zero.

use core::hint::cold_path;
use core::sync::atomic::{fence, Ordering};

use crate::data::{
    clock, DataPage, VdsoData, VdsoTimestamp, CLOCKMODE_ARCHTIMER, CLOCKMODE_ARCHTIMER_NOCOMPAT,
    CLOCKMODE_CNTPCT, CS_HRES_COARSE, CS_RAW, VDSO_BASES,
};

/// Nanoseconds per second.
pub const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Rounds of the seqlock loop (waiting for an odd `seq` to turn even, or
/// retrying after a concurrent update) before the reader gives up and the
/// caller uses the syscall. A kernel writer holds `seq` odd for well under a
/// microsecond; this bound is far above that and far below a visible hang.
pub const SPIN_LIMIT: u32 = 1 << 16;

/// `struct __kernel_timespec` on a 64-bit kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, `0..NSEC_PER_SEC`.
    pub tv_nsec: i64,
}

/// `struct __kernel_old_timeval` on a 64-bit kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeval {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds, `0..1_000_000`.
    pub tv_usec: i64,
}

/// `struct timezone`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timezone {
    /// Minutes west of Greenwich.
    pub tz_minuteswest: i32,
    /// Type of DST correction.
    pub tz_dsttime: i32,
}

/// Which hardware counter a `clock_mode` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterSource {
    /// `CNTVCT_EL0`, the virtual count.
    Virtual,
    /// `CNTPCT_EL0`, the physical count.
    Physical,
}

/// The fields of one [`VdsoData`] that a high-resolution clock needs, as
/// read inside one seqlock round (consistent only if `seq` did not change).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `cycle_last`.
    pub cycle_last: u64,
    /// `mask`.
    pub mask: u64,
    /// `mult`, zero-extended (a 32-bit load does that for free on 64-bit
    /// arches, and the product is 64 × 64 bits anyway).
    pub mult: u64,
    /// `shift`, zero-extended.
    pub shift: u64,
    /// The clock's `basetime` seconds.
    pub sec: u64,
    /// The clock's `basetime` shifted nanoseconds.
    pub nsec: u64,
}

/// The hardware counter, as the arch module (or a test) reads it, how the
/// arch loads the page's multi-word fields, and how it tests a clock-id
/// set: everything of the algorithm an arch may do its own way.
pub trait Counter {
    /// Whether this is the 32-bit compat image's reader. Linux's compat vDSO
    /// serves only `VDSO_CLOCKMODE_ARCHTIMER`: `ARCHTIMER_NOCOMPAT` is how a
    /// kernel says "this counter is not for 32-bit processes" (an erratum
    /// workaround that only the 64-bit reader applies), so a compat reader
    /// answers with the syscall then ([`source_for`]).
    const COMPAT: bool = false;

    /// Reads the counter, ordered after every data-page load before it and
    /// before every data-page load after it.
    fn read(&self, source: CounterSource) -> u64;

    /// Loads [`Snapshot`]'s fields from `vd` and `base` (one of
    /// `vd.basetime`), each as a relaxed atomic load: single-copy atomic,
    /// in no particular order among themselves. The default loads them one
    /// by one; an arch may load adjacent pairs with one instruction.
    #[inline(always)]
    fn snapshot(&self, vd: &VdsoData, base: &VdsoTimestamp) -> Snapshot {
        Snapshot {
            cycle_last: vd.cycle_last.load(Ordering::Relaxed),
            mask: vd.mask.load(Ordering::Relaxed),
            mult: u64::from(vd.mult.load(Ordering::Relaxed)),
            shift: u64::from(vd.shift.load(Ordering::Relaxed)),
            sec: base.sec.load(Ordering::Relaxed),
            nsec: base.nsec.load(Ordering::Relaxed),
        }
    }

    /// Whether bit `id` (below 32) of `mask` is set: whether the clock `id`
    /// is in the set `mask`. The default is the plain expression, which the
    /// compiler turns into `mask & (1 << id)`; an arch may shift the mask
    /// instead and test one bit, one instruction less.
    #[inline(always)]
    fn in_set(&self, mask: u32, id: u32) -> bool {
        (mask >> id) & 1 != 0
    }

    /// `vd`'s `seq` (low half) and `clock_mode` (high half) as one word, as
    /// a little-endian 64-bit load of both gives them, with `seq` loaded
    /// with acquire ordering: the opening of [`hres_straight`]'s seqlock
    /// round. The default loads them one by one; an arch may load the word
    /// with one acquire load.
    #[inline(always)]
    fn seq_and_mode(&self, vd: &VdsoData) -> u64 {
        let seq = vd.seq.load(Ordering::Acquire);
        let mode = vd.clock_mode.load(Ordering::Relaxed);
        u64::from(seq) | u64::from(mode as u32) << 32
    }

    /// Whether `word`, a [`Counter::seq_and_mode`] value, has `seq` even
    /// and `clock_mode` `CLOCKMODE_ARCHTIMER`: the straight path's one test
    /// before it reads the counter. The default is the plain expression,
    /// which the compiler turns into a mask, a constant and a compare; an
    /// arch may flip the mode bit first and test the mask alone, one
    /// instruction less.
    #[inline(always)]
    fn even_archtimer(&self, word: u64) -> bool {
        (word ^ EVEN_ARCHTIMER) & ODD_OR_MODE == 0
    }

    /// [`Counter::read`] without its ordering before the loads after it:
    /// [`Counter::seq_and_mode_after`] orders the one load that must follow
    /// it. The default is [`Counter::read`].
    #[inline(always)]
    fn read_unordered(&self, source: CounterSource) -> u64 {
        self.read(source)
    }

    /// [`Counter::seq_and_mode`] again, relaxed, but not performed before
    /// the counter read that returned `cycles`: the closing of
    /// [`hres_straight`]'s round. aarch64 makes the load's address depend on
    /// `cycles`, which is Linux's `arch_counter_enforce_ordering` without
    /// the extra load. The default loads the two fields one by one.
    #[inline(always)]
    fn seq_and_mode_after(&self, vd: &VdsoData, cycles: u64) -> u64 {
        let _ = cycles;
        let seq = vd.seq.load(Ordering::Relaxed);
        let mode = vd.clock_mode.load(Ordering::Relaxed);
        u64::from(seq) | u64::from(mode as u32) << 32
    }

    /// Loads `base`'s `sec` and `nsec`, each as a relaxed atomic load, for
    /// the coarse clocks. The default loads them one by one.
    #[inline(always)]
    fn basetime(&self, base: &VdsoTimestamp) -> (u64, u64) {
        (
            base.sec.load(Ordering::Relaxed),
            base.nsec.load(Ordering::Relaxed),
        )
    }
}

/// Maps `clock_mode` to the counter it names, or `None` for "use the syscall"
/// (`NONE`, time namespace, anything unknown).
#[inline(always)]
pub fn counter_source(clock_mode: i32) -> Option<CounterSource> {
    match clock_mode {
        CLOCKMODE_ARCHTIMER | CLOCKMODE_ARCHTIMER_NOCOMPAT => Some(CounterSource::Virtual),
        CLOCKMODE_CNTPCT => {
            // Our own mode: kept off the straight path that Linux's take.
            cold_path();
            Some(CounterSource::Physical)
        }
        _ => None,
    }
}

/// [`counter_source`] as the reader `C` applies it: a compat reader
/// ([`Counter::COMPAT`]) also refuses `ARCHTIMER_NOCOMPAT`.
#[inline(always)]
pub fn source_for<C: Counter + ?Sized>(clock_mode: i32) -> Option<CounterSource> {
    if C::COMPAT && clock_mode == CLOCKMODE_ARCHTIMER_NOCOMPAT {
        return None;
    }
    counter_source(clock_mode)
}

/// `clock` as an index into `basetime` (and a bit of the `*_MASK` sets), or
/// `None` for ids that have no slot there (negative, or `VDSO_BASES` and
/// above): none of them is served, and the range check here lets the
/// compiler drop the one on `basetime`.
#[inline(always)]
fn clock_index(clock: i32) -> Option<u32> {
    let id = clock as u32;
    (id < VDSO_BASES as u32).then_some(id)
}

/// Reads `clock` from the page, or `None` if the syscall must answer.
#[inline(always)]
pub fn clock_gettime<C: Counter + ?Sized>(
    page: &DataPage,
    clock: i32,
    counter: &C,
) -> Option<Timespec> {
    read_clock::<C, false>(page, clock, counter)
}

/// [`clock_gettime`]'s straight path: one seqlock round and Linux's
/// `ARCHTIMER` mode. What the image tries first, inlined. `None` here only
/// means "not on the straight path" (a writer is at work, another counter
/// mode, or a page the syscall must answer): the caller then runs
/// [`clock_gettime`], out of line.
#[inline(always)]
pub fn clock_gettime_once<C: Counter + ?Sized>(
    page: &DataPage,
    clock: i32,
    counter: &C,
) -> Option<Timespec> {
    read_clock::<C, true>(page, clock, counter)
}

/// `CLOCK_REALTIME` as a `timeval`, or `None` if the syscall must answer.
#[inline(always)]
pub fn gettimeofday<C: Counter + ?Sized>(page: &DataPage, counter: &C) -> Option<Timeval> {
    read_timeofday::<C, false>(page, counter)
}

/// [`gettimeofday`]'s straight path, as [`clock_gettime_once`].
#[inline(always)]
pub fn gettimeofday_once<C: Counter + ?Sized>(page: &DataPage, counter: &C) -> Option<Timeval> {
    read_timeofday::<C, true>(page, counter)
}

/// [`clock_gettime`], or with `STRAIGHT` its straight path only
/// ([`clock_gettime_once`]).
#[inline(always)]
fn read_clock<C: Counter + ?Sized, const STRAIGHT: bool>(
    page: &DataPage,
    clock: i32,
    counter: &C,
) -> Option<Timespec> {
    let id = clock_index(clock)?;
    // Both counter-based `vdso_data`s go through one copy of `hres`.
    // The counter clocks first, as the commonest calls. (`MONOTONIC_RAW` is
    // one id, but `id == 4` would let the compiler specialise a second copy
    // of `hres` for it.)
    let vd = if counter.in_set(clock::HRES_MASK, id) {
        &page.data[CS_HRES_COARSE]
    } else if counter.in_set(clock::RAW_MASK, id) {
        &page.data[CS_RAW]
    } else if counter.in_set(clock::COARSE_MASK, id) {
        return coarse::<C, STRAIGHT>(&page.data[CS_HRES_COARSE], id as usize, counter);
    } else {
        return None;
    };
    hres::<C, STRAIGHT>(vd, id as usize, counter)
}

/// [`gettimeofday`], or with `STRAIGHT` its straight path only.
#[inline(always)]
fn read_timeofday<C: Counter + ?Sized, const STRAIGHT: bool>(
    page: &DataPage,
    counter: &C,
) -> Option<Timeval> {
    let vd = &page.data[CS_HRES_COARSE];
    let ts = hres::<C, STRAIGHT>(vd, clock::REALTIME as usize, counter)?;
    Some(timeval(ts))
}

/// `ts` truncated to microseconds.
#[inline(always)]
pub fn timeval(ts: Timespec) -> Timeval {
    Timeval {
        tv_sec: ts.tv_sec,
        // `tv_nsec` is below 10^9 < 2^32: a 32-bit division by a constant,
        // a multiply on every arch (a 64-bit one is a libcall on 32-bit Arm).
        tv_usec: i64::from(ts.tv_nsec as u32 / 1000),
    }
}

/// The time zone from the page, or `None` if the page is not one we can
/// trust (its `clock_mode` is not one `counter` serves; it is never read).
#[inline(always)]
pub fn timezone<C: Counter + ?Sized>(page: &DataPage, _counter: &C) -> Option<Timezone> {
    let vd = &page.data[CS_HRES_COARSE];
    source_for::<C>(vd.clock_mode.load(Ordering::Relaxed))?;
    Some(Timezone {
        tz_minuteswest: vd.tz_minuteswest.load(Ordering::Relaxed),
        tz_dsttime: vd.tz_dsttime.load(Ordering::Relaxed),
    })
}

/// The resolution of `clock`, or `None` if the syscall must answer: for ids
/// we do not serve, for a page whose `clock_mode` `counter` does not serve
/// (it is never read), and while the page's resolution field is zero.
#[inline(always)]
pub fn clock_getres<C: Counter + ?Sized>(
    page: &DataPage,
    clock: i32,
    counter: &C,
) -> Option<Timespec> {
    let id = clock_index(clock)?;
    let vd = &page.data[CS_HRES_COARSE];
    source_for::<C>(vd.clock_mode.load(Ordering::Relaxed))?;
    let ns = if counter.in_set(clock::HRES_MASK | clock::RAW_MASK, id) {
        vd.hrtimer_res.load(Ordering::Relaxed)
    } else if counter.in_set(clock::COARSE_MASK, id) {
        page.ext.coarse_res.load(Ordering::Relaxed)
    } else {
        return None;
    };
    if ns == 0 {
        return None;
    }
    Some(Timespec {
        tv_sec: 0,
        tv_nsec: i64::from(ns),
    })
}

/// Runs `read` inside `vd`'s seqlock until it saw a consistent page (Linux's
/// `vdso_read_begin`/`vdso_read_retry` around the loop body), or `None` if
/// the syscall must answer: `read` said so, or a writer held `seq` odd or
/// kept changing it for [`SPIN_LIMIT`] rounds.
///
/// `read` loads the raw fields only; what depends on their consistency is
/// computed by the caller on the returned value, after the loop. Every
/// full read goes through here; the straight paths ([`hres_straight`],
/// [`coarse_straight`]) run one round of their own and honour the
/// negative-control build (which skips the re-check of `seq`) as this does.
#[inline(always)]
fn read_seqlock<T>(
    vd: &VdsoData,
    mut read: impl FnMut() -> Option<T>,
) -> Option<T> {
    let mut rounds = SPIN_LIMIT;
    loop {
        // Acquire: the loads in `read` are not performed before this one.
        let seq = vd.seq.load(Ordering::Acquire);
        if seq & 1 == 0 {
            let value = read()?;
            // The data loads in `read` are complete before `seq` is read
            // again.
            fence(Ordering::Acquire);
            if cfg!(feature = "negative-control-no-seqlock-retry")
                || vd.seq.load(Ordering::Relaxed) == seq
            {
                return Some(value);
            }
        }
        // A writer is at work: rare, so laid out off the straight path.
        cold_path();
        rounds -= 1;
        if rounds == 0 {
            return None;
        }
        core::hint::spin_loop();
    }
}

/// A high-resolution clock: base time plus the counter's progress since the
/// last update (Linux's `do_hres`).
#[inline(always)]
fn hres<C: Counter + ?Sized, const STRAIGHT: bool>(
    vd: &VdsoData,
    id: usize,
    counter: &C,
) -> Option<Timespec> {
    let base = vd.basetime.get(id)?;
    if STRAIGHT {
        return hres_straight(vd, base, counter);
    }
    let (cycles, snap) = read_seqlock(vd, || {
        let source = source_for::<C>(vd.clock_mode.load(Ordering::Relaxed))?;
        Some((counter.read(source), counter.snapshot(vd, base)))
    })?;
    // Only a consistent snapshot reaches this point, so a torn `mult` or
    // `shift` can never make the result wrong.
    scaled(cycles, &snap)
}

/// The time `snap` stands for at `cycles`: [`scale`], then the seconds
/// carried out of the nanoseconds, or `None` if the page cannot be scaled.
#[inline(always)]
fn scaled(cycles: u64, snap: &Snapshot) -> Option<Timespec> {
    let ns = scale(
        cycles,
        snap.cycle_last,
        snap.mask,
        snap.mult,
        snap.shift,
        snap.nsec,
    )?;
    let sec = snap.sec;
    // The division is done after the seqlock round, on a consistent value:
    // a torn read could otherwise make it arbitrarily expensive (as Linux
    // notes). Between two ticks `ns` is below a second past `sec` almost
    // always.
    if ns < NSEC_PER_SEC {
        return Some(Timespec {
            tv_sec: sec as i64,
            tv_nsec: ns as i64,
        });
    }
    cold_path();
    let (whole, rest) = div_rem_nsec(ns);
    Some(Timespec {
        tv_sec: sec.wrapping_add(whole) as i64,
        tv_nsec: rest as i64,
    })
}

/// `seq` odd or any bit of `clock_mode`, in [`Counter::seq_and_mode`]'s word.
pub const ODD_OR_MODE: u64 = 0xffff_ffff_0000_0001;
/// That word's bits of [`ODD_OR_MODE`] for an even `seq` and
/// `CLOCKMODE_ARCHTIMER`: what the straight path serves.
pub const EVEN_ARCHTIMER: u64 = (CLOCKMODE_ARCHTIMER as u32 as u64) << 32;

/// [`hres`]'s straight path: one seqlock round, `CLOCKMODE_ARCHTIMER` only,
/// and one combined test of everything that makes the answer exact, so that
/// the common case pays one branch for all of it. `None` sends the caller
/// to the full read, which runs every round and every check of [`scale`]
/// (the 128-bit product included) and serves what this leaves: a writer at
/// work, the other counter modes, a page that needs the syscall, and the
/// rare reads this does not take (a masked delta of 0, or of half the
/// mask's range or more; a product of 2^64 or more, from a page not updated
/// for minutes; a time a second or more past `sec`).
///
/// The test, all on the values of this one round:
/// - `seq` and `clock_mode` unchanged (no writer came between);
/// - `delta < mask / 2`: the counter is not behind `cycle_last` (and `mask`
///   is not 0 or 1);
/// - `shift < 64`;
/// - `delta * mult < 2^64` (its high word is 0), and `low = delta * mult +
///   nsec mod 2^64 > nsec`: the sum did not wrap, and the product is not 0
///   (so `mult` is not 0);
/// - `low >> shift < NSEC_PER_SEC`, so no division is needed.
///
/// Together they are exactly the conditions under which [`scale`] returns
/// `low >> shift` and [`hres`] adds no seconds, minus the zero delta.
#[inline(always)]
fn hres_straight<C: Counter + ?Sized>(
    vd: &VdsoData,
    base: &VdsoTimestamp,
    counter: &C,
) -> Option<Timespec> {
    let begin = counter.seq_and_mode(vd);
    // A writer at work, or a mode other than ARCHTIMER: the counter is not
    // read (under `NONE` it may not be readable at EL0 at all).
    if !counter.even_archtimer(begin) {
        return None;
    }
    let cycles = counter.read_unordered(CounterSource::Virtual);
    let snap = counter.snapshot(vd, base);
    // The data loads are complete before `seq` is read again.
    fence(Ordering::Acquire);
    let end = counter.seq_and_mode_after(vd, cycles);
    let delta = cycles.wrapping_sub(snap.cycle_last) & snap.mask;
    let high = ((u128::from(delta) * u128::from(snap.mult)) >> 64) as u64;
    let low = delta.wrapping_mul(snap.mult).wrapping_add(snap.nsec);
    let ns = low.wrapping_shr(snap.shift as u32);
    // `&`, not `&&`: one flag chain (`ccmp`) and one branch, not five.
    let exact = (delta & !(snap.mask >> 1) == 0)
        & (cfg!(feature = "negative-control-no-seqlock-retry") | (end == begin))
        & (high | snap.shift >> 6 == 0)
        & (low > snap.nsec)
        & (ns < NSEC_PER_SEC);
    exact.then_some(Timespec {
        tv_sec: snap.sec as i64,
        tv_nsec: ns as i64,
    })
}

/// `(ns / NSEC_PER_SEC, ns % NSEC_PER_SEC)`.
///
/// A 64-bit arch divides. 32-bit Arm has no 64-bit divide, and the compiler
/// would call `__aeabi_uldivmod`, which the image cannot link; there this
/// is long division, one quotient bit per round: 35 rounds cover every
/// `u64` (`NSEC_PER_SEC << 34 < 2^64 <= NSEC_PER_SEC << 35`). Linux's
/// `__iter_div_u64_rem` subtracts one second per round instead, which takes
/// years of rounds on a page published once at boot and never again.
#[inline(always)]
pub fn div_rem_nsec(ns: u64) -> (u64, u64) {
    if cfg!(target_pointer_width = "64") {
        (ns / NSEC_PER_SEC, ns % NSEC_PER_SEC)
    } else {
        long_div_rem_nsec(ns)
    }
}

/// [`div_rem_nsec`] by long division, what 32-bit arches use (tested on
/// the host against `/` and `%`).
#[inline(always)]
pub fn long_div_rem_nsec(ns: u64) -> (u64, u64) {
    let (mut whole, mut rest) = (0, ns);
    let mut bit = 35;
    while bit > 0 {
        bit -= 1;
        let step = NSEC_PER_SEC << bit;
        if rest >= step {
            rest -= step;
            whole |= 1 << bit;
        }
    }
    (whole, rest)
}

/// `(((counter - last) & mask) * mult + nsec) >> shift` in 128 bits, or
/// `None` for a page that cannot be scaled (zero `mult` or `mask`, `shift`
/// of 64 or more: fields a kernel never wrote), for a counter that is behind
/// `cycle_last`, and for a result of 2^64 ns (584 years) or more, which
/// truncated would be a wrong time.
///
/// "Behind" means a masked delta in the upper half of the mask's range, as
/// Linux's `clocksource_delta` decides it: a counter read a little before
/// the writer's (a host clock stepped back under qemu-user, a writer that
/// published a counter value from the future) would otherwise wrap to a time
/// decades ahead. Linux's arm64 reader has no such guard; ours answers with
/// the syscall. The forward range left is half the mask: 36 years for a
/// 57-bit mask at 62.5 MHz.
#[inline(always)]
pub fn scale(cycles: u64, last: u64, mask: u64, mult: u64, shift: u64, nsec: u64) -> Option<u64> {
    if mult == 0 || mask == 0 || shift >= 64 {
        return None;
    }
    let delta = cycles.wrapping_sub(last) & mask;
    if delta > mask >> 1 {
        return None;
    }
    // At most (2^64 - 1) * (2^64 - 1) + 2^64 - 1 < 2^128: no overflow (a
    // page's `mult` is 32 bits; the product is 64 × 64 bits either way).
    let wide = u128::from(delta) * u128::from(mult) + u128::from(nsec);
    let (lo, hi) = (wide as u64, (wide >> 64) as u64);
    if hi == 0 {
        // Between two ticks the product fits in 64 bits.
        return Some(lo >> shift);
    }
    cold_path();
    // `wide >> shift` needs 64 bits or more: the syscall answers.
    if hi >> shift != 0 {
        return None;
    }
    // `wide >> shift` for 0 < shift < 64 (`hi` is 0 for shift = 0: checked
    // above), without the general 128-bit shift's case for shift >= 64.
    Some((lo >> shift) | (hi << (64 - shift)))
}

/// A coarse clock: the base time itself, no counter (Linux's `do_coarse`).
#[inline(always)]
fn coarse<C: Counter + ?Sized, const STRAIGHT: bool>(
    vd: &VdsoData,
    id: usize,
    counter: &C,
) -> Option<Timespec> {
    let base = vd.basetime.get(id)?;
    if STRAIGHT {
        return coarse_straight(vd, base, counter);
    }
    let (sec, nsec) = read_seqlock(vd, || {
        source_for::<C>(vd.clock_mode.load(Ordering::Relaxed))?;
        Some(counter.basetime(base))
    })?;
    Some(Timespec {
        tv_sec: sec as i64,
        tv_nsec: nsec as i64,
    })
}

/// [`coarse`]'s straight path: one seqlock round, `CLOCKMODE_ARCHTIMER`
/// only, opened as [`hres_straight`]'s. `None` sends the caller to the full
/// read.
#[inline(always)]
fn coarse_straight<C: Counter + ?Sized>(
    vd: &VdsoData,
    base: &VdsoTimestamp,
    counter: &C,
) -> Option<Timespec> {
    let begin = counter.seq_and_mode(vd);
    if !counter.even_archtimer(begin) {
        return None;
    }
    let (sec, nsec) = counter.basetime(base);
    // The data loads are complete before `seq` is read again.
    fence(Ordering::Acquire);
    let unchanged = cfg!(feature = "negative-control-no-seqlock-retry")
        || vd.seq.load(Ordering::Relaxed) == begin as u32;
    unchanged.then_some(Timespec {
        tv_sec: sec as i64,
        tv_nsec: nsec as i64,
    })
}
