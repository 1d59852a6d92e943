//! Excel 97–2003 workbooks (`.xls`, BIFF8, and BIFF5 `Book` streams): a bounded record reader
//! for sheet names, shared strings, cells, page headers/footers and cell notes, named like xlsx.
//!
//! One pass over the `Workbook` stream: the globals substream gives the sheet names
//! (BOUNDSHEET8, hidden sheets included), the code page (BIFF5) and the shared-string table
//! (SST with its CONTINUE records, strings split across them re-reading the flag byte); each
//! worksheet substream gives its cells (LABELSST, LABEL, RSTRING, NUMBER, RK, MULRK, BOOLERR,
//! FORMULA with its cached STRING), HEADER/FOOTER (format codes dropped) and notes (NOTE →
//! OBJ id → TXO text). FILEPASS is `encrypted`. Every read is `.get()`-checked, every loop
//! consumes input, the clock is checked every 4,096 records and the text emitted is capped
//! at `max_size`.

use crate::ctx::{Ctx, join};
use crate::ole::{Cfb, stream, u16_at, u32_at};
use crate::ole_props::decode;
use miji::{ErrorKind, Role};
use std::collections::{HashMap, HashSet};

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const FILEPASS: u16 = 0x002F;
const CODEPAGE: u16 = 0x0042;
const BOUNDSHEET: u16 = 0x0085;
const SST: u16 = 0x00FC;
const CONTINUE: u16 = 0x003C;
const LABELSST: u16 = 0x00FD;
const LABEL: u16 = 0x0204;
const RSTRING: u16 = 0x00D6;
const NUMBER: u16 = 0x0203;
const RK: u16 = 0x027E;
const MULRK: u16 = 0x00BD;
const BOOLERR: u16 = 0x0205;
const FORMULA: u16 = 0x0006;
const STRING: u16 = 0x0207;
const HEADER: u16 = 0x0014;
const FOOTER: u16 = 0x0015;
const NOTE: u16 = 0x001C;
const OBJ: u16 = 0x005D;
const TXO: u16 = 0x01B6;

/// Extracts the workbook stream (`Workbook`, or BIFF5 `Book`) of `file`.
pub(crate) fn extract(ctx: &mut Ctx<'_>, location: &[String], file: &mut Cfb<'_>) {
    let name = if file.is_stream("/Workbook") {
        "/Workbook"
    } else {
        "/Book"
    };
    if let Some(data) = stream(ctx, location, file, name) {
        workbook(ctx, location, &data);
    }
}

/// The location component of a sheet or cell, the same as xlsx's: `sheet['Budget']` /
/// `sheet['Budget']!C7` (row and column 0-based here).
fn sheet_component(sheet: &str, cell: Option<(u16, u16)>) -> String {
    let cell =
        cell.map(|(row, col)| format!("{}{}", column_name(u32::from(col) + 1), u32::from(row) + 1));
    crate::ooxml::sheet_component(sheet, cell.as_deref())
}

/// The letters of 1-based column `n` (`1` → `A`, `28` → `AB`).
fn column_name(mut n: u32) -> String {
    let mut letters = Vec::new();
    while n > 0 {
        letters.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// BIFF records `(offset, type, body)`; a record cut by the end of the stream yields what is
/// there and ends the walk.
struct Records<'d> {
    data: &'d [u8],
    at: usize,
    truncated: bool,
}

impl<'d> Records<'d> {
    fn peek_kind(&self) -> Option<u16> {
        if self.at + 4 <= self.data.len() {
            u16_at(self.data, self.at)
        } else {
            None
        }
    }

    /// The bodies of the CONTINUE records that follow.
    fn continues(&mut self) -> Vec<&'d [u8]> {
        let mut out = Vec::new();
        while self.peek_kind() == Some(CONTINUE) {
            match self.next() {
                Some((_, _, body)) => out.push(body),
                None => break,
            }
        }
        out
    }
}

impl<'d> Iterator for Records<'d> {
    type Item = (usize, u16, &'d [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let at = self.at;
        let kind = u16_at(self.data, at)?;
        let Some(len) = u16_at(self.data, at + 2) else {
            self.truncated = true;
            self.at = self.data.len();
            return None;
        };
        let start = at + 4;
        let end = start + len as usize;
        if end > self.data.len() {
            self.truncated = true;
        }
        let end = end.min(self.data.len());
        self.at = end;
        Some((at, kind, &self.data[start..end]))
    }
}

