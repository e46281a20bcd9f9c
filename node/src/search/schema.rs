//! What the search index holds for a ticket, and how its text is cut into words.

use tantivy::Index;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};

/// Bumped whenever the fields or the tokenizer change: an index of another version is rebuilt.
pub(crate) const VERSION: u32 = 4;
/// The tokenizer of every text field: words, lowercased, accents folded ("Zoë" finds "zoe").
pub(crate) const TOKENIZER: &str = "tix_words";
/// Name of the listing field (collectors find fast fields by name).
pub(crate) const LISTING: &str = "listing";

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub(crate) id: Field,
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
        id: builder.add_text_field("id", STRING | STORED),
        title: builder.add_text_field("title", text.clone()),
        details: builder.add_text_field("details", text),
        price: builder.add_f64_field("price", INDEXED | FAST),
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
