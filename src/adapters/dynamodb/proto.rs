//! The protobuf messages behind DynamoDB's stored values (dynamodb_sqs.md §1.2,
//! `proto/dynamodb_internal.proto`), read with prost and written the way Go's
//! `proto.MarshalOptions{Deterministic: true}` writes them.
//!
//! prost's derived encoder skips a map entry's key or value when it is the default (`""`, an
//! empty message); Go always writes both. So the messages that hold maps (the table schema,
//! the item, and the attribute value, which can hold a map) are written by hand below; the
//! map-free ones (key schema, GSI) use prost's encoder, which is Go's byte for byte
//! (fields in number order, proto3 zero scalars omitted, set oneof members and set
//! sub-messages always written).

use std::collections::BTreeMap;

use prost::encoding::{encode_varint, encoded_len_varint};
use prost::Message;

/// Value magic of a table schema (`00 'D' 'S' 01`).
pub const SCHEMA_MAGIC: &[u8] = b"\x00DS\x01";
/// Value magic of an item (`00 'D' 'I' 01`).
pub const ITEM_MAGIC: &[u8] = b"\x00DI\x01";

/// A key schema: hash and optional range attribute.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct KeySchema {
    /// The hash (partition) key attribute.
    #[prost(string, tag = "1")]
    pub hash_key: String,
    /// The range (sort) key attribute, empty if none.
    #[prost(string, tag = "2")]
    pub range_key: String,
}

/// Which attributes a GSI projects.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GsiProjection {
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    #[prost(string, tag = "1")]
    pub projection_type: String,
    /// The attributes of an `INCLUDE` projection.
    #[prost(string, repeated, tag = "2")]
    pub non_key_attributes: Vec<String>,
}

/// A global secondary index.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GlobalSecondaryIndex {
    /// The index's key schema.
    #[prost(message, optional, tag = "1")]
    pub key_schema: Option<KeySchema>,
    /// The index's projection.
    #[prost(message, optional, tag = "2")]
    pub projection: Option<GsiProjection>,
}

/// A table schema (the `!ddb|meta|table|` value).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct TableSchema {
    /// The table name.
    #[prost(string, tag = "1")]
    pub table_name: String,
    /// Attribute name to type (`S`, `N`, `B`).
    #[prost(btree_map = "string, string", tag = "2")]
    pub attribute_definitions: BTreeMap<String, String>,
    /// The primary key.
    #[prost(message, optional, tag = "3")]
    pub primary_key: Option<KeySchema>,
    /// Index name to index.
    #[prost(btree_map = "string, message", tag = "4")]
    pub global_secondary_indexes: BTreeMap<String, GlobalSecondaryIndex>,
    /// The key encoding version.
    #[prost(uint64, tag = "5")]
    pub key_encoding_version: u64,
    /// The generation being migrated from, 0 if none.
    #[prost(uint64, tag = "6")]
    pub migrating_from_generation: u64,
    /// The table generation.
    #[prost(uint64, tag = "7")]
    pub generation: u64,
}

impl TableSchema {
    /// The primary hash key name (`""` when there is no primary key).
    pub fn hash_key(&self) -> &str {
        self.primary_key.as_ref().map_or("", |k| k.hash_key.as_str())
    }

    /// The primary range key name (`""` for a hash-only table).
    pub fn range_key(&self) -> &str {
        self.primary_key.as_ref().map_or("", |k| k.range_key.as_str())
    }
}

/// A set of strings (`SS` or `NS`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StringSet {
    /// The members.
    #[prost(string, repeated, tag = "1")]
    pub values: Vec<String>,
}

/// A set of binary values (`BS`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct BinarySet {
    /// The members.
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub values: Vec<Vec<u8>>,
}

/// A list value (`L`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct AttributeValueList {
    /// The elements.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<AttributeValue>,
}

/// A map value (`M`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct AttributeValueMap {
    /// Member name to value.
    #[prost(btree_map = "string, message", tag = "1")]
    pub values: BTreeMap<String, AttributeValue>,
}

/// One attribute value.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct AttributeValue {
    /// The value, by type.
    #[prost(oneof = "Value", tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10")]
    pub value: Option<Value>,
}

