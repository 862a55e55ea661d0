//! Greedy colourings of sparsity patterns (Gebremedhin, Manne & Pothen 2005, "What
//! color is your Jacobian?"), and where each nonzero is read back from the sweeps.
//!
//! - Columns (forward sweeps; rows are the columns of the transpose): a partial
//!   distance-2 colouring, i.e. a proper colouring of the column intersection graph.
//!   The greedy algorithm is tried in three vertex orders — natural, smallest-last and
//!   largest-first — until one reaches the lower bound, and the fewest colours win. On the benchmark's stencils: the 1-D stencil takes 3 in every
//!   order (optimal); the 2-D 5-point stencil takes 7 in natural and largest-first
//!   order and 5 (optimal) in smallest-last order, on 40², 100² and 300² grids.
//! - Hessians: a star colouring (proper, and every path on four vertices uses three
//!   colours), which lets each entry be read from its row or its column's row.

/// A sparsity pattern in CSR form: row i's columns are `indices[indptr[i]..indptr[i+1]]`,
/// sorted ascending and unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The number of rows.
    pub rows: usize,
    /// The number of columns.
    pub cols: usize,
    /// Row `i`'s entries are `indptr[i]..indptr[i + 1]` of `indices` (length `rows + 1`).
    pub indptr: Vec<usize>,
    /// The column of each structural nonzero, row by row.
    pub indices: Vec<usize>,
}

impl Pattern {
    /// The number of structural nonzeros.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The columns of row `i`'s structural nonzeros, ascending. Panics when `i >= rows`.
    pub fn row(&self, i: usize) -> &[usize] {
        &self.indices[self.indptr[i]..self.indptr[i + 1]]
    }

    /// The transpose, by a counting sort (rows come out sorted).
    pub fn transpose(&self) -> Pattern {
        let mut indptr = vec![0usize; self.cols + 1];
        for &c in &self.indices {
            indptr[c + 1] += 1;
        }
        for c in 0..self.cols {
            indptr[c + 1] += indptr[c];
        }
        let mut fill = indptr.clone();
        let mut indices = vec![0usize; self.nnz()];
        for i in 0..self.rows {
            for &c in self.row(i) {
                indices[fill[c]] = i;
                fill[c] += 1;
            }
        }
        Pattern { rows: self.cols, cols: self.rows, indptr, indices }
    }

    /// A square pattern united with its transpose (a Hessian's pattern read from the
    /// gradient's graph need not come out symmetric: a superset may differ from its
    /// transpose).
    pub fn symmetrized(&self) -> Pattern {
        let t = self.transpose();
        let mut indptr = vec![0usize];
        let mut indices = Vec::with_capacity(2 * self.nnz());
        for i in 0..self.rows {
            let start = indices.len();
            indices.extend_from_slice(self.row(i));
            indices.extend_from_slice(t.row(i));
            indices[start..].sort_unstable();
            let mut w = start;
            for r in start..indices.len() {
                if r == start || indices[r] != indices[w - 1] {
                    indices[w] = indices[r];
                    w += 1;
                }
            }
            indices.truncate(w);
            indptr.push(indices.len());
        }
        Pattern { rows: self.rows, cols: self.cols, indptr, indices }
    }
}

/// The vertex order a greedy colouring visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    /// Index order: vertex 0 first.
    Natural,
    /// By decreasing degree (the number of other vertices a vertex conflicts with).
    LargestFirst,
    /// Each vertex after all of lower remaining degree are removed (degeneracy order),
    /// reversed: a vertex is coloured after the ones it outlasted.
    SmallestLast,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colouring {
    pub colours: Vec<usize>,
    pub count: usize,
    pub order: Order,
}

/// The smallest colour not stamped `v` in `forbidden` (grown as needed).
fn smallest_free(forbidden: &mut Vec<usize>, v: usize) -> usize {
    let c = forbidden.iter().position(|&f| f != v).unwrap_or(forbidden.len());
    if c == forbidden.len() {
        forbidden.push(usize::MAX);
    }
    c
}

const NONE: usize = usize::MAX;

/// The columns that share a row with column j (j itself and repeats included): the
/// neighbours of j in the column intersection graph, whose proper colourings are the
/// partial distance-2 colourings of the columns.
struct Columns<'a> {
    p: &'a Pattern,
    t: Pattern,
}

