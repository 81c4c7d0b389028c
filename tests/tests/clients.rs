//! The image as each client sees it: musl, glibc, Go 1.19, rustix and Linux's `parse_vdso.c`,
//! re-written in `src/clients` from their sources.
//!
//! Every client must resolve every export at its version to the same address, at any base.
//! Broken images show which client notices what (and which notices nothing, so that only the
//! image checker stands between a bad build and a silent fallback to system calls), and no
//! client transliteration may panic or hang on any input.

use std::panic::{catch_unwind, AssertUnwindSafe};

use vdso_tests::clients::{self, glibc, go, musl, parse_vdso, rustix, Lookup};
use vdso_tests::elf::{DT_SYMENT, PT_GNU_RELRO, PT_INTERP, PT_NOTE, PT_TLS};
use vdso_tests::hash::{elf_hash, gnu_hash};
use vdso_tests::image::{self, broken, EXPORTS, LINUX_2_6, LINUX_2_6_39};
use vdso_tests::{Error, Mapping};

/// `base + st_value` of `name`, from the reference reading.
fn expected_address(img: &[u8], base: u64, name: &str) -> u64 {
    let syms = image::dynamic_symbols(img).expect("object reads .dynsym");
    let s = syms
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no symbol {name}"));
    base + s.value
}

/// Asserts that `lookup` resolves every export at its version, at every base.
fn assert_resolves_every_export(client: &str, lookup: Lookup, img: &[u8]) {
    for base in image::BASES {
        let m = Mapping::new(img, base);
        for e in EXPORTS {
            assert_eq!(
                lookup(&m, e.version, e.name),
                Ok(expected_address(img, base, e.name)),
                "{client}: {}@{} with the image at {base:#x}",
                e.name,
                e.version
            );
        }
    }
}

#[test]
fn musl_resolves_every_export_at_its_version() {
    assert_resolves_every_export("musl", musl::lookup, &image::load());
}

#[test]
fn glibc_resolves_every_export_at_its_version() {
    assert_resolves_every_export("glibc", glibc::lookup, &image::load());
}

#[test]
fn go_algorithm_resolves_every_export_given_correct_hashes() {
    assert_resolves_every_export("go", go::lookup, &image::load());
}

#[test]
fn parse_vdso_resolves_every_export_at_its_version() {
    assert_resolves_every_export("parse_vdso", parse_vdso::lookup, &image::load());
}

#[test]
fn rustix_resolves_every_export_at_its_version() {
    assert_resolves_every_export("rustix", rustix::lookup, &image::load());
}

#[test]
fn all_clients_agree_on_every_export_address() {
    let img = image::load();
    for base in image::BASES {
        let m = Mapping::new(&img, base);
        for e in EXPORTS {
            let found: Vec<(&str, Result<u64, Error>)> = clients::ALL
                .iter()
                .map(|(name, lookup)| (*name, lookup(&m, e.version, e.name)))
                .collect();
            let first = found[0].1;
            assert!(first.is_ok(), "{}: {found:?}", e.name);
            assert!(
                found.iter().all(|f| f.1 == first),
                "{}@{} at {base:#x}: {found:?}",
                e.name,
                e.version
            );
        }
    }
}

#[test]
fn aliases_resolve_to_the_same_address_as_their_targets() {
    let img = image::load();
    let m = Mapping::new(&img, image::BASES[0]);
    for (client, lookup) in clients::ALL {
        for e in EXPORTS {
            if let Some(target) = e.alias_of {
                assert_eq!(
                    lookup(&m, e.version, e.name),
                    lookup(&m, LINUX_2_6_39, target),
                    "{client}: {} vs {target}",
                    e.name
                );
            }
        }
    }
}

#[test]
fn no_client_resolves_an_export_under_the_other_version() {
    let img = image::load();
    let m = Mapping::new(&img, image::BASES[0]);
    for (client, lookup) in clients::ALL {
        for e in EXPORTS {
            let other = if e.version == LINUX_2_6 {
                LINUX_2_6_39
            } else {
                LINUX_2_6
            };
            assert_eq!(
                lookup(&m, other, e.name),
                Err(Error::NotFound),
                "{client}: {}@{other} must not resolve",
                e.name
            );
        }
    }
}

