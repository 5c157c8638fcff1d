//! Streaming import of an incidents CSV: a reader thread cuts the file into batches, the rayon
//! pool checks, reprojects and places each batch, this thread settles duplicate ids in file
//! order, and a writer thread appends the good rows to the store inside one transaction. Memory
//! stays bounded by a few batches and the compact id set, whatever the file's size.

use super::rows::{place_batch, settle, IdSet, Outcome, Place, Refusal, ReprojectError, Rules};
use super::{ImportError, Problem};
use crate::io::{IoError, Record};
use crate::model::{Category, Incident};
use crate::store::{IncidentSink, StoreError};
use rayon::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

const BATCH_ROWS: usize = 16_384;
const CHUNK_ROWS: usize = 2_048;

/// Passes the file through and remembers where each CR and LF byte is, and whether it ends a
/// physical line (LF, CRLF or a lone CR, as Excel on Windows or old Mac exports write them:
/// the LF of a CRLF does not), so that a record's line is exact.
struct LineEnds<R> {
    inner: R,
    pos: u64,
    prev_cr: bool,
    ends: VecDeque<(u64, bool)>,
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (k, &b) in buf[..n].iter().enumerate() {
            if b == b'\r' || b == b'\n' {
                self.ends.push_back((self.pos + k as u64, b == b'\r' || !self.prev_cr));
            }
            self.prev_cr = b == b'\r';
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R> LineEnds<R> {
    /// The physical line of a record that the CSV reader says starts at `start`: the reader
    /// counts the line ends (and blank lines) it skipped before the record as part of it, so
    /// a run of CR/LF bytes right at `start` is stepped over first.
    fn line_at(&mut self, start: u64, lines_before: &mut u64) -> u64 {
        while let Some(&(at, counts)) = self.ends.front() {
            if at >= start {
                break;
            }
            self.ends.pop_front();
            *lines_before += counts as u64;
        }
        let mut cursor = start;
        while let Some(&(at, counts)) = self.ends.front() {
            if at != cursor {
                break;
            }
            self.ends.pop_front();
            *lines_before += counts as u64;
            cursor += 1;
        }
        *lines_before + 1
    }
}

/// One data row as read: its physical line, its 0-based record number and its raw fields.
pub(crate) struct Raw {
    line: u32,
    seq: usize,
    rec: csv::ByteRecord,
}

struct RawBatch {
    rows: Vec<Raw>,
    bytes_read: u64,
}

pub(crate) struct CsvStream {
    rdr: csv::Reader<LineEnds<BufReader<std::fs::File>>>,
    pub headers: Vec<String>,
    pub file_name: String,
    pub len: u64,
    path: PathBuf,
    lines_before: u64,
    seq: usize,
}

impl CsvStream {
    /// Opens the file and reads its header line (delimiter sniffed from it, BOM dropped).
    pub fn open(path: &Path) -> Result<CsvStream, IoError> {
        let unreadable = |e: std::io::Error| IoError::Unreadable { path: path.into(), reason: e.to_string() };
        let mut head = Vec::new();
        std::fs::File::open(path).map_err(unreadable)?.take(64 * 1024).read_to_end(&mut head).map_err(unreadable)?;
        let len = std::fs::metadata(path).map_err(unreadable)?.len();
        if head.iter().all(|b| b.is_ascii_whitespace()) && len <= head.len() as u64 {
            return Err(IoError::Empty { path: path.into() });
        }
        let first_line = decode(head.split(|&b| b == b'\n' || b == b'\r').next().unwrap_or(&[]));
        let delimiter = crate::io::sniff_delimiter(&first_line);
        let file = std::fs::File::open(path).map_err(unreadable)?;
        let counting = LineEnds { inner: BufReader::with_capacity(256 * 1024, file), pos: 0, prev_cr: false, ends: VecDeque::new() };
        let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(counting);
        let raw = rdr.byte_headers().map_err(|e| IoError::Format { path: path.into(), reason: format!("bad header line: {e}") })?;
        let headers: Vec<String> = raw.iter().enumerate().map(|(i, h)| header_name(i, h)).collect();
        if headers.iter().all(|h| h.is_empty()) {
            return Err(IoError::Format { path: path.into(), reason: "the header line is empty".into() });
        }
        Ok(CsvStream { rdr, headers, file_name: crate::io::file_name(path), len, path: path.into(), lines_before: 0, seq: 0 })
    }

    /// The next batch of non-blank rows, or `None` at the end.
    fn next_batch(&mut self) -> Result<Option<RawBatch>, IoError> {
        let mut rows = Vec::with_capacity(BATCH_ROWS);
        let mut rec = csv::ByteRecord::new();
        while rows.len() < BATCH_ROWS {
            let more = self.rdr.read_byte_record(&mut rec).map_err(|e| IoError::Format { path: self.path.clone(), reason: e.to_string() })?;
            if !more {
                break;
            }
            let start = rec.position().map(|p| p.byte()).unwrap_or(0);
            let line = self.rdr.get_mut().line_at(start, &mut self.lines_before);
            if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            rows.push(Raw { line: line.min(u32::MAX as u64 - 1) as u32, seq: self.seq, rec: rec.clone() });
            self.seq += 1;
        }
        let bytes_read = self.rdr.position().byte();
        Ok((!rows.is_empty()).then_some(RawBatch { rows, bytes_read }))
    }
}

fn header_name(i: usize, raw: &[u8]) -> String {
    let h = decode(raw);
    let h = if i == 0 { h.trim_start_matches('\u{feff}').to_string() } else { h };
    h.trim().to_string()
}

/// UTF-8, or else Windows-1252/Latin-1 as older Excel saves "CSV (semikolonavgränsad)".
fn decode(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| c as char).collect(),
    }
}

