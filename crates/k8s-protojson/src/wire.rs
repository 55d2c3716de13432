//! The protobuf wire format: splits a message's bytes into (field number, value) records.

/// One encoded value, before its schema type is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

/// A malformed message (the text is close to what gogo-protobuf reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireError(pub String);

impl WireError {
    fn eof() -> Self {
        WireError("unexpected EOF".to_owned())
    }
}

/// Reads a base-128 varint at `*pos`, advancing it.
pub(crate) fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or_else(WireError::eof)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(WireError("proto: integer overflow".to_owned()))
}

fn take<'a>(buf: &'a [u8], pos: &mut usize, len: usize) -> Result<&'a [u8], WireError> {
    let end = pos.checked_add(len).ok_or_else(WireError::eof)?;
    let out = buf.get(*pos..end).ok_or_else(WireError::eof)?;
    *pos = end;
    Ok(out)
}

/// All (field number, value) records of one message, in wire order.
pub(crate) fn parse(buf: &[u8]) -> Result<Vec<(u32, WireValue<'_>)>, WireError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = read_varint(buf, &mut pos)?;
        let tag = u32::try_from(key >> 3)
            .ok()
            .filter(|t| *t > 0)
            .ok_or_else(|| WireError(format!("proto: illegal tag {}", key >> 3)))?;
        let value = match key & 7 {
            0 => WireValue::Varint(read_varint(buf, &mut pos)?),
            1 => {
                let b = take(buf, &mut pos, 8)?;
                WireValue::Fixed64(u64::from_le_bytes(b.try_into().expect("8 bytes")))
            }
            2 => {
                let len = read_varint(buf, &mut pos)?;
                let len = usize::try_from(len).map_err(|_| WireError::eof())?;
                WireValue::Bytes(take(buf, &mut pos, len)?)
            }
            5 => {
                let b = take(buf, &mut pos, 4)?;
                WireValue::Fixed32(u32::from_le_bytes(b.try_into().expect("4 bytes")))
            }
            w => return Err(WireError(format!("proto: illegal wireType {w}"))),
        };
        out.push((tag, value));
    }
    Ok(out)
}

/// The varints of a packed repeated field.
pub(crate) fn unpack_varints(buf: &[u8]) -> Result<Vec<u64>, WireError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        out.push(read_varint(buf, &mut pos)?);
    }
    Ok(out)
}
