//! Signed evidence (SPEC §7, §10): a note is a report, and a report is evidence only when planx
//! wrote it. Every event line planx appends to a note is signed with a key of this user on this
//! machine, kept beside the trust store (`$XDG_DATA_HOME/git-planx/signing-key`, made on first
//! use, readable by its owner only), or given by `PLANX_SIGNING_KEY` (a CI's secret). A line
//! counts as evidence when its signature holds and its key is trusted: this machine's own key,
//! keys trusted on this machine (`git planx signers trust`), and the signers the plan declares
//! on base (`[evidence] signers`, read from base's tip by the command, never from a phase
//! branch). A line with no signature, a broken one, or an unknown key is "a record planx did not
//! write"; an unknown key counts only where the plan on base says `unknown_signers = "count"`.
//!
//! A signed line is the event's JSON object with one more member, last: `"sig":"ed25519:<public
//! key>:<signature>"`, the signature made over the line as it reads without that member (the
//! exact bytes, so no re-serialization can change what was signed). Lines merge by union of
//! lines across machines, so a signed line travels unchanged.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What a signature is made over, before the line: a signature made for anything else cannot
/// be passed off as one of an event.
const CONTEXT: &[u8] = b"git-planx event v1\n";
/// How the signature member begins.
const MEMBER: &str = ",\"sig\":\"";
/// How a key is written.
pub const KEY_PREFIX: &str = "ed25519:";
/// The environment variable holding a signing key (64 hex digits): for a CI machine whose key
/// the plan declares, kept in the CI's secrets.
pub const KEY_VARIABLE: &str = "PLANX_SIGNING_KEY";
/// The first line of the key file.
const KEY_FILE_HEADER: &str = "git-planx signing key v1";

/// A signer's public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 32]);

impl KeyId {
    /// Reads `ed25519:<64 hex digits>`.
    pub fn parse(text: &str) -> Option<KeyId> {
        let hex = text.strip_prefix(KEY_PREFIX)?;
        let bytes = from_hex::<32>(hex)?;
        VerifyingKey::from_bytes(&bytes).ok()?;
        Some(KeyId(bytes))
    }

    /// The key, shortened for a table: `ed25519:` and its first 12 hex digits.
    pub fn short(&self) -> String {
        let full = self.to_string();
        full[..KEY_PREFIX.len() + 12].to_owned()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY_PREFIX}{}", to_hex(&self.0))
    }
}

/// What a line's signature says of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Seal {
    /// No signature: written by hand, by another program, or by a version of planx before
    /// records were signed.
    #[default]
    Unsigned,
    /// A signature that does not hold for the line: the line was changed after it was signed,
    /// or the signature was made up.
    Broken,
    /// Signed by this key, and the signature holds.
    Key(KeyId),
}

/// Who a key belongs to, as this machine and the plan on base know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// This user's key on this machine.
    Own,
    /// Trusted on this machine by `git planx signers trust`, under this name.
    Machine(String),
    /// Declared by the plan on base, under this name.
    Plan(String),
    /// Nobody here knows it; `counted` says whether the plan on base counts unknown signers.
    Unknown { counted: bool },
}

impl Standing {
    pub fn counts(&self) -> bool {
        !matches!(self, Standing::Unknown { counted: false })
    }
}

impl Seal {
    /// Does a line with this seal count as evidence here?
    pub fn counts(&self) -> bool {
        match self {
            Seal::Key(key) => standing(*key).counts(),
            Seal::Unsigned | Seal::Broken => false,
        }
    }

    /// Why a line with this seal does not count, in a few words ("" when it counts).
    pub fn why_not(&self) -> String {
        match self {
            Seal::Unsigned => "unsigned".to_owned(),
            Seal::Broken => "its signature does not match it".to_owned(),
            Seal::Key(key) => match standing(*key) {
                Standing::Unknown { counted: false } => {
                    format!("signed by {}, a signer nobody here trusts", key.short())
                }
                _ => String::new(),
            },
        }
    }
}

