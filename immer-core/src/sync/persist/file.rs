//! A saved follower in a file, replaced atomically.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::FollowerStore;

/// A [`FollowerStore`] in one file, replaced atomically: a save writes a temporary file
/// beside it (its name with `.tmp` added), flushes it to the disk, renames it over the file
/// and flushes the directory, so that after a crash at any moment the file holds the record
/// before the save or the one it wrote, whole.
///
/// The directory must exist. One store per file: two processes saving to the same file at
/// once would share the temporary file.
///
/// # Examples
///
/// ```
/// use immer_core::sync::{FileStore, Follower, Leader};
/// use std::sync::Arc;
///
/// let path = std::env::temp_dir().join(format!("immer-doc-{}.json", std::process::id()));
/// let mut store = FileStore::new(&path);
/// let mut leader = Leader::new(Arc::new(Vec::<String>::new()));
/// let mut ann = Follower::new(leader.join(1));
/// ann.edit(|d| d.push("offline".to_owned()));
/// ann.save_to(&mut store).unwrap();
/// drop(ann); // the app is killed
///
/// let again = Follower::<Vec<String>>::load_from(&store).unwrap().expect("saved");
/// assert_eq!(**again.state(), ["offline"]);
/// assert_eq!(again.pending_count(), 1);
/// # std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// A store in the file at `path` (made at the first save).
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore { path: path.into() }
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary file a save writes first, and the directory both are in.
    fn temporary(&self) -> io::Result<(PathBuf, PathBuf)> {
        let Some(name) = self.path.file_name() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} does not name a file", self.path.display()),
            ));
        };
        let mut temporary = name.to_owned();
        temporary.push(".tmp");
        let directory = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        Ok((directory.join(temporary), directory))
    }
}

impl FollowerStore for FileStore {
    fn load(&self) -> io::Result<Option<Vec<u8>>> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn save(&mut self, bytes: &[u8]) -> io::Result<()> {
        let (temporary, directory) = self.temporary()?;
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temporary, &self.path)?;
        sync_directory(&directory)
    }

    fn remove(&mut self) -> io::Result<()> {
        let (temporary, directory) = self.temporary()?;
        for path in [&self.path, &temporary] {
            match fs::remove_file(path) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        sync_directory(&directory)
    }
}

/// Flushes a directory's entries (a rename in it) to the disk, where the system can.
fn sync_directory(directory: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(directory)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a directory as a file; its rename is flushed with the file.
        let _ = directory;
        Ok(())
    }
}
