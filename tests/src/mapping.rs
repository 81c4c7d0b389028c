//! The memory a vDSO client reads: the image's bytes "mapped" at a base address.
//!
//! A client gets one pointer, `AT_SYSINFO_EHDR`, and then does pointer arithmetic on values it
//! reads from the image. [`Mapping`] models exactly that: every read names an absolute address,
//! and a read outside `[base, base + len)` is the fault the real client would take. The client
//! transliterations in [`crate::clients`] do their arithmetic the way the client does
//! (wrapping where C or Go wraps, checked where rustix checks) and let the bounds check here
//! stand in for the MMU, so they never panic and never read outside the slice.

use core::fmt;

/// Why a client ends up without an address for a symbol.
///
/// Each variant is a different outcome for a real program, so tests can say which one they
/// expect: a fault or a crash kills the program, a rejection or a miss makes it fall back to the
/// system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The client would read outside the mapped image: a segmentation fault in a real process.
    /// The string names what it was reading.
    Fault(&'static str),
    /// The client checks this property itself and refuses the image (it then uses the system
    /// call for everything).
    Rejected(&'static str),
    /// The client would crash on its own: a failed `assert`, a Go runtime panic, a Rust panic or
    /// a C division by zero.
    Crash(&'static str),
    /// The client would never finish (for example a hash chain that loops back on itself).
    Endless(&'static str),
    /// The image parses, but the symbol with that version is not there.
    NotFound,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Fault(what) => write!(f, "the client faults reading {what}"),
            Error::Rejected(why) => write!(f, "the client rejects the image: {why}"),
            Error::Crash(why) => write!(f, "the client crashes: {why}"),
            Error::Endless(why) => write!(f, "the client never finishes: {why}"),
            Error::NotFound => f.write_str("the symbol is not found"),
        }
    }
}

impl std::error::Error for Error {}

/// The result of a client operation.
pub type Result<T> = core::result::Result<T, Error>;

/// Image bytes mapped at `base`: the address a kernel passes in `AT_SYSINFO_EHDR`.
#[derive(Debug, Clone, Copy)]
pub struct Mapping<'a> {
    bytes: &'a [u8],
    base: u64,
}

impl<'a> Mapping<'a> {
    /// Maps `bytes` at `base`.
    pub fn new(bytes: &'a [u8], base: u64) -> Self {
        Mapping { bytes, base }
    }

    /// The address of the first byte: the value of `AT_SYSINFO_EHDR`.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The number of mapped bytes.
    pub fn size(&self) -> u64 {
        // A slice never holds more than `isize::MAX` bytes, so this cannot truncate.
        self.bytes.len() as u64
    }

    /// The `N` bytes at `addr`, or the fault a client reading `what` would take.
    pub fn read<const N: usize>(&self, addr: u64, what: &'static str) -> Result<[u8; N]> {
        let offset = addr.checked_sub(self.base).ok_or(Error::Fault(what))?;
        let offset = usize::try_from(offset).map_err(|_| Error::Fault(what))?;
        let end = offset.checked_add(N).ok_or(Error::Fault(what))?;
        let bytes = self.bytes.get(offset..end).ok_or(Error::Fault(what))?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// The byte at `addr`.
    pub fn u8(&self, addr: u64, what: &'static str) -> Result<u8> {
        Ok(self.read::<1>(addr, what)?[0])
    }

    /// The little-endian `u16` at `addr`.
    pub fn u16(&self, addr: u64, what: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.read(addr, what)?))
    }

    /// The little-endian `u32` at `addr`.
    pub fn u32(&self, addr: u64, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.read(addr, what)?))
    }

    /// The little-endian `u64` at `addr`.
    pub fn u64(&self, addr: u64, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.read(addr, what)?))
    }

    /// The little-endian `i64` at `addr`.
    pub fn i64(&self, addr: u64, what: &'static str) -> Result<i64> {
        Ok(i64::from_le_bytes(self.read(addr, what)?))
    }

    /// The NUL-terminated string at `addr`, without its NUL, as `strlen` would read it: the
    /// whole string must be mapped.
    pub fn c_str(&self, addr: u64, what: &'static str) -> Result<&'a [u8]> {
        let offset = addr.checked_sub(self.base).ok_or(Error::Fault(what))?;
        let offset = usize::try_from(offset).map_err(|_| Error::Fault(what))?;
        let rest = self.bytes.get(offset..).ok_or(Error::Fault(what))?;
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(Error::Fault(what))?;
        Ok(&rest[..len])
    }

    /// Whether the NUL-terminated string at `addr` equals `expected`, read the way `strcmp`
    /// reads it: byte by byte, stopping at the first difference, so only the bytes up to that
    /// difference need to be mapped.
    pub fn strcmp_eq(&self, addr: u64, expected: &str, what: &'static str) -> Result<bool> {
        let expected = expected.as_bytes();
        for i in 0..=expected.len() {
            let want = expected.get(i).copied().unwrap_or(0);
            let at = addr.wrapping_add(i as u64);
            if self.u8(at, what)? != want {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// A bound on walks that a real client does without one (hash chains): any walk longer than
/// the number of symbols that could possibly fit in the mapping has looped.
pub(crate) fn chain_fuel(m: &Mapping<'_>) -> u64 {
    m.size() / 24 + 2
}
