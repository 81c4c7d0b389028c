//! The checks both end-to-end suites make (`tests/e2e.rs`, aarch64 clients under
//! `qemu-aarch64`; `tests/e2e_arm.rs`, 32-bit clients in a Linux VM): what differs between
//! them (how a run is made and traced, the client's name, its expected verdicts) comes in as
//! parameters.

use std::collections::BTreeMap;

use super::arm::ArmTimeSyscall;
use super::build::Run;
use super::{is_served, iso_utc, parse_records, Record, TimeSyscall};

/// The fake wall-clock start: 2033-05-18T03:33:20Z.
pub const FAKE_EPOCH: i64 = 2_000_000_000;
/// How many seconds after the fake epoch a client may read it: it runs within a second of
/// the harness's publication, even under `-strace` on a loaded machine or in a slow VM; this
/// leaves room for a very slow one.
pub const FAKE_EPOCH_WINDOW: i64 = 30;
/// TAI is REALTIME shifted by the host's (or VM's) TAI offset (0 when unset, 37 s since
/// 2017).
pub const MAX_TAI_OFFSET: i64 = 40;

/// A finished client run, as the checks read it.
pub trait ClientRun {
    /// What to show when a check fails.
    fn context(&self) -> String;
    /// The client's stdout.
    fn stdout(&self) -> &str;
    /// Its exit code (`None` if it did not exit).
    fn exit_code(&self) -> Option<i32>;

    /// The client's records; the run must have exited 0 and printed its `done` line.
    fn records(&self) -> Vec<Record> {
        let records = parse_records(self.stdout())
            .unwrap_or_else(|e| panic!("unreadable output: {e}\n{}", self.context()));
        assert_eq!(
            self.exit_code(),
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

impl ClientRun for Run {
    fn context(&self) -> String {
        Run::context(self)
    }

    fn stdout(&self) -> &str {
        &self.stdout
    }

    fn exit_code(&self) -> Option<i32> {
        self.status
    }
}

/// A traced time syscall, as the checks read it.
pub trait TracedCall {
    /// The call, as the clients' records name it: `clock_gettime`, `clock_getres` or
    /// `gettimeofday`.
    fn call(&self) -> &str;
    /// The clock id (none for `gettimeofday`).
    fn clock(&self) -> Option<i64>;
    /// Whether our vDSO should have answered it without the kernel.
    fn is_served(&self) -> bool;
    /// `name(id)`, for messages.
    fn label(&self) -> String;
}

impl TracedCall for TimeSyscall {
    fn call(&self) -> &str {
        self.name
    }

    fn clock(&self) -> Option<i64> {
        self.clock
    }

    fn is_served(&self) -> bool {
        TimeSyscall::is_served(self)
    }

    fn label(&self) -> String {
        match self.clock {
            Some(id) => format!("{}({id})", self.name),
            None => self.name.to_string(),
        }
    }
}

impl TracedCall for ArmTimeSyscall {
    fn call(&self) -> &str {
        self.call
    }

    fn clock(&self) -> Option<i64> {
        self.clock
    }

    fn is_served(&self) -> bool {
        ArmTimeSyscall::is_served(self)
    }

    fn label(&self) -> String {
        ArmTimeSyscall::label(self)
    }
}

/// `name(clock) × count, ...` of some traced calls.
pub fn summary<'a, C: TracedCall + 'a>(calls: impl IntoIterator<Item = &'a C>) -> String {
    let mut counts = BTreeMap::new();
    for c in calls {
        *counts.entry(c.label()).or_insert(0) += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(c, n)| format!("{c} × {n}")).collect();
    parts.join(", ")
}

/// The records of calls our vDSO must hand to the kernel.
pub fn unserved_records(records: &[Record]) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "gettime" | "getres"))
        .filter(|r| r.int("clock").is_ok_and(|id| !is_served(id)))
        .collect()
}

/// The syscall a `gettime` or `getres` record's call makes.
pub fn syscall_name(r: &Record) -> &'static str {
    if r.kind == "getres" {
        "clock_getres"
    } else {
        "clock_gettime"
    }
}

