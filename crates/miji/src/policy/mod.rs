//! Policy: TOML sources (the embedded packs under `patterns/` plus user files) validated with
//! coded diagnostics and compiled once into an immutable [`Policy`] with one literal gate.
//!
//! The file format is documented in `patterns/README.md`. A bad source is refused whole: the
//! builder returns every diagnostic and never yields a half-loaded policy.

mod builtin;
mod diag;
mod raw;

pub use builtin::BUILTIN_PACKS;
pub use diag::{Diagnostic, codes};

use crate::detect::Validator;
use crate::error::Error;
use crate::fold::fold_str;
use crate::level::{Action, Confidence, Level};
use crate::mask::MaskStyle;
use crate::report::{ErrorKind, FindingKind};
use diag::line_col;
use raw::*;
use regex::Regex;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use toml::Spanned;

/// The scheme IDs of contract §1 (closed list).
pub const SCHEMES: &[&str] = &[
    "cn", "cn-trade", "tw", "hk", "us", "uk", "nato", "eu", "de", "fr", "ru", "jp", "kr", "corp",
    "tlp", "label",
];

/// Corroborating cues a marking rule can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Cue {
    /// In the first/last lines of its segment, or in a header/footer/subject/metadata segment.
    Position,
    /// A scaffold line (份号, 紧急程度, CAB…) within the rule's window.
    Scaffold,
    /// The same marking line appears at least twice in the document.
    Repetition,
    /// In a header, footer, subject, mail-header, metadata, file-name or title segment.
    Header,
}

impl Cue {
    fn parse(s: &str) -> Option<Cue> {
        match s {
            "position" => Some(Cue::Position),
            "scaffold" => Some(Cue::Scaffold),
            "repetition" => Some(Cue::Repetition),
            "header" => Some(Cue::Header),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Cue::Position => "position",
            Cue::Scaffold => "scaffold",
            Cue::Repetition => "repetition",
            Cue::Header => "header",
        }
    }
}

/// Where a negative cue looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CueScope {
    /// The candidate's own line.
    Line,
    /// Lines within this many lines above and below (and the line itself).
    Window(usize),
    /// Any line of the document the gate selected by the cue's keywords.
    Document,
}

/// What a negative cue does to a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CueEffect {
    /// The candidate is a mention.
    Reject,
    /// One confidence step down.
    Lower,
}

/// A compiled negative cue (`[[reject]]`).
#[derive(Debug)]
pub(crate) struct NegativeCue {
    pub name: String,
    pub regex: Regex,
    pub scope: CueScope,
    pub effect: CueEffect,
    pub schemes: Vec<String>,
    pub rules: Vec<String>,
    pub except: Vec<String>,
    pub keywords: Vec<String>,
}

impl NegativeCue {
    fn applies(&self, scheme: &str, rule: &str) -> bool {
        (self.schemes.is_empty() || self.schemes.iter().any(|s| s == scheme))
            && (self.rules.is_empty() || self.rules.iter().any(|r| r == rule))
            && !self.except.iter().any(|r| r == rule)
    }
}

/// What `excerpt` fields carry (contract §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExcerptSetting {
    /// Markings as found; keywords and detectors masked per rule (the default).
    Masked,
    /// No excerpts at all.
    None,
}

/// Settings shared by every rule of a rule ID.
#[derive(Debug, Clone)]
pub(crate) struct RuleMeta {
    pub id: String,
    pub kind: FindingKind,
    pub category: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub action: Action,
    pub min_confidence: Option<Confidence>,
    pub min_count: u64,
    pub mask: MaskStyle,
}

/// A compiled marking rule.
#[derive(Debug)]
pub(crate) struct MarkingRule {
    pub rule: usize,
    pub scheme: String,
    pub regex: Regex,
    /// Normalised label → (level, label as reported).
    pub levels: HashMap<String, (Level, String)>,
    pub level: Option<(Level, String)>,
    pub confidence: Confidence,
    pub needs: Vec<Cue>,
    pub scaffold: Vec<Regex>,
    pub scaffold_window: usize,
    /// The documented shape, for the decision trace.
    pub form: Option<String>,
    /// The rule's own line rejects.
    pub reject: Vec<Regex>,
    /// Lines near the marking that supply period, dates, conditions, caveats.
    pub nearby: Vec<Regex>,
    pub nearby_window: usize,
    /// Indices into `Policy::negatives` of the line/window cues that apply to this rule.
    pub negatives: Vec<usize>,
    /// Indices into `Policy::negatives` of the document cues that apply to this rule.
    pub doc_negatives: Vec<usize>,
    pub examples: (Vec<String>, Vec<String>),
}

/// A compiled dictionary.
#[derive(Debug)]
pub(crate) struct DictionaryRule {
    pub rule: usize,
    pub case_sensitive: bool,
    pub whole_word: bool,
    pub confidence: Confidence,
    /// Folded terms, for case-sensitive dictionaries (the gate itself ignores ASCII case).
    pub exact_terms: HashSet<String>,
    pub examples: (Vec<String>, Vec<String>),
}

/// A compiled detector.
#[derive(Debug)]
pub(crate) struct DetectorRule {
    pub rule: usize,
    pub regex: Regex,
    pub gated: bool,
    pub min_digits: Option<u32>,
    pub validator: Option<Validator>,
    pub context: Vec<String>,
    pub negative_context: Vec<String>,
    pub confidence: Confidence,
    pub examples: (Vec<String>, Vec<String>),
}

