//! Broken copies of the image, each violating one requirement on purpose.
//!
//! Every function takes the real image and returns a copy with one thing wrong, for the
//! negative tests: the image checker must reject each, and the client parsers must survive
//! each. They locate what they change through the image's own headers (a file-offset
//! [`Layout`]), so they keep working when the image is rebuilt.
//!
//! The layout reads either ELF class (from `e_ident[EI_CLASS]`), so the same functions break
//! the 32-bit compat image too, except those that name a symbol only the aarch64 image has
//! (`__kernel_*`) or aarch64 code (sigreturn, BTI); [`extra_export_aliasing`] and
//! [`compat_all`] are the class-neutral forms.
//!
//! # Panics
//!
//! Each function panics, naming what it looked for, if the real image lacks the structure it
//! breaks (for example no `PT_NOTE`): that is a broken test set-up, not a finding.

use crate::elf::*;
use crate::hash::{
    elf_hash, gnu_hash_table_one_bucket, gnu_hash_table_one_bucket_elf32, sysv_hash_table,
};
use crate::image::{LINUX_2_6, PAGE_SIZE, SONAME};
use crate::mapping::Mapping;

/// `SHT_RELA`.
const SHT_RELA: u32 = 4;
/// `SHT_HASH`.
const SHT_HASH: u32 = 5;
/// `SHT_DYNSYM`.
const SHT_DYNSYM: u32 = 11;
/// `SHF_ALLOC`.
const SHF_ALLOC: u64 = 2;
/// `R_AARCH64_RELATIVE`.
const R_AARCH64_RELATIVE: u64 = 1027;
/// `R_ARM_RELATIVE`.
const R_ARM_RELATIVE: u64 = 23;

/// File offsets of the fields this module writes, within their structures, for one class.
#[derive(Debug, Clone, Copy)]
struct Fields {
    class: Class,
    /// `e_shoff`, `e_shnum`.
    e_shoff: u64,
    e_shnum: u64,
    /// `p_offset`, `p_vaddr`, `p_paddr`, `p_filesz`, `p_memsz`, `p_flags`.
    p_offset: u64,
    p_vaddr: u64,
    p_paddr: u64,
    p_filesz: u64,
    p_memsz: u64,
    p_flags: u64,
    /// `st_value`, `st_size`, `st_info`, `st_shndx`.
    st_value: u64,
    st_size: u64,
    st_info: u64,
    st_shndx: u64,
    /// `sizeof(Shdr)`, and `sh_addr`, `sh_offset`, `sh_size` in it.
    shdr_size: u64,
    sh_addr: u64,
    sh_offset: u64,
    sh_size: u64,
}

impl Fields {
    fn of(class: Class) -> Fields {
        match class {
            Class::Elf64 => Fields {
                class,
                e_shoff: 40,
                e_shnum: 60,
                p_offset: 8,
                p_vaddr: 16,
                p_paddr: 24,
                p_filesz: 32,
                p_memsz: 40,
                p_flags: 4,
                st_value: 8,
                st_size: 16,
                st_info: 4,
                st_shndx: 6,
                shdr_size: 64,
                sh_addr: 16,
                sh_offset: 24,
                sh_size: 32,
            },
            Class::Elf32 => Fields {
                class,
                e_shoff: 32,
                e_shnum: 48,
                p_offset: 4,
                p_vaddr: 8,
                p_paddr: 12,
                p_filesz: 16,
                p_memsz: 20,
                p_flags: 24,
                st_value: 4,
                st_size: 8,
                st_info: 12,
                st_shndx: 14,
                shdr_size: 40,
                sh_addr: 12,
                sh_offset: 16,
                sh_size: 20,
            },
        }
    }

    /// Writes an address-sized field (`Elf_Addr`, `Elf_Off`, `Elf_Xword`/`Elf32_Word`).
    fn put_word(&self, image: &mut [u8], offset: u64, value: u64) {
        match self.class {
            Class::Elf64 => put_u64(image, offset, value),
            Class::Elf32 => {
                let v = u32::try_from(value).expect("the value fits an ELF32 word");
                put_u32(image, offset, v);
            }
        }
    }

    /// Reads an address-sized field.
    fn word(&self, image: &[u8], offset: u64, what: &'static str) -> u64 {
        self.class
            .word(&Mapping::new(image, 0), offset, what)
            .expect(what)
    }

    /// Writes dynamic entry `index` of the array at `dynamic`.
    fn put_dyn(&self, image: &mut [u8], dynamic: u64, index: u64, tag: i64, val: u64) {
        let at = dynamic + index * Dyn::size(self.class);
        let w = self.class.word_size();
        match self.class {
            Class::Elf64 => put_u64(image, at, tag as u64),
            Class::Elf32 => put_u32(image, at, i32::try_from(tag).expect("an ELF32 tag") as u32),
        }
        self.put_word(image, at + w, val);
    }
}

/// Where things are in the file, read with the client-side readers at base 0 (so addresses
/// are file offsets).
#[derive(Debug, Clone)]
pub struct Layout {
    fields: Fields,
    ehdr: Ehdr,
    /// `(file offset, header)` for each program header.
    phdrs: Vec<(u64, Phdr)>,
    /// File offset of the dynamic array.
    dynamic: u64,
    /// Entries before `DT_NULL`.
    dyns: Vec<Dyn>,
    /// How many entries fit in `PT_DYNAMIC`'s `p_filesz`.
    dyn_slots: u64,
}

