//! MIME building blocks, all linear in their input: header fields (RFC 5322), encoded words
//! (RFC 2047), parameters (RFC 2045 with RFC 2231 continuations and charsets), charset labels
//! (through `encoding_rs`, with the usual Windows aliases) and streaming base64 /
//! quoted-printable decoders that plug into the record's bounded reader.

use crate::text::decode_name;
use encoding_rs::{BIG5, EUC_KR, Encoding, GBK, REPLACEMENT, SHIFT_JIS, UTF_8, WINDOWS_1252};
use std::io::{self, Read};

/// Longest charset label looked at in an encoded word (`=?charset?B?…?=`).
const MAX_CHARSET: usize = 64;

/// One header field: the raw name and the raw (still folded) value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) value: &'a [u8],
}

impl Field<'_> {
    /// The name as text (header names are ASCII; anything else is replaced).
    pub(crate) fn name(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }

    /// Whether the field is named `name` (ASCII case-insensitive).
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The unfolded value as text (UTF-8, else the most plausible legacy encoding for raw
    /// 8-bit headers), trimmed, without encoded-word decoding.
    pub(crate) fn raw_text(&self) -> String {
        let unfolded: Vec<u8> = self
            .value
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        decode_name(&unfolded).trim().to_string()
    }

    /// The unfolded value with encoded words decoded.
    pub(crate) fn text(&self) -> String {
        decode_words(&self.raw_text())
    }
}

/// Whether `line` starts a header field (`Name:` with a printable ASCII name); returns the
/// offset of the colon.
pub(crate) fn field_colon(line: &[u8]) -> Option<usize> {
    // Stops at the first byte that cannot precede the colon (a long body line is not read to
    // its end): the name is printable ASCII without spaces, then optional blanks.
    let mut name_len = 0;
    let mut blanks = false;
    for (i, &b) in line.iter().enumerate() {
        match b {
            b':' => return (name_len > 0).then_some(i),
            b' ' | b'\t' => blanks = true,
            33..=126 if !blanks => name_len = i + 1,
            _ => return None,
        }
    }
    None
}

fn trim_end_wsp(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The header fields of `bytes` and the offset where the body starts: after the first empty
/// line, or at the first line that is neither a field nor a continuation (a malformed header
/// block ends there). A leading mbox `From ` envelope line is skipped.
pub(crate) fn parse_headers<'a>(bytes: &'a [u8]) -> (Vec<Field<'a>>, usize) {
    let mut fields: Vec<Field<'a>> = Vec::new();
    // (name, value start, value end) of the field being read.
    let mut current: Option<(usize, usize, usize, usize)> = None;
    let mut pos = 0;
    let mut first = true;
    let push = |fields: &mut Vec<Field<'a>>, c: Option<(usize, usize, usize, usize)>| {
        if let Some((ns, ne, vs, ve)) = c {
            fields.push(Field {
                name: trim_end_wsp(&bytes[ns..ne]),
                value: &bytes[vs..ve],
            });
        }
    };
    while pos < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
        let next = (end + 1).min(bytes.len());
        let mut line = &bytes[pos..end];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.is_empty() {
            push(&mut fields, current.take());
            return (fields, next);
        }
        if matches!(line[0], b' ' | b'\t') {
            match current.as_mut() {
                Some(c) => c.3 = pos + line.len(),
                None if first => {} // stray leading whitespace: ignored
                None => {
                    push(&mut fields, current.take());
                    return (fields, pos);
                }
            }
        } else if let Some(colon) = field_colon(line) {
            push(&mut fields, current.take());
            current = Some((pos, pos + colon, pos + colon + 1, pos + line.len()));
        } else if first && (line.starts_with(b"From ") || line.starts_with(b">From ")) {
            // mbox envelope line
        } else {
            push(&mut fields, current.take());
            return (fields, pos);
        }
        first = false;
        pos = next;
    }
    push(&mut fields, current.take());
    (fields, bytes.len())
}

