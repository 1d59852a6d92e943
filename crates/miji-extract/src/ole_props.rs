//! OLE document properties (`\005SummaryInformation`, `\005DocumentSummaryInformation`, MS-OLEPS)
//! of .doc/.xls/.ppt: built-in and user-defined properties as `Name: value` lines, role metadata.

use crate::ctx::{Ctx, join};
use crate::ole::{Cfb, stream, u16_at, u32_at};
use miji::Role;

const VT_I2: u16 = 0x0002;
const VT_I4: u16 = 0x0003;
const VT_R4: u16 = 0x0004;
const VT_R8: u16 = 0x0005;
const VT_BOOL: u16 = 0x000B;
const VT_I1: u16 = 0x0010;
const VT_UI1: u16 = 0x0011;
const VT_UI2: u16 = 0x0012;
const VT_UI4: u16 = 0x0013;
const VT_I8: u16 = 0x0014;
const VT_UI8: u16 = 0x0015;
const VT_INT: u16 = 0x0016;
const VT_UINT: u16 = 0x0017;
const VT_LPSTR: u16 = 0x001E;
const VT_LPWSTR: u16 = 0x001F;

/// Properties kept per section, at most; the rest of a hostile section is ignored.
const MAX_PROPERTIES: usize = 4096;
/// Characters kept of one property value or name.
const MAX_VALUE: usize = 64 * 1024;

/// Built-in SummaryInformation properties kept, named as in docx `docProps/core.xml`/`app.xml`.
const SUMMARY: &[(u32, &str)] = &[
    (2, "title"),
    (3, "subject"),
    (4, "creator"),
    (5, "keywords"),
    (6, "description"),
    (7, "Template"),
    (8, "lastModifiedBy"),
];

/// Built-in DocumentSummaryInformation properties kept (first section).
const DOC_SUMMARY: &[(u32, &str)] = &[
    (2, "category"),
    (0x0E, "Manager"),
    (0x0F, "Company"),
    (0x1A, "contentType"),
    (0x1B, "contentStatus"),
];

/// Reads both property streams of `file` (when present): a segment each at
/// `[..location, "SummaryInformation"]` / `"DocumentSummaryInformation"`, role metadata.
/// User-defined properties (the second section of DocumentSummaryInformation) are named by
/// their dictionary entry, so a `Classification: SECRET` line is visible.
pub(crate) fn extract(ctx: &mut Ctx<'_>, location: &[String], file: &mut Cfb<'_>) {
    for (stream_name, part, names) in [
        ("/\u{5}SummaryInformation", "SummaryInformation", SUMMARY),
        (
            "/\u{5}DocumentSummaryInformation",
            "DocumentSummaryInformation",
            DOC_SUMMARY,
        ),
    ] {
        if !file.is_stream(stream_name) || !ctx.go_on(location) {
            continue;
        }
        let at = join(location, part);
        let Some(data) = stream(ctx, &at, file, stream_name) else {
            continue;
        };
        ctx.segment(lines(&data, names), at, Role::Metadata);
    }
}

/// The `Name: value` lines of a property set stream; malformed parts are skipped (a property
/// stream is auxiliary: a broken one costs its own lines, never the document).
pub(crate) fn lines(data: &[u8], names: &[(u32, &str)]) -> String {
    let mut out = String::new();
    if u16_at(data, 0) != Some(0xFFFE) {
        return out;
    }
    let sections = u32_at(data, 24).unwrap_or(0).min(2) as usize;
    for s in 0..sections {
        let Some(offset) = u32_at(data, 28 + 20 * s + 16) else {
            break;
        };
        let Some(set) = data.get(offset as usize..) else {
            break;
        };
        // Section one carries built-in properties, section two user-defined ones named by
        // the dictionary (property 0).
        section(set, if s == 0 { Some(names) } else { None }, &mut out);
    }
    out.truncate(out.trim_end().len());
    out
}