fn put_u16(image: &mut [u8], offset: u64, value: u16) {
    put(image, offset, &value.to_le_bytes());
}

fn put_u32(image: &mut [u8], offset: u64, value: u32) {
    put(image, offset, &value.to_le_bytes());
}

fn put_u64(image: &mut [u8], offset: u64, value: u64) {
    put(image, offset, &value.to_le_bytes());
}

fn put(image: &mut [u8], offset: u64, bytes: &[u8]) {
    let start = usize::try_from(offset).expect("offset fits in usize");
    image[start..start + bytes.len()].copy_from_slice(bytes);
}

impl Layout {
    /// Reads the layout of `image`.
    pub fn of(image: &[u8]) -> Layout {
        let m = Mapping::new(image, 0);
        let class = image
            .get(EI_CLASS)
            .and_then(|&c| Class::from_ident(c))
            .expect("ELFCLASS32 or ELFCLASS64");
        let ehdr = Ehdr::read_as(&m, 0, class).expect("an ELF header");
        let phdrs: Vec<(u64, Phdr)> = (0..u64::from(ehdr.e_phnum))
            .map(|i| {
                let off = ehdr.e_phoff + i * u64::from(ehdr.e_phentsize);
                (
                    off,
                    Phdr::read_as(&m, off, class).expect("a program header"),
                )
            })
            .collect();
        let dyn_phdr = phdrs
            .iter()
            .find(|p| p.1.p_type == PT_DYNAMIC)
            .expect("a PT_DYNAMIC segment")
            .1;
        let dynamic = dyn_phdr.p_offset;
        let dyn_slots = dyn_phdr.p_filesz / Dyn::size(class);
        let mut dyns = Vec::new();
        for i in 0..dyn_slots {
            let d =
                Dyn::read_as(&m, dynamic + i * Dyn::size(class), class).expect("a dynamic entry");
            if d.d_tag == DT_NULL {
                break;
            }
            dyns.push(d);
        }
        Layout {
            fields: Fields::of(class),
            ehdr,
            phdrs,
            dynamic,
            dyns,
            dyn_slots,
        }
    }

    /// The file offset and header of the first segment of type `p_type`.
    fn phdr(&self, p_type: u32) -> (u64, Phdr) {
        *self
            .phdrs
            .iter()
            .find(|p| p.1.p_type == p_type)
            .unwrap_or_else(|| panic!("no segment of type {p_type:#x}"))
    }

    /// The value of dynamic entry `tag`.
    fn dyn_val(&self, tag: i64) -> u64 {
        self.dyns
            .iter()
            .find(|d| d.d_tag == tag)
            .unwrap_or_else(|| panic!("no dynamic entry {tag:#x}"))
            .d_val
    }

    /// The file offset of virtual address `vaddr`, through the `PT_LOAD`.
    fn offset(&self, vaddr: u64) -> u64 {
        let load = self.phdr(PT_LOAD).1;
        vaddr - load.p_vaddr + load.p_offset
    }

    /// The NUL-terminated string at `offset`.
    fn string(image: &[u8], offset: u64) -> Vec<u8> {
        Mapping::new(image, 0)
            .c_str(offset, "a string")
            .expect("a string")
            .to_vec()
    }

    /// `(file offset of the entry, entry, name)` for every dynamic symbol; the count comes
    /// from the `DT_HASH` table's `nchain`.
    fn symbols(&self, image: &[u8]) -> Vec<(u64, Sym, Vec<u8>)> {
        let m = Mapping::new(image, 0);
        let strtab = self.offset(self.dyn_val(DT_STRTAB));
        let symtab = self.offset(self.dyn_val(DT_SYMTAB));
        let nchain = m
            .u32(self.offset(self.dyn_val(DT_HASH)) + 4, "nchain")
            .expect("a hash table");
        (0..u64::from(nchain))
            .map(|i| {
                let off = symtab + i * Sym::size(self.fields.class);
                let sym = Sym::read_as(&m, off, self.fields.class).expect("a symbol");
                let name = Self::string(image, strtab + u64::from(sym.st_name));
                (off, sym, name)
            })
            .collect()
    }

    /// The symbol called `name`.
    fn symbol(&self, image: &[u8], name: &str) -> (u64, Sym) {
        self.symbols(image)
            .into_iter()
            .find(|s| s.2 == name.as_bytes())
            .map(|s| (s.0, s.1))
            .unwrap_or_else(|| panic!("no symbol {name}"))
    }

    /// `(file offset, definition, name)` for every version definition.
    fn verdefs(&self, image: &[u8]) -> Vec<(u64, Verdef, Vec<u8>)> {
        let m = Mapping::new(image, 0);
        let strtab = self.offset(self.dyn_val(DT_STRTAB));
        let mut off = self.offset(self.dyn_val(DT_VERDEF));
        let mut out = Vec::new();
        loop {
            let d = Verdef::read(&m, off).expect("a version definition");
            let aux = Verdaux::read(&m, off + u64::from(d.vd_aux)).expect("a Verdaux");
            out.push((
                off,
                d,
                Self::string(image, strtab + u64::from(aux.vda_name)),
            ));
            if d.vd_next == 0 {
                return out;
            }
            off += u64::from(d.vd_next);
        }
    }

