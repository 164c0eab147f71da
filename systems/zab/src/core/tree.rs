//! The znode tree: data, stat (version, czxid, mzxid, …) and children; the replicated state.

use super::txn::{Entry, Txn};
use super::zxid::Zxid;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// How many applied request ids the tree remembers (oldest forgotten first).
pub const RID_MEMORY: usize = 100_000;

/// A znode's metadata.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    /// Data version: 0 at creation, +1 per set.
    pub version: i64,
    /// Zxid of the creating transaction.
    pub czxid: Zxid,
    /// Zxid of the last modification (create or set).
    pub mzxid: Zxid,
    /// Children version: +1 per child created or deleted (drives sequential names).
    pub cversion: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Znode {
    pub data: Value,
    pub stat: Stat,
    #[serde(with = "shared::names")]
    pub children: BTreeSet<Arc<str>>,
}

/// ZooKeeper's errors; all definite (the transaction had no effect).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum TxnError {
    #[error("{0} does not exist")]
    NoNode(String),
    #[error("{0} already exists")]
    NodeExists(String),
    #[error("{path} has version {actual}, not {expected}")]
    BadVersion {
        path: String,
        expected: i64,
        actual: i64,
    },
    #[error("{0} has children")]
    NotEmpty(String),
    #[error("{0}")]
    BadArguments(String),
}

impl TxnError {
    /// The Contract 2 error code.
    pub fn code(&self) -> &'static str {
        match self {
            TxnError::NoNode(_) => wire::code::NO_NODE,
            TxnError::NodeExists(_) => wire::code::NODE_EXISTS,
            TxnError::BadVersion { .. } => wire::code::BAD_VERSION,
            TxnError::NotEmpty(_) => wire::code::NOT_EMPTY,
            TxnError::BadArguments(_) => wire::code::BAD_REQUEST,
        }
    }
}

/// What an applied transaction did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TxnOk {
    Created { path: String, stat: Stat },
    Set { stat: Stat },
    Deleted,
    Synced,
}

pub type TxnResult = Result<TxnOk, TxnError>;

/// The tree. Always contains the root `/`. It also remembers the outcome of the last
/// [`RID_MEMORY`] transactions that carried a client request id, so that a retried request is
/// applied at most once (the memory is replicated state: it is in snapshots).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
///
/// Names and znodes are shared (`Arc`), so that cloning the tree for a snapshot copies the map's
/// structure and reference counts only; a znode changed while a snapshot still holds it is
/// copied on write.
pub struct DataTree {
    #[serde(with = "shared::map")]
    nodes: BTreeMap<Arc<str>, Arc<Znode>>,
    #[serde(default, with = "shared::map")]
    rids: BTreeMap<Arc<str>, Arc<(Zxid, TxnResult)>>,
    #[serde(default, with = "shared::names")]
    rid_order: VecDeque<Arc<str>>,
}

/// Serde for the shared (`Arc`) names and values, in the same format as plain ones.
mod shared {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    pub mod map {
        use super::*;
        pub fn serialize<S: Serializer, V: Serialize>(
            m: &BTreeMap<Arc<str>, Arc<V>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.collect_map(m.iter().map(|(k, v)| (&**k, &**v)))
        }
        pub fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
            d: D,
        ) -> Result<BTreeMap<Arc<str>, Arc<V>>, D::Error> {
            let m = BTreeMap::<String, V>::deserialize(d)?;
            Ok(m.into_iter()
                .map(|(k, v)| (Arc::from(k), Arc::new(v)))
                .collect())
        }
    }

    /// Any collection of shared names (a set, a queue), as a sequence of plain strings.
    pub mod names {
        use super::*;
        pub fn serialize<C, S: Serializer>(m: &C, s: S) -> Result<S::Ok, S::Error>
        where
            for<'a> &'a C: IntoIterator<Item = &'a Arc<str>>,
        {
            s.collect_seq(m.into_iter().map(|k| &**k))
        }
        pub fn deserialize<'de, C, D: Deserializer<'de>>(d: D) -> Result<C, D::Error>
        where
            C: FromIterator<Arc<str>>,
        {
            let m = Vec::<String>::deserialize(d)?;
            Ok(m.into_iter().map(Arc::from).collect())
        }
    }
}

