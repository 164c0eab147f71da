//! The memo of Lowe's refinement of Wing & Gong's search: the set of (linearized operations,
//! model state) configurations already explored. Bitsets live in one arena; the table is open
//! addressing over Zobrist hashes, so a probe allocates nothing.

use super::model::Val;

pub struct Memo {
    words: usize,
    arena: Vec<u64>,
    states: Vec<Val>,
    hashes: Vec<u64>,
    /// 0 = empty, otherwise entry index + 1.
    table: Vec<u32>,
    mask: usize,
}

impl Memo {
    pub fn new(words: usize) -> Self {
        let cap = 1024;
        Memo {
            words,
            arena: Vec::new(),
            states: Vec::new(),
            hashes: Vec::new(),
            table: vec![0; cap],
            mask: cap - 1,
        }
    }

    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Approximate heap bytes held.
    pub fn bytes(&self) -> usize {
        self.arena.capacity() * 8
            + self.states.capacity() * 4
            + self.hashes.capacity() * 8
            + self.table.capacity() * 4
    }

    #[inline]
    fn mix(bits_hash: u64, state: Val) -> u64 {
        let x = bits_hash ^ (state as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // finalizer of splitmix64
        let x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }

    /// Inserts the configuration; returns false if it was already present.
    pub fn insert(&mut self, bits: &[u64], bits_hash: u64, state: Val) -> bool {
        let h = Self::mix(bits_hash, state);
        let mut i = (h as usize) & self.mask;
        loop {
            let slot = self.table[i];
            if slot == 0 {
                break;
            }
            let e = (slot - 1) as usize;
            if self.hashes[e] == h
                && self.states[e] == state
                && &self.arena[e * self.words..(e + 1) * self.words] == bits
            {
                return false;
            }
            i = (i + 1) & self.mask;
        }
        let e = self.states.len();
        self.arena.extend_from_slice(bits);
        self.states.push(state);
        self.hashes.push(h);
        self.table[i] = (e + 1) as u32;
        if self.states.len() * 2 > self.table.len() {
            self.grow();
        }
        true
    }

    fn grow(&mut self) {
        let cap = self.table.len() * 2;
        self.table = vec![0; cap];
        self.mask = cap - 1;
        for (e, &h) in self.hashes.iter().enumerate() {
            let mut i = (h as usize) & self.mask;
            while self.table[i] != 0 {
                i = (i + 1) & self.mask;
            }
            self.table[i] = (e + 1) as u32;
        }
    }
}

/// Per-operation random 64-bit values for incremental hashing of bitsets.
pub fn zobrist(n: usize) -> Vec<u64> {
    let mut s: u64 = 0x243F_6A88_85A3_08D3;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        })
        .collect()
}
