//! LLM chat payloads (OpenAI Chat Completions `messages`, Responses API `input`, legacy
//! `prompt`) → one [`Document`], so every front (Python guard, proxies) reads a conversation
//! the same way; and [`rewrite_chat`], which puts rewritten (redacted) text back in its place.
//!
//! The whole conversation is **one document**: a document pasted over two messages is scanned
//! as one, with document-wide cues (repeated banners, scaffolds) seen across messages.
//!
//! # Location conventions
//!
//! One location component names the JSON place a text came from, with **0-based JSON array
//! indices exactly as in the payload** (unlike the 1-based indices of files and mail: a guard
//! user must find `messages[3]` in the payload they sent):
//!
//! | payload                                              | location                                   |
//! |------------------------------------------------------|--------------------------------------------|
//! | `messages[i].content` (string)                       | `messages[i].content`                      |
//! | `messages[i].content[j]` (`text` part)               | `messages[i].content[j]`                   |
//! | `messages[i].tool_calls[k].function.arguments`       | the same path                              |
//! | `messages[i].refusal`, `…function_call.arguments`    | the same path                              |
//! | `input` (string), `instructions`, `prompt`, `system` | `input`, `instructions`, `prompt`, `system` |
//! | `input[i].content` / `input[i].content[j]`           | the same path                              |
//! | `input[i].output` (`function_call_output`)           | `input[i].output` (parts: `…output[j]`)    |
//! | `input[i].arguments` (`function_call`)               | `input[i].arguments`                       |
//! | a `file` / `input_file` part with `file_data`        | `messages[i].content[j]:<filename>` then the file's own components (`word/document.xml`); the name itself at `@messages[i].content[j]:<filename>` (role filename) |
//!
//! A bare JSON array is read as the `messages` of a chat request (locations `messages[i]…`).
//! Every text is role `body` whatever the message's role (user, system, developer, assistant,
//! tool). Parts and items of unknown types are not skipped: every string in them is read at
//! its JSON path (`messages[2].content[0].foo`).
//!
//! # What is not read (coverage errors, never "clean")
//!
//! - `image_url` / `input_image` with a `data:` URI of a picture: `no-text-layer` (no OCR);
//!   other `data:` URIs are decoded and extracted like a file.
//! - A remote image (`http(s)://`): `no-text-layer` ("not fetched").
//! - `input_audio`: `unsupported-format`; `file_id` / `file_url` references:
//!   `unsupported-format` (the bytes are not in the payload).
//! - Malformed JSON: `corrupt`; JSON without `messages`, `input` or `prompt`:
//!   `unsupported-format`.
//!
//! `file_data` (base64, or a `data:…;base64,` URI) is decoded through the record's budget and
//! extracted by the same extractors as any file (zip, docx, mail…), within the same [`Limits`];
//! each file is a member document.

use crate::ctx::Ctx;
use crate::dispatch;
use crate::mime::Base64Reader;
use crate::{Extractor, Limits};
use miji::{Document, ErrorKind, RecordError, Role};
use serde_json::Value;

/// Where one JSON value sits: the report location (`messages[3].content[1]`) and the JSON
/// pointer (`/messages/3/content/1`).
#[derive(Debug, Clone)]
struct Place {
    location: String,
    pointer: String,
}

impl Place {
    fn root() -> Place {
        Place {
            location: String::new(),
            pointer: String::new(),
        }
    }

    fn key(&self, key: &str) -> Place {
        let location = if self.location.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.location)
        };
        Place {
            location,
            pointer: format!(
                "{}/{}",
                self.pointer,
                key.replace('~', "~0").replace('/', "~1")
            ),
        }
    }

    fn index(&self, i: usize) -> Place {
        Place {
            location: format!("{}[{i}]", self.location),
            pointer: format!("{}/{i}", self.pointer),
        }
    }

    /// The same location, the pointer of a field inside it (a part's `text`).
    fn field(&self, key: &str) -> Place {
        Place {
            location: self.location.clone(),
            pointer: format!("{}/{key}", self.pointer),
        }
    }
}

/// What the walk found in a payload.
#[derive(Debug)]
enum Item<'v> {
    /// A text to scan (and to rewrite).
    Text { place: Place, text: &'v str },
    /// Embedded file bytes (base64 or a `data:` URI), named `name` (may be empty).
    File {
        place: Place,
        name: String,
        data: &'v str,
    },
    /// Something that is not read.
    Unread {
        place: Place,
        kind: ErrorKind,
        message: String,
    },
}

