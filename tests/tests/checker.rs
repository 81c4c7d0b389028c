//! The image checker that `cargo xtask build-vdso` runs (`xtask::check::check_image`) accepts
//! the committed image and rejects each broken copy with the requirement it breaks.
//!
//! The broken images come from `vdso_tests::image::broken`; each test asserts that the
//! expected requirement is among the violations (breaking one thing may break others too:
//! a `PT_NOTE` turned into `PT_TLS` is also a missing note).

use std::panic::{catch_unwind, AssertUnwindSafe};

use vdso_tests::elf::{PT_GNU_RELRO, PT_INTERP, PT_LOAD, PT_NOTE, PT_NULL, PT_TLS};
use vdso_tests::image::{self, broken, LINUX_2_6, LINUX_2_6_39};
use xtask::check::{check_compat_image, check_image, Requirement};

type Check = fn(&[u8]) -> Result<xtask::check::Report, Vec<xtask::check::Violation>>;

/// An image and the checker for it.
struct Subject {
    /// Which image, for messages.
    name: &'static str,
    /// Reads the committed image.
    load: fn() -> Vec<u8>,
    /// Its checker.
    check: Check,
}

/// The aarch64 image and `check_image`.
const AARCH64: Subject = Subject {
    name: "aarch64",
    load: image::load,
    check: check_image,
};

/// The 32-bit compat image and `check_compat_image`.
const COMPAT: Subject = Subject {
    name: "compat",
    load: image::load_compat,
    check: check_compat_image,
};

