//! `cairn keygen`: the files CCF operators expect, usable keys, and no overwriting.
use cairn_crypto::{Certificate, EncryptionKeyPair, EncryptionPublicKey, SigningKey, sha256};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn keygen(dir: &std::path::Path, role: &str, name: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["keygen", role, "--name", name, "--out", dir.to_str().unwrap()])
        .output()
        .unwrap()
}

#[test]
fn member_gets_identity_and_encryption_keys_that_work_together() {
    let dir = tempfile::tempdir().unwrap();
    let out = keygen(dir.path(), "member", "member0");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let key = SigningKey::from_pem(&read("member0_privk.pem")).unwrap();
    let cert = Certificate::from_pem(&read("member0_cert.pem")).unwrap();
    assert_eq!(cert.public_key_der(), key.public_key_der());
    assert_eq!(cert.common_name().as_deref(), Some("member0"));
    cert.verify_issued_by(&key.verifying_key()).unwrap();
    let enc = EncryptionKeyPair::from_pem(&read("member0_enc_privk.pem")).unwrap();
    let public = EncryptionPublicKey::from_pem(&read("member0_enc_pubk.pem")).unwrap();
    let share = sha256(b"share");
    assert_eq!(enc.decrypt(&public.encrypt(share.as_bytes()).unwrap()).unwrap(), share.as_bytes());
    for private in ["member0_privk.pem", "member0_enc_privk.pem"] {
        let mode = std::fs::metadata(dir.path().join(private)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{private}");
    }
}

#[test]
fn user_gets_identity_only_and_existing_files_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    assert!(keygen(dir.path(), "user", "user0").status.success());
    assert!(!dir.path().join("user0_enc_privk.pem").exists());
    let before = std::fs::read(dir.path().join("user0_privk.pem")).unwrap();
    let again = keygen(dir.path(), "user", "user0");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));
    assert_eq!(std::fs::read(dir.path().join("user0_privk.pem")).unwrap(), before);
    assert_eq!(keygen(dir.path(), "user", "../evil").status.code(), Some(2));
}
