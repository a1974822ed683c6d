//! Highlighted snippets: the parts of a hit's text that the query matched, in `<mark>`, the rest
//! HTML-escaped.

use std::ops::Range;

use tantivy::tokenizer::TokenStream;

use super::analyzer::{self, QueryTerms};

/// The byte ranges of `text` that the query matched, merged and in order.
fn matches(text: &str, terms: &QueryTerms) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    if terms.is_empty() {
        return ranges;
    }
    let mut bigrams = analyzer::bigram_analyzer();
    let mut stream = bigrams.token_stream(text);
    while let Some(t) = stream.next() {
        let hit = terms.units.iter().any(|u| u.term == t.text) || terms.optional.contains(&t.text);
        if hit {
            ranges.push(t.offset_from..t.offset_to);
        }
    }
    let fuzzy: Vec<&str> = terms
        .units
        .iter()
        .filter_map(|u| u.fuzzy.as_deref())
        .collect();
    if !fuzzy.is_empty() {
        let mut words = analyzer::words_analyzer();
        let mut stream = words.token_stream(text);
        while let Some(t) = stream.next() {
            if fuzzy.iter().any(|w| within_one_edit(w, &t.text)) {
                ranges.push(t.offset_from..t.offset_to);
            }
        }
    }
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Damerau–Levenshtein distance of at most one (a transposition counts as one), as the index's
/// fuzzy match.
fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a == b {
        return true;
    }
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match la.cmp(&lb) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..]
                || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Less => ra == &rb[1..],
        std::cmp::Ordering::Greater => &ra[1..] == rb,
    }
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn render(text: &str, ranges: &[Range<usize>], span: Range<usize>) -> String {
    let mut out = String::new();
    let mut at = span.start;
    for r in ranges {
        let (start, end) = (r.start.max(span.start), r.end.min(span.end));
        if start >= end {
            continue;
        }
        escape(&text[at..start], &mut out);
        out.push_str("<mark>");
        escape(&text[start..end], &mut out);
        out.push_str("</mark>");
        at = end;
    }
    escape(&text[at..span.end], &mut out);
    out
}

/// The whole text, with its matches marked.
pub fn whole(text: &str, terms: &QueryTerms) -> String {
    render(text, &matches(text, terms), 0..text.len())
}

/// Characters of context before the first match, and the most shown in all.
const BEFORE: usize = 40;
const WIDTH: usize = 160;

/// A window of the text around its first match, or None when nothing in it matched.
pub fn window(text: &str, terms: &QueryTerms) -> Option<String> {
    let ranges = matches(text, terms);
    let first = ranges.first()?.start;
    let starts: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let at = starts.partition_point(|&i| i < first);
    let from = starts[at.saturating_sub(BEFORE)];
    let to = starts[(at.saturating_sub(BEFORE) + WIDTH).min(starts.len() - 1)];
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.push_str(&render(text, &ranges, from..to));
    if to < text.len() {
        out.push('…');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::analyzer::analyse_query;

    #[test]
    fn marks_the_bigrams_and_words_that_matched() {
        let q = analyse_query("덩크로우", 24);
        assert_eq!(
            whole("나이키 덩크 로우 <판다>", &q),
            "나이키 <mark>덩크</mark> <mark>로우</mark> &lt;판다&gt;"
        );
        let q = analyse_query("jordna", 24);
        assert_eq!(whole("Air Jordan 1", &q), "Air <mark>Jordan</mark> 1");
    }

    #[test]
    fn overlapping_bigrams_make_one_mark() {
        let q = analyse_query("레트로", 24);
        assert_eq!(
            whole("조던 레트로 하이", &q),
            "조던 <mark>레트로</mark> 하이"
        );
    }

    #[test]
    fn a_window_shows_the_first_match_with_context() {
        let q = analyse_query("한정판", 24);
        let long = format!("{}한정판 입니다{}", "가".repeat(100), "나".repeat(300));
        let w = window(&long, &q).expect("matched");
        assert!(w.starts_with('…') && w.ends_with('…'));
        assert!(w.contains("<mark>한정판</mark>"));
        assert_eq!(w.chars().filter(|c| *c == '가').count(), BEFORE);
        assert_eq!(window("관계없는 설명", &q), None);
    }

    #[test]
    fn one_edit() {
        assert!(within_one_edit("jordan", "jordna"));
        assert!(within_one_edit("jordan", "jordn"));
        assert!(within_one_edit("jordan", "jordans"));
        assert!(within_one_edit("jordan", "jxrdan"));
        assert!(!within_one_edit("jordan", "jodrna"));
        assert!(!within_one_edit("jordan", "jor"));
    }
}
