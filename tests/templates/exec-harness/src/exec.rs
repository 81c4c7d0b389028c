//! The exec path, in the order a kernel's `execve` takes it: check the file,
//! map its segments, map the vDSO and publish time, build the stack, start
//! the timer tick, enter the program.
//!
//! Everything that can fail does so before the jump, with one line on
//! stderr: `vdso-exec: PROGRAM: what is wrong; what is supported`, exit
//! status 126 (127 if the file does not exist), as a shell reports a
//! program it cannot execute.
//!
//! # Safety
//!
//! This is a loader: it writes into memory it has just mapped at addresses
//! it computed, and finally gives the thread away. Each `unsafe` block says
//! which mapping it writes and why that mapping is ours.

use std::convert::Infallible;
use std::ffi::{c_char, CStr, OsStr};
use std::mem::size_of;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::ptr;

use loader::{
    clock, Clocks, Config, CounterSource, DataPage, Layout, Timespec, Writer, NSEC_PER_SEC,
    PAGE_SIZE,
};
use vdso_exec_core::elf::{self, prot, Arch, Program};
use vdso_exec_core::stack::{self, AuxFacts, Strings};

use crate::cli::{self, Command, Invocation, USAGE};
use crate::{sys, ticker};

/// The programs this harness runs: aarch64 ones, or 32-bit Arm ones in the
/// armv7 build (which runs as a compat task on arm64 Linux).
#[cfg(target_arch = "aarch64")]
const ARCH: Arch = Arch::Aarch64;
/// The programs this harness runs: aarch64 ones, or 32-bit Arm ones in the
/// armv7 build (which runs as a compat task on arm64 Linux).
#[cfg(target_arch = "arm")]
const ARCH: Arch = Arch::Arm;

// The vDSO image the client gets, padded to whole pages: the aarch64 one,
// or for an Arm client the 32-bit compat image. It must fit `Layout`.
#[cfg(target_arch = "arm")]
use loader::compat::{IMAGE_PADDED, IMAGE_PAGES};
#[cfg(target_arch = "aarch64")]
use loader::{IMAGE_PADDED, IMAGE_PAGES};
const _: () = assert!(loader::DATA_PAGE_OFFSET + IMAGE_PAGES * PAGE_SIZE <= Layout::SIZE);

/// `AT_PLATFORM`: what Linux says for the harness's kind of program.
#[cfg(target_arch = "aarch64")]
const PLATFORM: &CStr = c"aarch64";
/// `AT_PLATFORM`: "v7l", what an ARMv7 Linux says (arm64 Linux says "v8l"
/// to compat tasks; static clients do not look).
#[cfg(target_arch = "arm")]
const PLATFORM: &CStr = c"v7l";

/// Where a static-PIE client is loaded: 64 GiB, far below the harness
/// (256 GiB, see `build.rs`) and qemu-aarch64's mmap area (0x55_0000_0000),
/// far above every `ET_EXEC` client (0x400000 for glibc and musl, 0x10000 for
/// Go). Fixed rather than random, so runs are reproducible.
#[cfg(target_arch = "aarch64")]
pub const CLIENT_PIE_BASE: u64 = 0x10_0000_0000;
/// Where a static-PIE client is loaded in the armv7 build: 256 MiB, below
/// the harness (768 MiB, see `build.rs`), qemu-arm's mmap area (from 1 GiB
/// up) and Linux's (from below the stack, near 4 GiB, down), above every
/// `ET_EXEC` client (0x10000 for arm glibc, musl and Go). Fixed rather
/// than random, so runs are reproducible.
#[cfg(target_arch = "arm")]
pub const CLIENT_PIE_BASE: u64 = 0x1000_0000;
/// The lowest address Linux maps by default (`vm.mmap_min_addr`).
const MMAP_MIN_ADDR: usize = 0x1_0000;
/// The client's stack, as Linux's default `ulimit -s` (8 MiB).
const STACK_SIZE: usize = 8 << 20;
/// Inaccessible space below the client's stack (Linux's `stack_guard_gap`
/// is 1 MiB too), so an overflow faults.
const STACK_GUARD: usize = 1 << 20;
/// Arguments, environment and tables may take a quarter of the stack, as
/// on Linux (`bprm_stack_limits`).
const ARG_LIMIT: u64 = (STACK_SIZE / 4) as u64;
/// The strace marker: the harness's last syscall before the client's
/// first.
const CLIENT_START_MARKER: &CStr = c"/vdso-exec/client-start";
/// What the harness runs, for every "cannot run this" message.
#[cfg(target_arch = "aarch64")]
const SUPPORTED: &str =
    "vdso-exec runs static aarch64 ELF executables (ET_EXEC or static-pie; glibc, musl, Go)";