#[test]
fn glibc_dl_vdso_vsym_finds_the_aarch64_clock_functions_with_its_hard_coded_hash() {
    assert_eq!(glibc::VDSO_HASH, elf_hash(glibc::VDSO_NAME.as_bytes()));
    let img = image::load();
    let base = image::BASES[0];
    let m = Mapping::new(&img, base);
    for name in [
        "__kernel_clock_gettime",
        "__kernel_gettimeofday",
        "__kernel_clock_getres",
    ] {
        assert_eq!(
            glibc::dl_vdso_vsym(&m, name),
            Ok(expected_address(&img, base, name)),
            "{name}"
        );
    }
}

// Go 1.19's wrong key ----------------------------------------------------------------------------

#[test]
fn go_1_19_arm64_key_carries_the_hashes_of_vdso_clock_gettime() {
    // This is the bug the image has to work around (image rule 4): the key is named
    // `__kernel_clock_gettime` but both hashes are those of `__vdso_clock_gettime`.
    let key = go::VDSO_SYMBOL_KEYS_ARM64[0];
    assert_eq!(key.name, "__kernel_clock_gettime");
    assert_eq!(key.sym_hash, elf_hash(b"__vdso_clock_gettime"));
    assert_eq!(key.gnu_hash, gnu_hash(b"__vdso_clock_gettime"));
    assert_ne!(key.sym_hash, elf_hash(key.name.as_bytes()));
    assert_ne!(key.gnu_hash, gnu_hash(key.name.as_bytes()));
    assert_eq!(
        go::VDSO_LINUX_VERSION_ARM64.ver_hash,
        elf_hash(go::VDSO_LINUX_VERSION_ARM64.version.as_bytes())
    );
}

#[test]
fn go_1_19_finds_kernel_clock_gettime_through_its_wrong_hash_bucket() {
    // With only DT_HASH, Go walks bucket 0xd35ec75 % nbucket and compares names. This is
    // exactly what Go 1.19 does at start-up on linux/arm64; if it came back NotFound, every
    // time.Now() in every Go 1.19 program would be a system call.
    let img = image::load();
    for base in image::BASES {
        let m = Mapping::new(&img, base);
        assert_eq!(
            go::clock_gettime_sym_arm64(&m),
            Ok(expected_address(&img, base, "__kernel_clock_gettime")),
            "Go 1.19 with the image at {base:#x}"
        );
    }
}

#[test]
fn go_1_19_misses_kernel_clock_gettime_when_the_image_has_a_gnu_hash_table() {
    // Why DT_GNU_HASH is forbidden: with a *valid* GNU table next to the SysV one (Linux's
    // layout), Go compares chain hashes with 0x6e43a318 and never matches.
    let img = broken::with_gnu_hash(&image::load());
    let m = Mapping::new(&img, image::BASES[0]);
    assert_eq!(go::clock_gettime_sym_arm64(&m), Err(Error::NotFound));
    // The table is valid: every other client, and Go's algorithm with a correct key, resolve
    // everything through it.
    for (client, lookup) in clients::ALL {
        assert_resolves_every_export(client, lookup, &img);
    }
}

#[test]
fn go_1_19_misses_kernel_clock_gettime_when_it_is_not_on_gos_bucket() {
    // A valid SysV table whose nbucket puts 0xd35ec75 and the real hash of
    // `__kernel_clock_gettime` in different buckets: correct for everyone but Go 1.19.
    let img = broken::go_bucket_without_kernel_clock_gettime(&image::load());
    let m = Mapping::new(&img, image::BASES[0]);
    assert_eq!(go::clock_gettime_sym_arm64(&m), Err(Error::NotFound));
    for (client, lookup) in clients::ALL {
        assert_resolves_every_export(client, lookup, &img);
    }
}

// What each client notices -----------------------------------------------------------------------

