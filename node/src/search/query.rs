//! Turning what a buyer typed into a tantivy query, and the best matches into tickets.
//!
//! Every word must match somewhere. A word matches the title or the details exactly, or within a
//! typo or two (one from 4 letters, two from 8); the last word also matches as a prefix, since the
//! buyer may still be typing. Each way of matching scores a fixed amount (an exact word in the title
//! most), a word scores its best way, and a ticket the sum over the words.
//!
//! Scores are fixed so that a query knows the best score any ticket can reach. The matches are read
//! in index order, and the query stops as soon as a page of available tickets all have that score:
//! for the common queries (words of the titles, typed out or being typed) the work is a page's worth
//! of matches, whatever the size of the index. Prefixes and typos are expanded into the terms of the
//! index they stand for (the most frequent first, at most `MAX_EXPANSIONS`), whose postings are read
//! lazily like a typed word's, instead of a bitset over every document that tantivy's automaton
//! queries build.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, DisjunctionMaxQuery, EnableScoring, FuzzyTermQuery,
    Occur, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TokenStream;
use tantivy::{DocId, DocSet, Score, Searcher, TERMINATED, Term};

use tix_core::ids::TicketId;
use tix_core::tickets::Ticket;

use super::availability::{Availability, View};
use super::engine::Engine;
use super::schema::{self, Fields, ID_HIGH, ID_LOW, LISTING, PRICE};
use crate::stores::Stores;

/// Words of a query beyond this are ignored.
const MAX_WORDS: usize = 8;
/// Most index terms a prefix or a word with typos stands for.
const MAX_EXPANSIONS: usize = 32;
/// What a word scores by how it matched, in the title; the details score a third of it.
const EXACT: Score = 6.0;
const NEAR: Score = 3.0;
const DETAILS_SHARE: Score = 3.0;
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub text: String,
    pub available_only: bool,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    pub limit: usize,
    pub offset: usize,
}

/// A matching ticket, as the store has it now, and how well it matched.
#[derive(Debug, Clone)]
pub struct Hit {
    pub ticket: Ticket,
    pub score: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("Search is warming up; try again in a moment")]
    WarmingUp,
    #[error("the node is shutting down")]
    Stopping,
    #[error("search index failed: {0}")]
    Index(String),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError::Index(e.to_string())
    }
}

impl From<redb::Error> for SearchError {
    fn from(e: redb::Error) -> Self {
        SearchError::Index(e.to_string())
    }
}

pub(super) fn run(
    engine: &Engine,
    available: &Availability,
    stores: &Stores,
    request: &SearchRequest,
) -> Result<Vec<Hit>, SearchError> {
    let fields = &engine.fields;
    let words = words(engine, &request.text)?;
    if words.is_empty() && !request.text.trim().is_empty() {
        return Ok(Vec::new()); // only punctuation or symbols: nothing to look for
    }
    // Exact words (and the last as a prefix) first; typo tolerance only when that finds too little.
    // Exact matches outrank typo matches either way.
    let searcher = engine.reader.searcher();
    let view = request.available_only.then(|| available.read());
    let filter = Filter {
        available: view.as_ref(),
        min_price: request.min_price,
        max_price: request.max_price,
    };
    let wanted = request.offset + request.limit;
    let mut top = match Plan::new(&searcher, fields, &words, false)? {
        Some(plan) => plan.best(&searcher, &filter, wanted)?,
        None => Vec::new(),
    };
    if top.len() < wanted
        && words.iter().any(|w| typos(w) > 0)
        && let Some(plan) = Plan::new(&searcher, fields, &words, true)?
    {
        top = plan.best(&searcher, &filter, wanted)?;
    }
    let page: Vec<(Score, TicketId)> = top.into_iter().skip(request.offset).collect();
    // The store is the truth, read in one snapshot: the hit shows the ticket as it is now, and a
    // ticket locked since the index last caught up is not offered as available.
    let ids: Vec<TicketId> = page.iter().map(|(_, id)| *id).collect();
    let tickets = stores.tickets.get_many(&ids)?;
    Ok(page
        .into_iter()
        .zip(tickets)
        .filter_map(|((score, _), ticket)| ticket.map(|ticket| Hit { ticket, score }))
        .filter(|hit| !request.available_only || hit.ticket.order_id.is_none())
        .collect())
}