/// A line split into what was signed and its seal. A line without a signature member is
/// returned whole.
pub fn unseal(line: &str) -> (Cow<'_, str>, Seal) {
    let Some(at) = line.rfind(MEMBER) else {
        return (Cow::Borrowed(line), Seal::Unsigned);
    };
    let rest = &line[at + MEMBER.len()..];
    let content = Cow::Owned(format!("{}}}", &line[..at]));
    let Some(value) = rest
        .strip_suffix("\"}")
        .and_then(|v| v.strip_prefix(KEY_PREFIX))
    else {
        return (Cow::Borrowed(line), Seal::Broken);
    };
    let Some((key, signature)) = value.split_once(':') else {
        return (content, Seal::Broken);
    };
    let (Some(key), Some(signature)) = (from_hex::<32>(key), from_hex::<64>(signature)) else {
        return (content, Seal::Broken);
    };
    // A line this machine verified before: its tag says so (see [`tag`]).
    let tag = tag(&content, &key, &signature);
    if tag.as_ref().is_some_and(knows) {
        return (content, Seal::Key(KeyId(key)));
    }
    let Ok(verifying) = VerifyingKey::from_bytes(&key) else {
        return (content, Seal::Broken);
    };
    let message = [CONTEXT, content.as_bytes()].concat();
    match verifying.verify_strict(&message, &Signature::from_bytes(&signature)) {
        Ok(()) => {
            if let Some(tag) = tag {
                learn(tag);
            }
            (content, Seal::Key(KeyId(key)))
        }
        Err(_) => (content, Seal::Broken),
    }
}

/// A tag saying "this machine found the signature of this line good": a keyed hash, by this
/// machine's secret key, of the line, its key and its signature. Verifying a signature costs tens
/// of microseconds, and a status reads the same records every time: the tags of lines verified
/// once are kept in the local cache (by the derivation: [`remember_verified`], [`learnt`]), and a
/// tag nobody without the secret can make lets nobody mark a line good by writing the cache.
/// `None` without a key of this machine.
pub type Tag = [u8; 16];

fn tag(content: &str, key: &[u8; 32], signature: &[u8; 64]) -> Option<Tag> {
    use sha2::{Digest, Sha256};
    let own = own_key().ok()?;
    let mut hash = Sha256::new();
    hash.update(b"git-planx verified line v1\n");
    hash.update(own.to_bytes());
    hash.update(key);
    hash.update(signature);
    hash.update(content.as_bytes());
    let digest = hash.finalize();
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&digest[..16]);
    Some(tag)
}

/// A tag for a fact this machine established from objects that never change (a note's blobs
/// hold a passing record, say): a keyed hash, as [`tag`], of `parts` under `domain`, each part
/// length-prefixed so that no two lists of parts hash alike. Kept with the verified lines
/// ([`knows`], [`learn`]), and as unforgeable. `None` without a key of this machine.
pub fn fact_tag(domain: &str, parts: &[&[u8]]) -> Option<Tag> {
    use sha2::{Digest, Sha256};
    let own = own_key().ok()?;
    let mut hash = Sha256::new();
    hash.update(b"git-planx fact v1\n");
    hash.update(own.to_bytes());
    for part in std::iter::once(domain.as_bytes()).chain(parts.iter().copied()) {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    let digest = hash.finalize();
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&digest[..16]);
    Some(tag)
}

/// Is `tag` one this machine made and kept?
pub fn knows(tag: &Tag) -> bool {
    VERIFIED
        .lock()
        .is_ok_and(|v| v.as_ref().is_some_and(|set| set.contains(tag)))
}

/// Keeps `tag` (with what the derivation keeps: [`learnt`]).
pub fn learn(tag: Tag) {
    if let Ok(mut v) = VERIFIED.lock()
        && v.get_or_insert_with(HashSet::new).insert(tag)
    {
        LEARNT.store(true, Ordering::Relaxed);
    }
}

/// Which keys count here, as bytes: this machine's, the ones trusted on it, the ones the plan
/// on base declares, and whether unknown keys count. A fact about which records count holds
/// only while these are the same.
pub fn trust_fingerprint() -> Vec<u8> {
    let mut keys: Vec<[u8; 32]> = own_key_id().map(|k| vec![k.0]).unwrap_or_default();
    keys.extend(machine_signers().into_iter().map(|s| s.key.0));
    let count_unknown = match DECLARED.read() {
        Ok(d) => {
            keys.extend(d.signers.iter().map(|(_, k)| k.0));
            d.count_unknown
        }
        Err(_) => false,
    };
    keys.sort_unstable();
    keys.dedup();
    let mut out = vec![u8::from(count_unknown)];
    out.extend(keys.into_iter().flatten());
    out
}

