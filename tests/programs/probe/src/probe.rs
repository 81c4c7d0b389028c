//! The checks: the probe maps the vDSO like a kernel, publishes time like a
//! kernel, and holds every export to the real syscall's answer.
//!
//! # Tolerances
//!
//! A served clock is read as `syscall before ≤ vDSO ≤ syscall after`, widened
//! only by what was measured: the publication uncertainty (each base time is
//! the midpoint of two syscalls around one counter read, so it is off by at
//! most half their distance; the best of several tries is kept) plus the
//! counter's quantum (the counter truncates both the publication instant and
//! the reading instant) plus 1 ns for the midpoint's rounding. Every check
//! re-publishes first, like a kernel tick, so the rate difference between the
//! counter and the host's MONOTONIC_RAW (NTP's frequency correction) has no
//! time to add up.
//!
//! The quantum is measured, not assumed: on hardware it is one tick (16 ns at
//! 62.5 MHz), but qemu-user derives `CNTVCT_EL0` from the host's
//! `gettimeofday` (value = realtime / 16 ns), so it moves in steps of 62 or
//! 63 counts, 1 µs. The bound used is one largest regular step plus one tick.
//!
//! # Safety
//!
//! Calling into the image is calling foreign code through a function pointer
//! built from an address: sound because the probe mapped the image itself,
//! executable, at `layout.image`, the data page `DATA_PAGE_OFFSET` below it
//! readable, and `loader::offsets` names functions with the C signatures of
//! the syscalls they replace.

use std::fmt::Write as _;
use std::ptr::{self, null_mut};

use loader::{
    clock, offsets, Config, CounterSource, DataPage, Layout, Timespec, Timeval, Timezone, Writer,
    IMAGE, IMAGE_LEN, IMAGE_PAGES, PAGE_SIZE,
};

use vdso_probe::host::{publish_host_clocks, sys_ns, sys_res, sys_time, sys_timeofday};
use vdso_probe::report::{clock_name, ensure, ns, Report, NS};
use vdso_probe::{sys, ClockGetres, ClockGettime, Gettimeofday};

const EINVAL: i32 = 22;

/// Clock ids the page does not serve: CPU-time clocks, alarm clocks, ids
/// Linux rejects, and a dynamic CPU clock (`-6`: the calling process's
/// CPUCLOCK_SCHED, `(~0 << 3) | 2`).
const NOT_SERVED: [i32; 13] = [2, 3, 8, 9, 10, 12, 15, 16, 100, -1, -6, i32::MIN, i32::MAX];

