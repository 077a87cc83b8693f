"""A structural check of a 270 against the 005010X279A1 layout (pyx12 4.0 has no map for X279A1:
its 270 map is 4010 X092A1): the segment order of each loop, the HL tree, entity codes and
qualifiers. Returns what is wrong (empty when the 270 fits), in words that name segments and
positions, never values. The tests check every 270 built with it; the local sandbox clearinghouse
refuses a 270 that does not fit, as a clearinghouse's 999 would."""

from __future__ import annotations

import re

from therabill.x12.envelope import TransactionSet

# One letter per segment id, then the layout as a regular expression over those letters.
_LETTERS = {"BHT": "B", "HL": "H", "NM1": "N", "TRN": "T", "REF": "R", "N3": "3", "N4": "4", "PRV": "P"}
_LETTERS |= {"DMG": "D", "INS": "I", "HI": "X", "DTP": "d", "EQ": "E", "AMT": "A", "III": "i"}
_INQUIRY = "(?:Ed?A?i?R?d?)"  # 2110C/D: EQ with its optional segments
_PERSON = f"T{{0,3}}NR*3?4?P?D?I?X?d?{_INQUIRY}*"  # 2000C/D, 2100C/D
_LAYOUT = re.compile(rf"BHN(?:HNR*3?4?P?)(?:H{_PERSON}(?:H{_PERSON})*)+")


def check_270(transaction: TransactionSet) -> list[str]:
    problems: list[str] = []
    body = transaction.body
    if not body:
        return ["the transaction set is empty"]
    if transaction.code != "270" or transaction.version != "005010X279A1":
        problems.append("ST01/ST03 are not 270 / 005010X279A1")
    unknown = sorted({s.id for s in body} - set(_LETTERS))
    if unknown:
        problems.append(f"segments not in a 270: {unknown}")
    shape = "".join(_LETTERS.get(s.id, "?") for s in body)
    if not _LAYOUT.fullmatch(shape):
        problems.append(f"segment order does not fit the layout: {shape}")
    bht = body[0]
    if (bht.get(1), bht.get(2)) != ("0022", "13"):
        problems.append("BHT01/BHT02 must be 0022/13")
    problems.extend(_check_tree(transaction))
    problems.extend(_check_values(transaction))
    return problems


def _check_tree(transaction: TransactionSet) -> list[str]:
    problems: list[str] = []
    hls = [s for s in transaction.body if s.id == "HL"]
    levels: dict[str, str] = {}
    expected_parent = {"20": "", "21": "20", "22": "21", "23": "22"}
    for number, hl in enumerate(hls, start=1):
        if hl.get(1) != str(number):
            problems.append(f"HL01 is not {number}")
        level, parent = hl.get(3), hl.get(2)
        if level not in expected_parent or levels.get(parent, "") != expected_parent[level]:
            problems.append(f"HL {number}: level {level} under the wrong parent")
        levels[hl.get(1)] = level
        has_child = any(other.get(2) == hl.get(1) for other in hls)
        if hl.get(4) != ("1" if has_child else "0"):
            problems.append(f"HL {number}: HL04 does not say whether it has children")
    return problems


def _check_values(transaction: TransactionSet) -> list[str]:
    problems: list[str] = []
    level = ""
    entity = {"20": ("PR", {"PI", "XV", "FI", "NI", "PP", "SV", "24", "46"})}
    entity |= {"21": ("1P", {"XX", "SV", "FI", "PI", "24", "34", "46"}), "22": ("IL", {"MI", "II"})}
    for segment in transaction.body:
        if segment.id == "HL":
            level = segment.get(3)
        elif segment.id == "NM1" and level in entity:
            code, qualifiers = entity[level]
            if segment.get(1) != code or segment.get(8) not in qualifiers:
                problems.append(f"NM1 in level {level}: entity or id qualifier")
        elif segment.id == "NM1" and level == "23" and (segment.get(1) != "03" or segment.get(8)):
            problems.append("NM1 in level 23: the dependent is 03 and carries no id")
        elif segment.id == "TRN" and (segment.get(1) != "1" or len(segment.get(3)) != 10):
            problems.append("TRN01 must be 1 and TRN03 10 characters")
        elif segment.id in ("DMG", "DTP") and segment.get(1 if segment.id == "DMG" else 2) != "D8":
            problems.append(f"{segment.id}: the date must be D8")
        elif segment.id == "DTP" and segment.get(1) != "291":
            problems.append("DTP01 must be 291 (plan date: the date of service)")
        elif segment.id == "EQ" and not re.fullmatch(r"[A-Z0-9]{1,2}", segment.get(1)):
            problems.append("EQ01 must be a service type code")
    return problems
