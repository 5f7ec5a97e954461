//! Where manifests come from: files, directories (recursively, in sorted order) and standard
//! input, read whole into memory as text. The only file-system code of the module; it does
//! not parse.

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
    pub text: String,
    pub format: Format,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>, format: Format) -> Self {
        let mut text: String = text.into();
        if text.starts_with(BYTE_ORDER_MARK) {
            text.drain(..BYTE_ORDER_MARK.len_utf8());
        }
        Source {
            name: name.into(),
            text,
            format,
        }
    }
}

/// Read every path in order: a file, a directory (its `*.yaml`, `*.yml` and `*.json` files,
/// recursively, sorted by name) or `-` (standard input).
pub fn read_sources(paths: &[PathBuf], stdin: &mut dyn Read) -> Result<Vec<Source>, ManifestError> {
    let mut sources = Vec::new();
    for path in paths {
        if path.as_os_str() == STDIN_PATH {
            let mut text = String::new();
            stdin
                .read_to_string(&mut text)
                .map_err(|source| read_error(Path::new(STDIN_NAME), source))?;
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
    let text = fs::read_to_string(path).map_err(|source| read_error(path, source))?;
    let format = match path.extension() {
        Some(ext) if ext.eq_ignore_ascii_case(JSON_EXTENSION) => Format::Json,
        _ => Format::Yaml,
    };
    Ok(Source::new(path.display().to_string(), text, format))
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