/// One worksheet substream being read.
struct Sheet {
    name: String,
    /// Cell of a FORMULA whose string result is in the next STRING record.
    pending: Option<(u16, u16)>,
    /// The last OBJ's id, waiting for its TXO.
    obj: Option<u16>,
    /// TXO text by object id.
    texts: HashMap<u16, String>,
    noted: HashSet<u16>,
}

/// Reading state shared by the substreams.
struct Book<'l> {
    location: &'l [String],
    biff8: bool,
    codepage: u16,
    /// Text emitted so far, against `max_size`.
    emitted: u64,
    stopped: bool,
}

impl Book<'_> {
    fn emit(&mut self, ctx: &mut Ctx<'_>, text: String, component: String, role: Role) {
        if self.stopped {
            return;
        }
        let text = text.trim_end().to_string();
        if text.is_empty() {
            return;
        }
        self.emitted += text.len() as u64;
        if self.emitted > ctx.limits.max_size {
            self.stopped = true;
            ctx.error(
                ErrorKind::LimitSize,
                self.location,
                format!("workbook text larger than {} bytes", ctx.limits.max_size),
            );
            return;
        }
        ctx.segment(text, join(self.location, component), role);
    }

    /// An XLUnicodeString (BIFF8: `cch` u16, flags, characters) or a BIFF5 byte string
    /// (`cch` u16, bytes in the code page) at the start of `b`.
    fn string16(&self, b: &[u8]) -> Option<String> {
        let cch = u16_at(b, 0)? as usize;
        if self.biff8 {
            let flags = *b.get(2)?;
            Some(chars(b.get(3..)?, cch, flags & 1 != 0))
        } else {
            let bytes = b.get(2..(2 + cch).min(b.len()))?;
            Some(decode(bytes, self.codepage))
        }
    }

    /// A ShortXLUnicodeString (BIFF8: `cch` u8, flags) or a BIFF5 `cch` u8 byte string.
    fn string8(&self, b: &[u8]) -> Option<String> {
        let cch = *b.first()? as usize;
        if self.biff8 {
            let flags = *b.get(1)?;
            Some(chars(b.get(2..)?, cch, flags & 1 != 0))
        } else {
            let bytes = b.get(1..(1 + cch).min(b.len()))?;
            Some(decode(bytes, self.codepage))
        }
    }
}

/// Up to `cch` characters from `b`: UTF-16LE when `high`, else one Latin-1 byte each.
fn chars(b: &[u8], cch: usize, high: bool) -> String {
    if high {
        let b = b.get(..(2 * cch).min(b.len())).unwrap_or(b);
        let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
        char::decode_utf16(units)
            .map(|c| c.unwrap_or('\u{FFFD}'))
            .collect()
    } else {
        b.iter().take(cch).map(|&c| char::from(c)).collect()
    }
}

/// A number as a cell's text: plain digits, integers without `.0` (`4111111111111111`).
fn number(v: f64) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        return Some("0".to_string());
    }
    Some(format!("{v}"))
}

/// An RK number.
fn rk(v: u32) -> f64 {
    let n = if v & 2 != 0 {
        f64::from((v as i32) >> 2)
    } else {
        f64::from_bits(u64::from(v & 0xFFFF_FFFC) << 32)
    };
    if v & 1 != 0 { n / 100.0 } else { n }
}

