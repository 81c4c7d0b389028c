//! The initial stack of a new process, laid out as Linux lays it out
//! (`fs/exec.c` copies the strings, `fs/binfmt_elf.c` `create_elf_tables`
//! writes the tables; Linux 6.12), computed as bytes so the host tests can
//! read it back.
//!
//! From the top of the stack down (a word is 8 bytes for an aarch64
//! program, 4 for a 32-bit Arm one: [`Arch::word`]):
//!
//! ```text
//! top      one zero word                     (bprm->p = vm_end - sizeof(void *))
//!          execfn string                     (AT_EXECFN)
//!          envp strings, the last one highest
//!          argv strings, argv[0] lowest
//!          (aligned down to 16)
//!          platform string "aarch64" ("v7l") (AT_PLATFORM)
//!          16 random bytes                   (AT_RANDOM)
//!          padding
//! sp ->    argc
//!          argv[0] .. argv[argc-1], NULL
//!          envp[0] .. envp[envc-1], NULL
//!          auxv pairs .., AT_NULL 0          (sp is 16-byte aligned)
//! ```

use alloc::vec;
use alloc::vec::Vec;
use core::ffi::CStr;
use core::fmt;

use crate::elf::Arch;

/// End of the auxiliary vector.
pub const AT_NULL: u64 = 0;
/// Address of the program headers.
pub const AT_PHDR: u64 = 3;
/// Size of one program header.
pub const AT_PHENT: u64 = 4;
/// Number of program headers.
pub const AT_PHNUM: u64 = 5;
/// Page size.
pub const AT_PAGESZ: u64 = 6;
/// Load address of the interpreter (0: none).
pub const AT_BASE: u64 = 7;
/// Flags (0).
pub const AT_FLAGS: u64 = 8;
/// The program's entry point.
pub const AT_ENTRY: u64 = 9;
/// Real user id.
pub const AT_UID: u64 = 11;
/// Effective user id.
pub const AT_EUID: u64 = 12;
/// Real group id.
pub const AT_GID: u64 = 13;
/// Effective group id.
pub const AT_EGID: u64 = 14;
/// Address of the platform string.
pub const AT_PLATFORM: u64 = 15;
/// CPU features (`HWCAP_*`).
pub const AT_HWCAP: u64 = 16;
/// `times()` ticks per second.
pub const AT_CLKTCK: u64 = 17;
/// Whether the program runs set-uid or similar (0: no).
pub const AT_SECURE: u64 = 23;
/// Address of 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// More CPU features (`HWCAP2_*`).
pub const AT_HWCAP2: u64 = 26;
/// Address of the file name the program was executed as.
pub const AT_EXECFN: u64 = 31;
/// Address of the vDSO's ELF header (the `loader` crate's constant).
pub const AT_SYSINFO_EHDR: u64 = loader::AT_SYSINFO_EHDR;
/// Minimal signal stack size the kernel's signal frames need.
pub const AT_MINSIGSTKSZ: u64 = 51;

/// The strings placed at the top of the stack and their addresses: the
/// first half of building the stack. The auxiliary vector needs the
/// addresses of three of them ([`Strings::execfn`], [`Strings::platform`],
/// [`Strings::random`]); [`Strings::finish`] then writes the tables below.
#[derive(Clone, Debug)]
pub struct Strings {
    /// Whose stack: the word size, and `AT_PHENT`.
    arch: Arch,
    top: u64,
    /// Lowest address used so far.
    low: u64,
    /// What goes where: (address, bytes).
    pieces: Vec<(u64, Vec<u8>)>,
    argv: Vec<u64>,
    envp: Vec<u64>,
    /// Address of the execfn string.
    pub execfn: u64,
    /// Address of the platform string.
    pub platform: u64,
    /// Address of the 16 random bytes.
    pub random: u64,
}

/// The arguments and environment do not fit the limit (`E2BIG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooBig {
    /// Bytes needed.
    pub needed: u64,
    /// Bytes allowed.
    pub limit: u64,
}

