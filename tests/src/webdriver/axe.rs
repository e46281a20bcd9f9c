//! axe-core for the accessibility checks: its source (the file `TIX_AXE_JS` names, as
//! `scripts/test.sh` sets it, or what `scripts/fetch-axe.sh` fetches), the script that runs it,
//! and the filter for what fails a test (serious and critical violations).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::binaries::workspace_dir;
use crate::webdriver::Page;

/// axe-core's source, to run in a page before `RUN_AXE`.
pub fn axe_source() -> String {
    let path = match std::env::var("TIX_AXE_JS") {
        Ok(path) => PathBuf::from(path),
        Err(_) => {
            let script = workspace_dir().join("scripts").join("fetch-axe.sh");
            let out = Command::new("bash")
                .arg(&script)
                .output()
                .expect("running scripts/fetch-axe.sh");
            assert!(
                out.status.success(),
                "fetching axe-core failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        }
    };
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Runs axe-core on the page (WCAG 2.0/2.1 A and AA, and best practice) and answers its
/// violations as `{id, impact, help, nodes}`.
pub const RUN_AXE: &str = "return axe.run(document, { runOnly: { type: 'tag', values: \
    ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }) \
    .then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, \
    nodes: v.nodes.map(n => n.target.join(' ')) })));";

/// The serious and critical ones among what `RUN_AXE` answered.
pub fn serious(found: &Value) -> Vec<Value> {
    found
        .as_array()
        .expect("a list of violations")
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .cloned()
        .collect()
}

/// Loads `axe` (its source) into the page, runs it, and answers the serious violations.
pub async fn serious_violations(page: &Page, axe: &str) -> Vec<Value> {
    page.client
        .execute(axe, vec![])
        .await
        .expect("axe-core loads");
    let found = page
        .client
        .execute(RUN_AXE, vec![])
        .await
        .expect("axe runs");
    serious(&found)
}
