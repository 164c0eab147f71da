//! The client server (Contract 2) is [`wire::server`]: one JSON request per line, many in
//! flight per connection, responses matched by id, malformed lines answered with
//! `bad_request`. This module hands each request to the node's core thread.

use std::sync::mpsc::Sender;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use wire::{code, Request, Response};

use crate::node::Input;

/// Accepts client connections forever.
pub async fn serve(listener: TcpListener, inbox: Sender<Input>) {
    wire::server::serve(listener, move |req, reply| submit(req, &reply, &inbox)).await
}

/// Hands a request to the node, which answers it on `tx`.
fn submit(req: Request, tx: &mpsc::UnboundedSender<Response>, inbox: &Sender<Input>) {
    let id = req.id;
    let input = Input::Client {
        req,
        reply: tx.clone(),
    };
    if inbox.send(input).is_err() {
        let _ = tx.send(Response::err(
            Some(id),
            code::UNAVAILABLE,
            true,
            "the node is shutting down",
        ));
    }
}
