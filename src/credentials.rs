//! Credentials, the keyed hash that de-duplicates sessions, and session ids.
//!
//! The credential key is HMAC-SHA256 over username and password with a server secret, so a
//! leaked registry does not let anyone test password guesses offline (the original used a
//! bare SHA-256). Session ids are 128 random bits: unguessable, unlike the original's
//! `session_<seconds>_<hash>`.

use crate::config::Settings;
use crate::secret::Secret;
use anyhow::Context;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::io::Write;
use std::path::Path;

/// What a client proves itself with. `Debug` shows only the username.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
    pub captcha_key: Secret,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct Keyer {
    secret: Vec<u8>,
}

impl Keyer {
    pub fn new(secret: &[u8]) -> Keyer {
        Keyer {
            secret: secret.to_vec(),
        }
    }

    /// The configured secret, or one generated on first start and kept in the data directory.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Keyer> {
        if !settings.sessions.secret.is_empty() {
            return Ok(Keyer::new(settings.sessions.secret.expose().as_bytes()));
        }
        let path = settings.chrome.data_dir.join("secret.key");
        Ok(Keyer::new(&load_or_create_secret(&path)?))
    }

    /// The service secret itself, for deriving other keys from it (HKDF: the snapshot key).
    pub fn service_secret(&self) -> &[u8] {
        &self.secret
    }

    /// The registry key of a credential pair. `scope` separates tenants (API tokens), so
    /// equal credentials under different tokens never share a session.
    pub fn key(&self, scope: &str, username: &str, password: &Secret) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        // Length-prefix each part so ("ab","c") and ("a","bc") differ.
        for part in [scope, username, password.expose()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

fn load_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let bytes = hex::decode(text.trim()).context("secret.key is not hex")?;
        anyhow::ensure!(bytes.len() >= 32, "secret.key is too short");
        return Ok(bytes);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let secret: [u8; 32] = rand::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(hex::encode(secret).as_bytes())?;
    Ok(secret.to_vec())
}

/// `session_` + 32 hex digits from the operating system's CSPRNG (via rand's thread RNG).
pub fn new_session_id() -> String {
    let bits: u128 = rand::random();
    format!("session_{bits:032x}")
}

/// The scope a bearer token's sessions live in: a digest naming the token (never the token).
pub fn token_scope(token: &str) -> String {
    use sha2::Digest;
    hex::encode(&Sha256::digest(token.as_bytes())[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_every_part_and_the_secret() {
        let k = Keyer::new(b"server secret");
        let pw = Secret::new("pw");
        let base = k.key("", "demo", &pw);
        assert_eq!(base, k.key("", "demo", &Secret::new("pw")));
        assert_ne!(base, k.key("", "demo", &Secret::new("pw2")));
        assert_ne!(base, k.key("tenant", "demo", &pw));
        assert_ne!(base, Keyer::new(b"other").key("", "demo", &pw));
        assert_ne!(
            k.key("", "ab", &Secret::new("c")),
            k.key("", "a", &Secret::new("bc"))
        );
        assert_eq!(base.len(), 64);
    }

    #[test]
    fn session_ids_are_long_and_distinct() {
        let a = new_session_id();
        assert!(a.starts_with("session_") && a.len() == 8 + 32, "{a}");
        assert_ne!(a, new_session_id());
    }

    #[test]
    fn secret_is_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let first = load_or_create_secret(&path).unwrap();
        assert_eq!(first, load_or_create_secret(&path).unwrap());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
