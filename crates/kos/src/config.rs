//! Connections declared outside the programs (`init.yaml`, `--kos-connect`) and the policy
//! file of the security module (`--policy`).

use ipcemu_kernel::{HookCtx, Message, MessageHook, MsgKind, Verdict};
use serde::Deserialize;
use std::cell::RefCell;
use std::rc::Rc;
use yaml_rust2::{Yaml, YamlLoader};

/// One connection: `client` calls `server` over connection `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Client entity (process name).
    pub client: String,
    /// Connection name both sides use with the service locator.
    pub id: String,
    /// Server entity.
    pub server: String,
}

/// A bad init file, connection option or policy.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Syntax or shape error, with where it is.
    #[error("{file}: {what}")]
    Bad {
        /// File (or option) name.
        file: String,
        /// What is wrong (with the line, when known).
        what: String,
    },
}

fn bad(file: &str, what: impl Into<String>) -> ConfigError {
    ConfigError::Bad {
        file: file.to_string(),
        what: what.into(),
    }
}

/// Parse an init file in the shape of KasperskyOS's `init.yaml`:
/// `entities: [ {name, connections: [ {target, id} ]} ]`.
pub fn parse_init(file: &str, text: &str) -> Result<Vec<Connection>, ConfigError> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| bad(file, e.to_string()))?;
    let Some(doc) = docs.first() else {
        return Ok(Vec::new());
    };
    let top = doc
        .as_hash()
        .ok_or_else(|| bad(file, "the top level must be a mapping with `entities`"))?;
    let mut out = Vec::new();
    for (k, v) in top {
        match k.as_str() {
            Some("entities") => {}
            other => {
                return Err(bad(
                    file,
                    format!("unknown key {:?} at the top level", other.unwrap_or("?")),
                ))
            }
        }
        let ents = v
            .as_vec()
            .ok_or_else(|| bad(file, "`entities` must be a list"))?;
        for (i, e) in ents.iter().enumerate() {
            let h = e
                .as_hash()
                .ok_or_else(|| bad(file, format!("entities[{i}] must be a mapping")))?;
            let mut name = None;
            let mut conns: Vec<(String, String)> = Vec::new();
            for (ek, ev) in h {
                match ek.as_str() {
                    Some("name") => {
                        name = Some(str_of(file, ev, &format!("entities[{i}].name"))?);
                    }
                    Some("connections") => {
                        let list = match ev {
                            Yaml::Null => Vec::new(),
                            Yaml::Array(a) => a.clone(),
                            _ => {
                                return Err(bad(
                                    file,
                                    format!("entities[{i}].connections must be a list"),
                                ))
                            }
                        };
                        for (j, c) in list.iter().enumerate() {
                            let ch = c.as_hash().ok_or_else(|| {
                                bad(
                                    file,
                                    format!("entities[{i}].connections[{j}] must be a mapping"),
                                )
                            })?;
                            let (mut target, mut id) = (None, None);
                            for (ck, cv) in ch {
                                let at = format!("entities[{i}].connections[{j}]");
                                match ck.as_str() {
                                    Some("target") => target = Some(str_of(file, cv, &at)?),
                                    Some("id") => id = Some(str_of(file, cv, &at)?),
                                    other => {
                                        return Err(bad(
                                            file,
                                            format!(
                                                "unknown key {:?} in {at}",
                                                other.unwrap_or("?")
                                            ),
                                        ))
                                    }
                                }
                            }
                            let at = format!("entities[{i}].connections[{j}]");
                            let target =
                                target.ok_or_else(|| bad(file, format!("{at} has no `target`")))?;
                            let id = id.ok_or_else(|| bad(file, format!("{at} has no `id`")))?;
                            conns.push((target, id));
                        }
                    }
                    other => {
                        return Err(bad(
                            file,
                            format!("unknown key {:?} in entities[{i}]", other.unwrap_or("?")),
                        ))
                    }
                }
            }
            let name = name.ok_or_else(|| bad(file, format!("entities[{i}] has no `name`")))?;
            for (target, id) in conns {
                out.push(Connection {
                    client: name.clone(),
                    id,
                    server: target,
                });
            }
        }
    }
    Ok(out)
}

fn str_of(file: &str, v: &Yaml, at: &str) -> Result<String, ConfigError> {
    match v {
        Yaml::String(s) => Ok(s.clone()),
        Yaml::Integer(i) => Ok(i.to_string()),
        _ => Err(bad(file, format!("{at}: expected a string"))),
    }
}

/// Parse `CLIENT:ID=SERVER`.
pub fn parse_connect(s: &str) -> Result<Connection, ConfigError> {
    let err = || bad("--kos-connect", format!("{s:?} is not CLIENT:ID=SERVER"));
    let (client, rest) = s.split_once(':').ok_or_else(err)?;
    let (id, server) = rest.split_once('=').ok_or_else(err)?;
    if client.is_empty() || id.is_empty() || server.is_empty() {
        return Err(err());
    }
    Ok(Connection {
        client: client.into(),
        id: id.into(),
        server: server.into(),
    })
}

