//! Everything measured, and the two textual reports of it: the Markdown
//! table printed on stdout and the JSON results ([`super::JSON`]).

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use super::run::{Stats, Timing};
use super::trace::{Image, Instructions};
use super::{IMAGES, VARIANTS};

/// Everything measured.
pub(super) struct Results {
    /// The first line of `qemu-aarch64 --version`.
    pub qemu: String,
    /// The CPU model qemu emulated.
    pub cpu: String,
    /// The Debian package Linux's image came from.
    pub linux_package: String,
    pub timing: Timing,
    pub images: Vec<Image>,
    /// Per (call, image).
    pub instructions: Instructions,
    /// The getrandom rows, timed inside a Linux 6.12 VM ([`super::vm`]).
    pub vm: Option<super::vm::VmTiming>,
}

impl Results {
    /// The instructions one call executed in one image, if it was counted.
    pub(super) fn instructions(&self, row: &str, image: &str) -> Option<u64> {
        self.instructions
            .get(&(row.to_owned(), image.to_owned()))
            .copied()
    }

    /// The median ns/call ratios ours/Linux's and syscall/ours.
    fn ratios(t: &Timing, row: &str) -> (f64, f64) {
        let [ours, linux, syscall] = VARIANTS.map(|(v, _)| t.stats(row, v).median);
        (ours / linux, syscall / ours)
    }

    /// The size in bytes of the image named `image`.
    pub(super) fn size(&self, image: &str) -> u64 {
        self.images
            .iter()
            .find(|i| i.name == image)
            .map_or(0, Image::size)
    }

    /// The table, one row per call, and the notes under it; then the rows
    /// timed in the Linux 6.12 VM, if any.
    pub(super) fn markdown(&self) -> String {
        let t = &self.timing;
        let mut out = self.table(t);
        let _ = write!(
            out,
            "\nImage sizes: ours {} bytes (`loader/vdso.so`), Linux's {} bytes ({}).\n\
             ns/call: median [min–max] over {} samples of {} back-to-back calls, interleaved, \
             timed with the host's clock; {}, `-cpu {}` (TCG emulation: compare the columns, \
             not with hardware). Instructions: executed per call, counted by qemu.\n",
            self.size("ours"),
            self.size("linux"),
            self.linux_package,
            t.repeats,
            t.calls,
            self.qemu,
            self.cpu,
        );
        if t.rows.iter().any(|row| row.ends_with(",1h-old)")) {
            out.push_str(
                "`,1h-old)`: on a page published once, an hour before, and never updated since \
                 (a kernel without ticks).\n",
            );
        }
        for wrong in &t.wrong {
            let _ = writeln!(out, "Wrong answer: {wrong}.");
        }
        if let Some(vm) = &self.vm {
            let _ = write!(
                out,
                "\ngetrandom inside Debian's Linux 6.12 ({}, in `{}`): Linux's own vDSO, ours in \
                 its place reading the kernel's page, and the syscall; median [min–max] over {} \
                 samples of {} calls, interleaved, timed with the guest's clock. Instructions \
                 are not counted there.\n\n{}",
                vm.kernel,
                vm.qemu,
                vm.timing.repeats,
                vm.timing.calls,
                self.table(&vm.timing)
            );
        }
        out
    }

    /// The Markdown table of `t`'s rows.
    fn table(&self, t: &Timing) -> String {
        let mut out = String::new();
        out.push_str(
            "| call | ours ns/call | Linux ns/call | syscall ns/call | ours/Linux | syscall/ours \
             | instructions ours | instructions Linux |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for row in &t.rows {
            let [ours, linux, syscall] = VARIANTS.map(|(v, _)| {
                let s = t.stats(row, v);
                format!("{:.1} [{:.1}–{:.1}]", s.median, s.min, s.max)
            });
            let (ours_linux, syscall_ours) = Self::ratios(t, row);
            let [i_ours, i_linux] = IMAGES.map(|image| {
                self.instructions(row, image)
                    .map_or("–".to_owned(), |n| n.to_string())
            });
            let _ = writeln!(
                out,
                "| `{row}` | {ours} | {linux} | {syscall} | {ours_linux:.2} | {syscall_ours:.2} \
                 | {i_ours} | {i_linux} |"
            );
        }
        out
    }

