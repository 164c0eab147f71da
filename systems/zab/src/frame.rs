//! zab's one frame layout, on disk and on the wire: `[len u32 LE][crc32 u32 LE][body]`.
//!
//! Transaction-log records, snapshot files and server-to-server messages all use it, so one
//! reader decides what a torn or corrupted frame is: a header or body cut short, a length
//! above the caller's limit, or a checksum that does not match the body.

/// Bytes before the body.
pub const HEADER: usize = 8;

/// Why a frame does not read back whole.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("partial frame header ({0} of 8 bytes)")]
    PartialHeader(usize),
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLong { len: usize, max: usize },
    #[error("partial frame body ({have} of {len} bytes)")]
    PartialBody { have: usize, len: usize },
    #[error("frame checksum mismatch")]
    Checksum,
}

/// Appends one frame holding `body` to `out`.
pub fn encode_into(out: &mut Vec<u8>, body: &[u8]) {
    out.reserve(HEADER + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(body);
}

/// One frame holding `body`.
pub fn encode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + body.len());
    encode_into(&mut out, body);
    out
}

/// Reads a header: the body's length and checksum.
pub fn header(h: &[u8; HEADER]) -> (usize, u32) {
    let len = u32::from_le_bytes(h[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(h[4..8].try_into().expect("4 bytes"));
    (len, crc)
}

/// Checks a body against the checksum of its header.
pub fn verify(body: &[u8], crc: u32) -> Result<(), FrameError> {
    if crc32fast::hash(body) == crc {
        Ok(())
    } else {
        Err(FrameError::Checksum)
    }
}

/// Decodes the frame at the start of `bytes`: its body and the frame's whole length.
pub fn decode(bytes: &[u8], max: usize) -> Result<(&[u8], usize), FrameError> {
    let Some(h) = bytes.get(..HEADER) else {
        return Err(FrameError::PartialHeader(bytes.len()));
    };
    let (len, crc) = header(h.try_into().expect("8 bytes"));
    if len > max {
        return Err(FrameError::TooLong { len, max });
    }
    let Some(body) = bytes.get(HEADER..HEADER + len) else {
        return Err(FrameError::PartialBody {
            have: bytes.len() - HEADER,
            len,
        });
    };
    verify(body, crc)?;
    Ok((body, HEADER + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_kind_of_damage() {
        let mut bytes = encode(b"hello");
        encode_into(&mut bytes, b"");
        let (body, n) = decode(&bytes, 100).unwrap();
        assert_eq!((body, n), (&b"hello"[..], 13));
        assert_eq!(decode(&bytes[n..], 100).unwrap(), (&b""[..], 8));
        assert_eq!(decode(&bytes[..5], 100), Err(FrameError::PartialHeader(5)));
        assert_eq!(
            decode(&bytes[..10], 100),
            Err(FrameError::PartialBody { have: 2, len: 5 })
        );
        assert_eq!(
            decode(&bytes, 4),
            Err(FrameError::TooLong { len: 5, max: 4 })
        );
        let mut flipped = bytes.clone();
        flipped[9] ^= 1;
        assert_eq!(decode(&flipped, 100), Err(FrameError::Checksum));
    }
}
