"""Prompt-pair generators for the four built-in tasks.

- ``ioi``: "When Mary and John went to the store, John gave a drink to" -> " Mary"
  (ABBA and BABA orders over four templates). Negative: the second mention of the
  subject is a third name (ABC), so nothing marks which of the first two names is the
  indirect object. Metric: logit(IO) - logit(S).
- ``greater_than``: "The war lasted from the year 1732 to the year 17" -> a year above
  32 (start years 02..98). Negative: start year XX01, which says nothing about YY.
  Metric: mean logit of the years above YY minus mean logit of the years at or below.
  A word-level tokenizer writes the year as two tokens ("17 32"), which is exactly how
  GPT-2's BPE splits it.
- ``docstring``: a Python function whose docstring documents some of its arguments in
  order; predict the argument that follows the last documented one. Negative: the
  documented names are replaced by random names that are not arguments, so nothing
  says where in the signature the docstring has got to. For BPE models the documented
  arguments are the first k (Heimersheim & Janiak's task); for the organism they are an
  in-order subset with gaps, so counting ``:param`` lines cannot solve it.
- ``induction``: a random word sequence repeated in part: "w0 A B C D E A B C" -> " D".
  Negative: the first copy is replaced by fresh words, so nothing repeats.
  Metric: logit(next word) - mean logit of the other words of the sequence.

Positives and negatives of a pair have the same number of tokens (patching needs it);
generators check this and redraw any pair that fails.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Callable, Optional

from ..engine.validation import MAX_PROMPTS_PER_SIDE
from ..settings import Settings
from . import words as W
from .task import Head, Task

TASK_NAMES: tuple[str, ...] = ("ioi", "greater_than", "docstring", "induction")

IOI_TEMPLATES: tuple[str, ...] = (
    "When {A} and {B} went to the {place}, {S} gave a {obj} to",
    "Then, {A} and {B} had a lot of fun at the {place}. {S} gave a {obj} to",
    "After {A} and {B} went to the {place}, {S} handed a {obj} to",
    "While {A} and {B} were working at the {place}, {S} gave a {obj} to",
)

GT_TEMPLATE = "The {event} lasted from the year {start} to the year {century}"

DOC_TEMPLATE = 'def {fn}(self, {args}):\n    """{desc}\n\n{params}    :param'

_PUBLISHED: dict[tuple[str, str], Sequence[str]] = {
    ("gpt2", "ioi"): (
        "0.1 0.10 2.2 3.0 4.11 5.5 5.8 5.9 6.9 7.3 7.9 8.6 8.10 9.6 9.7 9.9 "
        "10.0 10.1 10.2 10.6 10.7 10.10 11.2 11.3 11.9 11.10"
    ).split(),
    ("gpt2", "greater_than"): "0.1 0.3 0.5 5.5 6.1 6.9 7.10 8.11 9.1".split(),
    ("attn-only-4l", "docstring"): "0.5 1.0 1.4 2.0 3.0 3.6".split(),
}


# ----------------------------------------------------------------------------- helpers
def _single_id(tokenizer: Any, text: str) -> Optional[int]:
    """The id of ``text`` if the tokenizer encodes it as exactly one known token."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) != 1:
        return None
    if tokenizer.unk_token_id is not None and ids[0] == tokenizer.unk_token_id:
        return None
    return int(ids[0])


def _pool(tokenizer: Any, words: tuple[str, ...], need: int, what: str) -> list[str]:
    """Words of ``words`` that are one token with a leading space; at least ``need``."""
    out = [w for w in dict.fromkeys(words) if _single_id(tokenizer, " " + w) is not None]
    if len(out) < need:
        raise ValueError(
            f"the model's tokenizer has only {len(out)} single-token {what} (need {need}); "
            "use a model whose vocabulary covers the task words (e.g. the organism or GPT-2)"
        )
    return out


def _n_tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False))


def model_name(model: Any) -> str:
    """The model's name as recorded in its config ('' when unknown)."""
    return str(getattr(getattr(model, "cfg", None), "model_name", "") or "")


def _get_tokenizer(model: Any) -> Any:
    tok = getattr(model, "tokenizer", None)
    if tok is None:
        raise ValueError("the model has no tokenizer; tasks need one to build prompts and answers")
    return tok


