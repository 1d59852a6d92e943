//! Office Open XML (docx, xlsx, pptx): which parts are read, with which role and location,
//! and how their XML becomes line-shaped text (paragraph → newline, tab → tab).

use crate::archive::{ZipIndex, base_name};
use crate::ctx::{Ctx, join};
use crate::dispatch;
use crate::xml::{self, Sink, attr};
use miji::Role;
use quick_xml::events::BytesStart;
use std::collections::HashMap;

/// Which OOXML document a zip is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Docx,
    Xlsx,
    Pptx,
}

/// The OOXML kind of a zip, from its main part.
pub(crate) fn kind(index: &ZipIndex<'_>) -> Option<Kind> {
    if index.find("word/document.xml").is_some() {
        Some(Kind::Docx)
    } else if index.find("xl/workbook.xml").is_some() {
        Some(Kind::Xlsx)
    } else if index.find("ppt/presentation.xml").is_some() {
        Some(Kind::Pptx)
    } else {
        None
    }
}

/// Extracts an OOXML document whose parts are in `index`.
pub(crate) fn extract(
    ctx: &mut Ctx<'_>,
    location: &[String],
    index: &ZipIndex<'_>,
    kind: Kind,
    depth: u32,
) {
    match kind {
        Kind::Docx => docx(ctx, location, index),
        Kind::Xlsx => xlsx(ctx, location, index),
        Kind::Pptx => pptx(ctx, location, index),
    }
    properties(ctx, location, index);
    embeddings(ctx, location, index, depth);
}

/// Part names matching `prefix` + digits + `.xml`, in numeric order (`slide2` before `slide10`).
fn numbered(index: &ZipIndex<'_>, prefix: &str) -> Vec<usize> {
    let mut found: Vec<(u64, usize)> = index
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let digits = e.name.strip_prefix(prefix)?.strip_suffix(".xml")?;
            if !digits.is_empty() && !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((digits.parse().unwrap_or(0), i))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, i)| i).collect()
}

/// Reads part `i` and walks it as flowing text (paragraphs, runs, text boxes) with `role`.
fn flow_part(ctx: &mut Ctx<'_>, location: &[String], index: &ZipIndex<'_>, i: usize, role: Role) {
    if !ctx.go_on(location) {
        return;
    }
    let part = join(location, index.entries[i].name.clone());
    let Some(bytes) = index.read(ctx, i, &part) else {
        return;
    };
    // Text boxes in headers and footers are part of the page header or footer.
    let textbox_role = if matches!(role, Role::Header | Role::Footer) {
        role
    } else {
        Role::Textbox
    };
    let mut sink = FlowSink::new(role, textbox_role);
    xml::walk(ctx, &part, &bytes, &mut sink);
    for (text, role) in sink.finish() {
        ctx.segment(text, part.clone(), role);
    }
}

fn docx(ctx: &mut Ctx<'_>, location: &[String], index: &ZipIndex<'_>) {
    let mut parts: Vec<(usize, Role)> = Vec::new();
    parts.extend(
        numbered(index, "word/header")
            .into_iter()
            .map(|i| (i, Role::Header)),
    );
    if let Some(i) = index.find("word/document.xml") {
        parts.push((i, Role::Body));
    }
    parts.extend(
        numbered(index, "word/footer")
            .into_iter()
            .map(|i| (i, Role::Footer)),
    );
    for name in ["word/footnotes.xml", "word/endnotes.xml"] {
        parts.extend(index.find(name).map(|i| (i, Role::Footnote)));
    }
    parts.extend(index.find("word/comments.xml").map(|i| (i, Role::Comment)));
    for (i, role) in parts {
        flow_part(ctx, location, index, i, role);
    }
}

