//! The Tantivy index: its schema, opening (and rebuilding when missing or corrupt), writing, and
//! searching with filters, sorts and facet counts. No database here: tests and benchmarks drive
//! it directly with [`IndexDoc`]s.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, SegmentCollector, TopDocs};
use tantivy::columnar::{ColumnValues, StrColumn};
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::{
    DocAddress, DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentOrdinal,
    SegmentReader, TantivyDocument, TantivyError, Term,
};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use super::analyzer::{self, QueryTerms};
use super::highlight;
use crate::raffles::{RaffleStage, RaffleState, state_at};

/// Bumped whenever the schema or the analysers change: an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 1;

/// The writer's memory before it flushes a segment.
const WRITER_MEMORY: usize = 64 << 20;

/// What the index holds of a product: the text it is found by, and what it is filtered, sorted
/// and counted by.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDoc {
    pub id: Uuid,
    pub name: String,
    pub brand: String,
    pub category: String,
    pub description: String,
    pub tags: Vec<String>,
    pub sku: Option<String>,
    pub retail_price_krw: u64,
    /// Anchored or confirmed on chain, and not revoked.
    pub verified: bool,
    /// The product's latest raffle, if it has one.
    pub raffle: Option<IndexRaffle>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexRaffle {
    /// The stored stage (`raffles.stage`); the public state follows from it and the clock.
    pub stage: RaffleStage,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

/// The index's commit payload: what it has caught up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub schema: u32,
    /// Every change with a transaction id below this is in the index.
    pub horizon: i64,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (newest first when there is no text).
    #[default]
    Relevance,
    Newest,
    /// Open raffles closing first, then scheduled ones opening first, then the rest, newest first.
    ClosingSoon,
    PriceAsc,
    PriceDesc,
}

/// A raffle-state filter: a public raffle state, or `none` for products without a raffle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFilter {
    NoRaffle,
    State(RaffleState),
}

/// A checked search request.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub text: Option<String>,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub raffle_state: Option<StateFilter>,
    pub min_price: Option<u64>,
    pub max_price: Option<u64>,
    pub verified_only: bool,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Debug, Clone)]
pub struct IndexHit {
    pub id: Uuid,
    pub score: f32,
    /// The name with matches in `<mark>`, HTML-escaped.
    pub name_html: String,
    /// A window of the description around its first match, if it has one.
    pub description_html: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Facets {
    pub brand: Vec<FacetCount>,
    pub category: Vec<FacetCount>,
    /// Public raffle states, and `none` for products without a raffle.
    pub raffle_state: Vec<FacetCount>,
}

#[derive(Debug, Clone, Default)]
pub struct IndexResults {
    pub total: u64,
    pub hits: Vec<IndexHit>,
    pub facets: Facets,
}

/// The most values a facet lists.
const FACET_VALUES: usize = 20;
/// The most units a query is made of.
pub const MAX_QUERY_UNITS: usize = 24;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    key: Field,
    key_lo: Field,
    name: Field,
    brand: Field,
    category: Field,
    tags: Field,
    sku: Field,
    description: Field,
    words: Field,
    brand_key: Field,
    category_key: Field,
    brand_facet: Field,
    category_facet: Field,
    price: Field,
    verified: Field,
    stage: Field,
    opens: Field,
    closes: Field,
}

/// The text fields a unit is looked for in, with their weights.
fn weighted(f: &Fields) -> [(Field, Score); 6] {
    [
        (f.name, 3.0),
        (f.brand, 2.5),
        (f.tags, 2.0),
        (f.sku, 2.0),
        (f.category, 1.5),
        (f.description, 0.6),
    ]
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer::BIGRAM)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        if stored { o.set_stored() } else { o }
    };
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        key: b.add_u64_field("key", FAST),
        key_lo: b.add_u64_field("key_lo", FAST),
        name: b.add_text_field("name", text(true)),
        brand: b.add_text_field("brand", text(false)),
        category: b.add_text_field("category", text(false)),
        tags: b.add_text_field("tags", text(false)),
        sku: b.add_text_field("sku", text(false)),
        description: b.add_text_field("description", text(true)),
        words: b.add_text_field(
            "words",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(analyzer::WORDS)
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
        brand_key: b.add_text_field("brand_key", STRING),
        category_key: b.add_text_field("category_key", STRING),
        brand_facet: b.add_text_field("brand_facet", STRING | FAST),
        category_facet: b.add_text_field("category_facet", STRING | FAST),
        price: b.add_u64_field("price", INDEXED | FAST),
        verified: b.add_u64_field("verified", INDEXED | FAST),
        stage: b.add_u64_field("stage", INDEXED | FAST),
        opens: b.add_i64_field("opens", INDEXED | FAST),
        closes: b.add_i64_field("closes", INDEXED | FAST),
    };
    (b.build(), fields)
}

