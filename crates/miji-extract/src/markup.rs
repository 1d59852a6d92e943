//! Text-based markup: HTML pages (the `<title>` its own segment with role title, the rest
//! through the mail HTML converter: entities decoded, `<script>`/`<style>` skipped, blocks →
//! newlines), XML (character data, one element's text a line, entities and CDATA resolved, no
//! DTD expansion) and JSON (every string, keys and values, unescaped, one a line).

use crate::ctx::Ctx;
use crate::{html, text, xml};
use miji::{ErrorKind, Role};
use quick_xml::events::BytesStart;

/// Decodes the bytes as text (the plain-text detection), recording the encoding at the top.
fn decoded(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8], what: &str) -> Option<String> {
    match text::decode(bytes) {
        Some(d) => {
            if location.is_empty() {
                ctx.encoding = Some(d.encoding.to_string());
            }
            Some(d.text)
        }
        None => {
            ctx.error(
                ErrorKind::Corrupt,
                location,
                format!("{what} that is binary data"),
            );
            None
        }
    }
}

/// Finds `needle` (ASCII, lower case) in `hay` ignoring ASCII case, from `from`.
fn find_ci(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    let first = n[0];
    let mut i = from;
    while i + n.len() <= h.len() {
        let at = memchr::memchr2(first, first.to_ascii_uppercase(), &h[i..])? + i;
        if at + n.len() <= h.len() && h[at..at + n.len()].eq_ignore_ascii_case(n) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// An HTML page: title segment (role title) and body text (role body), both at `location`.
pub(crate) fn html_page(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8]) {
    let Some(page) = decoded(ctx, location, bytes, "HTML") else {
        return;
    };
    let mut body = page.as_str();
    let mut rest = String::new();
    if let Some(open) = find_ci(&page, "<title", 0)
        && let Some(gt) = page[open..].find('>').map(|g| open + g + 1)
        && let Some(close) = find_ci(&page, "</title", gt)
    {
        let title = html::to_text(&page[gt..close]);
        ctx.segment(title.trim().to_string(), location.to_vec(), Role::Title);
        let end = page[close..]
            .find('>')
            .map_or(page.len(), |g| close + g + 1);
        rest.push_str(&page[..open]);
        rest.push_str(&page[end..]);
        body = &rest;
    }
    let text = html::to_text(body);
    ctx.segment(text.trim().to_string(), location.to_vec(), Role::Body);
}

/// An XML document: the character data, a newline after every element that held text.
pub(crate) fn xml_document(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8]) {
    let Some(doc) = decoded(ctx, location, bytes, "XML") else {
        return;
    };
    let mut sink = XmlText::default();
    xml::walk(ctx, location, doc.as_bytes(), &mut sink);
    ctx.segment(sink.text.trim().to_string(), location.to_vec(), Role::Body);
}

#[derive(Debug, Default)]
struct XmlText {
    text: String,
}

impl xml::Sink for XmlText {
    fn start(&mut self, _name: &[u8], _element: &BytesStart<'_>, _stack: &[Vec<u8>]) {}

    fn end(&mut self, _name: &[u8], _stack: &[Vec<u8>]) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    fn text(&mut self, text: &str, _stack: &[Vec<u8>]) {
        if !text.trim().is_empty() || self.text.ends_with(|c: char| !c.is_whitespace()) {
            self.text.push_str(text);
        }
    }
}

/// A JSON (or JSON Lines) document: every string, keys and values, unescaped, one a line, in
/// document order. A lexical scan, not a parse: linear, without recursion, and it reads
/// truncated or invalid JSON as far as its strings go.
pub(crate) fn json_document(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8]) {
    let Some(doc) = decoded(ctx, location, bytes, "JSON") else {
        return;
    };
    let mut out = String::with_capacity(doc.len());
    let mut chars = doc.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        let mut pending_high: Option<u32> = None;
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => {
                    let Some(e) = chars.next() else { break };
                    let single = match e {
                        'n' => Some('\n'),
                        't' => Some('\t'),
                        'r' => Some('\r'),
                        'b' => Some('\u{8}'),
                        'f' => Some('\u{c}'),
                        'u' => None,
                        other => Some(other),
                    };
                    if let Some(c) = single {
                        s.push(c);
                        continue;
                    }
                    let hex: String = chars.by_ref().take(4).collect();
                    let Ok(unit) = u32::from_str_radix(&hex, 16) else {
                        continue;
                    };
                    match (pending_high.take(), unit) {
                        (_, 0xD800..=0xDBFF) => pending_high = Some(unit),
                        (Some(high), 0xDC00..=0xDFFF) => {
                            let c = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00);
                            s.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                        }
                        _ => s.push(char::from_u32(unit).unwrap_or('\u{FFFD}')),
                    }
                }
                c => s.push(c),
            }
        }
        if !s.is_empty() {
            out.push_str(&s);
            out.push('\n');
        }
    }
    ctx.segment(out.trim_end().to_string(), location.to_vec(), Role::Body);
}

/// Which markup a text document is: by extension, else by its head (`<!DOCTYPE html`,
/// `<html`, `<?xml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Html,
    Xml,
    Json,
}

/// The markup of a text document with extension `ext` (lower case) and `bytes`, if any.
pub(crate) fn kind(ext: &str, bytes: &[u8]) -> Option<Kind> {
    match ext {
        "html" | "htm" | "xhtml" => return Some(Kind::Html),
        "xml" | "xsd" | "xsl" | "xslt" | "rss" | "atom" | "plist" | "svg" => {
            return Some(Kind::Xml);
        }
        "json" | "jsonl" | "ndjson" | "geojson" => return Some(Kind::Json),
        _ => {}
    }
    let head = &bytes[..bytes.len().min(512)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
        return Some(Kind::Html);
    }
    if lower.starts_with(b"<?xml") {
        if memchr::memmem::find(&lower, b"<html").is_some() {
            return Some(Kind::Html);
        }
        return Some(Kind::Xml);
    }
    None
}

/// Extracts a markup document (`kind` is `Some`).
pub(crate) fn extract(ctx: &mut Ctx<'_>, location: &[String], ext: &str, bytes: &[u8]) {
    match kind(ext, bytes) {
        Some(Kind::Html) => html_page(ctx, location, bytes),
        Some(Kind::Xml) => xml_document(ctx, location, bytes),
        Some(Kind::Json) => json_document(ctx, location, bytes),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ignoring_case() {
        assert_eq!(find_ci("a<TiTle>x", "<title", 0), Some(1));
        assert_eq!(find_ci("<title", "<title", 1), None);
    }
}
