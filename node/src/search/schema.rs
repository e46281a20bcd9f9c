//! What the search index holds for a ticket, and how its text is cut into words.

use tantivy::Index;
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tix_core::ids::TicketId;

/// Bumped whenever the fields or the tokenizer change: an index of another version is rebuilt.
pub(crate) const VERSION: u32 = 5;
/// The tokenizer of every text field: words, lowercased, accents folded ("Zoë" finds "zoe").
pub(crate) const TOKENIZER: &str = "tix_words";
/// Name of the listing field (fast fields are read by name).
pub(crate) const LISTING: &str = "listing";
/// Names of the price and id fast fields: a hit's id is read from these, not from the document
/// store (which would decompress a block of documents per hit).
pub(crate) const PRICE: &str = "price";
pub(crate) const ID_HIGH: &str = "id_high";
pub(crate) const ID_LOW: &str = "id_low";

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    /// The ticket id as text: the term a change deletes the old document by.
    pub(crate) id: Field,
    /// The id's first 4 bytes and its last 8, as numbers.
    pub(crate) id_high: Field,
    pub(crate) id_low: Field,
    pub(crate) title: Field,
    /// Show, venue, seat: whatever else describes the ticket.
    pub(crate) details: Field,
    pub(crate) price: Field,
    /// The ticket's listing position: the key of the availability bitmap (availability changes
    /// with every lock and release, far too often to rewrite documents for).
    pub(crate) listing: Field,
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: builder.add_text_field("id", STRING),
        id_high: builder.add_u64_field(ID_HIGH, FAST),
        id_low: builder.add_u64_field(ID_LOW, FAST),
        title: builder.add_text_field("title", text.clone()),
        details: builder.add_text_field("details", text),
        price: builder.add_f64_field(PRICE, FAST),
        listing: builder.add_u64_field(LISTING, FAST),
    };
    (builder.build(), fields)
}

/// Registers our tokenizer; every opened index needs it.
pub(crate) fn register_tokenizer(index: &Index) {
    index.tokenizers().register(TOKENIZER, analyzer());
}

/// How text is cut into words: by the index, and by the search of shows.
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The fields of an index opened from disk, if it has exactly our schema.
pub(crate) fn fields_of(index: &Index) -> Option<Fields> {
    let (expected, fields) = schema();
    (index.schema() == expected).then_some(fields)
}

/// A ticket id as the two numbers the index keeps of it.
pub(crate) fn id_parts(id: TicketId) -> (u64, u64) {
    let bytes = id.as_bytes();
    let mut high = [0u8; 8];
    high[4..].copy_from_slice(&bytes[..4]);
    let low: [u8; 8] = bytes[4..].try_into().expect("12 bytes are 4 then 8");
    (u64::from_be_bytes(high), u64::from_be_bytes(low))
}

/// The ticket id `id_parts` gave these numbers for.
pub(crate) fn id_of(high: u64, low: u64) -> TicketId {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&high.to_be_bytes()[4..]);
    bytes[4..].copy_from_slice(&low.to_be_bytes());
    TicketId::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_survives_its_two_numbers() {
        let id: TicketId = "5f8d0d55b54764421c0000a7".parse().unwrap();
        let (high, low) = id_parts(id);
        assert_eq!(id_of(high, low), id);
    }
}
