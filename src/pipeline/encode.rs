//! Dump tree → bare EKVPBBL1 stream (s3_tree_pipeline.md §11, containers.md §2.3).
//!
//! Adapters run in the fixed order redis → dynamodb → s3 → sqs and emit `(user key, user
//! value)` records into a sink that stamps each with the one effective commit ts, frames it
//! (`user_key ‖ u64be(!ts)`, `00 ‖ u64le(0) ‖ value`) and hands it to an external sorter with
//! a memory budget; a large value from an input file is sorted as a reference to its byte
//! range and read when written (`stored`: no body byte goes through the sort's scratch
//! files; a large file the encoder did not read at all is checked against CHECKSUMS then,
//! so an encode reports such a mismatch only after its walk). The sorted records are then
//! written with the stream writer, hashed (SHA-256) and written to the output, the write
//! on a second thread; adjacent equal encoded keys are a duplicate-key error.
//!
//! [`encode_to_file`] adds the CLI contract around it: validation before any byte is written,
//! an exclusive lock on the output (`<output>.lock`), the `.fsm` and its
//! `<output>.encode_info.json` sidecar staged as `dump::fs::StagedFile`s, the optional
//! self-test, then one publish renaming the `.fsm` and the sidecar last.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use crate::adapters::{
    self, Adapter, AdapterOptions, EncodeContext, FileRange, RecordSink, SinkError, REFERENCE_MIN,
};
use crate::container::pebble::{self, PebbleStreamWriter};
use crate::dump::checksums::{TreeReader, Verification};
use crate::dump::encode_info::{self, EncodeInfo, SelfTest};
use crate::dump::manifest::Manifest;
use crate::dump::{fs as dfs, DumpError};
use crate::spill::ExternalSorter;
use crate::Error;

use super::self_test::{self, SelfTestMode, SelfTestOutcome};
use super::{NoProgress, PipelineError, Progress};

/// Default memory budget of the record sort before it spills to disk: two 16 MiB buffers,
/// one filling while the other is sorted and spilled. Any tree worth bounding spills nearly
/// all its records whatever the budget (it sets the length of the runs, not what is written
/// to scratch), and one merge pass takes `spill::MAX_FAN_IN` runs: 4 GiB of records. The
/// buffers, reused run after run, keep the pages of their largest fill (the string files' few
/// long records in the arena, the collections' many short ones in the index), so 64 MiB cost
/// 135–141 MiB of peak RSS on a 1 GiB Redis tree and 32 MiB costs 70–83 MiB (70 MiB at
/// 2 GiB), at the same CPU time (issue #13: encode under 128 MiB).
pub const DEFAULT_SORT_BUDGET: usize = 32 << 20;

/// What to encode and how.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// The dump root (the folder holding MANIFEST.json).
    pub input_root: PathBuf,
    /// Selected adapters (any order; run in canonical order).
    pub adapters: Vec<Adapter>,
    /// The effective commit ts stamped on every record and in the header.
    pub last_commit_ts: u64,
    /// The manifest's last_commit_ts: the floor for `last_commit_ts` (0 disables the check).
    pub manifest_last_commit_ts: u64,
    /// The options the tree was decoded with (from MANIFEST.json).
    pub options: AdapterOptions,
    /// Memory budget of the sort; beyond it, sorted runs spill to `scratch_root`.
    pub sort_budget: usize,
    /// Where spill files and the self-test scratch go (default: the OS temp dir).
    pub scratch_root: Option<PathBuf>,
    /// Threads reading and parsing input files (`0`: one per CPU, up to 8; never more than
    /// `MAX_THREADS`). The output, and the first error, are the same for any count.
    pub threads: usize,
    /// Check every file read against the tree's CHECKSUMS (D15; `--no-verify` clears it).
    pub verify: bool,
    /// Adapters the manifest says were in the snapshot but not decoded (A23).
    pub not_decoded: Vec<String>,
    /// Encode a tree that lacks adapters' data (`--allow-partial`).
    pub allow_partial: bool,
}

