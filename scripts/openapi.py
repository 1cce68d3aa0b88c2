#!/usr/bin/env python3
"""docs/openapi.yaml is the API description; the binary serves it as JSON at /openapi.json.

  scripts/openapi.py generate   validates the document and writes Sources/MeridianApp/Resources/openapi.json,
                                which the build embeds in the binary
  scripts/openapi.py check      validates it (openapi-spec-validator) and fails when the JSON copy is stale
"""
import json
import pathlib
import sys

import yaml
from openapi_spec_validator import validate

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "docs" / "openapi.yaml"
TARGET = ROOT / "Sources" / "MeridianApp" / "Resources" / "openapi.json"


def rendered() -> str:
    document = yaml.safe_load(SOURCE.read_text())
    validate(document)
    # The merged common responses are written out in each operation; their anchors are not part of the API.
    document.pop("x-common-responses", None)
    return json.dumps(document, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    text = rendered()
    if command == "generate":
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_text(text)
        print(f"openapi: valid; wrote {TARGET.relative_to(ROOT)}")
    elif command == "check":
        if not TARGET.exists() or TARGET.read_text() != text:
            raise SystemExit("openapi: Sources/MeridianApp/Resources/openapi.json is stale; run `make openapi`")
        print("openapi: docs/openapi.yaml is valid OpenAPI 3.1 and the served copy is current")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
