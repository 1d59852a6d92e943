//! Plain-text decoding: byte-order marks, UTF-8, UTF-16, and legacy CJK / windows-125x
//! encodings guessed by `chardetng` with a CJK tie-breaker that also works on tiny files.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{BIG5, EUC_KR, Encoding, GBK, SHIFT_JIS, UTF_8, UTF_16BE, UTF_16LE};

/// How many leading bytes the binary / UTF-16 sniffing looks at.
const SNIFF: usize = 64 * 1024;
/// How many bytes `chardetng` is fed (it converges long before).
const DETECT: usize = 1 << 20;
/// Below this many non-ASCII bytes, `chardetng`'s guess is weighed against our CJK scores.
const TINY: usize = 24;
/// How many bytes the CJK scores look at.
const SCORE: usize = 4096;

/// Decoded text and the name of the encoding it was read as.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) text: String,
    pub(crate) encoding: &'static str,
}

/// Decodes `bytes` as text, or `None` when they look binary.
pub(crate) fn decode(bytes: &[u8]) -> Option<Decoded> {
    // Byte-order marks decide.
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Some(Decoded {
            text: String::from_utf8_lossy(rest).into_owned(),
            encoding: "UTF-8",
        });
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return Some(Decoded {
            text: UTF_16LE.decode_without_bom_handling(rest).0.into_owned(),
            encoding: "UTF-16LE",
        });
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return Some(Decoded {
            text: UTF_16BE.decode_without_bom_handling(rest).0.into_owned(),
            encoding: "UTF-16BE",
        });
    }
    let head = &bytes[..bytes.len().min(SNIFF)];
    if memchr_zero(head) {
        return utf16_without_bom(bytes, head);
    }
    // SIMD validation: this pass sees every byte of every text file
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        if looks_binary(head) {
            return None;
        }
        return Some(Decoded {
            text: text.to_string(),
            encoding: "UTF-8",
        });
    }
    if looks_binary(head) {
        return None;
    }
    if let Some(text) = torn_utf8(bytes) {
        return Some(Decoded {
            text,
            encoding: "UTF-8",
        });
    }
    let encoding = guess_legacy(bytes);
    let text = encoding.decode_without_bom_handling(bytes).0.into_owned();
    Some(Decoded {
        text,
        encoding: encoding_name(encoding, bytes),
    })
}

/// Decodes a zip/tar member name: UTF-8 when valid, else the most plausible legacy encoding
/// (GBK, Big5, Shift_JIS, EUC-KR score first; never CP437 for CJK names).
pub(crate) fn decode_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(name) => name.to_string(),
        Err(_) => guess_legacy(raw)
            .decode_without_bom_handling(raw)
            .0
            .into_owned(),
    }
}

fn memchr_zero(bytes: &[u8]) -> bool {
    bytes.contains(&0)
}

/// Control bytes other than tab, newlines, form feed and escape are rare in text.
/// UTF-8 but for a character torn at either end, as in a file cut at a byte offset (`split
/// -b`, a truncated log or capture): up to three continuation bytes at the start and an
/// incomplete sequence at the end. Read as UTF-8 (the torn bytes become U+FFFD) rather than
/// guessed as a legacy encoding, which would turn the whole file into mojibake. At least 32
/// valid bytes in between, so a short legacy-encoded text is never taken for it.
fn torn_utf8(bytes: &[u8]) -> Option<String> {
    let lead = bytes
        .iter()
        .take(3)
        .take_while(|b| (0x80..0xC0).contains(*b))
        .count();
    let body = &bytes[lead..];
    let valid = match simdutf8::compat::from_utf8(body) {
        Ok(_) => body.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => return None,
    };
    (valid >= 32).then(|| String::from_utf8_lossy(bytes).into_owned())
}

fn looks_binary(head: &[u8]) -> bool {
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B))
        .count();
    controls * 100 > head.len().max(1)
}

/// BOM-less UTF-16: zeros at one parity only (ASCII-heavy text), and no invalid surrogates.
fn utf16_without_bom(bytes: &[u8], head: &[u8]) -> Option<Decoded> {
    if head.len() < 2 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let pairs = head.len() / 2;
    let even_zero = head.chunks_exact(2).filter(|p| p[0] == 0).count();
    let odd_zero = head.chunks_exact(2).filter(|p| p[1] == 0).count();
    let (encoding, name) = if odd_zero * 10 >= pairs * 3 && even_zero * 20 <= pairs {
        (UTF_16LE, "UTF-16LE")
    } else if even_zero * 10 >= pairs * 3 && odd_zero * 20 <= pairs {
        (UTF_16BE, "UTF-16BE")
    } else {
        return None;
    };
    let text = encoding.decode_without_bom_handling_and_without_replacement(bytes)?;
    if text
        .chars()
        .any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r' | '\u{0C}'))
    {
        return None;
    }
    Some(Decoded {
        text: text.into_owned(),
        encoding: name,
    })
}

