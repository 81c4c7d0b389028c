//! End to end on 32-bit Arm: real AArch32 programs, built from source here, get our compat
//! vDSO (`loader::compat`) from the 32-bit exec harness and use it.
//!
//! qemu-arm (user mode) cannot read the Arm counter from AArch32, so every run boots Debian's
//! arm64 Linux in `qemu-system-aarch64` (`xtask::linux_vm`), whose `/init` runs
//! `/vdso-exec [--fake-epoch SECS] -- /client MODE` (the harness built for armv7) with the
//! kernel's `raw_syscalls:sys_enter` tracepoint on: the trace holds every system call of the
//! process with its AArch32 number and registers, and `VmRun::after_marker` keeps the
//! client's (and the harness's ticker thread's, which makes no clock call).
//!
//! The clients are the 64-bit tests' own sources (`tests/clients/`), built for 32-bit Arm
//! with a 64-bit `time_t`:
//! - `clocks.c` static against armhf glibc 2.36 (`-D_TIME_BITS=64`): it calls
//!   `__vdso_clock_gettime64`@LINUX_2.6 (and has no vDSO `clock_getres` on arm: its
//!   `clock_getres` is always the syscall, by glibc's design);
//! - `go/main.go` for `GOARCH=arm GOARM=7`: Go 1.19 calls `__vdso_clock_gettime`@LINUX_2.6
//!   with a 32-bit timespec;
//! - `clocks.c` static against armhf musl 1.2.3, which uses no vDSO at all on arm (musl
//!   disabled it in 1.2.0 and re-enabled it after 1.2.3): `musl_1_2_3_ignores_every_vdso`
//!   checks that, and its run is the C control below.
//!
//! For glibc and Go, the four proofs of `tests/e2e.rs`:
//! - `fake_epoch_wall_time_comes_from_the_data_page`: with `--fake-epoch 2000000000` the
//!   client prints 2033-05-18T03:33:2x; only the data page could have said that (the control
//!   run under the same harness and flag prints the VM's own time).
//! - `served_clocks_make_no_syscall`: after the harness's marker the trace holds no
//!   `clock_gettime64` (403) / `clock_gettime` (263) / `clock_getres_time64` (406) /
//!   `clock_getres` (264) for a served clock and no `gettimeofday` (78) — except glibc's
//!   `clock_getres`, which glibc never routes through a vDSO on arm — while it does hold
//!   the client's CPU-clock and invalid-id calls (so a blind reading fails), and the control
//!   run makes served-clock syscalls for the very clocks the client read.
//! - `unserved_clocks_reach_the_syscall_with_its_answer`: the CPU-time clock and invalid ids
//!   reach the kernel and answer as in the control run.
//! - `served_clocks_lie_between_two_syscalls`: in compare mode, with the VM's own time, every
//!   served clock read through the vDSO lies between two raw syscalls and `clock_getres`
//!   equals the syscall.
//!
//! Go also reads its monotonic clock on several goroutines at once
//! (`monotonic_clock_never_goes_backwards_across_threads`).
//!
//! # The control runs: the same source without a vDSO
//!
//! The harness has no option to withhold its vDSO, and the VM's kernel maps its own compat
//! vDSO into a program it starts (Debian's arm64 6.1 has `CONFIG_COMPAT_VDSO`), so the
//! control is the same source built to use no vDSO, run through the same harness with the
//! same arguments: `clocks.c` against musl 1.2.3 (above) for glibc, and `main.go` built with
//! a runtime that looks up a symbol no image has (`build::arm_go_client(.., false)`) for Go.
//!
//! Boots are the slow part (one to a few seconds each): six, each made once per test process
//! and shared by the tests that read it, in parallel with the others. Programs and each run's
//! stdout, stderr, console and clock system calls are kept in `target/e2e-arm/` for a look
//! after a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use vdso_tests::e2e::arm::{self, time_syscall, ArmTimeSyscall};
use vdso_tests::e2e::build::{self, ArmLibc};
use vdso_tests::e2e::{is_served, iso_utc, parse_records, Record, SERVED};
use xtask::linux_vm::{self, VmRun};

