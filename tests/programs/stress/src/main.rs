//! `vdso-stress`: the seqlock stress test's aarch64 side.
//!
//! ```text
//! vdso-stress <torn|monotonic> <IMAGE|--ours> READS_PER_READER READERS
//! ```
//!
//! One static aarch64 process, run under `qemu-aarch64` (whose guest threads
//! are host threads, running in parallel), maps an image (`--ours`:
//! [`loader::IMAGE_PADDED`], the committed image; or the vDSO at `IMAGE`,
//! e.g. the negative-control variant built without the seqlock re-check) on
//! its own data page (`vdso_dropin::pair::Vdso`), and runs one writer thread
//! that rewrites the page through [`loader::Writer`] as fast as it can while
//! `READERS` (≥ 2) threads each make `READS_PER_READER` calls into the
//! image and check every answer. `torn` makes tearing visible, `monotonic`
//! checks that the clocks never go backwards under a realistic writer; see
//! `stress.rs` for both designs.
//!
//! Output, on stdout: a few `note` lines about the setup, one `violation`
//! line with the details of each of the first violations (at most
//! [`MAX_SHOWN`](stress::MAX_SHOWN) per reader), and one summary line, the
//! one `cargo xtask stress` and `tests/tests/stress.rs` read:
//!
//! ```text
//! stress: mode=torn image=ours readers=2 reads=1000000 overlapped=5123 fallbacks=0 violations=0 writes=812345 seconds=4.2
//! ```
//!
//! - `reads`: calls into the image, all readers together;
//! - `overlapped`: calls during which the page's `seq` was odd or changed
//!   (read just before and just after the call): the calls that needed, or
//!   may have needed, the reader's retry. The image cannot report its
//!   retries; this counts the calls a write overlapped;
//! - `fallbacks`: answers that are the kernel's clock, not the page's (the
//!   image gave up spinning on a writer that stayed mid-update and made the
//!   syscall, which is correct; they are not checked against the page);
//! - `violations`: answers that are wrong (must be 0 for a correct image);
//! - `writes`: the writer's seqlock writes of the page.
//!
//! Exit status: 0 when the run completed, whatever it found (the caller
//! judges: the negative control must find violations), 1 if the setup
//! failed, 2 for a bad command line.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(target_arch = "aarch64")]
mod stress;

fn main() {
    #[cfg(target_arch = "aarch64")]
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let usage = || -> ! {
            eprintln!(
                "usage: vdso-stress <torn|monotonic> <IMAGE|--ours> READS_PER_READER READERS\n\
                 READERS >= 2; IMAGE is a vDSO image file, --ours the committed one"
            );
            std::process::exit(2)
        };
        if args.len() != 4 {
            usage();
        }
        let mode = match args[0].as_str() {
            "torn" => stress::Mode::Torn,
            "monotonic" => stress::Mode::Monotonic,
            _ => usage(),
        };
        let image = if args[1] == "--ours" {
            stress::Image {
                label: "ours".to_string(),
                bytes: loader::IMAGE_PADDED.to_vec(),
            }
        } else {
            match std::fs::read(&args[1]) {
                Ok(bytes) => stress::Image {
                    label: args[1].clone(),
                    bytes,
                },
                Err(e) => {
                    eprintln!("vdso-stress: cannot read {}: {e}", args[1]);
                    std::process::exit(1);
                }
            }
        };
        let (Ok(reads), Ok(readers)) = (args[2].parse::<u64>(), args[3].parse::<usize>()) else {
            usage()
        };
        if reads == 0 || readers < 2 {
            usage();
        }
        std::process::exit(stress::run(mode, &image, reads, readers));
    }

    #[cfg(not(target_arch = "aarch64"))]
    {
        eprintln!("vdso-stress runs only on aarch64 (e.g. under qemu-aarch64); nothing to do here");
        std::process::exit(2);
    }
}
