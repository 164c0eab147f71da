//! A Raft replicated key-value store: the system under test raft-node.
