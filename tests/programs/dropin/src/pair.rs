//! Two vDSOs side by side in one process, each on its own data page: our
//! image and Linux's own arm64 vDSO, mapped as Linux arm64 maps a vDSO and
//! published with the same clocks. The drop-in test (`vdso-dropin`) holds
//! them to the same answers; the benchmark (`vdso-bench`, `tests/programs/bench`)
//! times them.
//!
//! # Setup
//!
//! Each image gets its own mapping, `Layout::new(base)`: data page,
//! time-namespace page (`PROT_NONE`), image (read + execute). Linux 6.1's
//! arm64 image finds its data page exactly there, two pages below itself
//! (`adr x3, . - 0x2000` style references in its `__kernel_*` functions),
//! `vdso_data[CS_RAW]` 0xf0 bytes into it, and reads the time-namespace page
//! only for `clock_mode == VDSO_CLOCKMODE_TIMENS`, which our writer never
//! writes. Both images' functions are found with Linux's own reference
//! parser (`parse_vdso.c`, transliterated in `vdso_tests::clients`) at
//! `LINUX_2.6.39`, in the mapped memory, as a client would.
//!
//! Each data page has its own [`Writer`] with the same [`Config`]
//! (`CNTVCT_EL0`, `loader::arch::frequency()`, so `clock_mode` is Linux's
//! `VDSO_CLOCKMODE_ARCHTIMER`), and [`Pair`] hands both writers the same
//! clocks at the same counter value, so the two pages are byte-identical.
//! The clocks ([`Pair::clocks`]) are chosen so that no syscall could give
//! them and every clock id has its own value: REALTIME at the fake epoch
//! 2 000 000 000 s (2033-05-18), TAI 37 s later, MONOTONIC the counter's
//! time since zero, MONOTONIC_RAW and BOOTTIME 1.5 s and 3.25 s after it. A
//! Linux image that fell back to the syscall, or read the wrong slot, would
//! show it. Linux multiplies in 64 bits, which overflows 136 s after a
//! publish at 62.5 MHz: tick both writers ([`Pair::tick`]) more often.
//!
//! # Safety
//!
//! Calling into an image is calling foreign code through an address: sound
//! because this program mapped each image itself, executable, with its data
//! page readable `DATA_PAGE_OFFSET` below it and the page in between
//! reserved, and because the addresses are those of the image's
//! `__kernel_*` functions (found by symbol and version), which have the C
//! signatures of the syscalls they replace. Neither image writes anything
//! but the caller's buffers.

use std::ptr::{self, null_mut};

use loader::{
    clock, Clocks, Config, DataPage, Layout, Timespec, Timeval, Timezone, Writer, DATA_PAGE_OFFSET,
    IMAGE_PADDED, PAGE_SIZE,
};
use vdso_probe::report::{clock_name, from_ns, ns, NS};
use vdso_probe::{sys, ClockGetres, ClockGettime, Gettimeofday};
use vdso_tests::clients::parse_vdso;
use vdso_tests::Mapping;

/// The version node of both images' `__kernel_*` functions.
pub const VERSION: &str = "LINUX_2.6.39";

/// REALTIME's published seconds: 2033-05-18T03:33:20Z, which no syscall
/// says today.
pub const FAKE_EPOCH: i64 = 2_000_000_000;

/// The published timezone (not the host's, which is almost always zero).
pub const TIMEZONE: Timezone = Timezone {
    tz_minuteswest: -90,
    tz_dsttime: 1,
};

/// Poison for output buffers, so a call that returns 0 without writing is
/// caught.
const POISON: Timespec = Timespec {
    tv_sec: -77,
    tv_nsec: -77,
};

/// Poison for `gettimeofday`'s `tv`: a call that returns 0 without writing
/// it is caught.
pub const TV_POISON: Timeval = Timeval {
    tv_sec: -77,
    tv_usec: -77,
};

/// Poison for `gettimeofday`'s `tz`, which no kernel publishes.
pub const TZ_POISON: Timezone = Timezone {
    tz_minuteswest: 12345,
    tz_dsttime: 12345,
};

/// One image, mapped with its own data page and writer.
pub struct Vdso {
    /// "ours" or "Linux's", for messages.
    pub name: &'static str,
    /// Where its data page, time-namespace page and image are.
    pub layout: Layout,
    /// Its data page, written only through `writer`.
    pub page: &'static DataPage,
    /// The data page's writer.
    pub writer: Writer<'static>,
    /// `__kernel_clock_gettime`.
    pub gettime: ClockGettime,
    /// `__kernel_gettimeofday`.
    pub gettimeofday: Gettimeofday,
    /// `__kernel_clock_getres`.
    pub getres: ClockGetres,
    /// The three functions' addresses, in the order above.
    pub addresses: [usize; 3],
}

