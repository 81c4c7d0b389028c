//! Links the aarch64 (and armv7) harness at a high address, far from its
//! clients.
//!
//! Rust builds a `+crt-static` aarch64-unknown-linux-gnu binary as a static
//! non-PIE executable linked at 0x400000, exactly where static glibc and musl
//! programs want to be loaded (Go's start at 0x10000). The harness must stay
//! mapped while its client runs (its ticker thread keeps the clocks' coarse
//! values moving), so it moves its text, data and bss up to
//! [`HARNESS_BASE`]: the clients' addresses are then free for their own
//! `PT_LOAD` segments, and `qemu-aarch64` maps the harness where it is linked.

/// Where the harness's first segment goes: 256 GiB, below qemu-aarch64's
/// mmap area (0x55_0000_0000 on an x86-64 host) and inside a 39-bit address
/// space, so the same binary also runs on an aarch64 Linux with the smallest
/// user address space. Keep in sync with the docs in `src/main.rs`.
const HARNESS_BASE: &str = "0x4000000000";

/// The armv7 harness's first segment: 768 MiB. Rust (GNU ld for arm) links
/// a static armv7 program at 0x10000, where static arm glibc, musl and Go
/// programs go too. Above it: the static-PIE clients' base (256 MiB) and
/// room for the harness's brk up to qemu-arm's mmap area (from 1 GiB);
/// arm64 Linux puts a compat task's mmaps below its stack, near 4 GiB.
/// Keep in sync with the docs in `src/main.rs`.
const HARNESS_BASE_ARM: &str = "0x30000000";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let static_crt = features.split(',').any(|f| f == "crt-static");
    // Only the static aarch64 and arm builds are a harness; the host build
    // is the "runs only on aarch64" stub and links normally.
    let base = match arch.as_str() {
        "aarch64" => HARNESS_BASE,
        "arm" => HARNESS_BASE_ARM,
        _ => return,
    };
    if os == "linux" && static_crt {
        println!("cargo:rustc-link-arg-bins=-Wl,-Ttext-segment={base}");
    }
}
