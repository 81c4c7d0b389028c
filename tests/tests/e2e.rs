//! End to end: real programs, built from source here, get our vDSO from the exec harness
//! (`vdso-exec`, under `qemu-aarch64`, which gives a process no vDSO of its own) and use it.
//!
//! The clients (`tests/clients/`) are one C program built four ways (static musl, static
//! glibc, and both as static-PIE, which the harness loads as `ET_DYN`), a Go 1.19 program and
//! a Rust program (rustix's own vDSO parser and `std::time` over static glibc). For each one:
//!
//! - `fake_epoch_wall_time_comes_from_the_data_page`: with `--fake-epoch 2000000000` the
//!   client prints 2033-05-18T03:33:2x; only the data page could have said that.
//! - `served_clocks_make_no_syscall`: the `qemu-aarch64 -strace` trace of that run shows no
//!   `clock_gettime`/`clock_getres`/`gettimeofday` syscall for a served clock after the
//!   harness's client-start marker, while it does show the client's CPU-clock and invalid-id
//!   calls (so a parser that matched nothing fails), and the same client run without our vDSO
//!   does make served-clock syscalls.
//! - `unserved_clocks_reach_the_syscall_with_its_answer`: the CPU-time clock and invalid ids
//!   reach the kernel and answer exactly as in a run without our vDSO.
//! - `served_clocks_lie_between_two_syscalls`: in compare mode, without a fake epoch, every
//!   served clock read through the vDSO lies between two raw syscalls (the clients explain
//!   their tolerances) and `clock_getres` equals the syscall.
//!
//! Go and Rust also read their monotonic clock on several threads at once
//! (`monotonic_clock_never_goes_backwards_across_threads`), and `tests/clients/c/date.c`
//! prints the fake epoch as a date (`date_prints_the_fake_epoch_in_utc`, the README's
//! example).
//!
//! Everything is built once per test process (one `LazyLock` per artifact and per run, shared
//! by the tests that read it) under `target/e2e/`, with the toolchains `xtask::prereq` lists;
//! a missing one fails with the Debian package to install. Each run's stdout and stderr (the
//! trace) stay in `target/e2e/runs/` for a look after a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;
use std::time::Duration;

use vdso_tests::e2e::build::{self, check_static, Libc, Run};
use vdso_tests::e2e::{
    client_time_syscalls, is_served, iso_utc, parse_records, time_syscalls, Record, TimeSyscall,
};

/// The fake wall-clock start: 2033-05-18T03:33:20Z.
const FAKE_EPOCH: i64 = 2_000_000_000;
/// How many seconds after the fake epoch a client may read it: it runs
/// within a second of the harness's publication, even under `-strace` on a
/// loaded machine; this leaves room for a very slow one.
const FAKE_EPOCH_WINDOW: i64 = 30;
/// TAI is REALTIME shifted by the host's TAI offset (0 when unset, 37 s
/// since 2017).
const MAX_TAI_OFFSET: i64 = 40;
/// A run that takes longer has hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

const QEMU: &str = "qemu-aarch64";

fn root() -> PathBuf {
    xtask::project_root()
}

fn e2e_dir() -> PathBuf {
    build::e2e_dir()
}

// ---------------------------------------------------------------------------------------------
// Building

/// A built program, or why it could not be built (kept as text: every test that needs it
/// fails with the same message).
type Built = Result<PathBuf, String>;

fn shell() -> Result<xshell::Shell, String> {
    xshell::Shell::new().map_err(|e| format!("cannot create a shell: {e}"))
}

/// Every toolchain the e2e tests use (cross gcc, musl, static glibc, Go, qemu-user, Debian's
/// rustc): installed when root, otherwise an error naming the Debian packages.
static PREREQS: LazyLock<Result<(), String>> = LazyLock::new(|| {
    xtask::prereq::ensure(&shell()?, xtask::prereq::TEST).map_err(|e| format!("{e:#}"))
});