impl Default for DataTree {
    fn default() -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            Arc::from("/"),
            Arc::new(Znode {
                data: Value::Null,
                stat: Stat::default(),
                children: BTreeSet::new(),
            }),
        );
        DataTree {
            nodes,
            rids: BTreeMap::new(),
            rid_order: VecDeque::new(),
        }
    }
}

/// Checks a path: absolute, no empty components, no trailing slash (except `/`), no `.`/`..`.
pub fn validate_path(path: &str) -> Result<(), TxnError> {
    let bad = |why: &str| {
        Err(TxnError::BadArguments(format!(
            "invalid path {path:?}: {why}"
        )))
    };
    if path == "/" {
        return Ok(());
    }
    if !path.starts_with('/') {
        return bad("must start with /");
    }
    if path.ends_with('/') {
        return bad("must not end with /");
    }
    if path.len() > 4096 {
        return bad("longer than 4096 bytes");
    }
    for part in path[1..].split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return bad("empty, . or .. component");
        }
        if part.chars().any(|c| c.is_control()) {
            return bad("control character");
        }
    }
    Ok(())
}

fn parent_of(path: &str) -> (&str, &str) {
    let i = path.rfind('/').unwrap_or(0);
    let parent = if i == 0 { "/" } else { &path[..i] };
    (parent, &path[i + 1..])
}

