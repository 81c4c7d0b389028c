//! The image axis: which vDSO image, named by the ABI of the processes it
//! serves, as `loader::Abi` names it. Everything that differs between the
//! two images, and between the test programs built for their processes, is
//! a method here: the Rust target, the binutils, the linker script, the
//! image's rustc flags, the committed image and its generated offsets (the
//! checker's rules for each are `check::Spec::of`).
//!
//! A new image (x86_64 and i386 are next) is one more variant, and the
//! compiler points at every `match` that must learn it.

/// Which image, by the ABI of the processes it is mapped into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Abi {
    /// 64-bit (AArch64) processes: `loader/vdso.so`.
    Aarch64,
    /// 32-bit (AArch32) processes on an arm64 kernel: the compat image,
    /// `loader/vdso32.so`.
    Compat,
}

impl Abi {
    /// Every image, in build order.
    pub const ALL: [Abi; 2] = [Abi::Aarch64, Abi::Compat];

    /// Short name, for directories and messages.
    pub fn name(self) -> &'static str {
        match self {
            Abi::Aarch64 => "aarch64",
            Abi::Compat => "compat",
        }
    }

    /// The Rust target triple of the image and of the programs its
    /// processes run.
    pub fn target(self) -> &'static str {
        match self {
            Abi::Aarch64 => "aarch64-unknown-linux-gnu",
            Abi::Compat => "armv7-unknown-linux-gnueabihf",
        }
    }

    /// Whether the target's `core` (and, for programs, `std`) is built from
    /// source with `-Zbuild-std`.
    ///
    /// Debian's prebuilt armv7 core/std (`libstd-rust-web-dev:armhf`) must
    /// have exactly `rustc-web`'s version, and bookworm-security's armhf
    /// index, where that version is, is not always readable from here. So
    /// for armv7 we build them from `rust-web-src`, the same source package
    /// as `rustc-web`: always the matching version.
    pub fn build_std(self) -> bool {
        match self {
            Abi::Aarch64 => false,
            Abi::Compat => true,
        }
    }

    /// Prefix of the binutils (and gcc) for the target.
    pub fn binutils(self) -> &'static str {
        match self {
            Abi::Aarch64 => "aarch64-linux-gnu-",
            Abi::Compat => "arm-linux-gnueabihf-",
        }
    }

    /// The linker of the test programs: the target's gcc, which finds its
    /// C library.
    pub fn linker(self) -> String {
        format!("{}gcc", self.binutils())
    }

    /// The image's linker script.
    pub fn linker_script(self) -> &'static str {
        match self {
            Abi::Aarch64 => "vdso/vdso.lds",
            Abi::Compat => "vdso/vdso32.lds",
        }
    }

    /// rustc flags of the image besides the ones every image has.
    pub fn image_rustflags(self) -> &'static [&'static str] {
        match self {
            Abi::Aarch64 => &[
                // Every function an indirect call can reach starts with
                // `bti c`, and the object carries
                // GNU_PROPERTY_AARCH64_FEATURE_1_BTI: a kernel may map the
                // image as guarded pages (SECURITY.md).
                "-Zbranch-protection=bti",
                // The image must never touch x18, the platform register
                // (Android keeps its shadow call stack there).
                // `+reserve-x18` is going away; `-Zfixed-x18` is what
                // Rust-for-Linux uses. The core functions we inline are
                // compiled into our LTO module with it; the disassembly
                // check of `build-vdso` proves no x18 use survived.
                "-Zfixed-x18",
                // Debian's prebuilt `core` has neither flag; everything of it
                // the image uses is inlined into our LTO module and compiled
                // with them (the x18 scan and the BTI check prove it).
                "-Cunsafe-allow-abi-mismatch=fixed-x18,branch-protection",
            ],
            Abi::Compat => &[],
        }
    }

    /// The committed image.
    pub fn image_path(self) -> &'static str {
        match self {
            Abi::Aarch64 => "loader/vdso.so",
            Abi::Compat => "loader/vdso32.so",
        }
    }

    /// The committed, generated symbol offsets of the image.
    pub fn offsets_path(self) -> &'static str {
        match self {
            Abi::Aarch64 => "loader/src/offsets.rs",
            Abi::Compat => "loader/src/compat_offsets.rs",
        }
    }

    /// Target directory of the test programs for this ABI, built with
    /// Debian's rustc (kept apart from the host's `target/debug`, which
    /// rustup's rustc builds).
    pub fn programs_dir(self) -> &'static str {
        match self {
            Abi::Aarch64 => "target/aarch64",
            Abi::Compat => "target/armv7",
        }
    }
}