fn section(set: &[u8], builtin: Option<&[(u32, &str)]>, out: &mut String) {
    let size = u32_at(set, 0).unwrap_or(0) as usize;
    let set = set.get(..size.min(set.len())).unwrap_or(set);
    let count = (u32_at(set, 4).unwrap_or(0) as usize).min(MAX_PROPERTIES);
    let mut entries: Vec<(u32, usize)> = Vec::new();
    for i in 0..count {
        let (Some(id), Some(off)) = (u32_at(set, 8 + 8 * i), u32_at(set, 12 + 8 * i)) else {
            break;
        };
        entries.push((id, off as usize));
    }
    // Code page (property 1) of the 8-bit strings.
    let codepage = entries
        .iter()
        .find(|(id, _)| *id == 1)
        .and_then(|&(_, off)| match u16_at(set, off)? {
            VT_I2 => u16_at(set, off + 4),
            _ => None,
        })
        .unwrap_or(1252);
    let dictionary: Vec<(u32, String)> = match builtin {
        Some(_) => Vec::new(),
        None => entries
            .iter()
            .find(|(id, _)| *id == 0)
            .map(|&(_, off)| dictionary(set, off, codepage))
            .unwrap_or_default(),
    };
    for &(id, off) in &entries {
        if id <= 1 || id & 0x8000_0000 != 0 {
            continue;
        }
        let name: &str = match builtin {
            Some(names) => match names.iter().find(|(n, _)| *n == id) {
                Some((_, name)) => name,
                None => continue,
            },
            None => match dictionary.iter().find(|(n, _)| *n == id) {
                Some((_, name)) => name,
                None => continue,
            },
        };
        let Some(value) = value(set, off, codepage) else {
            continue;
        };
        let value = value.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        if value.is_empty() || name.trim().is_empty() {
            continue;
        }
        out.push_str(name.trim_matches('\0'));
        out.push_str(": ");
        // One property a line: line breaks inside a value become spaces.
        out.extend(value.chars().map(|c| if c.is_control() { ' ' } else { c }));
        out.push('\n');
    }
}

/// The dictionary (property 0): property id → name.
fn dictionary(set: &[u8], off: usize, codepage: u16) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let count = u32_at(set, off).unwrap_or(0) as usize;
    let mut at = off + 4;
    for _ in 0..count.min(MAX_PROPERTIES) {
        let (Some(id), Some(len)) = (u32_at(set, at), u32_at(set, at + 4)) else {
            break;
        };
        let len = len as usize;
        at += 8;
        let name = if codepage == 1200 {
            // UTF-16 names, padded to a multiple of 4 bytes.
            let Some(bytes) = set.get(at..at.saturating_add(len.saturating_mul(2))) else {
                break;
            };
            at += (2 * len + 3) & !3;
            utf16(bytes)
        } else {
            let Some(bytes) = set.get(at..at.saturating_add(len)) else {
                break;
            };
            at += len;
            decode(bytes, codepage)
        };
        out.push((id, name.trim_end_matches('\0').to_string()));
    }
    out
}

/// A property value as text: strings (8-bit in the section's code page, or UTF-16) and
/// numbers; dates, blobs, clipboard pictures and vectors are not text.
fn value(set: &[u8], off: usize, codepage: u16) -> Option<String> {
    let kind = u16_at(set, off)?;
    let at = off + 4;
    Some(match kind {
        VT_LPSTR => {
            let len = (u32_at(set, at)? as usize).min(MAX_VALUE);
            let bytes = set.get(at + 4..(at + 4 + len).min(set.len()))?;
            if codepage == 1200 {
                utf16(bytes)
            } else {
                decode(bytes, codepage)
            }
        }
        VT_LPWSTR => {
            let len = (u32_at(set, at)? as usize).min(MAX_VALUE);
            let bytes = set.get(at + 4..(at + 4 + 2 * len).min(set.len()))?;
            utf16(bytes)
        }
        VT_I2 => (u16_at(set, at)? as i16).to_string(),
        VT_UI2 => u16_at(set, at)?.to_string(),
        VT_I4 | VT_INT => (u32_at(set, at)? as i32).to_string(),
        VT_UI4 | VT_UINT => u32_at(set, at)?.to_string(),
        VT_I1 => (*set.get(at)? as i8).to_string(),
        VT_UI1 => set.get(at)?.to_string(),
        VT_I8 | VT_UI8 => {
            let lo = u64::from(u32_at(set, at)?);
            let hi = u64::from(u32_at(set, at + 4)?);
            let v = hi << 32 | lo;
            if kind == VT_I8 {
                (v as i64).to_string()
            } else {
                v.to_string()
            }
        }
        VT_R4 => f32::from_bits(u32_at(set, at)?).to_string(),
        VT_R8 => {
            let lo = u64::from(u32_at(set, at)?);
            let hi = u64::from(u32_at(set, at + 4)?);
            let v = f64::from_bits(hi << 32 | lo);
            if !v.is_finite() {
                return None;
            }
            v.to_string()
        }
        VT_BOOL => match u16_at(set, at)? {
            0 => "FALSE".to_string(),
            _ => "TRUE".to_string(),
        },
        _ => return None,
    })
}

fn utf16(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0);
    char::decode_utf16(units)
        .map(|c| c.unwrap_or('\u{FFFD}'))
        .collect()
}

