//! From a report, the direction and the recipients to what happens to the mail.

use crate::config::{Checked, Direction, Disposition};
use miji::{Action, Report};

/// What the milter does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accept unchanged.
    Accept,
    /// Accept with `X-Miji-*` headers.
    Tag,
    /// Quarantine (Postfix hold queue).
    Hold,
    /// `550 5.7.1`.
    Reject,
    /// `4xx`: the sender's MTA keeps the mail and retries.
    Tempfail,
}

impl Outcome {
    /// The name used in logs and stats.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accept => "accept",
            Outcome::Tag => "tag",
            Outcome::Hold => "hold",
            Outcome::Reject => "reject",
            Outcome::Tempfail => "tempfail",
        }
    }
}

/// The decision for one message.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The effective verb (the report's action, raised by recipient ceilings).
    pub action: Action,
    /// What the MTA is told.
    pub outcome: Outcome,
    /// Rule IDs that explain the verb (marking rule first; `recipient.max-level` and
    /// `on_error.<kind>` are pseudo rules).
    pub rules: Vec<String>,
}

/// Direction of a message: trusted origin and all recipients local → internal; trusted
/// origin and any external recipient → outbound; untrusted origin → inbound (or outbound if
/// it names an external recipient, i.e. relaying).
pub fn direction(cfg: &Checked, trusted: bool, rcpts: &[String]) -> Direction {
    let all_local = !rcpts.is_empty() && rcpts.iter().all(|r| cfg.is_local(r));
    match (trusted, all_local) {
        (_, false) => Direction::Outbound,
        (true, true) => Direction::Internal,
        (false, true) => Direction::Inbound,
    }
}

/// Decide. Mixed recipients: the strictest verdict over all recipients applies to the whole
/// message (a milter cannot split a message; the sender re-sends to the allowed ones).
pub fn decide(cfg: &Checked, report: &Report, dir: Direction, rcpts: &[String]) -> Decision {
    let mut action = report.action;
    let mut rules: Vec<String> = Vec::new();
    if let Some(m) = report
        .findings
        .iter()
        .find(|f| f.kind == miji::FindingKind::Marking && f.level == Some(report.level))
    {
        rules.push(m.rule.clone());
    }
    for f in &report.findings {
        if !rules.contains(&f.rule) {
            rules.push(f.rule.clone());
        }
    }
    for e in &report.errors {
        let r = format!("on_error.{}", e.kind);
        if !rules.contains(&r) {
            rules.push(r);
        }
    }
    let over = rcpts.iter().any(|r| report.level > cfg.max_level_for(r));
    if over && cfg.config.recipients.over_level_action > action {
        action = cfg.config.recipients.over_level_action;
        rules.insert(0, "recipient.max-level".into());
    }
    let verbs = &cfg.config.verbs;
    let disp = |d: Disposition| match d {
        Disposition::Hold => Outcome::Hold,
        Disposition::Reject => Outcome::Reject,
    };
    let outcome = match action {
        Action::Allow => Outcome::Accept,
        Action::Warn if verbs.warn_tag.contains(&dir) => Outcome::Tag,
        Action::Warn => Outcome::Accept,
        Action::Redact => disp(verbs.redact),
        Action::Block => disp(verbs.block),
    };
    Decision {
        action,
        outcome,
        rules,
    }
}

/// Keep only characters safe in an SMTP reply or a header (`[A-Za-z0-9._:+-]`).
pub fn ascii_token(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._:+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if t.is_empty() { "-".into() } else { t }
}

/// The reason text (ASCII, content-free) naming rules, level and incident.
pub fn reason(d: &Decision, report: &Report, incident: &str) -> String {
    let rules: Vec<String> = d.rules.iter().take(3).map(|r| ascii_token(r)).collect();
    let rules = if rules.is_empty() {
        "-".to_string()
    } else {
        rules.join(",")
    };
    format!(
        "rule {rules}, level {}, action {}, incident {incident}",
        report.level, d.action
    )
}