/// The three time functions, in the order of [`Vdso::addresses`].
pub const FUNCTIONS: [&str; 3] = [
    "__kernel_clock_gettime",
    "__kernel_gettimeofday",
    "__kernel_clock_getres",
];

impl Vdso {
    /// Maps `image` as Linux arm64 does (data page, reserved time-namespace
    /// page, image), creates the page's writer and finds the functions.
    pub fn map(name: &'static str, image: &[u8], config: Config) -> Result<Vdso, String> {
        let pages = image.len().div_ceil(PAGE_SIZE);
        let base = sys::mmap_anonymous(DATA_PAGE_OFFSET + pages * PAGE_SIZE)
            .map_err(|e| format!("mmap: {e}"))?;
        let layout = Layout::new(base).ok_or("mmap returned an unaligned address")?;
        // SAFETY: `data_page` is the first page of a fresh private mapping
        // of ours, page-aligned and writable; from here on it is written only
        // through the returned reference.
        let page: &'static DataPage =
            unsafe { loader::init_data_page(layout.data_page as *mut DataPage) };
        // SAFETY: our own page, which nothing touches (Linux maps nothing
        // there for a task outside a time namespace).
        let ret = unsafe { sys::mprotect(layout.timens_page, PAGE_SIZE, sys::PROT_NONE) };
        if ret != 0 {
            return Err(format!("mprotect(time-namespace page): {ret}"));
        }
        // SAFETY: the image pages are ours, writable, and `pages` pages hold
        // `image.len()` bytes.
        unsafe { ptr::copy_nonoverlapping(image.as_ptr(), layout.image as *mut u8, image.len()) };
        sys::sync_icache(layout.image, image.len());
        // SAFETY: from now on the image is only read and executed.
        let ret = unsafe {
            sys::mprotect(
                layout.image,
                pages * PAGE_SIZE,
                sys::PROT_READ | sys::PROT_EXEC,
            )
        };
        if ret != 0 {
            return Err(format!("mprotect(image): {ret}"));
        }
        // SAFETY: the image's bytes are mapped readable for the rest of the
        // process and never written again.
        let mapped: &'static [u8] =
            unsafe { std::slice::from_raw_parts(layout.image as *const u8, image.len()) };
        let mapping = Mapping::new(mapped, layout.image as u64);
        let mut addresses = [0; 3];
        for (address, function) in addresses.iter_mut().zip(FUNCTIONS) {
            let found = parse_vdso::lookup(&mapping, VERSION, function)
                .map_err(|e| format!("parse_vdso: {function}@{VERSION}: {e}"))?;
            let inside = layout.image as u64..(layout.image + image.len()) as u64;
            if !inside.contains(&found) || found % 4 != 0 {
                return Err(format!(
                    "parse_vdso: {function}@{VERSION} at {found:#x}, not an instruction in the image"
                ));
            }
            *address = found as usize;
        }
        let writer = Writer::new(page, config).map_err(|e| format!("Writer::new: {e}"))?;
        // SAFETY: see the module's Safety section: each address is the
        // image's function of that name, with that C signature.
        let (gettime, gettimeofday, getres) = unsafe {
            (
                std::mem::transmute::<usize, ClockGettime>(addresses[0]),
                std::mem::transmute::<usize, Gettimeofday>(addresses[1]),
                std::mem::transmute::<usize, ClockGetres>(addresses[2]),
            )
        };
        Ok(Vdso {
            name,
            layout,
            page,
            writer,
            gettime,
            gettimeofday,
            getres,
            addresses,
        })
    }

    /// `clock_gettime(id, &ts)` through this image.
    pub fn clock_gettime(&self, id: i32) -> (i32, Timespec) {
        let mut ts = POISON;
        // SAFETY: see the module's Safety section; `ts` is ours.
        let ret = unsafe { (self.gettime)(id, &mut ts) };
        (ret, ts)
    }

    /// `clock_getres(id, &ts)` through this image.
    pub fn clock_getres(&self, id: i32) -> (i32, Timespec) {
        let mut ts = POISON;
        // SAFETY: see the module's Safety section; `ts` is ours.
        let ret = unsafe { (self.getres)(id, &mut ts) };
        (ret, ts)
    }

    /// `clock_getres(id, NULL)` through this image.
    pub fn clock_getres_null(&self, id: i32) -> i32 {
        // SAFETY: see the module's Safety section; both images accept a null
        // `res` (Linux's skips the store, ours too or hands it to the
        // kernel).
        unsafe { (self.getres)(id, null_mut()) }
    }

