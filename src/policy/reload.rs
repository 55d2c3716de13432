//! The live policy set ([`Policies`]) and its reload: the directory is read whole, hashed,
//! and re-parsed only when the hash changes; an invalid new set is logged and the previous
//! set stays in force. In-flight requests keep the `Arc<PolicySet>` they started with, so a
//! reload never drops or disturbs a connection. The built-in set (and none) never reloads.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{PolicyError, PolicySet, PolicySource};

/// The live, reloadable policy set.
#[derive(Debug)]
pub struct Policies {
    /// The directory to reload from (`None`: the built-in set or none, which never change).
    dir: Option<PathBuf>,
    current: RwLock<Arc<PolicySet>>,
    /// Hash of the directory content last looked at (loaded or rejected).
    seen: Mutex<Option<Vec<u8>>>,
}

/// Outcome of one reload check.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    /// No directory (built-in set, or none), or its content did not change.
    Unchanged,
    /// A new set is in force.
    Loaded,
}

impl Policies {
    /// Load the policies of `source`; only a directory is ever reloaded.
    pub fn new(source: PolicySource) -> Result<Self, PolicyError> {
        let (dir, set, seen) = match source {
            PolicySource::Builtin => (None, source.load()?, None),
            PolicySource::Off => (None, PolicySet::empty(), None),
            PolicySource::Dir(d) => {
                let files = read_dir(&d)?;
                let set = PolicySet::from_files(&files)?;
                (Some(d), set, Some(fingerprint(&files)))
            }
        };
        Ok(Policies {
            dir,
            current: RwLock::new(Arc::new(set)),
            seen: Mutex::new(seen),
        })
    }

    /// A fixed set that never reloads (tests, embedding).
    pub fn fixed(set: PolicySet) -> Self {
        Policies {
            dir: None,
            current: RwLock::new(Arc::new(set)),
            seen: Mutex::new(None),
        }
    }

    /// The set in force now.
    pub fn current(&self) -> Arc<PolicySet> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Re-read the directory; load a new set if its content changed. An error leaves the
    /// current set in force (and the same content is not reported again).
    pub fn reload_now(&self) -> Result<Reload, PolicyError> {
        let Some(dir) = &self.dir else {
            return Ok(Reload::Unchanged);
        };
        let files = read_dir(dir)?;
        let hash = fingerprint(&files);
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.as_deref() == Some(hash.as_slice()) {
                return Ok(Reload::Unchanged);
            }
            *seen = Some(hash);
        }
        let set = PolicySet::from_files(&files)?;
        let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
        *guard = Arc::new(set);
        Ok(Reload::Loaded)
    }

    /// Check the directory every `every` until `shutdown` resolves (nothing to do without a
    /// directory or with a zero interval). Must be called inside a Tokio runtime.
    pub fn spawn_reload(self: &Arc<Self>, every: Duration, shutdown: impl Future + Send + 'static) {
        if self.dir.is_none() || every.is_zero() {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            tokio::pin!(shutdown);
            loop {
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = ticker.tick() => {}
                }
                let worker = Arc::clone(&this);
                match tokio::task::spawn_blocking(move || worker.reload_now()).await {
                    Ok(Ok(Reload::Unchanged)) => {}
                    Ok(Ok(Reload::Loaded)) => {
                        let set = this.current();
                        tracing::info!(policies = ?set.names(), files = ?set.files(), "policies reloaded");
                    }
                    Ok(Err(error)) => {
                        tracing::error!(%error, "policy reload rejected; the previous policies stay in force");
                    }
                    Err(error) => tracing::error!(%error, "policy reload task failed"),
                }
            }
        });
    }
}

/// `(file name, text)` of every `*.yaml` / `*.yml` file directly in `dir`, in name order;
/// names starting with `.` are skipped (a mounted ConfigMap's `..data` and timestamped
/// directories), symbolic links are followed.
pub fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, PolicyError> {
    let io = |path: &Path, source| PolicyError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_policy = name.ends_with(".yaml") || name.ends_with(".yml");
        if name.starts_with('.') || !is_policy {
            continue;
        }
        let path = entry.path();
        if std::fs::metadata(&path)
            .map_err(|e| io(&path, e))?
            .is_file()
        {
            names.push((name, path));
        }
    }
    names.sort();
    names
        .into_iter()
        .map(|(name, path)| {
            let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            Ok((name, text))
        })
        .collect()
}

/// sha256 over every file's name and text.
fn fingerprint(files: &[(String, String)]) -> Vec<u8> {
    let mut h = Sha256::new();
    for (name, text) in files {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    h.finalize().to_vec()
}
