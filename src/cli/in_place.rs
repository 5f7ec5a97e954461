//! `mutate --in-place`: writing each changed input back over its file, and nothing else.
//! Files whose text would not change are not touched (their modification time stays);
//! the atomic replacement itself is the manifests module's. It must not decide what a file
//! becomes: it writes exactly the text `mutate` prints for it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::mutate::FileRun;
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

/// Write every file whose output differs from its input, one line per file on `out`;
/// returns how many were written.
pub fn write_changed(files: &[FileRun], out: &mut dyn Write) -> anyhow::Result<usize> {
    let mut written = 0;
    for file in files.iter().filter(|f| f.output != f.original) {
        let path = file
            .path
            .as_deref()
            .with_context(|| format!("{}: no file to write", file.name))?;
        manifests::write_in_place(path, &file.output)?;
        writeln!(out, "autoredeploy: updated {}", file.name)?;
        written += 1;
    }
    Ok(written)
}
