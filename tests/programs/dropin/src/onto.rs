//! `vdso-dropin --onto-own [bench]`: our image in place of a running Linux's
//! own vDSO, on the data page that kernel writes.
//!
//! Run as a plain program inside a Linux (the test boots Debian's 6.12 in
//! `qemu-system-aarch64`), it finds the vDSO the kernel mapped into it
//! (`AT_SYSINFO_EHDR`, `[vdso]` in `/proc/self/maps`, with `[vvar]` the two
//! pages right below it, as Linux arm64 lays them out and our image
//! expects) and runs the same checks twice:
//!
//! 1. on **Linux's own image**, where the kernel put it;
//! 2. on **ours**, copied over Linux's text (`MAP_FIXED`, same address), so
//!    that it reads the `[vvar]` page the kernel itself keeps writing.
//!
//! The checks hold each image to the syscall: every served clock lies
//! between two raw `clock_gettime` syscalls (the coarse ones between two
//! coarse syscalls), `gettimeofday` likewise with the kernel's timezone,
//! `clock_getres` equals the syscall for every id, the ids no vDSO serves
//! answer as the syscall, and `__kernel_getrandom`'s params call, its reads
//! (distinct, from a state mapped with the flags it asks for: real
//! `MAP_DROPPABLE` here) and its errors answer alike. Between two markers per
//! image (`faccessat(AT_FDCWD, "/", MODE)` with [`WINDOW_MODES`]) it calls
//! every function 100 times with no syscall of its own: the test reads the
//! kernel's trace and requires the same of both images (no clock syscall,
//! at most one getrandom syscall: a kernel reseed during the window).
//!
//! With `bench`, instead of the checks, it times getrandom of 32 and 4096
//! bytes through Linux's image, ours and the raw syscall, interleaved, and
//! prints the samples as `cargo xtask bench`'s time run does
//! ([`run_bench`]).
//!
//! # Safety
//!
//! Calling into the images: each function address is found by symbol and
//! version (`parse_vdso`) in an image mapped executable at the kernel's vDSO
//! address, with the kernel's `[vvar]` readable two pages below it, and has
//! the C signature of the syscall it replaces. Replacing Linux's text is
//! sound because nothing of this program refers to it after the first phase
//! (its functions are looked up again in our image) and the libc of this
//! static program (glibc 2.36) calls only `clock_gettime` through it, which
//! our image serves as Linux's does at the same address.

use std::collections::HashSet;
use std::ptr::null_mut;

use loader::{clock, Timespec, Timeval, Timezone, IMAGE_PADDED};
use vdso_linux_sys::aarch64::{
    NR_CLOCK_GETRES, NR_CLOCK_GETTIME, NR_FACCESSAT, NR_GETRANDOM, NR_GETTIMEOFDAY, NR_MMAP,
};
use vdso_linux_sys::syscall;
use vdso_probe::report::{ensure, ns, Report};
use vdso_probe::{sys, ClockGetres, ClockGettime, Gettimeofday};
use vdso_tests::clients::parse_vdso;
use vdso_tests::Mapping;

use vdso_dropin::pair::VERSION;

/// `ssize_t __kernel_getrandom(void *, size_t, unsigned int, void *, size_t)`.
type Getrandom = unsafe extern "C" fn(*mut u8, usize, u32, *mut u8, usize) -> isize;

/// `faccessat` modes of the window markers: Linux's image begin, end, then
/// ours (invalid modes: the kernel answers `-EINVAL` and does nothing).
pub const WINDOW_MODES: [u64; 4] = [0x7670, 0x7671, 0x7672, 0x7673];
/// `AT_SYSINFO_EHDR`.
const AT_SYSINFO_EHDR: u64 = 33;
/// Ids no vDSO serves: CPU-time and alarm clocks, invalid ids.
const NOT_SERVED: [i32; 9] = [-1, 12345, 2, 3, 8, 9, 10, 16, i32::MIN];
/// Calls of each function in a window.
const WINDOW_CALLS: usize = 100;

