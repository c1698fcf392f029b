//! Limits checked before a query runs: tokens, fields, nesting depth, aliases, list lengths, page
//! sizes, introspection, and an estimated cost. Connections cost their page size (`first`, required,
//! 1 to 100) times their children; other lists count as `LIST_ESTIMATE` items times their children;
//! every field costs 1; an introspection selection costs a flat 100. A query over a limit is refused
//! with a message and `extensions.limit` naming the limit; the cost of an accepted one is reported in
//! `extensions.cost`.

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
pub const DEFAULT_MAX_COST: u64 = 10_000;
/// How many items a list without a page size is assumed to hold.
pub const LIST_ESTIMATE: u64 = 5;
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_cost: DEFAULT_MAX_COST, introspection: true }
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
    /// The `first` argument of a connection field: required, within 1..=MAX_PAGE.
    fn page_size(&self, field: &str, args: &[(&'d str, Value<'d, &'d str>)]) -> Result<Option<u64>, LimitError> {
        let Some((_, v)) = args.iter().find(|(n, _)| *n == "first") else { return Ok(None) };
        let n = match v {
            Value::Int(n) => n.as_i64(),
            Value::Variable(name) => self.variables.get(*name).and_then(|v| v.as_i64()),
            _ => None,
        };
        match n {
            // Missing or mistyped values are reported by validation.
            None => Ok(None),
            Some(n) if n >= 1 && n as u64 <= MAX_PAGE => Ok(Some(n as u64)),
            Some(n) => Err(LimitError::new(
                "first",
                MAX_PAGE,
                format!("{field}(first: {n}): a page holds between 1 and {MAX_PAGE} items; page on with `after`"),
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
                    } else if f.selection_set.items.is_empty() {
                        1
                    } else {
                        let field = meta.and_then(|m: &MetaType<juniper::DefaultScalarValue>| m.field_by_name(f.name));
                        let (child, is_list) = match field {
                            Some(fd) => {
                                (fd.field_type.innermost_name().to_owned(), fd.field_type.to_string().starts_with('['))
                            }
                            // Unknown fields are reported by validation; price them as objects.
                            None => (String::new(), false),
                        };
                        let in_connection = type_name.ends_with("Connection");
                        let factor = if child.ends_with("Connection") {
                            self.page_size(f.name, &f.arguments)?.unwrap_or(MAX_PAGE)
                        } else if is_list && !in_connection {
                            LIST_ESTIMATE
                        } else {
                            1
                        };
                        1 + factor.saturating_mul(self.cost(&f.selection_set, &child, depth + 1, spreads)?)
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
    Ok(Some(Measure { depth: w.depth, aliases: w.aliases, fields: w.fields, cost, mutation }))
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
