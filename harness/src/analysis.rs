//! Checking a run's history and writing its results.json and report.html (Contract 3):
//! `faultline test` at the end of a run and `faultline analyze` later both come here, and both
//! check through the one path of [`checkers::suite`] — the same checkers, chosen the same way, as `faultline check`.

use crate::runlog::RunLog;
use crate::store::{RunDir, StoreError};
use checkers::suite::{self, SuiteError};
use checkers::Validity;
use histories::History;
use serde_json::{json, Value};
use std::time::Instant;

/// Why a run could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the history cannot be checked: {0}")]
    Suite(#[from] SuiteError),
}

/// A checked history.
pub struct Analysis {
    pub valid: Validity,
    /// The whole of results.json.
    pub results: Value,
    /// The summary and verdict as text.
    pub text: String,
}

/// Checks `h` with the checkers the suite chooses for it and summarizes it.
pub fn analyze(h: &History, opts: &suite::Options) -> Result<Analysis, SuiteError> {
    let (summary, summary_text) = crate::summary::summarize(h);
    let report = suite::check(h, None, opts)?;
    let explanation = report.explanation();
    let text = format!(
        "{summary_text}verdict: {} — {explanation}\n",
        report.valid.as_str().to_uppercase()
    );
    let results = json!({
        "valid": report.valid,
        "checkers": report.checkers_json(),
        "explanation": explanation,
        "summary": summary,
    });
    Ok(Analysis {
        valid: report.valid,
        results,
        text,
    })
}

/// How to check a stored run.
pub struct CheckRun {
    pub opts: suite::Options,
    /// Store the history unchecked (`--no-check`): the verdict is unknown.
    pub no_check: bool,
    /// The journal's figures, kept in results.json.
    pub journal: Option<Value>,
    /// Whether the run was interrupted.
    pub interrupted: bool,
}

/// Reads the run's history, checks it, writes results.json and prints the summary; returns the
/// verdict.
pub fn check_run(run: &RunDir, how: &CheckRun, log: &RunLog) -> Result<Validity, AnalysisError> {
    let h = run.load_history()?;
    if let Some(t) = &h.torn {
        let note = format!("{}: {t}", run.history_path().display());
        log.line(&note);
        eprintln!("faultline: {note}");
    }
    if how.no_check {
        let (summary, text) = crate::summary::summarize(&h);
        let results = json!({"valid": "unknown", "checkers": {}, "explanation": "not checked (--no-check)", "summary": summary, "journal": how.journal});
        run.write_results(&results)?;
        println!("{text}verdict: UNKNOWN — not checked (--no-check)");
        write_report(run, log);
        return Ok(Validity::Unknown);
    }
    let t = Instant::now();
    let mut a = analyze(&h, &how.opts)?;
    if let Some(j) = &how.journal {
        a.results["journal"] = j.clone();
    }
    a.results["interrupted"] = json!(how.interrupted);
    a.results["check_seconds"] = json!(t.elapsed().as_secs_f64());
    run.write_results(&a.results)?;
    log.line(&format!("verdict {}", a.valid.as_str()));
    print!("{}", a.text);
    println!("run stored in {}", run.path().display());
    write_report(run, log);
    Ok(a.valid)
}

/// Writes the run's report.html. A report that cannot be written does not change the verdict:
/// it is said in the log and on standard error.
fn write_report(run: &RunDir, log: &RunLog) {
    let t = Instant::now();
    match crate::report::write_run(run) {
        Ok(p) => {
            log.line(&format!(
                "report {} written in {:.0} ms",
                p.display(),
                t.elapsed().as_secs_f64() * 1e3
            ));
            println!("report {}", p.display());
        }
        Err(e) => {
            log.line(&format!("no report: {e}"));
            eprintln!("faultline: no report: {e}");
        }
    }
}
