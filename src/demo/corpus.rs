//! A generated catalogue, the demo's listings and the data search relevance is measured on: products named the way sellers on a
//! Korean limited-edition marketplace name them (Korean, English, both, model codes, sizes,
//! collaborations), each with the structured attributes it was generated from, so that
//! judgments can say which products a query should find without reading their text.
//!
//! The output depends only on `n` and `seed`, through the small PRNG here (not `rand`, whose
//! algorithms may change): the same inputs give the same catalogue forever, and a test pins it.

use uuid::Uuid;

use crate::search::index::IndexDoc;

/// A generated product: the document the index holds, and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusProduct {
    pub doc: IndexDoc,
    /// Stable brand key ("nike").
    pub brand: &'static str,
    /// Model family ("dunk").
    pub family: &'static str,
    /// Model ("dunk-low").
    pub model: &'static str,
    /// Colorway or edition ("panda"; "standard" when the item has none).
    pub colorway: &'static str,
    /// The category as indexed ("sneakers").
    pub category: &'static str,
    /// The collaboration partner, if the item is a collaboration ("travis-scott").
    pub collab: Option<&'static str>,
}

impl CorpusProduct {
    /// What a seller would post for it. The edition size is not part of the catalogue; it only
    /// has to be valid. Tags are kept within the catalogue's limits (10, of 30 characters).
    pub fn input(&self) -> crate::catalogue::ProductInput {
        let d = &self.doc;
        crate::catalogue::ProductInput {
            name: d.name.clone(),
            brand: d.brand.clone(),
            category: d.category.clone(),
            edition_size: 100 + (d.retail_price_krw / 1_000 % 900) as u32,
            retail_price_krw: d.retail_price_krw,
            description: d.description.clone(),
            sku: d.sku.clone(),
            image_sha256s: Vec::new(),
            tags: d
                .tags
                .iter()
                .filter(|t| t.chars().count() <= 30)
                .take(10)
                .cloned()
                .collect(),
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fixed forever.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with `percent`% probability.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// 2025-01-01T00:00:00Z: the first product's id time.
const BASE_MS: u64 = 1_735_689_600_000;

/// Generates `n` products from `seed`.
pub fn generate(n: usize, seed: u64) -> Vec<CorpusProduct> {
    let brands = catalogue();
    let total_weight: u32 = brands.iter().map(|b| b.weight).sum();
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut w = rng.below(total_weight as usize) as u32;
        let brand = brands
            .iter()
            .find(|b| {
                if w < b.weight {
                    true
                } else {
                    w -= b.weight;
                    false
                }
            })
            .expect("the weights add up");
        let family = rng.pick(&brand.families);
        let model = rng.pick(&family.models);
        let variant = *rng.pick(&model.variants);
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        random[8..].copy_from_slice(&rng.next_u64().to_le_bytes()[..2]);
        // About a minute apart, like listings trickling in.
        let ms = BASE_MS + i as u64 * 60_000 + rng.below(60_000) as u64;
        let id = uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid();
        let item = Item {
            brand,
            family,
            model,
            variant,
        };
        out.push(item.product(id, &mut rng));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The catalogue: brands, model families, models and their colorways (or editions).

#[derive(Debug, Clone, Copy)]
struct Cw {
    key: &'static str,
    ko: &'static str,
    en: &'static str,
    /// What buyers also call it ("역모카").
    alias: &'static str,
}

const fn cw(key: &'static str, ko: &'static str, en: &'static str) -> Cw {
    Cw {
        key,
        ko,
        en,
        alias: "",
    }
}

const fn cwa(key: &'static str, ko: &'static str, en: &'static str, alias: &'static str) -> Cw {
    Cw { key, ko, en, alias }
}

/// For items that come in one edition: nothing is said about colour.
const STANDARD: Cw = cw("standard", "", "");
const PANDA: Cw = cw("panda", "판다", "Panda");
const CHICAGO: Cw = cw("chicago", "시카고", "Chicago");
const BRED: Cw = cw("bred", "브레드", "Bred");
const MOCHA: Cw = cw("mocha", "모카", "Mocha");
const REVERSE_MOCHA: Cw = cwa("reverse-mocha", "리버스 모카", "Reverse Mocha", "역모카");
const OLIVE: Cw = cw("olive", "올리브", "Olive");
const CLOUD_WHITE: Cw = cw("cloud-white", "클라우드 화이트", "Cloud White");
const GREY: Cw = cw("grey", "그레이", "Grey");
const GREY_FOG: Cw = cw("grey-fog", "그레이 포그", "Grey Fog");
const BLACK: Cw = cw("black", "블랙", "Black");
const WHITE: Cw = cw("white", "화이트", "White");
const TRIPLE_WHITE: Cw = cw("triple-white", "트리플 화이트", "Triple White");
const NAVY: Cw = cw("navy", "네이비", "Navy");
const GREEN: Cw = cw("green", "그린", "Green");
const RED: Cw = cw("red", "레드", "Red");
const BLUE: Cw = cw("blue", "블루", "Blue");
const PINK: Cw = cw("pink", "핑크", "Pink");
const BROWN: Cw = cw("brown", "브라운", "Brown");
const CREAM: Cw = cw("cream", "크림", "Cream");
const SILVER: Cw = cw("silver", "실버", "Silver");
const UNIVERSITY_BLUE: Cw = cw("university-blue", "유니버시티 블루", "University Blue");
const MILITARY_BLACK: Cw = cw("military-black", "밀리터리 블랙", "Military Black");
const BLACK_CAT: Cw = cw("black-cat", "블랙 캣", "Black Cat");
const BLACK_TOE: Cw = cw("black-toe", "블랙 토", "Black Toe");
const CONCORD: Cw = cw("concord", "콩코드", "Concord");
const SILVER_BULLET: Cw = cw("silver-bullet", "실버 불릿", "Silver Bullet");
const INFRARED: Cw = cw("infrared", "인프라레드", "Infrared");
const ZEBRA: Cw = cw("zebra", "지브라", "Zebra");
const ONYX: Cw = cw("onyx", "오닉스", "Onyx");
const BONE: Cw = cw("bone", "본", "Bone");
const COAST: Cw = cw("coast", "코스트", "Coast");
const FOSSIL: Cw = cw("fossil", "포실", "Fossil");
const RAIN_CLOUD: Cw = cw("rain-cloud", "레인 클라우드", "Protection Pack Rain Cloud");
const WHITE_GREEN: Cw = cw("white-green", "화이트 그린", "White Green");
const STARBUCKS_BEZEL: Cw = cwa("starbucks", "스타벅스", "Starbucks", "그린 베젤");
const PEPSI: Cw = cw("pepsi", "펩시", "Pepsi");
const BATMAN: Cw = cw("batman", "배트맨", "Batman");
const MOON: Cw = cw(
    "mission-to-the-moon",
    "미션 투 더 문",
    "Mission to the Moon",
);
const MARS: Cw = cw("mission-to-mars", "미션 투 마스", "Mission to Mars");
const NEPTUNE: Cw = cw("mission-to-neptune", "미션 투 넵튠", "Mission to Neptune");
const KAWS: Cw = cw("kaws", "카우스", "KAWS Companion");
const BASQUIAT: Cw = cw("basquiat", "바스키아", "Jean-Michel Basquiat");
const WARHOL: Cw = cw("andy-warhol", "앤디 워홀", "Andy Warhol");
const CHROME: Cw = cw("chrome", "크롬", "Chrome");
const KOREAN_ED: Cw = cw("korean", "한국판", "Korean");
const JAPANESE_ED: Cw = cw("japanese", "일본판", "Japanese");
const SPACE_GRAY: Cw = cw("space-gray", "스페이스 그레이", "Space Gray");
const SKY_BLUE: Cw = cw("sky-blue", "스카이 블루", "Sky Blue");
const NATURAL_TITANIUM: Cw = cw("natural-titanium", "내추럴 티타늄", "Natural Titanium");
const BLACK_TITANIUM: Cw = cw("black-titanium", "블랙 티타늄", "Black Titanium");

#[derive(Debug, Clone, Copy)]
struct Collab {
    key: &'static str,
    ko: &'static str,
    en: &'static str,
}

const TRAVIS: Collab = Collab {
    key: "travis-scott",
    ko: "트래비스 스캇",
    en: "Travis Scott",
};
const STUSSY_X: Collab = Collab {
    key: "stussy",
    ko: "스투시",
    en: "Stussy",
};
const WALES_BONNER: Collab = Collab {
    key: "wales-bonner",
    ko: "웨일스 보너",
    en: "Wales Bonner",
};
const MM6: Collab = Collab {
    key: "mm6-maison-margiela",
    ko: "MM6 메종 마르지엘라",
    en: "MM6 Maison Margiela",
};
const ADER_X: Collab = Collab {
    key: "ader-error",
    ko: "아더에러",
    en: "Ader Error",
};
const CDG_PLAY: Collab = Collab {
    key: "comme-des-garcons-play",
    ko: "꼼데가르송 플레이",
    en: "Comme des Garcons PLAY",
};
const TNF_X: Collab = Collab {
    key: "the-north-face",
    ko: "노스페이스",
    en: "The North Face",
};
const JENNIE: Collab = Collab {
    key: "jennie",
    ko: "제니",
    en: "Jennie",
};
const OMEGA_X: Collab = Collab {
    key: "omega",
    ko: "오메가",
    en: "Omega",
};
const BLANCPAIN: Collab = Collab {
    key: "blancpain",
    ko: "블랑팡",
    en: "Blancpain",
};
const STANLEY: Collab = Collab {
    key: "stanley",
    ko: "스탠리",
    en: "Stanley",
};

#[derive(Debug, Clone, Copy)]
struct Variant {
    cw: Cw,
    /// The style code, or "".
    sku: &'static str,
    collab: Option<Collab>,
    /// Price against the model's, in percent.
    premium: u64,
}

fn v(cw: Cw, sku: &'static str) -> Variant {
    Variant {
        cw,
        sku,
        collab: None,
        premium: 100,
    }
}

fn x(cw: Cw, sku: &'static str, collab: Collab, premium: u64) -> Variant {
    Variant {
        cw,
        sku,
        collab: Some(collab),
        premium,
    }
}

struct Model {
    key: &'static str,
    ko: &'static str,
    en: &'static str,
    /// Words that some listings add after the model ("레트로"/"Retro").
    trim: (&'static str, &'static str),
    /// What buyers also call it ("보고" for the box logo hoodie).
    alias: &'static str,
    /// Retail price in won.
    price: u64,
    variants: Vec<Variant>,
}

fn m(
    key: &'static str,
    ko: &'static str,
    en: &'static str,
    price: u64,
    variants: Vec<Variant>,
) -> Model {
    Model {
        key,
        ko,
        en,
        trim: ("", ""),
        alias: "",
        price,
        variants,
    }
}

impl Model {
    fn trim(mut self, ko: &'static str, en: &'static str) -> Model {
        self.trim = (ko, en);
        self
    }
    fn alias(mut self, alias: &'static str) -> Model {
        self.alias = alias;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Size {
    Shoes,
    Clothes,
    None,
}

struct Family {
    key: &'static str,
    /// What the item is, in Korean ("스니커즈", "후드티").
    kind: &'static str,
    category: &'static str,
    size: Size,
    /// Sentences a description may include.
    blurbs: &'static [&'static str],
    tags: &'static [&'static str],
    models: Vec<Model>,
}

#[allow(clippy::too_many_arguments)]
fn f(
    key: &'static str,
    kind: &'static str,
    category: &'static str,
    size: Size,
    blurbs: &'static [&'static str],
    tags: &'static [&'static str],
    models: Vec<Model>,
) -> Family {
    Family {
        key,
        kind,
        category,
        size,
        blurbs,
        tags,
        models,
    }
}

struct Brand {
    key: &'static str,
    ko: &'static str,
    en: &'static str,
    /// Another English spelling sellers use ("Arcteryx", "BE@RBRICK").
    alt_en: &'static str,
    /// The short Korean name buyers use ("뉴발", "스벅").
    nick: &'static str,
    /// The brand a listing may name instead (Nike for Jordan).
    parent: Option<(&'static str, &'static str)>,
    weight: u32,
    families: Vec<Family>,
}

fn b(
    key: &'static str,
    ko: &'static str,
    en: &'static str,
    weight: u32,
    families: Vec<Family>,
) -> Brand {
    Brand {
        key,
        ko,
        en,
        alt_en: "",
        nick: "",
        parent: None,
        weight,
        families,
    }
}

impl Brand {
    fn alt(mut self, alt: &'static str) -> Brand {
        self.alt_en = alt;
        self
    }
    fn nick(mut self, nick: &'static str) -> Brand {
        self.nick = nick;
        self
    }
    fn parent(mut self, ko: &'static str, en: &'static str) -> Brand {
        self.parent = Some((ko, en));
        self
    }
}

const RUNNING: &[&str] = &[
    "가벼운 쿠셔닝으로 데일리 러닝화로도 좋습니다.",
    "장거리 러닝에도 편안한 착화감을 자랑합니다.",
];
const SNEAKER: &[&str] = &[
    "어떤 코디에도 잘 어울리는 스니커즈입니다.",
    "발매 직후 품절된 인기 스니커즈입니다.",
];
const APPAREL: &[&str] = &[
    "오버핏으로 편하게 입기 좋습니다.",
    "시즌 드롭 당일 완판된 제품입니다.",
];
const OUTER: &[&str] = &[
    "방수와 방풍 기능이 뛰어난 아우터입니다.",
    "겨울철 데일리 아우터로 추천합니다.",
];
const WATCH: &[&str] = &[
    "국내 매장에서 구하기 어려운 시계입니다.",
    "보증서와 박스 풀구성 시계입니다.",
];
const TOY: &[&str] = &[
    "컬렉터에게 인기 있는 단종 제품입니다.",
    "미개봉 박스 상태로 보관했습니다.",
];
const GADGET: &[&str] = &[
    "미개봉 새제품, 국내 정발 제품입니다.",
    "한정 수량으로 출시된 에디션입니다.",
];

const DESIGNER: &[&str] = &[
    "메종의 아이코닉한 디자인을 담은 신발입니다.",
    "더스트백과 박스가 포함되어 있습니다.",
];
const ACCESSORY: &[&str] = &[
    "데일리로 착용하기 좋은 아이템입니다.",
    "시즌 드롭 당일 완판된 제품입니다.",
];
const EYEWEAR: &[&str] = &[
    "자외선 차단 렌즈가 적용된 선글라스입니다.",
    "전용 케이스와 보증 카드가 포함되어 있습니다.",
];
const BAGS: &[&str] = &[
    "수납공간이 넉넉해 데일리백으로 좋습니다.",
    "더스트백이 포함되어 있습니다.",
];

// One line per model: key, Korean name, English name, retail price, variants (colourway, style
// code, collaboration). Kept as a table, not as rustfmt would spread it.
#[rustfmt::skip]
fn catalogue() -> Vec<Brand> {
    use Size::{Clothes, Shoes};
    vec![
        b("nike", "나이키", "Nike", 12, vec![
            f("dunk", "스니커즈", "sneakers", Shoes, SNEAKER, &["덩크", "dunk", "레트로", "retro"], vec![
                m("dunk-low", "덩크 로우", "Dunk Low", 139_000, vec![
                    v(PANDA, "DD1391-100"), v(GREY_FOG, "DD1391-103"), v(CHICAGO, "DZ2536-600"),
                    v(COAST, "DD1503-100"), v(OLIVE, "DV0833-101"),
                ]).trim("레트로", "Retro"),
                m("dunk-high", "덩크 하이", "Dunk High", 159_000, vec![
                    v(PANDA, "DD1399-105"), v(NAVY, "DD1399-104"), v(GREY, "DD1399-106"), v(BLACK, "DD1399-103"),
                ]).trim("레트로", "Retro"),
                m("sb-dunk-low", "SB 덩크 로우 프로", "SB Dunk Low Pro", 149_000, vec![
                    v(BLACK, "BQ6817-010"), v(GREY, "BQ6817-004"), v(OLIVE, "BQ6817-302"),
                ]),
            ]),
            f("air-force-1", "스니커즈", "sneakers", Shoes, SNEAKER, &["에어포스", "af1", "화이트 스니커즈"], vec![
                m("air-force-1-low", "에어 포스 1 로우", "Air Force 1 Low", 139_000, vec![
                    v(WHITE, "CW2288-111"), v(BLACK, "CW2288-001"),
                    x(FOSSIL, "CZ9084-200", STUSSY_X, 180), x(BLACK, "CZ9084-001", STUSSY_X, 170),
                ]).trim("'07", "'07"),
                m("air-force-1-mid", "에어 포스 1 미드", "Air Force 1 Mid", 149_000, vec![
                    v(WHITE, "CW2289-111"), v(BLACK, "CW2289-001"),
                ]).trim("'07", "'07"),
            ]),
            f("air-max", "스니커즈", "sneakers", Shoes, RUNNING, &["에어맥스", "airmax", "running"], vec![
                m("air-max-1", "에어 맥스 1", "Air Max 1", 169_000, vec![
                    v(RED, "FD2370-100"), v(WHITE, "FZ5808-100"), v(BLACK, "FZ5808-001"),
                ]).trim("'86 OG", "'86 OG"),
                m("air-max-90", "에어 맥스 90", "Air Max 90", 169_000, vec![
                    v(INFRARED, "CT1685-100"), v(TRIPLE_WHITE, "CN8490-100"), v(BLACK, "CN8490-003"),
                ]),
                m("air-max-97", "에어 맥스 97", "Air Max 97", 219_000, vec![
                    v(SILVER_BULLET, "DM0028-002"), v(TRIPLE_WHITE, "921826-101"), v(BLACK, "921826-001"),
                ]).trim("OG", "OG"),
            ]),
        ]),
        b("jordan", "조던", "Jordan", 10, vec![
            f("jordan-1", "스니커즈", "sneakers", Shoes, SNEAKER, &["조던1", "aj1", "retro", "농구화"], vec![
                m("jordan-1-high-og", "에어 조던 1 레트로 하이 OG", "Air Jordan 1 Retro High OG", 219_000, vec![
                    v(CHICAGO, "DZ5485-612"), v(BRED, "555088-063"), v(UNIVERSITY_BLUE, "555088-134"),
                    x(MOCHA, "CD4487-100", TRAVIS, 700),
                ]),
                m("jordan-1-low-og", "에어 조던 1 로우 OG", "Air Jordan 1 Low OG", 169_000, vec![
                    x(REVERSE_MOCHA, "DM7866-162", TRAVIS, 600), x(OLIVE, "DZ4137-106", TRAVIS, 450),
                    v(BLACK_TOE, "CZ0790-106"), v(CHICAGO, "CZ0790-160"),
                ]),
                m("jordan-1-mid", "에어 조던 1 미드", "Air Jordan 1 Mid", 159_000, vec![
                    v(CHICAGO, "554724-069"), v(BRED, "554724-074"), v(GREY, "554724-092"), v(PANDA, "554724-040"),
                ]),
            ]),
            f("jordan-4", "스니커즈", "sneakers", Shoes, SNEAKER, &["조던4", "aj4", "retro", "농구화"], vec![
                m("jordan-4-retro", "에어 조던 4 레트로", "Air Jordan 4 Retro", 229_000, vec![
                    v(BRED, "FV5029-006"), v(MILITARY_BLACK, "DH6927-111"), v(BLACK_CAT, "CU1110-010"),
                    v(UNIVERSITY_BLUE, "CT8527-400"),
                ]),
            ]),
            f("jordan-11", "스니커즈", "sneakers", Shoes, SNEAKER, &["조던11", "aj11", "농구화"], vec![
                m("jordan-11-retro", "에어 조던 11 레트로", "Air Jordan 11 Retro", 239_000, vec![
                    v(BRED, "378037-061"), v(CONCORD, "378037-100"),
                ]),
            ]),
        ]).parent("나이키", "Nike"),
        b("adidas", "아디다스", "Adidas", 8, vec![
            f("samba", "스니커즈", "sneakers", Shoes, SNEAKER, &["삼바", "samba", "테라스", "terrace"], vec![
                m("samba-og", "삼바 OG", "Samba OG", 139_000, vec![
                    v(CLOUD_WHITE, "B75806"), v(BLACK, "B75807"), x(CREAM, "IE0578", WALES_BONNER, 220),
                ]),
            ]),
            f("gazelle", "스니커즈", "sneakers", Shoes, SNEAKER, &["가젤", "gazelle", "terrace"], vec![
                m("gazelle", "가젤", "Gazelle", 129_000, vec![v(NAVY, "BB5478"), v(GREEN, "BB5477"), v(BLACK, "BB5476")]),
                m("gazelle-indoor", "가젤 인도어", "Gazelle Indoor", 149_000, vec![v(BLUE, "H06260"), v(CLOUD_WHITE, "IG1643")]),
            ]),
            f("yeezy", "스니커즈", "sneakers", Shoes, SNEAKER, &["이지", "yeezy", "부스트"], vec![
                m("yeezy-boost-350-v2", "이지 부스트 350 V2", "Yeezy Boost 350 V2", 289_000, vec![
                    v(ZEBRA, "CP9654"), v(ONYX, "HQ4540"), v(BONE, "HQ6316"), v(BRED, "CP9652"),
                ]),
                m("yeezy-slide", "이지 슬라이드", "Yeezy Slide", 99_000, vec![v(ONYX, "HQ6448"), v(BONE, "FZ5897")]),
            ]),
            f("campus", "스니커즈", "sneakers", Shoes, SNEAKER, &["캠퍼스", "campus"], vec![
                m("campus-00s", "캠퍼스 00s", "Campus 00s", 139_000, vec![v(BLACK, "HQ8708"), v(GREY, "HQ8707")]),
            ]),
        ]),
        b("new-balance", "뉴발란스", "New Balance", 7, vec![
            f("made-in-usa", "스니커즈", "sneakers", Shoes, RUNNING, &["메이드인usa", "made in usa", "대디슈즈"], vec![
                m("990v6", "990v6", "990v6", 259_000, vec![v(GREY, "U990GR6"), v(BLACK, "U990BK6"), v(NAVY, "U990NV6")]),
                m("992", "992", "992", 279_000, vec![v(GREY, "M992GR"), v(NAVY, "M992GG")]),
                m("993", "993", "993", 259_000, vec![v(GREY, "MR993GL"), v(NAVY, "MR993NV")]),
            ]),
            f("2002r", "스니커즈", "sneakers", Shoes, RUNNING, &["2002r", "프로텍션팩"], vec![
                m("2002r", "2002R", "2002R", 169_000, vec![v(RAIN_CLOUD, "M2002RDA"), v(GREY, "ML2002R0"), v(BLACK, "M2002RBK")]),
            ]),
            f("nb-lifestyle", "스니커즈", "sneakers", Shoes, SNEAKER, &["데일리", "daily"], vec![
                m("530", "530", "530", 119_000, vec![v(WHITE, "MR530SG"), v(SILVER, "MR530KA")]),
                m("550", "550", "550", 139_000, vec![v(WHITE_GREEN, "BB550WT1"), v(WHITE, "BB550PB1")]),
            ]),
        ]).nick("뉴발"),
        b("asics", "아식스", "Asics", 4, vec![
            f("gel-kayano", "러닝화", "sneakers", Shoes, RUNNING, &["러닝", "running", "y2k"], vec![
                m("gel-kayano-14", "젤 카야노 14", "Gel-Kayano 14", 189_000, vec![
                    v(CREAM, "1201A019-108"), v(SILVER, "1201A019-107"), v(BLACK, "1201A019-006"),
                ]),
            ]),
            f("gel-1130", "러닝화", "sneakers", Shoes, RUNNING, &["러닝", "y2k"], vec![
                m("gel-1130", "젤 1130", "Gel-1130", 119_000, vec![v(WHITE, "1201A256-115"), v(BLACK, "1201A256-002")]),
                m("gel-nyc", "젤 NYC", "Gel-NYC", 159_000, vec![v(GREY, "1201A789-020"), v(CREAM, "1201A789-750")]),
            ]),
        ]),
        b("salomon", "살로몬", "Salomon", 3, vec![
            f("trail", "트레일 러닝화", "sneakers", Shoes, RUNNING, &["고프코어", "gorpcore", "트레일"], vec![
                m("xt-6", "XT-6", "XT-6", 239_000, vec![v(BLACK, "L41086600"), v(WHITE, "L41252900"), x(BLACK, "L47219500", MM6, 240)]),
                m("acs-pro", "ACS 프로", "ACS Pro", 229_000, vec![v(BLACK, "L47179800"), v(GREY, "L47298100")]),
                m("speedcross-3", "스피드크로스 3", "Speedcross 3", 179_000, vec![v(BLACK, "L41164600")]),
            ]),
        ]),
        b("hoka", "호카", "Hoka", 3, vec![
            f("hoka-running", "러닝화", "sneakers", Shoes, RUNNING, &["러닝", "running", "쿠셔닝"], vec![
                m("bondi-8", "본디 8", "Bondi 8", 219_000, vec![v(BLACK, "1123202-BBLC"), v(WHITE, "1123202-WWH")]),
                m("clifton-9", "클리프톤 9", "Clifton 9", 199_000, vec![v(BLACK, "1127895-BBLC"), v(WHITE, "1127895-WWH")]),
                m("mafate-speed-2", "마파테 스피드 2", "Mafate Speed 2", 219_000, vec![v(BLACK, "1126851-BLK")]),
            ]),
        ]),
        b("puma", "푸마", "Puma", 2, vec![
            f("speedcat", "스니커즈", "sneakers", Shoes, SNEAKER, &["스피드캣", "speedcat", "레이싱"], vec![
                m("speedcat-og", "스피드캣 OG", "Speedcat OG", 129_000, vec![
                    v(RED, "398846-02"), v(BLACK, "398846-01"), x(BLUE, "402301-01", ADER_X, 160),
                ]),
            ]),
            f("palermo", "스니커즈", "sneakers", Shoes, SNEAKER, &["팔레르모", "terrace"], vec![
                m("palermo", "팔레르모", "Palermo", 109_000, vec![v(GREEN, "396463-01"), v(NAVY, "396463-02")]),
            ]),
        ]),
        b("converse", "컨버스", "Converse", 2, vec![
            f("chuck", "스니커즈", "sneakers", Shoes, SNEAKER, &["척테일러", "chuck taylor"], vec![
                m("chuck-70", "척 70", "Chuck 70", 95_000, vec![
                    v(BLACK, "162050C"), v(WHITE, "162053C"),
                    x(BLACK, "150204C", CDG_PLAY, 160), x(WHITE, "150205C", CDG_PLAY, 160),
                ]),
                m("run-star-hike", "런스타 하이크", "Run Star Hike", 119_000, vec![v(BLACK, "166800C"), v(WHITE, "166799C")]),
            ]),
        ]),
        b("supreme", "슈프림", "Supreme", 5, vec![
            f("box-logo", "후드티", "apparel", Clothes, APPAREL, &["박스로고", "bogo", "streetwear", "스트릿"], vec![
                m("box-logo-hoodie", "박스 로고 후드티", "Box Logo Hooded Sweatshirt", 238_000, vec![
                    v(BLACK, ""), v(GREY, ""), v(NAVY, ""), v(RED, ""),
                ]).alias("보고"),
                m("box-logo-tee", "박스 로고 티셔츠", "Box Logo Tee", 68_000, vec![v(WHITE, ""), v(BLACK, "")]),
            ]),
            f("supreme-outerwear", "아우터", "apparel", Clothes, OUTER, &["streetwear", "콜라보"], vec![
                m("supreme-nuptse", "눕시 재킷", "Nuptse Jacket", 498_000, vec![x(BLACK, "", TNF_X, 120), x(RED, "", TNF_X, 120)]),
            ]),
            f("supreme-bags", "가방", "bags", Size::None, BAGS, &["가방", "bag"], vec![
                m("supreme-shoulder-bag", "숄더백", "Shoulder Bag", 68_000, vec![v(BLACK, ""), v(RED, "")]),
            ]),
        ]),
        b("stussy", "스투시", "Stussy", 4, vec![
            f("stussy-tees", "티셔츠", "apparel", Clothes, APPAREL, &["반팔", "tee", "스트릿"], vec![
                m("8-ball-tee", "8볼 티셔츠", "8 Ball Tee", 65_000, vec![v(BLACK, ""), v(WHITE, "")]),
                m("basic-stussy-tee", "베이직 스투시 티셔츠", "Basic Stussy Tee", 59_000, vec![v(BLACK, ""), v(WHITE, ""), v(GREY, "")]),
            ]),
            f("stussy-hoodies", "후드티", "apparel", Clothes, APPAREL, &["후드", "hoodie", "스트릿"], vec![
                m("basic-stussy-hoodie", "베이직 스투시 후드티", "Basic Stussy Hoodie", 159_000, vec![v(BLACK, ""), v(GREY, ""), v(NAVY, "")]),
                m("8-ball-hoodie", "8볼 집업 후드티", "8 Ball Zip Hoodie", 189_000, vec![v(BLACK, "")]),
            ]),
            f("stussy-caps", "모자", "accessories", Size::None, ACCESSORY, &["볼캡", "cap"], vec![
                m("stock-logo-cap", "스탁 로고 볼캡", "Stock Logo Cap", 59_000, vec![v(BLACK, ""), v(NAVY, "")]),
            ]),
        ]),
        b("arcteryx", "아크테릭스", "Arc'teryx", 3, vec![
            f("arcteryx-jackets", "재킷", "apparel", Clothes, OUTER, &["고어텍스", "gore-tex", "고프코어", "gorpcore"], vec![
                m("beta-lt", "베타 LT 재킷", "Beta LT Jacket", 650_000, vec![v(BLACK, "X000007301"), v(GREY, "X000007302"), v(NAVY, "X000007303")]),
                m("beta-ar", "베타 AR 재킷", "Beta AR Jacket", 850_000, vec![v(BLACK, "X000007082")]),
                m("alpha-sv", "알파 SV 재킷", "Alpha SV Jacket", 1_100_000, vec![v(BLACK, "X000007555")]),
                m("atom-hoody", "아톰 후디", "Atom Hoody", 350_000, vec![v(BLACK, "X000007487"), v(GREY, "X000007488")]),
            ]),
            f("arcteryx-bags", "가방", "bags", Size::None, BAGS, &["힙색", "waist pack"], vec![
                m("mantis-2", "맨티스 2 웨이스트 팩", "Mantis 2 Waist Pack", 65_000, vec![v(BLACK, "X000006100"), v(GREY, "X000006101")]),
            ]),
        ]).alt("Arcteryx"),
        b("stone-island", "스톤아일랜드", "Stone Island", 3, vec![
            f("stone-island-apparel", "맨투맨", "apparel", Clothes, APPAREL, &["와펜", "badge"], vec![
                m("si-crewneck", "크루넥 맨투맨", "Crewneck Sweatshirt", 490_000, vec![
                    v(BLACK, "791563020"), v(NAVY, "791563020-V0020"), v(GREY, "791563020-V0M64"),
                ]),
                m("si-soft-shell", "소프트쉘 R 재킷", "Soft Shell-R Jacket", 1_100_000, vec![v(BLACK, "791540927"), v(OLIVE, "791540927-V0058")]),
            ]),
            f("stone-island-caps", "모자", "accessories", Size::None, ACCESSORY, &["와펜", "볼캡"], vec![
                m("si-cap", "와펜 볼캡", "Logo Patch Cap", 220_000, vec![v(BLACK, ""), v(NAVY, "")]),
            ]),
        ]),
        b("the-north-face", "노스페이스", "The North Face", 3, vec![
            f("tnf-outerwear", "패딩", "apparel", Clothes, OUTER, &["패딩", "down jacket", "눕시"], vec![
                m("1996-nuptse", "1996 레트로 눕시 재킷", "1996 Retro Nuptse Jacket", 399_000, vec![
                    v(BLACK, "NJ1DQ85A"), v(NAVY, "NJ1DQ85B"), v(BROWN, "NJ1DQ85C"),
                ]),
                m("himalayan-parka", "히말라얀 파카", "Himalayan Parka", 599_000, vec![v(BLACK, "NJ1DP75A")]),
            ]),
        ]),
        b("maison-margiela", "메종 마르지엘라", "Maison Margiela", 2, vec![
            f("margiela-shoes", "신발", "shoes", Shoes, DESIGNER, &["타비", "tabi", "디자이너"], vec![
                m("tabi-boots", "타비 부츠", "Tabi Boots", 1_690_000, vec![v(BLACK, "S58WU0260"), v(WHITE, "S58WU0260-W")]),
                m("tabi-ballerina", "타비 발레리나", "Tabi Ballerina", 1_290_000, vec![v(BLACK, "S58WZ0042")]),
            ]),
            f("margiela-sneakers", "스니커즈", "sneakers", Shoes, SNEAKER, &["독일군", "gat", "디자이너"], vec![
                m("replica-sneakers", "레플리카 스니커즈", "Replica Sneakers", 790_000, vec![v(WHITE, "S57WS0236"), v(GREY, "S57WS0236-G")]),
            ]),
            f("margiela-bags", "가방", "bags", Size::None, BAGS, &["가방", "디자이너"], vec![
                m("5ac-bag", "5AC 백", "5AC Bag", 2_900_000, vec![v(BLACK, "S56WG0081")]),
                m("glam-slam", "글램 슬램 백", "Glam Slam Bag", 2_400_000, vec![v(BLACK, "SB1WG0014"), v(CREAM, "SB1WG0014-C")]),
            ]),
        ]),
        b("gentle-monster", "젠틀몬스터", "Gentle Monster", 2, vec![
            f("sunglasses", "선글라스", "eyewear", Size::None, EYEWEAR, &["선글라스", "sunglasses"], vec![
                m("lilit", "릴리트", "Lilit", 269_000, vec![v(BLACK, "LILIT-01"), v(BROWN, "LILIT-BRC1")]),
                m("her", "허", "Her", 269_000, vec![v(BLACK, "HER-01")]),
                m("jentle-garden", "젠틀 가든", "Jentle Garden", 299_000, vec![x(BLACK, "JG-01", JENNIE, 130), x(BROWN, "JG-BRC1", JENNIE, 130)]),
            ]),
        ]),
        b("ader-error", "아더에러", "Ader Error", 2, vec![
            f("ader-apparel", "의류", "apparel", Clothes, APPAREL, &["아더", "스트릿", "streetwear"], vec![
                m("ader-logo-tee", "로고 티셔츠", "Logo T-shirt", 129_000, vec![v(BLUE, ""), v(BLACK, ""), v(WHITE, "")]),
                m("ader-logo-hoodie", "로고 후드티", "Logo Hoodie", 289_000, vec![v(BLUE, ""), v(BLACK, "")]),
            ]),
            f("ader-caps", "모자", "accessories", Size::None, ACCESSORY, &["볼캡", "cap"], vec![
                m("ader-cap", "로고 볼캡", "Logo Cap", 99_000, vec![v(BLUE, ""), v(BLACK, "")]),
            ]),
        ]),
        b("lego", "레고", "LEGO", 3, vec![
            f("lego-star-wars", "레고 세트", "toys", Size::None, TOY, &["스타워즈", "star wars", "ucs"], vec![
                m("75192", "75192 밀레니엄 팔콘", "75192 Millennium Falcon", 1_049_000, vec![v(STANDARD, "75192")]).trim("UCS", "UCS"),
                m("75313", "75313 AT-AT", "75313 AT-AT", 1_199_000, vec![v(STANDARD, "75313")]),
                m("75331", "75331 레이저 크레스트", "75331 The Razor Crest", 799_000, vec![v(STANDARD, "75331")]),
            ]),
            f("lego-icons", "레고 세트", "toys", Size::None, TOY, &["아이콘즈", "icons"], vec![
                m("10497", "10497 갤럭시 익스플로러", "10497 Galaxy Explorer", 149_000, vec![v(STANDARD, "10497")]),
                m("10316", "10316 반지의 제왕 리븐델", "10316 The Lord of the Rings: Rivendell", 699_000, vec![v(STANDARD, "10316")]),
            ]),
            f("lego-technic", "레고 세트", "toys", Size::None, TOY, &["테크닉", "technic", "슈퍼카"], vec![
                m("42143", "42143 페라리 데이토나 SP3", "42143 Ferrari Daytona SP3", 599_000, vec![v(STANDARD, "42143")]),
            ]),
        ]),
        b("bearbrick", "베어브릭", "Bearbrick", 2, vec![
            f("bearbrick-figures", "피규어", "collectibles", Size::None, TOY, &["피규어", "figure", "메디콤토이", "medicom"], vec![
                m("bearbrick-1000", "1000%", "1000%", 890_000, vec![v(KAWS, ""), v(BASQUIAT, ""), v(WARHOL, ""), v(CHROME, "")]),
                m("bearbrick-400", "100% & 400% 세트", "100% & 400% Set", 290_000, vec![v(KAWS, ""), v(BASQUIAT, ""), v(WARHOL, ""), v(CHROME, "")]),
            ]),
        ]).alt("BE@RBRICK"),
        b("pokemon", "포켓몬", "Pokémon", 3, vec![
            f("pokemon-cards", "카드 박스", "collectibles", Size::None, TOY, &["포켓몬카드", "tcg", "부스터박스"], vec![
                m("sv-151", "카드 게임 151 부스터 박스", "Card Game 151 Booster Box", 64_000, vec![v(KOREAN_ED, ""), v(JAPANESE_ED, "")]),
                m("shiny-treasure", "샤이니 트레저 ex 부스터 박스", "Shiny Treasure ex Booster Box", 54_000, vec![v(KOREAN_ED, ""), v(JAPANESE_ED, "")]),
                m("terastal-festival", "테라스탈 페스타 ex 부스터 박스", "Terastal Festival ex Booster Box", 59_000, vec![v(KOREAN_ED, ""), v(JAPANESE_ED, "")]),
            ]),
            f("pokemon-plush", "인형", "toys", Size::None, TOY, &["인형", "plush", "포켓몬센터"], vec![
                m("pikachu-plush", "피카츄 인형", "Pikachu Plush", 35_000, vec![v(STANDARD, "")]),
                m("eevee-plush", "이브이 인형", "Eevee Plush", 35_000, vec![v(STANDARD, "")]),
            ]),
        ]).alt("Pokemon"),
        b("rolex", "롤렉스", "Rolex", 2, vec![
            f("submariner", "시계", "watches", Size::None, WATCH, &["다이버", "diver", "명품시계"], vec![
                m("submariner-date", "서브마리너 데이트", "Submariner Date", 14_500_000, vec![v(BLACK, "126610LN"), v(STARBUCKS_BEZEL, "126610LV")]).alias("섭마"),
                m("submariner-no-date", "서브마리너 논데이트", "Submariner No Date", 12_000_000, vec![v(BLACK, "124060")]).alias("섭마"),
            ]),
            f("daytona", "시계", "watches", Size::None, WATCH, &["크로노그래프", "chronograph", "명품시계"], vec![
                m("daytona", "코스모그래프 데이토나", "Cosmograph Daytona", 21_000_000, vec![v(PANDA, "126500LN"), v(BLACK, "126500LN-B")]),
            ]),
            f("gmt-master", "시계", "watches", Size::None, WATCH, &["gmt", "명품시계"], vec![
                m("gmt-master-ii", "GMT 마스터 2", "GMT-Master II", 15_000_000, vec![v(PEPSI, "126710BLRO"), v(BATMAN, "126710BLNR")]),
            ]),
        ]),
        b("omega", "오메가", "Omega", 1, vec![
            f("omega-watches", "시계", "watches", Size::None, WATCH, &["명품시계", "크로노그래프"], vec![
                m("speedmaster", "스피드마스터 문워치 프로페셔널", "Speedmaster Moonwatch Professional", 9_800_000, vec![v(BLACK, "310.30.42.50.01.001")]),
                m("seamaster", "씨마스터 다이버 300M", "Seamaster Diver 300M", 7_500_000, vec![v(BLUE, "210.30.42.20.03.001"), v(BLACK, "210.30.42.20.01.001")]),
            ]),
        ]),
        b("swatch", "스와치", "Swatch", 2, vec![
            f("swatch-collabs", "시계", "watches", Size::None, WATCH, &["바이오세라믹", "bioceramic", "콜라보"], vec![
                m("moonswatch", "문스와치", "MoonSwatch", 339_000, vec![
                    x(MOON, "SO33M100", OMEGA_X, 100), x(MARS, "SO33R100", OMEGA_X, 100), x(NEPTUNE, "SO33N100", OMEGA_X, 100),
                ]),
                m("scuba-fifty-fathoms", "스쿠바 피프티 패덤즈", "Scuba Fifty Fathoms", 399_000, vec![
                    x(BLUE, "SO35P100", BLANCPAIN, 100), x(BLACK, "SO35A100", BLANCPAIN, 100),
                ]),
            ]),
        ]),
        b("starbucks", "스타벅스", "Starbucks", 2, vec![
            f("e-frequency", "굿즈", "lifestyle", Size::None, GADGET, &["e프리퀀시", "굿즈", "사은품"], vec![
                m("ready-bag", "서머 e-프리퀀시 레디백", "Summer e-Frequency Ready Bag", 45_000, vec![v(GREEN, ""), v(PINK, "")]),
                m("camping-chair", "서머 e-프리퀀시 캠핑 체어", "Summer e-Frequency Camping Chair", 49_000, vec![v(GREEN, ""), v(CREAM, "")]),
            ]),
            f("tumblers", "텀블러", "lifestyle", Size::None, GADGET, &["텀블러", "tumbler"], vec![
                m("cherry-blossom-tumbler", "체리블라썸 텀블러", "Cherry Blossom Tumbler", 39_000, vec![v(PINK, "")]),
                m("stanley-quencher", "퀜처 텀블러", "Quencher Tumbler", 65_000, vec![x(PINK, "", STANLEY, 100), x(GREEN, "", STANLEY, 100)]),
            ]),
        ]).nick("스벅"),
        b("apple", "애플", "Apple", 2, vec![
            f("audio", "헤드폰", "electronics", Size::None, GADGET, &["노이즈캔슬링", "헤드폰"], vec![
                m("airpods-max", "에어팟 맥스", "AirPods Max", 769_000, vec![v(SILVER, "MGYJ3KH/A"), v(SPACE_GRAY, "MGYH3KH/A"), v(SKY_BLUE, "MGYL3KH/A")]),
                m("airpods-pro-2", "에어팟 프로 2", "AirPods Pro 2", 359_000, vec![v(WHITE, "MTJV3KH/A")]),
            ]),
            f("apple-watch", "스마트워치", "electronics", Size::None, GADGET, &["스마트워치", "smartwatch"], vec![
                m("apple-watch-ultra-2", "애플워치 울트라 2", "Apple Watch Ultra 2", 1_149_000, vec![v(NATURAL_TITANIUM, "MX4E3KH/A"), v(BLACK_TITANIUM, "MX4V3KH/A")]),
            ]),
        ]),
        b("sony", "소니", "Sony", 2, vec![
            f("playstation", "게임기", "electronics", Size::None, GADGET, &["플스", "게임기", "콘솔"], vec![
                m("ps5-30th", "플레이스테이션 5 30주년 기념 에디션", "PlayStation 5 30th Anniversary Edition", 999_000, vec![v(GREY, "CFI-2000 30th")]).alias("플스5"),
                m("ps5-pro", "PS5 프로", "PS5 Pro", 1_118_000, vec![v(WHITE, "CFI-7000")]).alias("플스5 프로"),
                m("dualsense-30th", "듀얼센스 30주년 에디션", "DualSense 30th Anniversary Edition", 119_000, vec![v(GREY, "CFI-ZCT1W 30th")]),
            ]),
            f("sony-audio", "헤드폰", "electronics", Size::None, GADGET, &["노이즈캔슬링", "헤드폰"], vec![
                m("wh-1000xm5", "WH-1000XM5", "WH-1000XM5", 449_000, vec![v(BLACK, "WH-1000XM5/B"), v(SILVER, "WH-1000XM5/S")]),
            ]),
        ]),
        b("nintendo", "닌텐도", "Nintendo", 2, vec![
            f("switch", "게임기", "electronics", Size::None, GADGET, &["게임기", "스위치", "switch"], vec![
                m("switch-oled-zelda", "스위치 OLED 젤다의 전설 티어스 오브 더 킹덤 에디션", "Switch OLED The Legend of Zelda: Tears of the Kingdom Edition", 459_000, vec![v(STANDARD, "HEG-S-KDAAA")]),
                m("switch-oled-pokemon", "스위치 OLED 포켓몬 스칼렛 바이올렛 에디션", "Switch OLED Pokémon Scarlet & Violet Edition", 459_000, vec![v(STANDARD, "HEG-S-KEAAA")]),
                m("switch-2", "스위치 2", "Switch 2", 648_000, vec![v(STANDARD, "BEE-S-KAAAA")]),
            ]),
        ]),
    ]
}

// ---------------------------------------------------------------------------------------------
// Writing a listing.

struct Item<'a> {
    brand: &'a Brand,
    family: &'a Family,
    model: &'a Model,
    variant: Variant,
}

impl Item<'_> {
    fn product(&self, id: Uuid, rng: &mut SplitMix64) -> CorpusProduct {
        let name = self.name(rng);
        let brand = self.brand_field(rng);
        let description = self.description(rng);
        let tags = self.tags(rng);
        let sku =
            (!self.variant.sku.is_empty() && rng.chance(75)).then(|| self.variant.sku.to_owned());
        let spread = 85 + rng.below(56) as u64; // 85–140 % of retail
        let price = self.model.price * self.variant.premium / 100 * spread / 100;
        let price = (price / 1_000).max(1) * 1_000;
        let verified = rng.chance(70);
        CorpusProduct {
            doc: IndexDoc {
                id,
                name,
                brand,
                category: self.family.category.to_owned(),
                description,
                tags,
                sku,
                retail_price_krw: price,
                verified,
                raffle: None,
            },
            brand: self.brand.key,
            family: self.family.key,
            model: self.model.key,
            colorway: self.variant.cw.key,
            category: self.family.category,
            collab: self.variant.collab.map(|c| c.key),
        }
    }

