//! Mail: RFC 5322 messages with MIME (`.eml`, sniffed mail) and mbox files.
//!
//! A message is a container. Its `Subject` is a segment of its own (`header:Subject`, role
//! subject), every other header field a `Name: value` line of one `header` segment (role
//! mail-header), every text part a `body[N]` segment, every other part an `attachment[N]` member
//! extracted through the dispatcher (so a docx in a zip in a mail is read, within the same
//! budgets). Multipart nesting is bounded by [`crate::Limits::max_mime_depth`], the parts of one
//! message by [`crate::Limits::max_entries`] (and the record's entry budget), decoded bytes by
//! the size budgets, and the clock is checked between parts.

use crate::archive::base_name;
use crate::ctx::{Ctx, join};
use crate::dispatch::{self, Format};
use crate::html;
use crate::mime::{self, Base64Reader, Field, QpReader, Structured};
use crate::text;
use miji::{ErrorKind, Role};
use std::io::Read;

/// How many leading bytes mail sniffing looks at.
const SNIFF: usize = 64 * 1024;
/// How many header lines mail sniffing looks at.
const SNIFF_LINES: usize = 256;

/// Header fields that, first in a file, make it look like mail on their own.
const STRONG: &[&str] = &[
    "received",
    "return-path",
    "mime-version",
    "delivered-to",
    "message-id",
    "dkim-signature",
    "x-received",
    "arc-seal",
    "authentication-results",
    "x-original-to",
    "envelope-to",
    "subject",
];
/// Common header fields of mail: two of them (or one strong one) make a file mail.
const KNOWN: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "date",
    "sender",
    "reply-to",
    "in-reply-to",
    "references",
    "content-type",
    "x-mailer",
    "thread-topic",
    "thread-index",
    "user-agent",
    "importance",
    "x-priority",
];

/// What sniffing found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MailKind {
    /// One message.
    Message,
    /// Messages, each after a `From ` line.
    Mbox,
}

/// Whether `bytes` (of a file without an extension) look like mail: an mbox `From ` line
/// followed by a header field, or a well-formed header block whose first field is a mail
/// header and that has a strong mail header or two common ones.
pub(crate) fn sniff(bytes: &[u8]) -> Option<MailKind> {
    let head = &bytes[..bytes.len().min(SNIFF)];
    if head.starts_with(b"From ") {
        let nl = memchr::memchr(b'\n', head)?;
        let next = &head[nl + 1..];
        let line_end = memchr::memchr(b'\n', next).unwrap_or(next.len());
        return mime::field_colon(&next[..line_end]).map(|_| MailKind::Mbox);
    }
    let mut fields = 0;
    let mut strong = false;
    let mut known = 0;
    let mut first_ok = false;
    let mut lines = head.split(|&b| b == b'\n');
    for line in lines.by_ref().take(SNIFF_LINES) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if matches!(line[0], b' ' | b'\t') {
            if fields == 0 {
                return None;
            }
            continue;
        }
        let colon = mime::field_colon(line)?;
        let name = String::from_utf8_lossy(&line[..colon])
            .trim()
            .to_ascii_lowercase();
        let is_strong = STRONG.contains(&name.as_str());
        let is_known = KNOWN.contains(&name.as_str());
        if fields == 0 {
            first_ok = is_strong || is_known;
        }
        strong |= is_strong;
        known += usize::from(is_known);
        fields += 1;
    }
    (first_ok && (strong || known >= 2)).then_some(MailKind::Message)
}

/// An mbox: every message (after a `From ` line at the start of a line) is a member
/// `message[N]`, at most [`crate::Limits::max_entries`] of them. Text before the first `From `
/// line, when not blank, is read as a message too.
pub(crate) fn mbox(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8], depth: u32) {
    let mut count: u64 = 0;
    let mut start = 0usize;
    let mut finder = memchr::memmem::find_iter(bytes, b"\nFrom ");
    loop {
        let next = finder.next().map(|p| p + 1);
        let end = next.unwrap_or(bytes.len());
        let message = &bytes[start..end];
        if !message.iter().all(u8::is_ascii_whitespace) {
            if !ctx.go_on(location) {
                return;
            }
            if count >= ctx.limits.max_entries {
                let max = ctx.limits.max_entries;
                ctx.error(
                    ErrorKind::LimitEntries,
                    location,
                    format!("more than {max} messages in the mbox"),
                );
                return;
            }
            if !ctx.take_entry(location) {
                return;
            }
            count += 1;
            let member = join(location, format!("message[{count}]"));
            ctx.members.push(member.clone());
            dispatch::extract_mail(ctx, &member, message, depth + 1);
        }
        match next {
            Some(next) => start = next,
            None => return,
        }
    }
}