impl DataTree {
    pub fn get(&self, path: &str) -> Option<&Znode> {
        self.nodes.get(path).map(|n| n.as_ref())
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    /// Applies a committed entry, at most once per request id: returns the zxid the request
    /// took effect at and its outcome.
    pub fn apply_entry(&mut self, e: &Entry) -> (Zxid, TxnResult) {
        if let Some(rid) = &e.rid {
            if let Some(known) = self.rids.get(rid.as_str()) {
                let (z, r) = known.as_ref();
                return (*z, r.clone());
            }
        }
        let result = self.apply(e.zxid, &e.txn);
        if let Some(rid) = &e.rid {
            let key: Arc<str> = Arc::from(rid.as_str());
            self.rids
                .insert(key.clone(), Arc::new((e.zxid, result.clone())));
            self.rid_order.push_back(key);
            while self.rid_order.len() > RID_MEMORY {
                if let Some(old) = self.rid_order.pop_front() {
                    self.rids.remove(&old);
                }
            }
        }
        (e.zxid, result)
    }

    /// Applies a committed transaction. Deterministic: every replica gets the same result.
    pub fn apply(&mut self, zxid: Zxid, txn: &Txn) -> TxnResult {
        match txn {
            Txn::Create {
                path,
                data,
                sequential,
            } => {
                validate_path(path)?;
                if path == "/" {
                    return Err(TxnError::NodeExists(path.clone()));
                }
                let (parent, _) = parent_of(path);
                let parent_node = Arc::make_mut(
                    self.nodes
                        .get_mut(parent)
                        .ok_or_else(|| TxnError::NoNode(parent.to_string()))?,
                );
                let name = if *sequential {
                    format!("{path}{:010}", parent_node.stat.cversion)
                } else {
                    path.clone()
                };
                let (_, child) = parent_of(&name);
                if parent_node.children.contains(child) {
                    return Err(TxnError::NodeExists(name));
                }
                parent_node.children.insert(Arc::from(child));
                parent_node.stat.cversion += 1;
                let stat = Stat {
                    version: 0,
                    czxid: zxid,
                    mzxid: zxid,
                    cversion: 0,
                };
                self.nodes.insert(
                    Arc::from(name.as_str()),
                    Arc::new(Znode {
                        data: data.clone(),
                        stat,
                        children: BTreeSet::new(),
                    }),
                );
                Ok(TxnOk::Created { path: name, stat })
            }
            Txn::Set {
                path,
                data,
                version,
            } => {
                validate_path(path)?;
                let node = self
                    .nodes
                    .get_mut(path.as_str())
                    .ok_or_else(|| TxnError::NoNode(path.clone()))?;
                if *version != -1 && *version != node.stat.version {
                    return Err(TxnError::BadVersion {
                        path: path.clone(),
                        expected: *version,
                        actual: node.stat.version,
                    });
                }
                let node = Arc::make_mut(node);
                node.data = data.clone();
                node.stat.version += 1;
                node.stat.mzxid = zxid;
                Ok(TxnOk::Set { stat: node.stat })
            }
            Txn::Delete { path, version } => {
                validate_path(path)?;
                if path == "/" {
                    return Err(TxnError::BadArguments("cannot delete /".into()));
                }
                let node = self
                    .nodes
                    .get(path.as_str())
                    .ok_or_else(|| TxnError::NoNode(path.clone()))?;
                if *version != -1 && *version != node.stat.version {
                    return Err(TxnError::BadVersion {
                        path: path.clone(),
                        expected: *version,
                        actual: node.stat.version,
                    });
                }
                if !node.children.is_empty() {
                    return Err(TxnError::NotEmpty(path.clone()));
                }
                self.nodes.remove(path.as_str());
                let (parent, child) = parent_of(path);
                if let Some(p) = self.nodes.get_mut(parent) {
                    let p = Arc::make_mut(p);
                    p.children.remove(child);
                    p.stat.cversion += 1;
                }
                Ok(TxnOk::Deleted)
            }
            Txn::Sync => Ok(TxnOk::Synced),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(t: &mut DataTree, z: u64, p: &str, seq: bool) -> TxnResult {
        t.apply(
            Zxid(z),
            &Txn::Create {
                path: p.into(),
                data: json!(z),
                sequential: seq,
            },
        )
    }

    #[test]
    fn create_set_delete_with_versions_and_errors() {
        let mut t = DataTree::default();
        assert!(matches!(
            create(&mut t, 1, "/a", false),
            Ok(TxnOk::Created { .. })
        ));
        assert_eq!(
            create(&mut t, 2, "/a", false),
            Err(TxnError::NodeExists("/a".into()))
        );
        assert_eq!(
            create(&mut t, 3, "/x/y", false),
            Err(TxnError::NoNode("/x".into()))
        );
        create(&mut t, 4, "/a/b", false).unwrap();
        let set = |t: &mut DataTree, z, v| {
            t.apply(
                Zxid(z),
                &Txn::Set {
                    path: "/a".into(),
                    data: json!("v"),
                    version: v,
                },
            )
        };
        assert_eq!(
            set(&mut t, 5, 0).unwrap(),
            TxnOk::Set {
                stat: Stat {
                    version: 1,
                    czxid: Zxid(1),
                    mzxid: Zxid(5),
                    cversion: 1
                }
            }
        );
        assert!(matches!(
            set(&mut t, 6, 0),
            Err(TxnError::BadVersion { .. })
        ));
        set(&mut t, 7, -1).unwrap();
        let del = |t: &mut DataTree, p: &str| {
            t.apply(
                Zxid(9),
                &Txn::Delete {
                    path: p.into(),
                    version: -1,
                },
            )
        };
        assert_eq!(del(&mut t, "/a"), Err(TxnError::NotEmpty("/a".into())));
        del(&mut t, "/a/b").unwrap();
        del(&mut t, "/a").unwrap();
        assert!(t.get("/a").is_none());
        assert_eq!(del(&mut t, "/a"), Err(TxnError::NoNode("/a".into())));
    }

    #[test]
    fn sequential_names_follow_parent_cversion() {
        let mut t = DataTree::default();
        create(&mut t, 1, "/q", false).unwrap();
        let a = create(&mut t, 2, "/q/n-", true).unwrap();
        let b = create(&mut t, 3, "/q/n-", true).unwrap();
        assert!(matches!(a, TxnOk::Created { ref path, .. } if path == "/q/n-0000000000"));
        assert!(matches!(b, TxnOk::Created { ref path, .. } if path == "/q/n-0000000001"));
    }

    #[test]
    fn a_request_id_is_applied_at_most_once() {
        let mut t = DataTree::default();
        let e = |z: u64| Entry {
            zxid: Zxid(z),
            txn: Txn::Create {
                path: "/q-".into(),
                data: json!(1),
                sequential: true,
            },
            origin: None,
            rid: Some("c1:1".into()),
        };
        let first = t.apply_entry(&e(1));
        assert_eq!(t.apply_entry(&e(2)), first);
        assert_eq!(t.get("/").unwrap().children.len(), 1);
        let back: DataTree = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn bad_paths_are_rejected() {
        for p in ["", "a", "/a/", "//a", "/a/../b"] {
            assert!(validate_path(p).is_err(), "{p}");
        }
        assert!(validate_path("/a/b-1").is_ok());
    }
}
