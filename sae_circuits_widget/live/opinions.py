"""What the explorer shows beside the SAE ranking, so its user can judge whether to believe it.

A ranking of heads by codes unique to the positives is a claim; these functions check it
in four ways, each fast enough to run after every edit (well under a second on the
bundled model):

- **behaviour** (``behaviour``): does the model solve each positive and fail each
  negative? Read from the task check ``discover`` already ran (``engine.task_check``).
- **overlap** (``overlap_scores``): per head, the Jaccard index of the set of codes the
  SAE gives it on the positives and the set on the negatives. A head whose positive codes
  never occur on negatives has overlap 0: it tells the two apart, the task-specific heads
  the method looks for. This is the head-by-layer grid the method was designed around.
- **a second opinion** (``second_opinion``, ``agreement``): edge attribution patching
  (Syed et al. 2023) pooled per head, or the norm of the difference between a head's mean
  output on positives and on negatives, on the same prompts; and how well the SAE
  ranking agrees with it (Spearman rank correlation, overlap of the top k).
- **faithfulness** (``faithfulness``, ``faithfulness_curve``): keep the top-k heads of a
  ranking, mean-ablate every other head over the task's prompts, and report the logit
  difference kept as a fraction of the clean one (1.0 = the behaviour is intact). The
  curve over k is the quantity behind MIB's CPR/CMD.

EAP and faithfulness need a logit difference, so a task metric (``metric_task``): a
built-in task's token sets, or for the user's own prompts one answer word per positive
(counted against the model's strongest other prediction on that positive).

Edges (``top_edges``, ``edge_code_pairs``) list the strongest head -> head edges of a
result and the code pairs behind one.

Example:
    >>> from sae_circuits_widget.testing import tiny_model, toy_ioi_task
    >>> model = tiny_model(); task = toy_ioi_task(model)
    >>> r = second_opinion(model, "output_diff_norm", positives=task.positives, negatives=task.negatives)
    >>> r.node_scores.shape
    (2, 4)
    >>> faithfulness(model, task, np.ones((2, 4)), k=8)
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import numpy as np
import torch
from jaxtyping import Float

from ..baselines.eap import eap
from ..baselines.trivial import output_diff_norm
from ..engine.result import CircuitResult, rank_heads
from ..engine.validation import check_prompts
from ..errors import PromptError, SettingsError, UnsupportedModelError
from ..heads import head_at, head_index, parse_head
from ..interventions.ablation import metric_under_masks
from ..interventions.hooks import final_logits, mean_replacement, model_device, padded_prompts
from ..tasks.task import Task

SECOND_OPINIONS = ("eap", "output_diff_norm")
"""The second opinions ``second_opinion`` computes."""
MAX_CURVE_POINTS = 12
"""Default number of k values of ``faithfulness_curve``."""


# ----------------------------------------------------------------------------- SAE codes


def overlap_scores(result: CircuitResult) -> Float[np.ndarray, "n_layers n_heads"]:
    """Per head, the Jaccard index of its codes on positives and its codes on negatives.

    ``|P ∩ N| / |P ∪ N|`` with ``P`` (``N``) the set of codes the head gets on the
    positives (negatives), ``-1`` (no code) left out; 1.0 when both sets are empty. Low
    means task-specific: 0 for a head whose positive codes never occur on a negative.
    Read from ``result.codes`` and ``result.is_positive`` (the first SAE's codes under an
    ensemble). Returns ``[n_layers, n_heads]``.

    Example:
        >>> r = CircuitResult("sae", np.zeros((1, 2)), codes=np.array([[1, 5], [2, 5]]),
        ...                   is_positive=np.array([True, False]))
        >>> overlap_scores(r).tolist()
        [[0.0, 1.0]]
    """
    codes, is_positive = _codes_of(result)
    out = np.ones(codes.shape[1])
    for j in range(codes.shape[1]):
        col = codes[:, j]
        pos = set(col[is_positive & (col >= 0)].tolist())
        neg = set(col[~is_positive & (col >= 0)].tolist())
        union = pos | neg
        if union:
            out[j] = len(pos & neg) / len(union)
    return out.reshape(result.n_layers, result.n_heads)


def _codes_of(result: CircuitResult) -> tuple[np.ndarray, np.ndarray]:
    if result.codes is None or result.is_positive is None:
        raise ValueError(
            f"this {result.method!r} result has no SAE codes; overlap and code pairs need a "
            "discrete-SAE result (discover or Session.discover)"
        )
    return np.asarray(result.codes, dtype=np.int64), np.asarray(result.is_positive, dtype=bool)


def top_edges(result: CircuitResult, n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` strongest head -> head edges of ``result.edge_scores``, best first.

    Each is ``{"sender": (l, h), "receiver": (l, h), "score": float}``; only scores above
    0, and only senders in an earlier layer than their receiver (a head reads only
    earlier layers). The SAE's edge scores are symmetric (code pairs that co-occur), so
    each pair of heads in different layers comes once, its earlier head as sender. A
    head with codes unique to the positives makes every pair it is in unique too, so
    edges tie often: ties go to the pair whose two node scores sum higher, then by
    sender and receiver index. ``[]`` for a result without edge scores.

    Example:
        >>> e = np.zeros((4, 4)); e[0, 3] = e[3, 0] = 2.0
        >>> top_edges(CircuitResult("sae", np.zeros((2, 2)), edge_scores=e))
        [{'sender': (0, 0), 'receiver': (1, 1), 'score': 2.0}]
    """
    if result.edge_scores is None:
        return []
    scores = np.nan_to_num(np.asarray(result.edge_scores, dtype=np.float64), nan=0.0)
    n_heads = result.n_heads
    layer = np.arange(scores.shape[0]) // n_heads
    forward = layer[:, None] < layer[None, :]
    send, recv = np.nonzero(forward & (scores > 0))
    values = scores[send, recv]
    nodes = np.nan_to_num(np.asarray(result.node_scores, dtype=np.float64).reshape(-1), nan=0.0)
    order = np.lexsort((recv, send, -(nodes[send] + nodes[recv]), -values))[: max(0, int(n))]
    return [
        {"sender": head_at(int(send[i]), n_heads), "receiver": head_at(int(recv[i]), n_heads), "score": float(values[i])}
        for i in order
    ]


