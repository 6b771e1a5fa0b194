//! The public JSON forms of the DynamoDB dump tree, both directions:
//!
//! * items (dynamodb_sqs.md §1.7): `{attr: {TYPE: value}}`, AWS's DynamoDB JSON with the
//!   Go decoder's choices (`N` verbatim, `B`/`BS` standard base64 with padding, empty sets as
//!   `[]`, `NULL:false` kept, a value with no type as `{"NULL":true}`); read back the way the
//!   Go encoder reads it (exact type tags, one per object, last duplicate wins);
//! * the jsonl bundle line (D7): `{"Item":{…}}`, one item per line, as AWS's table export;
//! * `_schema.json` (§1.6, §1.9): the projection of the table schema, written in Go's field
//!   order and read leniently (`encoding/json` rules, `dump::gofields`).

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::keys::{ORDERED_KEY_ENCODING, RESTORE_GENERATION};
use super::proto::{
    AttributeValue, AttributeValueList, AttributeValueMap, BinarySet, GlobalSecondaryIndex, GsiProjection,
    Item, KeySchema, StringSet, TableSchema, Value as Av,
};
use crate::dump::gofields::{type_name, Fields};
#[cfg(doc)]
use crate::dump::json::parse_one;
use crate::dump::json::{go_text, to_vec, JsonStyle};
use crate::dump::DumpError;

/// The only `_schema.json` `format_version`.
pub const SCHEMA_FORMAT_VERSION: u32 = 1;

/// The member of a jsonl bundle line that holds the item.
pub const BUNDLE_ITEM_MEMBER: &str = "Item";

/// An item in its public JSON form.
pub struct PublicItem<'a>(pub &'a Item);

/// One attribute value in its public JSON form.
pub struct PublicAv<'a>(pub &'a AttributeValue);

struct B64<'a>(&'a [u8]);

impl Serialize for B64<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(self.0))
    }
}

impl Serialize for PublicItem<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.attributes.len()))?;
        for (name, av) in &self.0.attributes {
            m.serialize_entry(name, &PublicAv(av))?;
        }
        m.end()
    }
}

fn seq<S: Serializer, T: Serialize>(
    s: S,
    items: impl ExactSizeIterator<Item = T>,
) -> Result<S::Ok, S::Error> {
    let mut q = s.serialize_seq(Some(items.len()))?;
    for item in items {
        q.serialize_element(&item)?;
    }
    q.end()
}

struct Seq<F>(F);

impl<F, I, T> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: ExactSizeIterator<Item = T>,
    T: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        seq(s, (self.0)())
    }
}

impl Serialize for PublicAv<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match &self.0.value {
            None => m.serialize_entry("NULL", &true)?,
            Some(Av::S(v)) => m.serialize_entry("S", v)?,
            Some(Av::N(v)) => m.serialize_entry("N", v)?,
            Some(Av::B(v)) => m.serialize_entry("B", &B64(v))?,
            Some(Av::Bool(v)) => m.serialize_entry("BOOL", v)?,
            Some(Av::Null(v)) => m.serialize_entry("NULL", v)?,
            Some(Av::Ss(set)) => m.serialize_entry("SS", &set.values)?,
            Some(Av::Ns(set)) => m.serialize_entry("NS", &set.values)?,
            Some(Av::Bs(set)) => m.serialize_entry("BS", &Seq(|| set.values.iter().map(|b| B64(b))))?,
            Some(Av::L(list)) => m.serialize_entry("L", &Seq(|| list.values.iter().map(PublicAv)))?,
            Some(Av::M(map)) => m.serialize_entry("M", &PublicItem::map(&map.values))?,
        }
        m.end()
    }
}

/// A map of attribute values, serialized like an item.
struct AvMap<'a>(&'a std::collections::BTreeMap<String, AttributeValue>);

impl Serialize for AvMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (name, av) in self.0 {
            m.serialize_entry(name, &PublicAv(av))?;
        }
        m.end()
    }
}

impl PublicItem<'_> {
    fn map(values: &std::collections::BTreeMap<String, AttributeValue>) -> AvMap<'_> {
        AvMap(values)
    }
}

