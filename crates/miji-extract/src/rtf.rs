//! RTF: one linear pass over the tokens with a group stack. Text bytes (`\'hh` escapes and
//! plain characters) are decoded in the code page of the current font (`\fcharset`) or of the
//! document (`\ansicpgN`, so `\ansicpg936` is GBK); `\uN` is a Unicode character whose `\ucN`
//! fallback bytes are skipped. Headers, footers, footnotes and annotations are their own
//! segments (roles header, footer, footnote, comment), `\info` is metadata; every other
//! destination (font and colour tables, pictures, objects, `\*` groups) is skipped.

use crate::ctx::Ctx;
use encoding_rs::Encoding;
use miji::{ErrorKind, Role};

/// Tokens between clock checks.
const TIME_CHECK_EVERY: u32 = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dest {
    Text,
    Skip,
    FontTable,
    Info,
}

#[derive(Debug, Clone)]
struct Group {
    dest: Dest,
    /// Index into the open buffers this group writes to.
    buffer: usize,
    uc: usize,
    codepage: u32,
    /// The font being defined (font table only).
    font: Option<i32>,
}

#[derive(Debug)]
struct Buffer {
    role: Role,
    text: String,
    /// Bytes waiting for decoding in `codepage`.
    pending: Vec<u8>,
    codepage: u32,
    /// Depth of the group that opened it.
    depth: usize,
}

impl Buffer {
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let encoding = encoding_for(self.codepage);
        let (text, _) = encoding.decode_without_bom_handling(&self.pending);
        self.text.push_str(&text);
        self.pending.clear();
    }

    fn byte(&mut self, b: u8, codepage: u32) {
        if self.codepage != codepage {
            self.flush();
            self.codepage = codepage;
        }
        self.pending.push(b);
    }

    fn push(&mut self, s: &str) {
        self.flush();
        self.text.push_str(s);
    }
}

fn encoding_for(codepage: u32) -> &'static Encoding {
    let label = match codepage {
        936 => "gbk",
        54936 => "gb18030",
        950 => "big5",
        932 => "shift_jis",
        949 => "euc-kr",
        65001 => "utf-8",
        10000 => "macintosh",
        874 => "windows-874",
        1250..=1258 => return windows(codepage),
        _ => "windows-1252",
    };
    Encoding::for_label(label.as_bytes()).unwrap_or(encoding_rs::WINDOWS_1252)
}

fn windows(codepage: u32) -> &'static Encoding {
    Encoding::for_label(format!("windows-{codepage}").as_bytes())
        .unwrap_or(encoding_rs::WINDOWS_1252)
}

/// The code page of an `\fcharsetN`.
fn charset_codepage(charset: i32) -> Option<u32> {
    Some(match charset {
        128 => 932,
        129 => 949,
        134 => 936,
        136 => 950,
        161 => 1253,
        162 => 1254,
        163 => 1258,
        177 => 1255,
        178 => 1256,
        186 => 1257,
        204 => 1251,
        222 => 874,
        238 => 1250,
        77 => 10000,
        _ => return None,
    })
}

/// Destinations whose content is not document text.
const SKIPPED: &[&[u8]] = &[
    b"colortbl",
    b"stylesheet",
    b"pict",
    b"object",
    b"objdata",
    b"themedata",
    b"colorschememapping",
    b"datastore",
    b"latentstyles",
    b"listtable",
    b"listoverridetable",
    b"revtbl",
    b"rsidtbl",
    b"generator",
    b"xmlnstbl",
    b"fldinst",
    b"bkmkstart",
    b"bkmkend",
    b"atnid",
    b"atnauthor",
    b"atndate",
    b"atnref",
    b"pgdsctbl",
    b"filetbl",
    b"mmathPr",
    b"wgrffmtfilter",
    b"pnseclvl",
    b"nonshppict",
    b"shpinst",
];

