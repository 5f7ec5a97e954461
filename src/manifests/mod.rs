//! Multi-document YAML and JSON manifests in and out, and unified diffs: the only YAML code.
//! It reads sources (files, directories, standard input), cuts them into documents that
//! remember their place in the text (for located errors and byte-exact reprinting), applies
//! the engine's patches to the text as a person would edit it (re-rendering a document whole
//! only when that cannot be done, with a note saying why), writes files back in place, and
//! diffs texts. It knows the shape of a Kubernetes object (a mapping with a `kind`, `List`
//! items) but nothing of the rules.

mod edit;
mod node;
mod render;
mod source;
mod split;
mod style;
mod write;

pub use render::{DocumentChange, Rendered, Rewrite, concatenate, unified_diff};
pub use source::{
    Format, STDIN_PATH, Source, kustomization_beside, read_sources, read_sources_noting,
};
pub use write::{WriteError, write_in_place};

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use node::Node;

/// The `kind` of a list of objects (`oc get -o yaml` writes one).
pub const LIST_KIND: &str = "List";
const KIND: &str = "kind";
const API_VERSION: &str = "apiVersion";
/// The metadata file of a Helm chart: it has an `apiVersion` (`v2`) and no `kind`.
pub const HELM_CHART_FILE: &str = "Chart.yaml";
/// The field of a `List` holding its objects.
pub const LIST_ITEMS: &str = "items";

/// Why manifests could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: line {line}: not UTF-8 text")]
    NotUtf8 { path: String, line: usize },
    #[error("{path}: no *.yaml, *.yml or *.json file in this directory")]
    NoManifests { path: String },
    #[error("{file}: document {document}, line {line}, column {column}: {message}")]
    Syntax {
        file: String,
        document: usize,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: document {document}, line {line}: {problem}")]
    Shape {
        file: String,
        document: usize,
        line: usize,
        problem: Problem,
    },
    #[error(
        "{file}: line {line}: a Helm (Go) template, not a manifest (`{{{{` on this line): render it first, e.g. helm template NAME CHART | autoredeploy mutate -f -, and apply what you mutate"
    )]
    Template { file: String, line: usize },
    #[error(
        "{path}: a Helm chart ({HELM_CHART_FILE}): its templates are not manifests; render it first, e.g. helm template NAME {path} | autoredeploy mutate -f -"
    )]
    HelmChart { path: String },
    #[error("{file}: document {document}: cannot write the mutated object: {message}")]
    Write {
        file: String,
        document: usize,
        message: String,
    },
}

/// A document that parses but is not a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the object has no `kind` (a non-empty string)")]
    MissingKind,
    #[error("a List must have an `items` sequence")]
    ListWithoutItems,
    #[error("item {0} of the List: expected a mapping (a Kubernetes object)")]
    ItemNotMapping(usize),
    #[error("item {0} of the List has no `kind` (a non-empty string)")]
    ItemMissingKind(usize),
}

/// One document with content.
#[derive(Debug, Clone)]
pub struct Document {
    /// 1-based, counting only documents with content.
    pub index: usize,
    /// 1-based line where the document's content starts.
    pub line: usize,
    /// The object (or `List`) as the engine reads it.
    pub value: Value,
    /// Where the content sits in the source text.
    segment: split::Segment,
    /// The same data in source key order.
    node: Node,
}

impl Document {
    /// The items of a `List`, each an object; `None` for a single object.
    pub fn items(&self) -> Option<&[Value]> {
        list_items(&self.value)
    }

    /// The original text of the document's content.
    pub fn text<'a>(&self, manifest: &'a Manifest) -> &'a str {
        &manifest.source.text[self.segment.start..self.segment.end]
    }
}

/// One parsed source.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub source: Source,
    /// Kubernetes objects (empty documents, explicit nulls and other YAML are left out), in
    /// order.
    pub documents: Vec<Document>,
    /// Documents with content that are not Kubernetes objects (a GitHub workflow, Helm
    /// values, a kustomization without `kind`): printed and written back as they are.
    pub skipped: Vec<Skipped>,
}

