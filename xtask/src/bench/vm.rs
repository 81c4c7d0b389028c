//! The getrandom rows, timed inside Debian's Linux 6.12: `vdso-dropin
//! --onto-own bench` (`tests/programs/dropin/src/onto.rs`) boots as the VM's
//! program ([`xtask::linux_vm::boot_on`]) and times getrandom of 32 and
//! 4096 bytes through Linux 6.12's own vDSO, ours in its place (reading
//! the data page that kernel writes) and the raw syscall, interleaved, in
//! the time run's format ([`Timing::parse`]). Linux's image serves
//! getrandom only inside a running Linux (its FPSIMD alternative is
//! patched at boot), so these rows cannot be timed under qemu-user, and
//! their instructions are not counted.

use anyhow::{ensure, Context, Result};
use xshell::Shell;
use xtask::abi::Abi;
use xtask::{linux_vdso, linux_vm};

use super::run::Timing;

/// The VM's getrandom timing, and where it ran.
pub(super) struct VmTiming {
    /// The kernel package, e.g. `linux-image-6.12.118+deb12-arm64`.
    pub kernel: String,
    /// The emulator and CPU.
    pub qemu: String,
    pub timing: Timing,
}

/// Boots the Linux 6.12 VM once with the bench program and parses its samples.
pub(super) fn time(sh: &Shell) -> Result<VmTiming> {
    let kernel = linux_vdso::vmlinuz_6_12(sh)?;
    let program = xtask::build_aarch64_bin(sh, "vdso-dropin")?;
    let files: [(&str, &std::path::Path); 1] = [("dropin", &program)];
    let argv = ["/dropin", "--onto-own", "bench"];
    let run = linux_vm::boot_on(sh, &kernel, Abi::Aarch64, &files, &argv)
        .with_context(|| format!("booting {}", kernel.package))?;
    ensure!(
        run.code() == 0,
        "the bench in the VM failed:\n{}\n{}",
        run.stdout,
        run.console
    );
    let timing = Timing::parse(&run.stdout).context("the VM's bench samples")?;
    Ok(VmTiming {
        kernel: kernel.package,
        qemu: format!("{} -cpu {}", linux_vm::QEMU, linux_vm::CPU),
        timing,
    })
}
