//! Sealing snapshot payloads: XChaCha20-Poly1305 under a key derived from the service secret.
//!
//! File layout: `MAGIC` (8 bytes) + nonce (24 bytes) + ciphertext with its 16-byte tag. The
//! associated data is `MAGIC` + the session id, so a valid file copied or renamed to another
//! session's name does not open: nobody can make one session resume with another's cookies.
//! The nonce is random per write; 24 bytes make a collision negligible however many writes.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// First bytes of every snapshot file; the digit is the format version.
pub(crate) const MAGIC: &[u8; 8] = b"EMSNAP1\n";
/// What every version's magic starts with, to tell "newer format" from "not ours".
const MAGIC_FAMILY: &[u8] = b"EMSNAP";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Why a file did not open. The texts are what `snapshot_rejected` logs: they describe the
/// file, never its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("truncated")]
    Truncated,
    #[error("written by an unknown snapshot format version")]
    UnknownVersion,
    #[error("not a snapshot file")]
    NotASnapshot,
    #[error("cannot be decrypted: written with another secret, or altered")]
    Undecryptable,
}

/// The snapshot cipher, keyed once per store.
pub(crate) struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    /// HKDF-SHA256 with fixed salt and info: the service secret also keys the credential
    /// HMAC, and a derived key keeps the two uses independent.
    pub(crate) fn new(service_secret: &[u8]) -> Sealer {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(Some(b"emodal-api snapshot v1"), service_secret)
            .expand(b"session snapshot encryption key", &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let cipher = XChaCha20Poly1305::new(&key.into());
        key.fill(0);
        Sealer { cipher }
    }

    /// The whole file for `plaintext`, bound to `session_id`.
    pub(crate) fn seal(&self, session_id: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let aad = aad(session_id);
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any length a snapshot has");
        let mut file = Vec::with_capacity(MAGIC.len() + NONCE_LEN + ciphertext.len());
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&nonce);
        file.extend_from_slice(&ciphertext);
        file
    }

    /// The plaintext of a file that [`Sealer::seal`] wrote for `session_id` with this key.
    pub(crate) fn open(&self, session_id: &str, file: &[u8]) -> Result<Vec<u8>, OpenError> {
        if file.len() < MAGIC.len() {
            // Too short to tell a cut snapshot from something else: judge by what is there.
            return Err(if MAGIC.starts_with(file) {
                OpenError::Truncated
            } else {
                OpenError::NotASnapshot
            });
        }
        let (magic, rest) = file.split_at(MAGIC.len());
        if magic != MAGIC {
            return Err(if magic.starts_with(MAGIC_FAMILY) {
                OpenError::UnknownVersion
            } else {
                OpenError::NotASnapshot
            });
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Truncated);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let aad = aad(session_id);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Undecryptable)
    }
}

fn aad(session_id: &str) -> Vec<u8> {
    [MAGIC.as_slice(), session_id.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "session_0123456789abcdef0123456789abcdef";

    #[test]
    fn opens_what_it_sealed_and_nothing_else() {
        let sealer = Sealer::new(b"secret one");
        let file = sealer.seal(ID, b"payload");
        assert_eq!(sealer.open(ID, &file).unwrap(), b"payload");
        // A fresh nonce per write: the same payload never gives the same bytes.
        assert_ne!(file, sealer.seal(ID, b"payload"));

        let other_id = "session_ffffffffffffffffffffffffffffffff";
        assert_eq!(sealer.open(other_id, &file), Err(OpenError::Undecryptable));
        let other_key = Sealer::new(b"secret two");
        assert_eq!(other_key.open(ID, &file), Err(OpenError::Undecryptable));

        let mut flipped = file.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open(ID, &flipped), Err(OpenError::Undecryptable));
    }

    #[test]
    fn tells_short_foreign_and_newer_files_apart() {
        let sealer = Sealer::new(b"secret");
        let file = sealer.seal(ID, b"payload");
        assert_eq!(sealer.open(ID, &file[..20]), Err(OpenError::Truncated));
        assert_eq!(sealer.open(ID, &file[..4]), Err(OpenError::Truncated));
        assert_eq!(sealer.open(ID, b""), Err(OpenError::Truncated));
        assert_eq!(
            sealer.open(ID, b"{\"a\": 1}\n"),
            Err(OpenError::NotASnapshot)
        );
        assert_eq!(sealer.open(ID, b"hi"), Err(OpenError::NotASnapshot));
        let mut newer = file.clone();
        newer[6] = b'2';
        assert_eq!(sealer.open(ID, &newer), Err(OpenError::UnknownVersion));
    }
}
