//! What the end-to-end tests (`tests/e2e.rs`) read: the clients' output and
//! `qemu-aarch64 -strace` traces.
//!
//! The clients (`tests/clients/`: C against musl and glibc, Go, Rust) print
//! one record per line, `<record> key=value ...` (the grammar is in
//! `tests/clients/c/clocks.c`); [`parse_records`] reads them. The exec
//! harness `vdso-exec` makes one marker syscall right before it jumps to the
//! client, `faccessat(AT_FDCWD, "/vdso-exec/client-start", F_OK, 0)`;
//! [`client_time_syscalls`] returns every time syscall qemu traced after it.
//!
//! qemu 7.2 traces a time syscall as (one line, `PID name(args) = ret`)
//!
//! ```text
//! 4786 clock_gettime(CLOCK_MONOTONIC_COARSE,0x0000005500800490) = 0 ({tv_sec = 2953,tv_nsec = 339514914})
//! 4786 clock_gettime(0x3039,0x0000005500800490) = -1 errno=22 (Invalid argument)
//! 4786 clock_getres(0xffffffff,0x0000005500800490) = -1 errno=22 (Invalid argument)
//! 4786 gettimeofday(0x0000005500800490,NULL) = 0 ({tv_sec = 1795437075,tv_usec = 301818},NULL)
//! ```
//!
//! naming the clock ids it knows (`CLOCK_*`, Linux's names) and printing the
//! others as 32-bit hex. Several threads share one trace (the harness's
//! ticker sleeps while the client runs). qemu prints a call whole, but its
//! return ` = ...` only when the call returns, so a call may start in the
//! middle of a line whose own call has not returned yet, and the return that
//! follows it may be the other call's:
//!
//! ```text
//! 15196 clock_gettime(CLOCK_PROCESS_CPUTIME_ID,0x0000005501104100)15196 nanosleep(365090135840,0,0,0,0,0) = 0 ({tv_sec = 0,tv_nsec = 24699174})
//! ```
//!
//! So calls are found anywhere in the text, and a return is read only for a
//! call that starts its line (then no other call is waiting before it).

pub mod arm;
pub mod build;
pub mod checks;

use std::collections::BTreeMap;

/// The clocks our vDSO serves from its data page (the semantics, ARCHITECTURE.md).
pub const SERVED: [i64; 7] = [0, 1, 4, 5, 6, 7, 11];

/// Whether the vDSO answers `id` itself (anything else must reach the kernel).
pub fn is_served(id: i64) -> bool {
    SERVED.contains(&id)
}

/// The path of the harness's marker syscall.
pub const CLIENT_START_MARKER: &str = "/vdso-exec/client-start";

/// The time syscalls the vDSO replaces.
pub const TIME_SYSCALLS: [&str; 3] = ["clock_gettime", "clock_getres", "gettimeofday"];

/// One line of a client's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The first word: `gettime`, `getres`, `gettimeofday`, `time`, `wall`,
    /// `monotonic`, `compare`, `done`.
    pub kind: String,
    /// The `key=value` pairs, in order.
    pub fields: Vec<(String, String)>,
}

