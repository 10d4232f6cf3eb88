//! Creating directories so that they survive a power cut.
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// Creates `dir` and any missing parents, and makes each new entry durable by fsyncing the
/// directory that holds it. A directory created but never synced into its parent can vanish
/// with the power, and everything written inside it (however well synced) with it.
pub fn create_dir_durably(dir: &Path) -> io::Result<()> {
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut at = dir;
    while fs::symlink_metadata(at).is_err() {
        missing.push(at.to_path_buf());
        match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => at = parent,
            _ => break,
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    for created in &missing {
        let parent = created.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_every_missing_level_and_leaves_existing_ones_alone() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b/c");
        create_dir_durably(&deep).unwrap();
        assert!(deep.is_dir());
        fs::write(deep.join("f"), b"x").unwrap();
        create_dir_durably(&deep).unwrap();
        assert_eq!(fs::read(deep.join("f")).unwrap(), b"x");
        let file = root.path().join("file");
        fs::write(&file, b"").unwrap();
        assert!(create_dir_durably(&file.join("sub")).is_err(), "a file in the way is an error");
    }
}
