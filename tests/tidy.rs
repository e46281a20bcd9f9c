//! The house's tidy rules, checked over every Rust file of the repository (in the spirit of
//! rust-analyzer's tidy test): each file opens with a `//!` line saying what it is, none is over
//! 600 lines, none includes another file by a `path` attribute, and the request-handling code of the node
//! (`node/src/http`, `node/src/web`) never `unwrap()`s or `expect()`s outside its unit tests, but
//! where a reason is written in `ALLOWED` below.

use std::fs;
use std::path::{Path, PathBuf};

/// Longest source file accepted.
const MAX_LINES: usize = 600;

/// `unwrap`/`expect` in request code that cannot fail on request data, each with its reason.
const ALLOWED: &[(&str, &str, &str)] = &[(
    "node/src/web/csrf.rs",
    ".expect(\"hex tokens are valid header text\")",
    "the token is hex: made by `fresh`, or read only when it is well-formed hex",
)];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// Every `.rs` file below `dir`, skipping build output and hidden folders.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                rust_files(&path, found);
            }
        } else if name.ends_with(".rs") {
            found.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let root = workspace();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} Rust files", files.len());
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).expect("readable source");
            let name = path
                .strip_prefix(&root)
                .expect("below the workspace")
                .to_string_lossy()
                .into_owned();
            (name, text)
        })
        .collect()
}

#[test]
fn every_file_says_what_it_is_in_its_first_line() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(name, _)| name)
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` first line: {missing:?}"
    );
}

#[test]
fn no_file_is_over_the_limit() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| text.lines().count() > MAX_LINES)
        .map(|(name, text)| format!("{name} ({} lines)", text.lines().count()))
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

#[test]
fn no_file_is_included_by_path() {
    let attribute = concat!("#[", "path");
    let included: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| text.contains(attribute))
        .map(|(name, _)| name)
        .collect();
    assert!(included.is_empty(), "path attributes in: {included:?}");
}

#[test]
fn request_code_never_unwraps() {
    let mut found = Vec::new();
    for (name, text) in sources() {
        if !(name.starts_with("node/src/http") || name.starts_with("node/src/web")) {
            continue;
        }
        // Unit tests at the end of a file may unwrap.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (number, line) in code.lines().enumerate() {
            let unwraps = line.contains(".unwrap()") || line.contains(".expect(");
            let allowed = ALLOWED
                .iter()
                .any(|(file, snippet, _)| *file == name && line.contains(snippet));
            if unwraps && !allowed && !line.trim_start().starts_with("//") {
                found.push(format!("{name}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "unwrap/expect in request code: {found:#?}"
    );
}

#[test]
fn the_rules_see_what_they_should() {
    // The checks above would pass on an empty list; make sure they read the real tree.
    let sources = sources();
    assert!(sources.iter().any(|(name, _)| name == "node/src/writer.rs"));
    assert!(
        sources
            .iter()
            .any(|(name, _)| name.starts_with("node/src/http/"))
    );
    assert!(
        sources
            .iter()
            .any(|(name, _)| name.starts_with("node/src/web/"))
    );
}
