//! planx's local cache: answers kept under the repository's git folder
//! (`.git/planx/cache/<kind>-<version>-<format>/`), keyed by the content they were computed from, so
//! that an edit is a new key and never meets an old answer. Keeping an answer is only an
//! optimisation: a folder that cannot be written, or a file that cannot be read back, costs the
//! time of computing the answer again, nothing else. Never committed, never pushed.
//!
//! The answers judge (a kept plan declares the signers whose records count, a kept stop-gate
//! pass lets an agent stop), and the folder is writable by whoever can write the repository: each
//! file ends with a tag, a keyed hash by this machine's signing key of its folder, its key and
//! its bytes (`trust::signing::fact_tag`), and a file whose tag does not hold is not read. A
//! machine without a signing key keeps nothing.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::git::{Oid, Repo};
use crate::plan::{Plan, PlanError};

/// Answers kept at most in one folder; the oldest are removed when a new one is written.
const KEEP: usize = 8;
/// The bytes of the tag that ends each file.
const TAG_LEN: usize = 16;

/// One kind of cached answer, in its own folder.
pub struct Cache {
    dir: PathBuf,
    extension: &'static str,
}

impl Cache {
    /// The cache of `kind` (a folder name) for this build of planx, files ending `.extension`.
    /// `format` is the version of what is stored, bumped when its shape or meaning changes.
    pub fn new(repo: &Repo, kind: &str, format: u32, extension: &'static str) -> Cache {
        Cache {
            dir: repo
                .state_dir()
                .join("cache")
                .join(format!("{kind}-{}-{format}", env!("CARGO_PKG_VERSION"))),
            extension,
        }
    }

    fn file(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.{}", self.extension))
    }

    /// What is kept under `key`, if anything: only what this machine wrote there (see the
    /// module's documentation).
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let mut bytes = fs::read(self.file(key)).ok()?;
        let at = bytes.len().checked_sub(TAG_LEN)?;
        let tag = self.tag(key, &bytes[..at])?;
        if bytes[at..] != tag[..] {
            return None;
        }
        bytes.truncate(at);
        Some(bytes)
    }

    /// Keeps `bytes` under `key` (written whole or not at all) and removes the oldest entries
    /// beyond the few kept. Errors are ignored: see the module's documentation.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let Some(tag) = self.tag(key, bytes) else {
            return;
        };
        let mut sealed = Vec::with_capacity(bytes.len() + TAG_LEN);
        sealed.extend_from_slice(bytes);
        sealed.extend_from_slice(&tag);
        let _ = self.try_put(key, &sealed);
    }

    /// The tag of `bytes` kept under `key` in this folder; `None` without a signing key.
    fn tag(&self, key: &str, bytes: &[u8]) -> Option<crate::trust::signing::Tag> {
        let folder = self.dir.file_name()?.to_string_lossy();
        crate::trust::signing::fact_tag("cache file", &[folder.as_bytes(), key.as_bytes(), bytes])
    }

    /// The value kept under `key` by [`Cache::put_value`]: read back whole, and only if it was
    /// written under that key (a file copied, truncated or left by another build is ignored).
    pub fn get_value<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        let bytes = self.get(key)?;
        let (kept_key, rest): (String, &[u8]) = postcard::take_from_bytes(&bytes).ok()?;
        if kept_key != key {
            return None;
        }
        match postcard::take_from_bytes::<T>(rest) {
            Ok((value, [])) => Some(value),
            _ => None,
        }
    }

    /// Keeps `value` under `key`, with the key itself (see [`Cache::get_value`]).
    pub fn put_value<T: serde::Serialize>(&self, key: &str, value: &T) {
        let (Ok(mut bytes), Ok(body)) = (postcard::to_allocvec(key), postcard::to_allocvec(value))
        else {
            return;
        };
        bytes.extend_from_slice(&body);
        self.put(key, &bytes);
    }

    fn try_put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        // A temporary file of its own (threads of one process, processes of one machine may
        // write the same key at once), renamed into place: readers see all of it or nothing.
        let mut temp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)?;
        temp.write_all(bytes)?;
        temp.persist(self.file(key)).map_err(|e| e.error)?;
        prune(&self.dir, self.extension)
    }
}

fn prune(dir: &Path, extension: &str) -> std::io::Result<()> {
    // Temporary files a killed process left behind, once surely nobody writes them any more.
    for entry in fs::read_dir(dir)?.flatten() {
        if entry.file_name().to_string_lossy().starts_with(".tmp-")
            && let Ok(age) = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|t| t.elapsed())
            && age.is_ok_and(|age| age > std::time::Duration::from_secs(3600))
        {
            let _ = fs::remove_file(entry.path());
        }
    }
    let mut kept: Vec<(std::time::SystemTime, PathBuf)> = fs::read_dir(dir)?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == extension))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if kept.len() > KEEP {
        kept.sort();
        for (_, old) in &kept[..kept.len() - KEEP] {
            let _ = fs::remove_file(old);
        }
    }
    Ok(())
}

/// The valid plan whose bytes have blob id `blob`: kept from an earlier run, else `validate`d
/// (exactly as without a cache; `None` when there is nothing to validate) and kept. Only valid
/// plans are kept, so an invalid plan is validated, and its problems shown, every time.
pub fn valid_plan(
    repo: &Repo,
    blob: Oid,
    validate: impl FnOnce() -> Result<Option<Plan>, PlanError>,
) -> Result<Option<Plan>, PlanError> {
    let cache = Cache::new(repo, "plans", 4, "bin");
    let key = blob.to_string();
    if let Some(mut plan) = cache.get_value::<Plan>(&key) {
        plan.blob = Some(key);
        return Ok(Some(plan));
    }
    let Some(mut plan) = validate()? else {
        return Ok(None);
    };
    plan.blob = Some(key.clone());
    cache.put_value(&key, &plan);
    Ok(Some(plan))
}

/// The valid plan whose bytes are `bytes`, and their blob id: kept under a SHA-256 of the bytes
/// (with SHA-NI a tenth of what git's collision-detecting SHA-1 costs, on a plan of 500 KiB,
/// read by every command), else validated, its blob id computed, and kept. As
/// [`valid_plan`], only valid plans are kept.
pub fn valid_plan_of_bytes(
    repo: &Repo,
    bytes: Vec<u8>,
    validate: impl FnOnce(Vec<u8>) -> Result<Plan, PlanError>,
) -> Result<(Plan, Option<Oid>), PlanError> {
    use sha2::{Digest, Sha256};
    let cache = Cache::new(repo, "plans", 4, "bin");
    let digest = Sha256::digest(&bytes);
    let key: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if let Some((blob, mut plan)) = cache.get_value::<(String, Plan)>(&key)
        && let Ok(id) = Oid::from_str(&blob)
    {
        plan.blob = Some(blob);
        return Ok((plan, Some(id)));
    }
    let blob = crate::git::blob_id(&bytes);
    let mut plan = validate(bytes)?;
    plan.blob = blob.map(|b| b.to_string());
    if let Some(blob) = blob {
        cache.put_value(&key, &(blob.to_string(), &plan));
    }
    Ok((plan, blob))
}
