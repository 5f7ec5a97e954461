//! How a YAML document lays itself out (indentation step, whether sequences under a key are
//! indented, line breaks), and new values written in that layout: block collections as the
//! author's siblings are written, flow collections on one line, scalars in the most readable
//! form that reads back as the same string. It does not decide where text goes; the editor
//! does. Finding the layout is a heuristic over lines: a wrong guess changes looks, never
//! meaning, because every edit is read back and compared before it is used.

use super::node::Node;

/// Indentation of nested mappings when the document shows none (what `oc get -o yaml` writes).
const DEFAULT_INDENT: usize = 2;
/// The width of `- ` in front of a sequence item.
const DASH: usize = 2;

/// How a scalar being replaced was written, so its new value keeps the quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    Plain,
    Single,
    Double,
}

impl Quoting {
    /// The quoting of a scalar's source text (`'x'`, `"x"`, anything else).
    pub fn of(text: &str) -> Quoting {
        match text.trim_start().as_bytes().first() {
            Some(b'\'') => Quoting::Single,
            Some(b'"') => Quoting::Double,
            _ => Quoting::Plain,
        }
    }
}

/// The layout of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Columns a nested block mapping moves right of its key.
    pub indent: usize,
    /// Columns a block sequence's `-` moves right of its key (0: `key:\n- a`).
    pub sequence_indent: usize,
    pub line_break: &'static str,
}

impl Layout {
    /// The layout `text` shows: the first nested mapping and the first sequence under a key
    /// decide, and the first line break.
    pub fn of(text: &str) -> Layout {
        let mut indent = None;
        let mut sequence_indent = None;
        let mut open_key: Option<usize> = None;
        for line in text.lines() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if let Some(key) = open_key.take() {
                let column = line.len() - trimmed.len();
                if trimmed == "-" || trimmed.starts_with("- ") {
                    sequence_indent = sequence_indent.or(column.checked_sub(key));
                } else if column > key {
                    indent = indent.or(Some(column - key));
                }
            }
            open_key = open_key_column(line);
        }
        Layout {
            indent: indent.unwrap_or(DEFAULT_INDENT),
            sequence_indent: sequence_indent.unwrap_or(0),
            line_break: if text.contains("\r\n") { "\r\n" } else { "\n" },
        }
    }

    /// The text that follows `key:` for `value` when the key sits at `column`: ` scalar`,
    /// or a line break and the block collection below the key.
    pub fn after_key(&self, value: &Node, column: usize) -> String {
        match value {
            Node::Map(entries) if !entries.is_empty() => {
                let mut out = String::new();
                self.push_map(&mut out, entries, column + self.indent);
                out
            }
            Node::Seq(items) if !items.is_empty() => {
                let mut out = String::new();
                self.push_seq(&mut out, items, column + self.sequence_indent);
                out
            }
            _ => format!(" {}", block_scalar(value)),
        }
    }

    /// The text that follows `- ` for `item` when the item's content starts at `column`.
    pub fn after_dash(&self, item: &Node, column: usize) -> String {
        match item {
            Node::Map(entries) if !entries.is_empty() => {
                let mut out = String::new();
                self.push_map(&mut out, entries, column);
                // The first entry shares the dash's line.
                out.split_off(self.line_break.len() + column)
            }
            _ => block_scalar(item),
        }
    }

    fn push_map(&self, out: &mut String, entries: &[(String, Node)], column: usize) {
        for (key, value) in entries {
            out.push_str(self.line_break);
            push_spaces(out, column);
            out.push_str(&scalar(&Node::String(key.clone()), Quoting::Plain, false));
            out.push(':');
            out.push_str(&self.after_key(value, column));
        }
    }

    fn push_seq(&self, out: &mut String, items: &[Node], column: usize) {
        for item in items {
            out.push_str(self.line_break);
            push_spaces(out, column);
            out.push_str("- ");
            out.push_str(&self.after_dash(item, column + DASH));
        }
    }
}

/// A scalar (or an empty collection) where block rules apply.
fn block_scalar(value: &Node) -> String {
    match value {
        Node::Map(_) | Node::Seq(_) => flow(value, false),
        _ => scalar(value, Quoting::Plain, false),
    }
}

fn push_spaces(out: &mut String, count: usize) {
    out.extend(std::iter::repeat_n(' ', count));
}