def _heads(items: list[str]) -> frozenset[Head]:
    return frozenset((int(s.split(".")[0]), int(s.split(".")[1])) for s in items)


def published_ground_truth(model_key: str, task_name: str) -> Optional[frozenset[Head]]:
    """Published head sets: ("gpt2", "ioi"), ("gpt2", "greater_than"),
    ("attn-only-4l", "docstring"); None otherwise.

    Example:
        >>> len(published_ground_truth("gpt2", "ioi"))
        26
    """
    items = _PUBLISHED.get((model_key, task_name))
    return None if items is None else _heads(list(items))


def _published_key(model: Any) -> Optional[str]:
    name = model_name(model).lower().split("/")[-1]
    if name in ("gpt2", "gpt2-small"):
        return "gpt2"
    if "attn-only-4l" in name:
        return "attn-only-4l"
    return None


CircuitSource = Callable[[Any], Optional[dict]]
"""``source(model)`` -> circuits in the layout of the organism's circuits.json
(``{"tasks": {name: {"heads": [[l, h], ...], "edges": [...], "patching": {...}}}}``), or None."""

_CIRCUIT_SOURCES: dict[str, CircuitSource] = {}


def register_circuits(name: str, source: CircuitSource) -> None:
    """Attach causally derived circuits to every model whose config name is ``name``.

    ``get_task`` then takes ``Task.ground_truth`` (and ``ground_truths``, edges) from
    ``source(model)["tasks"][task_name]`` instead of the published circuits. The organism
    registers its circuits.json this way (``organism.model``), so this module needs no
    knowledge of where a model's files live.

    Example:
        >>> register_circuits("my-model", lambda model: {"tasks": {"ioi": {"heads": [[0, 1]]}}})
        >>> _circuit_entry(type("M", (), {"cfg": type("C", (), {"model_name": "my-model"})})(), "ioi")
        {'heads': [[0, 1]]}
        >>> del _CIRCUIT_SOURCES["my-model"]
    """
    _CIRCUIT_SOURCES[name] = source


def _head_set(items) -> frozenset[Head]:
    return frozenset((int(layer), int(h)) for layer, h in items)


def _edge_set(items) -> frozenset[tuple[Head, Head]]:
    return frozenset(((int(a[0]), int(a[1])), (int(b[0]), int(b[1]))) for a, b in items)


GroundTruths = tuple[Optional[dict[str, frozenset[Head]]], Optional[dict[str, frozenset[tuple[Head, Head]]]]]


def _circuit_entry(model: Any, task_name: str) -> Optional[dict]:
    """The registered circuits of ``model`` for one task (None: none registered or known)."""
    source = _CIRCUIT_SOURCES.get(model_name(model))
    data = source(model) if source is not None else None
    if not data or task_name not in data.get("tasks", {}):
        return None
    return data["tasks"][task_name]


def _ground_truth(model: Any, task_name: str) -> tuple[Optional[frozenset[Head]], Optional[frozenset[tuple[Head, Head]]]]:
    if model_name(model) in _CIRCUIT_SOURCES:
        entry = _circuit_entry(model, task_name)
        if entry is None:
            return None, None
        return _head_set(entry["heads"]), _edge_set(entry.get("edges", []))
    key = _published_key(model)
    if key is None:
        return None, None
    return published_ground_truth(key, task_name), None


def _ground_truths(model: Any, task_name: str) -> GroundTruths:
    """Registered circuits under each definition: ``"mean_ablation"`` and ``"patching"``.

    ``({name: heads}, {name: edges})`` from the registered source (the organism's
    circuits.json); None for other models, for a task without a circuit, and (edges)
    when no definition has edges.
    """
    entry = _circuit_entry(model, task_name)
    if entry is None:
        return None, None
    defs = {"mean_ablation": entry}
    if "patching" in entry:
        defs["patching"] = entry["patching"]
    heads = {name: _head_set(d["heads"]) for name, d in defs.items()}
    edges = {name: _edge_set(d["edges"]) for name, d in defs.items() if "edges" in d}
    return heads, edges or None


