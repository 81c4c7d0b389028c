//! The getrandom checks: `__kernel_getrandom` held to Linux 6.12's ABI and to
//! the real syscall's answers, with state memory the probe maps itself
//! (qemu-user has no `MAP_DROPPABLE`; the image does not care how its state
//! was mapped).
//!
//! Two strace windows let `cargo xtask test` count the getrandom syscalls the
//! calls made (the expected counts are this file's design, not the image's):
//! - `/vdso-probe-rng-unready-*`: [`UNREADY_CALLS`] calls before the writer
//!   says "ready": every one is the syscall;
//! - `/vdso-probe-rng-*`: [`READY_CALLS`] calls after it, with one reseed
//!   (`Writer::rng_reseeded`) half-way: exactly two syscalls, the first
//!   call's key and the reseed's.
//!
//! The constants below come from Linux's `include/uapi/linux/random.h`,
//! `include/uapi/asm-generic/errno-base.h` and `include/vdso/getrandom.h`.

use std::collections::HashSet;
use std::ptr::null_mut;

use loader::{offsets, Writer};

use vdso_probe::report::{ensure, Report};
use vdso_probe::sys;

/// `ssize_t __kernel_getrandom(void *, size_t, unsigned int, void *, size_t)`.
type Getrandom = unsafe extern "C" fn(*mut u8, usize, u32, *mut u8, usize) -> isize;

const GRND_NONBLOCK: u32 = 1;
const GRND_RANDOM: u32 = 2;
const GRND_INSECURE: u32 = 4;
const EFAULT: isize = 14;
const ENOSYS: isize = 38;
/// `sizeof(struct vgetrandom_state)`.
const STATE_SIZE: usize = 144;
/// `vgetrandom_state.in_use`'s offset.
const IN_USE: usize = 137;
/// Calls in the window before "ready", each a syscall.
pub const UNREADY_CALLS: usize = 10;
/// Calls in the window after "ready"; two syscalls among them.
pub const READY_CALLS: usize = 200;

/// What the checks need: the export, the writer and two states.
pub struct Rng<'k> {
    getrandom: Getrandom,
    writer: &'k mut Writer<'static>,
    /// A page of states: at 0, at [`STATE_SIZE`], and the page's end.
    states: usize,
}

