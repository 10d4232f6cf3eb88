//! Bytes from the operating system's CSPRNG (through aws-lc), for secrets the shell creates:
//! join tokens. The pure core never calls this; it takes randomness as an argument.
use crate::CryptoError;

/// `N` bytes from the OS CSPRNG.
pub fn os_random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| CryptoError::Internal("the OS random source failed".into()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_draws_differ() {
        let a: [u8; 32] = os_random_bytes().unwrap();
        let b: [u8; 32] = os_random_bytes().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0; 32]);
    }
}