impl fmt::Display for TooBig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "argument list too long ({} bytes of arguments, environment and tables; the limit is {})",
            self.needed, self.limit
        )
    }
}

/// The finished stack: copy `bytes` to `[sp, top)` and start the program
/// with this `sp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    /// The initial stack pointer, 16-byte aligned (for every arch, as
    /// Linux's `STACK_ROUND`); `argc` is the word there.
    pub sp: u64,
    /// The memory from `sp` to the top of the stack.
    pub bytes: Vec<u8>,
}

fn with_nul(s: &CStr) -> Vec<u8> {
    s.to_bytes_with_nul().to_vec()
}

impl Strings {
    /// Places the strings of an aarch64 program below `top` (16-byte
    /// aligned: the end of the stack mapping) in Linux's order:
    /// [`Strings::for_arch`] with [`Arch::Aarch64`].
    pub fn new(
        top: u64,
        argv: &[&CStr],
        envp: &[&CStr],
        execfn: &CStr,
        platform: &CStr,
        random: [u8; 16],
    ) -> Strings {
        Strings::for_arch(Arch::Aarch64, top, argv, envp, execfn, platform, random)
    }

    /// Places the strings of an `arch` program below `top` (16-byte
    /// aligned: the end of the stack mapping) in Linux's order. For
    /// [`Arch::Arm`] every address must be below 4 GiB.
    pub fn for_arch(
        arch: Arch,
        top: u64,
        argv: &[&CStr],
        envp: &[&CStr],
        execfn: &CStr,
        platform: &CStr,
        random: [u8; 16],
    ) -> Strings {
        let mut s = Strings {
            arch,
            top,
            // Linux starts one word below the end of the stack mapping and
            // leaves that word zero.
            low: top - arch.word(),
            pieces: Vec::new(),
            argv: Vec::new(),
            envp: Vec::new(),
            execfn: 0,
            platform: 0,
            random: 0,
        };
        s.execfn = s.push(with_nul(execfn));
        // `copy_strings` copies the last string first, each below the one
        // before: argv[0] ends up lowest, right below envp[0].
        s.envp = envp.iter().rev().map(|e| s.push(with_nul(e))).collect();
        s.envp.reverse();
        s.argv = argv.iter().rev().map(|a| s.push(with_nul(a))).collect();
        s.argv.reverse();
        // `create_elf_tables`: `arch_align_stack` (without randomisation),
        // then the platform string and the random bytes.
        s.low &= !15;
        s.platform = s.push(with_nul(platform));
        s.random = s.push(random.to_vec());
        s
    }

    /// Puts `bytes` right below everything placed so far; returns their
    /// address.
    fn push(&mut self, bytes: Vec<u8>) -> u64 {
        self.low = self.low.wrapping_sub(bytes.len() as u64);
        self.pieces.push((self.low, bytes));
        self.low
    }

    /// Writes argc, the argv and envp pointer arrays and `auxv` (which must
    /// end with `AT_NULL`) below the strings and returns the stack, or
    /// [`TooBig`] if it would take more than `limit` bytes. Each is one
    /// word of the arch's size (a 32-bit program's words are the low 32 bits
    /// of the values, which must fit).
    pub fn finish(self, auxv: &[(u64, u64)], limit: u64) -> Result<InitialStack, TooBig> {
        let word = self.arch.word();
        let words = 1 + (self.argv.len() as u64 + 1) + (self.envp.len() as u64 + 1);
        let aux_words = 2 * auxv.len() as u64;
        let table = (words + aux_words) * word;
        // STACK_ROUND: the table ends at or below the random bytes and
        // starts 16-byte aligned.
        let needed = (self.top - self.low) + table + 15;
        if needed > limit || needed > self.top {
            return Err(TooBig { needed, limit });
        }
        let sp = (self.low - table) & !15;
        let mut bytes = vec![0u8; (self.top - sp) as usize];
        let mut put = |addr: u64, data: &[u8]| {
            let at = (addr - sp) as usize;
            bytes[at..at + data.len()].copy_from_slice(data);
        };
        for (addr, data) in &self.pieces {
            put(*addr, data);
        }
        let mut words: Vec<u64> = Vec::new();
        words.push(self.argv.len() as u64);
        words.extend(&self.argv);
        words.push(0);
        words.extend(&self.envp);
        words.push(0);
        for &(key, value) in auxv {
            words.extend([key, value]);
        }
        for (i, value) in words.iter().enumerate() {
            let bytes = value.to_le_bytes();
            put(sp + i as u64 * word, &bytes[..word as usize]);
        }
        Ok(InitialStack { sp, bytes })
    }
}