/// What a match must also be: available (when asked), within the price range.
struct Filter<'a> {
    available: Option<&'a View<'a>>,
    min_price: Option<f64>,
    max_price: Option<f64>,
}

/// A query and the best score a ticket can reach with it.
struct Plan {
    query: Box<dyn Query>,
    best: Score,
}

/// A match kept for the page: better is a higher score, then earlier in the index.
struct Found {
    score: Score,
    at: (usize, DocId),
    id: TicketId,
}

impl PartialEq for Found {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Found {}

impl PartialOrd for Found {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Found {
    /// The greatest is the worst: what the heap of the page gives up first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.at.cmp(&other.at))
    }
}

impl Plan {
    /// Every word must match; `None` when one of them cannot match anything.
    fn new(
        searcher: &Searcher,
        fields: &Fields,
        words: &[String],
        with_typos: bool,
    ) -> tantivy::Result<Option<Plan>> {
        if words.is_empty() {
            return Ok(Some(Plan {
                query: Box::new(AllQuery),
                best: 1.0,
            }));
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut best = 0.0;
        for (n, word) in words.iter().enumerate() {
            let last = n + 1 == words.len();
            let Some((query, score)) = word_query(searcher, fields, word, last, with_typos)? else {
                return Ok(None);
            };
            clauses.push((Occur::Must, query));
            best += score;
        }
        let query: Box<dyn Query> = match clauses.len() {
            1 => clauses.pop().expect("one clause").1,
            _ => Box::new(BooleanQuery::new(clauses)),
        };
        Ok(Some(Plan { query, best }))
    }

    /// The best `wanted` matches that pass `filter`, best first, with their ticket ids.
    fn best(
        &self,
        searcher: &Searcher,
        filter: &Filter<'_>,
        wanted: usize,
    ) -> tantivy::Result<Vec<(Score, TicketId)>> {
        let weight = self
            .query
            .weight(EnableScoring::enabled_from_searcher(searcher))?;
        let mut page: BinaryHeap<Found> = BinaryHeap::with_capacity(wanted + 1);
        'segments: for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let fast = segment.fast_fields();
            let (listing, price) = (fast.u64(LISTING)?, fast.f64(PRICE)?);
            let (high, low) = (fast.u64(ID_HIGH)?, fast.u64(ID_LOW)?);
            let alive = segment.alive_bitset();
            let mut scorer = weight.scorer(segment, 1.0)?;
            let mut doc = scorer.doc();
            while doc != TERMINATED {
                let passes = alive.is_none_or(|a| a.is_alive(doc))
                    && filter
                        .available
                        .is_none_or(|map| listing.first(doc).is_some_and(|l| map.contains(l)))
                    && price.first(doc).is_some_and(|p| {
                        filter.min_price.is_none_or(|min| p >= min)
                            && filter.max_price.is_none_or(|max| p <= max)
                    });
                if passes {
                    let score = scorer.score();
                    let full = page.len() >= wanted;
                    if !full || page.peek().is_some_and(|worst| score > worst.score) {
                        let id = match (high.first(doc), low.first(doc)) {
                            (Some(h), Some(l)) => schema::id_of(h, l),
                            _ => {
                                doc = scorer.advance();
                                continue;
                            }
                        };
                        page.push(Found {
                            score,
                            at: (ord, doc),
                            id,
                        });
                        if page.len() > wanted {
                            page.pop();
                        }
                        // Nothing later can beat a full page of best scores (ties go to the
                        // earlier match).
                        if page.len() >= wanted
                            && page.peek().is_some_and(|worst| worst.score >= self.best)
                        {
                            break 'segments;
                        }
                    }
                }
                doc = scorer.advance();
            }
        }
        Ok(page
            .into_sorted_vec()
            .into_iter()
            .map(|found| (found.score, found.id))
            .collect())
    }
}

/// The query's words, cut and normalised by the index's own tokenizer.
fn words(engine: &Engine, text: &str) -> Result<Vec<String>, SearchError> {
    let mut analyzer = engine.index.tokenizer_for_field(engine.fields.title)?;
    let mut stream = analyzer.token_stream(text);
    let mut words = Vec::new();
    while words.len() < MAX_WORDS && stream.advance() {
        words.push(stream.token().text.clone());
    }
    Ok(words)
}

/// How many typos a word of this length may carry.
fn typos(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// The ways one word may match, and the best it can score; `None` if it can match nothing. A
/// complete word of four letters or more that the field holds is taken as typed to the end, so the
/// prefix expansion is spent only on short or unfinished words.
fn word_query(
    searcher: &Searcher,
    fields: &Fields,
    word: &str,
    last: bool,
    with_typos: bool,
) -> tantivy::Result<Option<(Box<dyn Query>, Score)>> {
    let mut ways: Vec<(Box<dyn Query>, Score)> = Vec::new();
    let distance = if with_typos { typos(word) } else { 0 };
    for (field, share) in [(fields.title, 1.0), (fields.details, 1.0 / DETAILS_SHARE)] {
        let term = Term::from_field_text(field, word);
        let known = searcher.doc_freq(&term)? > 0;
        if known {
            let exact = TermQuery::new(term.clone(), IndexRecordOption::Basic);
            ways.push((Box::new(exact), EXACT * share));
        }
        if distance > 0 {
            let fuzzy = FuzzyTermQuery::new(term.clone(), distance, true);
            let terms = expand(searcher, field, &fuzzy)?;
            if !terms.is_empty() {
                ways.push((any_of(terms), NEAR * share));
            }
        }
        let finished = known && word.chars().count() >= 4;
        if last && (!finished || distance > 0) {
            let prefix = FuzzyTermQuery::new_prefix(term, distance.min(1), true);
            let terms = expand(searcher, field, &prefix)?;
            if !terms.is_empty() {
                ways.push((any_of(terms), NEAR * share));
            }
        }
    }
    let best = ways.iter().map(|(_, score)| *score).fold(0.0, Score::max);
    let scored: Vec<Box<dyn Query>> = ways
        .into_iter()
        .map(|(query, score)| Box::new(ConstScoreQuery::new(query, score)) as Box<dyn Query>)
        .collect();
    Ok(match scored.len() {
        0 => None,
        1 => scored.into_iter().next().map(|q| (q, best)),
        // A word scores its best way of matching, not the sum of them.
        _ => Some((Box::new(DisjunctionMaxQuery::new(scored)), best)),
    })
}

/// The terms of `field` that `query`'s automaton accepts, the most frequent first.
fn expand(searcher: &Searcher, field: Field, query: &FuzzyTermQuery) -> tantivy::Result<Vec<Term>> {
    let automaton = query.automaton()?;
    let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
    for segment in searcher.segment_readers() {
        let index = segment.inverted_index(field)?;
        let mut terms = index.terms().search(&automaton).into_stream()?;
        while terms.advance() {
            *found.entry(terms.key().to_vec()).or_default() += u64::from(terms.value().doc_freq);
        }
    }
    let mut found: Vec<(Vec<u8>, u64)> = found.into_iter().collect();
    found.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(found
        .into_iter()
        .take(MAX_EXPANSIONS)
        .filter_map(|(bytes, _)| {
            let text = std::str::from_utf8(&bytes).ok()?;
            Some(Term::from_field_text(field, text))
        })
        .collect())
}

/// The query that matches any of `terms` (there is at least one).
fn any_of(terms: Vec<Term>) -> Box<dyn Query> {
    let mut any: Vec<(Occur, Box<dyn Query>)> = terms
        .into_iter()
        .map(|term| {
            let query: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
            (Occur::Should, query)
        })
        .collect();
    match any.len() {
        1 => any.pop().expect("one term").1,
        _ => Box::new(BooleanQuery::new(any)),
    }
}

#[cfg(test)]
mod tests {
    use super::typos;

    #[test]
    fn longer_words_allow_more_typos() {
        assert_eq!((typos("jazz"), typos("abc"), typos("swiftest")), (1, 0, 2));
    }
}