/// Keys never scanned by the generic walk (identifiers and enums, not content).
const SKIP_KEYS: &[&str] = &[
    "type", "role", "id", "call_id", "status", "detail", "format",
];

#[derive(Debug, Default)]
struct Walk<'v> {
    items: Vec<Item<'v>>,
}

impl<'v> Walk<'v> {
    fn text(&mut self, place: Place, text: &'v str) {
        self.items.push(Item::Text { place, text });
    }

    fn unread(&mut self, place: Place, kind: ErrorKind, message: impl Into<String>) {
        self.items.push(Item::Unread {
            place,
            kind,
            message: message.into(),
        });
    }

    /// The top of a payload.
    fn payload(&mut self, value: &'v Value) {
        let root = Place::root();
        match value {
            Value::Array(messages) => self.messages(messages, ""),
            Value::Object(obj) => {
                let mut found = false;
                for key in ["instructions", "system"] {
                    if let Some(v) = obj.get(key) {
                        self.content(v, &root.key(key));
                    }
                }
                if let Some(v) = obj.get("messages") {
                    found = true;
                    match v {
                        Value::Array(messages) => self.messages(messages, "/messages"),
                        other => self.generic(other, &root.key("messages")),
                    }
                }
                if let Some(v) = obj.get("input") {
                    found = true;
                    match v {
                        Value::String(s) => self.text(root.key("input"), s),
                        Value::Array(items) => self.input(items, &root.key("input")),
                        other => self.generic(other, &root.key("input")),
                    }
                }
                if let Some(v) = obj.get("prompt") {
                    found = true;
                    self.generic(v, &root.key("prompt"));
                }
                if !found {
                    self.unread(
                        root,
                        ErrorKind::UnsupportedFormat,
                        "no `messages`, `input` or `prompt` in the chat payload",
                    );
                }
            }
            _ => self.unread(
                root,
                ErrorKind::UnsupportedFormat,
                "a chat payload is a JSON object or an array of messages",
            ),
        }
    }

    /// Chat Completions messages, located `messages[i]`; `pointer` is the array's JSON
    /// pointer (empty for a bare array).
    fn messages(&mut self, messages: &'v [Value], pointer: &str) {
        for (i, message) in messages.iter().enumerate() {
            let place = Place {
                location: format!("messages[{i}]"),
                pointer: format!("{pointer}/{i}"),
            };
            let Value::Object(m) = message else {
                self.generic(message, &place);
                continue;
            };
            for (key, v) in m {
                let at = place.key(key);
                match key.as_str() {
                    "content" => self.content(v, &at),
                    // identifiers, not content
                    "role" | "name" | "tool_call_id" | "id" | "audio" => {}
                    _ => self.generic(v, &at),
                }
            }
        }
    }

    /// A `content`: a string, an array of parts, or null.
    fn content(&mut self, v: &'v Value, at: &Place) {
        match v {
            Value::String(s) => self.text(at.clone(), s),
            Value::Array(parts) => self.parts(parts, at),
            Value::Null => {}
            other => self.generic(other, at),
        }
    }

