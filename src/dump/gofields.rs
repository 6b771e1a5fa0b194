//! The one lenient reader of Go-JSON fields (s3_tree_pipeline.md §0, redis.md §6.3): member
//! lookup with Go `encoding/json` struct-decoding semantics, typed field access, and the
//! binary envelope.
//!
//! Names match exactly or after Go's case folding, the last matching member winning
//! ([`get_ci`]; [`get_nonnull`] for scalar fields, where Go's `null` is a no-op). [`Fields`]
//! reads the fields of one object: a missing member or `null` leaves the zero value, and a
//! value of the wrong type (a string for a number, `1.5` or `1e3` or `-1` for an unsigned
//! integer) is an error. [`opt_u64`], [`opt_array`] and [`binary`] read Go pointer, slice
//! and binary-envelope fields and return what was wrong, for the caller's own error type.

use std::path::Path;

use serde_json::{Map, Value};

use super::json::decode_base64url_lenient;
use super::DumpError;

pub(crate) type Object = Map<String, Value>;

/// Look up a member of a JSON object the way Go's struct decoding does: exact name first,
/// else ASCII case-insensitive; among several matches the last one in document order wins.
///
/// Document order is only known when serde_json keeps insertion order (`preserve_order`);
/// otherwise "last" is the last in the map's (sorted) order, which is still deterministic.
pub(crate) fn get_ci<'a>(obj: &'a Object, name: &str) -> Option<&'a Value> {
    // Go's decoder assigns every member whose name matches the field, exactly or after
    // folding, in input order: the last one wins (a `null` included; `get_nonnull` for
    // fields where Go's `null` is a no-op).
    let mut want = None;
    obj.iter()
        .rev()
        .find(|(k, _)| same_name(k, name, &mut want))
        .map(|(_, v)| v)
}

/// Whether a member name `k` matches the field `name` as Go's decoder matches them. Two
/// ASCII names compare without allocating (Go folds ASCII letters only); a non-ASCII one
/// is folded (`ſ` matches `s`), `name`'s fold computed once into `want`.
fn same_name(k: &str, name: &str, want: &mut Option<String>) -> bool {
    if k.is_ascii() && name.is_ascii() {
        k.eq_ignore_ascii_case(name)
    } else {
        go_fold(k) == *want.get_or_insert_with(|| go_fold(name))
    }
}

/// [`get_ci`] for a scalar field, where Go leaves the value unchanged on `null`: the last
/// matching member that is not `null`.
pub(crate) fn get_nonnull<'a>(obj: &'a Object, name: &str) -> Option<&'a Value> {
    let mut want = None;
    obj.iter()
        .rev()
        .find(|(k, v)| !v.is_null() && same_name(k, name, &mut want))
        .map(|(_, v)| v)
}

/// Go `encoding/json`'s `foldName`: ASCII letters upper-cased; any other rune mapped to
/// `ToUpper(ToLower(r))` (simple case mappings: a rune whose full mapping is not a single
/// rune is kept), so `ſ` (U+017F) folds to `S` and the Kelvin sign to `K`.
pub(crate) fn go_fold(name: &str) -> String {
    fn single(mut it: impl Iterator<Item = char>, c: char) -> char {
        match (it.next(), it.next()) {
            (Some(x), None) => x,
            _ => c,
        }
    }
    name.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_ascii_uppercase()
            } else {
                let lower = single(c.to_lowercase(), c);
                single(lower.to_uppercase(), lower)
            }
        })
        .collect()
}

/// An optional unsigned member (a Go `*uint64` or `*int64` field): missing or `null` is
/// `None`; otherwise a JSON integer in `u64`, else the value found is the error.
pub(crate) fn opt_u64<'v>(o: &'v Object, name: &str) -> Result<Option<u64>, &'v Value> {
    match get_ci(o, name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or(v),
    }
}

/// An optional array member (a Go slice field): missing or `null` is empty; a non-array
/// value found is the error.
pub(crate) fn opt_array<'v>(o: &'v Object, name: &str) -> Result<&'v [Value], &'v Value> {
    match get_ci(o, name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(other),
    }
}