    /// `(file offset, sh_type, sh_name offset)` of each section header, and the file offset
    /// of `.shstrtab`.
    fn section_headers(&self, image: &[u8]) -> (Vec<(u64, u32, u32)>, u64) {
        let m = Mapping::new(image, 0);
        let f = self.fields;
        let headers: Vec<(u64, u32, u32)> = (0..u64::from(self.ehdr.e_shnum))
            .map(|i| {
                let off = self.ehdr.e_shoff + i * f.shdr_size;
                let name = m.u32(off, "sh_name").expect("a section header");
                let kind = m.u32(off + 4, "sh_type").expect("a section header");
                (off, kind, name)
            })
            .collect();
        let shstr_hdr = headers[usize::from(self.ehdr.e_shstrndx)].0;
        let shstrtab = f.word(image, shstr_hdr + f.sh_offset, "sh_offset of .shstrtab");
        (headers, shstrtab)
    }
}

/// Sets `p_flags` of the first segment of type `p_type` to `f(p_flags)`.
fn with_segment_flags(image: &[u8], p_type: u32, f: impl Fn(u32) -> u32) -> Vec<u8> {
    let layout = Layout::of(image);
    let (off, p) = layout.phdr(p_type);
    let mut out = image.to_vec();
    put_u32(&mut out, off + layout.fields.p_flags, f(p.p_flags));
    out
}

/// Changes the type of the first segment of type `from` to `to`.
pub fn segment_retyped(image: &[u8], from: u32, to: u32) -> Vec<u8> {
    let (off, _) = Layout::of(image).phdr(from);
    let mut out = image.to_vec();
    put_u32(&mut out, off, to);
    out
}

/// Appends `data` (aligned to `align`) to the file and grows the `PT_LOAD` to cover it;
/// returns the new image and the virtual address of the data.
fn append_in_load(image: &[u8], data: &[u8], align: usize) -> (Vec<u8>, u64) {
    let layout = Layout::of(image);
    let (off, load) = layout.phdr(PT_LOAD);
    let mut out = image.to_vec();
    out.resize(out.len().next_multiple_of(align), 0);
    let at = out.len() as u64;
    out.extend_from_slice(data);
    let size = out.len() as u64 - load.p_offset;
    let f = layout.fields;
    f.put_word(&mut out, off + f.p_filesz, size);
    f.put_word(&mut out, off + f.p_memsz, size);
    (out, at - load.p_offset + load.p_vaddr)
}

/// Adds dynamic entries in the free slots after `DT_NULL` (binutils leaves some), moving the
/// terminator after them.
pub fn with_dynamic_entries(image: &[u8], entries: &[(i64, u64)]) -> Vec<u8> {
    let layout = Layout::of(image);
    let used = layout.dyns.len() as u64;
    assert!(
        used + (entries.len() as u64) < layout.dyn_slots,
        "PT_DYNAMIC has no room for {} more entries",
        entries.len()
    );
    let mut out = image.to_vec();
    let f = layout.fields;
    for (i, &(tag, val)) in entries.iter().enumerate() {
        f.put_dyn(&mut out, layout.dynamic, used + i as u64, tag, val);
    }
    f.put_dyn(
        &mut out,
        layout.dynamic,
        used + entries.len() as u64,
        DT_NULL,
        0,
    );
    out
}

/// Removes dynamic entry `tag`, moving the later entries down.
pub fn without_dynamic_entry(image: &[u8], tag: i64) -> Vec<u8> {
    let layout = Layout::of(image);
    let kept: Vec<&Dyn> = layout.dyns.iter().filter(|d| d.d_tag != tag).collect();
    assert!(kept.len() < layout.dyns.len(), "no dynamic entry {tag:#x}");
    let mut out = image.to_vec();
    for (i, d) in kept
        .iter()
        .map(|d| (d.d_tag, d.d_val))
        .chain([(DT_NULL, 0), (DT_NULL, 0)])
        .enumerate()
    {
        layout
            .fields
            .put_dyn(&mut out, layout.dynamic, i as u64, d.0, d.1);
    }
    out
}

/// Dynamic entry `tag` gets the value `val`.
pub fn dynamic_value_changed(image: &[u8], tag: i64, val: u64) -> Vec<u8> {
    let layout = Layout::of(image);
    let index = layout
        .dyns
        .iter()
        .position(|d| d.d_tag == tag)
        .unwrap_or_else(|| panic!("no dynamic entry {tag:#x}")) as u64;
    let mut out = image.to_vec();
    layout
        .fields
        .put_dyn(&mut out, layout.dynamic, index, tag, val);
    out
}

/// The `PT_LOAD` segment is also writable (R+W+X).
pub fn load_writable(image: &[u8]) -> Vec<u8> {
    with_segment_flags(image, PT_LOAD, |f| f | PF_W)
}

