//! Limits checked before a query runs: tokens, fields, nesting depth, aliases, list lengths, page
//! sizes, introspection, and an estimated cost. The cost is an upper bound of the fields the query
//! can resolve: every field costs 1, and a list multiplies its children by the most items it can
//! return. A connection returns at most its `first` (required, 1 to 100); every other list is in
//! [`list_bound`]: either it takes a `first` argument with a default (and returns at most that
//! many), or its length is fixed by the vocabularies and reference data. A cycle back up the graph
//! (`leikaServices → ozgService → leikaServices`) is priced as the product it is. A newsletter is
//! built whole by the service whatever is selected and costs a flat `NEWSLETTER_COST`; an
//! introspection selection a flat 100. A query over a limit is refused with a message and
//! `extensions.limit` naming the limit; the cost of an accepted one is reported in `extensions.cost`.
//!
//! While a query runs, [`Limits::max_objects`] bounds the objects it resolves and
//! [`Limits::max_response_bytes`] the answer it serialises (see `graphql::context::Budget`).

use std::collections::HashMap;

use graphql_parser::query::{Definition, Document, Field, OperationDefinition, Selection, SelectionSet, Value};
use juniper::meta::MetaType;

use super::Schema;

pub const MAX_DEPTH: usize = 10;
pub const MAX_ALIASES: usize = 15;
/// Fields selected by one operation, counted after fragments are expanded.
pub const MAX_FIELDS: usize = 1_000;
/// Lexical tokens of one document (names, punctuation, values).
pub const MAX_TOKENS: usize = 20_000;
/// Items of any list in the arguments or variables.
pub const MAX_LIST_ITEMS: usize = 250;
/// Page sizes a connection accepts (`first`).
pub const MAX_PAGE: u64 = 100;
/// The default cost limit, in points (see the module documentation).
pub const DEFAULT_MAX_COST: u64 = 100_000;
/// The default bound of objects one query may resolve while it runs.
pub const DEFAULT_MAX_OBJECTS: u64 = 100_000;
/// The default bound of one answer's serialised size.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;
/// What a list with a `first` argument returns when `first` is not given.
pub const LIST_DEFAULT: i32 = 100;
/// The largest `first` such a list accepts.
pub const LIST_MAX: u64 = 1_000;
/// LeiKa-Leistungen one OZG-Leistung may bundle: the seed refuses more, so the default of
/// `OzgService.leikaServices(first:)` returns all of them (the catalogue's largest, OZG-ID 10069, has 318).
pub const MAX_LEIKA_PER_SERVICE: i32 = 400;
/// Peers one registry replicates from (`federation peer add` refuses more).
pub const MAX_PEERS: u64 = 100;
/// What a newsletter costs, whatever is selected of it: the service builds it whole.
pub const NEWSLETTER_COST: u64 = 2_000;

/// How many items a list field can return at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListBound {
    /// The field takes `first` (1 to `max`, default `default`) and returns at most that many.
    First { default: u64, max: u64 },
    /// The list is as long as a vocabulary, the reference data or a record's fields allow.
    Fixed(u64),
}

/// Every list field of the schema that is not a connection's `edges`, with its bound; a unit test
/// checks that no list field is missing here and that each `First` field has the argument.
pub fn list_bound(type_name: &str, field: &str) -> Option<ListBound> {
    use ListBound::*;
    let paged = First { default: LIST_DEFAULT as u64, max: LIST_MAX };
    Some(match (type_name, field) {
        ("OzgService", "leikaServices") => {
            First { default: MAX_LEIKA_PER_SERVICE as u64, max: MAX_LEIKA_PER_SERVICE as u64 }
        }
        ("Query", "calls" | "reuseDeclarations" | "events" | "newsletterDefinitions")
        | ("OzgService", "projects")
        | ("Organisation", "children" | "participations" | "reuseDeclarations" | "contacts")
        | (
            "Project",
            "services" | "platforms" | "fundings" | "steps" | "milestones" | "relations" | "relatedFrom"
            | "participations" | "calls" | "reuseDeclarations" | "contacts" | "events",
        )
        | ("Event", "projects")
        | ("NewsletterDefinition", "editions") => paged,
        // The 16 Länder and the 14 Themenfelder with their leads (Länder and a federal ministry)
        // and Lebenslagen, seeded from the reference data only.
        ("Query", "lands" | "topicFields") | ("TopicField", "leads") => Fixed(20),
        ("TopicField", "lifeSituations") => Fixed(100),
        ("Query", "dataSources" | "vocabularies") => Fixed(20),
        ("VocabularyInfo", "values") => Fixed(50),
        ("Project", "allowedNextPhases") => Fixed(vocab_len::<crate::domain::Phase>()),
        ("ReuseDeclaration", "allowedNextStatuses") => Fixed(vocab_len::<crate::domain::ReuseStatus>()),
        ("Call", "rolesSought") => Fixed(vocab_len::<crate::domain::ParticipationRole>()),
        // A change entry lists the fields of one record.
        ("Change", "fields") => Fixed(64),
        ("FederationStatus", "peers") => Fixed(MAX_PEERS),
        // Validation reports a few errors per input.
        (_, "userErrors") | ("Mutation", "subscribeNewsletter") => Fixed(20),
        _ => return None,
    })
}