fn pptx(ctx: &mut Ctx<'_>, location: &[String], index: &ZipIndex<'_>) {
    let mut parts: Vec<(usize, Role)> = Vec::new();
    parts.extend(
        numbered(index, "ppt/slides/slide")
            .into_iter()
            .map(|i| (i, Role::Body)),
    );
    parts.extend(
        numbered(index, "ppt/notesSlides/notesSlide")
            .into_iter()
            .map(|i| (i, Role::Notes)),
    );
    parts.extend(
        numbered(index, "ppt/slideMasters/slideMaster")
            .into_iter()
            .map(|i| (i, Role::Header)),
    );
    parts.extend(
        numbered(index, "ppt/slideLayouts/slideLayout")
            .into_iter()
            .map(|i| (i, Role::Header)),
    );
    parts.extend(
        numbered(index, "ppt/notesMasters/notesMaster")
            .into_iter()
            .map(|i| (i, Role::Header)),
    );
    let comments = index
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.name.starts_with("ppt/comments/") && e.name.ends_with(".xml"));
    parts.extend(comments.map(|(i, _)| (i, Role::Comment)));
    for (i, role) in parts {
        flow_part(ctx, location, index, i, role);
    }
}

/// Text of paragraphs and runs: `t`/`delText` character data, a newline after each paragraph
/// and for `br`/`cr`, a tab for run-level `tab`; `txbxContent` becomes its own segment;
/// `mc:Fallback` (a duplicate of the preferred content) is skipped; VML `textpath` strings
/// (WordArt watermarks) are kept.
#[derive(Debug)]
struct FlowSink {
    role: Role,
    textbox_role: Role,
    buffers: Vec<String>,
    done: Vec<(String, Role)>,
    in_text: usize,
    skip_at: Option<usize>,
}

impl FlowSink {
    fn new(role: Role, textbox_role: Role) -> FlowSink {
        FlowSink {
            role,
            textbox_role,
            buffers: vec![String::new()],
            done: Vec::new(),
            in_text: 0,
            skip_at: None,
        }
    }

    fn current(&mut self) -> &mut String {
        if self.buffers.is_empty() {
            self.buffers.push(String::new());
        }
        let last = self.buffers.len() - 1;
        &mut self.buffers[last]
    }

    /// The segments: main text first, then text boxes and watermarks in document order.
    fn finish(mut self) -> Vec<(String, Role)> {
        let mut out = Vec::new();
        let mut buffers = std::mem::take(&mut self.buffers).into_iter();
        if let Some(main) = buffers.next() {
            out.push((trim_newlines(main), self.role));
        }
        // Unclosed text boxes (truncated part) still count.
        out.extend(buffers.map(|b| (trim_newlines(b), self.textbox_role)));
        out.extend(self.done.into_iter().map(|(t, r)| (trim_newlines(t), r)));
        out
    }
}

fn trim_newlines(mut text: String) -> String {
    let keep = text.trim_end_matches('\n').len();
    text.truncate(keep);
    text
}

impl Sink for FlowSink {
    fn start(&mut self, name: &[u8], element: &BytesStart<'_>, stack: &[Vec<u8>]) {
        if self.skip_at.is_some() {
            return;
        }
        match name {
            b"Fallback" => self.skip_at = Some(stack.len()),
            b"t" | b"delText" => self.in_text += 1,
            b"tab" => {
                let parent = stack.last().map(Vec::as_slice);
                if !matches!(parent, Some(b"tabs" | b"tabLst")) {
                    self.current().push('\t');
                }
            }
            b"br" | b"cr" => self.current().push('\n'),
            b"noBreakHyphen" => self.current().push('-'),
            b"txbxContent" => self.buffers.push(String::new()),
            b"textpath" => {
                if let Some(text) = attr(element, b"string") {
                    self.done.push((text, self.role));
                }
            }
            _ => {}
        }
    }

