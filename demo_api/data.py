"""Deterministic data generation: record ``i`` of an entity is a pure function of (seed, entity, i).

Nothing is materialised up front. Each generator has a cheap ``core(i)`` (the few fields filters need,
plus what other entities derive from it) and a full ``build(i)``; ``build`` draws the core first from the
same digest, so both always agree.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import vocab
from .rand import Draws, Stream
from .timeutil import DATA_END, DATA_START, date_from_ordinal, date_of, format_ts, format_ts_offset

Record = dict[str, Any]

DEFAULT_ROWS: dict[str, int] = {"accounts": 2_000, "contacts": 20_000, "deals": 10_000}
TABLE_ENTITIES: tuple[str, ...] = ("accounts", "contacts", "deals")
ENTITIES: tuple[str, ...] = (*TABLE_ENTITIES, "activities")
MAX_ACTIVITIES_PER_CONTACT = 5
MAX_REVENUE_CENTS = 999_999_999_999  # 12 digits: 9999999999.99

CONTACT_FIELDS: tuple[str, ...] = (
    "id",
    "account_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "status",
    "score",
    "lifetime_value",
    "birthday",
    "opt_in",
    "created_at",
    "updated_at",
    "address",
    "tags",
)


@dataclass(frozen=True)
class Sizes:
    """Base row counts per table entity (activities derive from contacts: 0-5 each)."""

    accounts: int
    contacts: int
    deals: int

    @classmethod
    def resolve(cls, scale: float = 1.0, rows: dict[str, int] | None = None) -> Sizes:
        if scale < 0:
            raise ValueError("scale must be >= 0")
        counts = {name: round(default * scale) for name, default in DEFAULT_ROWS.items()}
        for name, n in (rows or {}).items():
            if name not in counts:
                raise ValueError(f"rows: unknown entity {name!r} (expected one of {', '.join(counts)})")
            if not isinstance(n, int) or n < 0:
                raise ValueError(f"rows[{name!r}] must be a non-negative int")
            counts[name] = n
        return cls(**counts)

    def of(self, entity: str) -> int:
        return int(getattr(self, entity))


def money(cents: int) -> str:
    """``123450`` -> ``'1234.50'``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


_TRANSLIT = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "œ": "oe", "đ": "d"})