/// Input left as it is because it is not a Kubernetes object: a document, or a whole
/// directory (a Helm chart found in a directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub file: String,
    /// 1-based index of the document in its file; none for a directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    /// 1-based line where the document starts; none for a directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.document, self.line) {
            (Some(document), Some(line)) => write!(
                f,
                "{}:{line}: document {document} left as it is: {}",
                self.file, self.reason
            ),
            _ => write!(f, "{}: left as it is: {}", self.file, self.reason),
        }
    }
}

impl Manifest {
    /// Every object, List items included, in order.
    pub fn objects(&self) -> impl Iterator<Item = &Value> {
        self.documents
            .iter()
            .flat_map(|doc| doc.items().unwrap_or(std::slice::from_ref(&doc.value)))
    }
}

fn list_items(value: &Value) -> Option<&[Value]> {
    (value.get(KIND)?.as_str()? == LIST_KIND)
        .then(|| value.get(LIST_ITEMS)?.as_array().map(Vec::as_slice))
        .flatten()
}

/// Parse a source into its documents and check each is an object (or a `List` of objects);
/// documents that are no Kubernetes object at all are set aside in `skipped`. A source that
/// does not parse, or whose objects are malformed, and that holds Go template actions is
/// reported as the template it is.
pub fn parse(source: Source) -> Result<Manifest, ManifestError> {
    let parsed = match source.format {
        Format::Yaml => parse_yaml(&source),
        Format::Json => parse_json(&source),
    };
    let parsed = parsed.map_err(|err| as_template(&source, err))?;
    let mut documents = Vec::with_capacity(parsed.len());
    let mut skipped = Vec::new();
    for doc in parsed {
        match check_shape(&doc.value, &source) {
            Ok(Shape::Object) => documents.push(doc),
            Ok(Shape::Foreign(reason)) => skipped.push(Skipped {
                file: source.name.clone(),
                document: Some(doc.index),
                line: Some(doc.line),
                reason,
            }),
            Err(problem) => {
                let err = ManifestError::Shape {
                    file: source.name.clone(),
                    document: doc.index,
                    line: doc.line,
                    problem,
                };
                return Err(as_template(&source, err));
            }
        }
    }
    Ok(Manifest {
        source,
        documents,
        skipped,
    })
}

/// `err`, or the template error when the source holds a Go template action: its parse
/// error would only confuse.
fn as_template(source: &Source, err: ManifestError) -> ManifestError {
    match template_line(&source.text) {
        Some(line) => ManifestError::Template {
            file: source.name.clone(),
            line,
        },
        None => err,
    }
}

/// The first line with a Go template action (`{{`), outside comments. GitHub Actions'
/// expressions (`${{ ... }}`) are not template actions.
fn template_line(text: &str) -> Option<usize> {
    text.lines().enumerate().find_map(|(i, line)| {
        if line.trim_start().starts_with('#') {
            return None;
        }
        let action = line
            .match_indices("{{")
            .any(|(at, _)| !line[..at].ends_with('$'));
        action.then_some(i + 1)
    })
}

fn yaml_options() -> serde_saphyr::Options {
    // Kubernetes reads YAML 1.1, where `0644` (a volume's defaultMode) is octal.
    serde_saphyr::options! { legacy_octal_numbers: true, with_snippet: false }
}

fn parse_yaml(source: &Source) -> Result<Vec<Document>, ManifestError> {
    let mut documents = Vec::new();
    for (i, segment) in split::split(&source.text).iter().enumerate() {
        let text = &source.text[segment.start..segment.end];
        let node: Node = serde_saphyr::from_str_with_options(text, yaml_options())
            .map_err(|err| yaml_error(source, i + 1, segment, &err))?;
        push_document(&mut documents, i + 1, segment, node);
    }
    Ok(documents)
}

