//! `faultline check FILE...`: check history files against consistency models, through the one
//! checking path of [`checkers::suite`] (the same `checkers` map `analyze` and `test` write).

use checkers::consistency::Ladder;
use checkers::linear::{self, ModelKind, Report};
use checkers::suite::{self, Checker, Detail, SuiteReport};
use checkers::Validity;
use clap::Args;
use histories::{Format, History};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// History files (JSONL, Jepsen history.edn, Porcupine etcd or kv logs).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The sequential model: register, cas-register, kv, porcupine-kv, or Knossos's mutex,
    /// multi-register, set, unordered-queue, fifo-queue. Default: inferred from the operations
    /// (get/put/append: porcupine-kv; acquire/release: mutex; enqueue/dequeue: unordered-queue;
    /// txns of [read k v]/[write k v]: multi-register; keys: kv; a cas: cas-register; else
    /// register). Naming one runs the linearizability checker on any history.
    #[arg(long)]
    pub model: Option<String>,
    /// The history format: auto, jsonl, edn, porcupine-etcd or porcupine-kv.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Time budget per key, in seconds; a key not decided within it is unknown.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    /// Memory budget per key, in MiB; a key needing more is unknown.
    #[arg(long, default_value_t = 1024)]
    pub memory_mb: usize,
    /// Stop at the first illegal key (the others are left unchecked).
    #[arg(long)]
    pub fail_fast: bool,
    /// One JSON object per file on standard output instead of text.
    #[arg(long)]
    pub json: bool,
    /// Never take the zone test; always use the general search.
    #[arg(long)]
    pub no_zone: bool,
    /// Checkers to run, comma-separated: linearizable, zookeeper, sequential, causal-memory,
    /// causal-convergence, causal, set, Jepsen's set-full, counter, bank, unique-ids and
    /// long-fork, and the transaction models. Default: linearizable, plus every other model when
    /// the history is a read/write history with unique written values per key; set for adds and
    /// whole-set reads, and set-full too when reads run while the set grows; counter, bank,
    /// unique-ids and long-fork by their operations.
    #[arg(long, visible_aliases = ["checkers", "checker"])]
    pub consistency: Option<String>,
    /// Also write the anomaly report of the (one) history to this HTML file.
    #[arg(long, value_name = "OUT.html")]
    pub report: Option<PathBuf>,
}

/// Runs the command; returns the process exit code of Contract 4.
pub fn run(args: CheckArgs) -> ExitCode {
    let format = match args.format.as_str() {
        "auto" => None,
        f => match f.parse::<Format>() {
            Ok(f) => Some(f),
            Err(e) => return bad_input(&format!("--format: {e}")),
        },
    };
    let model = match args.model.as_deref().map(str::parse::<ModelKind>) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => return bad_input(&format!("--model: {e}")),
    };
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        return bad_input("--timeout must be a positive number of seconds");
    }
    if args.memory_mb == 0 {
        return bad_input("--memory-mb must be at least 1");
    }
    let requested: Option<Vec<&'static dyn Checker>> =
        match args.consistency.as_deref().map(suite::parse_list) {
            None => None,
            Some(Ok(m)) => Some(m),
            Some(Err(e)) => return bad_input(&format!("--consistency: {e}")),
        };
    if args.report.is_some() && args.files.len() != 1 {
        return bad_input("--report writes the report of one history: give exactly one FILE");
    }
    let opts = suite::Options {
        model,
        timeout: Duration::from_secs_f64(args.timeout),
        max_bytes: args.memory_mb.saturating_mul(1 << 20),
        fail_fast: args.fail_fast,
        zone: !args.no_zone,
    };
    let mut overall = Validity::Valid;
    let mut bad = false;
    for file in &args.files {
        let t_parse = Instant::now();
        let (fmt, history) = match histories::load_file(file, format) {
            Ok(x) => x,
            Err(e) => {
                bad = true;
                report_bad_file(file, &e.to_string(), args.json);
                continue;
            }
        };
        let parse_seconds = t_parse.elapsed().as_secs_f64();
        if let Some(t) = &history.torn {
            eprintln!("faultline check: {}: {t}", file.display());
        }
        if let Some(r) = &history.time_reversals {
            eprintln!("faultline check: {}: warning: {r}", file.display());
        }
        let report = match suite::check(&history, requested.as_deref(), &opts) {
            Ok(r) => r,
            Err(e) => {
                bad = true;
                report_bad_file(file, &e.to_string(), args.json);
                continue;
            }
        };
        overall = overall.and(report.valid);
        let out = Outcome {
            file,
            fmt,
            history: &history,
            report: &report,
            parse_seconds,
        };
        if args.json {
            println!("{}", file_json(&out));
        } else {
            print!("{}", file_text(&out));
        }
        if let Some(path) = &args.report {
            if let Err(e) = write_report(path, &out) {
                // The path is the user's choice: a bad argument.
                return bad_input(&format!("--report: {e}; give a writable path"));
            }
            eprintln!("faultline check: report written to {}", path.display());
        }
    }
    if bad {
        return ExitCode::from(crate::EXIT_BAD_INPUT);
    }
    ExitCode::from(overall.exit_code() as u8)
}

