//! The checksummed frame shared by the write-ahead log, the snapshot file and the peer links:
//! a little-endian u32 payload length, a little-endian u32 CRC-32 of the payload, the payload.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The largest payload a frame may carry (snapshots travel in one frame).
pub const MAX_FRAME: usize = 256 << 20;
/// Bytes before the payload.
pub const HEADER: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME} bytes")]
    TooLong(usize),
    #[error("frame checksum mismatch")]
    Checksum,
    #[error("frame is truncated")]
    Truncated,
    #[error("frame payload does not decode: {0}")]
    Decode(#[from] bincode::Error),
}

fn options() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_limit(MAX_FRAME as u64)
}

/// Serializes `value` into a frame appended to `out`.
pub fn encode_into<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    use bincode::Options;
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER]);
    options()
        .serialize_into(&mut *out, value)
        .expect("serializing into a Vec cannot fail");
    let len = (out.len() - start - HEADER) as u32;
    let crc = crc32fast::hash(&out[start + HEADER..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Serializes `value` into a new frame.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut v = Vec::new();
    encode_into(value, &mut v);
    v
}

/// Parses a frame header: (payload length, checksum).
pub fn header(h: &[u8; HEADER]) -> Result<(usize, u32), FrameError> {
    let len = u32::from_le_bytes(h[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(h[4..8].try_into().expect("4 bytes"));
    if len > MAX_FRAME {
        return Err(FrameError::TooLong(len));
    }
    Ok((len, crc))
}

/// Checks and decodes a payload whose header said `crc`.
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8], crc: u32) -> Result<T, FrameError> {
    use bincode::Options;
    if crc32fast::hash(payload) != crc {
        return Err(FrameError::Checksum);
    }
    Ok(options().deserialize(payload)?)
}

/// Decodes the frame at the start of `buf`: the value and the frame's total length.
pub fn decode<T: DeserializeOwned>(buf: &[u8]) -> Result<(T, usize), FrameError> {
    if buf.len() < HEADER {
        return Err(FrameError::Truncated);
    }
    let (len, crc) = header(buf[..HEADER].try_into().expect("HEADER bytes"))?;
    if buf.len() < HEADER + len {
        return Err(FrameError::Truncated);
    }
    let v = decode_payload(&buf[HEADER..HEADER + len], crc)?;
    Ok((v, HEADER + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let v: (u64, String) = (7, "seven".into());
        let f = encode(&v);
        let (back, n): ((u64, String), usize) = decode(&f).unwrap();
        assert_eq!(back, v);
        assert_eq!(n, f.len());
        let mut bad = f.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(matches!(
            decode::<(u64, String)>(&bad),
            Err(FrameError::Checksum)
        ));
        assert!(matches!(
            decode::<(u64, String)>(&f[..f.len() - 1]),
            Err(FrameError::Truncated)
        ));
        let mut huge = f.clone();
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode::<(u64, String)>(&huge),
            Err(FrameError::TooLong(_))
        ));
    }
}