/// Each client's result for `__kernel_clock_gettime@LINUX_2.6.39` on `img`.
fn clock_gettime_by_client(img: &[u8]) -> Vec<(&'static str, Result<u64, Error>)> {
    let m = Mapping::new(img, image::BASES[0]);
    clients::ALL
        .iter()
        .map(|(name, lookup)| (*name, lookup(&m, LINUX_2_6_39, "__kernel_clock_gettime")))
        .collect()
}

#[test]
fn rustix_rejects_a_load_segment_that_is_not_executable() {
    let img = broken::load_not_executable(&image::load());
    let m = Mapping::new(&img, image::BASES[0]);
    assert!(
        matches!(rustix::Vdso::new(&m), Err(Error::Rejected(_))),
        "{:?}",
        rustix::Vdso::new(&m)
    );
}

#[test]
fn no_client_notices_a_writable_load_segment_so_only_the_checker_can() {
    // rustix requires PF_R|PF_X but does not forbid PF_W; nobody else looks at the flags.
    let img = broken::load_writable(&image::load());
    for (client, result) in clock_gettime_by_client(&img) {
        assert!(result.is_ok(), "{client}: {result:?}");
    }
}

#[test]
fn rustix_rejects_an_interpreter_or_relro_segment() {
    let img = image::load();
    for kind in [PT_INTERP, PT_GNU_RELRO] {
        let broken = broken::segment_retyped(&img, PT_NOTE, kind);
        let m = Mapping::new(&broken, image::BASES[0]);
        assert_eq!(
            rustix::Vdso::new(&m).err(),
            Some(Error::Rejected("PT_INTERP or PT_GNU_RELRO present")),
            "segment type {kind:#x}"
        );
    }
}

#[test]
fn rustix_rejects_a_symbol_entry_size_other_than_24() {
    let img = broken::dynamic_value_changed(&image::load(), DT_SYMENT, 16);
    let m = Mapping::new(&img, image::BASES[0]);
    assert_eq!(
        rustix::Vdso::new(&m).err(),
        Some(Error::Rejected("DT_SYMENT is not sizeof(Elf_Sym)"))
    );
}

#[test]
fn glibc_aborts_on_a_tls_segment() {
    let img = broken::segment_retyped(&image::load(), PT_NOTE, PT_TLS);
    let m = Mapping::new(&img, image::BASES[0]);
    assert!(matches!(glibc::setup_vdso(&m), Err(Error::Crash(_))));
}

#[test]
fn glibc_crashes_on_a_writable_dynamic_segment() {
    // glibc 2.35+ relocates .dynamic in place when PT_DYNAMIC has PF_W; the page is read-only.
    let img = broken::dynamic_writable(&image::load());
    let m = Mapping::new(&img, image::BASES[0]);
    assert!(matches!(glibc::setup_vdso(&m), Err(Error::Crash(_))));
}

#[test]
fn glibc_crashes_on_a_rela_table_without_an_entry_size() {
    let img = broken::rela_relocation(&image::load());
    let m = Mapping::new(&img, image::BASES[0]);
    assert!(matches!(glibc::setup_vdso(&m), Err(Error::Crash(_))));
}

#[test]
fn every_client_loses_the_aliases_when_linux_2_6_is_renamed_or_removed() {
    let img = image::load();
    for (what, broken) in [
        ("renamed", broken::linux_2_6_renamed(&img)),
        ("removed", broken::without_linux_2_6(&img)),
    ] {
        let m = Mapping::new(&broken, image::BASES[0]);
        for (client, lookup) in clients::ALL {
            for e in EXPORTS {
                let result = lookup(&m, e.version, e.name);
                if e.version == LINUX_2_6 {
                    assert_eq!(result, Err(Error::NotFound), "{client}, {what}: {}", e.name);
                } else {
                    assert!(result.is_ok(), "{client}, {what}: {}: {result:?}", e.name);
                }
            }
        }
    }
}

#[test]
fn only_musl_ignores_a_wrong_vd_hash() {
    let img = broken::wrong_vd_hash(&image::load(), LINUX_2_6_39);
    for (client, result) in clock_gettime_by_client(&img) {
        if client == "musl" {
            assert!(result.is_ok(), "musl compares names only: {result:?}");
        } else {
            assert_eq!(result, Err(Error::NotFound), "{client} compares vd_hash");
        }
    }
    let m = Mapping::new(&img, image::BASES[0]);
    assert_eq!(go::clock_gettime_sym_arm64(&m), Err(Error::NotFound));
}

