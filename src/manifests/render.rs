//! Writing manifests back: a source's text with its changed documents edited in place, or,
//! when an edit cannot be made or would not read back as the mutated object, re-serialised
//! whole in the source's format (key order as the author wrote it) with a note saying why;
//! everything else byte for byte. Also unified diffs between two texts. No rules.

use std::fmt;

use json_patch::Patch;
use serde::Serialize;
use serde_json::Value;
use similar::TextDiff;

use super::node::{Node, reorder};
use super::{Document, Format, LIST_ITEMS, Manifest, ManifestError, edit, split, yaml_options};

const BYTE_ORDER_MARK: char = '\u{feff}';

/// Lines of context around each diff hunk, as `diff -u`.
const DIFF_CONTEXT_LINES: usize = 3;

/// Folded scalars (`>`) would rewrap long single-line values such as annotations; only
/// values with line breaks get a block style (`|`).
const NO_FOLDING: usize = usize::MAX;

/// What the engine did to one document: the object (or List) it should become, and the
/// patches that make it so, each below its prefix (`/items/N` for a List item).
#[derive(Debug, Clone)]
pub struct DocumentChange {
    pub mutated: Value,
    pub patches: Vec<(String, Patch)>,
}

impl DocumentChange {
    /// A single object became `mutated` through `patch`.
    pub fn object((mutated, patch): (Value, Patch)) -> Self {
        DocumentChange {
            mutated,
            patches: vec![(String::new(), patch)],
        }
    }

    /// A `List` whose items changed where `items` has `Some((mutated, patch))`; `None` when
    /// none changed. Each item's patch applies below `/items/N`.
    pub fn list(list: &Value, items: Vec<Option<(Value, Patch)>>) -> Option<Self> {
        if items.iter().all(Option::is_none) {
            return None;
        }
        let mut mutated = list.clone();
        let mut patches = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            if let Some((object, patch)) = item {
                patches.push((format!("/{LIST_ITEMS}/{i}"), patch));
                mutated[LIST_ITEMS][i] = object;
            }
        }
        Some(DocumentChange { mutated, patches })
    }
}

/// A document that could not be edited in place and was re-rendered whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rewrite {
    pub file: String,
    /// 1-based index of the document in its file.
    pub document: usize,
    /// 1-based line where the document starts.
    pub line: usize,
    /// `Kind name` of the document, as far as it has them.
    pub object: String,
    pub reason: String,
}

impl fmt::Display for Rewrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: document {} ({}): re-rendered whole, comments and quoting lost: {}",
            self.file, self.line, self.document, self.object, self.reason
        )
    }
}

/// A source's new text and the documents that had to be re-rendered.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The whole file as it would be written, byte order mark included.
    pub text: String,
    pub rewrites: Vec<Rewrite>,
}

impl Manifest {
    /// The source text with each document whose entry in `changes` is `Some` edited in place
    /// (or, when it cannot be, re-rendered whole); everything else byte for byte. `changes`
    /// follows `documents`; missing entries mean untouched.
    pub fn render(&self, changes: &[Option<DocumentChange>]) -> Result<Rendered, ManifestError> {
        let text = &self.source.text;
        let mut out = String::with_capacity(text.len());
        let mut rewrites = Vec::new();
        let mut copied = 0;
        for (doc, change) in self.documents.iter().zip(changes) {
            let Some(change) = change else { continue };
            out.push_str(&text[copied..doc.segment.start]);
            match self.edit_in_place(doc, change) {
                Ok(edited) => out.push_str(&edited),
                Err(reason) => {
                    out.push_str(&self.rewrite(doc, &change.mutated)?);
                    rewrites.push(self.rewrite_note(doc, reason));
                }
            }
            copied = doc.segment.end;
        }
        out.push_str(&text[copied..]);
        if out != *text && !out.ends_with('\n') {
            // Printed files end with a line break; a written one too, so both are the same.
            out.push_str(if text.contains("\r\n") { "\r\n" } else { "\n" });
        }
        Ok(Rendered {
            text: self.source.with_byte_order_mark(&out),
            rewrites,
        })
    }

    /// The document's text with the patches applied, when that reads back as exactly the
    /// mutated object.
    fn edit_in_place(&self, doc: &Document, change: &DocumentChange) -> Result<String, String> {
        let json = self.source.format == Format::Json;
        // `%YAML 1.1` and its `---` stay as they are; the editor reads the content only.
        let (head, original) = doc
            .text(self)
            .split_at(split::directives_end(doc.text(self)));
        let edited = edit::apply(original, &change.patches, json).map_err(|e| e.to_string())?;
        let edited = edited.trim_end_matches(['\r', '\n']);
        let reread: Result<Node, String> = if json {
            serde_json::from_str(edited).map_err(|e| e.to_string())
        } else {
            serde_saphyr::from_str_with_options(edited, yaml_options()).map_err(|e| e.to_string())
        };
        match reread {
            Ok(node) if node.to_value() == change.mutated => Ok(format!("{head}{edited}")),
            _ if original.contains('&') => {
                Err("an edit under an anchor would change its aliases too".to_owned())
            }
            _ => Err("the edited text would not read back as the mutated object".to_owned()),
        }
    }

    /// The mutated document re-serialised, keys in the author's order, line breaks as the
    /// source's.
    fn rewrite(&self, doc: &Document, mutated: &Value) -> Result<String, ManifestError> {
        let node = reorder(mutated, Some(&doc.node));
        let written =
            write_node(&node, self.source.format).map_err(|message| ManifestError::Write {
                file: self.source.name.clone(),
                document: doc.index,
                message,
            })?;
        let text = doc.text(self);
        let head = &text[..split::directives_end(text)];
        // Directives and their `---` line are kept; a block mapping starts on the next line.
        let mut out = match head.trim_end() {
            "" => String::new(),
            head => format!("{}\n", head.replace("\r\n", "\n")),
        };
        if doc.segment.column > 1 && out.is_empty() {
            // The content began on its `---` line; a block mapping cannot.
            out.push('\n');
        }
        out.push_str(written.trim_end_matches('\n'));
        if self.source.text.contains("\r\n") {
            out = out.replace('\n', "\r\n");
        }
        Ok(out)
    }

    fn rewrite_note(&self, doc: &Document, reason: String) -> Rewrite {
        let text = |pointer: &str| doc.value.pointer(pointer).and_then(Value::as_str);
        let object = match (text("/kind"), text("/metadata/name")) {
            (Some(kind), Some(name)) => format!("{kind} {name}"),
            (Some(kind), None) => kind.to_owned(),
            _ => "not an object".to_owned(),
        };
        Rewrite {
            file: self.source.name.clone(),
            document: doc.index,
            line: doc.line,
            object,
            reason,
        }
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
/// already starts with one; sources without content are left out. A byte order mark is
/// kept at the start of the stream only: YAML 1.1 readers refuse one inside a stream.
pub fn concatenate<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for text in texts.into_iter() {
        let text = if out.is_empty() {
            text
        } else {
            text.trim_start_matches(BYTE_ORDER_MARK)
        };
        if text.trim_start_matches(BYTE_ORDER_MARK).trim().is_empty() {
            continue;
        }
        let line_break = if text.contains("\r\n") { "\r\n" } else { "\n" };
        if !out.is_empty() && !starts_with_marker(text) {
            out.push_str("---");
            out.push_str(line_break);
        }
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push_str(line_break);
        }
    }
    out
}

fn starts_with_marker(text: &str) -> bool {
    text.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['\n', '\r', ' ', '\t']))
}
