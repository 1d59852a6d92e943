//! OpenDocument (odt, ods, odp and their templates): `content.xml` body, footnotes, comments,
//! presentation notes and spreadsheet cells; `styles.xml` master-page headers and footers;
//! `meta.xml` properties. Paragraph → newline, `text:tab` → tab, `text:s` → spaces.

use crate::archive::ZipIndex;
use crate::ctx::{Ctx, join};
use crate::xml::{self, Sink, attr};
use miji::{ErrorKind, Role};
use quick_xml::events::BytesStart;

/// Spaces written for one `text:s`, at most.
const MAX_SPACES: usize = 256;
/// The last row and column an ODF spreadsheet can address.
const MAX_ROW: u64 = 1 << 20;
const MAX_COL: u64 = 1 << 14;

/// `true` when the zip is an OpenDocument package.
pub(crate) fn is_odf(index: &ZipIndex<'_>) -> bool {
    index.find("content.xml").is_some()
        && (index.find("mimetype").is_some() || index.find("META-INF/manifest.xml").is_some())
}

/// Extracts an OpenDocument package.
pub(crate) fn extract(ctx: &mut Ctx<'_>, location: &[String], index: &ZipIndex<'_>) {
    if let Some(i) = index.find("META-INF/manifest.xml") {
        let part = join(location, "META-INF/manifest.xml");
        if let Some(bytes) = index.read(ctx, i, &part)
            && memchr::memmem::find(&bytes, b"encryption-data").is_some()
        {
            ctx.error(
                ErrorKind::Encrypted,
                location,
                "password-protected OpenDocument",
            );
            return;
        }
    }
    for (name, styles) in [("styles.xml", true), ("content.xml", false)] {
        let Some(i) = index.find(name) else { continue };
        if !ctx.go_on(location) {
            return;
        }
        let part = join(location, name);
        let Some(bytes) = index.read(ctx, i, &part) else {
            continue;
        };
        let mut sink = OdfSink::new(styles);
        xml::walk(ctx, &part, &bytes, &mut sink);
        for (text, role, cell) in sink.finish() {
            let at = match cell {
                Some(cell) => join(location, cell),
                None => part.clone(),
            };
            ctx.segment(text, at, role);
        }
    }
    if let Some(i) = index.find("meta.xml") {
        let part = join(location, "meta.xml");
        if let Some(bytes) = index.read(ctx, i, &part) {
            let mut sink = MetaSink::default();
            xml::walk(ctx, &part, &bytes, &mut sink);
            sink.close();
            ctx.segment(sink.text.trim_end().to_string(), part, Role::Metadata);
        }
    }
}

/// One open text buffer.
#[derive(Debug)]
struct Buffer {
    text: String,
    role: Role,
    cell: Option<String>,
    /// The stack depth of the element that opened it.
    depth: usize,
}

#[derive(Debug)]
struct OdfSink {
    styles: bool,
    open: Vec<Buffer>,
    done: Vec<(String, Role, Option<String>)>,
    /// Depth of an element whose content is skipped (note citations, annotation authors).
    skip_at: Option<usize>,
    sheet: Option<String>,
    row: u64,
    col: u64,
    row_repeat: u64,
    col_repeat: u64,
    spreadsheet: bool,
}

impl OdfSink {
    fn new(styles: bool) -> OdfSink {
        OdfSink {
            styles,
            open: Vec::new(),
            done: Vec::new(),
            skip_at: None,
            sheet: None,
            row: 0,
            col: 0,
            row_repeat: 1,
            col_repeat: 1,
            spreadsheet: false,
        }
    }

    fn push(&mut self, role: Role, cell: Option<String>, depth: usize) {
        self.open.push(Buffer {
            text: String::new(),
            role,
            cell,
            depth,
        });
    }

    fn write(&mut self, s: &str) {
        if let Some(b) = self.open.last_mut() {
            b.text.push_str(s);
        }
    }

    fn close(&mut self, depth: usize) {
        if self.open.last().is_some_and(|b| b.depth == depth)
            && let Some(b) = self.open.pop()
        {
            self.done.push((tidy(b.text), b.role, b.cell));
        }
    }

    fn finish(mut self) -> Vec<(String, Role, Option<String>)> {
        while let Some(b) = self.open.pop() {
            self.done.push((tidy(b.text), b.role, b.cell));
        }
        self.done
            .sort_by_key(|(_, role, cell)| (cell.is_some(), role_order(*role)));
        self.done
    }

    fn cell_ref(&self) -> Option<String> {
        let sheet = self.sheet.as_deref()?;
        Some(format!(
            "sheet['{}']!{}{}",
            sheet.replace('\'', "''"),
            column_name(self.col),
            self.row + 1
        ))
    }
}

/// Main text first, then headers, footers, notes and comments; cells after all of them.
fn role_order(role: Role) -> u8 {
    match role {
        Role::Title => 0,
        Role::Header => 1,
        Role::Body => 2,
        Role::Footer => 3,
        Role::Footnote => 4,
        Role::Notes => 5,
        Role::Comment => 6,
        _ => 7,
    }
}

fn tidy(mut text: String) -> String {
    while text.ends_with(['\n', ' ']) {
        text.pop();
    }
    let lead = text.len() - text.trim_start_matches('\n').len();
    text.drain(..lead);
    text
}