/// An item file's bytes (`json.MarshalIndent`, no trailing newline).
pub fn item_file(item: &Item) -> Vec<u8> {
    to_vec(&PublicItem(item), JsonStyle::MARSHAL_INDENT)
}

/// A jsonl bundle line, `{"Item":{…}}\n` (compact, no HTML escaping, as AWS's export).
pub fn bundle_line(item: &Item) -> Vec<u8> {
    struct Line<'a>(&'a Item);
    impl Serialize for Line<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry(BUNDLE_ITEM_MEMBER, &PublicItem(self.0))?;
            m.end()
        }
    }
    to_vec(&Line(item), JsonStyle::JSONL)
}

// --- reading items --------------------------------------------------------------------------

/// What is wrong with an item's public JSON (an item file or a bundle line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemJsonError {
    /// The item is not a JSON object (nor `null`).
    #[error("item must be a JSON object, found {found}")]
    NotObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// A bundle line that is not `{"Item": {…}}`.
    #[error("a bundle line must be {{\"{BUNDLE_ITEM_MEMBER}\": {{…}}}}")]
    BundleLine,
    /// An attribute (or `M` entry) whose value is not an object.
    #[error("{at} is not an object")]
    AttributeNotObject {
        /// Where: the attribute or map entry.
        at: AttrAt,
    },
    /// An attribute (or `M` entry) whose value is malformed.
    #[error("{at}: {error}")]
    Attribute {
        /// Where: the attribute or map entry.
        at: AttrAt,
        /// What is wrong with it.
        error: Box<ItemJsonError>,
    },
    /// An attribute object with other than one type key.
    #[error("attribute object must have exactly one type key, got {count}")]
    TypeKeys {
        /// How many keys it has.
        count: usize,
    },
    /// An attribute object with no type key.
    #[error("empty attribute object")]
    Empty,
    /// An unknown type key.
    #[error("unknown attribute type {typ:?}")]
    UnknownType {
        /// The type key.
        typ: String,
    },
    /// A scalar, `L` or `M` value of the wrong JSON type.
    #[error("{typ} value is {found}")]
    WrongType {
        /// The type key.
        typ: String,
        /// The JSON type found.
        found: &'static str,
    },
    /// A set value that is not an array.
    #[error("{typ} value is not an array")]
    SetNotArray {
        /// The set's type key.
        typ: &'static str,
    },
    /// A set element that is not a string.
    #[error("set element is not a string")]
    SetElement,
    /// An `L` element that is not an object.
    #[error("L element is not an object")]
    ListElement,
    /// A `B` or `BS` value that is not standard base64.
    #[error("binary value is not valid base64: {0}")]
    Base64(base64::DecodeError),
}

/// Where in an item a malformed attribute value sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrAt {
    /// A top-level attribute.
    Attribute(String),
    /// An entry of an `M` value.
    MapEntry(String),
}

impl std::fmt::Display for AttrAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttrAt::Attribute(name) => write!(f, "attribute {name:?}"),
            AttrAt::MapEntry(name) => write!(f, "M[{name:?}]"),
        }
    }
}

/// Go `base64.StdEncoding`: padding required, `\r`/`\n` skipped, non-zero trailing bits
/// accepted.
fn decode_b64_std(text: &str) -> Result<Vec<u8>, ItemJsonError> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    let cleaned: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    ENGINE.decode(cleaned.as_bytes()).map_err(ItemJsonError::Base64)
}

/// The item of an item file's bytes when they are in the plain form the decoder writes, read
/// in one typed pass (see `typed`); `None` leaves the file to [`parse_one`] and
/// [`item_from_json`], which read every form the Go encoder reads and name the error.
pub fn plain_item(bytes: &[u8]) -> Option<Item> {
    typed::item(&go_text(bytes))
}

/// An item from its public JSON (`publicToItem`): `null` is the empty item (Go's nil map).
pub fn item_from_json(v: &Value) -> Result<Item, ItemJsonError> {
    let obj = match v {
        Value::Null => return Ok(Item::default()),
        Value::Object(o) => o,
        other => {
            return Err(ItemJsonError::NotObject {
                found: type_name(other),
            })
        }
    };
    let mut item = Item::default();
    for (name, raw) in obj {
        let av = attribute(raw, || AttrAt::Attribute(name.clone()))?;
        item.attributes.insert(name.clone(), av);
    }
    Ok(item)
}

