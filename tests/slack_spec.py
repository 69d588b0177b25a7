"""What Slack's published Web API spec says, for the stand-in in `tests/slack_standin.py`.

Three things live here:

* `method_spec()`: every Web API method name and the arguments the spec marks required, read once
  from Slack's OpenAPI 2.0 file (MIT, `slack_web_openapi_v2_without_examples.json`): the copy in
  `tests/data/slack-api/` (gzipped, 47 kB, so every clone has it), or wherever `SLACK_API_SPEC`
  points. `token` is required by the spec for most methods; it travels in the Authorization header,
  so it is left out here. The spec (2020) predates `files.getUploadURLExternal` and
  `files.completeUploadExternal`, which `WebClient.files_upload_v2` calls, and Socket Mode's
  `apps.connections.open`: they are the only extras (`EXTRA_METHODS`), with the arguments Slack's
  current docs mark required.
* `schema_problems(instance, schema)`: a small JSON-schema check (type, required, properties,
  additionalProperties, items, enum, pattern, $ref; a list under `items` on a non-array means "one of",
  the spec's idiom) so tests can hold the stand-in's answers against the spec's success schemas.
* `block_problems(blocks, max_blocks=...)`: the Block Kit rules Slack enforces with `invalid_blocks`,
  worded like Slack's own messages: "must be less than 3001 characters [json-pointer:/blocks/0/text/text]".
* `view_problems(view, kind)`: the rules of a view object (docs.slack.dev/reference/views): a modal's
  title, submit and close are plain_text of at most 24 characters, `submit` is required when the
  blocks hold an input block, callback_id and external_id at most 255 characters, private_metadata
  at most 3,000; plus the blocks' rules. An input block's element must be an input element; a
  plain_text_input has max_length 1-3000, min_length 0-3000 (not above max_length) and a placeholder
  of at most 150 characters.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

# The spec as published (byte for byte, tests/test_slack_standin.py checks it against ../shared when
# that is next to the clone), gzipped: 1 MB of JSON is 47 kB.
SPEC_FILE = Path(os.environ.get(
    "SLACK_API_SPEC",
    Path(__file__).resolve().parent / "data/slack-api/slack_web_openapi_v2_without_examples.json.gz"))

# Methods newer than the 2020 spec: the two slack_sdk's files_upload_v2 needs (docs.slack.dev, 2024)
# and Socket Mode's apps.connections.open (no argument but the app-level token).
EXTRA_METHODS: dict[str, tuple[str, ...]] = {
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
    "apps.connections.open": (),
}


def read_spec(path: Path = SPEC_FILE) -> dict[str, Any]:
    """The OpenAPI document at `path` (gzipped when its name ends in .gz)."""
    raw = path.read_bytes()
    loaded: dict[str, Any] = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    return loaded


def required_args_from_openapi(path: Path = SPEC_FILE) -> dict[str, tuple[str, ...]]:
    """Method name -> required argument names (token excluded), read from the OpenAPI file."""
    spec = openapi() if path == SPEC_FILE else read_spec(path)
    out: dict[str, tuple[str, ...]] = {}
    for route, operations in spec["paths"].items():
        for operation in operations.values():
            names = [p["name"] for p in operation.get("parameters", []) if p.get("required")]
            out[route.lstrip("/")] = tuple(n for n in names if n != "token")
    return out


@cache
def openapi() -> dict[str, Any]:
    """The whole OpenAPI document."""
    return read_spec(SPEC_FILE)


@cache
def method_spec() -> dict[str, tuple[str, ...]]:
    """Every known method -> its required arguments: the spec's plus EXTRA_METHODS."""
    return {**required_args_from_openapi(), **EXTRA_METHODS}


