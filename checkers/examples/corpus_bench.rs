//! Checks the Porcupine corpus (or any files) and times checking alone, parsing excluded, as
//! Porcupine's reference timings are taken. Median of `--runs` warm runs per file.
//!
//! cargo run --release -p checkers --example corpus_bench -- [--runs 5] [--no-zone] FILE...
//! With `--verdicts PATH/VERDICTS.tsv` it checks the listed files and compares verdicts. Per
//! file it prints the median check and explain times and the operations its witnesses name.

use checkers::linear::{check, ModelKind, Options};
use checkers::Validity;
use std::path::PathBuf;
use std::time::Duration;

fn main() {
    let mut runs = 5;
    let mut zone = true;
    let mut files: Vec<(PathBuf, Option<String>, Option<String>)> = Vec::new();
    let mut timeout = 60.0;
    let mut per_key = false;
    let mut fail_fast = false;
    let mut explain_total = 0.0;
    let mut witness_total = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|x| x.parse().ok()).unwrap_or(5),
            "--timeout" => timeout = args.next().and_then(|x| x.parse().ok()).unwrap_or(60.0),
            "--no-zone" => zone = false,
            "--keys" => per_key = true,
            "--fail-fast" => fail_fast = true,
            "--verdicts" => {
                let p = PathBuf::from(args.next().expect("--verdicts PATH"));
                let dir = p.parent().unwrap().to_path_buf();
                for l in std::fs::read_to_string(&p).expect("read verdicts").lines() {
                    if l.starts_with('#') || l.trim().is_empty() {
                        continue;
                    }
                    let c: Vec<&str> = l.split('\t').collect();
                    files.push((
                        dir.join(c[0]),
                        Some(c[1].to_string()),
                        Some(c[2].to_string()),
                    ));
                }
            }
            f => files.push((PathBuf::from(f), None, None)),
        }
    }
    let mut total = 0.0;
    let mut wrong = 0;
    for (f, model, expect) in &files {
        let (fmt, h) =
            histories::load_file(f, None).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        // VERDICTS.tsv says "kv" for Porcupine's kv logs: that is our porcupine-kv model.
        let model = if fmt == histories::Format::PorcupineKv {
            ModelKind::PorcupineKv
        } else {
            model
                .as_deref()
                .and_then(|m| m.parse::<ModelKind>().ok())
                .unwrap_or(ModelKind::CasRegister)
        };
        let mut opts = Options::new(model);
        opts.zone = zone;
        opts.fail_fast = fail_fast;
        opts.timeout = Duration::from_secs_f64(timeout);
        let mut times = Vec::new();
        let mut verdict = Validity::Unknown;
        let mut explains = Vec::new();
        let mut witness_ops = 0;
        for _ in 0..runs {
            let r = check(&h, &opts).unwrap();
            times.push(r.check_seconds);
            explains.push(r.explain_seconds);
            witness_ops = r.anomalies().map(|a| a.ops.len()).sum::<usize>();
            verdict = r.valid;
            if per_key {
                for k in &r.keys {
                    println!(
                        "  key {:>4} {:>7} {:>9.3} ms {:>5} ops {:>10} steps {:>8} KiB {}",
                        k.key,
                        k.valid.as_str(),
                        k.seconds * 1e3,
                        k.ops,
                        k.explored,
                        k.memo_bytes / 1024,
                        k.reason.as_deref().unwrap_or("")
                    );
                }
            }
        }
        times.sort_by(f64::total_cmp);
        let med = times[times.len() / 2];
        explains.sort_by(f64::total_cmp);
        let explain = explains[explains.len() / 2];
        total += med;
        explain_total += explain;
        witness_total += witness_ops;
        let got = match verdict {
            Validity::Valid => "linearizable",
            Validity::Invalid => "not-linearizable",
            Validity::Unknown => "unknown",
        };
        let ok = expect.as_deref().is_none_or(|e| e == got);
        if !ok {
            wrong += 1;
        }
        println!(
            "{:<40} {:>9.3} ms  {}{}  (explained in {:.3} ms, {:.1}x the check; witness ops {})",
            f.display(),
            med * 1e3,
            got,
            if ok { "" } else { "  <-- WRONG" },
            explain * 1e3,
            explain / med.max(1e-9),
            witness_ops
        );
    }
    println!(
        "total (sum of medians): {:.3} ms checking {} files, parsing excluded (explaining the violations took {:.3} ms more; {} witness ops); {} wrong verdicts",
        total * 1e3,
        files.len(),
        explain_total * 1e3,
        witness_total,
        wrong
    );
}
