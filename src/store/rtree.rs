//! Bulk load of a GeoPackage's R-tree (an SQLite `rtree` virtual table) after a large insert.
//!
//! SQLite inserts into an R-tree one entry at a time at about 8 µs each (measured with the
//! sqlite3 shell on 200,000 points, sorted or not): most of a million-row import. GDAL 3.7 and
//! later build the tree in memory and write its nodes directly; Debian 12's GDAL 3.6 does not,
//! so this does the same here: all entries (those stored and the new ones) are packed
//! Sort-Tile-Recursive into full nodes and written to the table's shadow tables `_node`,
//! `_rowid` and `_parent` in SQLite's own format (big-endian cells of an i64 id and four f32
//! bounds, the tree depth in the root's first two bytes). `rtreecheck()` accepts the result.

use rusqlite::{params, Connection};

/// One entry: id and (minx, maxx, miny, maxy), already rounded outwards to f32.
pub type Entry = (i64, [f32; 4]);

/// A point's f32 box as SQLite's R-tree stores it: min rounded down, max rounded up.
pub fn point_entry(id: i64, x: f64, y: f64) -> Entry {
    let down = |v: f64| {
        let f = v as f32;
        if f as f64 > v {
            f.next_down()
        } else {
            f
        }
    };
    let up = |v: f64| {
        let f = v as f32;
        if (f as f64) < v {
            f.next_up()
        } else {
            f
        }
    };
    (id, [down(x), up(x), down(y), up(y)])
}

/// The entries already in the tree, read from its leaf nodes (not through the virtual table,
/// whose cached node handles would not see the rewrite that follows).
pub fn stored_entries(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Entry>> {
    let mut st = conn.prepare(&format!("SELECT data FROM \"{table}_node\" WHERE nodeno IN (SELECT DISTINCT nodeno FROM \"{table}_rowid\")"))?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let data: Vec<u8> = r.get(0)?;
        let n = u16::from_be_bytes([data[2], data[3]]) as usize;
        for c in data[4..].chunks_exact(24).take(n) {
            let id = i64::from_be_bytes(c[..8].try_into().expect("8 bytes"));
            let f = |k: usize| f32::from_be_bytes(c[8 + 4 * k..12 + 4 * k].try_into().expect("4 bytes"));
            out.push((id, [f(0), f(1), f(2), f(3)]));
        }
    }
    Ok(out)
}

/// Replaces the whole tree with one packed from `entries`.
pub fn rewrite(conn: &Connection, table: &str, mut entries: Vec<Entry>) -> rusqlite::Result<()> {
    let node_size: i64 = conn.query_row(&format!("SELECT length(data) FROM \"{table}_node\" WHERE nodeno = 1"), [], |r| r.get(0))?;
    let cap = ((node_size as usize - 4) / 24).max(2);
    let mut levels: Vec<Vec<Vec<Entry>>> = vec![str_pack(&mut entries, cap)];
    while levels.last().map_or(0, |l| l.len()) > 1 {
        let below = levels.last().expect("a level");
        let mut parents: Vec<Entry> = below.iter().enumerate().map(|(i, n)| (i as i64, bounds(n))).collect();
        levels.push(str_pack(&mut parents, cap));
    }
    // Node numbers top down: the root is 1.
    let mut first_no = vec![0i64; levels.len()];
    let mut next = 1i64;
    for d in (0..levels.len()).rev() {
        first_no[d] = next;
        next += levels[d].len() as i64;
    }
    for t in ["node", "rowid", "parent"] {
        conn.execute(&format!("DELETE FROM \"{table}_{t}\""), [])?;
    }
    let mut put_node = conn.prepare(&format!("INSERT INTO \"{table}_node\" (nodeno, data) VALUES (?1, ?2)"))?;
    let mut put_rowid = conn.prepare(&format!("INSERT INTO \"{table}_rowid\" (rowid, nodeno) VALUES (?1, ?2)"))?;
    let mut put_parent = conn.prepare(&format!("INSERT INTO \"{table}_parent\" (nodeno, parentnode) VALUES (?1, ?2)"))?;
    let depth = levels.len() - 1;
    for (d, level) in levels.iter().enumerate() {
        for (i, node) in level.iter().enumerate() {
            let no = first_no[d] + i as i64;
            let cells: Vec<Entry> = node.iter().map(|&(child, b)| (if d == 0 { child } else { first_no[d - 1] + child }, b)).collect();
            put_node.execute(params![no, node_blob(&cells, node_size as usize, if d == depth { depth as u16 } else { 0 })])?;
            for &(child, _) in &cells {
                if d == 0 {
                    put_rowid.execute(params![child, no])?;
                } else {
                    put_parent.execute(params![child, no])?;
                }
            }
        }
    }
    Ok(())
}

