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
//! - These checks cost the common case one flag chain: each export first
//!   runs a straight path ([`clock_gettime_once`]) that tests them all at
//!   once on one seqlock round, and hands anything unusual to the full read
//!   ([`clock_gettime_from`]), with its round if it read the counter.

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
    /// with acquire ordering: the opening of a straight path's seqlock
    /// round. The default loads them one by one; an arch may load the word
    /// with one acquire load.
    #[inline(always)]
    fn seq_and_mode(&self, vd: &VdsoData) -> u64 {
        let seq = vd.seq.load(Ordering::Acquire);
        let mode = vd.clock_mode.load(Ordering::Relaxed);
        seq_and_mode_word(seq, mode)
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
    /// a straight path's round. aarch64 makes the load's address depend on
    /// `cycles`, which is Linux's `arch_counter_enforce_ordering` without
    /// the extra load. The default loads the two fields one by one.
    #[inline(always)]
    fn seq_and_mode_after(&self, vd: &VdsoData, cycles: u64) -> u64 {
        let _ = cycles;
        let seq = vd.seq.load(Ordering::Relaxed);
        let mode = vd.clock_mode.load(Ordering::Relaxed);
        seq_and_mode_word(seq, mode)
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

/// A straight path's round that read the counter but could not answer
/// (its one test failed): the full read takes it as its first round
/// ([`clock_gettime_from`]), so the counter is not read again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    /// The counter value the round read.
    pub cycles: u64,
    /// The [`Counter::seq_and_mode`] word that opened the round.
    pub begin: u64,
}

impl Counted {
    /// No round: what the full read starts from when no straight path read
    /// the counter. Its `begin` has `seq` odd, as no straight path's round
    /// has. (A value rather than an `Option`, so that it travels in two
    /// registers to the out-of-line full read.)
    pub const NONE: Counted = Counted {
        cycles: 0,
        begin: 1,
    };

    /// `self`, unless it is [`Counted::NONE`].
    #[inline(always)]
    pub fn given(self) -> Option<Counted> {
        (self.begin & 1 == 0).then_some(self)
    }
}

/// What a straight path ([`clock_gettime_once`], [`gettimeofday_once`])
/// found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Once<T> {
    /// The answer.
    Done(T),
    /// A round the full read finishes.
    Counted(Counted),
    /// Not on the straight path (a writer at work, another counter mode, an
    /// id the page does not serve): the full read answers from scratch.
    Skipped,
}

/// Where the page keeps a served clock: the `vdso_data` and base time of a
/// clock computed from the counter, or of a coarse one.
enum Slot<'a> {
    Counter(&'a VdsoData, &'a VdsoTimestamp),
    Coarse(&'a VdsoData, &'a VdsoTimestamp),
}

/// The slot of `clock`, or `None` for the ids the page does not serve.
#[inline(always)]
fn slot<'a, C: Counter + ?Sized>(page: &'a DataPage, clock: i32, counter: &C) -> Option<Slot<'a>> {
    let id = clock_index(clock)?;
    // The commonest calls first: the high-resolution clocks, then the
    // coarse ones (whose whole read is a few instructions, so one set test
    // more would show), then `MONOTONIC_RAW`. (It is one id, but `id == 4`
    // would let the compiler specialise a second copy of `hres` for it.)
    // Both counter-based `vdso_data`s go through one copy of `hres`.
    let (vd, coarse) = if counter.in_set(clock::HRES_MASK, id) {
        (&page.data[CS_HRES_COARSE], false)
    } else if counter.in_set(clock::COARSE_MASK, id) {
        (&page.data[CS_HRES_COARSE], true)
    } else if counter.in_set(clock::RAW_MASK, id) {
        (&page.data[CS_RAW], false)
    } else {
        return None;
    };
    let base = vd.basetime.get(id as usize)?;
    Some(if coarse {
        Slot::Coarse(vd, base)
    } else {
        Slot::Counter(vd, base)
    })
}

/// Reads `clock` from the page, or `None` if the syscall must answer.
#[inline(always)]
pub fn clock_gettime<C: Counter + ?Sized>(
    page: &DataPage,
    clock: i32,
    counter: &C,
) -> Option<Timespec> {
    clock_gettime_from(page, clock, counter, Counted::NONE)
}

