//! A streaming XML walk (`quick-xml`) with the XML depth limit, entity resolution and
//! cooperative time checks; format modules get events through the [`Sink`] trait.

use crate::ctx::Ctx;
use miji::ErrorKind;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use std::borrow::Cow;

/// Events are counted; the clock is checked every this many.
const TIME_CHECK_EVERY: u32 = 4096;

/// Receives the events of one XML part. Element names are local names (prefix dropped);
/// `stack` holds the local names of the enclosing elements, outermost first.
pub(crate) trait Sink {
    /// An element opens (an empty element opens and then closes).
    fn start(&mut self, name: &[u8], element: &BytesStart<'_>, stack: &[Vec<u8>]);
    /// An element closes.
    fn end(&mut self, name: &[u8], stack: &[Vec<u8>]);
    /// Character data (text, CDATA, resolved entity and character references).
    fn text(&mut self, text: &str, stack: &[Vec<u8>]);
}

/// The XML text of a part: UTF-16 with a byte-order mark is decoded, anything else is read as
/// UTF-8 with invalid sequences replaced.
pub(crate) fn part_text(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.starts_with(b"\xFF\xFE") {
        return Cow::Owned(
            encoding_rs::UTF_16LE
                .decode_without_bom_handling(&bytes[2..])
                .0
                .into_owned(),
        );
    }
    if bytes.starts_with(b"\xFE\xFF") {
        return Cow::Owned(
            encoding_rs::UTF_16BE
                .decode_without_bom_handling(&bytes[2..])
                .0
                .into_owned(),
        );
    }
    String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
}

/// Walks `bytes` as XML, feeding `sink`. Malformed XML is a `corrupt` error and nesting past
/// [`crate::Limits::max_xml_depth`] a `limit.depth` error, both at `location`; events before
/// the error have been delivered. Returns `false` when the walk stopped early.
pub(crate) fn walk(
    ctx: &mut Ctx<'_>,
    location: &[String],
    bytes: &[u8],
    sink: &mut dyn Sink,
) -> bool {
    let text = part_text(bytes);
    let mut reader = Reader::from_str(&text);
    let max_depth = ctx.limits.max_xml_depth as usize;
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut events: u32 = 0;
    loop {
        events = events.wrapping_add(1);
        if events.is_multiple_of(TIME_CHECK_EVERY) && !ctx.go_on(location) {
            return false;
        }
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                ctx.error(
                    ErrorKind::Corrupt,
                    location,
                    format!("malformed XML at byte {}: {e}", reader.error_position()),
                );
                return false;
            }
        };
        match event {
            Event::Start(element) => {
                if stack.len() >= max_depth {
                    ctx.error(
                        ErrorKind::LimitDepth,
                        location,
                        format!("XML nested deeper than {max_depth} elements"),
                    );
                    return false;
                }
                let name = element.local_name().as_ref().as_bytes().to_vec();
                sink.start(&name, &element, &stack);
                stack.push(name);
            }
            Event::Empty(element) => {
                if stack.len() >= max_depth {
                    ctx.error(
                        ErrorKind::LimitDepth,
                        location,
                        format!("XML nested deeper than {max_depth} elements"),
                    );
                    return false;
                }
                let name = element.local_name().as_ref().as_bytes().to_vec();
                sink.start(&name, &element, &stack);
                sink.end(&name, &stack);
            }
            Event::End(_) => {
                if let Some(name) = stack.pop() {
                    sink.end(&name, &stack);
                }
            }
            Event::Text(t) => sink.text(&t.xml10_content(), &stack),
            Event::CData(t) => sink.text(&t.xml10_content(), &stack),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => match &*r {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                    Err(_) => None,
                };
                if let Some(c) = resolved {
                    let mut buf = [0u8; 4];
                    sink.text(c.encode_utf8(&mut buf), &stack);
                }
            }
            Event::Eof => return true,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

/// The value of attribute `name` (local name) of `element`, unescaped.
pub(crate) fn attr(element: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref().as_bytes() == name)
        .map(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| a.value.to_string())
        })
}