/// The first field named `name`.
pub(crate) fn find<'f, 'a>(fields: &'f [Field<'a>], name: &str) -> Option<&'f Field<'a>> {
    fields.iter().find(|f| f.is(name))
}

// ----- charsets -----

/// The encoding a MIME charset label names, with the Windows and IANA aliases mailers use
/// that the WHATWG list lacks. `None` for unknown labels and for encodings `encoding_rs` maps
/// to its replacement decoder (ISO-2022-KR, HZ…).
pub(crate) fn charset(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches(|c| c == '"' || c == '\'');
    let lower = label.to_ascii_lowercase();
    let alias = match lower.as_str() {
        "cp936" | "ms936" | "windows-936" | "936" | "gb_2312" | "euc-cn" | "x-euc-cn" => Some(GBK),
        "cp950" | "ms950" | "windows-950" | "big5hkscs" | "x-x-big5" => Some(BIG5),
        "cp949" | "ms949" | "windows-949" | "uhc" | "ks_c_5601" => Some(EUC_KR),
        "cp932" | "windows-932" | "x-ms-cp932" => Some(SHIFT_JIS),
        "utf8" | "x-utf-8" => Some(UTF_8),
        "ascii" | "iso646-us" | "cp367" | "ansi_x3.4-1968" | "7bit" | "8bit" => Some(WINDOWS_1252),
        _ => None,
    };
    let encoding = alias.or_else(|| Encoding::for_label(lower.as_bytes()))?;
    (encoding != REPLACEMENT).then_some(encoding)
}

/// Decodes text bytes declared to be in `label`. Mislabels are common and are corrected: bytes
/// declared UTF-8 that are not, and unknown labels, are detected; bytes declared ASCII/Latin-1
/// that are valid UTF-8 are UTF-8. Never fails (malformed sequences become U+FFFD).
pub(crate) fn decode_charset(label: Option<&str>, bytes: &[u8]) -> String {
    let Some(encoding) = label.and_then(charset) else {
        return decode_name(bytes);
    };
    if encoding == UTF_8 || encoding == WINDOWS_1252 {
        if let Ok(text) = std::str::from_utf8(bytes) {
            return text.to_string();
        }
        if encoding == UTF_8 {
            return decode_name(bytes);
        }
    }
    encoding.decode(bytes).0.into_owned()
}

// ----- encoded words (RFC 2047) -----

/// Decodes the RFC 2047 encoded words of a header value (`=?gbk?B?…?=`, `=?utf-8?Q?…?=`), in
/// any charset `encoding_rs` knows. Whitespace between adjacent encoded words is dropped and
/// their bytes are joined before decoding when they share a charset (mailers split multi-byte
/// characters across words). Malformed words stay as they are.
pub(crate) fn decode_words(s: &str) -> String {
    if !s.contains("=?") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut pending: Option<(String, Vec<u8>)> = None;
    let flush = |out: &mut String, pending: &mut Option<(String, Vec<u8>)>| {
        if let Some((label, bytes)) = pending.take() {
            out.push_str(&decode_charset(Some(&label), &bytes));
        }
    };
    let mut i = 0;
    while let Some(found) = s[i..].find("=?") {
        let p = i + found;
        let between = &s[i..p];
        match encoded_word(s, p) {
            Some((label, bytes, end)) => {
                let adjacent = pending.is_some() && between.trim().is_empty();
                match pending.as_mut() {
                    Some((pending_label, pending_bytes))
                        if adjacent && pending_label.eq_ignore_ascii_case(&label) =>
                    {
                        pending_bytes.extend_from_slice(&bytes);
                    }
                    _ => {
                        flush(&mut out, &mut pending);
                        if !adjacent {
                            out.push_str(between);
                        }
                        pending = Some((label, bytes));
                    }
                }
                i = end;
            }
            None => {
                flush(&mut out, &mut pending);
                out.push_str(&s[i..p + 2]);
                i = p + 2;
            }
        }
    }
    flush(&mut out, &mut pending);
    out.push_str(&s[i..]);
    out
}

