//! A client chosen at run time: any [`Client`] behind one box, so that the harness's system
//! descriptors hand out clients of their own type without an enum of every system here.

use crate::client::Client;
use histories::Event;
use std::future::Future;
use std::pin::Pin;

type Completion<'a> = Pin<Box<dyn Future<Output = Event> + Send + 'a>>;

/// [`Client`] with its future boxed (a trait with `impl Future` methods cannot be a trait object).
trait Erased: Send {
    fn invoke_boxed<'a>(&'a mut self, inv: &'a Event) -> Completion<'a>;
}

impl<C: Client> Erased for C {
    fn invoke_boxed<'a>(&'a mut self, inv: &'a Event) -> Completion<'a> {
        Box::pin(self.invoke(inv))
    }
}

/// Any client.
pub struct BoxClient(Box<dyn Erased>);

impl BoxClient {
    pub fn new<C: Client + 'static>(client: C) -> BoxClient {
        BoxClient(Box::new(client))
    }
}

impl Client for BoxClient {
    async fn invoke(&mut self, inv: &Event) -> Event {
        self.0.invoke_boxed(inv).await
    }
}
