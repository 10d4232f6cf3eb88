//! When the primary emits a signature transaction: after `tx_count` unsigned transactions or
//! once the oldest unsigned one is `delay_ms` old, whichever comes first (CCF's
//! `ledger_signatures`).
//!
//! Invariant: `oldest_unsigned_ms.is_some() == (unsigned > 0)`.

#[derive(Debug, Clone)]
pub struct SignaturePolicy {
    tx_count: u64,
    delay_ms: u64,
    unsigned: u64,
    oldest_unsigned_ms: Option<u64>,
}

impl SignaturePolicy {
    pub fn new(tx_count: u64, delay_ms: u64) -> Self {
        assert!(tx_count > 0, "ledger_signatures.tx_count must be positive");
        SignaturePolicy { tx_count, delay_ms, unsigned: 0, oldest_unsigned_ms: None }
    }

    /// A transaction was appended at `now_ms`.
    pub fn record_tx(&mut self, now_ms: u64) {
        self.unsigned += 1;
        self.oldest_unsigned_ms.get_or_insert(now_ms);
    }

    /// A signature was appended: everything so far is signed.
    pub fn record_signature(&mut self) {
        self.unsigned = 0;
        self.oldest_unsigned_ms = None;
    }

    pub fn unsigned(&self) -> u64 {
        self.unsigned
    }

    /// Whether a signature is due at `now_ms`.
    pub fn due(&self, now_ms: u64) -> bool {
        match self.oldest_unsigned_ms {
            None => false,
            Some(oldest) => self.unsigned >= self.tx_count || now_ms.saturating_sub(oldest) >= self.delay_ms,
        }
    }

    /// The next time a signature becomes due by delay (for the shell's timer).
    pub fn deadline_ms(&self) -> Option<u64> {
        self.oldest_unsigned_ms.map(|t| t + self.delay_ms)
    }

    pub fn check_invariants(&self) {
        assert_eq!(self.oldest_unsigned_ms.is_some(), self.unsigned > 0, "unsigned count and age disagree");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_due_by_count_or_delay_whichever_first() {
        // (tx_count, delay_ms, tx times, now, due)
        let table: [(u64, u64, &[u64], u64, bool); 7] = [
            (3, 1000, &[], 5000, false),
            (3, 1000, &[0, 1], 10, false),
            (3, 1000, &[0, 1, 2], 10, true),
            (3, 1000, &[0], 999, false),
            (3, 1000, &[0], 1000, true),
            (3, 1000, &[500, 900], 1499, false),
            (1, 1000, &[7], 7, true),
        ];
        for (count, delay, txs, now, due) in table {
            let mut p = SignaturePolicy::new(count, delay);
            for t in txs {
                p.record_tx(*t);
            }
            p.check_invariants();
            assert_eq!(p.due(now), due, "count {count} delay {delay} txs {txs:?} now {now}");
            p.record_signature();
            p.check_invariants();
            assert!(!p.due(now + 10_000), "nothing unsigned after a signature");
        }
    }
}
