//! Writing manifests back: a source's text with its changed documents re-serialised in the
//! source's format (key order as the author wrote it), everything else byte for byte; and
//! unified diffs between two texts. No parsing, no rules.

use serde_json::Value;
use similar::TextDiff;

use super::node::{Node, reorder};
use super::{Format, Manifest, ManifestError};

/// Lines of context around each diff hunk, as `diff -u`.
const DIFF_CONTEXT_LINES: usize = 3;

/// Folded scalars (`>`) would rewrap long single-line values such as annotations; only
/// values with line breaks get a block style (`|`).
const NO_FOLDING: usize = usize::MAX;

impl Manifest {
    /// The source text with each document whose entry in `replacements` is `Some` rewritten
    /// with that value. `replacements` follows `documents`; missing entries mean untouched.
    pub fn render(&self, replacements: &[Option<&Value>]) -> Result<String, ManifestError> {
        let text = &self.source.text;
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for (doc, value) in self.documents.iter().zip(replacements) {
            let Some(value) = value else { continue };
            let node = reorder(value, Some(&doc.node));
            let written =
                write_node(&node, self.source.format).map_err(|message| ManifestError::Write {
                    file: self.source.name.clone(),
                    document: doc.index,
                    message,
                })?;
            out.push_str(&text[copied..doc.segment.start]);
            if doc.segment.column > 1 {
                // The content began on its `---` line; a block mapping cannot.
                out.push('\n');
            }
            out.push_str(written.trim_end_matches('\n'));
            copied = doc.segment.end;
        }
        out.push_str(&text[copied..]);
        Ok(out)
    }
}

fn write_node(node: &Node, format: Format) -> Result<String, String> {
    match format {
        Format::Json => serde_json::to_string_pretty(node).map_err(|e| e.to_string()),
        Format::Yaml => {
            let options = serde_saphyr::ser_options! { folded_wrap_chars: NO_FOLDING };
            serde_saphyr::to_string_with_options(node, options).map_err(|e| e.to_string())
        }
    }
}

/// A unified diff from `old` to `new`, both labelled `name`; empty when they are equal.
pub fn unified_diff(name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(DIFF_CONTEXT_LINES)
        .header(name, name)
        .to_string()
}

/// Several sources' texts as one YAML stream: a `---` line between two, unless the next
/// already starts with one; sources without content are left out.
pub fn concatenate<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for text in texts.into_iter().filter(|t| !t.trim().is_empty()) {
        if !out.is_empty() && !starts_with_marker(text) {
            out.push_str("---\n");
        }
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn starts_with_marker(text: &str) -> bool {
    text.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['\n', '\r', ' ', '\t']))
}