extern "C" {
    /// glibc's `getauxval(3)`.
    fn getauxval(kind: u64) -> u64;
}

/// One image's functions.
struct Image {
    name: &'static str,
    gettime: ClockGettime,
    gettimeofday: Gettimeofday,
    getres: ClockGetres,
    getrandom: Getrandom,
}

impl Image {
    /// The functions of the image mapped at `base` (`len` bytes), found as
    /// a client finds them.
    fn at(name: &'static str, base: usize, len: usize) -> Result<Image, String> {
        // SAFETY: `len` bytes at `base` are the vDSO mapping, readable for
        // as long as this value is used (module docs).
        let bytes = unsafe { std::slice::from_raw_parts(base as *const u8, len) };
        let mapping = Mapping::new(bytes, base as u64);
        let find = |function: &str| {
            parse_vdso::lookup(&mapping, VERSION, function)
                .map(|a| a as usize)
                .map_err(|e| format!("{name}: {function}@{VERSION}: {e}"))
        };
        let addresses = [
            find("__kernel_clock_gettime")?,
            find("__kernel_gettimeofday")?,
            find("__kernel_clock_getres")?,
            find("__kernel_getrandom")?,
        ];
        // SAFETY: see the module's Safety section.
        unsafe {
            Ok(Image {
                name,
                gettime: std::mem::transmute::<usize, ClockGettime>(addresses[0]),
                gettimeofday: std::mem::transmute::<usize, Gettimeofday>(addresses[1]),
                getres: std::mem::transmute::<usize, ClockGetres>(addresses[2]),
                getrandom: std::mem::transmute::<usize, Getrandom>(addresses[3]),
            })
        }
    }

    fn time(&self, id: i32) -> (i32, Timespec) {
        let mut ts = Timespec::default();
        // SAFETY: module docs; `ts` is ours.
        (unsafe { (self.gettime)(id, &mut ts) }, ts)
    }

    fn res(&self, id: i32) -> (i32, Timespec) {
        let mut ts = Timespec::default();
        // SAFETY: module docs; `ts` is ours.
        (unsafe { (self.getres)(id, &mut ts) }, ts)
    }

    fn timeofday(&self) -> (i32, Timeval, Timezone) {
        let (mut tv, mut tz) = (Timeval::default(), Timezone::default());
        // SAFETY: module docs; both are ours.
        (unsafe { (self.gettimeofday)(&mut tv, &mut tz) }, tv, tz)
    }

    fn random(&self, buf: &mut [u8], flags: u32, state: *mut u8, len: usize) -> isize {
        // SAFETY: module docs; `buf` is ours, `state` NULL or ours.
        unsafe { (self.getrandom)(buf.as_mut_ptr(), buf.len(), flags, state, len) }
    }
}

/// The kernel's own vDSO: its address and the length of its mapping.
fn own_vdso() -> Result<(usize, usize), String> {
    // SAFETY: glibc's getauxval reads the aux vector; no memory is written.
    let base = unsafe { getauxval(AT_SYSINFO_EHDR) } as usize;
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(|e| format!("maps: {e}"))?;
    let range = |name: &str| {
        maps.lines().find(|l| l.ends_with(name)).and_then(|l| {
            let (start, end) = l.split_whitespace().next()?.split_once('-')?;
            Some((
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
            ))
        })
    };
    let (vdso, vvar) = (range("[vdso]"), range("[vvar]"));
    match (vdso, vvar) {
        (Some((start, end)), Some((_, vvar_end))) if start == base && vvar_end == base => {
            Ok((base, end - start))
        }
        _ => Err(format!(
            "AT_SYSINFO_EHDR {base:#x}, [vdso] {vdso:x?}, [vvar] {vvar:x?}: not Linux arm64's layout"
        )),
    }
}

