//! Jepsen's `bank` workload: a fixed set of accounts opened with equal balances; `transfer`s
//! of a small amount between two different accounts (`{"from": 3, "to": 5, "amount": 2}`) and
//! `read`s of every balance at once (completing with `{"0": 9, "1": 11, …}`), each one
//! transaction on the system. The total never changes and no balance is ever negative or
//! missing; checkers' `bank` checks exactly that. A transfer that would overdraw its source is
//! refused (`fail`). Opening the accounts is the client's setup, not an operation.

use crate::{op, OpGen, WorkloadSpec};
use histories::Event;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// How many accounts.
pub const ACCOUNTS: u64 = 8;
/// Each account's opening balance.
pub const OPENING: i64 = 10;
/// The largest amount one transfer moves.
pub const MAX_AMOUNT: i64 = 5;
/// The share of operations that read every balance, percent.
pub const READ_PERCENT: u32 = 40;

/// Account `i`'s key on the system (and in a read's value).
pub fn account(i: u64) -> String {
    i.to_string()
}

/// A read of every balance.
pub fn read_all() -> Event {
    op::invocation("read", None, Value::Null)
}

pub struct BankGen {
    rng: ChaCha8Rng,
}

impl BankGen {
    pub fn new(_spec: &WorkloadSpec, rng: ChaCha8Rng) -> Self {
        BankGen { rng }
    }
}

impl OpGen for BankGen {
    fn next_op(&mut self) -> Event {
        if self.rng.gen_range(0..100) < READ_PERCENT {
            return read_all();
        }
        let from = self.rng.gen_range(0..ACCOUNTS);
        let to = (from + self.rng.gen_range(1..ACCOUNTS)) % ACCOUNTS;
        let amount = self.rng.gen_range(1..=MAX_AMOUNT);
        op::invocation(
            "transfer",
            None,
            json!({"from": from, "to": to, "amount": amount}),
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::{WorkloadKind, WorkloadSpec};

    #[test]
    fn transfers_between_two_accounts_and_reads_of_all() {
        let spec = WorkloadSpec::new(WorkloadKind::Bank, 3);
        let mut g = spec.generator(5, 1);
        let (mut reads, mut transfers) = (0, 0);
        for _ in 0..1000 {
            let e = g.next_op();
            assert_eq!(e.key, None);
            match e.f.as_str() {
                "read" => reads += 1,
                "transfer" => {
                    transfers += 1;
                    let (f, t) = (
                        e.value["from"].as_u64().unwrap(),
                        e.value["to"].as_u64().unwrap(),
                    );
                    assert!(f != t && f < super::ACCOUNTS && t < super::ACCOUNTS);
                    let a = e.value["amount"].as_i64().unwrap();
                    assert!((1..=super::MAX_AMOUNT).contains(&a));
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert!(
            reads > 300 && transfers > 500,
            "{reads} reads, {transfers} transfers"
        );
        assert_eq!(
            spec.generator(5, 1).next_op(),
            spec.generator(5, 1).next_op()
        );
    }
}