/// The fake wall-clock start: 2033-05-18T03:33:20Z.
const FAKE_EPOCH: i64 = 2_000_000_000;
/// How many seconds after the fake epoch a client may read it (it runs within a second of
/// the harness's publication; this leaves room for a very slow VM).
const FAKE_EPOCH_WINDOW: i64 = 30;
/// TAI is REALTIME shifted by the VM's TAI offset (0 when unset, 37 s since 2017).
const MAX_TAI_OFFSET: i64 = 40;

// ---------------------------------------------------------------------------------------------
// Building

/// A built program, or why it could not be built (kept as text: every test that needs it
/// fails with the same message).
type Built = Result<PathBuf, String>;

fn shell() -> Result<xshell::Shell, String> {
    xshell::Shell::new().map_err(|e| format!("cannot create a shell: {e}"))
}

/// Every toolchain these tests use (arm gcc, armhf musl and glibc, Go, qemu-system-arm,
/// Debian's rustc and its library sources): installed when root, otherwise an error naming
/// the Debian packages.
static PREREQS: LazyLock<Result<(), String>> = LazyLock::new(|| {
    xtask::prereq::ensure(&shell()?, xtask::prereq::TEST).map_err(|e| format!("{e:#}"))
});

fn prereqs() -> Result<(), String> {
    PREREQS.clone()
}

/// The 32-bit exec harness (`tests/exec-harness` for armv7).
static HARNESS: LazyLock<Built> = LazyLock::new(|| {
    prereqs()?;
    xtask::build_armv7_bin(&shell()?, "vdso-exec")
        .map_err(|e| format!("building the armv7 vdso-exec: {e:#}"))
});
static GLIBC: LazyLock<Built> = LazyLock::new(|| {
    prereqs()?;
    build::arm_c_client("clocks.c", "clocks-glibc", ArmLibc::Glibc)
});
static MUSL: LazyLock<Built> = LazyLock::new(|| {
    prereqs()?;
    build::arm_c_client("clocks.c", "clocks-musl", ArmLibc::Musl)
});
static GO: LazyLock<Built> = LazyLock::new(|| {
    prereqs()?;
    build::arm_go_client("clocks-go", true)
});
static GO_NO_VDSO: LazyLock<Built> = LazyLock::new(|| {
    prereqs()?;
    build::arm_go_client("clocks-go-no-vdso", false)
});

// ---------------------------------------------------------------------------------------------
// Running

/// One VM run of a client through the harness, with its label (the log files' name).
struct Run {
    label: String,
    vm: VmRun,
}

impl Run {
    fn log_dir() -> PathBuf {
        build::e2e_arm_dir().join("runs")
    }

    /// What to show when a check fails.
    fn context(&self) -> String {
        let dir = Run::log_dir();
        format!(
            "run {}: exit {:?}, {} system calls traced ({} lost), boot {:?}\n\
             stdout:\n{}\nstderr:\n{}\nlogs: {}/{}.{{stdout,stderr,console,clock-syscalls}}",
            self.label,
            self.vm.exit,
            self.vm.syscalls.len(),
            self.vm.overrun,
            self.vm.elapsed,
            self.vm.stdout,
            self.vm.stderr,
            dir.display(),
            self.label
        )
    }

    /// The client's records; the run must have exited 0 and printed its `done` line.
    fn records(&self) -> Vec<Record> {
        let records = parse_records(&self.vm.stdout)
            .unwrap_or_else(|e| panic!("unreadable output: {e}\n{}", self.context()));
        assert_eq!(
            self.vm.code(),
            0,
            "the client did not exit 0\n{}",
            self.context()
        );
        assert!(
            records.last().is_some_and(|r| r.kind == "done"),
            "the client did not finish (no `done` line)\n{}",
            self.context()
        );
        records
    }

