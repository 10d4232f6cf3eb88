/// A value as the store holds it: the bytes and the version (seqno) of the transaction that last
/// wrote them. A version is never 0: seqno 0 is "nothing applied yet".
///
/// The bytes are shared (`Arc`): the store's persistent maps copy a whole leaf of values when a
/// write touches a leaf a kept state (a checkpoint, a snapshot view) still shares, and copying
/// reference counts instead of the values keeps that cheap for large values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedValue {
    pub version: u64,
    pub value: std::sync::Arc<Vec<u8>>,
}
