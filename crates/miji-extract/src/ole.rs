//! Legacy OLE compound documents, opened with `cfb`: Word 97–2003 `.doc` (and Kingsoft WPS
//! `.wps` files, which carry the same `WordDocument` stream) through the piece table, split
//! into stories by the FIB's character counts (body, footnotes, headers/footers by `PlcfHdd`,
//! annotations, endnotes, text boxes), location `[]`; PowerPoint 97–2003 `.ppt` through its
//! text atoms, placed by the persist directory and the SlideListWithText lists: `slide[N]`
//! (role body, its notes role notes), `master[N]`, `notes-master`, `handout-master` (role
//! header); Excel 97–2003 `.xls` in `xls.rs`; the document properties of all three in
//! `ole_props.rs`. Mail (`.msg`) and other OLE files are `unsupported-format`; encrypted ones
//! `encrypted`.

use crate::ctx::{Ctx, join};
use crate::{ole_props, xls};
use miji::{ErrorKind, Role};
use std::collections::{HashMap, HashSet};
use std::io::Cursor;

pub(crate) type Cfb<'b> = cfb::CompoundFile<Cursor<&'b [u8]>>;

/// Extracts the OLE compound file `bytes` at `location`.
pub(crate) fn extract(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8]) {
    let mut file = match cfb::CompoundFile::open(Cursor::new(bytes)) {
        Ok(f) => f,
        Err(e) => {
            ctx.error(
                ErrorKind::Corrupt,
                location,
                format!("cannot read OLE compound file: {e}"),
            );
            return;
        }
    };
    if file.is_stream("/EncryptedPackage") {
        ctx.error(
            ErrorKind::Encrypted,
            location,
            "password-protected office document",
        );
    } else if file.is_stream("/WordDocument") {
        doc(ctx, location, &mut file);
        ole_props::extract(ctx, location, &mut file);
    } else if file.is_stream("/PowerPoint Document") {
        ppt(ctx, location, &mut file);
        ole_props::extract(ctx, location, &mut file);
    } else if file.is_stream("/Workbook") || file.is_stream("/Book") {
        xls::extract(ctx, location, &mut file);
        ole_props::extract(ctx, location, &mut file);
    } else {
        ctx.error(
            ErrorKind::UnsupportedFormat,
            location,
            "OLE compound document (msg or other) is not read",
        );
    }
}

