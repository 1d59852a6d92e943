//! The TOML configuration (see the README for a commented example).

use miji::Level;
use serde::Deserialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Where mail travels, decided per message from the client and the recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From outside to local recipients.
    Inbound,
    /// From an internal sender to at least one external recipient.
    Outbound,
    /// From an internal sender to local recipients only.
    Internal,
}

impl Direction {
    /// The name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
        }
    }
}

/// What `redact` and `block` become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Quarantine: Postfix puts the mail on the hold queue.
    Hold,
    /// `550 5.7.1` with rule, level and incident ID.
    Reject,
}

/// A per-recipient-domain ceiling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainRule {
    /// The domain (also matches its subdomains).
    pub domain: String,
    /// Highest level this domain may receive.
    pub max_level: Level,
}

/// Recipient ceilings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Recipients {
    /// Highest level a local recipient may receive. Default `internal`.
    pub internal_max_level: Level,
    /// Highest level an external recipient may receive. Default `public`.
    pub external_max_level: Level,
    /// Verb for a recipient above its ceiling. Default `block`.
    pub over_level_action: miji::Action,
    /// Overrides by recipient domain (first match wins).
    pub domain: Vec<DomainRule>,
}

impl Default for Recipients {
    fn default() -> Self {
        Recipients {
            internal_max_level: Level::Internal,
            external_max_level: Level::Public,
            over_level_action: miji::Action::Block,
            domain: Vec::new(),
        }
    }
}

/// Verb mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Verbs {
    /// Directions where `warn` adds `X-Miji-*` headers. Default `["internal", "inbound"]`;
    /// `outbound` is refused.
    pub warn_tag: Vec<Direction>,
    /// `redact` becomes this. Default `hold`.
    pub redact: Disposition,
    /// `block` becomes this. Default `reject`.
    pub block: Disposition,
}

impl Default for Verbs {
    fn default() -> Self {
        Verbs {
            warn_tag: vec![Direction::Internal, Direction::Inbound],
            redact: Disposition::Hold,
            block: Disposition::Reject,
        }
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `unix:/path` or `inet:PORT@HOST`.
    pub listen: String,
    /// Mode of the Unix socket. Default `0o660`.
    pub socket_mode: u32,
    /// Policy file (extends the built-in default); absent = built-in default.
    pub policy: Option<PathBuf>,
    /// `stderr` or a file path (appended).
    pub audit_log: String,
    /// Seconds between stats lines (0 = none).
    pub stats_interval_secs: u64,
    /// Scan deadline; keep it well below Postfix's `milter_content_timeout` (300 s).
    pub scan_timeout_ms: u64,
    /// Largest message spooled; beyond it the record gets a `limit.size` error.
    pub max_message_bytes: usize,
    /// Scans running at once; beyond it a message tempfails (overload).
    pub max_concurrent_scans: usize,
    /// Connections at once; beyond it new connections are closed (Postfix applies
    /// `milter_default_action`).
    pub max_connections: usize,
    /// Local domains (recipients here are internal; subdomains included).
    pub local_domains: Vec<String>,
    /// Client networks whose mail is internal (CIDR).
    pub trusted_networks: Vec<String>,
    /// Mail submitted locally (sendmail(1), no client address) is internal. Default true.
    pub trust_local_submission: bool,
    /// Authenticated senders (`{auth_authen}` macro set) are internal. Default true.
    pub trust_authenticated: bool,
    /// Recipient ceilings.
    pub recipients: Recipients,
    /// Verb mapping.
    pub verbs: Verbs,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "inet:7357@127.0.0.1".into(),
            socket_mode: 0o660,
            policy: None,
            audit_log: "stderr".into(),
            stats_interval_secs: 60,
            scan_timeout_ms: 30_000,
            max_message_bytes: 50 * 1024 * 1024,
            max_concurrent_scans: 64,
            max_connections: 512,
            local_domains: Vec::new(),
            trusted_networks: vec!["127.0.0.0/8".into(), "::1/128".into()],
            trust_local_submission: true,
            trust_authenticated: true,
            recipients: Recipients::default(),
            verbs: Verbs::default(),
        }
    }
}

