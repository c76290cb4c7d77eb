//! Files the service writes for clients (sheets, screenshots), served from `GET /files/{name}`.
//!
//! Names are generated here and never contain user input, so serving checks a name against
//! a strict pattern and this one directory; anything else is refused. Each name carries 128
//! random bits, so a file URL works as a capability: existing clients download it directly,
//! and nobody can guess another client's sheet or screenshot. A timer deletes files older
//! than `files.retention`.
//!
//! Cluster mode: each file is also put in the cluster's `files` object store (kept for
//! `files.retention`), and a name not found here is fetched from there, so a URL handed out
//! by one node downloads from any node.

use crate::cluster::Cluster;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
    retention: Duration,
    /// Cluster mode: the cluster whose object store every file is copied to.
    mirror: Mirror,
}

/// Shared by every clone, so setting it once reaches the handlers' copies.
#[derive(Clone, Default)]
struct Mirror(Arc<OnceLock<Cluster>>);

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "cluster"
        } else {
            "none"
        })
    }
}

/// A put or a fetch of the object store waits at most this long (the request waits).
const OBJECT_TIMEOUT: Duration = Duration::from_secs(10);

impl FileStore {
    pub fn new(dir: PathBuf, retention: Duration) -> std::io::Result<FileStore> {
        std::fs::create_dir_all(&dir)?;
        Ok(FileStore {
            dir,
            retention,
            mirror: Mirror::default(),
        })
    }

    /// Cluster mode: copy every file written from now on to the cluster's object store, and
    /// look there for names not found here. Set once; later calls change nothing.
    pub fn mirror_to(&self, cluster: Cluster) {
        let _ = self.mirror.0.set(cluster);
    }

    /// Put a file just written in the object store, before its URL goes out: another node
    /// may be asked for it at once. A failure is logged, not the request's: the file still
    /// downloads from this node.
    async fn mirror(&self, name: &str, bytes: &[u8]) {
        let Some(cluster) = self.mirror.0.get() else {
            return;
        };
        let Some(link) = cluster.link().filter(|_| cluster.connected()) else {
            tracing::warn!(
                event = "file_not_mirrored",
                reason = "NATS unreachable",
                "a file written now downloads from this node only"
            );
            return;
        };
        let mut reader = bytes;
        // Boxed: the object store's put is a large future, polled under warp's deep stack.
        let put = Box::pin(link.files.put(name, &mut reader));
        match tokio::time::timeout(OBJECT_TIMEOUT, put).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(event = "file_not_mirrored", error = %e),
            Err(_) => tracing::warn!(event = "file_not_mirrored", reason = "timeout"),
        }
    }

    /// Cluster mode: the bytes of a file another node wrote, from the object store.
    pub async fn fetch_mirrored(&self, name: &str) -> Option<Vec<u8>> {
        if !valid_name(name) {
            return None;
        }
        let cluster = self.mirror.0.get()?;
        let link = cluster.link().filter(|_| cluster.connected())?;
        let read = async {
            use tokio::io::AsyncReadExt;
            let mut object = Box::pin(link.files.get(name)).await.ok()?;
            let mut bytes = Vec::new();
            object.read_to_end(&mut bytes).await.ok()?;
            Some(bytes)
        };
        tokio::time::timeout(OBJECT_TIMEOUT, Box::pin(read))
            .await
            .ok()
            .flatten()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write `bytes` as `<kind>_<UTC time>_<128 random bits>.<ext>` and return the name.
    pub async fn save(&self, kind: &str, ext: &str, bytes: Vec<u8>) -> std::io::Result<String> {
        let name = new_name(kind, ext);
        tokio::fs::write(self.dir.join(&name), &bytes).await?;
        // Boxed: a file is saved deep inside a booking's or a request's future, and the
        // mirror's state (a timeout around an object-store put) would grow every one of them.
        Box::pin(self.mirror(&name, &bytes)).await;
        Ok(name)
    }

    /// A ZIP of `entries` (name, bytes), saved like [`FileStore::save`] with extension `zip`;
    /// returns the file name. PNGs are stored as they are (deflating them gains nothing and
    /// costs CPU), everything else is deflated. Entry names are reduced to `[A-Za-z0-9._-]`
    /// without leading dots (a label may come from a client, and an unzip must not leave
    /// its folder) and made unique. Compressing and writing run on the blocking pool.
    pub async fn save_zip(
        &self,
        kind: &str,
        entries: Vec<(String, Vec<u8>)>,
    ) -> std::io::Result<String> {
        let name = new_name(kind, "zip");
        let path = self.dir.join(&name);
        let bytes = tokio::task::spawn_blocking(move || {
            let bytes = zip_bytes(entries)?;
            std::fs::write(path, &bytes).map(|()| bytes)
        })
        .await
        .map_err(std::io::Error::other)??;
        // Boxed: a file is saved deep inside a booking's or a request's future, and the
        // mirror's state (a timeout around an object-store put) would grow every one of them.
        Box::pin(self.mirror(&name, &bytes)).await;
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

    /// Delete files older than the retention period; returns how many. The directory scan
    /// and the deletes run on the blocking pool: a large or slow directory must not stall
    /// the runtime's workers, which serve every request.
    pub async fn sweep(&self) -> usize {
        let (dir, retention) = (self.dir.clone(), self.retention);
        tokio::task::spawn_blocking(move || sweep_dir(&dir, retention))
            .await
            .unwrap_or(0)
    }

    /// Sweep on a timer until the returned task is aborted.
    pub fn spawn_sweeper(&self) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        let every = (self.retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let removed = store.sweep().await;
                if removed > 0 {
                    tracing::info!(event = "files_expired", removed);
                }
            }
        })
    }
}

