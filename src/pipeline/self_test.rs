//! The encoder's round-trip self-test (s3_tree_pipeline.md §11.6): decode the produced bytes
//! into a fresh scratch tree with the manifest's decode options, check the header timestamp,
//! and compare every selected adapter subtree with the input, file by file.
//!
//! Files are compared by content (DECISIONS.md D13): each adapter names the rule for its
//! paths ([`Adapter::compare_rule`]): blobs byte for byte, JSON by parsed value, order-free
//! JSONL as a multiset of parsed values. Files equal by content but not by bytes are counted
//! as formatting-only differences. [`SelfTestMode::Bytes`] keeps Go's byte-for-byte rule.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::adapters::{Adapter, CompareRule};
use crate::dump::fs::{self as dfs, EntryKind};
use crate::dump::json::{parse_one, parse_seq};
use crate::dump::manifest::Manifest;
use crate::{Error, ErrorKind};

use super::decode::{decode_snapshot, DecodeOptions};
use super::{NoProgress, PipelineError};

/// How many differing paths a mismatch report lists.
pub const MAX_REPORTED_PATHS: usize = 64;

/// Whether and how the encoder self-tests (`--self-test[=bytes]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SelfTestMode {
    /// No self-test.
    #[default]
    Off,
    /// Compare by content, each file by its adapter's [`CompareRule`] (D13).
    Content,
    /// Compare every file byte for byte (Go's rule).
    Bytes,
}

impl SelfTestMode {
    /// Parse the flag value: a Go boolean (`true` = content), `content` or `bytes`.
    pub fn parse(s: &str) -> Result<SelfTestMode, String> {
        match s {
            "content" => Ok(SelfTestMode::Content),
            "bytes" => Ok(SelfTestMode::Bytes),
            _ => match crate::adapters::parse_go_bool(s) {
                Ok(true) => Ok(SelfTestMode::Content),
                Ok(false) => Ok(SelfTestMode::Off),
                Err(_) => Err(format!(
                    "invalid --self-test value {s:?} (expected a boolean, \"content\" or \"bytes\")"
                )),
            },
        }
    }
}

/// The verdict of a self-test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfTestOutcome {
    /// Every file matched; `formatting_only` of them by content but not by bytes.
    Matched {
        /// Files equal by content but not byte for byte.
        formatting_only: u64,
    },
    /// The report to write to `<output>.mismatch.txt`.
    Mismatch(String),
}

/// Decode `fsm` into a unique scratch directory under `scratch_root` (default: the OS temp
/// dir) and compare it with `input_root`. The scratch directory is removed on every path.
pub fn run(
    fsm: &Path,
    input_root: &Path,
    adapters: &[Adapter],
    manifest: &Manifest,
    expect_ts: u64,
    scratch_root: Option<&Path>,
    mode: SelfTestMode,
) -> Result<SelfTestOutcome, Error> {
    let base = scratch_root.map_or_else(std::env::temp_dir, Path::to_path_buf);
    let scratch = tempfile::Builder::new()
        .prefix("ekv-self-test-")
        .tempdir_in(&base)
        .map_err(|e| PipelineError::io(&base, e))?;
    let tree = scratch.path().join("tree");
    let mut opts = DecodeOptions::from_manifest(manifest, tree.clone());
    opts.adapters = adapters.to_vec();
    opts.scratch_root = Some(scratch.path().to_path_buf());
    // The scratch tree is deleted after the comparison: no syncfs (it would wait for every
    // dirty page of the filesystem, which on a busy disk took minutes).
    opts.durable = false;
    let decoded = match decode_snapshot(fsm, &opts, &mut NoProgress) {
        Ok(r) => r,
        Err(e) if e.kind() == ErrorKind::Data => {
            return Ok(SelfTestOutcome::Mismatch(format!(
                "self-test failed: decoding the produced .fsm failed: {e}\n"
            )))
        }
        Err(e) => return Err(e),
    };
    if decoded.last_commit_ts != expect_ts {
        return Ok(SelfTestOutcome::Mismatch(format!(
            "self-test failed: header last_commit_ts mismatch (want {expect_ts}, got {})\n",
            decoded.last_commit_ts
        )));
    }
    let mut diffs = Vec::new();
    let mut formatting_only = 0;
    for adapter in Adapter::ALL.into_iter().filter(|a| adapters.contains(a)) {
        let rule = |rel: &str| match mode {
            SelfTestMode::Bytes => CompareRule::Bytes,
            _ => adapter.compare_rule(rel),
        };
        let mut d = diff_subtree(
            &input_root.join(adapter.name()),
            &tree.join(adapter.name()),
            &rule,
        )?;
        d.lines.sort();
        formatting_only += d.formatting_only;
        diffs.extend(
            d.lines
                .into_iter()
                .map(|line| format!("{}/{line}", adapter.name())),
        );
    }
    if diffs.is_empty() {
        return Ok(SelfTestOutcome::Matched { formatting_only });
    }
    let truncated = diffs.len() > MAX_REPORTED_PATHS;
    diffs.truncate(MAX_REPORTED_PATHS);
    if truncated {
        diffs.push(format!("... (truncated; first {MAX_REPORTED_PATHS} paths shown)"));
    }
    let mut text = diffs.join("\n");
    text.push('\n');
    Ok(SelfTestOutcome::Mismatch(text))
}

