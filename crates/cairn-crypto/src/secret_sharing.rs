//! Shamir secret sharing over GF(2^31 - 1), compatible with CCF's `src/crypto/sharing.h`.
//!
//! A [`SharedSecret`] is 10 field elements ("limbs"); each limb is shared independently with a random
//! polynomial of degree `k - 1`. A [`Share`] is `x` (1..=n) and the 10 evaluations `y`, serialised as
//! 44 bytes (little-endian `u32`s: `x`, then `y[0..10]`). Beyond CCF, a [`ShareCommitment`] lets a
//! corrupted share be rejected when it is submitted, before it poisons a recovery.

use crate::{Sha256, sha256_parts};
use aws_lc_rs::hkdf;
use std::fmt;
use thiserror::Error;

/// The field prime, 2^31 - 1.
pub const SHARING_PRIME: u32 = 0x7FFF_FFFF;
/// Number of field elements in a secret.
pub const SECRET_LIMBS: usize = 10;
/// Serialised size of a [`SharedSecret`].
pub const SECRET_BYTES: usize = SECRET_LIMBS * 4;
/// Serialised size of a [`Share`].
pub const SHARE_BYTES: usize = 4 + SECRET_BYTES;
/// Largest number of shares (and threshold) accepted.
pub const MAX_SHARES: usize = 255;

const COMMITMENT_DOMAIN: &[u8] = b"cairn share commitment v1";
const P: u64 = SHARING_PRIME as u64;

/// Errors of splitting, combining, parsing and verifying shares; each names what was wrong.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SharingError {
    #[error("threshold must be at least 1")]
    ZeroThreshold,
    #[error("threshold {k} exceeds the number of shares {n}")]
    ThresholdAboveShareCount { k: usize, n: usize },
    #[error("{n} shares requested, at most {MAX_SHARES} are supported")]
    TooManyShares { n: usize },
    #[error("{have} shares given, threshold {need} needed")]
    NotEnoughShares { have: usize, need: usize },
    #[error("duplicate share x = {x}")]
    DuplicateX { x: u32 },
    #[error("share is {len} bytes, expected {SHARE_BYTES}")]
    WrongLength { len: usize },
    #[error("share x must not be 0")]
    ZeroX,
    #[error("share field {field} = {value} is not below the prime 2^31 - 1")]
    NotInField { field: ShareField, value: u32 },
    #[error("share x = {x} does not match its commitment")]
    CommitmentMismatch { x: u32 },
}

/// Which field of a share or secret an error refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareField {
    X,
    Y(usize),
    Limb(usize),
}

impl fmt::Display for ShareField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShareField::X => f.write_str("x"),
            ShareField::Y(i) => write!(f, "y[{i}]"),
            ShareField::Limb(i) => write!(f, "limb[{i}]"),
        }
    }
}

fn check_field(field: ShareField, value: u32) -> Result<u32, SharingError> {
    if value < SHARING_PRIME { Ok(value) } else { Err(SharingError::NotInField { field, value }) }
}

/// A uniformly random element of GF(p), by rejection sampling 31-bit values from `fill`.
fn sample(fill: &mut impl FnMut(&mut [u8])) -> u32 {
    loop {
        let mut buf = [0u8; 4];
        fill(&mut buf);
        let v = u32::from_le_bytes(buf) & SHARING_PRIME;
        if v < SHARING_PRIME {
            return v;
        }
    }
}

fn mul(a: u32, b: u32) -> u32 {
    ((a as u64 * b as u64) % P) as u32
}

fn add(a: u32, b: u32) -> u32 {
    ((a as u64 + b as u64) % P) as u32
}

fn sub(a: u32, b: u32) -> u32 {
    ((a as u64 + P - b as u64) % P) as u32
}

fn pow(mut base: u32, mut exp: u32) -> u32 {
    let mut acc = 1;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul(acc, base);
        }
        base = mul(base, base);
        exp >>= 1;
    }
    acc
}

/// Multiplicative inverse of a non-zero element (Fermat).
fn inv(a: u32) -> u32 {
    pow(a, SHARING_PRIME - 2)
}

fn check_threshold(k: usize, n: usize) -> Result<(), SharingError> {
    if k == 0 {
        return Err(SharingError::ZeroThreshold);
    }
    if n > MAX_SHARES {
        return Err(SharingError::TooManyShares { n });
    }
    if k > n {
        return Err(SharingError::ThresholdAboveShareCount { k, n });
    }
    Ok(())
}