fn new_name(kind: &str, ext: &str) -> String {
    let random: u128 = rand::random();
    format!(
        "{kind}_{}_{random:032x}.{ext}",
        chrono::Utc::now().format("%Y%m%d_%H%M%S")
    )
}

fn sweep_dir(dir: &Path, retention: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default() > retention)
            .unwrap_or(false);
        if old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The archive in memory: debug bundles are a few screenshots, not worth streaming.
fn zip_bytes(entries: Vec<(String, Vec<u8>)>) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    use zip::CompressionMethod::{Deflated, Stored};
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let now = chrono::Utc::now().naive_utc();
    let stamp = {
        use chrono::{Datelike, Timelike};
        zip::DateTime::from_date_and_time(
            now.year().clamp(1980, 2107) as u16,
            now.month() as u8,
            now.day() as u8,
            now.hour() as u8,
            now.minute() as u8,
            now.second() as u8,
        )
        .unwrap_or_default()
    };
    let mut taken = std::collections::HashSet::new();
    for (name, bytes) in entries {
        let name = unique(entry_name(&name), &mut taken);
        let method = if name.ends_with(".png") {
            Stored
        } else {
            Deflated
        };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(stamp);
        writer
            .start_file(name, options)
            .map_err(std::io::Error::other)?;
        writer.write_all(&bytes)?;
    }
    Ok(writer.finish().map_err(std::io::Error::other)?.into_inner())
}

fn entry_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.');
    if clean.is_empty() {
        "entry".to_string()
    } else {
        clean.chars().take(120).collect()
    }
}

/// `shot.png`, `shot-2.png`, ...: the ZIP format allows one entry per name.
fn unique(name: String, taken: &mut std::collections::HashSet<String>) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem.to_string(), format!(".{ext}")),
        _ => (name.clone(), String::new()),
    };
    let mut candidate = name;
    let mut n = 1;
    while !taken.insert(candidate.clone()) {
        n += 1;
        candidate = format!("{stem}-{n}{ext}");
    }
    candidate
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
        && matches!(ext, "xlsx" | "png" | "json" | "zip")
}

/// The `Content-Type` to serve a stored file with, from its extension.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("zip") => "application/zip",
        _ => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
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
        assert_eq!(store.sweep().await, 0);
        let expired = FileStore::new(dir.path().join("files"), Duration::ZERO).unwrap();
        // mtime has a coarse clock on some filesystems: age the files past "now".
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(expired.sweep().await, 2);
        assert!(store.path(&name).is_none());
    }

    #[tokio::test]
    async fn the_sweeper_removes_expired_files_on_its_timer() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().to_path_buf(), Duration::ZERO).unwrap();
        let name = store.save("shot", "png", vec![1]).await.unwrap();
        let zip = store.save_zip("bundle", vec![]).await.unwrap();
        let sweeper = store.spawn_sweeper();
        let start = std::time::Instant::now();
        while store.path(&name).is_some() || store.path(&zip).is_some() {
            assert!(start.elapsed() < Duration::from_secs(10), "not swept");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sweeper.abort();
    }

    #[tokio::test]
    async fn save_zip_keeps_every_entry_intact() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().to_path_buf(), Duration::from_secs(3600)).unwrap();
        // Not really a PNG: stored means byte for byte, whatever the content.
        let png: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let json = br#"{"steps":["login","grid","grid","grid","grid"]}"#.repeat(50);
        let entries = vec![
            ("01_grid.png".to_string(), png.clone()),
            ("01_grid.png".to_string(), vec![9, 9]),
            ("../../etc/passwd label.png".to_string(), vec![1]),
            ("bundle.json".to_string(), json.clone()),
        ];
        let name = store.save_zip("debug_bundle", entries).await.unwrap();
        assert!(
            name.starts_with("debug_bundle_") && name.ends_with(".zip"),
            "{name}"
        );
        assert!(valid_name(&name), "{name}");
        assert_eq!(content_type(&name), "application/zip");
        let random = name.trim_end_matches(".zip").rsplit('_').next().unwrap();
        assert_eq!(
            random.len(),
            32,
            "unguessable like every other file: {name}"
        );

        let file = std::fs::File::open(store.path(&name).unwrap()).unwrap();
        let mut archive = zip::ZipArchive::new(file).unwrap();
        let mut read = |entry: &str| {
            use std::io::Read;
            let mut f = archive.by_name(entry).unwrap();
            let method = f.compression();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (method, bytes)
        };
        assert_eq!(read("01_grid.png"), (zip::CompressionMethod::Stored, png));
        assert_eq!(read("01_grid-2.png").1, vec![9, 9]);
        assert_eq!(read("_.._etc_passwd_label.png").1, vec![1]);
        let (method, bytes) = read("bundle.json");
        assert_eq!(method, zip::CompressionMethod::Deflated);
        assert_eq!(bytes, json);
        assert_eq!(archive.len(), 4);
    }
}
