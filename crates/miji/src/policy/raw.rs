//! The policy file format as written (TOML, documented in `patterns/README.md`), before
//! validation. Spanned fields keep their source position for diagnostics.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// One policy source file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    // `pack` (name, description) documents a file; it is validated but not used.
    /// Packs this file builds on; absent means `["default"]` for user files.
    pub extends: Option<Spanned<Vec<Spanned<String>>>>,
    #[allow(dead_code)]
    pub pack: Option<RawPack>,
    #[serde(default)]
    pub marking: Vec<RawMarking>,
    #[serde(default)]
    pub dictionary: Vec<RawDictionary>,
    #[serde(default)]
    pub detector: Vec<RawDetector>,
    #[serde(default)]
    pub allow: Vec<Spanned<RawAllow>>,
    #[serde(default)]
    pub rule: BTreeMap<String, Spanned<RawRuleOverride>>,
    /// Negative cues shared by marking rules (`[[reject]]`).
    #[serde(default)]
    pub reject: Vec<RawReject>,
    /// Label-metadata IDs (MSIP GUIDs) → level (`[[label_map]]`).
    #[serde(default)]
    pub label_map: Vec<RawLabelMap>,
    pub settings: Option<RawSettings>,
    pub actions: Option<RawActions>,
    pub limits: Option<RawLimits>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPack {
    #[allow(dead_code)]
    pub name: String,
    #[allow(dead_code)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExamples {
    #[serde(rename = "match", default)]
    pub must_match: Vec<String>,
    #[serde(rename = "no-match", default)]
    pub must_not_match: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMarking {
    pub id: Spanned<String>,
    pub scheme: Spanned<String>,
    pub description: Option<String>,
    /// Literals that gate the pattern (folded before compiling).
    pub keywords: Spanned<Vec<String>>,
    /// Regex over one folded line.
    pub pattern: Spanned<String>,
    /// Label value (the `label` group, normalised) → level.
    #[serde(default)]
    pub levels: BTreeMap<String, Spanned<String>>,
    /// Label value (normalised) → the label as reported (`VS-NFD` → `VS-NfD`, `III` → `Ⅲ급비밀`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The level when the pattern has no `label` group.
    pub level: Option<Spanned<String>>,
    /// The label reported when the pattern has no `label` group.
    pub label: Option<String>,
    /// Base confidence of the shape.
    pub confidence: Option<Spanned<String>>,
    /// Corroboration of which at least one is required: `position`, `scaffold`, `repetition`,
    /// `header`.
    #[serde(default)]
    pub needs: Vec<Spanned<String>>,
    /// Regexes for scaffold lines near the marking (folded lines).
    #[serde(default)]
    pub scaffold: Vec<Spanned<String>>,
    /// How many lines above and below scaffold is looked for.
    pub scaffold_window: Option<usize>,
    /// The documented shape (`star`, `banner`, `field`, `line`, `portion`, `metadata`).
    pub form: Option<String>,
    /// Line regexes that make a match a mention (negative cues of this rule only).
    #[serde(default)]
    pub reject: Vec<Spanned<String>>,
    /// Regexes for lines near the marking that supply `period`, `declassify_on`, `condition`
    /// or `caveats` the marking line itself does not carry (`保密期限：10年`, `Declassify On:`).
    #[serde(default)]
    pub nearby: Vec<Spanned<String>>,
    /// How many lines above and below `nearby` is looked for (default 3).
    pub nearby_window: Option<usize>,
    #[serde(default)]
    pub examples: RawExamples,
}

/// A negative cue: where its pattern matches, a marking candidate is a mention (or less sure).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReject {
    pub name: Spanned<String>,
    #[allow(dead_code)]
    pub description: Option<String>,
    /// Regex over one folded line.
    pub pattern: Spanned<String>,
    /// `line` (the candidate's line, default), `window` (lines within `window`), `document`.
    pub scope: Option<Spanned<String>>,
    /// Lines above and below for `scope = "window"` (default 3).
    pub window: Option<usize>,
    /// Literals that gate the pattern; required for `scope = "document"`.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// `reject` (default: the candidate is a mention) or `lower` (one confidence step down).
    pub effect: Option<Spanned<String>>,
    /// Only for rules of these schemes (default: every marking rule).
    #[serde(default)]
    pub schemes: Vec<Spanned<String>>,
    /// Only for these rule IDs.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Not for these rule IDs.
    #[serde(default)]
    pub except: Vec<String>,
}

/// One entry of `[[label_map]]`: a label-metadata ID (MSIP label GUID) and its level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLabelMap {
    pub id: Spanned<String>,
    pub name: Option<String>,
    pub level: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDictionary {
    pub name: Spanned<String>,
    pub category: Option<String>,
    #[serde(default)]
    pub terms: Vec<String>,
    pub file: Option<Spanned<String>>,
    #[serde(default)]
    pub case_sensitive: bool,
    pub whole_word: Option<bool>,
    pub confidence: Option<Spanned<String>>,
    pub action: Option<Spanned<String>>,
    pub mask: Option<Spanned<String>>,
    #[serde(default)]
    pub examples: RawExamples,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDetector {
    pub id: Spanned<String>,
    pub category: Option<String>,
    pub description: Option<String>,
    pub pattern: Spanned<String>,
    /// Literals that gate the detector; empty runs it on every segment.
    #[serde(default)]
    pub keywords: Vec<String>,
    pub validator: Option<Spanned<String>>,
    /// Run only around numbers with at least this many digits (spaces and dashes between
    /// digits allowed): the cheap gate for detectors without a literal.
    pub min_digits: Option<u32>,
    /// Words near a match that raise its confidence.
    #[serde(default)]
    pub context: Vec<String>,
    /// Words near a match that reject it (`订单号`, `order number`).
    #[serde(default)]
    pub negative_context: Vec<String>,
    pub confidence: Option<Spanned<String>>,
    pub action: Option<Spanned<String>>,
    pub mask: Option<Spanned<String>>,
    #[serde(default)]
    pub examples: RawExamples,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAllow {
    pub term: Option<String>,
    pub regex: Option<Spanned<String>>,
    pub fingerprint: Option<String>,
    pub path: Option<Spanned<String>>,
    pub rule: Option<String>,
    pub reason: Option<String>,
    pub expires: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuleOverride {
    pub enabled: Option<bool>,
    pub action: Option<Spanned<String>>,
    pub min_confidence: Option<Spanned<String>>,
    pub min_count: Option<u64>,
    pub mask: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSettings {
    pub min_confidence: Option<Spanned<String>>,
    pub excerpt: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawActions {
    #[serde(default)]
    pub levels: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub on_error: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub max_findings: Option<u64>,
}