/// [`clock_gettime`], whose first round is `first` unless that is
/// [`Counted::NONE`]: a straight path's [`Once::Counted`] round of the same
/// clock.
#[inline(always)]
pub fn clock_gettime_from<C: Counter + ?Sized>(
    page: &DataPage,
    clock: i32,
    counter: &C,
    first: Counted,
) -> Option<Timespec> {
    match slot(page, clock, counter)? {
        Slot::Counter(vd, base) => hres(vd, base, counter, first),
        Slot::Coarse(vd, base) => coarse(vd, base, counter),
    }
}

/// [`clock_gettime`]'s straight path: one seqlock round and Linux's
/// `ARCHTIMER` mode. What the image tries first, inlined; otherwise the
/// caller runs [`clock_gettime_from`] out of line, with the
/// [`Once::Counted`] round if there is one.
#[inline(always)]
pub fn clock_gettime_once<C: Counter + ?Sized>(
    page: &DataPage,
    clock: i32,
    counter: &C,
) -> Once<Timespec> {
    match slot(page, clock, counter) {
        Some(Slot::Counter(vd, base)) => hres_straight(vd, base, counter),
        Some(Slot::Coarse(vd, base)) => coarse_straight(vd, base, counter),
        None => Once::Skipped,
    }
}

/// `CLOCK_REALTIME` as a `timeval`, or `None` if the syscall must answer.
#[inline(always)]
pub fn gettimeofday<C: Counter + ?Sized>(page: &DataPage, counter: &C) -> Option<Timeval> {
    let (vd, base) = realtime(page);
    hres(vd, base, counter, Counted::NONE).map(timeval)
}

/// [`gettimeofday`]'s straight path, as [`clock_gettime_once`].
#[inline(always)]
pub fn gettimeofday_once<C: Counter + ?Sized>(page: &DataPage, counter: &C) -> Once<Timeval> {
    let (vd, base) = realtime(page);
    match hres_straight(vd, base, counter) {
        Once::Done(ts) => Once::Done(timeval(ts)),
        Once::Counted(round) => Once::Counted(round),
        Once::Skipped => Once::Skipped,
    }
}