/// Parses the encoded word starting at `p` (at `=?`): its charset label (RFC 2231 language
/// suffix dropped), decoded bytes and end offset. Each scan stops at the next `?`, so a run of
/// malformed words costs linear time.
fn encoded_word(s: &str, p: usize) -> Option<(String, Vec<u8>, usize)> {
    let b = s.as_bytes();
    let start = p + 2;
    let q1 = start
        + b[start..]
            .iter()
            .take(MAX_CHARSET + 1)
            .position(|&c| c == b'?')?;
    let label = &s[start..q1];
    // An empty label (invalid, but seen) is detected like an unknown one.
    if label.bytes().any(|c| c.is_ascii_whitespace() || c == b'=') {
        return None;
    }
    let encoding = *b.get(q1 + 1)?;
    if b.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let len = b[text_start..]
        .iter()
        .position(|&c| c == b'?' || c.is_ascii_whitespace())?;
    let text_end = text_start + len;
    if b[text_end] != b'?' || b.get(text_end + 1) != Some(&b'=') {
        return None;
    }
    let text = &b[text_start..text_end];
    let bytes = match encoding {
        b'B' | b'b' => base64_lenient(text),
        b'Q' | b'q' => q_decode(text),
        _ => return None,
    };
    let label = label.split('*').next().unwrap_or(label).to_string();
    Some((label, bytes, text_end + 2))
}

fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => match hex_pair(text.get(i + 1..i + 3)) {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'='),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn hex_pair(pair: Option<&[u8]>) -> Option<u8> {
    let pair = pair?;
    let hi = (pair[0] as char).to_digit(16)?;
    let lo = (pair[1] as char).to_digit(16)?;
    Some((hi * 16 + lo) as u8)
}

/// Base64 of an encoded word: invalid characters are skipped, missing padding tolerated.
fn base64_lenient(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4 + 2);
    let mut acc: u32 = 0;
    let mut n = 0;
    for &c in text {
        let v = B64[c as usize];
        if v >= 64 {
            continue;
        }
        acc = acc << 6 | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

// ----- parameters (RFC 2045, RFC 2231) -----

/// A structured header value such as `Content-Type` or `Content-Disposition`: the leading
/// value (lowercased) and the parameters, names lowercased, values decoded.
#[derive(Debug, Default, Clone)]
pub(crate) struct Structured {
    pub(crate) value: String,
    pub(crate) params: Vec<(String, String)>,
}

impl Structured {
    /// The parameter `name` (lowercase).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `value; name=token; name="quoted"; name*=charset'lang'%XX; name*0*=…; name*1=…`.
/// RFC 2231 continuations are joined in index order and percent-decoded in their charset; a
/// plain value holding RFC 2047 encoded words (Outlook's `name="=?gbk?B?…?="`) is decoded too.
pub(crate) fn parse_structured(text: &str) -> Structured {
    let b = text.as_bytes();
    let first_end = split_point(b, 0);
    let value = text[..first_end].trim().to_ascii_lowercase();
    let mut raw: Vec<(String, String)> = Vec::new();
    let mut i = first_end;
    while i < b.len() {
        // at ';' or past the end of the previous parameter
        while i < b.len() && (b[i] == b';' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let key_start = i;
        while i < b.len() && b[i] != b'=' && b[i] != b';' {
            i += 1;
        }
        let key = text[key_start..i].trim().to_ascii_lowercase();
        if i >= b.len() || b[i] == b';' {
            continue; // a key without a value
        }
        i += 1; // '='
        while i < b.len() && matches!(b[i], b' ' | b'\t') {
            i += 1;
        }
        let mut val = String::new();
        if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut seg_start = i;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    val.push_str(&text[seg_start..i]);
                    seg_start = i + 1;
                    i += 2;
                    continue;
                }
                i += 1;
            }
            val.push_str(&text[seg_start..i.min(b.len())]);
            i += 1; // closing quote (or past the end)
            // anything up to the next ';' is junk
            i = split_point(b, i.min(b.len()));
        } else {
            let end = split_point(b, i);
            val.push_str(text[i..end].trim());
            i = end;
        }
        if !key.is_empty() {
            raw.push((key, val));
        }
    }
    Structured {
        value,
        params: assemble_params(raw),
    }
}

