//! The image checker that `cargo xtask build-vdso` runs (`xtask::check::check_image`) accepts
//! the committed image and rejects each broken copy with the requirement it breaks.
//!
//! The broken images come from `vdso_tests::image::broken`; each test asserts that the
//! expected requirement is among the violations (breaking one thing may break others too:
//! a `PT_NOTE` turned into `PT_TLS` is also a missing note).

use std::panic::{catch_unwind, AssertUnwindSafe};

use vdso_tests::elf::{PT_GNU_RELRO, PT_INTERP, PT_LOAD, PT_NOTE, PT_NULL, PT_TLS};
use vdso_tests::image::{self, broken, LINUX_2_6, LINUX_2_6_39};
use xtask::check::{check_image, Requirement};

/// Asserts that the checker rejects `img`, naming `expected` among the violations.
fn assert_rejects(img: &[u8], expected: Requirement) {
    match check_image(img) {
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