    /// Content parts (Chat Completions, Responses and Anthropic shapes).
    fn parts(&mut self, parts: &'v [Value], at: &Place) {
        for (j, part) in parts.iter().enumerate() {
            let place = at.index(j);
            let Value::Object(p) = part else {
                self.generic(part, &place);
                continue;
            };
            let kind = p.get("type").and_then(Value::as_str).unwrap_or("");
            let str_field = |key: &str| p.get(key).and_then(Value::as_str);
            match kind {
                "text" | "input_text" | "output_text" | "summary_text" | "reasoning_text"
                    if str_field("text").is_some() =>
                {
                    if let Some(t) = str_field("text") {
                        self.text(place.field("text"), t);
                    }
                }
                "refusal" if str_field("refusal").is_some() => {
                    if let Some(t) = str_field("refusal") {
                        self.text(place.field("refusal"), t);
                    }
                }
                "image_url" => match p.get("image_url") {
                    Some(Value::Object(o)) => match o.get("url").and_then(Value::as_str) {
                        Some(url) => self.image(url, &place),
                        None => self.generic(part, &place),
                    },
                    Some(Value::String(url)) => self.image(url, &place),
                    _ => self.generic(part, &place),
                },
                "input_image" => match (str_field("image_url"), str_field("file_id")) {
                    (Some(url), _) => self.image(url, &place),
                    (None, Some(_)) => self.unread(
                        place,
                        ErrorKind::UnsupportedFormat,
                        "uploaded image (file_id) is not in the payload and was not read",
                    ),
                    _ => self.generic(part, &place),
                },
                "input_audio" | "audio" => self.unread(
                    place,
                    ErrorKind::UnsupportedFormat,
                    "audio is not transcribed and was not read",
                ),
                "file" => match p.get("file") {
                    Some(Value::Object(f)) => self.file(f, &place),
                    _ => self.generic(part, &place),
                },
                "input_file" => self.file(p, &place),
                // Anthropic: {"type": "image"|"document", "source": {"type": "base64", …}}
                "image" | "document" => {
                    let source = p.get("source").and_then(Value::as_object);
                    let get = |key: &str| source.and_then(|s| s.get(key)).and_then(Value::as_str);
                    let media = get("media_type").unwrap_or("");
                    match (get("type"), get("data")) {
                        (Some("text"), Some(data)) => {
                            self.text(place.field("source").field("data"), data)
                        }
                        (_, Some(_)) if media.starts_with("image/") && media != "image/svg+xml" => {
                            self.unread(
                                place,
                                ErrorKind::NoTextLayer,
                                format!(
                                    "{media} image: no text layer (images are not read: no OCR)"
                                ),
                            )
                        }
                        (_, Some(data)) => self.items.push(Item::File {
                            place,
                            name: p
                                .get("title")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                            data,
                        }),
                        (Some("url"), None) => self.unread(
                            place,
                            ErrorKind::NoTextLayer,
                            "remote URL: not fetched, its content was not read",
                        ),
                        _ => self.generic(part, &place),
                    }
                }
                _ => self.generic(part, &place),
            }
        }
    }

    /// An image reference: a `data:` URI or a remote URL.
    fn image(&mut self, url: &'v str, place: &Place) {
        let head: String = url
            .chars()
            .take(64)
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(rest) = head.strip_prefix("data:") {
            let media = rest.split([';', ',']).next().unwrap_or("");
            if media.starts_with("image/") && media != "image/svg+xml" {
                self.unread(
                    place.clone(),
                    ErrorKind::NoTextLayer,
                    format!("{media} image: no text layer (images are not read: no OCR)"),
                );
            } else {
                self.items.push(Item::File {
                    place: place.clone(),
                    name: String::new(),
                    data: url,
                });
            }
        } else if head.starts_with("http://") || head.starts_with("https://") {
            self.unread(
                place.clone(),
                ErrorKind::NoTextLayer,
                "remote image URL: not fetched, its content was not read",
            );
        } else {
            self.unread(
                place.clone(),
                ErrorKind::UnsupportedFormat,
                "image reference is not a data URI or an http(s) URL and was not read",
            );
        }
    }

    /// A `file` / `input_file` object: `file_data` (read), `file_id` / `file_url` (not).
    fn file(&mut self, f: &'v serde_json::Map<String, Value>, place: &Place) {
        let name = f
            .get("filename")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(data) = f.get("file_data").and_then(Value::as_str) {
            self.items.push(Item::File {
                place: place.clone(),
                name,
                data,
            });
        } else if f.get("file_id").is_some() {
            self.unread(
                place.clone(),
                ErrorKind::UnsupportedFormat,
                "uploaded file (file_id) is not in the payload and was not read",
            );
        } else if f.get("file_url").is_some() {
            self.unread(
                place.clone(),
                ErrorKind::UnsupportedFormat,
                "remote file (file_url) is not fetched and was not read",
            );
        } else {
            self.generic_map(f, place);
        }
    }

    /// Responses API `input` items.
    fn input(&mut self, items: &'v [Value], at: &Place) {
        for (i, item) in items.iter().enumerate() {
            let place = at.index(i);
            let Value::Object(o) = item else {
                self.generic(item, &place);
                continue;
            };
            let kind = o
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or(if o.contains_key("role") {
                    "message"
                } else {
                    ""
                });
            match kind {
                "message" => {
                    for (key, v) in o {
                        match key.as_str() {
                            "content" => self.content(v, &place.key("content")),
                            "role" | "id" | "status" | "type" => {}
                            _ => self.generic(v, &place.key(key)),
                        }
                    }
                }
                "function_call_output" | "custom_tool_call_output" => {
                    for (key, v) in o {
                        match key.as_str() {
                            "output" => self.content(v, &place.key("output")),
                            "call_id" | "id" | "status" | "type" => {}
                            _ => self.generic(v, &place.key(key)),
                        }
                    }
                }
                // Refers to a stored item, whose content is not in the payload.
                "item_reference" => {}
                _ => self.generic(item, &place),
            }
        }
    }