static VERIFIED: Mutex<Option<HashSet<Tag>>> = Mutex::new(None);
static LEARNT: AtomicBool = AtomicBool::new(false);

/// Takes the tags of lines verified before (read from the cache) as known good.
pub fn remember_verified(tags: Vec<Tag>) {
    if let Ok(mut v) = VERIFIED.lock() {
        v.get_or_insert_with(HashSet::new).extend(tags);
    }
}

/// Every tag known, when some were learnt since [`remember_verified`]: what to keep.
pub fn learnt() -> Option<Vec<Tag>> {
    if !LEARNT.swap(false, Ordering::Relaxed) {
        return None;
    }
    let v = VERIFIED.lock().ok()?;
    let mut all: Vec<Tag> = v.as_ref()?.iter().copied().collect();
    all.sort_unstable();
    Some(all)
}

/// `object` (the text of one JSON object) with this machine's signature as its last member.
pub fn seal(object: &str) -> Result<String, SigningError> {
    let key = own_key()?;
    Ok(seal_with(key, object))
}

fn seal_with(key: &SigningKey, object: &str) -> String {
    let body = object.strip_suffix('}').unwrap_or(object);
    let signature = key.sign(&[CONTEXT, object.as_bytes()].concat());
    format!(
        "{body}{MEMBER}{KEY_PREFIX}{}:{}\"}}",
        to_hex(key.verifying_key().as_bytes()),
        to_hex(&signature.to_bytes())
    )
}

/// This machine's public key.
pub fn own_key_id() -> Result<KeyId, SigningError> {
    Ok(KeyId(own_key()?.verifying_key().to_bytes()))
}

/// Who signs on this machine, as a record says it: `user@host`. A claim, shown beside the key,
/// never trusted for itself.
pub fn signer_name() -> String {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "someone".to_owned());
    format!("{user}@{}", hostname())
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if ok && !name.is_empty() => name.to_owned(),
        _ => "localhost".to_owned(),
    }
}

/// The key file's path: beside the trust store.
pub fn key_path() -> Option<PathBuf> {
    Some(super::data_dir()?.join("signing-key"))
}

static OWN: OnceLock<SigningKey> = OnceLock::new();

/// This machine's signing key: `PLANX_SIGNING_KEY`, else the key file, made on first use.
fn own_key() -> Result<&'static SigningKey, SigningError> {
    if let Some(key) = OWN.get() {
        return Ok(key);
    }
    let key = load_own_key()?;
    Ok(OWN.get_or_init(|| key))
}

#[cfg(test)]
fn load_own_key() -> Result<SigningKey, SigningError> {
    // Unit tests sign with a fixed key: they never touch the user's folder.
    Ok(SigningKey::from_bytes(&[7; 32]))
}

#[cfg(not(test))]
fn load_own_key() -> Result<SigningKey, SigningError> {
    if let Ok(text) = std::env::var(KEY_VARIABLE)
        && !text.is_empty()
    {
        return from_hex::<32>(text.trim())
            .map(|b| SigningKey::from_bytes(&b))
            .ok_or(SigningError::BadVariable);
    }
    let path = key_path().ok_or(SigningError::NoHome)?;
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_key_file(&text).ok_or(SigningError::Malformed { path }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(path),
        Err(source) => Err(SigningError::Read { path, source }),
    }
}

#[cfg_attr(test, allow(dead_code))]
fn parse_key_file(text: &str) -> Option<SigningKey> {
    let mut lines = text.lines();
    (lines.next()? == KEY_FILE_HEADER).then_some(())?;
    from_hex::<32>(lines.next()?.trim()).map(|b| SigningKey::from_bytes(&b))
}

/// Makes the key file, readable by its owner only. Two processes making it at once: the one
/// that lands first wins, the other reads its key.
#[cfg_attr(test, allow(dead_code))]
fn create_key(path: PathBuf) -> Result<SigningKey, SigningError> {
    let create = |source| SigningError::Create {
        path: path.clone(),
        source,
    };
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| create(std::io::Error::other(e.to_string())))?;
    let key = SigningKey::from_bytes(&secret);
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(create)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(create)?;
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(create)?;
    }
    writeln!(tmp, "{KEY_FILE_HEADER}\n{}", to_hex(&secret)).map_err(create)?;
    match tmp.persist_noclobber(&path) {
        Ok(_) => Ok(key),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(&path).map_err(|source| SigningError::Read {
                path: path.clone(),
                source,
            })?;
            parse_key_file(&text).ok_or(SigningError::Malformed { path })
        }
        Err(e) => Err(create(e.error)),
    }
}

