//! Embeds the user programs and links the aarch64 kernel with `kernel.ld`.
//!
//! `VDSO_KERNEL_PROGRAMS` lists the programs as `name=path` pairs separated
//! by `,`; each becomes an entry of `programs::PROGRAMS` (the file's bytes
//! through `include_bytes!`), which the command line names
//! (`-append "... -- name args"`). The host build (a stub) embeds nothing.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=kernel.ld");
    println!("cargo:rerun-if-env-changed=VDSO_KERNEL_PROGRAMS");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));

    let mut table = String::from("/// The programs embedded at build time.\n");
    table.push_str("pub static PROGRAMS: &[Program] = &[\n");
    if arch == "aarch64" {
        let list = env::var("VDSO_KERNEL_PROGRAMS").unwrap_or_default();
        for pair in list.split(',').filter(|p| !p.is_empty()) {
            let (name, path) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("VDSO_KERNEL_PROGRAMS: `{pair}` is not name=path"));
            let path = fs::canonicalize(Path::new(path))
                .unwrap_or_else(|e| panic!("VDSO_KERNEL_PROGRAMS: {path}: {e}"));
            println!("cargo:rerun-if-changed={}", path.display());
            writeln!(
                table,
                "    Program {{ name: {name:?}, bytes: include_bytes!({:?}) }},",
                path.display().to_string()
            )
            .unwrap();
        }
        println!("cargo:rustc-link-arg-bins=-nostartfiles");
        println!("cargo:rustc-link-arg-bins=-nostdlib");
        println!("cargo:rustc-link-arg-bins=-Wl,--build-id=none");
        // One RWX segment is how qemu loads it; the MMU sets the real
        // permissions (mm.rs).
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-rwx-segments");
        println!(
            "cargo:rustc-link-arg-bins=-T{}",
            dir.join("kernel.ld").display()
        );
    }
    table.push_str("];\n");
    fs::write(out.join("programs.rs"), table).expect("writing programs.rs");
}
