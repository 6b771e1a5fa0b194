//! The JSON shapes of SQS (dynamodb_sqs.md §2.2, §2.4, §2.5), both directions:
//!
//! * [`QueueMeta`]: the stored queue meta (`00 'S' 'Q' 01` + JSON) and `_queue.json`;
//! * [`Message`]: the stored message (`00 'S' 'M' 01` + JSON) and a `messages.jsonl` line;
//! * the FIFO dedup record and the `_internals/side_records.jsonl` line.
//!
//! Reading follows Go `encoding/json` (names matched exactly or ASCII case-insensitively,
//! `null` = zero value, a wrong type is an error); writing reproduces Go's bytes (field
//! order, `omitempty`, HTML escaping per call site). Errors are [`ValueError`]s for the
//! caller to wrap with the key or the file.

use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};

use super::rawjson;
use crate::dump::gofields::get_ci;
use crate::dump::json::{self as gojson, JsonStyle};

type Object = Map<String, Value>;

/// Compact, no newline, HTML escaping off: a field inside a `json.Encoder` line with
/// `SetEscapeHTML(false)`.
const INLINE: JsonStyle = JsonStyle {
    indent: false,
    escape_html: false,
    newline: false,
};

// ---------------------------------------------------------------------------------------
// Lenient field access (Go struct decoding).

/// The type of a JSON value, as an error names what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonType {
    /// The type of `v`.
    pub fn of(v: &Value) -> JsonType {
        match v {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Bool,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }
}

impl std::fmt::Display for JsonType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JsonType::Null => "null",
            JsonType::Bool => "a boolean",
            JsonType::Number => "a number",
            JsonType::String => "a string",
            JsonType::Array => "an array",
            JsonType::Object => "an object",
        })
    }
}

/// What a struct field must hold ([`ValueError::FieldType`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A Go `string`.
    String,
    /// A Go `bool`.
    Bool,
    /// A Go `int64`.
    I64,
    /// A Go `uint64`.
    U64,
    /// A Go `uint32`.
    U32,
    /// A Go `[]byte` (standard base64).
    Bytes,
}

impl std::fmt::Display for FieldType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FieldType::String => "a string",
            FieldType::Bool => "a boolean",
            FieldType::I64 => "a 64-bit integer",
            FieldType::U64 => "an unsigned 64-bit integer",
            FieldType::U32 => "an unsigned 32-bit integer",
            FieldType::Bytes => "a base64 string",
        })
    }
}

/// Why a stored value or a dump file's JSON is not a queue meta or a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Not one JSON value.
    #[error("{detail}")]
    Json {
        /// The JSON reader's message (`dump::json::parse_one`).
        detail: String,
    },
    /// A JSON value other than an object (or `null` where that is the zero object).
    #[error("expected a JSON object, found {found}")]
    NotObject {
        /// What it is.
        found: JsonType,
    },
    /// A field of the wrong type.
    #[error("field `{field}`: expected {expected}, found {found}")]
    FieldType {
        /// The field's name.
        field: &'static str,
        /// What it must hold.
        expected: FieldType,
        /// What it holds.
        found: JsonType,
    },
    /// A `[]byte` field that is not standard base64.
    #[error("field `{field}`: invalid base64: {error}")]
    FieldBase64 {
        /// The field's name.
        field: &'static str,
        /// The decoder's error.
        error: base64::DecodeError,
    },
    /// The raw scan of the message object failed.
    #[error("not a JSON object")]
    RawObject,
    /// A member name of the message object is not a string.
    #[error("object key is not a string")]
    KeyNotString,
    /// `message_attributes` is neither an object nor `null`.
    #[error("field `message_attributes`: expected an object")]
    AttributesType,
    /// The raw scan of the `message_attributes` object failed.
    #[error("bad attributes object")]
    AttributesObject,
    /// A member name of `message_attributes` is not a string.
    #[error("attribute name is not a string")]
    AttributeName,
    /// A dump body that is neither a string nor an object (nor `null`).
    #[error("body: expected a string or an object, found {found}")]
    BodyType {
        /// What it is.
        found: JsonType,
    },
    /// A body object with a member other than `base64`.
    #[error("body object has an unknown field `{field}`")]
    BodyField {
        /// The member's name.
        field: String,
    },
    /// A body object without `base64` (or with `null`).
    #[error("body object missing base64 field")]
    BodyMissingBase64,
    /// A body object whose `base64` is not a string.
    #[error("body `base64`: expected a string, found {found}")]
    BodyBase64Type {
        /// What it is.
        found: JsonType,
    },
    /// A body object whose `base64` is not base64url.
    #[error("{detail}")]
    BodyBase64 {
        /// The decoder's message (`dump::json::decode_base64url_lenient`).
        detail: String,
    },
}

