//! A one-pass reader of the SQS message JSON (dynamodb_sqs.md §2.2, §2.4) for its common,
//! well-formed shape: the compact object Go writes, stored (`json.Marshal`, the body in
//! base64) or as a `messages.jsonl` line (the body as text, a `partition`).
//!
//! [`message`] reads that shape straight from the bytes, without building a JSON tree. It
//! answers `None` for anything it does not handle exactly as the general readers
//! ([`Message::from_stored_general`](super::Message::from_stored_general),
//! [`Message::from_dump_general`](super::Message::from_dump_general)) do, and the caller
//! then runs the general reader, so values, lenient cases and errors stay the general
//! reader's:
//!
//! * input that is not valid UTF-8, or does not start with `{` and end with its `}`;
//! * any whitespace, or a backslash or control byte inside a string;
//! * a member name that is not one of the message's fields spelled exactly, or a field
//!   given twice;
//! * a number that is not a plain integer of at most 18 digits (`-0`, fractions and
//!   exponents included), or negative for an unsigned field (above `u32` for
//!   `partition`); a value of the wrong type;
//! * a `[]byte` field that is not valid standard base64;
//! * a dump line's body that is `null` or an object, or a `partition` in a stored value;
//! * `message_attributes` other than `null` or an object whose names are plain and
//!   distinct and whose values are nested objects and strings only.

use super::{decode_std, Message};

/// The deepest nesting accepted inside one attribute value.
const MAX_DEPTH: usize = 8;

