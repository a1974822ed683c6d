//! `reco-eval`: evaluates the recommendation models offline. Needs no database and no
//! configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use reco_eval::eval::{self, COLD_FOLDS, EvalSet, Table};
use reco_eval::movielens;
use truffle_reco::model::{DEFAULT_CANDIDATES, TruffleParams};

/// Evaluate the recommendation models offline: train on one MovieLens-format interaction file,
/// rank for every buyer in another, and print P@10, R@10 and NDCG@10 for popularity, segment
/// popularity, item-kNN, EASE and the Truffle model, warm and cold-start. Without files, uses
/// MovieLens 100K, fetched once from PyPI (the recbole 1.2.1 wheel), checked and cached.
#[derive(Debug, Clone, Parser)]
#[command(name = "reco-eval", version)]
struct RecoEvalArgs {
    /// Training ratings in u.data format: user, item, rating, timestamp (tab-separated).
    #[arg(long, value_name = "FILE", requires_all = ["test", "users", "items"])]
    pub train: Option<PathBuf>,
    /// Test ratings, same format; every one counts as a relevant purchase.
    #[arg(long, value_name = "FILE", requires_all = ["train", "users", "items"])]
    pub test: Option<PathBuf>,
    /// Users in u.user format: id|age|gender|occupation|zip.
    #[arg(long, value_name = "FILE", requires_all = ["train", "test", "items"])]
    pub users: Option<PathBuf>,
    /// Items in u.item format: id|title|release date|video date|URL|19 genre flags.
    #[arg(long, value_name = "FILE", requires_all = ["train", "test", "users"])]
    pub items: Option<PathBuf>,
    /// Which split of the fetched MovieLens 100K to use (when no files are given).
    #[arg(long, value_enum, default_value_t = SplitName::Ua)]
    pub split: SplitName,
    /// Print only the cold-start table (test buyers keep only their age and gender).
    #[arg(long)]
    pub cold_start: bool,
    /// K: the Truffle model's history part covers the K most interacted items.
    #[arg(long, value_name = "K", default_value_t = DEFAULT_CANDIDATES)]
    pub candidates: usize,
    /// Where fetched data is cached [default: $TRUFFLE_CACHE_DIR, else
    /// $XDG_CACHE_HOME/truffle, else ~/.cache/truffle].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitName {
    Ua,
    Ub,
}

impl SplitName {
    fn name(self) -> &'static str {
        match self {
            SplitName::Ua => "ua",
            SplitName::Ub => "ub",
        }
    }
}