    /// The clock system calls after the harness's marker: the client's. The trace must have
    /// lost nothing and hold the marker.
    fn client_clock_syscalls(&self) -> Vec<ArmTimeSyscall> {
        assert_eq!(
            self.vm.overrun,
            0,
            "the trace lost events: it cannot prove an absence\n{}",
            self.context()
        );
        let after = self.vm.after_marker().unwrap_or_else(|| {
            panic!(
                "no harness marker in the trace: did the harness start the client?\n{}",
                self.context()
            )
        });
        after
            .iter()
            .filter_map(|c| time_syscall(c.nr, c.args[0]))
            .collect()
    }
}

/// `/vdso-exec [--fake-epoch E] -- /client mode` in the VM; logs in `target/e2e-arm/runs/`.
fn run(label: &str, program: &Path, mode: &str, fake_epoch: bool) -> Result<Run, String> {
    let harness = HARNESS.clone()?;
    let epoch = FAKE_EPOCH.to_string();
    let harness_args: &[&str] = if fake_epoch {
        &["--fake-epoch", &epoch]
    } else {
        &[]
    };
    let vm = linux_vm::run_arm_with(&shell()?, &harness, harness_args, program, &[mode])
        .map_err(|e| format!("{label}: {e:#}"))?;
    let dir = Run::log_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let calls: String = vm
        .syscalls
        .iter()
        .filter_map(|c| {
            let t = time_syscall(c.nr, c.args[0])?;
            Some(format!(
                "{} {}{}\n",
                c.pid,
                t.label(),
                if c.is_marker() { " (marker)" } else { "" }
            ))
        })
        .collect();
    for (ext, text) in [
        ("stdout", &vm.stdout),
        ("stderr", &vm.stderr),
        ("console", &vm.console),
        ("clock-syscalls", &calls),
    ] {
        let path = dir.join(format!("{label}.{ext}"));
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(Run {
        label: label.to_string(),
        vm,
    })
}

type Shared = LazyLock<Result<Run, String>>;

fn get(run: &'static Shared) -> &'static Run {
    match &**run {
        Ok(run) => run,
        Err(e) => panic!("{e}"),
    }
}

fn built(artifact: &'static LazyLock<Built>) -> Result<PathBuf, String> {
    (**artifact).clone()
}

static GLIBC_FAKE_EPOCH: Shared =
    LazyLock::new(|| run("glibc-fake-epoch", &built(&GLIBC)?, "show", true));
static GLIBC_COMPARE: Shared =
    LazyLock::new(|| run("glibc-compare", &built(&GLIBC)?, "compare", false));
static MUSL_FAKE_EPOCH: Shared =
    LazyLock::new(|| run("musl-fake-epoch", &built(&MUSL)?, "show", true));
static GO_FAKE_EPOCH: Shared = LazyLock::new(|| run("go-fake-epoch", &built(&GO)?, "show", true));
static GO_COMPARE: Shared = LazyLock::new(|| run("go-compare", &built(&GO)?, "compare", false));
static GO_NO_VDSO_FAKE_EPOCH: Shared =
    LazyLock::new(|| run("go-no-vdso-fake-epoch", &built(&GO_NO_VDSO)?, "show", true));

// ---------------------------------------------------------------------------------------------
// The clients

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Glibc,
    Go,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Glibc => "glibc-armhf",
            Client::Go => "go-arm",
        }
    }

    /// `show` with the fake epoch, through the harness.
    fn fake_epoch(self) -> &'static Run {
        get(match self {
            Client::Glibc => &GLIBC_FAKE_EPOCH,
            Client::Go => &GO_FAKE_EPOCH,
        })
    }

    /// The same source built to use no vDSO, `show` with the fake epoch, through the
    /// harness.
    fn control(self) -> &'static Run {
        get(match self {
            Client::Glibc => &MUSL_FAKE_EPOCH,
            Client::Go => &GO_NO_VDSO_FAKE_EPOCH,
        })
    }

    fn compare(self) -> &'static Run {
        get(match self {
            Client::Glibc => &GLIBC_COMPARE,
            Client::Go => &GO_COMPARE,
        })
    }

    /// glibc 2.36 on arm has no vDSO `clock_getres` (it looks up only
    /// `__vdso_clock_gettime{,64}` and `__vdso_gettimeofday`): its calls for served clocks
    /// reach the kernel by glibc's design. Go makes no `clock_getres` call through a vDSO.
    fn getres_through_vdso(self) -> bool {
        false
    }

    /// The `compare` verdicts the client must print: `(call, clock)`.
    fn compare_calls(self) -> Vec<(&'static str, i64)> {
        match self {
            Client::Glibc => {
                let ids: Vec<i64> = SERVED.iter().chain(&[2, 12345, -1]).copied().collect();
                let mut calls: Vec<_> = ids.iter().map(|&id| ("clock_gettime", id)).collect();
                calls.extend(ids.iter().map(|&id| ("clock_getres", id)));
                calls.extend([("gettimeofday", 0), ("time", 0)]);
                calls
            }
            Client::Go => vec![
                ("go-time-now", 0),
                ("go-nanotime", 1),
                ("syscall-cputime", 2),
            ],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checks

/// Every record that reads the wall clock.
fn wall_clock_seconds(records: &[Record]) -> Vec<(String, i64)> {
    records
        .iter()
        .filter(|r| match r.kind.as_str() {
            "wall" | "gettimeofday" | "time" => true,
            "gettime" => matches!(r.int("clock"), Ok(0 | 5)),
            _ => false,
        })
        .map(|r| (r.to_string(), r.int("sec").unwrap()))
        .collect()
}

/// The `wall` line's seconds.
fn wall_seconds(run: &Run, records: &[Record]) -> i64 {
    records
        .iter()
        .find(|r| r.kind == "wall")
        .unwrap_or_else(|| panic!("no `wall` line\n{}", run.context()))
        .int("sec")
        .unwrap()
}

/// (a) The wall clock reads the fake epoch, and the client's own calendar conversion says
/// 2033-05-18T03:33:2x; the control run, under the same harness and flag, does not.
fn check_fake_epoch(client: Client) {
    let run = client.fake_epoch();
    let records = run.records();
    eprintln!(
        "{} with --fake-epoch {FAKE_EPOCH}:\n{}",
        client.name(),
        run.vm.stdout
    );
    let window = FAKE_EPOCH..FAKE_EPOCH + FAKE_EPOCH_WINDOW;
    let wall = records.iter().find(|r| r.kind == "wall").unwrap();
    let sec = wall_seconds(run, &records);
    let nsec = wall.int("nsec").unwrap();
    assert!(
        window.contains(&sec),
        "{}: wall time {sec} is not the fake epoch {FAKE_EPOCH} (+{FAKE_EPOCH_WINDOW} s): \
         the client did not read our data page\n{}",
        client.name(),
        run.context()
    );
    assert_eq!(
        wall.get("iso"),
        Some(format!("{}.{nsec:09}Z", iso_utc(sec)).as_str()),
        "{}: the printed date is not the fake epoch's",
        client.name()
    );
    assert!(
        iso_utc(sec).starts_with("2033-05-18T03:33:")
            || iso_utc(sec).starts_with("2033-05-18T03:34:"),
        "the fake epoch is 2033-05-18T03:33:20Z, not {}",
        iso_utc(sec)
    );
    let wall_clocks = wall_clock_seconds(&records);
    for (line, s) in &wall_clocks {
        assert!(
            window.contains(s),
            "{}: `{line}` is not at the fake epoch\n{}",
            client.name(),
            run.context()
        );
    }
    for tai in records
        .iter()
        .filter(|r| r.kind == "gettime" && r.int("clock") == Ok(11))
    {
        let s = tai.int("sec").unwrap();
        assert!(
            (FAKE_EPOCH..FAKE_EPOCH + FAKE_EPOCH_WINDOW + MAX_TAI_OFFSET).contains(&s),
            "{}: TAI `{tai}` was not shifted with REALTIME to the fake epoch",
            client.name()
        );
    }

    // The same source without a vDSO, same harness, same flag: the kernel's time.
    let control = client.control();
    let control_sec = wall_seconds(control, &control.records());
    eprintln!(
        "{}: its control run (no vDSO) printed wall sec={control_sec} ({})",
        client.name(),
        iso_utc(control_sec)
    );
    assert!(
        !window.contains(&control_sec),
        "{}: the control run, which uses no vDSO, also printed the fake epoch: the fake \
         epoch does not prove the data page\n{}",
        client.name(),
        control.context()
    );
}

/// `name(clock) × count, ...` of some traced calls.
fn summary<'a>(calls: impl IntoIterator<Item = &'a ArmTimeSyscall>) -> String {
    let mut counts = BTreeMap::new();
    for c in calls {
        *counts.entry(c.label()).or_insert(0) += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(c, n)| format!("{c} × {n}")).collect();
    parts.join(", ")
}

/// The records of calls our vDSO must hand to the kernel.
fn unserved_records(records: &[Record]) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "gettime" | "getres"))
        .filter(|r| r.int("clock").is_ok_and(|id| !is_served(id)))
        .collect()
}

