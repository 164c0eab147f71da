//! The store of runs (Contract 3): `store/<test-name>/<YYYYMMDDTHHMMSS.mmm>/`, and `store/latest`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYYMMDDTHHMMSS.mmm` in UTC.
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, dd) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{dd:02}T{:02}{:02}{:02}.{:03}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Creates a fresh run directory under `store/<name>/` and points `store/latest` at it.
pub fn create_run_dir(store: &Path, name: &str) -> Result<PathBuf, String> {
    let base = store.join(name);
    let mut ts = timestamp(SystemTime::now());
    let mut dir = base.join(&ts);
    let mut n = 1;
    while dir.exists() {
        ts = format!("{}-{n}", timestamp(SystemTime::now()));
        dir = base.join(&ts);
        n += 1;
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create the run directory {}: {e}", dir.display()))?;
    let latest = store.join("latest");
    let _ = std::fs::remove_file(&latest);
    let target = Path::new(name).join(&ts);
    if let Err(e) = std::os::unix::fs::symlink(&target, &latest) {
        tracing::warn!("cannot point {} at the run: {e}", latest.display());
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_calendar_times() {
        assert_eq!(timestamp(UNIX_EPOCH), "19700101T000000.000");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_219_200_123); // 2026-11-21T00:00:00.123Z
        assert_eq!(timestamp(t), "20261121T000000.123");
        let t = UNIX_EPOCH + Duration::from_secs(951_829_261); // 2000-02-29 13:01:01
        assert_eq!(timestamp(t), "20000229T130101.000");
    }

    #[test]
    fn run_dirs_are_distinct_and_latest_follows() {
        let d = tempfile::tempdir().unwrap();
        let a = create_run_dir(d.path(), "t").unwrap();
        let b = create_run_dir(d.path(), "t").unwrap();
        assert_ne!(a, b);
        let latest = std::fs::canonicalize(d.path().join("latest")).unwrap();
        assert_eq!(latest, std::fs::canonicalize(&b).unwrap());
    }
}
