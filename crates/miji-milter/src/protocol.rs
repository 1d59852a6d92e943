//! The milter wire protocol, version 6 (the part Postfix and Sendmail speak).
//!
//! A packet is a 4-byte big-endian length `n`, then `n` bytes: one command byte and its data.
//! Strings are NUL-terminated. This module only frames and parses; `session` decides.

use std::io::{self, Read};

/// Protocol version this milter speaks.
pub const VERSION: u32 = 6;
/// Largest packet accepted from the MTA (Postfix sends body chunks of at most 64 KiB; the
/// 1 MiB negotiable maximum is allowed with headroom).
pub const MAX_PACKET: usize = 2 * 1024 * 1024;

// Actions (SMFIF_*) the milter asks for.
/// Add headers.
pub const SMFIF_ADDHDRS: u32 = 0x01;
/// Change or delete headers.
pub const SMFIF_CHGHDRS: u32 = 0x10;
/// Quarantine (Postfix: hold queue).
pub const SMFIF_QUARANTINE: u32 = 0x20;

// Protocol steps (SMFIP_*).
/// Do not send HELO.
pub const SMFIP_NOHELO: u32 = 0x02;
/// Do not send unknown SMTP commands.
pub const SMFIP_NOUNKNOWN: u32 = 0x100;
/// Do not send DATA.
pub const SMFIP_NODATA: u32 = 0x200;
/// Header values keep their leading space.
pub const SMFIP_HDR_LEADSPC: u32 = 0x0010_0000;

/// A command from the MTA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `O`: option negotiation.
    OptNeg {
        /// MTA's protocol version.
        version: u32,
        /// Actions the MTA offers.
        actions: u32,
        /// Protocol steps the MTA offers.
        protocol: u32,
    },
    /// `D`: macros for the command named by `stage`.
    Macro {
        /// The command the macros belong to.
        stage: u8,
        /// Name/value pairs.
        pairs: Vec<(String, String)>,
    },
    /// `C`: SMTP client connection.
    Connect {
        /// Client host name.
        host: String,
        /// `4`, `6`, `L` (local socket) or `U` (unknown).
        family: u8,
        /// Client address (empty for `U`).
        addr: String,
    },
    /// `H`: HELO/EHLO.
    Helo,
    /// `M`: MAIL FROM, first argument the sender.
    Mail(String),
    /// `R`: RCPT TO, first argument the recipient.
    Rcpt(String),
    /// `T`: DATA.
    Data,
    /// `L`: one header field.
    Header {
        /// Field name.
        name: Vec<u8>,
        /// Field value as sent.
        value: Vec<u8>,
    },
    /// `N`: end of headers.
    Eoh,
    /// `B`: a body chunk.
    Body(Vec<u8>),
    /// `E`: end of message (data may carry a last body chunk).
    Eob(Vec<u8>),
    /// `A`: abort the current message.
    Abort,
    /// `Q`: close the connection.
    Quit,
    /// `K`: quit this SMTP connection, keep the milter connection for a new one.
    QuitNewConnection,
    /// `U`: unknown SMTP command.
    Unknown,
    /// Anything else: ignored with CONTINUE where a reply is due.
    Other(u8),
}

/// A reply or modification sent to the MTA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `O`: negotiation answer.
    OptNeg {
        /// Version.
        version: u32,
        /// Actions requested.
        actions: u32,
        /// Protocol steps.
        protocol: u32,
    },
    /// `c`.
    Continue,
    /// `a`.
    Accept,
    /// `t`.
    Tempfail,
    /// `r`.
    Reject,
    /// `y`: an SMTP reply (`550 5.7.1 text`).
    ReplyCode(String),
    /// `h`: add a header.
    AddHeader(String, String),
    /// `m`: change (empty value: delete) the `index`th (1-based) occurrence of a header.
    ChgHeader(u32, String, String),
    /// `q`: quarantine with a reason.
    Quarantine(String),
}

impl Reply {
    /// Append the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut body = Vec::new();
        let cmd = match self {
            Reply::OptNeg {
                version,
                actions,
                protocol,
            } => {
                body.extend_from_slice(&version.to_be_bytes());
                body.extend_from_slice(&actions.to_be_bytes());
                body.extend_from_slice(&protocol.to_be_bytes());
                b'O'
            }
            Reply::Continue => b'c',
            Reply::Accept => b'a',
            Reply::Tempfail => b't',
            Reply::Reject => b'r',
            Reply::ReplyCode(text) => {
                cstr(&mut body, text);
                b'y'
            }
            Reply::AddHeader(n, v) => {
                cstr(&mut body, n);
                cstr(&mut body, v);
                b'h'
            }
            Reply::ChgHeader(i, n, v) => {
                body.extend_from_slice(&i.to_be_bytes());
                cstr(&mut body, n);
                cstr(&mut body, v);
                b'm'
            }
            Reply::Quarantine(reason) => {
                cstr(&mut body, reason);
                b'q'
            }
        };
        out.extend_from_slice(&((body.len() + 1) as u32).to_be_bytes());
        out.push(cmd);
        out.extend_from_slice(&body);
    }
}

fn cstr(out: &mut Vec<u8>, s: &str) {
    out.extend(s.bytes().filter(|&b| b != 0));
    out.push(0);
}

/// Read one packet; `Ok(None)` at a clean end of stream.
pub fn read_packet(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let n = u32::from_be_bytes(len) as usize;
    if n == 0 || n > MAX_PACKET {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad milter packet length {n}"),
        ));
    }
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf)?;
    let cmd = buf[0];
    buf.remove(0);
    Ok(Some((cmd, buf)))
}

