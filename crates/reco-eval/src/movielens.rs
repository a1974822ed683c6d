//! MovieLens 100K for the offline evaluation: fetched, checked and cached, never committed.
//!
//! The files may not be redistributed, so they come from a package that ships them: the
//! `recbole` 1.2.1 wheel on PyPI (`recbole/dataset_example/ml-100k/`, RecBole's atomic files).
//! The wheel and the three files read from it are pinned by sha256 and anything else is
//! refused. They are converted back to the MovieLens layout — `u.data` in the atomic file's
//! order, which is u.data's own, `u.user`, `u.item` with the 19 genre flags — and `ua`/`ub` are
//! rebuilt by the original `allbut.pl` rule, each file pinned too. Everything lands in the
//! cache directory (`$TRUFFLE_CACHE_DIR`, else `$XDG_CACHE_HOME/truffle`, else
//! `~/.cache/truffle`), so a second run needs no network.
//!
//! The parsers read the real MovieLens files as well (`reco-eval --train … --items …`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use truffle_reco::data::{
    Demographics, Feature, FeatureIdx, FeatureKind, Gender, Interaction, ItemIdx, Signal,
    TrainingData,
};

use crate::eval::EvalSet;

pub const WHEEL_FILE: &str = "recbole-1.2.1-py3-none-any.whl";
pub const WHEEL_SHA256: &str = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407";
/// PyPI's JSON API lists the wheel's URL; the simple index is the fallback.
const PYPI_JSON: &str = "https://pypi.org/pypi/recbole/1.2.1/json";
const PYPI_SIMPLE: &str = "https://pypi.org/simple/recbole/";

