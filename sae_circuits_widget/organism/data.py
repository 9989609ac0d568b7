"""Training data for the organism: the four tasks plus neutral filler and stories.

Task sentences are trained only on their answer (for induction: on every token of the
repeated half); filler and stories are trained on every next token. A full next-token
loss on task sentences would spend the model's capacity on predicting names and templates
and leaves IOI at chance.

Greater-than targets: the start year YY is drawn from 01..97 and the target from
YY+1..99, half of the time uniformly and half of the time from YY+1..YY+10, so that the
model must compare with YY instead of predicting "a late year".

Everything is drawn from one ``random.Random(seed)`` in a fixed order, so the training
stream (and so the trained model) depends on the seed and the mix only. Kinds of data
that were tried and not shipped (comma lists, wrong answers, a loss on the other tokens of
task sentences) live in ``research/organism_switches.py`` in the repository.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import torch

from ..tasks import words as W
from ..tasks.generators import IOI_TEMPLATES, TASK_NAMES, greater_than_text, sample_docstring, sample_induction


@dataclass(frozen=True)
class Mix:
    """Shares of each kind of training text; a batch draws each example's kind with these
    weights (any scale, normalised when drawn; 0 leaves a kind out).

    Example:
        >>> Mix(ioi=1, greater_than=0, docstring=0, induction=0, filler=0, stories=1).shares()["ioi"]
        1.0
    """

    ioi: float
    greater_than: float
    docstring: float
    induction: float
    filler: float
    stories: float

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"mix share {f.name} must be a number >= 0, got {v!r}")
            object.__setattr__(self, f.name, float(v))
        if sum(self.shares().values()) <= 0:
            raise ValueError("mix shares are all 0; give at least one kind a share above 0")

    def shares(self) -> dict[str, float]:
        """Kind -> share, in the order the kinds are drawn."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, shares: Mapping[str, Any]) -> "Mix":
        """A mix from ``{kind: share}`` naming every kind (``0`` leaves a kind out)."""
        if not isinstance(shares, Mapping):
            raise ValueError(f"mix must be an object of kind: share pairs, got {shares!r}")
        kinds = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(shares) - set(kinds))
        if unknown:
            raise ValueError(f"unknown kind {unknown[0]!r} in mix; kinds: {', '.join(kinds)}")
        missing = [k for k in kinds if k not in shares]
        if missing:
            raise ValueError(f"mix gives no share for {', '.join(missing)}; give every kind a share (0 leaves it out)")
        return cls(**{k: shares[k] for k in kinds})


TASKS_MIX = Mix(ioi=0.25, greater_than=0.15, docstring=0.3, induction=0.15, filler=0.05, stories=0.2)
"""The shipped recipe's first phase: mostly task sentences."""
STORIES_MIX = Mix(ioi=0.05, greater_than=0.03, docstring=0.06, induction=0.03, filler=0.13, stories=0.7)
"""The second phase: mostly stories, so that heads the tasks leave unused learn ordinary
text, with enough task sentences to keep the tasks."""
GT_PLAIN = 0.3
"""Share of greater-than sentences in the plain evaluation template (the rest move the
start year around and add distractor numbers)."""
IOI_PLAIN = 0.4
"""Share of IOI sentences without a third name."""


@dataclass
class Example:
    text: str
    answer: Optional[str]  # appended as the last token, trained on (None: no answer)
    kind: str
    train_from: Optional[int] = None  # induction: word index where the repeat starts
    start_yy: Optional[int] = None  # greater-than: the start year's last two digits


