//! Payload magics and sniffing (containers.md §0 magic table, §2.1 store dispatch,
//! DECISIONS.md D10, A16): the store payload behind an optional FSM header is one of
//! `EKVPBBL1` or `EKVSSTI1` (read), `EKVMVCC2` (recognised and refused by name), or empty.

use super::ContainerError;

/// `EKVPBBL1`: the native Pebble stream.
pub const MAGIC_PEBBLE: [u8; 8] = *b"EKVPBBL1";
/// `EKVSSTI1`: the opt-in Pebble SST-ingest bundle (§2.4).
pub const MAGIC_SST_INGEST: [u8; 8] = *b"EKVSSTI1";
/// `EKVMVCC2`: the in-memory MVCC store stream (§2.5).
pub const MAGIC_MVCC_STORE: [u8; 8] = *b"EKVMVCC2";

/// What the store payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFormat {
    /// 0 bytes: a valid empty store (§2.1, gotcha 13).
    Empty,
    /// An `EKVPBBL1` stream.
    Pebble,
    /// An `EKVSSTI1` SST-ingest bundle.
    SstIngest,
}

impl PayloadFormat {
    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            PayloadFormat::Empty => "empty",
            PayloadFormat::Pebble => "EKVPBBL1",
            PayloadFormat::SstIngest => "EKVSSTI1",
        }
    }
}

/// Check 8 bytes at `offset` for the `EKVPBBL1` magic (the stream reader's own check: the
/// file reader sends `EKVSSTI1` to the bundle reader before). The two other store magics give
/// [`ContainerError::UnsupportedFormat`] naming the format; anything else
/// [`ContainerError::BadMagic`].
pub fn check_pebble_magic(magic: &[u8; 8], offset: u64) -> Result<(), ContainerError> {
    match *magic {
        MAGIC_PEBBLE => Ok(()),
        MAGIC_SST_INGEST => Err(ContainerError::UnsupportedFormat {
            offset,
            format: "EKVSSTI1",
            description: "Pebble SST-ingest bundle",
        }),
        MAGIC_MVCC_STORE => Err(ContainerError::UnsupportedFormat {
            offset,
            format: "EKVMVCC2",
            description: "in-memory MVCC store stream",
        }),
        found => Err(ContainerError::BadMagic {
            offset,
            expected: "EKVPBBL1",
            found,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics_match_the_spec_hex() {
        assert_eq!(MAGIC_PEBBLE, [0x45, 0x4B, 0x56, 0x50, 0x42, 0x42, 0x4C, 0x31]);
        assert_eq!(MAGIC_SST_INGEST, [0x45, 0x4B, 0x56, 0x53, 0x53, 0x54, 0x49, 0x31]);
        assert_eq!(MAGIC_MVCC_STORE, [0x45, 0x4B, 0x56, 0x4D, 0x56, 0x43, 0x43, 0x32]);
    }

    #[test]
    fn d10_other_store_formats_are_named() {
        let e = check_pebble_magic(&MAGIC_SST_INGEST, 16).unwrap_err();
        assert!(e.to_string().contains("EKVSSTI1"), "{e}");
        assert!(e.to_string().contains("offset 16"), "{e}");
        let e = check_pebble_magic(&MAGIC_MVCC_STORE, 0).unwrap_err();
        assert!(e.to_string().contains("EKVMVCC2"), "{e}");
        let e = check_pebble_magic(b"GARBAGE!", 0).unwrap_err();
        assert!(matches!(e, ContainerError::BadMagic { .. }), "{e}");
        assert!(e.to_string().contains("GARBAGE!"), "{e}");
        assert_eq!(PayloadFormat::Pebble.name(), "EKVPBBL1");
        assert_eq!(PayloadFormat::Empty.name(), "empty");
        check_pebble_magic(&MAGIC_PEBBLE, 0).unwrap();
    }
}
