#!/usr/bin/python3
"""Writes the seed corpus of the fuzz targets: tests/fuzz/corpus/<target>/.

Run with the system Python (it needs the msgpack module, Debian package
python3-msgpack):  /usr/bin/python3 tests/fuzz/make_corpus.py
The output is committed; re-run this after changing it.  Seeds are small
valid and near-valid inputs: items from tests/corpus/labelled.jsonl, the
same items as msgpack, framed streams, conf/newsfeedd.yaml, small rules,
query requests and answers.
"""
import json
import os
import shutil
import struct
import sys

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")


def mp(obj):
    return msgpack.packb(obj, use_bin_type=True)


def js(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


class Target:
    def __init__(self, name):
        self.dir = os.path.join(OUT, name)
        os.makedirs(self.dir, exist_ok=True)
        self.names = set()

    def add(self, name, data):
        if isinstance(data, str):
            data = data.encode()
        assert name not in self.names, name
        assert len(data) <= 65536, (name, len(data))
        self.names.add(name)
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)


# ---- items -------------------------------------------------------------------

def labelled_items():
    """A few varied items of the labelled corpus, bodies cut short."""
    items = [json.loads(l)["item"] for l in open(os.path.join(ROOT, "tests/corpus/labelled.jsonl"))]
    picked, seen = [], set()
    for it in items:
        key = (it["kind"], it.get("lang"), "body" in it)
        if key in seen:
            continue
        seen.add(key)
        it = dict(it)
        if "body" in it:
            it["body"] = it["body"][:300]
        picked.append(it)
    return picked[:6]


FULL = {
    "id": "demo-1", "kind": "ticker", "title": "格隆汇7月4日丨汇景控股(09968.HK)公告 $NVDA",
    "body": "line one\nline two\twith tab", "summary": "短 summary", "source": "格隆汇",
    "author": "编辑 A", "url": "https://example.com/a?b=c#d", "lang": "en-US",
    "symbols": ["sh600519", "$AAPL", "0700.HK", "NASDAQ:MSFT", "BRK.B"], "priority": 2,
    "published": 1751622120000,
    "meta": {"desk": "asia", "n": 3, "neg": -7, "f": 1.5, "ok": True, "none": None,
             "list": [1, "two", [3, {"four": 4}]], "deep": {"a": {"b": {"c": {}}}}},
}

NEAR = {  # near-valid producer items, each wrong in one way
    "no-title": {"kind": "flash", "source": "x"},
    "empty-title": {"title": ""},
    "blank-title": {"title": "\u00a0\u3000 \t"},
    "priority-0": {"title": "t", "priority": 0},
    "priority-str": {"title": "t", "priority": "5"},
    "kind-bad": {"title": "t", "kind": "news"},
    "unknown-field": {"title": "t", "titel": "typo"},
    "daemon-field": {"title": "t", "topics": ["headline"]},
    "published-real": {"title": "t", "published": 1.72e12},
    "published-frac": {"title": "t", "published": 1.5},
    "published-neg": {"title": "t", "published": -1},
    "lang-bad": {"title": "t", "lang": "zh_CN"},
    "id-space": {"title": "t", "id": "a b"},
    "symbols-bad": {"title": "t", "symbols": ["", "toolongsymbolnameeeeeeeeeeeeeeeeeeeeee"]},
    "symbols-many": {"title": "t", "symbols": ["AAPL"] * 65},
    "meta-deep": {"title": "t", "meta": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}},
    "meta-list": {"title": "t", "meta": [1, 2]},
    "control-char": {"title": "a\u0001b"},
}


def seed_json_item():
    t = Target("fuzz-json-item")
    for i, it in enumerate(labelled_items()):
        t.add(f"labelled-{i}.json", js(it))
    t.add("full.json", js(FULL))
    t.add("minimal.json", js({"title": "Fed holds rates steady"}))
    for name, it in NEAR.items():
        t.add(f"near-{name}.json", js(it))
    t.add("near-duplicate-key.json", b'{"title":"a","title":"b"}')
    t.add("near-escapes.json", b'{"title":"\\u683c\\u9686\\u6c47 \\ud83d\\ude00 \\"q\\" \\\\","body":"\\n"}')
    t.add("near-nul-escape.json", b'{"title":"a\\u0000b"}')
    t.add("near-lone-surrogate.json", b'{"title":"\\ud800"}')
    t.add("near-bad-utf8.json", b'{"title":"\xff\xfe"}')
    t.add("near-array.json", b'[{"title":"t"}]')
    t.add("near-truncated.json", js(FULL)[:40])
    t.add("near-big-int.json", b'{"title":"t","published":123456789012345678901234567890}')
    t.add("near-exp.json", b'{"title":"t","priority":5e0,"published":1e300}')