/// The running numbering of one message's parts.
struct Message {
    location: Vec<String>,
    depth: u32,
    bodies: u32,
    attachments: u32,
    parts: u64,
    /// A part limit stopped the message.
    stopped: bool,
}

/// One RFC 5322 message at `location` (`[]` for a top-level `.eml`, `message[N]` in an mbox,
/// `attachment[N]:name` for an attached message), `depth` containers deep (already admitted).
pub(crate) fn message(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8], depth: u32) {
    let (fields, body) = mime::parse_headers(bytes);
    headers(ctx, location, &fields);
    let mut msg = Message {
        location: location.to_vec(),
        depth,
        bodies: 0,
        attachments: 0,
        parts: 0,
        stopped: false,
    };
    entity(ctx, &mut msg, &fields, &bytes[body..], 0, false);
}

/// The header segments of a message: `Subject` on its own, every other field a line of the
/// `header` segment. `msip_labels` is split into one property per line, as Outlook folds it,
/// so line-anchored label rules read each property.
fn headers(ctx: &mut Ctx<'_>, location: &[String], fields: &[Field<'_>]) {
    let mut lines = String::new();
    for field in fields {
        let value = field.text();
        if field.is("subject") {
            ctx.segment(value, join(location, "header:Subject"), Role::Subject);
            continue;
        }
        if !lines.is_empty() {
            lines.push('\n');
        }
        lines.push_str(&field.name());
        lines.push_str(": ");
        if field.is("msip_labels") {
            let properties: Vec<&str> = value
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            lines.push_str(&properties.join(";\n"));
            if !properties.is_empty() {
                lines.push(';');
            }
        } else {
            lines.push_str(&value);
        }
    }
    ctx.segment(lines, join(location, "header"), Role::MailHeader);
}

/// The `Content-*` description of one MIME entity.
struct Entity {
    /// `type/subtype`, lowercase.
    main: String,
    sub: String,
    content_type: Structured,
    /// Content-Transfer-Encoding, lowercase.
    encoding: String,
    /// `attachment`, `inline` or empty.
    disposition: String,
    filename: Option<String>,
    /// Whether a Content-Type was given (without one, the charset is guessed).
    typed: bool,
}

