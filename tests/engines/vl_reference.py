"""transformers fp32 on a Qwen3-VL checkpoint: the numerical truth for the vision engines.

Written from the official scorer (QwenLM/Qwen3-VL-Embedding, src/models/qwen3_vl_reranker.py)
and deliberately independent of engines/qwen3_vl.py: the messages have the official structure
and go through the checkpoint's own chat template; images are resized by transformers'
`smart_resize` (factor 32, 4x32² ≤ pixels ≤ 1800x32²) and preprocessed by
`Qwen2VLImageProcessorPil` (no torchvision).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

SYSTEM = ('Judge whether the Document meets the requirements based on the Query and the Instruct provided. '
          'Note that the answer can only be "yes" or "no".')
DEFAULT_INSTRUCTION = "Given a search query, retrieve relevant candidates that answer the query."
FACTOR, MIN_PIXELS, MAX_PIXELS = 32, 4 * 32 * 32, 1800 * 32 * 32


@dataclass(frozen=True)
class ReferenceScore:
    token_ids: list[int]  # the prompt, every <|image_pad|> expanded
    logit_diff: float  # logit("yes") - logit("no") at the last position
    score: float  # sigmoid(logit_diff)


def _side(prefix: str, text: str | None, images: list[Path]) -> list[dict]:
    content = [{"type": "text", "text": prefix}]
    if not text and not images:
        return content + [{"type": "text", "text": "NULL"}]
    content += [{"type": "image", "image": str(p)} for p in images]
    if text:
        content.append({"type": "text", "text": text})
    return content


def official_messages(query: str | None, query_images: list[Path], doc: str | None, doc_images: list[Path],
                      instruction: str | None = None) -> list[dict]:
    user = [{"type": "text", "text": "<Instruct>: " + (instruction or DEFAULT_INSTRUCTION)}]
    user += _side("<Query>:", query, query_images) + _side("\n<Document>:", doc, doc_images)
    return [{"role": "system", "content": [{"type": "text", "text": SYSTEM}]}, {"role": "user", "content": user}]


def reference_image(path: Path):
    """The image as the official scorer feeds it: RGB, resized by the reference's rule (bicubic)."""
    from PIL import Image
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    with Image.open(path) as img:
        img = img.convert("RGB")
        h, w = smart_resize(img.height, img.width, factor=FACTOR, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
        return img.resize((w, h), resample=Image.Resampling.BICUBIC)


class VLReference:
    def __init__(self, folder: Path) -> None:
        import torch
        from transformers import AutoTokenizer, Qwen3VLForConditionalGeneration
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        self.torch = torch
        self.model = Qwen3VLForConditionalGeneration.from_pretrained(str(folder), dtype=torch.float32).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        cfg = self.model.config
        self.processor = Qwen2VLImageProcessorPil(
            patch_size=cfg.vision_config.patch_size, temporal_patch_size=cfg.vision_config.temporal_patch_size,
            merge_size=cfg.vision_config.spatial_merge_size, image_mean=[0.5] * 3, image_std=[0.5] * 3)
        self.image_token_id = cfg.image_token_id
        self.merge = cfg.vision_config.spatial_merge_size
        self.yes, self.no = self.tokenizer.convert_tokens_to_ids(["yes", "no"])

    def prompt_ids(self, messages: list[dict]) -> tuple[list[int], dict]:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        paths = [Path(c["image"]) for m in messages if isinstance(m["content"], list)
                 for c in m["content"] if c["type"] == "image"]
        vision = {}
        if paths:
            vision = self.processor([reference_image(p) for p in paths], do_resize=False, return_tensors="pt")
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        grids = iter(vision["image_grid_thw"].tolist()) if paths else iter(())
        expanded = []
        for i in ids:
            if i == self.image_token_id:
                t, h, w = next(grids)
                expanded += [i] * (t * h * w // self.merge ** 2)
            else:
                expanded.append(i)
        return expanded, dict(vision)

    def hidden(self, messages: list[dict]):
        ids, vision = self.prompt_ids(messages)
        torch = self.torch
        input_ids = torch.tensor([ids])
        kwargs = {}
        if vision:
            kwargs = {"pixel_values": vision["pixel_values"], "image_grid_thw": vision["image_grid_thw"],
                      "mm_token_type_ids": (input_ids == self.image_token_id).int()}
        with torch.no_grad():
            return ids, self.model.model(input_ids=input_ids, **kwargs).last_hidden_state[0, -1]

    def score(self, query: str | None, doc: str | None, *, query_images: list[Path] = (),
              doc_images: list[Path] = (), instruction: str | None = None) -> ReferenceScore:
        messages = official_messages(query, list(query_images), doc, list(doc_images), instruction)
        ids, last = self.hidden(messages)
        with self.torch.no_grad():
            logits = self.model.lm_head(last).double()
        diff = float(logits[self.yes] - logits[self.no])
        return ReferenceScore(ids, diff, float(self.torch.sigmoid(self.torch.tensor(diff))))

    def embedding(self, text: str | None, images: list[Path] = (), instruction: str | None = None):
        """Qwen3-VL-Embedding's vector (official format_model_input, last token, L2) and the prompt's ids."""
        import numpy as np

        content = [{"type": "image", "image": str(p)} for p in images]
        content += [{"type": "text", "text": text}] if text else []
        instruction = (instruction or "Represent the user's input.").strip()
        if not unicodedata.category(instruction[-1]).startswith("P"):
            instruction += "."
        messages = [{"role": "system", "content": [{"type": "text", "text": instruction}]},
                    {"role": "user", "content": content or [{"type": "text", "text": "NULL"}]}]
        ids, last = self.hidden(messages)
        vec = last.numpy().astype(np.float64)
        return ids, (vec / np.linalg.norm(vec)).astype(np.float32)