/// The report name of a legacy encoding (`GBK` becomes `GB18030` when four-byte sequences
/// are present; the decoder is the same).
fn encoding_name(encoding: &'static Encoding, bytes: &[u8]) -> &'static str {
    if encoding == GBK && has_gb18030_four_byte(bytes) {
        return "GB18030";
    }
    encoding.name()
}

fn has_gb18030_four_byte(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            i += 1;
        } else if bytes.get(i + 1).is_some_and(|n| n.is_ascii_digit()) {
            return true;
        } else {
            i += 2;
        }
    }
    false
}

/// `chardetng`'s guess, overruled on short inputs by the CJK scores below.
fn guess_legacy(bytes: &[u8]) -> &'static Encoding {
    let sample = &bytes[..bytes.len().min(DETECT)];
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(sample, true);
    let guess = detector.guess(None, Utf8Detection::Deny);
    let non_ascii = sample.iter().filter(|b| !b.is_ascii()).count();
    let cjk = [GBK, BIG5, SHIFT_JIS, EUC_KR];
    if non_ascii >= TINY
        && (!cjk.contains(&guess)
            || guess
                .decode_without_bom_handling_and_without_replacement(sample)
                .is_some())
    {
        return guess;
    }
    let sample = &sample[..sample.len().min(SCORE)];
    let mut best: Option<(&'static Encoding, f64)> = None;
    for encoding in cjk {
        if let Some(score) = cjk_score(encoding, sample)
            && best.is_none_or(|(_, s)| score > s)
        {
            best = Some((encoding, score));
        }
    }
    match best {
        Some((encoding, score)) if score >= 0.5 => encoding,
        _ if guess == UTF_8 => encoding_rs::WINDOWS_1252,
        _ => guess,
    }
}

/// Plausibility of `bytes` in a CJK encoding, 0..=1: the mean weight of its multi-byte
/// characters, by code range (common hanzi / kana / hangul high, extensions and rarely used
/// ranges low). `None` when the bytes are malformed in that encoding. A trailing incomplete
/// character (a cut sample) is ignored.
fn cjk_score(encoding: &'static Encoding, bytes: &[u8]) -> Option<f64> {
    let text = match encoding.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => text,
        None if bytes.len() > 1 => encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[..bytes.len() - 1])?,
        None => return None,
    };
    let mut sum = 0.0;
    let mut count = 0usize;
    for c in text.chars().filter(|c| !c.is_ascii()) {
        let mut buf = [0u8; 4];
        let (encoded, _, unmappable) = encoding.encode(c.encode_utf8(&mut buf));
        if unmappable || encoded.len() > 2 {
            sum += 0.0;
        } else {
            sum += weight(encoding, c, &encoded);
        }
        count += 1;
    }
    if count == 0 {
        return None;
    }
    Some(sum / count as f64)
}

fn weight(encoding: &'static Encoding, c: char, encoded: &[u8]) -> f64 {
    let (lead, trail) = match *encoded {
        [lead, trail] => (lead, trail),
        [single] => (single, 0),
        _ => return 0.0,
    };
    let common_hanzi = COMMON_HANZI.contains(c);
    if encoding == GBK {
        match (lead, trail) {
            (0xB0..=0xD7, 0xA1..=0xFE) => {
                if common_hanzi {
                    1.0
                } else {
                    0.6
                }
            }
            (0xA1..=0xA3, 0xA1..=0xFE) => 0.6,
            (0xD8..=0xF7, 0xA1..=0xFE) => 0.2,
            (0xA4..=0xA9, 0xA1..=0xFE) => 0.2,
            _ => 0.0,
        }
    } else if encoding == BIG5 {
        let code = u16::from(lead) << 8 | u16::from(trail);
        match code {
            0xA440..=0xC67E => {
                if common_hanzi {
                    1.0
                } else {
                    0.5
                }
            }
            0xA140..=0xA3BF => 0.6,
            0xC940..=0xF9D5 => 0.2,
            _ => 0.0,
        }
    } else if encoding == SHIFT_JIS {
        match (lead, trail) {
            (0x82..=0x83, _) => 1.0,
            (0x88..=0x98, _) => 0.7,
            (0x81, _) => 0.6,
            (0xA1..=0xDF, 0) => 0.1,
            (0x99..=0xEA, _) => 0.2,
            _ => 0.0,
        }
    } else if encoding == EUC_KR {
        match (lead, trail) {
            (0xB0..=0xC8, 0xA1..=0xFE) => {
                if COMMON_HANGUL.contains(c) {
                    1.0
                } else {
                    0.3
                }
            }
            (0xA1..=0xA3, 0xA1..=0xFE) => 0.6,
            (0xCA..=0xFD, 0xA1..=0xFE) => 0.1,
            _ => 0.0,
        }
    } else {
        0.0
    }
}

