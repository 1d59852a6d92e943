//! PDF with a text layer: `lopdf` parses the objects, decompresses streams (bounded) and
//! decodes strings through each font's encoding (`ToUnicode` CMaps, `UniGB-UCS2-H`/`UTF16`,
//! WinAnsi, Differences); the text positioning here follows the text and graphics state
//! operators so every glyph run has a position on its page. Runs whose baseline lies in the top
//! [`TOP_BAND`] or the bottom [`BOTTOM_BAND`] of the page's MediaBox are its header / footer.

use crate::ctx::{Ctx, join};
use lopdf::Encoding;
use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};
use miji::{ErrorKind, Role};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The share of the page height at the top that is the page header, and at the bottom that is
/// the footer, by glyph baseline. With the default layouts of Word (A4 and Letter: header
/// baseline at about 5.5 %, first body baseline at 9.7 % or more, last body baseline at 8.9 % or
/// more from the bottom, footer at about 5 %) and LibreOffice (header baseline at about 8.1 %,
/// footer at 7.4 %) these split header and footer from body.
const TOP_BAND: f64 = 0.09;
const BOTTOM_BAND: f64 = 0.08;
/// Content operators between clock checks.
const TIME_CHECK_EVERY: u32 = 4096;
/// Form XObjects nested deeper than this are not followed.
const MAX_FORM_DEPTH: u32 = 8;
/// Form XObjects drawn per page, at most (a form drawing itself many times at every level
/// would otherwise be exponential).
const MAX_FORMS: u32 = 4096;
/// Page-tree levels searched for an inherited MediaBox.
const MAX_INHERIT: usize = 64;

/// Extracts the PDF `bytes` at `location`.
pub(crate) fn extract(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8]) {
    let max = usize::try_from(ctx.limits.max_size).unwrap_or(usize::MAX);
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(max),
        ..lopdf::LoadOptions::default()
    };
    let loaded = catch_unwind(|| Document::load_mem_with_options(bytes, options));
    let doc = match loaded {
        Ok(Ok(doc)) => doc,
        Ok(Err(e)) => {
            let kind = match e {
                lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword => ErrorKind::Encrypted,
                _ => ErrorKind::Corrupt,
            };
            let message = if kind == ErrorKind::Encrypted {
                format!("password-protected PDF: {e}")
            } else {
                format!("cannot read PDF: {e}")
            };
            ctx.error(kind, location, message);
            return;
        }
        Err(_) => {
            ctx.error(ErrorKind::Corrupt, location, "PDF parser panicked");
            return;
        }
    };
    if doc.is_encrypted() {
        // Still encrypted after loading: the empty user password did not open it.
        ctx.error(ErrorKind::Encrypted, location, "password-protected PDF");
        return;
    }
    let pages = match catch_unwind(AssertUnwindSafe(|| doc.get_pages())) {
        Ok(pages) => pages,
        Err(_) => {
            ctx.error(ErrorKind::Corrupt, location, "PDF page tree unreadable");
            return;
        }
    };
    if pages.is_empty() {
        ctx.error(ErrorKind::Corrupt, location, "PDF without pages");
        return;
    }
    for (number, id) in pages {
        let here = join(location, format!("page[{number}]"));
        if !ctx.go_on(&here) {
            return;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| page(ctx, &here, &doc, id, max)));
        if outcome.is_err() {
            ctx.error(
                ErrorKind::Corrupt,
                &here,
                "PDF parser panicked; the page was not read",
            );
        }
    }
}

/// A 2-D affine matrix `[a b c d e f]` (PDF order: row vector times matrix).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Matrix([f64; 6]);

impl Matrix {
    const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn translate(x: f64, y: f64) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, x, y])
    }

    /// `self` then `other` (`self × other`).
    fn then(&self, other: &Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }

    fn point(&self, x: f64, y: f64) -> (f64, f64) {
        let [a, b, c, d, e, f] = self.0;
        (x * a + y * c + e, x * b + y * d + f)
    }

    fn scale(&self) -> f64 {
        let [a, b, c, d, ..] = self.0;
        (a * d - b * c).abs().sqrt()
    }
}

/// One decoded font of a page.
struct Font<'a> {
    encoding: Option<Encoding<'a>>,
    /// Bytes per character code (2 for Type0 fonts, else 1).
    code_len: usize,
    widths: HashMap<u32, f64>,
    default_width: f64,
}

