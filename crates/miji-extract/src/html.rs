//! HTML mail bodies to text in one linear pass: tags dropped, `<script>`, `<style>`,
//! `<template>` and comments skipped, character references decoded, runs of white space
//! collapsed as a browser would (except in `<pre>`), block elements and `<br>` as line breaks,
//! table cells separated by tabs, so line-shaped markings stay lines.

/// Longest entity name looked up.
const MAX_ENTITY: usize = 32;

/// Elements whose start and end break the line.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "caption",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "title",
    "tr",
    "ul",
];

/// Elements whose content is not text.
const SKIPPED: &[&str] = &["script", "style", "template", "noscript", "xml"];

/// Converts an HTML document or fragment to text.
pub(crate) fn to_text(html: &str) -> String {
    let b = html.as_bytes();
    let mut out = Out {
        text: String::with_capacity(html.len() / 2),
        space: false,
    };
    let mut pre = 0u32;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => {
                if b[i..].starts_with(b"<!--") {
                    i = memchr::memmem::find(&b[i + 4..], b"-->")
                        .map_or(b.len(), |e| i + 4 + e + 3);
                    continue;
                }
                if matches!(b.get(i + 1), Some(b'!' | b'?')) {
                    i = memchr::memchr(b'>', &b[i..]).map_or(b.len(), |e| i + e + 1);
                    continue;
                }
                let closing = b.get(i + 1) == Some(&b'/');
                let name_start = i + 1 + usize::from(closing);
                let name_len = b[name_start.min(b.len())..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .count();
                if name_len == 0 {
                    out.push_text("<", pre > 0);
                    i += 1;
                    continue;
                }
                let name = html[name_start..name_start + name_len].to_ascii_lowercase();
                i = tag_end(b, name_start + name_len);
                if !closing && SKIPPED.contains(&name.as_str()) && !b[..i].ends_with(b"/>") {
                    i = skip_element(b, i, &name);
                    continue;
                }
                match name.as_str() {
                    "br" => out.line_break(true),
                    "td" | "th" if !closing => out.cell(),
                    "pre" => {
                        out.line_break(false);
                        pre = if closing {
                            pre.saturating_sub(1)
                        } else {
                            pre + 1
                        };
                    }
                    _ if BLOCKS.contains(&name.as_str()) => out.line_break(false),
                    _ => {}
                }
            }
            b'&' => {
                let (decoded, used) = entity(&html[i..]);
                match decoded {
                    Some(c) => {
                        let mut buf = [0u8; 4];
                        out.push_text(c.encode_utf8(&mut buf), pre > 0);
                    }
                    None => out.push_text("&", pre > 0),
                }
                i += used;
            }
            c if c.is_ascii_whitespace() && pre == 0 => {
                out.space = true;
                i += 1;
            }
            _ => {
                let run = b[i..]
                    .iter()
                    .position(|&c| c == b'<' || c == b'&' || (pre == 0 && c.is_ascii_whitespace()))
                    .unwrap_or(b.len() - i);
                out.push_text(&html[i..i + run], pre > 0);
                i += run;
            }
        }
    }
    let trimmed = out.text.trim_end().len();
    out.text.truncate(trimmed);
    out.text
}

struct Out {
    text: String,
    /// White space is pending before the next text.
    space: bool,
}

impl Out {
    fn push_text(&mut self, s: &str, verbatim: bool) {
        if self.space
            && !verbatim
            && !self.text.is_empty()
            && !self.text.ends_with(['\n', '\t', ' '])
        {
            self.text.push(' ');
        }
        self.space = false;
        self.text.push_str(s);
    }

    fn trim_spaces(&mut self) {
        let trimmed = self.text.trim_end_matches([' ', '\t']).len();
        self.text.truncate(trimmed);
        self.space = false;
    }

    /// A line break: always for `<br>`, else only when the line is not empty.
    fn line_break(&mut self, always: bool) {
        self.trim_spaces();
        if always || !(self.text.is_empty() || self.text.ends_with('\n')) {
            self.text.push('\n');
        }
    }

    fn cell(&mut self) {
        self.trim_spaces();
        if !(self.text.is_empty() || self.text.ends_with('\n')) {
            self.text.push('\t');
        }
    }
}

/// The offset just past the `>` closing a tag whose name ends at `from` (quoted attribute
/// values may hold `>`), or the end.
fn tag_end(b: &[u8], from: usize) -> usize {
    let mut quote: Option<u8> = None;
    // The last byte that is not white space, outside quotes.
    let mut last = 0u8;
    for (i, &c) in b.iter().enumerate().skip(from) {
        match quote {
            Some(q) if c == q => {
                quote = None;
                last = c;
            }
            Some(_) => {}
            None if c == b'>' => return i + 1,
            None if (c == b'"' || c == b'\'') && last == b'=' => quote = Some(c),
            None if !c.is_ascii_whitespace() => last = c,
            None => {}
        }
    }
    b.len()
}