/// What a gate literal leads to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    Marking(u32),
    Term {
        dictionary: u32,
        term_len: u32,
    },
    Detector(u32),
    /// A document-scope negative cue.
    Cue(u32),
    /// A traditional character the fold maps (see [`crate::fold::fold_for_gate`]).
    Traditional,
}

/// A compiled allow-list.
#[derive(Debug, Default)]
pub(crate) struct AllowList {
    pub terms: HashSet<String>,
    pub regexes: Vec<(Regex, Option<String>)>,
    pub fingerprints: HashSet<String>,
    pub paths: Vec<(globset::GlobMatcher, Option<String>)>,
}

/// A compiled policy: immutable, `Send + Sync`; share it in an `Arc` (the [`crate::Scanner`] does).
#[derive(Debug)]
pub struct Policy {
    pub(crate) rules: Vec<RuleMeta>,
    pub(crate) markings: Vec<MarkingRule>,
    pub(crate) dictionaries: Vec<DictionaryRule>,
    pub(crate) detectors: Vec<DetectorRule>,
    pub(crate) gate: crate::gate::Gate,
    /// Per gate pattern: range into `targets`.
    pub(crate) target_ranges: Vec<(u32, u32)>,
    pub(crate) targets: Vec<Target>,
    pub(crate) allow: AllowList,
    pub(crate) negatives: Vec<NegativeCue>,
    /// The most lines around a marking any window cue, scaffold or nearby attribute looks at.
    pub(crate) context_lines: usize,
    /// Lower-cased label-metadata ID → (level, name).
    pub(crate) label_map: HashMap<String, (Level, Option<String>)>,
    pub(crate) min_confidence: Confidence,
    pub(crate) excerpt: ExcerptSetting,
    pub(crate) level_actions: [Action; 5],
    pub(crate) on_error: HashMap<ErrorKind, Action>,
    pub(crate) max_findings: u64,
    pub(crate) digest: String,
}

impl Policy {
    /// The policy digest reported in every record (`sha256:` + 16 hex digits).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Every rule ID, in load order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// A rule's description from its pack (for SARIF help text and `miji rules`).
    pub fn rule_description(&self, id: &str) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.description.as_deref())
    }

    /// Number of literals in the literal gate.
    pub fn gate_len(&self) -> usize {
        self.target_ranges.len()
    }

    /// The action for a level.
    pub fn level_action(&self, level: Level) -> Action {
        self.level_actions[level.rank() as usize]
    }

    /// The action for an incomplete record with this error kind.
    pub fn on_error_action(&self, kind: ErrorKind) -> Action {
        self.on_error.get(&kind).copied().unwrap_or(Action::Redact)
    }

    /// Runs only the literal gate over already folded text and counts its hits (benchmarks).
    #[doc(hidden)]
    pub fn gate_hits(&self, folded: &str) -> usize {
        let mut n = 0;
        self.gate.for_each_match(folded, |_, _, _| n += 1);
        n
    }

    pub(crate) fn targets_of(&self, pattern: usize) -> &[Target] {
        let (a, b) = self.target_ranges[pattern];
        &self.targets[a as usize..b as usize]
    }
}

/// Where word-list files named by a policy come from.
pub type FileLoader = dyn Fn(&str, Option<&str>) -> Result<String, String> + Send + Sync;

/// One policy source: a name for diagnostics, its text, and its directory for word lists.
#[derive(Debug, Clone)]
struct Source {
    name: String,
    text: String,
    base_dir: Option<String>,
    builtin: bool,
}

/// Builds a [`Policy`] from the embedded packs, policy files, and dictionaries.
///
/// ```
/// let policy = miji::PolicyBuilder::new()
///     .dictionary("projects", ["天穹计划", "Project Aurora"])
///     .build()
///     .unwrap();
/// assert!(policy.rule_ids().any(|id| id == "dict.projects"));
/// ```
pub struct PolicyBuilder {
    use_default: bool,
    sources: Vec<Source>,
    dictionaries: Vec<(String, Vec<String>)>,
    loader: Option<Box<FileLoader>>,
}

impl std::fmt::Debug for PolicyBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyBuilder")
            .field("use_default", &self.use_default)
            .field(
                "sources",
                &self.sources.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for PolicyBuilder {
    fn default() -> Self {
        PolicyBuilder::new()
    }
}

impl PolicyBuilder {
    /// A builder that starts from the embedded default packs.
    pub fn new() -> PolicyBuilder {
        PolicyBuilder {
            use_default: true,
            sources: Vec::new(),
            dictionaries: Vec::new(),
            loader: None,
        }
    }

    /// Whether the embedded default packs are loaded. Enabled by default; a source that says
    /// `extends = [...]` chooses packs itself.
    pub fn default_policy(mut self, yes: bool) -> Self {
        self.use_default = yes;
        self
    }

    /// Adds a policy source. `name` appears in diagnostics; `base_dir` resolves word-list files.
    pub fn source(
        mut self,
        name: impl Into<String>,
        text: impl Into<String>,
        base_dir: Option<String>,
    ) -> Self {
        self.sources.push(Source {
            name: name.into(),
            text: text.into(),
            base_dir,
            builtin: false,
        });
        self
    }

    /// Adds a dictionary `dict.<name>` (category `name`, action `block`).
    pub fn dictionary<I, S>(mut self, name: impl Into<String>, terms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dictionaries
            .push((name.into(), terms.into_iter().map(Into::into).collect()));
        self
    }

    /// Sets how word-list files (`file = "..."`) are read: `(path, base_dir) -> text`.
    /// Without it, the `fs` feature reads them from disk relative to the policy file.
    pub fn file_loader(mut self, loader: Box<FileLoader>) -> Self {
        self.loader = Some(loader);
        self
    }

    /// Reads a policy file from disk and adds it.
    #[cfg(feature = "fs")]
    pub fn policy_file(self, path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::policy(vec![Diagnostic {
                code: codes::WORD_LIST,
                message: format!("cannot read policy file: {e}"),
                file: name.clone(),
                line: 0,
                column: 0,
            }])
        })?;
        let base = path.parent().map(|p| p.display().to_string());
        Ok(self.source(name, text, base))
    }

    /// Compiles everything. Returns every diagnostic when any source is bad.
    pub fn build(self) -> Result<Policy, Error> {
        Compiler::default().compile(self)
    }
}