/// The public state of an indexed raffle at `now` (seconds), or None without a raffle.
fn state_of_codes(code: u64, opens: i64, closes: i64, now: i64) -> Option<RaffleState> {
    if code == 0 {
        return None;
    }
    // A code this build does not know (an index written by a newer one) reads as no raffle
    // until the index is rebuilt.
    let stage = RaffleStage::from_index_code(code)?;
    let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap_or_default();
    Some(state_at(stage, at(opens), at(closes), at(now)))
}

const STATE_NAMES: [(RaffleState, &str); 8] = [
    (RaffleState::Scheduled, "scheduled"),
    (RaffleState::Open, "open"),
    (RaffleState::Closed, "closed"),
    (RaffleState::Drawn, "drawn"),
    (RaffleState::Settled, "settled"),
    (RaffleState::Cancelled, "cancelled"),
    (RaffleState::Void, "void"),
    (RaffleState::Empty, "empty"),
];

pub fn state_name(state: Option<RaffleState>) -> &'static str {
    match state {
        None => "none",
        Some(s) => STATE_NAMES
            .iter()
            .find(|(st, _)| *st == s)
            .map(|(_, n)| *n)
            .unwrap_or("closed"),
    }
}

pub fn parse_state(name: &str) -> Option<StateFilter> {
    if name == "none" {
        return Some(StateFilter::NoRaffle);
    }
    STATE_NAMES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(s, _)| StateFilter::State(*s))
}

/// The id's two halves: UUIDv7s order by creation, so they sort "newest" and break ties
/// between equal scores.
fn id_halves(id: Uuid) -> (u64, u64) {
    let (hi, lo) = id.as_u64_pair();
    (hi, lo)
}

/// Brand and category filters match whatever the case and Unicode form.
pub fn fold(value: &str) -> String {
    value.nfc().collect::<String>().trim().to_lowercase()
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    dir: Option<PathBuf>,
}

/// How opening went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// An index that was there, at this point of the change feed.
    Existing(Payload),
    /// A new, empty index; the reason says why (none there, unreadable, older schema).
    Created(String),
}

fn register_analyzers(index: &Index) {
    index
        .tokenizers()
        .register(analyzer::BIGRAM, analyzer::bigram_analyzer());
    index
        .tokenizers()
        .register(analyzer::WORDS, analyzer::words_analyzer());
}

fn writer_for(index: &Index) -> tantivy::Result<IndexWriter> {
    // One indexing thread and one merge thread: the index never takes more than its share of
    // the machine, and commits and merges stay off the async runtime.
    index.writer_with_options(
        IndexWriterOptions::builder()
            .num_worker_threads(1)
            .num_merge_threads(1)
            .memory_budget_per_thread(WRITER_MEMORY)
            .build(),
    )
}