impl Font<'_> {
    fn width(&self, code: u32) -> f64 {
        self.widths
            .get(&code)
            .copied()
            .unwrap_or(self.default_width)
            / 1000.0
    }
}

fn number(o: &Object) -> Option<f64> {
    match o {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(*r as f64),
        _ => None,
    }
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    doc.dereference(o).map(|(_, o)| o).unwrap_or(o)
}

fn font<'a>(doc: &'a Document, dict: &'a Dictionary) -> Font<'a> {
    let encoding = dict.get_font_encoding(doc).ok();
    let mut widths = HashMap::new();
    let type0 = dict
        .get(b"Subtype")
        .and_then(Object::as_name)
        .is_ok_and(|n| n == b"Type0");
    if type0 {
        let descendant = dict
            .get(b"DescendantFonts")
            .map(|o| deref(doc, o))
            .and_then(Object::as_array)
            .ok()
            .and_then(|a| a.first())
            .map(|o| deref(doc, o))
            .and_then(|o| o.as_dict().ok());
        let mut default_width = 1000.0;
        if let Some(cid) = descendant {
            if let Some(dw) = cid.get(b"DW").ok().and_then(number) {
                default_width = dw;
            }
            if let Ok(w) = cid
                .get(b"W")
                .map(|o| deref(doc, o))
                .and_then(Object::as_array)
            {
                cid_widths(doc, w, &mut widths);
            }
        }
        return Font {
            encoding,
            code_len: 2,
            widths,
            default_width,
        };
    }
    let first = dict.get(b"FirstChar").ok().and_then(number).unwrap_or(0.0) as u32;
    if let Ok(w) = dict
        .get(b"Widths")
        .map(|o| deref(doc, o))
        .and_then(Object::as_array)
    {
        for (i, o) in w.iter().take(256).enumerate() {
            if let Some(v) = number(deref(doc, o)) {
                widths.insert(first.saturating_add(i as u32), v);
            }
        }
    }
    Font {
        encoding,
        code_len: 1,
        widths,
        default_width: 500.0,
    }
}

/// The `W` array of a CID font: `c [w1 w2 …]` and `c_first c_last w` entries.
fn cid_widths(doc: &Document, w: &[Object], out: &mut HashMap<u32, f64>) {
    let mut i = 0;
    while i < w.len() && out.len() < 65_536 {
        let Some(first) = number(deref(doc, &w[i])) else {
            return;
        };
        let first = first.max(0.0) as u32;
        match w.get(i + 1).map(|o| deref(doc, o)) {
            Some(Object::Array(list)) => {
                for (k, o) in list.iter().take(65_536).enumerate() {
                    if let Some(v) = number(deref(doc, o)) {
                        out.insert(first.saturating_add(k as u32), v);
                    }
                }
                i += 2;
            }
            Some(o) => {
                let last = number(o).unwrap_or(0.0).max(0.0) as u32;
                let v = w.get(i + 2).and_then(|o| number(deref(doc, o)));
                if let Some(v) = v {
                    for c in first..=last.min(first.saturating_add(65_535)) {
                        out.insert(c, v);
                    }
                }
                i += 3;
            }
            None => return,
        }
    }
}

/// A run of glyphs shown by one text operator, in user space.
#[derive(Debug)]
struct Run {
    x: f64,
    y: f64,
    end: f64,
    size: f64,
    text: String,
}

#[derive(Debug, Clone)]
struct State {
    ctm: Matrix,
    font: Option<Vec<u8>>,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    scale: f64,
    leading: f64,
    rise: f64,
}

impl Default for State {
    fn default() -> State {
        State {
            ctm: Matrix::IDENTITY,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
            leading: 0.0,
            rise: 0.0,
        }
    }
}

/// Walks content streams of one page, collecting runs.
struct Walker<'d, 'c, 'l> {
    ctx: &'c mut Ctx<'l>,
    location: &'c [String],
    doc: &'d Document,
    max: usize,
    runs: Vec<Run>,
    images: bool,
    painted: bool,
    ops: u32,
    stopped: bool,
    forms: u32,
    /// Fonts by (resource dictionary address, resource name).
    fonts: HashMap<FontKey, Font<'d>>,
}

type FontKey = (usize, Vec<u8>);

