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

/// Asserts that the checker rejects `img`, naming `expected` among the violations.
fn assert_rejects(img: &[u8], expected: Requirement) {
    assert_rejected_by(check_image, img, expected);
}

/// Asserts that the compat checker rejects `img`, naming `expected` among the violations.
fn assert_compat_rejects(img: &[u8], expected: Requirement) {
    assert_rejected_by(check_compat_image, img, expected);
}

type Check = fn(&[u8]) -> Result<xtask::check::Report, Vec<xtask::check::Violation>>;

/// Asserts that `check` rejects `img`, naming `expected` among the violations.
fn assert_rejected_by(check: Check, img: &[u8], expected: Requirement) {
    match check(img) {
        Ok(report) => panic!("the checker accepted an image breaking {expected:?}: {report:#?}"),
        Err(violations) => assert!(
            violations.iter().any(|v| v.requirement == expected),
            "expected a {expected:?} violation, got:\n{}",
            violations
                .iter()
                .map(|v| format!("  {:?}: {}", v.requirement, v.detail))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
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
            Requirement::Size => "checker_rejects_an_image_larger_than_a_page",
            Requirement::Bti => "checker_rejects_an_image_without_the_bti_property",
        };
        assert!(!test.is_empty(), "{r:?}");
    }
}

// §1.1

#[test]
fn checker_rejects_another_machine() {
    assert_rejects(
        &broken::machine_x86_64(&image::load()),
        Requirement::ElfHeader,
    );
}

#[test]
fn checker_rejects_an_executable() {
    assert_rejects(&broken::type_exec(&image::load()), Requirement::ElfHeader);
}

// §1.2

#[test]
fn checker_rejects_a_second_load_segment() {
    let img = broken::segment_retyped(&image::load(), PT_NOTE, PT_LOAD);
    assert_rejects(&img, Requirement::OneLoadSegment);
}

#[test]
fn checker_rejects_a_load_segment_that_is_not_executable() {
    assert_rejects(
        &broken::load_not_executable(&image::load()),
        Requirement::OneLoadSegment,
    );
}

#[test]
fn checker_rejects_a_writable_load_segment() {
    assert_rejects(
        &broken::load_writable(&image::load()),
        Requirement::NoWritableSegment,
    );
}

#[test]
fn checker_rejects_a_writable_dynamic_segment() {
    assert_rejects(
        &broken::dynamic_writable(&image::load()),
        Requirement::NoWritableSegment,
    );
}

#[test]
fn checker_rejects_interp_tls_and_relro_segments() {
    let img = image::load();
    for kind in [PT_INTERP, PT_TLS, PT_GNU_RELRO] {
        assert_rejects(
            &broken::segment_retyped(&img, PT_NOTE, kind),
            Requirement::ForbiddenSegment,
        );
    }
}

#[test]
fn checker_rejects_a_missing_note_segment() {
    let img = broken::segment_retyped(&image::load(), PT_NOTE, PT_NULL);
    assert_rejects(&img, Requirement::NoteSegment);
}

#[test]
fn checker_rejects_a_dynamic_segment_outside_the_load() {
    assert_rejects(
        &broken::dynamic_outside_load(&image::load()),
        Requirement::DynamicInsideLoad,
    );
}

// §1.3

#[test]
fn checker_rejects_a_rela_relocation() {
    assert_rejects(
        &broken::rela_relocation(&image::load()),
        Requirement::NoRelocations,
    );
}

#[test]
fn checker_rejects_a_relr_relocation() {
    assert_rejects(
        &broken::relr_relocation(&image::load()),
        Requirement::NoRelocations,
    );
}

#[test]
fn checker_rejects_a_rela_section() {
    assert_rejects(
        &broken::rela_section(&image::load()),
        Requirement::NoRelocations,
    );
}

#[test]
fn checker_rejects_an_undefined_symbol() {
    assert_rejects(
        &broken::undefined_symbol(&image::load()),
        Requirement::NoUndefinedSymbols,
    );
}

// §1.4

#[test]
fn checker_rejects_a_missing_dt_hash() {
    assert_rejects(
        &broken::without_dt_hash(&image::load()),
        Requirement::SysvHash,
    );
}

#[test]
fn checker_rejects_a_gnu_hash_table() {
    assert_rejects(
        &broken::with_gnu_hash(&image::load()),
        Requirement::NoGnuHash,
    );
}

#[test]
fn checker_rejects_a_hash_table_where_go_1_19_misses_kernel_clock_gettime() {
    assert_rejects(
        &broken::go_bucket_without_kernel_clock_gettime(&image::load()),
        Requirement::GoHashChain,
    );
}

// §1.5

#[test]
fn checker_rejects_another_soname() {
    assert_rejects(&broken::soname_changed(&image::load()), Requirement::Soname);
}

#[test]
fn checker_rejects_a_missing_linux_2_6_node() {
    assert_rejects(
        &broken::without_linux_2_6(&image::load()),
        Requirement::VersionDefinitions,
    );
}

