//! `encode`: dump tree → `.fsm`, with the flags and contract of Go's
//! `elastickv-snapshot-encode` (s3_tree_pipeline.md §12.2).

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

use crate::adapters::{parse_go_bool, Adapter};
use crate::dump::checksums::Verification;
use crate::dump::manifest::Manifest;
use crate::pipeline::encode::{
    encode_to_file, EncodeFileOptions, EncodeOptions, EncodeOutcome, DEFAULT_SORT_BUDGET,
};
use crate::pipeline::self_test::SelfTestMode;
use crate::Error;

use super::progress::TermProgress;
use super::{log, parse_adapter_list, AdapterListError};

/// Encode a dump tree into a snapshot.
#[derive(Debug, Parser)]
#[command(name = "encode", version)]
pub struct EncodeArgs {
    /// Dump root (the directory holding MANIFEST.json).
    #[arg(long, default_value = "", value_name = "DIR")]
    pub input: String,
    /// Destination .fsm (written atomically).
    #[arg(long, default_value = "", value_name = "PATH")]
    pub output: String,
    /// Adapters to encode: comma-separated subset of dynamodb,s3,redis,sqs, or "all"
    /// (default: the adapters MANIFEST.json lists).
    #[arg(long)]
    pub adapter: Option<String>,
    /// Commit timestamp to stamp (decimal or 0x-hex); must not be below the manifest's.
    #[arg(long = "last-commit-ts", default_value = "", value_name = "TS")]
    pub last_commit_ts: String,
    /// Decode the produced bytes and compare with the input before publishing: by content
    /// (JSON by value, order-free JSONL as sets, blobs by bytes); `=bytes` compares every
    /// file byte for byte as Go does.
    #[arg(long = "self-test", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_parser = SelfTestMode::parse, value_name = "true|false|content|bytes")]
    pub self_test: SelfTestMode,
    /// Do not check the tree's files against its CHECKSUMS while reading them.
    #[arg(long = "no-verify", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_parser = parse_go_bool)]
    pub no_verify: bool,
    /// Encode a tree whose MANIFEST.json lists adapters present in the snapshot but not
    /// decoded (their data is missing from the result).
    #[arg(long = "allow-partial", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_parser = parse_go_bool)]
    pub allow_partial: bool,
    /// Base directory for the self-test scratch and sort spill files (default: OS temp dir).
    #[arg(long = "scratch-root", default_value = "", value_name = "DIR")]
    pub scratch_root: String,
    /// Memory budget of the record sort, in MiB, before it spills to disk.
    #[arg(long = "sort-budget-mib", default_value_t = (DEFAULT_SORT_BUDGET >> 20) as u64)]
    pub sort_budget_mib: u64,
    /// Threads reading and parsing the tree's files (0: one per CPU, at most 8; larger
    /// values are capped at 64). The output is the same for any count.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
    /// No progress bar and no summary (warnings and errors are still printed).
    #[arg(long, short, num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_parser = parse_go_bool)]
    pub quiet: bool,
}

/// Parse the encode `--adapter` list: trimmed and lower-cased, empty items skipped.
pub fn parse_adapters(csv: &str) -> Result<Vec<Adapter>, String> {
    parse_adapter_list(csv, true).map_err(|e| match e {
        AdapterListError::Unknown(name) => format!("unknown adapter {name:?}"),
        AdapterListError::Empty => {
            format!("--adapter {csv:?} selects no adapters; use \"all\" or a comma-separated subset")
        }
    })
}

/// Parse `--last-commit-ts`: trimmed; `0x`/`0X` hex or decimal; strict u64.
pub fn parse_last_commit_ts(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("--last-commit-ts is empty".into());
    }
    let (digits, radix) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (t, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(format!("--last-commit-ts {s:?}: not an unsigned 64-bit integer"));
    }
    u64::from_str_radix(digits, radix).map_err(|e| format!("--last-commit-ts {s:?}: {e}"))
}

/// Run an encode; returns the exit code.
pub fn run(prog: &str, a: &EncodeArgs) -> u8 {
    let started = Instant::now();
    match run_encode(a) {
        Ok(Ok(outcome)) => {
            if outcome.result.verification == Some(Verification::NoChecksums) {
                eprintln!(
                    "{}",
                    log::line(
                        "WARN",
                        "the dump has no CHECKSUMS: its files could not be verified",
                        &[("event", "no_checksums".into()), ("input", a.input.clone())],
                    )
                );
            }
            if !a.quiet {
                eprint!("{}", summary(a, &outcome, started.elapsed().as_secs_f64()));
            }
            0
        }
        Ok(Err(msg)) => {
            log::fatal(prog, &msg);
            1
        }
        Err(e) => {
            log::fatal(prog, &e);
            e.kind().exit_code() as u8
        }
    }
}