fn vocab_len<T: crate::domain::Vocabulary>() -> u64 {
    T::ALL.len() as u64
}

/// Types built whole by the newsletter service (priced flat where they are returned).
fn is_newsletter_type(name: &str) -> bool {
    name.strip_prefix("Newsletter")
        .is_some_and(|rest| rest.ends_with("Item") || matches!(rest, "Result" | "Issue" | "Section" | "RoleGroup"))
}
/// Introspection lists (`fields`, `interfaces`, `possibleTypes`, `inputFields`) nested in one another
/// at most this often; deeper is the circular introspection that asks for the schema again and again.
const MAX_INTROSPECTION_LISTS: usize = 2;
const MAX_INTROSPECTION_DEPTH: usize = 20;
/// What a `__schema` or `__type` selection costs, whatever it selects (the schema is small and fixed).
const INTROSPECTION_COST: u64 = 100;

/// The limits a server enforces; the fixed ones are constants above.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_cost: u64,
    /// Whether `__schema` and `__type` may be asked (`__typename` always may).
    pub introspection: bool,
    /// Objects a query may resolve while it runs (list items and looked-up records).
    pub max_objects: u64,
    /// Bytes an answer may have when serialised.
    pub max_response_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_cost: DEFAULT_MAX_COST,
            introspection: true,
            max_objects: DEFAULT_MAX_OBJECTS,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// A request over a limit: which limit, its bound, and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    /// `LIMIT_EXCEEDED`, or `BAD_USER_INPUT` for text no database stores (NUL characters).
    pub code: &'static str,
    pub limit: &'static str,
    pub max: u64,
    pub message: String,
}