def edge_code_pairs(result: CircuitResult, sender: Any, receiver: Any, top: int = 8) -> list[dict[str, int]]:
    """The (sender code, receiver code) pairs behind an edge, with how often each occurs.

    ``sender`` and ``receiver`` are heads (``(l, h)``, ``"L1H2"`` or a flat index). Each
    entry is ``{"sender_code", "receiver_code", "positives", "negatives"}`` (numbers of
    prompts on which the two heads get that pair of codes); prompts where either head
    has no code are left out. Pairs seen only on positives (those the edge score counts)
    come first, most frequent first; at most ``top`` entries.

    Example:
        >>> r = CircuitResult("sae", np.zeros((1, 2)), codes=np.array([[1, 7], [1, 7], [2, 7]]),
        ...                   is_positive=np.array([True, True, False]))
        >>> edge_code_pairs(r, (0, 0), (0, 1))[0]
        {'sender_code': 1, 'receiver_code': 7, 'positives': 2, 'negatives': 0}
    """
    codes, is_positive = _codes_of(result)
    s, r = (_flat_head(h, result) for h in (sender, receiver))
    counts: dict[tuple[int, int], list[int]] = {}
    for a, b, positive in zip(codes[:, s].tolist(), codes[:, r].tolist(), is_positive.tolist()):
        if a >= 0 and b >= 0:
            counts.setdefault((a, b), [0, 0])[0 if positive else 1] += 1
    ranked = sorted(counts.items(), key=lambda kv: (kv[1][1] > 0, -kv[1][0], kv[1][1], kv[0]))
    return [
        {"sender_code": a, "receiver_code": b, "positives": p, "negatives": q}
        for (a, b), (p, q) in ranked[: max(0, int(top))]
    ]


def _flat_head(head: Any, result: CircuitResult) -> int:
    if isinstance(head, (int, np.integer)) and not isinstance(head, bool):
        if not 0 <= int(head) < result.n_layers * result.n_heads:
            raise ValueError(f"head index {head} does not exist: the model has {result.n_layers * result.n_heads} heads")
        return int(head)
    return head_index(parse_head(head, result.n_layers, result.n_heads), result.n_heads)


