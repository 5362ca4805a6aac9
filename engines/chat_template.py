"""Rendering a chat template that came with a model file: untrusted code, bounded in size and time.

A GGUF file or tokenizer_config.json carries its chat template as jinja2 source. jinja2's
sandbox already keeps it away from Python's internals; what it leaves open is exhausting the
machine: `'A' * 4000000000`, `'a'|center(4000000000)`, a namespace doubling a string in a
loop, nested `range` loops, endless macro recursion. Here every value a template can build is
held under MAX_VALUE_CHARS (operators, calls, filters and namespace assignments are checked
before they run), the output under MAX_OUTPUT_CHARS, and the render under RENDER_SECONDS: a
trace function on the template's own frames stops a loop that runs past the deadline.
Templates cannot include, import or extend other templates (there are none to reach).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import operator
import re
import sys
import time
from collections.abc import Sized
from functools import lru_cache
from typing import Any

from .errors import EngineError

MAX_SOURCE_CHARS = 1_000_000  # Qwen3's template is about 4,000 characters
MAX_VALUE_CHARS = 8_000_000  # any one string, list or argument a template builds
MAX_OUTPUT_CHARS = 16_000_000  # the whole prompt: more than any context window holds
MAX_RANGE = 100_000  # items of one `range` (jinja2's own sandbox default)
RENDER_SECONDS = 5.0  # a real template renders in milliseconds
_TEMPLATE_FILE = "<chat template>"
_CHECK_EVERY = 256  # trace events between two looks at the clock
# A width or precision in a %-format or str.format spec that would pad a string past the limits.
_FORMAT_WIDTH = re.compile(r"(\d{7,})|\*")


class ChatTemplateError(EngineError, ValueError):
    """The model's chat template is broken or tried to exhaust memory or time; nothing was rendered."""


class _Limit(Exception):
    """A template went past one of the limits; becomes a ChatTemplateError with the reason."""


def _too_big(value: object) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) > MAX_VALUE_CHARS
    return _shown_size(value) > MAX_VALUE_CHARS


def _shown_size(value: object) -> int:
    """About len(str(value)) (from below), counted without building it and given up past the cap:
    a list holding one 8-million-item list 8 million times is small in memory, but not printed."""
    total, pending = 0, [iter((value,))]
    while pending:
        item = next(pending[-1], _DONE)
        if item is _DONE:
            pending.pop()
            continue
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            pending.append(itertools.chain.from_iterable(item.items()))
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            pending.append(iter(item))
        else:
            total += 1
        if total > MAX_VALUE_CHARS:
            break
    return total


_DONE = object()


def _check_values(what: str, values: tuple | list) -> None:
    for value in values:
        if _too_big(value):
            raise _Limit(f"{what} with a value over {MAX_VALUE_CHARS:,}")


def _size(value: object) -> int:
    return len(value) if isinstance(value, Sized) else 0


def _checked_binop(op: str, left: Any, right: Any) -> Any:
    if op == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and _size(seq) * max(n, 0) > MAX_VALUE_CHARS:
                raise _Limit(f"a repetition of {_size(seq) * n:,} items")
    elif op == "+" and isinstance(left, (str, list, tuple)) and _size(left) + _size(right) > MAX_VALUE_CHARS:
        raise _Limit(f"a concatenation of {_size(left) + _size(right):,} items")
    elif op == "**" and isinstance(right, (int, float)) and abs(right) > 64:
        raise _Limit(f"a power of {right}")
    elif op == "%" and isinstance(left, str) and _FORMAT_WIDTH.search(left.replace("%%", "")):
        raise _Limit("a %-format with a huge or variable width")
    result = _BINOPS[op](left, right)
    if _too_big(result) and not isinstance(result, (int, float)):
        raise _Limit(f"a value of {_size(result):,} items")
    return result


_BINOPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
           "//": operator.floordiv, "**": operator.pow, "%": operator.mod}


def _huge_format_spec(text: str) -> bool:
    """Whether a str.format pattern asks for a width or precision that could exhaust memory."""
    specs = re.findall(r"\{[^{}]*\}", text.replace("{{", "").replace("}}", ""))
    return any(_FORMAT_WIDTH.search(spec) or spec.count("{") > 1 for spec in specs) or "{:{" in text


def _replaced_size(text: str, old: Any, new: Any, count: Any = -1) -> int:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * len(new)


