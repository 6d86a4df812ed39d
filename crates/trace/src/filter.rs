//! `--trace-filter`: comma-separated `key=value[|value...]` terms, all of which must match.
//! Keys: `pid` (the record's PID or its peer's), `name` (process name, or the peer's),
//! `pers` (personality), `kind` (record kind).

use crate::{Kind, Record};

/// A `--trace-filter` that cannot be parsed (the sentence names the term).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// A parsed filter (empty = everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pids: Vec<u32>,
    names: Vec<String>,
    pers: Vec<String>,
    kinds: Vec<Kind>,
}

impl Filter {
    /// Parse `pid=2|3,kind=send|deliver`.
    pub fn parse(s: &str) -> Result<Self, FilterError> {
        Self::parse_inner(s).map_err(FilterError)
    }

    fn parse_inner(s: &str) -> Result<Self, String> {
        let mut f = Filter::default();
        for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (k, v) = term
                .split_once('=')
                .ok_or_else(|| format!("trace filter term {term:?}: expected key=value"))?;
            let vals = v.split('|').map(str::to_string);
            match k.trim() {
                "pid" => {
                    for x in vals {
                        f.pids.push(
                            x.parse()
                                .map_err(|_| format!("trace filter: bad pid {x:?}"))?,
                        );
                    }
                }
                "name" => f.names.extend(vals),
                "pers" | "personality" => f.pers.extend(vals),
                "kind" => {
                    for x in vals {
                        f.kinds.push(Kind::parse(&x).ok_or_else(|| {
                            let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                            format!(
                                "trace filter: unknown kind {x:?} (kinds: {})",
                                all.join(", ")
                            )
                        })?);
                    }
                }
                other => {
                    return Err(format!(
                        "trace filter: unknown key {other:?} (pid, name, pers, kind)"
                    ))
                }
            }
        }
        Ok(f)
    }

    /// Whether a record passes.
    pub fn matches(&self, r: &Record) -> bool {
        (self.pids.is_empty()
            || self.pids.contains(&r.pid)
            || r.peer_pid.is_some_and(|p| self.pids.contains(&p)))
            && (self.names.is_empty()
                || self.names.contains(&r.name)
                || r.peer_name.as_ref().is_some_and(|n| self.names.contains(n)))
            && (self.pers.is_empty() || self.pers.contains(&r.pers))
            && (self.kinds.is_empty() || self.kinds.contains(&r.kind))
    }
}

/// Filter verdicts collected field by field (for sinks that never build a `Record`).
#[derive(Debug, Default)]
pub(crate) struct Match {
    pid: bool,
    name: bool,
    pers: bool,
    kind: bool,
}

impl Match {
    pub(crate) fn pid(&mut self, f: &Filter, v: u32) {
        self.pid |= f.pids.contains(&v);
    }
    pub(crate) fn name(&mut self, f: &Filter, v: &str) {
        self.name |= f.names.iter().any(|n| n == v);
    }
    pub(crate) fn pers(&mut self, f: &Filter, v: &str) {
        self.pers |= f.pers.iter().any(|n| n == v);
    }
    pub(crate) fn kind(&mut self, f: &Filter, v: &str) {
        self.kind |= Kind::parse(v).is_some_and(|k| f.kinds.contains(&k));
    }
    pub(crate) fn passes(&self, f: &Filter) -> bool {
        (f.pids.is_empty() || self.pid)
            && (f.names.is_empty() || self.name)
            && (f.pers.is_empty() || self.pers)
            && (f.kinds.is_empty() || self.kind)
    }
}

impl Filter {
    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.pids.is_empty()
            && self.names.is_empty()
            && self.pers.is_empty()
            && self.kinds.is_empty()
    }
}