fn f64_at(b: &[u8], at: usize) -> Option<f64> {
    Some(f64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads a workbook stream.
pub(crate) fn workbook(ctx: &mut Ctx<'_>, location: &[String], data: &[u8]) {
    let mut records = Records {
        data,
        at: 0,
        truncated: false,
    };
    let Some((_, BOF, first)) = records.next() else {
        ctx.error(ErrorKind::Corrupt, location, "not an Excel BIFF workbook");
        return;
    };
    let version = u16_at(first, 0).unwrap_or(0);
    let mut book = Book {
        location,
        biff8: version >= 0x0600 || version == 0,
        codepage: 1252,
        emitted: 0,
        stopped: false,
    };
    // Globals substream.
    let mut sheets: Vec<(usize, String)> = Vec::new();
    let mut sst = Sst::default();
    let mut count: u32 = 0;
    while let Some((_, kind, body)) = records.next() {
        count = count.wrapping_add(1);
        if count.is_multiple_of(4096) && !ctx.go_on(location) {
            return;
        }
        match kind {
            EOF => break,
            FILEPASS => {
                ctx.error(
                    ErrorKind::Encrypted,
                    location,
                    "password-protected Excel workbook",
                );
                return;
            }
            CODEPAGE => book.codepage = u16_at(body, 0).unwrap_or(1252),
            BOUNDSHEET => {
                let at = u32_at(body, 0).unwrap_or(u32::MAX) as usize;
                let name = body
                    .get(6..)
                    .and_then(|b| book.string8(b))
                    .unwrap_or_default();
                sheets.push((at, name));
            }
            SST if book.biff8 => {
                let mut chunks = vec![body.get(8..).unwrap_or_default()];
                chunks.extend(records.continues());
                sst = Sst::read(ctx, location, &chunks);
            }
            _ => {}
        }
    }
    if sst.cut {
        ctx.error(
            ErrorKind::Corrupt,
            location,
            "shared string table truncated",
        );
    }
    // Worksheet substreams, in stream order; named by BOUNDSHEET offset, else by position.
    let by_offset: HashMap<usize, usize> = sheets
        .iter()
        .enumerate()
        .map(|(i, (at, _))| (*at, i))
        .collect();
    let mut seen = vec![false; sheets.len()];
    let mut ordinal = 0usize;
    let mut depth = 0usize;
    let mut sheet: Option<Sheet> = None;
    while let Some((at, kind, body)) = records.next() {
        count = count.wrapping_add(1);
        if count.is_multiple_of(4096) && !ctx.go_on(location) {
            return;
        }
        if book.stopped {
            return;
        }
        match kind {
            BOF => {
                depth += 1;
                if depth == 1 {
                    let index = by_offset
                        .get(&at)
                        .copied()
                        .filter(|&i| !seen[i])
                        .or_else(|| (ordinal < sheets.len() && !seen[ordinal]).then_some(ordinal));
                    ordinal += 1;
                    let name = match index {
                        Some(i) => {
                            seen[i] = true;
                            sheets[i].1.clone()
                        }
                        None => format!("Sheet{ordinal}"),
                    };
                    book.emit(ctx, name.clone(), sheet_component(&name, None), Role::Title);
                    sheet = Some(Sheet {
                        name,
                        pending: None,
                        obj: None,
                        texts: HashMap::new(),
                        noted: HashSet::new(),
                    });
                }
            }
            EOF => {
                if depth == 1
                    && let Some(done) = sheet.take()
                {
                    finish(ctx, &mut book, done);
                }
                depth = depth.saturating_sub(1);
            }
            _ if depth == 1 => {
                if let Some(current) = sheet.as_mut() {
                    cell_record(ctx, &mut book, &sst, current, kind, body, &mut records);
                }
            }
            _ => {}
        }
    }
    if let Some(done) = sheet.take() {
        finish(ctx, &mut book, done);
    }
    // Sheets the stream does not reach (cut) are still named.
    for (i, (_, name)) in sheets.iter().enumerate() {
        if !seen[i] {
            book.emit(ctx, name.clone(), sheet_component(name, None), Role::Title);
        }
    }
    if records.truncated {
        ctx.error(
            ErrorKind::Corrupt,
            location,
            "Excel workbook stream truncated",
        );
    }
}

/// Text-box text (TXO not attached to a note) of a finished sheet.
fn finish(ctx: &mut Ctx<'_>, book: &mut Book<'_>, sheet: Sheet) {
    let mut rest: Vec<(u16, String)> = sheet
        .texts
        .into_iter()
        .filter(|(id, _)| !sheet.noted.contains(id))
        .collect();
    rest.sort();
    for (_, text) in rest {
        book.emit(ctx, text, sheet_component(&sheet.name, None), Role::Textbox);
    }
}

fn put(
    ctx: &mut Ctx<'_>,
    book: &mut Book<'_>,
    sheet: &str,
    at: Option<(u16, u16)>,
    text: Option<String>,
    role: Role,
) {
    if let (Some(at), Some(text)) = (at, text) {
        book.emit(ctx, text, sheet_component(sheet, Some(at)), role);
    }
}

fn cell_record<'d>(
    ctx: &mut Ctx<'_>,
    book: &mut Book<'_>,
    sst: &Sst,
    sheet: &mut Sheet,
    kind: u16,
    body: &'d [u8],
    records: &mut Records<'d>,
) {
    let cell = (|| Some((u16_at(body, 0)?, u16_at(body, 2)?)))();
    if kind != STRING && kind != CONTINUE {
        sheet.pending = None;
    }
    let name = sheet.name.clone();
    match kind {
        LABELSST => {
            let text = u32_at(body, 6).and_then(|i| sst.get(i as usize));
            put(ctx, book, &name, cell, text.map(str::to_string), Role::Cell);
        }
        LABEL | RSTRING => {
            let text = body.get(6..).and_then(|b| book.string16(b));
            put(ctx, book, &name, cell, text, Role::Cell);
        }
        NUMBER => {
            let text = f64_at(body, 6).and_then(number);
            put(ctx, book, &name, cell, text, Role::Cell);
        }
        RK => {
            let text = u32_at(body, 6).map(rk).and_then(number);
            put(ctx, book, &name, cell, text, Role::Cell);
        }
        MULRK => {
            let (Some(row), Some(first)) = (u16_at(body, 0), u16_at(body, 2)) else {
                return;
            };
            let n = body.len().saturating_sub(6) / 6;
            for k in 0..n {
                let text = u32_at(body, 4 + 6 * k + 2).map(rk).and_then(number);
                let at = Some((row, first.saturating_add(k as u16)));
                put(ctx, book, &name, at, text, Role::Cell);
            }
        }
        BOOLERR => {
            let text = match (body.get(6), body.get(7)) {
                (Some(0), Some(0)) => Some("FALSE".to_string()),
                (Some(_), Some(0)) => Some("TRUE".to_string()),
                _ => None,
            };
            put(ctx, book, &name, cell, text, Role::Cell);
        }
        FORMULA => {
            let Some(value) = body.get(6..14) else {
                return;
            };
            if value[6..8] == [0xFF, 0xFF] {
                match value[0] {
                    0 => sheet.pending = cell,
                    1 => {
                        let text = if value[2] == 0 { "FALSE" } else { "TRUE" };
                        put(ctx, book, &name, cell, Some(text.to_string()), Role::Cell);
                    }
                    _ => {}
                }
            } else {
                let text = f64_at(value, 0).and_then(number);
                put(ctx, book, &name, cell, text, Role::Cell);
            }
        }
        STRING => {
            if let Some(at) = sheet.pending.take() {
                let text = book.string16(body);
                put(ctx, book, &name, Some(at), text, Role::Cell);
            }
        }
        HEADER | FOOTER => {
            let text = if book.biff8 {
                book.string16(body)
            } else {
                book.string8(body)
            };
            if let Some(text) = text {
                let role = if kind == HEADER {
                    Role::Header
                } else {
                    Role::Footer
                };
                book.emit(ctx, header_text(&text), sheet_component(&name, None), role);
            }
        }
        OBJ => {
            // The first subrecord is ftCmo (0x15): object type, then id.
            sheet.obj = match u16_at(body, 0) {
                Some(0x15) => u16_at(body, 6),
                _ => None,
            };
        }
        TXO => {
            let cch = u16_at(body, 10).unwrap_or(0) as usize;
            let chunks = records.continues();
            if let Some(id) = sheet.obj.take()
                && cch > 0
            {
                let mut reader = Chunks::new(&chunks);
                // The text starts with its own flag byte, like a continued string.
                let text = reader.u8().map(|flags| reader.chars(cch, flags & 1 != 0));
                if let Some((text, _)) = text
                    && sheet.texts.len() < 65_536
                {
                    sheet.texts.insert(id, text);
                }
            }
        }
        NOTE => {
            let text = if book.biff8 {
                u16_at(body, 6).and_then(|id| {
                    sheet.noted.insert(id);
                    sheet.texts.get(&id).cloned()
                })
            } else {
                // BIFF5: the text is in the record (`cch` u16 at 4).
                let cch = u16_at(body, 4).unwrap_or(0) as usize;
                body.get(6..(6 + cch).min(body.len()))
                    .map(|b| decode(b, book.codepage))
            };
            let text = text.map(|t| t.replace('\r', "\n"));
            put(ctx, book, &name, cell, text, Role::Comment);
        }
        _ => {}
    }
}

/// A page header or footer string without its format codes: `&L`/`&C`/`&R` sections become
/// lines, fields (`&P`, `&D`, `&A`…), fonts (`&"Arial,Bold"`), sizes (`&12`), colours
/// (`&KFF0000`) and toggles are dropped, `&&` is `&`.
fn header_text(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '&' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('&') => out.push('&'),
            Some('L' | 'C' | 'R') if !out.is_empty() && !out.ends_with('\n') => out.push('\n'),
            Some('"') => {
                for c in it.by_ref() {
                    if c == '"' {
                        break;
                    }
                }
            }
            Some(d) if d.is_ascii_digit() => {
                while it.peek().is_some_and(|c| c.is_ascii_digit()) {
                    it.next();
                }
            }
            Some('K') => {
                for _ in 0..6 {
                    it.next();
                }
            }
            _ => {}
        }
    }
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The shared-string table: all strings in one buffer, with their end offsets.
#[derive(Debug, Default)]
struct Sst {
    text: String,
    ends: Vec<usize>,
    /// A string was cut by the end of the table.
    cut: bool,
}

