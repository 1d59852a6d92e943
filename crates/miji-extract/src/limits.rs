//! The budgets one extraction may spend: [`Limits`] is plain configuration, the private
//! `Budget` is its running account for one record (bytes, entries, depth, time).

use std::time::{Duration, Instant};

/// Every bound an extraction respects. Hitting one is a `limit.*` error on the record, never a
/// crash; parts read before the limit keep their segments.
///
/// The defaults admit a 100 MB plain-text file and ordinary office documents and archives,
/// and stop decompression bombs long before they cost real memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest input, and largest single decompressed member, in bytes (`limit.size`).
    ///
    /// Default: 256 MiB.
    pub max_size: u64,
    /// Largest total of decompressed bytes across every member at every nesting level of one
    /// record (`limit.size`); once spent, nothing more of the record is read.
    ///
    /// Default: 512 MiB.
    pub max_total_decompressed: u64,
    /// Largest ratio of decompressed to compressed bytes for one member (`limit.ratio`), checked
    /// while the member streams, once its output passes [`Limits::ratio_floor`].
    ///
    /// Default: 200.
    pub max_ratio: u64,
    /// Output size below which a member's ratio is not checked (small, very repetitive files
    /// compress well and are harmless).
    ///
    /// Default: 1 MiB.
    pub ratio_floor: u64,
    /// Deepest container nesting (`limit.depth`): a zip in a zip is depth 2. An OOXML document
    /// counts as a container, and so does a `.gz` layer.
    ///
    /// Default: 8.
    pub max_depth: u32,
    /// Most entries read from one archive (`limit.entries`).
    ///
    /// Default: 10,000.
    pub max_entries: u64,
    /// Most entries read from all archives of one record together (`limit.entries`).
    ///
    /// Default: 50,000.
    pub max_total_entries: u64,
    /// Time budget for one record (`limit.time`), checked cooperatively between parts, members
    /// and chunks; `None` disables it.
    ///
    /// Default: 60 s.
    pub max_time: Option<Duration>,
    /// Deepest XML element nesting in one part (`limit.depth`).
    ///
    /// Default: 256.
    pub max_xml_depth: u32,
    /// Deepest nesting of MIME multiparts in one mail message (`limit.depth`). An attached
    /// message (`message/rfc822`) is a container and counts against [`Limits::max_depth`]
    /// instead; the parts of one message count against [`Limits::max_entries`].
    ///
    /// Default: 32.
    pub max_mime_depth: u32,
    /// Stack size of the worker thread parsers run on, in bytes.
    ///
    /// Default: 8 MiB.
    pub stack_size: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_size: 256 << 20,
            max_total_decompressed: 512 << 20,
            max_ratio: 200,
            ratio_floor: 1 << 20,
            max_depth: 8,
            max_entries: 10_000,
            max_total_entries: 50_000,
            max_time: Some(Duration::from_secs(60)),
            max_xml_depth: 256,
            max_mime_depth: 32,
            stack_size: 8 << 20,
        }
    }
}

/// A global limit that stops the whole record once hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Halt {
    /// The time budget ran out.
    Time,
    /// The cumulative decompression budget ran out.
    Bytes,
    /// The record-wide entry budget ran out.
    Entries,
}

/// The running account of one record's extraction.
#[derive(Debug)]
pub(crate) struct Budget {
    deadline: Option<Instant>,
    /// Decompressed bytes still allowed.
    pub(crate) bytes_left: u64,
    /// Entries still allowed.
    pub(crate) entries_left: u64,
    /// Set once a record-wide limit is hit; everything after stops.
    pub(crate) halted: Option<Halt>,
}

impl Budget {
    pub(crate) fn new(limits: &Limits) -> Budget {
        Budget {
            deadline: limits.max_time.and_then(|d| Instant::now().checked_add(d)),
            bytes_left: limits.max_total_decompressed,
            entries_left: limits.max_total_entries,
            halted: None,
        }
    }

    /// `true` when the time budget is spent.
    pub(crate) fn out_of_time(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
    }
}
