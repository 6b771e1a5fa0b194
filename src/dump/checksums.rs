//! `CHECKSUMS` (s3_tree_pipeline.md §8): `sha256sum` format, one line per regular file,
//! byte-sorted relative paths, GNU escaping of `\n` `\r` `\\` in names; written last.

use std::ffi::OsStr;
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::fs::open_regular_nofollow;
use super::lines::{LineError, Lines};
use super::tree::CHECKSUMS_NAME;
use super::DumpError;

/// One line of CHECKSUMS for a path and its SHA-256.
pub fn line(rel: &str, digest: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 3 + rel.len());
    let escape = rel.contains(['\n', '\r', '\\']);
    if escape {
        out.push(b'\\');
    }
    out.extend_from_slice(hex::encode(digest).as_bytes());
    out.extend_from_slice(b"  ");
    if escape {
        for b in rel.bytes() {
            match b {
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                _ => out.push(b),
            }
        }
    } else {
        out.extend_from_slice(rel.as_bytes());
    }
    out.push(b'\n');
    out
}

/// Longest CHECKSUMS line accepted by [`verify`] (Go's scanner buffer).
const MAX_LINE: usize = 8 * 1024;

/// Verify `<root>/CHECKSUMS` the way `sha256sum -c` (and Go's VerifyChecksums) would; returns
/// the number of files verified.
///
/// Lines: blank lines are skipped; a leading `\` marks the escaped form (only `\n`, `\r`,
/// `\\` escapes); 64 lowercase hex digits, then two spaces or space-asterisk, then a
/// relative path. A path that is absolute or escapes the root, or that passes through a
/// symlink, is refused; a missing file or a digest mismatch fails; so does an empty list.
pub fn verify(root: &Path) -> Result<u64, DumpError> {
    let list_path = root.join(CHECKSUMS_NAME);
    let file = open_regular_nofollow(&list_path)?;
    let mut lines = Lines::new(BufReader::new(file), MAX_LINE);
    let mut verified = 0u64;
    loop {
        let (n, line) = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(LineError::TooLong) => {
                return Err(DumpError::invalid(
                    &list_path,
                    format!("line {}: longer than {MAX_LINE} bytes", lines.number + 1),
                ))
            }
            Err(LineError::Io(e)) => return Err(DumpError::io(&list_path, e)),
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let malformed = |what: &str| DumpError::invalid(&list_path, format!("line {n}: {what}"));
        let (digest, rel) = parse_line(line).map_err(|what| malformed(&what))?;
        let components = local_components(&rel).map_err(|what| {
            DumpError::unsafe_path(
                root.join(OsStr::from_bytes(&rel)),
                format!("CHECKSUMS line {n}: {what}"),
            )
        })?;
        if components.is_empty() {
            return Err(malformed("path names the root itself"));
        }
        let target = check_no_symlink(root, &components)?;
        let actual = match hash_file(&target) {
            Ok(d) => d,
            Err(DumpError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Err(DumpError::Checksum {
                    path: target,
                    what: "file is missing".into(),
                });
            }
            Err(e) => return Err(e),
        };
        if actual != digest {
            return Err(DumpError::Checksum {
                path: target,
                what: format!("expected {}, got {}", hex::encode(digest), hex::encode(actual)),
            });
        }
        verified += 1;
    }
    if verified == 0 {
        return Err(DumpError::invalid(&list_path, "lists no files"));
    }
    Ok(verified)
}

/// Split a non-blank line into its digest and (unescaped) path bytes.
fn parse_line(line: &[u8]) -> Result<([u8; 32], Vec<u8>), String> {
    let (escaped, rest) = match line.strip_prefix(b"\\") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    if rest.len() < 67 {
        return Err("too short: expected `<64 hex>  <path>`".into());
    }
    let (hex_part, tail) = rest.split_at(64);
    if !hex_part
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Err("expected 64 lowercase hex digits".into());
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut digest).map_err(|e| format!("bad digest: {e}"))?;
    let (sep, path) = tail.split_at(2);
    if sep != b"  " && sep != b" *" {
        return Err("expected two spaces or ` *` after the digest".into());
    }
    let path = if escaped { unescape(path)? } else { path.to_vec() };
    if path.is_empty() || path == b"." {
        return Err(format!("invalid path {:?}", String::from_utf8_lossy(&path)));
    }
    Ok((digest, path))
}

/// Undo GNU escaping: `\\n`, `\\r`, `\\\\` only.
fn unescape(path: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(path.len());
    let mut it = path.iter();
    while let Some(&b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b'\\') => out.push(b'\\'),
            Some(&c) => return Err(format!("invalid escape `\\{}` in path", char::from(c))),
            None => return Err("dangling `\\` at the end of the path".into()),
        }
    }
    Ok(out)
}

/// Lexically clean a `/`-separated relative path (Go `filepath.IsLocal` + `Clean`):
/// absolute paths and `..` that climbs above the root are refused.
fn local_components(rel: &[u8]) -> Result<Vec<&[u8]>, String> {
    if rel.first() == Some(&b'/') {
        return Err("absolute path".into());
    }
    if rel.contains(&0) {
        return Err("NUL byte in path".into());
    }
    let mut out: Vec<&[u8]> = Vec::new();
    for c in rel.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Err("path escapes the root".into());
                }
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Refuse a path any of whose components (below `root`) is a symlink; return the full path.
fn check_no_symlink(root: &Path, components: &[&[u8]]) -> Result<PathBuf, DumpError> {
    let mut path = root.to_path_buf();
    for c in components {
        path.push(OsStr::from_bytes(c));
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(DumpError::unsafe_path(
                    &path,
                    "CHECKSUMS path goes through a symbolic link",
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) => {
                return Err(DumpError::Checksum {
                    path,
                    what: "file is missing".into(),
                });
            }
            Err(e) => return Err(DumpError::io(&path, e)),
        }
    }
    Ok(path)
}

/// SHA-256 of a regular file, streamed.
fn hash_file(path: &Path) -> Result<[u8; 32], DumpError> {
    let mut file = open_regular_nofollow(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DumpError::io(path, e)),
        };
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests;