/// One JSON value, as `dump::json::parse_one` reads it.
fn parse_json(bytes: &[u8], trailing_close_ok: bool) -> Result<Value, ValueError> {
    gojson::parse_one(bytes, trailing_close_ok).map_err(|detail| ValueError::Json { detail })
}

struct Get<'a>(&'a Object);

impl<'a> Get<'a> {
    fn field(&self, name: &str) -> Option<&'a Value> {
        get_ci(self.0, name).filter(|v| !v.is_null())
    }
    fn wrong(field: &'static str, expected: FieldType, v: &Value) -> ValueError {
        ValueError::FieldType {
            field,
            expected,
            found: JsonType::of(v),
        }
    }
    fn string(&self, name: &'static str) -> Result<String, ValueError> {
        match self.field(name) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(Self::wrong(name, FieldType::String, v)),
        }
    }
    fn bool(&self, name: &'static str) -> Result<bool, ValueError> {
        match self.field(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(Self::wrong(name, FieldType::Bool, v)),
        }
    }
    fn i64(&self, name: &'static str) -> Result<i64, ValueError> {
        match self.field(name) {
            None => Ok(0),
            Some(v) => v.as_i64().ok_or_else(|| Self::wrong(name, FieldType::I64, v)),
        }
    }
    fn u64(&self, name: &'static str) -> Result<u64, ValueError> {
        match self.field(name) {
            None => Ok(0),
            Some(v) => v.as_u64().ok_or_else(|| Self::wrong(name, FieldType::U64, v)),
        }
    }
    fn u32(&self, name: &'static str) -> Result<Option<u32>, ValueError> {
        match self.field(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| Self::wrong(name, FieldType::U32, v)),
        }
    }
    /// A Go `[]byte`: standard base64 with padding (`\r`/`\n` skipped).
    fn bytes(&self, name: &'static str) -> Result<Option<Vec<u8>>, ValueError> {
        match self.field(name) {
            None => Ok(None),
            Some(Value::String(s)) => decode_std(s)
                .map(Some)
                .map_err(|error| ValueError::FieldBase64 { field: name, error }),
            Some(v) => Err(Self::wrong(name, FieldType::Bytes, v)),
        }
    }
}

/// Go `base64.StdEncoding` decoding: padding required, `\r`/`\n` skipped, non-zero
/// trailing bits accepted.
pub fn decode_std(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    if !text.bytes().any(|b| b == b'\r' || b == b'\n') {
        return ENGINE.decode(text.as_bytes());
    }
    let cleaned: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    ENGINE.decode(cleaned.as_bytes())
}