/// The `PT_LOAD` segment is readable but not executable.
pub fn load_not_executable(image: &[u8]) -> Vec<u8> {
    with_segment_flags(image, PT_LOAD, |f| f & !PF_X)
}

/// The `PT_DYNAMIC` segment is marked writable.
pub fn dynamic_writable(image: &[u8]) -> Vec<u8> {
    with_segment_flags(image, PT_DYNAMIC, |f| f | PF_W)
}

/// One relative `Rela` entry pointing at `target`, in the class's layout: an
/// `R_AARCH64_RELATIVE` `Elf64_Rela` (24 bytes) or an `R_ARM_RELATIVE` `Elf32_Rela` (12).
fn relative_rela(class: Class, target: u64) -> Vec<u8> {
    match class {
        Class::Elf64 => [target, R_AARCH64_RELATIVE, 0]
            .into_iter()
            .flat_map(u64::to_le_bytes)
            .collect(),
        Class::Elf32 => [target, R_ARM_RELATIVE, 0]
            .into_iter()
            .flat_map(|w| (w as u32).to_le_bytes())
            .collect(),
    }
}

/// One relative relocation (`R_AARCH64_RELATIVE`, or `R_ARM_RELATIVE` in an ELF32 image),
/// announced by a `DT_RELA`/`DT_RELASZ` pair (and no `DT_RELAENT`, as the brief's "pair").
pub fn rela_relocation(image: &[u8]) -> Vec<u8> {
    let layout = Layout::of(image);
    let rela = relative_rela(layout.fields.class, layout.dyn_val(DT_HASH));
    let (out, at) = append_in_load(image, &rela, 8);
    with_dynamic_entries(&out, &[(DT_RELA, at), (DT_RELASZ, rela.len() as u64)])
}

/// One relative relocation in the compact `DT_RELR` form.
pub fn relr_relocation(image: &[u8]) -> Vec<u8> {
    let layout = Layout::of(image);
    let target = layout.dyn_val(DT_HASH);
    let w = layout.fields.class.word_size();
    let bytes = &target.to_le_bytes()[..w as usize];
    let (out, at) = append_in_load(image, bytes, 8);
    with_dynamic_entries(&out, &[(DT_RELR, at), (DT_RELRSZ, w), (DT_RELRENT, w)])
}

/// A `.rela.dyn` section (`SHT_RELA`, one `R_AARCH64_RELATIVE`) in the section headers, with
/// no dynamic tag announcing it: a tool that reads sections must still see it.
pub fn rela_section(image: &[u8]) -> Vec<u8> {
    let layout = Layout::of(image);
    let f = layout.fields;
    let (headers, shstrtab) = layout.section_headers(image);
    let shstr_hdr = headers[usize::from(layout.ehdr.e_shstrndx)].0;
    let shstr_size = f.word(image, shstr_hdr + f.sh_size, "sh_size of .shstrtab");
    let dynsym_index = headers
        .iter()
        .position(|h| h.1 == SHT_DYNSYM)
        .expect("a .dynsym section") as u32;
    let s = usize::try_from(shstrtab).expect("offset");
    let mut names = image[s..s + shstr_size as usize].to_vec();
    let name_offset = names.len() as u32;
    names.extend_from_slice(b".rela.dyn\0");

    // Copy the section headers to the end, add one, and point .shstrtab at a copy with the
    // new name.
    let mut out = image.to_vec();
    let start = usize::try_from(layout.ehdr.e_shoff).expect("offset");
    let table = image[start..start + headers.len() * f.shdr_size as usize].to_vec();
    out.resize(out.len().next_multiple_of(8), 0);
    let names_at = out.len() as u64;
    out.extend_from_slice(&names);
    out.resize(out.len().next_multiple_of(8), 0);
    let rela_at = out.len() as u64;
    let rela = relative_rela(f.class, layout.dyn_val(DT_HASH));
    out.extend_from_slice(&rela);
    let shoff = out.len() as u64;
    out.extend_from_slice(&table);
    // Elf{32,64}_Shdr: sh_name, sh_type, then sh_flags, sh_addr, sh_offset, sh_size as words,
    // sh_link, sh_info, then sh_addralign, sh_entsize as words.
    let word = |v: u64| v.to_le_bytes()[..f.class.word_size() as usize].to_vec();
    let mut new_header = Vec::with_capacity(f.shdr_size as usize);
    new_header.extend(name_offset.to_le_bytes());
    new_header.extend(SHT_RELA.to_le_bytes());
    new_header.extend(word(SHF_ALLOC));
    new_header.extend(word(0)); // sh_addr: not loaded.
    new_header.extend(word(rela_at));
    new_header.extend(word(rela.len() as u64)); // sh_size.
    new_header.extend(dynsym_index.to_le_bytes()); // sh_link.
    new_header.extend(0u32.to_le_bytes()); // sh_info.
    new_header.extend(word(8)); // sh_addralign.
    new_header.extend(word(rela.len() as u64)); // sh_entsize.
    out.extend_from_slice(&new_header);

    f.put_word(&mut out, f.e_shoff, shoff);
    put_u16(&mut out, f.e_shnum, layout.ehdr.e_shnum + 1);
    let new_shstr_hdr = shoff + u64::from(layout.ehdr.e_shstrndx) * f.shdr_size;
    f.put_word(&mut out, new_shstr_hdr + f.sh_offset, names_at);
    f.put_word(&mut out, new_shstr_hdr + f.sh_size, names.len() as u64);
    out
}

