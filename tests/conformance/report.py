"""What the conformance tests measured, kept for the terminal summary (tests/conformance/conftest.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class Tally:
    total: int = 0
    matched: int = 0
    skipped: int = 0


@dataclass
class Report:
    # section title -> domain -> tally
    tables: dict[str, dict[str, Tally]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Tally)))
    notes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def count(self, section: str, domain: str, *, matched: bool, skipped: bool = False) -> None:
        tally = self.tables[section][domain]
        tally.total += 1
        tally.matched += int(matched)
        tally.skipped += int(skipped)

    def note(self, section: str, line: str) -> None:
        self.notes[section].append(line)

    def sections(self) -> list[tuple[str, list[str]]]:
        out = []
        for title, domains in self.tables.items():
            width = max(len(d) for d in domains) if domains else 10
            lines = [f"{'domain':<{width}}  matched/total  skipped"]
            for domain in sorted(domains):
                t = domains[domain]
                lines.append(f"{domain:<{width}}  {t.matched:>7}/{t.total:<5}  {t.skipped:>7}")
            all_ = list(domains.values())
            lines.append(
                f"{'TOTAL':<{width}}  {sum(t.matched for t in all_):>7}/{sum(t.total for t in all_):<5}"
                f"  {sum(t.skipped for t in all_):>7}"
            )
            lines.extend(self.notes.get(title, []))
            out.append((title, lines))
        for title, notes in self.notes.items():
            if title not in self.tables:
                out.append((title, notes))
        return out


REPORT = Report()