/// What the auxiliary vector says about the process, apart from the
/// strings' addresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuxFacts {
    /// `AT_SYSINFO_EHDR`: `loader::Layout::at_sysinfo_ehdr()`.
    pub sysinfo_ehdr: u64,
    /// `AT_MINSIGSTKSZ`, if known.
    pub minsigstksz: Option<u64>,
    /// `AT_HWCAP`.
    pub hwcap: u64,
    /// `AT_HWCAP2`.
    pub hwcap2: u64,
    /// `AT_PHDR`: the program headers' address in the process.
    pub phdr: u64,
    /// `AT_PHNUM`.
    pub phnum: u64,
    /// `AT_ENTRY`: the entry point in the process.
    pub entry: u64,
    /// `AT_UID`.
    pub uid: u64,
    /// `AT_EUID`.
    pub euid: u64,
    /// `AT_GID`.
    pub gid: u64,
    /// `AT_EGID`.
    pub egid: u64,
}

/// The auxiliary vector of a static program, in the order of Linux 6.12
/// arm64 (`ARCH_DLINFO` first, then `create_elf_tables`), ending with
/// `AT_NULL`. For a 32-bit Arm program (`COMPAT_ARCH_DLINFO`: only
/// `AT_SYSINFO_EHDR`) leave `minsigstksz` `None`; `AT_PHENT` follows the
/// strings' [`Arch`].
pub fn aux_vector(facts: &AuxFacts, strings: &Strings) -> Vec<(u64, u64)> {
    let mut aux = vec![(AT_SYSINFO_EHDR, facts.sysinfo_ehdr)];
    if let Some(size) = facts.minsigstksz {
        aux.push((AT_MINSIGSTKSZ, size));
    }
    aux.extend([
        (AT_HWCAP, facts.hwcap),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, 100),
        (AT_PHDR, facts.phdr),
        (AT_PHENT, strings.arch.phdr_size() as u64),
        (AT_PHNUM, facts.phnum),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, facts.entry),
        (AT_UID, facts.uid),
        (AT_EUID, facts.euid),
        (AT_GID, facts.gid),
        (AT_EGID, facts.egid),
        (AT_SECURE, 0),
        (AT_RANDOM, strings.random),
        (AT_HWCAP2, facts.hwcap2),
        (AT_EXECFN, strings.execfn),
        (AT_PLATFORM, strings.platform),
        (AT_NULL, 0),
    ]);
    aux
}