/// Split NUL-terminated strings (a missing final NUL is tolerated).
fn split_nul(data: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    if v.last().is_some_and(|s| s.is_empty()) {
        v.pop();
    }
    v
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parse a packet into a command.
pub fn parse(cmd: u8, data: Vec<u8>) -> io::Result<Command> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    Ok(match cmd {
        b'O' => Command::OptNeg {
            version: be32(&data, 0).ok_or_else(|| bad("short optneg"))?,
            actions: be32(&data, 4).ok_or_else(|| bad("short optneg"))?,
            protocol: be32(&data, 8).ok_or_else(|| bad("short optneg"))?,
        },
        b'D' => {
            let stage = *data.first().ok_or_else(|| bad("empty macro packet"))?;
            let parts = split_nul(&data[1..]);
            let pairs = parts
                .chunks(2)
                .map(|c| (lossy(c[0]), c.get(1).map(|v| lossy(v)).unwrap_or_default()))
                .collect();
            Command::Macro { stage, pairs }
        }
        b'C' => {
            let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
            let host = lossy(&data[..end]);
            let rest = data.get(end + 1..).unwrap_or(&[]);
            let family = rest.first().copied().unwrap_or(b'U');
            let addr = if family == b'4' || family == b'6' || family == b'L' {
                // port (2 bytes), then the address.
                let a = rest.get(3..).unwrap_or(&[]);
                let e = a.iter().position(|&b| b == 0).unwrap_or(a.len());
                lossy(&a[..e])
            } else {
                String::new()
            };
            Command::Connect { host, family, addr }
        }
        b'H' => Command::Helo,
        b'M' => Command::Mail(
            split_nul(&data)
                .first()
                .map(|s| lossy(s))
                .unwrap_or_default(),
        ),
        b'R' => Command::Rcpt(
            split_nul(&data)
                .first()
                .map(|s| lossy(s))
                .unwrap_or_default(),
        ),
        b'T' => Command::Data,
        b'L' => {
            let end = data
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| bad("header without NUL"))?;
            let name = data[..end].to_vec();
            let mut value = data[end + 1..].to_vec();
            if value.last() == Some(&0) {
                value.pop();
            }
            Command::Header { name, value }
        }
        b'N' => Command::Eoh,
        b'B' => Command::Body(data),
        b'E' => Command::Eob(data),
        b'A' => Command::Abort,
        b'Q' => Command::Quit,
        b'K' => Command::QuitNewConnection,
        b'U' => Command::Unknown,
        other => Command::Other(other),
    })
}

/// Encode a command packet (used by the test client).
pub fn encode_command(cmd: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 5);
    out.extend_from_slice(&((data.len() + 1) as u32).to_be_bytes());
    out.push(cmd);
    out.extend_from_slice(data);
    out
}

/// Parse a reply packet (used by the test client).
pub fn parse_reply(cmd: u8, data: &[u8]) -> Reply {
    let s = split_nul(data);
    let st = |i: usize| s.get(i).map(|v| lossy(v)).unwrap_or_default();
    match cmd {
        b'O' => Reply::OptNeg {
            version: be32(data, 0).unwrap_or(0),
            actions: be32(data, 4).unwrap_or(0),
            protocol: be32(data, 8).unwrap_or(0),
        },
        b'c' => Reply::Continue,
        b'a' => Reply::Accept,
        b't' => Reply::Tempfail,
        b'r' => Reply::Reject,
        b'y' => Reply::ReplyCode(st(0)),
        b'h' => Reply::AddHeader(st(0), st(1)),
        b'm' => {
            let i = be32(data, 0).unwrap_or(0);
            let s = split_nul(data.get(4..).unwrap_or(&[]));
            let st = |i: usize| s.get(i).map(|v| lossy(v)).unwrap_or_default();
            Reply::ChgHeader(i, st(0), st(1))
        }
        b'q' => Reply::Quarantine(st(0)),
        other => Reply::ReplyCode(format!("unknown reply {}", other as char)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_round_trip() {
        for r in [
            Reply::Continue,
            Reply::ReplyCode("550 5.7.1 no".into()),
            Reply::AddHeader("X-A".into(), "b".into()),
            Reply::ChgHeader(2, "X-A".into(), String::new()),
            Reply::Quarantine("why".into()),
        ] {
            let mut buf = Vec::new();
            r.encode(&mut buf);
            let (c, d) = read_packet(&mut &buf[..]).unwrap().unwrap();
            assert_eq!(parse_reply(c, &d), r);
        }
    }

    #[test]
    fn parses_connect_and_header() {
        let mut d = b"mx.example\x004".to_vec();
        d.extend_from_slice(&25u16.to_be_bytes());
        d.extend_from_slice(b"192.0.2.1\0");
        assert_eq!(
            parse(b'C', d).unwrap(),
            Command::Connect {
                host: "mx.example".into(),
                family: b'4',
                addr: "192.0.2.1".into()
            }
        );
        assert_eq!(
            parse(b'L', b"Subject\0 hi\0".to_vec()).unwrap(),
            Command::Header {
                name: b"Subject".to_vec(),
                value: b" hi".to_vec()
            }
        );
    }

    #[test]
    fn rejects_oversized_packets() {
        let buf = (MAX_PACKET as u32 + 1).to_be_bytes();
        assert!(read_packet(&mut &buf[..]).is_err());
        assert!(read_packet(&mut &[][..]).unwrap().is_none());
    }
}