fn syscall_name(r: &Record) -> &'static str {
    if r.kind == "getres" {
        "clock_getres"
    } else {
        "clock_gettime"
    }
}

/// (b) No served-clock syscall after the harness's marker; the unserved calls are there;
/// the control run makes served-clock syscalls for the clocks the client read.
fn check_no_served_syscall(client: Client) {
    let run = client.fake_epoch();
    let records = run.records();
    let calls = run.client_clock_syscalls();
    let served: Vec<&ArmTimeSyscall> = calls.iter().filter(|c| c.is_served()).collect();
    let (getres, other): (Vec<&ArmTimeSyscall>, Vec<&ArmTimeSyscall>) =
        served.iter().partition(|c| c.call == "clock_getres");
    let expected_getres = if client.getres_through_vdso() {
        0
    } else {
        records
            .iter()
            .filter(|r| r.kind == "getres" && r.int("clock").is_ok_and(is_served))
            .count()
    };
    eprintln!(
        "{}: with our vDSO, after the marker {} clock syscalls, {} for served clocks \
         ({} clock_getres): {}",
        client.name(),
        calls.len(),
        served.len(),
        getres.len(),
        summary(calls.iter())
    );
    assert!(
        other.is_empty(),
        "{}: {} served-clock syscalls reached the kernel after the client started: {}\n{}",
        client.name(),
        other.len(),
        summary(other.iter().copied()),
        run.context()
    );
    assert_eq!(
        getres.len(),
        expected_getres,
        "{}: served clock_getres syscalls: {}\n{}",
        client.name(),
        summary(getres.iter().copied()),
        run.context()
    );

    // The trace does show the calls that must reach the kernel, so the reading works.
    let unserved = unserved_records(&records);
    assert!(
        !unserved.is_empty(),
        "{}: the client printed no CPU-clock or invalid-id call\n{}",
        client.name(),
        run.context()
    );
    for r in &unserved {
        let name = syscall_name(r);
        let id = r.int("clock").unwrap();
        assert!(
            calls.iter().any(|c| c.call == name && c.clock == Some(id)),
            "{}: `{r}` does not appear as a {name}({id}) syscall in the trace: \
             is the trace reading blind?\n{}",
            client.name(),
            run.context()
        );
    }

    // Without a vDSO the same source does make served-clock syscalls, for each served clock
    // the client read: zero above is the vDSO's doing.
    let control = client.control();
    control.records();
    let without = control.client_clock_syscalls();
    let without_served: Vec<&ArmTimeSyscall> = without.iter().filter(|c| c.is_served()).collect();
    eprintln!(
        "{}: without a vDSO ({}), after the marker {} clock syscalls, {} for served clocks: {}",
        client.name(),
        control.label,
        without.len(),
        without_served.len(),
        summary(without.iter())
    );
    let read: Vec<i64> = records
        .iter()
        .filter(|r| r.kind == "gettime" || r.kind == "wall")
        .filter_map(|r| match r.kind.as_str() {
            "wall" => Some(0),
            _ => r.int("clock").ok().filter(|&id| is_served(id)),
        })
        .collect();
    assert!(!read.is_empty());
    for id in read {
        assert!(
            without_served
                .iter()
                .any(|c| c.call == "clock_gettime" && c.clock == Some(id)),
            "{}: without a vDSO no clock_gettime({id}) syscall was traced: the control \
             proves nothing\n{}",
            client.name(),
            control.context()
        );
    }
}