pub(crate) fn stream(
    ctx: &mut Ctx<'_>,
    location: &[String],
    file: &mut Cfb<'_>,
    name: &str,
) -> Option<Vec<u8>> {
    let mut s = match file.open_stream(name) {
        Ok(s) => s,
        Err(e) => {
            ctx.error(
                ErrorKind::Corrupt,
                location,
                format!("cannot open stream {name}: {e}"),
            );
            return None;
        }
    };
    let (data, cut) = ctx.read_bounded(&mut s, None, location);
    if cut.is_some() && data.is_empty() {
        return None;
    }
    Some(data)
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The character counts of a Word document's stories (FibRgLw97).
#[derive(Debug, Default)]
struct Counts {
    text: u32,
    ftn: u32,
    hdd: u32,
    mcr: u32,
    atn: u32,
    edn: u32,
    txbx: u32,
    hdr_txbx: u32,
}

fn doc(ctx: &mut Ctx<'_>, location: &[String], file: &mut Cfb<'_>) {
    let Some(word) = stream(ctx, location, file, "/WordDocument") else {
        return;
    };
    let corrupt = |ctx: &mut Ctx<'_>, what: &str| {
        ctx.error(
            ErrorKind::Corrupt,
            location,
            format!("Word document: {what}"),
        );
    };
    let (Some(ident), Some(flags)) = (u16_at(&word, 0), u16_at(&word, 10)) else {
        return corrupt(ctx, "FIB too short");
    };
    if ident != 0xA5EC && ident != 0xA5DC {
        return corrupt(ctx, "not a Word FIB");
    }
    if flags & 0x0100 != 0 {
        ctx.error(
            ErrorKind::Encrypted,
            location,
            "password-protected Word document",
        );
        return;
    }
    // FibBase (32 bytes), csw + fibRgW, cslw + fibRgLw, cbRgFcLcb + fibRgFcLcb.
    let Some(csw) = u16_at(&word, 32) else {
        return corrupt(ctx, "FIB too short");
    };
    let lw = 34 + 2 * csw as usize;
    let Some(cslw) = u16_at(&word, lw) else {
        return corrupt(ctx, "FIB too short");
    };
    let lw_at = |i: usize| u32_at(&word, lw + 2 + 4 * i).unwrap_or(0);
    let counts = Counts {
        text: lw_at(3),
        ftn: lw_at(4),
        hdd: lw_at(5),
        mcr: lw_at(6),
        atn: lw_at(7),
        edn: lw_at(8),
        txbx: lw_at(9),
        hdr_txbx: lw_at(10),
    };
    let fc_at = lw + 2 + 4 * cslw as usize + 2;
    let pair = |i: usize| {
        (
            u32_at(&word, fc_at + 8 * i).unwrap_or(0) as usize,
            u32_at(&word, fc_at + 8 * i + 4).unwrap_or(0) as usize,
        )
    };
    let (fc_clx, lcb_clx) = pair(33);
    let (fc_hdd, lcb_hdd) = pair(11);
    let table_name = if flags & 0x0200 != 0 {
        "/1Table"
    } else {
        "/0Table"
    };
    let Some(table) = stream(ctx, location, file, table_name) else {
        return;
    };
    let Some(clx) = table.get(fc_clx..fc_clx.saturating_add(lcb_clx)) else {
        return corrupt(ctx, "piece table out of range");
    };
    let Some(chars) = piece_text(ctx, location, clx, &word) else {
        return corrupt(ctx, "no piece table");
    };
    // Stories in CP order.
    let mut at = 0usize;
    let mut take = |n: u32| {
        let start = at.min(chars.len());
        at = at.saturating_add(n as usize);
        (start, at.min(chars.len()))
    };
    let body = take(counts.text);
    let ftn = take(counts.ftn);
    let hdd = take(counts.hdd);
    let _macros = take(counts.mcr);
    let atn = take(counts.atn);
    let edn = take(counts.edn);
    let txbx = take(counts.txbx);
    let hdr_txbx = take(counts.hdr_txbx);
    let emit = |ctx: &mut Ctx<'_>, (s, e): (usize, usize), role: Role| {
        let text = clean(&chars[s..e]);
        ctx.segment(text, location.to_vec(), role);
    };
    // Headers and footers: PlcfHdd splits the header story; six separator stories first,
    // then six per section: even/odd header, even/odd footer, first header, first footer.
    let mut header = String::new();
    let mut footer = String::new();
    let hdd_cps: Vec<usize> = table
        .get(fc_hdd..fc_hdd.saturating_add(lcb_hdd))
        .map(|b| {
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
                .collect()
        })
        .unwrap_or_default();
    if hdd_cps.len() >= 2 {
        for (i, w) in hdd_cps.windows(2).enumerate() {
            let (s, e) = (hdd.0 + w[0], (hdd.0 + w[1]).min(hdd.1));
            if i < 6 || s >= e {
                continue;
            }
            let text = clean(&chars[s..e]);
            if text.is_empty() {
                continue;
            }
            let target = if matches!((i - 6) % 6, 2 | 3 | 5) {
                &mut footer
            } else {
                &mut header
            };
            if !target.is_empty() {
                target.push('\n');
            }
            target.push_str(&text);
        }
    } else {
        header = clean(&chars[hdd.0..hdd.1]);
    }
    ctx.segment(header, location.to_vec(), Role::Header);
    emit(ctx, body, Role::Body);
    ctx.segment(footer, location.to_vec(), Role::Footer);
    emit(ctx, ftn, Role::Footnote);
    emit(ctx, edn, Role::Footnote);
    emit(ctx, atn, Role::Comment);
    emit(ctx, txbx, Role::Textbox);
    emit(ctx, hdr_txbx, Role::Header);
}