/// Copies our image over the kernel's vDSO text at `base` (`len` bytes).
fn replace_with_ours(base: usize, len: usize) -> Result<(), String> {
    if IMAGE_PADDED.len() > len {
        return Err(format!(
            "our image is {} bytes, the kernel's mapping {len}",
            IMAGE_PADDED.len()
        ));
    }
    // SAFETY: MAP_FIXED over the kernel's vDSO text only (module docs: none
    // of this program's code runs in it meanwhile).
    let ret = unsafe { syscall(NR_MMAP, [base as u64, len as u64, 3, 0x32, u64::MAX, 0]) };
    if ret as usize != base {
        return Err(format!("mmap(MAP_FIXED) over [vdso]: {ret}"));
    }
    // SAFETY: `base` is now our fresh, writable `len`-byte mapping.
    unsafe {
        std::ptr::copy_nonoverlapping(IMAGE_PADDED.as_ptr(), base as *mut u8, IMAGE_PADDED.len())
    };
    sys::sync_icache(base, IMAGE_PADDED.len());
    // SAFETY: from now on only read and executed.
    let ret = unsafe { sys::mprotect(base, len, sys::PROT_READ | sys::PROT_EXEC) };
    if ret != 0 {
        return Err(format!("mprotect: {ret}"));
    }
    Ok(())
}

/// A raw syscall with up to three arguments.
fn raw(nr: u32, a: u64, b: u64, c: u64) -> i64 {
    // SAFETY: callers pass their own buffers or NULL; the kernel checks.
    unsafe { syscall(nr, [a, b, c, 0, 0, 0]) }
}

fn sys_time(id: i32) -> (i32, Timespec) {
    let mut ts = Timespec::default();
    let ret = raw(NR_CLOCK_GETTIME, id as u64, &mut ts as *mut _ as u64, 0);
    (ret as i32, ts)
}

fn sys_res(id: i32) -> (i32, Timespec) {
    let mut ts = Timespec::default();
    let ret = raw(NR_CLOCK_GETRES, id as u64, &mut ts as *mut _ as u64, 0);
    (ret as i32, ts)
}

/// The served clocks: each between two syscalls of its own id (the coarse
/// ones too: their syscall reads the same tick).
fn check_clocks(image: &Image, report: &mut Report) {
    for id in clock::SERVED {
        let (before, (ret, ts), after) = (sys_time(id).1, image.time(id), sys_time(id).1);
        report.check(
            &format!(
                "{}: clock_gettime({id}) lies between two syscalls",
                image.name
            ),
            ensure(
                ret == 0 && ns(before) <= ns(ts) && ns(ts) <= ns(after),
                || format!("returned {ret}: {before:?} <= {ts:?} <= {after:?}"),
            ),
        );
    }
    for id in clock::SERVED.into_iter().chain(NOT_SERVED) {
        let (ours, kernel) = (image.res(id), sys_res(id));
        report.check(
            &format!("{}: clock_getres({id}) equals the syscall", image.name),
            ensure(ours == kernel, || format!("{ours:?} vs {kernel:?}")),
        );
    }
    for id in NOT_SERVED {
        let (ret, _) = image.time(id);
        let (kernel, _) = sys_time(id);
        report.check(
            &format!("{}: clock_gettime({id}) answers as the syscall", image.name),
            ensure(ret == kernel, || format!("{ret} vs {kernel}")),
        );
    }
    let (mut tv0, mut tz0, mut tv1) = (Timeval::default(), Timezone::default(), Timeval::default());
    raw(
        NR_GETTIMEOFDAY,
        &mut tv0 as *mut _ as u64,
        &mut tz0 as *mut _ as u64,
        0,
    );
    let (ret, tv, tz) = image.timeofday();
    raw(NR_GETTIMEOFDAY, &mut tv1 as *mut _ as u64, 0, 0);
    let us = |t: Timeval| i128::from(t.tv_sec) * 1_000_000 + i128::from(t.tv_usec);
    report.check(
        &format!(
            "{}: gettimeofday lies between two syscalls, with their timezone",
            image.name
        ),
        ensure(
            ret == 0 && us(tv0) <= us(tv) && us(tv) <= us(tv1) && tz == tz0,
            || format!("returned {ret}: {tv0:?} <= {tv:?} <= {tv1:?}, {tz:?} vs {tz0:?}"),
        ),
    );
}

