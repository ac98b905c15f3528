"""rules/schema.json is a valid draft 2020-12 schema, and every example rule file validates against it, checked
with the independent Python `jsonschema` package (the Swift suite checks the same with its own validator).

Usage: python e2e/rule_schema.py
"""
import glob
import json
import os

from jsonschema import Draft202012Validator

from harness import Checks

root = os.path.join(os.path.dirname(__file__), "..")
c = Checks()
with open(os.path.join(root, "rules", "schema.json")) as f:
    schema = json.load(f)
try:
    Draft202012Validator.check_schema(schema)
    c.check("rules/schema.json is a valid draft 2020-12 schema", True)
except Exception as error:  # noqa: BLE001 - report any schema error
    c.check("rules/schema.json is a valid draft 2020-12 schema", False, str(error))
validator = Draft202012Validator(schema)
files = sorted(glob.glob(os.path.join(root, "rules", "*.json")) + glob.glob(os.path.join(root, "rules", "examples", "*.json")))
for path in files:
    if os.path.basename(path) == "schema.json":
        continue
    with open(path) as f:
        errors = [e.message for e in validator.iter_errors(json.load(f))]
    c.check(f"{os.path.relpath(path, root)} validates", not errors, errors[:3])
bad = {"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1},
                  "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "limit", "size": {"base": "1"}}]}]}
c.check("a limit order without price is refused", not validator.is_valid(bad))
c.finish()
