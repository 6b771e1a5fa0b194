//! `verify DUMP`: is this dump tree intact and encodable? CHECKSUMS (every listed file,
//! `sha256sum -c` rules), MANIFEST.json, and every file of the listed adapters read and
//! parsed as an encode would (DECISIONS.md D15). Exit 0 intact, 2 not, 1 usage.
//! `--update-checksums` rewrites CHECKSUMS after a deliberate hand edit, once every file
//! parses.

use std::path::PathBuf;

use clap::Parser;

use crate::dump::checksums;
use crate::dump::manifest::Manifest;
use crate::pipeline::encode::{parse_tree, EncodeOptions};
use crate::Error;

use super::log;

/// Check a dump tree: CHECKSUMS, MANIFEST.json, and that every file parses.
#[derive(Debug, Parser)]
#[command(name = "verify", version)]
pub struct VerifyArgs {
    /// The dump root (the directory holding MANIFEST.json).
    pub dump: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// After a deliberate hand edit: check that MANIFEST.json and every file parse, then
    /// rewrite CHECKSUMS for the tree as it is now.
    #[arg(long = "update-checksums")]
    pub update_checksums: bool,
    /// Threads reading and parsing files (0: one per CPU, at most 8).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
}

/// What a successful verify found.
struct Verified {
    files: u64,
    records: u64,
    updated: bool,
}

fn verify(a: &VerifyArgs) -> Result<Verified, Error> {
    let manifest = Manifest::read(&a.dump)?;
    let mut opts = EncodeOptions::from_manifest(a.dump.clone(), &manifest, None, None)?;
    opts.threads = a.threads;
    // A partial dump (A23) is not a corrupt one: verify checks what the tree holds.
    opts.allow_partial = true;
    if a.update_checksums {
        opts.verify = false;
        let records = parse_tree(&opts)?;
        let files = checksums::write_for_tree(&a.dump)?;
        return Ok(Verified {
            files,
            records,
            updated: true,
        });
    }
    let files = checksums::verify(&a.dump)?;
    // CHECKSUMS just passed: the parse pass need not hash again.
    opts.verify = false;
    let records = parse_tree(&opts)?;
    Ok(Verified {
        files,
        records,
        updated: false,
    })
}

/// Run `verify`; returns the exit code.
pub fn run(a: &VerifyArgs) -> u8 {
    let r = verify(a);
    let code = match &r {
        Ok(_) => 0,
        Err(e) => e.kind().exit_code() as u8,
    };
    if a.json {
        let v = match &r {
            Ok(v) => serde_json::json!({
                "ok": true,
                "dump": a.dump.display().to_string(),
                "files_verified": v.files,
                "records": v.records,
                "checksums_updated": v.updated,
            }),
            Err(e) => serde_json::json!({
                "ok": false,
                "dump": a.dump.display().to_string(),
                "error": e.to_string(),
                "exit_code": code,
            }),
        };
        println!("{v}");
        return code;
    }
    match r {
        Ok(v) if v.updated => eprintln!(
            "{}: CHECKSUMS rewritten for {} files; every file parses ({} records)",
            a.dump.display(),
            v.files,
            v.records
        ),
        Ok(v) => eprintln!(
            "{}: intact: {} files match CHECKSUMS, MANIFEST.json reads, every file parses ({} records)",
            a.dump.display(),
            v.files,
            v.records
        ),
        Err(e) => log::fatal("ekv-snapshot verify", &e),
    }
    code
}
