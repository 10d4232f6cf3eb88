//! A ledger rekey on a network of several nodes (SPEC §6 `trigger_ledger_rekey`): the primary
//! seals the new ledger secret to every other node of the configuration with that node's RSA
//! key (`nodes.info` `encryption_pub_key`, CCF's scheme) in
//! `public:ccf.internal.encrypted_ledger_secrets`, in the rekey transaction itself; the new
//! secret encrypts the entries after it. A backup (or a node replaying its ledger) that applies
//! the rekey transaction opens its own row and holds the secret before it applies the entries
//! the secret encrypts.
//!
//! Row (key: node id): `{"version": <first seqno the secret encrypts>,
//! "encrypted_ledger_secret": <base64 RSA-OAEP-SHA256 ciphertext of the 32 bytes>}`.
use base64::Engine;
use cairn_crypto::{EncryptionKeyPair, EncryptionPublicKey};
use cairn_kv::WriteSet;
use cairn_ledger::tables::ENCRYPTED_LEDGER_SECRETS;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedForNode {
    pub version: u64,
    pub encrypted_ledger_secret: String,
}

/// The row sealing `secret` (valid from `version`) to the node whose public key is `pem`.
pub fn seal_for_node(pem: &str, version: u64, secret: &[u8; 32]) -> Result<Vec<u8>, String> {
    let key = EncryptionPublicKey::from_pem(pem).map_err(|e| format!("encryption_pub_key: {e}"))?;
    let sealed = key.encrypt(secret).map_err(|e| e.to_string())?;
    let row =
        SealedForNode { version, encrypted_ledger_secret: base64::engine::general_purpose::STANDARD.encode(sealed) };
    Ok(serde_json::to_vec(&row).expect("json"))
}

/// The secret `ws` seals to `node_id` (its first seqno and bytes), if the write set holds a row
/// for it. An unreadable row, or one this key does not open, is an error naming why.
pub fn opened_for_node(
    ws: &WriteSet,
    node_id: &str,
    key: Option<&EncryptionKeyPair>,
) -> Option<Result<(u64, [u8; 32]), String>> {
    let Some(Some(value)) = ws.get(ENCRYPTED_LEDGER_SECRETS, node_id.as_bytes()) else { return None };
    Some((|| {
        let key = key.ok_or("this node has no encryption key (node_enc_privk.pem)")?;
        let row: SealedForNode =
            serde_json::from_slice(value).map_err(|e| format!("{ENCRYPTED_LEDGER_SECRETS}: {e}"))?;
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(&row.encrypted_ledger_secret)
            .map_err(|e| format!("{ENCRYPTED_LEDGER_SECRETS}: {e}"))?;
        let plain = key.decrypt(&sealed).map_err(|e| format!("the sealed ledger secret does not open: {e}"))?;
        let secret: [u8; 32] = plain.try_into().map_err(|_| "the sealed ledger secret is not 32 bytes".to_string())?;
        Ok((row.version, secret))
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_opens_only_with_its_nodes_key() {
        let a = EncryptionKeyPair::generate().unwrap();
        let b = EncryptionKeyPair::generate().unwrap();
        let mut ws = WriteSet::new();
        ws.put(ENCRYPTED_LEDGER_SECRETS, b"na".to_vec(), seal_for_node(&a.public_key().to_pem(), 9, &[4; 32]).unwrap());
        assert_eq!(opened_for_node(&ws, "na", Some(&a)), Some(Ok((9, [4; 32]))));
        assert!(opened_for_node(&ws, "na", Some(&b)).unwrap().is_err(), "another node's key");
        assert!(opened_for_node(&ws, "na", None).unwrap().is_err(), "no key");
        assert_eq!(opened_for_node(&ws, "nb", Some(&b)), None, "no row for this node");
    }
}