def seed_msgpack_item():
    t = Target("fuzz-msgpack-item")
    for i, it in enumerate(labelled_items()[:4]):
        t.add(f"labelled-{i}.mp", mp(it))
    t.add("full.mp", mp(FULL))
    t.add("minimal.mp", mp({"title": "t"}))
    for name in ("no-title", "priority-0", "kind-bad", "unknown-field", "daemon-field",
                 "published-real", "meta-deep", "symbols-many"):
        t.add(f"near-{name}.mp", mp(NEAR[name]))
    published = {"v": 1, "topic": "fuzz.topic", "seq": 7, "epoch": 1795919546293, "id": "01M8",
                 "kind": "flash", "title": "证券之星消息", "source": "证券之星",
                 "topics": ["headline", "fuzz.topic"], "symbols": ["301588.SZ"], "priority": 5,
                 "received": 1795919561620, "meta": {"k": "v"}}
    t.add("published.mp", mp(published))
    t.add("published-batch.mp", mp([published, dict(published, seq=8, title="second")]))
    t.add("published-other-topic.mp", mp(dict(published, topic="headline")))
    t.add("published-v2.mp", mp(dict(published, v=2)))
    t.add("near-float32.mp", b"\x82\xa5title\xa1t\xa9published" + struct.pack(">Bf", 0xca, 1.5e12))
    t.add("near-float64-huge.mp", b"\x82\xa5title\xa1t\xa8priority" + struct.pack(">Bd", 0xcb, 1e30))
    t.add("near-meta-nul.mp", mp({"title": "t", "meta": {"k": "a\0b"}}))
    t.add("near-empty-key.mp", b"\x81\xa0\xc0")
    t.add("near-bin-title.mp", b"\x81\xa5title\xc4\x01t")
    t.add("near-ext-meta.mp", b"\x82\xa5title\xa1t\xa4meta\x81\xa1x\xd4\x01\x02")
    t.add("near-int-key.mp", b"\x81\x01\xa1t")
    t.add("near-lying-array.mp", b"\x81\xa5title\xdd\xff\xff\xff\xff")
    t.add("near-lying-map.mp", b"\xdf\x7f\xff\xff\xff")
    t.add("near-trailing.mp", mp({"title": "t"}) + b"\xc0")
    t.add("near-truncated.mp", mp(FULL)[:50])
    t.add("near-nil.mp", b"\xc0")
    t.add("near-reserved.mp", b"\xc1")
    t.add("near-uint64.mp", b"\x82\xa5title\xa1t\xa9published\xcf\xff\xff\xff\xff\xff\xff\xff\xff")


# ---- framing -------------------------------------------------------------------

def frame_hdr(max_bytes, sizes):
    # bytes 0-1: max is 1 + (value % 4096); bytes 2-5: piece sizes
    return struct.pack(">H", (max_bytes - 1) % 4096) + bytes(sizes)


def seed_framing():
    t = Target("fuzz-framing")
    items = labelled_items()[:3]
    lines = b"".join(js(it) + b"\n" for it in items)
    t.add("json-lines", frame_hdr(4096, [255, 255, 255, 255]) + lines)
    t.add("json-lines-bytewise", frame_hdr(4096, [1, 1, 1, 1]) + lines)
    t.add("json-crlf-blank", frame_hdr(1024, [7, 13, 0, 64]) +
          b'\r\n  \n{"title":"a"}\r\n\t {"title":"b"}  \n\n{"title":"c"}')
    t.add("json-too-long", frame_hdr(64, [10, 3, 200, 1]) +
          js({"title": "x" * 200}) + b"\n" + b'{"title":"short"}\n' + b"y" * 100)
    t.add("json-bad-item", frame_hdr(256, [5, 5, 5, 5]) + b'{"title":""}\n{"titel":"x"}\n[1]\n')
    frames = b"".join(struct.pack(">I", len(mp(it))) + mp(it) for it in items)
    t.add("msgpack-frames", frame_hdr(4096, [255, 255, 255, 255]) + frames)
    t.add("msgpack-frames-split", frame_hdr(4096, [3, 1, 2, 200]) + frames)
    t.add("msgpack-too-long", frame_hdr(100, [50, 50, 50, 50]) +
          struct.pack(">I", 300) + b"\x00" * 300 + struct.pack(">I", 9) + mp({"title": "ok"}))
    t.add("msgpack-empty-frame", frame_hdr(256, [2, 2, 2, 2]) +
          b"\x00\x00\x00\x00" + struct.pack(">I", 9) + mp({"title": "ok"}) + b"\x00\x00")
    t.add("msgpack-huge-length", frame_hdr(4096, [4, 4, 4, 4]) + b"\x00\xff\xff\xff" + b"\x81" * 16)
    t.add("bad-framing", frame_hdr(256, [1, 1, 1, 1]) + b"GET / HTTP/1.1\r\n\r\n")
    t.add("auth-line", frame_hdr(256, [16, 16, 16, 16]) + b'{"auth":"token"}\n{"title":"t"}\n')
    # the token fuzz_framing.c loads for producer "fuzz"
    t.add("auth-line-ok", frame_hdr(256, [9, 40, 3, 3]) +
          b'{"auth":"s3cret-token-0123456789"}\n{"title":"t"}\n')
    auth = mp({"auth": "s3cret-token-0123456789"})
    t.add("auth-msgpack-ok", frame_hdr(256, [4, 30, 1, 8]) + struct.pack(">I", len(auth)) + auth +
          struct.pack(">I", 9) + mp({"title": "ok"}))


