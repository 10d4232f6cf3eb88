//! `command.join_token_file` (SPEC §2): the node creating a service (`Start`; `Recover` when it
//! exists) writes a fresh token there, mode 0600, atomically; a `Join` node reads it. The path
//! is logged, never the token. Rules for the token itself: `cairn_node::JoinToken`.
use crate::node_files::write_atomically;
use anyhow::{Context, bail};
use cairn_node::JoinToken;
use std::io::ErrorKind;
use std::path::Path;

/// Draws a token from the OS CSPRNG and writes it to `path` (temp, fsync, rename, directory
/// fsync; mode 0600). A previous token there is replaced: it belonged to another service.
pub fn write_new_join_token(path: &Path) -> anyhow::Result<JoinToken> {
    let token = JoinToken::from_bytes(cairn_crypto::os_random_bytes()?);
    write_atomically(path, token.file_text().as_bytes(), true)
        .with_context(|| format!("command.join_token_file: writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "join token written: hand this file to the nodes that join (command.join_token_file)");
    Ok(token)
}

/// Reads the token a `Join` node presents. A missing file means no token (one warning: the
/// node will be recorded `Pending` until members trust it); an unreadable or malformed one is
/// an error naming the file.
pub fn read_join_token(path: &Path) -> anyhow::Result<Option<JoinToken>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            tracing::warn!(
                path = %path.display(),
                "command.join_token_file not found: joining without a token, so this node stays Pending until \
                 members pass transition_node_to_trusted"
            );
            return Ok(None);
        }
        Err(e) => bail!("command.join_token_file: reading {}: {e}", path.display()),
    };
    match JoinToken::parse(&text) {
        Ok(token) => Ok(Some(token)),
        Err(e) => bail!("command.join_token_file: {}: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_written_token_is_private_fresh_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("join_token");
        let first = write_new_join_token(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first.file_text());
        assert_eq!(read_join_token(&path).unwrap(), Some(first.clone()));
        let second = write_new_join_token(&path).unwrap();
        assert_ne!(first, second, "a new start writes a different token");
        assert_eq!(read_join_token(&path).unwrap(), Some(second));
    }

    #[test]
    fn a_missing_token_file_means_no_token() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_join_token(&dir.path().join("absent")).unwrap(), None);
    }

    #[test]
    fn a_malformed_token_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("join_token");
        std::fs::write(&path, "not a token\n").unwrap();
        let e = format!("{:#}", read_join_token(&path).unwrap_err());
        assert!(e.contains("command.join_token_file") && e.contains("join_token"), "{e}");
    }

    #[test]
    fn an_unreadable_token_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: not readable as a file.
        let e = format!("{:#}", read_join_token(dir.path()).unwrap_err());
        assert!(e.contains("command.join_token_file"), "{e}");
    }
}