/// Frequent hanzi, simplified and traditional forms (top of the usual frequency lists, plus
/// the words of classification markings).
const COMMON_HANZI: &str = "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敢益密秘绝资料限普核心阅读附录项目预算等级请勿外传泄露这們國個為說時會對發後過學經動兩長現樣將與進實點種聲從話兒見頭問機給幾業間電門東軍產萬體別處總書員華報馬張難數車應於裡麼還沒當開關來無爾義氣題變統區隊記設邊達運條飛風讓識帶導爭親極辦議係務類據術護絕級資內屬請洩檔閱讀";

/// Frequent hangul syllables.
const COMMON_HANGUL: &str = "이다의는에하고을를가서한지기로사대자수인적있도정으시리어나아일여해주것들국전제부게보과만와라상소성동위습니장문간화경면생방내중진조실원구재년세비유관없오우학마연공때신러요외불개거모물미법선심단안발계회되했할함며및더등또무용식분체명결받행말입반현통후점종금출업호운차영건교근높많알같작저좋그당데두드레르밀번본산속술스양역예월음임잘준직집처최치케크터트파평포표프피필합향허형히황초취급격군권규극길김꾸난남넘네노놓누능님달담답던덕돌된둘뒤든따떤뜻람략량력령례록론료류률른름릴림립막망매먹멀몇목못민바밖배백범변별병복봉빠뿐살새색석설섭손송쉬승싸쓰씨악애야약얼엄었였옥온올왜욕움웃윤율읽잡잠쟁절접좀죽즉증질째찾책천철청추축충친칙큰탁태택토특판편폐품항혀협혜혹확환활효흐흥희힘됩밝싶않았겠붙빛밀벌";

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str, e: &'static Encoding) -> Vec<u8> {
        e.encode(s).0.into_owned()
    }

    #[test]
    fn tiny_inputs() {
        for (s, e, name) in [
            ("机密★10年", GBK, "GBK"),
            ("绝密", GBK, "GBK"),
            ("極機密", BIG5, "Big5"),
            ("機密", BIG5, "Big5"),
            ("極秘", SHIFT_JIS, "Shift_JIS"),
            ("대외비", EUC_KR, "EUC-KR"),
        ] {
            let d = decode(&enc(s, e)).unwrap();
            assert_eq!((d.text.as_str(), d.encoding), (s, name), "{s}");
        }
    }

    #[test]
    fn sentences() {
        for (s, e, name) in [
            ("本文件属于机密等级，请勿外传。项目预算见附件。", GBK, "GBK"),
            ("本文件屬於極機密等級，請勿外洩。", BIG5, "Big5"),
            ("社外秘：この文書は取扱注意です。", SHIFT_JIS, "Shift_JIS"),
            (
                "이 문서는 대외비입니다. 외부 유출을 금지합니다.",
                EUC_KR,
                "EUC-KR",
            ),
            (
                "Совершенно секретно. Особой важности.",
                encoding_rs::WINDOWS_1251,
                "windows-1251",
            ),
            (
                "Diffusion restreinte — ne pas copier. Réservé.",
                encoding_rs::WINDOWS_1252,
                "windows-1252",
            ),
        ] {
            let d = decode(&enc(s, e)).unwrap();
            assert_eq!((d.text.as_str(), d.encoding), (s, name), "{s}");
        }
    }

    #[test]
    fn utf8_torn_at_either_end_stays_utf8() {
        let text = "机密★10年\n关于天穹计划的通知，请各单位按时报送材料。".repeat(3);
        let bytes = text.as_bytes();
        for (cut_start, cut_end) in [(1, 0), (2, 0), (0, 1), (0, 2), (1, 2), (2, 1)] {
            let torn = &bytes[cut_start..bytes.len() - cut_end];
            let d = decode(torn).unwrap();
            assert_eq!(d.encoding, "UTF-8", "cut {cut_start}/{cut_end}");
            assert!(
                d.text.contains("关于天穹计划的通知"),
                "cut {cut_start}/{cut_end}"
            );
        }
        // an invalid byte in the middle is not a torn edge: the legacy guess decides
        let gbk = enc("本文件属于机密等级，请勿外传。项目预算见附件。", GBK);
        assert_eq!(decode(&gbk).unwrap().encoding, "GBK");
        let mut mixed = bytes.to_vec();
        mixed[40] = 0xFF;
        assert_ne!(decode(&mixed).unwrap().encoding, "UTF-8");
    }

    #[test]
    fn utf16_and_binary() {
        let mut le = vec![0xFF, 0xFE];
        for u in "TOP SECRET//NOFORN".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&le).unwrap().encoding, "UTF-16LE");
        assert_eq!(decode(&le[2..]).unwrap().text, "TOP SECRET//NOFORN");
        assert!(decode(b"\x00\x01\x02\x03binary\x00\xff").is_none());
        assert_eq!(decode(b"plain").unwrap().encoding, "UTF-8");
    }
}
