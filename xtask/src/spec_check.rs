//! `cargo xtask spec check`: the spec's coverage of Druid's REST API.
//!
//! Compares `api-spec/` with the reference table of Druid's endpoints
//! (`tests/data/druid-api/endpoints.tsv`, copied into the project) and prints the
//! coverage per service, the rows the spec lacks and the entries the table
//! does not know. A row the spec lacks without a reason recorded in
//! `services.toml` (`[[omitted]]`) is a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use druid_api_codegen::Spec;

/// One row of the reference table.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) service: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) status: Option<String>,
}

impl Row {
    pub(crate) fn key(&self) -> String {
        format!("{} {}", self.method, normalize(&self.path))
    }
}

/// A path with every placeholder written `{}`, for comparison.
pub(crate) fn normalize(path: &str) -> String {
    let mut out = String::new();
    let mut in_placeholder = false;
    for c in path.trim_end_matches('/').chars() {
        match c {
            '{' => {
                in_placeholder = true;
                out.push_str("{}");
            }
            '}' => in_placeholder = false,
            _ if in_placeholder => {}
            _ => out.push(c),
        }
    }
    out
}

/// The reference table's default location.
pub(crate) fn default_table(root: &Path) -> PathBuf {
    root.join("tests/data/druid-api/endpoints.tsv")
}

/// Reads the reference table (plain TSV, no quoting, `-` for empty). The
/// endpoint status is its `status` column, or the `STATUS=` token of a
/// `notes` column (the layout of the table the copy was taken from).
pub(crate) fn read_table(path: &Path) -> Result<Vec<Row>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the endpoint table {}: {e}; the project's copy is tests/data/druid-api/endpoints.tsv",
            path.display()
        )
    })?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or("the endpoint table is empty")?
        .split('\t')
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(format!("the endpoint table has no `{name}` column"))
    };
    let (service, method, path) = (column("service")?, column("method")?, column("path")?);
    let status_column = column("status").map(StatusColumn::Status);
    let status_column = status_column.or_else(|_| column("notes").map(StatusColumn::Notes))?;
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        let cell = |i: usize| {
            cells
                .get(i)
                .copied()
                .ok_or(format!("row {} has too few columns", n + 2))
        };
        let status = match status_column {
            StatusColumn::Status(i) => Some(cell(i)?.trim()).filter(|s| *s != "-" && !s.is_empty()),
            StatusColumn::Notes(i) => cell(i)?
                .split(';')
                .find_map(|token| token.trim().strip_prefix("STATUS="))
                .and_then(|s| s.split_whitespace().next())
                .map(|s| s.trim_end_matches(',')),
        }
        .map(str::to_owned);
        rows.push(Row {
            service: cell(service)?.to_owned(),
            method: cell(method)?.to_owned(),
            path: cell(path)?.to_owned(),
            status,
        });
    }
    Ok(rows)
}

/// Where a row's endpoint status is.
#[derive(Debug, Clone, Copy)]
enum StatusColumn {
    Status(usize),
    Notes(usize),
}

/// What the comparison found.
#[derive(Debug, Default)]
pub(crate) struct Coverage {
    /// Per service: (covered, omitted with a reason, rows).
    pub(crate) per_service: BTreeMap<String, (usize, usize, usize)>,
    /// Rows the spec lacks, with the reason when one is recorded.
    pub(crate) missing: Vec<(Row, Option<String>)>,
    /// Spec endpoints (`GROUP: METHOD path`) the table does not list.
    pub(crate) extra: Vec<String>,
}

impl Coverage {
    /// Rows missing without a reason.
    pub(crate) fn unexplained(&self) -> Vec<&Row> {
        self.missing
            .iter()
            .filter(|(_, reason)| reason.is_none())
            .map(|(row, _)| row)
            .collect()
    }
}

/// Compares the spec with the table.
pub(crate) fn compare(spec: &Spec, rows: &[Row]) -> Coverage {
    let mut in_spec: BTreeMap<String, String> = BTreeMap::new();
    for group in &spec.groups {
        for e in &group.endpoints {
            in_spec
                .entry(format!("{} {}", e.method, normalize(&e.path)))
                .or_insert_with(|| format!("{}: {} {}", group.name, e.method, e.path));
        }
    }
    let omitted: BTreeMap<String, String> = spec
        .omitted
        .iter()
        .map(|o| {
            let (method, path) = o
                .endpoint
                .split_once(' ')
                .unwrap_or(("", o.endpoint.as_str()));
            (format!("{method} {}", normalize(path)), o.reason.clone())
        })
        .collect();
    let mut coverage = Coverage::default();
    let mut table_keys = BTreeSet::new();
    for row in rows {
        let key = row.key();
        table_keys.insert(key.clone());
        let entry = coverage.per_service.entry(row.service.clone()).or_default();
        entry.2 += 1;
        if in_spec.contains_key(&key) {
            entry.0 += 1;
        } else if let Some(reason) = omitted.get(&key) {
            entry.1 += 1;
            coverage.missing.push((row.clone(), Some(reason.clone())));
        } else {
            coverage.missing.push((row.clone(), None));
        }
    }
    coverage.extra = in_spec
        .iter()
        .filter(|(key, _)| !table_keys.contains(*key))
        .map(|(_, shown)| shown.clone())
        .collect();
    coverage
}

/// Runs the check; `table` overrides the table's location.
pub(crate) fn run(table: Option<PathBuf>) -> Result<(), String> {
    let root = crate::root();
    let spec = crate::codegen::load_spec(&root)?;
    let table = table.unwrap_or_else(|| default_table(&root));
    let rows = read_table(&table)?;
    let coverage = compare(&spec, &rows);
    println!("coverage of {} ({} rows):", table.display(), rows.len());
    println!(
        "  {:<14} {:>8} {:>8} {:>6}",
        "service", "covered", "omitted", "rows"
    );
    let (mut covered, mut omitted) = (0, 0);
    for (service, (c, o, n)) in &coverage.per_service {
        println!("  {service:<14} {c:>8} {o:>8} {n:>6}");
        covered += c;
        omitted += o;
    }
    println!(
        "  {:<14} {covered:>8} {omitted:>8} {:>6}",
        "total",
        rows.len()
    );
    if !coverage.missing.is_empty() {
        println!("\nrows the spec leaves out:");
        for (row, reason) in &coverage.missing {
            let status = row
                .status
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default();
            match reason {
                Some(reason) => println!(
                    "  {} {} ({}){status}: {reason}",
                    row.method, row.path, row.service
                ),
                None => println!(
                    "  {} {} ({}){status}: NO REASON RECORDED",
                    row.method, row.path, row.service
                ),
            }
        }
    }
    if !coverage.extra.is_empty() {
        println!("\nspec endpoints the table does not list:");
        for extra in &coverage.extra {
            println!("  {extra}");
        }
    }
    let unexplained = coverage.unexplained();
    if unexplained.is_empty() {
        println!(
            "\nspec check: {covered} of {} rows covered, {omitted} left out with a reason",
            rows.len()
        );
        Ok(())
    } else {
        Err(format!(
            "{} row(s) of the table are neither in the spec nor recorded as omitted (with a reason) in api-spec/services.toml",
            unexplained.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_compare_by_position() {
        assert_eq!(normalize("/druid/v2/{dataSource}/x/"), "/druid/v2/{}/x");
        assert_eq!(normalize("/a/{x}/{y}"), normalize("/a/{p}/{q}"));
    }
}
