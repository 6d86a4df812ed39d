//! # ipcemu-vfs
//!
//! A host folder (`--root DIR`) seen as the KolibriOS file namespace, with no way out of it.
//!
//! * **Mapping.** A KolibriOS path `/dev/part/rest` is the host path `DIR/dev/part/rest` with
//!   `dev` and `part` in lower case (`/RD/1/x` is `DIR/rd/1/x`); `/sys/rest` is `/rd/1/rest`, as
//!   in a kernel booted from the RAM disk. `/`, `/dev` and `/dev/part` are the kernel's virtual
//!   folders: they can be listed and queried, never written.
//! * **Resolution.** The path is split into components and walked one by one from the
//!   canonical root: `.` is skipped, `..` goes up one component of the KolibriOS path and is an
//!   error above `/` ([`VfsError::NotFound`], as the kernel's `getFullPath` fails), a component
//!   that is a symbolic link is followed only when its canonical target is inside the root
//!   ([`VfsError::Escape`] otherwise, also for a link whose target does not exist), and a name
//!   not found with its exact case is looked up case-insensitively (FAT semantics; the first
//!   match in byte order). Absolute host paths have no meaning: `/etc/passwd` is
//!   `DIR/etc/passwd`.
//! * **Operations** return typed errors ([`VfsError`]) that a personality maps to its kernel's
//!   codes; sizes are capped ([`Vfs::max_file_size`]) so a guest cannot make the host allocate
//!   or write without bound. Folder listings are sorted by name (deterministic).

#![warn(missing_docs)]

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Why a file operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VfsError {
    /// No such file or folder (or a `..` above `/`).
    #[error("{0}: no such file or folder")]
    NotFound(String),
    /// The path leads out of the root (a symbolic link whose target is outside it).
    #[error("{0}: the path leads out of the root folder")]
    Escape(String),
    /// The file system is read-only (`--root-ro`), or the path is one of the virtual folders.
    #[error("{0}: the file system is read-only here")]
    ReadOnly(String),
    /// The operation needs a file and this is a folder, or the reverse, or the folder is not
    /// empty.
    #[error("{0}: {1}")]
    Denied(String, &'static str),
    /// The size would pass [`Vfs::max_file_size`].
    #[error("{0}: larger than the file-size limit")]
    TooLarge(String),
    /// A host I/O error.
    #[error("{0}: {1}")]
    Io(String, io::Error),
}

/// Result of the file operations.
pub type Result<T> = std::result::Result<T, VfsError>;

/// What the file system knows about one file or folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// A folder.
    pub is_dir: bool,
    /// Size in bytes (0 for folders).
    pub size: u64,
    /// Not writable by the host user.
    pub readonly: bool,
    /// Modification time, seconds since 1970 (0 when unknown).
    pub mtime: u64,
}

/// One entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File name (UTF-8; other bytes replaced).
    pub name: String,
    /// Its metadata.
    pub meta: Meta,
}

/// A resolved path.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The host path (inside the root).
    pub host: PathBuf,
    /// Whether it exists.
    pub exists: bool,
    /// Number of KolibriOS components after mapping (`/` = 0, `/rd` = 1, `/rd/1` = 2).
    pub depth: usize,
    /// The normalised KolibriOS path (for messages and traces).
    pub path: String,
}

/// The sandboxed file system.
#[derive(Debug, Clone)]
pub struct Vfs {
    root: PathBuf,
    /// Refuse every write.
    pub read_only: bool,
    /// Largest file a guest may create or grow (bytes).
    pub max_file_size: u64,
}

/// Default [`Vfs::max_file_size`]: 256 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 << 20;

fn io_err(path: &str, e: io::Error) -> VfsError {
    match e.kind() {
        io::ErrorKind::NotFound => VfsError::NotFound(path.to_string()),
        io::ErrorKind::PermissionDenied => VfsError::Denied(path.to_string(), "access denied"),
        _ => VfsError::Io(path.to_string(), e),
    }
}

fn meta_of(m: &fs::Metadata) -> Meta {
    Meta {
        is_dir: m.is_dir(),
        size: if m.is_dir() { 0 } else { m.len() },
        readonly: m.permissions().readonly(),
        mtime: m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs()),
    }
}