impl Sst {
    fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
        self.text.get(start..end)
    }

    /// Reads the XLUnicodeRichExtendedStrings of the SST body (after its two counts) and
    /// its CONTINUE records. Stops at the end of the data or at a cut string; each string
    /// consumes at least three bytes, so the loop ends.
    fn read(ctx: &mut Ctx<'_>, location: &[String], chunks: &[&[u8]]) -> Sst {
        let mut sst = Sst::default();
        let mut reader = Chunks::new(chunks);
        while !reader.done() {
            if sst.ends.len() % 4096 == 4095 && !ctx.go_on(location) {
                break;
            }
            let (Some(cch), Some(flags)) = (reader.u16(), reader.u8()) else {
                sst.cut = true;
                break;
            };
            let runs = if flags & 0x08 != 0 {
                reader.u16()
            } else {
                Some(0)
            };
            let ext = if flags & 0x04 != 0 {
                reader.u32()
            } else {
                Some(0)
            };
            let (Some(runs), Some(ext)) = (runs, ext) else {
                sst.cut = true;
                break;
            };
            let (text, complete) = reader.chars(cch as usize, flags & 1 != 0);
            sst.text.push_str(&text);
            sst.ends.push(sst.text.len());
            if !complete {
                sst.cut = true;
                break;
            }
            // Formatting runs and phonetic data are not text; they may span CONTINUEs.
            reader.skip(4 * runs as usize + (ext as i32).max(0) as usize);
        }
        sst
    }
}