/// The atomic files read from the wheel: path inside it, sha256.
pub const WHEEL_FILES: [(&str, &str); 3] = [
    (
        "recbole/dataset_example/ml-100k/ml-100k.inter",
        "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    ),
    (
        "recbole/dataset_example/ml-100k/ml-100k.user",
        "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
    ),
    (
        "recbole/dataset_example/ml-100k/ml-100k.item",
        "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    ),
];

/// The MovieLens-layout files this module writes, and their sha256 (checked against an
/// independent conversion when pinned).
pub const CONVERTED_FILES: [(&str, &str); 7] = [
    (
        "u.data",
        "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    ),
    (
        "u.user",
        "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
    ),
    (
        "u.item",
        "f14cd433e9b0f9dd3460b02fae00885d6dea0740b1665d2b280aa376ac28ba77",
    ),
    (
        "ua.base",
        "67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2",
    ),
    (
        "ua.test",
        "d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42",
    ),
    (
        "ub.base",
        "237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881",
    ),
    (
        "ub.test",
        "d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da",
    ),
];

/// MovieLens's 19 genres, in u.item's flag order.
pub const GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

#[derive(Debug, thiserror::Error)]
pub enum MovieLensError {
    #[error("{what}: sha256 is {actual}, expected {expected}; refusing it")]
    Checksum {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("cannot download {url}: {message}")]
    Download { url: String, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the wheel is not a readable zip archive: {0}")]
    Zip(String),
    #[error("{file}, line {line}: {message}")]
    Format {
        file: String,
        line: usize,
        message: String,
    },
    #[error("no cache directory: set TRUFFLE_CACHE_DIR (or HOME)")]
    NoCacheDir,
}

fn format_error(file: &str, line: usize, message: impl Into<String>) -> MovieLensError {
    MovieLensError::Format {
        file: file.to_owned(),
        line,
        message: message.into(),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> MovieLensError + '_ {
    move |source| MovieLensError::Io {
        path: path.to_owned(),
        source,
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Refuses `bytes` unless their sha256 is `expected`.
pub fn check_sha256(what: &str, bytes: &[u8], expected: &str) -> Result<(), MovieLensError> {
    let actual = sha256_hex(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(MovieLensError::Checksum {
            what: what.to_owned(),
            expected: expected.to_owned(),
            actual,
        })
    }
}

/// The cache root: `$TRUFFLE_CACHE_DIR`, else `$XDG_CACHE_HOME/truffle`, else
/// `$HOME/.cache/truffle`. `var` reads a variable (the process environment in the CLI).
pub fn cache_root(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    set("TRUFFLE_CACHE_DIR")
        .or_else(|| set("XDG_CACHE_HOME").map(|p| p.join("truffle")))
        .or_else(|| set("HOME").map(|p| p.join(".cache").join("truffle")))
}

/// Reads each pinned file out of the wheel, refusing the wheel or any file whose sha256 differs.
pub fn extract_pinned(
    wheel: &[u8],
    wheel_sha256: &str,
    files: &[(&str, &str)],
) -> Result<Vec<Vec<u8>>, MovieLensError> {
    check_sha256(WHEEL_FILE, wheel, wheel_sha256)?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel))
        .map_err(|e| MovieLensError::Zip(e.to_string()))?;
    files
        .iter()
        .map(|&(path, sha)| {
            let mut entry = archive
                .by_name(path)
                .map_err(|e| MovieLensError::Zip(format!("{path}: {e}")))?;
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| MovieLensError::Zip(format!("{path}: {e}")))?;
            check_sha256(path, &bytes, sha)?;
            Ok(bytes)
        })
        .collect()
}

/// A rating line: ids as in the files.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating {
    pub user: u32,
    pub item: u32,
    pub rating: f32,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: u32,
    pub age: Option<u8>,
    pub gender: Option<Gender>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: u32,
    pub title: String,
    pub year: Option<u16>,
    /// Indices into [`GENRES`].
    pub genres: Vec<usize>,
}

/// The MovieLens layout, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub u_data: String,
    pub u_user: String,
    pub u_item: String,
}

/// RecBole's atomic file: a typed header line, then tab-separated fields.
fn atomic_rows<'a>(
    file: &'a str,
    text: &'a str,
    header: &[&str],
) -> Result<impl Iterator<Item = (usize, Vec<&'a str>)> + 'a, MovieLensError> {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let names: Vec<&str> = first
        .split('\t')
        .map(|h| h.split(':').next().unwrap_or(h))
        .collect();
    if names != header {
        return Err(format_error(
            file,
            1,
            format!("header {first:?} does not name {header:?}"),
        ));
    }
    Ok(lines
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(n, l)| (n + 2, l.split('\t').collect())))
}

/// RecBole's `ml-100k.{inter,user,item}` back to `u.data`, `u.user` and `u.item`. Ratings keep
/// the atomic file's order and tokens; `u.item`'s release-date field holds the release year
/// alone and the video date and IMDb URL are empty (RecBole keeps neither).
pub fn convert(inter: &str, user: &str, item: &str) -> Result<Converted, MovieLensError> {
    let mut u_data = String::with_capacity(inter.len());
    for (line, f) in atomic_rows(
        "ml-100k.inter",
        inter,
        &["user_id", "item_id", "rating", "timestamp"],
    )? {
        if f.len() != 4 || f.iter().any(|x| x.parse::<f64>().is_err()) {
            return Err(format_error("ml-100k.inter", line, "expected 4 numbers"));
        }
        u_data += &f.join("\t");
        u_data.push('\n');
    }
    let mut u_user = String::new();
    for (line, f) in atomic_rows(
        "ml-100k.user",
        user,
        &["user_id", "age", "gender", "occupation", "zip_code"],
    )? {
        if f.len() != 5 {
            return Err(format_error("ml-100k.user", line, "expected 5 fields"));
        }
        u_user += &f.join("|");
        u_user.push('\n');
    }
    let mut u_item = String::new();
    for (line, f) in atomic_rows(
        "ml-100k.item",
        item,
        &["item_id", "movie_title", "release_year", "class"],
    )? {
        if f.len() != 4 {
            return Err(format_error("ml-100k.item", line, "expected 4 fields"));
        }
        let mut flags = [0u8; GENRES.len()];
        for genre in f[3].split_whitespace() {
            let g = GENRES
                .iter()
                .position(|x| *x == genre)
                .ok_or_else(|| format_error("ml-100k.item", line, format!("genre {genre:?}")))?;
            flags[g] = 1;
        }
        let year = if f[2].len() == 4 && f[2].bytes().all(|b| b.is_ascii_digit()) {
            f[2]
        } else {
            ""
        };
        u_item += &format!("{}|{}|{year}||", f[0], f[1]);
        for flag in flags {
            u_item += &format!("|{flag}");
        }
        u_item.push('\n');
    }
    Ok(Converted {
        u_data,
        u_user,
        u_item,
    })
}

pub fn parse_ratings(file: &str, text: &str) -> Result<Vec<Rating>, MovieLensError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let bad = || format_error(file, n + 1, "expected user, item, rating, timestamp");
            if f.len() != 4 {
                return Err(bad());
            }
            Ok(Rating {
                user: f[0].parse().map_err(|_| bad())?,
                item: f[1].parse().map_err(|_| bad())?,
                rating: f[2].parse().map_err(|_| bad())?,
                timestamp: f[3].parse::<f64>().map(|t| t as i64).map_err(|_| bad())?,
            })
        })
        .collect()
}