/// What a rule or the default does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Let the message pass.
    Allow,
    /// Refuse it (`rcSecurityDisallow`).
    Deny,
}

/// Which messages a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Requests (Call).
    Request,
    /// Responses (Reply).
    Response,
    /// Both.
    #[default]
    Any,
}

/// One `[[rule]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Allow or deny.
    pub action: Action,
    /// Requests, responses or both.
    #[serde(default)]
    pub direction: Direction,
    /// Sending entity (`*` or absent: any).
    pub src: Option<String>,
    /// Receiving entity (`*` or absent: any).
    pub dst: Option<String>,
    /// Connection id.
    pub connection: Option<String>,
    /// Interface implementation id.
    pub riid: Option<u32>,
    /// Method id (for Win32 messages: the window message number, `WM_COPYDATA` = 74).
    pub mid: Option<u32>,
    /// The personality whose messages the rule checks (`kos` when absent). Rules naming
    /// another personality (`win32`) check its messages too; such messages that no rule
    /// matches pass (the default is for `kos` messages).
    pub personality: Option<String>,
}

/// A policy file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// What happens when no rule matches.
    pub default: Action,
    /// Rules, tried in order; the first that matches decides.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

impl Policy {
    /// Parse a policy file (errors name the file and the line).
    pub fn parse(file: &str, text: &str) -> Result<Policy, ConfigError> {
        toml::from_str(text).map_err(|e| bad(file, e.to_string().trim_end().to_string()))
    }

    /// Entity names the `kos` rules mention (to check them against the run; rules for
    /// another personality may name processes that programs start later).
    pub fn entities(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| r.personality.as_deref().map_or(true, |p| p == crate::NAME))
            .flat_map(|r| [r.src.as_deref(), r.dst.as_deref()])
            .flatten()
            .filter(|s| *s != "*")
            .collect()
    }

    /// The deciding rule (index) and action for one message of personality `pers`
    /// (`None` and the default apply to `kos` messages only).
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &self,
        pers: &str,
        dir: Direction,
        src: &str,
        dst: &str,
        conn: &str,
        riid: u32,
        mid: u32,
    ) -> (Option<usize>, Action) {
        let any = |p: &Option<String>, v: &str| p.as_deref().map_or(true, |p| p == "*" || p == v);
        for (i, r) in self.rules.iter().enumerate() {
            let dir_ok = r.direction == Direction::Any || r.direction == dir;
            let pers_ok = r.personality.as_deref().unwrap_or(crate::NAME) == pers;
            if pers_ok
                && dir_ok
                && any(&r.src, src)
                && any(&r.dst, dst)
                && any(&r.connection, conn)
                && r.riid.map_or(true, |v| v == riid)
                && r.mid.map_or(true, |v| v == mid)
            {
                return (Some(i), r.action);
            }
        }
        if pers == crate::NAME {
            (None, self.default)
        } else {
            (None, Action::Allow)
        }
    }
}

/// The security module: a hook on the kernel's message path that checks every request and
/// response of the `kos` personality against a [`Policy`]. Each decision is left in
/// `decision` for the personality's trace record.
pub struct SecurityModule {
    /// The policy.
    pub policy: Policy,
    /// The last decision (`allow by rule 2`, `deny by default`), read by the personality.
    pub decision: Rc<RefCell<Option<String>>>,
}

impl MessageHook for SecurityModule {
    fn name(&self) -> &str {
        "security-module"
    }
    fn inspect(&mut self, ctx: &HookCtx<'_>, msg: &mut Message) -> Verdict {
        let pers = msg.personality;
        if pers != crate::NAME
            && !self
                .policy
                .rules
                .iter()
                .any(|r| r.personality.as_deref() == Some(pers))
        {
            return Verdict::Allow;
        }
        let dir = match msg.kind {
            MsgKind::Request => Direction::Request,
            MsgKind::Response => Direction::Response,
            _ => Direction::Any,
        };
        let (riid, mid) = msg.method.unwrap_or((0, 0));
        let conn = msg.channel.as_deref().unwrap_or("");
        let (rule, action) =
            self.policy
                .decide(pers, dir, ctx.from_name, ctx.to_name, conn, riid, mid);
        let by = match rule {
            Some(i) => format!("rule {}", i + 1),
            None => "default".to_string(),
        };
        let (word, v) = match action {
            Action::Allow => ("allow", Verdict::Allow),
            Action::Deny => ("deny", Verdict::Deny(format!("denied by {by}"))),
        };
        *self.decision.borrow_mut() = Some(format!("{word} by {by}"));
        v
    }
}