/// (c) CPU-time and invalid ids reach the kernel and answer as in the control run.
fn check_unserved(client: Client) {
    let with = client.fake_epoch();
    let without = client.control();
    let key = |r: &Record| {
        (
            r.kind.clone(),
            r.get("api").unwrap_or_default().to_string(),
            r.int("clock").unwrap(),
        )
    };
    let with_records = with.records();
    let without_records = without.records();
    let with_map: BTreeMap<_, _> = unserved_records(&with_records)
        .into_iter()
        .map(|r| (key(r), r))
        .collect();
    let without_map: BTreeMap<_, _> = unserved_records(&without_records)
        .into_iter()
        .map(|r| (key(r), r))
        .collect();
    assert!(!with_map.is_empty(), "{}: no unserved call", client.name());
    assert_eq!(
        with_map.keys().collect::<Vec<_>>(),
        without_map.keys().collect::<Vec<_>>(),
        "{}: the two runs made different unserved calls",
        client.name()
    );
    for (k, w) in &with_map {
        let d = without_map[k];
        eprintln!("{}: with our vDSO `{w}`; without `{d}`", client.name());
        for field in ["ret", "errno"] {
            assert_eq!(
                w.get(field),
                d.get(field),
                "{}: `{w}` differs from the run without a vDSO: `{d}`",
                client.name()
            );
        }
        if w.kind == "getres" {
            assert_eq!(
                (w.get("sec"), w.get("nsec")),
                (d.get("sec"), d.get("nsec")),
                "{}: `{w}` differs from the run without a vDSO: `{d}`",
                client.name()
            );
        } else if w.int("ret") == Ok(0) {
            // A CPU-time clock: this process's CPU time, well under a minute.
            let t = w.ns().unwrap();
            assert!(
                (0..60_000_000_000).contains(&t),
                "{}: implausible CPU time `{w}`",
                client.name()
            );
        }
    }
    // And each reached the kernel (the trace shows entries, not returns).
    let calls = with.client_clock_syscalls();
    for w in with_map.values() {
        let name = syscall_name(w);
        let id = w.int("clock").unwrap();
        assert!(
            calls.iter().any(|c| c.call == name && c.clock == Some(id)),
            "{}: no {name}({id}) syscall for `{w}` in the trace\n{}",
            client.name(),
            with.context()
        );
    }
}

