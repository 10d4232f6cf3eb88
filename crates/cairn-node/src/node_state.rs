//! Node states as CCF names them (SPEC §6).
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NodeState {
    Uninitialized,
    Initialized,
    Pending,
    ReadingPublicLedger,
    PartOfPublicNetwork,
    ReadingPrivateLedger,
    PartOfNetwork,
}
