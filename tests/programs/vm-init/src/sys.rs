//! The three system calls std does not wrap: `mount`, `reboot` and the
//! terminal `ioctl`s, over `vdso_linux_sys`'s bare aarch64 `svc #0`.

use std::ffi::CStr;
use std::io;

use vdso_linux_sys::aarch64::{NR_IOCTL, NR_MOUNT, NR_REBOOT};
use vdso_linux_sys::syscall;

fn check(ret: i64) -> io::Result<()> {
    if ret < 0 {
        return Err(io::Error::from_raw_os_error(-ret as i32));
    }
    Ok(())
}

/// `mount(source, target, fstype, 0, NULL)`.
pub fn mount(source: &CStr, target: &CStr, fstype: &CStr) -> io::Result<()> {
    let args = [
        source.as_ptr() as u64,
        target.as_ptr() as u64,
        fstype.as_ptr() as u64,
        0,
        0,
        0,
    ];
    // SAFETY: three NUL-terminated strings that outlive the call, no flags,
    // no data.
    check(unsafe { syscall(NR_MOUNT, args) })
}

/// Switches off output post-processing (`OPOST`: `\n` → `\r\n`) on the
/// terminal `fd`, so bytes written to it reach the console as they are.
pub fn raw_output(fd: i32) -> io::Result<()> {
    const TCGETS: u64 = 0x5401;
    const TCSETS: u64 = 0x5402;
    const OPOST: u32 = 1;
    // The kernel's `struct termios`: c_iflag, c_oflag, c_cflag, c_lflag,
    // c_line and c_cc[19]: 36 bytes.
    let mut termios = [0u32; 9];
    let ptr = termios.as_mut_ptr() as u64;
    // SAFETY: TCGETS writes 36 bytes to `termios`, which has them.
    check(unsafe { syscall(NR_IOCTL, [fd as u64, TCGETS, ptr, 0, 0, 0]) })?;
    termios[1] &= !OPOST;
    let ptr = termios.as_ptr() as u64;
    // SAFETY: TCSETS reads the 36 bytes TCGETS filled in.
    check(unsafe { syscall(NR_IOCTL, [fd as u64, TCSETS, ptr, 0, 0, 0]) })
}

/// `reboot(RB_POWER_OFF)`: qemu exits.
pub fn power_off() -> ! {
    const MAGIC1: u64 = 0xfee1_dead;
    const MAGIC2: u64 = 672_274_793;
    const POWER_OFF: u64 = 0x4321_fedc;
    loop {
        // SAFETY: no pointers; the magic numbers make it a power-off request.
        unsafe { syscall(NR_REBOOT, [MAGIC1, MAGIC2, POWER_OFF, 0, 0, 0]) };
    }
}
