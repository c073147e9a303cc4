"""A tiny GGUF model for tests: llama.cpp loads and serves it, and at temperature 0 it answers any chat prompt
with a reply the test chose, then ends its turn.

The network is a bigram table. ``attn_output`` and ``ffn_down`` are zero, so the one block adds nothing to the
residual stream and the hidden state at the last position is the current token's embedding: the next token
depends on the current token alone. Every token gets one of a set of orthonormal directions (a seeded random
rotation) as its embedding: the reply's tokens one each, every other token (bytes, specials, the whole prompt)
a shared "default" direction. ``output.weight`` maps each direction to its successor along the chain

    any other token (the prompt's last, ``\\n`` after ``<|im_start|>assistant``) -> reply token 1 -> ... -> reply
    token n -> ``<|im_end|>`` (end of generation: eos and eot)

with a logit margin of 16 and exactly 0 for every other token, so greedy decoding follows it for any prompt.

The vocabulary is a SentencePiece one (``tokenizer.ggml.model = "llama"``): ``<unk> <s> </s>``, the 256
byte-fallback tokens ``<0x00>``..``<0xFF>`` (so any prompt text tokenizes), ``<|im_start|> <|im_end|>``
(control), ``▁`` (a space), then the reply's pieces. The reply is split into words with their leading spaces
(``▁word``), numbers such as ``10,000``, citations such as ``[1]``, single punctuation marks and runs of other
whitespace; each piece is a vocabulary token of its own, in the order they are generated.

A bigram chain cannot visit a token twice, so the pieces must be distinct tokens, and llama.cpp refuses a
vocabulary with two equal token texts. A piece that is already taken (a repeated word, a second ``.``) uses,
in order, the first of these that is free:

* the piece with literal spaces instead of ``▁`` (a normal token decodes both to a space; the tokenizer never
  produces it, since it turns spaces into ``▁`` first);
* a single-byte piece's byte-fallback token (``<0x2E>`` for ``.``);
* a different split: a shorter prefix of the piece (``▁th`` + ``e``), else the piece joined with the pieces
  after it (``.▁The``).

A backtracking search over those choices finds a chain for any reply (the whole rest of the reply as one
token is the last resort). The generated text is the reply exactly: the first piece has no ``▁`` unless the
reply starts with a space, and a piece never gains or loses one. Pieces the tokenizer could produce at the end
of the chat prompt (suffixes of ``▁assistant\\n``, e.g. a lone ``\\n``; and the byte token ``<0x0A>``) are
never reply tokens, so that the prompt's last token is always a default one. Hence the only replies this
cannot write (ValueError): one that contains ``▁`` (U+2581) itself, and one that is a suffix of
``" assistant\\n"`` (``"\\n"``, ``"t\\n"``, ...).

The prompt side: few words of a prompt are in the vocabulary, so a prompt tokenizes to about a token a byte
(a 460-word article in a chat prompt: ~2,900 tokens); ``context_length`` and the server's ``n_ctx`` must fit.
"""

from __future__ import annotations

import contextlib
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["CHAT_TEMPLATE", "reply_pieces", "serve", "write_tiny_gguf"]

#: ChatML, as Qwen and many others use it: system, user and assistant turns, then ``<|im_start|>assistant\n``.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

SPACE = "\u2581"  # SentencePiece's visible space
#: What the SentencePiece tokenizer sees after the prompt's last control token: llama.cpp prefixes a space to
#: text that follows a special token. The prompt's last token is a suffix of this.
_TAIL = SPACE + "assistant\n"
_TAIL_SUFFIXES = frozenset(_TAIL[i:] for i in range(len(_TAIL)))

# token types (llama.cpp's llama_token_type)
_NORMAL, _UNKNOWN, _CONTROL, _BYTE = 1, 2, 3, 6

# GGUF value types
_U32, _I32, _F32, _BOOL, _STR, _ARR = 4, 5, 6, 7, 8, 9
_GGML_F32 = 0
_ALIGN = 32

#: Preferred pieces: spaces + (citation | word or number with inner . , ' ’ - | one other mark), or whitespace.
_PIECE = re.compile(r" *(?:\[\d+\]|\w+(?:[.,'’-]\w+)*|[^\w\s])|\s+")

_N_HEAD = 2
_HEAD_DIM = 32  # key, value and rope width: the (inert) attention stays small however wide the embeddings are
_N_FF = 64
_MARGIN = 16.0


def _base_vocab() -> list[tuple[str, int]]:
    vocab = [("<unk>", _UNKNOWN), ("<s>", _CONTROL), ("</s>", _CONTROL)]
    vocab += [(f"<0x{b:02X}>", _BYTE) for b in range(256)]
    vocab += [("<|im_start|>", _CONTROL), ("<|im_end|>", _CONTROL), (SPACE, _NORMAL)]
    return vocab


#: Token texts of the base vocabulary: a reply piece never takes one (byte tokens are reused as they are).
_RESERVED = frozenset(text for text, _ in _base_vocab())


