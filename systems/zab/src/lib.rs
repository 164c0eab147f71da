//! A ZooKeeper-style ensemble replicated by ZAB: the system under test zab-node.
