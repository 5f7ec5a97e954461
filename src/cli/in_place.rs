//! `mutate --in-place`: writing each changed input back over its file, and nothing else.
//! Files whose text would not change are not touched (their modification time stays);
//! the atomic replacement itself is the manifests module's. It must not decide what a file
//! becomes: it writes exactly the text `mutate` prints for it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::manifests;

/// `--in-place` needs files to write to: standard input has none.
pub fn check_inputs(files: &[PathBuf]) -> anyhow::Result<()> {
    if files.iter().any(|f| f.as_os_str() == manifests::STDIN_PATH) {
        anyhow::bail!(
            "--in-place writes the files it read; standard input (`-f -`) has no file to write"
        );
    }
    Ok(())
}

/// One input file as `mutate` would print it.
pub struct Output<'a> {
    /// How messages name it.
    pub name: &'a str,
    /// The file it came from; none for standard input.
    pub path: Option<&'a Path>,
    pub original: &'a str,
    pub output: &'a str,
}

/// Write every file whose output differs from its input, one line per file on `out`;
/// returns how many were written.
pub fn write_changed<'a>(
    files: impl IntoIterator<Item = Output<'a>>,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let mut written = 0;
    for file in files.into_iter().filter(|f| f.output != f.original) {
        let path = file
            .path
            .with_context(|| format!("{}: no file to write", file.name))?;
        manifests::write_in_place(path, file.output)?;
        writeln!(out, "autoredeploy: updated {}", file.name)?;
        written += 1;
    }
    Ok(written)
}