impl SearchIndex {
    fn assemble(index: Index, dir: Option<PathBuf>) -> tantivy::Result<SearchIndex> {
        register_analyzers(&index);
        let writer = writer_for(&index)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let (_, fields) = schema();
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            dir,
        })
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_memory() -> SearchIndex {
        let (schema, _) = schema();
        Self::assemble(Index::create_in_ram(schema), None).expect("an index in RAM opens")
    }

    /// Opens the index in `dir`, or creates it there when it is missing, unreadable, or of
    /// another schema version. Another process holding the directory is an error, never a
    /// reason to rebuild.
    pub fn open(dir: &Path) -> anyhow::Result<(SearchIndex, Opened)> {
        std::fs::create_dir_all(dir)?;
        let existing = if dir.join("meta.json").exists() {
            Some(Self::open_existing(dir))
        } else {
            None
        };
        let reason = match existing {
            Some(Ok((index, payload))) if payload.schema == SCHEMA_VERSION => {
                return Ok((index, Opened::Existing(payload)));
            }
            Some(Ok((_, payload))) => {
                format!("schema version {} is not {SCHEMA_VERSION}", payload.schema)
            }
            Some(Err(e)) => {
                if let Some(TantivyError::LockFailure(..)) = e.downcast_ref::<TantivyError>() {
                    return Err(e.context(format!(
                        "the search index {} is in use by another process",
                        dir.display()
                    )));
                }
                format!("the index could not be read ({e:#})")
            }
            None => "there was no index".to_owned(),
        };
        // Start over in an empty directory.
        std::fs::remove_dir_all(dir)?;
        std::fs::create_dir_all(dir)?;
        let (schema, _) = schema();
        let index = Index::create_in_dir(dir, schema)?;
        Ok((
            Self::assemble(index, Some(dir.to_owned()))?,
            Opened::Created(reason),
        ))
    }

    fn open_existing(dir: &Path) -> anyhow::Result<(SearchIndex, Payload)> {
        let index = Index::open_in_dir(dir)?;
        let payload: Payload = index
            .load_metas()?
            .payload
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?
            .ok_or_else(|| anyhow::anyhow!("the index has no commit payload"))?;
        let opened = Self::assemble(index, Some(dir.to_owned()))?;
        // Reading every segment's files now finds a damaged one before a search does.
        let searcher = opened.reader.searcher();
        for segment in searcher.segment_readers() {
            segment.fast_fields().u64("key")?;
        }
        searcher.search(&AllQuery, &tantivy::collector::Count)?;
        Ok((opened, payload))
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn payload(&self) -> anyhow::Result<Option<Payload>> {
        Ok(self
            .index
            .load_metas()?
            .payload
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?)
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn document(&self, d: &IndexDoc) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, d.id.to_string());
        let (hi, lo) = id_halves(d.id);
        doc.add_u64(f.key, hi);
        doc.add_u64(f.key_lo, lo);
        doc.add_text(f.name, &d.name);
        doc.add_text(f.brand, &d.brand);
        doc.add_text(f.category, &d.category);
        doc.add_text(f.description, &d.description);
        for tag in &d.tags {
            doc.add_text(f.tags, tag);
            doc.add_text(f.words, tag);
        }
        if let Some(sku) = &d.sku {
            doc.add_text(f.sku, sku);
            doc.add_text(f.words, sku);
        }
        doc.add_text(f.words, &d.name);
        doc.add_text(f.words, &d.brand);
        doc.add_text(f.brand_key, fold(&d.brand));
        doc.add_text(f.category_key, fold(&d.category));
        doc.add_text(f.brand_facet, d.brand.trim());
        doc.add_text(f.category_facet, d.category.trim());
        doc.add_u64(f.price, d.retail_price_krw);
        doc.add_u64(f.verified, d.verified as u64);
        match &d.raffle {
            Some(r) => {
                doc.add_u64(f.stage, r.stage.index_code());
                doc.add_i64(f.opens, r.opens_at.timestamp());
                doc.add_i64(f.closes, r.closes_at.timestamp());
            }
            None => {
                doc.add_u64(f.stage, 0);
                doc.add_i64(f.opens, 0);
                doc.add_i64(f.closes, 0);
            }
        }
        doc
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        // A panic while holding the writer leaves it usable: tantivy's state is in the writer.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces these products' documents (uncommitted until [`commit`](Self::commit)).
    pub fn upsert(&self, docs: &[IndexDoc]) -> tantivy::Result<()> {
        let writer = self.writer();
        for d in docs {
            writer.delete_term(Term::from_field_text(self.fields.id, &d.id.to_string()));
            writer.add_document(self.document(d))?;
        }
        Ok(())
    }

    /// Removes these products' documents (uncommitted until [`commit`](Self::commit)).
    pub fn delete(&self, ids: &[Uuid]) {
        let writer = self.writer();
        for id in ids {
            writer.delete_term(Term::from_field_text(self.fields.id, &id.to_string()));
        }
    }

    /// Removes every document (uncommitted until [`commit`](Self::commit)).
    pub fn clear(&self) -> tantivy::Result<()> {
        self.writer().delete_all_documents()?;
        Ok(())
    }

    /// Makes the changes durable and searchable, recording where the feed stands. Blocking:
    /// call it on the CPU pool.
    pub fn commit(&self, payload: Payload) -> anyhow::Result<()> {
        {
            let mut writer = self.writer();
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&serde_json::to_string(&payload)?);
            prepared.commit()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Runs a search. Blocking: call it on the CPU pool.
    pub fn search(&self, req: &SearchRequest, now: DateTime<Utc>) -> tantivy::Result<IndexResults> {
        let terms = req
            .text
            .as_deref()
            .map(|t| analyzer::analyse_query(t, MAX_QUERY_UNITS))
            .unwrap_or_default();
        let has_text = !terms.is_empty();
        if req.text.is_some() && !has_text {
            // Only punctuation or symbols: nothing can match.
            return Ok(IndexResults::default());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if has_text {
            clauses.push((Occur::Must, Box::new(self.text_query(&terms))));
        } else {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        for filter in self.filters(req, now.timestamp()) {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))));
        }
        let query = BooleanQuery::new(clauses);
        let sort = match req.sort {
            Sort::Relevance if !has_text => Sort::Newest,
            s => s,
        };
        let now_secs = now.timestamp();
        let top = TopDocs::with_limit(req.limit.max(1))
            .and_offset(req.offset)
            .tweak_score(move |segment: &SegmentReader| {
                let col = |name: &str| {
                    segment
                        .fast_fields()
                        .u64(name)
                        .map(|c| c.first_or_default_col(0))
                        .ok()
                };
                let icol = |name: &str| {
                    segment
                        .fast_fields()
                        .i64(name)
                        .map(|c| c.first_or_default_col(0))
                        .ok()
                };
                let key = col("key");
                let key_lo = col("key_lo");
                let price = col("price");
                let stage = col("stage");
                let opens = icol("opens");
                let closes = icol("closes");
                move |doc: DocId, score: Score| -> (u64, u64, u64) {
                    let get = |c: &Option<std::sync::Arc<dyn ColumnValues<u64>>>| {
                        c.as_ref().map_or(0, |c| c.get_val(doc))
                    };
                    let geti = |c: &Option<std::sync::Arc<dyn ColumnValues<i64>>>| {
                        c.as_ref().map_or(0, |c| c.get_val(doc))
                    };
                    let tiebreak = get(&key);
                    let primary = match sort {
                        Sort::Relevance => score.max(0.0).to_bits() as u64,
                        Sort::Newest => tiebreak,
                        Sort::PriceAsc => u64::MAX - get(&price),
                        Sort::PriceDesc => get(&price),
                        Sort::ClosingSoon => {
                            let (o, c) = (geti(&opens), geti(&closes));
                            const SPAN: u64 = 1 << 40;
                            let soon = |t: i64| SPAN - 1 - (t.clamp(0, SPAN as i64 - 1) as u64);
                            match state_of_codes(get(&stage), o, c, now_secs) {
                                Some(RaffleState::Open) => 2 * SPAN + soon(c),
                                Some(RaffleState::Scheduled) => SPAN + soon(o),
                                _ => 0,
                            }
                        }
                    };
                    (primary, tiebreak, get(&key_lo))
                }
            });
        let searcher = self.reader.searcher();
        let (top, counts) = searcher.search(&query, &(top, FacetCollector { now: now_secs }))?;
        let mut hits = Vec::with_capacity(top.len());
        for ((primary, _, _), address) in top {
            hits.push(self.hit(&searcher, address, &terms, req.sort, primary)?);
        }
        Ok(IndexResults {
            total: counts.total,
            hits,
            facets: counts.facets(),
        })
    }

    fn hit(
        &self,
        searcher: &tantivy::Searcher,
        address: DocAddress,
        terms: &QueryTerms,
        sort: Sort,
        primary: u64,
    ) -> tantivy::Result<IndexHit> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        let id = text(self.fields.id).parse().unwrap_or_default();
        let name = text(self.fields.name);
        let description = text(self.fields.description);
        Ok(IndexHit {
            id,
            score: if sort == Sort::Relevance {
                f32::from_bits(primary as u32)
            } else {
                0.0
            },
            name_html: highlight::whole(&name, terms),
            description_html: highlight::window(&description, terms),
        })
    }

    /// Each unit matches in any text field (weighted), or as a one-letter typo of a longer
    /// Latin word; most units must match. Whole-word and particle-crossing matches add to the
    /// score.
    fn text_query(&self, terms: &QueryTerms) -> BooleanQuery {
        let f = self.fields;
        let in_fields = |term: &str| -> Vec<(Occur, Box<dyn Query>)> {
            weighted(&f)
                .into_iter()
                .map(|(field, boost)| {
                    let q: Box<dyn Query> = Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(
                            Term::from_field_text(field, term),
                            IndexRecordOption::WithFreqs,
                        )),
                        boost,
                    ));
                    (Occur::Should, q)
                })
                .collect()
        };
        let units: Vec<(Occur, Box<dyn Query>)> = terms
            .units
            .iter()
            .map(|unit| {
                let mut alternatives = in_fields(&unit.term);
                if let Some(word) = &unit.fuzzy {
                    alternatives.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(FuzzyTermQuery::new(
                                Term::from_field_text(f.words, word),
                                1,
                                true,
                            )),
                            1.5,
                        )),
                    ));
                }
                let q: Box<dyn Query> = Box::new(BooleanQuery::new(alternatives));
                (Occur::Should, q)
            })
            .collect();
        let core = BooleanQuery::with_minimum_required_clauses(units, terms.minimum_match());
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(core))];
        for gram in &terms.optional {
            clauses.push((Occur::Should, Box::new(BooleanQuery::new(in_fields(gram)))));
        }
        for word in &terms.words {
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.words, word),
                        IndexRecordOption::WithFreqs,
                    )),
                    2.0,
                )),
            ));
        }
        BooleanQuery::new(clauses)
    }

    fn filters(&self, req: &SearchRequest, now: i64) -> Vec<Box<dyn Query>> {
        let f = &self.fields;
        let term = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let mut out = Vec::new();
        if let Some(brand) = &req.brand {
            out.push(term(f.brand_key, &fold(brand)));
        }
        if let Some(category) = &req.category {
            out.push(term(f.category_key, &fold(category)));
        }
        if req.min_price.is_some() || req.max_price.is_some() {
            let bound = |v: Option<u64>| match v {
                Some(v) => Bound::Included(Term::from_field_u64(f.price, v)),
                None => Bound::Unbounded,
            };
            out.push(Box::new(RangeQuery::new(
                bound(req.min_price),
                bound(req.max_price),
            )));
        }
        if req.verified_only {
            out.push(Box::new(TermQuery::new(
                Term::from_field_u64(f.verified, 1),
                IndexRecordOption::Basic,
            )));
        }
        if let Some(state) = req.raffle_state {
            out.push(state_query(f, state, now));
        }
        out
    }
}