/// The `LINUX_2.6` node is unlinked from the version definitions (and `DT_VERDEFNUM`
/// decremented); the aliases' `.gnu.version` entries still point at its index.
pub fn without_linux_2_6(image: &[u8]) -> Vec<u8> {
    let layout = Layout::of(image);
    let defs = layout.verdefs(image);
    let at = defs
        .iter()
        .position(|d| d.2 == LINUX_2_6.as_bytes())
        .expect("a LINUX_2.6 version definition");
    assert!(at > 0, "LINUX_2.6 is the base version");
    let mut out = image.to_vec();
    let prev = defs[at - 1].0;
    let next = match defs.get(at + 1) {
        Some(d) => (d.0 - prev) as u32,
        None => 0,
    };
    put_u32(&mut out, prev + 16, next);
    let count = layout.dyn_val(DT_VERDEFNUM);
    let index = layout
        .dyns
        .iter()
        .position(|d| d.d_tag == DT_VERDEFNUM)
        .expect("DT_VERDEFNUM") as u64;
    layout
        .fields
        .put_dyn(&mut out, layout.dynamic, index, DT_VERDEFNUM, count - 1);
    out
}

/// The `LINUX_2.6` node's name is changed to `LINUX_2.7` (same length, in `.dynstr`); its
/// `vd_hash` still says `LINUX_2.6`.
pub fn linux_2_6_renamed(image: &[u8]) -> Vec<u8> {
    let layout = Layout::of(image);
    let m = Mapping::new(image, 0);
    let strtab = layout.offset(layout.dyn_val(DT_STRTAB));
    let (off, def, _) = layout
        .verdefs(image)
        .into_iter()
        .find(|d| d.2 == LINUX_2_6.as_bytes())
        .expect("a LINUX_2.6 version definition");
    let aux = Verdaux::read(&m, off + u64::from(def.vd_aux)).expect("a Verdaux");
    let mut out = image.to_vec();
    put(&mut out, strtab + u64::from(aux.vda_name), b"LINUX_2.7");
    out
}

/// The `vd_hash` of version `name` is off by one.
pub fn wrong_vd_hash(image: &[u8], name: &str) -> Vec<u8> {
    let (off, def, _) = Layout::of(image)
        .verdefs(image)
        .into_iter()
        .find(|d| d.2 == name.as_bytes())
        .unwrap_or_else(|| panic!("no version definition {name}"));
    let mut out = image.to_vec();
    put_u32(&mut out, off + 8, def.vd_hash ^ 1);
    out
}

/// A valid one-bucket GNU hash table over every dynamic symbol but the null one, appended and
/// announced with `DT_GNU_HASH` (the SysV table stays). This is the layout of Linux's own
/// vDSO, which has both tables.
pub fn with_gnu_hash(image: &[u8]) -> Vec<u8> {
    let layout = Layout::of(image);
    let names: Vec<Vec<u8>> = layout
        .symbols(image)
        .into_iter()
        .skip(1)
        .map(|s| s.2)
        .collect();
    let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    let table = match layout.fields.class {
        Class::Elf64 => gnu_hash_table_one_bucket(&refs, 1),
        Class::Elf32 => gnu_hash_table_one_bucket_elf32(&refs, 1),
    }
    .expect("at least one symbol");
    let (out, at) = append_in_load(image, &table, 8);
    with_dynamic_entries(&out, &[(DT_GNU_HASH, at)])
}

/// The `DT_HASH` entry is removed (the table stays in the file).
pub fn without_dt_hash(image: &[u8]) -> Vec<u8> {
    without_dynamic_entry(image, DT_HASH)
}

/// The `DT_VERDEF` entry is removed, so symbols have `.gnu.version` indices but no
/// definitions.
pub fn without_dt_verdef(image: &[u8]) -> Vec<u8> {
    without_dynamic_entry(image, DT_VERDEF)
}

/// The SysV hash table is rebuilt (appended, with `DT_HASH` and the `.hash` section header
/// pointing at it) with the smallest `nbucket` for which Go 1.19's bucket,
/// `0xd35ec75 % nbucket`, is not the bucket of `__kernel_clock_gettime`. The table is valid:
/// every symbol is on its own bucket's chain.
pub fn go_bucket_without_kernel_clock_gettime(image: &[u8]) -> Vec<u8> {
    let layout = Layout::of(image);
    let names: Vec<Vec<u8>> = layout.symbols(image).into_iter().map(|s| s.2).collect();
    let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    let right = elf_hash(b"__kernel_clock_gettime");
    let go = crate::clients::go::VDSO_SYMBOL_KEYS_ARM64[0].sym_hash;
    let nbucket = (1..)
        .find(|n| right % n != go % n)
        .expect("some bucket count separates the two hashes");
    let table = sysv_hash_table(&refs, nbucket).expect("a hash table");
    let (mut out, at) = append_in_load(image, &table, 8);
    let index = layout
        .dyns
        .iter()
        .position(|d| d.d_tag == DT_HASH)
        .expect("DT_HASH") as u64;
    let f = layout.fields;
    f.put_dyn(&mut out, layout.dynamic, index, DT_HASH, at);
    let (headers, _) = layout.section_headers(image);
    if let Some(&(hdr, _, _)) = headers.iter().find(|h| h.1 == SHT_HASH) {
        f.put_word(&mut out, hdr + f.sh_addr, at);
        f.put_word(&mut out, hdr + f.sh_offset, layout.offset(at));
        f.put_word(&mut out, hdr + f.sh_size, table.len() as u64);
    }
    out
}