/// The image's exports, as callable functions.
struct Exports {
    gettime: [(&'static str, ClockGettime); 3],
    gettimeofday: [(&'static str, Gettimeofday); 2],
    getres: [(&'static str, ClockGetres); 2],
}

/// The probe's "kernel": the mapping and the data-page writer.
struct Kernel {
    layout: Layout,
    writer: Writer<'static>,
    exports: Exports,
    /// Counter frequency (Hz).
    frequency: u64,
    /// Bound on the counter's truncation error, in ns (see the module docs).
    quantum_ns: i128,
    /// The host's resolutions, which this kernel publishes as its own.
    hrtimer_res: Timespec,
    coarse_res: Timespec,
    /// The host's timezone.
    timezone: Timezone,
}

/// Poison for output buffers, so a function that returns 0 without writing
/// is caught.
const POISON: Timespec = Timespec {
    tv_sec: -77,
    tv_nsec: -77,
};

impl Kernel {
    /// Maps data page, time-namespace page and `image` (one of loader's
    /// two 64-bit images); publishes nothing yet.
    fn boot(report: &mut Report, image: &[u8]) -> Result<Kernel, String> {
        let base = sys::mmap_anonymous(Layout::SIZE).map_err(|e| format!("mmap: {e}"))?;
        let layout = Layout::new(base).ok_or("mmap returned an unaligned address")?;
        // SAFETY: `data_page` is the first page of a fresh private mapping
        // of ours, page-aligned and writable; nothing else refers to it, and
        // from here on it is written only through the returned reference.
        let page: &'static DataPage =
            unsafe { loader::init_data_page(layout.data_page as *mut DataPage) };
        // The time-namespace page: reserved, nothing accessible (Linux maps
        // nothing there for a task outside a time namespace).
        // SAFETY: our own page, which nothing touches.
        let ret = unsafe { sys::mprotect(layout.timens_page, PAGE_SIZE, sys::PROT_NONE) };
        if ret != 0 {
            return Err(format!("mprotect(timens page): {ret}"));
        }
        assert_eq!(image.len(), IMAGE_LEN, "loader's images have one length");
        // SAFETY: the image pages are ours and writable; `image` is IMAGE_LEN
        // bytes and the mapping has IMAGE_PAGES pages for it.
        unsafe { ptr::copy_nonoverlapping(image.as_ptr(), layout.image as *mut u8, IMAGE_LEN) };
        sys::sync_icache(layout.image, IMAGE_LEN);
        // SAFETY: from now on the image is only read and executed.
        let ret = unsafe {
            sys::mprotect(
                layout.image,
                IMAGE_PAGES * PAGE_SIZE,
                sys::PROT_READ | sys::PROT_EXEC,
            )
        };
        if ret != 0 {
            return Err(format!("mprotect(image): {ret}"));
        }

        let frequency = loader::arch::frequency();
        let (_, hrtimer_res) = sys_res(clock::MONOTONIC);
        let (_, coarse_res) = sys_res(clock::MONOTONIC_COARSE);
        let config = Config {
            hrtimer_res: hrtimer_res.tv_nsec as u32,
            coarse_res: coarse_res.tv_nsec as u32,
            ..Config::new(CounterSource::Virtual, frequency)
        };
        let writer = Writer::new(page, config).map_err(|e| format!("Writer::new: {e}"))?;
        let (_, _, timezone) = sys_timeofday();
        let scale = writer.scale();
        report.note(&format!(
            "image {IMAGE_LEN} bytes at {:#x}, data page at {:#x}; counter {frequency} Hz, \
             mult {} shift {}; host resolutions {} ns / {} ns",
            layout.image,
            layout.data_page,
            scale.mult,
            scale.shift,
            hrtimer_res.tv_nsec,
            coarse_res.tv_nsec,
        ));
        let exports = Exports::at(layout.image);
        let (steps, quantum_ns) = counter_quantum(&writer, frequency);
        report.note(&format!(
            "counter steps {steps:?}: quantum bound {quantum_ns} ns"
        ));
        Ok(Kernel {
            layout,
            writer,
            exports,
            frequency,
            quantum_ns,
            hrtimer_res,
            coarse_res,
            timezone,
        })
    }

    /// Publishes every clock, with `reference`'s own bracket defining the
    /// counter value (so its base is as good as measured); the other clocks
    /// are carried to that counter value. Returns `reference`'s uncertainty.
    fn publish_for(&mut self, reference: i32) -> i128 {
        publish_host_clocks(&mut self.writer, self.frequency, reference)
    }

    /// `clock_gettime` through `f`: (return value, time).
    fn vdso_time(f: ClockGettime, id: i32) -> (i32, Timespec) {
        let mut ts = POISON;
        // SAFETY: see the module's Safety section; `ts` is ours.
        let ret = unsafe { f(id, &mut ts) };
        (ret, ts)
    }

    /// `clock_getres` through `f`.
    fn vdso_res(f: ClockGetres, id: i32) -> (i32, Timespec) {
        let mut ts = POISON;
        // SAFETY: see the module's Safety section; `ts` is ours.
        let ret = unsafe { f(id, &mut ts) };
        (ret, ts)
    }

    /// A served clock through every `clock_gettime` export: within the
    /// syscall sandwich widened by the measured tolerance.
    fn check_served_clocks(&mut self, report: &mut Report) {
        for id in loader::clock::SERVED {
            let coarse = id == clock::REALTIME_COARSE || id == clock::MONOTONIC_COARSE;
            for (symbol, f) in self.exports.gettime {
                let reference = match id {
                    clock::REALTIME_COARSE => clock::REALTIME,
                    clock::MONOTONIC_COARSE => clock::MONOTONIC,
                    _ => id,
                };
                let publication = self.publish_for(reference);
                let before = sys_ns(id);
                let lag_before = sys_ns(reference) - before;
                let (ret, got) = Self::vdso_time(f, id);
                let after = sys_ns(id);
                let lag_after = sys_ns(reference) - after;
                // A high-resolution clock: publication error plus the
                // counter's quantum plus the midpoint's rounding.
                //
                // A coarse clock is the high-resolution clock sampled at a
                // tick: ours at the publication just now (off by the
                // publication error), the host's at its last timer tick, up
                // to one coarse resolution (the host's clock_getres) ago, or
                // more when the host's tick runs late (a busy or virtualised
                // host): the lag measured next to each syscall, high-res
                // minus coarse, bounds that. So the two may differ by the
                // larger of resolution and measured lag, plus the
                // publication error, either way.
                let tolerance = if coarse {
                    let res = i128::from(self.coarse_res.tv_nsec);
                    res.max(lag_before).max(lag_after) + publication + 1
                } else {
                    publication + self.quantum_ns + 1
                };
                let name = format!("clock_gettime({}) via {symbol}", clock_name(id));
                report.note(&format!(
                    "{name}: publication ±{publication} ns, tolerance ±{tolerance} ns, \
                     vDSO - syscall before = {} ns{}",
                    ns(got) - before,
                    if coarse {
                        format!(", host coarse lag {lag_before}/{lag_after} ns")
                    } else {
                        String::new()
                    }
                ));
                report.check(
                    &name,
                    ensure(ret == 0, || format!("returned {ret}")).and_then(|()| {
                        let v = ns(got);
                        ensure(before - tolerance <= v && v <= after + tolerance, || {
                            format!(
                                "{v} not in [{before}, {after}] ± {tolerance} ns (off by {} ns)",
                                if v < before { v - before } else { v - after }
                            )
                        })
                    }),
                );
            }
        }
    }

    /// The page really is what answers: a page published 1000 s ahead reads
    /// 1000 s ahead.
    fn check_page_is_used(&mut self, report: &mut Report) {
        self.publish_for(clock::REALTIME);
        let counter = self.writer.read_counter();
        let mut clocks = self.writer.clocks(counter);
        for t in clocks.times_mut() {
            t.tv_sec += 1000;
        }
        self.writer.publish(clocks);
        let before = sys_ns(clock::REALTIME);
        let (_, got) = Self::vdso_time(self.exports.gettime[0].1, clock::REALTIME);
        let ahead = ns(got) - before;
        report.check(
            "clock_gettime(REALTIME) comes from the page (published 1000 s ahead)",
            ensure((999 * NS..1001 * NS).contains(&ahead), || {
                format!("read {ahead} ns ahead of the syscall")
            }),
        );
    }

    /// Ticks between reads: MONOTONIC never goes backwards and stays in the
    /// syscall sandwich.
    fn check_ticks(&mut self, report: &mut Report) {
        let publication = self.publish_for(clock::MONOTONIC);
        let tolerance = publication + self.quantum_ns + 1;
        let f = self.exports.gettime[0].1;
        let mut last = 0;
        let mut host_offset = realtime_minus_monotonic();
        let mut steps = 0;
        let mut result = Ok(());
        for i in 0..2000 {
            if i % 10 == 0 {
                let counter = self.writer.read_counter();
                self.writer.tick(counter);
            }
            let before = sys_ns(clock::MONOTONIC);
            let (ret, got) = Self::vdso_time(f, clock::MONOTONIC);
            let after = sys_ns(clock::MONOTONIC);
            let v = ns(got);
            if ret != 0 || v < last || v < before - tolerance || v > after + tolerance {
                // qemu-user's counter follows the host's CLOCK_REALTIME: if
                // the host stepped that clock against CLOCK_MONOTONIC since
                // the publication, the page's MONOTONIC moved with it, and
                // the sandwich says nothing about the vDSO. Publish again
                // and go on, at most three times; any other miss fails.
                let offset = realtime_minus_monotonic();
                if ret == 0 && (offset - host_offset).abs() > tolerance && steps < 3 {
                    report.note(&format!(
                        "read {i}: the host stepped CLOCK_REALTIME by {} ns; published again",
                        offset - host_offset
                    ));
                    steps += 1;
                    self.publish_for(clock::MONOTONIC);
                    (host_offset, last) = (realtime_minus_monotonic(), 0);
                    continue;
                }
                result = Err(format!(
                    "read {i}: ret {ret}, {v} after {last}, sandwich [{before}, {after}] ± {tolerance}"
                ));
                break;
            }
            last = v;
        }
        report.check(
            "clock_gettime(MONOTONIC) across 200 ticks: monotonic, in sandwich",
            result,
        );
    }

    fn check_gettimeofday(&mut self, report: &mut Report) {
        for (symbol, f) in self.exports.gettimeofday {
            // With a timezone: time in the sandwich, timezone the host's.
            self.writer.set_timezone(self.timezone);
            let publication = self.publish_for(clock::REALTIME);
            let tolerance = publication + self.quantum_ns + 1;
            let (_, tv0, _) = sys_timeofday();
            let mut tv = Timeval {
                tv_sec: -1,
                tv_usec: -1,
            };
            let mut tz = Timezone {
                tz_minuteswest: 12345,
                tz_dsttime: 12345,
            };
            // SAFETY: see the module's Safety section; both buffers are ours.
            let ret = unsafe { f(&mut tv, &mut tz) };
            let (_, tv1, _) = sys_timeofday();
            let us = |t: Timeval| i128::from(t.tv_sec) * NS + i128::from(t.tv_usec) * 1000;
            // A timeval truncates to the microsecond: the exact times lie in
            // [us, us + 999] ns.
            let (lo, hi, got) = (us(tv0), us(tv1) + 999, us(tv));
            report.check(
                &format!("gettimeofday(tv, tz) via {symbol}"),
                ensure(ret == 0, || format!("returned {ret}"))
                    .and_then(|()| {
                        ensure(got + 999 >= lo - tolerance && got <= hi + tolerance, || {
                            format!("{got} not in [{lo}, {hi}] ± {tolerance} ns")
                        })
                    })
                    .and_then(|()| {
                        ensure(tv.tv_usec >= 0 && tv.tv_usec < 1_000_000, || {
                            format!("tv_usec {}", tv.tv_usec)
                        })
                    })
                    .and_then(|()| {
                        ensure(tz == self.timezone, || {
                            format!("tz {tz:?}, host {:?}", self.timezone)
                        })
                    }),
            );

            // The timezone comes from the page: publish a different one.
            let other = Timezone {
                tz_minuteswest: -60,
                tz_dsttime: 1,
            };
            self.writer.set_timezone(other);
            let mut tz = Timezone::default();
            // SAFETY: as above; `tv` may be null.
            let ret = unsafe { f(null_mut(), &mut tz) };
            report.check(
                &format!("gettimeofday(NULL, tz) via {symbol} reads the published timezone"),
                ensure(ret == 0 && tz == other, || {
                    format!("returned {ret}, tz {tz:?}")
                }),
            );
            self.writer.set_timezone(self.timezone);

            // NULL timezone.
            let (_, tv0, _) = sys_timeofday();
            let mut tv = Timeval::default();
            // SAFETY: as above; `tz` may be null.
            let ret = unsafe { f(&mut tv, null_mut()) };
            let (_, tv1, _) = sys_timeofday();
            let (lo, hi, got) = (us(tv0), us(tv1) + 999, us(tv));
            report.check(
                &format!("gettimeofday(tv, NULL) via {symbol}"),
                ensure(ret == 0, || format!("returned {ret}")).and_then(|()| {
                    ensure(got + 999 >= lo - tolerance && got <= hi + tolerance, || {
                        format!("{got} not in [{lo}, {hi}] ± {tolerance} ns")
                    })
                }),
            );

            // NULL, NULL: the syscall says 0.
            let want = sys::gettimeofday(null_mut(), null_mut());
            // SAFETY: as above; both may be null.
            let ret = unsafe { f(null_mut(), null_mut()) };
            report.check(
                &format!("gettimeofday(NULL, NULL) via {symbol}"),
                ensure(ret == want, || format!("returned {ret}, syscall {want}")),
            );
        }
    }

    fn check_getres(&mut self, report: &mut Report) {
        self.publish_for(clock::MONOTONIC);
        for (symbol, f) in self.exports.getres {
            for id in loader::clock::SERVED {
                let want = sys_res(id);
                let got = Self::vdso_res(f, id);
                let expected = if id == clock::REALTIME_COARSE || id == clock::MONOTONIC_COARSE {
                    self.coarse_res
                } else {
                    self.hrtimer_res
                };
                report.check(
                    &format!("clock_getres({}) via {symbol}", clock_name(id)),
                    ensure(got == want && got == (0, expected), || {
                        format!("got {got:?}, syscall {want:?}")
                    }),
                );
                let want = sys::clock_getres(id, null_mut());
                // SAFETY: see the module's Safety section; `res` may be null.
                let ret = unsafe { f(id, null_mut()) };
                report.check(
                    &format!("clock_getres({}, NULL) via {symbol}", clock_name(id)),
                    ensure(ret == want && ret == 0, || {
                        format!("returned {ret}, syscall {want}")
                    }),
                );
            }
        }
    }

    /// Ids the page does not serve get exactly the syscall's answer.
    fn check_not_served(&mut self, report: &mut Report) {
        self.publish_for(clock::MONOTONIC);
        let gettime = self.exports.gettime;
        let getres = self.exports.getres;
        for id in NOT_SERVED {
            for (symbol, f) in gettime {
                let (want0, t0) = sys_time(id);
                let (ret, got) = Self::vdso_time(f, id);
                let (want1, t1) = sys_time(id);
                // CPU-time and alarm clocks move; their values only need to
                // be ordered between the two syscalls.
                let result = ensure(ret == want0 && ret == want1, || {
                    format!("returned {ret}, syscall {want0}/{want1}")
                })
                .and_then(|()| {
                    ensure(ret != 0 || (ns(t0) <= ns(got) && ns(got) <= ns(t1)), || {
                        format!("{got:?} not between {t0:?} and {t1:?}")
                    })
                });
                report.check(
                    &format!("clock_gettime({}) via {symbol} falls back", clock_name(id)),
                    result,
                );
            }
            for (symbol, f) in getres {
                let want = sys_res(id);
                let got = Self::vdso_res(f, id);
                // On failure the syscall leaves `res` alone, so compare it
                // only on success.
                let same = got.0 == want.0 && (got.0 != 0 || got.1 == want.1);
                report.check(
                    &format!("clock_getres({}) via {symbol} falls back", clock_name(id)),
                    ensure(same, || format!("got {got:?}, syscall {want:?}")),
                );
                let want = sys::clock_getres(id, null_mut());
                // SAFETY: see the module's Safety section; `res` may be null.
                let ret = unsafe { f(id, null_mut()) };
                report.check(
                    &format!(
                        "clock_getres({}, NULL) via {symbol} falls back",
                        clock_name(id)
                    ),
                    ensure(ret == want, || format!("returned {ret}, syscall {want}")),
                );
            }
        }
        // A served clock with a NULL result goes to the syscall, which
        // reports EFAULT.
        for (symbol, f) in gettime {
            let want = sys::clock_gettime(clock::MONOTONIC, null_mut());
            // SAFETY: see the module's Safety section; the image passes the
            // null pointer to the kernel, which rejects it.
            let ret = unsafe { f(clock::MONOTONIC, null_mut()) };
            report.check(
                &format!("clock_gettime(MONOTONIC, NULL) via {symbol}"),
                ensure(ret == want, || format!("returned {ret}, syscall {want}")),
            );
        }
        let (ret, _) = sys_time(-1);
        report.check(
            "clock_gettime(-1) syscall says EINVAL (sanity of the reference)",
            ensure(ret == -EINVAL, || format!("returned {ret}")),
        );
    }

    /// With the page disabled (`clock_mode = NONE`) every call is the
    /// syscall. The page is first published 1000 s ahead and with another
    /// timezone, so an answer taken from it would show.
    fn check_disabled(&mut self, report: &mut Report) {
        let counter = self.writer.read_counter();
        let mut clocks = self.writer.clocks(counter);
        clocks.realtime.tv_sec += 1000;
        clocks.monotonic.tv_sec += 1000;
        clocks.monotonic_raw.tv_sec += 1000;
        clocks.boottime.tv_sec += 1000;
        clocks.tai.tv_sec += 1000;
        self.writer.publish(clocks);
        self.writer.set_timezone(Timezone {
            tz_minuteswest: -60,
            tz_dsttime: 1,
        });
        self.writer.set_enabled(false);
        for id in loader::clock::SERVED {
            for (symbol, f) in self.exports.gettime {
                let before = sys_ns(id);
                let (ret, got) = Self::vdso_time(f, id);
                let after = sys_ns(id);
                let v = ns(got);
                report.check(
                    &format!("disabled: clock_gettime({}) via {symbol}", clock_name(id)),
                    ensure(ret == 0 && before <= v && v <= after, || {
                        format!("returned {ret}, {v} not in [{before}, {after}]")
                    }),
                );
            }
            for (symbol, f) in self.exports.getres {
                let want = sys_res(id);
                let got = Self::vdso_res(f, id);
                report.check(
                    &format!("disabled: clock_getres({}) via {symbol}", clock_name(id)),
                    ensure(got == want, || format!("got {got:?}, syscall {want:?}")),
                );
            }
        }
        for (symbol, f) in self.exports.gettimeofday {
            let (_, tv0, _) = sys_timeofday();
            let mut tv = Timeval::default();
            let mut tz = Timezone::default();
            // SAFETY: see the module's Safety section; both buffers are ours.
            let ret = unsafe { f(&mut tv, &mut tz) };
            let (_, tv1, _) = sys_timeofday();
            let us = |t: Timeval| i128::from(t.tv_sec) * 1_000_000 + i128::from(t.tv_usec);
            report.check(
                &format!("disabled: gettimeofday(tv, tz) via {symbol}"),
                ensure(
                    ret == 0 && us(tv0) <= us(tv) && us(tv) <= us(tv1) && tz == self.timezone,
                    || {
                        format!(
                            "returned {ret}, {tv:?} {tz:?} vs {tv0:?}..{tv1:?} {:?}",
                            self.timezone
                        )
                    },
                ),
            );
        }
        self.writer.set_enabled(true);
        self.writer.set_timezone(self.timezone);
    }

    /// The fast path makes no syscalls: calls between two strace markers.
    fn strace_window(&mut self, report: &mut Report) {
        self.publish_for(clock::MONOTONIC);
        sys::strace_marker(c"/vdso-probe-window-begin");
        let mut ok = true;
        for _ in 0..100 {
            for id in loader::clock::SERVED {
                for (_, f) in self.exports.gettime {
                    ok &= Self::vdso_time(f, id).0 == 0;
                }
                for (_, f) in self.exports.getres {
                    ok &= Self::vdso_res(f, id).0 == 0;
                }
            }
            for (_, f) in self.exports.gettimeofday {
                let mut tv = Timeval::default();
                let mut tz = Timezone::default();
                // SAFETY: see the module's Safety section; both are ours.
                ok &= unsafe { f(&mut tv, &mut tz) } == 0;
            }
        }
        sys::strace_marker(c"/vdso-probe-window-end");
        report.check(
            "fast-path window (count time syscalls between the strace markers: must be 0)",
            ensure(ok, || "a call failed".to_string()),
        );
    }

    /// `__kernel_rt_sigreturn`: the bytes, and a real signal returning
    /// through it.
    fn check_sigreturn(&mut self, report: &mut Report) {
        let at = self.layout.image + offsets::KERNEL_RT_SIGRETURN;
        // SAFETY: `at - 4 .. at + 8` lies inside the mapped, readable image
        // (offsets are checked against IMAGE_LEN at compile time).
        let words = unsafe { [-4isize, 0, 4].map(|o| ptr::read((at as isize + o) as *const u32)) };
        report.check(
            "__kernel_rt_sigreturn is nop | mov x8, #139; svc #0",
            ensure(words == [0xd503_201f, 0xd280_1168, 0xd400_0001], || {
                let mut s = String::new();
                for w in words {
                    let _ = write!(s, "{w:#010x} ");
                }
                s
            }),
        );
        let action = sys::KernelSigaction {
            handler: sys::vdso_probe_signal_handler as *const () as usize,
            flags: sys::SA_RESTORER,
            restorer: at,
            mask: 0,
        };
        // SAFETY: the handler only stores its return address; the restorer
        // was just checked to be `mov x8, #139; svc #0`.
        let ret = unsafe { sys::rt_sigaction(sys::SIGUSR1, &action) };
        if ret != 0 {
            report.check("rt_sigaction(SIGUSR1)", Err(format!("returned {ret}")));
            return;
        }
        // If the trampoline is wrong, the process dies here and the summary
        // line never appears.
        let raised = sys::raise(sys::SIGUSR1);
        let seen = sys::HANDLER_RETURN.load(std::sync::atomic::Ordering::Relaxed) as usize;
        let default = sys::KernelSigaction {
            handler: 0,
            flags: 0,
            restorer: 0,
            mask: 0,
        };
        // SAFETY: SIG_DFL.
        unsafe { sys::rt_sigaction(sys::SIGUSR1, &default) };
        report.check(
            "a signal handler returns through __kernel_rt_sigreturn",
            ensure(raised == 0 && seen == at, || {
                format!("tgkill {raised}, handler returned to {seen:#x}, trampoline at {at:#x}")
            }),
        );
    }
}

impl Exports {
    fn at(image: usize) -> Exports {
        // SAFETY: see the module's Safety section: each offset names a
        // function with the C signature of its syscall.
        unsafe {
            let gettime = |off: usize| std::mem::transmute::<usize, ClockGettime>(image + off);
            let gettimeofday = |off: usize| std::mem::transmute::<usize, Gettimeofday>(image + off);
            let getres = |off: usize| std::mem::transmute::<usize, ClockGetres>(image + off);
            Exports {
                gettime: [
                    (
                        "__kernel_clock_gettime",
                        gettime(offsets::KERNEL_CLOCK_GETTIME),
                    ),
                    ("__vdso_clock_gettime", gettime(offsets::VDSO_CLOCK_GETTIME)),
                    (
                        "__vdso_clock_gettime64",
                        gettime(offsets::VDSO_CLOCK_GETTIME64),
                    ),
                ],
                gettimeofday: [
                    (
                        "__kernel_gettimeofday",
                        gettimeofday(offsets::KERNEL_GETTIMEOFDAY),
                    ),
                    (
                        "__vdso_gettimeofday",
                        gettimeofday(offsets::VDSO_GETTIMEOFDAY),
                    ),
                ],
                getres: [
                    (
                        "__kernel_clock_getres",
                        getres(offsets::KERNEL_CLOCK_GETRES),
                    ),
                    ("__vdso_clock_getres", getres(offsets::VDSO_CLOCK_GETRES)),
                ],
            }
        }
    }
}

/// The counter's regular steps between consecutive changes, and the bound on
/// its truncation error: one largest regular step plus one tick, in ns.
/// Steps more than twice the smallest are interruptions, not resolution.
fn counter_quantum(writer: &Writer<'_>, frequency: u64) -> (Vec<u64>, i128) {
    let mut steps = Vec::new();
    let mut last = writer.read_counter();
    while steps.len() < 40 {
        let now = writer.read_counter();
        if now != last {
            steps.push(now.wrapping_sub(last));
            last = now;
        }
    }
    let min = steps.iter().copied().min().unwrap_or(1);
    let max = steps
        .iter()
        .copied()
        .filter(|&s| s <= 2 * min)
        .max()
        .unwrap_or(min);
    let ticks = i128::from(max) + 1;
    let hz = i128::from(frequency);
    let mut regular: Vec<u64> = steps.iter().copied().filter(|&s| s <= 2 * min).collect();
    regular.sort_unstable();
    regular.dedup();
    (regular, (ticks * NS + hz - 1) / hz)
}

/// The host's CLOCK_REALTIME minus its CLOCK_MONOTONIC, in ns: constant
/// unless the host steps or slews its wall clock.
fn realtime_minus_monotonic() -> i128 {
    sys_ns(clock::REALTIME) - sys_ns(clock::MONOTONIC)
}

/// Runs every check on `loader::IMAGE`, or with `ecv` on the FEAT_ECV image
/// (`loader::ecv::IMAGE`); returns the exit status.
pub fn run(ecv: bool) -> i32 {
    let mut report = Report::default();
    let image = if ecv { loader::ecv::IMAGE } else { IMAGE };
    report.note(if ecv {
        "image: loader::ecv::IMAGE (counter reads patched to CNTVCTSS_EL0)"
    } else {
        "image: loader::IMAGE"
    });
    let mut kernel = match Kernel::boot(&mut report, image) {
        Ok(kernel) => kernel,
        Err(e) => {
            report.check("map the vDSO", Err(e));
            return report.finish();
        }
    };
    report.check("map the vDSO", Ok(()));
    // Before the first publish the page says NONE: the syscall answers.
    let (ret, _) = Kernel::vdso_time(kernel.exports.gettime[0].1, clock::MONOTONIC);
    report.check(
        "clock_gettime(MONOTONIC) before the first publish",
        ensure(ret == 0, || format!("returned {ret}")),
    );
    kernel.check_served_clocks(&mut report);
    kernel.check_page_is_used(&mut report);
    kernel.check_ticks(&mut report);
    kernel.check_gettimeofday(&mut report);
    kernel.check_getres(&mut report);
    kernel.check_not_served(&mut report);
    kernel.strace_window(&mut report);
    kernel.check_disabled(&mut report);
    kernel.check_sigreturn(&mut report);
    match crate::random::Rng::new(kernel.layout.image, &mut kernel.writer) {
        Ok(mut rng) => rng.check(&mut report),
        Err(e) => report.check("map getrandom states", Err(e)),
    }
    report.finish()
}
