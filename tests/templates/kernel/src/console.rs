//! The PL011 UART of qemu's `virt` machine: the kernel's console, and the
//! processes' stdout and stderr.

use core::fmt;

/// The UART's registers (identity-mapped, device memory).
const UART: usize = 0x0900_0000;
/// Data register.
const DR: usize = 0x00;
/// Flag register.
const FR: usize = 0x18;
/// FR: the transmit FIFO is full.
const FR_TXFF: u32 = 1 << 5;

/// Writes bytes to the UART, waiting while its FIFO is full. qemu's PL011
/// needs no set-up.
pub fn write_bytes(bytes: &[u8]) {
    for &b in bytes {
        // SAFETY: UART + FR and UART + DR are the PL011's flag and data
        // registers, mapped as device memory (or physical with the MMU off);
        // volatile accesses of their width have no other effect than
        // sending the byte.
        unsafe {
            while core::ptr::read_volatile((UART + FR) as *const u32) & FR_TXFF != 0 {}
            core::ptr::write_volatile((UART + DR) as *mut u32, u32::from(b));
        }
    }
}

/// `fmt::Write` to the UART, for `kprintln!`.
pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Prints one kernel line, `kernel: ...`, to the console.
macro_rules! kprintln {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::console::Console, "kernel: ");
        let _ = writeln!($crate::console::Console, $($arg)*);
    }};
}
pub(crate) use kprintln;
