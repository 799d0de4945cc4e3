//! Files that hold secrets (keys, passwords, PKCS#12 data, profiles with an identity):
//! created readable by their owner only, and refused when others can read them.
//!
//! On Unix a secret file is written with mode 0600, and reading one whose mode lets the
//! group or others read or write it fails with [`Error::SecretFileTooOpen`], as `ssh`
//! does for a private key. Elsewhere the files are written and read without a mode check.

use std::io::{Read, Write};
use std::path::Path;

use crate::{Error, Result};

/// Reads the secret file at `path`, refusing it when its permissions let anyone but its
/// owner read or write it (Unix).
pub fn read_secret_file(path: &Path) -> Result<Vec<u8>> {
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, "cannot read", e))?;
    // The mode of the file that was opened, not of whatever the name points to later.
    let metadata = file
        .metadata()
        .map_err(|e| io_error(path, "cannot read", e))?;
    check_owner_only(path, &metadata)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| io_error(path, "cannot read", e))?;
    Ok(bytes)
}

/// Writes `contents` to `path`, creating the file readable by its owner only or
/// replacing an existing file's contents (its permissions are narrowed to the owner
/// first).
pub fn write_secret_file(path: &Path, contents: &[u8]) -> Result<()> {
    let file = open_owner_only(path, false)?;
    write_all(path, file, contents)
}

/// Creates the file `path` readable by its owner only and writes `contents`; fails when
/// the file already exists.
pub fn create_secret_file(path: &Path, contents: &[u8]) -> Result<()> {
    let file = open_owner_only(path, true)?;
    write_all(path, file, contents)
}

/// Narrows the permissions of an existing file at `path` to its owner (0600 on Unix);
/// a missing file is left alone.
pub fn restrict_to_owner(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| io_error(path, "cannot restrict the permissions of", e))
            }
            Ok(_) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(io_error(path, "cannot read the permissions of", error)),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

fn write_all(path: &Path, mut file: std::fs::File, contents: &[u8]) -> Result<()> {
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(path, "cannot write", e))
}

fn open_owner_only(path: &Path, create_new: bool) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .map_err(|e| io_error(path, "cannot create", e))?;
    // An existing file keeps its mode on open: narrow it before any byte is written.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io_error(path, "cannot restrict the permissions of", e))?;
    }
    file.set_len(0)
        .map_err(|e| io_error(path, "cannot write", e))?;
    Ok(file)
}

#[cfg(unix)]
fn check_owner_only(path: &Path, metadata: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(Error::SecretFileTooOpen {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_path: &Path, _metadata: &std::fs::Metadata) -> Result<()> {
    Ok(())
}

fn io_error(path: &Path, what: &str, error: std::io::Error) -> Error {
    Error::SecretFile(format!("{what} {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    #[cfg(unix)]
    fn written_owner_only_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_secret_file(&path, b"first").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read_secret_file(&path).unwrap(), b"first");
        // Replacing a world-readable file narrows it before writing.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_secret_file(&path, b"2").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read_secret_file(&path).unwrap(), b"2");
        assert_eq!(
            create_secret_file(&path, b"x").unwrap_err().code(),
            "secret_file_io"
        );
        let new = dir.path().join("new");
        create_secret_file(&new, b"new").unwrap();
        assert_eq!(mode(&new), 0o600);
    }

    #[test]
    #[cfg(unix)]
    fn too_open_files_are_refused_with_one_line() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.key");
        std::fs::write(&path, "secret").unwrap();
        for bad in [0o644, 0o640, 0o604, 0o620, 0o602] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).unwrap();
            let error = read_secret_file(&path).unwrap_err();
            assert_eq!(error.code(), "secret_file_too_open");
            let text = error.to_string();
            assert!(
                text.contains(&format!("permissions {bad:04o} for '"))
                    && text.contains("api.key' are too open")
                    && text.contains("chmod 600")
                    && !text.contains('\n'),
                "{text}"
            );
        }
        for good in [0o600, 0o400] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(good)).unwrap();
            assert_eq!(read_secret_file(&path).unwrap(), b"secret");
        }
        restrict_to_owner(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
        restrict_to_owner(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        restrict_to_owner(&dir.path().join("missing")).unwrap();
        assert_eq!(
            read_secret_file(&dir.path().join("missing"))
                .unwrap_err()
                .code(),
            "secret_file_io"
        );
    }
}