/// The document text in CP order, from the Clx's piece table.
fn piece_text(
    ctx: &mut Ctx<'_>,
    location: &[String],
    clx: &[u8],
    word: &[u8],
) -> Option<Vec<char>> {
    let mut i = 0;
    while i < clx.len() {
        match clx[i] {
            0x01 => {
                let cb = u16_at(clx, i + 1)? as usize;
                i += 3 + cb;
            }
            0x02 => {
                let lcb = u32_at(clx, i + 1)? as usize;
                let plc = clx.get(i + 5..i + 5 + lcb)?;
                if plc.len() < 4 {
                    return None;
                }
                let n = (plc.len() - 4) / 12;
                let mut out: Vec<char> = Vec::new();
                for k in 0..n {
                    if k % 1024 == 0 && !ctx.go_on(location) {
                        break;
                    }
                    let cp0 = u32_at(plc, 4 * k)? as usize;
                    let cp1 = u32_at(plc, 4 * (k + 1))? as usize;
                    let pcd = 4 * (n + 1) + 8 * k;
                    let fc = u32_at(plc, pcd + 2)?;
                    let count = cp1.saturating_sub(cp0).min(word.len());
                    if fc & 0x4000_0000 != 0 {
                        let off = ((fc & !0x4000_0000) / 2) as usize;
                        let bytes = word.get(off..off.saturating_add(count).min(word.len()))?;
                        let (text, _) =
                            encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
                        out.extend(text.chars());
                    } else {
                        let off = fc as usize;
                        let end = off.saturating_add(count * 2).min(word.len());
                        let bytes = word.get(off..end)?;
                        let units = bytes
                            .chunks_exact(2)
                            .map(|c| u16::from_le_bytes([c[0], c[1]]));
                        out.extend(char::decode_utf16(units).map(|c| c.unwrap_or('\u{FFFD}')));
                    }
                }
                return Some(out);
            }
            _ => return None,
        }
    }
    None
}

