"""Every silenced lint or type finding names what it silences and says why (ruff's PGH rules and mypy's
ignore-without-code make the code mandatory; the reason is checked here)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHECKED = ("functions", "shared", "infra", "sdk", "bench", "tests")
SUPPRESSION = re.compile(r"#\s*(noqa|type:\s*ignore)\b(.*)$")
# Accepted shapes: noqa, a colon, the codes, " - " and the reason; or type-ignore[code] and a "# reason" comment.
EXPLAINED = re.compile(r"^(: [A-Z]+[0-9]+(, ?[A-Z]+[0-9]+)* +- +\S.*|\[[a-z-]+(, ?[a-z-]+)*\] +# +\S.*)$")


def test_every_noqa_and_type_ignore_names_its_code_and_reason() -> None:
    unexplained = []
    for top in CHECKED:
        for path in sorted((REPO / top).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                match = SUPPRESSION.search(line)
                if match and not EXPLAINED.match(match.group(2)):
                    unexplained.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not unexplained, "\n".join(unexplained)
