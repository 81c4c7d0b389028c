//! Reset entry and boot: qemu starts the kernel at `_start` at EL1, MMU
//! off, on one CPU. The assembly sets up a stack, lets EL1 use the FP/SIMD
//! registers (Rust code for this target does), clears .bss and calls
//! [`kmain`], which does the rest in the order a kernel author would.

use alloc::vec::Vec;
use core::arch::global_asm;

use loader::{zeroed_data_page, Config, CounterSource, DataPage, Timespec, Writer};

use crate::console::kprintln;
use crate::kernel::{self, Kernel, Stats};
use crate::programs::PROGRAMS;
use crate::{fdt, mm, process, timer, trap};

global_asm!(
    r#"
    .section .text.boot, "ax"
    .global _start
_start:
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff
    cbnz    x1, 2f
    adrp    x1, __stack_top
    add     x1, x1, :lo12:__stack_top
    mov     sp, x1
    mov     x1, #(3 << 20)
    msr     cpacr_el1, x1
    isb
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
1:  cmp     x1, x2
    b.hs    3f
    str     xzr, [x1], #8
    b       1b
3:  bl      kmain
2:  wfe
    b       2b
"#
);

/// Where qemu puts the device tree for an ELF kernel linked above it.
const DTB: usize = 0x4000_0000;
/// Largest device tree looked at (it must end below the kernel).
const DTB_MAX: usize = 2 << 20;
/// Ticks per second (Linux arm64's default is 250; more ticks mean more
/// writer updates for the readers to race).
const DEFAULT_HZ: u64 = 1000;

/// The vDSO data page: a page-aligned static, outside the frame allocator,
/// so no process's `munmap` can ever hand it out again.
static VVAR: DataPage = zeroed_data_page();

/// The command line, qemu's `-append`:
/// `[counter=cntvct|cntpct] [image=plain|cntpct] [hz=N] [epoch=SECS] [stamp] [bti] -- PROGRAM
/// [ARGS...]`.
#[derive(Debug)]
struct Cmdline<'a> {
    source: CounterSource,
    /// Which image processes get: the plain one, or the one whose straight
    /// paths read CNTPCT_EL0 (`loader::cntpct`).
    image: &'static str,
    hz: u64,
    epoch: Option<u64>,
    stamp: bool,
    /// Map the vDSO image as guarded pages and enforce BTI at EL0.
    bti: bool,
    argv: Vec<&'a str>,
}

fn parse(cmdline: &str) -> Result<Cmdline<'_>, &str> {
    let mut c = Cmdline {
        source: CounterSource::Virtual,
        image: "plain",
        hz: DEFAULT_HZ,
        epoch: None,
        stamp: false,
        bti: false,
        argv: Vec::new(),
    };
    let mut words = cmdline.split_ascii_whitespace();
    for word in words.by_ref() {
        match word.split_once('=') {
            _ if word == "--" => break,
            _ if word == "stamp" => c.stamp = true,
            _ if word == "bti" => c.bti = true,
            Some(("counter", "cntvct")) => c.source = CounterSource::Virtual,
            Some(("counter", "cntpct")) => c.source = CounterSource::Physical,
            Some(("image", "plain")) => c.image = "plain",
            Some(("image", "cntpct")) => c.image = "cntpct",
            Some(("hz", n)) => {
                c.hz = n
                    .parse()
                    .ok()
                    .filter(|&hz| (1..=10_000).contains(&hz))
                    .ok_or(word)?
            }
            Some(("epoch", n)) => c.epoch = Some(n.parse().map_err(|_| word)?),
            _ => return Err(word),
        }
    }
    c.argv = words.collect();
    Ok(c)
}