fn describe(fields: &[Field<'_>], in_digest: bool) -> Entity {
    let content_type =
        mime::find(fields, "content-type").map(|f| mime::parse_structured(&f.raw_text()));
    let typed = content_type.is_some();
    let content_type = content_type.unwrap_or_default();
    let (main, sub) = match content_type.value.split_once('/') {
        Some((main, sub)) if !main.trim().is_empty() => {
            (main.trim().to_string(), sub.trim().to_string())
        }
        _ if in_digest => ("message".to_string(), "rfc822".to_string()),
        _ => ("text".to_string(), "plain".to_string()),
    };
    let encoding = mime::find(fields, "content-transfer-encoding")
        .map(|f| f.raw_text().trim().to_ascii_lowercase())
        .unwrap_or_default();
    let disposition = mime::find(fields, "content-disposition")
        .map(|f| mime::parse_structured(&f.raw_text()))
        .unwrap_or_default();
    let filename = disposition
        .param("filename")
        .or_else(|| content_type.param("name"))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    Entity {
        main,
        sub,
        content_type,
        encoding,
        disposition: disposition.value,
        filename,
        typed,
    }
}

/// Reads one MIME entity (the message itself or one of its parts): multiparts are split and
/// their parts read in order; leaves are bodies or attachments.
fn entity(
    ctx: &mut Ctx<'_>,
    msg: &mut Message,
    fields: &[Field<'_>],
    body: &[u8],
    mime_depth: u32,
    in_digest: bool,
) {
    let part = describe(fields, in_digest);
    if part.main == "multipart" {
        multipart(ctx, msg, &part, body, mime_depth);
        return;
    }
    leaf(ctx, msg, &part, body);
}

fn multipart(ctx: &mut Ctx<'_>, msg: &mut Message, part: &Entity, body: &[u8], mime_depth: u32) {
    let location = msg.location.clone();
    if part.sub == "encrypted" {
        ctx.error(
            ErrorKind::Encrypted,
            &location,
            "encrypted multipart (PGP/MIME) message",
        );
        return;
    }
    if mime_depth >= ctx.limits.max_mime_depth {
        let max = ctx.limits.max_mime_depth;
        ctx.error(
            ErrorKind::LimitDepth,
            &location,
            format!("multiparts nested deeper than {max}"),
        );
        return;
    }
    let boundary = part
        .content_type
        .param("boundary")
        .filter(|b| !b.is_empty() && !b.contains(['\r', '\n']));
    let Some(boundary) = boundary else {
        ctx.error(
            ErrorKind::Corrupt,
            &location,
            "multipart without a boundary; read as text",
        );
        text_fallback(ctx, msg, body);
        return;
    };
    let (parts, closed) = split_multipart(body, boundary.as_bytes());
    if parts.is_empty() {
        ctx.error(
            ErrorKind::Corrupt,
            &location,
            "multipart boundary never found; read as text",
        );
        text_fallback(ctx, msg, body);
        return;
    }
    let digest = part.sub == "digest";
    for bytes in parts {
        if msg.stopped || !ctx.go_on(&location) {
            return;
        }
        if !take_part(ctx, msg) {
            return;
        }
        let (fields, start) = mime::parse_headers(bytes);
        entity(ctx, msg, &fields, &bytes[start..], mime_depth + 1, digest);
    }
    if !closed && !msg.stopped && ctx.budget.halted.is_none() {
        ctx.error(
            ErrorKind::Corrupt,
            &location,
            "truncated multipart: no closing boundary",
        );
    }
}

/// Counts one part against the message's and the record's entry budgets.
fn take_part(ctx: &mut Ctx<'_>, msg: &mut Message) -> bool {
    if msg.parts >= ctx.limits.max_entries {
        let max = ctx.limits.max_entries;
        ctx.error(
            ErrorKind::LimitEntries,
            &msg.location,
            format!("more than {max} parts in the message"),
        );
        msg.stopped = true;
        return false;
    }
    if !ctx.take_entry(&msg.location) {
        msg.stopped = true;
        return false;
    }
    msg.parts += 1;
    true
}

/// The parts of a multipart body between `--boundary` delimiter lines, and whether the close
/// delimiter `--boundary--` was seen. A delimiter is a line starting with `--boundary` followed
/// only by white space (or `--` for the close delimiter); the line break before it belongs to
/// it. One linear scan.
fn split_multipart<'b>(body: &'b [u8], boundary: &[u8]) -> (Vec<&'b [u8]>, bool) {
    let mut delimiter = Vec::with_capacity(boundary.len() + 2);
    delimiter.extend_from_slice(b"--");
    delimiter.extend_from_slice(boundary);
    let mut parts = Vec::new();
    let mut open: Option<usize> = None; // start of the current part
    for at in memchr::memmem::find_iter(body, &delimiter) {
        if at > 0 && body[at - 1] != b'\n' {
            continue;
        }
        let after = at + delimiter.len();
        let line_end = memchr::memchr(b'\n', &body[after..]).map_or(body.len(), |e| after + e);
        let rest = &body[after..line_end];
        let close = rest.starts_with(b"--");
        if !close && !rest.iter().all(|&c| matches!(c, b' ' | b'\t' | b'\r')) {
            continue; // a longer boundary that starts with this one
        }
        if let Some(start) = open {
            parts.push(strip_line_break(&body[start.min(at)..at]));
        }
        if close {
            return (parts, true);
        }
        open = Some((line_end + 1).min(body.len()));
    }
    if let Some(start) = open {
        parts.push(&body[start..]);
    }
    (parts, false)
}

fn strip_line_break(part: &[u8]) -> &[u8] {
    let part = part.strip_suffix(b"\n").unwrap_or(part);
    part.strip_suffix(b"\r").unwrap_or(part)
}

/// A multipart whose parts cannot be found is still read, as one text body.
fn text_fallback(ctx: &mut Ctx<'_>, msg: &mut Message, body: &[u8]) {
    msg.bodies += 1;
    let location = join(&msg.location, format!("body[{}]", msg.bodies));
    let Some(data) = read_body(ctx, &location, body) else {
        return;
    };
    let text = mime::decode_charset(None, &data).replace("\r\n", "\n");
    ctx.segment(text, location, Role::Body);
}

/// Reads raw body bytes through the budget.
fn read_body(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8]) -> Option<Vec<u8>> {
    let mut reader: &[u8] = bytes;
    bounded(ctx, &mut reader, location)
}