/// The attribute value `raw` at `at`: an object read by [`av_from_json`], errors placed.
fn attribute(raw: &Value, at: impl Fn() -> AttrAt) -> Result<AttributeValue, ItemJsonError> {
    let Value::Object(m) = raw else {
        return Err(ItemJsonError::AttributeNotObject { at: at() });
    };
    av_from_json(m).map_err(|e| ItemJsonError::Attribute {
        at: at(),
        error: Box::new(e),
    })
}

/// An item from a jsonl bundle line (`{"Item": {…}}`, nothing else).
pub fn item_from_bundle_line(v: &Value) -> Result<Item, ItemJsonError> {
    match v {
        Value::Object(o) if o.len() == 1 => match o.get(BUNDLE_ITEM_MEMBER) {
            Some(Value::Object(_)) => item_from_json(o.get(BUNDLE_ITEM_MEMBER).unwrap_or(&Value::Null)),
            _ => Err(ItemJsonError::BundleLine),
        },
        _ => Err(ItemJsonError::BundleLine),
    }
}

fn strings(v: &Value, typ: &'static str) -> Result<Vec<String>, ItemJsonError> {
    let Value::Array(items) = v else {
        return Err(ItemJsonError::SetNotArray { typ });
    };
    items
        .iter()
        .map(|e| match e {
            Value::String(s) => Ok(s.clone()),
            _ => Err(ItemJsonError::SetElement),
        })
        .collect()
}

fn av_from_json(m: &Map<String, Value>) -> Result<AttributeValue, ItemJsonError> {
    if m.len() != 1 {
        return Err(ItemJsonError::TypeKeys { count: m.len() });
    }
    let Some((typ, val)) = m.iter().next() else {
        return Err(ItemJsonError::Empty);
    };
    let value = match (typ.as_str(), val) {
        ("S", Value::String(s)) => Av::S(s.clone()),
        ("N", Value::String(s)) => Av::N(s.clone()),
        ("B", Value::String(s)) => Av::B(decode_b64_std(s)?),
        ("BOOL", Value::Bool(b)) => Av::Bool(*b),
        ("NULL", Value::Bool(b)) => Av::Null(*b),
        ("SS", v) => Av::Ss(StringSet {
            values: strings(v, "SS")?,
        }),
        ("NS", v) => Av::Ns(StringSet {
            values: strings(v, "NS")?,
        }),
        ("BS", v) => Av::Bs(BinarySet {
            values: strings(v, "BS")?
                .iter()
                .map(|s| decode_b64_std(s))
                .collect::<Result<_, _>>()?,
        }),
        ("L", Value::Array(items)) => Av::L(AttributeValueList {
            values: items
                .iter()
                .map(|e| match e {
                    Value::Object(o) => av_from_json(o),
                    _ => Err(ItemJsonError::ListElement),
                })
                .collect::<Result<_, _>>()?,
        }),
        ("M", Value::Object(o)) => {
            let mut values = std::collections::BTreeMap::new();
            for (name, child) in o {
                values.insert(name.clone(), attribute(child, || AttrAt::MapEntry(name.clone()))?);
            }
            Av::M(AttributeValueMap { values })
        }
        ("S" | "N" | "B" | "BOOL" | "NULL" | "L" | "M", other) => {
            return Err(ItemJsonError::WrongType {
                typ: typ.clone(),
                found: type_name(other),
            });
        }
        _ => return Err(ItemJsonError::UnknownType { typ: typ.clone() }),
    };
    Ok(AttributeValue::new(value))
}

// --- _schema.json -----------------------------------------------------------------------------

#[derive(Serialize)]
struct PublicSchema<'a> {
    format_version: u32,
    table_name: &'a str,
    primary_key: PublicKeySchema<'a>,
    attribute_definitions: Vec<PublicDef<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    global_secondary_indexes: Vec<PublicGsi<'a>>,
}

#[derive(Serialize)]
struct PublicKeySchema<'a> {
    hash_key: KeyAttr<'a>,
    range_key: KeyAttr<'a>,
}