/// (d) In compare mode every verdict is `ok=1` and none is missing.
fn check_compare(client: Client) {
    let run = client.compare();
    let records = parse_records(&run.vm.stdout)
        .unwrap_or_else(|e| panic!("unreadable output: {e}\n{}", run.context()));
    let verdicts: Vec<&Record> = records.iter().filter(|r| r.kind == "compare").collect();
    let bad: Vec<String> = verdicts
        .iter()
        .filter(|r| r.get("ok") != Some("1"))
        .map(|r| r.to_string())
        .collect();
    assert!(
        bad.is_empty(),
        "{}: the vDSO disagrees with the syscall:\n{}\n{}",
        client.name(),
        bad.join("\n"),
        run.context()
    );
    for (call, id) in client.compare_calls() {
        assert!(
            verdicts
                .iter()
                .any(|r| r.get("call") == Some(call) && r.int("clock") == Ok(id)),
            "{}: no compare verdict for {call}({id})\n{}",
            client.name(),
            run.context()
        );
    }
    run.records();
    eprintln!(
        "{}: {} compare verdicts ok (boot {:?}):\n{}",
        client.name(),
        verdicts.len(),
        run.vm.elapsed,
        run.vm.stdout
    );
}

/// Go: the monotonic clock never went backwards across goroutines.
fn check_monotonic(client: Client) {
    let run = client.fake_epoch();
    let records = run.records();
    let m = records
        .iter()
        .find(|r| r.kind == "monotonic")
        .unwrap_or_else(|| panic!("no `monotonic` line\n{}", run.context()));
    assert!(m.int("calls").unwrap() > 0);
    assert_eq!(
        m.int("backwards"),
        Ok(0),
        "{}: `{m}`\n{}",
        client.name(),
        run.context()
    );
}

