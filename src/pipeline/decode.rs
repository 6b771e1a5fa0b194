//! Snapshot file → dump tree (s3_tree_pipeline.md §10, DECISIONS.md D1–D3, D9).
//!
//! The file is streamed once: the container layer checks framing and computes the footer
//! CRC32C as bytes pass, the MVCC view yields the newest live version of each user key, the
//! route table sends each record to its adapter (or counts it as internal, unknown, or
//! belonging to an adapter this toolkit does not decode yet), and the adapters write into a
//! staging [`DumpTree`]. Only when the stream ended cleanly, the footer matched and every
//! adapter finalized is the tree published, with MANIFEST.json and CHECKSUMS written last.
//! Any failure drops the staging tree: no partial output is left where the dump belongs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::adapters::{
    families, Adapter, AdapterOptions, DecodeContext, Decoder, Event, Record, RouteEntry, Router, Warning,
};
use crate::container::SnapshotFile;
use crate::dump::manifest::{AdapterScope, Adapters, Manifest};
use crate::dump::tree::TreeOptions;
use crate::dump::{first_error, DumpTree};
use crate::mvcc::{MvccItem, MvccView};
use crate::Error;

use super::{PipelineError, Progress};

/// The warnings the pipeline itself raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineEvent {
    /// Records of an adapter this toolkit does not decode yet (DECISIONS.md A2).
    AdapterNotSupported,
}

impl Event for PipelineEvent {
    fn name(self) -> &'static str {
        match self {
            PipelineEvent::AdapterNotSupported => "adapter_not_supported",
        }
    }
}

/// How often (in entries) progress is reported.
const PROGRESS_EVERY: u64 = 1 << 14;

/// The decode options, named after the Go flags.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Where the tree is published (must not exist, or be an empty directory).
    pub output: PathBuf,
    /// Selected adapters.
    pub adapters: Vec<Adapter>,
    /// Each adapter's options (recorded in MANIFEST.json).
    pub options: AdapterOptions,
    /// MANIFEST `cluster_id`.
    pub cluster_id: String,
    /// Scratch space for adapters that need it (never inside the output tree, D9).
    pub scratch_root: Option<PathBuf>,
    /// `--input` as the user wrote it (MANIFEST `source.fsm_path`); default: the path decoded.
    pub source_arg: Option<String>,
    /// Sync the tree to disk before publishing it (default). Off only for a scratch tree
    /// that is deleted after use (the encoder's self-test).
    pub durable: bool,
    /// Threads: with more than one, the tree's files are created and written on a thread
    /// of their own, behind the decoding ([`TreeOptions::threads`]); 0: the machine's
    /// parallelism. The tree and the error reported are the same for any count.
    pub threads: usize,
}

impl DecodeOptions {
    /// All adapters, every flag off.
    pub fn new(output: impl Into<PathBuf>) -> DecodeOptions {
        DecodeOptions {
            output: output.into(),
            adapters: Adapter::ALL.to_vec(),
            options: AdapterOptions::default(),
            cluster_id: String::new(),
            scratch_root: None,
            source_arg: None,
            durable: true,
            threads: 0,
        }
    }

    /// The options a manifest's tree was decoded with (for the encoder's self-test).
    pub fn from_manifest(m: &Manifest, output: PathBuf) -> DecodeOptions {
        let mut o = DecodeOptions::new(output);
        o.options = AdapterOptions::from_manifest(m);
        o.cluster_id = m.cluster_id.clone();
        o
    }
}