    /// Every string in `v` (but identifiers), at its JSON path.
    fn generic(&mut self, v: &'v Value, at: &Place) {
        match v {
            Value::String(s) => self.text(at.clone(), s),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.generic(x, &at.index(i));
                }
            }
            Value::Object(o) => self.generic_map(o, at),
            _ => {}
        }
    }

    fn generic_map(&mut self, o: &'v serde_json::Map<String, Value>, at: &Place) {
        for (k, x) in o {
            if !SKIP_KEYS.contains(&k.as_str()) {
                self.generic(x, &at.key(k));
            }
        }
    }
}

/// Parses a payload, or the `corrupt` error.
fn parse(json: &[u8]) -> Result<Value, RecordError> {
    let json = json.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(json);
    serde_json::from_slice(json).map_err(|e| {
        RecordError::new(
            ErrorKind::Corrupt,
            Vec::new(),
            // serde_json's messages name the position and the expectation, not the content.
            format!("malformed JSON chat payload: {e}"),
        )
    })
}

impl Extractor {
    /// Reads an LLM chat payload (JSON) into one [`Document`]: OpenAI Chat Completions
    /// `messages` (string content and content parts `text`, `image_url`, `input_audio`, `file`;
    /// `tool` messages; assistant `tool_calls[].function.arguments`), Responses API `input` (a
    /// string, or items: `message` with `input_text`/`output_text` parts,
    /// `function_call_output`, `input_file` with `file_data`), `instructions`, legacy `prompt`.
    /// A bare JSON array is read as `messages`. See the [module docs](crate::chat) for the
    /// location conventions (0-based JSON indices: `messages[3].content[1]`).
    ///
    /// Embedded files (`file_data`) are extracted like any file within this extractor's
    /// [`Limits`]; pictures are `no-text-layer` errors, remote URLs and audio are not read and
    /// say so. Malformed JSON is a `corrupt` error. Never panics.
    ///
    /// ```
    /// use miji_extract::Extractor;
    ///
    /// let json = r#"{"messages": [{"role": "user", "content": "机密★10年\n方案"}]}"#;
    /// let doc = Extractor::default().extract_chat(json.as_bytes());
    /// assert_eq!(doc.segments[0].location, ["messages[0].content"]);
    /// assert!(doc.errors.is_empty());
    /// ```
    pub fn extract_chat(&self, json: &[u8]) -> Document {
        let mut doc = Document {
            bytes: json.len() as u64,
            ..Document::default()
        };
        let limits = self.limits();
        if json.len() as u64 > limits.max_size {
            doc.errors.push(RecordError::new(
                ErrorKind::LimitSize,
                Vec::new(),
                format!(
                    "chat payload of {} bytes is larger than {} bytes",
                    json.len(),
                    limits.max_size
                ),
            ));
            return doc;
        }
        let outcome = std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name("miji-extract-chat".into())
                .stack_size(limits.stack_size)
                .spawn_scoped(scope, || read_chat(limits, json));
            match worker {
                Ok(handle) => handle.join().map_err(|_| "chat reader panicked"),
                Err(_) => Err("cannot start the extraction thread"),
            }
        });
        match outcome {
            Ok(ctx) => {
                doc.segments = ctx.segments;
                doc.errors = ctx.errors;
                doc.members = ctx.members;
            }
            Err(message) => {
                doc.errors
                    .push(RecordError::new(ErrorKind::Internal, Vec::new(), message))
            }
        }
        doc
    }
}

/// Walks the payload and extracts every item into a fresh record context.
fn read_chat<'l>(limits: &'l Limits, json: &[u8]) -> Ctx<'l> {
    let mut ctx = Ctx::new(limits);
    let value = match parse(json) {
        Ok(value) => value,
        Err(e) => {
            ctx.errors.push(e);
            return ctx;
        }
    };
    let mut walk = Walk::default();
    walk.payload(&value);
    for item in walk.items {
        match item {
            Item::Text { place, text } => {
                ctx.segment(text.to_string(), vec![place.location], Role::Body)
            }
            Item::Unread {
                place,
                kind,
                message,
            } => {
                let location = if place.location.is_empty() {
                    Vec::new()
                } else {
                    vec![place.location]
                };
                ctx.error(kind, &location, message)
            }
            Item::File { place, name, data } => {
                if !ctx.go_on(std::slice::from_ref(&place.location)) {
                    break;
                }
                embedded_file(&mut ctx, &place.location, &name, data);
            }
        }
    }
    ctx
}

