//! The tables the bench server answers with, generated row by row from the
//! row number alone: the same arguments give the same bytes on every run,
//! and no table is ever held in memory.
//!
//! - [`Wiki`]: rows of the Druid tutorial's `wikipedia` shape (ten columns:
//!   `__time` as an ISO string, four strings, a bool-ish string, three
//!   longs, two strings that are often null);
//! - [`Servers`]: a `sys.servers` answer of many servers of every type, with
//!   one leading Coordinator/Overlord.

use std::fmt::Write as _;

/// One value of a row, as Druid writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'a> {
    /// A string.
    Str(&'a str),
    /// A long.
    Long(i64),
    /// SQL NULL.
    Null,
}

/// A column of a table, with the types Druid's headers name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    /// The name.
    pub(crate) name: &'static str,
    /// Druid's runtime type (`typesHeader`).
    pub(crate) druid_type: &'static str,
    /// The SQL type (`sqlTypesHeader`).
    pub(crate) sql_type: &'static str,
}

/// A table the server can write in any result format.
pub(crate) trait Table: Send + Sync + 'static {
    /// The columns, in order.
    fn columns(&self) -> &'static [Column];
    /// How many rows.
    fn len(&self) -> u64;
    /// Calls `emit` with each cell of row `i`, in column order.
    fn row(&self, i: u64, emit: &mut dyn FnMut(Cell<'_>));
}

/// The first rows of a table (a query's `LIMIT`).
pub(crate) struct Limit {
    /// The table.
    pub(crate) table: std::sync::Arc<dyn Table>,
    /// At most this many rows.
    pub(crate) rows: u64,
}

impl Table for Limit {
    fn columns(&self) -> &'static [Column] {
        self.table.columns()
    }

    fn len(&self) -> u64 {
        self.table.len().min(self.rows)
    }

    fn row(&self, i: u64, emit: &mut dyn FnMut(Cell<'_>)) {
        self.table.row(i, emit);
    }
}

/// The `n` of a query ending in `LIMIT n`.
pub(crate) fn limit_of(query: &str) -> Option<u64> {
    let mut words = query.split_whitespace().rev();
    let n = words.next()?.trim_end_matches(';').parse().ok()?;
    words
        .next()
        .filter(|w| w.eq_ignore_ascii_case("limit"))
        .map(|_| n)
}

/// SplitMix64: a well-mixed 64-bit hash of a counter.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Picks from a slice with a hash.
fn pick<'a>(items: &'a [&'a str], h: u64) -> &'a str {
    items[(h % items.len() as u64) as usize]
}

const STR: (&str, &str) = ("STRING", "VARCHAR");
const LONG: (&str, &str) = ("LONG", "BIGINT");

const fn col(name: &'static str, types: (&'static str, &'static str)) -> Column {
    Column {
        name,
        druid_type: types.0,
        sql_type: types.1,
    }
}

const WIKI_COLUMNS: &[Column] = &[
    col("__time", ("LONG", "TIMESTAMP")),
    col("channel", STR),
    col("page", STR),
    col("user", STR),
    col("isRobot", STR),
    col("added", LONG),
    col("deleted", LONG),
    col("delta", LONG),
    col("countryName", STR),
    col("cityName", STR),
];

const CHANNELS: &[&str] = &[
    "#ar.wikipedia",
    "#ca.wikipedia",
    "#cs.wikipedia",
    "#de.wikipedia",
    "#es.wikipedia",
    "#fr.wikipedia",
    "#it.wikipedia",
    "#ja.wikipedia",
    "#ko.wikipedia",
    "#nl.wikipedia",
    "#pl.wikipedia",
    "#pt.wikipedia",
    "#ru.wikipedia",
    "#sv.wikipedia",
    "#uk.wikipedia",
    "#vi.wikipedia",
    "#zh.wikipedia",
];

const WORDS: &[&str] = &[
    "History",
    "of",
    "the",
    "List",
    "United",
    "States",
    "Football",
    "Club",
    "Album",
    "Song",
    "River",
    "Station",
    "Battle",
    "Church",
    "School",
    "University",
    "Film",
    "Season",
    "National",
    "Park",
    "Railway",
    "Line",
    "Museum",
    "Island",
    "County",
    "District",
    "Airport",
    "Cup",
    "Championship",
    "Election",
    "Party",
    "Church",
    "Castle",
    "Bridge",
    "Lake",
    "Mountain",
    "Village",
    "Records",
    "Band",
    "Tour",
    "Series",
    "Episode",
    "Character",
    "Family",
    "Award",
    "Olympics",
    "Team",
    "Player",
    "Empire",
    "Kingdom",
];

/// Titles that need JSON or CSV escaping, or are not ASCII.
const SPECIAL_PAGES: &[&str] = &[
    "Talk:\"Weird Al\" Yankovic",
    "AC/DC",
    "C:\\Program Files",
    "Paris, Texas",
    "Zürich",
    "アルビレックス新潟の年度別成績一覧",
    "Ελληνικά",
    "Москва",
    "Emoji 😀 (character)",
    "Tab\tseparated",
    "İstanbul",
    "São Paulo, Brazil",
];

const USER_NAMES: &[&str] = &[
    "Alex",
    "Maria",
    "Jürgen",
    "Kenji",
    "Olga",
    "Pierre",
    "Chen",
    "Fatima",
    "Lars",
    "Sofia",
    "李小龍",
    "Ömer",
    "Nadia",
    "Bruno",
    "Aiko",
    "Raj",
    "Elena",
    "Tomasz",
    "Ingrid",
    "Diego",
];

const COUNTRIES: &[&str] = &[
    "United States",
    "Germany",
    "France",
    "Japan",
    "Brazil",
    "India",
    "Italy",
    "Spain",
    "Russia",
    "Côte d'Ivoire",
    "Korea, Republic of",
    "Netherlands",
];

const CITIES: &[&str] = &[
    "New York",
    "Berlin",
    "Paris",
    "Tokyo",
    "São Paulo",
    "Mumbai",
    "Rome",
    "Madrid",
    "Moscow",
    "Abidjan",
    "Seoul",
    "Amsterdam",
    "Saint-Denis, Réunion",
];

/// The first `__time`: 2016-06-27T00:00:00.000Z, the day of Druid's
/// tutorial data; the rows spread over one day.
const BASE_MILLIS: i64 = 1_466_985_600_000;
const DAY_MILLIS: i64 = 86_400_000;

/// Rows of the `wikipedia` shape.
#[derive(Debug)]
pub(crate) struct Wiki {
    rows: u64,
    pages: Vec<String>,
    users: Vec<String>,
}

impl Wiki {
    /// A table of `rows` rows.
    pub(crate) fn new(rows: u64) -> Self {
        let mut pages: Vec<String> = SPECIAL_PAGES.iter().map(|p| (*p).to_owned()).collect();
        for i in 0..20_000u64 {
            let h = mix(i ^ 0x5EED_0001);
            let words = 1 + (h % 4) as usize;
            let mut title = String::new();
            for w in 0..words {
                if w > 0 {
                    title.push(' ');
                }
                title.push_str(pick(WORDS, mix(h.wrapping_add(w as u64))));
            }
            match (h >> 40) % 8 {
                0 => {
                    let _ = write!(title, " ({})", 1900 + (h >> 20) % 125);
                }
                1 => title.push_str(" (disambiguation)"),
                2 => {
                    let _ = write!(title, " {}", (h >> 12) % 1000);
                }
                _ => {}
            }
            pages.push(title);
        }
        let mut users = Vec::new();
        for i in 0..5_000u64 {
            let h = mix(i ^ 0x5EED_0002);
            users.push(match h % 10 {
                // Anonymous edits show the editor's address.
                0..=2 => format!(
                    "{}.{}.{}.{}",
                    1 + (h >> 8) % 223,
                    (h >> 16) % 256,
                    (h >> 24) % 256,
                    1 + (h >> 32) % 254
                ),
                3 => format!("{}Bot", pick(USER_NAMES, h >> 8)),
                _ => format!("{}{}", pick(USER_NAMES, h >> 8), (h >> 20) % 10_000),
            });
        }
        Wiki { rows, pages, users }
    }
}

/// Writes `millis` since the epoch as `2016-06-27T00:00:00.000Z`.
fn iso_time(millis: i64, out: &mut String) {
    let days = millis.div_euclid(DAY_MILLIS);
    let ms_of_day = millis.rem_euclid(DAY_MILLIS);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000
    );
}

impl Table for Wiki {
    fn columns(&self) -> &'static [Column] {
        WIKI_COLUMNS
    }

    fn len(&self) -> u64 {
        self.rows
    }

    fn row(&self, i: u64, emit: &mut dyn FnMut(Cell<'_>)) {
        let h = mix(i);
        let g = mix(i ^ 0xA5A5_A5A5_A5A5_A5A5);
        let mut time = String::with_capacity(24);
        let offset = i128::from(i) * i128::from(DAY_MILLIS) / i128::from(self.rows.max(1));
        iso_time(BASE_MILLIS + offset as i64, &mut time);
        emit(Cell::Str(&time));
        // English is a third of the edits.
        let channel = if h.is_multiple_of(3) {
            "#en.wikipedia"
        } else {
            pick(CHANNELS, h >> 2)
        };
        emit(Cell::Str(channel));
        emit(Cell::Str(
            &self.pages[((h >> 8) % self.pages.len() as u64) as usize],
        ));
        emit(Cell::Str(
            &self.users[((h >> 24) % self.users.len() as u64) as usize],
        ));
        emit(Cell::Str(if (h >> 40).is_multiple_of(5) {
            "true"
        } else {
            "false"
        }));
        let added = if g.is_multiple_of(97) {
            ((g >> 8) % 200_000) as i64
        } else {
            ((g >> 8) % 2_000) as i64
        };
        let deleted = if g.is_multiple_of(3) {
            ((g >> 24) % 800) as i64
        } else {
            0
        };
        emit(Cell::Long(added));
        emit(Cell::Long(deleted));
        emit(Cell::Long(added - deleted));
        // Most edits have no geography, as in the tutorial data.
        let country = (g >> 40) % 10 < 2;
        emit(if country {
            Cell::Str(pick(COUNTRIES, g >> 44))
        } else {
            Cell::Null
        });
        emit(if country && !(g >> 52).is_multiple_of(3) {
            Cell::Str(pick(CITIES, g >> 56))
        } else {
            Cell::Null
        });
    }
}

/// What a client must see in the wiki rows: the row count and a checksum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Expected {
    /// Rows.
    pub(crate) rows: u64,
    /// The sum of `added`.
    pub(crate) added_sum: i64,
    /// The sum of `delta`.
    pub(crate) delta_sum: i64,
    /// Rows whose `cityName` is not null.
    pub(crate) cities: u64,
}

