//! Applying the engine's JSON Patch to one document's text as the smallest edits, the way a
//! person would make them: every comment, quote and indentation the patch does not touch
//! stays. The `yaml-edit` crate's lossless syntax tree decides where each edit goes (after
//! the last sibling, before trailing comments, inside a flow collection, with the document's
//! line breaks); it is given a placeholder scalar, which is then replaced by the new value
//! written in the document's own layout ([`Layout`]). This module does not check that the
//! result means the mutated object, nor fall back when it cannot edit: the caller does both.

use std::fmt;
use std::str::FromStr;

use json_patch::{Patch, PatchOperation};
use yaml_edit::{Document, Mapping, Sequence, YamlNode};

use super::node::{Node, reorder};
use super::style::{Layout, Quoting, flow, scalar};

/// Marks where a new value goes until it is written; a document containing it is not edited.
const PLACEHOLDER: &str = "autoredeploy-pending-edit-";
/// The key that merges another mapping's keys into this one (YAML 1.1 merge key type).
const MERGE_KEY: &str = "<<";

/// Operations on one document: each patch applies below its prefix (`/items/3` for the
/// fourth item of a List, empty for the document itself).
pub type Edits = [(String, Patch)];

/// Why a document cannot be edited in place; shown in the note about its re-rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsupported {
    /// The path to an edit goes through an alias, so the edit would change its anchor.
    Alias(String),
    /// The mapping at this path takes keys from a merge key.
    MergeKey(String),
    /// The text already contains the placeholder.
    Placeholder,
    /// Anything else the editor cannot do (a removal, a tagged node, a parse error).
    Editor(String),
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::Alias(path) => write!(
                f,
                "{path} is an alias: an edit through it would change its anchor and every alias"
            ),
            Unsupported::MergeKey(path) => {
                write!(f, "the mapping at {path} takes keys from a merge key (<<)")
            }
            Unsupported::Placeholder => write!(f, "the text contains {PLACEHOLDER}"),
            Unsupported::Editor(message) => write!(f, "{message}"),
        }
    }
}

/// Where a placeholder sits, which decides how its value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The value of a key in a block mapping.
    BlockValue,
    /// An item of a block sequence.
    BlockItem,
    /// Inside a flow collection.
    Flow,
}

struct Pending {
    placeholder: String,
    value: Node,
    slot: Slot,
    keep: Quoting,
}

/// `text` (one document's content) with `edits` applied. `json` writes every new value as
/// JSON (a `*.json` source).
pub fn apply(text: &str, edits: &Edits, json: bool) -> Result<String, Unsupported> {
    if text.contains(PLACEHOLDER) {
        return Err(Unsupported::Placeholder);
    }
    let doc = Document::from_str(text)
        .map_err(|err| Unsupported::Editor(format!("the YAML editor cannot read it: {err}")))?;
    let mut pending = Vec::new();
    for (prefix, patch) in edits {
        for operation in &patch.0 {
            let placeholder = format!("{PLACEHOLDER}{}", pending.len());
            pending.push(stage(&doc, prefix, operation, placeholder)?);
        }
    }
    let mut edited = doc.to_string();
    let layout = Layout::of(text);
    for item in &pending {
        edited = substitute(&edited, item, &layout, json)?;
    }
    Ok(edited)
}

/// Puts a placeholder where `operation` writes; returns what replaces it.
fn stage(
    doc: &Document,
    prefix: &str,
    operation: &PatchOperation,
    placeholder: String,
) -> Result<Pending, Unsupported> {
    let (path, value) = match operation {
        PatchOperation::Add(op) => (format!("{prefix}{}", op.path), &op.value),
        PatchOperation::Replace(op) => (format!("{prefix}{}", op.path), &op.value),
        PatchOperation::Remove(_)
        | PatchOperation::Move(_)
        | PatchOperation::Copy(_)
        | PatchOperation::Test(_) => {
            return Err(Unsupported::Editor(
                "the patch removes, moves or copies a value; only adds and replaces are edited"
                    .into(),
            ));
        }
    };
    let tokens: Vec<String> = path.split('/').skip(1).map(unescape).collect();
    let Some((last, parents)) = tokens.split_last() else {
        return Err(Unsupported::Editor(
            "the patch replaces the whole document".into(),
        ));
    };
    let replace = matches!(operation, PatchOperation::Replace(_));
    let (slot, keep) = match walk(doc, parents)? {
        YamlNode::Mapping(map) => stage_in_mapping(&map, last, &placeholder, &path)?,
        YamlNode::Sequence(seq) => stage_in_sequence(&seq, last, &placeholder, &path, replace)?,
        _ => return Err(Unsupported::Editor(format!("no collection holds {path}"))),
    };
    Ok(Pending {
        placeholder,
        value: reorder(value, None),
        slot,
        keep,
    })
}

/// Sets `key` to the placeholder (a new key goes after the last one).
fn stage_in_mapping(
    map: &Mapping,
    key: &str,
    placeholder: &str,
    path: &str,
) -> Result<(Slot, Quoting), Unsupported> {
    let old = map.get(key);
    if let Some(YamlNode::Alias(_)) = old {
        return Err(Unsupported::Alias(path.to_owned()));
    }
    map.set(key, placeholder);
    let slot = if map.is_flow_style() {
        Slot::Flow
    } else {
        Slot::BlockValue
    };
    Ok((slot, quoting(old.as_ref())))
}

