"""Phone number validity as libphonenumber decides it (``parse``, then ``is_valid_number``),
computed straight from its metadata for the country codes of the regions the detector reads.

A parse and validity check costs 25-40 us, most of it generic work (normalising the input,
compiling patterns, looking up metadata, trying every region of +1); for a digit string the same
decision is a few precompiled pattern matches. The steps of ``parse`` reproduced here are the
ones a plain digit string of a known region goes through: stripping the national (trunk) prefix
when what is left still fits the region, and the type patterns ``is_valid_number`` tries. A
number that would take any other branch (an international dialling prefix or the region's own
country code written in front, a country code of another region) is handed to phonenumbers
itself, so the answer is always libphonenumber's: ``tests/guards/test_phone_valid.py`` compares
the two on many numbers.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import NamedTuple

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

_MIN_NSN, _MAX_NSN = 2, 17  # libphonenumber's bounds on a national significant number


class _Desc(NamedTuple):
    """One number type of a region: its possible lengths (empty: any) and pattern."""

    lengths: frozenset[int]
    pattern: re.Pattern[str]


class _Member(NamedTuple):
    """A region sharing a country code (+1: the US, Canada, the Caribbean), in the order
    libphonenumber tries them to find where a number is from."""

    leading: re.Pattern[str] | None  # leading digits that place a number in this region
    types: tuple[_Desc, ...]


class _Plan(NamedTuple):
    """What parsing and validating a number of one region needs from its metadata."""

    code: str  # the country calling code, as written
    idd: re.Pattern[str] | None  # international dialling prefix
    trunk: re.Pattern[str] | None  # national prefix for parsing
    transform: str | None  # national prefix transform rule
    general: re.Pattern[str] | None  # general national number pattern
    lengths: tuple[int, ...]  # general possible lengths, sorted
    local_lengths: tuple[int, ...]  # lengths only diallable locally
    members: tuple[_Member, ...]  # the regions of the country code, this one first


def valid_national(digits: str, region: str) -> bool:
    """``is_valid_number(parse(digits, region))``, ``False`` where parsing fails."""
    plan = _PLANS.get(region)
    if (
        plan is None
        or digits.startswith(plan.code)
        or (plan.idd is not None and plan.idd.match(digits) is not None)
    ):
        return _parsed_valid(digits, region)
    return _check(_significant(digits, plan), plan)


def valid_international(digits: str) -> bool:
    """``is_valid_number(parse("+" + digits))``, ``False`` where parsing fails."""
    if len(digits) <= _MIN_NSN or digits[0] == "0":
        return False  # too short after the '+', or no country code (none starts with 0)
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            plan = _BY_CODE.get(code)
            if plan is None:
                break
            return _check(_significant(digits[size:], plan), plan)
    return _parsed_valid("+" + digits, None)


def _check(nsn: str, plan: _Plan) -> bool:
    """``is_valid_number``: the region a number is from is the first of its country code that
    its leading digits name, or whose number types it matches; it must match one there."""
    if not _MIN_NSN <= len(nsn) <= _MAX_NSN:
        return False
    for member in plan.members:
        if member.leading is not None:
            if member.leading.match(nsn) is not None:
                return _type_known(nsn, member.types)
        elif _type_known(nsn, member.types):
            return True
    return False


def _significant(number: str, plan: _Plan) -> str:
    """The national significant number ``parse`` keeps: the trunk prefix stripped when the rest
    still fits the region (its general pattern, and a possible length)."""
    potential = _strip_trunk(number, plan)
    if potential is number:
        return number
    size = len(potential)
    lengths = plan.lengths
    if size in plan.local_lengths or size < lengths[0]:
        return number  # only diallable locally, or too short
    if size > lengths[-1] or size == lengths[0] or size in lengths:
        return potential
    return number  # a length the region does not have


def _strip_trunk(number: str, plan: _Plan) -> str:
    """libphonenumber's national prefix (and carrier code) stripping."""
    if plan.trunk is None or not number:
        return number
    m = plan.trunk.match(number)
    if m is None:
        return number
    viable = _fits(number, plan.general)
    groups = m.groups()
    if not plan.transform or groups[len(groups) - 1] is None:
        rest = number[m.end() :]
    else:
        rest = plan.trunk.sub(plan.transform, number, count=1)
    if viable and not _fits(rest, plan.general):
        return number
    return rest


