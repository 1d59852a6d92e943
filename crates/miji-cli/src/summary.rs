//! `--summary`: what a scan saw, as counts. Printed to standard error when the scan ends —
//! lines for `--format text`, one JSON object (`"schema": "miji.summary/1"`) otherwise — and
//! embedded in SARIF as `runs[0].properties.summary`.
//!
//! Fields: `records`; `files` (records read from disk, not standard input); `complete`,
//! `incomplete`; `levels`, `actions` (records per level / action, every name present);
//! `schemes` (records per scheme of their top marking); `rules` (per rule: `records` with at
//! least one finding of it, `findings` counted exactly, beyond truncation); `errors` (records
//! per error kind); `bytes` (sum of the records' sizes); `bytes_read` (content bytes read in
//! this run: 0 for records served from the cache); `cached`; `symlinks_skipped`;
//! `baseline_suppressed` (findings removed by `--baseline`); `elapsed_s`; `files_per_s`
//! (records per second); `mb_per_s` (bytes read per second, 10^6 bytes).

use crate::engine::StatsSnapshot;
use miji::{Action, Level, Report};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

const LEVELS: [Level; 5] = [
    Level::Public,
    Level::Internal,
    Level::Confidential,
    Level::Secret,
    Level::TopSecret,
];
const ACTIONS: [Action; 4] = [Action::Allow, Action::Warn, Action::Redact, Action::Block];

/// Running counts.
#[derive(Debug, Default)]
pub struct Summary {
    records: u64,
    files: u64,
    complete: u64,
    levels: BTreeMap<String, u64>,
    actions: BTreeMap<String, u64>,
    schemes: BTreeMap<String, u64>,
    rules: BTreeMap<String, (u64, u64)>,
    errors: BTreeMap<String, u64>,
    bytes: u64,
    stats: StatsSnapshot,
    elapsed: Duration,
}

impl Summary {
    /// Counts one record.
    pub fn add(&mut self, r: &Report) {
        self.records += 1;
        if r.path.as_deref() != Some("-") {
            self.files += 1;
        }
        if r.complete {
            self.complete += 1;
        }
        *self.levels.entry(r.level.to_string()).or_default() += 1;
        *self.actions.entry(r.action.to_string()).or_default() += 1;
        if let Some(m) = &r.marking {
            *self.schemes.entry(m.scheme.clone()).or_default() += 1;
        }
        for (rule, n) in &r.counts {
            let e = self.rules.entry(rule.clone()).or_default();
            e.0 += 1;
            e.1 += n;
        }
        let mut kinds: Vec<&str> = r.errors.iter().map(|e| e.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for k in kinds {
            *self.errors.entry(k.to_owned()).or_default() += 1;
        }
        self.bytes += r.bytes;
    }

    /// Records the run's counters and duration.
    pub fn finish(&mut self, stats: &StatsSnapshot, elapsed: Duration) {
        self.stats = *stats;
        self.elapsed = elapsed;
    }

    fn secs(&self) -> f64 {
        self.elapsed.as_secs_f64().max(1e-6)
    }

    /// The summary as one JSON object.
    pub fn to_json(&self) -> Value {
        let mut levels = serde_json::Map::new();
        for l in LEVELS {
            let k = l.to_string();
            levels.insert(k.clone(), json!(self.levels.get(&k).copied().unwrap_or(0)));
        }
        let mut actions = serde_json::Map::new();
        for a in ACTIONS {
            let k = a.to_string();
            actions.insert(k.clone(), json!(self.actions.get(&k).copied().unwrap_or(0)));
        }
        let rules: serde_json::Map<String, Value> = self
            .rules
            .iter()
            .map(|(k, (r, f))| (k.clone(), json!({"records": r, "findings": f})))
            .collect();
        let secs = self.secs();
        json!({
            "schema": "miji.summary/1",
            "records": self.records,
            "files": self.files,
            "complete": self.complete,
            "incomplete": self.records - self.complete,
            "levels": levels,
            "actions": actions,
            "schemes": self.schemes,
            "rules": rules,
            "errors": self.errors,
            "bytes": self.bytes,
            "bytes_read": self.stats.bytes_read,
            "cached": self.stats.cached,
            "symlinks_skipped": self.stats.symlinks_skipped,
            "baseline_suppressed": self.stats.baseline_suppressed,
            "elapsed_s": (secs * 1000.0).round() / 1000.0,
            "files_per_s": (self.records as f64 / secs).round(),
            "mb_per_s": (self.stats.bytes_read as f64 / secs / 1e4).round() / 100.0,
        })
    }

    /// The summary as lines for people.
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        let secs = self.secs();
        let join = |m: &BTreeMap<String, u64>| {
            if m.is_empty() {
                return "none".to_owned();
            }
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let levels: BTreeMap<String, u64> = LEVELS
            .iter()
            .map(|l| (l.rank(), l.to_string()))
            .filter_map(|(_, k)| self.levels.get(&k).map(|v| (k, *v)))
            .collect();
        writeln!(
            out,
            "{} records ({} files), {} complete, {} incomplete",
            self.records,
            self.files,
            self.complete,
            self.records - self.complete
        )?;
        writeln!(out, "levels: {}", join(&levels))?;
        writeln!(out, "actions: {}", join(&self.actions))?;
        writeln!(out, "schemes: {}", join(&self.schemes))?;
        let rules: BTreeMap<String, u64> = self
            .rules
            .iter()
            .map(|(k, (_, f))| (k.clone(), *f))
            .collect();
        writeln!(out, "findings by rule: {}", join(&rules))?;
        writeln!(out, "errors: {}", join(&self.errors))?;
        writeln!(
            out,
            "{} bytes in records, {} bytes read, {} from cache, {} links not followed, {} baselined findings",
            self.bytes,
            self.stats.bytes_read,
            self.stats.cached,
            self.stats.symlinks_skipped,
            self.stats.baseline_suppressed
        )?;
        writeln!(
            out,
            "{:.3} s, {:.0} files/s, {:.2} MB/s",
            secs,
            self.records as f64 / secs,
            self.stats.bytes_read as f64 / secs / 1e6
        )
    }
}