# ---- config ----------------------------------------------------------------------

def seed_config():
    t = Target("fuzz-config")
    t.add("newsfeedd.yaml", open(os.path.join(ROOT, "conf/newsfeedd.yaml"), "rb").read())
    t.add("empty.yaml", b"")
    t.add("null.yaml", b"~\n")
    t.add("minimal.yaml", b"ingest:\n  listen: tcp://127.0.0.1:7450\n")
    t.add("lists.yaml", b"ingest:\n  listen: [tcp://127.0.0.1:1, ipc:///tmp/x.sock]\n"
          b"  ipc_mode: \"0660\"\n  max_item_bytes: 65536\npublish:\n  listen:\n"
          b"    - tcp://127.0.0.1:7451\n    - ws://127.0.0.1:7454/feed\n  batch: yes\n")
    t.add("tls.yaml", b"publish:\n  listen: tls+tcp://0.0.0.0:7455\ntls:\n  cert: c.pem\n  key: /k.pem\n")
    t.add("paths.yaml", b"tagging:\n  rules: rules.yaml\ndata_dir: \"\"\ningest:\n  tokens_file: tokens\n"
          b"log:\n  level: debug\njournal:\n  fsync: batch\n  batch_ms: 10\n")
    t.add("flow.yaml", b"{metrics: {listen: \"off\"}, query: {listen: 'inproc://q'}, "
          b"history: {max_items: 10, max_bytes: 0}, dedup: {window_seconds: 60, max_ids: 5}}")
    t.add("near-unknown-key.yaml", b"ingest:\n  lisen: tcp://x\n")
    t.add("near-range.yaml", b"ingest:\n  max_item_bytes: 1\n")
    t.add("near-type.yaml", b"publish:\n  batch: maybe\n")
    t.add("near-two-docs.yaml", b"a: 1\n---\nb: 2\n")
    t.add("near-anchor.yaml", b"ingest: &a\n  listen: tcp://x\npublish: *a\n")
    t.add("near-bad-url.yaml", b"ingest:\n  listen: udp://1.2.3.4:5\n")
    t.add("near-octal.yaml", b"ingest:\n  ipc_mode: 0999\n")
    t.add("near-section-scalar.yaml", b"journal: 3\n")


# ---- rules -----------------------------------------------------------------------

SMALL_RULES = """\
version: 1
dictionary: symbols.yaml
weights: {title: 3, summary: 2, body: 1}
topics:
  headline:
    description: "every item"
    all: true
  finance.market:
    threshold: 3
    terms:
      - weight: 3
        match: [沪指, 恒生指数, "stock market", Nasdaq]
      - match: [股价, shares]
      - 报收于
    exclude:
      - fields: [title]
        match: [足球]
  finance.company:
    terms:
      - weight: 2
        fields: [title, summary]
        match: [公告, 配售, earnings]
    implies: [finance]
  finance:
    priority: 3
  finance.flash:
    kinds: [flash]
    from: [finance.market, finance.company]
    symbols: true
    sources: [格隆汇, ＳＯＵＲＣＥ, Reuters]
  tech.ai:
    terms:
      - match: [人工智能, "AI", ＡＩ, chips]
    compact: true
  sports:
    terms: [英超, football, 冠军]
    exclude: [销量冠军]
"""