def behaviour(result: CircuitResult) -> list[dict[str, Any]]:
    """What the model does on each prompt: ``prompt, side, top_token, p_answer, logit_diff, solved``.

    One dict per prompt (positives first), from the task check ``discover`` ran
    (``result.task_check``; see ``engine.task_check`` for how each kind of task is
    scored). ``p_answer`` and ``solved`` are ``None`` where nothing says what the model
    should predict. ``[]`` for a result without a task check (e.g. read from an old file).
    """
    check = result.task_check
    if check is None:
        return []
    return [
        {"prompt": b.prompt, "side": b.side, "top_token": b.top_token, "p_answer": b.p_answer,
         "logit_diff": float(b.logit_diff), "solved": b.solved}
        for b in check.prompts
    ]


# ----------------------------------------------------------------------------- metric


@torch.no_grad()
def metric_task(
    model: Any,
    positives: Sequence[str],
    negatives: Sequence[str],
    answers: Optional[Sequence[str]] = None,
    task: Optional[Task] = None,
) -> Optional[Task]:
    """The ``Task`` whose ``metric`` (a logit difference) EAP and faithfulness use, or ``None``.

    - ``task`` itself when it has token sets (``task.has_metric``) and its prompts are
      ``positives`` and ``negatives`` (a built-in task, unedited);
    - otherwise, from ``answers`` (one single-token answer per positive; without
      ``answers``, the task's own answers when its prompts are these): the correct id is
      the answer's token, the incorrect id the model's highest-logit token other than the
      answer on that positive (one forward pass), so the metric is the answer's margin
      over the model's strongest alternative;
    - ``None`` when there are no answers.

    Raises ``PromptError`` when the answers are not one token each, one per positive.
    """
    positives, negatives = list(positives), list(negatives)
    same = task is not None and list(task.positives) == positives and list(task.negatives) == negatives
    if task is not None and same:
        if task.has_metric:
            return task
        if answers is None:
            answers = task.answers
    if answers is None:
        return None
    answers = [answers] if isinstance(answers, str) else list(answers)
    if len(answers) != len(positives):
        raise PromptError(f"give one answer per positive: {len(positives)} positives, {len(answers)} answers")
    correct = []
    for i, answer in enumerate(answers):
        ids = model.to_tokens(answer, prepend_bos=False)[0].tolist()
        if len(ids) != 1:
            raise PromptError(
                f"answer {i + 1} ({answer!r}) is {len(ids)} tokens; give each answer as one token "
                "(usually one word with its leading space)"
            )
        correct.append(int(ids[0]))
    tokens, last = padded_prompts(model, positives)
    logits = final_logits(model(tokens.to(model_device(model))), last).float()
    rows = torch.arange(len(correct), device=logits.device)
    logits[rows, torch.tensor(correct, device=logits.device)] = -float("inf")
    wrong = logits.argmax(-1).tolist()
    return Task(
        name=task.name if task is not None else "custom", positives=positives, negatives=negatives,
        answers=answers, correct_ids=[(c,) for c in correct], incorrect_ids=[(int(w),) for w in wrong],
    )


# ----------------------------------------------------------------------------- second opinions