/// Word's special characters to text: paragraph and line marks → newline, cell marks → tab,
/// field codes dropped (their results kept), anchors and object placeholders dropped.
fn clean(chars: &[char]) -> String {
    let mut out = String::with_capacity(chars.len());
    // Nesting of fields; while in the code part of a field, text is skipped.
    let mut fields: Vec<bool> = Vec::new();
    for &c in chars {
        match c {
            '\u{13}' => fields.push(true),
            '\u{14}' => {
                if let Some(code) = fields.last_mut() {
                    *code = false;
                }
            }
            '\u{15}' => {
                fields.pop();
            }
            _ if fields.last().is_some_and(|code| *code) => {}
            '\r' | '\u{0B}' | '\u{0C}' | '\u{0E}' => out.push('\n'),
            '\u{07}' => out.push('\t'),
            '\t' => out.push('\t'),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    let lines: Vec<&str> = out
        .lines()
        .map(|l| l.trim_end_matches('\t').trim_end())
        .collect();
    lines.join("\n").trim().to_string()
}

/// PowerPoint record types.
const RT_DOCUMENT: u16 = 0x03E8;
const RT_SLIDE: u16 = 0x03EE;
const RT_NOTES: u16 = 0x03F0;
const RT_NOTES_ATOM: u16 = 0x03F1;
const RT_SLIDE_PERSIST: u16 = 0x03F3;
const RT_MAIN_MASTER: u16 = 0x03F8;
const RT_HANDOUT: u16 = 0x0FC9;
const RT_SLIDE_LIST: u16 = 0x0FF0;
const RT_TEXT_CHARS: u16 = 0x0FA0;
const RT_TEXT_BYTES: u16 = 0x0FA8;
const RT_CSTRING: u16 = 0x0FBA;
const RT_PERSIST_DIRECTORY: u16 = 0x1772;
const RT_CRYPT_SESSION: u16 = 0x2F14;

/// Where a piece of PowerPoint text belongs; the order is the order of the segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Place {
    /// 1-based slide number (slide text role body, its notes role notes).
    Slide(u32),
    /// 1-based main master number.
    Master(u32),
    NotesMaster,
    HandoutMaster,
    /// Text outside any slide, notes or master (location `[]`).
    Deck,
}

impl Place {
    fn location(self, location: &[String]) -> Vec<String> {
        match self {
            Place::Slide(n) => join(location, format!("slide[{n}]")),
            Place::Master(n) => join(location, format!("master[{n}]")),
            Place::NotesMaster => join(location, "notes-master"),
            Place::HandoutMaster => join(location, "handout-master"),
            Place::Deck => location.to_vec(),
        }
    }
}

/// A record header: (version/instance, type, body start, body end clamped to the data).
fn ppt_header(data: &[u8], i: usize) -> Option<(u16, u16, usize, usize)> {
    let ver_inst = u16_at(data, i)?;
    let kind = u16_at(data, i + 2)?;
    let len = u32_at(data, i + 4)? as usize;
    let start = i + 8;
    Some((
        ver_inst,
        kind,
        start,
        start.saturating_add(len).min(data.len()),
    ))
}

/// The deck's structure: the persist directory (persist id → stream offset) and the
/// SlideListWithText lists of the (last) DocumentContainer: slides (persist id, slide id),
/// masters and notes (persist ids), in presentation order.
#[derive(Debug, Default)]
struct DeckIndex {
    persist: HashMap<u32, usize>,
    slides: Vec<(u32, u32)>,
    masters: Vec<u32>,
    notes: Vec<u32>,
}

fn deck_index(ctx: &mut Ctx<'_>, location: &[String], data: &[u8]) -> DeckIndex {
    let mut index = DeckIndex::default();
    let mut i = 0usize;
    let mut records: u32 = 0;
    // Top-level records: a later persist directory (incremental save) overrides earlier ones.
    while let Some((_, kind, start, end)) = ppt_header(data, i) {
        records = records.wrapping_add(1);
        if records.is_multiple_of(4096) && !ctx.go_on(location) {
            break;
        }
        let body = &data[start..end];
        match kind {
            RT_PERSIST_DIRECTORY => {
                let mut at = 0usize;
                while let Some(head) = u32_at(body, at) {
                    let first = head & 0x000F_FFFF;
                    let count = (head >> 20) as usize;
                    at += 4;
                    for k in 0..count {
                        let Some(offset) = u32_at(body, at) else {
                            break;
                        };
                        at += 4;
                        index.persist.insert(first + k as u32, offset as usize);
                    }
                }
            }
            RT_DOCUMENT => {
                let (mut slides, mut masters, mut notes) = (Vec::new(), Vec::new(), Vec::new());
                let mut c = start;
                while let Some((ver_inst, child, c_start, c_end)) = ppt_header(data, c) {
                    if c >= end {
                        break;
                    }
                    if child == RT_SLIDE_LIST {
                        let mut a = c_start;
                        while let Some((_, atom, a_start, a_end)) = ppt_header(data, a) {
                            if a >= c_end {
                                break;
                            }
                            if atom == RT_SLIDE_PERSIST {
                                let persist = u32_at(data, a_start).unwrap_or(0);
                                let id = u32_at(data, a_start + 12).unwrap_or(0);
                                match ver_inst >> 4 {
                                    0 => slides.push((persist, id)),
                                    1 => masters.push(persist),
                                    _ => notes.push(persist),
                                }
                            }
                            a = a_end.max(a_start);
                        }
                    }
                    c = c_end.max(c_start);
                }
                (index.slides, index.masters, index.notes) = (slides, masters, notes);
            }
            _ => {}
        }
        i = end.max(start);
    }
    index
}

/// The slide a NotesContainer at `offset` belongs to, by its NotesAtom's slide id.
fn notes_place(data: &[u8], offset: usize, slide_ids: &HashMap<u32, u32>) -> (Place, Role) {
    let slide = match ppt_header(data, offset + 8) {
        Some((_, RT_NOTES_ATOM, start, _)) => u32_at(data, start),
        _ => None,
    };
    match slide {
        Some(id) => match slide_ids.get(&id) {
            Some(&n) => (Place::Slide(n), Role::Notes),
            None if id == 0 || id & 0x8000_0000 != 0 => (Place::NotesMaster, Role::Header),
            None => (Place::Deck, Role::Notes),
        },
        None => (Place::Deck, Role::Notes),
    }
}

/// An open container of the walk.
struct Open {
    end: usize,
    place: Option<(Place, Role)>,
    /// For a SlideListWithText: its instance and the persist atoms seen so far.
    list: Option<(u16, u32)>,
}

fn ppt(ctx: &mut Ctx<'_>, location: &[String], file: &mut Cfb<'_>) {
    if file.is_stream("/EncryptedSummary") {
        ctx.error(
            ErrorKind::Encrypted,
            location,
            "password-protected PowerPoint file",
        );
        return;
    }
    if let Some(data) = stream(ctx, location, file, "/PowerPoint Document") {
        ppt_stream(ctx, location, &data);
    }
}

/// Reads a `PowerPoint Document` stream.
fn ppt_stream(ctx: &mut Ctx<'_>, location: &[String], data: &[u8]) {
    let index = deck_index(ctx, location, data);
    let slide_ids: HashMap<u32, u32> = index
        .slides
        .iter()
        .enumerate()
        .map(|(k, &(_, id))| (id, k as u32 + 1))
        .collect();
    // Stream offset of a slide or master container → its place.
    let mut places: HashMap<usize, (Place, Role)> = HashMap::new();
    for (k, &(persist, _)) in index.slides.iter().enumerate() {
        if let Some(&offset) = index.persist.get(&persist) {
            places.insert(offset, (Place::Slide(k as u32 + 1), Role::Body));
        }
    }
    for (k, persist) in index.masters.iter().enumerate() {
        if let Some(&offset) = index.persist.get(persist) {
            places.insert(offset, (Place::Master(k as u32 + 1), Role::Header));
        }
    }
    // Text by place and role, in order; slide text is stored twice (slide list and slide
    // drawing): each string is kept once per place and role.
    let mut texts: std::collections::BTreeMap<(u8, Place), String> = Default::default();
    let mut seen: HashSet<(Place, u8, String)> = HashSet::new();
    let rank = |role: Role| match role {
        Role::Body => 0u8,
        Role::Notes => 1,
        _ => 2,
    };
    let mut open: Vec<Open> = Vec::new();
    let (mut slides_seen, mut masters_seen) = (0u32, 0u32);
    let mut i = 0usize;
    let mut records: u32 = 0;
    while let Some((ver_inst, kind, start, end)) = ppt_header(data, i) {
        records = records.wrapping_add(1);
        if records.is_multiple_of(4096) && !ctx.go_on(location) {
            return;
        }
        while open.last().is_some_and(|o| o.end <= i) {
            open.pop();
        }
        if kind == RT_CRYPT_SESSION {
            ctx.error(
                ErrorKind::Encrypted,
                location,
                "password-protected PowerPoint file",
            );
            return;
        }
        if ver_inst & 0x000F == 0x000F {
            let mut list = None;
            let place = match kind {
                RT_SLIDE => {
                    slides_seen += 1;
                    Some(
                        places
                            .get(&i)
                            .copied()
                            .unwrap_or((Place::Slide(slides_seen), Role::Body)),
                    )
                }
                RT_MAIN_MASTER => {
                    masters_seen += 1;
                    Some(
                        places
                            .get(&i)
                            .copied()
                            .unwrap_or((Place::Master(masters_seen), Role::Header)),
                    )
                }
                RT_NOTES => Some(notes_place(data, i, &slide_ids)),
                RT_HANDOUT => Some((Place::HandoutMaster, Role::Header)),
                RT_SLIDE_LIST => {
                    list = Some((ver_inst >> 4, 0));
                    None
                }
                _ => None,
            };
            if open.len() < 64 {
                open.push(Open { end, place, list });
            }
            i = start;
            continue;
        }
        if kind == RT_SLIDE_PERSIST
            && let Some(top) = open.last_mut()
            && let Some((inst, n)) = top.list.as_mut()
        {
            // Text after the k-th persist atom of a slide list belongs to slide (master,
            // notes) k.
            *n += 1;
            let k = *n;
            top.place = Some(match *inst {
                0 => (Place::Slide(k), Role::Body),
                1 => (Place::Master(k), Role::Header),
                _ => {
                    let persist = index.notes.get(k as usize - 1);
                    match persist.and_then(|p| index.persist.get(p)) {
                        Some(&offset) => notes_place(data, offset, &slide_ids),
                        None => (Place::Slide(k), Role::Notes),
                    }
                }
            });
        }
        let text = match kind {
            RT_TEXT_CHARS | RT_CSTRING => {
                let units = data[start..end]
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]));
                Some(
                    char::decode_utf16(units)
                        .map(|c| c.unwrap_or('\u{FFFD}'))
                        .collect::<String>(),
                )
            }
            RT_TEXT_BYTES => Some(
                encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(&data[start..end])
                    .0
                    .into_owned(),
            ),
            _ => None,
        };
        if let Some(text) = text {
            let placed = open.iter().rev().find_map(|o| o.place);
            // CStrings outside slides, notes and masters are names (fonts, authors).
            // `___PPT10`-style tag names are not text.
            if (kind != RT_CSTRING || placed.is_some()) && !text.starts_with("___PPT") {
                let (place, role) = placed.unwrap_or((Place::Deck, Role::Body));
                let key = (rank(role), place);
                let text = text.replace(['\r', '\u{0B}'], "\n");
                let text = text.trim();
                if !text.is_empty() && seen.insert((place, key.0, text.to_string())) {
                    let target = texts.entry(key).or_default();
                    target.push_str(text);
                    target.push('\n');
                }
            }
        }
        i = end.max(start);
    }
    // Slides in order, then their notes, then masters, then text outside them (as pptx:
    // slides, notes slides, masters).
    for ((rank, place), text) in texts {
        let role = match rank {
            0 => Role::Body,
            1 => Role::Notes,
            _ => Role::Header,
        };
        ctx.segment(text.trim_end().to_string(), place.location(location), role);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Limits;
    use std::io::Read;

    /// A stream of a fixture of `tests/fixtures/extract3/`.
    pub(crate) fn fixture_stream(name: &str, stream: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/extract3")
            .join(name);
        let bytes = std::fs::read(path).expect("fixture");
        let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).expect("OLE file");
        let mut data = Vec::new();
        file.open_stream(stream)
            .expect("stream")
            .read_to_end(&mut data)
            .expect("read");
        data
    }

    fn slides(data: &[u8]) -> Vec<(String, String, Role)> {
        let limits = Limits::default();
        let mut ctx = Ctx::new(&limits);
        ppt_stream(&mut ctx, &[], data);
        ctx.segments
            .into_iter()
            .map(|s| (s.location.join("/"), s.text, s.role))
            .collect()
    }

    #[test]
    fn ppt_stream_prefixes_and_flips() {
        let data = fixture_stream("ppt_slides.ppt", "/PowerPoint Document");
        let full = slides(&data);
        assert!(full.contains(&(
            "slide[2]".to_string(),
            "Programme status\nTOP SECRET//NOFORN".to_string(),
            Role::Body
        )));
        for cut in (0..data.len()).step_by(7) {
            let _ = slides(&data[..cut]);
        }
        for i in (0..data.len()).step_by(5) {
            let mut d = data.clone();
            d[i] ^= 0xFF;
            let _ = slides(&d);
        }
    }

    #[test]
    fn ppt_without_persist_directory_numbers_slides_in_stream_order() {
        let mut data = fixture_stream("ppt_slides.ppt", "/PowerPoint Document");
        // Rename the persist directory and the slide lists' atoms: no index at all.
        let mut i = 0;
        while let Some((_, kind, start, end)) = ppt_header(&data, i) {
            if kind == RT_PERSIST_DIRECTORY {
                data[i + 2] = 0;
            }
            i = end.max(start);
        }
        let got = slides(&data);
        assert!(
            got.iter()
                .any(|(l, t, r)| l == "slide[2]" && t.contains("TOP SECRET") && *r == Role::Body)
        );
    }
}
