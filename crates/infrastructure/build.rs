//! Fingerprints the migration files, so that test databases are cloned from a template migrated
//! with exactly these files (`GATEHOUSE_MIGRATIONS_HASH`, read by `testing.rs`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const MIGRATIONS: &str = "../../migrations";

fn main() -> io::Result<()> {
    println!("cargo:rerun-if-changed={MIGRATIONS}");
    let root = Path::new(MIGRATIONS);
    let mut files = Vec::new();
    collect(root, &mut files)?;
    files.sort();
    // FNV-1a, 64 bits: enough to tell two sets of migrations apart, and no dependency.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let relative = file.strip_prefix(root).unwrap_or(&file);
        let bytes = relative
            .to_string_lossy()
            .into_owned()
            .into_bytes()
            .into_iter()
            .chain([0])
            .chain(fs::read(&file)?)
            .chain([0]);
        for byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=GATEHOUSE_MIGRATIONS_HASH={hash:016x}");
    Ok(())
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}