    /// The JSON results: the setup, the images, and per call the ns/call
    /// statistics of each variant (to 3 decimals), the ratios (to 4) and
    /// the instructions per call (`null` where not counted).
    pub(super) fn json(&self) -> Result<String> {
        let t = &self.timing;
        let json = Json {
            qemu: &self.qemu,
            cpu: &self.cpu,
            calls_per_sample: t.calls,
            repeats: t.repeats,
            images: PerImage {
                ours: JsonImage {
                    bytes: self.size("ours"),
                    source: "loader/vdso.so",
                },
                linux: JsonImage {
                    bytes: self.size("linux"),
                    source: &self.linux_package,
                },
            },
            rows: self.json_rows(t),
            in_linux_6_12: self.vm.as_ref().map(|vm| JsonVm {
                kernel: &vm.kernel,
                qemu: &vm.qemu,
                calls_per_sample: vm.timing.calls,
                repeats: vm.timing.repeats,
                rows: self.json_rows(&vm.timing),
            }),
        };
        Ok(serde_json::to_string_pretty(&json)? + "\n")
    }

    /// `t`'s rows as JSON.
    fn json_rows<'a>(&'a self, t: &'a Timing) -> Vec<JsonRow<'a>> {
        t.rows
            .iter()
            .map(|row| {
                let [ours, linux, syscall] = VARIANTS.map(|(v, _)| JsonStats::of(t.stats(row, v)));
                let (ours_linux, syscall_ours) = Self::ratios(t, row);
                let [i_ours, i_linux] = IMAGES.map(|image| self.instructions(row, image));
                JsonRow {
                    call: row,
                    ns_per_call: PerVariant {
                        ours,
                        linux,
                        syscall,
                    },
                    ratio_ours_linux: rounded(ours_linux, 4),
                    ratio_syscall_ours: rounded(syscall_ours, 4),
                    instructions_per_call: PerImage {
                        ours: i_ours,
                        linux: i_linux,
                    },
                }
            })
            .collect()
    }
}

/// `x` rounded to `places` decimals, so that the JSON carries what was
/// measured and not the float noise of the division.
fn rounded(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

/// The JSON document (the fields serialize in this order).
#[derive(Serialize)]
struct Json<'a> {
    qemu: &'a str,
    cpu: &'a str,
    calls_per_sample: u64,
    repeats: u64,
    images: PerImage<JsonImage<'a>>,
    rows: Vec<JsonRow<'a>>,
    /// The rows timed inside the Linux 6.12 VM, `null` if not run.
    in_linux_6_12: Option<JsonVm<'a>>,
}

/// The rows timed inside the Linux 6.12 VM.
#[derive(Serialize)]
struct JsonVm<'a> {
    kernel: &'a str,
    qemu: &'a str,
    calls_per_sample: u64,
    repeats: u64,
    rows: Vec<JsonRow<'a>>,
}

/// Something per image, keyed as the program names them ([`IMAGES`]).
#[derive(Serialize)]
struct PerImage<T> {
    ours: T,
    linux: T,
}

/// Something per variant, keyed as the program names them ([`VARIANTS`]).
#[derive(Serialize)]
struct PerVariant<T> {
    ours: T,
    linux: T,
    syscall: T,
}

/// An image's size and where it came from.
#[derive(Serialize)]
struct JsonImage<'a> {
    bytes: u64,
    source: &'a str,
}

/// One call's results.
#[derive(Serialize)]
struct JsonRow<'a> {
    call: &'a str,
    ns_per_call: PerVariant<JsonStats>,
    ratio_ours_linux: f64,
    ratio_syscall_ours: f64,
    instructions_per_call: PerImage<Option<u64>>,
}

/// [`Stats`] to 3 decimals.
#[derive(Serialize)]
struct JsonStats {
    median: f64,
    min: f64,
    max: f64,
}