/// The shared secret: 10 elements of GF(2^31 - 1). Redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret {
    limbs: [u32; SECRET_LIMBS],
}

impl SharedSecret {
    /// A uniformly random secret, drawing randomness from `fill` (which must fill its buffer with
    /// cryptographically secure random bytes, e.g. `aws_lc_rs::rand::fill`).
    pub fn random(mut fill: impl FnMut(&mut [u8])) -> SharedSecret {
        SharedSecret { limbs: std::array::from_fn(|_| sample(&mut fill)) }
    }

    /// A secret from its limbs; each must be below the prime.
    pub fn from_limbs(limbs: [u32; SECRET_LIMBS]) -> Result<SharedSecret, SharingError> {
        for (i, &l) in limbs.iter().enumerate() {
            check_field(ShareField::Limb(i), l)?;
        }
        Ok(SharedSecret { limbs })
    }

    pub fn limbs(&self) -> &[u32; SECRET_LIMBS] {
        &self.limbs
    }

    /// The 40-byte serialisation: each limb as little-endian `u32`.
    pub fn to_bytes(&self) -> [u8; SECRET_BYTES] {
        let mut out = [0u8; SECRET_BYTES];
        for (chunk, l) in out.chunks_exact_mut(4).zip(self.limbs) {
            chunk.copy_from_slice(&l.to_le_bytes());
        }
        out
    }

    /// The 32-byte wrapping key: HKDF-SHA256(ikm = bytes, salt = empty, info = bytes), as in CCF.
    pub fn wrapping_key(&self) -> [u8; 32] {
        let bytes = self.to_bytes();
        let info = [&bytes[..]];
        let mut out = [0u8; 32];
        hkdf::Salt::new(hkdf::HKDF_SHA256, &[])
            .extract(&bytes)
            .expand(&info, hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut out))
            .expect("HKDF-SHA256 expanding to 32 bytes cannot fail");
        out
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

/// One share: the evaluations at `x` of the 10 limb polynomials. `y` is redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    pub x: u32,
    pub y: [u32; SECRET_LIMBS],
}

impl Share {
    /// The 44-byte serialisation: `x`, then `y[0..10]`, each a little-endian `u32`.
    pub fn to_bytes(&self) -> [u8; SHARE_BYTES] {
        let mut out = [0u8; SHARE_BYTES];
        out[..4].copy_from_slice(&self.x.to_le_bytes());
        for (chunk, v) in out[4..].chunks_exact_mut(4).zip(self.y) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Parses 44 bytes; rejects a wrong length, `x = 0`, and any value not below the prime.
    pub fn from_bytes(bytes: &[u8]) -> Result<Share, SharingError> {
        if bytes.len() != SHARE_BYTES {
            return Err(SharingError::WrongLength { len: bytes.len() });
        }
        let word = |i: usize| u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4-byte chunk"));
        let share = Share { x: word(0), y: std::array::from_fn(|i| word(i + 1)) };
        share.validate()?;
        Ok(share)
    }

    fn validate(&self) -> Result<(), SharingError> {
        if self.x == 0 {
            return Err(SharingError::ZeroX);
        }
        check_field(ShareField::X, self.x)?;
        for (i, &v) in self.y.iter().enumerate() {
            check_field(ShareField::Y(i), v)?;
        }
        Ok(())
    }

    /// The commitment to this share, to be recorded when the share is issued.
    pub fn commitment(&self) -> ShareCommitment {
        ShareCommitment(sha256_parts(&[COMMITMENT_DOMAIN, &self.to_bytes()]))
    }
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share").field("x", &self.x).field("y", &"<redacted>").finish()
    }
}

/// SHA-256 of ("cairn share commitment v1" ‖ share bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShareCommitment(pub Sha256);

impl ShareCommitment {
    /// Checks that `share` is the one this commitment was made to.
    pub fn verify(&self, share: &Share) -> Result<(), SharingError> {
        if share.commitment() == *self { Ok(()) } else { Err(SharingError::CommitmentMismatch { x: share.x }) }
    }
}