#[test]
fn checker_rejects_a_renamed_linux_2_6_node() {
    assert_rejects(
        &broken::linux_2_6_renamed(&image::load()),
        Requirement::VersionDefinitions,
    );
}

#[test]
fn checker_rejects_a_wrong_vd_hash() {
    let img = image::load();
    for version in [LINUX_2_6_39, LINUX_2_6] {
        assert_rejects(
            &broken::wrong_vd_hash(&img, version),
            Requirement::VersionDefinitions,
        );
    }
}

#[test]
fn checker_rejects_a_missing_dt_verdef() {
    assert_rejects(
        &broken::without_dt_verdef(&image::load()),
        Requirement::VersionDefinitions,
    );
}

// §1.6

#[test]
fn checker_rejects_an_extra_export() {
    assert_rejects(&broken::extra_export(&image::load()), Requirement::Exports);
}

#[test]
fn checker_rejects_an_export_that_is_not_a_function() {
    assert_rejects(
        &broken::export_not_a_function(&image::load()),
        Requirement::Exports,
    );
}

#[test]
fn checker_rejects_a_weak_export() {
    assert_rejects(&broken::export_weak(&image::load()), Requirement::Exports);
}

// §1.7

#[test]
fn checker_rejects_a_corrupted_sigreturn() {
    assert_rejects(
        &broken::sigreturn_corrupted(&image::load()),
        Requirement::Sigreturn,
    );
}

#[test]
fn checker_rejects_a_sigreturn_without_the_nop_before_it() {
    assert_rejects(
        &broken::sigreturn_without_nop(&image::load()),
        Requirement::Sigreturn,
    );
}

// §1.8

#[test]
fn checker_rejects_an_image_larger_than_a_page() {
    assert_rejects(&broken::padded_past_page(&image::load()), Requirement::Size);
}

#[test]
fn checker_rejects_a_load_segment_larger_than_a_page() {
    assert_rejects(
        &broken::load_larger_than_page(&image::load()),
        Requirement::Size,
    );
}

// BTI (SECURITY.md)

#[test]
fn checker_rejects_an_image_without_the_bti_property() {
    assert_rejects(
        &broken::bti_property_cleared(&image::load()),
        Requirement::Bti,
    );
}

#[test]
fn checker_rejects_an_entry_without_a_landing_pad() {
    assert_rejects(
        &broken::landing_pad_removed(&image::load()),
        Requirement::Bti,
    );
}

#[test]
fn checker_rejects_an_indirect_branch_in_the_code() {
    assert_rejects(
        &broken::indirect_branch_added(&image::load()),
        Requirement::Bti,
    );
}

// Robustness

/// Fails, naming `what`, if the checker panics on `img`.
fn survive(what: &str, img: &[u8]) {
    let r = catch_unwind(AssertUnwindSafe(|| check_image(img).is_ok()));
    assert!(r.is_ok(), "check_image panicked on {what}");
}

#[test]
fn checker_survives_truncated_and_corrupted_images() {
    let img = image::load();
    for len in 0..img.len() {
        survive(&format!("the first {len} bytes"), &img[..len]);
    }
    let mut copy = img.clone();
    for i in 0..img.len() {
        for value in [0x00, 0xff, img[i] ^ 0x80] {
            copy[i] = value;
            survive(&format!("byte {i:#x} = {value:#04x}"), &copy);
        }
        copy[i] = img[i];
    }
    for (name, broken) in broken::all(&img) {
        survive(name, &broken);
    }
    survive("a page of zeros", &[0; 4096]);
    survive("a page of 0xff", &[0xff; 4096]);
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
    assert_compat_rejects(&image::load(), Requirement::ElfHeader);
    assert_rejects(&image::load_compat(), Requirement::ElfHeader);
}

#[test]
fn compat_checker_rejects_another_machine() {
    let img = image::load_compat();
    assert_compat_rejects(&broken::machine_x86_64(&img), Requirement::ElfHeader);
    // An ELF32 file for EM_AARCH64 (183) is not the compat image either.
    let mut aarch64 = img.clone();
    aarch64[18..20].copy_from_slice(&183u16.to_le_bytes());
    assert_compat_rejects(&aarch64, Requirement::ElfHeader);
    assert_compat_rejects(&broken::type_exec(&img), Requirement::ElfHeader);
}

#[test]
fn compat_checker_rejects_an_extra_export() {
    let img = image::load_compat();
    assert_compat_rejects(
        &broken::extra_export_aliasing(&img, "__vdso_clock_gettime"),
        Requirement::Exports,
    );
}

#[test]
fn compat_checker_rejects_an_export_under_another_name() {
    let img = image::load_compat();
    assert_compat_rejects(
        &broken::symbol_renamed(&img, "__vdso_clock_gettime", "__vdso_clock_settime"),
        Requirement::Exports,
    );
}

#[test]
fn compat_checker_rejects_an_export_that_is_not_a_function() {
    let img = image::load_compat();
    assert_compat_rejects(
        &broken::symbol_not_a_function(&img, "__vdso_clock_getres"),
        Requirement::Exports,
    );
}

