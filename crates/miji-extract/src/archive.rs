//! Archives and compression: zip (central directory walked lazily, names decoded from raw
//! bytes), tar and gzip; every member is read through the budget and handed back to dispatch.

use crate::ctx::{Ctx, join};
use crate::dispatch;
use crate::text::decode_name;
use miji::ErrorKind;
use std::io::Cursor;
use zip::ZipReadOptions;
use zip::read::OwnedZipFileEntry;
use zip::result::ZipError;
use zip::unstable::read::ZipIterable;

/// Size of a local file header without its name and extra field.
const LOCAL_HEADER: u64 = 30;
/// The general-purpose flag bit saying the name is UTF-8.
const FLAG_UTF8: u16 = 1 << 11;

/// One central-directory entry of a zip archive.
#[derive(Debug)]
pub(crate) struct ZipEntry {
    /// The member path, decoded.
    pub(crate) name: String,
    pub(crate) is_dir: bool,
    pub(crate) encrypted: bool,
    /// Shares bytes with another entry (a bomb trick); never read.
    pub(crate) overlaps: bool,
    entry: OwnedZipFileEntry,
}

/// The entries of a zip archive, in central-directory order.
#[derive(Debug)]
pub(crate) struct ZipIndex<'b> {
    bytes: &'b [u8],
    pub(crate) entries: Vec<ZipEntry>,
}

/// Reads the central directory of `bytes`: at most [`crate::Limits::max_entries`] entries
/// (`limit.entries` past that), each taken from the record-wide entry budget. `None` (with a
/// `corrupt` error) when there is no readable central directory.
pub(crate) fn zip_index<'b>(
    ctx: &mut Ctx<'_>,
    location: &[String],
    bytes: &'b [u8],
) -> Option<ZipIndex<'b>> {
    let mut archive = match ZipIterable::try_new(Cursor::new(bytes), zip::read::Config::default()) {
        Ok(archive) => archive,
        Err(e) => {
            ctx.error(
                zip_error_kind(&e),
                location,
                format!("cannot read zip archive: {e}"),
            );
            return None;
        }
    };
    let max = ctx.limits.max_entries;
    let mut entries = Vec::new();
    let files = match archive.files() {
        Ok(files) => files,
        Err(e) => {
            ctx.error(
                zip_error_kind(&e),
                location,
                format!("cannot read zip central directory: {e}"),
            );
            return None;
        }
    };
    for file in files {
        if !ctx.go_on(location) {
            break;
        }
        let file = match file {
            Ok(file) => file,
            Err(e) => {
                ctx.error(
                    zip_error_kind(&e),
                    location,
                    format!("bad zip central directory entry: {e}"),
                );
                break;
            }
        };
        if entries.len() as u64 >= max {
            ctx.error(
                ErrorKind::LimitEntries,
                location,
                format!("more than {max} entries in the archive"),
            );
            break;
        }
        if !ctx.take_entry(location) {
            break;
        }
        let raw = file.name_raw();
        let name = if file.flags().as_u16() & FLAG_UTF8 != 0 {
            String::from_utf8_lossy(raw).into_owned()
        } else {
            decode_name(raw)
        };
        let is_dir = name.ends_with('/') || name.ends_with('\\');
        entries.push(ZipEntry {
            name,
            is_dir,
            encrypted: file.encrypted(),
            overlaps: false,
            entry: OwnedZipFileEntry::from(file),
        });
    }
    mark_overlaps(&mut entries);
    Some(ZipIndex { bytes, entries })
}

/// Flags entries whose data would start inside an earlier entry's data (overlapping-entry
/// bombs, duplicated central-directory records). The end used is a lower bound, so a flagged
/// entry really overlaps.
fn mark_overlaps(entries: &mut [ZipEntry]) {
    let mut order: Vec<usize> = (0..entries.len()).filter(|&i| !entries[i].is_dir).collect();
    order.sort_by_key(|&i| entries[i].entry.header_start());
    let mut end = 0u64;
    let mut first = true;
    for i in order {
        let start = entries[i].entry.header_start();
        if !first && start < end {
            entries[i].overlaps = true;
        }
        first = false;
        let this_end = start
            .saturating_add(LOCAL_HEADER)
            .saturating_add(entries[i].entry.compressed_size());
        end = end.max(this_end);
    }
}

