//! Verdict lines and clock names, shared by the probe and the drop-in test
//! (`tests/programs/dropin`): one `ok <name>` or `FAIL <name>: <detail>` line per
//! check on stdout, notes on stderr, and a final `N passed, M failed`.

use loader::Timespec;

/// Nanoseconds per second, as `i128` for time arithmetic.
pub const NS: i128 = 1_000_000_000;

/// Counts and prints verdicts.
#[derive(Default, Debug)]
pub struct Report {
    /// Checks that passed.
    pub passed: u32,
    /// Checks that failed.
    pub failed: u32,
}

impl Report {
    /// Prints `ok name` or `FAIL name: detail` and counts it.
    pub fn check(&mut self, name: &str, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.passed += 1;
                println!("ok {name}");
            }
            Err(detail) => {
                self.failed += 1;
                println!("FAIL {name}: {detail}");
            }
        }
    }

    /// A measurement worth keeping, on stderr.
    pub fn note(&self, text: &str) {
        eprintln!("  note: {text}");
    }

    /// Prints the final `N passed, M failed` line; returns the exit status
    /// (1 if anything failed).
    pub fn finish(&self) -> i32 {
        println!("{} passed, {} failed", self.passed, self.failed);
        i32::from(self.failed != 0)
    }
}

/// `Ok` if `cond`, else the detail.
pub fn ensure(cond: bool, detail: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(detail())
    }
}

/// Linux's name of a clock id, or `clock <id>`.
pub fn clock_name(id: i32) -> String {
    let name = match id {
        0 => "REALTIME",
        1 => "MONOTONIC",
        2 => "PROCESS_CPUTIME_ID",
        3 => "THREAD_CPUTIME_ID",
        4 => "MONOTONIC_RAW",
        5 => "REALTIME_COARSE",
        6 => "MONOTONIC_COARSE",
        7 => "BOOTTIME",
        8 => "REALTIME_ALARM",
        9 => "BOOTTIME_ALARM",
        11 => "TAI",
        _ => return format!("clock {id}"),
    };
    name.to_string()
}

/// A timespec in nanoseconds.
pub fn ns(t: Timespec) -> i128 {
    i128::from(t.tv_sec) * NS + i128::from(t.tv_nsec)
}

/// Nanoseconds as a normalised timespec (`0 <= tv_nsec < NS`).
pub fn from_ns(total: i128) -> Timespec {
    Timespec {
        tv_sec: total.div_euclid(NS) as i64,
        tv_nsec: total.rem_euclid(NS) as i64,
    }
}