def _fits(number: str, pattern: re.Pattern[str] | None) -> bool:
    return pattern is not None and pattern.fullmatch(number) is not None


def _type_known(nsn: str, types: tuple[_Desc, ...]) -> bool:
    """Whether the number matches the general description and one number type."""
    size = len(nsn)
    general, *kinds = types
    if (general.lengths and size not in general.lengths) or not general.pattern.fullmatch(nsn):
        return False
    return any(
        (not kind.lengths or size in kind.lengths) and kind.pattern.fullmatch(nsn) is not None
        for kind in kinds
    )


def _parsed_valid(number: str, region: str | None) -> bool:
    """The answer of phonenumbers itself, for the cases not reproduced here."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def _desc(desc: object) -> _Desc | None:
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    return _Desc(frozenset(getattr(desc, "possible_length", ()) or ()), re.compile(pattern))


def _types(metadata: PhoneMetadata) -> tuple[_Desc, ...] | None:
    """The general description, then each number type ``is_valid_number`` tries."""
    general = _desc(metadata.general_desc)
    if general is None:
        return None
    kinds = [
        metadata.premium_rate, metadata.toll_free, metadata.shared_cost, metadata.voip,
        metadata.personal_number, metadata.pager, metadata.uan, metadata.voicemail,
        metadata.fixed_line,
    ]  # fmt: skip
    if not metadata.same_mobile_and_fixed_line_pattern:
        kinds.append(metadata.mobile)
    return (general, *(d for d in (_desc(k) for k in kinds) if d is not None))


def _members(regions: tuple[str, ...]) -> tuple[_Member, ...] | None:
    members: list[_Member] = []
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            continue  # skipped by libphonenumber too
        types = _types(metadata)
        if types is None:
            return None
        leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        if metadata.leading_digits is not None and leading is None:
            return None  # an empty leading-digits pattern: leave it to phonenumbers
        members.append(_Member(leading, types))
    return tuple(members)


def _plan(region: str) -> _Plan | None:
    """The plan of a region, or None where its numbers are better left to phonenumbers (it is
    not the first region of its country code, or its metadata is missing)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.general_desc is None or metadata.country_code is None:
        return None
    regions = tuple(COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ()))
    general = _desc(metadata.general_desc)
    lengths = tuple(metadata.general_desc.possible_length or ())
    members = _members(regions)
    if not regions or regions[0] != region or general is None or not lengths or not members:
        return None
    return _Plan(
        code=str(metadata.country_code),
        idd=re.compile(metadata.international_prefix) if metadata.international_prefix else None,
        trunk=(
            re.compile(metadata.national_prefix_for_parsing)
            if metadata.national_prefix_for_parsing
            else None
        ),
        transform=metadata.national_prefix_transform_rule,
        general=general.pattern,
        lengths=lengths,
        local_lengths=tuple(metadata.general_desc.possible_length_local_only or ()),
        members=members,
    )


def plans(regions: tuple[str, ...]) -> MappingProxyType[str, _Plan]:
    """Plans of the regions that have one (built once, at import of the detector)."""
    built = {region: _plan(region) for region in regions}
    return MappingProxyType({r: p for r, p in built.items() if p is not None})


_PLANS = plans(("US", "GB", "FR", "IT", "ES", "NL", "IN", "BR", "DE"))
_BY_CODE = MappingProxyType({int(plan.code): plan for plan in _PLANS.values()})
