//! Files the service writes for clients (sheets, screenshots), served from `GET /files/{name}`.
//!
//! Names are generated here and never contain user input, so serving checks a name against
//! a strict pattern and this one directory; anything else is refused. Each name carries 128
//! random bits, so a file URL works as a capability: existing clients download it directly,
//! and nobody can guess another client's sheet or screenshot. A timer deletes files older
//! than `files.retention`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
    retention: Duration,
}

impl FileStore {
    pub fn new(dir: PathBuf, retention: Duration) -> std::io::Result<FileStore> {
        std::fs::create_dir_all(&dir)?;
        Ok(FileStore { dir, retention })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write `bytes` as `<kind>_<UTC time>_<128 random bits>.<ext>` and return the name.
    pub async fn save(&self, kind: &str, ext: &str, bytes: Vec<u8>) -> std::io::Result<String> {
        let random: u128 = rand::random();
        let name = format!(
            "{kind}_{}_{random:032x}.{ext}",
            chrono::Utc::now().format("%Y%m%d_%H%M%S")
        );
        tokio::fs::write(self.dir.join(&name), bytes).await?;
        Ok(name)
    }

    /// The path of a file this store wrote, if `name` is one.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        if !valid_name(name) {
            return None;
        }
        let path = self.dir.join(name);
        path.is_file().then_some(path)
    }

    /// Delete files older than the retention period; returns how many.
    pub fn sweep(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|t| now.duration_since(t).unwrap_or_default() > self.retention)
                .unwrap_or(false);
            if old && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Sweep on a timer until the returned task is aborted.
    pub fn spawn_sweeper(&self) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        let every = (self.retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let removed = store.sweep();
                if removed > 0 {
                    tracing::info!(event = "files_expired", removed);
                }
            }
        })
    }
}

/// Only names this store generates: letters, digits, `_`, `-`, one `.` before the extension.
pub fn valid_name(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty()
        && stem.len() <= 100
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && matches!(ext, "xlsx" | "png" | "json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape() {
        assert!(valid_name("containers_20251005_183000_0a1b2c3d.xlsx"));
        for bad in [
            "../secret.key",
            "..",
            "a/b.png",
            "a.png/..",
            ".png",
            "x.txt",
            "a..png",
            "%2e%2e.png",
            "",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn saves_serves_and_sweeps() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("files"), Duration::from_secs(3600)).unwrap();
        let name = store.save("shot", "png", vec![1, 2, 3]).await.unwrap();
        // 128 random bits, in hex, end the stem: two saves in the same second differ.
        let random = name.trim_end_matches(".png").rsplit('_').next().unwrap();
        assert_eq!(random.len(), 32, "{name}");
        assert!(random.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
        let other = store.save("shot", "png", vec![4]).await.unwrap();
        assert_ne!(name, other);
        assert_eq!(
            std::fs::read(store.path(&name).unwrap()).unwrap(),
            vec![1, 2, 3]
        );
        assert!(store.path("missing_1.png").is_none());
        assert_eq!(store.sweep(), 0);
        let expired = FileStore::new(dir.path().join("files"), Duration::ZERO).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(expired.sweep(), 2);
        assert!(store.path(&name).is_none());
    }
}