/// The offset past the end tag `</name …>` at or after `from`, or the end.
fn skip_element(b: &[u8], from: usize, name: &str) -> usize {
    for at in memchr::memmem::find_iter(&b[from..], b"</") {
        let start = from + at + 2;
        let candidate = &b[start..(start + name.len()).min(b.len())];
        if candidate.eq_ignore_ascii_case(name.as_bytes())
            && !b
                .get(start + name.len())
                .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            return memchr::memchr(b'>', &b[start..]).map_or(b.len(), |e| start + e + 1);
        }
    }
    b.len()
}

/// Decodes the character reference at the start of `s` (which starts with `&`): the character
/// and the bytes used, or `None` (and 1) when it is not one.
fn entity(s: &str) -> (Option<char>, usize) {
    let b = s.as_bytes();
    if b.get(1) == Some(&b'#') {
        let hex = matches!(b.get(2), Some(b'x' | b'X'));
        let start = if hex { 3 } else { 2 };
        let digits = b[start.min(b.len())..]
            .iter()
            .take(8)
            .take_while(|c| {
                if hex {
                    c.is_ascii_hexdigit()
                } else {
                    c.is_ascii_digit()
                }
            })
            .count();
        if digits == 0 {
            return (None, 1);
        }
        let value = u32::from_str_radix(&s[start..start + digits], if hex { 16 } else { 10 })
            .unwrap_or(0xFFFD);
        let mut used = start + digits;
        if b.get(used) == Some(&b';') {
            used += 1;
        }
        let c = match value {
            0 => '\u{FFFD}',
            0x80..=0x9F => windows_1252(value),
            _ => char::from_u32(value).unwrap_or('\u{FFFD}'),
        };
        return (Some(c), used);
    }
    let len = b[1..]
        .iter()
        .take(MAX_ENTITY + 1)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    if len == 0 || len > MAX_ENTITY {
        return (None, 1);
    }
    let name = &s[1..1 + len];
    let terminated = b.get(1 + len) == Some(&b';');
    let Some(c) = named(name) else {
        return (None, 1);
    };
    if terminated {
        (Some(c), len + 2)
    } else if LEGACY.contains(&name) {
        (Some(c), len + 1)
    } else {
        (None, 1)
    }
}

/// Names browsers accept without the closing `;`.
const LEGACY: &[&str] = &["amp", "lt", "gt", "quot", "nbsp", "copy", "reg"];

/// Names of U+00A0..=U+00FF, in order.
const LATIN1: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
    "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
    "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
    "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
    "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde",
    "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

fn named(name: &str) -> Option<char> {
    if let Some(i) = LATIN1.iter().position(|&n| n == name) {
        return char::from_u32(0xA0 + i as u32);
    }
    Some(match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        "zwnj" => '\u{200C}',
        "zwj" => '\u{200D}',
        "lrm" => '\u{200E}',
        "rlm" => '\u{200F}',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "lsaquo" => '‹',
        "rsaquo" => '›',
        "bull" => '•',
        "hellip" => '…',
        "prime" => '′',
        "trade" => '™',
        "euro" => '€',
        "larr" => '←',
        "rarr" => '→',
        "uarr" => '↑',
        "darr" => '↓',
        "star" => '☆',
        "starf" | "bigstar" => '★',
        "OElig" => 'Œ',
        "oelig" => 'œ',
        "Scaron" => 'Š',
        "scaron" => 'š',
        "Yuml" => 'Ÿ',
        "fnof" => 'ƒ',
        "circ" => 'ˆ',
        "tilde" => '˜',
        "dagger" => '†',
        "Dagger" => '‡',
        "permil" => '‰',
        "minus" => '−',
        "NewLine" => '\n',
        "Tab" => '\t',
        _ => return None,
    })
}

/// Numeric references in 0x80..=0x9F mean windows-1252 characters (HTML's rule).
fn windows_1252(value: u32) -> char {
    let byte = [value as u8];
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(&byte)
        .0
        .chars()
        .next()
        .unwrap_or('\u{FFFD}')
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn tags_entities_blocks() {
        let html = "<html><head><title>T</title><style>p { content: \"机密★10年\" }</style>\
                    <script>var s = '</p>TOP SECRET';</script></head>\
                    <body><p>&#26426;&#x5BC6;&starf;10&#24180;</p>\n<div>a&nbsp;b &amp;&lt;c&gt;\
                    &copy 2024</div><!-- SECRET --><table><tr><td>x</td><td>y</td></tr></table>\
                    line<br>next &unknown; &#150; <pre>  keep\n  this</pre>R&eacute;serv&eacute;</body></html>";
        let text = to_text(html);
        assert_eq!(
            text,
            "T\n机密★10年\na\u{a0}b &<c>© 2024\nx\ty\nline\nnext &unknown; –\n  keep\n  this\nRéservé"
        );
    }

    #[test]
    fn whitespace_collapses() {
        assert_eq!(to_text("  TOP\n   SECRET  <b>x</b>\n"), "TOP SECRET x");
        assert_eq!(to_text("a < b & c"), "a < b & c");
        assert_eq!(to_text("<p>unclosed <a href=\"x>y\">z"), "unclosed z");
        assert_eq!(to_text("<script>never closed"), "");
    }
}
