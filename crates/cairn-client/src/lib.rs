//! `cairn-client`: the HTTPS client of a Cairn node (SPEC §6), the write load driver behind
//! `cairn bench write`, and the member session behind `cairn member`.
//!
//! Modules:
//! - `cairn_client`: `CairnClient`, one typed async method per endpoint; keep-alive pool shared
//!   by clones; bounded timeouts and response sizes; redirects never followed.
//! - `tls_config`: the only trust root is the service certificate; optional client identity.
//! - `client_error`: transport vs HTTP refusal vs decode errors (`ClientError`).
//! - `responses`, `log_table`: wire shapes and the logging app's tables.
//! - `poll_backoff`: the commit polling schedule (1 ms growing to 20 ms).
//! - `proposal_body`: proposal, ballot and share payloads, checked before signing.
//! - `member_session`: a member's key and id plus the client: sign (COSE, `cairn-gov`) and send.
//! - `bench`: closed-loop write load and exact latency percentiles.
//! - `duration_text`: `500ms`, `10s` on command lines.
//!
//! This crate performs network I/O and reads the clock; it holds no ledger or governance logic
//! (signing and share decryption are `cairn-gov`'s).
pub mod bench;
mod cairn_client;
mod client_error;
mod client_options;
mod duration_text;
mod log_table;
mod member_session;
mod poll_backoff;
pub mod proposal_body;
mod responses;
mod tls_config;

pub use cairn_client::{CairnClient, GOV_API_VERSION, TX_ID_HEADER};
pub use cairn_ledger::format::TxId;
pub use client_error::{ClientError, TransportKind};
pub use client_options::ClientOptions;
pub use duration_text::parse_duration;
pub use log_table::LogTable;
pub use member_session::{MemberError, MemberSession};
pub use poll_backoff::PollBackoff;
pub use responses::{NetworkInfo, NodeStateInfo, ProposalInfo, RecoverySubmission, TxStatus};
pub use tls_config::{ClientIdentity, build_tls_config};
