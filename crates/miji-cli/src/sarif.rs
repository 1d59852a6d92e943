//! SARIF 2.1.0 output for GitHub code scanning and other viewers (`--format sarif`).
//!
//! - One run; `tool.driver.rules` lists every rule that has a result, with `shortDescription`,
//!   `fullDescription` and `help` from the policy's rule description
//!   (`Policy::rule_description`), falling back to the rule ID.
//! - One `result` per finding: `ruleId`, `ruleIndex`, `level`, `message.text`
//!   (`<kind> <rule>: "<excerpt>"`, excerpts as in the report), one location whose
//!   `artifactLocation.uri` is the file's path as a relative URI (percent-encoded; absolute
//!   paths become `file://` URIs; non-UTF-8 bytes are percent-encoded losslessly) and whose
//!   `region` is the finding's `startLine`/`startColumn` (code points) for plain files.
//!   A finding inside a container member or document part (a non-empty `location`) keeps the
//!   outer file as its location with `region.startLine` 1 (what GitHub can show) and adds a
//!   `relatedLocations` entry pointing at the nested artifact, with the finding's line and
//!   column there.
//! - `partialFingerprints`: `mijiFingerprint/v1` is the report's `fingerprint`;
//!   `primaryLocationLineHash` is `<fingerprint>:<n>`, n counting equal fingerprints within
//!   the file, so alerts survive edits that move lines.
//! - `level`: markings by their level (`top-secret`, `secret` → `error`; `confidential` →
//!   `warning`; `internal`, `public` → `note`); keywords and detectors by confidence (`high` →
//!   `error`, `medium` → `warning`, `low` → `note`).
//! - `run.artifacts`: each file with a result or an error (`length`, `hashes.sha-256`,
//!   `lastModifiedTimeUtc`), and every nested member or part under it, chained by
//!   `parentIndex`, its `location.uri` the component itself.
//! - Incomplete records become `invocations[0].toolExecutionNotifications` (`level: error`,
//!   `descriptor.id` the error kind) on the file's location.
//! - Rules carry `defaultConfiguration.level` `warning`; each result states its own level.
//! - Records are added in path order (the CLI always sorts for SARIF), so the log is
//!   deterministic.
//! - `run.properties.policy` is the policy digest; with `--summary` the counts go to
//!   `run.properties.summary` too.

use miji::{Confidence, Finding, FindingKind, Level, Policy, Report};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// A SARIF log being assembled.
#[derive(Debug)]
pub struct Sarif {
    policy: Arc<Policy>,
    rules: Vec<Value>,
    rule_index: HashMap<String, usize>,
    artifacts: Vec<Value>,
    /// (parent index or usize::MAX, uri) → artifact index.
    artifact_index: HashMap<(usize, String), usize>,
    results: Vec<Value>,
    notifications: Vec<Value>,
    /// The summary, when `--summary` is on.
    pub summary: Option<Value>,
}

