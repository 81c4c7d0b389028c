//! `scale()`: the counter product at its edges.

use super::*;

#[test]
fn scale_with_shift_zero_is_a_plain_multiply_add() {
    assert_eq!(scale(1_400, 400, u64::MAX, 3, 0, 7), Some(3_007));
    assert_eq!(scale(400, 400, u64::MAX, 3, 0, 7), Some(7));
    assert_eq!(scale(401, 400, u64::MAX, 1, 0, 0), Some(1));
}

#[test]
fn scale_with_shift_63_keeps_only_multiples_of_two_to_the_63() {
    // 2^63 >> 63 = 1, and one less is 0.
    assert_eq!(scale(1 << 32, 0, u64::MAX, 1 << 31, 63, 0), Some(1));
    assert_eq!(
        scale((1 << 32) - 1, 0, u64::MAX, 1 << 31, 63, (1 << 31) - 1),
        Some(0)
    );
    // (2^63 + 2^64 - 1) >> 63 = 2.
    assert_eq!(scale(1 << 32, 0, u64::MAX, 1 << 31, 63, u64::MAX), Some(2));
    // The largest forward delta (half the mask) with the largest mult.
    let delta = u64::MAX >> 1;
    let want = (u128::from(delta) * u128::from(u32::MAX) + u128::from(u64::MAX)) >> 63;
    assert_eq!(
        scale(delta, 0, u64::MAX, u32::MAX.into(), 63, u64::MAX).map(u128::from),
        Some(want)
    );
}

#[test]
fn scale_with_maximal_inputs_does_not_overflow() {
    // The largest delta served is half the mask (larger means the counter is
    // behind `cycle_last`). (2^63 - 1)(2^32 - 1) + 2^64 - 1 = 2^95 + 2^63 - 2^32,
    // which a 64-bit product cannot hold; shifted by 32 it is 2^63 + 2^31 - 1.
    let delta = u64::MAX >> 1;
    assert_eq!(
        linux_64_bit_product(delta, u32::MAX, u64::MAX),
        None,
        "Linux's product would overflow here"
    );
    assert_eq!(
        scale(delta, 0, u64::MAX, u32::MAX.into(), 32, u64::MAX),
        Some((1 << 63) + (1 << 31) - 1)
    );
    // The same through the wrap-around of `cycles - last`.
    assert_eq!(
        scale(4, (1 << 63) + 5, u64::MAX, u32::MAX.into(), 32, u64::MAX),
        Some((1 << 63) + (1 << 31) - 1)
    );
    // And against a u128 reference over a spread of large inputs.
    for (delta, mult, shift, nsec) in [
        (u64::MAX >> 1, u64::from(u32::MAX), 40, 0),
        (1 << 62, 1 << 31, 33, 12_345),
        (0xdead_beef_cafe, 0x8765_4321, 24, 0x1234_5678_9abc),
    ] {
        let want = (u128::from(delta) * u128::from(mult) + u128::from(nsec)) >> shift;
        assert_eq!(
            scale(delta, 0, u64::MAX, mult, shift, nsec).map(u128::from),
            Some(want)
        );
    }
}

#[test]
fn scale_falls_back_when_the_result_does_not_fit_in_64_bits() {
    // 584 years of nanoseconds or more, from a forward delta a hostile page
    // can produce. A truncated result would be a wrong time; the syscall
    // must answer instead.
    let delta = u64::MAX >> 1;
    assert_eq!(
        scale(delta, 0, u64::MAX, u32::MAX.into(), 30, u64::MAX),
        None
    );
    assert_eq!(scale(delta, 0, u64::MAX, 4, 0, 0), None);
    assert_eq!(scale(delta, 0, u64::MAX, 2, 0, 2), None);
    // The largest result that fits is still served: 2(2^63 - 1) + 1.
    assert_eq!(scale(delta, 0, u64::MAX, 2, 0, 1), Some(u64::MAX));

    // Through clock_gettime: a 64-bit counter one cycle behind `cycle_last`
    // is a delta of 2^64 - 1 cycles, thousands of years.
    let mut tk = timekeeper();
    tk.tkr_mono.mask = u64::MAX;
    let page = page_with(&tk);
    let counter = SimCounter::new(CYCLE_LAST - 1);
    assert_eq!(clock_gettime(&page, REALTIME, &counter), None);
}

#[test]
fn counter_behind_cycle_last_falls_back_instead_of_jumping_decades_ahead() {
    // A counter read a little before the writer's (qemu-user's counter
    // follows the host's wall clock, which can step back) would be a masked
    // delta of almost 2^56 cycles: 36 years at 62.5 MHz. Linux's arm64
    // reader returns that time; ours asks the syscall.
    assert_eq!(scale(999, 1_000, MASK_56, 1, 0, 0), None);
    assert_eq!(scale(0, 1 << 55, MASK_56, 1, 0, 0), None, "delta 2^55");
    assert_eq!(
        scale((1 << 55) - 1, 0, MASK_56, 1, 0, 0),
        Some((1 << 55) - 1),
        "half the mask is the largest forward delta"
    );
    let tk = timekeeper();
    let page = page_with(&tk);
    for clock in [REALTIME, MONOTONIC, MONOTONIC_RAW, BOOTTIME, TAI] {
        let counter = SimCounter::new(CYCLE_LAST - 1);
        assert_eq!(clock_gettime(&page, clock, &counter), None, "clock {clock}");
    }
}

#[test]
fn scale_masks_the_counter_delta() {
    let last = MASK_56 - 9;
    assert_eq!(scale(5, last, MASK_56, 1, 0, 0), Some(15));
    assert_eq!(scale((0xff << 56) | 5, last, MASK_56, 1, 0, 0), Some(15));
    assert_eq!(scale(5, u64::MAX - 9, u64::MAX, 16, 0, 0), Some(240));
    // A 32-bit counter.
    assert_eq!(
        scale(0x1_0000_0002, 0xffff_ffff, 0xffff_ffff, 1, 0, 0),
        Some(3)
    );
}

#[test]
fn scale_rejects_fields_a_kernel_never_writes() {
    assert_eq!(scale(10, 0, u64::MAX, 0, 0, 0), None, "mult 0");
    assert_eq!(scale(10, 0, 0, 1, 0, 0), None, "mask 0");
    for shift in [64, 65, 127, 128, u64::from(u32::MAX), u64::MAX] {
        assert_eq!(scale(10, 0, u64::MAX, 1, shift, 0), None, "shift {shift}");
    }
    assert_eq!(scale(10, 0, u64::MAX, 1, 63, 1 << 63), Some(1), "shift 63");
}
