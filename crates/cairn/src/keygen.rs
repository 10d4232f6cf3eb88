//! `cairn keygen member|user --name NAME`: identity key and self-signed certificate (P-384), as
//! CCF's `keygenerator.sh` names them; members also get the RSA-2048 key pair that recovery
//! shares are encrypted to.
use anyhow::{Context, bail};
use cairn_crypto::{Certificate, CertificateRequest, EncryptionKeyPair, SigningKey};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, ValueEnum)]
pub enum Role {
    Member,
    User,
}

#[derive(Args)]
pub struct KeygenArgs {
    /// member (identity + encryption keys) or user (identity only).
    role: Role,
    /// Name used in file names and as the certificate's common name.
    #[arg(long)]
    name: String,
    /// Directory to write into.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Certificate validity in days.
    #[arg(long, default_value_t = 365)]
    validity_days: u32,
}

/// Creates `path` with `content`; refuses to overwrite; private keys get mode 0600.
fn write_new(path: &Path, content: &str, private: bool) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(path)
        .with_context(|| format!("creating {} (existing key files are never overwritten)", path.display()))?;
    f.write_all(content.as_bytes()).and_then(|_| f.sync_all()).with_context(|| format!("writing {}", path.display()))
}

pub fn run(a: KeygenArgs) -> anyhow::Result<ExitCode> {
    for p in write_identity(a.role, &a.name, &a.out, a.validity_days)? {
        println!("{}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the identity files of `name` into `out`; returns their paths.
pub fn write_identity(role: Role, name: &str, out: &Path, validity_days: u32) -> anyhow::Result<Vec<PathBuf>> {
    let a = KeygenArgs { role, name: name.to_string(), out: out.to_path_buf(), validity_days };
    if a.name.is_empty() || !a.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        bail!("--name {:?}: use letters, digits, '_' or '-'", a.name);
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let key = SigningKey::generate()?;
    let req = CertificateRequest {
        common_name: a.name.clone(),
        subject_alt_names: vec![],
        not_before_unix_s: now - 60,
        validity_days: a.validity_days,
        is_ca: false,
    };
    let cert = Certificate::self_signed(&key, &req)?;
    let file = |suffix: &str| a.out.join(format!("{}_{suffix}", a.name));
    let mut written = vec![file("privk.pem"), file("cert.pem")];
    // Check every target first so a refusal leaves nothing half-written.
    if matches!(a.role, Role::Member) {
        written.extend([file("enc_privk.pem"), file("enc_pubk.pem")]);
    }
    if let Some(existing) = written.iter().find(|p| p.exists()) {
        bail!("{} already exists; existing key files are never overwritten", existing.display());
    }
    write_new(&written[0], &key.to_pem(), true)?;
    write_new(&written[1], cert.pem(), false)?;
    if matches!(a.role, Role::Member) {
        let enc = EncryptionKeyPair::generate()?;
        write_new(&written[2], &enc.to_pem(), true)?;
        write_new(&written[3], &enc.public_key().to_pem(), false)?;
    }
    Ok(written)
}
