//! Command-line front ends: clap definitions, exit-code mapping (DECISIONS.md D8), progress
//! and logging. Three entry points share them: `ekv-snapshot` (subcommands) and the drop-in
//! `elastickv-snapshot-decode` / `elastickv-snapshot-encode`, which accept the Go flags
//! (`-flag`, `--flag`, `-flag=value`, Go boolean syntax) so existing runbooks work unchanged.

mod decode;
mod encode;
mod inspect;
mod log;
mod progress;
mod verify;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::adapters::Adapter;

pub use decode::DecodeArgs;
pub use encode::EncodeArgs;
pub use inspect::InspectArgs;
pub use verify::VerifyArgs;

pub use crate::VERSION;

#[derive(Debug, Parser)]
#[command(
    name = "ekv-snapshot",
    version,
    about = "Inspect, decode and encode elastickv snapshot files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode a snapshot (.fsm or fsm-snap/ directory) into a dump tree.
    Decode(DecodeArgs),
    /// Encode a dump tree into a loadable .fsm (bare EKVPBBL1 stream).
    Encode(EncodeArgs),
    /// Show what a snapshot holds and whether it is intact.
    Inspect(InspectArgs),
    /// Check a dump tree: CHECKSUMS, MANIFEST.json, and that every file parses.
    Verify(VerifyArgs),
}

/// `ekv-snapshot`.
pub fn main_ekv() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return clap_exit(e),
    };
    let code = match cli.command {
        Command::Decode(a) => decode::run("ekv-snapshot decode", &a),
        Command::Encode(a) => encode::run("ekv-snapshot encode", &a),
        Command::Inspect(a) => inspect::run(&a),
        Command::Verify(a) => verify::run(&a),
    };
    ExitCode::from(code)
}

/// `elastickv-snapshot-decode` (Go flags).
pub fn main_go_decode() -> ExitCode {
    const PROG: &str = "elastickv-snapshot-decode";
    match DecodeArgs::try_parse_from(go_args(PROG)) {
        Ok(a) => ExitCode::from(decode::run(PROG, &a)),
        Err(e) => clap_exit(e),
    }
}

/// `elastickv-snapshot-encode` (Go flags).
pub fn main_go_encode() -> ExitCode {
    const PROG: &str = "elastickv-snapshot-encode";
    match EncodeArgs::try_parse_from(go_args(PROG)) {
        Ok(a) => ExitCode::from(encode::run(PROG, &a)),
        Err(e) => clap_exit(e),
    }
}

/// clap's own exit: help and version exit 0, flag errors exit 1 (usage, D8).
fn clap_exit(e: clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The process arguments with Go's single-dash long flags (`-input x`, `-self-test=true`)
/// rewritten to clap's `--input x`. Parsing stops at the first non-flag argument, as Go's.
fn go_args(prog: &str) -> Vec<OsString> {
    normalize_go_args(prog, std::env::args_os().skip(1))
}

fn normalize_go_args(prog: &str, args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut out = vec![OsString::from(prog)];
    let mut flags_done = false;
    let mut expect_value = false;
    for a in args {
        let s = a.to_string_lossy();
        if flags_done || expect_value {
            expect_value = false;
            out.push(a);
            continue;
        }
        if s == "--" {
            flags_done = true;
            out.push(a);
            continue;
        }
        let long = if let Some(rest) = s.strip_prefix("--") {
            rest.to_owned()
        } else if let Some(rest) = s.strip_prefix('-') {
            if rest.is_empty() {
                flags_done = true;
                out.push(a);
                continue;
            }
            rest.to_owned()
        } else {
            flags_done = true;
            out.push(a);
            continue;
        };
        if long == "h" || long == "help" {
            out.push(OsString::from("--help"));
            continue;
        }
        if !long.contains('=') && !is_go_bool_flag(&long) {
            expect_value = true;
        }
        out.push(OsString::from(format!("--{long}")));
    }
    out
}

/// The boolean flags of the Go CLIs (they take no separate value).
fn is_go_bool_flag(name: &str) -> bool {
    matches!(
        name,
        "include-incomplete-uploads"
            | "include-orphans"
            | "preserve-sqs-visibility"
            | "include-sqs-side-records"
            | "rename-collisions"
            | "self-test"
            | "no-verify"
            | "allow-partial"
            | "quiet"
            | "q"
    )
}

/// Why an `--adapter` list was refused (each CLI words it as its Go counterpart does).
#[derive(Debug, PartialEq, Eq)]
enum AdapterListError {
    Unknown(String),
    Empty,
}

/// The `--adapter` list of both CLIs: `""` or `all` = every adapter; items trimmed (and
/// lower-cased for encode, as Go's encoder does), empty items skipped, duplicates collapsed.
fn parse_adapter_list(csv: &str, lowercase: bool) -> Result<Vec<Adapter>, AdapterListError> {
    if csv.is_empty() || csv == "all" {
        return Ok(Adapter::ALL.to_vec());
    }
    let mut out = Vec::new();
    for item in csv.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let name = if lowercase {
            item.to_lowercase()
        } else {
            item.to_owned()
        };
        let a = Adapter::from_name(&name).ok_or(AdapterListError::Unknown(name))?;
        if !out.contains(&a) {
            out.push(a);
        }
    }
    if out.is_empty() {
        return Err(AdapterListError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_go_args("p", args.iter().map(OsString::from))
            .into_iter()
            .skip(1)
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn go_single_dash_flags_become_long_flags() {
        assert_eq!(
            norm(&["-input", "a.fsm", "-output=o"]),
            ["--input", "a.fsm", "--output=o"]
        );
        assert_eq!(
            norm(&["-self-test", "-input", "-x"]),
            ["--self-test", "--input", "-x"]
        );
        assert_eq!(
            norm(&["--adapter", "redis", "stray", "-input"]),
            ["--adapter", "redis", "stray", "-input"]
        );
        assert_eq!(norm(&["-h"]), ["--help"]);
    }
}