#[test]
fn go_1_19_crashes_without_dt_verdef_while_the_c_clients_go_unversioned() {
    let img = broken::without_dt_verdef(&image::load());
    let m = Mapping::new(&img, image::BASES[0]);
    assert!(
        matches!(go::clock_gettime_sym_arm64(&m), Err(Error::Crash(_))),
        "{:?}",
        go::clock_gettime_sym_arm64(&m)
    );
    for (client, result) in clock_gettime_by_client(&img) {
        if client != "go" {
            assert!(result.is_ok(), "{client}: {result:?}");
        }
    }
}

#[test]
fn no_client_finds_anything_without_dt_hash() {
    let img = broken::without_dt_hash(&image::load());
    for (client, result) in clock_gettime_by_client(&img) {
        assert!(
            result.is_err(),
            "{client} found {result:?} without a hash table"
        );
    }
}

// Robustness -------------------------------------------------------------------------------------

/// Runs every client on `img` for a few lookups; fails naming `what` if any panics.
fn survive(what: &str, img: &[u8]) {
    let lookups = [
        (LINUX_2_6_39, "__kernel_clock_gettime"),
        (LINUX_2_6, "__vdso_clock_gettime"),
    ];
    for base in [image::BASES[0], u64::MAX - 0xfff] {
        let m = Mapping::new(img, base);
        for (client, lookup) in clients::ALL {
            for (version, name) in lookups {
                let r = catch_unwind(AssertUnwindSafe(|| lookup(&m, version, name)));
                assert!(r.is_ok(), "{client} panicked on {what} at base {base:#x}");
            }
        }
        let r = catch_unwind(AssertUnwindSafe(|| go::clock_gettime_sym_arm64(&m)));
        assert!(
            r.is_ok(),
            "Go 1.19 keys panicked on {what} at base {base:#x}"
        );
        let r = catch_unwind(AssertUnwindSafe(|| {
            glibc::dl_vdso_vsym(&m, "__kernel_clock_gettime")
        }));
        assert!(
            r.is_ok(),
            "glibc dl_vdso_vsym panicked on {what} at base {base:#x}"
        );
    }
}

#[test]
fn clients_survive_every_broken_image() {
    for (name, img) in broken::all(&image::load()) {
        survive(name, &img);
    }
}

#[test]
fn clients_survive_every_truncation_of_the_image() {
    let img = image::load();
    for len in 0..=img.len() {
        survive(&format!("the first {len} bytes"), &img[..len]);
    }
}

#[test]
fn clients_survive_every_single_byte_corruption() {
    let img = image::load();
    let mut copy = img.clone();
    for i in 0..img.len() {
        for value in [0x00, 0xff, img[i] ^ 0x80, img[i].wrapping_add(1)] {
            copy[i] = value;
            survive(&format!("byte {i:#x} = {value:#04x}"), &copy);
        }
        copy[i] = img[i];
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn clients_survive_garbage() {
    let img = image::load();
    survive("an empty image", &[]);
    survive("a page of zeros", &[0; 4096]);
    survive("a page of 0xff", &[0xff; 4096]);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..300 {
        let len = (rng.next() % 4097) as usize;
        let mut garbage: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        survive(&format!("random bytes, round {round}"), &garbage);
        // The real ELF header in front of garbage gets the clients further.
        let keep = 64.min(len);
        garbage[..keep].copy_from_slice(&img[..keep]);
        survive(
            &format!("the ELF header and random bytes, round {round}"),
            &garbage,
        );
        // The real image with a run of random bytes somewhere in its tables.
        let mut scribbled = img.clone();
        let at = (rng.next() as usize) % scribbled.len();
        let run = 1 + (rng.next() as usize) % 32;
        for b in scribbled.iter_mut().skip(at).take(run) {
            *b = rng.next() as u8;
        }
        survive(
            &format!("the image with {run} random bytes at {at:#x}"),
            &scribbled,
        );
    }
}