/// Validation + compilation state.
#[derive(Default)]
struct Compiler {
    diags: Vec<Diagnostic>,
    rules: Vec<RuleMeta>,
    rule_index: HashMap<String, usize>,
    markings: Vec<(MarkingRule, Vec<String>)>,
    dictionaries: Vec<(DictionaryRule, Vec<String>)>,
    detectors: Vec<(DetectorRule, Vec<String>)>,
    overrides: Vec<(String, Source, Spanned<RawRuleOverride>)>,
    allow: AllowList,
    negatives: Vec<NegativeCue>,
    label_map: HashMap<String, (Level, Option<String>)>,
    min_confidence: Option<Confidence>,
    excerpt: Option<ExcerptSetting>,
    level_actions: Option<[Action; 5]>,
    on_error: HashMap<ErrorKind, Action>,
    max_findings: Option<u64>,
}

impl Compiler {
    fn diag(
        &mut self,
        code: &'static str,
        src: &Source,
        span: Option<Range<usize>>,
        message: String,
    ) {
        let (line, column) = span.map(|s| line_col(&src.text, s.start)).unwrap_or((0, 0));
        self.diags.push(Diagnostic {
            code,
            message,
            file: src.name.clone(),
            line,
            column,
        });
    }

    fn compile(mut self, b: PolicyBuilder) -> Result<Policy, Error> {
        // Parse user sources first: their `extends` decides which packs load.
        let mut parsed: Vec<(Source, RawPolicy)> = Vec::new();
        for src in &b.sources {
            if let Some(raw) = self.parse(src) {
                parsed.push((src.clone(), raw));
            }
        }
        if !self.diags.is_empty() {
            return Err(Error::policy(self.diags));
        }
        let mut packs: Vec<&'static str> = Vec::new();
        let explicit: Vec<(Source, Spanned<Vec<Spanned<String>>>)> = parsed
            .iter()
            .filter_map(|(s, r)| r.extends.clone().map(|e| (s.clone(), e)))
            .collect();
        if b.use_default {
            if explicit.is_empty() {
                packs.extend(BUILTIN_PACKS.iter().map(|(n, _)| *n));
            } else {
                for (src, ext) in &explicit {
                    for name in ext.get_ref() {
                        if name.get_ref() == "default" {
                            packs.extend(BUILTIN_PACKS.iter().map(|(n, _)| *n));
                        } else if let Some((n, _)) =
                            BUILTIN_PACKS.iter().find(|(n, _)| n == name.get_ref())
                        {
                            packs.push(n);
                        } else {
                            let known: Vec<_> = BUILTIN_PACKS
                                .iter()
                                .map(|(n, _)| *n)
                                .filter(|n| *n != "default")
                                .collect();
                            self.diag(
                                codes::EXTENDS,
                                src,
                                Some(name.span()),
                                format!(
                                    "unknown pack '{}' in extends (known: default, {})",
                                    name.get_ref(),
                                    known.join(", ")
                                ),
                            );
                        }
                    }
                }
                // `default` is always the settings pack when any pack is named
                if !packs.is_empty() && !packs.contains(&"default") {
                    packs.insert(0, "default");
                }
            }
        }
        let mut seen = HashSet::new();
        packs.retain(|p| seen.insert(*p));
        let mut all: Vec<(Source, RawPolicy)> = Vec::new();
        for name in packs {
            let text = BUILTIN_PACKS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| *t)
                .unwrap_or("");
            let src = Source {
                name: format!("patterns/{name}.toml"),
                text: text.to_owned(),
                base_dir: None,
                builtin: true,
            };
            if let Some(raw) = self.parse(&src) {
                all.push((src, raw));
            }
        }
        all.extend(parsed);
        for (src, raw) in all {
            self.load(&src, raw, b.loader.as_deref());
        }
        for (name, terms) in &b.dictionaries {
            let src = Source {
                name: format!("<dictionary:{name}>"),
                text: String::new(),
                base_dir: None,
                builtin: false,
            };
            let raw = RawDictionary {
                name: Spanned::new(0..0, name.clone()),
                category: None,
                terms: terms.clone(),
                file: None,
                case_sensitive: false,
                whole_word: None,
                confidence: None,
                action: None,
                mask: None,
                examples: RawExamples::default(),
            };
            self.load_dictionary(&src, raw, None, &mut HashSet::new());
        }
        let overrides = std::mem::take(&mut self.overrides);
        for (id, src, ov) in overrides {
            self.apply_override(&id, &src, ov);
        }
        if !self.diags.is_empty() {
            return Err(Error::policy(self.diags));
        }
        let digest = digest(&b);
        self.finish(digest)
    }

    fn parse(&mut self, src: &Source) -> Option<RawPolicy> {
        if let Err(e) = src.text.parse::<toml::Table>() {
            self.diag(
                codes::SYNTAX,
                src,
                e.span(),
                format!("invalid TOML: {}", first_line(e.message())),
            );
            return None;
        }
        match toml::from_str::<RawPolicy>(&src.text) {
            Ok(raw) => Some(raw),
            Err(e) => {
                self.diag(
                    codes::STRUCTURE,
                    src,
                    e.span(),
                    first_line(e.message()).to_owned(),
                );
                None
            }
        }
    }

    fn parse_enum<T: std::str::FromStr<Err = String>>(
        &mut self,
        src: &Source,
        v: &Spanned<String>,
    ) -> Option<T> {
        match v.get_ref().parse::<T>() {
            Ok(t) => Some(t),
            Err(e) => {
                let code = if e.starts_with("unknown level") {
                    codes::LEVEL
                } else {
                    codes::VALUE
                };
                self.diag(code, src, Some(v.span()), e);
                None
            }
        }
    }

    fn regex(&mut self, src: &Source, v: &Spanned<String>) -> Option<Regex> {
        match regex::RegexBuilder::new(v.get_ref())
            .size_limit(8 << 20)
            .build()
        {
            Ok(r) => Some(r),
            Err(e) => {
                let msg = e.to_string().lines().last().unwrap_or("").trim().to_owned();
                self.diag(
                    codes::REGEX,
                    src,
                    Some(v.span()),
                    format!("invalid regex '{}': {msg}", v.get_ref()),
                );
                None
            }
        }
    }

    fn new_rule(
        &mut self,
        src: &Source,
        id: &Spanned<String>,
        meta: RuleMeta,
        seen_here: &mut HashSet<String>,
    ) -> usize {
        if !seen_here.insert(id.get_ref().clone()) {
            self.diag(
                codes::DUPLICATE,
                src,
                Some(id.span()),
                format!("duplicate rule id '{}'", id.get_ref()),
            );
        }
        if let Some(&i) = self.rule_index.get(id.get_ref()) {
            // a later source replaces an earlier rule of the same ID (documented)
            self.rules[i] = meta;
            self.markings.retain(|(m, _)| m.rule != i);
            self.dictionaries.retain(|(d, _)| d.rule != i);
            self.detectors.retain(|(d, _)| d.rule != i);
            return i;
        }
        self.rules.push(meta);
        self.rule_index
            .insert(id.get_ref().clone(), self.rules.len() - 1);
        self.rules.len() - 1
    }

    fn load(&mut self, src: &Source, raw: RawPolicy, loader: Option<&FileLoader>) {
        let mut seen_here = HashSet::new();
        for m in raw.marking {
            self.load_marking(src, m, &mut seen_here);
        }
        for d in raw.dictionary {
            self.load_dictionary(src, d, loader, &mut seen_here);
        }
        for d in raw.detector {
            self.load_detector(src, d, &mut seen_here);
        }
        for a in raw.allow {
            self.load_allow(src, a);
        }
        for (id, ov) in raw.rule {
            self.overrides.push((id, src.clone(), ov));
        }
        for r in raw.reject {
            self.load_reject(src, r);
        }
        for l in raw.label_map {
            let Some(level) = self.parse_enum::<Level>(src, &l.level) else {
                continue;
            };
            let id = l.id.get_ref().trim().to_ascii_lowercase();
            if id.is_empty() {
                self.diag(
                    codes::EMPTY,
                    src,
                    Some(l.id.span()),
                    "label_map entry needs a non-empty id".to_owned(),
                );
                continue;
            }
            self.label_map.insert(id, (level, l.name.clone()));
        }
        if let Some(s) = raw.settings {
            if let Some(c) = s.min_confidence {
                self.min_confidence = self
                    .parse_enum::<Confidence>(src, &c)
                    .or(self.min_confidence);
            }
            if let Some(e) = s.excerpt {
                match e.get_ref().as_str() {
                    "masked" => self.excerpt = Some(ExcerptSetting::Masked),
                    "none" => self.excerpt = Some(ExcerptSetting::None),
                    other => self.diag(
                        codes::VALUE,
                        src,
                        Some(e.span()),
                        format!("unknown excerpt setting '{other}' (expected masked, none)"),
                    ),
                }
            }
        }
        if let Some(a) = raw.actions {
            let mut levels = self.level_actions.unwrap_or([
                Action::Allow,
                Action::Warn,
                Action::Block,
                Action::Block,
                Action::Block,
            ]);
            for (k, v) in &a.levels {
                let key = Spanned::new(v.span(), k.clone());
                if let (Some(level), Some(action)) = (
                    self.parse_enum::<Level>(src, &key),
                    self.parse_enum::<Action>(src, v),
                ) {
                    levels[level.rank() as usize] = action;
                }
            }
            self.level_actions = Some(levels);
            for (k, v) in &a.on_error {
                let Some(action) = self.parse_enum::<Action>(src, v) else {
                    continue;
                };
                if k == "default" {
                    for kind in ErrorKind::ALL {
                        self.on_error.insert(*kind, action);
                    }
                } else if let Some(kind) = ErrorKind::from_name(k) {
                    self.on_error.insert(kind, action);
                } else {
                    self.diag(
                        codes::VALUE,
                        src,
                        Some(v.span()),
                        format!("unknown error kind '{k}' in actions.on_error"),
                    );
                }
            }
        }
        if let Some(m) = raw.limits.and_then(|l| l.max_findings) {
            self.max_findings = Some(m);
        }
    }

    fn confidence(
        &mut self,
        src: &Source,
        v: &Option<Spanned<String>>,
        default: Confidence,
    ) -> Confidence {
        v.as_ref()
            .and_then(|c| self.parse_enum::<Confidence>(src, c))
            .unwrap_or(default)
    }

    fn action(&mut self, src: &Source, v: &Option<Spanned<String>>, default: Action) -> Action {
        v.as_ref()
            .and_then(|c| self.parse_enum::<Action>(src, c))
            .unwrap_or(default)
    }

    fn mask(&mut self, src: &Source, v: &Option<Spanned<String>>, default: MaskStyle) -> MaskStyle {
        match v {
            None => default,
            Some(s) => {
                match MaskStyle::parse(s.get_ref()) {
                    Some(m) => m,
                    None => {
                        self.diag(
                        codes::VALUE,
                        src,
                        Some(s.span()),
                        format!("unknown mask '{}' (expected none, partial, redact, hash, keep-last-N)", s.get_ref()),
                    );
                        default
                    }
                }
            }
        }
    }

    fn load_marking(&mut self, src: &Source, m: RawMarking, seen_here: &mut HashSet<String>) {
        if !SCHEMES.contains(&m.scheme.get_ref().as_str()) {
            self.diag(
                codes::SCHEME,
                src,
                Some(m.scheme.span()),
                format!(
                    "unknown scheme '{}' (expected one of: {})",
                    m.scheme.get_ref(),
                    SCHEMES.join(", ")
                ),
            );
        }
        if m.keywords.get_ref().is_empty()
            || m.keywords.get_ref().iter().any(|k| k.trim().is_empty())
        {
            self.diag(
                codes::EMPTY,
                src,
                Some(m.keywords.span()),
                format!("marking rule '{}' needs non-empty keywords", m.id.get_ref()),
            );
        }
        let regex = self.regex(src, &m.pattern);
        if let Some(r) = &regex {
            for name in r.capture_names().flatten() {
                if !matches!(
                    name,
                    "label"
                        | "label_id"
                        | "period"
                        | "declassify_on"
                        | "condition"
                        | "caveats"
                        | "mark"
                ) {
                    self.diag(
                        codes::GROUP,
                        src,
                        Some(m.pattern.span()),
                        format!("unknown capture group '{name}' (expected label, label_id, period, declassify_on, condition, caveats, mark)"),
                    );
                }
            }
        }
        let mut levels = HashMap::new();
        for (label, lv) in &m.levels {
            if let Some(level) = self.parse_enum::<Level>(src, lv) {
                let key = normalise_label(label);
                let shown = m
                    .labels
                    .iter()
                    .find(|(k, _)| normalise_label(k) == key)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| key.clone());
                levels.insert(key, (level, shown));
            }
        }
        let has_label_id = regex
            .as_ref()
            .is_some_and(|r| r.capture_names().flatten().any(|n| n == "label_id"));
        let level = match &m.level {
            Some(lv) => self
                .parse_enum::<Level>(src, lv)
                .map(|l| (l, m.label.clone().unwrap_or_else(|| m.id.get_ref().clone()))),
            None => None,
        };
        if level.is_none() && levels.is_empty() && m.level.is_none() && !has_label_id {
            self.diag(
                codes::EMPTY,
                src,
                Some(m.id.span()),
                format!(
                    "marking rule '{}' needs `levels` (for its label group) or `level`",
                    m.id.get_ref()
                ),
            );
        }
        let confidence = self.confidence(src, &m.confidence, Confidence::High);
        let mut needs = Vec::new();
        for n in &m.needs {
            match Cue::parse(n.get_ref()) {
                Some(c) => needs.push(c),
                None => self.diag(
                    codes::VALUE,
                    src,
                    Some(n.span()),
                    format!(
                        "unknown cue '{}' (expected position, scaffold, repetition, header)",
                        n.get_ref()
                    ),
                ),
            }
        }
        let scaffold: Vec<Regex> = m
            .scaffold
            .iter()
            .filter_map(|s| self.regex(src, s))
            .collect();
        let reject: Vec<Regex> = m.reject.iter().filter_map(|s| self.regex(src, s)).collect();
        let nearby: Vec<Regex> = m.nearby.iter().filter_map(|s| self.regex(src, s)).collect();
        let meta = RuleMeta {
            id: m.id.get_ref().clone(),
            kind: FindingKind::Marking,
            category: None,
            description: m.description.clone(),
            enabled: true,
            action: Action::Allow,
            min_confidence: None,
            min_count: 1,
            mask: MaskStyle::None,
        };
        let rule = self.new_rule(src, &m.id, meta, seen_here);
        if let Some(regex) = regex {
            let keywords = m
                .keywords
                .into_inner()
                .iter()
                .map(|k| fold_str(k))
                .collect();
            self.markings.push((
                MarkingRule {
                    rule,
                    scheme: m.scheme.into_inner(),
                    regex,
                    levels,
                    level,
                    confidence,
                    needs,
                    scaffold,
                    scaffold_window: m.scaffold_window.unwrap_or(6),
                    form: m.form.clone(),
                    reject,
                    nearby,
                    nearby_window: m.nearby_window.unwrap_or(3),
                    negatives: Vec::new(),
                    doc_negatives: Vec::new(),
                    examples: (m.examples.must_match, m.examples.must_not_match),
                },
                keywords,
            ));
        }
    }

    fn load_reject(&mut self, src: &Source, r: RawReject) {
        let regex = self.regex(src, &r.pattern);
        let scope = match r.scope.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("line") => CueScope::Line,
            Some("window") => CueScope::Window(r.window.unwrap_or(3)),
            Some("document") => CueScope::Document,
            Some(other) => {
                self.diag(
                    codes::VALUE,
                    src,
                    r.scope.as_ref().map(|s| s.span()),
                    format!("unknown reject scope '{other}' (expected line, window, document)"),
                );
                CueScope::Line
            }
        };
        let effect = match r.effect.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("reject") => CueEffect::Reject,
            Some("lower") => CueEffect::Lower,
            Some(other) => {
                self.diag(
                    codes::VALUE,
                    src,
                    r.effect.as_ref().map(|s| s.span()),
                    format!("unknown reject effect '{other}' (expected reject, lower)"),
                );
                CueEffect::Reject
            }
        };
        for s in &r.schemes {
            if !SCHEMES.contains(&s.get_ref().as_str()) {
                self.diag(
                    codes::SCHEME,
                    src,
                    Some(s.span()),
                    format!(
                        "unknown scheme '{}' (expected one of: {})",
                        s.get_ref(),
                        SCHEMES.join(", ")
                    ),
                );
            }
        }
        let keywords: Vec<String> = r
            .keywords
            .iter()
            .map(|k| fold_str(k.trim()))
            .filter(|k| !k.is_empty())
            .collect();
        if scope == CueScope::Document && keywords.is_empty() {
            self.diag(
                codes::EMPTY,
                src,
                Some(r.name.span()),
                format!(
                    "reject '{}' with scope = \"document\" needs keywords",
                    r.name.get_ref()
                ),
            );
        }
        let Some(regex) = regex else { return };
        let cue = NegativeCue {
            name: r.name.get_ref().clone(),
            regex,
            scope,
            effect,
            schemes: r.schemes.iter().map(|s| s.get_ref().clone()).collect(),
            rules: r.rules.clone(),
            except: r.except.clone(),
            keywords,
        };
        // a later source replaces an earlier cue of the same name
        if let Some(old) = self.negatives.iter_mut().find(|c| c.name == cue.name) {
            *old = cue;
        } else {
            self.negatives.push(cue);
        }
    }

    fn load_dictionary(
        &mut self,
        src: &Source,
        d: RawDictionary,
        loader: Option<&FileLoader>,
        seen_here: &mut HashSet<String>,
    ) {
        let mut terms = d.terms.clone();
        let mut file_failed = false;
        if let Some(file) = &d.file {
            let text = match loader {
                Some(l) => l(file.get_ref(), src.base_dir.as_deref()),
                None => read_word_list(file.get_ref(), src),
            };
            match text {
                Ok(t) => terms.extend(
                    t.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(str::to_owned),
                ),
                Err(e) => {
                    file_failed = true;
                    self.diag(
                        codes::WORD_LIST,
                        src,
                        Some(file.span()),
                        format!("cannot read word list '{}': {e}", file.get_ref()),
                    )
                }
            }
        }
        if !file_failed && terms.iter().all(|t| t.trim().is_empty()) {
            self.diag(
                codes::EMPTY,
                src,
                Some(d.name.span()),
                format!("dictionary '{}' has no terms", d.name.get_ref()),
            );
        }
        let id = Spanned::new(d.name.span(), format!("dict.{}", d.name.get_ref()));
        let confidence = self.confidence(src, &d.confidence, Confidence::High);
        let action = self.action(src, &d.action, Action::Block);
        let mask = self.mask(src, &d.mask, MaskStyle::None);
        let meta = RuleMeta {
            id: id.get_ref().clone(),
            kind: FindingKind::Keyword,
            category: Some(
                d.category
                    .clone()
                    .unwrap_or_else(|| d.name.get_ref().clone()),
            ),
            description: Some(format!("dictionary term from '{}'", d.name.get_ref())),
            enabled: true,
            action,
            min_confidence: None,
            min_count: 1,
            mask,
        };
        let rule = self.new_rule(src, &id, meta, seen_here);
        let folded: Vec<String> = terms
            .iter()
            .map(|t| fold_str(t.trim()))
            .filter(|t| !t.is_empty())
            .collect();
        self.dictionaries.push((
            DictionaryRule {
                rule,
                case_sensitive: d.case_sensitive,
                whole_word: d.whole_word.unwrap_or(true),
                confidence,
                exact_terms: if d.case_sensitive {
                    folded.iter().cloned().collect()
                } else {
                    HashSet::new()
                },
                examples: (d.examples.must_match, d.examples.must_not_match),
            },
            folded,
        ));
    }

    fn load_detector(&mut self, src: &Source, d: RawDetector, seen_here: &mut HashSet<String>) {
        let regex = self.regex(src, &d.pattern);
        let validator = match &d.validator {
            None => None,
            Some(v) => match Validator::parse(v.get_ref()) {
                Some(v) => Some(v),
                None => {
                    self.diag(
                        codes::VALIDATOR,
                        src,
                        Some(v.span()),
                        format!(
                            "unknown validator '{}' (expected one of: {})",
                            v.get_ref(),
                            Validator::NAMES.join(", ")
                        ),
                    );
                    None
                }
            },
        };
        let confidence = self.confidence(src, &d.confidence, Confidence::Medium);
        let action = self.action(src, &d.action, Action::Warn);
        let mask = self.mask(src, &d.mask, MaskStyle::Partial);
        let meta = RuleMeta {
            id: d.id.get_ref().clone(),
            kind: FindingKind::Detector,
            category: Some(d.category.clone().unwrap_or_else(|| "pii".to_owned())),
            description: d.description.clone(),
            enabled: true,
            action,
            min_confidence: None,
            min_count: 1,
            mask,
        };
        let rule = self.new_rule(src, &d.id, meta, seen_here);
        if let Some(regex) = regex {
            let keywords: Vec<String> = d
                .keywords
                .iter()
                .map(|k| fold_str(k))
                .filter(|k| !k.is_empty())
                .collect();
            self.detectors.push((
                DetectorRule {
                    rule,
                    regex,
                    gated: !keywords.is_empty(),
                    min_digits: d.min_digits,
                    validator,
                    context: d
                        .context
                        .iter()
                        .map(|c| fold_str(c).to_lowercase())
                        .collect(),
                    negative_context: d
                        .negative_context
                        .iter()
                        .map(|c| fold_str(c).to_lowercase())
                        .collect(),
                    confidence,
                    examples: (d.examples.must_match, d.examples.must_not_match),
                },
                keywords,
            ));
        }
    }

    fn load_allow(&mut self, src: &Source, a: Spanned<RawAllow>) {
        let span = a.span();
        let a = a.into_inner();
        let matchers = a.term.is_some() as u8
            + a.regex.is_some() as u8
            + a.fingerprint.is_some() as u8
            + a.path.is_some() as u8;
        if matchers != 1 || a.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            self.diag(
                codes::ALLOW_SHAPE,
                src,
                Some(span),
                "allow entry needs exactly one of term, regex, fingerprint, path, and a non-empty reason".to_owned(),
            );
            return;
        }
        if let Some(exp) = &a.expires {
            match parse_date(exp.get_ref()) {
                Some(days) if days < today_days() => return, // expired: ignored
                Some(_) => {}
                None => {
                    self.diag(
                        codes::ALLOW_VALUE,
                        src,
                        Some(exp.span()),
                        format!(
                            "invalid expires date '{}' (expected YYYY-MM-DD)",
                            exp.get_ref()
                        ),
                    );
                    return;
                }
            }
        }
        if let Some(t) = a.term {
            self.allow.terms.insert(fold_str(&t).to_lowercase());
        } else if let Some(r) = &a.regex {
            if let Some(re) = self.regex(src, r) {
                self.allow.regexes.push((re, a.rule.clone()));
            }
        } else if let Some(fp) = a.fingerprint {
            self.allow.fingerprints.insert(fp);
        } else if let Some(p) = &a.path {
            match globset::Glob::new(p.get_ref()) {
                Ok(g) => self.allow.paths.push((g.compile_matcher(), a.rule.clone())),
                Err(e) => self.diag(
                    codes::ALLOW_VALUE,
                    src,
                    Some(p.span()),
                    format!("invalid path glob '{}': {e}", p.get_ref()),
                ),
            }
        }
    }

    fn apply_override(&mut self, id: &str, src: &Source, ov: Spanned<RawRuleOverride>) {
        let Some(&i) = self.rule_index.get(id) else {
            self.diag(
                codes::UNKNOWN_RULE,
                src,
                Some(ov.span()),
                format!("[rule.\"{id}\"] names no known rule"),
            );
            return;
        };
        let ov = ov.into_inner();
        let default_mask = self.rules[i].mask;
        let action = ov
            .action
            .as_ref()
            .and_then(|a| self.parse_enum::<Action>(src, a));
        let min_conf = ov
            .min_confidence
            .as_ref()
            .and_then(|c| self.parse_enum::<Confidence>(src, c));
        let mask = self.mask(src, &ov.mask, default_mask);
        let r = &mut self.rules[i];
        if let Some(e) = ov.enabled {
            r.enabled = e;
        }
        if let Some(a) = action {
            r.action = a;
        }
        if let Some(c) = min_conf {
            r.min_confidence = Some(c);
        }
        if let Some(n) = ov.min_count {
            r.min_count = n.max(1);
        }
        r.mask = mask;
    }

    fn finish(self, digest: String) -> Result<Policy, Error> {
        // One gate over every literal: marking keywords, dictionary terms, detector keywords.
        let mut literal_ids: HashMap<String, usize> = HashMap::new();
        let mut literals: Vec<String> = Vec::new();
        let mut per_literal: Vec<Vec<Target>> = Vec::new();
        let mut add = |lit: &str, t: Target, literal_ids: &mut HashMap<String, usize>| {
            let key = lit.to_ascii_lowercase();
            let id = *literal_ids.entry(key).or_insert_with(|| {
                literals.push(lit.to_owned());
                per_literal.push(Vec::new());
                literals.len() - 1
            });
            per_literal[id].push(t);
        };
        let mut markings = Vec::new();
        for (i, (mut m, kws)) in self.markings.into_iter().enumerate() {
            for k in &kws {
                add(k, Target::Marking(i as u32), &mut literal_ids);
            }
            let id = &self.rules[m.rule].id;
            for (ci, c) in self.negatives.iter().enumerate() {
                if c.applies(&m.scheme, id) {
                    if c.scope == CueScope::Document {
                        m.doc_negatives.push(ci);
                    } else {
                        m.negatives.push(ci);
                    }
                }
            }
            markings.push(m);
        }
        for (ci, c) in self.negatives.iter().enumerate() {
            if c.scope == CueScope::Document {
                for k in &c.keywords {
                    add(k, Target::Cue(ci as u32), &mut literal_ids);
                }
            }
        }
        let mut dictionaries = Vec::new();
        for (i, (d, terms)) in self.dictionaries.into_iter().enumerate() {
            for t in &terms {
                add(
                    t,
                    Target::Term {
                        dictionary: i as u32,
                        term_len: t.len() as u32,
                    },
                    &mut literal_ids,
                );
            }
            dictionaries.push(d);
        }
        let mut detectors = Vec::new();
        for (i, (d, kws)) in self.detectors.into_iter().enumerate() {
            for k in &kws {
                add(k, Target::Detector(i as u32), &mut literal_ids);
            }
            detectors.push(d);
        }
        for c in crate::fold::trad_chars() {
            add(
                c.encode_utf8(&mut [0u8; 4]),
                Target::Traditional,
                &mut literal_ids,
            );
        }
        let gate = crate::gate::Gate::new(&literals).map_err(|e| {
            Error::policy(vec![Diagnostic {
                code: codes::EMPTY,
                message: format!("cannot build the literal gate: {e}"),
                file: "<policy>".to_owned(),
                line: 0,
                column: 0,
            }])
        })?;
        let mut targets = Vec::new();
        let mut target_ranges = Vec::with_capacity(per_literal.len());
        for ts in per_literal {
            let a = targets.len() as u32;
            targets.extend(ts);
            target_ranges.push((a, targets.len() as u32));
        }
        let context_lines = markings
            .iter()
            .map(|m: &MarkingRule| m.scaffold_window.max(m.nearby_window))
            .chain(self.negatives.iter().map(|c| match c.scope {
                CueScope::Window(w) => w,
                _ => 0,
            }))
            .max()
            .unwrap_or(0);
        let mut on_error = self.on_error;
        for kind in ErrorKind::ALL {
            on_error.entry(*kind).or_insert(Action::Redact);
        }
        Ok(Policy {
            rules: self.rules,
            markings,
            dictionaries,
            detectors,
            gate,
            target_ranges,
            targets,
            allow: self.allow,
            context_lines,
            negatives: self.negatives,
            label_map: self.label_map,
            min_confidence: self.min_confidence.unwrap_or(Confidence::Medium),
            excerpt: self.excerpt.unwrap_or(ExcerptSetting::Masked),
            level_actions: self.level_actions.unwrap_or([
                Action::Allow,
                Action::Warn,
                Action::Block,
                Action::Block,
                Action::Block,
            ]),
            on_error,
            max_findings: self.max_findings.unwrap_or(1000),
            digest,
        })
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

/// Normalises a marking label for lookup: folded, whitespace collapsed, ASCII upper-case.
pub(crate) fn normalise_label(s: &str) -> String {
    let folded = fold_str(s);
    let mut out = String::with_capacity(folded.len());
    for w in folded.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out.to_ascii_uppercase()
}

#[cfg(feature = "fs")]
fn read_word_list(file: &str, src: &Source) -> Result<String, String> {
    if src.builtin {
        return builtin::word_list(file)
            .map(str::to_owned)
            .ok_or_else(|| "no such built-in word list".to_owned());
    }
    let path = match &src.base_dir {
        Some(dir) if !std::path::Path::new(file).is_absolute() => {
            std::path::Path::new(dir).join(file)
        }
        _ => std::path::PathBuf::from(file),
    };
    std::fs::read_to_string(&path).map_err(|e| e.to_string())
}

#[cfg(not(feature = "fs"))]
fn read_word_list(file: &str, src: &Source) -> Result<String, String> {
    if src.builtin {
        return builtin::word_list(file)
            .map(str::to_owned)
            .ok_or_else(|| "no such built-in word list".to_owned());
    }
    Err("reading files needs the `fs` feature or a file_loader".to_owned())
}

fn digest(b: &PolicyBuilder) -> String {
    let mut h = Sha256::new();
    h.update(b"miji.policy/1\0");
    h.update([b.use_default as u8]);
    if b.use_default {
        for (name, text) in BUILTIN_PACKS {
            h.update(name.as_bytes());
            h.update(text.as_bytes());
        }
    }
    for s in &b.sources {
        h.update(s.name.as_bytes());
        h.update([0]);
        h.update(s.text.as_bytes());
        h.update([0]);
    }
    for (name, terms) in &b.dictionaries {
        h.update(name.as_bytes());
        for t in terms {
            h.update([0]);
            h.update(t.as_bytes());
        }
    }
    let out = h.finalize();
    let hex: String = out.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if it.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // days_from_civil (Howard Hinnant)
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146097 + doe - 719468)
}