/// The `value` oneof of `DynamoAttributeValue` (`NS` reuses the string-set shape: both are
/// `repeated string values = 1`).
#[derive(Clone, PartialEq, Eq, prost::Oneof)]
pub enum Value {
    /// String.
    #[prost(string, tag = "1")]
    S(String),
    /// Number, as its decimal text.
    #[prost(string, tag = "2")]
    N(String),
    /// Binary.
    #[prost(bytes = "vec", tag = "3")]
    B(Vec<u8>),
    /// Boolean.
    #[prost(bool, tag = "4")]
    Bool(bool),
    /// Null.
    #[prost(bool, tag = "5")]
    Null(bool),
    /// String set.
    #[prost(message, tag = "6")]
    Ss(StringSet),
    /// Number set.
    #[prost(message, tag = "7")]
    Ns(StringSet),
    /// Binary set.
    #[prost(message, tag = "8")]
    Bs(BinarySet),
    /// List.
    #[prost(message, tag = "9")]
    L(AttributeValueList),
    /// Map.
    #[prost(message, tag = "10")]
    M(AttributeValueMap),
}

impl AttributeValue {
    /// An attribute value holding `value`.
    pub fn new(value: Value) -> AttributeValue {
        AttributeValue { value: Some(value) }
    }
}

/// An item (the `!ddb|item|` value).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Item {
    /// Attribute name to value.
    #[prost(btree_map = "string, message", tag = "1")]
    pub attributes: BTreeMap<String, AttributeValue>,
}

// --- Go-deterministic writing -------------------------------------------------------------

const LEN: u64 = 2; // wire type: length-delimited
const VARINT: u64 = 0;

fn key_len(tag: u32) -> usize {
    encoded_len_varint(u64::from(tag) << 3)
}

fn put_key(out: &mut Vec<u8>, tag: u32, wire: u64) {
    encode_varint((u64::from(tag) << 3) | wire, out);
}

/// Encoded size of a length-delimited field holding `n` bytes.
fn ld_len(tag: u32, n: usize) -> usize {
    key_len(tag) + encoded_len_varint(n as u64) + n
}

fn put_ld_header(out: &mut Vec<u8>, tag: u32, n: usize) {
    put_key(out, tag, LEN);
    encode_varint(n as u64, out);
}

fn put_bytes(out: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    put_ld_header(out, tag, bytes.len());
    out.extend_from_slice(bytes);
}

/// A message Go writes deterministically: its body size and its body.
trait GoMessage {
    fn go_len(&self) -> usize;
    fn go_write(&self, out: &mut Vec<u8>);
}

/// prost's encoder is Go's for the map-free messages.
macro_rules! prost_body {
    ($($t:ty),*) => {$(
        impl GoMessage for $t {
            fn go_len(&self) -> usize {
                self.encoded_len()
            }
            fn go_write(&self, out: &mut Vec<u8>) {
                self.encode_raw(out);
            }
        }
    )*};
}
prost_body!(KeySchema, GlobalSecondaryIndex, StringSet, BinarySet);

/// A `string` map value.
impl GoMessage for String {
    fn go_len(&self) -> usize {
        self.len()
    }
    fn go_write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
}

fn message_field_len(tag: u32, m: &impl GoMessage) -> usize {
    ld_len(tag, m.go_len())
}

fn put_message_field(out: &mut Vec<u8>, tag: u32, m: &impl GoMessage) {
    put_ld_header(out, tag, m.go_len());
    m.go_write(out);
}

/// One map entry: field 1 (key) and field 2 (value), both always written.
fn map_entry_len(key: &str, value: &impl GoMessage) -> usize {
    ld_len(1, key.len()) + message_field_len(2, value)
}

fn map_len<V: GoMessage>(tag: u32, map: &BTreeMap<String, V>) -> usize {
    map.iter().map(|(k, v)| ld_len(tag, map_entry_len(k, v))).sum()
}

fn put_map<V: GoMessage>(out: &mut Vec<u8>, tag: u32, map: &BTreeMap<String, V>) {
    for (k, v) in map {
        put_ld_header(out, tag, map_entry_len(k, v));
        put_bytes(out, 1, k.as_bytes());
        put_message_field(out, 2, v);
    }
}

fn uint64_len(tag: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(v)
    }
}

fn put_uint64(out: &mut Vec<u8>, tag: u32, v: u64) {
    if v != 0 {
        put_key(out, tag, VARINT);
        encode_varint(v, out);
    }
}

fn string_len(tag: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        ld_len(tag, s.len())
    }
}

fn put_string(out: &mut Vec<u8>, tag: u32, s: &str) {
    if !s.is_empty() {
        put_bytes(out, tag, s.as_bytes());
    }
}

impl GoMessage for TableSchema {
    fn go_len(&self) -> usize {
        string_len(1, &self.table_name)
            + map_len(2, &self.attribute_definitions)
            + self.primary_key.as_ref().map_or(0, |k| message_field_len(3, k))
            + map_len(4, &self.global_secondary_indexes)
            + uint64_len(5, self.key_encoding_version)
            + uint64_len(6, self.migrating_from_generation)
            + uint64_len(7, self.generation)
    }