impl Subject {
    /// Asserts that the checker rejects `img`, naming `expected` among the violations.
    fn assert_rejects(&self, img: &[u8], expected: Requirement) {
        let name = self.name;
        match (self.check)(img) {
            Ok(report) => {
                panic!("the {name} checker accepted an image breaking {expected:?}: {report:#?}")
            }
            Err(violations) => assert!(
                violations.iter().any(|v| v.requirement == expected),
                "the {name} checker: expected a {expected:?} violation, got:\n{}",
                violations
                    .iter()
                    .map(|v| format!("  {:?}: {}", v.requirement, v.detail))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }

    /// Fails, naming `what`, if the checker panics on `img`.
    fn survives(&self, what: &str, img: &[u8]) {
        let r = catch_unwind(AssertUnwindSafe(|| (self.check)(img).is_ok()));
        assert!(r.is_ok(), "the {} checker panicked on {what}", self.name);
    }

    /// Runs the checker on every prefix of the image, on every byte of it set to 0x00, 0xff
    /// and flipped in its top bit, on each of `broken`, and on two pages of junk.
    fn survives_truncated_and_corrupted(&self, broken: Vec<(&str, Vec<u8>)>) {
        let img = (self.load)();
        for len in 0..img.len() {
            self.survives(&format!("the first {len} bytes"), &img[..len]);
        }
        let mut copy = img.clone();
        for i in 0..img.len() {
            for value in [0x00, 0xff, img[i] ^ 0x80] {
                copy[i] = value;
                self.survives(&format!("byte {i:#x} = {value:#04x}"), &copy);
            }
            copy[i] = img[i];
        }
        for (name, broken) in broken {
            self.survives(name, &broken);
        }
        self.survives("a page of zeros", &[0; 4096]);
        self.survives("a page of 0xff", &[0xff; 4096]);
    }
}

/// Writes one `#[test]` per row `name(SUBJECT): broken => Requirement, ...;`: the test breaks
/// the subject's committed image in each listed way (`broken` is called on its bytes) and
/// asserts that the subject's checker rejects every copy, naming that requirement.
macro_rules! rejects {
    ($($(#[$attr:meta])* $name:ident($subject:ident): $($broken:expr => $req:ident),+;)*) => {
        $(
            $(#[$attr])*
            #[test]
            fn $name() {
                let img = ($subject.load)();
                $($subject.assert_rejects(&($broken)(&img), Requirement::$req);)+
            }
        )*
    };
}

#[test]
fn checker_accepts_the_committed_image() {
    if let Err(violations) = check_image(&image::load()) {
        panic!("the committed image fails its own checker: {violations:#?}");
    }
}

/// Every requirement, with the test below that breaks it. The `match` has no wildcard, so a
/// new requirement does not compile until it has a negative test.
#[test]
fn every_requirement_has_a_negative_test() {
    let all = [
        Requirement::ElfHeader,
        Requirement::OneLoadSegment,
        Requirement::NoWritableSegment,
        Requirement::ForbiddenSegment,
        Requirement::DynamicInsideLoad,
        Requirement::NoteSegment,
        Requirement::NoRelocations,
        Requirement::NoUndefinedSymbols,
        Requirement::SysvHash,
        Requirement::NoGnuHash,
        Requirement::GoHashChain,
        Requirement::Soname,
        Requirement::VersionDefinitions,
        Requirement::Exports,
        Requirement::Sigreturn,
        Requirement::Size,
        Requirement::Bti,
        Requirement::Stack,
    ];
    for r in all {
        let test = match r {
            Requirement::ElfHeader => "checker_rejects_another_machine",
            Requirement::OneLoadSegment => "checker_rejects_a_second_load_segment",
            Requirement::NoWritableSegment => "checker_rejects_a_writable_load_segment",
            Requirement::ForbiddenSegment => "checker_rejects_interp_tls_and_relro_segments",
            Requirement::DynamicInsideLoad => "checker_rejects_a_dynamic_segment_outside_the_load",
            Requirement::NoteSegment => "checker_rejects_a_missing_note_segment",
            Requirement::NoRelocations => "checker_rejects_a_rela_relocation",
            Requirement::NoUndefinedSymbols => "checker_rejects_an_undefined_symbol",
            Requirement::SysvHash => "checker_rejects_a_missing_dt_hash",
            Requirement::NoGnuHash => "checker_rejects_a_gnu_hash_table",
            Requirement::GoHashChain => {
                "checker_rejects_a_hash_table_where_go_1_19_misses_kernel_clock_gettime"
            }
            Requirement::Soname => "checker_rejects_another_soname",
            Requirement::VersionDefinitions => "checker_rejects_a_missing_linux_2_6_node",
            Requirement::Exports => "checker_rejects_an_extra_export",
            Requirement::Sigreturn => "checker_rejects_a_corrupted_sigreturn",
            Requirement::Size => "checker_rejects_an_image_as_large_as_linux_6_12s",
            Requirement::Bti => "checker_rejects_an_image_without_the_bti_property",
            Requirement::Stack => "checker_rejects_a_frame_larger_than_a_small_stack_gives",
        };
        assert!(!test.is_empty(), "{r:?}");
    }
}

rejects! {
    // Image rule 1
    checker_rejects_another_machine(AARCH64): broken::machine_x86_64 => ElfHeader;
    checker_rejects_an_executable(AARCH64): broken::type_exec => ElfHeader;

    // Image rule 2
    checker_rejects_a_second_load_segment(AARCH64):
        |img| broken::segment_retyped(img, PT_NOTE, PT_LOAD) => OneLoadSegment;
    checker_rejects_a_load_segment_that_is_not_executable(AARCH64):
        broken::load_not_executable => OneLoadSegment;
    checker_rejects_a_writable_load_segment(AARCH64): broken::load_writable => NoWritableSegment;
    checker_rejects_a_writable_dynamic_segment(AARCH64):
        broken::dynamic_writable => NoWritableSegment;
    checker_rejects_interp_tls_and_relro_segments(AARCH64):
        |img| broken::segment_retyped(img, PT_NOTE, PT_INTERP) => ForbiddenSegment,
        |img| broken::segment_retyped(img, PT_NOTE, PT_TLS) => ForbiddenSegment,
        |img| broken::segment_retyped(img, PT_NOTE, PT_GNU_RELRO) => ForbiddenSegment;
    checker_rejects_a_missing_note_segment(AARCH64):
        |img| broken::segment_retyped(img, PT_NOTE, PT_NULL) => NoteSegment;
    checker_rejects_a_dynamic_segment_outside_the_load(AARCH64):
        broken::dynamic_outside_load => DynamicInsideLoad;

    // Image rule 3
    checker_rejects_a_rela_relocation(AARCH64): broken::rela_relocation => NoRelocations;
    checker_rejects_a_relr_relocation(AARCH64): broken::relr_relocation => NoRelocations;
    checker_rejects_a_rela_section(AARCH64): broken::rela_section => NoRelocations;
    checker_rejects_an_undefined_symbol(AARCH64): broken::undefined_symbol => NoUndefinedSymbols;

    // Image rule 4
    checker_rejects_a_missing_dt_hash(AARCH64): broken::without_dt_hash => SysvHash;
    checker_rejects_a_gnu_hash_table(AARCH64): broken::with_gnu_hash => NoGnuHash;
    checker_rejects_a_hash_table_where_go_1_19_misses_kernel_clock_gettime(AARCH64):
        broken::go_bucket_without_kernel_clock_gettime => GoHashChain;

    // Image rule 5
    checker_rejects_another_soname(AARCH64): broken::soname_changed => Soname;
    checker_rejects_a_missing_linux_2_6_node(AARCH64):
        broken::without_linux_2_6 => VersionDefinitions;
    checker_rejects_a_renamed_linux_2_6_node(AARCH64):
        broken::linux_2_6_renamed => VersionDefinitions;
    checker_rejects_a_wrong_vd_hash(AARCH64):
        |img| broken::wrong_vd_hash(img, LINUX_2_6_39) => VersionDefinitions,
        |img| broken::wrong_vd_hash(img, LINUX_2_6) => VersionDefinitions;
    checker_rejects_a_missing_dt_verdef(AARCH64):
        broken::without_dt_verdef => VersionDefinitions;

    // Image rule 6
    checker_rejects_an_extra_export(AARCH64): broken::extra_export => Exports;
    checker_rejects_an_export_that_is_not_a_function(AARCH64):
        broken::export_not_a_function => Exports;
    checker_rejects_a_weak_export(AARCH64): broken::export_weak => Exports;

    // Image rule 7
    checker_rejects_a_corrupted_sigreturn(AARCH64): broken::sigreturn_corrupted => Sigreturn;
    checker_rejects_a_sigreturn_without_the_nop_before_it(AARCH64):
        broken::sigreturn_without_nop => Sigreturn;

    // Image rule 8
    checker_rejects_an_image_as_large_as_linux_6_12s(AARCH64):
        broken::padded_to_linux_6_12s_size => Size;
    checker_rejects_a_load_segment_as_large_as_linux_6_12s(AARCH64):
        broken::load_as_large_as_linux_6_12s => Size;

    // Image rule 9: BTI (SECURITY.md)
    checker_rejects_an_image_without_the_bti_property(AARCH64):
        broken::bti_property_cleared => Bti;
    checker_rejects_an_entry_without_a_landing_pad(AARCH64): broken::landing_pad_removed => Bti;
    checker_rejects_an_indirect_branch_in_the_code(AARCH64):
        broken::indirect_branch_added => Bti;
    checker_rejects_a_frame_larger_than_a_small_stack_gives(AARCH64):
        broken::frame_enlarged => Stack,
        broken::frame_by_register => Stack;
}

// Robustness

#[test]
fn checker_survives_truncated_and_corrupted_images() {
    AARCH64.survives_truncated_and_corrupted(broken::all(&(AARCH64.load)()));
}

// The 32-bit compat image (`check_compat_image`) ----------------------------------------------

#[test]
fn compat_checker_accepts_the_committed_compat_image() {
    if let Err(violations) = check_compat_image(&image::load_compat()) {
        panic!("the committed compat image fails its checker: {violations:#?}");
    }
}

#[test]
fn each_checker_rejects_the_other_class_with_an_elf_header_violation() {
    COMPAT.assert_rejects(&image::load(), Requirement::ElfHeader);
    AARCH64.assert_rejects(&image::load_compat(), Requirement::ElfHeader);
}

/// The compat image with `e_machine` set to `EM_AARCH64` (183): an ELF32 file for aarch64 is
/// not the compat image either.
fn elf32_for_aarch64(img: &[u8]) -> Vec<u8> {
    let mut aarch64 = img.to_vec();
    aarch64[18..20].copy_from_slice(&183u16.to_le_bytes());
    aarch64
}

rejects! {
    compat_checker_rejects_another_machine(COMPAT):
        broken::machine_x86_64 => ElfHeader,
        elf32_for_aarch64 => ElfHeader,
        broken::type_exec => ElfHeader;
    compat_checker_rejects_an_extra_export(COMPAT):
        |img| broken::extra_export_aliasing(img, "__vdso_clock_gettime") => Exports;
    compat_checker_rejects_an_export_under_another_name(COMPAT):
        |img| broken::symbol_renamed(img, "__vdso_clock_gettime", "__vdso_clock_settime")
            => Exports;
    compat_checker_rejects_an_export_that_is_not_a_function(COMPAT):
        |img| broken::symbol_not_a_function(img, "__vdso_clock_getres") => Exports;
    compat_checker_rejects_an_undefined_symbol(COMPAT):
        |img| broken::symbol_undefined(img, "__vdso_gettimeofday") => NoUndefinedSymbols;
    compat_checker_rejects_a_gnu_hash_table(COMPAT): broken::with_gnu_hash => NoGnuHash;
    compat_checker_rejects_a_missing_dt_hash(COMPAT): broken::without_dt_hash => SysvHash;
    compat_checker_rejects_writable_segments(COMPAT):
        broken::load_writable => NoWritableSegment,
        broken::dynamic_writable => NoWritableSegment;
    compat_checker_rejects_a_load_segment_that_is_not_executable(COMPAT):
        broken::load_not_executable => OneLoadSegment;
    compat_checker_rejects_bad_segments(COMPAT):
        |img| broken::segment_retyped(img, PT_NOTE, PT_LOAD) => OneLoadSegment,
        |img| broken::segment_retyped(img, PT_NOTE, PT_INTERP) => ForbiddenSegment,
        |img| broken::segment_retyped(img, PT_NOTE, PT_TLS) => ForbiddenSegment,
        |img| broken::segment_retyped(img, PT_NOTE, PT_GNU_RELRO) => ForbiddenSegment,
        |img| broken::segment_retyped(img, PT_NOTE, PT_NULL) => NoteSegment,
        broken::dynamic_outside_load => DynamicInsideLoad;
    compat_checker_rejects_a_wrong_linux_2_6_hash_or_name(COMPAT):
        |img| broken::wrong_vd_hash(img, LINUX_2_6) => VersionDefinitions,
        broken::linux_2_6_renamed => VersionDefinitions,
        broken::without_linux_2_6 => VersionDefinitions,
        broken::without_dt_verdef => VersionDefinitions;
    compat_checker_rejects_relocations(COMPAT):
        broken::rela_relocation => NoRelocations,
        broken::relr_relocation => NoRelocations,
        broken::rela_section => NoRelocations;
    compat_checker_rejects_another_soname(COMPAT): broken::soname_changed => Soname;
    compat_checker_rejects_an_image_larger_than_a_page(COMPAT):
        broken::padded_past_page => Size,
        broken::load_larger_than_page => Size;
}

#[test]
fn compat_checker_rejects_every_broken_compat_image() {
    let img = image::load_compat();
    for (name, broken) in broken::compat_all(&img) {
        assert!(
            check_compat_image(&broken).is_err(),
            "check_compat_image accepted the broken copy {name}"
        );
    }
}

#[test]
fn compat_checker_survives_truncated_and_corrupted_images() {
    COMPAT.survives_truncated_and_corrupted(broken::compat_all(&(COMPAT.load)()));
}

/// rustix refuses an image whose `DT_SYMENT` is not `sizeof(Elf*_Sym)`
/// (24 for ELF64, 16 for ELF32): so does the checker, for both images.
#[test]
fn checkers_reject_a_symbol_entry_size_that_is_not_the_classs() {
    use vdso_tests::elf::DT_SYMENT;
    AARCH64.assert_rejects(
        &broken::dynamic_value_changed(&image::load(), DT_SYMENT, 16),
        Requirement::Exports,
    );
    COMPAT.assert_rejects(
        &broken::dynamic_value_changed(&image::load_compat(), DT_SYMENT, 24),
        Requirement::Exports,
    );
}
