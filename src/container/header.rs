//! The FSM snapshot header `EKVTHLC1` / `EKVTHLC2` (containers.md §1, gotchas 4, 5, 17).
//!
//! ```text
//! v1: "EKVTHLC1" | u64be ceiling_ms                                        (16 bytes)
//! v2: "EKVTHLC2" | u16be len (16..=1024) | u64be ceiling_ms | u64be cutover | len-16 ext bytes
//! ```
//!
//! [`FsmHeader::read`] follows the branches of §1.5 in order over a [`PeekReader`] the
//! caller keeps using for the payload: on the legacy branches (0–7 byte stream, no
//! `EKVTHLC` prefix) nothing is consumed. The writer emits v1 while the cutover is 0 and
//! the 26-byte v2 form once it is not, through the no-downgrade [`HeaderLatch`] (§1.7).

use std::io::{self, Read, Write};

use super::peek::PeekReader;
use super::ContainerError;

/// `EKVTHLC1`.
pub const MAGIC_V1: [u8; 8] = *b"EKVTHLC1";
/// `EKVTHLC2`.
pub const MAGIC_V2: [u8; 8] = *b"EKVTHLC2";
/// The 7-byte prefix shared by every version.
pub const MAGIC_PREFIX: [u8; 7] = *b"EKVTHLC";
/// v1 header length.
pub const V1_LEN: u64 = 16;
/// v2 header length as written (len = 16).
pub const V2_LEN: u64 = 26;
/// Smallest accepted v2 length prefix (inclusive).
pub const V2_MIN_PAYLOAD: u16 = 16;
/// Largest accepted v2 length prefix (inclusive).
pub const V2_MAX_PAYLOAD: u16 = 1024;

/// Header version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderVersion {
    /// `EKVTHLC1`: the fixed 16-byte header.
    V1,
    /// `EKVTHLC2`: the length-prefixed header.
    V2,
}

/// A parsed (or to-be-written) FSM header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsmHeader {
    /// The version found.
    pub version: HeaderVersion,
    /// HLC physical ceiling, Unix milliseconds (0 = none).
    pub ceiling_ms: u64,
    /// Raft envelope cutover index (always 0 for v1).
    pub cutover: u64,
    /// Bytes the header occupies in the file (16 for v1, `10 + len` for v2).
    pub len: u64,
}

impl FsmHeader {
    /// A v1 header.
    pub fn v1(ceiling_ms: u64) -> Self {
        FsmHeader {
            version: HeaderVersion::V1,
            ceiling_ms,
            cutover: 0,
            len: V1_LEN,
        }
    }

    /// A v2 header in the 26-byte form the writer always emits.
    pub fn v2(ceiling_ms: u64, cutover: u64) -> Self {
        FsmHeader {
            version: HeaderVersion::V2,
            ceiling_ms,
            cutover,
            len: V2_LEN,
        }
    }

    /// Read the header per §1.5. `Ok(None)` means headerless legacy: nothing was consumed
    /// and every byte is still available from `r`.
    pub fn read<R: Read>(r: &mut PeekReader<R>) -> Result<Option<FsmHeader>, ContainerError> {
        let head = match r.peek(8) {
            Ok(h) => h,
            // Branch 0a: a real I/O error during the peek is an error, never "legacy".
            Err(source) => {
                return Err(ContainerError::Io {
                    offset: r.offset(),
                    what: "FSM header (peek of 8 bytes)",
                    source,
                })
            }
        };
        // Branch 0b: a 0–7 byte stream is headerless legacy.
        let Ok(magic) = <[u8; 8]>::try_from(head) else {
            return Ok(None);
        };
        match magic {
            MAGIC_V2 => read_v2(r).map(Some),
            MAGIC_V1 => {
                let mut b = [0u8; 16];
                read_exact(r, &mut b, "v1 header (magic + ceiling)")?;
                Ok(Some(FsmHeader::v1(u64::from_be_bytes(tail8(&b, 8)))))
            }
            m if m[..7] == MAGIC_PREFIX => Err(ContainerError::HeaderUnknownMagic { magic: m }),
            _ => Ok(None),
        }
    }