impl Expected {
    /// Reads every row of `wiki` once.
    pub(crate) fn of(wiki: &Wiki) -> Self {
        let mut expected = Expected::default();
        for i in 0..wiki.len() {
            let mut column = 0;
            wiki.row(i, &mut |cell| {
                match (column, cell) {
                    (5, Cell::Long(v)) => expected.added_sum += v,
                    (7, Cell::Long(v)) => expected.delta_sum += v,
                    (9, Cell::Str(_)) => expected.cities += 1,
                    _ => {}
                }
                column += 1;
            });
            expected.rows += 1;
        }
        expected
    }
}

const SERVER_COLUMNS: &[Column] = &[
    col("server", STR),
    col("host", STR),
    col("plaintext_port", LONG),
    col("tls_port", LONG),
    col("server_type", STR),
    col("tier", STR),
    col("curr_size", LONG),
    col("max_size", LONG),
    col("is_leader", LONG),
    col("start_time", STR),
    col("version", STR),
    col("build_revision", STR),
    col("labels", STR),
    col("available_processors", LONG),
    col("total_memory", LONG),
    col("storage_size", LONG),
];

/// Servers that are Coordinator and Overlord at once (the first one leads
/// both roles); their Overlord rows come last, as Druid 27 lists them.
const COORDINATORS: u64 = 3;