/// The column of the key on a line that opens a block (`key:` with nothing after it but a
/// comment), counting `- ` item markers in front of it as indentation.
fn open_key_column(line: &str) -> Option<usize> {
    let content = match line.find(" #") {
        Some(at) => &line[..at],
        None => line,
    };
    if !content.trim_end().ends_with(':') {
        return None;
    }
    let mut rest = line.trim_start();
    while let Some(after) = rest.strip_prefix("- ") {
        rest = after.trim_start();
    }
    (!rest.starts_with(['#', '-', '?'])).then(|| line.len() - rest.len())
}

/// `value` on one line: a flow collection, or a scalar. `json` writes JSON (for JSON
/// documents and collections the author wrote as JSON), spaced as people write it on one
/// line: `{"a": 1, "b": [2, 3]}`.
pub fn flow(value: &Node, json: bool) -> String {
    if json {
        return one_line_json(value);
    }
    match value {
        Node::Map(entries) => {
            let entries: Vec<_> = entries
                .iter()
                .map(|(k, v)| {
                    let key = scalar(&Node::String(k.clone()), Quoting::Plain, true);
                    format!("{key}: {}", flow(v, false))
                })
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Node::Seq(items) => {
            let items: Vec<_> = items.iter().map(|i| flow(i, false)).collect();
            format!("[{}]", items.join(", "))
        }
        scalar_node => scalar(scalar_node, Quoting::Plain, true),
    }
}

fn one_line_json(value: &Node) -> String {
    fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
        serde_json::to_string(value)
            .unwrap_or_else(|_| unreachable!("strings and scalars are JSON"))
    }
    match value {
        Node::Map(entries) => {
            let entries: Vec<_> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", json(k), one_line_json(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Node::Seq(items) => {
            let items: Vec<_> = items.iter().map(one_line_json).collect();
            format!("[{}]", items.join(", "))
        }
        scalar_node => json(scalar_node),
    }
}

/// A scalar: plain when that reads back as the same string under YAML 1.1 and 1.2 (what
/// Kubernetes tools read), else single-quoted when nothing needs escaping, else
/// double-quoted. `keep` is how the value it replaces was quoted: a value that could be
/// plain keeps those quotes; one that needs quotes gets the most readable safe ones.
pub fn scalar(value: &Node, keep: Quoting, in_flow: bool) -> String {
    let text = match value {
        Node::String(text) => text,
        Node::Null => return "null".to_owned(),
        Node::Bool(b) => return b.to_string(),
        Node::Number(n) => return n.to_string(),
        collection => return flow(collection, false),
    };
    let plain = plain_reads_back(text, in_flow);
    let single = single_quotes_suffice(text);
    match keep {
        Quoting::Plain if plain => text.clone(),
        Quoting::Double if plain => double_quoted(text),
        _ if single => format!("'{text}'"),
        _ => double_quoted(text),
    }
}

/// Words YAML 1.1 reads as booleans or null (`on`, `yes`, `~`, ...), in any case.
const RESERVED_WORDS: [&str; 11] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "<<",
];

/// Conservative: a letter, `/` or `_` first (no number, timestamp or indicator can start
/// so), then only characters that are never syntax in the context.
fn plain_reads_back(text: &str, in_flow: bool) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let allowed = |c: char| {
        c.is_alphanumeric()
            || matches!(c, '-' | '.' | '_' | '/' | '@' | '+' | '=')
            || (c == ':' && !in_flow)
    };
    (first.is_alphabetic() || first == '/' || first == '_')
        && text.chars().all(allowed)
        && !text.ends_with(':')
        && !RESERVED_WORDS
            .iter()
            .any(|word| text.eq_ignore_ascii_case(word))
}

/// Single quotes need no escapes unless the text has a `'` or a character a reader may take
/// for a line break or strip.
fn single_quotes_suffice(text: &str) -> bool {
    !text.chars().any(|c| c == '\'' || needs_escape(c))
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// JSON string syntax is YAML double-quoted syntax; JSON leaves the YAML 1.1 line
/// separators and the byte order mark raw, so they are escaped too.
fn double_quoted(text: &str) -> String {
    let json = serde_json::to_string(text).unwrap_or_else(|_| unreachable!("a string is JSON"));
    if !json.chars().any(needs_escape) {
        return json;
    }
    json.chars()
        .map(|c| {
            if needs_escape(c) {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