/// A getrandom state, mapped as the params call says; `None` with the
/// reason if the call or the mapping fails.
fn state(image: &Image) -> Result<*mut u8, String> {
    let mut params = [0u32; 16];
    // SAFETY: module docs; the params call writes 64 bytes at `params`.
    let ret =
        unsafe { (image.getrandom)(null_mut(), 0, 0, params.as_mut_ptr().cast(), usize::MAX) };
    if ret != 0 || params[0] != 144 {
        return Err(format!("params call returned {ret}, {params:?}"));
    }
    let (prot, flags) = (u64::from(params[1]), u64::from(params[2]));
    // SAFETY: a new mapping where the kernel chooses.
    let at = unsafe { syscall(NR_MMAP, [0, 4096, prot, flags, u64::MAX, 0]) };
    if (-4095..0).contains(&at) {
        return Err(format!("mmap(prot {prot:#x}, flags {flags:#x}): {at}"));
    }
    Ok(at as *mut u8)
}

/// The params call, then reads from a state: distinct, of every length; the
/// errors the syscall gives.
fn check_getrandom(image: &Image, report: &mut Report) -> Option<*mut u8> {
    let state = state(image);
    report.check(
        &format!("{}: getrandom's params (144, PROT_READ|PROT_WRITE, MAP_DROPPABLE|MAP_ANONYMOUS) map a state", image.name),
        state.as_ref().map(|_| ()).map_err(Clone::clone),
    );
    let state = state.ok()?;
    let mut seen = HashSet::new();
    let mut ok = true;
    for len in [32, 1, 63, 64, 65, 4096, 32, 10_000] {
        let mut buf = vec![0u8; len];
        ok &= image.random(&mut buf, 0, state, 144) == len as isize;
        ok &= seen.insert(buf);
    }
    report.check(
        &format!(
            "{}: getrandom reads return their length and never repeat",
            image.name
        ),
        ensure(ok, || "a read returned short or repeated".into()),
    );
    let mut buf = [0u8; 32];
    for flags in [0x8, 0x2 | 0x4] {
        let ours = image.random(&mut buf, flags, state, 144);
        let kernel = raw(NR_GETRANDOM, buf.as_mut_ptr() as u64, 32, u64::from(flags)) as isize;
        // Linux's image serves GRND_RANDOM|GRND_INSECURE (6) from the state.
        let linux_serves = image.name == "Linux's" && flags == 6;
        report.check(
            &format!(
                "{}: getrandom with flags {flags:#x} answers as the syscall",
                image.name
            ),
            ensure(ours == kernel || (linux_serves && ours == 32), || {
                format!("{ours} vs {kernel}")
            }),
        );
    }
    Some(state)
}

/// Every function [`WINDOW_CALLS`] times between two markers, with no
/// syscall of this program's own.
fn window(image: &Image, state: Option<*mut u8>, modes: [u64; 2]) {
    let marker = |mode| raw(NR_FACCESSAT, (-100i64) as u64, c"/".as_ptr() as u64, mode);
    let mut buf = [0u8; 32];
    marker(modes[0]);
    for _ in 0..WINDOW_CALLS {
        for id in clock::SERVED {
            image.time(id);
            image.res(id);
        }
        image.timeofday();
        if let Some(state) = state {
            image.random(&mut buf, 0, state, 144);
        }
    }
    marker(modes[1]);
}

/// The checks on both images, or with `bench` the timing; returns the exit
/// status.
pub fn run(bench: bool) -> i32 {
    let mut report = Report::default();
    let result = if bench {
        run_bench(&mut report)
    } else {
        run_checks(&mut report)
    };
    if let Err(e) = result {
        report.check("set up", Err(e));
    }
    report.finish()
}