impl LimitError {
    fn new(limit: &'static str, max: impl TryInto<u64>, message: impl Into<String>) -> Self {
        LimitError { code: "LIMIT_EXCEEDED", limit, max: max.try_into().unwrap_or(u64::MAX), message: message.into() }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Measure {
    pub depth: usize,
    pub aliases: usize,
    pub fields: usize,
    pub cost: u64,
    /// Whether the operation that will run is a mutation.
    pub mutation: bool,
    /// The fields the operation selects at its root (for a mutation: the writes it makes),
    /// fragments included.
    pub root_fields: Vec<String>,
}

struct Walker<'a, 'd> {
    schema: &'a Schema,
    limits: &'a Limits,
    fragments: HashMap<&'d str, &'d SelectionSet<'d, &'d str>>,
    variables: &'a serde_json::Map<String, serde_json::Value>,
    aliases: usize,
    fields: usize,
    depth: usize,
}

impl<'a, 'd> Walker<'a, 'd> {
    /// The `first` argument of a connection field (required, within 1..=MAX_PAGE) or of a list
    /// field (within 1..=`max`).
    fn page_size(
        &self,
        field: &str,
        args: &[(&'d str, Value<'d, &'d str>)],
        max: u64,
    ) -> Result<Option<u64>, LimitError> {
        let Some((_, v)) = args.iter().find(|(n, _)| *n == "first") else { return Ok(None) };
        let n = match v {
            Value::Int(n) => n.as_i64(),
            Value::Variable(name) => self.variables.get(*name).and_then(|v| v.as_i64()),
            _ => None,
        };
        match n {
            // Missing or mistyped values are reported by validation.
            None => Ok(None),
            Some(n) if n >= 1 && n as u64 <= max => Ok(Some(n as u64)),
            Some(n) if max == MAX_PAGE => Err(LimitError::new(
                "first",
                MAX_PAGE,
                format!("{field}(first: {n}): a page holds between 1 and {MAX_PAGE} items; page on with `after`"),
            )),
            Some(n) => Err(LimitError::new(
                "first",
                max,
                format!("{field}(first: {n}): this list returns between 1 and {max} items"),
            )),
        }
    }

    fn count_field(&mut self, f: &'d Field<'d, &'d str>) -> Result<(), LimitError> {
        self.fields += 1;
        if self.fields > MAX_FIELDS {
            return Err(LimitError::new(
                "fields",
                MAX_FIELDS,
                format!("the query selects more than {MAX_FIELDS} fields (fragments counted where they are used)"),
            ));
        }
        if f.alias.is_some() {
            self.aliases += 1;
            if self.aliases > MAX_ALIASES {
                return Err(LimitError::new(
                    "aliases",
                    MAX_ALIASES,
                    format!("the query uses more than {MAX_ALIASES} aliases"),
                ));
            }
        }
        for (name, v) in &f.arguments {
            check_value(&format!("{}.{name}", f.name), v)?;
        }
        Ok(())
    }

    fn spread(&self, name: &str, spreads: usize) -> Result<Option<&'d SelectionSet<'d, &'d str>>, LimitError> {
        if spreads > 50 {
            return Err(LimitError::new("depth", MAX_DEPTH, "the query spreads fragments too deeply"));
        }
        Ok(self.fragments.get(name).copied())
    }

    /// Cost of a selection set on `type_name`, at nesting `depth`.
    fn cost(
        &mut self,
        set: &'d SelectionSet<'d, &'d str>,
        type_name: &str,
        depth: usize,
        spreads: usize,
    ) -> Result<u64, LimitError> {
        if depth > MAX_DEPTH {
            return Err(LimitError::new("depth", MAX_DEPTH, format!("the query nests deeper than {MAX_DEPTH} levels")));
        }
        self.depth = self.depth.max(depth);
        let meta = self.schema.schema.concrete_type_by_name(type_name);
        let mut total: u64 = 0;
        for item in &set.items {
            let c = match item {
                Selection::Field(f) => {
                    self.count_field(f)?;
                    if f.name == "__schema" || f.name == "__type" {
                        if !self.limits.introspection {
                            return Err(LimitError::new(
                                "introspection",
                                0u64,
                                "introspection (__schema, __type) is switched off on this server; the schema is published as schema.graphql",
                            ));
                        }
                        self.introspection(&f.selection_set, 1, 0, spreads)?;
                        INTROSPECTION_COST
                    } else {
                        let field = meta.and_then(|m: &MetaType<juniper::DefaultScalarValue>| m.field_by_name(f.name));
                        let (child, is_list) = match field {
                            Some(fd) => {
                                (fd.field_type.innermost_name().to_owned(), fd.field_type.to_string().starts_with('['))
                            }
                            // Unknown fields are reported by validation; price them as objects.
                            None => (String::new(), false),
                        };
                        let factor = if child.ends_with("Connection") {
                            self.page_size(f.name, &f.arguments, MAX_PAGE)?.unwrap_or(MAX_PAGE)
                        } else if !is_list || type_name.ends_with("Connection") || is_newsletter_type(type_name) {
                            // An object, a connection's edges (priced by `first` above), or a list
                            // inside a newsletter (priced flat where the newsletter is returned).
                            1
                        } else {
                            match list_bound(type_name, f.name) {
                                Some(ListBound::First { default, max }) => {
                                    self.page_size(f.name, &f.arguments, max)?.unwrap_or(default)
                                }
                                Some(ListBound::Fixed(n)) => n,
                                // A list the table does not know (a unit test keeps this from
                                // happening) is priced at the largest bound there is.
                                None => LIST_MAX,
                            }
                        };
                        let flat = if is_newsletter_type(&child) && !is_newsletter_type(type_name) {
                            NEWSLETTER_COST
                        } else {
                            0
                        };
                        let children = if f.selection_set.items.is_empty() {
                            0
                        } else {
                            self.cost(&f.selection_set, &child, depth + 1, spreads)?
                        };
                        // A list of scalars or enums costs its items.
                        let children = children.max(u64::from(is_list && f.selection_set.items.is_empty()));
                        1 + flat + factor.saturating_mul(children)
                    }
                }
                Selection::FragmentSpread(s) => match self.spread(s.fragment_name, spreads)? {
                    Some(set) => self.cost(set, type_name, depth, spreads + 1)?,
                    None => 0,
                },
                Selection::InlineFragment(i) => self.cost(&i.selection_set, type_name, depth, spreads + 1)?,
            };
            total = total.saturating_add(c);
            if total > self.limits.max_cost {
                return Err(LimitError::new(
                    "cost",
                    self.limits.max_cost,
                    format!(
                        "the query's estimated cost exceeds {} points; ask for smaller pages or fewer nested lists",
                        self.limits.max_cost
                    ),
                ));
            }
        }
        Ok(total)
    }

    /// Walks an introspection selection: its own depth bound, and no list of types nested in another
    /// more than `MAX_INTROSPECTION_LISTS` times.
    fn introspection(
        &mut self,
        set: &'d SelectionSet<'d, &'d str>,
        depth: usize,
        lists: usize,
        spreads: usize,
    ) -> Result<(), LimitError> {
        if depth > MAX_INTROSPECTION_DEPTH {
            return Err(LimitError::new(
                "depth",
                MAX_INTROSPECTION_DEPTH,
                format!("the introspection query nests deeper than {MAX_INTROSPECTION_DEPTH} levels"),
            ));
        }
        for item in &set.items {
            match item {
                Selection::Field(f) => {
                    self.count_field(f)?;
                    let lists = lists
                        + usize::from(matches!(f.name, "fields" | "interfaces" | "possibleTypes" | "inputFields"));
                    if lists > MAX_INTROSPECTION_LISTS {
                        return Err(LimitError::new(
                            "introspection",
                            MAX_INTROSPECTION_LISTS,
                            format!(
                                "circular introspection: `{}` nested inside introspection lists more than {MAX_INTROSPECTION_LISTS} times",
                                f.name
                            ),
                        ));
                    }
                    self.introspection(&f.selection_set, depth + 1, lists, spreads)?;
                }
                Selection::FragmentSpread(s) => {
                    if let Some(set) = self.spread(s.fragment_name, spreads)? {
                        self.introspection(set, depth, lists, spreads + 1)?;
                    }
                }
                Selection::InlineFragment(i) => self.introspection(&i.selection_set, depth, lists, spreads + 1)?,
            }
        }
        Ok(())
    }
}

/// Refuses a literal list argument longer than `MAX_LIST_ITEMS`, at any nesting, and literal text
/// holding NUL characters (written as `\u0000` in the document).
fn check_value<'d>(path: &str, v: &Value<'d, &'d str>) -> Result<(), LimitError> {
    match v {
        Value::List(items) => {
            if items.len() > MAX_LIST_ITEMS {
                return Err(too_many_items(path, items.len()));
            }
            items.iter().try_for_each(|i| check_value(path, i))
        }
        Value::Object(o) => o.iter().try_for_each(|(k, v)| check_value(&format!("{path}.{k}"), v)),
        Value::String(t) if t.contains('\0') => Err(LimitError {
            code: "BAD_USER_INPUT",
            limit: "text",
            max: 0,
            message: format!("{path}: text must not contain NUL characters (\\u0000)"),
        }),
        _ => Ok(()),
    }
}

/// Refuses a list in the variables longer than `MAX_LIST_ITEMS`, at any nesting.
fn check_list_json(path: &str, v: &serde_json::Value) -> Result<(), LimitError> {
    match v {
        serde_json::Value::Array(items) => {
            if items.len() > MAX_LIST_ITEMS {
                return Err(too_many_items(path, items.len()));
            }
            items.iter().try_for_each(|i| check_list_json(path, i))
        }
        serde_json::Value::Object(o) => o.iter().try_for_each(|(k, v)| check_list_json(&format!("{path}.{k}"), v)),
        _ => Ok(()),
    }
}

fn too_many_items(path: &str, n: usize) -> LimitError {
    LimitError::new("listItems", MAX_LIST_ITEMS, format!("{path}: {n} items; a list holds at most {MAX_LIST_ITEMS}"))
}

/// Counts lexical tokens the way a GraphQL lexer would (names, numbers, strings, punctuators),
/// without building anything, so that an oversized document is refused before it is parsed.
pub fn count_tokens(query: &str) -> usize {
    let b = query.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || c == b',' {
            i += 1;
        } else if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'"' {
            n += 1;
            let block = b[i..].starts_with(b"\"\"\"");
            i += if block { 3 } else { 1 };
            while i < b.len() {
                if b[i] == b'\\' {
                    i += 2;
                } else if block && b[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    break;
                } else if !block && (b[i] == b'"' || b[i] == b'\n') {
                    i += 1;
                    break;
                } else {
                    i += 1;
                }
            }
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
            n += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.' | b'-' | b'+')) {
                i += 1;
            }
        } else if b[i..].starts_with(b"...") {
            n += 1;
            i += 3;
        } else {
            n += 1;
            i += 1;
        }
    }
    n
}