/// Fetching on a tokio runtime, training and ranking on rayon's pool (one thread per core).
#[tokio::main]
async fn main() -> ExitCode {
    match run(RecoEvalArgs::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: RecoEvalArgs) -> anyhow::Result<()> {
    let (files, title) = match (&args.train, &args.test, &args.users, &args.items) {
        (Some(train), Some(test), Some(users), Some(items)) => (
            [train.clone(), test.clone(), users.clone(), items.clone()],
            format!("{} → {}", train.display(), test.display()),
        ),
        _ => {
            let cache = args
                .cache_dir
                .clone()
                .or_else(|| movielens::cache_root(|k| std::env::var_os(k)))
                .ok_or(movielens::MovieLensError::NoCacheDir)?;
            let dir = movielens::ensure(&cache).await?;
            let split = args.split.name();
            eprintln!("MovieLens 100K (checksums verified) in {}", dir.display());
            (
                [
                    dir.join(format!("{split}.base")),
                    dir.join(format!("{split}.test")),
                    dir.join("u.user"),
                    dir.join("u.item"),
                ],
                format!("MovieLens 100K, split {split}"),
            )
        }
    };
    let params = TruffleParams {
        candidates: args.candidates,
        ..TruffleParams::default()
    };
    let cold_only = args.cold_start;
    let report =
        tokio::task::spawn_blocking(move || evaluate(&files, &title, params, cold_only)).await??;
    print!("{report}");
    Ok(())
}

fn evaluate(
    files: &[PathBuf; 4],
    title: &str,
    params: TruffleParams,
    cold_only: bool,
) -> anyhow::Result<String> {
    let [train, test, users, items] = files;
    let set = movielens::load(train, test, users, items)?;
    let mut out = describe_set(&set, title);
    if !cold_only {
        let table = eval::warm(&set, params)?;
        out += "\nWarm: each test buyer's training ratings are their history.\n";
        out += &eval::format_table(&table);
        out += &comparisons(&table, &[eval::ease_name()]);
        out += &truffle_notes(&set, &table, false);
    }
    let table = eval::cold(&set, params)?;
    out += &format!(
        "\nCold start: test buyers in {COLD_FOLDS} folds; each fold is left out of training and \
         asked with age and gender only.\n"
    );
    out += &eval::format_table(&table);
    out += &comparisons(
        &table,
        &[eval::SEGMENT_POPULARITY.into(), eval::POPULARITY.into()],
    );
    out += &truffle_notes(&set, &table, true);
    Ok(out)
}

fn describe_set(set: &EvalSet, title: &str) -> String {
    let test: usize = set.test.iter().map(Vec::len).sum();
    let test_users = set.test.iter().filter(|t| !t.is_empty()).count();
    format!(
        "{title}: {} training ratings, {test} test ratings, {test_users} test users, {} users, {} items\n",
        set.data.interactions.len(),
        set.data.n_users(),
        set.data.n_items()
    )
}

fn comparisons(table: &Table, others: &[String]) -> String {
    others
        .iter()
        .filter_map(|o| eval::format_comparison(table, o))
        .map(|line| line + "\n")
        .collect()
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn truffle_notes(set: &EvalSet, table: &Table, cold: bool) -> String {
    let memory = table.truffle.memory();
    let (low, high) = (
        table.candidates.iter().min().copied().unwrap_or(0),
        table.candidates.iter().max().copied().unwrap_or(0),
    );
    let k = if low == high {
        format!("{low}")
    } else {
        format!("{low}–{high} (by fold)")
    };
    let mut out = format!(
        "Truffle: K = {k} candidate items of {} (--candidates {}); {} to serve, {} peak while \
         training the history part.\n{}.\n",
        set.data.n_items(),
        table.truffle.params().candidates,
        mib(memory.serving_bytes),
        mib(memory.training_peak_bytes),
        eval::format_reasons(&table.reasons)
    );
    // One example buyer: the first test user of the last fold (cold) or overall (warm).
    let example_user = (0..set.data.n_users())
        .filter(|&u| !set.test[u].is_empty())
        .find(|u| !cold || u % COLD_FOLDS == COLD_FOLDS - 1);
    if let Some(u) = example_user {
        let d = set.data.users[u];
        let who = d
            .segment()
            .describe()
            .map_or("unknown age and gender".to_owned(), |s| s);
        out += &format!(
            "Truffle's top 5 for user {} ({}, {}; {} training ratings; ✓ = in their test set):\n",
            set.user_ids[u],
            d.age.map_or("?".to_owned(), |a| a.to_string()),
            who,
            set.data.histories().of(u).len()
        );
        for line in eval::example(set, &table.truffle, u, cold, 5) {
            out += &format!("  {line}\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MovieLens-format files for 60 generated users and 40 items: women prefer items 0–19
    /// (genre flag 1), men items 20–39 (flag 2); each user rates 12 items of their side and 2
    /// of the other, in a shuffled order.
    fn write_files(dir: &std::path::Path) -> [PathBuf; 4] {
        let mut users = String::new();
        let mut ratings = Vec::new();
        let mut state = 12345u64;
        let mut next = |m: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            (state >> 33) % m
        };
        for u in 1..=60u64 {
            let female = u % 2 == 0;
            let age = 18 + next(40);
            users += &format!("{u}|{age}|{}|other|00000\n", if female { "F" } else { "M" });
            let (own, other) = if female { (0, 20) } else { (20, 0) };
            let mut items: Vec<u64> = Vec::new();
            while items.len() < 14 {
                let side = if items.len() < 12 { own } else { other };
                // Lower item numbers are more popular on each side.
                let i = side + next(20).min(next(20)) + 1;
                if !items.contains(&i) {
                    items.push(i);
                }
            }
            for (k, i) in items.iter().enumerate() {
                ratings.push((next(1000), format!("{u}\t{i}\t4\t{}\n", 880000000 + k)));
            }
        }
        ratings.sort();
        let ratings: Vec<movielens::Rating> = movielens::parse_ratings(
            "generated",
            &ratings.into_iter().map(|(_, l)| l).collect::<String>(),
        )
        .unwrap();
        let (base, test) = movielens::allbut(&ratings, 1, 4);
        let mut items = String::new();
        for i in 1..=40 {
            let flags: Vec<&str> = (0..19)
                .map(|g| match (g, i <= 20) {
                    (1, true) | (2, false) => "1",
                    _ => "0",
                })
                .collect();
            items += &format!("{i}|Item {i}|01-Jan-1995|||{}\n", flags.join("|"));
        }
        let paths = ["train", "test", "users", "items"].map(|n| dir.join(n));
        std::fs::write(&paths[0], movielens::format_ratings(&base)).unwrap();
        std::fs::write(&paths[1], movielens::format_ratings(&test)).unwrap();
        std::fs::write(&paths[2], users).unwrap();
        std::fs::write(&paths[3], items).unwrap();
        paths
    }

    #[test]
    fn evaluates_explicit_files_end_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_files(dir.path());
        let report = evaluate(&files, "generated", TruffleParams::default(), false).unwrap();
        assert!(
            report.starts_with("generated: 600 training ratings, 240 test ratings, 60 test users")
        );
        assert_eq!(report.matches("\nTruffle    ").count(), 2, "{report}");
        assert_eq!(report.matches("\nsegment popularity    ").count(), 2);
        assert!(report.contains("Cold start"));
        assert!(report.contains("popular with"), "{report}");

        let set = movielens::load(&files[0], &files[1], &files[2], &files[3]).unwrap();
        let cold = eval::cold(&set, TruffleParams::default()).unwrap();
        let row = |name: &str| cold.rows.iter().find(|r| r.model == name).unwrap().metrics;
        // Gender decides taste here, which plain popularity ignores.
        assert!(row("Truffle").ndcg > row(eval::POPULARITY).ndcg, "{report}");
        let warm = eval::warm(&set, TruffleParams::default()).unwrap();
        for r in warm.rows.iter().chain(&cold.rows) {
            assert!((0.0..=1.0).contains(&r.metrics.ndcg));
            assert_eq!(r.per_user.len(), 60);
        }
    }

    #[test]
    fn refuses_files_that_do_not_match() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_files(dir.path());
        std::fs::write(&files[1], "999\t1\t5\t880000000\n").unwrap();
        let err = evaluate(&files, "bad", TruffleParams::default(), true).unwrap_err();
        assert!(err.to_string().contains("user 999"), "{err}");
    }
}
