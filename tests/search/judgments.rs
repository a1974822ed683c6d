//! The judged query set (`tests/search/judged_queries.json`) and NDCG@10, shared by
//! `tests/search_relevance.rs` and `benches/search_load.rs` (each includes this file with
//! `#[path]`). A product's grade for a query is the highest grade whose `where` conditions all
//! hold on its generated attributes, never on its text.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use truffle::demo::corpus::CorpusProduct;

pub const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/search/judged_queries.json"
);
/// NDCG is computed over the first this many hits.
pub const K: usize = 10;

/// The attributes judgments may refer to.
const ATTRIBUTES: [&str; 6] = ["brand", "family", "model", "colorway", "category", "collab"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedSet {
    pub about: String,
    pub queries: Vec<Judged>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judged {
    pub q: String,
    #[serde(default)]
    pub note: String,
    pub grades: Vec<Grade>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grade {
    #[serde(rename = "where")]
    pub conditions: BTreeMap<String, OneOrMany>,
    pub grade: u32,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn contains(&self, value: &str) -> bool {
        match self {
            OneOrMany::One(v) => v == value,
            OneOrMany::Many(vs) => vs.iter().any(|v| v == value),
        }
    }
}

/// A product's value of a judged attribute; a collaboration-free product's `collab` is "none".
fn attribute(p: &CorpusProduct, key: &str) -> Option<&'static str> {
    Some(match key {
        "brand" => p.brand,
        "family" => p.family,
        "model" => p.model,
        "colorway" => p.colorway,
        "category" => p.category,
        "collab" => p.collab.unwrap_or("none"),
        _ => return None,
    })
}

impl JudgedSet {
    /// Parses the set; an empty set or an unknown attribute is an error, not a silent zero.
    pub fn parse(text: &str) -> Result<JudgedSet, String> {
        let set: JudgedSet = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if set.queries.is_empty() {
            return Err("no queries".into());
        }
        for q in &set.queries {
            for g in &q.grades {
                if let Some(key) = g
                    .conditions
                    .keys()
                    .find(|k| !ATTRIBUTES.contains(&k.as_str()))
                {
                    return Err(format!(
                        "{:?} is graded by an unknown attribute {key:?}",
                        q.q
                    ));
                }
            }
        }
        Ok(set)
    }

    pub fn load() -> Result<JudgedSet, String> {
        let text = std::fs::read_to_string(PATH).map_err(|e| format!("cannot read {PATH}: {e}"))?;
        Self::parse(&text)
    }
}

impl Grade {
    pub fn holds(&self, p: &CorpusProduct) -> bool {
        self.conditions
            .iter()
            .all(|(key, wanted)| attribute(p, key).is_some_and(|v| wanted.contains(v)))
    }
}

impl Judged {
    /// The highest grade whose conditions all hold, else 0.
    pub fn grade(&self, p: &CorpusProduct) -> u32 {
        self.grades
            .iter()
            .filter(|g| g.holds(p))
            .map(|g| g.grade)
            .max()
            .unwrap_or(0)
    }

    /// NDCG@K of a ranking given as its grades, against the best K grades in the corpus (0 when
    /// nothing there is relevant).
    pub fn ndcg(&self, corpus: &[CorpusProduct], ranked: impl IntoIterator<Item = u32>) -> f64 {
        let mut all: Vec<u32> = corpus.iter().map(|p| self.grade(p)).collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        let ideal = dcg(all);
        if ideal == 0.0 {
            return 0.0;
        }
        dcg(ranked) / ideal
    }
}

/// DCG of the first K grades: (2^g − 1) / log2(rank + 1).
pub fn dcg(grades: impl IntoIterator<Item = u32>) -> f64 {
    grades
        .into_iter()
        .take(K)
        .enumerate()
        .map(|(i, g)| (2f64.powi(g as i32) - 1.0) / ((i + 2) as f64).log2())
        // Folded from +0.0: `sum()` of nothing is −0.0, which prints as "-0.000".
        .fold(0.0, |a, b| a + b)
}