/// `CLOCK_REALTIME`'s `vdso_data` and base time.
#[inline(always)]
fn realtime(page: &DataPage) -> (&VdsoData, &VdsoTimestamp) {
    let vd = &page.data[CS_HRES_COARSE];
    (vd, &vd.basetime[clock::REALTIME as usize])
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
    first: Option<u32>,
    mut read: impl FnMut() -> Option<T>,
) -> Option<T> {
    let mut rounds = SPIN_LIMIT;
    let mut given = first;
    loop {
        // Acquire: the loads in `read` are not performed before this one.
        // A given first round's `seq` was so loaded, by a straight path.
        let seq = match given.take() {
            Some(seq) => seq,
            None => vd.seq.load(Ordering::Acquire),
        };
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
fn hres<C: Counter + ?Sized>(
    vd: &VdsoData,
    base: &VdsoTimestamp,
    counter: &C,
    first: Counted,
) -> Option<Timespec> {
    let first = first.given();
    // A given first round read the counter already (after its `seq` load,
    // and before a load of `seq` that still saw it, so the re-check of
    // `seq` below covers it too).
    let mut given = first.map(|round| round.cycles);
    let (cycles, snap) = read_seqlock(vd, first.map(|round| round.begin as u32), || {
        let source = source_for::<C>(vd.clock_mode.load(Ordering::Relaxed))?;
        let cycles = match given.take() {
            Some(cycles) => cycles,
            None => counter.read(source),
        };
        Some((cycles, counter.snapshot(vd, base)))
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
pub const EVEN_ARCHTIMER: u64 = seq_and_mode_word(0, CLOCKMODE_ARCHTIMER);

/// `seq` and `clock_mode` as [`Counter::seq_and_mode`] gives them: one
/// little-endian 64-bit word, `seq` in the low half.
const fn seq_and_mode_word(seq: u32, mode: i32) -> u64 {
    seq as u64 | (mode as u32 as u64) << 32
}

/// Opens a straight path's seqlock round: the [`Counter::seq_and_mode`]
/// word, if `seq` is even and `clock_mode` is `CLOCKMODE_ARCHTIMER`.
#[inline(always)]
fn open_round<C: Counter + ?Sized>(vd: &VdsoData, counter: &C) -> Option<u64> {
    let begin = counter.seq_and_mode(vd);
    counter.even_archtimer(begin).then_some(begin)
}

/// [`hres`]'s straight path: one seqlock round, `CLOCKMODE_ARCHTIMER` only,
/// and one combined test of everything that makes the answer exact without
/// more arithmetic, so that the common case pays one branch for all of it.
///
/// The test, all on the values of this one round:
/// - `seq` and `clock_mode` unchanged (no writer came between);
/// - `delta & !(mask >> 1) == 0`: the delta lies within half the mask, so
///   the counter is not behind `cycle_last` (for a mask `2^n - 1`, the
///   only kind a kernel writes, exactly `delta <= mask / 2`);
/// - `delta < 2^32`, so `delta * mult` (`mult` is 32 bits) is below 2^64:
///   68 s of a 62.5 MHz counter, 4.2 s of a 1 GHz one, far more than a
///   kernel leaves between two updates;
/// - `shift < 64`;
/// - `low = delta * mult + nsec mod 2^64 > nsec`: the sum did not wrap, and
///   the product is not 0 (so neither `mult` nor `mask` is 0);
/// - `low >> shift < NSEC_PER_SEC`, so no second is carried.
///
/// Together they are conditions under which [`scale`] returns `low >> shift`
/// and [`scaled`] carries no second. What fails them is rare: a counter
/// still at `cycle_last`, a page not updated for a minute, a second carried,
/// or a page the syscall must answer. Then the full read answers, which runs
/// every round and every check of [`scale`], starting with this round if
/// the counter was read ([`Once::Counted`]; [`Once::Skipped`]: a writer at
/// work, another counter mode).
#[inline(always)]
fn hres_straight<C: Counter + ?Sized>(
    vd: &VdsoData,
    base: &VdsoTimestamp,
    counter: &C,
) -> Once<Timespec> {
    // A writer at work, or a mode other than ARCHTIMER: the counter is not
    // read (under `NONE` it may not be readable at EL0 at all).
    let Some(begin) = open_round(vd, counter) else {
        return Once::Skipped;
    };
    let cycles = counter.read_unordered(CounterSource::Virtual);
    let snap = counter.snapshot(vd, base);
    // The data loads are complete before `seq` is read again.
    fence(Ordering::Acquire);
    let end = counter.seq_and_mode_after(vd, cycles);
    let delta = cycles.wrapping_sub(snap.cycle_last) & snap.mask;
    let low = delta.wrapping_mul(snap.mult).wrapping_add(snap.nsec);
    let ns = low.wrapping_shr(snap.shift as u32);
    // Zero when no writer came between, the delta lies within half the
    // mask and below 2^32 (so the product of it and the 32-bit `mult` is
    // below 2^64), and `shift` is below 64: one word, tested once. (Tests
    // that set flags cost most under emulation: this word replaces four.)
    let changed = if cfg!(feature = "negative-control-no-seqlock-retry") {
        0
    } else {
        end ^ begin
    };
    let outside = changed | (snap.shift >> 6) | ((delta >> 32) | (delta & !(snap.mask >> 1)));
    // `&`, not `&&`: one flag chain (`ccmp`) and one branch, not three.
    let exact = (outside == 0) & (low > snap.nsec) & (ns < NSEC_PER_SEC);
    if exact {
        return Once::Done(Timespec {
            tv_sec: snap.sec as i64,
            tv_nsec: ns as i64,
        });
    }
    Once::Counted(Counted { cycles, begin })
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
fn coarse<C: Counter + ?Sized>(
    vd: &VdsoData,
    base: &VdsoTimestamp,
    counter: &C,
) -> Option<Timespec> {
    let (sec, nsec) = read_seqlock(vd, None, || {
        source_for::<C>(vd.clock_mode.load(Ordering::Relaxed))?;
        Some(counter.basetime(base))
    })?;
    Some(Timespec {
        tv_sec: sec as i64,
        tv_nsec: nsec as i64,
    })
}

/// [`coarse`]'s straight path: one seqlock round, `CLOCKMODE_ARCHTIMER`
/// only, opened as [`hres_straight`]'s. [`Once::Skipped`] sends the caller
/// to the full read.
#[inline(always)]
fn coarse_straight<C: Counter + ?Sized>(
    vd: &VdsoData,
    base: &VdsoTimestamp,
    counter: &C,
) -> Once<Timespec> {
    let Some(begin) = open_round(vd, counter) else {
        return Once::Skipped;
    };
    let (sec, nsec) = counter.basetime(base);
    // The data loads are complete before `seq` is read again.
    fence(Ordering::Acquire);
    let unchanged = cfg!(feature = "negative-control-no-seqlock-retry")
        || vd.seq.load(Ordering::Relaxed) == begin as u32;
    if !unchanged {
        return Once::Skipped;
    }
    Once::Done(Timespec {
        tv_sec: sec as i64,
        tv_nsec: nsec as i64,
    })
}
