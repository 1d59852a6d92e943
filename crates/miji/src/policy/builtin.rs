//! The default policy: the packs under `patterns/`, embedded at compile time so that
//! `miji scan` works with no configuration file.

/// Built-in packs as (name, TOML text), in load order. `default` holds settings and actions.
pub const BUILTIN_PACKS: &[(&str, &str)] = &[
    ("default", include_str!("../../../../patterns/default.toml")),
    ("cn", include_str!("../../../../patterns/cn.toml")),
    ("us", include_str!("../../../../patterns/us.toml")),
    ("tlp", include_str!("../../../../patterns/tlp.toml")),
    ("corp", include_str!("../../../../patterns/corp.toml")),
    ("pii", include_str!("../../../../patterns/pii.toml")),
    ("secrets", include_str!("../../../../patterns/secrets.toml")),
];

/// Word lists that built-in packs may name with `file = "words/…"`.
const WORD_LISTS: &[(&str, &str)] = &[];

/// A built-in word list by its path under `patterns/`.
pub(crate) fn word_list(name: &str) -> Option<&'static str> {
    WORD_LISTS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