impl JsonStats {
    fn of(s: Stats) -> JsonStats {
        JsonStats {
            median: rounded(s.median, 3),
            min: rounded(s.min, 3),
            max: rounded(s.max, 3),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Results of two calls, one of them without an instruction count, with
    /// a package name that JSON must escape.
    pub(in super::super) fn results() -> Results {
        let mut out = String::from("calls 4\nrepeats 1\n");
        for (row, [ours, linux, syscall]) in [("gettimeofday", [200, 100, 900]), ("x", [8, 4, 6])] {
            for (variant, ns) in [("ours", ours), ("linux", linux), ("syscall", syscall)] {
                out.push_str(&format!("sample 0 {row} {variant} {ns}\n"));
            }
        }
        let image = |name: &str, start| Image {
            name: name.into(),
            range: start..start + 3000,
        };
        Results {
            qemu: "qemu-aarch64 version 7".into(),
            cpu: "cortex-a72".into(),
            linux_package: "linux \"6\"\\\n".into(),
            timing: Timing::parse(&out).unwrap(),
            images: vec![image("ours", 0x1000), image("linux", 0x9000)],
            instructions: [(("gettimeofday".into(), "ours".into()), 51)].into(),
            vm: Some(super::super::vm::VmTiming {
                kernel: "linux-image-6.12".into(),
                qemu: "qemu-system-aarch64 -cpu cortex-a72".into(),
                timing: Timing::parse(
                    "calls 2\nrepeats 1\nsample 0 getrandom(32) ours 120\n\
                     sample 0 getrandom(32) linux 200\nsample 0 getrandom(32) syscall 800\n",
                )
                .unwrap(),
            }),
        }
    }

    #[test]
    fn the_json_keeps_its_keys_numbers_and_escapes() {
        let json = results().json().unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["images"]["linux"]["source"], "linux \"6\"\\\n");
        assert_eq!(value["images"]["ours"]["bytes"], 3000);
        assert_eq!(value["calls_per_sample"], 4);
        let row = &value["rows"][0];
        assert_eq!(row["call"], "gettimeofday");
        assert_eq!(row["ns_per_call"]["ours"]["median"], 50.0);
        assert_eq!(row["ratio_ours_linux"], 2.0);
        assert_eq!(row["ratio_syscall_ours"], 4.5);
        assert_eq!(row["instructions_per_call"]["ours"], 51);
        assert!(row["instructions_per_call"]["linux"].is_null());
        assert_eq!(value["rows"][1]["ratio_syscall_ours"], 0.75);
        assert_eq!(rounded(1.0 / 3.0, 3), 0.333);
        assert_eq!(rounded(2.0 / 3.0, 4), 0.6667);
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(|k| &k[..]).collect();
        assert_eq!(keys.len(), 7);
        let vm = &value["in_linux_6_12"];
        assert_eq!(vm["kernel"], "linux-image-6.12");
        assert_eq!(vm["rows"][0]["call"], "getrandom(32)");
        assert_eq!(vm["rows"][0]["ratio_ours_linux"], 0.6);
        assert!(vm["rows"][0]["instructions_per_call"]["ours"].is_null());
        // The top-level keys come in the documented order.
        let at = |key: &str| json.find(&format!("\"{key}\"")).unwrap();
        assert!(at("qemu") < at("cpu") && at("cpu") < at("calls_per_sample"));
        assert!(at("repeats") < at("images") && at("images") < at("rows"));
        assert!(at("rows") < at("in_linux_6_12"));
    }

    #[test]
    fn the_table_has_a_row_per_call_and_a_dash_where_not_counted() {
        let table = results().markdown();
        assert!(table.contains(
            "| `gettimeofday` | 50.0 [50.0–50.0] | 25.0 [25.0–25.0] | 225.0 [225.0–225.0] \
             | 2.00 | 4.50 | 51 | – |"
        ));
        assert!(table.contains(
            "| `getrandom(32)` | 60.0 [60.0–60.0] | 100.0 [100.0–100.0] | 400.0 [400.0–400.0] \
             | 0.60 | 6.67 | – | – |"
        ));
        assert!(table.contains("Linux's 3000 bytes (linux \"6\"\\\n)."));
    }
}