pub fn format_ratings(ratings: &[Rating]) -> String {
    let mut out = String::with_capacity(ratings.len() * 24);
    for r in ratings {
        out += &format!("{}\t{}\t{}\t{}\n", r.user, r.item, r.rating, r.timestamp);
    }
    out
}

pub fn parse_users(file: &str, text: &str) -> Result<Vec<User>, MovieLensError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let f: Vec<&str> = l.split('|').collect();
            if f.len() < 3 {
                return Err(format_error(file, n + 1, "expected id|age|gender|…"));
            }
            Ok(User {
                id: f[0]
                    .trim()
                    .parse()
                    .map_err(|_| format_error(file, n + 1, "the id is not a number"))?,
                age: f[1].trim().parse().ok(),
                gender: match f[2].trim() {
                    "F" | "f" => Some(Gender::Female),
                    "M" | "m" => Some(Gender::Male),
                    _ => None,
                },
            })
        })
        .collect()
}

/// u.item is Latin-1 in the original distribution: titles are read lossily (only genres and the
/// year matter here).
pub fn parse_items(file: &str, bytes: &[u8]) -> Result<Vec<Item>, MovieLensError> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let f: Vec<&str> = l.split('|').collect();
            if f.len() != 5 + GENRES.len() {
                return Err(format_error(
                    file,
                    n + 1,
                    format!("expected {} fields", 5 + GENRES.len()),
                ));
            }
            let date = f[2].trim();
            let year = date
                .get(date.len().saturating_sub(4)..)
                .and_then(|y| y.parse().ok());
            Ok(Item {
                id: f[0]
                    .trim()
                    .parse()
                    .map_err(|_| format_error(file, n + 1, "the id is not a number"))?,
                title: f[1].to_owned(),
                year,
                genres: (0..GENRES.len())
                    .filter(|g| f[5 + g].trim() == "1")
                    .collect(),
            })
        })
        .collect()
}

/// The original `allbut.pl` rule: walking the ratings in order, each user's `first`-th to
/// `last`-th ratings (1-based) go to test, the rest to base; both are then sorted by user and
/// item, as `mku.sh` does. ua = 1..=10, ub = 11..=20.
pub fn allbut(ratings: &[Rating], first: usize, last: usize) -> (Vec<Rating>, Vec<Rating>) {
    let mut seen: HashMap<u32, usize> = HashMap::new();
    let (mut base, mut test) = (Vec::new(), Vec::new());
    for r in ratings {
        let count = seen.entry(r.user).or_default();
        *count += 1;
        if (first..=last).contains(count) {
            test.push(*r);
        } else {
            base.push(*r);
        }
    }
    base.sort_by_key(|r| (r.user, r.item));
    test.sort_by_key(|r| (r.user, r.item));
    (base, test)
}

