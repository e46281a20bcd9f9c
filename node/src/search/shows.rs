//! Finding shows by their words: title, performers, hall and description, and the words of their
//! date ("friday", "dec", "december", "4", "2026", "2026-12-04"). A venue has hundreds or thousands
//! of shows, not millions of tickets, so a query is matched against each listed show rather than
//! through the index; the words are cut as the index cuts them (lowercased, accents folded), and
//! every word of the query must begin a word of the show.

use tantivy::tokenizer::TokenStream;

use tix_core::shows::Show;
use tix_core::time::Millis;

use super::schema::analyzer;

const WEEKDAYS: [&str; 7] = [
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

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

/// The weekday, month (name and number), day (with and without its zero) and year of an instant
/// (UTC, as the API shows times); a query "2026-12-04" is the words 2026, 12 and 04.
fn date_words(at: Millis) -> Vec<String> {
    let days = (at.0 / 86_400_000) as i64;
    let weekday = WEEKDAYS[(days % 7) as usize];
    let iso = at.to_iso();
    let (year, month, day) = (&iso[0..4], &iso[5..7], &iso[8..10]);
    let month_name = month
        .parse::<usize>()
        .ok()
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or_default();
    vec![
        weekday.to_owned(),
        month_name.to_owned(),
        month.to_owned(),
        day.to_owned(),
        day.trim_start_matches('0').to_owned(),
        year.to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_has_its_weekday_month_day_year_and_iso_words() {
        // 2026-12-04 is a Friday.
        let at = Millis::parse_iso("2026-12-04T20:00:00Z").unwrap();
        assert_eq!(
            date_words(at),
            vec!["friday", "december", "12", "04", "4", "2026"]
        );
        let at = Millis::parse_iso("1970-01-01T00:00:00Z").unwrap();
        assert_eq!(date_words(at)[0], "thursday");
    }

    #[test]
    fn query_words_are_cut_and_folded_as_the_index_does() {
        assert_eq!(
            ShowQuery::parse("Zoë  JAZZ-night").0,
            vec!["zoe", "jazz", "night"]
        );
    }
}
