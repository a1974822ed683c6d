//! Dense linear algebra for EASE: the Gram matrix of a weighted interaction matrix, a blocked
//! Cholesky factorisation of a symmetric positive definite matrix, its inverse, and EASE's
//! weights. Pure Rust on rayon, in place, so memory stays at one `f64` K×K matrix while solving
//! plus the `f32` result.

use rayon::prelude::*;

/// Columns per block of the Cholesky factorisation.
const BLOCK: usize = 64;
/// Rows or columns solved together in the inversion, sharing what they read.
const GROUP: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the matrix is not positive definite (pivot {pivot})")]
pub struct NotPositiveDefinite {
    pub pivot: usize,
}

/// `a · b` with eight independent sums, which the compiler turns into vector code (a plain
/// iterator sum must keep its order and stays scalar).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Factorises the symmetric positive definite `a` (n×n, row-major; only the lower triangle is
/// read) as L·Lᵀ, writing L into the lower triangle. The strict upper triangle is left as it
/// was. Right-looking and blocked: each block of columns is factorised, the rows below it are
/// solved in parallel, and the trailing matrix is updated in parallel from a copy of the panel.
pub fn cholesky_in_place(a: &mut [f64], n: usize) -> Result<(), NotPositiveDefinite> {
    assert_eq!(a.len(), n * n, "a is n×n");
    let mut kb = 0;
    while kb < n {
        let ke = (kb + BLOCK).min(n);
        // The diagonal block, column by column.
        for j in kb..ke {
            let d = {
                let row = &a[j * n..j * n + n];
                row[j] - dot(&row[kb..j], &row[kb..j])
            };
            if !(d > 0.0 && d.is_finite()) {
                return Err(NotPositiveDefinite { pivot: j });
            }
            let d = d.sqrt();
            a[j * n + j] = d;
            for i in j + 1..ke {
                let s = dot(&a[i * n + kb..i * n + j], &a[j * n + kb..j * n + j]);
                a[i * n + j] = (a[i * n + j] - s) / d;
            }
        }
        if ke == n {
            break;
        }
        let (top, bottom) = a.split_at_mut(ke * n);
        let block = &top[kb * n..];
        // The panel: the block's columns in every row below it.
        bottom.par_chunks_mut(n).for_each(|row| {
            for j in kb..ke {
                let lj = &block[(j - kb) * n..(j - kb) * n + n];
                let s = dot(&row[kb..j], &lj[kb..j]);
                row[j] = (row[j] - s) / lj[j];
            }
        });
        // The trailing matrix: A[i][j] -= panel[i] · panel[j] for ke ≤ j ≤ i.
        let width = ke - kb;
        let mut panel = Vec::with_capacity((n - ke) * width);
        for row in bottom.chunks(n) {
            panel.extend_from_slice(&row[kb..ke]);
        }
        let panel = &panel;
        bottom.par_chunks_mut(n).enumerate().for_each(|(r, row)| {
            let pr = &panel[r * width..(r + 1) * width];
            let out = &mut row[ke..=ke + r];
            for (c, x) in out.iter_mut().enumerate() {
                *x -= dot(pr, &panel[c * width..(c + 1) * width]);
            }
        });
        kb = ke;
    }
    Ok(())
}

/// Splits each row r of a row-major n×n matrix into its part before the diagonal and its part
/// from the diagonal on.
fn split_rows(a: &mut [f64], n: usize) -> (Vec<&mut [f64]>, Vec<&mut [f64]>) {
    a.chunks_mut(n)
        .enumerate()
        .map(|(r, row)| row.split_at_mut(r))
        .unzip()
}

/// Inverts the symmetric positive definite `a` (n×n) in place: on return the strict lower
/// triangle holds A⁻¹'s, and the diagonal of A⁻¹ is returned (the upper triangle is scratch).
/// Needs no memory beyond `a` but O(n).
pub fn spd_inverse_in_place(a: &mut [f64], n: usize) -> Result<Vec<f64>, NotPositiveDefinite> {
    cholesky_in_place(a, n)?;
    let l_diag: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
    // M = (L⁻¹)ᵀ, upper triangular: row j of M is column j of L⁻¹, solved from L·y = e_j by
    // forward substitution into the row's upper part. Columns are independent; GROUP of them
    // run together so each row of L is read from memory once per group, not once per column.
    {
        let (lower, mut upper) = split_rows(a, n);
        let lower: Vec<&[f64]> = lower.into_iter().map(|r| &*r).collect();
        upper.par_chunks_mut(GROUP).enumerate().for_each(|(g, ys)| {
            let j0 = g * GROUP;
            for (o, y) in ys.iter_mut().enumerate() {
                y[0] = 1.0 / l_diag[j0 + o];
            }
            for i in j0 + 1..n {
                let row = lower[i];
                for (o, y) in ys.iter_mut().enumerate() {
                    let j = j0 + o;
                    if i > j {
                        let s = dot(&row[j..i], &y[..i - j]);
                        y[i - j] = -s / l_diag[i];
                    }
                }
            }
        });
    }
    // A⁻¹ = L⁻ᵀ·L⁻¹ = M·Mᵀ: entry (r, c) for c < r is M[r][r..] · M[c][r..], into the lower
    // part; GROUP rows together, sharing each M[c] they read.
    let mut diag = vec![0.0; n];
    {
        let (mut lower, upper) = split_rows(a, n);
        let upper: Vec<&[f64]> = upper.into_iter().map(|r| &*r).collect();
        lower
            .par_chunks_mut(GROUP)
            .zip(diag.par_chunks_mut(GROUP))
            .enumerate()
            .for_each(|(g, (outs, ds))| {
                let r0 = g * GROUP;
                for (o, d) in ds.iter_mut().enumerate() {
                    let mr = upper[r0 + o];
                    *d = dot(mr, mr);
                }
                for c in 0..r0 + outs.len() {
                    let mc = upper[c];
                    for (o, out) in outs.iter_mut().enumerate() {
                        let r = r0 + o;
                        if c < r {
                            out[c] = dot(upper[r], &mc[r - c..]);
                        }
                    }
                }
            });
    }
    Ok(diag)
}