/// Measures the operation that will run. Syntax errors are left to juniper's own reporting
/// (`Ok(None)`).
pub fn measure(
    schema: &Schema,
    limits: &Limits,
    query: &str,
    operation_name: Option<&str>,
    variables: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<Measure>, LimitError> {
    let tokens = count_tokens(query);
    if tokens > MAX_TOKENS {
        return Err(LimitError::new(
            "tokens",
            MAX_TOKENS,
            format!("the document has {tokens} tokens; at most {MAX_TOKENS} are read"),
        ));
    }
    for (k, v) in variables {
        check_list_json(&format!("${k}"), v)?;
    }
    let Ok(doc) = graphql_parser::parse_query::<&str>(query) else { return Ok(None) };
    let doc: &Document<&str> = &doc;
    let mut fragments = HashMap::new();
    let mut operations = Vec::new();
    for d in &doc.definitions {
        match d {
            Definition::Fragment(f) => {
                fragments.insert(f.name, &f.selection_set);
            }
            Definition::Operation(o) => operations.push(o),
        }
    }
    let chosen = match operation_name {
        Some(name) => operations.iter().find(|o| op_name(o) == Some(name)).copied(),
        None => operations.first().copied(),
    };
    let Some(op) = chosen else { return Ok(None) };
    let (set, root) = match op {
        OperationDefinition::SelectionSet(s) => (s, "Query"),
        OperationDefinition::Query(q) => (&q.selection_set, "Query"),
        OperationDefinition::Mutation(m) => (&m.selection_set, "Mutation"),
        OperationDefinition::Subscription(s) => (&s.selection_set, "Subscription"),
    };
    let defaults = match op {
        OperationDefinition::Query(q) => &q.variable_definitions[..],
        OperationDefinition::Mutation(m) => &m.variable_definitions[..],
        OperationDefinition::Subscription(s) => &s.variable_definitions[..],
        OperationDefinition::SelectionSet(_) => &[],
    };
    for d in defaults {
        if let Some(v) = &d.default_value {
            check_value(&format!("${}", d.name), v)?;
        }
    }
    let mut w = Walker { schema, limits, fragments, variables, aliases: 0, fields: 0, depth: 0 };
    let cost = w.cost(set, root, 1, 0)?;
    let mutation = matches!(op, OperationDefinition::Mutation(_));
    let mut root_fields = Vec::new();
    collect_fields(set, &w.fragments, &mut root_fields, 0);
    Ok(Some(Measure { depth: w.depth, aliases: w.aliases, fields: w.fields, cost, mutation, root_fields }))
}

fn collect_fields<'d>(
    set: &'d SelectionSet<'d, &'d str>,
    fragments: &HashMap<&'d str, &'d SelectionSet<'d, &'d str>>,
    out: &mut Vec<String>,
    spreads: usize,
) {
    if spreads > 50 {
        return;
    }
    for item in &set.items {
        match item {
            Selection::Field(f) => out.push(f.name.to_owned()),
            Selection::FragmentSpread(s) => {
                if let Some(set) = fragments.get(s.fragment_name) {
                    collect_fields(set, fragments, out, spreads + 1);
                }
            }
            Selection::InlineFragment(i) => collect_fields(&i.selection_set, fragments, out, spreads + 1),
        }
    }
}

fn op_name<'d>(o: &OperationDefinition<'d, &'d str>) -> Option<&'d str> {
    match o {
        OperationDefinition::SelectionSet(_) => None,
        OperationDefinition::Query(q) => q.name,
        OperationDefinition::Mutation(m) => m.name,
        OperationDefinition::Subscription(s) => s.name,
    }
}

/// Whether the operation that would run is a mutation (for refusing mutations over GET). Documents
/// that do not parse are left to the normal error reporting.
pub fn is_mutation(query: &str, operation_name: Option<&str>) -> bool {
    let Ok(doc) = graphql_parser::parse_query::<&str>(query) else { return false };
    let ops: Vec<&OperationDefinition<&str>> = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Operation(o) => Some(o),
            Definition::Fragment(_) => None,
        })
        .collect();
    let chosen = match operation_name {
        Some(name) => ops.iter().find(|o| op_name(o) == Some(name)).copied(),
        None => ops.first().copied(),
    };
    matches!(chosen, Some(OperationDefinition::Mutation(_)))
}

#[cfg(test)]
mod tests;
