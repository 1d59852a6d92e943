//! Legacy OLE compound documents, opened with `cfb`: Word 97–2003 `.doc` (and Kingsoft WPS
//! `.wps` files, which carry the same `WordDocument` stream) through the piece table, split
//! into stories by the FIB's character counts (body, footnotes, headers/footers by `PlcfHdd`,
//! annotations, endnotes, text boxes); PowerPoint 97–2003 `.ppt` through its text atoms
//! (slides, notes, masters). Spreadsheets (`.xls`), mail (`.msg`) and other OLE files are
//! `unsupported-format`; encrypted ones `encrypted`.

use crate::ctx::Ctx;
use miji::{ErrorKind, Role};
use std::io::Cursor;

type Cfb<'b> = cfb::CompoundFile<Cursor<&'b [u8]>>;

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
    } else if file.is_stream("/PowerPoint Document") {
        ppt(ctx, location, &mut file);
    } else if file.is_stream("/Workbook") || file.is_stream("/Book") {
        ctx.error(
            ErrorKind::UnsupportedFormat,
            location,
            "Excel 97-2003 workbook (.xls) is not read",
        );
    } else {
        ctx.error(
            ErrorKind::UnsupportedFormat,
            location,
            "OLE compound document (msg or other) is not read",
        );
    }
}

fn stream(
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

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
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
const RT_SLIDE: u16 = 0x03EE;
const RT_NOTES: u16 = 0x03F0;
const RT_MAIN_MASTER: u16 = 0x03F8;
const RT_SLIDE_LIST: u16 = 0x0FF0;
const RT_TEXT_CHARS: u16 = 0x0FA0;
const RT_TEXT_BYTES: u16 = 0x0FA8;
const RT_CSTRING: u16 = 0x0FBA;
const RT_CRYPT_SESSION: u16 = 0x2F14;

fn ppt(ctx: &mut Ctx<'_>, location: &[String], file: &mut Cfb<'_>) {
    if file.is_stream("/EncryptedSummary") {
        ctx.error(
            ErrorKind::Encrypted,
            location,
            "password-protected PowerPoint file",
        );
        return;
    }
    let Some(data) = stream(ctx, location, file, "/PowerPoint Document") else {
        return;
    };
    let mut body = String::new();
    let mut notes = String::new();
    let mut masters = String::new();
    // Slide text is stored twice (slide list and slide drawing): keep each string once a role.
    let mut seen: std::collections::HashSet<(u8, String)> = std::collections::HashSet::new();
    // (end offset, role) of the open containers.
    let mut open: Vec<(usize, Option<Role>)> = Vec::new();
    let mut i = 0usize;
    let mut records: u32 = 0;
    while i + 8 <= data.len() {
        records = records.wrapping_add(1);
        if records.is_multiple_of(4096) && !ctx.go_on(location) {
            return;
        }
        while open.last().is_some_and(|(end, _)| *end <= i) {
            open.pop();
        }
        let ver_inst = u16_at(&data, i).unwrap_or(0);
        let kind = u16_at(&data, i + 2).unwrap_or(0);
        let len = u32_at(&data, i + 4).unwrap_or(0) as usize;
        let start = i + 8;
        let end = start.saturating_add(len).min(data.len());
        if kind == RT_CRYPT_SESSION {
            ctx.error(
                ErrorKind::Encrypted,
                location,
                "password-protected PowerPoint file",
            );
            return;
        }
        if ver_inst & 0x000F == 0x000F {
            let role = match kind {
                RT_SLIDE => Some(Role::Body),
                RT_NOTES => Some(Role::Notes),
                RT_MAIN_MASTER => Some(Role::Header),
                RT_SLIDE_LIST => match ver_inst >> 4 {
                    1 => Some(Role::Header),
                    2 => Some(Role::Notes),
                    _ => Some(Role::Body),
                },
                _ => None,
            };
            let inherited = open.iter().rev().find_map(|(_, r)| *r);
            if open.len() < 64 {
                open.push((end, role.or(inherited)));
            }
            i = start;
            continue;
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
            let role = open.iter().rev().find_map(|(_, r)| *r);
            // CStrings outside slides, notes and masters are names (fonts, authors).
            // `___PPT10`-style tag names are not text.
            if (kind != RT_CSTRING || role.is_some()) && !text.starts_with("___PPT") {
                let (target, key) = match role {
                    Some(Role::Notes) => (&mut notes, 1),
                    Some(Role::Header) => (&mut masters, 2),
                    _ => (&mut body, 0),
                };
                let text = text.replace(['\r', '\u{0B}'], "\n");
                let text = text.trim();
                if !text.is_empty() && seen.insert((key, text.to_string())) {
                    target.push_str(text);
                    target.push('\n');
                }
            }
        }
        i = end.max(start);
    }
    ctx.segment(body.trim_end().to_string(), location.to_vec(), Role::Body);
    ctx.segment(notes.trim_end().to_string(), location.to_vec(), Role::Notes);
    ctx.segment(
        masters.trim_end().to_string(),
        location.to_vec(),
        Role::Header,
    );
}