/// EASE (Steck 2019) from a Gram matrix G = XᵀX (n×n, row-major, consumed): with
/// P = (G + λI)⁻¹, B = I − P·diag(1/diag(P)), i.e. B[i][j] = −P[i][j] / P[j][j] off the
/// diagonal and 0 on it. A user's scores are x·B: row i of B is what item i adds to every item.
/// Peak memory: the n² `f64` input plus the n² `f32` result (12·n² bytes).
pub fn ease_weights(
    mut gram: Vec<f64>,
    n: usize,
    lambda: f64,
) -> Result<Vec<f32>, NotPositiveDefinite> {
    assert_eq!(gram.len(), n * n, "the Gram matrix is n×n");
    if n == 0 {
        return Ok(Vec::new());
    }
    for i in 0..n {
        gram[i * n + i] += lambda;
    }
    let p_diag = spd_inverse_in_place(&mut gram, n)?;
    let p = &gram;
    let mut b = vec![0.0f32; n * n];
    b.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for (j, x) in row.iter_mut().enumerate() {
            let pij = match j.cmp(&i) {
                std::cmp::Ordering::Less => p[i * n + j],
                std::cmp::Ordering::Greater => p[j * n + i],
                std::cmp::Ordering::Equal => continue,
            };
            *x = (-pij / p_diag[j]) as f32;
        }
    });
    Ok(b)
}