#[test]
fn compat_checker_rejects_an_undefined_symbol() {
    let img = image::load_compat();
    assert_compat_rejects(
        &broken::symbol_undefined(&img, "__vdso_gettimeofday"),
        Requirement::NoUndefinedSymbols,
    );
}

#[test]
fn compat_checker_rejects_a_gnu_hash_table() {
    assert_compat_rejects(
        &broken::with_gnu_hash(&image::load_compat()),
        Requirement::NoGnuHash,
    );
}

#[test]
fn compat_checker_rejects_a_missing_dt_hash() {
    assert_compat_rejects(
        &broken::without_dt_hash(&image::load_compat()),
        Requirement::SysvHash,
    );
}

#[test]
fn compat_checker_rejects_writable_segments() {
    let img = image::load_compat();
    assert_compat_rejects(&broken::load_writable(&img), Requirement::NoWritableSegment);
    assert_compat_rejects(
        &broken::dynamic_writable(&img),
        Requirement::NoWritableSegment,
    );
}

#[test]
fn compat_checker_rejects_a_load_segment_that_is_not_executable() {
    assert_compat_rejects(
        &broken::load_not_executable(&image::load_compat()),
        Requirement::OneLoadSegment,
    );
}

#[test]
fn compat_checker_rejects_bad_segments() {
    let img = image::load_compat();
    assert_compat_rejects(
        &broken::segment_retyped(&img, PT_NOTE, PT_LOAD),
        Requirement::OneLoadSegment,
    );
    for kind in [PT_INTERP, PT_TLS, PT_GNU_RELRO] {
        assert_compat_rejects(
            &broken::segment_retyped(&img, PT_NOTE, kind),
            Requirement::ForbiddenSegment,
        );
    }
    assert_compat_rejects(
        &broken::segment_retyped(&img, PT_NOTE, PT_NULL),
        Requirement::NoteSegment,
    );
    assert_compat_rejects(
        &broken::dynamic_outside_load(&img),
        Requirement::DynamicInsideLoad,
    );
}

#[test]
fn compat_checker_rejects_a_wrong_linux_2_6_hash_or_name() {
    let img = image::load_compat();
    assert_compat_rejects(
        &broken::wrong_vd_hash(&img, LINUX_2_6),
        Requirement::VersionDefinitions,
    );
    assert_compat_rejects(
        &broken::linux_2_6_renamed(&img),
        Requirement::VersionDefinitions,
    );
    assert_compat_rejects(
        &broken::without_linux_2_6(&img),
        Requirement::VersionDefinitions,
    );
    assert_compat_rejects(
        &broken::without_dt_verdef(&img),
        Requirement::VersionDefinitions,
    );
}

#[test]
fn compat_checker_rejects_relocations() {
    let img = image::load_compat();
    assert_compat_rejects(&broken::rela_relocation(&img), Requirement::NoRelocations);
    assert_compat_rejects(&broken::relr_relocation(&img), Requirement::NoRelocations);
    assert_compat_rejects(&broken::rela_section(&img), Requirement::NoRelocations);
}

#[test]
fn compat_checker_rejects_another_soname() {
    assert_compat_rejects(
        &broken::soname_changed(&image::load_compat()),
        Requirement::Soname,
    );
}

#[test]
fn compat_checker_rejects_an_image_larger_than_a_page() {
    let img = image::load_compat();
    assert_compat_rejects(&broken::padded_past_page(&img), Requirement::Size);
    assert_compat_rejects(&broken::load_larger_than_page(&img), Requirement::Size);
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
    let survive = |what: &str, img: &[u8]| {
        let r = catch_unwind(AssertUnwindSafe(|| check_compat_image(img).is_ok()));
        assert!(r.is_ok(), "check_compat_image panicked on {what}");
    };
    let img = image::load_compat();
    for len in 0..img.len() {
        survive(&format!("the first {len} bytes"), &img[..len]);
    }
    let mut copy = img.clone();
    for i in 0..img.len() {
        for value in [0x00, 0xff, img[i] ^ 0x80] {
            copy[i] = value;
            survive(&format!("byte {i:#x} = {value:#04x}"), &copy);
        }
        copy[i] = img[i];
    }
    survive("a page of zeros", &[0; 4096]);
}

/// rustix refuses an image whose `DT_SYMENT` is not `sizeof(Elf*_Sym)`
/// (24 for ELF64, 16 for ELF32): so does the checker, for both images.
#[test]
fn checkers_reject_a_symbol_entry_size_that_is_not_the_classs() {
    use vdso_tests::elf::DT_SYMENT;
    assert_rejects(
        &broken::dynamic_value_changed(&image::load(), DT_SYMENT, 16),
        Requirement::Exports,
    );
    assert_compat_rejects(
        &broken::dynamic_value_changed(&image::load_compat(), DT_SYMENT, 24),
        Requirement::Exports,
    );
}
