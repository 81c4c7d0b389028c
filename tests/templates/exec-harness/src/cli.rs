//! The harness's command line, a contract the end-to-end tests rely on:
//!
//! ```text
//! vdso-exec [--fake-epoch SECS] [--rng-reseed-ms MS] [--] PROGRAM [ARGS...]
//! ```
//!
//! Options come before `PROGRAM`; everything after it belongs to the
//! program, even if it looks like an option. Arguments are C strings, passed
//! on byte for byte.

use std::ffi::CStr;

/// One line of usage, printed (on stderr) with every usage error.
pub const USAGE: &str =
    "usage: vdso-exec [--fake-epoch SECS] [--rng-reseed-ms MS] [--] PROGRAM [ARGS...]";

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation<'a> {
    /// `--fake-epoch SECS`: publish this REALTIME (seconds since the epoch)
    /// instead of the host's.
    pub fake_epoch: Option<i64>,
    /// `--rng-reseed-ms MS`: the ticker publishes a new RNG generation
    /// (`Writer::rng_reseeded`) every MS milliseconds, as a kernel does when
    /// its pool reseeds, so each getrandom state reseeds on its next call.
    pub rng_reseed_ms: Option<u64>,
    /// The program's path, as given; also its `argv[0]` and `AT_EXECFN`.
    pub program: &'a CStr,
    /// The program's argv: `program`, then its arguments.
    pub argv: Vec<&'a CStr>,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// Run a program.
    Run(Invocation<'a>),
    /// `--help` / `-h`.
    Help,
}

/// Parses the harness's arguments (without its own `argv[0]`). The error is
/// the reason, for one line on stderr.
pub fn parse<'a>(args: &[&'a CStr]) -> Result<Command<'a>, String> {
    let mut fake_epoch = None;
    let mut rng_reseed_ms = None;
    let mut rest = args;
    while let Some((&arg, tail)) = rest.split_first() {
        let bytes = arg.to_bytes();
        if let Some((value, tail)) = option_value(bytes, tail, "--fake-epoch")? {
            rest = tail;
            fake_epoch = Some(number(
                value,
                "--fake-epoch takes whole seconds since the epoch",
            )?);
            continue;
        }
        if let Some((value, tail)) = option_value(bytes, tail, "--rng-reseed-ms")? {
            rest = tail;
            let ms: u64 = number(value, "--rng-reseed-ms takes whole milliseconds")?;
            rng_reseed_ms = Some(ms.max(1));
            continue;
        }
        match bytes {
            b"--" => {
                rest = tail;
                break;
            }
            b"-h" | b"--help" => return Ok(Command::Help),
            // A lone "-" is a (strange) file name; anything else that
            // starts with "-" is an option we do not know.
            [b'-', _, ..] => {
                return Err(format!(
                    "unknown option {:?} (put `--` before a program whose name starts with -)",
                    arg.to_string_lossy()
                ))
            }
            _ => break,
        }
    }
    let (&program, _) = rest.split_first().ok_or("no PROGRAM given")?;
    Ok(Command::Run(Invocation {
        fake_epoch,
        rng_reseed_ms,
        program,
        argv: rest.to_vec(),
    }))
}

/// An option's value and the arguments after it.
type ValueAndRest<'a, 'b> = (&'a [u8], &'b [&'a CStr]);

/// The value of option `name` if `arg` is it (`name VALUE` or
/// `name=VALUE`), with the arguments after it.
fn option_value<'a, 'b>(
    arg: &'a [u8],
    tail: &'b [&'a CStr],
    name: &str,
) -> Result<Option<ValueAndRest<'a, 'b>>, String> {
    if arg == name.as_bytes() {
        let (&value, tail) = tail
            .split_first()
            .ok_or_else(|| format!("{name} needs a value"))?;
        return Ok(Some((value.to_bytes(), tail)));
    }
    let joined = arg
        .strip_prefix(name.as_bytes())
        .and_then(|v| v.strip_prefix(b"="));
    Ok(joined.map(|value| (value, tail)))
}

/// `value` as a number, or `what` and the value as the error.
fn number<T: std::str::FromStr>(value: &[u8], what: &str) -> Result<T, String> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| format!("{what}, not {:?}", String::from_utf8_lossy(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<'a>(args: &[&'a CStr]) -> Invocation<'a> {
        match parse(args) {
            Ok(Command::Run(invocation)) => invocation,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn program_and_arguments_pass_through_untouched() {
        let inv = run(&[c"./prog", c"--fake-epoch", c"-x", c"--"]);
        assert_eq!(inv.fake_epoch, None);
        assert_eq!(inv.program, c"./prog");
        assert_eq!(inv.argv, [c"./prog", c"--fake-epoch", c"-x", c"--"]);
    }

    #[test]
    fn fake_epoch_is_read_before_the_program_in_both_spellings() {
        let inv = run(&[c"--fake-epoch", c"2000000000", c"--", c"p", c"a"]);
        assert_eq!(inv.fake_epoch, Some(2_000_000_000));
        assert_eq!(inv.argv, [c"p", c"a"]);
        let inv = run(&[c"--fake-epoch=-5", c"p"]);
        assert_eq!(inv.fake_epoch, Some(-5));
        assert_eq!(inv.argv, [c"p"]);
    }

    #[test]
    fn rng_reseed_period_is_read_in_both_spellings_and_at_least_1_ms() {
        let inv = run(&[c"--rng-reseed-ms", c"100", c"--fake-epoch=7", c"p"]);
        assert_eq!((inv.rng_reseed_ms, inv.fake_epoch), (Some(100), Some(7)));
        assert_eq!(run(&[c"--rng-reseed-ms=0", c"p"]).rng_reseed_ms, Some(1));
        assert_eq!(run(&[c"p"]).rng_reseed_ms, None);
    }

    #[test]
    fn double_dash_allows_a_program_named_like_an_option() {
        let inv = run(&[c"--", c"--weird"]);
        assert_eq!(inv.program, c"--weird");
    }

    #[test]
    fn usage_errors_say_what_is_wrong() {
        let err = |args: &[&CStr]| parse(args).unwrap_err();
        assert!(err(&[]).contains("no PROGRAM"));
        assert!(err(&[c"--"]).contains("no PROGRAM"));
        assert!(err(&[c"--fake-epoch"]).contains("needs a value"));
        assert!(err(&[c"--rng-reseed-ms", c"often", c"p"]).contains("whole milliseconds"));
        assert!(err(&[c"--fake-epoch", c"soon", c"p"]).contains("whole seconds"));
        assert!(err(&[c"--strace", c"p"]).contains("unknown option"));
        assert_eq!(parse(&[c"--help"]), Ok(Command::Help));
    }
}