fn page(ctx: &mut Ctx<'_>, location: &[String], doc: &Document, id: ObjectId, max: usize) {
    let page_dict = match doc.get_dictionary(id) {
        Ok(d) => d,
        Err(e) => {
            ctx.error(
                ErrorKind::Corrupt,
                location,
                format!("bad page object: {e}"),
            );
            return;
        }
    };
    let media = media_box(doc, page_dict).unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let content = match doc.get_page_content_with_limit(id, max) {
        Ok(c) => c,
        Err(e) => {
            ctx.error(
                ErrorKind::Corrupt,
                location,
                format!("cannot read page content: {e}"),
            );
            return;
        }
    };
    let resources = page_resources(doc, page_dict);
    let mut walker = Walker {
        ctx,
        location,
        doc,
        max,
        runs: Vec::new(),
        images: false,
        painted: false,
        ops: 0,
        stopped: false,
        forms: 0,
        fonts: HashMap::new(),
    };
    walker.stream(&content, resources, Matrix::IDENTITY, 0);
    let Walker {
        ctx,
        runs,
        images,
        painted,
        ..
    } = walker;
    let [_, lly, _, ury] = media;
    let height = (ury - lly).abs();
    let (low, high) = (lly.min(ury), lly.max(ury));
    let mut header = Vec::new();
    let mut body = Vec::new();
    let mut footer = Vec::new();
    for run in runs {
        if run.y >= high - TOP_BAND * height {
            header.push(run);
        } else if run.y <= low + BOTTOM_BAND * height {
            footer.push(run);
        } else {
            body.push(run);
        }
    }
    let mut any = false;
    for (runs, role) in [
        (header, Role::Header),
        (body, Role::Body),
        (footer, Role::Footer),
    ] {
        let text = layout(&runs);
        if !text.trim().is_empty() {
            any = true;
            ctx.segment(text, location.to_vec(), role);
        }
    }
    if !any && (images || painted) {
        ctx.error(
            ErrorKind::NoTextLayer,
            location,
            if images {
                "page of images without a text layer"
            } else {
                "page drawn without a text layer"
            },
        );
    }
}

/// Runs to lines: a new line when the baseline moves by half a glyph, a space when a run
/// starts a tenth of an em after the previous one ended.
fn layout(runs: &[Run]) -> String {
    let mut out = String::new();
    let mut last: Option<&Run> = None;
    for run in runs {
        if let Some(prev) = last {
            let size = run.size.max(prev.size).max(1.0);
            if (run.y - prev.y).abs() > size * 0.5 || run.x < prev.x - size {
                out.push('\n');
            } else if run.x > prev.end + size * gap(&out, &run.text)
                && !out.ends_with(' ')
                && !run.text.starts_with(' ')
            {
                out.push(' ');
            }
        }
        out.push_str(&run.text);
        last = Some(run);
    }
    while out.ends_with(['\n', ' ']) {
        out.pop();
    }
    out
}

/// The gap (in ems) that reads as a space between `before` and `after`: a tenth of an em
/// between Latin letters; half an em next to CJK text, which has no word spaces and which
/// typesetters (LibreOffice's Asian/Latin spacing) set apart from Latin digits by a small gap,
/// so `机密★10年` stays one word.
fn gap(before: &str, after: &str) -> f64 {
    let cjk = |c: Option<char>| c.is_some_and(|c| c >= '\u{2E80}' || c == '★' || c == '☆');
    if cjk(before.chars().next_back()) || cjk(after.chars().next()) {
        0.5
    } else {
        0.1
    }
}

fn media_box(doc: &Document, page: &Dictionary) -> Option<[f64; 4]> {
    let mut dict = page;
    for _ in 0..MAX_INHERIT {
        if let Ok(o) = dict.get(b"MediaBox")
            && let Ok(a) = deref(doc, o).as_array()
            && a.len() == 4
        {
            let mut out = [0.0; 4];
            for (slot, o) in out.iter_mut().zip(a) {
                *slot = number(deref(doc, o))?;
            }
            return Some(out);
        }
        dict = deref(doc, dict.get(b"Parent").ok()?).as_dict().ok()?;
    }
    None
}

