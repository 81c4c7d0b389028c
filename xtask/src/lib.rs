//! Library side of `cargo xtask`: the image checker, shared with the
//! conformance tests (which feed it images broken on purpose).

pub mod check;
