//! Masking: the one function that turns matched text into what a report or a redacted text may
//! show (contract §2 excerpts, `redact`). Markings are shown as found unless a policy says so.

use sha2::{Digest, Sha256};

/// How a rule's matches are shown in excerpts and replaced by `redact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskStyle {
    /// Shown as is (markings, dictionary terms).
    None,
    /// At most the first 4 and last 4 characters; the rest as `*` (the detector default).
    Partial,
    /// Only the last N characters; the rest as `*`.
    KeepLast(u8),
    /// A 4-character prefix and a short hash: `AKIA…#a1b2` (the secret default).
    Hash,
    /// `[REDACTED:rule]`.
    Redact,
}

impl MaskStyle {
    /// Parses a policy value: `none`, `partial`, `redact`, `hash`, `keep-last-N`.
    pub fn parse(s: &str) -> Option<MaskStyle> {
        match s {
            "none" => Some(MaskStyle::None),
            "partial" => Some(MaskStyle::Partial),
            "redact" => Some(MaskStyle::Redact),
            "hash" => Some(MaskStyle::Hash),
            _ => s
                .strip_prefix("keep-last-")
                .and_then(|n| n.parse().ok())
                .map(MaskStyle::KeepLast),
        }
    }
}

/// Masks `text` (the matched original text of a finding of `rule`) in `style`.
pub fn mask(text: &str, style: MaskStyle, rule: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    match style {
        MaskStyle::None => text.to_owned(),
        MaskStyle::Redact => format!("[REDACTED:{rule}]"),
        MaskStyle::Partial => {
            // keep at most 4 + 4, and never more than a third of a short value on each side
            let keep = (n / 3).min(4);
            chars
                .iter()
                .enumerate()
                .map(|(i, c)| if i < keep || i >= n - keep { *c } else { '*' })
                .collect()
        }
        MaskStyle::KeepLast(k) => {
            let k = (k as usize).min(n / 2);
            chars
                .iter()
                .enumerate()
                .map(|(i, c)| if i >= n - k { *c } else { '*' })
                .collect()
        }
        MaskStyle::Hash => {
            let prefix: String = chars.iter().take(4.min(n / 3)).collect();
            let h = Sha256::digest(text.as_bytes());
            format!("{prefix}…#{:02x}{:02x}", h[0], h[1])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(
            mask("110101199003071234", MaskStyle::Partial, "x"),
            "1101**********1234"
        );
        assert_eq!(mask("ab", MaskStyle::Partial, "x"), "**");
        assert_eq!(
            mask("13812345678", MaskStyle::KeepLast(4), "x"),
            "*******5678"
        );
        assert_eq!(
            mask("secret", MaskStyle::Redact, "pii.x"),
            "[REDACTED:pii.x]"
        );
        let h = mask("AKIAZZZZZZZZZZZZZZZZ", MaskStyle::Hash, "x");
        assert!(
            h.starts_with("AKIA…#") && h.len() == "AKIA…#".len() + 4,
            "{h}"
        );
        assert_eq!(mask("天穹计划", MaskStyle::None, "x"), "天穹计划");
        assert_eq!(
            MaskStyle::parse("keep-last-4"),
            Some(MaskStyle::KeepLast(4))
        );
        assert_eq!(MaskStyle::parse("nope"), None);
    }
}