def _variants(text: str, used: set[str]) -> Iterator[tuple[str, int]]:
    """Token texts (and types) that decode to ``text`` and are free, most natural first."""
    escaped = text.replace(" ", SPACE)
    if escaped not in _TAIL_SUFFIXES and escaped not in _RESERVED and escaped not in used:
        yield escaped, _NORMAL
    if " " in text and text not in _RESERVED and text not in used:
        yield text, _NORMAL
    raw = text.encode()
    if len(raw) == 1 and raw != b"\n" and f"<0x{raw[0]:02X}>" not in used:
        yield f"<0x{raw[0]:02X}>", _BYTE


def reply_pieces(reply: str) -> list[tuple[str, int]]:
    """The chain of (token text, token type) whose decoded texts concatenate to ``reply``, all distinct."""
    if SPACE in reply:
        raise ValueError(f"a reply cannot contain {SPACE!r} (U+2581): SentencePiece decodes it as a space")
    ends = [m.end() for m in _PIECE.finditer(reply)]
    assert not ends or ends[-1] == len(reply)
    starts = {0, *ends}
    next_end = {s: e for s, e in zip([0, *ends], ends, strict=False)}

    def candidates(pos: int) -> Iterator[int]:
        """Where the piece at ``pos`` may end: the preferred end, shorter prefixes, then joins with later pieces."""
        end = next_end[pos] if pos in starts else min(e for e in ends if e > pos)
        yield end
        yield from range(end - 1, pos, -1)
        yield from (e for e in ends if e > end)

    used: set[str] = set()
    chain: list[tuple[str, int]] = []
    # depth-first search, with an explicit stack so that long replies do not hit the recursion limit
    stack: list[Iterator[tuple[int, str, int]]] = []

    def options(pos: int) -> Iterator[tuple[int, str, int]]:
        for end in candidates(pos):
            for text, kind in _variants(reply[pos:end], used):
                yield end, text, kind

    if reply:
        stack.append(options(0))
    while stack:
        choice = next(stack[-1], None)
        if choice is None:  # dead end: undo the previous choice
            stack.pop()
            if chain:
                text, _ = chain.pop()
                used.discard(text)
            continue
        end, text, kind = choice
        chain.append((text, kind))
        used.add(text)
        pos = end
        if pos == len(reply):
            break
        stack.append(options(pos))
    if "".join(_decode(t) for t, _ in chain) != reply:
        # only a reply that is a suffix of " assistant\n" (a lone "\n", "t\n", ...) gets here
        raise ValueError(f"cannot write {reply!r}: it would end with a token the chat prompt can end with")
    return chain


def _decode(text: str) -> str:
    """What llama.cpp prints for a chain token (normal: ``▁`` is a space; byte: the byte)."""
    m = re.fullmatch(r"<0x([0-9A-F]{2})>", text)
    return chr(int(m.group(1), 16)) if m else text.replace(SPACE, " ")


def _string(s: str) -> bytes:
    raw = s.encode()
    return struct.pack("<Q", len(raw)) + raw


def _kv(key: str, kind: int, value: object) -> bytes:
    out = _string(key) + struct.pack("<I", kind)
    if kind == _STR:
        assert isinstance(value, str)
        return out + _string(value)
    if kind == _ARR:
        assert isinstance(value, tuple)
        item_kind, items = value
        out += struct.pack("<IQ", item_kind, len(items))
        if item_kind == _STR:
            return out + b"".join(_string(s) for s in items)
        return out + np.asarray(items, dtype={_F32: "<f4", _I32: "<i4"}[item_kind]).tobytes()
    return out + struct.pack({_U32: "<I", _I32: "<i", _F32: "<f", _BOOL: "<?"}[kind], value)