    fn end(&mut self, name: &[u8], stack: &[Vec<u8>]) {
        if let Some(at) = self.skip_at {
            if name == b"Fallback" && stack.len() == at {
                self.skip_at = None;
            }
            return;
        }
        match name {
            b"t" | b"delText" => self.in_text = self.in_text.saturating_sub(1),
            b"p" => self.current().push('\n'),
            b"txbxContent" if self.buffers.len() > 1 => {
                let text = self.buffers.pop().unwrap_or_default();
                self.done.push((text, self.textbox_role));
            }
            _ => {}
        }
    }

    fn text(&mut self, text: &str, _: &[Vec<u8>]) {
        if self.in_text > 0 && self.skip_at.is_none() {
            self.current().push_str(text);
        }
    }
}

/// `docProps/core.xml`, `app.xml` and `custom.xml` as `Name: value` lines, role metadata.
/// Custom properties are named by their `name` attribute, so an
/// `MSIP_Label_<guid>_Name: Confidential` line is visible.
fn properties(ctx: &mut Ctx<'_>, location: &[String], index: &ZipIndex<'_>) {
    for name in [
        "docProps/core.xml",
        "docProps/app.xml",
        "docProps/custom.xml",
    ] {
        let Some(i) = index.find(name) else { continue };
        if !ctx.go_on(location) {
            return;
        }
        let part = join(location, name);
        let Some(bytes) = index.read(ctx, i, &part) else {
            continue;
        };
        let mut sink = PropsSink::default();
        xml::walk(ctx, &part, &bytes, &mut sink);
        sink.close();
        ctx.segment(trim_newlines(sink.text), part, Role::Metadata);
    }
}

#[derive(Debug, Default)]
struct PropsSink {
    text: String,
    key: Option<String>,
    values: Vec<String>,
}

impl PropsSink {
    fn close(&mut self) {
        if let Some(key) = self.key.take() {
            let values: Vec<&str> = self
                .values
                .iter()
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .collect();
            if !values.is_empty() {
                self.text.push_str(&key);
                self.text.push_str(": ");
                self.text.push_str(&values.join("; "));
                self.text.push('\n');
            }
        }
        self.values.clear();
    }
}

impl Sink for PropsSink {
    fn start(&mut self, name: &[u8], element: &BytesStart<'_>, stack: &[Vec<u8>]) {
        match stack.len() {
            0 => {}
            1 => {
                self.close();
                let key = match name {
                    b"property" => attr(element, b"name"),
                    _ => None,
                };
                self.key = Some(key.unwrap_or_else(|| String::from_utf8_lossy(name).into_owned()));
                self.values.push(String::new());
            }
            _ => self.values.push(String::new()),
        }
    }
    fn end(&mut self, _: &[u8], stack: &[Vec<u8>]) {
        if stack.len() == 1 {
            self.close();
        }
    }
    fn text(&mut self, text: &str, stack: &[Vec<u8>]) {
        if stack.len() >= 2
            && let Some(last) = self.values.last_mut()
        {
            last.push_str(text);
        }
    }
}

/// Embedded objects (`word/embeddings/…`, `xl/embeddings/…`, `ppt/embeddings/…`) are member
/// documents of their own.
fn embeddings(ctx: &mut Ctx<'_>, location: &[String], index: &ZipIndex<'_>, depth: u32) {
    for i in 0..index.entries.len() {
        let entry = &index.entries[i];
        if entry.is_dir || !entry.name.contains("/embeddings/") {
            continue;
        }
        if !ctx.go_on(location) {
            return;
        }
        let member = join(location, entry.name.clone());
        ctx.members.push(member.clone());
        if let Some(bytes) = index.read(ctx, i, &member) {
            dispatch::extract_member(
                ctx,
                &member,
                base_name(&index.entries[i].name),
                &bytes,
                depth + 1,
            );
        }
    }
}

// ----- xlsx -----

/// The location component of a sheet or cell: `sheet['Budget']` / `sheet['Budget']!C7` (also
/// used for legacy `.xls`).
pub(crate) fn sheet_component(sheet: &str, cell: Option<&str>) -> String {
    let quoted = sheet.replace('\'', "''");
    match cell {
        Some(cell) => format!("sheet['{quoted}']!{cell}"),
        None => format!("sheet['{quoted}']"),
    }
}

