//! `inspect`: print what a snapshot holds (human-readable or `--json`). Exit 0 when every
//! snapshot inspected is intact, 2 when one is corrupt, 1 on usage errors.

use std::path::PathBuf;

use clap::Parser;

use crate::container;
use crate::dump::json::{self, JsonStyle};
use crate::pipeline::inspect::{inspect, InspectReport};

use super::log;
use super::progress::TermProgress;

/// Show what a snapshot holds and whether it is intact.
#[derive(Debug, Parser)]
#[command(name = "inspect", version)]
pub struct InspectArgs {
    /// A snapshot file, or an fsm-snap/ directory (its newest snapshot).
    pub path: PathBuf,
    /// Print one JSON object (an array of them with --all).
    #[arg(long)]
    pub json: bool,
    /// With a directory: inspect every snapshot in it, oldest first.
    #[arg(long)]
    pub all: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `inspect`; returns the exit code.
pub fn run(a: &InspectArgs) -> u8 {
    let paths = match container::resolve_inputs(&a.path, a.all) {
        Ok(p) => p,
        Err(e) => {
            log::fatal("ekv-snapshot inspect", &e);
            return 1;
        }
    };
    let mut reports = Vec::new();
    for p in &paths {
        let size = std::fs::metadata(p).map(|m| m.len()).ok();
        let mut progress = TermProgress::new(a.quiet || a.json, size, "entries");
        let r = inspect(p, &mut progress);
        progress.finish();
        match r {
            Ok(r) => reports.push(r),
            // With --all, a file that is not a readable snapshot gets its own status; with
            // --json, the error is a JSON object too (a script parses stdout either way).
            Err(e) if (a.all || a.json) && e.kind() == crate::ErrorKind::Data => {
                reports.push(InspectReport::unreadable(p, size.unwrap_or(0), e.to_string()))
            }
            Err(e) => {
                log::fatal("ekv-snapshot inspect", &e);
                return e.kind().exit_code() as u8;
            }
        }
    }
    if a.json {
        let bytes = if a.all {
            json::to_vec(&reports, JsonStyle::MANIFEST)
        } else {
            json::to_vec(&reports[0], JsonStyle::MANIFEST)
        };
        print!("{}", String::from_utf8_lossy(&bytes));
    } else {
        for r in &reports {
            print!("{}", human(r));
        }
    }
    if reports.iter().all(InspectReport::intact) {
        0
    } else {
        2
    }
}

/// The human-readable report.
pub fn human(r: &InspectReport) -> String {
    let mut s = String::new();
    let mut kv = |k: &str, v: String| s.push_str(&format!("{k:<18}{v}\n"));
    kv("file", format!("{} ({} bytes)", r.path, r.file_bytes));
    if let Some(i) = r.snapshot_index {
        kv("snapshot index", i.to_string());
    }
    match &r.header {
        Some(h) => {
            kv("fsm header", h.version.clone());
            kv("hlc ceiling", format!("{} ms ({})", h.ceiling_ms, h.ceiling_utc));
            kv("cutover index", h.cutover_index.to_string());
        }
        None => kv("fsm header", "none".into()),
    }
    kv("payload", r.payload_format.clone());
    let t = &r.last_commit_ts;
    kv(
        "last_commit_ts",
        format!("{} ({} + logical {})", t.raw, t.utc, t.logical),
    );
    let footer = match (&r.footer.stored, &r.footer.computed) {
        (Some(a), Some(b)) => format!("{} (stored {a}, computed {b})", r.footer.status),
        _ => r.footer.status.clone(),
    };
    kv("crc32c footer", footer);
    kv(
        "entries",
        format!(
            "{} ({} key bytes, {} value bytes)",
            r.entries, r.key_bytes, r.value_bytes
        ),
    );
    kv("live keys", r.live_keys.to_string());
    kv("older versions", r.older_versions.to_string());
    kv("deleted keys", r.tombstones.to_string());
    kv("raw rows", r.raw_rows.to_string());
    let l = &r.largest_entry;
    kv(
        "largest entry",
        format!("{} bytes at offset {} ({})", l.bytes, l.offset, l.key),
    );
    s.push_str(&format!(
        "{:<18}{:>12} {:>12} {:>14}\n",
        "family", "entries", "live keys", "bytes"
    ));
    for (name, f) in &r.families {
        if f.entries > 0 {
            s.push_str(&format!(
                "  {name:<16}{:>12} {:>12} {:>14}\n",
                f.entries,
                f.live_keys,
                f.key_bytes + f.value_bytes
            ));
        }
    }
    if let Some(b) = &r.sst_bundle {
        s.push_str(&format!(
            "{:<18}v{}, {} entries, {} uncompressed bytes, {} table bytes, applied index {}, min retained ts {} (pending {})\n",
            "sst bundle",
            b.version,
            b.entry_count,
            b.uncompressed_bytes,
            b.total_file_bytes,
            b.applied_index.map_or("none".into(), |i| i.to_string()),
            b.min_retained_ts,
            b.pending_min_retained_ts
        ));
        for t in &b.files {
            s.push_str(&format!(
                "  {} {} bytes at {}, {} entries in {} blocks ({} index), sha256 {} {}\n    keys {} .. {}\n",
                t.name,
                t.size,
                t.offset,
                t.entries,
                t.data_blocks,
                if t.two_level_index {
                    "two-level"
                } else {
                    "one-level"
                },
                t.sha256,
                if t.verified { "ok" } else { "UNVERIFIED" },
                t.smallest,
                t.largest
            ));
        }
    }
    match &r.error {
        None => s.push_str("status            intact\n"),
        Some(e) => s.push_str(&format!("status            CORRUPT: {e}\n")),
    }
    s
}