def second_opinion(
    model: Any,
    kind: str,
    *,
    positives: Sequence[str],
    negatives: Sequence[str],
    answers: Optional[Sequence[str]] = None,
    task: Optional[Task] = None,
    position: str = "mean",
) -> CircuitResult:
    """Head scores of another method on the same prompts: ``"eap"`` or ``"output_diff_norm"``.

    ``"eap"``: edge attribution patching (``baselines.eap``), each head's outgoing edge
    scores summed (``node_scores``; ``edge_scores`` and ``edge_head_scores`` as EAP gives
    them). It patches each positive with its paired negative token by token, so it uses
    the pairs (positive i, negative i) of equal token count; others are left out and named
    in ``result.warnings``. Needs a metric (``metric_task``) and an attention-only model.
    ``"output_diff_norm"``: per head, the norm of its mean output on positives minus that
    on negatives (``position`` ``"mean"`` or ``"last"``, as the SAE reads head outputs).

    Raises ``SettingsError`` for another ``kind`` or EAP without answers, ``PromptError``
    for bad prompts or no aligned pair, ``UnsupportedModelError`` when EAP cannot run on
    the model.
    """
    if kind not in SECOND_OPINIONS:
        raise SettingsError(f"unknown second opinion {kind!r}; choose one of {', '.join(SECOND_OPINIONS)}")
    pos, neg = check_prompts(model, positives, negatives, answers)
    prompts = pos + neg
    is_positive = np.array([True] * len(pos) + [False] * len(neg))
    if kind == "output_diff_norm":
        if position not in ("mean", "last"):  # as head_outputs says it
            raise ValueError(f"position must be one of ('mean', 'last'), got {position!r}")
        result = output_diff_norm(model, Task(_name(task), pos, neg), position=position)
    else:
        result = _eap(model, pos, neg, answers, task)
    result.prompts, result.is_positive = prompts, is_positive
    return result


def _name(task: Optional[Task]) -> str:
    return task.name if task is not None else "custom"


def _eap(model: Any, pos: list[str], neg: list[str], answers: Optional[Sequence[str]], task: Optional[Task]) -> CircuitResult:
    metric = metric_task(model, pos, neg, answers, task)
    if metric is None:
        raise SettingsError(
            "EAP needs answers: give one answer word per positive (answers=[...]), or use a "
            "built-in task's prompts, so it knows which logit difference to attribute"
        )
    n = min(len(pos), len(neg))
    lengths = [(int(model.to_tokens(pos[i]).shape[-1]), int(model.to_tokens(neg[i]).shape[-1])) for i in range(n)]
    used = [i for i, (a, b) in enumerate(lengths) if a == b]
    if not used:
        a, b = lengths[0]
        raise PromptError(
            f"EAP patches each positive with its negative token by token, but no pair has equal "
            f"token counts (pair 1: {a} and {b} tokens); give each negative as many tokens as its positive"
        )
    assert metric.correct_ids is not None and metric.incorrect_ids is not None  # metric_task gives a metric or None
    aligned = Task(
        name=metric.name, positives=[pos[i] for i in used], negatives=[neg[i] for i in used],
        correct_ids=[metric.correct_ids[i] for i in used], incorrect_ids=[metric.incorrect_ids[i] for i in used],
    )
    try:
        result = eap(model, aligned)
    except ValueError as exc:  # the model is not a plain attention-only bridge
        raise UnsupportedModelError(f"EAP cannot run on this model: {' '.join(str(exc).split())}") from None
    skipped = [i for i in range(n) if i not in set(used)]
    if skipped:
        shown = ", ".join(str(i + 1) for i in skipped[:8]) + (" ..." if len(skipped) > 8 else "")
        result.warnings.append(
            f"EAP used {len(used)} of {n} pairs: pair(s) {shown} have a negative of another token "
            "count than its positive"
        )
    result.extras["pairs_used"] = used
    return result


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their average rank (NaN ranked lowest)."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float64).reshape(-1), nan=-np.inf)
    order = np.argsort(x, kind="mergesort")
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(x))
    xs = x[order]
    first = np.r_[True, xs[1:] != xs[:-1]]
    dense = first.cumsum()[inverse]
    bounds = np.r_[np.flatnonzero(first), len(x)]
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)