fn xlsx(ctx: &mut Ctx<'_>, location: &[String], index: &ZipIndex<'_>) {
    let shared = match index.find("xl/sharedStrings.xml") {
        Some(i) => {
            let part = join(location, "xl/sharedStrings.xml");
            let mut sink = SharedStrings::default();
            if let Some(bytes) = index.read(ctx, i, &part) {
                xml::walk(ctx, &part, &bytes, &mut sink);
            }
            sink.strings
        }
        None => Vec::new(),
    };
    let mut sheets: Vec<(String, String)> = Vec::new(); // (name, relationship id)
    if let Some(i) = index.find("xl/workbook.xml") {
        let part = join(location, "xl/workbook.xml");
        if let Some(bytes) = index.read(ctx, i, &part) {
            let mut sink = WorkbookSink::default();
            xml::walk(ctx, &part, &bytes, &mut sink);
            sheets = sink.sheets;
        }
    }
    let rels = relationships(ctx, location, index, "xl/_rels/workbook.xml.rels", "xl/");
    let mut seen = Vec::new();
    for (name, rid) in &sheets {
        if !ctx.go_on(location) {
            return;
        }
        ctx.segment(
            name.clone(),
            join(location, sheet_component(name, None)),
            Role::Title,
        );
        let Some(target) = rels.get(rid).map(|(target, _)| target.clone()) else {
            continue;
        };
        if let Some(i) = index.find(&target) {
            seen.push(i);
            sheet(ctx, location, index, i, name, &shared);
        }
    }
    // Worksheets the workbook does not list are still read, named after their part.
    for i in numbered(index, "xl/worksheets/sheet") {
        if !seen.contains(&i) {
            let label = base_name(&index.entries[i].name)
                .trim_end_matches(".xml")
                .to_string();
            sheet(ctx, location, index, i, &label, &shared);
        }
    }
}

fn sheet(
    ctx: &mut Ctx<'_>,
    location: &[String],
    index: &ZipIndex<'_>,
    i: usize,
    name: &str,
    shared: &[String],
) {
    if !ctx.go_on(location) {
        return;
    }
    let part_name = index.entries[i].name.clone();
    let part = join(location, part_name.clone());
    if let Some(bytes) = index.read(ctx, i, &part) {
        let mut sink = SheetSink {
            shared,
            ..SheetSink::default()
        };
        xml::walk(ctx, &part, &bytes, &mut sink);
        for (cell, text) in sink.cells {
            ctx.segment(
                text,
                join(location, sheet_component(name, Some(&cell))),
                Role::Cell,
            );
        }
    }
    // Comments hang off the sheet's relationships.
    let (dir, file) = part_name.rsplit_once('/').unwrap_or(("", &part_name));
    let rels_name = format!("{dir}/_rels/{file}.rels");
    let rels = relationships(ctx, location, index, &rels_name, &format!("{dir}/"));
    let mut targets: Vec<&String> = rels
        .values()
        .filter(|(_, kind)| kind.ends_with("/comments") || kind.ends_with("/threadedComment"))
        .map(|(target, _)| target)
        .collect();
    targets.sort();
    for target in targets {
        let Some(c) = index.find(target) else {
            continue;
        };
        let part = join(location, target.clone());
        let Some(bytes) = index.read(ctx, c, &part) else {
            continue;
        };
        let mut sink = CommentsSink::default();
        xml::walk(ctx, &part, &bytes, &mut sink);
        for (cell, text) in sink.comments {
            ctx.segment(
                trim_newlines(text),
                join(location, sheet_component(name, Some(&cell))),
                Role::Comment,
            );
        }
    }
}