fn b64std(raw: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// Parse one JSON value as an object (`null` is the zero object, as Go's `Unmarshal` into
/// a struct).
fn parse_object(bytes: &[u8], trailing_close_ok: bool) -> Result<Object, ValueError> {
    match parse_json(bytes, trailing_close_ok)? {
        Value::Object(o) => Ok(o),
        Value::Null => Ok(Object::new()),
        v => Err(ValueError::NotObject {
            found: JsonType::of(&v),
        }),
    }
}

// ---------------------------------------------------------------------------------------
// Queue meta.

/// The queue attributes a dump keeps (`sqsQueueMetaPublic`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueMeta {
    /// The queue name.
    pub name: String,
    /// Whether the queue is FIFO.
    pub fifo: bool,
    /// `ContentBasedDeduplication`.
    pub content_based_deduplication: bool,
    /// `VisibilityTimeout`, in seconds.
    pub visibility_timeout_seconds: i64,
    /// `MessageRetentionPeriod`, in seconds.
    pub message_retention_seconds: i64,
    /// `DelaySeconds`.
    pub delay_seconds: i64,
    /// `ReceiveMessageWaitTimeSeconds`.
    pub receive_message_wait_seconds: i64,
    /// `MaximumMessageSize`, in bytes.
    pub maximum_message_size: i64,
    /// `RedrivePolicy` (JSON text).
    pub redrive_policy: String,
    /// `RedriveAllowPolicy` (JSON text).
    pub redrive_allow_policy: String,
    /// `PartitionCount` of a partitioned FIFO queue (0: not partitioned).
    pub partition_count: u32,
    /// `FifoThroughputLimit`.
    pub fifo_throughput_limit: String,
    /// `DeduplicationScope`.
    pub deduplication_scope: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}
fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}
fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// `_queue.json` (MarshalIndent, field order of `sqsQueueMetaPublic`).
#[derive(Serialize)]
struct PublicMeta<'a> {
    format_version: u32,
    name: &'a str,
    #[serde(skip_serializing_if = "is_false")]
    fifo: bool,
    #[serde(skip_serializing_if = "is_false")]
    content_based_deduplication: bool,
    visibility_timeout_seconds: i64,
    message_retention_seconds: i64,
    delay_seconds: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    receive_message_wait_seconds: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    maximum_message_size: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    redrive_policy: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    redrive_allow_policy: &'a str,
    #[serde(skip_serializing_if = "is_zero_u32")]
    partition_count: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    fifo_throughput_limit: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    deduplication_scope: &'a str,
}

/// The stored meta the encoder writes (`sqsStoredQueueMeta`, `json.Marshal`).
#[derive(Serialize)]
struct StoredMeta<'a> {
    name: &'a str,
    generation: u64,
    #[serde(skip_serializing_if = "is_false")]
    is_fifo: bool,
    #[serde(skip_serializing_if = "is_false")]
    content_based_dedup: bool,
    visibility_timeout_seconds: i64,
    message_retention_seconds: i64,
    delay_seconds: i64,
    receive_message_wait_seconds: i64,
    maximum_message_size: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    redrive_policy: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    redrive_allow_policy: &'a str,
    #[serde(skip_serializing_if = "is_zero_u32")]
    partition_count: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    fifo_throughput_limit: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    deduplication_scope: &'a str,
}

impl QueueMeta {
    /// The live stored JSON (after the magic), live field names (§2.4 HandleQueueMeta).
    pub fn from_stored(json: &[u8]) -> Result<QueueMeta, ValueError> {
        let obj = parse_object(json, false)?;
        let g = Get(&obj);
        Ok(QueueMeta {
            name: g.string("name")?,
            fifo: g.bool("is_fifo")?,
            content_based_deduplication: g.bool("content_based_dedup")?,
            visibility_timeout_seconds: g.i64("visibility_timeout_seconds")?,
            message_retention_seconds: g.i64("message_retention_seconds")?,
            delay_seconds: g.i64("delay_seconds")?,
            receive_message_wait_seconds: g.i64("receive_message_wait_seconds")?,
            maximum_message_size: g.i64("maximum_message_size")?,
            redrive_policy: g.string("redrive_policy")?,
            redrive_allow_policy: g.string("redrive_allow_policy")?,
            partition_count: g.u32("partition_count")?.unwrap_or(0),
            fifo_throughput_limit: g.string("fifo_throughput_limit")?,
            deduplication_scope: g.string("deduplication_scope")?,
        })
    }

