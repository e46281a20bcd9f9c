//! The door scanner's files, written so that a crash or a power cut never loses what the screen
//! has already said: a whole file is replaced by writing a temporary file, syncing it, renaming it
//! over the old one and syncing the directory; a JSON-lines file is appended to and synced before
//! the caller goes on. A last line cut short by a crash (never confirmed to anyone) is dropped
//! when the file is read again.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Replaces `path` with `bytes` atomically and durably: a reader sees the old file or the new
/// one, never a mix, and once this returns the new one survives a power cut.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent(path)?;
    fs::create_dir_all(dir)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let temporary = dir.join(name);
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, path)?;
    sync_dir(dir)
}

fn parent(path: &Path) -> io::Result<&Path> {
    path.parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a file path without a folder"))
}

/// Makes a directory's entries (a file created or renamed in it) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A file of one JSON document per line, of `T`s, appended to durably.
pub(crate) struct JsonLines<T> {
    path: PathBuf,
    _of: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> JsonLines<T> {
    pub(crate) fn new(path: PathBuf) -> JsonLines<T> {
        JsonLines {
            path,
            _of: PhantomData,
        }
    }

    /// Every line's document, oldest first; none when the file does not exist. A last line cut
    /// short is dropped and the file rewritten without it, so the next append starts a clean line;
    /// a damaged line elsewhere is an error (it is never dropped silently).
    pub(crate) fn read(&self) -> io::Result<Vec<T>> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let complete = bytes.last().is_none_or(|b| *b == b'\n');
        let lines: Vec<&[u8]> = bytes
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .collect();
        let mut torn = false;
        let mut read = Vec::with_capacity(lines.len());
        let last = lines.len().saturating_sub(1);
        for (number, line) in lines.iter().enumerate() {
            match serde_json::from_slice::<T>(line) {
                Ok(item) => read.push(item),
                Err(_) if number == last && !complete => torn = true,
                Err(e) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{} line {}: {e}", self.path.display(), number + 1),
                    ));
                }
            }
        }
        if !complete {
            if torn {
                tracing::warn!(file = %self.path.display(), "dropping a last line cut short");
            }
            self.rewrite(&read)?;
        }
        Ok(read)
    }

    /// Appends one line and syncs it to the disk before returning. On failure the file is cut
    /// back to where it was, so no half line stays behind.
    pub(crate) fn append(&self, item: &T) -> io::Result<()> {
        let mut line = serde_json::to_vec(item).map_err(io::Error::other)?;
        line.push(b'\n');
        let dir = parent(&self.path)?;
        let created = !self.path.exists();
        if created {
            fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let before = file.metadata()?.len();
        let written = file.write_all(&line).and_then(|()| file.sync_data());
        if let Err(e) = written {
            let _ = file.set_len(before);
            return Err(e);
        }
        if created {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// Replaces the whole file with `items`, atomically and durably.
    pub(crate) fn rewrite(&self, items: &[T]) -> io::Result<()> {
        let mut bytes = Vec::new();
        for item in items {
            serde_json::to_writer(&mut bytes, item).map_err(io::Error::other)?;
            bytes.push(b'\n');
        }
        write_atomic(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Line {
        n: u32,
        text: String,
    }

    fn line(n: u32) -> Line {
        Line {
            n,
            text: format!("line {n}"),
        }
    }

    #[test]
    fn lines_appended_are_read_back_in_order_by_a_new_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep").join("q.jsonl");
        let file = JsonLines::<Line>::new(path.clone());
        assert_eq!(file.read().unwrap(), []);
        for n in 1..=3 {
            file.append(&line(n)).unwrap();
        }
        let again = JsonLines::<Line>::new(path);
        assert_eq!(again.read().unwrap(), [line(1), line(2), line(3)]);
        again.rewrite(&[line(3)]).unwrap();
        assert_eq!(file.read().unwrap(), [line(3)]);
        assert!(!dir.path().join("deep").join("q.jsonl.tmp").exists());
    }

    #[test]
    fn a_last_line_cut_short_is_dropped_and_the_next_append_starts_clean() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        let file = JsonLines::<Line>::new(path.clone());
        file.append(&line(1)).unwrap();
        let mut torn = fs::read(&path).unwrap();
        torn.extend_from_slice(br#"{"n":2,"te"#);
        fs::write(&path, torn).unwrap();
        assert_eq!(file.read().unwrap(), [line(1)]);
        file.append(&line(3)).unwrap();
        assert_eq!(file.read().unwrap(), [line(1), line(3)]);
        // A damaged line that is not the last is refused, not skipped.
        let mut damaged = b"{oops}\n".to_vec();
        damaged.extend(fs::read(&path).unwrap());
        fs::write(&path, damaged).unwrap();
        let error = file.read().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn a_whole_file_is_replaced_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["copy.json"]);
    }
}