/// A byte reader over a record and its CONTINUE records.
struct Chunks<'c, 'd> {
    chunks: &'c [&'d [u8]],
    i: usize,
    at: usize,
}

impl<'c, 'd> Chunks<'c, 'd> {
    fn new(chunks: &'c [&'d [u8]]) -> Chunks<'c, 'd> {
        Chunks {
            chunks,
            i: 0,
            at: 0,
        }
    }

    /// Moves past exhausted chunks.
    fn settle(&mut self) {
        while self.chunks.get(self.i).is_some_and(|c| self.at >= c.len()) {
            self.i += 1;
            self.at = 0;
        }
    }

    fn done(&mut self) -> bool {
        self.settle();
        self.i >= self.chunks.len()
    }

    fn u8(&mut self) -> Option<u8> {
        self.settle();
        let b = *self.chunks.get(self.i)?.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([
            self.u8()?,
            self.u8()?,
            self.u8()?,
            self.u8()?,
        ]))
    }

    fn skip(&mut self, mut n: usize) {
        while n > 0 {
            self.settle();
            let Some(chunk) = self.chunks.get(self.i) else {
                return;
            };
            let take = n.min(chunk.len() - self.at);
            self.at += take;
            n -= take;
        }
    }

    /// `cch` characters, continuing into the next chunks, each of which starts with a fresh
    /// flag byte (bit 0: UTF-16); `false` when the data ended first.
    fn chars(&mut self, cch: usize, mut high: bool) -> (String, bool) {
        let mut units: Vec<u16> = Vec::new();
        let mut left = cch;
        while left > 0 {
            let Some(chunk) = self.chunks.get(self.i) else {
                break;
            };
            if self.at >= chunk.len() {
                // The string continues in the next record, which restates the flag.
                self.i += 1;
                self.at = 0;
                match self.chunks.get(self.i).and_then(|c| c.first()) {
                    Some(&flags) => {
                        high = flags & 1 != 0;
                        self.at = 1;
                    }
                    None => break,
                }
                continue;
            }
            let rest = &chunk[self.at..];
            if high {
                let n = left.min(rest.len() / 2);
                if n == 0 {
                    // An odd byte left: skip it (malformed).
                    self.at = chunk.len();
                    continue;
                }
                units.extend(
                    rest[..2 * n]
                        .chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]])),
                );
                self.at += 2 * n;
                left -= n;
            } else {
                let n = left.min(rest.len());
                units.extend(rest[..n].iter().map(|&b| u16::from(b)));
                self.at += n;
                left -= n;
            }
        }
        let text = char::decode_utf16(units)
            .map(|c| c.unwrap_or('\u{FFFD}'))
            .collect();
        (text, left == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[test]
    fn names_numbers_and_headers() {
        assert_eq!(
            sheet_component("O'Brien", Some((6, 2))),
            "sheet['O''Brien']!C7"
        );
        assert_eq!(sheet_component("预算", None), "sheet['预算']");
        assert_eq!(column_name(28), "AB");
        assert_eq!(number(4111111111111111.0).unwrap(), "4111111111111111");
        assert_eq!(number(42.0).unwrap(), "42");
        assert_eq!(number(3.5).unwrap(), "3.5");
        assert_eq!(number(-0.0).unwrap(), "0");
        assert_eq!(rk(0x0000_12C2), 1200.0); // integer 1200 << 2 | fInt
        assert_eq!(rk((1234 << 2) | 3), 12.34);
        assert_eq!(header_text("&C机密★10年"), "机密★10年");
        assert_eq!(
            header_text("&L&\"Arial,Bold\"&12Left &&co&RPage &P of &N&KFF0000"),
            "Left &co\nPage  of"
        );
    }

    fn sst_of(chunks: &[&[u8]]) -> Sst {
        let limits = Limits::default();
        let mut ctx = Ctx::new(&limits);
        Sst::read(&mut ctx, &[], chunks)
    }

    #[test]
    fn sst_strings_across_continue() {
        // "ab" compressed; "机密" UTF-16 split after one char, the CONTINUE restating the
        // flag; then a rich string (2 runs) whose runs spill into the next CONTINUE.
        let first: &[u8] = &[2, 0, 0, b'a', b'b', 2, 0, 1, 0x3A, 0x67];
        let second: &[u8] = &[
            1, 0xC6, 0x5B, 3, 0, 0x08, 2, 0, b'x', b'y', b'z', 0, 0, 0, 0,
        ];
        let third: &[u8] = &[0, 0, 0, 0, 1, 0, 0, b'q'];
        let sst = sst_of(&[first, second, third]);
        assert!(!sst.cut);
        assert_eq!(sst.get(0), Some("ab"));
        assert_eq!(sst.get(1), Some("机密"));
        assert_eq!(sst.get(2), Some("xyz"));
        assert_eq!(sst.get(3), Some("q"));
        assert_eq!(sst.get(4), None);
        // A compressed string continuing as UTF-16.
        let sst = sst_of(&[&[3, 0, 0, b'A'], &[1, b'B', 0, b'C', 0]]);
        assert_eq!(sst.get(0), Some("ABC"));
    }

    #[test]
    fn truncated_sst_stops() {
        // A string declaring 65,535 characters with two present, and endless empty CONTINUEs.
        let empty: &[u8] = &[];
        let mut chunks: Vec<&[u8]> = vec![&[0xFF, 0xFF, 0, b'a', b'b']];
        chunks.extend(std::iter::repeat_n(empty, 10_000));
        let sst = sst_of(&chunks);
        assert!(sst.cut);
        assert_eq!(sst.get(0), Some("ab"));
        // Huge run and ext counts skip past the end.
        let sst = sst_of(&[&[1, 0, 0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, b'a']]);
        assert_eq!(sst.get(0), Some("a"));
        // Every prefix of a valid table.
        let data: &[u8] = &[2, 0, 0, b'a', b'b', 2, 0, 1, 0x3A, 0x67, 0xC6, 0x5B];
        for cut in 0..data.len() {
            let _ = sst_of(&[&data[..cut]]);
        }
    }

    fn rec(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
        out.extend(kind.to_le_bytes());
        out.extend((body.len() as u16).to_le_bytes());
        out.extend(body);
    }

    /// A BIFF8 stream: globals with an SST (`Text`) and one sheet `Data` holding `cells`.
    fn stream_with(cells: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        rec(&mut out, BOF, &[0, 6, 5, 0, 0, 0, 0, 0]);
        rec(
            &mut out,
            SST,
            &[1, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, b'T', b'e', b'x', b't'],
        );
        let bound_at = out.len();
        rec(
            &mut out,
            BOUNDSHEET,
            &[0, 0, 0, 0, 0, 0, 4, 0, b'D', b'a', b't', b'a'],
        );
        rec(&mut out, EOF, &[]);
        let sheet_at = out.len() as u32;
        out[bound_at + 4..bound_at + 8].copy_from_slice(&sheet_at.to_le_bytes());
        rec(&mut out, BOF, &[0, 6, 0x10, 0, 0, 0, 0, 0]);
        for (kind, body) in cells {
            rec(&mut out, *kind, body);
        }
        rec(&mut out, EOF, &[]);
        out
    }

    fn texts(data: &[u8]) -> Vec<(String, String, Role)> {
        let limits = Limits::default();
        let mut ctx = Ctx::new(&limits);
        workbook(&mut ctx, &[], data);
        ctx.segments
            .into_iter()
            .map(|s| (s.location.join("/"), s.text, s.role))
            .collect()
    }

    #[test]
    fn cells_of_a_synthetic_sheet() {
        let mut formula = vec![1, 0, 2, 0, 0, 0];
        formula.extend([0, 0, 0, 0, 0, 0, 0xFF, 0xFF]);
        formula.extend([0; 6]);
        let data = stream_with(&[
            (LABELSST, vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            (
                NUMBER,
                [vec![0, 0, 1, 0, 0, 0], 1.5f64.to_le_bytes().to_vec()].concat(),
            ),
            (
                MULRK,
                vec![
                    1, 0, 0, 0, 0, 0, 0xC2, 0x12, 0, 0, 0, 0, 0x02, 0, 0, 0, 1, 0,
                ],
            ),
            (FORMULA, formula),
            (STRING, vec![3, 0, 0, b'a', b'b', b'c']),
            (HEADER, vec![3, 0, 0, b'&', b'C', b'X']),
        ]);
        let got = texts(&data);
        let want = [
            ("sheet['Data']", "Data", Role::Title),
            ("sheet['Data']!A1", "Text", Role::Cell),
            ("sheet['Data']!B1", "1.5", Role::Cell),
            ("sheet['Data']!A2", "1200", Role::Cell),
            ("sheet['Data']!B2", "0", Role::Cell),
            ("sheet['Data']!C2", "abc", Role::Cell),
            ("sheet['Data']", "X", Role::Header),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(l, t, r)| (l.to_string(), t.to_string(), *r))
            .collect();
        assert_eq!(got, want);
        for cut in 0..data.len() {
            let _ = texts(&data[..cut]);
        }
        for i in 0..data.len() {
            let mut d = data.clone();
            d[i] ^= 0xA5;
            let _ = texts(&d);
        }
    }

    #[test]
    fn fixture_stream_prefixes_and_flips() {
        for name in [
            "xls_cell.xls",
            "xls_sheet2.xls",
            "xls_header.xls",
            "xls_note.xls",
            "xls_meta.xls",
        ] {
            let data = crate::ole::tests::fixture_stream(name, "/Workbook");
            assert!(!texts(&data).is_empty(), "{name}");
            for cut in 0..data.len() {
                let _ = texts(&data[..cut]);
            }
            for i in (0..data.len()).step_by(3) {
                let mut d = data.clone();
                d[i] ^= 0x5A;
                let _ = texts(&d);
            }
        }
    }
}