/// Documents whose raffle is in one of `codes` (index codes; 0 is "no raffle").
fn codes_are(f: &Fields, codes: &[u64]) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        codes
            .iter()
            .map(|c| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_u64(f.stage, *c),
                    IndexRecordOption::Basic,
                ));
                (Occur::Should, q)
            })
            .collect(),
    ))
}

fn stage_is(f: &Fields, stages: &[RaffleStage]) -> Box<dyn Query> {
    let codes: Vec<u64> = stages.iter().map(|s| s.index_code()).collect();
    codes_are(f, &codes)
}

fn time_range(field: Field, from: Bound<i64>, to: Bound<i64>) -> Box<dyn Query> {
    let t = |b: Bound<i64>| match b {
        Bound::Included(v) => Bound::Included(Term::from_field_i64(field, v)),
        Bound::Excluded(v) => Bound::Excluded(Term::from_field_i64(field, v)),
        Bound::Unbounded => Bound::Unbounded,
    };
    Box::new(RangeQuery::new(t(from), t(to)))
}

fn all_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::intersection(queries))
}

fn any_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::union(queries))
}

/// The documents whose raffle is in `state` at `now`: the same rule as
/// [`crate::raffles::state_at`], written as index queries.
fn state_query(f: &Fields, state: StateFilter, now: i64) -> Box<dyn Query> {
    use Bound::*;
    let before_close = || time_range(f.closes, Excluded(now), Unbounded);
    let closed_by_time = || time_range(f.closes, Unbounded, Included(now));
    match state {
        StateFilter::NoRaffle => codes_are(f, &[0]),
        StateFilter::State(s) => match s {
            RaffleState::Open => all_of(vec![
                stage_is(f, &[RaffleStage::Committed]),
                time_range(f.opens, Unbounded, Included(now)),
                before_close(),
            ]),
            RaffleState::Scheduled => any_of(vec![
                all_of(vec![
                    stage_is(f, &[RaffleStage::Committed]),
                    time_range(f.opens, Excluded(now), Unbounded),
                ]),
                all_of(vec![
                    stage_is(f, &[RaffleStage::Committing]),
                    before_close(),
                ]),
            ]),
            RaffleState::Closed => any_of(vec![
                stage_is(f, &[RaffleStage::Closing, RaffleStage::Closed]),
                all_of(vec![
                    stage_is(f, &[RaffleStage::Committing, RaffleStage::Committed]),
                    closed_by_time(),
                ]),
            ]),
            RaffleState::Drawn => stage_is(f, &[RaffleStage::Drawn]),
            RaffleState::Settled => stage_is(f, &[RaffleStage::Settled]),
            RaffleState::Cancelled => stage_is(f, &[RaffleStage::Cancelled]),
            RaffleState::Void => stage_is(f, &[RaffleStage::Void]),
            RaffleState::Empty => stage_is(f, &[RaffleStage::Empty]),
        },
    }
}