    fn brand_en(&self, rng: &mut SplitMix64) -> &'static str {
        if !self.brand.alt_en.is_empty() && rng.chance(35) {
            self.brand.alt_en
        } else {
            self.brand.en
        }
    }

    /// The seller's brand field: English, Korean, or both.
    fn brand_field(&self, rng: &mut SplitMix64) -> String {
        if let Some((ko, en)) = self.brand.parent
            && rng.chance(20)
        {
            return if rng.chance(50) {
                en.to_owned()
            } else {
                ko.to_owned()
            };
        }
        match rng.below(20) {
            0..=10 => self.brand_en(rng).to_owned(),
            11..=16 => self.brand.ko.to_owned(),
            _ => format!("{}({})", self.brand.ko, self.brand_en(rng)),
        }
    }

    /// A listing title in one of the styles sellers use.
    fn name(&self, rng: &mut SplitMix64) -> String {
        let (b, m, v) = (self.brand, self.model, self.variant);
        let trim = !m.trim.0.is_empty() && rng.chance(50);
        // Sellers often write Korean model names without spaces ("덩크로우").
        let squeeze = rng.chance(20);
        let model_ko = {
            let s = if trim {
                format!("{} {}", m.ko, m.trim.0)
            } else {
                m.ko.to_owned()
            };
            if squeeze { squeeze_hangul(&s) } else { s }
        };
        let model_en = if trim {
            format!("{} {}", m.en, m.trim.1)
        } else {
            m.en.to_owned()
        };
        let brand_en = self.brand_en(rng);
        // A model that carries its brand ("에어 조던 1") names the parent brand or none.
        let in_model = m.en.to_lowercase().contains(&b.en.to_lowercase());
        let (brand_ko, brand_en) = match (in_model, b.parent) {
            (true, Some((pko, pen))) if rng.chance(50) => (pko, pen),
            (true, _) => ("", ""),
            (false, _) => (b.ko, brand_en),
        };
        let ko = |brand: &str, model: &str, colour: &str| -> String {
            let mut parts: Vec<String> = Vec::new();
            match v.collab {
                Some(c) if brand.is_empty() => {
                    parts.push(model.to_owned());
                    parts.push(format!("x {}", c.ko));
                }
                Some(c) => {
                    parts.push(format!("{brand} x {}", c.ko));
                    parts.push(model.to_owned());
                }
                None => {
                    parts.push(brand.to_owned());
                    parts.push(model.to_owned());
                }
            }
            parts.push(colour.to_owned());
            join(&parts)
        };
        let en = |brand: &str, model: &str, colour: &str| -> String {
            let mut parts: Vec<String> = Vec::new();
            match v.collab {
                Some(c) if brand.is_empty() => {
                    parts.push(model.to_owned());
                    parts.push(format!("x {}", c.en));
                }
                Some(c) => {
                    parts.push(format!("{brand} x {}", c.en));
                    parts.push(model.to_owned());
                }
                None => {
                    parts.push(brand.to_owned());
                    parts.push(model.to_owned());
                }
            }
            parts.push(colour.to_owned());
            join(&parts)
        };
        let quoted = if v.cw.en.is_empty() {
            String::new()
        } else {
            format!("\"{}\"", v.cw.en)
        };
        let mut name = match rng.below(20) {
            // Korean only: "나이키 덩크 로우 레트로 판다"
            0..=5 => ko(brand_ko, &model_ko, v.cw.ko),
            // English only: "Nike Dunk Low Retro Panda", sometimes with the colour quoted.
            6..=9 => {
                let colour = if rng.chance(30) {
                    quoted.as_str()
                } else {
                    v.cw.en
                };
                en(brand_en, &model_en, colour)
            }
            // Korean with the English name in parentheses.
            10..=12 => format!(
                "{} ({})",
                ko(brand_ko, &model_ko, v.cw.ko),
                en(brand_en, &model_en, v.cw.en)
            ),
            // English brand, Korean model: "Nike 덩크 로우 블랙"
            13..=14 => ko(brand_en, &model_ko, v.cw.ko),
            // Korean brand, English model: "나이키 Dunk Low Panda"
            15..=16 => ko(brand_ko, &model_en, v.cw.en),
            // With the style code.
            17 if !v.sku.is_empty() => format!("{} {}", en(brand_en, &model_en, &quoted), v.sku),
            18 if !v.sku.is_empty() => format!("[{}] {}", v.sku, ko(brand_ko, &model_ko, v.cw.ko)),
            _ => ko(brand_ko, &model_ko, v.cw.ko),
        };
        // Sizes, years and condition, as sellers add them.
        if rng.chance(35) {
            match self.family.size {
                Size::Shoes => {
                    let mm = 220 + 5 * rng.below(17);
                    name.push_str(&match rng.below(3) {
                        0 => format!(" {mm}"),
                        1 => format!(" {mm}mm"),
                        _ => format!(" (사이즈 {mm})"),
                    });
                }
                Size::Clothes => {
                    let size = rng.pick(&["S", "M", "L", "XL", "XXL"]);
                    name.push_str(&match rng.below(3) {
                        0 => format!(" {size}"),
                        1 => format!(" 사이즈 {size}"),
                        _ => format!(" ({size})"),
                    });
                }
                Size::None => {
                    name.push(' ');
                    const CONDITIONS: [&str; 4] = ["미개봉", "새상품", "국내 정발", "풀박스"];
                    name.push_str(rng.pick::<&str>(&CONDITIONS));
                }
            }
        }
        if rng.chance(12) {
            let year = 2019 + rng.below(7);
            name.push_str(&format!(" {year}"));
        }
        name
    }

    /// One to three Korean sentences with natural particles.
    fn description(&self, rng: &mut SplitMix64) -> String {
        let (b, fam, m, v) = (self.brand, self.family, self.model, self.variant);
        // A model that carries its brand ("에어 조던 1") is introduced by the parent brand.
        let (brand_ko, brand_en) = match b.parent {
            Some(parent) if m.ko.contains(b.ko) => parent,
            _ => (b.ko, b.en),
        };
        let brand = if rng.chance(85) { brand_ko } else { brand_en };
        let model = if !m.trim.0.is_empty() && rng.chance(40) {
            format!("{} {}", m.ko, m.trim.0)
        } else {
            m.ko.to_owned()
        };
        let colour = v.cw.ko;
        let year = 2019 + rng.below(7);
        let mut sentences = Vec::new();
        sentences.push(match (v.collab, rng.below(5)) {
            (Some(c), _) if rng.chance(70) => format!(
                "{brand}{} {}의 협업으로 탄생한 {}입니다.",
                josa(brand_ko, "과", "와"),
                c.ko,
                join(&[model.clone(), colour.to_owned()])
            ),
            (_, 0) => format!(
                "{brand}의 대표 모델인 {model}{} 한정 수량으로 발매합니다.",
                josa(&model, "을", "를")
            ),
            (_, 1) if !colour.is_empty() => format!("{brand} {model} {colour} 컬러입니다."),
            (_, 1) => format!("{brand} {model} 정품입니다."),
            (_, 2) => format!(
                "{model}{} {brand}에서 가장 인기 있는 {} 중 하나입니다.",
                josa(&model, "은", "는"),
                fam.kind
            ),
            (_, 3) => format!(
                "{brand}{} 선보이는 {} 모델입니다.",
                josa(brand_ko, "이", "가"),
                join(&[model.clone(), colour.to_owned()])
            ),
            _ => format!(
                "{year}년 발매된 {} 제품으로, 국내에서 구하기 어려운 {}입니다.",
                join(&[model.clone(), colour.to_owned()]),
                fam.kind
            ),
        });
        let mut more: Vec<String> = vec![
            rng.pick(fam.blurbs).to_string(),
            "정품 검수를 마친 새상품입니다.".to_owned(),
            "박스와 구성품 모두 포함되어 있습니다.".to_owned(),
            "국내 정식 발매 제품입니다.".to_owned(),
            format!("영문명은 {}입니다.", join(&[brand_en, m.en, v.cw.en])),
        ];
        if !colour.is_empty() {
            more.push(format!("{colour} 색상으로 어떤 코디에도 잘 어울립니다."));
        }
        for alias in [m.alias, v.cw.alias] {
            if !alias.is_empty() {
                more.push(format!(
                    "일명 '{alias}'{} 불리는 모델입니다.",
                    josa_ro(alias)
                ));
            }
        }
        if !b.nick.is_empty() {
            more.push(format!("{} {} 찾으시는 분께 추천합니다.", b.nick, m.ko));
        }
        let extra = rng.below(3);
        for _ in 0..extra {
            let i = rng.below(more.len());
            sentences.push(more.swap_remove(i));
        }
        sentences.join(" ")
    }

    /// Zero to four tags, Korean and English.
    fn tags(&self, rng: &mut SplitMix64) -> Vec<String> {
        let mut pool: Vec<&str> = self.family.tags.to_vec();
        pool.extend(["한정판", "limited", "정품", "인기"]);
        if let Some(c) = self.variant.collab {
            pool.extend(["콜라보", "collab", c.ko]);
        }
        let count = rng.below(5);
        let mut tags = Vec::new();
        for _ in 0..count {
            let i = rng.below(pool.len());
            tags.push(pool.swap_remove(i).to_owned());
        }
        tags
    }
}