fn page_resources<'d>(doc: &'d Document, page: &'d Dictionary) -> Option<&'d Dictionary> {
    let mut dict = page;
    for _ in 0..MAX_INHERIT {
        if let Ok(o) = dict.get(b"Resources") {
            return deref(doc, o).as_dict().ok();
        }
        dict = deref(doc, dict.get(b"Parent").ok()?).as_dict().ok()?;
    }
    None
}

impl<'d> Walker<'d, '_, '_> {
    fn font_of(&mut self, resources: Option<&'d Dictionary>, name: &[u8]) -> Option<FontKey> {
        let resources = resources?;
        let key = (resources as *const Dictionary as usize, name.to_vec());
        if !self.fonts.contains_key(&key) {
            let fonts = deref(self.doc, resources.get(b"Font").ok()?)
                .as_dict()
                .ok()?;
            let dict = deref(self.doc, fonts.get(name).ok()?).as_dict().ok()?;
            self.fonts.insert(key.clone(), font(self.doc, dict));
        }
        Some(key)
    }

    fn stream(
        &mut self,
        content: &[u8],
        resources: Option<&'d Dictionary>,
        base: Matrix,
        depth: u32,
    ) {
        let mut state = State {
            ctm: base,
            ..State::default()
        };
        let mut stack: Vec<State> = Vec::new();
        let mut font_key: Option<FontKey> = None;
        let mut font_stack: Vec<Option<FontKey>> = Vec::new();
        let mut tm = Matrix::IDENTITY;
        let mut tlm = Matrix::IDENTITY;
        for op in Content::decode_iter(content) {
            if self.stopped {
                return;
            }
            self.ops = self.ops.wrapping_add(1);
            if self.ops.is_multiple_of(TIME_CHECK_EVERY) && !self.ctx.go_on(self.location) {
                self.stopped = true;
                return;
            }
            let op = match op {
                Ok(op) => op,
                Err(e) => {
                    self.ctx.error(
                        ErrorKind::Corrupt,
                        self.location,
                        format!("malformed content stream: {e}"),
                    );
                    return;
                }
            };
            let nums: Vec<f64> = op.operands.iter().filter_map(number).collect();
            let n = |i: usize| nums.get(i).copied().unwrap_or(0.0);
            match op.operator.as_str() {
                "q" if stack.len() < 1024 => {
                    stack.push(state.clone());
                    font_stack.push(font_key.clone());
                }
                "Q" => {
                    if let Some(s) = stack.pop() {
                        state = s;
                        font_key = font_stack.pop().flatten();
                    }
                }
                "cm" if nums.len() == 6 => {
                    let m = Matrix([n(0), n(1), n(2), n(3), n(4), n(5)]);
                    state.ctm = m.then(&state.ctm);
                }
                "BT" => {
                    tm = Matrix::IDENTITY;
                    tlm = Matrix::IDENTITY;
                }
                "Tf" => {
                    state.size = n(0);
                    let name = op.operands.first().and_then(|o| o.as_name().ok());
                    font_key = name.and_then(|name| self.font_of(resources, name));
                    state.font = name.map(<[u8]>::to_vec);
                }
                "Tc" => state.char_spacing = n(0),
                "Tw" => state.word_spacing = n(0),
                "Tz" => state.scale = n(0) / 100.0,
                "TL" => state.leading = n(0),
                "Ts" => state.rise = n(0),
                "Td" => {
                    tlm = Matrix::translate(n(0), n(1)).then(&tlm);
                    tm = tlm;
                }
                "TD" => {
                    state.leading = -n(1);
                    tlm = Matrix::translate(n(0), n(1)).then(&tlm);
                    tm = tlm;
                }
                "Tm" if nums.len() == 6 => {
                    tlm = Matrix([n(0), n(1), n(2), n(3), n(4), n(5)]);
                    tm = tlm;
                }
                "T*" => {
                    tlm = Matrix::translate(0.0, -state.leading).then(&tlm);
                    tm = tlm;
                }
                "Tj" | "'" | "\"" | "TJ" => {
                    if op.operator == "'" || op.operator == "\"" {
                        if op.operator == "\"" {
                            state.word_spacing = n(0);
                            state.char_spacing = n(1);
                        }
                        tlm = Matrix::translate(0.0, -state.leading).then(&tlm);
                        tm = tlm;
                    }
                    let items: Vec<&Object> = match op.operator.as_str() {
                        "TJ" => op
                            .operands
                            .first()
                            .and_then(|o| o.as_array().ok())
                            .map(|a| a.iter().collect())
                            .unwrap_or_default(),
                        _ => op.operands.last().into_iter().collect(),
                    };
                    self.show(&state, font_key.as_ref(), &mut tm, &items);
                }
                "Do" => {
                    if let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) {
                        self.xobject(resources, name, state.ctm, depth);
                    }
                }
                "BI" | "ID" | "EI" => self.images = true,
                "f" | "F" | "f*" | "S" | "s" | "B" | "B*" | "b" | "b*" | "sh" => {
                    self.painted = true
                }
                _ => {}
            }
        }
    }

    fn xobject(&mut self, resources: Option<&'d Dictionary>, name: &[u8], ctm: Matrix, depth: u32) {
        let doc = self.doc;
        let Some(stream) = resources
            .and_then(|r| r.get(b"XObject").ok())
            .and_then(|o| deref(doc, o).as_dict().ok())
            .and_then(|x| x.get(name).ok())
            .and_then(|o| deref(doc, o).as_stream().ok())
        else {
            return;
        };
        match stream.dict.get(b"Subtype").and_then(Object::as_name) {
            Ok(b"Image") => self.images = true,
            Ok(b"Form") if depth < MAX_FORM_DEPTH && self.forms < MAX_FORMS => {
                self.forms += 1;
                let matrix = stream
                    .dict
                    .get(b"Matrix")
                    .ok()
                    .and_then(|o| deref(doc, o).as_array().ok())
                    .map(|a| {
                        a.iter()
                            .filter_map(|o| number(deref(doc, o)))
                            .collect::<Vec<_>>()
                    })
                    .filter(|a| a.len() == 6)
                    .map(|a| Matrix([a[0], a[1], a[2], a[3], a[4], a[5]]))
                    .unwrap_or(Matrix::IDENTITY);
                let inner = stream
                    .dict
                    .get(b"Resources")
                    .ok()
                    .and_then(|o| deref(doc, o).as_dict().ok())
                    .or(resources);
                let content = match stream.decompressed_content_with_limit(self.max) {
                    Ok(c) => c,
                    Err(_) => stream.content.clone(),
                };
                self.stream(&content, inner, matrix.then(&ctm), depth + 1);
            }
            _ => {}
        }
    }

    fn show(&mut self, state: &State, key: Option<&FontKey>, tm: &mut Matrix, items: &[&Object]) {
        let font = key.and_then(|k| self.fonts.get(k));
        let size = state.size;
        let start = tm.then(&state.ctm);
        let (x, y) = Matrix::translate(0.0, state.rise)
            .then(&start)
            .point(0.0, 0.0);
        let user_size = (size * start.scale()).abs();
        let mut text = String::new();
        for item in items {
            match item {
                Object::String(bytes, _) => {
                    let mut advance = 0.0;
                    let code_len = font.map_or(1, |f| f.code_len);
                    for code in bytes.chunks(code_len) {
                        let c = code.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b));
                        let w = font.map_or(0.5, |f| f.width(c));
                        let space = if code_len == 1 && c == 32 {
                            state.word_spacing
                        } else {
                            0.0
                        };
                        advance += (w * size + state.char_spacing + space) * state.scale;
                    }
                    match font.and_then(|f| f.encoding.as_ref()) {
                        Some(enc) => match enc.bytes_to_string(bytes) {
                            Ok(s) => text.push_str(&s),
                            Err(_) => text.push_str(&String::from_utf8_lossy(bytes)),
                        },
                        None => text.push_str(&String::from_utf8_lossy(bytes)),
                    }
                    *tm = Matrix::translate(advance, 0.0).then(tm);
                }
                other => {
                    if let Some(adjust) = number(other) {
                        if adjust < -200.0 && !text.ends_with(' ') {
                            text.push(' ');
                        }
                        let advance = -adjust / 1000.0 * size * state.scale;
                        *tm = Matrix::translate(advance, 0.0).then(tm);
                    }
                }
            }
        }
        let text: String = text.chars().filter(|c| *c != '\0').collect();
        if text.is_empty() {
            return;
        }
        let (end, _) = tm.then(&state.ctm).point(0.0, 0.0);
        self.runs.push(Run {
            x,
            y,
            end,
            size: user_size,
            text,
        });
    }
}