#[derive(Serialize, Default)]
struct KeyAttr<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(rename = "type", skip_serializing_if = "str::is_empty")]
    typ: &'a str,
}

#[derive(Serialize)]
struct PublicDef<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    typ: &'a str,
}

#[derive(Serialize)]
struct PublicGsi<'a> {
    name: &'a str,
    key_schema: PublicKeySchema<'a>,
    projection: PublicProjection<'a>,
}

#[derive(Serialize)]
struct PublicProjection<'a> {
    #[serde(rename = "type")]
    typ: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    non_key_attributes: &'a [String],
}

/// `_schema.json` of a table schema (`schemaToPublic` + `json.MarshalIndent`).
pub fn schema_file(s: &TableSchema) -> Vec<u8> {
    let defs = &s.attribute_definitions;
    let def = |name: &str| defs.get(name).map_or("", String::as_str);
    let empty: &[String] = &[];
    let public = PublicSchema {
        format_version: SCHEMA_FORMAT_VERSION,
        table_name: &s.table_name,
        primary_key: PublicKeySchema {
            hash_key: KeyAttr {
                name: s.hash_key(),
                typ: def(s.hash_key()),
            },
            range_key: if s.range_key().is_empty() {
                KeyAttr::default()
            } else {
                KeyAttr {
                    name: s.range_key(),
                    typ: def(s.range_key()),
                }
            },
        },
        attribute_definitions: defs.iter().map(|(name, typ)| PublicDef { name, typ }).collect(),
        global_secondary_indexes: s
            .global_secondary_indexes
            .iter()
            .map(|(name, g)| {
                let (hash, range) = g
                    .key_schema
                    .as_ref()
                    .map_or(("", ""), |k| (k.hash_key.as_str(), k.range_key.as_str()));
                let projection = g.projection.as_ref();
                PublicGsi {
                    name,
                    key_schema: PublicKeySchema {
                        hash_key: KeyAttr {
                            name: hash,
                            typ: def(hash),
                        },
                        range_key: if range.is_empty() {
                            KeyAttr::default()
                        } else {
                            KeyAttr {
                                name: range,
                                typ: def(range),
                            }
                        },
                    },
                    projection: PublicProjection {
                        typ: projection.map_or("", |p| p.projection_type.as_str()),
                        non_key_attributes: projection.map_or(empty, |p| p.non_key_attributes.as_slice()),
                    },
                }
            })
            .collect(),
    };
    to_vec(&public, JsonStyle::MARSHAL_INDENT)
}

/// What is wrong with a `_schema.json` (table-name and directory checks are the encoder's).
#[derive(Debug, thiserror::Error)]
pub enum SchemaJsonError {
    /// Not JSON (the reader's message).
    #[error("{0}")]
    Json(String),
    /// Not a JSON object (nor `null`).
    #[error("expected a JSON object, found {found}")]
    NotObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// A field of the wrong JSON type (the `dump::gofields` reader's error).
    #[error("{0}")]
    Field(DumpError),
    /// A list field that is not an array.
    #[error("field `{field}`: expected an array, found {found}")]
    NotArray {
        /// The field.
        field: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A list field with an element that is not an object.
    #[error("field `{field}`: expected an array of objects, found {found}")]
    NotObjects {
        /// The field.
        field: &'static str,
        /// The JSON type of the element found.
        found: &'static str,
    },
    /// A `format_version` other than 1.
    #[error("unsupported format_version {version}")]
    FormatVersion {
        /// The version found.
        version: u32,
    },
    /// Two attribute definitions of one name.
    #[error("duplicate attribute definition {name:?}")]
    DuplicateAttribute {
        /// The attribute's name.
        name: String,
    },
    /// Two indexes of one name.
    #[error("duplicate GSI name {name:?}")]
    DuplicateGsi {
        /// The index's name.
        name: String,
    },
}

type Objects<'a> = Vec<Option<&'a Map<String, Value>>>;

fn objects<'a>(f: &Fields<'a>, field: &'static str) -> Result<Objects<'a>, SchemaJsonError> {
    match f.get(field) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|e| match e {
                Value::Null => Ok(None),
                Value::Object(o) => Ok(Some(o)),
                other => Err(SchemaJsonError::NotObjects {
                    field,
                    found: type_name(other),
                }),
            })
            .collect(),
        Some(other) => Err(SchemaJsonError::NotArray {
            field,
            found: type_name(other),
        }),
    }
}