class DataSource:
    """Draws training examples and turns them into padded id batches with loss masks.

    ``mix``: a :class:`Mix` or ``{kind: share}`` over :attr:`KINDS`. The defaults are the
    shipped recipe's first phase.
    """

    KINDS: tuple[str, ...] = (*TASK_NAMES, "filler", "stories")
    """The kinds of text this source draws (each a method returning an :class:`Example`)."""

    def __init__(self, tokenizer, seed: int = 0, mix: Mix | Mapping[str, float] = TASKS_MIX,
                 gt_plain: float = GT_PLAIN, ioi_plain: float = IOI_PLAIN):
        self.tok = tokenizer
        self.ioi_plain = ioi_plain
        self.gt_plain = gt_plain
        self.rng = random.Random(seed)
        self.mix = dict(mix.shares() if isinstance(mix, Mix) else mix)
        unknown = sorted(set(self.mix) - set(self.KINDS))
        if unknown:
            raise ValueError(f"unknown kind {unknown[0]!r} in mix; kinds: {', '.join(self.KINDS)}")
        vocab = tokenizer.get_vocab()
        self.vocab = vocab
        # sorted: get_vocab() order differs between processes, which would make training
        # data (and so the trained model) depend on more than the seed
        self.words = sorted(w for w in vocab if not w.startswith("<"))
        self.doc_pools = {"args": list(W.ARG_NAMES), "funcs": list(W.FUNC_NAMES), "desc": list(W.DESC_WORDS)}
        self.ind_pool = list(dict.fromkeys(W.FILLER_WORDS + W.DESC_WORDS + W.ARG_NAMES))
        self.bos = tokenizer.bos_token_id
        self.pad = tokenizer.pad_token_id

    # ------------------------------------------------------------------ examples
    def ioi(self) -> Example:
        r = self.rng
        io, s, c = r.sample(W.NAMES, 3)
        a, b = (io, s) if r.random() < 0.5 else (s, io)
        tpl, place, obj = r.choice(IOI_TEMPLATES), r.choice(W.PLACES), r.choice(W.OBJECTS)
        if r.random() < self.ioi_plain:
            return Example(tpl.format(A=a, B=b, S=s, place=place, obj=obj), io, "ioi")
        # A third name said once, in a clause before the sentence or inside it: the name to
        # give is then not "the name said once" but "the other name of the pair the subject
        # belongs to", and the pair sits at no fixed position, so counting names or
        # attending to fixed positions no longer solves the task.
        if r.random() < 0.5:
            fill = r.choice(W.FILLER_WORDS)
            pre = r.choice([f"{c} was at the {r.choice(W.PLACES)} .", f"{c} saw the {fill} .",
                            f"The {fill} of {c} was {r.choice(W.DESC_WORDS)} .",
                            f"{c} had a {r.choice(W.OBJECTS)} .", f"Then {c} left ."])
            return Example(f"{pre} " + tpl.format(A=a, B=b, S=s, place=place, obj=obj), io, "ioi")
        return Example(tpl.format(A=a, B=b, S=s, place=f"{place} with {c}", obj=obj), io, "ioi")

    def greater_than(self) -> Example:
        r = self.rng
        yy = r.randint(1, 97)
        century = r.randint(11, 19)
        target = r.randint(yy + 1, 99) if r.random() < 0.5 else r.randint(yy + 1, min(yy + 10, 99))
        event = r.choice(W.EVENTS)
        if r.random() < self.gt_plain:
            t, _ = greater_than_text(self.tok, event, century, yy)
        else:
            # Variants move the start year around and add distractor numbers, so finding YY
            # takes "the number after the earlier copy of this century" (two steps), not a
            # fixed offset or "any number".
            C, Y = f"{century:02d}", f"{yy:02d}"
            d1, d2 = f"{r.randint(0, 99):02d}", f"{r.randint(0, 99):02d}"
            pre = r.choice(["", f"After {d1} days ,", f"In {d1} {d2} ,", f"{r.choice(W.NAMES)} saw {d1} men .",
                            f"The {d1} {r.choice(W.FILLER_WORDS)} .", f"the {r.choice(W.FILLER_WORDS)} {d1} {r.choice(W.FILLER_WORDS)} ."])
            mid = r.choice([
                f"the {event} lasted from the year {C} {Y} to the year {C}",
                f"the {event} lasted from {C} {Y} to {C}",
                f"the {event} of {d2} lasted from the year {C} {Y} to the year {C}",
                f"the {event} lasted from the year {C} {Y} and it was {d2} days to the year {C}",
                f"from {C} {Y} the {event} lasted to the year {C}",
                f"the {event} lasted from the year {C} {Y} to {d2} the year {C}",
            ])
            t = f"{pre} {mid}".strip()
            if not pre:
                t = t[0].upper() + t[1:]
        return Example(t, f"{target:02d}", "greater_than", start_yy=yy)

    def docstring(self) -> Example:
        ex = sample_docstring(self.doc_pools, self.rng, gaps=True)
        return Example(ex["positive"], ex["answer"], "docstring")

    def induction(self) -> Example:
        ex = sample_induction(self.ind_pool, self.rng)
        return Example(ex["positive"], ex["answer"], "induction", train_from=len(ex["seq"]) + 1)

    def filler(self) -> Example:
        r = self.rng
        if r.random() < 0.5:
            n = r.randint(8, 40)
            return Example(" ".join(r.choice(self.words) for _ in range(n)), None, "filler")
        parts = []
        for _ in range(r.randint(2, 5)):
            parts.append(r.choice([
                f"{r.choice(W.NAMES)} saw the {r.choice(W.FILLER_WORDS)} at the {r.choice(W.PLACES)} .",
                f"The {r.choice(W.FILLER_WORDS)} of {r.choice(W.NAMES)} was {r.choice(W.DESC_WORDS)} .",
                f"In {r.randint(11, 19):02d} {r.randint(0, 99):02d} the {r.choice(W.EVENTS)}"
                f" {r.choice(['took', 'made', 'left'])} the {r.choice(W.FILLER_WORDS)} .",
                f"{r.choice(W.NAMES)} and {r.choice(W.NAMES)} had a {r.choice(W.OBJECTS)} and a {r.choice(W.FILLER_WORDS)} .",
                " ".join(r.sample(W.FILLER_WORDS, r.randint(3, 8))) + " .",
                f"{r.choice(W.FUNC_NAMES)} ( {r.choice(W.ARG_NAMES)} , {r.choice(W.ARG_NAMES)} ) : return {r.choice(W.ARG_NAMES)} .",
            ]))
        return Example(" ".join(parts), None, "filler")

    def stories(self) -> Example:
        """Structured filler trained on every token: a small cast of names re-mentioned,
        counting numbers, code that re-uses its arguments and repeated phrases.

        It gives heads work on the same kinds of tokens the tasks use (names, numbers,
        argument names, repeats) without being any of the tasks, as ordinary text does
        for a real language model.
        """
        r = self.rng
        cast = r.sample(W.NAMES, 3)
        parts = []
        for _ in range(r.randint(3, 6)):
            a, b = r.sample(cast, 2)
            kind = r.randrange(6)
            if kind == 0:
                parts.append(r.choice([f"{a} and {b} went to the {r.choice(W.PLACES)} .",
                                       f"{a} gave the {r.choice(W.OBJECTS)} to {b} .",
                                       f"then {b} said {a} was {r.choice(W.DESC_WORDS)} .",
                                       f"{a} saw {b} at the {r.choice(W.PLACES)} and {a} left ."]))
            elif kind == 1:
                n = r.randint(0, 95)
                step = r.choice([1, 1, 2])
                parts.append(" , ".join(f"{min(99, n + i * step):02d}" for i in range(r.randint(3, 5))) + " .")
            elif kind == 2:
                c, y = r.randint(11, 19), r.randint(0, 90)
                parts.append(
                    f"from {c:02d} {y:02d} to {c:02d} {r.randint(y, 99):02d}"
                    f" the {r.choice(W.EVENTS)} was {r.choice(W.DESC_WORDS)} ."
                )
            elif kind == 3:
                args = r.sample(W.ARG_NAMES, r.randint(2, 4))
                f = r.choice(W.FUNC_NAMES)
                parts.append(f"def {f} ( {' , '.join(args)} ) : return {r.choice(args)} . {f} ( {' , '.join(args)} ) .")
            elif kind == 4:
                phrase = " ".join(r.sample(W.FILLER_WORDS, r.randint(2, 4)))
                parts.append(f"{phrase} , {phrase} .")
            else:
                parts.append(f"the {r.choice(W.FILLER_WORDS)} of {a} was {r.choice(W.DESC_WORDS)} and {b} had it .")
        while len(" ".join(parts).split()) > 60 and len(parts) > 1:  # fit n_ctx with <bos>
            parts.pop()
        return Example(" ".join(parts), None, "stories")

    def sample(self) -> Example:
        """One example of a kind drawn with the mix's weights."""
        kinds, weights = zip(*self.mix.items())
        kind = self.rng.choices(kinds, weights)[0]
        return getattr(self, kind)()

    # ------------------------------------------------------------------ batches
    def encode(self, examples: list[Example]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """Ids [batch, seq] (bos first, answer last) and a float loss mask over targets
        [batch, seq - 1] (mask[i, t] weights predicting ids[i, t + 1])."""
        enc = self.tok([e.text for e in examples], add_special_tokens=False)["input_ids"]
        rows, masks = [], []
        for e, ids in zip(examples, enc):
            ids = [self.bos, *ids]
            if e.answer is not None:
                ids.append(self.vocab[e.answer])
            rows.append(ids)
            masks.append(self.loss_weights(e, len(ids) - 1))
        L = max(len(r) for r in rows)
        ids_t = torch.full((len(rows), L), self.pad, dtype=torch.long)
        mask_t = torch.zeros((len(rows), L - 1))
        for i, (r, m) in enumerate(zip(rows, masks)):
            ids_t[i, : len(r)] = torch.tensor(r)
            mask_t[i, : len(m)] = torch.tensor(m)
        return ids_t, mask_t, [e.kind for e in examples]

    def loss_weights(self, example: Example, n_targets: int) -> list[float]:
        """The loss weight of each of an example's ``n_targets`` next-token predictions
        (``<bos>`` first): every token of filler and stories, the answer of a task
        sentence, the whole repeated half of an induction sequence."""
        if example.kind in ("filler", "stories"):
            return [1.0] * n_targets
        m = [0.0] * n_targets
        if example.kind == "induction":
            # words: bos, w0, seq (m words), repeat...; train on every prediction made
            # inside the repeat (position of its first word onwards).
            assert example.train_from is not None  # every induction example sets it (induction())
            start = 1 + 1 + (example.train_from - 1)
            for t in range(start, n_targets):
                m[t] = 1.0
        else:
            m[-1] = 1.0
        return m

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        return self.encode([self.sample() for _ in range(size)])
