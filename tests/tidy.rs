//! The house's tidy rules, checked over every Rust file of the repository (in the spirit of
//! rust-analyzer's tidy test): each file opens with a `//!` line saying what it is, none is over
//! 600 lines, none includes another file by a `path` attribute, and the request-handling code of the node
//! (`node/src/http`, `node/src/web`) never `unwrap()`s or `expect()`s outside its unit tests, but
//! where a reason is written in `ALLOWED` below. And the README's tables of flags list every flag
//! the node and the hub read from the environment, so that an operator's reference cannot drift
//! from the binaries.

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

/// The rows `| `--flag` | `ENV` |` that `readme` lacks for `command`'s flags that have an
/// environment variable.
fn flags_missing_from(readme: &str, command: &clap::Command) -> Vec<String> {
    let flags: Vec<_> = command
        .get_arguments()
        .filter_map(|arg| Some((arg.get_long()?, arg.get_env()?.to_str()?)))
        .collect();
    assert!(flags.len() > 5, "{}: only {flags:?}", command.get_name());
    flags
        .into_iter()
        .map(|(long, env)| format!("| `--{long}` | `{env}` |"))
        .filter(|row| !readme.contains(row.as_str()))
        .collect()
}

#[test]
fn the_readme_lists_every_flag() {
    use clap::CommandFactory;
    let readme = fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let mut missing = flags_missing_from(&readme, &tix_node::config::Config::command());
    missing.extend(flags_missing_from(
        &readme,
        &tix_hub::config::Config::command(),
    ));
    assert!(missing.is_empty(), "README.md has no row for: {missing:#?}");
}