/// The most worker threads an encode starts (a larger `--threads` is capped to it).
pub const MAX_THREADS: usize = 64;

/// What an encode produced.
#[derive(Debug, Clone, Default)]
pub struct EncodeResult {
    /// The commit timestamp every record was stamped with.
    pub last_commit_ts: u64,
    /// Records written.
    pub records: u64,
    /// Bytes of the snapshot written.
    pub bytes_written: u64,
    /// SHA-256 of the snapshot bytes.
    pub sha256: [u8; 32],
    /// Runs the external sort spilled to scratch.
    pub spilled_runs: usize,
    /// Records emitted per adapter, canonical order.
    pub per_adapter: Vec<(Adapter, u64)>,
    /// The adapters encoded, in canonical order.
    pub adapters_enabled: Vec<Adapter>,
    /// Whether the files read were checked against CHECKSUMS.
    pub verification: Option<Verification>,
}

/// Check the options in the order Go does, before any byte is written (§11.2).
pub fn validate(opts: &EncodeOptions) -> Result<(), Error> {
    let root = &opts.input_root;
    if root.as_os_str().is_empty() {
        return Err(PipelineError::InvalidOptions("--input is required".into()).into());
    }
    match fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(PipelineError::Input {
                path: root.clone(),
                what: "is not a directory".into(),
            }
            .into())
        }
        Err(e) => {
            return Err(PipelineError::Input {
                path: root.clone(),
                what: e.to_string(),
            }
            .into())
        }
    }
    if opts.adapters.is_empty() {
        return Err(PipelineError::InvalidOptions("no adapter selected".into()).into());
    }
    if opts.manifest_last_commit_ts > 0 && opts.last_commit_ts < opts.manifest_last_commit_ts {
        return Err(PipelineError::LastCommitTsRegression {
            requested: opts.last_commit_ts,
            manifest: opts.manifest_last_commit_ts,
        }
        .into());
    }
    for a in Adapter::ALL.into_iter().filter(|a| opts.adapters.contains(a)) {
        a.check_encode(&opts.options)?;
    }
    if !opts.not_decoded.is_empty() && !opts.allow_partial {
        return Err(PipelineError::PartialDump(opts.not_decoded.join(", ")).into());
    }
    Ok(())
}

impl EncodeOptions {
    /// The options for encoding the tree at `input_root` as its MANIFEST.json describes it
    /// (s3_tree_pipeline.md §11.2): the adapters are `adapters` when given, each of which
    /// must have a scope in the manifest, else every adapter the manifest lists (D14); the
    /// commit ts is `requested_ts` when given, else the manifest's; the adapter options are
    /// the ones the tree was decoded with. The other fields take their defaults.
    pub fn from_manifest(
        input_root: PathBuf,
        manifest: &Manifest,
        adapters: Option<Vec<Adapter>>,
        requested_ts: Option<u64>,
    ) -> Result<EncodeOptions, Error> {
        let listed = |a: &Adapter| a.scope(&manifest.adapters).is_some();
        let adapters = match adapters {
            Some(selected) => {
                if let Some(missing) = selected.iter().find(|a| !listed(a)) {
                    return Err(PipelineError::AdapterNotInManifest(missing.name()).into());
                }
                selected
            }
            None => Adapter::ALL.into_iter().filter(listed).collect(),
        };
        Ok(EncodeOptions {
            input_root,
            adapters,
            last_commit_ts: requested_ts.unwrap_or(manifest.last_commit_ts),
            manifest_last_commit_ts: manifest.last_commit_ts,
            options: AdapterOptions::from_manifest(manifest),
            sort_budget: DEFAULT_SORT_BUDGET,
            scratch_root: None,
            threads: 0,
            verify: true,
            not_decoded: manifest.adapters_not_decoded.clone(),
            allow_partial: false,
        })
    }
}

/// Encode the tree into `out` as a bare EKVPBBL1 stream.
pub fn encode_snapshot(opts: &EncodeOptions, out: &mut (dyn Write + Send)) -> Result<EncodeResult, Error> {
    encode_snapshot_with_progress(opts, out, &mut NoProgress)
}

