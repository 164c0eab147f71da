//! `faultline serve [STORE] [--listen 127.0.0.1:PORT]`: browse the store of runs in a browser.
//!
//! Routes: `/` the index of runs and campaigns (`?test=…&verdict=…` filters); `/files/<path>`
//! any file of the store (a directory as a listing); `/download/<path>.tar.gz` a directory as
//! a gzipped tar, streamed. Paths are resolved inside the store and nowhere else ([`files`]).
//!
//! The server is `tiny_http`: a small, synchronous, widely used HTTP/1.1 server with four
//! dependencies of its own, which is all a local page needs (the async stack of `axum`/`hyper`
//! would be many more crates to build on a two-core CI for no gain here). Four threads answer
//! requests; it listens on 127.0.0.1 unless told otherwise.

pub mod files;
pub mod pages;
pub mod runs;

use crate::error::HarnessError;
use clap::Args;
use files::Refusal;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// The store of runs.
    #[arg(default_value = "store")]
    pub store: PathBuf,
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

/// Threads answering requests.
const THREADS: usize = 4;

/// Serves until the process is stopped.
pub fn run(args: &ServeArgs) -> Result<(), HarnessError> {
    let root = std::fs::canonicalize(&args.store)
        .ok()
        .filter(|p| p.is_dir())
        .ok_or_else(|| {
            HarnessError::BadArgument(format!(
                "{} is not a directory: give the store of runs (faultline test --store)",
                args.store.display()
            ))
        })?;
    let server = Server::http(&args.listen).map_err(|e| {
        HarnessError::BadArgument(format!(
            "cannot listen on {}: {e}; choose another address with --listen",
            args.listen
        ))
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .unwrap_or_else(|| args.listen.clone());
    println!("faultline serve: {} at http://{addr}/", root.display());
    let _ = std::io::stdout().flush();
    let server = Arc::new(server);
    let root = Arc::new(root);
    let workers: Vec<_> = (0..THREADS)
        .map(|i| {
            let (server, root) = (server.clone(), root.clone());
            std::thread::Builder::new()
                .name(format!("faultline-serve-{i}"))
                .spawn(move || {
                    for rq in server.incoming_requests() {
                        handle(&root, rq);
                    }
                })
        })
        .collect::<Result<_, _>>()
        .map_err(|e| HarnessError::Failed(format!("cannot start the server's threads: {e}")))?;
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn html(body: String) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(body.into_bytes())
        .with_header(header("Content-Type", "text/html; charset=utf-8"))
}

fn refusal(r: Refusal) -> Response<std::io::Cursor<Vec<u8>>> {
    let (code, text) = match r {
        Refusal::NotFound => (404, "not found"),
        Refusal::Forbidden => (403, "forbidden: only files inside the store are served"),
    };
    Response::from_string(text)
        .with_status_code(StatusCode(code))
        .with_header(header("Content-Type", "text/plain; charset=utf-8"))
}

fn handle(root: &Path, rq: Request) {
    let url = rq.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    if !matches!(rq.method(), Method::Get | Method::Head) {
        let r = Response::from_string("only GET and HEAD").with_status_code(StatusCode(405));
        let _ = rq.respond(r);
        return;
    }
    let nosniff = header("X-Content-Type-Options", "nosniff");
    let result = if path == "/" || path == "/index.html" {
        let page = pages::index(root, &runs::runs(root), &runs::campaigns(root), query);
        rq.respond(html(page).with_header(nosniff))
    } else if let Some(rel) = path.strip_prefix("/files/") {
        match files::resolve(root, rel) {
            Err(r) => rq.respond(refusal(r)),
            Ok(p) if p.is_dir() => {
                if !path.ends_with('/') {
                    // Relative links in the listing need the slash.
                    let r = Response::empty(StatusCode(301))
                        .with_header(header("Location", &format!("{path}/")));
                    rq.respond(r)
                } else {
                    rq.respond(html(pages::listing(root, &p)).with_header(nosniff))
                }
            }
            Ok(p) => match std::fs::File::open(&p) {
                Ok(f) => rq.respond(
                    Response::from_file(f)
                        .with_header(header("Content-Type", files::content_type(&p)))
                        .with_header(nosniff),
                ),
                Err(_) => rq.respond(refusal(Refusal::NotFound)),
            },
        }
    } else if let Some(rel) = path
        .strip_prefix("/download/")
        .and_then(|r| r.strip_suffix(".tar.gz"))
    {
        match files::resolve(root, rel) {
            Err(r) => rq.respond(refusal(r)),
            Ok(p) if !p.is_dir() || p == root => rq.respond(refusal(Refusal::NotFound)),
            Ok(p) => {
                let name = archive_name(root, &p);
                match files::tar_gz(p, name.clone()) {
                    Ok(reader) => rq.respond(Response::new(
                        StatusCode(200),
                        vec![
                            header("Content-Type", "application/gzip"),
                            header(
                                "Content-Disposition",
                                &format!("attachment; filename=\"{name}.tar.gz\""),
                            ),
                        ],
                        reader,
                        None,
                        None,
                    )),
                    Err(e) => rq.respond(
                        Response::from_string(format!("cannot archive: {e}"))
                            .with_status_code(StatusCode(500)),
                    ),
                }
            }
        }
    } else {
        rq.respond(refusal(Refusal::NotFound))
    };
    if let Err(e) = result {
        tracing::debug!("answering {url} failed: {e}");
    }
}

/// `raft-register-partition-20261202T075002.967` for `store/raft-register-partition/20261202T075002.967`.
fn archive_name(root: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(root).unwrap_or(dir).to_string_lossy();
    rel.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}
