//! Typed field access on a parsed JSON object with Go `encoding/json` struct-decoding
//! semantics (s3_tree_pipeline.md §0): names match exactly or ASCII case-insensitively,
//! a missing member or `null` leaves the zero value, and a value of the wrong type (a
//! string for a number, `1.5` or `1e3` or `-1` for an unsigned integer) is an error.

use std::path::Path;

use serde_json::{Map, Value};

use super::json::get_nonnull;
use super::DumpError;

pub(crate) type Object = Map<String, Value>;

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