macro_rules! client_tests {
    ($module:ident, $client:expr $(, $extra:ident)*) => {
        mod $module {
            use super::*;

            #[test]
            fn fake_epoch_wall_time_comes_from_the_data_page() {
                check_fake_epoch($client);
            }

            #[test]
            fn served_clocks_make_no_syscall() {
                check_no_served_syscall($client);
            }

            #[test]
            fn unserved_clocks_reach_the_syscall_with_its_answer() {
                check_unserved($client);
            }

            #[test]
            fn served_clocks_lie_between_two_syscalls() {
                check_compare($client);
            }

            $(
                #[test]
                fn $extra() {
                    check_monotonic($client);
                }
            )*
        }
    };
}

client_tests!(glibc, Client::Glibc);
client_tests!(
    go,
    Client::Go,
    monotonic_clock_never_goes_backwards_across_threads
);

/// musl 1.2.3 on arm (Debian's armhf build) uses no vDSO: its `libc.a` never looks one up,
/// so under our harness it makes a syscall for every served clock and reads the kernel's
/// time, not the fake epoch. That is why it is glibc's control; when Debian's musl starts to
/// look up `__vdso_clock_gettime64` (musl ≥ 1.2.4), this test fails: then give musl the four
/// proofs above.
#[test]
fn musl_1_2_3_ignores_every_vdso() {
    let binary = built(&MUSL).unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(&binary).unwrap();
    for name in ["__vdso_clock_gettime", "LINUX_2.6"] {
        assert!(
            !bytes.windows(name.len()).any(|w| w == name.as_bytes()),
            "{} names {name}: this musl looks up a vDSO; give it the four proofs",
            binary.display()
        );
    }
    let run = get(&MUSL_FAKE_EPOCH);
    let records = run.records();
    let calls = run.client_clock_syscalls();
    let served = calls.iter().filter(|c| c.is_served()).count();
    eprintln!(
        "musl-armhf under our harness: after the marker {} clock syscalls, {served} for \
         served clocks: {}\nstdout:\n{}",
        calls.len(),
        summary(calls.iter()),
        run.vm.stdout
    );
    let served_reads = records
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "gettime" | "getres"))
        .filter(|r| r.int("clock").is_ok_and(is_served))
        .count();
    assert!(
        served >= served_reads,
        "musl made {served} served-clock syscalls for {served_reads} served-clock calls\n{}",
        run.context()
    );
    let sec = wall_seconds(run, &records);
    assert!(
        !(FAKE_EPOCH..FAKE_EPOCH + FAKE_EPOCH_WINDOW).contains(&sec),
        "musl printed the fake epoch without a vDSO\n{}",
        run.context()
    );
}

/// The AArch32 numbers these tests read agree with the VM runner's.
#[test]
fn syscall_numbers_agree_with_the_vm_runner() {
    assert_eq!(
        [
            arm::NR_GETTIMEOFDAY,
            arm::NR_CLOCK_GETTIME,
            arm::NR_CLOCK_GETRES,
            arm::NR_CLOCK_GETTIME64,
            arm::NR_CLOCK_GETRES_TIME64
        ],
        [
            linux_vm::NR_GETTIMEOFDAY,
            linux_vm::NR_CLOCK_GETTIME,
            linux_vm::NR_CLOCK_GETRES,
            linux_vm::NR_CLOCK_GETTIME64,
            linux_vm::NR_CLOCK_GETRES_TIME64
        ]
    );
    for (nr, name) in linux_vm::CLOCK_SYSCALLS {
        let call = time_syscall(nr, 1).unwrap_or_else(|| panic!("{name} ({nr}) not read"));
        assert!(name.starts_with(call.call), "{name} read as {}", call.call);
    }
}