def _aligned_pairs(tok: Any, n: int, draw: Callable[[], tuple]) -> tuple[dict, list]:
    """Call ``draw()`` until ``n`` pairs have a positive and a negative of one token count.

    ``draw()`` returns ``(positive, negative, answer, correct_ids, incorrect_ids, extra)``;
    the task's columns come back as a dict, with each kept pair's ``extra`` in a list.
    """
    cols: dict[str, list] = {k: [] for k in ("positives", "negatives", "answers", "correct_ids", "incorrect_ids")}
    extras: list = []
    while len(cols["positives"]) < n:
        p, q, answer, good, bad, extra = draw()
        if _n_tokens(tok, p) != _n_tokens(tok, q):
            continue
        for key, value in zip(cols, (p, q, answer, good, bad)):
            cols[key].append(value)
        extras.append(extra)
    return cols, extras


# ----------------------------------------------------------------------------- IOI
def _ioi(tok: Any, n: int, rng: random.Random) -> dict:
    names = _pool(tok, W.NAMES, 3, "names")
    places = _pool(tok, W.PLACES, 1, "places")
    objs = _pool(tok, W.OBJECTS, 1, "objects")
    unk = tok.unk_token_id
    templates = [t for t in IOI_TEMPLATES
                 if unk not in tok.encode(t.format(A=names[0], B=names[1], S=names[0], place=places[0], obj=objs[0]),
                                          add_special_tokens=False)]
    if not templates:
        raise ValueError("no IOI template is fully covered by the model's vocabulary; "
                         "use a tokenizer that knows the template words ('When', 'went', 'gave', ...)")
    # Keep the templates of the most common token length, so every prompt of the task has
    # one length and mean ablation can use per-position means.
    lens = [_n_tokens(tok, t.format(A=names[0], B=names[1], S=names[0], place=places[0], obj=objs[0]))
            for t in templates]
    modal = max(sorted(set(lens)), key=lens.count)
    templates = [t for t, n_ in zip(templates, lens) if n_ == modal]

    def draw() -> tuple:
        io, s, c = rng.sample(names, 3)
        tpl = rng.choice(templates)
        abba = rng.random() < 0.5
        a, b = (io, s) if abba else (s, io)
        place, obj = rng.choice(places), rng.choice(objs)
        return (tpl.format(A=a, B=b, S=s, place=place, obj=obj), tpl.format(A=a, B=b, S=c, place=place, obj=obj),
                " " + io, (_single_id(tok, " " + io),), (_single_id(tok, " " + s),), "ABBA" if abba else "BABA")

    cols, order = _aligned_pairs(tok, n, draw)
    return dict(**cols,
                description="Indirect object identification: predict the name that is not repeated.",
                meta={"order": order, "chance_top1": 0.5,
                      "chance_note": "the ABC negative leaves the two first names equally likely"})


# ----------------------------------------------------------------------------- greater-than
def _bpe_years(tok: Any) -> bool:
    """True when the tokenizer splits " 1732" into " 17" + "32" (GPT-2 style)."""
    whole = tok.encode(" 1732", add_special_tokens=False)
    parts = tok.encode(" 17", add_special_tokens=False) + tok.encode("32", add_special_tokens=False)
    return whole == parts and len(whole) == 2


def greater_than_text(tok: Any, event: str, century: int, yy: int) -> tuple[str, str]:
    """(prompt, year-token prefix) for one greater-than prompt in the tokenizer's style.

    Example:
        >>> from sae_circuits_widget.testing import tiny_model
        >>> greater_than_text(tiny_model().tokenizer, "war", 17, 32)[0]
        'The war lasted from the year 17 32 to the year 17'
    """
    start = f"{century:02d}{yy:02d}" if _bpe_years(tok) else f"{century:02d} {yy:02d}"
    return GT_TEMPLATE.format(event=event, start=start, century=f"{century:02d}"), ("" if _bpe_years(tok) else " ")


def _year_ids(tok: Any) -> dict[int, int]:
    prefix = "" if _bpe_years(tok) else " "
    out = {}
    for y in range(100):
        i = _single_id(tok, f"{prefix}{y:02d}")
        if i is not None:
            out[y] = i
    return out