/// What the harness runs, for every "cannot run this" message.
#[cfg(target_arch = "arm")]
const SUPPORTED: &str = "this vdso-exec runs static 32-bit ARM EABI ELF executables \
     (ET_EXEC or static-pie; glibc, musl, Go)";

/// Why the program cannot be started: the exit status and one line for
/// stderr (without the `vdso-exec: ` prefix).
#[derive(Debug)]
pub struct Failure {
    code: i32,
    message: String,
}

/// The status a shell gives a command it found but cannot execute.
const CANNOT_EXECUTE: i32 = 126;
/// The status a shell gives a command it did not find.
const NOT_FOUND: i32 = 127;

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        code: CANNOT_EXECUTE,
        message: message.into(),
    }
}

/// Diagnostics on stderr, only with `VDSO_EXEC_VERBOSE=1`.
struct Log {
    verbose: bool,
}

impl Log {
    fn note(&self, text: impl FnOnce() -> String) {
        if self.verbose {
            say(&format!("vdso-exec: {}", text()));
        }
    }
}

/// Writes `text` and a newline to stderr in one `write`, so the line stays
/// whole next to a client's or qemu's output on the same stderr.
fn say(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(format!("{text}\n").as_bytes());
}

/// What the process started with: its arguments, its environment and its
/// auxiliary vector, all straight from the initial stack.
pub struct Start {
    /// `argv`, including the harness's own `argv[0]`.
    pub args: Vec<&'static CStr>,
    /// The environment, passed on to the client unchanged.
    pub envp: Vec<&'static CStr>,
    /// The auxiliary vector qemu (or Linux) gave the harness.
    pub auxv: Vec<(u64, u64)>,
    /// Where that vector lies on the initial stack (its `AT_NULL` included,
    /// `auxv.len() + 1` pairs).
    auxv_at: usize,
}

impl Start {
    /// Reads the initial stack through `argv`, as glibc's `_dl_aux_init`
    /// does: the environment follows argv's NULL, the auxiliary vector
    /// follows the environment's.
    ///
    /// # Safety
    ///
    /// `argv` is the `argv` the C runtime passed to `main`: `argc` pointers
    /// into the initial stack followed by the kernel's layout, which stays
    /// mapped and unchanged for the life of the process.
    pub unsafe fn from_initial_stack(argc: usize, argv: *const *const c_char) -> Start {
        let mut start = Start {
            args: Vec::new(),
            envp: Vec::new(),
            auxv: Vec::new(),
            auxv_at: 0,
        };
        // SAFETY: the caller guarantees the kernel's layout from `argv` on:
        // argc pointers to NUL-terminated strings, NULL, environment
        // pointers, NULL, (key, value) pairs of words (`usize`) up to
        // AT_NULL. The strings live on the initial stack, which is never
        // unmapped.
        unsafe {
            for i in 0..argc {
                start.args.push(CStr::from_ptr(*argv.add(i)));
            }
            let mut p = argv.add(argc + 1);
            while !(*p).is_null() {
                start.envp.push(CStr::from_ptr(*p));
                p = p.add(1);
            }
            let mut aux = p.add(1).cast::<usize>();
            start.auxv_at = aux as usize;
            loop {
                let (key, value) = (*aux as u64, *aux.add(1) as u64);
                if key == stack::AT_NULL {
                    break;
                }
                start.auxv.push((key, value));
                aux = aux.add(2);
            }
        }
        start
    }