fn bad_input(msg: &str) -> ExitCode {
    eprintln!("faultline check: {msg}");
    ExitCode::from(crate::EXIT_BAD_INPUT)
}

fn report_bad_file(file: &std::path::Path, msg: &str, json: bool) {
    eprintln!(
        "faultline check: {} is not a readable history: {msg}. Fix the file or force its format with --format.",
        file.display()
    );
    if json {
        println!(
            "{}",
            json!({"file": file.display().to_string(), "valid": "unknown", "error": msg})
        );
    }
}

/// Everything known about one checked file.
struct Outcome<'a> {
    file: &'a std::path::Path,
    fmt: Format,
    history: &'a History,
    report: &'a SuiteReport,
    parse_seconds: f64,
}

impl Outcome<'_> {
    fn linear(&self) -> Option<&Report> {
        self.report
            .checkers
            .iter()
            .find_map(|(_, r)| match &r.detail {
                Detail::Linear(l) => Some(l),
                _ => None,
            })
    }

    fn ladder(&self) -> Option<&Ladder> {
        self.report.ladder.as_ref()
    }

    fn others(&self) -> impl Iterator<Item = (&'static str, &checkers::suite::CheckerReport)> {
        self.report
            .checkers
            .iter()
            .filter(|(_, r)| !matches!(r.detail, Detail::Linear(_)))
            .map(|(n, r)| (*n, r))
    }
}

fn verdict_word(v: Validity) -> &'static str {
    match v {
        Validity::Valid => "linearizable",
        Validity::Invalid => "NOT linearizable",
        Validity::Unknown => "unknown",
    }
}

fn file_text(o: &Outcome) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let (h, file) = (o.history, o.file);
    let Some(r) = o.linear() else {
        let _ = writeln!(s, "{}: {}", file.display(), o.report.valid.as_str());
        let _ = writeln!(
            s,
            "  {} operations, {} processes, {} format; parsed in {:.1} ms",
            h.ops.len(),
            h.processes(),
            o.fmt.name(),
            o.parse_seconds * 1e3
        );
        others_text(&mut s, o);
        return s;
    };
    let _ = writeln!(
        s,
        "{}: {} ({} model)",
        file.display(),
        verdict_word(r.valid),
        r.model
    );
    let _ = writeln!(
        s,
        "  {} operations, {} key{}, {} processes, {} format; parsed in {:.1} ms, checked in {:.1} ms",
        h.ops.len(),
        r.keys.len(),
        if r.keys.len() == 1 { "" } else { "s" },
        h.processes(),
        o.fmt.name(),
        o.parse_seconds * 1e3,
        r.check_seconds * 1e3
    );
    let mut slow: Vec<_> = r.keys.iter().filter(|k| k.method != "skipped").collect();
    slow.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    let shown: Vec<String> = slow
        .iter()
        .take(3)
        .map(|k| {
            format!(
                "{} {:.1} ms ({}, {} ops)",
                key_name(&k.key, r.model),
                k.seconds * 1e3,
                k.method,
                k.ops
            )
        })
        .collect();
    if !shown.is_empty() {
        let _ = writeln!(s, "  slowest keys: {}", shown.join("; "));
    }
    for k in &r.keys {
        if k.valid == Validity::Unknown {
            let _ = writeln!(
                s,
                "  {} undecided: {}",
                key_name(&k.key, r.model),
                k.reason.as_deref().unwrap_or("unknown")
            );
        }
    }
    for k in r.keys.iter().filter(|k| k.anomaly.is_some()) {
        let a = k.anomaly.as_ref().expect("filtered");
        let _ = writeln!(
            s,
            "  {} is not linearizable: {}",
            key_name(&k.key, r.model),
            a.explanation
        );
        let _ = writeln!(s, "    operations that cannot all be linearized:");
        const SHOWN: usize = 12;
        for o in a.ops.iter().take(SHOWN) {
            let _ = writeln!(
                s,
                "      line {:>6}  {}",
                o.line,
                linear::explain::abbreviate(&o.text, 120)
            );
        }
        if a.ops.len() > SHOWN {
            let _ = writeln!(
                s,
                "      … and {} more (all of them with --json)",
                a.ops.len() - SHOWN
            );
        }
        if let Some(p) = a.details.get("longest_linearizable_prefix") {
            let _ = writeln!(
                s,
                "    longest linearizable prefix found: {} operations",
                p["length"]
            );
        }
    }
    others_text(&mut s, o);
    s
}

