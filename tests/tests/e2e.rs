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

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;
use std::time::Duration;

use vdso_tests::e2e::build::{self, check_static, Libc, Run};
use vdso_tests::e2e::checks::{self, syscall_name, ClientRun, FAKE_EPOCH, FAKE_EPOCH_WINDOW};
use vdso_tests::e2e::{client_time_syscalls, iso_utc, time_syscalls};

mod e2e_support;
use e2e_support::{
    c_compare_calls, client_tests, get, prereqs, served_and, shell, Built, Shared,
    GO_COMPARE_CALLS, UNSERVED,
};

/// A run that takes longer has hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

const QEMU: &str = "qemu-aarch64";

fn e2e_dir() -> PathBuf {
    build::e2e_dir()
}

// ---------------------------------------------------------------------------------------------
// Building

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
    build::go_build(&dir, &out, &[("GOARCH", "arm64")], None)?;
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
    get(artifact).as_path()
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
        match self {
            Client::Musl | Client::MuslPie | Client::Glibc | Client::GlibcPie => c_compare_calls(),
            Client::Go => GO_COMPARE_CALLS.to_vec(),
            Client::Rust => {
                let mut calls: Vec<_> = served_and(&[2])
                    .into_iter()
                    .map(|id| ("rustix-clock_gettime", id))
                    .collect();
                calls.extend([("std-systemtime", 0), ("std-instant-elapsed", 1)]);
                calls.extend(
                    served_and(&UNSERVED)
                        .into_iter()
                        .map(|id| ("clock_getres", id)),
                );
                calls.extend(UNSERVED.iter().map(|&id| ("clock_gettime", id)));
                calls
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running

/// Runs `qemu-aarch64 [qemu_args] program args` with stdin from /dev/null and stdout and
/// stderr in `target/e2e/runs/<label>.{stdout,stderr}`, again if the host's wall clock moved
/// under it (see `build::run_with_a_steady_wall_clock`).
fn run(label: &str, qemu_args: &[&str], program: &Path, args: &[&str]) -> Result<Run, String> {
    prereqs()?;
    let command = || {
        let mut command = Command::new(QEMU);
        command.args(qemu_args).arg(program).args(args);
        command
    };
    build::run_with_a_steady_wall_clock(command, label, RUN_TIMEOUT)
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
    fake_epoch: Shared<Run>,
    /// `show` directly under `qemu-aarch64 -strace`: no vDSO, every call is a syscall.
    direct: Shared<Run>,
    /// `compare` through the harness with the host's time.
    compare: Shared<Run>,
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

impl Client {
    /// The client's three runs.
    fn runs(self) -> &'static Runs {
        static MUSL_RUNS: Runs = runs_of!(Client::Musl);
        static MUSL_PIE_RUNS: Runs = runs_of!(Client::MuslPie);
        static GLIBC_RUNS: Runs = runs_of!(Client::Glibc);
        static GLIBC_PIE_RUNS: Runs = runs_of!(Client::GlibcPie);
        static GO_RUNS: Runs = runs_of!(Client::Go);
        static RUST_RUNS: Runs = runs_of!(Client::Rust);
        match self {
            Client::Musl => &MUSL_RUNS,
            Client::MuslPie => &MUSL_PIE_RUNS,
            Client::Glibc => &GLIBC_RUNS,
            Client::GlibcPie => &GLIBC_PIE_RUNS,
            Client::Go => &GO_RUNS,
            Client::Rust => &RUST_RUNS,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checks (`vdso_tests::e2e::checks`)

/// (a) The wall clock reads the fake epoch, and the client's own calendar conversion says
/// 2033-05-18T03:33:2x.
fn check_fake_epoch(client: Client) {
    let runs = client.runs();
    checks::check_fake_epoch(client.name(), get(&runs.fake_epoch));
}

/// (b) No served-clock syscall after the harness's marker; the unserved calls are there.
fn check_no_served_syscall(client: Client) {
    let runs = client.runs();
    let run = get(&runs.fake_epoch);
    let records = run.records();
    let calls = client_time_syscalls(&run.stderr)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", client.name(), run.context()));
    // musl's clock_getres always reaches the kernel (by musl's design): exactly its served
    // `getres` lines are expected there.
    let getres = client.getres_through_vdso();
    checks::check_no_served_syscall(client.name(), run, &records, &calls, getres);

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

/// (c) CPU-time and invalid ids reach the kernel and answer as without our vDSO.
fn check_unserved(client: Client) {
    let runs = client.runs();
    let with = get(&runs.fake_epoch);
    let with_records = with.records();
    let unserved = checks::check_unserved_records(
        client.name(),
        &with_records,
        &get(&runs.direct).records(),
        "the run without our vDSO",
    );

    // And each reached the kernel, which answered what the client printed
    // (when the trace tells which return is the call's: see `vdso_tests::e2e`).
    let calls = client_time_syscalls(&with.stderr).unwrap();
    for w in unserved {
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
fn check_compare(client: Client) {
    let runs = client.runs();
    let verdicts =
        checks::check_compare(client.name(), get(&runs.compare), &client.compare_calls());
    eprintln!("{}: {verdicts} compare verdicts ok", client.name());
}

/// Go and Rust: the monotonic clock never went backwards across threads.
fn check_monotonic(client: Client) {
    let runs = client.runs();
    checks::check_monotonic(client.name(), get(&runs.fake_epoch));
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
