//! The interned values of one key and the model's transition function over them.
//!
//! Register values are interned JSON texts. For porcupine-kv's strings, a state built by appends
//! is not materialized: it is (parent state, appended piece) with its length and a polynomial
//! hash, interned canonically by (length, hash) and verified character by character when two
//! states meet under one hash, so equal strings always get one id and different strings never
//! share one. A search step therefore allocates nothing.

use serde_json::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::machine::{Machine, Tables};
use super::model::{Kind, Val};

/// A small, fast hasher for integer keys (the multiply-rotate of rustc's FxHasher).
#[derive(Default, Clone, Copy)]
pub struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(x as u64)
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64)
    }
}

pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

const BASE: u64 = 0x100_0000_01B3;

#[derive(Debug, Clone)]
enum Repr {
    Text(String),
    /// parent state followed by the text of piece
    Concat(Val, Val),
}

#[derive(Debug, Clone)]
struct Entry {
    repr: Repr,
    len: usize,
    hash: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Values {
    texts: HashMap<String, Val>,
    entries: Vec<Entry>,
    by_hash: FxMap<(usize, u64), Vec<Val>>,
    appends: FxMap<(Val, Val), Val>,
    /// B^n for n up to the longest piece seen.
    pow: Vec<u64>,
    /// Prefix hashes of texts, for prefix tests (filled on demand).
    prefixes: FxMap<Val, Vec<u64>>,
    pub(crate) strings: bool,
    bytes: usize,
    /// The states and operations of Knossos's other models (mutex, set, queues, …), whose
    /// operations are [`Kind::Op`] and [`Kind::Query`].
    pub(crate) machine: Option<Box<Tables>>,
}

fn hash_str(s: &str) -> u64 {
    s.bytes()
        .fold(0u64, |h, b| h.wrapping_mul(BASE).wrapping_add(b as u64 + 1))
}

impl Values {
    pub fn new(strings: bool) -> Self {
        let mut v = Values {
            strings,
            pow: vec![1],
            ..Default::default()
        };
        // id 0: null for registers, "" for strings
        v.intern_text(if strings {
            String::new()
        } else {
            "null".to_string()
        });
        v
    }

    /// Values for one of Knossos's state-machine models: their states are the machine's.
    pub fn with_machine(m: Machine) -> Self {
        let mut v = Values::new(false);
        v.machine = Some(Box::new(Tables::new(m)));
        v
    }

    /// Whether this is a register model (values are register values): the search's register
    /// reductions apply only then.
    pub fn registers(&self) -> bool {
        !self.strings && self.machine.is_none()
    }

    /// How many distinct values exist so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn push(&mut self, e: Entry) -> Val {
        let id = self.entries.len() as Val;
        // Only strings are ever concatenated, so only they need the index by (length, hash).
        if self.strings {
            self.by_hash.entry((e.len, e.hash)).or_default().push(id);
        }
        self.bytes += 96
            + if let Repr::Text(t) = &e.repr {
                t.len() * 2
            } else {
                0
            };
        self.entries.push(e);
        id
    }

    pub(crate) fn intern_text(&mut self, t: String) -> Val {
        if let Some(&id) = self.texts.get(&t) {
            return id;
        }
        let (len, hash) = (t.len(), hash_str(&t));
        // A concatenation state may already stand for this string.
        let same = self.by_hash.get(&(len, hash)).cloned().unwrap_or_default();
        for id in same {
            if self.materialize(id) == t {
                self.texts.insert(t, id);
                return id;
            }
        }
        let id = self.push(Entry {
            repr: Repr::Text(t.clone()),
            len,
            hash,
        });
        self.texts.insert(t, id);
        id
    }

    pub fn intern(&mut self, v: &Value) -> Val {
        if self.strings {
            match v {
                Value::String(s) => self.intern_text(s.clone()),
                Value::Null => 0,
                other => self.intern_text(other.to_string()),
            }
        } else {
            self.intern_text(v.to_string())
        }
    }