/// [`encode_snapshot`], reporting records collected and bytes written as it goes.
pub fn encode_snapshot_with_progress(
    opts: &EncodeOptions,
    out: &mut (dyn Write + Send),
    progress: &mut dyn Progress,
) -> Result<EncodeResult, Error> {
    validate(opts)?;
    let scratch = scratch_dir(opts)?;
    let (reader, verification) = TreeReader::new(&opts.input_root, opts.verify, &scratch)?;
    let cx = EncodeContext {
        threads: match opts.threads {
            0 => adapters::default_threads(),
            n => n.min(MAX_THREADS),
        },
        scratch_dir: scratch.clone(),
        reader: reader.clone(),
    };
    let mut sink = SortingSink::new(opts.last_commit_ts, opts.sort_budget, &scratch, progress)?;
    let mut result = EncodeResult {
        last_commit_ts: opts.last_commit_ts,
        ..Default::default()
    };
    for adapter in Adapter::ALL.into_iter().filter(|a| opts.adapters.contains(a)) {
        let before = sink.records;
        run_adapter(adapter, opts, &cx, &mut sink)?;
        result.per_adapter.push((adapter, sink.records - before));
        result.adapters_enabled.push(adapter);
    }
    result.verification = Some(verification);
    result.records = sink.records;
    result.spilled_runs = sink.sorter.spilled_runs();
    // The producer hashes the output, unless it hashes input files as it reads them.
    let hash_on = if sink.checks_files {
        HashOn::Writer
    } else {
        HashOn::Producer
    };
    let (sha256, bytes) = write_hashed(out, hash_on, |w| write_sorted(sink, &reader, w))?;
    // Large files are read, and checked, as their records are written.
    let selected: Vec<&str> = result.adapters_enabled.iter().map(|a| a.name()).collect();
    reader.check_none_missing(&selected)?;
    result.bytes_written = bytes;
    result.sha256 = sha256;
    Ok(result)
}

/// Read and parse every file of the selected adapters' subtrees exactly as an encode would
/// (same walkers, size checks, refusals and CHECKSUMS checks when `opts.verify`), without
/// sorting or writing anything; returns the number of records the tree holds. `verify`
/// uses it for "every file parses".
pub fn parse_tree(opts: &EncodeOptions) -> Result<u64, Error> {
    struct Count(u64);
    impl RecordSink for Count {
        fn add(&mut self, user_key: &[u8], user_value: &[u8]) -> Result<(), SinkError> {
            check_lengths(user_key.len(), user_value.len())?;
            self.0 += 1;
            Ok(())
        }
        fn add_file_range(&mut self, user_key: &[u8], _: &FileRange<'_>, len: u64) -> Result<(), SinkError> {
            check_lengths(user_key.len(), usize::try_from(len).unwrap_or(usize::MAX))?;
            self.0 += 1;
            Ok(())
        }
    }
    validate(opts)?;
    let scratch = scratch_dir(opts)?;
    let (reader, _) = TreeReader::new(&opts.input_root, opts.verify, &scratch)?;
    let cx = EncodeContext {
        threads: match opts.threads {
            0 => adapters::default_threads(),
            n => n.min(MAX_THREADS),
        },
        scratch_dir: scratch,
        reader,
    };
    let mut sink = Count(0);
    for adapter in Adapter::ALL.into_iter().filter(|a| opts.adapters.contains(a)) {
        match adapter.encoder(&opts.options, &cx) {
            Some(mut encoder) => encoder.encode(&opts.input_root, &mut sink)?,
            None => refuse_unbuilt(adapter, &opts.input_root)?,
        }
    }
    Ok(sink.0)
}

fn scratch_dir(opts: &EncodeOptions) -> Result<PathBuf, Error> {
    Ok(match &opts.scratch_root {
        Some(p) => p.clone(),
        None => std::env::temp_dir(),
    })
}

