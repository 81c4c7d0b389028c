//! PID 1's work; see the crate documentation for the console protocol.

use std::ffi::CStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};

use crate::sys;

/// Where tracefs is mounted.
const TRACING: &str = "/sys/kernel/tracing";
/// Ring buffer per CPU, in KiB: ~200 000 `sys_enter` events.
const BUFFER_KB: &str = "16384";
/// Where the program's output is collected.
const STDOUT_FILE: &str = "/vm-stdout";
const STDERR_FILE: &str = "/vm-stderr";
/// The program and its arguments, each ended by a NUL byte, written into
/// the initramfs by the host. (The kernel command line cannot carry them:
/// it ends init's arguments at a second `--` and takes at most 32.)
const ARGV_FILE: &str = "/vm-argv";
/// What starts every header line.
const MARK: &str = "@@vdso-vm@@";

/// Runs the program, reports, powers off.
pub fn run() -> ! {
    // Without a terminal the report still goes out, only post-processed.
    let _ = sys::raw_output(1);
    let mut out = io::stdout().lock();
    let _ = out.write_all(b"\n");
    if let Err(e) = run_and_report(&mut out) {
        let _ = writeln!(out, "{MARK} error {e}");
    }
    let _ = out.flush();
    sys::power_off()
}

/// The program and its arguments: from [`ARGV_FILE`], else this program's own arguments.
fn program_argv() -> Vec<String> {
    match fs::read(ARGV_FILE) {
        Ok(bytes) => bytes
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .split_last()
            .map(|(_, words)| words.to_vec())
            .unwrap_or_default(),
        Err(_) => std::env::args().skip(1).collect(),
    }
}

fn run_and_report(out: &mut impl Write) -> io::Result<()> {
    let argv = program_argv();
    let Some((program, args)) = argv.split_first() else {
        return Err(io::Error::other(format!(
            "no program: put it in {ARGV_FILE} or after `--` on the kernel command line"
        )));
    };
    mount_all()?;
    let tracing_on = prepare_tracing()?;
    let event_pid = OpenOptions::new()
        .write(true)
        .open(format!("{TRACING}/set_event_pid"))?;

    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::inherit())
        .stdout(File::create(STDOUT_FILE)?)
        .stderr(File::create(STDERR_FILE)?);
    let child_tracing_on = tracing_on.try_clone()?;
    // SAFETY: the closure runs in the child between fork and exec. This
    // program is single-threaded, so no lock is held by a thread that does
    // not exist in the child; the closure only formats into a stack buffer
    // and writes to two already open files (no allocation).
    unsafe {
        command.pre_exec(move || {
            let mut buf = [0u8; 16];
            let mut cursor: &mut [u8] = &mut buf;
            write!(cursor, "{}", std::process::id())?;
            let len = 16 - cursor.len();
            (&event_pid).write_all(&buf[..len])?;
            (&child_tracing_on).write_all(b"1")
        });
    }
    let status = command
        .status()
        .map_err(|e| io::Error::other(format!("cannot run {program}: {e}")))?;
    (&tracing_on).write_all(b"0")?;

    match (status.code(), status.signal()) {
        (Some(code), _) => writeln!(out, "{MARK} exit status={code}")?,
        (None, Some(signal)) => writeln!(out, "{MARK} exit signal={signal}")?,
        (None, None) => return Err(io::Error::other(format!("odd status {status:?}"))),
    }
    section(out, "stdout", &fs::read(STDOUT_FILE)?)?;
    section(out, "stderr", &fs::read(STDERR_FILE)?)?;
    section(out, "trace", &trace_events()?)?;
    writeln!(out, "{MARK} overrun {}", overruns()?)?;
    writeln!(out, "{MARK} end")
}

/// The trace's event lines, without its `#` header and indentation.
fn trace_events() -> io::Result<Vec<u8>> {
    let trace = fs::read(format!("{TRACING}/trace"))?;
    let mut events = Vec::with_capacity(trace.len());
    for line in trace.split(|&b| b == b'\n') {
        let line = line.trim_ascii_start();
        if !line.is_empty() && !line.starts_with(b"#") {
            events.extend_from_slice(line);
            events.push(b'\n');
        }
    }
    Ok(events)
}

/// `MARK NAME LEN`, the bytes, a newline.
fn section(out: &mut impl Write, name: &str, bytes: &[u8]) -> io::Result<()> {
    writeln!(out, "{MARK} {name} {}", bytes.len())?;
    out.write_all(bytes)?;
    out.write_all(b"\n")
}

fn mount_all() -> io::Result<()> {
    let mounts: [(&CStr, &str, &CStr); 4] = [
        (c"proc", "/proc", c"proc"),
        (c"sysfs", "/sys", c"sysfs"),
        (c"devtmpfs", "/dev", c"devtmpfs"),
        (c"tracefs", TRACING, c"tracefs"),
    ];
    for (source, target, fstype) in mounts {
        fs::create_dir_all(target)?;
        let c_target = std::ffi::CString::new(target).expect("no NUL in a path");
        match sys::mount(source, &c_target, fstype) {
            // The kernel may have mounted devtmpfs itself.
            Err(e) if e.raw_os_error() == Some(16) => {}
            r => r.map_err(|e| io::Error::other(format!("mounting {target}: {e}")))?,
        }
    }
    Ok(())
}

/// Sets up the event with tracing off; returns `tracing_on`, open.
fn prepare_tracing() -> io::Result<File> {
    let set = |file: &str, value: &str| {
        fs::write(format!("{TRACING}/{file}"), value)
            .map_err(|e| io::Error::other(format!("writing {value:?} to {file}: {e}")))
    };
    set("tracing_on", "0")?;
    set("buffer_size_kb", BUFFER_KB)?;
    set("options/event-fork", "1")?;
    set("trace", "")?;
    set("events/raw_syscalls/sys_enter/enable", "1")?;
    OpenOptions::new()
        .write(true)
        .open(format!("{TRACING}/tracing_on"))
}

/// Events lost because the ring buffer was full, over all CPUs.
fn overruns() -> io::Result<u64> {
    let mut total = 0;
    for cpu in fs::read_dir(format!("{TRACING}/per_cpu"))? {
        let stats = fs::read_to_string(cpu?.path().join("stats"))?;
        for line in stats.lines() {
            if let Some(n) = line.strip_prefix("overrun:") {
                total += n.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    Ok(total)
}