impl Columns<'_> {
    fn each_neighbour(&self, j: usize, mut f: impl FnMut(usize)) {
        for &i in self.t.row(j) {
            self.p.row(i).iter().for_each(|&k| f(k));
        }
    }

    /// The number of distinct other columns j conflicts with (`mark` stamped by j).
    fn degree(&self, j: usize, mark: &mut [usize]) -> usize {
        let mut d = 0;
        self.each_neighbour(j, |k| {
            if k != j && mark[k] != j {
                mark[k] = j;
                d += 1;
            }
        });
        d
    }

    /// Greedy colouring in `order`: each column takes the smallest colour none of its
    /// neighbours has.
    fn greedy(&self, order: &[usize]) -> Vec<usize> {
        let mut colours = vec![NONE; self.p.cols];
        let mut forbidden: Vec<usize> = Vec::new();
        for &j in order {
            self.each_neighbour(j, |k| {
                if colours[k] != NONE {
                    forbidden[colours[k]] = j;
                }
            });
            colours[j] = smallest_free(&mut forbidden, j);
        }
        colours
    }

    fn order(&self, order: Order) -> Vec<usize> {
        let n = self.p.cols;
        let mut mark = vec![NONE; n];
        match order {
            Order::Natural => (0..n).collect(),
            Order::LargestFirst => {
                let degree: Vec<usize> = (0..n).map(|j| self.degree(j, &mut mark)).collect();
                let mut vs: Vec<usize> = (0..n).collect();
                vs.sort_by_key(|&v| std::cmp::Reverse(degree[v]));
                vs
            }
            Order::SmallestLast => {
                // bucket queue of remaining degrees; removing a vertex lowers its
                // remaining neighbours' degrees (each distinct neighbour once)
                let mut degree: Vec<usize> = (0..n).map(|j| self.degree(j, &mut mark)).collect();
                let top = degree.iter().copied().max().unwrap_or(0);
                let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); top + 1];
                for (v, &d) in degree.iter().enumerate() {
                    buckets[d].push(v);
                }
                let mut removed = vec![false; n];
                let mut out = Vec::with_capacity(n);
                let mut low = 0;
                mark.iter_mut().for_each(|m| *m = NONE);
                while out.len() < n {
                    low = low.min(top);
                    while buckets[low].is_empty() {
                        low += 1;
                    }
                    let v = buckets[low].pop().unwrap_or(0);
                    if removed[v] || degree[v] != low {
                        continue; // a stale entry: v moved to a lower bucket or is gone
                    }
                    removed[v] = true;
                    out.push(v);
                    self.each_neighbour(v, |k| {
                        if k != v && !removed[k] && mark[k] != v {
                            mark[k] = v;
                            degree[k] -= 1;
                            buckets[degree[k]].push(k);
                            low = low.min(degree[k]);
                        }
                    });
                }
                out.reverse();
                out
            }
        }
    }
}

fn count(colours: &[usize]) -> usize {
    colours.iter().filter(|&&c| c != NONE).map(|&c| c + 1).max().unwrap_or(0)
}

/// Partial distance-2 colouring of the columns in one order: columns sharing a row differ.
#[cfg(test)]
fn column_colouring(p: &Pattern, order: Order) -> Colouring {
    let cols = Columns { p, t: p.transpose() };
    let colours = cols.greedy(&cols.order(order));
    Colouring { count: count(&colours), colours, order }
}

/// Σ over rows of nnz², the work of one greedy pass: above this, natural order only.
const ONE_PASS: usize = 50_000_000;

/// The fewest colours of the greedy orders, stopping as soon as one reaches the lower
/// bound (the columns of one row all differ, so no colouring has fewer colours than the
/// longest row has entries): natural order first (cheapest, and optimal on 1-D
/// stencils), then smallest-last (optimal on the 2-D 5-point stencil), then
/// largest-first. Iterated greedy recolouring (Culberson) was tried on the results
/// that miss the bound and never removed a colour, so it is not done.
pub fn best_column_colouring(p: &Pattern) -> Colouring {
    let cols = Columns { p, t: p.transpose() };
    let bound = (0..p.rows).map(|i| p.row(i).len()).max().unwrap_or(0).max(usize::from(p.cols > 0));
    let small = (0..p.rows).map(|i| p.row(i).len().pow(2)).sum::<usize>() <= ONE_PASS;
    let mut best = Colouring { colours: Vec::new(), count: usize::MAX, order: Order::Natural };
    for order in [Order::Natural, Order::SmallestLast, Order::LargestFirst] {
        let colours = cols.greedy(&cols.order(order));
        let c = Colouring { count: count(&colours), colours, order };
        if c.count < best.count {
            best = c;
        }
        if best.count <= bound || !small {
            break;
        }
    }
    best
}