    /// The header bytes (v1: 16 bytes; v2: the 26-byte form with len = 16).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(V2_LEN as usize);
        match self.version {
            HeaderVersion::V1 => {
                out.extend_from_slice(&MAGIC_V1);
                out.extend_from_slice(&self.ceiling_ms.to_be_bytes());
            }
            HeaderVersion::V2 => {
                out.extend_from_slice(&MAGIC_V2);
                out.extend_from_slice(&V2_MIN_PAYLOAD.to_be_bytes());
                out.extend_from_slice(&self.ceiling_ms.to_be_bytes());
                out.extend_from_slice(&self.cutover.to_be_bytes());
            }
        }
        out
    }

    /// Write [`Self::to_bytes`].
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.to_bytes())
    }
}

fn tail8(b: &[u8], at: usize) -> [u8; 8] {
    let mut out = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        out.copy_from_slice(s);
    }
    out
}

/// Read exactly `buf.len()` bytes or fail with `Truncated` naming `what`.
fn read_exact<R: Read>(
    r: &mut PeekReader<R>,
    buf: &mut [u8],
    what: &'static str,
) -> Result<(), ContainerError> {
    let offset = r.offset();
    let got = r
        .peek(buf.len())
        .map_err(|source| ContainerError::Io { offset, what, source })?;
    if got.len() < buf.len() {
        return Err(ContainerError::Truncated {
            offset,
            what,
            expected: buf.len() as u64,
            found: got.len() as u64,
        });
    }
    buf.copy_from_slice(got);
    r.consume(buf.len());
    Ok(())
}

fn read_v2<R: Read>(r: &mut PeekReader<R>) -> Result<FsmHeader, ContainerError> {
    let mut head = [0u8; 10];
    read_exact(r, &mut head, "v2 header (magic + length prefix)")?;
    let len = u16::from_be_bytes([head[8], head[9]]);
    // Checked before reading (or allocating for) the payload.
    if !(V2_MIN_PAYLOAD..=V2_MAX_PAYLOAD).contains(&len) {
        return Err(ContainerError::HeaderInvalidLength { len });
    }
    let mut fields = [0u8; 16];
    let offset = r.offset();
    read_exact(r, &mut fields, "v2 header payload").map_err(|e| match e {
        ContainerError::Truncated { found, .. } => ContainerError::Truncated {
            offset,
            what: "v2 header payload",
            expected: u64::from(len),
            found,
        },
        e => e,
    })?;
    let ext = u64::from(len - V2_MIN_PAYLOAD);
    let skipped = r.skip(ext).map_err(|source| ContainerError::Io {
        offset: r.offset(),
        what: "v2 header extension bytes",
        source,
    })?;
    if skipped < ext {
        return Err(ContainerError::Truncated {
            offset,
            what: "v2 header payload",
            expected: u64::from(len),
            found: 16 + skipped,
        });
    }
    Ok(FsmHeader {
        version: HeaderVersion::V2,
        ceiling_ms: u64::from_be_bytes(tail8(&fields, 0)),
        cutover: u64::from_be_bytes(tail8(&fields, 8)),
        len: 10 + u64::from(len),
    })
}

/// The warning recorded the first time the latch holds v2 against a zero cutover.
pub const LATCH_WARNING: &str = "snapshot: sidecar cutover transitioned non-zero -> 0; \
no-downgrade latch holding v2 with last-observed cutover";

/// What the latch decided for one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatchDecision {
    /// The header to write.
    pub header: FsmHeader,
    /// Set (to `LATCH_WARNING`) only the first time the latch refuses a downgrade.
    pub warning: Option<&'static str>,
}

/// The no-downgrade latch (§1.7): once a non-zero cutover was observed, every later header
/// is v2 and carries the last non-zero cutover. In memory only.
#[derive(Debug, Default, Clone)]
pub struct HeaderLatch {
    last_seen: u64,
    warned: bool,
}

impl HeaderLatch {
    /// A latch that has seen no header yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a non-zero cutover was ever observed.
    pub fn latched(&self) -> bool {
        self.last_seen != 0
    }

    /// Whether the downgrade warning was issued.
    pub fn warned(&self) -> bool {
        self.warned
    }

    /// Observe the current cutover and choose the header.
    pub fn decide(&mut self, ceiling_ms: u64, cutover: u64) -> LatchDecision {
        let mut warning = None;
        if cutover != 0 {
            self.last_seen = cutover;
        } else if self.last_seen != 0 && !self.warned {
            self.warned = true;
            warning = Some(LATCH_WARNING);
        }
        let header = if self.last_seen != 0 {
            FsmHeader::v2(ceiling_ms, self.last_seen)
        } else {
            FsmHeader::v1(ceiling_ms)
        };
        LatchDecision { header, warning }
    }