/// Extracts the RTF document `bytes` at `location`.
pub(crate) fn extract(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8]) {
    let max_depth = ctx.limits.max_xml_depth as usize;
    let mut fonts: Vec<(i32, u32)> = Vec::new();
    let mut doc_codepage = 1252u32;
    let mut buffers = vec![Buffer {
        role: Role::Body,
        text: String::new(),
        pending: Vec::new(),
        codepage: 1252,
        depth: 0,
    }];
    let mut done: Vec<(Role, String)> = Vec::new();
    let mut info_key: Option<String> = None;
    let mut stack: Vec<Group> = vec![Group {
        dest: Dest::Text,
        buffer: 0,
        uc: 1,
        codepage: 1252,
        font: None,
    }];
    // Fallback bytes still to skip after a `\uN`.
    let mut skip_bytes = 0usize;
    // The next control word names a destination (`{\*\dest …}`).
    let mut starred = false;
    let mut group_start = false;
    let mut tokens: u32 = 0;
    let mut i = 0usize;
    let n = bytes.len();
    while i < n {
        tokens = tokens.wrapping_add(1);
        if tokens.is_multiple_of(TIME_CHECK_EVERY) && !ctx.go_on(location) {
            break;
        }
        let b = bytes[i];
        match b {
            b'{' => {
                i += 1;
                if stack.len() >= max_depth {
                    ctx.error(
                        ErrorKind::LimitDepth,
                        location,
                        format!("RTF groups nested deeper than {max_depth}"),
                    );
                    break;
                }
                let top = stack.last().cloned().unwrap_or(Group {
                    dest: Dest::Text,
                    buffer: 0,
                    uc: 1,
                    codepage: doc_codepage,
                    font: None,
                });
                stack.push(top);
                group_start = true;
                skip_bytes = 0;
                continue;
            }
            b'}' => {
                i += 1;
                let depth = stack.len();
                if let Some(g) = stack.pop()
                    && g.dest == Dest::Info
                    && let Some(key) = info_key.take()
                    && stack.last().is_some_and(|p| p.dest == Dest::Info)
                {
                    let last = buffers.len() - 1;
                    let b = &mut buffers[g.buffer.min(last)];
                    b.flush();
                    if key == "propname" {
                        b.text.push_str(": ");
                    } else if !b.text.ends_with('\n') && !b.text.is_empty() {
                        b.text.push('\n');
                    }
                }
                if buffers.len() > 1 && buffers.last().is_some_and(|b| b.depth == depth) {
                    let mut b = buffers.pop().expect("checked");
                    b.flush();
                    done.push((b.role, b.text));
                }
                if stack.is_empty() {
                    // The closing brace of the document.
                    break;
                }
                group_start = false;
                continue;
            }
            b'\\' => {
                i += 1;
                let Some(&c) = bytes.get(i) else { break };
                if c.is_ascii_alphabetic() {
                    let start = i;
                    while i < n && bytes[i].is_ascii_alphabetic() && i - start < 32 {
                        i += 1;
                    }
                    let word = &bytes[start..i];
                    let num_start = i;
                    if i < n && bytes[i] == b'-' {
                        i += 1;
                    }
                    while i < n && bytes[i].is_ascii_digit() && i - num_start < 11 {
                        i += 1;
                    }
                    let param: Option<i32> = std::str::from_utf8(&bytes[num_start..i])
                        .ok()
                        .and_then(|s| s.parse().ok());
                    if i < n && bytes[i] == b' ' {
                        i += 1;
                    }
                    let first = group_start;
                    group_start = false;
                    let depth = stack.len();
                    let Some(g) = stack.last_mut() else { break };
                    if word == b"bin" {
                        i = i.saturating_add(param.unwrap_or(0).max(0) as usize);
                        continue;
                    }
                    if g.dest == Dest::Skip {
                        continue;
                    }
                    // Destinations.
                    if first || starred {
                        let was_starred = starred;
                        starred = false;
                        let role = match word {
                            b"header" | b"headerl" | b"headerr" | b"headerf" => Some(Role::Header),
                            b"footer" | b"footerl" | b"footerr" | b"footerf" => Some(Role::Footer),
                            b"footnote" => Some(Role::Footnote),
                            b"annotation" => Some(Role::Comment),
                            _ => None,
                        };
                        if let Some(role) = role {
                            g.buffer = buffers.len();
                            buffers.push(Buffer {
                                role,
                                text: String::new(),
                                pending: Vec::new(),
                                codepage: g.codepage,
                                depth,
                            });
                            continue;
                        }
                        match word {
                            b"fonttbl" => {
                                g.dest = Dest::FontTable;
                                continue;
                            }
                            // `\info` fields and `{\*\userprops {\propname N}{\staticval V}}`.
                            b"info" | b"userprops" => {
                                g.dest = Dest::Info;
                                g.buffer = buffers.len();
                                buffers.push(Buffer {
                                    role: Role::Metadata,
                                    text: String::new(),
                                    pending: Vec::new(),
                                    codepage: g.codepage,
                                    depth,
                                });
                                continue;
                            }
                            _ => {}
                        }
                        if SKIPPED.contains(&word) || was_starred {
                            g.dest = Dest::Skip;
                            continue;
                        }
                    }
                    match g.dest {
                        Dest::FontTable => match word {
                            b"f" => g.font = param,
                            b"fcharset" => {
                                if let (Some(f), Some(cp)) =
                                    (g.font, param.and_then(charset_codepage))
                                {
                                    fonts.push((f, cp));
                                }
                            }
                            b"cpg" => {
                                if let (Some(f), Some(cp)) = (g.font, param) {
                                    fonts.push((f, cp.max(0) as u32));
                                }
                            }
                            _ => {}
                        },
                        Dest::Info => {
                            if first && word != b"info" && word != b"userprops" {
                                let last = buffers.len() - 1;
                                let buffer = &mut buffers[g.buffer.min(last)];
                                buffer.flush();
                                if word != b"propname" && word != b"staticval" {
                                    buffer.text.push_str(&String::from_utf8_lossy(word));
                                    buffer.text.push_str(": ");
                                }
                                info_key = Some(String::from_utf8_lossy(word).into_owned());
                            }
                        }
                        Dest::Text | Dest::Skip => {}
                    }
                    if g.dest == Dest::FontTable {
                        continue;
                    }
                    let last = buffers.len() - 1;
                    let buffer = &mut buffers[g.buffer.min(last)];
                    match word {
                        b"ansicpg" => {
                            if let Some(cp) = param {
                                doc_codepage = cp.max(0) as u32;
                                g.codepage = doc_codepage;
                            }
                        }
                        b"f" => {
                            let cp = param
                                .and_then(|f| fonts.iter().rev().find(|(id, _)| *id == f))
                                .map(|(_, cp)| *cp)
                                .unwrap_or(doc_codepage);
                            g.codepage = cp;
                        }
                        b"uc" => g.uc = param.unwrap_or(1).clamp(0, 16) as usize,
                        b"u" => {
                            let v = param.unwrap_or(0);
                            let v = if v < 0 { v + 65_536 } else { v } as u32;
                            let c = char::from_u32(v).unwrap_or('\u{FFFD}');
                            let mut tmp = [0u8; 4];
                            buffer.push(c.encode_utf8(&mut tmp));
                            skip_bytes = g.uc;
                        }
                        b"par" | b"line" | b"sect" | b"row" | b"page" => buffer.push("\n"),
                        b"tab" | b"cell" => buffer.push("\t"),
                        b"emdash" => buffer.push("—"),
                        b"endash" => buffer.push("–"),
                        b"lquote" => buffer.push("‘"),
                        b"rquote" => buffer.push("’"),
                        b"ldblquote" => buffer.push("“"),
                        b"rdblquote" => buffer.push("”"),
                        b"bullet" => buffer.push("•"),
                        _ => {}
                    }
                    continue;
                }
                // Control symbols.
                i += 1;
                let first = group_start;
                group_start = false;
                let Some(g) = stack.last_mut() else { break };
                match c {
                    b'*' if first => starred = true,
                    b'\'' => {
                        let hex = bytes
                            .get(i..i + 2)
                            .and_then(|h| std::str::from_utf8(h).ok());
                        let value = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                        i = (i + 2).min(n);
                        if let Some(v) = value
                            && matches!(g.dest, Dest::Text | Dest::Info)
                        {
                            if skip_bytes > 0 {
                                skip_bytes -= 1;
                            } else {
                                let cp = g.codepage;
                                let last = buffers.len() - 1;
                                buffers[g.buffer.min(last)].byte(v, cp);
                            }
                        }
                    }
                    b'\\' | b'{' | b'}' => {
                        if matches!(g.dest, Dest::Text | Dest::Info) {
                            if skip_bytes > 0 {
                                skip_bytes -= 1;
                            } else {
                                let last = buffers.len() - 1;
                                buffers[g.buffer.min(last)].push(&(c as char).to_string());
                            }
                        }
                    }
                    b'~' => {
                        if matches!(g.dest, Dest::Text | Dest::Info) {
                            let last = buffers.len() - 1;
                            buffers[g.buffer.min(last)].push("\u{A0}");
                        }
                    }
                    b'\n' | b'\r' if g.dest == Dest::Text => {
                        let last = buffers.len() - 1;
                        buffers[g.buffer.min(last)].push("\n");
                    }
                    _ => {}
                }
                continue;
            }
            b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                group_start = false;
                let Some(g) = stack.last() else { break };
                if !matches!(g.dest, Dest::Text | Dest::Info) {
                    continue;
                }
                if skip_bytes > 0 {
                    skip_bytes -= 1;
                    continue;
                }
                let cp = g.codepage;
                let last = buffers.len() - 1;
                buffers[g.buffer.min(last)].byte(b, cp);
            }
        }
    }
    while let Some(mut b) = buffers.pop() {
        b.flush();
        done.push((b.role, b.text));
    }
    // Body first, then the rest in the order their groups closed.
    let body_at = done.iter().position(|(r, _)| *r == Role::Body);
    if let Some(k) = body_at {
        let body = done.remove(k);
        done.insert(0, body);
    }
    for (role, text) in done {
        let text = text
            .lines()
            .map(str::trim_end)
            // Info fields without text (`\creatim\yr2024…`) leave bare `name:` lines.
            .filter(|l| role != Role::Metadata || !l.ends_with(':'))
            .collect::<Vec<_>>()
            .join("\n");
        ctx.segment(text.trim().to_string(), location.to_vec(), role);
    }
}