fn others_text(s: &mut String, o: &Outcome) {
    use std::fmt::Write;
    for (_, r) in o.others() {
        let text = match &r.detail {
            Detail::Model(m) => m.to_text(),
            _ => checker_text(r),
        };
        for line in text.lines() {
            let _ = writeln!(s, "  {line}");
        }
    }
    if let Some(l) = o.ladder() {
        let _ = writeln!(s, "  {}", l.summary);
    }
}

/// A checker without a text of its own: its explanation, then each anomaly and its operations.
fn checker_text(r: &checkers::suite::CheckerReport) -> String {
    let mut s = format!("{}\n", r.explanation);
    for a in &r.anomalies {
        s.push_str(&format!("  {}: {}\n", a.kind, a.explanation));
        for o in a.ops.iter().take(12) {
            s.push_str(&format!("    op {} (line {}): {}\n", o.op, o.line, o.text));
        }
    }
    s
}

/// A key as the text names it; the history's only object by its model ("the mutex", …).
fn key_name(k: &str, model: &str) -> String {
    if k.is_empty() {
        match model {
            "mutex" => "the mutex",
            "set" => "the set",
            "multi-register" => "the registers",
            "unordered-queue" | "fifo-queue" => "the queue",
            _ => "the register",
        }
        .to_string()
    } else {
        format!("key {k:?}")
    }
}

fn file_json(o: &Outcome) -> Value {
    let mut v = json!({
        "file": o.file.display().to_string(),
        "format": o.fmt.name(),
        "valid": o.report.valid,
        "operations": o.history.ops.len(),
        "processes": o.history.processes(),
        "parse_seconds": o.parse_seconds,
        "checkers": o.report.checkers_json(),
    });
    if let Some(t) = &o.history.torn {
        v["torn_line"] = json!(t.line);
    }
    if let Some(r) = &o.history.time_reversals {
        v["time_reversals"] =
            json!({"count": r.count, "first_line": r.first_line, "warning": r.to_string()});
    }
    if let Some(r) = o.linear() {
        let anomalies: Vec<_> = r.anomalies().cloned().collect();
        v["model"] = json!(r.model);
        v["check_seconds"] = json!(r.check_seconds);
        v["explain_seconds"] = json!(r.explain_seconds);
        v["keys"] = json!(r.keys);
        v["anomalies"] = json!(anomalies);
    }
    if let Some(l) = o.ladder() {
        v["ladder"] = json!(l);
    }
    v
}

/// The report of one checked history (no run: no test.json, no node logs).
fn write_report(path: &std::path::Path, o: &Outcome) -> Result<(), harness::report::ReportError> {
    let results = json!({
        "valid": o.report.valid,
        "checkers": o.report.checkers_json(),
        "explanation": o.report.explanation(),
    });
    let title = o
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| o.file.display().to_string());
    let input = harness::report::Input {
        title,
        source: o.file.display().to_string(),
        history: o.history,
        results: &results,
        test: None,
        node_logs: Vec::new(),
    };
    harness::report::write_file(path, &harness::report::render(&input))
}