/// A parsed CIDR block.
#[derive(Debug, Clone, Copy)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parse `a.b.c.d/n`, `x::y/n` or a bare address.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim_matches(|c| c == '[' || c == ']')
            .parse()
            .map_err(|_| format!("bad network address '{s}'"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| format!("bad prefix length in '{s}'"))?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside (IPv4-mapped IPv6 addresses match IPv4 blocks).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The file's settings.
    pub config: Config,
    /// Parsed trusted networks.
    pub networks: Vec<Cidr>,
}

impl Config {
    /// Read and check a configuration file.
    pub fn load(path: &Path) -> Result<Checked, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        let mut cfg: Config =
            toml::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))?;
        if let (Some(p), Some(dir)) = (&cfg.policy, path.parent())
            && p.is_relative()
        {
            cfg.policy = Some(dir.join(p));
        }
        cfg.check()
    }

    /// Check settings that serde cannot.
    pub fn check(self) -> Result<Checked, String> {
        if self.verbs.warn_tag.contains(&Direction::Outbound) {
            return Err("verbs.warn_tag must not contain \"outbound\"".into());
        }
        if self.scan_timeout_ms == 0 {
            return Err("scan_timeout_ms must be positive".into());
        }
        crate::server::Listen::parse(&self.listen)?;
        let networks = self
            .trusted_networks
            .iter()
            .map(|n| Cidr::parse(n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Checked {
            config: self,
            networks,
        })
    }
}

/// Domain of an address like `<user@Example.COM>` (lower case, no brackets).
pub fn domain_of(addr: &str) -> Option<String> {
    let a = addr.trim().trim_start_matches('<').trim_end_matches('>');
    a.rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

/// Whether `domain` is `base` or one of its subdomains.
pub fn domain_matches(domain: &str, base: &str) -> bool {
    let base = base.trim_start_matches('.').to_ascii_lowercase();
    domain == base || domain.ends_with(&format!(".{base}"))
}

impl Checked {
    /// Whether a recipient is local.
    pub fn is_local(&self, rcpt: &str) -> bool {
        domain_of(rcpt).is_some_and(|d| {
            self.config
                .local_domains
                .iter()
                .any(|l| domain_matches(&d, l))
        })
    }

    /// Ceiling for one recipient.
    pub fn max_level_for(&self, rcpt: &str) -> Level {
        if let Some(d) = domain_of(rcpt)
            && let Some(rule) = self
                .config
                .recipients
                .domain
                .iter()
                .find(|r| domain_matches(&d, &r.domain))
        {
            return rule.max_level;
        }
        if self.is_local(rcpt) {
            self.config.recipients.internal_max_level
        } else {
            self.config.recipients.external_max_level
        }
    }

    /// Whether the client is trusted (internal origin).
    pub fn trusted_client(&self, family: Option<u8>, addr: &str, auth: bool) -> bool {
        if auth && self.config.trust_authenticated {
            return true;
        }
        match family {
            // No CONNECT seen, local socket or unknown: local submission.
            None | Some(b'L') | Some(b'U') => self.config.trust_local_submission,
            _ => addr
                .trim_start_matches("IPv6:")
                .parse::<IpAddr>()
                .is_ok_and(|ip| self.networks.iter().any(|n| n.contains(ip))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr() {
        let n = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.9.9".parse().unwrap()));
        assert!(
            Cidr::parse("::1/128")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn domains() {
        assert_eq!(domain_of("<A@Example.COM>").as_deref(), Some("example.com"));
        assert!(domain_matches("mx.example.com", "example.com"));
        assert!(!domain_matches("badexample.com", "example.com"));
    }

    #[test]
    fn outbound_tagging_is_refused() {
        let cfg: Config = toml::from_str("[verbs]\nwarn_tag = [\"outbound\"]").unwrap();
        assert!(cfg.check().is_err());
    }
}
