//! `vdso-dropin`: the drop-in proof.
//!
//! ```text
//! vdso-dropin LINUX_VDSO
//! ```
//!
//! One static aarch64 process, run under `qemu-aarch64`, plays the kernel
//! twice: it maps our image ([`loader::IMAGE_PADDED`]) and Linux's own arm64
//! vDSO (`LINUX_VDSO`, carved out of Debian's `linux-image-*-arm64` by
//! `xtask::linux_vdso::fetch`) each as [`loader::Layout`] lays it out (data
//! page, reserved time-namespace page, image: Linux arm64's own layout), each
//! with its own data page written by its own [`loader::Writer`], both pages
//! published with the same clocks. Then it calls both images' exports,
//! interleaved, and holds them to the same answers. Linux's image getting
//! every served clock right from a page our writer wrote is the proof that
//! the loader writes a valid Linux data page, and that our image is a
//! drop-in replacement for Linux's. The mapping is the library's
//! (`vdso_dropin::pair`, shared with the benchmark); the checks and their
//! reasoning are in `dropin.rs`.
//!
//! `vdso-dropin --onto-own [bench]`, run inside a Linux, puts our image in
//! place of that kernel's own vDSO instead, on the data page the kernel
//! writes (`onto.rs`).
//!
//! Output (as `vdso-probe`): one `ok <name>` or `FAIL <name>: <detail>` line
//! per check on stdout, notes on stderr, and last `N passed, M failed`; exit
//! status 0 only if nothing failed, 2 for a bad command line.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(target_arch = "aarch64")]
mod dropin;
#[cfg(target_arch = "aarch64")]
mod onto;

fn main() {
    #[cfg(target_arch = "aarch64")]
    {
        let args: Vec<_> = std::env::args().skip(1).collect();
        match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["--onto-own"] => std::process::exit(onto::run(false)),
            ["--onto-own", "bench"] => std::process::exit(onto::run(true)),
            _ => {}
        }
        let mut args = std::env::args_os().skip(1);
        let (Some(linux), None) = (args.next(), args.next()) else {
            eprintln!("usage: vdso-dropin LINUX_VDSO (Linux's arm64 vDSO image, e.g. from `cargo xtask linux-vdso`)\n       vdso-dropin --onto-own [bench] (inside a Linux: our image in place of its own)");
            std::process::exit(2);
        };
        std::process::exit(dropin::run(std::path::Path::new(&linux)));
    }

    #[cfg(not(target_arch = "aarch64"))]
    {
        eprintln!("vdso-dropin runs only on aarch64 (e.g. under qemu-aarch64); nothing to do here");
        std::process::exit(2);
    }
}