fn run_adapter(
    adapter: Adapter,
    opts: &EncodeOptions,
    cx: &EncodeContext,
    sink: &mut SortingSink<'_>,
) -> Result<(), Error> {
    match adapter.encoder(&opts.options, cx) {
        Some(mut encoder) => encoder.encode(&opts.input_root, sink)?,
        None => refuse_unbuilt(adapter, &opts.input_root)?,
    }
    Ok(())
}

/// An adapter this toolkit cannot encode yet: fine when its subtree holds no file, an error
/// otherwise (never drop data silently).
fn refuse_unbuilt(adapter: Adapter, root: &Path) -> Result<(), Error> {
    let dir = root.join(adapter.name());
    if first_file(&dir)?.is_some() {
        return Err(PipelineError::Unsupported(format!(
            "{}: encoding the {} adapter is not supported yet; select the others with --adapter",
            dir.display(),
            adapter.name()
        ))
        .into());
    }
    Ok(())
}

fn first_file(dir: &Path) -> Result<Option<PathBuf>, Error> {
    let Some(entries) = dfs::list_dir(dir)? else {
        return Ok(None);
    };
    for e in entries {
        match e.kind {
            dfs::EntryKind::Dir => {
                if let Some(f) = first_file(&e.path)? {
                    return Ok(Some(f));
                }
            }
            _ => return Ok(Some(e.path)),
        }
    }
    Ok(None)
}

const MAX_KEY: usize = pebble::MAX_ENCODED_KEY_LEN as usize;
const MAX_VALUE: usize = pebble::MAX_ENCODED_VALUE_LEN as usize;

/// Refuse a record whose encoded key or value would exceed the container's limits.
fn check_lengths(user_key: usize, user_value: usize) -> Result<(), SinkError> {
    if user_key.saturating_add(8) > MAX_KEY {
        return Err(SinkError::KeyTooLarge {
            len: user_key.saturating_add(8),
            max: MAX_KEY,
        });
    }
    if user_value.saturating_add(9) > MAX_VALUE {
        return Err(SinkError::ValueTooLarge {
            len: user_value.saturating_add(9),
            max: MAX_VALUE,
        });
    }
    Ok(())
}

/// Stamps and sorts records, their values in the [`stored`] form.
struct SortingSink<'p> {
    commit_ts: u64,
    sorter: ExternalSorter,
    key: Vec<u8>,
    /// The stored form of the last reference.
    reference: Vec<u8>,
    /// A reference to a file to check was pushed ([`FileRange::check_file`]).
    checks_files: bool,
    records: u64,
    bytes: u64,
    progress: &'p mut dyn Progress,
}

impl<'p> SortingSink<'p> {
    fn new(
        commit_ts: u64,
        budget: usize,
        scratch: &Path,
        progress: &'p mut dyn Progress,
    ) -> Result<SortingSink<'p>, Error> {
        Ok(SortingSink {
            commit_ts,
            sorter: ExternalSorter::new(budget, scratch),
            key: Vec::new(),
            reference: Vec::new(),
            checks_files: false,
            records: 0,
            bytes: 0,
            progress,
        })
    }
}

impl SortingSink<'_> {
    /// Push a record whose value (of `value_len` bytes) is stored as `stored`.
    fn push(&mut self, user_key: &[u8], stored: &[&[u8]], value_len: usize) -> Result<(), SinkError> {
        check_lengths(user_key.len(), value_len)?;
        self.key.clear();
        pebble::encode_key(user_key, self.commit_ts, &mut self.key);
        self.sorter.push_parts(&self.key, stored)?;
        self.records += 1;
        self.bytes += (self.key.len() + value_len + 25) as u64;
        if self.records % (1 << 14) == 0 {
            self.progress.update(self.bytes, self.records);
        }
        Ok(())
    }
}

