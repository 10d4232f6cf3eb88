use super::FormatError;

/// A bounds-checked little-endian cursor over a byte slice.
pub struct ByteReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        ByteReader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        if self.remaining() < n {
            return Err(FormatError::Truncated {
                offset: self.pos as u64,
                needed: n as u64,
                available: self.remaining() as u64,
                what,
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], FormatError> {
        Ok(self.bytes(N, what)?.try_into().expect("length checked"))
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, FormatError> {
        Ok(self.bytes(1, what)?[0])
    }

    pub fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &'static str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A u64 length followed by that many bytes.
    pub fn sized(&mut self, what: &'static str) -> Result<&'a [u8], FormatError> {
        let at = self.pos;
        let len = self.u64(what)?;
        let len = usize::try_from(len).ok().filter(|l| *l <= self.remaining()).ok_or(FormatError::Truncated {
            offset: at as u64,
            needed: len,
            available: self.remaining() as u64,
            what,
        })?;
        self.bytes(len, what)
    }

    /// A count that can be at most `remaining / min_item_bytes`, so a corrupt count cannot make
    /// the decoder allocate or loop without bound.
    pub fn count(&mut self, min_item_bytes: usize, what: &'static str) -> Result<u64, FormatError> {
        let at = self.pos;
        let n = self.u64(what)?;
        if n > (self.remaining() / min_item_bytes.max(1)) as u64 {
            return Err(FormatError::Invalid {
                offset: at as u64,
                field: what,
                reason: format!("count {n} cannot fit in the {} remaining bytes", self.remaining()),
            });
        }
        Ok(n)
    }
}

/// Appends a u64 length and the bytes.
pub fn put_sized(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}
