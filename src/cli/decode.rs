//! `decode`: snapshot → dump tree, with the flags of Go's `elastickv-snapshot-decode`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

use crate::adapters::{parse_go_bool, Adapter, AdapterOptions};
use crate::container;
use crate::pipeline::decode::{decode_snapshot, DecodeOptions, DecodeResult};
use crate::Error;

use super::progress::TermProgress;
use super::{log, parse_adapter_list, AdapterListError};

/// Decode a snapshot into a dump tree.
#[derive(Debug, Parser)]
#[command(name = "decode", version)]
pub struct DecodeArgs {
    /// Snapshot to decode: a bare EKVPBBL1 stream, a live fsm-snap/<index>.fsm, or an
    /// fsm-snap/ directory (its newest snapshot).
    #[arg(long, default_value = "", value_name = "PATH")]
    pub input: String,
    /// Output directory for the dump tree (must not exist, or be empty).
    #[arg(long, default_value = "", value_name = "DIR")]
    pub output: String,
    /// Adapters to decode: comma-separated subset of dynamodb,s3,redis,sqs, or "all".
    #[arg(long, default_value = "dynamodb,s3,redis,sqs")]
    pub adapter: String,
    /// MANIFEST cluster_id.
    #[arg(long = "cluster-id", default_value = "")]
    pub cluster_id: String,
    /// Per-adapter options.
    #[command(flatten)]
    pub options: AdapterOptions,
    /// Scratch space for adapters that need it (default: the OS temp dir; never the output).
    #[arg(long = "scratch-root", value_name = "DIR")]
    pub scratch_root: Option<PathBuf>,
    /// Threads: with more than one, the tree's files are created and written on a thread of
    /// their own, behind the decoding (0: the machine's parallelism; 1: all on one thread).
    /// The tree and the error reported are the same for any count.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
    /// No progress bar and no summary (warnings and errors are still printed).
    #[arg(long, short, num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_parser = parse_go_bool)]
    pub quiet: bool,
}

/// Parse the decode `--adapter` list: trimmed, case-sensitive, empty items skipped.
pub fn parse_adapters(csv: &str) -> Result<Vec<Adapter>, String> {
    parse_adapter_list(csv, false).map_err(|e| match e {
        AdapterListError::Unknown(name) => format!("{name}: unknown adapter name"),
        AdapterListError::Empty => "--adapter selected zero adapters".to_owned(),
    })
}

fn options(a: &DecodeArgs) -> Result<DecodeOptions, String> {
    if a.input.is_empty() {
        return Err("--input is required".into());
    }
    if a.output.is_empty() {
        return Err("--output is required".into());
    }
    let mut o = DecodeOptions::new(&a.output);
    o.adapters = parse_adapters(&a.adapter)?;
    o.options = a.options.clone();
    o.cluster_id = a.cluster_id.clone();
    o.scratch_root = a.scratch_root.clone();
    o.source_arg = Some(a.input.clone());
    o.threads = a.threads;
    Ok(o)
}

/// Run a decode; returns the exit code.
pub fn run(prog: &str, a: &DecodeArgs) -> u8 {
    let opts = match options(a) {
        Ok(o) => o,
        Err(msg) => {
            log::fatal(prog, &msg);
            return 1;
        }
    };
    let started = Instant::now();
    match run_decode(a, &opts) {
        Ok(r) => {
            for w in &r.warnings {
                log::warning(w);
            }
            if !a.quiet {
                eprint!(
                    "{}",
                    summary(&a.input, &a.output, &r, started.elapsed().as_secs_f64())
                );
            }
            0
        }
        Err(e) => {
            log::fatal(prog, &format!("decode {}: {e}", a.input));
            e.kind().exit_code() as u8
        }
    }
}

fn run_decode(a: &DecodeArgs, opts: &DecodeOptions) -> Result<DecodeResult, Error> {
    let input = container::resolve_inputs(&PathBuf::from(&a.input), false)?.remove(0);
    let size = std::fs::metadata(&input).map(|m| m.len()).ok();
    let mut progress = TermProgress::new(a.quiet, size, "entries");
    let r = decode_snapshot(&input, opts, &mut progress);
    progress.finish();
    r
}

/// The one-screen summary printed after a decode.
pub fn summary(input: &str, output: &str, r: &DecodeResult, secs: f64) -> String {
    let c = &r.counters;
    let mut s = format!("decoded {input} -> {output}\n");
    s.push_str(&format!(
        "  entries {} (older versions {}, deleted keys {}, raw rows {})\n",
        c.entries, c.older_versions, c.tombstones, c.raw
    ));
    let mut routed: Vec<String> = c
        .routed
        .iter()
        .map(|(a, n)| format!("{} {n}", a.name()))
        .collect();
    routed.push(format!("internal {}", c.internal));
    routed.push(format!("unknown {}", c.unknown));
    s.push_str(&format!("  records {}\n", routed.join(", ")));
    if !c.unsupported.is_empty() {
        let u: Vec<String> = c
            .unsupported
            .iter()
            .map(|(a, n)| format!("{} {n}", a.name()))
            .collect();
        s.push_str(&format!(
            "  NOT DECODED (adapter not supported yet): {}\n",
            u.join(", ")
        ));
    }
    s.push_str(&format!("  warnings {}\n", r.warnings.len()));
    let mb = r.input_bytes as f64 / 1e6;
    s.push_str(&format!(
        "  wrote {} files, {} bytes in {:.2} s ({:.1} MB/s of snapshot)\n",
        r.files,
        r.bytes,
        secs,
        if secs > 0.0 { mb / secs } else { 0.0 }
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_lists_like_go() {
        assert_eq!(parse_adapters("").unwrap(), Adapter::ALL.to_vec());
        assert_eq!(parse_adapters("all").unwrap(), Adapter::ALL.to_vec());
        assert_eq!(parse_adapters("redis,").unwrap(), vec![Adapter::Redis]);
        assert_eq!(
            parse_adapters(" s3 , redis").unwrap(),
            vec![Adapter::S3, Adapter::Redis]
        );
        assert_eq!(
            parse_adapters("redis,bogus").unwrap_err(),
            "bogus: unknown adapter name"
        );
        assert_eq!(
            parse_adapters("Redis").unwrap_err(),
            "Redis: unknown adapter name"
        );
        assert_eq!(
            parse_adapters(" ,,").unwrap_err(),
            "--adapter selected zero adapters"
        );
    }
}