/// Signers the plan on base declares, and whether it counts unknown ones: set by the command
/// once it has read the plan on base (see `cli::context`). One process judges one repository.
static DECLARED: RwLock<Declared> = RwLock::new(Declared {
    signers: Vec::new(),
    count_unknown: false,
});

struct Declared {
    signers: Vec<(String, KeyId)>,
    count_unknown: bool,
}

/// Takes the plan on base's `[evidence]` table as the declared signers.
pub fn declare(signers: &[(String, String)], count_unknown: bool) {
    let signers = signers
        .iter()
        .filter_map(|(name, key)| Some((name.clone(), KeyId::parse(key)?)))
        .collect();
    if let Ok(mut d) = DECLARED.write() {
        *d = Declared {
            signers,
            count_unknown,
        };
    }
}

/// The signers the plan on base declares, as [`declare`] took them.
pub fn declared() -> Vec<(String, KeyId)> {
    DECLARED
        .read()
        .map(|d| d.signers.clone())
        .unwrap_or_default()
}

/// Who `key` belongs to here.
pub fn standing(key: KeyId) -> Standing {
    if OWN
        .get()
        .is_some_and(|k| k.verifying_key().to_bytes() == key.0)
        || (OWN.get().is_none() && own_key_id().is_ok_and(|own| own == key))
    {
        return Standing::Own;
    }
    if let Some(s) = machine_signers().into_iter().find(|s| s.key == key) {
        return Standing::Machine(s.name);
    }
    let declared = DECLARED.read();
    match declared {
        Ok(d) => match d.signers.iter().find(|(_, k)| *k == key) {
            Some((name, _)) => Standing::Plan(name.clone()),
            None => Standing::Unknown {
                counted: d.count_unknown,
            },
        },
        Err(_) => Standing::Unknown { counted: false },
    }
}

/// A key trusted on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineSigner {
    #[serde(with = "key_text")]
    pub key: KeyId,
    pub name: String,
    pub trusted_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SignersFile {
    version: u32,
    signers: Vec<MachineSigner>,
}

fn signers_path() -> Option<PathBuf> {
    Some(super::data_dir()?.join("signers.json"))
}

static MACHINE: RwLock<Option<Vec<MachineSigner>>> = RwLock::new(None);

/// The keys trusted on this machine (`signers.json` beside the trust store).
pub fn machine_signers() -> Vec<MachineSigner> {
    if let Ok(cached) = MACHINE.read()
        && let Some(list) = cached.as_ref()
    {
        return list.clone();
    }
    let list: Vec<MachineSigner> = signers_path()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<SignersFile>(&b).ok())
        .map(|f| f.signers)
        .unwrap_or_default();
    if let Ok(mut cached) = MACHINE.write() {
        *cached = Some(list.clone());
    }
    list
}