fn visit_order(n: usize, order: Order, degree: impl Fn(usize) -> usize) -> Vec<usize> {
    let mut vs: Vec<usize> = (0..n).collect();
    if order != Order::Natural {
        vs.sort_by_key(|&v| std::cmp::Reverse(degree(v)));
    }
    vs
}

/// Star colouring of a symmetric pattern: proper, and no path on 4 vertices bicoloured.
pub fn star_colouring(p: &Pattern, order: Order) -> Colouring {
    let n = p.rows;
    let mut colours = vec![NONE; n];
    let mut forbidden: Vec<usize> = Vec::new();
    for v in visit_order(n, order, |v| p.row(v).len()) {
        for &w in p.row(v).iter().filter(|&&w| w != v) {
            if colours[w] != NONE {
                forbidden[colours[w]] = v;
            }
            for &x in p.row(w).iter().filter(|&&x| x != v && x != w) {
                if colours[x] == NONE {
                    continue;
                }
                // an uncoloured middle vertex, or a path v-w-x-y with y coloured as w:
                // v may not take x's colour (the path would be bicoloured)
                if colours[w] == NONE || p.row(x).iter().any(|&y| y != w && y != x && colours[y] == colours[w]) {
                    forbidden[colours[x]] = v;
                }
            }
        }
        colours[v] = smallest_free(&mut forbidden, v);
    }
    let count = colours.iter().map(|&c| c + 1).max().unwrap_or(0);
    Colouring { colours, count, order }
}

pub fn best_star_colouring(p: &Pattern) -> Colouring {
    let a = star_colouring(p, Order::Natural);
    let b = star_colouring(p, Order::LargestFirst);
    if b.count < a.count {
        b
    } else {
        a
    }
}

pub fn column_recovery(p: &Pattern, c: &Colouring) -> Vec<usize> {
    (0..p.rows).flat_map(|i| p.row(i).iter().map(move |&j| c.colours[j] * p.rows + i)).collect()
}

pub fn row_recovery(p: &Pattern, c: &Colouring) -> Vec<usize> {
    (0..p.rows).flat_map(|i| p.row(i).iter().map(move |&j| c.colours[i] * p.cols + j)).collect()
}

