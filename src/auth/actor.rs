//! Who acts: the identity behind a request, with its role, organisation and scope.

use std::fmt;

/// Roles, from least to most powerful. `System` is the seed and the command line on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Anonymous,
    Municipality,
    Coordinator,
    Admin,
    System,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Anonymous => "anonymous",
            Role::Municipality => "municipality",
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }

    /// Roles a token can carry.
    pub fn parse_token_role(s: &str) -> Option<Role> {
        match s {
            "municipality" => Some(Role::Municipality),
            "coordinator" => Some(Role::Coordinator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What a coordinator may act on: topic fields (by slug), Länder (ISO codes) and single projects
/// (by slug). A project is in scope when any of them matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub topic_fields: Vec<String>,
    pub lands: Vec<String>,
    pub projects: Vec<String>,
}

impl Scope {
    pub const EXPECTED: &'static str = "items like topic:ein_auswanderung, land:DE-NW or project:einbuergerung";

    /// Parses `topic:…`, `land:…` and `project:…` items.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Scope, String> {
        let mut s = Scope::default();
        for item in items {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            match item.split_once(':') {
                Some(("topic", v)) if !v.is_empty() => s.topic_fields.push(v.to_owned()),
                Some(("land", v)) if !v.is_empty() => s.lands.push(v.to_owned()),
                Some(("project", v)) if !v.is_empty() => s.projects.push(v.to_owned()),
                _ => return Err(format!("scope item {item:?} is not one of {}", Scope::EXPECTED)),
            }
        }
        Ok(s)
    }

    pub fn items(&self) -> Vec<String> {
        let t = self.topic_fields.iter().map(|v| format!("topic:{v}"));
        let l = self.lands.iter().map(|v| format!("land:{v}"));
        let p = self.projects.iter().map(|v| format!("project:{v}"));
        t.chain(l).chain(p).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.topic_fields.is_empty() && self.lands.is_empty() && self.projects.is_empty()
    }
}

/// The identity behind a request or command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The token's `sub`, or "anonymous", or the system component ("seed", "cli").
    pub subject: String,
    pub role: Role,
    pub organisation_id: Option<crate::domain::OrganisationId>,
    pub scope: Scope,
    /// The token's issuer.
    pub issuer: Option<String>,
}

impl Actor {
    pub fn anonymous() -> Self {
        Actor {
            subject: "anonymous".into(),
            role: Role::Anonymous,
            organisation_id: None,
            scope: Scope::default(),
            issuer: None,
        }
    }

    /// The seed or the command line, acting with full rights on the server itself.
    pub fn system(name: &str) -> Self {
        Actor { subject: name.into(), role: Role::System, organisation_id: None, scope: Scope::default(), issuer: None }
    }

    pub fn is_authenticated(&self) -> bool {
        self.role != Role::Anonymous
    }

    /// Coordinators, admins and the system see who made a change.
    pub fn sees_actors(&self) -> bool {
        matches!(self.role, Role::Coordinator | Role::Admin | Role::System)
    }
}
