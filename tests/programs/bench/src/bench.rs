//! The measurements, and the lines `cargo xtask bench` reads.
//!
//! # What is called
//!
//! Ten calls ([`ROWS`]), each through our image, Linux's image and the raw
//! syscall ([`VARIANTS`]): `clock_gettime` for the seven served clocks,
//! `gettimeofday(&tv, NULL)` (what most callers pass),
//! `clock_getres(MONOTONIC, &res)`, and `clock_gettime(REALTIME)` on a page
//! published once an hour before and never updated since
//! ([`Publication::HourOld`]): the promise to kernels that do not tick. Our
//! image divides the nanoseconds by a second once; Linux's
//! `__iter_div_u64_rem` subtracts a second per round, 3600 rounds. All three variants are called the same
//! way: through a function pointer with the C signature (the syscall's is a
//! small `extern "C"` function around `svc #0`), from a loop that does
//! nothing else, so the loop's own cost (a compare, a branch, `blr`) is the
//! same for all three.
//!
//! # How a sample is timed
//!
//! A sample is `CALLS` back-to-back calls, timed with the host's clock:
//! the raw `clock_gettime(CLOCK_MONOTONIC)` syscall ([`now`]) before and
//! after, which qemu-user answers with the host's `clock_gettime`, to the
//! nanosecond. Not `CNTVCT_EL0`: qemu-user derives it from the host's
//! `gettimeofday`, so although it claims 62.5 MHz (16 ns) it moves in
//! steps of 1 µs (62 or 63 ticks), 1 to 3 % of a sample (and the vDSO's
//! own clocks, computed from it, move in the same steps). The two syscalls
//! of the timer cost about 150 ns per sample whichever variant is timed:
//! less than 0.1 ns per call for 2000 calls, the same for all three.
//!
//! Each repeat runs every row once per variant, the variants in a rotating
//! order (ours, Linux's, syscall; then Linux's, syscall, ours; …) so that
//! no variant always runs first or after the syscall. Both writers tick
//! before every sample, as a kernel's timer does between a process's
//! calls: the coarse clocks move, and Linux's 64-bit product never gets
//! near its overflow (136 s after a tick at 62.5 MHz). The sample starts
//! once the counter has moved past the tick (at most 1 µs under qemu-user).
//!
//! # Output
//!
//! Both modes first check that every benchmarked call through each image
//! returns 0 with the page's answer (the published clocks are not the
//! host's: an image that fell back to the syscall would be caught, and
//! would be timed as a syscall); only Linux's image on the hour-old page
//! may answer wrongly (a `wrong` line says how). Then they print on stdout:
//!
//! ```text
//! image ours 0x7f12345000 1864        # image base and length in bytes
//! image linux 0x7f12349000 3336
//! wrong linux clock_gettime(REALTIME,1h-old) returned ...  # a wrong answer
//! calls 2000                          # time: calls per sample,
//! repeats 501                         #   repeats,
//! sample 0 clock_gettime(REALTIME) ours 97123  #   and ns per sample
//! call check ours clock_gettime(REALTIME)      # count: every call into an
//! call warmup ours clock_gettime(REALTIME)     #   image, in order: the
//! call count ours clock_gettime(REALTIME)      #   check's, then two passes
//! ```
//!
//! and `progress R/REPEATS` lines on stderr while timing.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::ptr::null_mut;

use loader::{clock, Config, CounterSource, Timespec, Timeval, IMAGE_LEN};
use vdso_dropin::pair::{Pair, Vdso};
use vdso_probe::report::ns;
use vdso_probe::{sys, ClockGetres, ClockGettime, Gettimeofday};

/// What a Linux kernel with `HZ=250` publishes as the coarse clocks'
/// resolution (and what Linux's image has compiled in).
const COARSE_RES: u32 = 4_000_000;

/// One benchmarked call.
#[derive(Clone, Copy)]
enum Function {
    /// `clock_gettime(id, &ts)`.
    Gettime(i32),
    /// `gettimeofday(&tv, NULL)`.
    Gettimeofday,
    /// `clock_getres(id, &res)`.
    Getres(i32),
}

