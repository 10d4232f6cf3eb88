//! `cairn member`: a member's client. Every request body is COSE Sign1 signed with the member's
//! identity key (`--cert`/`--key` from `cairn keygen member`); recovery shares are decrypted
//! locally with `--enc-key` and never sent in clear. The work is `cairn_client::MemberSession`.
//!
//! Output (stdout), one line each so scripts can read it:
//! `propose`, `vote`, `withdraw`, `open-service`, `renew-certificates` print `PROPOSAL_ID STATE`; `proposals` prints
//! JSON; `share get` prints the share in base64 (or the path written with `--out`); `share
//! submit` prints the service's message.
//!
//! Exit codes: 0 success; 1 the service refused (its error code and message on stderr) or could
//! not be reached; 2 bad input (files, proposal shape, a key that does not decrypt the share).
use anyhow::Context;
use base64::Engine;
use cairn_client::{CairnClient, ClientError, MemberError, MemberSession, ProposalInfo, proposal_body};
use cairn_crypto::{Certificate, EncryptionKeyPair, SigningKey};
use clap::{Args, Subcommand};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct MemberArgs {
    /// Node URL, e.g. https://127.0.0.1:8000.
    #[arg(long)]
    url: String,
    /// The service certificate (the only trust root).
    #[arg(long)]
    service_cert: PathBuf,
    /// Member certificate (NAME_cert.pem from `cairn keygen member`).
    #[arg(long)]
    cert: PathBuf,
    /// Member identity key (NAME_privk.pem).
    #[arg(long)]
    key: PathBuf,
    /// Member encryption key (NAME_enc_privk.pem), for `share get|submit`.
    #[arg(long)]
    enc_key: Option<PathBuf>,
    #[command(subcommand)]
    command: MemberCommand,
}

