//! Aligned plain-text tables, as the leaderboards show them in a Discord code block and on
//! the command line.

/// One line per row under a header line, columns two spaces apart, each as wide as its widest
/// cell (counted in characters). Columns listed in `left` are aligned left, the others right
/// (numbers). Lines carry no trailing spaces.
pub fn aligned(headers: &[&str], rows: &[Vec<String>], left: &[usize]) -> String {
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .chain(std::iter::once(headers[c].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (c, cell) in cells.enumerate() {
            let width = widths.get(c).copied().unwrap_or(0);
            if c > 0 {
                out.push_str("  ");
            }
            if left.contains(&c) {
                out.push_str(&format!("{cell:<width$}"));
            } else {
                out.push_str(&format!("{cell:>width$}"));
            }
        }
        let mut out = out.trim_end().to_owned();
        out.push('\n');
        out
    };
    let mut out = line(&mut headers.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_take_the_widest_cell_and_numbers_align_right() {
        let rows = vec![
            vec!["1".to_string(), "gpt-4o".to_string(), "1.20 s".to_string()],
            vec!["10".to_string(), "é".to_string(), "0.5 s".to_string()],
        ];
        assert_eq!(
            aligned(&["#", "model", "latency"], &rows, &[1]),
            " #  model   latency\n 1  gpt-4o   1.20 s\n10  é         0.5 s\n"
        );
    }
}