/// Counts brand, category and raffle state over every matching document, in one pass over
/// fast fields.
struct FacetCollector {
    now: i64,
}

#[derive(Default)]
struct FacetFruit {
    total: u64,
    brand: HashMap<String, u64>,
    category: HashMap<String, u64>,
    state: HashMap<&'static str, u64>,
}

impl FacetFruit {
    fn facets(&self) -> Facets {
        fn top<K: AsRef<str>>(m: &HashMap<K, u64>) -> Vec<FacetCount> {
            let mut v: Vec<FacetCount> = m
                .iter()
                .map(|(k, c)| FacetCount {
                    value: k.as_ref().to_owned(),
                    count: *c,
                })
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            v.truncate(FACET_VALUES);
            v
        }
        Facets {
            brand: top(&self.brand),
            category: top(&self.category),
            raffle_state: top(&self.state),
        }
    }
}

struct FacetSegment {
    now: i64,
    brand: Option<StrColumn>,
    category: Option<StrColumn>,
    stage: std::sync::Arc<dyn ColumnValues<u64>>,
    opens: std::sync::Arc<dyn ColumnValues<i64>>,
    closes: std::sync::Arc<dyn ColumnValues<i64>>,
    brand_ords: HashMap<u64, u64>,
    category_ords: HashMap<u64, u64>,
    state: HashMap<&'static str, u64>,
    total: u64,
}

