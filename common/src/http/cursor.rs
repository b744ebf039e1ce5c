//! Page cursors a client can hand back but not forge or carry to another customer: the page's
//! position, signed (HMAC-SHA-256) with the service's cursor key over the listing's name and
//! the caller's id. A cursor only ever holds a position in the caller's own list.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Bytes of the tag kept in a cursor: 128 bits, far beyond guessing.
const TAG_BYTES: usize = 16;

/// The secret cursors are signed with: the same in every instance of the service, so a
/// cursor from one answer works on the next request wherever it lands.
pub struct CursorKey(hmac::Key);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("CursorKey(…)")
    }
}

impl CursorKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    fn tag(&self, listing: &str, owner: &str, position: &[u8]) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.0);
        for part in [listing.as_bytes(), owner.as_bytes()] {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        context.update(position);
        context.sign()
    }

    /// The cursor of `position` in `owner`'s `listing`.
    pub fn seal(&self, listing: &str, owner: &str, position: &[u8]) -> String {
        let tag = self.tag(listing, owner, position);
        format!("{}.{}", URL_SAFE_NO_PAD.encode(position), URL_SAFE_NO_PAD.encode(&tag.as_ref()[..TAG_BYTES]))
    }

    /// The position in a cursor this key sealed for `owner`'s `listing`; `None` for anything
    /// else (forged, altered, or sealed for another customer or listing).
    pub fn open(&self, listing: &str, owner: &str, cursor: &str) -> Option<Vec<u8>> {
        let (position, tag) = cursor.split_once('.')?;
        let position = URL_SAFE_NO_PAD.decode(position).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let expected = self.tag(listing, owner, &position);
        // Constant time: the comparison must not tell how much of a forged tag was right.
        let matches = tag.len() == TAG_BYTES
            && aws_lc_rs::constant_time::verify_slices_are_equal(&expected.as_ref()[..TAG_BYTES], &tag).is_ok();
        matches.then_some(position)
    }
}

#[cfg(test)]
mod tests {
    use super::CursorKey;

    #[test]
    fn a_cursor_opens_only_for_its_owner_and_listing_under_its_key() {
        let key = CursorKey::new(b"a secret of the service");
        let cursor = key.seal("rentals", "alice", b"position 7");
        assert_eq!(key.open("rentals", "alice", &cursor).as_deref(), Some(&b"position 7"[..]));
        assert_eq!(key.open("rentals", "bob", &cursor), None, "another customer's cursor");
        assert_eq!(key.open("passes", "alice", &cursor), None, "another listing's cursor");
        assert_eq!(CursorKey::new(b"another key").open("rentals", "alice", &cursor), None);
        let (position, tag) = cursor.split_once('.').unwrap();
        let moved = format!("{}.{tag}", &position[..position.len() - 1]);
        assert_eq!(key.open("rentals", "alice", &moved), None, "an altered position");
        for junk in ["", ".", "abc", "abc.def", "💥.💥"] {
            assert_eq!(key.open("rentals", "alice", junk), None, "{junk:?}");
        }
    }
}
