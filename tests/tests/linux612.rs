//! Debian's Linux 6.12 arm64 kernel (`linux-image-6.12-arm64`, the first with a getrandom
//! vDSO; issue 16) boots in the Linux VM (`xtask::linux_vm::boot_on`) and runs a 64-bit
//! program: the aarch64 ChaCha20 check (`tests/programs/chacha`), the block function the
//! getrandom export will use, on a real kernel instead of qemu-user. The groundwork for
//! running clients under 6.12; the VM's console and the run's output stay in the test's
//! failure message.

use std::path::Path;

use xtask::linux_vdso;
use xtask::linux_vm;

#[test]
fn linux_6_12_runs_the_aarch64_chacha20_check() {
    let sh = xshell::Shell::new().expect("a shell");
    let kernel = linux_vdso::vmlinuz_6_12(&sh).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        kernel.package.starts_with("linux-image-6.12."),
        "{} is not a 6.12 kernel",
        kernel.package
    );
    let program = xtask::build_aarch64_bin(&sh, "vdso-chacha")
        .unwrap_or_else(|e| panic!("building vdso-chacha: {e:#}"));
    let files: [(&str, &Path); 1] = [("chacha", &program)];
    let run = linux_vm::boot_on(&sh, &kernel, &files, &["/chacha"])
        .unwrap_or_else(|e| panic!("booting {}: {e:#}", kernel.package));
    let last = run.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("chacha: ") && last.ends_with(" passed, 0 failed"),
        "{}: {last:?}\n--- stderr ---\n{}\n--- console ---\n{}",
        kernel.package,
        run.stderr,
        run.console
    );
    assert_eq!(run.code(), 0, "{}", run.console);
}
