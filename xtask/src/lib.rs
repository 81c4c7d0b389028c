//! Library side of `cargo xtask`, shared with the tests: the image axis
//! ([`abi::Abi`]), the image checker (fed images broken on purpose by the
//! conformance tests), the image build (the seqlock stress test builds a
//! test-only variant with it), the prerequisites, the cross builds of the
//! test programs (which the end-to-end tests build themselves), and the
//! example kernel's build and boot.
//!
//! The modules depend one way: `abi` and `prereq` on nothing here, `check`
//! on `abi`, `cross` on `abi` and `prereq`, and the commands (`build_vdso`,
//! `kernel`, `linux_vm`, `stress`, ...) on the ones before them. This file
//! only declares them and the workspace root.

use std::path::{Path, PathBuf};

pub mod abi;
pub mod build_vdso;
pub mod check;
pub mod cross;
pub mod kernel;
pub mod linux_vdso;
pub mod linux_vm;
pub mod prereq;
pub mod stress;
pub mod trixie;

// The test programs' builds, by the names the end-to-end tests call them.
pub use cross::{build_aarch64_bin, build_armv7_bin};

/// The workspace root: the parent of this crate.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}