/// `DT_SONAME` names `linux-vdso.so.2` (the last byte of the string changed in place, which
/// also renames the base version definition if it shares the string).
pub fn soname_changed(image: &[u8]) -> Vec<u8> {
    let layout = Layout::of(image);
    let strtab = layout.offset(layout.dyn_val(DT_STRTAB));
    let name = strtab + layout.dyn_val(DT_SONAME);
    assert_eq!(Layout::string(image, name), SONAME.as_bytes());
    let mut out = image.to_vec();
    put(&mut out, name + SONAME.len() as u64 - 1, b"2");
    out
}

/// The file offset of `__kernel_rt_sigreturn`'s first instruction.
fn sigreturn_offset(image: &[u8]) -> u64 {
    let layout = Layout::of(image);
    let (_, sym) = layout.symbol(image, "__kernel_rt_sigreturn");
    layout.offset(sym.st_value)
}

/// `__kernel_rt_sigreturn` loads 140 into x8 instead of `__NR_rt_sigreturn` (139).
pub fn sigreturn_corrupted(image: &[u8]) -> Vec<u8> {
    let mut out = image.to_vec();
    put_u32(&mut out, sigreturn_offset(image), 0xd280_1188);
    out
}

/// The `nop` before `__kernel_rt_sigreturn` is replaced with `udf #0`.
pub fn sigreturn_without_nop(image: &[u8]) -> Vec<u8> {
    let mut out = image.to_vec();
    put_u32(&mut out, sigreturn_offset(image) - 4, 0);
    out
}

/// The BTI property's `pr_data` is 0: the note no longer claims BTI. The
/// note is `namesz, descsz, type, "GNU\0"` (16 bytes), then the property's
/// type, size and data.
pub fn bti_property_cleared(image: &[u8]) -> Vec<u8> {
    let (_, note) = Layout::of(image).phdr(PT_GNU_PROPERTY);
    let mut out = image.to_vec();
    put_u32(&mut out, note.p_offset + 24, 0);
    out
}

/// `__kernel_clock_gettime` starts with a `nop` instead of `bti c`.
pub fn landing_pad_removed(image: &[u8]) -> Vec<u8> {
    let layout = Layout::of(image);
    let (_, sym) = layout.symbol(image, "__kernel_clock_gettime");
    let mut out = image.to_vec();
    put_u32(&mut out, layout.offset(sym.st_value), 0xd503_201f);
    out
}

/// `__kernel_clock_getres`'s second instruction is `br x16`, an indirect
/// branch whose target would need a landing pad.
pub fn indirect_branch_added(image: &[u8]) -> Vec<u8> {
    let layout = Layout::of(image);
    let (_, sym) = layout.symbol(image, "__kernel_clock_getres");
    let mut out = image.to_vec();
    put_u32(&mut out, layout.offset(sym.st_value) + 4, 0xd61f_0200);
    out
}

/// The file offset of the first `sub sp, sp, #imm` (a function's frame).
fn first_frame(image: &[u8]) -> usize {
    image
        .chunks_exact(4)
        .position(|w| u32::from_le_bytes(w.try_into().unwrap()) & 0xff80_03ff == 0xd100_03ff)
        .expect("the image has a function with a frame")
        * 4
}

/// The first function frame grown to 256 bytes (`sub sp, sp, #0x100`):
/// more stack than a caller on a small stack may give.
pub fn frame_enlarged(image: &[u8]) -> Vec<u8> {
    let mut out = image.to_vec();
    let at = first_frame(image) as u64;
    put_u32(&mut out, at, 0xd104_03ff);
    out
}

/// The first function frame made `sub sp, sp, x0`: a frame of any size.
pub fn frame_by_register(image: &[u8]) -> Vec<u8> {
    let mut out = image.to_vec();
    let at = first_frame(image) as u64;
    put_u32(&mut out, at, 0xcb20_63ff);
    out
}

/// Zero bytes appended until the file is `len` bytes long.
fn padded_to(image: &[u8], len: usize) -> Vec<u8> {
    let mut out = image.to_vec();
    out.resize(len, 0);
    out
}

/// The `PT_LOAD` claims `len` bytes of memory (the file is unchanged).
fn load_spanning(image: &[u8], len: u64) -> Vec<u8> {
    let layout = Layout::of(image);
    let (off, _) = layout.phdr(PT_LOAD);
    let mut out = image.to_vec();
    let f = layout.fields;
    f.put_word(&mut out, off + f.p_memsz, len);
    out
}

