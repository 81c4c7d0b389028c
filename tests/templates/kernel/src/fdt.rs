//! The one thing the kernel reads from the device tree: the command line
//! (`/chosen/bootargs`, qemu's `-append`).

/// The flattened device tree's magic number.
const MAGIC: u32 = 0xd00d_feed;
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;

fn be32(blob: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        blob.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn cstr(blob: &[u8], at: usize) -> Option<&[u8]> {
    let rest = blob.get(at..)?;
    Some(&rest[..rest.iter().position(|&b| b == 0)?])
}

/// `/chosen/bootargs` of the device tree in `blob`, if there is one.
pub fn bootargs(blob: &[u8]) -> Option<&str> {
    if be32(blob, 0)? != MAGIC {
        return None;
    }
    let size = (be32(blob, 4)? as usize).min(blob.len());
    let blob = &blob[..size];
    let structs = be32(blob, 8)? as usize;
    let strings = be32(blob, 12)? as usize;
    let mut at = structs;
    let mut depth = 0usize;
    let mut in_chosen = false;
    loop {
        let token = be32(blob, at)?;
        at += 4;
        match token {
            BEGIN_NODE => {
                let name = cstr(blob, at)?;
                at = (at + name.len() + 1).next_multiple_of(4);
                depth += 1;
                in_chosen = depth == 2 && name == b"chosen";
            }
            END_NODE => {
                depth = depth.checked_sub(1)?;
                in_chosen = false;
            }
            PROP => {
                let len = be32(blob, at)? as usize;
                let name = cstr(blob, strings + be32(blob, at + 4)? as usize)?;
                let value = blob.get(at + 8..at + 8 + len)?;
                at = (at + 8 + len).next_multiple_of(4);
                if in_chosen && name == b"bootargs" {
                    let value = value.split(|&b| b == 0).next()?;
                    return core::str::from_utf8(value).ok();
                }
            }
            NOP => {}
            _ => return None, // FDT_END or garbage
        }
    }
}