/// Builds the evaluation set: dense users and items in file order, features (the 19 genres, then
/// release decades), every training rating a purchase.
pub fn eval_set(
    train: &[Rating],
    test: &[Rating],
    users: &[User],
    items: &[Item],
) -> Result<EvalSet, MovieLensError> {
    let user_index: HashMap<u32, usize> =
        users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let item_index: HashMap<u32, usize> =
        items.iter().enumerate().map(|(i, it)| (it.id, i)).collect();
    let mut features: Vec<Feature> = GENRES
        .iter()
        .map(|g| Feature {
            kind: FeatureKind::Genre,
            name: (*g).to_owned(),
        })
        .collect();
    let mut decades: Vec<u16> = items
        .iter()
        .filter_map(|i| i.year)
        .map(|y| y / 10 * 10)
        .collect();
    decades.sort_unstable();
    decades.dedup();
    features.extend(decades.iter().map(|d| Feature {
        kind: FeatureKind::Decade,
        name: format!("{d}s"),
    }));
    let item_features: Vec<Vec<FeatureIdx>> = items
        .iter()
        .map(|it| {
            let mut f: Vec<FeatureIdx> = it.genres.iter().map(|&g| g as FeatureIdx).collect();
            if let Some(y) = it.year {
                let d = decades.binary_search(&(y / 10 * 10)).unwrap_or(0);
                f.push((GENRES.len() + d) as FeatureIdx);
            }
            f
        })
        .collect();
    let locate = |file: &str, r: &Rating| -> Result<(usize, usize), MovieLensError> {
        let u = *user_index.get(&r.user).ok_or_else(|| {
            format_error(file, 0, format!("user {} is not in the users file", r.user))
        })?;
        let i = *item_index.get(&r.item).ok_or_else(|| {
            format_error(file, 0, format!("item {} is not in the items file", r.item))
        })?;
        Ok((u, i))
    };
    let mut interactions = Vec::with_capacity(train.len());
    for r in train {
        let (u, i) = locate("training ratings", r)?;
        interactions.push(Interaction {
            user: u as u32,
            item: i as ItemIdx,
            signal: Signal::Purchase,
        });
    }
    let mut relevant = vec![Vec::new(); users.len()];
    for r in test {
        let (u, i) = locate("test ratings", r)?;
        relevant[u].push(i as ItemIdx);
    }
    for r in &mut relevant {
        r.sort_unstable();
        r.dedup();
    }
    Ok(EvalSet {
        data: TrainingData {
            users: users
                .iter()
                .map(|u| Demographics {
                    age: u.age,
                    gender: u.gender,
                })
                .collect(),
            features,
            item_features,
            interactions,
        },
        test: relevant,
        item_names: items
            .iter()
            .map(|it| match it.year {
                Some(y) if !it.title.ends_with(')') => format!("{} ({y})", it.title),
                _ => it.title.clone(),
            })
            .collect(),
        user_ids: users.iter().map(|u| u.id).collect(),
    })
}

/// Every MovieLens-layout file, from the three atomic files.
pub fn movielens_files(
    inter: &str,
    user: &str,
    item: &str,
) -> Result<Vec<(&'static str, String)>, MovieLensError> {
    let converted = convert(inter, user, item)?;
    let ratings = parse_ratings("u.data", &converted.u_data)?;
    let (ua_base, ua_test) = allbut(&ratings, 1, 10);
    let (ub_base, ub_test) = allbut(&ratings, 11, 20);
    Ok(vec![
        ("u.data", converted.u_data),
        ("u.user", converted.u_user),
        ("u.item", converted.u_item),
        ("ua.base", format_ratings(&ua_base)),
        ("ua.test", format_ratings(&ua_test)),
        ("ub.base", format_ratings(&ub_base)),
        ("ub.test", format_ratings(&ub_test)),
    ])
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), MovieLensError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&partial, bytes).map_err(io_error(&partial))?;
    std::fs::rename(&partial, path).map_err(io_error(path))
}

/// The MovieLens directory inside the cache.
pub fn data_dir(cache: &Path) -> PathBuf {
    cache.join("movielens").join("ml-100k")
}

fn cached_and_pinned(dir: &Path) -> bool {
    CONVERTED_FILES.iter().all(|(name, sha)| {
        std::fs::read(dir.join(name)).is_ok_and(|bytes| sha256_hex(&bytes) == *sha)
    })
}

/// Makes sure the pinned MovieLens files are in `cache` and returns their directory; downloads
/// the wheel only when neither the files nor a good copy of the wheel are there.
pub async fn ensure(cache: &Path) -> Result<PathBuf, MovieLensError> {
    let dir = data_dir(cache);
    if cached_and_pinned(&dir) {
        return Ok(dir);
    }
    let wheel_path = cache.join("pypi").join(WHEEL_FILE);
    let cached = std::fs::read(&wheel_path)
        .ok()
        .filter(|bytes| sha256_hex(bytes) == WHEEL_SHA256);
    let wheel = match cached {
        Some(bytes) => bytes,
        None => {
            let bytes = download_wheel().await?;
            write_atomically(&wheel_path, &bytes)?;
            bytes
        }
    };
    let files = extract_pinned(&wheel, WHEEL_SHA256, &WHEEL_FILES)?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (name, content) in movielens_files(&text(&files[0]), &text(&files[1]), &text(&files[2]))? {
        let pin = CONVERTED_FILES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, sha)| *sha);
        check_sha256(&format!("converted {name}"), content.as_bytes(), pin)?;
        write_atomically(&dir.join(name), content.as_bytes())?;
    }
    Ok(dir)
}