    /// `gettimeofday(&tv, &tz)` through this image.
    pub fn gettimeofday(&self) -> (i32, Timeval, Timezone) {
        self.gettimeofday_nulls(true, true)
    }

    /// `gettimeofday(tv, tz)` with either pointer null where asked: (return
    /// value, tv, tz). A buffer not written keeps [`TV_POISON`] /
    /// [`TZ_POISON`].
    pub fn gettimeofday_nulls(&self, want_tv: bool, want_tz: bool) -> (i32, Timeval, Timezone) {
        let mut tv = TV_POISON;
        let mut tz = TZ_POISON;
        let tv_ptr = if want_tv { &raw mut tv } else { null_mut() };
        let tz_ptr = if want_tz { &raw mut tz } else { null_mut() };
        // SAFETY: see the module's Safety section; each pointer is null or
        // ours (neither image dereferences a null one).
        let ret = unsafe { (self.gettimeofday)(tv_ptr, tz_ptr) };
        (ret, tv, tz)
    }

    /// The data page's bytes.
    pub fn page_bytes(&self) -> &[u8] {
        // SAFETY: the page is `PAGE_SIZE` bytes, all initialised (zeroed by
        // `init_data_page`, then written field by field), and no writer runs
        // while this shared view lives: writers write only when this thread
        // calls them.
        unsafe { std::slice::from_raw_parts((self.page as *const DataPage).cast(), PAGE_SIZE) }
    }
}

/// Both images, their pages always holding the same time.
pub struct Pair {
    /// Our image ([`IMAGE_PADDED`]).
    pub ours: Vdso,
    /// Linux's.
    pub linux: Vdso,
    /// The counter's frequency in Hz.
    pub frequency: u64,
}

impl Pair {
    /// Maps our image and then `linux_image`, each with its own data page
    /// and a writer with `config`, and finds their functions. Publishes
    /// nothing yet.
    pub fn map(linux_image: &[u8], config: Config) -> Result<Pair, String> {
        Pair::map_with(IMAGE_PADDED, linux_image, config)
    }

    /// [`Pair::map`] with `ours` (one of loader's 64-bit images, padded)
    /// as our image.
    pub fn map_with(ours: &[u8], linux_image: &[u8], config: Config) -> Result<Pair, String> {
        Ok(Pair {
            ours: Vdso::map("ours", ours, config)?,
            linux: Vdso::map("Linux's", linux_image, config)?,
            frequency: config.frequency,
        })
    }

    /// Both, in turn.
    pub fn both(&self) -> [&Vdso; 2] {
        [&self.ours, &self.linux]
    }

    pub fn both_mut(&mut self) -> [&mut Vdso; 2] {
        [&mut self.ours, &mut self.linux]
    }

    /// The writer's view of the time both pages hold (they are equal).
    pub fn writer(&self) -> &Writer<'static> {
        &self.linux.writer
    }

    /// Reads the counter both images read.
    pub fn counter(&self) -> u64 {
        self.writer().read_counter()
    }

    pub fn publish(&mut self, clocks: Clocks) {
        for vdso in self.both_mut() {
            vdso.writer.publish(clocks);
            vdso.writer.set_timezone(TIMEZONE);
        }
    }

    pub fn tick(&mut self) {
        let counter = self.counter();
        for vdso in self.both_mut() {
            vdso.writer.tick(counter);
        }
    }

    pub fn set_enabled(&mut self, enabled: bool) {
        for vdso in self.both_mut() {
            vdso.writer.set_enabled(enabled);
        }
    }

    /// The clocks to publish now (see the module docs).
    pub fn clocks(&self) -> Clocks {
        let counter = self.counter();
        let mut host = Timespec::default();
        sys::clock_gettime(clock::REALTIME, &mut host);
        let since_zero = i128::from(counter) * NS / i128::from(self.frequency);
        let realtime = i128::from(FAKE_EPOCH) * NS + i128::from(host.tv_nsec);
        Clocks {
            counter,
            realtime: from_ns(realtime),
            monotonic: from_ns(since_zero),
            monotonic_raw: from_ns(since_zero + 1_500_000_000),
            boottime: from_ns(since_zero + 3_250_000_000),
            tai: from_ns(realtime + 37 * NS),
        }
    }

    /// The writer's time of `id` at `counter`, in ns.
    pub fn expected(&self, id: i32, counter: u64) -> Result<i128, String> {
        self.writer()
            .clock_gettime(id, counter)
            .map(ns)
            .ok_or_else(|| format!("the writer has no time for {}", clock_name(id)))
    }
}