/// The offset of the next `;` outside quotes at or after `from` (or the end).
fn split_point(b: &[u8], from: usize) -> usize {
    let mut quoted = false;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b';' if !quoted => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// One RFC 2231 section of a parameter: its index, whether it is percent-encoded, its value.
type Section = (u32, bool, String);

/// Joins RFC 2231 sections and decodes values.
fn assemble_params(raw: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut plain: Vec<(String, String)> = Vec::new();
    let mut extended: Vec<(String, Vec<Section>)> = Vec::new();
    for (key, val) in raw {
        let Some(star) = key.find('*') else {
            let val = if val.contains("=?") {
                decode_words(&val)
            } else {
                val
            };
            plain.push((key, val));
            continue;
        };
        let name = key[..star].to_string();
        let rest = &key[star + 1..];
        let (index, is_ext) = if rest.is_empty() {
            (0, true) // name*=
        } else {
            let (num, ext) = match rest.strip_suffix('*') {
                Some(num) => (num, true),
                None => (rest, false),
            };
            match num.parse::<u32>() {
                Ok(n) => (n, ext),
                Err(_) => continue,
            }
        };
        match extended.iter_mut().find(|(n, _)| *n == name) {
            Some((_, sections)) => sections.push((index, is_ext, val)),
            None => extended.push((name, vec![(index, is_ext, val)])),
        }
    }
    for (name, mut sections) in extended {
        sections.sort_by_key(|s| s.0);
        let mut label: Option<String> = None;
        let mut bytes = Vec::new();
        for (i, (_, is_ext, val)) in sections.iter().enumerate() {
            if *is_ext {
                let mut data = val.as_str();
                if i == 0 {
                    let mut parts = val.splitn(3, '\'');
                    if let (Some(cs), Some(_lang), Some(rest)) =
                        (parts.next(), parts.next(), parts.next())
                    {
                        if !cs.is_empty() {
                            label = Some(cs.to_string());
                        }
                        data = rest;
                    }
                }
                percent_decode(data.as_bytes(), &mut bytes);
            } else {
                bytes.extend_from_slice(val.as_bytes());
            }
        }
        let value = decode_charset(label.as_deref(), &bytes);
        plain.retain(|(n, _)| *n != name);
        plain.push((name, value));
    }
    plain
}

fn percent_decode(data: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'%'
            && let Some(byte) = hex_pair(data.get(i + 1..i + 3))
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
}

// ----- transfer encodings -----

/// Base64 alphabet values; 64 = whitespace, 65 = padding, 255 = invalid.
static B64: [u8; 256] = {
    let mut table = [255u8; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table[b' ' as usize] = 64;
    table[b'\t' as usize] = 64;
    table[b'\r' as usize] = 64;
    table[b'\n' as usize] = 64;
    table[0x0B] = 64;
    table[0x0C] = 64;
    table[b'=' as usize] = 65;
    table
};

/// Input consumed per refill of the decoders' output buffer.
const DECODE_CHUNK: usize = 48 * 1024;

/// Streams the base64 body of a part. Whitespace is skipped, padding ends a quantum (a new
/// quantum may follow: concatenated bodies), missing final padding is tolerated; an invalid
/// character or a dangling single character is an `InvalidData` error, reported after the
/// bytes decoded before it have been read.
#[derive(Debug)]
pub(crate) struct Base64Reader<'a> {
    input: &'a [u8],
    pos: usize,
    acc: u32,
    n: u8,
    out: Vec<u8>,
    out_pos: usize,
    error: Option<io::Error>,
    done: bool,
}

impl<'a> Base64Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Base64Reader<'a> {
        Base64Reader {
            input,
            pos: 0,
            acc: 0,
            n: 0,
            out: Vec::new(),
            out_pos: 0,
            error: None,
            done: false,
        }
    }

    /// Ends a quantum at padding or at the end of the input.
    fn end_quantum(&mut self) -> bool {
        let acc = self.acc;
        match self.n {
            0 => {}
            1 => {
                self.error = Some(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("truncated base64 quantum at byte {}", self.pos),
                ));
                return false;
            }
            2 => self.out.push((acc >> 4) as u8),
            _ => self
                .out
                .extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        }
        self.acc = 0;
        self.n = 0;
        true
    }

    fn fill(&mut self) {
        self.out.clear();
        self.out_pos = 0;
        let end = self.input.len().min(self.pos + DECODE_CHUNK);
        self.out.reserve(DECODE_CHUNK / 4 * 3 + 3);
        while self.pos < end {
            // Fast path: whole quanta of four alphabet characters (the lines of a body).
            if self.n == 0 {
                while self.pos + 4 <= end {
                    let q = &self.input[self.pos..self.pos + 4];
                    let v = [
                        B64[q[0] as usize],
                        B64[q[1] as usize],
                        B64[q[2] as usize],
                        B64[q[3] as usize],
                    ];
                    if (v[0] | v[1] | v[2] | v[3]) >= 64 {
                        break;
                    }
                    let acc = u32::from(v[0]) << 18
                        | u32::from(v[1]) << 12
                        | u32::from(v[2]) << 6
                        | u32::from(v[3]);
                    self.out
                        .extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                    self.pos += 4;
                }
                if self.pos >= end {
                    break;
                }
            }
            let c = self.input[self.pos];
            let v = B64[c as usize];
            if v < 64 {
                self.acc = self.acc << 6 | u32::from(v);
                self.n += 1;
                if self.n == 4 {
                    let acc = self.acc;
                    self.out
                        .extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                    self.acc = 0;
                    self.n = 0;
                }
            } else if v == 65 {
                if !self.end_quantum() {
                    self.done = true;
                    return;
                }
            } else if v != 64 {
                self.error = Some(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("invalid base64 byte 0x{c:02X} at byte {}", self.pos),
                ));
                self.done = true;
                return;
            }
            self.pos += 1;
        }
        if self.pos >= self.input.len() {
            self.end_quantum();
            self.done = true;
        }
    }
}

