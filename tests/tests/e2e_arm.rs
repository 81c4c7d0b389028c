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
//! - `clocks.c` static against Debian 13's armhf musl 1.2.5 (`musl-dev:armhf`, fetched and
//!   unpacked under `target/trixie/` by `xtask::trixie`, linked by Debian 12's gcc with that
//!   package's own specs): its `clock_gettime` (and `gettimeofday` and `time`, which musl
//!   makes from it) calls `__vdso_clock_gettime64`@LINUX_2.6 with a 64-bit timespec, but
//!   only if the image also has `__vdso_clock_gettime`@LINUX_2.6 (musl's guard against
//!   kernels that left a broken time64 function in place, `VDSO_CGT_WORKAROUND`, musl
//!   commit bf14ef193b42); it would call `__vdso_clock_gettime` only were
//!   `__vdso_clock_gettime64` missing. Its `clock_getres` is always the time32 syscall
//!   (264): musl looks up no vDSO `clock_getres` or `gettimeofday` on arm, so its
//!   `clock_getres` verdicts below check musl, not our image.
//!   `musl_1_2_5_looks_up_only_the_clock_gettime_symbols` reads the names in the binary;
//!   `musl_1_2_5_makes_exactly_the_syscalls_of_a_vdso_clock_gettime64_caller` the trace:
//!   each unserved `clock_gettime` reaches the kernel once, as `clock_gettime64` (403, the
//!   syscall our `__vdso_clock_gettime64` hands it to; our `__vdso_clock_gettime` would make
//!   263), each `clock_getres` as 264, and nothing else;
//! - `clocks.c` static against Debian 12's armhf musl 1.2.3, which uses no vDSO at all on
//!   arm (musl removed it in 1.2.1 and brought it back in 1.2.4):
//!   `musl_1_2_3_ignores_every_vdso` checks that, and its run is the C control below.
//!
//! For glibc, musl 1.2.5 and Go, the four proofs of `tests/e2e.rs`:
//! - `fake_epoch_wall_time_comes_from_the_data_page`: with `--fake-epoch 2000000000` the
//!   client prints 2033-05-18T03:33:2x; only the data page could have said that (the control
//!   run under the same harness and flag prints the VM's own time).
//! - `served_clocks_make_no_syscall`: after the harness's marker the trace holds no
//!   `clock_gettime64` (403) / `clock_gettime` (263) / `clock_getres_time64` (406) /
//!   `clock_getres` (264) for a served clock and no `gettimeofday` (78) — except glibc's and
//!   musl's `clock_getres`, which neither routes through a vDSO on arm (exactly one syscall
//!   per served `getres` line) — while it does hold
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
//! same arguments: `clocks.c` against musl 1.2.3 (above) for glibc and musl 1.2.5, and
//! `main.go` built with a runtime that looks up a symbol no image has
//! (`build::arm_go_client(.., false)`) for Go.
//!
//! Boots are the slow part (one to a few seconds each): eight, each made once per test process
//! and shared by the tests that read it, in parallel with the others. Programs and each run's
//! stdout, stderr, console and clock system calls are kept in `target/e2e-arm/` for a look
//! after a failure.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use vdso_tests::e2e::arm::{self, time_syscall, ArmTimeSyscall};
use vdso_tests::e2e::build::{self, ArmLibc};
use vdso_tests::e2e::checks::{
    self, summary, syscall_name, wall_seconds, ClientRun, FAKE_EPOCH, FAKE_EPOCH_WINDOW,
};
use vdso_tests::e2e::{is_served, iso_utc};
use xtask::linux_vm::{self, VmRun};

mod e2e_support;
use e2e_support::{
    c_compare_calls, client_tests, get, prereqs, shell, Built, Shared, GO_COMPARE_CALLS,
};

// ---------------------------------------------------------------------------------------------
// Building

