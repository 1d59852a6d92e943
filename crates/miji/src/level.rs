//! The ordered vocabularies every front speaks: `Level` (contract §1), `Action` (§4) and
//! `Confidence`. Each is totally ordered and serialises in kebab-case.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! ordered_vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, lowest first.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in reports and policies.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown {} '{}' (expected one of: {})",
                        stringify!($name).to_lowercase(),
                        s,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

ordered_vocabulary! {
    /// The level ladder of contract §1, lowest first.
    Level {
        /// Rank 0: no marking, or a marking meaning public.
        Public = "public",
        /// Rank 1: 内部, CUI, OFFICIAL-SENSITIVE, RESTRICTED, TLP:GREEN, "Internal Only".
        Internal = "internal",
        /// Rank 2: 秘密, CONFIDENTIAL, TLP:AMBER, "Company Confidential".
        Confidential = "confidential",
        /// Rank 3: 机密, SECRET, TLP:RED, "Strictly Confidential".
        Secret = "secret",
        /// Rank 4: 绝密, TOP SECRET, COSMIC TOP SECRET.
        TopSecret = "top-secret",
    }
}

ordered_vocabulary! {
    /// The four portable verbs of contract §4, ordered `allow < warn < redact < block`.
    Action {
        /// Let it through.
        Allow = "allow",
        /// Let it through, tagged or logged.
        Warn = "warn",
        /// Rewrite (or hold for review where rewriting is impossible).
        Redact = "redact",
        /// Stop it.
        Block = "block",
    }
}

ordered_vocabulary! {
    /// How sure a finding is, lowest first.
    Confidence {
        /// A weak signal: logged, rarely acted on.
        Low = "low",
        /// The shape matched but corroboration is missing.
        Medium = "medium",
        /// Shape plus corroboration (position, repetition, scaffold, validator).
        High = "high",
    }
}

impl Level {
    /// The rank on the ladder, 0 (`public`) to 4 (`top-secret`).
    pub fn rank(self) -> u8 {
        self as u8
    }
}

impl Confidence {
    /// One step up, saturating at `high`.
    pub fn raised(self) -> Confidence {
        match self {
            Confidence::Low => Confidence::Medium,
            _ => Confidence::High,
        }
    }

    /// One step down, saturating at `low`.
    pub fn lowered(self) -> Confidence {
        match self {
            Confidence::High => Confidence::Medium,
            _ => Confidence::Low,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_is_ordered_and_round_trips() {
        assert!(Level::TopSecret > Level::Secret && Level::Secret > Level::Internal);
        assert!(Action::Block > Action::Redact && Action::Redact > Action::Warn);
        for level in Level::ALL {
            assert_eq!(level.as_str().parse::<Level>().unwrap(), *level);
        }
        assert_eq!(Level::TopSecret.rank(), 4);
        assert!(
            "secretish"
                .parse::<Level>()
                .unwrap_err()
                .contains("top-secret")
        );
    }
}