    /// `_queue.json` as Go reads it (`decodeOneJSON`): the attributes and `format_version`.
    pub fn from_public(bytes: &[u8]) -> Result<(QueueMeta, u32), ValueError> {
        let obj = parse_object(bytes, true)?;
        let g = Get(&obj);
        let meta = QueueMeta {
            name: g.string("name")?,
            fifo: g.bool("fifo")?,
            content_based_deduplication: g.bool("content_based_deduplication")?,
            visibility_timeout_seconds: g.i64("visibility_timeout_seconds")?,
            message_retention_seconds: g.i64("message_retention_seconds")?,
            delay_seconds: g.i64("delay_seconds")?,
            receive_message_wait_seconds: g.i64("receive_message_wait_seconds")?,
            maximum_message_size: g.i64("maximum_message_size")?,
            redrive_policy: g.string("redrive_policy")?,
            redrive_allow_policy: g.string("redrive_allow_policy")?,
            partition_count: g.u32("partition_count")?.unwrap_or(0),
            fifo_throughput_limit: g.string("fifo_throughput_limit")?,
            deduplication_scope: g.string("deduplication_scope")?,
        };
        Ok((meta, g.u32("format_version")?.unwrap_or(0)))
    }

    /// `_queue.json` bytes (no trailing newline).
    pub fn public_json(&self) -> Vec<u8> {
        let p = PublicMeta {
            format_version: 1,
            name: &self.name,
            fifo: self.fifo,
            content_based_deduplication: self.content_based_deduplication,
            visibility_timeout_seconds: self.visibility_timeout_seconds,
            message_retention_seconds: self.message_retention_seconds,
            delay_seconds: self.delay_seconds,
            receive_message_wait_seconds: self.receive_message_wait_seconds,
            maximum_message_size: self.maximum_message_size,
            redrive_policy: &self.redrive_policy,
            redrive_allow_policy: &self.redrive_allow_policy,
            partition_count: self.partition_count,
            fifo_throughput_limit: &self.fifo_throughput_limit,
            deduplication_scope: &self.deduplication_scope,
        };
        gojson::to_vec(&p, JsonStyle::MARSHAL_INDENT)
    }

    /// The stored value the encoder writes: magic + compact JSON, generation 1.
    pub fn stored_value(&self) -> Vec<u8> {
        let s = StoredMeta {
            name: &self.name,
            generation: super::keys::RESTORE_GENERATION,
            is_fifo: self.fifo,
            content_based_dedup: self.content_based_deduplication,
            visibility_timeout_seconds: self.visibility_timeout_seconds,
            message_retention_seconds: self.message_retention_seconds,
            delay_seconds: self.delay_seconds,
            receive_message_wait_seconds: self.receive_message_wait_seconds,
            maximum_message_size: self.maximum_message_size,
            redrive_policy: &self.redrive_policy,
            redrive_allow_policy: &self.redrive_allow_policy,
            partition_count: self.partition_count,
            fifo_throughput_limit: &self.fifo_throughput_limit,
            deduplication_scope: &self.deduplication_scope,
        };
        let mut out = super::keys::META_MAGIC.to_vec();
        gojson::write_to(&mut out, &s, JsonStyle::MARSHAL);
        out
    }
}

// ---------------------------------------------------------------------------------------
// Messages.

/// One message, in the shape shared by the stored value and the dump line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// The message id.
    pub message_id: String,
    /// `None`: the JSON had no body (stored as `null`).
    pub body: Option<Vec<u8>>,
    /// MD5 of the body (hex).
    pub md5_of_body: String,
    /// MD5 of the message attributes (hex).
    pub md5_of_message_attributes: String,
    /// Attribute name → raw JSON value (uncompacted), sorted by name.
    pub message_attributes: Vec<(String, Vec<u8>)>,
    /// The sender id.
    pub sender_id: String,
    /// Send time, Unix ms.
    pub send_timestamp_millis: i64,
    /// When the message becomes available (delay), Unix ms.
    pub available_at_millis: i64,
    /// When the message becomes visible again, Unix ms.
    pub visible_at_millis: i64,
    /// How often it was received.
    pub receive_count: i64,
    /// First receive time, Unix ms (0: never).
    pub first_receive_millis: i64,
    /// The current receipt token, if received.
    pub current_receipt_token: Option<Vec<u8>>,
    /// The queue generation the message belongs to.
    pub queue_generation: u64,
    /// `MessageGroupId` (FIFO).
    pub message_group_id: String,
    /// `MessageDeduplicationId` (FIFO).
    pub message_deduplication_id: String,
    /// The FIFO sequence number.
    pub sequence_number: u64,
    /// The ARN of the source queue of a dead-lettered message.
    pub dead_letter_source_arn: String,
    /// Only for messages of partitioned keys (dump side).
    pub partition: Option<u32>,
}

