//! The seqlock under stress (issue 7): one writer thread rewrites the data
//! page through `loader::Writer` as fast as it can while two reader threads
//! call the vDSO, under `qemu-aarch64` (guest threads are host threads and
//! run in parallel). `vdso-stress` (`tests/programs/stress`) does the work and its
//! source documents both designs; `cargo xtask stress` runs the same with
//! ten times the reads.
//!
//! - `torn`: the writer alternates two timelines far apart in every field,
//!   so a reader that mixed fields of both would return a time on neither;
//!   each answer must lie on one, between the timeline's values at the
//!   reader's own counter reads around the call.
//! - `monotonic`: realistic ticks with a `mult` that changes every tick;
//!   MONOTONIC, BOOTTIME and REALTIME must never decrease in a thread.
//! - The negative control: the same `torn` run against an image built with
//!   the `vdso` feature `negative-control-no-seqlock-retry` (the reader skips
//!   the re-check of `seq`), which must be caught tearing. Without it, a
//!   pass on our image would not show that the test can fail.
//!
//! Every run must also have had calls that a write overlapped (`seq` odd or
//! changed across the call), or it stressed nothing. The runs' output stays
//! in `target/e2e/runs/stress-*.{stdout,stderr}`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use vdso_tests::e2e::build::{self, Run};
use xtask::stress::{self, Summary};

/// Calls per run against our image, both readers together, per mode.
const READS: u64 = 2_000_000;
/// Reader threads (one writer besides).
const READERS: u64 = 2;
/// Calls per negative-control attempt.
const CONTROL_READS: u64 = 2_000_000;
/// A broken reader tears only when a write lands inside one of its reads;
/// on a machine busy with other work the threads may hardly run at the
/// same time for a short run, so the control gets up to this many runs.
const CONTROL_ATTEMPTS: usize = 5;
/// A run that takes longer has hung (10⁶ calls take well under a second).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The program and the negative-control image.
struct Built {
    program: PathBuf,
    control: String,
}

fn build() -> Result<Built, String> {
    let sh = xshell::Shell::new().map_err(|e| format!("cannot create a shell: {e}"))?;
    let (program, control) = stress::build(&sh)
        .map_err(|e| format!("building vdso-stress and the negative-control image: {e:#}"))?;
    let control = control
        .to_str()
        .ok_or("non-UTF-8 path of the negative-control image")?
        .to_string();
    Ok(Built { program, control })
}

static BUILT: LazyLock<Result<Built, String>> = LazyLock::new(build);

/// One run at a time: three at once would put nine busy threads on the
/// machine's cores and the writer would hardly ever meet a reader.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `vdso-stress MODE IMAGE` and parses its summary line; the program
/// must have completed.
fn stress(mode: &str, image: &str, reads: u64, label: &str) -> (Run, Summary) {
    let built = match &*BUILT {
        Ok(built) => built,
        Err(e) => panic!("{e}"),
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut command = Command::new("qemu-aarch64");
    command
        .arg(&built.program)
        .args(stress::args(mode, image, reads, READERS));
    let run = build::run_logged(command, label, RUN_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e} (qemu-aarch64 is in Debian's qemu-user)"));
    assert_eq!(
        run.status,
        Some(0),
        "vdso-stress did not complete\n{}",
        run.context()
    );
    let summary = Summary::parse(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.context()));
    (run, summary)
}

fn count(run: &Run, summary: &Summary, key: &str) -> u64 {
    summary
        .count(key)
        .unwrap_or_else(|e| panic!("{e}\n{}", run.context()))
}

/// Our image in `mode`: every call made, none wrong, some overlapped.
fn ours_holds(mode: &str) {
    let (run, summary) = stress(mode, "--ours", READS, &format!("stress-{mode}-ours"));
    let reads = count(&run, &summary, "reads");
    assert!(
        reads >= READS,
        "only {reads} calls were made\n{}",
        run.context()
    );
    assert_eq!(
        count(&run, &summary, "violations"),
        0,
        "our image gave wrong answers under a concurrent writer ({mode} mode)\n{}",
        run.context()
    );
    assert!(
        count(&run, &summary, "overlapped") > 0,
        "no call overlapped a write: the run stressed nothing\n{}",
        run.context()
    );
}

#[test]
fn our_image_never_returns_a_torn_read_while_the_writer_alternates_two_timelines() {
    ours_holds("torn");
}

#[test]
fn our_image_clocks_never_go_backwards_under_ticks_that_change_mult() {
    ours_holds("monotonic");
}

#[test]
fn a_reader_without_the_seqlock_retry_is_caught_tearing() {
    let control = match &*BUILT {
        Ok(built) => built.control.clone(),
        Err(e) => panic!("{e}"),
    };
    let mut attempts = Vec::new();
    for attempt in 1..=CONTROL_ATTEMPTS {
        let label = format!("stress-torn-negative-control-{attempt}");
        let (run, summary) = stress("torn", &control, CONTROL_READS, &label);
        let violations = count(&run, &summary, "violations");
        if violations > 0 {
            // The violations are torn reads, shown in detail: each lies on
            // neither timeline.
            assert!(
                run.stdout.lines().any(|l| l.starts_with("violation: ")),
                "violations counted but none shown\n{}",
                run.context()
            );
            return;
        }
        attempts.push(format!(
            "attempt {attempt}: {} calls, {} overlapped, 0 violations ({})",
            count(&run, &summary, "reads"),
            count(&run, &summary, "overlapped"),
            run.stdout_path.display()
        ));
    }
    panic!(
        "the negative control, our reader built without the seqlock re-check, was never caught \
         returning a torn read:\n{}\nso this test cannot tell a broken reader from a correct one, \
         and its passes on our image prove nothing",
        attempts.join("\n")
    );
}
