//! miji core (work in progress).
#![deny(missing_docs)]
pub mod level;
pub mod report;
pub mod segment;
pub use level::{Action, Confidence, Level};
pub use report::*;
pub use segment::{Document, Segment};
