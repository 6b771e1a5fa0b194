//! Stream every entry of a snapshot through `SnapshotFile`, verify the footer, and print
//! entries, bytes, wall time, MB/s and peak RSS (`VmHWM`). Used by `bench/inspect.sh`
//! until the `inspect` CLI exists.
//!
//! ```text
//! cargo run --release --example read_all -- FILE_OR_FSM_SNAP_DIR
//! ```

use std::path::PathBuf;
use std::time::Instant;

use ekv_snapshot::container::{SnapshotFile, StreamEntry};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> anyhow::Result<()> {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        anyhow::bail!("usage: read_all FILE_OR_FSM_SNAP_DIR");
    };
    let start = Instant::now();
    let mut f = SnapshotFile::open(&path)?;
    let (mut raw, mut mvcc, mut tombstones, mut payload) = (0u64, 0u64, 0u64, 0u64);
    while let Some(e) = f.next()? {
        match e {
            StreamEntry::Raw(r) => {
                raw += 1;
                payload += r.value.len() as u64;
            }
            StreamEntry::Mvcc(m) => {
                mvcc += 1;
                tombstones += u64::from(m.tombstone);
                payload += m.body.len() as u64;
            }
        }
    }
    let report = f.finish()?;
    let secs = start.elapsed().as_secs_f64();
    let info = f.info();
    println!("file: {}", info.path.display());
    println!(
        "header: {}",
        match info.header {
            Some(h) => format!(
                "{:?} ceiling_ms={} cutover={}",
                h.version, h.ceiling_ms, h.cutover
            ),
            None => "none".to_string(),
        }
    );
    println!(
        "payload: {} last_commit_ts={:?}",
        info.payload.name(),
        info.last_commit_ts
    );
    println!(
        "footer: {}",
        match report.footer {
            Some(c) => format!("{c:08x} OK"),
            None => "none (bare stream)".to_string(),
        }
    );
    println!(
        "entries: {} (mvcc {mvcc}, raw {raw}, tombstones {tombstones}), value bytes {payload}",
        report.entries
    );
    let mb = report.bytes as f64 / 1e6;
    println!(
        "read {} bytes in {secs:.3} s: {:.1} MB/s ({:.2} GiB/s)",
        report.bytes,
        mb / secs,
        report.bytes as f64 / (1u64 << 30) as f64 / secs
    );
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS: {:.1} MiB", kib as f64 / 1024.0);
    }
    Ok(())
}