/// Puts the placeholder at `token` (`-` is the end): over the item for a replace, before it
/// for an add.
fn stage_in_sequence(
    seq: &Sequence,
    token: &str,
    placeholder: &str,
    path: &str,
    replace: bool,
) -> Result<(Slot, Quoting), Unsupported> {
    let index = if token == "-" {
        seq.len()
    } else {
        index(token, path)?
    };
    let old = seq.get(index).filter(|_| replace);
    if let Some(YamlNode::Alias(_)) = old {
        return Err(Unsupported::Alias(path.to_owned()));
    }
    if replace {
        seq.set(index, placeholder);
    } else if index == seq.len() {
        seq.push(placeholder);
    } else {
        seq.insert(index, placeholder);
    }
    let slot = if seq.is_flow_style() {
        Slot::Flow
    } else {
        Slot::BlockItem
    };
    Ok((slot, quoting(old.as_ref())))
}

/// How the value being replaced was quoted; a new value has no quotes to keep.
fn quoting(old: Option<&YamlNode>) -> Quoting {
    old.map_or(Quoting::Plain, |node| Quoting::of(&node.to_string()))
}

/// The collection at `tokens`, refusing to go through aliases and merge keys.
fn walk(doc: &Document, tokens: &[String]) -> Result<YamlNode, Unsupported> {
    let mut node = match (doc.as_mapping(), doc.as_sequence()) {
        (Some(map), _) => YamlNode::Mapping(map),
        (None, Some(seq)) => YamlNode::Sequence(seq),
        _ => {
            return Err(Unsupported::Editor(
                "the document is not a collection".into(),
            ));
        }
    };
    let mut path = String::new();
    for token in tokens {
        check_node(&node, &path)?;
        let next = match &node {
            YamlNode::Mapping(map) => map.get(token.as_str()),
            YamlNode::Sequence(seq) => seq.get(index(token, &path)?),
            _ => None,
        };
        path = format!("{path}/{}", escape(token));
        node = next.ok_or_else(|| Unsupported::Editor(format!("nothing at {path}")))?;
    }
    check_node(&node, &path)?;
    Ok(node)
}

fn check_node(node: &YamlNode, path: &str) -> Result<(), Unsupported> {
    let path = if path.is_empty() { "/" } else { path };
    match node {
        YamlNode::Alias(_) => Err(Unsupported::Alias(path.to_owned())),
        YamlNode::Mapping(map) if map.contains_key(MERGE_KEY) => {
            Err(Unsupported::MergeKey(path.to_owned()))
        }
        YamlNode::Mapping(_) | YamlNode::Sequence(_) => Ok(()),
        _ => Err(Unsupported::Editor(format!(
            "{path} is not a plain collection"
        ))),
    }
}

fn index(token: &str, path: &str) -> Result<usize, Unsupported> {
    token
        .parse()
        .map_err(|_| Unsupported::Editor(format!("{path}: {token:?} is not an index")))
}

/// RFC 6901: `~1` is `/`, `~0` is `~`.
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `text` with `pending`'s placeholder replaced by its value, laid out for where it sits.
fn substitute(
    text: &str,
    pending: &Pending,
    layout: &Layout,
    json: bool,
) -> Result<String, Unsupported> {
    let lost = || Unsupported::Editor("the editor wrote the new value unexpectedly".into());
    let mut start = text.find(&pending.placeholder).ok_or_else(lost)?;
    let mut end = start + pending.placeholder.len();
    if text[end..].contains(&pending.placeholder) {
        return Err(lost());
    }
    // In a flow collection whose scalars are quoted, the editor quotes the placeholder too:
    // double quotes mean JSON, whose values are written as JSON; single quotes are kept.
    let wrapped = |quote: char| text[..start].ends_with(quote) && text[end..].starts_with(quote);
    let (quoted_json, quoted_single) = (wrapped('"'), wrapped('\''));
    if quoted_json || quoted_single {
        start -= 1;
        end += 1;
    }
    let keep = if quoted_single {
        Quoting::Single
    } else {
        pending.keep
    };
    let line_start = text[..start].rfind('\n').map_or(0, |at| at + 1);
    let column = text[line_start..start].chars().count();
    let value = &pending.value;
    let written = match pending.slot {
        Slot::Flow => match value {
            Node::Map(_) | Node::Seq(_) => flow(value, json || quoted_json),
            _ if json || quoted_json => flow(value, true),
            _ => scalar(value, keep, true),
        },
        Slot::BlockItem => layout.after_dash(value, column),
        Slot::BlockValue => {
            // `key: value`: the editor wrote one space after the colon; the value's own text
            // decides what follows the colon.
            if !text[..start].ends_with(' ') {
                return Err(lost());
            }
            start -= 1;
            let key_column = key_column(&text[line_start..]);
            match value {
                Node::Map(e) if !e.is_empty() => layout.after_key(value, key_column),
                Node::Seq(i) if !i.is_empty() => layout.after_key(value, key_column),
                _ => format!(" {}", scalar(value, keep, false)),
            }
        }
    };
    Ok(format!("{}{written}{}", &text[..start], &text[end..]))
}

/// The column of the key on a line, past its indentation and any `- ` item markers.
fn key_column(line: &str) -> usize {
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches(' ');
        match trimmed.strip_prefix("- ") {
            Some(after) => rest = after,
            None => return line.len() - trimmed.len(),
        }
    }
}

#[cfg(test)]
mod tests;
