/// A value as the store holds it: the bytes and the version (seqno) of the transaction that last
/// wrote them. A version is never 0: seqno 0 is "nothing applied yet".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedValue {
    pub version: u64,
    pub value: Vec<u8>,
}
