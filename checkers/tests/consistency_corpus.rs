//! The consistency checkers on Porcupine's Jepsen etcd corpus (one cas register, values 0–4
//! written many times): they never panic, say `unknown` with the reason when the history is not
//! differentiated, and never contradict the known linearizability verdict.

use checkers::consistency::{check_model, Ladder, Model};
use checkers::sequential::Budget;
use checkers::Validity;
use std::path::Path;

#[test]
fn etcd_corpus_is_handled_without_contradiction() {
    // The test suite depends on no file outside the repository: this test runs only when
    // FAULTLINE_CORPUS names the corpus (.ci/run sets it to ../shared/corpora/porcupine).
    let Some(root) = std::env::var_os("FAULTLINE_CORPUS") else {
        eprintln!("FAULTLINE_CORPUS is not set; skipped");
        return;
    };
    let root = Path::new(&root);
    let verdicts = std::fs::read_to_string(root.join("VERDICTS.tsv")).unwrap_or_else(|e| {
        panic!(
            "FAULTLINE_CORPUS={}: cannot read VERDICTS.tsv: {e}",
            root.display()
        )
    });
    let budget = Budget {
        time: std::time::Duration::from_secs(2),
        states: 1_000_000,
    };
    let (mut unknown, mut decided) = (0, 0);
    for line in verdicts.lines().filter(|l| l.starts_with("jepsen/")) {
        let mut f = line.split('\t');
        let (Some(path), Some(_), Some(expected)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Ok((_, h)) = histories::load_file(&root.join(path), None) else {
            continue;
        };
        let lin = if expected == "linearizable" {
            Validity::Valid
        } else {
            Validity::Invalid
        };
        let mut v = vec![(Model::Linearizable, lin)];
        for m in Model::ALL.into_iter().skip(1) {
            let r = check_model(&h, m, &budget).unwrap();
            if r.valid == Validity::Unknown {
                unknown += 1;
                assert!(r.reason.is_some(), "{path} {m}: unknown without a reason");
            } else {
                decided += 1;
            }
            v.push((m, r.valid));
        }
        let ladder = Ladder::from_verdicts(&v);
        assert!(
            ladder.contradictions.is_empty(),
            "{path}: {}",
            ladder.summary
        );
    }
    eprintln!("etcd corpus: {decided} verdicts, {unknown} unknown");
    assert!(unknown + decided > 0);
}
