//! The store's files over HTTP: a URL path resolved to a file or directory that is inside the
//! store — never outside it, whatever `..`, percent-encoding or symbolic link the path holds —
//! its content type, and a directory as a streamed `.tar.gz`.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Why a path is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing there (404).
    NotFound,
    /// Outside the store, or not a plain path (403).
    Forbidden,
}

/// Decodes `%XX` escapes (and `+` is left as is, as in a path). `None` for a bad escape or
/// bytes that are not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Encodes a relative path for a URL (each component's unsafe bytes as `%XX`).
pub fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The file or directory `rel` (a URL path below the route, still percent-encoded) names
/// inside `root` (canonical). Symbolic links are followed, and what they lead to must be
/// inside the store too.
pub fn resolve(root: &Path, rel: &str) -> Result<PathBuf, Refusal> {
    let decoded = percent_decode(rel).ok_or(Refusal::Forbidden)?;
    if decoded.contains('\0') {
        return Err(Refusal::Forbidden);
    }
    let mut path = root.to_path_buf();
    for part in decoded.split('/').filter(|p| !p.is_empty()) {
        let mut comps = Path::new(part).components();
        match (comps.next(), comps.next()) {
            (Some(Component::Normal(c)), None) => path.push(c),
            _ => return Err(Refusal::Forbidden),
        }
    }
    let real = std::fs::canonicalize(&path).map_err(|_| Refusal::NotFound)?;
    if !real.starts_with(root) {
        return Err(Refusal::Forbidden);
    }
    Ok(real)
}

/// The content type of a stored file: text for histories and logs (shown in the browser, never
/// sniffed as HTML: the server adds `X-Content-Type-Options: nosniff`).
pub fn content_type(path: &Path) -> &'static str {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = name.rsplit('.').next().unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "gz" => "application/gzip",
        "jsonl" | "txt" | "log" | "md" | "edn" | "csv" | "tsv" => "text/plain; charset=utf-8",
        _ if name.contains('.') => "application/octet-stream",
        _ => "text/plain; charset=utf-8",
    }
}

/// Streams `dir` as a gzipped tar (entries under `name/`) into `out`, from a thread; the
/// returned reader yields the archive as it is made.
pub fn tar_gz(dir: PathBuf, name: String) -> std::io::Result<std::io::PipeReader> {
    let (reader, writer) = std::io::pipe()?;
    std::thread::Builder::new()
        .name("faultline-serve-tar".into())
        .spawn(move || {
            let gz = flate2::write::GzEncoder::new(writer, flate2::Compression::fast());
            let mut t = tar::Builder::new(gz);
            t.follow_symlinks(false);
            let r = t
                .append_dir_all(&name, &dir)
                .and_then(|_| t.into_inner()?.finish());
            match r {
                Ok(mut w) => {
                    let _ = w.flush();
                }
                Err(e) => tracing::warn!("archiving {} failed: {e}", dir.display()),
            }
        })?;
    Ok(reader)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_store() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(root.join("t/run")).unwrap();
        std::fs::write(root.join("t/run/report.html"), "x").unwrap();
        std::os::unix::fs::symlink("t/run", root.join("latest")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("escape")).unwrap();
        assert_eq!(
            resolve(&root, "t/run/report.html").unwrap(),
            root.join("t/run/report.html")
        );
        assert_eq!(
            resolve(&root, "latest/report.html").unwrap(),
            root.join("t/run/report.html")
        );
        assert_eq!(
            resolve(&root, "t/%72un/report.html").unwrap(),
            root.join("t/run/report.html")
        );
        assert_eq!(resolve(&root, "").unwrap(), root);
        for bad in [
            "../etc/passwd",
            "t/../../etc",
            "%2e%2e/etc/passwd",
            "t/%2e%2e%2f%2e%2e/x",
            "escape/passwd",
            "a%00b",
            "%zz",
        ] {
            assert_eq!(resolve(&root, bad), Err(Refusal::Forbidden), "{bad}");
        }
        assert_eq!(resolve(&root, "t/none"), Err(Refusal::NotFound));
    }

    #[test]
    fn encoding_round_trips() {
        let p = "t/20261202T075002.967/a b<c>";
        assert_eq!(percent_decode(&percent_encode(p)).unwrap(), p);
        assert_eq!(percent_encode("a b"), "a%20b");
    }

    #[test]
    fn histories_are_text() {
        assert_eq!(
            content_type(Path::new("history.jsonl")),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("report.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("nodes/n1/data/wal/00000001.seg")),
            "application/octet-stream"
        );
    }
}
