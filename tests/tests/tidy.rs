//! Repository invariants that no compiler checks (rust-analyzer's `tidy.rs` is the model):
//! design citations resolve to ARCHITECTURE.md, ARCHITECTURE.md names every top-level folder,
//! every Rust file opens with a `//!` line, and no function in the product or the integration
//! templates is longer than a screen and a half.

use std::fs;
use std::path::{Path, PathBuf};

/// The workspace root: the parent of this crate.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every file below `dir` whose name ends with one of `exts`, skipping build output and hidden
/// folders, sorted.
fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            if path.is_dir() {
                todo.push(path);
            } else if exts.iter().any(|ext| name.ends_with(ext)) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// `path` relative to the root, for messages.
fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn architecture_md() -> String {
    fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md at the root")
}

/// The numbers of the rules listed under "## The image rules" in ARCHITECTURE.md.
fn image_rule_numbers() -> Vec<u32> {
    let doc = architecture_md();
    let section = doc
        .split("\n## The image rules\n")
        .nth(1)
        .expect("ARCHITECTURE.md has a section \"## The image rules\"");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter_map(|line| line.split_once(". **"))
        .filter_map(|(number, _)| number.parse().ok())
        .collect()
}

/// Source, build and document files that may cite the design.
fn citing_files() -> Vec<PathBuf> {
    files(
        &root(),
        &[".rs", ".md", ".lds", ".ld", ".toml", ".c", ".go"],
    )
}

#[test]
fn no_file_cites_a_design_document_outside_the_repository() {
    let mut bad = Vec::new();
    for path in citing_files() {
        let text = fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            // Spelt in two halves so that this file does not match itself.
            if line.contains(concat!("DESIGN", " §")) || line.contains(concat!("DESIGN", ".md")) {
                bad.push(format!("{}:{}: {}", relative(&path), n + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "cite ARCHITECTURE.md (\"image rule N\", \"the semantics\", \"the data page\") instead:\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_cited_image_rule_is_defined_in_architecture_md() {
    let rules = image_rule_numbers();
    assert_eq!(
        rules,
        (1..=9).collect::<Vec<_>>(),
        "ARCHITECTURE.md lists image rules 1 to 9"
    );
    let mut cited = 0;
    let mut bad = Vec::new();
    for path in citing_files() {
        let text = fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for (_, rest) in line
                .match_indices("image rule ")
                .map(|(i, _)| line.split_at(i + 11))
            {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let Ok(number) = digits.parse::<u32>() else {
                    continue;
                };
                cited += 1;
                if !rules.contains(&number) {
                    bad.push(format!(
                        "{}:{}: image rule {number}",
                        relative(&path),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        cited > 10,
        "only {cited} citations of an image rule were found: is the scan broken?"
    );
    assert!(
        bad.is_empty(),
        "cited rules that ARCHITECTURE.md does not define:\n{}",
        bad.join("\n")
    );
}

#[test]
fn architecture_md_names_every_top_level_folder() {
    let doc = architecture_md();
    let mut missing = Vec::new();
    for entry in fs::read_dir(root()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let named = doc.contains(&format!("`{name}/`"));
        if path.is_dir() && !name.starts_with('.') && name != "target" && !named {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not name these folders: {missing:?}"
    );
}

#[test]
fn every_rust_file_opens_with_a_module_doc_line() {
    let bad: Vec<String> = files(&root(), &[".rs"])
        .into_iter()
        .filter(|path| !fs::read_to_string(path).unwrap().starts_with("//!"))
        .map(|path| relative(&path))
        .collect();
    assert!(
        bad.is_empty(),
        "these files do not start with a `//!` line: {bad:?}"
    );
}

/// The folders whose functions must each fit in [`MAX_FUNCTION_LINES`]: the product, the build
/// driver and the two integration templates with their shared exec library.
const SHORT_FUNCTION_DIRS: [&str; 6] = [
    "vdso",
    "loader",
    "xtask",
    "tests/templates/exec-harness",
    "tests/templates/kernel",
    "tests/lib/exec-core",
];

/// Longest function, in lines from its `fn` line to its closing brace.
const MAX_FUNCTION_LINES: usize = 120;

/// Each function in `text` as (name, first line, length in lines). Relies on rustfmt's layout
/// (the gate runs `cargo fmt --check`): a body ends at the first line after the signature that
/// is its indentation followed by `}`.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = &line[..line.len() - code.len()];
        let Some(after_fn) = code
            .split_once("fn ")
            .filter(|(before, _)| is_fn_prefix(before))
        else {
            continue;
        };
        let name: String = after_fn
            .1
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // A declaration without a body (in a trait or an `extern` block) ends with `;` before
        // any `{` at the end of a line.
        let Some(open) = (start..lines.len())
            .find(|&i| lines[i].ends_with('{') || lines[i].trim_end().ends_with(';'))
        else {
            continue;
        };
        if !lines[open].ends_with('{') {
            continue;
        }
        let close = format!("{indent}}}");
        if let Some(end) = (open..lines.len()).find(|&i| lines[i] == close) {
            found.push((name, start + 1, end - start + 1));
        }
    }
    found
}

/// Whether `before` (the text on a line before `fn `) is only qualifiers of a function item.
fn is_fn_prefix(before: &str) -> bool {
    before.split_whitespace().all(|word| {
        matches!(
            word,
            "pub" | "const" | "unsafe" | "async" | "extern" | "\"C\""
        ) || word.starts_with("pub(")
    })
}

#[test]
fn function_scanner_measures_a_known_function() {
    let text = "//! x\n\npub(crate) unsafe fn three() -> u32 {\n    let x = 1;\n    x\n}\n\
                trait T {\n    fn declared(&self);\n    fn defined(&self) {\n    }\n}\n";
    assert_eq!(
        functions(text),
        vec![("three".to_owned(), 3, 4), ("defined".to_owned(), 9, 2)],
    );
}

#[test]
fn no_function_is_longer_than_120_lines() {
    let mut long = Vec::new();
    let mut measured = 0;
    for dir in SHORT_FUNCTION_DIRS {
        let dir = root().join(dir);
        assert!(dir.is_dir(), "{} is missing", relative(&dir));
        for path in files(&dir, &[".rs"]) {
            for (name, line, length) in functions(&fs::read_to_string(&path).unwrap()) {
                measured += 1;
                if length > MAX_FUNCTION_LINES {
                    long.push(format!(
                        "{}:{line}: {name} is {length} lines",
                        relative(&path)
                    ));
                }
            }
        }
    }
    assert!(
        measured > 500,
        "only {measured} functions were measured: is the scan broken?"
    );
    assert!(
        long.is_empty(),
        "split these along their seams (at most {MAX_FUNCTION_LINES} lines):\n{}",
        long.join("\n")
    );
}
