#!/usr/bin/env python3
"""Checks OpenAPI documents: valid OpenAPI 3.1 (openapi-spec-validator), every operation with a
unique operationId, every answer but 204 with a schema. Prints each problem; exits 1 if any."""
import sys

import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator

problems = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    for error in OpenAPIV31SpecValidator(document).iter_errors():
        problems.append(f"{path}: {'/'.join(str(p) for p in error.absolute_path)}: {error.message[:300]}")
    seen = {}
    for route, item in (document.get("paths") or {}).items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            where = f"{path}: {method.upper()} {route}"
            identifier = operation.get("operationId")
            if not identifier:
                problems.append(f"{where}: no operationId")
            elif identifier in seen:
                problems.append(f"{where}: operationId {identifier} is also {seen[identifier]}'s")
            else:
                seen[identifier] = f"{method.upper()} {route}"
            for status, answer in (operation.get("responses") or {}).items():
                if "$ref" in answer or str(status) == "204":
                    continue
                if not any("schema" in media for media in (answer.get("content") or {}).values()):
                    problems.append(f"{where}: answer {status} has no schema")
for problem in problems:
    print(problem)
print(f"{len(sys.argv) - 1} document(s), {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
