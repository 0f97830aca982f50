"""Which machine each record comes from, so numbers of different machines never share a column.

New records carry the machine's fingerprint (hosts/fingerprint.py) in meta.machine. Older
ones carry only what the machine was (CPU model and count): they join the
fingerprinted machine they match, when exactly one does, and otherwise form a group of
their own named by those facts.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from benchmatrix.results.records import Record


def fingerprint(record: Record) -> Optional[str]:
    return record.section("machine").get("fingerprint")


def _facts(record: Record) -> Tuple[Any, ...]:
    machine = record.section("machine")
    return machine.get("cpu_model"), machine.get("cpu_count")


def machine_keys(records: Sequence[Record]) -> List[str]:
    """One key per record, in order: its fingerprint, or the one an older record is matched to."""
    by_facts: Dict[Tuple[Any, ...], set] = {}
    for record in records:
        if fingerprint(record):
            by_facts.setdefault(_facts(record), set()).add(fingerprint(record))
    keys = []
    for record in records:
        own = fingerprint(record)
        if own:
            keys.append(own)
            continue
        matches = by_facts.get(_facts(record), set())
        cpu_model, cpu_count = _facts(record)
        keys.append(next(iter(matches)) if len(matches) == 1 else
                    "unfingerprinted: {}, {} CPUs".format(cpu_model, cpu_count))
    return keys


def describe(key: str, records: Sequence[Record]) -> str:
    """"28963b9bda84daa8 (AMD EPYC, 2 CPUs, host vm)" from the group's newest record."""
    machine = max(records, key=lambda r: r.recorded_at).section("machine")
    facts = ", ".join(part for part in (
        machine.get("cpu_model"), "{} CPUs".format(machine["cpu_count"]) if machine.get("cpu_count") else None,
        "host {}".format(machine["hostname"]) if machine.get("hostname") else None) if part)
    return key if key.startswith("unfingerprinted") else "{} ({})".format(key, facts or "no details recorded")


def by_machine(records: Sequence[Record]) -> List[Tuple[str, List[Record]]]:
    """(description, records) per machine, the machine with the newest record first."""
    groups: Dict[str, List[Record]] = {}
    for key, record in zip(machine_keys(records), records):
        groups.setdefault(key, []).append(record)
    ordered = sorted(groups.items(), key=lambda item: max(r.recorded_at for r in item[1]), reverse=True)
    return [(describe(key, group), group) for key, group in ordered]
