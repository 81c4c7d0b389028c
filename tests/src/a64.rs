//! Which fields of an A64 instruction word name general-purpose registers.
//!
//! The vDSO must never touch x18, the platform register (image rule 9, ARCHITECTURE.md). `objdump`
//! is the first check; this decoder is the second, tool-free one. It follows the top-level encoding
//! tables of the Arm Architecture Reference Manual (DDI 0487, "A64 Instruction Set Encoding": data
//! processing – immediate, branches/exception/system, loads and stores, data processing – register,
//! SIMD and floating point) down to the level where the position and meaning of every register
//! field is fixed, and reports the general-purpose register numbers found in those fields (31 is SP
//! or ZR, depending on the instruction; it never matters here).
//!
//! It never guesses: a word from a class it does not model (SVE, SME, unallocated space, newer
//! load/store forms) gives `None`, and the caller must treat that as "cannot tell". SIMD and FP
//! register fields (`Vn`, `Qt`, ...) are not general-purpose registers and are not reported;
//! prefetch operations (`PRFM`, whose `Rt` field is an operation code) are not either.

/// The `Rd`/`Rt` field, bits \[4:0\].
fn rd(w: u32) -> u8 {
    (w & 31) as u8
}

/// The `Rn` field, bits \[9:5\].
fn rn(w: u32) -> u8 {
    ((w >> 5) & 31) as u8
}

/// The `Rm`/`Rs` field, bits \[20:16\].
fn rm(w: u32) -> u8 {
    ((w >> 16) & 31) as u8
}

/// The `Ra`/`Rt2` field, bits \[14:10\].
fn ra(w: u32) -> u8 {
    ((w >> 10) & 31) as u8
}

/// Bit `n` of `w`.
fn bit(w: u32, n: u32) -> u32 {
    (w >> n) & 1
}

/// The general-purpose registers named by the instruction `w`, or `None` if this decoder does
/// not model its encoding class.
pub fn gp_registers(w: u32) -> Option<Vec<u8>> {
    match (w >> 25) & 0xf {
        // Reserved space: only UDF (bits [31:16] all zero) is allocated, with no registers.
        0b0000 => (w >> 16 == 0).then(Vec::new),
        0b1000 | 0b1001 => Some(data_processing_immediate(w)),
        0b1010 | 0b1011 => branch_exception_system(w),
        0b0100 | 0b0110 | 0b1100 | 0b1110 => load_store(w),
        0b0101 | 0b1101 => data_processing_register(w),
        0b0111 | 0b1111 => simd_fp(w),
        // SVE (0010), SME and unallocated space.
        _ => None,
    }
}

/// Whether `w` names x18 or w18 in a general-purpose register field: `None` if undecodable.
pub fn uses_x18(w: u32) -> Option<bool> {
    gp_registers(w).map(|regs| regs.contains(&18))
}

/// Data processing – immediate, selected by bits \[25:23\].
fn data_processing_immediate(w: u32) -> Vec<u8> {
    match (w >> 23) & 7 {
        // ADR, ADRP.
        0b000 | 0b001 => vec![rd(w)],
        // ADD/SUB (immediate) 010; ADDG/SUBG and MIN/MAX (immediate) 011; logical
        // (immediate) 100.
        0b010..=0b100 => vec![rd(w), rn(w)],
        // MOVN/MOVZ/MOVK.
        0b101 => vec![rd(w)],
        // Bitfield (SBFM/BFM/UBFM).
        0b110 => vec![rd(w), rn(w)],
        // EXTR.
        _ => vec![rd(w), rn(w), rm(w)],
    }
}

