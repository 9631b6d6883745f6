//! Convex document ids: `VInt(table number) ++ 16-byte internal id ++ fletcher16 footer (LE)`,
//! written in lowercase Crockford base32 without padding. User tables are numbered from 10001,
//! which makes their ids 32 characters long.

use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const INTERNAL_ID_LEN: usize = 16;

/// A decoded document id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DocumentId {
    pub table_number: u32,
    pub internal_id: [u8; INTERNAL_ID_LEN],
}

/// Why a string is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("invalid character {0:?} in id")]
    InvalidCharacter(char),
    #[error("id has an invalid length")]
    InvalidLength,
    #[error("id checksum does not match")]
    BadChecksum,
    #[error("id has an invalid table number")]
    BadTableNumber,
}

impl DocumentId {
    /// A fresh random id in `table_number`.
    pub fn random(table_number: u32) -> Self {
        Self { table_number, internal_id: rand::random() }
    }

    /// The id's string form.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(5 + INTERNAL_ID_LEN + 2);
        write_vint(&mut bytes, self.table_number);
        bytes.extend_from_slice(&self.internal_id);
        let footer = fletcher16(&bytes);
        bytes.extend_from_slice(&footer.to_le_bytes());
        base32_encode(&bytes)
    }

    /// Parses and checks an id's string form.
    pub fn decode(s: &str) -> Result<Self, IdError> {
        // 1-byte table numbers give 31 characters; the largest VInt (5 bytes) gives 37.
        if !(31..=37).contains(&s.len()) {
            return Err(IdError::InvalidLength);
        }
        let bytes = base32_decode(s)?;
        if bytes.len() < 1 + INTERNAL_ID_LEN + 2 {
            return Err(IdError::InvalidLength);
        }
        let (body, footer) = bytes.split_at(bytes.len() - 2);
        let expected = u16::from_le_bytes([footer[0], footer[1]]);
        if fletcher16(body) != expected {
            return Err(IdError::BadChecksum);
        }
        let (table_number, used) = read_vint(body).ok_or(IdError::BadTableNumber)?;
        if body.len() - used != INTERNAL_ID_LEN || table_number == 0 {
            return Err(IdError::InvalidLength);
        }
        let mut internal_id = [0u8; INTERNAL_ID_LEN];
        internal_id.copy_from_slice(&body[used..]);
        Ok(Self { table_number, internal_id })
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

fn write_vint(out: &mut Vec<u8>, mut n: u32) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_vint(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(5) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

/// Fletcher-16 with modulus 256 (RFC 1145 appendix I), as Convex's `id_v6` computes it: not
/// the mod-255 variant of the textbook, whose footers Convex (and `yew_convex::value::Id`) reject.
fn fletcher16(bytes: &[u8]) -> u16 {
    let (mut a, mut b) = (0u8, 0u8);
    for &byte in bytes {
        a = a.wrapping_add(byte);
        b = b.wrapping_add(a);
    }
    (u16::from(b) << 8) | u16::from(a)
}

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn base32_decode(s: &str) -> Result<Vec<u8>, IdError> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in s.chars() {
        let value =
            ALPHABET.iter().position(|&a| a as char == c).ok_or(IdError::InvalidCharacter(c))?
                as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    // Leftover bits must be zero padding, or the string is not canonical.
    if bits >= 5 || buffer & ((1 << bits) - 1) != 0 {
        return Err(IdError::InvalidLength);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_table_ids_are_32_lowercase_characters_and_round_trip() {
        for _ in 0..200 {
            let id = DocumentId::random(10001);
            let s = id.encode();
            assert_eq!(s.len(), 32, "{s}");
            assert!(s.chars().all(|c| ALPHABET.contains(&(c as u8))));
            assert_eq!(DocumentId::decode(&s), Ok(id));
        }
    }

    #[test]
    fn small_table_numbers_give_31_characters() {
        let id = DocumentId::random(1);
        assert_eq!(id.encode().len(), 31);
        assert_eq!(DocumentId::decode(&id.encode()), Ok(id));
    }

    #[test]
    fn rejects_tampered_and_malformed_ids() {
        let s = DocumentId::random(10001).encode();
        let mut tampered: Vec<char> = s.chars().collect();
        tampered[5] = if tampered[5] == 'a' { 'b' } else { 'a' };
        let tampered: String = tampered.into_iter().collect();
        assert_eq!(DocumentId::decode(&tampered), Err(IdError::BadChecksum));
        assert_eq!(DocumentId::decode("not-an-id"), Err(IdError::InvalidLength));
        assert!(matches!(DocumentId::decode(&"u".repeat(32)), Err(IdError::InvalidCharacter('u'))));
    }

    #[test]
    fn ids_match_convex() {
        // convex-backend's `test_document_id_stability` (crates/value/src/id_v6.rs).
        let mut internal_id = [251u8; 16];
        for i in 1..16 {
            internal_id[i] = internal_id[i - 1].wrapping_mul(251);
        }
        let id = DocumentId { table_number: 1017, internal_id };
        assert_eq!(id.encode(), "z43zp6c3e75gkmz1kfwj6mbbx5sw281h");
        // A real id from the same tests.
        let real = "kg27rxfv99gzp01wmph0gvt92d6hnvy6";
        assert_eq!(DocumentId::decode(real).map(|id| id.encode()).as_deref(), Ok(real));
        // Fletcher-16 mod 256 (the mod-255 variant gives 0xC8F0 and 0x2057).
        assert_eq!(fletcher16(b"abcde"), 0xC3EF);
        assert_eq!(fletcher16(b"abcdef"), 0x1855);
    }
}