/// Decodes and extracts one embedded file (`file_data`, a non-image `data:` URI).
fn embedded_file(ctx: &mut Ctx<'_>, at: &str, name: &str, data: &str) {
    let component = if name.is_empty() {
        at.to_string()
    } else {
        ctx.segment(
            name.to_string(),
            vec![format!("@{at}:{name}")],
            Role::Filename,
        );
        format!("{at}:{name}")
    };
    let location = vec![component];
    ctx.members.push(location.clone());
    let payload = match data.strip_prefix("data:") {
        Some(rest) => match rest.split_once(',') {
            Some((meta, body)) if meta.to_ascii_lowercase().ends_with(";base64") => {
                Encoded::Base64(body)
            }
            Some((_, body)) => Encoded::Plain(body),
            None => {
                ctx.error(ErrorKind::Corrupt, &location, "data URI without a comma");
                return;
            }
        },
        None => Encoded::Base64(data),
    };
    let (bytes, cut) = match payload {
        Encoded::Base64(b64) => ctx.read_decoded(&mut Base64Reader::new(b64.as_bytes()), &location),
        Encoded::Plain(text) => {
            let mut reader = text.as_bytes();
            ctx.read_decoded(&mut reader, &location)
        }
    };
    if bytes.is_empty() && cut.is_some() {
        return;
    }
    dispatch::extract_member(ctx, &location, name, &bytes, 1);
}

#[derive(Debug)]
enum Encoded<'a> {
    Base64(&'a str),
    Plain(&'a str),
}

/// Rewrites the texts of a chat payload: `replace(location, text)` is called for every text
/// the reader scans (same walk, same locations as [`Extractor::extract_chat`]), and a
/// `Some(new)` puts `new` in that text's place. Returns the payload re-serialised as compact
/// JSON (object keys in sorted order). Embedded files are not rewritten.
///
/// Errors: the `corrupt` error of malformed JSON.
///
/// ```
/// let json = br#"{"messages": [{"role": "user", "content": "call 13800138000"}]}"#;
/// let out = miji_extract::rewrite_chat(json, |location, text| {
///     assert_eq!(location, ["messages[0].content"]);
///     Some(text.replace("13800138000", "[redacted]"))
/// })
/// .unwrap();
/// assert!(out.contains("call [redacted]"));
/// ```
pub fn rewrite_chat(
    json: &[u8],
    mut replace: impl FnMut(&[String], &str) -> Option<String>,
) -> Result<String, RecordError> {
    let mut value = parse(json)?;
    let mut changes: Vec<(String, String)> = Vec::new();
    {
        let mut walk = Walk::default();
        walk.payload(&value);
        for item in walk.items {
            if let Item::Text { place, text } = item
                && let Some(new) = replace(std::slice::from_ref(&place.location), text)
                && new != text
            {
                changes.push((place.pointer, new));
            }
        }
    }
    for (pointer, new) in changes {
        if let Some(slot) = value.pointer_mut(&pointer) {
            *slot = Value::String(new);
        }
    }
    serde_json::to_string(&value).map_err(|e| {
        RecordError::new(
            ErrorKind::Internal,
            Vec::new(),
            format!("cannot serialise the rewritten payload: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_follow_locations() {
        let json = br#"{"messages":[{"role":"user","content":[{"type":"text","text":"a"}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function",
            "function":{"name":"f","arguments":"{\"x\":1}"}}]}]}"#;
        let value = parse(json).unwrap();
        let mut walk = Walk::default();
        walk.payload(&value);
        let texts: Vec<(String, String)> = walk
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Text { place, .. } => Some((place.location.clone(), place.pointer.clone())),
                _ => None,
            })
            .collect();
        assert!(texts.contains(&(
            "messages[0].content[0]".into(),
            "/messages/0/content/0/text".into()
        )));
        assert!(texts.contains(&(
            "messages[1].tool_calls[0].function.arguments".into(),
            "/messages/1/tool_calls/0/function/arguments".into()
        )));
    }

    #[test]
    fn bare_array_pointers() {
        let out = rewrite_chat(br#"[{"role":"user","content":"x"}]"#, |loc, _| {
            assert_eq!(loc, ["messages[0].content"]);
            Some("y".into())
        })
        .unwrap();
        assert_eq!(out, r#"[{"content":"y","role":"user"}]"#);
    }
}