def seed_rules():
    t = Target("fuzz-rules")
    t.add("small.yaml", SMALL_RULES)
    t.add("no-dictionary.yaml", SMALL_RULES.replace("dictionary: symbols.yaml\n", ""))
    t.add("minimal.yaml", "version: 1\ntopics:\n  headline:\n    all: true\n")
    t.add("null-topic.yaml", "topics:\n  a:\n  b: ~\n")
    t.add("near-cycle.yaml", "topics:\n  a: {from: [b]}\n  b: {implies: [a]}\n")
    t.add("near-self-implies.yaml", "topics:\n  a: {implies: [a]}\n")
    t.add("near-sym-topic.yaml", "topics:\n  sym.AAPL.US: {all: true}\n")
    t.add("near-unknown-ref.yaml", "topics:\n  a: {from: [nope]}\n")
    t.add("near-missing-dictionary.yaml", "dictionary: missing.yaml\ntopics:\n  a: {all: true}\n")
    t.add("near-bad-term.yaml", "topics:\n  a:\n    terms:\n      - match: [\"  \"]\n")
    t.add("near-bad-weight.yaml", "topics:\n  a:\n    terms:\n      - weight: 0\n        match: [x]\n")
    t.add("near-no-topics.yaml", "version: 1\n")
    t.add("near-unknown-key.yaml", "topics:\n  a: {colour: red}\n" + "x" * 10)
    t.add("near-long-key.yaml", "topics:\n  a:\n    " + "键" * 400 + ": 1\n")
    # the shipped rules, whole: the largest realistic input
    t.add("rules.yaml", open(os.path.join(ROOT, "conf/rules.yaml"), "rb").read())


# ---- YAML ------------------------------------------------------------------------

def seed_yaml_items():
    t = Target("fuzz-yaml-items")
    t.add("items.yaml", "kind: flash\nsource: 格隆汇\ntitle: 汇景控股(09968.HK)公告\n---\n"
          "title: Fed holds rates steady\nbody: |\n  line one\n  line two\nsymbols: [AAPL, sh600519]\n"
          "priority: 2\nmeta:\n  desk: asia\n  tags: [a, b]\n...\n")
    t.add("items-more.yaml", "--- {title: \"2025\", kind: ticker, priority: 1, published: 1751622120000}\n"
          "---\ntitle: 'Apple Inc shares rise'\nlang: en\nsymbols:\n  - $AAPL\n  - NASDAQ:MSFT\n"
          "meta: {n: 1, f: 1.5, ok: true, none: ~, list: [a, [b]]}\n---\n~\n---\n"
          "title: \"\\0 nul\"\nurl: \"https://x/\\u00e9\"\n---\ntitle: t\ntopics: [headline]\n")
    t.add("newsfeedd.yaml", open(os.path.join(ROOT, "conf/newsfeedd.yaml"), "rb").read())
    t.add("rules.yaml", SMALL_RULES)
    t.add("scalars.yaml", "- plain\n- 'single ''q'''\n- \"double \\u683c \\x41 \\n\"\n- >\n  folded\n  text\n"
          "- ~\n- null\n- true\n- Off\n- 0777\n- -12\n- 99999999999999999999\n- ''\n")
    t.add("flow.yaml", "{a: [1, 2, {b: c}], d: {e: [f, [g, [h]]]}, ? complex : key}")
    t.add("near-anchor.yaml", "a: &x 1\nb: *x\n")
    t.add("near-dup.yaml", "a: 1\nb: 2\na: 3\n")
    t.add("near-complex-key.yaml", "? [a, b]\n: c\n")
    t.add("near-deep.yaml", "[" * 70 + "]" * 70)
    t.add("near-tab.yaml", "a:\n\tb: 1\n")
    t.add("near-unclosed.yaml", "a: \"unclosed\nb: [1, 2\n")
    t.add("tags.yaml", "!!str a: !!int 1\n%YAML 1.1\n---\n!foo b\n")
    t.add("bom.yaml", b"\xef\xbb\xbfa: 1\n")
    t.add("near-bad-utf8.yaml", b"a: \xff\n")


# ---- query -------------------------------------------------------------------------