async fn download_wheel() -> Result<Vec<u8>, MovieLensError> {
    let client = reqwest::Client::builder()
        .user_agent(concat!("truffle-reco-eval/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| MovieLensError::Download {
            url: PYPI_JSON.into(),
            message: e.to_string(),
        })?;
    let get = |url: String| {
        let client = client.clone();
        async move {
            let response = client
                .get(&url)
                .send()
                .await
                .and_then(|r| r.error_for_status());
            match response {
                Ok(r) => r.bytes().await.map(|b| b.to_vec()).map_err(|e| (url, e)),
                Err(e) => Err((url, e)),
            }
        }
    };
    let download_error = |(url, e): (String, reqwest::Error)| {
        // reqwest's own message hides the cause (DNS, TLS, refused connection): add the chain.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message += &format!(": {cause}");
            source = cause.source();
        }
        MovieLensError::Download { url, message }
    };
    let url = match get(PYPI_JSON.to_owned()).await {
        Ok(json) => wheel_url_from_json(&json),
        Err(_) => None,
    };
    let url = match url {
        Some(url) => url,
        None => {
            let index = get(PYPI_SIMPLE.to_owned()).await.map_err(download_error)?;
            wheel_url_from_simple_index(&String::from_utf8_lossy(&index)).ok_or_else(|| {
                MovieLensError::Download {
                    url: PYPI_SIMPLE.into(),
                    message: format!("no {WHEEL_FILE} listed"),
                }
            })?
        }
    };
    eprintln!("downloading {url}");
    let bytes = get(url).await.map_err(download_error)?;
    check_sha256(WHEEL_FILE, &bytes, WHEEL_SHA256)?;
    Ok(bytes)
}

fn wheel_url_from_json(json: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    value["urls"]
        .as_array()?
        .iter()
        .find(|u| u["filename"] == WHEEL_FILE)?["url"]
        .as_str()
        .map(str::to_owned)
}

