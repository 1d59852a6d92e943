//! The report record of contract §2: one `Report` per input, with its `Finding`s, the
//! top `Marking`, member summaries and coverage errors. These types *are* the JSON Schema.

use crate::level::{Action, Confidence, Level};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The value of every report's `schema` field.
pub const REPORT_SCHEMA_ID: &str = "miji.report/1";

/// One record per input: a file, standard input, one prompt, one mail (contract §2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Always `miji.report/1`.
    pub schema: String,
    /// The input as named by the user (`-` for standard input); absent for in-memory scans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The raw path, base64, when it is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
    /// The input's size in bytes, as read.
    pub bytes: u64,
    /// The highest level of any marking found (`public` when none).
    pub level: Level,
    /// The policy's verdict (contract §4).
    pub action: Action,
    /// `false` when any part could not be read; `errors` then says why.
    pub complete: bool,
    /// The highest-level marking (ties: first in document order), or `null`.
    pub marking: Option<Marking>,
    /// Every finding that survived allow-lists and thresholds, in document order.
    pub findings: Vec<Finding>,
    /// For containers: one summary per member document.
    pub members: Vec<MemberSummary>,
    /// Why parts could not be read.
    pub errors: Vec<RecordError>,
    /// `null`, or the number of findings found when more than `limits.max_findings` were.
    pub truncated: Option<Truncated>,
    /// Digest of the compiled policy that produced this record (`sha256:` + 16 hex digits).
    pub policy: String,
    /// Exact number of findings per rule ID, including any cut by truncation.
    #[serde(default)]
    pub counts: BTreeMap<String, u64>,
    /// The text encoding detected for plain-text inputs (`UTF-8`, `GBK`, `UTF-16LE`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Triage facts about a file on disk, filled by the CLI walker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileFacts>,
}

/// Triage fields for a file on disk (set by fronts that read files).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileFacts {
    /// SHA-256 of the file's bytes, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Modification time, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
    /// Owner user ID (Unix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<u32>,
    /// Permission bits, octal string (`0644`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// What kind of rule produced a finding.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A classification marking: sets the record's `level`.
    Marking,
    /// A dictionary term.
    Keyword,
    /// A pattern detector (PII, secrets).
    Detector,
}

/// Where in its document a piece of text sits (contract §2).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Role {
    /// Running text (the default).
    #[default]
    Body,
    /// A page or section header.
    Header,
    /// A page or section footer.
    Footer,
    /// A review comment or annotation.
    Comment,
    /// A footnote or endnote.
    Footnote,
    /// Speaker notes.
    Notes,
    /// A spreadsheet cell.
    Cell,
    /// A mail subject.
    Subject,
    /// Another mail header.
    MailHeader,
    /// Document properties and label metadata.
    Metadata,
    /// A file or member name.
    Filename,
    /// A text box or shape.
    Textbox,
    /// A document title (`<title>`).
    Title,
}

impl Role {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Body => "body",
            Role::Header => "header",
            Role::Footer => "footer",
            Role::Comment => "comment",
            Role::Footnote => "footnote",
            Role::Notes => "notes",
            Role::Cell => "cell",
            Role::Subject => "subject",
            Role::MailHeader => "mail-header",
            Role::Metadata => "metadata",
            Role::Filename => "filename",
            Role::Textbox => "textbox",
            Role::Title => "title",
        }
    }

    /// Header, footer, subject and metadata segments are "marking positions" by themselves.
    pub fn is_marking_position(self) -> bool {
        matches!(
            self,
            Role::Header
                | Role::Footer
                | Role::Subject
                | Role::MailHeader
                | Role::Metadata
                | Role::Filename
                | Role::Title
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One match of one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// `marking`, `keyword` or `detector`.
    pub kind: FindingKind,
    /// The rule's ID as written in the policy (`cn.state-secret`, `dict.projects`).
    pub rule: String,
    /// For markings: the level it carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// For markings: the scheme it was read as (`cn`, `us`, `tlp`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// For keywords and detectors: the rule's category (`pii`, `secret`, `project-codename`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// How sure the finding is.
    pub confidence: Confidence,
    /// Components from the input down to the text segment; absent for plain text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<String>,
    /// The role of the segment the finding is in.
    pub role: Role,
    /// UTF-8 byte offset of the start, in the decoded, un-normalised segment text.
    pub start: u64,
    /// UTF-8 byte offset one past the end.
    pub end: u64,
    /// 1-based line of `start`.
    pub line: u64,
    /// 1-based column of `start`, in code points.
    pub column: u64,
    /// Markings as found; keywords and detectors masked per policy; absent when `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    /// Stable hash of (rule, normalised matched text, location): allow-lists and baselines use it.
    pub fingerprint: String,
}

/// The record's top marking, with what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Marking {
    /// The scheme (`cn`, `us`, `tlp`, `corp`…).
    pub scheme: String,
    /// The level word as the scheme names it, normalised (`机密`, `SECRET`, `TLP:AMBER`).
    pub label: String,
    /// Its rung on the ladder.
    pub level: Level,
    /// The marking as found in the document.
    pub text: String,
    /// Protection period (`10年`, `长期`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Declassification date (`2026年12月31日`, `20491231`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declassify_on: Option<String>,
    /// Declassification condition (`启用前`, `会议开始前`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Dissemination controls and caveats (`NOFORN`, `REL TO USA, FVEY`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caveats: Vec<String>,
    /// Where it was found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<String>,
    /// The role of its segment.
    pub role: Role,
    /// How sure.
    pub confidence: Confidence,
    /// The rule that read it.
    pub rule: String,
    /// Problems with the marking itself (a period beyond the legal maximum…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One member document of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberSummary {
    /// The member's location components.
    pub location: Vec<String>,
    /// Its level.
    pub level: Level,
    /// Its action.
    pub action: Action,
    /// Its top marking.
    pub marking: Option<Marking>,
}