/// Every record that reads the wall clock: the printed wall time, REALTIME and
/// REALTIME_COARSE from `clock_gettime`, `gettimeofday`, `time`.
pub fn wall_clock_seconds(records: &[Record]) -> Vec<(String, i64)> {
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
pub fn wall_seconds(run: &impl ClientRun, records: &[Record]) -> i64 {
    wall_record(run, records).int("sec").unwrap()
}

fn wall_record<'a>(run: &impl ClientRun, records: &'a [Record]) -> &'a Record {
    records
        .iter()
        .find(|r| r.kind == "wall")
        .unwrap_or_else(|| panic!("no `wall` line\n{}", run.context()))
}

/// (a) The wall clock of `run` (`show` with `--fake-epoch FAKE_EPOCH`) reads the fake epoch,
/// and the client's own calendar conversion says 2033-05-18T03:33:2x.
pub fn check_fake_epoch(client: &str, run: &impl ClientRun) {
    let records = run.records();
    eprintln!("{client} with --fake-epoch {FAKE_EPOCH}:\n{}", run.stdout());
    let window = FAKE_EPOCH..FAKE_EPOCH + FAKE_EPOCH_WINDOW;

    let wall = wall_record(run, &records);
    let sec = wall.int("sec").unwrap();
    let nsec = wall.int("nsec").unwrap();
    assert!(
        window.contains(&sec),
        "{client}: wall time {sec} is not the fake epoch {FAKE_EPOCH} (+{FAKE_EPOCH_WINDOW} s): \
         the client did not read our data page\n{}",
        run.context()
    );
    assert_eq!(
        wall.get("iso"),
        Some(format!("{}.{nsec:09}Z", iso_utc(sec)).as_str()),
        "{client}: the printed date is not the fake epoch's"
    );
    assert!(
        iso_utc(sec).starts_with("2033-05-18T03:33:")
            || iso_utc(sec).starts_with("2033-05-18T03:34:"),
        "the fake epoch is 2033-05-18T03:33:20Z, not {}",
        iso_utc(sec)
    );

    let wall_clocks = wall_clock_seconds(&records);
    // (It holds the `wall` line at least.)
    assert!(!wall_clocks.is_empty());
    for (line, s) in &wall_clocks {
        assert!(
            window.contains(s),
            "{client}: `{line}` is not at the fake epoch\n{}",
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
            "{client}: TAI `{tai}` was not shifted with REALTIME to the fake epoch"
        );
    }
}

/// (b) In `run` (with our vDSO, `records` its records), the traced `calls` after the
/// harness's marker hold no served-clock syscall, but for `clock_getres` when the client
/// does not look it up in a vDSO (`getres_through_vdso` false: then exactly one for each of
/// its served `getres` lines); and they hold each call that must reach the kernel, so the
/// trace reading is not blind.
pub fn check_no_served_syscall<C: TracedCall>(
    client: &str,
    run: &impl ClientRun,
    records: &[Record],
    calls: &[C],
    getres_through_vdso: bool,
) {
    let served: Vec<&C> = calls.iter().filter(|c| c.is_served()).collect();
    let (getres, other): (Vec<&C>, Vec<&C>) =
        served.iter().partition(|c| c.call() == "clock_getres");
    let expected_getres = if getres_through_vdso {
        0
    } else {
        records
            .iter()
            .filter(|r| r.kind == "getres" && r.int("clock").is_ok_and(is_served))
            .count()
    };
    eprintln!(
        "{client}: with our vDSO, after the marker {} time syscalls, {} for served clocks \
         ({} clock_getres): {}",
        calls.len(),
        served.len(),
        getres.len(),
        summary(calls)
    );
    assert!(
        other.is_empty(),
        "{client}: {} served-clock syscalls reached the kernel after the client started: {}\n{}",
        other.len(),
        summary(other.iter().copied()),
        run.context()
    );
    assert_eq!(
        getres.len(),
        expected_getres,
        "{client}: served clock_getres syscalls: {}\n{}",
        summary(getres.iter().copied()),
        run.context()
    );

    // The trace does show the calls that must reach the kernel, so the reading works.
    let unserved = unserved_records(records);
    assert!(
        !unserved.is_empty(),
        "{client}: the client printed no CPU-clock or invalid-id call\n{}",
        run.context()
    );
    for r in &unserved {
        let name = syscall_name(r);
        let id = r.int("clock").unwrap();
        assert!(
            calls
                .iter()
                .any(|c| c.call() == name && c.clock() == Some(id)),
            "{client}: `{r}` does not appear as a {name}({id}) syscall in the trace: \
             is the trace reading blind?\n{}",
            run.context()
        );
    }
}