def documented_errors(method: str) -> set[str]:
    """Error names the spec documents for `method` (empty for an extra)."""
    spec = openapi()
    if f"/{method}" not in spec["paths"]:
        return set()
    out: set[str] = set()
    for operation in spec["paths"][f"/{method}"].values():
        schema = operation["responses"].get("default", {}).get("schema", {})
        out.update(schema.get("properties", {}).get("error", {}).get("enum") or [])
    return out


def success_schema(method: str) -> dict[str, Any] | None:
    """The spec's schema of a successful answer of `method`, or None where unknown."""
    spec = openapi()
    if f"/{method}" not in spec["paths"]:
        return None
    for operation in spec["paths"][f"/{method}"].values():
        schema: dict[str, Any] | None = operation["responses"].get("200", {}).get("schema")
        return schema
    return None


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}


def schema_problems(value: Any, schema: dict[str, Any], at: str = "", *, allow: frozenset[str] = frozenset()
                    ) -> list[str]:
    """Where `value` breaks `schema` (JSON-pointer-ish paths); `allow` lists extra keys accepted anywhere."""
    spec = openapi()
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return schema_problems(value, spec["definitions"][name], at, allow=allow)
    items = schema.get("items")
    if isinstance(items, list) and not isinstance(value, list):  # the spec's "one of these" idiom
        tries = [schema_problems(value, option, at, allow=allow) for option in items]
        return [] if any(not t for t in tries) else min(tries, key=len)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            tries = [schema_problems(value, option, at, allow=allow) for option in schema[key]]
            return [] if any(not t for t in tries) else min(tries, key=len)
    problems: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        allowed = [kinds] if isinstance(kinds, str) else kinds
        python_types = tuple(t for k in allowed for t in _TYPES[k])
        if not isinstance(value, python_types) or (isinstance(value, bool) and "boolean" not in allowed):
            return [f"{at or '/'}: {type(value).__name__} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{at}: {value!r} not in {schema['enum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{at}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        problems += [f"{at}/{k}: required" for k in schema.get("required", []) if k not in value]
        for k, v in value.items():
            if k in props:
                problems += schema_problems(v, props[k], f"{at}/{k}", allow=allow)
            elif schema.get("additionalProperties") is False and k not in allow:
                problems.append(f"{at}/{k}: not in the spec")
    if isinstance(value, list) and isinstance(items, dict):
        for i, v in enumerate(value):
            problems += schema_problems(v, items, f"{at}/{i}", allow=allow)
    return problems


# ---- Block Kit (https://docs.slack.dev/reference/block-kit): the limits Slack rejects with invalid_blocks

BLOCK_TYPES = frozenset(
    {"actions", "context", "divider", "file", "header", "image", "input", "markdown", "rich_text",
     "section", "video"}
)
ELEMENT_TYPES = frozenset(
    {"button", "checkboxes", "channels_select", "conversations_select", "datepicker", "datetimepicker",
     "email_text_input", "external_select", "file_input", "image", "multi_channels_select",
     "multi_conversations_select", "multi_external_select", "multi_static_select", "multi_users_select",
     "number_input", "overflow", "plain_text_input", "radio_buttons", "rich_text_input", "static_select",
     "timepicker", "url_text_input", "users_select", "workflow_button"}
)
MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
INPUT_ELEMENT_TYPES = frozenset(
    {"checkboxes", "channels_select", "conversations_select", "datepicker", "datetimepicker",
     "email_text_input", "external_select", "file_input", "multi_channels_select",
     "multi_conversations_select", "multi_external_select", "multi_static_select", "multi_users_select",
     "number_input", "plain_text_input", "radio_buttons", "rich_text_input", "static_select", "timepicker",
     "url_text_input", "users_select"}
)
MAX_INPUT_LENGTH = 3000


def view_problems(view: Any, kind: str) -> list[str]:
    """Slack-worded problems with a view of type `kind` ("modal" or "home"); empty when valid."""
    if not isinstance(view, dict):
        return ["view must be an object"]
    problems: list[str] = []
    if view.get("type") != kind:
        problems.append(f"must be {kind!r} [json-pointer:/view/type]")
    blocks = view.get("blocks", [])
    problems += block_problems(blocks, max_blocks=MAX_BLOCKS_VIEW, at="/view/blocks")
    if kind == "modal":
        if "title" not in view:
            problems.append("must provide a title [json-pointer:/view/title]")
        else:
            problems += _text_object(view["title"], 24, "/view/title", plain_only=True)
        for name in ("submit", "close"):
            if name in view and view[name] is not None:
                problems += _text_object(view[name], 24, f"/view/{name}", plain_only=True)
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input"
                                                     for b in blocks)
        if has_input and not view.get("submit"):
            problems.append("must provide a submit when an input block is used [json-pointer:/view/submit]")
    for name, limit in (("callback_id", 255), ("external_id", 255), ("private_metadata", 3000)):
        value = view.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            problems.append(f"must be a string of at most {limit} characters [json-pointer:/view/{name}]")
    return problems