def agreement(
    a: Float[np.ndarray, "n_layers n_heads"], b: Float[np.ndarray, "n_layers n_heads"], k: int = 5
) -> dict[str, float]:
    """How well two head rankings agree: ``{"spearman": .., "top_k_overlap": ..}``.

    ``spearman``: the rank correlation over all heads (tied scores share their average
    rank; NaN ranks lowest), 0.0 when either ranking is constant. ``top_k_overlap``:
    ``|top-k(a) ∩ top-k(b)| / k``, each top-k from ``engine.result.rank_heads``, which
    lists only heads scoring above 0; when a ranking has fewer than ``k`` such heads the
    division is still by ``k``, so missing heads count as disagreement.

    Example:
        >>> agreement(np.array([[3.0, 2.0, 1.0, 0.0]]), np.array([[4.0, 1.0, 2.0, 0.0]]), k=2)
        {'spearman': 0.8, 'top_k_overlap': 0.5}
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"agreement needs two [n_layers, n_heads] arrays of one shape, got {a.shape} and {b.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a whole number >= 1, got {k!r}")
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt((ra**2).sum() * (rb**2).sum()))
    spearman = float((ra * rb).sum() / denom) if denom > 0 else 0.0
    overlap = len(set(rank_heads(a, k=int(k))) & set(rank_heads(b, k=int(k)))) / int(k)
    return {"spearman": round(spearman, 12), "top_k_overlap": float(overlap)}


# ----------------------------------------------------------------------------- faithfulness


def faithfulness(
    model: Any, task: Task, node_scores: Float[np.ndarray, "n_layers n_heads"], k: int, *,
    tiebreak: Optional[Float[np.ndarray, "n_layers n_heads"]] = None,
) -> float:
    """Logit difference kept, as a fraction of the clean one, with only the top-k heads left.

    The heads kept are ``rank_heads(node_scores, tiebreak, k)`` (heads scoring above 0,
    best first; fewer than ``k`` when fewer scored); every other head is mean-ablated
    (its mean output over the task's positives and negatives). 1.0 keeps the whole
    behaviour, as ``interventions.ablation.faithfulness`` computes it. ``task`` needs a
    metric (``metric_task``); its pairs need not have equal token counts.
    """
    return faithfulness_curve(model, task, node_scores, [k], tiebreak=tiebreak)[1][0]


@torch.no_grad()
def faithfulness_curve(
    model: Any, task: Task, node_scores: Float[np.ndarray, "n_layers n_heads"], ks: Optional[Sequence[int]] = None, *,
    tiebreak: Optional[Float[np.ndarray, "n_layers n_heads"]] = None,
) -> tuple[list[int], list[float]]:
    """``faithfulness`` for several ``k`` at once: ``(ks, fractions)``.

    Every k (and the clean run) is one mask stacked along the batch, so the whole curve
    costs about one forward pass per 512 prompt rows. Default ``ks``: 0 to the number of
    heads in at most ``MAX_CURVE_POINTS`` even steps. Past the number of heads scoring
    above 0 the curve is flat: heads with no score are never kept.
    """
    if task.correct_ids is None or task.incorrect_ids is None:  # not task.has_metric
        raise SettingsError("faithfulness needs a metric: give answers, or use a built-in task (see metric_task)")
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    scores = np.asarray(node_scores, dtype=np.float64)
    if scores.shape != (n_layers, n_heads):
        raise ValueError(f"node_scores must be [{n_layers}, {n_heads}] for this model, got {scores.shape}")
    total = n_layers * n_heads
    if ks is None:
        ks = [int(k) for k in np.unique(np.round(np.linspace(0, total, min(total + 1, MAX_CURVE_POINTS))))]
    ks = [int(k) for k in ks]
    if any(k < 0 for k in ks):
        raise ValueError(f"k must be >= 0, got {min(ks)}")
    masks = torch.ones(len(ks) + 1, n_layers, n_heads, dtype=torch.bool)
    masks[0] = False  # the clean run: nothing ablated
    for m, k in enumerate(ks, start=1):
        for layer, head in rank_heads(scores, tiebreak, k):
            masks[m, layer, head] = False
    means = mean_replacement(model, task)  # over every prompt of the task
    rows = len(task.correct_ids)
    kept = Task(task.name, positives=list(task.positives[:rows]), negatives=list(task.positives[:rows]),
                correct_ids=list(task.correct_ids), incorrect_ids=list(task.incorrect_ids))
    metric = metric_under_masks(model, kept, masks, "mean", means=means).double().numpy()
    clean = float(metric[0])
    if not clean > 1e-8:
        raise PromptError(
            f"the model's mean logit difference on these positives is {clean:.3g}, so the fraction it "
            "keeps is meaningless; faithfulness needs prompts the model solves"
        )
    return ks, [float(v / clean) for v in metric[1:]]