impl Read for Base64Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_buffered(buf, self, Base64Reader::fill)
    }
}

/// The shared `read` of the buffered decoders.
trait Buffered {
    fn parts(&mut self) -> (&[u8], &mut usize, &mut Option<io::Error>, bool);
}

impl Buffered for Base64Reader<'_> {
    fn parts(&mut self) -> (&[u8], &mut usize, &mut Option<io::Error>, bool) {
        (&self.out, &mut self.out_pos, &mut self.error, self.done)
    }
}

impl Buffered for QpReader<'_> {
    fn parts(&mut self) -> (&[u8], &mut usize, &mut Option<io::Error>, bool) {
        (&self.out, &mut self.out_pos, &mut self.error, self.done)
    }
}

fn read_buffered<D: Buffered>(
    buf: &mut [u8],
    decoder: &mut D,
    fill: fn(&mut D),
) -> io::Result<usize> {
    loop {
        let (out, out_pos, error, done) = decoder.parts();
        if *out_pos < out.len() {
            let n = buf.len().min(out.len() - *out_pos);
            buf[..n].copy_from_slice(&out[*out_pos..*out_pos + n]);
            *out_pos += n;
            return Ok(n);
        }
        if let Some(e) = error.take() {
            return Err(e);
        }
        if done || buf.is_empty() {
            return Ok(0);
        }
        fill(decoder);
    }
}

