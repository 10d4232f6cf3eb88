//! [`SnapshotOffer`]: what a Raft snapshot carries between Cairn nodes. Not the state itself
//! (that is a committed KV snapshot file, fetched over HTTPS and verified like a joiner's) but
//! its name and where to fetch it: the RPC address of the leader that offered it. A leader
//! sends one when a follower needs entries before the first one it holds (it started from a
//! snapshot); the follower starts again from the file (design §9 step 5).
use cairn_ledger::snapshot::SnapshotName;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotOffer {
    /// The committed snapshot file (`snapshot_<seqno>_<evidence>.committed`).
    pub snapshot: String,
    /// `host:port` of the offering node's RPC interface (`GET /node/snapshot/{name}`).
    pub rpc_address: String,
}

impl SnapshotOffer {
    pub fn new(name: SnapshotName, rpc_address: String) -> Self {
        assert!(name.committed, "only committed snapshots are offered");
        SnapshotOffer { snapshot: name.to_string(), rpc_address }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("json")
    }

    /// The offer in a Raft snapshot's data, if it is one for a committed snapshot at `index`.
    pub fn decode(data: &[u8], index: u64) -> Result<(SnapshotName, String), String> {
        let offer: SnapshotOffer = serde_json::from_slice(data).map_err(|e| format!("snapshot offer: {e}"))?;
        let name: SnapshotName = offer.snapshot.parse().map_err(|e| format!("snapshot offer name: {e}"))?;
        if !name.committed || name.seqno != index {
            return Err(format!("snapshot offer {name} is not a committed snapshot at Raft index {index}"));
        }
        if offer.rpc_address.is_empty() || offer.rpc_address.len() > 512 {
            return Err("snapshot offer without a usable RPC address".into());
        }
        Ok((name, offer.rpc_address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_round_trips_and_bad_ones_are_named() {
        let name = SnapshotName::new(10, 12).committed();
        let offer = SnapshotOffer::new(name, "127.0.0.1:8000".into());
        assert_eq!(SnapshotOffer::decode(&offer.encode(), 10), Ok((name, "127.0.0.1:8000".to_string())));
        assert!(SnapshotOffer::decode(&offer.encode(), 11).unwrap_err().contains("at Raft index 11"));
        let uncommitted = br#"{"snapshot":"snapshot_10_12","rpc_address":"a:1"}"#;
        assert!(SnapshotOffer::decode(uncommitted, 10).unwrap_err().contains("not a committed snapshot"));
        assert!(SnapshotOffer::decode(b"{}", 10).unwrap_err().starts_with("snapshot offer:"));
        let no_address = br#"{"snapshot":"snapshot_10_12.committed","rpc_address":""}"#;
        assert!(SnapshotOffer::decode(no_address, 10).is_err());
    }
}