/// Branches, exception generation and system instructions, selected by bits \[31:29\].
fn branch_exception_system(w: u32) -> Option<Vec<u8>> {
    match w >> 29 {
        // B, BL.
        0b000 | 0b100 => Some(Vec::new()),
        // CBZ/CBNZ (bit 25 = 0) and TBZ/TBNZ (bit 25 = 1) test `Rt`.
        0b001 | 0b101 => Some(vec![rd(w)]),
        // B.cond / BC.cond (bits [31:24] = 0x54).
        0b010 if w >> 24 == 0x54 => Some(Vec::new()),
        0b110 => {
            let op1 = (w >> 12) & 0x3fff;
            if op1 >> 13 == 1 {
                // Unconditional branch (register): BR, BLR, RET and their pointer-auth forms
                // use `Rn`, and bits [4:0] (`Rm`, the modifier) or 00000/11111.
                Some(vec![rn(w), rd(w)])
            } else if op1 >> 12 == 0 {
                // Exception generation: SVC, HVC, SMC, BRK, HLT, DCPS.
                Some(Vec::new())
            } else {
                // System: hints, barriers and PSTATE writes have `Rt` = 11111; SYS/SYSL,
                // MRS/MSR and WFET/WFIT name `Rt`.
                Some(vec![rd(w)])
            }
        }
        _ => None,
    }
}

/// Whether a load/store with `size` (bits \[31:30\]), `V` (bit 26) and `opc` (bits \[23:22\])
/// is a prefetch, whose `Rt` field is an operation code rather than a register.
fn is_prefetch(w: u32) -> bool {
    w >> 30 == 0b11 && bit(w, 26) == 0 && (w >> 22) & 3 == 0b10
}

/// Loads and stores, by bits \[29:24\] and then the distinguishing bits of each class.
fn load_store(w: u32) -> Option<Vec<u8>> {
    let v = bit(w, 26);
    // `Rt` (and `Rt2`) are general-purpose only for the integer forms.
    let rt_if_gp = |regs: &mut Vec<u8>, rt: u8| {
        if v == 0 {
            regs.push(rt);
        }
    };
    match (w >> 24) & 0x3f {
        // Exclusive, ordered and compare-and-swap: Rs, Rt2, Rn, Rt (unused ones are 11111).
        0b00_1000 => Some(vec![rm(w), ra(w), rn(w), rd(w)]),
        // Advanced SIMD structures: Rn and, post-indexed (bit 23), Rm.
        0b00_1100 | 0b00_1101 => {
            let mut regs = vec![rn(w)];
            if bit(w, 23) == 1 {
                regs.push(rm(w));
            }
            Some(regs)
        }
        // Load register (literal): Rt only; PRFM (literal) has opc = 11, V = 0.
        0b01_1000 | 0b01_1100 => {
            let prfm = w >> 30 == 0b11 && v == 0;
            Some(if v == 0 && !prfm {
                vec![rd(w)]
            } else {
                Vec::new()
            })
        }
        0b01_1001 | 0b01_1101 => {
            if bit(w, 21) == 1 {
                // Memory tags (STG, LDG, ...: bits [31:24] = 0xd9): Xt, Xn.
                (w >> 24 == 0xd9).then(|| vec![rd(w), rn(w)])
            } else if (w >> 10) & 3 == 0b01 {
                // CPY*/SET*: Rd, Rn, Rs.
                Some(vec![rd(w), rn(w), rm(w)])
            } else if (w >> 10) & 3 == 0b00 {
                // LDAPUR/STLUR (unscaled, RCpc): Rn and, for the integer forms, Rt.
                let mut regs = vec![rn(w)];
                rt_if_gp(&mut regs, rd(w));
                Some(regs)
            } else {
                None
            }
        }
        // Load/store pair (no-allocate, post-index, offset, pre-index): Rn, Rt, Rt2.
        0b10_1000..=0b10_1111 => {
            let mut regs = vec![rn(w)];
            rt_if_gp(&mut regs, rd(w));
            rt_if_gp(&mut regs, ra(w));
            Some(regs)
        }
        // Load/store register, unsigned immediate: Rn, Rt.
        0b11_1001 | 0b11_1101 => {
            let mut regs = vec![rn(w)];
            if !is_prefetch(w) {
                rt_if_gp(&mut regs, rd(w));
            }
            Some(regs)
        }
        0b11_1000 | 0b11_1100 => {
            let op4 = (w >> 10) & 3;
            if bit(w, 21) == 0 {
                // Unscaled (LDUR/STUR/PRFUM), post-index, unprivileged, pre-index: Rn, Rt.
                let mut regs = vec![rn(w)];
                if !is_prefetch(w) {
                    rt_if_gp(&mut regs, rd(w));
                }
                Some(regs)
            } else if op4 == 0b00 {
                // Atomic memory operations (LDADD, SWP, LDAPR, ...): Rs, Rn, Rt.
                (v == 0).then(|| vec![rm(w), rn(w), rd(w)])
            } else if op4 == 0b10 {
                // Register offset (LDR Xt, [Xn, Xm]; PRFM): Rm, Rn, Rt.
                let mut regs = vec![rm(w), rn(w)];
                if !is_prefetch(w) {
                    rt_if_gp(&mut regs, rd(w));
                }
                Some(regs)
            } else {
                // LDRAA/LDRAB (pointer authentication): Rn, Rt.
                (v == 0).then(|| vec![rn(w), rd(w)])
            }
        }
        _ => None,
    }
}

