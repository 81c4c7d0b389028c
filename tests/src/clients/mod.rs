//! The vDSO clients, each re-written in Rust from its own source, doing exactly what the
//! client does to find a symbol in the image at `AT_SYSINFO_EHDR`.
//!
//! Every module starts with a provenance comment: which file, which version, and what was
//! changed. The changes are always of the same three kinds: memory reads go through
//! [`Mapping`] (a read outside the image is [`Error::Fault`](crate::Error::Fault)
//! instead of a segmentation fault), crashes become [`Error::Crash`](crate::Error::Crash) instead of
//! aborting the test, and walks that the real client does without a bound (hash chains) get a
//! bound so a looping chain is [`Error::Endless`](crate::Error::Endless) instead of a hang. None of the
//! clients panics, whatever bytes it is given.

pub mod glibc;
pub mod go;
pub mod musl;
pub mod parse_vdso;
pub mod rustix;

use crate::mapping::{Mapping, Result};

/// One client's complete lookup: parse the image mapped at `m` and resolve `name` at
/// `version`, returning the symbol's run-time address.
pub type Lookup = fn(&Mapping<'_>, &str, &str) -> Result<u64>;

/// Every client, with a short name for messages.
pub const ALL: [(&str, Lookup); 5] = [
    ("musl", musl::lookup),
    ("glibc", glibc::lookup),
    ("go", go::lookup),
    ("parse_vdso", parse_vdso::lookup),
    ("rustix", rustix::lookup),
];