/// G = XᵀX for a sparse X given by rows (users) of (column, value), over `n` columns.
/// `columns` must be sorted within each row. Parallel over G's rows.
pub fn gram(rows: &[Vec<(u32, f64)>], n: usize) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    // Column-major view: for each column, the rows that have it and the value there.
    let mut by_column: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    for (r, row) in rows.iter().enumerate() {
        for &(c, v) in row {
            by_column[c as usize].push((r as u32, v));
        }
    }
    let mut g = vec![0.0; n * n];
    g.par_chunks_mut(n).enumerate().for_each(|(i, out)| {
        for &(r, vi) in &by_column[i] {
            for &(j, vj) in &rows[r as usize] {
                out[j as usize] += vi * vj;
            }
        }
    });
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random symmetric positive definite matrix: RᵀR/m + I.
    fn random_spd(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        let m = n + 3;
        let r: Vec<f64> = (0..m * n).map(|_| next()).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let s: f64 = (0..m).map(|k| r[k * n + i] * r[k * n + j]).sum();
                a[i * n + j] = s / m as f64 + if i == j { 1.0 } else { 0.0 };
            }
        }
        a
    }

    /// Gauss–Jordan with partial pivoting: slow, obviously right.
    fn brute_inverse(a: &[f64], n: usize) -> Vec<f64> {
        let mut m = a.to_vec();
        let mut inv = vec![0.0; n * n];
        for i in 0..n {
            inv[i * n + i] = 1.0;
        }
        for c in 0..n {
            let p = (c..n)
                .max_by(|&x, &y| m[x * n + c].abs().total_cmp(&m[y * n + c].abs()))
                .unwrap();
            for k in 0..n {
                m.swap(c * n + k, p * n + k);
                inv.swap(c * n + k, p * n + k);
            }
            let d = m[c * n + c];
            for k in 0..n {
                m[c * n + k] /= d;
                inv[c * n + k] /= d;
            }
            for r in 0..n {
                if r != c {
                    let f = m[r * n + c];
                    for k in 0..n {
                        m[r * n + k] -= f * m[c * n + k];
                        inv[r * n + k] -= f * inv[c * n + k];
                    }
                }
            }
        }
        inv
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f64> = (0..37).map(|i| i as f64 * 0.5).collect();
        let b: Vec<f64> = (0..37).map(|i| 3.0 - i as f64).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-9);
        assert_eq!(dot(&[], &[]), 0.0);
    }

    #[test]
    fn cholesky_reproduces_the_matrix_across_blocks() {
        let n = BLOCK * 2 + 7;
        let a = random_spd(n, 7);
        let mut l = a.clone();
        cholesky_in_place(&mut l, n).unwrap();
        for i in 0..n {
            for j in 0..=i {
                let s: f64 = (0..=j).map(|k| l[i * n + k] * l[j * n + k]).sum();
                assert!((s - a[i * n + j]).abs() < 1e-9, "({i},{j})");
            }
        }
    }

    #[test]
    fn inverse_matches_gauss_jordan() {
        for n in [1, 5, BLOCK + 1, 150] {
            let a = random_spd(n, n as u64);
            let expected = brute_inverse(&a, n);
            let mut m = a.clone();
            let diag = spd_inverse_in_place(&mut m, n).unwrap();
            for i in 0..n {
                assert!((diag[i] - expected[i * n + i]).abs() < 1e-9);
                for j in 0..i {
                    assert!(
                        (m[i * n + j] - expected[i * n + j]).abs() < 1e-9,
                        "({i},{j})"
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_a_matrix_that_is_not_positive_definite() {
        let mut a = vec![1.0, 2.0, 2.0, 1.0];
        assert_eq!(
            cholesky_in_place(&mut a, 2),
            Err(NotPositiveDefinite { pivot: 1 })
        );
    }

    #[test]
    fn ease_on_a_tiny_matrix_matches_the_closed_form_by_hand() {
        // Three users, three items: X = [[1,1,0],[1,0,1],[0,1,1]], so G = [[2,1,1],[1,2,1],[1,1,2]].
        // With λ = 1, G + λI = 2I + J (J all ones), whose inverse is (I − J/5)/2: P has 0.4 on
        // the diagonal and −0.1 elsewhere, so B[i][j] = 0.1 / 0.4 = 0.25 off the diagonal.
        let rows = vec![
            vec![(0, 1.0), (1, 1.0)],
            vec![(0, 1.0), (2, 1.0)],
            vec![(1, 1.0), (2, 1.0)],
        ];
        let g = gram(&rows, 3);
        assert_eq!(g, vec![2.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 2.0]);
        let b = ease_weights(g, 3, 1.0).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let expected = if i == j { 0.0 } else { 0.25 };
                assert!(
                    (b[i * 3 + j] - expected).abs() < 1e-6,
                    "({i},{j}) = {}",
                    b[i * 3 + j]
                );
            }
        }
    }

    #[test]
    fn ease_matches_a_brute_force_inverse() {
        let n = 40;
        // A sparse 0/1 matrix with weights, 60 users.
        let rows: Vec<Vec<(u32, f64)>> = (0..60u32)
            .map(|u| {
                (0..n as u32)
                    .filter(|i| (u * 7 + i * 13) % 5 == 0 || (u + i) % 11 == 0)
                    .map(|i| (i, if i % 3 == 0 { 0.5 } else { 1.0 }))
                    .collect()
            })
            .collect();
        let g = gram(&rows, n);
        let lambda = 3.0;
        let mut reg = g.clone();
        for i in 0..n {
            reg[i * n + i] += lambda;
        }
        let p = brute_inverse(&reg, n);
        let b = ease_weights(g, n, lambda).unwrap();
        for i in 0..n {
            for j in 0..n {
                let expected = if i == j {
                    0.0
                } else {
                    -p[i * n + j] / p[j * n + j]
                };
                assert!((f64::from(b[i * n + j]) - expected).abs() < 1e-5);
            }
        }
    }

    /// The solver's speed at a given K, for docs/RECOMMENDATIONS.md:
    /// `RECO_SOLVER_K=5000 cargo test --release -p truffle-reco --lib linalg::tests::solver_speed -- --ignored --nocapture`
    #[test]
    #[ignore = "a measurement, not a check: run it in release"]
    fn solver_speed() {
        let n: usize = std::env::var("RECO_SOLVER_K")
            .ok()
            .and_then(|k| k.parse().ok())
            .unwrap_or(2_000);
        // A Gram matrix shaped like co-purchases: 20 users per item, each buying 30 items.
        let users = n * 20 / 30;
        let rows: Vec<Vec<(u32, f64)>> = (0..users as u64)
            .map(|u| {
                let mut items: Vec<u32> = (0..30u64)
                    .map(|k| ((u * 2_654_435_761 + k * 40_503 * (u % 7 + 1)) % n as u64) as u32)
                    .collect();
                items.sort_unstable();
                items.dedup();
                items.into_iter().map(|i| (i, 1.0)).collect()
            })
            .collect();
        let started = std::time::Instant::now();
        let g = gram(&rows, n);
        let gram_s = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let b = ease_weights(g, n, 400.0).unwrap();
        let solve_s = started.elapsed().as_secs_f64();
        let flops = 2.0 * (n as f64).powi(3) / 3.0;
        println!(
            "K = {n}: Gram {gram_s:.2} s, Cholesky + inverse + B {solve_s:.2} s ({:.1} GFLOP/s), \
             B {:.0} MiB, peak {:.0} MiB",
            flops / solve_s / 1e9,
            (b.len() * 4) as f64 / 1048576.0,
            (n * n * 12) as f64 / 1048576.0
        );
    }
}