fn yaml_error(
    source: &Source,
    document: usize,
    segment: &split::Segment,
    err: &serde_saphyr::Error,
) -> ManifestError {
    use serde_saphyr::MessageFormatter;
    let (line, column) = err
        .location()
        .map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
    let column = if line == 1 {
        column + segment.column - 1
    } else {
        column
    };
    let message = PlainMessages.format_message(err);
    ManifestError::Syntax {
        file: source.name.clone(),
        document,
        line: segment.line + line.max(1) - 1,
        column,
        message: without_control_characters(&message),
    }
}

/// The parser's messages, without its advice to library users ("set DuplicateKeyPolicy in
/// Options if acceptable", budget internals): the error already names file and line.
struct PlainMessages;

impl serde_saphyr::MessageFormatter for PlainMessages {
    fn format_message<'a>(&self, err: &'a serde_saphyr::Error) -> std::borrow::Cow<'a, str> {
        use serde_saphyr::{DefaultMessageFormatter, Error};
        match err {
            Error::WithSnippet { error, .. } | Error::AliasError { error, .. } => {
                self.format_message(error)
            }
            Error::DuplicateMappingKey { key: Some(key), .. } => {
                format!("duplicate key {key:?}: a key may appear only once in a mapping").into()
            }
            Error::DuplicateMappingKey { key: None, .. } => {
                "duplicate key: a key may appear only once in a mapping".into()
            }
            Error::Budget { .. } => {
                "too large to read: too many nodes, aliases or nesting levels".into()
            }
            other => DefaultMessageFormatter.format_message(other),
        }
    }
}

fn parse_json(source: &Source) -> Result<Vec<Document>, ManifestError> {
    let text = source.text.trim_end();
    let start = text.len() - text.trim_start().len();
    if start == text.len() {
        return Ok(Vec::new());
    }
    let node: Node = serde_json::from_str(text).map_err(|err| ManifestError::Syntax {
        file: source.name.clone(),
        document: 1,
        line: err.line(),
        column: err.column(),
        message: strip_json_location(&err.to_string()),
    })?;
    let line = 1 + text[..start].matches('\n').count();
    let segment = split::Segment {
        start,
        end: text.len(),
        line,
        column: 1,
    };
    let mut documents = Vec::new();
    push_document(&mut documents, 1, &segment, node);
    Ok(documents)
}

/// One line for a terminal: the parser's message may quote raw input.
fn without_control_characters(message: &str) -> String {
    message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// serde_json appends " at line L column C"; the error states the location itself.
fn strip_json_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

fn push_document(out: &mut Vec<Document>, index: usize, segment: &split::Segment, node: Node) {
    if node == Node::Null {
        return;
    }
    out.push(Document {
        index,
        line: segment.line,
        value: node.to_value(),
        segment: segment.clone(),
        node,
    });
}

/// What a document with content is.
enum Shape {
    /// A Kubernetes object, or a `List` of them.
    Object,
    /// Other YAML (a workflow, Helm values, a kustomization without `kind`): why it is not an
    /// object.
    Foreign(String),
}

fn check_shape(value: &Value, source: &Source) -> Result<Shape, Problem> {
    let Value::Object(members) = value else {
        return Ok(Shape::Foreign(format!(
            "{}, not a Kubernetes object",
            type_name(value)
        )));
    };
    if !has_kind(value) {
        if !members.contains_key(API_VERSION) && !members.contains_key(KIND) {
            return Ok(Shape::Foreign(
                "no apiVersion or kind, so not a Kubernetes object".into(),
            ));
        }
        if source.file_name() == Some(HELM_CHART_FILE) {
            return Ok(Shape::Foreign("a Helm chart's metadata".into()));
        }
        return Err(Problem::MissingKind);
    }
    if value[KIND] != LIST_KIND {
        return Ok(Shape::Object);
    }
    let items = list_items(value).ok_or(Problem::ListWithoutItems)?;
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(Problem::ItemNotMapping(i + 1));
        }
        if !has_kind(item) {
            return Err(Problem::ItemMissingKind(i + 1));
        }
    }
    Ok(Shape::Object)
}

fn has_kind(value: &Value) -> bool {
    value
        .get(KIND)
        .and_then(Value::as_str)
        .is_some_and(|k| !k.is_empty())
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod edit_properties;
#[cfg(test)]
mod tests;