/// Reads a `.rels` part: relationship id → (resolved part name, relationship type).
fn relationships(
    ctx: &mut Ctx<'_>,
    location: &[String],
    index: &ZipIndex<'_>,
    name: &str,
    base: &str,
) -> HashMap<String, (String, String)> {
    let Some(i) = index.find(name) else {
        return HashMap::new();
    };
    let part = join(location, name);
    let Some(bytes) = index.read(ctx, i, &part) else {
        return HashMap::new();
    };
    let mut sink = RelsSink::default();
    xml::walk(ctx, &part, &bytes, &mut sink);
    sink.rels
        .into_iter()
        .map(|(id, target, kind)| (id, (resolve(base, &target), kind)))
        .collect()
}

/// Resolves a relationship target against the directory `base` (`xl/`).
fn resolve(base: &str, target: &str) -> String {
    let joined = match target.strip_prefix('/') {
        Some(absolute) => absolute.to_string(),
        None => format!("{base}{target}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for component in joined.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

#[derive(Debug, Default)]
struct RelsSink {
    rels: Vec<(String, String, String)>,
}

impl Sink for RelsSink {
    fn start(&mut self, name: &[u8], element: &BytesStart<'_>, _: &[Vec<u8>]) {
        if name == b"Relationship"
            && let (Some(id), Some(target)) = (attr(element, b"Id"), attr(element, b"Target"))
        {
            self.rels
                .push((id, target, attr(element, b"Type").unwrap_or_default()));
        }
    }
    fn end(&mut self, _: &[u8], _: &[Vec<u8>]) {}
    fn text(&mut self, _: &str, _: &[Vec<u8>]) {}
}

#[derive(Debug, Default)]
struct WorkbookSink {
    sheets: Vec<(String, String)>,
}

impl Sink for WorkbookSink {
    fn start(&mut self, name: &[u8], element: &BytesStart<'_>, _: &[Vec<u8>]) {
        if name == b"sheet"
            && let Some(sheet) = attr(element, b"name")
        {
            self.sheets
                .push((sheet, attr(element, b"id").unwrap_or_default()));
        }
    }
    fn end(&mut self, _: &[u8], _: &[Vec<u8>]) {}
    fn text(&mut self, _: &str, _: &[Vec<u8>]) {}
}

/// `si` items of the shared-string table; phonetic runs (`rPh`) are left out.
#[derive(Debug, Default)]
struct SharedStrings {
    strings: Vec<String>,
    current: Option<String>,
    in_t: usize,
}

impl Sink for SharedStrings {
    fn start(&mut self, name: &[u8], _: &BytesStart<'_>, stack: &[Vec<u8>]) {
        match name {
            b"si" => self.current = Some(String::new()),
            b"t" if !stack.iter().any(|n| n == b"rPh") => self.in_t += 1,
            _ => {}
        }
    }
    fn end(&mut self, name: &[u8], stack: &[Vec<u8>]) {
        match name {
            b"si" => self.strings.push(self.current.take().unwrap_or_default()),
            b"t" if !stack.iter().any(|n| n == b"rPh") => self.in_t = self.in_t.saturating_sub(1),
            _ => {}
        }
    }
    fn text(&mut self, text: &str, _: &[Vec<u8>]) {
        if self.in_t > 0
            && let Some(current) = &mut self.current
        {
            current.push_str(text);
        }
    }
}

/// Cells of a worksheet: (`C7`, text). Shared strings are looked up, inline strings and
/// cached formula results read, booleans spelled; formulas themselves are not text.
#[derive(Debug, Default)]
struct SheetSink<'s> {
    shared: &'s [String],
    cells: Vec<(String, String)>,
    row: u64,
    col: u64,
    cell: Option<(String, String)>, // (reference, type)
    value: String,
    collecting: bool,
}

impl Sink for SheetSink<'_> {
    fn start(&mut self, name: &[u8], element: &BytesStart<'_>, stack: &[Vec<u8>]) {
        match name {
            b"row" => {
                self.row = attr(element, b"r")
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(self.row + 1);
                self.col = 0;
            }
            b"c" => {
                let reference = match attr(element, b"r") {
                    Some(r) => {
                        self.col = column_of(&r).unwrap_or(self.col + 1);
                        r
                    }
                    None => {
                        self.col += 1;
                        format!("{}{}", column_name(self.col), self.row.max(1))
                    }
                };
                self.cell = Some((reference, attr(element, b"t").unwrap_or_default()));
                self.value.clear();
            }
            b"v" => self.collecting = self.cell.is_some(),
            b"t" if self.cell.is_some()
                && stack.iter().any(|n| n == b"is")
                && !stack.iter().any(|n| n == b"rPh") =>
            {
                self.collecting = true;
            }
            _ => {}
        }
    }
    fn end(&mut self, name: &[u8], _: &[Vec<u8>]) {
        match name {
            b"v" | b"t" => self.collecting = false,
            b"c" => {
                if let Some((reference, kind)) = self.cell.take() {
                    let value = std::mem::take(&mut self.value);
                    let text = match kind.as_str() {
                        "s" => value
                            .trim()
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| self.shared.get(i).cloned())
                            .unwrap_or_default(),
                        "b" => match value.trim() {
                            "1" => "TRUE".to_string(),
                            "0" => "FALSE".to_string(),
                            _ => value,
                        },
                        _ => value,
                    };
                    if !text.is_empty() {
                        self.cells.push((reference, text));
                    }
                }
            }
            _ => {}
        }
    }
    fn text(&mut self, text: &str, _: &[Vec<u8>]) {
        if self.collecting {
            self.value.push_str(text);
        }
    }
}