/// (c) The CPU-time and invalid-id calls of a run with our vDSO (`with`) are those of a run
/// without (`without`, which `without_name` names in messages, e.g. "the run without our
/// vDSO") and answer alike: the same `ret` and `errno`, the same resolution, a plausible CPU
/// time. Returns `with`'s unserved records, one per call, for the caller to find in its
/// trace.
pub fn check_unserved_records<'a>(
    client: &str,
    with: &'a [Record],
    without: &[Record],
    without_name: &str,
) -> Vec<&'a Record> {
    let key = |r: &Record| {
        (
            r.kind.clone(),
            r.get("api").unwrap_or_default().to_string(),
            r.int("clock").unwrap(),
        )
    };
    let with_map: BTreeMap<_, _> = unserved_records(with)
        .into_iter()
        .map(|r| (key(r), r))
        .collect();
    let without_map: BTreeMap<_, _> = unserved_records(without)
        .into_iter()
        .map(|r| (key(r), r))
        .collect();
    assert!(!with_map.is_empty(), "{client}: no unserved call");
    assert_eq!(
        with_map.keys().collect::<Vec<_>>(),
        without_map.keys().collect::<Vec<_>>(),
        "{client}: the two runs made different unserved calls"
    );
    for (k, w) in &with_map {
        let d = without_map[k];
        eprintln!("{client}: with our vDSO `{w}`; without `{d}`");
        for field in ["ret", "errno"] {
            assert_eq!(
                w.get(field),
                d.get(field),
                "{client}: `{w}` differs from {without_name}: `{d}`"
            );
        }
        if w.kind == "getres" {
            assert_eq!(
                (w.get("sec"), w.get("nsec")),
                (d.get("sec"), d.get("nsec")),
                "{client}: `{w}` differs from {without_name}: `{d}`"
            );
        } else if w.int("ret") == Ok(0) {
            // A CPU-time clock: this process's CPU time, well under a minute.
            let t = w.ns().unwrap();
            assert!(
                (0..60_000_000_000).contains(&t),
                "{client}: implausible CPU time `{w}`"
            );
        }
    }
    with_map.into_values().collect()
}

/// (d) In compare mode (`run`) every verdict is `ok=1` and none of `expected` (`(call,
/// clock)`) is missing; the run finished cleanly. Returns how many verdicts it printed.
pub fn check_compare(client: &str, run: &impl ClientRun, expected: &[(&str, i64)]) -> usize {
    let records = parse_records(run.stdout())
        .unwrap_or_else(|e| panic!("unreadable output: {e}\n{}", run.context()));
    let verdicts: Vec<&Record> = records.iter().filter(|r| r.kind == "compare").collect();
    let bad: Vec<String> = verdicts
        .iter()
        .filter(|r| r.get("ok") != Some("1"))
        .map(|r| r.to_string())
        .collect();
    assert!(
        bad.is_empty(),
        "{client}: the vDSO disagrees with the syscall:\n{}\n{}",
        bad.join("\n"),
        run.context()
    );
    for &(call, id) in expected {
        assert!(
            verdicts
                .iter()
                .any(|r| r.get("call") == Some(call) && r.int("clock") == Ok(id)),
            "{client}: no compare verdict for {call}({id})\n{}",
            run.context()
        );
    }
    run.records();
    verdicts.len()
}

/// The monotonic clock, read on several threads at once, never went backwards in `run`.
pub fn check_monotonic(client: &str, run: &impl ClientRun) {
    let records = run.records();
    let m = records
        .iter()
        .find(|r| r.kind == "monotonic")
        .unwrap_or_else(|| panic!("no `monotonic` line\n{}", run.context()));
    assert!(m.int("calls").unwrap() > 0);
    assert_eq!(
        m.int("backwards"),
        Ok(0),
        "{client}: `{m}`\n{}",
        run.context()
    );
}