def write_tiny_gguf(path: Path, reply: str, *, seed: int = 0, context_length: int = 32768) -> Path:
    """A llama-architecture GGUF of a few hundred KB whose greedy continuation of any chat prompt is `reply`,
    then end-of-turn.

    ``seed`` picks the random rotation of the embeddings and the (inert) attention and FFN weights; the reply
    does not depend on it. ``context_length`` is the model's trained context (llama.cpp's default ``n_ctx``);
    mind that a prompt with few reply words in it tokenizes to about one token per byte.
    """
    pieces = reply_pieces(reply)
    vocab = _base_vocab()
    ids = {text: i for i, (text, _) in enumerate(vocab)}
    for text, kind in pieces:
        if text not in ids:  # byte tokens are already there
            ids[text] = len(vocab)
            vocab.append((text, kind))
    im_end = ids["<|im_end|>"]
    chain = [ids[text] for text, _ in pieces]
    n_vocab = len(vocab)

    # one direction per chain token, plus the default one (direction 0); the width fits them, rope wants it even
    n_embd = max(64, -(-(len(chain) + 1) // 32) * 32)
    n_attn = _N_HEAD * _HEAD_DIM
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((n_embd, n_embd)))
    direction = np.zeros(n_vocab, dtype=np.int64)
    direction[chain] = np.arange(1, len(chain) + 1)
    token_embd = rotation[direction]
    # rmsnorm turns a unit vector e into sqrt(n_embd)·e: scale so that the successor's logit is _MARGIN
    successors = [*chain, im_end]  # successor of direction k
    output = np.zeros((n_vocab, n_embd))
    for k, succ in enumerate(successors):
        output[succ] += rotation[k] * (_MARGIN / np.sqrt(n_embd))

    def small(rows: int, cols: int) -> np.ndarray:
        return rng.standard_normal((rows, cols)) * 0.02

    # numpy shape (rows, cols) is GGUF ne = [cols, rows]: ne[0] is the innermost dimension (a matrix's input)
    tensors: dict[str, np.ndarray] = {
        "token_embd.weight": token_embd,
        "output_norm.weight": np.ones(n_embd),
        "output.weight": output,
        "blk.0.attn_norm.weight": np.ones(n_embd),
        "blk.0.attn_q.weight": small(n_attn, n_embd),
        "blk.0.attn_k.weight": small(n_attn, n_embd),
        "blk.0.attn_v.weight": small(n_attn, n_embd),
        "blk.0.attn_output.weight": np.zeros((n_embd, n_attn)),
        "blk.0.ffn_norm.weight": np.ones(n_embd),
        "blk.0.ffn_gate.weight": small(_N_FF, n_embd),
        "blk.0.ffn_up.weight": small(_N_FF, n_embd),
        "blk.0.ffn_down.weight": np.zeros((n_embd, _N_FF)),
    }

    kvs = [
        _kv("general.architecture", _STR, "llama"),
        _kv("general.name", _STR, "tinygguf"),
        _kv("general.file_type", _U32, 0),  # all F32
        _kv("general.alignment", _U32, _ALIGN),
        _kv("tinygguf.reply", _STR, reply),
        _kv("llama.context_length", _U32, context_length),
        _kv("llama.embedding_length", _U32, n_embd),
        _kv("llama.block_count", _U32, 1),
        _kv("llama.feed_forward_length", _U32, _N_FF),
        _kv("llama.attention.head_count", _U32, _N_HEAD),
        _kv("llama.attention.head_count_kv", _U32, _N_HEAD),
        _kv("llama.attention.key_length", _U32, _HEAD_DIM),
        _kv("llama.attention.value_length", _U32, _HEAD_DIM),
        _kv("llama.rope.dimension_count", _U32, _HEAD_DIM),
        _kv("llama.rope.freq_base", _F32, 10000.0),
        _kv("llama.attention.layer_norm_rms_epsilon", _F32, 1e-5),
        _kv("llama.vocab_size", _U32, n_vocab),
        _kv("tokenizer.ggml.model", _STR, "llama"),
        _kv("tokenizer.ggml.tokens", _ARR, (_STR, [text for text, _ in vocab])),
        _kv("tokenizer.ggml.scores", _ARR, (_F32, [0.0] * n_vocab)),
        _kv("tokenizer.ggml.token_type", _ARR, (_I32, [kind for _, kind in vocab])),
        _kv("tokenizer.ggml.unknown_token_id", _U32, ids["<unk>"]),
        _kv("tokenizer.ggml.bos_token_id", _U32, ids["<s>"]),
        _kv("tokenizer.ggml.eos_token_id", _U32, im_end),
        _kv("tokenizer.ggml.eot_token_id", _U32, im_end),
        _kv("tokenizer.ggml.padding_token_id", _U32, ids["</s>"]),
        _kv("tokenizer.ggml.add_bos_token", _BOOL, False),
        _kv("tokenizer.ggml.add_eos_token", _BOOL, False),
        _kv("tokenizer.chat_template", _STR, CHAT_TEMPLATE),
    ]

    infos: list[bytes] = []
    blobs: list[bytes] = []
    offset = 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        dims = array.shape[::-1]
        infos.append(_string(name) + struct.pack(f"<I{len(dims)}QIQ", len(dims), *dims, _GGML_F32, offset))
        pad = -len(data) % _ALIGN
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad

    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(infos)
    header += b"\0" * (-len(header) % _ALIGN)
    path = Path(path)
    path.write_bytes(header + b"".join(blobs))
    return path


@contextlib.contextmanager
def serve(model: Path, *, api_key: str, n_ctx: int = 32768, n_threads: int = 2, verbosity: int = 0) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server (xllamacpp) on a free loopback port; yields its base URL, ``…/v1``.

    ``n_ctx`` tokens of context (its KV cache costs 256 bytes a token); ``verbosity=0`` silences llama.cpp's log
    (3 logs every request and warning).

    The server closes a connection after a streamed reply although it answered ``Keep-Alive``: a client that
    sends its next request on that connection can get "Server disconnected without sending a response".
    """
    import xllamacpp  # an optional test dependency: import it where it is used

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.n_ctx = n_ctx
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the OS picks a free one: listening_address says which
    params.api_keys = [api_key]
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    params.verbosity = verbosity
    server = xllamacpp.Server(params)
    try:
        yield f"{server.listening_address}/v1"
    finally:
        del server  # its destructor stops the HTTP server and frees the model