/// Streams a quoted-printable body: `=XX` escapes, soft line breaks (`=` at a line end); an
/// `=` that starts neither stays literal, as RFC 2045 advises. Never fails.
#[derive(Debug)]
pub(crate) struct QpReader<'a> {
    input: &'a [u8],
    pos: usize,
    out: Vec<u8>,
    out_pos: usize,
    error: Option<io::Error>,
    done: bool,
}

impl<'a> QpReader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> QpReader<'a> {
        QpReader {
            input,
            pos: 0,
            out: Vec::new(),
            out_pos: 0,
            error: None,
            done: false,
        }
    }

    fn fill(&mut self) {
        self.out.clear();
        self.out_pos = 0;
        let input = self.input;
        let end = input.len().min(self.pos + DECODE_CHUNK);
        while self.pos < end {
            let c = input[self.pos];
            if c != b'=' {
                // Copy the run up to the next '='.
                let run = memchr::memchr(b'=', &input[self.pos..end]).unwrap_or(end - self.pos);
                self.out.extend_from_slice(&input[self.pos..self.pos + run]);
                self.pos += run;
                continue;
            }
            let rest = &input[self.pos + 1..];
            if let Some(byte) = hex_pair(rest.get(..2)) {
                self.out.push(byte);
                self.pos += 3;
            } else if rest.starts_with(b"\r\n") {
                self.pos += 3;
            } else if rest.starts_with(b"\n") {
                self.pos += 2;
            } else {
                // `=` followed by trailing whitespace then a line end is a soft break too.
                let ws = rest
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count();
                match rest.get(ws..) {
                    Some(tail) if ws > 0 && tail.starts_with(b"\r\n") => self.pos += 1 + ws + 2,
                    Some(tail) if ws > 0 && tail.starts_with(b"\n") => self.pos += 1 + ws + 1,
                    Some([]) => self.pos = input.len(),
                    _ => {
                        self.out.push(b'=');
                        self.pos += 1;
                    }
                }
            }
        }
        if self.pos >= input.len() {
            self.done = true;
        }
    }
}

