//! Who a person is, as far as one-person-one-account goes: a keyed hash of their CI, or of their
//! E.164 phone number when the provider gives no CI. Also phone and email normalisation.

use unicode_normalization::UnicodeNormalization;

/// HMAC-SHA256 of `kind:value` under the server's person key.
pub fn keyed_hash(secret: &[u8], kind: &str, value: &str) -> Vec<u8> {
    crate::crypto::hmac_sha256(secret, &[kind.as_bytes(), b":", value.as_bytes()])
}

/// The person key hash: CI when known, else the E.164 phone.
pub fn person_key_hash(
    secret: &[u8],
    ci: Option<&str>,
    phone_e164: Option<&str>,
) -> Option<Vec<u8>> {
    match (ci, phone_e164) {
        (Some(ci), _) => Some(keyed_hash(secret, "ci", ci)),
        (None, Some(phone)) => Some(keyed_hash(secret, "phone", phone)),
        (None, None) => None,
    }
}

/// A Korean mobile number in national form (`01012345678`) from what people type:
/// `010-1234-5678`, `010 1234 5678`, `+82 10-1234-5678`, `821012345678`.
pub fn normalize_mobile(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| c.is_ascii_digit()).collect();
    let trimmed = input.trim();
    let national = if trimmed.starts_with('+') || (digits.starts_with("82") && digits.len() >= 11) {
        let rest = digits.strip_prefix("82")?;
        format!("0{}", rest.trim_start_matches('0'))
    } else {
        digits
    };
    let ok_prefix = ["010", "011", "016", "017", "018", "019"]
        .iter()
        .any(|p| national.starts_with(p));
    if ok_prefix && (national.len() == 10 || national.len() == 11) {
        // Allow only separators and digits in the input.
        if trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')'))
        {
            return Some(national);
        }
    }
    None
}

/// `01012345678` → `+821012345678`.
pub fn to_e164(national: &str) -> String {
    format!("+82{}", national.trim_start_matches('0'))
}

/// Lowercased, trimmed email if it looks like one (one `@`, a dot in the domain, no spaces).
pub fn normalize_email(input: &str) -> Option<String> {
    let email = input.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let valid = !local.is_empty()
        && local.len() <= 64
        && domain.len() >= 3
        && domain.len() <= 255
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@');
    valid.then_some(email)
}

/// One line of free text, trimmed and NFC-normalised, if at least `min` characters are left
/// once it is trimmed and at most `max` were sent. Both bounds count the characters the client
/// sent (before normalisation), as the OpenAPI document states them (`minLength`, `maxLength`
/// and a pattern asking for `min` characters that are not white space).
pub fn clean_text(input: &str, min: usize, max: usize) -> Option<String> {
    bounded(input, min, max, |c| c.is_control())
}

/// Like [`clean_text`], for the fields that may span lines (`crate::http::text::MULTILINE_FIELDS`):
/// line breaks and tabs are kept.
pub fn clean_multiline(input: &str, min: usize, max: usize) -> Option<String> {
    bounded(input, min, max, |c| {
        c.is_control() && !matches!(c, '\n' | '\r' | '\t')
    })
}

fn bounded(input: &str, min: usize, max: usize, refused: impl Fn(char) -> bool) -> Option<String> {
    let trimmed = input.trim();
    let ok = input.chars().count() <= max
        && trimmed.chars().count() >= min
        && !input.chars().any(refused);
    // NFC can lengthen a few characters (U+0958 → U+0915 U+093C): what is kept fits `max` too.
    ok.then(|| trimmed.nfc().collect::<String>())
        .filter(|kept| kept.chars().count() <= max)
}

/// `minsu@example.com` → `m***u@example.com`, to tell a person which account is theirs.
pub fn mask_email(email: &str) -> String {
    let Some((local, domain)) = email.split_once('@') else {
        return "***".into();
    };
    let chars: Vec<char> = local.chars().collect();
    let masked = match chars.len() {
        0..=2 => format!("{}***", chars.first().copied().unwrap_or('*')),
        n => format!("{}***{}", chars[0], chars[n - 1]),
    };
    format!("{masked}@{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mobiles_normalise() {
        for input in [
            "010-1234-5678",
            "01012345678",
            "+82 10-1234-5678",
            "821012345678",
            "+82 010 1234 5678",
        ] {
            assert_eq!(
                normalize_mobile(input).as_deref(),
                Some("01012345678"),
                "{input}"
            );
        }
        assert_eq!(to_e164("01012345678"), "+821012345678");
        for bad in [
            "02-123-4567",
            "010-1234",
            "phone",
            "010-1234-5678; DROP",
            "",
        ] {
            assert_eq!(normalize_mobile(bad), None, "{bad}");
        }
    }

    #[test]
    fn person_hash_prefers_ci_and_depends_on_the_key() {
        let a = person_key_hash(b"k1", Some("CI"), Some("+821012345678")).unwrap();
        assert_eq!(a, keyed_hash(b"k1", "ci", "CI"));
        assert_ne!(a, person_key_hash(b"k2", Some("CI"), None).unwrap());
        assert_eq!(
            person_key_hash(b"k1", None, Some("+821012345678")).unwrap(),
            keyed_hash(b"k1", "phone", "+821012345678")
        );
        assert_eq!(person_key_hash(b"k1", None, None), None);
    }

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Minsu@Example.COM ").as_deref(),
            Some("minsu@example.com")
        );
        for bad in [
            "minsu",
            "@example.com",
            "a@b",
            "a b@example.com",
            "a@@example.com",
            "a@.com",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
        assert_eq!(mask_email("minsu@example.com"), "m***u@example.com");
        assert_eq!(mask_email("ab@example.com"), "a***@example.com");
    }

    #[test]
    fn hangul_is_nfc_normalised() {
        // "한" written as conjoining jamo becomes the precomposed syllable.
        assert_eq!(
            clean_text("\u{1112}\u{1161}\u{11AB}", 1, 10).as_deref(),
            Some("한")
        );
        assert_eq!(clean_text("   ", 1, 10), None);
        assert_eq!(clean_text("a\u{0007}b", 1, 10), None);
    }

    #[test]
    fn bounds_count_what_was_sent() {
        // At least `min` left after trimming, at most `max` as sent.
        assert_eq!(clean_text(" a ", 2, 20), None);
        assert_eq!(clean_text(" ab ", 2, 20).as_deref(), Some("ab"));
        assert_eq!(clean_text(&format!("{} ", "가".repeat(20)), 1, 20), None);
        assert_eq!(
            clean_text(&"가".repeat(20), 1, 20).as_deref(),
            Some(&*"가".repeat(20))
        );
        assert_eq!(clean_text("a\nb", 1, 10), None);
        assert_eq!(
            clean_multiline(" 첫 줄\n둘째 줄\t끝 ", 1, 20).as_deref(),
            Some("첫 줄\n둘째 줄\t끝")
        );
        assert_eq!(clean_multiline("a\u{0}b", 1, 10), None);
    }

    proptest! {
        #[test]
        fn normalised_mobiles_are_stable(n in 10_000_000u32..99_999_999) {
            let national = format!("010{n:08}");
            let dashed = format!("010-{}-{}", &national[3..7], &national[7..]);
            prop_assert_eq!(normalize_mobile(&dashed), Some(national.clone()));
            prop_assert_eq!(normalize_mobile(&to_e164(&national)), Some(national));
        }
    }
}
