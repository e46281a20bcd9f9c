//! The pass code's round trip and every way a code is refused.

use proptest::prelude::*;

use super::*;

fn key(n: u8) -> PassKey {
    PassKey::from_seed([n; 32])
}

fn pass() -> Pass {
    Pass {
        ticket: TicketId::from_bytes([1; 12]),
        order: OrderId::from_bytes([2; 12]),
        scope: Scope::Show {
            show: ShowId::from_bytes([3; 12]),
            unit: 417,
        },
        window: Window {
            from: Millis(1_790_000_000_000),
            until: Some(Millis(1_790_050_000_000)),
        },
    }
}

fn bytes_of(code: &str) -> Vec<u8> {
    data_encoding::BASE32_NOPAD
        .decode(&code.as_bytes()[PREFIX.len()..])
        .unwrap()
}

fn code_of(bytes: &[u8]) -> String {
    format!("{PREFIX}{}", data_encoding::BASE32_NOPAD.encode(bytes))
}

#[test]
fn a_signed_pass_reads_back_as_it_was_signed() {
    let key = key(7);
    let code = key.sign(&pass());
    assert!(code.starts_with("TIX2:"));
    assert_eq!(code.len(), PREFIX.len() + 189);
    assert!(
        code[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
        "{code}"
    );
    assert_eq!(key.verifier().verify(&code), Ok(pass()));
    assert_eq!(key.sign(&pass()), code, "signing is deterministic");
}

#[test]
fn a_listing_without_an_end_reads_back_too() {
    let key = key(7);
    let listing = Pass {
        scope: Scope::Listing,
        window: Window::ALWAYS,
        ..pass()
    };
    assert_eq!(key.verifier().verify(&key.sign(&listing)), Ok(listing));
}

#[test]
fn times_are_kept_in_whole_seconds() {
    let key = key(7);
    let mut odd = pass();
    odd.window.from = Millis(1_790_000_000_999);
    let read = key.verifier().verify(&key.sign(&odd)).unwrap();
    assert_eq!(read.window.from, Millis(1_790_000_000_000));
    assert_eq!(read, odd.rounded());
}

#[test]
fn a_scanner_may_type_it_in_small_letters_with_an_enter() {
    let key = key(7);
    let code = format!(" {}\r\n", key.sign(&pass()).to_ascii_lowercase());
    assert_eq!(key.verifier().verify(&code), Ok(pass()));
}

#[test]
fn another_venues_pass_is_refused_by_key() {
    let ours = key(7);
    let theirs = key(8);
    let code = theirs.sign(&pass());
    assert!(matches!(
        ours.verifier().verify(&code),
        Err(PassError::OtherKey(k, o)) if k == theirs.verifier().id() && o == ours.verifier().id()
    ));
}

#[test]
fn a_pass_signed_by_another_key_under_our_key_id_is_refused_by_signature() {
    let ours = key(7);
    let theirs = key(8);
    let mut bytes = bytes_of(&theirs.sign(&pass()));
    bytes[1..5].copy_from_slice(&ours.verifier().id().0);
    assert_eq!(
        ours.verifier().verify(&code_of(&bytes)),
        Err(PassError::Signature)
    );
}

#[test]
fn malformed_codes_say_what_is_wrong() {
    let key = key(7);
    let verifier = key.verifier();
    let code = key.sign(&pass());
    assert_eq!(verifier.verify(""), Err(PassError::Prefix));
    assert_eq!(
        verifier.verify("TIX1:0123456789abcdef01234567:0123456789abcdef01234567"),
        Err(PassError::Prefix)
    );
    assert_eq!(
        verifier.verify("TIX2:not base32!"),
        Err(PassError::Encoding)
    );
    let truncated = code_of(&bytes_of(&code)[..100]);
    assert_eq!(verifier.verify(&truncated), Err(PassError::Length(100)));
    let mut future = bytes_of(&code);
    future[0] = 2;
    assert_eq!(
        verifier.verify(&code_of(&future)),
        Err(PassError::Version(2))
    );
}

#[test]
fn the_public_key_round_trips_through_hex() {
    let key = key(7);
    let copy = PassVerifier::from_hex(&key.verifier().public_hex()).unwrap();
    assert_eq!(copy.id(), key.verifier().id());
    assert_eq!(copy.verify(&key.sign(&pass())), Ok(pass()));
    assert!(PassVerifier::from_hex("zz").is_none());
}

proptest! {
    /// Any change to any bit of a code's bytes is refused, whatever it touches.
    #[test]
    fn every_altered_bit_is_refused(bit in 0usize..(LEN * 8)) {
        let key = key(7);
        let mut bytes = bytes_of(&key.sign(&pass()));
        bytes[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(key.verifier().verify(&code_of(&bytes)).is_err());
    }
}