/// Why part of an input could not be read (contract §2 `errors`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordError {
    /// The error kind.
    pub kind: ErrorKind,
    /// Where it happened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<String>,
    /// What happened, without scanned content.
    pub message: String,
}

impl RecordError {
    /// A new coverage error.
    pub fn new(kind: ErrorKind, location: Vec<String>, message: impl Into<String>) -> RecordError {
        RecordError {
            kind,
            location,
            message: message.into(),
        }
    }
}

/// The closed list of coverage-error kinds (contract §2).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Password-protected or encrypted content.
    #[serde(rename = "encrypted")]
    Encrypted,
    /// A format miji does not read.
    #[serde(rename = "unsupported-format")]
    UnsupportedFormat,
    /// Malformed content.
    #[serde(rename = "corrupt")]
    Corrupt,
    /// An image-only page or picture: no text to scan.
    #[serde(rename = "no-text-layer")]
    NoTextLayer,
    /// An input or member larger than allowed.
    #[serde(rename = "limit.size")]
    LimitSize,
    /// A decompression ratio beyond the limit.
    #[serde(rename = "limit.ratio")]
    LimitRatio,
    /// Nesting deeper than allowed.
    #[serde(rename = "limit.depth")]
    LimitDepth,
    /// More entries than allowed.
    #[serde(rename = "limit.entries")]
    LimitEntries,
    /// The per-record time budget ran out.
    #[serde(rename = "limit.time")]
    LimitTime,
    /// More findings than `limits.max_findings`.
    #[serde(rename = "limit.findings")]
    LimitFindings,
    /// The input could not be read.
    #[serde(rename = "io")]
    Io,
    /// A bug in miji, caught at a boundary.
    #[serde(rename = "internal")]
    Internal,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::Encrypted,
        ErrorKind::UnsupportedFormat,
        ErrorKind::Corrupt,
        ErrorKind::NoTextLayer,
        ErrorKind::LimitSize,
        ErrorKind::LimitRatio,
        ErrorKind::LimitDepth,
        ErrorKind::LimitEntries,
        ErrorKind::LimitTime,
        ErrorKind::LimitFindings,
        ErrorKind::Io,
        ErrorKind::Internal,
    ];

    /// The name used in reports and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Encrypted => "encrypted",
            ErrorKind::UnsupportedFormat => "unsupported-format",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::NoTextLayer => "no-text-layer",
            ErrorKind::LimitSize => "limit.size",
            ErrorKind::LimitRatio => "limit.ratio",
            ErrorKind::LimitDepth => "limit.depth",
            ErrorKind::LimitEntries => "limit.entries",
            ErrorKind::LimitTime => "limit.time",
            ErrorKind::LimitFindings => "limit.findings",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }

    /// Parses a report/policy name.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Set when more findings were found than the policy keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Truncated {
    /// How many findings were found in all.
    pub findings: u64,
}

impl Report {
    /// The contract's JSON form, one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report always serialises")
    }

    /// The contract's JSON form, indented.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }

    /// Renders a location the one-line way (components joined with `!/`).
    pub fn render_location(location: &[String]) -> String {
        location.join("!/")
    }
}

/// The JSON Schema of [`Report`], as committed in `schema/report.v1.json`.
pub fn report_json_schema() -> String {
    let schema = schemars::schema_for!(Report);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serialises");
    text.push('\n');
    text
}
