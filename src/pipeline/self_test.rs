//! The encoder's round-trip self-test (s3_tree_pipeline.md §11.6): decode the produced bytes
//! into a fresh scratch tree with the manifest's decode options, check the header timestamp,
//! and compare every selected adapter subtree with the input, file by file.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::adapters::Adapter;
use crate::dump::fs::{self as dfs, EntryKind};
use crate::dump::manifest::Manifest;
use crate::{Error, ErrorKind};

use super::decode::{decode_snapshot, DecodeOptions};
use super::{NoProgress, PipelineError};

/// How many differing paths a mismatch report lists.
pub const MAX_REPORTED_PATHS: usize = 64;

/// The verdict of a self-test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfTestOutcome {
    Matched,
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
    for adapter in Adapter::ALL.into_iter().filter(|a| adapters.contains(a)) {
        let mut d = diff_subtree(&input_root.join(adapter.name()), &tree.join(adapter.name()))?;
        d.sort();
        diffs.extend(d.into_iter().map(|line| format!("{}/{line}", adapter.name())));
    }
    if diffs.is_empty() {
        return Ok(SelfTestOutcome::Matched);
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

/// Differences between two subtrees, as `<rel> (missing in input|missing in scratch|bytes differ)`.
pub fn diff_subtree(input: &Path, scratch: &Path) -> Result<Vec<String>, Error> {
    let a = regular_files(input)?;
    let b = regular_files(scratch)?;
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                if !same_bytes(&input.join(x), &scratch.join(y))? {
                    out.push(format!("{x} (bytes differ)"));
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
    Ok(out)
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