fn sub<'a>(obj: Option<&'a Map<String, Value>>, path: &'a Path, prefix: &'a str) -> Option<Fields<'a>> {
    obj.map(|obj| Fields { obj, path, prefix })
}

fn string_of(f: Option<&Fields<'_>>, field: &str) -> Result<String, SchemaJsonError> {
    f.map_or(Ok(String::new()), |f| {
        f.string(field).map_err(SchemaJsonError::Field)
    })
}

fn key_schema_of(f: Option<&Fields<'_>>) -> Result<KeySchema, SchemaJsonError> {
    let Some(f) = f else {
        return Ok(KeySchema::default());
    };
    let name = |field: &str| -> Result<String, SchemaJsonError> {
        let o = f.object(field).map_err(SchemaJsonError::Field)?;
        string_of(sub(o, f.path, field).as_ref(), "name")
    };
    Ok(KeySchema {
        hash_key: name("hash_key")?,
        range_key: name("range_key")?,
    })
}

/// The table schema a `_schema.json` describes (`readSchema` + `publicToSchema`), stamped
/// with the restore generation and the ordered key encoding. Table-name and directory
/// checks are the caller's.
pub fn schema_from_json(bytes: &[u8], path: &Path) -> Result<TableSchema, SchemaJsonError> {
    let v = crate::dump::json::parse_one(bytes, true).map_err(SchemaJsonError::Json)?;
    let empty = Map::new();
    let obj = match &v {
        Value::Object(o) => o,
        Value::Null => &empty,
        other => {
            return Err(SchemaJsonError::NotObject {
                found: type_name(other),
            })
        }
    };
    let f = Fields {
        obj,
        path,
        prefix: "",
    };
    let e = SchemaJsonError::Field;
    let version = f.u32("format_version").map_err(e)?;
    if version != SCHEMA_FORMAT_VERSION {
        return Err(SchemaJsonError::FormatVersion { version });
    }
    let mut schema = TableSchema {
        table_name: f.string("table_name").map_err(e)?,
        key_encoding_version: ORDERED_KEY_ENCODING,
        generation: RESTORE_GENERATION,
        ..TableSchema::default()
    };
    let pk = f.object("primary_key").map_err(e)?;
    schema.primary_key = Some(key_schema_of(sub(pk, path, "primary_key").as_ref())?);
    for def in objects(&f, "attribute_definitions")? {
        let d = sub(def, path, "attribute_definitions");
        let name = string_of(d.as_ref(), "name")?;
        let typ = string_of(d.as_ref(), "type")?;
        if schema.attribute_definitions.insert(name.clone(), typ).is_some() {
            return Err(SchemaJsonError::DuplicateAttribute { name });
        }
    }
    let mut gsis = Vec::new();
    for g in objects(&f, "global_secondary_indexes")? {
        let g = sub(g, path, "global_secondary_indexes");
        let name = string_of(g.as_ref(), "name")?;
        let ks = match &g {
            Some(g) => key_schema_of(sub(g.object("key_schema").map_err(e)?, path, "key_schema").as_ref())?,
            None => KeySchema::default(),
        };
        let p = match &g {
            Some(g) => sub(g.object("projection").map_err(e)?, path, "projection"),
            None => None,
        };
        let projection = GsiProjection {
            projection_type: string_of(p.as_ref(), "type")?,
            non_key_attributes: match &p {
                Some(p) => p.strings("non_key_attributes").map_err(e)?,
                None => Vec::new(),
            },
        };
        gsis.push((
            name,
            GlobalSecondaryIndex {
                key_schema: Some(ks),
                projection: Some(projection),
            },
        ));
    }
    for (name, gsi) in gsis {
        if schema
            .global_secondary_indexes
            .insert(name.clone(), gsi)
            .is_some()
        {
            return Err(SchemaJsonError::DuplicateGsi { name });
        }
    }
    Ok(schema)
}

mod typed;

#[cfg(test)]
mod tests;
