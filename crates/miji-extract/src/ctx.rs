//! The state of one record's extraction: the segments, errors and members found so far, and
//! the budget; every format module reads bytes through [`Ctx::read_bounded`] and reports here.

use crate::limits::{Budget, Halt, Limits};
use miji::{ErrorKind, RecordError, Role, Segment};
use std::io::Read;

/// Chunk size for bounded reads; time is checked every [`TIME_CHECK_EVERY`] chunks.
const CHUNK: usize = 64 * 1024;
const TIME_CHECK_EVERY: u32 = 16;

/// Why a bounded read stopped before the end of its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// A limit was hit (already recorded as an error).
    Limit,
    /// The stream itself failed (already recorded as `corrupt`).
    Corrupt,
}

/// One record being extracted.
#[derive(Debug)]
pub(crate) struct Ctx<'l> {
    pub(crate) limits: &'l Limits,
    pub(crate) budget: Budget,
    pub(crate) segments: Vec<Segment>,
    pub(crate) errors: Vec<RecordError>,
    pub(crate) members: Vec<Vec<String>>,
    pub(crate) encoding: Option<String>,
}

impl<'l> Ctx<'l> {
    pub(crate) fn new(limits: &'l Limits) -> Ctx<'l> {
        Ctx {
            limits,
            budget: Budget::new(limits),
            segments: Vec::new(),
            errors: Vec::new(),
            members: Vec::new(),
            encoding: None,
        }
    }

    /// Records a coverage error.
    pub(crate) fn error(
        &mut self,
        kind: ErrorKind,
        location: &[String],
        message: impl Into<String>,
    ) {
        self.errors
            .push(RecordError::new(kind, location.to_vec(), message));
    }

    /// Adds a segment unless its text is empty.
    pub(crate) fn segment(&mut self, text: String, location: Vec<String>, role: Role) {
        if !text.is_empty() {
            self.segments.push(Segment::new(text, location, role));
        }
    }

    /// Adds the `@name` segment of a file or member named `name` inside `outer`.
    pub(crate) fn filename(&mut self, outer: &[String], name: &str) {
        if name.is_empty() {
            return;
        }
        let mut location = outer.to_vec();
        location.push(format!("@{name}"));
        self.segment(name.to_string(), location, Role::Filename);
    }

    /// `false` once a record-wide limit stopped the record; checks the clock and records
    /// `limit.time` (once) when it has run out.
    pub(crate) fn go_on(&mut self, location: &[String]) -> bool {
        if self.budget.halted.is_some() {
            return false;
        }
        if self.budget.out_of_time() {
            self.halt(Halt::Time, location);
            return false;
        }
        true
    }

    /// Stops the record on a record-wide limit, recording it.
    pub(crate) fn halt(&mut self, halt: Halt, location: &[String]) {
        if self.budget.halted.is_some() {
            return;
        }
        self.budget.halted = Some(halt);
        let limits = self.limits;
        match halt {
            Halt::Time => self.error(
                ErrorKind::LimitTime,
                location,
                "time budget for the record ran out",
            ),
            Halt::Bytes => self.error(
                ErrorKind::LimitSize,
                location,
                format!(
                    "more than {} decompressed bytes in the record",
                    limits.max_total_decompressed
                ),
            ),
            Halt::Entries => self.error(
                ErrorKind::LimitEntries,
                location,
                format!(
                    "more than {} archive entries in the record",
                    limits.max_total_entries
                ),
            ),
        }
    }

    /// Takes one archive entry from the record-wide budget; `false` (and the record halts)
    /// when there is none left.
    pub(crate) fn take_entry(&mut self, location: &[String]) -> bool {
        if self.budget.entries_left == 0 {
            self.halt(Halt::Entries, location);
            return false;
        }
        self.budget.entries_left -= 1;
        true
    }

    /// Reads a (usually decompressing) stream to its end or to the first limit: at most
    /// [`Limits::max_size`] bytes, within the record's cumulative budget, and, when
    /// `compressed` is known, within [`Limits::max_ratio`] past [`Limits::ratio_floor`].
    /// Errors are recorded at `location`; what was read before them is returned.
    pub(crate) fn read_bounded(
        &mut self,
        reader: &mut dyn Read,
        compressed: Option<u64>,
        location: &[String],
    ) -> (Vec<u8>, Option<Cut>) {
        self.read_within(reader, compressed, location, "cannot decompress")
    }

    /// [`Ctx::read_bounded`] for a transfer decoding (base64, quoted-printable), which cannot
    /// inflate: no ratio check, and a stream failure is `corrupt` "cannot decode".
    pub(crate) fn read_decoded(
        &mut self,
        reader: &mut dyn Read,
        location: &[String],
    ) -> (Vec<u8>, Option<Cut>) {
        self.read_within(reader, None, location, "cannot decode")
    }

    fn read_within(
        &mut self,
        reader: &mut dyn Read,
        compressed: Option<u64>,
        location: &[String],
        failure: &str,
    ) -> (Vec<u8>, Option<Cut>) {
        let mut out: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; CHUNK];
        let mut chunks: u32 = 0;
        let limits = self.limits;
        loop {
            chunks = chunks.wrapping_add(1);
            if chunks.is_multiple_of(TIME_CHECK_EVERY) && !self.go_on(location) {
                return (out, Some(Cut::Limit));
            }
            let n = match reader.read(&mut chunk) {
                Ok(0) => return (out, None),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.error(ErrorKind::Corrupt, location, format!("{failure}: {e}"));
                    return (out, Some(Cut::Corrupt));
                }
            };
            let total = out.len() as u64 + n as u64;
            if total > limits.max_size {
                let keep = limits.max_size.saturating_sub(out.len() as u64) as usize;
                self.take_bytes(keep as u64);
                out.extend_from_slice(&chunk[..keep.min(n)]);
                self.error(
                    ErrorKind::LimitSize,
                    location,
                    format!("member larger than {} bytes", limits.max_size),
                );
                return (out, Some(Cut::Limit));
            }
            if n as u64 > self.budget.bytes_left {
                let keep = self.budget.bytes_left as usize;
                out.extend_from_slice(&chunk[..keep.min(n)]);
                self.budget.bytes_left = 0;
                self.halt(Halt::Bytes, location);
                return (out, Some(Cut::Limit));
            }
            if let Some(compressed) = compressed
                && total > limits.ratio_floor
                && total / compressed.max(1) > limits.max_ratio
            {
                self.error(
                    ErrorKind::LimitRatio,
                    location,
                    format!(
                        "decompression ratio above {}:1 ({total} bytes from {compressed})",
                        limits.max_ratio
                    ),
                );
                return (out, Some(Cut::Limit));
            }
            self.take_bytes(n as u64);
            out.extend_from_slice(&chunk[..n]);
        }
    }

    fn take_bytes(&mut self, n: u64) {
        self.budget.bytes_left = self.budget.bytes_left.saturating_sub(n);
    }
}

/// `outer` with one more component.
pub(crate) fn join(outer: &[String], component: impl Into<String>) -> Vec<String> {
    let mut location = Vec::with_capacity(outer.len() + 1);
    location.extend_from_slice(outer);
    location.push(component.into());
    location
}