/// Zero bytes appended until the file is one byte longer than a page.
pub fn padded_past_page(image: &[u8]) -> Vec<u8> {
    padded_to(image, PAGE_SIZE as usize + 1)
}

/// The `PT_LOAD` claims two pages of memory (the file is unchanged).
pub fn load_larger_than_page(image: &[u8]) -> Vec<u8> {
    load_spanning(image, 2 * PAGE_SIZE)
}

/// Zero bytes appended until the file is as long as Linux 6.12's image.
pub fn padded_to_linux_6_12s_size(image: &[u8]) -> Vec<u8> {
    padded_to(image, crate::image::LINUX_6_12_IMAGE_SIZE)
}

/// The `PT_LOAD` claims as many bytes as Linux 6.12's image has.
pub fn load_as_large_as_linux_6_12s(image: &[u8]) -> Vec<u8> {
    load_spanning(image, crate::image::LINUX_6_12_IMAGE_SIZE as u64)
}

/// `e_machine` is x86-64.
pub fn machine_x86_64(image: &[u8]) -> Vec<u8> {
    let mut out = image.to_vec();
    put_u16(&mut out, 18, 62);
    out
}

/// `e_type` is `ET_EXEC`.
pub fn type_exec(image: &[u8]) -> Vec<u8> {
    let mut out = image.to_vec();
    put_u16(&mut out, 16, 2);
    out
}

/// `PT_DYNAMIC` is moved past the end of the `PT_LOAD` (offset and address).
pub fn dynamic_outside_load(image: &[u8]) -> Vec<u8> {
    let layout = Layout::of(image);
    let (_, load) = layout.phdr(PT_LOAD);
    let (off, _) = layout.phdr(PT_DYNAMIC);
    let past = load.p_vaddr + load.p_memsz.next_multiple_of(PAGE_SIZE);
    let mut out = image.to_vec();
    let f = layout.fields;
    f.put_word(&mut out, off + f.p_offset, past);
    f.put_word(&mut out, off + f.p_vaddr, past);
    f.put_word(&mut out, off + f.p_paddr, past);
    out
}

/// Sets `st_info` of symbol `name` to `f(st_info)`.
fn with_symbol_info(image: &[u8], name: &str, f: impl Fn(u8) -> u8) -> Vec<u8> {
    let layout = Layout::of(image);
    let (off, sym) = layout.symbol(image, name);
    let mut out = image.to_vec();
    put(&mut out, off + layout.fields.st_info, &[f(sym.st_info)]);
    out
}

/// `__kernel_gettimeofday` becomes an undefined symbol (`st_shndx` = `SHN_UNDEF`).
pub fn undefined_symbol(image: &[u8]) -> Vec<u8> {
    symbol_undefined(image, "__kernel_gettimeofday")
}

/// Symbol `name` becomes undefined (`st_shndx` = `SHN_UNDEF`).
pub fn symbol_undefined(image: &[u8], name: &str) -> Vec<u8> {
    let layout = Layout::of(image);
    let (off, _) = layout.symbol(image, name);
    let mut out = image.to_vec();
    put_u16(&mut out, off + layout.fields.st_shndx, SHN_UNDEF);
    out
}

/// Symbol `name` becomes an `STT_OBJECT`.
pub fn symbol_not_a_function(image: &[u8], name: &str) -> Vec<u8> {
    with_symbol_info(image, name, |i| (i & 0xf0) | STT_OBJECT)
}

/// `__kernel_clock_getres` is an `STT_OBJECT` instead of an `STT_FUNC`.
pub fn export_not_a_function(image: &[u8]) -> Vec<u8> {
    with_symbol_info(image, "__kernel_clock_getres", |i| (i & 0xf0) | STT_OBJECT)
}

/// `__kernel_clock_gettime` is a weak symbol.
pub fn export_weak(image: &[u8]) -> Vec<u8> {
    with_symbol_info(image, "__kernel_clock_gettime", |i| {
        (STB_WEAK << 4) | (i & 0xf)
    })
}

/// The `LINUX_2.6` version-definition symbol becomes a ninth exported function (in the same
/// section and at the same address as `__kernel_clock_gettime`).
pub fn extra_export(image: &[u8]) -> Vec<u8> {
    extra_export_aliasing(image, "__kernel_clock_gettime")
}

/// The `LINUX_2.6` version-definition symbol becomes one more exported function, named
/// `LINUX_2.6`, in the same section and at the same address as `target`.
pub fn extra_export_aliasing(image: &[u8], target: &str) -> Vec<u8> {
    let layout = Layout::of(image);
    let f = layout.fields;
    let (_, target) = layout.symbol(image, target);
    let (off, _) = layout.symbol(image, LINUX_2_6);
    let mut out = image.to_vec();
    put(&mut out, off + f.st_info, &[(STB_GLOBAL << 4) | STT_FUNC]);
    put_u16(&mut out, off + f.st_shndx, target.st_shndx);
    f.put_word(&mut out, off + f.st_value, target.st_value);
    f.put_word(&mut out, off + f.st_size, target.st_size.max(4));
    out
}