@lru_cache(maxsize=1024)
def slug(name: str) -> str:
    """ASCII e-mail local part for a display name: ``"Ana María"`` -> ``"ana-maria"``."""
    ascii_name = unicodedata.normalize("NFKD", name.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
    ascii_name = ascii_name.replace("'", "").lower()
    return "-".join(ascii_name.split())


# (first name, last name, e-mail local part) for every name combination
_PEOPLE: tuple[tuple[str, str, str], ...] = tuple(
    (first, last, f"{slug(first)}.{slug(last)}") for first in vocab.FIRST_NAMES for last in vocab.LAST_NAMES
)


def _times(d: Draws) -> tuple[int, int]:
    """(created_at, updated_at) within the data window; ~30% never updated since creation."""
    created = DATA_START + d.below(DATA_END - DATA_START - 86_400)
    updated = created if d.chance(30) else created + d.below(DATA_END - created + 1)
    return created, updated


def _postal(d: Draws, pattern: str) -> str:
    """Fill a postal-code pattern: '9' = digit, 'A' = capital letter, anything else literal."""
    out = []
    for ch in pattern:
        if ch == "9":
            out.append(chr(48 + d.below(10)))
        elif ch == "A":
            out.append(chr(65 + d.below(26)))
        else:
            out.append(ch)
    return "".join(out)


ADDRESS_POOL_SIZE = 8192


class AddressPool:
    """A fixed pool of addresses per seed, each generated on first use; records pick one (one draw
    instead of ~15)."""

    def __init__(self, seed: int) -> None:
        self._stream = Stream(seed, "addresses")
        self._pool: list[Record | None] = [None] * ADDRESS_POOL_SIZE

    def _slot(self, k: int) -> Record:
        address = self._pool[k]
        if address is None:
            d = self._stream.draws(k)
            city, country, pattern = d.pick(vocab.CITIES)
            street = d.pick(vocab.STREETS[country]).format(n=d.between(1, 250), m=d.between(1, 40))
            postal = None if d.chance(10) else _postal(d, pattern)
            address = self._pool[k] = {"street": street, "city": city, "country": country, "postal_code": postal}
        return address

    def draw(self, d: Draws) -> Record | None:
        """A fresh copy of a pooled address, or None (~8%)."""
        address = self._slot(d.below(ADDRESS_POOL_SIZE))
        return None if d.chance(8) else dict(address)

    def country(self, d: Draws) -> str:
        return str(self._slot(d.below(ADDRESS_POOL_SIZE))["country"])


class AccountGen:
    name = "accounts"
    core_fields = {"industry": 0, "updated_at": 1, "created_at": 2}

    def __init__(self, seed: int, count: int, addresses: AddressPool) -> None:
        self.count = count
        self._addresses = addresses
        self._stream = Stream(seed, "accounts")

    @staticmethod
    def _core(d: Draws) -> tuple[str, int, int]:
        industry = d.pick(vocab.INDUSTRIES)
        created, updated = _times(d)
        return industry, updated, created

    def core(self, i: int) -> tuple[str, int, int]:
        return self._core(self._stream.draws(i))

    def build(self, i: int) -> Record:
        d = self._stream.draws(i)
        industry, updated, created = self._core(d)
        name = f"{d.pick(vocab.COMPANY_FIRST)} {d.pick(vocab.COMPANY_SECOND)}{d.pick(vocab.COMPANY_SUFFIX)}"
        headcount = int(10 ** (d.unit() * 5.4)) + 1
        employees = None if d.chance(8) else headcount
        per_head = d.between(40_000_00, 400_000_00)
        revenue = None if d.chance(10) else money(min(headcount * per_head, MAX_REVENUE_CENTS))
        is_active = d.chance(85)
        founded = None if d.chance(10) else date_from_ordinal(d.between(711_858, 737_790))
        rating = None if d.chance(12) else round(1 + d.unit() * 4, 2)
        address = self._addresses.draw(d)
        tags = d.sample(vocab.TAGS, d.below(4))
        metadata: Record = {}
        if d.chance(70):
            metadata["source"] = d.pick(vocab.LEAD_SOURCES)
        if d.chance(50):
            metadata["segment"] = d.pick(vocab.SEGMENTS)
        if d.chance(40):
            metadata["legacy_id"] = f"ACC-{i:07d}"
        if d.chance(30):
            owner = f"{d.pick(vocab.FIRST_NAMES)} {d.pick(vocab.LAST_NAMES)}"
            metadata["owner"] = {"name": owner, "team": d.pick(vocab.TEAMS)}
        if d.chance(20):
            metadata["nps_history"] = [d.below(11) for _ in range(d.between(1, 4))]
        if d.chance(10):
            metadata["notes"] = None
        return {
            "id": i,
            "name": name,
            "industry": industry,
            "employees": employees,
            "annual_revenue": revenue,
            "is_active": is_active,
            "founded_on": founded,
            "rating": rating,
            "created_at": format_ts(created),
            "updated_at": format_ts(updated),
            "address": address,
            "tags": tags,
            "metadata": metadata,
        }


class ContactGen:
    name = "contacts"
    core_fields = {"account_id": 0, "status": 1, "created_at": 2, "updated_at": 3}

    def __init__(self, seed: int, count: int, accounts: int, addresses: AddressPool) -> None:
        self.count = count
        self._accounts = accounts
        self._addresses = addresses
        self._stream = Stream(seed, "contacts")

    def _core(self, d: Draws) -> tuple[int | None, str, int, int]:
        account_id = 1 + d.below(self._accounts) if self._accounts else None
        status = d.pick(vocab.CONTACT_STATUS_WEIGHTED)
        created, updated = _times(d)
        return account_id, status, created, updated

    def core(self, i: int) -> tuple[int | None, str, int, int]:
        return self._core(self._stream.draws(i))

    def build(self, i: int) -> Record:
        d = self._stream.draws(i)
        account_id, status, created, updated = self._core(d)
        first, last, local = d.pick(_PEOPLE)
        email = f"{local}{i}@{d.pick(vocab.EMAIL_DOMAINS)}"
        address = self._addresses.draw(d)
        country = address["country"] if address else self._addresses.country(d)
        phone = None
        if not d.chance(12):
            phone = f"{vocab.PHONE_PREFIX[country]} {100 + d.below(900)} {d.below(1000):03d} {d.below(10000):04d}"
        score = round(d.unit() * 100, 1)
        if d.chance(10):
            ltv = None
        elif status in ("customer", "churned"):
            ltv = money(d.between(100_00, 250_000_00))
        elif status == "prospect":
            ltv = money(d.below(5_000_00))
        else:
            ltv = "0.00"
        birthday = None if d.chance(12) else date_from_ordinal(d.between(712_223, 731_946))
        return {
            "id": i,
            "account_id": account_id,
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": phone,
            "status": status,
            "score": score,
            "lifetime_value": ltv,
            "birthday": birthday,
            "opt_in": d.chance(60),
            "created_at": format_ts(created),
            "updated_at": format_ts(updated),
            "address": address,
            "tags": d.sample(vocab.TAGS, d.below(4)),
        }


LineItem = tuple[str, str, int, int]  # sku, product name, quantity, unit price cents


class DealGen:
    name = "deals"
    core_fields = {"stage": 0, "updated_at": 1, "created_at": 2, "close_date": 3, "amount": 4}

    def __init__(self, seed: int, count: int, accounts: int, contacts: ContactGen) -> None:
        self.count = count
        self._accounts = accounts
        self._contacts = contacts
        self._stream = Stream(seed, "deals")

    @staticmethod
    def _core(d: Draws) -> tuple[str, int, int, str | None, int, list[LineItem]]:
        stage = d.pick(vocab.DEAL_STAGES)
        created, updated = _times(d)
        close = None if d.chance(12) else date_from_ordinal(date_of(created) + d.between(14, 270))
        items: list[LineItem] = []
        for _ in range(0 if d.chance(5) else d.between(1, 4)):
            sku, product, price = d.pick(vocab.PRODUCTS)
            items.append((sku, product, d.between(1, 50), price))
        amount = sum(q * p for _, _, q, p in items) if items else d.between(500_00, 2_000_000_00)
        return stage, updated, created, close, amount, items

    def core(self, i: int) -> tuple[str, int, int, str | None, int, list[LineItem]]:
        return self._core(self._stream.draws(i))

    def build(self, i: int) -> Record:
        d = self._stream.draws(i)
        stage, updated, created, close, amount, items = self._core(d)
        contact_id = None if (d.chance(10) or not self._contacts.count) else 1 + d.below(self._contacts.count)
        if contact_id is not None:
            account_id = self._contacts.core(contact_id)[0]
        else:
            account_id = 1 + d.below(self._accounts) if self._accounts else None
        label = items[0][1] if items else "Professional Services"
        title = f"{label} \N{EN DASH} {d.pick(vocab.DEAL_KINDS)}"
        base_p = vocab.STAGE_PROBABILITY[stage]
        if 0 < base_p < 1:
            base_p = min(0.95, max(0.05, base_p + (d.unit() - 0.5) * 0.1))
        custom: Record | None = None
        if not d.chance(30):
            custom = {}
            if d.chance(60):
                custom["region"] = d.pick(vocab.REGIONS)
            if d.chance(50):
                custom["forecast_category"] = d.pick(vocab.FORECAST)
            if d.chance(30):
                custom["competitor"] = d.pick(vocab.COMPETITORS)
            if d.chance(30):
                custom["discount_pct"] = round(d.unit() * 30, 1)
            if d.chance(20):
                custom["renewal"] = d.chance(50)
        return {
            "id": i,
            "account_id": account_id,
            "contact_id": contact_id,
            "title": title,
            "stage": stage,
            "amount": money(amount),
            "currency": d.pick(vocab.CURRENCIES),
            "probability": round(base_p, 2),
            "close_date": close,
            "created_at": format_ts(created),
            "updated_at": format_ts(updated),
            "line_items": [{"sku": s, "quantity": q, "unit_price": money(p)} for s, _, q, p in items],
            "custom_fields": custom,
        }


class ActivityGen:
    """Activities of base contact ``c`` have ids ``(c-1)*5 + 1 .. (c-1)*5 + n`` with ``n`` in 0..5."""

    name = "activities"

    def __init__(self, seed: int, contacts: ContactGen) -> None:
        self._contacts = contacts
        self._core_stream = Stream(seed, "activities-core")
        self._stream = Stream(seed, "activities")

    @staticmethod
    def contact_of(activity_id: int) -> int:
        return (activity_id - 1) // MAX_ACTIVITIES_PER_CONTACT + 1

    def cores(self, contact_id: int) -> list[tuple[int, int]]:
        """``[(activity_id, occurred_at epoch), ...]`` of a base contact, ascending by id."""
        created = self._contacts.core(contact_id)[2]
        d = self._core_stream.draws(contact_id)
        first = (contact_id - 1) * MAX_ACTIVITIES_PER_CONTACT + 1
        return [(first + k, created + d.below(DATA_END - created + 1)) for k in range(d.below(6))]

    def build(self, activity_id: int, occurred: int) -> Record:
        d = self._stream.draws(activity_id)
        kind = d.pick(vocab.ACTIVITY_TYPES)
        offset = d.pick(vocab.UTC_OFFSETS)
        people = [f"{d.pick(vocab.FIRST_NAMES)} {d.pick(vocab.LAST_NAMES)}" for _ in range(d.between(1, 4))]
        details: Record
        if kind == "call":
            duration = None if d.chance(10) else d.between(1, 60)
            participants = people[:2]
            details = {"direction": d.pick(("inbound", "outbound")), "outcome": d.pick(vocab.CALL_OUTCOMES)}
            if d.chance(30):
                details["recording_url"] = f"https://recordings.example.com/r/{activity_id}"
        elif kind == "meeting":
            duration = None if d.chance(5) else d.between(15, 120)
            participants = people
            details = {"location": d.pick(vocab.MEETING_LOCATIONS), "attendees": len(people)}
        elif kind == "email":
            duration = None
            participants = [f"{slug(p).replace('-', '.')}@{d.pick(vocab.EMAIL_DOMAINS)}" for p in people[:3]]
            details = {"opened": d.chance(60), "clicks": d.below(5), "thread_id": f"thr_{d.digits(9)}"}
        else:
            duration = None if d.chance(80) else d.between(1, 15)
            participants = []
            details = {"pinned": d.chance(15), "body_length": d.between(20, 2000)}
        return {
            "id": activity_id,
            "contact_id": self.contact_of(activity_id),
            "type": kind,
            "subject": d.pick(vocab.ACTIVITY_SUBJECTS[kind]),
            "occurred_at": format_ts_offset(occurred, offset),
            "duration_minutes": duration,
            "participants": participants,
            "details": details,
        }


class Dataset:
    """All generators for one (seed, sizes)."""

    def __init__(self, seed: int, sizes: Sizes) -> None:
        self.seed = seed
        self.sizes = sizes
        addresses = AddressPool(seed)
        self.accounts = AccountGen(seed, sizes.accounts, addresses)
        self.contacts = ContactGen(seed, sizes.contacts, sizes.accounts, addresses)
        self.deals = DealGen(seed, sizes.deals, sizes.accounts, self.contacts)
        self.activities = ActivityGen(seed, self.contacts)

    def table(self, entity: str) -> AccountGen | ContactGen | DealGen:
        if entity not in TABLE_ENTITIES:
            raise KeyError(entity)
        gen: AccountGen | ContactGen | DealGen = getattr(self, entity)
        return gen