def _joined_size(separator: Any, items: Any) -> int:
    if not isinstance(separator, str) or not isinstance(items, (list, tuple)):
        return 0
    return len(separator) * max(len(items) - 1, 0) + sum(len(i) for i in items if isinstance(i, str))


def _grown_size(name: str, params: dict[str, Any]) -> int:
    """What a string function that can multiply its input (a replace, a join, an indent) would
    make, computed before it runs; 0 for anything else."""
    if name == "replace":
        return _replaced_size(params.get("s"), params.get("old"), params.get("new"), params.get("count") or -1)
    if name == "join":
        return _joined_size(params.get("d", ""), params.get("value"))
    if name in ("indent", "wordwrap"):
        text = params.get("s")
        pad = params.get("width" if name == "indent" else "wrapstring")
        pad_size = pad if isinstance(pad, int) else len(pad) if isinstance(pad, str) else 0
        return len(text) * (1 + pad_size) if isinstance(text, str) else 0
    return 0


def _str_method_size(method: Any, args: tuple, kwargs: dict[str, Any]) -> int:
    """The same for str methods called from a template (`s.replace(...)`, `sep.join(...)`)."""
    text = getattr(method, "__self__", None)
    if not isinstance(text, str):
        return 0
    name = getattr(method, "__name__", "")
    if name == "replace":
        return _replaced_size(text, *args[:3])
    if name == "join":
        return _joined_size(text, args[0] if args else None)
    if name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        return len(text) + text.count("\t") * size if isinstance(size, int) else 0
    return 0


def _held(items: Any) -> Any:
    """An iterable as a list of at most MAX_VALUE_CHARS items (strings and mappings stay as they are)."""
    if isinstance(items, (str, list, tuple, dict)) or not hasattr(items, "__iter__"):
        return items
    held = list(itertools.islice(items, MAX_VALUE_CHARS + 1))
    if len(held) > MAX_VALUE_CHARS:
        raise _Limit(f"an iterable of over {MAX_VALUE_CHARS:,} items")
    return held


def _bounded_filter(name: str, func: Any) -> Any:
    signature = inspect.signature(func)

    @functools.wraps(func)  # keeps jinja2's pass_context / pass_environment marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if name == "format" and args and isinstance(args[0], str) and _FORMAT_WIDTH.search(args[0].replace("%%", "")):
            raise _Limit("a %-format with a huge or variable width")
        if name in ("replace", "join", "indent", "wordwrap"):
            try:
                bound_args = signature.bind(*args, **kwargs)
            except TypeError:
                bound_args = None
            if bound_args is not None:
                if name == "join":  # a generator is counted, so it must be held
                    bound_args.arguments["value"] = _held(bound_args.arguments.get("value"))
                    args, kwargs = bound_args.args, bound_args.kwargs
                if _grown_size(name, bound_args.arguments) > MAX_VALUE_CHARS:
                    raise _Limit(f"the filter {name} would make over {MAX_VALUE_CHARS:,} characters")
        _check_values(f"the filter {name}", args)
        _check_values(f"the filter {name}", list(kwargs.values()))
        result = func(*args, **kwargs)
        if isinstance(result, (str, list)) and len(result) > MAX_VALUE_CHARS:
            raise _Limit(f"the filter {name} made {len(result):,} items")
        return result

    return bounded


def _bounded_range(*args: int) -> range:
    _check_values("range", args)
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise _Limit(f"a range of {len(items):,} items (at most {MAX_RANGE:,})")
    return items


