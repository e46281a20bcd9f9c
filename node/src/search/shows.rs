//! Finding shows by their words: title, performers, hall and description, and the words of their
//! date ("friday", "dec", "december", "4", "2026", "2026-12-04"). A venue has hundreds or thousands
//! of shows, not millions of tickets, so a query is matched against each listed show rather than
//! through the index; the words are cut as the index cuts them (lowercased, accents folded), and
//! every word of the query must begin a word of the show.

use tantivy::tokenizer::TokenStream;

use super::dates::date_words;
use super::schema::analyzer;
use tix_core::shows::Show;

/// The words of a search of shows.
pub struct ShowQuery(Vec<String>);

impl ShowQuery {
    pub fn parse(text: &str) -> ShowQuery {
        ShowQuery(words(text))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every word of the query begins a word of `show`.
    pub fn matches(&self, show: &Show) -> bool {
        let d = &show.details;
        let mut text = vec![d.title.clone(), d.hall.clone(), d.description.clone()];
        text.extend(d.performers.iter().cloned());
        let mut known: Vec<String> = text.iter().flat_map(|t| words(t)).collect();
        known.extend(date_words(show.starts_at()));
        self.0
            .iter()
            .all(|word| known.iter().any(|k| k.starts_with(word.as_str())))
    }
}

fn words(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut words = Vec::new();
    while stream.advance() {
        words.push(stream.token().text.clone());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_are_cut_and_folded_as_the_index_does() {
        assert_eq!(
            ShowQuery::parse("Zoë  JAZZ-night").0,
            vec!["zoe", "jazz", "night"]
        );
    }
}