/// A `sys.servers` answer (Druid 37's columns).
#[derive(Debug)]
pub(crate) struct Servers {
    servers: u64,
}

impl Servers {
    /// A cluster of `servers` servers (at least the Coordinators).
    pub(crate) fn new(servers: u64) -> Self {
        Servers {
            servers: servers.max(COORDINATORS),
        }
    }

    /// How many servers.
    pub(crate) fn servers(&self) -> u64 {
        self.servers
    }

    /// How many roles: one per row.
    pub(crate) fn roles(&self) -> u64 {
        self.servers + COORDINATORS
    }

    /// The type, host and port of server `i`.
    fn server(i: u64) -> (&'static str, String, i64) {
        if i < COORDINATORS {
            return (
                "coordinator",
                format!("coordinator-{i:05}.druid.bench.internal"),
                8081,
            );
        }
        let (kind, port) = match (i - COORDINATORS) % 100 {
            0..=1 => ("broker", 8082),
            2 => ("router", 8888),
            3..=52 => ("historical", 8083),
            53..=62 => ("middle_manager", 8091),
            63..=69 => ("indexer", 8091),
            _ => ("peon", 8100),
        };
        if kind == "peon" {
            // Peons share their MiddleManager's host, one port each.
            let host = format!("middle-manager-{:05}.druid.bench.internal", i / 30);
            return (kind, host, port + (i % 30) as i64);
        }
        let prefix = kind.replace('_', "-");
        (kind, format!("{prefix}-{i:05}.druid.bench.internal"), port)
    }
}