/// Data processing – register: `op1` is bit 28 and `op2` bits \[24:21\].
fn data_processing_register(w: u32) -> Option<Vec<u8>> {
    if bit(w, 28) == 0 {
        // Logical (shifted register), add/sub (shifted or extended register): Rd, Rn, Rm.
        return Some(vec![rd(w), rn(w), rm(w)]);
    }
    match (w >> 21) & 0xf {
        0b0000 => match (w >> 10) & 0x3f {
            // ADC/SBC and their flag-setting forms.
            0b00_0000 => Some(vec![rd(w), rn(w), rm(w)]),
            // RMIF (bits [14:10] = 00001) and SETF8/SETF16 (bits [13:10] = 0010): Rn only.
            op3 if op3 & 0x1f == 0b0_0001 || op3 & 0xf == 0b0010 => Some(vec![rn(w)]),
            _ => None,
        },
        // Conditional compare: bit 11 selects immediate (bits [20:16] are imm5) or register.
        0b0010 => Some(if bit(w, 11) == 1 {
            vec![rn(w)]
        } else {
            vec![rn(w), rm(w)]
        }),
        // Conditional select (CSEL, CSINC, CSINV, CSNEG).
        0b0100 => Some(vec![rd(w), rn(w), rm(w)]),
        // Data processing (2 source) when bit 30 = 0; (1 source: bits [20:16] are an opcode)
        // when bit 30 = 1.
        0b0110 => Some(if bit(w, 30) == 0 {
            vec![rd(w), rn(w), rm(w)]
        } else {
            vec![rd(w), rn(w)]
        }),
        // Data processing (3 source): MADD, MSUB, SMULH, UMULH (Ra = 11111), ...
        0b1000..=0b1111 => Some(vec![rd(w), rn(w), rm(w), ra(w)]),
        _ => None,
    }
}