    fn aux(&self, key: u64) -> Option<u64> {
        self.auxv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// The harness: parses the command line, runs the program (never
/// returning) or returns the exit status of the failure it reported.
pub fn main(start: &Start) -> i32 {
    let log = Log {
        verbose: std::env::var_os("VDSO_EXEC_VERBOSE").is_some_and(|v| v == "1"),
    };
    let invocation = match cli::parse(start.args.get(1..).unwrap_or_default()) {
        Ok(Command::Run(invocation)) => invocation,
        Ok(Command::Help) => {
            say(&format!(
                "{USAGE}\nRuns a static {} program with our vDSO mapped and the time published.",
                ARCH.name()
            ));
            return 0;
        }
        Err(reason) => {
            say(&format!("vdso-exec: {reason}\n{USAGE}"));
            return 2;
        }
    };
    match exec(&invocation, start, &log) {
        Ok(never) => match never {},
        Err(failure) => {
            say(&format!("vdso-exec: {}", failure.message));
            failure.code
        }
    }
}

/// The exec path; returns only on failure.
fn exec(invocation: &Invocation<'_>, start: &Start, log: &Log) -> Result<Infallible, Failure> {
    let path = Path::new(OsStr::from_bytes(invocation.program.to_bytes()));
    let name = path.display();
    let file = read_program(path)?;
    let program =
        elf::parse_for(ARCH, &file).map_err(|e| fail(format!("{name}: {e}; {SUPPORTED}")))?;
    let bias = program.load_bias(CLIENT_PIE_BASE);
    load_segments(&file, &program, bias, log).map_err(|e| fail(format!("{name}: {e}")))?;
    drop(file);
    let entry = program.entry.wrapping_add(bias);

    // From here on the failures are the harness's, not the program's.
    let (layout, writer, period_ns) = map_vdso_and_publish(invocation.fake_epoch, log)
        .map_err(|e| fail(format!("cannot set up the vDSO: {e}")))?;
    let (stack, auxv) = build_stack(invocation, start, &program, bias, &layout, log)?;
    let reseed_ns = invocation
        .rng_reseed_ms
        .map(|ms| ms.saturating_mul(1_000_000));
    let (tid, at, len) = ticker::start(writer, period_ns, reseed_ns).map_err(fail)?;
    log.note(|| {
        format!(
            "ticker thread {tid}: every {period_ns} ns (RNG reseed every {reseed_ns:?} ns), \
             stack and writer at {at:#x}..{:#x}",
            at + len
        )
    });
    mirror_auxv_for_proc(start, &auxv, log);
    log.note(|| format!("entering {name} at {entry:#x} with sp {stack:#x}"));
    sys::strace_marker(CLIENT_START_MARKER);
    // SAFETY: `entry` is the entry point of the program just loaded (parse
    // checked it lies in an executable segment) and `stack` its initial
    // stack, laid out as Linux lays it out; this thread is the client's now.
    unsafe { sys::enter_program(entry, stack) }
}

/// Reads the program file, with execve's refusals: not there, a
/// directory, not a regular file, not executable.
fn read_program(path: &Path) -> Result<Vec<u8>, Failure> {
    let name = path.display();
    let io = |e: std::io::Error| {
        let code = match e.kind() {
            std::io::ErrorKind::NotFound => NOT_FOUND,
            _ => CANNOT_EXECUTE,
        };
        Failure {
            code,
            message: format!("{name}: {}; {SUPPORTED}", lowercase_first(&e)),
        }
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(fail(format!("{name}: is a directory; {SUPPORTED}")));
    }
    if !meta.is_file() {
        return Err(fail(format!("{name}: not a regular file; {SUPPORTED}")));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(fail(format!(
            "{name}: permission denied (not executable: chmod +x it); {SUPPORTED}"
        )));
    }
    std::fs::read(path).map_err(io)
}

/// "No such file or directory (os error 2)" → "no such file or directory".
fn lowercase_first(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Maps every `PT_LOAD` segment at its address plus `bias`, copies its file
/// bytes (the rest of each mapping stays zero: the bss), then applies the
/// final protections (Linux's `elf_map` + `padzero` + `set_brk`, with
/// copies instead of file mappings).
fn load_segments(file: &[u8], program: &Program, bias: u64, log: &Log) -> Result<(), String> {
    let regions = program
        .regions(bias)
        .ok_or_else(|| format!("a segment moved by {bias:#x} leaves user space"))?;
    for region in &regions {
        let (start, len) = (region.start as usize, (region.end - region.start) as usize);
        match sys::mmap_fixed_noreplace(start, len) {
            Ok(at) if at == start => {}
            Ok(elsewhere) => {
                // SAFETY: the kernel just mapped this elsewhere for us;
                // nothing refers to it.
                let _ = unsafe { sys::munmap(elsewhere, len) };
                return Err(format!(
                    "its segment at {start:#x}..{:#x} cannot be mapped there: {}",
                    start + len,
                    why_taken(start, len)
                ));
            }
            Err(e) => {
                return Err(format!(
                    "cannot map its segment at {start:#x}..{:#x}: {} ({})",
                    start + len,
                    sys::describe(e),
                    why_taken(start, len)
                ))
            }
        }
    }
    for segment in &program.segments {
        let from = &file[segment.offset as usize..][..segment.filesz as usize];
        let to = segment.vaddr.wrapping_add(bias) as usize;
        // SAFETY: `to..to + filesz` lies in a region mapped read/write just
        // above (the regions cover every segment, page-rounded); the
        // mapping is fresh and ours, and `from` is inside `file` (`parse`
        // checked the bounds).
        unsafe { ptr::copy_nonoverlapping(from.as_ptr(), to as *mut u8, from.len()) };
    }
    for region in &regions {
        let (start, len) = (region.start as usize, (region.end - region.start) as usize);
        if region.prot & prot::EXEC != 0 {
            sys::sync_icache(start, len);
        }
        // SAFETY: the region is one of ours, and nothing runs or writes in
        // it until the client starts, under the protection its ELF file asks
        // for.
        unsafe { sys::mprotect(start, len, region.prot) }
            .map_err(|e| format!("cannot protect {start:#x}: {}", sys::describe(e)))?;
        log.note(|| {
            format!(
                "mapped {start:#x}..{:#x} {}",
                start + len,
                prot_name(region.prot)
            )
        });
    }
    Ok(())
}

fn prot_name(prot: u32) -> String {
    [(prot::READ, 'r'), (prot::WRITE, 'w'), (prot::EXEC, 'x')]
        .iter()
        .map(|&(bit, c)| if prot & bit != 0 { c } else { '-' })
        .collect()
}

/// Why `[start, start + len)` may not be mappable: Linux's lowest mappable
/// address, the harness's own image, or some other mapping.
fn why_taken(start: usize, len: usize) -> String {
    extern "C" {
        // Defined by the GNU linker's default script: the first byte of
        // the first segment and the end of the bss.
        static __executable_start: u8;
        static _end: u8;
    }
    let (low, high) = (
        &raw const __executable_start as usize,
        &raw const _end as usize,
    );
    if start < MMAP_MIN_ADDR {
        format!("it starts below {MMAP_MIN_ADDR:#x}, Linux's default vm.mmap_min_addr")
    } else if start < high && low < start + len {
        format!("the harness itself is loaded at {low:#x}..{high:#x}")
    } else {
        "something is already mapped there".to_string()
    }
}

/// Maps the data page, the time-namespace page and the image as
/// [`Layout`] lays them out, and publishes the host's time into the page.
/// Returns the layout, the writer (for the ticker) and the tick period.
fn map_vdso_and_publish(
    fake_epoch: Option<i64>,
    log: &Log,
) -> Result<(Layout, Writer<'static>, u64), String> {
    let errno = |what: &'static str| move |e| format!("{what}: {}", sys::describe(e));
    let base = sys::mmap_anywhere(Layout::SIZE, sys::PROT_RW).map_err(errno("mmap"))?;
    let layout = Layout::new(base).ok_or("mmap returned an unaligned address")?;
    // The data page has two views, as in a kernel: the writer's, read/write
    // (the kernel's own mapping of the frame), and the process's at
    // `layout.data_page`, read-only, so the client cannot write it, as on
    // Linux. Both map one memory file, shared: a child the client forks has
    // no ticker thread (fork copies only the calling thread) but sees the
    // parent's ticks, as every process sees Linux's one vvar page.
    let fd = sys::memfd(c"vdso-exec data page", PAGE_SIZE).map_err(errno("memfd_create"))?;
    // SAFETY: a new mapping where the kernel chooses; then the first page of
    // our fresh `Layout` mapping, which nothing uses yet.
    let views = unsafe {
        sys::mmap_shared(None, PAGE_SIZE, sys::PROT_RW, fd).and_then(|writer_view| {
            sys::mmap_shared(Some(layout.data_page), PAGE_SIZE, sys::PROT_READ, fd)
                .map(|_| writer_view)
        })
    };
    sys::close(fd);
    let writer_view = views.map_err(errno("mmap(data page)"))?;
    // SAFETY: `writer_view` is a fresh, page-aligned, writable mapping of
    // the data page, never unmapped; nothing else writes the page (the
    // client's view is read-only), and from here on it is written only
    // through the returned reference.
    let page: &'static DataPage = unsafe { loader::init_data_page(writer_view as *mut DataPage) };
    // SAFETY: the time-namespace page of our mapping, which nothing uses:
    // Linux maps nothing there for a task outside a time namespace.
    unsafe { sys::mprotect(layout.timens_page, PAGE_SIZE, sys::PROT_NONE) }
        .map_err(errno("mprotect(timens page)"))?;
    // SAFETY: the image pages of our mapping are writable and exactly
    // IMAGE_PADDED.len() bytes long (`Layout::SIZE` covers them).
    unsafe {
        ptr::copy_nonoverlapping(
            IMAGE_PADDED.as_ptr(),
            layout.image as *mut u8,
            IMAGE_PADDED.len(),
        )
    };
    sys::sync_icache(layout.image, IMAGE_PADDED.len());
    // SAFETY: from now on the image is only read and executed.
    unsafe { sys::mprotect(layout.image, IMAGE_PADDED.len(), sys::PROT_RX) }
        .map_err(errno("mprotect(image)"))?;

    // Resolutions as the host's clock_getres reports them, so getres through
    // the vDSO equals the syscall. A resolution of a second or more does not
    // fit the page; 0 sends getres to the syscall then.
    let res_ns = |id| {
        sys::clock_getres(id).map(|r: Timespec| match r.tv_sec {
            0 => u32::try_from(r.tv_nsec).unwrap_or(0),
            _ => 0,
        })
    };
    let hrtimer_res = res_ns(clock::REALTIME).map_err(errno("clock_getres"))?;
    let coarse_res = res_ns(clock::REALTIME_COARSE).map_err(errno("clock_getres"))?;
    let frequency = loader::arch::frequency();
    let config = Config {
        hrtimer_res,
        coarse_res,
        ..Config::new(CounterSource::Virtual, frequency)
    };
    let mut writer = Writer::new(page, config).map_err(|e| format!("Writer::new: {e}"))?;
    let (_, timezone) = sys::gettimeofday().map_err(errno("gettimeofday"))?;
    writer.set_timezone(timezone);
    let clocks = host_clocks(&writer, frequency, fake_epoch).map_err(errno("clock_gettime"))?;
    writer.publish(clocks);
    // Published: no clock syscall from here on, in this thread or the ticker.
    // The RNG is the host kernel's, which has the getrandom syscall the
    // vDSO reseeds through. Whether the client gets MAP_DROPPABLE state
    // memory is the host's to say: where it has none (qemu-user 7.2), the
    // libcs' mmap of their states fails and they use the syscall.
    writer.set_rng_ready();

    // The ticker sleeps one coarse period between ticks, like Linux's
    // timer tick; at least 1 ms, so a strange resolution cannot make it spin.
    let period_ns = u64::from(coarse_res).clamp(1_000_000, NSEC_PER_SEC);
    log.note(|| {
        let s = writer.scale();
        format!(
            "vDSO: data page {:#x} (read-only; the writer's view at {writer_view:#x}), \
             image {:#x} (AT_SYSINFO_EHDR); counter {frequency} Hz, mult {} shift {}; \
             resolutions {hrtimer_res} ns / {coarse_res} ns; REALTIME {}.{:09} at counter {}{}",
            layout.data_page,
            layout.image,
            s.mult,
            s.shift,
            clocks.realtime.tv_sec,
            clocks.realtime.tv_nsec,
            clocks.counter,
            if fake_epoch.is_some() {
                " (fake epoch)"
            } else {
                ""
            },
        )
    });
    Ok((layout, writer, period_ns))
}

fn ns(t: Timespec) -> i128 {
    i128::from(t.tv_sec) * i128::from(NSEC_PER_SEC) + i128::from(t.tv_nsec)
}

fn from_ns(total: i128) -> Timespec {
    let second = i128::from(NSEC_PER_SEC);
    Timespec {
        tv_sec: total.div_euclid(second) as i64,
        tv_nsec: total.rem_euclid(second) as i64,
    }
}

/// Every counter-driven clock of the host at one counter value, each read
/// as the midpoint of the tightest of eight syscall pairs around a counter
/// read, carried to REALTIME's counter value. With `fake_epoch`, REALTIME
/// is that many seconds (nsec 0) instead, and TAI keeps the host's offset
/// from REALTIME.
fn host_clocks(
    writer: &Writer<'static>,
    frequency: u64,
    fake_epoch: Option<i64>,
) -> Result<Clocks, sys::Errno> {
    let mut samples = [(0i128, 0u64); 5];
    for (sample, id) in samples.iter_mut().zip(clock::COUNTER_CLOCKS) {
        let mut best: Option<(i128, i128, u64)> = None; // (width, mid, counter)
        for _ in 0..8 {
            let before = ns(sys::clock_gettime(id)?);
            let counter = writer.read_counter();
            let after = ns(sys::clock_gettime(id)?);
            let width = after - before;
            if best.is_none_or(|(w, _, _)| width < w) {
                best = Some((width, before + width / 2, counter));
            }
        }
        if let Some((_, mid, counter)) = best {
            *sample = (mid, counter);
        }
    }
    // `COUNTER_CLOCKS` is REALTIME, MONOTONIC, MONOTONIC_RAW, BOOTTIME, TAI.
    let counter = samples[0].1;
    let at = |(mid, at_counter): (i128, u64)| {
        let cycles = i128::from(counter) - i128::from(at_counter);
        from_ns(mid + cycles * i128::from(NSEC_PER_SEC) / i128::from(frequency))
    };
    let [realtime, monotonic, monotonic_raw, boottime, tai] = samples.map(at);
    let (realtime, tai) = match fake_epoch {
        None => (realtime, tai),
        Some(secs) => {
            let fake = i128::from(secs) * i128::from(NSEC_PER_SEC);
            (from_ns(fake), from_ns(fake + ns(tai) - ns(realtime)))
        }
    };
    Ok(Clocks {
        counter,
        realtime,
        monotonic,
        monotonic_raw,
        boottime,
        tai,
    })
}

/// Maps the client's stack and lays out argv, envp and the auxiliary
/// vector on it; returns the initial stack pointer and the vector.
fn build_stack(
    invocation: &Invocation<'_>,
    start: &Start,
    program: &Program,
    bias: u64,
    layout: &Layout,
    log: &Log,
) -> Result<(u64, Vec<(u64, u64)>), Failure> {
    let errno = |what: &'static str| move |e| fail(format!("{what}: {}", sys::describe(e)));
    // PT_GNU_STACK with PF_X asks for an executable stack, as Linux grants.
    let prot = if program.exec_stack {
        sys::PROT_RW | prot::EXEC
    } else {
        sys::PROT_RW
    };
    let base = sys::mmap_anywhere(STACK_GUARD + STACK_SIZE, prot).map_err(errno("mmap(stack)"))?;
    // SAFETY: the lowest part of our fresh mapping, which nothing uses.
    unsafe { sys::mprotect(base, STACK_GUARD, sys::PROT_NONE) }
        .map_err(errno("mprotect(stack guard)"))?;
    let top = (base + STACK_GUARD + STACK_SIZE) as u64;

    let random = sys::random16().map_err(errno("getrandom"))?;
    let strings = Strings::for_arch(
        ARCH,
        top,
        &invocation.argv,
        &start.envp,
        invocation.program,
        PLATFORM,
        random,
    );
    let (uid, euid, gid, egid) = sys::ids();
    let facts = AuxFacts {
        sysinfo_ehdr: layout.at_sysinfo_ehdr(),
        minsigstksz: start.aux(stack::AT_MINSIGSTKSZ),
        // qemu (or Linux) computes the CPU features; pass them on (Go on
        // 32-bit Arm exits unless AT_HWCAP shows VFP).
        hwcap: start.aux(stack::AT_HWCAP).unwrap_or(0),
        hwcap2: start.aux(stack::AT_HWCAP2).unwrap_or(0),
        phdr: program.phdr.wrapping_add(bias),
        phnum: program.phnum.into(),
        entry: program.entry.wrapping_add(bias),
        uid,
        euid,
        gid,
        egid,
    };
    let auxv = stack::aux_vector(&facts, &strings);
    let initial = strings
        .finish(&auxv, ARG_LIMIT)
        .map_err(|e| fail(format!("{}: {e}", invocation.program.to_string_lossy())))?;
    // SAFETY: `[sp, top)` lies in the stack mapping above its guard (finish
    // keeps it within ARG_LIMIT, a quarter of the stack); the mapping is
    // fresh, ours and writable.
    unsafe {
        ptr::copy_nonoverlapping(
            initial.bytes.as_ptr(),
            initial.sp as *mut u8,
            initial.bytes.len(),
        )
    };
    log.note(|| {
        format!(
            "stack {:#x}..{top:#x}, sp {:#x}; auxv {:x?}",
            base + STACK_GUARD,
            initial.sp,
            auxv
        )
    });
    Ok((initial.sp, auxv))
}

/// Makes `/proc/self/auxv` show the client's auxiliary vector, as Linux's
/// does after an exec.
///
/// qemu-user answers reads of `/proc/self/auxv` with the bytes at the place
/// on the harness's initial stack where it wrote the harness's own vector
/// (`saved_auxv`, `auxv_len` in qemu's `linux-user/elfload.c`), read at the
/// time of the read. Programs that take the vector from there instead of
/// their stack (rustix's linux_raw backend without libc asks
/// `prctl(PR_GET_AUXV)` first, which qemu 7.2 does not know, then reads the
/// file) would find the harness's vector, without `AT_SYSINFO_EHDR`, and no
/// vDSO. So the client's vector is copied over it, as much as fits: qemu's
/// has one entry fewer than ours (no `AT_SYSINFO_EHDR`), so the last entry,
/// `AT_PLATFORM`, stays off the file (the stack has it). On a real kernel
/// the file comes from the kernel's own copy and this changes nothing that
/// anyone reads.
fn mirror_auxv_for_proc(start: &Start, auxv: &[(u64, u64)], log: &Log) {
    let slots = start.auxv.len() + 1;
    let (fitted, dropped) = stack::fit_auxv(auxv, slots);
    for (i, &(key, value)) in fitted.iter().enumerate() {
        let at = (start.auxv_at + 2 * size_of::<usize>() * i) as *mut usize;
        // SAFETY: `fitted` has at most `slots` pairs, so `at` lies inside
        // the harness's own auxiliary vector on its initial stack (writable,
        // never unmapped). Only the harness's libc reads it (`getauxval`),
        // and it finds well-formed pairs ending in AT_NULL before and after.
        // (A 32-bit harness's vector holds 32-bit words; the client's values
        // are addresses and flags of a 32-bit process and fit.)
        unsafe {
            at.write(key as usize);
            at.add(1).write(value as usize);
        }
    }
    log.note(|| {
        format!(
            "/proc/self/auxv (qemu reads {slots} pairs at {:#x}) now shows the client's \
             vector; left out for lack of room: {dropped:?}",
            start.auxv_at
        )
    });
}
