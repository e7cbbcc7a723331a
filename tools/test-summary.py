#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Sum up meson test logs (and extra one-line JSON results) into 'N passed, N failed'.

A TAP test (cmocka) counts each of its 'ok' / 'not ok' lines; any other test counts once.
A TAP test that crashed or timed out counts one extra failure so a crash is never lost.
"""
import json
import re
import sys

passed = failed = skipped = 0
failures = []
for path in sys.argv[1:]:
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        failed += 1
        failures.append(f"{path}: missing (the build or the test run did not happen)")
        continue
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        name = t.get("name", "?")
        result = t.get("result", "FAIL")
        out = t.get("stdout") or t.get("stdo") or ""
        if re.match(r"\s*(TAP version \d+\s*)?1\.\.\d+", out):
            ok = len(re.findall(r"^ok \d+", out, re.M))
            nok = len(re.findall(r"^not ok \d+", out, re.M))
            skip = len(re.findall(r"^ok \d+.*# SKIP", out, re.M))
            passed += ok - skip
            skipped += skip
            failed += nok
            if nok:
                failures.append(f"{path}: {name}: {nok} failed")
            if result not in ("OK", "EXPECTEDFAIL") and nok == 0:
                failed += 1
                failures.append(f"{path}: {name}: {result}")
        elif result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
            failures.append(f"{path}: {name}: {result}")
for f in failures:
    print("FAILED:", f)
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
