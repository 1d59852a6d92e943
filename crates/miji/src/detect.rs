//! Detector validators: the checks behind `validator = "…"` in detector rules (GB 11643 check
//! digit, Luhn, SSN ranges, IBAN mod 97, token shapes). Pure functions over the matched text.

/// A built-in validator a detector can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// PRC resident ID (GB 11643-1999): region prefix, valid birth date, check digit.
    Gb11643,
    /// Payment card: Luhn checksum and a known issuer prefix.
    Card,
    /// US SSN: no 000/666/9xx area, no 00 group, no 0000 serial, no advertised samples.
    UsSsn,
    /// IBAN: known country, its length, mod 97 == 1.
    Iban,
    /// A PRC mobile number: a real 1[3-9]x prefix.
    CnMobile,
    /// A secret token that is not a documentation placeholder (`…EXAMPLE`, `xxxx`).
    NotPlaceholder,
    /// A JWT: three base64url parts, the first decoding to a JSON header with `alg`.
    Jwt,
}

impl Validator {
    /// Names accepted in policies.
    pub const NAMES: &'static [&'static str] = &[
        "gb11643",
        "card",
        "us-ssn",
        "iban",
        "cn-mobile",
        "not-placeholder",
        "jwt",
    ];

    /// Parses a policy name.
    pub fn parse(name: &str) -> Option<Validator> {
        Some(match name {
            "gb11643" => Validator::Gb11643,
            "card" => Validator::Card,
            "us-ssn" => Validator::UsSsn,
            "iban" => Validator::Iban,
            "cn-mobile" => Validator::CnMobile,
            "not-placeholder" => Validator::NotPlaceholder,
            "jwt" => Validator::Jwt,
            _ => return None,
        })
    }

    /// Whether `value` passes.
    pub fn check(self, value: &str) -> bool {
        match self {
            Validator::Gb11643 => gb11643(value),
            Validator::Card => card(value),
            Validator::UsSsn => us_ssn(value),
            Validator::Iban => iban(value),
            Validator::CnMobile => cn_mobile(value),
            Validator::NotPlaceholder => not_placeholder(value),
            Validator::Jwt => jwt(value),
        }
    }
}

fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// GB 11643-1999 check: 6-digit region (valid province), YYYYMMDD birth date, 3-digit order, check digit.
pub fn gb11643(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const PROVINCES: &[u32] = &[
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51,
        52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
    ];
    let d = digits(&id[..17]);
    if !PROVINCES.contains(&(d[0] * 10 + d[1])) {
        return false;
    }
    let year = d[6] * 1000 + d[7] * 100 + d[8] * 10 + d[9];
    let month = d[10] * 10 + d[11];
    let day = d[12] * 10 + d[13];
    if !(1900..=2100).contains(&year) || !valid_date(year, month, day) {
        return false;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = d.iter().zip(W).map(|(a, w)| a * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize];
    b[17].to_ascii_uppercase() == check
}

fn valid_date(y: u32, m: u32, d: u32) -> bool {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// Luhn checksum over the digits of `s`.
pub fn luhn(s: &str) -> bool {
    let d = digits(s);
    if d.len() < 12 {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A payment card number: 13–19 digits, Luhn, and an issuer prefix (Visa, Mastercard, Amex,
/// UnionPay, Discover, JCB, Diners).
pub fn card(s: &str) -> bool {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    if !(13..=19).contains(&d.len()) || !luhn(&d) || d.chars().all(|c| c == d.as_bytes()[0] as char)
    {
        return false;
    }
    let p = |n: usize| d[..n].parse::<u32>().unwrap_or(0);
    let len = d.len();
    (d.starts_with('4') && matches!(len, 13 | 16 | 19))
        || ((51..=55).contains(&p(2)) || (2221..=2720).contains(&p(4))) && len == 16
        || matches!(p(2), 34 | 37) && len == 15
        || d.starts_with("62") && (16..=19).contains(&len)
        || (d.starts_with("6011") || d.starts_with("65") || (644..=649).contains(&p(3)))
            && (16..=19).contains(&len)
        || (3528..=3589).contains(&p(4)) && (16..=19).contains(&len)
        || (matches!(p(2), 36 | 38) || (300..=305).contains(&p(3))) && (14..=19).contains(&len)
}

/// US SSN ranges (SSA rules since 2011) minus advertised samples.
pub fn us_ssn(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 9 {
        return false;
    }
    let area = d[0] * 100 + d[1] * 10 + d[2];
    let group = d[3] * 10 + d[4];
    let serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
    let plain: String = d
        .iter()
        .map(|x| char::from_digit(*x, 10).unwrap_or('0'))
        .collect();
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !matches!(plain.as_str(), "078051120" | "219099999" | "123456789")
}

const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VG", 24),
    ("XK", 20),
];

/// IBAN: country length and ISO 7064 mod 97-10.
pub fn iban(s: &str) -> bool {
    let c: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if c.len() < 15 || !c.is_ascii() {
        return false;
    }
    let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(cc, _)| c.starts_with(cc)) else {
        return false;
    };
    if c.len() != len || !c[2..4].bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let rearranged = c[4..].chars().chain(c[..4].chars());
    let mut rem: u32 = 0;
    for ch in rearranged {
        let v = match ch {
            '0'..='9' => ch as u32 - '0' as u32,
            'A'..='Z' => ch as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// PRC mobile prefixes: 13x–19x with the second digit in use.
pub fn cn_mobile(s: &str) -> bool {
    let d = digits(s);
    let d = if d.len() == 13 && d[0] == 8 && d[1] == 6 {
        &d[2..]
    } else {
        &d[..]
    };
    d.len() == 11 && d[0] == 1 && (3..=9).contains(&d[1]) && !(d[1] == 4 && d[2] == 0)
}

/// Rejects documentation placeholders: `AKIAIOSFODNN7EXAMPLE`, `xxxx`, `your_token_here`, `0000…`.
pub fn not_placeholder(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if [
        "example",
        "xxxx",
        "your",
        "sample",
        "dummy",
        "placeholder",
        "changeme",
        "0000000000",
        "1234567890",
        "abcdefgh",
    ]
    .iter()
    .any(|p| lower.contains(p))
    {
        return false;
    }
    // a real token has some variety
    let distinct: std::collections::HashSet<char> = s.chars().collect();
    distinct.len() >= 8
}

/// A JWT whose header decodes to JSON with an `alg`.
pub fn jwt(s: &str) -> bool {
    let mut parts = s.split('.');
    let (Some(h), Some(p), Some(_sig)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    decode_b64url(h).is_some_and(|d| d.contains("\"alg\""))
        && decode_b64url(p).is_some_and(|d| d.trim_start().starts_with('{'))
}

fn decode_b64url(s: &str) -> Option<String> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => continue,
            _ => return None,
        };
        bits = (bits << 6) | v as u32;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id() {
        assert!(gb11643("11010519491231002X"));
        assert!(gb11643("110101199003074477"));
        assert!(!gb11643("110101199003074478")); // bad check digit
        assert!(!gb11643("110101199002304471")); // Feb 30
        assert!(!gb11643("990101199003074477")); // no such province
    }

    #[test]
    fn cards_ssn_iban() {
        assert!(card("4111 1111 1111 1111"));
        assert!(card("6222020200112233441") || !luhn("6222020200112233441"));
        assert!(!card("4111 1111 1111 1112"));
        assert!(us_ssn("536-22-1234"));
        assert!(
            !us_ssn("666-22-1234")
                && !us_ssn("912-22-1234")
                && !us_ssn("536-00-1234")
                && !us_ssn("078-05-1120")
        );
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("DE89370400440532013000"));
        assert!(!iban("DE89370400440532013001"));
        assert!(!iban("GB82 WEST 1234 5698 7654"));
    }

    #[test]
    fn tokens() {
        assert!(!not_placeholder("AKIAIOSFODNN7EXAMPLE"));
        assert!(not_placeholder("AKIA2E0A8F3B244C9986"));
        assert!(jwt(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        ));
        assert!(!jwt("abc.def.ghi"));
        assert!(cn_mobile("13812345678") && !cn_mobile("12812345678"));
    }
}
