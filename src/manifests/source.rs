//! Where manifests come from: files, directories (recursively, in sorted order) and standard
//! input, read whole into memory as text, a byte order mark set aside to be written back.
//! The only file-system reading of the module; it does not parse.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{HELM_CHART_FILE, ManifestError, Skipped};

/// The path that means standard input.
pub const STDIN_PATH: &str = "-";
/// How standard input is named in messages and reports.
pub const STDIN_NAME: &str = "<stdin>";
/// The names kustomize reads a kustomization from.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
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

    /// The file's own name (`Chart.yaml`), when it was read from a file.
    pub fn file_name(&self) -> Option<&str> {
        self.path.as_deref()?.file_name()?.to_str()
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
/// recursively, sorted by name) or `-` (standard input). A Helm chart met inside a
/// directory is an error here; [`read_sources_noting`] skips it instead.
pub fn read_sources(paths: &[PathBuf], stdin: &mut dyn Read) -> Result<Vec<Source>, ManifestError> {
    let (sources, charts) = read_sources_noting(paths, stdin)?;
    match charts.into_iter().next() {
        Some(chart) => Err(ManifestError::HelmChart { path: chart.file }),
        None => Ok(sources),
    }
}

/// [`read_sources`], setting aside the Helm charts found below a directory (a directory with a
/// `Chart.yaml`: templates and values, not manifests), one [`Skipped`] each. A chart given
/// itself is an error.
pub fn read_sources_noting(
    paths: &[PathBuf],
    stdin: &mut dyn Read,
) -> Result<(Vec<Source>, Vec<Skipped>), ManifestError> {
    let mut sources = Vec::new();
    let mut charts = Vec::new();
    for path in paths {
        if path.as_os_str() == STDIN_PATH {
            let mut bytes = Vec::new();
            stdin
                .read_to_end(&mut bytes)
                .map_err(|source| read_error(Path::new(STDIN_NAME), source))?;
            let text = utf8(Path::new(STDIN_NAME), bytes)?;
            sources.push(Source::new(STDIN_NAME, text, Format::Yaml));
        } else if path.is_dir() {
            if is_helm_chart(path) {
                return Err(ManifestError::HelmChart {
                    path: path.display().to_string(),
                });
            }
            let mut files = Vec::new();
            walk(path, &mut files, &mut charts)?;
            if files.is_empty() && charts.is_empty() {
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
    let skipped = charts
        .into_iter()
        .map(|chart| Skipped {
            file: chart.display().to_string(),
            document: None,
            line: None,
            reason: format!(
                "a Helm chart ({HELM_CHART_FILE}): render it (helm template) and mutate the output"
            ),
        })
        .collect();
    Ok((sources, skipped))
}

fn is_helm_chart(dir: &Path) -> bool {
    dir.join(HELM_CHART_FILE).is_file()
}

/// The kustomization beside a manifest file, if its directory has one: kustomize may build
/// that file with an overlay's changes (an `images:` override), so what `mutate` writes into
/// it is not what is applied.
pub fn kustomization_beside(path: &Path) -> Option<PathBuf> {
    let dir = path.parent()?;
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    KUSTOMIZATION_FILES
        .iter()
        .map(|name| dir.join(name))
        .find(|candidate| candidate.is_file() && candidate.as_path() != path)
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

/// Manifest files under `dir`, depth first in name order, and the Helm charts below it (not
/// entered). Symbolic links to directories are not followed (no loops).
fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    charts: &mut Vec<PathBuf>,
) -> Result<(), ManifestError> {
    let entries = fs::read_dir(dir).map_err(|source| read_error(dir, source))?;
    let mut entries = entries
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| read_error(dir, source))?;
    entries.sort();
    for path in entries {
        let link = fs::symlink_metadata(&path).map_err(|source| read_error(&path, source))?;
        if link.is_dir() && is_helm_chart(&path) {
            charts.push(path);
        } else if link.is_dir() {
            walk(&path, out, charts)?;
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