/// 0 → `A`, 25 → `Z`, 26 → `AA`.
fn column_name(mut n: u64) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn repeat(element: &BytesStart<'_>, name: &[u8]) -> u64 {
    attr(element, name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .max(1)
}

impl Sink for OdfSink {
    fn start(&mut self, name: &[u8], element: &BytesStart<'_>, stack: &[Vec<u8>]) {
        let depth = stack.len();
        if self.skip_at.is_some() {
            return;
        }
        match name {
            b"spreadsheet" if !self.styles => self.spreadsheet = true,
            b"header" | b"header-left" | b"header-first" if self.styles => {
                self.push(Role::Header, None, depth)
            }
            b"footer" | b"footer-left" | b"footer-first" if self.styles => {
                self.push(Role::Footer, None, depth)
            }
            // Text on master pages outside header and footer (presentation masters) is
            // page furniture too, like pptx slide masters.
            b"master-page" if self.styles => self.push(Role::Header, None, depth),
            b"text" | b"presentation" | b"drawing" if !self.styles && self.open.is_empty() => {
                self.push(Role::Body, None, depth)
            }
            b"table" if self.spreadsheet => {
                self.sheet = attr(element, b"name");
                self.row = 0;
                self.col = 0;
                if let Some(sheet) = &self.sheet {
                    let text = sheet.clone();
                    let cell = format!("sheet['{}']", sheet.replace('\'', "''"));
                    self.done.push((text, Role::Title, Some(cell)));
                }
            }
            b"table-row" if self.spreadsheet => {
                self.col = 0;
                self.row_repeat = repeat(element, b"number-rows-repeated");
            }
            b"table-cell" | b"covered-table-cell" if self.spreadsheet && self.sheet.is_some() => {
                self.col_repeat = repeat(element, b"number-columns-repeated");
                if self.row < MAX_ROW && self.col < MAX_COL {
                    let cell = self.cell_ref();
                    self.push(Role::Cell, cell, depth);
                }
            }
            // Table cells in text documents and slides: tab-separated.
            b"table-cell" | b"covered-table-cell"
                if !self.spreadsheet
                    && stack.last().is_some_and(|p| p == b"table-row")
                    && !self.ends_row_start() =>
            {
                self.write("\t")
            }
            b"note-body" => self.push(Role::Footnote, None, depth),
            b"note-citation" | b"creator" | b"date" | b"date-string"
                if stack.iter().any(|e| e == b"annotation") || name == b"note-citation" =>
            {
                self.skip_at = Some(depth)
            }
            b"annotation" => {
                let cell = self.open.last().and_then(|b| b.cell.clone());
                self.push(Role::Comment, cell, depth);
            }
            b"notes" => self.push(Role::Notes, None, depth),
            b"tab" => self.write("\t"),
            b"s" => {
                let n = repeat(element, b"c").min(MAX_SPACES as u64) as usize;
                self.write(&" ".repeat(n));
            }
            b"line-break" => self.write("\n"),
            _ => {}
        }
    }

    fn end(&mut self, name: &[u8], stack: &[Vec<u8>]) {
        let depth = stack.len();
        if let Some(at) = self.skip_at {
            if at == depth {
                self.skip_at = None;
            }
            return;
        }
        match name {
            b"p" | b"h" => self.write("\n"),
            b"table-row" if !self.spreadsheet => self.write("\n"),
            b"table-row" if self.spreadsheet => {
                self.row = self.row.saturating_add(self.row_repeat);
                self.row_repeat = 1;
            }
            _ => {}
        }
        if matches!(name, b"table-cell" | b"covered-table-cell") && self.spreadsheet {
            self.close(depth);
            self.col = self.col.saturating_add(self.col_repeat);
            self.col_repeat = 1;
            return;
        }
        self.close(depth);
    }

    fn text(&mut self, text: &str, _stack: &[Vec<u8>]) {
        if self.skip_at.is_none() {
            self.write(text);
        }
    }
}

impl OdfSink {
    fn ends_row_start(&self) -> bool {
        self.open
            .last()
            .is_none_or(|b| b.text.is_empty() || b.text.ends_with('\n'))
    }
}

/// `meta.xml`: one `name: value` line per property; `meta:user-defined` uses its `meta:name`.
#[derive(Debug, Default)]
struct MetaSink {
    text: String,
    key: Option<String>,
    value: String,
}

impl MetaSink {
    fn close(&mut self) {
        if let Some(key) = self.key.take() {
            let value = self.value.trim();
            if !value.is_empty() {
                self.text.push_str(&key);
                self.text.push_str(": ");
                self.text.push_str(value);
                self.text.push('\n');
            }
        }
        self.value.clear();
    }
}

impl Sink for MetaSink {
    fn start(&mut self, name: &[u8], element: &BytesStart<'_>, stack: &[Vec<u8>]) {
        if stack.last().is_some_and(|p| p == b"meta") {
            self.close();
            let key = match name {
                b"user-defined" => attr(element, b"name"),
                _ => None,
            };
            self.key = Some(key.unwrap_or_else(|| String::from_utf8_lossy(name).into_owned()));
        }
    }

    fn end(&mut self, _name: &[u8], stack: &[Vec<u8>]) {
        if stack.last().is_some_and(|p| p == b"meta") {
            self.close();
        }
    }

    fn text(&mut self, text: &str, stack: &[Vec<u8>]) {
        if stack.iter().any(|e| e == b"meta") && self.key.is_some() {
            self.value.push_str(text);
        }
    }
}
