//! Writing a manifest back over its file for `mutate --in-place`. The new text goes to a
//! temporary file in the same directory, takes the original's permissions, is flushed to
//! disk and renamed over the original: a rename within a directory is atomic, so an
//! interrupted run leaves the old file or the new one, never half of one. A symbolic link
//! keeps pointing where it did; its target is replaced. It does not decide what to write.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Temporary files start so, hidden and recognisable if a crash ever leaves one.
const TEMPORARY_PREFIX: &str = ".autoredeploy-";

/// A file that could not be replaced; the original is untouched.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}")]
pub struct WriteError {
    pub path: String,
    #[source]
    pub source: io::Error,
}

/// Replace the file at `path` with `text`, keeping its permissions.
pub fn write_in_place(path: &Path, text: &str) -> Result<(), WriteError> {
    let error = |source| WriteError {
        path: path.display().to_string(),
        source,
    };
    let target = fs::canonicalize(path).map_err(error)?;
    replace(&target, text.as_bytes()).map_err(error)
}

fn replace(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let permissions = fs::metadata(target)?.permissions();
    let directory = target
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut temporary = tempfile::Builder::new()
        .prefix(TEMPORARY_PREFIX)
        .tempfile_in(&directory)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    fs::set_permissions(temporary.path(), permissions)?;
    temporary.persist(target).map_err(|err| err.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_replaced_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.yaml");
        fs::write(&path, "old\n").unwrap();
        write_in_place(&path, "new\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["app.yaml"]);
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_kept_and_a_symbolic_link_stays_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        fs::write(&real, "old\n").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        write_in_place(&link, "new\n").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new\n");
        let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_in_place(&dir.path().join("gone.yaml"), "x").unwrap_err();
        assert!(err.to_string().ends_with("gone.yaml"), "{err}");
    }
}
