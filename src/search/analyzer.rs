//! The dictionary-free analyser for Korean and English (DESIGN.md, toolchain facts): text splits
//! into runs of one script; a Hangul (or other CJK) run becomes overlapping bigrams, a Latin or
//! digit run one lowercased word (stemmed in English by the index's filter). A second mode keeps
//! whole words, for the exact-match boost and for typo tolerance.
//!
//! Queries are analysed here too, into *units* (a bigram, or a Latin word) that a product must
//! mostly match, so that "덩크로우" finds "나이키 덩크 로우" and a particle such as "를" does not
//! stop "덩크를" from finding it.

use tantivy::tokenizer::{
    Language, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer,
};
use unicode_normalization::UnicodeNormalization;

/// The analyser of the bigram fields: Hangul bigrams, lowercased and stemmed Latin words.
pub const BIGRAM: &str = "ko_bigram";
/// The analyser of the whole-word field: whole Hangul runs and lowercased Latin words.
pub const WORDS: &str = "ko_words";

/// Longer tokens are dropped (they are hashes or noise, never words).
const MAX_TOKEN_BYTES: usize = 64;

pub fn bigram_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(ScriptTokenizer { whole_words: false })
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(Stemmer::new(Language::English))
        .build()
}

pub fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(ScriptTokenizer { whole_words: true })
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .build()
}

/// Hangul syllables and jamo, CJK ideographs, kana: scripts written without spaces between
/// morphemes, indexed as bigrams.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{AC00}'..='\u{D7A3}'   // Hangul syllables
        | '\u{1100}'..='\u{11FF}' // Hangul jamo
        | '\u{3130}'..='\u{318F}' // Hangul compatibility jamo
        | '\u{3040}'..='\u{30FF}' // Hiragana, Katakana
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Cjk,
    Latin,
}

/// A run of one script, with its byte range in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run<'a> {
    pub script: Script,
    pub text: &'a str,
    pub from: usize,
}

/// Splits text into runs; anything that is neither a letter nor a digit separates them, and so
/// does a change of script ("에어맥스90" is two runs).
pub fn runs(text: &str) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let mut start: Option<(usize, Script)> = None;
    for (i, c) in text.char_indices() {
        let script = if is_cjk(c) {
            Some(Script::Cjk)
        } else if c.is_alphanumeric() {
            Some(Script::Latin)
        } else {
            None
        };
        match (start, script) {
            (Some((_, cur)), Some(now)) if cur == now => {}
            (Some((s, cur)), next) => {
                out.push(Run {
                    script: cur,
                    text: &text[s..i],
                    from: s,
                });
                start = next.map(|n| (i, n));
            }
            (None, next) => start = next.map(|n| (i, n)),
        }
    }
    if let Some((s, cur)) = start {
        out.push(Run {
            script: cur,
            text: &text[s..],
            from: s,
        });
    }
    out
}

/// The bigrams of a CJK run with their byte ranges; a one-character run is its own token.
pub fn bigrams(run: &str) -> Vec<(String, usize, usize)> {
    let chars: Vec<(usize, char)> = run.char_indices().collect();
    if chars.len() == 1 {
        return vec![(run.to_owned(), 0, run.len())];
    }
    chars
        .windows(2)
        .map(|w| {
            let end = w[1].0 + w[1].1.len_utf8();
            (run[w[0].0..end].to_owned(), w[0].0, end)
        })
        .collect()
}

#[derive(Clone)]
struct ScriptTokenizer {
    whole_words: bool,
}

struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

impl Tokenizer for ScriptTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut push = |text: String, from: usize, to: usize| {
            tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position: tokens.len(),
                text,
                position_length: 1,
            })
        };
        for run in runs(text) {
            match run.script {
                Script::Latin => push(run.text.to_lowercase(), run.from, run.from + run.text.len()),
                Script::Cjk if self.whole_words => {
                    push(run.text.to_owned(), run.from, run.from + run.text.len())
                }
                Script::Cjk => {
                    for (gram, from, to) in bigrams(run.text) {
                        push(gram, run.from + from, run.from + to);
                    }
                }
            }
        }
        VecTokenStream { tokens, index: 0 }
    }
}

/// Korean particles and endings that follow a noun, longest first. A query word ending in one
/// is matched on its stem; the particle's bigram only adds to the score.
const PARTICLES: [&str; 22] = [
    "에서", "으로", "까지", "부터", "이랑", "에게", "한테", "처럼", "보다", "이나", "을", "를",
    "이", "가", "은", "는", "의", "에", "도", "로", "와", "과",
];

/// A query word's stem without a trailing particle, when one can be taken off and leave at
/// least two syllables.
pub fn strip_particle(word: &str) -> Option<&str> {
    let len = word.chars().count();
    PARTICLES.iter().find_map(|p| {
        let stem = word.strip_suffix(p)?;
        (len - p.chars().count() >= 2).then_some(stem)
    })
}

/// What a query asks for, analysed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct QueryTerms {
    /// Terms a product must mostly match: each is a set of alternatives in the bigram fields
    /// (a bigram, or a Latin word's stem), plus, for a longer alphabetic word, its lowercase
    /// form for a one-letter typo match in the whole-word field.
    pub units: Vec<Unit>,
    /// Bigrams that cross into a stripped particle: they add to the score only.
    pub optional: Vec<String>,
    /// Whole words as typed (and their stems), for the exact-match boost.
    pub words: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// The term in the bigram fields.
    pub term: String,
    /// The whole word for a one-letter typo match, if the unit is a longer Latin word.
    pub fuzzy: Option<String>,
}

/// Latin words at least this long (in letters) match with one letter wrong.
pub const FUZZY_MIN_LEN: usize = 5;

