//! Limits checked before a query runs: nesting depth, aliases, and an estimated cost. Connections
//! cost their page size (`first`, default 20) times their children; other lists count as
//! `LIST_ESTIMATE` items times their children; every field costs 1. A query over a limit is refused
//! with a message naming the limit; the cost of an accepted one is reported in `extensions.cost`.

use std::collections::HashMap;

use graphql_parser::query::{Definition, Document, OperationDefinition, Selection, SelectionSet, Value};
use juniper::meta::MetaType;

use super::Schema;

pub const MAX_DEPTH: usize = 10;
pub const MAX_ALIASES: usize = 15;
pub const MAX_COST: u64 = 10_000;
/// How many items a list without a page size is assumed to hold.
pub const LIST_ESTIMATE: u64 = 5;
const DEFAULT_PAGE: u64 = 20;

#[derive(Debug, PartialEq, Eq)]
pub struct Measure {
    pub depth: usize,
    pub aliases: usize,
    pub cost: u64,
}

struct Walker<'a, 'd> {
    schema: &'a Schema,
    fragments: HashMap<&'d str, &'d SelectionSet<'d, &'d str>>,
    variables: &'a serde_json::Map<String, serde_json::Value>,
    aliases: usize,
    depth: usize,
}

impl<'a, 'd> Walker<'a, 'd> {
    fn page_size(&self, args: &[(&'d str, Value<'d, &'d str>)]) -> Option<u64> {
        let (_, v) = args.iter().find(|(n, _)| *n == "first")?;
        match v {
            Value::Int(n) => n.as_i64().map(|n| n.max(0) as u64),
            Value::Variable(name) => self.variables.get(*name).and_then(|v| v.as_u64()),
            _ => None,
        }
    }

    /// Cost of a selection set on `type_name`, at nesting `depth`.
    fn cost(
        &mut self,
        set: &'d SelectionSet<'d, &'d str>,
        type_name: &str,
        depth: usize,
        spreads: usize,
    ) -> Result<u64, String> {
        if depth > MAX_DEPTH {
            return Err(format!("the query nests deeper than {MAX_DEPTH} levels"));
        }
        self.depth = self.depth.max(depth);
        let meta = self.schema.schema.concrete_type_by_name(type_name);
        let mut total: u64 = 0;
        for item in &set.items {
            let c = match item {
                Selection::Field(f) => {
                    if f.alias.is_some() {
                        self.aliases += 1;
                        if self.aliases > MAX_ALIASES {
                            return Err(format!("the query uses more than {MAX_ALIASES} aliases"));
                        }
                    }
                    if f.name.starts_with("__") {
                        // Introspection: a flat price, and its own (schema-bounded) depth.
                        if f.selection_set.items.is_empty() { 1 } else { 100 }
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
                        let factor = if let Some(n) = self.page_size(&f.arguments) {
                            n
                        } else if child.ends_with("Connection") {
                            DEFAULT_PAGE
                        } else if is_list && !in_connection {
                            LIST_ESTIMATE
                        } else {
                            1
                        };
                        1 + factor.saturating_mul(self.cost(&f.selection_set, &child, depth + 1, spreads)?)
                    }
                }
                Selection::FragmentSpread(s) => {
                    if spreads > 50 {
                        return Err("the query spreads fragments too deeply".into());
                    }
                    match self.fragments.get(s.fragment_name) {
                        Some(set) => self.cost(set, type_name, depth, spreads + 1)?,
                        None => 0,
                    }
                }
                Selection::InlineFragment(i) => self.cost(&i.selection_set, type_name, depth, spreads + 1)?,
            };
            total = total.saturating_add(c);
            if total > MAX_COST {
                return Err(format!(
                    "the query's estimated cost exceeds {MAX_COST} points; ask for smaller pages or fewer nested lists"
                ));
            }
        }
        Ok(total)
    }
}

/// Measures the operation that will run. Syntax errors are left to juniper's own reporting
/// (`Ok(None)`).
pub fn measure(
    schema: &Schema,
    query: &str,
    operation_name: Option<&str>,
    variables: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<Measure>, String> {
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
    let mut w = Walker { schema, fragments, variables, aliases: 0, depth: 0 };
    let cost = w.cost(set, root, 1, 0)?;
    Ok(Some(Measure { depth: w.depth, aliases: w.aliases, cost }))
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
