"""Train the tiny chat test model until it says exactly what chat_examples.json says.

Engine and RAG tests need a model whose greedy output is known in advance. A few hundred
full-batch AdamW steps make a tiny Qwen3 memorise a handful of conversations.

Each item of chat_examples.json is one conversation:

- `messages`: [{role, content}], rendered by the chat template with the generation prompt;
- `enable_thinking`: the template's switch;
- `completion`: the exact text generated after the prompt, ending with <|im_end|>;
- `given` (optional): a leading part of `completion` that the model is fed rather than
  trained on, e.g. thinking cut short by a budget plus the engine's forced early-stop
  sentence. Without the loss on it, the same prompt's own example stays the greedy path.

Output is deterministic: fixed seed, deterministic kernels, one thread, a fixed number of steps.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

SEED = 0
STEPS = 120  # loss ~1e-3: each target logit leads the next one by over 6, far past bf16 rounding
LEARNING_RATE = 6e-3


def load_examples(path: Path) -> list[dict]:
    examples = json.loads(Path(path).read_text(encoding="utf-8"))
    for ex in examples:
        if not ex["completion"].startswith(ex.get("given", "")):
            raise ValueError(f"`given` must begin `completion`: {ex}")
    return examples


def render_prompt(template_source: str, example: dict) -> str:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    # The environment transformers and the engines render chat templates with.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template_source).render(
        messages=example["messages"], add_generation_prompt=True, enable_thinking=example["enable_thinking"])


def encode_example(tok, template_source: str, example: dict) -> tuple[list[int], int]:
    """(token ids, how many of them are context without loss).

    Prompt, given text and generated text are tokenized separately, as an engine sees them:
    it tokenizes the prompt and any forced text, and the model adds its tokens one by one.
    """
    def ids(text: str) -> list[int]:
        return tok.encode(text, add_special_tokens=False).ids if text else []

    given = example.get("given", "")
    context = ids(render_prompt(template_source, example)) + ids(given)
    return context + ids(example["completion"][len(given):]), len(context)


def train_chat(config_dir: Path, tok, examples_file: Path, template_file: Path, *, steps: int = STEPS) -> dict:
    """Weights (name -> fp32 tensor, rounded to bf16) of the model config_dir/config.json describes."""
    import torch
    from transformers import AutoConfig, Qwen3ForCausalLM

    template = Path(template_file).read_text(encoding="utf-8")
    encoded = [encode_example(tok, template, ex) for ex in load_examples(examples_file)]
    # Right padding needs no attention mask: causal attention never looks at later positions.
    width = max(len(ids) for ids, _ in encoded)
    pad = tok.token_to_id("<|endoftext|>")
    inputs = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in encoded])
    labels = torch.full_like(inputs, -100)  # HF's ignore index: no loss on context and padding
    for row, (ids, n_context) in enumerate(encoded):
        labels[row, n_context:len(ids)] = torch.tensor(ids[n_context:])

    was_deterministic, threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    t0 = time.monotonic()
    # fork_rng: the suite builds models in-process and must not see its global RNG moved.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        torch.use_deterministic_algorithms(True)
        # One thread: the sums then do not depend on the machine's core count, so the weights
        # are the same bytes everywhere; and on a busy machine, threads waiting for each other
        # made training ten times slower than one thread.
        torch.set_num_threads(1)
        try:
            # Eager attention: on CPU, sdpa's backward pass is several times slower at this size.
            config = AutoConfig.from_pretrained(str(config_dir), attn_implementation="eager")
            model = Qwen3ForCausalLM(config).float().train()
            opt = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
            for _ in range(steps):
                loss = model(input_ids=inputs, labels=labels).loss
                opt.zero_grad()
                loss.backward()
                opt.step()
            model.eval()
            # Checked on the bf16-rounded weights the factory saves: teacher-forced argmax
            # equal to every target token is exactly "greedy decoding reproduces it".
            weights = {k: v.detach().to(torch.bfloat16).float() for k, v in model.state_dict().items()}
            model.load_state_dict(weights)
            with torch.no_grad():
                predicted = model(input_ids=inputs).logits.argmax(-1)
        finally:
            torch.use_deterministic_algorithms(was_deterministic)
            torch.set_num_threads(threads)
    wrong = [i for i, (ids, n) in enumerate(encoded)
             if predicted[i, n - 1:len(ids) - 1].tolist() != ids[n:]]
    if wrong:
        raise RuntimeError(f"chat model did not learn examples {wrong} in {steps} steps (loss {loss.item():.2e})")
    print(f"llm-chat: {steps} steps in {time.monotonic() - t0:.1f}s, final loss {loss.item():.2e}", flush=True)
    return weights
