//! PEM blocks (RFC 7468) for keys and certificates.
use crate::CryptoError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// `-----BEGIN {label}-----`, base64 in 64-column lines, `-----END {label}-----`.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER bytes of the first block labelled `label` in `text`.
pub fn pem_decode(label: &str, text: &str) -> Result<Vec<u8>, CryptoError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).ok_or_else(|| CryptoError::InvalidKey(format!("no {begin} block")))? + begin.len();
    let stop = text[start..].find(&end).ok_or_else(|| CryptoError::InvalidKey(format!("no {end} line")))? + start;
    let b64: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).map_err(|e| CryptoError::InvalidKey(format!("{label}: bad base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_and_names_missing_blocks() {
        let der: Vec<u8> = (0..200u8).collect();
        let pem = pem_encode("PUBLIC KEY", &der);
        assert_eq!(pem_decode("PUBLIC KEY", &pem).unwrap(), der);
        assert!(pem_decode("PRIVATE KEY", &pem).unwrap_err().to_string().contains("BEGIN PRIVATE KEY"));
    }
}