impl Record {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` as an integer.
    pub fn int(&self, key: &str) -> Result<i64, String> {
        let v = self
            .get(key)
            .ok_or_else(|| format!("no `{key}` in {self}"))?;
        v.parse()
            .map_err(|_| format!("`{key}={v}` is not an integer in {self}"))
    }

    /// `sec * 10^9 + nsec`.
    pub fn ns(&self) -> Result<i128, String> {
        Ok(i128::from(self.int("sec")?) * 1_000_000_000 + i128::from(self.int("nsec")?))
    }
}

impl std::fmt::Display for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        for (k, v) in &self.fields {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

/// Reads a client's output: every non-empty line must be a record.
pub fn parse_records(output: &str) -> Result<Vec<Record>, String> {
    output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            let kind = words.next().unwrap_or_default().to_string();
            let fields = words
                .map(|w| {
                    w.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .ok_or_else(|| format!("`{w}` is not key=value in line `{line}`"))
                })
                .collect::<Result<_, _>>()?;
            if kind.contains('=') {
                return Err(format!("line `{line}` has no record name"));
            }
            Ok(Record { kind, fields })
        })
        .collect()
}

/// One traced time syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeSyscall {
    /// `clock_gettime`, `clock_getres` or `gettimeofday`.
    pub name: &'static str,
    /// The clock id (none for `gettimeofday`).
    pub clock: Option<i64>,
    /// The return value, when qemu printed it right after the call.
    pub ret: Option<i64>,
    /// The errno of a failed call, when printed.
    pub errno: Option<i64>,
}

impl TimeSyscall {
    /// Whether this is a call our vDSO should have answered without the
    /// kernel: `gettimeofday`, or a served clock.
    pub fn is_served(&self) -> bool {
        self.clock.is_none_or(is_served)
    }
}

/// Linux's names for the clock ids, as qemu prints them.
const CLOCK_NAMES: [(&str, i64); 12] = [
    ("CLOCK_REALTIME", 0),
    ("CLOCK_MONOTONIC", 1),
    ("CLOCK_PROCESS_CPUTIME_ID", 2),
    ("CLOCK_THREAD_CPUTIME_ID", 3),
    ("CLOCK_MONOTONIC_RAW", 4),
    ("CLOCK_REALTIME_COARSE", 5),
    ("CLOCK_MONOTONIC_COARSE", 6),
    ("CLOCK_BOOTTIME", 7),
    ("CLOCK_REALTIME_ALARM", 8),
    ("CLOCK_BOOTTIME_ALARM", 9),
    ("CLOCK_SGI_CYCLE", 10),
    ("CLOCK_TAI", 11),
];

/// A clock id as qemu prints it: a name, 32-bit hex, or decimal.
pub fn parse_clock_id(arg: &str) -> Result<i64, String> {
    let arg = arg.trim();
    if let Some((_, id)) = CLOCK_NAMES.iter().find(|(name, _)| *name == arg) {
        return Ok(*id);
    }
    if let Some(hex) = arg.strip_prefix("0x") {
        let raw = u32::from_str_radix(hex, 16).map_err(|_| format!("bad clock id `{arg}`"))?;
        return Ok(i64::from(raw as i32));
    }
    arg.parse().map_err(|_| format!("bad clock id `{arg}`"))
}

/// Every time syscall in `trace` after the harness's client-start marker, in
/// trace order. Fails if the marker is missing (then nothing after it can be
/// attributed to the client) or a call cannot be read.
pub fn client_time_syscalls(trace: &str) -> Result<Vec<TimeSyscall>, String> {
    let start = trace.find(CLIENT_START_MARKER).ok_or_else(|| {
        format!("no `{CLIENT_START_MARKER}` marker in the trace: did the harness start the client?")
    })?;
    // The whole trace is read, so that a call another thread left waiting
    // before the marker (the ticker's `nanosleep`) is known to be pending.
    time_syscalls_from(trace, start)
}

/// Every time syscall in `text`, in order.
pub fn time_syscalls(text: &str) -> Result<Vec<TimeSyscall>, String> {
    time_syscalls_from(text, 0)
}

/// Every time syscall in `text` at or after byte `from`, in order.
fn time_syscalls_from(text: &str, from: usize) -> Result<Vec<TimeSyscall>, String> {
    let pending = Pending::new(text);
    let mut found = BTreeMap::new();
    for name in TIME_SYSCALLS {
        let pattern = format!("{name}(");
        for (at, _) in text.match_indices(&pattern).filter(|&(at, _)| at >= from) {
            // qemu prints `PID name(`: the name follows a space or starts
            // the text, never another identifier character.
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let args_start = at + pattern.len();
            let args_len = text[args_start..]
                .find(')')
                .ok_or_else(|| format!("unterminated `{name}(` call in the trace"))?;
            let args = &text[args_start..args_start + args_len];
            let clock = match name {
                "gettimeofday" => None,
                _ => Some(parse_clock_id(args.split(',').next().unwrap_or_default())?),
            };
            // The return belongs to this call only if the call started a
            // line and no other thread's call was still waiting for its
            // return: otherwise the ` = ...` that follows may be that one's.
            let line = text[..at].rfind('\n').map_or(0, |n| n + 1);
            let (ret, errno) = if starts_line(text, at) && pending.at(line) == 0 {
                parse_return(&text[args_start + args_len + 1..])
            } else {
                (None, None)
            };
            found.insert(
                at,
                TimeSyscall {
                    name,
                    clock,
                    ret,
                    errno,
                },
            );
        }
    }
    Ok(found.into_values().collect())
}

/// Where calls start and returns are printed in a trace, to tell how many
/// calls are waiting for their return at a given point.
///
/// A call is `PID name(` at the start of a line or right after another
/// call's `)` (glued); a return is ` = ` right after a call's `)` or at the
/// start of a line (a waiting call's return printed on its own).
struct Pending {
    calls: Vec<usize>,
    returns: Vec<usize>,
}

impl Pending {
    fn new(text: &str) -> Pending {
        let bytes = text.as_bytes();
        let mut calls = Vec::new();
        let mut returns = Vec::new();
        for (at, _) in text.match_indices(" = ") {
            if at == 0 || matches!(bytes[at - 1], b')' | b'\n') {
                returns.push(at);
            }
        }
        let mut at = 0;
        while at < bytes.len() {
            let opens = at == 0 || matches!(bytes[at - 1], b'\n' | b')');
            if opens && bytes[at].is_ascii_digit() {
                let digits = text[at..].find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
                let rest = &text[at + digits..];
                if let Some(call) = rest.strip_prefix(' ') {
                    let ident = call
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(0);
                    if ident > 0 && call[ident..].starts_with('(') {
                        calls.push(at);
                    }
                }
            }
            at += 1;
        }
        Pending { calls, returns }
    }

    /// Calls printed before `at` whose return was not printed before `at`.
    fn at(&self, at: usize) -> usize {
        let calls = self.calls.partition_point(|&c| c < at);
        let returns = self.returns.partition_point(|&r| r < at);
        calls.saturating_sub(returns)
    }
}

/// Whether the call named at `at` opens its line (`PID name(` after a
/// newline or at the start).
fn starts_line(text: &str, at: usize) -> bool {
    let Some(before) = text[..at].strip_suffix(' ') else {
        return false;
    };
    let pid_start = before.trim_end_matches(|c: char| c.is_ascii_digit());
    pid_start.len() < before.len() && (pid_start.is_empty() || pid_start.ends_with('\n'))
}

/// ` = 0 (...)` or ` = -1 errno=22 (...)` right after a call.
fn parse_return(rest: &str) -> (Option<i64>, Option<i64>) {
    let Some(rest) = rest.strip_prefix(" = ") else {
        return (None, None);
    };
    let mut words = rest.split_whitespace();
    let ret = words.next().and_then(|w| w.parse().ok());
    let errno = words
        .next()
        .and_then(|w| w.strip_prefix("errno="))
        .and_then(|w| w.parse().ok());
    (ret, errno)
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time, in UTC (proleptic Gregorian; Howard
/// Hinnant's `civil_from_days`).
pub fn iso_utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as qemu 7.2 printed them for `tests/clients/c/clocks.c`, with a
    /// second thread's unfinished `nanosleep` in front of one call.
    const TRACE: &str = "\
4786 clock_gettime(CLOCK_REALTIME,0x0000005500800490) = 0 ({tv_sec = 1,tv_nsec = 2})
4786 faccessat(AT_FDCWD,\"/vdso-exec/client-start\",F_OK,0x0) = -1 errno=2 (No such file or directory)
4786 clock_gettime(CLOCK_MONOTONIC_COARSE,0x0000005500800490) = 0 ({tv_sec = 2953,tv_nsec = 339514914})
4786 nanosleep({tv_sec = 0,tv_nsec = 4000000},0x0000000000000000)4786 clock_gettime(0x3039,0x0000005500800490) = -1 errno=22 (Invalid argument)
 = 0
4786 clock_getres(0xffffffff,0x0000005500800490) = -1 errno=22 (Invalid argument)
4786 settimeofday(0x1,NULL) = -1 errno=1 (Operation not permitted)
4786 gettimeofday(0x0000005500800490,NULL) = 0 ({tv_sec = 1795437075,tv_usec = 301818},NULL)
4786 clock_getres(CLOCK_PROCESS_CPUTIME_ID,0x0000005500800490) = 0 ({tv_sec = 0,tv_nsec = 1})
4786 clock_gettime(CLOCK_PROCESS_CPUTIME_ID,0x0000005501104100)4786 nanosleep(365090135840,0,0,0,0,0) = 0 ({tv_sec = 0,tv_nsec = 24699174})
";

    /// The ticker's first `nanosleep` glued to `clone` before the marker
    /// waits until the client's `clock_getres(12345)` has been printed; its
    /// return lands on that line and the call's own on the next one.
    #[test]
    fn a_return_printed_while_another_call_waits_is_not_trusted() {
        let trace = "\
31558 clone(CLONE_VM|CLONE_THREAD,child_stack=0x0000005501116f60)31558 nanosleep(365090139936,0,0,0,0,0) = 31562
31558 faccessat(AT_FDCWD,\"/vdso-exec/client-start\",F_OK,0x0) = -1 errno=2 (No such file or directory)
31558 clock_getres(CLOCK_PROCESS_CPUTIME_ID,0x0000005501105100) = 0 ({tv_sec = 0,tv_nsec = 1})
31558 clock_getres(0x3039,0x0000005501105100) = 0
31558 nanosleep(365090139936,0,0,0,0,0) = -1 errno=22 (Invalid argument)
31558 clock_getres(0xffffffff,0x0000005501105100) = -1 errno=22 (Invalid argument)
";
        let calls = client_time_syscalls(trace).unwrap();
        let got: Vec<_> = calls.iter().map(|c| (c.clock, c.ret, c.errno)).collect();
        // While the first nanosleep waits, no return is the call's own; once
        // the second one waits instead, neither.
        assert_eq!(
            got,
            [
                (Some(2), None, None),
                (Some(12345), None, None),
                (Some(-1), None, None)
            ]
        );
        // Without the waiting call, the same lines are trusted.
        let alone = time_syscalls(trace.split_once('\n').unwrap().1).unwrap();
        assert_eq!((alone[0].ret, alone[1].ret), (Some(0), Some(0)));
    }

    #[test]
    fn time_syscalls_after_the_marker_are_read_with_their_clock_and_result() {
        let calls = client_time_syscalls(TRACE).unwrap();
        let expected = [
            ("clock_gettime", Some(6), Some(0), None),
            // After another thread's pending call: its return is not trusted.
            ("clock_gettime", Some(12345), None, None),
            ("clock_getres", Some(-1), Some(-1), Some(22)),
            ("gettimeofday", None, Some(0), None),
            ("clock_getres", Some(2), Some(0), None),
            ("clock_gettime", Some(2), None, None),
        ];
        let got: Vec<_> = calls
            .iter()
            .map(|c| (c.name, c.clock, c.ret, c.errno))
            .collect();
        assert_eq!(got, expected);
        let served: Vec<bool> = calls.iter().map(TimeSyscall::is_served).collect();
        assert_eq!(served, [true, false, false, true, false, false]);
    }

    #[test]
    fn a_trace_without_the_marker_is_an_error() {
        let trace = TRACE.replace(CLIENT_START_MARKER, "/elsewhere");
        assert!(client_time_syscalls(&trace).is_err());
    }

    #[test]
    fn an_unknown_clock_name_is_an_error_not_a_silent_miss() {
        assert!(time_syscalls("1 clock_gettime(CLOCK_NEW,0x0) = 0").is_err());
        assert_eq!(parse_clock_id("0xfffffffb"), Ok(-5));
        assert_eq!(parse_clock_id("CLOCK_TAI"), Ok(11));
        assert_eq!(parse_clock_id("12"), Ok(12));
    }

    #[test]
    fn records_are_read_and_junk_is_refused() {
        let records = parse_records(
            "gettime api=libc clock=0 ret=0 errno=0 sec=5 nsec=7\n\ndone mode=show\n",
        )
        .unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].kind, "gettime");
        assert_eq!(records[0].get("api"), Some("libc"));
        assert_eq!(records[0].ns(), Ok(5_000_000_007));
        assert!(records[1].int("failures").is_err());
        assert!(parse_records("panicked at main.rs").is_err());
    }

    #[test]
    fn iso_utc_matches_known_dates() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00");
        assert_eq!(iso_utc(2_000_000_000), "2033-05-18T03:33:20");
        assert_eq!(iso_utc(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59");
    }
}
