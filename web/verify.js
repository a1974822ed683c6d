// Truffle's verification page: checks a unit, a product or a raffle draw in the visitor's own
// browser, as docs/PROTOCOLS.md says (§4.2 bundles, §7.7 draws, §8.4 units, §9.4 owners). It
// trusts the server for bytes only: it recomputes canonical JSON, hashes, Merkle paths and
// EIP-712 signatures itself, and reads the chain from the RPC endpoint in its settings (which
// the visitor may change). The verdict is green only when every check passed.
"use strict";
(function () {
  const E = window.ethers;
  const canonicalize = window.truffleCanonicalize;
  const N = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  const enc = new TextEncoder();

  // ---- Words ----
  const WORDS = {
    ko: {
      title: "정품 검증", settings: "검증 설정", rpc: "RPC 주소", chain: "체인 ID",
      registry: "레지스트리 주소", confirmations: "확인 블록 수", api: "기록을 가져올 서버",
      rerun: "다시 검증", running: "검증 중…", verified: "검증됨: 모든 확인을 통과했습니다",
      failed: "검증 실패", failedList: "통과하지 못한 확인", serial: "일련번호",
      seller: "판매자 주소", anchoredAt: "체인 기록 시각", owners: "소유 이력",
      noOwner: "아직 소유자 기록이 없습니다", first: "첫 소유자 (추첨 당첨)", transfer: "양도",
      pending: "체인 기록 대기 중", clone: "복제 라벨 의심", cloneText: "이 라벨이 짧은 시간에 여러 곳에서 스캔되었습니다. 라벨이 복제되었을 수 있습니다.",
      lost: "분실 신고됨", stolen: "도난 신고됨", reportText: "소유자가 신고한 상태입니다 (서버의 주장이며 체인에서 확인할 수 없습니다).",
      serverSays: "서버가 알려 준 정보", revoked: "철회됨", notRevoked: "철회되지 않음",
      ticket: "내 티켓 찾기", ticketHint: "티켓(0x로 시작하는 66자)을 붙여 넣으세요", find: "찾기",
      winner: "당첨", alternate: "예비 순번", notInList: "목록에 없습니다", position: "추첨 순서",
      checks: "확인 항목", product: "상품", raffle: "추첨", draw: "추첨 결과",
      winners: "당첨 티켓", fetchFail: "기록을 가져오지 못했습니다",
    },
    en: {
      title: "Verification", settings: "Settings", rpc: "RPC endpoint", chain: "Chain id",
      registry: "Registry address", confirmations: "Confirmations", api: "Server to fetch records from",
      rerun: "Verify again", running: "Verifying…", verified: "VERIFIED: every check passed",
      failed: "NOT VERIFIED", failedList: "Failed checks", serial: "Serial",
      seller: "Seller address", anchoredAt: "Anchored at", owners: "Owners",
      noOwner: "No owner recorded yet", first: "First owner (raffle win)", transfer: "Transfer",
      pending: "waiting to be anchored", clone: "Copied label suspected", cloneText: "This label was scanned from many places in a short time; it may have been copied.",
      lost: "Reported lost", stolen: "Reported stolen", reportText: "Its owner says so (the server's word; the chain cannot show it).",
      serverSays: "What the server says", revoked: "Revoked", notRevoked: "Not revoked",
      ticket: "Find my ticket", ticketHint: "Paste your ticket (0x and 64 hex digits)", find: "Find",
      winner: "Winner", alternate: "Alternate", notInList: "Not in the list", position: "Draw position",
      checks: "Checks", product: "Product", raffle: "Raffle", draw: "Draw",
      winners: "Winning tickets", fetchFail: "Could not fetch the records",
    },
  };
  // Each check in plain words.
  const CHECK_WORDS = {
    "reading": ["기록을 엄격한 JSON(I-JSON)으로 읽기", "the records are read as strict JSON (I-JSON)"],
    "bundle form": ["증명의 형식 (소문자 16진수, 시각)", "the proof's form (lowercase hex, times)"],
    "protocols": ["프로토콜 버전", "protocol versions"],
    "trusted registry": ["신뢰하는 체인과 레지스트리", "the trusted chain and registry"],
    "record rules": ["상품 기록 규칙 (14개 키, 형식, NFC)", "the record rules (14 keys, types, NFC)"],
    "content hash": ["상품 기록의 해시", "the record's hash"],
    "seller": ["판매자 주소 일치", "the seller's address"],
    "typed data": ["서명 대상 (EIP-712)", "what was signed (EIP-712)"],
    "seller signature": ["판매자 서명", "the seller's signature"],
    "merkle proof": ["머클 증명", "the Merkle proof"],
    "chain id": ["RPC 노드의 체인", "the RPC node's chain"],
    "anchored on chain": ["체인에 기록됨", "anchored on chain"],
    "not revoked": ["철회되지 않음", "not revoked"],
    "unit form": ["단위 증명의 형식", "the unit proof's form"],
    "unit hash": ["단위 기록의 해시", "the unit record's hash"],
    "units tree": ["에디션 단위 트리", "the edition's units tree"],
    "unit set hash": ["단위 세트의 해시", "the unit set's hash"],
    "product": ["상품 증명 (12개 확인)", "the product's proof (12 checks)"],
    "owner form": ["소유 이력의 형식", "the owners' records' form"],
    "owner hashes": ["소유 기록의 해시", "the owners' records' hashes"],
    "owner links": ["소유 기록의 연결 (끊김·분기 없음)", "the owners' records link up (no gap, no fork)"],
    "owner typed data": ["소유 기록의 서명 대상", "what each owner record signed"],
    "owner signatures": ["플랫폼 서명", "the platform's signatures"],
    "owner registry": ["소유 기록의 레지스트리", "the owners' records' registry"],
    "owner proofs": ["소유 기록의 머클 증명", "the owners' records' Merkle proofs"],
    "owner chain id": ["RPC 노드의 체인 (소유 기록)", "the RPC node's chain (owners)"],
    "owners anchored": ["소유 기록이 체인에 기록됨", "the owners' records are anchored"],
    "owner signer": ["서명 키가 레지스트리의 허가 키", "the signing key is allowed by the registry"],
    "record form": ["추첨 기록의 형식", "the draw record's form"],
    "raffle id": ["추첨 ID", "the raffle id"],
    "ticket list": ["티켓 목록 (정렬, 중복 없음)", "the ticket list (sorted, no duplicates)"],
    "ticket root": ["티켓 목록의 머클 루트", "the ticket list's Merkle root"],
    "seed commitment": ["시드 약속", "the seed commitment"],
    "on-chain raffle": ["체인의 추첨 상태", "the raffle on chain"],
    "randomness": ["난수 (시드 ‖ 블록 해시)", "the randomness (seed ‖ block hash)"],
    "winners": ["당첨자 재계산", "the winners, recomputed"],
    "no draw": ["빈 추첨 (티켓 없음)", "an empty raffle (no tickets)"],
  };
  let lang = /^ko\b/.test(document.documentElement.lang) ? "ko" : "en";
  const w = (k) => WORDS[lang][k] || k;
  const plain = (name) => (CHECK_WORDS[name] || [name, name])[lang === "ko" ? 0 : 1];

  // ---- Strict JSON (I-JSON, RFC 7493) ----
  // JSON.parse keeps the last of two equal keys and reads 10.0 as 10; a verifier must refuse
  // both, so the documents are read by this parser. A number not written as a whole number
  // (fraction, exponent) becomes a RawNumber, which no record rule accepts.
  class RawNumber { constructor(text) { this.text = text; } }
  function parseStrict(text) {
    let i = 0;
    const fail = (why) => { throw new Error(`not I-JSON at ${i}: ${why}`); };
    const ws = () => { while (i < text.length && " \t\n\r".includes(text[i])) i++; };
    function value() {
      ws();
      const c = text[i];
      if (c === "{") return object();
      if (c === "[") return array();
      if (c === '"') return string();
      if (c === "t" && text.startsWith("true", i)) { i += 4; return true; }
      if (c === "f" && text.startsWith("false", i)) { i += 5; return false; }
      if (c === "n" && text.startsWith("null", i)) { i += 4; return null; }
      return number();
    }
    function object() {
      i++;
      const out = {};
      const seen = new Set();
      ws();
      if (text[i] === "}") { i++; return out; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("a key is not a string");
        const key = string();
        if (seen.has(key)) fail(`key "${key}" twice`);
        seen.add(key);
        ws();
        if (text[i++] !== ":") fail("no colon");
        Object.defineProperty(out, key, { value: value(), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; return out; }
        fail("expected , or }");
      }
    }
    function array() {
      i++;
      const out = [];
      ws();
      if (text[i] === "]") { i++; return out; }
      for (;;) {
        out.push(value());
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; return out; }
        fail("expected , or ]");
      }
    }
    function string() {
      const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i));
      if (!m) fail("a bad string");
      i += m[0].length;
      const s = JSON.parse(m[0]);
      if (!s.isWellFormed()) fail("a lone surrogate");
      return s;
    }
    function number() {
      const m = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
      if (!m) fail("not a value");
      i += m[0].length;
      if (m[1] || m[2]) return new RawNumber(m[0]);
      const n = Number(m[0]);
      if (!Number.isSafeInteger(n)) fail("an integer beyond 2^53 - 1");
      return n;
    }
    const out = value();
    ws();
    if (i !== text.length) fail("text after the value");
    return out;
  }

  // ---- Bytes ----
  const isHex = (s, n) => typeof s === "string" && s.length === 2 + n && /^0x[0-9a-f]*$/.test(s);
  const jcs = (v) => canonicalize(v);
  const hashOf = (v) => E.sha256(enc.encode(jcs(v)));
  const leafOf = (h) => E.sha256(E.concat(["0x00", h]));
  function fold(leaf, steps) {
    let x = leaf;
    for (const s of steps) {
      const [a, b] = x < s ? [x, s] : [s, x];
      x = E.sha256(E.concat(["0x01", a, b]));
    }
    return x;
  }
  const same = (a, b) => { try { return jcs(a) === jcs(b); } catch (_) { return false; } };
  const isTime = (s) => typeof s === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(s) && !isNaN(Date.parse(s));
  const seconds = (s) => Math.floor(Date.parse(s) / 1000);
  const keysAre = (o, keys) => o && typeof o === "object" && !Array.isArray(o) &&
    Object.keys(o).sort().join(",") === [...keys].sort().join(",");
  const isInt = (v, min, max) => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

  function typedData(primary, fields, message, chainId) {
    return {
      types: {
        EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" }, { name: "chainId", type: "uint256" }],
        [primary]: fields,
      },
      primaryType: primary,
      domain: { name: "Truffle", version: "1", chainId },
      message,
    };
  }
  // The §4.2 check 8 rules, then recovery: who signed `td`, or why not.
  function signer(td, sig) {
    if (!isHex(sig, 130)) return [null, "not 65 bytes of lowercase hex"];
    const r = BigInt("0x" + sig.slice(2, 66)), s = BigInt("0x" + sig.slice(66, 130));
    const v = parseInt(sig.slice(130), 16);
    if (v !== 27 && v !== 28) return [null, `v is ${v}, not 27 or 28`];
    if (r < 1n || r >= N) return [null, "r is out of range"];
    if (s < 1n || s > N / 2n) return [null, "s is zero or above n/2"];
    const types = Object.assign({}, td.types);
    delete types.EIP712Domain;
    try {
      return [E.verifyTypedData(td.domain, types, td.message, sig).toLowerCase(), null];
    } catch (e) {
      return [null, String(e.message || e)];
    }
  }

  const signedBy = (who, seller) => who === seller ? `signed by the seller ${who}` : `recovers ${who}, not the seller ${seller}`;

  // ---- The chain, read directly ----
  const IFACE = new E.Interface([
    "function anchoredAt(bytes32) view returns (uint64)",
    "function revokedAt(bytes32) view returns (uint64)",
    "function isAnchorer(address) view returns (bool)",
    "function raffles(bytes16) view returns (bytes32 productContentHash, bytes32 seedHash, uint64 closesAt, uint32 winners, uint32 ticketCount, bytes32 ticketRoot, uint64 closeBlock, bytes32 randomness, uint8 state)",
  ]);
  let rpcId = 0;
  async function rpc(method, params) {
    const res = await fetch(cfg.rpc, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
    });
    const body = await res.json();
    if (body.error) throw new Error(body.error.message || "RPC error");
    return body.result;
  }
  async function view(fn, args, block) {
    const data = IFACE.encodeFunctionData(fn, args);
    const out = await rpc("eth_call", [{ to: cfg.registry, data }, "0x" + block.toString(16)]);
    return IFACE.decodeFunctionResult(fn, out);
  }
  // The chain's head and chain id, once per run.
  async function chainState() {
    const [id, head] = await Promise.all([rpc("eth_chainId", []), rpc("eth_blockNumber", [])]);
    const headN = Number(BigInt(head));
    const settled = headN - (cfg.confirmations - 1);
    return { id: Number(BigInt(id)), head: headN, settled: settled >= 0 ? settled : null };
  }

  // ---- Checks ----
  class Checks {
    constructor() { this.list = []; }
    push(name, ok, detail) { this.list.push({ name, ok: !!ok, detail: detail || "" }); }
    get ok() { return this.list.length > 0 && this.list.every((c) => c.ok); }
    failed() { return this.list.filter((c) => !c.ok).map((c) => c.name); }
  }
  const trustedRegistry = (chainId, address) => chainId === cfg.chainId && address === cfg.registry;

  const RECORD_KEYS = ["brand", "category", "created_at", "description", "edition_size", "image_sha256s", "name",
    "previous_content_hash", "product_id", "protocol", "retail_price_krw", "seller_address", "sku", "version"];
  function textRule(s, min, max, lines) {
    if (typeof s !== "string") return "is not a string";
    const n = [...s].length;
    if (n < min || n > max) return `is ${n} characters, not ${min} to ${max}`;
    for (const ch of s) {
      if (/\p{Cc}/u.test(ch) && !(lines && "\n\r\t".includes(ch))) return "holds a control character";
    }
    if (s.trim() !== s) return "has leading or trailing white space";
    if (s.normalize("NFC") !== s) return "is not NFC-normalised";
    return null;
  }
  // docs/PROTOCOLS.md §1.1, as `record_violations` in src/protocol/product.rs.
  function recordViolations(r) {
    if (!r || typeof r !== "object" || Array.isArray(r)) return ["the record is not a JSON object"];
    const out = [];
    for (const k of Object.keys(r)) if (!RECORD_KEYS.includes(k)) out.push(`\`${k}\` is not a record key`);
    const rule = (k, f) => { if (!(k in r)) out.push(`\`${k}\` is missing`); else { const why = f(r[k]); if (why) out.push(`\`${k}\` ${why}`); } };
    const text = (min, max) => (v) => textRule(v, min, max, false);
    const int = (min, max) => (v) => isInt(v, min, max) ? null : "is not a whole number in range, written without fraction or exponent";
    const hash = (v) => isHex(v, 64) ? null : "is not 0x and 64 lowercase hex digits";
    rule("brand", text(1, 100));
    rule("category", text(1, 50));
    rule("created_at", (v) => isTime(v) ? null : "is not YYYY-MM-DDTHH:MM:SSZ");
    rule("description", (v) => textRule(v, 0, 5000, true));
    rule("edition_size", int(1, 1000000));
    rule("image_sha256s", (v) => !Array.isArray(v) ? "is not an array" : v.length > 20 ? "has more than 20 entries" : v.map(hash).find((x) => x) || null);
    rule("name", text(1, 200));
    rule("product_id", (v) => typeof v === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v) ? null : "is not a lowercase hyphenated UUID");
    rule("protocol", (v) => v === "truffle.product/1" ? null : "is not `truffle.product/1`");
    rule("retail_price_krw", int(0, 1e12));
    rule("seller_address", (v) => isHex(v, 40) ? null : "is not an address as 0x and 40 lowercase hex digits");
    rule("sku", (v) => v === null ? null : text(1, 64)(v));
    rule("version", int(1, 4294967295));
    const first = r.version === 1;
    rule("previous_content_hash", (v) => v === null ? (first ? null : "is null, but the version is not 1") : first ? "must be null for version 1" : hash(v));
    return out;
  }

  const BUNDLE_KEYS = ["protocol", "anchor_protocol", "record", "content_hash", "seller_address", "signature", "eip712",
    "leaf", "proof", "root", "chain_id", "contract_address", "tx_hash", "block_number", "block_time"];
  const PRODUCT_FIELDS = [{ name: "contentHash", type: "bytes32" }, { name: "name", type: "string" }, { name: "brand", type: "string" }, { name: "editionSize", type: "uint32" }];

  // Anchoring at the settled block, at the stated time: `anchored on chain` of §4.2.
  async function anchored(chain, root, blockTime) {
    if (chain.settled === null) return [false, `the chain is shorter than ${cfg.confirmations} confirmations`];
    if (!isHex(root, 64)) return [false, "root is malformed"];
    const [t] = await view("anchoredAt", [root], chain.settled);
    const at = Number(t);
    if (at === 0) return [false, `no anchoring of this root at block ${chain.settled}`];
    if (at !== seconds(blockTime)) return [false, `anchored at ${at}, the proof says ${blockTime}`];
    return [true, `anchored at ${new Date(at * 1000).toISOString()}, settled by block ${chain.settled}`];
  }

  // docs/PROTOCOLS.md §4.2: the twelve checks of a product's proof bundle.
  async function verifyBundle(b, chain) {
    const v = new Checks();
    const form = [];
    if (!keysAre(b, BUNDLE_KEYS)) form.push("the bundle's fields are not exactly those of §4.1");
    for (const [k, n] of [["content_hash", 64], ["leaf", 64], ["root", 64], ["tx_hash", 64], ["signature", 130], ["seller_address", 40], ["contract_address", 40]]) {
      if (!isHex(b[k], n)) form.push(`\`${k}\` is not 0x and ${n} lowercase hex digits`);
    }
    if (!Array.isArray(b.proof) || b.proof.some((p) => !isHex(p, 64))) form.push("a proof step is malformed");
    if (!isTime(b.block_time)) form.push("`block_time` is not YYYY-MM-DDTHH:MM:SSZ");
    if (!isInt(b.chain_id, 0, Number.MAX_SAFE_INTEGER) || !isInt(b.block_number, 0, Number.MAX_SAFE_INTEGER)) form.push("chain_id or block_number is not a whole number");
    v.push("bundle form", form.length === 0, form.join("; "));
    const record = b.record || {};
    v.push("protocols", b.protocol === "truffle.product/1" && b.anchor_protocol === "truffle.anchor/1" && record.protocol === "truffle.product/1",
      `${b.protocol} / ${b.anchor_protocol}`);
    v.push("trusted registry", trustedRegistry(b.chain_id, b.contract_address), `chain ${b.chain_id} registry ${b.contract_address}`);
    const broken = recordViolations(record);
    v.push("record rules", broken.length === 0, broken.join("; "));
    let h = null;
    try { h = hashOf(record); } catch (e) { /* not canonicalisable */ }
    v.push("content hash", h !== null && h === b.content_hash, `sha256(JCS(record)) = ${h}`);
    v.push("seller", record.seller_address === b.seller_address, `record.seller_address is ${record.seller_address}`);
    const td = typedData("ProductRecord", PRODUCT_FIELDS,
      { contentHash: h, name: record.name, brand: record.brand, editionSize: record.edition_size }, cfg.chainId);
    v.push("typed data", h !== null && same(b.eip712, td), "eip712 is the typed data of this record on the trusted chain");
    const [who, why] = h !== null ? signer(td, b.signature) : [null, "no content hash"];
    v.push("seller signature", who !== null && who === b.seller_address, why || signedBy(who, b.seller_address));
    let path = false;
    try { path = h !== null && leafOf(h) === b.leaf && fold(b.leaf, b.proof) === b.root; } catch (e) { path = false; }
    v.push("merkle proof", path, `${(b.proof || []).length} step(s) to root ${b.root}`);
    v.push("chain id", chain.id === cfg.chainId, `the RPC node serves chain ${chain.id}`);
    const [ok, detail] = await anchored(chain, b.root, b.block_time).catch((e) => [false, String(e.message || e)]);
    v.push("anchored on chain", ok, detail);
    let revoked = null;
    if (isHex(b.content_hash, 64)) {
      revoked = await view("revokedAt", [b.content_hash], chain.head).then(([t]) => Number(t)).catch(() => null);
    }
    v.push("not revoked", revoked === 0, revoked === null ? "cannot read the registry" : revoked === 0 ? `no revocation by block ${chain.head}` : `REVOKED at ${new Date(revoked * 1000).toISOString()}`);
    return v;
  }

  const UNIT_PROOF_KEYS = ["protocol", "unit", "unit_hash", "unit_proof", "units", "units_hash", "signature", "eip712",
    "leaf", "proof", "root", "chain_id", "contract_address", "tx_hash", "block_number", "block_time"];
  const UNITS_KEYS = ["created_at", "edition_size", "gtin", "product_content_hash", "product_id", "protocol", "seller_address", "units_root"];
  const CODE = /^[0-9A-HJKMNP-TV-Z]{20}$/;

  // docs/PROTOCOLS.md §8.4: a unit, with the product's own bundle (its twelve checks).
  async function verifyUnit(u, bundle, chain) {
    const v = new Checks();
    const unit = u.unit || {}, units = u.units || {};
    const form = [];
    if (!keysAre(u, UNIT_PROOF_KEYS)) form.push("the proof's fields are not exactly those of §8.3");
    if (!keysAre(unit, ["code", "edition_size", "product_id", "protocol", "serial"])) form.push("the unit record's keys are not those of §8.1");
    if (!keysAre(units, UNITS_KEYS)) form.push("the unit set's keys are not those of §8.2");
    for (const [k, n] of [["unit_hash", 64], ["units_hash", 64], ["leaf", 64], ["root", 64], ["tx_hash", 64], ["signature", 130], ["contract_address", 40]]) {
      if (!isHex(u[k], n)) form.push(`\`${k}\` is not 0x and ${n} lowercase hex digits`);
    }
    if (![...(u.unit_proof || []), ...(u.proof || [])].every((p) => isHex(p, 64))) form.push("a proof step is malformed");
    if (!isTime(u.block_time)) form.push("`block_time` is not YYYY-MM-DDTHH:MM:SSZ");
    if (u.protocol !== "truffle.unit/1" || unit.protocol !== "truffle.unit/1" || units.protocol !== "truffle.units/1") form.push("protocols");
    if (!CODE.test(unit.code || "")) form.push("`unit.code` is not a code");
    if (!isInt(unit.serial, 1, unit.edition_size)) form.push("the serial is not 1 to N");
    if (unit.product_id !== units.product_id || unit.edition_size !== units.edition_size) form.push("the unit is of another edition than the unit set");
    if (!isHex(units.seller_address, 40) || !isHex(units.units_root, 64) || !isHex(units.product_content_hash, 64)) form.push("the unit set's hashes are malformed");
    v.push("unit form", form.length === 0, form.join("; "));
    let uh = null, sh = null;
    try { uh = hashOf(unit); } catch (e) { /* refused below */ }
    v.push("unit hash", uh !== null && uh === u.unit_hash, `sha256(JCS(unit)) = ${uh}`);
    let inTree = false;
    try { inTree = uh !== null && fold(leafOf(uh), u.unit_proof) === units.units_root; } catch (e) { inTree = false; }
    v.push("units tree", inTree, `${(u.unit_proof || []).length} step(s) to the units root`);
    try { sh = hashOf(units); } catch (e) { /* refused below */ }
    v.push("unit set hash", sh !== null && sh === u.units_hash, `sha256(JCS(units)) = ${sh}`);
    const td = typedData("UnitSet", [{ name: "contentHash", type: "bytes32" }, { name: "productContentHash", type: "bytes32" }, { name: "unitsRoot", type: "bytes32" }, { name: "editionSize", type: "uint32" }],
      { contentHash: sh, productContentHash: units.product_content_hash, unitsRoot: units.units_root, editionSize: units.edition_size }, cfg.chainId);
    v.push("typed data", sh !== null && same(u.eip712, td), "eip712 is the typed data of this unit set on the trusted chain");
    const [who, why] = sh !== null ? signer(td, u.signature) : [null, "no unit set hash"];
    v.push("seller signature", who !== null && who === units.seller_address, why || signedBy(who, units.seller_address));
    const product = await verifyBundle(bundle, chain);
    const sameProduct = bundle.content_hash === units.product_content_hash && bundle.seller_address === units.seller_address;
    v.push("product", product.ok && sameProduct, !sameProduct ? "the product's bundle is not of the record the unit set names" :
      product.ok ? "the product's proof passed all twelve checks" : `the product's proof fails: ${product.failed().join(", ")}`);
    v.push("trusted registry", trustedRegistry(u.chain_id, u.contract_address), `chain ${u.chain_id} registry ${u.contract_address}`);
    let path = false;
    try { path = sh !== null && leafOf(sh) === u.leaf && fold(u.leaf, u.proof) === u.root; } catch (e) { path = false; }
    v.push("merkle proof", path, `${(u.proof || []).length} step(s) to root ${u.root}`);
    v.push("chain id", chain.id === cfg.chainId, `the RPC node serves chain ${chain.id}`);
    const [ok, detail] = await anchored(chain, u.root, u.block_time).catch((e) => [false, String(e.message || e)]);
    v.push("anchored on chain", ok, detail);
    return { checks: v, product };
  }

  const TRANSFER_KEYS = ["code", "created_at", "from", "kind", "previous", "protocol", "raffle_id", "sequence", "to", "unit_hash"];
  const TRANSFER_FIELDS = [{ name: "contentHash", type: "bytes32" }, { name: "unitHash", type: "bytes32" }, { name: "previous", type: "bytes32" }, { name: "sequence", type: "uint32" }];
  const ZERO = "0x" + "0".repeat(64);

  // docs/PROTOCOLS.md §9.4: the history of owners of the unit `code` whose hash is `unitHash`.
  async function verifyHistory(h, unitHash, code, chain) {
    const v = new Checks();
    const list = Array.isArray(h.transfers) ? h.transfers : [];
    const form = [];
    if (!keysAre(h, ["protocol", "code", "unit_hash", "transfers"]) || h.protocol !== "truffle.transfer/1") form.push("not a truffle.transfer/1 history");
    if (h.code !== code || h.unit_hash !== unitHash) form.push("the history is of another unit");
    list.forEach((t, i) => {
      const r = (t && t.record) || {};
      const n = i + 1;
      if (!keysAre(t, ["record", "transfer_hash", "signer", "signature", "eip712", "anchor"])) form.push(`entry ${n}'s fields`);
      if (!keysAre(r, TRANSFER_KEYS)) form.push(`record ${n}'s keys`);
      if (r.protocol !== "truffle.transfer/1" || r.code !== code || r.unit_hash !== unitHash) form.push(`record ${n} is not of this unit`);
      if (!isHex(r.to, 64) || (r.from !== null && !isHex(r.from, 64)) || (r.previous !== null && !isHex(r.previous, 64))) form.push(`record ${n}: owner or link malformed`);
      if (!isHex(t.transfer_hash, 64) || !isHex(t.signer, 40) || !isHex(t.signature, 130)) form.push(`record ${n}: hash, signer or signature malformed`);
      if (!isTime(r.created_at)) form.push(`record ${n}: created_at`);
      if (t.anchor !== null && (!keysAre(t.anchor, ["leaf", "proof", "root", "chain_id", "contract_address", "tx_hash", "block_number", "block_time"]) ||
        !isHex(t.anchor.leaf, 64) || !isHex(t.anchor.root, 64) || !isTime(t.anchor.block_time) || !(t.anchor.proof || []).every((p) => isHex(p, 64)))) form.push(`record ${n}: anchoring malformed`);
    });
    v.push("owner form", form.length === 0, form.join("; ") || `${list.length} record(s)`);
    const hashes = list.map((t) => { try { const x = hashOf(t.record); return x === t.transfer_hash ? x : null; } catch (e) { return null; } });
    const badHash = hashes.map((x, i) => (x === null ? i + 1 : 0)).filter(Boolean);
    v.push("owner hashes", badHash.length === 0, badHash.length ? `record(s) ${badHash.join(", ")}` : "each record hashes to its transfer_hash");
    const broken = [];
    list.forEach((t, i) => {
      const r = t.record || {};
      const ok = i === 0
        ? r.sequence === 1 && r.kind === "raffle_win" && typeof r.raffle_id === "string" && r.previous === null && r.from === null
        : r.sequence === list[i - 1].record.sequence + 1 && r.kind === "transfer" && r.raffle_id === null &&
          r.previous === list[i - 1].transfer_hash && r.from === list[i - 1].record.to;
      if (!ok) broken.push(i + 1);
    });
    v.push("owner links", broken.length === 0, broken.length ? `record(s) ${broken.join(", ")} do not follow the record before` : "each record names the one before and its owner");
    const typedBad = [], sigBad = [];
    list.forEach((t, i) => {
      const r = t.record || {};
      const td = typedData("Transfer", TRANSFER_FIELDS, { contentHash: t.transfer_hash, unitHash: r.unit_hash, previous: r.previous === null ? ZERO : r.previous, sequence: r.sequence }, cfg.chainId);
      if (!same(t.eip712, td)) typedBad.push(i + 1);
      const [who] = signer(td, t.signature);
      if (who === null || who !== t.signer) sigBad.push(i + 1);
    });
    v.push("owner typed data", typedBad.length === 0, typedBad.length ? `record(s) ${typedBad.join(", ")}` : "each record's Transfer typed data");
    v.push("owner signatures", sigBad.length === 0, sigBad.length ? `record(s) ${sigBad.join(", ")}: the signature does not recover the signer` : "every record is signed by its signer");
    const untrusted = list.map((t, i) => (t.anchor && !trustedRegistry(t.anchor.chain_id, t.anchor.contract_address) ? i + 1 : 0)).filter(Boolean);
    v.push("owner registry", untrusted.length === 0, untrusted.length ? `record(s) ${untrusted.join(", ")}` : "the trusted registry");
    const pathBad = [];
    list.forEach((t, i) => {
      if (!t.anchor) return;
      let ok = false;
      try { ok = hashes[i] !== null && leafOf(hashes[i]) === t.anchor.leaf && fold(t.anchor.leaf, t.anchor.proof) === t.anchor.root; } catch (e) { ok = false; }
      if (!ok) pathBad.push(i + 1);
    });
    v.push("owner proofs", pathBad.length === 0, pathBad.length ? `record(s) ${pathBad.join(", ")}` : "each path reaches its root");
    v.push("owner chain id", chain.id === cfg.chainId, `the RPC node serves chain ${chain.id}`);
    const unanchored = [], notAllowed = [];
    for (let i = 0; i < list.length; i++) {
      const t = list[i];
      if (!t.anchor) { unanchored.push(i + 1); continue; }
      const [ok] = await anchored(chain, t.anchor.root, t.anchor.block_time).catch(() => [false]);
      if (!ok) unanchored.push(i + 1);
      let allowed = false;
      try {
        [allowed] = await view("isAnchorer", [t.signer], t.anchor.block_number);
      } catch (e) {
        try { [allowed] = await view("isAnchorer", [t.signer], chain.settled); } catch (e2) { allowed = false; }
      }
      if (!allowed) notAllowed.push(i + 1);
    }
    v.push("owners anchored", unanchored.length === 0, unanchored.length ? `record(s) ${unanchored.join(", ")} ${w("pending")}` : "every record is anchored");
    v.push("owner signer", notAllowed.length === 0, notAllowed.length ? `record(s) ${notAllowed.join(", ")}` : "an anchorer of the trusted registry");
    return v;
  }

  // docs/PROTOCOLS.md §7.5: the draw order of the list under R.
  function drawOrder(tickets, r) {
    const t = tickets.slice();
    let counter = 0n;
    const two64 = 1n << 64n;
    for (let i = t.length - 1; i >= 1; i--) {
      const bound = BigInt(i + 1);
      const limit = two64 - (two64 % bound);
      let x;
      do {
        const block = E.sha256(E.concat([r, E.toBeHex(counter, 8)]));
        x = BigInt(block.slice(0, 18));
        counter += 1n;
      } while (x >= limit);
      const j = Number(x % bound);
      [t[i], t[j]] = [t[j], t[i]];
    }
    return t;
  }
  function listRoot(tickets) {
    if (tickets.length === 0) return ZERO;
    let level = [...new Set(tickets.map(leafOf))].sort();
    while (level.length > 1) {
      const next = [];
      for (let i = 0; i < level.length; i += 2) {
        if (i + 1 === level.length) { next.push(level[i]); continue; }
        const [a, b] = level[i] < level[i + 1] ? [level[i], level[i + 1]] : [level[i + 1], level[i]];
        next.push(E.sha256(E.concat(["0x01", a, b])));
      }
      level = next;
    }
    return level[0];
  }
  const DRAW_KEYS = ["protocol", "raffle_id", "raffle_key", "chain_id", "contract_address", "product_content_hash", "seed_hash",
    "closes_at", "winners", "state", "ticket_root", "ticket_count", "close_block", "seed", "block_hash", "randomness",
    "commit_tx", "close_tx", "reveal_tx", "winning_tickets", "alternates", "tickets_url"];

  // docs/PROTOCOLS.md §7.7: the ten checks of a draw (an empty raffle's variant included).
  async function verifyDraw(d, listText, raffleId, chain) {
    const v = new Checks();
    const form = [];
    if (!keysAre(d, DRAW_KEYS)) form.push("the record's fields are not those of §7.6");
    if (!isHex(d.raffle_key, 32)) form.push("raffle_key");
    if (!isHex(d.contract_address, 40)) form.push("contract_address");
    for (const k of ["product_content_hash", "seed_hash"]) if (!isHex(d[k], 64)) form.push(k);
    for (const k of ["ticket_root", "seed", "block_hash", "randomness", "commit_tx", "close_tx", "reveal_tx"]) if (d[k] !== null && !isHex(d[k], 64)) form.push(k);
    if (![...(d.winning_tickets || []), ...(d.alternates || [])].every((x) => isHex(x, 64))) form.push("a drawn ticket");
    v.push("record form", form.length === 0, form.join("; "));
    v.push("trusted registry", trustedRegistry(d.chain_id, d.contract_address), `chain ${d.chain_id} registry ${d.contract_address}`);
    const key = typeof d.raffle_id === "string" ? "0x" + d.raffle_id.replace(/-/g, "") : null;
    v.push("raffle id", d.protocol === "truffle.draw/1" && key === d.raffle_key && (!raffleId || d.raffle_id === raffleId), `raffle ${d.raffle_id}`);
    const lines = listText === "" ? [] : listText.split("\n");
    const wellFormed = listText === "" || (listText.endsWith("\n") && lines.pop() === "" && lines.every((l) => isHex(l, 64)));
    const sorted = wellFormed && lines.every((l, i) => i === 0 || lines[i - 1] < l);
    v.push("ticket list", sorted && lines.length === d.ticket_count, `${lines.length} ticket(s)${wellFormed ? "" : ", the list is not written as published lists are"}`);
    const root = wellFormed ? listRoot(lines) : null;
    v.push("ticket root", root !== null && root === (d.ticket_root || ZERO), `root ${root}`);
    let seedOk = false;
    try { seedOk = isHex(d.seed, 64) && E.sha256(d.seed) === d.seed_hash; } catch (e) { seedOk = false; }
    v.push("seed commitment", seedOk, "sha256(seed) is the seed hash");
    v.push("chain id", chain.id === cfg.chainId, `the RPC node serves chain ${chain.id}`);
    let on = null;
    try { on = chain.settled === null ? null : await view("raffles", [d.raffle_key], chain.settled); } catch (e) { on = null; }
    const state = on ? Number(on.state) : -1;
    if (state === 5) {
      const ok = Number(on.ticketCount) === 0 && on.ticketRoot === ZERO && Number(on.closeBlock) === 0 && on.seedHash === d.seed_hash &&
        on.productContentHash === d.product_content_hash && Number(on.winners) === d.winners && Number(on.closesAt) === d.closes_at && d.close_block === null;
      v.push("on-chain raffle", ok, "state 5 (empty)");
      v.push("no draw", d.winning_tickets.length === 0 && d.alternates.length === 0 && d.block_hash === null && d.randomness === null, "nothing was drawn");
      return { checks: v, lines, order: [] };
    }
    const matches = on && state === 3 && on.ticketRoot === d.ticket_root && Number(on.ticketCount) === d.ticket_count && on.seedHash === d.seed_hash &&
      on.productContentHash === d.product_content_hash && Number(on.winners) === d.winners && Number(on.closesAt) === d.closes_at && Number(on.closeBlock) === d.close_block;
    v.push("on-chain raffle", !!matches, on ? `state ${state} (3 = revealed)` : "cannot read the raffle");
    let randOk = false;
    try {
      const block = await rpc("eth_getBlockByNumber", ["0x" + (Number(on.closeBlock) + 1).toString(16), false]);
      const r = E.sha256(E.concat([d.seed, block.hash]));
      randOk = block.hash === d.block_hash && r === d.randomness && r === on.randomness;
    } catch (e) { randOk = false; }
    v.push("randomness", randOk, `R = ${d.randomness}`);
    let order = [];
    if (sorted && isHex(d.randomness, 64)) order = drawOrder(lines, d.randomness);
    const k = Math.min(d.winners, order.length);
    v.push("winners", same(order.slice(0, k), d.winning_tickets) && same(order.slice(k), d.alternates), `${k} winner(s), ${order.length - k} alternate(s)`);
    return { checks: v, lines, order };
  }

  // ---- Fetching ----
  async function fetchText(path) {
    const res = await fetch(new URL(path, cfg.api), { cache: "no-store" });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.text();
  }
  const fetchStrict = async (path) => parseStrict(await fetchText(path));
  async function fetchLoose(path) { try { return JSON.parse(await fetchText(path)); } catch (e) { return null; } }

  // ---- Rendering ----
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  };
  function renderChecks(title, checks) {
    const list = el("ul", { class: "checks" });
    for (const c of checks.list) {
      list.append(el("li", { class: c.ok ? "ok" : "bad", "data-check": c.name, "data-ok": String(c.ok) },
        el("span", { class: "mark" }, c.ok ? "✓" : "✗"), " ", el("b", {}, plain(c.name)), " ",
        el("small", {}, c.name + (c.detail ? " — " + c.detail : ""))));
    }
    return el("section", {}, el("h3", {}, title), list);
  }
  function verdict(groups) {
    const failed = groups.flatMap((g) => g.failed());
    const ok = groups.length > 0 && groups.every((g) => g.ok);
    const box = $("verdict");
    box.className = ok ? "verdict ok" : "verdict bad";
    box.setAttribute("data-verdict", ok ? "verified" : "failed");
    box.setAttribute("data-failed", failed.join(","));
    box.replaceChildren(el("strong", {}, ok ? "✓ " + w("verified") : "✗ " + w("failed")));
    if (!ok) box.append(el("p", {}, w("failedList") + ": " + failed.map(plain).join(", ")));
    document.body.setAttribute("data-ms", String(Math.round(performance.now())));
    document.body.setAttribute("data-done", "true");
  }
  function fact(label, value) { return el("div", { class: "fact" }, el("span", {}, label), el("b", {}, value)); }

  async function runUnit() {
    const code = cfg.code;
    const info = await fetchLoose(`/v1/units/${code}`);
    let proof, history, bundle, chain;
    const reading = new Checks();
    try {
      [proof, history, chain] = await Promise.all([fetchStrict(`/v1/units/${code}/proof`), fetchStrict(`/v1/units/${code}/history`), chainState()]);
      bundle = await fetchStrict(`/v1/products/${proof.unit.product_id}/proof`);
      reading.push("reading", true, "");
    } catch (e) {
      reading.push("reading", false, String(e.message || e));
      $("out").replaceChildren(renderChecks(w("checks"), reading));
      return verdict([reading]);
    }
    const { checks, product } = await verifyUnit(proof, bundle, chain);
    const owners = await verifyHistory(history, proof.unit_hash, code, chain);
    const r = bundle.record || {};
    const head = el("section", { class: "facts" },
      el("h2", {}, `${r.brand} — ${r.name}`),
      fact(w("serial"), `No. ${proof.unit.serial} / ${proof.unit.edition_size}`),
      fact(w("seller"), String(proof.units.seller_address)),
      fact(w("anchoredAt"), String(proof.block_time)),
      fact("code", code));
    const warn = el("section", { class: "server" }, el("h3", {}, w("serverSays")));
    if (info && info.clone_suspected) warn.append(el("p", { class: "warn", id: "clone-warning" }, `⚠ ${w("clone")}: ${w("cloneText")} (${info.scanned_from_places})`));
    if (info && info.report) warn.append(el("p", { class: "warn", id: "report-warning" }, `⚠ ${w(info.report.kind)}: ${w("reportText")}`));
    const ownersList = el("ol", { class: "owners" });
    for (const t of history.transfers || []) {
      const rec = t.record || {};
      ownersList.append(el("li", {}, `${rec.kind === "raffle_win" ? w("first") : w("transfer")} · ${String(rec.to).slice(0, 10)}… · ${rec.created_at}` + (t.anchor ? "" : ` (${w("pending")})`),
        rec.raffle_id ? el("a", { href: new URL(`/r/${rec.raffle_id}`, cfg.api).href }, ` ${w("raffle")}`) : ""));
    }
    if (!(history.transfers || []).length) ownersList.append(el("li", {}, w("noOwner")));
    $("out").replaceChildren(head, ...(warn.childElementCount > 1 ? [warn] : []), el("section", {}, el("h3", {}, w("owners")), ownersList),
      renderChecks(w("checks"), checks), renderChecks(w("owners"), owners), renderChecks(w("product"), product));
    verdict([reading, checks, owners]);
  }

  async function runProduct() {
    const reading = new Checks();
    let bundle, chain;
    try {
      [bundle, chain] = await Promise.all([fetchStrict(`/v1/products/${cfg.product}/proof`), chainState()]);
      reading.push("reading", true, "");
    } catch (e) {
      reading.push("reading", false, String(e.message || e));
      $("out").replaceChildren(renderChecks(w("checks"), reading));
      return verdict([reading]);
    }
    const checks = await verifyBundle(bundle, chain);
    const r = bundle.record || {};
    $("out").replaceChildren(el("section", { class: "facts" }, el("h2", {}, `${r.brand} — ${r.name}`),
      fact(w("seller"), String(bundle.seller_address)), fact(w("anchoredAt"), String(bundle.block_time)),
      fact("edition", String(r.edition_size))), renderChecks(w("checks"), checks));
    verdict([reading, checks]);
  }

  async function runRaffle() {
    const reading = new Checks();
    let record, list, chain;
    try {
      [record, chain] = await Promise.all([fetchStrict(`/v1/raffles/${cfg.raffle}/draw`), chainState()]);
      list = await fetchText(new URL(record.tickets_url, new URL(`/v1/raffles/${cfg.raffle}/draw`, cfg.api)).href);
      reading.push("reading", true, "");
    } catch (e) {
      reading.push("reading", false, String(e.message || e));
      $("out").replaceChildren(renderChecks(w("checks"), reading));
      return verdict([reading]);
    }
    const { checks, order } = await verifyDraw(record, list, cfg.raffle, chain);
    const k = Math.min(record.winners, order.length);
    const input = el("input", { id: "ticket", placeholder: w("ticketHint"), size: "40" });
    const answer = el("p", { id: "ticket-answer" });
    const find = el("button", { id: "find-ticket", type: "button" }, w("find"));
    find.addEventListener("click", () => {
      const t = input.value.trim().toLowerCase();
      const at = order.indexOf(t);
      answer.textContent = at < 0 ? w("notInList") : `${w("position")} ${at + 1}: ${at < k ? w("winner") : w("alternate") + " " + (at - k + 1)}`;
      answer.setAttribute("data-position", String(at + 1));
    });
    $("out").replaceChildren(el("section", { class: "facts" }, el("h2", {}, `${w("raffle")} ${record.raffle_id}`),
      fact(w("winners"), (record.winning_tickets || []).map((x) => x.slice(0, 12) + "…").join(", ") || "—"),
      fact("tickets", String(record.ticket_count))),
      el("section", {}, el("h3", {}, w("ticket")), input, " ", find, answer), renderChecks(w("checks"), checks));
    verdict([reading, checks]);
  }

  // ---- Settings and start ----
  const configElement = document.getElementById("truffle-config");
  // The page as served, before anything ran: what "Save" writes out, with the settings in it.
  const pristine = "<!doctype html>\n" + document.documentElement.outerHTML;
  const cfg = JSON.parse(configElement.textContent);
  // What to verify: a saved page names it in its settings; a served one, by its address.
  if (!cfg.kind) {
    const path = location.pathname;
    let m;
    if ((m = /^\/u\/([0-9A-Z]{20})$/.exec(path)) || (m = /^\/01\/[0-9]{14}\/21\/([0-9A-Z]{20})$/.exec(path))) Object.assign(cfg, { kind: "unit", code: m[1] });
    else if ((m = /^\/p\/([0-9a-f-]{36})$/.exec(path))) Object.assign(cfg, { kind: "product", product: m[1] });
    else if ((m = /^\/r\/([0-9a-f-]{36})$/.exec(path))) Object.assign(cfg, { kind: "raffle", raffle: m[1] });
  }
  // Served over http(s), records come from where the page came from; saved to disk, from the
  // server named in the settings. The visitor's own settings (the form, or #rpc=…&registry=…
  // &chain_id=…&confirmations=…&api=… in the address) win over both.
  if (/^https?:$/.test(location.protocol)) cfg.api = location.origin;
  const fromHash = new URLSearchParams(location.hash.slice(1));
  for (const [k, v] of fromHash) {
    if (k === "rpc") cfg.rpc = v;
    if (k === "registry") cfg.registry = v.toLowerCase();
    if (k === "chain_id") cfg.chainId = Number(v);
    if (k === "confirmations") cfg.confirmations = Math.max(1, Number(v));
    if (k === "api") cfg.api = v;
    if (k === "lang" && (v === "ko" || v === "en")) lang = v;
  }
  // This page as one file, with what it verifies and the current settings written in: opened
  // from disk, it verifies the same things against the same chain.
  function savedPage() {
    const json = JSON.stringify(cfg).replace(/</g, "\\u003c");
    return pristine.replace(/(<script type="application\/json" id="truffle-config">)[^<]*(<\/script>)/, (_, a, b) => a + json + b);
  }
  function showSettings() {
    $("set-rpc").value = cfg.rpc; $("set-registry").value = cfg.registry; $("set-chain").value = String(cfg.chainId);
    $("set-confirmations").value = String(cfg.confirmations); $("set-api").value = cfg.api;
    for (const [id, key] of [["l-rpc", "rpc"], ["l-registry", "registry"], ["l-chain", "chain"], ["l-confirmations", "confirmations"], ["l-api", "api"], ["l-settings", "settings"], ["rerun", "rerun"], ["l-title", "title"]]) $(id).textContent = w(key);
    document.documentElement.lang = lang;
  }
  async function run() {
    showSettings();
    document.body.removeAttribute("data-done");
    $("verdict").className = "verdict";
    $("verdict").textContent = w("running");
    try {
      if (cfg.kind === "unit") await runUnit();
      else if (cfg.kind === "product") await runProduct();
      else if (cfg.kind === "raffle") await runRaffle();
      else throw new Error("this address names nothing to verify");
    } catch (e) {
      const c = new Checks();
      c.push("reading", false, String(e.message || e));
      $("out").replaceChildren(renderChecks(w("checks"), c));
      verdict([c]);
    }
  }
  $("settings").addEventListener("submit", (e) => {
    e.preventDefault();
    cfg.rpc = $("set-rpc").value.trim();
    cfg.registry = $("set-registry").value.trim().toLowerCase();
    cfg.chainId = Number($("set-chain").value);
    cfg.confirmations = Math.max(1, Number($("set-confirmations").value) || 1);
    cfg.api = $("set-api").value.trim();
    run();
  });
  $("save").addEventListener("click", () => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([savedPage()], { type: "text/html" }));
    a.download = `truffle-${cfg.kind}-${cfg.code || cfg.product || cfg.raffle}.html`;
    a.click();
  });
  $("lang").addEventListener("click", () => { lang = lang === "ko" ? "en" : "ko"; $("lang").textContent = lang === "ko" ? "English" : "한국어"; run(); });
  // For tests and curious visitors: the parser and checks, callable from the console.
  window.truffleVerify = { parseStrict, recordViolations, drawOrder, listRoot, run, savedPage, cfg };
  run();
})();