@lru_cache(maxsize=8)
def compile_chat_template(source: str):  # noqa: ANN201 - a jinja2 Template
    """The template compiled in the bounded sandbox; ChatTemplateError when it is not valid jinja2."""
    from jinja2 import DictLoader
    from jinja2.compiler import CodeGenerator
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from jinja2.utils import Namespace

    if len(source) > MAX_SOURCE_CHARS:
        raise ChatTemplateError(f"the model's chat template is {len(source):,} characters long (at most "
                                f"{MAX_SOURCE_CHARS:,})")

    class BoundedNamespace(Namespace):
        def __setitem__(self, name: str, value: Any) -> None:
            _check_values("a namespace assignment", (value,))
            super().__setitem__(name, value)

    class BoundedCodeGenerator(CodeGenerator):
        def visit_Concat(self, node, frame):  # noqa: ANN001, ANN201, N802 - jinja2's visitor
            # `a ~ b` is compiled to a plain join of str(a), str(b): route it through a check.
            self.write("environment.bounded_concat((")
            for part in node.nodes:
                self.visit(part, frame)
                self.write(", ")
            self.write("))")

    class BoundedSandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset(_BINOPS)
        code_generator_class = BoundedCodeGenerator

        def bounded_concat(self, parts: tuple) -> str:
            if sum(_shown_size(p) for p in parts) > MAX_VALUE_CHARS:
                raise _Limit(f"a concatenation of over {MAX_VALUE_CHARS:,} characters")
            return "".join(map(str, parts))

        def call_binop(self, context, op, left, right):  # noqa: ANN001, ANN201 - jinja2's signature
            return _checked_binop(op, left, right)

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: ANN001, ANN201, N805 - jinja2's
            _check_values("a call", args)
            _check_values("a call", list(kwargs.values()))
            if getattr(__obj, "__name__", "") == "join" and isinstance(getattr(__obj, "__self__", None), str) \
                    and args:
                args = (_held(args[0]), *args[1:])
            if _str_method_size(__obj, args, kwargs) > MAX_VALUE_CHARS:
                raise _Limit(f"a call that would make over {MAX_VALUE_CHARS:,} characters")
            return super().call(__context, __obj, *args, **kwargs)

        def wrap_str_format(self, value):  # noqa: ANN001, ANN201 - jinja2's signature
            wrapped = super().wrap_str_format(value)
            if wrapped is not None and _huge_format_spec(value.__self__):
                def refuse(*args: Any, **kwargs: Any) -> str:
                    raise _Limit("a format with a huge or variable width")
                return refuse
            return wrapped

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    def finalize(value: Any) -> Any:  # every `{{ value }}`, before it becomes text
        if not isinstance(value, str) and _too_big(value):
            raise _Limit(f"printing a value of over {MAX_VALUE_CHARS:,} characters")
        return value

    env = BoundedSandbox(trim_blocks=True, lstrip_blocks=True, loader=DictLoader({}), finalize=finalize)
    env.filters = {name: _bounded_filter(name, f) for name, f in env.filters.items()}
    env.globals.update(raise_exception=raise_exception, range=_bounded_range, namespace=BoundedNamespace)
    try:
        code = env.compile(source, filename=_TEMPLATE_FILE)
        return env.template_class.from_code(env, code, env.make_globals(None), None)
    except TemplateError as exc:
        raise ChatTemplateError(f"the model's chat template is not valid: {exc}") from exc
    except RecursionError:
        raise ChatTemplateError("the model's chat template is nested too deeply to read") from None


def render_chat_template(source: str, **context: Any) -> str:
    """The template rendered with `context`, or ChatTemplateError saying why it was stopped."""
    template = compile_chat_template(source)
    deadline = time.monotonic() + RENDER_SECONDS
    events = 0

    def on_line(frame, event, arg):  # noqa: ANN001, ANN202 - sys.settrace's signature
        nonlocal events
        events += 1
        if events % _CHECK_EVERY == 0 and time.monotonic() > deadline:
            raise _Limit(f"it ran longer than {RENDER_SECONDS:g} s")
        return on_line

    def on_call(frame, event, arg):  # noqa: ANN001, ANN202
        if frame.f_code.co_filename != _TEMPLATE_FILE:
            return None  # only the template's own frames are traced: the cost stays in the loops
        return on_line(frame, event, arg)

    previous = sys.gettrace()
    parts, length = [], 0
    sys.settrace(on_call)
    try:
        for piece in template.generate(**context):
            length += len(piece)
            if length > MAX_OUTPUT_CHARS:
                raise _Limit(f"its output passed {MAX_OUTPUT_CHARS:,} characters")
            parts.append(piece)
    except _Limit as exc:
        raise ChatTemplateError(f"the model's chat template was stopped: {exc}") from None
    except RecursionError:
        raise ChatTemplateError("the model's chat template was stopped: it recursed without end") from None
    except MemoryError:
        raise ChatTemplateError("the model's chat template was stopped: it ran out of memory") from None
    except Exception as exc:  # the template is untrusted code: any failure of it is the model file's fault
        raise ChatTemplateError(f"the model's chat template failed: {type(exc).__name__}: "
                                f"{str(exc)[:300]}") from exc
    finally:
        sys.settrace(previous)
    return "".join(parts)
