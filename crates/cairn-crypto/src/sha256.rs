use aws_lc_rs::digest;
use std::fmt;

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    pub const ZERO: Sha256 = Sha256([0; 32]);

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<Sha256> {
        let bytes = hex::decode(text).ok()?;
        Some(Sha256(bytes.try_into().ok()?))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Sha256> {
        Some(Sha256(bytes.try_into().ok()?))
    }

    /// Equality in time independent of where the digests differ (for secrets' digests).
    pub fn constant_time_eq(&self, other: &Sha256) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0, &other.0).is_ok()
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

fn finish(d: digest::Digest) -> Sha256 {
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    Sha256(out)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Sha256 {
    finish(digest::digest(&digest::SHA256, data))
}

/// SHA-256 of the concatenation of `parts`, without building the concatenation.
pub fn sha256_parts(parts: &[&[u8]]) -> Sha256 {
    let mut h = Sha256Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finish()
}

/// Incremental SHA-256.
pub struct Sha256Hasher(digest::Context);

impl Sha256Hasher {
    pub fn new() -> Self {
        Sha256Hasher(digest::Context::new(&digest::SHA256))
    }
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    pub fn finish(self) -> Sha256 {
        finish(self.0.finish())
    }
}

impl Default for Sha256Hasher {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_fips_180_vector_for_abc() {
        assert_eq!(sha256(b"abc").to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha256_parts(&[b"a", b"bc"]), sha256(b"abc"));
    }
}
