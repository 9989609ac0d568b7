"""Training data for the organism: the four tasks plus neutral filler.

Task sentences are trained only on their answer (for induction: on every token of the
repeated half); filler is trained on every next token. A full next-token loss on task
sentences would spend the model's capacity on predicting names and templates and leaves
IOI at chance.

Greater-than targets: the start year YY is drawn from 01..97 and the target from
YY+1..99, half of the time uniformly and half of the time from YY+1..YY+10, so that the
model must compare with YY instead of predicting "a late year".
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

import torch

from ..tasks import words as W
from ..tasks.generators import IOI_TEMPLATES, TASK_NAMES, greater_than_text, sample_docstring, sample_induction

MIX: dict[str, float] = {"ioi": 0.25, "greater_than": 0.15, "docstring": 0.3, "induction": 0.15, "filler": 0.05,
                         "lists": 0.0, "stories": 0.2}
# The second phase of the shipped recipe: mostly stories, so that heads the tasks leave
# unused learn ordinary text, with enough task sentences to keep the tasks.
CONTINUE_MIX: dict[str, float] = {"ioi": 0.05, "greater_than": 0.03, "docstring": 0.06, "induction": 0.03,
                                  "filler": 0.13, "lists": 0.0, "stories": 0.7}


@dataclass
class Example:
    text: str
    answer: str | None  # appended as the last token, trained on (None: no answer)
    kind: str
    train_from: int | None = None  # induction: word index where the repeat starts
    start_yy: int | None = None  # greater-than: the start year's last two digits


NOISE_TARGETS = ("spread", "near")


def noise_shares(answer_noise: float | dict[str, float], noisy_tasks: str = "ioi_docstring") -> dict[str, float]:
    """Per-task answer-noise shares from one number (IOI and docstring, or every task with
    ``noisy_tasks="all"``) or from a dict of task -> share."""
    if isinstance(answer_noise, dict):
        bad = sorted(set(answer_noise) - set(TASK_NAMES))
        if bad:
            raise ValueError(f"unknown task {bad[0]!r} in answer noise; choose from {', '.join(TASK_NAMES)}")
        shares = {k: float(v) for k, v in answer_noise.items()}
    else:
        if noisy_tasks not in ("ioi_docstring", "all"):
            raise ValueError(f"noisy_tasks must be 'ioi_docstring' or 'all', got {noisy_tasks!r}")
        kinds = TASK_NAMES if noisy_tasks == "all" else ("ioi", "docstring")
        shares = {k: float(answer_noise) for k in kinds}
    for k, v in shares.items():
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"answer noise for {k} must be a share between 0 and 1, got {v}")
    return shares


class DataSource:
    """Draws training examples and turns them into padded id batches with loss masks."""

    def __init__(self, tokenizer, seed: int = 0, mix: dict[str, float] | None = None, gt_plain: float = 1.0,
                 ioi_plain: float = 1.0, task_lm: float = 0.0, answer_noise: float | dict[str, float] = 0.0,
                 noisy_tasks: str = "ioi_docstring", noise_target: str = "spread"):
        self.tok = tokenizer
        # share of task sentences trained on a wrong answer, as natural text is not always
        # predictable. A number applies to IOI and docstring (noisy_tasks="all": every
        # task); a dict gives each task its own share.
        self.noise = noise_shares(answer_noise, noisy_tasks)
        if noise_target not in NOISE_TARGETS:
            raise ValueError(f"noise_target must be one of {NOISE_TARGETS}, got {noise_target!r}")
        self.noise_target = noise_target
        self.task_lm = task_lm  # loss weight on the other next tokens of task sentences
        self.ioi_plain = ioi_plain
        self.gt_plain = gt_plain
        self.rng = random.Random(seed)
        self.mix = dict(mix or MIX)
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
    def _noisy(self, kind: str, answer: str, wrong: Callable[[], list[str]]) -> str:
        """``answer``, or with ``kind``'s noise share one of ``wrong()`` (no draw when the
        share is 0, so the data stream without noise is unchanged)."""
        share = self.noise.get(kind, 0.0)
        if share > 0 and self.rng.random() < share:
            return self.rng.choice(wrong())
        return answer

    def ioi(self) -> Example:
        ex, subject = self._ioi()
        ex.answer = self._noisy("ioi", ex.answer, lambda: [subject])
        return ex

    def _ioi(self) -> tuple[Example, str]:
        r = self.rng
        io, s, c = r.sample(W.NAMES, 3)
        a, b = (io, s) if r.random() < 0.5 else (s, io)
        tpl, place, obj = r.choice(IOI_TEMPLATES), r.choice(W.PLACES), r.choice(W.OBJECTS)
        if r.random() < self.ioi_plain:
            return Example(tpl.format(A=a, B=b, S=s, place=place, obj=obj), io, "ioi"), s
        # A third name said once, in a clause before the sentence or inside it: the name to
        # give is then not "the name said once" but "the other name of the pair the subject
        # belongs to", and the pair sits at no fixed position, so counting names or
        # attending to fixed positions no longer solves the task.
        if r.random() < 0.5:
            fill = r.choice(W.FILLER_WORDS)
            pre = r.choice([f"{c} was at the {r.choice(W.PLACES)} .", f"{c} saw the {fill} .",
                            f"The {fill} of {c} was {r.choice(W.DESC_WORDS)} .",
                            f"{c} had a {r.choice(W.OBJECTS)} .", f"Then {c} left ."])
            return Example(f"{pre} " + tpl.format(A=a, B=b, S=s, place=place, obj=obj), io, "ioi"), s
        return Example(tpl.format(A=a, B=b, S=s, place=f"{place} with {c}", obj=obj), io, "ioi"), s

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
        # near: the start year itself; spread: any year up to it
        answer = self._noisy("greater_than", f"{target:02d}", lambda: [f"{y:02d}" for y in (
            [yy] if self.noise_target == "near" else range(1, yy + 1))])
        return Example(t, answer, "greater_than", start_yy=yy)

    def docstring(self) -> Example:
        ex = sample_docstring(self.doc_pools, self.rng, gaps=True)
        answer = self._noisy("docstring", ex["answer"], lambda: self._docstring_wrong(ex))
        return Example(ex["positive"], answer, "docstring")

    def induction(self) -> Example:
        ex = sample_induction(self.ind_pool, self.rng)
        answer = self._noisy("induction", ex["answer"], lambda: self._induction_wrong(ex))
        return Example(ex["positive"], answer, "induction", train_from=len(ex["seq"]) + 1)

    def _docstring_wrong(self, ex: dict) -> list[str]:
        """Wrong docstring answers. near: the argument after the right one (found the same
        way, one step further), or the last documented one when the right one ends the list;
        spread: any other argument."""
        if self.noise_target == "spread":
            return [a for a in ex["args"] if a != ex["answer"]]
        last = ex["documented"][-1]
        return [ex["args"][last + 2] if last + 2 < len(ex["args"]) else ex["args"][last]]

    def _induction_wrong(self, ex: dict) -> list[str]:
        """Wrong induction answers. near: the word two after the earlier copy (or the
        current word at the end of the sequence); spread: any other pool word."""
        if self.noise_target == "spread":
            return [w for w in self.ind_pool if w != ex["answer"]]
        j = ex["j"] + 1
        return [ex["seq"][j] if j < len(ex["seq"]) else ex["seq"][ex["j"] - 1]]

    def lists(self) -> Example:
        """Comma-separated lists, repeated in part: "x , y , z , w . y ," -> "z".

        The docstring task looks up the argument after a name in the signature, two
        tokens on (a comma between); this teaches that lookup on its own.
        """
        r = self.rng
        pool = self.doc_pools["args"] if r.random() < 0.5 else self.ind_pool
        n = r.randint(4, 7)
        items = r.sample(pool, n)
        i = r.randint(0, n - 2)
        head = " , ".join(items)
        mid = " ".join(r.sample(self.doc_pools["desc"], r.randint(0, 3)))
        t = f"( {head} ) {mid} {items[i]} ,".replace("  ", " ")
        return Example(t, items[i + 1], "lists")

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
                f"In {r.randint(11, 19):02d} {r.randint(0, 99):02d} the {r.choice(W.EVENTS)} {r.choice(['took', 'made', 'left'])} the {r.choice(W.FILLER_WORDS)} .",
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
                parts.append(f"from {c:02d} {y:02d} to {c:02d} {r.randint(y, 99):02d} the {r.choice(W.EVENTS)} was {r.choice(W.DESC_WORDS)} .")
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
            m = [self.task_lm] * (len(ids) - 1)
            if e.kind in ("filler", "stories"):
                m = [1.0] * (len(ids) - 1)
            elif e.kind == "induction":
                # words: bos, w0, seq (m words), repeat...; train on every prediction made
                # inside the repeat (position of its first word onwards).
                start = 1 + 1 + (e.train_from - 1)
                for t in range(start, len(ids) - 1):
                    m[t] = 1.0
            else:
                m[-1] = 1.0
            rows.append(ids)
            masks.append(m)
        L = max(len(r) for r in rows)
        ids_t = torch.full((len(rows), L), self.pad, dtype=torch.long)
        mask_t = torch.zeros((len(rows), L - 1))
        for i, (r, m) in enumerate(zip(rows, masks)):
            ids_t[i, : len(r)] = torch.tensor(r)
            mask_t[i, : len(m)] = torch.tensor(m)
        return ids_t, mask_t, [e.kind for e in examples]

    def batch(self, size: int):
        return self.encode([self.sample() for _ in range(size)])