impl Table for Servers {
    fn columns(&self) -> &'static [Column] {
        SERVER_COLUMNS
    }

    fn len(&self) -> u64 {
        self.roles()
    }

    fn row(&self, row: u64, emit: &mut dyn FnMut(Cell<'_>)) {
        // Rows 0..servers are one per server; the Coordinators' Overlord
        // rows follow.
        let (i, overlord) = if row < self.servers {
            (row, false)
        } else {
            (row - self.servers, true)
        };
        let (mut kind, host, port) = Self::server(i);
        if overlord {
            kind = "overlord";
        }
        let server = format!("{host}:{port}");
        let h = mix(i ^ 0x5EED_0003);
        emit(Cell::Str(&server));
        emit(Cell::Str(&host));
        emit(Cell::Long(port));
        emit(Cell::Long(-1));
        emit(Cell::Str(kind));
        let historical = kind == "historical";
        let tier = ["_default_tier", "hot", "cold"][(h % 3) as usize];
        emit(if historical || kind == "indexer" {
            Cell::Str(tier)
        } else {
            Cell::Null
        });
        let max_size: i64 = if historical { 500_000_000_000 } else { 0 };
        emit(Cell::Long(if historical {
            (h >> 8) as i64 % max_size
        } else {
            0
        }));
        emit(Cell::Long(max_size));
        emit(match kind {
            "coordinator" | "overlord" => Cell::Long(i64::from(i == 0)),
            _ => Cell::Null,
        });
        let mut start = String::with_capacity(24);
        iso_time(
            1_798_761_600_000 + (h >> 20) as i64 % DAY_MILLIS,
            &mut start,
        );
        emit(Cell::Str(&start));
        emit(Cell::Str("37.0.0"));
        emit(Cell::Str("0f3c9a1e2b4d5c6a7e8f9012345678abcdef0123"));
        let labels = ["{\"zone\":\"a\"}", "{\"zone\":\"b\"}", "{\"zone\":\"c\"}"];
        emit(if h.is_multiple_of(4) {
            Cell::Null
        } else {
            Cell::Str(labels[((h >> 4) % 3) as usize])
        });
        emit(Cell::Long(16));
        emit(Cell::Long(68_719_476_736));
        emit(Cell::Long(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(table: &dyn Table, i: u64) -> Vec<String> {
        let mut out = Vec::new();
        table.row(i, &mut |cell| out.push(format!("{cell:?}")));
        out
    }

    #[test]
    fn limits() {
        assert_eq!(limit_of("SELECT * FROM wiki LIMIT 10"), Some(10));
        assert_eq!(limit_of("select * from wiki limit 7;"), Some(7));
        assert_eq!(limit_of("SELECT * FROM wiki"), None);
        assert_eq!(limit_of("SELECT 10"), None);
        let limited = Limit {
            table: std::sync::Arc::new(Wiki::new(100)),
            rows: 5,
        };
        assert_eq!(limited.len(), 5);
    }

    #[test]
    fn iso_times_are_druids_spelling() {
        let mut s = String::new();
        iso_time(BASE_MILLIS, &mut s);
        assert_eq!(s, "2016-06-27T00:00:00.000Z");
        s.clear();
        iso_time(BASE_MILLIS + DAY_MILLIS - 1, &mut s);
        assert_eq!(s, "2016-06-27T23:59:59.999Z");
        s.clear();
        iso_time(951_782_400_000, &mut s);
        assert_eq!(s, "2000-02-29T00:00:00.000Z");
        s.clear();
        iso_time(0, &mut s);
        assert_eq!(s, "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn rows_are_deterministic_and_have_every_column() {
        let a = Wiki::new(1000);
        let b = Wiki::new(1000);
        for i in [0, 1, 499, 999] {
            assert_eq!(cells(&a, i), cells(&b, i));
            assert_eq!(cells(&a, i).len(), WIKI_COLUMNS.len());
        }
        let expected = Expected::of(&a);
        assert_eq!(expected, Expected::of(&b));
        assert_eq!(expected.rows, 1000);
        assert!(
            expected.cities > 50 && expected.cities < 300,
            "{expected:?}"
        );
        assert!(expected.added_sum > 0);
    }

    #[test]
    fn no_string_ends_with_a_backslash() {
        // pydruid's row splitter takes `\"` for an escaped quote without
        // looking further back; real titles do not end with a backslash.
        let wiki = Wiki::new(10);
        assert!(wiki.pages.iter().all(|p| !p.ends_with('\\')));
        assert!(wiki.users.iter().all(|u| !u.ends_with('\\')));
    }

    #[test]
    fn servers_have_unique_keys_and_one_leader() {
        let servers = Servers::new(500);
        let mut keys = std::collections::BTreeMap::new();
        let mut leaders = 0;
        for row in 0..servers.len() {
            let mut values = Vec::new();
            servers.row(row, &mut |cell| values.push(format!("{cell:?}")));
            *keys.entry(values[0].clone()).or_insert(0) += 1;
            if values[8] == "Long(1)" {
                leaders += 1;
            }
        }
        assert_eq!(keys.len() as u64, servers.servers());
        assert_eq!(leaders, 2, "the first Coordinator leads both roles");
        assert_eq!(
            keys.values().filter(|n| **n == 2).count() as u64,
            COORDINATORS
        );
    }
}