/// Symbol `name` is renamed in place to `new_name` (same length, in `.dynstr`), so the image
/// exports a name that is not in its list (and lacks the original one).
pub fn symbol_renamed(image: &[u8], name: &str, new_name: &str) -> Vec<u8> {
    assert_eq!(
        name.len(),
        new_name.len(),
        "a rename in place keeps the length"
    );
    let layout = Layout::of(image);
    let (_, sym) = layout.symbol(image, name);
    let strtab = layout.offset(layout.dyn_val(DT_STRTAB));
    let mut out = image.to_vec();
    put(
        &mut out,
        strtab + u64::from(sym.st_name),
        new_name.as_bytes(),
    );
    out
}

/// Every broken copy of the 32-bit compat image that this module can make, named: the
/// class-neutral ones of [`all`], with the compat image's own symbols.
pub fn compat_all(image: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("load_writable", load_writable(image)),
        ("load_not_executable", load_not_executable(image)),
        ("dynamic_writable", dynamic_writable(image)),
        ("rela_relocation", rela_relocation(image)),
        ("relr_relocation", relr_relocation(image)),
        ("rela_section", rela_section(image)),
        ("without_linux_2_6", without_linux_2_6(image)),
        ("linux_2_6_renamed", linux_2_6_renamed(image)),
        ("wrong_vd_hash", wrong_vd_hash(image, LINUX_2_6)),
        ("with_gnu_hash", with_gnu_hash(image)),
        ("without_dt_hash", without_dt_hash(image)),
        ("without_dt_verdef", without_dt_verdef(image)),
        ("syment_24", dynamic_value_changed(image, DT_SYMENT, 24)),
        ("soname_changed", soname_changed(image)),
        ("padded_past_page", padded_past_page(image)),
        ("load_larger_than_page", load_larger_than_page(image)),
        ("machine_x86_64", machine_x86_64(image)),
        ("type_exec", type_exec(image)),
        ("second_load", segment_retyped(image, PT_NOTE, PT_LOAD)),
        ("interp", segment_retyped(image, PT_NOTE, PT_INTERP)),
        ("tls", segment_retyped(image, PT_NOTE, PT_TLS)),
        ("relro", segment_retyped(image, PT_NOTE, PT_GNU_RELRO)),
        ("note_removed", segment_retyped(image, PT_NOTE, PT_NULL)),
        ("dynamic_outside_load", dynamic_outside_load(image)),
        (
            "undefined_symbol",
            symbol_undefined(image, "__vdso_gettimeofday"),
        ),
        (
            "export_not_a_function",
            symbol_not_a_function(image, "__vdso_clock_getres"),
        ),
        (
            "extra_export",
            extra_export_aliasing(image, "__vdso_clock_gettime"),
        ),
        (
            "export_renamed",
            symbol_renamed(image, "__vdso_clock_gettime", "__vdso_clock_settime"),
        ),
    ]
}

/// Every broken image, named, for tests that feed all of them to something.
pub fn all(image: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("load_writable", load_writable(image)),
        ("load_not_executable", load_not_executable(image)),
        ("dynamic_writable", dynamic_writable(image)),
        ("rela_relocation", rela_relocation(image)),
        ("relr_relocation", relr_relocation(image)),
        ("rela_section", rela_section(image)),
        ("without_linux_2_6", without_linux_2_6(image)),
        ("linux_2_6_renamed", linux_2_6_renamed(image)),
        (
            "wrong_vd_hash",
            wrong_vd_hash(image, crate::image::LINUX_2_6_39),
        ),
        ("with_gnu_hash", with_gnu_hash(image)),
        ("without_dt_hash", without_dt_hash(image)),
        ("without_dt_verdef", without_dt_verdef(image)),
        ("syment_16", dynamic_value_changed(image, DT_SYMENT, 16)),
        (
            "go_bucket_without_kernel_clock_gettime",
            go_bucket_without_kernel_clock_gettime(image),
        ),
        ("soname_changed", soname_changed(image)),
        ("sigreturn_corrupted", sigreturn_corrupted(image)),
        ("sigreturn_without_nop", sigreturn_without_nop(image)),
        (
            "padded_to_linux_6_12s_size",
            padded_to_linux_6_12s_size(image),
        ),
        (
            "load_as_large_as_linux_6_12s",
            load_as_large_as_linux_6_12s(image),
        ),
        ("machine_x86_64", machine_x86_64(image)),
        ("type_exec", type_exec(image)),
        ("second_load", segment_retyped(image, PT_NOTE, PT_LOAD)),
        ("interp", segment_retyped(image, PT_NOTE, PT_INTERP)),
        ("tls", segment_retyped(image, PT_NOTE, PT_TLS)),
        ("relro", segment_retyped(image, PT_NOTE, PT_GNU_RELRO)),
        ("note_removed", segment_retyped(image, PT_NOTE, PT_NULL)),
        ("dynamic_outside_load", dynamic_outside_load(image)),
        ("undefined_symbol", undefined_symbol(image)),
        ("export_not_a_function", export_not_a_function(image)),
        ("export_weak", export_weak(image)),
        ("extra_export", extra_export(image)),
        ("bti_property_cleared", bti_property_cleared(image)),
        ("landing_pad_removed", landing_pad_removed(image)),
        ("indirect_branch_added", indirect_branch_added(image)),
    ]
}