impl Collector for FacetCollector {
    type Fruit = FacetFruit;
    type Child = FacetSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<FacetSegment> {
        let ff = segment.fast_fields();
        Ok(FacetSegment {
            now: self.now,
            brand: ff.str("brand_facet")?,
            category: ff.str("category_facet")?,
            stage: ff.u64("stage")?.first_or_default_col(0),
            opens: ff.i64("opens")?.first_or_default_col(0),
            closes: ff.i64("closes")?.first_or_default_col(0),
            brand_ords: HashMap::new(),
            category_ords: HashMap::new(),
            state: HashMap::new(),
            total: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetFruit>) -> tantivy::Result<FacetFruit> {
        let mut out = FacetFruit::default();
        for fruit in fruits {
            out.total += fruit.total;
            for (k, v) in fruit.brand {
                *out.brand.entry(k).or_default() += v;
            }
            for (k, v) in fruit.category {
                *out.category.entry(k).or_default() += v;
            }
            for (k, v) in fruit.state {
                *out.state.entry(k).or_default() += v;
            }
        }
        Ok(out)
    }
}

impl SegmentCollector for FacetSegment {
    type Fruit = FacetFruit;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.total += 1;
        if let Some(ord) = self.brand.as_ref().and_then(|c| c.ords().first(doc)) {
            *self.brand_ords.entry(ord).or_default() += 1;
        }
        if let Some(ord) = self.category.as_ref().and_then(|c| c.ords().first(doc)) {
            *self.category_ords.entry(ord).or_default() += 1;
        }
        let state = state_of_codes(
            self.stage.get_val(doc),
            self.opens.get_val(doc),
            self.closes.get_val(doc),
            self.now,
        );
        *self.state.entry(state_name(state)).or_default() += 1;
    }

    fn harvest(self) -> FacetFruit {
        let names = |column: &Option<StrColumn>, ords: HashMap<u64, u64>| {
            let mut out = HashMap::new();
            if let Some(column) = column {
                for (ord, count) in ords {
                    let mut s = String::new();
                    if column.ord_to_str(ord, &mut s).unwrap_or(false) {
                        *out.entry(s).or_default() += count;
                    }
                }
            }
            out
        };
        FacetFruit {
            total: self.total,
            brand: names(&self.brand, self.brand_ords),
            category: names(&self.category, self.category_ords),
            state: self.state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, brand: &str, category: &str, price: u64) -> IndexDoc {
        IndexDoc {
            id: Uuid::now_v7(),
            name: name.into(),
            brand: brand.into(),
            category: category.into(),
            description: String::new(),
            tags: vec![],
            sku: None,
            retail_price_krw: price,
            verified: false,
            raffle: None,
        }
    }

    fn payload() -> Payload {
        Payload {
            schema: SCHEMA_VERSION,
            horizon: 1,
            at: Utc::now(),
        }
    }

    fn indexed(docs: &[IndexDoc]) -> SearchIndex {
        let index = SearchIndex::in_memory();
        index.upsert(docs).unwrap();
        index.commit(payload()).unwrap();
        index
    }

    fn ids(index: &SearchIndex, req: SearchRequest) -> Vec<Uuid> {
        index
            .search(&SearchRequest { limit: 20, ..req }, Utc::now())
            .unwrap()
            .hits
            .iter()
            .map(|h| h.id)
            .collect()
    }

    fn text(q: &str) -> SearchRequest {
        SearchRequest {
            text: Some(q.into()),
            ..Default::default()
        }
    }

    #[test]
    fn korean_without_spaces_with_particles_and_english_typos_and_plurals() {
        let dunk = doc("나이키 덩크 로우 레트로 판다", "Nike", "sneakers", 129_000);
        let jordan = doc(
            "Air Jordan 1 Retro High OG Chicago",
            "Jordan",
            "sneakers",
            219_000,
        );
        let hoodie = doc(
            "Supreme Box Logo Hooded Sweatshirt",
            "Supreme",
            "apparel",
            198_000,
        );
        let index = indexed(&[dunk.clone(), jordan.clone(), hoodie.clone()]);
        assert_eq!(ids(&index, text("덩크로우")), [dunk.id]);
        assert_eq!(ids(&index, text("덩크를")), [dunk.id]);
        assert_eq!(ids(&index, text("jordna")), [jordan.id], "one typo");
        assert_eq!(ids(&index, text("JORDAN retro")), [jordan.id]);
        assert_eq!(ids(&index, text("sweatshirts")), [hoodie.id], "stemmed");
        assert!(
            ids(&index, text("조던")).is_empty(),
            "no Korean name, no match"
        );
        assert!(ids(&index, text("jxrdxn")).is_empty(), "two typos");
        assert!(ids(&index, text("\"(*&^ AND OR -- ]")).is_empty());
    }

    #[test]
    fn exact_names_rank_above_partial_matches_and_highlights_mark_them() {
        let low = doc("나이키 덩크 로우 판다", "Nike", "sneakers", 129_000);
        let high = doc("나이키 덩크 하이 판다", "Nike", "sneakers", 139_000);
        let index = indexed(&[high.clone(), low.clone()]);
        let results = index.search(&text("덩크 로우"), Utc::now()).unwrap();
        assert_eq!(results.hits[0].id, low.id);
        assert_eq!(
            results.hits[0].name_html,
            "나이키 <mark>덩크</mark> <mark>로우</mark> 판다"
        );
        assert!(results.hits[0].score > results.hits.get(1).map_or(0.0, |h| h.score));
    }

    #[test]
    fn filters_sorts_and_facets() {
        let mut a = doc("덩크 로우 A", "Nike", "sneakers", 100_000);
        a.verified = true;
        let b = doc("덩크 로우 B", "NIKE", "sneakers", 300_000);
        let c = doc("덩크 로우 C", "Adidas", "apparel", 200_000);
        let index = indexed(&[a.clone(), b.clone(), c.clone()]);
        let by = |req: SearchRequest| ids(&index, req);
        assert_eq!(
            by(SearchRequest {
                brand: Some("nike".into()),
                sort: Sort::PriceAsc,
                ..text("덩크")
            }),
            [a.id, b.id],
            "brand in any case"
        );
        assert_eq!(
            by(SearchRequest {
                min_price: Some(150_000),
                max_price: Some(300_000),
                sort: Sort::PriceDesc,
                ..Default::default()
            }),
            [b.id, c.id]
        );
        assert_eq!(
            by(SearchRequest {
                verified_only: true,
                ..Default::default()
            }),
            [a.id]
        );
        assert_eq!(
            by(SearchRequest {
                category: Some("Apparel".into()),
                ..Default::default()
            }),
            [c.id]
        );
        // Newest first without text (ids are UUIDv7).
        assert_eq!(by(SearchRequest::default()), [c.id, b.id, a.id]);
        let results = index.search(&text("덩크"), Utc::now()).unwrap();
        assert_eq!(results.total, 3);
        let brands: Vec<_> = results
            .facets
            .brand
            .iter()
            .map(|f| (f.value.as_str(), f.count))
            .collect();
        assert_eq!(brands, [("Adidas", 1), ("NIKE", 1), ("Nike", 1)]);
        assert_eq!(results.facets.category[0].value, "sneakers");
        assert_eq!(results.facets.category[0].count, 2);
        assert_eq!(results.facets.raffle_state[0].value, "none");
        assert_eq!(results.facets.raffle_state[0].count, 3);
    }

    #[test]
    fn raffle_states_follow_the_clock() {
        let now = Utc::now();
        let hours = |h: i64| now + chrono::Duration::hours(h);
        let raffle = |stage: &str, opens: i64, closes: i64| {
            Some(IndexRaffle {
                stage: serde_json::from_value(serde_json::json!(stage)).unwrap(),
                opens_at: hours(opens),
                closes_at: hours(closes),
            })
        };
        let mut open = doc("open", "x", "c", 1);
        open.raffle = raffle("committed", -1, 5);
        let mut soon = doc("closing first", "x", "c", 1);
        soon.raffle = raffle("committed", -1, 2);
        let mut scheduled = doc("scheduled", "x", "c", 1);
        scheduled.raffle = raffle("committed", 3, 9);
        let mut unconfirmed = doc("commit pending", "x", "c", 1);
        unconfirmed.raffle = raffle("committing", -1, 9);
        let mut past = doc("closed by time", "x", "c", 1);
        past.raffle = raffle("committed", -9, -1);
        let mut drawn = doc("drawn", "x", "c", 1);
        drawn.raffle = raffle("drawn", -9, -1);
        let none = doc("none", "x", "c", 1);
        let index = indexed(&[
            open.clone(),
            soon.clone(),
            scheduled.clone(),
            unconfirmed.clone(),
            past.clone(),
            drawn.clone(),
            none.clone(),
        ]);
        let state = |s: &str| {
            let mut got = ids(
                &index,
                SearchRequest {
                    raffle_state: parse_state(s),
                    ..Default::default()
                },
            );
            got.sort();
            got
        };
        let sorted = |mut v: Vec<Uuid>| {
            v.sort();
            v
        };
        assert_eq!(state("open"), sorted(vec![open.id, soon.id]));
        assert_eq!(
            state("scheduled"),
            sorted(vec![scheduled.id, unconfirmed.id])
        );
        assert_eq!(state("closed"), [past.id]);
        assert_eq!(state("drawn"), [drawn.id]);
        assert_eq!(state("none"), [none.id]);
        let closing = ids(
            &index,
            SearchRequest {
                sort: Sort::ClosingSoon,
                ..Default::default()
            },
        );
        // Open ones closing first, then scheduled ones opening first.
        assert_eq!(
            &closing[..4],
            [soon.id, open.id, unconfirmed.id, scheduled.id]
        );
        let facets = index.search(&SearchRequest::default(), now).unwrap().facets;
        let count = |s: &str| {
            facets
                .raffle_state
                .iter()
                .find(|f| f.value == s)
                .map_or(0, |f| f.count)
        };
        assert_eq!(
            (count("open"), count("scheduled"), count("closed")),
            (2, 2, 1)
        );
    }

    #[test]
    fn upserts_replace_and_deletes_remove() {
        let mut p = doc("나이키 덩크 로우", "Nike", "sneakers", 1);
        let index = indexed(std::slice::from_ref(&p));
        p.name = "조던 1 레트로 하이".into();
        index.upsert(std::slice::from_ref(&p)).unwrap();
        index.commit(payload()).unwrap();
        assert!(ids(&index, text("덩크")).is_empty());
        assert_eq!(ids(&index, text("조던")), [p.id]);
        assert_eq!(index.num_docs(), 1);
        index.delete(&[p.id]);
        index.commit(payload()).unwrap();
        assert_eq!(index.num_docs(), 0);
    }

    #[test]
    fn a_missing_corrupt_or_older_index_is_recreated_and_a_good_one_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let (index, opened) = SearchIndex::open(&path).unwrap();
        assert!(matches!(opened, Opened::Created(_)));
        let p = doc("덩크", "Nike", "sneakers", 1);
        index.upsert(std::slice::from_ref(&p)).unwrap();
        index.commit(payload()).unwrap();
        // A second process cannot take the directory while the first holds it.
        let busy = SearchIndex::open(&path)
            .err()
            .expect("the directory is locked");
        assert!(format!("{busy:#}").contains("in use by another process"));
        drop(index);

        let (index, opened) = SearchIndex::open(&path).unwrap();
        assert_eq!(opened, Opened::Existing(index.payload().unwrap().unwrap()));
        assert_eq!(index.num_docs(), 1);
        drop(index);

        std::fs::write(path.join("meta.json"), b"{ not json").unwrap();
        let (index, opened) = SearchIndex::open(&path).unwrap();
        assert!(matches!(opened, Opened::Created(ref r) if r.contains("could not be read")));
        assert_eq!(index.num_docs(), 0);
        index
            .commit(Payload {
                schema: SCHEMA_VERSION + 1,
                ..payload()
            })
            .unwrap();
        drop(index);
        let (_, opened) = SearchIndex::open(&path).unwrap();
        assert!(matches!(opened, Opened::Created(ref r) if r.contains("schema version")));
    }
}