/// `message_attributes` as Go decodes a `map[string]json.RawMessage` field: every member
/// whose name matches merges into the map (later names win), `null` clears it.
fn raw_attributes(raw_object: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ValueError> {
    let members = rawjson::object_members(raw_object).ok_or(ValueError::RawObject)?;
    let mut map: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
    for (k, v) in members {
        let Value::String(name) = parse_json(k, false)? else {
            return Err(ValueError::KeyNotString);
        };
        if !name.eq_ignore_ascii_case("message_attributes") {
            continue;
        }
        match v.first() {
            Some(b'n') => map.clear(),
            Some(b'{') => {
                for (ak, av) in rawjson::object_members(v).ok_or(ValueError::AttributesObject)? {
                    let Value::String(an) = parse_json(ak, false)? else {
                        return Err(ValueError::AttributeName);
                    };
                    map.insert(an, av.to_vec());
                }
            }
            _ => return Err(ValueError::AttributesType),
        }
    }
    Ok(map.into_iter().collect())
}

/// The fields both shapes share.
fn common(g: &Get<'_>, m: &mut Message) -> Result<(), ValueError> {
    m.message_id = g.string("message_id")?;
    m.md5_of_body = g.string("md5_of_body")?;
    m.md5_of_message_attributes = g.string("md5_of_message_attributes")?;
    m.sender_id = g.string("sender_id")?;
    m.send_timestamp_millis = g.i64("send_timestamp_millis")?;
    m.available_at_millis = g.i64("available_at_millis")?;
    m.visible_at_millis = g.i64("visible_at_millis")?;
    m.receive_count = g.i64("receive_count")?;
    m.first_receive_millis = g.i64("first_receive_millis")?;
    m.current_receipt_token = g.bytes("current_receipt_token")?;
    m.queue_generation = g.u64("queue_generation")?;
    m.message_group_id = g.string("message_group_id")?;
    m.message_deduplication_id = g.string("message_deduplication_id")?;
    m.sequence_number = g.u64("sequence_number")?;
    m.dead_letter_source_arn = g.string("dead_letter_source_arn")?;
    Ok(())
}

/// The dump body: a string, or exactly `{"base64": "<b64u>"}` (key matched
/// case-insensitively, no other key); `null` is an empty body (Go calls the body's
/// `UnmarshalJSON` with `null`).
fn dump_body(v: &Value) -> Result<Vec<u8>, ValueError> {
    match v {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        Value::Null => Ok(Vec::new()),
        Value::Object(o) => {
            if let Some(k) = o.keys().find(|k| !k.eq_ignore_ascii_case("base64")) {
                return Err(ValueError::BodyField { field: k.clone() });
            }
            match get_ci(o, "base64") {
                Some(Value::String(b)) => {
                    gojson::decode_base64url_lenient(b).map_err(|detail| ValueError::BodyBase64 { detail })
                }
                Some(Value::Null) | None => Err(ValueError::BodyMissingBase64),
                Some(other) => Err(ValueError::BodyBase64Type {
                    found: JsonType::of(other),
                }),
            }
        }
        other => Err(ValueError::BodyType {
            found: JsonType::of(other),
        }),
    }
}

impl Message {
    /// The live stored JSON (after the magic): the common shape in one pass (`values/fast.rs`),
    /// anything else (and every error) by the general reader.
    pub fn from_stored(json: &[u8]) -> Result<Message, ValueError> {
        match fast::message(json, fast::Shape::Stored) {
            Some(m) => Ok(m),
            None => Message::from_stored_general(json),
        }
    }

    /// The general reader of the stored JSON (a JSON tree, Go's lenient field matching).
    pub fn from_stored_general(json: &[u8]) -> Result<Message, ValueError> {
        let obj = parse_object(json, false)?;
        let g = Get(&obj);
        let mut m = Message::default();
        common(&g, &mut m)?;
        m.body = g.bytes("body")?;
        if get_ci(&obj, "message_attributes").is_some() {
            m.message_attributes = raw_attributes(json)?;
        }
        Ok(m)
    }

    /// One raw object of `messages.jsonl`: the common shape in one pass
    /// (`values/fast.rs`), anything else (and every error) by the general reader.
    pub fn from_dump(raw: &[u8]) -> Result<Message, ValueError> {
        match fast::message(raw, fast::Shape::Dump) {
            Some(m) => Ok(m),
            None => Message::from_dump_general(raw),
        }
    }

    /// The general reader of a `messages.jsonl` object.
    pub fn from_dump_general(raw: &[u8]) -> Result<Message, ValueError> {
        let obj = match parse_json(raw, false)? {
            Value::Object(o) => o,
            v => {
                return Err(ValueError::NotObject {
                    found: JsonType::of(&v),
                })
            }
        };
        let g = Get(&obj);
        let mut m = Message::default();
        common(&g, &mut m)?;
        m.body = match get_ci(&obj, "body") {
            None => None,
            Some(v) => Some(dump_body(v)?),
        };
        m.partition = g.u32("partition")?;
        if get_ci(&obj, "message_attributes").is_some() {
            m.message_attributes = raw_attributes(raw)?;
        }
        Ok(m)
    }

    /// Append the `messages.jsonl` line (with its `\n`).
    pub fn write_dump_line(&self, out: &mut Vec<u8>) {
        let mut w = ObjWriter::new(out, INLINE);
        w.str("message_id", &self.message_id);
        w.key("body");
        let body = self.body.as_deref().unwrap_or_default();
        match std::str::from_utf8(body) {
            // Go's `json.Marshal(string)`: HTML-escaped even though the line is not.
            Ok(text) => gojson::write_str(w.out, text, JsonStyle::MARSHAL),
            Err(_) => {
                w.out.extend_from_slice(b"{\"base64\":\"");
                w.out.extend_from_slice(super::keys::b64u(body).as_bytes());
                w.out.extend_from_slice(b"\"}");
            }
        }
        w.str_omit("md5_of_body", &self.md5_of_body);
        self.write_tail(&mut w, false);
        if let Some(p) = self.partition {
            w.num("partition", p);
        }
        out.extend_from_slice(b"}\n");
    }

    /// The stored value the encoder writes (magic + compact, HTML-escaped JSON).
    pub fn stored_value(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_stored_value(&mut out);
        out
    }

    /// Append [`Message::stored_value`] to `out`.
    pub fn write_stored_value(&self, out: &mut Vec<u8>) {
        let body_len = self.body.as_ref().map_or(4, |b| b.len().div_ceil(3) * 4 + 2);
        out.reserve(super::keys::MSG_MAGIC.len() + body_len + STORED_FIELDS_LEN);
        out.extend_from_slice(super::keys::MSG_MAGIC);
        let mut w = ObjWriter::new(out, JsonStyle::MARSHAL);
        w.str("message_id", &self.message_id);
        w.key("body");
        match &self.body {
            None => w.out.extend_from_slice(b"null"),
            // Standard base64 holds nothing JSON escapes, HTML-escaped or not.
            Some(b) => {
                w.out.push(b'"');
                super::keys::append_base64(&base64::engine::general_purpose::STANDARD, b, w.out);
                w.out.push(b'"');
            }
        }
        w.str("md5_of_body", &self.md5_of_body);
        self.write_tail(&mut w, true);
        out.push(b'}');
    }

    /// From `md5_of_message_attributes` to `dead_letter_source_arn`.
    fn write_tail(&self, w: &mut ObjWriter<'_>, stored: bool) {
        w.str_omit("md5_of_message_attributes", &self.md5_of_message_attributes);
        if !self.message_attributes.is_empty() {
            w.key("message_attributes");
            w.out.push(b'{');
            for (i, (name, raw)) in self.message_attributes.iter().enumerate() {
                if i > 0 {
                    w.out.push(b',');
                }
                gojson::write_to(w.out, name, w.style);
                w.out.push(b':');
                rawjson::compact(raw, w.style.escape_html, w.out);
            }
            w.out.push(b'}');
        }
        w.str_omit("sender_id", &self.sender_id);
        w.num("send_timestamp_millis", self.send_timestamp_millis);
        w.num("available_at_millis", self.available_at_millis);
        w.num("visible_at_millis", self.visible_at_millis);
        w.num("receive_count", self.receive_count);
        if self.first_receive_millis != 0 {
            w.num("first_receive_millis", self.first_receive_millis);
        }
        match (&self.current_receipt_token, stored) {
            (Some(t), _) if !t.is_empty() || stored => w.str("current_receipt_token", &b64std(t)),
            (None, true) => {
                w.key("current_receipt_token");
                w.out.extend_from_slice(b"null");
            }
            _ => {}
        }
        w.num("queue_generation", self.queue_generation);
        w.str_omit("message_group_id", &self.message_group_id);
        w.str_omit("message_deduplication_id", &self.message_deduplication_id);
        if self.sequence_number != 0 {
            w.num("sequence_number", self.sequence_number);
        }
        w.str_omit("dead_letter_source_arn", &self.dead_letter_source_arn);
    }
}

/// Room for a stored message's JSON besides its body: the field names, a typical id, MD5s
/// and numbers (a reservation, so that most values are written without growing).
const STORED_FIELDS_LEN: usize = 384;

/// A hand-rolled JSON object writer for shapes with raw members.
struct ObjWriter<'a> {
    out: &'a mut Vec<u8>,
    style: JsonStyle,
    first: bool,
}

