//! Secrets at rest: merchants' KOMOJU keys are sealed with the server key
//! (ChaCha20-Poly1305) before they reach the database, so a database dump
//! alone gives nothing away.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use std::path::Path;

const VERSION: &str = "v1";

fn hmac_of(key: &[u8], message: &[u8]) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    hmac::Mac::finalize(hmac_of(key, message)).into_bytes().into()
}

/// What [`SecretBox::mac`] signs: the context cannot be shifted into the message.
fn mac_input(message: &str, context: &str) -> String {
    format!("{context}\n{message}")
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
    /// For [`SecretBox::mac`], derived from the server key (never the key itself).
    mac_key: [u8; 32],
}

/// Never print the key.
impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the server key must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error("a sealed secret is corrupt or was sealed with another server key")]
    Unreadable,
}

impl SecretBox {
    pub fn from_hex(key: &str) -> Result<SecretBox, SecretError> {
        let bytes = hex::decode(key.trim()).map_err(|_| SecretError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SecretError::BadKey);
        }
        let mac_key = hmac_sha256(&bytes, b"paylinks mac key v1");
        Ok(SecretBox { cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)), mac_key })
    }

    /// A fresh random key, hex-encoded.
    pub fn generate_hex() -> String {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).expect("the OS provides randomness");
        hex::encode(key)
    }

    /// The key in `path`, created (readable by its owner only) on first use.
    /// Several app servers must share one key: give them `PAYLINKS_SECRET_KEY`.
    pub fn load_or_create(path: &Path) -> anyhow::Result<SecretBox> {
        if !path.exists() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
                // Only this user may list the folder that holds the key (and the database).
                let mut builder = std::fs::DirBuilder::new();
                builder.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
                builder.create(dir)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut file) => std::io::Write::write_all(&mut file, SecretBox::generate_hex().as_bytes())?,
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
        let text = std::fs::read_to_string(path)?;
        SecretBox::from_hex(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Seals `plaintext`; `context` (e.g. "komoju-secret-key:42") must be
    /// given again to open it.
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).expect("the OS provides randomness");
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() })
            .expect("ChaCha20-Poly1305 encrypts any message this size");
        format!("{VERSION}.{}.{}", hex::encode(nonce), hex::encode(sealed))
    }

    /// A tag proving this server wrote `message` for `context` (the same
    /// every time: an emailed link stays the same across retries), as 32
    /// hex characters.
    pub fn mac(&self, message: &str, context: &str) -> String {
        hex::encode(&hmac_sha256(&self.mac_key, mac_input(message, context).as_bytes())[..16])
    }

    /// Whether `tag` is [`SecretBox::mac`] of `message` (in constant time).
    pub fn verify_mac(&self, message: &str, context: &str, tag: &str) -> bool {
        let Ok(tag) = hex::decode(tag) else { return false };
        tag.len() == 16 && hmac::Mac::verify_truncated_left(hmac_of(&self.mac_key, mac_input(message, context).as_bytes()), &tag).is_ok()
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<String, SecretError> {
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(nonce), Some(body), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(SecretError::Unreadable);
        };
        let nonce = hex::decode(nonce).ok().filter(|n| n.len() == 12).ok_or(SecretError::Unreadable)?;
        let body = hex::decode(body).map_err(|_| SecretError::Unreadable)?;
        let plain = self.cipher.decrypt(Nonce::from_slice(&nonce), Payload { msg: &body, aad: context.as_bytes() }).map_err(|_| SecretError::Unreadable)?;
        String::from_utf8(plain).map_err(|_| SecretError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_box() -> SecretBox {
        SecretBox::from_hex(&SecretBox::generate_hex()).unwrap()
    }

    #[test]
    fn macs_are_stable_per_key_and_bound_to_their_context() {
        let (a, b) = (secret_box(), secret_box());
        let tag = a.mac("42.link-7", "unsubscribe");
        assert_eq!(tag, a.mac("42.link-7", "unsubscribe"), "the same link on every retry");
        assert_eq!(tag.len(), 32);
        assert!(a.verify_mac("42.link-7", "unsubscribe", &tag));
        assert!(!b.verify_mac("42.link-7", "unsubscribe", &tag), "another server key");
        assert!(!a.verify_mac("42.link-8", "unsubscribe", &tag), "another message");
        assert!(!a.verify_mac("42.link-7", "other", &tag), "another context");
        assert!(!a.verify_mac("42.link-7", "unsubscribe", &tag[..30]));
        assert!(!a.verify_mac("42.link-7", "unsubscribe", "zz"));
    }

    #[test]
    fn seals_and_opens() {
        let b = secret_box();
        let sealed = b.seal("sk_live_abcdef", "komoju-secret-key:1");
        assert!(!sealed.contains("sk_live"));
        assert_eq!(b.open(&sealed, "komoju-secret-key:1").unwrap(), "sk_live_abcdef");
        // A fresh nonce each time: equal secrets do not look equal.
        assert_ne!(sealed, b.seal("sk_live_abcdef", "komoju-secret-key:1"));
    }

    #[test]
    fn refuses_other_context_key_or_tampering() {
        let b = secret_box();
        let sealed = b.seal("secret", "komoju-secret-key:1");
        assert_eq!(b.open(&sealed, "komoju-secret-key:2"), Err(SecretError::Unreadable));
        assert_eq!(secret_box().open(&sealed, "komoju-secret-key:1"), Err(SecretError::Unreadable));
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        assert_eq!(b.open(&tampered, "komoju-secret-key:1"), Err(SecretError::Unreadable));
        assert_eq!(b.open("garbage", "x"), Err(SecretError::Unreadable));
    }

    #[test]
    fn key_must_be_32_bytes_of_hex() {
        assert_eq!(SecretBox::from_hex("abcd").unwrap_err(), SecretError::BadKey);
        assert_eq!(SecretBox::from_hex(&"zz".repeat(32)).unwrap_err(), SecretError::BadKey);
        assert!(SecretBox::from_hex(&"ab".repeat(32)).is_ok());
    }

    #[test]
    fn key_file_is_created_once() {
        let dir = std::env::temp_dir().join(format!("paylinks-key-{}", std::process::id()));
        let path = dir.join("secret.key");
        let _ = std::fs::remove_file(&path);
        let first = SecretBox::load_or_create(&path).unwrap();
        let sealed = first.seal("x", "c");
        let again = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed, "c").unwrap(), "x");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