pub fn star_recovery(p: &Pattern, c: &Colouring) -> Result<Vec<usize>, String> {
    let n = p.rows;
    let mut count = vec![0usize; c.count];
    let mut out = Vec::with_capacity(p.nnz());
    let unique = |i: usize, colour: usize, count: &mut Vec<usize>| {
        count.iter_mut().for_each(|k| *k = 0);
        for &k in p.row(i) {
            count[c.colours[k]] += 1;
        }
        count[colour] == 1
    };
    for i in 0..n {
        for &j in p.row(i) {
            if unique(i, c.colours[j], &mut count) {
                out.push(c.colours[j] * n + i);
            } else if unique(j, c.colours[i], &mut count) {
                out.push(c.colours[i] * n + j);
            } else {
                return Err(format!("entry ({i}, {j}) cannot be recovered from the star colouring"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pattern from its rows' columns.
    fn pattern(cols: usize, rows: &[Vec<usize>]) -> Pattern {
        let mut indptr = vec![0];
        let mut indices = Vec::new();
        for r in rows {
            let mut r = r.clone();
            r.sort_unstable();
            r.dedup();
            indices.extend(r);
            indptr.push(indices.len());
        }
        Pattern { rows: rows.len(), cols, indptr, indices }
    }

    fn grid(n: usize) -> Pattern {
        let at = |i: usize, j: usize| i * n + j;
        let rows: Vec<Vec<usize>> = (0..n * n)
            .map(|v| {
                let (i, j) = (v / n, v % n);
                let mut r = vec![v];
                if i > 0 {
                    r.push(at(i - 1, j))
                }
                if i + 1 < n {
                    r.push(at(i + 1, j))
                }
                if j > 0 {
                    r.push(at(i, j - 1))
                }
                if j + 1 < n {
                    r.push(at(i, j + 1))
                }
                r
            })
            .collect();
        pattern(n * n, &rows)
    }

    /// A tiny deterministic generator (no dependency for tests).
    fn lcg(state: &mut u64) -> usize {
        *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (*state >> 33) as usize
    }

    fn random(rows: usize, cols: usize, per_row: usize, seed: u64) -> Pattern {
        let mut s = seed;
        let r: Vec<Vec<usize>> = (0..rows).map(|_| (0..per_row).map(|_| lcg(&mut s) % cols).collect()).collect();
        pattern(cols, &r)
    }

    fn assert_columns_orthogonal(p: &Pattern, c: &Colouring) {
        for i in 0..p.rows {
            let row = p.row(i);
            for a in 0..row.len() {
                for b in a + 1..row.len() {
                    assert_ne!(c.colours[row[a]], c.colours[row[b]], "row {i} has two columns of one colour");
                }
            }
        }
    }

    /// Values for every entry, the compressed forward result, and the entries read back.
    fn recovered(p: &Pattern, c: &Colouring) -> (Vec<f64>, Vec<f64>) {
        let values: Vec<f64> = (0..p.nnz()).map(|q| 1.0 + q as f64 * 0.25).collect();
        let mut b = vec![0.0; c.count * p.rows];
        for i in 0..p.rows {
            for q in p.indptr[i]..p.indptr[i + 1] {
                b[c.colours[p.indices[q]] * p.rows + i] += values[q];
            }
        }
        let read = column_recovery(p, c).iter().map(|&f| b[f]).collect();
        (values, read)
    }

    #[test]
    fn stencils_take_their_optimal_colour_counts() {
        let tri = pattern(
            1000,
            &(0..1000usize).map(|i| (i.saturating_sub(1)..(i + 2).min(1000)).collect()).collect::<Vec<_>>(),
        );
        for order in [Order::Natural, Order::LargestFirst, Order::SmallestLast] {
            assert_eq!(column_colouring(&tri, order).count, 3, "{order:?}");
        }
        let g = grid(30);
        assert_eq!(column_colouring(&g, Order::SmallestLast).count, 5);
        let best = best_column_colouring(&g);
        assert_eq!(best.count, 5);
        assert_columns_orthogonal(&g, &best);
    }

    #[test]
    fn every_colouring_is_valid_and_reads_back_every_entry() {
        for seed in 0..20 {
            let p = random(40, 30, 1 + seed as usize % 5, seed);
            for order in [Order::Natural, Order::LargestFirst, Order::SmallestLast] {
                let c = column_colouring(&p, order);
                assert_columns_orthogonal(&p, &c);
                let (values, read) = recovered(&p, &c);
                assert_eq!(values, read);
            }
            let rows = best_column_colouring(&p.transpose());
            let from = row_recovery(&p, &rows);
            assert_eq!(from.len(), p.nnz());
            assert_columns_orthogonal(&p.transpose(), &rows);
        }
    }

    #[test]
    fn empty_and_tiny_patterns() {
        let empty = pattern(0, &[]);
        assert_eq!(best_column_colouring(&empty).count, 0);
        let no_entries = pattern(3, &[vec![], vec![]]);
        assert_eq!(best_column_colouring(&no_entries).count, 1);
        assert_eq!(best_star_colouring(&pattern(1, &[vec![0]])).count, 1);
    }

    fn assert_star(p: &Pattern, c: &Colouring) {
        // proper, and no path w-x-y-z on two colours
        for v in 0..p.rows {
            for &w in p.row(v).iter().filter(|&&w| w != v) {
                assert_ne!(c.colours[v], c.colours[w]);
                for &x in p.row(w).iter().filter(|&&x| x != w && x != v) {
                    for &y in p.row(x).iter().filter(|&&y| y != x && y != w && y != v) {
                        let two = c.colours[v] == c.colours[x] && c.colours[w] == c.colours[y];
                        assert!(!two, "bicoloured path {v}-{w}-{x}-{y}");
                    }
                }
            }
        }
    }

    #[test]
    fn star_colourings_are_stars_and_recover_symmetric_matrices() {
        let mut cases = vec![grid(6).symmetrized(), grid(1).symmetrized()];
        cases.extend((0..15).map(|seed| random(25, 25, 3, 100 + seed).symmetrized()));
        for p in cases {
            let c = best_star_colouring(&p);
            assert_star(&p, &c);
            // H symmetric with entries h(i, j) = h(j, i); B = H S, colour-major
            let h = |i: usize, j: usize| 1.0 + (i.min(j) * 31 + i.max(j)) as f64;
            let n = p.rows;
            let mut b = vec![0.0; c.count * n];
            for i in 0..n {
                for &j in p.row(i) {
                    b[c.colours[j] * n + i] += h(i, j);
                }
            }
            let from = star_recovery(&p, &c).unwrap();
            let mut q = 0;
            for i in 0..n {
                for &j in p.row(i) {
                    assert_eq!(b[from[q]], h(i, j), "entry ({i}, {j})");
                    q += 1;
                }
            }
        }
        let path =
            pattern(10, &(0..10usize).map(|i| (i.saturating_sub(1)..(i + 2).min(10)).collect()).collect::<Vec<_>>());
        assert_eq!(best_star_colouring(&path).count, 3);
    }
}