/// Sort-Tile-Recursive packing of entries into nodes of `cap` cells (one empty node for none).
fn str_pack(entries: &mut [Entry], cap: usize) -> Vec<Vec<Entry>> {
    if entries.is_empty() {
        return vec![Vec::new()];
    }
    let centre = |e: &Entry, k: usize| e.1[2 * k] as f64 + e.1[2 * k + 1] as f64;
    entries.sort_by(|a, b| centre(a, 0).total_cmp(&centre(b, 0)));
    let nodes = entries.len().div_ceil(cap);
    let slices = (nodes as f64).sqrt().ceil() as usize;
    let per_slice = slices * cap;
    let mut out = Vec::with_capacity(nodes);
    for slice in entries.chunks_mut(per_slice) {
        slice.sort_by(|a, b| centre(a, 1).total_cmp(&centre(b, 1)));
        out.extend(slice.chunks(cap).map(|c| c.to_vec()));
    }
    out
}

fn bounds(cells: &[Entry]) -> [f32; 4] {
    cells.iter().fold([f32::MAX, f32::MIN, f32::MAX, f32::MIN], |b, (_, c)| [b[0].min(c[0]), b[1].max(c[1]), b[2].min(c[2]), b[3].max(c[3])])
}

fn node_blob(cells: &[Entry], size: usize, depth: u16) -> Vec<u8> {
    let mut b = Vec::with_capacity(size);
    b.extend_from_slice(&depth.to_be_bytes());
    b.extend_from_slice(&(cells.len() as u16).to_be_bytes());
    for (id, c) in cells {
        b.extend_from_slice(&id.to_be_bytes());
        for v in c {
            b.extend_from_slice(&v.to_be_bytes());
        }
    }
    b.resize(size, 0);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_boxes_round_outwards_to_f32_as_sqlite_does() {
        // 6590500.25 is not an f32: the nearest are 6590500.0 and 6590500.5 (f32 spacing 0.5 here).
        let (_, b) = point_entry(1, 660500.5, 6590500.25);
        assert_eq!(b, [660500.5, 660500.5, 6590500.0, 6590500.5]);
    }

    #[test]
    fn a_packed_tree_passes_sqlites_own_check_and_answers_queries() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE VIRTUAL TABLE t USING rtree(id, minx, maxx, miny, maxy); INSERT INTO t VALUES (1, 5, 5, 5, 5);").unwrap();
        let mut all = stored_entries(&db, "t").unwrap();
        assert_eq!(all, vec![(1, [5.0, 5.0, 5.0, 5.0])]);
        all.extend((2..20_000).map(|i| point_entry(i, (i % 141) as f64, (i / 141) as f64)));
        rewrite(&db, "t", all).unwrap();
        let check: String = db.query_row("SELECT rtreecheck('t')", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        let n: i64 = db.query_row("SELECT count(*) FROM t WHERE minx >= 10 AND maxx <= 12 AND miny >= 3 AND maxy <= 4", [], |r| r.get(0)).unwrap();
        // x in 10..=12 and y in 3..=4: 3 columns × 2 rows of the 141-wide grid.
        assert_eq!(n, 6);
        db.execute("INSERT INTO t VALUES (99999, 1, 1, 1, 1)", []).unwrap();
        let check: String = db.query_row("SELECT rtreecheck('t')", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
    }
}