fn save_machine_signers(list: Vec<MachineSigner>) -> Result<(), SigningError> {
    let path = signers_path().ok_or(SigningError::NoHome)?;
    let write = |source| SigningError::Create {
        path: path.clone(),
        source,
    };
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(write)?;
    let file = SignersFile {
        version: 1,
        signers: list.clone(),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(write)?;
    tmp.write_all(&serde_json::to_vec_pretty(&file).unwrap_or_default())
        .map_err(write)?;
    tmp.persist(&path).map_err(|e| write(e.error))?;
    if let Ok(mut cached) = MACHINE.write() {
        *cached = Some(list);
    }
    Ok(())
}

/// Trusts `key` on this machine under `name`; false when it was trusted under that name already.
pub fn trust_signer(key: KeyId, name: &str, at: &str) -> Result<bool, SigningError> {
    let mut list = machine_signers();
    if list.iter().any(|s| s.key == key && s.name == name) {
        return Ok(false);
    }
    list.retain(|s| s.key != key);
    list.push(MachineSigner {
        key,
        name: name.to_owned(),
        trusted_at: at.to_owned(),
    });
    save_machine_signers(list)?;
    Ok(true)
}

/// Stops trusting `key` on this machine; false when it was not trusted here.
pub fn untrust_signer(key: KeyId) -> Result<bool, SigningError> {
    let mut list = machine_signers();
    let before = list.len();
    list.retain(|s| s.key != key);
    if list.len() == before {
        return Ok(false);
    }
    save_machine_signers(list)?;
    Ok(true)
}

mod key_text {
    use super::KeyId;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &KeyId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&key.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<KeyId, D::Error> {
        let text = String::deserialize(d)?;
        KeyId::parse(&text).ok_or_else(|| serde::de::Error::custom("not an ed25519 key"))
    }
}

/// Why planx cannot sign here.
#[derive(Debug, Error)]
pub enum SigningError {
    #[error("there is no place for the signing key: neither XDG_DATA_HOME nor HOME is set")]
    NoHome,
    #[error("cannot read the signing key {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a git-planx signing key", path.display())]
    Malformed { path: PathBuf },
    #[error("{KEY_VARIABLE} is not a signing key (64 hex digits)")]
    BadVariable,
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_line_unseals_to_what_was_signed() {
        let object = r#"{"v":1,"event":"verify","passed":true}"#;
        let line = seal(object).unwrap();
        assert!(line.starts_with(r#"{"v":1,"event":"verify","passed":true,"sig":"ed25519:"#));
        let (content, seal) = unseal(&line);
        assert_eq!(content, object);
        assert_eq!(seal, Seal::Key(own_key_id().unwrap()));
        assert_eq!(standing(own_key_id().unwrap()), Standing::Own);
        assert!(seal.counts());
    }

    #[test]
    fn a_changed_line_or_a_made_up_signature_is_broken() {
        let line = seal(r#"{"v":1,"passed":false}"#).unwrap();
        let changed = line.replace("false", "true");
        assert_eq!(unseal(&changed).1, Seal::Broken);
        let made_up = format!(
            r#"{{"v":1,"passed":true,"sig":"ed25519:{}:{}"}}"#,
            "ab".repeat(32),
            "cd".repeat(64)
        );
        assert_eq!(unseal(&made_up).1, Seal::Broken);
        assert_eq!(unseal(r#"{"v":1,"sig":"nonsense"}"#).1, Seal::Broken);
        assert_eq!(unseal(r#"{"v":1,"passed":true}"#).1, Seal::Unsigned);
        assert!(!Seal::Broken.counts() && !Seal::Unsigned.counts());
    }

    #[test]
    fn verified_lines_are_remembered_by_a_tag_nobody_else_can_make() {
        let object = r#"{"v":1,"tagged":true}"#;
        let line = seal(object).unwrap();
        assert!(matches!(unseal(&line).1, Seal::Key(_)));
        let own = own_key().unwrap();
        let sig = own.sign(&[CONTEXT, object.as_bytes()].concat()).to_bytes();
        let tag = tag(object, &own.verifying_key().to_bytes(), &sig).unwrap();
        let known = |t: &Tag| VERIFIED.lock().unwrap().as_ref().unwrap().contains(t);
        assert!(known(&tag), "a line verified is remembered");
        // A cache that claims every line good makes no changed line good.
        remember_verified(vec![[0u8; 16], [0xff; 16]]);
        let changed = line.replace("true", "false");
        assert_eq!(unseal(&changed).1, Seal::Broken);
        assert!(matches!(unseal(&line).1, Seal::Key(_)));
    }

    #[test]
    fn another_key_is_unknown_until_declared() {
        let other = SigningKey::from_bytes(&[9; 32]);
        let line = seal_with(&other, r#"{"v":1}"#);
        let Seal::Key(key) = unseal(&line).1 else {
            panic!("the other key's signature holds")
        };
        assert_eq!(standing(key), Standing::Unknown { counted: false });
        declare(&[("ci".to_owned(), key.to_string())], false);
        assert_eq!(standing(key), Standing::Plan("ci".to_owned()));
        declare(&[], false);
        assert!(!Seal::Key(key).counts());
        assert_eq!(KeyId::parse(&key.to_string()), Some(key));
        assert_eq!(KeyId::parse("ed25519:xyz"), None);
    }
}