impl RecordSink for SortingSink<'_> {
    fn add(&mut self, user_key: &[u8], user_value: &[u8]) -> Result<(), SinkError> {
        self.push(
            user_key,
            &[&stored::INLINE_HEADER[..], user_value],
            user_value.len(),
        )
    }

    fn add_from_file(
        &mut self,
        user_key: &[u8],
        user_value: &[u8],
        source: &FileRange<'_>,
    ) -> Result<(), SinkError> {
        if user_value.len() < REFERENCE_MIN {
            return self.add(user_key, user_value);
        }
        self.add_file_range(user_key, source, user_value.len() as u64)
    }

    fn add_file_range(&mut self, user_key: &[u8], source: &FileRange<'_>, len: u64) -> Result<(), SinkError> {
        let mut reference = std::mem::take(&mut self.reference);
        reference.clear();
        stored::reference(source, len, &mut reference);
        let value_len = usize::try_from(len).unwrap_or(usize::MAX);
        let pushed = self.push(user_key, &[&reference], value_len);
        self.reference = reference;
        self.checks_files |= source.check_file;
        pushed
    }

    /// Every range is read when its record is written ([`stored::Resolver`]).
    fn checks_ranges(&self) -> bool {
        true
    }
}

/// Write the sorted records to `out`, reading the referenced ranges again and checking the
/// files not read before against `reader`'s CHECKSUMS.
fn write_sorted(sink: SortingSink<'_>, reader: &TreeReader, out: &mut dyn Write) -> Result<(), Error> {
    let spill_err = |e: io::Error| Error::from(PipelineError::io("sort spill file", e));
    let mut sorted = sink.sorter.finish().map_err(spill_err)?;
    // The writer rejects duplicate and out-of-order encoded keys.
    let mut writer = PebbleStreamWriter::new(out, sink.commit_ts)?;
    let mut resolver = stored::Resolver::new(reader.clone());
    let mut value = Vec::new();
    while let Some((key, stored)) = sorted.next().map_err(spill_err)? {
        resolver.frame(stored, &mut value)?;
        writer.write_entry(key, &value)?;
    }
    writer.finish()?;
    resolver.finish()
}

/// Bytes handed from the merge to the hashing writer at a time.
const PIPE_CHUNK: usize = 256 * 1024;

/// Which thread of [`write_hashed`] hashes the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HashOn {
    /// The one producing the bytes.
    Producer,
    /// The one writing them (the producer has hashing of its own to do).
    Writer,
}

/// Run `produce` with a writer whose bytes go into a SHA-256, chunk by chunk while the chunk
/// is in cache, on the thread `hash_on` says, and to `out` on a second thread: the work is
/// split in two about equal halves (producing and hashing, writing; or, when the producer
/// hashes the input files it reads, producing, hashing and writing the output). Returns the
/// digest and the byte count. An error of `out` is reported as itself, not as the broken
/// pipe the producer sees after it.
fn write_hashed(
    out: &mut (dyn Write + Send),
    hash_on: HashOn,
    produce: impl FnOnce(&mut dyn Write) -> Result<(), Error>,
) -> Result<([u8; 32], u64), Error> {
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<u8>>(4);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<(Option<Sha256>, u64)> {
            let mut hasher = (hash_on == HashOn::Writer).then(Sha256::new);
            let mut bytes = 0u64;
            for chunk in full_rx {
                if let Some(h) = hasher.as_mut() {
                    h.update(&chunk);
                }
                out.write_all(&chunk)?;
                bytes += chunk.len() as u64;
                // The producer may be gone already; the chunk is then simply dropped.
                let _ = empty_tx.send(chunk);
            }
            out.flush()?;
            Ok((hasher, bytes))
        });
        let mut pipe = Pipe {
            full: Some(full_tx),
            empty: empty_rx,
            buf: Vec::with_capacity(PIPE_CHUNK),
            hasher: (hash_on == HashOn::Producer).then(Sha256::new),
        };
        let produced = produce(&mut pipe).and_then(|()| {
            pipe.send()
                .map_err(|e| PipelineError::io("encoded stream", e).into())
        });
        pipe.full = None; // ends the writer's loop
        let written = match writer.join() {
            Ok(r) => r.map_err(|e| Error::from(PipelineError::io("encoded stream", e))),
            Err(payload) => std::panic::resume_unwind(payload),
        };
        // The writer's own error explains a broken pipe on the producer's side.
        let (hashed, bytes) = written?;
        produced?;
        let hasher = hashed.or(pipe.hasher.take()).unwrap_or_default();
        Ok((hasher.finalize().into(), bytes))
    })
}