fn decode_record(rec: &csv::ByteRecord) -> csv::StringRecord {
    match csv::StringRecord::from_byte_record(rec.clone()) {
        Ok(r) => r,
        Err(_) => rec.iter().map(decode).collect(),
    }
}

/// What the stream made of the file.
pub(crate) struct Streamed {
    pub accepted: u64,
    pub bad: Vec<(Record, Problem)>,
    /// The open write; `None` when nothing is to be committed (a refusal).
    pub sink_error: Option<StoreError>,
}

/// Runs the pipeline over the whole file. Rows go to `sink` only while the import can still
/// succeed: in all-or-nothing mode the first problem stops the writes (the caller then drops
/// the sink, which rolls back), while checking goes on so that every problem is reported.
pub(crate) fn run<'s>(
    mut stream: CsvStream,
    rules: &Rules,
    place: &Place,
    ids: &mut IdSet,
    sink: Box<dyn IncidentSink + 's>,
    skip_invalid: bool,
    progress: &dyn Fn(u64, u64),
) -> Result<(Streamed, Box<dyn IncidentSink + 's>), ImportError> {
    let headers = stream.headers.clone();
    let (name, len) = (stream.file_name.clone(), stream.len);
    std::thread::scope(|s| {
        let (btx, brx) = sync_channel::<RawBatch>(2);
        let reader = s.spawn(move || -> Result<(), IoError> {
            while let Some(b) = stream.next_batch()? {
                if btx.send(b).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let (wtx, wrx) = sync_channel::<Vec<Incident>>(2);
        let writer = s.spawn(move || {
            let mut sink = sink;
            let mut failed = None;
            for rows in wrx {
                if failed.is_none() {
                    failed = sink.append(&rows).err();
                }
            }
            (sink, failed)
        });
        let mut wtx = Some(wtx);
        let mut out = Streamed { accepted: 0, bad: Vec::new(), sink_error: None };
        let location = |line: u32| format!("{name}:{line}");
        for batch in brx {
            let outcomes = check_batch(&batch.rows, &headers, rules, place).map_err(|e| ImportError::Columns { file: name.clone(), reason: e.to_string() })?;
            let mut good = Vec::with_capacity(batch.rows.len());
            for (raw, o) in batch.rows.iter().zip(outcomes) {
                let record = || to_record(raw, &headers, &location);
                good.extend(settle(o, raw.line, ids, &location, &record, &mut out.bad));
            }
            out.accepted += good.len() as u64;
            if !out.bad.is_empty() && !skip_invalid {
                wtx = None;
            }
            if let Some(tx) = &wtx {
                let _ = tx.send(good);
            }
            progress(batch.bytes_read, len);
        }
        drop(wtx);
        reader.join().expect("CSV reader thread")?;
        let (sink, failed) = writer.join().expect("store writer thread");
        out.sink_error = failed;
        Ok((out, sink))
    })
}

/// Checks, reprojects and places one batch on the rayon pool; the order of rows is kept.
fn check_batch(rows: &[Raw], headers: &[String], rules: &Rules, place: &Place) -> Result<Vec<Outcome>, ReprojectError> {
    let parts: Vec<Vec<Outcome>> = rows.par_chunks(CHUNK_ROWS).map(|c| check_chunk(c, headers.len(), rules, place)).collect::<Result<_, _>>()?;
    Ok(parts.into_iter().flatten().collect())
}

fn check_chunk(rows: &[Raw], ncol: usize, rules: &Rules, place: &Place) -> Result<Vec<Outcome>, ReprojectError> {
    let decoded: Vec<csv::StringRecord> = rows.iter().map(|r| decode_record(&r.rec)).collect();
    let mut cats: HashMap<&str, Result<Category, Refusal>> = HashMap::new();
    let checked = rows
        .iter()
        .zip(&decoded)
        .map(|(raw, rec)| {
            if rec.len() != ncol {
                return Err(Refusal(format!("expected {ncol} columns, found {} (truncated or unquoted delimiter?)", rec.len())));
            }
            let get = |i: usize| rec.get(i).unwrap_or("").trim();
            rules.check(&get, None, raw.seq, &mut cats)
        })
        .collect();
    place_batch(checked, rules.plan.src_epsg, place)
}

fn to_record(raw: &Raw, headers: &[String], location: &dyn Fn(u32) -> String) -> Record {
    let rec = decode_record(&raw.rec);
    let fields = headers.iter().enumerate().map(|(i, h)| (h.clone(), rec.get(i).unwrap_or("").trim().to_string())).collect();
    Record { location: location(raw.line), fields, geometry: None, problem: None }
}