/// How far the scanner got: the text and the position of the next byte.
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.at += 1)
    }

    /// A string without escapes or control bytes: its contents.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let b = self.text.as_bytes();
        loop {
            match *b.get(self.at)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        let s = self.text.get(start..self.at)?;
        self.at += 1;
        Some(s)
    }

    /// `null`: whether it was there (and skipped).
    fn null(&mut self) -> bool {
        let is = self.text.as_bytes().get(self.at..self.at + 4) == Some(b"null");
        if is {
            self.at += 4;
        }
        is
    }

    /// A plain integer of at most 18 digits (so it fits an `i64`); `-0` is refused.
    fn int(&mut self) -> Option<i64> {
        let neg = self.eat(b'-').is_some();
        let b = self.text.as_bytes();
        let start = self.at;
        while b.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let digits = b.get(start..self.at)?;
        let first = *digits.first()?;
        if digits.len() > 18 || (first == b'0' && (digits.len() > 1 || neg)) {
            return None;
        }
        // A fraction or an exponent: not a plain integer.
        if matches!(b.get(self.at), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let n = digits.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        Some(if neg { -n } else { n })
    }

    /// One attribute value: a plain string or an object of such values.
    fn attr_value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' if depth < MAX_DEPTH => {
                self.at += 1;
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.eat(b':')?;
                    self.attr_value(depth + 1)?;
                    match self.peek()? {
                        b',' => self.at += 1,
                        b'}' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    /// `message_attributes`' object: name → raw value, sorted by name, names distinct.
    fn attributes(&mut self) -> Option<Vec<(String, Vec<u8>)>> {
        self.eat(b'{')?;
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        if self.eat(b'}').is_none() {
            loop {
                let name = self.string()?;
                self.eat(b':')?;
                let start = self.at;
                self.attr_value(0)?;
                let raw = self.text.as_bytes().get(start..self.at)?;
                out.push((name.to_owned(), raw.to_vec()));
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        if out.windows(2).any(|w| w[0].0 == w[1].0) {
            return None;
        }
        Some(out)
    }
}

/// Which JSON of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The stored value (after the magic).
    Stored,
    /// One `messages.jsonl` object.
    Dump,
}

/// The fields of a message, in the order of the bit each takes in the seen-mask
/// (`partition`: dump lines only).
const FIELDS: [&str; 18] = [
    "message_id",
    "body",
    "md5_of_body",
    "md5_of_message_attributes",
    "message_attributes",
    "sender_id",
    "send_timestamp_millis",
    "available_at_millis",
    "visible_at_millis",
    "receive_count",
    "first_receive_millis",
    "current_receipt_token",
    "queue_generation",
    "message_group_id",
    "message_deduplication_id",
    "sequence_number",
    "dead_letter_source_arn",
    "partition",
];

/// Read a message of the common shape; `None`: use the general reader.
pub fn message(json: &[u8], shape: Shape) -> Option<Message> {
    let text = std::str::from_utf8(json).ok()?;
    let mut s = Scan { text, at: 0 };
    let mut m = Message::default();
    s.eat(b'{')?;
    let mut seen = 0u32;
    if s.eat(b'}').is_none() {
        loop {
            let name = s.string()?;
            s.eat(b':')?;
            let field = FIELDS.iter().position(|f| *f == name)?;
            let bit = 1u32 << field;
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            if !s.null() {
                read_field(&mut s, field, shape, &mut m)?;
            } else if shape == Shape::Dump && field == 1 {
                return None; // a `null` dump body is an empty body
            }
            match s.peek()? {
                b',' => s.at += 1,
                b'}' => {
                    s.at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (s.at == json.len()).then_some(m)
}

/// Read field number `field` of [`FIELDS`] (not `null`) into `m`.
fn read_field(s: &mut Scan<'_>, field: usize, shape: Shape, m: &mut Message) -> Option<()> {
    let text = |s: &mut Scan<'_>| s.string().map(str::to_owned);
    let bytes = |s: &mut Scan<'_>| s.string().and_then(|t| decode_std(t).ok());
    let unsigned = |s: &mut Scan<'_>| s.int().and_then(|n| u64::try_from(n).ok());
    match field {
        0 => m.message_id = text(s)?,
        1 if shape == Shape::Stored => m.body = Some(bytes(s)?),
        1 => m.body = Some(s.string()?.as_bytes().to_vec()),
        2 => m.md5_of_body = text(s)?,
        3 => m.md5_of_message_attributes = text(s)?,
        4 => m.message_attributes = s.attributes()?,
        5 => m.sender_id = text(s)?,
        6 => m.send_timestamp_millis = s.int()?,
        7 => m.available_at_millis = s.int()?,
        8 => m.visible_at_millis = s.int()?,
        9 => m.receive_count = s.int()?,
        10 => m.first_receive_millis = s.int()?,
        11 => m.current_receipt_token = Some(bytes(s)?),
        12 => m.queue_generation = unsigned(s)?,
        13 => m.message_group_id = text(s)?,
        14 => m.message_deduplication_id = text(s)?,
        15 => m.sequence_number = unsigned(s)?,
        16 => m.dead_letter_source_arn = text(s)?,
        17 if shape == Shape::Dump => m.partition = Some(s.int().and_then(|n| u32::try_from(n).ok())?),
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::super::Message;
    use super::{message, Shape};
    use proptest::prelude::*;

    const COMMON: &str = r#"{"message_id":"3a43d163-0000000000269904","body":"aGk8Pg==","md5_of_body":"5b6ad1414a6a7ed8","message_attributes":{"n":{"DataType":"Number","StringValue":"2"},"kind":{"DataType":"String","StringValue":"bench"}},"send_timestamp_millis":1700000269904,"available_at_millis":1700000269904,"visible_at_millis":-5,"receive_count":0,"current_receipt_token":null,"queue_generation":1,"message_group_id":"group-2","sequence_number":1275}"#;

    /// The fast reader either declines or agrees with the general reader.
    fn agrees(json: &[u8]) -> Option<Message> {
        let fast = message(json, Shape::Stored);
        if let Some(m) = &fast {
            assert_eq!(
                Message::from_stored_general(json).as_ref(),
                Ok(m),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        assert_eq!(Message::from_stored(json), Message::from_stored_general(json));
        fast
    }

    #[test]
    fn reads_the_common_shape_as_the_general_reader() {
        let m = agrees(COMMON.as_bytes()).expect("fast path");
        assert_eq!(m.body.as_deref(), Some(&b"hi<>"[..]));
        assert_eq!(m.visible_at_millis, -5);
        assert_eq!(m.sequence_number, 1275);
        assert_eq!(m.current_receipt_token, None);
        let names: Vec<&str> = m.message_attributes.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["kind", "n"]);
        assert_eq!(
            m.message_attributes[1].1,
            br#"{"DataType":"Number","StringValue":"2"}"#
        );
        // Every field, and the empty and null shapes.
        let all = r#"{"message_id":"m","body":"","md5_of_body":"a","md5_of_message_attributes":"b","message_attributes":{},"sender_id":"s","send_timestamp_millis":1,"available_at_millis":2,"visible_at_millis":3,"receive_count":4,"first_receive_millis":5,"current_receipt_token":"AAE=","queue_generation":6,"message_group_id":"g","message_deduplication_id":"d","sequence_number":7,"dead_letter_source_arn":"arn"}"#;
        let m = agrees(all.as_bytes()).expect("fast path");
        assert_eq!(
            (m.body, m.current_receipt_token),
            (Some(vec![]), Some(vec![0, 1]))
        );
        assert_eq!(agrees(b"{}"), Some(Message::default()));
        assert!(agrees(br#"{"body":null,"message_attributes":null}"#).is_some());
    }

    /// The same for the dump shape.
    fn agrees_dump(json: &[u8]) -> Option<Message> {
        let fast = message(json, Shape::Dump);
        if let Some(m) = &fast {
            assert_eq!(
                Message::from_dump_general(json).as_ref(),
                Ok(m),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        assert_eq!(Message::from_dump(json), Message::from_dump_general(json));
        fast
    }

    #[test]
    fn reads_the_common_dump_line_as_the_general_reader() {
        let line = r#"{"message_id":"m","body":"hello <b> & you","md5_of_body":"x","message_attributes":{"k":{"DataType":"String","StringValue":"v"}},"send_timestamp_millis":1,"available_at_millis":2,"visible_at_millis":0,"receive_count":0,"queue_generation":1,"message_group_id":"g","sequence_number":4,"partition":3}"#;
        let m = agrees_dump(line.as_bytes()).expect("fast path");
        assert_eq!(m.body.as_deref(), Some(&b"hello <b> & you"[..]));
        assert_eq!(m.partition, Some(3));
        assert_eq!(agrees_dump(br#"{"body":""}"#).and_then(|m| m.body), Some(vec![]));
        assert_eq!(agrees_dump(b"{}").map(|m| m.body), Some(None));
        for declined in [
            &br#"{"body":null}"#[..],
            br#"{"body":{"base64":"_wD-"}}"#,
            br#"{"body":"a\u003cb"}"#,
            br#"{"partition":-1}"#,
            br#"{"partition":4294967296}"#,
            br#"{"partition":"1"}"#,
            b"null",
        ] {
            assert_eq!(
                agrees_dump(declined),
                None,
                "{}",
                String::from_utf8_lossy(declined)
            );
        }
        // A partition is no field of a stored value; a dump body is no base64.
        assert_eq!(agrees(br#"{"partition":1}"#), None);
        assert_eq!(
            agrees_dump(br#"{"body":"aGk="}"#).and_then(|m| m.body),
            Some(b"aGk=".to_vec())
        );
    }

    #[test]
    fn declines_every_other_shape_and_the_general_reader_answers() {
        let declined = [
            // Not UTF-8, not one compact object, trailing bytes.
            &b"{\"message_id\":\"\xff\"}"[..],
            b" {}",
            b"{} ",
            b"{}}",
            b"[]",
            b"null",
            b"",
            b"{\"message_id\" :\"m\"}",
            b"{\"message_id\":\"m\" }",
            // Escapes and control bytes in strings.
            b"{\"message_id\":\"a\\u003c\"}",
            b"{\"message_id\":\"a\tb\"}",
            b"{\"mess\\u0061ge_id\":\"m\"}",
            // Names: case-folded, unknown, twice.
            b"{\"Message_Id\":\"m\"}",
            b"{\"partition\":1}",
            b"{\"message_id\":\"a\",\"message_id\":\"b\"}",
            b"{\"body\":null,\"body\":\"aGk=\"}",
            // Numbers.
            b"{\"receive_count\":1.0}",
            b"{\"receive_count\":1e3}",
            b"{\"receive_count\":-0}",
            b"{\"receive_count\":01}",
            b"{\"receive_count\":1234567890123456789}",
            b"{\"queue_generation\":-1}",
            b"{\"receive_count\":\"1\"}",
            b"{\"receive_count\":true}",
            b"{\"receive_count\":-}",
            // Wrong types and bad base64.
            b"{\"message_id\":5}",
            b"{\"body\":\"aGk\"}",
            b"{\"body\":\"a\\nGk=\"}",
            b"{\"current_receipt_token\":[]}",
            // Attributes: duplicates, other value types, nesting, wrong type.
            b"{\"message_attributes\":{\"a\":\"x\",\"a\":\"y\"}}",
            b"{\"message_attributes\":{\"a\":1}}",
            b"{\"message_attributes\":{\"a\":{\"b\":[]}}}",
            b"{\"message_attributes\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":\"x\"}}}}}}}}}}}",
            b"{\"message_attributes\":\"x\"}",
            b"{\"message_attributes\":{\"a\\u0062\":\"x\"}}",
            b"{\"message_attributes\":{\"a\":\"x\"",
            // Truncated.
            b"{\"message_id\":\"m\"",
            b"{\"message_id\":",
        ];
        for json in declined {
            assert_eq!(agrees(json), None, "{}", String::from_utf8_lossy(json));
        }
        // Nesting below the limit is read.
        assert!(agrees(b"{\"message_attributes\":{\"a\":{\"b\":{\"c\":\"x\"}}}}").is_some());
    }

    /// A JSON fragment: a valid or nearly valid piece of a message value.
    fn piece() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            proptest::sample::select(super::FIELDS.to_vec()).prop_map(str::to_owned),
            Just("Message_ID".to_owned()),
            Just("other".to_owned()),
        ];
        let value = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            (0u64..1000).prop_map(|n| n.to_string()),
            Just("1.5".to_owned()),
            Just("-0".to_owned()),
            "[a-zA-Z0-9+/=<>&\u{2028} ]{0,12}".prop_map(|s| format!("\"{s}\"")),
            Just("\"aGk=\"".to_owned()),
            Just("\"a\\\"b\"".to_owned()),
            Just("{\"k\":{\"DataType\":\"String\",\"StringValue\":\"v\"},\"j\":\"x\"}".to_owned()),
            Just("{\"k\":\"a\",\"k\":\"b\"}".to_owned()),
            Just("[]".to_owned()),
        ];
        (name, value, proptest::bool::weighted(0.05)).prop_map(|(n, v, ws)| {
            if ws {
                format!("\"{n}\" : {v}")
            } else {
                format!("\"{n}\":{v}")
            }
        })
    }

    proptest! {
        #[test]
        fn fast_equals_general_on_random_values(members in proptest::collection::vec(piece(), 0..8)) {
            let json = format!("{{{}}}", members.join(","));
            agrees(json.as_bytes());
            agrees_dump(json.as_bytes());
        }
    }
}
