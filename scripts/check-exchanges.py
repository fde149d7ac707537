#!/usr/bin/env python3
"""Holds recorded HTTP exchanges to an OpenAPI document.

    check-exchanges.py DOCUMENT EXCHANGES.jsonl [--every-operation]

Each line of EXCHANGES.jsonl is one exchange as a test saw it on the wire:
    {"method": "GET", "target": "/v1/x?y=1", "status": 200, "contentType": "application/json",
     "body": "<answer text>", "requestContentType": "application/json", "requestBody": "<request text>"}

For every exchange: the target must match one of the document's paths and the method one of its
operations; the status must be one the operation lists; a JSON answer must be valid against that
answer's schema (each line of an ndjson stream), and so must the request body of an answered (2xx)
request against the operation's request body schema. Objects are closed: a property the schema does not name is a problem (the
document is the contract, so a field it does not list is one nobody promised). With
--every-operation, an operation no exchange reached is a problem too.
Prints each problem and a summary line; exits 1 if there is any problem."""
import json
import re
import sys

import yaml
from openapi_schema_validator import OAS31Validator

METHODS = ("get", "post", "put", "delete", "patch")


def resolve(document, node, depth=0):
    """The node with every local $ref replaced by what it points to."""
    if depth > 40:
        return node
    if isinstance(node, dict):
        if "$ref" in node and isinstance(node["$ref"], str) and node["$ref"].startswith("#/"):
            target = document
            for part in node["$ref"][2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            merged = dict(target)
            merged.update({k: v for k, v in node.items() if k != "$ref"})
            return resolve(document, merged, depth + 1)
        return {k: resolve(document, v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(document, v, depth + 1) for v in node]
    return node


def closed(schema, inside_combination=False):
    """The schema with every object that names its properties closed to others."""
    if isinstance(schema, list):
        return [closed(s, inside_combination) for s in schema]
    if not isinstance(schema, dict):
        return schema
    result = {}
    for key, value in schema.items():
        if key == "allOf":
            result[key] = closed(value, True)
        elif key in ("properties", "patternProperties", "$defs", "definitions"):
            result[key] = {name: closed(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "anyOf", "oneOf", "prefixItems"):
            result[key] = closed(value)
        else:
            result[key] = value
    if "properties" in result and "additionalProperties" not in result and not inside_combination:
        result["additionalProperties"] = False
    if "allOf" in result and "unevaluatedProperties" not in result and not inside_combination:
        # The parts name the properties together: a property none of them names is a problem.
        result["unevaluatedProperties"] = False
    return result


def operations(document):
    """(method, path template, regex, operation), literal paths before templated ones."""
    found = []
    for template, item in (document.get("paths") or {}).items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        for method, operation in item.items():
            if method in METHODS:
                found.append((method.upper(), template, re.compile(pattern), operation))
    found.sort(key=lambda entry: entry[1].count("{"))
    return found


def media_schema(content, content_type):
    if not content:
        return None, None
    base = (content_type or "").split(";")[0].strip()
    for media, entry in content.items():
        if media == base:
            return media, entry.get("schema")
    return None, None


def problems_of(document, exchange, known):
    method, target, status = exchange["method"].upper(), exchange["target"], int(exchange["status"])
    path = target.split("?")[0]
    where = f"{method} {target} → {status}"
    match = next(((t, op) for (m, t, rx, op) in known if m == method and rx.match(path)), None)
    if match is None:
        return None, [f"{where}: no operation in the document"]
    template, operation = match
    name = operation.get("operationId") or f"{method} {template}"
    problems = []
    responses = operation.get("responses") or {}
    answer = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    if answer is None:
        return name, [f"{where}: status {status} is not one {name} lists ({', '.join(map(str, responses))})"]
    answer = resolve(document, answer)
    body = exchange.get("body") or ""
    content = answer.get("content")
    if content:
        media, schema = media_schema(content, exchange.get("contentType"))
        if media is None:
            problems.append(f"{where}: answered as {exchange.get('contentType')!r}, the document says {', '.join(content)}")
        elif schema is not None and media.endswith("ndjson"):
            # A stream of JSON lines: each line is one value of the schema.
            for number, line in enumerate(body.splitlines(), 1):
                if line.strip():
                    problems += validate(document, schema, line, f"{where}: answer line {number}")
        elif schema is not None and media.endswith("json"):
            problems += validate(document, schema, body, f"{where}: answer")
    elif body.strip() and status != 204:
        problems.append(f"{where}: answered a body the document does not describe")
    request_body = exchange.get("requestBody")
    if 200 <= status < 300 and request_body and operation.get("requestBody"):
        described = resolve(document, operation["requestBody"]).get("content") or {}
        media, schema = media_schema(described, exchange.get("requestContentType") or "application/json")
        if media is None:
            problems.append(f"{where}: request sent as {exchange.get('requestContentType')!r}, the document says {', '.join(described)}")
        elif schema is not None and media.endswith("json"):
            problems += validate(document, schema, request_body, f"{where}: request")
    return name, problems


def validate(document, schema, text, where):
    try:
        instance = json.loads(text)
    except ValueError as error:
        return [f"{where} is not JSON ({error}): {text[:120]!r}"]
    validator = OAS31Validator(closed(resolve(document, schema)), format_checker=OAS31Validator.FORMAT_CHECKER)
    return [f"{where}: {'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message[:240]}"
            for error in validator.iter_errors(instance)]


def main(arguments):
    every = "--every-operation" in arguments
    arguments = [a for a in arguments if a != "--every-operation"]
    if len(arguments) != 2:
        print(__doc__)
        return 2
    with open(arguments[0], encoding="utf-8") as f:
        document = yaml.safe_load(f)
    known = operations(document)
    reached, problems, count = set(), [], 0
    with open(arguments[1], encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            count += 1
            try:
                exchange = json.loads(line)
            except ValueError as error:
                problems.append(f"line {number}: not JSON ({error})")
                continue
            name, found = problems_of(document, exchange, known)
            if name:
                reached.add(name)
            problems += found
    if every:
        for method, template, _, operation in known:
            name = operation.get("operationId") or f"{method} {template}"
            if name not in reached:
                problems.append(f"{method} {template} ({name}): no exchange reached it")
    for problem in problems:
        print(problem)
    print(f"{count} exchange(s), {len(reached)} of {len(known)} operation(s) reached, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