#[derive(Subcommand, Debug)]
pub enum MemberCommand {
    /// Submit a proposal, from a file or as one action.
    Propose {
        /// Proposal JSON: {"actions":[{"name":..., "args":{...}}]}.
        #[arg(long, conflicts_with_all = ["action", "args"], required_unless_present = "action")]
        file: Option<PathBuf>,
        /// One action's name, e.g. trigger_snapshot.
        #[arg(long)]
        action: Option<String>,
        /// The action's arguments as a JSON object (default {}).
        #[arg(long, requires = "action")]
        args: Option<String>,
    },
    /// Vote on an open proposal.
    Vote {
        #[arg(long)]
        proposal: String,
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        approve: bool,
        #[arg(long)]
        reject: bool,
    },
    /// List proposals, or show one with --id.
    Proposals {
        #[arg(long)]
        id: Option<String>,
    },
    /// Withdraw a proposal this member made.
    Withdraw {
        #[arg(long)]
        proposal: String,
    },
    /// This member's recovery share.
    #[command(subcommand)]
    Share(ShareCommand),
    /// Propose transition_service_to_open and vote for it.
    OpenService {
        /// The certificate the service will have once open (the current service_cert.pem).
        #[arg(long)]
        next_identity: PathBuf,
        /// The service certificate before the disaster (for a recovery).
        #[arg(long)]
        previous_identity: Option<PathBuf>,
    },
    /// Propose renewing the service certificate and every node certificate from now (same
    /// keys, new dates: set_service_certificate_validity and
    /// set_all_nodes_certificate_validity) and vote for it. Hand out the renewed
    /// service_cert.pem the nodes then write.
    RenewCertificates {
        /// Validity in days [the service's maximum_*_certificate_validity_days].
        #[arg(long)]
        days: Option<u64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ShareCommand {
    /// Download the encrypted share and decrypt it locally (needs --enc-key).
    Get {
        /// Write the base64 share to this new file (mode 0600) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Download, decrypt, sign and submit the share (needs --enc-key).
    Submit,
}

fn read(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {what} {}", path.display()))
}

/// Writes a secret to a new file readable by its owner only.
fn write_secret(path: &Path, content: &str) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (an existing file is never overwritten)", path.display()))?;
    f.write_all(content.as_bytes()).and_then(|_| f.sync_all()).with_context(|| format!("writing {}", path.display()))
}

pub fn run(args: MemberArgs) -> anyhow::Result<ExitCode> {
    let service_cert = read(&args.service_cert, "service certificate")?;
    let cert_pem = read(&args.cert, "member certificate")?;
    let key_pem = read(&args.key, "member key")?;
    let cert = Certificate::from_pem(&cert_pem).with_context(|| format!("parsing {}", args.cert.display()))?;
    let key = SigningKey::from_pem(&key_pem).with_context(|| format!("parsing {}", args.key.display()))?;
    anyhow::ensure!(
        cert.public_key_der() == key.public_key_der(),
        "{} is not the key of {}",
        args.key.display(),
        args.cert.display()
    );
    let encryption_key = match (&args.enc_key, &args.command) {
        (Some(path), _) => Some(
            EncryptionKeyPair::from_pem(&read(path, "member encryption key")?)
                .with_context(|| format!("parsing {}", path.display()))?,
        ),
        (None, MemberCommand::Share(_)) => anyhow::bail!("share get|submit needs --enc-key NAME_enc_privk.pem"),
        (None, _) => None,
    };
    // Members sign their requests (COSE, SPEC §6); their TLS client certificate authenticates
    // the one unsigned call, fetching their own encrypted share.
    let identity = cairn_client::ClientIdentity { cert_pem: cert_pem.clone(), key_pem: key_pem.clone() };
    let client = CairnClient::new(&args.url, &service_cert, Some(identity))?;
    let session = MemberSession::new(client, &cert, key);
    // Local inputs of the command, read before anything is sent.
    let proposal = match &args.command {
        MemberCommand::Propose { file: Some(path), .. } => {
            let text = read(path, "proposal")?;
            let value: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("parsing proposal {}", path.display()))?;
            proposal_body::check_proposal(&value).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Some(value)
        }
        MemberCommand::Propose { action: Some(name), args: action_args, .. } => {
            Some(proposal_body::proposal_from_action(name, action_args.as_deref()).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    let identities = match &args.command {
        MemberCommand::OpenService { next_identity, previous_identity } => {
            let next = read(next_identity, "next service identity")?;
            let previous = previous_identity.as_deref().map(|p| read(p, "previous service identity")).transpose()?;
            Certificate::from_pem(&next).with_context(|| format!("parsing {}", next_identity.display()))?;
            if let (Some(pem), Some(path)) = (&previous, previous_identity) {
                Certificate::from_pem(pem).with_context(|| format!("parsing {}", path.display()))?;
            }
            Some((next, previous))
        }
        _ => None,
    };

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")?;
    let share_out = match &args.command {
        MemberCommand::Share(ShareCommand::Get { out }) => out.clone(),
        _ => None,
    };
    if let Some(path) = &share_out {
        anyhow::ensure!(!path.exists(), "{} already exists; an existing file is never overwritten", path.display());
    }
    let inputs = Inputs { proposal, identities, encryption_key };
    match runtime.block_on(execute(&session, args.command, inputs)) {
        Ok(text) => {
            match share_out {
                Some(path) => {
                    write_secret(&path, &format!("{text}\n"))?;
                    println!("{}", path.display());
                }
                None => println!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            match &e {
                MemberError::Client(ClientError::Http { code, message, status, .. }) => {
                    eprintln!("error: the service refused (HTTP {status}): {code}: {message}");
                }
                other => eprintln!("error: {other}"),
            }
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}

/// A command's local inputs, read and checked before anything is sent.
struct Inputs {
    proposal: Option<serde_json::Value>,
    identities: Option<(String, Option<String>)>,
    encryption_key: Option<EncryptionKeyPair>,
}

fn proposal_line(p: &ProposalInfo) -> String {
    format!("{} {}", p.proposal_id, p.proposal_state)
}

/// Performs `command`; the text to print (or, for `share get --out`, to write).
async fn execute(session: &MemberSession, command: MemberCommand, inputs: Inputs) -> Result<String, MemberError> {
    Ok(match command {
        MemberCommand::Propose { .. } => {
            proposal_line(&session.propose(inputs.proposal.as_ref().expect("read in run")).await?)
        }
        MemberCommand::Vote { proposal, approve, .. } => proposal_line(&session.vote(&proposal, approve).await?),
        MemberCommand::Proposals { id: Some(id) } => {
            serde_json::to_string_pretty(&session.client().proposal(&id).await?).expect("json")
        }
        MemberCommand::Proposals { id: None } => {
            serde_json::to_string_pretty(&session.client().proposals().await?).expect("json")
        }
        MemberCommand::Withdraw { proposal } => proposal_line(&session.withdraw(&proposal).await?),
        MemberCommand::Share(ShareCommand::Get { .. }) => {
            let share = session.fetch_share(inputs.encryption_key.as_ref().expect("checked in run")).await?;
            base64::engine::general_purpose::STANDARD.encode(share.to_bytes())
        }
        MemberCommand::Share(ShareCommand::Submit) => {
            session.submit_share(inputs.encryption_key.as_ref().expect("checked in run")).await?.message
        }
        MemberCommand::OpenService { .. } => {
            let (next, previous) = inputs.identities.expect("read in run");
            proposal_line(&session.open_service(&next, previous.as_deref()).await?)
        }
        MemberCommand::RenewCertificates { days } => {
            // Valid from a minute ago: a node whose clock is slightly behind still accepts it.
            let now_s =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            proposal_line(&session.renew_certificates(now_s - 60, days).await?)
        }
    })
}