/// The differences between two subtrees.
#[derive(Debug, Default)]
pub struct SubtreeDiff {
    /// `<rel> (missing in input|missing in scratch|bytes differ|content differs)`.
    pub lines: Vec<String>,
    /// Files that differ in bytes but not by their rule's content.
    pub formatting_only: u64,
}

/// Differences between two subtrees, each common file compared by `rule(rel)`.
pub fn diff_subtree(
    input: &Path,
    scratch: &Path,
    rule: &dyn Fn(&str) -> CompareRule,
) -> Result<SubtreeDiff, Error> {
    let a = regular_files(input)?;
    let b = regular_files(scratch)?;
    let (mut i, mut j) = (0, 0);
    let mut diff = SubtreeDiff::default();
    let out = &mut diff.lines;
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                let (pa, pb) = (input.join(x), scratch.join(y));
                if !same_bytes(&pa, &pb)? {
                    match rule(x) {
                        CompareRule::Bytes => out.push(format!("{x} (bytes differ)")),
                        r => {
                            if same_content(r, &pa, &pb)? {
                                diff.formatting_only += 1;
                            } else {
                                out.push(format!("{x} (content differs)"));
                            }
                        }
                    }
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                out.push(format!("{x} (missing in scratch)"));
                i += 1;
            }
            (Some(x), None) => {
                out.push(format!("{x} (missing in scratch)"));
                i += 1;
            }
            (_, Some(y)) => {
                out.push(format!("{y} (missing in input)"));
                j += 1;
            }
            (None, None) => break,
        }
    }
    Ok(diff)
}

/// Whether two files hold the same content by `rule` (a file that does not parse differs).
fn same_content(rule: CompareRule, a: &Path, b: &Path) -> Result<bool, Error> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| Error::from(PipelineError::io(p.to_path_buf(), e)));
    let (ba, bb) = (read(a)?, read(b)?);
    Ok(match rule {
        CompareRule::Bytes => ba == bb,
        CompareRule::Json => match (parse_one(&ba, true), parse_one(&bb, true)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        },
        CompareRule::JsonlSet => match (multiset_digest(&ba), multiset_digest(&bb)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    })
}

/// An order-free digest of a sequence of JSON values: the count and the lane-wise wrapping
/// sum of the SHA-256 of each value's canonical form (memory does not grow with the count).
/// `None` when the sequence does not parse.
fn multiset_digest(bytes: &[u8]) -> Option<(u64, [u64; 4])> {
    let mut count = 0u64;
    let mut sum = [0u64; 4];
    let mut buf = Vec::new();
    for v in parse_seq(bytes) {
        let v = v.ok()?;
        buf.clear();
        canonical(&v, &mut buf);
        let d: [u8; 32] = Sha256::digest(&buf).into();
        for (lane, chunk) in sum.iter_mut().zip(d.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            *lane = lane.wrapping_add(u64::from_le_bytes(w));
        }
        count += 1;
    }
    Some((count, sum))
}

/// A JSON value with object members sorted by name (equal values, equal bytes).
fn canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(o) => {
            let mut members: Vec<(&String, &Value)> = o.iter().collect();
            members.sort_by(|x, y| x.0.cmp(y.0));
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(Value::String(k.clone()).to_string().as_bytes());
                out.push(b':');
                canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(v, out);
            }
            out.push(b']');
        }
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

/// Every regular file under `dir` as a sorted `/`-separated relative path (missing dir: none).
fn regular_files(dir: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    collect(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), Error> {
    let Some(entries) = dfs::list_dir(dir)? else {
        return Ok(());
    };
    for e in entries {
        let name = e.name.to_string_lossy();
        let rel = if prefix.is_empty() {
            name.into_owned()
        } else {
            format!("{prefix}/{name}")
        };
        match e.kind {
            EntryKind::File => out.push(rel),
            EntryKind::Dir => collect(&e.path, &rel, out)?,
            EntryKind::Symlink | EntryKind::Other => {}
        }
    }
    Ok(())
}

fn same_bytes(a: &Path, b: &Path) -> Result<bool, Error> {
    let io_err = |p: &Path, e: io::Error| Error::from(PipelineError::io(p.to_path_buf(), e));
    let mut fa = File::open(a).map_err(|e| io_err(a, e))?;
    let mut fb = File::open(b).map_err(|e| io_err(b, e))?;
    let la = fa.metadata().map_err(|e| io_err(a, e))?.len();
    let lb = fb.metadata().map_err(|e| io_err(b, e))?.len();
    if la != lb {
        return Ok(false);
    }
    let mut ba = vec![0u8; 64 << 10];
    let mut bb = vec![0u8; 64 << 10];
    loop {
        let n = read_full(&mut fa, &mut ba).map_err(|e| io_err(a, e))?;
        let m = read_full(&mut fb, &mut bb).map_err(|e| io_err(b, e))?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