def block_problems(blocks: Any, *, max_blocks: int = MAX_BLOCKS_MESSAGE, at: str = "/blocks") -> list[str]:
    """Slack-worded problems with a blocks array; empty when Slack would accept it."""
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{at}]"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"no more than {max_blocks} items allowed [json-pointer:{at}]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        here = f"{at}/{i}"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            kind = block.get("type") if isinstance(block, dict) else block
            problems.append(f"unsupported type: {kind!r} [json-pointer:{here}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            problems += _text_limit(block_id, 255, f"{here}/block_id")
            if block_id in block_ids:
                problems.append(f"duplicate block_id {block_id!r} [json-pointer:{here}/block_id]")
            block_ids.add(block_id)
        problems += _block(block, here)
    return problems


def _text_limit(text: Any, limit: int, at: str) -> list[str]:
    if not isinstance(text, str):
        return [f"must be a string [json-pointer:{at}]"]
    if not text:
        return [f"must be more than 0 characters [json-pointer:{at}]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{at}]"]
    return []


def _text_object(obj: Any, limit: int, at: str, *, plain_only: bool = False) -> list[str]:
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return [f"must be a text object of type {' or '.join(kinds)} [json-pointer:{at}]"]
    return _text_limit(obj.get("text"), limit, f"{at}/text")


def _block(block: dict[str, Any], at: str) -> list[str]:
    kind = block["type"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return [f"must provide text or fields [json-pointer:{at}]"]
        problems = _text_object(block["text"], 3000, f"{at}/text") if "text" in block else []
        fields = block.get("fields", [])
        if not isinstance(fields, list) or len(fields) > 10:
            problems.append(f"no more than 10 items allowed [json-pointer:{at}/fields]")
        else:
            for j, field in enumerate(fields):
                problems += _text_object(field, 2000, f"{at}/fields/{j}")
        if "accessory" in block:
            problems += _elements([block["accessory"]], f"{at}/accessory", single=True)
        return problems
    if kind == "header":
        return _text_object(block.get("text"), 150, f"{at}/text", plain_only=True)
    if kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            return [f"must have 1 to 25 elements [json-pointer:{at}/elements]"]
        return _elements(elements, f"{at}/elements")
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return [f"must have 1 to 10 elements [json-pointer:{at}/elements]"]
        problems = []
        for j, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") == "image":
                problems += _image(element, f"{at}/elements/{j}")
            else:
                problems += _text_object(element, 3000, f"{at}/elements/{j}")
        return problems
    if kind == "image":
        problems = _image(block, at)
        if "title" in block:
            problems += _text_object(block["title"], 2000, f"{at}/title", plain_only=True)
        return problems
    if kind == "input":
        problems = _text_object(block.get("label"), 2000, f"{at}/label", plain_only=True)
        if "hint" in block:
            problems += _text_object(block["hint"], 2000, f"{at}/hint", plain_only=True)
        element = block.get("element")
        if not isinstance(element, dict):
            problems.append(f"must provide an element [json-pointer:{at}/element]")
        elif element.get("type") not in INPUT_ELEMENT_TYPES:
            problems.append(f"unsupported type: {element.get('type')!r} [json-pointer:{at}/element/type]")
        else:
            problems += _input_element(element, f"{at}/element")
        return problems
    return []


def _input_element(element: dict[str, Any], at: str) -> list[str]:
    problems = _text_limit(element["action_id"], 255, f"{at}/action_id") if "action_id" in element else []
    if "placeholder" in element:
        problems += _text_object(element["placeholder"], 150, f"{at}/placeholder", plain_only=True)
    if element["type"] == "plain_text_input":
        low, high = element.get("min_length", 0), element.get("max_length", MAX_INPUT_LENGTH)
        if not isinstance(high, int) or not 1 <= high <= MAX_INPUT_LENGTH:
            problems.append(f"must be between 1 and {MAX_INPUT_LENGTH} [json-pointer:{at}/max_length]")
        elif not isinstance(low, int) or not 0 <= low <= high:
            problems.append(f"must be between 0 and max_length [json-pointer:{at}/min_length]")
        if "multiline" in element and not isinstance(element["multiline"], bool):
            problems.append(f"must be a boolean [json-pointer:{at}/multiline]")
        if "initial_value" in element and not isinstance(element["initial_value"], str):
            problems.append(f"must be a string [json-pointer:{at}/initial_value]")
    return problems


def _image(obj: dict[str, Any], at: str) -> list[str]:
    problems = _text_limit(obj.get("alt_text"), 2000, f"{at}/alt_text")
    if "image_url" not in obj and "slack_file" not in obj:
        problems.append(f"must provide image_url or slack_file [json-pointer:{at}]")
    return problems


def _elements(elements: list[Any], at: str, *, single: bool = False) -> list[str]:
    problems: list[str] = []
    action_ids: set[str] = set()
    for j, element in enumerate(elements):
        here = at if single else f"{at}/{j}"
        if not isinstance(element, dict) or element.get("type") not in ELEMENT_TYPES:
            kind = element.get("type") if isinstance(element, dict) else element
            problems.append(f"unsupported type: {kind!r} [json-pointer:{here}/type]")
            continue
        if "action_id" in element:
            problems += _text_limit(element["action_id"], 255, f"{here}/action_id")
            if element["action_id"] in action_ids:
                problems.append(f"duplicate action_id {element['action_id']!r} "
                                f"[json-pointer:{here}/action_id]")
            action_ids.add(element["action_id"])
        kind = element["type"]
        if kind == "button":
            problems += _text_object(element.get("text"), 75, f"{here}/text", plain_only=True)
            if "value" in element:
                problems += _text_limit(element["value"], 2000, f"{here}/value")
            if "url" in element:
                problems += _text_limit(element["url"], 3000, f"{here}/url")
            if element.get("style", "primary") not in ("primary", "danger"):
                problems.append(f"must be primary or danger [json-pointer:{here}/style]")
        elif kind == "image":
            problems += _image(element, here)
        elif kind in ("static_select", "multi_static_select", "overflow", "radio_buttons", "checkboxes"):
            options = element.get("options", element.get("option_groups"))
            most = 5 if kind == "overflow" else 100
            if not isinstance(options, list) or not 1 <= len(options) <= most:
                problems.append(f"must have 1 to {most} options [json-pointer:{here}/options]")
            else:
                for k, option in enumerate(options):
                    if isinstance(option, dict) and "options" in option:
                        continue  # an option group: its options are checked by Slack the same way
                    where = f"{here}/options/{k}"
                    problems += _text_object(option.get("text") if isinstance(option, dict) else None,
                                             75, f"{where}/text")
                    if isinstance(option, dict):
                        problems += _text_limit(option.get("value"), 150, f"{where}/value")
    return problems