/// The wheel's link in a PEP 503 simple index page (absolute, as PyPI writes them), without
/// its `#sha256=` fragment: the pin is ours, not the page's.
fn wheel_url_from_simple_index(html: &str) -> Option<String> {
    html.split("href=\"").skip(1).find_map(|rest| {
        let link = rest.split('"').next()?;
        let url = link.split('#').next()?;
        (url.ends_with(&format!("/{WHEEL_FILE}")) && url.starts_with("https://"))
            .then(|| url.to_owned())
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, MovieLensError> {
    std::fs::read(path).map_err(io_error(path))
}

/// Loads an evaluation set from MovieLens-format files.
pub fn load(
    train: &Path,
    test: &Path,
    users: &Path,
    items: &Path,
) -> Result<EvalSet, MovieLensError> {
    let text = |p: &Path| read_file(p).map(|b| String::from_utf8_lossy(&b).into_owned());
    let name = |p: &Path| p.display().to_string();
    eval_set(
        &parse_ratings(&name(train), &text(train)?)?,
        &parse_ratings(&name(test), &text(test)?)?,
        &parse_users(&name(users), &text(users)?)?,
        &parse_items(&name(items), &read_file(items)?)?,
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn rating(user: u32, item: u32) -> Rating {
        Rating {
            user,
            item,
            rating: 3.0,
            timestamp: 100,
        }
    }

    #[test]
    fn the_split_rule_takes_each_users_ratings_by_position() {
        // User 1 rates items 1..=25, user 2 rates items 101..=112, interleaved.
        let mut ratings = Vec::new();
        for k in 0..25 {
            ratings.push(rating(1, k + 1));
            if k < 12 {
                ratings.push(rating(2, 112 - k));
            }
        }
        let (base, test) = allbut(&ratings, 1, 10);
        let of = |rs: &[Rating], u| {
            rs.iter()
                .filter(|r| r.user == u)
                .map(|r| r.item)
                .collect::<Vec<_>>()
        };
        assert_eq!(of(&test, 1), (1..=10).collect::<Vec<_>>());
        assert_eq!(of(&base, 1), (11..=25).collect::<Vec<_>>());
        assert_eq!(
            of(&test, 2),
            (103..=112).collect::<Vec<_>>(),
            "sorted by item"
        );
        assert_eq!(of(&base, 2), vec![101, 102]);
        let (base, test) = allbut(&ratings, 11, 20);
        assert_eq!(of(&test, 1), (11..=20).collect::<Vec<_>>());
        assert_eq!(of(&test, 2), vec![101, 102]);
        assert_eq!(base.len() + test.len(), ratings.len());
        assert!(
            base.windows(2)
                .all(|w| (w[0].user, w[0].item) <= (w[1].user, w[1].item))
        );
    }

    #[test]
    fn converts_recbole_atomic_files_back() {
        let inter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n186\t302\t3\t891717742\n";
        let user = "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n1\t24\tM\ttechnician\t85711\n";
        let item = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n1\tToy Story\t1995\tAnimation Children's Comedy\n267\tunkonwn\tunkonwn\tunknown\n";
        let c = convert(inter, user, item).unwrap();
        assert_eq!(c.u_data, "196\t242\t3\t881250949\n186\t302\t3\t891717742\n");
        assert_eq!(c.u_user, "1|24|M|technician|85711\n");
        assert_eq!(
            c.u_item,
            "1|Toy Story|1995|||0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n267|unkonwn||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
        );
        let items = parse_items("u.item", c.u_item.as_bytes()).unwrap();
        assert_eq!(items[0].year, Some(1995));
        assert_eq!(items[0].genres, vec![3, 4, 5]);
        assert_eq!(items[1].year, None);
        // The original layout parses too.
        let original = "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n";
        assert_eq!(
            parse_items("u.item", original.as_bytes()).unwrap()[0].year,
            Some(1995)
        );
        let ratings = parse_ratings("u.data", &c.u_data).unwrap();
        assert_eq!(format_ratings(&ratings), c.u_data);
        assert!(convert("user_id:token\n", user, item).is_err());
    }

    fn wheel_with(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in files {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn refuses_tampered_bytes() {
        let good: &[u8] = b"196\t242\t3\t881250949\n";
        let wheel = wheel_with(&[("data/a.inter", good)]);
        let wheel_sha = sha256_hex(&wheel);
        let pins = [("data/a.inter", sha256_hex(good))];
        let pins: Vec<(&str, &str)> = pins.iter().map(|(p, s)| (*p, s.as_str())).collect();
        assert_eq!(
            extract_pinned(&wheel, &wheel_sha, &pins).unwrap(),
            vec![good.to_vec()]
        );

        // One flipped byte in the wheel: refused before it is opened.
        let mut tampered = wheel.clone();
        let last = tampered.len() - 30;
        tampered[last] ^= 1;
        assert!(matches!(
            extract_pinned(&tampered, &wheel_sha, &pins),
            Err(MovieLensError::Checksum { .. })
        ));
        // A wheel that is itself as pinned, holding a file that is not.
        let evil = wheel_with(&[("data/a.inter", b"196\t242\t5\t881250949\n")]);
        assert!(matches!(
            extract_pinned(&evil, &sha256_hex(&evil), &pins),
            Err(MovieLensError::Checksum { what, .. }) if what == "data/a.inter"
        ));
        // And the real pin refuses anything but the real wheel.
        assert!(matches!(
            extract_pinned(&wheel, WHEEL_SHA256, &WHEEL_FILES),
            Err(MovieLensError::Checksum { .. })
        ));
    }

    #[test]
    fn cache_directory_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(*v))
            }
        };
        assert_eq!(
            cache_root(env(&[("TRUFFLE_CACHE_DIR", "/c"), ("HOME", "/h")])),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            cache_root(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/truffle"))
        );
        assert_eq!(
            cache_root(env(&[("TRUFFLE_CACHE_DIR", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/truffle"))
        );
        assert_eq!(cache_root(env(&[])), None);
    }

    #[test]
    fn finds_the_wheel_in_either_pypi_listing() {
        let json = format!(
            r#"{{"urls": [{{"filename": "recbole-1.2.1.tar.gz", "url": "https://x/a.tar.gz"}}, {{"filename": "{WHEEL_FILE}", "url": "https://files.example/p/{WHEEL_FILE}"}}]}}"#
        );
        assert_eq!(
            wheel_url_from_json(json.as_bytes()).as_deref(),
            Some(format!("https://files.example/p/{WHEEL_FILE}").as_str())
        );
        let html = format!(
            r#"<a href="https://f/p/recbole-1.2.0-py3-none-any.whl#sha256=00">x</a><br/><a href="https://f/p/{WHEEL_FILE}#sha256=9c99" data-x="1">y</a>"#
        );
        assert_eq!(
            wheel_url_from_simple_index(&html),
            Some(format!("https://f/p/{WHEEL_FILE}"))
        );
    }
}
