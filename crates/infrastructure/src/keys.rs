//! API keys: the domain's prefix (`sk-`) and 32 random bytes from the operating system,
//! hex-encoded, stored as SHA-256.

use gatehouse_domain::{API_KEY_PREFIX, DomainError, GeneratedKey, KeyGenerator, KeyHash, Secret};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

/// Makes keys that cannot be guessed (256 bits from the OS) and hashes them with SHA-256, which is
/// enough for secrets this long: no salt or slow hash is needed, and a key can be looked up by its
/// hash.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sha256KeyGenerator;

impl Sha256KeyGenerator {
    /// Random bytes in a key.
    pub const RANDOM_BYTES: usize = 32;
    /// Characters of the random part shown at each end of a masked key.
    const SHOWN: usize = 4;

    /// A generator.
    pub fn new() -> Self {
        Self
    }
}

impl KeyGenerator for Sha256KeyGenerator {
    fn generate(&self) -> Result<GeneratedKey, DomainError> {
        let mut bytes = [0_u8; Self::RANDOM_BYTES];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(DomainError::unexpected)?;
        let random = hex::encode(bytes);
        let key = format!("{API_KEY_PREFIX}{random}");
        Ok(GeneratedKey {
            hash: self.hash(&key),
            masked: mask(&random),
            secret: Secret::new(key),
        })
    }

    fn hash(&self, key: &str) -> KeyHash {
        KeyHash::new(Sha256::digest(key.as_bytes()).to_vec())
    }
}

/// The prefix and the first and last four characters of the random part: enough to tell keys
/// apart.
fn mask(random: &str) -> String {
    let head: String = random.chars().take(Sha256KeyGenerator::SHOWN).collect();
    let tail_start = random
        .chars()
        .count()
        .saturating_sub(Sha256KeyGenerator::SHOWN);
    let tail: String = random.chars().skip(tail_start).collect();
    format!("{API_KEY_PREFIX}{head}...{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_the_prefix_and_64_hex_characters() {
        let key = Sha256KeyGenerator.generate().unwrap();
        let secret = key.secret.expose();
        let random = secret.strip_prefix(API_KEY_PREFIX).unwrap();
        assert_eq!(random.len(), 64);
        assert!(random.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn two_keys_differ() {
        let first = Sha256KeyGenerator.generate().unwrap();
        let second = Sha256KeyGenerator.generate().unwrap();
        assert_ne!(first.secret, second.secret);
        assert_ne!(first.hash, second.hash);
    }

    #[test]
    fn the_stored_hash_is_the_hash_of_the_whole_key() {
        let generator = Sha256KeyGenerator::new();
        let key = generator.generate().unwrap();
        assert_eq!(generator.hash(key.secret.expose()), key.hash);
        assert_eq!(key.hash.as_bytes().len(), 32);
        assert_ne!(generator.hash("sk-other"), key.hash);
    }

    #[test]
    fn the_hash_is_sha256_of_the_key_text() {
        // SHA-256 of "abc", from FIPS 180-2.
        assert_eq!(
            hex::encode(Sha256KeyGenerator.hash("abc").as_bytes()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_masked_key_shows_four_characters_at_each_end_of_the_random_part() {
        let key = Sha256KeyGenerator.generate().unwrap();
        let random = key.secret.expose().strip_prefix(API_KEY_PREFIX).unwrap();
        assert_eq!(
            key.masked,
            format!(
                "{API_KEY_PREFIX}{}...{}",
                &random[..4],
                &random[random.len() - 4..]
            )
        );
        assert_eq!(key.masked.len(), API_KEY_PREFIX.len() + 4 + 3 + 4);
        // The contract's example, to the letter.
        assert_eq!(mask("ab12cdef9xyz"), "sk-ab12...9xyz");
    }

    #[test]
    fn neither_the_key_nor_its_hash_shows_in_debug_output() {
        let key = Sha256KeyGenerator.generate().unwrap();
        let debug = format!("{key:?}");
        let random = key.secret.expose().strip_prefix(API_KEY_PREFIX).unwrap();
        assert!(!debug.contains(random));
        assert!(!debug.contains(&hex::encode(key.hash.as_bytes())));
    }
}