/// The 32-bit exec harness (`tests/templates/exec-harness` for armv7).
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
/// Debian 13's `musl-dev:armhf` (musl 1.2.5), unpacked under `target/trixie/`.
static MUSL_1_2_5_TREE: LazyLock<Built> = LazyLock::new(|| {
    xtask::trixie::package(&shell()?, "musl-dev:armhf")
        .map_err(|e| format!("fetching Debian 13's musl-dev:armhf: {e:#}"))
});
static MUSL_1_2_5: LazyLock<Built> = LazyLock::new(|| {
    prereqs()?;
    let tree = built(&MUSL_1_2_5_TREE)?;
    build::arm_c_client("clocks.c", "clocks-musl-1.2.5", ArmLibc::Musl125(&tree))
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

impl ClientRun for Run {
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

    fn stdout(&self) -> &str {
        &self.vm.stdout
    }

    fn exit_code(&self) -> Option<i32> {
        Some(self.vm.code())
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
                if c.is_marker(xtask::abi::Abi::Compat) {
                    " (marker)"
                } else {
                    ""
                }
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

type SharedRun = Shared<Run>;

fn built(artifact: &'static LazyLock<Built>) -> Result<PathBuf, String> {
    (**artifact).clone()
}

static GLIBC_FAKE_EPOCH: SharedRun =
    LazyLock::new(|| run("glibc-fake-epoch", &built(&GLIBC)?, "show", true));
static GLIBC_COMPARE: SharedRun =
    LazyLock::new(|| run("glibc-compare", &built(&GLIBC)?, "compare", false));
static MUSL_FAKE_EPOCH: SharedRun =
    LazyLock::new(|| run("musl-fake-epoch", &built(&MUSL)?, "show", true));
static MUSL_1_2_5_FAKE_EPOCH: SharedRun =
    LazyLock::new(|| run("musl-1.2.5-fake-epoch", &built(&MUSL_1_2_5)?, "show", true));
static MUSL_1_2_5_COMPARE: SharedRun =
    LazyLock::new(|| run("musl-1.2.5-compare", &built(&MUSL_1_2_5)?, "compare", false));
static GO_FAKE_EPOCH: SharedRun =
    LazyLock::new(|| run("go-fake-epoch", &built(&GO)?, "show", true));
static GO_COMPARE: SharedRun = LazyLock::new(|| run("go-compare", &built(&GO)?, "compare", false));
static GO_NO_VDSO_FAKE_EPOCH: SharedRun =
    LazyLock::new(|| run("go-no-vdso-fake-epoch", &built(&GO_NO_VDSO)?, "show", true));

// ---------------------------------------------------------------------------------------------
// The clients

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Glibc,
    /// Debian 13's armhf musl 1.2.5.
    Musl,
    Go,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Glibc => "glibc-armhf",
            Client::Musl => "musl-1.2.5-armhf",
            Client::Go => "go-arm",
        }
    }

    /// Its three runs: `show` with the fake epoch through the harness; its control, the
    /// same source built to use no vDSO, run the same way; `compare` with the VM's own time.
    fn runs(self) -> [&'static SharedRun; 3] {
        match self {
            Client::Glibc => [&GLIBC_FAKE_EPOCH, &MUSL_FAKE_EPOCH, &GLIBC_COMPARE],
            Client::Musl => [
                &MUSL_1_2_5_FAKE_EPOCH,
                &MUSL_FAKE_EPOCH,
                &MUSL_1_2_5_COMPARE,
            ],
            Client::Go => [&GO_FAKE_EPOCH, &GO_NO_VDSO_FAKE_EPOCH, &GO_COMPARE],
        }
    }

    fn fake_epoch(self) -> &'static Run {
        get(self.runs()[0])
    }

    fn control(self) -> &'static Run {
        get(self.runs()[1])
    }

    fn compare(self) -> &'static Run {
        get(self.runs()[2])
    }

    /// glibc 2.36 on arm has no vDSO `clock_getres` (it looks up only
    /// `__vdso_clock_gettime{,64}` and `__vdso_gettimeofday`), nor has musl 1.2.5 (it looks
    /// up only `__vdso_clock_gettime{64,}`): their calls for served clocks reach the kernel
    /// by their design. Go makes no `clock_getres` call through a vDSO.
    fn getres_through_vdso(self) -> bool {
        false
    }

    /// The `compare` verdicts the client must print: `(call, clock)`.
    fn compare_calls(self) -> Vec<(&'static str, i64)> {
        match self {
            Client::Glibc | Client::Musl => c_compare_calls(),
            Client::Go => GO_COMPARE_CALLS.to_vec(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checks (`vdso_tests::e2e::checks`)

/// (a) The wall clock reads the fake epoch, and the client's own calendar conversion says
/// 2033-05-18T03:33:2x; the control run, under the same harness and flag, does not.
fn check_fake_epoch(client: Client) {
    checks::check_fake_epoch(client.name(), client.fake_epoch());

    // The same source without a vDSO, same harness, same flag: the kernel's time.
    let control = client.control();
    let control_sec = wall_seconds(control, &control.records());
    eprintln!(
        "{}: its control run (no vDSO) printed wall sec={control_sec} ({})",
        client.name(),
        iso_utc(control_sec)
    );
    assert!(
        !(FAKE_EPOCH..FAKE_EPOCH + FAKE_EPOCH_WINDOW).contains(&control_sec),
        "{}: the control run, which uses no vDSO, also printed the fake epoch: the fake \
         epoch does not prove the data page\n{}",
        client.name(),
        control.context()
    );
}

/// (b) No served-clock syscall after the harness's marker; the unserved calls are there;
/// the control run makes served-clock syscalls for the clocks the client read.
fn check_no_served_syscall(client: Client) {
    let run = client.fake_epoch();
    let records = run.records();
    let calls = run.client_clock_syscalls();
    let getres = client.getres_through_vdso();
    checks::check_no_served_syscall(client.name(), run, &records, &calls, getres);

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
    let with_records = with.records();
    let unserved = checks::check_unserved_records(
        client.name(),
        &with_records,
        &client.control().records(),
        "the run without a vDSO",
    );
    // And each reached the kernel (the trace shows entries, not returns).
    let calls = with.client_clock_syscalls();
    for w in unserved {
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
    let verdicts = checks::check_compare(client.name(), run, &client.compare_calls());
    eprintln!(
        "{}: {verdicts} compare verdicts ok (boot {:?}):\n{}",
        client.name(),
        run.vm.elapsed,
        run.vm.stdout
    );
}

/// Go: the monotonic clock never went backwards across goroutines.
fn check_monotonic(client: Client) {
    checks::check_monotonic(client.name(), client.fake_epoch());
}

client_tests!(glibc, Client::Glibc);
client_tests!(musl_1_2_5, Client::Musl);
client_tests!(
    go,
    Client::Go,
    monotonic_clock_never_goes_backwards_across_threads
);

/// musl 1.2.3 on arm (Debian's armhf build) uses no vDSO: its `libc.a` never looks one up,
/// so under our harness it makes a syscall for every served clock and reads the kernel's
/// time, not the fake epoch. That is why it is the control of glibc and musl 1.2.5 (which
/// looks the vDSO up: `musl_1_2_5::*`); were Debian 12's musl to start looking up
/// `__vdso_clock_gettime64` (as musl ≥ 1.2.4 does), this test fails, and with it the
/// controls.
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

/// Debian 13's musl 1.2.5 names exactly the vDSO symbols its `clock_gettime` looks up:
/// `__vdso_clock_gettime64` and `__vdso_clock_gettime` (the time32 one, which it requires
/// and would fall back to) at `LINUX_2.6`, and neither `__vdso_clock_getres` nor
/// `__vdso_gettimeofday`: on arm its `clock_getres` is the syscall and its `gettimeofday` and
/// `time` are made from `clock_gettime`.
#[test]
fn musl_1_2_5_looks_up_only_the_clock_gettime_symbols() {
    let binary = built(&MUSL_1_2_5).unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(&binary).unwrap();
    let holds = |text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    for name in [
        "__vdso_clock_gettime64",
        "__vdso_clock_gettime",
        "LINUX_2.6",
    ] {
        assert!(
            holds(&format!("{name}\0")),
            "{} does not name {name}: this is not a musl that looks up the arm vDSO",
            binary.display()
        );
    }
    for name in [
        "__vdso_clock_getres",
        "__vdso_gettimeofday",
        "__vdso_time",
        "__kernel_",
    ] {
        assert!(
            !holds(name),
            "{} names {name}: musl now looks up more than clock_gettime on arm; \
             say so in this file and check it",
            binary.display()
        );
    }
}

/// In its fake-epoch run, musl 1.2.5 makes exactly the clock syscalls of a client whose
/// `clock_gettime` is our `__vdso_clock_gettime64` and whose `clock_getres` is the time32
/// syscall: one `clock_gettime64` (403, the syscall `__vdso_clock_gettime64` hands an
/// unserved id to; `__vdso_clock_gettime` would make `clock_gettime`, 263) per unserved
/// `gettime` line, one `clock_getres` (264) per `getres` line, served or not, and nothing
/// else: no `gettimeofday` (78), no `clock_getres_time64` (406), and musl makes no second
/// syscall after the vDSO's answer (it retries only on an error other than `EINVAL`).
#[test]
fn musl_1_2_5_makes_exactly_the_syscalls_of_a_vdso_clock_gettime64_caller() {
    let run = get(&MUSL_1_2_5_FAKE_EPOCH);
    let records = run.records();
    let mut traced: Vec<String> = run
        .client_clock_syscalls()
        .iter()
        .map(|c| c.label())
        .collect();
    let mut expected: Vec<String> = records
        .iter()
        .filter_map(|r| {
            let id = r.int("clock").ok()?;
            match r.kind.as_str() {
                "gettime" if !is_served(id) => Some(format!("clock_gettime64({id})")),
                "getres" => Some(format!("clock_getres({id})")),
                _ => None,
            }
        })
        .collect();
    traced.sort();
    expected.sort();
    eprintln!(
        "musl-1.2.5-armhf: after the marker the clock syscalls {traced:?}\nstdout:\n{}",
        run.vm.stdout
    );
    assert!(expected.iter().any(|l| l.starts_with("clock_gettime64")));
    assert_eq!(
        traced,
        expected,
        "musl 1.2.5's clock syscalls are not those of a __vdso_clock_gettime64 caller\n{}",
        run.context()
    );
}

/// The AArch32 numbers these tests read are Linux's, and this trace reader reads every clock
/// call the VM runner knows as the call it is.
#[test]
fn syscall_numbers_are_linuxs_and_agree_with_the_vm_runner() {
    // The numbers have one home (`vdso_linux_sys::arm`), which both the trace reader and the
    // VM runner use; ground truth is Linux's `arch/arm/tools/syscall.tbl`.
    assert_eq!(
        [
            arm::NR_GETTIMEOFDAY,
            arm::NR_CLOCK_GETTIME,
            arm::NR_CLOCK_GETRES,
            arm::NR_CLOCK_GETTIME64,
            arm::NR_CLOCK_GETRES_TIME64
        ],
        [78, 263, 264, 403, 406]
    );
    for (nr, name) in linux_vm::CLOCK_SYSCALLS {
        let call = time_syscall(nr, 1).unwrap_or_else(|| panic!("{name} ({nr}) not read"));
        assert!(name.starts_with(call.call), "{name} read as {}", call.call);
    }
}