def seed_query():
    t = Target("fuzz-query")
    t.add("stats.mp", mp({"op": "stats"}))
    t.add("topics.mp", mp({"op": "topics"}))
    t.add("reload.mp", mp({"op": "reload"}))
    t.add("history.mp", mp({"op": "history", "topic": "headline", "since": 0, "limit": 10}))
    t.add("history-big-limit.mp", mp({"op": "history", "topic": "finance.flash", "limit": 2**64 - 1}))
    for i, it in enumerate(labelled_items()[:3]):
        t.add(f"tag-labelled-{i}.mp", mp({"op": "tag", "item": it}))
    t.add("tag-full.mp", mp({"op": "tag", "item": FULL}))
    t.add("tag-symbols.mp", mp({"op": "tag", "item": {"title": "苹果公司与贵州茅台(600519) $TSLA 0700.HK",
                                                       "symbols": ["sz000001", "HK:9988"]}}))
    t.add("near-tag-bad-symbol.mp", mp({"op": "tag", "item": {"title": "t", "symbols": ["??"]}}))
    t.add("near-tag-no-item.mp", mp({"op": "tag"}))
    t.add("near-tag-item-list.mp", mp({"op": "tag", "item": [1]}))
    t.add("near-history-no-topic.mp", mp({"op": "history"}))
    t.add("near-history-bad-topic.mp", mp({"op": "history", "topic": "a..b"}))
    t.add("near-history-neg.mp", mp({"op": "history", "topic": "a", "since": -1}))
    t.add("near-op-int.mp", mp({"op": 1}))
    t.add("near-unknown-op.mp", mp({"op": "drop"}))
    t.add("near-array.mp", mp(["op", "stats"]))
    t.add("near-truncated.mp", mp({"op": "tag", "item": FULL})[:30])


# ---- answers -------------------------------------------------------------------------

ANSWERS = [
    {"ok": True, "item": 1, "id": "01M8JJAV6Y8G1PWTFFQ7K5CDRF",
     "topics": ["headline", "finance.company", "sym.09968.HK"],
     "seq": {"headline": 12, "finance.company": 3, "sym.09968.HK": 1}},
    {"ok": True, "item": 2, "id": "demo-1", "topics": ["headline"], "seq": {"headline": 13},
     "duplicate": True},
    {"ok": False, "item": 3, "field": "title", "error": "must not be empty"},
    {"ok": False, "error": "unknown framing: send JSON Lines"},
    {"ok": True, "auth": "scraper-1"},
    {"ok": False, "field": "auth", "error": "authentication failed"},
]


def seed_answer():
    t = Target("fuzz-answer")
    for i, a in enumerate(ANSWERS):
        t.add(f"answer-{i}.json", js(a))
        t.add(f"answer-{i}.mp", mp(a))
    t.add("near-topics-no-seq.json", js({"ok": True, "id": "x", "topics": ["a", 1, "b"]}))
    t.add("near-long-strings.json", js({"ok": False, "field": "键" * 40, "error": "错" * 120,
                                        "id": "i" * 200, "topics": ["t" * 200]}))
    t.add("near-long-strings.mp", mp({"ok": False, "field": "键" * 40, "error": "错" * 120}))
    t.add("near-types.mp", mp({"ok": 1, "item": -1, "id": 5, "topics": "x", "seq": [1]}))
    t.add("near-not-map.json", b"[true]")
    t.add("near-truncated.mp", mp(ANSWERS[0])[:20])


# ---- text (fold, symbols) ---------------------------------------------------------

def seed_text():
    t = Target("fuzz-text")
    for i, it in enumerate(labelled_items()[:4]):
        t.add(f"labelled-{i}.txt", it["title"])
    t.add("symbols.txt", "600519.SH sh600519 SZ.000001 HK:0700 (09988) (301588) 股票代码：430047 "
          "$AAPL NASDAQ: MSFT nyse:brk.b BRK.B.US aapl.us 0700.HK 000001.SH NYSE American: XYZ")
    t.add("width.txt", "ＡＢＣ　ｘｙｚ！～ＮＡＳＤＡＱ：ＡＡＰＬ（６００５１９）\uff01".encode())
    t.add("mixed.txt", b"AbC\xef\xbc\xa1\xe3\x80\x80\xef\xbc\xef\xbd\x9e\xe3\x80ZZ\xef")
    t.add("words.txt", "$aapl 600519 0700.hk hk:700 nasdaq:aapl BRK-B 123456 $ AAPL.US.US")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for f in (seed_json_item, seed_msgpack_item, seed_framing, seed_config, seed_rules,
              seed_yaml_items, seed_query, seed_answer, seed_text):
        f()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"make_corpus.py: {total} bytes in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