/// How the page is written just before a sample.
#[derive(Clone, Copy)]
enum Publication {
    /// A tick, as a kernel's timer does between a process's calls.
    Ticked,
    /// Published once, an hour of counter cycles before now, not ticked
    /// since.
    HourOld,
}

/// The table's rows: a name (no spaces) and the call, on a ticked page.
const ROWS: [(&str, Function); 9] = [
    (
        "clock_gettime(REALTIME)",
        Function::Gettime(clock::REALTIME),
    ),
    (
        "clock_gettime(MONOTONIC)",
        Function::Gettime(clock::MONOTONIC),
    ),
    (
        "clock_gettime(MONOTONIC_RAW)",
        Function::Gettime(clock::MONOTONIC_RAW),
    ),
    (
        "clock_gettime(REALTIME_COARSE)",
        Function::Gettime(clock::REALTIME_COARSE),
    ),
    (
        "clock_gettime(MONOTONIC_COARSE)",
        Function::Gettime(clock::MONOTONIC_COARSE),
    ),
    (
        "clock_gettime(BOOTTIME)",
        Function::Gettime(clock::BOOTTIME),
    ),
    ("clock_gettime(TAI)", Function::Gettime(clock::TAI)),
    ("gettimeofday", Function::Gettimeofday),
    (
        "clock_getres(MONOTONIC)",
        Function::Getres(clock::MONOTONIC),
    ),
];

/// Every row: [`ROWS`] on a ticked page, then the hour-old page's.
fn rows() -> impl Iterator<Item = (&'static str, Function, Publication)> {
    let ticked = ROWS
        .into_iter()
        .map(|(name, f)| (name, f, Publication::Ticked));
    let hour_old = (
        "clock_gettime(REALTIME,1h-old)",
        Function::Gettime(clock::REALTIME),
        Publication::HourOld,
    );
    ticked.chain([hour_old])
}

/// Writes the page as `publication` says.
fn prepare(pair: &mut Pair, publication: Publication) {
    match publication {
        Publication::Ticked => {
            pair.tick();
            // qemu-user's counter moves in 1 µs steps (module docs): the
            // calls start once it has moved past the tick, as on hardware,
            // where it moves every few ns and a tick is microseconds away
            // from a process's next call. Our straight path leaves a read
            // at `cycle_last` itself to the full read.
            let ticked = pair.counter();
            while pair.counter() == ticked {
                std::hint::spin_loop();
            }
        }
        Publication::HourOld => {
            // The clocks as they are now, published as if read an hour
            // ago: the page's answers run an hour ahead of the writer's
            // previous ones, which the check and the timing do not mind.
            let mut clocks = pair.clocks();
            clocks.counter -= 3600 * pair.frequency;
            pair.publish(clocks);
        }
    }
}

/// The three ways to make a call.
#[derive(Clone, Copy)]
enum Variant {
    Ours,
    Linux,
    Syscall,
}

/// In the order of the first repeat.
const VARIANTS: [Variant; 3] = [Variant::Ours, Variant::Linux, Variant::Syscall];

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Ours => "ours",
            Variant::Linux => "linux",
            Variant::Syscall => "syscall",
        }
    }
}

/// The three functions of one variant.
#[derive(Clone, Copy)]
struct Entry {
    gettime: ClockGettime,
    gettimeofday: Gettimeofday,
    getres: ClockGetres,
}

impl Entry {
    fn image(vdso: &Vdso) -> Entry {
        Entry {
            gettime: vdso.gettime,
            gettimeofday: vdso.gettimeofday,
            getres: vdso.getres,
        }
    }

    fn of(variant: Variant, pair: &Pair) -> Entry {
        match variant {
            Variant::Ours => Entry::image(&pair.ours),
            Variant::Linux => Entry::image(&pair.linux),
            Variant::Syscall => SYSCALL,
        }
    }
}

/// The raw syscalls, with the images' C signatures.
const SYSCALL: Entry = Entry {
    gettime: sys_clock_gettime,
    gettimeofday: sys_gettimeofday,
    getres: sys_clock_getres,
};

extern "C" fn sys_clock_gettime(id: i32, ts: *mut Timespec) -> i32 {
    sys::clock_gettime(id, ts)
}

