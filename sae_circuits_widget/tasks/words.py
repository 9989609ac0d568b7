"""Word pools shared by the task generators and the organism's vocabulary.

All words are plain lower/upper-case ASCII words that GPT-2's BPE also encodes as one
token with a leading space (most of them; the generators filter per tokenizer anyway).
"""

from __future__ import annotations

NAMES: tuple[str, ...] = (
    "Mary", "John", "Tom", "Anna", "James", "Paul", "Mark", "Sarah", "Kate", "David",
    "Lisa", "Peter", "Emma", "Jack", "Alice", "Daniel", "Laura", "Mike", "Rose", "Ben",
    "Sam", "Amy", "Eric", "Grace", "Henry", "Jane", "Kevin", "Lucy", "Adam", "Helen",
)

PLACES: tuple[str, ...] = (
    "store", "park", "school", "station", "office", "garden", "hospital", "restaurant",
    "market", "library", "beach", "house",
)

OBJECTS: tuple[str, ...] = (
    "drink", "book", "ring", "letter", "bag", "key", "gift", "ball", "snack", "card",
    "bottle", "box",
)

# Greater-than nouns (Hanna et al. 2023 use several event nouns).
EVENTS: tuple[str, ...] = (
    "war", "expedition", "reign", "dynasty", "project", "strike", "contract", "journey",
)

# Docstring argument names and description words.
ARG_NAMES: tuple[str, ...] = (
    "load", "size", "files", "last", "data", "name", "path", "mode", "value", "count",
    "index", "key", "text", "url", "user", "limit", "start", "end", "step", "color",
    "width", "height", "token", "node", "shape", "order", "target", "source", "level",
    "port", "host", "seed", "scale", "label", "state", "query", "model", "image",
)

FUNC_NAMES: tuple[str, ...] = (
    "run", "check", "build", "parse", "load", "read", "write", "send", "update", "create",
    "fetch", "apply", "render", "merge", "split", "sort",
)

DESC_WORDS: tuple[str, ...] = (
    "oil", "column", "piece", "crime", "population", "unit", "dark", "river", "stone",
    "paper", "light", "field", "glass", "metal", "song", "table", "window", "cloud",
    "green", "small", "old", "new", "big", "cold", "warm", "fast", "soft", "hard",
)

# Filler / induction words (plain English words, single tokens for GPT-2 too).
FILLER_WORDS: tuple[str, ...] = (
    "cat", "dog", "tree", "car", "city", "water", "fire", "music", "sun", "moon",
    "bird", "fish", "door", "road", "hill", "lake", "bread", "milk", "chair", "shoe",
    "hat", "coat", "boat", "train", "plane", "horse", "wall", "floor", "room", "bed",
    "cup", "plate", "food", "game", "story", "idea", "time", "day", "night", "week",
    "month", "people", "child", "friend", "family", "team", "world", "country", "town",
    "village", "sea", "sky", "rain", "snow", "wind", "star", "flower", "grass", "rock",
    "sand", "ice", "salt", "sugar", "tea", "coffee", "apple", "egg", "meat", "rice",
    "corn", "wood", "gold", "silver", "iron", "money", "price", "job", "work", "art",
    "film", "show", "news", "word", "voice", "face", "hand", "head", "eye", "heart",
    "mind", "body", "life", "power", "plan", "rule", "law", "test", "class", "group",
    "line", "point", "side", "part", "place", "thing", "way", "case", "fact", "form",
)

FUNCTION_WORDS: tuple[str, ...] = (
    "The", "the", "a", "an", "and", "or", "of", "in", "on", "at", "to", "from", "with",
    "for", "by", "is", "was", "it", "he", "she", "they", "this", "that", "then", "When",
    "After", "Then", "While", "went", "gave", "had", "lot", "fun", "lasted", "year", "took",
    "handed", "while", "were", "working", "Afterwards", "decided", "give", "sent",
    "def", "self", "param", "return", "very", "good", "bad", "big", "some", "many",
    "saw", "made", "found", "left", "came", "said", "there", "here", "not", "all",
    "days", "men", "until", "end", "ended", "In", "From",
)

PUNCT: tuple[str, ...] = (",", ".", "(", ")", ":", '"', "!", "?")

NUMBERS: tuple[str, ...] = tuple(f"{i:02d}" for i in range(100))
