//! The aarch64 ChaCha20 block function the getrandom export will use
//! (`vdso/src/arch/aarch64/chacha20.S`, issue 16) against the portable
//! `vdso::random::chacha20_blocks`, under `qemu-aarch64`: `vdso-chacha`
//! (`tests/programs/chacha`) does the checks and documents them; here the run
//! must pass them all and must have run them all. And, read from the source:
//! the function names no stack register and no register a call must keep.
//!
//! The run's output stays in `target/e2e/runs/chacha.{stdout,stderr}`.

use std::process::Command;
use std::time::Duration;

use vdso_tests::e2e::build;

/// A run that takes longer has hung (it takes well under a second).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Checks `vdso-chacha` makes: 1 RFC vector, 40 keys × 32 splits × 3, 3 carries × 2,
/// 1 in place.
const CHECKS: usize = 1 + 40 * 32 * 3 + 3 * 2 + 1;

/// The source of the function.
const SOURCE: &str = include_str!("../../vdso/src/arch/aarch64/chacha20.S");

#[test]
fn the_asm_block_function_equals_the_portable_one_in_every_check() {
    let sh = xshell::Shell::new().expect("a shell");
    let program = xtask::build_aarch64_bin(&sh, "vdso-chacha")
        .unwrap_or_else(|e| panic!("building vdso-chacha: {e:#}"));
    let mut command = Command::new("qemu-aarch64");
    command.arg(program);
    let run = build::run_logged(command, "chacha", RUN_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    let summary = format!("chacha: {CHECKS} passed, 0 failed");
    assert_eq!(
        run.stdout.lines().last(),
        Some(summary.as_str()),
        "{}",
        run.context()
    );
    assert_eq!(run.status, Some(0), "{}", run.context());
}

/// The instructions of the function: its lines that are neither comments,
/// directives nor labels.
fn instructions() -> Vec<&'static str> {
    SOURCE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with('.'))
        .filter(|l| !l.ends_with(':'))
        .collect()
}

#[test]
fn the_asm_block_function_touches_no_stack_and_no_register_a_caller_keeps() {
    let instructions = instructions();
    assert!(instructions.len() > 50, "found only {instructions:?}");
    for line in &instructions {
        let words: Vec<&str> = line
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        for w in &words {
            let reg = |p: char| w.strip_prefix(p).and_then(|n| n.parse::<u32>().ok());
            assert!(
                *w != "sp" && *w != "wsp",
                "`{line}` names the stack pointer"
            );
            if let Some(n) = reg('x').or(reg('w')) {
                assert!(
                    n < 18,
                    "`{line}`: x{n} is the platform register or callee-saved"
                );
            }
            if let Some(n) = reg('v').or(reg('d')).or(reg('q')).or(reg('s')) {
                assert!(
                    !(8..16).contains(&n),
                    "`{line}`: v{n} is callee-saved (low half)"
                );
            }
        }
    }
    // It ends by zeroing the vector registers that held the key and the keystream.
    for v in [0, 1, 2, 3, 4, 17, 18] {
        let wipe = format!("movi v{v}.16b, #0");
        assert!(instructions.contains(&wipe.as_str()), "no `{wipe}`");
    }
}