/// 8-bit text in Windows code page `codepage`, up to its terminating NUL.
pub(crate) fn decode(bytes: &[u8], codepage: u16) -> String {
    let bytes = match memchr::memchr(0, bytes) {
        Some(end) => &bytes[..end],
        None => bytes,
    };
    if codepage == 1200 {
        return utf16(bytes);
    }
    encoding(codepage)
        .decode_without_bom_handling(bytes)
        .0
        .into_owned()
}

/// The `encoding_rs` encoding of a Windows code page (windows-1252 when unknown).
pub(crate) fn encoding(codepage: u16) -> &'static encoding_rs::Encoding {
    use encoding_rs::*;
    match codepage {
        65001 => UTF_8,
        936 => GBK,
        54936 => GB18030,
        950 => BIG5,
        932 => SHIFT_JIS,
        949 => EUC_KR,
        874 => WINDOWS_874,
        1250 => WINDOWS_1250,
        1251 => WINDOWS_1251,
        1253 => WINDOWS_1253,
        1254 => WINDOWS_1254,
        1255 => WINDOWS_1255,
        1256 => WINDOWS_1256,
        1257 => WINDOWS_1257,
        1258 => WINDOWS_1258,
        20866 => KOI8_R,
        21866 => KOI8_U,
        10000 => MACINTOSH,
        28592 => ISO_8859_2,
        28595 => ISO_8859_5,
        28597 => ISO_8859_7,
        28605 => ISO_8859_15,
        _ => WINDOWS_1252,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A property set stream with one section holding `props` (id, type, value bytes).
    fn stream_of(sections: &[Vec<(u32, Vec<u8>)>]) -> Vec<u8> {
        let mut out = vec![0xFE, 0xFF, 0, 0, 0, 0, 0, 0];
        out.extend([0u8; 16]);
        out.extend((sections.len() as u32).to_le_bytes());
        let header = 28 + 20 * sections.len();
        let mut bodies = Vec::new();
        for props in sections {
            let mut set = Vec::new();
            let table = 8 + 8 * props.len();
            let mut values = Vec::new();
            let mut index = Vec::new();
            for (id, v) in props {
                index.extend(id.to_le_bytes());
                index.extend(((table + values.len()) as u32).to_le_bytes());
                values.extend(v);
                while values.len() % 4 != 0 {
                    values.push(0);
                }
            }
            set.extend(((table + values.len()) as u32).to_le_bytes());
            set.extend((props.len() as u32).to_le_bytes());
            set.extend(index);
            set.extend(values);
            bodies.push(set);
        }
        let mut at = header;
        for body in &bodies {
            out.extend([0u8; 16]);
            out.extend((at as u32).to_le_bytes());
            at += body.len();
        }
        for body in bodies {
            out.extend(body);
        }
        out
    }

    fn lpstr(bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![0x1E, 0, 0, 0];
        v.extend(((bytes.len() + 1) as u32).to_le_bytes());
        v.extend(bytes);
        v.push(0);
        v
    }

    fn codepage(cp: u16) -> Vec<u8> {
        let mut v = vec![0x02, 0, 0, 0];
        v.extend(cp.to_le_bytes());
        v
    }

    #[test]
    fn gbk_title_and_custom_classification() {
        let (gbk, _, _) = encoding_rs::GBK.encode("机密★10年");
        let mut dict = vec![0, 0, 0, 0];
        dict[0] = 1;
        dict.extend(2u32.to_le_bytes());
        dict.extend(15u32.to_le_bytes());
        dict.extend(b"Classification\0");
        let mut wide = vec![0x1F, 0, 0, 0];
        wide.extend(7u32.to_le_bytes());
        for u in "SECRET\0".encode_utf16() {
            wide.extend(u.to_le_bytes());
        }
        let data = stream_of(&[
            vec![(1, codepage(936)), (2, lpstr(&gbk)), (0x0F, lpstr(b"ACME"))],
            vec![(0, dict), (1, codepage(1252)), (2, wide)],
        ]);
        assert_eq!(
            lines(&data, DOC_SUMMARY),
            "category: 机密★10年\nCompany: ACME\nClassification: SECRET"
        );
        assert_eq!(
            lines(&data, SUMMARY),
            "title: 机密★10年\nClassification: SECRET"
        );
    }

    #[test]
    fn hostile_sets_never_panic() {
        let data = stream_of(&[vec![(1, codepage(65001)), (2, lpstr("标题".as_bytes()))]]);
        assert_eq!(lines(&data, SUMMARY), "title: 标题");
        for cut in 0..data.len() {
            let _ = lines(&data[..cut], SUMMARY);
        }
        for i in 0..data.len() {
            let mut d = data.clone();
            d[i] ^= 0xFF;
            let _ = lines(&d, SUMMARY);
        }
    }
}