fn today_days() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86400) as i64)
        .unwrap_or(0)
}

/// Examples of one rule, for `miji check` and the pack test.
#[derive(Debug, Clone)]
pub struct RuleExamples {
    /// The rule ID.
    pub rule: String,
    /// Texts in which the rule must fire.
    pub must_match: Vec<String>,
    /// Texts in which it must not.
    pub must_not_match: Vec<String>,
}

impl Policy {
    /// Every rule's declared examples.
    pub fn examples(&self) -> Vec<RuleExamples> {
        let mut out = Vec::new();
        let mut push = |rule: usize, ex: &(Vec<String>, Vec<String>)| {
            out.push(RuleExamples {
                rule: self.rules[rule].id.clone(),
                must_match: ex.0.clone(),
                must_not_match: ex.1.clone(),
            });
        };
        for m in &self.markings {
            push(m.rule, &m.examples);
        }
        for d in &self.dictionaries {
            push(d.rule, &d.examples);
        }
        for d in &self.detectors {
            push(d.rule, &d.examples);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11017));
        assert_eq!(parse_date("2024-13-01"), None);
    }

    #[test]
    fn labels_normalise() {
        assert_eq!(normalise_label("top  secret"), "TOP SECRET");
        assert_eq!(normalise_label("機密"), "机密");
    }

    #[test]
    fn builtin_compiles() {
        let p = PolicyBuilder::new()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(p.rule_ids().count() > 5);
    }
}
