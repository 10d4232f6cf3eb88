//! Stream framing: `u32 little-endian length | bytes`, the length bounded by the configured
//! maximum. The bytes are opaque here (frames of `cairn_node::consensus::wire`).
use super::error::LinkError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Reads one frame. `Ok(None)` is a clean end of stream between frames. A claimed length over
/// `max` is refused before anything is allocated.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
    peer: &str,
) -> Result<Option<Vec<u8>>, LinkError> {
    let mut header = [0u8; 4];
    match reader.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(source) => return Err(LinkError::Io { peer: peer.to_string(), source }),
    }
    let length = u32::from_le_bytes(header);
    let fits = usize::try_from(length).is_ok_and(|l| l <= max);
    if !fits {
        return Err(LinkError::FrameTooLarge { peer: peer.to_string(), length: u64::from(length), max });
    }
    let mut frame = vec![0u8; length as usize];
    reader.read_exact(&mut frame).await.map_err(|source| LinkError::Io { peer: peer.to_string(), source })?;
    Ok(Some(frame))
}

/// Writes one frame (header and bytes); the caller flushes.
pub(crate) async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    frame: &[u8],
    peer: &str,
) -> Result<(), LinkError> {
    let io = |source| LinkError::Io { peer: peer.to_string(), source };
    let length = u32::try_from(frame.len())
        .map_err(|_| io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame longer than u32::MAX")))?;
    writer.write_all(&length.to_le_bytes()).await.map_err(io)?;
    writer.write_all(frame).await.map_err(io)
}
