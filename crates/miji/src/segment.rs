//! The scanner's input model: a `Segment` is one piece of decoded text with its `location`
//! inside the input and its `role`; a `Document` is the segments and coverage facts of one input.

use crate::report::{RecordError, Role};

/// One piece of decoded text from an input, located (contract §2 `location`, `role`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Segment {
    /// The decoded text. Offsets in findings are UTF-8 byte offsets into it.
    pub text: String,
    /// Components from the input down to this text, outermost first; empty for plain text.
    pub location: Vec<String>,
    /// Where this text sits in its document.
    pub role: Role,
}

impl Segment {
    /// A body segment of plain text with no location.
    pub fn text(text: impl Into<String>) -> Segment {
        Segment {
            text: text.into(),
            location: Vec::new(),
            role: Role::Body,
        }
    }

    /// A segment with location and role.
    pub fn new(text: impl Into<String>, location: Vec<String>, role: Role) -> Segment {
        Segment {
            text: text.into(),
            location,
            role,
        }
    }

    /// A segment from bytes that should be UTF-8; invalid sequences become U+FFFD.
    pub fn from_utf8_lossy(bytes: &[u8], location: Vec<String>, role: Role) -> Segment {
        Segment {
            text: match simdutf8::basic::from_utf8(bytes) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(bytes).into_owned(),
            },
            location,
            role,
        }
    }
}

/// Everything an extractor learned about one input: what the scanner turns into one `Report`.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// The input as named by the user, if any.
    pub path: Option<String>,
    /// The raw path bytes when the name is not UTF-8.
    pub path_bytes: Option<Vec<u8>>,
    /// The input's size in bytes.
    pub bytes: u64,
    /// Text segments in document order.
    pub segments: Vec<Segment>,
    /// Parts that could not be read.
    pub errors: Vec<RecordError>,
    /// The detected text encoding for plain-text inputs.
    pub encoding: Option<String>,
    /// Location prefixes of member documents (zip members, attachments), for `members`.
    pub members: Vec<Vec<String>>,
}
