//! junit.xml: a `<testsuite>` per cell, a `<testcase>` per run, written with quick-xml (a
//! streaming writer that escapes text and attributes; hand-built XML is where escaping bugs
//! live, and anomaly sentences quote values freely).
//!
//! A run's testcase is a `<failure>` when its cell did not come out as expected: a correct build
//! that found an anomaly (the message is the anomaly's sentence), or a bug that no run of its
//! cell found. A run that stayed unknown is an `<error>` with the reason. A bug run that missed
//! while another run of its cell found the bug passes, saying so in `<system-out>`: the cell
//! (found k of n) is the unit of expectation. Each testcase's properties hold its seed, its
//! rerun command and its run directory.

use super::record::{CampaignRecord, CellRecord, CellStatus, RunRecord, Verdict};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use std::io;

/// XML 1.0 allows no control characters but tab, newline and carriage return, even escaped.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c < ' ' && !matches!(c, '\t' | '\n' | '\r') {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// What a run's testcase says.
enum Outcome {
    Pass(Option<String>),
    Failure { message: String, kind: &'static str },
    Error(String),
}

fn outcome(cell: &CellRecord, run: &RunRecord) -> Outcome {
    let bug = &cell.cell.bug;
    match (cell.cell.expects_anomaly(), run.verdict) {
        (_, Verdict::Unknown) => Outcome::Error(
            run.reason
                .clone()
                .unwrap_or_else(|| "the run's verdict is unknown".into()),
        ),
        (false, Verdict::Invalid) => Outcome::Failure {
            message: run
                .anomaly
                .clone()
                .unwrap_or_else(|| "the checkers found an anomaly".into()),
            kind: "anomaly",
        },
        (false, Verdict::Valid) => Outcome::Pass(None),
        (true, Verdict::Invalid) => Outcome::Pass(Some(format!(
            "bug {bug} found by {}: {}",
            run.caught_by.as_deref().unwrap_or("the checkers"),
            run.anomaly.as_deref().unwrap_or("")
        ))),
        (true, Verdict::Valid) if cell.status == CellStatus::Pass => Outcome::Pass(Some(format!(
            "bug {bug} not found in this run; found in {} of {} runs of the cell",
            cell.found(),
            cell.runs.len()
        ))),
        (true, Verdict::Valid) => Outcome::Failure {
            message: format!(
                "bug {bug} was not found: no anomaly in any of the cell's {} runs",
                cell.runs.len()
            ),
            kind: "not-detected",
        },
    }
}

fn properties<W: io::Write>(w: &mut Writer<W>, props: &[(&str, String)]) -> io::Result<()> {
    w.create_element("properties").write_inner_content(|w| {
        for (name, value) in props {
            w.create_element("property")
                .with_attributes([("name", *name), ("value", clean(value).as_str())])
                .write_empty()?;
        }
        Ok(())
    })?;
    Ok(())
}

fn testcase<W: io::Write>(w: &mut Writer<W>, cell: &CellRecord, run: &RunRecord) -> io::Result<()> {
    let name = format!("seed {}", run.seed);
    let time = format!("{:.3}", run.duration_s);
    w.create_element("testcase")
        .with_attributes([
            ("name", name.as_str()),
            ("classname", cell.cell.id.as_str()),
            ("time", time.as_str()),
        ])
        .write_inner_content(|w| {
            let mut props = vec![("seed", run.seed.to_string()), ("rerun", run.rerun.clone())];
            if let Some(d) = &run.dir {
                props.push(("run_dir", d.clone()));
            }
            if let Some(t) = run.time_to_detect_s {
                props.push(("time_to_detect_s", format!("{t:.3}")));
            }
            if let Some(c) = &run.caught_by {
                props.push(("caught_by", c.clone()));
            }
            properties(w, &props)?;
            let detail = format!(
                "verdict {:?}; run directory {}; rerun: {}",
                run.verdict,
                run.dir.as_deref().unwrap_or("(none)"),
                run.rerun
            );
            match outcome(cell, run) {
                Outcome::Pass(None) => {}
                Outcome::Pass(Some(out)) => {
                    w.create_element("system-out")
                        .write_text_content(BytesText::new(&clean(&out)))?;
                }
                Outcome::Failure { message, kind } => {
                    w.create_element("failure")
                        .with_attributes([("message", clean(&message).as_str()), ("type", kind)])
                        .write_text_content(BytesText::new(&clean(&detail)))?;
                }
                Outcome::Error(reason) => {
                    w.create_element("error")
                        .with_attributes([
                            ("message", clean(&reason).as_str()),
                            ("type", "unknown"),
                        ])
                        .write_text_content(BytesText::new(&clean(&detail)))?;
                }
            }
            Ok(())
        })?;
    Ok(())
}

/// Counts of a set of testcases: (tests, failures, errors).
fn counts<'a>(cells: impl Iterator<Item = &'a CellRecord>) -> (usize, usize, usize) {
    let (mut t, mut f, mut e) = (0, 0, 0);
    for c in cells {
        for r in &c.runs {
            t += 1;
            match outcome(c, r) {
                Outcome::Failure { .. } => f += 1,
                Outcome::Error(_) => e += 1,
                Outcome::Pass(_) => {}
            }
        }
    }
    (t, f, e)
}

/// The JUnit XML of a campaign.
pub fn render(c: &CampaignRecord) -> io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let (t, f, e) = counts(c.cells.iter());
    let total_time: f64 = c
        .cells
        .iter()
        .flat_map(|c| &c.runs)
        .map(|r| r.duration_s)
        .sum();
    w.create_element("testsuites")
        .with_attributes([
            ("name", "faultline campaign"),
            ("tests", t.to_string().as_str()),
            ("failures", f.to_string().as_str()),
            ("errors", e.to_string().as_str()),
            ("time", format!("{total_time:.3}").as_str()),
        ])
        .write_inner_content(|w| {
            for cell in &c.cells {
                let (t, f, e) = counts(std::iter::once(cell));
                let time: f64 = cell.runs.iter().map(|r| r.duration_s).sum();
                w.create_element("testsuite")
                    .with_attributes([
                        ("name", cell.cell.id.as_str()),
                        ("tests", t.to_string().as_str()),
                        ("failures", f.to_string().as_str()),
                        ("errors", e.to_string().as_str()),
                        ("skipped", "0"),
                        ("time", format!("{time:.3}").as_str()),
                        ("timestamp", c.started.as_str()),
                    ])
                    .write_inner_content(|w| {
                        properties(
                            w,
                            &[
                                ("system", cell.cell.system.clone()),
                                ("workload", cell.cell.workload.clone()),
                                ("nemesis", cell.cell.nemesis.clone()),
                                ("bug", cell.cell.bug.clone()),
                                ("expect", cell.expect.clone()),
                                ("status", format!("{:?}", cell.status).to_lowercase()),
                                ("found", format!("{} of {}", cell.found(), cell.runs.len())),
                            ],
                        )?;
                        for run in &cell.runs {
                            testcase(w, cell, run)?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    let mut text = String::from_utf8(w.into_inner()).map_err(io::Error::other)?;
    text.push('\n');
    Ok(text)
}
