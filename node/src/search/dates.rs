//! The words of a date, so that a buyer can type the day: weekday, month (name and number), day
//! of the month (with and without its zero) and year, of the UTC day (as the API shows times).

use tix_core::time::Millis;

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

/// The weekday, month (name and number), day (with and without its zero) and year of an instant
/// (UTC, as the API shows times); a query "2026-12-04" is the words 2026, 12 and 04.
pub(super) fn date_words(at: Millis) -> Vec<String> {
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
    fn a_date_has_its_weekday_month_day_and_year_words() {
        // 2026-12-04 is a Friday.
        let at = Millis::parse_iso("2026-12-04T20:00:00Z").unwrap();
        assert_eq!(
            date_words(at),
            vec!["friday", "december", "12", "04", "4", "2026"]
        );
        let at = Millis::parse_iso("1970-01-01T00:00:00Z").unwrap();
        assert_eq!(date_words(at)[0], "thursday");
    }
}
