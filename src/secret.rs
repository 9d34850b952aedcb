//! Files that hold private keys: written readable by their owner only
//! (0600), and checked before the hub uses them. A private key that others
//! on the machine can read is a key others may already have.

use std::path::Path;

/// Writes `text` to `path` readable and writable by its owner only,
/// replacing the file if `replace`, else refusing to overwrite it.
#[cfg(any(feature = "cli", feature = "devcerts", test))]
pub(crate) fn write(path: &Path, text: &str, replace: bool) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    match replace {
        true => opts.create(true).truncate(true),
        false => opts.create_new(true),
    };
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    std::io::Write::write_all(&mut f, text.as_bytes())
}

/// `Err` with what to run when the group or others may read `path`.
pub(crate) fn check_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "private key file {} can be read by others (mode {:o}); run: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_owner_only_and_open_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("k.pem");
        write(&key, "secret", false).expect("write");
        assert!(write(&key, "again", false).is_err(), "no silent overwrite");
        check_private(&key).expect("0600");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let e = check_private(&key).expect_err("world-readable");
            assert!(e.contains("mode 644") && e.contains("chmod 600"), "{e}");
            write(&key, "replaced", true).expect("replace");
            check_private(&key).expect("0600 again after replacing");
        }
    }
}