/// The 1-based column number of a reference like `AB12`.
fn column_of(reference: &str) -> Option<u64> {
    let letters: String = reference
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    Some(letters.bytes().fold(0u64, |n, b| {
        n * 26 + u64::from(b.to_ascii_uppercase() - b'A' + 1)
    }))
}

/// The letters of 1-based column `n` (`1` → `A`, `28` → `AB`).
fn column_name(mut n: u64) -> String {
    let mut letters = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// Legacy (`comment`) and threaded (`threadedComment`) cell comments: (`C7`, text).
#[derive(Debug, Default)]
struct CommentsSink {
    comments: Vec<(String, String)>,
    current: Option<(String, String)>,
    collecting: usize,
}

impl Sink for CommentsSink {
    fn start(&mut self, name: &[u8], element: &BytesStart<'_>, _: &[Vec<u8>]) {
        match name {
            b"comment" | b"threadedComment" => {
                self.current = Some((attr(element, b"ref").unwrap_or_default(), String::new()));
            }
            b"t" | b"text" if self.current.is_some() => self.collecting += 1,
            _ => {}
        }
    }
    fn end(&mut self, name: &[u8], _: &[Vec<u8>]) {
        match name {
            b"comment" | b"threadedComment" => {
                if let Some(comment) = self.current.take() {
                    self.comments.push(comment);
                }
            }
            b"t" | b"text" => self.collecting = self.collecting.saturating_sub(1),
            b"p" | b"r" => {}
            _ => {}
        }
    }
    fn text(&mut self, text: &str, _: &[Vec<u8>]) {
        if self.collecting > 0
            && let Some((_, current)) = &mut self.current
        {
            current.push_str(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns() {
        assert_eq!(column_of("C7"), Some(3));
        assert_eq!(column_of("AB12"), Some(28));
        assert_eq!(column_name(28), "AB");
        assert_eq!(column_name(1), "A");
        assert_eq!(
            resolve("xl/", "worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(
            resolve("xl/worksheets/", "../comments1.xml"),
            "xl/comments1.xml"
        );
        assert_eq!(
            resolve("xl/", "/xl/worksheets/sheet2.xml"),
            "xl/worksheets/sheet2.xml"
        );
        assert_eq!(
            sheet_component("O'Brien", Some("A1")),
            "sheet['O''Brien']!A1"
        );
    }
}