impl<'a> ObjWriter<'a> {
    fn new(out: &'a mut Vec<u8>, style: JsonStyle) -> Self {
        out.push(b'{');
        ObjWriter {
            out,
            style,
            first: true,
        }
    }
    fn key(&mut self, name: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }
    fn str(&mut self, name: &str, v: &str) {
        self.key(name);
        gojson::write_str(self.out, v, self.style);
    }
    fn str_omit(&mut self, name: &str, v: &str) {
        if !v.is_empty() {
            self.str(name, v);
        }
    }
    fn num(&mut self, name: &str, v: impl std::fmt::Display) {
        use std::io::Write as _;
        self.key(name);
        // Writing into a Vec cannot fail.
        let _ = write!(self.out, "{v}");
    }
}

// ---------------------------------------------------------------------------------------
// Dedup record and side records.

#[derive(Serialize)]
struct DedupRecord<'a> {
    message_id: &'a str,
    send_timestamp_ms: i64,
    expires_at_millis: i64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    original_sequence: u64,
}

/// The FIFO dedup value the encoder writes for the message winning its dedup key.
pub fn dedup_value(message_id: &str, send_ts: i64, sequence: u64) -> Vec<u8> {
    let r = DedupRecord {
        message_id,
        send_timestamp_ms: send_ts,
        expires_at_millis: send_ts.wrapping_add(super::keys::DEDUP_WINDOW_MILLIS),
        original_sequence: sequence,
    };
    gojson::to_vec(&r, JsonStyle::MARSHAL)
}

#[derive(Serialize)]
struct SideRecord<'a> {
    prefix: &'a str,
    key_hex: String,
    value_b64: String,
}

/// One `_internals/side_records.jsonl` line (with its `\n`).
pub fn side_record_line(prefix: &[u8], key: &[u8], value: &[u8]) -> Vec<u8> {
    let r = SideRecord {
        prefix: std::str::from_utf8(prefix).unwrap_or_default(),
        key_hex: hex::encode(key),
        value_b64: super::keys::b64u(value),
    };
    gojson::to_vec(&r, JsonStyle::JSONL)
}

mod fast;

#[cfg(test)]
mod tests;