impl QueryTerms {
    /// The required number of units: all of one or two, then two in three.
    pub fn minimum_match(&self) -> usize {
        let n = self.units.len();
        n - n / 3
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
}

/// NFC, lowercase, then the units (at most `max_units`; the rest of a long query is ignored).
pub fn analyse_query(query: &str, max_units: usize) -> QueryTerms {
    let text: String = query.nfc().collect::<String>().to_lowercase();
    let mut stemmer = bigram_analyzer();
    let mut terms = QueryTerms::default();
    let push_unit = |terms: &mut QueryTerms, unit: Unit| {
        if terms.units.len() < max_units && !terms.units.contains(&unit) {
            terms.units.push(unit);
        }
    };
    for run in runs(&text) {
        match run.script {
            Script::Latin => {
                if run.text.len() > MAX_TOKEN_BYTES {
                    continue;
                }
                let mut stream = stemmer.token_stream(run.text);
                let stem = stream
                    .next()
                    .map(|t| t.text.clone())
                    .unwrap_or_else(|| run.text.to_owned());
                let letters = run.text.chars().count();
                let alphabetic = run.text.chars().all(|c| c.is_alphabetic());
                push_unit(
                    &mut terms,
                    Unit {
                        term: stem,
                        fuzzy: (alphabetic && letters >= FUZZY_MIN_LEN)
                            .then(|| run.text.to_owned()),
                    },
                );
                terms.words.push(run.text.to_owned());
            }
            Script::Cjk => {
                terms.words.push(run.text.to_owned());
                let core = match strip_particle(run.text) {
                    Some(stem) => {
                        terms.words.push(stem.to_owned());
                        // The bigram joining the stem's last syllable to the particle.
                        let tail = &run.text[stem.len()..];
                        let last = stem.chars().last().map(String::from).unwrap_or_default();
                        let first = tail.chars().next().map(String::from).unwrap_or_default();
                        terms.optional.push(format!("{last}{first}"));
                        stem
                    }
                    None => run.text,
                };
                for (gram, _, _) in bigrams(core) {
                    push_unit(
                        &mut terms,
                        Unit {
                            term: gram,
                            fuzzy: None,
                        },
                    );
                }
            }
        }
    }
    terms.words.dedup();
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push(t.text.clone());
        }
        out
    }

    #[test]
    fn hangul_runs_become_overlapping_bigrams_and_latin_words_are_stemmed() {
        let mut a = bigram_analyzer();
        assert_eq!(
            tokens(&mut a, "나이키 덩크 로우 Sneakers"),
            ["나이", "이키", "덩크", "로우", "sneaker"]
        );
        assert_eq!(tokens(&mut a, "에어맥스90"), ["에어", "어맥", "맥스", "90"]);
        assert_eq!(tokens(&mut a, "백 DD1391-100"), ["백", "dd1391", "100"]);
    }

    #[test]
    fn whole_words_keep_hangul_runs_and_do_not_stem() {
        let mut a = words_analyzer();
        assert_eq!(
            tokens(&mut a, "조던 1 레트로 Running Shoes"),
            ["조던", "1", "레트로", "running", "shoes"]
        );
    }

    #[test]
    fn offsets_point_at_the_source_text() {
        let mut a = bigram_analyzer();
        let text = "Nike 덩크";
        let mut stream = a.token_stream(text);
        let mut spans = Vec::new();
        while let Some(t) = stream.next() {
            spans.push(&text[t.offset_from..t.offset_to]);
        }
        assert_eq!(spans, ["Nike", "덩크"]);
    }

    #[test]
    fn a_query_without_spaces_gives_the_bigrams_of_the_spaced_name() {
        let q = analyse_query("덩크로우", 32);
        let units: Vec<_> = q.units.iter().map(|u| u.term.as_str()).collect();
        assert_eq!(units, ["덩크", "크로", "로우"]);
        // Two of three must match: "덩크 로우" has 덩크 and 로우.
        assert_eq!(q.minimum_match(), 2);
    }

    #[test]
    fn particles_are_taken_off_query_words() {
        let q = analyse_query("덩크를", 32);
        let units: Vec<_> = q.units.iter().map(|u| u.term.as_str()).collect();
        assert_eq!(units, ["덩크"]);
        assert_eq!(q.optional, ["크를"]);
        assert!(q.words.contains(&"덩크".to_owned()));
        // Too short to have a particle: kept whole.
        assert_eq!(strip_particle("나이"), None);
        assert_eq!(strip_particle("발렌시아가"), Some("발렌시아"));
        assert_eq!(strip_particle("운동화에서"), Some("운동화"));
    }

    #[test]
    fn longer_latin_words_carry_a_fuzzy_form() {
        let q = analyse_query("Jordan 1 low", 32);
        assert_eq!(q.units[0].term, "jordan");
        assert_eq!(q.units[0].fuzzy.as_deref(), Some("jordan"));
        assert_eq!(q.units[1].fuzzy, None);
        assert_eq!(q.units[2].fuzzy, None, "low is shorter than five letters");
        assert_eq!(q.minimum_match(), 2);
    }

    #[test]
    fn decomposed_hangul_is_normalised() {
        let decomposed: String = "덩크".nfd().collect();
        assert_ne!(decomposed, "덩크");
        let q = analyse_query(&decomposed, 32);
        assert_eq!(q.units[0].term, "덩크");
    }

    #[test]
    fn punctuation_only_queries_have_no_units() {
        assert!(analyse_query("\"(*&^%$ -- !!", 32).is_empty());
        assert_eq!(analyse_query("a b c d e f g h", 3).units.len(), 3);
    }
}