/// Splits `secret` into `n` shares (x = 1..=n), any `k` of which recover it.
/// Requires 1 ≤ k ≤ n ≤ 255; `fill` must supply cryptographically secure random bytes.
pub fn split(
    secret: &SharedSecret,
    n: usize,
    k: usize,
    mut fill: impl FnMut(&mut [u8]),
) -> Result<Vec<Share>, SharingError> {
    check_threshold(k, n)?;
    // coefficients[limb] = [a_0 = limb, a_1, ..., a_{k-1}]
    let coefficients: Vec<Vec<u32>> = secret
        .limbs
        .iter()
        .map(|&limb| std::iter::once(limb).chain((1..k).map(|_| sample(&mut fill))).collect())
        .collect();
    let shares = (1..=n as u32)
        .map(|x| Share {
            x,
            // Horner evaluation at x.
            y: std::array::from_fn(|l| coefficients[l].iter().rev().fold(0, |acc, &c| add(mul(acc, x), c))),
        })
        .collect();
    Ok(shares)
}

/// Recovers the secret from the first `k` of `shares` by Lagrange interpolation at 0.
/// Fails with fewer than `k` shares, duplicate `x` among those used, or a malformed share.
pub fn combine(shares: &[Share], k: usize) -> Result<SharedSecret, SharingError> {
    check_threshold(k, MAX_SHARES)?;
    if shares.len() < k {
        return Err(SharingError::NotEnoughShares { have: shares.len(), need: k });
    }
    let used = &shares[..k];
    for (i, s) in used.iter().enumerate() {
        s.validate()?;
        if used[..i].iter().any(|t| t.x == s.x) {
            return Err(SharingError::DuplicateX { x: s.x });
        }
    }
    let mut limbs = [0u32; SECRET_LIMBS];
    for (i, si) in used.iter().enumerate() {
        // Lagrange basis at 0: prod_{j != i} x_j / (x_j - x_i).
        let (num, den) = used
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .fold((1, 1), |(num, den), (_, sj)| (mul(num, sj.x), mul(den, sub(sj.x, si.x))));
        let basis = mul(num, inv(den));
        for (limb, &y) in limbs.iter_mut().zip(&si.y) {
            *limb = add(*limb, mul(y, basis));
        }
    }
    Ok(SharedSecret { limbs })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic xorshift64 byte source, for reproducible tests only.
    fn xorshift(seed: u64) -> impl FnMut(&mut [u8]) {
        let mut state = seed;
        move |buf: &mut [u8]| {
            for b in buf {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = state as u8;
            }
        }
    }

    /// All k-subsets of 0..n, as index vectors.
    fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
        (0u32..1 << n)
            .filter(|m| m.count_ones() as usize == k)
            .map(|m| (0..n).filter(|i| m >> i & 1 == 1).collect())
            .collect()
    }

    fn pick(shares: &[Share], idx: &[usize]) -> Vec<Share> {
        idx.iter().map(|&i| shares[i].clone()).collect()
    }

    const CASES: [(usize, usize); 4] = [(1, 1), (2, 3), (3, 5), (5, 9)];

    #[test]
    fn any_k_shares_recover_secret_and_wrapping_key() {
        for (seed, (k, n)) in CASES.into_iter().enumerate() {
            let mut fill = xorshift(0x9E37_79B9_7F4A_7C15 ^ seed as u64);
            let secret = SharedSecret::random(&mut fill);
            assert!(secret.limbs().iter().all(|&l| l < SHARING_PRIME));
            let shares = split(&secret, n, k, &mut fill).unwrap();
            assert_eq!(shares.len(), n);
            assert_eq!(shares.iter().map(|s| s.x).collect::<Vec<_>>(), (1..=n as u32).collect::<Vec<_>>());
            for idx in subsets(n, k) {
                let mut chosen = pick(&shares, &idx);
                chosen.reverse(); // order must not matter
                let got = combine(&chosen, k).unwrap();
                assert_eq!(got, secret, "(k, n) = ({k}, {n}), subset {idx:?}");
                assert_eq!(got.wrapping_key(), secret.wrapping_key());
            }
            // More than k shares: the first k are used.
            assert_eq!(combine(&shares, k).unwrap(), secret);
            if k >= 2 {
                for idx in subsets(n, k - 1) {
                    let got = combine(&pick(&shares, &idx), k - 1).unwrap();
                    assert_ne!(got, secret, "(k, n) = ({k}, {n}), {} shares recovered the secret", k - 1);
                    assert_ne!(got.wrapping_key(), secret.wrapping_key());
                }
                assert_eq!(combine(&shares[..k - 1], k), Err(SharingError::NotEnoughShares { have: k - 1, need: k }));
            }
        }
    }

    #[test]
    fn corrupted_share_fails_commitment_and_recovery() {
        for (seed, (k, n)) in CASES.into_iter().enumerate() {
            let mut fill = xorshift(42 + seed as u64);
            let secret = SharedSecret::random(&mut fill);
            let shares = split(&secret, n, k, &mut fill).unwrap();
            let commitments: Vec<_> = shares.iter().map(Share::commitment).collect();
            for (s, c) in shares.iter().zip(&commitments) {
                assert_eq!(c.verify(s), Ok(()));
            }
            let mut bad = shares.clone();
            bad[0].y[3] ^= 1 << 5;
            assert_eq!(commitments[0].verify(&bad[0]), Err(SharingError::CommitmentMismatch { x: 1 }));
            assert!(commitments[1..].iter().all(|c| c.verify(&bad[0]).is_err()));
            let got = combine(&bad, k).unwrap();
            assert_ne!(got, secret, "(k, n) = ({k}, {n})");
            assert_ne!(got.wrapping_key(), secret.wrapping_key());
        }
    }

    #[test]
    fn share_serialisation_round_trips_and_rejects_malformed_input() {
        let mut fill = xorshift(7);
        let secret = SharedSecret::random(&mut fill);
        let shares = split(&secret, 5, 3, &mut fill).unwrap();
        for s in &shares {
            let bytes = s.to_bytes();
            assert_eq!(bytes.len(), SHARE_BYTES);
            assert_eq!(&bytes[..4], &s.x.to_le_bytes());
            assert_eq!(Share::from_bytes(&bytes).unwrap(), *s);
        }
        let good = shares[0].to_bytes();
        assert_eq!(Share::from_bytes(&good[..43]), Err(SharingError::WrongLength { len: 43 }));
        let mut zero_x = good;
        zero_x[..4].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(Share::from_bytes(&zero_x), Err(SharingError::ZeroX));
        let mut big_x = good;
        big_x[..4].copy_from_slice(&SHARING_PRIME.to_le_bytes());
        assert_eq!(
            Share::from_bytes(&big_x),
            Err(SharingError::NotInField { field: ShareField::X, value: SHARING_PRIME })
        );
        let mut big_y = good;
        big_y[4 + 4 * 2..4 + 4 * 3].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            Share::from_bytes(&big_y),
            Err(SharingError::NotInField { field: ShareField::Y(2), value: u32::MAX })
        );
        assert_eq!(secret.to_bytes().len(), SECRET_BYTES);
        assert_eq!(&secret.to_bytes()[..4], &secret.limbs()[0].to_le_bytes());
    }

    #[test]
    fn rejects_bad_parameters_and_duplicate_shares() {
        let mut fill = xorshift(3);
        let secret = SharedSecret::random(&mut fill);
        assert_eq!(split(&secret, 3, 0, &mut fill), Err(SharingError::ZeroThreshold));
        assert_eq!(split(&secret, 3, 4, &mut fill), Err(SharingError::ThresholdAboveShareCount { k: 4, n: 3 }));
        assert_eq!(split(&secret, 256, 2, &mut fill), Err(SharingError::TooManyShares { n: 256 }));
        assert_eq!(split(&secret, 255, 255, &mut fill).unwrap().len(), 255);
        let shares = split(&secret, 3, 2, &mut fill).unwrap();
        assert_eq!(combine(&shares, 0), Err(SharingError::ZeroThreshold));
        let dup = [shares[1].clone(), shares[1].clone()];
        assert_eq!(combine(&dup, 2), Err(SharingError::DuplicateX { x: 2 }));
        assert_eq!(
            SharedSecret::from_limbs([SHARING_PRIME; SECRET_LIMBS]),
            Err(SharingError::NotInField { field: ShareField::Limb(0), value: SHARING_PRIME })
        );
        assert_eq!(format!("{secret:?}"), "SharedSecret(<redacted>)");
        assert_eq!(format!("{:?}", shares[0]), "Share { x: 1, y: \"<redacted>\" }");
    }

    #[test]
    fn wrapping_key_is_hkdf_sha256_of_secret_bytes() {
        // Independent HKDF (RFC 5869) via HMAC: PRK = HMAC(salt = 0^32, ikm); OKM = HMAC(PRK, info ‖ 0x01).
        let secret = SharedSecret::from_limbs(std::array::from_fn(|i| i as u32 * 1000 + 1)).unwrap();
        let bytes = secret.to_bytes();
        let prk = crate::hmac_sha256(&[0u8; 32], &bytes);
        let okm = crate::hmac_sha256(prk.as_bytes(), &[&bytes[..], &[1u8]].concat());
        assert_eq!(secret.wrapping_key(), okm.0);
    }
}