/// What the stream held and where it went. `entries = older_versions + tombstones + raw +
/// routed + internal + unknown + unsupported` (every stream entry is counted exactly once).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Every entry of the stream.
    pub entries: u64,
    /// Older MVCC versions hidden by a newer one (D1).
    pub older_versions: u64,
    /// Keys whose newest version is a tombstone.
    pub tombstones: u64,
    /// Raw operational rows (`_meta_*`, encryption registry; D3).
    pub raw: u64,
    /// Live records handed to each adapter decoder.
    pub routed: BTreeMap<Adapter, u64>,
    /// elastickv-internal families, and records of adapters not selected.
    pub internal: u64,
    /// Keys matching no route.
    pub unknown: u64,
    /// Live records of adapters this toolkit does not decode yet (reported, not written).
    pub unsupported: BTreeMap<Adapter, u64>,
    /// Live records per family name (for the summary).
    pub families: BTreeMap<&'static str, u64>,
}

/// The outcome of a decode.
#[derive(Debug, Clone, Default)]
pub struct DecodeResult {
    /// The stream header's `lastCommitTS`.
    pub last_commit_ts: u64,
    /// What the MVCC view counted.
    pub counters: Counters,
    /// The adapters' warnings, in order.
    pub warnings: Vec<Warning>,
    /// Files and bytes published (CHECKSUMS included).
    pub files: u64,
    /// Bytes of the input read.
    pub bytes: u64,
    /// Bytes of the input file.
    pub input_bytes: u64,
    /// The snapshot index from the file name, if it has one.
    pub snapshot_index: Option<u64>,
}

/// Decode `input` into a new tree at `opts.output`.
pub fn decode_snapshot(
    input: &Path,
    opts: &DecodeOptions,
    progress: &mut dyn Progress,
) -> Result<DecodeResult, Error> {
    if opts.output.as_os_str().is_empty() {
        return Err(PipelineError::InvalidOptions("--output is required".into()).into());
    }
    if opts.adapters.is_empty() {
        return Err(PipelineError::InvalidOptions("no adapter selected".into()).into());
    }
    let mut file = SnapshotFile::open(input)?;
    let mut result = DecodeResult {
        last_commit_ts: file.info().last_commit_ts.unwrap_or(0),
        input_bytes: file.info().file_size.unwrap_or(0),
        snapshot_index: file.info().snapshot_index,
        ..Default::default()
    };
    let tree_opts = TreeOptions {
        scratch_dir: opts.scratch_root.clone(),
        durable: opts.durable,
        threads: match opts.threads {
            0 => crate::adapters::default_threads(),
            n => n,
        },
        ..TreeOptions::default()
    };
    let mut tree = DumpTree::create_with(&opts.output, &tree_opts)?;
    let mut decoders = build_decoders(opts);
    let mut streamed = stream(&mut file, &mut tree, &mut decoders, opts, &mut result, progress);
    if let Err(e) = streamed {
        // A write made before the failure, which failed, came first (the tree writes behind
        // the stream, see `DumpTree::settle`); a record a decoder took before the failure,
        // and checks later, came before both.
        streamed = Err(first_error(&mut tree, e));
        if let Some(e) = decoders.iter_mut().find_map(|(_, d)| d.settle().err()) {
            streamed = Err(e.into());
        }
    }
    progress.phase("finalizing: writing collections");
    // Finalize runs whatever happened, in Go's order; the first error wins.
    let mut outcome = streamed;
    for (_, d) in decoders.iter_mut() {
        let fin = d.finalize(&mut tree, &mut result.warnings).map_err(Error::from);
        if outcome.is_ok() {
            outcome = fin.map_err(|e| first_error(&mut tree, e));
        }
    }
    outcome?;
    // Every write is done, none failed.
    tree.settle()?;
    file.finish()?;
    for (adapter, n) in &result.counters.unsupported {
        result.warnings.push(Warning::new(
            PipelineEvent::AdapterNotSupported,
            vec![
                ("adapter", adapter.name().to_owned()),
                ("records", n.to_string()),
                (
                    "hint",
                    "this toolkit does not decode this adapter yet; its records are not in the dump"
                        .to_owned(),
                ),
            ],
        ));
    }
    progress.phase("publishing: MANIFEST.json, CHECKSUMS, sync");
    let manifest = manifest_for(opts, input, &result);
    let stats = tree.publish(Some(&manifest))?;
    result.files = stats.files;
    result.bytes = stats.bytes;
    Ok(result)
}

