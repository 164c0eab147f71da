//! The twopc adapter: a bank on a sharded two-phase-commit store. A `transfer` is one
//! transaction `[["add", from, -amount], ["add", to, amount]]` (a shard refuses an add that
//! would make a balance negative, so an overdraft is a definite `fail`); a `read` of every
//! balance is one transaction reading every account. Before its first operation the client
//! opens the accounts with one `init` transaction (write the opening balance where the account
//! is absent), so no read ever finds one missing; if that cannot be done the operation fails
//! without being sent. Every other operation (`txn`, `read`/`write` of a key) is the raft
//! adapter's.

use crate::bank::{account, ACCOUNTS, OPENING};
use crate::client::{completion_for_error, with_meta, Client, Endpoint, RaftClient, Session};
use histories::Event;
use serde_json::{json, Map, Value};
use std::time::Duration;
use wire::Op;

pub struct TwopcClient {
    session: Session,
    other: RaftClient,
    opened: bool,
}

impl TwopcClient {
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Self {
        TwopcClient {
            session: Session::new(endpoint.clone(), timeout),
            other: RaftClient::new(endpoint, timeout),
            opened: false,
        }
    }

    fn node(&self) -> String {
        self.session.endpoint.name.clone()
    }

    /// Opens the accounts once; `Err` is why not.
    async fn open(&mut self) -> Result<(), String> {
        if self.opened {
            return Ok(());
        }
        // One single-shard transaction per account: opening them needs no agreement between
        // shards, so it holds even on a build whose commit rule is broken.
        for i in 0..ACCOUNTS {
            let txn = vec![json!(["init", account(i), OPENING])];
            if let Err(e) = self.session.call(Op::Txn { txn }).await {
                return Err(format!("cannot open account {i}: {e:?}"));
            }
        }
        self.opened = true;
        Ok(())
    }

    async fn transfer(&mut self, inv: &Event) -> Event {
        let node = self.node();
        let v = &inv.value;
        let (Some(from), Some(to), Some(amount)) =
            (v["from"].as_u64(), v["to"].as_u64(), v["amount"].as_i64())
        else {
            return inv
                .fail("a transfer needs integer from, to and amount")
                .on(&node);
        };
        let txn = vec![
            json!(["add", account(from), -amount]),
            json!(["add", account(to), amount]),
        ];
        match self.session.call(Op::Txn { txn }).await {
            Ok(r) => with_meta(inv.ok(inv.value.clone()).on(&node), &r),
            Err(e) => completion_for_error(inv, e, &node),
        }
    }

    async fn read_all(&mut self, inv: &Event) -> Event {
        let node = self.node();
        let txn = (0..ACCOUNTS)
            .map(|i| json!(["r", account(i), null]))
            .collect();
        match self.session.call(Op::Txn { txn }).await {
            Ok(r) => {
                let mut balances = Map::new();
                for m in r.get("txn").and_then(Value::as_array).into_iter().flatten() {
                    if let (Some(k), Some(v)) = (m.get(1).and_then(Value::as_str), m.get(2)) {
                        balances.insert(k.to_string(), v.clone());
                    }
                }
                with_meta(inv.ok(Value::Object(balances)).on(&node), &r)
            }
            Err(e) => completion_for_error(inv, e, &node),
        }
    }
}

impl Client for TwopcClient {
    async fn invoke(&mut self, inv: &Event) -> Event {
        let bank = match inv.f.as_str() {
            "transfer" => true,
            "read" => inv.key.is_none(),
            _ => false,
        };
        if !bank {
            return self.other.invoke(inv).await;
        }
        if let Err(e) = self.open().await {
            return inv.fail(e).on(&self.node());
        }
        if inv.f == "transfer" {
            self.transfer(inv).await
        } else {
            self.read_all(inv).await
        }
    }
}