fn prereqs() -> Result<(), String> {
    PREREQS.clone()
}

/// A workspace package built as a static aarch64 binary.
fn cargo_bin(package: &str) -> Built {
    prereqs()?;
    xtask::build_aarch64_bin(&shell()?, package).map_err(|e| format!("building {package}: {e:#}"))
}

/// Builds `tests/clients/c/<source>` into `target/e2e/c/<output>` (see [`build::c_client`]).
fn build_c(source: &str, output: &str, libc: Libc, pie: bool) -> Built {
    prereqs()?;
    build::c_client(source, output, libc, pie)
}

/// Builds `tests/clients/go/main.go` for linux/arm64 (static: no cgo), offline, with its
/// build cache under `target/e2e/`.
fn build_go() -> Built {
    prereqs()?;
    let dir = e2e_dir().join("go");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let out = dir.join("clocks-go");
    let mut go = Command::new("go");
    go.current_dir(root().join("tests/clients/go"))
        .args(["build", "-trimpath", "-o"])
        .arg(&out)
        .arg("main.go")
        .env("GOOS", "linux")
        .env("GOARCH", "arm64")
        .env("CGO_ENABLED", "0")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOWORK", "off")
        .env("GOCACHE", dir.join("gocache"))
        .env("GOPATH", dir.join("gopath"));
    let result = go
        .output()
        .map_err(|e| format!("cannot run go (Debian package golang-go): {e}"))?;
    if !result.status.success() {
        return Err(format!(
            "{go:?} failed ({}):\n{}",
            result.status,
            String::from_utf8_lossy(&result.stderr)
        ));
    }
    check_static(&out, false)?;
    Ok(out)
}

static HARNESS: LazyLock<Built> = LazyLock::new(|| cargo_bin("vdso-exec"));
static RUST_CLIENT: LazyLock<Built> = LazyLock::new(|| cargo_bin("vdso-rust-client"));
static GO_CLIENT: LazyLock<Built> = LazyLock::new(build_go);
static MUSL: LazyLock<Built> =
    LazyLock::new(|| build_c("clocks.c", "clocks-musl", Libc::Musl, false));
static MUSL_PIE: LazyLock<Built> =
    LazyLock::new(|| build_c("clocks.c", "clocks-musl-pie", Libc::Musl, true));
static GLIBC: LazyLock<Built> =
    LazyLock::new(|| build_c("clocks.c", "clocks-glibc", Libc::Glibc, false));
static GLIBC_PIE: LazyLock<Built> =
    LazyLock::new(|| build_c("clocks.c", "clocks-glibc-pie", Libc::Glibc, true));
static DATE: LazyLock<Built> = LazyLock::new(|| build_c("date.c", "date-musl", Libc::Musl, false));

fn built(artifact: &'static LazyLock<Built>) -> &'static Path {
    match &**artifact {
        Ok(path) => path,
        Err(e) => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The clients

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Musl,
    MuslPie,
    Glibc,
    GlibcPie,
    Go,
    Rust,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Musl => "musl",
            Client::MuslPie => "musl-static-pie",
            Client::Glibc => "glibc",
            Client::GlibcPie => "glibc-static-pie",
            Client::Go => "go",
            Client::Rust => "rust",
        }
    }

    fn binary(self) -> &'static Path {
        built(match self {
            Client::Musl => &MUSL,
            Client::MuslPie => &MUSL_PIE,
            Client::Glibc => &GLIBC,
            Client::GlibcPie => &GLIBC_PIE,
            Client::Go => &GO_CLIENT,
            Client::Rust => &RUST_CLIENT,
        })
    }

    /// musl's `clock_getres` is a plain syscall (musl 1.2.3 `src/time/clock_getres.c`: it
    /// never looks for a vDSO function), so its calls for served clocks reach the kernel by
    /// musl's design, not by a fault of ours.
    fn getres_through_vdso(self) -> bool {
        !matches!(self, Client::Musl | Client::MuslPie)
    }

    /// The `compare` verdicts the client must print: `(call, clock)`.
    fn compare_calls(self) -> Vec<(&'static str, i64)> {
        let unserved = [2, 12345, -1];
        match self {
            Client::Musl | Client::MuslPie | Client::Glibc | Client::GlibcPie => {
                let ids = served_and(&unserved);
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
            Client::Rust => {
                let mut calls: Vec<_> = served_and(&[2])
                    .into_iter()
                    .map(|id| ("rustix-clock_gettime", id))
                    .collect();
                calls.extend([("std-systemtime", 0), ("std-instant-elapsed", 1)]);
                calls.extend(
                    served_and(&unserved)
                        .into_iter()
                        .map(|id| ("clock_getres", id)),
                );
                calls.extend(unserved.iter().map(|&id| ("clock_gettime", id)));
                calls
            }
        }
    }
}

