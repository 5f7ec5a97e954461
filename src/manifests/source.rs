//! Where manifests come from: files, directories (recursively, in sorted order) and standard
//! input, read whole into memory as text, a byte order mark set aside to be written back.
//! The only file-system reading of the module; it does not parse.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::ManifestError;

/// The path that means standard input.
pub const STDIN_PATH: &str = "-";
/// How standard input is named in messages and reports.
pub const STDIN_NAME: &str = "<stdin>";
/// Files a directory contributes.
pub const MANIFEST_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];
const JSON_EXTENSION: &str = "json";
const BYTE_ORDER_MARK: char = '\u{feff}';

/// How a source is parsed and how its changed documents are written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A YAML stream (standard input and every file not named `*.json`; JSON is YAML too).
    Yaml,
    /// One JSON value (`*.json`).
    Json,
}

/// The text of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path as given (or found in a directory), or `<stdin>`.
    pub name: String,
    /// The text without its byte order mark.
    pub text: String,
    pub format: Format,
    /// The input began with a byte order mark; written output keeps it.
    pub byte_order_mark: bool,
    /// The file it was read from (none for standard input).
    pub path: Option<PathBuf>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>, format: Format) -> Self {
        let mut text: String = text.into();
        let byte_order_mark = text.starts_with(BYTE_ORDER_MARK);
        if byte_order_mark {
            text.drain(..BYTE_ORDER_MARK.len_utf8());
        }
        Source {
            name: name.into(),
            text,
            format,
            byte_order_mark,
            path: None,
        }
    }

    /// `text` as the input had it: with its byte order mark, if it had one.
    pub fn with_byte_order_mark(&self, text: &str) -> String {
        if self.byte_order_mark {
            format!("{BYTE_ORDER_MARK}{text}")
        } else {
            text.to_owned()
        }
    }
}

/// `bytes` as text, or the error naming the first line that is not UTF-8.
fn utf8(name: &Path, bytes: Vec<u8>) -> Result<String, ManifestError> {
    String::from_utf8(bytes).map_err(|err| {
        let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        ManifestError::NotUtf8 {
            path: name.display().to_string(),
            line: 1 + valid.iter().filter(|b| **b == b'\n').count(),
        }
    })
}

/// Read every path in order: a file, a directory (its `*.yaml`, `*.yml` and `*.json` files,
/// recursively, sorted by name) or `-` (standard input).
pub fn read_sources(paths: &[PathBuf], stdin: &mut dyn Read) -> Result<Vec<Source>, ManifestError> {
    let mut sources = Vec::new();
    for path in paths {
        if path.as_os_str() == STDIN_PATH {
            let mut bytes = Vec::new();
            stdin
                .read_to_end(&mut bytes)
                .map_err(|source| read_error(Path::new(STDIN_NAME), source))?;
            let text = utf8(Path::new(STDIN_NAME), bytes)?;
            sources.push(Source::new(STDIN_NAME, text, Format::Yaml));
        } else if path.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files)?;
            if files.is_empty() {
                return Err(ManifestError::NoManifests {
                    path: path.display().to_string(),
                });
            }
            for file in files {
                sources.push(read_file(&file)?);
            }
        } else {
            sources.push(read_file(path)?);
        }
    }
    Ok(sources)
}

fn read_file(path: &Path) -> Result<Source, ManifestError> {
    let bytes = fs::read(path).map_err(|source| read_error(path, source))?;
    let text = utf8(path, bytes)?;
    let format = match path.extension() {
        Some(ext) if ext.eq_ignore_ascii_case(JSON_EXTENSION) => Format::Json,
        _ => Format::Yaml,
    };
    let mut source = Source::new(path.display().to_string(), text, format);
    source.path = Some(path.to_path_buf());
    Ok(source)
}

/// Manifest files under `dir`, depth first in name order. Symbolic links to directories are
/// not followed (no loops).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ManifestError> {
    let entries = fs::read_dir(dir).map_err(|source| read_error(dir, source))?;
    let mut entries = entries
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| read_error(dir, source))?;
    entries.sort();
    for path in entries {
        let link = fs::symlink_metadata(&path).map_err(|source| read_error(&path, source))?;
        if link.is_dir() {
            walk(&path, out)?;
        } else if path.is_file() && is_manifest(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn is_manifest(path: &Path) -> bool {
    path.extension().is_some_and(|ext| {
        MANIFEST_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known))
    })
}

fn read_error(path: &Path, source: std::io::Error) -> ManifestError {
    ManifestError::Read {
        path: path.display().to_string(),
        source,
    }
}
