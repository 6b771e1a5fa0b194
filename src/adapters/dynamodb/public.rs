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
use crate::dump::json::{to_vec, JsonStyle};

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

/// Go `base64.StdEncoding`: padding required, `\r`/`\n` skipped, non-zero trailing bits
/// accepted.
fn decode_b64_std(text: &str) -> Result<Vec<u8>, String> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    let cleaned: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    ENGINE
        .decode(cleaned.as_bytes())
        .map_err(|e| format!("binary value is not valid base64: {e}"))
}

/// An item from its public JSON (`publicToItem`): `null` is the empty item (Go's nil map).
pub fn item_from_json(v: &Value) -> Result<Item, String> {
    let obj = match v {
        Value::Null => return Ok(Item::default()),
        Value::Object(o) => o,
        other => return Err(format!("item must be a JSON object, found {}", type_name(other))),
    };
    let mut item = Item::default();
    for (name, raw) in obj {
        let Value::Object(m) = raw else {
            return Err(format!("attribute {name:?} is not an object"));
        };
        let av = av_from_json(m).map_err(|e| format!("attribute {name:?}: {e}"))?;
        item.attributes.insert(name.clone(), av);
    }
    Ok(item)
}

/// An item from a jsonl bundle line (`{"Item": {…}}`, nothing else).
pub fn item_from_bundle_line(v: &Value) -> Result<Item, String> {
    match v {
        Value::Object(o) if o.len() == 1 => match o.get(BUNDLE_ITEM_MEMBER) {
            Some(Value::Object(_)) => item_from_json(o.get(BUNDLE_ITEM_MEMBER).unwrap_or(&Value::Null)),
            _ => Err(format!(
                "a bundle line must be {{\"{BUNDLE_ITEM_MEMBER}\": {{…}}}}"
            )),
        },
        _ => Err(format!(
            "a bundle line must be {{\"{BUNDLE_ITEM_MEMBER}\": {{…}}}}"
        )),
    }
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    let Value::Array(items) = v else {
        return Err(format!("{what} value is not an array"));
    };
    items
        .iter()
        .map(|e| match e {
            Value::String(s) => Ok(s.clone()),
            _ => Err("set element is not a string".to_owned()),
        })
        .collect()
}

fn av_from_json(m: &Map<String, Value>) -> Result<AttributeValue, String> {
    if m.len() != 1 {
        return Err(format!(
            "attribute object must have exactly one type key, got {}",
            m.len()
        ));
    }
    let Some((typ, val)) = m.iter().next() else {
        return Err("empty attribute object".to_owned());
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
                    _ => Err("L element is not an object".to_owned()),
                })
                .collect::<Result<_, _>>()?,
        }),
        ("M", Value::Object(o)) => {
            let mut values = std::collections::BTreeMap::new();
            for (name, child) in o {
                let Value::Object(c) = child else {
                    return Err(format!("M[{name:?}] is not an object"));
                };
                values.insert(
                    name.clone(),
                    av_from_json(c).map_err(|e| format!("M[{name:?}]: {e}"))?,
                );
            }
            Av::M(AttributeValueMap { values })
        }
        ("S" | "N" | "B" | "BOOL" | "NULL" | "L" | "M", other) => {
            return Err(format!("{typ} value is {}", type_name(other)));
        }
        _ => return Err(format!("unknown attribute type {typ:?}")),
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

fn objects<'a>(f: &Fields<'a>, field: &str) -> Result<Vec<Option<&'a Map<String, Value>>>, String> {
    match f.get(field) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|e| match e {
                Value::Null => Ok(None),
                Value::Object(o) => Ok(Some(o)),
                other => Err(format!(
                    "field `{field}`: expected an array of objects, found {}",
                    type_name(other)
                )),
            })
            .collect(),
        Some(other) => Err(format!(
            "field `{field}`: expected an array, found {}",
            type_name(other)
        )),
    }
}

fn sub<'a>(obj: Option<&'a Map<String, Value>>, path: &'a Path, prefix: &'a str) -> Option<Fields<'a>> {
    obj.map(|obj| Fields { obj, path, prefix })
}

fn string_of(f: Option<&Fields<'_>>, field: &str) -> Result<String, String> {
    f.map_or(Ok(String::new()), |f| f.string(field).map_err(|e| e.to_string()))
}

fn key_schema_of(f: Option<&Fields<'_>>) -> Result<KeySchema, String> {
    let Some(f) = f else {
        return Ok(KeySchema::default());
    };
    let name = |field: &str| -> Result<String, String> {
        let o = f.object(field).map_err(|e| e.to_string())?;
        string_of(sub(o, f.path, field).as_ref(), "name")
    };
    Ok(KeySchema {
        hash_key: name("hash_key")?,
        range_key: name("range_key")?,
    })
}

/// The table schema a `_schema.json` describes (`readSchema` + `publicToSchema`), stamped
/// with the restore generation and the ordered key encoding. `Err` says what is wrong;
/// table-name and directory checks are the caller's.
pub fn schema_from_json(bytes: &[u8], path: &Path) -> Result<TableSchema, String> {
    let v = crate::dump::json::parse_one(bytes, true)?;
    let empty = Map::new();
    let obj = match &v {
        Value::Object(o) => o,
        Value::Null => &empty,
        other => return Err(format!("expected a JSON object, found {}", type_name(other))),
    };
    let f = Fields {
        obj,
        path,
        prefix: "",
    };
    let e = |e: crate::dump::DumpError| e.to_string();
    let version = f.u32("format_version").map_err(e)?;
    if version != SCHEMA_FORMAT_VERSION {
        return Err(format!("unsupported format_version {version}"));
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
            return Err(format!("duplicate attribute definition {name:?}"));
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
            return Err(format!("duplicate GSI name {name:?}"));
        }
    }
    Ok(schema)
}

#[cfg(test)]
mod tests;
