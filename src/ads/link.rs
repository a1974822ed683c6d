//! The URLs a campaign holds: its banner image and the target a click is sent to.
//!
//! Only `https` URLs with a host, no user name or password, at most [`MAX_LEN`] characters, are
//! accepted, and they are stored in their normalised form (lower-case scheme and host, IDNs in
//! punycode, default port dropped, spaces and other unsafe characters percent-encoded), which is
//! byte for byte what a click's `Location` header carries.

// reqwest re-exports the `url` crate's parser (WHATWG URL Standard), so we add no dependency.
use reqwest::Url;

/// Longest URL we keep, before and after normalisation.
pub const MAX_LEN: usize = 2048;

/// The normalised URL, or why it is refused (a sentence for the client).
pub fn https_url(input: &str) -> Result<String, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Err("must not be empty.");
    }
    if input.chars().count() > MAX_LEN {
        return Err("must be at most 2048 characters.");
    }
    // The parser silently drops tabs and newlines; a URL typed with them is a mistake, or a trick.
    if input.chars().any(|c| c.is_control()) {
        return Err("must not contain control characters.");
    }
    let url = Url::parse(input).map_err(|_| "is not a valid absolute URL.")?;
    if url.scheme() != "https" {
        return Err("must be an https:// URL.");
    }
    match url.host_str() {
        None | Some("") => return Err("must name a host."),
        Some(_) => {}
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password.");
    }
    let normalised = url.to_string();
    if normalised.len() > MAX_LEN {
        return Err("must be at most 2048 characters once encoded.");
    }
    Ok(normalised)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn https_urls_are_normalised() {
        assert_eq!(
            https_url("  HTTPS://Shop.Example.COM:443/a b?x=1#top ").unwrap(),
            "https://shop.example.com/a%20b?x=1#top"
        );
        assert_eq!(
            https_url("https://example.com").unwrap(),
            "https://example.com/"
        );
        assert_eq!(
            https_url("https://트러플.kr/이벤트").unwrap(),
            "https://xn--vl2b130ceub.kr/%EC%9D%B4%EB%B2%A4%ED%8A%B8"
        );
        assert_eq!(
            https_url("https://example.com:8443/x").unwrap(),
            "https://example.com:8443/x"
        );
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            "",
            "   ",
            "http://example.com/",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(document.cookie)",
            "data:text/html,<script>alert(1)</script>",
            "//evil.example/",
            "/v1/ads",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "https://example.com@evil.example/",
            "https://exa mple.com/",
            "https://example.com/\n/evil",
            "https://example.com/a\tb",
        ] {
            assert!(https_url(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_LEN));
        assert!(https_url(&long).is_err());
    }

    proptest! {
        #[test]
        fn accepted_urls_are_https_ascii_and_stable(s in "\\PC{0,80}") {
            let input = format!("https://example.com/{s}");
            if let Ok(out) = https_url(&input) {
                prop_assert!(out.starts_with("https://example.com/"));
                prop_assert!(out.is_ascii());
                prop_assert!(!out.contains(['\r', '\n', ' ']));
                prop_assert!(axum::http::HeaderValue::from_str(&out).is_ok());
                prop_assert_eq!(https_url(&out), Ok(out.clone()));
            }
        }
    }
}