type Decoders = Vec<(Adapter, Box<dyn Decoder>)>;

/// Decoders of the selected adapters that this toolkit builds, in Go's finalize order.
fn build_decoders(opts: &DecodeOptions) -> Decoders {
    let cx = DecodeContext {
        scratch_dir: opts.scratch_root.clone().unwrap_or_else(std::env::temp_dir),
    };
    Adapter::FINALIZE_ORDER
        .into_iter()
        .filter(|a| opts.adapters.contains(a))
        .filter_map(|a| Some((a, a.decoder(&opts.options, &cx)?)))
        .collect()
}

fn stream(
    file: &mut SnapshotFile,
    tree: &mut DumpTree,
    decoders: &mut Decoders,
    opts: &DecodeOptions,
    result: &mut DecodeResult,
    progress: &mut dyn Progress,
) -> Result<(), Error> {
    let c = &mut result.counters;
    let mut view = MvccView::new(file);
    let mut router = Router::default();
    while let Some(item) = view.next()? {
        let e = match item {
            MvccItem::Live(e) => e,
            MvccItem::Raw(_) | MvccItem::Deleted(_) | MvccItem::Older(_) => continue,
        };
        let entry = router.route(e.user_key);
        let family = entry.map_or(families().len() - 1, |r| r.family);
        *c.families.entry(families()[family]).or_default() += 1;
        match entry {
            None => c.unknown += 1,
            Some(RouteEntry { adapter: None, .. }) => c.internal += 1,
            Some(RouteEntry { adapter: Some(a), .. }) if !opts.adapters.contains(a) => c.internal += 1,
            Some(RouteEntry {
                adapter: Some(a),
                route,
                ..
            }) => match decoders.iter_mut().find(|(d, _)| d == a) {
                None => *c.unsupported.entry(*a).or_default() += 1,
                Some((_, d)) => {
                    *c.routed.entry(*a).or_default() += 1;
                    let record = Record {
                        user_key: e.user_key,
                        value: e.body,
                        commit_ts: e.commit_ts,
                        expire_at: e.expire_at,
                        tag: route.tag,
                        prefix_len: route.prefix.len(),
                    };
                    d.handle(tree, &mut result.warnings, &record)?;
                }
            },
        }
        let seen = view.counters().entries;
        if seen % PROGRESS_EVERY == 0 {
            progress.update(view.source().offset(), view.counters().entries);
        }
    }
    let vc = view.counters();
    c.entries = vc.entries;
    c.older_versions = vc.older_versions;
    c.tombstones = vc.tombstoned_keys;
    c.raw = vc.raw_rows;
    progress.update(view.source().offset(), vc.entries);
    Ok(())
}

fn manifest_for(opts: &DecodeOptions, input: &Path, r: &DecodeResult) -> Manifest {
    let mut scopes = Adapters::default();
    for a in &opts.adapters {
        *a.scope_mut(&mut scopes) = Some(AdapterScope::default());
    }
    let mut m = Manifest::for_decode(scopes);
    // Go records its build version here; ours names the tool that wrote the tree.
    m.elastickv_version = format!("ekv-snapshot-{}", crate::VERSION);
    m.cluster_id = opts.cluster_id.clone();
    m.snapshot_index = r.snapshot_index.unwrap_or(0);
    m.last_commit_ts = r.last_commit_ts;
    m.source_fsm_path = Some(
        opts.source_arg
            .clone()
            .unwrap_or_else(|| input.display().to_string()),
    );
    opts.options.to_manifest(&mut m);
    m.adapters_not_decoded = r
        .counters
        .unsupported
        .keys()
        .map(|a| a.name().to_owned())
        .collect();
    m
}
