//! The fast path of reading an item file's public JSON (dynamodb_sqs.md §1.7): one typed pass
//! from the text straight into an [`Item`], with no `serde_json::Value` (and its per-member
//! maps and strings) in between.
//!
//! It takes only the plain form the decoder writes: an object of attributes with distinct
//! names, each value an object with exactly one type tag (`S N B BOOL NULL SS NS BS L M`,
//! spelled without escapes) holding a value of that tag's JSON type, and nothing but
//! whitespace after it. Anything else — a duplicate name, a second tag, a `null` item,
//! trailing `}`, a bad base64 string, a syntax error — gives `None`, and the general reader
//! ([`super::item_from_json`] over [`crate::dump::json::parse_one`]) decides, so its
//! leniency rules and its error messages stay the only ones. Whatever this path accepts, the
//! general reader reads to the same item (property-tested in `super::tests`).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::super::proto::{
    AttributeValue, AttributeValueList, AttributeValueMap, BinarySet, Item, StringSet, Value as Av,
};
use super::decode_b64_std;

/// The item of `text` (already repaired by [`crate::dump::json::go_text`]), or `None` when
/// it is not in the plain form.
pub(super) fn item(text: &str) -> Option<Item> {
    let mut de = serde_json::Deserializer::from_str(text);
    let attributes = Members.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(Item { attributes })
}

fn bail<E: serde::de::Error>() -> E {
    E::custom("not the plain form")
}

/// An object of named attribute values with distinct names (an item, or an `M` value).
struct Members;

impl<'de> DeserializeSeed<'de> for Members {
    type Value = BTreeMap<String, AttributeValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Members {
    type Value = BTreeMap<String, AttributeValue>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of attribute values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(Attribute)?;
            if members.insert(name, value).is_some() {
                return Err(bail());
            }
        }
        Ok(members)
    }
}

/// One attribute value: `{TAG: value}`.
struct Attribute;

impl<'de> DeserializeSeed<'de> for Attribute {
    type Value = AttributeValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Attribute {
    type Value = AttributeValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an attribute value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let tag = map.next_key::<&'de str>()?.ok_or_else(bail)?;
        let binary = |text: String| decode_b64_std(&text).map_err(|_| bail::<A::Error>());
        let value = match tag {
            "S" => Av::S(map.next_value()?),
            "N" => Av::N(map.next_value()?),
            "B" => Av::B(binary(map.next_value()?)?),
            "BOOL" => Av::Bool(map.next_value()?),
            "NULL" => Av::Null(map.next_value()?),
            "SS" => Av::Ss(StringSet {
                values: map.next_value()?,
            }),
            "NS" => Av::Ns(StringSet {
                values: map.next_value()?,
            }),
            "BS" => Av::Bs(BinarySet {
                values: map
                    .next_value::<Vec<String>>()?
                    .into_iter()
                    .map(binary)
                    .collect::<Result<_, _>>()?,
            }),
            "L" => Av::L(AttributeValueList {
                values: map.next_value_seed(Elements)?,
            }),
            "M" => Av::M(AttributeValueMap {
                values: map.next_value_seed(Members)?,
            }),
            _ => return Err(bail()),
        };
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(bail());
        }
        Ok(AttributeValue::new(value))
    }
}

/// The elements of an `L` value.
struct Elements;

impl<'de> DeserializeSeed<'de> for Elements {
    type Value = Vec<AttributeValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements {
    type Value = Vec<AttributeValue>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of attribute values")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = seq.next_element_seed(Attribute)? {
            values.push(value);
        }
        Ok(values)
    }
}
