//! [`LedgerSecrets`]: every ledger secret of a service with the first seqno it encrypts, oldest
//! first (one secret, or the chain a rekey extends). The one place that answers "which secret
//! encrypts seqno S" for the node, its replay and the offline tools.
//!
//! Invariant: the first seqnos strictly increase.
use crate::LedgerSecret;
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct LedgerSecrets(Vec<(u64, Arc<LedgerSecret>)>);

impl std::fmt::Debug for LedgerSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let starts: Vec<u64> = self.0.iter().map(|(from, _)| *from).collect();
        write!(f, "LedgerSecrets(from seqnos {starts:?})")
    }
}

impl LedgerSecrets {
    /// One secret, encrypting everything from seqno 1.
    pub fn single(secret: LedgerSecret) -> Self {
        LedgerSecrets(vec![(1, Arc::new(secret))])
    }

    /// `(first seqno, secret)` pairs; refused unless the seqnos strictly increase.
    pub fn from_entries(entries: impl IntoIterator<Item = (u64, LedgerSecret)>) -> Result<Self, String> {
        let mut out = LedgerSecrets::default();
        for (from, secret) in entries {
            out.push(from, Arc::new(secret))?;
        }
        Ok(out)
    }

    /// Adds a newer secret (a rekey) encrypting from seqno `from` on.
    pub fn push(&mut self, from: u64, secret: Arc<LedgerSecret>) -> Result<(), String> {
        if let Some((last, _)) = self.0.last()
            && *last >= from
        {
            return Err(format!("a ledger secret from seqno {from} does not follow the one from {last}"));
        }
        self.0.push((from, secret));
        Ok(())
    }

    /// Forgets the secrets that start after `seqno` (a rekey that was rolled back). The first
    /// secret is always kept.
    pub fn truncate(&mut self, seqno: u64) {
        let keep = self.0.iter().take_while(|(from, _)| *from <= seqno).count().max(1);
        self.0.truncate(keep);
    }

    /// The secret that encrypts `seqno`: the newest starting at or before it.
    pub fn secret_for(&self, seqno: u64) -> Option<&Arc<LedgerSecret>> {
        self.0.iter().rev().find(|(from, _)| *from <= seqno).map(|(_, s)| s)
    }

    pub fn latest(&self) -> Option<&Arc<LedgerSecret>> {
        self.0.last().map(|(_, s)| s)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `(first seqno, secret)` pairs, oldest first.
    pub fn entries(&self) -> &[(u64, Arc<LedgerSecret>)] {
        &self.0
    }

    /// `(first seqno, secret)`, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Arc<LedgerSecret>)> {
        self.0.iter().map(|(from, s)| (*from, s))
    }

    pub fn check_invariants(&self) {
        assert!(self.0.windows(2).all(|w| w[0].0 < w[1].0), "ledger secret seqnos must increase: {self:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_of_a_seqno_is_the_newest_starting_at_or_before_it() {
        let s = |b| LedgerSecret::new([b; 32]);
        let chain = LedgerSecrets::from_entries([(1, s(1)), (10, s(2)), (20, s(3))]).unwrap();
        chain.check_invariants();
        let table = [(0, None), (1, Some(1)), (9, Some(1)), (10, Some(2)), (19, Some(2)), (20, Some(3)), (99, Some(3))];
        for (seqno, want) in table {
            assert_eq!(chain.secret_for(seqno).map(|x| x.raw()[0]), want, "seqno {seqno}");
        }
        assert!(LedgerSecrets::from_entries([(5, s(1)), (5, s(2))]).is_err());
        assert!(LedgerSecrets::default().secret_for(1).is_none());
    }
}
