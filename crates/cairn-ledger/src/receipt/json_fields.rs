//! serde adapters for receipt JSON fields: digests as lowercase hex, transaction ids as
//! `"view.seqno"`.

pub mod hex_digest {
    use cairn_crypto::Sha256;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(digest: &Sha256, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&digest.to_hex())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Sha256, D::Error> {
        let text = String::deserialize(d)?;
        Sha256::from_hex(&text).ok_or_else(|| de::Error::custom(format!("{text:?} is not a hex SHA-256 digest")))
    }
}

pub mod opt_hex_digest {
    use cairn_crypto::Sha256;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(digest: &Option<Sha256>, s: S) -> Result<S::Ok, S::Error> {
        match digest {
            Some(d) => super::hex_digest::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Sha256>, D::Error> {
        #[derive(Deserialize)]
        struct Hex(#[serde(with = "super::hex_digest")] Sha256);
        Ok(Option::<Hex>::deserialize(d)?.map(|h| h.0))
    }
}

pub mod opt_tx_id {
    use crate::format::TxId;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(tx: &Option<TxId>, s: S) -> Result<S::Ok, S::Error> {
        match tx {
            Some(tx) => s.serialize_str(&tx.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TxId>, D::Error> {
        Option::<String>::deserialize(d)?.map(|text| text.parse().map_err(de::Error::custom)).transpose()
    }
}