impl Vfs {
    /// The file system rooted at host folder `root` (which must exist).
    pub fn new(root: &Path, read_only: bool) -> io::Result<Vfs> {
        let root = root.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a folder", root.display()),
            ));
        }
        Ok(Vfs {
            root,
            read_only,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        })
    }

    /// The canonical host root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The KolibriOS components of `path` after `.`/`..` and the `/sys` alias, device and
    /// partition names in lower case. `path` must be absolute (start with `/`).
    pub fn components(path: &str) -> Result<Vec<String>> {
        if !path.starts_with('/') {
            return Err(VfsError::NotFound(path.to_string()));
        }
        let mut out: Vec<String> = Vec::new();
        for c in path.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    if out.pop().is_none() {
                        return Err(VfsError::NotFound(path.to_string()));
                    }
                }
                c => out.push(c.to_string()),
            }
        }
        if out.first().is_some_and(|d| d.eq_ignore_ascii_case("sys")) {
            out.splice(0..1, ["rd".to_string(), "1".to_string()]);
        }
        for c in out.iter_mut().take(2) {
            *c = c.to_ascii_lowercase();
        }
        Ok(out)
    }

    /// Resolve a KolibriOS path (see the crate documentation). The last component need not
    /// exist; every other one must be a folder.
    pub fn resolve(&self, path: &str) -> Result<Resolved> {
        let comps = Self::components(path)?;
        let norm = format!("/{}", comps.join("/"));
        let mut cur = self.root.clone();
        let n = comps.len();
        for (i, c) in comps.iter().enumerate() {
            let last = i + 1 == n;
            let mut cand = cur.join(c);
            let mut meta = fs::symlink_metadata(&cand);
            if meta.is_err() {
                if let Some(found) = self.find_nocase(&cur, c) {
                    cand = cur.join(found);
                    meta = fs::symlink_metadata(&cand);
                }
            }
            match meta {
                Ok(m) => {
                    if m.file_type().is_symlink() {
                        cand = self.follow(&cand, &norm)?;
                    }
                    if !last && !cand.is_dir() {
                        return Err(VfsError::NotFound(norm));
                    }
                    cur = cand;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && last => {
                    return Ok(Resolved {
                        host: cand,
                        exists: false,
                        depth: n,
                        path: norm,
                    });
                }
                Err(e) => return Err(io_err(&norm, e)),
            }
        }
        Ok(Resolved {
            host: cur,
            exists: true,
            depth: n,
            path: norm,
        })
    }

    /// The canonical target of the symbolic link `link` if it is inside the root.
    fn follow(&self, link: &Path, norm: &str) -> Result<PathBuf> {
        match link.canonicalize() {
            Ok(t) if t.starts_with(&self.root) => Ok(t),
            Ok(t) => {
                tracing::debug!(path = norm, target = %t.display(), "a symbolic link leads out of the root; refused");
                Err(VfsError::Escape(norm.to_string()))
            }
            Err(_) => Err(VfsError::Escape(norm.to_string())),
        }
    }

    /// The first entry of `dir` (byte order) whose name equals `name` ignoring ASCII case.
    fn find_nocase(&self, dir: &Path, name: &str) -> Option<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.eq_ignore_ascii_case(name))
            .collect();
        names.sort();
        names.into_iter().next()
    }

    fn existing(&self, path: &str) -> Result<Resolved> {
        let r = self.resolve(path)?;
        if !r.exists {
            return Err(VfsError::NotFound(r.path));
        }
        Ok(r)
    }

    /// Refuse what is neither a regular file nor a folder (a FIFO or a device would block or
    /// reach the host's hardware).
    fn plain(r: &Resolved) -> Result<()> {
        match fs::metadata(&r.host) {
            Ok(m) if !m.is_file() && !m.is_dir() => {
                Err(VfsError::Denied(r.path.clone(), "not a regular file"))
            }
            _ => Ok(()),
        }
    }

    fn writable(&self, path: &str) -> Result<Resolved> {
        let r = self.resolve(path)?;
        if self.read_only || r.depth < 3 {
            return Err(VfsError::ReadOnly(r.path));
        }
        Self::plain(&r)?;
        Ok(r)
    }

    /// Metadata of a file or folder (`/`, `/dev`, `/dev/part` are folders even when the host
    /// has no such folder).
    pub fn info(&self, path: &str) -> Result<Meta> {
        let r = self.resolve(path)?;
        if !r.exists {
            if r.depth == 0 {
                return Ok(Meta {
                    is_dir: true,
                    size: 0,
                    readonly: true,
                    mtime: 0,
                });
            }
            return Err(VfsError::NotFound(r.path));
        }
        let m = fs::metadata(&r.host).map_err(|e| io_err(&r.path, e))?;
        Ok(meta_of(&m))
    }

    /// Up to `max` bytes of a file from `offset` (fewer at its end).
    pub fn read(&self, path: &str, offset: u64, max: usize) -> Result<Vec<u8>> {
        let r = self.existing(path)?;
        if r.host.is_dir() {
            return Err(VfsError::Denied(r.path, "is a folder"));
        }
        Self::plain(&r)?;
        let mut f = fs::File::open(&r.host).map_err(|e| io_err(&r.path, e))?;
        let len = f.metadata().map_err(|e| io_err(&r.path, e))?.len();
        let want = len.saturating_sub(offset).min(max as u64) as usize;
        let mut buf = vec![0u8; want];
        if want > 0 {
            f.seek(SeekFrom::Start(offset))
                .map_err(|e| io_err(&r.path, e))?;
            let mut got = 0;
            while got < want {
                match f.read(&mut buf[got..]) {
                    Ok(0) => break,
                    Ok(k) => got += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(io_err(&r.path, e)),
                }
            }
            buf.truncate(got);
        }
        Ok(buf)
    }

    /// A whole file, refused when larger than `cap` bytes.
    pub fn load(&self, path: &str, cap: u64) -> Result<Vec<u8>> {
        let m = self.info(path)?;
        if m.is_dir {
            return Err(VfsError::Denied(path.to_string(), "is a folder"));
        }
        if m.size > cap {
            return Err(VfsError::TooLarge(path.to_string()));
        }
        self.read(path, 0, m.size as usize)
    }

    /// The entries of a folder, sorted by name. Symbolic links that lead out of the root and
    /// names that are not UTF-8 are left out.
    pub fn read_dir(&self, path: &str) -> Result<Vec<Entry>> {
        let r = self.resolve(path)?;
        if !r.exists {
            if r.depth == 0 {
                return Ok(Vec::new());
            }
            return Err(VfsError::NotFound(r.path));
        }
        if !r.host.is_dir() {
            return Err(VfsError::Denied(r.path, "is not a folder"));
        }
        let mut out = Vec::new();
        for e in fs::read_dir(&r.host).map_err(|e| io_err(&r.path, e))? {
            let e = e.map_err(|e| io_err(&r.path, e))?;
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            let p = e.path();
            let Ok(lm) = fs::symlink_metadata(&p) else {
                continue;
            };
            let m = if lm.file_type().is_symlink() {
                match self
                    .follow(&p, &r.path)
                    .and_then(|t| fs::metadata(t).map_err(|e| io_err(&r.path, e)))
                {
                    Ok(m) => m,
                    Err(_) => continue,
                }
            } else {
                lm
            };
            out.push(Entry {
                name,
                meta: meta_of(&m),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Create or rewrite a file with `data`.
    pub fn create(&self, path: &str, data: &[u8]) -> Result<()> {
        let r = self.writable(path)?;
        if r.exists && r.host.is_dir() {
            return Err(VfsError::Denied(r.path, "is a folder"));
        }
        if data.len() as u64 > self.max_file_size {
            return Err(VfsError::TooLarge(r.path));
        }
        fs::write(&r.host, data).map_err(|e| io_err(&r.path, e))
    }

    /// Write `data` into an existing file at `offset` (a gap is filled with zeros).
    pub fn write(&self, path: &str, offset: u64, data: &[u8]) -> Result<()> {
        let r = self.writable(path)?;
        if !r.exists {
            return Err(VfsError::NotFound(r.path));
        }
        if r.host.is_dir() {
            return Err(VfsError::Denied(r.path, "is a folder"));
        }
        if offset.saturating_add(data.len() as u64) > self.max_file_size {
            return Err(VfsError::TooLarge(r.path));
        }
        let mut f = fs::OpenOptions::new()
            .write(true)
            .open(&r.host)
            .map_err(|e| io_err(&r.path, e))?;
        f.seek(SeekFrom::Start(offset))
            .and_then(|_| f.write_all(data))
            .map_err(|e| io_err(&r.path, e))
    }

    /// Set the size of an existing file (cut, or extended with zeros).
    pub fn set_size(&self, path: &str, size: u64) -> Result<()> {
        let r = self.writable(path)?;
        if !r.exists {
            return Err(VfsError::NotFound(r.path));
        }
        if r.host.is_dir() {
            return Err(VfsError::Denied(r.path, "is a folder"));
        }
        if size > self.max_file_size {
            return Err(VfsError::TooLarge(r.path));
        }
        fs::OpenOptions::new()
            .write(true)
            .open(&r.host)
            .and_then(|f| f.set_len(size))
            .map_err(|e| io_err(&r.path, e))
    }

    /// Delete a file or an empty folder.
    pub fn delete(&self, path: &str) -> Result<()> {
        let r = self.writable(path)?;
        if !r.exists {
            return Err(VfsError::NotFound(r.path));
        }
        let lm = fs::symlink_metadata(&r.host).map_err(|e| io_err(&r.path, e))?;
        if lm.is_dir() {
            if fs::read_dir(&r.host)
                .map_err(|e| io_err(&r.path, e))?
                .next()
                .is_some()
            {
                return Err(VfsError::Denied(r.path, "the folder is not empty"));
            }
            fs::remove_dir(&r.host).map_err(|e| io_err(&r.path, e))
        } else {
            fs::remove_file(&r.host).map_err(|e| io_err(&r.path, e))
        }
    }

    /// Create a folder (its parent must exist); an existing folder is success.
    pub fn mkdir(&self, path: &str) -> Result<()> {
        let r = self.writable(path)?;
        if r.exists {
            return if r.host.is_dir() {
                Ok(())
            } else {
                Err(VfsError::Denied(r.path, "a file has this name"))
            };
        }
        fs::create_dir(&r.host).map_err(|e| io_err(&r.path, e))
    }

    /// Rename or move `from` to `to` (a file or a folder). The new name must not exist, and
    /// its folder must.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        let a = self.writable(from)?;
        if !a.exists {
            return Err(VfsError::NotFound(a.path));
        }
        let b = self.writable(to)?;
        if b.exists {
            return Err(VfsError::Denied(b.path, "the new name exists"));
        }
        fs::rename(&a.host, &b.host).map_err(|e| io_err(&a.path, e))
    }

    /// Set the read-only flag of an existing file or folder, and its access and modification
    /// times (seconds since 1970; `None` leaves a time as it is).
    pub fn set_info(
        &self,
        path: &str,
        readonly: bool,
        accessed: Option<u64>,
        modified: Option<u64>,
    ) -> Result<()> {
        let r = self.writable(path)?;
        if !r.exists {
            return Err(VfsError::NotFound(r.path));
        }
        let m = fs::metadata(&r.host).map_err(|e| io_err(&r.path, e))?;
        let mut perm = m.permissions();
        if perm.readonly() != readonly {
            perm.set_readonly(readonly);
            fs::set_permissions(&r.host, perm).map_err(|e| io_err(&r.path, e))?;
        }
        let at = |s: u64| UNIX_EPOCH + std::time::Duration::from_secs(s);
        let mut times = fs::FileTimes::new();
        if let Some(a) = accessed {
            times = times.set_accessed(at(a));
        }
        if let Some(m) = modified {
            times = times.set_modified(at(m));
        }
        if accessed.is_some() || modified.is_some() {
            fs::File::open(&r.host)
                .and_then(|f| f.set_times(times))
                .map_err(|e| io_err(&r.path, e))?;
        }
        Ok(())
    }

    /// The host path of an existing file (to start it as a program).
    pub fn host_file(&self, path: &str) -> Result<PathBuf> {
        let r = self.existing(path)?;
        if r.host.is_dir() {
            return Err(VfsError::Denied(r.path, "is a folder"));
        }
        Self::plain(&r)?;
        Ok(r.host)
    }
}

#[cfg(test)]
mod tests;
