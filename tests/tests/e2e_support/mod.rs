//! What both end-to-end suites (`e2e.rs`, aarch64 clients under `qemu-aarch64`; `e2e_arm.rs`,
//! 32-bit clients in a Linux VM) need around their checks: the toolchains, built artifacts and
//! runs made once per test process and shared by the tests that read them, and the four
//! proofs each client gets as tests of the same names in both suites.
//!
//! It is a module of each test crate, not part of `vdso_tests`, because it drives
//! `xtask::prereq` and `xshell`, which only the test crates depend on.

use std::path::PathBuf;
use std::sync::LazyLock;

/// A built program, or why it could not be built (kept as text: every test that needs it
/// fails with the same message).
pub type Built = Result<PathBuf, String>;

/// Something made once per test process (a build, a run) and shared by the tests that read
/// it, or why it could not be made.
pub type Shared<T> = LazyLock<Result<T, String>>;

/// A shell for `xtask`'s builders.
pub fn shell() -> Result<xshell::Shell, String> {
    xshell::Shell::new().map_err(|e| format!("cannot create a shell: {e}"))
}

/// Every toolchain the end-to-end tests use (cross gcc, musl and glibc for both arches, Go,
/// qemu, Debian's rustc): installed when root, otherwise an error naming the Debian packages.
/// Checked once per test process.
pub fn prereqs() -> Result<(), String> {
    static PREREQS: LazyLock<Result<(), String>> = LazyLock::new(|| {
        xtask::prereq::ensure(&shell()?, xtask::prereq::TEST).map_err(|e| format!("{e:#}"))
    });
    PREREQS.clone()
}

/// The shared value, or a panic with why it could not be made (which fails the test).
pub fn get<T>(shared: &'static Shared<T>) -> &'static T {
    match &**shared {
        Ok(value) => value,
        Err(e) => panic!("{e}"),
    }
}

/// The `compare` verdicts `tests/clients/c/clocks.c` must print, `(call, clock)`: both calls
/// for every served clock, the CPU-time clock and two invalid ids, then `gettimeofday` and
/// `time`.
pub fn c_compare_calls() -> Vec<(&'static str, i64)> {
    let ids = served_and(&UNSERVED);
    let mut calls: Vec<_> = ids.iter().map(|&id| ("clock_gettime", id)).collect();
    calls.extend(ids.iter().map(|&id| ("clock_getres", id)));
    calls.extend([("gettimeofday", 0), ("time", 0)]);
    calls
}

/// The `compare` verdicts `tests/clients/go/main.go` must print, `(call, clock)`.
pub const GO_COMPARE_CALLS: [(&str, i64); 3] = [
    ("go-time-now", 0),
    ("go-nanotime", 1),
    ("syscall-cputime", 2),
];

/// The clock ids the clients call that our vDSO hands to the kernel: the process CPU-time
/// clock and two invalid ids.
pub const UNSERVED: [i64; 3] = [2, 12345, -1];

/// The served clocks followed by `more`.
pub fn served_and(more: &[i64]) -> Vec<i64> {
    vdso_tests::e2e::SERVED
        .iter()
        .chain(more)
        .copied()
        .collect()
}

/// `mod $module` with the four proofs for `$client` as tests, each calling the suite's check
/// of the same purpose (`check_fake_epoch`, `check_no_served_syscall`, `check_unserved`,
/// `check_compare`) on it; each `$extra` test name calls `check_monotonic`.
macro_rules! client_tests {
    ($module:ident, $client:expr $(, $extra:ident)*) => {
        mod $module {
            use super::*;

            $crate::e2e_support::tests_calling!(
                $client;
                fake_epoch_wall_time_comes_from_the_data_page => check_fake_epoch,
                served_clocks_make_no_syscall => check_no_served_syscall,
                unserved_clocks_reach_the_syscall_with_its_answer => check_unserved,
                served_clocks_lie_between_two_syscalls => check_compare,
                $($extra => check_monotonic,)*
            );
        }
    };
}
pub(crate) use client_tests;

/// `#[test] fn name() { check(client) }` for each `name => check`.
macro_rules! tests_calling {
    ($client:expr; $($name:ident => $check:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $check($client);
            }
        )*
    };
}
pub(crate) use tests_calling;
