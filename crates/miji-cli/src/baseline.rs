//! Baselines: `miji baseline create FILE [PATHS]` records every finding's (path, fingerprint);
//! `miji scan --baseline FILE` then reports only findings not in it.
//!
//! The file (JSON, sorted, stable under re-creation, no scanned text):
//!
//! ```json
//! {"schema": "miji.baseline/1", "policy": "sha256:…",
//!  "entries": [{"path": "share/a.txt", "fingerprint": "9f2c41d07a5e8b13", "rule": "cn.state-secret"}]}
//! ```
//!
//! A non-UTF-8 path is written as `path_bytes` (base64) instead of `path`. Paths compare as the
//! records report them, after removing a leading `./`: create the baseline and scan from the same
//! folder with the same path arguments. The key is (path, fingerprint), not the fingerprint
//! alone, because a fingerprint does not include the path: accepting `机密★10年` in one file must
//! not hide the same marking in a new one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use miji::Report;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{self, Write};
use std::path::Path;

#[derive(Debug, Serialize, Deserialize)]
struct File {
    schema: String,
    policy: String,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Entry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path_bytes: Option<String>,
    fingerprint: String,
    rule: String,
}

/// A loaded (or growing) baseline.
#[derive(Debug)]
pub struct Baseline {
    policy: String,
    digest: String,
    entries: BTreeSet<Entry>,
    by_path: HashMap<Vec<u8>, HashSet<String>>,
}

/// A record's path as raw bytes, with a leading `./` removed.
pub fn record_path(r: &Report) -> Option<Vec<u8>> {
    let raw = match (&r.path_bytes, &r.path) {
        (Some(b), _) => B64.decode(b).ok()?,
        (None, Some(p)) => p.as_bytes().to_vec(),
        (None, None) => return None,
    };
    Some(normalise(raw))
}

fn normalise(mut raw: Vec<u8>) -> Vec<u8> {
    while raw.starts_with(b"./") {
        raw.drain(..2);
    }
    raw
}

impl Baseline {
    /// An empty baseline for a policy.
    pub fn new(policy: &str) -> Baseline {
        Baseline {
            policy: policy.to_owned(),
            digest: String::new(),
            entries: BTreeSet::new(),
            by_path: HashMap::new(),
        }
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> io::Result<Baseline> {
        let text = std::fs::read(path)?;
        let f: File = serde_json::from_slice(&text).map_err(io::Error::other)?;
        if f.schema != "miji.baseline/1" {
            return Err(io::Error::other(format!(
                "unknown baseline schema '{}'",
                f.schema
            )));
        }
        let mut b = Baseline::new(&f.policy);
        b.digest = crate::facts::sha256_hex(&text)[..16].to_owned();
        for e in f.entries {
            b.insert(e);
        }
        Ok(b)
    }

    fn insert(&mut self, e: Entry) {
        let raw = match (&e.path_bytes, &e.path) {
            (Some(b), _) => B64.decode(b).ok(),
            (None, Some(p)) => Some(p.as_bytes().to_vec()),
            (None, None) => None,
        };
        if let Some(raw) = raw {
            self.by_path
                .entry(normalise(raw))
                .or_default()
                .insert(e.fingerprint.clone());
        }
        self.entries.insert(e);
    }

    /// A digest of the file's bytes (part of the cache's configuration key).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The accepted fingerprints of a path (raw bytes, normalised).
    pub fn for_path(&self, path: &[u8]) -> Option<&HashSet<String>> {
        self.by_path.get(path)
    }

    /// Adds every finding of a record.
    pub fn add(&mut self, r: &Report) {
        let Some(raw) = record_path(r) else {
            return;
        };
        let (path, path_bytes) = match String::from_utf8(raw) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(B64.encode(e.as_bytes()))),
        };
        for f in &r.findings {
            self.insert(Entry {
                path: path.clone(),
                path_bytes: path_bytes.clone(),
                fingerprint: f.fingerprint.clone(),
                rule: f.rule.clone(),
            });
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Number of files with entries.
    pub fn files(&self) -> usize {
        self.by_path.len()
    }

    /// The policy digest the baseline was made with.
    #[allow(dead_code)]
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// Writes the file (sorted; written to a temporary file, then renamed).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let f = File {
            schema: "miji.baseline/1".into(),
            policy: self.policy.clone(),
            entries: self.entries.iter().cloned().collect(),
        };
        let mut text = serde_json::to_vec_pretty(&f).map_err(io::Error::other)?;
        text.push(b'\n');
        let mut tmp = path.to_path_buf();
        tmp.as_mut_os_string().push(".tmp");
        {
            let mut out = std::fs::File::create(&tmp)?;
            out.write_all(&text)?;
            out.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }
}

/// The allow-list source that suppresses `fingerprints` (TOML for `PolicyBuilder::source`).
pub fn allow_source(fingerprints: &[String]) -> String {
    let mut s = String::new();
    for fp in fingerprints {
        s.push_str("[[allow]]\nfingerprint = \"");
        s.extend(fp.chars().filter(char::is_ascii_alphanumeric));
        s.push_str("\"\nreason = \"miji baseline\"\n");
    }
    s
}