impl ZipIndex<'_> {
    /// The index of the entry named `name`, if any.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.name == name)
    }

    /// Reads entry `index` within the budget; errors are recorded at `location`. `None` when
    /// nothing could be read.
    pub(crate) fn read(
        &self,
        ctx: &mut Ctx<'_>,
        index: usize,
        location: &[String],
    ) -> Option<Vec<u8>> {
        let entry = &self.entries[index];
        if entry.encrypted {
            ctx.error(ErrorKind::Encrypted, location, "encrypted zip member");
            return None;
        }
        if entry.overlaps {
            ctx.error(
                ErrorKind::Corrupt,
                location,
                "zip member overlaps another member",
            );
            return None;
        }
        let mut cursor = Cursor::new(self.bytes);
        let compressed = entry.entry.compressed_size();
        let mut file = match entry
            .entry
            .as_ref()
            .with_reader(&mut cursor, ZipReadOptions::new())
        {
            Ok(file) => file,
            Err(e) => {
                ctx.error(
                    zip_error_kind(&e),
                    location,
                    format!("cannot read zip member: {e}"),
                );
                return None;
            }
        };
        let (data, cut) = ctx.read_bounded(&mut file, Some(compressed), location);
        if data.is_empty() && cut.is_some() {
            return None;
        }
        Some(data)
    }
}

fn zip_error_kind(e: &ZipError) -> ErrorKind {
    match e {
        ZipError::UnsupportedArchive(msg) if msg.contains("assword") || msg.contains("ncrypt") => {
            ErrorKind::Encrypted
        }
        ZipError::InvalidPassword => ErrorKind::Encrypted,
        ZipError::UnsupportedArchive(_) | ZipError::CompressionMethodNotSupported(_) => {
            ErrorKind::UnsupportedFormat
        }
        _ => ErrorKind::Corrupt,
    }
}

/// A zip archive that is not an office document: every member is a document of its own.
pub(crate) fn zip_archive(
    ctx: &mut Ctx<'_>,
    location: &[String],
    index: &ZipIndex<'_>,
    depth: u32,
) {
    for i in 0..index.entries.len() {
        if !ctx.go_on(location) {
            return;
        }
        let name = index.entries[i].name.clone();
        ctx.filename(location, &name);
        if index.entries[i].is_dir {
            continue;
        }
        let member = join(location, name.clone());
        ctx.members.push(member.clone());
        if let Some(data) = index.read(ctx, i, &member) {
            dispatch::extract_member(ctx, &member, base_name(&name), &data, depth + 1);
        }
    }
}

/// A tar archive: every regular file is a document of its own.
pub(crate) fn tar_archive(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8], depth: u32) {
    let mut archive = tar::Archive::new(bytes);
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => {
            ctx.error(
                ErrorKind::Corrupt,
                location,
                format!("cannot read tar archive: {e}"),
            );
            return;
        }
    };
    let max = ctx.limits.max_entries;
    for (count, entry) in (0u64..).zip(entries) {
        if !ctx.go_on(location) {
            return;
        }
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                ctx.error(ErrorKind::Corrupt, location, format!("bad tar entry: {e}"));
                return;
            }
        };
        if count >= max {
            ctx.error(
                ErrorKind::LimitEntries,
                location,
                format!("more than {max} entries in the archive"),
            );
            return;
        }
        if !ctx.take_entry(location) {
            return;
        }
        let name = decode_name(&entry.path_bytes());
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            ctx.filename(location, &name);
            continue;
        }
        if !(kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse()) {
            continue; // links, devices, pax/GNU metadata
        }
        ctx.filename(location, &name);
        let member = join(location, name.clone());
        ctx.members.push(member.clone());
        let (data, cut) = ctx.read_bounded(&mut entry, None, &member);
        if data.is_empty() && cut.is_some() {
            continue;
        }
        dispatch::extract_member(ctx, &member, base_name(&name), &data, depth + 1);
    }
}

/// A gzip stream (all members of a multi-member stream): transparent, so the inner document
/// keeps `location`; its name is `name` without `.gz` (`.tgz` becomes `.tar`).
pub(crate) fn gzip(ctx: &mut Ctx<'_>, location: &[String], name: &str, bytes: &[u8], depth: u32) {
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes);
    let (data, cut) = ctx.read_bounded(&mut decoder, Some(bytes.len() as u64), location);
    if data.is_empty() && cut.is_some() {
        return;
    }
    let lower = name.to_ascii_lowercase();
    let inner = if lower.ends_with(".tgz") {
        format!("{}.tar", &name[..name.len() - 4])
    } else if lower.ends_with(".gz") {
        name[..name.len() - 3].to_string()
    } else {
        name.to_string()
    };
    dispatch::extract_inner(ctx, location, &inner, &data, depth + 1);
}

/// The last path component of a member name.
pub(crate) fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// Whether the bytes are a tar archive (ustar magic or a valid
/// header checksum).
pub(crate) fn is_tar(bytes: &[u8]) -> bool {
    if bytes.len() < 512 {
        return false;
    }
    if &bytes[257..262] == b"ustar" {
        return true;
    }
    let header = &bytes[..512];
    let stored = std::str::from_utf8(&header[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let Some(stored) = stored else { return false };
    let sum: u32 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == stored && header[0] != 0
}