fn bounded(ctx: &mut Ctx<'_>, reader: &mut dyn Read, location: &[String]) -> Option<Vec<u8>> {
    let (data, cut) = ctx.read_decoded(reader, location);
    if data.is_empty() && cut.is_some() {
        return None;
    }
    Some(data)
}

/// Undoes the transfer encoding of a part, within the budget.
fn decode_transfer(
    ctx: &mut Ctx<'_>,
    location: &[String],
    encoding: &str,
    body: &[u8],
) -> Option<Vec<u8>> {
    match encoding {
        "" | "7bit" | "8bit" | "binary" | "7-bit" | "8-bit" => read_body(ctx, location, body),
        "quoted-printable" => bounded(ctx, &mut QpReader::new(body), location),
        "base64" => bounded(ctx, &mut Base64Reader::new(body), location),
        other => {
            ctx.error(
                ErrorKind::UnsupportedFormat,
                location,
                format!("transfer encoding {other:?} is not read"),
            );
            None
        }
    }
}

const SIGNATURES: &[&str] = &[
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-signature",
];

/// A leaf part: a text body (`body[N]`), a detached signature (skipped: no content), an
/// encrypted S/MIME part, or an attachment (`attachment[N]`, read through the dispatcher).
fn leaf(ctx: &mut Ctx<'_>, msg: &mut Message, part: &Entity, body: &[u8]) {
    let mime_type = format!("{}/{}", part.main, part.sub);
    if SIGNATURES.contains(&mime_type.as_str()) {
        return;
    }
    let is_text = part.main == "text";
    if is_text && part.disposition != "attachment" {
        msg.bodies += 1;
        let location = join(&msg.location, format!("body[{}]", msg.bodies));
        if let Some(data) = decode_transfer(ctx, &location, &part.encoding, body) {
            text_part(ctx, msg, part, &location, data);
        }
        return;
    }
    msg.attachments += 1;
    let component = match &part.filename {
        Some(name) => format!("attachment[{}]:{name}", msg.attachments),
        None => format!("attachment[{}]", msg.attachments),
    };
    if let Some(name) = &part.filename {
        ctx.segment(
            name.clone(),
            join(&msg.location, format!("@{component}")),
            Role::Filename,
        );
    }
    let location = join(&msg.location, component);
    ctx.members.push(location.clone());
    if matches!(
        mime_type.as_str(),
        "application/pkcs7-mime" | "application/x-pkcs7-mime"
    ) {
        let signed = part
            .content_type
            .param("smime-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("signed-data"));
        if signed {
            ctx.error(
                ErrorKind::UnsupportedFormat,
                &location,
                "opaque S/MIME signed data is not read",
            );
        } else {
            ctx.error(ErrorKind::Encrypted, &location, "S/MIME encrypted part");
        }
        return;
    }
    let Some(data) = decode_transfer(ctx, &location, &part.encoding, body) else {
        return;
    };
    let name = part.filename.as_deref().map(base_name).unwrap_or("");
    if part.main == "message" && matches!(part.sub.as_str(), "rfc822" | "global") {
        dispatch::extract_mail(ctx, &location, &data, msg.depth + 1);
        return;
    }
    let format = dispatch::sniff(name, &data);
    if part.main == "image"
        && part.sub != "svg+xml"
        && matches!(format, Format::Text | Format::Empty | Format::Image(_))
    {
        ctx.error(
            ErrorKind::NoTextLayer,
            &location,
            format!("{mime_type} image: no text layer"),
        );
        return;
    }
    if is_text && format == Format::Text {
        text_part(ctx, msg, part, &location, data);
        return;
    }
    dispatch::extract_member(ctx, &location, name, &data, msg.depth + 1);
}

/// The decoded text of a text part (HTML converted), as one body segment at `location`; bytes
/// that are some other format (a zip sent as text/plain) go through the dispatcher.
fn text_part(ctx: &mut Ctx<'_>, msg: &Message, part: &Entity, location: &[String], data: Vec<u8>) {
    if !matches!(
        dispatch::sniff("", &data),
        Format::Text | Format::Empty | Format::Mail | Format::Mbox
    ) {
        ctx.members.push(location.to_vec());
        dispatch::extract_member(ctx, location, "", &data, msg.depth + 1);
        return;
    }
    let html = part.sub == "html";
    let declared = part.content_type.param("charset").map(str::to_string);
    let label = match declared {
        Some(label) => Some(label),
        None if html => meta_charset(&data),
        None => None,
    };
    let text = match label {
        Some(label) => mime::decode_charset(Some(&label), &data),
        None if !part.typed || html => mime::decode_charset(None, &data),
        // text/plain without a charset is US-ASCII by the RFC; 8-bit bytes are guessed.
        None => match text::decode(&data) {
            Some(decoded) => decoded.text,
            None => mime::decode_charset(None, &data),
        },
    };
    // MIME text is canonically CRLF; the extracted text uses LF like every other segment.
    let text = if html {
        html::to_text(&text)
    } else if text.contains("\r\n") {
        text.replace("\r\n", "\n")
    } else {
        text
    };
    ctx.segment(text, location.to_vec(), Role::Body);
}

/// The charset an HTML body declares in a `<meta>` tag within its first 2 KiB.
fn meta_charset(data: &[u8]) -> Option<String> {
    let head = &data[..data.len().min(2048)];
    let lower = head.to_ascii_lowercase();
    let at = memchr::memmem::find(&lower, b"charset=")? + "charset=".len();
    let rest = &head[at..];
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let len = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
        .count();
    (len > 0).then(|| String::from_utf8_lossy(&rest[..len]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(
            sniff(b"Received: from x\r\n\tby y\r\nSubject: hi\r\n\r\nbody"),
            Some(MailKind::Message)
        );
        assert_eq!(
            sniff(b"From: a@b\nTo: c@d\n\nbody"),
            Some(MailKind::Message)
        );
        assert_eq!(sniff(b"Subject: x\n\nbody"), Some(MailKind::Message));
        assert_eq!(
            sniff(b"From a@b Thu Jan  1 00:00:00 2024\nSubject: x\n\nbody"),
            Some(MailKind::Mbox)
        );
        assert_eq!(sniff(b"From: a@b\n\nbody"), None);
        assert_eq!(sniff(b"Note: this is text\nmore text"), None);
        assert_eq!(sniff(b"From here on, prose.\nNothing else."), None);
        assert_eq!(sniff(b"TOP SECRET\nSubject: x"), None);
    }

    #[test]
    fn multipart_split() {
        let body = b"preamble\r\n--b\r\nA\r\n--bb\r\nstill A\r\n--b \r\nB\r\n--b--\r\nepilogue";
        let (parts, closed) = split_multipart(body, b"b");
        assert!(closed);
        assert_eq!(parts, [&b"A\r\n--bb\r\nstill A"[..], &b"B"[..]]);
        let (parts, closed) = split_multipart(b"--b\nA\n--b\nB", b"b");
        assert!(!closed);
        assert_eq!(parts, [&b"A"[..], &b"B"[..]]);
        assert!(split_multipart(b"no delimiter", b"b").0.is_empty());
    }
}