def _greater_than(tok: Any, n: int, rng: random.Random) -> dict:
    events = _pool(tok, W.EVENTS, 1, "event nouns")
    ids = _year_ids(tok)
    centuries = [c for c in range(12, 20) if c in ids]
    if len(ids) < 100 or not centuries:
        raise ValueError(
            "greater_than needs every two-digit number 00..99 as a single token; "
            "this tokenizer lacks some; use the organism or GPT-2"
        )

    def draw() -> tuple:
        yy = rng.randint(2, 98)
        century = rng.choice(centuries)
        event = rng.choice(events)
        p, _ = greater_than_text(tok, event, century, yy)
        q, _ = greater_than_text(tok, event, century, 1)
        return (p, q, f"{yy + 1:02d}", tuple(ids[y] for y in range(yy + 1, 100)),
                tuple(ids[y] for y in range(0, yy + 1)), yy)

    cols, yys = _aligned_pairs(tok, n, draw)
    chance = sum((99 - y) / 100 for y in yys) / len(yys)
    return dict(**cols,
                description="Greater-than: the end year should be above the start year.",
                meta={"start_yy": yys, "chance_prob_above": chance,
                      "chance_note": "probability on years above YY if the model ignored YY (uniform over 00..99)"})


# ----------------------------------------------------------------------------- docstring
def docstring_text(fn: str, args: list[str], doc: list[tuple[str, str, str]], desc: list[str]) -> str:
    """One docstring prompt: ``doc`` lists (name, description words...) for each :param line."""
    params = "".join(f"    :param {a}: {' '.join(ws)}\n" for a, *ws in doc)
    return DOC_TEMPLATE.format(fn=fn, args=", ".join(args), desc=" ".join(desc), params=params)


def sample_docstring(tok_pools: dict, rng: random.Random, gaps: bool, fixed_shape: bool = False) -> dict:
    """Draw one docstring example (shared with the organism's training data).

    ``fixed_shape``: 6 arguments, 2 documented, 2 description words per line (every
    prompt has the same token count; which arguments are documented still varies).
    """
    n_args = 6 if fixed_shape else rng.randint(4, 6)
    args = rng.sample(tok_pools["args"], n_args)
    k = 2 if fixed_shape else rng.randint(1, 3)
    if gaps:
        last = rng.randint(k - 1, n_args - 2)
        earlier = sorted(rng.sample(range(last), k - 1)) if k > 1 else []
        documented = earlier + [last]
    else:
        k = min(k, n_args - 1)
        documented = list(range(k))
    answer = args[documented[-1] + 1]
    fn = rng.choice([f for f in tok_pools["funcs"] if f not in args])
    desc = rng.sample(tok_pools["desc"], 3)
    # organism (gaps): 1-3 description words per :param line, so the last documented name
    # sits at no fixed offset from the end; BPE models: two words, as in the published task.
    dwords = [tuple(rng.sample(tok_pools["desc"], rng.randint(1, 3) if gaps and not fixed_shape else 2))
              for _ in documented]
    others = [a for a in tok_pools["args"] if a not in args]
    rnd = rng.sample(others, len(documented))
    doc_pos = [(args[i], *dwords[j]) for j, i in enumerate(documented)]
    doc_neg = [(rnd[j], *dwords[j]) for j in range(len(documented))]
    return dict(args=args, documented=documented, answer=answer, fn=fn, desc=desc,
                positive=docstring_text(fn, args, doc_pos, desc),
                negative=docstring_text(fn, args, doc_neg, desc))


def _docstring(tok: Any, n: int, rng: random.Random, gaps: bool) -> dict:
    pools = {"args": _pool(tok, W.ARG_NAMES, 12, "argument names"),
             "funcs": _pool(tok, W.FUNC_NAMES, 2, "function names"),
             "desc": _pool(tok, W.DESC_WORDS, 4, "description words")}

    def draw() -> tuple:
        ex = sample_docstring(pools, rng, gaps, fixed_shape=True)
        return (ex["positive"], ex["negative"], " " + ex["answer"], (_single_id(tok, " " + ex["answer"]),),
                tuple(_single_id(tok, " " + a) for a in ex["args"] if a != ex["answer"]),
                # Best guess without the documented names: any argument after the k-th.
                1.0 / (len(ex["args"]) - len(ex["documented"])))

    cols, chance = _aligned_pairs(tok, n, draw)
    return dict(**cols,
                description="Docstring: predict the argument after the last documented one.",
                meta={"gaps": gaps, "chance_top1": sum(chance) / len(chance),
                      "chance_note": "best guess among the arguments from the number of :param lines alone"})