/// Percent-encodes a path into a URI reference: unreserved characters and `/` stay.
pub fn uri_of(raw: &[u8]) -> String {
    let mut raw = raw;
    while raw.starts_with(b"./") {
        raw = &raw[2..];
    }
    let mut s = String::with_capacity(raw.len() + 8);
    if raw.starts_with(b"/") {
        s.push_str("file://");
    }
    for &b in raw {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fn component_uri(c: &str) -> String {
    let mut s = String::new();
    for &b in c.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fn level_of(f: &Finding) -> &'static str {
    match f.kind {
        FindingKind::Marking => match f.level {
            Some(Level::TopSecret | Level::Secret) => "error",
            Some(Level::Confidential) => "warning",
            _ => "note",
        },
        _ => match f.confidence {
            Confidence::High => "error",
            Confidence::Medium => "warning",
            _ => "note",
        },
    }
}

impl Sarif {
    /// An empty log for a policy.
    pub fn new(policy: Arc<Policy>) -> Sarif {
        Sarif {
            policy,
            rules: Vec::new(),
            rule_index: HashMap::new(),
            artifacts: Vec::new(),
            artifact_index: HashMap::new(),
            results: Vec::new(),
            notifications: Vec::new(),
            summary: None,
        }
    }

    fn rule(&mut self, f: &Finding) -> usize {
        if let Some(&i) = self.rule_index.get(&f.rule) {
            return i;
        }
        let desc = self
            .policy
            .rule_description(&f.rule)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("miji rule {}", f.rule));
        let kind = crate::output::kind_str(f.kind);
        let mut tags = vec![json!("dlp"), json!(kind)];
        if let Some(c) = &f.category {
            tags.push(json!(c));
        }
        let help = format!(
            "{desc}\n\nKind: {kind}. Rule `{}` of the miji policy {}. Run `miji explain FILE` to see why a marking was or was not read; accept a finding with `miji baseline create` or an allow-list entry by fingerprint.",
            f.rule,
            self.policy.digest()
        );
        let i = self.rules.len();
        self.rules.push(json!({
            "id": f.rule,
            "name": f.rule,
            "shortDescription": {"text": desc},
            "fullDescription": {"text": desc},
            "help": {"text": help},
            "defaultConfiguration": {"level": "warning"},
            "properties": {"tags": tags},
        }));
        self.rule_index.insert(f.rule.clone(), i);
        i
    }

    fn artifact(&mut self, parent: Option<usize>, uri: String, extra: Value) -> usize {
        let key = (parent.unwrap_or(usize::MAX), uri.clone());
        if let Some(&i) = self.artifact_index.get(&key) {
            return i;
        }
        let mut a = json!({"location": {"uri": uri}});
        if let Some(p) = parent {
            a["parentIndex"] = json!(p);
        }
        if let (Some(obj), Value::Object(more)) = (a.as_object_mut(), extra) {
            obj.extend(more);
        }
        let i = self.artifacts.len();
        self.artifacts.push(a);
        self.artifact_index.insert(key, i);
        i
    }

    /// Adds one record's findings and errors.
    pub fn add(&mut self, r: &Report) {
        if r.findings.is_empty() && r.complete {
            return;
        }
        let raw = crate::baseline::record_path(r).unwrap_or_else(|| b"-".to_vec());
        let uri = uri_of(&raw);
        let mut extra = json!({"length": r.bytes});
        if let Some(f) = &r.file {
            if let Some(h) = &f.sha256 {
                extra["hashes"] = json!({"sha-256": h});
            }
            if let Some(t) = &f.mtime {
                extra["lastModifiedTimeUtc"] = json!(t);
            }
        }
        let file_idx = self.artifact(None, uri.clone(), extra);
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for f in &r.findings {
            let rule_idx = self.rule(f);
            let n = seen.entry(f.fingerprint.as_str()).or_insert(0);
            *n += 1;
            let mut parent = file_idx;
            for c in &f.location {
                parent = self.artifact(Some(parent), component_uri(c), json!({}));
            }
            let excerpt = f
                .excerpt
                .as_deref()
                .map(|e| format!(": {e:?}"))
                .unwrap_or_default();
            let loc_text = Report::render_location(&f.location);
            let mut message = format!("{} {}{excerpt}", crate::output::kind_str(f.kind), f.rule);
            if !loc_text.is_empty() {
                message.push_str(&format!(" in {loc_text}"));
            }
            if let Some(l) = f.level {
                message.push_str(&format!(" (level {l})"));
            }
            let nested = !f.location.is_empty();
            let region = if nested {
                json!({"startLine": 1})
            } else {
                json!({"startLine": f.line.max(1), "startColumn": f.column.max(1)})
            };
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": rule_idx,
                "level": level_of(f),
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri, "index": file_idx},
                        "region": region,
                    }
                }],
                "partialFingerprints": {
                    "mijiFingerprint/v1": f.fingerprint,
                    "primaryLocationLineHash": format!("{}:{}", f.fingerprint, n),
                },
                "properties": {
                    "kind": crate::output::kind_str(f.kind),
                    "confidence": f.confidence.to_string(),
                    "role": f.role.to_string(),
                    "recordLevel": r.level.to_string(),
                    "recordAction": r.action.to_string(),
                },
            });
            if let Some(c) = &f.category {
                result["properties"]["category"] = json!(c);
            }
            if nested {
                result["relatedLocations"] = json!([{
                    "id": 1,
                    "physicalLocation": {
                        "artifactLocation": {"index": parent},
                        "region": {"startLine": f.line.max(1), "startColumn": f.column.max(1)},
                    },
                    "message": {"text": format!("in {}", loc_text)},
                }]);
                result["properties"]["location"] = json!(f.location);
            }
            self.results.push(result);
        }
        for e in &r.errors {
            let loc = Report::render_location(&e.location);
            let mut text = format!("{}: {}", e.kind, e.message);
            if !loc.is_empty() {
                text.push_str(&format!(" in {loc}"));
            }
            self.notifications.push(json!({
                "level": "error",
                "message": {"text": text},
                "descriptor": {"id": e.kind.as_str()},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": uri, "index": file_idx}}
                }],
            }));
        }
    }

    /// The SARIF log.
    pub fn finish(self) -> Value {
        let mut properties = json!({"policy": self.policy.digest()});
        if let Some(s) = self.summary {
            properties["summary"] = s;
        }
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "miji",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://example.invalid/miji",
                    "rules": self.rules,
                }},
                "invocations": [{
                    "executionSuccessful": true,
                    "toolExecutionNotifications": self.notifications,
                }],
                "columnKind": "unicodeCodePoints",
                "artifacts": self.artifacts,
                "results": self.results,
                "properties": properties,
            }]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri_of(b"./share/a b.txt"), "share/a%20b.txt");
        assert_eq!(uri_of(b"/tmp/x.txt"), "file:///tmp/x.txt");
        assert_eq!(uri_of("机密.txt".as_bytes()), "%E6%9C%BA%E5%AF%86.txt");
        assert_eq!(uri_of(b"bad\xff.txt"), "bad%FF.txt");
    }
}