extern "C" fn sys_gettimeofday(tv: *mut Timeval, tz: *mut loader::Timezone) -> i32 {
    sys::gettimeofday(tv, tz)
}

extern "C" fn sys_clock_getres(id: i32, res: *mut Timespec) -> i32 {
    sys::clock_getres(id, res)
}

/// The host's `CLOCK_MONOTONIC` in ns, through the raw syscall (see the
/// module docs).
fn now() -> u64 {
    let mut ts = Timespec::default();
    sys::clock_gettime(clock::MONOTONIC, &mut ts);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

// The three timing loops. `black_box` hides the function pointer, so the
// compiler cannot inline the syscall wrapper into its loop: every variant
// pays for the same indirect call.
//
// SAFETY (for each call below): the pointer is one of an [`Entry`]'s: an
// image's function found by `vdso_dropin::pair` (see its Safety section) or
// a syscall wrapper, with this C signature; the buffers are ours and the
// unused `tz` is null, which both images and the kernel accept.

#[inline(never)]
fn time_gettime(f: ClockGettime, id: i32, calls: u32) -> u64 {
    let f = black_box(f);
    let mut ts = Timespec::default();
    let start = now();
    for _ in 0..calls {
        // SAFETY: see above.
        unsafe { f(id, &mut ts) };
    }
    let end = now();
    black_box(ts);
    end.wrapping_sub(start)
}

#[inline(never)]
fn time_gettimeofday(f: Gettimeofday, calls: u32) -> u64 {
    let f = black_box(f);
    let mut tv = Timeval::default();
    let start = now();
    for _ in 0..calls {
        // SAFETY: see above.
        unsafe { f(&mut tv, null_mut()) };
    }
    let end = now();
    black_box(tv);
    end.wrapping_sub(start)
}

#[inline(never)]
fn time_getres(f: ClockGetres, id: i32, calls: u32) -> u64 {
    let f = black_box(f);
    let mut res = Timespec::default();
    let start = now();
    for _ in 0..calls {
        // SAFETY: see above.
        unsafe { f(id, &mut res) };
    }
    let end = now();
    black_box(res);
    end.wrapping_sub(start)
}

/// Nanoseconds for `calls` calls of `function` through `entry`.
fn sample(entry: Entry, function: Function, calls: u32) -> u64 {
    match function {
        Function::Gettime(id) => time_gettime(entry.gettime, id, calls),
        Function::Gettimeofday => time_gettimeofday(entry.gettimeofday, calls),
        Function::Getres(id) => time_getres(entry.getres, id, calls),
    }
}

/// Maps both images, publishes the drop-in test's clocks, checks that both
/// answer every row from the page and prints the `image` lines. Returns the
/// pair and the check's calls into the images, as `call check ...` lines.
fn setup(linux_path: &Path) -> Result<(Pair, Vec<String>), String> {
    let linux_image =
        std::fs::read(linux_path).map_err(|e| format!("{}: {e}", linux_path.display()))?;
    let config = Config {
        coarse_res: COARSE_RES,
        ..Config::new(CounterSource::Virtual, loader::arch::frequency())
    };
    // `cargo xtask bench --ecv` asks for our FEAT_ECV image as `ours`.
    let ours = match std::env::var("VDSO_BENCH_OURS").as_deref() {
        Ok("ecv") => loader::ecv::IMAGE_PADDED,
        _ => loader::IMAGE_PADDED,
    };
    let mut pair = Pair::map_with(ours, &linux_image, config)?;
    let clocks = pair.clocks();
    pair.publish(clocks);
    let mut calls = Vec::new();
    for variant in [Variant::Ours, Variant::Linux] {
        for (name, function, publication) in rows() {
            prepare(&mut pair, publication);
            let vdso = match variant {
                Variant::Linux => &pair.linux,
                _ => &pair.ours,
            };
            match served_from_the_page(&pair, vdso, function) {
                Ok(()) => {}
                // The promise Linux's image cannot keep: without an update
                // its 64-bit product overflows (after 36 minutes at 62.5
                // MHz), and it answers a wrong time. Timed all the same,
                // and reported.
                Err(e)
                    if matches!(
                        (variant, publication),
                        (Variant::Linux, Publication::HourOld)
                    ) =>
                {
                    println!("wrong linux {name} {e}");
                }
                Err(e) => return Err(format!("{name} through {} image: {e}", vdso.name)),
            }
            calls.push(format!("call check {} {name}", variant.name()));
        }
    }
    let out = &mut std::io::stdout().lock();
    for (name, vdso, len) in [
        ("ours", &pair.ours, IMAGE_LEN),
        ("linux", &pair.linux, linux_image.len()),
    ] {
        writeln!(out, "image {name} {:#x} {len}", vdso.layout.image).map_err(|e| e.to_string())?;
    }
    Ok((pair, calls))
}

/// One call of `function` through `vdso` returns 0 and the page's answer:
/// a time between the writer's own at the counter before and after (the
/// published clocks are not the host's), the published resolution.
fn served_from_the_page(pair: &Pair, vdso: &Vdso, function: Function) -> Result<(), String> {
    let (id, c0, (ret, got), c1) = match function {
        Function::Gettime(id) => (id, pair.counter(), vdso.clock_gettime(id), pair.counter()),
        Function::Gettimeofday => {
            let c0 = pair.counter();
            let (ret, tv, _) = vdso.gettimeofday();
            let ts = Timespec {
                tv_sec: tv.tv_sec,
                tv_nsec: tv.tv_usec * 1000,
            };
            (clock::REALTIME, c0, (ret, ts), pair.counter())
        }
        Function::Getres(id) => {
            // The published `hrtimer_res` (Config::new's 1 ns).
            let (ret, res) = vdso.clock_getres(id);
            return match (ret, ns(res)) {
                (0, 1) => Ok(()),
                other => Err(format!("returned {other:?}, not (0, 1 ns)")),
            };
        }
    };
    let lo = pair.expected(id, c0)?;
    let hi = pair.expected(id, c1)?;
    let lo = if matches!(function, Function::Gettimeofday) {
        lo / 1000 * 1000
    } else {
        lo
    };
    if ret != 0 || !(lo <= ns(got) && ns(got) <= hi) {
        return Err(format!(
            "returned {ret}, {} ns, not the page's time ({lo}..={hi} ns)",
            ns(got)
        ));
    }
    Ok(())
}

/// `time` mode: see the module docs. Returns the exit status.
pub fn time(linux_path: &Path, repeats: u32, calls: u32) -> i32 {
    let mut pair = match setup(linux_path) {
        Ok((pair, _)) => pair,
        Err(e) => {
            eprintln!("vdso-bench: {e}");
            return 1;
        }
    };
    println!("calls {calls}");
    println!("repeats {repeats}");
    for repeat in 0..repeats as usize {
        eprintln!("progress {}/{repeats}", repeat + 1);
        for (name, function, publication) in rows() {
            for k in 0..VARIANTS.len() {
                let variant = VARIANTS[(repeat + k) % VARIANTS.len()];
                let entry = Entry::of(variant, &pair);
                prepare(&mut pair, publication);
                let ns = sample(entry, function, calls);
                println!("sample {repeat} {name} {} {ns}", variant.name());
            }
        }
    }
    0
}

/// `count` mode: see the module docs. Returns the exit status.
pub fn count(linux_path: &Path) -> i32 {
    let (mut pair, mut calls) = match setup(linux_path) {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("vdso-bench: {e}");
            return 1;
        }
    };
    for pass in ["warmup", "count"] {
        for (name, function, publication) in rows() {
            for variant in [Variant::Ours, Variant::Linux] {
                // A tick just before, as in `time`: the call takes the
                // common path. Long after a tick, a high-resolution clock
                // may have crossed into the next second since, and both
                // images then run a few more instructions to carry it
                // (which the hour-old row measures).
                prepare(&mut pair, publication);
                black_box(sample(Entry::of(variant, &pair), function, 1));
                calls.push(format!("call {pass} {} {name}", variant.name()));
            }
        }
    }
    for call in calls {
        println!("{call}");
    }
    0
}