/// Linux's image, checked; then ours in its place, checked.
fn run_checks(report: &mut Report) -> Result<(), String> {
    let (base, len) = own_vdso()?;
    report.note(&format!("the kernel's vDSO: {len} bytes at {base:#x}"));
    for (i, name) in ["Linux's", "ours"].into_iter().enumerate() {
        if i == 1 {
            replace_with_ours(base, len)?;
        }
        let image = Image::at(name, base, len)?;
        check_clocks(&image, report);
        let state = check_getrandom(&image, report);
        window(
            &image,
            state,
            [WINDOW_MODES[2 * i], WINDOW_MODES[2 * i + 1]],
        );
    }
    Ok(())
}

/// getrandom's bench rows: (name, bytes per call).
pub const BENCH_ROWS: [(&str, usize); 2] = [("getrandom(32)", 32), ("getrandom(4096)", 4096)];
/// Samples per row and variant.
const BENCH_REPEATS: usize = 101;
/// Calls per sample.
const BENCH_CALLS: usize = 200;

/// `cargo xtask bench`'s getrandom rows, in its time run's format (`calls N`,
/// `repeats N`, `sample REPEAT ROW VARIANT TOTAL_NS`): each sample times
/// [`BENCH_CALLS`] calls with the raw `clock_gettime(MONOTONIC)` syscall.
/// The variants are interleaved within each repeat: Linux's image (its
/// bytes copied back to its address), ours, the raw syscall.
fn run_bench(report: &mut Report) -> Result<(), String> {
    let (base, len) = own_vdso()?;
    // SAFETY: the kernel's vDSO, `len` readable bytes.
    let linux_bytes = unsafe { std::slice::from_raw_parts(base as *const u8, len) }.to_vec();
    let linux = Image::at("Linux's", base, len)?;
    let linux_state = state(&linux)?;
    replace_with_ours(base, len)?;
    let ours = Image::at("ours", base, len)?;
    let our_state = state(&ours)?;
    println!("calls {BENCH_CALLS}\nrepeats {BENCH_REPEATS}");
    for repeat in 0..BENCH_REPEATS {
        for (row, size) in BENCH_ROWS {
            let mut buf = vec![0u8; size];
            install(base, &linux_bytes)?;
            let ns = total_ns(|| linux.random(&mut buf, 0, linux_state, 144));
            println!("sample {repeat} {row} linux {ns}");
            install(base, &IMAGE_PADDED[..len.min(IMAGE_PADDED.len())])?;
            let ns = total_ns(|| ours.random(&mut buf, 0, our_state, 144));
            println!("sample {repeat} {row} ours {ns}");
            let ns =
                total_ns(|| raw(NR_GETRANDOM, buf.as_mut_ptr() as u64, size as u64, 0) as isize);
            println!("sample {repeat} {row} syscall {ns}");
        }
    }
    report.check("bench: every sample taken", Ok(()));
    Ok(())
}

/// Writes `bytes` (an image) at `base`, over whichever image is there.
fn install(base: usize, bytes: &[u8]) -> Result<(), String> {
    let len = bytes.len().next_multiple_of(4096);
    // SAFETY: our own mapping of the vDSO's pages (`replace_with_ours`);
    // no code runs in it while it is written.
    unsafe {
        if sys::mprotect(base, len, sys::PROT_READ | sys::PROT_WRITE) != 0 {
            return Err("mprotect(RW)".into());
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), base as *mut u8, bytes.len());
    }
    sys::sync_icache(base, bytes.len());
    // SAFETY: from now on only read and executed.
    match unsafe { sys::mprotect(base, len, sys::PROT_READ | sys::PROT_EXEC) } {
        0 => Ok(()),
        e => Err(format!("mprotect(RX): {e}")),
    }
}

/// The ns [`BENCH_CALLS`] calls of `f` take; each must return > 0.
fn total_ns(mut f: impl FnMut() -> isize) -> i128 {
    let start = ns(sys_time(clock::MONOTONIC).1);
    for _ in 0..BENCH_CALLS {
        if f() <= 0 {
            return -1;
        }
    }
    ns(sys_time(clock::MONOTONIC).1) - start
}