    fn go_write(&self, out: &mut Vec<u8>) {
        put_string(out, 1, &self.table_name);
        put_map(out, 2, &self.attribute_definitions);
        if let Some(k) = &self.primary_key {
            put_message_field(out, 3, k);
        }
        put_map(out, 4, &self.global_secondary_indexes);
        put_uint64(out, 5, self.key_encoding_version);
        put_uint64(out, 6, self.migrating_from_generation);
        put_uint64(out, 7, self.generation);
    }
}

impl GoMessage for AttributeValue {
    fn go_len(&self) -> usize {
        let Some(v) = &self.value else { return 0 };
        match v {
            Value::S(s) | Value::N(s) => ld_len(tag_of(v), s.len()),
            Value::B(b) => ld_len(3, b.len()),
            Value::Bool(_) | Value::Null(_) => key_len(tag_of(v)) + 1,
            Value::Ss(set) | Value::Ns(set) => message_field_len(tag_of(v), set),
            Value::Bs(set) => message_field_len(8, set),
            Value::L(list) => ld_len(9, list_len(list)),
            Value::M(map) => ld_len(10, map_len(1, &map.values)),
        }
    }

    fn go_write(&self, out: &mut Vec<u8>) {
        let Some(v) = &self.value else { return };
        let tag = tag_of(v);
        match v {
            Value::S(s) | Value::N(s) => put_bytes(out, tag, s.as_bytes()),
            Value::B(b) => put_bytes(out, tag, b),
            Value::Bool(b) | Value::Null(b) => {
                put_key(out, tag, VARINT);
                out.push(u8::from(*b));
            }
            Value::Ss(set) | Value::Ns(set) => put_message_field(out, tag, set),
            Value::Bs(set) => put_message_field(out, tag, set),
            Value::L(list) => {
                put_ld_header(out, tag, list_len(list));
                for child in &list.values {
                    put_message_field(out, 1, child);
                }
            }
            Value::M(map) => {
                put_ld_header(out, tag, map_len(1, &map.values));
                put_map(out, 1, &map.values);
            }
        }
    }
}

fn list_len(list: &AttributeValueList) -> usize {
    list.values.iter().map(|c| message_field_len(1, c)).sum()
}

fn tag_of(v: &Value) -> u32 {
    match v {
        Value::S(_) => 1,
        Value::N(_) => 2,
        Value::B(_) => 3,
        Value::Bool(_) => 4,
        Value::Null(_) => 5,
        Value::Ss(_) => 6,
        Value::Ns(_) => 7,
        Value::Bs(_) => 8,
        Value::L(_) => 9,
        Value::M(_) => 10,
    }
}

impl GoMessage for Item {
    fn go_len(&self) -> usize {
        map_len(1, &self.attributes)
    }
    fn go_write(&self, out: &mut Vec<u8>) {
        put_map(out, 1, &self.attributes);
    }
}

fn with_magic(magic: &[u8], m: &impl GoMessage) -> Vec<u8> {
    let mut out = Vec::with_capacity(magic.len() + m.go_len());
    out.extend_from_slice(magic);
    m.go_write(&mut out);
    out
}

/// The stored schema value: magic ‖ Go-deterministic protobuf.
pub fn schema_value(schema: &TableSchema) -> Vec<u8> {
    with_magic(SCHEMA_MAGIC, schema)
}

/// The stored item value: magic ‖ Go-deterministic protobuf.
pub fn item_value(item: &Item) -> Vec<u8> {
    with_magic(ITEM_MAGIC, item)
}

/// What is wrong with a stored schema or item value (dynamodb_sqs.md §1.2, §1.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// A schema value without its magic.
    #[error("table schema value without the 00 'D' 'S' 01 magic")]
    SchemaMagic,
    /// A schema value whose protobuf does not decode.
    #[error("table schema protobuf: {0}")]
    Schema(prost::DecodeError),
    /// An item value without its magic.
    #[error("item value without the 00 'D' 'I' 01 magic")]
    ItemMagic,
    /// An item value whose protobuf does not decode.
    #[error("item protobuf: {0}")]
    Item(prost::DecodeError),
}

/// Read a stored schema value.
pub fn parse_schema(value: &[u8]) -> Result<TableSchema, ValueError> {
    let body = value.strip_prefix(SCHEMA_MAGIC).ok_or(ValueError::SchemaMagic)?;
    TableSchema::decode(body).map_err(ValueError::Schema)
}

/// Read a stored item value.
pub fn parse_item(value: &[u8]) -> Result<Item, ValueError> {
    let body = value.strip_prefix(ITEM_MAGIC).ok_or(ValueError::ItemMagic)?;
    Item::decode(body).map_err(ValueError::Item)
}

#[cfg(test)]
mod tests;