    /// The value as a string (JSON text for registers).
    pub fn materialize(&self, v: Val) -> String {
        let mut pieces: Vec<String> = Vec::new();
        let mut cur = v;
        loop {
            match &self.entries[cur as usize].repr {
                Repr::Text(t) => {
                    pieces.push(t.clone());
                    break;
                }
                Repr::Concat(p, piece) => {
                    pieces.push(self.materialize(*piece));
                    cur = *p;
                }
            }
        }
        pieces.reverse();
        pieces.concat()
    }

    /// The value's display form (JSON for registers, a quoted string for porcupine-kv, the
    /// state for a state machine).
    pub fn text(&self, v: Val) -> String {
        if let Some(m) = &self.machine {
            return m.state_text(v);
        }
        let t = self.materialize(v);
        if self.strings {
            format!("{t:?}")
        } else {
            t
        }
    }

    /// The text of an interned original value, if it is one (not a concatenation).
    pub fn original(&self, v: Val) -> Option<&str> {
        match &self.entries[v as usize].repr {
            Repr::Text(t) => Some(t),
            Repr::Concat(..) => None,
        }
    }

    fn pow(&mut self, n: usize) -> u64 {
        while self.pow.len() <= n {
            let last = *self.pow.last().unwrap_or(&1);
            self.pow.push(last.wrapping_mul(BASE));
        }
        self.pow[n]
    }

    /// The model's step: the state after `k` from `s`, or `None` if `k` cannot happen in `s`.
    #[inline]
    pub fn step(&mut self, s: Val, k: Kind) -> Option<Val> {
        match k {
            Kind::Read(v) => (s == v).then_some(s),
            Kind::Write(v) => Some(v),
            Kind::Cas(from, to) => (s == from).then_some(to),
            Kind::Op(o) | Kind::Query(o) => self.machine.as_mut()?.step(s, o),
            Kind::Append(a) => {
                if let Some(&r) = self.appends.get(&(s, a)) {
                    return Some(r);
                }
                let r = self.concat(s, a);
                self.appends.insert((s, a), r);
                self.bytes += 32;
                Some(r)
            }
        }
    }

    fn concat(&mut self, s: Val, a: Val) -> Val {
        let (ls, hs) = (self.entries[s as usize].len, self.entries[s as usize].hash);
        let (la, ha) = (self.entries[a as usize].len, self.entries[a as usize].hash);
        if la == 0 {
            return s;
        }
        if ls == 0 {
            return a;
        }
        let len = ls + la;
        let hash = hs.wrapping_mul(self.pow(la)).wrapping_add(ha);
        if let Some(same) = self.by_hash.get(&(len, hash)).cloned() {
            let want = format!("{}{}", self.materialize(s), self.materialize(a));
            for id in same {
                if self.materialize(id) == want {
                    return id;
                }
            }
        }
        self.push(Entry {
            repr: Repr::Concat(s, a),
            len,
            hash,
        })
    }

    /// Whether state `s` could be a prefix of value `g`. Never false when it is one (hashes of
    /// equal strings are equal), so it is safe for pruning.
    pub fn maybe_prefix(&mut self, s: Val, g: Val) -> bool {
        let (ls, hs) = (self.entries[s as usize].len, self.entries[s as usize].hash);
        if ls > self.entries[g as usize].len {
            return false;
        }
        if !self.prefixes.contains_key(&g) {
            let p = self.prefix_hashes(g);
            self.bytes += p.len() * 8;
            self.prefixes.insert(g, p);
        }
        self.prefixes[&g][ls] == hs
    }

    /// The length and hash of a value's string.
    pub fn len_hash(&self, v: Val) -> (usize, u64) {
        let e = &self.entries[v as usize];
        (e.len, e.hash)
    }

    /// Hashes of every prefix of a value's string: element k covers its first k bytes.
    pub fn prefix_hashes(&self, v: Val) -> Vec<u64> {
        let t = self.materialize(v);
        let mut p = Vec::with_capacity(t.len() + 1);
        let mut h = 0u64;
        p.push(0);
        for b in t.bytes() {
            h = h.wrapping_mul(BASE).wrapping_add(b as u64 + 1);
            p.push(h);
        }
        p
    }

    /// Bytes held (counted against the memory budget).
    pub fn bytes(&self) -> usize {
        self.bytes + self.machine.as_ref().map_or(0, |m| m.bytes())
    }
}