/// Words joined by single spaces, empty ones left out.
fn join<S: AsRef<str>>(parts: &[S]) -> String {
    parts
        .iter()
        .map(|p| p.as_ref().trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// "에어 조던 1 레트로" → "에어조던 1 레트로": spaces between Hangul syllables removed.
fn squeeze_hangul(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let hangul = |c: char| ('\u{AC00}'..='\u{D7A3}').contains(&c);
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' && i > 0 && i + 1 < chars.len() && hangul(chars[i - 1]) && hangul(chars[i + 1])
        {
            continue;
        }
        out.push(c);
    }
    out
}

/// How a word ends when read aloud: None for a vowel, Some(true) for ㄹ, Some(false) for
/// another final consonant. Digits and Latin letters are read the Korean way.
fn final_sound(word: &str) -> Option<bool> {
    let c = word
        .trim_end()
        .chars()
        .rev()
        .find(|c| c.is_alphanumeric())?;
    match c {
        '\u{AC00}'..='\u{D7A3}' => match (c as u32 - 0xAC00) % 28 {
            0 => None,
            8 => Some(true),
            _ => Some(false),
        },
        // 영/십/백/천, 일, 삼, 육, 칠, 팔
        '0' | '3' | '6' => Some(false),
        '1' | '7' | '8' => Some(true),
        '2' | '4' | '5' | '9' => None,
        _ => match c.to_ascii_lowercase() {
            'l' | 'r' => Some(true),
            'm' | 'n' => Some(false),
            _ => None,
        },
    }
}

/// The particle that follows `word`: `after_consonant` ("을") or `after_vowel` ("를").
fn josa(word: &str, after_consonant: &'static str, after_vowel: &'static str) -> &'static str {
    match final_sound(word) {
        Some(_) => after_consonant,
        None => after_vowel,
    }
}