# ----------------------------------------------------------------------------- induction
def sample_induction(pool: list[str], rng: random.Random, total: int | None = None) -> dict:
    """Draw one induction example (shared with the organism's training data).

    ``total``: fix the number of words after the first (sequence length m plus repeated
    prefix j), so every prompt has the same token count.
    """
    hi = min(8, (len(pool) - 1) // 2)
    m = rng.randint(min(5, hi), hi)
    if total is not None:
        m = rng.randint(max(3, (total + 2) // 2), min(hi, total - 2))
    chosen = rng.sample(pool, 2 * m + 1)
    w0, seq, fresh = chosen[0], chosen[1:m + 1], chosen[m + 1:]
    j = total - m if total is not None else rng.randint(2, m - 1)
    return dict(seq=seq, j=j, answer=seq[j],
                positive=" ".join([w0, *seq, *seq[:j]]),
                negative=" ".join([w0, *fresh, *seq[:j]]))


def _induction(tok: Any, n: int, rng: random.Random) -> dict:
    try:
        pool = _pool(tok, W.FILLER_WORDS + W.DESC_WORDS + W.ARG_NAMES, 17, "words")
    except ValueError:  # small vocabularies: any alphabetic single-token word will do
        vocab = [w.lstrip("\u0120 ") for w in tok.get_vocab()]
        pool = _pool(tok, tuple(sorted(w for w in vocab if w.isalpha())), 7, "words")

    def draw() -> tuple:
        ex = sample_induction(pool, rng, total=min(10, 2 * ((len(pool) - 1) // 2) - 1))
        return (ex["positive"], ex["negative"], " " + ex["answer"], (_single_id(tok, " " + ex["answer"]),),
                tuple(_single_id(tok, " " + w) for w in ex["seq"] if w != ex["answer"]), None)

    cols, _ = _aligned_pairs(tok, n, draw)
    return dict(**cols,
                description="Induction: continue a sequence that repeats.",
                meta={"chance_top1": 1.0 / len(pool),
                      "chance_note": "uniform guess over the word pool"})


# ----------------------------------------------------------------------------- entry point
def get_task(name: str, model: Any, n: int = 20, seed: int = 0) -> Task:
    """Build ``n`` aligned positive/negative pairs of a built-in task for ``model``.

    ``seed`` is checked as every seed is (``settings.Settings``): a whole number from 0 to
    2**63 - 1, else ``SettingsTypeError`` / ``SettingsError``.

    Example:
        >>> from sae_circuits_widget.testing import tiny_model
        >>> t = get_task("ioi", tiny_model(), n=3, seed=1)
        >>> len(t.positives), len(t.correct_ids)
        (3, 3)
    """
    if name not in TASK_NAMES:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASK_NAMES)}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer (number of prompt pairs), got {n!r}")
    if n > MAX_PROMPTS_PER_SIDE:
        raise ValueError(
            f"n = {n:,} prompt pairs is more than discover takes ({MAX_PROMPTS_PER_SIDE:,} per side); "
            f"use n <= {MAX_PROMPTS_PER_SIDE:,}"
        )
    seed = Settings(seed=seed).seed  # the one seed check: a whole number from 0 to 2**63 - 1
    tok = _get_tokenizer(model)
    rng = random.Random(f"{name}-{seed}")
    if name == "ioi":
        parts = _ioi(tok, n, rng)
    elif name == "greater_than":
        parts = _greater_than(tok, n, rng)
    elif name == "docstring":
        parts = _docstring(tok, n, rng, gaps=_published_key(model) is None)
    else:
        parts = _induction(tok, n, rng)
    heads, edges = _ground_truth(model, name)
    all_heads, all_edges = _ground_truths(model, name)
    return Task(name=name, ground_truth=heads, edge_ground_truth=edges or None,
                ground_truths=all_heads, edge_ground_truths=all_edges, **parts)