/// Why a binary envelope does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BinaryError {
    /// The value is missing or `null`.
    Missing,
    /// An object without a string `base64` member.
    NoBase64,
    /// A `base64` member that does not decode: the reason.
    Base64(String),
    /// Neither a string nor an object: the value found, as compact JSON.
    NotBinary(String),
}

/// Read a binary envelope back (redis.md §6.3, Go's `unmarshalRedisBinaryValue`): a JSON
/// string gives its UTF-8 bytes; an object must carry a string `base64` member (matched
/// as Go does, case-insensitively) decoded with [`decode_base64url_lenient`].
pub(crate) fn binary(v: Option<&Value>) -> Result<Vec<u8>, BinaryError> {
    match v {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Object(o)) => match get_ci(o, "base64") {
            Some(Value::String(s)) => decode_base64url_lenient(s).map_err(BinaryError::Base64),
            _ => Err(BinaryError::NoBase64),
        },
        None | Some(Value::Null) => Err(BinaryError::Missing),
        Some(other) => Err(BinaryError::NotBinary(other.to_string())),
    }
}

/// The JSON type name of a value, for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "an integer",
        Value::Number(_) => "a non-integer number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Field reader over one object; `prefix` names the enclosing object in messages.
pub(crate) struct Fields<'a> {
    pub(crate) obj: &'a Object,
    pub(crate) path: &'a Path,
    pub(crate) prefix: &'a str,
}

impl<'a> Fields<'a> {
    fn name(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.prefix)
        }
    }

    fn wrong(&self, field: &str, expected: &str, v: &Value) -> DumpError {
        DumpError::invalid(
            self.path,
            format!(
                "field `{}`: expected {expected}, found {}",
                self.name(field),
                type_name(v)
            ),
        )
    }

    /// The member, `None` when missing or `null`.
    pub(crate) fn get(&self, field: &str) -> Option<&'a Value> {
        get_nonnull(self.obj, field)
    }

    pub(crate) fn string(&self, field: &str) -> Result<String, DumpError> {
        match self.get(field) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(self.wrong(field, "a string", v)),
        }
    }

    pub(crate) fn u64(&self, field: &str) -> Result<u64, DumpError> {
        match self.get(field) {
            None => Ok(0),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| self.wrong(field, "an unsigned 64-bit integer", v)),
        }
    }

    pub(crate) fn u32(&self, field: &str) -> Result<u32, DumpError> {
        match self.get(field) {
            None => Ok(0),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| self.wrong(field, "an unsigned 32-bit integer", v)),
        }
    }

    pub(crate) fn bool(&self, field: &str) -> Result<bool, DumpError> {
        match self.get(field) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.wrong(field, "a boolean", v)),
        }
    }

    pub(crate) fn object(&self, field: &str) -> Result<Option<&'a Object>, DumpError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(v) => Err(self.wrong(field, "an object", v)),
        }
    }

    pub(crate) fn strings(&self, field: &str) -> Result<Vec<String>, DumpError> {
        self.array(field, |v| v.as_str().map(str::to_owned), "an array of strings")
    }

    pub(crate) fn u32s(&self, field: &str) -> Result<Vec<u32>, DumpError> {
        self.array(
            field,
            |v| v.as_u64().and_then(|n| u32::try_from(n).ok()),
            "an array of unsigned 32-bit integers",
        )
    }

    /// An array whose elements convert with `f`; a `null` element is the zero value (Go).
    fn array<T: Default>(
        &self,
        field: &str,
        f: impl Fn(&Value) -> Option<T>,
        expected: &str,
    ) -> Result<Vec<T>, DumpError> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(T::default()),
                    v => f(v).ok_or_else(|| self.wrong(field, expected, v)),
                })
                .collect(),
            Some(v) => Err(self.wrong(field, expected, v)),
        }
    }
}

#[cfg(test)]
mod tests;