#[no_mangle]
extern "C" fn kmain() -> ! {
    trap::init();
    mm::init();
    kprintln!("vdso-kernel: {} programs embedded", PROGRAMS.len());

    // SAFETY: qemu wrote the device tree (if any) at DTB, in RAM below the
    // kernel, which nothing else uses; it is only read.
    let dtb = unsafe { core::slice::from_raw_parts(DTB as *const u8, DTB_MAX) };
    let args = fdt::bootargs(dtb).unwrap_or("");
    let cmd = match parse(args) {
        Ok(c) => c,
        Err(word) => panic!("command line: cannot use `{word}`"),
    };

    // The vDSO's data page: one writer, publishing once from the counter
    // and the RTC, then ticking.
    let frequency = loader::arch::frequency();
    let tick_ns = (1_000_000_000 / cmd.hz) as u32;
    let config = Config {
        coarse_res: tick_ns,
        ..Config::new(cmd.source, frequency)
    };
    let mut writer = Writer::new(&VVAR, config).expect("CNTFRQ_EL0 is set");
    let epoch = cmd.epoch.unwrap_or_else(timer::rtc_seconds);
    let counter = writer.read_counter();
    writer.publish_boot(
        counter,
        Timespec {
            tv_sec: epoch as i64,
            tv_nsec: 0,
        },
    );
    timer::allow_el0_counter(cmd.source);
    if cmd.bti {
        // The image has `bti c` at every entry an indirect call reaches and
        // says so in its GNU property note: map it guarded, as Linux does
        // on a CPU with BTI, so a call that misses a landing pad traps.
        if !mm::cpu_has_bti() {
            panic!("bti: this CPU has no FEAT_BTI (boot qemu with `-cpu max`)");
        }
        mm::enable_el0_bti();
    }
    let counter_name = match cmd.source {
        CounterSource::Virtual => "cntvct",
        CounterSource::Physical => "cntpct",
    };
    kprintln!(
        "boot counter={counter_name} image={} frequency={frequency} hz={} epoch={epoch} stamp={} \
         bti={}",
        cmd.image,
        cmd.hz,
        cmd.stamp as u8,
        cmd.bti as u8
    );

    let Some(name) = cmd.argv.first().copied() else {
        let names: Vec<&str> = PROGRAMS.iter().map(|p| p.name).collect();
        panic!("no program on the command line (`-- NAME ARGS`); embedded: {names:?}");
    };
    let Some(program) = PROGRAMS.iter().find(|p| p.name == name) else {
        panic!("no program `{name}` embedded");
    };
    let vvar = core::ptr::addr_of!(VVAR) as usize;
    let image = match cmd.image {
        "cntpct" => loader::cntpct::IMAGE_PADDED,
        _ => loader::IMAGE_PADDED,
    };
    let exec = process::exec(
        name,
        program.bytes,
        &cmd.argv,
        vvar,
        image,
        counter,
        cmd.bti,
    );
    let (process, mut frame) = match exec {
        Ok(p) => p,
        Err(e) => panic!("exec: {e}"),
    };
    kprintln!(
        "exec {:?} entry={:#x} vdso={:#x}",
        cmd.argv,
        frame.pc,
        process.layout.image
    );
    let tick_cycles = frequency / cmd.hz;
    kernel::install(Kernel {
        writer,
        frequency,
        tick_cycles,
        tick_ns,
        stamp: cmd.stamp,
        process,
        stats: Stats::default(),
    });
    timer::start(tick_cycles);
    if cmd.stamp {
        // The first stamp: every time the process reads is later.
        kernel::stamp();
    }
    trap::enter_user(&mut frame)
}

/// Turns the machine off (PSCI `SYSTEM_OFF` through `hvc`, the conduit of
/// qemu's `virt` machine without EL2): qemu exits.
pub fn power_off() -> ! {
    kprintln!("power off");
    // SAFETY: PSCI SYSTEM_OFF does not return.
    unsafe { core::arch::asm!("hvc #0", in("x0") 0x8400_0008u64, options(noreturn)) }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    kprintln!("panic: {}", info.message());
    power_off()
}

/// Debian's precompiled `alloc` was built for unwinding: its unwind tables
/// name the personality routine and its cleanup paths call
/// `_Unwind_Resume`. With `panic = "abort"` nothing ever unwinds, so
/// neither is ever called.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

/// See [`rust_eh_personality`].
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    panic!("_Unwind_Resume called, but nothing unwinds")
}
