//! Turning what a buyer typed into a ranked tantivy query, and the hits into tickets.
//!
//! Every word must match somewhere. A word matches the title or the details exactly, or within a
//! typo or two (one from 4 letters, two from 8); the last word also matches as a prefix, since the
//! buyer may still be typing. Title matches weigh more than the others.

use std::ops::Bound;

use tantivy::collector::{FilterCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::tokenizer::TokenStream;
use tantivy::{DocAddress, Score, Searcher, TantivyDocument, Term};

use tix_core::ids::TicketId;
use tix_core::tickets::Ticket;

use super::availability::Availability;
use super::engine::Engine;
use super::schema::{Fields, LISTING};
use crate::stores::Stores;

/// Words of a query beyond this are ignored.
const MAX_WORDS: usize = 8;

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
    // Exact words (and the last as a prefix) first; typo tolerance, whose automata cost more, only
    // when that finds too little. Exact matches outrank typo matches either way.
    let searcher = engine.reader.searcher();
    let exact = query(&searcher, fields, &words, request, false)?;
    let mut top = collect(&searcher, available, &exact, request)?;
    let wanted = request.offset + request.limit;
    if top.len() < wanted && words.iter().any(|w| typos(w) > 0) {
        let tolerant = query(&searcher, fields, &words, request, true)?;
        top = collect(&searcher, available, &tolerant, request)?;
    }
    let mut hits = Vec::with_capacity(top.len());
    for (score, address) in top {
        let doc: TantivyDocument = searcher.doc(address)?;
        let Some(id) = doc
            .get_first(fields.id)
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<TicketId>().ok())
        else {
            continue;
        };
        // The store is the truth: the hit shows the ticket as it is now, and a ticket locked since
        // the index last caught up is not offered as available.
        let Some(ticket) = stores.tickets.get(id)? else {
            continue;
        };
        if request.available_only && ticket.order_id.is_some() {
            continue;
        }
        hits.push(Hit { ticket, score });
    }
    Ok(hits)
}

/// Every word must match; then the filters.
fn query(
    searcher: &Searcher,
    fields: &Fields,
    words: &[String],
    request: &SearchRequest,
    typos: bool,
) -> tantivy::Result<BooleanQuery> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (n, word) in words.iter().enumerate() {
        let last = n + 1 == words.len();
        clauses.push((
            Occur::Must,
            word_query(searcher, fields, word, last, typos)?,
        ));
    }
    if request.min_price.is_some() || request.max_price.is_some() {
        let bound = |price: Option<f64>| match price {
            Some(p) => Bound::Included(Term::from_field_f64(fields.price, p)),
            None => Bound::Unbounded,
        };
        clauses.push((
            Occur::Must,
            Box::new(RangeQuery::new(
                bound(request.min_price),
                bound(request.max_price),
            )),
        ));
    }
    if clauses.is_empty() {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Ok(BooleanQuery::new(clauses))
}

/// The page of best matches, of available tickets only if asked.
fn collect(
    searcher: &Searcher,
    available: &Availability,
    query: &BooleanQuery,
    request: &SearchRequest,
) -> Result<Vec<(Score, DocAddress)>, SearchError> {
    let top = TopDocs::with_limit(request.limit)
        .and_offset(request.offset)
        .order_by_score();
    let found = if request.available_only {
        let snapshot = available.snapshot();
        let filtered = FilterCollector::new(
            LISTING.to_owned(),
            move |listing: u64| snapshot.contains(listing),
            top,
        );
        searcher.search(query, &filtered)?
    } else {
        searcher.search(query, &top)?
    };
    Ok(found)
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

/// The clauses one word contributes. Only terms the index holds become term clauses (a clause on
/// an absent term costs nothing but keeps a union alive); a complete word of four letters or more
/// that the field holds is taken as typed to the end, so the prefix expansion (an automaton over the
/// term dictionary and a bitset of its documents) is spent only on short or unfinished words.
fn word_query(
    searcher: &Searcher,
    fields: &Fields,
    word: &str,
    last: bool,
    with_typos: bool,
) -> tantivy::Result<Box<dyn Query>> {
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let distance = if with_typos { typos(word) } else { 0 };
    for (field, weight) in [(fields.title, 3.0f32), (fields.details, 1.0)] {
        let term = Term::from_field_text(field, word);
        let known = searcher.doc_freq(&term)? > 0;
        if known {
            let exact = TermQuery::new(term.clone(), IndexRecordOption::WithFreqs);
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(exact), 2.0 * weight)),
            ));
        }
        if distance > 0 {
            let fuzzy = FuzzyTermQuery::new(term.clone(), distance, true);
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(fuzzy), weight)),
            ));
        }
        let finished = known && word.chars().count() >= 4;
        if last && (!finished || distance > 0) {
            let prefix = FuzzyTermQuery::new_prefix(term, distance.min(1), true);
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(prefix), weight)),
            ));
        }
    }
    Ok(match should.len() {
        1 => should.pop().expect("one clause").1,
        _ => Box::new(BooleanQuery::new(should)),
    })
}

#[cfg(test)]
mod tests {
    use super::typos;

    #[test]
    fn longer_words_allow_more_typos() {
        assert_eq!((typos("jazz"), typos("abc"), typos("swiftest")), (1, 0, 2));
    }
}