/// SIMD and floating point: only the transfers between general-purpose and SIMD&FP
/// registers name a general-purpose register.
fn simd_fp(w: u32) -> Option<Vec<u8>> {
    // Conversion between floating-point and integer (FMOV general, FCVT*, SCVTF, UCVTF):
    // `sf 0 S 11110 ftype 1 rmode opcode 000000 Rn Rd`.
    if w & 0x5f20_fc00 == 0x1e20_0000 {
        let opcode = (w >> 16) & 7;
        let to_integer = matches!(opcode, 0b000 | 0b001 | 0b100 | 0b101 | 0b110);
        return Some(vec![if to_integer { rd(w) } else { rn(w) }]);
    }
    // Conversion between floating-point and fixed-point: `sf 0 S 11110 ftype 0 rmode opcode
    // scale Rn Rd`; opcode 00x converts to an integer register, 01x from one.
    if w & 0x5f20_0000 == 0x1e00_0000 {
        let opcode = (w >> 16) & 7;
        return match opcode {
            0b000 | 0b001 => Some(vec![rd(w)]),
            0b010 | 0b011 => Some(vec![rn(w)]),
            _ => None,
        };
    }
    // Advanced SIMD copy: `0 Q op 01110000 imm5 0 imm4 1 Rn Rd`.
    if w & 0x9fe0_8400 == 0x0e00_0400 {
        if bit(w, 29) == 1 {
            // INS (element).
            return Some(Vec::new());
        }
        return match (w >> 11) & 0xf {
            // DUP (element).
            0b0000 => Some(Vec::new()),
            // DUP (general), INS (general).
            0b0001 | 0b0011 => Some(vec![rn(w)]),
            // SMOV, UMOV.
            0b0101 | 0b0111 => Some(vec![rd(w)]),
            _ => None,
        };
    }
    // Every other SIMD&FP instruction names only SIMD&FP registers.
    Some(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodings from the current image's disassembly and from the Arm ARM, with the registers
    /// `objdump` shows for them.
    #[test]
    fn decodes_known_encodings() {
        let cases: &[(u32, &str, &[u8])] = &[
            (0xd503_201f, "nop", &[31]),
            (0xd280_1168, "mov x8, #139", &[8]),
            (0xd400_0001, "svc #0", &[]),
            (0xd65f_03c0, "ret", &[30, 0]),
            (0xf940_0512, "ldr x18, [x8, #8]", &[8, 18]),
            (0xcb12_01c8, "sub x8, x14, x18", &[8, 14, 18]),
            (0x88df_fd0f, "ldar w15, [x8]", &[31, 31, 8, 15]),
            (0xd53b_e04e, "mrs x14, cntvct_el0", &[14]),
            (0xd503_3fdf, "isb", &[31]),
            (0xb400_0612, "cbz x18, ...", &[18]),
            (0xa900_203f, "stp xzr, x8, [x1]", &[1, 31, 8]),
            (0xd0ff_ffe8, "adrp x8, ...", &[8]),
            (0x5289_ca8a, "mov w10, #0x4e54", &[10]),
            (0x9bc8_7d28, "umulh x8, x9, x8", &[8, 9, 8, 31]),
            (0x3700_032f, "tbnz w15, #0, ...", &[15]),
            (0x5400_0368, "b.hi ...", &[]),
            (0x1400_000a, "b ...", &[]),
            (0x721b_053f, "tst w9, #0x60", &[31, 9]),
            (0x7a52_0a44, "ccmp w18, #18, #4, eq", &[18]),
            (0xfa52_1244, "ccmp x18, x18, #4, ne", &[18, 18]),
            (0x4e08_1e40, "mov v0.d[0], x18", &[18]),
            (0x9e66_0012, "fmov x18, d0", &[18]),
            (0x9e67_0240, "fmov d0, x18", &[18]),
            (0xf980_0240, "prfm pldl1keep, [x18]", &[18]),
            (0xf980_0112, "prfm pstl2keep, [x8]", &[8]),
            (0xad40_4a40, "ldp q0, q18, [x18]", &[18]),
            (0x0000_0000, "udf #0", &[]),
        ];
        for &(word, text, regs) in cases {
            assert_eq!(
                gp_registers(word).as_deref(),
                Some(regs),
                "{word:#010x} ({text})"
            );
        }
    }

    #[test]
    fn does_not_guess_outside_the_modelled_classes() {
        // SVE `add z0.d, z0.d, z0.d` and a reserved non-UDF word.
        assert_eq!(gp_registers(0x04e0_0000), None);
        assert_eq!(gp_registers(0x0001_0000), None);
    }
}
