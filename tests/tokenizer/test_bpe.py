#!/usr/bin/env python3
"""GPT-2 BPE: `moncim tokenize` against the JavaScript reference encoder (gpt-3-encoder@1.1.4,
run by node through tests/tokenizer/bpe_reference.js) on the whole King James Bible and a list
of hard cases; decode(encode(s)) == s on all of them; --json; clear errors on broken files.

usage: test_bpe.py --moncim BIN --src SRCDIR --work DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HARD = {
    "contractions": "I'm you're they've we'll he'd it's don't can't 'S 'LL O'Neil rock'n'roll ''s",
    "spaces": "a  b   c    d\t\te \t \n  f   ",
    "newlines": "line\n\nline\n\n\n  \n\t\nend\n\n",
    "leading_trailing": "   leading and trailing   ",
    "only_space": "     ",
    "crlf": "dos\r\nlines\r\n\r\n",
    "digits": "0 12 345 6789 3.14159 1,000,000 007 2024-12-04 x86_64 1e-10 ١٢٣ ½ Ⅻ",
    "punctuation": "!!! ?!?! ... --- ,,, ;;; :-) (a,b),(c,d) \"quoted\" [x] {y} <z> @#$%^&*_+=|\\/~`",
    "commas": "a,,b ,, ,,, x,y,z ,a, Ġ,,Ġ",
    "latin": "naïve café Ñandú Straße façade Ærøskøbing İstanbul",
    "scripts": "Ελληνικά русский 日本語のテキスト 한국어 עברית العربية हिन्दी ไทย",
    "combining": "e\u0301 a\u0308o\u0308 n\u0303",
    "emoji": "😀👍🏽 👨\u200d👩\u200d👧 🇫🇷🇩🇪 ❤️ ☃",
    "unicode_space": "a\u00a0b\u2009c\u3000d\u200be\ufefff\u0085g\u2028h",
    "mixed": "Hello, World! It's 3:00pm -- time   for  tea\u2026 ☕ 😀.\n",
}
BAD_UTF8 = {
    "invalid_ff": b"\xff\xfe",
    "invalid_mixed": b" \xffword \xc3( \xe2\x82 end\x80\x80!! ",
    "overlong": b"\xc0\xaf\xe0\x80\xaf slash",
    "surrogate": b"\xed\xa0\x80\xed\xbf\xbf x",
    "above_max": b"\xf4\x90\x80\x80 \xf5\xf8\xfc",
    "truncated_end": b"abc \xf0\x9f\x98",
    "latin1": "caf\xe9 na\xefve".encode("latin-1"),
}


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moncim", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    fetch = run(["bash", os.path.join(a.src, "scripts/fetch-gpt2-tokenizer.sh")], text=True)
    if fetch.returncode:
        sys.exit("fetch-gpt2-tokenizer failed:\n" + fetch.stderr)
    tokdir = fetch.stdout.strip()
    ref_js = os.path.join(a.src, "tests/tokenizer/bpe_reference.js")
    node = shutil.which("node") or sys.exit("node not found (scripts/setup.sh installs nodejs)")

    cases = {k: v.encode("utf-8") for k, v in HARD.items()}
    cases.update(BAD_UTF8)
    cases["empty"] = b""
    cases["all_bytes"] = bytes(range(256))
    kjv = run(["bible", "-f", "gen1:1-rev22:21"])
    if kjv.returncode or len(kjv.stdout) < 4_000_000:
        sys.exit("bible -f gen1:1-rev22:21 failed (Debian bible-kjv)")
    cases["kjv"] = kjv.stdout
    failures = 0
    for name, data in cases.items():
        path = os.path.join(a.work, name + ".txt")
        with open(path, "wb") as f:
            f.write(data)
        c = run([a.moncim, "tokenize", "--model", tokdir, "--text", path])
        j = run([node, ref_js, os.path.join(tokdir, "package"), path])
        if c.returncode or j.returncode:
            print(f"{name}: moncim rc {c.returncode} {c.stderr.decode()!r}, "
                  f"node rc {j.returncode} {j.stderr.decode()!r}")
            failures += 1
            continue
        ci, ji = c.stdout.split(), j.stdout.split()
        if ci != ji:
            k = next((i for i, (x, y) in enumerate(zip(ci, ji)) if x != y), min(len(ci), len(ji)))
            print(f"{name}: ids differ at {k}: moncim {ci[k:k+8]} vs reference {ji[k:k+8]}")
            failures += 1
        ids_path = path + ".ids"
        with open(ids_path, "wb") as f:
            f.write(c.stdout)
        d = run([a.moncim, "tokenize", "--model", tokdir, "--text", ids_path, "--decode"])
        if d.returncode or d.stdout != data:
            print(f"{name}: decode(encode(s)) != s (rc {d.returncode})")
            failures += 1
        print(f"{name}: {len(data)} bytes, {len(ci)} tokens" + ("" if ci == ji else " MISMATCH"))

    # --json holds the same ids as an array "ids", and --decode reads it back
    path = os.path.join(a.work, "mixed.txt")
    c = run([a.moncim, "tokenize", "--model", tokdir, "--text", path, "--json"])
    o = json.loads(c.stdout)
    plain = run([a.moncim, "tokenize", "--model", tokdir, "--text", path]).stdout.split()
    if o["ids"] != [int(x) for x in plain] or o["tokens"] != len(plain) or o["tokenizer"] != "gpt2-bpe":
        print("--json: ids/tokens disagree with the plain output")
        failures += 1
    with open(path + ".json", "w") as f:
        f.write(c.stdout.decode())
    d = run([a.moncim, "tokenize", "--model", tokdir, "--text", path + ".json", "--decode"])
    if d.stdout != HARD["mixed"].encode():
        print("--decode of --json output does not give the text back")
        failures += 1

    # broken tokenizer files: an error naming the file (and line), never a crash
    bad = os.path.join(a.work, "bad")
    os.makedirs(bad)
    shutil.copy(os.path.join(tokdir, "vocab.json"), bad)
    with open(os.path.join(tokdir, "merges.txt"), "rb") as f:
        lines = f.read().split(b"\n")
    lines[7] = b"\xc4\xa0t"  # one token only
    with open(os.path.join(bad, "merges.txt"), "wb") as f:
        f.write(b"\n".join(lines))
    r = run([a.moncim, "tokenize", "--model", bad, "--text", path])
    if r.returncode != 1 or b"merges.txt:8:" not in r.stderr:
        print(f"bad merges.txt: rc {r.returncode}, {r.stderr!r}")
        failures += 1
    with open(os.path.join(bad, "vocab.json"), "w") as f:
        f.write('{"a": 0, "b": 0}')
    r = run([a.moncim, "tokenize", "--model", bad, "--text", path])
    if r.returncode != 1 or b"vocab.json" not in r.stderr or b"id 0" not in r.stderr:
        print(f"bad vocab.json: rc {r.returncode}, {r.stderr!r}")
        failures += 1
    r = run([a.moncim, "tokenize", "--model", tokdir, "--text", path + ".nope"])
    if r.returncode != 1 or b".nope" not in r.stderr:
        print(f"missing text file: rc {r.returncode}, {r.stderr!r}")
        failures += 1
    with open(ids_path, "w") as f:
        f.write("1 2 50257")
    r = run([a.moncim, "tokenize", "--model", tokdir, "--text", ids_path, "--decode"])
    if r.returncode != 1 or b"50257" not in r.stderr:
        print(f"out-of-range id: rc {r.returncode}, {r.stderr!r}")
        failures += 1
    print("FAIL" if failures else "OK")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