/// The served clocks followed by `more`.
fn served_and(more: &[i64]) -> Vec<i64> {
    vdso_tests::e2e::SERVED
        .iter()
        .chain(more)
        .copied()
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Running

/// Reads a client run's records.
trait Records {
    fn records(&self) -> Vec<Record>;
}

impl Records for Run {
    /// The client's records; the run must have exited 0 and printed its `done` line.
    fn records(&self) -> Vec<Record> {
        let records = parse_records(&self.stdout)
            .unwrap_or_else(|e| panic!("unreadable output: {e}\n{}", self.context()));
        assert_eq!(
            self.status,
            Some(0),
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
}

/// Runs `qemu-aarch64 [qemu_args] program args` with stdin from /dev/null and stdout and
/// stderr in `target/e2e/runs/<label>.{stdout,stderr}`.
fn run(label: &str, qemu_args: &[&str], program: &Path, args: &[&str]) -> Result<Run, String> {
    prereqs()?;
    let mut command = Command::new(QEMU);
    command.args(qemu_args).arg(program).args(args);
    build::run_logged(command, label, RUN_TIMEOUT)
}

/// `client mode` through the harness: `qemu-aarch64 [-strace] vdso-exec [--fake-epoch E] --
/// client mode`.
fn through_harness(
    label: &str,
    program: &Path,
    mode: &[&str],
    fake_epoch: bool,
    strace: bool,
) -> Result<Run, String> {
    let harness = HARNESS.clone()?;
    let epoch = FAKE_EPOCH.to_string();
    let mut args: Vec<&str> = Vec::new();
    if fake_epoch {
        args.extend(["--fake-epoch", &epoch]);
    }
    args.push("--");
    let program = program.to_str().ok_or("non-UTF-8 path")?;
    args.push(program);
    args.extend(mode);
    let qemu_args: &[&str] = if strace { &["-strace"] } else { &[] };
    run(label, qemu_args, &harness, &args)
}

/// The three runs of one client, each made once and shared by its tests.
struct Runs {
    /// `show` through the harness with the fake epoch, under `-strace`.
    fake_epoch: LazyLock<Result<Run, String>>,
    /// `show` directly under `qemu-aarch64 -strace`: no vDSO, every call is a syscall.
    direct: LazyLock<Result<Run, String>>,
    /// `compare` through the harness with the host's time.
    compare: LazyLock<Result<Run, String>>,
}

fn get(run: &'static LazyLock<Result<Run, String>>) -> &'static Run {
    match &**run {
        Ok(run) => run,
        Err(e) => panic!("{e}"),
    }
}

macro_rules! runs_of {
    ($client:expr) => {
        Runs {
            fake_epoch: LazyLock::new(|| {
                let c: Client = $client;
                let label = format!("{}-fake-epoch", c.name());
                through_harness(&label, c.binary(), &["show"], true, true)
            }),
            direct: LazyLock::new(|| {
                let c: Client = $client;
                run(
                    &format!("{}-direct", c.name()),
                    &["-strace"],
                    c.binary(),
                    &["show"],
                )
            }),
            compare: LazyLock::new(|| {
                let c: Client = $client;
                let label = format!("{}-compare", c.name());
                through_harness(&label, c.binary(), &["compare"], false, false)
            }),
        }
    };
}

// ---------------------------------------------------------------------------------------------
// The checks

/// Every record that reads the wall clock: the printed wall time, REALTIME and
/// REALTIME_COARSE from `clock_gettime`, `gettimeofday`, `time`.
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

/// (a) The wall clock reads the fake epoch, and the client's own calendar conversion says
/// 2033-05-18T03:33:2x.
fn check_fake_epoch(client: Client, runs: &'static Runs) {
    let run = get(&runs.fake_epoch);
    let records = run.records();
    eprintln!(
        "{} with --fake-epoch {FAKE_EPOCH}:\n{}",
        client.name(),
        run.stdout
    );
    let window = FAKE_EPOCH..FAKE_EPOCH + FAKE_EPOCH_WINDOW;

    let wall = records
        .iter()
        .find(|r| r.kind == "wall")
        .unwrap_or_else(|| panic!("no `wall` line\n{}", run.context()));
    let sec = wall.int("sec").unwrap();
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
    assert!(!wall_clocks.is_empty());
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
}

/// (b) No served-clock syscall after the harness's marker; the unserved calls are there.
fn check_no_served_syscall(client: Client, runs: &'static Runs) {
    let run = get(&runs.fake_epoch);
    let records = run.records();
    let calls = client_time_syscalls(&run.stderr)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", client.name(), run.context()));

    // Served calls that reached the kernel. musl's clock_getres always does (by musl's
    // design): expect exactly its served `getres` lines there.
    let served: Vec<_> = calls.iter().filter(|c| c.is_served()).collect();
    let (getres, other): (Vec<&TimeSyscall>, Vec<&TimeSyscall>) =
        served.iter().partition(|c| c.name == "clock_getres");
    let expected_getres = if client.getres_through_vdso() {
        0
    } else {
        records
            .iter()
            .filter(|r| r.kind == "getres" && r.int("clock").is_ok_and(is_served))
            .count()
    };
    eprintln!(
        "{}: after the marker {} time syscalls, {} for served clocks ({} clock_getres)",
        client.name(),
        calls.len(),
        served.len(),
        getres.len()
    );
    assert!(
        other.is_empty(),
        "{}: {} served-clock syscalls reached the kernel after the client started: {}\n{}",
        client.name(),
        other.len(),
        summary(&other),
        run.context()
    );
    assert_eq!(
        getres.len(),
        expected_getres,
        "{}: served clock_getres syscalls: {}\n{}",
        client.name(),
        summary(&getres),
        run.context()
    );

    // The trace does show the calls that must reach the kernel, so the parser works.
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
            calls.iter().any(|c| c.name == name && c.clock == Some(id)),
            "{}: `{r}` does not appear as a {name}({id}) syscall in the trace: \
             is the trace parser blind?\n{}",
            client.name(),
            run.context()
        );
    }

    // Without our vDSO the same client does make served-clock syscalls: zero above is ours.
    let direct = get(&runs.direct);
    direct.records();
    let without = time_syscalls(&direct.stderr).unwrap();
    let without_served = without.iter().filter(|c| c.is_served()).count();
    eprintln!(
        "{}: without our vDSO {} time syscalls, {without_served} for served clocks",
        client.name(),
        without.len()
    );
    assert!(
        without_served > 0,
        "{}: even without a vDSO the client made no served-clock syscall: it proves nothing\n{}",
        client.name(),
        direct.context()
    );
}

/// `name(clock) × count, ...` of some traced calls.
fn summary(calls: &[&TimeSyscall]) -> String {
    let mut counts = BTreeMap::new();
    for c in calls {
        let call = match c.clock {
            Some(id) => format!("{}({id})", c.name),
            None => c.name.to_string(),
        };
        *counts.entry(call).or_insert(0) += 1;
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

/// (c) CPU-time and invalid ids reach the kernel and answer as without our vDSO.
fn check_unserved(client: Client, runs: &'static Runs) {
    let with = get(&runs.fake_epoch);
    let without = get(&runs.direct);
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
                "{}: `{w}` differs from the run without our vDSO: `{d}`",
                client.name()
            );
        }
        if w.kind == "getres" {
            assert_eq!(
                (w.get("sec"), w.get("nsec")),
                (d.get("sec"), d.get("nsec")),
                "{}: `{w}` differs from the run without our vDSO: `{d}`",
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

    // And each reached the kernel, which answered what the client printed
    // (when the trace tells which return is the call's: see `vdso_tests::e2e`).
    let calls = client_time_syscalls(&with.stderr).unwrap();
    for w in with_map.values() {
        let name = syscall_name(w);
        let id = w.int("clock").unwrap();
        let ret = w.int("ret").unwrap();
        let errno = if ret == 0 { None } else { w.int("errno").ok() };
        assert!(
            calls.iter().any(|c| c.name == name
                && c.clock == Some(id)
                && (c.ret.is_none() || (c.ret == Some(ret) && c.errno == errno))),
            "{}: no {name}({id}) syscall returning `{w}` in the trace\n{}",
            client.name(),
            with.context()
        );
    }
}

/// (d) In compare mode every verdict is `ok=1` and none is missing.
fn check_compare(client: Client, runs: &'static Runs) {
    let run = get(&runs.compare);
    let records = parse_records(&run.stdout)
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
    eprintln!("{}: {} compare verdicts ok", client.name(), verdicts.len());
}

/// Go and Rust: the monotonic clock never went backwards across threads.
fn check_monotonic(client: Client, runs: &'static Runs) {
    let run = get(&runs.fake_epoch);
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

            static RUNS: Runs = runs_of!($client);

            #[test]
            fn fake_epoch_wall_time_comes_from_the_data_page() {
                check_fake_epoch($client, &RUNS);
            }

            #[test]
            fn served_clocks_make_no_syscall() {
                check_no_served_syscall($client, &RUNS);
            }

            #[test]
            fn unserved_clocks_reach_the_syscall_with_its_answer() {
                check_unserved($client, &RUNS);
            }

            #[test]
            fn served_clocks_lie_between_two_syscalls() {
                check_compare($client, &RUNS);
            }

            $(
                #[test]
                fn $extra() {
                    check_monotonic($client, &RUNS);
                }
            )*
        }
    };
}

client_tests!(musl, Client::Musl);
client_tests!(musl_static_pie, Client::MuslPie);
client_tests!(glibc, Client::Glibc);
client_tests!(glibc_static_pie, Client::GlibcPie);
client_tests!(
    go,
    Client::Go,
    monotonic_clock_never_goes_backwards_across_threads
);
client_tests!(
    rust,
    Client::Rust,
    monotonic_clock_never_goes_backwards_across_threads
);

/// The README's example: `date` with a fake epoch prints 2033-05-18.
#[test]
fn date_prints_the_fake_epoch_in_utc() {
    let run = through_harness("date-fake-epoch", built(&DATE), &[], true, false)
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("date with --fake-epoch {FAKE_EPOCH}:\n{}", run.stdout);
    assert_eq!(run.status, Some(0), "{}", run.context());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.context());
    assert!(
        (FAKE_EPOCH..FAKE_EPOCH + FAKE_EPOCH_WINDOW)
            .any(|t| lines[0] == format!("{}Z", iso_utc(t))),
        "`{}` is not the fake epoch\n{}",
        lines[0],
        run.context()
    );
    assert!(
        lines[1].starts_with("Wed May 18 03:3") && lines[1].ends_with(" UTC 2033"),
        "`{}` is not the fake epoch\n{}",
        lines[1],
        run.context()
    );
}