/// 으로 after a consonant other than ㄹ, 로 otherwise.
fn josa_ro(word: &str) -> &'static str {
    match final_sound(word) {
        Some(false) => "으로",
        _ => "로",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_catalogue() {
        let a = generate(500, 7);
        let b = generate(500, 7);
        assert_eq!(a, b);
        let c = generate(500, 8);
        assert_ne!(a, c);
        assert_ne!(
            a.iter().map(|p| &p.doc.name).collect::<Vec<_>>(),
            c.iter().map(|p| &p.doc.name).collect::<Vec<_>>()
        );
        // A prefix of a longer catalogue is the shorter one.
        assert_eq!(generate(100, 7), a[..100]);
    }

    #[test]
    fn the_catalogue_is_pinned() {
        // The generator promises the same output forever: a change here changes every
        // judged measurement made on it.
        let p = generate(3, 1);
        let first = &p[0];
        assert_eq!(first.doc.id.to_string(), PINNED_ID);
        assert_eq!(first.doc.name, PINNED_NAME);
        let digest = generate(2_000, 1)
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, p| {
                let line = format!(
                    "{}|{}|{}|{}|{}|{:?}|{:?}|{}|{}",
                    p.doc.id,
                    p.doc.name,
                    p.doc.brand,
                    p.doc.category,
                    p.doc.description,
                    p.doc.tags,
                    p.doc.sku,
                    p.doc.retail_price_krw,
                    p.doc.verified
                );
                line.bytes()
                    .fold(h, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3))
            });
        assert_eq!(digest, PINNED_DIGEST, "digest {digest:#x}");
    }

    const PINNED_ID: &str = "01941f29-e5a5-79b5-81d1-d854bb718002";
    const PINNED_NAME: &str = "스톤아일랜드 와펜 볼캡 네이비";
    const PINNED_DIGEST: u64 = 0xa28b_97ed_9e57_23d1;

    #[test]
    fn ids_are_unique_and_time_ordered_v7() {
        let products = generate(5_000, 42);
        let ids: HashSet<Uuid> = products.iter().map(|p| p.doc.id).collect();
        assert_eq!(ids.len(), products.len());
        for w in products.windows(2) {
            assert!(w[0].doc.id < w[1].doc.id, "ids follow the listing order");
        }
        assert!(products.iter().all(|p| p.doc.id.get_version_num() == 7));
    }

    #[test]
    fn every_product_is_complete() {
        for p in generate(5_000, 42) {
            assert!(!p.doc.name.trim().is_empty(), "{p:?}");
            assert!(!p.doc.brand.trim().is_empty(), "{p:?}");
            assert!(!p.doc.category.trim().is_empty(), "{p:?}");
            assert!(!p.doc.description.trim().is_empty(), "{p:?}");
            assert!(p.doc.tags.len() <= 4);
            assert!(p.doc.retail_price_krw >= 30_000, "{p:?}");
            assert!(!p.doc.name.contains("  "), "{:?}", p.doc.name);
            assert_eq!(p.doc.category, p.category);
            assert!(p.doc.raffle.is_none());
        }
    }

    #[test]
    fn the_mix_is_realistic() {
        let products = generate(5_000, 42);
        let verified = products.iter().filter(|p| p.doc.verified).count();
        assert!((3_200..3_800).contains(&verified), "{verified} verified");
        let brands: HashSet<_> = products.iter().map(|p| p.brand).collect();
        assert!(brands.len() >= 25, "{} brands", brands.len());
        let hangul = |s: &str| s.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c));
        let latin = |s: &str| s.chars().any(|c| c.is_ascii_alphabetic());
        let korean_only = products.iter().filter(|p| !latin(&p.doc.name)).count();
        let english_only = products.iter().filter(|p| !hangul(&p.doc.name)).count();
        assert!(
            korean_only > 500 && english_only > 500,
            "{korean_only} / {english_only}"
        );
        assert!(
            products
                .iter()
                .any(|p| p.collab.is_some() && p.doc.name.contains(" x "))
        );
        assert!(products.iter().filter(|p| p.doc.sku.is_some()).count() > 2_000);
    }

    #[test]
    fn particles_follow_the_final_sound() {
        assert_eq!(josa("덩크 로우", "을", "를"), "를");
        assert_eq!(josa("스피드캣", "을", "를"), "을");
        assert_eq!(josa("에어 포스 1", "을", "를"), "을");
        assert_eq!(josa("이지 부스트 350 V2", "은", "는"), "는");
        assert_eq!(josa("나이키", "과", "와"), "와");
        assert_eq!(josa("레고", "이", "가"), "가");
        assert_eq!(josa_ro("역모카"), "로");
        assert_eq!(josa_ro("섭마"), "로");
        assert_eq!(josa_ro("보고"), "로");
        assert_eq!(josa_ro("플스5 프로"), "로");
        assert_eq!(josa_ro("그린 베젤"), "로");
        assert_eq!(josa_ro("스탁"), "으로");
        assert_eq!(
            squeeze_hangul("에어 조던 1 레트로 하이 OG"),
            "에어조던 1 레트로하이 OG"
        );
    }
}