impl Read for QpReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_buffered(buf, self, QpReader::fill)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(mut reader: impl Read) -> (Vec<u8>, Option<String>) {
        let mut out = Vec::new();
        let mut buf = [0u8; 5]; // tiny buffer: exercises the refills
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }

    #[test]
    fn encoded_words() {
        // GBK, GB2312, Big5, UTF-8; B and Q; split multi-byte characters; dropped white space.
        let gbk = GBK.encode("机密★10年").0;
        let b64 = |b: &[u8]| {
            let mut s = String::new();
            for chunk in b.chunks(3) {
                let mut n = [0u8; 3];
                n[..chunk.len()].copy_from_slice(chunk);
                let v = u32::from(n[0]) << 16 | u32::from(n[1]) << 8 | u32::from(n[2]);
                let a = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                for i in 0..4 {
                    if i <= chunk.len() {
                        s.push(a[(v >> (18 - 6 * i) & 63) as usize] as char);
                    } else {
                        s.push('=');
                    }
                }
            }
            s
        };
        assert_eq!(
            decode_words(&format!("=?gbk?B?{}?=", b64(&gbk))),
            "机密★10年"
        );
        assert_eq!(
            decode_words(&format!("Re: =?GB2312?b?{}?= plan", b64(&gbk))),
            "Re: 机密★10年 plan"
        );
        let (a, b) = gbk.split_at(3); // splits 密 across two words
        assert_eq!(
            decode_words(&format!("=?gbk?B?{}?=\r\n =?gbk?B?{}?=", b64(a), b64(b))),
            "机密★10年"
        );
        let big5 = BIG5.encode("極機密").0;
        assert_eq!(
            decode_words(&format!("=?big5?B?{}?=", b64(&big5))),
            "極機密"
        );
        assert_eq!(
            decode_words("=?utf-8?Q?TOP_SECRET//NOFORN_=E2=80=93_plan?="),
            "TOP SECRET//NOFORN – plan"
        );
        assert_eq!(decode_words("=?utf-8*en?q?a?= =?utf-8?q?b?="), "ab");
        assert_eq!(decode_words("=?utf-8?q?a?= x =?utf-8?q?b?="), "a x b");
        // Malformed and unknown: left as is, or guessed.
        assert_eq!(decode_words("=?utf-8?X?abc?="), "=?utf-8?X?abc?=");
        assert_eq!(decode_words("a =? b ?= c =?"), "a =? b ?= c =?");
        assert_eq!(decode_words("=?no-such-charset?Q?plain?="), "plain");
        assert_eq!(
            decode_words(&format!("=?x-unknown?B?{}?=", b64(&gbk))),
            "机密★10年"
        );
        // Linear on hostile input.
        let hostile = "=?a?b?".repeat(200_000);
        assert_eq!(decode_words(&hostile).len(), hostile.len());
    }

    #[test]
    fn parameters() {
        let ct = parse_structured(
            "Text/Plain; charset=\"gbk\"; name*0*=utf-8''%E6%9C%BA%E5%AF%86; name*1=.docx; x",
        );
        assert_eq!(ct.value, "text/plain");
        assert_eq!(ct.param("charset"), Some("gbk"));
        assert_eq!(ct.param("name"), Some("机密.docx"));
        let gbk_name = format!(
            "attachment; filename*=gbk'zh'{}",
            GBK.encode("计划.txt")
                .0
                .iter()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        );
        assert_eq!(
            parse_structured(&gbk_name).param("filename"),
            Some("计划.txt")
        );
        let outlook = parse_structured("attachment; filename=\"=?utf-8?B?6K6h5YiSLmRvY3g=?=\"");
        assert_eq!(outlook.value, "attachment");
        assert_eq!(outlook.param("filename"), Some("计划.docx"));
        let quoted = parse_structured("multipart/mixed; boundary=\"a;b\\\"c\" ; other=1");
        assert_eq!(quoted.param("boundary"), Some("a;b\"c"));
        assert_eq!(quoted.param("other"), Some("1"));
    }

    #[test]
    fn charsets() {
        assert_eq!(charset("GB2312"), Some(GBK));
        assert_eq!(charset("cp936"), Some(GBK));
        assert_eq!(charset("\"big5\""), Some(BIG5));
        assert_eq!(charset("ks_c_5601-1987"), Some(EUC_KR));
        assert_eq!(charset("hz-gb-2312"), None);
        assert_eq!(charset("x-made-up"), None);
        assert_eq!(decode_charset(Some("us-ascii"), "机密".as_bytes()), "机密");
        let gbk = GBK.encode("机密★10年").0;
        assert_eq!(decode_charset(Some("utf-8"), &gbk), "机密★10年");
        assert_eq!(decode_charset(None, &gbk), "机密★10年");
    }

    #[test]
    fn headers() {
        let mail =
            b"From x\nSubject: =?utf-8?q?a?=\r\n =?utf-8?q?b?=\r\nX-Empty:\r\nTo : y\r\n\r\nbody";
        let (fields, body) = parse_headers(mail);
        assert_eq!(&mail[body..], b"body");
        let names: Vec<String> = fields.iter().map(Field::name).collect();
        assert_eq!(names, ["Subject", "X-Empty", "To"]);
        assert_eq!(fields[0].text(), "ab");
        assert_eq!(fields[2].text(), "y");
        // A line that is not a field ends the block.
        let (fields, body) = parse_headers(b"Subject: s\nnot a header\nmore");
        assert_eq!(fields.len(), 1);
        assert_eq!(body, 11);
    }

    #[test]
    fn base64_stream() {
        assert_eq!(
            read_all(Base64Reader::new(b"VE9QIFNF\r\nQ1JFVA==\r\n")),
            (b"TOP SECRET".to_vec(), None)
        );
        assert_eq!(read_all(Base64Reader::new(b"YWJj\nZA")).0, b"abcd");
        assert_eq!(read_all(Base64Reader::new(b"YQ==YQ==")).0, b"aa");
        let (data, err) = read_all(Base64Reader::new(b"YWJjZGVm\n!!!!"));
        assert_eq!(data, b"abcdef");
        assert!(err.unwrap().contains("invalid base64 byte 0x21"));
        let (data, err) = read_all(Base64Reader::new(b"YWJjZ"));
        assert_eq!(data, b"abc");
        assert!(err.unwrap().contains("truncated"));
        let big = vec![b'A'; 200_000];
        assert_eq!(read_all(Base64Reader::new(&big)).0.len(), 150_000);
    }

    /// The byte-at-a-time decoding the fast path of [`Base64Reader`] must agree with:
    /// (output, error position) for inputs that fit one chunk.
    fn base64_reference(input: &[u8]) -> (Vec<u8>, Option<String>) {
        let (mut out, mut acc, mut n) = (Vec::new(), 0u32, 0u8);
        for (pos, &c) in input.iter().enumerate() {
            match B64[c as usize] {
                v @ 0..=63 => {
                    acc = acc << 6 | u32::from(v);
                    n += 1;
                    if n == 4 {
                        out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                        (acc, n) = (0, 0);
                    }
                }
                64 => {}
                65 => match n {
                    0 => {}
                    1 => return (out, Some(format!("truncated at {pos}"))),
                    2 => (out.push((acc >> 4) as u8), (acc, n) = (0, 0)).1,
                    _ => {
                        (
                            out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
                            (acc, n) = (0, 0),
                        )
                            .1
                    }
                },
                _ => return (out, Some(format!("0x{c:02X} at byte {pos}"))),
            }
        }
        match n {
            1 => return (out, Some("truncated".into())),
            2 => out.push((acc >> 4) as u8),
            3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
            _ => {}
        }
        (out, None)
    }

    #[test]
    fn base64_fast_path_matches_bytewise_decoding() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let extra = b" \t\r\n=!";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |m: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % m as u64) as usize
        };
        for case in 0..3000 {
            let len = rnd(120);
            let noise = 1 + rnd(30);
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    if rnd(noise) == 0 {
                        extra[rnd(extra.len() - usize::from(case % 3 != 0))]
                    } else {
                        alphabet[rnd(64)]
                    }
                })
                .collect();
            let (want, want_err) = base64_reference(&input);
            let (got, got_err) = read_all(Base64Reader::new(&input));
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&input));
            match (want_err, got_err) {
                (None, None) => {}
                (Some(w), Some(g)) if w.starts_with("truncated") => {
                    assert!(g.contains("truncated"), "{g}")
                }
                (Some(w), Some(g)) => assert!(g.contains(&w), "{g} / {w}"),
                (w, g) => panic!("{w:?} / {g:?} on {}", String::from_utf8_lossy(&input)),
            }
        }
    }

    #[test]
    fn field_colon_matches_its_definition() {
        // A colon, and before it a non-empty printable ASCII name, then optional blanks.
        let reference = |line: &[u8]| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = trim_end_wsp(&line[..colon]);
            (!name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b))).then_some(colon)
        };
        let pieces: [&[u8]; 9] = [
            b"From",
            b":",
            b" ",
            b"\t",
            b"x-y",
            b"\xE6\x9C",
            b"\x7F",
            b"",
            b"a b",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in pieces {
                        let line = [a, b, c, d].concat();
                        assert_eq!(field_colon(&line), reference(&line), "{line:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn quoted_printable_stream() {
        let gbk = GBK.encode("机密★10年").0;
        let qp: String = gbk.iter().map(|b| format!("={b:02X}")).collect();
        let input = format!("{}=\r\n\r\nline=20two = x=\nend=", &qp);
        let (data, err) = read_all(QpReader::new(input.as_bytes()));
        assert!(err.is_none());
        let mut expected = gbk.to_vec();
        expected.extend_from_slice(b"\r\nline two = xend");
        assert_eq!(data, expected);
    }
}