/// Usage errors come back as `Ok(Err(message))`, everything else as `Err(Error)`.
fn run_encode(a: &EncodeArgs) -> Result<Result<EncodeOutcome, String>, Error> {
    if a.input.is_empty() {
        return Ok(Err("--input is required".into()));
    }
    if a.output.is_empty() {
        return Ok(Err("--output is required".into()));
    }
    let adapters = match a.adapter.as_deref().map(parse_adapters).transpose() {
        Ok(v) => v,
        Err(m) => return Ok(Err(m)),
    };
    let overridden = !a.last_commit_ts.is_empty();
    let requested = if overridden {
        match parse_last_commit_ts(&a.last_commit_ts) {
            Ok(t) => Some(t),
            Err(m) => return Ok(Err(m)),
        }
    } else {
        None
    };
    let input_root = PathBuf::from(&a.input);
    let manifest = Manifest::read(&input_root)?;
    let mut encode = EncodeOptions::from_manifest(input_root, &manifest, adapters, requested)?;
    encode.sort_budget = usize::try_from(a.sort_budget_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    encode.scratch_root = (!a.scratch_root.is_empty()).then(|| PathBuf::from(&a.scratch_root));
    encode.threads = a.threads;
    encode.verify = !a.no_verify;
    encode.allow_partial = a.allow_partial;
    let opts = EncodeFileOptions {
        encode,
        output: PathBuf::from(&a.output),
        overridden,
        self_test: a.self_test,
        manifest,
        input_arg: a.input.clone(),
        output_arg: a.output.clone(),
        #[cfg(test)]
        corrupt_for_test: None,
    };
    let mut progress = TermProgress::new(a.quiet, None, "records");
    let r = encode_to_file(&opts, &mut progress);
    progress.finish();
    Ok(Ok(r?))
}

fn summary(a: &EncodeArgs, o: &EncodeOutcome, secs: f64) -> String {
    let r = &o.result;
    let per: Vec<String> = r
        .per_adapter
        .iter()
        .map(|(ad, n)| format!("{} {n}", ad.name()))
        .collect();
    let st = match (o.self_test.ran, o.self_test.matched) {
        (false, _) => "not run",
        (true, true) => "matched",
        (true, false) => "MISMATCH",
    };
    format!(
        "encoded {} -> {}\n  records {} ({})\n  last_commit_ts {}\n  wrote {} bytes, sha256 {}\n  self-test {st}{}; sort spilled {} runs\n  checksums {}\n  sidecar {}\n{}  took {:.2} s\n",
        a.input,
        a.output,
        r.records,
        per.join(", "),
        r.last_commit_ts,
        r.bytes_written,
        hex::encode(r.sha256),
        if o.self_test.ran && o.self_test.matched {
            format!(
                " ({} files differed only in formatting)",
                o.formatting_only
            )
        } else {
            String::new()
        },
        r.spilled_runs,
        match r.verification {
            Some(Verification::Verified) => "verified",
            Some(Verification::Skipped) => "not verified (--no-verify)",
            Some(Verification::NoChecksums) | None => "not verified (no CHECKSUMS)",
        },
        o.sidecar.display(),
        if o.debris_removed > 0 {
            format!("  removed {} temporary files of interrupted runs\n", o.debris_removed)
        } else {
            String::new()
        },
        secs
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_commit_ts_like_go() {
        assert_eq!(parse_last_commit_ts("7000"), Ok(7000));
        assert_eq!(parse_last_commit_ts(" 0x1B58 "), Ok(7000));
        assert_eq!(parse_last_commit_ts("0X1b58"), Ok(7000));
        assert_eq!(parse_last_commit_ts("18446744073709551615"), Ok(u64::MAX));
        for bad in ["", "  ", "-1", "+1", "12x", "0x", "18446744073709551616", "1e3"] {
            assert!(parse_last_commit_ts(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn adapter_lists_like_go() {
        assert_eq!(parse_adapters("S3").unwrap(), vec![Adapter::S3]);
        for bad in [" ,", ",,,", "   ", ","] {
            assert!(parse_adapters(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_adapters("redis,bogus").unwrap_err(),
            "unknown adapter \"bogus\""
        );
    }
}