    /// [`Self::decide`], then write the header.
    pub fn write<W: Write>(
        &mut self,
        w: &mut W,
        ceiling_ms: u64,
        cutover: u64,
    ) -> Result<LatchDecision, ContainerError> {
        let d = self.decide(ceiling_ms, cutover);
        d.header.write_to(w).map_err(|source| ContainerError::Write {
            what: "FSM header",
            source,
        })?;
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_kind::ErrorKind;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn read_all(bytes: &[u8]) -> (Result<Option<FsmHeader>, ContainerError>, Vec<u8>) {
        let mut r = PeekReader::new(bytes);
        let h = FsmHeader::read(&mut r);
        let mut rest = Vec::new();
        r.read_into(&mut rest, u64::MAX).unwrap();
        (h, rest)
    }

    #[test]
    fn v1_bytes_match_spec_layout() {
        let h = FsmHeader::v1(12345);
        assert_eq!(h.to_bytes(), hex("454B5654484C4331 0000000000003039"));
        let mut input = h.to_bytes();
        input.extend_from_slice(b"PAYLOAD");
        let (got, rest) = read_all(&input);
        assert_eq!(got.unwrap(), Some(h));
        assert_eq!(h.cutover, 0);
        assert_eq!(rest, b"PAYLOAD");
    }

    #[test]
    fn v2_spec_example_round_trips() {
        let spec = hex("454B5654484C4332 0010 000000000000002A 0000000000000005");
        let h = FsmHeader::v2(0x2A, 5);
        assert_eq!(h.to_bytes(), spec);
        let mut input = spec.clone();
        input.extend_from_slice(b"EKVPBBL1");
        let (got, rest) = read_all(&input);
        let got = got.unwrap().unwrap();
        assert_eq!(got, h);
        assert_eq!(got.len, 26);
        assert_eq!(rest, b"EKVPBBL1");
    }

    #[test]
    fn v2_extension_bytes_are_skipped() {
        let mut input = hex("454B5654484C4332 0018 0000000000000007 0000000000000009");
        input.extend_from_slice(&[0xEE; 8]);
        input.extend_from_slice(b"payload");
        let (got, rest) = read_all(&input);
        let got = got.unwrap().unwrap();
        assert_eq!((got.ceiling_ms, got.cutover, got.len), (7, 9, 34));
        assert_eq!(rest, b"payload");
    }

    #[test]
    fn v2_length_bounds_inclusive() {
        for (len, ok) in [(15u16, false), (16, true), (1024, true), (1025, false)] {
            let mut input = MAGIC_V2.to_vec();
            input.extend_from_slice(&len.to_be_bytes());
            input.extend(std::iter::repeat(0u8).take(len as usize));
            let (got, _) = read_all(&input);
            assert_eq!(got.is_ok(), ok, "len {len}");
            if !ok {
                let e = got.unwrap_err();
                assert!(matches!(e, ContainerError::HeaderInvalidLength { len: l } if l == len));
                assert_eq!(e.kind(), ErrorKind::Data);
            }
        }
    }

    #[test]
    fn v2_len_ffff_rejected_before_reading_payload() {
        // Only the 10 header bytes exist: the error must come from the length check, not a
        // short read (which would mean the payload was attempted).
        let input = hex("454B5654484C4332 FFFF");
        let (got, _) = read_all(&input);
        let e = got.unwrap_err();
        assert!(matches!(e, ContainerError::HeaderInvalidLength { len: 0xFFFF }));
        assert!(e.to_string().contains("65535"), "{e}");
    }

    #[test]
    fn unknown_version_fails_closed() {
        for last in [b'9', b'0', b'3', 0u8] {
            let mut input = MAGIC_PREFIX.to_vec();
            input.push(last);
            input.extend_from_slice(&[0; 16]);
            let (got, _) = read_all(&input);
            let e = got.unwrap_err();
            assert!(matches!(e, ContainerError::HeaderUnknownMagic { .. }), "{e}");
        }
        let (got, _) = read_all(b"EKVTHLC9");
        assert!(got.unwrap_err().to_string().contains("EKVTHLC9"));
    }

    #[test]
    fn headerless_bytes_are_untouched() {
        let input = b"EKVPBBL1\x01\0\0\0\0\0\0\0rest-of-payload";
        let (got, rest) = read_all(input);
        assert_eq!(got.unwrap(), None);
        assert_eq!(rest, input);
    }

    #[test]
    fn short_streams_are_legacy() {
        for input in [&b""[..], b"EKVT", b"EKVTHLC"] {
            let (got, rest) = read_all(input);
            assert_eq!(got.unwrap(), None);
            assert_eq!(rest, input);
        }
    }

    #[test]
    fn truncated_headers_are_errors() {
        let (got, _) = read_all(b"EKVTHLC1\0\0\0");
        let e = got.unwrap_err();
        assert!(
            matches!(
                e,
                ContainerError::Truncated {
                    expected: 16,
                    found: 11,
                    ..
                }
            ),
            "{e}"
        );
        let (got, _) = read_all(b"EKVTHLC2\x00");
        assert!(matches!(
            got.unwrap_err(),
            ContainerError::Truncated { found: 9, .. }
        ));
        let mut input = hex("454B5654484C4332 0010");
        input.extend_from_slice(&[0; 10]);
        let (got, _) = read_all(&input);
        let e = got.unwrap_err();
        assert!(
            matches!(
                e,
                ContainerError::Truncated {
                    offset: 10,
                    expected: 16,
                    found: 10,
                    ..
                }
            ),
            "{e}"
        );
        // Extension bytes missing.
        let mut input = hex("454B5654484C4332 0020");
        input.extend_from_slice(&[0; 20]);
        let (got, _) = read_all(&input);
        assert!(matches!(
            got.unwrap_err(),
            ContainerError::Truncated {
                expected: 32,
                found: 20,
                ..
            }
        ));
    }

    struct FailAfter {
        data: Vec<u8>,
        at: usize,
    }

    impl Read for FailAfter {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.at < self.data.len() {
                let n = (self.data.len() - self.at).min(out.len());
                out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "disk gone"))
        }
    }

    #[test]
    fn io_error_during_peek_is_an_error_not_legacy() {
        for prefix in [&b""[..], b"EKV"] {
            let mut r = PeekReader::new(FailAfter {
                data: prefix.to_vec(),
                at: 0,
            });
            let e = FsmHeader::read(&mut r).unwrap_err();
            assert!(matches!(e, ContainerError::Io { offset: 0, .. }), "{e}");
            assert!(e.to_string().contains("disk gone"), "{e}");
            assert_eq!(e.kind(), ErrorKind::Usage);
            assert_eq!(r.buffered(), prefix);
        }
    }

    #[test]
    fn writer_chooses_v1_then_v2() {
        let mut latch = HeaderLatch::new();
        let mut out = Vec::new();
        let d = latch.write(&mut out, 99, 0).unwrap();
        assert_eq!(d.header.version, HeaderVersion::V1);
        assert_eq!(out, hex("454B5654484C4331 0000000000000063"));
        out.clear();
        let d = latch.write(&mut out, 1, 0xCA11ED).unwrap();
        assert_eq!(d.header.version, HeaderVersion::V2);
        assert_eq!(&out[..8], b"EKVTHLC2");
        assert_eq!(&out[8..10], &[0, 16]);
        assert_eq!(&out[10..18], &1u64.to_be_bytes());
        assert_eq!(&out[18..26], &0xCA11EDu64.to_be_bytes());
        assert_eq!(out.len(), 26);
        assert!(!latch.warned());
    }

    #[test]
    fn latch_never_downgrades_and_warns_once() {
        let mut latch = HeaderLatch::new();
        assert!(!latch.latched());
        let d = latch.decide(10, 5);
        assert_eq!(d.header, FsmHeader::v2(10, 5));
        assert_eq!(d.warning, None);
        let d = latch.decide(11, 0);
        assert_eq!(d.header, FsmHeader::v2(11, 5));
        assert_eq!(d.warning, Some(LATCH_WARNING));
        assert!(latch.warned() && latch.latched());
        let d = latch.decide(12, 0);
        assert_eq!(d.header, FsmHeader::v2(12, 5));
        assert_eq!(d.warning, None, "warned only once");
        let d = latch.decide(12, 7);
        assert_eq!(d.header.cutover, 7);
    }

    #[test]
    fn write_error_is_reported() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = HeaderLatch::new().write(&mut Broken, 0, 0).unwrap_err();
        assert!(matches!(e, ContainerError::Write { .. }));
        assert_eq!(e.kind(), ErrorKind::Usage);
    }
}
