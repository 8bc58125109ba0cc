//! The roles and databases of a cluster, until the catalog lives in real
//! tables.
//!
//! Two small text files under `global/`, written by `tusk init` and read by
//! each backend at connection time to answer "does this database / role
//! exist?" (3D000 / 28000). One entry per line, `#` starts a comment:
//!
//! ```text
//! global/pg_authid:    <oid> <name> <superuser: t|f>
//! global/pg_database:  <oid> <name>
//! ```
//!
//! The pg_authid and pg_database tables exist now (catalog.rs), but
//! connections are still checked against these files; CREATE and DROP
//! DATABASE rewrite `global/pg_database` ([`write_databases`]) along with
//! the table. The format is deliberately trivial so that the migration to
//! reading the tables is simple.

use std::io;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub oid: u32,
    pub name: String,
    pub superuser: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub oid: u32,
    pub name: String,
}

/// The bootstrap superuser's OID, as in PostgreSQL.
pub const BOOTSTRAP_SUPERUSER_OID: u32 = 10;

/// Writes the initial catalog: the superuser, and the databases
/// `template1`, `template0` and `postgres` with PostgreSQL's OIDs.
pub fn write_initial(data_dir: &Path, superuser: &str) -> io::Result<()> {
    let g = data_dir.join("global");
    std::fs::write(
        g.join("pg_authid"),
        format!("# oid name superuser\n{BOOTSTRAP_SUPERUSER_OID} {superuser} t\n"),
    )?;
    std::fs::write(
        g.join("pg_database"),
        "# oid name\n1 template1\n4 template0\n5 postgres\n",
    )
}

/// Rewrites `global/pg_database` with `dbs` (write a new file, fsync,
/// rename over the old one, fsync the directory): what CREATE and DROP
/// DATABASE change besides the pg_database table, since connections are
/// still checked against this file. Called by the backend running the
/// command.
pub fn write_databases(data_dir: &Path, dbs: &[Database]) -> io::Result<()> {
    use std::io::Write;
    let g = data_dir.join("global");
    let tmp = g.join("pg_database.tmp");
    let mut text = String::from("# oid name\n");
    for d in dbs {
        text.push_str(&format!("{} {}\n", d.oid, d.name));
    }
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, g.join("pg_database"))?;
    std::fs::File::open(&g)?.sync_all()
}

fn lines(path: &Path) -> io::Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect())
}

pub fn roles(data_dir: &Path) -> io::Result<Vec<Role>> {
    Ok(lines(&data_dir.join("global").join("pg_authid"))?
        .into_iter()
        .filter_map(|f| {
            Some(Role {
                oid: f.first()?.parse().ok()?,
                name: f.get(1)?.clone(),
                superuser: f.get(2).map(|s| s == "t").unwrap_or(false),
            })
        })
        .collect())
}

pub fn databases(data_dir: &Path) -> io::Result<Vec<Database>> {
    Ok(lines(&data_dir.join("global").join("pg_database"))?
        .into_iter()
        .filter_map(|f| {
            Some(Database {
                oid: f.first()?.parse().ok()?,
                name: f.get(1)?.clone(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_catalog_reads_back() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("global")).unwrap();
        write_initial(d.path(), "alice").unwrap();
        assert_eq!(
            roles(d.path()).unwrap(),
            vec![Role {
                oid: 10,
                name: "alice".into(),
                superuser: true
            }]
        );
        let dbs: Vec<String> = databases(d.path())
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(dbs, ["template1", "template0", "postgres"]);
    }
}