impl<'k> Rng<'k> {
    /// The export in the image at `image`, and a fresh page for states.
    pub fn new(image: usize, writer: &'k mut Writer<'static>) -> Result<Rng<'k>, String> {
        // SAFETY: `offsets::KERNEL_GETRANDOM` names a function of the image
        // the probe mapped at `image`, with this C signature.
        let getrandom =
            unsafe { std::mem::transmute::<usize, Getrandom>(image + offsets::KERNEL_GETRANDOM) };
        let states = sys::mmap_anonymous(4096).map_err(|e| format!("mmap: {e}"))?;
        Ok(Rng {
            getrandom,
            writer,
            states,
        })
    }

    /// The export on `buf` with the state at `state` and `state_len`.
    fn call(&self, buf: &mut [u8], flags: u32, state: usize, state_len: usize) -> isize {
        // SAFETY: `buf` is ours; `state` is NULL or inside our page of states
        // (the straddling one is refused before it is touched).
        unsafe {
            (self.getrandom)(
                buf.as_mut_ptr(),
                buf.len(),
                flags,
                state as *mut u8,
                state_len,
            )
        }
    }

    /// The export on `buf` with the first state.
    fn read(&self, buf: &mut [u8], flags: u32) -> isize {
        self.call(buf, flags, self.states, STATE_SIZE)
    }

    /// Every check, in order (the windows first: they need a fresh state).
    pub fn check(&mut self, report: &mut Report) {
        self.params_not_offered(report);
        self.unready_window(report);
        self.writer.set_rng_ready();
        self.params(report);
        self.ready_window(report);
        self.lengths(report);
        self.flags_and_pointers(report);
        self.states(report);
    }

    /// Before `Writer::set_rng_ready` the params call is `-ENOSYS` and writes
    /// nothing: libcs then map no state (what a kernel without
    /// `MAP_DROPPABLE` gets).
    fn params_not_offered(&self, report: &mut Report) {
        let mut params = [0xffu32; 16];
        // SAFETY: the params call writes at most 64 bytes at the state pointer.
        let ret =
            unsafe { (self.getrandom)(null_mut(), 0, 0, params.as_mut_ptr().cast(), usize::MAX) };
        report.check(
            "getrandom params call before the writer offers getrandom: -ENOSYS, nothing written",
            ensure(ret == -ENOSYS && params == [0xff; 16], || {
                format!("returned {ret}, {params:?}")
            }),
        );
    }

    /// After it, the params call fills `vgetrandom_opaque_params` and returns 0.
    fn params(&self, report: &mut Report) {
        let mut params = [0xffu32; 16];
        // SAFETY: the params call writes 64 bytes at the state pointer.
        let ret =
            unsafe { (self.getrandom)(null_mut(), 0, 0, params.as_mut_ptr().cast(), usize::MAX) };
        let mut want = [0u32; 16];
        want[..3].copy_from_slice(&[STATE_SIZE as u32, 0x1 | 0x2, 0x08 | 0x20]);
        report.check(
            "getrandom params call: 144-byte states, PROT_READ|PROT_WRITE, MAP_DROPPABLE|MAP_ANONYMOUS",
            ensure(ret == 0 && params == want, || format!("returned {ret}, {params:?}")),
        );
    }

    /// Before "ready", every call is the syscall (the window counts them).
    fn unready_window(&self, report: &mut Report) {
        let mut ok = true;
        sys::strace_marker(c"/vdso-probe-rng-unready-begin");
        for _ in 0..UNREADY_CALLS {
            ok &= self.read(&mut [0; 16], 0) == 16;
        }
        sys::strace_marker(c"/vdso-probe-rng-unready-end");
        report.check(
            "getrandom before the RNG is ready answers through the syscall (count in the window)",
            ensure(ok, || "a call did not return 16".into()),
        );
    }

    /// After "ready": distinct outputs, one reseed half-way (the window counts
    /// two syscalls).
    fn ready_window(&mut self, report: &mut Report) {
        let mut outputs = vec![[0u8; 32]; READY_CALLS];
        let mut ok = true;
        sys::strace_marker(c"/vdso-probe-rng-begin");
        for (i, out) in outputs.iter_mut().enumerate() {
            if i == READY_CALLS / 2 {
                self.writer.rng_reseeded();
            }
            ok &= self.read(out, 0) == 32;
        }
        sys::strace_marker(c"/vdso-probe-rng-end");
        let distinct = outputs.iter().collect::<HashSet<_>>().len();
        let zero = outputs.iter().filter(|o| o.iter().all(|&b| b == 0)).count();
        report.check(
            "getrandom after ready: 200 reads of 32 bytes, all distinct, none zero",
            ensure(ok && distinct == READY_CALLS && zero == 0, || {
                format!("all returned 32: {ok}; {distinct} distinct, {zero} all-zero")
            }),
        );
    }

    /// Every length returns itself, writes exactly that many bytes and no
    /// two outputs are the same.
    fn lengths(&self, report: &mut Report) {
        let mut seen = HashSet::new();
        for len in [0, 1, 7, 8, 63, 64, 65, 95, 96, 97, 128, 4096, 10_000] {
            let mut buf = vec![0xa5u8; len + 16];
            let ret = self.read(&mut buf[..len], GRND_NONBLOCK);
            let canary = buf[len..].iter().all(|&b| b == 0xa5);
            let fresh = len < 8 || seen.insert(buf[..8].to_vec());
            report.check(
                &format!("getrandom of {len} bytes returns {len}, writes no more, repeats nothing"),
                ensure(ret == len as isize && canary && fresh, || {
                    format!("returned {ret}, canary intact {canary}, first 8 bytes new {fresh}")
                }),
            );
        }
    }

    /// Bad flags and pointers get the syscall's answer; a state it cannot
    /// use leaves the call to the syscall; one that straddles a page is
    /// `-EFAULT`, as in Linux's image.
    fn flags_and_pointers(&self, report: &mut Report) {
        let mut buf = [0u8; 32];
        for flags in [0x8, 0x10, GRND_RANDOM | GRND_INSECURE] {
            let ours = self.read(&mut buf, flags);
            let kernel = sys_getrandom(buf.as_mut_ptr(), 32, flags);
            report.check(
                &format!("getrandom with flags {flags:#x} answers as the syscall"),
                ensure(ours == kernel && ours < 0, || format!("{ours} vs {kernel}")),
            );
        }
        for flags in [GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE] {
            let ret = self.read(&mut buf, flags);
            report.check(
                &format!("getrandom with flags {flags:#x} returns the bytes"),
                ensure(ret == 32, || format!("returned {ret}")),
            );
        }
        let ours = self.call(&mut [], 0, self.states, STATE_SIZE);
        // SAFETY: a NULL buffer: the syscall and the export only report it.
        let (null_ours, null_kernel) = unsafe {
            let f = self.getrandom;
            (
                f(null_mut(), 32, 0, self.states as *mut u8, STATE_SIZE),
                sys_getrandom(null_mut(), 32, 0),
            )
        };
        report.check(
            "getrandom of 0 bytes is 0; into NULL it is the syscall's -EFAULT",
            ensure(
                ours == 0 && null_ours == null_kernel && null_ours == -EFAULT,
                || format!("0 bytes: {ours}; NULL: {null_ours} vs {null_kernel}"),
            ),
        );
        let other_size = self.call(&mut buf, 0, self.states, STATE_SIZE - 1);
        let no_state = self.call(&mut buf, 0, 0, STATE_SIZE);
        let straddling = self.call(&mut buf, 0, self.states + 4096 - STATE_SIZE + 8, STATE_SIZE);
        report.check(
            "getrandom with a state of another size or none is the syscall; one straddling a page is -EFAULT",
            ensure(other_size == 32 && no_state == 32 && straddling == -EFAULT, || {
                format!("{other_size}, {no_state}, {straddling}")
            }),
        );
    }

    /// Two states give different streams, and a state in use (a signal
    /// handler's call) is left alone.
    fn states(&self, report: &mut Report) {
        let second = self.states + STATE_SIZE;
        let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
        let ra = self.read(&mut a, 0);
        let rb = self.call(&mut b, 0, second, STATE_SIZE);
        report.check(
            "two states give different bytes",
            ensure(ra == 64 && rb == 64 && a != b, || {
                format!("{ra}, {rb}, equal {}", a == b)
            }),
        );
        let state = self.states as *mut u8;
        // SAFETY: the first state, ours; byte 137 is `in_use`.
        unsafe { state.add(IN_USE).write(1) };
        // SAFETY: the state is 144 bytes of our page.
        let before = unsafe { std::slice::from_raw_parts(state, STATE_SIZE) }.to_vec();
        let ret = self.read(&mut a, 0);
        // SAFETY: as above.
        let after = unsafe { std::slice::from_raw_parts(state, STATE_SIZE) }.to_vec();
        // SAFETY: as above: the state is ours again.
        unsafe { state.add(IN_USE).write(0) };
        report.check(
            "a state in use is left to its owner: the syscall answers",
            ensure(ret == 64 && before == after, || {
                format!("returned {ret}, state changed {}", before != after)
            }),
        );
    }
}

/// The real `getrandom(2)`.
fn sys_getrandom(buf: *mut u8, len: usize, flags: u32) -> isize {
    // SAFETY: the kernel writes at most `len` bytes at `buf` and reports a
    // bad pointer as -EFAULT; callers pass their own buffers or NULL.
    unsafe {
        vdso_linux_sys::syscall(
            vdso_linux_sys::aarch64::NR_GETRANDOM,
            [buf as u64, len as u64, u64::from(flags), 0, 0, 0],
        ) as isize
    }
}
