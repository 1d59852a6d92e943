//! The default policy: the packs under `patterns/`, embedded at compile time so that
//! `miji scan` works with no configuration file.

/// Built-in packs as (name, TOML text), in load order. `default` holds settings and actions.
pub const BUILTIN_PACKS: &[(&str, &str)] = &[
    ("default", include_str!("../../../../patterns/default.toml")),
    ("cues", include_str!("../../../../patterns/cues.toml")),
    ("cn", include_str!("../../../../patterns/cn.toml")),
    (
        "cn-trade",
        include_str!("../../../../patterns/cn-trade.toml"),
    ),
    ("tw", include_str!("../../../../patterns/tw.toml")),
    ("hk", include_str!("../../../../patterns/hk.toml")),
    ("us", include_str!("../../../../patterns/us.toml")),
    ("uk", include_str!("../../../../patterns/uk.toml")),
    ("nato", include_str!("../../../../patterns/nato.toml")),
    ("eu", include_str!("../../../../patterns/eu.toml")),
    ("de", include_str!("../../../../patterns/de.toml")),
    ("fr", include_str!("../../../../patterns/fr.toml")),
    ("ru", include_str!("../../../../patterns/ru.toml")),
    ("jp", include_str!("../../../../patterns/jp.toml")),
    ("kr", include_str!("../../../../patterns/kr.toml")),
    ("tlp", include_str!("../../../../patterns/tlp.toml")),
    ("corp", include_str!("../../../../patterns/corp.toml")),
    ("label", include_str!("../../../../patterns/label.toml")),
    ("pii", include_str!("../../../../patterns/pii.toml")),
    ("secrets", include_str!("../../../../patterns/secrets.toml")),
];

/// Word lists that built-in packs may name with `file = "words/…"`.
const WORD_LISTS: &[(&str, &str)] = &[];

/// A built-in word list by its path under `patterns/`.
pub(crate) fn word_list(name: &str) -> Option<&'static str> {
    WORD_LISTS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