/// What fits of `auxv` (which ends with `AT_NULL`) into `slots` pairs: its
/// first `slots - 1` entries and `AT_NULL`, or all of it if it is shorter.
/// Returns that vector and the keys left out.
///
/// For a copy of the vector into a fixed-size place (see the exec
/// harness's `exec::mirror_auxv_for_proc`): the entries come in Linux's
/// order, so what is dropped first is the end (`AT_PLATFORM`, `AT_EXECFN`),
/// never `AT_SYSINFO_EHDR`.
pub fn fit_auxv(auxv: &[(u64, u64)], slots: usize) -> (Vec<(u64, u64)>, Vec<u64>) {
    let entries: Vec<(u64, u64)> = auxv
        .iter()
        .copied()
        .filter(|&(k, _)| k != AT_NULL)
        .collect();
    let keep = entries.len().min(slots.saturating_sub(1));
    let dropped = entries[keep..].iter().map(|&(k, _)| k).collect();
    let mut fitted = entries[..keep].to_vec();
    if slots > 0 {
        fitted.push((AT_NULL, 0));
    }
    (fitted, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const TOP: u64 = 0x7000_0000;

    /// Reads the stack back the way a libc's `_start` does, with words of
    /// `word` bytes.
    struct Reader<'a> {
        stack: &'a InitialStack,
        word: u64,
    }

    impl Reader<'_> {
        fn word(&self, addr: u64) -> u64 {
            let at = (addr - self.stack.sp) as usize;
            let mut bytes = [0u8; 8];
            bytes[..self.word as usize]
                .copy_from_slice(&self.stack.bytes[at..at + self.word as usize]);
            u64::from_le_bytes(bytes)
        }
        fn string(&self, addr: u64) -> &[u8] {
            let at = (addr - self.stack.sp) as usize;
            let rest = &self.stack.bytes[at..];
            &rest[..rest.iter().position(|&b| b == 0).unwrap()]
        }
        /// argv, envp and auxv as `_start` finds them.
        fn parse(&self) -> Seen<'_> {
            let w = self.word;
            let mut p = self.stack.sp;
            let argc = self.word(p);
            p += w;
            let argv = (0..argc)
                .map(|i| self.string(self.word(p + w * i)))
                .collect();
            p += w * argc;
            assert_eq!(self.word(p), 0, "argv ends with NULL");
            p += w;
            let mut envp = Vec::new();
            while self.word(p) != 0 {
                envp.push(self.string(self.word(p)));
                p += w;
            }
            p += w;
            let mut auxv = Vec::new();
            loop {
                let (key, value) = (self.word(p), self.word(p + w));
                auxv.push((key, value));
                p += 2 * w;
                if key == AT_NULL {
                    break;
                }
            }
            Seen { argv, envp, auxv }
        }
    }

    /// What `_start` finds on the stack.
    struct Seen<'a> {
        argv: Vec<&'a [u8]>,
        envp: Vec<&'a [u8]>,
        auxv: Vec<(u64, u64)>,
    }

    fn build(argv: &[&CStr], envp: &[&CStr]) -> (Strings, InitialStack) {
        let strings = Strings::new(TOP, argv, envp, argv[0], c"aarch64", [7; 16]);
        let facts = AuxFacts {
            sysinfo_ehdr: 0x55_0000_2000,
            minsigstksz: Some(5120),
            entry: 0x400100,
            phdr: 0x400040,
            phnum: 7,
            ..AuxFacts::default()
        };
        let auxv = aux_vector(&facts, &strings);
        let stack = strings.clone().finish(&auxv, 1 << 20).unwrap();
        (strings, stack)
    }

    #[test]
    fn start_reads_back_argc_argv_envp_and_auxv() {
        let (strings, stack) = build(&[c"/tmp/prog", c"a", c"b c"], &[c"HOME=/root", c"X=1"]);
        let reader = Reader {
            stack: &stack,
            word: 8,
        };
        let Seen { argv, envp, auxv } = reader.parse();
        assert_eq!(argv, [&b"/tmp/prog"[..], b"a", b"b c"]);
        assert_eq!(envp, [&b"HOME=/root"[..], b"X=1"]);
        let get = |key| auxv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        assert_eq!(get(AT_SYSINFO_EHDR), Some(0x55_0000_2000));
        assert_eq!(get(AT_PAGESZ), Some(4096));
        assert_eq!(get(AT_PHENT), Some(56));
        assert_eq!(get(AT_ENTRY), Some(0x400100));
        assert_eq!(reader.string(get(AT_EXECFN).unwrap()), b"/tmp/prog");
        assert_eq!(reader.string(get(AT_PLATFORM).unwrap()), b"aarch64");
        let random = get(AT_RANDOM).unwrap();
        assert_eq!(random, strings.random);
        let at = (random - stack.sp) as usize;
        assert_eq!(stack.bytes[at..at + 16], [7; 16]);
        assert_eq!(auxv.last(), Some(&(AT_NULL, 0)));
    }

    #[test]
    fn stack_pointer_is_16_byte_aligned_and_the_top_word_is_zero() {
        for n in 0..8 {
            let args: Vec<std::ffi::CString> = (0..n)
                .map(|i| std::ffi::CString::new("x".repeat(i * 3 + 1)).unwrap())
                .collect();
            let mut argv: Vec<&CStr> = vec![c"p"];
            argv.extend(args.iter().map(|a| a.as_c_str()));
            let (_, stack) = build(&argv, &[c"A=B"]);
            assert_eq!(stack.sp % 16, 0, "{n} extra arguments");
            assert_eq!(stack.sp + stack.bytes.len() as u64, TOP);
            assert_eq!(stack.bytes[stack.bytes.len() - 8..], [0; 8]);
        }
    }

    #[test]
    fn strings_are_at_the_top_in_linux_order() {
        let (strings, stack) = build(&[c"prog", c"arg"], &[c"E=1"]);
        // execfn highest, then envp, then argv; platform and random below.
        assert_eq!(strings.execfn, TOP - 8 - 5);
        assert!(strings.envp[0] < strings.execfn);
        assert!(strings.argv[1] < strings.envp[0]);
        assert!(strings.argv[0] < strings.argv[1]);
        assert!(strings.platform < strings.argv[0]);
        assert_eq!(strings.random, strings.platform - 16);
        assert!(stack.sp < strings.random);
        // The argv strings are contiguous, as `/proc/PID/cmdline` expects.
        assert_eq!(strings.argv[1], strings.argv[0] + 5);
    }

    #[test]
    fn auxv_follows_linux_arm64_order() {
        let strings = Strings::new(TOP, &[c"p"], &[], c"p", c"aarch64", [0; 16]);
        let keys: Vec<u64> = aux_vector(&AuxFacts::default(), &strings)
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(
            keys,
            [
                AT_SYSINFO_EHDR,
                AT_HWCAP,
                AT_PAGESZ,
                AT_CLKTCK,
                AT_PHDR,
                AT_PHENT,
                AT_PHNUM,
                AT_BASE,
                AT_FLAGS,
                AT_ENTRY,
                AT_UID,
                AT_EUID,
                AT_GID,
                AT_EGID,
                AT_SECURE,
                AT_RANDOM,
                AT_HWCAP2,
                AT_EXECFN,
                AT_PLATFORM,
                AT_NULL
            ]
        );
    }

    #[test]
    fn a_vector_too_long_for_its_place_keeps_its_head_and_ends_with_at_null() {
        let auxv = [
            (AT_SYSINFO_EHDR, 1),
            (AT_HWCAP, 2),
            (AT_PLATFORM, 3),
            (AT_NULL, 0),
        ];
        let (fitted, dropped) = fit_auxv(&auxv, 3);
        assert_eq!(fitted, [(AT_SYSINFO_EHDR, 1), (AT_HWCAP, 2), (AT_NULL, 0)]);
        assert_eq!(dropped, [AT_PLATFORM]);
        let (fitted, dropped) = fit_auxv(&auxv, 19);
        assert_eq!(fitted, auxv);
        assert!(dropped.is_empty());
        assert_eq!(fit_auxv(&auxv, 0).0, []);
    }

    #[test]
    fn too_many_arguments_is_an_error_not_an_overflow() {
        let big = std::ffi::CString::new(vec![b'x'; 4096]).unwrap();
        let argv: Vec<&CStr> = std::iter::repeat_n(big.as_c_str(), 100).collect();
        let strings = Strings::new(TOP, &argv, &[], c"p", c"aarch64", [0; 16]);
        let err = strings.finish(&[(AT_NULL, 0)], 64 * 1024).unwrap_err();
        assert!(err.needed > 400_000 && err.limit == 64 * 1024, "{err:?}");
        assert!(err.to_string().starts_with("argument list too long"));
    }

    /// A 32-bit Arm program's stack, below `TOP32`.
    const TOP32: u64 = 0xf700_0000;

    fn build_arm(argv: &[&CStr], envp: &[&CStr]) -> (Strings, InitialStack, Vec<(u64, u64)>) {
        let strings = Strings::for_arch(Arch::Arm, TOP32, argv, envp, argv[0], c"v7l", [9; 16]);
        let facts = AuxFacts {
            sysinfo_ehdr: 0xf77f_2000,
            minsigstksz: None,
            hwcap: 0x0040_b0d7,
            hwcap2: 0x1f,
            entry: 0x10101,
            phdr: 0x10034,
            phnum: 9,
            uid: 1000,
            ..AuxFacts::default()
        };
        let auxv = aux_vector(&facts, &strings);
        let stack = strings.clone().finish(&auxv, 1 << 20).unwrap();
        (strings, stack, auxv)
    }

    #[test]
    fn arm_start_reads_back_4_byte_argc_argv_envp_and_auxv() {
        let (strings, stack, auxv_in) =
            build_arm(&[c"/client", c"-x", c"y z"], &[c"PATH=/", c"TZ=UTC"]);
        let reader = Reader {
            stack: &stack,
            word: 4,
        };
        let Seen { argv, envp, auxv } = reader.parse();
        assert_eq!(argv, [&b"/client"[..], b"-x", b"y z"]);
        assert_eq!(envp, [&b"PATH=/"[..], b"TZ=UTC"]);
        assert_eq!(auxv, auxv_in, "every pair read back with 4-byte words");
        let get = |key| auxv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        assert_eq!(auxv[0], (AT_SYSINFO_EHDR, 0xf77f_2000), "first, as Linux");
        assert_eq!(get(AT_MINSIGSTKSZ), None);
        assert_eq!(get(AT_PHENT), Some(32), "sizeof(Elf32_Phdr)");
        assert_eq!(get(AT_PHDR), Some(0x10034));
        assert_eq!(get(AT_PHNUM), Some(9));
        assert_eq!(get(AT_ENTRY), Some(0x10101));
        assert_eq!(get(AT_HWCAP), Some(0x0040_b0d7));
        assert_eq!(get(AT_HWCAP2), Some(0x1f));
        assert_eq!(get(AT_UID), Some(1000));
        assert_eq!(get(AT_PAGESZ), Some(4096));
        assert_eq!(reader.string(get(AT_EXECFN).unwrap()), b"/client");
        assert_eq!(reader.string(get(AT_PLATFORM).unwrap()), b"v7l");
        let random = get(AT_RANDOM).unwrap();
        assert_eq!(random, strings.random);
        let at = (random - stack.sp) as usize;
        assert_eq!(stack.bytes[at..at + 16], [9; 16]);
        // The whole table is 4-byte words: argc + 3 argv + NULL + 2 envp +
        // NULL, then the pairs, and it ends below the random bytes.
        let table = 4 * (1 + 4 + 3) + 8 * auxv.len() as u64;
        assert!(stack.sp + table <= strings.random);
        assert!(
            strings.random - (stack.sp + table) < 16,
            "no more than alignment"
        );
    }

    #[test]
    fn arm_stack_is_aligned_with_a_4_byte_zero_word_on_top() {
        for n in 0..8 {
            let args: Vec<std::ffi::CString> = (0..n)
                .map(|i| std::ffi::CString::new("x".repeat(i * 3 + 1)).unwrap())
                .collect();
            let mut argv: Vec<&CStr> = vec![c"p"];
            argv.extend(args.iter().map(|a| a.as_c_str()));
            let (strings, stack, _) = build_arm(&argv, &[c"A=B"]);
            assert_eq!(stack.sp % 16, 0, "{n} extra arguments");
            assert_eq!(stack.sp + stack.bytes.len() as u64, TOP32);
            assert_eq!(
                strings.execfn,
                TOP32 - 4 - 2,
                "\"p\\0\" right below one word"
            );
            assert_eq!(stack.bytes[stack.bytes.len() - 4..], [0; 4]);
        }
    }
}
