"""The tokenizer part of a Qwen3 GGUF: what llama.cpp needs to tokenize exactly as Hugging Face does.

llama.cpp's own converter detects the pre-tokenizer by hashing a test string; Qwen3 always
uses the Qwen2 regex, so "qwen2" is written directly. Qwen pads vocab_size past the
tokenizer (151936 vs 151669), so the gap is filled with UNUSED [PADn] tokens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .checkpoint import Checkpoint, ModelKind, TokenizerInfo
from .errors import TokenizerError

if TYPE_CHECKING:
    import gguf

# The Qwen3-Reranker prompt, with llama.cpp's {query}/{document} placeholders, stored as the
# named "rerank" template so llama.cpp's server (and Ippon's engines) can rebuild the prompt
# from the file alone.
RERANK_SYSTEM = ('Judge whether the Document meets the requirements based on the Query and the Instruct '
                 'provided. Note that the answer can only be "yes" or "no".')
RERANK_DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
RERANK_TEMPLATE = (
    f"<|im_start|>system\n{RERANK_SYSTEM}<|im_end|>\n"
    f"<|im_start|>user\n<Instruct>: {RERANK_DEFAULT_INSTRUCTION}\n<Query>: {{query}}\n<Document>: {{document}}"
    "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
)


def write_tokenizer_metadata(writer: gguf.GGUFWriter, ckpt: Checkpoint) -> None:
    import gguf

    tok = ckpt.tokenizer
    tokens, types = _tokens_and_types(tok, ckpt.dims.vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(_merges(tok))

    endoftext = _required_id(tok, "<|endoftext|>")
    bos = ckpt.config.get("bos_token_id")
    writer.add_bos_token_id(int(bos) if isinstance(bos, int) else endoftext)
    writer.add_add_bos_token(False)
    pad_token = _token_text(tok.config.get("pad_token")) or "<|endoftext|>"
    writer.add_pad_token_id(_required_id(tok, pad_token))
    if ckpt.kind is ModelKind.EMBEDDER:
        # Qwen3-Embedding's tokenizer appends <|endoftext|> once and pools that last token;
        # llama.cpp does the same when it is the EOS and add_eos_token is set.
        writer.add_eos_token_id(endoftext)
        writer.add_add_eos_token(True)
    else:
        eos_token = _token_text(tok.config.get("eos_token")) or "<|im_end|>"
        writer.add_eos_token_id(_required_id(tok, eos_token))
        writer.add_add_eos_token(False)
        im_end = tok.token_id("<|im_end|>")
        if im_end is not None:
            writer.add_eot_token_id(im_end)

    templates: list[dict[str, str]] = []
    if tok.chat_template:
        templates.append({"name": "default", "template": tok.chat_template})
    if ckpt.kind is ModelKind.RERANKER:
        templates.append({"name": "rerank", "template": RERANK_TEMPLATE})
    if templates:
        writer.add_chat_template(templates)


def _tokens_and_types(tok: TokenizerInfo, vocab_size: int) -> tuple[list[str], list[int]]:
    import gguf

    # Ids past the tokenizer (Qwen pads vocab_size) become unused [PADn] tokens.
    tokens: list[str | None] = [None] * vocab_size
    for text, idx in tok.tokenizer_json["model"]["vocab"].items():
        tokens[int(idx)] = text
    types = [int(gguf.TokenType.NORMAL)] * vocab_size
    for added in tok.tokenizer_json.get("added_tokens", []):
        idx = int(added["id"])
        tokens[idx] = added["content"]
        types[idx] = int(gguf.TokenType.CONTROL if added.get("special") else gguf.TokenType.USER_DEFINED)
    for idx, text in enumerate(tokens):
        if text is None:
            tokens[idx] = f"[PAD{idx}]"
            types[idx] = int(gguf.TokenType.UNUSED)
    return tokens, types  # type: ignore[return-value]  # every None was replaced


def _merges(tok: TokenizerInfo) -> list[str]:
    merges: list[Any] = tok.tokenizer_json["model"].get("merges") or []
    # tokenizers >= 0.20 saves merges as pairs; llama.cpp reads "a b" strings.
    return [m if isinstance(m, str) else " ".join(m) for m in merges]


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):  # {"content": "<|im_end|>", ...} in older tokenizer configs
        value = value.get("content")
    return value if isinstance(value, str) and value else None


def _required_id(tok: TokenizerInfo, token: str) -> int:
    idx = tok.token_id(token)
    if idx is None:
        raise TokenizerError(f"{tok.path}: the token {token!r} is missing; a Qwen3 tokenizer defines it")
    return idx