/// The producer's end of [`write_hashed`]: fills a chunk, hashes it if the producer hashes
/// the output, sends it, reuses returned ones.
struct Pipe {
    full: Option<mpsc::SyncSender<Vec<u8>>>,
    empty: mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    hasher: Option<Sha256>,
}

impl Pipe {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(&self.buf);
        }
        let next = self
            .empty
            .try_recv()
            .map(|mut b| {
                b.clear();
                b
            })
            .unwrap_or_else(|_| Vec::with_capacity(PIPE_CHUNK));
        let chunk = std::mem::replace(&mut self.buf, next);
        let broken = || io::Error::new(io::ErrorKind::BrokenPipe, "the output writer stopped");
        self.full
            .as_ref()
            .ok_or_else(broken)?
            .send(chunk)
            .map_err(|_| broken())
    }
}

impl Write for Pipe {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(PIPE_CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == PIPE_CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The encode CLI contract around [`encode_snapshot`] (s3_tree_pipeline.md §12.2).
#[derive(Debug, Clone)]
pub struct EncodeFileOptions {
    /// What to encode.
    pub encode: EncodeOptions,
    /// The destination `.fsm`.
    pub output: PathBuf,
    /// `--last-commit-ts` was given.
    pub overridden: bool,
    /// The round-trip self-test before publishing (`--self-test[=bytes]`).
    pub self_test: SelfTestMode,
    /// The manifest (for self-test decode options and ENCODE_INFO).
    pub manifest: Manifest,
    /// `--input` and `--output` as the user wrote them (recorded verbatim in ENCODE_INFO).
    pub input_arg: String,
    /// The output as given on the command line (for messages and ENCODE_INFO).
    pub output_arg: String,
    /// Test hook: called on the produced temp file before the self-test reads it.
    #[cfg(test)]
    pub corrupt_for_test: Option<fn(&Path)>,
}

/// What [`encode_to_file`] did.
#[derive(Debug, Clone)]
pub struct EncodeOutcome {
    /// The encode's result.
    pub result: EncodeResult,
    /// The self-test's result.
    pub self_test: SelfTest,
    /// Files the self-test found equal by content but not by bytes (D13).
    pub formatting_only: u64,
    /// Where the ENCODE_INFO sidecar was written.
    pub sidecar: PathBuf,
    /// Crash debris of earlier runs removed (`<output>.tmp-*`, `<sidecar>.tmp-*`).
    pub debris_removed: usize,
}

/// `<output>.mismatch.txt`.
pub fn mismatch_path(output: &Path) -> PathBuf {
    let mut s = output.as_os_str().to_owned();
    s.push(".mismatch.txt");
    PathBuf::from(s)
}

/// Refuse an output path inside the input tree (it would overwrite or add a file of the
/// dump): compared after resolving symlinks of the existing parts.
pub fn check_output_outside_input(input: &Path, output: &Path) -> Result<(), Error> {
    let input = fs::canonicalize(input).map_err(|e| PipelineError::io(input, e))?;
    let parent = dfs::parent_of(output);
    let Ok(parent) = fs::canonicalize(parent) else {
        return Ok(()); // a missing parent fails later, naming itself
    };
    if parent.starts_with(&input) {
        return Err(PipelineError::InvalidOptions(format!(
            "--output {} is inside --input {}: refusing to write into the dump being encoded",
            output.display(),
            input.display()
        ))
        .into());
    }
    Ok(())
}

/// Encode to `<output>.tmp-<hex>`, self-test if asked, then publish the `.fsm` and its
/// sidecar as a pair. Every check runs before anything at the output path changes: a failed
/// run (bad tree, self-test mismatch, unsafe output or sidecar path, a held lock) leaves
/// the previous `.fsm` and sidecar exactly as they were (DECISIONS.md A17).
pub fn encode_to_file(opts: &EncodeFileOptions, progress: &mut dyn Progress) -> Result<EncodeOutcome, Error> {
    validate(&opts.encode)?;
    let output = &opts.output;
    check_output_outside_input(&opts.encode.input_root, output)?;
    let _lock = dfs::OutputLock::acquire(output)?;
    let sidecar = encode_info::sidecar_path(output);
    let mismatch = mismatch_path(output);
    let unsafe_out = |e: DumpError| match e {
        DumpError::Unsafe { path, what } => Error::from(PipelineError::UnsafeOutput { path, what }),
        other => Error::from(other),
    };
    // Under the lock, no live run owns a temporary of these targets: clear crash debris.
    let mut debris_removed = 0;
    for target in [output, &sidecar, &mismatch] {
        debris_removed += dfs::remove_stale_temps(target)?;
    }
    for target in [output, &sidecar] {
        dfs::check_replaceable(target).map_err(unsafe_out)?;
    }
    let tmp = dfs::StagedFile::create(output, 0o600).map_err(unsafe_out)?;
    // Unbuffered: the bytes arrive in `PIPE_CHUNK` pieces.
    let result =
        encode_snapshot_with_progress(&opts.encode, &mut dfs::WritebackWriter::new(tmp.file()), progress)?;
    tmp.sync()?;
    #[cfg(test)]
    if let Some(hook) = opts.corrupt_for_test {
        hook(tmp.temp_path());
    }
    let mut st = SelfTest::default();
    let mut formatting_only = 0;
    if opts.self_test != SelfTestMode::Off {
        st.ran = true;
        let outcome = self_test::run(
            tmp.temp_path(),
            &opts.encode.input_root,
            &result.adapters_enabled,
            &opts.manifest,
            result.last_commit_ts,
            opts.encode.scratch_root.as_deref(),
            opts.self_test,
        )?;
        match outcome {
            SelfTestOutcome::Matched { formatting_only: n } => {
                st.matched = true;
                formatting_only = n;
            }
            SelfTestOutcome::Mismatch(text) => {
                // The report is the only file this run leaves; the previous .fsm and
                // sidecar stay as they were.
                return Err(match dfs::atomic_write(&mismatch, text.as_bytes(), 0o600) {
                    Ok(()) => PipelineError::SelfTestMismatch { path: mismatch }.into(),
                    Err(e) => PipelineError::SelfTestMismatchUnreported {
                        why: e.to_string(),
                        report: text,
                    }
                    .into(),
                });
            }
        }
    }
    let info = encode_info(opts, &result, st);
    let mut side = dfs::StagedFile::create(&sidecar, 0o600).map_err(unsafe_out)?;
    side.write_all(&info.to_bytes())?;
    // The sidecar vouches for the .fsm: renamed last.
    dfs::publish(vec![tmp, side]).map_err(unsafe_out)?;
    match fs::remove_file(&mismatch) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(PipelineError::io(&mismatch, e).into()),
    }
    Ok(EncodeOutcome {
        result,
        self_test: st,
        formatting_only,
        sidecar,
        debris_removed,
    })
}

fn encode_info(opts: &EncodeFileOptions, r: &EncodeResult, st: SelfTest) -> EncodeInfo {
    EncodeInfo {
        format_version: 1,
        encoder_version: crate::VERSION.to_owned(),
        encoder_key_format_version: 1,
        wall_time_iso: crate::dump::manifest::now_rfc3339_nano(),
        input_root: opts.input_arg.clone(),
        output_fsm_path: opts.output_arg.clone(),
        output_fsm_sha256: hex::encode(r.sha256),
        last_commit_ts: r.last_commit_ts,
        last_commit_ts_overridden: opts.overridden,
        manifest_last_commit_ts: opts.manifest.last_commit_ts,
        manifest_cluster_id: opts.manifest.cluster_id.clone(),
        adapters_enabled: r.adapters_enabled.iter().map(|a| a.name().to_owned()).collect(),
        self_test: st,
    }
}

mod stored;
#[cfg(test)]
mod tests;
